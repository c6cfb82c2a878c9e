"""Stage 2 (classical trace view, :mod:`.views`): colour-aware greyscale compression.

An ECG grid is printed in a colour (red, pink, orange, green) while the trace is dark in
every channel. Two greyscale *darkness* views (0 paper .. 1 black ink) separate them:

* ``trace view`` = 1 - max(R, G, B): a coloured grid is bright in its own channel, so it
  nearly vanishes; a black or dark-blue trace stays dark.
* ``grid view`` = 1 - min(R, G, B): everything printed is visible, grid included.

For a grey or black grid both views agree and the threshold stage separates grid from
trace by darkness and shape instead.

Before the trace view, :func:`denoise` smooths scanner noise and JPEG artefacts with an
edge-preserving (bilateral) filter. A 1-bit page (a fax, a CCITT G3/G4 archive scan, a
dithered print) has lost its grey levels; :func:`grey_from_bilevel` gives them back
before either view is made.
"""
from __future__ import annotations

import numpy as np

from .extract import column_runs

# The blur that turns a 1-bit page back into grey levels (px; dither cells and the stairs
# of a thresholded pen edge are pixel-sized at any dpi). ECG-Image-Kit scans of folds 1-9
# as 1-bit (`python benchmarks/eik_accuracy.py --folds 1-9 -n 10 --only 1-bit --method
# classical`, this constant set to each value). Dithered: 0.6 15.94, 0.8 20.50, 1.0
# 20.38 dB (earlier code: 0.9 20.13, 1.3 17.48). Thresholded, once its thin grid lines
# are out (THRESHOLDED_BLUR_PX; with BILEVEL_STAIR_PX): 0.4 20.28, 0.5 20.30, 0.6 20.37,
# 0.8 19.88, 1.0 19.72 dB: the blur only has to round off the stairs of the pen's edges.
# Pages 2 deg askew once their lines are out along the skew (`--only skewed --method
# auto`, THRESHOLDED_BLUR_PX set to each value): 0.6 19.56, 0.8 19.65 dB; our scan preset
# cut at a threshold, fold 9 (`python benchmarks/digitize_accuracy.py --folds 9 -n 12
# --only "scan 200 dpi bilevel"`): 0.6 16.40, 0.8 15.03 dB.
BILEVEL_BLUR_PX = 0.8
THRESHOLDED_BLUR_PX = 0.6
# How far (px) across a grid line may wander along its length, on a flattened photo, and
# still be one line (:func:`without_grid_lines` with ``span``): the flattening leaves grid
# lines within 1.3 px of a straight lattice on the phone photos of ``phone-photos``
# (90th percentile; `python benchmarks/real_pictures.py --sets phone-photos`).
LINE_SLACK_PX = 2
# A run stops short where its reach over the span holds less than this share of its own
# darkness. phone-photos self-consistency median (`python benchmarks/real_pictures.py
# --sets phone-photos`, this constant set to each value): 0.5 10.44 dB, 0.75 5.44 (darker
# stretches of grid line spared too).
STROKE_REACH = 0.5
# ... and is darker than this percentile of the grid's runs (same command): 90 10.44 dB,
# 97 8.72.
STROKE_PERCENTILE = 90


def is_bilevel(rgb: np.ndarray) -> bool:
    """Whether a page holds only two grey levels, no colour (sampled every 7th pixel each way).

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.greyscale import is_bilevel
    >>> page = np.full((70, 70, 3), 255, np.uint8); page[28] = 0   # a black line on white
    >>> is_bilevel(page), is_bilevel(page // 2 + 60)
    (True, True)
    >>> page[14, 14] = 128; is_bilevel(page)                         # a third grey level
    False
    """
    sample = np.asarray(rgb)[::7, ::7]
    if sample.ndim == 3 and not (sample == sample[..., :1]).all():
        return False  # colour: not a 1-bit page
    lo, hi = sample.min(), sample.max()
    return bool(((sample == lo) | (sample == hi)).all())


