"""Stage 10: the lead panels: where each lead lies on the page, and its samples.

:func:`place_panels` lays the layout's panels over the rows (time zero from the column
separators where the page has them, else from the pen's ends; each lead change at its printed
mark where the marks stand off that axis); :func:`read_panels` turns
each panel's stretch of path into samples in mV. The web tool's hand-corrected lead boxes
are read by the same :func:`read_panels`, from the same trace view.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..geometry import LeadBox
from ..layouts import Panel, plan_panels
from ..record import STANDARD_LEADS
from .calibration import PageCalibration
from .extract import RowTrace
from .layout import LayoutChoice
from .signals import panel_samples
from .timebase import (MARK_SCALE_TOL, MARK_SCALE_TOL_REFRAMED, PRINTED_ROW_S, SOURCE_DT, RowTiming,
                       SlantedAxes, fitted_axis, marked_columns, separator_time_zero, slanted_axes,
                       snapped_row_length)

STRIP_LEAD = "II"  # a single-lead strip's lead is not read from the page
# PanelPlan.time_zero (and PageGeometry.time_zero) of a page seen at a slant
SLANTED_TIME_ZERO = "each row's pen ends (page seen at a slant)"
# a strip's row starting within this of the common left edge starts at it (mm)
STRIP_EDGE_MM = 1.5


@dataclass
class PanelPlan:
    """The layout's panels on the page: ``row_x0`` is each row's time zero (page column),
    ``px_per_s`` the page's time scale (the calibration's, or the lead-change marks'), and
    ``row_sizes`` each row's size over the page's where the page was seen at a slant
    (nearer the camera, its millimetres are more pixels, across and down), else None."""

    panels: list[Panel]
    leads: list[str]
    row_x0: np.ndarray
    x_start: float
    x_end: float
    time_zero: str
    px_per_s: float
    row_sizes: np.ndarray | None = None

    def row_size(self, row: int) -> float:
        """Row ``row``'s size over the page's (1.0 but on a page seen at a slant)."""
        return 1.0 if self.row_sizes is None else float(self.row_sizes[row])

    def lead_changes(self) -> dict[int, list[float]]:
        """Page columns where each row changes lead."""
        out: dict[int, list[float]] = {}
        for p in self.panels:
            if p.col > 0 and p.row < len(self.row_x0):
                out.setdefault(p.row, []).append(
                    float(self.row_x0[p.row] + p.x_offset_s * self.px_per_s * self.row_size(p.row)))
        return out

    def timed(self, cal: PageCalibration) -> PageCalibration:
        """``cal`` with the paper speed the plan's time scale stands for: where the
        lead-change marks gave it, the trace runs at that speed on the page's grid."""
        if self.px_per_s == cal.px_per_s:
            return cal
        mm_per_s = cal.mm_per_s * self.px_per_s / cal.px_per_s
        by = "the rows of the page seen at a slant are" if self.row_sizes is not None else \
            "the lead-change marks place the columns"
        note = (f"{by} {self.px_per_s / cal.px_per_s - 1:+.1%} off the "
                f"grid's {cal.mm_per_s:g} mm/s: the trace was read at {mm_per_s:.2f} mm/s of the grid")
        return replace(cal, mm_per_s=mm_per_s, warnings=cal.warnings + [note])


