"""Fast tests of the image branch (``ecg_digitize.neural``): tiling, mask <-> sample ranges,
geometry, network shapes, and tiny trainings that prove the loops learn (< 1 min in all)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ecg_digitize.datasets import has_dataset
from ecg_digitize.digitizer import sheet as geometry
from ecg_digitize.neural import longterm as lt, segment as sg, tiling


# ---------------------------------------------------------------- package hygiene
def test_import_is_light():
    code = ("import sys, ecg_digitize, ecg_digitize.neural, ecg_digitize.neural.longterm, "
            "ecg_digitize.neural.segment, ecg_digitize.digitizer.sheet; "
            "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- tiling
@pytest.mark.parametrize("shape", [(300, 500), (100, 90), (256, 256), (517, 263, 3)])
def test_tiling_round_trip(shape):
    img = np.random.default_rng(0).random(shape).astype(np.float32)
    tiles, origins = tiling.tile(img, size=128, overlap=32)
    assert tiles.shape[1:3] == (128, 128)
    assert np.allclose(tiling.untile(tiles, origins, img.shape), img, atol=1e-6)


def test_tiles_cover_every_pixel():
    for n in (1, 127, 128, 129, 1000, 2339):
        o = tiling.tile_origins(n, 128, 32)
        covered = np.zeros(max(n, 128), bool)
        for s in o:
            covered[s:s + 128] = True
        assert covered[:n].all() and o[-1] + 128 >= n


# ---------------------------------------------------------------- long-term: signal <-> image
def test_image_round_trip_and_layout():
    x = np.arange(lt.WINDOW + 10, dtype=np.float32)
    img = lt.to_image(x)
    assert img.shape == (lt.ROWS, lt.ROW)
    assert img[1, 0] == lt.ROW            # row r starts at sample r * ROW: one second per row
    assert np.array_equal(lt.from_image(img), x[:lt.WINDOW])


def test_beat_windows_do_not_overlap():
    r = np.array([50, 80, 200, 600])
    w = lt.beat_windows(r, 700, 100.0)
    assert np.all(w[1:, 0] >= w[:-1, 1])
    assert np.all((w[:, 0] <= r) & (r < w[:, 1]))


def test_mask_maps_back_to_sample_ranges():
    fs = lt.FS_IMAGE
    r = np.array([100, 200, 300, 400, 500])
    codes = np.array([0, 1, 0, 2, 1])
    y = lt.label_vector(700, r, codes, fs)
    ranges = lt.mask_to_ranges(y)
    assert [c for *_, c in ranges] == [1, 2, 1]
    w = lt.beat_windows(r, 700, fs)
    assert [(a, b) for a, b, _ in ranges] == [tuple(w[1]), tuple(w[3]), tuple(w[4])]
    # through the image and back: same ranges
    img = lt.to_image(y)
    assert lt.mask_to_ranges(lt.from_image(img, 700)) == ranges


def test_window_starts_cover_signal():
    for n in (10, lt.WINDOW, lt.WINDOW + 1, 5 * lt.WINDOW + 17):
        s = lt.window_starts(n)
        assert s[0] == 0 and (s[-1] + lt.WINDOW >= n)


def test_normalize_is_gain_invariant():
    x = np.sin(np.linspace(0, 60, 4000)).astype(np.float32)
    assert np.allclose(lt.normalize(x), lt.normalize(7.5 * x + 3), atol=1e-5)


def test_segment_long_term_maps_to_input_rate():
    """A dummy 'model' that marks every sample V: one range covering the whole signal."""
    class AllV:
        def predict(self, imgs, batch_size=8, verbose=0):
            p = np.zeros(imgs.shape[:3] + (3,), np.float32)
            p[..., 1] = 1
            return p

    fs, n = 360.0, 360 * 100
    segs = lt.segment_image(np.random.default_rng(0).normal(size=n), fs, model=AllV())
    assert segs == [(0, n, "V")]


# ---------------------------------------------------------------- geometry
def test_rectify_undoes_a_known_perspective():
    import cv2

    page = np.full((300, 420, 3), 245, np.uint8)
    page[::20] = (230, 120, 120)
    page[:, ::20] = (230, 120, 120)
    src = np.float32([[0, 0], [419, 0], [419, 299], [0, 299]])
    dst = np.float32([[80, 60], [520, 90], [500, 400], [60, 420]])
    hmat = cv2.getPerspectiveTransform(src, dst)
    photo = cv2.warpPerspective(page, hmat, (600, 480), borderValue=(70, 80, 90))
    out, h = geometry.rectify(photo)
    comp = h @ hmat                       # clean page -> rectified: should be a scaling
    comp /= comp[2, 2]
    pts = np.c_[src, np.ones(4)] @ comp.T
    pts = pts[:, :2] / pts[:, 2:]
    sx = pts[1, 0] / 419
    sy = pts[3, 1] / 299
    assert np.max(np.abs(pts - src * [sx, sy])) < 4.0   # corners land on a rectangle
    assert out.shape[0] > 250 and out.shape[1] > 350


def _sheet_photo(corners, shadow=None):
    """A gridded white sheet on a grey table; ``shadow``: polygon darkened to 45 %, blurred."""
    import cv2

    img = np.full((480, 640, 3), (120, 125, 118), np.float32)
    sheet = np.zeros((480, 640), np.uint8)
    cv2.fillPoly(sheet, [np.int32(corners)], 1)
    img[sheet > 0] = (245, 243, 240)
    img[(sheet > 0) & (np.arange(640)[None, :] % 12 == 0)] = (235, 150, 150)
    if shadow is not None:
        light = np.ones((480, 640), np.float32)
        cv2.fillPoly(light, [np.int32(shadow)], 0.45)
        img *= cv2.GaussianBlur(light, (0, 0), 12)[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


def test_find_page_keeps_a_shadowed_corner():
    corners = np.array([[60, 50], [590, 70], [575, 430], [70, 420]], float)
    # a shadow over the top-right corner: the paper there turns as dark as the lit table
    photo = _sheet_photo(corners, shadow=[[380, 0], [640, 0], [640, 260], [380, 260]])
    found = geometry.find_page(photo)
    assert found is not None
    assert np.max(np.linalg.norm(found - corners, axis=1)) < 6


def test_find_page_brings_back_a_corner_out_of_view():
    corners = np.array([[60, -25], [590, 40], [575, 430], [70, 420]], float)
    found = geometry.find_page(_sheet_photo(corners))
    assert found is not None
    assert np.linalg.norm(found[0] - corners[0]) < 12    # the clipped corner, 25 px above the frame


def test_unbend_undoes_a_smooth_bend(sim12):
    import cv2

    from ecg_digitize.neural.unbend import unbend
    from ecg_digitize.synth import render

    img, truth = render(*sim12, layout="3x4+II", dpi=200, seed=0)
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # a wrinkle-like field: the page is read at (x + dx, y + dy)
    dx = 3.0 * np.sin(xx / 400.0) * np.cos(yy / 300.0)
    dy = 2.5 * np.cos(xx / 350.0 + 1.0) * np.sin(yy / 250.0)
    bent = cv2.remap(img, xx + dx, yy + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    period = 5 * truth.calibration.px_per_mm
    flat, field = unbend(bent, period)
    assert field is not None and flat.shape == bent.shape
    map_x, map_y = field.dense((h, w))
    x0, y0, x1, y1 = (int(v) for v in truth.geometry["grid_box"])
    inner = (slice(y0 + 60, y1 - 60), slice(x0 + 60, x1 - 60))
    # flattening reads the bent page at -d: what is left of the bend
    left_x = (map_x - xx + dx)[inner]
    left_y = (map_y - yy + dy)[inner]
    assert np.sqrt(np.mean(left_x ** 2)) < 0.4 * np.sqrt(np.mean(dx[inner] ** 2))
    assert np.sqrt(np.mean(left_y ** 2)) < 0.4 * np.sqrt(np.mean(dy[inner] ** 2))
    # a flat page of the same grid is left alone, or nearly
    same, none = unbend(img, period)
    if none is not None:
        fx, fy = none.dense((h, w))
        assert np.abs((fx - xx)[inner]).max() < 1.0 and np.abs((fy - yy)[inner]).max() < 1.0

def test_rectify_leaves_scans_alone():
    scan = np.full((200, 300, 3), 250, np.uint8)
    scan[100, :] = 0
    out, h = geometry.rectify(scan)
    assert out is scan and np.array_equal(h, np.eye(3))


# ---------------------------------------------------------------- networks (tiny trainings)
def test_longterm_model_learns_wide_beats():
    """Synthetic long ECG: narrow 'normal' spikes and wide 'PVC' bumps; a few hundred steps
    of the real network must beat chance on held-out windows."""
    from ecg_digitize.neural._keras import keras_setup

    keras = keras_setup(2, seed=0)
    rng = np.random.default_rng(0)

    def make(n_img):
        xs, ys = [], []
        for _ in range(n_img):
            n = lt.WINDOW
            r = np.arange(20, n - 40, 50) + rng.integers(-5, 5, size=len(range(20, n - 40, 50)))
            code = (rng.random(r.size) < 0.2).astype(int)
            x = np.zeros(n, np.float32)
            t = np.arange(-12, 13)
            for p, c in zip(r, code):
                width = 6.0 if c else 1.5
                x[p + t] += np.exp(-0.5 * (t / width) ** 2)
            xs.append(lt.to_image(lt.normalize(x + rng.normal(0, 0.05, n))))
            ys.append(lt.to_image(lt.label_vector(n, r, code, lt.FS_IMAGE)))
        return np.stack(xs)[..., None], np.stack(ys)

    x, y = make(24)
    model = lt.build_model(base=4)
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=8, epochs=6, verbose=0)
    xt, yt = make(4)
    pred = model.predict(xt, verbose=0).argmax(-1)
    inter = np.sum((pred == 1) & (yt == 1))
    union = np.sum((pred == 1) | (yt == 1))
    assert inter / union > 0.4


def test_unet_learns_dark_lines_and_keeps_shape():
    from ecg_digitize.neural._keras import keras_setup
    from ecg_digitize.neural.segment import build_unet, trace_probability

    keras = keras_setup(2, seed=0)
    rng = np.random.default_rng(0)
    x = np.full((16, 64, 64, 3), 0.95, np.float32)
    y = np.zeros((16, 64, 64, 1), np.float32)
    for i in range(16):
        x[i, ::8] = (0.9, 0.5, 0.5)                   # pink grid: not trace
        r = rng.integers(8, 56)
        x[i, r:r + 2, :] = 0.1                         # dark trace
        y[i, r:r + 2, :] = 1
    model = build_unet(base=4)
    model.compile(keras.optimizers.Adam(1e-2), "binary_crossentropy")
    model.fit(x, y, batch_size=8, epochs=40, verbose=0)  # margin ~0.85 vs 0.3 needed
    page = (x[0] * 255).astype(np.uint8)
    page = np.pad(page, ((0, 37), (0, 21), (0, 0)), mode="edge")   # odd, non-tile size
    prob = trace_probability(page, model=model, tile_size=64, overlap=16)
    assert prob.shape == page.shape[:2] and prob.dtype == np.float32
    truth = np.pad(y[0, ..., 0], ((0, 37), (0, 21)), mode="edge") > 0
    assert prob[truth].mean() > prob[~truth].mean() + 0.3



def test_predict_batches_runs_tflite_and_matches_keras(monkeypatch):
    from ecg_digitize.neural import _keras
    from ecg_digitize.neural.segment import build_unet

    _keras.keras_setup(2, seed=0)
    model = build_unet(base=4)
    x = np.random.default_rng(0).random((5, 64, 64, 3)).astype(np.float32)  # 5: a padded last batch
    expected = np.asarray(model.predict(x, verbose=0))
    fast = _keras.predict_batches(model, x, batch_size=2)
    assert _keras._COMPILED[model][(2, 64, 64, 3)].backend == "tflite"
    np.testing.assert_allclose(fast, expected, atol=1e-4)
    monkeypatch.setenv(_keras.TFLITE_ENV, "0")  # TensorFlow itself, as where Lite will not convert
    plain = _keras.predict_batches(model, x, batch_size=3)
    assert _keras._COMPILED[model][(3, 64, 64, 3)].backend == "tensorflow"
    np.testing.assert_allclose(plain, expected, atol=1e-4)

# ---------------------------------------------------------------- shipped models (skip if absent)
@pytest.mark.skipif(not lt.default_model_path().exists(), reason="pretrained/longterm-vf.keras absent")
@pytest.mark.skipif(not has_dataset("mitdb"), reason="MIT-BIH not available")
def test_pretrained_longterm_finds_pvcs_in_record_119():
    from ecg_digitize.neural.train_longterm import load_record

    rec = load_record(119)          # DS1: bigeminy, many PVCs
    n = int(rec["fs"] * 300)
    segs = lt.segment_image(rec["raw"][:n], rec["fs"])
    v_true = rec["r_peak"][(rec["code"] == 1) & (rec["r_peak"] < n)]
    v_pred = [(a, b) for a, b, lab in segs if lab == "V"]
    hit = sum(any(a - 40 <= r < b + 40 for a, b in v_pred) for r in v_true)
    assert v_true.size > 20 and hit / v_true.size > 0.7


def test_unet_method_without_weights_says_what_is_missing(monkeypatch, tmp_path, sim12):
    from ecg_digitize import digitize
    from ecg_digitize.synth import render

    monkeypatch.setenv("ECG_DIGITIZE_UNET", str(tmp_path / "absent.keras"))  # weights named, not there
    image, _ = render(*sim12, layout="3x4+II", dpi=100, seed=0)
    with pytest.raises(FileNotFoundError, match="absent.keras.*method='classical'"):
        digitize(image, method="unet")


@pytest.mark.skipif(not sg.default_model_path().exists(), reason="pretrained/unet-trace.keras absent")
def test_unet_method_digitizes_a_scanned_page(sim12):
    from ecg_digitize import digitize
    from ecg_digitize.metrics import score_record
    from ecg_digitize.synth import render

    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout="3x4+II", preset="scan", dpi=200, seed=3)
    rec = digitize(image, method="unet")
    assert rec.geometry["method"] == "unet" and rec.layout == "3x4+II"
    assert score_record(rec, truth).snr > 12
    # the network marks the calibration pulses as ink: they give the gain and time zero
    assert sum(p is not None for p in rec.geometry["pulses"]) >= 3
    assert "mm_per_mv" not in rec.calibration.guessed
    # overlays and lead crops use the frame the boxes were measured in
    from ecg_digitize.digitizer import page_as_measured
    assert page_as_measured(image, rec).shape[:2] == tuple(rec.geometry["image_shape"])


def _fake_routes(monkeypatch, results: dict):
    """Make ``read_page`` return (or raise) a canned outcome per trace view."""
    from ecg_digitize.digitizer import pipeline
    from ecg_digitize.errors import LayoutError
    from ecg_digitize.record import STANDARD_LEADS, Record

    def fake(pg, provider, options):
        method = {id(pipeline.CLASSICAL): "classical", id(pipeline.PHOTO): "photo"}.get(id(provider), "unet")
        results.setdefault("calls", []).append(method)
        # the photo route refuses the page unless a case gives it an outcome
        outcome = results.get(method, LayoutError("no rows"))
        if isinstance(outcome, Exception):
            raise outcome
        n_leads, quality, *verdict = outcome
        sig = np.full((100, 12), np.nan)
        sig[:, :n_leads] = 0.1
        rec = Record(sig, fs=100, leads=list(STANDARD_LEADS), geometry={"method": method},
                     layout="strip" if n_leads == 1 else "3x4+II")
        rec.quality = {"overall": quality, **({"verdict": verdict[0]} if verdict else {})}
        return rec

    monkeypatch.setattr(pipeline, "read_page", fake)
    monkeypatch.setattr(sg, "default_model_path", lambda: Path(__file__))  # "weights exist"


def _page() -> np.ndarray:
    """Any loadable page: the routes are faked."""
    page = np.full((300, 400), 255, np.uint8)
    page[100:200, 20:380] = 0
    return page


@pytest.mark.parametrize("classical, unet, chosen", [
    ((12, 0.8, "failed"), (12, 0.84), "unet"),  # a failed classical reading, a better U-Net one
    ((12, 0.9), (12, 0.95), "classical"),      # a good classical reading: the U-Net is not run
    ((12, 0.95), (12, 0.9), "classical"),      # the better-scored reading is kept
    ((12, 0.6), (12, 0.4), "classical"),
    ((1, 1.0), (12, 0.4), "unet"),             # a 12-lead page read as one strip
    ((12, 0.5), (3, 0.9), "classical"),        # the U-Net read fewer leads
    ("fail", (12, 0.6), "unet"),               # classical failed
    ("fail", (1, 0.26), "refused"),            # ... and the U-Net reading is too weak to stand
    ((12, 0.5), "fail", "classical"),          # U-Net failed
    ((12, 0.8, "good"), (12, 0.84), "classical"),   # all leads, a good verdict: not run
    ((12, 0.8, "check"), (12, 0.84), "classical"),  # ... nor where it is only to be checked
    ((6, 0.8, "good"), (6, 0.84), "classical"),     # run, but only a failed reading loses a tie of leads
    ((6, 0.8, "check"), (6, 0.84), "classical"),
    ((6, 0.8, "failed"), (6, 0.84), "unet"),
    ((6, 0.8, "good"), (12, 0.5), "unet"),          # the U-Net read more leads
    ((1, 0.9, "good"), (12, 0.9), "classical"),     # a good one-lead strip: the U-Net is not run
    ((1, 0.9, "check"), (12, 0.5), "unet"),         # a doubtful one: a 12-lead page read as a strip?
])
def test_auto_method_chooses_a_route(monkeypatch, classical, unet, chosen):
    from ecg_digitize import digitize
    from ecg_digitize.errors import LayoutError

    def outcome(v):
        return LayoutError("no rows") if v == "fail" else v

    _fake_routes(monkeypatch, {"classical": outcome(classical), "unet": outcome(unet)})
    _check_auto_choice(chosen)


def _check_auto_choice(chosen: str) -> None:
    from ecg_digitize import digitize
    from ecg_digitize.errors import LayoutError

    if chosen == "refused":
        with pytest.raises(LayoutError, match=r"no rows \(method='auto'.* 0.26"):
            digitize(_page(), method="auto")
        return
    rec = digitize(_page(), method="auto")
    assert rec.geometry["method"] == chosen
    assert any("U-Net route" in w for w in rec.warnings) == (chosen == "unet")


@pytest.mark.parametrize("classical, photo, unet, chosen", [
    ((1, 1.0, "failed"), (12, 0.5), "fail", "photo"),     # a 12-lead photo misread as a strip
    ((1, 0.9, "good"), (12, 0.5), "fail", "classical"),    # a good strip: no other route is run
    ((12, 0.5, "failed"), (12, 0.9), "fail", "classical"),  # a twelve-lead reading: not run against it
    ((6, 0.5, "failed"), (6, 0.9), "fail", "classical"),   # as many leads: the classical reading stays
    ((6, 0.5, "failed"), (3, 0.9), "fail", "classical"),   # fewer leads
    ("fail", (12, 0.6), "fail", "photo"),                  # classical refused, the photo route reads it
    ("fail", (12, 0.3), (1, 0.26), "refused"),             # ... too weakly to stand, as the U-Net
    ((1, 1.0, "failed"), (12, 0.5, "failed"), (12, 0.6), "unet"),  # the U-Net beats the photo reading
    ((1, 1.0, "failed"), (12, 0.9), (12, 0.95), "photo"),  # a photo reading good enough: no U-Net
])
def test_auto_method_reads_a_weakly_read_page_as_a_photo(monkeypatch, classical, photo, unet, chosen):
    from ecg_digitize.errors import LayoutError

    def outcome(v):
        return LayoutError("no rows") if v == "fail" else v

    results = {"classical": outcome(classical), "photo": outcome(photo), "unet": outcome(unet)}
    _fake_routes(monkeypatch, results)
    _check_auto_choice(chosen)
    # the photo route runs once at most, and never against a twelve-lead or a good reading
    runs = classical == "fail" or (classical[0] < 12 and classical[2:] != ("good",))
    assert results["calls"].count("photo") == runs


def test_auto_method_reraises_when_both_routes_fail(monkeypatch):
    from ecg_digitize import digitize
    from ecg_digitize.errors import LayoutError

    _fake_routes(monkeypatch, {"classical": LayoutError("no rows"), "unet": LayoutError("no rows")})
    with pytest.raises(LayoutError, match="no rows"):
        digitize(_page(), method="auto")


def test_lead_images_are_alike_across_resolutions_and_blank_where_not_plotted(sim12):
    from ecg_digitize import digitize
    from ecg_digitize.neural.lead_images import CHANNELS, CROP_H, IMAGE_SHAPE, lead_image_stack
    from ecg_digitize.synth import render

    stacks = []
    for dpi in (100, 200):
        page, _ = render(*sim12, layout="3x4+II", dpi=dpi, seed=1)
        stacks.append(lead_image_stack(page, digitize(page)).astype(float))
    assert stacks[0].shape == IMAGE_SHAPE
    slots = stacks[0].reshape(len(CHANNELS[0]), CROP_H, -1, 3)
    assert (slots.max(axis=(1, 2)) > 100).all()        # every lead has ink in its slot
    r = np.corrcoef(stacks[0].ravel(), stacks[1].ravel())[0, 1]
    assert r > 0.6, r                                   # same picture at either resolution (0.97)

    strip, _ = render(*sim12, layout="strip", dpi=100, seed=1)
    rec = digitize(strip)
    stack = lead_image_stack(strip, rec).reshape(len(CHANNELS[0]), CROP_H, -1, 3)
    shown = {(k, c) for c, group in enumerate(CHANNELS) for k, lead in enumerate(group)
             if lead in {b["lead"] for b in rec.geometry["boxes"]}}
    for c, group in enumerate(CHANNELS):
        for k in range(len(group)):
            assert (stack[k, :, :, c].max() > 100) == ((k, c) in shown)


def test_image_classifier_reads_a_rendered_page(sim12):
    from ecg_digitize import digitize
    from ecg_digitize.neural.image_classifier import CLASSES, build_model, classify_image
    from ecg_digitize.synth import render

    page, _ = render(*sim12, layout="3x4+II", dpi=100, seed=0)
    res = classify_image(page, digitize(page), model=build_model(base=4))  # untrained
    assert res.label in CLASSES and set(res.probabilities) == set(CLASSES)
    assert abs(sum(res.probabilities.values()) - 1) < 1e-4 and not res.warnings


@pytest.mark.skipif(not has_dataset("ptbxl"), reason="PTB-XL not in ECG_DATA_DIR")
def test_image_classifier_training_quick_run(tmp_path):
    import json

    from ecg_digitize.neural.train_image_classifier import main

    info = main(["--quick", "--out", str(tmp_path / "m.keras")])
    assert (tmp_path / "m.keras").exists() and info["train_pages"] > 0
    assert json.loads((tmp_path / "m.json").read_text())["val_fold"] == 9


@pytest.mark.skipif(not sg.default_model_path().exists(), reason="pretrained/unet-trace.keras absent")
def test_unet_method_flattens_a_wrinkled_photo(sim12):
    from ecg_digitize import digitize
    from ecg_digitize.digitizer import page_as_measured
    from ecg_digitize.metrics import score_record
    from ecg_digitize.synth import render

    from ecg_digitize.synth.distort import sample_preset

    sig, fs, leads = sim12
    # the photo preset's page of seed 18 as drawn before folds, curls and frame cuts were added
    traits = {k: v for k, v in sample_preset("photo", 18).items() if k not in ("fold", "curl", "out_of_frame")}
    image, truth = render(sig, fs, leads, layout="3x4+II", preset="photo", dpi=200, seed=18, distortions=traits)
    assert truth.geometry["distortions"]["wrinkles"] > 2   # px of bending to undo
    rec = digitize(image, method="unet")
    assert rec.geometry["bend"] is not None
    assert any("bending undone" in w for w in rec.warnings)
    assert score_record(rec, truth).snr > 8
    # overlays are drawn on the page as it was measured: flattened as well
    assert page_as_measured(image, rec).shape[:2] == tuple(rec.geometry["image_shape"])
