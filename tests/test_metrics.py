import numpy as np
import pytest

from ecg_digitize import Record
from ecg_digitize.metrics import score_record, score_records, self_consistency, snr


@pytest.fixture
def truth_lead():
    t = np.arange(5000) / 500
    return np.sin(2 * np.pi * 1.1 * t) + 0.3 * np.sin(2 * np.pi * 7 * t)


def test_identical_signals_score_high(truth_lead):
    assert snr(truth_lead, truth_lead, 500).snr >= 99


def test_noise_lowers_snr(truth_lead, rng):
    noisy = truth_lead + rng.normal(0, 0.1, truth_lead.shape)
    expected = 10 * np.log10(np.sum(truth_lead**2) / (len(truth_lead) * 0.01))
    assert snr(noisy, truth_lead, 500).snr == pytest.approx(expected, abs=0.3)


def test_shift_and_offset_are_realigned(truth_lead):
    shifted = np.roll(truth_lead, 40) + 0.5
    shifted[:40] = np.nan
    score = snr(shifted, truth_lead, 500)
    assert score.lag == 40 and score.offset == pytest.approx(-0.5)
    assert score.snr > 90 * score.coverage - 1e-6


def test_offset_beyond_1mv_is_not_forgiven(truth_lead):
    assert snr(truth_lead + 3.0, truth_lead, 500).snr < 5


def test_lag_beyond_half_second_is_not_forgiven(rng):
    noise = np.convolve(rng.normal(0, 1, 5000), np.ones(5) / 5, mode="same")  # no other lag fits
    assert snr(np.roll(noise, 400), noise, 500).snr < 1
    assert snr(np.roll(noise, 200), noise, 500).snr > 20


def test_missing_lead_scores_zero(truth_lead):
    truth = Record(np.column_stack([truth_lead, truth_lead]), fs=500, leads=["I", "II"])
    est = Record(truth_lead[:, None], fs=500, leads=["I"])
    result = score_record(est, truth)
    assert result.leads["II"].snr == 0.0
    assert result.snr == pytest.approx(result.leads["I"].snr / 2)


def test_nan_masked_estimate_is_penalised_by_coverage(truth_lead):
    est = truth_lead + 0.01 * np.sin(np.arange(5000))  # a little noise, finite SNR
    full = snr(est, truth_lead, 500)
    half = est.copy()
    half[2500:] = np.nan
    part = snr(half, truth_lead, 500)
    assert part.coverage == pytest.approx(0.5)
    assert part.snr == pytest.approx(full.snr * 0.5, rel=0.05)


def test_only_plotted_truth_samples_count(truth_lead):
    truth = truth_lead.copy()
    truth[1000:] = np.nan  # only the first 2 s plotted
    est = truth_lead.copy()
    est[1000:] += 5.0  # garbage where nothing was plotted does not matter
    assert snr(est, truth, 500).snr >= 99


def test_score_records_means_over_lead_pairs(truth_lead):
    truth = Record(truth_lead[:, None], fs=500, leads=["II"])
    summary = score_records([(truth, truth), (Record(np.zeros((5000, 1)), fs=500, leads=["I"]), truth)])
    assert summary["n_leads"] == 2 and summary["snr"] == pytest.approx(50, abs=0.5)


def test_estimate_at_other_fs_is_resampled(truth_lead):
    truth = Record(truth_lead[:, None], fs=500, leads=["II"])
    est = Record(truth_lead[::2, None], fs=250, leads=["II"])
    assert score_record(est, truth).snr > 25


def test_self_consistency(sim12, rng):
    sig, fs, leads = sim12
    rec = Record(sig, fs=fs, leads=leads)
    clean = self_consistency(rec)
    assert clean["einthoven"] >= 99 and clean["goldberger"] >= 99
    noisy = Record(sig + rng.normal(0, 0.05, sig.shape), fs=fs, leads=leads)
    assert 5 < self_consistency(noisy)["mean"] < 30
    assert np.isnan(self_consistency(Record(sig[:, :1], fs=fs, leads=["I"]))["mean"])
