"""The shipped models: names, files and what each expects."""
from __future__ import annotations

import json
from pathlib import Path

MODELS = {
    "mitbih-aami5": "Beat classes N/S/V/F/Q (AAMI EC57), Kachuee 2018 residual CNN + RR features, "
                    "trained on MIT-BIH DS1 (inter-patient).",
    "ptbxl-mi": "Myocardial infarction vs not, frozen mitbih-aami5 trunk + new head, "
                "PTB-XL folds 1-8.",
    "cinc2017-af": "Rhythm N/A/O/~ (normal, AF, other, noisy), small Andreotti-style 1D ResNet "
                   "+ RR features, CinC 2017 (test fold: record numbers divisible by 5).",
    "cinc2017-af-digitized": "cinc2017-af fine-tuned on strips digitized from rendered paper "
                             "(Ulster study); 0.790 vs 0.803 for cinc2017-af on digitized pages.",
}


def pretrained_dir() -> Path:
    from pretrained import PRETRAINED_DIR

    return Path(PRETRAINED_DIR)


def model_path(name: str) -> Path:
    return pretrained_dir() / f"{name}.keras"


def model_info(name: str) -> dict:
    """The JSON sidecar written at training time (classes, preprocessing, command)."""
    path = pretrained_dir() / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}
