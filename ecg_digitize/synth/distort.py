"""Distortions of a rendered page: scanner and camera artefacts, each with a strength.

Every function takes the page as float32 RGB in 0..1 and a ``numpy.random.Generator``, so a
whole render is repeatable under one seed. Geometric ones also move the trace mask.

Strength keys accepted by :func:`apply_distortions` (0 or absent: off):

========================  ====================================================
``paper_texture``         relative amplitude of paper grain (0.02 typical)
``marks``                 number of handwritten-like pen strokes
``wrinkles``              displacement amplitude of smooth paper wrinkles (px)
``creases``               number of fold lines
``fold``                  a sharp fold: share by which the paper beyond it is foreshortened
``curl``                  an edge curled up: its foreshortening at the edge, as a share of the page
``background``            fraction of the frame the page leaves as background
``rotation``              degrees (signed)
``shear``                 horizontal shear factor
``perspective``           camera tilt in degrees (up to ~15 for phone photos)
``out_of_frame``          share of the sheet pushed past one edge of the frame
``lighting``              depth of smooth uneven lighting (0..1)
``shadows``               number of soft shadows
``flash``                 strength of a flash highlight (0..1)
``color_shift``           per-channel gain / white-balance spread
``blur``                  Gaussian sigma (px)
``low_resolution``        down-sampling factor (2 = half resolution and back)
``noise``                 sensor noise sigma (0..1 scale)
``jpeg``                  JPEG quality (1..100)
``bilevel``               1-bit page: luminance threshold (0..1), before any JPEG
========================  ====================================================
"""
from __future__ import annotations

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d

from . import _draw

PRESETS = ("clean", "scan", "photo")


def sample_preset(preset: str, seed: int | None) -> dict:
    """Draw the distortion strengths of a named preset from ``seed``.

    ``clean``: none. ``scan``: rotation within +-5 deg, slight blur, noise, JPEG, paper grain.
    ``photo``: perspective up to 15 deg, background, lighting, shadows, flash, creases,
    wrinkles, blur, noise, JPEG, colour cast; on some pages a sharp fold, a curled edge,
    or the sheet partly out of the frame.
    """
    rng = np.random.default_rng(None if seed is None else seed + 7919)
    if preset == "clean":
        return {}
    if preset == "scan":
        return {
            "paper_texture": float(rng.uniform(0.01, 0.03)),
            "rotation": float(rng.uniform(-5, 5)),
            "lighting": float(rng.uniform(0.0, 0.1)),
            "color_shift": float(rng.uniform(0.0, 0.05)),
            "blur": float(rng.uniform(0.3, 1.0)),
            "noise": float(rng.uniform(0.01, 0.03)),
            "jpeg": int(rng.integers(60, 92)),
        }
    if preset == "photo":
        return {
            "paper_texture": float(rng.uniform(0.01, 0.04)),
            "marks": int(rng.integers(0, 3)),
            "wrinkles": float(rng.uniform(0.0, 4.0)),
            "creases": int(rng.integers(0, 3)),
            "rotation": float(rng.uniform(-8, 8)),
            "perspective": float(rng.uniform(3, 15)),
            "background": float(rng.uniform(0.04, 0.12)),
            "lighting": float(rng.uniform(0.1, 0.35)),
            "shadows": int(rng.integers(0, 3)),
            "flash": float(rng.uniform(0.0, 0.5) if rng.random() < 0.5 else 0.0),
            "color_shift": float(rng.uniform(0.03, 0.12)),
            "blur": float(rng.uniform(0.5, 1.6)),
            "noise": float(rng.uniform(0.02, 0.05)),
            "jpeg": int(rng.integers(50, 86)),
            # drawn last, so the strengths above stay those of earlier renders
            "fold": float(rng.uniform(0.01, 0.04)) if rng.random() < 0.4 else 0.0,
            "curl": float(rng.uniform(0.005, 0.02)) if rng.random() < 0.4 else 0.0,
            "out_of_frame": float(rng.uniform(0.01, 0.05)) if rng.random() < 0.4 else 0.0,
        }
    raise ValueError(f"unknown preset {preset!r}; choose from {PRESETS}")


