"""Long-term V / F marking (issue #29): the beat route's check, the overview picture and
``ecg-classify --long-term``. Tests that need the shipped models or MIT-BIH skip without them."""
from __future__ import annotations

import numpy as np
import pytest

from ecg_digitize.datasets import has_dataset
from ecg_digitize.neural import longterm as lt

from classifiers.longterm import segment_long_term

HAS_MODELS = lt.default_model_path().exists() and (lt.default_model_path().parent / "mitbih-aami5.keras").exists()
needs_models = pytest.mark.skipif(not HAS_MODELS, reason="pretrained longterm-vf / mitbih-aami5 absent")


class ConstantImage:
    """A stand-in image network that gives every sample the same probabilities."""

    def __init__(self, p):
        self.p = np.asarray(p, np.float32)

    def predict(self, imgs, batch_size=8, verbose=0):
        return np.broadcast_to(self.p, imgs.shape[:3] + (3,)).copy()


@pytest.fixture(scope="module")
def sinus():
    import neurokit2 as nk

    fs = 360
    return nk.ecg_simulate(duration=120, sampling_rate=fs, heart_rate=70, random_state=3), fs


def test_combination_lets_the_beat_route_outvote_a_wrong_image_call():
    img = np.array([[0.25, 0.75, 0.0],    # wide normal beat: image says V ...
                    [0.80, 0.20, 0.0],    # PVC the image nearly missed ...
                    [0.10, 0.90, 0.0],    # PVC both see
                    [0.20, 0.80, 0.0]])   # fusion beat: ectopic to the image, not F
    beat = np.array([[0.99, 0.01, 0.0],   # ... the patient's own template says normal
                     [0.02, 0.97, 0.01],  # ... the beat network is sure
                     [0.05, 0.95, 0.0],
                     [0.10, 0.25, 0.65]])  # ... the beat network: F
    p = lt.combine_routes(img, beat)
    assert lt.combined_labels(p).tolist() == [0, 1, 1, 2]
    np.testing.assert_allclose(p.sum(1), 1, atol=1e-6)


def test_image_beat_probabilities_average_over_the_beat_extent():
    p = np.zeros((640, 3), np.float32)
    p[:, 0] = 1
    p[300:320] = (0.5, 0.5, 0)        # half of beat 2's extent (64 Hz: 307..339)
    out = lt.image_beat_probabilities(p, [100 * 360 // 64, 320 * 360 // 64], 360.0)
    assert out[0].tolist() == [1, 0, 0]
    assert 0.1 < out[1, 1] < 0.5


@needs_models
def test_check_beats_removes_the_image_routes_false_pvcs(sinus):
    x, fs = sinus
    wrong = ConstantImage([0.3, 0.7, 0.0])   # calls every sample V
    image_only = segment_long_term(x, fs, model=wrong, check_beats=False)
    assert image_only and all(lab == "V" for *_, lab in image_only)
    segs, beats = segment_long_term(x, fs, model=wrong, return_beats=True)
    assert segs == []
    assert len(beats) > 100 and (beats.image_label == "V").all()
    assert (beats.beat_label == "other").all() and not beats.agree.any()
    assert beats.attrs["image_segments"] == image_only


@needs_models
def test_without_beats_the_image_route_is_returned(sinus):
    x, fs = sinus
    segs, beats = segment_long_term(np.zeros(fs), fs, model=ConstantImage([0.3, 0.7, 0]),
                                       return_beats=True)
    assert segs == [(0, fs, "V")] and len(beats) == 0
    assert any("image route only" in w for w in beats.attrs["warnings"])


def test_overview_rows_and_counts():
    import matplotlib

    matplotlib.use("Agg")
    fs = 50.0
    x = np.sin(np.linspace(0, 2000, int(1800 * fs)))          # 30 min
    segs = [(int(t * fs), int(t * fs) + 10, "V") for t in (5, 6, 130)] + \
           [(int(1700 * fs), int(1700 * fs) + 10, "F")]
    ax = lt.plot_overview(x, fs, segs)
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 15                                  # 2 min rows
    assert texts[0] == "V 2  F 0" and texts[1] == "V 1  F 0" and texts[14] == "V 0  F 1"
    assert lt.overview_row_seconds(24 * 3600) == 3600.0      # a Holter: hours as rows


@needs_models
def test_cli_long_term_writes_the_overview(tmp_path, sinus, capsys):
    from ecg_digitize import Record

    from classifiers.cli import main

    x, fs = sinus
    Record(np.asarray(x)[:, None], fs=fs, leads=["II"]).to_wfdb(tmp_path, "holter")
    png = tmp_path / "overview.png"
    assert main(["--long-term", str(tmp_path / "holter.hea"), "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "longterm_V" in out and "longterm_disagree" in out
    assert png.exists() and png.stat().st_size > 10_000


def test_cli_plot_needs_long_term(tmp_path):
    from classifiers.cli import main

    with pytest.raises(SystemExit):
        main([str(tmp_path / "x.hea"), "--plot", str(tmp_path / "o.png")])


@needs_models
@pytest.mark.skipif(not has_dataset("mitdb"), reason="MIT-BIH not available")
def test_check_beats_cuts_false_pvcs_in_an_unseen_bundle_branch_block_patient():
    """DS2 record 117 (no V beat, wide normal beats): the image route alone marks many."""
    from ecg_digitize.neural.train_longterm import load_record, match_segments

    r = load_record(117)
    n = int(r["fs"] * 300)
    keep = r["r_peak"] < n
    segs, beats = segment_long_term(r["raw"][:n], r["fs"], return_beats=True)
    image = match_segments(beats.attrs["image_segments"], r["r_peak"][keep], r["code"][keep],
                           n, r["fs"])
    combined = match_segments(segs, r["r_peak"][keep], r["code"][keep], n, r["fs"])
    assert image["V"][3] > 100                       # false V ranges of the image route
    assert combined["V"][3] <= 0.05 * image["V"][3]
