"""Accuracy and speed of ``ecg_digitize.digitize`` on rendered PTB-XL pages.

Renders PTB-XL records of ``--folds`` (default: fold 10, the test fold, never used for
tuning) under several conditions, digitizes each page and scores it with the
PhysioNet/CinC 2024 SNR (:func:`ecg_digitize.metrics.score_record`). Prints one table
row per condition: mean SNR over (record, lead) pairs, median, Pearson r, CPU seconds per
page for ``digitize`` alone on one thread (pages/s), failures, and the process's peak
memory.

Usage::

    python benchmarks/digitize_accuracy.py --quick          # 8 records per condition
    python benchmarks/digitize_accuracy.py                  # every fold-10 record
    python benchmarks/digitize_accuracy.py --source simulate -n 5

The last condition renders CinC 2017 single-lead records of 30-60 s (300 Hz) as strip
pages wrapped into 10-s rows, digitizes them with the layout detected, and scores the
whole record (a page read as anything but a strip counts as a failure, 0 dB).
"""
from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np

from _folds import parse_folds  # noqa: E402  (benchmarks/ is the script's folder)

CONDITIONS = {
    # name: (layout, preset, dpi)
    "clean 200 dpi 3x4+II": ("3x4+II", "clean", 200),
    "clean 100 dpi 3x4+II": ("3x4+II", "clean", 100),
    "scan 200 dpi 3x4+II": ("3x4+II", "scan", 200),
    # a blurred dotted grid hides its 5 mm lines (it was once read at 5x the scale)
    "scan 150 dpi 3x4+II dotted": ("3x4+II", "scan", 150, {"grid_style": "dotted", "grid_color": "green"}),
    "clean 200 dpi 3x4": ("3x4", "clean", 200),
    "clean 200 dpi 3x4+II,V1,V5": ("3x4+II,V1,V5", "clean", 200),
    "clean 200 dpi 6x2": ("6x2", "clean", 200),
    "clean 200 dpi 12x1": ("12x1", "clean", 200),
    "clean 200 dpi strip (II)": ("strip", "clean", 200),
    # long single-lead records wrapped into rows (layout detected, not given)
    "CinC2017 strip 30-60 s 150dpi": ("cinc-strip", "clean", 150),
    # added at 14th stop: a photocopy's grid nearly as dark as the pen, limb leads in the
    # Cabrera order, a big-waved 12x1 scan, and a page scanned upside down
    "clean 200 dpi 3x4+II black grid": ("3x4+II", "clean", 200, {"grid_color": "black"}),
    "clean 200 dpi 3x4+II Cabrera": ("3x4+II", "clean", 200, {"lead_order": "cabrera"}),
    "scan 200 dpi 12x1": ("12x1", "scan", 200),
    "clean 200 dpi 3x4+II upside down": ("3x4+II", "clean", 200, {"quarter_turns": 2}),
    # issue #25: traits of pages drawn by other programs. Non-square pixels (one axis
    # stretched; the score's truth keeps both scales), a 1 px grey pen, the other generator's
    # page (pink grid, pulse at the right end, traces flush with the left edge, no A4 margin,
    # 7.75 x 7.44 px/mm), an ECG-Image-Kit-like page (header in the corner, footer, dark
    # grey pen), and the scan preset as lossless PNG, JPEG q75 and 1-bit pages
    "clean 200 dpi stretch y 0.85": ("3x4+II", "clean", 200, {"stretch": (1.0, 0.85)}),
    "clean 200 dpi stretch x 1.15": ("3x4+II", "clean", 200, {"stretch": (1.15, 1.0)}),
    "clean 200 dpi stretch x 0.9": ("3x4+II", "clean", 200, {"stretch": (0.9, 1.0)}),
    "clean 200 dpi grey 1px pen": ("3x4+II", "clean", 200, {"trace_width_px": 1, "trace_color": (110, 110, 110)}),
    "clean 200 dpi pulse right": ("3x4+II", "clean", 200, {"cal_pulse": "right"}),
    "clean other-generator page": ("3x4+II", "clean", 196.85, {
        "stretch": (1.0, 7.44 / 7.75), "grid_color": "pink", "cal_pulse": "right", "margin_mm": 0.0,
        "fit_page": True, "header": False, "trace_width_px": 1, "trace_color": (40, 40, 40)}),
    "clean 200 dpi EIK-like": ("3x4+II", "clean", 200, {
        "header": "eik", "footer": True, "trace_color": (31, 31, 31), "labels": True}),
    # ECG-Image-Kit's 1 px black page frame: taken as grid, it drives the threshold past a grey pen
    "clean 200 dpi EIK-like framed": ("3x4+II", "clean", 200, {
        "header": "eik", "footer": True, "trace_color": (31, 31, 31), "frame_px": 1}),
    "scan 200 dpi PNG": ("3x4+II", "scan", 200, {"jpeg": 0}),
    "scan 200 dpi JPEG q75": ("3x4+II", "scan", 200, {"jpeg": 75}),
    "clean 200 dpi JPEG q75": ("3x4+II", "clean", 200, {"jpeg": 75}),
    "scan 200 dpi bilevel": ("3x4+II", "scan", 200, {"bilevel": True}),
    # a straight page cut at a threshold (a fax, a hospital archive's CCITT G4 scan): grid as
    # black as the pen, pen edges without grey levels
    "clean 200 dpi EIK-like 1-bit": ("3x4+II", "clean", 200, {
        "header": "eik", "footer": True, "trace_color": (31, 31, 31), "labels": True, "bilevel": 0.5}),
    # issue #28: a clean sheet photographed filling the frame, tilted 8 degrees about a
    # random axis (no background around it to tell a photo)
    "clean 200 dpi tilted 8 deg": ("3x4+II", "clean", 200, {"distortions": {"perspective": 8}}),
    # a phone photo of a printout whose grid came out as neutral as its thin grey pen (the
    # phone photos of ../shared/data/phone-photos): the grid is divided out, not faded by colour
    "photo 200 dpi grey grid, thin pen": ("3x4+II", "photo", 200, {
        "grid_color": (135, 125, 125), "trace_width_px": 1, "trace_color": (70, 70, 70),
        "distortions": {"color_shift": 0.0}}),
}
TARGETS = {"clean 200 dpi stretch y 0.85": 20.0, "clean 200 dpi stretch x 1.15": 20.0,
           "clean 200 dpi stretch x 0.9": 20.0, "clean other-generator page": 20.0, "clean 200 dpi EIK-like": 20.0, "clean 200 dpi EIK-like framed": 20.0,
           "scan 200 dpi JPEG q75": 15.0, "scan 200 dpi PNG": 15.0, "clean 200 dpi JPEG q75": 20.0,
           "scan 200 dpi bilevel": 15.0, "clean 200 dpi EIK-like 1-bit": 18.0,
           "clean 200 dpi 3x4+II": 22.0, "clean 100 dpi 3x4+II": 15.0, "scan 200 dpi 3x4+II": 15.0,
           "scan 150 dpi 3x4+II dotted": 15.0, "scan 200 dpi 12x1": 15.0,
           "photo 200 dpi grey grid, thin pen": 15.0}   # issue #28: our photo preset >= 15 dB
