"""Digitizer stages on rendered pages with a known grid period, angle and layout."""
import cv2
import numpy as np
import pytest

from ecg_digitize.digitizer import calibration, deskew, extract, greyscale, grid, layout, threshold
from ecg_digitize.errors import LayoutError
from ecg_digitize.synth import render


@pytest.fixture(scope="module")
def page(sim12):
    sig, fs, leads = sim12
    return render(sig, fs, leads, layout="3x4+II", seed=0)


def _views(image):
    return (threshold.normalise_background(greyscale.trace_view(image)),
            threshold.normalise_background(greyscale.grid_view(image)))


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
    _, mask = threshold.adaptive_otsu(_views(image)[0])
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
    _, mask = threshold.adaptive_otsu(_views(image)[0])
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


@pytest.mark.parametrize("angle", [-3.0, 1.2, 4.5])
def test_deskew_recovers_known_angle(sim12, angle):
    sig, fs, leads = sim12
    image, _ = render(sig, fs, leads, seed=2, distortions={"rotation": angle, "noise": 0.01})
    assert deskew.estimate_skew(_views(image)[1]) == pytest.approx(angle, abs=0.05)


@pytest.mark.parametrize("dpi,angle", [(100, 4.4), (150, 0.9), (100, -1.9)])
def test_deskew_of_odd_sized_pages_is_not_pulled_to_zero(sim12, dpi, angle):
    # 6x2 pages at these resolutions have an odd height or width; half-pixel centres
    # once made 0 deg score a spike that beat the true angle
    sig, fs, leads = sim12
    image, _ = render(sig, fs, leads, layout="6x2", dpi=dpi, seed=2,
                      distortions={"rotation": angle, "noise": 0.01})
    assert (np.array(image.shape[:2]) % 2).any()
    assert deskew.estimate_skew(_views(image)[1]) == pytest.approx(angle, abs=0.05)


@pytest.mark.parametrize("layout,dpi", [("3x4+II", 200), ("12x1", 150), ("6x2", 100)])
def test_deskew_of_a_straight_page_is_zero(sim12, layout, dpi):
    # angles within a few hundredths of a degree project identically (no point moves
    # half a pixel): the middle of that plateau is 0, its first angle was about -0.03
    sig, fs, leads = sim12
    image, _ = render(sig, fs, leads, layout=layout, dpi=dpi, seed=2)
    assert abs(deskew.estimate_skew(_views(image)[1])) < 0.01


@pytest.mark.parametrize("dpi,style", [(100, {}), (200, {"grid_style": "dotted", "grid_color": "pink"}),
                                       (300, {"grid_color": "green"})])
def test_grid_period_matches_dpi(sim12, dpi, style):
    sig, fs, leads = sim12
    image, _ = render(sig, fs, leads, dpi=dpi, seed=3, **style)
    est = grid.estimate_grid(_views(image)[1])
    assert est.px_per_mm == pytest.approx(dpi / 25.4, rel=2e-4)


def test_no_grid_is_reported(sim12):
    sig, fs, leads = sim12
    image, _ = render(sig, fs, leads, seed=3, grid_style="none")
    tv, gv = _views(image)
    _, mask = threshold.adaptive_otsu(tv)
    assert grid.estimate_grid(gv, trace_mask=mask).px_per_mm is None or \
        ((gv > 0.08) & ~mask).mean() < 0.004  # the pipeline's no-grid test


@pytest.mark.parametrize("gain", [5.0, 10.0, 20.0])
def test_pulse_gives_gain(sim12, gain):
    sig, fs, leads = sim12
    image, truth = render(sig * (10.0 / gain), fs, leads, layout="3x4", gain=gain, seed=4)
    tv, _ = _views(image)
    _, mask = threshold.adaptive_otsu(tv)
    ppm = 200 / 25.4
    rows = layout.find_rows(mask, ppm)
    pulses = []
    for r in rows:
        tr = extract.trace_row(mask, tv, r.y_lo, r.y_hi, r.baseline, r.x_lo - 15 * ppm, r.x_hi, px_per_mm=ppm)
        pulses.append(calibration.find_pulse(tr, r.baseline, ppm))
    found = [p for p in calibration.consistent(pulses) if p is not None]
    assert len(found) >= 2
    assert calibration.gain_from_pulses(found, ppm) == (gain, 25.0)


