"""Scores for digitized signals.

* :func:`snr` - the PhysioNet/CinC Challenge 2024 digitization SNR of one lead: over the
  samples the truth plotted, after the best lag (|lag| <= 0.5 s) and vertical offset
  (|offset| <= 1 mV), multiplied by the fraction of those samples the estimate covers.
* :func:`score_record` - per-lead SNR, Pearson r and RMSE for a whole Record, a missing
  lead counted as 0 dB, and the mean over leads.
* :func:`score_records` - the mean over (record, lead) pairs for a data set.
* :func:`self_consistency` - a truth-free check for real pages: Einthoven (II = I + III)
  and Goldberger (aVR + aVL + aVF = 0) over samples where those leads share a window.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .record import Record

MAX_LAG_S = 0.5
MAX_OFFSET_MV = 1.0
# Identical signals would give infinite SNR; cap so that means stay finite.
SNR_CAP_DB = 100.0


@dataclass
class LeadScore:
    """One lead's score at its best alignment."""

    snr: float
    coverage: float
    lag: int = 0
    offset: float = 0.0
    pearson_r: float = float("nan")
    rmse: float = float("nan")


@dataclass
class RecordScore:
    """Per-lead scores and their means for one Record."""

    leads: dict[str, LeadScore] = field(default_factory=dict)

    @property
    def snr(self) -> float:
        """Mean SNR over the truth's plotted leads (missing leads count as 0 dB)."""
        return float(np.mean([s.snr for s in self.leads.values()])) if self.leads else float("nan")

    @property
    def pearson_r(self) -> float:
        return float(np.nanmean([s.pearson_r for s in self.leads.values()])) if self.leads else float("nan")

    @property
    def rmse(self) -> float:
        return float(np.nanmean([s.rmse for s in self.leads.values()])) if self.leads else float("nan")

    def table(self) -> str:
        """A plain-text table, one row per lead and a mean row."""
        rows = [f"{'lead':>5} {'SNR dB':>8} {'cover':>6} {'lag':>5} {'offset':>7} {'r':>6} {'RMSE':>7}"]
        for name, s in self.leads.items():
            rows.append(f"{name:>5} {s.snr:8.2f} {s.coverage:6.2f} {s.lag:5d} {s.offset:7.3f} "
                        f"{s.pearson_r:6.3f} {s.rmse:7.3f}")
        rows.append(f"{'mean':>5} {self.snr:8.2f} {'':>6} {'':>5} {'':>7} {self.pearson_r:6.3f} {self.rmse:7.3f}")
        return "\n".join(rows)


def _shift(x: np.ndarray, lag: int) -> np.ndarray:
    """Return ``y`` with ``y[n] = x[n + lag]`` (NaN where out of range)."""
    y = np.full_like(x, np.nan)
    if lag >= 0:
        y[: len(x) - lag] = x[lag:]
    else:
        y[-lag:] = x[: len(x) + lag]
    return y


def snr(estimate: np.ndarray, truth: np.ndarray, fs: float, *,
        max_lag_s: float = MAX_LAG_S, max_offset_mv: float = MAX_OFFSET_MV) -> LeadScore:
    """Challenge-2024 SNR of one lead, in dB, with the alignment it used.

    Parameters
    ----------
    estimate, truth : ndarray
        Same length, mV, NaN where not available (truth: where not plotted).
    fs : float
        Sampling frequency of both.

    Returns
    -------
    LeadScore
        ``snr`` is ``coverage * 10 log10(sum(truth^2) / sum(noise^2))`` at the best lag and
        offset, where ``coverage`` is the fraction of plotted truth samples the estimate has.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.metrics import snr
    >>> t = np.sin(np.linspace(0, 20, 1000))
    >>> round(snr(t + 0.01, t, fs=100).snr, 1)  # a constant offset is forgiven
    100.0
    """
    estimate = np.asarray(estimate, dtype=float)
    truth = np.asarray(truth, dtype=float)
    if estimate.shape != truth.shape:
        n = min(len(estimate), len(truth))
        pad = np.full(len(truth), np.nan)
        pad[:n] = estimate[:n]
        estimate = pad
    plotted = np.isfinite(truth)
    n_plotted = int(plotted.sum())
    if n_plotted == 0 or not np.isfinite(estimate).any():
        return LeadScore(snr=0.0, coverage=0.0)
    best = LeadScore(snr=-np.inf, coverage=0.0)
    max_lag = int(round(max_lag_s * fs))
    for lag in range(-max_lag, max_lag + 1):
        est = _shift(estimate, lag)
        both = plotted & np.isfinite(est)
        n_both = int(both.sum())
        if n_both < 2:
            continue
        t, e = truth[both], est[both]
        offset = float(np.clip(np.mean(t - e), -max_offset_mv, max_offset_mv))
        noise = t - e - offset
        p_signal, p_noise = float(np.sum(t**2)), float(np.sum(noise**2))
        raw = SNR_CAP_DB if p_noise <= p_signal * 10 ** (-SNR_CAP_DB / 10) else 10 * np.log10(p_signal / p_noise)
        coverage = n_both / n_plotted
        value = raw * coverage
        if value > best.snr:
            best = LeadScore(snr=float(value), coverage=coverage, lag=lag, offset=offset,
                             pearson_r=_pearson(t, e), rmse=float(np.sqrt(np.mean(noise**2))))
    if not np.isfinite(best.snr):
        return LeadScore(snr=0.0, coverage=0.0)
    return best


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def _aligned(estimate: Record, truth: Record) -> np.ndarray:
    """Resample the estimate to the truth's fs and length (linear, NaN kept as gaps)."""
    if estimate.fs == truth.fs and estimate.n_samples == truth.n_samples:
        return estimate.signal
    t_truth = truth.time
    out = np.full((truth.n_samples, len(estimate.leads)), np.nan)
    for i in range(len(estimate.leads)):
        x = estimate.signal[:, i]
        ok = np.isfinite(x)
        if ok.sum() < 2:
            continue
        values = np.interp(t_truth, estimate.time, np.where(ok, x, 0.0))
        # a truth time is covered when its nearest estimate sample is finite
        nearest = np.clip(np.round(t_truth * estimate.fs).astype(int), 0, estimate.n_samples - 1)
        out[:, i] = np.where(ok[nearest], values, np.nan)
    return out


