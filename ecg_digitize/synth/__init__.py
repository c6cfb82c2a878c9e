"""Synthetic paper ECGs with exact ground truth.

:func:`render` draws signals on ECG paper in any common layout and paper style, with
scanner and phone-camera distortions, and returns the image with a truth :class:`Record`.
Sources: :func:`simulate_12lead` (no data needed), :func:`load_ptbxl`,
:func:`load_mitdb_segment`, :func:`load_cinc2017`.
"""
from .distort import PRESETS, apply_distortions, sample_preset
from ..layouts import Panel, parse_layout, plan_panels
from .render import PaperStyle, render
from .sources import load_cinc2017, load_mitdb_segment, load_ptbxl, ptbxl_records, simulate_12lead

__all__ = [
    "render", "PaperStyle", "PRESETS", "sample_preset", "apply_distortions", "Panel",
    "parse_layout", "plan_panels", "simulate_12lead", "load_ptbxl", "ptbxl_records",
    "load_mitdb_segment", "load_cinc2017",
]
