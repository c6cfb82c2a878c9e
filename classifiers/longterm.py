"""Long-term ECG image segmentation of PVC (V) and fusion (F) beats.

The implementation lives in :mod:`ecg_digitize.neural.longterm` (the image branch); this
module gives it its place in the classifiers' public API and holds the summary that
``ecg-classify --long-term`` prints.

Examples
--------
>>> import classifiers
>>> segs = classifiers.segment_long_term(signal, 360)  # doctest: +SKIP
>>> [s for s in segs if s[2] == "V"][:1]  # doctest: +SKIP
[(2044, 2224, 'V')]
"""
from __future__ import annotations

from pathlib import Path

from ecg_digitize.neural.longterm import plot_long_term, plot_overview, segment_long_term

__all__ = ["segment_long_term", "plot_long_term", "plot_overview", "long_term_summary"]


def long_term_summary(signal, fs: float | None = None, *, plot: str | Path | None = None,
                      name: str | None = None) -> dict:
    """V / F counts of a whole recording, both routes, with an optional overview picture.

    Parameters
    ----------
    signal : array-like or ecg_digitize.Record
        One lead (mV), or a Record (lead II when plotted for 2 s or more, else the lead
        with the most plotted samples; its longest plotted stretch).
    fs : float, optional
        Sampling rate (taken from a Record when omitted).
    plot : str or Path, optional
        Write :func:`plot_overview` of the recording here (PNG, PDF, SVG ...).
    name : str, optional
        The recording's name in the picture's title (default: the picture's file stem).

    Returns
    -------
    dict
        ``longterm_V`` / ``longterm_F`` (the combined ranges, the default of
        :func:`segment_long_term`), ``longterm_image_V`` / ``longterm_image_F`` and
        ``longterm_beat_V`` / ``longterm_beat_F`` (each route alone),
        ``longterm_disagree`` (beats where the routes' labels differ), ``longterm_lead``
        and ``warnings`` (a list).

    Examples
    --------
    >>> from classifiers.longterm import long_term_summary
    >>> row = long_term_summary(record, plot="overview.png")  # doctest: +SKIP
    >>> row["longterm_V"], row["longterm_disagree"]  # doctest: +SKIP
    (444, 12)
    """
    from ._input import select_lead

    x, fs, _, lead, warnings = select_lead(signal, fs)
    segs, beats = segment_long_term(x, fs, return_beats=True)
    row = {"longterm_lead": lead}
    for lab in ("V", "F"):
        row[f"longterm_{lab}"] = sum(1 for *_, s in segs if s == lab)
    for lab in ("V", "F"):
        row[f"longterm_image_{lab}"] = sum(1 for *_, s in beats.attrs["image_segments"] if s == lab)
        row[f"longterm_beat_{lab}"] = int((beats.beat_label == lab).sum())
    row["longterm_disagree"] = int((~beats.agree.astype(bool)).sum())
    row["warnings"] = warnings + list(beats.attrs.get("warnings", []))
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        ax = plot_overview(x, fs, segs, title=f"{name or Path(str(plot)).stem}: lead {lead}, "
                           f"{row['longterm_V']} V (red), {row['longterm_F']} F (blue)")
        Path(plot).parent.mkdir(parents=True, exist_ok=True)
        ax.figure.savefig(plot, dpi=110, bbox_inches="tight")
        import matplotlib.pyplot as plt

        plt.close(ax.figure)
    return row
