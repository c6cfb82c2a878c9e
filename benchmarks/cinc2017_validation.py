"""Score CinC 2017 rhythm models on the training run's validation records only (never the test fold).

The 10 % stratified validation split is rebuilt exactly as ``classifiers.train cinc2017``
draws it (seed 0), so candidate models can be compared without touching the test fold.

Usage::

    python benchmarks/cinc2017_validation.py runs/cinc2017-af-stage1.keras pretrained/cinc2017-af.keras
"""
import sys
import numpy as np
from pathlib import Path
from classifiers.datasets.cinc2017 import RHYTHM_CLASSES, cinc2017_split, load_cinc2017
from classifiers._models import load_model
from classifiers.rhythm import predict_rhythm_probs
from classifiers.metrics import classification_report, cinc2017_score
d = load_cinc2017(cache=Path("runs/cache/cinc2017.npz"), progress=False)
y = d["label"]
_, val_idx = cinc2017_split(y, d["test_fold"], seed=0)
for m in sys.argv[1:]:
    net = load_model(m)
    pred = np.array([int(np.argmax(predict_rhythm_probs(net, d["signals"][i], d["hrv"][i])[0]))
                     for i in val_idx])
    rep = classification_report(y[val_idx], pred, RHYTHM_CLASSES)
    print(m, "validation n", len(val_idx), "F1", {k: round(v["F1"], 3) for k, v in rep["per_class"].items()},
          "score", round(cinc2017_score(rep["per_class"]), 4))
