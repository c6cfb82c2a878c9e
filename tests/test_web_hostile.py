"""The web tool under hostile input (issue #30): every attack gets a cheap JSON 4xx.

Each test names the point of the issue it covers. The live-server tests (header deadline,
slowloris) start ``ecg-digitize serve`` on a free loopback port.
"""
from __future__ import annotations

import asyncio
import io
import json
import socket
import struct
import time
import tracemalloc

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402
from PIL import Image, TiffImagePlugin  # noqa: E402

from ecg_digitize import Record  # noqa: E402
from ecg_digitize.web import create_app  # noqa: E402
from ecg_digitize.web._store import ResultStore, entry_bytes  # noqa: E402
from ecg_digitize.web._uploads import decode  # noqa: E402
from _pages import lying_png, png_bytes  # noqa: E402

DPI = 100


def _tiff_frames(n: int) -> bytes:
    """A TIFF of ``n`` white 1 x 1 frames, written directly (Pillow's writer is quadratic)."""
    entries = [(256, 3, 1), (257, 3, 1), (258, 3, 8), (259, 3, 1), (262, 3, 1),
               (273, 4, 8), (278, 3, 1), (279, 4, 1)]
    size = 2 + 12 * len(entries) + 4
    out = [b"II*\x00", struct.pack("<I", 12), b"\xff\x00\x00\x00"]
    for k in range(n):
        ifd = struct.pack("<H", len(entries)) + b"".join(
            struct.pack("<HHI", t, ty, 1) + (struct.pack("<I", v) if ty == 4 else struct.pack("<HH", v, 0))
            for t, ty, v in entries)
        out.append(ifd + struct.pack("<I", 12 + (k + 1) * size if k + 1 < n else 0))
    return b"".join(out)


def _assert_json_error(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text[:300]
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    body = r.json()
    assert body["error"] == code and body["message"], body
    return body


@pytest.fixture(scope="module")
def page(sim12):
    from ecg_digitize.synth import render

    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout="3x4+II", dpi=DPI, seed=0)
    return png_bytes(image), image.shape


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(token="", warm=False)) as c:
        yield c


@pytest.fixture(scope="module")
def detected(client, page):
    r = client.post("/api/digitize", files={"file": ("p.png", page[0])})
    assert r.status_code == 200, r.text
    return r.json()


# ---------------------------------------------------------------- 1. boxes bounded
@pytest.mark.parametrize("change,fs", [
    ({"t0": 20000}, 500), ({"t0": 20000}, 5000), ({"t0": 2000}, 500),  # the attacks
    ({"t0": -1}, 500), ({"t0": 61}, 500),
])
def test_box_time_outside_a_page_refused_before_work(client, page, detected, change, fs):
    wide = max(detected["boxes"], key=lambda b: b["bbox"][2] - b["bbox"][0])
    boxes = [{"lead": "II", "bbox": wide["bbox"], **change}]
    t0 = time.perf_counter()
    r = client.post("/api/digitize", files={"file": ("p.png", page[0])},
                    data={"boxes": json.dumps(boxes), "fs": str(fs)})
    _assert_json_error(r, 422, "bad_boxes")
    assert time.perf_counter() - t0 < 2  # refused before the page is digitized


def test_box_starting_beyond_the_page_refused(client, page, detected):
    """t0 under the 60 s limit, but past the page's time span (about 12 s here)."""
    wide = max(detected["boxes"], key=lambda b: b["bbox"][2] - b["bbox"][0])
    r = client.post("/api/digitize", files={"file": ("p.png", page[0])},
                    data={"boxes": json.dumps([{"lead": "II", "bbox": wide["bbox"], "t0": 30}])})
    assert "beyond the page" in _assert_json_error(r, 422, "bad_boxes")["message"]


def test_box_late_on_the_page_accepted(client, page, detected):
    wide = max(detected["boxes"], key=lambda b: b["bbox"][2] - b["bbox"][0])
    r = client.post("/api/digitize", files={"file": ("p.png", page[0])},
                    data={"boxes": json.dumps([{"lead": "II", "bbox": wide["bbox"], "t0": 10}])})
    assert r.status_code == 200, r.text
    assert 20 * 500 <= r.json()["n_samples"] <= 22 * 500