# A 1-bit page whose black pixels stand alone (no black 4-neighbour) this often was
# dithered: Floyd-Steinberg scatters lone dots over every grey area (pink grid, paper
# tints, pen edges), while a thresholded page's ink comes in strokes and lines, lone
# pixels only as specks. The doctest of :func:`is_dithered` shows both.
DITHERED_LONE_SHARE = 0.05


def is_dithered(rgb: np.ndarray) -> bool:
    """Whether a 1-bit page (:func:`is_bilevel`) holds its greys as scattered dots
    (dithered) rather than cut at a threshold.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.greyscale import is_dithered
    >>> page = np.full((60, 60, 3), 255, np.uint8); page[30:32] = 0    # a thresholded line
    >>> is_dithered(page)
    False
    >>> page[::4, ::4] = 0                                              # a grey dithered to dots
    >>> is_dithered(page)
    True
    """
    ink = _bilevel_ink(rgb)
    inner = ink[1:-1, 1:-1]
    neighbours = ink[:-2, 1:-1] | ink[2:, 1:-1] | ink[1:-1, :-2] | ink[1:-1, 2:]
    return bool((inner & ~neighbours).sum() > DITHERED_LONE_SHARE * max(1, int(inner.sum())))


# Gaps of dashed grid lines that :func:`without_thin_lines` bridges (px; ECG-Image-Kit's
# vertical lines, and our renderer's light scan grid, cut at a threshold break every few
# pixels).
LINE_GAP_PX = 4


def without_thin_lines(rgb: np.ndarray, length: int, skew_deg: float = 0.0, width: int = 1) -> np.ndarray:
    """A thresholded 1-bit page with its thin straight lines (up to ``width`` px thick)
    turned to paper.

    Cut at a threshold, a printed grid comes out as black as the pen, and a line that
    the trace runs beside is blurred into it (:func:`grey_from_bilevel`). A pixel is
    taken out where it lies on a straight run at least ``length`` px long (along the
    rows or the columns, gaps of up to :data:`LINE_GAP_PX` bridged, as dashed lines
    print) and its run of ink across the line is at most ``width`` px. Where the trace
    crosses a line or runs along it, the line's pixels join the pen's and stay. On a page skewed
    by ``skew_deg`` (:func:`~.deskew.estimate_skew`) so that a line climbs half a pixel
    or more over ``length``, its pixels are a staircase: there a run is a line of
    ``length`` px at the skew's slope, at least :data:`SKEWED_LINE_FILL` of it ink
    within a row of it (:func:`_skewed_runs`).

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.greyscale import without_thin_lines
    >>> page = np.full((60, 80, 3), 255, np.uint8)
    >>> page[20, :] = page[:, 40] = 0          # grid lines
    >>> page[35:37, 5:75] = 0                   # a trace two pixels thick
    >>> out = without_thin_lines(page, 25)
    >>> int(out[20, 10, 0]), int(out[50, 40, 0]), int(out[35, 10, 0]), int(out[35, 40, 0])
    (255, 255, 0, 0)
    >>> int(without_thin_lines(page, 25, width=2)[35, 10, 0])   # two pixels thick: a line too
    255
    >>> dashed = np.full((60, 80, 3), 255, np.uint8)
    >>> dashed[30, np.arange(80) % 6 < 4] = 0      # a line broken every 4 px
    >>> int((without_thin_lines(dashed, 25) == 0).sum())
    0
    >>> skewed = np.full((60, 80, 3), 255, np.uint8)
    >>> x = np.arange(80)
    >>> skewed[np.round(20 - x * np.tan(np.radians(3))).astype(int), x] = 0   # a line turned 3 deg
    >>> int((without_thin_lines(skewed, 25, 3.0) == 0).sum())   # all of it taken out
    0
    """
    import cv2

    ink = _bilevel_ink(rgb).astype(np.uint8)
    slope = np.tan(np.radians(skew_deg))
    skewed = lines_step_across(length, skew_deg)
    lines = np.zeros(ink.shape, bool)
    # in the image's rows (y down), a page turned by +skew_deg has its horizontal lines
    # falling to the right by -slope, and (transposed) its vertical lines by +slope
    for along_rows, line_slope in ((True, -slope), (False, slope)):
        page = ink if along_rows else np.ascontiguousarray(ink.T)   # lines along the rows
        bridged = cv2.morphologyEx(page, cv2.MORPH_CLOSE,
                                   cv2.getStructuringElement(cv2.MORPH_RECT, (LINE_GAP_PX + 1, 1)))
        if skewed:
            straight = _skewed_runs(bridged, length, line_slope)
        else:
            straight = cv2.morphologyEx(bridged, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
        across = _ink_across(page > 0)
        thin = (straight > 0) & (across >= 1) & (across <= width)
        lines |= thin if along_rows else thin.T
    out = np.array(rgb, copy=True)
    out[lines] = out.max()
    return out


def pen_width_px(rgb: np.ndarray, length: int) -> float:
    """How thick a 1-bit page's pen is along most of its course (px): the lower quartile
    of the thickness of its ink off straight lines ``length`` px long (the grid's, the
    pen's flat stretches), each pixel's thickness being the shorter of its runs down and
    across. Ink under 3 px thick is left out: the dashes a threshold breaks a grid into,
    and two-pixel lines, are as thin as a thin pen's flat course. 0 where none is left.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.greyscale import pen_width_px
    >>> page = np.full((80, 120, 3), 255, np.uint8)
    >>> page[20:22, :] = page[:, 60:62] = 0       # grid lines two pixels thick
    >>> for x in range(10, 110):                  # a wave, four pixels down each column
    ...     y = int(50 + 4 * np.sin(x / 12))
    ...     page[y - 2:y + 2, x] = 0
    >>> pen_width_px(page, 30)
    4.0
    """
    import cv2

    ink = _bilevel_ink(rgb)
    binary = ink.astype(np.uint8)
    straight = np.zeros(ink.shape, bool)
    for size in ((length, 1), (1, length)):
        straight |= cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, size)) > 0
    thickness = np.minimum(_ink_across(ink), _ink_across(ink.T).T)[ink & ~straight]
    thickness = thickness[thickness >= 3]
    return float(np.percentile(thickness, 25)) if thickness.size else 0.0


