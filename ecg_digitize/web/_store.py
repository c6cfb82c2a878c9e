"""Results kept in memory under random ids, expiring after a time-to-live.

Nothing is written to a shared folder: downloads are built on request in a private
temporary directory that is removed at once.
"""
from __future__ import annotations

import io
import re
import secrets
import tempfile
import threading
import time
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

# token_urlsafe(18) gives 24 characters (144 random bits): not guessable, safe in a URL.
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{24}$")


@dataclass
class Entry:
    """One stored result: the Record, a small preview of the page and when it expires."""

    record: Any
    preview: bytes | None
    expires: float
    extra: dict[str, Any] = field(default_factory=dict)
    nbytes: int = 0


ENTRY_OVERHEAD = 64 * 1024  # metadata, boxes and Python objects around the arrays


def entry_bytes(record: Any, preview: bytes | None) -> int:
    """Bytes a stored result holds: its arrays (signal, any in ``geometry``) and preview."""
    total = ENTRY_OVERHEAD + len(preview or b"")
    signal = getattr(record, "signal", None)
    total += int(getattr(signal, "nbytes", 0))
    geometry = getattr(record, "geometry", None)
    for value in (vars(geometry).values() if geometry is not None else ()):
        total += int(getattr(value, "nbytes", 0))
    return total


class ResultStore:
    """Thread-safe store of digitized Records with expiry and a size cap.

    Parameters
    ----------
    ttl_s : float
        Seconds a result stays downloadable (default one hour).
    max_items : int
        Oldest results are dropped beyond this many, so memory stays bounded under load.
    max_bytes : int
        Oldest results are dropped while the results hold more bytes than this
        (:func:`entry_bytes`); a result larger than the whole cap is not kept at all.
    clock : callable
        Monotonic time source (tests pass a fake one).
    """

    def __init__(self, ttl_s: float = 3600.0, max_items: int = 200,
                 max_bytes: int = 256 * 2**20, clock: Callable[[], float] = time.monotonic):
        self.ttl_s, self.max_items, self._clock = float(ttl_s), int(max_items), clock
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[str, Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._bytes = 0

    @property
    def nbytes(self) -> int:
        """Bytes held by the stored results now (as :func:`entry_bytes` counts them)."""
        with self._lock:
            self._purge()
            return self._bytes

    def put(self, record: Any, preview: bytes | None = None, **extra: Any) -> str:
        """Store a result and return its new random id (dropping the oldest beyond the caps)."""
        rid = secrets.token_urlsafe(18)
        size = entry_bytes(record, preview)
        with self._lock:
            self._purge()
            self._items[rid] = Entry(record, preview, self._clock() + self.ttl_s, extra, size)
            self._bytes += size
            while self._items and (len(self._items) > self.max_items or self._bytes > self.max_bytes):
                _, old = self._items.popitem(last=False)
                self._bytes -= old.nbytes
        return rid

    def get(self, rid: str) -> Entry | None:
        """The entry for ``rid``, or None when unknown, malformed or expired."""
        if not _ID_RE.match(rid or ""):
            return None
        with self._lock:
            self._purge()
            return self._items.get(rid)

    def __len__(self) -> int:
        with self._lock:
            self._purge()
            return len(self._items)

    def _purge(self) -> None:
        now = self._clock()
        for rid in [r for r, e in self._items.items() if e.expires <= now]:
            self._bytes -= self._items.pop(rid).nbytes


def export(record: Any, fmt: str, name: str = "ecg") -> tuple[bytes, str]:
    """Serialise a Record as ``zip`` (WFDB .hea/.dat + JSON), ``csv`` or ``json``.

    Returns the bytes and their media type.
    """
    with tempfile.TemporaryDirectory(prefix="ecgweb-") as tmp:
        folder = Path(tmp)
        if fmt == "csv":
            return record.to_csv(folder / "x.csv").read_bytes(), "text/csv; charset=utf-8"
        if fmt == "json":
            data = record.to_json(folder / "x.json", include_signal=True).read_bytes()
            return data, "application/json"
        if fmt == "zip":
            record.to_wfdb(folder, name)
            record.to_json(folder / f"{name}.json")
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                for path in sorted(folder.iterdir()):
                    zf.write(path, arcname=path.name)
            return buf.getvalue(), "application/zip"
    raise ValueError(f"unknown format {fmt!r}")
