"""A corpus of odd inputs for ``digitize`` and a harness that runs it with a time limit.

Shared by ``tests/test_fuzz.py`` (a quick subset in the default run, the whole corpus
under ``-m slow``) and ``benchmarks/fuzz_corpus.py`` (the whole corpus, counts printed).

:func:`make_corpus` writes every input into a folder, deterministically (one seed), and
returns :class:`FuzzCase` rows: files of every format digitize reads (and some it does
not), truncated and corrupt bytes, numpy arrays of odd dtypes and shapes (saved as
``.npy``), PIL images of odd modes (pickled), rendered ECG pages cut, turned, inverted,
squashed or stretched, charts, text pages and photo-like noise.

:func:`run_corpus` digitizes each case in a child process (one at a time, the child kept
between cases) and waits at most ``limit_s`` for each: a child that does not answer in
time is killed and replaced (a *hang*), one that dies is a *crash*. Every outcome is
one of ``ok`` (a Record), ``project`` (an :class:`~ecg_digitize.errors.EcgDigitizeError`
subclass naming the input), ``foreign`` (any other exception), ``hang`` or ``crash``.
"""
from __future__ import annotations

import io
import multiprocessing
import os
import pickle
import struct
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

SEED = 0
LIMIT_S = 60.0  # a digitize call over this is a hang (a 200 dpi page takes 1-5 s here)
# The quick subset (default test run): the cases at these indices of each category,
# about 45 in all, so every kind of odd input is tried in well under a minute.
QUICK_INDICES = (0, 3)


@dataclass(frozen=True)
class FuzzCase:
    """One odd input: ``kind`` says how ``path`` is handed to digitize.

    ``"path"``: the path itself (a file, folder or missing name); ``"array"``: the numpy
    array saved there (``np.load``); ``"pil"``: the PIL image pickled there.
    """

    name: str
    category: str
    path: str
    kind: str = "path"
    kwargs: tuple = ()

    def load(self) -> Any:
        """The object to pass to ``digitize``."""
        if self.kind == "array":
            return np.load(self.path, allow_pickle=False)
        if self.kind == "pil":
            with open(self.path, "rb") as fh:
                return pickle.load(fh)
        return self.path


@dataclass
class FuzzOutcome:
    """What ``digitize`` did with one case."""

    case: FuzzCase
    status: str                     # ok, project, foreign, hang, crash
    error: str | None = None        # exception class name
    message: str = ""
    where: str = ""                 # foreign: the innermost frames of the traceback
    seconds: float = 0.0
    names_input: bool = True        # project errors: the message names the input


# ============================================================================ the corpus
class _Writer:
    """Collects cases while writing their files into ``root``."""

    def __init__(self, root: Path, quick: bool = False):
        self.root = root
        self.quick = quick
        self.cases: list[FuzzCase] = []
        self._seen: dict[str, int] = {}

    def _path(self, name: str) -> Path:
        return self.root / name

    def wanted(self, category: str) -> bool:
        """Every case, or in the quick subset the ones at :data:`QUICK_INDICES` of each category."""
        index = self._seen.get(category, 0)
        self._seen[category] = index + 1
        return not self.quick or index in QUICK_INDICES

    def raw(self, category: str, name: str, data: bytes, **kwargs) -> None:
        if not self.wanted(category):
            return
        path = self._path(name)
        path.write_bytes(data)
        self.cases.append(FuzzCase(name, category, str(path), "path", tuple(sorted(kwargs.items()))))

    def pil(self, category: str, name: str, im, fmt: str | None = None, **save) -> None:
        """Save a PIL image as a file named ``name`` (format from the suffix unless given)."""
        if self.quick and self._seen.get(category, 0) not in QUICK_INDICES:
            self._seen[category] = self._seen.get(category, 0) + 1
            return
        buf = io.BytesIO()
        _made(im).save(buf, format=fmt or _FORMATS[Path(name).suffix.lower()], **save)
        self.raw(category, name, buf.getvalue())

    def array(self, category: str, name: str, arr: np.ndarray, **kwargs) -> None:
        if not self.wanted(category):
            return
        path = self._path(name + ".npy")
        np.save(path, np.asarray(_made(arr)), allow_pickle=False)
        self.cases.append(FuzzCase(name, category, str(path), "array", tuple(sorted(kwargs.items()))))

    def pil_object(self, category: str, name: str, im) -> None:
        if not self.wanted(category):
            return
        path = self._path(name + ".pkl")
        with open(path, "wb") as fh:
            pickle.dump(im, fh)
        self.cases.append(FuzzCase(name, category, str(path), "pil"))

    def path(self, category: str, name: str, path: Path, **kwargs) -> None:
        if not self.wanted(category):
            return
        self.cases.append(FuzzCase(name, category, str(path), "path", tuple(sorted(kwargs.items()))))


