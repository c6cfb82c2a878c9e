"""Stage 1: read a page from a path (raster or PDF), a numpy array or a PIL image.

Every failure raises :class:`~ecg_digitize.errors.ImageReadError` or
:class:`~ecg_digitize.errors.NotAnEcgError` naming the file and the reason, so a batch
job can log it and move on.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ImageReadError, NotAnEcgError

# 200 Mpx is an A0 sheet at 400 dpi; anything larger is a decompression bomb, not an ECG.
MAX_PIXELS = 200_000_000
# Below this no lead can be drawn legibly (a 10 s strip needs at least ~1 px per 40 ms).
MIN_SIDE = 100
MIN_AREA = 60_000
PDF_DPI = 200.0
_RASTER_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif"}


@dataclass
class PageImage:
    """A decoded page: ``rgb`` (H, W, 3) uint8, where it came from, and its dpi if known."""

    rgb: np.ndarray
    source: str
    dpi: float | None = None


def load_image(image: Any, *, page: int = 0, source: str | None = None) -> PageImage:
    """Decode ``image`` into an RGB page.

    Parameters
    ----------
    image : str, Path, ndarray or PIL.Image.Image
        A file (PNG, JPEG, TIFF, BMP, WebP, or PDF rendered at 200 dpi), an array
        (H, W) grey or (H, W, 3|4) RGB(A), uint8, float in 0..1 (or 0..255), or 16-bit
        integers, or a PIL image. Files and PIL images are decoded as they are meant to
        look (:func:`normalise_pil`): EXIF orientation applied; 16- and 32-bit greyscale
        scaled from their bit depth; alpha composited on white paper; palette, bilevel
        (CCITT G3/G4 TIFF), CMYK JPEG converted.
    page : int
        Which page of a PDF or frame of a multi-page TIFF (0-based); a TIFF's frames are
        not counted, the decoder seeks to the one asked for.
    source : str, optional
        Name used in messages and in ``Record.source`` (default: the path or ``"array"``).

    Returns
    -------
    PageImage

    Raises
    ------
    ImageReadError
        Missing, empty, corrupt or non-image file; a decompression bomb; a bad PDF page.
    NotAnEcgError
        A tiny or blank image.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer.load import load_image
    >>> img = np.full((300, 400), 255, np.uint8)
    >>> img[140:150, :] = 0                              # a dark band on white paper
    >>> page = load_image(img)
    >>> page.rgb.shape, page.source
    ((300, 400, 3), 'array')
    """
    if isinstance(image, (str, Path)):
        page_img = _load_path(Path(image), page)
    elif isinstance(image, np.ndarray):
        page_img = PageImage(_array_to_rgb(image, source or "array"), source or "array")
    elif _is_pil(image):
        name = source or getattr(image, "filename", "") or "PIL image"
        page_img = PageImage(_pil_to_rgb(image, name), name, _pil_dpi(image))
    else:
        raise ImageReadError(f"cannot read an image from a {type(image).__name__}; "
                             "pass a path, a numpy array or a PIL image", source)
    if source:
        page_img.source = source
    _check_content(page_img)
    return page_img


def _is_pil(obj) -> bool:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow is a dependency
        return False
    return isinstance(obj, Image.Image)


def _load_path(path: Path, page: int) -> PageImage:
    name = str(path)
    if not path.exists():
        raise ImageReadError("file not found", name)
    if path.is_dir():
        raise ImageReadError("is a folder, not an image", name)
    size = path.stat().st_size
    if size == 0:
        raise ImageReadError("file is empty (0 bytes)", name)
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"%PDF") or path.suffix.lower() == ".pdf":
        return _load_pdf(path, page)
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Our own pixel limit is checked from the header; Pillow's warning is not ours.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                check_pixels(*im.size, name)
                if page:
                    seek_frame(im, page, name)
                rgb = _pil_to_rgb(im, name)
                dpi = _pil_dpi(im)
    except ImageReadError:
        raise
    except Image.DecompressionBombError as exc:
        raise bomb_error(exc, name) from exc
    except UnidentifiedImageError as exc:
        kind = "not an image file" if path.suffix.lower() not in _RASTER_SUFFIXES else "corrupt image"
        raise ImageReadError(f"{kind} (cannot identify image format)", name) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageReadError(f"corrupt or truncated image: {exc}", name) from exc
    return PageImage(rgb, f"{name}#page={page}" if page else name, dpi)


def too_many_pixels_message(width: int | None, height: int | None, limit: int,
                            pixels: int | None = None) -> str:
    """The one message for a page over a pixel limit, whoever noticed it (us or Pillow).

    Examples
    --------
    >>> too_many_pixels_message(30000, 30000, 50_000_000)
    'image of 30000 x 30000 px (900 Mpx) exceeds the 50 Mpx limit (decompression bomb?)'
    """
    pixels = pixels if pixels is not None else int(width) * int(height)
    size = f"{width} x {height} px ({pixels / 1e6:.0f} Mpx)" if width and height else f"{pixels / 1e6:.0f} Mpx"
    return f"image of {size} exceeds the {limit / 1e6:.0f} Mpx limit (decompression bomb?)"


def check_pixels(width: int, height: int, name: str, limit: int = MAX_PIXELS) -> None:
    """Raise :class:`ImageReadError` when ``width x height`` is over ``limit`` pixels."""
    if int(width) * int(height) > limit:
        raise ImageReadError(too_many_pixels_message(width, height, limit), name)


def bomb_error(exc: Exception, name: str, limit: int = MAX_PIXELS) -> ImageReadError:
    """Pillow's own decompression-bomb error, reworded as the project's pixel-limit message."""
    found = re.search(r"\((\d+) pixels\)", str(exc))
    pixels = int(found.group(1)) if found else None
    if pixels is None:
        return ImageReadError("refused as a decompression bomb (too many pixels)", name)
    return ImageReadError(too_many_pixels_message(None, None, limit, pixels), name)


def seek_frame(im, page: int, name: str) -> None:
    """Move a multi-frame image (TIFF) to frame ``page`` without counting its frames.

    Pillow's ``n_frames`` walks every frame of the file (a TIFF of 200 000 tiny frames
    takes minutes); seeking walks only up to the one asked for.
    """
    if page < 0:
        raise ImageReadError(f"page={page} does not exist (pages count from 0)", name)
    if page == 0:
        return
    try:
        im.seek(page)
    except EOFError:
        raise ImageReadError(f"page={page} does not exist: the file has fewer frames "
                             "(pages count from 0)", name) from None
    check_pixels(*im.size, name)


def _load_pdf(path: Path, page: int) -> PageImage:
    import pypdfium2 as pdfium

    name = str(path)
    try:
        pdf = pdfium.PdfDocument(str(path))
    except Exception as exc:  # pdfium raises its own PdfiumError
        raise ImageReadError(f"cannot open PDF: {exc}", name) from exc
    try:
        if not 0 <= page < len(pdf):
            raise ImageReadError(f"PDF has {len(pdf)} page(s); page={page} does not exist", name)
        pdf_page = pdf[page]
        w_pt, h_pt = pdf_page.get_size()
        scale = PDF_DPI / 72.0
        if w_pt * h_pt * scale * scale > MAX_PIXELS:
            raise ImageReadError(f"PDF page of {w_pt:.0f}x{h_pt:.0f} pt is too large to render", name)
        rgb = np.asarray(pdf_page.render(scale=scale).to_pil().convert("RGB"))
    finally:
        pdf.close()
    return PageImage(np.ascontiguousarray(rgb), f"{name}#page={page}", PDF_DPI)


# Rows converted at a time: bounds the temporary float32 copies to a few megabytes.
_CHUNK_PIXELS = 1 << 21
_GREY_MODES = ("L", "1", "I", "F", "I;16", "I;16B", "I;16L", "I;16N", "I;16S")


def normalise_pil(im, name: str = "PIL image"):
    """Turn any PIL image into an 8-bit ``"L"`` or ``"RGB"`` page the way it is meant to look.

    The EXIF orientation is applied; 16- and 32-bit greyscale (``I;16``, ``I``, ``F``) is
    scaled to 0..255 from 0 (or the minimum, when negative) to the white of its bit
    depth (:func:`full_scale`; 0..1 for floating point);
    transparent pixels (``RGBA``, ``LA``, ``PA``, ``P`` with transparency) are paper,
    composited on white; palette, bilevel (``1``), CMYK and other colour spaces are
    converted. High-bit images are converted a band of rows at a time, so decoding costs
    the 8-bit page and a few megabytes, never float64 copies of the whole page.

    Parameters
    ----------
    im : PIL.Image.Image
        The decoded image (the current frame for multi-frame files).
    name : str
        Used in error messages.

    Returns
    -------
    PIL.Image.Image
        Mode ``"L"`` or ``"RGB"``; ``info`` (dpi) is kept.

    Raises
    ------
    ImageReadError
        NaN or infinite values in a floating-point image; a corrupt file.

    Examples
    --------
    >>> import numpy as np
    >>> from PIL import Image
    >>> im = Image.fromarray((np.arange(256, dtype=np.uint16) * 257).reshape(16, 16))
    >>> out = normalise_pil(im)
    >>> out.mode, np.asarray(out)[15, 15]
    ('L', np.uint8(255))
    """
    from PIL import Image, ImageOps

    info = dict(im.info)
    try:
        orientation = im.getexif().get(0x0112, 1)
    except Exception:  # a malformed EXIF block does not make the page unreadable
        orientation = 1
    try:
        if orientation in (2, 3, 4, 5, 6, 7, 8):
            im = ImageOps.exif_transpose(im)
        mode = im.mode
        if mode in ("L", "RGB"):
            return im
        if mode in _GREY_MODES and mode not in ("L", "1"):
            out = Image.fromarray(_scale_to_uint8(im, name), "L")
        elif mode == "1":
            out = im.convert("L")
        elif mode in ("LA", "La", "PA", "RGBA", "RGBa") or (mode == "P" and "transparency" in im.info):
            out = _composite_on_white(im)
        else:  # P, CMYK, YCbCr, LAB, HSV, RGBX, ...
            out = im.convert("RGB")
    except ImageReadError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"corrupt or truncated image: {exc}", name) from exc
    out.info.update({k: v for k, v in info.items() if k == "dpi"})
    return out


def _row_bands(height: int, width: int):
    step = max(1, _CHUNK_PIXELS // max(1, width))
    for r0 in range(0, height, step):
        yield r0, min(height, r0 + step)


# White of the bit depths scanners write (8, 10, 12, 14, 16 bits; 24, 31, 32 for mode I).
_WHITES = tuple(2.0 ** k - 1 for k in (8, 10, 12, 14, 16, 24, 31, 32))


def full_scale(top: float) -> float:
    """The white level of the smallest common bit depth that holds ``top``.

    A 16-bit page is scaled by 65535, so an 8-bit page stored as 16 bits (x 257) decodes
    to itself; a 12-bit scanner's page in a 16-bit file (0..4095) is scaled by 4095 and
    not left dark.

    Examples
    --------
    >>> full_scale(253 * 257), full_scale(4000), full_scale(200)
    (65535.0, 4095.0, 255.0)
    """
    return next((white for white in _WHITES if top <= white), float(top))


def _scale_to_uint8(im, name: str) -> np.ndarray:
    """A high-bit greyscale PIL image to uint8: 0 (or a negative minimum) .. its bit depth's white."""
    w, h = im.size
    lo, hi = im.getextrema()
    if isinstance(lo, float) and not (np.isfinite(lo) and np.isfinite(hi)):
        raise ImageReadError("image holds NaN or infinite values", name)
    lo = min(float(lo), 0.0)
    if im.mode == "F" and hi <= 1.0:
        white = 1.0  # a float page in 0..1
    else:
        white = full_scale(float(hi) - lo)
    scale = np.float32(255.0 / max(white, 1e-12))
    out = np.empty((h, w), np.uint8)
    for r0, r1 in _row_bands(h, w):
        band = np.asarray(im.crop((0, r0, w, r1))).astype(np.float32)
        if im.mode == "F" and not np.isfinite(band).all():
            raise ImageReadError("image holds NaN or infinite values", name)
        band -= np.float32(lo)
        band *= scale
        band += np.float32(0.5)
        np.clip(band, 0, 255, out=band)
        out[r0:r1] = band.astype(np.uint8)
    return out


