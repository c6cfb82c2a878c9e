"""The digitizer: page image -> calibrated 12-lead :class:`~ecg_digitize.Record`.

One module per stage (see :mod:`.pipeline` for the sequence); :func:`digitize` runs them all.
"""
from .pipeline import digitize, page_as_measured, read_lead_boxes, trace_page_as_read

__all__ = ["digitize", "page_as_measured", "read_lead_boxes", "trace_page_as_read"]
