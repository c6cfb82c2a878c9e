"""Stage 10 (with :mod:`.panels`): row paths to lead signals: baseline, mV and seconds, resampling.

Each panel (a stretch of one lead on one row) maps sample times to page columns,
``x = x_start + (x_offset + t - t0) * px_per_s``; each sample is the row path's mean
over the :data:`SAMPLE_SPAN_S` around its x (:func:`span_means`), measured from the
panel's isoelectric level (the mode of its path) and divided by ``px_per_mv``. Samples
outside every panel stay NaN. A few columns either side of a lead change are replaced by
the nearest sample of the same panel, so separator ticks and the neighbouring lead do
not leak in.
"""
from __future__ import annotations

import numpy as np

# Each sample is the path's mean over this long around its time (span_means), not its
# value at one point (0). A steep stroke is read as row crossings a fraction of a pixel
# apart whose x wanders by tenths of a pixel: read at one point, a QRS stroke's samples
# jump between neighbouring crossings. Folds 1-9 (eik_accuracy.py --folds 1-9 -n 10),
# 0 -> 3 ms: ECG-Image-Kit 200 dpi 26.48 -> 26.58 dB, 100 dpi 19.03 -> 19.18, JPEG q75
# 24.59 -> 25.05, photo style 16.31 -> 17.09, G4 21.00 -> 21.02, dithered 20.98 ->
# 20.95; our fold 9 (lead_errors.py --preset scan -n 8, --preset photo -n 8, -n 6):
# scan preset 21.46 -> 23.03, photo preset 12.05 -> 12.62, clean 23.13 -> 23.98.
# 2 ms: 26.70 at 200 dpi but 22.54 on our scans; 5 ms:
# 23.33 on our scans, 17.32 on photos, but 25.90 at 200 dpi.
SAMPLE_SPAN_S = 0.003


def isoelectric(y: np.ndarray, px_per_mm: float) -> float:
    """The most frequent level of a path (0.25 mm histogram, smoothed): its baseline.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.signals import isoelectric
    >>> y = np.r_[np.full(300, 100.0), np.linspace(100, 20, 20), np.full(50, 130.0)]
    >>> round(isoelectric(y, 8.0))
    100
    """
    v = y[np.isfinite(y)]
    if len(v) == 0:
        return float("nan")
    step = max(0.25 * px_per_mm, 0.5)
    lo, hi = v.min() - step, v.max() + step
    hist, edges = np.histogram(v, bins=max(3, int(np.ceil((hi - lo) / step))), range=(lo, hi))
    hist = np.convolve(hist, [1, 2, 1], mode="same")
    k = int(np.argmax(hist))
    near = np.abs(v - (edges[k] + edges[k + 1]) / 2) <= 1.5 * step
    return float(np.mean(v[near])) if near.any() else float(np.median(v))


def fill_short_gaps(y: np.ndarray, max_gap: int) -> np.ndarray:
    """Linearly bridge NaN gaps of at most ``max_gap`` samples (interior only).

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.signals import fill_short_gaps
    >>> fill_short_gaps(np.array([1.0, np.nan, 3.0, np.nan, np.nan, np.nan, 7.0]), 2).tolist()
    [1.0, 2.0, 3.0, nan, nan, nan, 7.0]
    """
    y = np.array(y, dtype=float)
    ok = np.isfinite(y)
    if ok.sum() < 2:
        return y
    idx = np.arange(len(y))
    filled = np.interp(idx, idx[ok], y[ok])
    # length of the NaN run each sample belongs to
    bad = ~ok
    d = np.diff(np.r_[0, bad.view(np.int8), 0])
    starts, ends = np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]
    for s, e in zip(starts, ends):
        if e - s <= max_gap and s > 0 and e < len(y):
            y[s:e] = filled[s:e]
    return y


def span_means(x: np.ndarray, px: np.ndarray, py: np.ndarray, width: float) -> np.ndarray:
    """Mean of the polyline ``(px, py)`` (``px`` non-decreasing) over ``width`` centred
    on each of ``x``; beyond its ends the polyline holds its end values, as
    :func:`numpy.interp` does (which ``width`` 0 gives: the value at ``x``).

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.signals import span_means
    >>> px, py = np.array([0.0, 1.0, 2.0]), np.array([0.0, 4.0, 0.0])   # a spike
    >>> span_means(np.array([0.5, 1.0, 5.0]), px, py, 1.0).tolist()
    [2.0, 3.0, 0.0]
    """
    px, py = np.asarray(px, float), np.asarray(py, float)
    if width <= 0:
        return np.interp(x, px, py)
    area = np.r_[0.0, np.cumsum(np.diff(px) * (py[1:] + py[:-1]) / 2)]

    def integral(u):   # of the polyline from px[0] to u
        inside = np.clip(u, px[0], px[-1])
        k = np.clip(np.searchsorted(px, inside, side="right") - 1, 0, len(px) - 2)
        dx = px[k + 1] - px[k]
        frac = np.divide(inside - px[k], dx, out=np.zeros_like(inside), where=dx > 0)
        y_at = py[k] + frac * (py[k + 1] - py[k])
        held = np.where(u < px[0], py[0], py[-1])
        return area[k] + (inside - px[k]) * (py[k] + y_at) / 2 + (u - inside) * held

    x = np.asarray(x, float)
    return (integral(x + width / 2) - integral(x - width / 2)) / width


