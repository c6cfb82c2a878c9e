"""Signal sources for the renderer; the real data sets are optional."""
import numpy as np
import pytest

from ecg_digitize.datasets import has_dataset
from ecg_digitize.metrics import self_consistency
from ecg_digitize import Record
from ecg_digitize.synth import (load_cinc2017, load_mitdb_segment, load_ptbxl, ptbxl_records,
                                render, simulate_12lead)


def test_simulation_obeys_einthoven_and_goldberger():
    sig, fs, leads = simulate_12lead(duration=4, seed=2)
    assert sig.shape == (2000, 12) and fs == 500
    assert self_consistency(Record(sig, fs=fs, leads=leads))["mean"] >= 99


@pytest.mark.skipif(not has_dataset("ptbxl"), reason="PTB-XL not found under ECG_DATA_DIR")
def test_ptbxl_record_renders():
    ids = ptbxl_records(folds=[10])
    assert len(ids) > 20
    sig, fs, leads = load_ptbxl(ids[0])
    assert sig.shape == (5000, 12) and fs == 500 and leads[3] == "aVR"
    _, truth = render(sig, fs, leads, dpi=60)
    assert np.nanmax(np.abs(truth.signal)) > 0.2


@pytest.mark.skipif(not has_dataset("mitdb"), reason="MIT-BIH not found under ECG_DATA_DIR")
def test_mitdb_segment_as_strip():
    sig, fs, leads = load_mitdb_segment(100, start=60, duration=25)
    assert fs == 360 and sig.shape == (9000, 1) and leads == ["II"]
    _, truth = render(sig, fs, leads, layout="strip", dpi=60)
    assert len(truth.geometry["boxes"]) == 3


@pytest.mark.skipif(not has_dataset("cinc2017"), reason="CinC 2017 not found under ECG_DATA_DIR")
def test_cinc2017_record():
    sig, fs, leads = load_cinc2017("A00001")
    assert fs == 300 and sig.shape[1] == 1 and leads == ["I"]
