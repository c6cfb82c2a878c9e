"""Signal preparation shared by training and inference (numpy/scipy only, no Keras).

Every model sees signals the same way at training and at inference time: band-pass
0.5-40 Hz at the native rate, resampled to the model's rate, beats cut around R peaks.
"""
from __future__ import annotations

import numpy as np

from ecg_digitize.processing import bandpass, find_r_peaks, longest_finite, resample

BEAT_FS = 125.0          # Kachuee et al. 2018: beats at 125 Hz ...
BEAT_LEN = 187           # ... 187 samples (1.5 s)
BEAT_PRE = 62            # R peak sits at sample 62: 0.5 s before, 1.0 s after (P wave and T wave)
RR_CONTEXT = 10          # beats on each side for the local RR mean and amplitude scale
N_RR_FEATURES = 5
RR_PRE_OVER_LOCAL = 3    # column of :func:`rr_features`: pre-RR over the local mean RR
TEMPLATE_BEATS = 81      # the patient's own beat shape: running median over 40 beats each side


def rr_features(r_peaks: np.ndarray, fs: float, context: int = RR_CONTEXT) -> np.ndarray:
    """Per-beat RR features: pre, post, local mean RR (s), pre/local, post/local.

    Prematurity relative to the patient's own rhythm is what tells an S beat from an N
    beat across patients (de Chazal 2004), so ratios are given beside the raw intervals.
    Missing neighbours (first/last beat, single beat) are filled with the local mean.
    """
    r = np.asarray(r_peaks, dtype=float)
    n = r.size
    feats = np.zeros((n, N_RR_FEATURES), dtype=np.float32)
    if n == 0:
        return feats
    rr = np.diff(r) / fs
    if rr.size == 0:
        rr = np.array([0.8])  # one beat: assume 75 bpm, ratios become 1
    pre = np.concatenate([[np.nan], rr]) if n > 1 else np.array([np.nan])
    post = np.concatenate([rr, [np.nan]]) if n > 1 else np.array([np.nan])
    local = _local_mean_rr(rr, n, context)
    pre = np.where(np.isfinite(pre), pre, local)
    post = np.where(np.isfinite(post), post, local)
    feats[:, 0], feats[:, 1], feats[:, 2] = pre, post, local
    feats[:, 3], feats[:, 4] = pre / local, post / local
    return feats


def prematurity(r_peaks: np.ndarray, fs: float, context: int = RR_CONTEXT,
                groups: np.ndarray | None = None) -> np.ndarray:
    """Each beat's pre-RR over the mean RR interval of the ``context`` intervals each side.

    The AAMI S class is the supraventricular *premature* beat. Against the last few
    seconds, sinus arrhythmia looks premature too; against minutes of the patient's own
    rhythm, it does not (``benchmarks/mitbih_prematurity_threshold.py`` chooses
    ``context`` on MIT-BIH DS1). The first beat, which has no pre-RR, gets 1.

    Parameters
    ----------
    r_peaks : ndarray
        R-peak sample indices in recording order.
    fs : float
        Their sampling rate.
    context : int
        RR intervals on each side in the mean (clipped to the recording).
    groups : ndarray, optional
        A recording id per beat; intervals never span two recordings.

    Examples
    --------
    >>> import numpy as np
    >>> from classifiers._preprocess import prematurity
    >>> r = np.cumsum([0, 100, 100, 60, 140, 100, 100])  # one early beat, then a pause
    >>> prematurity(r, 100.0, context=10).round(2).tolist()
    [1.0, 1.0, 1.0, 0.6, 1.4, 1.0, 1.0]
    """
    r = np.asarray(r_peaks, dtype=float)
    out = np.ones(r.size)
    ids = np.zeros(r.size) if groups is None else np.asarray(groups)
    for g in np.unique(ids):
        idx = np.flatnonzero(ids == g)
        rr = np.diff(r[idx]) / fs
        if rr.size == 0:
            continue
        out[idx[1:]] = rr / _local_mean_rr(rr, idx.size, context)[1:]
    return out


def _local_mean_rr(rr: np.ndarray, n_beats: int, context: int) -> np.ndarray:
    """Per beat ``i``, the mean of the RR intervals ``i - context .. i + context - 1``
    (clipped to the recording; interval ``i - 1`` ends at beat ``i``)."""
    csum = np.r_[0.0, np.cumsum(rr)]
    i = np.arange(n_beats)
    lo, hi = np.maximum(0, i - context), np.minimum(rr.size, i + context)
    return (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1)


def beat_windows(x: np.ndarray, r_peaks: np.ndarray, context: int = RR_CONTEXT) -> np.ndarray:
    """Cut ``(n_beats, 187)`` windows at 125 Hz around R peaks given at 125 Hz.

    Samples outside the signal are zero. Each beat is divided by the median peak-to-peak
    amplitude of its neighbours, so a beat that is larger than its neighbours (a V beat)
    stays larger, while gain differences between recordings disappear.
    """
    x = np.asarray(x, dtype=float)
    r = np.asarray(r_peaks, dtype=int)
    out = np.zeros((r.size, BEAT_LEN), dtype=np.float32)
    padded = np.concatenate([np.zeros(BEAT_LEN), np.nan_to_num(x), np.zeros(BEAT_LEN)])
    for i, p in enumerate(r):
        a = p - BEAT_PRE + BEAT_LEN
        out[i] = padded[a:a + BEAT_LEN]
    # local amplitude scale from the QRS region (+-60 ms) of neighbouring beats
    qrs = out[:, BEAT_PRE - 8:BEAT_PRE + 9]
    ptp = np.ptp(qrs, axis=1) if r.size else np.zeros(0)
    for i in range(r.size):
        lo, hi = max(0, i - context), min(r.size, i + context + 1)
        scale = np.median(ptp[lo:hi])
        out[i] /= scale if scale > 1e-6 else 1.0
    return out


