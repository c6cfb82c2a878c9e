"""Stage 10: lead panels, and hand-set lead boxes read by the same stage."""
import numpy as np
import pytest

from ecg_digitize import digitize
from ecg_digitize.digitizer import read_lead_boxes, trace_page_as_read
from ecg_digitize.metrics import score_record
from ecg_digitize.synth import render


@pytest.fixture(scope="module")
def reading(sim12):
    image, truth = render(*sim12, layout="3x4+II", dpi=150, seed=2)
    return image, truth, digitize(image)


def test_boxes_read_back_as_the_automatic_reading_read_them(reading):
    image, truth, rec = reading
    traced = trace_page_as_read(image, rec)
    assert np.array_equal(traced.ink.mask.shape, rec.geometry.image_shape)
    boxes = [{"lead": b.lead, "bbox": b.bbox, "t0": b.t0, "row": b.row, "col": b.col}
             for b in rec.geometry.boxes]
    again = read_lead_boxes(traced, boxes, rec)
    assert again.leads == rec.leads and again.signal.shape == rec.signal.shape
    assert all(b.edited for b in again.geometry.boxes)
    # the same view and ink: the re-read is nearly as good as the automatic reading, which
    # also redraws each row's path at its lead changes (28.2 and 26.1 dB on this page)
    assert score_record(again, truth).snr > max(24.0, score_record(rec, truth).snr - 3.0)


def test_a_box_moved_by_hand_reads_another_stretch(reading):
    image, truth, rec = reading
    box = next(b for b in rec.geometry.boxes if b.lead == "aVR")
    x0, y0, x1, y1 = box.bbox
    shift = 0.5 * rec.calibration.px_per_s   # half a second later on the page
    moved = [{"lead": "aVR", "bbox": [x0 + shift, y0, x1, y1], "t0": box.t0 + 0.5}]
    again = read_lead_boxes(trace_page_as_read(image, rec), moved, rec)
    avr = again.lead("aVR")
    fs = rec.fs
    assert np.isnan(avr[: int((box.t0 + 0.5) * fs) - 1]).all()   # nothing before the box
    ok = np.isfinite(avr) & np.isfinite(rec.lead("aVR"))
    assert ok.sum() > 0.9 * (x1 - x0 - shift) / rec.calibration.px_per_s * fs
    assert np.abs(avr[ok] - rec.lead("aVR")[ok]).mean() < 0.05   # the same curve where both read


def test_a_panel_after_a_lead_change_starts_at_its_own_level():
    """The previous lead ends on a deep S wave; the polyline has no point in the few
    columns of the jump (a tick's ink left out). The panel's first samples, between the
    lead change and its own first point, hold that point: interpolated across the
    change, they were read towards the S wave."""
    from ecg_digitize.digitizer.extract import RowTrace
    from ecg_digitize.digitizer.signals import panel_samples
    from ecg_digitize.layouts import Panel

    n = 120
    y = np.full(n, 90.0)
    y[:52] = 150.0                                          # the previous lead's S wave
    keep = (np.arange(n) < 50) | (np.arange(n) >= 55)       # no polyline points in the jump
    trace = RowTrace(0, y, y - 1, y + 1, 3.0, px=np.arange(n, dtype=float)[keep], py=y[keep])
    panel = Panel("aVR", 0, 1, 1.0, 2.0, 1.0)
    _, v, base = panel_samples(trace, 2.0, panel, fs=500, px_per_s=50.0, px_per_mv=80.0,
                               px_per_mm=8.0, boundaries=[52.0])
    assert base == pytest.approx(90.0, abs=1e-9)
    assert np.abs(v[:40]).max() < 0.01, v[:40].round(3)


def test_an_r_wave_rising_past_a_lead_change_bar_is_read():
    """The path's points over a lead-change bar are the bar's, except beyond its ends:
    an R wave that starts the panel at the bar and rises past its top is the lead's."""
    from ecg_digitize.digitizer.extract import RowTrace
    from ecg_digitize.digitizer.signals import panel_samples
    from ecg_digitize.layouts import Panel

    n = 120
    top, bottom = np.full(n, 99.0), np.full(n, 101.0)
    top[51:55], bottom[51:55] = 70.0, 130.0                 # a bar 4 columns wide
    px = np.r_[np.arange(0, 51), [52.5, 53.5, 54.5], np.arange(57, n)].astype(float)
    py = np.r_[np.full(51, 100.0), [40.0, 50.0, 60.0], np.full(n - 57, 100.0)]
    trace = RowTrace(0, (top + bottom) / 2, top, bottom, 2.0, px=px, py=py)
    panel = Panel("V1", 0, 2, 1.0, 2.0, 1.0)
    _, v, base = panel_samples(trace, 2.0, panel, fs=500, px_per_s=50.0, px_per_mv=80.0,
                               px_per_mm=8.0, boundaries=[52.0])
    assert abs(base - 100.0) < 0.5
    assert abs(v[20] - (base - 55.0) / 80) < 0.05           # x = 54: on the R wave's down-stroke


