"""Helpers the digitizer stage tests share (drawn pens, views of a page)."""
import cv2
import numpy as np

from ecg_digitize.digitizer import extract, greyscale, threshold


def views(image):
    return (threshold.normalise_background(greyscale.trace_view(image)),
            threshold.normalise_background(greyscale.grid_view(image)))


def pen_drawing(shape, *lines, pen_px: int = 2) -> np.ndarray:
    """Darkness (0..1) of polylines (lists of (x, y) points) drawn like the renderer:
    OpenCV, anti-aliased, a ``pen_px`` pen, sub-pixel coordinates."""
    shift = 8
    canvas = np.zeros(shape, np.uint8)
    for line in lines:
        pts = (np.asarray(line, float) * (1 << shift)).round().astype(np.int32)
        cv2.polylines(canvas, [pts], False, 255, pen_px, cv2.LINE_AA, shift)
    return canvas / 255.0


def round_capped_stroke(end_x: float, angle_deg: float, width: float, grid_at: float | None):
    """Darkness of one pen stroke with a true round cap, ending at ``(end_x, 40)``, drawn
    8x finer and averaged down; optionally over a faint vertical grid line at ``grid_at``."""
    s = 8
    big = np.zeros((80 * s, 160 * s), np.uint8)
    a = np.deg2rad(angle_deg)
    start = (end_x - 60 * np.cos(a), 40 + 60 * np.sin(a))
    pts = [(int(round((x + 0.5) * s - 0.5)), int(round((y + 0.5) * s - 0.5))) for x, y in (start, (end_x, 40.0))]
    cv2.line(big, pts[0], pts[1], 255, int(round(width * s)), cv2.LINE_8)
    ink = cv2.resize(big, (160, 80), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    paper = np.zeros((80, 160), np.float32)
    if grid_at is not None:
        paper[:, int(grid_at)] = 0.12
    return 0.88 * ink + (1 - ink) * paper        # ink of darkness 0.88 over the paper


def row_trace(dark: np.ndarray) -> extract.RowTrace:
    """The path a row extraction would give: per column the ink's run and its centre."""
    cols = np.arange(dark.shape[1])
    ink = dark > 0.3
    y = np.full(len(cols), np.nan)
    top, bottom = y.copy(), y.copy()
    for c in cols[ink.any(axis=0)]:
        rows = np.nonzero(ink[:, c])[0]
        top[c], bottom[c] = rows[0], rows[-1]
        y[c] = np.average(np.arange(dark.shape[0]), weights=dark[:, c])
    return extract.RowTrace(0, y, top, bottom, 3.0)