def _made(thing: Any) -> Any:
    """``thing``, or what it makes when it is a function (costly inputs are made only when
    the case is wanted, so the quick subset is quick to write)."""
    return thing() if callable(thing) else thing


_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF",
            ".bmp": "BMP", ".webp": "WEBP", ".gif": "GIF", ".pdf": "PDF"}


_PAGE_KINDS = (("3x4+II", "clean"), ("6x2", "scan"), ("12x1", "clean"), ("3x4", "photo"), ("strip", "clean"))


def _ecg_page(layout: str, preset: str) -> np.ndarray:
    """A rendered page (100 dpi: quick to read) the variants are cut from."""
    from ecg_digitize.synth import render, simulate_12lead

    sig, fs, leads = simulate_12lead(seed=SEED)
    if layout == "strip":
        sig, leads = sig[:, 1:2], ["II"]
    return render(sig, fs, leads, layout=layout, dpi=100, seed=SEED, preset=preset)[0]


def _pil(arr: np.ndarray):
    from PIL import Image

    return Image.fromarray(np.ascontiguousarray(arr))


def _resize(arr: np.ndarray, width: int, height: int) -> np.ndarray:
    import cv2

    return cv2.resize(arr, (max(1, width), max(1, height)), interpolation=cv2.INTER_AREA)


def _noise(rng, shape, smooth: float = 0.0) -> np.ndarray:
    import cv2

    img = rng.integers(0, 256, shape, dtype=np.uint8)
    if smooth:
        img = cv2.GaussianBlur(img, (0, 0), smooth)
        img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX)
    return img


def _blobs(rng, h: int, w: int) -> np.ndarray:
    """A photo-like picture: a gradient with random filled ellipses and a little noise."""
    import cv2

    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * 200 / w + 30), (yy * 180 / h + 40), ((xx + yy) * 100 / (h + w) + 80)], -1)
    img = base.astype(np.uint8)
    for _ in range(int(rng.integers(5, 40))):
        c = tuple(int(v) for v in rng.integers(0, 256, 3))
        cv2.ellipse(img, (int(rng.integers(0, w)), int(rng.integers(0, h))),
                    (int(rng.integers(5, w // 3 + 6)), int(rng.integers(5, h // 3 + 6))),
                    float(rng.uniform(0, 180)), 0, 360, c, -1)
    img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.5, 4)))
    return np.clip(img.astype(np.int16) + rng.integers(-8, 9, img.shape), 0, 255).astype(np.uint8)


def _sine_chart(rng, h: int, w: int, grid: bool) -> np.ndarray:
    """A chart drawn with OpenCV: axes, ticks, optional grid, one or more sine curves."""
    import cv2

    img = np.full((h, w, 3), 255, np.uint8)
    if grid:
        step = int(rng.integers(8, 30))
        colour = (200, 200, 255) if rng.random() < 0.5 else (210, 210, 210)
        for x in range(0, w, step):
            cv2.line(img, (x, 0), (x, h - 1), colour, 1)
        for y in range(0, h, step):
            cv2.line(img, (0, y), (w - 1, y), colour, 1)
    cv2.line(img, (40, h - 30), (w - 10, h - 30), (0, 0, 0), 2)
    cv2.line(img, (40, 10), (40, h - 30), (0, 0, 0), 2)
    for k in range(int(rng.integers(1, 4))):
        xs = np.arange(40, w - 10)
        ys = h / 2 + (h / 4) * np.sin(xs / rng.uniform(5, 80) + k) + k * 10
        pts = np.stack([xs, ys], 1).astype(np.int32)
        cv2.polylines(img, [pts], False, tuple(int(v) for v in rng.integers(0, 150, 3)), int(rng.integers(1, 4)))
    return img


