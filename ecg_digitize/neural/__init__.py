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

import lazy_loader as lazy

# loaded on first access (PEP 562, by scikit-image's lazy_loader)
__getattr__, __dir__, __all__ = lazy.attach(__name__, submod_attrs={
    "longterm": ["segment_image", "plot_long_term", "plot_overview"],
    "segment": ["trace_probability"],
    "geometry": ["rectify"],
    "unbend": ["unbend"],
    "lead_images": ["lead_image_stack"],
    "image_classifier": ["classify_image"],
})