@pytest.mark.parametrize("lay,n_rows", [("3x4", 3), ("3x4+II", 4), ("6x2", 6), ("12x1", 12)])
def test_rows_and_baselines(sim12, lay, n_rows):
    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout=lay, seed=5)
    _, mask = threshold.adaptive_otsu(_views(image)[0])
    rows = layout.find_rows(mask, 200 / 25.4)
    assert len(rows) == n_rows
    true_base = sorted({b["baseline_y"] for b in truth.geometry["boxes"]})
    # the isoelectric level is within a few mm of the 0 mV line the renderer used
    assert np.max(np.abs(np.array([r.baseline for r in rows]) - true_base)) < 4 * 200 / 25.4


@pytest.mark.parametrize("columns", [(0.3,), (0.05, 0.4, 0.75)])
@pytest.mark.parametrize("where", ["header", "footer"])
def test_bold_header_or_footer_text_is_not_a_row(sim12, columns, where):
    # a machine's interpretation above the traces (or its settings below them), in bold
    # words that merge into ink as wide as 12 mm of trace, gives a profile peak like a
    # row's. One block of it covers less of the page than a row of trace; three blocks
    # cover as much, but their ink is flat, filled blobs
    sig, fs, leads = sim12
    image, _ = render(sig, fs, leads, layout="3x4", seed=5)
    _, mask = threshold.adaptive_otsu(_views(image)[0])
    found = [r.baseline for r in layout.find_rows(mask, 200 / 25.4)]
    top = int(found[0]) - 200 if where == "header" else int(found[-1]) + 150
    text = np.zeros(mask.shape, np.uint8)
    for x in columns:
        for k, words in enumerate(["Nonspecific T wave abnormality", "Prolonged QT"]):
            cv2.putText(text, words, (int(x * mask.shape[1]), top + 50 * k), cv2.FONT_HERSHEY_DUPLEX, 0.9, 1, 3)
    text = cv2.dilate(text, np.ones((1, 7), np.uint8)).astype(bool)  # letters merged
    rows = layout.find_rows(mask | text, 200 / 25.4)
    assert [r.baseline for r in rows] == pytest.approx(found, abs=1)


@pytest.mark.parametrize("grey", [170, 200])
def test_faint_trace_below_black_text_is_read(sim12, grey):
    # a low-resolution page whose thin, light grey trace is much fainter than its black
    # footer text (ecg-image-kit ecg00014): Otsu's first split falls between the text and
    # the trace, and the rows found above it are the text's. Read at the fainter threshold
    from ecg_digitize import digitize
    from ecg_digitize.metrics import score_record

    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout="3x4+II", dpi=96, seed=1, trace_color=(grey,) * 3,
                          trace_width_mm=0.2)
    image = np.ascontiguousarray(image)
    for k in range(2):
        cv2.putText(image, "25 mm/sec   10 mm/mV   0.05-150 Hz   ELI 350", (20, image.shape[0] - 8 - 18 * k),
                    cv2.FONT_HERSHEY_DUPLEX, 0.5, (0, 0, 0), 2)
    rec = digitize(image)
    assert rec.layout == "3x4+II"
    assert any("fainter threshold" in w for w in rec.warnings)
    assert score_record(rec, truth).snr > 18


def test_a_row_crowded_out_by_its_neighbours_is_kept():
    # on a 12x1 page the deep waves of two leads can spread their ink over the band of the
    # lead between them (a fold-9 scan page lost V4 and was then read as a strip): its
    # profile peak is weak, like a crowd of big waves between two rows, but it lies where
    # the rows' even pitch puts a row
    ppm = 200 / 25.4
    pitch = int(21 * ppm)
    mask = np.zeros((13 * pitch, 2000), bool)
    x = np.arange(100, 1900)
    for k in range(12):
        xs = x[:400] if k == 9 else x
        mask[np.round((k + 1) * pitch + 3 * np.sin(xs / 15)).astype(int), xs] = True
    mask[int(2.5 * pitch), 300:700] = True          # ink between two rows, off the pitch
    rows = layout.find_rows(mask, ppm)
    assert [round(r.baseline / pitch) for r in rows] == list(range(1, 13))


