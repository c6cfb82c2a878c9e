"""Transfer of the Kachuee beat network to myocardial infarction (Kachuee et al. 2018, sec. IV).

The convolutional trunk of ``mitbih-aami5`` is reused frozen; a new dense head learns
MI vs not-MI from beats. Two variants: lead II beats alone, or the same beat taken in
all 12 leads, each lead through the shared trunk, embeddings concatenated.
"""
from __future__ import annotations

from .._preprocess import BEAT_LEN
from .kachuee import TRUNK_OUTPUT


def build_mi_head(beat_model, n_leads: int = 1, dropout: float = 0.3, units: int = 32,
                  feature_mean=None, feature_var=None, l2: float = 0.0):
    """Build an MI detector on the frozen trunk of a trained beat model.

    Parameters
    ----------
    beat_model : keras.Model
        A trained :func:`build_kachuee` model (``mitbih-aami5``).
    n_leads : int
        1: input ``(187, 1)`` lead II beats; 12: input ``(12, 187, 1)``, one beat in every lead.
    dropout : float
        Dropout before the new dense layer.
    units : int
        Width of the new dense layer; 0 gives a linear (logistic) head, whose beat logits
        can be averaged over a record exactly like its mean embedding.
    feature_mean, feature_var : array-like, optional
        Training statistics of the trunk features (a built-in Normalization layer).
    l2 : float
        L2 penalty on the head's weights (small data sets).

    Returns
    -------
    keras.Model
        Sigmoid output: the probability of MI for the beat.

    Examples
    --------
    >>> from classifiers import load_model
    >>> from classifiers.models import build_mi_head
    >>> mi = build_mi_head(load_model("mitbih-aami5"))  # doctest: +SKIP
    """
    import keras
    from keras import layers

    trunk = keras.Model(beat_model.inputs[0],
                        beat_model.get_layer(TRUNK_OUTPUT).output, name="kachuee_trunk")
    trunk.trainable = False
    if n_leads == 1:
        inp = keras.Input((BEAT_LEN, 1), name="beat")
        x = trunk(inp, training=False)
    else:
        inp = keras.Input((n_leads, BEAT_LEN, 1), name="beats12")
        x = layers.TimeDistributed(trunk, name="per_lead_trunk")(inp, training=False)
        x = layers.Flatten(name="leads_flatten")(x)
    if feature_mean is not None:
        x = layers.Normalization(mean=feature_mean, variance=feature_var, name="mi_norm")(x)
    x = layers.Dropout(dropout, name="mi_dropout")(x)
    reg = keras.regularizers.L2(l2) if l2 else None
    if units:
        x = layers.Dense(units, activation="relu", kernel_regularizer=reg, name="mi_dense")(x)
    out = layers.Dense(1, activation="sigmoid", kernel_regularizer=reg, name="mi_prob")(x)
    return keras.Model(inp, out, name=f"mi_transfer_{n_leads}lead")
