"""Real pictures without truth: how many read as 12-lead pages, their limb-lead
self-consistency, what placed time zero, and the quality verdicts.

For each set under ``ECG_DATA_DIR`` (de-duplicated by content hash), digitizes every
picture and prints the count read per layout, the refusals, the medians of the
Einthoven / Goldberger / mean self-consistency (dB; the truth of a 12-lead page gives
about 40-50), the time-zero sources and the verdicts. ``--trim-ms`` also prints the
medians with the first and last milliseconds of every short panel left out: where they
rise, the error sits at the lead changes. Overlays: ``examples/digitize_real_scans.py``.

Usage::

    python benchmarks/real_pictures.py --sets khan2021
    python benchmarks/real_pictures.py --sets khan2021 --trim-ms 25 50
    python benchmarks/real_pictures.py --sets phone-photos ecg-image-kit-photos
    python benchmarks/real_pictures.py --sets phone-photos --method photo --trim-ms 60
    python benchmarks/real_pictures.py --sets phone-photos -v     # one line per picture
"""
from __future__ import annotations

import argparse
import collections
import os
import time
import warnings

# one core, as the speed targets say: numerical libraries' thread pools otherwise spin on
# the other cores, and their CPU time counts (a picture read at 3.8 CPU s alone measured
# 20-80 s beside another benchmark)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402


def trimmed(record, ms: float):
    """The Record with the first and last ``ms`` of every panel under 5 s left out (NaN)."""
    from ecg_digitize import Record

    sig = record.signal.copy()
    n = int(ms / 1000 * record.fs)
    for box in record.geometry.boxes:
        i0, i1 = int(round(box.t0 * record.fs)), int(round(box.t1 * record.fs))
        if i1 - i0 < 5 * record.fs:
            j = record.leads.index(box.lead)
            sig[i0:i0 + n, j] = np.nan
            sig[max(i0, i1 - n):i1, j] = np.nan
    return Record(sig, fs=record.fs, leads=record.leads)


def _grid_slant(path) -> float:
    """The picture's grid off square (:func:`~ecg_digitize.digitizer.perspective.grid_slant_deg`)."""
    from ecg_digitize.digitizer.load import load_image
    from ecg_digitize.digitizer.perspective import grid_slant_deg

    return grid_slant_deg(load_image(path).rgb)


def summarize(name: str, trim: list[float], limit: int | None, method: str = "classical",
              verbose: bool = False) -> None:
    from ecg_digitize import DigitizeError, digitize
    from ecg_digitize.datasets import dataset_path, unique_images
    from ecg_digitize.metrics import self_consistency

    paths = unique_images(dataset_path(name))[:limit]
    layouts, refused, zero, verdicts = collections.Counter(), collections.Counter(), collections.Counter(), \
        collections.Counter()
    gains = collections.Counter()   # (mm/mV, assumed?)
    scores = {0.0: [], **{float(ms): [] for ms in trim}}
    cpu, bends = [], []
    for path in paths:
        t0 = time.process_time()
        try:
            rec = digitize(path, method=method)
        except DigitizeError as exc:
            refused[type(exc).__name__] += 1
            if verbose:
                print(f"   {path.name}: refused ({type(exc).__name__})")
            continue
        finally:
            cpu.append(time.process_time() - t0)
        if verbose:
            sc = self_consistency(rec)["mean"] if rec.layout != "strip" else None
            print(f"   {path.name}: {rec.layout} of {rec.n_samples / rec.fs:.1f} s, {rec.geometry.method} route, "
                  f"time zero from "
                  f"{rec.geometry.time_zero}, self-consistency "
                  f"{'-' if sc is None else f'{sc:.2f} dB'}, verdict {rec.quality.get('verdict')}, "
                  f"{cpu[-1]:.2f} CPU s, grid slant {_grid_slant(path):.1f} deg")
        layouts[rec.layout] += 1
        if rec.geometry.bend and "residual_px" in rec.geometry.bend:  # flattened from its grid (photo route)
            bends.append(rec.geometry.bend["residual_px"])
        zero[rec.geometry.time_zero] += 1
        gains[(rec.calibration.mm_per_mv, "mm_per_mv" in rec.calibration.guessed)] += 1
        verdicts[rec.quality.get("verdict")] += 1
        if rec.layout == "strip":
            continue
        for ms in scores:
            sc = self_consistency(trimmed(rec, ms) if ms else rec)
            scores[ms].append([sc["einthoven"], sc["goldberger"], sc["mean"]])
    twelve = sum(v for k, v in layouts.items() if k != "strip")
    print(f"{name}: {len(paths)} pictures, {twelve} read as 12-lead, layouts {dict(layouts)}, "
          f"refused {dict(refused)}")
    print(f"   time zero from {dict(zero)}; verdicts {dict(verdicts)}")
    print("   gain: " + ", ".join(f"{n} {'assumed' if assumed else 'measured'} {g:g} mm/mV"
                                  for (g, assumed), n in sorted(gains.items())))
    if bends:
        med, p90 = np.median(np.array(bends, float), axis=0)
        print(f"   flattened from the grid: {len(bends)}; grid lines from a straight lattice (px of the "
              f"flattened page, per picture): median of medians {med:.2f}, of 90th percentiles {p90:.2f}")
    print(f"   CPU s per picture (one OpenCV thread): mean {np.mean(cpu):.2f}, median {np.median(cpu):.2f}, "
          f"max {np.max(cpu):.2f}")
    for ms, rows in scores.items():
        if rows:
            e, g, m = np.nanmedian(np.array(rows, float), axis=0)
            label = "as read" if not ms else f"panel ends ({ms:g} ms) left out"
            print(f"   self-consistency medians, {label}: Einthoven {e:.2f}, Goldberger {g:.2f}, mean {m:.2f} dB")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", nargs="+", default=["khan2021"], help="folders under ECG_DATA_DIR")
    ap.add_argument("--trim-ms", nargs="*", type=float, default=[], help="also with panel ends left out")
    ap.add_argument("--limit", type=int, default=None, help="pictures per set")
    ap.add_argument("--method", default="auto", help="digitize(method=): auto (digitize's default), classical, "
                                                     "photo, unet")
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per picture")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore", RuntimeWarning)
    import cv2

    cv2.setNumThreads(1)  # one core, as the speed targets say
    for name in args.sets:
        summarize(name, args.trim_ms, args.limit, args.method, args.verbose)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
