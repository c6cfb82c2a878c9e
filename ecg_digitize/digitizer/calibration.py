"""Stage 5: the calibration pulse (1 mV step), which gives the gain in mm/mV.

The pulse is a rectangle at the start (or end) of a row: the pen rises by the gain
(5, 10 or 20 mm for 1 mV), stays up for about 0.2 s, and comes back down. On the row's
extracted path it is a flat plateau well above the baseline, with vertical edges on both
sides, within the first (last) ~20 mm of the row.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STANDARD_GAINS = (5.0, 10.0, 20.0)
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


def find_pulse(trace, baseline: float, px_per_mm: float, *, side: str = "left",
               search_mm: float = 25.0) -> Pulse | None:
    """Look for a calibration pulse at one end of a :class:`~.extract.RowTrace`.

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
    n = int(search_mm * px_per_mm)
    if side == "left":
        lo, hi = idx[0], min(len(y), idx[0] + n)
    else:
        lo, hi = max(0, idx[-1] - n), idx[-1] + 1
    seg = y[lo:hi]
    level = baseline
    up = np.isfinite(seg) & (level - seg > 2.5 * px_per_mm)
    if not up.any():
        return None
    # candidate plateaus: runs of "up" columns, nearest the row's end first
    # A plateau is flat: split the high stretches where the path steps (a pulse edge
    # joined to its foot, when the foot itself lies above the row's baseline).
    step = np.zeros(len(seg), bool)
    step[1:] = np.abs(np.diff(seg)) > max(1.0, 0.2 * px_per_mm)
    d = np.diff(np.r_[0, up.view(np.int8), 0])
    runs = []
    for s0, e0 in zip(np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]):
        cuts = [int(s0)] + [int(i) for i in np.nonzero(step[s0 + 1:e0])[0] + s0 + 1] + [int(e0)]
        runs.extend(zip(cuts[:-1], cuts[1:]))
    if side == "right":
        runs = runs[::-1]
    bottoms = trace.bottom[lo:hi]
    for s, e in runs:
        height = _plateau_height(seg, int(s), int(e), px_per_mm, level, bottoms)
        if height is not None:
            break
    else:
        return None
    s, e = int(s), int(e)
    width = e - s
    x_left, x_right = trace.x0 + lo + s, trace.x0 + lo + e - 1
    if side == "left":
        bound = _after_gap(cov, x_right - trace.x0, px_per_mm, +1) + trace.x0
    else:
        bound = _after_gap(cov, x_left - trace.x0, px_per_mm, -1) + trace.x0
    inner = seg[s:e][max(1, width // 5): max(2, width - width // 5)]
    foot_y = float(np.median(inner)) + float(height)
    return Pulse(side, int(x_left), int(x_right), float(height), float(width), int(bound), foot_y)


def _plateau_height(seg, s: int, e: int, px_per_mm: float, level: float,
                    bottoms: np.ndarray | None = None) -> float | None:
    """Height (px) of a flat plateau ``seg[s:e]`` above its feet, or None if not pulse-like."""
    width = e - s
    if not (1.5 * px_per_mm <= width <= 14 * px_per_mm):
        return None
    plateau = seg[s:e]
    inner = plateau[max(1, width // 5): max(2, width - width // 5)]
    if len(inner) < 2 or np.ptp(inner) > 0.6 * px_per_mm:
        return None
    # foot level: the path just outside the plateau on both sides
    before = seg[max(0, s - int(1.5 * px_per_mm)):max(0, s - 1)]
    after = seg[e + 1:e + int(1.5 * px_per_mm)]
    feet = np.r_[before[np.isfinite(before)], after[np.isfinite(after)]]
    top_level = float(np.median(inner))
    feet = feet[feet > top_level + 2.5 * px_per_mm]
    if len(feet):
        foot = float(np.median(feet))
    elif bottoms is not None:
        # no foot drawn (the pulse stands alone): its vertical edges end at the foot level
        k = max(2, int(0.5 * px_per_mm))
        edges = np.r_[bottoms[max(0, s - k):s + 1], bottoms[max(0, e - 1):e + k]]
        edges = edges[np.isfinite(edges)]
        if not len(edges):
            return None
        foot = float(np.max(edges)) - 0.5 * max(1.0, 0.25 * px_per_mm)
    else:
        foot = level
    height = foot - top_level
    return height if height >= 4.0 * px_per_mm else None  # 0.5 mV at the lowest gain is 2.5 mm


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
    h = float(np.median([p.height_px for p in found]))
    w = float(np.median([p.width_px for p in found]))
    return [p if p is not None and abs(p.height_px / h - 1) <= 0.15 and abs(p.width_px / w - 1) <= 0.15
            else None for p in pulses]


def gain_from_pulses(pulses: list[Pulse], px_per_mm: float) -> tuple[float | None, float | None]:
    """``(mm_per_mv, mm_per_s)`` from the median pulse, snapped to standard values when
    within 12 %; ``None`` where no pulse is available or the value is not standard.

    Examples
    --------
    >>> from ecg_digitize.digitizer.calibration import Pulse, gain_from_pulses
    >>> gain_from_pulses([Pulse("left", 0, 39, 79.0, 40.0, 50)], 7.874)
    (10.0, 25.0)
    """
    if not pulses:
        return None, None
    h_mm = float(np.median([p.height_px for p in pulses])) / px_per_mm
    w_mm = float(np.median([p.width_px for p in pulses])) / px_per_mm
    gain = _snap(h_mm, STANDARD_GAINS)
    speed = _snap(w_mm / PULSE_SECONDS, STANDARD_SPEEDS, tol=0.25)
    return gain, speed


def _snap(value: float, choices, tol: float = 0.12) -> float | None:
    best = min(choices, key=lambda c: abs(value / c - 1))
    return float(best) if abs(value / best - 1) <= tol else None
