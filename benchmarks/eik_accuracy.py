"""Accuracy of ``ecg_digitize.digitize`` on pages drawn by another program: ECG-Image-Kit.

Renders PTB-XL records of ``--folds`` with ECG-Image-Kit (the PhysioNet/CinC 2024
generator, wrapped by ``../shared/tools/ecg-image-kit/render.py``: 3x4 + a 10 s lead II
strip, 25 mm/s, 10 mm/mV, red grid, printed header, calibration pulses, lead-name boxes),
digitizes each page and scores it with the Challenge SNR against the generator's exact
truth (``NAME.npy`` + the JSON's plotted sample ranges, NaN where a lead is not plotted).
Tune on folds 1-9, report fold 10.

Prints one row per condition: pages, refusals, layout errors (a page read as anything but
``3x4+II``), mean and median SNR over (record, lead) pairs (a refused page scores 0 dB on
every lead), Pearson r, CPU seconds of ``digitize`` per page; then the refusals with their
reasons and the layout errors.

Rendered pages are cached outside the repository, in ``$ECG_EIK_CACHE`` (default
``~/.cache/ecg-digitize/eik``); the generator's venv is ``$EIK_VENV`` (default
``~/.cache/ecg-image-kit-venv``, made by the kit's ``setup.sh``). A page already in the
cache is not rendered again (the kit's output is byte-identical for the same inputs).

Usage::

    python benchmarks/eik_accuracy.py --folds 10 -n 24          # the report table
    python benchmarks/eik_accuracy.py --folds 9 -n 12           # tuning fold
    python benchmarks/eik_accuracy.py --quick                   # 4 records, scan conditions
    python benchmarks/eik_accuracy.py --only "200 dpi PNG" -v   # per-page lines

Conditions (what the wrapper lets us vary; it fixes the generator's layout, grid colour,
header, lead-name boxes and pen, see ``COMMON`` in render.py):

- ``scan 200 dpi PNG``: the clean page, lossless.
- ``scan 100 dpi PNG``, ``scan 300 dpi PNG``: the generator drawn at that resolution.
- ``scan 200 dpi JPEG q95 / q75``: the 200 dpi PNG saved as JPEG by Pillow here, as
  render.py's ``--scan-format jpg --scan-quality Q`` does (same pixels, 4:2:0 chroma).
- ``photo 200 dpi``: wrinkles, creases, rotation up to 10 deg, noise, crop, JPEG q60.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from _folds import parse_folds  # noqa: E402  (benchmarks/ is the script's folder)

HERE = Path(__file__).resolve().parent
# the kit beside the project (``../shared/tools/ecg-image-kit``), or ``$EIK_KIT``
KIT = Path(os.environ.get("EIK_KIT", HERE.parent.parent / "shared" / "tools" / "ecg-image-kit"))
VENV = Path(os.environ.get("EIK_VENV", Path.home() / ".cache" / "ecg-image-kit-venv"))
CACHE = Path(os.environ.get("ECG_EIK_CACHE", Path.home() / ".cache" / "ecg-digitize" / "eik"))
EXPECTED_LAYOUT = "3x4+II"

CONDITIONS = {
    # name: (style, dpi, how the page is re-encoded: None, a JPEG quality, or see ENCODINGS)
    "scan 200 dpi PNG": ("scan", 200, None),
    "scan 100 dpi PNG": ("scan", 100, None),
    "scan 300 dpi PNG": ("scan", 300, None),
    "scan 200 dpi JPEG q95": ("scan", 200, 95),
    "scan 200 dpi JPEG q75": ("scan", 200, 75),
    "scan 200 dpi PDF": ("scan", 200, "pdf"),
    "scan 200 dpi 1-bit G4 TIFF": ("scan", 200, "g4"),
    "scan 200 dpi 1-bit dithered": ("scan", 200, "dither"),
    "scan 200 dpi 1-bit G4 TIFF, skewed 2 deg": ("scan", 200, "g4-skew"),
    "scan 200 dpi, photographed tilted 8 deg": ("scan", 200, "tilt"),
    "photo 200 dpi": ("photo", 200, None),
}
# the encodings archives hold, made from the lossless page by Pillow: a PDF page at the
# page's dpi, a thresholded 1-bit page saved as CCITT G4 TIFF (fax, hospital archives),
# the same of a sheet fed 2 degrees askew (its grid lines no longer run along the rows),
# and a Floyd-Steinberg dithered 1-bit page; and the page photographed filling the frame
# with the camera tilted TILT_DEG about an axis drawn from the record's name (our
# renderer's ``perspective`` distortion, no background around the sheet)
ENCODINGS = ("pdf", "g4", "g4-skew", "dither", "tilt")
TILT_DEG = 8.0
SKEW_DEG = 2.0
QUICK = ["scan 200 dpi PNG", "scan 100 dpi PNG", "scan 200 dpi JPEG q75"]
TARGETS = {"scan 200 dpi PNG": 20.0, "scan 100 dpi PNG": 15.0, "scan 300 dpi PNG": 20.0,
           "scan 200 dpi JPEG q95": 20.0, "scan 200 dpi JPEG q75": 18.0}


def records_of(folds, n: int) -> list[tuple[int, str]]:
    """(ecg_id, path relative to records500 without extension) of the first n records."""
    import pandas as pd

    from ecg_digitize.datasets import dataset_path
    from ecg_digitize.synth import ptbxl_records

    db = pd.read_csv(dataset_path("ptbxl") / "ptbxl_database.csv").set_index("ecg_id")
    ids = ptbxl_records(folds=folds)
    if n:
        ids = ids[:n]
    return [(i, db.loc[i, "filename_hr"].split("records500/", 1)[1]) for i in ids]


def render_missing(style: str, dpi: int, rels: list[str], jobs: int = 1) -> Path:
    """Render with ECG-Image-Kit every record of ``rels`` not yet in the cache."""
    from ecg_digitize.datasets import dataset_path

    out = CACHE / f"{style}-{dpi}dpi"
    ext = "png" if style == "scan" else "jpg"
    missing = [r for r in rels if not (out / f"{r}-{style}.json").exists()
               or not (out / f"{r}-{style}.{ext}").exists()]
    if missing:
        python = VENV / "bin" / "python"
        if not python.exists():
            sys.exit(f"no ECG-Image-Kit venv at {VENV}: run {KIT / 'setup.sh'} (or set EIK_VENV)")
        cmd = ["nice", str(python), str(KIT / "render.py"), str(dataset_path("ptbxl") / "records500"), str(out),
               "--style", style, "--dpi", str(dpi), "--jobs", str(jobs), "--skip-existing", "--records", *missing]
        print(f"   rendering {len(missing)} {style} pages at {dpi} dpi into {out} ...", flush=True)
        t0 = time.time()
        subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL)
        print(f"   ... {time.time() - t0:.0f} s", flush=True)
    return out


def eik_truth(meta: dict, truth_npy: np.ndarray):
    """The page's truth as a Record in this project's convention: every lead's plotted
    samples (the union of its panels), NaN elsewhere."""
    from ecg_digitize.record import Calibration, Record

    lead_names = meta["npy_lead_order"]
    sig = np.full(truth_npy.shape, np.nan)
    for lead in meta["leads"]:
        j, s, e = lead["npy_column"], lead["start_sample"], lead["end_sample"]
        sig[s:e, j] = truth_npy[s:e, j]
    px_per_mm = meta["dpi"] / 25.4
    return Record(sig, fs=float(meta["fs"]), leads=list(lead_names), layout=EXPECTED_LAYOUT,
                  calibration=Calibration(px_per_mm=px_per_mm, mm_per_s=25.0, mm_per_mv=10.0),
                  source="ecg-image-kit")


def load_page(folder: Path, rel: str, style: str, jpeg: int | str | None):
    """The page (an RGB array; a scan re-saved as JPEG when ``jpeg`` is a quality, or in
    one of :data:`ENCODINGS`, then a file path or a PIL image), its JSON and truth."""
    from PIL import Image

    ext = "png" if style == "scan" else "jpg"
    meta = json.loads((folder / f"{rel}-{style}.json").read_text())
    img = Image.open(folder / f"{rel}-{style}.{ext}").convert("RGB")
    truth = np.load(folder / (str(Path(rel).parent / meta["truth"])))
    if jpeg == "tilt":
        return _tilted(np.asarray(img), rel), meta, truth
    if jpeg in ENCODINGS:
        return _encoded(img, jpeg, meta["dpi"]), meta, truth
    if jpeg:
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=jpeg, optimize=True)   # as render.py --scan-format jpg
        img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    return np.asarray(img), meta, truth


def _quality_line(name: str, expected: list, measured: list, verdicts: dict) -> str:
    """How the quality verdict ranked the condition's readings (refusals left out)."""
    from scipy.stats import spearmanr

    rho = spearmanr(expected, measured)[0] if len(measured) > 2 else float("nan")
    return f"{name}: quality: Spearman {rho:.3f} (expected vs measured SNR), verdicts {verdicts}"


