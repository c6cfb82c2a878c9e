"""``method="auto"``: a page photographed at a slant and filling the frame, told from its
grid lines.

A sheet on a background is found from its outline (:func:`.sheet.sheet_on_background`)
and read as a photo. A sheet that fills the frame shows no outline, but its grid still
shows the camera's tilt: the vertical lines lean more towards one side of the page than
the other (they meet at a vanishing point), and the horizontal lines fan out. Read the
classical way, such a page's rows come out at different time scales and its strokes
lean, so that a QRS's up- and down-strokes share columns. Here the lines' angles are
measured in tiles, a smooth field is fitted to each family, and two lines of each
family bound a quadrilateral: its corners' departure from square is the page's slant.
"""
from __future__ import annotations

import cv2
import numpy as np

from . import greyscale, threshold
from .deskew import angle_scores, line_contrast, peak_angle

# Tiles the lines' angles are measured in (rows, columns of the page).
TILES = (3, 4)
# A tile's angle counts by how far its projection peak stands above the typical angle's
# (peak over median score): a tile of blank paper or trace alone scores about 1.
MIN_PEAK = 1.0
# A tile whose angle is this far from its family's fitted field is left out of the fit
# (a page edge, a finger, a trace stroke taken for a line).
OUTLIER_DEG = 2.0
# A page whose quadrilateral has a corner this far from square is seen at a slant.
# Frame-filling photos of ecg-image-kit-photos measure 2.3-8.9 deg, its scans and clean
# pages at most 0.5 (`python benchmarks/real_pictures.py --sets ecg-image-kit-photos -v`
# prints each picture's slant); our renderer's pages turned 5 deg or with one axis
# stretched 0.85, under 0.3 (tests/digitizer/test_perspective.py).
SLANT_DEG = 1.5
# Where the bounding lines run, as a share of the page from its edges.
LINE_INSET = 0.15


def grid_slant_deg(rgb: np.ndarray) -> float:
    """How far from square the page's grid is seen (degrees): the largest departure from
    90 degrees of a corner of the quadrilateral two grid lines of each family bound; 0
    where its lines are too few to tell.

    Examples
    --------
    >>> import cv2, numpy as np
    >>> from ecg_digitize.digitizer.perspective import grid_slant_deg
    >>> page = np.full((600, 800, 3), 255, np.uint8)
    >>> page[::20, :] = (230, 120, 120)              # a red grid
    >>> page[:, ::20] = (230, 120, 120)
    >>> round(grid_slant_deg(page), 1)               # square
    0.0
    >>> src = np.float32([[0, 0], [800, 0], [800, 600], [0, 600]])
    >>> dst = np.float32([[60, 0], [740, 0], [800, 600], [0, 600]])   # the top further away
    >>> slanted = cv2.warpPerspective(page, cv2.getPerspectiveTransform(src, dst), (800, 600),
    ...                               borderValue=(255, 255, 255))
    >>> 3 < grid_slant_deg(slanted) < 6              # lines 15 % in from the sides lean by 4 deg
    True
    """
    dark = line_contrast(threshold.normalise_background(greyscale.grid_view(rgb)))
    h, w = dark.shape
    rows, cols = TILES
    angles = tile_line_angles(dark, rows, cols)
    y = (np.arange(rows)[:, None] + 0.5) / rows - 0.5 + np.zeros((1, cols))
    x = (np.arange(cols)[None, :] + 0.5) / cols - 0.5 + np.zeros((rows, 1))
    across = _fitted_slopes(x.ravel(), y.ravel(), angles[..., 0].ravel(), angles[..., 2].ravel())
    down = _fitted_slopes(x.ravel(), y.ravel(), angles[..., 1].ravel(), angles[..., 3].ravel())
    if across is None or down is None:
        return 0.0
    return _off_square_deg(_bounding_quad(across, down, w, h))


