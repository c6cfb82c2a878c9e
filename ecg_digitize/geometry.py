"""Where a Record's signals are on its page: :class:`PageGeometry` (``Record.geometry``).

The digitizer fills it with what it measured (lead boxes, rows, skew, the trace view's
corrections, scale evidence); the renderer with what it drew (lead boxes and labels,
grid, calibration pulses, the distortions applied, exact trace masks). Pixel
coordinates are those of the page *as measured*: after the trace view's perspective and
bending corrections and after deskewing (see
:func:`~ecg_digitize.digitizer.page_as_measured`), with OpenCV's convention (the centre of
pixel row i, column j is at x=j, y=i).

``to_dict`` gives the JSON that ``Record.to_json`` writes under ``"geometry"`` (fields that
are unset are left out); ``from_dict`` reads it back. The object also reads like the
mapping it replaces (``geometry["boxes"]``, ``geometry.get("skew_deg")``).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from .errors import RecordFormatError


@dataclass
class LeadBox:
    """One lead's panel on the page.

    Attributes
    ----------
    lead : str
        The lead shown.
    row, col : int or None
        Its place in the layout.
    t0, t1 : float
        The record's seconds it shows (first sample read, one past the last).
    x0 : float
        Page column of the sample at ``t0``.
    baseline_y : float
        Page row of its 0 mV level.
    inverted : bool
        Drawn upside down (``-aVR`` of the Cabrera order).
    bbox : list of float
        ``[x0, y0, x1, y1]``, the panel's rectangle.
    label : str, optional
        The label printed beside it (renderer truth).
    edited : bool
        Set by hand (the web tool's corrected boxes).
    size : float
        Its row's size on the page over the calibration's: 1.0 but on a page seen at a
        slant, where a row nearer the camera shows each millimetre as more pixels.
    """

    lead: str
    bbox: list[float]
    row: int | None = None
    col: int | None = None
    t0: float = 0.0
    t1: float = 0.0
    x0: float = 0.0
    baseline_y: float = float("nan")
    inverted: bool = False
    label: str | None = None
    edited: bool = False
    size: float = 1.0

    _ORDER = ("lead", "label", "row", "col", "t0", "t1", "x0", "baseline_y", "inverted", "bbox", "edited", "size")

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self._ORDER}
        if self.label is None:
            del out["label"]
        if not self.edited:
            del out["edited"]
        if self.size == 1.0:
            del out["size"]
        out["bbox"] = [float(v) for v in self.bbox]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "LeadBox":
        return cls(**{k: d[k] for k in cls._ORDER if k in d})

    def __getitem__(self, key: str) -> Any:
        return _item(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default) if key in _names(self) else default


@dataclass
class RowBand:
    """One row of trace: its baseline and the band it was traced in (page rows)."""

    baseline_y: float
    y_lo: int
    y_hi: int

    def to_dict(self) -> dict[str, Any]:
        return {"baseline_y": self.baseline_y, "y_lo": self.y_lo, "y_hi": self.y_hi}

    def __getitem__(self, key: str) -> Any:
        return _item(self, key)


@dataclass
class PulseMark:
    """A calibration pulse found at one end of a row (page columns and pixels)."""

    side: str
    x_left: float
    x_right: float
    height_px: float
    width_px: float

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("side", "x_left", "x_right", "height_px", "width_px")}

    def __getitem__(self, key: str) -> Any:
        return _item(self, key)


@dataclass
class PageGeometry:
    """Where the signals are on the page, and how the page was measured.

    Attributes
    ----------
    boxes : list of LeadBox
        One per panel read (or drawn).
    image_shape : [height, width], optional
        The measured page's size in pixels.
    skew_deg : float, optional
        The rotation undone before reading (degrees, counter-clockwise positive).
    quarter_turns : int
        Clockwise quarter turns applied to the image as loaded to read it upright.
    homography : 3x3 list, optional
        The trace view's perspective correction (original image -> measured page).
    bend : dict, optional
        The trace view's paper-bending field (``ecg_digitize.neural.unbend.BendField``).
    rows : list of RowBand
        The rows of trace found.
    x_start, x_end : float, optional
        Page columns of the rows' time zero and end.
    time_zero : str, optional
        What placed time zero: ``"pen ends"``, ``"separators"`` or ``"lead-change marks"``
        (the marks also gave the time scale: see ``calibration.mm_per_s``).
    threshold : float, optional
        The ink threshold of the trace view.
    pen_core : dict
        The pen-core step's evidence (:func:`~ecg_digitize.digitizer.threshold.pen_core`).
    method : str, optional
        The trace view used (``"classical"``, ``"unet"``).
    scale_source : str, optional
        Where px/mm came from: ``"grid"``, ``"pulse"``, ``"dpi"``, ``"page width"``,
        ``"row width (250 mm)"``.
    grid_strength : float, optional
        The grid's spectral strength (:class:`~ecg_digitize.digitizer.grid.GridEstimate`).
    pulses : list of PulseMark or None
        Per row, the calibration pulse found (None where none).
    image_width, image_height : int, optional
        The uploaded image's size (web tool).
    grid_origin, grid_box, cal_pulses, distortions, preset, style, dpi, px_per_mm_xy, trace_mask, pulse_mask, page_xy
        Renderer truth: a major grid line's crossing, the grid's rectangle, the pulses
        drawn, the distortions applied, the preset and paper style, the dpi, the scale
        across and down (pixels not square), exact trace / pulse pixel masks, and where
        each pixel lies on the clean page (``render(page_coordinates=True)``; masks and
        coordinates are not written to JSON).
    """

    boxes: list[LeadBox] = field(default_factory=list)
    image_shape: list[int] | None = None
    skew_deg: float | None = None
    quarter_turns: int = 0
    homography: list | None = None
    bend: dict | None = None
    rows: list[RowBand] = field(default_factory=list)
    x_start: float | None = None
    x_end: float | None = None
    time_zero: str | None = None
    threshold: float | None = None
    pen_core: dict = field(default_factory=dict)
    method: str | None = None
    scale_source: str | None = None
    grid_strength: float | None = None
    pulses: list[PulseMark | None] = field(default_factory=list)
    image_width: int | None = None
    image_height: int | None = None
    # renderer truth
    grid_origin: tuple[float, float] | None = None
    grid_box: tuple[int, int, int, int] | None = None
    cal_pulses: list[dict] | None = None
    distortions: dict | None = None
    preset: str | None = None
    style: dict | None = None
    dpi: float | None = None
    px_per_mm_xy: list[float] | None = None
    trace_mask: np.ndarray | None = None
    pulse_mask: np.ndarray | None = None
    page_xy: list[np.ndarray] | None = None

    # written to JSON even when unset, as the digitizer always wrote them
    _ALWAYS = ("homography", "bend")
    _NOT_JSON = ("trace_mask", "pulse_mask", "page_xy")

    def to_dict(self, *, masks: bool = False) -> dict[str, Any]:
        """JSON-ready dict (set fields only; the pixel masks only with ``masks=True``)."""
        return {name: jsonable(getattr(self, name)) for name in _names(self)
                if self._is_set(name) and (masks or name not in self._NOT_JSON)}

    def _is_set(self, name: str) -> bool:
        """Whether ``to_dict`` writes the field: set, or one the digitizer always writes."""
        value, digitized = getattr(self, name), self.method is not None
        if digitized and name in self._ALWAYS:
            return True
        if name == "quarter_turns":
            return value != 0
        if name in ("rows", "pulses", "pen_core") and not digitized:
            return bool(value)
        return value is not None

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "PageGeometry":
        """Read :meth:`to_dict`'s output (or the plain dict older versions wrote)."""
        d = dict(d or {})
        unknown = set(d) - set(_names(cls))
        if unknown:
            raise RecordFormatError(f"unknown page geometry field(s) {sorted(unknown)}")
        d["boxes"] = [b if isinstance(b, LeadBox) else LeadBox.from_dict(b) for b in d.get("boxes") or []]
        d["rows"] = [r if isinstance(r, RowBand) else RowBand(**r) for r in d.get("rows") or []]
        d["pulses"] = [p if p is None or isinstance(p, PulseMark) else PulseMark(**p)
                       for p in d.get("pulses") or []]
        return cls(**d)

    # read like the dict it replaces
    def __getitem__(self, key: str) -> Any:
        return _item(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        value = getattr(self, key, None) if key in _names(self) else None
        return default if value is None else value

    def __contains__(self, key: str) -> bool:
        return key in _names(self) and self._is_set(key)


def _names(obj) -> tuple[str, ...]:
    return tuple(f.name for f in fields(obj))


def _item(obj, key: str) -> Any:
    if key not in _names(obj):
        raise KeyError(key)
    return getattr(obj, key)


def jsonable(value: Any) -> Any:
    """Values inside nested containers as plain JSON-ready Python: this module's
    dataclasses as their dicts, numpy values as Python ones, non-finite floats as None.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.geometry import jsonable
    >>> jsonable({"a": np.float32(1.5), "b": [np.nan, np.int64(2)]})
    {'a': 1.5, 'b': [None, 2]}
    """
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict())
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