def test_box_holding_more_than_60_s_refused():
    """A very wide page (a long strip): t0 on it, but t0 + the box's width beyond 60 s."""
    from ecg_digitize.web.app import ApiError, _check_boxes_against

    base = Record(np.zeros((5000, 1)), fs=500, leads=["II"], calibration={"px_per_mm": 4.0},
                  geometry={"image_shape": [400, 100_000]})  # 1000 s of paper at 100 px/s
    ok = [{"lead": "II", "bbox": [0, 0, 4000, 100], "t0": 15.0}]  # 15 + 40 s
    _check_boxes_against(base, ok)
    with pytest.raises(ApiError, match="at most 60 s"):
        _check_boxes_against(base, [{**ok[0], "t0": 25.0}])


@pytest.mark.parametrize("boxes", [
    [{"lead": "II", "bbox": [-5000, 10, 100, 200]}],  # outside the page
    [{"lead": "II", "bbox": [10, 10, 100, 1e7]}],
    [{"lead": "II", "bbox": [10, 10, 100, 200]}] * 33,  # more boxes than a page holds
    [{"lead": f"L{i}", "bbox": [10, 10, 100, 200]} for i in range(25)],  # more leads
    [{"lead": "II", "bbox": [10, 10, True, 200]}],
])
def test_boxes_beyond_a_page_refused(client, page, boxes):
    r = client.post("/api/digitize", files={"file": ("p.png", page[0])},
                    data={"boxes": json.dumps(boxes)})
    _assert_json_error(r, 422, "bad_boxes")


def test_many_leads_times_long_boxes_refused():
    """24 leads x 60 s x 5000 Hz would be 7.2 M samples: over the 2 M budget."""
    from ecg_digitize.web.app import ApiError, _check_boxes_against

    base = Record(np.zeros((5000, 12)), fs=5000, leads=[f"x{i}" for i in range(12)],
                  calibration={"px_per_mm": 4.0})
    boxes = [{"lead": f"L{i}", "bbox": [0, 0, 100, 10], "t0": 50.0} for i in range(24)]
    with pytest.raises(ApiError, match="samples in all"):
        _check_boxes_against(base, boxes)


