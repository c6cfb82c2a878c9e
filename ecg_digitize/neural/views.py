"""The U-Net trace view: ``digitize(method="unet")`` (see :mod:`ecg_digitize.digitizer.views`).

The photo's perspective is undone from the sheet's outline (:func:`.geometry.rectify`),
its grid cells made square again, the bending of its paper undone from the grid lines
(:func:`.unbend.unbend`), and the U-Net segmenter's trace probability
(:func:`.segment.trace_probability`) becomes the trace view. TensorFlow is imported on
the first page.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..digitizer import greyscale, grid, threshold
from ..digitizer.views import TraceView, TraceViewProvider

UNET_THRESHOLD = 0.5  # trace probability above which a pixel is ink
# Largest stretch square_grid applies: a sheet photographed 60 deg off the front is
# foreshortened by 2x; grid periods further apart are a mis-measured grid (a real photo's
# stretched it to a sliver of a page, which then failed in the deskew).
MAX_GRID_STRETCH = 2.0


def unet_view(rgb: np.ndarray) -> TraceView:
    """The page rectified and flattened, with its U-Net trace probability as the trace view.

    Raises
    ------
    FileNotFoundError
        Without the U-Net's weights.
    """
    from ..digitizer.sheet import rectify
    from .segment import trace_probability
    from .unbend import unbend

    missing = unavailable()
    if missing:
        raise FileNotFoundError(f"method='unet' {missing}; use method='classical'")
    warnings = []
    rgb, homography = rectify(rgb)
    bend = None
    if not np.allclose(homography, np.eye(3)):
        warnings.append("perspective undone from the page outline (method='unet')")
        rgb, homography = square_grid(rgb, homography)
        rgb, bend = unbend(rgb)
        if bend is not None:
            warnings.append("paper bending undone from the grid lines (method='unet')")
    surround = greyscale.dark_surround(rgb)  # neither grid nor trace
    grid_dark = greyscale.blanked(threshold.normalise_background(greyscale.grid_view(rgb)), surround)
    return TraceView(rgb, greyscale.blanked(trace_probability(rgb), surround), grid_dark, method="unet", kind="probability",
                     ink_threshold=UNET_THRESHOLD, homography=homography,
                     bend=None if bend is None else bend.to_dict(), warnings=warnings)


def square_grid(rgb: np.ndarray, homography: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stretch a rectified photo along x so its grid cells are square again.

    The sheet's outline fixes the perspective but not the aspect ratio (the sides keep
    their lengths as photographed); a few percent of stretch in x is a time-scale error
    that shifts late columns by tenths of a second. Left alone when the two directions
    agree within 1 % or no grid is measured, and when they disagree by more than
    :data:`MAX_GRID_STRETCH` (a grid measured wrong).
    """
    periods = grid.axis_periods(threshold.normalise_background(greyscale.grid_view(rgb)))
    if periods is None or not (periods[0] > 0 and periods[1] > 0):
        return rgb, homography
    sx = periods[1] / periods[0]
    if abs(periods[0] / periods[1] - 1) <= 0.01 or not 1 / MAX_GRID_STRETCH <= sx <= MAX_GRID_STRETCH:
        return rgb, homography
    h, w = rgb.shape[:2]
    stretched = cv2.resize(rgb, (max(1, int(round(w * sx))), h), interpolation=cv2.INTER_LINEAR)
    return stretched, np.diag([sx, 1.0, 1.0]) @ homography


def reframe(rgb: np.ndarray, geometry) -> np.ndarray:
    """The original image in the rectified, flattened frame ``geometry`` was measured in."""
    from ..digitizer.sheet import warped
    from .unbend import BendField, apply_bend

    if geometry.homography is not None:
        rgb = warped(rgb, geometry.homography, geometry.image_shape)
    if geometry.bend:
        rgb = apply_bend(rgb, BendField.from_dict(geometry.bend))
    return rgb


def unavailable() -> str | None:
    """Why the U-Net route cannot run here (its weights are missing), or None."""
    from .segment import default_model_path

    path = default_model_path()
    return None if path.exists() else f"needs {path}, which this installation does not have"


# only the classical route tries a refused page turned a quarter (as it always did)
UNET = TraceViewProvider(make=unet_view, reframe=reframe, unavailable=unavailable, try_sideways=False)
