"""Rhythm of real scanned single-lead strips: digitize each picture, then ``classify_rhythm``.

For every image in ``tereshchenko-strips`` under ``ECG_DATA_DIR`` (real scans, no true
signals), the strip is digitized as a single-lead strip page, the longest plotted lead is
classified with the CinC 2017 rhythm model (``cinc2017-af``; ``--model`` for another, e.g.
``cinc2017-af-digitized``), and a figure with the digitized signal and the class
probabilities is written to ``<out>/<name>.png``. One line per image is printed; a picture
the digitizer refuses is reported with its reason and the run goes on.

Usage::

    python examples/rhythm_from_real_strips.py --out out/strips_rhythm
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


def longest_lead(record) -> tuple[np.ndarray, str]:
    """The lead with the most plotted samples (a strip page has one)."""
    j = int(np.argmax(np.isfinite(record.signal).sum(axis=0)))
    return record.signal[:, j], record.leads[j]


def figure(path: Path, x: np.ndarray, fs: float, result, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 2.8), gridspec_kw={"width_ratios": [4, 1]})
    ax.plot(np.arange(x.size) / fs, x, lw=0.7, color="k")
    ax.set_xlabel("s")
    ax.set_ylabel("mV")
    ax.set_title(title, fontsize=9)
    names = list(result.probabilities)
    bx.barh(names, [result.probabilities[n] for n in names], color="tab:blue")
    bx.set_xlim(0, 1)
    bx.set_title(f"rhythm: {result.label}", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv=None) -> int:
    import classifiers
    from ecg_digitize import DigitizeError, digitize
    from ecg_digitize.datasets import data_dir

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="out/strips_rhythm")
    p.add_argument("--model", default="cinc2017-af")
    p.add_argument("--set", default="tereshchenko-strips", help="folder under ECG_DATA_DIR")
    args = p.parse_args(argv)
    folder = data_dir() / args.set
    if not folder.exists():
        print(f"{folder} not found: set ECG_DATA_DIR")
        return 1
    for path in sorted(q for q in folder.rglob("*") if q.suffix.lower() in SUFFIXES):
        try:
            rec = digitize(path, fs=300, layout="strip")
        except DigitizeError as exc:
            print(f"  refused  {path.name}: {exc.reason}")
            continue
        x, lead = longest_lead(rec)
        res = classifiers.classify_rhythm(x[np.isfinite(x)], fs=rec.fs, model=args.model)
        seconds = np.isfinite(x).sum() / rec.fs
        probs = " ".join(f"{k} {v:.2f}" for k, v in res.probabilities.items())
        out = Path(args.out) / f"{path.stem}.png"
        figure(out, x, rec.fs, res, f"{path.name}: {seconds:.1f} s digitized, "
                                    f"{rec.calibration.mm_per_s:g} mm/s, {rec.calibration.mm_per_mv:g} mm/mV")
        warn = f" warnings: {'; '.join(res.warnings)}" if getattr(res, "warnings", None) else ""
        print(f"  {res.label:>2}  {path.name}: {seconds:5.1f} s, {probs} -> {out}{warn}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
