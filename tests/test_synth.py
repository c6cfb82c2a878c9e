"""Renderer: geometry of the truth, layouts, styles, presets, determinism."""
import numpy as np
import pytest
from scipy.ndimage import binary_dilation, maximum_filter1d

from ecg_digitize import LayoutError
from ecg_digitize.plotting import trace_pixels
from ecg_digitize.synth import parse_layout, plan_panels, render

LAYOUTS = ["3x4", "3x4+II", "3x4+II,V1,V5", "6x2", "12x1"]


def _row_errors(truth, pixels=trace_pixels):
    """Vertical error (px) of the trace mask's centre against the truth, where the trace is flat."""
    mask = truth.geometry["trace_mask"]
    errors = []
    for label, (x, y) in enumerate(pixels(truth), start=1):
        cols = np.arange(int(np.ceil(x[0])) + 3, int(np.floor(x[-1])) - 3)
        y_at = np.interp(cols, x, y)
        slope = maximum_filter1d(np.abs(np.gradient(y_at)), 7)
        for c, yy in zip(cols[slope < 0.25], y_at[slope < 0.25]):
            rows = np.nonzero(mask[:, c] == label)[0]
            rows = rows[np.abs(rows - yy) < 4]
            if len(rows):
                errors.append(rows.mean() - yy)
    return np.abs(np.array(errors))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_truth_pixels_match_signal_in_amplitude(sim12, layout):
    sig, fs, leads = sim12
    _, truth = render(sig, fs, leads, layout=layout, seed=0)
    err = _row_errors(truth)
    assert len(err) > 1000
    # a 2-px-thick stroke on integer rows: centre quantised to half a pixel
    assert np.percentile(err, 99) <= 0.55 and err.mean() < 0.3


@pytest.mark.parametrize("layout", LAYOUTS)
def test_truth_pixels_match_signal_in_time(sim12, layout):
    sig, fs, leads = sim12
    _, truth = render(sig, fs, leads, layout=layout, seed=0)
    mask = truth.geometry["trace_mask"]
    half = truth.geometry["style"]["trace_width_mm"] * truth.calibration.px_per_mm / 2
    for label, (x, _) in enumerate(trace_pixels(truth), start=1):
        cols = np.nonzero((mask == label).any(axis=0))[0]
        # the stroke starts half its width before the first sample (pixel centres on integers)
        assert abs(cols.min() - (x[0] - half)) <= 0.5 + 1e-6, label


def test_truth_holds_exactly_the_plotted_samples(sim12):
    sig, fs, leads = sim12
    _, truth = render(sig, fs, leads, layout="3x4+II")
    frac = truth.plotted_fraction()
    assert frac["II"] == 1.0 and frac["V1"] == pytest.approx(0.25)
    v1 = truth.lead("V1")
    ok = np.isfinite(v1)
    np.testing.assert_array_equal(v1[ok], sig[ok, leads.index("V1")])
    assert np.nonzero(ok)[0].min() == 2500  # V1 is in the third column: 5.0-7.5 s


def test_cabrera_inverts_avr(sim12):
    sig, fs, leads = sim12
    _, truth = render(sig, fs, leads, layout="3x4", lead_order="cabrera")
    labels = [b["label"] for b in truth.geometry["boxes"]]
    assert labels[:3] == ["aVL", "I", "-aVR"]
    avr = truth.lead("aVR")
    ok = np.isfinite(avr)
    np.testing.assert_array_equal(avr[ok], sig[ok, 3])  # truth keeps aVR's own sign


def test_strip_wraps_long_records():
    fs = 300
    sig = np.sin(np.arange(35 * fs) / fs * 2 * np.pi)[:, None]
    image, truth = render(sig, fs, ["I"], layout="strip", dpi=100)
    assert len(truth.geometry["boxes"]) == 4  # 35 s at 10 s a row
    assert truth.n_samples == 35 * fs and np.isfinite(truth.signal).all()


@pytest.mark.parametrize("speed,gain", [(25, 10), (50, 5), (25, 20)])
def test_paper_speed_and_gain_scale_geometry(sim12, speed, gain):
    sig, fs, leads = sim12
    _, truth = render(sig, fs, leads, layout="3x4", paper_speed=speed, gain=gain, dpi=100)
    cal = truth.calibration
    assert cal.mm_per_s == speed and cal.mm_per_mv == gain
    assert truth.duration == pytest.approx(250 / speed)


