"""The quality model's development set: pages with truth, read, with their measured SNR.

Digitizes pages whose true signals are known and caches, per page, the Record as read
(pickled, so :func:`ecg_digitize.digitizer.quality.reading_features` can be recomputed
without reading the page again), the Challenge SNR of every lead the truth plotted and of
the page (their mean), or the refusal. ``benchmarks/fit_quality.py`` fits the model on it.

Sources (PTB-XL records; folds 1-8 fit the model, fold 9 picks the verdict thresholds,
fold 10 is held out for the report):

- ``render``: our renderer (:func:`ecg_digitize.synth.render`), one page per record with a
  condition drawn from :data:`CONDITIONS` (presets clean / scan / photo, every layout,
  100-300 dpi, stretched pixels, JPEG, 1-bit, a 1 px frame, ECG-Image-Kit's header) and
  forced failures (a wrong ``layout=``, ``paper_speed=`` or ``gain=`` given, the page
  cropped to its left half or top half), and CinC 2017 records of 30 s or more wrapped
  into rows as single-lead strips.
- ``eik``: ECG-Image-Kit pages cached by ``benchmarks/eik_accuracy.py`` (scan 200 dpi,
  scan 100 dpi, the 200 dpi scan saved as JPEG q75, photo 200 dpi), read with its
  functions; only pages already rendered are used.

A refused page scores 0 dB on every lead. The cache lives in ``$ECG_QUALITY_CACHE``
(default ``~/.cache/ecg-digitize/quality``); a page already there is not read again.

Usage::

    python benchmarks/quality_devset.py --folds 1-8 -n 160 --jobs 2
    python benchmarks/quality_devset.py --folds 9 10 -n 60 --jobs 2
    python benchmarks/quality_devset.py --eik --folds 1-10
"""
from __future__ import annotations

import argparse
import functools
import os
import pickle
import sys
import time
import traceback
from multiprocessing import Pool
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _folds import parse_folds  # noqa: E402
CACHE = Path(os.environ.get("ECG_QUALITY_CACHE", Path.home() / ".cache" / "ecg-digitize" / "quality"))

# name: (weight, render keyword arguments, digitize keyword arguments, crop)
CONDITIONS: dict[str, tuple[float, dict, dict, str | None]] = {
    "clean 3x4+II 200": (3, dict(layout="3x4+II", preset="clean", dpi=200), {}, None),
    "clean 3x4 150": (1, dict(layout="3x4", preset="clean", dpi=150), {}, None),
    "clean 6x2 200": (1, dict(layout="6x2", preset="clean", dpi=200), {}, None),
    "clean 12x1 150": (1, dict(layout="12x1", preset="clean", dpi=150), {}, None),
    "clean 3x4+3 200": (1, dict(layout="3x4+II,V1,V5", preset="clean", dpi=200), {}, None),
    "clean strip 200": (1, dict(layout="strip", strip_lead="II", preset="clean", dpi=200), {}, None),
    "clean 300": (1, dict(layout="3x4+II", preset="clean", dpi=300), {}, None),
    "clean 100": (2, dict(layout="3x4+II", preset="clean", dpi=100), {}, None),
    "scan 3x4+II 200": (3, dict(layout="3x4+II", preset="scan", dpi=200), {}, None),
    "scan 6x2 150": (1, dict(layout="6x2", preset="scan", dpi=150), {}, None),
    "scan 100": (2, dict(layout="3x4+II", preset="scan", dpi=100), {}, None),
    "photo 3x4+II 200": (3, dict(layout="3x4+II", preset="photo", dpi=200), {}, None),
    "photo 150": (2, dict(layout="3x4+II", preset="photo", dpi=150), {}, None),
    "photo 6x2 200": (1, dict(layout="6x2", preset="photo", dpi=200), {}, None),
    "stretched 200": (1, dict(layout="3x4+II", preset="scan", dpi=200, stretch=(1.0, 0.96)), {}, None),
    "jpeg q60 200": (1, dict(layout="3x4+II", preset="scan", dpi=200, jpeg=60), {}, None),
    "bilevel 200": (1, dict(layout="3x4+II", preset="scan", dpi=200, bilevel=True), {}, None),
    "eik-style 200": (2, dict(layout="3x4+II", preset="scan", dpi=200, frame_px=1, header="eik"), {}, None),
    "wrong layout given": (1, dict(layout="6x2", preset="clean", dpi=200), dict(layout="3x4+II"), None),
    "wrong speed given": (1, dict(layout="3x4+II", preset="clean", dpi=200), dict(paper_speed=50.0), None),
    "wrong gain given": (1, dict(layout="3x4+II", preset="scan", dpi=200), dict(gain=20.0), None),
    "cropped left half": (1, dict(layout="3x4+II", preset="clean", dpi=200), {}, "left"),
    "cropped top half": (1, dict(layout="3x4+II", preset="scan", dpi=200), {}, "top"),
    # a CinC 2017 record of 30 s or more (chosen by the PTB-XL id), wrapped into rows
    "wrapped strip 150": (1, dict(layout="strip", preset="clean", dpi=150, header=False), dict(fs=300), None),
    "wrapped strip scan 150": (1, dict(layout="strip", preset="scan", dpi=150, header=False), dict(fs=300), None),
}
EIK_CONDITIONS = {  # name: (style, dpi, jpeg quality)
    "eik scan 200": ("scan", 200, None),
    "eik scan 100": ("scan", 100, None),
    "eik scan 200 q75": ("scan", 200, 75),
    "eik photo 200": ("photo", 200, None),
}


