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
    print(f"{'preset':>8} {'median s':>9} {'min s':>7}  (3x4+II, {dpi:g} dpi, 1 thread, {repeats} pages)")
    for preset in ("clean", "scan", "photo"):
        render(sig, fs, leads, preset=preset, dpi=dpi, seed=0)  # warm-up
        times = []
        for seed in range(repeats):
            t0 = time.perf_counter()
            render(sig, fs, leads, preset=preset, dpi=dpi, seed=seed)
            times.append(time.perf_counter() - t0)
        print(f"{preset:>8} {np.median(times):9.3f} {np.min(times):7.3f}")


if __name__ == "__main__":
    main()
