"""``ecg-digitize demo``: the whole loop on an embedded default, no data needed.

Simulate a 12-lead ECG, render it as a paper page, digitize the page, score the result
against the truth, and write the outputs and an overlay PNG.
"""
from __future__ import annotations

import time
from pathlib import Path

import cv2


def demo(out="ecg-digitize-demo", *, layout: str = "3x4+II", preset: str = "clean",
         dpi: float = 200, seed: int = 0, verbose: bool = True) -> dict:
    """Run the demo; returns a dict with the paths written and the score.

    Examples
    --------
    >>> from ecg_digitize.demo import demo
    >>> result = demo("/tmp/demo", dpi=100, verbose=False)  # doctest: +SKIP
    >>> result["snr"] > 15  # doctest: +SKIP
    True
    """
    from .metrics import score_record, self_consistency
    from .overlay import save_overlay_image
    from .synth import render, simulate_12lead

    say = print if verbose else (lambda *a, **k: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sig, fs, leads = simulate_12lead(duration=10, seed=seed)
    image, truth = render(sig, fs, leads, layout=layout, preset=preset, dpi=dpi, seed=seed)
    page = out / "page.png"
    cv2.imwrite(str(page), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    truth.to_wfdb(out, "truth")
    say(f"rendered {layout} page ({preset}, {dpi:g} dpi) -> {page}")
    result = {"page": str(page), "truth": str(out / "truth.hea")}
    try:
        from .digitizer import digitize
    except ImportError:
        say("digitize() is not available in this installation; wrote the page and its truth only")
        return result
    t0 = time.perf_counter()
    record = digitize(page)
    seconds = time.perf_counter() - t0
    score = score_record(record, truth)
    say(f"digitized in {seconds:.2f} s: {record}")
    say(score.table())
    consistency = self_consistency(record)
    say(f"mean SNR {score.snr:.2f} dB | self-consistency (no truth needed) {consistency['mean']:.1f} dB")
    record.to_wfdb(out, "digitized")
    record.to_csv(out / "digitized.csv")
    record.to_json(out / "digitized.json")
    save_overlay_image(image, record, out / "overlay.png")
    say(f"wrote {out}/digitized.hea/.dat/.csv/.json and {out}/overlay.png")
    result.update(snr=score.snr, seconds=seconds, overlay=str(out / "overlay.png"),
                  digitized=str(out / "digitized.hea"))
    return result
