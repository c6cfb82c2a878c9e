"""A bounded load test of ``ecg-digitize serve`` on loopback: 20 concurrent uploads, twice.

Every upload must be answered (none lost, none refused at this count), the server must
keep answering ``/api/health`` meanwhile, and its resident memory must stay flat from one
round to the next. Small (100 dpi) pages keep it within about half a minute on 2 cores;
``benchmarks/web_load.py`` measures 200 dpi pages.
"""
from __future__ import annotations

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from _server import serve

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

N_CONCURRENT = 20
ROUNDS = 2
DEADLINE_S = 240          # the whole test, start-up included
MAX_RSS_GROWTH_MB = 60    # between rounds; the result store adds ~20 x 0.6 MB by design


def _rss_mb(pid: int) -> float | None:
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        return None
    for line in status.read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def _round(base: str, data: bytes) -> tuple[list[dict], list[float]]:
    health: list[float] = []
    done = threading.Event()

    def poll():
        while not done.is_set():
            t0 = time.perf_counter()
            r = httpx.get(base + "/api/health", timeout=60)
            health.append(time.perf_counter() - t0 if r.status_code == 200 else float("inf"))
            done.wait(0.5)

    def one(_):
        try:
            r = httpx.post(base + "/api/digitize", files={"file": ("p.png", data, "image/png")},
                           timeout=DEADLINE_S)
            body = r.json()
            return {"status": r.status_code, "id": body.get("id"), "leads": body.get("leads")}
        except httpx.HTTPError as exc:
            return {"status": None, "error": repr(exc)}

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    with ThreadPoolExecutor(N_CONCURRENT) as ex:
        results = list(ex.map(one, range(N_CONCURRENT)))
    done.set()
    poller.join(60)
    return results, health


def test_concurrent_uploads_on_loopback(sim12):
    from PIL import Image

    from ecg_digitize.synth import render

    sig, fs, leads = sim12
    image, _ = render(sig, fs, leads, layout="3x4+II", dpi=100, seed=2)  # clean: small PNG
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    data = buf.getvalue()

    start = time.perf_counter()
    with serve("--workers", "2", "--max-pending", "32") as (base, _, proc):
        rss, ids = [], set()
        for k in range(ROUNDS):
            results, health = _round(base, data)
            rss.append(_rss_mb(proc.pid))
            statuses = [r["status"] for r in results]
            print(f"round {k + 1}: statuses {sorted(set(statuses), key=str)}, health polls "
                  f"{len(health)}, max health {max(health):.2f} s, rss {rss[-1]} MB")
            assert len(results) == N_CONCURRENT
            assert statuses == [200] * N_CONCURRENT, results
            # the same page gives the same answer under load (the digitizer's accuracy is not tested here)
            assert all(r["leads"] == results[0]["leads"] and r["leads"] for r in results)
            ids |= {r["id"] for r in results}
            assert health and max(health) < 10.0  # the server kept answering while busy
        assert len(ids) == N_CONCURRENT * ROUNDS  # every answer its own result
        if rss[0] is not None:
            assert rss[-1] - rss[0] < MAX_RSS_GROWTH_MB, rss
        assert time.perf_counter() - start < DEADLINE_S