@pytest.mark.parametrize("style", [
    {"grid_color": "green", "grid_style": "dotted"}, {"grid_style": "none"},
    {"cal_pulse": "right", "separators": False, "labels": False, "header": "Patient 12"},
    {"grid_color": "black", "cal_pulse": "none"},
])
def test_styles_render(sim12, style):
    sig, fs, leads = sim12
    image, _ = render(sig, fs, leads, dpi=100, **style)
    assert image.dtype == np.uint8 and image.ndim == 3


def test_grid_colour_is_visible(sim12):
    sig, fs, leads = sim12
    red, _ = render(sig, fs, leads, dpi=100, grid_color="red")
    none, _ = render(sig, fs, leads, dpi=100, grid_style="none")
    assert (red[..., 0].astype(int) - red[..., 1]).mean() > 10
    assert abs((none[..., 0].astype(int) - none[..., 1]).mean()) < 3


@pytest.mark.parametrize("preset", ["scan", "photo"])
def test_presets_are_deterministic_and_move_the_mask(sim12, preset):
    sig, fs, leads = sim12
    a, ta = render(sig, fs, leads, dpi=100, preset=preset, seed=5)
    b, _ = render(sig, fs, leads, dpi=100, preset=preset, seed=5)
    c, _ = render(sig, fs, leads, dpi=100, preset=preset, seed=6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # trace pixels of the mask are darker than the paper just below them
    mask = ta.geometry["trace_mask"] > 0
    grey = a.mean(axis=2)
    below = np.roll(mask, 6, axis=0) & ~mask
    assert grey[mask].mean() < grey[below].mean() - 25


@pytest.mark.parametrize("trait", [{"fold": 0.04}, {"curl": 0.02}, {"out_of_frame": 0.05, "background": 0.05}])
def test_photo_traits_move_the_mask_with_the_paper(sim12, trait):
    """A fold, a curled edge and a sheet pushed out of the frame move the trace mask with
    the ink; a sheet out of the frame loses that share of its extent."""
    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, dpi=100, distortions=trait, seed=3)
    clean, _ = render(sig, fs, leads, dpi=100, seed=3)
    assert not np.array_equal(image, clean)
    mask = truth.geometry["trace_mask"] > 0
    grey = image.mean(axis=2)
    below = np.roll(mask, 6, axis=0) & ~mask
    assert grey[mask].mean() < grey[below].mean() - 25
    if "out_of_frame" in trait:  # the sheet now reaches an edge of the frame (no table beyond it)
        paper = grey > 200
        assert paper[:, 0].mean() > 0.5 or paper[:, -1].mean() > 0.5 or paper[0].mean() > 0.5 or paper[-1].mean() > 0.5


def test_rotation_homography_maps_truth_onto_mask(sim12):
    sig, fs, leads = sim12
    _, truth = render(sig, fs, leads, dpi=100, distortions={"rotation": 4.0})
    hm = np.array(truth.geometry["homography"])
    # a 1-px stroke warped with nearest neighbours: allow one pixel either way
    mask = binary_dilation(truth.geometry["trace_mask"] > 0, np.ones((3, 3), bool))
    hits = total = 0
    for x, y in trace_pixels(truth):
        pts = np.column_stack([x, y, np.ones_like(x)]) @ hm.T
        xi = np.round(pts[:, 0] / pts[:, 2]).astype(int)
        yi = np.round(pts[:, 1] / pts[:, 2]).astype(int)
        hits += mask[yi, xi].sum()
        total += len(xi)
    assert hits / total > 0.95


def test_bad_layouts_raise(sim12):
    sig, fs, leads = sim12
    for bad in ["4x4", "3x4+II,V1,V2,V3", "zigzag", "3x4+X9"]:
        with pytest.raises(LayoutError):
            parse_layout(bad)
    with pytest.raises(LayoutError):
        render(sig[:, :2], fs, leads[:2], layout="3x4")
    with pytest.raises(TypeError):
        render(sig, fs, leads, grid_colour="red")  # misspelt option is refused


def test_plan_panels_6x2():
    panels = plan_panels("6x2", row_seconds=10)
    assert [p.lead for p in panels if p.col == 1] == ["V1", "V2", "V3", "V4", "V5", "V6"]
    assert all(p.t0 == 5.0 for p in panels if p.col == 1)


