"""The image-only route: NORM / MI / other abnormal from the page picture itself.

A small CNN reads the :func:`~.lead_images.lead_image_stack` of a page (12 lead crops in
three territory channels) instead of digitized signals. It is trained on renders of
PTB-XL folds 1-8 (``python -m ecg_digitize.neural.train_image_classifier``); the model
card ``pretrained/ptbxl-image.md`` compares it with the signal route (``digitize`` then
``classifiers.detect_mi``) on fold-10 renders and on real scans.

Examples
--------
>>> from ecg_digitize.neural.image_classifier import classify_image
>>> res = classify_image("page.png")  # doctest: +SKIP
>>> res.label, round(res.probabilities["MI"], 2)  # doctest: +SKIP
('NORM', 0.12)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .lead_images import IMAGE_SHAPE, lead_image_stack

CLASSES = ("NORM", "MI", "other")
MODEL_NAME = "ptbxl-image"


def default_model_path() -> Path:
    """``pretrained/ptbxl-image.keras``."""
    from ._keras import PRETRAINED

    return PRETRAINED / f"{MODEL_NAME}.keras"


def label_of(norm: bool, mi: bool) -> int:
    """Class index from PTB-XL superclass flags: MI first, then NORM, else other abnormal.

    Examples
    --------
    >>> label_of(norm=True, mi=False), label_of(norm=True, mi=True), label_of(False, False)
    (0, 1, 2)
    """
    return 1 if mi else (0 if norm else 2)


def build_model(base: int = 16, dropout: float = 0.3):
    """A small VGG-style CNN: a strided stem, four conv blocks, global average pooling, softmax."""
    from keras import layers, models

    from ._keras import conv_bn

    x_in = layers.Input(IMAGE_SHAPE, name="leads")
    x = layers.Rescaling(1.0 / 255)(x_in)
    # A strided stem: the crops are 51 px per second, finer than MI features need, and
    # full-resolution convolutions would take most of the CPU time.
    x = conv_bn(x, base, kernel=5, strides=2)
    for mult in (1, 2, 4, 6):
        x = conv_bn(x, base * mult)
        x = conv_bn(x, base * mult)
        x = layers.MaxPooling2D(2)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    out = layers.Dense(len(CLASSES), activation="softmax", name="classes")(x)
    return models.Model(x_in, out, name=MODEL_NAME)


@dataclass
class ImageClassResult:
    """Outcome of :func:`classify_image`."""

    label: str
    probabilities: dict[str, float]
    route: str = "image"
    warnings: list[str] = field(default_factory=list)


def classify_image(image: Any, record=None, *, model=None) -> ImageClassResult:
    """Classify an ECG page picture as NORM, MI or other abnormal from its lead images.

    Parameters
    ----------
    image : str, Path, ndarray or PIL.Image.Image
        The page (anything :func:`ecg_digitize.digitize` accepts).
    record : ecg_digitize.Record, optional
        Its digitization, when already done; it places the lead crops.
    model : keras.Model or str, optional
        Default ``pretrained/ptbxl-image.keras`` (TensorFlow imported on first use).

    Returns
    -------
    ImageClassResult
        The most probable class and the probability of each.

    Raises
    ------
    DigitizeError
        When the page cannot be digitized to place its leads.
    """
    from ._keras import load_pretrained

    if record is None:
        from ..digitizer import digitize

        record = digitize(image)
    stack = lead_image_stack(image, record)
    net = load_pretrained(str(model or default_model_path())) if not hasattr(model, "predict") else model
    probs = np.asarray(net.predict(stack[None], verbose=0))[0]
    missing = [lead for lead, f in record.plotted_fraction().items() if f == 0]
    warnings = [f"lead(s) {', '.join(missing)} not on the page: blank in the image"] if missing else []
    return ImageClassResult(CLASSES[int(np.argmax(probs))],
                            {c: float(p) for c, p in zip(CLASSES, probs)}, warnings=warnings)