def beat_templates(beats: np.ndarray, groups: np.ndarray | None = None,
                   window: int = TEMPLATE_BEATS) -> np.ndarray:
    """The patient's usual beat beside each beat: a running median over neighbouring beats.

    An ectopic beat is told from a normal one across patients by how it differs from
    that patient's usual beat more than by its shape alone (de Chazal 2004; Llamedo and
    Martinez 2011), so the beat models see both.

    Parameters
    ----------
    beats : ndarray, shape (n, BEAT_LEN)
        Beats in recording order.
    groups : ndarray, shape (n,), optional
        A recording (patient) id per beat; templates never mix recordings.
    window : int
        Beats in the running median (odd), clipped to the recording's beat count.

    Returns
    -------
    ndarray, shape (n, BEAT_LEN)

    Examples
    --------
    >>> import numpy as np
    >>> from classifiers._preprocess import beat_templates
    >>> beats = np.tile(np.hanning(187), (30, 1)); beats[10] *= -1  # one odd beat
    >>> bool(np.allclose(beat_templates(beats)[10], np.hanning(187)))
    True
    """
    from scipy.ndimage import median_filter

    beats = np.asarray(beats, dtype=np.float32)
    out = np.empty_like(beats)
    ids = np.zeros(len(beats)) if groups is None else np.asarray(groups)
    for g in np.unique(ids):
        idx = np.flatnonzero(ids == g)
        size = min(window, len(idx) if len(idx) % 2 else len(idx) - 1)
        out[idx] = median_filter(beats[idx], size=(max(size, 1), 1), mode="reflect")
    return out


def prepare_beats(x: np.ndarray, fs: float, r_peaks: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signal at any rate to beat model inputs.

    Returns ``(beats (n, 187), rr (n, 5), r_peaks)`` where ``r_peaks`` are sample
    indices in the input signal (detected with neurokit2 when not given).
    """
    x = np.asarray(x, dtype=float)
    filt = bandpass(x, fs)
    if r_peaks is None:
        r_peaks = find_r_peaks(filt, fs)
    r_peaks = np.asarray(r_peaks, dtype=int)
    x125 = resample(filt, fs, BEAT_FS)
    r125 = np.clip(np.round(r_peaks * BEAT_FS / fs).astype(int), 0, max(x125.size - 1, 0))
    beats = beat_windows(x125, r125)
    rr = rr_features(r_peaks, fs)
    return beats, rr, r_peaks


# ---------------------------------------------------------------------- rhythm
RHYTHM_FS = 100.0        # AF shows in RR irregularity and missing P waves: 100 Hz keeps both
RHYTHM_WIN = 3000        # 30 s windows (most CinC 2017 recordings are 30 s long)
N_HRV_FEATURES = 8


def prepare_rhythm_signal(x: np.ndarray, fs: float) -> np.ndarray:
    """Band-pass, resample to 100 Hz and scale a single lead to unit robust amplitude."""
    x = longest_finite(np.asarray(x, dtype=float))
    if x.size == 0:
        return np.zeros(0, dtype=np.float32)
    y = resample(bandpass(x, fs), fs, RHYTHM_FS)
    scale = np.percentile(np.abs(y), 99) if y.size else 1.0
    return (y / (scale if scale > 1e-6 else 1.0)).astype(np.float32)


def hrv_features(x100: np.ndarray) -> np.ndarray:
    """Eight RR-irregularity features of a 100 Hz signal (zeros when < 3 beats).

    Heart rate, RR spread and successive-difference measures: the classic AF cues that a
    small network learns slowly from raw samples on a CPU budget.
    """
    feats = np.zeros(N_HRV_FEATURES, dtype=np.float32)
    peaks = find_r_peaks(x100, RHYTHM_FS)
    if peaks.size < 3:
        return feats
    rr = np.diff(peaks) / RHYTHM_FS
    d = np.diff(rr)
    med = np.median(rr)
    feats[0] = 60.0 / med                              # heart rate, bpm
    feats[1] = np.std(rr) / np.mean(rr)                # coefficient of variation
    feats[2] = np.sqrt(np.mean(d ** 2)) / med if d.size else 0.0   # normalised RMSSD
    feats[3] = np.median(np.abs(d)) / med if d.size else 0.0
    feats[4] = np.mean(np.abs(d) > 0.05) if d.size else 0.0        # pNN50
    feats[5] = np.min(rr) / med
    feats[6] = np.max(rr) / med
    feats[7] = min(peaks.size / (x100.size / RHYTHM_FS) * 60.0, 300.0) / 100.0  # beats/min by count
    return feats


def rhythm_windows(x100: np.ndarray, stride: int = RHYTHM_WIN // 2) -> np.ndarray:
    """Cut ``(n_windows, 3000)`` windows; a short signal is zero-padded at the end."""
    x100 = np.asarray(x100, dtype=np.float32)
    if x100.size <= RHYTHM_WIN:
        out = np.zeros((1, RHYTHM_WIN), dtype=np.float32)
        out[0, :x100.size] = x100
        return out
    starts = list(range(0, x100.size - RHYTHM_WIN + 1, stride))
    if starts[-1] != x100.size - RHYTHM_WIN:
        starts.append(x100.size - RHYTHM_WIN)
    return np.stack([x100[s:s + RHYTHM_WIN] for s in starts])
