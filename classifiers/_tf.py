"""Lazy Keras import with sensible CPU settings (imported only where a model is needed).

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
import weakref

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
