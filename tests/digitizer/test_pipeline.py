"""The whole pipeline on rendered pages of every layout."""
import numpy as np
import pytest

from ecg_digitize.synth import render


@pytest.mark.parametrize("lay", ["3x4", "3x4+II", "3x4+II,V1,V5", "6x2", "12x1"])
def test_end_to_end_layouts(sim12, lay):
    """Each 12-lead layout is recognised, scores well and has no time lag (time zero)."""
    from ecg_digitize import digitize
    from ecg_digitize.metrics import score_record

    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout=lay, seed=7)
    rec = digitize(image)
    assert rec.layout == lay
    score = score_record(rec, truth)
    assert score.snr > 18
    assert abs(np.median([s.lag for s in score.leads.values()])) <= 1


@pytest.mark.parametrize("rows", [3, 6])
def test_end_to_end_wrapped_strip(sim30, rows):
    """A long single lead wrapped into rows: recognised as a strip, no drift row to row."""
    from ecg_digitize import digitize
    from ecg_digitize.metrics import snr

    sig, fs, leads = sim30
    if rows == 6:  # 60 s (not the 30 s twice: rows 4-6 would repeat rows 1-3 like rhythm strips)
        from ecg_digitize.synth import simulate_12lead

        sig = np.r_[sig, simulate_12lead(duration=30, fs=300, seed=4, heart_rate=83)[0][:, [1]]]
    image, truth = render(sig, fs, leads, layout="strip", dpi=150, seed=1, header=False)
    rec = digitize(image, fs=fs)
    assert rec.layout == "strip"
    est, t = rec.signal[:, 0], truth.signal[:, 0]
    n = min(len(est), len(t))
    per_row = int(10 * fs)
    lags = [snr(est[k:k + per_row], t[k:k + per_row], fs).lag for k in range(0, n - per_row + 1, per_row)]
    assert len(lags) == rows and max(abs(x) for x in lags) <= 2  # was 7 per row before the fix
    assert snr(est[:n], t[:n], fs).snr > 15


@pytest.mark.parametrize("stretch", [(1.15, 1.0), (1.0, 0.85)])
def test_non_square_page_reads_time_across_and_millivolts_down(sim12, stretch):
    """Issue #25: a page stretched along one axis. Time comes from the scale across,
    millivolts from the scale down; both within 1 %, and the signals score >= 20 dB
    (one scale for both axes made a 0.85 y stretch 15 % low in voltage)."""
    from ecg_digitize import digitize
    from ecg_digitize.metrics import score_record

    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout="3x4+II", seed=7, stretch=stretch)
    rec = digitize(image)
    sx, sy = truth.geometry.px_per_mm_xy
    cal = rec.calibration
    assert cal.px_per_s == pytest.approx(sx * 25.0, rel=0.01)
    assert cal.px_per_mv == pytest.approx(sy * 10.0, rel=0.01)
    assert cal.px_per_mm_y is not None and rec.calibration.guessed == []
    assert score_record(rec, truth).snr >= 20
