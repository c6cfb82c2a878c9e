"""Myocardial infarction detection: the Kachuee beat network transferred to PTB-XL."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._input import record_matrix, select_lead
from ._mi_measurements import measurements, median_beat
from ._preprocess import BEAT_FS, BEAT_LEN, BEAT_PRE, bandpass, beat_windows, find_r_peaks, \
    prepare_beats, resample
from ecg_digitize.keras_utils import predict

# The measurements' logit and the beat network's count equally in a model that has both
# (fixed, not tuned: fold 9, the validation fold, only chose the regression's strength).
MEASURES_WEIGHT = 0.5


@dataclass
class MIResult:
    """Outcome of :func:`detect_mi`."""

    probability: float                # record probability of MI (beats combined)
    label: str                        # "MI" or "not MI"
    threshold: float
    n_beats: int
    leads: list[str]
    warnings: list[str] = field(default_factory=list)

    @property
    def is_mi(self) -> bool:
        return self.label == "MI"


def detect_mi(signal, fs: float | None = None, leads=None, *, model: str = "ptbxl-mi",
              threshold: float | None = None) -> MIResult:
    """Estimate whether an ECG shows myocardial infarction (acute or old, PTB-XL "MI").

    Beats are cut around R peaks and scored by the frozen convolutional trunk of the
    MIT-BIH beat network with a head trained on PTB-XL; the record's probability combines
    its beats as the model says (``mean_logit`` for the shipped linear head). A model with
    a ``measurements`` block (the shipped one) also reads the classical signs of MI on
    each lead's median beat (Q, R, S, ST, T in mV) and averages both log-odds.

    Parameters
    ----------
    signal : array-like or ecg_digitize.Record
        Samples x leads in mV (or one lead), or a Record.
    fs : float
        Sampling rate in Hz (taken from the Record when omitted).
    leads : list of str, optional
        Names of the columns of a 2D array; a 12-column array defaults to the standard
        order I, II, III, aVR, aVL, aVF, V1-V6.
    model : str
        A pretrained MI model name or ``.keras`` path.
    threshold : float, optional
        Decision threshold (default: the one stored with the model, 0.5).

    Returns
    -------
    MIResult
        ``probability``, ``label`` ("MI" / "not MI"), beats and leads used.

    Notes
    -----
    Trained on 353 records (49 with MI) of a 500-record PTB-XL subset: a small data
    set (fold-10 AUC 0.81, see the model card), not a diagnosis. A 12-lead model uses, for leads that
    were not plotted at a beat (a 3x4 page plots each lead for 2.5 s), the median of that
    lead's plotted beats.

    Examples
    --------
    >>> import neurokit2 as nk
    >>> import classifiers
    >>> ecg = nk.ecg_simulate(duration=10, sampling_rate=500, method="multileads", random_state=3)
    >>> res = classifiers.detect_mi(ecg.to_numpy(), fs=500)  # doctest: +SKIP
    >>> 0 <= res.probability <= 1  # doctest: +SKIP
    True
    """
    from ._models import load_model

    net = load_model(model)
    info = net.ecg_info
    thr = float(info.get("threshold", 0.5) if threshold is None else threshold)
    warnings: list[str] = []
    one_lead = int(info.get("n_leads", 1)) == 1
    if one_lead:
        x, fs, _, lead, warnings = select_lead(signal, fs)
        beats, _, _ = prepare_beats(x, fs)
        inputs, used = beats[:, :, None], [lead]
    else:
        filt, fs, peaks, present, warnings = _model_leads(signal, fs, leads, info["leads"])
        inputs, used = _twelve_lead_beats(filt, fs, peaks, info["leads"], present, warnings)
    if len(inputs) == 0:
        return MIResult(float("nan"), "unknown", thr, 0, used, warnings + ["no beats found"])
    beat_probs = predict(net, inputs, batch_size=512)[:, 0]
    how = info.get("aggregation", "mean")
    prob = float(record_probabilities(beat_probs, np.zeros(len(beat_probs), int), 1, how)[0])
    if "measurements" in info and not one_lead:
        measured = measurements(median_beat(filt, fs, peaks), fs).ravel()
        prob = float(_sigmoid(fused_logit(_logit(np.array([prob])), measured[None, :],
                                          info["measurements"]))[0])
    return MIResult(prob, "MI" if prob >= thr else "not MI", thr, len(inputs), used, warnings)


def transfer_logits(net, beats: np.ndarray, beat_record: np.ndarray, n_records: int) -> np.ndarray:
    """Each record's log-odds of MI from the beat network ``net`` alone (NaN without beats):
    ``beats`` ``(n_beats, 12, 187)`` as :func:`classifiers.datasets.ptbxl.load_ptbxl_beats`
    gives them."""
    info = net.ecg_info
    x = beats[:, 1, :, None] if int(info.get("n_leads", 1)) == 1 else beats[..., None]
    probs = predict(net, x, batch_size=1024)[:, 0]
    return _logit(record_probabilities(probs, beat_record, n_records, info.get("aggregation", "mean")))


def fused_logit(transfer: np.ndarray, measured: np.ndarray, block: dict) -> np.ndarray:
    """Log-odds of MI from the beat network's record logits (``transfer``) and the
    records' MI measurements (``measured``, rows of 72; NaN where a lead is missing,
    which counts as the training mean), as the model's ``measurements`` block says."""
    z = np.nan_to_num((np.asarray(measured, float) - block["mean"]) / np.asarray(block["scale"]))
    own = z @ np.asarray(block["coef"]) + block["intercept"]
    w = block["weight"]
    fused = w * (own - block["measures_mean"]) / block["measures_std"] + \
        (1 - w) * (np.asarray(transfer, float) - block["transfer_mean"]) / block["transfer_std"]
    a, b = block["platt"]
    return a * fused + b


