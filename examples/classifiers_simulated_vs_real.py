"""The shipped classifiers on the simulated 12-lead ECG and on real PTB-XL test records.

``simulate_12lead`` (neurokit2 "multileads") is the data-free default of the demo, but its
beat shapes are unlike any training data; this script prints what the models make of it
beside a few real PTB-XL fold-10 records (MI label from ``scp_codes``), so the difference
can be seen rather than assumed.

Usage::

    python examples/classifiers_simulated_vs_real.py [-n 12]
"""
from __future__ import annotations

import argparse


def describe(name: str, sig, fs: float, leads: list[str], truth: str = "") -> None:
    import classifiers

    mi = classifiers.detect_mi(sig, fs=fs, leads=leads)
    beats = classifiers.classify_beats(sig[:, leads.index("II")], fs=fs)
    counts = beats.label.value_counts().to_dict()
    print(f"{name:>14} {truth:>6}  MI probability {mi.probability:5.3f}  beats {counts}")


def main(argv=None) -> int:
    from classifiers.datasets.ptbxl import ptbxl_table
    from ecg_digitize.datasets import has_dataset
    from ecg_digitize.synth import load_ptbxl, ptbxl_records, simulate_12lead

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=12, help="PTB-XL fold-10 records to show")
    args = p.parse_args(argv)
    sig, fs, leads = simulate_12lead(seed=0)
    describe("simulated", sig, fs, leads)
    if not has_dataset("ptbxl"):
        print("PTB-XL not found under ECG_DATA_DIR: real records skipped")
        return 0
    table = ptbxl_table()
    for ecg_id in ptbxl_records([10])[: args.n]:
        sig, fs, leads = load_ptbxl(ecg_id)
        describe(f"PTB-XL {ecg_id}", sig, fs, leads, "MI" if table.loc[ecg_id, "MI"] else "not MI")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