def _ink_across(ink: np.ndarray) -> np.ndarray:
    """Each pixel's count of ink down its column's run through it (0 on paper): a
    horizontal line's thickness where it runs alone."""
    cols, tops, bottoms = column_runs(ink)
    delta = np.zeros((ink.shape[0] + 1, ink.shape[1]), np.int32)
    lengths = bottoms - tops + 1
    delta[tops, cols] += lengths
    delta[bottoms + 1, cols] -= lengths
    return np.cumsum(delta, axis=0)[:-1]


def lines_step_across(length: float, skew_deg: float) -> bool:
    """Whether a page skewed by ``skew_deg`` has its lines climb half a pixel or more over
    ``length`` px: their pixels then step across the rows (and columns) as a staircase."""
    return bool(length * abs(np.tan(np.radians(skew_deg))) >= 0.5)


# The share of a skewed line's length (its pixels, a row up or down allowed) that must be
# ink: at a 2 deg skew a thresholded line steps a row every 29 px, and at some steps two
# pixels of it stand one above the other; 0.95 left such lines in on ECG-Image-Kit pages.
# Lower takes a thin pen's flat stretches too: with views.SKEWED_LINE_RUN_MM at 20 (see
# its comment for the commands, before views.DASHED_GRID), 0.85 18.36 / 16.43 dB, 0.5
# 17.16 / 15.90.
SKEWED_LINE_FILL = 0.85


