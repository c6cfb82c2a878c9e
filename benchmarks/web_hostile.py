"""The attacks of issue #30 against a live ``ecg-digitize serve``; run by ``web_load.py --hostile``.

Each attack reports the answer's status and error code, the wall time, the reply's size
and the server's memory: ``peak_mb`` (peak resident memory during the attack minus the
resident memory before it; the kernel's peak is reset first through
``/proc/<pid>/clear_refs``) and ``kept_mb`` (resident after minus before).
"""
from __future__ import annotations

import io
import json
import os
import socket
import statistics
import time
from pathlib import Path

import httpx
import numpy as np

from web_load import cpu_s, page_png, rss_mb, start_server, upload

TOKEN = "hostile-test-token"


def _status_kb(pid: int, key: str) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _reset_peak(pid: int) -> None:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    except OSError:
        pass


def measure(name: str, pid: int, fn, how: str) -> dict:
    """Run ``fn()`` (returns an httpx.Response or a dict) and measure the server around it."""
    before = rss_mb(pid)
    _reset_peak(pid)
    t0 = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - t0
    row = {"attack": name, "wall_s": round(wall, 2)}
    if isinstance(out, httpx.Response):
        try:
            code = out.json().get("error")
        except ValueError:
            code = "(not JSON)"
        row.update(status=out.status_code, error=code, reply_bytes=len(out.content),
                   json=out.headers.get("content-type", "").startswith("application/json"),
                   nosniff=out.headers.get("x-content-type-options") == "nosniff",
                   csp="frame-ancestors 'none'" in out.headers.get("content-security-policy", ""))
    else:
        row.update(out)
    peak, after = _status_kb(pid, "VmHWM"), rss_mb(pid)
    row["peak_mb"] = round(peak - before, 1) if peak and before else None
    row["kept_mb"] = round(after - before, 1) if after and before else None
    row["how"] = how
    print(json.dumps(row), flush=True)
    return row


