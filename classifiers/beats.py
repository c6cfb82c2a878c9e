"""Beat classification: AAMI EC57 classes N/S/V/F/Q per heartbeat."""
from __future__ import annotations

import numpy as np

from ._input import select_lead
from ._preprocess import RR_PRE_OVER_LOCAL, beat_templates, prematurity, prepare_beats
from ecg_digitize.keras_utils import predict
from .datasets.mitdb import AAMI_CLASSES

S_CLASS = AAMI_CLASSES.index("S")


def beat_model_inputs(info: dict, beats: np.ndarray, rr: np.ndarray,
                      groups: np.ndarray | None = None) -> list:
    """The input arrays a beat model's card (``ecg_info``) asks for.

    ``"beat+template"`` models get each beat beside the patient's usual beat
    (:func:`~classifiers._preprocess.beat_templates`, per ``groups`` recording).
    """
    x = beats[:, :, None].astype("float32")
    if "beat+template" in info.get("inputs", ()):
        x = np.concatenate([x, beat_templates(beats, groups)[:, :, None]], axis=2)
    return [x, rr.astype("float32")]


def beat_labels(probs: np.ndarray, rr: np.ndarray, info: dict,
                premature: np.ndarray | None = None) -> np.ndarray:
    """Class index per beat: the most probable class, then the prematurity rule.

    AAMI's S class is the supraventricular *premature* beat. Networks trained on DS1
    learn little of it across patients (two fifths of the DS1 S beats come from one
    record, 209), so when the model card sets ``s_prematurity`` (chosen on DS1 only, see
    the card) prematurity decides S: a beat the network calls N or S is S when its pre-RR
    is below ``s_prematurity`` times the mean RR interval around it, and a beat the
    network calls S that is not premature gets the network's next most probable class.
    ``premature`` is :func:`~classifiers._preprocess.prematurity` over the model's
    ``s_prematurity_context`` intervals; without it, the network's own RR feature (10
    intervals each side) is used.

    Examples
    --------
    >>> import numpy as np
    >>> from classifiers.beats import beat_labels
    >>> probs = np.array([[0.9, 0.1, 0, 0, 0],    # N, early
    ...                   [0.3, 0.6, 0.1, 0, 0],  # S, on time
    ...                   [0.1, 0.1, 0.8, 0, 0]]) # V, early
    >>> beat_labels(probs, np.zeros((3, 5)), {"s_prematurity": 0.8}, np.array([0.6, 1.0, 0.6])).tolist()
    [1, 0, 2]
    """
    label = probs.argmax(1)
    threshold = info.get("s_prematurity")
    if threshold:
        ratio = rr[:, RR_PRE_OVER_LOCAL] if premature is None else premature
        supraventricular = label <= S_CLASS                      # N or S
        not_s = np.where(np.arange(probs.shape[1]) == S_CLASS, -np.inf, probs).argmax(1)
        label = np.where(supraventricular, np.where(ratio < threshold, S_CLASS, not_s), label)
    return label


def rule_prematurity(info: dict, r_peaks: np.ndarray, fs: float,
                     groups: np.ndarray | None = None) -> np.ndarray | None:
    """The prematurity the model's S rule reads (``None`` when the model has no rule
    context, so :func:`beat_labels` falls back to the network's RR feature)."""
    context = info.get("s_prematurity_context")
    if not info.get("s_prematurity") or not context:
        return None
    return prematurity(r_peaks, fs, int(context), groups)


def classify_beats(signal, fs: float | None = None, r_peaks=None, *,
                   model: str = "mitbih-aami5") -> "pandas.DataFrame":
    """Classify every heartbeat of a single-lead ECG into the AAMI classes N, S, V, F, Q.

    The signal is band-passed (0.5-40 Hz), resampled to 125 Hz, cut into 1.5 s beats
    around the R peaks and classified with the Kachuee et al. 2018 residual CNN, which
    also sees each beat's RR intervals relative to its neighbours and the patient's
    usual beat; S, the premature supraventricular beat, is decided by prematurity
    (:func:`beat_labels`).

    Parameters
    ----------
    signal : array-like or ecg_digitize.Record
        A single lead in mV (a 1D array; for a 2D array see Notes), or a Record, from
        which lead II is used (or the lead with the most plotted samples when II is
        short), NaN parts removed.
    fs : float
        Sampling rate in Hz (taken from the Record when omitted).
    r_peaks : array-like of int, optional
        R-peak sample indices in ``signal``; detected with neurokit2 when omitted.
    model : str
        A pretrained beat model name or ``.keras`` path.

    Returns
    -------
    pandas.DataFrame
        One row per beat: ``r_peak`` (sample in the input), ``time`` (s), ``label``
        (N/S/V/F/Q) and ``prob_N`` ... ``prob_Q``. ``df.attrs`` holds the lead used and
        any warnings.

    Notes
    -----
    The model was trained on MIT-BIH lead MLII (a lead II analogue) from 22 patients
    (DS1). On the unseen DS2 patients: V Se 94 % / +P 89 %, S Se 85 % / +P 41 % (early
    sinus beats are called S too); see ``pretrained/mitbih-aami5.md``. The ``prob_*``
    columns are the network's, before the prematurity rule that may turn N into S.
    A 2D array with 12 columns is read as the standard 12-lead order (column 1 = II);
    other 2D arrays use their first column.

    Examples
    --------
    >>> import neurokit2 as nk
    >>> import classifiers
    >>> ecg = nk.ecg_simulate(duration=20, sampling_rate=360, heart_rate=70, random_state=1)
    >>> beats = classifiers.classify_beats(ecg, fs=360)  # doctest: +SKIP
    >>> beats.label.value_counts().idxmax()  # doctest: +SKIP
    'N'
    """
    import pandas as pd

    from ._models import load_model

    net = load_model(model)
    classes = net.ecg_info.get("classes", ["N", "S", "V", "F", "Q"])
    x, fs, offset, lead, warnings = select_lead(signal, fs)
    if r_peaks is not None:
        r = np.asarray(r_peaks, dtype=int) - offset
        r = r[(r >= 0) & (r < x.size)]
    else:
        r = None
    beats, rr, peaks = prepare_beats(x, fs, r)
    cols = ["r_peak", "time", "label"] + [f"prob_{c}" for c in classes]
    if peaks.size == 0:
        df = pd.DataFrame(columns=cols)
        warnings.append("no beats found")
    else:
        probs = predict(net, beat_model_inputs(net.ecg_info, beats, rr), batch_size=1024)
        df = pd.DataFrame(probs, columns=cols[3:])
        premature = rule_prematurity(net.ecg_info, peaks, fs)
        df.insert(0, "label", [classes[i] for i in beat_labels(probs, rr, net.ecg_info, premature)])
        df.insert(0, "time", (peaks + offset) / fs)
        df.insert(0, "r_peak", peaks + offset)
    df.attrs.update({"lead": lead, "fs": fs, "model": model, "warnings": warnings})
    return df