def _skewed_runs(ink: np.ndarray, length: int, slope: float) -> np.ndarray:
    """Pixels (uint8 0/1) on a line of ``length`` px and ``slope`` (rows per column) that is
    :data:`SKEWED_LINE_FILL` ink, each of its pixels allowed a row up or down (a
    thresholded staircase strays by one)."""
    import cv2

    xs = np.arange(length) - length // 2
    dy = np.round(xs * slope).astype(int)
    kernel = np.zeros((dy.max() - dy.min() + 1, length), np.float32)
    kernel[dy - dy.min(), np.arange(length)] = 1
    band = cv2.dilate(ink, np.ones((3, 1), np.uint8)).astype(np.float32)
    fill = cv2.filter2D(band, -1, kernel / length, borderType=cv2.BORDER_CONSTANT)
    centres = (fill >= SKEWED_LINE_FILL).astype(np.uint8)
    # every pixel of a line centred there (filter2D correlates: the kernel flipped)
    return cv2.dilate(centres, np.ascontiguousarray(kernel[::-1, ::-1]).astype(np.uint8))


def thin_ink_shares(before: np.ndarray, after: np.ndarray) -> tuple[float, float]:
    """How much of a 1-bit page's ink is thin (one pixel across the rows or the
    columns), and how much of that ``after`` (the page from :func:`without_thin_lines`)
    turned to paper; 0 where there is none.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.greyscale import thin_ink_shares, without_thin_lines
    >>> page = np.full((60, 80, 3), 255, np.uint8)
    >>> page[20, :] = 0                          # a grid line
    >>> page[30, 10:20] = 0                      # a dash of one
    >>> page[40:43, 10:70] = 0                   # a trace three pixels thick
    >>> [round(v, 2) for v in thin_ink_shares(page, without_thin_lines(page, 25))]
    [0.33, 0.89]
    """
    ink, kept = _bilevel_ink(before), _bilevel_ink(after)
    pad = np.pad(ink, 1)
    across_rows = ~pad[:-2, 1:-1] & ~pad[2:, 1:-1]      # paper above and below
    across_cols = ~pad[1:-1, :-2] & ~pad[1:-1, 2:]      # paper left and right
    thin = ink & (across_rows | across_cols)
    if not thin.any():
        return 0.0, 0.0
    return float(thin.sum() / ink.sum()), float((thin & ~kept).sum() / thin.sum())


def _bilevel_ink(rgb: np.ndarray) -> np.ndarray:
    """The black pixels of a 1-bit page (any two grey levels; the darker is ink)."""
    grey = np.asarray(rgb)
    grey = grey[..., 0] if grey.ndim == 3 else grey
    return grey < (int(grey.min()) + int(grey.max())) / 2


def grey_from_bilevel(rgb: np.ndarray, sigma: float = BILEVEL_BLUR_PX) -> np.ndarray:
    """A 1-bit page (:func:`is_bilevel`) blurred by ``sigma`` px so the later stages see
    grey levels again: a dithered area becomes its grey, a pen's stair-stepped edge an
    anti-aliased one whose darkness places the trace to a fraction of a pixel. Any other
    page is returned as it is."""
    if not is_bilevel(rgb):
        return rgb
    import cv2

    return cv2.GaussianBlur(np.ascontiguousarray(rgb), (0, 0), sigma)


def denoise(rgb: np.ndarray, *, sigma_colour: float = 55.0, sigma_space: float = 1.5) -> np.ndarray:
    """Edge-preserving smoothing of a page (the bilateral filter of Tomasi & Manduchi 1998).

    Each pixel becomes a weighted mean of its 5x5 neighbourhood, the weights falling with
    distance (``sigma_space``, px) and with colour difference (``sigma_colour``, 0..255
    levels). JPEG ringing, blocking and sensor noise differ from the paper by a few tens of
    levels and are averaged away; a trace edge differs by far more and stays sharp, so the
    anti-aliased edge pixels that place the trace to a fraction of a pixel come out cleaner.
    The pipeline smooths only what the trace view is made from: on photos, smoothing the
    grid view as well changed which grid lines were found.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.greyscale import denoise
    >>> rng = np.random.default_rng(0)
    >>> page = np.full((60, 60, 3), 230.0); page[30, :] = 20      # paper and a dark line
    >>> noisy = np.clip(page + rng.normal(0, 8, page.shape), 0, 255).astype(np.uint8)
    >>> out = denoise(noisy)
    >>> paper = np.ones((60, 60), bool); paper[27:34] = False
    >>> round(float(noisy[paper].std())), round(float(out[paper].std())), int(out[30, 30, 0]) < 30
    (8, 3, True)
    """
    import cv2

    return cv2.bilateralFilter(np.ascontiguousarray(rgb), 5, sigma_colour, sigma_space)


