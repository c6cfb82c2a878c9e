"""Stage 12: evidence that the page is an ECG, per-lead confidence, a record score, the
expected accuracy and its verdict, refusals.

Without a ground truth, three things say whether a lead is believable:

* ``coverage`` - the fraction of its plotted time the trace path actually found ink;
* ``plausibility`` - amplitudes within +-5 mV and no flat, empty lead;
* the page's Einthoven / Goldberger self-consistency (dB), from
  :func:`ecg_digitize.metrics.self_consistency`, which links leads I, II, III and
  aVR, aVL, aVF when they share a time window.

``overall`` (0..1) combines them: the mean lead confidence, times a factor from 0.5
(self-consistency 0 dB or less) to 1 (20 dB or more) where the limb leads share seconds.
It says how much of the trace was followed, not whether the page was read right: a page
read at the wrong scale follows its trace perfectly.

``expected_snr_db`` predicts the reading's Challenge SNR from all the evidence the
pipeline has (:func:`~ecg_digitize.digitizer.evidence.reading_features`: grid, pulses,
what was guessed, the paper size and row length implied by the scale, layout, heart
rate, amplitudes, noise, confidence, self-consistency), with the model in
``quality_model.json`` (boosted stumps fitted by ``benchmarks/fit_quality.py`` on pages
with truth). ``verdict`` is ``"good"`` at or above the model's ``good`` threshold,
``"failed"`` under its ``failed`` one, else ``"check"``; a reading with a plausibility
finding (:func:`~ecg_digitize.digitizer.evidence.plausibility`) is at best ``"check"``.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import LayoutError, NotAnEcgError
from ..metrics import self_consistency
from . import evidence, limb_order

MODEL_PATH = Path(__file__).with_name("quality_model.json")
VERDICTS = ("good", "check", "failed")  # best first

LOW_CONFIDENCE = 0.6  # a lead below this is named in the record's warnings
# a thresholded reading with more than this share of its leads of low confidence is refused
MAX_UNFOLLOWED_SHARE = 2 / 3
# a reading rescued from a failed first search (or chosen by method="auto" over a
# refusal) must reach this overall quality (the U-Net route's readings of fold-9 renders
# all score 0.52 or more)
MIN_RESCUED_QUALITY = 0.4
# limb leads whose self-consistency (mean of Einthoven and Goldberger) is under this
# disagree: the record warns, and neither the page nor its limb leads can be "good"
# (phone-photos 03932: Goldberger -5.1 dB, expected SNR 17.6 dB, verdict "good")
MIN_CONSISTENT_DB = 6.0


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
    if _limb_leads_disagree(quality["self_consistency_db"]):   # as the verdict reads it
        record.warnings.append(f"limb leads disagree (self-consistency {consistency['mean']:.1f} dB): "
                               "layout or lead order may be wrong")
    record.quality = quality
    quality.update(expected_accuracy(record))
    record.warnings += [f"implausible reading: {f}" for f in quality["findings"]]
    if quality.get("verdict") and quality["verdict"] != "good":
        record.warnings.append(f"quality verdict {quality['verdict']!r}: expected SNR "
                               f"{quality['expected_snr_db']:.1f} dB; check this reading against the page")
    return quality


@lru_cache(maxsize=1)
def load_model() -> dict | None:
    """The shipped quality model (``quality_model.json``), or None where it is missing."""
    try:
        return json.loads(MODEL_PATH.read_text())
    except FileNotFoundError:
        return None


def predict_snr(part: dict, features: dict[str, float]) -> float:
    """Expected SNR (dB) from one part (``"page"`` or ``"lead"``) of the model: its
    ``init`` plus, for every stump ``[feature, cut, left, right]``, ``left`` where the
    feature is at most ``cut``, else ``right``."""
    total = float(part["init"])
    for name, cut, left, right in part["stumps"]:
        total += left if features[name] <= cut else right
    return total


def verdict_of(expected_db: float, thresholds: dict[str, float], flagged: bool = False) -> str:
    """``"good"``, ``"check"`` or ``"failed"`` from an expected SNR and the thresholds;
    a reading with a plausibility finding (``flagged``) is at best ``"check"``.

    Examples
    --------
    >>> from ecg_digitize.digitizer.quality import verdict_of
    >>> verdict_of(18.0, {"good": 12.0, "failed": 4.0}), verdict_of(18.0, {"good": 12.0, "failed": 4.0}, True)
    ('good', 'check')
    >>> verdict_of(2.0, {"good": 12.0, "failed": 4.0})
    'failed'
    """
    if expected_db < thresholds["failed"]:
        return "failed"
    return "good" if expected_db >= thresholds["good"] and not flagged else "check"


def _limb_leads_disagree(consistency: dict) -> bool:
    """Whether the limb leads' mean self-consistency is under :data:`MIN_CONSISTENT_DB`."""
    mean = consistency.get("mean")
    return mean is not None and bool(np.isfinite(mean)) and mean < MIN_CONSISTENT_DB


