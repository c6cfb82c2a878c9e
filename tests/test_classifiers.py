"""Fast tests of the classifiers package (about a minute on two CPU cores)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ecg_digitize.datasets import has_dataset

from classifiers import _preprocess as pp
from classifiers.metrics import binary_report, cinc2017_score, classification_report
from classifiers._registry import model_path
from classifiers.datasets import RHYTHM_CLASSES


def _shipped(name):
    return pytest.mark.skipif(not model_path(name).exists(),
                              reason=f"pretrained/{name}.keras not present in this checkout")


def _sim(duration=20, fs=360, hr=70, seed=1):
    import neurokit2 as nk

    return nk.ecg_simulate(duration=duration, sampling_rate=fs, heart_rate=hr, random_state=seed)


# ---------------------------------------------------------------- package hygiene
def test_import_is_light():
    code = ("import sys, classifiers, ecg_digitize; "
            "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_model_lists_names():
    import classifiers

    with pytest.raises(ValueError, match="available"):
        classifiers.load_model("no-such-model")


# ---------------------------------------------------------------- preprocessing
def test_rr_features_regular_rhythm_and_premature_beat():
    peaks = np.arange(10) * 300  # 1.2 s at 250 Hz
    peaks[5] -= 120              # premature beat
    f = pp.rr_features(peaks, 250.0)
    assert f.shape == (10, pp.N_RR_FEATURES)
    assert f[5, 3] < 0.7 < f[5, 4]          # short before, long after
    assert np.isclose(f[0, 0], f[0, 2])     # first beat: pre filled with the local mean


def test_beat_templates_stay_inside_each_recording():
    beats = np.vstack([np.tile(np.hanning(pp.BEAT_LEN), (9, 1)),
                       np.tile(-np.hanning(pp.BEAT_LEN), (5, 1))])
    beats[3] *= 3  # one odd beat in the first recording
    t = pp.beat_templates(beats, groups=np.repeat([0, 1], [9, 5]))
    assert np.allclose(t[:9], np.hanning(pp.BEAT_LEN))   # the odd beat does not move it
    assert np.allclose(t[9:], -np.hanning(pp.BEAT_LEN))  # nor does the other recording


def test_prematurity_rule_turns_only_early_n_beats_into_s():
    from classifiers.beats import beat_labels

    probs = np.eye(5)[[0, 0, 2, 0]]           # N, N, V, N
    rr = np.ones((4, pp.N_RR_FEATURES))
    rr[[1, 2], 3] = 0.7                       # beats 1 (N) and 2 (V) come early
    assert beat_labels(probs, rr, {}).tolist() == [0, 0, 2, 0]
    assert beat_labels(probs, rr, {"s_prematurity": 0.85}).tolist() == [0, 1, 2, 0]


def test_s_needs_prematurity():
    """AAMI's S beats are premature: a beat the network calls S on time takes its next class."""
    from classifiers.beats import beat_labels

    probs = np.array([[0.2, 0.7, 0.1, 0, 0],   # S, early
                      [0.3, 0.6, 0.1, 0, 0],   # S, on time -> N
                      [0.1, 0.5, 0.0, 0.4, 0]])  # S, on time -> F
    premature = np.array([0.7, 1.0, 0.95])
    rule = {"s_prematurity": 0.8}
    assert beat_labels(probs, np.zeros((3, 5)), {}).tolist() == [1, 1, 1]
    assert beat_labels(probs, np.zeros((3, 5)), rule, premature).tolist() == [1, 0, 3]


def test_beat_windows_centre_the_r_peak():
    x = np.zeros(1000)
    r = np.array([200, 400, 600])
    x[r] = 1.0
    b = pp.beat_windows(x, r)
    assert b.shape == (3, pp.BEAT_LEN)
    assert (b.argmax(1) == pp.BEAT_PRE).all()


def test_rhythm_windows_pad_and_cover():
    assert pp.rhythm_windows(np.ones(1200)).shape == (1, pp.RHYTHM_WIN)
    w = pp.rhythm_windows(np.arange(7000, dtype=float))
    assert w.shape[1] == pp.RHYTHM_WIN and w[-1, -1] == 6999


# ---------------------------------------------------------------- metrics
def test_aami_scores_from_a_known_confusion():
    y_true = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 0, 0, 1, 1, 0, 2, 2])
    rep = classification_report(y_true, y_pred, ["N", "S", "V"])
    assert rep["per_class"]["S"]["Se"] == pytest.approx(0.5)
    assert rep["per_class"]["S"]["+P"] == pytest.approx(0.5)
    assert rep["per_class"]["N"]["Se"] == pytest.approx(0.75)
    assert rep["accuracy"] == pytest.approx(6 / 8)
    pc = {c: {"F1": f} for c, f in zip("NAO~", [0.9, 0.6, 0.6, 0.1])}
    assert cinc2017_score(pc) == pytest.approx(0.7)
    b = binary_report([0, 0, 1, 1], [0.1, 0.6, 0.7, 0.9])
    assert b["auc"] == pytest.approx(1.0) and b["specificity"] == pytest.approx(0.5)


