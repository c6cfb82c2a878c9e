"""Page layouts: which lead is drawn where, and over which time window.

A layout string names the arrangement:

* ``"3x4"`` - 3 rows x 4 columns, each column a quarter of the page's time.
* ``"3x4+II"`` / ``"3x4+II,V1,V5"`` - plus 1 to 3 full-length rhythm strips below.
* ``"6x2"``, ``"12x1"`` (and any ``RxC`` with ``R*C == 12``).
* ``"strip"`` - one lead; a long record wraps into as many rows as it needs.

Leads fill the grid column by column in the standard order
``I II III aVR aVL aVF V1..V6`` or, with ``lead_order="cabrera"``, in the Cabrera order
``aVL I -aVR II aVF III V1..V6`` (``-aVR`` is aVR drawn inverted).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .errors import LayoutError
from .record import STANDARD_LEADS

CABRERA_LEADS = ("aVL", "I", "-aVR", "II", "aVF", "III", "V1", "V2", "V3", "V4", "V5", "V6")
_GRID_RE = re.compile(r"^(\d+)x(\d+)(?:\+([A-Za-z0-9,\-]+))?$")


@dataclass(frozen=True)
class Panel:
    """One stretch of one lead on the page.

    ``row`` and ``col`` place it; ``t0``/``t1`` are the signal times it shows (s) and
    ``x_offset_s`` where on the row (s from the row's left edge) it starts.
    ``inverted`` marks ``-aVR``.
    """

    lead: str
    row: int
    col: int
    t0: float
    t1: float
    x_offset_s: float
    inverted: bool = False

    @property
    def label(self) -> str:
        return ("-" if self.inverted else "") + self.lead


def parse_layout(layout: str) -> tuple[int, int, list[str]]:
    """Split ``"3x4+II,V1"`` into ``(3, 4, ["II", "V1"])``; ``"strip"`` gives ``(0, 1, [])``."""
    if layout == "strip":
        return 0, 1, []
    match = _GRID_RE.match(layout.replace(" ", ""))
    if not match:
        raise LayoutError(f"unknown layout {layout!r}; use e.g. '3x4', '3x4+II', '6x2', '12x1', 'strip'")
    rows, cols = int(match.group(1)), int(match.group(2))
    rhythm = [s for s in (match.group(3) or "").split(",") if s]
    if rows * cols != 12:
        raise LayoutError(f"layout {layout!r} must hold 12 leads (rows x columns = 12)")
    if len(rhythm) > 3:
        raise LayoutError(f"layout {layout!r}: at most 3 rhythm strips")
    for lead in rhythm:
        if lead not in STANDARD_LEADS:
            raise LayoutError(f"layout {layout!r}: rhythm lead {lead!r} is not a standard lead")
    return rows, cols, rhythm


def plan_panels(layout: str, row_seconds: float, *, duration: float | None = None,
                lead_order: str = "standard", strip_lead: str = "II") -> list[Panel]:
    """Return the panels of a layout, given the seconds one row shows.

    Parameters
    ----------
    layout : str
        See the module docstring.
    row_seconds : float
        Time one full row shows (plot width in mm / paper speed).
    duration : float, optional
        Record length; needed by ``"strip"`` to know how many rows to wrap into.
    lead_order : {"standard", "cabrera"}
    strip_lead : str
        The lead a ``"strip"`` layout draws.

    Examples
    --------
    >>> from ecg_digitize.layouts import plan_panels
    >>> panels = plan_panels("3x4+II", row_seconds=10.0)
    >>> [(p.lead, p.row, p.t0) for p in panels[:4]]
    [('I', 0, 0.0), ('II', 1, 0.0), ('III', 2, 0.0), ('aVR', 0, 2.5)]
    >>> panels[-1]
    Panel(lead='II', row=3, col=0, t0=0.0, t1=10.0, x_offset_s=0.0, inverted=False)
    """
    rows, cols, rhythm = parse_layout(layout)
    if rows == 0:  # strip
        n_rows = max(1, math.ceil((duration or row_seconds) / row_seconds - 1e-9))
        return [Panel(strip_lead, r, 0, r * row_seconds, (r + 1) * row_seconds, 0.0)
                for r in range(n_rows)]
    if lead_order not in ("standard", "cabrera"):
        raise LayoutError(f"lead_order must be 'standard' or 'cabrera', got {lead_order!r}")
    order = CABRERA_LEADS if lead_order == "cabrera" else STANDARD_LEADS
    col_seconds = row_seconds / cols
    panels = []
    for k, name in enumerate(order):
        col, row = divmod(k, rows)
        t0 = col * col_seconds
        panels.append(Panel(name.lstrip("-"), row, col, t0, t0 + col_seconds, t0,
                            inverted=name.startswith("-")))
    for r, name in enumerate(rhythm):
        panels.append(Panel(name, rows + r, 0, 0.0, row_seconds, 0.0))
    return panels


def n_rows_of(panels: list[Panel]) -> int:
    """Number of rows the panels occupy."""
    return max(p.row for p in panels) + 1
