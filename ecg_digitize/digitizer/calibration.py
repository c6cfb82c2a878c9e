"""Stages 4 and 7: the page's scale (px/mm), then its calibration (mm/s, mm/mV).

:func:`measure_scale` takes px/mm from the grid's period (:mod:`.grid`), else from the
image's dpi, else from the width of its rows (a 12-lead page's rows are 250 mm long).

:func:`calibrate` then reads the calibration pulses (:func:`find_pulses`), the 1 mV step
at the start (or end) of each row: the pen rises by the gain (5, 10 or 20 mm for 1 mV),
stays up for about 0.2 s, and comes back down. On the row's extracted path it is a flat
plateau well above the baseline, with vertical edges on both sides, within the first
(last) ~20 mm of the row. The pulses check the grid's scale (a period read at twice its
size), give the scale where there is no grid, and give gain and paper speed; what could
not be measured is assumed standard (25 mm/s, 10 mm/mV) and listed as guessed.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from ..errors import CalibrationError
from ..record import Calibration
from . import grid
from .rows import long_components

MM_PER_INCH = 25.4
STANDARD_ROW_MM = 250.0  # 10 s at 25 mm/s: the usual width of a 12-lead page's rows
SHORT_ROW_SHARE = 0.6    # rows under this share of it are short for a page (a grid read double?)
MAX_TRACE_SPAN_MM = 300.0  # the ink of a paper ECG spans at most about an A4/Letter width
PX_PER_MM_RANGE = (1.0, 60.0)  # a plausible page's scale (about 25-1500 dpi)
# the grid's period is trusted where its lines (darker than GRID_INK_DARKNESS, away from
# the trace) cover more than MIN_GRID_INK of the page
GRID_INK_DARKNESS = 0.08
MIN_GRID_INK = 0.004

STANDARD_GAINS = (5.0, 10.0, 20.0)
MAX_PULSE_MM = 25.0   # a 1 mV pulse at 20 mm/mV, with room for a page's scale error
PULSE_AGREE = 0.15    # a page's pulses agree in height and width to this fraction
STANDARD_SPEEDS = (25.0, 50.0)
PULSE_SECONDS = 0.2


@dataclass
class Pulse:
    """A detected pulse: page columns ``x_left..x_right`` (its edges), height in px,
    plateau width in px, and where the row's trace starts (left pulse) or ends (right)."""

    side: str
    x_left: int
    x_right: int
    height_px: float
    width_px: float
    trace_bound: int
    foot_y: float = float("nan")  # page row of the pulse's foot: the row's 0 mV line
    # the height read from the other foot, where the path beyond the pulse's inner edge
    # says another level (see :func:`consistent`)
    other_heights: tuple[float, ...] = ()


