"""Stage 6 (paths): per-row trace extraction by dynamic programming over ink runs.

Each pixel column of a row's band holds a few vertical *runs* of trace pixels. A path
picks at most one run per column; it pays for vertical gaps between consecutive runs
(a trace is continuous, so the right run touches the last one), for columns it skips
(removed grid lines, faint ink) and a little for straying from the row's baseline
(to stay on its own trace where a neighbour's QRS crosses into the band). Viterbi finds
the cheapest path; because whole runs are kept, a steep QRS column keeps its extreme.
Where the path dropped from a narrow spike's tip to the spike's foot for a few columns
(both touch their neighbours, and the baseline pull prefers the foot),
:func:`_restore_spike_tips` puts it back on the tip.

Where two rows' paths share ink (a deep S wave meeting the R wave of the row below),
:func:`separate_neighbours` gives each row only its own side of it. Once the layout has
placed the lead changes, :func:`redraw_at_lead_changes` traces the path again around each
(where the trace jumps) and leaves the separator ticks' free ends out.

Each chosen run becomes one sample per column: a short run gives its sub-pixel
darkness-weighted centre; a long run (the pen moved vertically within the column) gives
its top or bottom when it is a peak or a trough relative to the neighbouring columns
(minus half a line width), else its middle.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from scipy.ndimage import label

from ._compiled import lazy_njit

# The widest notch (mm) that _restore_spike_tips fills: ECG-Image-Kit pages saved as 1-bit
# put a black grid line along the baseline under a narrow R wave, and the path took the
# line across the wave's foot for up to 9 columns (1.2 mm at 200 dpi). ECG-Image-Kit scans
# of folds 1-9 (`python benchmarks/eik_accuracy.py --folds 1-9 -n 10 --only "200 dpi PNG"
# 1-bit --method classical`, this constant set to each value), G4 / PNG / dithered: 0.8 mm
# 17.25 / 24.65 / 19.90 dB, 1.6 mm 17.42 / 24.71 / 20.11, 2.4 mm G4 17.42. A notch is
# only filled where every one of its columns holds ink reaching the flanks' height.
NOTCH_MM = 1.6
# How far apart (px) the row crossings of one steep stroke may lie and still be one stair
# of the pen's pixel staircase (:func:`_destair`). Anti-aliased edges place a crossing to
# a few hundredths of a pixel; a 1-bit page's to the pixel only, so its stairs are a pixel
# wide and their crossings wander within that. ECG-Image-Kit scans of folds 1-9
# (`python benchmarks/eik_accuracy.py --folds 1-9 -n 10 --only "200 dpi PNG" 1-bit
# --method classical`, the tolerance set to each value for all pages), PNG / G4 /
# dithered: 0.05 px 24.70 / 17.51 / 20.11, 0.12 24.60 / 17.81 / 20.32, 0.3 24.16 /
# 18.60 / 20.58, 0.5 22.60 / 19.02 / 20.66, 0.7 - / 19.30 / 20.29, 1.0 - / 18.27 / 18.77 dB.
STAIR_PX = 0.05
BILEVEL_STAIR_PX = 0.6
# Ink columns a run may continue from (within the look-back's columns): the last two on a
# row's path, which keeps the path on a steep stroke's thin pieces. Within the window
# traced again at a lead change, four: there a speck in the gap (the end of a printed
# lead-change bar lighter than the pen, on khan2021 scans) cut the path off from the
# trace beyond it, and it climbed the speck and a lead label's letter instead.
# `python benchmarks/real_pictures.py --sets khan2021`, limb-lead self-consistency
# (mean of medians): 2 / 4 / 6 columns 14.33 / 15.07 / 15.08 dB; four on the whole row
# cost ECG-Image-Kit 1-bit pages of folds 1-9 1.1 dB (G4) and 0.5 dB (dithered).
LOOK_BACK_COLUMNS = 2
LEAD_CHANGE_LOOK_BACK_COLUMNS = 4
# A thin stroke that a threshold broke: on pages under FAINT_BRIDGE_MAX_PX_PER_MM (low
# resolution, a spike a column or two wide), a narrow R wave's tip stands apart from its
# strokes by rows of fainter ink (a one-pixel stroke between two columns leaves each half
# its darkness), and the path skipped its column and read the spike cut off where the
# strokes part (ecg-image-kit-photos ecg00019, 2.7 px/mm: R waves cut below their tips in
# its `--overlay`). Rows beyond a run
# at least FAINT_INK_SHARE as dark as the band's faintest ink bridge such a gap
# (:func:`_faint_reach`). On every page, our renderer's 200 dpi scans of fold 9 lost
# 0.1-0.2 dB (their JPEG ringing and noise bridge too; `python
# benchmarks/digitize_accuracy.py --folds 9 -n 12`, at most 3 rows bridged), hence the
# resolution limit. ecg-image-kit-photos (`python benchmarks/real_pictures.py --sets
# ecg-image-kit-photos -v`) with at most 3 / 8 / 12 / 20 rows bridged, or any: ecg00019
# 1.11 / 4.75 / 4.45 / 4.45 / 4.45 dB, ecg00054 1.17 / -0.47 / -0.74 / 4.66 / 4.66.
FAINT_BRIDGE_MAX_PX_PER_MM = 5.0
FAINT_INK_SHARE = 0.5
# Credit (a fraction of the skip cost) for the runs of a row's own path where a window
# around a lead change is traced again: away from the jump the own path, found with the
# whole row's context, wins a tie (a dithered page's lead label had won one).
OWN_PATH_CREDIT = 0.3


@dataclass
class RowTrace:
    """The path through one row: ``y`` (sub-pixel, NaN where not covered) per column
    ``x0 .. x0 + len(y) - 1`` of the page, with the chosen runs' ``top`` and ``bottom``."""

    x0: int
    y: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    line_width: float
    # The path as a polyline with sub-column detail on steep strokes (page x, page y),
    # sorted by x; empty when not computed.
    px: np.ndarray = field(default_factory=lambda: np.empty(0))
    py: np.ndarray = field(default_factory=lambda: np.empty(0))
    # per column: the x of a peak's or trough's apex (middle of its tied columns), else NaN
    tip_x: np.ndarray = field(default_factory=lambda: np.empty(0))
    # what the path was traced in: (y_lo, y_hi, baseline, px_per_mm)
    band: tuple = ()
    # the stairs' width (:data:`STAIR_PX`, :data:`BILEVEL_STAIR_PX`) its polyline was made with
    stair_px: float = STAIR_PX

    @property
    def covered(self) -> np.ndarray:
        return np.isfinite(self.y)

    def extent(self) -> tuple[int, int]:
        """First and last covered page column (or ``(x0, x0 - 1)`` when empty)."""
        idx = np.nonzero(self.covered)[0]
        if len(idx) == 0:
            return self.x0, self.x0 - 1
        return self.x0 + int(idx[0]), self.x0 + int(idx[-1])


