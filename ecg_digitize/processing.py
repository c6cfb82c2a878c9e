"""Signal preparation shared by the classifiers and the image branch (numpy/scipy only).

Digitized pages leave NaN where a lead was not plotted: every function here works on the
finite runs of a signal and keeps the NaN where they are.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy import signal as sps


def bandpass(x: np.ndarray, fs: float, low: float = 0.5, high: float = 40.0) -> np.ndarray:
    """Zero-phase Butterworth band-pass along axis 0; NaN runs are left NaN.

    Finite runs are filtered separately so a digitized page (NaN where a lead was not
    plotted) does not smear NaN over the whole lead.
    """
    x = np.asarray(x, dtype=float)
    high = min(high, 0.45 * fs)
    sos = sps.butter(3, [low, high], btype="bandpass", fs=fs, output="sos")
    out = np.full_like(x, np.nan)
    cols = x[:, None] if x.ndim == 1 else x
    res = out[:, None] if x.ndim == 1 else out
    for j in range(cols.shape[1]):
        for a, b in finite_runs(cols[:, j]):
            seg = cols[a:b, j]
            # sosfiltfilt needs a few times the filter order in samples
            if b - a > 3 * (2 * sos.shape[0] + 1):
                res[a:b, j] = sps.sosfiltfilt(sos, seg - np.median(seg))
            else:
                res[a:b, j] = seg - np.median(seg)
    return out


def finite_runs(x: np.ndarray, min_len: int = 1) -> list[tuple[int, int]]:
    """Return ``(start, stop)`` of each run of finite samples at least ``min_len`` long."""
    ok = np.isfinite(np.asarray(x, dtype=float)).astype(np.int8)
    edges = np.diff(np.concatenate([[0], ok, [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(a), int(b)) for a, b in zip(starts, stops) if b - a >= min_len]


def longest_finite(x: np.ndarray) -> np.ndarray:
    """The longest run of finite samples of a 1D signal (empty if none)."""
    runs = finite_runs(x)
    if not runs:
        return np.zeros(0)
    a, b = max(runs, key=lambda r: r[1] - r[0])
    return np.asarray(x[a:b], dtype=float)


def resample(x: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Polyphase resampling along axis 0 (exact rational ratio, limited denominator)."""
    if abs(fs_in - fs_out) < 1e-9:
        return np.asarray(x, dtype=float)
    ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
    return sps.resample_poly(np.asarray(x, dtype=float), ratio.numerator, ratio.denominator, axis=0)


def find_r_peaks(x: np.ndarray, fs: float) -> np.ndarray:
    """R-peak sample indices of a finite 1D signal with neurokit2 (empty when too short)."""
    import neurokit2 as nk

    x = np.asarray(x, dtype=float)
    if x.size < int(2 * fs):
        return np.zeros(0, dtype=int)
    try:
        clean = nk.ecg_clean(x, sampling_rate=int(round(fs)))
        _, info = nk.ecg_peaks(clean, sampling_rate=int(round(fs)))
        peaks = np.asarray(info["ECG_R_Peaks"], dtype=int)
    except Exception:  # neurokit raises on flat or degenerate input; no beats then
        return np.zeros(0, dtype=int)
    return np.unique(peaks[(peaks >= 0) & (peaks < x.size)])
