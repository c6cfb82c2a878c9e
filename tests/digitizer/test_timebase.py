"""Stage 8: time zero and row length."""
import numpy as np
import pytest

from ecg_digitize.synth import render
from stage_helpers import round_capped_stroke, row_trace


def test_time_axis_ignores_a_row_whose_pulse_was_missed():
    from ecg_digitize.digitizer.calibration import Pulse
    from ecg_digitize.digitizer.timebase import time_axis

    px_per_mm = 7.0
    px_per_s = 25 * px_per_mm
    x0 = 130.0                                   # where every row's trace truly starts
    pulse = Pulse("left", 84, 115, 70.0, 31.0, 131, 0.0)
    # rows 1 and 3 carry pulses too, missed: their pen starts at the pulse (84); rows 0 and
    # 2 start where the ink comes back after the pulse, a little late (faint ink lost)
    starts = np.array([x0 + 6, 84.0, x0 + 8, 84.0])
    ends = np.full(4, x0 + (10 - 1 / 500) * px_per_s)
    x_start, x_end, seconds = time_axis(starts, ends, [pulse, None, pulse, None], px_per_mm, px_per_s)
    assert seconds == pytest.approx(10.0)
    assert x_start == pytest.approx(x0, abs=0.01)
    # with no pulse found anywhere nothing tells the pulses from the trace: the earliest
    # rows give time zero (this is why the U-Net is trained to mark pulses as ink)
    x_start, _, _ = time_axis(starts, ends, [None] * 4, px_per_mm, px_per_s)
    assert x_start < 90


def test_pen_starts_read_early_beside_pulses_keep_the_printed_row_length():
    """On a photo the pulses' feet, blurred into the trace, make every row with a pulse
    start 0.1 s early: the rows measure 10.1 s. The end, where no pulse stands, places
    time zero a printed 10 s before it."""
    from ecg_digitize.digitizer.calibration import Pulse
    from ecg_digitize.digitizer.timebase import time_axis

    px_per_mm, px_per_s = 8.0, 200.0
    x0 = 140.0                                   # where every row's trace truly starts
    pulse = Pulse("left", 100, 122, 80.0, 23.0, 122, 0.0)
    starts = np.full(4, x0 - 0.1 * px_per_s)
    ends = np.full(4, x0 + (10 - 1 / 500) * px_per_s)
    x_start, _, seconds = time_axis(starts, ends, [pulse] * 4, px_per_mm, px_per_s)
    assert seconds == pytest.approx(10.0)
    assert x_start == pytest.approx(x0, abs=0.01)


def test_time_axis_without_a_lone_pen_end():
    """A row whose path ran on 10 mm along a fold sets the end; the second guess leaves it out."""
    from ecg_digitize.digitizer.timebase import time_axis

    px_per_mm, px_per_s = 8.0, 200.0
    starts = np.full(4, 150.0)
    ends = np.array([2148.0, 2147.0, 2148.0 + 10 * px_per_mm, 2149.0])
    assert time_axis(starts, ends, [None] * 4, px_per_mm, px_per_s)[2] == pytest.approx(10.4)
    x_start, x_end, seconds = time_axis(starts, ends, [None] * 4, px_per_mm, px_per_s, drop_lone=True)
    assert seconds == pytest.approx(10.0) and x_end == pytest.approx(2148.5, abs=1)


def test_a_row_run_on_past_the_others_does_not_set_the_row_length():
    """One row's path ran on 0.8 s past every other row's end (onto the background at the
    sheet's corner): its rows would be 10.8 s, a length no machine prints; without that end
    they are 10 s, and that axis comes first."""
    from ecg_digitize.digitizer.timebase import printed_length_first, time_axis

    px_per_mm, px_per_s = 8.0, 200.0
    starts = np.full(4, 150.0)
    ends = np.array([2148.0, 2147.0, 2149.0, 2148.0 + 0.8 * px_per_s])
    axis, second = printed_length_first(time_axis(starts, ends, [None] * 4, px_per_mm, px_per_s),
                                        time_axis(starts, ends, [None] * 4, px_per_mm, px_per_s, drop_lone=True))
    assert axis[2] == pytest.approx(10.0) and second[2] == pytest.approx(10.8)


@pytest.mark.parametrize("separators", [True, False])
def test_time_zero_from_column_separators(sim12, separators):
    from ecg_digitize import digitize

    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout="3x4+II", seed=0, separators=separators)
    rec = digitize(image)
    x0 = min(b["x0"] for b in truth.geometry["boxes"] if b["col"] == 0)
    if separators:
        # a vertical line's centre does not depend on the pen's cap, as the row's ends do
        assert rec.geometry["time_zero"] == "separators"
        assert rec.geometry["x_start"] == pytest.approx(x0, abs=0.1)
    else:
        assert rec.geometry["time_zero"] == "pen ends"
        assert rec.geometry["x_start"] == pytest.approx(x0, abs=1.0)


