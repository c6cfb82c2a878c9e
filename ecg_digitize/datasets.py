"""Where real data lives: ``ECG_DATA_DIR`` (default ``../shared/data`` beside the project).

Nothing here downloads anything; the data sets are read in their PhysioNet layouts.
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import DataNotFoundError

_PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Return the data folder: ``$ECG_DATA_DIR`` or ``<project>/../shared/data``."""
    env = os.environ.get("ECG_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return (_PROJECT_ROOT.parent / "shared" / "data").resolve()


def dataset_path(name: str) -> Path:
    """Return ``data_dir() / name``, raising :class:`DataNotFoundError` when absent.

    Examples
    --------
    >>> from ecg_digitize.datasets import dataset_path
    >>> dataset_path("ptbxl")  # doctest: +SKIP
    PosixPath('/work/shared/data/ptbxl')
    """
    path = data_dir() / name
    if not path.exists():
        raise DataNotFoundError(
            f"data set '{name}' not found; set ECG_DATA_DIR to the folder holding it",
            str(path),
        )
    return path


def has_dataset(name: str) -> bool:
    """True when ``data_dir() / name`` exists (used by tests to skip cleanly)."""
    return (data_dir() / name).exists()


IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})


def unique_images(folder: str | Path, *, recursive: bool = True) -> list[Path]:
    """Image files under ``folder``, sorted, keeping the first of each byte-identical set.

    Some public sets (khan2021) repeat the same file under other names; counting them
    twice would inflate any score, so de-duplicate by content hash before splitting.
    """
    import hashlib

    paths = Path(folder).rglob("*") if recursive else Path(folder).iterdir()
    seen, out = set(), []
    for path in sorted(paths):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            out.append(path)
    return out
