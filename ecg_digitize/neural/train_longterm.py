"""Train and score the long-term V/F segmenter: MIT-BIH DS1 -> DS2 (de Chazal split).

Usage::

    python -m ecg_digitize.neural.train_longterm --out pretrained/longterm-vf.keras
    python -m ecg_digitize.neural.train_longterm --quick          # minutes, smoke run
    python -m ecg_digitize.neural.train_longterm --eval-only --out pretrained/longterm-vf.keras
    python -m ecg_digitize.neural.train_longterm --context --val-records 106 118 215 220 \
        --bbb-fraction 0.2 --out runs/longterm-vf-ctx.keras      # issue #29

Training images are 64 s windows at random offsets in the first 80 % of each DS1
record (half of them placed around a V or F beat, F preferred, because F is rare);
validation windows come from the last 20 %. With ``--val-records`` the split is by
patient instead: those DS1 records are validation only (whole records), the others
training only. ``--context`` adds the patient-context channel
(:func:`~ecg_digitize.neural.longterm.context_channel`, from neurokit2 R peaks as at
inference) and ``--bbb-fraction`` draws that share of the windows from DS1's
bundle-branch-block records (:data:`BBB_RECORDS`), whose wide normal beats are the
negatives the image route lacked. DS2 is never seen in training; it is scored end to
end through :func:`classifiers.segment_long_term` on whole 30-minute records (the image route alone,
``check_beats=False``, unless ``--check-beats``).
"""
from __future__ import annotations

import argparse
import functools
import json
import time
from pathlib import Path

import numpy as np

from . import longterm as lt

CODE = {"V": 1, "F": 2}
BBB_RECORDS = (109, 118, 124, 207)   # DS1 records with bundle-branch block (DS2: 111 212 214 231)


def load_record(record: int, path=None, context: bool = False) -> dict:
    """MLII of one MIT-BIH record with its AAMI beat codes (0 other, 1 V, 2 F).

    Returns ``x`` (preprocessed, 64 Hz), ``y`` (per-sample codes at 64 Hz), ``raw``
    (mV, 360 Hz), ``fs``, ``r_peak`` (360 Hz samples) and ``code`` per AAMI beat; with
    ``context``, ``ctx``: the patient-context channel at 64 Hz from *detected* R peaks
    (as at inference; the reference beats only give the labels).
    """
    from classifiers.datasets.mitdb import AAMI_MAP
    from ecg_digitize.datasets import read_mitdb

    rec = read_mitdb(record, root=path)
    raw, fs, sym, samp = rec["signal"], rec["fs"], rec["symbols"], rec["samples"]
    keep = np.isin(sym, list(AAMI_MAP))
    sym, samp = sym[keep], samp[keep]
    code = np.array([CODE.get(AAMI_MAP[s], 0) for s in sym], dtype=np.uint8)
    x = lt.preprocess(raw, fs)
    r_img = np.round(samp * lt.FS_IMAGE / fs).astype(int)
    y = lt.label_vector(x.size, r_img, code, lt.FS_IMAGE)
    out = {"x": x, "y": y, "raw": raw, "fs": fs, "r_peak": samp, "code": code,
           "record": int(record)}
    if context:
        peaks = lt.detect_r_peaks(raw, fs)
        out["ctx"] = lt.context_channel(x, np.round(peaks * lt.FS_IMAGE / fs).astype(int))
    return out


def sample_windows(recs: list[dict], n: int, rng, part=(0.0, 0.8), focus: float = 0.5,
                   extra: list[int] | None = None, extra_fraction: float = 0.0):
    """``n`` random images (``n, ROWS, ROW, channels``) and labels from a time part of each record.

    A share ``focus`` is placed around V or F beats; a share ``extra_fraction`` at random
    offsets in the records whose indices are in ``extra`` (wide-QRS negatives); the rest
    at random offsets, records weighted by length. Records with ``ctx`` give two channels.
    """
    channels = 2 if "ctx" in recs[0] else 1
    xs = np.zeros((n, lt.ROWS, lt.ROW, channels), np.float32)
    ys = np.zeros((n, lt.ROWS, lt.ROW), np.uint8)
    spans = [(int(part[0] * r["x"].size), int(part[1] * r["x"].size)) for r in recs]
    lens = np.array([b - a - lt.WINDOW for a, b in spans], float)
    # Rare-class anchors inside each part: F beats first, then V.
    anchors = {k: [] for k in (1, 2)}
    for i, (r, (a, b)) in enumerate(zip(recs, spans)):
        for k in (1, 2):
            pos = np.flatnonzero(r["y"][a:b] == k) + a
            pos = pos[::16]   # one anchor per ~beat is plenty
            anchors[k] += [(i, int(p)) for p in pos]
    for j in range(n):
        kind = rng.random()
        if kind < focus and anchors[1]:
            k = 2 if (anchors[2] and rng.random() < 0.5) else 1
            i, p = anchors[k][rng.integers(len(anchors[k]))]
            a, b = spans[i]
            s = int(np.clip(p - rng.integers(lt.WINDOW), a, b - lt.WINDOW))
        else:
            if extra and kind < focus + extra_fraction:
                i = int(rng.choice(extra))
            else:
                i = int(rng.choice(len(recs), p=lens / lens.sum()))
            a, b = spans[i]
            s = int(rng.integers(a, b - lt.WINDOW))
        xs[j] = lt.window_input(recs[i]["x"], recs[i].get("ctx"), s)
        ys[j] = lt.to_image(recs[i]["y"][s:s + lt.WINDOW])
    return xs, ys


