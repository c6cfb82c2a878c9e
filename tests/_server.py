"""A live ``ecg-digitize serve`` on a free loopback port, for the web tests."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (Linux), independent of machine load."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


@contextlib.contextmanager
def serve(*extra: str, timeout_s: float = 60.0):
    """Run ``ecg-digitize serve`` with ``extra`` options until it answers /api/health.

    Yields (base URL, (start-up wall s, start-up CPU s), process); stops it on exit.
    """
    port = free_port()
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
            except urllib.error.HTTPError:
                break  # it answered (401 when a token is required): it is up
            except OSError:
                pass
            if time.perf_counter() - t0 > timeout_s:
                raise RuntimeError(f"server did not answer within {timeout_s:g} s")
            time.sleep(0.1)
        yield base, (time.perf_counter() - t0, cpu_seconds(proc.pid)), proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
