"""Stages 4 and 7: scale checks and calibration pulses."""
import numpy as np
import pytest

from ecg_digitize.digitizer import calibration, extract, threshold
from ecg_digitize.digitizer import rows as row_search
from ecg_digitize.synth import render
from stage_helpers import views


@pytest.mark.parametrize("gain", [5.0, 10.0, 20.0])
def test_pulse_gives_gain(sim12, gain):
    sig, fs, leads = sim12
    image, truth = render(sig * (10.0 / gain), fs, leads, layout="3x4", gain=gain, seed=4)
    tv, _ = views(image)
    _, mask = threshold.adaptive_otsu(tv)
    ppm = 200 / 25.4
    rows = row_search.find_rows(mask, ppm)
    pulses = []
    for r in rows:
        tr = extract.trace_row(mask, tv, r.y_lo, r.y_hi, r.baseline, r.x_lo - 15 * ppm, r.x_hi, px_per_mm=ppm)
        pulses.append(calibration.find_pulse(tr, r.baseline, ppm))
    found = [p for p in calibration.consistent(pulses) if p is not None]
    assert len(found) >= 2
    assert calibration.gain_from_pulses(found, ppm) == (gain, 25.0)


def test_pulse_foot_is_read_where_the_trace_starts_at_another_level():
    """Printouts that start the trace at the pulse's falling edge start it at the signal's
    first value (real phone photos 03403, 03515: 5 mm above the foot, read as 5 mm/mV)."""
    ppm = 8.0
    y = np.full(400, 60.0)                  # the trace proper, 5 mm above the pulse's foot
    top, bottom = y - 1, y + 1
    y[0], top[0], bottom[0] = 60.0, 20.0, 101.0       # the rising edge: no lead-in before it
    y[1:41], top[1:41], bottom[1:41] = 20.0, 19.0, 21.0   # the 10 mm plateau, 5 mm wide
    y[41], top[41], bottom[41] = 40.0, 20.0, 61.0     # the falling edge, down to the trace
    pulse = calibration.find_pulse(extract.RowTrace(0, y, top, bottom, 3.0), 60.0, ppm)
    assert pulse is not None
    assert pulse.height_px == pytest.approx(80.0, abs=1.5)
    assert calibration.gain_from_pulses([pulse], ppm) == (10.0, 25.0)


def test_pulse_read_two_ways_takes_the_height_the_other_rows_share():
    """A trace that begins part-way up the pulse's outer edge (real photo 03919's rhythm
    strip) makes that edge's foot too high; the path beyond the inner edge reads it."""
    from ecg_digitize.digitizer.calibration import Pulse, consistent

    rows = [Pulse("left", 0, 36, 79.0, 36.0, 50, 100.0, (95.0,)),
            Pulse("left", 0, 36, 80.0, 36.0, 50, 300.0),
            Pulse("left", 0, 36, 54.0, 36.0, 50, 500.0, (78.0,))]
    heights = [p.height_px for p in consistent(rows)]
    assert heights == [79.0, 80.0, 78.0]
    assert consistent(rows)[2].foot_y == 524.0


def test_grid_of_equal_lines_is_recognised_as_1mm_with_a_thick_pen():
    """Paper without major lines: the comb's "5 mm" is the 1 mm spacing (real strip scans)."""
    import cv2

    from ecg_digitize.digitizer import grid
    from ecg_digitize.digitizer.calibration import _grid_lines_are_1mm, pen_thickness_px

    h, w = 600, 2400
    dark = np.zeros((h, w), np.float32)
    dark[:, ::24] = 0.3        # equal lines every 24 px (1 mm at 610 dpi)
    dark[::24, :] = 0.3
    ppm = grid.estimate_grid(dark).px_per_mm
    assert ppm == pytest.approx(24 / 5, rel=0.02)        # the comb alone says 4.8 px/mm
    assert grid.minor_line_contrast(dark, ppm) < 1.5
    mask = np.zeros((h, w), np.uint8)
    x = np.arange(w)
    pts = np.c_[x, 300 + 20 * np.sin(x / 300)].astype(np.int32)   # mostly flat, like a baseline
    cv2.polylines(mask, [pts.reshape(-1, 1, 2)], False, 1, 5)   # a 5 px (0.2 mm) pen
    mask = mask.astype(bool)
    assert 4 <= pen_thickness_px(mask) <= 8                      # cv2 draws it 5-7 px thick
    assert _grid_lines_are_1mm(grid.minor_line_contrast(dark, ppm), mask, ppm)
    # a proper grid (minor and major lines) is never rescaled
    dark2 = np.zeros((h, w), np.float32)
    dark2[:, ::5], dark2[::5, :] = 0.15, 0.15
    dark2[:, ::25], dark2[::25, :] = 0.4, 0.4
    assert not _grid_lines_are_1mm(grid.minor_line_contrast(dark2, 5.0), mask, 5.0)


