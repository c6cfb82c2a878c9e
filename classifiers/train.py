"""Train the classifiers again from the shared data, one command per model.

Examples
--------
::

    python -m classifiers.train mitbih --split inter --out pretrained/mitbih-aami5.keras
    python -m classifiers.train mitbih --split random --out runs/mitbih-random.keras
    python -m classifiers.train ptbxl-mi --out pretrained/ptbxl-mi.keras
    python -m classifiers.train cinc2017 --out pretrained/cinc2017-af.keras

Each run writes ``<out>.keras`` and a JSON sidecar ``<out>.json`` (classes, split,
command, seconds, machine, best epoch). Data come from ``--data`` or ``ECG_DATA_DIR``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from ._preprocess import BEAT_FS, BEAT_LEN, RHYTHM_FS, RHYTHM_WIN


def _machine() -> str:
    return f"{platform.machine()} {os.cpu_count()} logical CPUs ({platform.processor() or 'cpu'}), " \
           f"TF threads {os.environ.get('ECG_CLASSIFY_THREADS', '2')}"


def _save(model, out: Path, info: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    info = {**info, "command": "python -m classifiers.train " + " ".join(sys.argv[1:]),
            "machine": _machine(), "keras_file_mb": round(out.stat().st_size / 2**20, 2)}
    out.with_suffix(".json").write_text(json.dumps(info, indent=2))
    print(f"saved {out} ({info['keras_file_mb']} MB)")


# ---------------------------------------------------------------------- MIT-BIH
def augment_beats(xb, rng):
    """Amplitude scaling, noise, baseline tilt and +-2 sample shifts (R-peak jitter of a detector)."""
    beats, *rest = xb
    n = beats.shape[0]
    beats = beats * rng.uniform(0.8, 1.2, (n, 1, 1))
    beats = beats + rng.normal(0, 1, (n, 1, 1)) * rng.uniform(0, 0.05, (n, 1, 1)) \
        * rng.standard_normal(beats.shape)
    tilt = np.linspace(-1, 1, beats.shape[1])[None, :, None] * rng.normal(0, 0.05, (n, 1, 1))
    beats = beats + tilt
    shift = rng.integers(-2, 3)
    if shift:
        beats = np.roll(beats, shift, axis=1)
    if rest:
        rr = rest[0] * rng.uniform(0.97, 1.03, (n, 1))  # interval jitter
        return [beats.astype("float32"), rr.astype("float32")]
    return [beats.astype("float32")]


def train_mitbih(args) -> None:
    from .datasets.mitdb import AAMI_CLASSES, ALL_RECORDS, DS1, DS2, load_mitdb
    from ._tf import keras_setup
    from ._training import class_weights, fit_model
    from .models import build_kachuee

    keras_setup(args.threads, seed=args.seed)
    cache = Path(args.cache) if args.cache else None
    rng = np.random.default_rng(args.seed)
    if args.split == "inter":
        data = load_mitdb(DS1, args.data, cache / "mitdb_ds1.npz" if cache else None)
        # Validation for early stopping: 10 % of DS1 beats. DS2 is never seen in training.
        idx = rng.permutation(data["label"].size)
        n_val = data["label"].size // 10
        val_idx, tr_idx = idx[:n_val], idx[n_val:]
        split_desc = "train: DS1 (22 records, de Chazal 2004) minus a random 10 % of its beats " \
                     "held for early stopping; test: DS2 (never seen). Paced 102/104/107/217 excluded."
    else:
        data = load_mitdb(ALL_RECORDS, args.data, cache / "mitdb_all.npz" if cache else None)
        idx = rng.permutation(data["label"].size)
        n_test = data["label"].size // 5
        test_idx, rest = idx[:n_test], idx[n_test:]
        n_val = rest.size // 10
        val_idx, tr_idx = rest[:n_val], rest[n_val:]
        split_desc = "random beat-level 80/20 over all 48 records (seed %d); 10 %% of the 80 %% " \
                     "held for early stopping; intra-patient, comparable to Kachuee 2018" % args.seed
    x = data["beats"][:, :, None].astype("float32")
    rr = data["rr"].astype("float32")
    y = data["label"]
    cw = class_weights(y[tr_idx], len(AAMI_CLASSES), power=args.weight_power, cap=args.weight_cap)
    print("class counts", np.bincount(y[tr_idx], minlength=5), "weights", np.round(cw, 2))
    model = build_kachuee(len(AAMI_CLASSES), rr_features=True,
                          rr_mean=rr[tr_idx].mean(0), rr_var=rr[tr_idx].var(0))
    hist = fit_model(model, [x[tr_idx], rr[tr_idx]], y[tr_idx], [x[val_idx], rr[val_idx]],
                     y[val_idx], epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                     train_weights=cw[y[tr_idx]], val_weights=cw[y[val_idx]],
                     augment=augment_beats, patience=args.patience, seed=args.seed,
                     time_limit_s=args.time_limit)
    info = {"name": "mitbih-aami5", "task": "beats", "classes": list(AAMI_CLASSES),
            "fs": BEAT_FS, "beat_len": BEAT_LEN, "inputs": ["beat", "rr"],
            "split": args.split, "split_description": split_desc, "seed": args.seed,
            "class_weights": cw.round(4).tolist(), "n_train_beats": int(tr_idx.size),
            "train_seconds": round(hist["seconds"], 1), "epochs_run": len(hist["loss"]),
            "best_epoch": hist.get("best_epoch"), "history": hist,
            "test_records": list(DS2) if args.split == "inter" else "random 20 % (seed)",
            }
    if args.split == "random":
        np.save(Path(args.out).with_suffix(".test_idx.npy"), test_idx)
    _save(model, Path(args.out), info)


# ---------------------------------------------------------------------- CLI
def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m classifiers.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="task", required=True)

    def common(sp, out, epochs, batch, lr):
        sp.add_argument("--data", default=None, help="data set folder (default: ECG_DATA_DIR/<name>)")
        sp.add_argument("--out", default=out)
        sp.add_argument("--epochs", type=int, default=epochs)
        sp.add_argument("--batch-size", type=int, default=batch)
        sp.add_argument("--lr", type=float, default=lr)
        sp.add_argument("--patience", type=int, default=4)
        sp.add_argument("--seed", type=int, default=0)
        sp.add_argument("--threads", type=int, default=None)
        sp.add_argument("--time-limit", type=float, default=None, help="seconds")
        sp.add_argument("--cache", default="runs/cache", help="folder for preprocessed arrays")

    sp = sub.add_parser("mitbih", help="mitbih-aami5 beat classifier")
    common(sp, "pretrained/mitbih-aami5.keras", 20, 128, 1e-3)
    sp.add_argument("--split", choices=["inter", "random"], default="inter")
    sp.add_argument("--weight-power", type=float, default=0.5)
    sp.add_argument("--weight-cap", type=float, default=20.0)
    sp = sub.add_parser("ptbxl-mi", help="MI transfer model")
    common(sp, "pretrained/ptbxl-mi.keras", 30, 64, 1e-3)
    sp.add_argument("--beat-model", default="pretrained/mitbih-aami5.keras")
    sp.add_argument("--variant", choices=["lead2", "12lead", "both"], default="both")
    sp = sub.add_parser("cinc2017", help="cinc2017-af rhythm classifier")
    common(sp, "pretrained/cinc2017-af.keras", 40, 32, 2e-3)
    sp.add_argument("--width", type=int, default=16)
    sp.add_argument("--blocks", type=int, default=8)
    sp.add_argument("--weight-power", type=float, default=0.5)
    args = p.parse_args(argv)
    if args.data is None:
        args.data = None  # loaders default to ecg_digitize.datasets.dataset_path
    {"mitbih": train_mitbih, "ptbxl-mi": lambda a: train_ptbxl_mi(a),
     "cinc2017": lambda a: train_cinc2017(a)}[args.task](args)


if __name__ == "__main__":
    main()
