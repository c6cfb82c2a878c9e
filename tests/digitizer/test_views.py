"""Stage 2: the classical trace view (denoising)."""
import numpy as np
import pytest

from ecg_digitize.digitizer import greyscale, threshold
from ecg_digitize.synth import render
from stage_helpers import views


def test_denoise_only_pages_fine_enough(sim12):
    from ecg_digitize.digitizer.views import classical_view

    sig, fs, leads = sim12
    for dpi, smoothed in [(100, False), (200, True)]:
        image, _ = render(sig, fs, leads, layout="3x4+II", dpi=dpi, seed=4, distortions={"noise": 0.03})
        out = classical_view(image).trace_dark
        assert (not np.array_equal(out, views(image)[0])) == smoothed


@pytest.mark.parametrize("ecg_id", [0, 1, 2])
def test_denoise_helps_a_noisy_jpeg_scan(ecg_id, monkeypatch):
    from ecg_digitize import digitize
    from ecg_digitize.datasets import DataNotFoundError
    from ecg_digitize.metrics import score_record
    from ecg_digitize.synth import load_ptbxl, ptbxl_records

    try:
        record = ptbxl_records(folds=[9])[ecg_id]
    except DataNotFoundError as e:
        pytest.skip(f"PTB-XL not available: {e}")
    sig, fs, leads = load_ptbxl(record)
    image, truth = render(sig, fs, leads, layout="3x4+II", dpi=150, seed=record, grid_style="dotted",
                          distortions={"jpeg": 60, "noise": 0.02})
    with_filter = score_record(digitize(image), truth).snr
    monkeypatch.setattr(greyscale, "denoise", lambda rgb, **kw: rgb)
    without = score_record(digitize(image), truth).snr
    assert with_filter > without + 0.2


def test_jpeg_with_subsampled_chroma_at_100_dpi(sim12):
    # 4:2:0 chroma smears a thin red grid into the trace view, in lines broken by the JPEG
    # blocks; the threshold must still see them as grid (the page was read as an 11-row strip)
    import io

    from PIL import Image

    from ecg_digitize import digitize

    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout="3x4+II", dpi=100, seed=3)
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=92)  # PIL's default: 4:2:0
    rec = digitize(Image.open(buf))
    assert rec.layout == "3x4+II"
    assert rec.calibration.px_per_mm == pytest.approx(truth.calibration.px_per_mm, rel=0.01)
    _, mask = threshold.adaptive_otsu(views(np.asarray(Image.open(buf).convert("RGB")))[0])
    assert mask.mean() < 0.03  # the grid is not in the trace mask