def test_trace_broken_into_dots_is_joined_by_its_faint_pixels():
    # a thin line drawn in few grey levels: every third pixel dark, the ones between
    # half dark. A threshold between the two levels leaves dots no row is made of; the
    # faint pixels beside them join them again (a palette image, ecg-image-kit ecg00007)
    from ecg_digitize.errors import NotAnEcgError

    ppm = 6.5
    dark = np.zeros((400, 1400), np.float32)
    x = np.arange(20, 1380)
    for base in (100, 300):
        y = np.round(base + 6 * np.sin(x / 12.0)).astype(int)     # connected: under 1 px per column
        dark[y, x] = np.where(x % 3 == 0, 1.0, 0.45)
    strong = dark > 0.64
    with pytest.raises(NotAnEcgError):
        layout.find_rows(strong, ppm)
    joined = threshold.reconnect_faint(dark, strong, 0.64)
    assert [round(r.baseline) for r in layout.find_rows(joined, ppm)] == pytest.approx([100, 300], abs=2)
    assert not (joined & (dark == 0)).any()
    # one row drawn whole, the other in dots: a row is found, but a quarter of the ink
    # lies in short pieces, which a share limit catches (the pipeline's is 0.15)
    strong[y - 200, x] = True
    assert len(layout.find_rows(strong, ppm)) == 1
    with pytest.raises(NotAnEcgError, match="short pieces"):
        layout.find_rows(strong, ppm, min_long_share=0.9)


def test_trace_row_follows_a_known_curve():
    mask = np.zeros((200, 600), bool)
    x = np.arange(600)
    y = np.round(100 + 40 * np.sin(x / 30)).astype(int)
    for dy in (0, 1):
        mask[y + dy, x] = True
    mask[20:40, 300:320] = True  # a label-like blob far from the path
    tr = extract.trace_row(mask, mask.astype(np.float32), 0, 199, 100.0, 0, 599, px_per_mm=8.0)
    assert np.isfinite(tr.y).mean() > 0.99
    assert np.nanmax(np.abs(tr.y - (y + 0.5))) < 1.5


def _pen_drawing(shape, *lines) -> np.ndarray:
    """Darkness (0..1) of polylines (lists of (x, y) points) drawn like the renderer:
    OpenCV, anti-aliased, a 2 px pen, sub-pixel coordinates."""
    shift = 8
    canvas = np.zeros(shape, np.uint8)
    for line in lines:
        pts = (np.asarray(line, float) * (1 << shift)).round().astype(np.int32)
        cv2.polylines(canvas, [pts], False, 255, 2, cv2.LINE_AA, shift)
    return canvas / 255.0


def test_path_keeps_a_narrow_spikes_tip_over_its_foot():
    # A 140 px spike whose strokes bend where they leave the baseline: in the tip's column
    # the two strokes part, leaving the tip's run and, below a white gap, a short run at
    # the foot. Both touch the neighbouring columns' runs; the path must take the tip.
    dark = _pen_drawing((180, 100), [[5.0, 150.0], [43.0, 150.0], [48.0, 110.0], [50.0, 10.0],
                                     [52.0, 110.0], [57.0, 150.0], [95.0, 150.0]])
    runs = extract.column_runs(dark[:, 50:51] > 0.5)
    assert len(runs[0]) == 2                     # the tip and the foot, apart
    row = extract.trace_row(dark > 0.5, dark, 0, 179, 150.0, 0, 99, px_per_mm=8.0)
    assert row.top[50] < 15
    assert abs(np.interp(50.0, row.px, row.py) - 10.0) < 1.5


def test_spike_apex_between_two_columns_is_read_there():
    # A spike whose apex lies on a column boundary reaches the same height in two columns:
    # the apex is read between them, and the strokes either side symmetrically.
    for tip_x in (50.0, 50.5):
        dark = _pen_drawing((180, 100), [[5.0, 150.0], [tip_x - 7, 150.0], [tip_x - 2, 110.0],
                                         [tip_x, 10.0], [tip_x + 2, 110.0], [tip_x + 7, 150.0],
                                         [95.0, 150.0]])
        row = extract.trace_row(dark > 0.5, dark, 0, 179, 150.0, 0, 99, px_per_mm=8.0)
        left, apex, right = np.interp([tip_x - 0.5, tip_x, tip_x + 0.5], row.px, row.py)
        assert abs(apex - 10.0) < 1.5
        assert abs(left - 35.0) < 3 and abs(right - 35.0) < 3   # the strokes' true y there