def _tilted(page: np.ndarray, rel: str) -> np.ndarray:
    """``page`` seen by a camera tilted :data:`TILT_DEG` (the sheet fills the frame)."""
    import zlib

    from ecg_digitize.synth.distort import apply_distortions

    rng = np.random.default_rng(zlib.crc32(rel.encode()))
    mask = np.zeros(page.shape[:2], np.uint8)
    return apply_distortions(page, mask, {"perspective": TILT_DEG}, rng, px_per_mm=0.0)[0]


def _encoded(img, how: str, dpi: float):
    """``img`` as a PDF file (its path), a G4 TIFF (straight or skewed) or a dithered 1-bit
    page (PIL images)."""
    import tempfile

    from PIL import Image

    if how == "pdf":
        path = Path(tempfile.mkdtemp(prefix="eik-pdf-")) / "page.pdf"
        img.save(path, format="PDF", resolution=float(dpi))
        return str(path)
    if how == "g4-skew":   # turned on the scanner's glass, white where it uncovers
        img = img.rotate(SKEW_DEG, resample=Image.Resampling.BICUBIC, fillcolor=(255, 255, 255))
    dither = Image.Dither.FLOYDSTEINBERG if how == "dither" else Image.Dither.NONE
    one = img.convert("L").convert("1", dither=dither)
    if how == "dither":
        return one
    buf = io.BytesIO()
    one.save(buf, format="TIFF", compression="group4")
    return Image.open(io.BytesIO(buf.getvalue()))


