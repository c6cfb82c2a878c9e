"""Stage 9: the page layout, from the rows of trace (:mod:`.rows`).

The layout follows from the number of rows and where rows break into columns:

==========  =====================================================================
rows        layout
==========  =====================================================================
3           ``3x4`` (or a 3-row strip when no row breaks into columns)
4, 5        ``3x4`` plus 1 or 2 full-length rhythm strips
6           ``6x2`` when the rows break only at half width, else ``3x4`` + 3 strips
12          ``12x1`` when the rows are simultaneous, else a 12-row strip
other       a single-lead strip wrapping over the rows
==========  =====================================================================

Leads are then placed by position (the standard order, column by column) and rhythm
strips are named by matching them against the short panels they overlap in time.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks

from ..errors import LayoutError
from ..layouts import parse_layout
from ..record import STANDARD_LEADS

DEFAULT_RHYTHM = {1: ["II"], 2: ["II", "V1"], 3: ["II", "V1", "V5"]}


def row_breaks(traces: list, x_start: float, span: float, fractions, px_per_mm: float) -> np.ndarray:
    """Evidence (0..1 per row and fraction) that a row changes lead at ``x_start + f * span``.

    A lead change shows as a vertical separator tick, a jump of the path or a gap.
    """
    out = np.zeros((len(traces), len(fractions)))
    win = max(2, int(round(0.6 * px_per_mm)))
    for r, tr in enumerate(traces):
        for k, f in enumerate(fractions):
            xb = int(round(x_start + f * span)) - tr.x0
            lo, hi = xb - win, xb + win + 1
            if lo < 1 or hi >= len(tr.y) - 1:
                continue
            seg_len = (tr.bottom[lo:hi] - tr.top[lo:hi])
            tall = np.nanmax(seg_len) if np.isfinite(seg_len).any() else 0.0
            gap = 1.0 - np.isfinite(tr.y[lo:hi]).mean()
            # A separator is >= 3 mm tall; a QRS is too, so look for it at this x only.
            out[r, k] = max(min(1.0, tall / (3.0 * px_per_mm)) if tall >= 3.0 * px_per_mm else 0.0, gap)
    return out


def simultaneity(signals: list[np.ndarray], *, sigma: float = 3.0, max_lag: int = 0) -> float:
    """Mean correlation of the rows' slope magnitudes: near 1 when rows are recorded at the
    same time (QRS complexes line up), near 0 for consecutive pieces of one strip.

    Each pair is compared at its best shift up to ``max_lag`` px (a photo's perspective
    shifts rows against each other), after smoothing by ``sigma`` px.
    """
    acts = []
    n = min(len(s) for s in signals)
    for s in signals:
        d = np.abs(np.diff(np.nan_to_num(s[:n], nan=np.nanmedian(s))))
        a = gaussian_filter1d(d, sigma)
        acts.append((a - a.mean()) / (a.std() + 1e-12))
    if len(acts) < 2 or n < 4 * max_lag + 10:
        return 0.0
    acts = np.array(acts)
    upper = np.triu_indices(len(acts), k=1)
    best = np.full(len(upper[0]), -1.0)
    for lag in range(-max_lag, max_lag + 1):
        # every pair at once: row i shifted against row j
        x = _standardise(acts[:, max(0, lag): n - 1 + min(0, lag)])
        y = _standardise(acts[:, max(0, -lag): n - 1 - max(0, lag)])
        corr = (x @ y.T) / x.shape[1]
        best = np.maximum(best, corr[upper])
    return float(np.mean(best))


def beats_alike_across_columns(signals: list[np.ndarray], px_per_mm: float,
                               n_columns: int = 4) -> float:
    """How alike a row's beats are across column positions, given how alike they are inside one.

    A 3x4 row shows four leads, so its beats change shape at each quarter; a wrapped strip
    shows one lead, so a beat looks like every other. Returns the mean correlation of beat
    shapes from different columns, less any shortfall against beats of the same column
    (near 1 for a strip, 0 or below for a 12-lead row); NaN when no row has four beats.
    """
    scores = []
    half = int(3 * px_per_mm)  # 0.12 s each side of the QRS at 25 mm/s
    for y in signals:
        if not np.isfinite(y).any():
            continue
        y = np.where(np.isfinite(y), y, np.nanmedian(y))
        activity = gaussian_filter1d(np.abs(np.diff(y)), px_per_mm)
        peaks, _ = find_peaks(activity, distance=int(8 * px_per_mm))
        if not len(peaks):
            continue
        # QRS complexes only: a tall T wave is steep too, but less than the QRS beside it
        peaks = peaks[activity[peaks] >= 0.6 * np.percentile(activity[peaks], 90)]
        peaks = peaks[(peaks > half) & (peaks < len(y) - half)]
        if len(peaks) < 4:
            continue
        beats = _standardise(np.array([y[k - half:k + half] for k in peaks]))
        corr = beats @ beats.T / beats.shape[1]
        column = peaks * n_columns // len(y)
        same = (column[:, None] == column[None, :]) & ~np.eye(len(peaks), dtype=bool)
        other = column[:, None] != column[None, :]
        if same.any() and other.any():
            within, across = corr[same].mean(), corr[other].mean()
            scores.append(across - max(0.0, within - across))
    return float(np.mean(scores)) if scores else float("nan")


def _standardise(rows: np.ndarray) -> np.ndarray:
    centred = rows - rows.mean(axis=1, keepdims=True)
    return centred / (centred.std(axis=1, keepdims=True) + 1e-12)


MIN_ONE_LEAD_ALIKE = 0.4  # beats_alike_across_columns below this: several leads
# ... and at or above this, one lead whatever its last row matches: a wrapped regular strip's
# last row repeats the panels above it as well as a rhythm strip would (0.82), while 12-lead
# pages score 0.65 at most (benchmarks/layout_evidence.py: fold-9 scans max 0.51, real
# ecg-image-kit photos max 0.65; wrapped 40 s strips of our renderer 0.997)
ONE_LEAD_ALIKE = 0.85


def classify(n_rows: int, breaks: dict[str, float], simultaneous: float) -> str:
    """Choose the layout from the row count, column-break evidence and simultaneity.

    ``breaks`` maps ``"quarters"`` (mean evidence at 1/4 and 3/4 of the upper rows) and
    ``"half"`` (at 1/2) to 0..1; optionally ``"beats_alike"``
    (:func:`beats_alike_across_columns`, NaN when unknown); for 6 rows, optionally ``"quarters_all"``,
    ``"half_all"`` (over all six rows) and ``"lower_all"`` (every break position of rows 4-6).
    ``simultaneous`` is :func:`simultaneity` over all rows: rows of a 12-lead layout are
    recorded at the same time, the rows of a wrapped single-lead strip one after another.

    Examples
    --------
    >>> from ecg_digitize.digitizer.layout import classify
    >>> classify(4, {"quarters": 0.9, "half": 0.9}, 0.6)
    '3x4+1'
    >>> classify(6, {"quarters": 0.0, "half": 0.9}, 0.6)
    '6x2'
    >>> classify(6, {"quarters": 0.2, "half": 0.0}, 0.05)  # six rows of one long strip
    'strip'
    >>> classify(3, {"quarters": 0.17, "half": 0.67}, 0.09)  # QRS where separators would be
    'strip'
    >>> classify(3, {"quarters": 0.0, "half": 0.0, "beats_alike": 0.95}, 0.9)  # 60 bpm, rows aligned
    'strip'
    >>> classify(4, {"quarters": 0.2, "half": 0.0, "beats_alike": -0.2}, 0.1)  # beats change shape
    '3x4+1'
    >>> classify(4, {"quarters": 0.0, "half": 0.0, "beats_alike": 0.99, "rhythm_match": 0.82}, 0.15)
    'strip'
    """
    q, h = breaks.get("quarters", 0.0), breaks.get("half", 0.0)
    if n_rows <= 1:
        return "strip"
    if n_rows == 12:
        return "12x1" if simultaneous > 0.3 else "strip"
    # Three rows show one lead when they are not simultaneous at all, or when their beats
    # keep one shape along the row (``"beats_alike"``: a very regular rhythm lines up a
    # strip's rows like a 12-lead page's). Only separators in every row at every column
    # position outweigh that: a strip's QRS complexes sit at break positions in some rows,
    # never in all of them.
    alike = breaks.get("beats_alike", float("nan"))
    one_lead = simultaneous < 0.2 or alike >= 0.7
    # Beats that change shape at the column positions of the rows are several leads, never
    # one: a photo's blurred simultaneity must not make its 12-lead page a strip (the
    # wrapped CinC 2017 strips of the benchmark score 0.57 or more, the real 12-lead photos
    # once read as strips 0.24 or less: benchmarks/layout_evidence.py). Unknown (NaN) is
    # not evidence.
    several_leads = alike < MIN_ONE_LEAD_ALIKE
    if n_rows == 3 and one_lead and not several_leads and min(q, h) < 0.9:
        return "strip"
    # 3 to 6 rows of a 12-lead page break into columns, and a rhythm strip repeats one of
    # the panels above it (``"rhythm_match"``, 0..1); on photos the simultaneity is blurred
    # by the extraction, so a strip also needs rows without clear column breaks. Three
    # rows have no rhythm strip to match: they need more simultaneity. A wrapped regular
    # strip's last row matches its own panels too; beats alike everywhere settle that.
    unmatched = breaks.get("rhythm_match", 0.0) < 0.8 or alike >= ONE_LEAD_ALIKE
    if unmatched and max(q, h) < 0.6 and \
            simultaneous < (0.45 if n_rows == 3 else 0.3) and not several_leads:
        return "strip"
    if n_rows == 6:
        if "half_all" in breaks:
            # 6x2: every row breaks at half width only; 3x4+3: the upper rows break at
            # quarters and the three rhythm strips do not break at all
            six_two = breaks["half_all"] - breaks["quarters_all"]
            three_four = q - breaks["lower_all"]
            return "6x2" if six_two > three_four else "3x4+3"
        return "6x2" if h > 0.5 and q < 0.4 else "3x4+3"
    if n_rows in (3, 4, 5):
        return "3x4" if n_rows == 3 else f"3x4+{n_rows - 3}"
    if n_rows == 2 and several_leads and min(q, h) >= 0.9:
        # a strip's QRS complexes sit at some break positions, never at all of them
        raise LayoutError("2 rows that break into columns of different leads at every quarter: part of "
                          "a 12-lead page (cropped?); no layout this digitizer knows has 2 such rows")
    if n_rows < 3 or n_rows > 6:
        # two rows are often one strip whose baseline wanders (its beats then compare badly)
        if several_leads and n_rows > 6:
            raise LayoutError(f"{n_rows} rows whose beats change shape along each row, so not one "
                              f"lead's strip, and no 12-lead layout this digitizer knows has {n_rows} "
                              "rows (or rows were found in a trace whose baseline wanders)")
        return "strip"
    raise LayoutError(f"cannot recognise a layout with {n_rows} rows")


# ---------------------------------------------------------------- choosing and naming


@dataclass
class LayoutChoice:
    """The layout read (rhythm leads named), a note on how its leads were placed, and warnings."""

    name: str
    note: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        """Rows the layout needs (0 for a strip, which wraps over any number)."""
        grid_rows, _, rhythm = parse_layout(self.name)
        return grid_rows + len(rhythm) if grid_rows else 0


POSITION_NOTE = "leads placed by position in the standard order (I II III aVR ... V6); printed labels are not read"


def choose_layout(layout: str, traces: list, rows: list, x_start: float, span: float,
                  px_per_mm: float) -> LayoutChoice:
    """The page's layout: ``layout`` when given, else read from the rows (:func:`classify`)
    with its rhythm strips named by the short panels they repeat.

    Raises
    ------
    LayoutError
        When the layout needs another number of rows than were found.
    """
    if layout == "auto":
        choice = _read_layout(traces, rows, x_start, span, px_per_mm)
    else:
        choice = LayoutChoice(layout, POSITION_NOTE if parse_layout(layout)[0] else "")
    if choice.n_rows and len(rows) != choice.n_rows:
        raise LayoutError(f"layout {choice.name!r} needs {choice.n_rows} rows but {len(rows)} were found")
    return choice


def _read_layout(traces, rows, x_start, span, px_per_mm) -> LayoutChoice:
    n = len(rows)
    # row r against the 12 panels, computed once (the rhythm match and names share it)
    matches = functools.cache(lambda r: _panel_matches(traces, r, x_start, span, px_per_mm))
    upper = traces[: min(3, n)] if n < 12 else traces
    ev = row_breaks(upper, x_start, span, [0.25, 0.5, 0.75], px_per_mm)
    breaks = {"quarters": float(ev[:, [0, 2]].mean()), "half": float(ev[:, 1].mean())}
    if n == 6:
        ev6 = row_breaks(traces, x_start, span, [0.25, 0.5, 0.75], px_per_mm)
        breaks.update({"quarters_all": float(ev6[:, [0, 2]].mean()), "half_all": float(ev6[:, 1].mean()),
                       "lower_all": float(ev6[3:].mean())})
    # Every 12-lead layout shows all its rows over the same seconds (QRS complexes line
    # up down the page); the rows of a wrapped strip follow one another.
    sims = []
    for tr in traces[:12]:
        a = int(x_start - tr.x0)
        sims.append(tr.y[max(0, a): max(0, a) + int(span)])
    simult = (simultaneity(sims, sigma=max(3.0, 0.8 * px_per_mm), max_lag=int(round(2 * px_per_mm)))
              if len(sims) > 1 else 0.0)
    if n >= 2:
        breaks["beats_alike"] = beats_alike_across_columns(sims, px_per_mm)
    if 4 <= n <= 6:
        breaks["rhythm_match"] = _rhythm_match(matches)
    kind = classify(n, breaks, simult)
    if kind.startswith("3x4+"):
        kind = "3x4+" + ",".join(_name_rhythm(matches, int(kind[4:])))
    if kind == "strip":
        return LayoutChoice(kind, "", ["single-lead strip: the lead's name is not read from the page (called II)"])
    return LayoutChoice(kind, POSITION_NOTE)


def _same_curve(ta, tb, a: float, b: float, max_shift: int) -> float | None:
    """How much two rows' paths over page columns ``a..b`` are the same curve: 1 minus
    their residual over their amplitude (offsets removed), at the best horizontal shift
    up to ``max_shift`` px (rows of a scan or photo are not perfectly aligned). None
    when they do not even correlate."""
    ya = _slice(ta, a, b)
    sigma = max(1.0, max_shift / 2)
    best = None
    # every shift's correlation at once: most panel pairs do not correlate at any shift
    shifted = np.lib.stride_tricks.sliding_window_view(
        _slice(tb, int(a) - max_shift, int(a) - max_shift + len(ya) + 2 * max_shift), len(ya))
    both = np.isfinite(ya)[None, :] & np.isfinite(shifted)
    n_ok = both.sum(axis=1)
    ca = np.where(both, ya - _masked_mean(ya[None, :], both)[:, None], 0.0)
    cb = np.where(both, shifted - _masked_mean(shifted, both)[:, None], 0.0)
    saa, sbb, sab = (ca * ca).sum(axis=1), (cb * cb).sum(axis=1), (ca * cb).sum(axis=1)
    corr = sab / np.sqrt(np.maximum(saa * sbb, 1e-300))
    for i in np.nonzero((n_ok >= 20) & (saa > 0) & (sbb > 0) & (corr >= 0.5))[0]:
        ok, yb = both[i], shifted[i]
        # the same lead is the same curve, amplitude included (II and aVF correlate too)
        # compared smoothed over ~1 mm: a sharp QRS a pixel apart is still the same curve
        da = gaussian_filter1d(ya[ok] - np.median(ya[ok]), sigma)
        db = gaussian_filter1d(yb[ok] - np.median(yb[ok]), sigma)
        c = 1.0 - float(np.sqrt(np.mean((da - db) ** 2)) / (0.5 * (np.std(da) + np.std(db))))
        best = c if best is None else max(best, c)
    return best


def _panel_matches(traces, r: int, x_start, span, px_per_mm: float) -> dict[str, float]:
    """:func:`_same_curve` of row ``r`` against each of the 12 panels of the three rows
    above it, by lead (leads that do not even correlate are left out)."""
    max_shift = max(1, int(round(1.0 * px_per_mm)))
    out = {}
    for idx, lead in enumerate(STANDARD_LEADS):
        col, row = divmod(idx, 3)
        a = x_start + col * span / 4 + 0.1 * span / 4
        b = x_start + (col + 1) * span / 4 - 0.1 * span / 4
        c = _same_curve(traces[r], traces[row], a, b, max_shift)
        if c is not None:
            out[lead] = c
    return out


def _masked_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Row means of ``values`` over ``mask`` (broadcast; 0 where a row has none)."""
    return np.where(mask, values, 0.0).sum(axis=1) / np.maximum(mask.sum(axis=1), 1)