def column_runs(band: np.ndarray):
    """Vertical runs of ``True`` in each column of a boolean band.

    Returns ``(cols, tops, bottoms)`` sorted by column then top (bottom inclusive).

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.extract import column_runs
    >>> b = np.zeros((6, 2), bool); b[1:3, 0] = True; b[4, 0] = True; b[0:6, 1] = True
    >>> [a.tolist() for a in column_runs(b)]
    [[0, 0, 1], [1, 4, 0], [2, 4, 5]]
    """
    t = np.ascontiguousarray(band.T).view(np.int8)
    padded = np.zeros((t.shape[0], t.shape[1] + 2), np.int8)
    padded[:, 1:-1] = t
    d = np.diff(padded, axis=1)
    # one pass over the changes (+1 a run starts, -1 it ended), in column-major order
    at = np.flatnonzero(d)
    starts = d.ravel()[at] == 1
    n = d.shape[1]
    s, e = at[starts], at[~starts]
    return s // n, s % n, e % n - 1


def trace_row(mask: np.ndarray, dark: np.ndarray, y_lo: int, y_hi: int, baseline: float,
              x_lo: int, x_hi: int, *, px_per_mm: float, stair_px: float = STAIR_PX,
              faint_bridges: bool = False) -> RowTrace:
    """Follow one row's trace between page columns ``x_lo..x_hi`` inside rows ``y_lo..y_hi``.

    Parameters
    ----------
    mask : ndarray of bool
        Trace pixels of the (deskewed) page.
    dark : ndarray
        Normalised darkness of the trace view (weights for sub-pixel centres).
    y_lo, y_hi : int
        The band (page rows) the trace may use.
    baseline : float
        The row's isoelectric level (page row).
    x_lo, x_hi : int
        Page columns to search.
    px_per_mm : float
        Scale, for the costs and the peak margins.
    stair_px : float
        How far apart a steep stroke's row crossings may lie in one stair of its pixel
        staircase (:data:`BILEVEL_STAIR_PX` for a 1-bit page).
    faint_bridges : bool
        Whether rows of faint ink beyond a run bridge a gap to the next column's run
        (:func:`_faint_reach`; on darkness views of low-resolution pages).

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.extract import trace_row
    >>> mask = np.zeros((100, 200), bool)
    >>> y = (50 + 20 * np.sin(np.arange(200) / 15)).round().astype(int)
    >>> mask[y, np.arange(200)] = True
    >>> mask[y + 1, np.arange(200)] = True
    >>> row = trace_row(mask, mask.astype(float), 0, 99, 50.0, 0, 199, px_per_mm=8.0)
    >>> bool(np.nanmax(np.abs(row.y - (y + 0.5))) < 1.0)
    True
    """
    y_lo, y_hi = max(0, int(y_lo)), min(mask.shape[0] - 1, int(y_hi))
    x_lo, x_hi = max(0, int(x_lo)), min(mask.shape[1] - 1, int(x_hi))
    band = mask[y_lo:y_hi + 1, x_lo:x_hi + 1]
    width = band.shape[1]
    cols, tops, bots = column_runs(band)
    empty = RowTrace(x_lo, np.full(width, np.nan), np.full(width, np.nan), np.full(width, np.nan), 1.0)
    if len(cols) == 0:
        return empty
    reach = _faint_reach(cols, tops, bots, dark[y_lo:y_hi + 1, x_lo:x_hi + 1], band) if faint_bridges else None
    chosen = _chosen_runs(_viterbi(cols, tops, bots, width, baseline - y_lo, px_per_mm, reach=reach),
                          cols, width)
    has = chosen >= 0
    _restore_spike_tips(chosen, cols, tops, bots, baseline - y_lo, _line_width(chosen, tops, bots),
                        px_per_mm)
    if stair_px > STAIR_PX:   # a 1-bit page (see _destair)
        _fill_skipped_columns(chosen, cols, tops, bots, _line_width(chosen, tops, bots))
    top, bot = _run_rows(chosen, tops, bots, y_lo)
    line_w = _line_width(chosen, tops, bots)
    y, tip_x = _column_values(top, bot, has, line_w, dark, x_lo)
    px, py = _polyline(y, tip_x, top, bot, has, line_w, dark, x_lo, stair_px)
    return RowTrace(x_lo, y, top, bot, line_w, px, py, tip_x,
                    (y_lo, y_hi, baseline, px_per_mm), stair_px)


