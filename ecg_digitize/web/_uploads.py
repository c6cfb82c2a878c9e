"""Uploaded files: type decided by content, size and pixel limits, decoding to a page image.

Nothing here ever uses the name a browser sends as a path: the bytes are decoded in memory
and the name only travels (sanitised) into ``Record.source`` for display.
"""
from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

from ..errors import EcgDigitizeError

# Magic numbers of the formats the web tool accepts (PNG, JPEG, TIFF, BMP, PDF).
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"BM", "bmp"),
    (b"%PDF-", "pdf"),
)
MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "tiff": "image/tiff",
               "bmp": "image/bmp", "pdf": "application/pdf"}
PDF_DPI = 200.0  # the digitizer's own PDF resolution, so API and Python results agree


class UploadError(Exception):
    """A refused upload: carries the HTTP status and a message meant for a person."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class DecodedUpload:
    """An accepted upload: its sniffed kind, the decoded page (PIL image) and its size.

    ``n_pages`` is known for PDFs only: counting a TIFF's frames means reading them all.
    """

    kind: str
    image: object  # PIL.Image.Image, 8-bit "L" or "RGB"
    width: int
    height: int
    n_pages: int | None


def sniff(data: bytes) -> str | None:
    """Return ``"png"``, ``"jpeg"``, ``"tiff"``, ``"bmp"`` or ``"pdf"`` from the first bytes.

    Examples
    --------
    >>> sniff(b"%PDF-1.7 ...")
    'pdf'
    >>> sniff(b"GIF89a") is None
    True
    """
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            if kind == "bmp" and len(data) < 26:
                return None  # "BM" alone is too weak a signature
            return kind
    # PDF readers accept junk before the header within the first kilobyte; so do we.
    return "pdf" if b"%PDF-" in data[:1024] else None


def safe_name(name: str | None) -> str:
    """A display-only version of a client file name: no folders, plain characters, short."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^A-Za-z0-9._() -]", "_", base).strip(" .")
    return base[:80] or "upload"


def decode(data: bytes, *, page: int = 0, max_pixels: int) -> DecodedUpload:
    """Check and decode an upload into a PIL image without trusting its name.

    Parameters
    ----------
    data : bytes
        The whole file (already within the byte limit).
    page : int
        PDF page or TIFF frame (0-based).
    max_pixels : int
        Largest width x height accepted, checked from the header before decoding, so a
        decompression bomb is refused without allocating it.

    Returns
    -------
    DecodedUpload

    Raises
    ------
    UploadError
        415 for an unsupported or unrecognised type, 413 for too many pixels, 422 for a
        corrupt file or a page that does not exist.
    """
    if not data:
        raise UploadError(422, "empty_file", "The file is empty (0 bytes).")
    kind = sniff(data)
    if kind is None:
        raise UploadError(415, "unsupported_type",
                          "This file is not a PNG, JPEG, TIFF, BMP or PDF (its content was "
                          "checked, not its name).")
    if kind == "pdf":
        return _decode_pdf(data, page, max_pixels)
    return _decode_raster(data, kind, page, max_pixels)


def _too_many_pixels(w: int | None, h: int | None, max_pixels: int,
                     pixels: int | None = None) -> UploadError:
    from ..digitizer.load import too_many_pixels_message

    text = too_many_pixels_message(w, h, max_pixels, pixels)
    return UploadError(413, "too_many_pixels",
                       f"The {text[0].upper()}{text[1:]}. Scan at 200-300 dpi and try again.")


def _decode_raster(data: bytes, kind: str, page: int, max_pixels: int) -> DecodedUpload:
    from PIL import Image, UnidentifiedImageError

    from ..digitizer.load import normalise_pil

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))  # reads the header only
            w, h = im.size
            if w * h > max_pixels:
                raise _too_many_pixels(w, h, max_pixels)
            if page:  # seek to the frame asked for; never count them all (n_frames)
                try:
                    im.seek(page)
                except EOFError:
                    raise UploadError(422, "bad_page", f"Page {page} does not exist: the file has "
                                      "fewer pages (pages count from 0).") from None
                w, h = im.size
                if w * h > max_pixels:
                    raise _too_many_pixels(w, h, max_pixels)
            im.load()
            # 8 bits at once: a 16- or 32-bit page would otherwise travel (and be copied)
            # at 2-4 bytes a pixel through the digitizer's first stages.
            im = normalise_pil(im, "upload")
            w, h = im.size
    except UploadError:
        raise
    except Image.DecompressionBombError as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        raise _too_many_pixels(None, None, max_pixels,
                               int(found.group(1)) if found else 2 * max_pixels) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            EcgDigitizeError) as exc:
        raise UploadError(422, "unreadable_file",
                          f"The {kind.upper()} file could not be read (corrupt or truncated).") from exc
    return DecodedUpload(kind, im, w, h, None)


def _decode_pdf(data: bytes, page: int, max_pixels: int) -> DecodedUpload:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except Exception as exc:  # pdfium raises its own PdfiumError
        raise UploadError(422, "unreadable_file", "The PDF could not be opened (corrupt or "
                          "password-protected).") from exc
    try:
        n_pages = len(pdf)
        if not 0 <= page < n_pages:
            raise UploadError(422, "bad_page", f"The PDF has {n_pages} page(s); page {page} does "
                              "not exist (pages count from 0).")
        pdf_page = pdf[page]
        w_pt, h_pt = pdf_page.get_size()
        scale = PDF_DPI / 72.0
        w, h = int(round(w_pt * scale)), int(round(h_pt * scale))
        if w * h > max_pixels:
            raise _too_many_pixels(w, h, max_pixels)
        im = pdf_page.render(scale=scale).to_pil().convert("RGB")
        im.info["dpi"] = (PDF_DPI, PDF_DPI)
    except UploadError:
        raise
    except Exception as exc:
        raise UploadError(422, "unreadable_file", "The PDF page could not be rendered.") from exc
    finally:
        pdf.close()
    return DecodedUpload("pdf", im, im.size[0], im.size[1], n_pages)
