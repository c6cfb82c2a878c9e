"""Stage 2 (trace view, :func:`.views.straighten`): deskew a page from its grid lines
(or, with no grid, from the trace baselines).

Projection profiles: the rows (and columns) of a straight grid are sharpest when
projected along their own direction.
"""
from __future__ import annotations

import cv2
import numpy as np

from ._compiled import lazy_njit

# Below this many pixels a side a view holds no line long enough to show an angle, and its
# reduced copies would be empty (cv2.resize refuses an empty target: "inv_scale_x > 0").
MIN_SKEW_SIDE = 16


def estimate_skew(dark: np.ndarray, *, max_angle: float = 15.0) -> float:
    """Page rotation in degrees, in OpenCV's convention (``rotate(page, -angle)`` undoes it).

    Straight lines (grid, or flat trace stretches when there is no grid) project to sharp
    peaks only when the projection direction matches their angle: the angle maximising
    the summed squared projections (rows and columns together) wins, first on a coarse
    grid of angles over a 4x smaller copy, then finely around it.

    Parameters
    ----------
    dark : ndarray
        A darkness view with the grid visible (see :func:`greyscale.grid_view`).
    max_angle : float
        Largest skew considered.

    Examples
    --------
    >>> import cv2, numpy as np
    >>> from ecg_digitize.digitizer.deskew import estimate_skew
    >>> img = np.zeros((400, 600), np.float32)
    >>> img[::20, :] = 1.0
    >>> img[:, ::20] = 1.0
    >>> m = cv2.getRotationMatrix2D((300, 200), 3.0, 1.0)
    >>> round(estimate_skew(cv2.warpAffine(img, m, (600, 400))), 1)
    3.0
    >>> estimate_skew(np.ones((1, 500), np.float32))   # too thin to tell: straight
    0.0
    """
    if min(dark.shape[:2]) < MIN_SKEW_SIDE:
        return 0.0
    dark = line_contrast(dark)
    big = min(dark.shape) > 1200
    coarse = _best_angle(dark, 4 if big else 2, np.arange(-max_angle, max_angle + 1e-9, 0.25))
    fine = _best_angle(dark, 2 if big else 1, coarse + np.arange(-0.3, 0.3 + 1e-9, 0.02))
    return float(fine)


# Lines are thin: darkness above its blur at this scale (px) keeps them and drops broad
# shadows and blotches, whose mass otherwise outweighs the grid's lines in the
# projections (ECG-Image-Kit photo pages turned 5-8 deg read as turned 15 deg).
LINE_BLUR_PX = 3.0


def line_contrast(dark: np.ndarray) -> np.ndarray:
    """Darkness above its local (Gaussian-blurred) level, clipped at 0."""
    dark = np.asarray(dark, np.float32)
    return np.clip(dark - cv2.GaussianBlur(dark, (0, 0), LINE_BLUR_PX), 0, None)