def test_separator_tick_is_not_read_as_the_next_leads_start():
    # At a lead change the previous lead ends 10 px below the baseline, the next starts
    # 25 px above it, beyond the end of the 20 px tick: the tick's bottom end is no
    # trough of the next lead, whose first samples read its own level.
    base, xb = 100.0, 60.3
    dark = _pen_drawing((160, 120), [[5, base + 10], [xb - 0.4, base + 10]],
                        [[xb, base - 25], [xb + 40, base - 25]], [[xb, base - 20], [xb, base + 20]])
    row = extract.trace_row(dark > 0.5, dark, 0, 159, base, 0, 119, px_per_mm=8.0)
    row = extract.redraw_at_lead_changes(row, dark > 0.5, dark, [xb])
    start = np.interp([xb + 1.0, xb + 1.5], row.px, row.py)
    assert np.all(np.abs(start - (base - 25)) < [3.0, 1.5])


def test_path_follows_a_deep_s_wave_to_the_lead_change():
    # The previous lead ends on a deep S wave, 70 px below the baseline; the next starts
    # near the baseline: the path must jump at the lead change, not leave the S wave early.
    base, xb = 100.0, 60.3
    dark = _pen_drawing((200, 120), [[5, base], [xb - 6, base], [xb - 0.4, base + 70]],
                        [[xb, base - 5], [xb + 40, base - 5]], [[xb, base - 20], [xb, base + 20]])
    row = extract.trace_row(dark > 0.5, dark, 0, 199, base, 0, 119, px_per_mm=8.0)
    row = extract.redraw_at_lead_changes(row, dark > 0.5, dark, [xb])
    assert row.py[row.px < xb].max() > base + 65
    assert abs(np.interp(xb - 2, row.px, row.py) - (base + 50)) < 3


def test_merged_spike_strokes_are_placed_to_a_fraction_of_a_pixel():
    # A narrow spike drawn like the renderer (OpenCV anti-aliased, 2 px pen): its up- and
    # down-strokes share columns and merge into one run across each image row.
    dark = _pen_drawing((130, 100), [[5.0, 100.0], [48.0, 100.0], [50.5, 20.0], [53.0, 100.0],
                                     [95.0, 100.0]])
    row = extract.trace_row(dark > 0.5, dark, 0, 129, 100.0, 0, 99, px_per_mm=8.0)
    errors = []
    for y in range(30, 91):
        at = row.px[np.abs(row.py - y) < 0.01]
        if len(at) < 2:
            continue
        up = 48.0 + (100 - y) / 80 * 2.5
        down = 53.0 - (100 - y) / 80 * 2.5
        errors += [abs(at.min() - up), abs(at.max() - down)]
    assert len(errors) >= 8
    assert np.mean(errors) < 0.1 and np.max(errors) < 0.25


def test_layout_classification_rules():
    assert layout.classify(3, {"quarters": 0.9, "half": 0.9}, 0.7) == "3x4"
    assert layout.classify(6, {"quarters": 0.8, "half": 0.8}, 0.7) == "3x4+3"
    assert layout.classify(12, {"quarters": 0, "half": 0}, 0.7) == "12x1"
    assert layout.classify(12, {"quarters": 0, "half": 0}, 0.0) == "strip"
    assert layout.classify(1, {}, 0.0) == "strip"
    # rows that follow one another in time are a wrapped strip, whatever their count
    assert layout.classify(6, {"quarters": 0.2, "half": 0.0, "quarters_all": 0.1, "half_all": 0.0,
                               "lower_all": 0.1}, 0.05) == "strip"
    assert layout.classify(3, {"quarters": 0.3, "half": 0.3}, 0.02) == "strip"
    # ...unless their beats change shape at the column positions: several leads
    weak = {"quarters": 0.2, "half": 0.0, "rhythm_match": 0.5}
    assert layout.classify(4, {**weak, "beats_alike": 0.9}, 0.1) == "strip"
    assert layout.classify(4, {**weak, "beats_alike": float("nan")}, 0.1) == "strip"  # unknown
    assert layout.classify(4, {**weak, "beats_alike": -0.2}, 0.1) == "3x4+1"
    assert layout.classify(3, {"quarters": 0.3, "half": 0.3, "beats_alike": 0.1}, 0.02) == "3x4"
    with pytest.raises(LayoutError, match="7 rows"):
        layout.classify(7, {**weak, "beats_alike": -0.2}, 0.1)
    assert layout.classify(7, {**weak, "beats_alike": 0.8}, 0.1) == "strip"
    # two rows are often one strip whose baseline wanders: still a strip
    assert layout.classify(2, {**weak, "beats_alike": 0.1}, 0.3) == "strip"


