"""Pages as archives and phones hold them: each encoding decodes like the page's PNG.

Every file is built here with Pillow from a rendered page (``ecg_digitize.synth.render``)
and decoded by :func:`ecg_digitize.digitizer.load.load_image`; the decoded RGB array must
equal (lossless encodings) or approximate (JPEG) the PNG's decode, and for a few the
digitized signals must score within 2 dB of the PNG's reading.
"""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from PIL import Image, TiffImagePlugin

from ecg_digitize.digitizer.load import load_image
from ecg_digitize.errors import ImageReadError

DPI = 200


@pytest.fixture(scope="module")
def rendered(sim12):
    from ecg_digitize.synth import render

    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout="3x4+II", dpi=DPI, seed=0)
    return image, truth


@pytest.fixture(scope="module")
def png_page(rendered, tmp_path_factory):
    path = tmp_path_factory.mktemp("png") / "page.png"
    Image.fromarray(rendered[0]).save(path, dpi=(DPI, DPI))
    return path


@pytest.fixture(scope="module")
def png_reading(png_page, rendered):
    from ecg_digitize import digitize
    from ecg_digitize.metrics import score_record

    return score_record(digitize(png_page), rendered[1]).snr


def _grey(rendered) -> np.ndarray:
    return np.asarray(Image.fromarray(rendered[0]).convert("L"))


def _rgb_of_grey(grey: np.ndarray) -> np.ndarray:
    return np.repeat(grey[..., None], 3, axis=2)


def _reads_as_well(path, truth, png_snr, **kw) -> None:
    from ecg_digitize import digitize
    from ecg_digitize.metrics import score_record

    snr = score_record(digitize(path, **kw), truth).snr
    assert snr > png_snr - 2.0, (snr, png_snr)


def test_png_reads(png_reading):
    assert png_reading > 10  # the reference the other encodings are held to


def test_exif_orientation(rendered, tmp_path, png_reading):
    """A phone's JPEG/PNG stored sideways with Orientation=6 (rotate 90 degrees clockwise)."""
    page = Image.fromarray(rendered[0])
    stored = page.transpose(Image.Transpose.ROTATE_90)  # what the sensor wrote
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "phone.png"
    stored.save(path, exif=exif, dpi=(DPI, DPI))
    decoded = load_image(path).rgb
    assert decoded.shape == rendered[0].shape
    assert np.array_equal(decoded, rendered[0])
    _reads_as_well(path, rendered[1], png_reading)


def test_16bit_png_scaled_not_clipped(rendered, tmp_path, png_reading):
    grey = _grey(rendered)
    path = tmp_path / "page16.png"
    Image.fromarray(grey.astype(np.uint16) * 257).save(path)
    assert Image.open(path).mode == "I;16"
    assert np.array_equal(load_image(path).rgb, _rgb_of_grey(grey))
    _reads_as_well(path, rendered[1], png_reading)


