"""Keras helpers shared by the image-branch networks (imported only when a network runs)."""
from __future__ import annotations

import functools
from pathlib import Path

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
