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


def test_denoise_helps_noisy_jpeg_scans(monkeypatch):
    """Three noisy JPEG'd dotted-grid pages: the filter gains over 0.5 dB on average and
    costs no page more than 0.7 dB (the third: its samples, each a mean over 3 ms of the
    path, already average out the noise the filter takes away)."""
    from ecg_digitize import digitize
    from ecg_digitize.datasets import DataNotFoundError
    from ecg_digitize.metrics import score_record
    from ecg_digitize.synth import load_ptbxl, ptbxl_records

    try:
        records = ptbxl_records(folds=[9])[:3]
    except DataNotFoundError as e:
        pytest.skip(f"PTB-XL not available: {e}")
    pages = []
    for record in records:
        sig, fs, leads = load_ptbxl(record)
        pages.append(render(sig, fs, leads, layout="3x4+II", dpi=150, seed=record, grid_style="dotted",
                            distortions={"jpeg": 60, "noise": 0.02}))
    with_filter = np.array([score_record(digitize(image), truth).snr for image, truth in pages])
    monkeypatch.setattr(greyscale, "denoise", lambda rgb, **kw: rgb)
    without = np.array([score_record(digitize(image), truth).snr for image, truth in pages])
    assert with_filter.mean() > without.mean() + 0.5
    assert np.all(with_filter > without - 0.7)


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


@pytest.mark.parametrize("frame_px", [1, 2, 3])
def test_page_frame_is_neither_grid_nor_trace(sim12, frame_px):
    """A black frame along the page's edges (ECG-Image-Kit draws one) is dark at every
    threshold: counted as grid it drove the threshold past a grey pen until no trace
    was left, and the page was refused."""
    from ecg_digitize import digitize
    from ecg_digitize.digitizer.views import classical_view
    from ecg_digitize.metrics import score_record

    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout="3x4+II", seed=5, header="eik", footer=True,
                          trace_color=(31, 31, 31), frame_px=frame_px)
    dark = classical_view(image).trace_dark
    edge = np.zeros(dark.shape, bool)
    edge[:frame_px], edge[-frame_px:], edge[:, :frame_px], edge[:, -frame_px:] = True, True, True, True
    assert dark[edge].max() == 0.0
    ink = threshold.find_ink(dark)
    trace = truth.geometry["trace_mask"] > 0
    assert (ink.mask & trace).sum() / trace.sum() > 0.9
    rec = digitize(image)
    assert rec.layout == "3x4+II"
    assert score_record(rec, truth).snr > 20


def test_a_page_without_a_frame_is_left_as_it_is(page):
    from ecg_digitize.digitizer.views import classical_view

    image, _ = page
    assert threshold.border_widths(classical_view(image).trace_dark) == (0, 0, 0, 0)


def test_a_thresholded_one_bit_page_reads_close_to_its_grey_page(sim12):
    """Cut at a threshold, the grid is as black as the pen and the pen's edges hold no
    sub-pixel position. With the thin grid lines out of the trace view and the steep
    strokes' stairs a pixel wide, the 1-bit ECG-Image-Kit-like page reads within 3 dB of
    its grey page (it was 3.9 dB below; 1.9 dB until samples became 3 ms means of the
    path, which the grey page's anti-aliased strokes gain more from: 30.05 -> 30.39 dB
    against 31.96 -> 33.23)."""
    from ecg_digitize import digitize
    from ecg_digitize.metrics import score_record

    sig, fs, leads = sim12
    snr = []
    for bilevel in (False, 0.5):
        image, truth = render(sig, fs, leads, layout="3x4+II", dpi=200, seed=0, bilevel=bilevel,
                              header="eik", footer=True, trace_color=(31, 31, 31))
        snr.append(score_record(digitize(image, method="classical"), truth).snr)
    assert snr[0] - snr[1] < 3.0, snr


def test_thin_grid_lines_leave_only_a_thresholded_straight_page(sim12):
    from ecg_digitize.digitizer.views import classical_view

    sig, fs, leads = sim12
    kw = dict(layout="3x4+II", dpi=200, seed=0, header="eik", trace_color=(31, 31, 31))
    thresholded, _ = render(sig, fs, leads, bilevel=0.5, **kw)
    grid_line = classical_view(thresholded).grid_dark > 0.3
    # the grid lines are out of the trace view: its darkness on them is paper's
    assert np.median(classical_view(thresholded).trace_dark[grid_line]) < 0.05
    # a dithered page keeps its grey levels (no thin lines of its own are taken out)
    from PIL import Image
    dithered = np.asarray(Image.fromarray(render(sig, fs, leads, **kw)[0]).convert("L").convert("1").convert("RGB"))
    assert greyscale.is_dithered(dithered) and not greyscale.is_dithered(thresholded)


