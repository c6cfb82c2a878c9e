"""Image branch: learned trace segmentation, photo geometry and long-term ECG image segmentation.

Importing this package is light (numpy, scipy); Keras and TensorFlow load only inside
the functions that run a network.

Modules
-------
longterm : long single-lead ECG -> square heat-map image -> PVC / fusion beat masks
           (Hernandez-Fernandez et al., CinC 2023).
tiling   : overlapping tiles of any image size and their blended re-assembly.
segment  : U-Net trace-probability map of an ECG page image.
geometry : page-quadrilateral detection and perspective rectification of photos.
unbend   : smooth paper bending (wrinkles, curl) measured from the grid lines and undone.
lead_images : the 12 leads of a page cropped to a fixed scale, in three territory channels.
image_classifier : NORM / MI / other abnormal from the lead images (the image-only route).
"""
from __future__ import annotations

import importlib

_LAZY = {
    "segment_long_term": "ecg_digitize.neural.longterm",
    "plot_long_term": "ecg_digitize.neural.longterm",
    "trace_probability": "ecg_digitize.neural.segment",
    "rectify": "ecg_digitize.neural.geometry",
    "unbend": "ecg_digitize.neural.unbend",
    "lead_image_stack": "ecg_digitize.neural.lead_images",
    "classify_image": "ecg_digitize.neural.image_classifier",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ecg_digitize.neural' has no attribute {name!r}")


__all__ = sorted(_LAZY)
