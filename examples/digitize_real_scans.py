"""Digitize every real ECG picture in the shared data and save an overlay of the traces.

For each image of ``khan2021`` (de-duplicated by content hash), ``ecg-image-kit-photos``
and ``tereshchenko-strips`` under ``ECG_DATA_DIR``, runs :func:`ecg_digitize.digitize`,
writes ``<out>/<set>/<name>.png`` (recovered traces in blue and lead boxes in green over
the deskewed page) and prints one line: layout, calibration, what was guessed, quality,
self-consistency, or the reason it failed.

Usage::

    python examples/digitize_real_scans.py --out out/real_scans [--limit 5] [--method auto]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

SETS = ("khan2021", "ecg-image-kit-photos", "tereshchenko-strips")


def main(argv=None) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from ecg_digitize import DigitizeError, digitize
    from ecg_digitize.datasets import data_dir, unique_images
    from ecg_digitize.digitizer.cli import save_overlay

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="out/real_scans", help="folder for overlays (default: %(default)s)")
    p.add_argument("--limit", type=int, default=0, help="at most this many images per set")
    p.add_argument("--method", default="auto", choices=["auto", "classical", "photo", "unet"],
                   help="digitize route (default: %(default)s)")
    args = p.parse_args(argv)
    root = data_dir()
    counts = {"ok": 0, "failed": 0}
    consistency = []
    for name in SETS:
        if not (root / name).exists():
            print(f"{name}: not found under {root}, skipped")
            continue
        paths = unique_images(root / name)[: args.limit or None]
        print(f"== {name}: {len(paths)} images")
        for path in paths:
            t0 = time.perf_counter()
            try:
                rec = digitize(path, method=args.method)
            except DigitizeError as exc:
                counts["failed"] += 1
                print(f"  FAIL {path.name}: {exc.reason}")
                continue
            counts["ok"] += 1
            overlay = save_overlay(path, rec, Path(args.out) / name / (path.stem + ".png"))
            cal = rec.calibration
            sc = rec.quality.get("self_consistency_db", {}).get("mean")
            if sc is not None:
                consistency.append(sc)
            print(f"  ok   {path.name}: {rec.geometry['method']}, {rec.layout}, {cal.px_per_mm:.2f} px/mm, {cal.mm_per_s:g} mm/s, "
                  f"{cal.mm_per_mv:g} mm/mV, guessed={cal.guessed or '-'}, time zero from {rec.geometry['time_zero']}, "
                  f"quality {rec.quality['overall']:.2f}, "
                  f"self-consistency {sc if sc is not None else 'n/a'} dB, {time.perf_counter() - t0:.1f} s "
                  f"-> {overlay}")
    print(f"\n{counts['ok']} digitized, {counts['failed']} refused with a reason")
    if consistency:
        print(f"mean Einthoven/Goldberger self-consistency over the {len(consistency)} pictures "
              f"that have it: {sum(consistency) / len(consistency):.2f} dB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