def _best_angle(dark: np.ndarray, step: int, angles: np.ndarray) -> float:
    h, w = dark.shape
    # Area averaging (not striding) so that 1 px lines survive the reduction.
    small = dark if step == 1 else cv2.resize(dark, (max(1, w // step), max(1, h // step)),
                                              interpolation=cv2.INTER_AREA)
    scores = angle_scores(small, angles)
    if scores is None:
        return 0.0
    return peak_angle(angles, scores[0] + scores[1])


def angle_scores(dark: np.ndarray, angles: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Per angle of ``angles`` (degrees), the summed squared projections of ``dark``'s
    lines along the rows (horizontal lines) and along the columns (vertical lines); None
    where fewer than 50 pixels stand out."""
    thr = max(float(np.percentile(dark, 90)), 0.05)
    ys, xs = np.nonzero(dark > thr)
    if len(ys) < 50:
        return None
    if len(ys) > 400_000:  # a random subset keeps the peaks and the cost bounded
        keep = np.random.default_rng(0).choice(len(ys), 400_000, replace=False)
        ys, xs = ys[keep], xs[keep]
    wts = dark[ys, xs].astype(np.float64)
    # Whole-pixel centres and offsets: with half-pixel coordinates, rounding half to even
    # would pile every other pair of rows into one bin at 0 deg exactly, a spike in the
    # score that pulled skewed pages of odd height or width to 0.
    ys = (ys - dark.shape[0] // 2).astype(np.float64)
    xs = (xs - dark.shape[1] // 2).astype(np.float64)
    hu, hv = _projections(ys, xs, wts, np.tan(np.radians(angles)), int(np.hypot(*dark.shape)) + 4)
    return np.asarray([a @ a for a in hu]), np.asarray([b @ b for b in hv])


def peak_angle(angles: np.ndarray, scores: np.ndarray) -> float:
    """The angle of the highest score, between samples by a parabola through its
    neighbours; the middle of a plateau of tied maxima."""
    tied = np.flatnonzero(scores == scores.max())
    if len(tied) > 1:
        # Angles too close to move any point by half a pixel project identically: the
        # middle of such a plateau, not its first angle (a bias of half its width).
        return float(np.mean(angles[tied]))
    i = int(tied[0])
    if 0 < i < len(scores) - 1:  # parabolic refinement between angle samples
        a, b, c = scores[i - 1], scores[i], scores[i + 1]
        denom = a - 2 * b + c
        shift = 0.5 * (a - c) / denom if denom < 0 else 0.0
        return float(angles[i] + shift * (angles[1] - angles[0]))
    return float(angles[i])


@lazy_njit
def _projections(ys, xs, wts, tans, n):
    """Weighted projections of the points (``ys``, ``xs``, about the page's middle) onto
    ``n`` bins, per slope in ``tans``: along the rows (horizontal lines) and along the
    columns (vertical lines). Compiled: one pass per angle instead of numpy's six."""
    half = n // 2
    hu = np.zeros((len(tans), n))
    hv = np.zeros((len(tans), n))
    for a in range(len(tans)):
        t = tans[a]
        for p in range(len(ys)):
            u = min(max(int(np.rint(ys[p] + t * xs[p])) + half, 0), n - 1)   # rows of horizontal lines
            v = min(max(int(np.rint(xs[p] - t * ys[p])) + half, 0), n - 1)   # columns of vertical lines
            hu[a, u] += wts[p]
            hv[a, v] += wts[p]
    return hu, hv


def rotate(image: np.ndarray, angle: float, *, border=None, method: str = "bilinear") -> np.ndarray:
    """Rotate ``image`` by ``angle`` degrees about its centre (same size; undoes a skew
    when given ``-estimate_skew(...)``). ``border`` fills the uncovered corners (default:
    replicate the edge).

    ``method="bicubic"`` keeps a thin trace's anti-aliased edges sharper than bilinear
    interpolation, which blurs a 2-3 px line by about a pixel; its overshoot is clipped to
    the input's range.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.deskew import rotate
    >>> img = np.zeros((101, 101), np.float32); img[50, :] = 1.0   # a 1 px line
    >>> for m in ("bilinear", "bicubic"):   # a column where it lands between two rows
    ...     print(m, [round(float(v), 2) for v in rotate(img, 2.0, border=0.0, method=m)[48:53, 64]])
    bilinear [0.0, 0.47, 0.53, 0.0, 0.0]
    bicubic [0.0, 0.56, 0.63, 0.0, 0.0]
    """
    if abs(angle) < 1e-3:
        return image
    if method not in _INTERPOLATION:
        raise ValueError(f"method must be one of {sorted(_INTERPOLATION)}, not {method!r}")
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    flags = _INTERPOLATION[method]
    if border is None:
        out = cv2.warpAffine(image, m, (w, h), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    else:
        out = cv2.warpAffine(image, m, (w, h), flags=flags, borderMode=cv2.BORDER_CONSTANT,
                             borderValue=border)
    return np.clip(out, image.min(), image.max()) if method == "bicubic" else out


_INTERPOLATION = {"bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC}