def _mpl_chart(kind: str, seed: int) -> np.ndarray:
    """A matplotlib figure (sine plot, bars, scatter, histogram) as an RGB array."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    t = np.linspace(0, 10, 2000)
    if kind == "sine":
        ax.plot(t, np.sin(2 * np.pi * rng.uniform(0.5, 3) * t), "k-")
        ax.grid(True)
    elif kind == "bars":
        ax.bar(range(12), rng.uniform(0, 10, 12))
    elif kind == "scatter":
        ax.scatter(rng.normal(size=300), rng.normal(size=300), s=4)
    else:
        ax.hist(rng.normal(size=2000), bins=40)
    ax.set_title(f"chart {kind} {seed}")
    fig.canvas.draw()
    arr = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return arr


def _text_page(rng, h: int, w: int, ruled: bool) -> np.ndarray:
    import cv2

    img = np.full((h, w), 255, np.uint8)
    words = "the quick brown fox jumps over a lazy dog ECG report patient name date 25 mm/s 10 mm/mV".split()
    y = 40
    while y < h - 10:
        if ruled:
            cv2.line(img, (0, y + 6), (w - 1, y + 6), 170, 1)
        line = " ".join(rng.choice(words, int(rng.integers(3, 14))))
        cv2.putText(img, line, (20, y), cv2.FONT_HERSHEY_SIMPLEX, float(rng.uniform(0.4, 1.2)), 0,
                    int(rng.integers(1, 3)))
        y += int(rng.integers(20, 45))
    return img


def _exif_jpeg(im, orientation: int) -> bytes:
    exif = im.getexif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif.tobytes(), quality=85)
    return buf.getvalue()


def _cross(h: int, w: int) -> np.ndarray:
    """White with a 2 px line across the middle and a 1 px line down it."""
    img = np.full((h, w), 255, np.uint8)
    img[h // 2 - 1: h // 2 + 1, :] = 0
    img[:, w // 2] = 0
    return img


def _lines(h: int, w: int, step: int) -> np.ndarray:
    """White with a black line every ``step`` px both ways."""
    img = np.full((h, w), 255, np.uint8)
    img[::step] = 0
    img[:, ::step] = 0
    return img


def _bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header (and one empty IDAT) claiming ``width x height`` pixels."""
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) \
        + chunk(b"IEND", b"")


# ---------------------------------------------------------------- categories
def _add_noise_and_blank(w: _Writer, rng) -> None:
    for i, (h, wd) in enumerate(((100, 100), (300, 400), (827, 1169), (1654, 2339), (150, 3000))):
        w.array("noise", f"noise-grey-{i}", _noise(rng, (h, wd)))
        w.array("noise", f"noise-rgb-{i}", _noise(rng, (h, wd, 3)))
        w.pil("noise", f"noise-smooth-{i}.png", _pil(_noise(rng, (h, wd, 3), smooth=3)))
    w.array("noise", "noise-gauss-float", np.clip(rng.normal(0.5, 0.2, (600, 800)), 0, 1))
    w.pil("noise", "noise-salt.png", _pil(np.where(rng.random((600, 800)) < 0.01, 0, 255).astype(np.uint8)))
    for value in (0, 128, 255, 254):
        w.array("blank", f"blank-{value}", np.full((600, 800), value, np.uint8))
    w.pil("blank", "blank-white.png", _pil(np.full((600, 800, 3), 255, np.uint8)))
    w.pil("blank", "blank-black.jpg", _pil(np.zeros((600, 800, 3), np.uint8)))
    w.pil("blank", "blank-stripe.png", _pil(np.pad(np.zeros((1, 800), np.uint8), ((300, 299), (0, 0)),
                                                   constant_values=255)))
    for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 200, 200), (250, 250, 240), (30, 30, 30)):
        w.pil("one-colour", f"colour-{colour[0]}-{colour[1]}-{colour[2]}.png",
              _pil(np.full((500, 700, 3), colour, np.uint8)))


def _add_tiny_and_aspect(w: _Writer, rng) -> None:
    for h, wd in ((1, 1), (1, 2), (2, 1), (1, 500), (500, 1), (1, 20000), (2, 2), (3, 3000), (99, 1000),
                  (100, 100), (100, 600), (101, 101)):
        w.array("tiny", f"tiny-array-{h}x{wd}", _noise(rng, (h, wd)))
    for h, wd in ((1, 1), (1, 300), (300, 1), (5, 5), (100, 599)):
        w.pil("tiny", f"tiny-{h}x{wd}.png", _pil(_noise(rng, (h, wd, 3))))
    w.pil("tiny", "tiny-1x1.jpg", _pil(np.zeros((1, 1, 3), np.uint8)))
    w.pil("tiny", "tiny-1x1.gif", _pil(np.zeros((1, 1), np.uint8)))
    for h, wd in ((100, 20000), (20000, 100), (100, 60000), (60000, 100), (150, 12000), (3000, 150)):
        w.pil("extreme-aspect", f"aspect-{h}x{wd}.png", lambda h=h, wd=wd: _pil(_cross(h, wd)))
    w.array("extreme-aspect", "aspect-noise-120x30000", _noise(rng, (120, 30000)))