def trace_view(rgb: np.ndarray) -> np.ndarray:
    """Darkness (0..1, float32) in which coloured grid lines fade and dark ink stays.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.greyscale import trace_view
    >>> px = np.array([[[225, 60, 60], [20, 20, 30], [255, 253, 250]]], np.uint8)
    >>> [round(float(v), 2) for v in trace_view(px)[0]]  # red grid, black trace, paper
    [0.12, 0.88, 0.0]
    """
    import cv2

    r, g, b = cv2.split(np.ascontiguousarray(rgb))
    return _darkness(cv2.max(cv2.max(r, g), b))


def grid_view(rgb: np.ndarray) -> np.ndarray:
    """Darkness (0..1, float32) of anything printed, grid lines included.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.greyscale import grid_view
    >>> px = np.array([[[225, 60, 60], [255, 253, 250]]], np.uint8)
    >>> [round(float(v), 2) for v in grid_view(px)[0]]
    [0.76, 0.02]
    """
    import cv2

    r, g, b = cv2.split(np.ascontiguousarray(rgb))
    return _darkness(cv2.min(cv2.min(r, g), b))


def without_grid_lines(dark: np.ndarray, length: int, *, span: int | None = None
                       ) -> tuple[np.ndarray, float]:
    """A darkness view with its straight horizontal and vertical lines divided out, and
    the darkness taken for a grid line.

    A grey opening with a line ``length`` px long keeps what runs straight for that long
    (grid lines, and also a flat stretch of trace or a tall QRS stroke). Capping that at
    the typical darkness of those lines (their 75th percentile) keeps the model a grid
    line's darkness: a line pixel is divided out (``1 - (1 - d) / (1 - line)``, ink over
    ink), while trace, darker than any grid line, stays dark where it runs along or
    across one. For pages whose grid is as neutral as the pen (photos under warm light,
    grey grids), where colour cannot part them; lines must already be straight
    (:mod:`.flatten`).

    With ``span``, a run is only a grid line where it also runs on, within
    :data:`LINE_SLACK_PX` across, for ``span`` px, or is no darker than most grid lines
    (:func:`_strokes_spared`): a thin QRS stroke or a flat stretch of trace, often
    hardly darker than the grid on a photo, is not faded.

    Examples
    --------
    >>> import numpy as np
    >>> d = np.zeros((100, 100), np.float32)
    >>> d[:, 5::10] = d[5::10, :] = 0.3      # grid lines
    >>> d[15, 10:60] = 0.8                    # a trace along a grid line
    >>> d[40:70, 52] = 0.45                   # a thin QRS stroke, 30 px tall
    >>> clean, line = without_grid_lines(d, 21)
    >>> round(line, 2), round(float(clean[50, 25]), 2), round(float(clean[15, 30]), 2)
    (0.3, 0.0, 0.71)
    >>> round(float(clean[50, 52]), 2), round(float(without_grid_lines(d, 21, span=60)[0][50, 52]), 2)
    (0.21, 0.45)
    """
    import cv2

    models, levels = [], []
    for size in ((1, length), (length, 1)):
        opened = cv2.morphologyEx(dark, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, size))
        lines = opened[opened > 0.08]
        level, darkest = (np.percentile(lines, [75, STROKE_PERCENTILE]) if lines.size > 100
                          else (0.0, 1.0))
        if span:
            opened = _strokes_spared(dark, opened, size, span, darker_than=darkest)
        models.append(np.minimum(opened, level))
        levels.append(float(level))
    clean = 1 - (1 - dark) / ((1 - models[0]) * (1 - models[1]))
    return np.clip(clean, 0, 1).astype(np.float32), float(np.mean(levels))


