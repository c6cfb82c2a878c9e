"""Benchmark: classical vs U-Net route on rendered PTB-XL fold-10 pages, per preset.

For each page: render (3x4+II, 200 dpi, preset, seed), then

* classical: ``digitize(image)``;
* photo: ``digitize(image, method="photo")``: the sheet found and rectified, flattened from
  its grid lattice, its grid lines divided out, then the classical stages;
* unet: ``digitize(image, method="unet")``: ``rectify`` (photo geometry), then
  ``trace_probability`` in place of the classical trace threshold, then the same stages;
* auto: ``digitize(image, method="auto")``: both routes, the better-scored reading kept
  (``--fold 9`` prints each route's quality and the sweep that chose this rule).

Prints mean Challenge-2024 SNR (failed pages count 0 dB, as a missing output would), the
number of failures, pixel F1 of ``prob > 0.5`` against the exact ink mask (traces and
calibration pulses), grid-corner residual after rectification (median and worst page),
and CPU seconds per page of each neural step.

    python benchmarks/image_branch_segmenter.py --pages 6 --presets scan photo
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


ROUTES = ("classical", "photo", "unet", "auto")


def corner_residual_mm(h_rect: np.ndarray, truth) -> float:
    """Max distance (mm) of the grid-box corners from an axis-aligned rectangle after rectification."""
    h_t = np.asarray(truth.geometry["homography"], float)
    x0, y0, x1, y1 = truth.geometry["grid_box"]
    src = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)
    p = np.c_[src, np.ones(4)] @ (h_rect @ h_t).T
    p = p[:, :2] / p[:, 2:]
    # best axis-aligned rectangle: fit x' = a x + b, y' = c y + d
    ax = np.polyfit(src[:, 0], p[:, 0], 1)
    ay = np.polyfit(src[:, 1], p[:, 1], 1)
    fit = np.c_[np.polyval(ax, src[:, 0]), np.polyval(ay, src[:, 1])]
    px_per_mm = truth.calibration.px_per_mm * 0.5 * (abs(ax[0]) + abs(ay[0]))
    return float(np.max(np.linalg.norm(p - fit, axis=1)) / px_per_mm)


def auto_rule_sweep(rows: list[dict], thresholds=(0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.01)) -> dict:
    """Mean SNR of a cheaper method='auto' at quality thresholds ``t``, from the two routes' rows.

    The rule: keep the classical reading without running the U-Net when it has more than
    one lead and quality >= t (or all twelve and a "good" verdict), else the U-Net's when
    it read more leads, or as many at no lower quality where the classical verdict is not
    "good", or when the classical route failed. ``t`` above 1 skips the U-Net only on the
    verdict.
    ``digitize(method="auto")`` uses ``pipeline.AUTO_SKIP_UNET_QUALITY`` (chosen on fold 9).
    """
    out = {}
    for t in thresholds:
        snr = []
        for r in rows:
            c_ok = "classical_error" not in r
            good = r.get("classical_verdict") == "good"
            keep = c_ok and r["classical_leads"] > 1 and (
                r["classical_quality"] >= t or (good and r["classical_leads"] >= 12))
            u_ok = "unet_error" not in r and (not c_ok or r["unet_leads"] > r["classical_leads"] or (
                r["unet_leads"] == r["classical_leads"] and not good
                and r["unet_quality"] >= r["classical_quality"]))
            snr.append(r["classical"] if keep or not u_ok else r["unet"])
        out[t] = float(np.mean(snr))
    return out


def summarize(table: dict, routes=ROUTES) -> None:
    """Print the per-preset table and the auto-rule sweep from the measured rows."""
    from ecg_digitize.digitizer.pipeline import AUTO_SKIP_UNET_QUALITY

    print("\npreset | pages | classical SNR dB (fails) | photo SNR dB (fails) | unet SNR dB (fails) | "
          "auto SNR dB (fails, U-Net chosen) | pixel F1 | corner mm median/max | rectify s | U-Net s (wall) | "
          "unet route CPU s/page | auto CPU s/page")
    for preset, rows in table.items():
        def mean(k):  # NaN for a route that was not run
            return float(np.mean([r.get(k, np.nan) for r in rows]))
        fails = lambda k: sum(f"{k}_error" in r for r in rows)  # noqa: E731
        corners = [r["corner_mm"] for r in rows]
        print(f"{preset} | {len(rows)} | {mean('classical'):.2f} ({fails('classical')}) | "
              f"{mean('photo'):.2f} ({fails('photo')}) | {mean('unet'):.2f} ({fails('unet')}) | "
              f"{mean('auto'):.2f} ({fails('auto')}, {sum(r.get('auto_route') == 'unet' for r in rows)}) | "
              f"{np.mean([r['pixels']['F1'] for r in rows]):.3f} | "
              f"{np.median(corners):.2f}/{np.max(corners):.1f} | "
              f"{mean('rectify_s'):.2f} | "
              f"{mean('unet_s'):.2f} | {mean('unet_cpu_s'):.2f} | {mean('auto_cpu_s'):.2f}")
    print("\nquality ranks readings: Spearman of each route's overall quality with its SNR, per preset")
    for preset, rows in table.items():
        print(preset, " ".join(f"{m}: {_quality_spearman(rows, m):.3f}" for m in routes))
    print("\nmethod='auto' skipping the U-Net above a classical quality threshold (mean SNR dB per preset; "
          "1.01 = never skip; digitize uses "
          f"{AUTO_SKIP_UNET_QUALITY}):")
    for preset, rows in table.items():
        if {"classical", "unet"} <= set(routes):
            print(preset, " ".join(f"{t}: {v:.2f}" for t, v in auto_rule_sweep(rows).items()))


def _quality_spearman(rows: list[dict], method: str) -> float:
    """Spearman correlation of a route's ``quality["overall"]`` with its SNR over the pages
    it read (NaN under three)."""
    from scipy.stats import spearmanr

    read = [(r[f"{method}_quality"], r[method]) for r in rows if f"{method}_quality" in r]
    return float(spearmanr(*zip(*read)).correlation) if len(read) >= 3 else float("nan")


def score_route(image, truth, method: str) -> dict:
    """``digitize(image, method=method)`` scored against ``truth``: SNR (0 dB and the error's
    class when it fails, as a missing output would), quality, plotted leads, the route
    the Record came from and CPU seconds, under keys prefixed with the method."""
    from ecg_digitize.digitizer import digitize
    from ecg_digitize.metrics import score_record

    t = time.process_time()
    try:
        rec = digitize(image, method=method)
        out = {method: float(score_record(rec, truth).snr),
               f"{method}_quality": rec.quality["overall"],
               f"{method}_leads": sum(f > 0 for f in rec.plotted_fraction().values()),
               f"{method}_verdict": rec.quality.get("verdict"),
               f"{method}_route": rec.geometry["method"]}
    except Exception as exc:  # noqa: BLE001 - every failure is a 0 dB page
        out = {method: 0.0, f"{method}_error": type(exc).__name__}
    out[f"{method}_cpu_s"] = time.process_time() - t
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=6)
    ap.add_argument("--presets", nargs="+", default=["scan", "photo"])
    ap.add_argument("--model", default=None,
                    help="U-Net weights for the route and the pixel scores (default "
                         "pretrained/unet-trace.keras; sets ECG_DIGITIZE_UNET)")
    ap.add_argument("--routes", nargs="+", default=list(ROUTES), choices=ROUTES,
                    help="digitize routes to run (the auto-rule sweep needs classical and unet)")
    ap.add_argument("--fold", type=int, default=10,
                    help="PTB-XL fold; 9 (validation) for choosing thresholds, 10 for reporting")
    ap.add_argument("--seeds", choices=["record", "index"], default="record",
                    help="distortion seed per page: the record's ecg_id (each fold its own "
                         "distortions, as in digitize_accuracy) or the page's index 0..n-1 "
                         "(how the fold-9 choices of method='auto' and grid squaring were made)")
    ap.add_argument("--json", default=None, help="write the per-page rows here")
    ap.add_argument("--summarize", default=None, metavar="JSON",
                    help="print the tables of an earlier run's --json rows, measuring nothing")
    a = ap.parse_args(argv)
    if a.summarize:
        with open(a.summarize) as fh:
            table = json.load(fh)
        summarize(table, [k for k in ROUTES if all(k in r for rows in table.values() for r in rows)])
        return table
    if a.model:
        os.environ["ECG_DIGITIZE_UNET"] = a.model

    import cv2

    from ecg_digitize.digitizer.sheet import rectify
    from ecg_digitize.neural.segment import trace_probability
    from ecg_digitize.neural.train_segment import pixel_scores
    from ecg_digitize.synth import load_ptbxl, ptbxl_records, render

    ids = ptbxl_records(folds=[a.fold])[: a.pages]
    trace_probability(np.full((64, 64, 3), 255, np.uint8), model=a.model)  # load once
    table = {}
    for preset in a.presets:
        rows = []
        for i, ecg_id in enumerate(ids):
            sig, fs, leads = load_ptbxl(ecg_id)
            seed = ecg_id if a.seeds == "record" else i
            img, truth = render(sig, fs, leads, layout="3x4+II", dpi=200, preset=preset, seed=seed)
            r = {"ecg_id": ecg_id}
            t0 = time.perf_counter()
            rect, h = rectify(img)
            r["rectify_s"] = time.perf_counter() - t0
            t1 = time.perf_counter()
            prob = trace_probability(rect, model=a.model)
            r["unet_s"] = time.perf_counter() - t1
            ink = (truth.geometry["trace_mask"] > 0) | truth.geometry["pulse_mask"]  # what the U-Net marks
            m = cv2.warpPerspective(ink.astype(np.uint8), h,
                                    (rect.shape[1], rect.shape[0]), flags=cv2.INTER_NEAREST) > 0
            r["pixels"] = pixel_scores(prob, m)
            r["corner_mm"] = corner_residual_mm(h, truth)
            for method in a.routes:
                r.update(score_route(img, truth, method))
            rows.append(r)
            print(preset, ecg_id, {k: (round(v, 2) if isinstance(v, float) else v)
                                   for k, v in r.items() if k != "pixels"},
                  "F1", round(r["pixels"]["F1"], 3), flush=True)
        table[preset] = rows

    summarize(table, a.routes)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(table, fh, indent=1)
    return table


if __name__ == "__main__":
    main()
