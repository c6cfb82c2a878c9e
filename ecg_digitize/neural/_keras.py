"""Keras helpers shared by the image-branch networks (imported only when a network runs)."""
from __future__ import annotations

import functools
import weakref
from pathlib import Path

import numpy as np

PRETRAINED = Path(__file__).resolve().parent.parent.parent / "pretrained"


def keras_setup(threads: int | None = None, seed: int | None = None):
    """Import Keras with bounded CPU threads (reuses ``classifiers._tf.keras_setup``)."""
    from classifiers._tf import keras_setup as _setup

    return _setup(threads, seed)


@functools.lru_cache(maxsize=4)
def load_pretrained(path: str):
    """Load a ``.keras`` file in safe mode, cached per path (no custom objects, no pickles)."""
    keras = keras_setup()
    if not Path(path).exists():
        raise FileNotFoundError(f"{path} not found: train it first (see docs/image_branch.md)")
    return keras.saving.load_model(path, safe_mode=True, compile=False)


def conv_bn(x, filters: int, kernel=3, strides=1, dilation=1, name: str | None = None):
    """Conv (no bias) + batch norm + ReLU, the building block of both networks."""
    from keras import layers

    x = layers.Conv2D(filters, kernel, strides=strides, dilation_rate=dilation, padding="same",
                      use_bias=False, name=None if name is None else name + "_conv")(x)
    # momentum 0.9: short CPU trainings (a few hundred steps) must still settle the
    # moving statistics used at inference (0.99 leaves them near their initial values).
    x = layers.BatchNormalization(momentum=0.9, name=None if name is None else name + "_bn")(x)
    return layers.ReLU(name=None if name is None else name + "_relu")(x)


# One compiled inference function per model and input shape (keys die with the model).
_COMPILED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def predict_batches(model, x: np.ndarray, batch_size: int = 8) -> np.ndarray:
    """``model(x)`` in inference mode, ``batch_size`` images per call.

    Faster than ``model.predict`` for the many small calls of a digitizing run: the graph
    is traced once per model and image shape (the last batch is padded to full size, not
    retraced), and no ``tf.data`` pipeline is built per call.

    Examples
    --------
    >>> probs = predict_batches(load_pretrained("pretrained/unet-trace.keras"), tiles)  # doctest: +SKIP
    """
    import tensorflow as tf

    x = np.asarray(x, dtype=np.float32)
    n = len(x)
    batch_size = max(1, min(batch_size, n))
    per_shape = _COMPILED.setdefault(model, {})
    key = (batch_size,) + x.shape[1:]
    if key not in per_shape:
        spec = tf.TensorSpec(key, tf.float32)
        per_shape[key] = tf.function(lambda b: model(b, training=False), input_signature=[spec])
    run = per_shape[key]
    out = []
    for start in range(0, n, batch_size):
        batch = x[start:start + batch_size]
        short = batch_size - len(batch)
        if short:
            batch = np.concatenate([batch, np.zeros((short,) + batch.shape[1:], np.float32)])
        out.append(run(tf.constant(batch)).numpy()[:batch_size - short])
    return np.concatenate(out)