def _strokes_spared(dark: np.ndarray, opened: np.ndarray, size: tuple[int, int], span: int,
                    darker_than: float) -> np.ndarray:
    """The straight runs ``opened`` (a grey opening of ``dark`` with a line of ``size``)
    less those that stop within ``span`` px (:data:`LINE_SLACK_PX` either way across
    allowed: a grid line runs across the sheet, bent a little where the flattening left it
    so) and are darker than ``darker_than``: a bent grid line, as light as the others, is
    still taken out."""
    import cv2

    along_columns = size[0] == 1
    width = 2 * LINE_SLACK_PX + 1
    across = (width, 1) if along_columns else (1, width)
    widened = cv2.dilate(dark, cv2.getStructuringElement(cv2.MORPH_RECT, across))
    long_run = cv2.morphologyEx(widened, cv2.MORPH_OPEN, cv2.getStructuringElement(
        cv2.MORPH_RECT, (1, span) if along_columns else (span, 1)))
    stroke = (long_run < STROKE_REACH * opened) & (dark > darker_than)
    return np.where(stroke, np.float32(0), opened)


def _darkness(channel: np.ndarray) -> np.ndarray:
    return (255.0 - channel.astype(np.float32)) * np.float32(1.0 / 255.0)


def grid_chroma(rgb: np.ndarray) -> float:
    """Median chroma (max - min channel, 0..1) of the printed, non-trace pixels.

    High for a coloured grid (colour separation works), low for grey/black grids.
    """
    small = rgb[::4, ::4].astype(np.int16)
    hi, lo = small.max(axis=2), small.min(axis=2)
    printed = (255 - lo > 40) & (255 - hi < 120)  # visible in some channel, not black ink
    if printed.sum() < 50:
        return 0.0
    return float(np.median(hi[printed] - lo[printed]) / 255.0)


# A region this dark (max of R, G, B, blurred over a few millimetres) that touches the
# image's edge is not paper: the black surround of a rotated or shifted page (ECG-Image-Kit
# photos, scanner lids). Paper in deep shadow stays above it.
SURROUND_LEVEL = 70
SURROUND_BLUR_PX = 15


def dark_surround(rgb: np.ndarray) -> np.ndarray | None:
    """Where the picture is not paper but a near-black surround touching its edge (bool),
    grown by a few pixels; None where there is none.

    Its straight edges and its mass swamp the grid's lines in the deskew's projections
    (ECG-Image-Kit photo pages turned 3-6 deg read as straight), so the views blank it.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.greyscale import dark_surround
    >>> page = np.full((200, 300, 3), 230, np.uint8); page[:40, :60] = 0   # a black corner
    >>> page[100:130, 150:200] = 0                                           # a black box inside
    >>> m = dark_surround(page)
    >>> bool(m[10, 10]), bool(m[115, 175]), dark_surround(np.full((50, 50, 3), 230, np.uint8)) is None
    (True, False, True)
    """
    import cv2

    rgb = np.asarray(rgb)
    bright = rgb.max(axis=2) if rgb.ndim == 3 else rgb
    dark = (cv2.blur(bright.astype(np.float32), (SURROUND_BLUR_PX, SURROUND_BLUR_PX)) < SURROUND_LEVEL)
    if not dark.any():
        return None
    n, labels = cv2.connectedComponents(dark.view(np.uint8), connectivity=4)
    edge = np.unique(np.r_[labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    edge = edge[edge > 0]
    if not len(edge):
        return None
    surround = np.isin(labels, edge).astype(np.uint8)
    grow = SURROUND_BLUR_PX // 2 + 2
    return cv2.dilate(surround, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)).astype(bool)


def blanked(dark: np.ndarray, where: np.ndarray | None) -> np.ndarray:
    """A darkness view set to paper (0) ``where`` is True, e.g. a :func:`dark_surround`
    (unchanged for None)."""
    return dark if where is None else np.where(where, 0, dark).astype(dark.dtype, copy=False)
