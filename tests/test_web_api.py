"""The web tool's JSON API through FastAPI's test client (no network, no browser)."""
from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")  # FastAPI's TestClient needs it

from fastapi.testclient import TestClient  # noqa: E402

from ecg_digitize.web import create_app  # noqa: E402
from ecg_digitize.web._pool import PoolBusy, PoolTimeout, WorkerPool  # noqa: E402
from ecg_digitize.web._store import ResultStore  # noqa: E402
from ecg_digitize.web._uploads import safe_name, sniff  # noqa: E402
from _pages import lying_png, png_bytes  # noqa: E402

DPI = 100  # small pages keep the suite fast; the digitizer reads them well (about 22 dB)


def _signal(payload: dict) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in col] for col in payload["signal"]]).T


@pytest.fixture(scope="module")
def page(sim12):
    from ecg_digitize.synth import render

    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout="3x4+II", dpi=DPI, seed=0)
    return png_bytes(image), truth


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(token="", warm=False)) as c:
        yield c


@pytest.fixture(scope="module")
def result(client, page):
    r = client.post("/api/digitize", files={"file": ("scan 1.png", page[0], "image/png")})
    assert r.status_code == 200, r.text
    return r.json()


def test_health(client):
    r = client.get("/api/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["workers"] >= 1 and body["token_required"] is False


def test_digitize_matches_python_call(result, page, tmp_path):
    from ecg_digitize import digitize

    path = tmp_path / "page.png"
    path.write_bytes(page[0])
    rec = digitize(path)
    assert result["leads"] == rec.leads and result["layout"] == rec.layout
    assert result["fs"] == rec.fs and result["n_samples"] == rec.n_samples
    assert result["calibration"]["px_per_mm"] == pytest.approx(rec.calibration.px_per_mm)
    api = _signal(result)
    assert np.array_equal(np.isnan(api), np.isnan(rec.signal))
    np.testing.assert_allclose(api, rec.signal, atol=6e-5, equal_nan=True)  # rounded to 0.1 uV
    assert len(result["boxes"]) == len(rec.geometry["boxes"])
    assert {"lead", "bbox", "t0", "t1", "x0", "baseline_y"} <= set(result["boxes"][0])
    assert result["source"] == "scan 1.png" and result["image"]["width"] > 0


def test_preview_and_downloads_round_trip(client, result, tmp_path):
    import wfdb

    prev = client.get(result["image"]["preview"])
    assert prev.status_code == 200 and prev.content[:3] == b"\xff\xd8\xff"
    api = _signal(result)

    z = client.get(result["downloads"]["zip"])
    assert z.status_code == 200 and z.headers["content-type"] == "application/zip"
    assert "attachment" in z.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(z.content)) as zf:
        names = zf.namelist()
        zf.extractall(tmp_path)
    hea = next(n for n in names if n.endswith(".hea"))
    wrec = wfdb.rdrecord(str(tmp_path / hea[:-4]))
    assert list(wrec.sig_name) == result["leads"] and wrec.fs == result["fs"]
    np.testing.assert_allclose(wrec.p_signal, api, atol=1e-3, equal_nan=True)  # 1 uV steps

    c = client.get(result["downloads"]["csv"])
    assert c.status_code == 200 and c.text.splitlines()[0] == "time," + ",".join(result["leads"])
    from ecg_digitize import Record

    (tmp_path / "x.csv").write_bytes(c.content)
    np.testing.assert_allclose(Record.from_csv(tmp_path / "x.csv").signal, api, atol=1e-4, equal_nan=True)

    j = client.get(result["downloads"]["json"])
    assert j.status_code == 200 and j.json()["leads"] == result["leads"]
    assert len(j.json()["signal"]["II"]) == result["n_samples"]


