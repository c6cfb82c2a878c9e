"""The quality model's expected SNR and verdict, plausibility rules, and where the verdict
shows (issue #26, items 1-3)."""
import json

import numpy as np
import pytest

from ecg_digitize import Record, digitize
from ecg_digitize.batch.convert import BatchSummary
from ecg_digitize.batch.worker import quality_fields
from ecg_digitize.digitizer import evidence, quality
from ecg_digitize.geometry import PageGeometry, RowBand
from ecg_digitize.record import Calibration


@pytest.fixture(scope="module")
def clean_and_wrong(sim12):
    """A clean 3x4+II page read, and its left 40 % (a 12-lead page of 4 s at 25 mm/s; its
    left half is read right since 10 s rows are tried where two lead-change marks confirm them)."""
    from ecg_digitize.synth import render

    sig, fs, leads = sim12
    image, _ = render(sig, fs, leads, layout="3x4+II", dpi=150, seed=3)
    return digitize(image), digitize(image[:, : int(image.shape[1] * 0.4)])


def test_model_is_shipped_and_reads_only_features_the_evidence_has(clean_and_wrong):
    model = quality.load_model()
    assert model is not None and {"page", "lead"} <= set(model)
    page, leads = evidence.reading_features(clean_and_wrong[0])
    row = evidence.lead_row(page, next(iter(leads.values())))
    assert {s[0] for s in model["page"]["stumps"]} <= set(page)
    assert {s[0] for s in model["lead"]["stumps"]} <= set(row)
    for part in ("page", "lead"):
        t = model[part]["thresholds"]
        assert t["failed"] < t["good"]


def test_clean_page_is_good_and_a_wrong_reading_is_not(clean_and_wrong):
    clean, wrong = clean_and_wrong
    assert clean.quality["verdict"] == "good"
    assert clean.quality["expected_snr_db"] >= quality.load_model()["page"]["thresholds"]["good"]
    assert set(clean.quality["lead_verdicts"]) == set(clean.leads)
    assert wrong.quality["verdict"] != "good"
    assert wrong.quality["expected_snr_db"] < clean.quality["expected_snr_db"] - 5
    assert any("quality verdict" in w for w in wrong.warnings)
    assert any(" s at 25 mm/s has rows of " in f for f in wrong.quality["findings"])


def test_limb_leads_that_disagree_are_at_best_check(clean_and_wrong, monkeypatch):
    """A reading whose limb leads contradict each other is not "good", even where the
    model expects a good SNR (phone-photos 03932); its chest leads keep their verdicts."""
    confident = {part: {"init": 30.0, "stumps": [], "thresholds": {"good": 15.0, "failed": 4.0}}
                 for part in ("page", "lead")}
    monkeypatch.setattr(quality, "load_model", lambda: confident)
    clean = clean_and_wrong[0]
    flipped = clean.signal * np.where(np.isin(clean.leads, ["I", "aVR"]), -1.0, 1.0)  # upside down
    for signal, verdict in ((clean.signal, "good"), (flipped, "check")):
        rec = Record(signal, fs=clean.fs, leads=clean.leads, layout=clean.layout,
                     calibration=clean.calibration, geometry=clean.geometry)
        quality.assess(rec, {n: 1.0 for n in clean.leads})
        assert rec.quality["verdict"] == verdict
        limb = {rec.quality["lead_verdicts"][n] for n in ("I", "II", "III", "aVR", "aVL", "aVF")}
        assert limb == {verdict} and rec.quality["lead_verdicts"]["V1"] == "good"
    assert rec.quality["self_consistency_db"]["mean"] < quality.MIN_CONSISTENT_DB


def _grid_record(seconds: float, x_span_px: float, px_per_mm: float = 8.0, rate_hz: float = 1.2) -> Record:
    fs = 500
    t = np.arange(int(seconds * fs)) / fs
    beats = np.exp(-((t * rate_hz) % 1.0 - 0.5) ** 2 / 2e-4)
    sig = np.tile(beats[:, None], (1, 12))
    geo = PageGeometry(image_shape=[1600, 2300], x_start=100.0, x_end=100.0 + x_span_px, method="classical",
                       rows=[RowBand(400.0, 300, 500)], scale_source="grid")
    return Record(sig, fs=fs, leads=["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"],
                  layout="3x4+II", calibration=Calibration(px_per_mm=px_per_mm, mm_per_s=25.0, mm_per_mv=10.0),
                  geometry=geo)


