"""Matplotlib views of Records on ECG paper, and overlays of traces on page images."""
from __future__ import annotations

import numpy as np


def _ecg_paper(ax, t_max: float, y_min: float, y_max: float) -> None:
    """Draw 1 mm (0.04 s, 0.1 mV) minor and 5 mm major grid lines in ECG-paper pink."""
    for step, width in ((0.04, 0.3), (0.2, 0.8)):
        for x in np.arange(0, t_max + 1e-9, step):
            ax.axvline(x, color="#f4a6a6", lw=width, zorder=0)
        for y in np.arange(np.floor(y_min * 2) / 2, y_max + 1e-9, step * 2.5):
            ax.axhline(y, color="#f4a6a6", lw=width, zorder=0)
    ax.set_xlim(0, t_max)
    ax.set_ylim(y_min, y_max)


def plot_record(record, *, ax=None, leads=None, spacing_mv: float = 3.0):
    """Plot a Record's leads stacked one above the other on ECG paper."""
    import matplotlib.pyplot as plt

    leads = leads or record.leads
    duration = max(record.duration, 1e-3)
    if ax is None:
        fig, ax = plt.subplots(figsize=(min(2 + duration * 1.2, 24), 1 + 0.9 * len(leads)))
    else:
        fig = ax.figure
    t = record.time
    for k, name in enumerate(leads):
        offset = -k * spacing_mv
        ax.plot(t, record.lead(name) + offset, color="black", lw=0.8)
        ax.text(0.02, offset + 0.5, name, fontsize=9, fontweight="bold")
    y_max, y_min = spacing_mv / 2, -spacing_mv * (len(leads) - 0.5)
    _ecg_paper(ax, duration, y_min, y_max)
    ax.set_xlabel("time (s)")
    ax.set_yticks([])
    ax.set_title(f"{record.layout} | {record.fs:g} Hz | {record.source}", fontsize=9)
    fig.tight_layout()
    return fig


def plot_overlay(image: np.ndarray, record, *, ax=None, color="#0050ff"):
    """Draw a Record's traces back onto its page image (needs ``record.geometry`` boxes)."""
    import matplotlib.pyplot as plt

    h, w = image.shape[:2]
    if ax is None:
        fig, ax = plt.subplots(figsize=(w / 100, h / 100), dpi=100)
    else:
        fig = ax.figure
    ax.imshow(image)
    for x, y in trace_pixels(record):
        ax.plot(x, y, color=color, lw=0.8, alpha=0.85)
    for box in record.geometry.boxes:
        x0, y0, x1, y1 = box["bbox"]
        ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="#00a000", lw=0.6))
        ax.text(x0 + 2, y0 + 10, box["lead"], color="#00a000", fontsize=6)
    ax.set_axis_off()
    fig.subplots_adjust(0, 0, 1, 1)
    return fig


def trace_pixels(record):
    """Yield ``(x, y)`` pixel arrays per plotted panel from a Record's geometry boxes.

    Each box holds ``lead``, ``t0`` (s, start of its window), ``x0`` (px at t0),
    ``baseline_y`` (px at 0 mV); the Record's calibration gives px per s (across the
    page) and per mV (down it: its ``px_per_mm_y`` where the pixels are not square),
    times the box's ``size`` (a row nearer the camera on a page seen at a slant).
    """
    cal = record.calibration
    if cal.px_per_mm is None:
        return
    for box in record.geometry.boxes:
        sig = record.lead(box["lead"])
        i0 = int(round(box["t0"] * record.fs))
        i1 = int(round(box["t1"] * record.fs))
        seg = sig[i0:i1]
        t = np.arange(i0, i0 + len(seg)) / record.fs
        k = box.get("size", 1.0)
        x = box["x0"] + (t - box["t0"]) * cal.px_per_s * k
        y = box["baseline_y"] - seg * cal.px_per_mv * k
        yield x, y
