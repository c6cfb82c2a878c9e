"""Orientation: pages on their side or upside down."""
import numpy as np
import pytest

from ecg_digitize.synth import render


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_page_on_its_side_or_upside_down_is_turned_upright(sim12, turns):
    # a sheet scanned sideways or upside down: upside down, its calibration pulses hang
    # below the rows at their far ends; on its side, its long curves run down the page
    from ecg_digitize import digitize
    from ecg_digitize.metrics import score_record

    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout="3x4+II", dpi=150, seed=1)
    rec = digitize(np.ascontiguousarray(np.rot90(image, turns)))   # counter-clockwise turns
    assert rec.geometry["quarter_turns"] == turns
    assert rec.warnings[0].startswith(f"the page was turned {90 * turns} deg clockwise")
    assert rec.layout == "3x4+II"
    assert score_record(rec, truth).snr > 20


def test_upright_page_without_pulses_is_not_turned(sim12):
    from ecg_digitize import digitize

    sig, fs, leads = sim12
    image, _ = render(sig, fs, leads, layout="3x4+II", dpi=150, seed=1, cal_pulse="none")
    assert digitize(image).geometry.quarter_turns == 0


def test_upside_down_page_whose_qrs_passes_for_a_pulse_is_turned():
    """PTB-XL 119 upside down: at two rows' ends a QRS passes for an upright calibration
    pulse, while all four rows end in a pulse hanging down. More pulses hang than stand,
    so the page is turned (it was read upside down, -0.85 dB)."""
    from ecg_digitize import digitize
    from ecg_digitize.datasets import DataNotFoundError
    from ecg_digitize.metrics import score_record
    from ecg_digitize.synth import load_ptbxl

    try:
        sig, fs, leads = load_ptbxl(119)
    except DataNotFoundError as e:
        pytest.skip(f"PTB-XL not available: {e}")
    image, truth = render(sig, fs, leads, layout="3x4+II", dpi=200, seed=119)
    rec = digitize(np.ascontiguousarray(np.rot90(image, 2)))
    assert rec.geometry.quarter_turns == 2
    assert score_record(rec, truth).snr > 20
