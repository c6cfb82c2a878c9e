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
load_model(name), available_models()
"""
from __future__ import annotations

import importlib

from .datasets.cinc2017 import RHYTHM_CLASSES
from .datasets.mitdb import AAMI_CLASSES

_LAZY = {
    "classify_beats": "classifiers.beats",
    "classify_rhythm": "classifiers.rhythm",
    "RhythmResult": "classifiers.rhythm",
    "detect_mi": "classifiers.mi",
    "MIResult": "classifiers.mi",
    "segment_long_term": "classifiers.longterm",
    "plot_long_term": "classifiers.longterm",
    "load_model": "classifiers._models",
    "available_models": "classifiers._models",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'classifiers' has no attribute {name!r}")


__all__ = ["classify_beats", "classify_rhythm", "detect_mi", "segment_long_term", "plot_long_term",
           "load_model", "available_models",
           "RhythmResult", "MIResult", "AAMI_CLASSES", "RHYTHM_CLASSES"]
