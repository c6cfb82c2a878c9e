"""Overlays that can be judged at page scale (issue #27, item 4)."""
import numpy as np
import pytest

from ecg_digitize.overlay import draw_overlay, trace_color


@pytest.fixture(scope="module")
def page(sim12):
    from ecg_digitize.synth import render

    sig, fs, leads = sim12
    return render(sig, fs, leads, layout="3x4+II", dpi=200, seed=0)


def _matches(image, color):
    return np.all(np.abs(image.astype(int) - np.array(color)) < 40, axis=-1)


def test_reading_is_drawn_thick_in_a_colour_apart_from_grid_and_ink(page):
    image, truth = page
    color = trace_color(image)
    assert color == (0, 200, 0)  # red grid: green reading
    out = draw_overlay(image, truth, boxes=False)
    assert out.shape == image.shape and out.dtype == np.uint8
    drawn = _matches(out, color)
    assert not _matches(image, color).any()
    # Wide enough to see on a whole-page view: the drawn line is several pixels tall in a
    # flat column, not the 1 px of a thin matplotlib line.
    cols = drawn.sum(axis=0)
    assert np.median(cols[cols > 0]) >= 6  # 4 px line in each of the 4 rows of a 3x4+II page
    assert drawn.mean() > 0.01


def test_side_by_side_puts_the_page_beside_the_reading(page):
    image, truth = page
    out = draw_overlay(image, truth, style="side-by-side")
    h, w = image.shape[:2]
    assert out.shape[0] == h and out.shape[1] > 2 * w
    np.testing.assert_array_equal(out[:, :w], image)  # the page untouched on the left
    assert _matches(out[:, -w:], trace_color(image)).mean() > 0.01
    with pytest.raises(ValueError, match="side-by-side"):
        draw_overlay(image, truth, style="mosaic")


def test_grey_grid_gets_green_and_green_grid_gets_another_colour():
    grey = np.full((40, 40, 3), 200, np.uint8)
    green = np.full((40, 40, 3), (150, 230, 150), np.uint8)
    assert trace_color(grey) == (0, 200, 0)
    assert trace_color(green) != (0, 200, 0)
