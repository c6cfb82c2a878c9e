"""The evidence the layout stage weighs, per page: row count, simultaneity, beats alike.

``beats_alike`` (:func:`ecg_digitize.digitizer.layout.beats_alike_across_columns`) is how
alike a page's beats are across the column positions of its rows: near 1 for one lead's
strip, low for a 12-lead page. ``layout.MIN_ONE_LEAD_ALIKE`` separates the two; this
prints the scores it was chosen from, for renders of fold-9 PTB-XL 3x4+II pages (scan
preset), the wrapped CinC 2017 strips of ``digitize_accuracy.py`` (a 10 s PTB-XL strip
is one row, where the score is not used) and the real ``ecg-image-kit-photos``, refused
pages included.

    python benchmarks/layout_evidence.py -n 12
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def _evidence(source, **kw) -> dict:
    """Digitize ``source`` and return what ``layout.classify`` was given (and the layout)."""
    from ecg_digitize import DigitizeError, digitize
    from ecg_digitize.digitizer import layout

    seen: dict = {}
    classify = layout.classify

    def recording(n_rows, breaks, simultaneous):
        seen.update(rows=n_rows, simultaneity=simultaneous, beats_alike=breaks.get("beats_alike", np.nan))
        return classify(n_rows, breaks, simultaneous)

    layout.classify = recording
    try:
        seen["layout"] = digitize(source, **kw).layout
    except DigitizeError as exc:
        seen["layout"] = f"refused ({type(exc).__name__})"
    finally:
        layout.classify = classify
    return seen


def main(argv=None) -> None:
    from ecg_digitize.datasets import data_dir
    from ecg_digitize.digitizer.layout import MIN_ONE_LEAD_ALIKE
    from ecg_digitize.synth import load_ptbxl, ptbxl_records, render

    sys.path.insert(0, str(Path(__file__).parent))
    from digitize_accuracy import _cinc_sources

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=12, help="PTB-XL records (fold 9)")
    ap.add_argument("--cinc", type=int, default=30, help="CinC 2017 strips")
    a = ap.parse_args(argv)
    groups: dict[str, list] = {"fold-9 3x4+II pages (scan)": [], "CinC strips": []}
    for ecg_id in ptbxl_records(folds=[9])[:a.n]:
        sig, fs, leads = load_ptbxl(ecg_id)
        image, _ = render(sig, fs, leads, layout="3x4+II", dpi=200, preset="scan", seed=ecg_id)
        groups["fold-9 3x4+II pages (scan)"].append(_evidence(image))
    for _, (sig, fs, leads), seed in _cinc_sources(a.cinc):
        image, _ = render(sig, fs, leads, layout="strip", preset="clean", dpi=150, seed=int(seed), header=False)
        groups["CinC strips"].append(_evidence(image, fs=fs))
    photos = sorted(p for p in (data_dir() / "ecg-image-kit-photos").glob("*")
                    if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp"))
    print(f"beats_alike (NaN: too few beats); a strip needs >= {MIN_ONE_LEAD_ALIKE}")
    for name, rows in groups.items():
        v = np.array([r["beats_alike"] for r in rows], float)
        v = v[np.isfinite(v)]
        spread = f"min {v.min():6.2f}  mean {v.mean():6.2f}  max {v.max():6.2f}" if len(v) else ""
        print(f"{name:28} n={len(rows):3}  known {len(v):3}  {spread}")
    print("\necg-image-kit photos: layout, rows, beats_alike, simultaneity")
    for p in photos:
        e = _evidence(p)
        print(f"  {p.name:16} {e['layout']:24} {e.get('rows', '-'):>3} "
              f"{e.get('beats_alike', np.nan):6.2f} {e.get('simultaneity', np.nan):6.2f}")


if __name__ == "__main__":
    main()
