"""Overlapping tiles of an image of any size, and their blended re-assembly.

A fully convolutional network sees fixed-size tiles; overlapping borders are blended with
a weight that falls towards each tile's edge, where the network sees least context.

Examples
--------
>>> import numpy as np
>>> from ecg_digitize.neural.tiling import tile, untile
>>> img = np.random.rand(300, 500).astype("float32")
>>> tiles, origins = tile(img, size=128, overlap=32)
>>> np.allclose(untile(tiles, origins, img.shape), img)
True
"""
from __future__ import annotations

import numpy as np


def tile_origins(length: int, size: int, overlap: int) -> list[int]:
    """Start offsets of tiles of ``size`` covering ``length`` with at least ``overlap``.

    Examples
    --------
    >>> tile_origins(300, 128, 32)
    [0, 86, 172]
    >>> tile_origins(100, 128, 32)
    [0]
    """
    if length <= size:
        return [0]
    n = int(np.ceil((length - overlap) / (size - overlap)))
    return [int(round(v)) for v in np.linspace(0, length - size, n)]


def tile(image: np.ndarray, size: int = 256, overlap: int = 32):
    """Cut ``image`` (H x W [x C]) into ``size x size`` tiles; pad (edge) when smaller.

    Returns
    -------
    tiles : ndarray, (n, size, size [, C])
    origins : list of (y, x)
    """
    img = np.asarray(image)
    h, w = img.shape[:2]
    ph, pw = max(0, size - h), max(0, size - w)
    if ph or pw:
        pad = [(0, ph), (0, pw)] + [(0, 0)] * (img.ndim - 2)
        img = np.pad(img, pad, mode="edge")
    ys = tile_origins(img.shape[0], size, overlap)
    xs = tile_origins(img.shape[1], size, overlap)
    origins = [(y, x) for y in ys for x in xs]
    tiles = np.stack([img[y:y + size, x:x + size] for y, x in origins])
    return tiles, origins


def _weight(size: int, overlap: int) -> np.ndarray:
    """Separable ramp: 1 inside, falling linearly over ``overlap`` px to a small floor."""
    r = np.ones(size, np.float32)
    if overlap > 0:
        ramp = np.linspace(0.05, 1.0, overlap, dtype=np.float32)
        r[:overlap] = ramp
        r[-overlap:] = ramp[::-1]
    return np.outer(r, r)


def untile(tiles: np.ndarray, origins, shape, overlap: int = 32) -> np.ndarray:
    """Blend per-tile outputs (n, size, size [, C]) back into an array of ``shape[:2]``."""
    tiles = np.asarray(tiles, dtype=np.float32)
    size = tiles.shape[1]
    h = max(shape[0], size)
    w = max(shape[1], size)
    extra = tiles.shape[3:]
    acc = np.zeros((h, w) + extra, np.float32)
    wsum = np.zeros((h, w), np.float32)
    wt = _weight(size, overlap)
    wt_b = wt.reshape(wt.shape + (1,) * len(extra))
    for t, (y, x) in zip(tiles, origins):
        acc[y:y + size, x:x + size] += t * wt_b
        wsum[y:y + size, x:x + size] += wt
    out = acc / wsum.reshape(wsum.shape + (1,) * len(extra))
    return out[:shape[0], :shape[1]]
