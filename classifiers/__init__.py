"""Pretrained 1D ECG classifiers: beats (AAMI), rhythm (CinC 2017 AF) and myocardial infarction.

Importing this package is light: Keras and TensorFlow load on the first classification.

>>> import classifiers
>>> classifiers.AAMI_CLASSES
('N', 'S', 'V', 'F', 'Q')

Main functions
--------------
classify_beats(signal, fs, r_peaks=None) -> pandas.DataFrame
classify_rhythm(signal, fs) -> RhythmResult
detect_mi(signal, fs, leads=None) -> MIResult
segment_long_term(signal, fs) -> [(start, end, "V" | "F"), ...]
load_model(name), available_models(), model_path(name)
"""
from __future__ import annotations

import lazy_loader as lazy

from .datasets.cinc2017 import RHYTHM_CLASSES
from .datasets.mitdb import AAMI_CLASSES

# loaded on first access (PEP 562, by scikit-image's lazy_loader)
__getattr__, _, _ = lazy.attach(__name__, submod_attrs={
    "beats": ["classify_beats"],
    "rhythm": ["classify_rhythm", "RhythmResult"],
    "mi": ["detect_mi", "MIResult"],
    "longterm": ["segment_long_term", "plot_long_term"],
    "_models": ["load_model", "available_models"],
    "_registry": ["model_path"],
})

__all__ = ["classify_beats", "classify_rhythm", "detect_mi", "segment_long_term", "plot_long_term",
           "load_model", "available_models", "model_path",
           "RhythmResult", "MIResult", "AAMI_CLASSES", "RHYTHM_CLASSES"]


def __dir__() -> list[str]:
    return sorted(__all__)
