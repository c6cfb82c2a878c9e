"""Where real data lives: ``ECG_DATA_DIR`` (default ``../shared/data`` beside the project).

Nothing here downloads anything; the data sets are read in their PhysioNet layouts.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

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


# ---------------------------------------------------------------- record readers
# The one place the PhysioNet sets are read; the renderer's sources (``synth``) and the
# classifiers' training sets (``classifiers.datasets``) both build on these.


def ptbxl_records(folds=None, *, root: str | Path | None = None) -> list[int]:
    """ecg_ids of the PTB-XL records present, optionally only those in ``folds``
    (``strat_fold`` 1-8 train, 9 validation, 10 test)."""
    import pandas as pd

    base = Path(root) if root is not None else dataset_path("ptbxl")
    db = pd.read_csv(base / "ptbxl_database.csv")
    if folds is not None:
        db = db[db["strat_fold"].isin(list(folds))]
    return [int(i) for i, f in zip(db["ecg_id"], db["filename_hr"]) if (base / f"{f}.hea").exists()]


def read_ptbxl(ecg_id: int | None = None, *, filename: str | None = None,
               root: str | Path | None = None) -> tuple[np.ndarray, float]:
    """One PTB-XL record at 500 Hz: ``(signal (5000, 12) mV, fs)``, columns in the
    standard lead order (PTB-XL spells AVR, AVL, AVF). Give ``ecg_id`` or the table's
    ``filename`` (``filename_hr``).

    Examples
    --------
    >>> from ecg_digitize.datasets import read_ptbxl
    >>> signal, fs = read_ptbxl(1)  # doctest: +SKIP
    >>> signal.shape, fs  # doctest: +SKIP
    ((5000, 12), 500.0)
    """
    import wfdb

    from .record import STANDARD_LEADS

    base = Path(root) if root is not None else dataset_path("ptbxl")
    if filename is None:
        import pandas as pd

        db = pd.read_csv(base / "ptbxl_database.csv", index_col="ecg_id")
        if ecg_id not in db.index:
            raise DataNotFoundError(f"PTB-XL ecg_id {ecg_id} not in ptbxl_database.csv", str(base))
        filename = db.loc[ecg_id, "filename_hr"]
    rec = wfdb.rdrecord(str(base / filename))
    names = [n.upper() for n in rec.sig_name]
    order = [names.index(lead.upper()) for lead in STANDARD_LEADS]
    return rec.p_signal[:, order].astype(float), float(rec.fs)


def read_mitdb(record: int | str, *, channel: int | str = "MLII", start: float = 0.0,
               duration: float | None = None, root: str | Path | None = None) -> dict:
    """One MIT-BIH record's lead and its annotations.

    Parameters
    ----------
    record : int or str
        The record (``100``).
    channel : int or str
        A channel number or name; ``"MLII"`` falls back to channel 0 where a record
        lacks it (in record 114 the leads are swapped).
    start, duration : float
        Seconds to read (default: all).

    Returns
    -------
    dict
        ``signal`` (mV), ``fs``, ``lead`` (its name), ``symbols`` and ``samples`` of every
        annotation in the stretch (samples counted from ``start``).
    """
    import wfdb

    base = Path(root) if root is not None else dataset_path("mitdb")
    name = str(base / str(record))
    header = wfdb.rdheader(name)
    if isinstance(channel, str):
        channel = header.sig_name.index(channel) if channel in header.sig_name else 0
    s0 = int(start * header.fs)
    s1 = header.sig_len if duration is None else min(header.sig_len, s0 + int(duration * header.fs))
    rec = wfdb.rdrecord(name, sampfrom=s0, sampto=s1, channels=[channel])
    whole = s0 == 0 and s1 == header.sig_len
    ann = wfdb.rdann(name, "atr") if whole else wfdb.rdann(name, "atr", sampfrom=s0, sampto=s1, shift_samps=True)
    return {"signal": rec.p_signal[:, 0].astype(float), "fs": float(rec.fs), "lead": rec.sig_name[0],
            "symbols": np.asarray(ann.symbol), "samples": np.asarray(ann.sample, dtype=int)}


def read_cinc2017(record: str, *, root: str | Path | None = None) -> tuple[np.ndarray, float]:
    """One CinC 2017 AliveCor recording (a lead I equivalent): ``(signal mV, 300.0)``
    (1000 ADC units per mV, as in the headers)."""
    from scipy.io import loadmat

    base = Path(root) if root is not None else dataset_path("cinc2017") / "training2017"
    return loadmat(str(base / f"{record}.mat"))["val"][0].astype(float) / 1000.0, 300.0
