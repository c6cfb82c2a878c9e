"""Digitize with lead boxes the person corrected, by the digitizer's own stages.

``digitize()`` finds rows and lead boxes itself. When the web page sends corrected
boxes, the page is first digitized as usual (for calibration, skew and layout), then
each given box is read by :func:`~ecg_digitize.digitizer.read_lead_boxes` from the same
trace view and ink as the automatic reading (:func:`~ecg_digitize.digitizer.trace_page_as_read`),
in the measured page's pixels the detected boxes are reported in.
"""
from __future__ import annotations

from typing import Any, Callable


def digitize_with_boxes(image: Any, boxes: list[dict], *, digitize_fn: Callable[..., Any],
                        **options: Any):
    """Digitize ``image`` reading each lead from the box given for it.

    Parameters
    ----------
    image : PIL.Image.Image or ndarray
        The page.
    boxes : list of dict
        ``{"lead": name, "bbox": [x0, y0, x1, y1], "t0": s}`` in the measured page's
        pixels (as the detected boxes are reported); see
        :func:`~ecg_digitize.digitizer.read_lead_boxes`.
    digitize_fn : callable
        The full pipeline, run first for calibration, skew and layout.
    **options
        Passed to ``digitize_fn`` (fs, layout, paper_speed, gain, method).

    Returns
    -------
    Record
        Leads read from the boxes (NaN elsewhere), the base run's calibration, the new
        boxes in ``geometry.boxes``, quality recomputed.
    """
    from ..digitizer import read_lead_boxes, trace_page_as_read

    base = digitize_fn(image, **options)
    return read_lead_boxes(trace_page_as_read(image, base), boxes, base)
