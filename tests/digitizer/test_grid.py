"""Stage 4, the grid period (px/mm) per axis."""
import numpy as np
import pytest

from ecg_digitize.digitizer import greyscale, grid, threshold
from ecg_digitize.synth import render
from stage_helpers import views


@pytest.mark.parametrize("dpi,style", [(100, {}), (200, {"grid_style": "dotted", "grid_color": "pink"}),
                                       (300, {"grid_color": "green"})])
def test_grid_period_matches_dpi(sim12, dpi, style):
    sig, fs, leads = sim12
    image, _ = render(sig, fs, leads, dpi=dpi, seed=3, **style)
    est = grid.estimate_grid(views(image)[1])
    assert est.px_per_mm == pytest.approx(dpi / 25.4, rel=2e-4)


def test_no_grid_is_reported(sim12):
    sig, fs, leads = sim12
    image, _ = render(sig, fs, leads, seed=3, grid_style="none")
    tv, gv = views(image)
    _, mask = threshold.adaptive_otsu(tv)
    assert grid.estimate_grid(gv, trace_mask=mask).px_per_mm is None or \
        ((gv > 0.08) & ~mask).mean() < 0.004  # the pipeline's no-grid test


def test_blurred_dotted_grid_keeps_its_5mm_scale(sim30):
    """A scanned dotted grid hides its 5 mm lines and widens the pen, but it is not paper
    of equal 1 mm lines: the scale must stay (it was read five times too large)."""
    from ecg_digitize import digitize

    sig, fs, leads = sim30
    image, truth = render(sig, fs, leads, layout="strip", dpi=150, preset="scan", seed=15,
                          grid_color="green", grid_style="dotted", header=False)
    rec = digitize(image, fs=fs, layout="strip")
    assert abs(rec.calibration.px_per_mm - truth.calibration.px_per_mm) < 0.1
    assert abs(rec.duration - 30) < 1


def test_stretched_grid_is_measured_per_axis_and_squared(sim12):
    import cv2

    from ecg_digitize.neural.views import square_grid

    img, truth = render(*sim12, layout="3x4+II", dpi=150, seed=0)
    h, w = img.shape[:2]
    stretched = cv2.resize(img, (int(w * 1.05), h), interpolation=cv2.INTER_LINEAR)
    px, py = grid.axis_periods(threshold.normalise_background(greyscale.grid_view(stretched)))
    assert px / py == pytest.approx(1.05, abs=0.01)
    squared, hom = square_grid(stretched, np.eye(3))
    assert hom[0, 0] == pytest.approx(1 / 1.05, abs=0.01)
    est = grid.estimate_grid(greyscale.grid_view(squared))
    assert est.px_per_mm == pytest.approx(truth.calibration.px_per_mm, rel=0.01)


def test_square_grid_leaves_a_wildly_mismeasured_grid_alone(monkeypatch):
    """Periods 20x apart are a grid measured wrong, not a photo's aspect: stretching by
    them made a sliver of a page that the deskew could not reduce (cv2 resize error)."""
    from ecg_digitize.neural import views

    rgb = np.full((400, 600, 3), 255, np.uint8)
    monkeypatch.setattr(views.grid, "axis_periods", lambda dark: (40.0, 2.0))
    out, hom = views.square_grid(rgb, np.eye(3))
    assert out is rgb and np.array_equal(hom, np.eye(3))


@pytest.mark.parametrize("stretch", [(1.15, 1.0), (1.0, 0.85), (0.9, 1.0), (1.0, 7.44 / 7.75)])
def test_non_square_grid_is_read_per_axis(sim12, stretch):
    """A page whose millimetre spans more pixels across than down (resized, faxed,
    exported): each axis its own period, to 0.1 % (the joint square period read both
    axes near the across one: 7.874 / 7.892 for a y stretch of 0.85)."""
    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout="3x4+II", seed=5, stretch=stretch)
    tv, gv = views(image)
    _, mask = threshold.adaptive_otsu(tv)
    est = grid.estimate_grid(gv, trace_mask=mask)
    sx, sy = truth.geometry.px_per_mm_xy
    assert not est.square
    assert est.px_per_mm_x == pytest.approx(sx, rel=1e-3) and est.px_per_mm_y == pytest.approx(sy, rel=1e-3)


def test_square_grid_is_one_period(sim12):
    """A square scanned page (deskewed as the pipeline does) is read at the joint period,
    both axes within 0.01 % of each other and of the truth."""
    from ecg_digitize.digitizer.views import CLASSICAL, straighten

    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout="3x4+II", seed=5, preset="scan")
    view = straighten(CLASSICAL.make(image))
    _, mask = threshold.adaptive_otsu(view.trace_dark)
    est = grid.estimate_grid(view.grid_dark, trace_mask=mask)
    assert est.square and est.px_per_mm_x == pytest.approx(est.px_per_mm_y, rel=1e-4)
    assert est.px_per_mm == pytest.approx(truth.calibration.px_per_mm, rel=1e-4)
