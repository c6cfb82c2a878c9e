"""The classical digitizer: page image -> calibrated 12-lead :class:`~ecg_digitize.Record`.

One module per stage (see :mod:`.pipeline`); :func:`digitize` runs them all.
"""
from .pipeline import digitize

__all__ = ["digitize"]
