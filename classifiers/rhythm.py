"""Rhythm classification: normal (N), atrial fibrillation (A), other (O), noisy (~)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._input import select_lead
from ._preprocess import RHYTHM_FS, hrv_features, prepare_rhythm_signal, rhythm_windows
from ecg_digitize.keras_utils import predict

RHYTHM_NAMES = {"N": "normal sinus rhythm", "A": "atrial fibrillation", "O": "other rhythm",
                "~": "too noisy to classify"}


@dataclass
class RhythmResult:
    """Outcome of :func:`classify_rhythm`."""

    label: str                         # N, A, O or ~
    probabilities: dict[str, float]
    duration_s: float                  # seconds of signal that were classified
    n_windows: int                     # 30 s windows averaged
    lead: str
    warnings: list[str] = field(default_factory=list)

    @property
    def description(self) -> str:
        return RHYTHM_NAMES.get(self.label, self.label)

    @property
    def is_af(self) -> bool:
        return self.label == "A"


def predict_rhythm_probs(net, x100: np.ndarray, hrv: np.ndarray | None = None
                         ) -> tuple[np.ndarray, int]:
    """Mean class probabilities over 30 s windows (half-overlapping) of a prepared signal.

    ``hrv``: the signal's :func:`hrv_features` when already computed (R-peak detection is
    the slow part of a prediction).
    """
    wins = rhythm_windows(x100)
    hrv = hrv_features(x100) if hrv is None else hrv
    hrv = np.repeat(np.asarray(hrv)[None], len(wins), axis=0)
    probs = predict(net, [wins[:, :, None], hrv], batch_size=64)
    return probs.mean(0), len(wins)


def classify_rhythm(signal, fs: float | None = None, *, model: str = "cinc2017-af") -> RhythmResult:
    """Classify the rhythm of a single-lead ECG as in the PhysioNet/CinC Challenge 2017.

    Parameters
    ----------
    signal : array-like or ecg_digitize.Record
        A single lead in mV, or a Record (lead II or the longest plotted strip).
    fs : float
        Sampling rate in Hz (taken from the Record when omitted).
    model : str
        A pretrained rhythm model name or ``.keras`` path.

    Returns
    -------
    RhythmResult
        ``label`` in N/A/O/~ and the four class ``probabilities``.

    Notes
    -----
    Trained on 9-61 s AliveCor recordings (lead I-like). Recordings longer than 30 s are
    classified in half-overlapping 30 s windows and the probabilities averaged; shorter
    ones are zero-padded (as a quarter of the training crops were). Below 9 s (the
    shortest training recording) a warning is added.

    Examples
    --------
    >>> import neurokit2 as nk
    >>> import classifiers
    >>> ecg = nk.ecg_simulate(duration=30, sampling_rate=300, heart_rate=70, random_state=2)
    >>> classifiers.classify_rhythm(ecg, fs=300).label  # doctest: +SKIP
    'N'
    """
    from ._models import load_model

    net = load_model(model)
    classes = net.ecg_info.get("classes", ["N", "A", "O", "~"])
    x, fs, _, lead, warnings = select_lead(signal, fs)
    if x.size / fs < 9.0:
        warnings.append(f"only {x.size / fs:.1f} s of signal; the model was trained on 9-61 s")
    x100 = prepare_rhythm_signal(x, fs)
    probs, n_win = predict_rhythm_probs(net, x100)
    return RhythmResult(label=classes[int(np.argmax(probs))],
                        probabilities={c: float(p) for c, p in zip(classes, probs)},
                        duration_s=x100.size / RHYTHM_FS, n_windows=n_win, lead=lead,
                        warnings=warnings)
