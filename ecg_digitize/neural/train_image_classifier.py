"""Train the image-only classifier (NORM / MI / other) on rendered PTB-XL pages.

Usage::

    python -m ecg_digitize.neural.train_image_classifier --out pretrained/ptbxl-image.keras
    python -m ecg_digitize.neural.train_image_classifier --quick --out runs/image-quick.keras

Each PTB-XL record of folds 1-8 is rendered ``--renders`` times (random clean or scan
preset, 3x4-family or 6x2 layout, 100-150 dpi, paper style from the seed), digitized by
the classical route to place its leads, and cut into a lead-image stack. Fold 9, rendered
twice per record, is the validation set for early stopping; fold 10 is left to
``benchmarks/image_vs_signal_mi.py``. Stacks are cached under ``--cache``.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from . import image_classifier as ic

LAYOUTS = ("3x4+II", "3x4+II", "3x4+II", "3x4", "6x2", "3x4+II,V1,V5")
PRESETS = ("clean", "scan", "scan")


def ptbxl_labels(folds) -> dict[int, int]:
    """``{ecg_id: class index}`` for the present PTB-XL records of ``folds``."""
    from classifiers.datasets.ptbxl import ptbxl_table
    from ecg_digitize.synth import ptbxl_records

    table = ptbxl_table()
    return {i: ic.label_of(bool(table.NORM[i]), bool(table.MI[i])) for i in ptbxl_records(folds=folds)}


def render_stack(ecg_id: int, seed: int, preset: str | None = None, layout: str | None = None,
                 dpi: float | None = None):
    """Render one PTB-XL record as a page, digitize it and cut its lead-image stack.

    Returns ``(stack, page, record)``; raises ``DigitizeError`` when the page is not read.
    """
    from ecg_digitize import digitize
    from ecg_digitize.synth import load_ptbxl, render

    rng = np.random.default_rng(seed)
    sig, fs, leads = load_ptbxl(ecg_id)
    page, _ = render(sig, fs, leads, layout=layout or str(rng.choice(LAYOUTS)),
                     preset=preset or str(rng.choice(PRESETS)),
                     dpi=dpi or float(rng.choice([100, 125, 150])), seed=seed)
    record = digitize(page)
    return ic.lead_image_stack(page, record), page, record


def build_set(labels: dict[int, int], renders: int, seed: int, cache: Path | None = None):
    """Stacks, labels and ecg_ids of ``renders`` pages per record (failed pages skipped)."""
    from ecg_digitize.errors import DigitizeError

    if cache is not None and cache.exists():
        z = np.load(cache)
        return z["x"], z["y"], z["ids"]
    xs, ys, ids, failed = [], [], [], 0
    t0 = time.time()
    for n, (ecg_id, label) in enumerate(labels.items()):
        for r in range(renders):
            try:
                stack, _, _ = render_stack(ecg_id, seed=seed + 1000 * r + ecg_id)
            except DigitizeError:
                failed += 1
                continue
            xs.append(stack), ys.append(label), ids.append(ecg_id)
        if n % 25 == 0:
            print(f"  {n + 1}/{len(labels)} records, {len(xs)} pages, {failed} not read, "
                  f"{time.time() - t0:.0f} s", flush=True)
    x, y, ids = np.stack(xs), np.array(ys, np.int8), np.array(ids, np.int32)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(cache, x=x, y=y, ids=ids)
    return x, y, ids


def augment(batch, rng):
    """Label-preserving: small shifts, ink contrast and background noise."""
    (x,) = batch
    x = x.astype(np.float32)
    out = np.empty_like(x)
    for i in range(len(x)):
        dy, dx = rng.integers(-4, 5, size=2)
        out[i] = np.roll(x[i], (dy, dx), axis=(0, 1))
    gain = rng.uniform(0.7, 1.3, size=(len(x), 1, 1, 1)).astype(np.float32)
    noise = rng.normal(0, 6, size=x.shape).astype(np.float32)
    return [np.clip(out * gain + noise, 0, 255)]


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=str(ic.default_model_path()))
    p.add_argument("--renders", type=int, default=3, help="pages per training record")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--base", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--time-limit", type=float, default=2400.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", default="runs/image_classifier")
    p.add_argument("--quick", action="store_true", help="tiny run: 12 train and 6 validation records")
    a = p.parse_args(argv)

    from classifiers.metrics import binary_report, classification_report
    from ecg_digitize.keras_utils import class_weights, fit_model

    from ._keras import keras_setup

    keras_setup(a.threads, a.seed)
    train_labels, val_labels = ptbxl_labels(range(1, 9)), ptbxl_labels([9])
    cache = None if a.quick else Path(a.cache)
    if a.quick:
        train_labels = dict(list(train_labels.items())[:12])
        val_labels = dict(list(val_labels.items())[:6])
        a.renders, a.epochs = 1, 1
    t0 = time.time()
    xtr, ytr, _ = build_set(train_labels, a.renders, a.seed,
                            cache and cache / f"train_r{a.renders}_s{a.seed}.npz")
    xva, yva, _ = build_set(val_labels, 2, a.seed + 7,
                            cache and cache / f"val_s{a.seed + 7}.npz")
    print(f"data {time.time() - t0:.0f} s: train {len(xtr)} pages {np.bincount(ytr, minlength=3)}, "
          f"validation {len(xva)} pages {np.bincount(yva, minlength=3)}", flush=True)
    cw = class_weights(ytr, len(ic.CLASSES), power=1.0)
    model = ic.build_model(base=a.base)
    hist = fit_model(model, [xtr], ytr, [xva], yva, epochs=a.epochs, batch_size=a.batch,
                     lr=a.lr, train_weights=cw[ytr], val_weights=cw[yva], augment=augment,
                     patience=6, seed=a.seed, time_limit_s=a.time_limit)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    probs = model.predict(xva, verbose=0)
    val = {"classes": classification_report(yva, probs.argmax(1), ic.CLASSES),
           "mi_vs_rest": binary_report((yva == 1).astype(int), probs[:, 1], n_boot=500)}
    info = {"command": "python -m ecg_digitize.neural.train_image_classifier "
                       + " ".join(argv if argv is not None else __import__("sys").argv[1:]),
            "classes": list(ic.CLASSES), "train_folds": list(range(1, 9)), "val_fold": 9,
            "train_pages": int(len(xtr)), "val_pages": int(len(xva)),
            "parameters": int(model.count_params()), "class_weights": cw.tolist(),
            "train_seconds": round(hist["seconds"], 1), "best_epoch": hist.get("best_epoch"),
            "fold9_validation": val}
    out.with_suffix(".json").write_text(json.dumps(info, indent=1, default=float))
    print(f"fold 9 (validation, used for early stopping): MI AUC {val['mi_vs_rest']['auc']:.3f}",
          flush=True)
    return info


if __name__ == "__main__":
    main()
