"""Signal preparation shared by the classifiers and the image branch."""
import numpy as np

from ecg_digitize import processing


def test_bandpass_keeps_nan_gaps_and_removes_offset():
    x = np.sin(2 * np.pi * 5 * np.arange(2000) / 500) + 3.0
    x[500:1000] = np.nan
    y = processing.bandpass(x, 500)
    assert np.isnan(y[500:1000]).all() and np.isfinite(y[:500]).all()
    assert abs(np.nanmean(y[1100:1900])) < 0.1
    assert processing.finite_runs(x) == [(0, 500), (1000, 2000)]


def test_resample_keeps_duration_and_longest_finite_run():
    x = np.arange(1000, dtype=float)
    assert processing.resample(x, 500, 250).shape == (500,)
    x[100:120] = np.nan
    assert len(processing.longest_finite(x)) == 880