def _logit(p):
    """Log-odds of probabilities ``p`` (clipped off 0 and 1)."""
    p = np.clip(np.asarray(p, float), 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def _sigmoid(v):
    """Probabilities of log-odds ``v`` (the inverse of :func:`_logit`)."""
    return 1 / (1 + np.exp(-np.asarray(v, float)))


def per_record_mean(values: np.ndarray, beat_record: np.ndarray, n_records: int) -> np.ndarray:
    """Mean of per-beat values (rows) per record; NaN for a record without beats."""
    values = np.asarray(values, float)
    sums = np.zeros((n_records,) + values.shape[1:])
    np.add.at(sums, beat_record, values)
    counts = np.bincount(beat_record, minlength=n_records).reshape((-1,) + (1,) * (values.ndim - 1))
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def record_probabilities(beat_probs: np.ndarray, beat_record: np.ndarray, n_records: int,
                         how: str = "mean") -> np.ndarray:
    """Combine beat probabilities into one per record (NaN for a record without beats).

    ``how="mean"`` averages probabilities; ``"mean_logit"`` averages log-odds, which for a
    linear head equals scoring the record's mean beat embedding.
    """
    if how not in ("mean", "mean_logit"):
        raise ValueError(f"unknown aggregation {how!r}")
    p = np.clip(np.asarray(beat_probs, float), 1e-7, 1 - 1e-7)
    v = _logit(p) if how == "mean_logit" else p
    out = per_record_mean(v, beat_record, n_records)
    return _sigmoid(out) if how == "mean_logit" else out


def _model_leads(signal, fs, leads, model_leads):
    """The signal's leads in the model's order, band-passed (NaN where a lead is absent or
    not plotted), the rate, lead II's R peaks, which leads are present, and warnings."""
    x, fs, names = record_matrix(signal, fs, leads)
    upper = [n.upper() for n in names]
    warnings = []
    missing = [lead for lead in model_leads if lead.upper() not in upper]
    if missing:
        warnings.append(f"leads {missing} absent: filled with zeros")
    # R peaks from lead II's longest plotted stretch (the rhythm strip on a 3x4+II page)
    ii, _, offset, _, _ = select_lead(
        x[:, upper.index("II")] if "II" in upper else x[:, 0], fs)
    peaks = find_r_peaks(bandpass(ii, fs), fs) + offset
    present = [lead.upper() in upper for lead in model_leads]
    ordered = np.full((x.shape[0], len(model_leads)), np.nan)
    for j, lead in enumerate(model_leads):
        if present[j]:
            ordered[:, j] = x[:, upper.index(lead.upper())]
    return bandpass(ordered, fs), fs, peaks, present, warnings


def _twelve_lead_beats(filt, fs, peaks, model_leads, present, warnings):
    """``(n_beats, 12, 187, 1)`` beats of the band-passed leads ``filt`` at the R ``peaks``
    (unplotted lead-beats filled), and the leads; notes go to ``warnings``."""
    r125 = np.round(peaks * BEAT_FS / fs).astype(int)
    out = np.zeros((peaks.size, len(model_leads), BEAT_LEN), dtype=np.float32)
    filled: list[str] = []
    for j, lead in enumerate(model_leads):
        if not present[j]:
            continue
        finite = np.isfinite(filt[:, j])
        if finite.sum() < fs:
            warnings.append(f"lead {lead} has under 1 s plotted: filled with zeros")
            continue
        x125 = resample(np.nan_to_num(filt[:, j]), fs, BEAT_FS)
        m125 = resample(finite.astype(float), fs, BEAT_FS) > 0.5
        cover = np.array([m125[max(p - BEAT_PRE, 0):p - BEAT_PRE + BEAT_LEN].mean()
                          if 0 <= p < m125.size else 0.0 for p in r125])
        ok = cover >= 0.9
        if not ok.any():
            warnings.append(f"lead {lead}: no beat fully plotted; filled with zeros")
            continue
        out[ok, j] = beat_windows(x125, r125[ok])
        if not ok.all():
            out[~ok, j] = np.median(out[ok, j], axis=0)  # this lead's median plotted beat
            filled.append(lead)
    if filled:
        warnings.append(f"leads {' '.join(filled)} not plotted at every beat: their median "
                        "plotted beat stands in")
    return out[..., None], list(model_leads)
