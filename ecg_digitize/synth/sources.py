"""Source signals for the renderer: a simulated 12-lead ECG, or records of PTB-XL, MIT-BIH and
CinC 2017 as ``(signal (n, leads) mV, fs, lead names)`` (read by :mod:`ecg_digitize.datasets`)."""
from __future__ import annotations

import numpy as np

from ..datasets import ptbxl_records, read_cinc2017, read_mitdb, read_ptbxl
from ..record import STANDARD_LEADS

__all__ = ["simulate_12lead", "ptbxl_records", "load_ptbxl", "load_mitdb_segment", "load_cinc2017"]


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


def load_ptbxl(ecg_id: int):
    """A PTB-XL record at 500 Hz: ``(signal (5000, 12) mV, fs, leads)`` with standard names
    (:func:`ecg_digitize.datasets.read_ptbxl`)."""
    signal, fs = read_ptbxl(ecg_id)
    return signal, fs, list(STANDARD_LEADS)


def load_mitdb_segment(record: str | int, start: float = 0.0, duration: float = 10.0, channel: int = 0):
    """A single-lead MIT-BIH segment: ``(signal (n, 1), fs, [lead name])`` (MLII called II)."""
    rec = read_mitdb(record, channel=channel, start=start, duration=duration)
    return rec["signal"][:, None], rec["fs"], [rec["lead"].replace("MLII", "II")]


def load_cinc2017(name: str):
    """A CinC 2017 AliveCor record (300 Hz, one lead): ``(signal (n, 1), fs, ["I"])``.

    AliveCor records are lead I equivalents, in mV (:func:`ecg_digitize.datasets.read_cinc2017`).
    """
    signal, fs = read_cinc2017(name)
    return signal[:, None], fs, ["I"]