def apply_distortions(page: np.ndarray, mask: np.ndarray, params: dict, rng: np.random.Generator,
                      px_per_mm: float):
    """Apply the distortions in ``params`` to a uint8 page, in a physical order.

    Returns ``(image uint8, mask, homography)``; the homography maps clean-page pixels
    to output pixels (identity when no geometric distortion ran).
    """
    unknown = set(params) - set(_ORDER)
    if unknown:
        raise ValueError(f"unknown distortion(s) {sorted(unknown)}; known: {list(_ORDER)}")
    homography = np.eye(3)
    if not any(params.values()):
        return page, mask, homography
    page = page.astype(np.float32) / 255.0
    for key in _ORDER:
        strength = params.get(key)
        if not strength:
            continue
        if key in _GEOMETRY:
            if key == next(k for k in _GEOMETRY if params.get(k)):  # the first one runs them all
                page, mask, hm = geometry(page, mask, params, rng)
                homography = hm @ homography
        elif key in ("lighting", "shadows"):
            if key == ("lighting" if params.get("lighting") else "shadows"):
                page = light(page, params, rng)
        elif key in ("wrinkles", "fold", "curl"):  # they move the paper, and the trace mask with it
            page, mask, _ = _ORDER[key](page, mask, strength, rng)
        else:
            page = _ORDER[key](page, strength, rng)
    return _to_uint8(page), mask, homography


