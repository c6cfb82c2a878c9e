"""ecg-digitize: pictures of electrocardiograms to calibrated time series.

The top level stays light (numpy, scipy): image, rendering and neural parts load on use.

>>> import ecg_digitize
>>> ecg_digitize.STANDARD_LEADS[:3]
('I', 'II', 'III')
"""
from __future__ import annotations

import lazy_loader as lazy

from .errors import (
    CalibrationError,
    DataNotFoundError,
    DigitizeError,
    DigitizeInternalError,
    EcgDigitizeError,
    ImageReadError,
    LayoutError,
    NotAnEcgError,
    RecordFormatError,
    RecordNameWarning,
)
from .geometry import LeadBox, PageGeometry
from .record import STANDARD_LEADS, Calibration, Record, wfdb_record_name

__version__ = "0.1.0"

# loaded on first access (PEP 562, by scikit-image's lazy_loader)
__getattr__, _, _ = lazy.attach(__name__, submodules=["synth", "metrics"], submod_attrs={
    "digitizer": ["digitize"],
    "synth": ["render"],
    "metrics": ["snr", "score_record", "self_consistency"],
})

__all__ = [
    "Record", "Calibration", "PageGeometry", "LeadBox", "STANDARD_LEADS", "digitize", "render", "snr", "score_record",
    "self_consistency", "EcgDigitizeError", "DigitizeError", "DigitizeInternalError", "ImageReadError",
    "NotAnEcgError", "CalibrationError", "LayoutError", "RecordFormatError",
    "DataNotFoundError", "RecordNameWarning", "wfdb_record_name",
]


def __dir__() -> list[str]:
    return sorted(__all__)
