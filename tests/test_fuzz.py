"""Never crash, never hang: ``digitize`` on odd inputs raises only the project's own errors.

The corpus and the harness are in ``fuzz_inputs.py`` (shared with
``benchmarks/fuzz_corpus.py``): each input is digitized in a child process with a
time limit, so a hang or a crash is reported, not suffered. The default run tries a few
inputs of every category; ``-m slow`` tries all of them (about 400).
"""
from __future__ import annotations

from pathlib import Path

import pytest

import fuzz_inputs

# Per input in the quick subset: a 100 dpi page reads in under 5 s on a busy 2-core box.
QUICK_LIMIT_S = 30.0
UNET_WEIGHTS = Path(__file__).resolve().parents[1] / "pretrained" / "unet-trace.keras"


def _assert_clean(outcomes: list) -> None:
    summary = fuzz_inputs.summarise(outcomes)
    foreign = [f"{o.case.name}: {o.error}: {o.message} at {o.where}" for o in summary.foreign]
    assert not foreign, foreign
    assert not summary.hangs, [o.case.name for o in summary.hangs]
    assert not summary.crashes, [f"{o.case.name}: {o.message}" for o in summary.crashes]
    assert not summary.unnamed, [f"{o.case.name}: {o.message}" for o in summary.unnamed]


@pytest.fixture(scope="module")
def quick_corpus(tmp_path_factory):
    return fuzz_inputs.make_corpus(tmp_path_factory.mktemp("fuzz-quick"), quick=True)


def test_quick_corpus_covers_every_category(quick_corpus):
    categories = {c.category for c in quick_corpus}
    assert len(quick_corpus) >= 40 and len(categories) >= 20, (len(quick_corpus), sorted(categories))


def test_quick_corpus_raises_only_project_errors(quick_corpus):
    outcomes = fuzz_inputs.run_corpus(quick_corpus, limit_s=QUICK_LIMIT_S)
    _assert_clean(outcomes)
    assert any(o.status == "ok" for o in outcomes) and any(o.status == "project" for o in outcomes)


def test_harness_reports_hangs_and_foreign_errors(tmp_path):
    """The harness itself: a case that does not finish in time is a hang, not a wait."""
    import numpy as np

    path = tmp_path / "page.npy"
    np.save(path, np.full((400, 600), 255, np.uint8))
    case = fuzz_inputs.FuzzCase("blank", "blank", str(path), "array")
    outcomes = fuzz_inputs.run_corpus([case], limit_s=0.001)
    assert outcomes[0].status == "hang"
    again = fuzz_inputs.run_corpus([case], limit_s=QUICK_LIMIT_S)
    assert again[0].status == "project" and again[0].error == "NotAnEcgError"


@pytest.mark.slow
def test_whole_corpus_raises_only_project_errors(tmp_path):
    cases = fuzz_inputs.make_corpus(tmp_path)
    assert len(cases) >= 300
    _assert_clean(fuzz_inputs.run_corpus(cases))


@pytest.mark.slow
@pytest.mark.skipif(not UNET_WEIGHTS.exists(), reason="needs pretrained/unet-trace.keras")
def test_auto_method_on_the_quick_corpus(quick_corpus):
    """method="auto" runs the U-Net route on what the classical route refuses."""
    _assert_clean(fuzz_inputs.run_corpus(quick_corpus, limit_s=300, method="auto"))