def test_12bit_values_in_16bit_tiff(rendered, tmp_path):
    """A 12-bit scanner's page (0..4095 in 16 bits) fills 0..255, it is not left dark."""
    grey = _grey(rendered)
    path = tmp_path / "page12.tif"
    Image.fromarray((grey.astype(np.uint32) * 4095 // 255).astype(np.uint16)).save(path)
    decoded = load_image(path).rgb[..., 0].astype(int)
    assert np.abs(decoded - grey).max() <= 1


def test_32bit_tiff(rendered, tmp_path):
    grey = _grey(rendered)
    path = tmp_path / "page32.tif"
    Image.fromarray(grey.astype(np.int32) * 65793, "I").save(path, compression="tiff_deflate")
    assert Image.open(path).mode == "I"
    assert np.array_equal(load_image(path).rgb, _rgb_of_grey(grey))


def test_float_tiff(rendered, tmp_path):
    """Mode F in 0..1 (what image software writes for float pages): not clipped to black."""
    grey = _grey(rendered)
    path = tmp_path / "pagef.tif"
    Image.fromarray(grey.astype(np.float32) / 255, "F").save(path)
    decoded = load_image(path).rgb[..., 0].astype(int)
    assert np.abs(decoded - grey).max() <= 1


def test_16bit_decoding_memory(tmp_path):
    """A 16-bit page costs its 8-bit result and a few bands, not float64 copies of itself."""
    h, w = 2000, 3000
    arr = np.full((h, w), 65535, np.uint16)
    arr[::50] = 0
    path = tmp_path / "big16.png"
    Image.fromarray(arr).save(path)
    tracemalloc.start()
    try:
        rgb = load_image(path).rgb
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rgb.dtype == np.uint8 and rgb[1, 1, 0] == 255 and rgb[0, 0, 0] == 0
    # 8-bit RGB result 18 MB + 16-bit copy 12 MB + bands; float64 copies would be 100+ MB
    assert peak < 3 * h * w + 2 * h * w + 40e6, peak / 1e6


def test_uint16_array_scaled(rendered):
    grey = _grey(rendered)
    assert np.array_equal(load_image(grey.astype(np.uint16) * 257).rgb, _rgb_of_grey(grey))


def test_palette(rendered, tmp_path):
    pal = Image.fromarray(rendered[0]).quantize(64)
    path = tmp_path / "pal.png"
    pal.save(path)
    assert Image.open(path).mode == "P"
    assert np.array_equal(load_image(path).rgb, np.asarray(pal.convert("RGB")))


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_composited_on_white(rendered, tmp_path, mode):
    base = rendered[0] if mode == "RGBA" else _grey(rendered)
    alpha = np.full(base.shape[:2], 255, np.uint8)
    alpha[:200] = 0  # transparent band: its (black) colour must read as paper
    colour = base.copy()
    colour[:200] = 0
    arr = np.dstack([colour, alpha])
    path = tmp_path / f"alpha_{mode}.png"
    Image.fromarray(arr, mode).save(path)
    decoded = load_image(path).rgb
    want = base.copy()
    want[:200] = 255
    assert np.array_equal(decoded, want if mode == "RGBA" else _rgb_of_grey(want))


def test_bilevel_ccitt_g4_tiff(rendered, tmp_path):
    bits = _grey(rendered) > 160
    path = tmp_path / "fax.tif"
    Image.fromarray(bits).convert("1").save(path, compression="group4")
    assert Image.open(path).mode == "1"
    assert np.array_equal(load_image(path).rgb, _rgb_of_grey(np.where(bits, 255, 0).astype(np.uint8)))


def test_cmyk_jpeg(rendered, tmp_path, png_reading):
    path = tmp_path / "cmyk.jpg"
    Image.fromarray(rendered[0]).convert("CMYK").save(path, quality=95, dpi=(DPI, DPI))
    assert Image.open(path).mode == "CMYK"
    decoded = load_image(path).rgb.astype(int)
    assert np.abs(decoded - rendered[0]).mean() < 3
    _reads_as_well(path, rendered[1], png_reading)


def test_multipage_tiff_page(rendered, tmp_path, monkeypatch):
    blank = Image.new("RGB", (800, 600), "white")
    page = Image.fromarray(rendered[0])
    path = tmp_path / "pages.tif"
    blank.save(path, save_all=True, append_images=[page, blank], compression="tiff_lzw")

    def no_counting(self):
        raise AssertionError("n_frames was asked: it reads every frame of the file")

    monkeypatch.setattr(TiffImagePlugin.TiffImageFile, "n_frames", property(no_counting))
    loaded = load_image(path, page=1)
    assert np.array_equal(loaded.rgb, rendered[0]) and loaded.source.endswith("#page=1")
    with pytest.raises(ImageReadError, match="pages.tif.*page=7 does not exist"):
        load_image(path, page=7)


def test_pdf_page(rendered, tmp_path):
    page = Image.fromarray(rendered[0])
    blank = Image.new("RGB", page.size, "white")
    path = tmp_path / "two.pdf"
    blank.save(path, save_all=True, append_images=[page], resolution=DPI)
    decoded = load_image(path, page=1).rgb.astype(int)
    h, w = rendered[0].shape[:2]
    assert abs(decoded.shape[0] - h) <= 1 and abs(decoded.shape[1] - w) <= 1  # points round
    h, w = (min(h, decoded.shape[0]) // 8) * 8, (min(w, decoded.shape[1]) // 8) * 8

    def blocks(a):  # 8 x 8 means: PDF points resample the page by a fraction of a pixel
        return a[:h, :w].reshape(h // 8, 8, w // 8, 8, 3).mean(axis=(1, 3))

    assert np.abs(blocks(decoded) - blocks(rendered[0].astype(int))).mean() < 4
    with pytest.raises(ImageReadError, match="two.pdf.*page=2 does not exist"):
        load_image(path, page=2)


def test_errors_name_the_file(tmp_path):
    bad = tmp_path / "broken.tif"
    good = tmp_path / "ok.tif"
    Image.new("L", (400, 300), 255).save(good)
    bad.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ImageReadError, match="broken.tif"):
        load_image(bad)


def test_too_many_pixels_one_message(tmp_path):
    """Over our limit or Pillow's own (2 x 89 Mpx), the same project message (#27 item 5)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    def lying_png(w, h):  # a tiny PNG whose header claims w x h pixels
        ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))

    messages = []
    for w in (15000, 30000):  # 225 Mpx (ours) and 900 Mpx (Pillow's DecompressionBombError)
        path = tmp_path / f"huge{w}.png"
        path.write_bytes(lying_png(w, w))
        with pytest.raises(ImageReadError, match=f"huge{w}.png") as err:
            load_image(path)
        messages.append(err.value.reason)
    assert all("exceeds the 200 Mpx limit" in m for m in messages), messages
    assert not any("178956970" in m or "DOS" in m for m in messages), messages
