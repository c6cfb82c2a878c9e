"""``ecg-digitize digitize IMAGE -o OUT [--format wfdb,csv,json] [--overlay overlay.png]``.

Registered by :mod:`ecg_digitize.cli` through :func:`add_digitize_subcommand`.
"""
from __future__ import annotations

import argparse
from pathlib import Path

FORMATS = ("wfdb", "csv", "json")


def add_digitize_subcommand(subparsers) -> argparse.ArgumentParser:
    """Add the ``digitize`` subcommand to an ``argparse`` subparsers object."""
    p = subparsers.add_parser("digitize", help="digitize one ECG page image (or PDF) into signals",
                              description="Recover calibrated 12-lead signals from a page image.")
    p.add_argument("image", help="PNG, JPEG, TIFF, BMP, WebP or PDF file")
    p.add_argument("-o", "--out", required=True,
                   help="output folder; files are named after the image")
    p.add_argument("--format", default="wfdb,csv,json",
                   help="comma-separated subset of wfdb,csv,json (default: %(default)s)")
    p.add_argument("--overlay", default=None, help="also write the traces drawn over the page (PNG)")
    p.add_argument("--fs", type=float, default=500.0, help="output sampling rate in Hz (default: 500)")
    p.add_argument("--layout", default="auto",
                   help="auto, 3x4, 3x4+II, 3x4+II,V1,V5, 6x2, 12x1 or strip (default: auto)")
    p.add_argument("--paper-speed", type=float, default=None, help="mm/s (default: detect, else 25)")
    p.add_argument("--gain", type=float, default=None, help="mm/mV (default: detect, else 10)")
    p.add_argument("--page", type=int, default=0, help="PDF page, 0-based (default: 0)")
    p.add_argument("--method", default="classical", choices=["classical", "unet", "auto"],
                   help="trace pixels from the classical threshold, the U-Net (photos), or auto: "
                        "the U-Net when the classical reading looks weak (default: classical)")
    p.add_argument("--lead-order", default="auto", choices=["auto", "standard", "cabrera"],
                   help="limb leads I, II, III, aVR, aVL, aVF (standard) or aVL, I, -aVR, II, aVF, III "
                        "(cabrera); auto: the order whose leads agree (default: auto)")
    p.set_defaults(func=run_digitize)
    return p


def run_digitize(args) -> int:
    """Run the subcommand; returns the exit code (errors propagate as DigitizeError)."""
    from .pipeline import digitize

    formats = [f.strip().lower() for f in args.format.split(",") if f.strip()]
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise SystemExit(f"ecg-digitize digitize: unknown format(s) {unknown}; choose from {list(FORMATS)}")
    record = digitize(args.image, fs=args.fs, layout=args.layout, paper_speed=args.paper_speed,
                      gain=args.gain, page=args.page, method=args.method, lead_order=args.lead_order)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = Path(args.image).stem
    written = []
    if "wfdb" in formats:
        written.append(record.to_wfdb(out, name))
    if "csv" in formats:
        written.append(record.to_csv(out / f"{name}.csv"))
    if "json" in formats:
        written.append(record.to_json(out / f"{name}.json"))
    if args.overlay:
        written.append(save_overlay(args.image, record, args.overlay, page=args.page))
    print(f"{record.source}: {record.layout}, {len(record.leads)} leads, {record.duration:.2f} s at "
          f"{record.fs:g} Hz, {record.calibration.mm_per_s:g} mm/s, {record.calibration.mm_per_mv:g} mm/mV, "
          f"quality {record.quality.get('overall', float('nan')):.2f}")
    for w in record.warnings:
        print(f"  warning: {w}")
    for path in written:
        print(f"  wrote {path}")
    return 0


def save_overlay(image, record, path, *, page: int = 0) -> Path:
    """Draw the recovered traces and lead boxes over the (deskewed) page and save a PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ..plotting import plot_overlay
    from .pipeline import page_as_measured

    fig = plot_overlay(page_as_measured(image, record, page=page), record, color="#0050ff")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
