"""A few pages' readings pinned: a change to the digitizer that alters them must say so.

The pages are our renderer's (simulated signals, no data needed), in three conditions of
``benchmarks/same_output.py``. The readings are stored to 1 uV in
``tests/data/golden_readings.npz``; after a change meant to alter them, regenerate with
``ECG_DIGITIZE_WRITE_GOLDEN=1 python -m pytest tests/test_golden_readings.py`` and say
why in the commit.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

GOLDEN = Path(__file__).parent / "data" / "golden_readings.npz"
PAGES = {
    "clean 200 dpi 3x4+II": dict(layout="3x4+II", dpi=200, preset="clean"),
    "scan 150 dpi dotted 3x4+II": dict(layout="3x4+II", dpi=150, preset="scan", grid_style="dotted"),
    "clean 100 dpi 12x1": dict(layout="12x1", dpi=100, preset="clean"),
}


def _readings() -> dict[str, np.ndarray]:
    from ecg_digitize import digitize
    from ecg_digitize.synth import render, simulate_12lead

    sig, fs, leads = simulate_12lead(seed=7)
    out = {}
    for name, style in PAGES.items():
        image, _ = render(sig, fs, leads, seed=3, **style)
        out[name] = digitize(image).signal
    return out


def _as_microvolts(signal: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(signal), np.round(signal * 1000), -32768).astype(np.int16)


def test_readings_match_the_pinned_ones():
    readings = _readings()
    if os.environ.get("ECG_DIGITIZE_WRITE_GOLDEN"):
        np.savez_compressed(GOLDEN, **{k: _as_microvolts(v) for k, v in readings.items()})
        pytest.skip(f"wrote {GOLDEN}")
    golden = np.load(GOLDEN)
    assert sorted(golden.files) == sorted(readings)
    for name, signal in readings.items():
        pinned = golden[name]
        assert pinned.shape == signal.shape, name
        assert np.array_equal(pinned == -32768, ~np.isfinite(signal)), f"{name}: plotted samples moved"
        ok = pinned != -32768
        # 2 uV: rounding to 1 uV, and float noise across library versions
        assert np.abs(pinned[ok] / 1000 - signal[ok]).max() <= 0.002, f"{name}: samples changed"
