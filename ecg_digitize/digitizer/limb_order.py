"""Which order a 12-lead page plots its limb leads in: standard or Cabrera.

The standard order plots I, II, III, aVR, aVL, aVF where the Cabrera order (Sweden, and
wherever the leads are shown as a sweep round the frontal plane) plots aVL, I, -aVR, II,
aVF, III. Printed labels are not read, but the limb leads tell: all six are combinations
of two (I and II), so any three plotted over the same seconds obey a linear relation
(Einthoven's II = I + III, Goldberger's aVR + aVL + aVF = 0, and the like), and only the
right order makes the page's co-plotted triples obey theirs.
"""
from __future__ import annotations

from itertools import combinations

import numpy as np

from ..layouts import parse_layout
from ..metrics import relation_db

# lead_order="auto" reads a page in the Cabrera order where its limb leads agree at least
# this much in it, and by this much more than in the standard order (real pictures, all
# standard: at most 1.33 dB as Cabrera, and never more than 1.41 dB above their standard
# reading; ``python benchmarks/lead_order_evidence.py``)
CABRERA_MIN_DB = 6.0
LEAD_ORDERS = ("auto", "standard", "cabrera")
# each limb lead as a combination of I and II
LIMB = {"I": (1.0, 0.0), "II": (0.0, 1.0), "III": (-1.0, 1.0),
        "aVR": (-0.5, -0.5), "aVL": (1.0, -0.5), "aVF": (-0.5, 1.0)}
# what the panel the standard order calls lead k shows in the Cabrera order: (lead, sign)
CABRERA = {"I": ("aVL", 1), "II": ("I", 1), "III": ("aVR", -1),
           "aVR": ("II", 1), "aVL": ("aVF", 1), "aVF": ("III", 1)}


def limb_consistency(signal: np.ndarray, leads: list[str], *, min_samples: int = 250) -> float:
    """How well the limb leads plotted together obey the relations between them, in dB
    (signal over residual power, mean over every triple of limb leads that shares at
    least ``min_samples`` plotted samples); NaN when no triple does.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.limb_order import limb_consistency
    >>> t = np.linspace(0, 2, 1000)
    >>> i, ii = np.sin(7 * t), np.cos(5 * t)
    >>> sig = np.column_stack([i, ii, ii - i])
    >>> round(limb_consistency(sig, ["I", "II", "III"]))
    100
    >>> round(limb_consistency(sig, ["I", "III", "II"]), 1)   # two labels swapped
    -5.7
    """
    present = [(name, signal[:, k]) for k, name in enumerate(leads) if name in LIMB]
    scores = []
    for triple in combinations(present, 3):
        ok = np.all([np.isfinite(x) for _, x in triple], axis=0)
        if ok.sum() < min_samples:
            continue
        # the relation's weights: the null vector of the three leads' (I, II) coefficients
        weights = np.linalg.svd(np.array([LIMB[name] for name, _ in triple]).T)[2][-1]
        terms = [x[ok] for _, x in triple]
        # weights scaled to a mean square of 1, as Einthoven's (1, -1, -1) are
        weights = weights / np.sqrt(np.mean(weights ** 2))
        scores.append(relation_db(terms, sum(w * x for w, x in zip(weights, terms))))
    return float(np.mean(scores)) if scores else float("nan")


def as_cabrera(signal: np.ndarray, leads: list[str]) -> np.ndarray:
    """The signal of a page read in the standard order, relabelled as the Cabrera order
    plots it (columns in the same ``leads`` order; aVR's sign restored).

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.limb_order import as_cabrera
    >>> names = ["I", "II", "III", "aVR", "aVL", "aVF"]
    >>> as_cabrera(np.arange(6.0)[None, :], names).tolist()    # panel "III" held -aVR
    [[1.0, 3.0, 5.0, -2.0, 0.0, 4.0]]
    """
    out = signal.copy()
    for panel, (lead, sign) in CABRERA.items():
        if panel in leads and lead in leads:
            out[:, leads.index(lead)] = sign * signal[:, leads.index(panel)]
    return out


def apply_lead_order(lead_order: str, signal: np.ndarray, leads: list[str], layout_name: str,
                     boxes: list, note: str) -> tuple[np.ndarray, str, str]:
    """The signal, layout name and lead-order note of a 12-lead page read in the standard
    order, relabelled where its panels show the Cabrera order.

    ``lead_order``: ``"standard"`` keeps the reading; ``"cabrera"`` relabels it;
    ``"auto"`` relabels it where its co-plotted limb leads agree at least
    :data:`CABRERA_MIN_DB` in the Cabrera order and by that much more than in the
    standard one. ``boxes`` (:class:`~ecg_digitize.geometry.LeadBox`) get their leads'
    new names in place.
    """
    if lead_order == "standard":
        return signal, layout_name, note
    cabrera = as_cabrera(signal, leads)
    why = ""
    if lead_order == "auto":
        as_std = limb_consistency(signal, leads)
        as_cab = limb_consistency(cabrera, leads)
        if not (as_cab >= CABRERA_MIN_DB and as_cab >= as_std + CABRERA_MIN_DB):
            return signal, layout_name, note
        why = f": they agree at {as_cab:.1f} dB in it, {as_std:.1f} dB in the standard order"
    rename = {panel: lead for panel, (lead, _) in CABRERA.items()}
    for box in boxes:
        box.lead = rename.get(box.lead, box.lead)
    rhythm = parse_layout(layout_name)[2]
    if rhythm:
        layout_name = layout_name.split("+")[0] + "+" + ",".join(rename.get(r, r) for r in rhythm)
    note = f"limb leads placed by position in the Cabrera order (aVL, I, -aVR, II, aVF, III){why}; " \
           "printed labels are not read"
    return cabrera, layout_name, note
