"""The orientation stage (between stages 7 and 8): which way up the page lies.

Scanners and phones hand over pages on their side or upside down; the digitizer reads a
page upright:

* Upside down (turned 180 deg): the calibration pulses hang *below* the rows at their
  far ends (:func:`pulses_hang_down`), checked once the rows are traced. A page without
  pulses gives no such sign and is read as it is.
* On its side (turned 90 deg): where the page as given is refused and its long curves of
  ink run down the page (:func:`lies_on_its_side`), it is read again turned a quarter
  clockwise; the pulses then tell upright from upside down as above.
"""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from . import calibration as cal
from . import greyscale, threshold
from .load import PageImage


def turned(page: PageImage, quarter_turns: int) -> PageImage:
    """``page`` turned ``quarter_turns`` quarters clockwise."""
    return replace(page, rgb=np.ascontiguousarray(np.rot90(page.rgb, -quarter_turns)))


def lies_on_its_side(rgb: np.ndarray) -> bool:
    """Whether the page's long curves of ink run down the page rather than across it.

    Ink in components at least 40 % of the page's height tall and under a quarter of its
    width wide holds over twice the ink of components the other way round.
    """
    dark = threshold.normalise_background(greyscale.trace_view(rgb[::2, ::2]))
    _, mask = threshold.adaptive_otsu(dark)
    stats = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)[2]
    h, w = mask.shape
    wide = (stats[1:, cv2.CC_STAT_WIDTH] >= 0.4 * w) & (stats[1:, cv2.CC_STAT_HEIGHT] < 0.25 * h)
    tall = (stats[1:, cv2.CC_STAT_HEIGHT] >= 0.4 * h) & (stats[1:, cv2.CC_STAT_WIDTH] < 0.25 * w)
    area = stats[1:, cv2.CC_STAT_AREA]
    return bool(area[tall].sum() > 2 * area[wide].sum())


def pulses_hang_down(traces, rows, px_per_mm: float, px_per_mm_y: float | None = None, *,
                     more_than: int = 0) -> bool:
    """Whether most rows (at least two, or a one-row strip's row), and more than
    ``more_than``, end in a calibration pulse hanging down from the row: an upright
    page's pulses, seen upside down (mirrored about each baseline and looked for at
    either end). ``more_than``: the upright pulses found on the page as it is (on a page
    upside down, a QRS at a row's end can pass for one). ``px_per_mm_y``: the scale down
    a page that is not square."""
    mirrored = [replace(t, y=2 * r.baseline - t.y, top=2 * r.baseline - t.bottom, bottom=2 * r.baseline - t.top)
                for t, r in zip(traces, rows)]
    for side in ("right", "left"):
        pulses = cal.consistent([cal.find_pulse(t, r.baseline, px_per_mm, side=side, px_per_mm_y=px_per_mm_y)
                                 for t, r in zip(mirrored, rows)])
        n = sum(p is not None for p in pulses)
        if n >= min(2, len(rows)) and n >= len(rows) / 2 and n > more_than:
            return True
    return False


# A 12-lead sheet prints its header above the rows: upright, the rows' mean baseline lies
# below this share of the page's height from the top (the phone photos of
# ``phone-photos``: 0.64-0.68 upright; 03769 read upside down: 0.34).
MAX_UPRIGHT_ROWS_HIGH = 0.45


def rows_sit_high(baselines: list[float], height: int) -> bool:
    """Whether the rows gather in the page's upper part (their mean baseline above
    :data:`MAX_UPRIGHT_ROWS_HIGH` of its height): a page with its header below the rows,
    i.e. upside down. Only a cue for pages without pulses turned by their shape alone.

    Examples
    --------
    >>> from ecg_digitize.digitizer.orientation import rows_sit_high
    >>> rows_sit_high([170, 433, 717, 1008], 1729), rows_sit_high([740, 1026, 1305, 1568], 1756)
    (True, False)
    """
    return len(baselines) > 0 and float(np.mean(baselines)) < MAX_UPRIGHT_ROWS_HIGH * height


def turn_note(quarter_turns: int, has_pulses: bool) -> str:
    """The Record's warning for a page read turned."""
    note = f"the page was turned {90 * quarter_turns} deg clockwise to read it upright"
    if quarter_turns % 2 and not has_pulses:
        note += " (without calibration pulses, upright and upside down could not be told apart)"
    return note
