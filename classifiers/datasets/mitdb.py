"""MIT-BIH Arrhythmia Database: beats, AAMI EC57 classes and the de Chazal split.

Reads the PhysioNet layout (``NNN.hea/.dat/.atr``) under ``ECG_DATA_DIR/mitdb``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ecg_digitize.datasets import read_mitdb

from .._preprocess import prepare_beats

AAMI_CLASSES = ("N", "S", "V", "F", "Q")
FS = 360.0  # the database's sampling rate: ``r_peak`` samples are at this rate

# AAMI EC57 grouping of MIT-BIH beat annotation symbols.
AAMI_MAP = {
    "N": "N", "L": "N", "R": "N", "e": "N", "j": "N", "B": "N",
    "A": "S", "a": "S", "J": "S", "S": "S",
    "V": "V", "E": "V",
    "F": "F",
    "/": "Q", "f": "Q", "Q": "Q",
}
# Every beat symbol (including unclassifiable '?' and 'r') counts for RR intervals.
_BEAT_SYMBOLS = set(AAMI_MAP) | {"?", "r", "n"}

# de Chazal et al. 2004 inter-patient split; paced records 102 104 107 217 are excluded
# from both, as AAMI EC57 recommends.
DS1 = (101, 106, 108, 109, 112, 114, 115, 116, 118, 119, 122, 124, 201, 203, 205, 207,
       208, 209, 215, 220, 223, 230)
DS2 = (100, 103, 105, 111, 113, 117, 121, 123, 200, 202, 210, 212, 213, 214, 219, 221,
       222, 228, 231, 232, 233, 234)
PACED = (102, 104, 107, 217)
ALL_RECORDS = tuple(sorted(DS1 + DS2 + PACED))


def load_mitdb_record(record: int | str, path: str | Path | None = None) -> dict:
    """Load one MIT-BIH record as model-ready beats.

    Parameters
    ----------
    record : int or str
        Record number, e.g. ``100``.
    path : str or Path, optional
        The ``mitdb`` folder; default ``dataset_path("mitdb")``.

    Returns
    -------
    dict
        ``beats`` (n, 187) float32, ``rr`` (n, 5) float32, ``label`` (n,) int index into
        :data:`AAMI_CLASSES`, ``r_peak`` (n,) sample at :data:`FS` (360 Hz), ``record`` (n,) int.

    Examples
    --------
    >>> from classifiers.datasets import load_mitdb_record
    >>> d = load_mitdb_record(100)  # doctest: +SKIP
    >>> d["beats"].shape  # doctest: +SKIP
    (2273, 187)
    """
    rec = read_mitdb(record, root=path)
    x, fs, sym, samp = rec["signal"], rec["fs"], rec["symbols"], rec["samples"]
    is_beat = np.isin(sym, list(_BEAT_SYMBOLS))
    sym, samp = sym[is_beat], samp[is_beat]
    beats, rr, _ = prepare_beats(x, fs, r_peaks=samp)
    keep = np.isin(sym, list(AAMI_MAP))
    label = np.array([AAMI_CLASSES.index(AAMI_MAP[s]) for s in sym[keep]], dtype=np.int64)
    return {
        "beats": beats[keep], "rr": rr[keep], "label": label, "r_peak": samp[keep],
        "record": np.full(label.size, int(record), dtype=np.int64),
    }


def load_mitdb(records=ALL_RECORDS, path: str | Path | None = None,
               cache: str | Path | None = None) -> dict:
    """Load and stack the beats of several MIT-BIH records.

    Parameters
    ----------
    records : iterable of int
        Record numbers; e.g. :data:`DS1`, :data:`DS2` or :data:`ALL_RECORDS`.
    path : str or Path, optional
        The ``mitdb`` folder; default ``dataset_path("mitdb")``.
    cache : str or Path, optional
        An ``.npz`` file to read from when present and to write otherwise.

    Returns
    -------
    dict
        The arrays of :func:`load_mitdb_record`, concatenated.

    Examples
    --------
    >>> from classifiers.datasets import load_mitdb, DS1
    >>> ds1 = load_mitdb(DS1)  # doctest: +SKIP
    """
    records = tuple(int(r) for r in records)
    if cache is not None and Path(cache).exists():
        data = dict(np.load(cache))
        if set(np.unique(data["record"]).tolist()) == set(records):
            return data
    parts = [load_mitdb_record(r, path) for r in records]
    data = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **data)
    return data
