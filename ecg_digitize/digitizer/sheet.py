"""Stage 2a (photos, :func:`.views.photo_view`): find the paper sheet in a photo and undo
the camera's perspective.

The sheet is told from the table or background by colour: the image border is mostly
background in a photo, so pixels far (in Lab colour) from the border's median colour are
paper. Shadowed paper, which colour loses, is won back by a watershed that stops at the
sheet's sharp edge. The outline's convex hull is reduced to a quadrilateral whose sides
are refitted as lines to the outline (corners out of view come back as the sides'
intersections), and a homography maps it to an upright rectangle whose sides keep the
sheet's measured lengths.

Scans with no background (the sheet fills the frame) are returned unchanged with the
identity; so is any image where no plausible quadrilateral is found. Smooth bending
(wrinkles, curled paper, folds) is undone afterwards, from the grid lines (:mod:`.flatten`).

Examples
--------
>>> import numpy as np
>>> from ecg_digitize.digitizer.sheet import rectify
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
MAX_CORNER_SKEW_DEG = 25  # a sheet's corners stay this close to square unless shot very obliquely


def _border_width(h: int, w: int) -> int:
    """Width in pixels of the frame's border strip, taken as table in a photo."""
    return max(2, int(0.02 * min(h, w)))


def _border_colour_distance(lab: np.ndarray) -> np.ndarray:
    b = _border_width(*lab.shape[:2])
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
    k = max(3, int(0.01 * max(small.shape[:2])) | 1)
    sheet = _sheet_region(small, _colour_foreground(small, k), k)
    contours, _ = cv2.findContours(sheet, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    total = float(small.shape[0] * small.shape[1])
    outline = max(contours, key=cv2.contourArea)
    hull = cv2.convexHull(outline)
    if not (min_area <= cv2.contourArea(hull) / total <= max_area):
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
    quad = fit_sides(order_corners(quad), outline.reshape(-1, 2), small.shape[:2])
    if not _rectangle_in_perspective(quad):
        return None
    return quad / s


def _rectangle_in_perspective(quad: np.ndarray, max_off_square_deg: float = MAX_CORNER_SKEW_DEG) -> bool:
    """Whether every corner of ``quad`` (ordered) is within ``max_off_square_deg`` of 90 deg,
    as for a sheet photographed from the front; other shapes are shadows or clutter."""
    for i in range(4):
        a, b = quad[i - 1] - quad[i], quad[(i + 1) % 4] - quad[i]
        cos = float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-9))
        if abs(np.degrees(np.arccos(np.clip(cos, -1, 1))) - 90) > max_off_square_deg:
            return False
    return True


def _colour_foreground(small: np.ndarray, k: int) -> np.ndarray:
    """Pixels far (Otsu, in Lab) from the frame border's colour: the sheet where it is lit."""
    import cv2

    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32)
    dist = _border_colour_distance(lab)
    d8 = np.clip(dist * (255.0 / max(float(dist.max()), 1e-6)), 0, 255).astype(np.uint8)
    _, fg = cv2.threshold(d8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    return cv2.morphologyEx(fg, cv2.MORPH_OPEN, np.ones((k, k), np.uint8))


def _sheet_region(small: np.ndarray, fg: np.ndarray, k: int) -> np.ndarray:
    """The whole sheet, shadowed parts included, as a uint8 mask.

    A shadow darkens paper towards the table's colour, so colour alone loses shadowed
    paper. Watershed from sure paper (the largest piece of the colour foreground, eroded)
    and sure table (the frame's border outside it): the two floods meet on the sheet's
    sharp edge, not on a shadow's soft one. Thin ink (grid, traces) is median-filtered
    away first.
    """
    import cv2

    h, w = fg.shape
    b = _border_width(h, w)
    border = np.zeros((h, w), bool)
    border[:b], border[-b:], border[:, :b], border[:, -b:] = True, True, True, True
    # sure paper: the largest piece of the eroded foreground (a shadow on the table is far
    # from the table's colour too, but it is a smaller piece)
    n, pieces, stats, _ = cv2.connectedComponentsWithStats(cv2.erode(fg, np.ones((3 * k, 3 * k), np.uint8)))
    if n < 2 or not (border & (fg == 0)).any():
        return fg
    markers = np.zeros((h, w), np.int32)
    markers[border & (fg == 0)] = 1
    markers[pieces == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))] = 2
    cv2.watershed(cv2.medianBlur(small, 7), markers)
    return ((markers == 2) * 255).astype(np.uint8)


