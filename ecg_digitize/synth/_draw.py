"""Low-level drawing on a float RGB page: grid, anti-aliased polylines, text."""
from __future__ import annotations

import cv2
import numpy as np

GRID_COLORS = {
    "red": (225, 60, 60),
    "pink": (240, 150, 170),
    "orange": (240, 140, 50),
    "green": (70, 170, 90),
    "grey": (150, 150, 150),
    "black": (60, 60, 60),
}

_AA_SHIFT = 4  # OpenCV sub-pixel bits: coordinates in 1/16 px


def color_rgb(color) -> np.ndarray:
    """A named grid colour or an RGB triple, as floats in 0..1."""
    if isinstance(color, str):
        if color not in GRID_COLORS:
            raise ValueError(f"unknown colour {color!r}; choose from {sorted(GRID_COLORS)}")
        color = GRID_COLORS[color]
    return np.asarray(color, dtype=np.float32) / 255.0


def line_coverage(length: int, positions: np.ndarray, width: float) -> np.ndarray:
    """Fraction of each pixel ``[i, i+1)`` covered by lines ``[p - w/2, p + w/2]``.

    Pixel centres sit at ``i + 0.5``; lines may fall between pixels (anti-aliasing).
    """
    cover = np.zeros(length, dtype=np.float32)
    for p in positions:
        lo, hi = p - width / 2 + 0.5, p + width / 2 + 0.5
        i0, i1 = int(np.floor(lo)), int(np.ceil(hi))
        for i in range(max(i0, 0), min(i1, length)):
            cover[i] = max(cover[i], min(hi, i + 1) - max(lo, i))
    return np.clip(cover, 0, 1)


def grid_alpha(shape: tuple[int, int], box: tuple[int, int, int, int], origin: tuple[float, float],
               px_per_mm: float, style: str = "solid") -> np.ndarray:
    """Coverage (uint8, 0..255) of a 1 mm / 5 mm ECG grid inside ``box`` (x0, y0, x1, y1).

    ``origin`` is the pixel position of a major (5 mm) line crossing. ``style``:
    ``"solid"`` lines, ``"dotted"`` (minor lines as dots at crossings, major lines solid),
    or ``"none"``. ``px_per_mm`` may be a pair ``(across, down)`` for non-square pixels. Solid grids are the union of row and column patterns, so the whole
    image is one broadcast maximum of two 1-D profiles.
    """
    alpha = np.zeros(shape, dtype=np.uint8)
    if style == "none":
        return alpha
    if style not in ("solid", "dotted"):
        raise ValueError(f"grid style must be 'solid', 'dotted' or 'none', got {style!r}")
    x0, y0, x1, y1 = box
    px_x, px_y = (px_per_mm, px_per_mm) if np.isscalar(px_per_mm) else px_per_mm

    def positions(start, stop, org, step):
        k0 = np.ceil((start - org) / step)
        k1 = np.floor((stop - 1 - org) / step)
        return org + np.arange(k0, k1 + 1) * step - start

    def profile(start, stop, org, px):
        minor_w = max(0.6, 0.09 * px)
        major_w = max(1.0, 0.22 * px)
        minor = line_coverage(stop - start, positions(start, stop, org, px), minor_w)
        major = line_coverage(stop - start, positions(start, stop, org, 5 * px), major_w)
        return minor, major

    cx_minor, cx_major = profile(x0, x1, origin[0], px_x)
    cy_minor, cy_major = profile(y0, y1, origin[1], px_y)
    if style == "solid":
        rows = np.maximum(0.55 * cy_minor, cy_major)
        cols = np.maximum(0.55 * cx_minor, cx_major)
        region = np.maximum(rows[:, None], cols[None, :])
    else:
        dots = np.minimum(1.0, 3.0 * cy_minor[:, None] * cx_minor[None, :]) * 0.6
        region = np.maximum(dots, np.maximum(cy_major[:, None], cx_major[None, :]))
    alpha[y0:y1, x0:x1] = (region * 255 + 0.5).astype(np.uint8)
    return alpha


def compose(paper_rgb, grid_rgb, grid_a: np.ndarray, ink_rgb, ink_a: np.ndarray) -> np.ndarray:
    """Paper, then grid (coverage ``grid_a``), then ink (``ink_a``), as a uint8 RGB image.

    Both coverages are uint8, so every output pixel is one lookup in a 256 x 256 table per
    channel: much cheaper than blending float images.
    """
    a = np.arange(256, dtype=np.float32)[:, None] / 255.0
    t = np.arange(256, dtype=np.float32)[None, :] / 255.0
    index = (grid_a.astype(np.uint16) << 8) | ink_a
    out = np.empty(grid_a.shape + (3,), dtype=np.uint8)
    for c in range(3):
        under = paper_rgb[c] + a * (grid_rgb[c] - paper_rgb[c])
        table = under + t * (ink_rgb[c] - under)
        out[..., c] = np.take(np.clip(table + 0.5, 0, 255).astype(np.uint8).ravel(), index)
    return out


def polyline_canvas(shape: tuple[int, int], curves: list[np.ndarray], thickness: int) -> np.ndarray:
    """Draw anti-aliased polylines (lists of (x, y) float points) as uint8 coverage."""
    canvas = np.zeros(shape, dtype=np.uint8)
    pts = [np.round(c * (1 << _AA_SHIFT)).astype(np.int32).reshape(-1, 1, 2) for c in curves if len(c) > 1]
    if pts:
        cv2.polylines(canvas, pts, False, 255, thickness, cv2.LINE_AA, _AA_SHIFT)
    return canvas


def polyline_labels(shape: tuple[int, int], curves: list[np.ndarray], labels: list[int],
                    thickness: int) -> np.ndarray:
    """Draw polylines without anti-aliasing, each with its own integer label (uint8)."""
    canvas = np.zeros(shape, dtype=np.uint8)
    for curve, label in zip(curves, labels):
        if len(curve) > 1:
            pts = np.round(curve * (1 << _AA_SHIFT)).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(canvas, [pts], False, int(label), thickness, cv2.LINE_8, _AA_SHIFT)
    return canvas


def ink(page: np.ndarray, alpha: np.ndarray, color) -> None:
    """Blend ink of ``color`` into ``page`` (in place) with per-pixel coverage ``alpha``."""
    rgb = np.asarray(color, dtype=np.float32)
    if rgb.max() > 1:
        rgb = rgb / 255.0
    # page = page - alpha * (page - colour), with OpenCV's vectorised float ops
    diff = cv2.subtract(page, np.broadcast_to(rgb, page.shape).astype(np.float32))
    page -= cv2.multiply(diff, cv2.merge([alpha.astype(np.float32)] * 3))


def text_canvas(shape: tuple[int, int], items: list[tuple[str, float, float, float]],
                thickness: int = 1) -> np.ndarray:
    """Render text items ``(text, x, y_baseline, height_px)`` as uint8 coverage."""
    canvas = np.zeros(shape, dtype=np.uint8)
    for text, x, y, height in items:
        scale = height / 22.0  # FONT_HERSHEY_SIMPLEX capitals are ~22 px at scale 1
        cv2.putText(canvas, text, (int(round(x)), int(round(y))), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, 255, max(1, thickness), cv2.LINE_AA)
    return canvas
