"""Keras helpers shared by the 1D classifiers (``classifiers``) and the image branch
(``ecg_digitize.neural``): a quiet, thread-bounded import, one traced inference function
per model, and a small training loop (augmented batches, class weights, best-epoch
restore). TensorFlow is imported only when one of them runs.

TensorFlow prints start-up lines (absl's "All log messages before absl::InitializeLog()",
oneDNN's "custom operations are on", CPU-feature and CUDA-factory notices) from C++,
some of them before ``TF_CPP_MIN_LOG_LEVEL`` takes effect. :func:`keras_setup` imports it
with the process's stderr captured and passes on every line except those known notices;
``ECG_DIGITIZE_TF_VERBOSE=1`` shows them all.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
import time
import weakref
from typing import Callable, Sequence

import numpy as np

_CONFIGURED = False
_IMPORT_LOCK = threading.Lock()
_STDERR_LOCK = threading.RLock()
VERBOSE_ENV = "ECG_DIGITIZE_TF_VERBOSE"
# Start-up notices of TensorFlow / absl / oneDNN / CUDA stubs that say nothing to a user.
_STARTUP_NOISE = re.compile(
    r"All log messages before absl::InitializeLog|oneDNN custom operations are on"
    r"|cpu_feature_guard|This TensorFlow binary is optimized|To enable the following instructions"
    r"|Unable to register cu(DNN|FFT|BLAS) factory|computation placer already registered"
    r"|failed call to cuInit|Could not find cuda drivers|TF-TRT Warning|to read NUMA node"
    r"|rebuild TensorFlow with the appropriate"
    r"|Created TensorFlow Lite XNNPACK delegate")


def keras_setup(threads: int | None = None, seed: int | None = None):
    """Import and return ``keras`` with quiet logs and a bounded number of CPU threads.

    ``threads`` defaults to ``$ECG_CLASSIFY_THREADS`` or 2 (the project's CI has two cores
    shared with other jobs; TensorFlow would otherwise spawn one thread per core twice over).
    """
    global _CONFIGURED
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    with _IMPORT_LOCK:  # one thread at a time redirects the process's stderr
        if "keras" not in sys.modules or "tensorflow" not in sys.modules:
            _import_quietly()
    import keras

    if not _CONFIGURED:
        threads = threads or int(os.environ.get("ECG_CLASSIFY_THREADS", "2"))
        try:
            import tensorflow as tf

            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except (ImportError, RuntimeError):  # already initialised: keep its settings
            pass
        _CONFIGURED = True
    if seed is not None:
        keras.utils.set_random_seed(seed)
    return keras


def _import_quietly() -> None:
    """Import TensorFlow and Keras, dropping only their known start-up notices from stderr."""
    with quiet_stderr():
        import tensorflow  # noqa: F401
        import keras  # noqa: F401


@contextlib.contextmanager
def quiet_stderr():
    """Capture the process's stderr (C++ writes included) and pass on all but known notices.

    Used around TensorFlow's import and TensorFlow Lite's interpreter start (its "Created
    TensorFlow Lite XNNPACK delegate for CPU"). ``ECG_DIGITIZE_TF_VERBOSE=1`` turns it off.
    One thread at a time: a second thread waits rather than swapping the stream under it.
    """
    if os.environ.get(VERBOSE_ENV, "") not in ("", "0"):
        yield
        return
    fd = 2  # where C++ libraries write, whatever Python's sys.stderr is
    with _STDERR_LOCK, tempfile.TemporaryFile() as captured:
        _flush()
        saved = os.dup(fd)
        os.dup2(captured.fileno(), fd)
        try:
            yield
        finally:
            _flush()
            os.dup2(saved, fd)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", errors="replace")
            kept = [line for line in text.splitlines()
                    if line.strip() and not _STARTUP_NOISE.search(line)]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")


def _flush() -> None:
    try:
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass


# One inference function per model, traced once for any batch size, instead of Keras'
# ``predict``, which retraces for every new input shape and warns about it after a few records.
_INFER: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def predict(model, inputs, batch_size: int = 1024):
    """``model``'s output for ``inputs`` (an array or a list of arrays), in inference mode.

    Use this instead of ``model.predict`` where a model is called once per record: the
    records' different numbers of beats or windows would make Keras trace a new graph for
    each (slow, and TensorFlow's "triggered tf.function retracing" warning).

    Parameters
    ----------
    model : keras.Model
    inputs : ndarray or list of ndarray
        One array per model input, all with the same first (batch) dimension.
    batch_size : int
        Rows per call (bounds memory).

    Returns
    -------
    ndarray
    """
    import numpy as np
    import tensorflow as tf

    multi = isinstance(inputs, (list, tuple))
    fn = _INFER.get(model)
    if fn is None:
        fn = _INFER[model] = _inference_function(model, multi)
    arrays = [np.asarray(a, dtype=np.float32) for a in (inputs if multi else [inputs])]
    n = len(arrays[0])
    out = []
    for start in range(0, n, batch_size):
        chunk = [tf.constant(a[start:start + batch_size]) for a in arrays]
        out.append(np.asarray(fn(chunk if multi else chunk[0])))
    if not out:
        return np.asarray(model(arrays if multi else arrays[0], training=False))
    return np.concatenate(out)


def _inference_function(model, multi: bool):
    """A ``tf.function`` of ``model`` in inference mode whose signature leaves the batch free."""
    import tensorflow as tf

    specs = [tf.TensorSpec((None,) + tuple(t.shape[1:]), tf.float32) for t in model.inputs]
    if multi:
        return tf.function(lambda x: model(x, training=False), input_signature=[specs])
    return tf.function(lambda x: model(x, training=False), input_signature=specs[:1])


# ---------------------------------------------------------------- training


def class_weights(labels: np.ndarray, n_classes: int, power: float = 0.5,
                  cap: float = 20.0) -> np.ndarray:
    """Per-class weights ``(n / (k * n_c)) ** power``, capped, for imbalanced classes.

    ``power=1`` is full inverse frequency, ``0`` no weighting. The cap keeps a class with
    a handful of examples (MIT-BIH Q in DS1: 8 beats) from dominating the loss.
    """
    counts = np.bincount(labels, minlength=n_classes).astype(float)
    w = (labels.size / (n_classes * np.maximum(counts, 1.0))) ** power
    w[counts == 0] = 0.0
    return np.minimum(w, cap)


def make_sequence(inputs: Sequence[np.ndarray], y: np.ndarray, batch_size: int,
                  weights: np.ndarray | None = None, augment: Callable | None = None,
                  shuffle: bool = True, seed: int = 0):
    """A ``keras.utils.PyDataset`` over numpy arrays with optional augmentation.

    ``augment(inputs_batch, rng) -> inputs_batch`` receives and returns a list of arrays.
    """
    import keras

    class _Seq(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.order = np.arange(y.shape[0])
            self.on_epoch_end()

        def __len__(self):
            return int(np.ceil(y.shape[0] / batch_size))

        def on_epoch_end(self):
            if shuffle:
                self.rng.shuffle(self.order)

        def __getitem__(self, i):
            idx = np.sort(self.order[i * batch_size:(i + 1) * batch_size])
            xb = [np.asarray(a[idx]) for a in inputs]
            if augment is not None:
                xb = augment(xb, self.rng)
            xb = tuple(xb) if len(xb) > 1 else xb[0]
            if weights is None:
                return xb, y[idx]
            return xb, y[idx], weights[idx].astype("float32")

    return _Seq()


def fit_model(model, train_inputs: Sequence[np.ndarray], train_y: np.ndarray,
              val_inputs: Sequence[np.ndarray] | None = None, val_y: np.ndarray | None = None,
              *, epochs: int = 10, batch_size: int = 128, lr: float = 1e-3,
              loss: str = "sparse_categorical_crossentropy", train_weights=None,
              val_weights=None, augment: Callable | None = None, patience: int = 4,
              seed: int = 0, verbose: int = 2, time_limit_s: float | None = None):
    """Compile and fit ``model``; keep the weights of the epoch with the lowest validation loss.

    Parameters
    ----------
    model : keras.Model
        An uncompiled (or compiled) model.
    train_inputs, val_inputs : list of ndarray
        One array per model input.
    train_y, val_y : ndarray
        Integer labels (or 0/1 floats for a sigmoid output with ``loss="binary_crossentropy"``).
    epochs, batch_size, lr : int, int, float
        Adam with cosine decay from ``lr`` over all steps.
    train_weights, val_weights : ndarray, optional
        Per-example loss weights (class weighting).
    augment : callable, optional
        See :func:`make_sequence`.
    patience : int
        Epochs without validation improvement before stopping.
    time_limit_s : float, optional
        Stop after the epoch that crosses this wall-clock budget.

    Returns
    -------
    dict
        The Keras history plus ``seconds`` and ``best_epoch``.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.keras_utils import fit_model
    >>> from classifiers.models import build_kachuee
    >>> x = np.random.randn(64, 187, 1).astype("float32"); y = np.arange(64) % 2
    >>> hist = fit_model(build_kachuee(2, rr_features=False), [x], y, epochs=1, verbose=0)  # doctest: +SKIP
    """
    import keras

    train = make_sequence(train_inputs, train_y, batch_size, train_weights, augment, True, seed)
    steps = len(train) * epochs
    sched = keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(steps, 1), alpha=0.05)
    metrics = ["accuracy"] if "categorical" in loss else [keras.metrics.AUC(name="auc")]
    model.compile(optimizer=keras.optimizers.Adam(sched), loss=loss, metrics=metrics)
    callbacks = []
    validation = None
    if val_inputs is not None:
        vx = tuple(val_inputs) if len(val_inputs) > 1 else val_inputs[0]
        validation = (vx, val_y) if val_weights is None else (vx, val_y, val_weights)
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=patience, restore_best_weights=True))
    if time_limit_s is not None:
        callbacks.append(_TimeLimit(time_limit_s))
    t0 = time.time()
    hist = model.fit(train, validation_data=validation, epochs=epochs, callbacks=callbacks,
                     verbose=verbose)
    out = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    out["seconds"] = time.time() - t0
    if "val_loss" in out:
        out["best_epoch"] = int(np.argmin(out["val_loss"])) + 1
    return out


def _time_limit_callback_base():
    import keras

    return keras.callbacks.Callback


class _TimeLimit:  # replaced by a real Callback subclass on first use (keras is lazy)
    def __new__(cls, seconds: float):
        base = _time_limit_callback_base()

        class TimeLimit(base):
            def on_train_begin(self, logs=None):
                self.t0 = time.time()

            def on_epoch_end(self, epoch, logs=None):
                if time.time() - self.t0 > seconds:
                    print(f"time limit of {seconds:.0f} s reached after epoch {epoch + 1}")
                    self.model.stop_training = True

        return TimeLimit()
