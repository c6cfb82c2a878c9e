"""Long-term ECG image segmentation of PVC (V) and fusion (F) beats.

The implementation lives in :mod:`ecg_digitize.neural.longterm` (the image branch); this
module gives it its place in the classifiers' public API.

Examples
--------
>>> import classifiers
>>> segs = classifiers.segment_long_term(signal, 360)  # doctest: +SKIP
>>> [s for s in segs if s[2] == "V"][:1]  # doctest: +SKIP
[(2044, 2224, 'V')]
"""
from __future__ import annotations

from ecg_digitize.neural.longterm import plot_long_term, segment_long_term

__all__ = ["segment_long_term", "plot_long_term"]