@pytest.mark.parametrize("angle", [0, 30, 55])
def test_pen_end_of_a_round_capped_line(angle):
    """The row's end to a quarter pixel (within 0.1 px when flat), steep or not."""
    from ecg_digitize.digitizer.timebase import pen_end

    tol = 0.1 if angle == 0 else 0.25

    for end_x in (100.0, 100.3, 100.6):
        dark = round_capped_stroke(end_x, angle, 3.0, grid_at=None)
        tr = row_trace(dark)
        assert pen_end(tr, dark, tr.extent()[1], +1) == pytest.approx(end_x, abs=tol)
        # a faint grid line under the pen's end (a page's last second) changes nothing
        gridded = round_capped_stroke(end_x, angle, 3.0, grid_at=end_x + 0.5)
        tr = row_trace(gridded)
        assert pen_end(tr, gridded, tr.extent()[1], +1) == pytest.approx(end_x, abs=tol)


def test_panels_start_at_lead_change_marks_off_the_grid_axis(sim12):
    # drawn at 24.75 mm/s on a 25 mm/s reading of the grid, the columns' ticks stand up to
    # 15 px off the grid's time axis (khan2021 sheets: the trace 0.9 % narrower than the grid)
    from ecg_digitize import digitize

    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout="3x4+II", seed=0, paper_speed=24.75)
    rec = digitize(image)
    assert rec.geometry["time_zero"] == "lead-change marks"
    truth_x0 = {b["col"]: b["x0"] for b in truth.geometry["boxes"]}
    for box in rec.geometry.boxes:
        assert box.bbox[0] == pytest.approx(truth_x0[box.col], abs=0.5)
    assert any("lead-change marks" in w for w in rec.warnings)


def test_find_mark_takes_the_upright_line_not_a_slanted_stroke():
    from ecg_digitize.digitizer.timebase import find_mark

    dark = np.zeros((100, 200))
    dark[50:52, :] = 1.0                         # the trace on its baseline
    dark[20:80, 119:121] = 1.0                   # a tick at x = 119.5
    for y in range(10, 90):                      # a steep stroke 10 px left of it
        dark[y, 100 + (y - 10) // 20] = 1.0
    assert find_mark(dark, 0.5, 50.5, 110.0, 8.0) == pytest.approx(119.5, abs=0.05)
    assert find_mark(dark, 0.5, 50.5, 60.0, 8.0) is None   # beyond MARK_SEARCH_MM


def test_marks_one_percent_off_the_grid_set_the_scale_unless_the_page_was_reframed():
    from ecg_digitize.digitizer.timebase import MARK_SCALE_TOL_REFRAMED, lead_change_axis

    px_per_mm, px_per_s, x0 = 8.0, 200.0, 100.0
    baselines = [60.0, 150.0, 240.0]
    dark = np.zeros((300, 2000))
    breaks = []
    for row, base in enumerate(baselines):
        dark[int(base), 90:1900] = 1.0                      # the row's (flat) trace
        for t in (2.5, 5.0, 7.5):
            x = int(round(x0 + t * px_per_s * 1.01))         # marks 1 % wider than the grid
            dark[int(base) - 20:int(base) + 20, x - 1:x + 2] = 1.0
            breaks.append((row, t))
    axis = lead_change_axis(dark, 0.5, baselines, breaks, x0, px_per_s, px_per_mm)
    assert axis is not None and axis.px_per_s == pytest.approx(202.0, abs=0.5)
    assert lead_change_axis(dark, 0.5, baselines, breaks, x0, px_per_s, px_per_mm,
                            scale_tol=MARK_SCALE_TOL_REFRAMED) is None


def test_rows_that_all_stop_short_keep_their_printed_length_where_the_marks_confirm_it(sim12):
    """Every row's trace lost after 8 s (a faint trace on crumpled paper): the pen ends
    say 8 s rows, but the lead-change marks stand where 10 s rows put them."""
    from ecg_digitize import digitize

    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout="3x4+II", dpi=200, seed=0)
    box = truth.geometry["boxes"][0]
    px_per_s = 25 * 200 / 25.4
    image = image.copy()
    image[:, int(box["x0"] + 8.2 * px_per_s):] = 255
    rec = digitize(image, method="classical")
    assert rec.n_samples == 5000                     # 10 s at 500 Hz, not 8.2 s
    x0 = {b.lead: b.x0 for b in rec.geometry.boxes}
    assert x0["V4"] - x0["I"] == pytest.approx(7.5 * px_per_s, abs=3)