def _composite_on_white(im):
    """An image with alpha, composited on white paper, a band of rows at a time."""
    from PIL import Image

    grey = im.mode in ("LA", "La")
    im = im.convert("LA" if grey else "RGBA")
    w, h = im.size
    out = np.empty((h, w) if grey else (h, w, 3), np.uint8)
    for r0, r1 in _row_bands(h, w):
        band = np.asarray(im.crop((0, r0, w, r1)))
        alpha = band[..., -1:].astype(np.float32) / np.float32(255.0)
        colour = band[..., :-1].astype(np.float32) * alpha + np.float32(255.0) * (1 - alpha) + 0.5
        colour = np.clip(colour, 0, 255).astype(np.uint8)
        out[r0:r1] = colour[..., 0] if grey else colour
    return Image.fromarray(out, "L" if grey else "RGB")


def _pil_to_rgb(im, name: str) -> np.ndarray:
    check_pixels(*im.size, name)
    im = normalise_pil(im, name)
    try:
        arr = np.asarray(im)
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"corrupt or truncated image: {exc}", name) from exc
    return _grey_to_rgb(arr) if arr.ndim == 2 else np.ascontiguousarray(arr[..., :3])


def _grey_to_rgb(grey: np.ndarray) -> np.ndarray:
    rgb = np.empty(grey.shape + (3,), np.uint8)
    for c in range(3):
        rgb[..., c] = grey
    return rgb


