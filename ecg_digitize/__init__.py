"""ecg-digitize: pictures of electrocardiograms to calibrated time series.

The top level stays light (numpy, scipy): image, rendering and neural parts load on use.

>>> import ecg_digitize
>>> ecg_digitize.STANDARD_LEADS[:3]
('I', 'II', 'III')
"""
from __future__ import annotations

import importlib

from .errors import (
    CalibrationError,
    DataNotFoundError,
    DigitizeError,
    EcgDigitizeError,
    ImageReadError,
    LayoutError,
    NotAnEcgError,
    RecordFormatError,
    RecordNameWarning,
)
from .record import STANDARD_LEADS, Calibration, Record, wfdb_record_name

__version__ = "0.1.0"

# name -> module that defines it; imported on first access (PEP 562).
_LAZY = {
    "digitize": "ecg_digitize.digitizer",
    "render": "ecg_digitize.synth",
    "snr": "ecg_digitize.metrics",
    "score_record": "ecg_digitize.metrics",
    "self_consistency": "ecg_digitize.metrics",
    "synth": "ecg_digitize.synth",
    "metrics": "ecg_digitize.metrics",
}


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        return module if _LAZY[name].endswith(name) else getattr(module, name)
    raise AttributeError(f"module 'ecg_digitize' has no attribute {name!r}")


__all__ = [
    "Record", "Calibration", "STANDARD_LEADS", "digitize", "render", "snr", "score_record",
    "self_consistency", "EcgDigitizeError", "DigitizeError", "ImageReadError",
    "NotAnEcgError", "CalibrationError", "LayoutError", "RecordFormatError",
    "DataNotFoundError", "RecordNameWarning", "wfdb_record_name",
]
