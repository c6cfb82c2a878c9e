"""``ecg-classify`` as a user sees it: warnings in the terminal, no library noise (issue #27, items 2, 3)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from classifiers._registry import model_path
from ecg_digitize import Record

REPO = Path(__file__).resolve().parent.parent
ALL_MODELS = ("mitbih-aami5", "cinc2017-af", "ptbxl-mi")
shipped = pytest.mark.skipif(not all(model_path(m).exists() for m in ALL_MODELS),
                             reason="the pretrained models are not present in this checkout")


def _avl_strip(seconds=2.5, fs=500):
    import neurokit2 as nk

    x = nk.ecg_simulate(duration=10, sampling_rate=fs, heart_rate=70, random_state=3)
    return Record(x[:int(seconds * fs), None], fs=fs, leads=["aVL"])


@shipped
def test_terminal_table_carries_the_warnings(tmp_path, capsys):
    from classifiers.cli import main

    hea = _avl_strip().to_wfdb(tmp_path, "avl")
    assert main([str(hea), "--out", str(tmp_path / "t.csv")]) == 0
    out = capsys.readouterr().out
    assert "warnings:" in out
    assert "rhythm: only 2.5 s of signal; the model was trained on 9-61 s" in out
    assert "MI: leads" in out and "filled with zeros" in out


def test_metadata_json_says_how_to_get_samples(tmp_path):
    from classifiers.cli import read_any
    from ecg_digitize import RecordFormatError

    rec = _avl_strip()
    rec.to_wfdb(tmp_path, "x")
    rec.to_json(tmp_path / "x.json")
    with pytest.raises(RecordFormatError, match=r"x\.hea beside it.*--json-signal"):
        read_any(tmp_path / "x.json")


@shipped
def test_classify_many_records_prints_no_library_noise(tmp_path):
    """No TensorFlow/absl/oneDNN start-up lines and no tf.function retracing warning."""
    for i, seconds in enumerate([2.5, 5, 12, 30, 10, 20, 7]):
        _avl_strip(seconds if seconds <= 10 else 10).to_wfdb(tmp_path, f"r{i}")
    files = sorted(str(p) for p in tmp_path.glob("*.hea"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    env["PYTHONPATH"] = str(REPO)
    res = subprocess.run([sys.executable, "-m", "classifiers.cli", *files], capture_output=True,
                         text=True, env=env, cwd=tmp_path, timeout=600)
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    assert "retracing" not in res.stdout and "oneDNN" not in res.stdout


def test_quiet_stderr_drops_only_known_start_up_notices(capfd, monkeypatch):
    from ecg_digitize.keras_utils import VERBOSE_ENV, quiet_stderr

    monkeypatch.delenv(VERBOSE_ENV, raising=False)
    with quiet_stderr():  # written at the file-descriptor level, as TensorFlow's C++ does
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
        os.write(2, b"I0000 00:00:1.0 1 port.cc:153] oneDNN custom operations are on. ...\n")
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"E0000 something a user must see\n")
    assert capfd.readouterr().err == "E0000 something a user must see\n"
    monkeypatch.setenv(VERBOSE_ENV, "1")
    with quiet_stderr():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
    assert "XNNPACK" in capfd.readouterr().err
