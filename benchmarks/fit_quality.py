"""Fit the quality model (``ecg_digitize/digitizer/quality_model.json``) on the dev set.

Reads the pages cached by ``benchmarks/quality_devset.py``, computes each reading's
evidence (:func:`ecg_digitize.digitizer.evidence.reading_features`), and fits two
additive models of boosted stumps (numpy only): the page's SNR from the page's features,
each lead's SNR from the page's and the lead's. PTB-XL folds 1-8 fit the stumps, fold 9
picks the verdict thresholds, fold 10 is held out: the script prints its Spearman
correlation between ``expected_snr_db`` and the measured SNR, the share of readings
under 5 dB that are "check" or "failed", the share of readings of 15 dB or more that are
"good", per source, per page and per lead. A refused page is a "failed" verdict with an
expected and a measured SNR of 0 dB.

Usage::

    python benchmarks/fit_quality.py              # fit, write the JSON, print the report
    python benchmarks/fit_quality.py --no-write   # the report of the fit, JSON untouched
    python benchmarks/fit_quality.py --report     # the shipped JSON's report, no fit
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from quality_devset import load_devset  # noqa: E402

from ecg_digitize.digitizer import evidence, quality  # noqa: E402

FIT_FOLDS, THRESHOLD_FOLD, TEST_FOLD = range(1, 9), 9, 10
LOW_DB, HIGH_DB = 5.0, 15.0  # the "under 5 dB" and "15 dB or more"
SNR_CLIP_DB = (-5.0, 35.0)  # targets beyond these say nothing more and would pull the fit
ROUNDS, RATE, MIN_LEAF, CUTS = 300, 0.08, 12, 32


def rows_of(items: list[dict]) -> tuple[list[dict], list[dict]]:
    """Page rows and lead rows: features, measured SNR, fold, source, refused."""
    pages, leads = [], []
    for it in items:
        base = {"fold": it["fold"], "source": it["source"], "condition": it["condition"]}
        rec = it["record"]
        if rec is None:
            pages.append({**base, "x": None, "snr": 0.0, "refused": True, "capped": False})
            continue
        page, per_lead = evidence.reading_features(rec)
        findings, consistency = evidence.plausibility(rec), rec.quality["self_consistency_db"]
        pages.append({**base, "x": page, "snr": it["snr"], "refused": False,
                      "capped": quality.capped(findings, consistency)})
        for name, snr in it["lead_snr"].items():
            if name in per_lead:
                leads.append({**base, "x": evidence.lead_row(page, per_lead[name]), "snr": snr,
                              "refused": False, "capped": quality.capped(findings, consistency, name)})
    return pages, leads


def fit_stumps(X: np.ndarray, y: np.ndarray) -> tuple[float, list[list[float]]]:
    """Gradient-boosted stumps (squared error): ``init`` and ``[feature, cut, left, right]``."""
    init = float(y.mean())
    pred = np.full(len(y), init)
    cuts = [np.unique(np.quantile(X[:, j], np.linspace(0.02, 0.98, CUTS))) for j in range(X.shape[1])]
    stumps = []
    for _ in range(ROUNDS):
        r = y - pred
        best = (0.0, None)
        for j, cj in enumerate(cuts):
            for t in cj:
                left = X[:, j] <= t
                nl = left.sum()
                if nl < MIN_LEAF or len(y) - nl < MIN_LEAF:
                    continue
                sl, sr = r[left].sum(), r[~left].sum()
                gain = sl * sl / nl + sr * sr / (len(y) - nl)
                if gain > best[0]:
                    best = (gain, (j, float(t), RATE * sl / nl, RATE * sr / (len(y) - nl)))
        if best[1] is None:
            break
        j, t, lv, rv = best[1]
        pred += np.where(X[:, j] <= t, lv, rv)
        stumps.append([j, t, lv, rv])
    return init, stumps


def _matrix(rows: list[dict], names: list[str]) -> np.ndarray:
    return np.array([[r["x"][n] for n in names] for r in rows], float)


def fit_part(rows: list[dict]) -> dict:
    names = sorted(rows[0]["x"])
    fit = [r for r in rows if r["fold"] in FIT_FOLDS and r["x"] is not None]
    init, stumps = fit_stumps(_matrix(fit, names), np.clip([r["snr"] for r in fit], *SNR_CLIP_DB))
    return {"features": names, "init": init,
            "stumps": [[names[j], round(t, 6), round(lv, 5), round(rv, 5)] for j, t, lv, rv in stumps]}


def predict(rows: list[dict], part: dict) -> np.ndarray:
    """Expected SNR of each row; a refused page's is 0 dB."""
    return np.array([0.0 if r["x"] is None else quality.predict_snr(part, r["x"]) for r in rows])