def fit_sides(quad: np.ndarray, outline: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Refine a quadrilateral: each side becomes the line fitted to the outline points along
    it, and the corners their intersections.

    Corners cut off by the frame (a sheet photographed partly out of view) come back as
    the sides' intersection outside the image; outline points on the frame's edge are not
    the sheet's and are left out. A side with too few points keeps its place.

    Examples
    --------
    >>> import numpy as np
    >>> rough = np.array([[12, 9], [88, 11], [91, 89], [9, 92]], float)   # a polygon's corners
    >>> t = np.arange(10, 91, dtype=float)                                   # the outline: a square
    >>> square = np.concatenate([np.c_[t, 0 * t + 10], np.c_[0 * t + 90, t],
    ...                          np.c_[t[::-1], 0 * t + 90], np.c_[0 * t + 10, t[::-1]]])
    >>> fit_sides(rough, square, (100, 100)).round().tolist()
    [[10.0, 10.0], [90.0, 10.0], [90.0, 90.0], [10.0, 90.0]]
    """
    import cv2

    quad = np.asarray(quad, float)
    pts = np.asarray(outline, float)
    h, w = shape
    # within 2 px of the frame's edge (a watershed leaves the outermost pixels unlabelled)
    on_frame = (pts[:, 0] <= 1) | (pts[:, 1] <= 1) | (pts[:, 0] >= w - 2) | (pts[:, 1] >= h - 2)
    pts = pts[~on_frame]
    lines = []
    for i in range(4):
        a, c = quad[i], quad[(i + 1) % 4]
        length = float(np.linalg.norm(c - a))
        u = (c - a) / max(length, 1e-9)
        along, across = (pts - a) @ u, (pts - a) @ np.array([-u[1], u[0]])
        near = (along > 0.1 * length) & (along < 0.9 * length) & (np.abs(across) < 0.02 * length + 3)
        if near.sum() < 10:
            lines.append((a, u))
            continue
        vx, vy, x0, y0 = cv2.fitLine(pts[near].astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
        lines.append((np.array([x0, y0], float), np.array([vx, vy], float)))
    corners = []
    for i in range(4):   # corner i joins side i-1 (ending at it) and side i (starting at it)
        (p1, d1), (p2, d2) = lines[i - 1], lines[i]
        m = np.array([d1, -d2]).T
        if abs(np.linalg.det(m)) < 1e-6:
            corners.append(quad[i])
            continue
        corners.append(p1 + np.linalg.solve(m, p2 - p1)[0] * d1)
    corners = np.array(corners)
    # a fit that moves a corner by a quarter of the frame went wrong: keep the polygon's
    if np.max(np.linalg.norm(corners - quad, axis=1)) > 0.25 * max(h, w):
        return quad
    return corners


# Long side over short side of a photographed ECG sheet (A4 1.41, US letter 1.29; the
# rectified phone photos of ``phone-photos``: 1.25-1.43). A near-square outline is not
# a whole sheet (a shadow's edge, a sheet partly out of the frame).
SHEET_ASPECT = (1.2, 1.6)


def sheet_shaped(corners: np.ndarray) -> bool:
    """Whether a quadrilateral (tl, tr, br, bl) has a sheet's proportions (:data:`SHEET_ASPECT`).

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.sheet import sheet_shaped
    >>> sheet_shaped(np.array([[0, 0], [297, 0], [297, 210], [0, 210]])), sheet_shaped(np.array([[0, 0], [100, 0], [100, 98], [0, 98]]))
    (True, False)
    """
    tl, tr, br, bl = np.asarray(corners, float)
    width = (np.linalg.norm(tr - tl) + np.linalg.norm(br - bl)) / 2
    height = (np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2
    aspect = max(width, height) / max(min(width, height), 1e-9)
    return bool(SHEET_ASPECT[0] <= aspect <= SHEET_ASPECT[1])


def sheet_on_background(image: np.ndarray) -> bool:
    """Whether the image is a photo of a sheet: a sheet-shaped outline is found
    (:func:`find_page`, :func:`sheet_shaped`) and it is lighter than what surrounds it
    (paper on a desk, not a dark box on a page).

    Examples
    --------
    >>> import numpy as np
    >>> desk = np.full((400, 600, 3), 60, np.uint8)
    >>> desk[50:350, 100:500] = 250
    >>> sheet_on_background(desk), sheet_on_background(255 - desk)
    (True, False)
    """
    import cv2

    corners = find_page(image)
    if corners is None or not sheet_shaped(corners):
        return False
    grey = cv2.cvtColor(np.ascontiguousarray(np.asarray(image)[..., :3]), cv2.COLOR_RGB2GRAY)
    inside = np.zeros(grey.shape, np.uint8)
    cv2.fillPoly(inside, [np.int32(np.round(corners))], 1)
    if inside.all() or not inside.any():
        return False
    return bool(grey[inside > 0].mean() > grey[inside == 0].mean())


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
        The rectified sheet (or the input, unchanged, when no sheet-shaped outline is
        found, see :func:`sheet_shaped`).
    homography : ndarray, (3, 3)
        Maps input pixel ``(x, y, 1)`` to output pixels (identity when unchanged).

    Examples
    --------
    >>> out, h = rectify(photo)  # doctest: +SKIP
    """
    import cv2

    img = np.asarray(image)
    quad = find_page(img) if corners is None else order_corners(np.asarray(corners, float))
    if quad is None or (corners is None and not sheet_shaped(quad)):
        return img, np.eye(3)
    tl, tr, br, bl = quad
    width = max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))
    height = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))
    dst = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    hmat = cv2.getPerspectiveTransform(quad.astype(np.float32), dst)
    out = cv2.warpPerspective(img, hmat, (int(round(width)) + 1, int(round(height)) + 1),
                              flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return out, hmat


def turned_clockwise(image: np.ndarray, homography: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``image`` turned a quarter clockwise, and ``homography`` (photo -> ``image``)
    extended to map the photo onto the turned image.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.sheet import turned_clockwise
    >>> img = np.zeros((30, 20, 3), np.uint8); img[0, 0] = 255   # top-left corner
    >>> out, h = turned_clockwise(img, np.eye(3))
    >>> out.shape[:2], out[0, -1].tolist(), (h @ [0, 0, 1]).tolist()
    ((20, 30), [255, 255, 255], [29.0, 0.0, 1.0])
    """
    height = image.shape[0]
    turn = np.array([[0.0, -1.0, height - 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    return np.ascontiguousarray(np.rot90(image, -1)), turn @ np.asarray(homography, float)


def warped(image: np.ndarray, homography, shape: tuple[int, int]) -> np.ndarray:
    """``image`` warped by ``homography`` into a frame of ``shape`` (rows, columns), white
    outside it: an original picture shown in the frame a reading was measured in.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.sheet import warped
    >>> warped(np.zeros((10, 10, 3), np.uint8), np.eye(3), (12, 8)).shape
    (12, 8, 3)
    """
    import cv2

    h, w = shape
    return cv2.warpPerspective(np.asarray(image), np.asarray(homography, float), (w, h),
                               borderMode=cv2.BORDER_CONSTANT, borderValue=(255, 255, 255))