def test_classification_reports_models(client, page):
    r = client.post("/api/digitize", files={"file": ("p.png", page[0])}, data={"classify": "true"})
    assert r.status_code == 200, r.text
    cls = r.json()["classification"]
    assert "not a medical device" in cls["disclaimer"].lower()
    for key, model in (("rhythm", "cinc2017-af"), ("mi", "ptbxl-mi"), ("beats", "mitbih-aami5")):
        part = cls[key]
        assert part["model"] == model and part["card"].endswith(f"{model}.md")
        if not part["available"]:
            assert part["message"].startswith("model not available")
        elif "error" not in part:
            assert {"rhythm": "probabilities", "mi": "probability", "beats": "counts"}[key] in part


def test_corrected_boxes_rerun(client, page, result):
    boxes = [{"lead": b["lead"], "bbox": b["bbox"], "t0": b["t0"]} for b in result["boxes"]]
    r = client.post("/api/digitize", files={"file": ("p.png", page[0])},
                    data={"boxes": json.dumps(boxes)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert "lead boxes were set by hand" in body["warnings"]
    a, b = _signal(result), _signal(body)
    n = min(len(a), len(b))  # box widths are whole pixels: the length may differ by a sample
    a, b = a[:n], b[:n]
    both = np.isfinite(a) & np.isfinite(b)
    assert both.mean() > 0.2
    assert np.corrcoef(a[both], b[both])[0, 1] > 0.95  # same boxes: the same leads come back


@pytest.mark.parametrize("data,status,code", [
    (b"", 422, "empty_file"),
    (b"hello, this is text and not an image at all" * 3, 415, "unsupported_type"),
    (b"GIF89a" + b"\x00" * 100, 415, "unsupported_type"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, 422, "unreadable_file"),
    (lying_png(100_000, 100_000), 413, "too_many_pixels"),
])
def test_bad_files(client, data, status, code):
    r = client.post("/api/digitize", files={"file": ("evil/../../etc/passwd.png", data)})
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == code and body["message"] and "Traceback" not in body["message"]


def test_not_an_ecg(client):
    blank = png_bytes(np.full((600, 800, 3), 255, np.uint8))
    r = client.post("/api/digitize", files={"file": ("blank.png", blank)})
    assert r.status_code == 422 and r.json()["error"] == "not_an_ecg"
    assert r.json()["message"].startswith("This does not look like an ECG")


@pytest.mark.parametrize("fields,code", [
    ({"layout": "6x2"}, "unsupported_layout"),       # the page has 4 rows, not 6
    ({"layout": "7x7"}, "unsupported_layout"),
    ({"layout": "<script>"}, "bad_request"),
    ({"paper_speed": "fast"}, "bad_request"),
    ({"gain": "1e9"}, "bad_request"),
    ({"method": "magic"}, "bad_request"),
    ({"boxes": "[{"}, "bad_boxes"),
    ({"boxes": json.dumps([{"lead": "II", "bbox": [5, 5, 1, 1]}])}, "bad_boxes"),
    ({"page": "-1"}, "bad_request"),
])
def test_bad_options(client, page, fields, code):
    r = client.post("/api/digitize", files={"file": ("p.png", page[0])}, data=fields)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == code and r.json()["message"]


def test_missing_file_field(client):
    r = client.post("/api/digitize", data={"layout": "auto"})
    assert r.status_code == 422 and "No file was uploaded" in r.json()["message"]


@pytest.mark.parametrize("fmt", ["PDF", "JPEG"])
def test_other_formats_match_python_call(client, page, fmt, tmp_path):
    """Type by content (the name has no extension); same decoding as ``digitize(path)``."""
    from PIL import Image

    from ecg_digitize import digitize

    im = Image.open(io.BytesIO(page[0]))
    path = tmp_path / f"page.{fmt.lower()}"
    im.save(path, format=fmt, **({"resolution": DPI} if fmt == "PDF" else {"quality": 92}))
    r = client.post("/api/digitize", files={"file": ("no-extension", path.read_bytes())})
    assert r.status_code == 200, r.text
    body, rec = r.json(), digitize(path)
    assert body["leads"] == rec.leads and body["layout"] == rec.layout
    np.testing.assert_allclose(_signal(body), rec.signal, atol=6e-5, equal_nan=True)


def test_pdf_page_out_of_range(client):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (400, 300), "white").save(buf, format="PDF")
    r = client.post("/api/digitize", files={"file": ("x.bin", buf.getvalue())}, data={"page": "3"})
    assert r.status_code == 422 and r.json()["error"] == "bad_page"


def test_byte_limit(page):
    with TestClient(create_app(token="", max_bytes=20_000, warm=False)) as c:
        r = c.post("/api/digitize", files={"file": ("p.png", page[0])})
        assert r.status_code == 413 and r.json()["error"] == "file_too_large"

        def chunks():  # no Content-Length: counted while streaming
            for _ in range(100):
                yield b"x" * 10_000
        r = c.post("/api/digitize", content=chunks(),
                   headers={"content-type": "multipart/form-data; boundary=abc"})
        assert r.status_code == 413 and r.json()["error"] == "file_too_large"
        assert c.get("/api/health").status_code == 200  # small requests still pass


def test_pixel_limit(page):
    with TestClient(create_app(token="", max_pixels=500_000, warm=False)) as c:
        r = c.post("/api/digitize", files={"file": ("p.png", page[0])})
        assert r.status_code == 413 and r.json()["error"] == "too_many_pixels"


def test_downloads_unknown_or_bad(client, result):
    assert client.get("/api/download/" + "A" * 24 + ".zip").status_code == 404
    assert client.get("/api/download/../../etc/passwd.zip").status_code == 404
    r = client.get(f"/api/download/{result['id']}.exe")
    assert r.status_code == 404 and r.json()["error"] == "unknown_format"
    assert client.get("/api/models/../../setup.py.md").status_code == 404
    assert client.get("/api/models/not-a-model.md").json()["error"] == "unknown_model"


def test_token_required():
    with TestClient(create_app(token="s3cret", warm=False)) as c:
        assert c.get("/").status_code == 200  # the page itself carries no data
        r = c.get("/api/health")
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"
        assert c.get("/api/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/api/health", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/api/health", headers={"X-Token": "s3cret"}).status_code == 200
        # never in the URL: it would end up in access logs and browser histories
        assert c.get("/api/health?token=s3cret").status_code == 401
        assert c.get("/api/health", headers={"Authorization": "Basic s3cret"}).status_code == 401
        assert c.post("/api/digitize", files={"file": ("p.png", b"x")}).status_code == 401
        assert c.get("/api/download/" + "A" * 24 + ".csv").status_code == 401
        assert c.get("/api/image/" + "A" * 24 + ".jpg").status_code == 401
        # the API's description is guarded too; /docs sends the tab's token for it
        assert c.get("/openapi.json").status_code == 401
        # /docs offers the token through its "Authorize" button
        schemes = c.get("/openapi.json", headers={"X-Token": "s3cret"}).json()["components"]["securitySchemes"]
        assert {"HTTPBearer", "APIKeyHeader"} <= set(schemes)


def test_token_from_environment(monkeypatch):
    monkeypatch.setenv("ECG_DIGITIZE_TOKEN", "envtok")
    with TestClient(create_app(warm=False)) as c:
        assert c.get("/api/health").status_code == 401
        assert c.get("/api/health", headers={"X-Token": "envtok"}).status_code == 200


def test_static_assets_offline(client):
    html = client.get("/").text
    assert "/static/app.js" in html and "not a medical device" in html
    assert "http://" not in html and "https://" not in html  # no CDN
    for asset in ("app.js", "pageview.js", "paper.js", "style.css"):
        r = client.get(f"/static/{asset}")
        assert r.status_code == 200 and "https://" not in r.text
    assert "default-src 'self'" in client.get("/").headers["content-security-policy"]
    docs = client.get("/docs")
    assert docs.status_code == 200
    if "/docs-assets/" in docs.text:  # swagger-ui-py installed: /docs works offline too
        assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/api/digitize", "/api/health", "/api/download/{rid}.{fmt}"} <= set(spec["paths"])


def test_pool_refuses_when_full():
    import threading

    gate = threading.Event()

    async def main():
        pool = WorkerPool(workers=1, max_pending=2)
        jobs = [asyncio.create_task(pool.run(gate.wait, 5)) for _ in range(2)]
        await asyncio.sleep(0.05)
        with pytest.raises(PoolBusy):
            await pool.run(lambda: None)
        gate.set()
        assert await asyncio.gather(*jobs) == [True, True]
        assert pool.pending == 0
        pool.shutdown()

    asyncio.run(main())


def test_pool_stops_waiting_at_the_timeout_and_keeps_the_place_until_the_thread_ends():
    import threading

    gate = threading.Event()

    async def main():
        pool = WorkerPool(workers=1, max_pending=2)
        with pytest.raises(PoolTimeout):
            await pool.run(gate.wait, 30, timeout=0.2)
        assert (pool.pending, pool.overdue) == (1, 1)  # the thread runs on, counted busy
        with pytest.raises(PoolTimeout):  # queued behind it: cancelled, never started
            await pool.run(lambda: "late", timeout=0.2)
        assert pool.pending == 1
        gate.set()
        for _ in range(100):
            if pool.pending == 0:
                break
            await asyncio.sleep(0.02)
        assert (pool.pending, pool.overdue) == (0, 0)
        assert await pool.run(lambda: "on time", timeout=5) == "on time"
        pool.shutdown()

    asyncio.run(main())


def test_a_page_over_the_time_limit_answers_504(page):
    import threading

    gate = threading.Event()

    def stuck(image, **kwargs):
        gate.wait(30)
        raise AssertionError("answered long ago")

    with TestClient(create_app(token="", warm=False, digitize_fn=stuck, page_timeout_s=0.5)) as c:
        r = c.post("/api/digitize", files={"file": ("slow.png", page[0], "image/png")})
        assert r.status_code == 504
        assert r.json()["error"] == "timeout" and "0.5 s limit" in r.json()["message"]
        health = c.get("/api/health").json()
        assert (health["pending"], health["overdue"], health["page_timeout_s"]) == (1, 1, 0.5)
        gate.set()


def test_serve_takes_a_page_timeout():
    from ecg_digitize.cli import build_parser

    assert build_parser().parse_args(["serve", "--page-timeout", "5"]).page_timeout == 5.0
    assert build_parser().parse_args(["serve"]).page_timeout == 120.0


def test_an_internal_error_answers_500_without_its_text(page):
    from ecg_digitize.errors import DigitizeInternalError

    def buggy(image, **kwargs):
        raise DigitizeInternalError("internal error in stage deskew._best_angle: error: /io/opencv/x.cpp", "x")

    with TestClient(create_app(token="", warm=False, digitize_fn=buggy)) as c:
        r = c.post("/api/digitize", files={"file": ("p.png", page[0], "image/png")})
    assert r.status_code == 500 and r.json()["error"] == "internal_error"
    assert "opencv" not in r.text


def test_store_expiry_and_cap():
    now = [0.0]
    store = ResultStore(ttl_s=10, max_items=2, clock=lambda: now[0])
    a = store.put("A")
    assert len(a) == 24 and store.get(a).record == "A"
    b, c = store.put("B"), store.put("C")
    assert store.get(a) is None and len(store) == 2  # capped: oldest dropped
    now[0] = 11.0
    assert store.get(b) is None and store.get(c) is None  # expired
    assert store.get("../x") is None


def test_sniff_and_names():
    assert sniff(b"\x89PNG\r\n\x1a\n....") == "png" and sniff(b"\xff\xd8\xff\xe0") == "jpeg"
    assert sniff(b"II*\x00") == "tiff" and sniff(b"%PDF-1.4") == "pdf"
    assert sniff(b"<html>") is None
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("C:\\scans\\ecg <1>.jpg") == "ecg _1_.jpg"
    assert safe_name("") == "upload"


def test_import_stays_light():
    code = "import sys, ecg_digitize; import ecg_digitize.web; print('fastapi' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_serve_subcommand_registered():
    from ecg_digitize.cli import build_parser

    args = build_parser().parse_args(["serve", "--port", "8123", "--token", "t"])
    assert args.host == "127.0.0.1" and args.port == 8123 and callable(args.func)
