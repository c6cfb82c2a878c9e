"""Run the 1D classifiers on a digitized Record for the web tool, never failing the request.

Each classifier answers on its own: a missing model file, a missing TensorFlow or a
classifier error becomes ``{"available": false, "message": ...}`` for that classifier only.
"""
from __future__ import annotations

import math
import threading
from typing import Any

# Keras models are not documented as safe to call from several threads at once.
_LOCK = threading.Lock()

MODELS = {"rhythm": "cinc2017-af", "mi": "ptbxl-mi", "beats": "mitbih-aami5"}
DISCLAIMER = ("Research use only. Not a medical device: these outputs must not be used for "
              "diagnosis or treatment.")


def card_url(model: str) -> str:
    """Where the web tool serves a model's card."""
    return f"/api/models/{model}.md"


def _unavailable(model: str, message: str) -> dict[str, Any]:
    return {"model": model, "card": card_url(model), "available": False,
            "message": f"model not available: {message}"}


def _finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def classify_record(record: Any) -> dict[str, Any]:
    """Rhythm (CinC 2017 classes), MI probability and AAMI beat counts for a Record.

    Returns
    -------
    dict
        ``{"rhythm": ..., "mi": ..., "beats": ..., "disclaimer": ...}``; each part names
        its ``model`` and ``card`` and has ``available`` true or false with a ``message``.
    """
    out: dict[str, Any] = {"disclaimer": DISCLAIMER}
    try:
        import classifiers
        from classifiers import model_path
    except Exception as exc:  # classifiers not installed or broken: say so, don't fail
        for key, model in MODELS.items():
            out[key] = _unavailable(model, f"classifiers package cannot be imported ({exc})")
        return out
    for key, model in MODELS.items():
        if not model_path(model).exists():
            out[key] = _unavailable(model, f"{model}.keras is not installed in pretrained/")
            continue
        try:
            with _LOCK:
                out[key] = {"model": model, "card": card_url(model), "available": True,
                            **_RUNNERS[key](classifiers, record, model)}
        except ImportError as exc:
            out[key] = _unavailable(model, f"TensorFlow/Keras is not installed ({exc.name})")
        except Exception as exc:  # one classifier's failure must not hide the others
            out[key] = {"model": model, "card": card_url(model), "available": True,
                        "error": f"{type(exc).__name__}: {exc}"}
    return out


def _rhythm(classifiers, record, model) -> dict[str, Any]:
    res = classifiers.classify_rhythm(record, model=model)
    return {"label": res.label, "description": res.description,
            "probabilities": {k: _finite(v) for k, v in res.probabilities.items()},
            "lead": res.lead, "duration_s": _finite(res.duration_s), "warnings": res.warnings}


def _mi(classifiers, record, model) -> dict[str, Any]:
    res = classifiers.detect_mi(record, model=model)
    return {"label": res.label, "probability": _finite(res.probability),
            "threshold": _finite(res.threshold), "n_beats": res.n_beats, "warnings": res.warnings}


def _beats(classifiers, record, model) -> dict[str, Any]:
    df = classifiers.classify_beats(record, model=model)
    counts = {c: int((df["label"] == c).sum()) for c in classifiers.AAMI_CLASSES}
    return {"counts": counts, "n_beats": int(len(df)), "lead": df.attrs.get("lead"),
            "warnings": list(df.attrs.get("warnings", []))}


_RUNNERS = {"rhythm": _rhythm, "mi": _mi, "beats": _beats}
