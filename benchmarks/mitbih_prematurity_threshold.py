"""Choose the AAMI prematurity rule of ``mitbih-aami5`` on DS1 only (DS2 is not read).

Over the N and S beats of MIT-BIH DS1 (reference R peaks), call S every beat whose pre-RR
is below ``theta`` times the mean RR of ``context`` intervals each side
(:func:`classifiers._preprocess.prematurity`), and print the S sensitivity, positive
predictivity and F1 of that rule alone. The first table is the rule of the network's own
RR feature (10 intervals each side), optionally with a pause condition (the next RR
longer than ``phi`` times the previous one): F1 plateaus at 0.436 for theta 0.85-0.875.
The second table widens the context: against minutes of the patient's rhythm, sinus
arrhythmia no longer looks premature, and F1 peaks at 0.559 (240 intervals, theta 0.775),
the rule the model card ships (``s_prematurity``, ``s_prematurity_context``).

Usage::

    python benchmarks/mitbih_prematurity_threshold.py
"""
from __future__ import annotations

import numpy as np


def rule_scores(rr: np.ndarray, is_s: np.ndarray, theta: float, phi: float = 0.0) -> tuple:
    """(Se, +P, F1) of "S when pre/local < theta and post/pre > phi" against ``is_s``."""
    from classifiers._preprocess import RR_PRE_OVER_LOCAL

    return _scores((rr[:, RR_PRE_OVER_LOCAL] < theta) & (rr[:, 1] / rr[:, 0] > phi), is_s)


def _scores(called: np.ndarray, is_s: np.ndarray) -> tuple[float, float, float]:
    """(Se, +P, F1) of the beats ``called`` S against the true S beats ``is_s``."""
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
    context_table(d, n_or_s, is_s)


def context_table(d: dict, n_or_s: np.ndarray, is_s: np.ndarray) -> None:
    """F1 of "S when prematurity over ``context`` intervals < theta", per context."""
    from classifiers._preprocess import prematurity
    from classifiers.datasets.mitdb import FS

    print(f"\n{'context':>7} {'theta':>6} {'Se %':>6} {'+P %':>6} {'F1':>6}   (best theta per context)")
    best = []
    for context in (10, 20, 40, 90, 120, 180, 240, 300, 100_000):
        p = prematurity(d["r_peak"], FS, context, d["record"])[n_or_s]
        rows = []
        for theta in np.arange(0.6, 0.951, 0.025):
            se, ppv, f1 = _scores(p < theta, is_s)
            rows.append((f1, theta, se, ppv))
        f1, theta, se, ppv = max(rows)
        best.append((f1, context, theta))
        print(f"{context:7d} {theta:6.3f} {100 * se:6.1f} {100 * ppv:6.1f} {f1:6.3f}")
    f1, context, theta = max(best)
    print(f"highest F1 {f1:.4f}: context {context}, theta {theta:.3f}")


if __name__ == "__main__":
    main()