def test_beats_alike_tells_a_strip_from_a_page(sim12):
    sig, fs, leads = sim12
    x = np.arange(len(sig)) / fs * 25 * 8  # 200 dpi px along a 10 s row
    cols = np.arange(int(x[-1]))
    strip = [np.interp(cols, x, sig[:, leads.index("II")])]
    quarters = np.array_split(cols, 4)
    page = [np.concatenate([np.interp(q, x, sig[:, leads.index(name)]) for q, name in zip(quarters, row)])
            for row in (["I", "aVR", "V1", "V4"], ["II", "aVL", "V2", "V5"], ["III", "aVF", "V3", "V6"])]
    assert layout.beats_alike_across_columns(strip * 3, 7.87) > 0.7
    assert layout.beats_alike_across_columns(page, 7.87) < 0.4
    assert np.isnan(layout.beats_alike_across_columns([np.zeros(100)], 7.87))


@pytest.fixture(scope="module")
def sim30():
    from ecg_digitize.synth import simulate_12lead

    sig, fs, leads = simulate_12lead(duration=30, fs=300, seed=3)
    return sig[:, [1]], fs, ["II"]


@pytest.mark.parametrize("lay", ["3x4", "3x4+II", "3x4+II,V1,V5", "6x2", "12x1"])
def test_end_to_end_layouts(sim12, lay):
    """Each 12-lead layout is recognised, scores well and has no time lag (time zero)."""
    from ecg_digitize import digitize
    from ecg_digitize.metrics import score_record

    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout=lay, seed=7)
    rec = digitize(image)
    assert rec.layout == lay
    score = score_record(rec, truth)
    assert score.snr > 18
    assert abs(np.median([s.lag for s in score.leads.values()])) <= 1


@pytest.mark.parametrize("heart_rate", [60, 72])
def test_regular_strip_with_aligned_rows_is_not_a_3x4_page(heart_rate):
    """At 60 or 72 bpm a 10 s row holds a whole number of beats, so the rows of a wrapped
    strip line up like a 12-lead page's; the beats' unchanging shape tells them apart."""
    from ecg_digitize import digitize
    from ecg_digitize.synth import simulate_12lead

    sig, fs, _ = simulate_12lead(duration=30, fs=300, seed=5, heart_rate=heart_rate)
    image, _ = render(sig[:, [1]], fs, ["II"], layout="strip", dpi=150, seed=2, header=False)
    assert digitize(image, fs=fs).layout == "strip"


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


@pytest.mark.parametrize("rows", [3, 6])
def test_end_to_end_wrapped_strip(sim30, rows):
    """A long single lead wrapped into rows: recognised as a strip, no drift row to row."""
    from ecg_digitize import digitize
    from ecg_digitize.metrics import snr

    sig, fs, leads = sim30
    if rows == 6:  # 60 s (not the 30 s twice: rows 4-6 would repeat rows 1-3 like rhythm strips)
        from ecg_digitize.synth import simulate_12lead

        sig = np.r_[sig, simulate_12lead(duration=30, fs=300, seed=4, heart_rate=83)[0][:, [1]]]
    image, truth = render(sig, fs, leads, layout="strip", dpi=150, seed=1, header=False)
    rec = digitize(image, fs=fs)
    assert rec.layout == "strip"
    est, t = rec.signal[:, 0], truth.signal[:, 0]
    n = min(len(est), len(t))
    per_row = int(10 * fs)
    lags = [snr(est[k:k + per_row], t[k:k + per_row], fs).lag for k in range(0, n - per_row + 1, per_row)]
    assert len(lags) == rows and max(abs(x) for x in lags) <= 2  # was 7 per row before the fix
    assert snr(est[:n], t[:n], fs).snr > 15