def _faint_reach(cols, tops, bots, dark: np.ndarray, band: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How many rows of faint ink continue each run up and down its column: below the
    ink's threshold, but at least :data:`FAINT_INK_SHARE` as dark as the band's faintest
    ink (its 1st percentile). ``dark`` and ``band`` (the ink, holding the runs) are the
    band's.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.extract import _faint_reach, column_runs
    >>> dark = np.zeros((12, 1)); dark[2:5, 0] = 0.9; dark[5:7, 0] = 0.45; dark[7:10, 0] = 0.8
    >>> band = dark > 0.5                       # a stroke the threshold broke at rows 5-6
    >>> cols, tops, bots = column_runs(band)
    >>> [r.tolist() for r in _faint_reach(cols, tops, bots, dark, band)]   # (up, down) per run
    [[0, 2], [2, 0]]
    """
    level = FAINT_INK_SHARE * float(np.percentile(dark[band], 1))
    f_cols, f_tops, f_bots = column_runs((dark >= level) & ~band)
    if len(f_cols) == 0:
        return np.zeros(len(cols), int), np.zeros(len(cols), int)
    # a faint run touching a run ends in the row above it or starts in the row below;
    # runs sort by column, then row, so these keys are sorted
    h = band.shape[0]
    lengths = f_bots - f_tops + 1
    up = _value_at(f_cols * h + f_bots, lengths, cols * h + tops - 1)
    down = _value_at(f_cols * h + f_tops, lengths, cols * h + bots + 1)
    return up, down


def _value_at(keys: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """``values`` at the sorted ``keys`` equal to ``wanted``, 0 where no key is."""
    i = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    return np.where(keys[i] == wanted, values[i], 0)


def _chosen_runs(path, cols, width: int) -> np.ndarray:
    """The run index the ``path`` (run indices) takes in each of ``width`` columns
    (-1: none); ``cols``: each run's column."""
    chosen = np.full(width, -1)
    chosen[cols[path]] = path
    return chosen


def _run_rows(chosen, tops, bots, y_lo: int) -> tuple[np.ndarray, np.ndarray]:
    """Page rows of the top and bottom of each column's chosen run (NaN: none)."""
    on = chosen >= 0
    k = np.maximum(chosen, 0)
    return np.where(on, tops[k] + y_lo, np.nan), np.where(on, bots[k] + y_lo, np.nan)


def _line_width(chosen, tops, bots) -> float:
    """The pen's line width: the thinnest third of the path's columns are its flat
    stretches, whose run is the line width."""
    has = chosen >= 0
    return float(np.percentile((bots - tops + 1)[chosen[has]], 30)) if has.any() else 1.0


def _viterbi(cols, tops, bots, width, baseline, px_per_mm, free=None, pull=None, pen=None, bonus=None,
             back_cols=LOOK_BACK_COLUMNS, reach=None):
    """Cheapest path over runs: the index of the run it takes in each column it covers,
    left to right.

    ``free``: columns (bool per column) where the trace may jump (a lead change): a gap
    into them costs at most a token (``leap``). ``pull``: the columns (bool per column)
    that charge for straying from the ``baseline``; all when None. ``pen``: the line's
    width in px, else the median run's. ``bonus``: a credit per run (float per run).
    ``back_cols``: how many of the last ink columns a run may continue from
    (:data:`LOOK_BACK_COLUMNS`). ``reach``: rows of faint ink above and below each run
    (:func:`_faint_reach`), counted as the run's own for the vertical gaps.

    Only columns with ink are visited; an empty column's cost is the skip cost, which
    the look-back's column distance already charges. The scan itself is compiled
    by numba (:func:`_viterbi_scan`): a row has a few thousand runs, each looking back at the runs
    of the last ink columns, which is too many small steps for numpy.
    """
    skip = 1.5                         # per uncovered column
    gap = 1.0                          # per pixel of vertical gap between runs
    stray = 0.25 / (4 * px_per_mm)     # per column, per pixel away from the baseline
    jump = 6.0 * px_per_mm             # restarting after a long gap
    leap = 0.05                        # most a gap costs in a ``free`` column
    max_back = max(3, int(round(0.8 * px_per_mm)))
    ink_x, first = np.unique(cols, return_index=True)
    ends = np.r_[first[1:], len(cols)]
    mids = (tops + bots) / 2.0
    # capped below the skip cost: ink that continues the path is always worth taking
    unary = np.minimum(stray * np.maximum(0.0, np.abs(mids - baseline) - 1.5 * px_per_mm), 0.8 * skip)
    if pull is not None:
        unary = np.where(pull[cols], unary, 0.0)
    # Runs thinner than the pen are specks (anti-aliasing between two close strokes, grid
    # remnants): where a speck and the trace both touch the path, take the trace.
    lengths = bots - tops + 1
    pen = float(np.clip(np.median(lengths) if pen is None else pen, 1.0, max(1.0, 0.6 * px_per_mm)))
    unary = unary - 0.5 * np.minimum(lengths, pen) / pen
    if bonus is not None:
        unary = unary - bonus
    # a jump into a free column costs at most `leap`, a token: between paths otherwise
    # equal, the one that stays on its stroke wins
    cap = np.where(np.asarray(free, bool)[ink_x], leap, np.inf) if free is not None else np.full(len(ink_x), np.inf)
    # a gap that faint ink bridges (a stroke the threshold broke) costs nothing
    reach_tops, reach_bots = (tops, bots) if reach is None else (tops - reach[0], bots + reach[1])
    cost, back = _viterbi_scan(ink_x.astype(np.int64), first.astype(np.int64), ends.astype(np.int64),
                                reach_tops.astype(np.int64), reach_bots.astype(np.int64), unary.astype(np.float64),
                                cap, skip, gap, jump, max_back, back_cols)
    # the cheapest end: every later column uncovered (first of equals, as a scan would)
    if len(cost) == 0:
        return np.zeros(0, np.int64)
    return _backtrack(back, int(np.argmin(cost + skip * (width - 1 - cols))))


@lazy_njit
def _viterbi_scan(ink_x, first, ends, tops, bots, unary, cap, skip, gap, jump, max_back, back_cols):
    """The Viterbi recursion of :func:`_viterbi`: each run's cheapest cost and the run
    before it (-1: the path starts there). Runs of ink column ``k`` are
    ``first[k]:ends[k]``; ``cap[k]`` is the most a gap into column ``k`` costs.

    A run continues from a run of the last ``back_cols`` ink columns within ``max_back`` columns
    (paying ``skip`` per column skipped and ``gap`` per pixel of vertical gap), or
    starts anew: either at the page's first column, every column before uncovered, or
    after a long gap (``jump``) from the cheapest run that has left the look-back window.
    """
    n_runs = len(tops)
    cost = np.zeros(n_runs)
    back = np.full(n_runs, -1, np.int64)
    n_cols = len(ink_x)
    col_best = np.empty(n_cols)       # per ink column: min over its runs of cost - skip * x
    col_arg = np.empty(n_cols, np.int64)
    best_any, best_any_idx, ptr = np.inf, -1, 0
    for k in range(n_cols):
        x = ink_x[k]
        lim = x - max_back
        while ink_x[ptr] < lim:       # columns leaving the look-back window feed long jumps
            if col_best[ptr] < best_any:
                best_any, best_any_idx = col_best[ptr], col_arg[ptr]
            ptr += 1
        start_c = skip * x            # start here: every earlier column uncovered
        start_k = -1
        if best_any_idx >= 0:
            jump_c = best_any + skip * (x - 1) + jump
            if jump_c < start_c:
                start_c, start_k = jump_c, best_any_idx
        cb, ca = np.inf, -1
        for i in range(first[k], ends[k]):
            above, below = tops[i] - 1, bots[i] + 1   # the rows just outside run i
            c_best, k_best = start_c, start_k
            for q in range(max(0, k - back_cols), k):
                if ink_x[q] < lim:
                    continue
                base = skip * (x - ink_x[q] - 1)
                for j in range(first[q], ends[q]):
                    d = max(above - bots[j], tops[j] - below)   # gap rows, j above or below i
                    c = cost[j] + base
                    if d > 0:
                        c += min(d * gap, cap[k])
                    if c < c_best:
                        c_best, k_best = c, j
            c_best += unary[i]
            cost[i] = c_best
            back[i] = k_best
            if c_best - skip * x < cb:
                cb, ca = c_best - skip * x, i
        col_best[k] = cb
        col_arg[k] = ca
    return cost, back


@lazy_njit
def _backtrack(back, end):
    """The runs of the path ending at run ``end``, first to last (``back``: each run's
    predecessor, -1 at the path's start)."""
    n, i = 0, end
    while i >= 0:
        n += 1
        i = back[i]
    path = np.empty(n, np.int64)
    i = end
    for k in range(n - 1, -1, -1):
        path[k] = i
        i = back[i]
    return path


def _restore_spike_tips(chosen, cols, tops, bots, baseline: float, line_w: float,
                        px_per_mm: float) -> None:
    """Put the path back on a narrow spike's tip where it dropped to the spike's foot.

    A narrow R wave's up- and down-strokes share a few columns; there a column holds the
    tip and, apart from it, a short run at the spike's foot (where the two strokes part,
    or the pen-core threshold split the line). Both touch the neighbouring columns' runs,
    so the path's gap cost cannot tell them apart, and its pull towards the baseline
    takes the foot: the tip (often 1-2 mV) is lost. A notch of at most :data:`NOTCH_MM` of
    columns whose runs all stop more than a line width short of both flanks' extreme,
    while each of those columns holds a run reaching it, connected to its neighbours, is
    such a tip: the path takes those runs instead (``chosen`` is modified in place), if
    they lie further from the ``baseline`` (the pull it undoes is towards the baseline).
    A real ECG does not dip a line width and come back within a few columns (a few ms),
    nor leave ink at a spike's height in every column of a dip.
    """
    max_width = max(1, int(round(NOTCH_MM * px_per_mm)))
    width = len(chosen)
    col_first = np.searchsorted(cols, np.arange(width + 1))
    for sign, edge in ((-1, tops), (1, bots)):      # peaks: tops reach up; troughs: bottoms down
        for k in range(1, max_width + 1):
            for x in _notches(chosen, sign * edge, k, line_w):
                left, right, notch = chosen[x - 1], chosen[x + k], chosen[x:x + k]
                reach = min(sign * edge[left], sign * edge[right])   # the flanks' lesser extreme
                if (sign * edge[notch] >= reach - line_w).any():      # an earlier repair moved it
                    continue
                new = _runs_reaching(x, k, left, right, sign, edge, reach, line_w, col_first, tops, bots)
                if new is not None and np.all(np.abs((tops[new] + bots[new]) / 2 - baseline) >
                                              np.abs((tops[notch] + bots[notch]) / 2 - baseline)):
                    chosen[x:x + k] = new


def _stroke_gap(line_w: float) -> int:
    """Rows two runs of neighbouring columns may stand apart and still be one stroke: a
    thin steep stroke breaks for up to two pen widths."""
    return 1 + 2 * int(np.ceil(line_w))


def _runs_touch(a: int, b: int, tops, bots, gap: int) -> bool:
    """Runs ``a`` and ``b`` (in neighbouring columns) overlap or come within ``gap`` rows."""
    return bool(tops[a] <= bots[b] + gap and tops[b] <= bots[a] + gap)


def _fill_skipped_columns(chosen, cols, tops, bots, line_w: float) -> None:
    """Give a column the path skipped between two columns it took the longest run there
    (at least a line width long) that touches either neighbour's run (``chosen`` is
    modified in place).

    On a 1-bit page a thin spike's strokes break where the threshold cut them, and its
    apex column can hold only the merged top of both strokes, apart from either flank's
    run: the path then skips that column and runs under the spike, whose tip is lost.
    A column with ink between two taken ones is no gap in the trace. Done on 1-bit pages
    only: on grey scans and photos, whose strokes no threshold breaks so, it moved real
    pictures' self-consistency either way by up to 2.3 dB (docs/digitizer.md).
    """
    width = len(chosen)
    col_first = np.searchsorted(cols, np.arange(width + 1))
    gap = _stroke_gap(line_w)
    for c in np.nonzero(chosen[1:-1] < 0)[0] + 1:
        left, right = chosen[c - 1], chosen[c + 1]
        if left < 0 or right < 0:
            continue
        best, best_len = -1, 0
        for i in range(col_first[c], col_first[c + 1]):
            length = bots[i] - tops[i] + 1
            touches = _runs_touch(i, left, tops, bots, gap) or _runs_touch(i, right, tops, bots, gap)
            if touches and length >= line_w and length > best_len:
                best, best_len = i, length
        if best >= 0:
            chosen[c] = best


def _notches(chosen, extent, k: int, line_w: float) -> np.ndarray:
    """Columns ``x`` where the chosen runs of ``x .. x+k-1`` all reach (``extent``: larger
    reaches further) more than ``line_w`` less far than both flanks ``x-1`` and ``x+k``."""
    width = len(chosen)
    if width < k + 2:
        return np.zeros(0, int)
    e = np.where(chosen >= 0, extent[np.maximum(chosen, 0)], np.nan).astype(float)
    inner = np.lib.stride_tricks.sliding_window_view(e, k)[1:width - k]   # notch x = 1 ..
    with np.errstate(invalid="ignore"):
        deepest = inner.max(axis=1)
        lesser = np.minimum(e[:width - k - 1], e[k + 1:])
        hit = lesser - line_w > deepest         # NaN anywhere: False
    return np.nonzero(hit)[0] + 1


def _runs_reaching(x, k, left, right, sign, edge, reach, line_w, col_first, tops, bots):
    """The longest run, at least a line width long, in each of columns ``x .. x+k-1`` that
    reaches ``reach`` (within a line width) and touches the run before it; ``right`` must
    touch the last. None if any column has no such run."""
    gap = _stroke_gap(line_w)

    def touch(a, b):
        return _runs_touch(a, b, tops, bots, gap)

    new, prev = [], left
    for c in range(x, x + k):
        best, best_len = -1, 0
        for i in range(col_first[c], col_first[c + 1]):
            length = bots[i] - tops[i] + 1
            # a speck (a pixel the pen-core threshold split off) is no pen crossing
            if touch(i, prev) and sign * edge[i] >= reach - line_w and length >= line_w and length > best_len:
                best, best_len = i, length
        if best < 0:
            return None
        new.append(best)
        prev = best
    return new if touch(right, prev) else None


def _polyline(y, tip_x, top, bot, has, line_w, dark, x_lo, stair_px=STAIR_PX, ticks=()):
    """Column samples, with steep strokes re-sampled along image rows.

    Where the pen moves more than a line width within a column, one value per column
    cannot place the stroke in time: up- and down-strokes of a narrow QRS even share
    columns. Along each image row, though, every stroke crosses as a short horizontal run
    whose darkness-weighted centre is the stroke's sub-pixel x at that y. Steep columns
    keep only their extreme (peak or trough) column sample. ``stair_px``: see :func:`_destair`.

    ``ticks`` (page x) are separator ticks at lead changes: points at a tick's x beyond
    the trace on both sides are its free ends, and are dropped (:func:`_tick_ink`).
    """
    width = len(y)
    length = bot - top + 1
    steep = has & (length > 1.6 * line_w + 1)
    tick_ink = _tick_ink(np.asarray(ticks, float) - x_lo, top, bot, has, line_w)
    xs_col = np.nonzero(np.isfinite(y) & ~steep)[0]
    pts_x = [xs_col.astype(float)]
    pts_y = [y[xs_col]]
    if steep.any():
        d = np.diff(np.r_[0, steep.view(np.int8), 0])
        groups = []
        for s, e in zip(np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]):
            cols = np.arange(max(0, s - 1), min(width, e + 1))
            groups.append(cols[has[cols]])
        # every group's row crossings in one pass (one group per call was the slow part)
        gx, gy, gid = _row_centres(groups, top, bot, dark, x_lo)
        # extremes of the stroke groups: keep the column samples that are peaks/troughs
        cols = np.concatenate(groups)
        ext = cols[(steep[cols]) & ((np.abs(y[cols] - top[cols]) < line_w) |
                                    (np.abs(y[cols] - bot[cols]) < line_w))]
        ex = np.where(np.isfinite(tip_x[ext]), tip_x[ext], ext)
        apex = ~tick_ink(ex, y[ext])             # a tick's free end is no apex
        ext, ex = ext[apex], ex[apex]
        keep = ~_merged_below_apex(gx, gy, ex, y[ext], np.abs(y[ext] - top[ext]) < line_w, line_w,
                                   np.asarray(ticks, float) - x_lo)
        gx, gy, gid = gx[keep], gy[keep], gid[keep]
        gx, gy = _destair(gx, gy, gid, stair_px)
        # crossings within half a pixel of an apex's x cannot be told to the up- or the
        # down-stroke (near the apex both merge into one run): sorted by x they would cut it
        near = _near_any(gx, ex, 0.5)
        pts_x += [gx[~near], ex]
        pts_y += [gy[~near], y[ext]]
    px = np.concatenate(pts_x)
    py = np.concatenate(pts_y)
    ok = np.isfinite(py) & ~tick_ink(px, py)
    px = px + x_lo
    order = np.argsort(px[ok], kind="stable")
    return px[ok][order], py[ok][order]