def png_bytes(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def tiff_frames(n: int) -> bytes:
    """A little-endian TIFF of ``n`` white 1 x 1 greyscale frames (Pillow's writer is quadratic)."""
    import struct

    entries = [(256, 3, 1), (257, 3, 1), (258, 3, 8), (259, 3, 1), (262, 3, 1),
               (273, 4, 8), (278, 3, 1), (279, 4, 1)]  # tag, type, value; the pixel at offset 8
    ifd_size = 2 + 12 * len(entries) + 4
    out = [b"II*\x00", struct.pack("<I", 12), b"\xff\x00\x00\x00"]
    for k in range(n):
        nxt = 12 + (k + 1) * ifd_size if k + 1 < n else 0
        ifd = struct.pack("<H", len(entries)) + b"".join(
            struct.pack("<HHI", tag, typ, 1) + struct.pack("<I" if typ == 4 else "<HH", *(
                (val,) if typ == 4 else (val, 0))) for tag, typ, val in entries)
        out.append(ifd + struct.pack("<I", nxt))
    return b"".join(out)


def post(base: str, data: bytes, fields: dict | None = None, headers: dict | None = None,
         timeout: float = 120) -> httpx.Response:
    return httpx.post(base + "/api/digitize", files={"file": ("x", data)}, data=fields or {},
                      headers=headers, timeout=timeout)


def slow_upload(host: str, port: int, total: int = 24 * 2**20, chunk: int = 2**20,
                pause: float = 0.25) -> dict:
    """A multipart upload sent 1 MB every 0.25 s, without a token: when does the answer come?"""
    s = socket.create_connection((host, port))
    s.settimeout(0.01)
    head = (f"POST /api/digitize HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Content-Type: multipart/form-data; boundary=XyZ\r\n"
            f"Content-Length: {total}\r\n\r\n").encode()
    s.sendall(head)
    t0, sent, answer = time.perf_counter(), 0, b""
    while sent < total:
        try:
            answer = s.recv(4096)
            if answer:
                break
        except (socket.timeout, BlockingIOError):
            pass
        except OSError:
            break
        try:
            s.sendall(b"x" * min(chunk, total - sent))
        except OSError:
            break
        sent += chunk
        time.sleep(pause)
    if not answer:
        s.settimeout(30)
        try:
            answer = s.recv(4096)
        except OSError:
            pass
    s.close()
    line = answer.split(b"\r\n", 1)[0].decode("latin-1")
    return {"status": int(line.split()[1]) if line.startswith("HTTP/") else None,
            "sent_mb_before_answer": round(sent / 2**20, 1),
            "answered_after_s": round(time.perf_counter() - t0, 2)}


def idle_connections(host: str, port: int, n: int = 900, wait: float = 30.0) -> dict:
    """``n`` connections that send half a request line and stop; when are they closed?"""
    socks = []
    for _ in range(n):
        s = socket.create_connection((host, port))
        s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1")
        s.setblocking(False)
        socks.append(s)
    t0, closed, times = time.perf_counter(), set(), []
    try:  # does the server still answer meanwhile?
        r = httpx.get(f"http://{host}:{port}/api/health", timeout=15)
        during = {"health_during_status": r.status_code,
                  "health_during_s": round(time.perf_counter() - t0, 2)}
    except httpx.HTTPError as exc:
        during = {"health_during_status": repr(exc)}
    while len(closed) < n and time.perf_counter() - t0 < wait:
        for i, s in enumerate(socks):
            if i in closed:
                continue
            try:
                if s.recv(1) == b"":
                    closed.add(i)
                    times.append(time.perf_counter() - t0)
            except BlockingIOError:
                pass
            except OSError:
                closed.add(i)
                times.append(time.perf_counter() - t0)
        time.sleep(0.2)
    for s in socks:
        s.close()
    return {**during, "connections": n, "closed": len(closed),
            "closed_by_s": round(max(times), 1) if times else None,
            "median_close_s": round(statistics.median(times), 1) if times else None}


def dripping(host: str, port: int, every: float = 2.0, wait: float = 40.0) -> dict:
    """One connection that sends a header byte every ``every`` seconds: is it cut?"""
    s = socket.create_connection((host, port))
    s.sendall(b"GET /api/health HTTP/1.1\r\n")
    t0 = time.perf_counter()
    s.settimeout(every)
    while time.perf_counter() - t0 < wait:
        try:
            if s.recv(1) == b"":
                break
        except socket.timeout:
            pass
        except OSError:
            break
        try:
            s.sendall(b"X")
        except OSError:
            break
    cut = time.perf_counter() - t0
    s.close()
    return {"cut_after_s": round(cut, 1), "cut": cut < wait}


def run_hostile(args) -> dict:
    report: dict = {"cpus": os.cpu_count(), "load_avg_start": os.getloadavg(), "attacks": []}
    only = set(args.only.split(",")) if args.only else None

    def want(group: str) -> bool:
        return only is None or group in only

    scan = Path(args.scan).read_bytes()
    proc, base, _ = start_server(2, 32)
    pid, port = proc.pid, int(base.rsplit(":", 1)[1])
    rows = report["attacks"]
    try:
        first = post(base, scan)
        assert first.status_code == 200, first.text[:300]
        boxes = first.json()["boxes"]
        rhythm = max(boxes, key=lambda b: b["bbox"][2] - b["bbox"][0])
        report["rss_mb_after_first_page"] = rss_mb(pid)
        if want("boxes"):
            for t0, fs in ((20000, 500), (20000, 5000), (2000, 500), (30, 500)):
                box = [{"lead": "II", "bbox": rhythm["bbox"], "t0": t0}]
                rows.append(measure(f"1. boxes t0={t0} fs={fs}", pid,
                                    lambda: post(base, scan, {"boxes": json.dumps(box), "fs": str(fs)}),
                                    f"boxes=[{{lead: II, bbox: <detected>, t0: {t0}}}], fs={fs}"))
            same = [{"lead": b["lead"], "bbox": b["bbox"], "t0": b["t0"]} for b in boxes]
            r = measure("1. detected boxes sent back (sane)", pid,
                        lambda: post(base, scan, {"boxes": json.dumps(same)}), "the page's own boxes")
            rows.append(r)
            rid = post(base, scan, {"boxes": json.dumps(same)}).json().get("id")
            for fmt in ("zip", "csv", "json"):
                rows.append(measure(f"1. download .{fmt} of that result", pid,
                                    lambda: httpx.get(f"{base}/api/download/{rid}.{fmt}", timeout=60),
                                    f"GET /api/download/<id>.{fmt}"))
        if want("images"):
            white16 = png_bytes(np.full((7070, 7070), 65535, np.uint16))
            rows.append(measure("2. 7070 x 7070 16-bit PNG", pid, lambda: post(base, white16),
                                f"{len(white16) / 1e3:.0f} kB PNG, I;16, all white"))
            from PIL import Image

            buf = io.BytesIO()
            Image.fromarray(np.full((7070, 7070), 2**20, np.int32), "I").save(
                buf, format="TIFF", compression="tiff_deflate")
            tiff32 = buf.getvalue()
            rows.append(measure("2. 7070 x 7070 32-bit (I) TIFF", pid, lambda: post(base, tiff32),
                                f"{len(tiff32) / 1e3:.0f} kB deflate TIFF, mode I"))
            white8 = png_bytes(np.full((7000, 7000, 3), 255, np.uint8))
            rows.append(measure("2. 7000 x 7000 8-bit RGB PNG (blank)", pid, lambda: post(base, white8),
                                f"{len(white8) / 1e3:.0f} kB PNG"))
            huge = png_bytes(np.full((1, 1), 255, np.uint8))
            huge = huge[:16] + (30000).to_bytes(4, "big") + (30000).to_bytes(4, "big") + huge[24:]
            import zlib

            huge = huge[:29] + zlib.crc32(huge[12:29]).to_bytes(4, "big") + huge[33:]
            rows.append(measure("#27.5 30000 x 30000 PNG header", pid, lambda: post(base, huge),
                                "a 1x1 PNG whose header says 30000 x 30000"))
        if want("frames"):
            for n, page in ((200_000, 0), (200_000, 999), (50_000, 0)):
                data = tiff_frames(n)
                rows.append(measure(f"3. TIFF of {n} 1x1 frames, page={page}", pid,
                                    lambda: post(base, data, {"page": str(page)}),
                                    f"{len(data) / 1e6:.1f} MB TIFF"))
        if want("errors"):
            deep = "[" * 30000 + "]" * 30000
            rows.append(measure("5. boxes nested 30000 deep", pid,
                                lambda: post(base, scan, {"boxes": deep}), "60 kB of brackets"))
            deeper = "[" * 100000 + "]" * 100000
            rows.append(measure("5. boxes nested 100000 deep", pid,
                                lambda: post(base, scan, {"boxes": deeper}), "200 kB of brackets"))
            for lead in ("II\nX", "II\x00", '=HYPERLINK("x")', "a,b"):
                box = [{"lead": lead, "bbox": rhythm["bbox"], "t0": 0}]
                rows.append(measure(f"5/6. lead name {lead!r}", pid,
                                    lambda: post(base, scan, {"boxes": json.dumps(box)}),
                                    "one box, that lead name"))
            rows.append(measure("8. unknown route", pid, lambda: httpx.get(base + "/nothing/here"),
                                "GET /nothing/here"))
            rows.append(measure("8. other Origin", pid, lambda: httpx.get(
                base + "/api/health", headers={"Origin": "http://evil.example"}), "Origin: evil"))
            rows.append(measure("8. other Host", pid, lambda: httpx.get(
                base + "/api/health", headers={"Host": "evil.example"}), "Host: evil.example"))
        if want("connections"):
            rows.append(measure("7. 900 connections that never finish their headers", pid,
                                lambda: idle_connections("127.0.0.1", port), "half a request line each"))
            rows.append(measure("7. one connection dripping a byte every 2 s", pid,
                                lambda: dripping("127.0.0.1", port), ""))
            rows.append(measure("7. health right after", pid,
                                lambda: httpx.get(base + "/api/health", timeout=10), ""))
        if want("bigscan"):  # not an attack: what a large legitimate page costs
            from PIL import Image

            src = Image.open(io.BytesIO(scan)).convert("RGB")
            big = src.resize((int(src.width * 3.2), int(src.height * 3.2)), Image.Resampling.BICUBIC)
            buf = io.BytesIO()
            big.save(buf, format="JPEG", quality=90, dpi=(640, 640))
            data = buf.getvalue()
            rows.append(measure(f"the real scan resampled to {big.width} x {big.height}", pid,
                                lambda: post(base, data, timeout=600),
                                f"{len(data) / 1e6:.1f} MB JPEG, 3.2 x the 200 dpi scan"))
        report["rss_mb_end"] = rss_mb(pid)
    finally:
        proc.terminate()
        proc.wait(10)

    if want("token"):
        tproc, tbase, _ = start_server(2, 32, extra=["--token", TOKEN], headers={"X-Token": TOKEN})
        try:
            tport = int(tbase.rsplit(":", 1)[1])
            rows.append(measure("4. slow 24 MB upload without the token", tproc.pid,
                                lambda: slow_upload("127.0.0.1", tport), "1 MB every 0.25 s"))
            rows.append(measure("8. /openapi.json without the token", tproc.pid,
                                lambda: httpx.get(tbase + "/openapi.json"), ""))
            rows.append(measure("8. /docs (framing refused)", tproc.pid,
                                lambda: httpx.get(tbase + "/docs"), ""))
            rows.append(measure("8. ?token= in the URL", tproc.pid,
                                lambda: httpx.get(tbase + f"/api/health?token={TOKEN}"), ""))
        finally:
            tproc.terminate()
            tproc.wait(10)

    if want("store"):
        report["store"] = store_stream(scan)
    if want("paired") and args.baseline:
        report["paired"] = paired(args.baseline, args.dpi)
    report["load_avg_end"] = os.getloadavg()
    return report


def store_stream(scan: bytes, n: int = 24, cap_mb: float = 20.0) -> dict:
    """Large results one after another against ``--max-store-mb 20``: bytes stay under the cap."""
    proc, base, _ = start_server(2, 32, extra=["--max-store-mb", str(cap_mb)])
    try:
        first = post(base, scan).json()
        boxes = first["boxes"]
        px_per_s = first["calibration"]["px_per_mm"] * first["calibration"]["mm_per_s"]
        wide = max(boxes, key=lambda b: b["bbox"][2] - b["bbox"][0])
        # 24 more lead names, each box starting at the page's end: 36 leads x ~21 s x 2000 Hz
        page_s = first["image"]["width"] / px_per_s
        big = [{"lead": f"L{i}", "bbox": wide["bbox"], "t0": round(page_s, 1)} for i in range(24)]
        rss0, trace = rss_mb(proc.pid), []
        for k in range(n):
            r = post(base, scan, {"boxes": json.dumps(big), "fs": "2000"})
            h = httpx.get(base + "/api/health").json()
            trace.append({"status": r.status_code, "reply_mb": round(len(r.content) / 2**20, 1),
                          "results": h["results"], "results_mb": round(h["results_bytes"] / 2**20, 1),
                          "rss_mb": rss_mb(proc.pid)})
            print(json.dumps(trace[-1]), flush=True)
        return {"cap_mb": cap_mb, "rss_mb_before": rss0, "uploads": trace,
                "max_results_mb": max(t["results_mb"] for t in trace)}
    finally:
        proc.terminate()
        proc.wait(10)


def paired(baseline: str, dpi: float, repeat: int = 10) -> dict:
    """The ordinary 200 dpi upload, old and new server alternating (ABBA) on the same machine.

    Reports wall times as the client sees them and the server's CPU seconds per page
    (independent of the machine's load).
    """
    data = page_png(dpi)
    servers = {"baseline": start_server(2, 32, code_dir=baseline),
               "this": start_server(2, 32, code_dir=str(Path(__file__).resolve().parents[1]))}
    walls: dict[str, list[float]] = {k: [] for k in servers}
    try:
        for _, base, _ in servers.values():
            upload(base, data)  # lazy imports
        cpu0 = {name: cpu_s(proc.pid) for name, (proc, _, _) in servers.items()}
        for k in range(repeat):
            order = list(servers.items())
            for name, (_, base, _) in (order if k % 2 == 0 else order[::-1]):
                r = upload(base, data)
                assert r["status"] == 200, r
                walls[name].append(round(r["wall"], 2))
        cpu = {name: round((cpu_s(proc.pid) - cpu0[name]) / repeat, 3)
               for name, (proc, _, _) in servers.items()}
    finally:
        for proc, _, _ in servers.values():
            proc.terminate()
            proc.wait(10)
    return {"wall_s": walls, "median_s": {k: statistics.median(v) for k, v in walls.items()},
            "server_cpu_s_per_page": cpu, "load_avg": os.getloadavg()}
