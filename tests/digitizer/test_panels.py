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
    assert base == 90.0
    assert np.abs(v[:40]).max() < 0.01, v[:40].round(3)