def place_panels(layout: LayoutChoice, timing: RowTiming, baselines: Sequence[float], mask: np.ndarray,
                 dark: np.ndarray, cal: PageCalibration, ink_threshold: float,
                 reframed: bool = False) -> PanelPlan:
    """The panels of ``layout`` over rows with ``baselines`` and time axis ``timing``.

    A strip's rows follow one another, each starting at the common left edge unless one
    clearly starts elsewhere. A 12-lead page's rows share time zero: the column
    separators, where the page has them, place it better than the pen's ends, whose
    reach depends on the pen's cap (:func:`~.timebase.separator_time_zero`). Where the
    printed lead-change marks stand farther off that axis than a pen's cap explains, and
    lie on one straight axis of their own, the panels start at the marks and take their
    time scale from them (:func:`~.timebase.lead_change_axis`, ink being ``dark`` above
    ``ink_threshold``; see :meth:`PanelPlan.timed`); marks found only near the pen ends'
    other guess (``timing.second_axis``, with or without a row's lone end) confirm that
    axis. On a ``reframed`` page (perspective
    or bending undone from the grid) the marks' scale must lie within
    :data:`~.timebase.MARK_SCALE_TOL_REFRAMED` of the grid's. A 12-lead page seen at a
    slant, and not reframed, gives each row its own time axis instead
    (:func:`~.timebase.slanted_axes`).
    """
    n_rows, seconds = len(baselines), timing.row_seconds
    if layout.n_rows == 0:
        own = timing.pen_starts
        row_x0 = np.where(np.abs(own - timing.x_start) <= STRIP_EDGE_MM * cal.px_per_mm, timing.x_start, own)
        last = (timing.ends[-1] - row_x0[-1]) / cal.px_per_s + SOURCE_DT
        duration = (n_rows - 1) * seconds + min(seconds, last)
        panels = plan_panels("strip", seconds, duration=duration, strip_lead=STRIP_LEAD)[:n_rows]
        return PanelPlan(panels, [STRIP_LEAD], row_x0, timing.x_start, timing.x_end, "pen ends", cal.px_per_s)
    # a reframed page's perspective was already undone (photo, U-Net views): its rows' ends part by noise
    slant = None if reframed else slanted_axes(timing.pen_starts, timing.pen_ends, baselines, cal.px_per_mm)
    if slant is not None:
        return _slanted_plan(layout.name, slant, cal)
    panels = plan_panels(layout.name, seconds)
    breaks = _breaks(panels)
    x_sep = separator_time_zero(mask, dark, list(baselines), breaks, timing.x_start, cal.px_per_s, cal.px_per_mm)
    x_start, x_end, time_zero, px_per_s = timing.x_start, timing.x_end, "pen ends", cal.px_per_s
    if x_sep is not None:
        x_start, x_end, time_zero = x_sep, x_end + (x_sep - x_start), "separators"
    elif breaks:
        found = _marked_axis(layout.name, timing, dark, ink_threshold, baselines, cal, reframed)
        if found is not None:
            panels, seconds, x_start, px_per_s, time_zero = found
            x_end = x_start + (seconds - SOURCE_DT) * px_per_s
    return PanelPlan(panels, list(STANDARD_LEADS), np.full(n_rows, x_start), x_start, x_end, time_zero, px_per_s)


def _slanted_plan(name: str, slant: SlantedAxes, cal: PageCalibration) -> PanelPlan:
    """The panels of a page seen at a slant, each row on its own time axis (``slant``). The
    rows show the seconds their median length does at the grid's time scale, snapped to a
    tenth where near one; the page's time scale is that of the median row."""
    lengths = slant.x_end - slant.x_start
    median = float(np.median(lengths))
    seconds = median / cal.px_per_s + SOURCE_DT
    seconds = snapped_row_length(seconds, next_to_pulse=True) or seconds
    return PanelPlan(plan_panels(name, seconds), list(STANDARD_LEADS), slant.x_start, float(slant.x_start.min()),
                     float(slant.x_end.max()), SLANTED_TIME_ZERO, median / (seconds - SOURCE_DT),
                     row_sizes=lengths / median)


