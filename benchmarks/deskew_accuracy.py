"""How well ``deskew.estimate_skew`` reads a page's rotation, against the renderer's.

Renders fold-9 PTB-XL records as ``scan`` pages (a random rotation within +-5 deg, blur,
noise, JPEG), four layouts and 100-200 dpi in turn, and prints the mean and worst error
of the angle read against the rotation drawn. Then ``clean`` (unrotated) pages, five
layouts at 100-300 dpi: the largest angle read, and how many exceed the 0.05 deg above
which the pipeline rotates a page. Run it on another checkout with ``PYTHONPATH``::

    python benchmarks/deskew_accuracy.py              # 40 scan pages, 30 clean pages
    python benchmarks/deskew_accuracy.py --scan 8 --clean 5
"""
from __future__ import annotations

import argparse

import numpy as np

SCAN_LAYOUTS = ("3x4+II", "12x1", "6x2", "3x4")
SCAN_DPI = (200, 150, 100)
CLEAN_LAYOUTS = ("3x4+II", "12x1", "6x2", "3x4", "3x4+II,V1,V5")
CLEAN_DPI = (200, 150, 100, 300)


def _angle(image) -> float:
    from ecg_digitize.digitizer import deskew, greyscale, threshold

    return deskew.estimate_skew(threshold.normalise_background(greyscale.grid_view(image)))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scan", type=int, default=40, help="scan pages (rotated)")
    ap.add_argument("--clean", type=int, default=30, help="clean pages (straight)")
    a = ap.parse_args(argv)

    from ecg_digitize.synth import load_ptbxl, ptbxl_records, render

    ids = ptbxl_records(folds=[9])
    errors, worst = [], None
    for k, ecg_id in enumerate(ids[:a.scan]):
        sig, fs, leads = load_ptbxl(ecg_id)
        lay, dpi = SCAN_LAYOUTS[k % 4], SCAN_DPI[k % 3]
        image, truth = render(sig, fs, leads, layout=lay, preset="scan", dpi=dpi, seed=int(ecg_id))
        drawn, read = truth.geometry["distortions"]["rotation"], _angle(image)
        errors.append(abs(read - drawn))
        if worst is None or errors[-1] > worst[0]:
            worst = (errors[-1], f"ptbxl{ecg_id} {lay} {dpi} dpi", drawn, read)
    print(f"scan pages: {len(errors)}; |angle read - rotation drawn| mean {np.mean(errors):.4f} deg, "
          f"worst {worst[0]:.3f} deg ({worst[1]}: drawn {worst[2]:.3f}, read {worst[3]:.3f})")
    straight = []
    for k, ecg_id in enumerate(ids[:a.clean]):
        sig, fs, leads = load_ptbxl(ecg_id)
        image, _ = render(sig, fs, leads, layout=CLEAN_LAYOUTS[k % 5], preset="clean",
                          dpi=CLEAN_DPI[k % 4], seed=int(ecg_id))
        straight.append(abs(_angle(image)))
    straight = np.asarray(straight)
    print(f"clean (straight) pages: {len(straight)}; largest |angle read| {straight.max():.4f} deg, "
          f"{int((straight > 0.05).sum())} above the 0.05 deg the pipeline rotates from")
    return {"scan_mean": float(np.mean(errors)), "scan_worst": float(worst[0]),
            "clean_max": float(straight.max())}


if __name__ == "__main__":
    main()
