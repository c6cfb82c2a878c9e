"""Lead images: the 12 leads of a page cropped, scaled alike and grouped into three channels.

The input of the image-only classifier (:mod:`.image_classifier`). Each lead is cut from
the page where the digitizer placed it (``record.geometry.boxes``): the first
:data:`SECONDS` s from the start of its panel and :data:`MILLIVOLTS` mV around its
baseline, in the colour-aware darkness view (a coloured grid fades, a grey grid stays).
Crops are resampled to a fixed number of pixels per second and per mV, so pages of any
resolution, paper speed and gain give the same picture of the same ECG.

Leads are grouped by the heart territory they face, so a given lead always lands in the
same channel and place (MI shows in specific leads):

* channel 0, inferior (and aVR): II, III, aVF, aVR;
* channel 1, lateral: I, aVL, V5, V6;
* channel 2, anterior: V1, V2, V3, V4.

Within a channel the four crops are stacked top to bottom; a lead the page does not show
stays blank.

Examples
--------
>>> from ecg_digitize import digitize
>>> from ecg_digitize.synth import render, simulate_12lead
>>> from ecg_digitize.neural.lead_images import lead_image_stack, IMAGE_SHAPE
>>> sig, fs, leads = simulate_12lead(seed=0)
>>> page, _ = render(sig, fs, leads, layout="3x4+II", dpi=100, seed=0)
>>> stack = lead_image_stack(page, digitize(page))
>>> stack.shape == IMAGE_SHAPE
True
"""
from __future__ import annotations

from typing import Any

import numpy as np

CHANNELS = (("II", "III", "aVF", "aVR"), ("I", "aVL", "V5", "V6"), ("V1", "V2", "V3", "V4"))
SECONDS = 2.5           # time per crop: one panel of a 3x4 page
MILLIVOLTS = 3.0        # amplitude span per crop, centred on the baseline
CROP_H, CROP_W = 64, 128
IMAGE_SHAPE = (len(CHANNELS[0]) * CROP_H, CROP_W, len(CHANNELS))


def lead_image_stack(image: Any, record) -> np.ndarray:
    """Crop the leads of ``record`` (digitized from ``image``) into a ``IMAGE_SHAPE`` uint8 stack.

    Parameters
    ----------
    image : str, Path, ndarray or PIL.Image.Image
        The page that was digitized (anything :func:`ecg_digitize.digitize` accepts).
    record : ecg_digitize.Record
        Its digitization: lead boxes, skew, calibration and the route that ran.

    Returns
    -------
    ndarray
        ``(256, 128, 3)`` uint8, ink bright on a dark background (see module docstring).
    """
    import cv2

    from ..digitizer import greyscale, threshold
    from ..digitizer import page_as_measured

    # the frame the boxes were measured in: a photo's perspective undone, deskewed
    view = threshold.normalise_background(greyscale.trace_view(page_as_measured(image, record)))

    cal = record.calibration
    px_per_s, px_per_mv = cal.px_per_s, cal.px_per_mv  # across and down the page
    # One area-averaging resize to the output scale keeps thin traces (no aliasing).
    fx, fy = (CROP_W / SECONDS) / px_per_s, (CROP_H / MILLIVOLTS) / px_per_mv
    small = cv2.resize(view, None, fx=fx, fy=fy, interpolation=cv2.INTER_AREA)

    first_box = {}
    for box in record.geometry.boxes:
        first_box.setdefault(box["lead"], box)  # the short panel, not the rhythm strip
    out = np.zeros(IMAGE_SHAPE, np.float32)
    for c, group in enumerate(CHANNELS):
        for k, lead in enumerate(group):
            box = first_box.get(lead)
            if box is None:
                continue
            size = float(box.get("size", 1.0))  # a row nearer the camera on a page seen at a slant
            x0, y0 = float(box["x0"]) * fx, float(box["baseline_y"]) * fy - size * CROP_H / 2
            shift = np.array([[size, 0.0, x0], [0.0, size, y0]], np.float32)
            crop = cv2.warpAffine(small, shift, (CROP_W, CROP_H), flags=cv2.INTER_LINEAR
                                  | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
                                  borderValue=0.0)
            if box.get("inverted"):
                crop = crop[::-1]
            out[k * CROP_H:(k + 1) * CROP_H, :, c] = crop
    return np.round(np.clip(out, 0, 1) * 255).astype(np.uint8)