def test_plausibility_flags_a_twelve_lead_page_of_five_seconds():
    assert evidence.plausibility(_grid_record(10.0, 250 * 8.0)) == []
    findings = evidence.plausibility(_grid_record(5.0, 125 * 8.0))
    assert len(findings) == 1 and "3x4+II page of 5.00 s" in findings[0]


def test_plausibility_flags_heart_rate_and_page_size():
    fast = evidence.plausibility(_grid_record(10.0, 250 * 8.0, rate_hz=6.0))  # 360 bpm
    assert any("heart rate of 36" in f and "outside 20-300 bpm" in f for f in fast)
    huge = evidence.plausibility(_grid_record(10.0, 250 * 2.0, px_per_mm=2.0))
    assert any("picture is 1150 mm long" in f for f in huge)


def test_flagged_reading_is_at_best_check():
    thresholds = {"good": 10.0, "failed": 3.0}
    assert quality.verdict_of(25.0, thresholds, flagged=True) == "check"
    assert quality.verdict_of(2.0, thresholds, flagged=True) == "failed"


def test_lead_heart_rate_finds_seventy_bpm():
    fs = 500
    t = np.arange(10 * fs) / fs
    beats = np.exp(-((t * 70 / 60) % 1.0 - 0.5) ** 2 / 2e-4)
    assert evidence.lead_heart_rate(beats, fs) == pytest.approx(70, abs=1.5)


def test_batch_summary_lists_pages_to_review():
    summary = BatchSummary(out="o", manifest="m", engine="local", workers=1, review_below=12.0)
    summary.note_quality({"input": "/a.png", "page": 0, "verdict": "good", "expected_snr_db": 18.0})
    summary.note_quality({"input": "/b.png", "page": 0, "verdict": "good", "expected_snr_db": 11.0})
    summary.note_quality({"input": "/c.png", "page": 2, "verdict": "check", "expected_snr_db": 6.0})
    assert summary.verdicts == {"good": 2, "check": 1}
    assert [r["input"] for r in summary.review] == ["/b.png", "/c.png"]
    text = str(summary)
    assert "quality verdicts: good 2, check 1" in text
    assert "/c.png#page=2: check, expected SNR 6.0 dB" in text and "/a.png" not in text


def test_manifest_quality_fields_from_a_record(clean_and_wrong):
    fields = quality_fields(clean_and_wrong[1].quality)
    assert fields["verdict"] in ("check", "failed") and isinstance(fields["expected_snr_db"], float)


def test_batch_cli_review_below(tmp_path, clean_and_wrong, capsys):
    import cv2

    from ecg_digitize.cli import main
    from ecg_digitize.synth import render, simulate_12lead

    sig, fs, leads = simulate_12lead(seed=1)
    image, _ = render(sig, fs, leads, layout="3x4+II", dpi=100, seed=1)
    (tmp_path / "in").mkdir()
    cv2.imwrite(str(tmp_path / "in" / "a.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    rc = main(["batch", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--workers", "1", "--quiet",
               "--review-below", "99"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "quality verdicts:" in text and "to review (1, expected SNR under 99 dB" in text
    row = json.loads((tmp_path / "out" / "manifest.jsonl").read_text().splitlines()[-1])
    assert row["verdict"] in quality.VERDICTS and row["expected_snr_db"] is not None


def test_classify_warns_on_a_doubtful_page(tmp_path, clean_and_wrong):
    from classifiers.cli import classify_file

    doubtful = clean_and_wrong[1]
    path = doubtful.to_json(tmp_path / "page.json", include_signal=True)
    row = classify_file(path, models=("ptbxl-mi",))
    assert row["verdict"] == doubtful.quality["verdict"] != "good"
    assert "doubtful digitization" in row["warnings"]


def test_digitize_cli_prints_the_verdict(tmp_path, capsys):
    import cv2

    from ecg_digitize.cli import main
    from ecg_digitize.synth import render, simulate_12lead

    sig, fs, leads = simulate_12lead(seed=2)
    image, _ = render(sig, fs, leads, layout="3x4+II", dpi=100, seed=2)
    cv2.imwrite(str(tmp_path / "p.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    assert main(["digitize", str(tmp_path / "p.png"), "-o", str(tmp_path / "out")]) == 0
    assert ", verdict " in capsys.readouterr().out


def test_web_page_shows_the_verdict():
    from pathlib import Path

    static = Path(quality.__file__).resolve().parent.parent / "web" / "static"
    assert 'id="verdict"' in (static / "index.html").read_text()
    assert "q.verdict" in (static / "app.js").read_text()