def _turned_then_thresholded(page: np.ndarray, degrees: float) -> np.ndarray:
    from PIL import Image

    turned = Image.fromarray(page).rotate(degrees, resample=Image.Resampling.BICUBIC, fillcolor=(255, 255, 255))
    return np.asarray(turned.convert("L").convert("1", dither=Image.Dither.NONE).convert("RGB"))


def test_a_skewed_thresholded_page_loses_its_grid_lines_along_the_skew(sim12):
    """A page fed 2 deg askew, then cut at a threshold (a fax, a G4 archive scan): its
    grid lines are staircases, not runs along the rows. Taken out along the skew, the
    trace view is paper on them (darkness 0.07, was 0.50) and the page reads 25.6 dB
    (1.4 dB with the lines in, 33.9 its grey page)."""
    from ecg_digitize import digitize
    from ecg_digitize.digitizer.views import classical_view
    from ecg_digitize.metrics import score_record

    sig, fs, leads = sim12
    page, truth = render(sig, fs, leads, layout="3x4+II", dpi=200, seed=0, header="eik",
                         trace_color=(31, 31, 31))
    one_bit = _turned_then_thresholded(page, 2.0)
    view = classical_view(one_bit)
    assert np.median(view.trace_dark[view.grid_dark > 0.3]) < 0.15
    assert score_record(digitize(one_bit, method="classical"), truth).snr > 20


def test_a_skewed_page_whose_grid_broke_into_dashes_keeps_the_wider_blur(sim12):
    """Our light grid turned 2 deg and then cut at a threshold breaks into dashes that no
    line search takes out; blurred as a cleaned page (0.6 px) they passed for rows (7.9
    dB). Blurred as for the grid (0.8 px) the page reads 27.0 dB."""
    from ecg_digitize import digitize
    from ecg_digitize.metrics import score_record

    sig, fs, leads = sim12
    page, truth = render(sig, fs, leads, layout="3x4+II", dpi=200, seed=0, header="eik", bilevel=0.5,
                         trace_color=(31, 31, 31), distortions={"rotation": 2.0})
    assert score_record(digitize(page, method="classical"), truth).snr > 20


def test_a_thresholded_pages_two_pixel_grid_lines_go_under_a_thicker_pen(sim12):
    """Our scan cut at a threshold keeps its 5 mm lines two pixels thick: left in the trace
    view, a row's path ran along one past its pulse's top (17.3 dB). Taken out, as the
    pen is four pixels thick, the page reads 26.1 dB."""
    from ecg_digitize import digitize
    from ecg_digitize.metrics import score_record

    sig, fs, leads = sim12
    page, truth = render(sig, fs, leads, layout="3x4+II", preset="scan", dpi=200, seed=5, bilevel=True)
    assert greyscale.pen_width_px(page, 39) >= 4
    assert score_record(digitize(page, method="classical"), truth).snr > 24


def test_a_thin_pens_flat_lead_stays_on_a_thresholded_page(sim12):
    """Drawn with a thin pen, a flat lead (aVL at 0 mV) is a straight run two pixels thick,
    like the grid's 5 mm lines: those stay, so that it stays (taken out, under 1 % of
    aVL's samples were read)."""
    from ecg_digitize import digitize

    sig, fs, leads = sim12
    sig = sig.copy()
    sig[:, leads.index("aVL")] = 0.0
    page, _ = render(sig, fs, leads, layout="3x4+II", preset="scan", dpi=200, seed=5, bilevel=True,
                     trace_width_px=1)
    assert greyscale.pen_width_px(page, 39) < 4
    rec = digitize(page, method="classical")
    avl = rec.signal[:, rec.leads.index("aVL")]
    assert np.isfinite(avl).mean() > 0.2 and np.nanmax(np.abs(avl)) < 0.3


def test_grid_lines_go_but_thin_strokes_stay_on_a_flattened_photo():
    """A photo's neutral grid divided out of its trace view: a thin QRS stroke as straight
    as a grid line for 5 mm, but 15 mm tall, keeps its darkness where the grid lines go,
    and so does a grid line bent by 3 px (as light as the others, so still grid)."""
    px_per_mm = 8
    dark = np.zeros((400, 400), np.float32)
    dark[:, 4::40] = dark[4::40, :] = 0.25                           # 5 mm grid lines
    dark[:200, 204], dark[200:, 207] = 0.3, 0.3                      # one bent 3 px halfway
    dark[150:270, 112] = 0.5                                         # a thin stroke, 15 mm
    run, span = 5 * px_per_mm + 1, 30 * px_per_mm
    without_span, _ = greyscale.without_grid_lines(dark, run)
    clean, _ = greyscale.without_grid_lines(dark, run, span=span)
    assert without_span[150:270, 112].mean() < 0.35                 # the plain opening fades it
    off_lines = [r for r in range(150, 270) if r % 40 != 4]           # crossings are ink over ink
    assert clean[off_lines, 112].min() == pytest.approx(0.5)
    grid = np.delete(clean, 112, axis=1)                             # every line, the bent one too
    assert grid.max() < 0.1
