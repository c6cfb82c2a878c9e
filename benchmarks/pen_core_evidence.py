"""The figures behind the pen-core threshold's gates (``threshold.pen_core``).

For fold-9 PTB-XL renders of several conditions and for the real pictures in the shared
data (ecg-image-kit photos, khan2021 scans), digitizes each page and prints what the
pen-core step saw (``record.geometry.pen_core``): how many times more connected pieces
the core threshold leaves (gate: at most ``MAX_CORE_SPLIT``), and how many times as many
line crossings of the page's columns (gate: ``MIN_CORE_COVER`` to ``MAX_CORE_CROSSINGS``).
Columns: pages, refused by the digitizer, no step (no darker level above the first
threshold), split tested, the two ratios (min / median / max) and how many kept the core.
The last column is what the threshold left for the rows stage: the share of the ink in
curves of trace length (min / median over the pages; below ``MIN_LONG_INK_SHARE`` the
pipeline joins the trace's faint pixels, see ``rows.find_trace_rows``).

    python benchmarks/pen_core_evidence.py            # renders, photos and scans
    python benchmarks/pen_core_evidence.py -n 4 --no-real
"""
from __future__ import annotations

import argparse

import numpy as np

RENDERS = {
    "clean 200 dpi 3x4+II": dict(layout="3x4+II", dpi=200, preset="clean"),
    "clean 200 dpi 12x1": dict(layout="12x1", dpi=200, preset="clean"),
    "clean 100 dpi 3x4+II": dict(layout="3x4+II", dpi=100, preset="clean"),
    "scan 200 dpi 3x4+II": dict(layout="3x4+II", dpi=200, preset="scan"),
    "scan 150 dpi dotted": dict(layout="3x4+II", dpi=150, preset="scan", grid_style="dotted"),
}
REAL_SETS = ("ecg-image-kit-photos", "khan2021")


def _evidence(image) -> tuple[dict | None, float]:
    """What the pen-core step saw on one page (``None`` when the page was refused), and
    the share of the ink in long curves that the rows stage was first given."""
    from ecg_digitize import DigitizeError, digitize
    from ecg_digitize.digitizer import layout

    shares: list[float] = []
    find_rows = layout.find_rows

    def recording(mask, px_per_mm, **kw):
        if not shares:
            shares.append(float(layout.long_components(mask, px_per_mm).sum() / max(mask.sum(), 1)))
        return find_rows(mask, px_per_mm, **kw)

    layout.find_rows = recording
    try:
        return digitize(image).geometry.get("pen_core", {}), (shares or [np.nan])[0]
    except DigitizeError:
        return None, (shares or [np.nan])[0]
    finally:
        layout.find_rows = find_rows


def _summary(name: str, seen: list[tuple[dict | None, float]]) -> None:
    pages = [e for e, _ in seen]
    shares = np.array([share for _, share in seen])
    tested = [e for e in pages if e and "pieces_ratio" in e]
    refused = sum(e is None for e in pages)
    untested = len(pages) - refused - len(tested)   # no darker level than the first threshold
    line = f"{name:<22} {len(pages):4d} {refused:4d} {untested:5d} {len(tested):5d}"
    if tested:
        pieces = np.array([e["pieces_ratio"] for e in tested])
        cross = np.array([e["crossings_ratio"] for e in tested])
        line += (f"  {pieces.min():5.2f} {np.median(pieces):5.2f} {pieces.max():5.2f}"
                 f"  {cross.min():5.3f} {np.median(cross):5.3f} {cross.max():5.3f}"
                 f"  {sum(e['kept'] for e in tested):4d}")
    else:
        line += " " * 44
    if np.isfinite(shares).any():
        line += f"  {np.nanmin(shares):5.2f} {np.nanmedian(shares):5.2f}"
    print(line)


def main(argv=None) -> None:
    from ecg_digitize.datasets import data_dir, unique_images
    from ecg_digitize.digitizer.threshold import MAX_CORE_CROSSINGS, MAX_CORE_SPLIT, MIN_CORE_COVER
    from ecg_digitize.synth import load_ptbxl, ptbxl_records, render

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=8, help="fold-9 records per render condition")
    ap.add_argument("--no-real", action="store_true", help="renders only")
    a = ap.parse_args(argv)
    print(f"gates: pieces <= {MAX_CORE_SPLIT} x (+10), crossings {MIN_CORE_COVER}-{MAX_CORE_CROSSINGS}")
    print(f"{'pages':<22} {'n':>4} {'refd':>4} {'no st':>5} {'split':>5}  {'pieces min/med/max':>17}"
          f"  {'crossings min/med/max':>21}  {'kept':>4}  {'long ink min/med':>16}")
    for name, style in RENDERS.items():
        pages = []
        for ecg_id in ptbxl_records(folds=[9])[:a.n]:
            sig, fs, leads = load_ptbxl(ecg_id)
            pages.append(_evidence(render(sig, fs, leads, seed=ecg_id, **style)[0]))
        _summary(name, pages)
    if a.no_real:
        return
    for set_name in REAL_SETS:
        if not (data_dir() / set_name).exists():
            print(f"{set_name:<24} not found under {data_dir()}, skipped")
            continue
        files = unique_images(data_dir() / set_name)  # khan2021 de-duplicated, as the example
        _summary(set_name, [_evidence(f) for f in files])


if __name__ == "__main__":
    main()
