"""Stage 9: per-lead confidence, a record score and warnings.

Without a ground truth, three things say whether a lead is believable:

* ``coverage`` - the fraction of its plotted time the trace path actually found ink;
* ``plausibility`` - amplitudes within +-5 mV and no flat, empty lead;
* the page's Einthoven / Goldberger self-consistency (dB), from
  :func:`ecg_digitize.metrics.self_consistency`, which links leads I, II, III and
  aVR, aVL, aVF when they share a time window.
"""
from __future__ import annotations

import numpy as np

from ..metrics import self_consistency

LOW_CONFIDENCE = 0.6  # a lead below this is named in the record's warnings


def lead_confidence(values: np.ndarray, coverage: float) -> float:
    """0..1 confidence of one lead from its coverage and amplitude plausibility.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.quality import lead_confidence
    >>> round(lead_confidence(np.sin(np.arange(500) / 20), 0.98), 2)
    0.98
    >>> lead_confidence(np.zeros(500), 1.0)  # flat: nothing was drawn
    0.2
    """
    v = values[np.isfinite(values)]
    if len(v) < 10:
        return 0.0
    score = float(np.clip(coverage, 0, 1))
    ptp = float(np.ptp(v))
    if ptp < 0.05:
        score = min(score, 0.2)
    if np.max(np.abs(v - np.median(v))) > 5.0:
        score *= 0.5
    return round(score, 3)


def assess(record, coverages: dict[str, float]) -> dict:
    """Fill ``record.quality`` and append warnings; returns the quality dict."""
    leads = {}
    for i, name in enumerate(record.leads):
        leads[name] = lead_confidence(record.signal[:, i], coverages.get(name, 0.0))
    consistency = self_consistency(record)
    conf = float(np.mean(list(leads.values()))) if leads else 0.0
    overall = conf
    if np.isfinite(consistency.get("mean", np.nan)):
        # 20 dB or more of self-consistency: full credit; 0 dB or less: halves the score.
        overall = conf * (0.5 + 0.5 * float(np.clip(consistency["mean"] / 20.0, 0, 1)))
    quality = {"overall": round(overall, 3), "leads": leads,
               "self_consistency_db": {k: (round(v, 2) if np.isfinite(v) else None)
                                       for k, v in consistency.items()}}
    low = [n for n, c in leads.items() if c < LOW_CONFIDENCE]
    if low:
        record.warnings.append(f"low confidence for lead(s) {', '.join(low)}")
    if np.isfinite(consistency.get("mean", np.nan)) and consistency["mean"] < 6.0:
        record.warnings.append(f"limb leads disagree (self-consistency {consistency['mean']:.1f} dB): "
                               "layout or lead order may be wrong")
    return quality
