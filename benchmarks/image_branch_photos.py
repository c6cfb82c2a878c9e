"""Overlays of the U-Net trace map and the page rectification on real photos (no truth).

    python benchmarks/image_branch_photos.py --n 8 --out docs/img/image_branch_photos.jpg

Reads ``ECG_DATA_DIR/ecg-image-kit-photos``; for each image: rectify, then paint pixels
with trace probability > 0.5 green over the rectified page. Prints whether a sheet was
found, the trace-pixel fraction and the CPU seconds; writes a contact sheet.
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--max-side", type=int, default=2400)
    ap.add_argument("--thumb", type=int, default=520)
    ap.add_argument("--out", default="docs/img/image_branch_photos.jpg")
    a = ap.parse_args(argv)

    import cv2

    from ecg_digitize.datasets import dataset_path
    from ecg_digitize.digitizer.sheet import rectify
    from ecg_digitize.neural.segment import trace_probability

    files = sorted(p for p in dataset_path("ecg-image-kit-photos").iterdir()
                   if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp"))[: a.n]
    tiles = []
    for f in files:
        img = cv2.cvtColor(cv2.imread(str(f), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        s = min(1.0, a.max_side / max(img.shape[:2]))
        if s < 1:
            img = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        c0 = time.process_time()
        rect, h = rectify(img)
        prob = trace_probability(rect)
        cpu = time.process_time() - c0
        over = rect.copy()
        over[prob > 0.5] = (0, 200, 0)
        print(f"{f.name}: {img.shape[1]}x{img.shape[0]}, sheet "
              f"{'found' if not np.allclose(h, np.eye(3)) else 'not found (kept)'}, trace "
              f"{100 * (prob > 0.5).mean():.2f} % of pixels, CPU {cpu:.1f} s", flush=True)
        th = lambda im: cv2.resize(im, (a.thumb, int(a.thumb * im.shape[0] / im.shape[1])),  # noqa: E731
                                   interpolation=cv2.INTER_AREA)
        pair = [th(img), th(over)]
        hh = max(p.shape[0] for p in pair)
        pair = [np.pad(p, ((0, hh - p.shape[0]), (0, 4), (0, 0)), constant_values=255) for p in pair]
        tiles.append(np.concatenate(pair, axis=1))
    width = max(t.shape[1] for t in tiles)
    sheet = np.concatenate([np.pad(t, ((0, 4), (0, width - t.shape[1]), (0, 0)),
                                   constant_values=255) for t in tiles])
    cv2.imwrite(a.out, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 70])
    print("wrote", a.out, sheet.shape)


if __name__ == "__main__":
    main()
