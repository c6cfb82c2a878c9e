"""Stage 8: the time axis of a page, to a fraction of a pixel.

The score aligns a digitized lead with the truth only to whole samples, so time zero must
be right to well under one sample (0.4 px at 200 dpi). The first reference is the pen's
ends (:func:`pen_end`, :func:`time_axis`): every layout has them, but how far the ink
reaches past the last sample depends on the pen's cap (round, square, none), which the
page does not tell; a round cap is assumed. Where a multi-column page marks its lead
changes with vertical separators, their centres (:func:`separator_time_zero`) replace
it: a vertical line's centre does not depend on the cap. Where the marks stand farther
from that axis than a pen's cap explains, they are the page's time axis themselves
(:func:`lead_change_axis`): some machines draw the trace a little narrower or wider than
their grid, and place each column at its mark.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .extract import column_runs

# The last sample of a row is drawn one sample period before the row's end; the source's
# rate is unknown, 500 Hz is the common one (the error for others is a fraction of a pixel).
SOURCE_DT = 1.0 / 500
# A measured row length within this of a whole tenth of a second is taken as that length.
SNAP_S = 0.04
SNAP_S_LONGER_NEXT_TO_PULSE = 0.1
# The row length of a 12-lead page as printed (four 2.5 s panels, two 5 s, or one 10 s),
# and the lengths a row of any layout is printed at.
PRINTED_ROW_S = 10.0
PRINTED_ROW_LENGTHS_S = (PRINTED_ROW_S, PRINTED_ROW_S / 2, PRINTED_ROW_S / 4)
# How much longer than a printed length a row measured next to a pulse may be and still
# stand for it: on photos the pulse's foot, blurred into the trace, made the pen start
# early (ecg-image-kit-photos ecg00048: rows read 10.1 s, its first column boundary about
# 3 mm before its dotted separator); a pulse is 0.2 s wide. `python
# benchmarks/real_pictures.py --sets ecg-image-kit-photos phone-photos -v` at 0.1 / 0.15 /
# 0.25 / 0.4 s: ecg00048 8.72 -> 10.24 dB and ecg00050 4.17 -> 4.74 at each, ecg00029
# -2.09 -> 0.14 from 0.25 s; phone-photos unchanged (0.15, 0.25, 0.4). Our photo preset,
# fold 9: 13.26 at 0.1-0.25, as before.
SNAP_S_SHORTER_NEXT_TO_PULSE = 0.25
# A row's pen end this far (mm) from every other row's, on a page of three rows or more,
# may be no end: the path ran on along a fold or the sheet's edge (phone-photos 03769), or
# the one row printed to the end (ecg-image-kit-photos ecg00054: its rhythm strip). The time
# axis without it is the other guess (RowTiming.second_axis): it comes first where only its
# rows have a printed length (printed_length_first), else lead-change marks must confirm it.
LONE_END_MM = 2.0
# A pen end this close (px) to the picture's edge may be the frame's, not the pen's.
FRAME_EDGE_PX = 1.5
# Column separators farther than this from the pen-end time zero are not trusted (khan2021
# sheets put theirs 0.67 mm after it).
SEPARATOR_MAX_SHIFT_MM = 0.3
# Lead-change marks are looked for this far either side of where the grid's time axis puts
# them: khan2021 sheets draw the trace 0.9 % narrower than their grid, which puts their last
# mark 1.9 mm before the grid's 7.5 s (a 1.5 % difference would reach 2.9 mm).
MARK_SEARCH_MM = 3.0
# A mark is a vertical run of ink at least this long (mm) within this of the row's baseline
# (mm): our renderer's ticks are 5 mm long, centred on the pen's zero line, which may lie
# 1.5 mm from the row's isoelectric level; khan2021 lines cross the whole row.
MARK_MIN_MM = 2.0
MARK_BAND_MM = 4.0
# A mark's upper and lower halves stand within this (px) of each other: a printed line is
# upright to JPEG noise, a steep QRS stroke drifts a pixel or more over 2 mm.
MARK_TILT_PX = 0.5
# The marks' time axis is taken only where they lie on one straight axis to this (px: half
# a pixel of JPEG noise on each of two marks) ...
MARK_FIT_PX = 1.0
# ... and its time scale is within this fraction of the calibration's (a wrong mark, a QRS
# stroke taken for one, gives a scale far off; khan2021 differs by 0.9 %).
MARK_SCALE_TOL = 0.03
# On a page whose perspective or bending was undone from its grid (a photo) the grid's scale
# holds to the flattening's accuracy, and marks farther off it than this are no surer:
# ECG-Image-Kit photo pages of folds 1-9 had marks 1-2 % off (`python
# benchmarks/eik_accuracy.py --folds 1-9 -n 16 --only photo --method auto`: 13.21 dB with
# them, 13.84 with this limit); the real phone photos' marks lie within 0.4 % but for one
# (0.9 %).
MARK_SCALE_TOL_REFRAMED = 0.005
# Marks of one lead change on different rows agree to this (px) to stand for their column.
MARK_AGREE_PX = 0.5
# A page photographed at a slant (keystone: ecg-image-kit-photos ecg00029, its bottom row
# 119 px, 12 %, longer than its top, its pen starts 53 px apart) gives each row its own time
# axis where the rows' pen starts and ends each lie on a straight line down the page to
# SLANT_FIT_MM, and those lines part from upright by over SLANT_MIN_MM between the top
# and bottom rows (a flat page's ends agree to a pen width).
SLANT_FIT_MM = 0.5
SLANT_MIN_MM = 1.5
# ... and by over this many times the fit's worst residual: one row ending 6 px short of the
# others (ECG-Image-Kit scans at 100 dpi, fold 10) fits a line to 2 px leaning 6 px; a
# step is no trend.
SLANT_TREND = 4.0
# Rows shorter than this share of the longest are not full rows (a wrapped strip's last).
SLANT_FULL_ROW = 0.85


def pen_end(trace, dark: np.ndarray, col: int, direction: int) -> float:
    """Sub-pixel page column where the pen's centre line ends (``direction`` +1) or
    starts (-1), given the last (first) ink column ``col`` of a row's path.

    The ink reaches past the end point by the pen's round cap. Measured in coverage: a
    column's darkness summed across the line, over that of a full column of line at the
    end's slope, gives the fraction of the column the ink covers. For a line of width
    ``w`` at angle ``theta`` to the page's rows, ending in a round cap, the ink right of
    the end point equals ``w/8 * ((pi - theta) cos(theta) + sin(theta))`` columns
    (:func:`cap_columns`; ``pi w / 8`` for a flat line): a steep end reaches less far
    past its point, in full columns, than a flat one.
    """
    k = col - trace.x0
    n = len(trace.y)
    inner = np.arange(k - direction * 12, k - direction * 3, direction)
    inner = inner[(inner >= 0) & (inner < n)]
    slope = np.gradient(trace.y) if n >= 2 else np.zeros(n)
    usable = inner[np.isfinite(trace.top[inner]) & (np.abs(slope[inner]) <= 2)]
    fallback = col - direction * max(0.0, (trace.line_width - 1) / 2)
    if not len(usable) or not (0 <= k < n) or not np.isfinite(trace.top[k]):
        return fallback
    h, w = dark.shape
    pad = 2 + int(trace.line_width)
    # the ink's own darkness, for the background correction of column_ink
    ink_dark = float(np.median([dark[int(trace.top[c]):int(trace.bottom[c]) + 1, trace.x0 + c].max()
                                for c in usable if 0 <= trace.x0 + c < w]))

    def column_ink(c_page, lo, hi):
        lo, hi = max(0, int(lo)), min(h, int(hi) + 1)
        if not 0 <= c_page < w or hi - lo < 5:
            return 0.0
        return _ink_above_background(dark[lo:hi, c_page], ink_dark)

    # the pen's width across the line: a column's ink times the cosine of the line's angle
    width = float(np.median([column_ink(trace.x0 + c, trace.top[c] - pad, trace.bottom[c] + pad)
                             / np.hypot(1.0, slope[c]) for c in usable]))
    if width <= 0.5:
        return fallback
    end = slice(max(0, min(k, k - direction * 3)), min(n, max(k, k - direction * 3)) + 1)
    theta = _end_angle(trace.y[end])
    full = width / np.cos(theta)
    lo = np.nanmin(trace.top[end]) - pad
    hi = np.nanmax(trace.bottom[end]) + pad
    # columns from 3 inside the end (taken as full) to 2 past it
    edge = (k - direction * 3) + direction * 0.5
    covered = sum(min(1.0, column_ink(trace.x0 + c, lo, hi) / full)
                  for c in range(k - direction * 2, k + direction * 3, direction))
    ink_end = edge + direction * covered
    return float(trace.x0 + ink_end - direction * cap_columns(width, theta))


def _end_angle(y_end: np.ndarray) -> float:
    """Angle (radians, 0..pi/2) of the line over its last columns ``y_end``; 0 when unknown."""
    if len(y_end) < 2 or not np.isfinite(y_end[[0, -1]]).all():
        return 0.0
    return float(np.arctan(abs(y_end[-1] - y_end[0]) / (len(y_end) - 1)))


def cap_columns(width: float, theta: float) -> float:
    """Full columns of ink past the end point of a line of ``width`` at angle ``theta``
    (radians) ending in a round cap: the half-disc beyond the end, less the sector the
    vertical through the end point cuts off, plus the body's corner beyond that vertical,
    over a column of the line (``width / cos(theta)``).

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.timebase import cap_columns
    >>> round(cap_columns(4.0, 0.0), 3), round(4.0 * np.pi / 8, 3)
    (1.571, 1.571)
    >>> round(cap_columns(4.0, np.pi / 4), 3)
    1.187
    """
    return float(width / 8 * ((np.pi - theta) * np.cos(theta) + np.sin(theta)))


def _ink_above_background(column: np.ndarray, ink_dark: float) -> float:
    """Ink (in full-ink pixels) in a column window that reaches past the line both ways.

    Whatever darkness the window's two ends share (a grid line the trace view kept, paper
    texture) lies under the ink too: a grid line at the page's last second sits exactly on
    the pen's end and read as 0.2 px more line. That background is removed, and each pixel's
    darkness above it rescaled to the ink's full darkness (ink is drawn over the paper).
    """
    bg = 0.5 * min(float(column[0] + column[1]), float(column[-2] + column[-1]))  # median of two
    if bg <= 0 or ink_dark <= bg + 0.05:
        return float(column.sum())
    return float(np.clip(column - bg, 0, None).sum() * ink_dark / (ink_dark - bg))


def time_axis(starts, ends, pulses, px_per_mm: float, px_per_s: float, *, drop_lone: bool = False,
              width: float | None = None) -> tuple[float, float, float]:
    """Page columns of time zero and of the row's last sample, and the seconds a row shows.

    ``starts`` and ``ends`` are where each row's pen line starts and ends (:func:`pen_end`).
    Where a calibration pulse sits at one end, that end of the trace is
    uncertain (the pulse's foot may run into it), so the other end is measured and the
    row length, snapped to a whole tenth of a second when within 0.04 s of one (machines
    print 2.5, 5 or 10 s rows; up to 0.1 s longer next to a pulse), places it. A row
    without a detected pulse whose pen starts inside the pulses found on other rows has
    a missed pulse, and neither of its ends is used. Rows that stop early (the last row of a
    wrapped strip) are left out. ``drop_lone``: an end no other row's comes near is left
    out too (:func:`_shared`). Rows whose pens end at the edge of a picture ``width``
    pixels wide, short of a printed length, were cut by the frame (:func:`framed_axis`).

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.timebase import time_axis
    >>> x0, x1, T = time_axis(np.array([100.5, 100.0, 99.5]), np.array([1084.3, 1084.0, 1084.1]),
    ...                       [None] * 3, 3.937, 98.43)
    >>> round(x0, 1), round(T, 2)
    (100.0, 10.0)
    """
    starts, ends = np.asarray(starts, float), np.asarray(ends, float)
    left_pulse = np.array([p is not None and p.side == "left" for p in pulses])
    right_pulse = np.array([p is not None and p.side == "right" for p in pulses])
    tol = 1.0 * px_per_mm
    # Rows share their ends, and a page prints a pulse on every row or on none: a row whose
    # pen reaches into the pulses found on other rows has one too, missed (broken or faint
    # ink). Its path ran off the trace there, so neither of its ends is used.
    hidden_left = _inside_found_pulses(starts, left_pulse, pulses, "left", tol)
    hidden_right = _inside_found_pulses(ends, right_pulse, pulses, "right", tol)
    left_pulse, right_pulse = left_pulse | hidden_left, right_pulse | hidden_right
    trusted = ~(hidden_left | hidden_right)
    if not trusted.any():
        trusted[:] = True

    def edge(values, free, side):
        # the trusted rows without a pulse at this end, when they are most; else every trusted row
        rows = free & trusted if (free & trusted).sum() > 0.5 * trusted.sum() else trusted
        v = _shared(values[rows], LONE_END_MM * px_per_mm) if drop_lone else values[rows]
        v = v[v >= v.max() - tol] if side == "end" else v[v <= v.min() + tol]
        return float(np.median(v))

    x_start = edge(starts, ~left_pulse, "start")
    x_end = edge(ends, ~right_pulse, "end")
    measured = (x_start, x_end)
    start_sure, end_sure = (~left_pulse).mean() > 0.5, (~right_pulse).mean() > 0.5
    seconds = (x_end - x_start) / px_per_s + SOURCE_DT
    snapped = snapped_row_length(seconds, next_to_pulse=not (start_sure and end_sure))
    if snapped is not None:
        length = (snapped - SOURCE_DT) * px_per_s
        if end_sure and not start_sure:
            x_start = x_end - length
        elif start_sure and not end_sure:
            x_end = x_start + length
        else:
            mid = (x_start + x_end) / 2
            x_start, x_end = mid - length / 2, mid + length / 2
        seconds = snapped
    if width is not None:
        return framed_axis(starts[trusted], ends[trusted], measured, (x_start, x_end, seconds), width, px_per_s)
    return x_start, x_end, seconds


def framed_axis(starts: np.ndarray, ends: np.ndarray, measured: tuple[float, float],
                axis: tuple[float, float, float], width: float, px_per_s: float) -> tuple[float, float, float]:
    """``axis`` (:func:`time_axis`), where most rows' pens (``starts``, ``ends``) end at
    one edge of a picture ``width`` pixels wide (within :data:`FRAME_EDGE_PX`) and the
    rows measure short of a printed length (:data:`PRINTED_ROW_LENGTHS_S`), placed from
    the rows' other end as ``measured`` (first and last column) at the shortest printed
    length they fit in: the photo's frame cut the rows, whose time runs on past it.
    Where both ends meet the frame, or the rows measure a printed length (a trace printed
    flush with the page's edge), ``axis`` as it is.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.timebase import framed_axis
    >>> starts, ends = np.array([13.4, 12.9, 13.4]), np.array([857.5, 857.6, 857.0])
    >>> x0, x1, seconds = framed_axis(starts, ends, (13.4, 857.6), (9.9, 857.6, 9.8), 859, 86.5)
    >>> round(x0, 1), round(x1, 1), seconds
    (13.4, 878.2, 10.0)
    """
    seconds = axis[2]
    at_left = np.mean(starts <= FRAME_EDGE_PX) > 0.5
    at_right = np.mean(ends >= width - 1 - FRAME_EDGE_PX) > 0.5
    longer = [t for t in sorted(PRINTED_ROW_LENGTHS_S) if t > seconds]
    if at_left == at_right or seconds in PRINTED_ROW_LENGTHS_S or not longer:
        return axis
    length = (longer[0] - SOURCE_DT) * px_per_s
    if at_right:
        return measured[0], measured[0] + length, longer[0]
    return measured[1] - length, measured[1], longer[0]


def _shared(values: np.ndarray, tol: float) -> np.ndarray:
    """``values`` without those that no other value comes within ``tol`` of, where three or
    more are given: a path run on along a fold or the sheet's edge past every other row's end.

    >>> _shared(np.array([2137.0, 2136.0, 2217.0, 2146.0]), 16.0).tolist()
    [2137.0, 2136.0, 2146.0]
    """
    if len(values) < 3:
        return values
    near = np.abs(values[:, None] - values[None, :]) <= tol
    keep = near.sum(axis=1) > 1  # itself and one more
    return values[keep] if keep.any() else values


def snapped_row_length(seconds: float, next_to_pulse: bool) -> float | None:
    """The row length a measured one stands for: a printed length
    (:data:`PRINTED_ROW_LENGTHS_S`) up to :data:`SNAP_S_SHORTER_NEXT_TO_PULSE` shorter
    where an end is next to a pulse, else the whole tenth of a second within
    :data:`SNAP_S`; or ``None``.

    Examples
    --------
    >>> from ecg_digitize.digitizer.timebase import snapped_row_length
    >>> snapped_row_length(10.12, next_to_pulse=True), snapped_row_length(10.12, next_to_pulse=False)
    (10.0, 10.1)
    """
    # An end next to a pulse is uncertain both ways: where the pulse's foot runs into the
    # trace (a photo's blur) the pen seems to start early, up to the pulse's width.
    if next_to_pulse:
        for printed in PRINTED_ROW_LENGTHS_S:
            if 0 <= seconds - printed <= SNAP_S_SHORTER_NEXT_TO_PULSE:
                return printed
    nearest = round(seconds * 10) / 10
    if abs(seconds - nearest) <= SNAP_S and nearest > 0:
        return nearest
    # An end next to a pulse is measured where the ink comes back after the pulse's gap,
    # and faint ink there is lost: the row may be longer than measured.
    longer = np.ceil(seconds * 10) / 10
    if next_to_pulse and longer - seconds <= SNAP_S_LONGER_NEXT_TO_PULSE:
        return float(longer)
    return None


def _inside_found_pulses(edges: np.ndarray, with_pulse: np.ndarray, pulses, side: str,
                         tol: float) -> np.ndarray:
    """Rows without a detected pulse whose trace end lies within the pulses found on other rows."""
    found = [p for p, k in zip(pulses, with_pulse) if k]
    if not found:
        return np.zeros(len(edges), bool)
    if side == "left":
        return ~with_pulse & (edges < np.median([p.x_right for p in found]) - tol)
    return ~with_pulse & (edges > np.median([p.x_left for p in found]) + tol)


def separator_time_zero(mask: np.ndarray, dark: np.ndarray, baselines, breaks, x_start: float,
                        px_per_s: float, px_per_mm: float) -> float | None:
    """Time zero from the column separators of a multi-column page, or ``None``.

    Machines mark where a row changes lead with a vertical line (a tick or a line through
    every row) at the first sample of the next lead. Across each image row a vertical
    line is one narrow run, whose darkness-weighted centre places it to a small fraction
    of a pixel, whatever the pen's cap: unlike the row's ends (:func:`pen_end`), which
    depend on the cap. ``breaks`` lists ``(row, seconds)`` of the expected lead changes,
    placed from ``x_start`` (the pen-end estimate); each separator found within 0.75 mm
    of its place gives time zero, and the median of at least two that agree to 0.5 px is
    returned when it lies within :data:`SEPARATOR_MAX_SHIFT_MM` of ``x_start`` (further
    off, the machine marks its lead changes elsewhere than at the next lead's first sample).
    """
    h, w = mask.shape
    reach = max(2, int(round(0.75 * px_per_mm)))
    half_h = max(3, int(round(2.0 * px_per_mm)))
    found = []
    for row, seconds in breaks:
        xb = int(round(x_start + seconds * px_per_s))
        c0, c1 = xb - reach, xb + reach + 1
        y0, y1 = int(round(baselines[row])) - half_h, int(round(baselines[row])) + half_h + 1
        if c0 < 1 or c1 > w - 1 or y0 < 0 or y1 > h:
            continue
        centre = _vertical_line_x(mask[y0:y1, c0:c1], dark[y0:y1, c0 - 1:c1 + 1], px_per_mm)
        if centre is not None:
            found.append(c0 + centre - seconds * px_per_s)
    if len(found) < 2:
        return None
    found = np.asarray(found)
    mid = float(np.median(found))
    agree = np.abs(found - mid) <= 0.5
    if agree.sum() < max(2, 0.5 * len(found)):
        return None
    x_sep = float(np.median(found[agree]))
    return x_sep if abs(x_sep - x_start) <= SEPARATOR_MAX_SHIFT_MM * px_per_mm else None


def _vertical_line_x(window: np.ndarray, dark: np.ndarray, px_per_mm: float) -> float | None:
    """Sub-pixel column (within ``window``) of a vertical line crossing most of its image
    rows as one narrow run; ``dark`` is the window's darkness, one column wider each side."""
    xs = _line_centres(window, dark, px_per_mm)
    if xs is None:
        return None
    centre = float(np.median(xs))
    # a vertical line: the rows agree; a QRS stroke at the boundary is slanted
    if np.median(np.abs(xs - centre)) > 0.3:
        return None
    return centre


def _line_centres(window: np.ndarray, dark: np.ndarray, px_per_mm: float) -> np.ndarray | None:
    """Darkness-weighted centre (window column) of the one narrow run of each image row
    that has one, top to bottom; ``None`` when under half the rows have one."""
    r, s, e = column_runs(window.T)             # runs along image rows; e inclusive
    one = np.bincount(r, minlength=window.shape[0])[r] == 1
    narrow = (e - s + 1) <= max(3, int(round(0.8 * px_per_mm)))
    keep = one & narrow
    if keep.sum() < 0.5 * window.shape[0]:
        return None
    cols = np.arange(dark.shape[1]) - 1.0        # dark's columns in window coordinates
    xs = []
    for row, a, b in zip(r[keep], s[keep], e[keep]):
        wts = np.clip(dark[row, a:b + 3], 0, None)        # the run and one pixel each side
        if wts.sum() > 0:
            xs.append(float((wts * cols[a:b + 3]).sum() / wts.sum()))
    return np.asarray(xs) if xs else None


def _upright_line_x(window: np.ndarray, dark: np.ndarray, px_per_mm: float) -> float | None:
    """:func:`_vertical_line_x`, and its upper and lower halves within :data:`MARK_TILT_PX`
    of each other: a steep QRS stroke can be as narrow and nearly as upright over a few
    millimetres, but it drifts across its height."""
    xs = _line_centres(window, dark, px_per_mm)
    centre = _vertical_line_x(window, dark, px_per_mm)
    if xs is None or centre is None or len(xs) < 4:
        return None
    half = len(xs) // 2
    return centre if abs(np.median(xs[:half]) - np.median(xs[half:])) <= MARK_TILT_PX else None


@dataclass
class MarkAxis:
    """The time axis read from a page's lead-change marks: ``x_start`` the page column of
    time zero, ``px_per_s`` its scale, ``marks`` each lead change's column (s -> page column)."""

    x_start: float
    px_per_s: float
    marks: dict[float, float]


def lead_change_axis(dark: np.ndarray, threshold: float, baselines, breaks, x_start: float,
                     px_per_s: float, px_per_mm: float, scale_tol: float = MARK_SCALE_TOL) -> MarkAxis | None:
    """The page's time axis from its printed lead-change marks, or ``None``.

    Each expected lead change ``(row, seconds)`` of ``breaks`` is looked for within
    :data:`MARK_SEARCH_MM` of where the axis ``x_start``, ``px_per_s`` puts it
    (:func:`find_mark`, in the darkness ``dark`` above the ink's ``threshold``: the
    trace's mask may have lost thin lines); the marks of one lead change on different rows must agree to
    :data:`MARK_AGREE_PX`. At least two lead changes (columns) so marked give a straight
    axis ``x = x_start + t * px_per_s``, kept when every mark lies within
    :data:`MARK_FIT_PX` of it and its scale within ``scale_tol`` of ``px_per_s``.
    Each panel then starts at its mark and the trace's own time scale (the marks' spacing
    over the columns' seconds) replaces the grid's, which can differ by a percent.
    """
    return fitted_axis(marked_columns(dark, threshold, baselines, breaks, x_start, px_per_s, px_per_mm),
                       px_per_s, scale_tol)


def fitted_axis(marks: dict[float, float], px_per_s: float, scale_tol: float = MARK_SCALE_TOL
                ) -> MarkAxis | None:
    """The straight axis through marks found (:func:`marked_columns`), or ``None`` where
    they are under two, stray over :data:`MARK_FIT_PX` from it, or give a scale over
    ``scale_tol`` off ``px_per_s``."""
    if len(marks) < 2:
        return None
    t = np.array(sorted(marks))
    x = np.array([marks[k] for k in t])
    slope, intercept = np.polyfit(t, x, 1)
    if np.abs(intercept + slope * t - x).max() > MARK_FIT_PX or abs(slope / px_per_s - 1) > scale_tol:
        return None
    return MarkAxis(float(intercept), float(slope), marks)


def marked_columns(dark: np.ndarray, threshold: float, baselines, breaks, x_start: float,
                   px_per_s: float, px_per_mm: float) -> dict[float, float]:
    """Lead change (s) -> page column of its printed mark, for the lead changes of
    ``breaks`` whose marks are found near where the axis puts them and agree across rows
    (see :func:`lead_change_axis`)."""
    by_break: dict[float, list[float]] = {}
    for row, seconds in breaks:
        x = find_mark(dark, threshold, baselines[row], x_start + seconds * px_per_s, px_per_mm)
        by_break.setdefault(float(seconds), [])
        if x is not None:
            by_break[float(seconds)].append(x)
    marks = {}
    for seconds, xs in by_break.items():
        column = _agreed_mark(xs)
        if column is not None:
            marks[seconds] = column
    return marks


def _agreed_mark(xs: list[float]) -> float | None:
    """The column of one lead change from its marks on the rows: the median of those
    within :data:`MARK_AGREE_PX` of the median, when they are at least two (or the only one)."""
    if not xs:
        return None
    xs = np.asarray(xs)
    agree = np.abs(xs - np.median(xs)) <= MARK_AGREE_PX
    if agree.sum() < min(2, len(xs)):
        return None
    return float(np.median(xs[agree]))


def find_mark(dark: np.ndarray, threshold: float, baseline: float, x_expected: float,
              px_per_mm: float) -> float | None:
    """Sub-pixel page column of the lead-change mark nearest ``x_expected`` on the row
    whose baseline is ``baseline``, or ``None``.

    Ink is ``dark`` above ``threshold``. Columns within :data:`MARK_SEARCH_MM` of
    ``x_expected`` holding a vertical run of ink at least :data:`MARK_MIN_MM` long within
    :data:`MARK_BAND_MM` of the baseline are candidates; each group of them is tested,
    over its run's height, as a vertical line (:func:`_upright_line_x`: one narrow run
    across most image rows, at one column from its top to its bottom; a QRS stroke drifts).
    """
    h, w = dark.shape
    reach = max(2, int(round(0.75 * px_per_mm)))
    half_h = int(round(MARK_BAND_MM * px_per_mm))
    search = int(round(MARK_SEARCH_MM * px_per_mm))
    xb, yb = int(round(x_expected)), int(round(baseline))
    c0, c1 = max(reach + 1, xb - search), min(w - reach - 2, xb + search)
    y0, y1 = max(0, yb - half_h), min(h, yb + half_h + 1)
    if c1 <= c0 or y1 - y0 < 3:
        return None
    ink = dark[y0:y1] > threshold
    cols, tops, bots = column_runs(ink[:, c0:c1 + 1])
    long_run = (bots - tops + 1) >= MARK_MIN_MM * px_per_mm
    found = []
    for a, b in _true_runs(np.isin(np.arange(c1 - c0 + 1), cols[long_run])):
        in_group = long_run & (cols >= a) & (cols <= b)
        top, bot = int(tops[in_group].min()), int(bots[in_group].max()) + 1
        cc = c0 + (a + b) // 2
        lo, hi = cc - reach, cc + reach + 1
        centre = _upright_line_x(ink[top:bot, lo:hi], dark[y0 + top:y0 + bot, lo - 1:hi + 1], px_per_mm)
        if centre is not None:
            found.append(lo + centre)
    return min(found, key=lambda x: abs(x - x_expected)) if found else None


def _true_runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """``(first, last)`` index of each run of ``True`` in a 1-D boolean array."""
    d = np.diff(np.r_[0, flags.view(np.int8), 0])
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1))


@dataclass
class SlantedAxes:
    """Each row's own time axis on a page seen at a slant: page columns of its time zero
    (``x_start``) and of its last sample (``x_end``), one per row."""

    x_start: np.ndarray
    x_end: np.ndarray


def slanted_axes(pen_starts, pen_ends, baselines, px_per_mm: float) -> SlantedAxes | None:
    """Per-row time axes where the rows' ends tell of a page seen at a slant, else None.

    A sheet tilted towards or away from the camera shows each row at its own scale: the
    rows' pen starts and ends lie on two straight lines that are not upright (a
    trapezoid). Rows all show the same seconds, so each row's time axis runs from its
    own start to its own end, both read off the lines fitted through every full row's.
    Needs three full rows or more whose starts and ends each fit their line to
    :data:`SLANT_FIT_MM`, and lines parting from upright by over :data:`SLANT_MIN_MM` and
    over :data:`SLANT_TREND` times the fit's worst residual.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.timebase import slanted_axes
    >>> ys = np.array([100.0, 300.0, 500.0])
    >>> axes = slanted_axes(100 - 0.05 * ys, 1100 + 0.05 * ys, ys, px_per_mm=4.0)
    >>> axes.x_start.round(1).tolist(), axes.x_end.round(1).tolist()
    ([95.0, 85.0, 75.0], [1105.0, 1115.0, 1125.0])
    >>> slanted_axes(np.array([95.0, 96.0, 95.0]), np.array([1100.0, 1099.0, 1100.0]), ys, 4.0) is None
    True
    """
    a, b, y = (np.asarray(v, float) for v in (pen_starts, pen_ends, baselines))
    full = np.flatnonzero((b - a) >= SLANT_FULL_ROW * np.max(b - a))
    if len(full) < 3:
        return None
    # every full row, or all but one where four or more (one row's path ran on or stopped
    # short): the set that fits its lines best
    subsets = [full] + ([np.delete(full, k) for k in range(len(full))] if len(full) >= 4 else [])
    worst, fits = min((_worst_line_residual(y[rows], (a[rows], b[rows])) for rows in subsets),
                      key=lambda found: found[0])
    if worst > SLANT_FIT_MM * px_per_mm:
        return None
    lean = max(abs(f[0]) for f in fits) * np.ptp(y[full])
    if lean <= max(SLANT_MIN_MM * px_per_mm, SLANT_TREND * worst):
        return None
    return SlantedAxes(np.polyval(fits[0], y), np.polyval(fits[1], y))


def _worst_line_residual(y: np.ndarray, series) -> tuple[float, list[np.ndarray]]:
    """The straight line through each of ``series`` against ``y``, and the worst residual."""
    fits = [np.polyfit(y, v, 1) for v in series]
    return max(float(np.max(np.abs(np.polyval(f, y) - v))) for f, v in zip(fits, series)), fits


@dataclass
class RowTiming:
    """Each row's trace proper (``starts``, ``ends``: page columns without the pulse), its
    pen's ends (:func:`pen_end`), and the page's time axis (:func:`time_axis`)."""

    starts: np.ndarray
    ends: np.ndarray
    pen_starts: np.ndarray
    pen_ends: np.ndarray
    x_start: float
    x_end: float
    row_seconds: float
    # the other guess of the time axis, with or without a row's lone end (printed_length_first
    # puts the first in x_start .. row_seconds), where it differs
    second_axis: tuple[float, float, float] | None = None
    after_pulses: tuple[float, ...] = ()  # pen starts of the rows with a pulse on their left

    @property
    def span(self) -> float:
        return self.x_end - self.x_start


def row_extents(traces, pulses) -> tuple[np.ndarray, np.ndarray]:
    """First and last page column of each row's trace proper: its path's extent, less
    the calibration pulse at either end."""
    starts, ends = [], []
    for tr, p in zip(traces, pulses):
        a, b = tr.extent()
        if p is not None and p.side == "left":
            a = p.trace_bound
        if p is not None and p.side == "right":
            b = p.trace_bound
        starts.append(a)
        ends.append(b)
    return np.array(starts, float), np.array(ends, float)


def printed_length_first(axis: tuple[float, float, float], without_lone: tuple[float, float, float]):
    """The pen ends' time axis and the guess without a row's lone end (:func:`time_axis`
    with ``drop_lone``), swapped where only the latter's rows have a printed length
    (:data:`PRINTED_ROW_LENGTHS_S`): a path run on past every other row's end (onto the
    background at the sheet's corner) ended no row. The other stays the second guess.

    Examples
    --------
    >>> from ecg_digitize.digitizer.timebase import printed_length_first
    >>> printed_length_first((150.0, 2310.0, 10.8), (150.0, 2148.0, 10.0))
    ((150.0, 2148.0, 10.0), (150.0, 2310.0, 10.8))
    """
    if without_lone[2] in PRINTED_ROW_LENGTHS_S and axis[2] not in PRINTED_ROW_LENGTHS_S:
        return without_lone, axis
    return axis, without_lone


def row_timing(traces, pulses, starts, ends, dark: np.ndarray, px_per_mm: float,
               px_per_s: float) -> RowTiming:
    """The rows' pen ends and the page's time axis (see :func:`time_axis`)."""
    pen_starts = np.array([pen_end(t, dark, int(a), -1) for t, a in zip(traces, starts)])
    pen_ends = np.array([pen_end(t, dark, int(b), +1) for t, b in zip(traces, ends)])
    width = dark.shape[1]
    axis = time_axis(pen_starts, pen_ends, pulses, px_per_mm, px_per_s, width=width)
    second = time_axis(pen_starts, pen_ends, pulses, px_per_mm, px_per_s, drop_lone=True, width=width)
    axis, second = printed_length_first(axis, second)
    left = [k for k, p in enumerate(pulses) if p is not None and p.side == "left"]
    return RowTiming(starts, ends, pen_starts, pen_ends, *axis,
                     second_axis=second if not np.allclose(second, axis) else None,
                     after_pulses=tuple(float(x) for x in pen_starts[left]))
