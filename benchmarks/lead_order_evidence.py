"""How well the limb leads of digitized pages agree in the standard and in the Cabrera order.

``digitize(lead_order="auto")`` reads a 12-lead page in the Cabrera order (aVL, I, -aVR,
II, aVF, III) only where its limb leads agree at least ``CABRERA_MIN_DB`` in that order
and by as much more than in the standard one
(:func:`ecg_digitize.digitizer.limb_order.limb_consistency`). This prints, per page read
in the standard order, both figures: for fold-9 PTB-XL renders drawn in each order
(three layouts, clean and scan) and for the real 12-lead pictures (``khan2021``,
``ecg-image-kit-photos``; all printed in the standard order), then the extremes the
limit was chosen from.

    python benchmarks/lead_order_evidence.py -n 6
"""
from __future__ import annotations

import argparse

import numpy as np

RENDERS = [("3x4+II", "clean"), ("3x4+II", "scan"), ("6x2", "clean"), ("12x1", "clean")]


def _both(source) -> tuple[float, float] | None:
    """(standard, Cabrera) limb consistency of ``source`` read in the standard order; None
    when refused or not a 12-lead layout."""
    from ecg_digitize import DigitizeError, digitize
    from ecg_digitize.digitizer.limb_order import as_cabrera, limb_consistency

    try:
        rec = digitize(source, lead_order="standard")
    except DigitizeError:
        return None
    if rec.layout == "strip":
        return None
    return limb_consistency(rec.signal, rec.leads), limb_consistency(as_cabrera(rec.signal, rec.leads), rec.leads)


def main(argv=None) -> int:
    from ecg_digitize.datasets import data_dir, unique_images
    from ecg_digitize.digitizer.pipeline import CABRERA_MIN_DB
    from ecg_digitize.synth import load_ptbxl, ptbxl_records, render

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=6, help="fold-9 records per render condition (default: %(default)s)")
    args = p.parse_args(argv)
    groups: dict[str, list[tuple[float, float]]] = {}
    records = [load_ptbxl(i) for i in ptbxl_records(folds=[9])[: args.n]]
    for order in ("standard", "cabrera"):
        for lay, preset in RENDERS:
            key = f"renders, {order} order: {lay} {preset}"
            for k, (sig, fs, leads) in enumerate(records):
                image, _ = render(sig, fs, leads, layout=lay, preset=preset, seed=k, lead_order=order)
                both = _both(image)
                if both is not None:
                    groups.setdefault(key, []).append(both)
    root = data_dir()
    for name in ("khan2021", "ecg-image-kit-photos"):
        if (root / name).exists():
            for path in unique_images(root / name):
                both = _both(path)
                if both is not None:
                    groups.setdefault(f"real pictures (standard order): {name}", []).append(both)
    print(f"{'pages':<52} {'n':>3}  {'standard dB (min..max)':>24}  {'Cabrera dB (min..max)':>23}  "
          f"{'Cabrera - standard max':>22}")
    for key, vals in groups.items():
        s, c = np.array(vals).T
        print(f"{key:<52} {len(vals):3d}  {np.nanmin(s):10.2f} .. {np.nanmax(s):6.2f}  "
              f"{np.nanmin(c):10.2f} .. {np.nanmax(c):6.2f}  {np.nanmax(c - s):22.2f}")
    print(f"\nlead_order='auto' takes the Cabrera order from {CABRERA_MIN_DB:g} dB in it and "
          f"{CABRERA_MIN_DB:g} dB above the standard order")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
