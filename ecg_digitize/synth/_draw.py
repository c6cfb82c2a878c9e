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


def draw_grid(page: np.ndarray, box: tuple[int, int, int, int], origin: tuple[float, float],
              px_per_mm: float, color, style: str = "solid", strength: float = 1.0) -> None:
    """Blend a 1 mm / 5 mm ECG grid into ``page`` inside ``box`` (x0, y0, x1, y1).

    ``origin`` is the pixel position of a major (5 mm) line crossing.
    ``style``: ``"solid"`` lines, ``"dotted"`` (minor lines as dots at crossings, major
    lines solid), or ``"none"``.
    """
    if style == "none":
        return
    x0, y0, x1, y1 = box
    rgb = color_rgb(color)
    minor_w = max(0.6, 0.09 * px_per_mm)
    major_w = max(1.0, 0.22 * px_per_mm)

    def positions(start, stop, org, step):
        k0 = np.ceil((start - org) / step)
        k1 = np.floor((stop - 1 - org) / step)
        return org + np.arange(k0, k1 + 1) * step - start

    w, h = x1 - x0, y1 - y0
    cx_minor = line_coverage(w, positions(x0, x1, origin[0], px_per_mm), minor_w)
    cy_minor = line_coverage(h, positions(y0, y1, origin[1], px_per_mm), minor_w)
    cx_major = line_coverage(w, positions(x0, x1, origin[0], 5 * px_per_mm), major_w)
    cy_major = line_coverage(h, positions(y0, y1, origin[1], 5 * px_per_mm), major_w)
    if style == "dotted":
        minor = cy_minor[:, None] * cx_minor[None, :]
    elif style == "solid":
        # 1 - (1-a)(1-b) == max-like union of horizontal and vertical lines
        minor = cv2.max(np.broadcast_to(cy_minor[:, None], (h, w)).astype(np.float32),
                        np.broadcast_to(cx_minor[None, :], (h, w)).astype(np.float32))
    else:
        raise ValueError(f"grid style must be 'solid', 'dotted' or 'none', got {style!r}")
    major = cv2.max(np.broadcast_to(cy_major[:, None], (h, w)).astype(np.float32),
                    np.broadcast_to(cx_major[None, :], (h, w)).astype(np.float32))
    alpha = cv2.max(cv2.multiply(minor.astype(np.float32), 0.55), major)
    if strength != 1.0:
        alpha = cv2.multiply(alpha, float(strength))
    region = page[y0:y1, x0:x1]
    ink(region, alpha, rgb)


def polyline_canvas(shape: tuple[int, int], curves: list[np.ndarray], thickness: int) -> np.ndarray:
    """Draw anti-aliased polylines (lists of (x, y) float points) into a 0..1 canvas."""
    canvas = np.zeros(shape, dtype=np.uint8)
    pts = [np.round(c * (1 << _AA_SHIFT)).astype(np.int32).reshape(-1, 1, 2) for c in curves if len(c) > 1]
    if pts:
        cv2.polylines(canvas, pts, False, 255, thickness, cv2.LINE_AA, _AA_SHIFT)
    return canvas.astype(np.float32) / 255.0


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
    """Render text items ``(text, x, y_baseline, height_px)`` into a 0..1 canvas."""
    canvas = np.zeros(shape, dtype=np.uint8)
    for text, x, y, height in items:
        scale = height / 22.0  # FONT_HERSHEY_SIMPLEX capitals are ~22 px at scale 1
        cv2.putText(canvas, text, (int(round(x)), int(round(y))), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, 255, max(1, thickness), cv2.LINE_AA)
    return canvas.astype(np.float32) / 255.0