def _marked_axis(name: str, timing: RowTiming, dark: np.ndarray, ink_threshold: float, baselines,
                 cal: PageCalibration, reframed: bool):
    """``(panels, row seconds, x_start, px_per_s, time_zero)`` where the printed lead-change
    marks lie on one axis near the pen ends' (:func:`~.timebase.lead_change_axis`), else
    near their other guess, with or without a row's lone end (``timing.second_axis``: a
    path run on along a fold); None where neither. Rows of :data:`PRINTED_ROW_S` starting where the trace leaves a row's
    calibration pulse (else at the pen ends' time zero) are further guesses, where the pen
    ends gave another length or start: every row stopped short (a faint trace broken into
    pieces on crumpled paper), or ran on to the sheet's edge along the grid's remains.
    Of these and the pen ends' time zero, the one whose 10 s rows find marks at the most
    lead changes (two at least), nearest where it expects them, is taken, with the grid's
    time scale where the marks do not fit one axis (a crumpled page's stand 1-2 % off it)."""
    tol = MARK_SCALE_TOL_REFRAMED if reframed else MARK_SCALE_TOL

    def marks_from(x_start: float, seconds: float):
        panels = plan_panels(name, seconds)
        return panels, marked_columns(dark, ink_threshold, list(baselines), _breaks(panels), x_start,
                                      cal.px_per_s, cal.px_per_mm)

    for x_start, _, seconds in filter(None, [(timing.x_start, timing.x_end, timing.row_seconds),
                                             timing.second_axis]):
        # marks fix each column's pixels, not its seconds: rows measured a tenth long fit
        # them as well with a scale a percent off, so the printed length is tried too
        lengths = [seconds] if abs(seconds / PRINTED_ROW_S - 1) > tol else sorted({seconds, PRINTED_ROW_S})
        fits = []
        for length in lengths:
            panels, found = marks_from(x_start, length)
            marks = fitted_axis(found, cal.px_per_s, tol)
            if marks is not None:
                fits.append((abs(marks.px_per_s / cal.px_per_s - 1), length, panels, marks))
        if fits:
            _, length, panels, marks = min(fits, key=lambda f: f[0])
            return panels, length, marks.x_start, marks.px_per_s, "lead-change marks"
    # 10 s rows: the start whose marks are found at the most lead changes, nearest where expected
    best = None
    for x0 in _distinct((timing.x_start, *timing.after_pulses), cal.px_per_mm):
        panels, found = marks_from(x0, PRINTED_ROW_S)
        off = np.median([abs(col - x0 - t * cal.px_per_s) for t, col in found.items()]) if found else 0.0
        score = (len(found), -off)
        if len(found) >= 2 and (best is None or score > best[0]):
            best = (score, x0, panels, found)
    if best is None:
        return None
    _, x0, panels, found = best
    if abs(timing.row_seconds - PRINTED_ROW_S) <= 0.1 and abs(x0 - timing.x_start) <= cal.px_per_mm:
        return None  # the pen ends' own axis, whose marks did not fit one line above
    marks = fitted_axis(found, cal.px_per_s, tol)
    if marks is not None:
        return panels, PRINTED_ROW_S, marks.x_start, marks.px_per_s, "lead-change marks"
    return panels, PRINTED_ROW_S, x0, cal.px_per_s, "pen ends"


def _breaks(panels) -> list[tuple[int, float]]:
    """``(row, seconds)`` of every lead change: each panel's start but a row's first."""
    return [(p.row, p.x_offset_s) for p in panels if p.col > 0]


def _distinct(values, tol: float) -> list[float]:
    """``values`` sorted, those within ``tol`` of the previous one kept left out.

    >>> _distinct([199.0, 114.0, 200.5], 8.0)
    [114.0, 199.0]
    """
    out: list[float] = []
    for v in sorted(values):
        if not out or v - out[-1] > tol:
            out.append(float(v))
    return out


@dataclass
class PanelTrace:
    """One panel and the path it is read from.

    ``x_start`` is the page column of the panel's row's time zero, ``band`` the box's top
    and bottom (page rows), ``boundaries`` the row's lead changes (page columns) and
    ``zero_y`` the row's 0 mV line where the page shows it (a pulse's foot), and
    ``trace_cols`` the page columns of the row's trace proper where a calibration pulse
    stands right at its start or end (:func:`pulse_free_columns`). ``size``: the row's
    size over the page's (:meth:`PanelPlan.row_size`).
    """

    panel: Panel
    trace: RowTrace
    x_start: float
    band: tuple[float, float]
    boundaries: Sequence[float] = ()
    zero_y: float | None = None
    trace_cols: tuple[float, float] | None = None
    size: float = 1.0


@dataclass
class PanelReading:
    """The samples read: ``signal`` (n x leads, mV, NaN where not plotted), the boxes
    read, and each lead's coverage (share of its samples whose column holds ink)."""

    signal: np.ndarray
    leads: list[str]
    boxes: list[LeadBox]
    coverage: dict[str, float]


