"""Stage 1: read a page from a path (raster or PDF), a numpy array or a PIL image.

Every failure raises :class:`~ecg_digitize.errors.ImageReadError` or
:class:`~ecg_digitize.errors.NotAnEcgError` naming the file and the reason, so a batch
job can log it and move on.
"""
from __future__ import annotations

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
        (H, W) grey or (H, W, 3|4) RGB(A), uint8 or float in 0..1, or a PIL image.
    page : int
        Which page of a PDF (0-based).
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
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if w * h > MAX_PIXELS:
                    raise ImageReadError(f"image of {w}x{h} px exceeds the {MAX_PIXELS:,} px limit "
                                         "(decompression bomb?)", name)
                rgb = _pil_to_rgb(im, name)
                dpi = _pil_dpi(im)
    except ImageReadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageReadError(f"refused as a decompression bomb: {exc}", name) from exc
    except UnidentifiedImageError as exc:
        kind = "not an image file" if path.suffix.lower() not in _RASTER_SUFFIXES else "corrupt image"
        raise ImageReadError(f"{kind} (cannot identify image format)", name) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"corrupt or truncated image: {exc}", name) from exc
    return PageImage(rgb, name, dpi)


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


def _pil_to_rgb(im, name: str) -> np.ndarray:
    from PIL import Image

    w, h = im.size
    if w * h > MAX_PIXELS:
        raise ImageReadError(f"image of {w}x{h} px exceeds the {MAX_PIXELS:,} px limit", name)
    try:
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            # Transparent pixels are paper, not black.
            im = im.convert("RGBA")
            white = Image.new("RGBA", im.size, (255, 255, 255, 255))
            im = Image.alpha_composite(white, im)
        if im.mode in ("I;16", "I;16B", "I;16L", "I"):
            arr = np.asarray(im, dtype=np.float64)
            arr = arr / max(arr.max(), 1.0)
            return _array_to_rgb(arr, name)
        return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"corrupt or truncated image: {exc}", name) from exc


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
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ImageReadError(f"array of shape {arr.shape} is not an (H, W), (H, W, 3) or (H, W, 4) image", name)
    if arr.shape[0] * arr.shape[1] > MAX_PIXELS:
        raise ImageReadError(f"array of {arr.shape[1]}x{arr.shape[0]} px exceeds the pixel limit", name)
    if arr.dtype == np.uint8:
        rgb = arr[..., :3]
    else:
        values = arr[..., :3].astype(np.float64)
        if not np.isfinite(values).all():
            raise ImageReadError("array holds NaN or infinite values", name)
        if values.max() > 1.0 + 1e-6:
            values = values / 255.0
        rgb = np.clip(values * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if arr.shape[2] == 4:  # composite onto white paper
        alpha = (arr[..., 3:4].astype(np.float32) / (255.0 if arr.dtype == np.uint8 else 1.0))
        rgb = (rgb * alpha + 255.0 * (1 - alpha)).astype(np.uint8)
    return np.ascontiguousarray(rgb)


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
