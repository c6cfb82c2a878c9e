"""Stage 5: rows of trace, header and footer text, rescues of a lost trace."""
import cv2
import numpy as np
import pytest

from ecg_digitize.digitizer import threshold
from ecg_digitize.digitizer import rows as row_search
from ecg_digitize.synth import render
from stage_helpers import views


@pytest.mark.parametrize("lay,n_rows", [("3x4", 3), ("3x4+II", 4), ("6x2", 6), ("12x1", 12)])
def test_rows_and_baselines(sim12, lay, n_rows):
    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout=lay, seed=5)
    _, mask = threshold.adaptive_otsu(views(image)[0])
    rows = row_search.find_rows(mask, 200 / 25.4)
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
    _, mask = threshold.adaptive_otsu(views(image)[0])
    found = [r.baseline for r in row_search.find_rows(mask, 200 / 25.4)]
    top = int(found[0]) - 200 if where == "header" else int(found[-1]) + 150
    text = np.zeros(mask.shape, np.uint8)
    for x in columns:
        for k, words in enumerate(["Nonspecific T wave abnormality", "Prolonged QT"]):
            cv2.putText(text, words, (int(x * mask.shape[1]), top + 50 * k), cv2.FONT_HERSHEY_DUPLEX, 0.9, 1, 3)
    text = cv2.dilate(text, np.ones((1, 7), np.uint8)).astype(bool)  # letters merged
    rows = row_search.find_rows(mask | text, 200 / 25.4)
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


