"""Write a Record's files atomically under the output folder, never outside it.

Each record is first written into a private staging folder inside ``out`` (same file
system), then every file is moved into place with :func:`os.replace`, which is atomic. A
file under its final name is therefore always complete; a record is complete when all of
its files are there. A killed run leaves at most a staging folder, which the next run
removes.
"""
from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path

from ..errors import EcgDigitizeError
from ..record import wfdb_record_name

FORMATS = ("wfdb", "csv", "json")
STATE_DIR = ".ecg-digitize"  # lock file and staging area, inside the output folder
_UNSAFE_DIR = re.compile(r"[^-\w. ]")


class OutputExistsError(EcgDigitizeError):
    """A record's output files already exist and neither resume nor overwrite was asked for."""


class OutputPathError(EcgDigitizeError):
    """An output name would fall outside the output folder."""


def record_name(rel: str, page: int = 0, n_pages: int = 1) -> str:
    """The output record path (relative to ``out``, no suffix) for an input's relative path.

    Folders are kept, unsafe characters become ``_``, ``..`` and absolute parts are
    dropped, so the name can never leave ``out``. Pages of multi-page files get
    ``_p001``, ``_p002``, ... (1-based, as printed on the page).

    Examples
    --------
    >>> record_name("ward 3/2019/scan 01.png")
    'ward 3/2019/scan_01'
    >>> record_name("../../etc/passwd")
    'etc/passwd'
    >>> record_name("report.pdf", page=1, n_pages=3)
    'report_p002'
    """
    parts = [p for p in re.split(r"[\\/]+", rel) if p not in ("", ".", "..")]
    if not parts:
        parts = ["page"]
    *dirs, name = parts
    stem = os.path.splitext(name)[0] or name
    stem = wfdb_record_name(stem, default="page")
    if n_pages > 1:
        stem = f"{stem}_p{page + 1:03d}"
    dirs = [_UNSAFE_DIR.sub("_", d).lstrip(".") or "_" for d in dirs]
    return "/".join(dirs + [stem])


def output_files(out: str | os.PathLike, name: str, formats) -> list[Path]:
    """Final paths of a record's files, in the order they are committed.

    The WFDB header goes last: a header only appears once its data file is in place.

    Examples
    --------
    >>> [p.name for p in output_files("out", "a/b", ["json", "wfdb"])]
    ['b.json', 'b.dat', 'b.hea']
    """
    base = safe_path(out, name)
    files = []
    if "csv" in formats:
        files.append(base.with_name(base.name + ".csv"))
    if "json" in formats:
        files.append(base.with_name(base.name + ".json"))
    if "wfdb" in formats:
        files += [base.with_name(base.name + ".dat"), base.with_name(base.name + ".hea")]
    return files


def safe_path(out: str | os.PathLike, name: str) -> Path:
    """``out / name``, refusing any name that resolves outside ``out`` (symlinks included)."""
    root = os.path.realpath(out)
    target = os.path.realpath(os.path.join(root, name))
    if os.path.commonpath([root, target]) != root or target == root:
        raise OutputPathError(f"output name {name!r} would fall outside the output folder", str(out))
    return Path(target)


def is_complete(out: str | os.PathLike, name: str, formats) -> bool:
    """True when every file of the record is in place (each was moved in atomically)."""
    return all(p.is_file() for p in output_files(out, name, formats))


def refuse_existing(out: str | os.PathLike, name: str, formats, source: str | None = None) -> None:
    """Raise :class:`OutputExistsError` where any of the record's files is already there."""
    existing = [p for p in output_files(out, name, formats) if p.exists()]
    if existing:
        raise OutputExistsError(f"{existing[0]} exists (pass --resume or --overwrite)", source)


def staging_root(out: str | os.PathLike) -> Path:
    return Path(out) / STATE_DIR / "tmp"


def write_record(record, out: str | os.PathLike, name: str, formats, *, replace: bool = False) -> list[Path]:
    """Write ``record`` as ``out/name.{hea,dat,csv,json}`` atomically.

    Parameters
    ----------
    record : Record
    out : path-like
        Output folder.
    name : str
        Record path relative to ``out`` (from :func:`record_name`).
    formats : iterable of {"wfdb", "csv", "json"}
    replace : bool
        Replace existing files (``--overwrite`` / ``--resume``); otherwise an existing
        file raises :class:`OutputExistsError` and nothing is written.

    Returns
    -------
    list of Path
        The files written.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from ecg_digitize import Record
    >>> out = tempfile.mkdtemp()
    >>> rec = Record(np.zeros((500, 1)), fs=500, leads=["II"])
    >>> [p.name for p in write_record(rec, out, "x/y", ["wfdb", "json"])]
    ['y.json', 'y.dat', 'y.hea']
    """
    final = output_files(out, name, formats)
    if not replace:
        refuse_existing(out, name, formats, record.source or None)
    stage = staging_root(out) / uuid.uuid4().hex
    stage.mkdir(parents=True)
    try:
        stem = final[0].name.rsplit(".", 1)[0] if final else "record"
        if "csv" in formats:
            record.to_csv(stage / f"{stem}.csv")
        if "json" in formats:
            record.to_json(stage / f"{stem}.json")
        if "wfdb" in formats:
            record.to_wfdb(stage, stem)
        final[0].parent.mkdir(parents=True, exist_ok=True)
        for path in final:
            os.replace(stage / path.name, path)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return final