def tile_line_angles(dark: np.ndarray, rows: int, cols: int, *, max_angle: float = 15.0) -> np.ndarray:
    """Per tile (``rows`` x ``cols`` of the page): the angle of its horizontal lines, of
    its vertical lines (degrees, :func:`~.deskew.estimate_skew`'s convention) and how far
    each projection peak stands out (peak over median score); NaN where the tile holds
    too few line pixels. ``dark`` is line contrast (:func:`~.deskew.line_contrast`)."""
    h, w = dark.shape
    small = cv2.resize(dark, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape
    coarse = np.arange(-max_angle, max_angle + 1e-9, 0.5)
    out = np.full((rows, cols, 4), np.nan)
    for i in range(rows):
        for j in range(cols):
            tile = small[i * sh // rows:(i + 1) * sh // rows, j * sw // cols:(j + 1) * sw // cols]
            scores = angle_scores(tile, coarse)
            if scores is None:
                continue
            for k in (0, 1):   # 0: horizontal lines, 1: vertical lines
                fine = coarse[np.argmax(scores[k])] + np.arange(-0.5, 0.5 + 1e-9, 0.05)
                out[i, j, k] = peak_angle(fine, angle_scores(tile, fine)[k])
                out[i, j, 2 + k] = scores[k].max() / max(np.median(scores[k]), 1e-12)
    return out


def _fitted_slopes(x, y, angles, peaks):
    """A plane ``a + b x + c y`` fitted to the tiles' line slopes (tan of the angles,
    weighted by how far their peaks stand out), tiles off it by :data:`OUTLIER_DEG` or
    more left out; None with fewer than four tiles left."""
    slopes = np.tan(np.radians(angles))
    weights = np.nan_to_num(peaks - MIN_PEAK, nan=0.0)
    usable = np.isfinite(slopes) & (weights > 0)
    design = np.column_stack([np.ones_like(x), x, y])
    ok = usable
    for _ in range(4):
        if ok.sum() < 4:
            return None
        root = np.sqrt(weights[ok])
        coef = np.linalg.lstsq(design[ok] * root[:, None], slopes[ok] * root, rcond=None)[0]
        off = np.abs(design @ coef - np.nan_to_num(slopes))
        new = usable & (off < np.tan(np.radians(OUTLIER_DEG)))
        if (new == ok).all():
            break
        ok = new
    return coef


def _bounding_quad(across, down, w: int, h: int) -> np.ndarray:
    """Corners (tl, tr, br, bl) where two vertical lines (through the page's middle row,
    :data:`LINE_INSET` from the sides, at the slopes ``down`` gives there) meet two
    horizontal ones (through its middle column, the same inset from top and bottom)."""
    def slope(coef, px, py):
        return coef[0] + coef[1] * (px / w - 0.5) + coef[2] * (py / h - 0.5)

    xm, ym = w / 2, h / 2
    verticals = [(x0, slope(down, x0, ym)) for x0 in (LINE_INSET * w, (1 - LINE_INSET) * w)]
    horizontals = [(y0, slope(across, xm, y0)) for y0 in (LINE_INSET * h, (1 - LINE_INSET) * h)]

    def meet(vertical, horizontal):
        # vertical: x = x0 + tv (y - ym); horizontal: y = y0 - th (x - xm) (deskew's signs)
        (x0, tv), (y0, th) = vertical, horizontal
        yy = (y0 - th * (x0 - xm) + th * tv * ym) / (1 + th * tv)
        return np.array([x0 + tv * (yy - ym), yy])

    (left, right), (top, bottom) = verticals, horizontals
    return np.array([meet(left, top), meet(right, top), meet(right, bottom), meet(left, bottom)])


def _off_square_deg(quad: np.ndarray) -> float:
    """The largest departure of the quadrilateral's corners from 90 degrees."""
    worst = 0.0
    for k in range(4):
        p, q, r = quad[k], quad[(k + 1) % 4], quad[(k - 1) % 4]
        u, v = q - p, r - p
        cos = float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))
        worst = max(worst, abs(np.degrees(np.arccos(np.clip(cos, -1, 1))) - 90))
    return float(worst)