def test_a_row_in_a_lighter_patch_is_read_at_a_fainter_threshold(sim12):
    """A row under a bright patch (a photo's window light) falls below the threshold the
    others set: it is read at a fainter one, not the page taken for a 3x4 without its strip."""
    from ecg_digitize import digitize
    from ecg_digitize.metrics import score_record

    sig, fs, leads = sim12
    page, truth = render(sig, fs, leads, layout="3x4+II", dpi=150, seed=3)
    rows = sorted({round(b.baseline_y) for b in truth.geometry.boxes})
    pitch = rows[1] - rows[0]
    band = slice(rows[2] - pitch // 2, rows[2] + pitch // 2)
    washed = page.copy()
    washed[band] = (255 - (255 - page[band].astype(float)) * 0.4).astype(np.uint8)
    rec = digitize(washed, method="classical")
    assert rec.layout == "3x4+II"   # 3x4 at 19.1 dB before
    assert any("read at a fainter one" in w for w in rec.warnings)
    assert score_record(rec, truth).snr > 25   # 28.2 dB when written


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
    rows = row_search.find_rows(mask, ppm)
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
        row_search.find_rows(strong, ppm)
    joined = threshold.reconnect_faint(dark, strong, 0.64)
    assert [round(r.baseline) for r in row_search.find_rows(joined, ppm)] == pytest.approx([100, 300], abs=2)
    assert not (joined & (dark == 0)).any()
    # one row drawn whole, the other in dots: a row is found, but a quarter of the ink
    # lies in short pieces, which a share limit catches (the pipeline's is 0.15)
    strong[y - 200, x] = True
    assert len(row_search.find_rows(strong, ppm)) == 1
    with pytest.raises(NotAnEcgError, match="short pieces"):
        row_search.find_rows(strong, ppm, min_long_share=0.9)


def _dotted_rows(width=1200, height=600, flat_until=0.55):
    """Darkness of three rows drawn like a thin pen in few grey levels: one black pixel
    per column, half-dark pixels joining a column to the next where the line slopes.
    Left of ``flat_until`` (share of the width) the line waves gently; right of it, a
    30 px spike every 40 columns."""
    dark = np.zeros((height, width), np.float32)
    xs = np.arange(20, width - 20)
    for base in (150, 300, 450):
        y = base + 3 * np.sin(xs / 30)   # gently waving: not a straight (grid) line
        spiky = xs > flat_until * width
        phase = xs % 40
        y[spiky & (phase == 1)] = base - 15
        y[spiky & (phase == 2)] = base - 30
        y[spiky & (phase == 3)] = base - 15
        y = y.astype(int)
        for i, x in enumerate(xs[:-1]):
            lo, hi = sorted((y[i], y[i + 1]))
            dark[lo:hi + 1, x] = np.maximum(dark[lo:hi + 1, x], 0.45)
        dark[y, xs] = 1.0
    return dark, xs


def test_a_trace_broken_into_dots_where_it_slopes_is_joined():
    """A thin pen at 100 dpi drawn in few grey levels falls apart at the threshold at every
    steep stroke: the rows were found only where a piece was long, and ended mid-page."""
    dark, xs = _dotted_rows()
    ink = threshold.Ink(0.7, threshold.mask_at(dark, 0.7))
    assert row_search.long_components(ink.mask, 4.0).sum() < 0.6 * ink.mask.sum()   # in pieces
    search = row_search.find_trace_rows(ink, dark, 4.0)
    assert len(search.rows) == 3
    assert all(r.x_hi >= xs[-1] - 4 for r in search.rows)
    assert search.rescued_from is None


@pytest.mark.parametrize("seed", [10, 17])
def test_a_one_bit_scans_grid_pieces_are_not_joined_into_rows(sim12, seed):
    """On a 1-bit scan the grid is as dark as the pen and its pieces stay in the ink; their
    fainter edges joined them into a net of 14 rows. Joining must keep the rows' pitch."""
    from ecg_digitize.digitizer import pipeline
    from ecg_digitize.digitizer.load import load_image
    from ecg_digitize.digitizer.views import CLASSICAL

    sig, fs, leads = sim12
    image, _ = render(sig, fs, leads, layout="3x4+II", preset="scan", bilevel=True, seed=seed)
    traced = pipeline.trace_page(load_image(image), CLASSICAL)
    assert len(traced.rows) == 4


def _wavy_row(mask: np.ndarray, y0: float, x0: int, x1: int, amplitude: float, period: float) -> None:
    xs = np.arange(x0, x1)
    ys = np.round(y0 + amplitude * np.sin(2 * np.pi * xs / period)).astype(int)
    for dy in (-1, 0, 1):
        mask[ys + dy, xs] = True


@pytest.mark.parametrize("stray", [(0.02, 0.0, 0.65), (0.40, 0.25, 0.65), (0.97, 0.3, 0.55)])
def test_stray_lines_apart_from_the_evenly_spaced_rows_are_dropped(stray):
    # a photographed sheet: its edge above the rows, a hand-written line between header and
    # rows, the sheet's bottom edge close under the last row (phone-photos 03997, 03701, 03825)
    ppm = 8.0
    mask = np.zeros((1760, 2300), bool)
    for y in (740, 1025, 1305, 1570):
        _wavy_row(mask, y, 100, 2150, 12, 160)
    y, x0, x1 = stray
    _wavy_row(mask, y * 1760, int(x0 * 2300), int(x1 * 2300), 4, 60)
    rows = row_search.find_rows(mask, ppm)
    assert len(rows) == 4    # a sine's profile peaks at its crests, 12 px off its middle
    assert np.allclose([r.baseline for r in rows], [740, 1025, 1305, 1570], atol=15)


def test_a_stray_between_two_rows_does_not_end_the_run():
    # a crease's shadow on a crumpled photo left a line just above the second
    # row (ECG-Image-Kit photo style, folds 1-9, record 11): the run of evenly spaced rows
    # went on past it to the first row, and the rows' bands do not stop at the stray
    rows = [row_search.Row(y, 0, 0, 60, 2100) for y in (709.0, 914.0, 992.0, 1287.0, 1550.0)]
    rows = [row_search.Row(r.baseline, int(a), int(b), 60, 2100)
            for r, a, b in zip(rows, [400, 709, 914, 992, 1287], [914, 992, 1287, 1550, 1699])]
    rows[1] = row_search.Row(914.0, 709, 992, 600, 1400)   # the stray, narrower
    kept = row_search._without_stray_rows(rows, 1700)
    assert [r.baseline for r in kept] == [709.0, 992.0, 1287.0, 1550.0]
    assert kept[0].y_hi == 992 and kept[1].y_lo == 709
    # a narrow line a pitch beyond a stray is header text or writing, not a row
    rows[0] = row_search.Row(709.0, 400, 914, 900, 1300)
    assert [r.baseline for r in row_search._without_stray_rows(rows, 1700)] == [992.0, 1287.0, 1550.0]


def test_joined_ink_must_keep_every_row():
    """Joining a broken trace to its fainter pixels is kept only where it keeps the rows
    found before: a photo's tilted grid joined to the trace swallowed a row (03932)."""
    mask = np.zeros((520, 900), bool)
    x = np.arange(40, 860)
    for y0 in (100, 200, 300, 400):
        mask[(y0 + 6 * np.sin(x / 25)).astype(int), x] = True
    without_first = mask.copy()
    without_first[:150] = False
    assert row_search._keeps_row_pitch(mask, mask, 8.0)
    assert not row_search._keeps_row_pitch(mask, without_first, 8.0)
