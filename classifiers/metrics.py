"""Scores used in the model cards: AAMI Se/+P, F1, the CinC 2017 score, AUC; confusion plots."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Confusion matrix, rows = reference, columns = prediction."""
    cm = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(cm, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return cm


def per_class_scores(cm: np.ndarray, classes: Sequence[str]) -> dict:
    """Sensitivity (Se, recall), positive predictivity (+P, precision), F1 and support per class."""
    out = {}
    for i, c in enumerate(classes):
        tp = cm[i, i]
        ref, pred = cm[i].sum(), cm[:, i].sum()
        se = tp / ref if ref else float("nan")
        ppv = tp / pred if pred else float("nan")
        f1 = 2 * tp / (ref + pred) if ref + pred else float("nan")
        out[c] = {"Se": float(se), "+P": float(ppv), "F1": float(f1), "n": int(ref)}
    return out


def classification_report(y_true, y_pred, classes: Sequence[str]) -> dict:
    """Accuracy, macro-F1 (over classes present), per-class scores and the confusion matrix."""
    cm = confusion(y_true, y_pred, len(classes))
    per = per_class_scores(cm, classes)
    present = [v["F1"] for v in per.values() if v["n"] > 0]
    return {"accuracy": float(np.trace(cm) / cm.sum()), "macro_f1": float(np.nanmean(present)),
            "per_class": per, "confusion": cm.tolist(), "classes": list(classes), "n": int(cm.sum())}


def cinc2017_score(per_class: dict) -> float:
    """The Challenge 2017 score: mean F1 of Normal, AF and Other (noise excluded)."""
    return float(np.mean([per_class[c]["F1"] for c in ("N", "A", "O")]))


def binary_report(y_true, prob, threshold: float = 0.5, n_boot: int = 2000) -> dict:
    """AUC (with a bootstrap 95 % interval), sensitivity and specificity at ``threshold``.

    The interval resamples records with replacement ``n_boot`` times (seed 0); with a
    handful of positives it is wide, and it says so.
    """
    from sklearn.metrics import roc_auc_score

    y_true, prob = np.asarray(y_true, int), np.asarray(prob, float)
    pred = prob >= threshold
    pos, neg = y_true == 1, y_true == 0
    auc = float(roc_auc_score(y_true, prob)) if pos.any() and neg.any() else float("nan")
    rng, boot = np.random.default_rng(0), []
    for _ in range(n_boot if np.isfinite(auc) else 0):
        i = rng.integers(0, y_true.size, y_true.size)
        if 0 < y_true[i].sum() < y_true.size:
            boot.append(roc_auc_score(y_true[i], prob[i]))
    ci = [float(v) for v in np.percentile(boot, [2.5, 97.5])] if boot else [float("nan")] * 2
    return {"auc": auc, "auc_ci95": ci, "sensitivity": float(pred[pos].mean()) if pos.any() else float("nan"),
            "specificity": float((~pred[neg]).mean()) if neg.any() else float("nan"),
            "threshold": threshold, "n": int(y_true.size), "n_positive": int(pos.sum()),
            "confusion": confusion(y_true, pred.astype(int), 2).tolist()}


def plot_confusion(cm, classes: Sequence[str], path: str | Path, title: str = "") -> Path:
    """Save a confusion matrix (counts, with row-normalised shading) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(cm)
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.1 * len(classes) + 2, 1.1 * len(classes) + 1.4), dpi=110)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, f"{cm[i, j]}\n{100 * norm[i, j]:.1f}%", ha="center", va="center",
                    fontsize=8, color="white" if norm[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(classes)), classes)
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("reference")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
