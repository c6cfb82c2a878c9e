"""Stage 5: the rows of trace on the page, their baselines and extents.

Rows come from the vertical profile of the *long* ink components (traces; letters and
digits are short and drop out): a trace spends most of its time at its isoelectric
level, so each row gives a sharp peak at its baseline. Header and footer text rows are
dropped, and so is an outermost narrow "row" that is only its neighbour's big waves.

A thin trace that broke into pieces at the threshold (little of its ink in long curves)
has its fainter pixels joined first. Where a darkness view's threshold lost a thin
trace (no rows, the long curves hold little of the ink, or the rows found are narrow),
:func:`find_trace_rows` tries fainter thresholds, then joins the trace's faint pixels
(:mod:`.threshold`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks

from ..errors import NotAnEcgError
from . import threshold

# below this share of the ink in curves of trace length, the trace broke into pieces at the
# threshold (``python benchmarks/pen_core_evidence.py``: fold-9 renders of five conditions
# 0.83 and more, khan2021 scans 0.68 and more, ecg-image-kit photos from 0.00)
MIN_LONG_INK_SHARE = 0.15
# below this share of the ink in curves of trace length, a thin line broke into pieces at
# the threshold wherever it slopes (its half-dark pixels fell below it) and its fainter
# pixels are joined first (``threshold.reconnect_faint``): fold-9 renders 0.83 and more,
# khan2021 scans 0.68 and more, ECG-Image-Kit's 100 dpi pages 0.34-0.49 (0.90-0.94 joined)
MIN_WHOLE_INK_SHARE = 0.6
# rows narrower than this share of the page's width (median) may be a box or text above a
# fainter trace (rows' median width: khan2021 scans 0.89, real photos mostly 0.7-0.98; a
# throwaway count); the fainter threshold's rows are then tried
MIN_ROW_WIDTH_SHARE = 0.5
# fainter thresholds tried for them, one Otsu split further down each (the first may stop
# at black text's anti-aliased edges)
MAX_FAINTER_STEPS = 3


@dataclass
class Row:
    """One row of trace: its baseline (page y), band limits and horizontal extent."""

    baseline: float
    y_lo: int
    y_hi: int
    x_lo: int
    x_hi: int


def long_components(mask: np.ndarray, px_per_mm: float, *, min_mm: float = 12.0) -> np.ndarray:
    """The pixels of connected ink components at least ``min_mm`` wide (traces, not text).

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.rows import long_components
    >>> m = np.zeros((50, 300), bool); m[10, 5:290] = True; m[30:35, 20:25] = True
    >>> int(long_components(m, px_per_mm=4.0).sum())
    285
    """
    labels, keep, _ = _long_labels(mask, px_per_mm, min_mm)
    return keep[labels] & mask


def _long_labels(mask: np.ndarray, px_per_mm: float, min_mm: float = 12.0):
    """Connected ink components (bridged across removed grid lines): their labels,
    which are at least ``min_mm`` wide, and which of those are flat, filled blobs.

    Bold words merge into such blobs: under 5 mm tall (a boxed line of text included),
    with ink over more than a third of their bounding box. Ink of a trace that wide is
    either tall (it holds waves) or a thin line across a flat box.
    """
    m = mask.view(np.uint8) if mask.dtype == bool else mask.astype(np.uint8)
    # Bridge the 1-2 px gaps where grid lines were removed from the trace.
    closed = cv2.morphologyEx(m, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    w, h = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    keep = w >= min_mm * px_per_mm
    keep[0] = False
    blob = keep & (h < 5 * px_per_mm) & (stats[:, cv2.CC_STAT_AREA] > w * h / 3)
    return labels, keep, blob


def find_rows(mask: np.ndarray, px_per_mm: float, *, min_pitch_mm: float = 9.0,
              min_long_share: float = 0.0, labelled=None, drop_stray: bool = True) -> list[Row]:
    """Rows of trace, top to bottom. ``labelled``: ``_long_labels(mask, px_per_mm)``
    where the caller has it already (one connected-components pass less). ``drop_stray``:
    drop the rows apart from the evenly spaced ones (:func:`_without_stray_rows`).

    Raises
    ------
    NotAnEcgError
        When no long trace is found, or when the long components hold less than
        ``min_long_share`` of the ink (a trace broken into pieces).
    """
    labels, keep, blob = _long_labels(mask, px_per_mm) if labelled is None else labelled
    traces = keep[labels] & mask
    words = blob[labels] & mask
    n_long = int(traces.sum())
    if n_long == 0:
        raise NotAnEcgError("no ECG trace found (no long dark curves on the page)")
    if n_long < min_long_share * mask.sum():
        raise NotAnEcgError(f"the ink is in short pieces: only {n_long / mask.sum():.0%} of it "
                            "lies in curves as long as 12 mm")
    profile = gaussian_filter1d(traces.sum(axis=1).astype(np.float64), max(1.0, 0.4 * px_per_mm))
    peaks, props = find_peaks(profile, distance=max(2, int(min_pitch_mm * px_per_mm)),
                              prominence=0.15 * profile.max())
    if len(peaks) == 0:
        raise NotAnEcgError("no ECG trace rows found")
    # Every row spends most of its width near its baseline, so true rows give peaks of
    # similar size; a much weaker one is a crowd of big waves between two rows.
    prom = props["prominences"]
    peaks = _with_skipped_rows(peaks, prom >= 0.3 * np.median(prom))
    rows, wordy, pieces = [], [], []
    h = mask.shape[0]
    for k, p in enumerate(peaks):
        lo = max(0, int(p - 0.5 * px_per_mm))
        hi = min(h, int(p + 0.5 * px_per_mm) + 1)
        w = profile[lo:hi]
        base = float(np.sum(w * np.arange(lo, hi)) / max(w.sum(), 1e-9))
        up = peaks[k - 1] if k > 0 else max(0.0, p - 1.5 * (peaks[1] - p if len(peaks) > 1 else 25 * px_per_mm))
        down = peaks[k + 1] if k + 1 < len(peaks) else min(h - 1.0, p + 1.2 * (p - peaks[k - 1] if k > 0 else 25 * px_per_mm))
        # Horizontal extent: columns with long-trace ink near the baseline (within 3 mm,
        # or a third of the way to the neighbouring rows when they are further).
        reach = max(3 * px_per_mm, 0.33 * min(p - up, down - p))
        zone = slice(max(0, int(base - reach)), int(base + reach) + 1)
        near = traces[zone]
        xs = np.nonzero(near.any(axis=0))[0]
        if len(xs) < 5 * px_per_mm:
            continue
        rows.append(Row(base, int(up), int(down), int(xs[0]), int(xs[-1])))
        wordy.append(bool(np.all(words[zone][near])))
        pieces.append(labels[zone][near])
    rows = _without_wave_rows(rows, pieces)
    rows = rows[_header_rows(wordy):len(rows) - _header_rows(wordy[::-1])]
    if not rows:
        raise NotAnEcgError("no ECG trace rows found")
    return _without_stray_rows(rows, h) if drop_stray else rows


# Rows of a page are evenly spaced: gaps within this share of their pitch continue a run
# of rows (our renderer, ECG-Image-Kit and the phone photos' printouts space them evenly).
ROW_PITCH_TOL = 0.2
# A row beside such a run joins it where its gap is within ROW_PITCH_TOL (a little more
# outward, MAX_EVEN_GAP_PITCHES), or where it is wide (at least MIN_JOIN_WIDTH of the run's
# median row) and its gap is within MIN_GAP_PITCHES..MAX_ROW_GAP_PITCHES (a rhythm strip
# set a little apart). Anything else beyond the run is a stray row: the sheet's edge on a
# photo, a hand-written line, a grid line the grid removal missed, header text.
MAX_EVEN_GAP_PITCHES = 1.25
MIN_JOIN_WIDTH = 0.75
MIN_GAP_PITCHES, MAX_ROW_GAP_PITCHES = 0.5, 1.8


def _without_stray_rows(rows: list[Row], height: int) -> list[Row]:
    """``rows`` less the rows that stand apart from the page's evenly spaced rows.

    The longest run of rows whose gaps agree to :data:`ROW_PITCH_TOL` (at least three
    rows; the widest of equally long runs) is grown outward one row at a time while the
    next row joins it (see :data:`MAX_EVEN_GAP_PITCHES`), or, past strays less than a
    pitch from the run's end, while a full row a pitch away does; the rest are dropped.
    Bands that reached to a dropped row are redrawn (:func:`_rebanded`).

    Examples
    --------
    >>> from ecg_digitize.digitizer.rows import Row, _without_stray_rows
    >>> rows = [Row(20, 0, 700, 0, 1400), Row(655, 20, 731, 55, 2164)]
    >>> rows += [Row(y, y - 280, y + 280, 40, 2100) for y in (731, 1012, 1293, 1544)]
    >>> [r.baseline for r in _without_stray_rows(rows, 1750)]
    [731, 1012, 1293, 1544]
    """
    if len(rows) < 4:
        return rows
    run = _even_run(rows)
    if run is None:
        return rows
    first, last = run
    pitch = float(np.median(np.diff([r.baseline for r in rows[first:last + 1]])))
    width = float(np.median([r.x_hi - r.x_lo for r in rows[first:last + 1]]))

    def joins(row: Row, neighbour: Row) -> bool:
        gap = abs(row.baseline - neighbour.baseline) / pitch
        wide = row.x_hi - row.x_lo >= MIN_JOIN_WIDTH * width
        return (1 - ROW_PITCH_TOL <= gap <= MAX_EVEN_GAP_PITCHES
                or (wide and MIN_GAP_PITCHES <= gap <= MAX_ROW_GAP_PITCHES))

    def outward(k: int, step: int) -> int | None:
        # the next row out that joins rows[k]; past strays less than a pitch from it (a
        # crease's shadow between two rows of a photo), only a full row a pitch away
        j = k + step
        while 0 <= j < len(rows):
            gap = abs(rows[j].baseline - rows[k].baseline) / pitch
            if j == k + step and joins(rows[j], rows[k]):
                return j
            if j != k + step and abs(gap - 1) <= ROW_PITCH_TOL \
                    and rows[j].x_hi - rows[j].x_lo >= MIN_JOIN_WIDTH * width:
                return j
            if gap >= 1 - ROW_PITCH_TOL:
                return None
            j += step
        return None

    kept_at = list(range(first, last + 1))
    for end, step in ((first, -1), (last, +1)):
        while (j := outward(end, step)) is not None:
            kept_at.append(j)
            end = j
    kept_at.sort()
    if len(kept_at) == len(rows):
        return rows
    return _rebanded(rows, kept_at, pitch, height)


def _rebanded(rows: list[Row], kept_at: list[int], pitch: float, height: int) -> list[Row]:
    """``rows[kept_at]``, each band that reached to a row left out reaching to the next
    row kept instead, or, outermost, as if no row lay beyond (1.5 pitches up, 1.2 down)."""
    kept = []
    for i, k in enumerate(kept_at):
        row = rows[k]
        y_lo, y_hi = row.y_lo, row.y_hi
        if k > 0 and (i == 0 or kept_at[i - 1] != k - 1):
            y_lo = int(rows[kept_at[i - 1]].baseline) if i > 0 else int(max(0.0, row.baseline - 1.5 * pitch))
        if k < len(rows) - 1 and (i == len(kept_at) - 1 or kept_at[i + 1] != k + 1):
            y_hi = (int(rows[kept_at[i + 1]].baseline) if i + 1 < len(kept_at)
                    else int(min(height - 1.0, row.baseline + 1.2 * pitch)))
        kept.append(Row(row.baseline, y_lo, y_hi, row.x_lo, row.x_hi))
    return kept


def _even_run(rows: list[Row]) -> tuple[int, int] | None:
    """First and last index of the longest run of at least three rows whose gaps agree
    with each other to :data:`ROW_PITCH_TOL` (the widest rows among equally long runs)."""
    gaps = np.diff([r.baseline for r in rows])
    best, best_key = None, None
    for pitch in gaps:
        even = np.abs(gaps / pitch - 1) <= ROW_PITCH_TOL
        k = 0
        while k < len(gaps):
            if not even[k]:
                k += 1
                continue
            j = k
            while j + 1 < len(gaps) and even[j + 1]:
                j += 1
            key = (j - k + 2, sum(r.x_hi - r.x_lo for r in rows[k:j + 2]))
            if best_key is None or key > best_key:
                best, best_key = (k, j + 1), key
            k = j + 1
    return best if best_key is not None and best_key[0] >= 3 else None


def _with_skipped_rows(peaks: np.ndarray, strong: np.ndarray) -> np.ndarray:
    """The ``strong`` profile peaks, and the weak ones that fill a gap in their pitch.

    Rows of a page are evenly spaced. A gap of about twice the rows' pitch has lost a
    row (its ink crowded out by its neighbours' big waves): the weak peak nearest the gap's
    middle, within a fifth of the pitch, is that row. Other weak peaks are crowds of big
    waves between two rows.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.rows import _with_skipped_rows
    >>> peaks = np.array([100, 200, 300, 350, 402, 500, 600])
    >>> _with_skipped_rows(peaks, np.array([1, 1, 1, 0, 0, 1, 1], bool)).tolist()
    [100, 200, 300, 402, 500, 600]
    """
    kept = peaks[strong]
    weak = peaks[~strong]
    if len(kept) < 3 or len(weak) == 0:
        return kept
    pitch = float(np.median(np.diff(kept)))
    found = []
    for a, b in zip(kept[:-1], kept[1:]):
        if 1.7 * pitch < b - a < 2.3 * pitch:
            inside = weak[np.abs(weak - (a + b) / 2) < 0.2 * pitch]
            if len(inside):
                found.append(inside[np.argmin(np.abs(inside - (a + b) / 2))])
    return np.sort(np.r_[kept, found]).astype(peaks.dtype)


# an outermost row narrower than this share of the median row, with at least
# MIN_WAVE_SHARE of its ink near its baseline in its neighbour's curves, is that
# neighbour's big waves
MAX_WAVE_ROW_WIDTH = 0.5
MIN_WAVE_SHARE = 0.5


def _without_wave_rows(rows: list[Row], pieces: list[np.ndarray]) -> list[Row]:
    """``rows`` less a first or last row that is only its neighbour's big waves.

    A rhythm strip near the page's bottom edge with deep S waves gives a profile peak
    below its baseline as strong as a row's (no row below it to compare its pitch with).
    Such a "row" is narrow (under :data:`MAX_WAVE_ROW_WIDTH` of the median row's width)
    and most of its ink near its baseline (``pieces``: the long curves' label of each
    such pixel) is in its neighbour's curves. A short last row of its own (a wrapped
    strip's end) is kept.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.rows import Row, _without_wave_rows
    >>> rows = [Row(100, 0, 200, 10, 990), Row(200, 100, 300, 10, 990), Row(245, 200, 299, 400, 600)]
    >>> near = [np.array([1, 1]), np.array([2, 2, 3]), np.array([2, 2, 4])]
    >>> len(_without_wave_rows(rows, near)), len(_without_wave_rows(rows, near[:2] + [np.array([4, 4, 2])]))
    (2, 3)
    """
    if len(rows) < 3:
        return rows
    width = float(np.median([r.x_hi - r.x_lo for r in rows]))

    def waves(k: int, neighbour: int) -> bool:
        return (rows[k].x_hi - rows[k].x_lo < MAX_WAVE_ROW_WIDTH * width and pieces[k].size > 0
                and float(np.isin(pieces[k], pieces[neighbour]).mean()) >= MIN_WAVE_SHARE)

    first = 1 if waves(0, 1) else 0
    last = len(rows) - 1 if waves(len(rows) - 1, len(rows) - 2) else len(rows)
    return rows[first:last]


def _header_rows(wordy: list[bool]) -> int:
    """How many of the first rows are text, not trace (given top to bottom: the header;
    bottom to top: the footer).

    Bold words of a page's header (measurements, interpretation) or footer (speed, gain,
    filters, often boxed) can merge into ink as wide as 12 mm of trace and, densely
    inked, give a profile peak like a row's; on a low-resolution page more readily. A
    row of trace holds more than flat, filled blobs: rows above (or below) all the
    others whose ink is all such blobs (``wordy``, see :func:`_long_labels`) are text.
    """
    if len(wordy) < 3 or all(wordy):
        return 0
    return int(np.argmin(wordy))




@dataclass
class RowSearch:
    """The rows found, the ink they were found in, and any rescue.

    ``rescued_from`` is ``(why, how)`` where the first search failed and a rescue found
    the rows: the trouble and the rescue, which stand as the reason if the rescued
    reading turns out weak (:func:`~.quality.refuse_weak_reading`).
    """

    rows: list[Row]
    ink: threshold.Ink
    rescued_from: tuple[str, str] | None = None
    warnings: list[str] = field(default_factory=list)


def find_trace_rows(ink: threshold.Ink, dark: np.ndarray, px_per_mm: float) -> RowSearch:
    """The rows of trace of a darkness view, rescued where the threshold lost the trace.

    Where no rows are found, the long curves hold little of the ink, or the rows found
    are narrow (their median under :data:`MIN_ROW_WIDTH_SHARE` of the page's width), the
    threshold may have lost a thin trace. Two rescues are tried, in this order:

    - The trace is fainter than the threshold, which fell between it and black text
      (:func:`~.threshold.faint_threshold`, a step at a time): the first fainter threshold
      whose rows are wide enough is taken.
    - Where no rows were found: a thin line drawn in few grey levels may have broken
      into dots at the threshold. Its fainter pixels are joined
      (:func:`~.threshold.reconnect_faint`) and the rows looked for again.
    """
    ink, notes, labelled = _joined_if_broken(ink, dark, px_per_mm)
    try:
        rows = find_rows(ink.mask, px_per_mm, min_long_share=MIN_LONG_INK_SHARE, labelled=labelled)
    except NotAnEcgError as exc:
        rows, why = None, exc.reason
    else:
        width = _median_row_width(rows, ink.mask.shape[1])
        if width >= MIN_ROW_WIDTH_SHARE:
            return _with_faint_skipped_rows(RowSearch(rows, ink, warnings=notes), dark, px_per_mm)
        why = f"the rows found at the threshold ({ink.threshold:.2f}) span {width:.0%} of the page's width"
    faint = _rows_at_fainter_threshold(dark, ink, px_per_mm)
    if faint is not None:
        how = f"read at a fainter threshold ({faint.ink.threshold:.2f})"
        return RowSearch(faint.rows, faint.ink, (why, how), [f"{why}: {how}"])
    if rows is not None:
        return RowSearch(rows, ink, warnings=notes)
    joined = threshold.Ink(ink.threshold, threshold.reconnect_faint(dark, ink.mask, ink.threshold), ink.pen_core)
    return RowSearch(find_rows(joined.mask, px_per_mm), joined, (why, "with its fainter pixels joined"),
                     ["the trace broke into dots at the threshold: its fainter pixels were joined"])


def _joined_if_broken(ink: threshold.Ink, dark: np.ndarray, px_per_mm: float):
    """The ink with the trace's fainter pixels joined (:func:`~.threshold.reconnect_faint`)
    where the long curves hold under :data:`MIN_WHOLE_INK_SHARE` of it and more once
    joined; else the ink as it is. Also the note saying so, if any, and the returned
    ink's connected components (:func:`_long_labels`) for :func:`find_rows`.

    A thin pen (about a pixel, a 100 dpi page) drawn in few grey levels breaks into
    pieces shorter than a long curve at every steep stroke: its rows were found only
    where a piece happened to be long, and ended in the middle of the page. The pieces
    may instead be a grid as dark as the pen (a 1-bit scan), which joining turns into
    a net of rows; the joined ink is kept only where its rows keep the pitch of the rows
    found before (:func:`_keeps_row_pitch`).
    """
    mask = ink.mask
    labelled = _long_labels(mask, px_per_mm)
    share = _long_share(mask, labelled)
    if share >= MIN_WHOLE_INK_SHARE:
        return ink, [], labelled
    joined = threshold.reconnect_faint(dark, mask, ink.threshold)
    joined_labelled = _long_labels(joined, px_per_mm)
    joined_share = _long_share(joined, joined_labelled)
    if joined_share <= share or not _keeps_row_pitch(ink.mask, joined, px_per_mm):
        return ink, [], labelled
    return (threshold.Ink(ink.threshold, joined, ink.pen_core),
            [f"the trace broke into pieces at the threshold ({share:.0%} of its ink in long curves): "
             f"its fainter pixels were joined ({joined_share:.0%})"], joined_labelled)


def _long_share(mask: np.ndarray, labelled) -> float:
    """Share of the ink in long components (``labelled``: :func:`_long_labels` of ``mask``)."""
    labels, keep, _ = labelled
    return float((keep[labels] & mask).sum()) / max(1, int(mask.sum()))


def _keeps_row_pitch(mask: np.ndarray, joined: np.ndarray, px_per_mm: float) -> bool:
    """Whether the rows of ``joined`` ink keep the pitch of the rows of ``mask`` (their
    evenly spaced run's pitch within :data:`ROW_PITCH_TOL`), keep each of its rows (one
    within that share of the pitch) and add no row between its first and last row beyond
    those the pitch leaves room for (a row skipped); True where ``mask`` holds under two
    rows (no pitch to keep) and False where ``joined`` holds none.

    A 1-bit page's grid joined into a net gives rows at a fraction of the pitch, and a
    photo's grid left bent by a fold, joined to the trace, can swallow a row: neither is
    the trace made whole.
    """
    try:
        after = [r.baseline for r in find_rows(joined, px_per_mm, min_long_share=MIN_LONG_INK_SHARE)]
    except NotAnEcgError:
        return False
    try:
        before = [r.baseline for r in find_rows(mask, px_per_mm)]
    except NotAnEcgError:
        return True
    if len(before) < 2:
        return True
    pitch = float(np.median(np.diff(before)))
    if len(after) >= 2 and abs(float(np.median(np.diff(after))) / pitch - 1) > ROW_PITCH_TOL:
        return False
    room = int(round((before[-1] - before[0]) / pitch)) - 1
    inner = [y for y in after if before[0] + pitch / 2 < y < before[-1] - pitch / 2]
    kept = all(any(abs(y - b) <= ROW_PITCH_TOL * pitch for y in after) for b in before)
    return len(inner) <= room and kept


def _fainter_thresholds(dark: np.ndarray, t: float, px_per_mm: float):
    """Up to :data:`MAX_FAINTER_STEPS` ever fainter thresholds below ``t``
    (:func:`~.threshold.faint_threshold`): each one whose ink holds rows, as
    ``(threshold, mask, rows)``."""
    for _ in range(MAX_FAINTER_STEPS):
        t = threshold.faint_threshold(dark, t)
        if t is None:
            return
        faint = threshold.mask_at(dark, t)
        try:
            yield t, faint, find_rows(faint, px_per_mm, min_long_share=MIN_LONG_INK_SHARE)
        except NotAnEcgError:
            continue


def _rows_at_fainter_threshold(dark: np.ndarray, ink: threshold.Ink, px_per_mm: float) -> RowSearch | None:
    """The rows at the first of the fainter thresholds (:func:`_fainter_thresholds`)
    whose rows are wide enough; None if none is (a step may stop at the anti-aliased
    edges of black text)."""
    for t_faint, faint, rows in _fainter_thresholds(dark, ink.threshold, px_per_mm):
        if _median_row_width(rows, faint.shape[1]) >= MIN_ROW_WIDTH_SHARE:
            return RowSearch(rows, threshold.Ink(t_faint, faint, ink.pen_core))
    return None


def _with_faint_skipped_rows(search: RowSearch, dark: np.ndarray, px_per_mm: float) -> RowSearch:
    """The rows with any the threshold skipped added (compare :func:`_with_skipped_rows`,
    a row crowded out of the profile): where two rows stand about two pitches (or more)
    apart, and a fainter threshold (:func:`_fainter_thresholds`) finds the same rows and
    one at each pitch between them, the fainter threshold's ink is added within
    half a pitch of each skipped row's baseline (the other rows keep their ink).

    A row in a photo's lighter patch (phone-photos 03769: its third row, under the window)
    fell below the threshold the others set, and the page was read as a 3x4 without its
    rhythm strip.
    """
    base = np.array([r.baseline for r in search.rows])
    if len(base) < 3:
        return search
    pitch = float(np.min(np.diff(base)))   # the median may itself span a skipped row
    skipped = np.round(np.diff(base) / pitch).astype(int) - 1
    if not (skipped > 0).any() or (np.abs(np.diff(base) / pitch - (skipped + 1)) > ROW_PITCH_TOL).any():
        return search
    wanted = sorted(base.tolist() + [b + k * pitch for b, n in zip(base, skipped) for k in range(1, n + 1)])
    for t_faint, faint, faint_rows in _fainter_thresholds(dark, search.ink.threshold, px_per_mm):
        found = [r.baseline for r in faint_rows]
        if len(found) != len(wanted) or np.abs(np.subtract(found, wanted)).max() > ROW_PITCH_TOL * pitch:
            continue
        mask = search.ink.mask.copy()
        for y in found:
            if np.abs(base - y).min() > pitch / 2:  # a skipped row: its band's fainter ink
                band = slice(max(0, int(y - pitch / 2)), int(y + pitch / 2))
                mask[band] |= faint[band]
        try:
            rows = find_rows(mask, px_per_mm, min_long_share=MIN_LONG_INK_SHARE)
        except NotAnEcgError:
            return search
        if len(rows) != len(wanted):
            return search
        note = (f"{len(wanted) - len(base)} row(s) between the rows found at the threshold "
                f"({search.ink.threshold:.2f}) read at a fainter one ({t_faint:.2f})")
        return RowSearch(rows, threshold.Ink(search.ink.threshold, mask, search.ink.pen_core),
                         search.rescued_from, search.warnings + [note])
    return search


def _median_row_width(rows, page_width: int) -> float:
    """The median row's width, as a share of the page's."""
    return float(np.median([r.x_hi - r.x_lo for r in rows])) / page_width
