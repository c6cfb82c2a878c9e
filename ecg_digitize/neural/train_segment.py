"""Train the U-Net trace segmenter on rendered ``scan`` / ``photo`` pages.

Usage::

    python -m ecg_digitize.neural.train_segment --out pretrained/unet-trace.keras
    python -m ecg_digitize.neural.train_segment --quick --out runs/unet-quick.keras

Pages are drawn by :func:`ecg_digitize.synth.render` from PTB-XL train folds 1-8
(validation: fold 9; fold 10 is left for the benchmark) or, without PTB-XL, from
``simulate_12lead``. Each page gets a random preset (scan / photo, a few clean), layout,
resolution and seed; training sees 128 px crops, two thirds of them centred on ink.
The target is the pen's ink that the digitizer reads: the traces and the calibration
pulses (which give the gain and the time axis), not the grid, text or separators.
``--init`` starts from earlier weights (fine-tuning) instead of from scratch.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from . import segment as sg

LAYOUTS = ("3x4+II", "3x4+II", "3x4", "6x2", "12x1", "3x4+II,V1,V5")


def _signals(folds, n: int, seed: int):
    """``n`` (signal, fs, leads) from PTB-XL ``folds`` (cycled) or simulated."""
    from ecg_digitize.datasets import has_dataset
    from ecg_digitize.synth import load_ptbxl, ptbxl_records, simulate_12lead

    if has_dataset("ptbxl"):
        ids = ptbxl_records(folds=folds)
        return [load_ptbxl(ids[(seed + i) % len(ids)]) for i in range(n)]
    return [simulate_12lead(seed=seed + i) for i in range(n)]


def render_pages(folds, n: int, seed: int, presets=("scan", "photo")):
    """Yield ``(image, ink_mask_bool, pulse_mask_bool, preset)`` for ``n`` random pages."""
    from ecg_digitize.synth import render

    rng = np.random.default_rng(seed)
    for i, (sig, fs, leads) in enumerate(_signals(folds, n, seed)):
        preset = presets[i % len(presets)]
        img, truth = render(sig, fs, leads, layout=str(rng.choice(LAYOUTS)), preset=preset,
                            dpi=float(rng.choice([150, 200, 200, 250])), seed=seed * 1000 + i)
        pulses = truth.geometry["pulse_mask"]
        yield img, (truth.geometry["trace_mask"] > 0) | pulses, pulses, preset


def crops(image, mask, k: int, size: int, rng, on_trace: float = 2 / 3, focus=None,
          on_focus: float = 0.1):
    """``k`` random ``size`` crops: a fraction ``on_trace`` centred on ``mask`` pixels, of
    which a share ``on_focus`` on ``focus`` pixels (rare ink, such as calibration pulses)."""
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    fy, fx = np.nonzero(focus) if focus is not None else (ys[:0], xs[:0])
    out_x = np.zeros((k, size, size, 3), np.uint8)
    out_y = np.zeros((k, size, size), np.uint8)
    for j in range(k):
        if ys.size and rng.random() < on_trace:
            py, px = (fy, fx) if fy.size and rng.random() < on_focus else (ys, xs)
            t = rng.integers(py.size)
            jitter = size // 3
            cy = py[t] + rng.integers(-jitter, jitter + 1)
            cx = px[t] + rng.integers(-jitter, jitter + 1)
        else:
            cy, cx = rng.integers(h), rng.integers(w)
        y0 = int(np.clip(cy - size // 2, 0, h - size))
        x0 = int(np.clip(cx - size // 2, 0, w - size))
        out_x[j] = image[y0:y0 + size, x0:x0 + size]
        out_y[j] = mask[y0:y0 + size, x0:x0 + size]
    return out_x, out_y


def make_set(folds, n_pages: int, per_page: int, size: int, seed: int, presets=("scan", "photo")):
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for img, m, pulses, _ in render_pages(folds, n_pages, seed, presets):
        a, b = crops(img, m, per_page, size, rng, focus=pulses)
        xs.append(a); ys.append(b)
    return np.concatenate(xs), np.concatenate(ys)


def augment(batch, rng):
    """Brightness, contrast, colour cast and channel order: colour and light vary in photos."""
    (x,) = batch
    x = x.astype(np.float32) / 255.0
    n = x.shape[0]
    gain = rng.uniform(0.7, 1.2, (n, 1, 1, 1)) * rng.uniform(0.9, 1.1, (n, 1, 1, 3))
    bias = rng.uniform(-0.1, 0.1, (n, 1, 1, 1))
    x = np.clip(x * gain + bias, 0, 1)
    flip = rng.random(n) < 0.2     # occasionally swap channels: other grid colours
    x[flip] = x[flip][..., ::-1]
    return [x.astype(np.float32)]


def pixel_scores(prob: np.ndarray, truth: np.ndarray, thr: float = 0.5) -> dict:
    """Precision, recall, F1 and IoU of ``prob > thr`` against a boolean mask."""
    p = prob > thr
    t = truth.astype(bool)
    tp = float(np.sum(p & t)); fp = float(np.sum(p & ~t)); fn = float(np.sum(~p & t))
    prec = tp / max(tp + fp, 1); rec = tp / max(tp + fn, 1)
    return {"precision": prec, "recall": rec, "F1": 2 * prec * rec / max(prec + rec, 1e-9),
            "IoU": tp / max(tp + fp + fn, 1)}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=str(sg.default_model_path()))
    p.add_argument("--pages", type=int, default=48)
    p.add_argument("--per-page", type=int, default=60)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--base", type=int, default=8)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--pos-weight", type=float, default=3.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--time-limit", type=float, default=1500.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init", default=None, help="start from these weights (fine-tune)")
    p.add_argument("--quick", action="store_true")
    a = p.parse_args(argv)
    if a.quick:
        a.pages, a.per_page, a.epochs = 4, 16, 1

    from ecg_digitize.keras_utils import fit_model

    from ._keras import keras_setup

    keras_setup(a.threads, a.seed)
    t0 = time.time()
    xtr, ytr = make_set(range(1, 9), a.pages, a.per_page, a.size, a.seed)
    xva, yva = make_set([9], max(2, a.pages // 8), a.per_page, a.size, a.seed + 500)
    print(f"data {time.time() - t0:.0f} s: {len(xtr)} train / {len(xva)} val crops, "
          f"trace fraction {ytr.mean():.4f}", flush=True)
    if a.init:
        from ._keras import load_pretrained
        model = load_pretrained(a.init)
    else:
        model = sg.build_unet(base=a.base)
    print(f"parameters {model.count_params()}", flush=True)
    w_tr = np.where(ytr > 0, a.pos_weight, 1.0).astype(np.float16)
    w_va = np.where(yva > 0, a.pos_weight, 1.0).astype(np.float32)
    hist = fit_model(model, [xtr], ytr[..., None].astype(np.float32),
                     [xva.astype(np.float32) / 255], yva[..., None].astype(np.float32), epochs=a.epochs, batch_size=a.batch, lr=a.lr,
                     loss="binary_crossentropy", train_weights=w_tr, val_weights=w_va,
                     augment=augment, patience=3, seed=a.seed, time_limit_s=a.time_limit)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    pv = np.asarray(model.predict(xva.astype(np.float32) / 255, verbose=0))[..., 0]
    val = pixel_scores(pv, yva)
    print("validation crops (fold 9):", {k: round(v, 3) for k, v in val.items()}, flush=True)
    info = {"command": "python -m ecg_digitize.neural.train_segment " + " ".join(
                argv if argv is not None else __import__("sys").argv[1:]),
            "train_seconds": round(hist["seconds"], 1), 
            "best_epoch": hist.get("best_epoch"), "history": hist,
            "parameters": int(model.count_params()), "val_pixels": val,
            "n_train_crops": int(len(xtr)), "n_val_crops": int(len(xva))}
    if a.init and Path(a.init).with_suffix(".json").exists():   # the lineage, for the card
        info["fine_tuned_from"] = json.loads(Path(a.init).with_suffix(".json").read_text())
    out.with_suffix(".json").write_text(json.dumps(info, indent=1))
    return info


if __name__ == "__main__":
    main()
