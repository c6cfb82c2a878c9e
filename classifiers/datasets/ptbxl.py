"""PTB-XL (500 Hz, 12 leads, 10 s): diagnostic superclasses and beats for the MI model.

Reads ``ECG_DATA_DIR/ptbxl`` (``ptbxl_database.csv``, ``scp_statements.csv``,
``records500/...``). Folds as PTB-XL recommends: ``strat_fold`` 1-8 train, 9 validation,
10 test.
"""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

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


def read_ptbxl_record(filename_hr: str, path: str | Path | None = None) -> tuple[np.ndarray, float]:
    """One record: ``(signal (5000, 12) mV, fs)`` in the standard lead order."""
    import wfdb

    rec = wfdb.rdrecord(str(_folder(path) / filename_hr))
    names = [n.upper() for n in rec.sig_name]  # PTB-XL spells AVR, AVL, AVF
    order = [names.index(lead.upper()) for lead in PTBXL_LEADS]
    return rec.p_signal[:, order], float(rec.fs)


def ptbxl_beats(signal: np.ndarray, fs: float, peak_lead: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Beats of every lead at the R peaks of lead II: ``(n_beats, n_leads, 187)``, peaks."""
    filt = bandpass(signal, fs)
    peaks = find_r_peaks(filt[:, peak_lead], fs)
    x125 = resample(filt, fs, BEAT_FS)
    r125 = np.clip(np.round(peaks * BEAT_FS / fs).astype(int), 0, x125.shape[0] - 1)
    beats = np.stack([beat_windows(x125[:, j], r125) for j in range(signal.shape[1])], axis=1)
    return beats, peaks


def load_ptbxl_beats(path: str | Path | None = None, cache: str | Path | None = None) -> dict:
    """Beats of all records with record-level labels and folds.

    Returns
    -------
    dict
        ``beats`` (n_beats, 12, 187) float32, ``beat_record`` (n_beats,) index into the
        record arrays; per record: ``ecg_id``, ``fold``, ``mi`` (0/1) and one 0/1 array per
        superclass.
    """
    if cache is not None and Path(cache).exists():
        return dict(np.load(cache))
    df = ptbxl_table(path)
    beats, owner = [], []
    for i, (ecg_id, row) in enumerate(df.iterrows()):
        sig, fs = read_ptbxl_record(row.filename_hr, path)
        b, _ = ptbxl_beats(sig, fs)
        beats.append(b)
        owner.append(np.full(len(b), i))
    out = {"beats": np.concatenate(beats).astype(np.float32),
           "beat_record": np.concatenate(owner).astype(np.int64),
           "ecg_id": df.index.to_numpy(), "fold": df.strat_fold.to_numpy(),
           "mi": df.MI.to_numpy().astype(np.int64)}
    for sc in SUPERCLASSES:
        out[sc] = df[sc].to_numpy().astype(np.int64)
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **out)
    return out


def load_ptbxl_measurements(path: str | Path | None = None, cache: str | Path | None = None) -> np.ndarray:
    """``(n_records, 72)`` MI measurements of every record's median beat (see
    :mod:`classifiers._mi_measurements`), in the order of :func:`ptbxl_table`, beats at
    lead II's R peaks as for :func:`load_ptbxl_beats`."""
    from .._mi_measurements import measurements, median_beat

    if cache is not None and Path(cache).exists():
        return np.load(cache)
    rows = []
    for _, row in ptbxl_table(path).iterrows():
        sig, fs = read_ptbxl_record(row.filename_hr, path)
        filt = bandpass(sig, fs)
        rows.append(measurements(median_beat(filt, fs, find_r_peaks(filt[:, 1], fs)), fs).ravel())
    out = np.array(rows)
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, out)
    return out
