"""Benchmark: the image-only route vs the signal route for MI, side by side.

* image route: ``lead_image_stack`` of the page -> ``pretrained/ptbxl-image.keras``
  (NORM / MI / other), P(MI);
* signal route: ``digitize`` -> ``classifiers.detect_mi`` (``ptbxl-mi``), P(MI);
* reference: ``detect_mi`` on the recorded signal itself (renders only).

Two test sets, never trained on:

1. PTB-XL fold 10 rendered as 3x4+II pages at 150 dpi, ``clean`` and ``scan`` presets;
2. the real scans in ``$ECG_DATA_DIR/khan2021``: ``normal/`` vs ``mi/``, de-duplicated by
   content hash (the public set repeats files under other names).

Prints MI-vs-rest AUC (bootstrap 95 % interval), sensitivity and specificity at 0.5 per
route and set, and the image route's three-class accuracy on the renders::

    python benchmarks/image_vs_signal_mi.py            # about 10 min on one core
    python benchmarks/image_vs_signal_mi.py --quick    # 10 records, one preset
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def both_routes(page, record, net) -> dict:
    """P(MI) and the class of the image route, P(MI) of the signal route, for one page."""
    import classifiers
    from ecg_digitize.neural.image_classifier import classify_image

    img = classify_image(page, record, model=net)
    sig = classifiers.detect_mi(record)
    return {"image_p_mi": img.probabilities["MI"], "image_label": img.label,
            "signal_p_mi": sig.probability}


def report(name: str, y: np.ndarray, rows: list[dict], keys=("image_p_mi", "signal_p_mi", "raw_p_mi")):
    from classifiers.metrics import binary_report

    out = {}
    for k in keys:
        if k not in rows[0]:
            continue
        p = np.array([r[k] for r in rows], float)
        ok = np.isfinite(p)
        rep = binary_report(y[ok], p[ok], n_boot=1000)
        out[k] = rep
        print(f"{name:<22} {k:<12} n {rep['n']:>3} ({rep['n_positive']} MI)  AUC {rep['auc']:.3f} "
              f"[{rep['auc_ci95'][0]:.2f}, {rep['auc_ci95'][1]:.2f}]  Se {rep['sensitivity']:.2f}  "
              f"Sp {rep['specificity']:.2f}", flush=True)
    return out


def renders(presets, n_records: int | None, net) -> dict:
    import classifiers
    from ecg_digitize.errors import DigitizeError
    from ecg_digitize.neural.image_classifier import CLASSES
    from ecg_digitize.neural.train_image_classifier import ptbxl_labels, render_stack
    from ecg_digitize.synth import load_ptbxl

    labels = list(ptbxl_labels([10]).items())[:n_records]
    results = {}
    for preset in presets:
        rows, y, failed = [], [], 0
        for k, (ecg_id, label) in enumerate(labels):
            try:
                _, page, record = render_stack(ecg_id, seed=10_000 + k, preset=preset,
                                               layout="3x4+II", dpi=150)
            except DigitizeError:
                failed += 1
                continue
            row = {"ecg_id": ecg_id, "label": CLASSES[label], **both_routes(page, record, net)}
            sig, fs, leads = load_ptbxl(ecg_id)
            row["raw_p_mi"] = classifiers.detect_mi(sig, fs, leads).probability
            rows.append(row), y.append(int(label == 1))
        acc = float(np.mean([r["image_label"] == r["label"] for r in rows]))
        print(f"fold-10 {preset}: {len(rows)} pages read, {failed} not read; image route "
              f"3-class accuracy {acc:.3f}", flush=True)
        results[preset] = {"rows": rows, "failed": failed, "image_accuracy": acc,
                           "scores": report(f"fold-10 {preset}", np.array(y), rows)}
    return results


def khan(net) -> dict:
    from ecg_digitize import digitize
    from ecg_digitize.datasets import dataset_path, has_dataset, unique_images
    from ecg_digitize.errors import DigitizeError

    if not has_dataset("khan2021"):
        print("khan2021 absent: real-scan comparison skipped")
        return {}
    root = dataset_path("khan2021")
    rows, y, failed = [], [], []
    for folder, is_mi in (("normal", 0), ("mi", 1)):
        for path in unique_images(root / folder, recursive=False):
            try:
                record = digitize(path)
            except DigitizeError as exc:
                failed.append(f"{path.name}: {exc.reason}")
                continue
            rows.append({"file": f"{folder}/{path.name}", **both_routes(path, record, net)})
            y.append(is_mi)
    print(f"khan2021: {len(rows)} unique scans read, {len(failed)} not read {failed}")
    return {"rows": rows, "failed": failed, "scores": report("khan2021 normal vs MI", np.array(y), rows)}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--presets", nargs="+", default=["clean", "scan"])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--model", default=None, help="image model (default pretrained/ptbxl-image.keras)")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)

    from ecg_digitize.neural._keras import load_pretrained
    from ecg_digitize.neural.image_classifier import default_model_path

    net = load_pretrained(str(a.model or default_model_path()))
    out = {"renders": renders(a.presets[:1] if a.quick else a.presets, 10 if a.quick else None, net)}
    if not a.quick:
        out["khan2021"] = khan(net)
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1, default=float))
    return out


if __name__ == "__main__":
    main()
