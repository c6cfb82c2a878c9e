"""Choose the AAMI prematurity threshold of ``mitbih-aami5`` on DS1 only (DS2 is not read).

Over the N and S beats of MIT-BIH DS1 (reference R peaks), call S every beat whose pre-RR
is below ``theta`` times the local mean RR, optionally only when the next RR is also
longer than ``phi`` times the previous one (a pause after the early beat), and print the
S sensitivity, positive predictivity and F1 of that rule alone. F1 plateaus at 0.436 for
theta 0.85-0.875 (with or without a pause condition); the shipped threshold, 0.85, is the
lower end of it, which calls fewer beats S (``python -m classifiers.train mitbih ...
--s-prematurity 0.85``).

Usage::

    python benchmarks/mitbih_prematurity_threshold.py
"""
from __future__ import annotations

import numpy as np


def rule_scores(rr: np.ndarray, is_s: np.ndarray, theta: float, phi: float = 0.0) -> tuple:
    """(Se, +P, F1) of "S when pre/local < theta and post/pre > phi" against ``is_s``."""
    from classifiers._preprocess import RR_PRE_OVER_LOCAL

    called = (rr[:, RR_PRE_OVER_LOCAL] < theta) & (rr[:, 1] / rr[:, 0] > phi)
    tp = int((called & is_s).sum())
    se, ppv = tp / max(is_s.sum(), 1), tp / max(called.sum(), 1)
    return se, ppv, 2 * se * ppv / (se + ppv) if se + ppv else 0.0


def main() -> None:
    from pathlib import Path

    from classifiers.datasets.mitdb import AAMI_CLASSES, DS1, load_mitdb

    d = load_mitdb(DS1, cache=Path("runs/cache/mitdb_ds1.npz"))
    n_or_s = np.isin(d["label"], [AAMI_CLASSES.index("N"), AAMI_CLASSES.index("S")])
    rr, is_s = d["rr"][n_or_s], d["label"][n_or_s] == AAMI_CLASSES.index("S")
    print(f"DS1: {n_or_s.sum()} N and S beats, {is_s.sum()} S")
    rec, count = np.unique(d["record"][n_or_s][is_s], return_counts=True)
    print("S beats by record (most first):",
          ", ".join(f"{r}: {c}" for c, r in sorted(zip(count, rec), reverse=True)[:4]))
    print(f"{'theta':>6} {'phi':>4} {'Se %':>6} {'+P %':>6} {'F1':>6}")
    rows = [(theta, phi, *rule_scores(rr, is_s, theta, phi))
            for theta in np.arange(0.75, 0.951, 0.025) for phi in (0.0, 1.1, 1.2, 1.3)]
    for theta, phi, se, ppv, f1 in rows:
        print(f"{theta:6.3f} {phi:4.1f} {100 * se:6.1f} {100 * ppv:6.1f} {f1:6.3f}")
    print("highest F1:")
    for theta, phi, se, ppv, f1 in sorted(rows, key=lambda r: -r[4])[:4]:
        print(f"  F1 {f1:.4f} at theta {theta:.3f}, phi {phi:.1f} (Se {100 * se:.1f}, +P {100 * ppv:.1f} %)")


if __name__ == "__main__":
    main()