def test_grid_of_equal_lines_is_recognised_as_1mm_with_a_thick_pen():
    """Paper without major lines: the comb's "5 mm" is the 1 mm spacing (real strip scans)."""
    import cv2

    from ecg_digitize.digitizer import grid
    from ecg_digitize.digitizer.pipeline import _grid_lines_are_1mm, pen_thickness_px

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


def test_stretched_grid_is_measured_per_axis_and_squared(sim12):
    import cv2

    from ecg_digitize.digitizer.pipeline import _square_grid

    img, truth = render(*sim12, layout="3x4+II", dpi=150, seed=0)
    h, w = img.shape[:2]
    stretched = cv2.resize(img, (int(w * 1.05), h), interpolation=cv2.INTER_LINEAR)
    px, py = grid.axis_periods(threshold.normalise_background(greyscale.grid_view(stretched)))
    assert px / py == pytest.approx(1.05, abs=0.01)
    squared, hom = _square_grid(stretched, np.eye(3))
    assert hom[0, 0] == pytest.approx(1 / 1.05, abs=0.01)
    est = grid.estimate_grid(greyscale.grid_view(squared))
    assert est.px_per_mm == pytest.approx(truth.calibration.px_per_mm, rel=0.01)


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


def test_denoise_only_pages_fine_enough(sim12):
    from ecg_digitize.digitizer.pipeline import _denoised_if_fine

    sig, fs, leads = sim12
    for dpi, smoothed in [(100, False), (200, True)]:
        image, _ = render(sig, fs, leads, layout="3x4+II", dpi=dpi, seed=4, distortions={"noise": 0.03})
        out = _denoised_if_fine(image, _views(image)[1])
        assert (out is not image) == smoothed


@pytest.mark.parametrize("ecg_id", [0, 1, 2])
def test_denoise_helps_a_noisy_jpeg_scan(ecg_id, monkeypatch):
    from ecg_digitize import digitize
    from ecg_digitize.datasets import DataNotFoundError
    from ecg_digitize.metrics import score_record
    from ecg_digitize.synth import load_ptbxl, ptbxl_records

    try:
        record = ptbxl_records(folds=[9])[ecg_id]
    except DataNotFoundError as e:
        pytest.skip(f"PTB-XL not available: {e}")
    sig, fs, leads = load_ptbxl(record)
    image, truth = render(sig, fs, leads, layout="3x4+II", dpi=150, seed=record, grid_style="dotted",
                          distortions={"jpeg": 60, "noise": 0.02})
    with_filter = score_record(digitize(image), truth).snr
    monkeypatch.setattr(greyscale, "denoise", lambda rgb, **kw: rgb)
    without = score_record(digitize(image), truth).snr
    assert with_filter > without + 0.2


def test_neighbouring_rows_do_not_climb_each_others_strokes():
    # a deep S wave of the upper row meets the R wave of the row below in the same columns
    ink = np.zeros((200, 400), np.uint8)
    s_wave = np.array([[0, 60], [190, 60], [196, 116], [202, 60], [399, 60]], np.int32)
    r_wave = np.array([[0, 140], [194, 140], [199, 95], [204, 140], [399, 140]], np.int32)
    mask = cv2.polylines(ink, [s_wave, r_wave], False, 255, 2) > 0
    upper = extract.trace_row(mask, mask * 1.0, 0, 140, 60.0, 0, 399, px_per_mm=8.0)
    lower = extract.trace_row(mask, mask * 1.0, 60, 199, 140.0, 0, 399, px_per_mm=8.0)
    assert lower.py.min() < 80 and upper.py.max() > 130  # each took the other's strokes
    upper, lower = extract.separate_neighbours([upper, lower], [60.0, 140.0])
    assert lower.py.min() > 99 and np.nanmin(lower.y) > 99
    assert upper.py.max() < 110 and np.nanmax(upper.y) < 110
    flat = (upper.px < 180) | (upper.px > 215)
    assert np.all(np.abs(upper.py[flat] - 60.5) < 1.0)  # away from the crossing: untouched


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
    _, mask = threshold.adaptive_otsu(_views(np.asarray(Image.open(buf).convert("RGB")))[0])
    assert mask.mean() < 0.03  # the grid is not in the trace mask


