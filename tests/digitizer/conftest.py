"""Rendered pages the digitizer stage tests share."""
import pytest

from ecg_digitize.synth import render


@pytest.fixture(scope="module")
def page(sim12):
    sig, fs, leads = sim12
    return render(sig, fs, leads, layout="3x4+II", seed=0)


@pytest.fixture(scope="module")
def sim30():
    from ecg_digitize.synth import simulate_12lead

    sig, fs, leads = simulate_12lead(duration=30, fs=300, seed=3)
    return sig[:, [1]], fs, ["II"]
