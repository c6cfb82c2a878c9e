"""Write a folder of rendered pages with their ground truth (``ecg-digitize render``).

Layout of the folder::

    out/images/<name>.png      the page
    out/truth/<name>.hea/.dat  WFDB truth: exactly the plotted samples (NaN elsewhere)
    out/meta/<name>.json       layout, calibration, lead boxes, distortions
    out/index.csv              one row per page
"""
from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from .render import render
from .sources import load_ptbxl, ptbxl_records, simulate_12lead


def _sources(source: str, n: int, folds, seed: int):
    """Yield ``(name, signal, fs, leads)`` for ``n`` pages."""
    if source == "simulate":
        rng = np.random.default_rng(seed)
        for i in range(n):
            hr = float(rng.uniform(50, 110))
            sig, fs, leads = simulate_12lead(duration=10, heart_rate=hr, seed=seed + i)
            yield f"sim{i:05d}", sig, fs, leads
    elif source == "ptbxl":
        for ecg_id in ptbxl_records(folds)[:n]:
            sig, fs, leads = load_ptbxl(ecg_id)
            yield f"ptbxl{ecg_id:05d}", sig, fs, leads
    else:
        raise ValueError(f"unknown source {source!r}; use 'simulate' or 'ptbxl'")


def render_dataset(out, *, source: str = "simulate", n: int = 10, folds=None,
                   layouts=("3x4+II",), presets=("clean",), dpi: float = 200,
                   paper_speed: float = 25, gain: float = 10, seed: int = 0,
                   image_format: str = "png", progress: bool = True) -> dict:
    """Render ``n`` source records (cycling through layouts and presets) into ``out``.

    Examples
    --------
    >>> from ecg_digitize.synth.dataset import render_dataset
    >>> render_dataset("/tmp/pages", n=2, dpi=100, progress=False)["n_pages"]  # doctest: +SKIP
    2
    """
    out = Path(out)
    for sub in ("images", "truth", "meta"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    combos = itertools.cycle(itertools.product(layouts, presets))
    rows = []
    pages = _sources(source, n, folds, seed)
    for k, ((name, sig, fs, leads), (layout, preset)) in enumerate(
            tqdm(zip(pages, combos), total=n, disable=not progress, desc="render", unit="page")):
        image, truth = render(sig, fs, leads, layout=layout, preset=preset, dpi=dpi,
                              paper_speed=paper_speed, gain=gain, seed=seed + k)
        image_path = out / "images" / f"{name}.{image_format}"
        cv2.imwrite(str(image_path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        truth.source = str(image_path.relative_to(out))
        truth.to_wfdb(out / "truth", name)
        meta = truth.metadata()
        (out / "meta" / f"{name}.json").write_text(json.dumps(meta, indent=1))
        rows.append({"name": name, "image": str(image_path.relative_to(out)), "layout": layout,
                     "preset": preset, "dpi": dpi, "paper_speed": paper_speed, "gain": gain})
    with (out / "index.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["name"])
        writer.writeheader()
        writer.writerows(rows)
    return {"out": str(out), "n_pages": len(rows)}