def _rhythm_match(matches) -> float:
    """How well the 4th row repeats one of the 12 panels of the three rows above it (best
    of ``matches(3)``, see :func:`_panel_matches`; 0 when none correlates)."""
    return max(matches(3).values(), default=0.0)


def _name_rhythm(matches, k: int) -> list[str]:
    """Name each of the ``k`` rhythm strips (rows 3..) by the short panel it matches best
    where they overlap (``matches(row)``, see :func:`_panel_matches`)."""
    names = [_best_panel(matches(r), DEFAULT_RHYTHM[k][r - 3]) for r in range(3, 3 + k)]
    defaults = list(DEFAULT_RHYTHM[k])
    out = []
    for i, nm in enumerate(names):
        if nm is None or nm in out:
            nm = next((d for d in defaults if d not in out and d not in names), defaults[i])
        out.append(nm)
    return out


def _best_panel(corr: dict[str, float], std: str) -> str | None:
    """The lead a rhythm strip repeats: a match over 0.8, or one clearly ahead of all
    others (a photo's panels match less closely: ecg-image-kit ecg00009's V1 strip 0.75,
    the next panel 0.52); the standard rhythm lead ``std`` where it matches nearly as
    well (limb leads look alike). None when no panel is a clear match."""
    ranked = sorted(corr.items(), key=lambda kv: kv[1], reverse=True) + [(None, -1.0)] * 2
    (best, best_c), (_, second_c) = ranked[:2]
    if not (best_c > 0.8 or (best_c >= 0.6 and best_c - second_c >= 0.2)):
        return None
    if corr.get(std, -1.0) >= 0.7 and best_c - corr[std] < 0.1:
        return std
    return best


def _slice(trace, a: float, b: float) -> np.ndarray:
    """The path over page columns ``a..b`` (NaN outside the trace)."""
    cols = np.arange(int(a), int(b)) - trace.x0
    inside = (cols >= 0) & (cols < len(trace.y))
    out = np.full(len(cols), np.nan)
    out[inside] = trace.y[cols[inside]]
    return out