def _merged_below_apex(gx, gy, apex_x, apex_y, is_peak, line_w, ticks=()):
    """Crossings (``gx``, ``gy``) of the rows where a spike's up- and down-strokes run
    as one: from each apex down (a peak; up for a trough) to the first row where two
    crossings within a line width of its x stand either side of it, those within half a
    line width of the apex's x. That one run's centre lies between the strokes and
    belongs to neither; without it the path runs straight from the strokes' parting to
    the apex, as a sharp spike's sides do. A stroke's own crossings farther off stay (a
    tall spike whose other stroke left no crossings). An apex at a lead change's tick
    (``ticks``) has one stroke only: the tick is no second."""
    drop = np.zeros(len(gx), bool)
    ticks = np.asarray(ticks, float)
    for ax, ay, peak in zip(apex_x, apex_y, is_peak):
        if len(ticks) and np.min(np.abs(ticks - ax)) <= line_w + 1:
            continue
        sign = 1 if peak else -1
        near = (np.abs(gx - ax) <= line_w) & (sign * (gy - ay) >= -1)
        rows = np.unique(gy[near])
        left = np.isin(rows, gy[near & (gx < ax)])
        right = np.isin(rows, gy[near & (gx > ax)])
        parted = rows[left & right]
        if not len(parted):
            continue
        split = parted.min() if peak else parted.max()
        drop |= near & (sign * (gy - split) < 0) & (np.abs(gx - ax) <= line_w / 2)
    return drop