LAYOUT_TARGET = 18.0


def _sources(args):
    from ecg_digitize.synth import load_ptbxl, ptbxl_records, simulate_12lead

    if args.source == "simulate":
        for seed in range(args.n):
            yield f"sim{seed}", simulate_12lead(seed=seed), seed
        return
    ids = ptbxl_records(folds=args.folds)
    if args.n:
        ids = ids[: args.n]
    for ecg_id in ids:
        yield f"ptbxl{ecg_id}", load_ptbxl(ecg_id), ecg_id


def _cinc_sources(n: int):
    """CinC 2017 records of 30 s or more from the end of the training set (the records
    used while developing the strip handling were A00001-A00040)."""
    import wfdb

    from ecg_digitize.datasets import dataset_path
    from ecg_digitize.synth import load_cinc2017

    root = dataset_path("cinc2017") / "training2017"
    names = sorted(p.stem for p in root.glob("A*.hea"))[::-1]
    k = 0
    for name in names:
        if k >= n:
            return
        if wfdb.rdheader(str(root / name)).sig_len < 30 * 300:
            continue
        k += 1
        yield name, load_cinc2017(name), int(name[1:])


def run(args) -> int:
    import cv2

    from ecg_digitize import digitize
    from ecg_digitize.errors import DigitizeError
    from ecg_digitize.metrics import score_record
    from ecg_digitize.synth import render

    cv2.setNumThreads(1)  # one core, as the target says
    sources = list(_sources(args))
    conditions = {k: v for k, v in CONDITIONS.items() if not args.only or any(o in k for o in args.only)}
    print(f"{len(sources)} records ({args.source}{' folds ' + ','.join(map(str, args.folds)) if args.source == 'ptbxl' else ''}), "
          f"{len(conditions)} conditions, fs=500 Hz output, method={args.method or 'default'}", flush=True)
    header = f"{'condition':<28} {'pages':>5} {'fail':>4} {'mean SNR':>9} {'median':>7} {'r':>6} {'s/page':>7} {'pages/s':>7}  target"
    print(header)
    print("-" * len(header))
    results = {}
    for name, (lay, preset, dpi, *paper) in conditions.items():
        lead_snr, rs, cpu, fails, scale_err = [], [], [], 0, []
        srcs = sources if lay != "cinc-strip" else list(_cinc_sources(len(sources)))
        for rec_name, (sig, fs, leads), seed in srcs:
            style = {"strip_lead": "II"} if lay == "strip" else dict(*paper)
            if lay == "cinc-strip":
                image, truth = render(sig, fs, leads, layout="strip", preset=preset, dpi=dpi, seed=int(seed),
                                      header=False)
            else:
                turns = style.pop("quarter_turns", 0)
                if "header" in style and style["header"] == "eik":
                    style["record_id"] = f"{seed:05d}_hr"
                image, truth = render(sig, fs, leads, layout=lay, preset=preset, dpi=dpi, seed=int(seed), **style)
                image = np.ascontiguousarray(np.rot90(image, turns))
            t0 = time.process_time()
            try:
                kw = {"method": args.method} if args.method else {}
                est = digitize(image, fs=fs, **kw) if lay == "cinc-strip" else digitize(image, **kw)
                if lay == "cinc-strip":  # the strip's lead name is not read from the page
                    if est.layout != "strip":
                        raise DigitizeError(f"layout read as {est.layout}, not strip")
                    est = type(truth)(est.signal[:, :1], fs=est.fs, leads=leads)
            except DigitizeError as exc:
                fails += 1
                lead_snr.extend([0.0] * int(np.sum(np.isfinite(truth.signal).any(axis=0))))
                if args.verbose:
                    print(f"   {rec_name}: {exc}")
                continue
            cpu.append(time.process_time() - t0)
            score = score_record(est, truth)
            lead_snr.extend(s.snr for s in score.leads.values())
            rs.append(score.pearson_r)
            if "stretch" in style:  # both scales within 1 %? (x: time, against est's px/mm and mm/s)
                sx, sy = truth.geometry["px_per_mm_xy"]
                c = est.calibration
                scale_err.append(max(abs(c.px_per_s / (sx * 25.0) - 1), abs(c.px_per_mv / (sy * 10.0) - 1)))
            if args.verbose:
                c = est.calibration
                print(f"   {rec_name}: {score.snr:6.2f} dB  layout {est.layout}  {c.px_per_mm or float('nan'):.3f} px/mm "
                      f"{c.mm_per_s:g} mm/s {c.mm_per_mv:g} mm/mV {','.join(c.guessed)}  {cpu[-1]:.2f} s  "
                      f"{est.geometry.method} route", flush=True)
        mean = float(np.mean(lead_snr)) if lead_snr else float("nan")
        target = TARGETS.get(name, LAYOUT_TARGET)
        mark = "ok" if mean >= target else "MISSED"
        spp = float(np.mean(cpu)) if cpu else float("nan")
        print(f"{name:<28} {len(srcs):5d} {fails:4d} {mean:9.2f} {float(np.median(lead_snr)):7.2f} "
              f"{float(np.nanmean(rs)) if rs else float('nan'):6.3f} {spp:7.2f} {1 / spp:7.2f}  >= {target:g} dB {mark}"
              + (f"  scales within 1 %: {sum(e <= 0.01 for e in scale_err)}/{len(srcs)} "
                 f"(worst {100 * max(scale_err):.1f} %)" if scale_err else ""),
              flush=True)
        results[name] = mean
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory of the whole benchmark process (renderer included): {peak_mb:.0f} MB")
    print("s/page: CPU seconds of digitize() alone, OpenCV on one thread")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="8 records per condition")
    p.add_argument("--source", choices=["ptbxl", "simulate"], default="ptbxl")
    p.add_argument("--folds", default="10", help="PTB-XL strat_folds, e.g. 10 or 1-8 (default: 10)")
    p.add_argument("-n", type=int, default=0, help="number of records (0: all in the folds)")
    p.add_argument("--only", nargs="*", default=None, help="run conditions whose name contains any of these")
    p.add_argument("--method", default=None,
                   help="digitize(method=): classical, photo, unet, auto (default: digitize's own)")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    args.folds = parse_folds(args.folds)
    if args.quick and not args.n:
        args.n = 8
    if args.source == "simulate" and not args.n:
        args.n = 5
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
