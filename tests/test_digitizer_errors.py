"""Bad input: every failure is a DigitizeError subclass naming the file and the reason."""
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from ecg_digitize import DigitizeError, DigitizeInternalError, ImageReadError, NotAnEcgError, digitize


def _png_with_size(path, width, height):
    """A tiny valid PNG whose header claims ``width x height`` (a decompression bomb)."""
    Image.new("L", (8, 8), 255).save(path)
    data = bytearray(path.read_bytes())
    ihdr = data[12:29]  # b"IHDR" + 13 bytes
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))


def test_missing_file(tmp_path):
    with pytest.raises(ImageReadError, match="not found"):
        digitize(tmp_path / "nope.png")


def test_zero_byte_file(tmp_path):
    p = tmp_path / "empty.png"
    p.write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty") as exc:
        digitize(p)
    assert str(p) in str(exc.value)


def test_not_an_image(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("this is not an ECG\n" * 20)
    with pytest.raises(ImageReadError, match="not an image") as exc:
        digitize(p)
    assert "notes.txt" in str(exc.value)


def test_corrupt_png(tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8)).save(good)
    bad = tmp_path / "truncated.png"
    bad.write_bytes(good.read_bytes()[:500])
    with pytest.raises(ImageReadError, match="corrupt|truncated") as exc:
        digitize(bad)
    assert "truncated.png" in str(exc.value)


def test_decompression_bomb(tmp_path):
    p = tmp_path / "bomb.png"
    _png_with_size(p, 50_000, 50_000)
    with pytest.raises(ImageReadError, match="bomb|limit") as exc:
        digitize(p)
    assert "bomb.png" in str(exc.value)


def test_tiny_image(tmp_path):
    p = tmp_path / "tiny.png"
    Image.new("RGB", (40, 30), "white").save(p)
    with pytest.raises(NotAnEcgError, match="too small"):
        digitize(p)


def test_blank_page(tmp_path):
    p = tmp_path / "blank.png"
    Image.new("RGB", (1200, 800), (250, 250, 248)).save(p)
    with pytest.raises(NotAnEcgError, match="blank") as exc:
        digitize(p)
    assert "blank.png" in str(exc.value)


def test_photo_without_ecg():
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:600, 0:900]
    photo = np.stack([120 + 80 * np.sin(xx / 90.0), 100 + 60 * np.cos(yy / 70.0),
                      90 + 0 * xx], axis=2) + rng.normal(0, 6, (600, 900, 3))
    with pytest.raises(DigitizeError) as exc:
        digitize(np.clip(photo, 0, 255).astype(np.uint8))
    assert "array" in str(exc.value)


def test_bad_options():
    img = np.full((400, 400, 3), 255, np.uint8)
    with pytest.raises(ValueError):
        digitize(img, method="neural-net-that-does-not-exist")
    with pytest.raises(DigitizeError):
        digitize(img, layout="7x7")
    with pytest.raises(ValueError, match="lead_order"):
        digitize(img, lead_order="alphabetical")


def test_pdf_page_out_of_range(tmp_path, sim12):
    from ecg_digitize.synth import render

    sig, fs, leads = sim12
    image, _ = render(sig, fs, leads, layout="3x4", seed=0, dpi=100)
    pdf = tmp_path / "page.pdf"
    Image.fromarray(image).save(pdf, "PDF", resolution=100.0)
    with pytest.raises(ImageReadError, match="page"):
        digitize(pdf, page=3)
    rec = digitize(pdf)  # page 0 renders at 200 dpi and digitizes
    assert rec.layout == "3x4"


def test_reading_with_most_leads_unfollowed_is_refused(tmp_path, sim12, monkeypatch):
    # rows found in the wrong places leave most panels without the trace: refused, not
    # returned as a reading with warnings
    from ecg_digitize.digitizer import quality
    from ecg_digitize.errors import LayoutError
    from ecg_digitize.synth import render

    sig, fs, leads = sim12
    image, _ = render(sig, fs, leads, layout="3x4", seed=1)
    p = tmp_path / "page.png"
    Image.fromarray(image).save(p)
    assert digitize(p).layout == "3x4"
    followed = {"I", "II", "III"}  # 9 of 12 leads below the confidence limit: over 2/3
    real_assess = quality.assess
    monkeypatch.setattr(quality, "assess", _assess_with(real_assess, followed))
    with pytest.raises(LayoutError, match="9 of 12 leads .* could not be followed") as exc:
        digitize(p)
    assert str(p) in str(exc.value)
    monkeypatch.setattr(quality, "assess", _assess_with(real_assess, followed | {"aVR"}))
    assert digitize(p).layout == "3x4"  # 8 of 12: a weak reading, returned with warnings


def _assess_with(assess, followed):
    def patched(record, coverages):
        return assess(record, {k: (v if k in followed else 0.1) for k, v in coverages.items()})
    return patched


def test_an_unexpected_exception_becomes_an_internal_error_naming_stage_and_file(tmp_path, sim12, monkeypatch):
    from ecg_digitize.digitizer import threshold
    from ecg_digitize.synth import render

    image, _ = render(*sim12, layout="3x4+II", dpi=100, seed=0)
    path = tmp_path / "page.png"
    Image.fromarray(image).save(path)

    def broken(*args, **kwargs):
        raise IndexError("index 0 is out of bounds for axis 0 with size 0")

    monkeypatch.setattr(threshold, "find_ink", broken)
    with pytest.raises(DigitizeInternalError, match="stage pipeline.trace_page: IndexError") as exc:
        digitize(path)
    assert str(path) in str(exc.value) and isinstance(exc.value, DigitizeError)


def test_auto_keeps_the_classical_reading_when_the_unet_route_fails(sim12, monkeypatch):
    from ecg_digitize.digitizer import pipeline, views
    from ecg_digitize.synth import render

    image, _ = render(*sim12, layout="3x4+II", dpi=100, seed=0, preset="scan")
    monkeypatch.setattr(pipeline, "_reading_suffices", lambda rec: False)  # always try the U-Net route

    def broken(rgb):
        import cv2

        return cv2.resize(rgb, (0, 0))  # the cv2.error of issue #26

    monkeypatch.setattr(pipeline, "trace_view_provider", lambda method: views.TraceViewProvider(
        make=broken, unavailable=lambda: None) if method == "unet" else views.trace_view_provider(method))
    rec = digitize(image, method="auto")
    assert rec.geometry.method == "classical"
    assert any("U-Net route failed (internal error in stage" in w for w in rec.warnings)