def _tick_ink(ticks, top, bot, has, line_w):
    """A test for points (x, y) on the ink of separator ticks alone: ``test(x, y) -> bool``.

    A tick at a lead change is a vertical pen line across the row's baseline at band x
    ``ticks``, covering the columns within half a line (and an anti-aliased pixel) of
    it. Where the trace passes it, the tick and the trace share these columns; points at
    the tick's x that reach beyond the ink of the nearest columns either side (the two
    leads' own) are the tick's free ends.
    """
    zone = max(1.0, line_w / 2) + 1.0  # the tick's ink, anti-aliased pixels included
    own = 0.75   # the tick's own points lie at its x (to half a pixel, and the x's error)
    spans = []
    covered = np.nonzero(has)[0]
    for t in ticks:
        near = np.concatenate([covered[covered < t - zone][-1:],
                               covered[covered > t + zone][:1]])
        if len(near):
            spans.append((t, np.min(top[near]), np.max(bot[near])))

    def test(x, y):
        out = np.zeros(len(x), bool)
        for t, lo, hi in spans:
            out |= (np.abs(x - t) <= own) & ((y < lo) | (y > hi))
        return out
    return test


def _near_any(values: np.ndarray, points: np.ndarray, tol: float) -> np.ndarray:
    """Whether each of ``values`` lies within ``tol`` of any of ``points`` (its nearest
    point either side, found by bisection)."""
    if len(points) == 0:
        return np.zeros(len(values), bool)
    srt = np.sort(points)
    i = np.searchsorted(srt, values)
    below = srt[np.maximum(i - 1, 0)]
    above = srt[np.minimum(i, len(srt) - 1)]
    return (np.abs(values - below) < tol) | (np.abs(values - above) < tol)


def _destair(gx, gy, group, tol=STAIR_PX):
    """Collapse each vertical stair of the row crossings into its middle point.

    Where a steep stroke's horizontal runs are solid ink, consecutive rows give about the
    same centre x and the crossings form a staircase: a vertical stretch of rows at one x,
    then a jump. The centre line passes the middle of each stair, so each stair (in one
    stroke ``group``) becomes one point at its mean x and y.

    On a grey page a stair's crossings share one x (to ``tol``, :data:`STAIR_PX`): rows
    with the same x rounded to ``tol`` are a stair. On a 1-bit page (``tol`` above
    :data:`STAIR_PX`) they wander within the pixel the pen's edge was cut to, and a stair
    is a stretch of rows whose x stay within ``tol`` of its mean (:func:`_stairs`);
    crossings of the same rows further apart (the up- and the down-stroke of a spike)
    make separate stairs.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.extract import _destair
    >>> y = np.arange(12.0)                          # two stairs of a 1-bit stroke
    >>> x = np.r_[np.full(6, 10.0), np.full(6, 11.0)] + 0.2 * (-1) ** np.arange(12)
    >>> gx, gy = _destair(x, y, np.zeros(12, int), 0.6)
    >>> gx.round(1).tolist(), gy.round(1).tolist()
    ([10.0, 11.0], [2.5, 8.5])
    """
    if len(gx) < 3:
        return gx, gy
    if tol > STAIR_PX:
        order = np.lexsort((gx, gy, group))
        stair = _stairs(np.asarray(gx, np.float64)[order], np.asarray(gy, np.float64)[order],
                        np.asarray(group, np.int64)[order], float(tol))
    else:
        key = np.round(gx / tol)
        order = np.lexsort((gy, key, group))
        k, y, g = key[order], gy[order], group[order]
        stair = np.cumsum(np.r_[True, (k[1:] != k[:-1]) | (g[1:] != g[:-1]) | (y[1:] - y[:-1] > 1.5)]) - 1
    count = np.bincount(stair)
    return np.bincount(stair, weights=gx[order]) / count, np.bincount(stair, weights=gy[order]) / count