# ---------------------------------------------------------------- loaders
mitdb = pytest.mark.skipif(not has_dataset("mitdb"), reason="MIT-BIH not under ECG_DATA_DIR")
cinc = pytest.mark.skipif(not has_dataset("cinc2017"), reason="CinC 2017 not under ECG_DATA_DIR")
ptbxl = pytest.mark.skipif(not has_dataset("ptbxl"), reason="PTB-XL not under ECG_DATA_DIR")


def test_de_chazal_split_is_disjoint_and_excludes_paced():
    from classifiers.datasets import DS1, DS2, PACED

    assert len(DS1) == len(DS2) == 22
    assert not set(DS1) & set(DS2) and not (set(DS1) | set(DS2)) & set(PACED)


@mitdb
def test_mitdb_record_beats_and_aami_labels():
    from classifiers.datasets import load_mitdb_record

    d = load_mitdb_record(119)  # record 119: normal beats and bigeminal PVCs
    assert d["beats"].shape == (d["label"].size, pp.BEAT_LEN) and d["rr"].shape[1] == 5
    counts = np.bincount(d["label"], minlength=5)
    assert counts[0] > 1000 and counts[2] > 300 and counts[1] == 0  # N, V, no S
    v = d["label"] == 2
    assert d["rr"][v, 3].mean() < d["rr"][~v, 3].mean()  # PVCs come early


@cinc
def test_cinc2017_labels_and_test_fold():
    from classifiers.datasets import cinc2017_labels, load_cinc2017

    ref = cinc2017_labels()
    assert len(ref) == 8528
    assert ref.label.value_counts().to_dict() == {"N": 5050, "O": 2456, "A": 738, "~": 284}
    assert ref.test_fold.sum() == 8528 // 5 and (ref[ref.test_fold].number % 5 == 0).all()
    d = load_cinc2017(limit=3, progress=False)
    assert len(d["signals"]) == 3 and d["hrv"].shape == (3, pp.N_HRV_FEATURES)
    assert abs(d["signals"][0].size / pp.RHYTHM_FS - 30.0) < 0.1  # A00001 is 30 s


@cinc
def test_cinc2017_split_matches_the_shipped_model_card():
    from classifiers.datasets import cinc2017_labels
    from classifiers.datasets.cinc2017 import cinc2017_split

    ref = cinc2017_labels()
    y = np.array([RHYTHM_CLASSES.index(lab) for lab in ref.label])
    tr, va = cinc2017_split(y, ref.test_fold.to_numpy())
    assert (tr.size, va.size) == (6143, 680)  # as in pretrained/cinc2017-af.md
    assert not set(tr) & set(va) and not ref.test_fold.to_numpy()[np.concatenate([tr, va])].any()
    tr2, va2 = cinc2017_split(y, ref.test_fold.to_numpy())
    assert np.array_equal(va, va2)  # the same draw every time: the validation set stays clean


@cinc
@_shipped("cinc2017-af")
def test_ulster_study_quick_runs_end_to_end(tmp_path):
    import json
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import ulster_study

    ulster_study.main(["--quick", "--workers", "1", "--work", str(tmp_path)])
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["n_pages"] == {"test": 8, "val": 6, "train": 12}
    assert report["test_pages_failed"] == 0 and report["test_snr_db_mean"] > 10
    for table in (report["results"], report["validation"]):
        for f1 in table.values():
            assert 0 <= f1["challenge"] <= 1
    assert (tmp_path / "report.png").stat().st_size > 0


@ptbxl
def test_ptbxl_superclasses_folds_and_record():
    from classifiers.datasets import ptbxl_table
    from ecg_digitize.datasets import read_ptbxl
    from classifiers.datasets.ptbxl import ptbxl_beats

    df = ptbxl_table()
    assert int(df.MI.sum()) == 73 and int(df.NORM.sum()) == 297
    assert set(df.strat_fold) == set(range(1, 11))
    sig, fs = read_ptbxl(filename=df.filename_hr.iloc[0])
    assert sig.shape == (5000, 12) and fs == 500
    beats, peaks = ptbxl_beats(sig, fs)
    assert beats.shape[1:] == (12, pp.BEAT_LEN) and 5 <= len(peaks) <= 25


