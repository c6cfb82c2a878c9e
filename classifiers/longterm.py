"""Long-term ECG segmentation of PVC (V) and fusion (F) beats: two routes, combined.

The image route (:func:`ecg_digitize.neural.longterm.segment_image`, the image branch)
marks V / F samples on the ECG stacked into square images; the beat route
(:func:`classifiers.classify_beats`) classifies each beat beside the patient's own usual
beat. :func:`segment_long_term` combines them per beat; :func:`long_term_summary` is what
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

import numpy as np

from ecg_digitize.neural import longterm as lt
from ecg_digitize.neural.longterm import plot_long_term, plot_overview

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


def segment_long_term(signal, fs: float, *, model=None, min_duration: float = 0.04,
                      check_beats: bool = True, r_peaks=None, beat_model: str = "mitbih-aami5",
                      return_probabilities: bool = False, return_beats: bool = False):
    """Find PVC (``"V"``) and fusion (``"F"``) beats in a long single-lead ECG.

    Two routes read the signal. The *image route* stacks it into 64 x 64 images (one
    row = 1 s) and a segmentation network marks V / F samples. The *beat route*
    (:func:`~classifiers.classify_beats`, ``check_beats=True``, the default) finds the R
    peaks and classifies each beat beside the patient's own usual beat. The default
    output is their combination per beat (:func:`~ecg_digitize.neural.longterm.combine_routes`: ectopic where both
    routes together say so, V or F as the beat route says): on unseen MIT-BIH
    patients the image route alone finds PVCs but also marks the wide normal beats of
    bundle-branch block as V (DS2 V +P 37 %); see ``pretrained/longterm-vf.md``.

    Parameters
    ----------
    signal : array-like, shape (n,)
        One lead in millivolts (any gain works: each image is normalised). NaN is read as
        0 by the image route; the beat route uses the longest finite stretch.
    fs : float
        Sampling rate in Hz.
    model : keras.Model or str, optional
        The segmenter or a ``.keras`` path; default ``pretrained/longterm-vf.keras``.
    min_duration : float
        Shorter image-route runs (seconds) are dropped as speckle.
    check_beats : bool
        Combine with the beat route (default). ``False`` gives the image route alone
        (ranges as the network marked them; one beat may give more than one range).
    r_peaks : array-like of int, optional
        R-peak samples for the beat route; detected with neurokit2 when omitted.
    beat_model : str
        The beat route's model (a :func:`classifiers.load_model` name or path).
    return_probabilities : bool
        Also return the image route's per-sample probabilities at :data:`FS_IMAGE`
        (``(m, 3)``, at ``ecg_digitize.neural.longterm.FS_IMAGE``).
    return_beats : bool
        Also return the per-beat table of both routes (``check_beats=True`` only):
        ``r_peak``, ``time``, ``start``, ``end``, ``image_label``, ``beat_label``,
        ``label`` (the combination; ``"other"``, ``"V"`` or ``"F"``), ``agree`` (image
        and beat labels equal), and the V / F probabilities of each route
        (``image_V``, ``beat_V``, ``V``, ...). ``df.attrs`` holds ``image_segments`` (the
        image route's own ranges), ``image_only`` (those ranges no detected beat
        overlaps) and ``warnings``.

    Returns
    -------
    list of (int, int, str)
        ``(start, end, label)`` in samples of ``signal`` (end exclusive), label ``"V"`` or
        ``"F"``, in time order; with ``check_beats`` one range per beat, its extent 0.2 s
        before to 0.3 s after the R peak cut at the midpoints to its neighbours.
        Followed by the probabilities and / or the beat table when asked for.

    Notes
    -----
    MIT-BIH DS2 (22 unseen patients, whole records, beat level, R peaks detected;
    ``benchmarks/longterm_ds2.py``): combined (default) V Se 91.2 % / +P 88.1 %, F 26.8 /
    39.8 %; image route alone V 95.8 / 37.0 %, F 10.8 / 8.5 %; about 1.1 CPU s per
    30-minute record for both routes (``pretrained/longterm-vf.md``).
    Where no R peak is found (a signal under 2 s, a flat line), the image route's ranges
    are returned and a warning is put in the beat table's ``attrs``.

    Examples
    --------
    >>> import classifiers
    >>> segs = classifiers.segment_long_term(x, 360)  # doctest: +SKIP
    >>> segs[:2]  # doctest: +SKIP
    [(2044, 2224, 'V'), (4590, 4770, 'V')]
    >>> segs, beats = classifiers.segment_long_term(x, 360, return_beats=True)  # doctest: +SKIP
    >>> beats[~beats.agree]  # doctest: +SKIP
    """
    n = np.asarray(signal).size
    found = None
    if check_beats:
        from .beats import classify_beats

        found = classify_beats(np.asarray(signal, dtype=float), fs, r_peaks, model=beat_model)
        r_peaks = found.r_peak.to_numpy(int)
    image_segs, probs = lt.segment_image(signal, fs, model=model, min_duration=min_duration,
                                         r_peaks=r_peaks, return_probabilities=True)
    beats = None
    if check_beats:
        out, beats = _check_with_beats(found, n, fs, probs, image_segs)
    else:
        out = image_segs
    extra = ([probs] if return_probabilities else []) + ([beats] if return_beats else [])
    return (out, *extra) if extra else out


def _overlaps_any(seg, windows: np.ndarray) -> bool:
    """Whether ``(a, b, ...)`` overlaps one of the sorted, disjoint ``windows``."""
    i = int(np.searchsorted(windows[:, 1], seg[0], side="right"))
    return i < len(windows) and windows[i, 0] < seg[1]


def _check_with_beats(df, n: int, fs: float, probs, image_segs):
    """The combined ranges and the per-beat table of both routes (``df``: classify_beats)."""
    import pandas as pd

    warnings = list(df.attrs.get("warnings", []))
    cols = ["r_peak", "time", "start", "end", "image_label", "beat_label", "label", "agree",
            "image_V", "image_F", "beat_V", "beat_F", "V", "F"]
    if len(df) == 0:
        table = pd.DataFrame(columns=cols)
        table.attrs.update(image_segments=image_segs, image_only=image_segs,
                           warnings=warnings + ["no beats: image route only"])
        return image_segs, table
    r = df.r_peak.to_numpy(int)
    p_img = lt.image_beat_probabilities(probs, r, fs)
    pv, pf = df.prob_V.to_numpy(float), df.prob_F.to_numpy(float)
    p_beat = np.stack([np.clip(1 - pv - pf, 0, 1), pv, pf], axis=1)
    p = lt.combine_routes(p_img, p_beat)
    names = np.array(lt.CLASSES, dtype=object)
    win = lt.beat_windows(r, n, fs)
    beat_label = np.where(df.label.isin(["V", "F"]), df.label, "other")
    table = pd.DataFrame({
        "r_peak": r, "time": df.time.to_numpy(float), "start": win[:, 0], "end": win[:, 1],
        "image_label": names[p_img.argmax(1)], "beat_label": beat_label,
        "label": names[lt.combined_labels(p)]})
    table["agree"] = table.image_label == table.beat_label
    table["image_V"], table["image_F"] = p_img[:, 1], p_img[:, 2]
    table["beat_V"], table["beat_F"] = pv, pf
    table["V"], table["F"] = p[:, 1], p[:, 2]
    # image ranges that no detected beat explains (a missed R peak, or noise)
    image_only = [seg for seg in image_segs if not _overlaps_any(seg, win)]
    table.attrs.update(image_segments=image_segs, image_only=image_only, warnings=warnings)
    keep = table.label != "other"
    out = [(int(a), int(b), str(lab)) for a, b, lab in
           zip(table.start[keep], table.end[keep], table.label[keep]) if b > a]
    return out, table