@lazy_njit
def _stairs(x, y, group, tol):
    """Stair number of each crossing (sorted by group, then row): a crossing joins the
    open stair of its group whose mean x is nearest within ``tol``, if that stair took a
    crossing in the row above and none yet in this one; else it opens a new stair."""
    n = len(x)
    stair = np.empty(n, np.int64)
    cap = 64                                   # open stairs at once (a few per row)
    last = np.empty(cap)
    total = np.empty(cap)
    count = np.empty(cap)
    ident = np.empty(cap, np.int64)
    n_open = 0
    n_stairs = 0
    for i in range(n):
        if i > 0 and group[i] != group[i - 1]:
            n_open = 0
        kept = 0                               # close the stairs that missed the row above
        for j in range(n_open):
            if last[j] >= y[i] - 1.5:
                last[kept], total[kept], count[kept], ident[kept] = last[j], total[j], count[j], ident[j]
                kept += 1
        n_open = kept
        best, best_d = -1, tol
        for j in range(n_open):
            d = abs(x[i] - total[j] / count[j])
            if last[j] < y[i] - 0.5 and d < best_d:
                best, best_d = j, d
        if best < 0:
            if n_open == cap:                  # drop the oldest open stair
                for j in range(cap - 1):
                    last[j], total[j], count[j], ident[j] = last[j + 1], total[j + 1], count[j + 1], ident[j + 1]
                n_open -= 1
            best = n_open
            last[best], total[best], count[best], ident[best] = y[i], 0.0, 0.0, n_stairs
            n_open += 1
            n_stairs += 1
        last[best] = y[i]
        total[best] += x[i]
        count[best] += 1.0
        stair[i] = ident[best]
    return stair


def _row_centres(groups, top, bot, dark, x_lo):
    """Sub-pixel x centres of the strokes crossing each image row, per group of steep
    columns (``groups``: arrays of covered columns); returns ``(x, y, group)``.

    Only the path's own ink counts: the chosen run of each column. A run as wide as one
    stroke gives its darkness-weighted centre, the anti-aliased pixel either side (below
    the trace threshold) included. A narrow spike's up- and down-strokes can merge into
    one wider run: it gives two points, half the pen's width in from each anti-aliased
    end (:func:`_merged_stroke_centres`). Wider runs (a
    peak's cap, flat parts) are left to the column samples. The groups are laid side by
    side with an empty column between them, so no run joins two groups.
    """
    cols = np.concatenate([np.r_[g, -1] for g in groups])      # -1: the empty separator
    gid = np.concatenate([np.full(len(g) + 1, k) for k, g in enumerate(groups)])
    real = cols >= 0
    rows = np.arange(int(np.nanmin(top[cols[real]])), int(np.nanmax(bot[cols[real]])) + 1)
    c_top = np.where(real, top[np.maximum(cols, 0)], np.inf)
    c_bot = np.where(real, bot[np.maximum(cols, 0)], -np.inf)
    sub = (rows[:, None] >= c_top[None, :]) & (rows[:, None] <= c_bot[None, :])
    padded = np.zeros((sub.shape[0], sub.shape[1] + 2), np.int8)
    padded[:, 1:-1] = sub
    d = np.diff(padded, axis=1)
    r, s = np.nonzero(d == 1)
    _, e = np.nonzero(d == -1)
    # skipped columns split strokes: a run may not straddle a jump in column numbers
    gaps = np.r_[0, np.cumsum(np.diff(cols) != 1)]
    keep = gaps[e - 1] == gaps[s]
    r, s, e = r[keep], s[keep], e[keep]
    if len(r) == 0:
        return np.empty(0), np.empty(0), np.empty(0, int)
    widths = e - s
    run_gid = gid[s]
    stroke = np.maximum(1.0, _group_quartiles(widths, run_gid, len(groups)))[run_gid]
    single = widths <= np.maximum(stroke + 1.5, 1.4 * stroke)
    merged = ~single & (widths <= 4 * stroke + 2)
    safe_cols = np.maximum(cols, 0)
    w = dark[rows[:, None], (safe_cols + x_lo)[None, :]].astype(np.float64) * sub
    cw = np.zeros((sub.shape[0], sub.shape[1] + 1))
    cwx = np.zeros_like(cw)
    cw[:, 1:] = np.cumsum(w, axis=1)
    cwx[:, 1:] = np.cumsum(w * safe_cols[None, :], axis=1)
    rs, ss, es = r[single], s[single], e[single]
    tot = cw[rs, es] - cw[rs, ss]
    totx = cwx[rs, es] - cwx[rs, ss]
    # the anti-aliased pixel either side of the run (below the trace threshold) carries
    # the stroke's sub-pixel position: add it with its darkness
    h, w_page = dark.shape
    for side in (-1, 1):
        xc = (cols[ss] - 1 if side < 0 else cols[es - 1] + 1) + x_lo
        okc = (xc >= 0) & (xc < w_page)
        wd = np.where(okc, dark[rows[rs], np.clip(xc, 0, w_page - 1)], 0.0).astype(np.float64)
        wd = np.clip(wd, 0.0, None)
        tot = tot + wd
        totx = totx + wd * (xc - x_lo)
    xs = np.where(tot > 0, totx / np.maximum(tot, 1e-12), (cols[ss] + cols[es - 1]) / 2.0)
    rm, sm, em = r[merged], s[merged], e[merged]
    # solid ink's darkness, and the pen's width: the narrowest single-stroke crossings are
    # the steepest strokes, whose width across an image row is the pen's
    solid = max(float(np.percentile(w[sub], 75)), 1e-6) if sub.any() else 1.0
    pen = float(np.percentile(tot, 20)) / solid if len(tot) else float(np.min(stroke))
    left, right = _merged_stroke_centres(rows[rm], cols[sm], cols[em - 1], pen, solid, dark, x_lo)
    out_x = np.concatenate([xs, left, right]).astype(float)
    out_y = np.concatenate([rows[rs], rows[rm], rows[rm]]).astype(float)
    out_g = np.concatenate([gid[ss], gid[sm], gid[sm]])
    return out_x, out_y, out_g


def _merged_stroke_centres(rows, first, last, pen, solid, dark, x_lo):
    """Sub-pixel x of the up- and down-stroke inside merged runs (columns ``first..last``
    of image ``rows``): half the pen's width in from each anti-aliased edge.

    An edge lies where the ink's coverage of the end pixel and of the pixel outside it
    (darkness over that of solid ink, ``solid``) puts it; ``pen`` is the line's width in
    px, which a near-vertical stroke also has across an image row.
    """
    w_page = dark.shape[1]

    def cov(c):
        c = c + x_lo
        ok = (c >= 0) & (c < w_page)
        return np.where(ok, np.clip(dark[rows, np.clip(c, 0, w_page - 1)] / solid, 0.0, 1.0), 0.0)

    left_edge = first + 0.5 - cov(first) - cov(first - 1)
    right_edge = last - 0.5 + cov(last) + cov(last + 1)
    return left_edge + pen / 2, right_edge - pen / 2


