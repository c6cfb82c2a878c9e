"""A small, reusable training loop: augmented batches, class weights, best-epoch restore."""
from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np


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
    >>> from classifiers._training import fit_model
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
