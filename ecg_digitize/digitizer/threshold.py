"""Stage 3: the trace's ink: background normalisation and a modified (adaptive) Otsu threshold.

The OHSU/Ulster idea: Otsu's threshold on a page splits paper from *everything printed*,
grid included. We keep raising it (Otsu again on what is still foreground) until the grid
vanishes, i.e. until almost no foreground lies on long straight horizontal or vertical
lines, stopping short of the trace pen's own darkness (:func:`pen_darkness`). What is
left of such lines afterwards (borders, column separators) is removed. A page frame or a
scanner's dark margin is taken out of the trace view first (:func:`clear_border`).
:func:`find_ink` applies it (or a probability view's fixed threshold) and refuses pages
without a line drawing; :func:`pen_core` later narrows the ink to the pen's core.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ..errors import NotAnEcgError

PAPER_DARKNESS = 0.04  # the normalised page's paper (and its noise) is lighter than this
MIN_INK_PIXELS = 200  # fewer ink pixels than this: no trace on the page
MAX_INK_SHARE = 0.25  # more of the page dark than this: a photo or a dark page


@dataclass
class Ink:
    """The trace's ink: the threshold, the mask, and the pen-core step's evidence."""

    threshold: float
    mask: np.ndarray
    pen_core: dict = field(default_factory=dict)


def find_ink(dark: np.ndarray, fixed_threshold: float | None = None) -> Ink:
    """The ink of a trace view: :func:`adaptive_otsu`, or ``dark >= fixed_threshold``
    (a segmenter's probability).

    Raises
    ------
    NotAnEcgError
        Under :data:`MIN_INK_PIXELS` of ink, or over :data:`MAX_INK_SHARE` of the page.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.threshold import find_ink
    >>> find_ink(np.zeros((200, 300), np.float32))
    Traceback (most recent call last):
    ...
    ecg_digitize.errors.NotAnEcgError: no dark trace on the page after thresholding
    """
    if fixed_threshold is None:
        thr, mask = adaptive_otsu(dark)
    else:
        thr, mask = fixed_threshold, dark >= fixed_threshold
    if mask.sum() < MIN_INK_PIXELS:
        raise NotAnEcgError("no dark trace on the page after thresholding")
    if mask.mean() > MAX_INK_SHARE:
        raise NotAnEcgError(f"{mask.mean():.0%} of the page is dark ink: a photo or a dark page, "
                            "not an ECG line drawing")
    return Ink(thr, mask)


# Page frames and scanner borders: a line along a page edge (ECG-Image-Kit draws a 1 px
# black frame; a scanner leaves a dark margin) is searched this far in from each edge
# (a share of the page's height or width, at least BORDER_MIN_DEPTH_PX): 2.5 % is 5 mm
# on an A4 page, past a scanner's usual margin and short of any row's baseline.
BORDER_DEPTH_SHARE = 0.025
BORDER_MIN_DEPTH_PX = 4
# a line of pixels along an edge is frame where this share of it is darker than
# BORDER_DARKNESS (a trace crosses a column in a few pixels; a flat trace along the top
# or bottom edge would have to run 60 % of the page's width within 5 mm of it)
BORDER_COVER = 0.6
BORDER_DARKNESS = 0.3
# and the lines this close inside the innermost frame line go with it (anti-aliasing,
# blur and JPEG ringing of the frame)
BORDER_HALO_PX = 2


def border_widths(dark: np.ndarray) -> tuple[int, int, int, int]:
    """How many lines of pixels a page frame or a scanner's dark margin takes up at the
    top, bottom, left and right edge of a darkness image (0 where there is none).

    Such lines are dark at every threshold: counted as ink they read as grid lines in
    the threshold's statistics (which then climb past a grey pen) and as the darkest
    ink. The frame lies within :data:`BORDER_DEPTH_SHARE` of the edge and is dark along
    :data:`BORDER_COVER` of it; everything from the edge to :data:`BORDER_HALO_PX` inside
    its innermost line is border.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.threshold import border_widths
    >>> page = np.zeros((400, 600), np.float32)
    >>> page[0, :] = page[-1, :] = page[:, 0] = page[:, -1] = 1.0   # a 1 px frame
    >>> page[200, 100:500] = 0.9                                     # a trace-like line
    >>> border_widths(page)
    (3, 3, 3, 3)
    """
    h, w = dark.shape
    depth_y = min(h // 4, max(BORDER_MIN_DEPTH_PX, int(BORDER_DEPTH_SHARE * h)))
    depth_x = min(w // 4, max(BORDER_MIN_DEPTH_PX, int(BORDER_DEPTH_SHARE * w)))
    edges = (dark[:depth_y], dark[h - depth_y:][::-1], dark[:, :depth_x].T, dark[:, w - depth_x:][:, ::-1].T)
    return tuple(_frame_depth(lines) for lines in edges)


def _frame_depth(lines: np.ndarray) -> int:
    """Lines from the edge (first) inward: the border's width in lines, 0 without a frame."""
    cover = (lines > BORDER_DARKNESS).mean(axis=1)
    frame = np.flatnonzero(cover >= BORDER_COVER)
    return 0 if len(frame) == 0 else min(len(lines), int(frame[-1]) + 1 + BORDER_HALO_PX)


def clear_border(dark: np.ndarray) -> np.ndarray:
    """``dark`` with a page frame or a scanner's dark margin (:func:`border_widths`) set to
    paper: neither grid nor trace. A page without one is returned as it is (not a copy).

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.threshold import clear_border
    >>> page = np.zeros((400, 600), np.float32); page[:, :2] = 1.0   # a dark left margin
    >>> page[200, 100:500] = 0.9
    >>> out = clear_border(page)
    >>> float(out[:, :4].max()), int(np.count_nonzero(out))   # the margin gone, the line kept
    (0.0, 400)
    """
    top, bottom, left, right = border_widths(dark)
    if not (top or bottom or left or right):
        return dark
    out = dark.copy()
    h, w = dark.shape
    out[:top], out[h - bottom:], out[:, :left], out[:, w - right:] = 0, 0, 0, 0
    return out


def normalise_background(dark: np.ndarray, *, scale: int = 8, size_px: int = 121) -> np.ndarray:
    """Subtract a smooth paper-darkness estimate (uneven lighting, shadows, yellowing).

    The background is a grey-level opening (a minimum then maximum filter wider than any
    ink stroke) computed on a ``scale``-times smaller copy, blurred and scaled back up.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.threshold import normalise_background
    >>> ramp = np.tile(np.linspace(0.1, 0.4, 400, dtype=np.float32), (300, 1))
    >>> ramp[150, 100:300] = 0.95  # a dark line on an uneven page
    >>> out = normalise_background(ramp)
    >>> bool(np.percentile(out, 90) < 0.1), bool(out[150, 200] > 0.8)
    (True, True)
    """
    h, w = dark.shape
    small = cv2.resize(dark, (max(1, w // scale), max(1, h // scale)), interpolation=cv2.INTER_AREA)
    k = max(3, (size_px // scale) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    bg = cv2.morphologyEx(small, cv2.MORPH_OPEN, kernel)
    bg = cv2.GaussianBlur(bg, (0, 0), k / 2)
    bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR)
    out = (dark - bg) / np.maximum(1.0 - bg, 0.2)
    return np.clip(out, 0.0, 1.0, out=out)


def otsu(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold of values in 0..1 (between-class variance maximum).

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.threshold import otsu
    >>> v = np.r_[np.full(100, 0.1), np.full(50, 0.8)]
    >>> 0.1 < otsu(v) < 0.8
    True
    """
    hist, edges = np.histogram(values, bins=bins, range=(0.0, 1.0))
    hist = hist.astype(np.float64)
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres)
    mu0 = m0 / np.maximum(w0, 1e-12)
    mu1 = (m0[-1] - m0) / np.maximum(w1, 1e-12)
    between = w0 * w1 * (mu0 - mu1) ** 2
    return float(edges[int(np.argmax(between)) + 1])


def grid_line_mask(mask: np.ndarray, *, h_len: int, v_len: int, bridge: int = 0) -> np.ndarray:
    """Foreground pixels on straight horizontal runs >= ``h_len``, and on vertical runs
    >= ``v_len`` where horizontal runs are found too.

    A tall QRS drawn with a thick pen is a long straight vertical run, like a grid line;
    alone, such runs are the trace's own and are kept. A horizontal run of ``h_len`` (a
    fifth of the page) is grid: a trace is that flat only where a lead is missing.
    ``bridge`` > 0 first closes gaps of up to that many pixels along each direction (a
    JPEG'd grid line broken by its blocks is still a line); only foreground pixels are
    returned.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.threshold import grid_line_mask
    >>> m = np.zeros((20, 100), bool); m[10, 10:90] = True   # an 80 px line...
    >>> m[10, 40] = m[10, 61] = False                      # ...broken twice
    >>> int(grid_line_mask(m, h_len=51, v_len=51).sum()), int(grid_line_mask(m, h_len=51, v_len=51, bridge=1).sum())
    (0, 78)
    """
    horiz = _straight_runs(mask, h_len, axis=1, bridge=bridge)
    return horiz | _straight_runs(mask, v_len, axis=0, bridge=bridge) if horiz.any() else horiz


def _straight_runs(mask: np.ndarray, length: int, *, axis: int, bridge: int = 0) -> np.ndarray:
    """Foreground on straight runs of at least ``length`` pixels along image rows
    (``axis`` 1) or columns (0); with ``bridge``, gaps of up to that many pixels along
    the runs are closed first (and not returned).

    An opening with a straight line keeps exactly such runs, one image row (column) at a
    time, so only the rows (columns) holding ``length`` pixels are opened: on a page
    whose grid the threshold removed, few are.
    """
    m = mask.view(np.uint8) if mask.dtype == bool else mask
    k = 2 * bridge + 1
    gap, line = ((1, k), (length, 1)) if axis == 1 else ((k, 1), (1, length))
    closed = cv2.morphologyEx(m, cv2.MORPH_CLOSE, np.ones(gap, np.uint8)) if bridge else m
    out = np.zeros(m.shape, bool)
    lines = np.flatnonzero(np.count_nonzero(closed, axis=axis) >= length)
    if len(lines) == 0:
        return out
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, line)
    if axis == 1:
        out[lines] = cv2.morphologyEx(closed[lines], cv2.MORPH_OPEN, kernel).astype(bool) & (m[lines] > 0)
    else:
        sub = np.ascontiguousarray(closed[:, lines])
        out[:, lines] = cv2.morphologyEx(sub, cv2.MORPH_OPEN, kernel).astype(bool) & (m[:, lines] > 0)
    return out


def _line_lengths(shape) -> tuple[int, int]:
    h, w = shape
    return max(15, w // 5), max(15, h // 6)


def adaptive_otsu(dark: np.ndarray, *, max_line_fraction: float = 0.03,
                  max_iter: int = 6) -> tuple[float, np.ndarray]:
    """Threshold a normalised darkness image so that the grid vanishes and the trace stays.

    Starts at Otsu's threshold and, while more than ``max_line_fraction`` of the
    foreground lies on long straight lines (grid), moves to Otsu's threshold of the
    remaining foreground. Vertical lines count only beside horizontal ones, in the loop
    and in the long straight lines removed from the mask at the end (see
    :func:`grid_line_mask`). The climb stops short of the pen's darkness, read from the
    long curves (:func:`pen_darkness`), not from black text or a frame.

    Returns
    -------
    threshold : float
    mask : ndarray of bool
        Trace (and text) pixels.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.threshold import adaptive_otsu
    >>> img = np.zeros((200, 400), np.float32)
    >>> img[:, ::10] = 0.45  # a grey grid
    >>> img[100, :] = 0.45
    >>> rr = (100 + 30 * np.sin(np.arange(400) / 20)).astype(int)
    >>> img[rr, np.arange(400)] = 0.9  # a dark trace
    >>> t, mask = adaptive_otsu(img)
    >>> 0.45 < t < 0.9, int(mask.sum()) <= 400
    (True, True)
    """
    h_len, v_len = _line_lengths(dark.shape)
    # Decide on a 2x smaller copy: the grid's share does not depend on resolution.
    small = dark[::2, ::2]
    fg_values = small[small > PAPER_DARKNESS]
    if fg_values.size == 0:
        return 1.0, np.zeros(dark.shape, bool)
    t = max(otsu(fg_values), 0.12)
    pen = pen_darkness(small, t, h_len, v_len)
    for _ in range(max_iter):
        share = _grid_share(small, t, h_len, v_len)
        if share is None or share <= max_line_fraction:
            break
        t_next = _otsu_above(small[small > t], t)
        if t_next <= t + 0.01:
            t_next = t + 0.05
        if t_next >= min(0.95, 0.9 * pen):
            # the "lines" left are the trace's own (tall strokes of a thick pen, flat
            # stretches of a thick one); a threshold at the pen's darkness would erase
            # the trace with them. Only a step that clears them, short of the pen's solid
            # ink, is taken where they are many horizontal lines: a grid nearly as dark
            # as the pen (a photocopy's black grid)
            if (t_next < min(0.95, 0.97 * pen) and _horizontal_lines(small, t, h_len) >= MIN_GRID_LINES
                    and (_grid_share(small, t_next, h_len, v_len) or 0.0) <= max_line_fraction):
                t = t_next
            break
        t = t_next
    return float(t), mask_at(dark, t)


# the trace's pen is read from ink in curves at least this share of the page wide: a 3x4
# page's panel is a quarter of it, a word of the header (or a lead's name) much less
PEN_CURVE_SHARE = 0.1
# the pen's darkness: this percentile of the curves' ink (its solid core, not its edges)
PEN_PERCENTILE = 99
# fewer curve pixels than this (on the 2x smaller copy): the darkest ink of the page is
# taken instead
MIN_PEN_PIXELS = 50


def pen_darkness(small: np.ndarray, t: float, h_len: int, v_len: int) -> float:
    """The darkness of the trace's pen: the :data:`PEN_PERCENTILE` of the ink darker than
    ``t`` in long curves (on the 2x smaller copy ``small``), where there are any; else
    of everything darker than the paper. ``h_len``, ``v_len``: the full-size page's line lengths.

    The darkest ink of a page is often not the trace: black header text, lead names, a
    box or frame around the grid. A threshold guarded by their darkness climbs past a
    grey pen and erases the trace. Long straight lines (a frame, a box, the grid) are
    taken out first, then only components at least :data:`PEN_CURVE_SHARE` of the page
    wide (traces; letters and words are narrower) are kept.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.threshold import pen_darkness
    >>> img = np.zeros((200, 400), np.float32)
    >>> rr = (100 + 20 * np.sin(np.arange(400) / 60)).astype(int)
    >>> img[rr, np.arange(400)] = 0.8             # a grey trace
    >>> img[10:16, 10:30] = 1.0                   # black text
    >>> img[5, :] = img[195, :] = img[:, 5] = img[:, 395] = 1.0   # a black box
    >>> round(pen_darkness(img, 0.5, 80, 60), 2)
    0.8
    """
    m = small > t
    m &= ~grid_line_mask(m, h_len=max(8, h_len // 2), v_len=max(8, v_len // 2), bridge=1)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m.view(np.uint8), connectivity=8)
    wide = stats[:, cv2.CC_STAT_WIDTH] >= PEN_CURVE_SHARE * small.shape[1]
    wide[0] = False
    curves = small[wide[labels] & m]
    if curves.size < MIN_PEN_PIXELS:
        curves = small[small > PAPER_DARKNESS]
    return float(np.percentile(curves, PEN_PERCENTILE)) if curves.size else 1.0


def mask_at(dark: np.ndarray, t: float) -> np.ndarray:
    """The ink darker than ``t``, without long straight lines (grid; see
    :func:`grid_line_mask`).

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.threshold import mask_at
    >>> img = np.zeros((100, 200)); img[50, :] = 0.8; img[20, 10:30] = 0.8   # a grid line, a dash
    >>> int(mask_at(img, 0.5).sum())
    20
    """
    return _without_lines(dark > t)


def _without_lines(mask: np.ndarray) -> np.ndarray:
    """``mask`` less its long straight lines (:func:`grid_line_mask` at the page's line
    lengths)."""
    h_len, v_len = _line_lengths(mask.shape)
    return mask & ~grid_line_mask(mask, h_len=h_len, v_len=v_len)


def _grid_share(small: np.ndarray, t: float, h_len: int, v_len: int) -> float | None:
    """The share of the ink darker than ``t`` (on a 2x smaller copy, ``small``) that lies on
    long straight lines (the grid); None when there is no such ink. ``h_len``, ``v_len``:
    the full-size page's line lengths (:func:`_line_lengths`)."""
    m = small > t
    n = int(m.sum())
    if n == 0:
        return None
    # one-pixel gaps bridged: at 100 dpi, JPEG's 4:2:0 chroma leaves a red grid in the
    # trace view as lines broken by its blocks, which must still count as grid; vertical
    # runs alone are tall QRS strokes merged across rows (12x1 at 100 dpi), not grid
    lines = grid_line_mask(m, h_len=max(8, h_len // 2), v_len=max(8, v_len // 2), bridge=1)
    return float(lines.sum()) / n


# a grid left in the mask shows at least this many horizontal lines (a 5 mm grid: about
# 20 on a 10 cm tall strip); a thick pen's flat stretches lie on far fewer rows
MIN_GRID_LINES = 8


def _horizontal_lines(small: np.ndarray, t: float, h_len: int) -> int:
    """How many separate horizontal lines (a fifth of the page long; one-pixel gaps
    bridged) the ink darker than ``t`` holds, on the 2x smaller copy ``small``."""
    rows = _straight_runs(small > t, max(8, h_len // 2), axis=1, bridge=1).any(axis=1)
    return int(np.count_nonzero(np.diff(rows.view(np.int8), prepend=0) == 1))


def faint_threshold(dark: np.ndarray, t: float, *, max_line_fraction: float = 0.03) -> float | None:
    """A threshold for a trace fainter than the ink :func:`adaptive_otsu` kept (above ``t``):
    Otsu's threshold of the ink between the paper and ``t``, if the grid stays hidden
    there (at most ``max_line_fraction`` of that ink on long straight lines); else None.

    Otsu's first split falls between the two most different levels of ink. On a page whose
    thin, grey trace is much fainter than its black text, those are the trace and the
    text, and the trace falls below it.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.threshold import adaptive_otsu, faint_threshold
    >>> img = np.zeros((200, 400), np.float32)
    >>> rr = (100 + 30 * np.sin(np.arange(400) / 20)).astype(int)
    >>> img[rr, np.arange(400)] = 0.25           # a faint grey trace
    >>> img[10:20, 10:60] = 0.95                 # black text
    >>> t, mask = adaptive_otsu(img)
    >>> int(mask[rr, np.arange(400)].sum()), 0.12 <= faint_threshold(img, t) < 0.25
    (0, True)
    """
    small = dark[::2, ::2]
    fainter = small[(small > PAPER_DARKNESS) & (small <= t)]
    if fainter.size == 0:
        return None
    t_faint = max(otsu(fainter), 0.12)
    if t_faint >= t:
        return None
    h_len, v_len = _line_lengths(dark.shape)
    share = _grid_share(small, t_faint, h_len, v_len)
    return t_faint if share is not None and share <= max_line_fraction else None


def reconnect_faint(dark: np.ndarray, mask: np.ndarray, t: float, *, reach_px: int = 3) -> np.ndarray:
    """``mask`` (ink darker than ``t``) grown into the fainter ink (over ``t / 2``) within
    ``reach_px`` of it, without long straight lines (see :func:`grid_line_mask`).

    A thin line drawn with few grey levels (a palette image) lies, where it slopes, in
    pairs of half-dark pixels: a threshold between the grey levels breaks it into dots
    that no component of trace length joins. Its faint pixels lie beside its dark ones.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.threshold import reconnect_faint
    >>> dark = np.zeros((5, 12)); dark[2, ::2] = 1.0; dark[2, 1::2] = 0.6   # dots, half-dark between
    >>> int(reconnect_faint(dark, dark > 0.7, 0.7).sum())
    12
    """
    weak = dark > t / 2
    grown = mask.copy()
    kernel = np.ones((3, 3), np.uint8)
    for _ in range(reach_px):
        grown |= cv2.dilate(grown.view(np.uint8), kernel).view(bool) & weak
    return _without_lines(grown)


def _otsu_above(values: np.ndarray, t: float) -> float:
    """Otsu's threshold of the darkness ``values`` above ``t`` (the next, darker split)."""
    return otsu((values - t) / max(1e-6, 1 - t)) * (1 - t) + t


# The pen-core threshold may split the trace into at most this many times the pieces
# (fold-9 renders at 150-200 dpi: up to 1.75; at 100 dpi 4.3-7.9), and must keep the line's
# crossings of the page's columns between these shares (renders 0.89-1.05; photos median
# 0.68; khan2021 scans 1.26-1.59): ``python benchmarks/pen_core_evidence.py``.
MAX_CORE_SPLIT = 2.0
MIN_CORE_COVER = 0.85
MAX_CORE_CROSSINGS = 1.1


def pen_core(dark: np.ndarray, t: float, mask: np.ndarray,
             evidence: dict | None = None) -> tuple[float, np.ndarray]:
    """The trace mask at the core of the pen's line, when the line is thick enough to have one.

    Past the grid (``t`` and ``mask`` from :func:`adaptive_otsu`), Otsu's threshold of
    the remaining foreground splits the pen's solid core from its anti-aliased or blurred
    edges, where a neighbouring row's stroke and scan noise merge with the line (fold-9
    renders: scans +1.7 and +2.1 dB, 12x1 pages +0.6 dB). Kept only if the trace stays whole: a
    thin pen (about 1 px, a 100 dpi page) has no solid core and falls apart into many
    pieces there, in a photo's uneven light whole stretches of fainter ink vanish, and a
    scanned sheet's textured pen splits across its line. Otherwise ``t`` and ``mask`` are
    returned unchanged. A dict passed as ``evidence`` receives the candidate threshold,
    both ratios and the decision (``benchmarks/pen_core_evidence.py`` prints them).

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.threshold import adaptive_otsu, pen_core
    >>> img = np.zeros((80, 300), np.float32)
    >>> img[:, ::8] = img[::8, :] = 0.15  # a faint grid
    >>> for x in range(20, 280):  # a wavy 3 px pen with blurred edges
    ...     y = int(40 + 15 * np.sin(x / 20))
    ...     img[y - 2:y + 3, x] = 0.55
    ...     img[y - 1:y + 2, x] = 0.9
    >>> t, mask = adaptive_otsu(img)
    >>> t_core, core = pen_core(img, t, mask)
    >>> int(mask[:, 100].sum()), int(core[:, 100].sum())
    (5, 3)
    """
    above = dark[mask]
    if above.size == 0:
        return t, mask
    t_core = _otsu_above(above, t)
    if evidence is not None:
        evidence.update(t_core=float(t_core), kept=False)
    if not t + 0.05 <= t_core < 0.95:   # no darker level to split off: the ink is one level
        return t, mask
    core = mask & (dark > t_core)
    pieces = _pieces(core), _pieces(mask)
    crossings = _column_runs(core) / max(1, _column_runs(mask))
    # fewer crossings: faint stretches of ink (uneven light in a photo) vanish; more: a
    # textured pen (a scanned sheet) has holes across its line, so no solid core
    kept = (pieces[0] <= MAX_CORE_SPLIT * pieces[1] + 10
            and MIN_CORE_COVER <= crossings <= MAX_CORE_CROSSINGS)
    if evidence is not None:
        evidence.update(pieces_ratio=pieces[0] / max(1, pieces[1]),
                        crossings_ratio=float(crossings), kept=bool(kept))
    return (float(t_core), core) if kept else (t, mask)


def _column_runs(mask: np.ndarray) -> int:
    """Vertical runs of foreground, summed over the columns (each row's line crosses
    every column it spans once)."""
    return int(np.count_nonzero(mask[1:] & ~mask[:-1]) + np.count_nonzero(mask[0]))


def _pieces(mask: np.ndarray) -> int:
    """Connected pieces of at least 3 pixels (areas by counting labels, without OpenCV's
    per-piece statistics, which are the slow part)."""
    n, labels = cv2.connectedComponents(mask.view(np.uint8), connectivity=8)
    return int((np.bincount(labels[mask], minlength=n)[1:] >= 3).sum())
