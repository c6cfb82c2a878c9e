"""Overlays: the signals a Record holds, drawn back onto its page, quick to judge by eye.

Drawn with OpenCV on the page's own pixels (no matplotlib figure), so an overlay of a
200 dpi page costs a few hundredths of a second. The reading is drawn thick enough to see
at page scale, in a colour chosen to stand apart from the page's grid and its black ink;
where it leaves the ink, the ink shows beside it. ``style="side-by-side"`` puts the page
and the reading (on a faded copy of the page) next to each other instead.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

STYLES = ("overlay", "side-by-side")
# Candidate trace colours (RGB): green, magenta, orange. Each stands out from black ink and
# white paper; the one whose hue lies furthest from the grid's is used.
_CANDIDATES = ((0, 200, 0), (230, 0, 230), (255, 130, 0))
_BOX_COLOR = (0, 90, 255)  # lead boxes and names, thin


def trace_color(page: np.ndarray) -> tuple[int, int, int]:
    """The trace colour (RGB) that stands out most from ``page``'s coloured grid.

    Examples
    --------
    >>> import numpy as np
    >>> pink = np.full((50, 50, 3), (255, 180, 180), np.uint8)
    >>> trace_color(pink)
    (0, 200, 0)
    """
    rgb = np.ascontiguousarray(page[::4, ::4, :3]).astype(np.uint8)
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV_FULL).reshape(-1, 3).astype(float)
    coloured = hsv[(hsv[:, 1] > 40) & (hsv[:, 2] > 80)]
    if len(coloured) < 0.01 * len(hsv):
        return _CANDIDATES[0]  # grey or black grid (or none): green
    angle = coloured[:, 0] / 256.0 * 2 * np.pi
    grid_hue = np.arctan2(np.sin(angle).mean(), np.cos(angle).mean())

    def distance(color) -> float:
        h = cv2.cvtColor(np.uint8([[color]]), cv2.COLOR_RGB2HSV_FULL)[0, 0, 0] / 256.0 * 2 * np.pi
        return abs(np.angle(np.exp(1j * (h - grid_hue))))

    return max(_CANDIDATES, key=distance)


def draw_overlay(page: np.ndarray, record, *, style: str = "overlay",
                 color: Sequence[int] | None = None, thickness: int | None = None,
                 boxes: bool = True) -> np.ndarray:
    """The page with the Record's reading drawn on it, as an RGB ``uint8`` array.

    Parameters
    ----------
    page : ndarray, shape (h, w) or (h, w, 3)
        The page in the frame the Record's geometry was measured in
        (:func:`ecg_digitize.digitizer.pipeline.page_as_measured`, or a rendered page).
    record : Record
        Needs ``geometry.boxes`` and ``calibration.px_per_mm``; without them only the page
        comes back.
    style : {"overlay", "side-by-side"}
        The reading over the ink, or the page on the left and the reading (over a faded copy
        of the page) on the right.
    color : (r, g, b), optional
        Trace colour; by default the one of green, magenta and orange furthest in hue from
        the page's grid (see :func:`trace_color`).
    thickness : int, optional
        Line width in pixels; by default about 1/550 of the page's longer side (4 px on a
        200 dpi letter page), so the line is still visible when the page is viewed whole.
    boxes : bool
        Also outline the lead boxes and write their names.

    Returns
    -------
    ndarray, shape (h, w, 3), or (h, 2 w + a narrow grey gap, 3) for ``"side-by-side"``

    Examples
    --------
    >>> from ecg_digitize.synth import render, simulate_12lead
    >>> sig, fs, leads = simulate_12lead(seed=0)
    >>> image, truth = render(sig, fs, leads, layout="3x4+II", dpi=100)
    >>> draw_overlay(image, truth).shape == image.shape
    True
    >>> draw_overlay(image, truth, style="side-by-side").shape[1] > 2 * image.shape[1]
    True
    """
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, not {style!r}")
    page = np.asarray(page)
    if page.ndim == 2:
        page = cv2.cvtColor(page, cv2.COLOR_GRAY2RGB)
    page = np.ascontiguousarray(page[..., :3], dtype=np.uint8)
    h, w = page.shape[:2]
    color = tuple(int(c) for c in (color if color is not None else trace_color(page)))
    thickness = int(thickness or max(2, round(max(h, w) / 550)))
    lines = list(_polylines(record))
    if style == "overlay":
        canvas = page.copy()
    else:
        canvas = cv2.addWeighted(page, 0.25, np.full_like(page, 255), 0.75, 0)
    drawn = canvas.copy()
    cv2.polylines(drawn, lines, False, color, thickness, cv2.LINE_AA, shift=2)
    if style == "overlay":  # a little of the ink shows through where the reading covers it
        drawn = cv2.addWeighted(drawn, 0.85, canvas, 0.15, 0)
    if boxes:
        _draw_boxes(drawn, record, max(1, thickness // 3))
    if style == "side-by-side":
        gap = np.full((h, max(4, w // 200), 3), 80, np.uint8)
        drawn = np.hstack([page, gap, drawn])
    return drawn


def save_overlay_image(page: np.ndarray, record, path: str | Path, *, style: str = "overlay",
                       **kwargs) -> Path:
    """Draw :func:`draw_overlay` and write it (PNG, or JPEG for ``.jpg``/``.jpeg``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = draw_overlay(page, record, style=style, **kwargs)
    params = ([cv2.IMWRITE_JPEG_QUALITY, 90] if path.suffix.lower() in (".jpg", ".jpeg")
              else [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), params):
        raise OSError(f"could not write {path} (use a .png or .jpg name in a writable folder)")
    return path


def _polylines(record):
    """Integer polylines (2 fractional bits, for ``shift=2``) of each finite run of samples."""
    from .plotting import trace_pixels

    for x, y in trace_pixels(record):
        ok = np.isfinite(x) & np.isfinite(y)
        if not ok.any():
            continue
        edges = np.flatnonzero(np.diff(np.r_[0, ok.view(np.int8), 0]))
        for start, stop in zip(edges[::2], edges[1::2]):
            if stop - start >= 2:
                pts = np.column_stack([x[start:stop], y[start:stop]]) * 4
                yield np.round(pts).astype(np.int32).reshape(-1, 1, 2)


def _draw_boxes(canvas: np.ndarray, record, width: int) -> None:
    scale = max(0.4, canvas.shape[1] / 3000)
    for box in record.geometry.boxes:
        x0, y0, x1, y1 = (int(round(v)) for v in box["bbox"])
        cv2.rectangle(canvas, (x0, y0), (x1, y1), _BOX_COLOR, width)
        cv2.putText(canvas, str(box["lead"]), (x0 + 4, y0 + int(22 * scale)), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, _BOX_COLOR, max(1, width), cv2.LINE_AA)
