"""Undo smooth bending of a photographed sheet (wrinkles, curl) from its grid lines.

After the perspective is undone (:func:`.geometry.rectify`), the grid of a flat sheet is
straight and evenly spaced; where the paper was bent, it is locally shifted by a few
pixels, and so is the trace drawn on it (a 4 px shift is 20 ms at 200 dpi, a large error
on a QRS slope). In each patch of the page, the phase of the grid's 5 mm period in the
column and row profiles tells how far the grid there sits from where the whole page
puts it; the smoothed field of those shifts is undone with one remap.

Examples
--------
>>> from ecg_digitize.neural.unbend import unbend
>>> flat, field = unbend(rectified_photo)  # doctest: +SKIP
>>> field is None  # a flat sheet: left alone  # doctest: +SKIP
True
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Shifts under this (px) anywhere on the page are not worth a resampling of the image.
MIN_SHIFT_PX = 0.75
# Larger shifts than this (in grid periods) are not trusted: the page is left alone.
MAX_SHIFT_PERIODS = 0.25
# Patch side in grid periods: long enough for a clean phase, short enough to follow bends.
PATCH_PERIODS = 3


@dataclass
class BendField:
    """Shifts (px) of the grid on a coarse lattice: ``dx[i, j], dy[i, j]`` at page point
    ``(xs[j], ys[i])``; the page is read at ``(x + dx, y + dy)`` to flatten it."""

    xs: np.ndarray
    ys: np.ndarray
    dx: np.ndarray
    dy: np.ndarray

    def dense(self, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Per-pixel reading maps (``map_x``, ``map_y``) for ``cv2.remap`` on a page of ``shape``."""
        import cv2

        h, w = shape
        # lattice coordinates of every pixel (the lattice is regular), clamped at its edges
        ix = np.clip((np.arange(w, dtype=np.float32) - self.xs[0]) / (self.xs[1] - self.xs[0]),
                     0, len(self.xs) - 1)
        iy = np.clip((np.arange(h, dtype=np.float32) - self.ys[0]) / (self.ys[1] - self.ys[0]),
                     0, len(self.ys) - 1)
        grid_x = np.broadcast_to(ix[None, :], (h, w)).astype(np.float32)
        grid_y = np.broadcast_to(iy[:, None], (h, w)).astype(np.float32)
        maps = []
        for field, base in ((self.dx, np.arange(w, dtype=np.float32)[None, :]),
                            (self.dy, np.arange(h, dtype=np.float32)[:, None])):
            shift = cv2.remap(field.astype(np.float32), grid_x, grid_y, cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
            maps.append(shift + base)
        return maps[0], maps[1]

    def to_dict(self) -> dict:
        return {k: np.round(getattr(self, k), 3).tolist() for k in ("xs", "ys", "dx", "dy")}

    @classmethod
    def from_dict(cls, d: dict) -> "BendField":
        return cls(*(np.asarray(d[k], float) for k in ("xs", "ys", "dx", "dy")))


def unbend(rgb: np.ndarray, period_px: float | None = None) -> tuple[np.ndarray, BendField | None]:
    """Flatten a rectified photo whose grid is locally shifted.

    Parameters
    ----------
    rgb : ndarray, (H, W, 3) uint8
        The sheet after perspective correction.
    period_px : float, optional
        The grid's 5 mm period in px (square cells); measured as calibration measures it
        (:func:`~ecg_digitize.digitizer.grid.estimate_grid`, ink left out) when omitted.

    Returns
    -------
    image : ndarray
        The flattened page, or ``rgb`` itself when no shift reaches
        :data:`MIN_SHIFT_PX` or the grid is too faint (or absent) to measure.
    field : BendField or None
        The shifts undone (None when left alone).
    """
    field = measure_bend(rgb, period_px)
    if field is None:
        return rgb, None
    return apply_bend(rgb, field), field


def apply_bend(rgb: np.ndarray, field: BendField) -> np.ndarray:
    """Read ``rgb`` through ``field`` (edge pixels repeated where it reads outside)."""
    import cv2

    map_x, map_y = field.dense(rgb.shape[:2])
    return cv2.remap(rgb, map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


def measure_bend(rgb: np.ndarray, period_px: float | None = None) -> BendField | None:
    """The grid's local shift from its page-wide position, per patch, smoothed.

    Each patch's column (row) profile gives the phase of the grid period along x (y);
    shifts are taken relative to the page's circular-mean phase, so they stay within
    half a period. Patches with a weak grid take their neighbours' shift (weighted
    Gaussian smoothing over about two patches). ``None`` when the grid is too faint or no
    shift reaches :data:`MIN_SHIFT_PX`. Without ``period_px``, the grid's 5 mm period is
    measured as calibration measures it, with the ink left out (without that mask the
    estimate can lock onto the 25 mm period of a photo's grid).
    """
    import cv2

    from ..digitizer import greyscale, grid, threshold

    grid_dark = threshold.normalise_background(greyscale.grid_view(rgb))
    ink = threshold.adaptive_otsu(threshold.normalise_background(greyscale.trace_view(rgb)))[1]
    # ink and its anti-aliased rim are not grid
    paper = cv2.dilate(ink.view(np.uint8), np.ones((5, 5), np.uint8)) == 0
    if period_px is None:
        px_per_mm = grid.estimate_grid(grid_dark, trace_mask=~paper).px_per_mm
        if px_per_mm is None:
            return None
        period_px = 5 * px_per_mm
    g = grid_dark.astype(np.float32)
    gp = g * paper
    h, w = g.shape
    half = int(round(PATCH_PERIODS * period_px / 2))
    if period_px < 4 or 4 * half > min(h, w):
        return None
    # patches of two by two blocks of ``half`` px, centred half a patch apart
    ys = np.arange(1, h // half, dtype=float) * half
    xs = np.arange(1, w // half, dtype=float) * half
    wave = np.exp(-2j * np.pi * np.arange(2 * half) / period_px)
    # column profiles: block rows summed, then two consecutive block rows per patch
    cx = _patch_phases(gp, paper, half, wave) * np.exp(-2j * np.pi * (xs - half) / period_px)[None, :]
    cy = (_patch_phases(gp.T, paper.T, half, wave) * np.exp(-2j * np.pi * (ys - half) / period_px)[None, :]).T
    dx, okx = _shifts(cx, period_px)
    dy, oky = _shifts(cy, period_px)
    largest = max(np.abs(dx).max(), np.abs(dy).max())
    # Phases tell shifts only within half a period; a quarter is already beyond any
    # wrinkle (and more likely a wrong period or a patch of something else).
    if not (okx and oky) or largest < MIN_SHIFT_PX or largest > MAX_SHIFT_PERIODS * period_px:
        return None
    return BendField(xs, ys, dx, dy)


def _patch_phases(dark: np.ndarray, paper: np.ndarray, half: int, wave: np.ndarray) -> np.ndarray:
    """Fourier coefficient of ``wave`` in each patch's column profile (mean darkness of the
    paper pixels per column, minus its mean), patches ``2 half`` px square on a lattice
    of step ``half``: ``(n_patch_rows, n_patch_cols)``, phase relative to the patch's left."""
    from numpy.lib.stride_tricks import sliding_window_view

    nb, nc = dark.shape[0] // half, dark.shape[1] // half
    d = dark[:nb * half, :nc * half].reshape(nb, half, -1).sum(axis=1)
    n = paper[:nb * half, :nc * half].reshape(nb, half, -1).sum(axis=1).astype(np.float32)
    d, n = d[:-1] + d[1:], n[:-1] + n[1:]                 # two block rows per patch
    d = sliding_window_view(d, 2 * half, axis=1)[:, ::half]
    n = sliding_window_view(n, 2 * half, axis=1)[:, ::half]
    prof = np.where(n > 0, d / np.maximum(n, 1), 0.0)
    ok = n > 0.25 * 2 * half                               # columns mostly paper
    mean = (prof * ok).sum(axis=2, keepdims=True) / np.maximum(ok.sum(axis=2, keepdims=True), 1)
    return np.where(ok, prof - mean, 0.0) @ wave


def _shifts(coeffs: np.ndarray, period_px: float) -> tuple[np.ndarray, bool]:
    """Smoothed shift (px) of each patch's grid from the page's mean phase, and whether
    enough patches show the grid to trust it."""
    from scipy.ndimage import gaussian_filter, median_filter

    strength = np.abs(coeffs)
    strong = strength > 0.25 * np.median(strength[strength > 0]) if (strength > 0).any() else strength > 0
    if strong.mean() < 0.5:
        return np.zeros(coeffs.shape), False
    reference = np.angle(np.sum(coeffs[strong]))
    # a grid drawn at x + d has phase -2 pi d / period relative to the reference
    shift = -np.angle(coeffs * np.exp(-1j * reference)) / (2 * np.pi) * period_px
    # a patch unlike its neighbours (text, a stain) gives way to them before smoothing
    shift = np.where(strong, median_filter(shift, 3, mode="nearest"), 0.0)
    weight = np.where(strong, strength, 0.0)
    num = gaussian_filter(shift * weight, 1.0, mode="nearest")
    den = gaussian_filter(weight, 1.0, mode="nearest")
    return num / np.maximum(den, 1e-9), True
