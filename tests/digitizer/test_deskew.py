"""Stage 2, deskew: the skew angle and the rotation that undoes it."""
import numpy as np
import pytest

from ecg_digitize.digitizer import deskew
from ecg_digitize.synth import render
from stage_helpers import views


@pytest.mark.parametrize("angle", [-3.0, 1.2, 4.5])
def test_deskew_recovers_known_angle(sim12, angle):
    sig, fs, leads = sim12
    image, _ = render(sig, fs, leads, seed=2, distortions={"rotation": angle, "noise": 0.01})
    assert deskew.estimate_skew(views(image)[1]) == pytest.approx(angle, abs=0.05)


@pytest.mark.parametrize("dpi,angle", [(100, 4.4), (150, 0.9), (100, -1.9)])
def test_deskew_of_odd_sized_pages_is_not_pulled_to_zero(sim12, dpi, angle):
    # 6x2 pages at these resolutions have an odd height or width; half-pixel centres
    # once made 0 deg score a spike that beat the true angle
    sig, fs, leads = sim12
    image, _ = render(sig, fs, leads, layout="6x2", dpi=dpi, seed=2,
                      distortions={"rotation": angle, "noise": 0.01})
    assert (np.array(image.shape[:2]) % 2).any()
    assert deskew.estimate_skew(views(image)[1]) == pytest.approx(angle, abs=0.05)


@pytest.mark.parametrize("layout,dpi", [("3x4+II", 200), ("12x1", 150), ("6x2", 100)])
def test_deskew_of_a_straight_page_is_zero(sim12, layout, dpi):
    # angles within a few hundredths of a degree project identically (no point moves
    # half a pixel): the middle of that plateau is 0, its first angle was about -0.03
    sig, fs, leads = sim12
    image, _ = render(sig, fs, leads, layout=layout, dpi=dpi, seed=2)
    assert abs(deskew.estimate_skew(views(image)[1])) < 0.01


def test_bicubic_rotation_keeps_a_thin_line_sharper_and_in_range():
    img = np.zeros((201, 401), np.float32)
    img[100, :] = 1.0
    lin = deskew.rotate(img, 3.0, border=0.0)
    cub = deskew.rotate(img, 3.0, border=0.0, method="bicubic")
    cols = slice(220, 380)  # away from the centre, where the line lands between rows
    assert cub[:, cols].max(axis=0).mean() > lin[:, cols].max(axis=0).mean() + 0.03
    assert cub.min() >= 0.0 and cub.max() <= 1.0
    with pytest.raises(ValueError, match="method"):
        deskew.rotate(img, 3.0, method="lanczos")


@pytest.mark.parametrize("shape", [(1, 500), (500, 1), (1, 1), (3, 5000), (15, 15)])
def test_a_view_too_thin_to_show_an_angle_reads_straight(shape):
    """A sliver of a page (as a bad rectification made) once failed in cv2.resize."""
    from ecg_digitize.digitizer.deskew import estimate_skew

    assert estimate_skew(np.random.default_rng(0).random(shape).astype(np.float32)) == 0.0