def score_record(estimate: Record, truth: Record) -> RecordScore:
    """Score every lead the truth plotted; a lead missing from the estimate scores 0 dB.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize import Record
    >>> from ecg_digitize.metrics import score_record
    >>> sig = np.sin(np.linspace(0, 30, 1000))[:, None] * [1, 2]
    >>> truth = Record(sig, fs=100, leads=["I", "II"])
    >>> est = Record(sig[:, :1], fs=100, leads=["I"])
    >>> round(score_record(est, truth).snr, 1)  # II missing: (100 + 0) / 2
    50.0
    """
    est_signal = _aligned(estimate, truth)
    result = RecordScore()
    for j, name in enumerate(truth.leads):
        t = truth.signal[:, j]
        if not np.isfinite(t).any():
            continue
        if name in estimate.leads:
            result.leads[name] = snr(est_signal[:, estimate.leads.index(name)], t, truth.fs)
        else:
            result.leads[name] = LeadScore(snr=0.0, coverage=0.0)
    return result


def score_records(pairs) -> dict[str, float]:
    """Mean SNR, r and RMSE over all (record, lead) pairs of ``[(estimate, truth), ...]``."""
    lead_scores = [s for est, tru in pairs for s in score_record(est, tru).leads.values()]
    if not lead_scores:
        return {"snr": float("nan"), "pearson_r": float("nan"), "rmse": float("nan"), "n_leads": 0}
    return {
        "snr": float(np.mean([s.snr for s in lead_scores])),
        "pearson_r": float(np.nanmean([s.pearson_r for s in lead_scores])),
        "rmse": float(np.nanmean([s.rmse for s in lead_scores])),
        "n_leads": len(lead_scores),
    }


def relation_db(terms: list[np.ndarray], residual: np.ndarray) -> float:
    """How well leads obey a linear relation: 10 log10(mean power of the ``terms`` over
    the power of the ``residual``), offsets removed, capped at ``SNR_CAP_DB``.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.metrics import relation_db
    >>> i, iii = np.sin(np.arange(500) / 30), np.cos(np.arange(500) / 40)
    >>> round(relation_db([i, iii], (i + iii) - (i + iii + 0.01 * np.sin(np.arange(500)))), 1)
    39.9
    """
    residual = residual - np.mean(residual)
    p_signal = np.mean([np.mean((x - np.mean(x)) ** 2) for x in terms])
    p_noise = float(np.mean(residual**2))
    if p_noise <= p_signal * 10 ** (-SNR_CAP_DB / 10):
        return SNR_CAP_DB
    return float(10 * np.log10(p_signal / p_noise))


def self_consistency(record: Record, min_seconds: float = 0.5) -> dict[str, float]:
    """Ground-truth-free consistency of a 12-lead page, in dB (higher is better).

    ``einthoven``: II against I + III over the samples all three plotted (the first
    column of a 3x4 page). ``goldberger``: aVR + aVL + aVF against 0 over the samples all
    three plotted (the second column). ``mean``: their mean. A relation whose leads share
    less than ``min_seconds`` is NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize import Record
    >>> from ecg_digitize.metrics import self_consistency
    >>> t = np.linspace(0, 10, 5000)
    >>> lead_i, lead_ii = np.sin(t * 7), np.cos(t * 5)
    >>> sig = np.column_stack([lead_i, lead_ii, lead_ii - lead_i])
    >>> self_consistency(Record(sig, fs=500, leads=["I", "II", "III"]))["einthoven"]
    100.0
    """
    out = {"einthoven": float("nan"), "goldberger": float("nan")}
    relations = {
        "einthoven": (("II", "I", "III"), lambda a, b, c: a - b - c),
        "goldberger": (("aVR", "aVL", "aVF"), lambda a, b, c: a + b + c),
    }
    for key, (names, residual_of) in relations.items():
        if not all(n in record.leads for n in names):
            continue
        x = [record.lead(n) for n in names]
        ok = np.all([np.isfinite(v) for v in x], axis=0)
        if ok.sum() < min_seconds * record.fs:
            continue
        x = [v[ok] for v in x]
        out[key] = relation_db(x, residual_of(*x))
    valid = [v for v in out.values() if np.isfinite(v)]
    out["mean"] = float(np.mean(valid)) if valid else float("nan")
    return out
