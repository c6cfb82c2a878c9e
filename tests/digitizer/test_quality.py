"""Stage 12: evidence that a page is an ECG, per-lead confidence, refusals."""
import numpy as np
import pytest

from ecg_digitize import Record
from ecg_digitize.digitizer import quality
from ecg_digitize.errors import LayoutError, NotAnEcgError
from ecg_digitize.record import STANDARD_LEADS


def _reading(confidences, overall=0.9):
    rec = Record(np.zeros((100, len(confidences))), fs=100, leads=list(STANDARD_LEADS[: len(confidences)]),
                 layout="3x4")
    rec.quality = {"overall": overall, "leads": dict(zip(rec.leads, confidences))}
    return rec


def test_a_reading_whose_leads_mostly_could_not_be_followed_is_refused():
    quality.refuse_weak_reading(_reading([0.9] * 8 + [0.1] * 4), None)
    with pytest.raises(LayoutError, match="9 of 12 leads"):
        quality.refuse_weak_reading(_reading([0.9] * 3 + [0.1] * 9), None)


def test_a_rescued_reading_must_read_well_enough():
    quality.refuse_weak_reading(_reading([0.9] * 12, overall=0.5), ("no rows", "fainter"))
    with pytest.raises(NotAnEcgError, match="no rows; fainter it read only 0.30"):
        quality.refuse_weak_reading(_reading([0.9] * 12, overall=0.3), ("no rows", "fainter"))


def test_lead_confidence_of_a_flat_or_wild_lead():
    assert quality.lead_confidence(np.zeros(500), 1.0) == 0.2
    wild = np.sin(np.arange(500) / 20) * 20
    assert quality.lead_confidence(wild, 1.0) == 0.5