def test_grid_read_at_twice_its_period_is_halved_by_the_pulses():
    # ecg-image-kit ecg00009: the grid read at 18.84 px/mm made its 1 mV pulses 5 mm
    # tall and 2.6 mm wide (5 mm/mV, 13 mm/s) and its rows 126 mm long; at half the scale
    # the pulses are standard (10 mm/mV, 0.2 s at 25 mm/s) and the rows 250 mm long
    from ecg_digitize.digitizer.calibration import Pulse
    from ecg_digitize.digitizer.extract import RowTrace
    from ecg_digitize.digitizer.calibration import _unless_grid_read_double

    rows = [RowTrace(100, np.zeros(2360), np.zeros(2360), np.zeros(2360), 2.0) for _ in range(4)]
    pulses = [Pulse("left", 100, 149, 97.0, 49.0, 160) for _ in range(4)]
    warnings = []
    assert _unless_grid_read_double(18.84, pulses, rows, warnings) == pytest.approx(9.42)
    assert "twice its size" in warnings[0]
    # a narrow pulse (0.1 s) on a page read at the right scale also reads standard at
    # half of it (20 mm/mV, 25 mm/s), but its rows are 250 mm long already
    narrow = [Pulse("left", 100, 123, 94.0, 24.0, 140) for _ in range(4)]
    assert _unless_grid_read_double(9.42, narrow, rows, []) == 9.42


def test_no_grid_pulse_that_would_make_rows_too_long_is_not_the_scale(sim12):
    # no grid, 5 mm/mV: taken as a standard 10 mm pulse, the pulse made the scale half the
    # truth and the rows 500 mm (20 s) long. A 12-lead page's rows are 250 mm: the scale
    # comes from their width then, and the pulse gives the gain
    from ecg_digitize import digitize
    from ecg_digitize.metrics import score_record

    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout="3x4+II", seed=2, grid_style="none", gain=5)
    rec = digitize(image)
    assert rec.calibration.px_per_mm == pytest.approx(200 / 25.4, rel=0.02)
    assert rec.calibration.mm_per_mv == 5.0
    assert {"px_per_mm", "mm_per_mv"} <= set(rec.calibration.guessed)   # both rest on the guess
    assert score_record(rec, truth).snr > 20


def test_pulse_height_reads_down_the_page_and_width_across():
    """On a page of 7.75 px/mm across and 7.44 down, a 1 mV, 0.2 s pulse is 74.4 px tall
    and 38.75 px wide: 10 mm/mV and 25 mm/s only at each axis's own scale."""
    from ecg_digitize.digitizer.calibration import PageCalibration, Pulse, gain_from_pulses

    pulse = [Pulse("right", 0, 38, 74.4, 38.75, 50)]
    assert gain_from_pulses(pulse, 7.75, 7.44) == (10.0, 25.0)
    cal = PageCalibration(7.75, 25.0, 10.0, "grid", px_per_mm_y=7.44)
    assert cal.px_per_s == pytest.approx(193.75) and cal.px_per_mv == pytest.approx(74.4)
    rec_cal = cal.as_record_calibration()
    assert rec_cal.px_per_mm_y == 7.44 and rec_cal.px_per_mv == pytest.approx(74.4)
    square = PageCalibration(7.75, 25.0, 10.0, "grid")
    assert square.px_per_mv == pytest.approx(77.5) and square.as_record_calibration().px_per_mm_y is None


def test_grid_read_double_on_a_non_square_page_halves_both_scales():
    """The ecg00009 case drawn 18.84 px/mm across and 18.0 down: the pulses (10 mm/mV at
    half the vertical scale) halve both axes, and the gain is read down the page."""
    from ecg_digitize.digitizer.calibration import Pulse, Scale, calibrate
    from ecg_digitize.digitizer.extract import RowTrace
    from ecg_digitize.digitizer.grid import GridEstimate

    rows = [RowTrace(100, np.zeros(2360), np.zeros(2360), np.zeros(2360), 2.0) for _ in range(4)]
    pulses = [Pulse("left", 100, 149, 90.0, 49.0, 160) for _ in range(4)]
    scale = Scale(18.84, "grid", GridEstimate(18.84, 18.0, 100.0, square=False), px_per_mm_y=18.0)
    cal = calibrate(scale, rows, pulses)
    assert cal.px_per_mm == pytest.approx(9.42) and cal.px_per_mm_y == pytest.approx(9.0)
    assert (cal.mm_per_mv, cal.mm_per_s, cal.guessed) == (10.0, 25.0, [])
