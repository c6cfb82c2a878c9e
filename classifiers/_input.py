"""Turn what a user passes (array or ``ecg_digitize.Record``) into one finite lead."""
from __future__ import annotations

import numpy as np

from ecg_digitize.processing import finite_runs


def _is_record(obj) -> bool:
    return hasattr(obj, "signal") and hasattr(obj, "leads") and hasattr(obj, "fs")


def select_lead(signal, fs: float | None = None, prefer: str = "II",
                min_seconds: float = 2.0) -> tuple[np.ndarray, float, int, str, list[str]]:
    """Pick one lead and its longest finite stretch.

    A Record gives lead ``prefer`` (II) when it holds at least ``min_seconds`` of plotted
    samples, otherwise the lead with the most plotted samples (a single-lead strip, or the
    rhythm strip of a 3x4+II page, which is the only lead plotted for the whole 10 s).
    A 2D array with 12 columns is taken in the standard order (column 1 is II); any other
    2D array gives its first column.

    Returns
    -------
    x, fs, offset, lead, warnings
        Samples, rate, index of ``x[0]`` in the input, lead name, notes.
    """
    warnings: list[str] = []
    if _is_record(signal):
        fs = float(signal.fs) if fs is None else float(fs)
        sig = np.asarray(signal.signal, dtype=float)
        names = list(signal.leads)
        counts = np.isfinite(sig).sum(axis=0)
        if prefer in names and counts[names.index(prefer)] >= min_seconds * fs:
            col = names.index(prefer)
        else:
            col = int(np.argmax(counts))
            if prefer in names:
                warnings.append(f"lead {prefer} has under {min_seconds:g} s plotted; using {names[col]}")
        x, lead = sig[:, col], names[col]
    else:
        if fs is None:
            raise ValueError("fs is required when the signal is an array")
        x = np.asarray(signal, dtype=float)
        if x.ndim == 2:
            col = 1 if x.shape[1] == 12 else 0
            lead = "II" if x.shape[1] == 12 else "column 0"
            x = x[:, col]
        elif x.ndim == 1:
            lead = "signal"
        else:
            raise ValueError(f"expected a 1D or 2D signal, got shape {x.shape}")
    runs = finite_runs(x)
    if not runs:
        raise ValueError("the selected lead has no finite samples")
    a, b = max(runs, key=lambda r: r[1] - r[0])
    if b - a < x.size:
        warnings.append(f"used the longest plotted stretch of lead {lead}: "
                        f"{(b - a) / fs:.2f} s of {x.size / fs:.2f} s")
    return x[a:b], float(fs), a, lead, warnings


def record_matrix(signal, fs: float | None, leads) -> tuple[np.ndarray, float, list[str]]:
    """``(samples x leads, fs, lead names)`` from a Record or a 2D array with ``leads``."""
    if _is_record(signal):
        return np.asarray(signal.signal, float), float(fs or signal.fs), list(signal.leads)
    if fs is None:
        raise ValueError("fs is required when the signal is an array")
    x = np.asarray(signal, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if leads is None:
        from .datasets.ptbxl import PTBXL_LEADS

        leads = list(PTBXL_LEADS) if x.shape[1] == 12 else ["II"] if x.shape[1] == 1 else None
        if leads is None:
            raise ValueError("pass leads= to name the columns of a multi-lead array")
    if len(leads) != x.shape[1]:
        raise ValueError(f"{len(leads)} lead names for {x.shape[1]} columns")
    return x, float(fs), [str(lead) for lead in leads]