def _round_capped_stroke(end_x: float, angle_deg: float, width: float, grid_at: float | None):
    """Darkness of one pen stroke with a true round cap, ending at ``(end_x, 40)``, drawn
    8x finer and averaged down; optionally over a faint vertical grid line at ``grid_at``."""
    s = 8
    big = np.zeros((80 * s, 160 * s), np.uint8)
    a = np.deg2rad(angle_deg)
    start = (end_x - 60 * np.cos(a), 40 + 60 * np.sin(a))
    pts = [(int(round((x + 0.5) * s - 0.5)), int(round((y + 0.5) * s - 0.5))) for x, y in (start, (end_x, 40.0))]
    cv2.line(big, pts[0], pts[1], 255, int(round(width * s)), cv2.LINE_8)
    ink = cv2.resize(big, (160, 80), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    paper = np.zeros((80, 160), np.float32)
    if grid_at is not None:
        paper[:, int(grid_at)] = 0.12
    return 0.88 * ink + (1 - ink) * paper        # ink of darkness 0.88 over the paper


def _row_trace(dark: np.ndarray) -> extract.RowTrace:
    """The path a row extraction would give: per column the ink's run and its centre."""
    cols = np.arange(dark.shape[1])
    ink = dark > 0.3
    y = np.full(len(cols), np.nan)
    top, bottom = y.copy(), y.copy()
    for c in cols[ink.any(axis=0)]:
        rows = np.nonzero(ink[:, c])[0]
        top[c], bottom[c] = rows[0], rows[-1]
        y[c] = np.average(np.arange(dark.shape[0]), weights=dark[:, c])
    return extract.RowTrace(0, y, top, bottom, 3.0)


@pytest.mark.parametrize("angle", [0, 30, 55])
def test_pen_end_of_a_round_capped_line(angle):
    """The row's end to a quarter pixel (within 0.1 px when flat), steep or not."""
    from ecg_digitize.digitizer.timebase import pen_end

    tol = 0.1 if angle == 0 else 0.25

    for end_x in (100.0, 100.3, 100.6):
        dark = _round_capped_stroke(end_x, angle, 3.0, grid_at=None)
        tr = _row_trace(dark)
        assert pen_end(tr, dark, tr.extent()[1], +1) == pytest.approx(end_x, abs=tol)
        # a faint grid line under the pen's end (a page's last second) changes nothing
        gridded = _round_capped_stroke(end_x, angle, 3.0, grid_at=end_x + 0.5)
        tr = _row_trace(gridded)
        assert pen_end(tr, gridded, tr.extent()[1], +1) == pytest.approx(end_x, abs=tol)


def test_adaptive_otsu_keeps_tall_qrs_merged_across_rows(sim12):
    """12x1 at 100 dpi with large precordial QRS: strokes of neighbouring rows join into
    vertical lines across the page. Without horizontal lines beside them they are not a
    grid, so the threshold must not climb until they (and most of the trace) vanish."""
    sig, fs, leads = sim12
    sig = sig.copy()
    sig[:, 6:11] *= 3.0                          # V1-V5 about 5 mV peak to peak
    image, truth = render(sig, fs, leads, layout="12x1", dpi=100, seed=0)
    t, mask = threshold.adaptive_otsu(_views(image)[0])
    trace = truth.geometry["trace_mask"] > 0
    assert (mask & trace).sum() / trace.sum() > 0.95
    assert t < 0.6


def test_pen_core_thins_a_thick_pen_and_spares_a_thin_one(sim12):
    sig, fs, leads = sim12
    # a scanned 200 dpi page: a 3.5 px pen, blurred; its core is kept and stays whole
    image, truth = render(sig, fs, leads, layout="3x4+II", dpi=200, preset="scan", seed=3)
    dark = _views(image)[0]
    t, mask = threshold.adaptive_otsu(dark)
    t_core, core = threshold.pen_core(dark, t, mask)
    assert t_core > t + 0.1
    assert core.sum() < 0.8 * mask.sum()
    ink_cols = mask.any(axis=0)
    assert core[:, ink_cols].any(axis=0).mean() > 0.97
    # a 100 dpi page: a 1 px pen has no solid core; the threshold stays
    image, _ = render(sig, fs, leads, layout="3x4+II", dpi=100, seed=3)
    dark = _views(image)[0]
    t, mask = threshold.adaptive_otsu(dark)
    t_core, core = threshold.pen_core(dark, t, mask)
    assert t_core == t and (core == mask).all()


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_page_on_its_side_or_upside_down_is_turned_upright(sim12, turns):
    # a sheet scanned sideways or upside down: upside down, its calibration pulses hang
    # below the rows at their far ends; on its side, its long curves run down the page
    from ecg_digitize import digitize
    from ecg_digitize.metrics import score_record

    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout="3x4+II", dpi=150, seed=1)
    rec = digitize(np.ascontiguousarray(np.rot90(image, turns)))   # counter-clockwise turns
    assert rec.geometry["quarter_turns"] == turns
    assert rec.warnings[0].startswith(f"the page was turned {90 * turns} deg clockwise")
    assert rec.layout == "3x4+II"
    assert score_record(rec, truth).snr > 20


