"""Draw the pictures of docs/digitizer.md into docs/img/ (small JPEGs).

Usage::

    python docs/make_digitizer_figures.py            # simulated page (no data needed)
    python docs/make_digitizer_figures.py --khan     # plus an overlay on a real khan2021 scan
    python docs/make_digitizer_figures.py --phone-photos   # plus six real phone photos read with method="photo"

Every picture comes from the real pipeline functions on a rendered page, so the figures
show what the code does, not a sketch of it.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "img"


def _save(fig, name: str) -> None:
    OUT.mkdir(exist_ok=True)
    fig.savefig(OUT / name, dpi=80, pil_kwargs={"quality": 80, "optimize": True})
    print("wrote", OUT / name)


def main(argv=None) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ecg_digitize import digitize
    from ecg_digitize.digitizer import extract, greyscale, grid, layout, threshold
    from ecg_digitize.digitizer import pipeline as pl
    from ecg_digitize.metrics import score_record
    from ecg_digitize.synth import render, simulate_12lead

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--khan", action="store_true", help="also draw an overlay on a real khan2021 scan")
    p.add_argument("--phone-photos", action="store_true",
                   help="also draw overlays of six real phone photos read with method='photo'")
    args = p.parse_args(argv)

    sig, fs, leads = simulate_12lead(seed=0)
    image, truth = render(sig, fs, leads, layout="3x4+II", seed=0, preset="scan")

    # 1. colour-aware greyscale and adaptive Otsu
    tv = threshold.normalise_background(greyscale.trace_view(image))
    gv = threshold.normalise_background(greyscale.grid_view(image))
    _, mask = threshold.adaptive_otsu(tv)
    y0, y1, x0, x1 = 250, 480, 60, 520
    fig, ax = plt.subplots(1, 3, figsize=(12, 2.6))
    for a, im, title in zip(ax, [image[y0:y1, x0:x1], gv[y0:y1, x0:x1], mask[y0:y1, x0:x1]],
                            ["page (scan preset)", "grid view (colour)", "trace mask (adaptive Otsu)"]):
        a.imshow(im, cmap="gray_r" if im.ndim == 2 else None, interpolation="nearest")
        a.set_title(title, fontsize=10)
        a.axis("off")
    fig.tight_layout()
    _save(fig, "digitizer_threshold.jpg")
    plt.close(fig)

    # 2. grid period from the spectrum
    est = grid.estimate_grid(gv, trace_mask=mask)
    prof = gv[gv.shape[0] // 10: -gv.shape[0] // 10].mean(axis=0)
    spec = np.abs(np.fft.rfft((prof - prof.mean()) * np.hanning(len(prof)), 8 * len(prof))) ** 2
    f = np.fft.rfftfreq(8 * len(prof))
    fig, ax = plt.subplots(figsize=(8, 2.6))
    ax.semilogy(f, spec + 1e-9, lw=0.6)
    for h in range(1, 11):
        ax.axvline(h / (5 * est.px_per_mm), color="r", lw=0.5, alpha=0.6)
    ax.set_xlim(0, 0.3)
    ax.set_xlabel("cycles per pixel")
    ax.set_title(f"column profile spectrum: 5 mm comb (red) -> {est.px_per_mm:.3f} px/mm "
                 f"(true {truth.calibration.px_per_mm:.3f})", fontsize=10)
    fig.tight_layout()
    _save(fig, "digitizer_grid_spectrum.jpg")
    plt.close(fig)

    # 3. rows and layout, then the path through a QRS
    clean, ctruth = render(sig, fs, leads, layout="3x4+II", seed=0)
    captured = []
    orig = extract.trace_row

    def spy(*a, **k):
        r = orig(*a, **k)
        captured.append(r)
        return r

    pl.extract.trace_row = spy
    try:
        rec = digitize(clean)
    finally:
        pl.extract.trace_row = orig
    fig, ax = plt.subplots(figsize=(11, 7.6))
    ax.imshow(clean, interpolation="bilinear")
    for b in rec.geometry["boxes"]:
        bx0, by0, bx1, by1 = b["bbox"]
        ax.add_patch(plt.Rectangle((bx0, by0), bx1 - bx0, by1 - by0, fill=False, ec="g", lw=0.8))
        ax.text(bx0 + 5, by0 + 25, b["lead"], color="g", fontsize=8)
        ax.axhline(b["baseline_y"], xmin=bx0 / clean.shape[1], xmax=bx1 / clean.shape[1], color="orange", lw=0.6)
    for tr in captured:
        ax.plot(tr.px, tr.py, "b-", lw=0.4)
    ax.axvline(rec.geometry["x_start"], color="m", lw=0.8)
    ax.axvline(rec.geometry["x_end"], color="m", lw=0.8)
    ax.set_title(f"rows, lead boxes (green), 0 mV lines (orange), time 0 and end (magenta): "
                 f"layout {rec.layout}, {score_record(rec, ctruth).snr:.1f} dB", fontsize=10)
    ax.axis("off")
    fig.tight_layout()
    _save(fig, "digitizer_layout.jpg")
    plt.close(fig)

    row = captured[0]
    k = int(np.nanargmin(row.y[200:700])) + 200 + row.x0  # a QRS peak in row 0
    cx0, cx1 = k - 25, k + 25
    base = rec.geometry["rows"][0]["baseline_y"]
    cy0, cy1 = int(base - 110), int(base + 40)
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.imshow(clean[cy0:cy1, cx0:cx1], extent=(cx0 - 0.5, cx1 - 0.5, cy1 - 0.5, cy0 - 0.5), interpolation="nearest")
    m = (row.px > cx0) & (row.px < cx1)
    ax.plot(row.px[m], row.py[m], "b.-", lw=0.8, ms=3, label="path (columns + stroke crossings)")
    pps, ppv = 7.874 * 25, 7.874 * 10
    xt = ctruth.geometry["boxes"][0]["x0"] + np.arange(len(sig)) / fs * pps
    yt = ctruth.geometry["boxes"][0]["baseline_y"] - sig[:, 0] * ppv
    m = (xt > cx0) & (xt < cx1)
    ax.plot(xt[m], yt[m], "g.", ms=3, label="true samples")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("trace extraction through a QRS", fontsize=10)
    fig.tight_layout()
    _save(fig, "digitizer_qrs_path.jpg")
    plt.close(fig)

    # 4. a wrapped single-lead strip
    strip_sig, sfs, _ = simulate_12lead(duration=40, fs=300, seed=2)
    simg, struth = render(strip_sig[:, [1]], sfs, ["II"], layout="strip", dpi=150, seed=2, header=False)
    srec = digitize(simg, fs=sfs)
    fig, ax = plt.subplots(figsize=(11, 3.2))
    n = min(len(srec.signal), len(struth.signal))
    t = np.arange(n) / sfs
    ax.plot(t, struth.signal[:n, 0], "k-", lw=0.8, label="truth")
    ax.plot(t, srec.signal[:n, 0] - 1.5, "b-", lw=0.8, label="digitized (-1.5 mV)")
    ax.set_xlabel("s")
    ax.set_title(f"40 s strip wrapped into 4 rows: layout read as '{srec.layout}', "
                 f"{score_record(type(struth)(srec.signal[:n, :1], fs=sfs, leads=['II']), struth).snr:.1f} dB", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    _save(fig, "digitizer_strip.jpg")
    plt.close(fig)

    if args.khan:
        from ecg_digitize.datasets import data_dir
        from ecg_digitize.digitizer.cli import save_overlay

        path = data_dir() / "khan2021" / "normal" / "Normal(1).jpg"
        if not path.exists():
            path = sorted((data_dir() / "khan2021").rglob("*.jpg"))[0]
        krec = digitize(path)
        tmp = save_overlay(path, krec, OUT / "_khan_overlay.png")
        from PIL import Image

        im = Image.open(tmp).convert("RGB")
        im.thumbnail((1100, 1100))
        im.save(OUT / "digitizer_khan2021.jpg", quality=75, optimize=True)
        Path(tmp).unlink()
        print("wrote", OUT / "digitizer_khan2021.jpg", "from", path.name)
    if args.phone_photos:
        _phone_photo_overlays()
    del layout
    return 0


# folded (03424), crumpled and cut at the top (03648), written on (03701), upright phone
# (03769), flat (03784), shaded (03868)
PHONE_PHOTOS = ("03424", "03648", "03701", "03769", "03784", "03868")


def _phone_photo_overlays() -> None:
    """Six phone photos of ``phone-photos`` read with ``method="photo"``, each drawn over
    the flattened sheet it was read from, in one contact sheet."""
    from PIL import Image, ImageDraw

    from ecg_digitize import digitize
    from ecg_digitize.datasets import data_dir
    from ecg_digitize.digitizer.pipeline import page_as_measured
    from ecg_digitize.metrics import self_consistency
    from ecg_digitize.overlay import draw_overlay

    tiles = []
    for name in PHONE_PHOTOS:
        path = data_dir() / "phone-photos" / f"{name}.jpg"
        rec = digitize(path, method="photo")
        tile = Image.fromarray(draw_overlay(page_as_measured(path, rec), rec))
        tile.thumbnail((760, 760))
        sc = self_consistency(rec)["mean"]
        ImageDraw.Draw(tile).text((8, 8), f"{name}: {rec.layout}, self-consistency {sc:.1f} dB",
                                  fill=(200, 0, 0))
        tiles.append(tile)
    w, h = max(t.width for t in tiles), max(t.height for t in tiles)
    sheet = Image.new("RGB", (2 * w, 3 * h), "white")
    for k, tile in enumerate(tiles):
        sheet.paste(tile, ((k % 2) * w, (k // 2) * h))
    sheet.save(OUT / "digitizer_phone_photos.jpg", quality=65, optimize=True)
    print("wrote", OUT / "digitizer_phone_photos.jpg")


if __name__ == "__main__":
    raise SystemExit(main())