def test_the_trace_proper_starts_after_the_pulses_whole_falling_edge():
    """A pulse whose falling edge is drawn over three columns past its plateau's end,
    the trace starting right after it below the pulse's foot (ECG-Image-Kit's pages):
    the columns whose ink still reaches the pulse's top are the edge, not the lead."""
    from ecg_digitize.digitizer.calibration import Pulse
    from ecg_digitize.digitizer.extract import RowTrace
    from ecg_digitize.digitizer.panels import pulse_free_columns

    n = 80
    top, bottom = np.full(n, 109.0), np.full(n, 111.0)     # the trace, 10 px under the foot
    top[:10], bottom[:10] = 99.0, 101.0                     # the foot before the pulse
    top[10:31], bottom[10:31] = 19.0, 21.0                  # the plateau, 80 px up
    top[31:34], bottom[31:34] = 19.0, [60.0, 100.0, 111.0]  # the falling edge
    trace = RowTrace(0, (top + bottom) / 2, top, bottom, 2.0)
    pulse = Pulse("left", 10, 30, height_px=80.0, width_px=20.0, trace_bound=31, foot_y=100.0)
    start, end = pulse_free_columns(pulse, trace)
    assert start == 33 + 1.0 + 2.0 and end == float("inf")


def test_a_lead_change_is_not_held_from_across_a_gap_in_the_path():
    """The path is not covered over the last 30 columns before a lead change (a QRS
    through the next lead's bar): the samples next to the change are left unread, not
    held at the value read 30 columns before."""
    from ecg_digitize.digitizer.extract import RowTrace
    from ecg_digitize.digitizer.signals import panel_samples
    from ecg_digitize.layouts import Panel

    n = 120
    y = np.full(n, 100.0)
    y[60:90] = 60.0                                          # a wave, read
    y[90:] = np.nan                                          # not covered up to the change
    trace = RowTrace(0, y, y - 1, y + 1, 2.0, px=np.arange(90, dtype=float), py=y[:90].copy())
    panel = Panel("aVR", 0, 1, 0.0, 1.0, 0.0)
    _, v, _ = panel_samples(trace, 0.0, panel, fs=500, px_per_s=120.0, px_per_mv=80.0,
                            px_per_mm=8.0, boundaries=[119.5])
    assert np.isfinite(v[:200]).all()
    assert np.isnan(v[-3:]).all(), v[-6:]


def test_a_gap_in_the_rhythm_strip_keeps_the_short_panels_samples(sim12):
    """Lead II is printed twice on a 3x4+II page; where the rhythm strip's ink is gone
    (0.8-1.6 s rubbed out), the lead keeps what its short panel read."""
    image, truth = render(*sim12, layout="3x4+II", dpi=150, seed=2)
    strip = truth.geometry.boxes[-1]
    assert strip.lead == "II" and strip.t1 - strip.t0 == 10.0
    px_per_s = (strip.bbox[2] - strip.bbox[0]) / 10.0
    x0, x1 = (int(strip.x0 + t * px_per_s) for t in (0.8, 1.6))
    y0, y1 = (int(v) for v in strip.bbox[1::2])
    page = image.copy()
    ink = page[y0:y1, x0:x1].max(axis=2) < 120        # the pen (grid lines are red)
    page[y0:y1, x0:x1][ink] = 255
    rec = digitize(page)
    ii = rec.signal[:, rec.leads.index("II")]
    gap = slice(int(0.9 * rec.fs), int(1.5 * rec.fs))
    assert np.isfinite(ii[gap]).mean() > 0.95
    truth_ii = truth.signal[:, truth.leads.index("II")]
    assert np.corrcoef(ii[gap], truth_ii[gap])[0, 1] > 0.9


def test_samples_of_a_steep_stroke_average_out_its_wandering_crossings():
    """A steep stroke's row crossings wander by tenths of a pixel across the page; read
    at one point each, samples jump between neighbouring crossings. Each sample is the
    path's mean over :data:`~ecg_digitize.digitizer.signals.SAMPLE_SPAN_S` instead."""
    from ecg_digitize.digitizer.extract import RowTrace
    from ecg_digitize.digitizer.signals import panel_samples
    from ecg_digitize.layouts import Panel

    rng = np.random.default_rng(0)
    rows = np.arange(0.0, 200.0)                             # 20 rows per column
    px = rows / 20.0 + rng.uniform(-0.15, 0.15, len(rows))   # the crossings' x
    order = np.argsort(px)
    y = np.interp(np.arange(12.0), px[order], rows[order])
    trace = RowTrace(0, y, y - 1, y + 1, 2.0, px=px[order], py=rows[order])
    panel = Panel("V2", 0, 0, 0.0, 0.045, 0.0)
    px_per_s, px_per_mv = 196.85, 78.74
    n, v, base = panel_samples(trace, 0.0, panel, fs=500, px_per_s=px_per_s, px_per_mv=px_per_mv,
                               px_per_mm=7.874)
    x = n / 500 * px_per_s
    inner = (x > 0.5) & (x < 9.5)
    drawn = base - 20.0 * x[inner]                           # the stroke's y, read as mV
    rms = np.sqrt(np.mean((v[inner] - drawn / px_per_mv) ** 2)) * px_per_mv   # px
    assert rms < 0.8, rms                                     # read at a point: 1.3 px