def _crop(image: np.ndarray, how: str | None) -> np.ndarray:
    if how == "left":
        return image[:, : image.shape[1] // 2]
    if how == "top":
        return image[: image.shape[0] // 2]
    return image


def _strip(record) -> None:
    """Drop what the cache does not need (pixel masks)."""
    record.geometry.trace_mask = None
    record.geometry.pulse_mask = None


@functools.cache
def _cinc_names() -> list[str]:
    """The CinC 2017 training records' names (listed once per worker)."""
    from ecg_digitize.datasets import dataset_path

    return sorted(p.stem for p in (dataset_path("cinc2017") / "training2017").glob("A*.hea"))


def _cinc_record(ecg_id: int):
    """A CinC 2017 record of 30 s or more, chosen by ``ecg_id`` (its lead read as a strip)."""
    import wfdb

    from ecg_digitize.datasets import dataset_path
    from ecg_digitize.synth import load_cinc2017

    root, names = dataset_path("cinc2017") / "training2017", _cinc_names()
    for k in range(len(names)):
        name = names[(ecg_id * 7919 + k) % len(names)]
        if wfdb.rdheader(str(root / name)).sig_len >= 30 * 300:
            return load_cinc2017(name)
    raise FileNotFoundError("no CinC 2017 record of 30 s or more")


def _read(image, truth, digitize_kwargs: dict) -> dict:
    """Digitize and score one page; a refusal scores 0 dB on every plotted lead."""
    from ecg_digitize import digitize
    from ecg_digitize.errors import DigitizeError
    from ecg_digitize.metrics import score_record

    plotted = [n for n, f in truth.plotted_fraction().items() if f > 0]
    t0 = time.process_time()
    try:
        rec = digitize(image, **digitize_kwargs)
    except DigitizeError as exc:
        return {"record": None, "refused": f"{type(exc).__name__}: {exc.reason}",
                "lead_snr": {n: 0.0 for n in plotted}, "snr": 0.0, "cpu_s": time.process_time() - t0}
    if len(truth.leads) == 1:  # a strip: its lead's name is not read from the page
        score = score_record(type(truth)(rec.signal[:, :1], fs=rec.fs, leads=truth.leads), truth)
        lead_snr = {rec.leads[0]: float(score.snr)}
    else:
        score = score_record(rec, truth)
        lead_snr = {n: float(s.snr) for n, s in score.leads.items()}
    _strip(rec)
    return {"record": rec, "refused": None, "lead_snr": lead_snr, "snr": float(score.snr),
            "cpu_s": time.process_time() - t0}


def _render_job(job: tuple[int, int, str]) -> str:
    ecg_id, fold, name = job
    out = CACHE / "render" / f"{ecg_id}.pkl"
    if out.exists():
        return f"{ecg_id} cached"
    from ecg_digitize.synth import load_ptbxl, render

    _, kw, dkw, crop = CONDITIONS[name]
    sig, fs, leads = _cinc_record(ecg_id) if name.startswith("wrapped strip") else load_ptbxl(ecg_id)
    image, truth = render(sig, fs, leads, seed=ecg_id, **kw)
    try:
        item = _read(_crop(image, crop), truth, dkw)
    except Exception:  # a crash is the fuzzers' business; the dev set just skips the page
        return f"{ecg_id} {name}: crashed\n{traceback.format_exc(limit=3)}"
    item.update(source="render", condition=name, fold=fold, ecg_id=ecg_id)
    _save(out, item)
    return f"{ecg_id} f{fold} {name}: {item['snr']:.1f} dB{' refused' if item['refused'] else ''}"


def _eik_job(job: tuple[int, str, int, str]) -> str:
    import eik_accuracy as eik

    ecg_id, rel, fold, name = job
    out = CACHE / "eik" / name.replace(" ", "_") / f"{ecg_id}.pkl"
    if out.exists():
        return f"{ecg_id} cached"
    style, dpi, jpeg = EIK_CONDITIONS[name]
    folder = eik.CACHE / f"{style}-{dpi}dpi"
    if not (folder / f"{rel}-{style}.json").exists():
        return f"{ecg_id} {name}: not rendered"
    image, meta, npy = eik.load_page(folder, rel, style, jpeg)
    try:
        item = _read(image, eik.eik_truth(meta, npy), {})
    except Exception:
        return f"{ecg_id} {name}: crashed\n{traceback.format_exc(limit=3)}"
    item.update(source="eik", condition=name, fold=fold, ecg_id=ecg_id)
    _save(out, item)
    return f"{ecg_id} f{fold} {name}: {item['snr']:.1f} dB{' refused' if item['refused'] else ''}"


def _save(path: Path, item: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(item))
    tmp.replace(path)


def load_devset(cache: Path = CACHE) -> list[dict]:
    """Every cached page (dicts as written by this script)."""
    return [pickle.loads(p.read_bytes()) for p in sorted(cache.rglob("*.pkl"))]


def _jobs(args) -> tuple:
    import pandas as pd

    from ecg_digitize.datasets import dataset_path, ptbxl_records

    db = pd.read_csv(dataset_path("ptbxl") / "ptbxl_database.csv").set_index("ecg_id")
    folds = parse_folds(args.folds)
    if args.eik:
        import eik_accuracy as eik

        jobs, per_fold = [], {}
        for i, rel in eik.records_of(folds, 0):
            fold = int(db.loc[i, "strat_fold"])
            names = [n for n in EIK_CONDITIONS if (eik.CACHE / "{}-{}dpi".format(*EIK_CONDITIONS[n][:2])
                                                   / f"{rel}-{EIK_CONDITIONS[n][0]}.json").exists()]
            if names and per_fold.get(fold, 0) < args.n:
                per_fold[fold] = per_fold.get(fold, 0) + 1
                jobs += [(i, rel, fold, name) for name in names]
        return _eik_job, jobs
    names = list(CONDITIONS)
    weights = np.array([CONDITIONS[n][0] for n in names], float)
    jobs = []
    for fold in folds:
        ids = ptbxl_records(folds=[fold])[: args.n]
        rng = np.random.default_rng(fold)
        jobs += [(int(i), fold, names[rng.choice(len(names), p=weights / weights.sum())]) for i in ids]
    return _render_job, jobs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--folds", nargs="+", default=["1-8"], help="PTB-XL folds, e.g. 1-8 or 9 10")
    ap.add_argument("-n", type=int, default=20, help="records per fold")
    ap.add_argument("--eik", action="store_true", help="the cached ECG-Image-Kit pages instead")
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args(argv)
    import cv2

    cv2.setNumThreads(1)
    func, jobs = _jobs(args)
    print(f"{len(jobs)} pages -> {CACHE}", flush=True)
    with Pool(args.jobs) as pool:
        for line in pool.imap_unordered(func, jobs):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