def test_upright_page_without_pulses_is_not_turned(sim12):
    from ecg_digitize import digitize

    sig, fs, leads = sim12
    image, _ = render(sig, fs, leads, layout="3x4+II", dpi=150, seed=1, cal_pulse="none")
    assert "quarter_turns" not in digitize(image).geometry


@pytest.mark.parametrize("lay", ["3x4+II", "6x2"])
def test_cabrera_page_is_read_in_its_order(sim12, lay):
    # aVL, I, -aVR, II, aVF, III: read in the standard order, its limb leads would break
    # Einthoven's and Goldberger's laws; in its own order they obey them
    from ecg_digitize import digitize
    from ecg_digitize.metrics import score_record

    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout=lay, seed=2, lead_order="cabrera")
    rec = digitize(image)
    assert rec.layout == lay            # the rhythm strip of lead II keeps its name
    assert any(w.startswith("limb leads placed by position in the Cabrera order") for w in rec.warnings)
    limb = ["I", "II", "III", "aVR", "aVL", "aVF"]

    def limb_snr(r):
        return np.mean([score_record(r, truth).leads[name].snr for name in limb])

    assert limb_snr(rec) > 20
    assert limb_snr(digitize(image, lead_order="standard")) < 10


def test_grid_read_at_twice_its_period_is_halved_by_the_pulses():
    # ecg-image-kit ecg00009: the grid read at 18.84 px/mm made its 1 mV pulses 5 mm
    # tall and 2.6 mm wide (5 mm/mV, 13 mm/s) and its rows 126 mm long; at half the scale
    # the pulses are standard (10 mm/mV, 0.2 s at 25 mm/s) and the rows 250 mm long
    from ecg_digitize.digitizer.calibration import Pulse
    from ecg_digitize.digitizer.extract import RowTrace
    from ecg_digitize.digitizer.pipeline import _unless_grid_read_double

    rows = [RowTrace(100, np.zeros(2360), np.zeros(2360), np.zeros(2360), 2.0) for _ in range(4)]
    pulses = [Pulse("left", 100, 149, 97.0, 49.0, 160) for _ in range(4)]
    warnings = []
    assert _unless_grid_read_double(18.84, pulses, rows, warnings) == pytest.approx(9.42)
    assert "twice its size" in warnings[0]
    # a narrow pulse (0.1 s) on a page read at the right scale also reads standard at
    # half of it (20 mm/mV, 25 mm/s), but its rows are 250 mm long already
    narrow = [Pulse("left", 100, 123, 94.0, 24.0, 140) for _ in range(4)]
    assert _unless_grid_read_double(9.42, narrow, rows, []) == 9.42


def test_rhythm_strip_named_by_a_clearly_best_match():
    # a photo's rhythm strip matches its panel less closely than a render's; one match
    # well ahead of every other still names it (before, V1's 0.75 fell back to II and
    # the strip overwrote lead II)
    from ecg_digitize.digitizer.pipeline import _name_rhythm

    assert _name_rhythm(lambda r: {"V1": 0.75, "V2": 0.52, "aVF": -0.6}, 1) == ["V1"]
    assert _name_rhythm(lambda r: {"V1": 0.75, "V2": 0.70}, 1) == ["II"]          # no clear best
    assert _name_rhythm(lambda r: {"II": 0.93, "aVF": 0.95}, 1) == ["II"]         # limb leads alike


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
