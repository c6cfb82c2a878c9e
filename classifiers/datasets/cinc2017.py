"""PhysioNet/CinC Challenge 2017 (AliveCor single lead, 300 Hz): records and rhythm labels.

Reads ``ECG_DATA_DIR/cinc2017/training2017`` (``A00001.mat/.hea`` and ``REFERENCE.csv``).
Our held-out test fold is every record whose number is divisible by 5 (A00005, A00010,
...): never trained on, never used for early stopping.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ecg_digitize.datasets import read_cinc2017

from .._preprocess import hrv_features, prepare_rhythm_signal

RHYTHM_CLASSES = ("N", "A", "O", "~")
CINC_FS = 300.0


def _folder(path) -> Path:
    from ecg_digitize.datasets import dataset_path

    return Path(path) if path is not None else dataset_path("cinc2017") / "training2017"


def cinc2017_labels(path: str | Path | None = None) -> "pandas.DataFrame":
    """``REFERENCE.csv`` as a table: ``record``, ``label`` (N/A/O/~), ``number``, ``test_fold``.

    Examples
    --------
    >>> from classifiers.datasets import cinc2017_labels
    >>> ref = cinc2017_labels()  # doctest: +SKIP
    >>> ref.label.value_counts()["A"]  # doctest: +SKIP
    738
    """
    import pandas as pd

    ref = pd.read_csv(_folder(path) / "REFERENCE.csv", header=None, names=["record", "label"])
    ref["number"] = ref.record.str[1:].astype(int)
    ref["test_fold"] = ref.number % 5 == 0
    return ref


def cinc2017_split(labels: np.ndarray, test_fold: np.ndarray, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation indices of the non-test records, as ``cinc2017-af`` was trained.

    A stratified 10 % of the records outside the test fold is the validation set (early
    stopping, model choices); the rest is the training set. The test fold is in neither.

    Parameters
    ----------
    labels : ndarray of int
        Class index per record, in ``REFERENCE.csv`` order.
    test_fold : ndarray of bool
        True for the held-out test records (number divisible by 5).
    seed : int
        The draw of the validation records (``cinc2017-af`` used 0).

    Returns
    -------
    train_idx, val_idx : ndarray of int
        Sorted training indices and the validation indices (grouped by class).

    Examples
    --------
    >>> import numpy as np
    >>> from classifiers.datasets.cinc2017 import cinc2017_split
    >>> y = np.arange(100) % 4; test = np.arange(100) % 5 == 0
    >>> tr, va = cinc2017_split(y, test)
    >>> len(tr), len(va), bool(test[tr].any() or test[va].any())
    (72, 8, False)
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    pool = np.flatnonzero(~np.asarray(test_fold, dtype=bool))
    val_idx = np.concatenate([rng.permutation(pool[labels[pool] == c])[:int(0.1 * (labels[pool] == c).sum())]
                              for c in range(len(RHYTHM_CLASSES))])
    return np.setdiff1d(pool, val_idx), val_idx


def load_cinc2017(path: str | Path | None = None, cache: str | Path | None = None,
                  limit: int | None = None, progress: bool = True) -> dict:
    """Load every recording, prepared for the rhythm model (100 Hz, scaled) with RR features.

    Parameters
    ----------
    path : str or Path, optional
        The ``training2017`` folder; default under ``dataset_path("cinc2017")``.
    cache : str or Path, optional
        An ``.npz`` file (no pickles: signals stored concatenated with offsets).
    limit : int, optional
        Only the first ``limit`` records (tests).
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    dict
        ``signals`` (list of float32 arrays at 100 Hz), ``hrv`` (n, 8), ``label`` (n,)
        index into :data:`RHYTHM_CLASSES`, ``record`` (n,) names, ``test_fold`` (n,) bool.
    """
    ref = cinc2017_labels(path)
    if limit is not None:
        ref = ref.iloc[:limit]
    if cache is not None and Path(cache).exists():
        z = np.load(cache)
        if z["record"].size == len(ref):
            sigs = np.split(z["flat"], z["offsets"][1:-1])
            return {"signals": sigs, "hrv": z["hrv"], "label": z["label"],
                    "record": z["record"], "test_fold": z["test_fold"]}
    from tqdm import tqdm

    sigs, hrv = [], []
    for rec in tqdm(ref.record, disable=not progress, mininterval=10):
        s = prepare_rhythm_signal(read_cinc2017(rec, root=_folder(path))[0], CINC_FS)
        sigs.append(s)
        hrv.append(hrv_features(s))
    out = {"signals": sigs, "hrv": np.stack(hrv).astype(np.float32),
           "label": np.array([RHYTHM_CLASSES.index(lab) for lab in ref.label], dtype=np.int64),
           "record": ref.record.to_numpy().astype(str), "test_fold": ref.test_fold.to_numpy()}
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        offsets = np.concatenate([[0], np.cumsum([s.size for s in sigs])])
        np.savez(cache, flat=np.concatenate(sigs), offsets=offsets, hrv=out["hrv"],
                 label=out["label"], record=out["record"], test_fold=out["test_fold"])
    return out