# ---------------------------------------------------------------- 2. images in bounded memory
def test_16bit_upload_decoded_to_8_bits_in_bounded_memory():
    h, w = 2000, 3000
    arr = np.full((h, w), 65535, np.uint16)
    arr[::40] = 0
    data = png_bytes(arr)
    tracemalloc.start()
    try:
        up = decode(data, max_pixels=50_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert up.image.mode == "L" and (up.width, up.height) == (w, h)
    assert np.asarray(up.image)[1, 1] == 255 and np.asarray(up.image)[0, 0] == 0
    assert peak < 3 * h * w + 30e6, peak / 1e6  # float64 copies would be 48 MB each


def test_16bit_upload_reads_like_8bit(client, page):
    grey = np.asarray(Image.open(io.BytesIO(page[0])).convert("L"))
    r8 = client.post("/api/digitize", files={"file": ("g.png", png_bytes(grey))})
    r16 = client.post("/api/digitize", files={"file": ("g16.png", png_bytes(grey.astype(np.uint16) * 257))})
    assert r8.status_code == 200 and r16.status_code == 200, r16.text
    assert r8.json()["signal"] == r16.json()["signal"]


def test_pixel_limit_one_message(client):
    """#27 item 5: over our limit or over Pillow's own, the same friendly message."""
    small = _assert_json_error(client.post("/api/digitize", files={"file": ("a.png", lying_png(8000, 8000))}),
                               413, "too_many_pixels")["message"]
    huge = _assert_json_error(client.post("/api/digitize", files={"file": ("b.png", lying_png(30000, 30000))}),
                              413, "too_many_pixels")["message"]
    for text in (small, huge):
        assert "exceeds the 50 Mpx limit" in text and "Scan at 200-300 dpi" in text, text
        assert "178956970" not in text and "DOS" not in text


# ---------------------------------------------------------------- 3. frames
def test_tiff_frames_never_counted(monkeypatch):
    def no_counting(self):
        raise AssertionError("n_frames reads every frame")

    monkeypatch.setattr(TiffImagePlugin.TiffImageFile, "n_frames", property(no_counting))
    data = _tiff_frames(50_000)
    t0 = time.perf_counter()
    assert decode(data, page=0, max_pixels=10**6).width == 1
    assert decode(data, page=999, max_pixels=10**6).width == 1
    assert time.perf_counter() - t0 < 2
    small = _tiff_frames(3)
    with pytest.raises(Exception) as err:
        decode(small, page=5, max_pixels=10**6)
    assert getattr(err.value, "code", None) == "bad_page"


def test_page_beyond_limit_refused(client, page):
    r = client.post("/api/digitize", files={"file": ("p.png", page[0])}, data={"page": "1000"})
    _assert_json_error(r, 422, "bad_request")


# ---------------------------------------------------------------- 4. token before the body
def test_token_checked_before_the_body_is_read():
    app = create_app(token="s3cret", warm=False)
    sent = []

    async def receive():
        raise AssertionError("the body was read before the token was checked")

    async def send(msg):
        sent.append(msg)

    scope = {"type": "http", "method": "POST", "path": "/api/digitize", "raw_path": b"/api/digitize",
             "query_string": b"", "root_path": "", "scheme": "http", "http_version": "1.1",
             "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5000),
             "headers": [(b"host", b"127.0.0.1:8000"), (b"content-length", b"25000000"),
                         (b"content-type", b"multipart/form-data; boundary=x")]}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 401
    assert json.loads(sent[1]["body"])["error"] == "unauthorized"


# ---------------------------------------------------------------- 5. every error is JSON
def test_deeply_nested_boxes(client, page):
    for depth in (30_000, 100_000):
        r = client.post("/api/digitize", files={"file": ("p.png", page[0])},
                        data={"boxes": "[" * depth + "]" * depth})
        _assert_json_error(r, 422, "bad_boxes")


def _fake(record: Record):
    def digitize(image, **kwargs):
        return record
    return digitize


def test_internal_error_is_json_without_its_text(page):
    def broken(image, **kwargs):
        raise RuntimeError("secret internals /home/x")

    with TestClient(create_app(token="", warm=False, digitize_fn=broken)) as c:
        r = c.post("/api/digitize", files={"file": ("p.png", page[0])})
    body = _assert_json_error(r, 500, "internal_error")
    assert "secret" not in body["message"]


def test_option_errors_do_not_leak_internal_text(page):
    def picky(image, **kwargs):
        raise ValueError("operands could not be broadcast together with shapes (3,) (4,)")

    with TestClient(create_app(token="", warm=False, digitize_fn=picky)) as c:
        r = c.post("/api/digitize", files={"file": ("p.png", page[0])})
    assert "broadcast" not in _assert_json_error(r, 422, "bad_request")["message"]


@pytest.mark.parametrize("leads,signal,fmt", [
    (["II\nX"], np.zeros((500, 1)), "zip"),          # a newline in a WFDB header
    (["II\x00"], np.zeros((500, 1)), "csv"),
    (["II"], np.full((500, 1), 40.0), "zip"),        # beyond +-32 mV: not storable in WFDB 16
])
def test_export_errors_are_json(page, leads, signal, fmt):
    record = Record(signal, fs=500, leads=leads, layout="strip", calibration={"px_per_mm": 4.0})
    with TestClient(create_app(token="", warm=False, digitize_fn=_fake(record))) as c:
        r = c.post("/api/digitize", files={"file": ("p.png", page[0])})
        assert r.status_code == 200, r.text
        d = c.get(f"/api/download/{r.json()['id']}.{fmt}")
    _assert_json_error(d, 422, "export_failed")


# ---------------------------------------------------------------- 6. lead names
@pytest.mark.parametrize("lead", ['=HYPERLINK("x")', "a,b", "II\nV1", "+1", "@SUM(A1)", "x" * 40, ""])
def test_lead_names_refused_in_boxes(client, page, lead):
    r = client.post("/api/digitize", files={"file": ("p.png", page[0])},
                    data={"boxes": json.dumps([{"lead": lead, "bbox": [10, 10, 200, 100]}])})
    _assert_json_error(r, 422, "bad_boxes")


# ---------------------------------------------------------------- 8. the rest
def test_docs_and_spec_with_a_token():
    with TestClient(create_app(token="s3cret", warm=False)) as c:
        assert c.get("/openapi.json").status_code == 401
        assert c.get("/openapi.json", headers={"X-Token": "s3cret"}).status_code == 200
        docs = c.get("/docs")
        assert docs.status_code == 200  # holds no data: it fetches the spec with the token
        assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]
        assert docs.headers["x-frame-options"] == "DENY"
        if "/docs-assets/" in docs.text:
            assert "/static/docs.js" in docs.text and "<script>" not in docs.text
            assert "ecg-token" in c.get("/static/docs.js").text
        # ?token= is refused, even beside a good header
        r = c.get("/api/health?token=s3cret", headers={"X-Token": "s3cret"})
        assert "header" in _assert_json_error(r, 401, "unauthorized")["message"]


