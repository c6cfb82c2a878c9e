"""How well ``method="photo"`` undoes a photographed page's geometry, against the renderer's.

Renders PTB-XL records of one fold as our ``photo`` preset pages (perspective, curl, a
sharp fold, wrinkles, shadows, JPEG) with each pixel's place on the clean page
(``render(page_coordinates=True)``), flattens them as the photo route does
(:func:`ecg_digitize.digitizer.views.photo_view`: sheet, perspective, grid flattening) and
maps the clean-page coordinates into the flattened frame. A perfect flattening makes them
an affine function of the flattened pixel; what is left after the best affine fit is the
flattening's error. It is read on the trace's pixels only, across (as time: ms at 25 mm/s)
and down (mm), per page, then summarised over the pages.

A grid line pulled a few pixels towards a QRS stroke moves that QRS by tens of
milliseconds: this is the error the Challenge SNR pays most for, and the one that
``self-consistency`` on real photos sees only through its effect on the leads.

    python benchmarks/flattening_accuracy.py                 # fold 9 (tuning), 12 pages
    python benchmarks/flattening_accuracy.py --fold 10 --pages 24 -v
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np


def flattening_error(image: np.ndarray, truth) -> dict | None:
    """Errors (ms across, mm down) of the photo route's flattening of one rendered page on
    its trace pixels; None where the page was not flattened from its grid."""
    from ecg_digitize.digitizer import views
    from ecg_digitize.digitizer.flatten import GridFlattening

    view = views.photo_view(image)
    if view.bend is None:
        return None
    flattening = GridFlattening.from_dict(view.bend)
    x, y = (flattening.apply_values(c) for c in truth.geometry.page_xy)
    on_trace = flattening.apply_values((truth.geometry.trace_mask > 0).astype(np.float32)) > 0.5
    v, u = np.nonzero(np.isfinite(x) & np.isfinite(y))
    design = np.c_[u, v, np.ones_like(u)].astype(float)
    err = {}
    for name, clean in (("x", x), ("y", y)):
        fit = np.linalg.lstsq(design[::7], clean[v[::7], u[::7]], rcond=None)[0]
        residual = np.full(x.shape, np.nan, np.float32)
        residual[v, u] = clean[v, u] - design @ fit
        err[name] = np.abs(residual[on_trace & np.isfinite(residual)])
    px_per_mm_x, px_per_mm_y = truth.geometry.px_per_mm_xy
    ms = err["x"] / px_per_mm_x / truth.calibration.mm_per_s * 1000
    mm = err["y"] / px_per_mm_y
    return {"ms_median": float(np.median(ms)), "ms_p90": float(np.percentile(ms, 90)),
            "ms_p99": float(np.percentile(ms, 99)), "mm_down_p90": float(np.percentile(mm, 90))}


def _one(ecg_id: int) -> tuple[int, dict | None]:
    from ecg_digitize.synth import load_ptbxl, render

    sig, fs, leads = load_ptbxl(ecg_id)
    image, truth = render(sig, fs, leads, layout="3x4+II", dpi=200, preset="photo", seed=int(ecg_id),
                          page_coordinates=True)
    return ecg_id, flattening_error(image, truth)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fold", type=int, default=9, help="PTB-XL fold (9: tuning, 10: reporting)")
    ap.add_argument("--pages", type=int, default=12, help="records of the fold, first first")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="processes")
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per page")
    a = ap.parse_args(argv)

    from ecg_digitize.synth import ptbxl_records

    ids = ptbxl_records(folds=[a.fold])[: a.pages]
    t0 = time.perf_counter()
    if a.jobs > 1:
        from multiprocessing import Pool

        with Pool(a.jobs) as pool:
            rows = pool.map(_one, ids)
    else:
        rows = [_one(i) for i in ids]
    done = [(i, r) for i, r in rows if r is not None]
    if a.verbose:
        for i, r in done:
            print(f"  ptbxl {i}: across {r['ms_median']:.1f} / {r['ms_p90']:.1f} / {r['ms_p99']:.1f} ms "
                  f"(median / p90 / p99), down p90 {r['mm_down_p90']:.2f} mm")
    keys = ("ms_median", "ms_p90", "ms_p99", "mm_down_p90")
    summary = {k: float(np.mean([r[k] for _, r in done])) if done else float("nan") for k in keys}
    print(f"fold {a.fold}, {len(ids)} photo-preset pages, {len(done)} flattened from their grid "
          f"({time.perf_counter() - t0:.0f} s)")
    print(f"flattening error on the trace, mean over pages: across {summary['ms_median']:.2f} ms median, "
          f"{summary['ms_p90']:.2f} ms p90, {summary['ms_p99']:.2f} ms p99; down {summary['mm_down_p90']:.3f} mm p90")
    return {"pages": len(ids), "flattened": len(done), **summary}


if __name__ == "__main__":
    main()
