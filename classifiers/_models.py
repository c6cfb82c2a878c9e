"""Loading the shipped Keras models (safe mode, cached, no network)."""
from __future__ import annotations

import functools
import json
from pathlib import Path

from ._registry import MODELS, model_path


def available_models() -> dict[str, str]:
    """Names of the pretrained models found in ``pretrained/``, with a one-line description.

    Examples
    --------
    >>> import classifiers
    >>> sorted(classifiers.available_models())  # doctest: +SKIP
    ['cinc2017-af', 'mitbih-aami5', 'ptbxl-mi']
    """
    return {name: desc for name, desc in MODELS.items() if model_path(name).exists()}


def load_model(name: str):
    """Load a pretrained model by name (or a ``.keras`` path) in Keras safe mode.

    Parameters
    ----------
    name : str
        One of :func:`available_models` (``"mitbih-aami5"``, ``"ptbxl-mi"``,
        ``"cinc2017-af"``) or a path to a ``.keras`` file.

    Returns
    -------
    keras.Model
        Cached: loading the same name twice returns the same object. Its training
        metadata (classes, rate, command) is in ``model.ecg_info``.

    Examples
    --------
    >>> import classifiers
    >>> model = classifiers.load_model("mitbih-aami5")  # doctest: +SKIP
    >>> model.ecg_info["classes"]  # doctest: +SKIP
    ['N', 'S', 'V', 'F', 'Q']
    """
    if name in MODELS:
        path = model_path(name)
    elif str(name).endswith(".keras"):
        path = Path(name)
    else:
        raise ValueError(f"unknown model {name!r}; available: {sorted(available_models())}")
    if not path.exists():
        raise FileNotFoundError(f"{path} not found (model {name!r} is not shipped in this install)")
    return _load(str(path.resolve()))


@functools.lru_cache(maxsize=8)
def _load(path: str):
    from ecg_digitize.keras_utils import keras_setup

    keras = keras_setup()
    model = keras.saving.load_model(path, safe_mode=True, compile=False)
    side = Path(path).with_suffix(".json")
    model.ecg_info = json.loads(side.read_text()) if side.exists() else {}
    return model