@pytest.mark.parametrize("preset", ["clean", "photo"])
def test_pulse_mask_marks_the_calibration_pulses_only(sim12, preset):
    sig, fs, leads = sim12
    _, truth = render(sig, fs, leads, layout="3x4+II", seed=1, preset=preset)
    pulses, trace = truth.geometry["pulse_mask"], truth.geometry["trace_mask"]
    assert pulses.dtype == bool and pulses.any()
    assert not (pulses & (trace > 0)).any()          # disjoint from the leads' labels
    assert trace.max() == len(truth.geometry["boxes"])  # no pulse label left in the trace mask
    if preset == "clean":                             # one pulse per row, inside its box
        inside = np.zeros_like(pulses)
        for p in truth.geometry["cal_pulses"]:
            x0, y0, x1, y1 = np.round(p["bbox"]).astype(int)
            inside[y0 - 2:y1 + 3, x0 - 2:x1 + 3] = True
        assert pulses[~inside].sum() == 0 and len(truth.geometry["cal_pulses"]) == 4
    _, none = render(sig, fs, leads, layout="3x4+II", seed=1, preset=preset, cal_pulse="none")
    assert not none.geometry["pulse_mask"].any()


# --- traits of third-party pages (issue #25): non-square pixels, thin grey pens, pulses at
# the right end, traces flush with the page edge, ECG-Image-Kit-like header and footer,
# JPEG quality and 1-bit scans

def _xy_trace_pixels(truth):
    """trace_pixels with the page's two scales (``geometry["px_per_mm_xy"]``)."""
    sx, sy = truth.geometry["px_per_mm_xy"]
    cal = truth.calibration
    for box in truth.geometry["boxes"]:
        i0, i1 = int(round(box["t0"] * truth.fs)), int(round(box["t1"] * truth.fs))
        seg = truth.lead(box["lead"])[i0:i1]
        t = np.arange(i0, i0 + len(seg)) / truth.fs
        yield box["x0"] + (t - box["t0"]) * sx * cal.mm_per_s, box["baseline_y"] - seg * sy * cal.mm_per_mv


@pytest.mark.parametrize("stretch", [(1.0, 0.85), (1.15, 1.0), (0.9, 1.1)])
def test_stretched_pixels_keep_the_truth_exact(sim12, stretch):
    sig, fs, leads = sim12
    _, square = render(sig, fs, leads, layout="3x4+II", seed=0)
    image, truth = render(sig, fs, leads, layout="3x4+II", seed=0, stretch=stretch)
    sx, sy = truth.geometry["px_per_mm_xy"]
    assert sx == pytest.approx(200 / 25.4 * stretch[0]) and sy == pytest.approx(200 / 25.4 * stretch[1])
    assert truth.calibration.px_per_mm == pytest.approx(sx)   # the time axis
    h0, w0 = square.geometry["trace_mask"].shape
    assert abs(image.shape[0] - h0 * stretch[1]) <= 1 and abs(image.shape[1] - w0 * stretch[0]) <= 1
    err = _row_errors(truth, _xy_trace_pixels)
    assert len(err) > 1000 and np.percentile(err, 99) <= 0.55 and err.mean() < 0.3
    # the grid's minor lines repeat every sx px across and sy px down
    grid = (image[..., 1].astype(float) < 235) & (truth.geometry["trace_mask"] == 0)
    for axis, scale in ((0, sx), (1, sy)):
        profile = grid.mean(axis=axis) - grid.mean()
        spec = np.abs(np.fft.rfft(profile))
        freq = np.fft.rfftfreq(len(profile))
        lo = np.searchsorted(freq, 1 / (scale * 1.3))
        hi = np.searchsorted(freq, 1 / (scale * 0.77))
        best = freq[lo + np.argmax(spec[lo:hi])]
        assert 1 / best == pytest.approx(scale, rel=0.02)