def augment(batch, rng, drop_image: float = 0.0):
    """Label-preserving: random gain, polarity kept, small noise.

    ``drop_image``: share of two-channel images whose first channel (the patient's own
    amplitudes) is blanked, so the network must also read the patient context.
    """
    (x,) = batch
    g = rng.uniform(0.8, 1.25, size=(x.shape[0], 1, 1, 1)).astype(np.float32)  # all channels
    noise = rng.normal(0, 0.03, size=x.shape).astype(np.float32)
    out = np.clip(x * g + noise, -3, 3)
    if drop_image and x.shape[-1] > 1:
        out[rng.random(x.shape[0]) < drop_image, ..., 0] = 0.0
    return [out]


def match_segments(segments, r_peak, code, n: int, fs: float) -> dict:
    """Beat-level matches of ``(start, end, label)`` ranges against annotated beats.

    A predicted range is a true positive when it overlaps the extent
    (:func:`~ecg_digitize.neural.longterm.beat_windows`) of an annotated beat of its
    class; an annotated beat is detected when a predicted range of its class overlaps it.

    Returns
    -------
    dict
        Per label ``"V"`` / ``"F"``: ``(detected beats, beats, true ranges, ranges)``.

    Examples
    --------
    >>> match_segments([(90, 140, "V"), (500, 540, "V")], [100, 300], [1, 0], 1000, 100.0)
    {'V': (1, 1, 1, 2), 'F': (0, 0, 0, 0)}
    """
    win = lt.beat_windows(r_peak, n, fs)
    code = np.asarray(code)
    out = {}
    for lab, k in CODE.items():
        bw = win[code == k]
        ranges = np.array([(a, b) for a, b, l in segments if l == lab], int).reshape(-1, 2)
        hit_beat = sum(bool(np.any((ranges[:, 0] < e) & (s < ranges[:, 1]))) for s, e in bw)
        hit_range = sum(bool(np.any((bw[:, 0] < b) & (a < bw[:, 1]))) for a, b in ranges)
        out[lab] = (int(hit_beat), len(bw), int(hit_range), len(ranges))
    return out


def summarize(per_record: list[dict]) -> dict:
    """Pooled Se / +P per label from :func:`match_segments` rows (``{"V": (...), ...}``)."""
    out = {}
    for lab in CODE:
        tp_b, n_b, tp_r, n_r = (sum(r[lab][i] for r in per_record) for i in range(4))
        out[lab] = {"Se": tp_b / max(n_b, 1), "+P": tp_r / max(n_r, 1), "beats": n_b,
                    "predicted_ranges": n_r, "false_ranges": n_r - tp_r}
    return out