def run(args) -> int:
    import cv2

    from ecg_digitize import digitize
    from ecg_digitize.errors import DigitizeError
    from ecg_digitize.metrics import score_record

    cv2.setNumThreads(1)
    recs = records_of(args.folds, args.n)
    names = [k for k in CONDITIONS if (not args.only or any(o in k for o in args.only))
             and (not args.quick or k in QUICK)]
    print(f"ECG-Image-Kit pages of {len(recs)} PTB-XL records (folds {','.join(map(str, args.folds))}), "
          f"{len(names)} conditions, method={args.method!r}; cache {CACHE}", flush=True)
    rows, notes = [], []
    for name in names:
        style, dpi, jpeg = CONDITIONS[name]
        folder = render_missing(style, dpi, [r for _, r in recs], args.jobs)
        lead_snr, rs, cpu, refused, layout_err, pages = [], [], [], [], [], 0
        expected, measured, verdicts = [], [], {}
        for ecg_id, rel in recs:
            if not (folder / f"{rel}-{style}.json").exists():
                notes.append(f"{name}: {rel} not rendered (skipped by the kit?)")
                continue
            image, meta, npy = load_page(folder, rel, style, jpeg)
            truth = eik_truth(meta, npy)
            pages += 1
            t0 = time.process_time()
            try:
                est = digitize(image, method=args.method)
            except DigitizeError as exc:
                refused.append(f"{ecg_id}: {type(exc).__name__}: {exc}")
                lead_snr.extend([0.0] * 12)
                if args.verbose:
                    print(f"   {name} ptbxl{ecg_id}: refused ({exc})", flush=True)
                continue
            cpu.append(time.process_time() - t0)
            score = score_record(est, truth)
            lead_snr.extend(s.snr for s in score.leads.values())
            rs.append(score.pearson_r)
            expected.append(est.quality.get("expected_snr_db", np.nan))
            measured.append(score.snr)
            verdicts[est.quality.get("verdict")] = verdicts.get(est.quality.get("verdict"), 0) + 1
            if est.layout != EXPECTED_LAYOUT:
                layout_err.append(f"{ecg_id}: read as {est.layout} ({score.snr:.1f} dB)")
            if args.verbose:
                c = est.calibration
                print(f"   {name} ptbxl{ecg_id}: {score.snr:6.2f} dB  layout {est.layout}  "
                      f"{c.px_per_mm:.3f} px/mm (true {dpi / 25.4:.3f}) {c.mm_per_s:g} mm/s {c.mm_per_mv:g} mm/mV"
                      f"{' guessed ' + ','.join(c.guessed) if c.guessed else ''}  {cpu[-1]:.2f} s", flush=True)
        mean = float(np.mean(lead_snr)) if lead_snr else float("nan")
        med = float(np.median(lead_snr)) if lead_snr else float("nan")
        r = float(np.nanmean(rs)) if rs else float("nan")
        spp = float(np.mean(cpu)) if cpu else float("nan")
        target = TARGETS.get(name)
        mark = "" if target is None else (f">= {target:g} dB " + ("ok" if mean >= target and not refused
                                                                  else "MISSED"))
        rows.append(f"{name:<24} {pages:5d} {len(refused):7d} {len(layout_err):6d} {mean:9.2f} {med:7.2f} "
                    f"{r:6.3f} {spp:7.2f}  {mark}")
        print(rows[-1], flush=True)
        notes += [f"{name}: refused {x}" for x in refused] + [f"{name}: layout {x}" for x in layout_err]
        notes.append(_quality_line(name, expected, measured, verdicts))
    header = (f"{'condition':<24} {'pages':>5} {'refused':>7} {'layout':>6} {'mean SNR':>9} {'median':>7} "
              f"{'r':>6} {'s/page':>7}  target")
    print("\n" + header + "\n" + "-" * len(header))
    print("\n".join(rows))
    if notes:
        print("\n" + "\n".join(notes))
    print("\nrefused pages score 0 dB on all 12 leads; layout: pages read as anything but 3x4+II; "
          "s/page: CPU s of digitize() alone")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--folds", default="10", help="PTB-XL strat_folds, e.g. 10 or 1-9 (default: 10)")
    p.add_argument("-n", type=int, default=0, help="records (0: every record of the folds)")
    p.add_argument("--quick", action="store_true", help="4 records, the three scan conditions of QUICK")
    p.add_argument("--only", nargs="*", default=None, help="conditions whose name contains any of these")
    p.add_argument("--jobs", type=int, default=1, help="render.py worker processes (default 1)")
    p.add_argument("--method", default="classical", help="digitize(method=): classical, photo, unet, auto")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    args.folds = parse_folds(args.folds)
    if args.quick and not args.n:
        args.n = 4
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