def test_rows_running_a_tenth_past_their_printed_length_keep_the_grids_speed(sim12):
    """Every row's pen runs on 21 px (0.1 s) past its end: the pen ends say 10.1 s rows,
    whose lead changes the marks fit as well at a scale 1 % off the grid's. The printed
    10 s rows fit them at the grid's own scale (32.8 dB; 13.6 read as 10.1 s rows)."""
    from ecg_digitize import digitize
    from ecg_digitize.metrics import score_record

    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout="3x4+II", dpi=200, seed=0)
    px_per_s = 25 * 200 / 25.4
    x_end = int(round(max(b["x0"] for b in truth.geometry["boxes"]) + 2.5 * px_per_s)) - 3
    pen = (image[:, x_end] < 100).all(axis=1)
    image = image.copy()
    image[pen, x_end:x_end + 21] = image[pen, x_end][:, None]
    rec = digitize(image, method="classical")
    assert rec.geometry["time_zero"] == "lead-change marks"
    assert rec.n_samples == 5000 and rec.calibration.mm_per_s == pytest.approx(25.0, abs=0.01)
    assert score_record(rec, truth).snr > 25


def test_rows_broken_into_short_pieces_are_read_to_the_end(sim12):
    """Past 6 s every row's trace is in pieces shorter than a trace (3 mm, 0.5 mm apart):
    the rows' extents end there, and their paths are traced again up to the marks' 10 s axis."""
    from ecg_digitize import digitize
    from ecg_digitize.metrics import score_record

    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout="3x4+II", dpi=200, seed=0)
    box = truth.geometry["boxes"][0]
    px_per_mm = 200 / 25.4
    image = image.copy()
    x6 = int(box["x0"] + 6 * 25 * px_per_mm)
    for x in np.arange(x6, image.shape[1], 3 * px_per_mm).astype(int):
        image[:, x:x + int(0.5 * px_per_mm)] = 255
    rec = digitize(image, method="classical")
    assert rec.n_samples == 5000
    score = score_record(rec, truth)
    assert min(score.leads[n].snr for n in ("V4", "V5", "V6")) > 10


def test_rows_of_a_page_seen_at_a_slant_get_their_own_time_axes(sim12):
    """A page tilted 8 degrees towards the camera shows its bottom row longer than its top:
    the classical route gives each row its own time axis and size, and method='auto'
    undoes the perspective from the grid (the photo route), reading it far better."""
    from ecg_digitize import digitize
    from ecg_digitize.digitizer.panels import SLANTED_TIME_ZERO
    from ecg_digitize.metrics import score_record
    from ecg_digitize.plotting import trace_pixels

    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout="3x4+II", dpi=150, seed=0, distortions={"perspective": 8})
    classical = digitize(image, method="classical")
    assert classical.geometry.time_zero == SLANTED_TIME_ZERO
    sizes = [b.size for b in classical.geometry.boxes if b.col == 0]
    assert max(sizes) - min(sizes) > 0.03
    # the traces drawn back from the boxes end where each row's ink ends, not the page's
    ends = [x[np.isfinite(x)][-1] for x, _ in trace_pixels(classical)]
    rows_end = [b.bbox[2] for b in classical.geometry.boxes]
    assert np.allclose(ends, rows_end, atol=3.0)
    auto = digitize(image)
    assert auto.geometry.method == "photo" and any("seen at a slant" in w for w in auto.warnings)
    assert score_record(auto, truth).snr > max(20.0, score_record(classical, truth).snr + 5)


def test_a_flat_page_keeps_one_time_axis():
    from ecg_digitize.digitizer.timebase import slanted_axes

    ys = np.array([400.0, 700.0, 1000.0, 1300.0])
    # ends within a pen width of each other, one row's path run on 3 mm along the sheet's edge
    starts = np.array([150.2, 149.6, 150.4, 149.9])
    ends = np.array([2148.0, 2148.5, 2148.0 + 3 * 8.0, 2147.6])
    assert slanted_axes(starts, ends, ys, px_per_mm=8.0) is None


def test_rows_the_frame_cut_keep_their_printed_length(sim12):
    """A photo framed tight cuts every row 0.3 s before its end: the rows measure 9.7 s.
    Their time runs on past the frame, so the printed 10 s places the lead changes, from
    the rows' start; the panels stay where the page prints them."""
    from ecg_digitize import digitize
    from ecg_digitize.synth import render

    # no separators: the lead changes are not marked, the rows' length alone places them
    image, truth = render(*sim12, layout="3x4+II", dpi=150, seed=2, separators=False)
    strip = truth.geometry.boxes[-1]
    px_per_s = (strip.bbox[2] - strip.bbox[0]) / 10.0
    rec = digitize(image[:, :int(strip.x0 + 9.7 * px_per_s)])
    assert rec.layout == "3x4+II"
    printed = sorted(b.x0 for b in truth.geometry.boxes if b.row == 0)
    read = sorted(b.x0 for b in rec.geometry.boxes if b.row == 0)
    assert np.allclose(read, printed, atol=0.02 * px_per_s), (read, printed)
