"""U-Net trace segmenter: an ECG page image -> per-pixel probability of trace ink.

The network is trained from scratch on the renderer's ``scan`` and ``photo`` pages with
their exact trace masks (``truth.geometry["trace_mask"] > 0``): grid, text, calibration
pulses, shadows, stains and background are all "not trace". It is fully convolutional
and runs on overlapping tiles (:mod:`.tiling`), so any page size works; the output has
the image's shape and can stand in for the classical pipeline's trace darkness view.

Examples
--------
>>> import numpy as np
>>> from ecg_digitize.neural.segment import trace_probability
>>> page = np.full((300, 400, 3), 255, np.uint8)
>>> prob = trace_probability(page)  # doctest: +SKIP
>>> prob.shape, prob.dtype  # doctest: +SKIP
((300, 400), dtype('float32'))
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .tiling import tile, untile

MODEL_NAME = "unet-trace"
MODEL_ENV = "ECG_DIGITIZE_UNET"
TILE = 256
OVERLAP = 32


def default_model_path() -> Path:
    """``pretrained/unet-trace.keras``, or the file named by the environment variable
    ``ECG_DIGITIZE_UNET`` (your own weights, or a training stage to compare)."""
    from ._keras import PRETRAINED

    return Path(os.environ.get(MODEL_ENV) or PRETRAINED / f"{MODEL_NAME}.keras")


def build_unet(base: int = 8, depth: int = 3):
    """A light U-Net whose encoder starts at half resolution (CPU speed).

    Encoder: ``depth`` stages, each a stride-2 and a plain 3x3 convolution, widths
    ``base * 2**k``. Decoder: upsample, join the skip, one 3x3 convolution per stage.
    A last full-resolution convolution over the upsampled features and the input RGB
    restores pixel precision (traces are 1-3 px wide at 100-200 dpi). About 40 k
    parameters at ``base=8``; input sides must be multiples of ``2**depth``.

    Examples
    --------
    >>> m = build_unet()  # doctest: +SKIP
    >>> m.output_shape  # doctest: +SKIP
    (None, None, None, 1)
    """
    from ._keras import conv_bn, keras_setup

    keras = keras_setup()
    from keras import layers

    inp = keras.Input((None, None, 3), name="rgb")
    x = inp
    skips = []
    for k in range(depth):
        x = conv_bn(x, base * 2 ** k, strides=2, name=f"enc{k}a")
        x = conv_bn(x, base * 2 ** k, dilation=2 if k == depth - 1 else 1, name=f"enc{k}b")
        skips.append(x)
    for k in range(depth - 2, -1, -1):
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"up{k}")(x)
        x = layers.Concatenate(name=f"cat{k}")([x, skips[k]])
        x = conv_bn(x, base * 2 ** k, name=f"dec{k}")
    x = layers.UpSampling2D(2, interpolation="bilinear", name="up_full")(x)
    x = layers.Concatenate(name="cat_full")([x, inp])
    x = conv_bn(x, base, name="full")
    out = layers.Conv2D(1, 1, activation="sigmoid", name="trace")(x)
    return keras.Model(inp, out, name="unet_trace")


def to_input(image: np.ndarray) -> np.ndarray:
    """uint8 RGB (or grey) -> float32 RGB in 0..1, the network's input."""
    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = img[..., :3]
    if img.dtype == np.uint8:
        return img.astype(np.float32) * np.float32(1 / 255)
    return img.astype(np.float32)


def trace_probability(image: np.ndarray, *, model=None, tile_size: int = TILE,
                      overlap: int = OVERLAP, batch_size: int = 8) -> np.ndarray:
    """Probability (0..1) that each pixel is ECG trace ink.

    Parameters
    ----------
    image : ndarray, (H, W, 3) uint8 RGB or (H, W) grey
        A page or part of one, any size.
    model : keras.Model or str, optional
        Default ``pretrained/unet-trace.keras``.
    tile_size, overlap : int
        Tile side (a multiple of 8) and blended overlap in pixels.

    Returns
    -------
    ndarray, (H, W) float32

    Examples
    --------
    >>> prob = trace_probability(image)  # doctest: +SKIP
    >>> mask = prob > 0.5  # doctest: +SKIP
    """
    from ._keras import load_pretrained, predict_batches

    if model is None or isinstance(model, (str, Path)):
        model = load_pretrained(str(model or default_model_path()))
    x = to_input(image)
    tiles, origins = tile(x, tile_size, overlap)
    pred = predict_batches(model, tiles, batch_size)[..., 0]
    return untile(pred, origins, x.shape[:2], overlap).astype(np.float32)