def _pil_dpi(im) -> float | None:
    dpi = im.info.get("dpi")
    try:
        value = float(dpi[0]) if dpi else None
    except (TypeError, ValueError, IndexError):
        return None
    # Many encoders write 72 or 96 by default without meaning it; treat those as unknown.
    return value if value and value not in (72.0, 96.0) and 50 <= value <= 2400 else None


def _array_to_rgb(arr: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ImageReadError(f"array of shape {arr.shape} is not an (H, W), (H, W, 3) or (H, W, 4) image", name)
    h, w = arr.shape[:2]
    if h * w > MAX_PIXELS:
        raise ImageReadError(too_many_pixels_message(w, h, MAX_PIXELS), name)
    if arr.dtype == np.uint8 and (arr.ndim == 2 or arr.shape[2] == 3):
        return _grey_to_rgb(arr) if arr.ndim == 2 else np.ascontiguousarray(arr)
    if arr.dtype.kind not in "biuf":
        raise ImageReadError(f"array of dtype {arr.dtype} is not an image", name)
    # Values: uint8 as is; floats in 0..1 (or 0..255 when larger); other integers in
    # 0..255, or scaled from the white of their bit depth when larger (16-bit scans).
    colour = arr if arr.ndim == 2 else arr[..., :3]
    if arr.dtype.kind == "f" and not np.isfinite(colour).all():
        raise ImageReadError("array holds NaN or infinite values", name)
    top = float(colour.max()) if colour.size else 0.0
    if arr.dtype == np.uint8 or arr.dtype.kind == "b":
        scale = 255.0 if arr.dtype.kind == "b" else 1.0
    elif arr.dtype.kind == "f":
        scale = 255.0 if top <= 1.0 + 1e-6 else 1.0
    else:
        scale = 255.0 / full_scale(top)
    alpha_scale = 1.0 / (255.0 if arr.dtype == np.uint8 or top > 1.0 + 1e-6 else 1.0)
    out = np.empty((h, w, 3), np.uint8)
    for r0, r1 in _row_bands(h, w):
        band = arr[r0:r1].astype(np.float32)
        rgb = band if band.ndim == 2 else band[..., :3]
        rgb = rgb * np.float32(scale)
        if rgb.ndim == 2:
            rgb = rgb[..., None]
        if arr.ndim == 3 and arr.shape[2] == 4:  # composite onto white paper
            alpha = np.clip(band[..., 3:4] * np.float32(alpha_scale), 0, 1)
            rgb = rgb * alpha + np.float32(255.0) * (1 - alpha)
        out[r0:r1] = np.clip(rgb + np.float32(0.5), 0, 255).astype(np.uint8)
    return out


def _check_content(page: PageImage) -> None:
    h, w = page.rgb.shape[:2]
    if min(h, w) < MIN_SIDE or h * w < MIN_AREA:
        raise NotAnEcgError(f"image of {w}x{h} px is too small to hold a readable ECG "
                            f"(need at least {MIN_SIDE} px a side)", page.source)
    small = page.rgb[:: max(1, h // 400), :: max(1, w // 400)].astype(np.int16)
    grey = small.min(axis=2)
    spread = np.percentile(grey, 99.5) - np.percentile(grey, 0.5)
    if spread < 25:
        raise NotAnEcgError("blank page: no marks (contrast below 25 grey levels)", page.source)
