"""Render one page in each layout and each preset and save a contact sheet PNG.

Run::

    python examples/contact_sheet.py --out contact_sheet.png

Uses the simulated 12-lead ECG (no data needed); ``--ptbxl ID`` renders a PTB-XL record.
"""
from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ecg_digitize.synth import load_ptbxl, render, simulate_12lead  # noqa: E402

PAGES = [
    ("3x4+II", "clean", {}),
    ("3x4", "clean", {"grid_color": "green", "grid_style": "dotted"}),
    ("3x4+II,V1,V5", "clean", {"grid_color": "orange", "cal_pulse": "right"}),
    ("6x2", "clean", {"grid_color": "pink"}),
    ("12x1", "clean", {"grid_color": "grey", "separators": False}),
    ("3x4", "clean", {"lead_order": "cabrera", "grid_color": "black"}),
    ("strip", "clean", {"grid_color": "orange"}),
    ("3x4+II", "scan", {}),
    ("3x4+II", "photo", {}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="contact_sheet.png")
    parser.add_argument("--ptbxl", type=int, default=None, help="PTB-XL ecg_id instead of a simulation")
    parser.add_argument("--dpi", type=float, default=100)
    args = parser.parse_args()
    sig, fs, leads = load_ptbxl(args.ptbxl) if args.ptbxl else simulate_12lead(seed=3)
    fig, axes = plt.subplots(3, 3, figsize=(18, 13))
    for ax, (layout, preset, style) in zip(axes.flat, PAGES):
        if layout == "strip":  # a 30 s single-lead strip wraps into rows
            long = np.tile(sig[:, 1], 3)[:, None]
            image, _ = render(long, fs, ["II"], layout="strip", dpi=args.dpi, seed=1, **style)
        else:
            image, _ = render(sig, fs, leads, layout=layout, preset=preset, dpi=args.dpi, seed=1, **style)
        ax.imshow(image)
        extra = ", ".join(f"{k}={v}" for k, v in style.items())
        ax.set_title(f"{layout} | {preset}" + (f" | {extra}" if extra else ""), fontsize=9)
        ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
