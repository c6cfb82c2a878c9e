"""Score the shipped models on their held-out data; every number in the model cards comes from here.

Examples
--------
::

    python -m classifiers.evaluate mitbih-aami5     # DS2 (inter-patient) + random-split model
    python -m classifiers.evaluate ptbxl-mi         # PTB-XL fold 10 and folds 9+10
    python -m classifiers.evaluate cinc2017-af      # CinC 2017 records divisible by 5
    python -m classifiers.evaluate all

Writes ``pretrained/<name>.metrics.json`` and ``pretrained/<name>_confusion.png``
(``--out-dir`` to write elsewhere).
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from .metrics import binary_report, cinc2017_score, classification_report, plot_confusion


def _fmt(x: float) -> str:
    return f"{100 * x:.1f}" if np.isfinite(x) else "n/a"


def evaluate_mitbih(model: str = "mitbih-aami5", cache: Path | None = None,
                    random_model: str | None = "runs/mitbih-random.keras",
                    detected_peaks: bool = True, out_dir: Path | None = None) -> dict:
    """AAMI per-class Se/+P on DS2 (never trained on), and the random-split model if present."""
    from .beats import beat_labels, beat_model_inputs, rule_prematurity
    from .datasets.mitdb import AAMI_CLASSES, ALL_RECORDS, DS2, FS, load_mitdb
    from ._models import load_model

    net = load_model(model)
    d = load_mitdb(DS2, cache=cache / "mitdb_ds2.npz" if cache else None)
    inputs = beat_model_inputs(net.ecg_info, d["beats"], d["rr"], groups=d["record"])
    probs = net.predict(inputs, batch_size=2048, verbose=0)
    premature = rule_prematurity(net.ecg_info, d["r_peak"], FS, groups=d["record"])
    rep = classification_report(d["label"], beat_labels(probs, d["rr"], net.ecg_info, premature),
                                AAMI_CLASSES)
    res = {"inter_patient_DS2": {**rep, "split": "train DS1, test DS2 (de Chazal 2004), paced "
                                 "records excluded, reference R peaks"}}
    if net.ecg_info.get("s_prematurity"):  # the network alone, before the prematurity rule
        res["inter_patient_DS2_network_only"] = classification_report(
            d["label"], probs.argmax(1), AAMI_CLASSES)
    if out_dir is not None:
        plot_confusion(rep["confusion"], AAMI_CLASSES, out_dir / "mitbih-aami5_confusion.png",
                       "mitbih-aami5 on MIT-BIH DS2 (inter-patient, unseen patients)")
    if detected_peaks:
        res["inter_patient_DS2_detected_peaks"] = _mitbih_detected(model, DS2)
    if random_model and Path(random_model).exists():
        rnet = load_model(random_model)
        a = load_mitdb(ALL_RECORDS, cache=cache / "mitdb_all.npz" if cache else None)
        idx = np.load(Path(random_model).with_suffix(".test_idx.npy"))
        p = rnet.predict(beat_model_inputs(rnet.ecg_info, a["beats"][idx], a["rr"][idx]),
                         batch_size=2048, verbose=0)
        rrep = classification_report(a["label"][idx], p.argmax(1), AAMI_CLASSES)
        res["random_80_20"] = {**rrep, "split": "random beat-level 20 % of all 48 records "
                               "(intra-patient; not the shipped model)", "model": random_model}
        if out_dir is not None:
            plot_confusion(rrep["confusion"], AAMI_CLASSES,
                           out_dir / "mitbih-aami5_random_confusion.png",
                           "Kachuee net, random 80/20 beat split (intra-patient)")
    return res


def _mitbih_detected(model: str, records, tol_s: float = 0.15) -> dict:
    """DS2 through the public API with neurokit2 R peaks, matched to the reference beats."""
    import wfdb

    from ecg_digitize.datasets import dataset_path

    from .beats import classify_beats
    from .datasets.mitdb import AAMI_CLASSES, AAMI_MAP

    y_true, y_pred, n_ref, n_matched, n_det = [], [], 0, 0, 0
    for r in records:
        name = str(dataset_path("mitdb") / str(r))
        rec = wfdb.rdrecord(name)
        lead = rec.sig_name.index("MLII") if "MLII" in rec.sig_name else 0
        ann = wfdb.rdann(name, "atr")
        keep = np.isin(ann.symbol, list(AAMI_MAP))
        ref = np.asarray(ann.sample)[keep]
        lab = np.array([AAMI_CLASSES.index(AAMI_MAP[s]) for s in np.asarray(ann.symbol)[keep]])
        df = classify_beats(rec.p_signal[:, lead], rec.fs, model=model)
        det = df.r_peak.to_numpy()
        n_ref, n_det = n_ref + ref.size, n_det + det.size
        if det.size == 0:
            continue
        j = np.clip(np.searchsorted(det, ref), 1, det.size - 1)
        near = np.where(np.abs(det[j - 1] - ref) <= np.abs(det[j] - ref), j - 1, j)
        ok = np.abs(det[near] - ref) <= tol_s * rec.fs
        n_matched += int(ok.sum())
        y_true.append(lab[ok])
        y_pred.append(np.array([AAMI_CLASSES.index(c) for c in df.label.to_numpy()[near[ok]]]))
    rep = classification_report(np.concatenate(y_true), np.concatenate(y_pred), AAMI_CLASSES)
    return {**rep, "split": "DS2, R peaks detected by neurokit2 (public API path); scored on "
            f"reference beats matched within {tol_s * 1000:.0f} ms",
            "detection_sensitivity": n_matched / n_ref, "detection_ppv": n_matched / max(n_det, 1)}


def evaluate_ptbxl_mi(model: str = "ptbxl-mi", cache: Path | None = None,
                      out_dir: Path | None = None) -> dict:
    """Record-level AUC / sensitivity / specificity on fold 10 and folds 9+10."""
    from .datasets.ptbxl import load_ptbxl_beats
    from ._models import load_model
    from .mi import _sigmoid, fused_logit, transfer_logits

    net = load_model(model)
    info = net.ecg_info
    d = load_ptbxl_beats(cache=cache / "ptbxl_beats.npz" if cache else None)
    logit = transfer_logits(net, d["beats"], d["beat_record"], d["fold"].size)
    if "measurements" in info:
        logit = fused_logit(logit, d["measurements"], info["measurements"])
    rec = _sigmoid(logit)
    thr = float(info.get("threshold", 0.5))
    res = {"variant": info.get("variant"), "measurements": "measurements" in info,
           "n_records_without_beats": int(np.isnan(rec).sum())}
    for key, folds in (("fold10", (10,)), ("folds9_10", (9, 10)), ("train_folds1_8", range(1, 9))):
        m = np.isin(d["fold"], list(folds)) & np.isfinite(rec)
        res[key] = binary_report(d["mi"][m], rec[m], thr)
    if out_dir is not None:
        plot_confusion(res["fold10"]["confusion"], ["not MI", "MI"], out_dir / "ptbxl-mi_confusion.png",
                       "ptbxl-mi on PTB-XL fold 10 (test)")
        plot_confusion(res["folds9_10"]["confusion"], ["not MI", "MI"],
                       out_dir / "ptbxl-mi_folds9-10_confusion.png", "ptbxl-mi on PTB-XL folds 9+10")
    return res


def evaluate_cinc2017(model: str = "cinc2017-af", cache: Path | None = None,
                      out_dir: Path | None = None) -> dict:
    """F1 per class and the Challenge score on the records whose number is divisible by 5."""
    from .datasets.cinc2017 import RHYTHM_CLASSES, load_cinc2017
    from ._models import load_model
    from .rhythm import predict_rhythm_probs

    net = load_model(model)
    d = load_cinc2017(cache=cache / "cinc2017.npz" if cache else None, progress=False)
    test = np.flatnonzero(d["test_fold"])
    pred = np.array([int(np.argmax(predict_rhythm_probs(net, d["signals"][i], d["hrv"][i])[0]))
                     for i in test])
    rep = classification_report(d["label"][test], pred, RHYTHM_CLASSES)
    rep["challenge_score_F1_NAO"] = cinc2017_score(rep["per_class"])
    rep["split"] = "CinC 2017 training set, records with number divisible by 5 (never trained on)"
    if out_dir is not None:
        plot_confusion(rep["confusion"], RHYTHM_CLASSES, out_dir / "cinc2017-af_confusion.png",
                       "cinc2017-af on the held-out fold (record number % 5 == 0)")
    return rep


def _summary(name: str, res: dict) -> str:
    lines = [f"## {name}"]
    if name == "mitbih-aami5":
        for key, r in res.items():
            pc = r["per_class"]
            lines.append(f"{key}: acc {_fmt(r['accuracy'])} %, macro-F1 {r['macro_f1']:.3f}; " +
                         ", ".join(f"{c} Se {_fmt(pc[c]['Se'])} +P {_fmt(pc[c]['+P'])} (n={pc[c]['n']})"
                                   for c in pc))
    elif name == "ptbxl-mi":
        for key in ("fold10", "folds9_10"):
            r = res[key]
            lo, hi = r["auc_ci95"]
            lines.append(f"{key}: AUC {r['auc']:.3f} (95 % CI {lo:.2f}-{hi:.2f}), "
                         f"Se {_fmt(r['sensitivity'])} %, "
                         f"Sp {_fmt(r['specificity'])} % (n={r['n']}, MI={r['n_positive']})")
    else:
        pc = res["per_class"]
        lines.append(", ".join(f"{c} F1 {pc[c]['F1']:.3f} (n={pc[c]['n']})" for c in pc) +
                     f"; Challenge score {res['challenge_score_F1_NAO']:.3f}; acc {_fmt(res['accuracy'])} %")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m classifiers.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", choices=["mitbih-aami5", "ptbxl-mi", "cinc2017-af", "all"])
    p.add_argument("--model", default=None, help="a .keras file instead of the shipped one")
    p.add_argument("--cache", default="runs/cache", help="folder of preprocessed arrays ('' for none)")
    p.add_argument("--out-dir", default=None, help="where to write metrics and PNGs (default pretrained/)")
    p.add_argument("--random-model", default="runs/mitbih-random.keras")
    p.add_argument("--no-detected", action="store_true", help="skip the neurokit2-peaks DS2 pass")
    args = p.parse_args(argv)
    from ._registry import pretrained_dir

    out_dir = Path(args.out_dir) if args.out_dir else pretrained_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    cache = Path(args.cache) if args.cache else None
    names = ["mitbih-aami5", "ptbxl-mi", "cinc2017-af"] if args.name == "all" else [args.name]
    for name in names:
        model = args.model or name
        t0 = time.time()
        if name == "mitbih-aami5":
            res = evaluate_mitbih(model, cache, args.random_model, not args.no_detected, out_dir)
        elif name == "ptbxl-mi":
            res = evaluate_ptbxl_mi(model, cache, out_dir)
        else:
            res = evaluate_cinc2017(model, cache, out_dir)
        res["_meta"] = {"model": model, "seconds": round(time.time() - t0, 1),
                        "command": f"python -m classifiers.evaluate {name}",
                        "machine": f"{platform.machine()} {platform.python_version()}"}
        (out_dir / f"{name}.metrics.json").write_text(json.dumps(res, indent=2))
        print(_summary(name, {k: v for k, v in res.items() if k != "_meta"}))


if __name__ == "__main__":
    main()
