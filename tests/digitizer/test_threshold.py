"""Stage 3, ink: colour views, adaptive Otsu, pen core."""
import numpy as np
import pytest

from ecg_digitize.digitizer import greyscale, threshold
from ecg_digitize.synth import render
from stage_helpers import views


def test_colour_views_separate_grid_from_trace(page):
    image, truth = page
    tv = greyscale.trace_view(image)
    trace = truth.geometry["trace_mask"] > 0
    assert tv[trace].mean() > 0.6
    grid_px = (greyscale.grid_view(image) > 0.3) & ~trace
    assert tv[grid_px].mean() < 0.2  # the red grid nearly vanishes from the trace view


@pytest.mark.parametrize("color", ["red", "grey"])
def test_adaptive_otsu_keeps_trace_drops_grid(sim12, color):
    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout="3x4", seed=1, grid_color=color, labels=False, header=False)
    _, mask = threshold.adaptive_otsu(views(image)[0])
    trace = truth.geometry["trace_mask"] > 0
    assert (mask & trace).sum() / trace.sum() > 0.95
    assert (mask & ~trace).sum() / mask.sum() < 0.5  # what is left is anti-aliasing and the pulse


def test_adaptive_otsu_keeps_tall_thick_strokes(sim12):
    # a 4 mV QRS drawn with a 0.45 mm pen is a long straight vertical run, like a grid
    # line; taking it for grid used to push the threshold until the whole trace vanished
    sig, fs, leads = sim12
    big = sig.copy()
    for lead in ("V1", "V2", "V3", "V4"):
        big[:, leads.index(lead)] *= 4.0 / np.nanmax(np.abs(big[:, leads.index(lead)]))
    image, truth = render(big, fs, leads, layout="3x4", seed=1, trace_width_mm=0.45)
    _, mask = threshold.adaptive_otsu(views(image)[0])
    trace = truth.geometry["trace_mask"] > 0
    assert (mask & trace).sum() / trace.sum() > 0.95


def test_black_grid_nearly_as_dark_as_the_pen_is_removed(sim12):
    # a photocopied sheet: grid lines (60, 60, 60) a little lighter than the pen. The
    # threshold stopped short of the pen's darkness (for thick pens' tall strokes) and
    # left the 5 mm lines in the mask, broken into pieces too short to count as grid
    from ecg_digitize import digitize
    from ecg_digitize.metrics import score_record

    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout="3x4+II", seed=3, grid_color="black")
    rec = digitize(image)
    assert rec.layout == "3x4+II"
    assert score_record(rec, truth).snr > 20


def test_adaptive_otsu_keeps_tall_qrs_merged_across_rows(sim12):
    """12x1 at 100 dpi with large precordial QRS: strokes of neighbouring rows join into
    vertical lines across the page. Without horizontal lines beside them they are not a
    grid, so the threshold must not climb until they (and most of the trace) vanish."""
    sig, fs, leads = sim12
    sig = sig.copy()
    sig[:, 6:11] *= 3.0                          # V1-V5 about 5 mV peak to peak
    image, truth = render(sig, fs, leads, layout="12x1", dpi=100, seed=0)
    t, mask = threshold.adaptive_otsu(views(image)[0])
    trace = truth.geometry["trace_mask"] > 0
    assert (mask & trace).sum() / trace.sum() > 0.95
    assert t < 0.6


def test_pen_core_thins_a_thick_pen_and_spares_a_thin_one(sim12):
    sig, fs, leads = sim12
    # a scanned 200 dpi page: a 3.5 px pen, blurred; its core is kept and stays whole
    image, truth = render(sig, fs, leads, layout="3x4+II", dpi=200, preset="scan", seed=3)
    dark = views(image)[0]
    t, mask = threshold.adaptive_otsu(dark)
    t_core, core = threshold.pen_core(dark, t, mask)
    assert t_core > t + 0.1
    assert core.sum() < 0.8 * mask.sum()
    ink_cols = mask.any(axis=0)
    assert core[:, ink_cols].any(axis=0).mean() > 0.97
    # a 100 dpi page: a 1 px pen has no solid core; the threshold stays
    image, _ = render(sig, fs, leads, layout="3x4+II", dpi=100, seed=3)
    dark = views(image)[0]
    t, mask = threshold.adaptive_otsu(dark)
    t_core, core = threshold.pen_core(dark, t, mask)
    assert t_core == t and (core == mask).all()


def test_threshold_stops_short_of_a_grey_pen_despite_a_black_box(sim12):
    """A black box drawn around the grid, further in than a page frame, is dark at every
    threshold and lies on long straight lines: the threshold climbed until it stood at
    the box's darkness, past the grey pen (31, 31, 31), and no trace was left. The pen's
    darkness is read from the long curves instead."""
    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout="3x4+II", seed=5, header="eik", footer=True,
                          trace_color=(31, 31, 31))
    image = image.copy()
    i = 80   # px in from each edge, past the frame search (2.5 % of the page)
    image[i:i + 2, i:-i] = image[-i - 2:-i, i:-i] = 0
    image[i:-i, i:i + 2] = image[i:-i, -i - 2:-i] = 0
    dark = views(image)[0]
    t, mask = threshold.adaptive_otsu(dark)
    trace = truth.geometry["trace_mask"] > 0
    assert t < 0.8
    assert (mask & trace).sum() / trace.sum() > 0.9