def _add_bit_depths(w: _Writer, rng, page: np.ndarray) -> None:
    from PIL import Image

    grey = page.min(axis=2)
    w.array("16-bit", "u16-page", grey.astype(np.uint16) * 257)
    w.array("16-bit", "u16-page-12bit", grey.astype(np.uint16) * 16)
    w.array("16-bit", "u16-noise", rng.integers(0, 65536, (400, 600), dtype=np.uint16))
    w.array("16-bit", "u16-rgb-page", page.astype(np.uint16) * 257)
    w.array("16-bit", "u16-flat", np.full((400, 600), 40000, np.uint16))
    w.array("16-bit", "u16-max", np.full((400, 600), 65535, np.uint16))
    w.array("16-bit", "u32-page", grey.astype(np.uint32) * 16843009)
    w.array("16-bit", "i32-page-neg", grey.astype(np.int32) - 100000)
    im16 = Image.fromarray(grey.astype(np.uint16) * 257)
    w.pil("16-bit", "page-16bit.png", im16)
    w.pil("16-bit", "page-16bit.tif", im16)
    w.pil("16-bit", "noise-16bit.png", Image.fromarray(rng.integers(0, 65536, (300, 500), dtype=np.uint16)))
    w.pil("16-bit", "page-float.tif", Image.fromarray(grey.astype(np.float32) / 255))
    nan = grey.astype(np.float32)
    nan[10:20, 10:20] = np.nan
    w.pil("16-bit", "page-float-nan.tif", Image.fromarray(nan))
    w.pil("16-bit", "page-int32.tif", Image.fromarray(grey.astype(np.int32) * 1000 - 50000))


def _add_modes(w: _Writer, rng, page: np.ndarray) -> None:
    from PIL import Image

    im = _pil(page)
    rgba = im.convert("RGBA")
    w.pil("alpha", "page-rgba.png", rgba)
    transparent = np.asarray(rgba).copy()
    transparent[..., 3] = 0
    w.pil("alpha", "page-transparent.png", _pil(transparent))
    half = np.asarray(rgba).copy()
    half[..., 3] = rng.integers(0, 256, half.shape[:2], dtype=np.uint8)
    w.pil("alpha", "page-random-alpha.png", _pil(half))
    w.pil("alpha", "page-la.png", im.convert("LA"))
    black_on_clear = np.zeros(page.shape[:2] + (4,), np.uint8)
    black_on_clear[..., 3] = 255 - page.min(axis=2)
    w.pil("alpha", "page-ink-in-alpha.png", _pil(black_on_clear))
    w.array("alpha", "array-rgba", np.asarray(rgba))
    w.pil("palette", "page-p.png", im.convert("P", palette=Image.ADAPTIVE, colors=16))
    ptrans = im.convert("P", palette=Image.ADAPTIVE, colors=8)
    ptrans.info["transparency"] = 0
    w.pil("palette", "page-p-transparent.png", ptrans, transparency=0)
    w.pil("palette", "page-p.gif", im.convert("P", palette=Image.ADAPTIVE, colors=4))
    w.pil("palette", "page-1bit.png", im.convert("1"))
    w.pil("palette", "page-1bit-g4.tif", im.convert("1"), compression="group4")
    w.pil("palette", "page-2colour.bmp", im.convert("P", palette=Image.ADAPTIVE, colors=2))
    w.pil("cmyk", "page-cmyk.jpg", im.convert("CMYK"), quality=80)
    w.pil("cmyk", "page-cmyk.tif", im.convert("CMYK"))
    w.pil("cmyk", "noise-cmyk.jpg", _pil(_noise(rng, (300, 400, 3))).convert("CMYK"))
    w.pil("cmyk", "page-ycbcr.jpg", im.convert("YCbCr"))
    w.pil("cmyk", "page-lab.tif", im.convert("LAB"))
    for o in range(1, 9):
        w.raw("exif", f"page-exif-{o}.jpg", _exif_jpeg(im, o))
    w.raw("exif", "noise-exif-6.jpg", _exif_jpeg(_pil(_noise(rng, (200, 900, 3))), 6))
    bad = bytearray(_exif_jpeg(im, 6))
    at = bad.find(b"Exif")
    bad[at + 10: at + 30] = b"\xff" * 20  # a mangled EXIF block
    w.raw("exif", "page-exif-mangled.jpg", bytes(bad))


def _add_multiframe(w: _Writer, rng, page: np.ndarray) -> None:
    from PIL import Image

    frames = [_pil(page).convert("P", palette=Image.ADAPTIVE), _pil(_noise(rng, page.shape)).convert("P"),
              Image.new("P", page.shape[1::-1], 255)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    for p in (0, 1, 2, 5, -1):
        w.raw("animated-gif", f"anim-page{p}.gif", buf.getvalue(), page=p)
    buf = io.BytesIO()
    _pil(page).save(buf, "TIFF", save_all=True, append_images=[_pil(page[::-1]), Image.new("L", (300, 200))])
    for p in (0, 1, 2, 3, 1000, -2):
        w.raw("multipage-tiff", f"multi-page{p}.tif", buf.getvalue(), page=p)
    w.raw("animated-gif", "page-webp-page3.webp", _encode(_pil(page), "WEBP"), page=3)


def _encode(im, fmt: str, **save) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **save)
    return buf.getvalue()


