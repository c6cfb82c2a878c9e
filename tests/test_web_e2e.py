"""End to end in a real browser: Debian's chromium driven by Playwright for Python against a
live ``ecg-digitize serve`` on a free loopback port. No browser is downloaded: the test
uses /usr/bin/chromium and skips, saying why, when it or Playwright is missing.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from _server import serve

CHROMIUM = Path(os.environ.get("ECG_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STARTUP_LIMIT_S = 10.0  # the bound for `ecg-digitize serve` on CPU (CPU seconds)
TOKEN = "e2e-secret-token"
STARTUP_WALL_LIMIT_S = 60.0  # wall clock, generous: CI shares its cores with training jobs

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason=f"{CHROMIUM} not found: install Debian's chromium "
                              "(apt-get install -y chromium) to run the browser test"),
]


@pytest.fixture(scope="module")
def server():
    # With a token: the page must ask for it, then fetch preview and downloads with it.
    with serve("--token", TOKEN) as (base, startup, _):
        yield base, startup


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright not installed (pip install playwright)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _shot_dir(tmp_path: Path) -> Path:
    """Where screenshots go: ``ECG_WEB_SCREENSHOT_DIR`` (e.g. docs/img) or the test's tmp."""
    out = Path(os.environ.get("ECG_WEB_SCREENSHOT_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_upload_in_browser(server, browser, sim12, tmp_path):
    from PIL import Image

    from ecg_digitize.synth import render

    sig, fs, leads = sim12
    image, _ = render(sig, fs, leads, layout="3x4+II", dpi=200, seed=1)
    page_png = tmp_path / "page.png"
    Image.fromarray(image).save(page_png)
    not_image = tmp_path / "notes.png"  # a text file with an image's name
    not_image.write_text("this is not an ECG")

    base, (wall_s, cpu_s) = server
    print(f"server answered after {wall_s:.2f} s wall, {cpu_s} s CPU")
    assert wall_s < STARTUP_WALL_LIMIT_S
    assert (cpu_s if cpu_s is not None else wall_s) < STARTUP_LIMIT_S
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    try:
        page = ctx.new_page()
        errors: list[str] = []
        urls: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: urls.append(r.url))
        page.goto(base + "/")
        assert "not a medical device" in page.inner_text("#disclaimer")

        # no token yet: the server refuses and the page asks for it
        page.set_input_files("#file", str(page_png))
        page.wait_for_selector("#token-form:not([hidden])", timeout=30_000)
        assert "access token" in page.inner_text("#error")
        page.fill("#token", TOKEN)
        page.click("#token-form button")  # sends the same file again, with the token
        page.wait_for_selector("#result:not([hidden])", timeout=90_000)
        page.wait_for_function("() => Number(document.getElementById('page').dataset.traces) > 0",
                               timeout=30_000)
        assert page.is_hidden("#error")
        assert page.locator(".lead-name").all_inner_texts() == leads
        canvas = page.locator("#page")
        assert int(canvas.get_attribute("data-boxes")) >= 12
        # the overlay really drew blue trace pixels over the page
        blue = page.evaluate("""() => {
            const c = document.getElementById('page'), ctx = c.getContext('2d');
            const d = ctx.getImageData(0, 0, c.width, c.height).data; let n = 0;
            for (let i = 0; i < d.length; i += 4) if (d[i+2] > 200 && d[i] < 90 && d[i+1] < 160) n++;
            return n; }""")
        assert blue > 500
        page.uncheck("#show-boxes")
        assert canvas.get_attribute("data-boxes") == "0"
        page.check("#show-boxes")

        with page.expect_download() as dl:
            page.click("#dl-csv")
        csv = Path(dl.value.path()).read_text()
        assert csv.splitlines()[0] == "time," + ",".join(leads)

        # correct a box: drag the V1 box 6 px right, run again with the boxes
        box = page.evaluate("""() => { const b = document.getElementById('page').getBoundingClientRect();
            return {x: b.x, y: b.y}; }""")
        v1 = next(b for b in page.evaluate("() => window.__ecg_result.boxes") if b["lead"] == "V1")
        scale = page.evaluate("() => window.__ecg_pageview.scale")
        cx, cy = (v1["bbox"][0] + v1["bbox"][2]) / 2 * scale, (v1["bbox"][1] + v1["bbox"][3]) / 2 * scale
        page.mouse.move(box["x"] + cx, box["y"] + cy)
        page.mouse.down()
        page.mouse.move(box["x"] + cx + 6, box["y"] + cy, steps=3)
        page.mouse.up()
        assert page.is_enabled("#rerun-boxes")
        page.click("#rerun-boxes")
        page.wait_for_function(
            "() => window.__ecg_result.warnings.includes('lead boxes were set by hand')",
                               timeout=90_000)
        assert page.is_hidden("#error")

        shot = tmp_path / "web_e2e_synthetic.jpg"
        page.screenshot(path=str(shot), full_page=True, type="jpeg", quality=70)
        assert shot.stat().st_size > 10_000
        # a readable error, not a stack trace
        page.set_input_files("#file", str(not_image))
        page.wait_for_selector("#error:not([hidden])", timeout=30_000)
        assert "not a PNG, JPEG, TIFF, BMP or PDF" in page.inner_text("#error")

        # the token went in headers only: never in a URL (access logs, history)
        assert any("/api/image/" in u for u in urls) and any("/api/download/" in u for u in urls)
        assert not [u for u in urls if TOKEN in u], urls

        # the OpenAPI page renders from the package's own Swagger UI files
        page.goto(base + "/docs")
        page.wait_for_selector(".opblock", timeout=30_000)
        assert not errors, errors
    finally:
        ctx.close()


def _khan_scan() -> Path | None:
    root = Path(os.environ.get("ECG_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
    path = root / "khan2021" / "normal" / "Normal(112).jpg"
    return path if path.exists() else None


@pytest.mark.skipif(_khan_scan() is None, reason="khan2021 scans not found under ECG_DATA_DIR")
def test_real_scan_in_browser(server, browser, tmp_path):
    """A real scanned page (Khan et al. 2021, CC BY 4.0): read, drawn, and photographed for the docs."""
    base, _ = server
    ctx = browser.new_context(viewport={"width": 1500, "height": 1480}, accept_downloads=True)
    try:
        page = ctx.new_page()
        page.goto(base + "/")
        page.evaluate(f"() => sessionStorage.setItem('ecg-token', '{TOKEN}')")
        page.reload()
        page.set_input_files("#file", str(_khan_scan()))
        page.wait_for_selector("#result:not([hidden])", timeout=120_000)
        page.wait_for_function("() => Number(document.getElementById('page').dataset.traces) > 0",
                               timeout=30_000)
        assert page.is_hidden("#error")
        assert page.locator(".lead-name").all_inner_texts()[:3] == ["I", "II", "III"]
        out = _shot_dir(tmp_path)
        page.screenshot(path=str(out / "web_khan2021.jpg"), type="jpeg", quality=72)
        page.locator("#paper-viewport").screenshot(path=str(out / "web_signals.jpg"), type="jpeg",
                                                   quality=72)
        page.locator("#classes-card").screenshot(path=str(out / "web_classifiers.png"))
    finally:
        ctx.close()
