"""PTB-XL (500 Hz, 12 leads, 10 s): diagnostic superclasses and beats for the MI model.

Reads ``ECG_DATA_DIR/ptbxl`` (``ptbxl_database.csv``, ``scp_statements.csv``,
``records500/...``). Folds as PTB-XL recommends: ``strat_fold`` 1-8 train, 9 validation,
10 test.
"""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

from ecg_digitize.datasets import read_ptbxl

from .._preprocess import BEAT_FS, bandpass, beat_windows, find_r_peaks, resample

SUPERCLASSES = ("NORM", "MI", "STTC", "CD", "HYP")
PTBXL_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


def _folder(path) -> Path:
    from ecg_digitize.datasets import dataset_path

    return Path(path) if path is not None else dataset_path("ptbxl")


def ptbxl_table(path: str | Path | None = None) -> "pandas.DataFrame":
    """The database table with one boolean column per diagnostic superclass.

    A record belongs to a superclass when any of its ``scp_codes`` is a diagnostic
    statement of that class (any likelihood), as in the PTB-XL benchmark code.

    Examples
    --------
    >>> from classifiers.datasets import ptbxl_table
    >>> df = ptbxl_table()  # doctest: +SKIP
    >>> int(df.MI.sum())  # doctest: +SKIP
    73
    """
    import pandas as pd

    base = _folder(path)
    df = pd.read_csv(base / "ptbxl_database.csv", index_col="ecg_id")
    scp = pd.read_csv(base / "scp_statements.csv", index_col=0)
    scp = scp[scp.diagnostic == 1]
    codes = df.scp_codes.apply(ast.literal_eval)
    for sc in SUPERCLASSES:
        keys = set(scp.index[scp.diagnostic_class == sc])
        df[sc] = codes.apply(lambda c, k=keys: any(code in k for code in c))
    return df


def ptbxl_beats(signal: np.ndarray, fs: float, peak_lead: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Beats of every lead at the R peaks of lead II: ``(n_beats, n_leads, 187)``, peaks."""
    filt = bandpass(signal, fs)
    peaks = find_r_peaks(filt[:, peak_lead], fs)
    return _beats_at(filt, fs, peaks), peaks


def _beats_at(filt: np.ndarray, fs: float, peaks: np.ndarray) -> np.ndarray:
    x125 = resample(filt, fs, BEAT_FS)
    r125 = np.clip(np.round(peaks * BEAT_FS / fs).astype(int), 0, x125.shape[0] - 1)
    return np.stack([beat_windows(x125[:, j], r125) for j in range(filt.shape[1])], axis=1)


def load_ptbxl_beats(path: str | Path | None = None, cache: str | Path | None = None) -> dict:
    """Beats and MI measurements of all records, with record-level labels and folds.

    Returns
    -------
    dict
        ``beats`` (n_beats, 12, 187) float32, ``beat_record`` (n_beats,) index into the
        record arrays; per record: ``ecg_id``, ``fold``, ``mi`` (0/1), one 0/1 array per
        superclass, and ``measurements`` (n_records, 72): the MI measurements of the
        record's median beat (:mod:`classifiers._mi_measurements`).
    """
    from .._mi_measurements import measurements, median_beat

    if cache is not None and Path(cache).exists():
        cached = dict(np.load(cache))
        if "measurements" in cached:  # caches written before the measurements: made again
            return cached
    df = ptbxl_table(path)
    beats, owner, measured = [], [], []
    for i, (ecg_id, row) in enumerate(df.iterrows()):
        sig, fs = read_ptbxl(filename=row.filename_hr, root=_folder(path))
        filt = bandpass(sig, fs)
        peaks = find_r_peaks(filt[:, 1], fs)
        b = _beats_at(filt, fs, peaks)
        beats.append(b)
        owner.append(np.full(len(b), i))
        measured.append(measurements(median_beat(filt, fs, peaks), fs).ravel())
    out = {"beats": np.concatenate(beats).astype(np.float32),
           "beat_record": np.concatenate(owner).astype(np.int64),
           "ecg_id": df.index.to_numpy(), "fold": df.strat_fold.to_numpy(),
           "mi": df.MI.to_numpy().astype(np.int64), "measurements": np.array(measured)}
    for sc in SUPERCLASSES:
        out[sc] = df[sc].to_numpy().astype(np.int64)
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **out)
    return out
