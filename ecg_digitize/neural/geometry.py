"""Photo geometry: find the paper sheet in a photo and undo the camera's perspective.

The sheet is told from the table or background by colour: the image border is mostly
background in a photo, so pixels far (in Lab colour) from the border's median colour are
paper. The convex hull of the large such regions (a shadow may cut the sheet in pieces)
is reduced to a quadrilateral, and a homography
maps it to an upright rectangle whose sides keep the sheet's measured lengths.

Scans with no background (the sheet fills the frame) are returned unchanged with the
identity; so is any image where no plausible quadrilateral is found. Smooth bending
(creases, curled paper) is not undone here.

Examples
--------
>>> import numpy as np
>>> from ecg_digitize.neural.geometry import rectify
>>> img = np.full((400, 600, 3), 60, np.uint8)           # dark table
>>> img[50:350, 100:500] = 250                            # white sheet, 400 x 300 px
>>> out, h = rectify(img)
>>> out.shape[0] in range(297, 304), out.shape[1] in range(397, 404)
(True, True)
>>> bool(np.all(np.abs(h @ [100, 50, 1]) <= [2, 2, 1.01]))   # sheet corner -> origin
True
"""
from __future__ import annotations

import numpy as np

WORK_SIDE = 800          # detection runs on a copy of about this many pixels on its long side


def _border_colour_distance(lab: np.ndarray) -> np.ndarray:
    h, w = lab.shape[:2]
    b = max(2, int(0.02 * min(h, w)))
    border = np.concatenate([lab[:b].reshape(-1, 3), lab[-b:].reshape(-1, 3),
                             lab[:, :b].reshape(-1, 3), lab[:, -b:].reshape(-1, 3)])
    ref = np.median(border, axis=0)
    return np.linalg.norm(lab - ref, axis=2)


def order_corners(pts: np.ndarray) -> np.ndarray:
    """Order four points as top-left, top-right, bottom-right, bottom-left.

    Examples
    --------
    >>> order_corners(np.array([[10, 0], [0, 0], [0, 5], [10, 5]])).tolist()
    [[0.0, 0.0], [10.0, 0.0], [10.0, 5.0], [0.0, 5.0]]
    """
    pts = np.asarray(pts, dtype=float).reshape(4, 2)
    c = pts.mean(axis=0)
    ang = np.arctan2(pts[:, 1] - c[1], pts[:, 0] - c[0])
    pts = pts[np.argsort(ang)]              # clockwise in image coordinates, from ~-180 deg
    start = int(np.argmin(pts.sum(axis=1)))  # top-left has the smallest x + y
    return np.roll(pts, -start, axis=0).astype(pts.dtype)


def find_page(image: np.ndarray, *, min_area: float = 0.25, max_area: float = 0.985):
    """The sheet's four corners (TL, TR, BR, BL) in image pixels, or ``None``.

    ``None`` when the sheet region covers less than ``min_area`` or more than
    ``max_area`` of the frame (no background: a scan).
    """
    import cv2

    img = np.asarray(image)[..., :3]
    h, w = img.shape[:2]
    s = min(1.0, WORK_SIDE / max(h, w))
    small = cv2.resize(img, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (5, 5), 0)
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32)
    dist = _border_colour_distance(lab)
    d8 = np.clip(dist * (255.0 / max(float(dist.max()), 1e-6)), 0, 255).astype(np.uint8)
    _, fg = cv2.threshold(d8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    k = max(3, int(0.01 * max(small.shape[:2])) | 1)
    fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, np.ones((k, k), np.uint8))
    contours, _ = cv2.findContours(fg, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    # A shadow across the sheet can cut it in pieces: hull of every large piece together.
    total = float(small.shape[0] * small.shape[1])
    big = [c for c in contours if cv2.contourArea(c) > 0.02 * total]
    hull = cv2.convexHull(np.concatenate(big or [max(contours, key=cv2.contourArea)]))
    area = cv2.contourArea(hull) / float(small.shape[0] * small.shape[1])
    if not (min_area <= area <= max_area):
        return None
    quad = None
    peri = cv2.arcLength(hull, True)
    for eps in np.linspace(0.01, 0.1, 19):
        approx = cv2.approxPolyDP(hull, eps * peri, True)
        if len(approx) == 4:
            quad = approx.reshape(4, 2)
            break
    if quad is None:   # rounded or clipped outline: its best-fitting rotated rectangle
        quad = cv2.boxPoints(cv2.minAreaRect(hull))
    return order_corners(np.asarray(quad, float) / s)


def rectify(image: np.ndarray, *, corners=None):
    """Undo perspective: warp the detected sheet to an upright rectangle.

    Parameters
    ----------
    image : ndarray, (H, W, 3) uint8
        A photo or scan of a paper ECG.
    corners : array-like (4, 2), optional
        Known sheet corners (any order); detected when omitted.

    Returns
    -------
    image : ndarray
        The rectified sheet (or the input, unchanged, when no sheet is found).
    homography : ndarray, (3, 3)
        Maps input pixel ``(x, y, 1)`` to output pixels (identity when unchanged).

    Examples
    --------
    >>> out, h = rectify(photo)  # doctest: +SKIP
    """
    import cv2

    img = np.asarray(image)
    quad = find_page(img) if corners is None else order_corners(np.asarray(corners, float))
    if quad is None:
        return img, np.eye(3)
    tl, tr, br, bl = quad
    width = max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))
    height = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))
    dst = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    hmat = cv2.getPerspectiveTransform(quad.astype(np.float32), dst)
    out = cv2.warpPerspective(img, hmat, (int(round(width)) + 1, int(round(height)) + 1),
                              flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out, hmat
