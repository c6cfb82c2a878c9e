import json

import numpy as np
import pytest
import wfdb

from ecg_digitize import Record, RecordFormatError


def _record():
    rng = np.random.default_rng(1)
    sig = np.round(rng.normal(0, 1, (2000, 3)), 3)  # 1 uV steps: exact in WFDB format 16
    sig[500:1000, 1] = np.nan
    sig[:250, 2] = np.nan
    return Record(sig, fs=500, leads=["I", "II", "V1"], layout="3x4+II", source="unit")


def test_repr_tells_shape_fs_and_leads():
    text = repr(_record())
    assert "2000 samples x 3 leads" in text and "fs=500 Hz" in text and "[I, II, V1]" in text


def test_wfdb_round_trip_exact_with_nan(tmp_path):
    rec = _record()
    rec.to_wfdb(tmp_path, "page")
    back = Record.from_wfdb(tmp_path / "page")
    np.testing.assert_array_equal(np.isnan(back.signal), np.isnan(rec.signal))
    np.testing.assert_allclose(back.signal, rec.signal, atol=1e-9, equal_nan=True)
    assert back.leads == rec.leads and back.fs == rec.fs and back.layout == "3x4+II"
    # plain wfdb sees mV and invalid samples as NaN
    raw = wfdb.rdrecord(str(tmp_path / "page"))
    assert raw.units == ["mV"] * 3
    assert np.isnan(raw.p_signal[500:1000, 1]).all()


def test_csv_round_trip_exact_with_nan(tmp_path):
    rec = _record()
    path = rec.to_csv(tmp_path / "page.csv")
    assert path.read_text().splitlines()[0] == "time,I,II,V1"
    back = Record.from_csv(path)
    np.testing.assert_array_equal(back.signal, rec.signal)  # NaN positions compared too
    assert back.fs == 500


def test_json_metadata(tmp_path):
    meta = json.loads(_record().to_json(tmp_path / "m.json").read_text())
    assert meta["leads"] == ["I", "II", "V1"] and meta["plotted_seconds"]["II"] == 3.0


def test_non_square_calibration_travels_in_json_and_wfdb(tmp_path):
    """``px_per_mm_y`` (the scale down a page whose pixels are not square) is metadata."""
    from ecg_digitize.record import Calibration

    rec = _record()
    rec.calibration = Calibration(px_per_mm=7.75, px_per_mm_y=7.44, guessed=["mm_per_s"])
    meta = json.loads(rec.to_json(tmp_path / "m.json").read_text())
    assert meta["calibration"]["px_per_mm_y"] == 7.44
    rec.to_wfdb(tmp_path, "page")
    back = Record.from_wfdb(tmp_path / "page").calibration
    assert back.px_per_mm_y == 7.44 and back.px_per_mv == pytest.approx(74.4) and back.px_per_s == 193.75
    assert Calibration(px_per_mm=7.75).px_per_mv == 77.5  # square: one scale


def test_bad_shapes_raise():
    with pytest.raises(RecordFormatError):
        Record(np.zeros((10, 2)), fs=500, leads=["I"])
    with pytest.raises(RecordFormatError):
        Record(np.zeros((10, 1)), fs=0, leads=["I"])


def test_wfdb_refuses_out_of_range(tmp_path):
    rec = Record(np.full((10, 1), 50.0), fs=100, leads=["I"])
    with pytest.raises(RecordFormatError):
        rec.to_wfdb(tmp_path, "x")