def verdicts(rows: list[dict], pred: np.ndarray, thresholds: dict) -> list[str]:
    return ["failed" if r["refused"] else quality.verdict_of(p, thresholds, r["capped"])
            for r, p in zip(rows, pred)]


def choose_thresholds(rows: list[dict], pred: np.ndarray) -> dict:
    """On the threshold fold: ``good`` balances the two 90 % aims (the middle of the cuts
    maximizing the smaller of the two shares); ``failed`` the highest cut leaving at most 5 % of readings
    of 10 dB or more under it."""
    snr = np.array([r["snr"] for r in rows])
    flagged = np.array([r["capped"] or r["refused"] for r in rows])
    low, high = snr < LOW_DB, snr >= HIGH_DB
    cuts = np.arange(0.0, 25.0, 0.25)
    scores = []
    for t in cuts:
        good = (pred >= t) & ~flagged
        scores.append(min((~good[low]).mean() if low.any() else 1.0, good[high].mean() if high.any() else 1.0))
    good_t = float(np.median(cuts[np.isclose(scores, max(scores))]))
    decent = pred[(snr >= 10.0) & ~flagged]
    failed_t = float(min(np.quantile(decent, 0.05), good_t - 1.0)) if len(decent) else good_t - 5.0
    return {"good": round(good_t, 2), "failed": round(failed_t, 2)}


def report(rows: list[dict], pred: np.ndarray, thresholds: dict, what: str) -> None:
    print(f"\n{what}: {len(rows)} readings")
    if not rows:
        return
    snr = np.array([r["snr"] for r in rows])
    verdict = np.array(verdicts(rows, pred, thresholds))
    print(f"  {'subset':<28} {'n':>4} {'Spearman':>9} {'<5 dB flagged':>14} {'>=15 dB good':>13}")
    for name in ["all"] + sorted({r["source"] for r in rows}):
        keep = np.array([name == "all" or r["source"] == name for r in rows])
        rho = spearmanr(pred[keep], snr[keep]).correlation if keep.sum() > 2 else float("nan")
        low, high = keep & (snr < LOW_DB), keep & (snr >= HIGH_DB)
        lo = f"{(verdict[low] != 'good').mean():.0%} of {low.sum()}" if low.any() else "-"
        hi = f"{(verdict[high] == 'good').mean():.0%} of {high.sum()}" if high.any() else "-"
        print(f"  {name:<28} {keep.sum():4d} {rho:9.3f} {lo:>14} {hi:>13}")


def _show(parts: dict, pages: list[dict], leads: list[dict], fold: int) -> None:
    for key, rows in (("page", pages), ("lead", leads)):
        sub = [r for r in rows if r["fold"] == fold]
        report(sub, predict(sub, parts[key]), parts[key]["thresholds"], f"fold {fold}, per {key}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-write", action="store_true", help="do not write the model JSON")
    ap.add_argument("--report", action="store_true", help="report the shipped model, no fit")
    args = ap.parse_args(argv)
    items = load_devset()
    pages, leads = rows_of(items)
    counts: dict[str, int] = {}
    for r in pages:
        key = f"fold {'1-8' if r['fold'] in FIT_FOLDS else r['fold']:>3} {r['source']:<7} {r['condition']}"
        counts[key] = counts.get(key, 0) + 1
    print(f"dev set: {len(pages)} pages ({sum(r['refused'] for r in pages)} refused), {len(leads)} leads")
    for k in sorted(counts):
        print(f"  {k:<48} {counts[k]:4d}")
    if args.report:
        parts = quality.load_model()
    else:
        parts = {}
        for key, rows in (("page", pages), ("lead", leads)):
            parts[key] = fit_part(rows)
            val = [r for r in rows if r["fold"] == THRESHOLD_FOLD]
            parts[key]["thresholds"] = choose_thresholds(val, predict(val, parts[key]))
            print(f"{key}: {len(parts[key]['stumps'])} stumps, thresholds {parts[key]['thresholds']}")
        parts["fitted"] = {"command": "python benchmarks/fit_quality.py",
                           "pages": len(pages), "leads": len(leads),
                           "folds": "stumps 1-8, thresholds 9, report 10"}
        if not args.no_write:
            quality.MODEL_PATH.write_text(json.dumps(parts, indent=1) + "\n")
            print(f"wrote {quality.MODEL_PATH}")
    _show(parts, pages, leads, THRESHOLD_FOLD)
    _show(parts, pages, leads, TEST_FOLD)
    return 0


if __name__ == "__main__":
    sys.exit(main())
