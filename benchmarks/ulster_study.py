"""Does digitizing cost accuracy? CinC 2017 rhythm classification from paper images, end to end.

The Ulster University study (2019) printed CinC 2017 single-lead ECGs, digitized the
images and fine-tuned a raw-signal rhythm network on the digitized signals. We repeat it
with this toolkit's own parts:

1. ``digitize`` stage: render each record as a single-lead strip page (long records wrap
   into rows; paper styles and the ``scan`` preset vary with the record number), digitize
   the page with :func:`ecg_digitize.digitize`, keep the digitized signal and the page's
   SNR against the truth. Resumable: one ``.npz`` per record under ``--work``.
2. ``evaluate`` stage: on the test fold (record numbers divisible by 5) score
   (a) the raw model on raw signals, (b) the raw model on digitized signals,
   (c) the model fine-tuned on digitized training-fold signals, on digitized signals;
   F1 for N, A, O, ~ and the Challenge score (mean F1 of N, A, O); a figure of the three.
   The fine-tuned model is saved as ``cinc2017-af-digitized``.

Examples
--------
::

    python benchmarks/ulster_study.py --quick                      # a few records, minutes
    python benchmarks/ulster_study.py digitize --train 1200 --test all --workers 2
    python benchmarks/ulster_study.py evaluate --out pretrained/cinc2017-af-digitized.keras
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

CLASSES = ("N", "A", "O", "~")
# Paper styles cycled over the records: (grid colour, grid style, preset, dpi).
STYLES = [
    ("red", "solid", "clean", 150),
    ("pink", "solid", "scan", 150),
    ("orange", "solid", "clean", 120),
    ("green", "dotted", "scan", 150),
    ("grey", "solid", "clean", 150),
]


def page_style(number: int) -> tuple:
    """The paper style of a record's page, cycled over the record numbers.

    Test records (numbers divisible by 5) cycle by ``number // 5``, so the test fold sees
    every style rather than the one ``number % 5 == 0`` would always give; the others
    by ``number % 5`` (styles 1-4: style 0, clean red paper, appears only in the test fold).
    """
    k = number % len(STYLES)
    return STYLES[(number // 5) % len(STYLES) if k == 0 else k]


# ---------------------------------------------------------------------- stage 1
def digitize_one(args_tuple) -> dict:
    """Render and digitize one CinC record; write ``<work>/<record>.npz``; return a summary."""
    record, number, work = args_tuple
    out = Path(work) / f"{record}.npz"
    if out.exists():
        z = np.load(out)
        return {"record": record, "snr": float(z["snr"]), "ok": bool(z["ok"]), "cached": True}
    from classifiers.datasets.cinc2017 import CINC_FS
    from ecg_digitize.datasets import read_cinc2017
    from ecg_digitize import digitize
    from ecg_digitize.metrics import score_record
    from ecg_digitize.synth import render

    x = read_cinc2017(record)[0]
    grid, grid_style, preset, dpi = page_style(number)
    t0 = time.perf_counter()
    image, truth = render(x[:, None], CINC_FS, ["I"], layout="strip", dpi=dpi, preset=preset,
                          seed=number, grid_color=grid, grid_style=grid_style, header=False,
                          max_rows=7)
    try:
        rec = digitize(image, fs=CINC_FS, layout="strip")  # the study knows its pages are strips
        lead = int(np.argmax(np.isfinite(rec.signal).sum(axis=0)))
        est = rec.signal[:, lead]
        est_rec = type(truth)(est[:, None], fs=rec.fs, leads=["I"])
        snr = score_record(est_rec, truth).snr
        ok = True
        error = ""
    except Exception as exc:  # a failed page is a result of the study, not a crash
        est, snr, ok, error = np.zeros(0), 0.0, False, f"{type(exc).__name__}: {exc}"
    tmp = out.with_suffix(".tmp.npz")
    np.savez(tmp, digitized=est.astype(np.float32), fs=CINC_FS, snr=snr, ok=ok, error=error,
             truth_seconds=truth.duration, seconds=time.perf_counter() - t0)
    os.replace(tmp, out)  # atomic: a killed run never leaves half a file
    return {"record": record, "snr": snr, "ok": ok, "cached": False}


def study_records(test: str = "all", val: str = "all", train: str = "all") -> dict:
    """The study's records by role, from the split ``cinc2017-af`` was trained with.

    ``test``: the test fold in order; ``val``: the base model's validation records (early
    stopping and the choice of the fine-tuned epoch); ``train``: a fixed random subset of
    the base model's training records. Each argument is a count or ``"all"``.
    """
    from classifiers.datasets.cinc2017 import RHYTHM_CLASSES, cinc2017_labels, cinc2017_split

    ref = cinc2017_labels()
    y = np.array([RHYTHM_CLASSES.index(lab) for lab in ref.label])
    tr_idx, val_idx = cinc2017_split(y, ref.test_fold.to_numpy(), seed=0)
    tr_idx = np.random.default_rng(0).permutation(tr_idx)
    test_idx = np.flatnonzero(ref.test_fold.to_numpy())

    def first(idx, n):
        return [(ref.record[i], int(ref.number[i])) for i in (idx if n == "all" else idx[:int(n)])]

    return {"test": first(test_idx, test), "val": first(np.sort(val_idx), val),
            "train": first(tr_idx, train)}


def stage_digitize(args) -> None:
    from multiprocessing import Pool

    from tqdm import tqdm

    roles = study_records(args.test, args.val, args.train)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    jobs = [(rec, number, str(work)) for role in ("test", "val", "train") for rec, number in roles[role]]
    results = []
    with Pool(args.workers) as pool:
        for res in tqdm(pool.imap_unordered(digitize_one, jobs), total=len(jobs), desc="pages",
                        mininterval=30):
            results.append(res)
    snr = np.array([r["snr"] for r in results if r["ok"]])
    failed = sum(not r["ok"] for r in results)
    print(f"{len(results)} pages, {failed} failed; mean SNR {snr.mean():.2f} dB, median {np.median(snr):.2f} dB")


# ---------------------------------------------------------------------- stage 2
def _load_digitized(work: Path, records) -> dict:
    out = {}
    for rec in records:
        path = work / f"{rec}.npz"
        if path.exists():
            z = np.load(path)
            out[rec] = (z["digitized"], float(z["snr"]), bool(z["ok"]))
    return out


def _prepare(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """A recording or digitized page as the rhythm model reads it: (100 Hz signal, HRV features)."""
    from classifiers._preprocess import hrv_features, prepare_rhythm_signal

    x = np.nan_to_num(np.asarray(x, dtype=float))  # gaps between wrapped rows, if any
    if x.size < fs:  # a failed page: one second of flat line, the model must say something
        x = np.zeros(int(fs * 10))
    x100 = prepare_rhythm_signal(x, fs)
    return x100, hrv_features(x100)


def _predict(net, prepared) -> np.ndarray:
    from classifiers.rhythm import predict_rhythm_probs

    return np.array([np.argmax(predict_rhythm_probs(net, x, hrv)[0]) for x, hrv in prepared])


def _f1_table(y_true, y_pred) -> dict:
    """F1 per class and the Challenge score (mean F1 of N, A, O)."""
    from classifiers.metrics import cinc2017_score, classification_report

    per_class = classification_report(y_true, y_pred, CLASSES)["per_class"]
    return {**{c: per_class[c]["F1"] for c in CLASSES}, "challenge": cinc2017_score(per_class)}


def _snr_by_style(dig: dict, records) -> dict:
    """Mean digitization SNR of the pages of each paper style (failed pages count 0 dB)."""
    out = {}
    for style in STYLES:
        snr = [dig[r][1] if dig[r][2] else 0.0 for r in records if page_style(int(r[1:])) == style]
        if snr:
            out[" ".join(map(str, style))] = {"pages": len(snr), "snr_db_mean": float(np.mean(snr))}
    return out


def stage_evaluate(args) -> None:
    from classifiers._models import load_model
    from classifiers.datasets.cinc2017 import CINC_FS, cinc2017_labels
    from ecg_digitize.datasets import read_cinc2017

    work = Path(args.work)
    ref = cinc2017_labels()
    label = {r: CLASSES.index(lab) for r, lab in zip(ref.record, ref.label)}
    roles = {role: [r for r, _ in recs if (work / f"{r}.npz").exists()]
             for role, recs in study_records().items()}
    dig = _load_digitized(work, [r for recs in roles.values() for r in recs])
    print("pages: " + ", ".join(f"{role} {len(recs)}" for role, recs in roles.items()))

    def prepared(records, raw=False):
        return [_prepare(read_cinc2017(r)[0] if raw else dig[r][0], CINC_FS) for r in records]

    def labels(records):
        return np.array([label[r] for r in records])

    y_test, y_val = labels(roles["test"]), labels(roles["val"])
    dig_test, dig_val = prepared(roles["test"]), prepared(roles["val"])
    net = load_model("cinc2017-af")
    results = {"raw model, raw signals": _f1_table(y_test, _predict(net, prepared(roles["test"], raw=True))),
               "raw model, digitized": _f1_table(y_test, _predict(net, dig_test))}
    # validation pages decide whether fine-tuning helped; the test fold is only reported
    validation = {"raw model, digitized": _f1_table(y_val, _predict(net, dig_val))}
    if args.tuned:  # a model fine-tuned earlier on these training and validation pages
        tuned = load_model(args.tuned)
    else:
        train = roles["train"]
        signals, y_train = [dig[r][0] for r in train], labels(train)
        if args.mix_raw:  # rehearsal: the raw recordings beside their pages
            signals += [read_cinc2017(r)[0] for r in train]
            y_train = np.concatenate([y_train, y_train])
        tuned = fine_tune(args, prepared_signals=[_prepare(x, CINC_FS) for x in signals],
                          labels=y_train, val=dig_val, val_labels=y_val)
    validation["fine-tuned, digitized"] = _f1_table(y_val, _predict(tuned, dig_val))
    results["fine-tuned, digitized"] = _f1_table(y_test, _predict(tuned, dig_test))
    snr = np.array([dig[r][1] for r in roles["test"] if dig[r][2]])
    summary = {
        "n_pages": {role: len(recs) for role, recs in roles.items()},
        "fine_tune": {"lr": args.lr, "epochs": args.epochs, "mix_raw": args.mix_raw,
                      "loaded": args.tuned},
        "test_snr_db_mean": float(snr.mean()) if snr.size else float("nan"),
        "test_snr_db_median": float(np.median(snr)) if snr.size else float("nan"),
        "test_pages_failed": int(sum(not dig[r][2] for r in roles["test"])),
        "test_snr_by_style": _snr_by_style(dig, roles["test"]),
        "validation": validation,
        "results": results,
    }
    _print_table(summary)
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(json.dumps(summary, indent=2))
    _figure(results, Path(args.report).with_suffix(".png"))
    print(f"wrote {args.report} and {Path(args.report).with_suffix('.png')}")


def fine_tune(args, prepared_signals, labels, val, val_labels):
    """Continue training the shipped raw model on digitized training signals.

    ``prepared_signals`` and ``val`` are :func:`_prepare` pairs (100 Hz signal, HRV
    features); early stopping on the class-weighted loss of the validation pages.
    """
    from classifiers._models import load_model
    from ecg_digitize.keras_utils import keras_setup
    from ecg_digitize.keras_utils import class_weights, fit_model
    from classifiers._preprocess import rhythm_windows
    from classifiers.train import _crop_batch, _save

    keras_setup(seed=0)
    x100 = [x for x, _ in prepared_signals]
    hrv = np.stack([h for _, h in prepared_signals]).astype(np.float32)
    cw = class_weights(labels, len(CLASSES), power=0.5)
    val_x = np.stack([rhythm_windows(x)[0] for x, _ in val])[:, :, None]
    val_hrv = np.stack([h for _, h in val]).astype(np.float32)
    net = _fresh_copy(load_model("cinc2017-af"))
    rng = np.random.default_rng(0)
    hist = fit_model(net, [np.arange(len(x100), dtype="int64"), hrv], labels,
                     [val_x, val_hrv], val_labels, epochs=args.epochs, batch_size=32,
                     lr=args.lr, train_weights=cw[labels], val_weights=cw[val_labels],
                     augment=_crop_batch(x100, rng), patience=args.patience, seed=0, verbose=2,
                     time_limit_s=args.time_limit)
    if args.out:
        from classifiers._registry import model_info

        info = {**model_info("cinc2017-af"), "name": "cinc2017-af-digitized",
                "fine_tuned_from": "cinc2017-af",
                "split_description": "fine-tuned on digitized renders of the training records of "
                                     "cinc2017-af (test fold: number divisible by 5, never used); "
                                     "early stopping on digitized renders of its validation records",
                "n_train": len(x100), "n_val": len(val),
                "lr": args.lr, "epochs": args.epochs, "mix_raw": args.mix_raw,
                "train_seconds": round(hist["seconds"], 1), "history": hist}
        info.pop("continued_from", None)  # the base model's own history is in its card
        info.update(epochs_run=len(hist["loss"]), best_epoch=hist.get("best_epoch"))
        _save(net, Path(args.out), info)
        side = Path(args.out).with_suffix(".json")  # _save names the train module; say what ran
        meta = json.loads(side.read_text())
        meta["command"] = "python benchmarks/ulster_study.py " + " ".join(sys.argv[1:])
        side.write_text(json.dumps(meta, indent=2))
    return net


def _fresh_copy(net):
    """A trainable copy of a loaded model (its compile state is not reused)."""
    import keras

    copy = keras.models.clone_model(net)
    copy.set_weights(net.get_weights())
    if hasattr(net, "ecg_info"):
        copy.ecg_info = net.ecg_info
    return copy


def _print_table(summary: dict) -> None:
    pages = summary["n_pages"]
    print(f"\npages: test {pages['test']} (failed {summary['test_pages_failed']}), validation "
          f"{pages['val']}, train {pages['train']}; test-page SNR mean {summary['test_snr_db_mean']:.2f} dB")
    for style, v in summary["test_snr_by_style"].items():
        print(f"  test pages on {style}: {v['pages']}, SNR mean {v['snr_db_mean']:.2f} dB")
    for title, table in (("validation pages", summary["validation"]), ("test fold", summary["results"])):
        print(f"{title:<26}" + "".join(f"{c:>8}" for c in CLASSES) + f"{'F1 NAO':>9}")
        for name, f1 in table.items():
            print(f"  {name:<24}" + "".join(f"{f1[c]:8.3f}" for c in CLASSES) + f"{f1['challenge']:9.3f}")


def _figure(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    keys = list(CLASSES) + ["challenge"]
    width = 0.8 / len(results)
    for k, (name, f1) in enumerate(results.items()):
        ax.bar(np.arange(len(keys)) + k * width, [f1[c] for c in keys], width, label=name)
    ax.set_xticks(np.arange(len(keys)) + width * (len(results) - 1) / 2)
    ax.set_xticklabels(["N", "AF", "Other", "Noisy", "F1 (N,A,O)"])
    ax.set_ylim(0, 1)
    ax.set_ylabel("F1 on the test fold")
    ax.legend(fontsize=8)
    ax.set_title("CinC 2017 rhythm: raw signals vs digitized paper images")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", nargs="?", choices=["digitize", "evaluate", "all"], default="all")
    parser.add_argument("--work", default="runs/ulster", help="digitized pages (resumable)")
    parser.add_argument("--train", default="all", help="base-model training records to digitize, or 'all'")
    parser.add_argument("--val", default="all", help="base-model validation records to digitize, or 'all'")
    parser.add_argument("--test", default="all", help="test-fold records to digitize, or 'all'")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--patience", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=None, help="stop fine-tuning after this many s")
    parser.add_argument("--mix-raw", action="store_true",
                        help="fine-tune on the raw recordings of the same records too (rehearsal)")
    parser.add_argument("--out", default=None, help="save the fine-tuned model here (.keras)")
    parser.add_argument("--tuned", default=None,
                        help="score this already fine-tuned .keras model instead of fine-tuning")
    parser.add_argument("--report", default="runs/ulster/report.json")
    parser.add_argument("--quick", action="store_true", help="12 train, 6 validation, 8 test records, 1 epoch")
    args = parser.parse_args(argv)
    if args.quick:
        args.train, args.val, args.test, args.epochs = "12", "6", "8", 1
        args.work = args.work if args.work != "runs/ulster" else "runs/ulster-quick"
        args.report = str(Path(args.work) / "report.json")
    if args.stage in ("digitize", "all"):
        stage_digitize(args)
    if args.stage in ("evaluate", "all"):
        stage_evaluate(args)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
