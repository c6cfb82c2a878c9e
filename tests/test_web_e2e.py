"""End to end in a real browser: Debian's chromium driven by Playwright for Python against a
live ``ecg-digitize serve`` on a free loopback port. No browser is downloaded: the test
uses /usr/bin/chromium and skips, saying why, when it or Playwright is missing.
"""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("ECG_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STARTUP_LIMIT_S = 10.0  # the bound for `ecg-digitize serve` on CPU

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason=f"{CHROMIUM} not found: install Debian's chromium "
                              "(apt-get install -y chromium) to run the browser test"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(*extra: str):
    """Run ``ecg-digitize serve`` on a free loopback port; yields (base URL, startup s, process)."""
    port = _free_port()
    cmd = [sys.executable, "-m", "ecg_digitize.cli", "serve", "--host", "127.0.0.1",
           "--port", str(port), "--log-level", "warning", *extra]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {proc.stdout.read().decode(errors='replace')}")
            try:
                with urllib.request.urlopen(base + "/api/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.perf_counter() - t0 > 60:
                raise RuntimeError("server did not answer within 60 s")
            time.sleep(0.1)
        yield base, time.perf_counter() - t0, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def playwright_api():
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright not installed (pip install playwright)")
    return sync_api


def test_upload_in_browser(playwright_api, sim12, tmp_path):
    from PIL import Image

    from ecg_digitize.synth import render

    sig, fs, leads = sim12
    image, _ = render(sig, fs, leads, layout="3x4+II", dpi=100, seed=1, preset="scan")
    page_png = tmp_path / "page.png"
    Image.fromarray(image).save(page_png)
    not_image = tmp_path / "notes.png"  # a text file with an image's name
    not_image.write_text("this is not an ECG")

    with serve() as (base, startup_s, _), playwright_api.sync_playwright() as pw:
        print(f"server answered after {startup_s:.2f} s")
        assert startup_s < STARTUP_LIMIT_S
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
            page = ctx.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(base + "/")
            assert "not a medical device" in page.inner_text("#disclaimer")

            # a readable error, not a stack trace
            page.set_input_files("#file", str(not_image))
            page.wait_for_selector("#error:not([hidden])", timeout=30_000)
            assert "not a PNG, JPEG, TIFF, BMP or PDF" in page.inner_text("#error")

            page.set_input_files("#file", str(page_png))
            page.wait_for_selector("#result:not([hidden])", timeout=90_000)
            page.wait_for_function("Number(document.getElementById('page').dataset.traces) > 0",
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

            shot = tmp_path / "web_e2e.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            out_dir = os.environ.get("ECG_WEB_SCREENSHOT_DIR")
            if out_dir:  # keep the picture (CI artefacts, docs)
                shutil.copy(shot, Path(out_dir) / shot.name)
            assert not errors, errors
        finally:
            browser.close()