# ---------------------------------------------------------------- training loop
def test_training_loop_learns_a_synthetic_problem():
    """Two beat shapes (bump early vs late) that a working loop must tell apart."""
    from ecg_digitize.keras_utils import keras_setup
    from ecg_digitize.keras_utils import class_weights, fit_model
    from classifiers.models import build_kachuee

    keras_setup(seed=0)
    rng = np.random.default_rng(0)
    n = 384
    y = rng.integers(0, 2, n)
    t = np.arange(pp.BEAT_LEN)
    centre = np.where(y == 1, 60, 120)[:, None] + rng.integers(-5, 6, (n, 1))
    x = (np.exp(-0.5 * ((t - centre) / 4.0) ** 2) + 0.2 * rng.standard_normal((n, pp.BEAT_LEN)))
    x = x[..., None].astype("float32")
    model = build_kachuee(2, rr_features=False)
    w = class_weights(y[:320], 2)
    hist = fit_model(model, [x[:320]], y[:320], [x[320:]], y[320:], epochs=4, batch_size=32,
                     train_weights=w[y[:320]], verbose=0)
    assert hist["loss"][-1] < hist["loss"][0]
    acc = (model.predict(x[320:], verbose=0).argmax(1) == y[320:]).mean()
    assert acc > 0.9


# ---------------------------------------------------------------- inference
@_shipped("mitbih-aami5")
def test_classify_beats_on_simulated_ecg():
    import classifiers

    ecg = _sim(duration=20, fs=360, hr=70)
    df = classifiers.classify_beats(ecg, fs=360)
    assert list(df.columns[:3]) == ["r_peak", "time", "label"]
    assert 20 <= len(df) <= 26
    probs = df[[f"prob_{c}" for c in classifiers.AAMI_CLASSES]].to_numpy()
    assert np.allclose(probs.sum(1), 1, atol=1e-4)
    assert (df.label == "N").mean() > 0.8  # clean sinus rhythm at 70 bpm
    # given R peaks are used as they are
    df2 = classifiers.classify_beats(ecg, fs=360, r_peaks=df.r_peak.to_numpy()[2:6])
    assert df2.r_peak.tolist() == df.r_peak.tolist()[2:6]