def test_origin_and_host_checked():
    with TestClient(create_app(token="", warm=False, allowed_hosts=["127.0.0.1", "localhost"]),
                    base_url="http://127.0.0.1:8000") as c:
        assert c.get("/api/health").status_code == 200
        assert c.get("/api/health", headers={"Origin": "http://127.0.0.1:8000"}).status_code == 200
        _assert_json_error(c.get("/api/health", headers={"Origin": "http://evil.example"}),
                           403, "forbidden_origin")
        _assert_json_error(c.get("/api/health", headers={"Host": "evil.example"}), 421, "bad_host")
        _assert_json_error(c.get("/", headers={"Host": "rebound.example:8000"}), 421, "bad_host")


def test_unknown_routes_answer_the_documented_shape(client):
    _assert_json_error(client.get("/nothing/here"), 404, "not_found")
    _assert_json_error(client.get("/api/nothing"), 404, "not_found")
    _assert_json_error(client.delete("/api/health"), 405, "method_not_allowed")


def test_store_capped_in_bytes():
    store = ResultStore(ttl_s=100, max_items=1000, max_bytes=20 * 2**20)
    big = Record(np.zeros((60 * 1000, 24)), fs=1000, leads=[f"L{i}" for i in range(24)])
    size = entry_bytes(big, b"x" * 100_000)
    assert size > 11e6
    ids = []
    for _ in range(10):
        ids.append(store.put(big, b"x" * 100_000))
        assert store.nbytes <= store.max_bytes
    assert len(store) == 1 and store.get(ids[-1]) is not None and store.get(ids[0]) is None


def test_health_reports_store_bytes(client, detected):
    h = client.get("/api/health").json()
    assert 0 < h["results_bytes"] <= h["max_results_bytes"]


# ---------------------------------------------------------------- 7. server timeouts
def test_serve_sets_timeouts_and_a_connection_limit(monkeypatch):
    import uvicorn

    from ecg_digitize.cli import build_parser

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    args = build_parser().parse_args(["serve", "--port", "8123"])
    args.func(args)
    assert seen["timeout_keep_alive"] <= 10 and seen["limit_concurrency"]
    assert seen["http"].header_timeout_s == 10.0


def test_slow_headers_are_cut_on_a_live_server():
    from _server import serve

    with serve("--header-timeout", "1") as (base, _, _proc):
        host, port = base.rsplit("/", 1)[1].split(":")
        idle = socket.create_connection((host, int(port)))
        idle.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1")
        drip = socket.create_connection((host, int(port)))
        drip.sendall(b"GET /api/health HTTP/1.1\r\n")
        idle.settimeout(5)
        drip.settimeout(0.3)
        t0 = time.perf_counter()
        assert idle.recv(1) == b""  # closed by the server
        cut = False
        while time.perf_counter() - t0 < 5 and not cut:
            try:
                drip.sendall(b"X")
                cut = drip.recv(1) == b""
            except socket.timeout:
                pass
            except OSError:
                cut = True
        assert cut and time.perf_counter() - t0 < 4
        idle.close()
        drip.close()
        # a normal request on a keep-alive connection still works
        import httpx

        with httpx.Client() as h:
            assert h.get(base + "/api/health").status_code == 200
            time.sleep(1.5)
            assert h.get(base + "/api/health").status_code == 200
