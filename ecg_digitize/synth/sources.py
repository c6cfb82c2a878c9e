"""Source signals for the renderer: simulated 12-lead ECG, PTB-XL, MIT-BIH, CinC 2017."""
from __future__ import annotations

import numpy as np

from ..datasets import dataset_path
from ..errors import DataNotFoundError
from ..record import STANDARD_LEADS


def simulate_12lead(duration: float = 10.0, fs: float = 500.0, heart_rate: float = 70.0,
                    seed: int | None = 0):
    """A data-free 12-lead ECG from ``neurokit2.ecg_simulate(method="multileads")``.

    The limb leads are rebuilt from I and II by Einthoven's and Goldberger's laws
    (III = II - I, aVR = -(I + II)/2, aVL = I - II/2, aVF = II - I/2), so the
    self-consistency score of a perfect digitization is perfect.

    Returns
    -------
    signal : ndarray (n, 12), mV
    fs : float
    leads : list of str

    Examples
    --------
    >>> from ecg_digitize.synth import simulate_12lead
    >>> sig, fs, leads = simulate_12lead(duration=2, seed=1)
    >>> sig.shape, fs, leads[:3]
    ((1000, 12), 500.0, ['I', 'II', 'III'])
    """
    import neurokit2 as nk

    df = nk.ecg_simulate(duration=int(np.ceil(duration)), sampling_rate=int(fs), heart_rate=heart_rate,
                         method="multileads", random_state=seed)
    sig = df[list(STANDARD_LEADS)].to_numpy(dtype=float, copy=True)[: int(round(duration * fs))]
    lead_i, lead_ii = sig[:, 0], sig[:, 1]
    sig[:, 2] = lead_ii - lead_i
    sig[:, 3] = -(lead_i + lead_ii) / 2
    sig[:, 4] = lead_i - lead_ii / 2
    sig[:, 5] = lead_ii - lead_i / 2
    return sig, float(fs), list(STANDARD_LEADS)


def ptbxl_records(folds=None) -> list[int]:
    """ecg_ids of the PTB-XL records present, optionally only those in ``folds``."""
    import pandas as pd

    root = dataset_path("ptbxl")
    db = pd.read_csv(root / "ptbxl_database.csv")
    if folds is not None:
        db = db[db["strat_fold"].isin(list(folds))]
    present = [int(i) for i, f in zip(db["ecg_id"], db["filename_hr"]) if (root / f"{f}.hea").exists()]
    return present


def load_ptbxl(ecg_id: int):
    """A PTB-XL record at 500 Hz: ``(signal (5000, 12) mV, fs, leads)`` with standard names."""
    import pandas as pd
    import wfdb

    root = dataset_path("ptbxl")
    db = pd.read_csv(root / "ptbxl_database.csv", index_col="ecg_id")
    if ecg_id not in db.index:
        raise DataNotFoundError(f"PTB-XL ecg_id {ecg_id} not in ptbxl_database.csv", str(root))
    rec = wfdb.rdrecord(str(root / db.loc[ecg_id, "filename_hr"]))
    names = [_standard_name(n) for n in rec.sig_name]
    order = [names.index(n) for n in STANDARD_LEADS]
    return rec.p_signal[:, order].astype(float), float(rec.fs), list(STANDARD_LEADS)


def _standard_name(name: str) -> str:
    lookup = {n.upper(): n for n in STANDARD_LEADS}
    return lookup.get(name.upper(), name)


def load_mitdb_segment(record: str | int, start: float = 0.0, duration: float = 10.0, channel: int = 0):
    """A single-lead MIT-BIH segment: ``(signal (n, 1), fs, [lead name])``."""
    import wfdb

    root = dataset_path("mitdb")
    hea = wfdb.rdheader(str(root / str(record)))
    s0 = int(start * hea.fs)
    rec = wfdb.rdrecord(str(root / str(record)), sampfrom=s0, sampto=s0 + int(duration * hea.fs),
                        channels=[channel])
    name = rec.sig_name[0].replace("MLII", "II")
    return rec.p_signal.astype(float), float(rec.fs), [name]


def load_cinc2017(name: str):
    """A CinC 2017 AliveCor record (300 Hz, one lead): ``(signal (n, 1), fs, ["I"])``.

    AliveCor records are lead I equivalents; values are converted to mV by the header gain.
    """
    import wfdb

    root = dataset_path("cinc2017") / "training2017"
    rec = wfdb.rdrecord(str(root / name))
    return rec.p_signal.astype(float), float(rec.fs), ["I"]