@_shipped("cinc2017-af")
def test_classify_rhythm_on_simulated_ecg():
    import classifiers

    res = classifiers.classify_rhythm(_sim(duration=30, fs=300, hr=70, seed=2), fs=300)
    assert res.label in classifiers.RHYTHM_CLASSES
    assert sum(res.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
    assert res.n_windows == 1 and res.duration_s == pytest.approx(30, abs=0.1)
    long = classifiers.classify_rhythm(_sim(duration=70, fs=300, hr=70, seed=2), fs=300)
    assert long.n_windows >= 3


@_shipped("ptbxl-mi")
def test_detect_mi_on_simulated_12_lead():
    import neurokit2 as nk

    import classifiers

    ecg = nk.ecg_simulate(duration=10, sampling_rate=500, method="multileads", random_state=3)
    res = classifiers.detect_mi(ecg.to_numpy(), fs=500)
    assert 0.0 <= res.probability <= 1.0 and res.label in ("MI", "not MI")
    assert res.n_beats >= 5


def _page_record():
    """A 3x4+II-like Record: each lead plotted 2.5 s, lead II for the whole 10 s."""
    import neurokit2 as nk

    from ecg_digitize import STANDARD_LEADS, Record

    fs = 250
    sim = nk.ecg_simulate(duration=10, sampling_rate=fs, method="multileads", random_state=4)
    sig = sim[list(STANDARD_LEADS)].to_numpy().copy()
    quarter = int(2.5 * fs)
    for j, lead in enumerate(STANDARD_LEADS):
        if lead == "II":
            continue
        col = j // 3  # I,II,III in the first column, aVR.. in the second, ...
        keep = np.zeros(sig.shape[0], bool)
        keep[col * quarter:(col + 1) * quarter] = True
        sig[~keep, j] = np.nan
    return Record(sig, fs=fs, leads=list(STANDARD_LEADS), layout="3x4+II")


def test_mi_measurements_read_q_st_and_t_in_millivolts():
    from classifiers._mi_measurements import MEASURES, measurements, median_beat

    fs, n = 500.0, 5000
    t = np.arange(n) / fs
    peaks = np.arange(400, n - 400, 400)
    x = np.zeros((n, 3))
    for p in peaks:
        d = t - p / fs
        qrs = np.exp(-(d / 0.012) ** 2) - 0.3 * np.exp(-((d + 0.03) / 0.008) ** 2)
        x[:, 0] += qrs                                              # R 1 mV, Q -0.3 mV
        x[:, 1] += qrs + 0.2 * ((d > 0.06) & (d < 0.3))             # ST raised 0.2 mV
        x[:, 2] += qrs - 0.4 * np.exp(-((d - 0.28) / 0.05) ** 2)    # T inverted 0.4 mV
    x[: n // 2, 2] = np.nan                                         # plotted half the time
    m = dict(zip(MEASURES, measurements(median_beat(x, fs, peaks), fs)))
    assert m["R"] == pytest.approx([1.0, 1.0, 1.0], abs=0.05)
    assert m["Q"] == pytest.approx([-0.3, -0.3, -0.3], abs=0.05)
    assert m["ST"] == pytest.approx([0.0, 0.2, 0.0], abs=0.03)
    assert m["T"][2] == pytest.approx(-0.4, abs=0.03) and abs(m["T"][0]) < 0.03
    x[:, 1] = np.nan                                                # never plotted
    assert np.isnan(measurements(median_beat(x, fs, peaks), fs)[:, 1]).all()


@_shipped("ptbxl-mi")
def test_detect_mi_with_a_lead_missing_counts_its_measurements_as_average():
    import classifiers
    from classifiers._models import load_model
    from classifiers.mi import fused_logit

    rec = _page_record()
    full = classifiers.detect_mi(rec)
    rec.signal[:, rec.leads.index("V2")] = np.nan
    missing = classifiers.detect_mi(rec)
    assert np.isfinite(missing.probability) and missing.probability != full.probability
    block = load_model("ptbxl-mi").ecg_info["measurements"]
    # the training mean of every measurement and of the network's logit: the average record
    average = fused_logit(np.array([block["transfer_mean"]]), np.array([block["mean"]]), block)
    assert average[0] == pytest.approx(block["platt"][1])


@_shipped("mitbih-aami5")
@_shipped("cinc2017-af")
@_shipped("ptbxl-mi")
def test_record_input_uses_lead_ii_and_drops_nan():
    import classifiers

    rec = _page_record()
    beats = classifiers.classify_beats(rec)
    assert beats.attrs["lead"] == "II" and len(beats) >= 8
    rhythm = classifiers.classify_rhythm(rec)
    assert rhythm.lead == "II" and rhythm.duration_s == pytest.approx(10, abs=0.1)
    assert any("9-61 s" in w for w in rhythm.warnings) is False  # 10 s is within range
    mi = classifiers.detect_mi(rec)
    assert 0.0 <= mi.probability <= 1.0
    # a strip without lead II: the plotted lead is used
    from ecg_digitize import Record

    strip = Record(np.column_stack([_sim(12, 250), np.full(3000, np.nan)]), fs=250,
                   leads=["V1", "II"], layout="strip")
    assert classifiers.classify_beats(strip).attrs["lead"] == "V1"


@_shipped("mitbih-aami5")
@_shipped("cinc2017-af")
@_shipped("ptbxl-mi")
def test_cli_on_wfdb_csv_and_json(tmp_path, capsys):
    import pandas as pd

    from classifiers.cli import main
    from ecg_digitize import Record

    rec = Record(_sim(duration=15, fs=250, seed=5)[:, None], fs=250, leads=["II"], source="sim")
    hea = rec.to_wfdb(tmp_path, "sim")
    csv = rec.to_csv(tmp_path / "sim.csv")
    js = rec.to_json(tmp_path / "sim.json", include_signal=True)
    out = tmp_path / "table.csv"
    assert main([str(hea), str(csv), str(js), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert len(table) == 3 and {"rhythm", "mi_probability", "n_beats"} <= set(table.columns)
    assert table.n_beats.nunique() == 1  # same signal, whatever the file format
    assert main([str(tmp_path / "missing.csv"), "--model", "cinc2017-af"]) == 1
    assert "missing.csv" in capsys.readouterr().err


def test_s_rule_reads_prematurity_against_minutes_of_rhythm():
    """Sinus pauses inflate a 10-interval mean RR, so the normal beats after them looked
    premature; against 240 intervals they do not, and a truly early beat still does."""
    from classifiers._preprocess import prematurity
    from classifiers.beats import beat_labels, rule_prematurity

    rr = np.full(600, 0.8)
    rr[300:303] = 2.0                            # three sinus pauses
    rr[450] = 0.5                                # one atrial premature beat
    r = np.r_[0, np.cumsum(rr)] * 360
    probs = np.tile([1.0, 0, 0, 0, 0], (len(r), 1))   # the network calls every beat N
    old_rule = {"s_prematurity": 0.85}
    new_rule = {"s_prematurity": 0.775, "s_prematurity_context": 240}
    old = beat_labels(probs, np.c_[np.zeros((len(r), 3)), prematurity(r, 360, 10), np.zeros(len(r))], old_rule)
    new = beat_labels(probs, np.zeros((len(r), 5)), new_rule, rule_prematurity(new_rule, r, 360))
    assert old[295:300].sum() >= 3               # normal beats near the pauses called S
    assert new[295:300].sum() == 0 and new[451] == 1 and old[451] == 1
    assert new.sum() == 1
