"""Stage 11: Cabrera or standard limb-lead order."""
import numpy as np
import pytest

from ecg_digitize.synth import render


@pytest.mark.parametrize("lay", ["3x4+II", "6x2"])
def test_cabrera_page_is_read_in_its_order(sim12, lay):
    # aVL, I, -aVR, II, aVF, III: read in the standard order, its limb leads would break
    # Einthoven's and Goldberger's laws; in its own order they obey them
    from ecg_digitize import digitize
    from ecg_digitize.metrics import score_record

    sig, fs, leads = sim12
    image, truth = render(sig, fs, leads, layout=lay, seed=2, lead_order="cabrera")
    rec = digitize(image)
    assert rec.layout == lay            # the rhythm strip of lead II keeps its name
    assert any(w.startswith("limb leads placed by position in the Cabrera order") for w in rec.warnings)
    limb = ["I", "II", "III", "aVR", "aVL", "aVF"]

    def limb_snr(r):
        return np.mean([score_record(r, truth).leads[name].snr for name in limb])

    assert limb_snr(rec) > 20
    assert limb_snr(digitize(image, lead_order="standard")) < 10
