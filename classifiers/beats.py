"""Beat classification: AAMI EC57 classes N/S/V/F/Q per heartbeat."""
from __future__ import annotations

import numpy as np

from ._input import select_lead
from ._preprocess import prepare_beats


def classify_beats(signal, fs: float | None = None, r_peaks=None, *,
                   model: str = "mitbih-aami5") -> "pandas.DataFrame":
    """Classify every heartbeat of a single-lead ECG into the AAMI classes N, S, V, F, Q.

    The signal is band-passed (0.5-40 Hz), resampled to 125 Hz, cut into 1.5 s beats
    around the R peaks and classified with the Kachuee et al. 2018 residual CNN, which
    also sees each beat's RR intervals relative to its neighbours.

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
    (DS1). On the unseen DS2 patients it finds V beats well, S beats less reliably; see
    ``pretrained/mitbih-aami5.md``. A 2D array with 12 columns is read as the standard
    12-lead order (column 1 = II); other 2D arrays use their first column.

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
        probs = net.predict([beats[:, :, None], rr], batch_size=1024, verbose=0)
        df = pd.DataFrame(probs, columns=cols[3:])
        df.insert(0, "label", [classes[i] for i in probs.argmax(1)])
        df.insert(0, "time", (peaks + offset) / fs)
        df.insert(0, "r_peak", peaks + offset)
    df.attrs.update({"lead": lead, "fs": fs, "model": model, "warnings": warnings})
    return df