def _to_uint8(page: np.ndarray) -> np.ndarray:
    return np.clip(page * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _smooth_field(shape, rng, scale: int) -> np.ndarray:
    """A smooth random field in -1..1 with features about ``scale`` px wide."""
    h, w = shape
    small = rng.standard_normal((max(2, h // scale + 2), max(2, w // scale + 2))).astype(np.float32)
    field = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return field / (np.abs(field).max() + 1e-6)


# ---------------------------------------------------------------- paper
def paper_texture(page, strength, rng):
    h, w = page.shape[:2]
    grain = cv2.GaussianBlur(rng.standard_normal((h, w), dtype=np.float32), (0, 0), 1.2)
    grain /= grain.std() + 1e-6
    return page * (1 + strength * (0.5 * grain + 0.5 * _smooth_field((h, w), rng, 200)))[..., None]


def marks(page, count, rng):
    """Pen strokes: smooth random curves in blue or black ink."""
    h, w = page.shape[:2]
    canvas = np.zeros((h, w), np.uint8)
    for _ in range(int(count)):
        start = rng.uniform([0, 0], [w, h])
        steps = np.cumsum(rng.normal(0, 8, size=(60, 2)), axis=0) + np.cumsum(
            np.tile(rng.normal(0, 6, size=2), (60, 1)), axis=0)
        pts = (start + steps).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(canvas, [pts], False, 255, int(rng.integers(2, 5)), cv2.LINE_AA)
    color = [0.1, 0.15, 0.6] if rng.random() < 0.6 else [0.1, 0.1, 0.1]
    _draw.ink(page, canvas.astype(np.float32) / 255.0, color)
    return page


def wrinkles(page, mask, amplitude, rng):
    """Smooth displacement of the paper plus matching shading."""
    h, w = page.shape[:2]
    dx = _smooth_field((h, w), rng, 300) * amplitude
    dy = _smooth_field((h, w), rng, 300) * amplitude
    page, mask = _remapped(page, mask, dx + np.arange(w, dtype=np.float32)[None, :],
                           dy + np.arange(h, dtype=np.float32)[:, None])
    shade = 1 + 0.02 * amplitude * cv2.Sobel(dx, cv2.CV_32F, 1, 0, ksize=3)
    return page * np.clip(shade, 0.7, 1.2)[..., None], mask, np.eye(3)


def _remapped(page, mask, map_x, map_y):
    """``page`` and ``mask`` read at ``(map_x, map_y)``: fixed-point maps, so remap runs
    about twice as fast, shared by both images."""
    m1, m2 = cv2.convertMaps(map_x.astype(np.float32), map_y.astype(np.float32), cv2.CV_16SC2)
    page = cv2.remap(page, m1, m2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    mask = cv2.remap(mask, m1, m2, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT)
    return page, mask


def _resampled_along(page, mask, src: np.ndarray, light: np.ndarray, across: bool):
    """``page`` and ``mask`` read at 1-D coordinates ``src`` along x (``across``) or y, and
    the page lit by the 1-D profile ``light`` along the same axis."""
    h, w = page.shape[:2]
    xs, ys = np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)
    if across:
        maps, light = (np.broadcast_to(src[None, :], (h, w)), np.broadcast_to(ys[:, None], (h, w))), light[None, :]
    else:
        maps, light = (np.broadcast_to(xs[None, :], (h, w)), np.broadcast_to(src[:, None], (h, w))), light[:, None]
    page, mask = _remapped(page, mask, *maps)
    return page * light[..., None].astype(np.float32), mask, np.eye(3)


def fold(page, mask, share, rng):
    """A sharp fold across the sheet (a change of plane, not a crease's ridge alone): the
    paper beyond a line across the page is tilted away, so seen from above it is
    foreshortened by ``share`` across the fold, and lit differently."""
    across = rng.random() < 0.5  # a vertical fold line (the sheet folded left-right) or a horizontal one
    size = page.shape[1] if across else page.shape[0]
    line = rng.uniform(0.3, 0.7) * size
    coord = np.arange(size, dtype=np.float32)
    src = np.where(coord > line, line + (coord - line) * (1 + share), coord)  # read further out beyond it
    light = np.where(coord > line, rng.uniform(0.82, 0.97), 1.0).astype(np.float32)
    return _resampled_along(page, mask, src, gaussian_filter1d(light, 1.5), across)


def curl(page, mask, share, rng):
    """One edge of the sheet curled up: the paper near it is foreshortened, most at the
    edge (``share`` of the page), and darker there."""
    edge = int(rng.integers(4))  # left, right, top, bottom
    across = edge < 2
    size = page.shape[1] if across else page.shape[0]
    coord = np.arange(size, dtype=np.float32)
    towards = edge in (1, 3)  # the curled edge is at the far end of the axis
    t = coord / (size - 1) if towards else 1 - coord / (size - 1)  # 0 far from it, 1 at it
    u = np.clip((t - 0.7) / 0.3, 0, 1)
    src = coord + (1 if towards else -1) * share * size * u ** 2  # read further towards the edge
    return _resampled_along(page, mask, src, 1 - 0.15 * u ** 2, across)


def creases(page, count, rng):
    """Straight fold lines: a thin dark/bright ridge with a soft shadow on one side."""
    h, w = page.shape[:2]
    ridge = np.zeros((h, w), np.float32)
    small = np.zeros((h // 4 + 1, w // 4 + 1), np.float32)
    for _ in range(int(count)):
        angle = rng.uniform(0, np.pi)
        c = rng.uniform([0.2 * w, 0.2 * h], [0.8 * w, 0.8 * h])
        u = np.array([np.cos(angle), np.sin(angle)]) * 2 * max(w, h)
        n = np.array([np.sin(angle), -np.cos(angle)]) * 6  # the soft shadow sits beside the fold
        p0, p1 = (c - u).astype(int), (c + u).astype(int)
        cv2.line(ridge, tuple(p0), tuple(p1), 0.25, 2, cv2.LINE_AA)
        cv2.line(small, tuple(((c - u + n) / 4).astype(int)), tuple(((c + u + n) / 4).astype(int)), 0.3, 3)
    ridge = cv2.GaussianBlur(ridge, (0, 0), 1.0)
    shade = cv2.resize(cv2.GaussianBlur(small, (0, 0), 3.0), (w, h))
    return page * cv2.merge([1 - ridge + shade * 0.2] * 3)


# ---------------------------------------------------------------- geometry
def _warp(page, mask, h_matrix, out_size, border):
    w, h = out_size
    page = cv2.warpPerspective(page, h_matrix, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=border)
    mask = cv2.warpPerspective(mask, h_matrix, (w, h), flags=cv2.INTER_NEAREST,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return page, mask


def _page_border(page) -> tuple:
    return tuple(float(v) for v in np.median(page[:5, :5].reshape(-1, 3), axis=0))


def _rotation_matrix(size, degrees, rng):
    w, h = size
    return np.vstack([cv2.getRotationMatrix2D((w / 2, h / 2), float(degrees), 1.0), [0, 0, 1]])


def _shear_matrix(size, factor, rng):
    w, h = size
    return np.array([[1, factor, -factor * h / 2], [0, 1, 0], [0, 0, 1]], dtype=float)


def _perspective_matrix(size, degrees, rng):
    """Tilt the page plane by ``degrees`` about a random axis, seen by a pinhole camera."""
    w, h = size
    f = 1.2 * max(w, h)
    axis_angle = rng.uniform(0, 2 * np.pi)
    tilt = np.deg2rad(degrees)
    rot, _ = cv2.Rodrigues(np.array([tilt * np.cos(axis_angle), tilt * np.sin(axis_angle), 0.0]))
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=float)
    cam = np.column_stack([corners - [w / 2, h / 2], np.zeros(4)]) @ rot.T + [0, 0, f]
    proj = cam[:, :2] / cam[:, 2:3] * f
    proj -= proj.min(axis=0)
    scale = min(w / np.ptp(proj[:, 0]), h / np.ptp(proj[:, 1]))
    proj = proj * scale + ([w, h] - np.ptp(proj, axis=0) * scale) / 2
    return cv2.getPerspectiveTransform(corners.astype(np.float32), proj.astype(np.float32))


def _background_matrix(size, fraction, rng):
    """Shrink the page so a table-like background shows around it."""
    w, h = size
    s = 1 - 2 * fraction
    off = rng.uniform(0.3, 0.7, size=2) * (1 - s) * np.array([w, h])
    return np.array([[s, 0, off[0]], [0, s, off[1]], [0, 0, 1]], dtype=float)


def _background_color(rng) -> tuple:
    base = rng.uniform(0.15, 0.55)
    tint = rng.uniform(-0.08, 0.08, size=3)
    return tuple(float(np.clip(base + t, 0, 1)) for t in tint)


def geometry(page, mask, params: dict, rng):
    """Background, rotation, shear and perspective composed into one homography and one warp.

    Returns ``(page, mask, homography)``; the mask moves with nearest-neighbour sampling.
    """
    h, w = page.shape[:2]
    hm = np.eye(3)
    for key, make in _MATRICES.items():
        if params.get(key):
            hm = make((w, h), params[key], rng) @ hm
    if params.get("out_of_frame"):
        hm = _out_of_frame_matrix((w, h), params["out_of_frame"], hm, rng) @ hm
    if params.get("background"):
        border = _background_color(rng)
    else:
        border = _page_border(page)
    page, mask = _warp(page, mask, hm, (w, h), border)
    if params.get("background"):
        # table texture where the page is not
        corners = np.array([[0, 0, 1], [w, 0, 1], [w, h, 1], [0, h, 1]], dtype=float) @ hm.T
        poly = (corners[:, :2] / corners[:, 2:3]).astype(np.int32)
        outside = np.ones((h, w), np.float32)
        cv2.fillConvexPoly(outside, poly, 0.0)
        page += cv2.merge([0.06 * _smooth_field((h, w), rng, 40) * outside] * 3)
    return page, mask, hm


def _out_of_frame_matrix(size, share, hm, rng):
    """Move the sheet (its corners where ``hm`` puts them) so that ``share`` of its width or
    height lies past one edge of the frame."""
    w, h = size
    corners = np.array([[0, 0, 1], [w, 0, 1], [w, h, 1], [0, h, 1]], dtype=float) @ hm.T
    xy = corners[:, :2] / corners[:, 2:3]
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    edge = int(rng.integers(4))  # left, right, top, bottom
    dx = (-(x0 + share * (x1 - x0)), w - x1 + share * (x1 - x0), 0, 0)[edge]
    dy = (0, 0, -(y0 + share * (y1 - y0)), h - y1 + share * (y1 - y0))[edge]
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], dtype=float)


_MATRICES = {"background": _background_matrix, "rotation": _rotation_matrix,
             "shear": _shear_matrix, "perspective": _perspective_matrix}
_GEOMETRY = (*_MATRICES, "out_of_frame")  # the keys geometry() composes into one warp


# ---------------------------------------------------------------- light and colour
def _light_field(small_shape, params, rng) -> np.ndarray:
    """Uneven lighting times soft shadows, at low resolution (they have no fine detail)."""
    h, w = small_shape
    field = np.ones((h, w), np.float32)
    depth = params.get("lighting") or 0.0
    if depth:
        gx = np.linspace(-0.5, 0.5, w, dtype=np.float32)[None, :]
        gy = np.linspace(-0.5, 0.5, h, dtype=np.float32)[:, None]
        direction = rng.uniform(0, 2 * np.pi)
        ramp = gx * np.float32(np.cos(direction)) + gy * np.float32(np.sin(direction))
        field *= np.clip(1 - depth * (ramp + 0.5) - 0.3 * depth * _smooth_field((h, w), rng, 50), 0.2, 1.2)
    for _ in range(int(params.get("shadows") or 0)):
        canvas = np.zeros((h, w), np.float32)
        pts = rng.uniform([0, 0], [w, h], size=(int(rng.integers(3, 6)), 2)).astype(np.int32)
        cv2.fillPoly(canvas, [cv2.convexHull(pts)], 1.0)
        canvas = cv2.GaussianBlur(canvas, (0, 0), max(w, h) * 0.02)
        field *= 1 - rng.uniform(0.2, 0.5) * canvas
    return field


def light(page, params: dict, rng):
    """Apply uneven lighting and shadows as one multiplicative field drawn at 1/8 scale."""
    h, w = page.shape[:2]
    field = _light_field((h // 8 + 1, w // 8 + 1), params, rng)
    return page * cv2.merge([cv2.resize(field, (w, h), interpolation=cv2.INTER_LINEAR)] * 3)


def flash(page, strength, rng):
    h, w = page.shape[:2]
    c = rng.uniform([0.2 * w, 0.2 * h], [0.8 * w, 0.8 * h])
    r = rng.uniform(0.1, 0.3) * max(w, h)
    gx = np.exp(-((np.arange(w, dtype=np.float32) - c[0]) ** 2) / (2 * r * r))
    gy = np.exp(-((np.arange(h, dtype=np.float32) - c[1]) ** 2) / (2 * r * r))
    glow = np.float32(strength) * gy[:, None] * gx[None, :]  # a separable Gaussian
    return page + glow[..., None] * (1.05 - page)


def color_shift(page, spread, rng):
    gains = 1 + rng.uniform(-spread, spread, size=3).astype(np.float32)
    return page * gains + rng.uniform(-spread, spread) * 0.3


def blur(page, sigma, rng):
    return cv2.GaussianBlur(page, (0, 0), float(sigma))


def low_resolution(page, factor, rng):
    h, w = page.shape[:2]
    small = cv2.resize(page, (max(1, int(w / factor)), max(1, int(h / factor))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def noise(page, sigma, rng):
    # luminance noise dominates real sensors; one field for all channels is also 3x cheaper
    grain = rng.standard_normal(page.shape[:2], dtype=np.float32) * np.float32(sigma)
    return page + cv2.merge([grain] * 3)


def bilevel(page, level, rng):
    """A 1-bit scan: black where the luminance is under ``level``, white elsewhere."""
    lum = page[..., 0] * 0.299 + page[..., 1] * 0.587 + page[..., 2] * 0.114
    return cv2.merge([(lum >= float(level)).astype(np.float32)] * 3)


def jpeg(page, quality, rng):
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(_to_uint8(page), cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0


# Physical order: paper and ink, paper deformation, camera geometry, light, optics, sensor, file.
_ORDER = {
    "paper_texture": paper_texture, "marks": marks, "wrinkles": wrinkles, "creases": creases,
    "fold": fold, "curl": curl,
    "background": geometry, "rotation": geometry, "shear": geometry, "perspective": geometry,
    "out_of_frame": geometry,
    "lighting": light, "shadows": light, "flash": flash, "color_shift": color_shift,
    "blur": blur, "low_resolution": low_resolution, "noise": noise, "bilevel": bilevel,
    "jpeg": jpeg,
}
