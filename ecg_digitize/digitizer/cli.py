"""``ecg-digitize digitize IMAGE [IMAGE ...] -o OUT [--format wfdb,csv,json] [--overlay [PATH]]``.

Registered by :mod:`ecg_digitize.cli` through :func:`add_digitize_subcommand`. Many images
are digitized in one process (start-up is paid once); an image that fails is reported and
skipped, and the exit status is 1 when any failed.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

FORMATS = ("wfdb", "csv", "json")
OVERLAY_SUFFIX = "_overlay.png"


def add_digitize_subcommand(subparsers) -> argparse.ArgumentParser:
    """Add the ``digitize`` subcommand to an ``argparse`` subparsers object."""
    p = subparsers.add_parser(
        "digitize", help="digitize ECG page images (or PDFs) into signals",
        description="Recover calibrated 12-lead signals from page images, one process for all. "
                    "Outputs are named after each image, cleaned to a WFDB record name "
                    "(letters, digits, _ and -): MI(112).jpg -> MI_112.hea/.dat/.csv/.json.")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="PNG, JPEG, TIFF, BMP, WebP or PDF files")
    p.add_argument("-o", "--out", required=True,
                   help="output folder; files are named after the image")
    p.add_argument("--format", default="wfdb,csv,json",
                   help="comma-separated subset of wfdb,csv,json (default: %(default)s)")
    p.add_argument("--json-signal", action="store_true",
                   help="put the samples in the JSON too (then ecg-classify can read it)")
    p.add_argument("--overlay", nargs="?", const="", default=None, metavar="PATH",
                   help="also draw the reading over the page: alone, OUT/<name>_overlay.png per "
                        "image; a .png/.jpg PATH for one image; a folder PATH for several")
    p.add_argument("--overlay-style", default="overlay", choices=["overlay", "side-by-side"],
                   help="the reading over the ink, or the page and the reading side by side "
                        "(default: %(default)s)")
    p.add_argument("--fs", type=float, default=500.0, help="output sampling rate in Hz (default: 500)")
    p.add_argument("--layout", default="auto",
                   help="auto, 3x4, 3x4+II, 3x4+II,V1,V5, 6x2, 12x1 or strip (default: auto)")
    p.add_argument("--paper-speed", type=float, default=None, help="mm/s (default: detect, else 25)")
    p.add_argument("--gain", type=float, default=None, help="mm/mV (default: detect, else 10)")
    p.add_argument("--page", type=int, default=0, help="PDF page, 0-based (default: 0)")
    p.add_argument("--method", default="auto", choices=["auto", "classical", "photo", "unet"],
                   help="trace pixels from the classical threshold, a photo's flattened sheet, the "
                        "U-Net, or auto: the photo route for a sheet on a background, else the "
                        "classical reading unless it looks weak (default: auto)")
    p.add_argument("--lead-order", default="auto", choices=["auto", "standard", "cabrera"],
                   help="limb leads I, II, III, aVR, aVL, aVF (standard) or aVL, I, -aVR, II, aVF, III "
                        "(cabrera); auto: the order whose leads agree (default: auto)")
    p.set_defaults(func=run_digitize)
    return p


def run_digitize(args) -> int:
    """Run the subcommand on every image; returns 0, or 1 when any image failed."""
    from ..errors import EcgDigitizeError
    from ..record import wfdb_record_name

    formats = [f.strip().lower() for f in args.format.split(",") if f.strip()]
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise SystemExit(f"ecg-digitize digitize: unknown format(s) {unknown}; choose from {list(FORMATS)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    failed: list[str] = []
    t0 = time.perf_counter()
    for image in args.images:
        name = _unique(wfdb_record_name(Path(image).stem, default="page"), used)
        try:
            _digitize_one(args, image, name, out, formats)
        except (EcgDigitizeError, OSError, ValueError) as exc:
            failed.append(image)
            where = "" if getattr(exc, "source", None) else f"{image}: "
            print(f"ecg-digitize digitize: {where}{exc}", file=sys.stderr)
    n = len(args.images)
    if n > 1:
        seconds = time.perf_counter() - t0
        print(f"digitized {n - len(failed)} of {n} images in {seconds:.1f} s ({seconds / n:.2f} s per image)")
    if failed:
        print(f"ecg-digitize digitize: {len(failed)} of {n} image(s) failed: {', '.join(failed)}",
              file=sys.stderr)
        return 1
    return 0


def _unique(name: str, used: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``, ... when an earlier image of this call took it."""
    candidate, k = name, 1
    while candidate.lower() in used:  # case-insensitive file systems too
        k += 1
        candidate = f"{name}_{k}"
    used.add(candidate.lower())
    return candidate


def _overlay_path(arg: str, out: Path, name: str, n_images: int) -> Path:
    if arg == "":
        return out / f"{name}{OVERLAY_SUFFIX}"
    path = Path(arg)
    if n_images == 1 and path.suffix.lower() in (".png", ".jpg", ".jpeg"):
        return path
    return path / f"{name}{OVERLAY_SUFFIX}"


def _digitize_one(args, image: str, name: str, out: Path, formats: list[str]) -> None:
    from .pipeline import digitize

    record = digitize(image, fs=args.fs, layout=args.layout, paper_speed=args.paper_speed,
                      gain=args.gain, page=args.page, method=args.method, lead_order=args.lead_order)
    written = []
    if "wfdb" in formats:
        hea = record.to_wfdb(out, name)
        written += [hea, hea.with_suffix(".dat")]
    if "csv" in formats:
        written.append(record.to_csv(out / f"{name}.csv"))
    if "json" in formats:
        written.append(record.to_json(out / f"{name}.json", include_signal=args.json_signal))
    if args.overlay is not None:
        path = _overlay_path(args.overlay, out, name, len(args.images))
        written.append(save_overlay(image, record, path, page=args.page, style=args.overlay_style))
    renamed = "" if name == Path(image).stem else f" -> record {name}"
    print(f"{image}{renamed}: {record.layout}, {len(record.leads)} leads, {record.duration:.2f} s at "
          f"{record.fs:g} Hz, {record.calibration.mm_per_s:g} mm/s, {record.calibration.mm_per_mv:g} mm/mV, "
          f"quality {record.quality.get('overall', float('nan')):.2f}{_verdict_text(record.quality)}")
    for w in record.warnings:
        print(f"  warning: {w}")
    for path in written:
        print(f"  wrote {path}")


def _verdict_text(quality: dict) -> str:
    """``", verdict good (expected SNR 18.2 dB)"`` where the quality model ran."""
    if not quality.get("verdict"):
        return ""
    return f", verdict {quality['verdict']} (expected SNR {quality['expected_snr_db']:.1f} dB)"


def save_overlay(image, record, path, *, page: int = 0, style: str = "overlay") -> Path:
    """Draw the reading and lead boxes over the (deskewed) page and save it (PNG or JPEG).

    Parameters
    ----------
    image : path or array
        The page the Record was read from.
    record : Record
        What :func:`~ecg_digitize.digitize` read from it.
    path : path-like
        Where to write; ``.jpg``/``.jpeg`` write JPEG, anything else PNG.
    page : int
        PDF page or TIFF frame, as given to ``digitize``.
    style : {"overlay", "side-by-side"}
        See :func:`ecg_digitize.overlay.draw_overlay`.

    Returns
    -------
    Path
    """
    from ..overlay import save_overlay_image
    from .pipeline import page_as_measured

    return save_overlay_image(page_as_measured(image, record, page=page), record, path, style=style)
