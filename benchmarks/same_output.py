"""Check that a change leaves the digitizer's output unchanged (speed work).

Digitizes fold-9 PTB-XL renders of six conditions and saves every page's signal (or its
refusal) to an ``.npz``; ``--compare`` lists the pages whose signals differ between two
such files, NaN included. Run it once on each checkout (``PYTHONPATH`` picks the code):

    PYTHONPATH=../before python benchmarks/same_output.py --save before.npz
    python benchmarks/same_output.py --save after.npz
    python benchmarks/same_output.py --compare before.npz after.npz

Each page's CPU seconds of ``digitize`` (the least of ``--repeat`` runs; the first call
compiles the numba loops and is not timed) are saved too, so ``--compare`` also prints
both checkouts' mean time per page: a paired timing of the same pages. Run the two
``--save`` one after the other on an idle machine.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

CONDITIONS = {
    "clean 200 dpi 3x4+II": dict(layout="3x4+II", dpi=200, preset="clean"),
    "clean 200 dpi 12x1": dict(layout="12x1", dpi=200, preset="clean"),
    "scan 200 dpi 3x4+II": dict(layout="3x4+II", dpi=200, preset="scan"),
    "scan 150 dpi dotted": dict(layout="3x4+II", dpi=150, preset="scan", grid_style="dotted"),
    "clean 100 dpi 3x4+II": dict(layout="3x4+II", dpi=100, preset="clean"),
    "clean 200 dpi strip": dict(layout="strip", dpi=200, preset="clean", strip_lead="II"),
}


def save(path: str, n: int, repeat: int = 1) -> None:
    from ecg_digitize import DigitizeError, digitize
    from ecg_digitize.synth import load_ptbxl, ptbxl_records, render

    out, seconds, warm = {}, {}, False
    for ecg_id in ptbxl_records(folds=[9])[:n]:
        sig, fs, leads = load_ptbxl(ecg_id)
        for name, style in CONDITIONS.items():
            image, _ = render(sig, fs, leads, seed=ecg_id, **style)
            key = f"ptbxl{ecg_id} {name}"
            if not warm:  # compile the numba loops outside the timing
                _read(digitize, DigitizeError, image)
                warm = True
            times = []
            for _ in range(max(1, repeat)):
                t0 = time.process_time()
                out[key] = _read(digitize, DigitizeError, image)
                times.append(time.process_time() - t0)
            seconds[key] = min(times)
    np.savez(path, **out, **{f"seconds:{k}": np.array(v) for k, v in seconds.items()})
    print(f"{len(out)} pages saved to {path}; {np.mean(list(seconds.values())):.3f} CPU s per page")


def _read(digitize, error, image) -> np.ndarray:
    """The page's signal, or its refusal's message."""
    try:
        return digitize(image).signal
    except error as exc:
        return np.array([str(exc)])


def compare(a_path: str, b_path: str) -> int:
    a, b = np.load(a_path), np.load(b_path)
    timed = [k for k in a.files if k.startswith("seconds:") and k in b.files]
    if timed:
        print(f"CPU s per page over {len(timed)} pages: {np.mean([a[k] for k in timed]):.3f} ({a_path}) "
              f"vs {np.mean([b[k] for k in timed]):.3f} ({b_path})")
    pages = sorted((set(a.files) | set(b.files)) - {k for k in a.files + b.files if k.startswith("seconds:")})
    differ = [p for p in pages if p not in a.files or p not in b.files
              or a[p].shape != b[p].shape or not np.array_equal(a[p], b[p], equal_nan=True)]
    print(f"{len(pages)} pages; {len(differ)} differ" + (": " + ", ".join(differ) if differ else ""))
    return 1 if differ else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--save", metavar="NPZ")
    ap.add_argument("--compare", nargs=2, metavar="NPZ")
    ap.add_argument("-n", type=int, default=6, help="fold-9 records per condition")
    ap.add_argument("--repeat", type=int, default=1, help="runs per page; the least CPU time is kept")
    a = ap.parse_args(argv)
    if a.save:
        save(a.save, a.n, a.repeat)
    return compare(*a.compare) if a.compare else 0


if __name__ == "__main__":
    raise SystemExit(main())