def find_pulse(trace, baseline: float, px_per_mm: float, *, side: str = "left",
               search_mm: float = 25.0, px_per_mm_y: float | None = None) -> Pulse | None:
    """Look for a calibration pulse at one end of a :class:`~.extract.RowTrace`.

    ``px_per_mm`` is the scale across the page (the pulse's width, the search's reach),
    ``px_per_mm_y`` the scale down it (its height, flatness) where the page is not square.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.extract import RowTrace
    >>> from ecg_digitize.digitizer.calibration import find_pulse
    >>> y = np.full(400, 100.0); y[20:60] = 20.0  # 80 px tall, 40 px wide, at 8 px/mm
    >>> top = y.copy(); bot = y.copy(); bot[20] = 100; bot[59] = 100
    >>> p = find_pulse(RowTrace(0, y, top, bot, 2.0), 100.0, 8.0)
    >>> round(p.height_px), round(p.width_px)
    (80, 40)
    """
    y = trace.y
    cov = np.isfinite(y)
    idx = np.nonzero(cov)[0]
    if len(idx) < 10:
        return None
    down = px_per_mm if px_per_mm_y is None else px_per_mm_y
    n = int(search_mm * px_per_mm)
    if side == "left":
        lo, hi = idx[0], min(len(y), idx[0] + n)
    else:
        lo, hi = max(0, idx[-1] - n), idx[-1] + 1
    seg = y[lo:hi]
    level = baseline
    up = np.isfinite(seg) & (level - seg > 2.5 * down)
    if not up.any():
        return None
    # candidate plateaus: runs of "up" columns, nearest the row's end first
    # A plateau is flat: split the high stretches where the path steps (a pulse edge
    # joined to its foot, when the foot itself lies above the row's baseline).
    step = np.zeros(len(seg), bool)
    step[1:] = np.abs(np.diff(seg)) > max(1.0, 0.2 * down)
    d = np.diff(np.r_[0, up.view(np.int8), 0])
    runs = []
    for s0, e0 in zip(np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]):
        cuts = [int(s0)] + [int(i) for i in np.nonzero(step[s0 + 1:e0])[0] + s0 + 1] + [int(e0)]
        runs.extend(zip(cuts[:-1], cuts[1:]))
    if side == "right":
        runs = runs[::-1]
    # the pen's centre line where its ink ends below (as the path's extremes are read)
    bottoms = trace.bottom[lo:hi] - max(0.0, (trace.line_width - 1) / 2)
    for s, e in runs:
        heights = _plateau_heights(seg, int(s), int(e), (px_per_mm, down), bottoms, side)
        if heights:
            break
    else:
        return None
    height = heights[0]
    s, e = int(s), int(e)
    width = e - s
    x_left, x_right = trace.x0 + lo + s, trace.x0 + lo + e - 1
    if side == "left":
        bound = _after_gap(cov, x_right - trace.x0, px_per_mm, +1) + trace.x0
    else:
        bound = _after_gap(cov, x_left - trace.x0, px_per_mm, -1) + trace.x0
    inner = seg[s:e][max(1, width // 5): max(2, width - width // 5)]
    foot_y = float(np.median(inner)) + float(height)
    return Pulse(side, int(x_left), int(x_right), float(height), float(width), int(bound), foot_y,
                 tuple(float(h) for h in heights[1:]))


def _plateau_heights(seg, s: int, e: int, px_per_mm_xy: tuple[float, float], bottoms: np.ndarray,
                     side: str = "left") -> list[float]:
    """Heights (px) of a flat plateau ``seg[s:e]`` above its feet, the likelier first;
    empty if not pulse-like (``px_per_mm_xy``: the scale across and down the page;
    ``side``: the row's end the pulse stands at; ``bottoms``: the pen's centre at each
    column's lowest ink)."""
    px_per_mm, down = px_per_mm_xy
    width = e - s
    if not (1.5 * px_per_mm <= width <= 14 * px_per_mm):
        return []
    plateau = seg[s:e]
    inner = plateau[max(1, width // 5): max(2, width - width // 5)]
    if len(inner) < 2 or np.ptp(inner) > 0.6 * down:
        return []
    top_level = float(np.median(inner))
    below = top_level + 2.5 * down
    # The foot is read on the pulse's outer side first: printouts that start the trace at
    # the falling edge start it at the signal's level, not the foot's. There the path's
    # level, unless the edge ends lower (the path may be a label's ink; a thin edge may
    # break). The path beyond the inner edge is the other reading: the trace may also
    # begin part-way up the outer edge (consistent() picks the one the rows agree on).
    path_foot = _path_foot(seg, s, e, px_per_mm, below, side)
    edge_foot = _edge_foot(bottoms, s, e, px_per_mm, side, below)
    if edge_foot is not None and (path_foot is None or edge_foot - path_foot >= 0.25 * down):
        outer = edge_foot
    else:
        outer = path_foot
    heights = []
    for foot in (outer, _path_foot(seg, s, e, px_per_mm, below, "right" if side == "left" else "left")):
        # 0.5 mV at the lowest gain is 2.5 mm; 1 mV at the highest, 20 mm
        if foot is not None and 4.0 * down <= foot - top_level <= MAX_PULSE_MM * down:
            if not any(abs(foot - top_level - h) < 0.25 * down for h in heights):
                heights.append(foot - top_level)
    return heights


def _path_foot(seg, s: int, e: int, px_per_mm: float, below: float, side: str) -> float | None:
    """The path's level within 1.5 mm of the plateau ``seg[s:e]`` on ``side`` (samples
    lower on the page than ``below`` only), or None."""
    if side == "left":
        near = seg[max(0, s - int(1.5 * px_per_mm)):max(0, s - 1)]
    else:
        near = seg[e + 1:e + int(1.5 * px_per_mm)]
    near = near[np.isfinite(near) & (near > below)]
    return float(np.median(near)) if len(near) else None


def _edge_foot(bottoms, s: int, e: int, px_per_mm: float, side: str, below: float) -> float | None:
    """Where the pulse's vertical edge on ``side`` ends (``bottoms``: the pen's centre at
    each column's lowest ink), or None where it reaches no lower on the page than
    ``below`` (no edge in view)."""
    k = max(2, int(1.5 * px_per_mm))  # a slanted or blurred edge spreads over columns
    edge = bottoms[max(0, s - k):s + 1] if side == "left" else bottoms[max(0, e - 1):e + k]
    edge = edge[np.isfinite(edge)]
    if not len(edge) or np.max(edge) <= below:
        return None
    return float(np.max(edge))


def _after_gap(cov: np.ndarray, edge: int, px_per_mm: float, direction: int) -> int:
    """Index where the trace proper begins after a pulse edge: after the first gap within
    3 mm when there is one, else 1.5 mm past the edge (the renderer's and most machines'
    pulse foot)."""
    n = len(cov)
    limit = int(3 * px_per_mm)
    start = edge + direction * max(2, int(0.3 * px_per_mm))
    seen_gap = False
    for step in range(limit):
        i = start + direction * step
        if not 0 <= i < n:
            break
        if not cov[i]:
            seen_gap = True
        elif seen_gap:
            return i
    return int(np.clip(edge + direction * round(1.5 * px_per_mm), 0, n - 1))


def consistent(pulses: list[Pulse | None]) -> list[Pulse | None]:
    """Drop pulses whose height or width differs by more than 15 % from the median pulse
    (a flat-topped wave mistaken for a pulse); keeps the list's positions.

    Examples
    --------
    >>> from ecg_digitize.digitizer.calibration import Pulse, consistent
    >>> a = Pulse("left", 0, 39, 79.0, 36.0, 50)
    >>> b = Pulse("left", 0, 39, 24.0, 15.0, 50)
    >>> [p is None for p in consistent([a, a, b, None])]
    [False, False, True, True]
    """
    found = [p for p in pulses if p is not None]
    # Machines draw a pulse on every row (or at least most): a lone one is a flat wave.
    if len(pulses) >= 3 and len(found) < len(pulses) / 2:
        return [None] * len(pulses)
    if len(found) < 2:
        return pulses
    pulses = _agreed_heights(pulses)
    found = [p for p in pulses if p is not None]
    h = float(np.median([p.height_px for p in found]))
    w = float(np.median([p.width_px for p in found]))
    return [p if p is not None and abs(p.height_px / h - 1) <= PULSE_AGREE
            and abs(p.width_px / w - 1) <= PULSE_AGREE else None for p in pulses]


def _agreed_heights(pulses: list[Pulse | None]) -> list[Pulse | None]:
    """Each pulse read at its first height, or where that is not within
    :data:`PULSE_AGREE` of the height most pulses of the page share, at its other reading nearest it
    (:attr:`Pulse.other_heights`): a page's pulses are all 1 mV."""
    found = [p for p in pulses if p is not None]
    if not any(p.other_heights for p in found):
        return pulses
    readings = [(p.height_px, *p.other_heights) for p in found]

    def support(v: float) -> tuple[int, int]:   # pulses agreeing, then first readings agreeing
        return (sum(any(abs(c / v - 1) <= PULSE_AGREE for c in r) for r in readings),
                sum(abs(r[0] / v - 1) <= PULSE_AGREE for r in readings))

    agreed = max((v for r in readings for v in r), key=support)
    out = []
    for p in pulses:
        if p is None:
            out.append(None)
            continue
        best = p.height_px   # its first reading, unless another agrees where it does not
        if abs(best / agreed - 1) > PULSE_AGREE:
            best = min((best, *p.other_heights), key=lambda c: abs(c / agreed - 1))
        out.append(replace(p, height_px=best, foot_y=p.foot_y + best - p.height_px, other_heights=()))
    return out


def gain_from_pulses(pulses: list[Pulse], px_per_mm: float,
                     px_per_mm_y: float | None = None) -> tuple[float | None, float | None]:
    """``(mm_per_mv, mm_per_s)`` from the median pulse, snapped to standard values when
    within 12 %; ``None`` where no pulse is available or the value is not standard.
    The pulse's height is read at ``px_per_mm_y`` (the scale down the page, where it is
    not square), its width at ``px_per_mm`` (across).

    Examples
    --------
    >>> from ecg_digitize.digitizer.calibration import Pulse, gain_from_pulses
    >>> gain_from_pulses([Pulse("left", 0, 39, 79.0, 40.0, 50)], 7.874)
    (10.0, 25.0)
    """
    if not pulses:
        return None, None
    h_mm = float(np.median([p.height_px for p in pulses])) / (px_per_mm if px_per_mm_y is None else px_per_mm_y)
    w_mm = float(np.median([p.width_px for p in pulses])) / px_per_mm
    gain = _snap(h_mm, STANDARD_GAINS)
    speed = _snap(w_mm / PULSE_SECONDS, STANDARD_SPEEDS, tol=0.25)
    return gain, speed


def _snap(value: float, choices, tol: float = 0.12) -> float | None:
    best = min(choices, key=lambda c: abs(value / c - 1))
    return float(best) if abs(value / best - 1) <= tol else None


# ---------------------------------------------------------------- stage 4: scale


@dataclass
class Scale:
    """The page's scale before the pulses are read.

    ``px_per_mm`` is the scale across the page; ``px_per_mm_y`` the scale down it where
    the grid is not square (:attr:`.grid.GridEstimate.square`), else ``None``.
    ``source`` is ``"grid"``, ``"dpi"`` or ``"page width"``; ``grid`` the grid's
    estimate (kept as evidence even where it was not used).
    """

    px_per_mm: float
    source: str
    grid: grid.GridEstimate
    warnings: list[str] = field(default_factory=list)
    px_per_mm_y: float | None = None

    @property
    def px_per_mm_down(self) -> float:
        """px per mm down the page (``px_per_mm`` where the page is square)."""
        return self.px_per_mm if self.px_per_mm_y is None else self.px_per_mm_y


def measure_scale(grid_dark: np.ndarray, mask: np.ndarray, dpi: float | None = None) -> Scale:
    """px/mm from the grid, else ``dpi``, else the rows' width taken as 250 mm.

    Parameters
    ----------
    grid_dark : ndarray
        The deskewed grid view.
    mask : ndarray of bool
        The trace's ink (kept out of the grid's spectrum).
    dpi : float, optional
        The image file's resolution.

    Raises
    ------
    CalibrationError
        A scale outside :data:`PX_PER_MM_RANGE`.

    Examples
    --------
    >>> from ecg_digitize.synth import render, simulate_12lead
    >>> from ecg_digitize.digitizer import greyscale, threshold
    >>> from ecg_digitize.digitizer.calibration import measure_scale
    >>> image, truth = render(*simulate_12lead(seed=0), dpi=200)
    >>> grid_dark = threshold.normalise_background(greyscale.grid_view(image))
    >>> _, ink = threshold.adaptive_otsu(threshold.normalise_background(greyscale.trace_view(image)))
    >>> scale = measure_scale(grid_dark, ink)
    >>> scale.source, round(scale.px_per_mm, 1), scale.px_per_mm_y
    ('grid', 7.9, None)
    """
    dilated = cv2.dilate(mask.view(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    est = grid.estimate_grid(grid_dark, trace_mask=dilated)
    grid_ink = float(((grid_dark > GRID_INK_DARKNESS) & ~dilated).mean())
    px_per_mm = est.px_per_mm if grid_ink > MIN_GRID_INK else None
    scale = Scale(px_per_mm, "grid", est)
    if px_per_mm is not None and not est.square:  # each axis its own scale
        scale = Scale(est.px_per_mm_x, "grid", est, px_per_mm_y=est.px_per_mm_y)
        scale.warnings.append(f"the page's pixels are not square: {est.px_per_mm_x:.3f} px/mm across, "
                              f"{est.px_per_mm_y:.3f} down")
    if px_per_mm is None:
        scale = _scale_without_grid(mask, dpi, est)
    elif _grid_lines_are_1mm(est.minor_contrast, mask, scale.px_per_mm, scale.px_per_mm_y):
        scale.px_per_mm *= 5
        scale.px_per_mm_y = None if scale.px_per_mm_y is None else 5 * scale.px_per_mm_y
        scale.warnings.append("the grid has no distinct 5 mm lines and at that scale the pen would be "
                              "implausibly wide: its lines were read as 1 mm apart")
    lo, hi = PX_PER_MM_RANGE
    for value in (scale.px_per_mm, scale.px_per_mm_down):
        if not (lo <= value <= hi):
            raise CalibrationError(f"implausible grid scale ({value:.2f} px/mm)")
    return scale


def _scale_without_grid(mask: np.ndarray, dpi: float | None, est: grid.GridEstimate) -> Scale:
    """The file's dpi, else the long curves' span taken as the standard row width."""
    if dpi:
        return Scale(dpi / MM_PER_INCH, "dpi", est)
    provisional = long_components(mask, 4.0)
    xs = np.nonzero(provisional.any(axis=0))[0]
    span = (xs[-1] - xs[0]) if len(xs) else mask.shape[1] * 0.8
    return Scale(span / STANDARD_ROW_MM, "page width", est)


def pen_thickness_px(mask: np.ndarray) -> float:
    """Median over columns of the thinnest vertical ink run: the pen width on flat stretches."""
    thinnest = []
    for col in mask[:, ::3].T:
        d = np.diff(np.r_[0, col.view(np.uint8), 0].astype(np.int8))
        starts, ends = np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]
        if len(starts):
            thinnest.append(int((ends - starts).min()))
    return float(np.median(thinnest)) if thinnest else 0.0


def _grid_lines_are_1mm(minor_contrast: float, mask, px_per_mm: float,
                        px_per_mm_y: float | None = None) -> bool:
    """True when the grid's "5 mm" period is really 1 mm: equal lines, an implausible pen
    and an implausibly wide trace (the pen's width is read down the page, at
    ``px_per_mm_y`` where the page is not square; the trace's span across it).

    Paper without major lines has no 1 mm-vs-5 mm contrast in its spectrum, so the comb
    takes the line spacing for 5 mm. ECG pens draw 0.1-0.5 mm: read five times too small,
    such a pen looks 1-2.5 mm wide. A blurred scan of dotted paper also hides the 5 mm
    lines and widens the pen, to 0.7-0.85 mm on our renders, so a pen of 0.6-0.95 mm only
    counts when the ink also spans more than any ECG paper is wide.
    """
    # real grids: 2 or more; equal-line paper about 1 (up to 1.5 once deskewed)
    if minor_contrast >= 1.75:   # grid.minor_line_contrast
        return False
    pen_mm = pen_thickness_px(mask) / (px_per_mm if px_per_mm_y is None else px_per_mm_y)
    cols = np.flatnonzero(mask.any(axis=0))
    span_mm = (cols[-1] - cols[0]) / px_per_mm if len(cols) else 0.0
    return pen_mm > 0.95 or (pen_mm > 0.6 and span_mm > MAX_TRACE_SPAN_MM)


# ---------------------------------------------------------------- stage 7: calibration


def find_pulses(traces, rows, px_per_mm: float, px_per_mm_y: float | None = None) -> list[Pulse | None]:
    """Each row's calibration pulse (None where none), all at the left ends or, where
    no row has one there, all at the right ends (a page puts them on one side);
    inconsistent ones dropped (:func:`consistent`). ``px_per_mm_y``: the scale down a
    page that is not square."""
    pulses = [find_pulse(tr, r.baseline, px_per_mm, side="left", px_per_mm_y=px_per_mm_y)
              for tr, r in zip(traces, rows)]
    if not any(pulses):
        pulses = [find_pulse(tr, r.baseline, px_per_mm, side="right", px_per_mm_y=px_per_mm_y)
                  for tr, r in zip(traces, rows)]
    return consistent(pulses)


@dataclass
class PageCalibration:
    """Scale, paper speed and gain of a page, where each came from, and what was assumed.

    ``px_per_mm`` is the scale across the page (time: :attr:`px_per_s`), ``px_per_mm_y``
    the scale down it (voltage: :attr:`px_per_mv`) where the page is not square, else None.
    """

    px_per_mm: float
    mm_per_s: float
    mm_per_mv: float
    scale_source: str
    guessed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    px_per_mm_y: float | None = None

    @property
    def px_per_mm_down(self) -> float:
        """px per mm down the page (``px_per_mm`` where the page is square)."""
        return self.px_per_mm if self.px_per_mm_y is None else self.px_per_mm_y

    @property
    def px_per_s(self) -> float:
        return self.px_per_mm * self.mm_per_s

    @property
    def px_per_mv(self) -> float:
        return self.px_per_mm_down * self.mm_per_mv

    def as_record_calibration(self) -> Calibration:
        return Calibration(px_per_mm=float(self.px_per_mm), mm_per_s=float(self.mm_per_s),
                           mm_per_mv=float(self.mm_per_mv), guessed=list(self.guessed),
                           px_per_mm_y=None if self.px_per_mm_y is None else float(self.px_per_mm_y))


def calibrate(scale: Scale, traces: list, pulses: list[Pulse | None], *,
              paper_speed: float | None = None, gain: float | None = None) -> PageCalibration:
    """The page's calibration from its scale and its rows' pulses.

    ``paper_speed`` and ``gain`` (mm/s, mm/mV) given by the user win; else the pulses
    give them where they are standard (speed only on a page with a grid), else 25 mm/s
    and 10 mm/mV are assumed and listed in ``guessed``. Without a grid, a 1 mV pulse of
    standard 10 mm gives the scale (guessed), unless that makes a 12-lead page's rows far
    from 250 mm long, where the rows' width gives it and the pulse the gain.
    """
    found = [p for p in pulses if p is not None]
    out = PageCalibration(scale.px_per_mm, 25.0, 10.0, scale.source, px_per_mm_y=scale.px_per_mm_y)
    if scale.source == "grid" and found:
        px_per_mm = _unless_grid_read_double(out.px_per_mm, found, traces, out.warnings, out.px_per_mm_y)
        if px_per_mm != out.px_per_mm and out.px_per_mm_y is not None:
            out.px_per_mm_y *= px_per_mm / out.px_per_mm
        out.px_per_mm = px_per_mm
    if scale.source != "grid" and found:
        _scale_from_pulses(out, found, traces, pulses)
    pulse_gain, pulse_speed = gain_from_pulses(found, out.px_per_mm, out.px_per_mm_y)
    if out.scale_source != "grid":
        out.guessed.append("px_per_mm")
        out.warnings.append(f"no grid found: scale taken from the {out.scale_source}"
                            + (" assuming a 10 mm/mV pulse" if out.scale_source == "pulse" else ""))
        pulse_gain = None if out.scale_source == "pulse" else pulse_gain
    _set_gain(out, gain, pulse_gain)
    _set_speed(out, paper_speed, pulse_speed if out.scale_source == "grid" else None)
    return out


def _scale_from_pulses(out: PageCalibration, found: list[Pulse], traces, pulses) -> None:
    """No grid: the pulses' height taken as 10 mm gives the scale, unless it makes a
    12-lead page's rows (3 or more) over 25 % off 250 mm; those rows, without their
    pulses, are then taken as 250 mm long."""
    from_pulse = float(np.median([p.height_px for p in found])) / 10.0
    longest_mm = _longest_row(traces) / from_pulse
    if out.scale_source == "page width" and len(traces) >= 3 and abs(longest_mm / STANDARD_ROW_MM - 1) > 0.25:
        out.px_per_mm, out.scale_source = _trace_span(traces, pulses) / STANDARD_ROW_MM, "row width (250 mm)"
        out.warnings.append(f"the pulses, taken as 10 mm, would make the rows {longest_mm:.0f} mm long")
    else:
        out.px_per_mm, out.scale_source = from_pulse, "pulse"


def _set_gain(out: PageCalibration, given: float | None, from_pulse: float | None) -> None:
    if given is not None:
        out.mm_per_mv = given
    elif from_pulse is not None:
        out.mm_per_mv = from_pulse
        if out.scale_source.startswith("row width"):   # the pulse disagreed with that scale
            out.guessed.append("mm_per_mv")
            out.warnings.append(f"gain {from_pulse:g} mm/mV from the pulse's height at the scale guessed "
                                "from the rows' width")
    else:
        out.guessed.append("mm_per_mv")
        out.warnings.append("gain not measured (no usable calibration pulse): assumed 10 mm/mV")


def _set_speed(out: PageCalibration, given: float | None, from_pulse: float | None) -> None:
    if given is not None:
        out.mm_per_s = given
    elif from_pulse is not None:
        out.mm_per_s = from_pulse
    else:
        out.guessed.append("mm_per_s")
        out.warnings.append("paper speed not measured: assumed 25 mm/s")


def _longest_row(traces) -> int:
    """The widest row's path, pulse included, in px."""
    return max(b - a for a, b in (t.extent() for t in traces))


def _trace_span(traces, pulses) -> float:
    """The widest row's trace proper (without its pulse), in px."""
    spans = []
    for t, p in zip(traces, pulses):
        a, b = t.extent()
        if p is not None:
            a, b = (p.trace_bound, b) if p.side == "left" else (a, p.trace_bound)
        spans.append(b - a)
    return float(max(spans))


def _unless_grid_read_double(px_per_mm: float, pulses: list, traces: list, warnings: list,
                             px_per_mm_y: float | None = None) -> float:
    """``px_per_mm``, or half of it where the grid's period was read at twice its size
    (``px_per_mm_y``, the scale down a page that is not square, reads the pulses' height).

    The sign: at the grid's scale the rows are short for a page (under
    ``SHORT_ROW_SHARE`` of the standard 250 mm) and the pulses not standard (gain or
    speed), while at half of it the longest row is 250 mm (to 15 %) and the pulses are
    standard in both (10 mm/mV, 0.2 s at 25 mm/s, or the like). A narrow pulse alone
    (0.1 s) reads standard at half the scale too; the row's length tells them apart.
    """
    longest = _longest_row(traces)
    half = px_per_mm / 2
    half_y = None if px_per_mm_y is None else px_per_mm_y / 2
    if (longest / px_per_mm >= SHORT_ROW_SHARE * STANDARD_ROW_MM
            or abs(longest / half / STANDARD_ROW_MM - 1) > 0.15
            or None not in gain_from_pulses(pulses, px_per_mm, px_per_mm_y)
            or None in gain_from_pulses(pulses, half, half_y)):
        return px_per_mm
    warnings.append(f"the grid's period was read at twice its size ({px_per_mm:.2f} px/mm): at half of it "
                    f"the rows are {longest / half:.0f} mm long and the pulses standard")
    return half