def pulse_free_columns(pulse, trace) -> tuple[float, float] | None:
    """The page columns a row's trace proper may occupy, given its calibration pulse
    (None without one) and the row's path (:class:`~.extract.RowTrace`): beyond the
    pulse's edge, the columns whose ink still reaches the pulse's top (the edge drawn
    over a pen width or two) and one pen width more.

    Some machines start the trace right at the pulse's falling edge (the phone photos of
    ``phone-photos``, ECG-Image-Kit's pages): the edge is the pulse's, not the lead's
    first millivolt.
    """
    if pulse is None:
        return None
    width = float(trace.line_width)
    step = 1 if pulse.side == "left" else -1
    k = (pulse.x_right if step > 0 else pulse.x_left) + step - trace.x0
    top_y = pulse.foot_y - pulse.height_px
    if np.isfinite(top_y):
        reach = top_y + width + 1.0
        while 0 <= k < len(trace.top) and np.isfinite(trace.top[k]) and trace.top[k] <= reach \
                and trace.bottom[k] >= reach:
            k += step
    edge = trace.x0 + k - step                     # the edge's last column
    if step > 0:
        return edge + 1.0 + width, float("inf")
    return float("-inf"), edge - 1.0 - width


def read_panels(items: Sequence[PanelTrace], leads: Sequence[str], n_total: int, fs: float,
                cal: PageCalibration) -> PanelReading:
    """Each panel's samples at ``fs`` from its path (:func:`~.signals.panel_samples`).

    Full-width rhythm strips are read last, so that they win for their lead where their
    path holds ink.
    """
    leads = list(leads)
    sig = np.full((n_total, len(leads)), np.nan)
    covered: dict[str, list[float]] = {}
    boxes = []
    for item in sorted(items, key=lambda it: it.panel.t1 - it.panel.t0):
        p, tr, size = item.panel, item.trace, item.size
        px_per_s = cal.px_per_s * size
        n, v, base = panel_samples(tr, item.x_start, p, fs, px_per_s, cal.px_per_mv * size, cal.px_per_mm * size,
                                   boundaries=item.boundaries, zero_y=item.zero_y,
                                   px_per_mm_y=None if cal.px_per_mm_y is None else cal.px_per_mm_y * size,
                                   trace_cols=item.trace_cols)
        keep = n < n_total
        n, v = n[keep], v[keep]
        # where a rhythm strip's path has no ink, its lead keeps the short panel's samples
        read = np.isfinite(v)
        sig[n[read], leads.index(p.lead)] = v[read]
        covered.setdefault(p.lead, []).append(_coverage(item, n, fs, px_per_s))
        boxes.append(_box_read(item, n, fs, base, px_per_s))
    return PanelReading(sig, leads, boxes, {k: float(np.mean(v)) for k, v in covered.items()})


def _coverage(item: PanelTrace, n: np.ndarray, fs: float, px_per_s: float) -> float:
    """Share of the samples ``n`` whose nearest column of the path holds ink."""
    p, tr = item.panel, item.trace
    if not len(n) or not len(tr.y):
        return 0.0
    xs = item.x_start + (p.x_offset_s + n / fs - p.t0) * px_per_s
    cols = np.clip(np.round(xs - tr.x0).astype(int), 0, len(tr.y) - 1)
    return float(tr.covered[cols].mean())


def _box_read(item: PanelTrace, n: np.ndarray, fs: float, base: float, px_per_s: float) -> LeadBox:
    """The panel's box, its times those of the samples read; ``px_per_s`` its row's time scale."""
    p = item.panel
    x0 = float(item.x_start + p.x_offset_s * px_per_s)
    x1 = x0 + (p.t1 - p.t0) * px_per_s
    return LeadBox(lead=p.lead, row=p.row, col=p.col,
                   t0=n[0] / fs if len(n) else p.t0, t1=(n[-1] + 1) / fs if len(n) else p.t1,
                   x0=x0 + ((n[0] / fs - p.t0) * px_per_s if len(n) else 0.0),
                   baseline_y=float(base), inverted=p.inverted, size=float(item.size),
                   bbox=[x0, float(item.band[0]), x1, float(item.band[1])])
