"""Digitize with lead boxes the person corrected, using the digitizer's own stages.

``digitize()`` finds rows and lead boxes itself and has no box override. When the web
page sends corrected boxes, the page is first digitized as usual (for calibration,
skew and layout), then each given box is traced again with the digitizer's public stage
functions (:func:`~ecg_digitize.digitizer.extract.trace_row` inside the box, then
:func:`~ecg_digitize.digitizer.signals.panel_samples`), in the same deskewed pixels the
detected boxes are reported in.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Callable

import numpy as np


def digitize_with_boxes(image: Any, boxes: list[dict], *, digitize_fn: Callable[..., Any],
                        **options: Any):
    """Digitize ``image`` reading each lead from the box given for it.

    Parameters
    ----------
    image : PIL.Image.Image or ndarray
        The page.
    boxes : list of dict
        ``{"lead": name, "bbox": [x0, y0, x1, y1], "t0": s}`` in the deskewed page's
        pixels (as the detected boxes are reported); ``t0`` (default 0) is the time of
        the box's left edge. A box's width sets how many seconds it holds.
    digitize_fn : callable
        The full pipeline, run first for calibration, skew and layout.
    **options
        Passed to ``digitize_fn`` (fs, layout, paper_speed, gain, method).

    Returns
    -------
    Record
        Leads read from the boxes (NaN elsewhere), the base run's calibration, the new
        boxes in ``geometry["boxes"]``, quality recomputed. Each lead keeps the 0 mV line
        the automatic run used for it while its box still spans that line.
    """
    from ..digitizer import extract, greyscale, quality, signals, threshold
    from ..digitizer.pipeline import page_as_measured
    from ..record import Record

    base = digitize_fn(image, **options)
    cal = base.calibration
    px_per_mm = float(cal.px_per_mm)
    px_per_s, px_per_mv = px_per_mm * cal.mm_per_s, px_per_mm * cal.mm_per_mv
    fs = float(base.fs)

    # the frame the pipeline measured its boxes in (perspective undone, deskewed)
    dark = threshold.normalise_background(greyscale.trace_view(page_as_measured(image, base)))
    _, mask = threshold.adaptive_otsu(dark)

    base_boxes = list(base.geometry.get("boxes") or [])
    leads = list(base.leads) + [b["lead"] for b in boxes if b["lead"] not in base.leads]
    leads = list(dict.fromkeys(leads))
    spans = [(b["bbox"][2] - b["bbox"][0]) / px_per_s for b in boxes]
    n_total = max(base.n_samples,
                  int(np.ceil(max(float(b.get("t0", 0.0)) + s for b, s in zip(boxes, spans)) * fs)))
    sig = np.full((n_total, len(leads)), np.nan)
    new_boxes, covered = [], {}
    # full-width rhythm strips last, so that they win for their lead (as in the pipeline)
    for k in sorted(range(len(boxes)), key=lambda i: spans[i]):
        box, span = boxes[k], spans[k]
        x0, y0, x1, y1 = box["bbox"]
        t0 = max(0.0, float(box.get("t0", 0.0)))
        trace = extract.trace_row(mask, dark, int(y0), int(np.ceil(y1)), (y0 + y1) / 2,
                                  int(x0), int(np.ceil(x1)), px_per_mm=px_per_mm)
        panel = SimpleNamespace(lead=box["lead"], t0=t0, t1=t0 + span, x_offset_s=0.0,
                                inverted=bool(box.get("inverted", False)))
        n, v, level = signals.panel_samples(trace, x0, panel, fs, px_per_s, px_per_mv, px_per_mm,
                                            zero_y=_zero_line(box, base_boxes))
        keep = n < n_total
        n, v = n[keep], v[keep]
        sig[n, leads.index(box["lead"])] = v
        covered.setdefault(box["lead"], []).append(float(trace.covered.mean()) if trace.y.size else 0.0)
        first = n[0] / fs if len(n) else t0
        new_boxes.append({"lead": box["lead"], "row": box.get("row"), "col": box.get("col"),
                          "t0": first, "t1": (n[-1] + 1) / fs if len(n) else t0 + span,
                          "x0": x0 + (first - t0) * px_per_s, "baseline_y": float(level),
                          "inverted": panel.inverted, "bbox": [x0, y0, x1, y1], "edited": True})

    geometry = {k: v for k, v in base.geometry.items() if k != "boxes"}
    geometry["boxes"] = new_boxes
    record = Record(sig, fs=fs, leads=leads, layout=base.layout, calibration=cal,
                    source=base.source, geometry=geometry,
                    warnings=[w for w in base.warnings if not w.startswith(("low confidence", "limb leads"))]
                    + ["lead boxes were set by hand"])
    record.quality = quality.assess(record, {k: float(np.mean(v)) for k, v in covered.items()})
    return record


def _zero_line(box: dict, base_boxes: list[dict]) -> float | None:
    """The 0 mV line (page y) the automatic run used for this lead, if it lies in ``box``.

    The pipeline takes 0 mV from the row's calibration-pulse foot when the lead's
    isoelectric level is within 1 mV of it; the line is a property of the page, so a
    corrected box keeps it as long as the box still spans it (``panel_samples`` applies
    the same 1 mV rule). A ``baseline_y`` sent with the box wins. None: isoelectric level.
    """
    y0, y1 = box["bbox"][1], box["bbox"][3]
    given = box.get("baseline_y")
    if isinstance(given, (int, float)) and np.isfinite(given) and y0 <= given <= y1:
        return float(given)
    levels = [float(b["baseline_y"]) for b in base_boxes
              if b.get("lead") == box["lead"] and isinstance(b.get("baseline_y"), (int, float))
              and np.isfinite(b["baseline_y"]) and y0 <= b["baseline_y"] <= y1]
    if not levels:
        return None
    middle = (y0 + y1) / 2
    return min(levels, key=lambda y: abs(y - middle))
