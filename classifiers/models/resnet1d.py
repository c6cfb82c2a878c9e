"""A small Andreotti et al. 2017 style 1D ResNet for single-lead rhythm windows.

Andreotti, Carr, Pimentel, Mahdi, De Vos, "Comparing feature-based classifiers and
convolutional neural networks to detect arrhythmia from short segments of ECG",
CinC 2017, which adapted the 34-layer residual network of Hannun/Rajpurkar et al.
Ours keeps the design (pre-activation residual blocks, batch norm, stride-2
subsampling every other block, widths doubling) at a size that trains on two CPU cores:
8 blocks, 16-64 filters, 30 s windows at 100 Hz. Eight RR-irregularity features join the
pooled convolutional features before the softmax.
"""
from __future__ import annotations

from .._preprocess import N_HRV_FEATURES, RHYTHM_WIN


def build_resnet1d(n_classes: int = 4, width: int = 16, n_blocks: int = 8, kernel: int = 9,
                   hrv_features: bool = True, dropout: float = 0.3,
                   hrv_mean=None, hrv_var=None, window: int = RHYTHM_WIN):
    """Build the rhythm classifier.

    Parameters
    ----------
    n_classes : int
        Softmax outputs (4: N, A, O, ~).
    width : int
        Filters of the first stage; doubled every fourth block.
    n_blocks : int
        Residual blocks; every second one subsamples by 2.
    kernel : int
        Convolution kernel length in samples (90 ms at 100 Hz).
    hrv_features : bool
        Add the RR-irregularity input (``inputs=[ecg, hrv]``).
    dropout : float
        Dropout inside blocks and before the softmax.
    hrv_mean, hrv_var : array-like, optional
        Training mean and variance of the RR features.
    window : int
        Input length in samples.

    Returns
    -------
    keras.Model

    Examples
    --------
    >>> from classifiers.models import build_resnet1d
    >>> build_resnet1d(width=8, n_blocks=2).output_shape  # doctest: +SKIP
    (None, 4)
    """
    import keras
    from keras import layers

    ecg = keras.Input((window, 1), name="ecg")
    x = layers.Conv1D(width, 15, strides=2, padding="same", use_bias=False, name="stem_conv")(ecg)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    x = layers.MaxPooling1D(2, name="stem_pool")(x)
    filters = width
    for i in range(n_blocks):
        stride = 2 if i % 2 == 1 else 1
        if i > 0 and i % 4 == 0:
            filters *= 2
        shortcut = x
        y = layers.BatchNormalization(name=f"b{i}_bn1")(x)
        y = layers.ReLU(name=f"b{i}_relu1")(y)
        y = layers.Conv1D(filters, kernel, strides=stride, padding="same", use_bias=False,
                          name=f"b{i}_conv1")(y)
        y = layers.BatchNormalization(name=f"b{i}_bn2")(y)
        y = layers.ReLU(name=f"b{i}_relu2")(y)
        y = layers.Dropout(dropout / 2, name=f"b{i}_drop")(y)
        y = layers.Conv1D(filters, kernel, padding="same", use_bias=False, name=f"b{i}_conv2")(y)
        if stride > 1 or shortcut.shape[-1] != filters:
            shortcut = layers.Conv1D(filters, 1, strides=stride, padding="same", use_bias=False,
                                     name=f"b{i}_proj")(shortcut)
        x = layers.Add(name=f"b{i}_add")([shortcut, y])
    x = layers.BatchNormalization(name="final_bn")(x)
    x = layers.ReLU(name="final_relu")(x)
    x = layers.Concatenate(name="pool")([layers.GlobalAveragePooling1D(name="gap")(x),
                                         layers.GlobalMaxPooling1D(name="gmp")(x)])
    inputs = [ecg]
    if hrv_features:
        hrv = keras.Input((N_HRV_FEATURES,), name="hrv")
        norm = layers.Normalization(name="hrv_norm", mean=hrv_mean, variance=hrv_var) \
            if hrv_mean is not None else layers.Normalization(name="hrv_norm")
        h = layers.Dense(16, activation="relu", name="hrv_dense")(norm(hrv))
        x = layers.Concatenate(name="concat_hrv")([x, h])
        inputs.append(hrv)
    x = layers.Dropout(dropout, name="head_dropout")(x)
    x = layers.Dense(32, activation="relu", name="head_dense")(x)
    out = layers.Dense(n_classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs if len(inputs) > 1 else ecg, out, name="resnet1d_andreotti")