def _pdf_bytes(page: np.ndarray, pages: int = 1) -> bytes:
    im = _pil(page)
    return _encode(im, "PDF", save_all=True, append_images=[im] * (pages - 1), resolution=100.0)


def _add_bytes(w: _Writer, rng, page: np.ndarray) -> None:
    im = _pil(page)
    files = {".png": _encode(im, "PNG"), ".jpg": _encode(im, "JPEG", quality=80),
             ".tif": _encode(im, "TIFF", compression="tiff_lzw"), ".pdf": _pdf_bytes(page, 2),
             ".gif": _encode(im.convert("P"), "GIF"), ".bmp": _encode(im, "BMP"), ".webp": _encode(im, "WEBP")}
    for suffix, data in files.items():
        for frac in (0.0005, 0.1, 0.5, 0.9, 0.999):
            w.raw("truncated", f"trunc-{int(frac * 1000)}{suffix}", data[:max(1, int(len(data) * frac))])
        for k in range(3):
            bad = bytearray(data)
            where = rng.integers(min(64, len(bad) - 1), len(bad), 12 * (k + 1))
            for i in where:
                bad[int(i)] = int(rng.integers(0, 256))
            w.raw("corrupt", f"corrupt-{k}{suffix}", bytes(bad))
        w.raw("corrupt", f"header-then-junk{suffix}", data[:32] + rng.bytes(5000))
        w.raw("zero-byte", f"empty{suffix}", b"")
    w.raw("zero-byte", "empty-no-suffix", b"")
    w.raw("pdf", "pdf-page1.pdf", files[".pdf"], page=1)
    w.raw("pdf", "pdf-page2.pdf", files[".pdf"], page=2)
    w.raw("pdf", "pdf-page-neg.pdf", files[".pdf"], page=-1)
    w.raw("pdf", "pdf-blank.pdf", _pdf_bytes(np.full((300, 400, 3), 255, np.uint8)))
    w.raw("pdf", "pdf-tiny.pdf", _pdf_bytes(np.zeros((2, 2, 3), np.uint8)))
    w.raw("pdf", "pdf-huge-mediabox.pdf", b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
          b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R"
          b"/MediaBox[0 0 14400 14400]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
    w.raw("pdf", "pdf-zero-mediabox.pdf", b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
          b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R"
          b"/MediaBox[0 0 0 0]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
    w.raw("pdf", "pdf-no-pages.pdf", b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
          b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
    _add_wrong_names(w, files)


def _add_wrong_names(w: _Writer, files: dict[str, bytes]) -> None:
    w.raw("wrong-extension", "png-named.jpg", files[".png"])
    w.raw("wrong-extension", "jpeg-named.png", files[".jpg"])
    w.raw("wrong-extension", "pdf-named.png", files[".pdf"])
    w.raw("wrong-extension", "png-named.pdf", files[".png"])
    w.raw("wrong-extension", "tiff-named.gif", files[".tif"])
    w.raw("wrong-extension", "png-named.txt", files[".png"])
    w.raw("wrong-extension", "text-named.png", b"this is not an image\n" * 50)
    w.raw("wrong-extension", "html-named.jpg", b"<html><body>404 Not Found</body></html>")
    w.raw("wrong-extension", "zip-named.tif", b"PK\x03\x04" + b"\0" * 200)
    w.raw("wrong-extension", "svg.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300">'
          b'<path d="M0 150 L400 150" stroke="black"/></svg>')
    w.raw("wrong-extension", "unicode-n\u00e4me \u2665.png", files[".png"][:100])
    folder = w.root / "a-folder.png"
    folder.mkdir(exist_ok=True)
    w.path("path", "folder", folder)
    w.path("path", "missing", w.root / "does-not-exist.png")
    w.path("path", "missing-dir", w.root / "no" / "such" / "dir.jpg")
    link = w.root / "broken-link.png"
    if not link.is_symlink():
        link.symlink_to(w.root / "nowhere.png")
    w.path("path", "broken-symlink", link)
    w.path("path", "dev-null", Path(os.devnull))
    w.path("path", "empty-string", Path(""))


def _add_huge(w: _Writer, rng) -> None:
    w.raw("huge", "bomb-100k.png", _bomb_png(100_000, 100_000))
    w.raw("huge", "bomb-wide.png", _bomb_png(2_000_000_000, 1))
    w.raw("huge", "bomb-15k.png", _bomb_png(15_000, 15_000))
    w.pil("huge", "white-12000x4000.png", lambda: _pil(np.full((4000, 12000), 255, np.uint8)))
    w.pil("huge", "grid-8000x6000.png", lambda: _pil(_lines(6000, 8000, 50)))


def _add_pictures(w: _Writer, rng) -> None:
    for i in range(15):
        h, wd = int(rng.integers(200, 1400)), int(rng.integers(200, 1800))
        w.pil("photo-like", f"blobs-{i}.jpg" if i % 2 else f"blobs-{i}.png", _pil(_blobs(rng, h, wd)))
    for i in range(5):
        w.array("photo-like", f"smooth-noise-{i}", _noise(rng, (600, 900, 3), smooth=float(1 + 3 * i)))
    yy, xx = np.mgrid[0:600, 0:900]
    w.array("photo-like", "gradient-h", (xx * 255 / 899).astype(np.uint8))
    w.array("photo-like", "gradient-v", (yy * 255 / 599).astype(np.uint8))
    w.array("photo-like", "checkerboard", (((xx // 20 + yy // 20) % 2) * 255).astype(np.uint8))
    w.array("photo-like", "stripes-h", (((yy // 5) % 2) * 255).astype(np.uint8))
    w.array("photo-like", "stripes-v", (((xx // 3) % 2) * 255).astype(np.uint8))
    for i in range(8):
        h, wd = int(rng.integers(300, 1000)), int(rng.integers(500, 1600))
        w.pil("chart", f"cv-chart-{i}.png", _pil(_sine_chart(rng, h, wd, grid=i % 2 == 0)))
    for i, kind in enumerate(("sine", "sine", "bars", "scatter", "hist", "sine")):
        w.pil("chart", f"mpl-{kind}-{i}.png", lambda kind=kind, i=i: _pil(_mpl_chart(kind, i)))
    for i in range(10):
        h, wd = (1169, 827) if i % 2 else (827, 1169)
        w.pil("text", f"text-{i}.png", _pil(_text_page(rng, h, wd, ruled=i % 3 == 0)))


def _cuts(page: Callable[[], np.ndarray]) -> dict[str, Callable[[], np.ndarray]]:
    """Variants of a page (made only when wanted): halves, quarters, slices, turned,
    inverted, bordered, squashed to 30 px, stretched to 20 000 px."""
    import cv2

    def cut(fn: Callable) -> Callable[[], np.ndarray]:
        return lambda: np.ascontiguousarray(fn(page(), *page().shape[:2]))

    return {"top": cut(lambda p, h, w: p[: h // 2]), "bottom": cut(lambda p, h, w: p[h // 2:]),
            "left": cut(lambda p, h, w: p[:, : w // 2]), "right": cut(lambda p, h, w: p[:, w // 2:]),
            "q1": cut(lambda p, h, w: p[: h // 2, : w // 2]), "q4": cut(lambda p, h, w: p[h // 2:, w // 2:]),
            "row-slice": cut(lambda p, h, w: p[h // 3: h // 3 + 60]),
            "column-slice": cut(lambda p, h, w: p[:, w // 3: w // 3 + 80]),
            "rot90": cut(lambda p, h, w: np.rot90(p)), "rot270": cut(lambda p, h, w: np.rot90(p, 3)),
            "rot180": cut(lambda p, h, w: p[::-1, ::-1]), "inverted": cut(lambda p, h, w: 255 - p),
            "border": cut(lambda p, h, w: cv2.copyMakeBorder(p, h, h, w, w, cv2.BORDER_CONSTANT,
                                                             value=(255, 255, 255))),
            "30px-tall": cut(lambda p, h, w: _resize(p, int(w * 30 / h), 30)),
            "20000-wide": cut(lambda p, h, w: _resize(p, 20000, 60)),
            "squashed": cut(lambda p, h, w: _resize(p, w, h // 8)),
            "thin-tall": cut(lambda p, h, w: _resize(p, 40, 3000))}


def _add_ecg_variants(w: _Writer, page: np.ndarray) -> None:
    from functools import lru_cache

    for layout, preset in _PAGE_KINDS:
        rendered = page if (layout, preset) == _PAGE_KINDS[0] else lru_cache(None)(
            lambda layout=layout, preset=preset: _ecg_page(layout, preset))
        for name, make in _cuts(rendered if callable(rendered) else lambda: page).items():
            w.array("ecg-variant", f"ecg-{layout}-{preset}-{name}", make)
    w.pil("ecg-variant", "ecg-ok.png", _pil(page))
    for dpi in (1, 10, 2400, 100000):
        w.pil("ecg-variant", f"ecg-dpi-{dpi}.png", _pil(page), dpi=(dpi, dpi))
    w.pil("ecg-variant", "ecg-dpi-0.tif", _pil(page), dpi=(0, 0))
    w.array("ecg-variant", "ecg-rot45", _rotate(page, 45))
    w.array("ecg-variant", "ecg-rot3", _rotate(page, 3))
    w.array("ecg-variant", "ecg-rot-20", _rotate(page, -20))
    grid_only = page.copy()
    grid_only[page.min(axis=2) < 100] = 255
    w.array("ecg-variant", "ecg-grid-only", grid_only)
    w.array("ecg-variant", "ecg-tiled-2x2", np.block([[page, page], [page, page]]) if page.ndim == 2
            else np.concatenate([np.concatenate([page, page], 1)] * 2, 0))
    w.array("ecg-variant", "ecg-upscaled-x3", _resize(page, page.shape[1] * 3, page.shape[0] * 3))
    w.array("ecg-variant", "ecg-downscaled-x4", _resize(page, page.shape[1] // 4, page.shape[0] // 4))
    w.array("ecg-variant", "ecg-red-channel-only", np.stack([page[..., 0]] + [np.zeros_like(page[..., 0])] * 2, -1))


def _rotate(page: np.ndarray, deg: float) -> np.ndarray:
    import cv2

    h, wd = page.shape[:2]
    m = cv2.getRotationMatrix2D((wd / 2, h / 2), deg, 1.0)
    return cv2.warpAffine(page, m, (wd, h), borderValue=(255, 255, 255))


def _add_arrays(w: _Writer, rng, page: np.ndarray) -> None:
    grey = page.min(axis=2)
    odd = {"bool-page": grey < 128, "bool-all-true": np.ones((400, 600), bool),
           "float64-page": grey / 255.0, "float64-0-255": grey.astype(np.float64),
           "float64-nan": np.where(grey < 100, np.nan, 1.0), "float64-all-nan": np.full((300, 400), np.nan),
           "float64-inf": np.where(grey < 100, np.inf, 0.0), "float64-neginf": np.where(grey < 100, -np.inf, 1.0),
           "float64-huge": grey * 1e300, "float64-negative": grey / 255.0 - 1.0,
           "float16-page": (grey / 255.0).astype(np.float16), "float32-tiny-range": grey * np.float32(1e-30),
           "int64-negative": -grey.astype(np.int64), "int64-huge": grey.astype(np.int64) * (1 << 50),
           "int8-page": (grey.astype(np.int16) - 128).astype(np.int8), "uint64-max": np.full((300, 400),
                                                                                             2**64 - 1, np.uint64),
           "hw2": np.stack([grey, grey], -1), "hw5": np.stack([grey] * 5, -1), "hw1": grey[..., None],
           "hw4-float": np.dstack([page / 255.0, np.ones(grey.shape)]), "zero-size": np.zeros((0, 0), np.uint8),
           "zero-rows": np.zeros((0, 100, 3), np.uint8), "zero-cols": np.zeros((100, 0), np.uint8),
           "one-d": grey.ravel(), "four-d": page[None], "scalar": np.array(7, np.uint8),
           "complex": grey.astype(np.complex64), "big-endian-u16": (grey.astype(">u2") * 257),
           "fortran-order": np.asfortranarray(page), "strided-view": page[::2, ::3],
           "negative-strides": page[::-1, ::-1], "rgb-float-over-1": page.astype(np.float32) * 1.5}
    for name, arr in odd.items():
        w.array("array", f"array-{name}", arr)
    w.array("array", "array-uint8-page3", page, page=3)


def _add_pil_objects(w: _Writer, rng, page: np.ndarray) -> None:
    from PIL import Image

    im = _pil(page)
    for mode in ("1", "L", "P", "I", "F", "I;16", "LA", "RGBA", "CMYK", "YCbCr", "HSV", "LAB", "RGBX"):
        try:
            conv = im.convert(mode)
        except ValueError:
            conv = Image.new(mode, im.size)
        w.pil_object("pil", f"pil-{mode.replace(';', '')}", conv)
    w.pil_object("pil", "pil-zero", Image.new("L", (0, 0)))
    w.pil_object("pil", "pil-1x1", Image.new("RGB", (1, 1)))
    w.pil_object("pil", "pil-F-nan", Image.fromarray(np.full((300, 400), np.nan, np.float32)))


def make_corpus(root: str | os.PathLike, *, seed: int = SEED, quick: bool = False) -> list[FuzzCase]:
    """Write the corpus into ``root`` (created) and return its cases.

    The same ``seed`` makes the same files. The whole corpus is about 400 cases (some
    20 s to write, under 1 GB); ``quick=True`` writes only the cases at
    :data:`QUICK_INDICES` of each category (about 45).
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    w = _Writer(root, quick)
    page = _ecg_page(*_PAGE_KINDS[0])
    _add_noise_and_blank(w, rng)
    _add_tiny_and_aspect(w, rng)
    _add_bit_depths(w, rng, page)
    _add_modes(w, rng, page)
    _add_multiframe(w, rng, page)
    _add_bytes(w, rng, page)
    _add_huge(w, rng)
    _add_pictures(w, rng)
    _add_ecg_variants(w, page)
    _add_arrays(w, rng, page)
    _add_pil_objects(w, rng, page)
    return w.cases


# ============================================================================ the harness
def _child(conn, method: str) -> None:
    """The child process: digitize each case received, answer with its outcome."""
    import warnings

    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:  # pragma: no cover
        pass
    warnings.simplefilter("ignore")
    from ecg_digitize import digitize
    from ecg_digitize.errors import EcgDigitizeError

    conn.send("ready")
    while True:
        case = conn.recv()
        if case is None:
            return
        conn.send(_digitize_one(case, method, digitize, EcgDigitizeError))


def _digitize_one(case: FuzzCase, method: str, digitize, project_error) -> FuzzOutcome:
    t0 = time.perf_counter()
    try:
        image = case.load()
    except Exception as exc:  # noqa: BLE001 - the harness's own failure, reported as such
        return FuzzOutcome(case, "foreign", type(exc).__name__, f"harness could not load the case: {exc}")
    try:
        digitize(image, method=method, **dict(case.kwargs))
        status, err, msg, where = "ok", None, "", ""
    except project_error as exc:
        status, err, msg, where = "project", type(exc).__name__, str(exc), ""
    except Exception as exc:  # noqa: BLE001 - what the corpus is looking for
        frames = traceback.extract_tb(exc.__traceback__)[-3:]
        where = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))
        status, err, msg = "foreign", type(exc).__name__, str(exc)[:300]
    names = status != "project" or _names_input(case, msg)
    return FuzzOutcome(case, status, err, msg, where, time.perf_counter() - t0, names)


def _names_input(case: FuzzCase, message: str) -> bool:
    """A project error's message names the file (or ``array`` / the PIL image)."""
    if case.kind == "path":
        return str(case.path) in message or Path(case.path).name in message
    return ":" in message  # "array: reason", "PIL image: reason"


class _Child:
    """A child process running :func:`_child`, restarted after a hang or a crash."""

    def __init__(self, method: str):
        self.method = method
        self.ctx = multiprocessing.get_context("spawn")
        self.proc = None
        self.conn = None

    def start(self) -> None:
        parent, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_child, args=(child, self.method), daemon=True)
        self.proc.start()
        child.close()
        self.conn = parent
        if not self.conn.poll(120) or self.conn.recv() != "ready":
            raise RuntimeError("the fuzz child process did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.join()
            self.proc = None

    def run(self, case: FuzzCase, limit_s: float) -> FuzzOutcome:
        if self.proc is None:
            self.start()
        t0 = time.perf_counter()
        self.conn.send(case)
        try:
            if self.conn.poll(limit_s):
                return self.conn.recv()
        except (EOFError, OSError):
            pass
        seconds = time.perf_counter() - t0
        alive = self.proc.is_alive()
        code = self.proc.exitcode
        self.stop()
        if alive:
            return FuzzOutcome(case, "hang", None, f"no answer after {limit_s:.0f} s", seconds=seconds)
        return FuzzOutcome(case, "crash", None, f"child died (exit code {code})", seconds=seconds)


def run_corpus(cases: Iterable[FuzzCase], *, limit_s: float = LIMIT_S, method: str = "classical",
               on_outcome: Callable[[FuzzOutcome], None] | None = None) -> list[FuzzOutcome]:
    """Digitize every case in a child process, at most ``limit_s`` seconds each."""
    child = _Child(method)
    outcomes = []
    try:
        for case in cases:
            outcome = child.run(case, limit_s)
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
    finally:
        if child.proc is not None:
            child.conn.send(None)
            child.proc.join(10)
            child.stop()
    return outcomes


@dataclass
class FuzzSummary:
    """Counts over outcomes (see :func:`summarise`)."""

    total: int = 0
    ok: int = 0
    project: dict[str, int] = field(default_factory=dict)
    foreign: list[FuzzOutcome] = field(default_factory=list)
    hangs: list[FuzzOutcome] = field(default_factory=list)
    crashes: list[FuzzOutcome] = field(default_factory=list)
    unnamed: list[FuzzOutcome] = field(default_factory=list)
    max_seconds: float = 0.0
    slowest: str = ""

    @property
    def clean(self) -> bool:
        return not (self.foreign or self.hangs or self.crashes)


def summarise(outcomes: Iterable[FuzzOutcome]) -> FuzzSummary:
    s = FuzzSummary()
    for o in outcomes:
        s.total += 1
        if o.status == "ok":
            s.ok += 1
        elif o.status == "project":
            s.project[o.error] = s.project.get(o.error, 0) + 1
            if not o.names_input:
                s.unnamed.append(o)
        else:
            {"foreign": s.foreign, "hang": s.hangs, "crash": s.crashes}[o.status].append(o)
        if o.seconds > s.max_seconds:
            s.max_seconds, s.slowest = o.seconds, o.case.name
    return s
