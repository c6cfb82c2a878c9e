"""Kachuee et al. 2018 residual CNN for single beats (125 Hz, 187 samples).

Kachuee, Fazeli, Sarrafzadeh, "ECG Heartbeat Classification: A Deep Transferable
Representation", IEEE ICHI 2018: a 32-filter convolution, five residual blocks (two
convolutions, skip, ReLU, max-pool 5 stride 2), then two 32-unit dense layers.
Our one addition: five RR-interval features enter beside the flattened convolutional
features, because beat shape alone cannot tell a premature atrial beat from a normal
one in an unseen patient.
"""
from __future__ import annotations

from .._preprocess import BEAT_LEN, N_RR_FEATURES

TRUNK_OUTPUT = "trunk_flatten"   # name of the layer the MI transfer reuses


def build_kachuee(n_classes: int = 5, rr_features: bool = True, dropout: float = 0.1,
                  rr_mean=None, rr_var=None, trunk_dropout: float = 0.0,
                  template: bool = False):
    """Build the beat classifier.

    Parameters
    ----------
    n_classes : int
        Softmax outputs (5 for AAMI N/S/V/F/Q).
    rr_features : bool
        Add the RR-feature input (``inputs=[beat, rr]``); otherwise the original
        single-input network.
    dropout : float
        Dropout before the dense head.
    rr_mean, rr_var : array-like, optional
        Training mean and variance of the RR features (a built-in Normalization layer).
    trunk_dropout : float
        Extra dropout on the convolutional features only (not the RR features), so the
        head cannot lean on the shape of one training patient's beats alone.
    template : bool
        A second input channel with the patient's usual beat
        (:func:`classifiers._preprocess.beat_templates`), so the network can compare.

    Returns
    -------
    keras.Model

    Examples
    --------
    >>> from classifiers.models import build_kachuee
    >>> model = build_kachuee()  # doctest: +SKIP
    >>> model.output_shape  # doctest: +SKIP
    (None, 5)
    """
    import keras
    from keras import layers

    beat = keras.Input((BEAT_LEN, 2 if template else 1), name="beat")
    x = layers.Conv1D(32, 5, padding="same", name="trunk_conv0")(beat)
    for i in range(5):
        y = layers.Conv1D(32, 5, padding="same", activation="relu", name=f"trunk_b{i}_conv1")(x)
        y = layers.Conv1D(32, 5, padding="same", name=f"trunk_b{i}_conv2")(y)
        x = layers.Add(name=f"trunk_b{i}_add")([x, y])
        x = layers.ReLU(name=f"trunk_b{i}_relu")(x)
        x = layers.MaxPooling1D(5, strides=2, name=f"trunk_b{i}_pool")(x)
    x = layers.Flatten(name=TRUNK_OUTPUT)(x)
    if trunk_dropout:
        x = layers.Dropout(trunk_dropout, name="trunk_dropout")(x)
    inputs = [beat]
    if rr_features:
        rr = keras.Input((N_RR_FEATURES,), name="rr")
        norm = layers.Normalization(name="rr_norm", mean=rr_mean, variance=rr_var) \
            if rr_mean is not None else layers.Normalization(name="rr_norm")
        x = layers.Concatenate(name="concat_rr")([x, norm(rr)])
        inputs.append(rr)
    x = layers.Dropout(dropout, name="head_dropout")(x)
    x = layers.Dense(32, activation="relu", name="head_dense1")(x)
    x = layers.Dense(32, activation="relu", name="head_dense2")(x)
    out = layers.Dense(n_classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs if len(inputs) > 1 else beat, out, name="kachuee2018")
