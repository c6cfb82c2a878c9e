"""Stage 6: rows of traces, their baselines and extents, and the page layout.

Rows come from the vertical profile of the *long* ink components (traces; letters and
digits are short and drop out): a trace spends most of its time at its isoelectric
level, so each row gives a sharp peak at its baseline. The layout follows from the
number of rows and where rows break into columns:

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

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks

from ..errors import LayoutError, NotAnEcgError

DEFAULT_RHYTHM = {1: ["II"], 2: ["II", "V1"], 3: ["II", "V1", "V5"]}


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
    >>> from ecg_digitize.digitizer.layout import long_components
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
              min_long_share: float = 0.0) -> list[Row]:
    """Rows of trace, top to bottom.

    Raises
    ------
    NotAnEcgError
        When no long trace is found, or when the long components hold less than
        ``min_long_share`` of the ink (a trace broken into pieces).
    """
    labels, keep, blob = _long_labels(mask, px_per_mm)
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
    rows, wordy = [], []
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
    rows = rows[_header_rows(wordy):len(rows) - _header_rows(wordy[::-1])]
    if not rows:
        raise NotAnEcgError("no ECG trace rows found")
    return rows


def _with_skipped_rows(peaks: np.ndarray, strong: np.ndarray) -> np.ndarray:
    """The ``strong`` profile peaks, and the weak ones that fill a gap in their pitch.

    Rows of a page are evenly spaced. A gap of about twice the rows' pitch has lost a
    row (its ink crowded out by its neighbours' big waves): the weak peak nearest the gap's
    middle, within a fifth of the pitch, is that row. Other weak peaks are crowds of big
    waves between two rows.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.layout import _with_skipped_rows
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
    # rows have no rhythm strip to match: they need more simultaneity.
    if breaks.get("rhythm_match", 0.0) < 0.8 and max(q, h) < 0.6 and \
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
    if n_rows < 3 or n_rows > 6:
        # two rows are often one strip whose baseline wanders (its beats then compare badly)
        if several_leads and n_rows > 6:
            raise LayoutError(f"{n_rows} rows whose beats change shape along each row, so not one "
                              f"lead's strip, and no 12-lead layout this digitizer knows has {n_rows} "
                              "rows (or rows were found in a trace whose baseline wanders)")
        return "strip"
    raise LayoutError(f"cannot recognise a layout with {n_rows} rows")