def panel_samples(trace, x_start: float, panel, fs: float, px_per_s: float, px_per_mv: float,
                  px_per_mm: float, boundaries=(), zero_y: float | None = None,
                  px_per_mm_y: float | None = None,
                  trace_cols: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Sample indices, values (mV) and 0 mV level (page y) of one panel.

    ``px_per_mm`` is the scale across the page (gaps bridged, lead-change guards),
    ``px_per_mm_y`` the scale down it where the page is not square (the isoelectric
    level's histogram); ``px_per_mv`` is read down the page too.

    ``trace`` is the row's :class:`~.extract.RowTrace`; ``panel`` a
    :class:`~ecg_digitize.layouts.Panel`; ``boundaries`` page columns where
    the row changes lead. ``zero_y``: the row's 0 mV line where the page shows it (the
    foot of its calibration pulse); it is used when the panel's isoelectric level lies
    within 1 mV of it (a lead with a DC offset keeps it), else the isoelectric level is.
    ``trace_cols``: the columns of the trace proper (not its calibration pulse); samples
    outside them hold the nearest sample inside. Lead-change marks drawn as bars
    (:func:`lead_change_marks`) are taken out of the path, but for the path's points
    beyond the bar's ends.
    """
    n0 = int(np.ceil(panel.t0 * fs - 1e-9))
    n1 = int(np.ceil(panel.t1 * fs - 1e-9))
    n = np.arange(n0, n1)
    t = n / fs
    x = x_start + (panel.x_offset_s + t - panel.t0) * px_per_s
    marks, bar_top, bar_bottom = lead_change_marks(trace, boundaries, px_per_mm)
    path = fill_short_gaps(np.where(marks, np.nan, trace.y), max(2, int(round(1.0 * px_per_mm))))
    cols = trace.x0 + np.arange(len(path))
    ok = np.isfinite(path)
    if ok.sum() < 2:
        return n, np.full(len(n), np.nan), float("nan")
    inside = (x >= cols[0]) & (x <= cols[-1])
    px_, py_ = getattr(trace, "px", np.empty(0)), getattr(trace, "py", np.empty(0))
    if marks.any() and len(px_):
        # the path's points over a bar, and within half a pen of its rows, are the bar's;
        # beyond its ends they are the trace's (an R wave at the lead change rising past it)
        k = np.clip(np.round(px_ - trace.x0).astype(int), 0, len(marks) - 1)
        reach = float(getattr(trace, "line_width", 2.0)) / 2 + 1
        on_bar = marks[k] & ~((py_ < bar_top[k] - reach) | (py_ > bar_bottom[k] + reach))
        px_, py_ = px_[~on_bar], py_[~on_bar]
    # only this panel's own points: interpolated across a lead change (a mark taken out
    # above), the neighbouring lead's last point would be blended into its first samples
    own = (px_ >= x[0] - 0.5) & (px_ <= x[-1] + 0.5) if len(x) else np.zeros(len(px_), bool)
    if own.sum() >= 2:
        px_, py_ = px_[own], py_[own]
    if len(px_) >= 2:  # the polyline, with sub-column strokes
        y = span_means(x, px_, py_, SAMPLE_SPAN_S * px_per_s)
    else:
        y = np.interp(x, cols[ok], path[ok])
    # NaN where the nearest column was not covered (a real gap, not bridged above)
    nearest = np.clip(np.round(x - trace.x0).astype(int), 0, len(path) - 1)
    y = np.where(inside & ok[nearest], y, np.nan)
    # Keep away from lead changes: hold the nearest sample of this panel instead, within
    # half a separator tick (one pen line, ~0.3 mm) of it. Samples further out read the
    # path well, and holding them flattens a QRS or T slope that crosses the lead change
    # (fold-9 clean pages: 0.25 mm cost 0.05-0.15 dB against 0.15 mm).
    guard = max(1.0, 0.15 * px_per_mm)
    near_b = np.zeros(len(x), bool)
    for xb in boundaries:
        near_b |= np.abs(x - xb) < guard
    if near_b.any() and (~near_b & np.isfinite(y)).sum() >= 2:
        good = np.nonzero(~near_b & np.isfinite(y))[0]
        held = np.interp(np.arange(len(y)), good, y[good])
        # only from a sample just outside the guard: across a gap the path did not cover
        # (a QRS through the next lead's bar), the last sample read is not the signal here
        k = np.searchsorted(good, np.arange(len(y)))
        gap = np.minimum(np.abs(good[np.clip(k, 0, len(good) - 1)] - np.arange(len(y))),
                         np.abs(good[np.clip(k - 1, 0, len(good) - 1)] - np.arange(len(y))))
        reach = (2 * guard + 1.0) * fs / px_per_s
        y = np.where(near_b, np.where(gap <= reach, held, np.nan), y)
    if trace_cols is not None:
        y = _held_inside(y, (x >= trace_cols[0]) & (x <= trace_cols[1]))
    base = isoelectric(y, px_per_mm if px_per_mm_y is None else px_per_mm_y)
    if zero_y is not None and np.isfinite(zero_y) and abs(base - zero_y) <= px_per_mv:
        base = float(zero_y)
    v = (base - y) / px_per_mv
    if getattr(panel, "inverted", False):
        v = -v
    return n, v, base


# A lead-change mark drawn as a bar (the phone photos' printouts: about 0.5 mm wide, 7 mm
# tall) is a run of at least MARK_MIN_COLUMNS columns whose ink spans the same rows to
# MARK_EDGE_PX, at least MARK_MIN_HEIGHT_MM tall, within MARK_REACH_MM of a lead change.
# The trace crosses it; the path there is the bar's, not the lead's.
MARK_MIN_COLUMNS = 3
MARK_EDGE_PX = 1.5
MARK_MIN_HEIGHT_MM = 2.0
MARK_REACH_MM = 1.5


def lead_change_marks(trace, boundaries, px_per_mm: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column of ``trace``: whether it lies on a lead-change mark drawn as a bar (see
    :data:`MARK_MIN_COLUMNS`), or within half a pen width and a column of one; and the
    top and bottom row of that bar (NaN elsewhere).

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.extract import RowTrace
    >>> from ecg_digitize.digitizer.signals import lead_change_marks
    >>> top = np.full(60, 99.0); bottom = np.full(60, 102.0)
    >>> top[28:33], bottom[28:33] = 70.0, 130.0          # a 5-column bar, 60 px tall
    >>> trace = RowTrace(0, (top + bottom) / 2, top, bottom, 3.0)
    >>> on_bar, bar_top, bar_bottom = lead_change_marks(trace, [30.0], px_per_mm=8.0)
    >>> np.nonzero(on_bar)[0].tolist(), float(bar_top[30]), float(bar_bottom[30])
    ([25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35], 70.0, 130.0)
    """
    n = len(trace.y)
    out = np.zeros(n, bool)
    bar_top, bar_bottom = np.full(n, np.nan), np.full(n, np.nan)
    if not len(boundaries) or n == 0:
        return out, bar_top, bar_bottom
    top, bottom = np.asarray(trace.top, float), np.asarray(trace.bottom, float)
    width = float(getattr(trace, "line_width", 2.0))
    tall = np.isfinite(top) & (bottom - top >= MARK_MIN_HEIGHT_MM * px_per_mm)
    min_columns = max(MARK_MIN_COLUMNS, int(np.ceil(width)) + 1)  # a bar is wider than the pen
    pad = 1 + int(round(width / 2))  # and the bar's blurred sides, half a pen either way
    for xb in boundaries:
        lo = max(0, int(xb - MARK_REACH_MM * px_per_mm) - trace.x0)
        hi = min(n, int(xb + MARK_REACH_MM * px_per_mm) + 1 - trace.x0)
        for k, j in _level_runs(top, bottom, tall, lo, hi):
            if j - k + 1 >= min_columns:
                cols = slice(max(0, k - pad), min(n, j + 1 + pad))
                out[cols] = True
                bar_top[cols], bar_bottom[cols] = np.min(top[k:j + 1]), np.max(bottom[k:j + 1])
    return out, bar_top, bar_bottom


def _level_runs(top: np.ndarray, bottom: np.ndarray, tall: np.ndarray, lo: int, hi: int):
    """First and last index of each run of ``tall`` columns in ``lo..hi-1`` whose ink
    spans the rows of the run's first column to :data:`MARK_EDGE_PX`."""
    k = lo
    while k < hi:
        j = k
        while (tall[k] and j + 1 < hi and tall[j + 1] and abs(top[j + 1] - top[k]) <= MARK_EDGE_PX
               and abs(bottom[j + 1] - bottom[k]) <= MARK_EDGE_PX):
            j += 1
        if tall[k]:
            yield k, j
        k = j + 1


def _held_inside(y: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """``y`` with the samples outside ``inside`` set to the nearest finite sample inside
    (unchanged where none is finite inside).

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.signals import _held_inside
    >>> _held_inside(np.array([9.0, 9.0, 1.0, 2.0, 3.0]), np.array([0, 0, 1, 1, 1], bool)).tolist()
    [1.0, 1.0, 1.0, 2.0, 3.0]
    """
    good = np.nonzero(inside & np.isfinite(y))[0]
    if inside.all() or not len(good):
        return y
    # np.interp holds its end values: outside an interval that is the nearest sample inside
    return np.where(inside, y, np.interp(np.arange(len(y)), good, y[good]))
