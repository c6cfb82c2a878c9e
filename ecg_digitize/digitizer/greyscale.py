"""Stage 1b: colour-aware greyscale compression.

An ECG grid is printed in a colour (red, pink, orange, green) while the trace is dark in
every channel. Two greyscale *darkness* views (0 paper .. 1 black ink) separate them:

* ``trace view`` = 1 - max(R, G, B): a coloured grid is bright in its own channel, so it
  nearly vanishes; a black or dark-blue trace stays dark.
* ``grid view`` = 1 - min(R, G, B): everything printed is visible, grid included.

For a grey or black grid both views agree and the threshold stage separates grid from
trace by darkness and shape instead.
"""
from __future__ import annotations

import numpy as np


def trace_view(rgb: np.ndarray) -> np.ndarray:
    """Darkness (0..1, float32) in which coloured grid lines fade and dark ink stays.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.greyscale import trace_view
    >>> px = np.array([[[225, 60, 60], [20, 20, 30], [255, 253, 250]]], np.uint8)
    >>> [round(float(v), 2) for v in trace_view(px)[0]]  # red grid, black trace, paper
    [0.12, 0.88, 0.0]
    """
    import cv2

    r, g, b = cv2.split(np.ascontiguousarray(rgb))
    return _darkness(cv2.max(cv2.max(r, g), b))


def grid_view(rgb: np.ndarray) -> np.ndarray:
    """Darkness (0..1, float32) of anything printed, grid lines included.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.greyscale import grid_view
    >>> px = np.array([[[225, 60, 60], [255, 253, 250]]], np.uint8)
    >>> [round(float(v), 2) for v in grid_view(px)[0]]
    [0.76, 0.02]
    """
    import cv2

    r, g, b = cv2.split(np.ascontiguousarray(rgb))
    return _darkness(cv2.min(cv2.min(r, g), b))


def _darkness(channel: np.ndarray) -> np.ndarray:
    return (255.0 - channel.astype(np.float32)) * np.float32(1.0 / 255.0)


def grid_chroma(rgb: np.ndarray) -> float:
    """Median chroma (max - min channel, 0..1) of the printed, non-trace pixels.

    High for a coloured grid (colour separation works), low for grey/black grids.
    """
    small = rgb[::4, ::4].astype(np.int16)
    hi, lo = small.max(axis=2), small.min(axis=2)
    printed = (255 - lo > 40) & (255 - hi < 120)  # visible in some channel, not black ink
    if printed.sum() < 50:
        return 0.0
    return float(np.median(hi[printed] - lo[printed]) / 255.0)
