"""The classical ECG signs of myocardial infarction, measured on a 12-lead median beat.

Per lead, in mV against the PR segment: the Q wave (deepest point in the 50 ms before
R), the R wave, the S wave (deepest point in the 60 ms after R), the ST level (mean of
80-110 ms after R), the T wave (the largest deflection 160-400 ms after R, with its
sign) and Q over R. Pathological Q waves, ST elevation or depression and T inversion are
what a cardiologist reads for MI; the ``ptbxl-mi`` model scores them with a logistic
regression beside its transfer-learned beat features (see ``pretrained/ptbxl-mi.md``).
"""
from __future__ import annotations

import numpy as np

MEASURES = ("Q", "R", "S", "ST", "T", "Q/R")
BEFORE_S, AFTER_S = 0.25, 0.5   # the median beat's window around R


def median_beat(x: np.ndarray, fs: float, r_peaks: np.ndarray) -> np.ndarray:
    """``(n_leads, window)`` median of the beats of each lead of ``x`` (samples x leads,
    band-passed, mV) around ``r_peaks``; only beats the lead plotted in full count (a
    3x4 page plots each lead for 2.5 s), NaN for a lead with none.

    Examples
    --------
    >>> import numpy as np
    >>> from classifiers._mi_measurements import median_beat
    >>> x = np.zeros((5000, 2)); x[1000::500] = 1.0; x[:2500, 1] = np.nan
    >>> m = median_beat(x, 500.0, np.arange(1000, 4600, 500))
    >>> m.shape, float(m[0, 125]), bool(np.isnan(m[1]).all())
    ((2, 375), 1.0, False)
    """
    pre, post = int(round(BEFORE_S * fs)), int(round(AFTER_S * fs))
    x = np.asarray(x, float)
    peaks = np.asarray(r_peaks, int)
    peaks = peaks[(peaks >= pre) & (peaks + post <= len(x))]
    out = np.full((x.shape[1], pre + post), np.nan)
    if len(peaks) == 0:
        return out
    beats = np.stack([x[p - pre:p + post].T for p in peaks])     # beats x leads x window
    whole = np.isfinite(beats).all(axis=2)
    for j in range(x.shape[1]):
        if whole[:, j].any():
            out[j] = np.median(beats[whole[:, j], j], axis=0)
    return out


def measurements(median: np.ndarray, fs: float) -> np.ndarray:
    """The :data:`MEASURES` of each lead of a :func:`median_beat`, measure by measure
    (all leads' Q, then all leads' R, ...); NaN for a lead without a median beat.

    Examples
    --------
    >>> import numpy as np
    >>> from classifiers._mi_measurements import measurements
    >>> t = np.arange(375) / 500.0 - 0.25                  # R at 0 s
    >>> beat = np.exp(-(t / 0.01) ** 2) + 0.2 * (t > 0.08) * (t < 0.3)   # R, raised ST
    >>> q, r, s, st, tw, qr = measurements(beat[None, :], 500.0)
    >>> round(float(r[0]), 2), round(float(st[0]), 2)
    (1.0, 0.2)
    """
    ms = lambda t: int(round(t * fs / 1000))  # noqa: E731 - milliseconds to samples
    r = int(round(BEFORE_S * fs))
    m = np.asarray(median, float)
    base = m[:, r - ms(120):r - ms(70)].mean(axis=1)
    q = m[:, r - ms(50):r].min(axis=1) - base
    peak = m[:, r - ms(20):r + ms(20)].max(axis=1) - base
    s = m[:, r:r + ms(60)].min(axis=1) - base
    st = m[:, r + ms(80):r + ms(110)].mean(axis=1) - base
    seg = m[:, r + ms(160):r + ms(400)] - base[:, None]
    seg0 = np.nan_to_num(seg)
    t_wave = seg0[np.arange(len(m)), np.abs(seg0).argmax(axis=1)]
    t_wave = np.where(np.isnan(base), np.nan, t_wave)
    return np.stack([q, peak, s, st, t_wave, q / (np.abs(peak) + 0.05)])