def _group_quartiles(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """``np.percentile(values[group == k], 25)`` for every group ``k`` at once (1 where empty)."""
    order = np.lexsort((values, group))
    v, g = values[order].astype(float), group[order]
    counts = np.bincount(g, minlength=n_groups)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    out = np.ones(n_groups)
    has = counts > 0
    pos = 0.25 * (counts[has] - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, counts[has] - 1)
    base = starts[has]
    out[has] = v[base + lo] + (pos - lo) * (v[base + hi] - v[base + lo])
    return out


def _column_values(top, bot, has, line_w, dark, x_lo):
    """One sub-pixel y per covered column (see the module docstring), and at peak and
    trough columns the x of the middle of the columns that reach that extreme."""
    width = len(top)
    y = np.full(width, np.nan)
    tip_x = np.full(width, np.nan)
    idx = np.nonzero(has)[0]
    if len(idx) == 0:
        return y, tip_x
    mid = (top + bot) / 2.0
    length = bot - top + 1
    long_run = has & (length > 1.6 * line_w + 1)
    # Short runs: darkness-weighted centroid over the run plus one pixel each side.
    short = idx[~long_run[idx]]
    if len(short):
        r = int(np.ceil(1.6 * line_w / 2 + 2))
        offs = np.arange(-r, r + 1)
        rows = np.round(mid[short]).astype(int)[:, None] + offs[None, :]
        rows = np.clip(rows, 0, dark.shape[0] - 1)
        w = dark[rows, (short + x_lo)[:, None]].astype(np.float64)
        inside = (rows >= top[short, None] - 1) & (rows <= bot[short, None] + 1)
        w = np.where(inside, w, 0.0)
        tot = w.sum(axis=1)
        y[short] = np.where(tot > 0, (w * rows).sum(axis=1) / np.maximum(tot, 1e-9), mid[short])
    # Long runs: peak, trough or slope. A column is a peak when its ink reaches higher
    # than both neighbours' (a trough: lower), and where several neighbouring columns
    # reach the same height (the pen's round cap) only the middle one is; the pen's centre
    # is half a line width inside the ink's edge. Other long runs are slope columns: their
    # middle (the polyline replaces them by the strokes' row crossings).
    half = (line_w - 1) / 2.0
    y[long_run] = mid[long_run]
    highs, high_x = _extremes(top, has, long_run, -1)
    y[highs] = top[highs] + half
    lows, low_x = _extremes(bot, has, long_run, +1)
    y[lows] = bot[lows] - half
    tip_x[highs], tip_x[lows] = high_x, low_x
    return y, tip_x


def _extremes(edge, has, long_run, sign: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns among ``long_run`` where ``edge`` (tops, sign -1; bottoms, +1) has a local
    extreme over the covered columns, the middle one of a tied stretch; and the middle x
    of each stretch (between two columns when it is even)."""
    idx = np.nonzero(has)[0]
    if len(idx) == 0:
        return np.zeros(0, dtype=int), np.zeros(0)
    e = sign * edge[idx]               # larger = more extreme
    # stretches of equal value over covered columns at most 2 apart
    first = np.nonzero(np.r_[True, (e[1:] != e[:-1]) | (np.diff(idx) > 2)])[0]
    last = np.r_[first[1:] - 1, len(idx) - 1]
    left = np.r_[-np.inf, e[first[1:] - 1]]
    right = np.r_[e[last[:-1] + 1], -np.inf]
    peak = (e[first] > left) & (e[first] > right)
    cols = idx[(first + last) // 2][peak]
    centre = ((idx[first] + idx[last]) / 2.0)[peak]
    keep = long_run[cols]
    return cols[keep], centre[keep]


def redraw_at_lead_changes(trace: RowTrace, mask: np.ndarray, dark: np.ndarray,
                           changes) -> RowTrace:
    """The row's path redrawn at its lead changes (page columns ``changes``), once the
    layout has placed them (a new trace, or ``trace`` itself when there are none).
    Give it a row's own path, not the one :func:`separate_neighbours` returned: the
    redrawn polyline would lose that one's cuts (separate the redrawn rows again).

    - A lead change may fall within a QRS: the trace jumps there, but the path paid for
      the jump and took the separator tick, or specks, instead of the end of a deep S
      wave or the start of an R wave. Within 2 mm of each change the path is traced
      again with the jump nearly free (:func:`_viterbi`'s ``free`` columns), between
      the runs it took at the window's two ends.
    - A page marks each lead change with a short vertical tick across the baseline.
      The path takes its ink where the trace passes it: the tick's free end then reads
      as a spike's apex, and the next lead's first samples are read towards it. The
      polyline leaves the tick's ends out (:func:`_tick_ink`).

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.extract import redraw_at_lead_changes, trace_row
    >>> mask = np.zeros((80, 120), bool)
    >>> mask[39:41, :] = True          # a flat trace on the baseline
    >>> mask[20:60, 59:61] = True      # a tick at the lead change, x = 59.5
    >>> row = trace_row(mask, mask * 1.0, 0, 79, 40.0, 0, 119, px_per_mm=8.0)
    >>> float(np.ptp(row.py)) > 10     # the tick's ends read as two spikes
    True
    >>> float(np.ptp(redraw_at_lead_changes(row, mask, mask * 1.0, [59.5]).py))
    0.0
    """
    if len(changes) == 0 or len(trace.tip_x) == 0:
        return trace
    top, bot = trace.top.copy(), trace.bottom.copy()
    for x in changes:
        _retrace_window(top, bot, trace, mask, float(x) - trace.x0)
    has = np.isfinite(top)
    y, tip_x = _column_values(top, bot, has, trace.line_width, dark, trace.x0)
    px, py = _polyline(y, tip_x, top, bot, has, trace.line_width, dark, trace.x0, trace.stair_px, changes)
    return replace(trace, y=y, top=top, bottom=bot, px=px, py=py, tip_x=tip_x)


def _retrace_window(top, bot, trace: RowTrace, mask, change: float) -> None:
    """Trace the path again within 2 mm of a lead change at band column ``change``, the
    jump into the change's columns free, from and to the runs the path took at the
    window's ends; ``top`` and ``bot`` (page rows per column) are updated in place."""
    y_lo, y_hi, baseline, px_per_mm = trace.band
    half = 2.0 * px_per_mm
    a, b = int(np.floor(change - half)), int(np.ceil(change + half))
    if a < 0 or b >= len(top) or not (np.isfinite(top[a]) and np.isfinite(top[b])):
        return
    window = mask[y_lo:y_hi + 1, trace.x0 + a:trace.x0 + b + 1]
    cols, tops, bots = column_runs(window)
    last = b - a
    pinned = (((cols != 0) | (tops == top[a] - y_lo))
              & ((cols != last) | (tops == top[b] - y_lo)))
    cols, tops, bots = cols[pinned], tops[pinned], bots[pinned]
    # the jump: into the columns within a pixel of the change (a wider zone lets the path
    # leave a lead's own ink early for the tick's)
    free = np.zeros(last + 1, bool)
    free[int(np.ceil(change - 1.0)) - a:int(np.floor(change + 1.0)) - a + 1] = True
    # ink in the jump's columns is the trace's where it joins the window's ends: a label
    # printed at the lead change, where the trace has a gap, is not
    joined = ~free[cols] | _joins_ends(window, cols, tops, last)
    cols, tops, bots = cols[joined], tops[joined], bots[joined]
    # the baseline pulls only where the jump is nearly free (else the path would jump to
    # a neighbouring row's ink there): elsewhere the pinned ends keep the path on its own
    # row, and the end of a deep S wave, far from the baseline, costs no more than a speck
    # The pen is the row's (a window around a QRS or a bar holds mostly tall runs, and at
    # their median a flat trace's runs would count as specks); away from the jump the
    # row's own path, found with the whole row's context, wins a tie.
    own_top, own_bot = top[a + cols] - y_lo, bot[a + cols] - y_lo
    on_own = ~free[cols] & (tops <= own_bot) & (bots >= own_top)
    path = _viterbi(cols, tops, bots, last + 1, baseline - y_lo, px_per_mm, free, pull=free,
                    pen=trace.line_width, bonus=OWN_PATH_CREDIT * on_own,
                    back_cols=LEAD_CHANGE_LOOK_BACK_COLUMNS)
    if len(path) == 0 or cols[path[0]] != 0 or cols[path[-1]] != last:
        return
    chosen = _chosen_runs(path, cols, last + 1)
    _restore_spike_tips(chosen, cols, tops, bots, baseline - y_lo, trace.line_width, px_per_mm)
    top[a:b + 1], bot[a:b + 1] = _run_rows(chosen, tops, bots, y_lo)


def _joins_ends(window: np.ndarray, cols, tops, last: int) -> np.ndarray:
    """Per run (``cols``, ``tops`` of ``window``'s column runs, pinned to one run in the
    first and in the ``last`` column): whether its ink connects to either pinned run."""
    labels, _ = label(window, structure=np.ones((3, 3), bool))
    ends = {labels[t, c] for c, t in zip(cols, tops) if c in (0, last)}
    return np.isin(labels[tops, cols], list(ends))


def separate_neighbours(traces: list[RowTrace], baselines: list[float]) -> list[RowTrace]:
    """Give each of two neighbouring rows only its own side of the ink they share.

    Rows of a 12x1 page are about 2 mV apart, so a deep S wave of one row meets the R wave
    of the row below in the same columns, and each row's path then takes the merged run:
    the upper row's S reaches down the lower row's R, the lower row's R climbs the upper
    row's strokes. In the columns where both paths took the same run, each row keeps only
    the samples (column and polyline) on its own side of the midline between the two
    baselines; the resampling interpolates across what was dropped. A wave that truly
    crosses the midline there is cut at it: fold-9 12x1 renders gained (17.51 dB at 6b7fb6a,
    18.47 at 682d7ae, ``benchmarks/lead_errors.py --layout 12x1 -n 12``), the fold-10
    wrapped CinC strips of ``digitize_accuracy.py`` lost (20.10 at 6b7fb6a, 19.87 after).

    Parameters
    ----------
    traces : list of RowTrace
        One per row; left as they are (new traces are returned).
    baselines : list of float
        The rows' baselines (page y), in any order.

    Examples
    --------
    >>> import cv2, numpy as np
    >>> from ecg_digitize.digitizer.extract import separate_neighbours, trace_row
    >>> ink = np.zeros((200, 400), np.uint8)
    >>> s_wave = np.array([[0, 60], [190, 60], [196, 116], [202, 60], [399, 60]], np.int32)
    >>> r_wave = np.array([[0, 140], [194, 140], [199, 95], [204, 140], [399, 140]], np.int32)
    >>> mask = cv2.polylines(ink, [s_wave, r_wave], False, 255, 2) > 0
    >>> upper = trace_row(mask, mask * 1.0, 0, 140, 60.0, 0, 399, px_per_mm=8.0)
    >>> lower = trace_row(mask, mask * 1.0, 60, 199, 140.0, 0, 399, px_per_mm=8.0)
    >>> float(lower.py.min())                  # the R wave climbed the S wave's strokes
    76.0
    >>> upper, lower = separate_neighbours([upper, lower], [60.0, 140.0])
    >>> bool(lower.py.min() > 100), bool(upper.py.max() < 110)
    (True, True)
    """
    # copies: the caller keeps each row's own path (see :func:`redraw_at_lead_changes`);
    # only ``y`` is changed in place below, ``px`` and ``py`` are replaced
    traces = [replace(t, y=t.y.copy()) for t in traces]
    order = np.argsort(baselines)
    for a, b in zip(order[:-1], order[1:]):
        up, lo = traces[a], traces[b]
        mid = 0.5 * (baselines[a] + baselines[b])
        x_from, x_to = max(up.x0, lo.x0), min(up.x0 + len(up.y), lo.x0 + len(lo.y))
        if x_to <= x_from:
            continue
        cu = slice(x_from - up.x0, x_to - up.x0)
        cl = slice(x_from - lo.x0, x_to - lo.x0)
        shared = (up.top[cu] <= lo.bottom[cl]) & (lo.top[cl] <= up.bottom[cu])  # NaN: False
        if not shared.any():
            continue
        cols = np.nonzero(shared)[0] + x_from
        _drop_beyond(up, cols, mid, +1)
        _drop_beyond(lo, cols, mid, -1)
    return traces


def _drop_beyond(tr: RowTrace, cols: np.ndarray, mid: float, side: int) -> None:
    """Drop ``tr``'s samples in page columns ``cols`` that lie past ``mid`` (below it for
    ``side`` +1, above for -1)."""
    idx = cols - tr.x0
    past = side * (tr.y[idx] - mid) > 0
    tr.y[idx[past]] = np.nan
    if len(tr.px):
        # a stroke crossing between two columns belongs to both
        in_cols = np.isin(np.floor(tr.px).astype(int), cols) | np.isin(np.ceil(tr.px).astype(int), cols)
        keep = ~(in_cols & (side * (tr.py - mid) > 0))
        tr.px, tr.py = tr.px[keep], tr.py[keep]
