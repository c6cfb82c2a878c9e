"""WFDB record names: every writer gives a name WFDB tools can read back (issue #27, item 1)."""
import numpy as np
import pytest

from ecg_digitize import Record, RecordNameWarning, wfdb_record_name
from ecg_digitize.batch import record_name


@pytest.mark.parametrize("name, clean", [("MI(112)", "MI_112"), ("page 1", "page_1"),
                                         ("100", "100"), ("a-b_c", "a-b_c"), ("(((", "record")])
def test_wfdb_record_name(name, clean):
    assert wfdb_record_name(name) == clean


def test_batch_names_records_with_the_same_rule():
    assert record_name("khan2021/mi/MI(112).jpg") == "khan2021/mi/MI_112"
    assert record_name("page 1.png") == wfdb_record_name("page 1")


@pytest.mark.parametrize("name", ["MI(112)", "page 1", "a.b"])
def test_to_wfdb_writes_a_readable_record_under_a_cleaned_name(tmp_path, name):
    import wfdb

    rec = Record(np.linspace(-1, 1, 500)[:, None], fs=500, leads=["II"])
    with pytest.warns(RecordNameWarning, match=wfdb_record_name(name)):
        hea = rec.to_wfdb(tmp_path, name)
    assert hea == tmp_path / f"{wfdb_record_name(name)}.hea"
    assert wfdb.rdrecord(str(hea.with_suffix(""))).sig_name == ["II"]
    np.testing.assert_allclose(Record.from_wfdb(hea).signal, rec.signal, atol=1e-3)


def test_to_wfdb_keeps_a_valid_name_silently(tmp_path, recwarn):
    rec = Record(np.zeros((500, 1)), fs=500, leads=["II"])
    assert rec.to_wfdb(tmp_path, "ecg-001_a").name == "ecg-001_a.hea"
    assert not [w for w in recwarn if issubclass(w.category, RecordNameWarning)]
