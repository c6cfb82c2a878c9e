"""Score ``segment_long_term`` on MIT-BIH DS2 whole records, beat level, both routes.

Each of the 22 DS2 records (unseen patients, 30 min, lead MLII) goes through
``classifiers.segment_long_term`` once, with its default settings (R peaks detected by
neurokit2, not the reference annotations), asking for the per-beat table of both routes.
From that one call three sets of ranges are scored against the reference beats:

- ``image``: the image route alone, the segmentation network's own ranges (what
  ``check_beats=False`` returns, and what the function returned before issue #29);
- ``beat``: the beat route alone (``classify_beats`` V / F, as one range per beat);
- ``combined``: the default output (per beat: ectopic by a product of experts of the
  two routes, V or F by the beat route; ``ecg_digitize.neural.longterm.combine_routes``).

A range is a true positive when it overlaps the extent of an annotated beat of its
class (+P); an annotated beat is detected when a range of its class overlaps it (Se)
(``ecg_digitize.neural.train_longterm.match_segments``). Seconds per record are CPU
seconds (``time.process_time``) of that call; run with one thread for the one-core figure.

Usage::

    OMP_NUM_THREADS=1 ECG_CLASSIFY_THREADS=1 python benchmarks/longterm_ds2.py --json runs/longterm_ds2.json
    python benchmarks/longterm_ds2.py --records 117 213 --minutes 5   # a quick look
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ROUTES = ("image", "beat", "combined")


def route_segments(segments: list, beats) -> dict:
    """The three routes' ranges from one ``segment_long_term(..., return_beats=True)`` call."""
    beat = [(int(a), int(b), str(lab)) for a, b, lab in
            zip(beats.start, beats.end, beats.beat_label) if lab != "other"]
    return {"image": list(beats.attrs["image_segments"]), "beat": beat, "combined": segments}


def score_record(record: int, minutes: float | None = None) -> dict:
    """Matches per route and CPU seconds for one MIT-BIH record."""
    import classifiers
    from ecg_digitize.neural.train_longterm import load_record, match_segments

    r = load_record(record)
    raw, fs = r["raw"], r["fs"]
    keep = np.ones(r["r_peak"].size, bool)
    if minutes:
        raw = raw[:int(minutes * 60 * fs)]
        keep = r["r_peak"] < raw.size
    t0 = time.process_time()
    segs, beats = classifiers.segment_long_term(raw, fs, return_beats=True)
    cpu = time.process_time() - t0
    out = {"record": int(record), "cpu_s": round(cpu, 3), "minutes": round(raw.size / fs / 60, 2),
           "disagree": int((~beats.agree).sum()), "n_beats_found": len(beats),
           "image_only": len(beats.attrs["image_only"])}
    for route, s in route_segments(segs, beats).items():
        out[route] = match_segments(s, r["r_peak"][keep], r["code"][keep], raw.size, fs)
    return out


def pct(a: int, b: int) -> str:
    """``a / b`` in percent, one decimal (``-`` when ``b`` is 0)."""
    return f"{100 * a / b:5.1f}" if b else "    -"


def print_tables(rows: list[dict], top: int = 5) -> dict:
    """Pooled Se / +P per route and label; per-record table of the worst records."""
    from ecg_digitize.neural.train_longterm import summarize

    summary = {route: summarize([r[route] for r in rows]) for route in ROUTES}
    print(f"{'route':<9} {'V beats':>7} {'V Se':>6} {'V +P':>6} {'V ranges':>8} {'false':>6} "
          f"{'F beats':>7} {'F Se':>6} {'F +P':>6} {'F ranges':>8}")
    for route in ROUTES:
        v, f = summary[route]["V"], summary[route]["F"]
        print(f"{route:<9} {v['beats']:>7} {100 * v['Se']:6.1f} {100 * v['+P']:6.1f} "
              f"{v['predicted_ranges']:>8} {v['false_ranges']:>6} {f['beats']:>7} "
              f"{100 * f['Se']:6.1f} {100 * f['+P']:6.1f} {f['predicted_ranges']:>8}")
    worst = sorted(rows, key=lambda r: r["image"]["V"][3] - r["image"]["V"][2], reverse=True)[:top]
    print("\nrecords with the most false V ranges (image route): V beats, then per route "
          "Se % / +P % / false ranges")
    print(f"{'record':>6} {'V beats':>7} | " + " | ".join(f"{r:^20}" for r in ROUTES))
    for r in worst:
        cells = []
        for route in ROUTES:
            d, n, t, k = r[route]["V"]
            cells.append(f"{pct(d, n)} / {pct(t, k)} / {k - t:5d}")
        print(f"{r['record']:>6} {r['image']['V'][1]:>7} | " + " | ".join(cells))
    cpu = np.array([r["cpu_s"] for r in rows])
    per30 = np.array([r["cpu_s"] * 30 / r["minutes"] for r in rows])
    print(f"\nCPU s per record: mean {cpu.mean():.2f}, max {cpu.max():.2f} "
          f"(per 30 min: mean {per30.mean():.2f}, max {per30.max():.2f}); "
          f"beats where the routes disagree: {sum(r['disagree'] for r in rows)} of "
          f"{sum(r['n_beats_found'] for r in rows)}; image ranges over no detected beat: "
          f"{sum(r['image_only'] for r in rows)}")
    return {"summary": summary, "worst": [r["record"] for r in worst],
            "cpu_s_mean": float(cpu.mean()), "cpu_s_max": float(cpu.max())}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--records", type=int, nargs="*", help="default: all of DS2")
    p.add_argument("--minutes", type=float, help="only the first minutes of each record")
    p.add_argument("--json", help="write per-record rows and the summary here")
    a = p.parse_args(argv)

    from classifiers.datasets.mitdb import DS2

    import classifiers

    records = a.records or list(DS2)
    classifiers.segment_long_term(np.zeros(3600), 360.0)  # load both models before timing
    rows = []
    t0 = time.time()
    for rec in records:
        rows.append(score_record(rec, a.minutes))
        print(f"{rec}: {rows[-1]['cpu_s']:.2f} CPU s", flush=True)
    print(f"{len(rows)} records in {time.time() - t0:.0f} s wall\n")
    result = {"records": rows, **print_tables(rows)}
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
