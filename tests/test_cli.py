import numpy as np

from ecg_digitize import Record
from ecg_digitize.cli import main


def test_render_then_evaluate_truth_against_itself(tmp_path, capsys):
    out = tmp_path / "pages"
    assert main(["render", "--out", str(out), "-n", "2", "--layout", "3x4+II;12x1", "--dpi", "60"]) == 0
    assert sorted(p.name for p in (out / "images").iterdir()) == ["sim00000.png", "sim00001.png"]
    truth = Record.from_wfdb(out / "truth" / "sim00001")
    assert truth.layout == "12x1" and np.isfinite(truth.signal).all()
    assert main(["evaluate", str(out / "truth"), str(out / "truth"), "--quiet"]) == 0
    assert "mean SNR 100.00 dB" in capsys.readouterr().out


def test_evaluate_penalises_a_noisy_copy(tmp_path, capsys):
    rng = np.random.default_rng(0)
    sig = np.sin(np.linspace(0, 60, 5000))[:, None] * np.ones(3)
    Record(sig, fs=500, leads=["I", "II", "III"]).to_wfdb(tmp_path / "t", "r1")
    Record(sig + rng.normal(0, 0.1, sig.shape), fs=500, leads=["I", "II", "III"]).to_wfdb(tmp_path / "p", "r1")
    assert main(["evaluate", str(tmp_path / "p"), str(tmp_path / "t")]) == 0
    text = capsys.readouterr().out
    snr_value = float(text.split("mean SNR ")[1].split(" dB")[0])
    assert 14 < snr_value < 20  # signal power 0.5, noise 0.01: about 17 dB


def test_demo_writes_the_page(tmp_path):
    assert main(["demo", "--out", str(tmp_path), "--dpi", "80"]) == 0
    assert (tmp_path / "page.png").exists() and (tmp_path / "truth.hea").exists()