def score_records(recs: list[dict], model, min_duration: float = 0.04,
                  check_beats: bool = False) -> dict:
    """Beat-level Se / +P for V and F and pixel IoU, end to end on whole records.

    Ranges are matched with :func:`match_segments`; IoU is over the image route's
    samples at 64 Hz (= image pixels), all records pooled. ``check_beats`` scores the
    combination with the beat route instead of the image route alone.
    """
    from classifiers.longterm import segment_long_term

    inter = {lab: 0 for lab in CODE}
    union = {lab: 0 for lab in CODE}
    per_record = []
    for r in recs:
        segs, probs = segment_long_term(r["raw"], r["fs"], model=model, min_duration=min_duration,
                                        check_beats=check_beats, return_probabilities=True)
        pred = probs.argmax(1)
        row = {"record": r["record"],
               **match_segments(segs, r["r_peak"], r["code"], r["raw"].size, r["fs"])}
        for lab, k in CODE.items():
            inter[lab] += int(np.sum((pred == k) & (r["y"] == k)))
            union[lab] += int(np.sum((pred == k) | (r["y"] == k)))
        per_record.append(row)
    out = summarize(per_record)
    for lab in CODE:
        out[lab]["IoU"] = inter[lab] / max(union[lab], 1)
    out["per_record"] = per_record
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=str(lt.default_model_path()))
    p.add_argument("--n-train", type=int, default=1200)
    p.add_argument("--n-val", type=int, default=160)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--base", type=int, default=8)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--time-limit", type=float, default=1500.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="tiny run: 3 train records, 2 epochs")
    p.add_argument("--eval-only", action="store_true")
    p.add_argument("--context", action="store_true",
                   help="two channels: the image and the patient context (each beat minus "
                        "the running-median beat)")
    p.add_argument("--val-records", type=int, nargs="*",
                   help="DS1 records for validation only (split by patient); default: the "
                        "last 20 %% of every DS1 record")
    p.add_argument("--bbb-fraction", type=float, default=0.0,
                   help="share of training windows from the bundle-branch-block records")
    p.add_argument("--drop-image", type=float, default=0.0,
                   help="share of training images with the amplitude channel blanked (--context)")
    p.add_argument("--patience", type=int, default=3)
    p.add_argument("--check-beats", action="store_true",
                   help="score the combination with the beat route too")
    a = p.parse_args(argv)

    from ecg_digitize.keras_utils import class_weights, fit_model
    from classifiers.datasets.mitdb import DS1, DS2

    from ._keras import keras_setup

    keras = keras_setup(a.threads, a.seed)
    ds1 = DS1[:3] if a.quick else DS1
    ds2 = DS2[:3] if a.quick else DS2
    if a.quick:
        a.n_train, a.n_val, a.epochs = 96, 32, 2
    t0 = time.time()
    out = Path(a.out)
    info = {"command": "python -m ecg_digitize.neural.train_longterm " + " ".join(argv or
            __import__("sys").argv[1:]), "train_records": list(ds1), "test_records": list(ds2)}
    if not a.eval_only:
        val_ids = set(a.val_records or ())
        train_recs = [load_record(r, context=a.context) for r in ds1 if r not in val_ids]
        rng = np.random.default_rng(a.seed)
        extra = [i for i, r in enumerate(train_recs) if r["record"] in BBB_RECORDS]
        if val_ids:
            val_recs = [load_record(r, context=a.context) for r in ds1 if r in val_ids]
            xtr, ytr = sample_windows(train_recs, a.n_train, rng, part=(0.0, 1.0),
                                      extra=extra, extra_fraction=a.bbb_fraction)
            xva, yva = sample_windows(val_recs, a.n_val, rng, part=(0.0, 1.0))
            info["train_records"] = [r["record"] for r in train_recs]
            info["val_records"] = sorted(val_ids)
        else:
            xtr, ytr = sample_windows(train_recs, a.n_train, rng, part=(0.0, 0.8),
                                      extra=extra, extra_fraction=a.bbb_fraction)
            xva, yva = sample_windows(train_recs, a.n_val, rng, part=(0.8, 1.0))
        cw = class_weights(ytr.ravel(), 3, power=0.5)
        print(f"data {time.time() - t0:.0f} s; pixel fractions "
              f"{np.bincount(ytr.ravel(), minlength=3) / ytr.size}; class weights {cw}",
              flush=True)
        model = lt.build_model(base=a.base, channels=2 if a.context else 1)
        print(f"parameters {model.count_params()}", flush=True)
        hist = fit_model(model, [xtr], ytr, [xva], yva, epochs=a.epochs, batch_size=a.batch,
                         lr=a.lr, train_weights=cw[ytr].astype(np.float16),
                         val_weights=cw[yva].astype(np.float32), augment=functools.partial(augment, drop_image=a.drop_image),
                         patience=a.patience,
                         seed=a.seed, time_limit_s=a.time_limit)
        out.parent.mkdir(parents=True, exist_ok=True)
        model.save(out)
        info.update(train_seconds=round(hist["seconds"], 1), best_epoch=hist.get("best_epoch"),
                    history=hist, parameters=int(model.count_params()),
                    n_train=a.n_train, n_val=a.n_val, class_weights=cw.tolist(),
                    context=a.context, bbb_fraction=a.bbb_fraction, drop_image=a.drop_image)
        del xtr, ytr, train_recs
    model = keras.saving.load_model(out, safe_mode=True, compile=False)
    t1 = time.time()
    test_recs = [load_record(r) for r in ds2]
    t2 = time.time()
    res = score_records(test_recs, model, check_beats=a.check_beats)
    secs = time.time() - t2
    minutes = sum(r["raw"].size / r["fs"] for r in test_recs) / 60
    info.update(ds2=res, ds2_inference_seconds=round(secs, 1),
                ds2_minutes=round(minutes, 1), ds2_load_seconds=round(t2 - t1, 1))
    for lab in ("V", "F"):
        r = res[lab]
        print(f"DS2 {lab}: Se {100 * r['Se']:.1f} %  +P {100 * r['+P']:.1f} %  "
              f"IoU {r['IoU']:.3f}  ({r['beats']} beats, {r['predicted_ranges']} ranges)")
    print(f"DS2 inference {secs:.0f} s for {minutes:.0f} min of ECG", flush=True)
    sidecar = out.with_suffix(".json")
    if a.eval_only and sidecar.exists():  # keep the training record, refresh the scores
        info = {**json.loads(sidecar.read_text()), **{k: v for k, v in info.items() if k != "command"}}
    sidecar.write_text(json.dumps(info, indent=1))
    return info


if __name__ == "__main__":
    main()
