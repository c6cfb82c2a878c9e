"""Renderer speed on one core: seconds per 200 dpi 3x4+II page for each preset.

Targets (issue 2): clean <= 0.2 s, photo <= 1 s (ECG-Image-Kit: 0.7 s and 7.8 s).

    python benchmarks/render_speed.py [--repeats 10] [--quick]
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from ecg_digitize.synth import render, simulate_12lead  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--dpi", type=float, default=200)
    parser.add_argument("--quick", action="store_true", help="2 repeats at 100 dpi")
    args = parser.parse_args()
    repeats, dpi = (2, 100) if args.quick else (args.repeats, args.dpi)
    cv2.setNumThreads(1)  # one core, as the target says
    sig, fs, leads = simulate_12lead(seed=0)
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores "
          "(CPU seconds are robust to other load; wall seconds are not)")
    print(f"{'preset':>8} {'CPU s':>7} {'wall median s':>14} {'wall min s':>11}  "
          f"(3x4+II, {dpi:g} dpi, 1 thread, {repeats} pages)")
    for preset in ("clean", "scan", "photo"):
        render(sig, fs, leads, preset=preset, dpi=dpi, seed=0)  # warm-up
        times = []
        cpu0 = time.process_time()
        for seed in range(repeats):
            t0 = time.perf_counter()
            render(sig, fs, leads, preset=preset, dpi=dpi, seed=seed)
            times.append(time.perf_counter() - t0)
        cpu = (time.process_time() - cpu0) / repeats
        print(f"{preset:>8} {cpu:7.3f} {np.median(times):14.3f} {np.min(times):11.3f}")


if __name__ == "__main__":
    main()
