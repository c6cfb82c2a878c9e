"""Lead names are checked wherever a Record is written (issue #30 item 6)."""
from __future__ import annotations

import numpy as np
import pytest

from ecg_digitize import Record
from ecg_digitize.errors import RecordFormatError
from ecg_digitize.record import check_lead_names

BAD = ['=HYPERLINK("http://x")', "a,b", "II\nV1", "II\x00", "+SUM(1)", "@x", "-2+3",
       "x" * 33, "", " II", 'say "hi"', "a;b"]
GOOD = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V6", "V4R", "-aVR", "II (rhythm)", "Lead 1"]


@pytest.mark.parametrize("lead", BAD)
@pytest.mark.parametrize("writer", ["csv", "wfdb", "json"])
def test_writers_refuse_bad_lead_names(tmp_path, lead, writer):
    rec = Record(np.zeros((100, 2)), fs=100, leads=["I", lead], source="page.png")
    write = {"csv": lambda: rec.to_csv(tmp_path / "r.csv"),
             "wfdb": lambda: rec.to_wfdb(tmp_path, "r"),
             "json": lambda: rec.to_json(tmp_path / "r.json")}[writer]
    with pytest.raises(RecordFormatError, match="page.png: lead name"):
        write()
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_good_names_round_trip_through_csv(tmp_path):
    rec = Record(np.zeros((100, len(GOOD))), fs=100, leads=GOOD)
    check_lead_names(GOOD)
    back = Record.from_csv(rec.to_csv(tmp_path / "r.csv"))
    assert back.leads == GOOD