def capped(findings: list[str], consistency: dict, lead: str | None = None) -> bool:
    """Whether a reading's verdict (``lead`` None: the page's) is at best "check": it has a
    plausibility finding, or it is the page or a limb lead and the limb leads disagree
    (:data:`MIN_CONSISTENT_DB`)."""
    return bool(findings) or (_limb_leads_disagree(consistency) and (lead is None or lead in limb_order.LIMB))


def expected_accuracy(record) -> dict:
    """``findings``, ``expected_snr_db``, ``verdict`` and per lead ``lead_expected_snr_db``
    and ``lead_verdicts`` of a Record whose ``quality`` holds its confidence and
    self-consistency (the model's part only where ``quality_model.json`` is shipped).

    Verdicts are capped at "check" as :func:`capped` says.
    """
    page, leads = evidence.reading_features(record)
    findings = evidence.plausibility(record, leads)
    out: dict = {"findings": findings}
    model = load_model()
    if model is None or not record.leads:
        return out
    expected = predict_snr(model["page"], page)
    lead_expected = {n: round(predict_snr(model["lead"], evidence.lead_row(page, f)), 2)
                     for n, f in leads.items()}
    consistency = (record.quality or {}).get("self_consistency_db", {})
    out.update(expected_snr_db=round(expected, 2),
               verdict=verdict_of(expected, model["page"]["thresholds"], capped(findings, consistency)),
               lead_expected_snr_db=lead_expected,
               lead_verdicts={n: verdict_of(v, model["lead"]["thresholds"], capped(findings, consistency, n))
                              for n, v in lead_expected.items()})
    return out


def check_ecg_evidence(traces, starts, ends, has_grid: bool, has_pulse: bool, page_shape) -> None:
    """Refuse a page whose ink is not ECG trace lines.

    Traces are thin lines; without a grid or a pulse, only long continuous ones make the
    page an ECG (most of each row covered, consecutive columns' ink touching, the longest
    row over 30 % of the page's width).

    Raises
    ------
    NotAnEcgError
    """
    side, page_width = min(page_shape[:2]), page_shape[1]
    width = float(np.median([t.line_width for t in traces]))
    if width > 0.02 * side + 4:
        raise NotAnEcgError(f"the dark shapes are {width:.0f} px thick blobs, not ECG trace lines")
    if has_grid or has_pulse:
        return
    cover, smooth = [], []
    for t, a, b in zip(traces, starts, ends):
        seg = slice(max(0, int(a) - t.x0), int(b) - t.x0 + 1)
        cover.append(float(np.isfinite(t.y[seg]).mean()))
        top, bot = t.top[seg], t.bottom[seg]
        # consecutive runs that touch: a drawn line does, speckle does not
        touch = (top[1:] <= bot[:-1] + 1) & (bot[1:] >= top[:-1] - 1)
        both = np.isfinite(top[1:]) & np.isfinite(top[:-1])
        smooth.append(float(touch[both].mean()) if both.any() else 0.0)
    longest = float(np.max(ends - starts)) / page_width
    weights = np.maximum(ends - starts, 1.0)  # long rows count more than specks
    cover_m, smooth_m = np.average(cover, weights=weights), np.average(smooth, weights=weights)
    if cover_m < 0.95 or smooth_m < 0.9 or longest < 0.3:
        raise NotAnEcgError("no ECG grid, calibration pulse or continuous trace found "
                            f"(trace coverage {cover_m:.0%}, continuity {smooth_m:.0%}, "
                            f"longest row {longest:.0%} of the page width)")


def refuse_weak_reading(record, rescued_from: tuple[str, str] | None) -> None:
    """Raise where a thresholded reading is not worth returning as one.

    - Most leads of a multi-lead reading could not be followed: rows found in the wrong
      places (grid remnants, text, pieces of one wandering strip) give a layout whose
      panels hold little of the trace.
    - The trace was rescued (:func:`~.rows.find_trace_rows`) and reads weakly: a clear
      refusal is worth more.

    Raises
    ------
    LayoutError, NotAnEcgError
    """
    leads = record.quality["leads"]
    low = [n for n, c in leads.items() if c < LOW_CONFIDENCE]
    if len(leads) > 1 and len(low) > MAX_UNFOLLOWED_SHARE * len(leads):
        raise LayoutError(f"{len(low)} of {len(leads)} leads of the {record.layout} layout read could "
                          "not be followed: the rows found are probably not the page's traces")
    if rescued_from is not None and record.quality["overall"] < MIN_RESCUED_QUALITY:
        why, how = rescued_from
        raise NotAnEcgError(f"{why}; {how} it read only {record.quality['overall']:.2f} overall quality")
