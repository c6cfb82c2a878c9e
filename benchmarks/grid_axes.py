"""How far apart the grid's two axes read, on square and stretched pages (issue #25).

For each condition, renders PTB-XL records of ``--fold`` (default 9: tuning, not the test
fold), straightens the page and finds its ink as ``digitize`` does, and prints how far
apart the two axes' own 5 mm periods near the joint one lie (what
:data:`ecg_digitize.digitizer.grid.SQUARE_TOLERANCE` decides on) and the worst error of
the grid's reading against the renderer's truth, per axis.

    python benchmarks/grid_axes.py -n 5
"""
from __future__ import annotations

import argparse

import numpy as np

CONDITIONS = {
    "clean 200 dpi": {},
    "scan 200 dpi": {"preset": "scan"},
    "scan 150 dpi dotted": {"preset": "scan", "dpi": 150, "grid_style": "dotted"},
    "clean 100 dpi": {"dpi": 100},
    "photo 200 dpi": {"preset": "photo"},
    "stretch y 0.98": {"stretch": (1.0, 0.98)},
    "stretch x 1.02": {"stretch": (1.02, 1.0)},
    "stretch y 0.85": {"stretch": (1.0, 0.85)},
}


def axes_apart(image):
    """How far apart the two axes' own periods near the joint one lie (a share) on one
    page, and the grid's :class:`~ecg_digitize.digitizer.grid.GridEstimate`."""
    import cv2

    from ecg_digitize.digitizer import grid, threshold
    from ecg_digitize.digitizer.views import CLASSICAL, straighten

    view = straighten(CLASSICAL.make(image))
    ink = threshold.find_ink(view.trace_dark, view.ink_threshold)
    mask = cv2.dilate(ink.mask.view(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    sx, sy, periods, cx, cy, best = grid._profile_spectra(view.grid_dark, mask)
    near = (periods > (1 - grid.MAX_ANISOTROPY) * best) & (periods < (1 + grid.MAX_ANISOTROPY) * best)
    own_x = sx.refine(float(periods[near][int(np.argmax(cx[near]))]))
    own_y = sy.refine(float(periods[near][int(np.argmax(cy[near]))]))
    est = grid.estimate_grid(view.grid_dark, trace_mask=mask)
    return abs(own_x / own_y - 1), est


def main(argv=None) -> int:
    from ecg_digitize.synth import load_ptbxl, ptbxl_records, render

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fold", type=int, default=9)
    ap.add_argument("-n", type=int, default=5)
    a = ap.parse_args(argv)
    print(f"{'condition':<22} {'axes apart max':>14} {'median':>8} {'read apart':>10} {'worst error':>11}")
    for name, style in CONDITIONS.items():
        gaps, errors, apart = [], [], 0
        for ecg_id in ptbxl_records(folds=[a.fold])[:a.n]:
            sig, fs, leads = load_ptbxl(ecg_id)
            kw = {"layout": "3x4+II", "dpi": 200, "preset": "clean", **style}
            image, truth = render(sig, fs, leads, seed=ecg_id, **kw)
            gap, est = axes_apart(image)
            gaps.append(gap)
            apart += not est.square
            tx, ty = truth.geometry.px_per_mm_xy
            errors.append(max(abs(est.px_per_mm_x / tx - 1), abs(est.px_per_mm_y / ty - 1))
                          if est.px_per_mm_x else float("nan"))
        print(f"{name:<22} {100 * max(gaps):13.3f}% {100 * np.median(gaps):7.3f}% {apart:>6}/{len(gaps)} "
              f"{100 * np.nanmax(errors) if np.isfinite(errors).any() else float('nan'):10.3f}%", flush=True)
    print("worst error: the grid's reading against the renderer's truth (photos: the camera's own scale differs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
