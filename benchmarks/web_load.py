"""Web tool timings: upload-to-result for one page, and concurrent uploads on loopback.

Starts ``ecg-digitize serve`` on a free 127.0.0.1 port (a real uvicorn server), then

1. uploads one rendered page ``--repeat`` times in a row (upload-to-result wall time as
   the client sees it, and the server's own digitize time);
2. sends ``--concurrent`` uploads at once, ``--rounds`` times, while polling
   ``/api/health`` to see whether the server stays responsive; counts answers by status
   and reads the server's resident memory (``/proc/<pid>/status``) after each round.

With ``--hostile`` it runs the attacks of issue #30 instead, each against a live server
(2 workers, defaults), reporting status, error code, wall time, reply size and the
server's memory growth (peak and kept, from ``/proc/<pid>/status`` with the peak reset
before each attack); then a stream of large results against a small ``--max-store-mb``,
and with ``--baseline DIR`` a paired run of the ordinary 200 dpi upload against the code
in DIR (e.g. ``git archive <commit> | tar -x -C DIR``).

Usage::

    python benchmarks/web_load.py --dpi 200 --repeat 5 --concurrent 20 --rounds 3
    python benchmarks/web_load.py --dpi 200 --repeat 3 --rounds 6 --ttl 20   # memory without the store
    python benchmarks/web_load.py --hostile --baseline /tmp/base --out hostile.json

Timings on a shared machine are noisy: the script prints the load average with them.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workers: int, max_pending: int, ttl: float | None = None,
                 extra: list[str] | None = None, code_dir: str | None = None,
                 headers: dict | None = None) -> tuple[subprocess.Popen, str, float]:
    port = free_port()
    cmd = [sys.executable, "-m", "ecg_digitize.cli", "serve", "--port", str(port),
           "--workers", str(workers), "--max-pending", str(max_pending), "--log-level", "warning"]
    if ttl is not None:
        cmd += ["--ttl", str(ttl)]
    cmd += list(extra or [])
    env = dict(os.environ)
    if code_dir is not None:  # another version of the package (paired runs)
        env["PYTHONPATH"] = code_dir
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    base = f"http://127.0.0.1:{port}"
    while True:
        try:
            if httpx.get(base + "/api/health", timeout=2, headers=headers).status_code == 200:
                return proc, base, time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.perf_counter() - t0 > 120:
            raise RuntimeError("server did not start")
        time.sleep(0.1)


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux): start-up cost independent of load."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)
    except (OSError, IndexError, ValueError):
        return None


def health_idle_ms(base: str, n: int = 20) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        httpx.get(base + "/api/health", timeout=30)
        times.append(time.perf_counter() - t0)
    return round(1000 * statistics.median(times), 1)


def page_png(dpi: float, seed: int = 0) -> bytes:
    from PIL import Image

    from ecg_digitize.synth import render, simulate_12lead

    sig, fs, leads = simulate_12lead(seed=seed)
    image, _ = render(sig, fs, leads, layout="3x4+II", dpi=dpi, seed=seed, preset="scan")
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def upload(base: str, data: bytes, timeout: float = 300) -> dict:
    t0 = time.perf_counter()
    try:
        r = httpx.post(base + "/api/digitize", files={"file": ("page.png", data, "image/png")},
                       timeout=timeout)
        body = r.json()
        return {"status": r.status_code, "wall": time.perf_counter() - t0,
                "server": body.get("seconds"), "id": body.get("id"),
                "n_leads": len(body.get("leads", []))}
    except httpx.HTTPError as exc:
        return {"status": None, "wall": time.perf_counter() - t0, "error": repr(exc)}


def concurrent_round(base: str, data: bytes, n: int) -> dict:
    """``n`` uploads at once; health polled every 0.25 s meanwhile."""
    health: list[float] = []
    done = threading.Event()

    def poll():
        while not done.is_set():
            t0 = time.perf_counter()
            try:
                httpx.get(base + "/api/health", timeout=30)
                health.append(time.perf_counter() - t0)
            except httpx.HTTPError:
                health.append(float("inf"))
            done.wait(0.25)

    poller = threading.Thread(target=poll)
    poller.start()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(n) as ex:
        results = list(ex.map(lambda _: upload(base, data), range(n)))
    wall = time.perf_counter() - t0
    done.set()
    poller.join()
    walls = sorted(r["wall"] for r in results)
    statuses: dict[str, int] = {}
    for r in results:
        statuses[str(r["status"])] = statuses.get(str(r["status"]), 0) + 1
    return {"n": n, "answered": sum(r["status"] is not None for r in results),
            "statuses": statuses, "unique_ids": len({r.get("id") for r in results if r.get("id")}),
            "round_wall_s": round(wall, 2), "pages_per_min": round(60 * n / wall, 1),
            "latency_p50_s": round(statistics.median(walls), 2),
            "latency_p95_s": round(walls[max(0, int(0.95 * n) - 1)], 2),
            "latency_max_s": round(walls[-1], 2),
            "health_polls": len(health),
            "health_p50_ms": round(1000 * statistics.median(health), 1) if health else None,
            "health_max_ms": round(1000 * max(health), 1) if health else None}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hostile", action="store_true", help="run the attacks of issue #30")
    ap.add_argument("--scan", default=str(Path(os.environ.get(
        "ECG_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
        / "khan2021" / "normal" / "Normal(112).jpg"), help="real scan for the box attacks")
    ap.add_argument("--baseline", help="--hostile: code folder for the paired normal upload")
    ap.add_argument("--only", help="--hostile: comma-separated attack groups to run")
    ap.add_argument("--dpi", type=float, default=200)
    ap.add_argument("--repeat", type=int, default=5, help="sequential single uploads")
    ap.add_argument("--concurrent", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-pending", type=int, default=32)
    ap.add_argument("--ttl", type=float, default=None,
                    help="result lifetime passed to serve (default: serve's, 1 hour). The "
                         "server keeps every result until it expires (at most 200), so memory "
                         "grows with results by design; a short --ttl shows what is left")
    ap.add_argument("--out", help="write the figures as JSON here")
    args = ap.parse_args(argv)
    if args.hostile:
        from web_hostile import run_hostile  # benchmarks/ is on sys.path when run

        report = run_hostile(args)
        print(json.dumps(report, indent=2))
        if args.out:
            Path(args.out).write_text(json.dumps(report, indent=2))
        return 0

    data = page_png(args.dpi)
    proc, base, startup = start_server(args.workers, args.max_pending, args.ttl)
    report = {"dpi": args.dpi, "page_bytes": len(data), "workers": args.workers, "ttl_s": args.ttl,
              "cpus": os.cpu_count(), "load_avg_start": os.getloadavg(),
              "startup_s": round(startup, 2), "startup_cpu_s": cpu_s(proc.pid),
              "rss_mb_start": rss_mb(proc.pid)}
    try:
        report["health_idle_p50_ms"] = health_idle_ms(base)
        upload(base, data)  # first call pays lazy imports; not counted
        cpu0, load0 = cpu_s(proc.pid), os.getloadavg()
        single = [upload(base, data) for _ in range(args.repeat)]
        cpu1 = cpu_s(proc.pid)
        assert all(s["status"] == 200 for s in single), single
        report["single"] = {
            "wall_s": [round(s["wall"], 2) for s in single],
            "wall_median_s": round(statistics.median(s["wall"] for s in single), 2),
            "server_median_s": round(statistics.median(s["server"] for s in single), 2),
            # server CPU seconds per page: what a page costs, independent of machine load
            "server_cpu_s_per_page": (round((cpu1 - cpu0) / len(single), 2)
                                      if cpu0 is not None and cpu1 is not None else None),
            "load_avg": [round(x, 2) for x in load0]}
        report["rss_mb_after_single"] = rss_mb(proc.pid)
        report["rounds"] = []
        for k in range(args.rounds):
            load = os.getloadavg()
            rnd = concurrent_round(base, data, args.concurrent)
            rnd["rss_mb_after"] = rss_mb(proc.pid)
            rnd["results_stored"] = httpx.get(base + "/api/health", timeout=30).json().get("results")
            rnd["load_avg_before"] = [round(x, 2) for x in load]
            report["rounds"].append(rnd)
            print(f"round {k + 1}: {json.dumps(rnd)}", flush=True)
        report["load_avg_end"] = os.getloadavg()
    finally:
        proc.terminate()
        proc.wait(10)
    print(json.dumps(report, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
