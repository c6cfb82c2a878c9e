"""Lazy Keras import with sensible CPU settings (imported only where a model is needed)."""
from __future__ import annotations

import os

_CONFIGURED = False


def keras_setup(threads: int | None = None, seed: int | None = None):
    """Import and return ``keras`` with quiet logs and a bounded number of CPU threads.

    ``threads`` defaults to ``$ECG_CLASSIFY_THREADS`` or 2 (the project's CI has two cores
    shared with other jobs; TensorFlow would otherwise spawn one thread per core twice over).
    """
    global _CONFIGURED
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
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
