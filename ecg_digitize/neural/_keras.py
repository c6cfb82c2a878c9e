"""Keras helpers shared by the image-branch networks (imported only when a network runs)."""
from __future__ import annotations

import functools
import os
import threading
import warnings
import weakref
from pathlib import Path

import numpy as np

PRETRAINED = Path(__file__).resolve().parent.parent.parent / "pretrained"


def keras_setup(threads: int | None = None, seed: int | None = None):
    """Import Keras with bounded CPU threads (reuses ``ecg_digitize.keras_utils.keras_setup``)."""
    from ..keras_utils import keras_setup as _setup

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
TFLITE_ENV = "ECG_DIGITIZE_TFLITE"


def predict_batches(model, x: np.ndarray, batch_size: int = 8) -> np.ndarray:
    """``model(x)`` in inference mode, ``batch_size`` images per call.

    For the many small calls of a digitizing run this is much cheaper than
    ``model.predict``: the model is compiled once per input shape (the last batch is
    padded to full size, not recompiled), to TensorFlow Lite with its XNNPACK CPU kernels
    when it converts (the U-Net's tiles take about a third of TensorFlow's time, same
    output to 1e-4; ``ECG_DIGITIZE_TFLITE=0`` turns it off), else to a traced ``tf.function``.

    Examples
    --------
    >>> probs = predict_batches(load_pretrained("pretrained/unet-trace.keras"), tiles)  # doctest: +SKIP
    """
    x = np.asarray(x, dtype=np.float32)
    n = len(x)
    batch_size = max(1, min(batch_size, n))
    per_shape = _COMPILED.setdefault(model, {})
    key = (batch_size,) + x.shape[1:]
    if key not in per_shape:
        per_shape[key] = _compile(model, key)
    run = per_shape[key]
    out = []
    for start in range(0, n, batch_size):
        batch = x[start:start + batch_size]
        short = batch_size - len(batch)
        if short:
            batch = np.concatenate([batch, np.zeros((short,) + batch.shape[1:], np.float32)])
        out.append(run(batch)[:batch_size - short])
    return np.concatenate(out)


def _compile(model, shape: tuple):
    """A function from a float32 batch of ``shape`` to the model's output (ndarray)."""
    import tensorflow as tf

    graph = tf.function(lambda b: model(b, training=False),
                        input_signature=[tf.TensorSpec(shape, tf.float32)])
    if os.environ.get(TFLITE_ENV, "1") != "0":
        try:
            return _tflite_runner(graph, model)
        except Exception:  # noqa: BLE001 - a speed-up only: TensorFlow runs it otherwise
            pass

    def run(batch: np.ndarray) -> np.ndarray:
        return graph(tf.constant(batch)).numpy()

    run.backend = "tensorflow"
    return run


def _tflite_runner(graph, model):
    """``graph`` converted to TensorFlow Lite, run by its interpreter (XNNPACK on CPU)."""
    import tensorflow as tf

    from ..keras_utils import quiet_stderr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        blob = tf.lite.TFLiteConverter.from_concrete_functions(
            [graph.get_concrete_function()], model).convert()
        try:  # LiteRT, the interpreter's new home (setup.py's neural extra on Linux)
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:  # tf.lite's own, deprecated since TF 2.20
            Interpreter = tf.lite.Interpreter
        threads = tf.config.threading.get_intra_op_parallelism_threads() or None
        with quiet_stderr():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
            interpreter = Interpreter(model_content=blob, num_threads=threads)
            interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]["index"]
    out = interpreter.get_output_details()[0]["index"]
    lock = threading.Lock()  # one interpreter per model and shape; web requests share it

    def run(batch: np.ndarray) -> np.ndarray:
        with lock:
            interpreter.set_tensor(inp, batch)
            interpreter.invoke()
            return interpreter.get_tensor(out).copy()

    run.backend = "tflite"
    return run
