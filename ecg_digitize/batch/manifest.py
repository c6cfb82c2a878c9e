"""The batch manifest: one JSON Lines row per page, appended as each page finishes.

Rows are flushed one at a time, so a killed run loses at most the row being written (a
torn last line is ignored on reading). A resumed run appends to the same file; a page
retried in a later run has several rows and the last one is its current state
(``read_manifest(latest=True)``).

Row fields: ``input`` (absolute path), ``page`` (0-based), ``n_pages``, ``output``
(record path under ``--out``, no suffix), ``status`` (``ok`` / ``failed`` /
``skipped``), ``error`` (exception class), ``message``, ``layout``, ``quality``
(overall score), ``verdict`` (``good`` / ``check`` / ``failed``: see docs/digitizer.md; a
failed page's is ``failed``), ``expected_snr_db`` (the quality model's expected SNR), ``seconds`` (digitize + write, in the worker), ``finished`` (UTC time),
and with ``--classify`` the classifier outputs under ``classify``.
"""
from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

MANIFEST_NAME = "manifest.jsonl"
FIELDS = ("input", "page", "n_pages", "output", "status", "error", "message", "layout",
          "quality", "verdict", "expected_snr_db", "seconds", "finished")


def page_key(path: str, page: int) -> int:
    """64-bit hash of ``path#page``: keeps the resume index at 8 bytes of payload per page."""
    return int.from_bytes(hashlib.blake2b(f"{path}#{page}".encode(), digest_size=8).digest(), "little")


class ManifestWriter:
    """Append rows to ``out/manifest.jsonl``.

    Parameters
    ----------
    path : path-like
    mode : {"a", "w"}
        Append (new run or resume) or start afresh (overwrite).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "manifest.jsonl")
    >>> with ManifestWriter(path) as m:
    ...     m.write({"input": "/a.png", "page": 0, "status": "ok"})
    >>> [r["status"] for r in read_manifest(path)]
    ['ok']
    """

    def __init__(self, path: str | os.PathLike, mode: str = "a"):
        self.path = Path(path)
        self._fh = self.path.open(mode, encoding="utf-8")
        # A previous run killed mid-line leaves a torn row; start ours on a fresh line.
        if mode == "a" and self._fh.tell() > 0:
            with self.path.open("rb") as fh:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    self._fh.write("\n")

    def write(self, row: dict[str, Any]) -> None:
        row = {k: row.get(k) for k in FIELDS} | {k: v for k, v in row.items() if k not in FIELDS}
        row["finished"] = row["finished"] or datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        self._fh.write(json.dumps(row, default=str) + "\n")
        self._fh.flush()  # in the OS once flushed: survives SIGKILL of this process

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()

    def __enter__(self) -> "ManifestWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def iter_rows(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """Yield the manifest's rows, skipping a torn (unparseable) line left by a kill."""
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue


def read_manifest(path: str | os.PathLike, *, latest: bool = True) -> list[dict[str, Any]]:
    """Read a manifest; with ``latest`` keep only the last row of each page.

    Parameters
    ----------
    path : path-like
        ``manifest.jsonl`` or the output folder holding it.
    latest : bool
        Collapse retried pages to their most recent row (in first-seen order).

    Returns
    -------
    list of dict

    Examples
    --------
    >>> rows = read_manifest("converted/")  # doctest: +SKIP
    >>> import pandas as pd; pd.DataFrame(rows).groupby("status").size()  # doctest: +SKIP
    """
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    rows = list(iter_rows(path))
    if not latest:
        return rows
    last: dict[tuple, dict] = {}
    for row in rows:
        key = (row.get("input"), row.get("page"))
        last.pop(key, None)  # re-insert so the order follows the latest row
        last[key] = row
    return list(last.values())


def settled_keys(path: str | os.PathLike) -> set[int]:
    """Hashes of pages already recorded as ``ok`` or ``skipped`` (used by ``--resume``)."""
    path = Path(path)
    if not path.exists():
        return set()
    return {page_key(r.get("input", ""), r.get("page", 0)) for r in iter_rows(path)
            if r.get("status") in ("ok", "skipped")}
