"""Figures of docs/image_branch.md and the image-branch model cards (needs MIT-BIH in ECG_DATA_DIR).

    python docs/make_image_branch_figures.py
"""
from __future__ import annotations

from pathlib import Path

IMG = Path(__file__).resolve().parent / "img"


def longterm_ds2(path: Path = IMG / "longterm_ds2.png") -> Path:
    """Two 64 s DS2 images with predicted and annotated V/F ranges (records 233 and 117)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ecg_digitize.neural import longterm as lt
    from ecg_digitize.neural.train_longterm import CODE, load_record

    label = {v: k for k, v in CODE.items()}
    fig, axes = plt.subplots(1, 2, figsize=(12, 6.4))
    for ax, record in zip(axes, (233, 117)):
        r = load_record(record)
        segments = lt.segment_image(r["raw"], r["fs"])
        extents = lt.beat_windows(r["r_peak"], r["raw"].size, r["fs"])
        truth = [(int(a), int(b), label[int(c)]) for (a, b), c in zip(extents, r["code"]) if c]
        lt.plot_long_term(r["raw"], r["fs"], segments, start=600.0, truth=truth, ax=ax,
                          title=f"MIT-BIH {record} (DS2), 600-664 s")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    return path


if __name__ == "__main__":
    print(longterm_ds2())