def test_thin_grey_pen_right_pulse_flush_page(sim12):
    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout="3x4+II", dpi=200, trace_width_px=1, trace_color=(90, 90, 90),
                          cal_pulse="right", margin_mm=0, fit_page=True, header=False)
    boxes = truth.geometry["boxes"]
    assert min(b["x0"] for b in boxes) == 0.0               # traces start at the page's left edge
    mask = truth.geometry["trace_mask"]
    assert mask[:, 0].any()
    assert image.shape[1] == int(round((250 + 8) * 200 / 25.4))   # no A4 minimum: plot + pulse
    pulses = truth.geometry["cal_pulses"]
    assert len(pulses) == 4 and all(p["bbox"][0] > 250 * 200 / 25.4 for p in pulses)
    # the pen: one pixel, grey (the darkest trace pixels are the pen's colour, not black)
    ink = image[mask > 0].astype(float).mean(axis=1)
    assert ink.min() >= 85
    runs = (mask[:, 100:1900] == 1).sum(axis=0)
    assert np.median(runs[runs > 0]) <= 2


def test_eik_header_and_footer_are_drawn(sim12):
    sig, fs, leads = sim12
    plain, _ = render(sig, fs, leads, layout="3x4+II", dpi=100, header=False)
    eik, truth = render(sig, fs, leads, layout="3x4+II", dpi=100, header="eik", footer=True, record_id="00009_hr")
    dark = lambda im: (im.min(axis=2) < 100)  # noqa: E731
    corner = dark(eik)[:15, :150]
    assert corner.sum() > 30 and dark(plain)[:15, :150].sum() == 0   # "ID: 00009_hr" in the corner
    assert dark(eik)[-60:].sum() > dark(plain)[-60:].sum() + 30   # "25mm/s  10mm/mV" at the bottom
    assert truth.geometry["style"]["footer"] is True
    framed, _ = render(sig, fs, leads, layout="3x4+II", dpi=100, header="eik", frame_px=1)
    assert (framed[0] == 0).all() and (framed[:, -1] == 0).all() and (framed[1:-1, 1:-1] > 0).any()


def test_jpeg_quality_and_bilevel_options(sim12):
    sig, fs, leads = sim12
    base, _ = render(sig, fs, leads, dpi=100, preset="scan", seed=3)
    png, t_png = render(sig, fs, leads, dpi=100, preset="scan", seed=3, jpeg=0)
    q60, t60 = render(sig, fs, leads, dpi=100, preset="scan", seed=3, jpeg=60)
    assert "jpeg" not in t_png.geometry["distortions"] and t60.geometry["distortions"]["jpeg"] == 60
    assert not np.array_equal(png, q60) and not np.array_equal(base, png)
    # the other distortions are drawn as before: the lossless page is close to both
    other, _ = render(sig, fs, leads, dpi=100, preset="scan", seed=4, jpeg=0)
    assert np.abs(png.astype(int) - q60.astype(int)).mean() < np.abs(png.astype(int) - other.astype(int)).mean()
    bw, t_bw = render(sig, fs, leads, dpi=200, preset="scan", seed=3, bilevel=True)
    assert set(np.unique(bw)) <= {0, 255} and "jpeg" not in t_bw.geometry["distortions"]
    assert (bw[t_bw.geometry["trace_mask"] > 0] == 0).mean() > 0.8   # the trace stays black
    bw_jpeg, _ = render(sig, fs, leads, dpi=100, preset="clean", bilevel=0.6, jpeg=90)
    assert len(np.unique(bw_jpeg)) > 2


def test_page_coordinates_move_with_the_page(sim12):
    """``page_coordinates=True`` leaves the picture as it was and tells, for each pixel,
    where it lies on the clean page: the identity on a clean page, and on a photo the
    place the distortions read it from (a trace pixel comes from a clean trace pixel)."""
    sig, fs, leads = sim12
    clean, truth = render(sig, fs, leads, dpi=100, page_coordinates=True)
    x, y = truth.geometry.page_xy
    assert np.array_equal(x[5], np.arange(clean.shape[1])) and np.array_equal(y[:, 7], np.arange(clean.shape[0]))
    clean_trace = truth.geometry.trace_mask > 0
    plain, _ = render(sig, fs, leads, dpi=100, preset="photo", seed=4)
    photo, truth = render(sig, fs, leads, dpi=100, preset="photo", seed=4, page_coordinates=True)
    assert np.array_equal(plain, photo)
    x, y = (c[truth.geometry.trace_mask > 0] for c in truth.geometry.page_xy)
    assert np.allclose(x, np.round(x)) and np.allclose(y, np.round(y))   # moved pixel for pixel
    assert clean_trace[y.astype(int), x.astype(int)].all()
