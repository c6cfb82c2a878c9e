"""Find the pages of a batch: files, folders (recursive) and globs, streamed lazily.

Nothing here holds the whole archive in memory: folders are walked one directory at a
time and globs are expanded with :func:`glob.iglob`, so a run over 10^6 files starts at
once and stays small. Every page of a multi-page PDF or TIFF becomes its own
:class:`Page`.
"""
from __future__ import annotations

import fnmatch
import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

# What digitize() reads; other files found in folders are listed as skipped, not tried.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".pdf"})
MULTIPAGE_SUFFIXES = frozenset({".pdf", ".tif", ".tiff"})
_GLOB_MAGIC = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Page:
    """One page to convert.

    Attributes
    ----------
    path : str
        Absolute path of the input file.
    page : int
        0-based page index (as ``digitize(path, page=...)`` takes it).
    n_pages : int
        Pages in the file (1 for ordinary images).
    rel : str
        Where the input sits relative to the input root it was found under (POSIX
        separators); the output name is derived from it.
    skip_reason : str or None
        Set when the file is listed but not tried (an unsupported file type).
    """

    path: str
    page: int = 0
    n_pages: int = 1
    rel: str = ""
    skip_reason: str | None = None

    @property
    def key(self) -> str:
        """Identity of the page in the manifest: ``path#page``."""
        return f"{self.path}#{self.page}"


def iter_files(inputs: Iterable[str | os.PathLike], *, pattern: str | None = None,
               exclude: Iterable[str | os.PathLike] = ()) -> Iterator[tuple[str, str, bool]]:
    """Yield ``(absolute path, relative path, named_explicitly)`` for every input file.

    Parameters
    ----------
    inputs : iterable of str or path-like
        Files, folders (walked recursively, sorted, hidden entries ignored) and globs
        (``**`` allowed).
    pattern : str, optional
        Keep only files found in folders or globs whose name (or, if the pattern has a
        ``/``, relative path) matches this glob.
    exclude : iterable of path-like
        Folders never to descend into (the output folder, when it lies inside an input).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); (d / "a").mkdir(); _ = (d / "a" / "x.png").write_bytes(b"")
    >>> [(rel, named) for _, rel, named in iter_files([d])]
    [('a/x.png', False)]
    """
    excluded = {os.path.realpath(p) for p in exclude}
    for item in inputs:
        text = os.fspath(item)
        if os.path.isdir(text):
            yield from _walk(text, pattern, excluded)
        elif os.path.exists(text) or not _GLOB_MAGIC.search(text):
            # A missing plain path is still yielded: it fails in the manifest with its reason.
            yield os.path.abspath(text), os.path.basename(text), True
        else:
            root = _glob_root(text)
            for path in glob.iglob(text, recursive=True):
                if os.path.isfile(path) and _matches(os.path.basename(path), os.path.relpath(path, root), pattern):
                    yield os.path.abspath(path), Path(os.path.relpath(path, root)).as_posix(), False


def _walk(root: str, pattern: str | None, excluded: set[str]) -> Iterator[tuple[str, str, bool]]:
    for dirpath, dirnames, filenames in os.walk(root):
        # Sorted, in place: deterministic order, and os.walk then skips what we drop.
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                             and os.path.realpath(os.path.join(dirpath, d)) not in excluded)
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = os.path.join(dirpath, name)
            rel = Path(os.path.relpath(path, root)).as_posix()
            if _matches(name, rel, pattern):
                yield os.path.abspath(path), rel, False


def _matches(name: str, rel: str, pattern: str | None) -> bool:
    if pattern is None:
        return True
    return fnmatch.fnmatch(rel if "/" in pattern else name, pattern)


def _glob_root(pattern: str) -> str:
    """The folder part of a glob before its first wildcard (outputs are named relative to it)."""
    parts = Path(pattern).parts
    for i, part in enumerate(parts):
        if _GLOB_MAGIC.search(part):
            return str(Path(*parts[:i])) if i else "."
    return os.path.dirname(pattern) or "."


def count_pages(path: str) -> int:
    """Pages in a PDF (pypdfium2) or frames in a TIFF (PIL ``n_frames``); 1 otherwise.

    Reads only the document structure, never the pixels. Raises whatever the reader
    raises on a broken file; :func:`iter_pages` then hands page 0 to ``digitize`` so the
    reason is reported the same way as for any other bad file.

    Examples
    --------
    >>> count_pages("scan.png")
    1
    """
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".pdf":
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(path)
        try:
            return len(pdf)
        finally:
            pdf.close()
    if suffix in (".tif", ".tiff"):
        from PIL import Image

        with Image.open(path) as im:
            return int(getattr(im, "n_frames", 1))
    return 1


def iter_pages(inputs: Iterable[str | os.PathLike], *, pattern: str | None = None,
               exclude: Iterable[str | os.PathLike] = ()) -> Iterator[Page]:
    """Yield a :class:`Page` for every page of every input, lazily.

    Files found in folders whose suffix ``digitize`` cannot read (and that no
    ``pattern`` selected) are yielded with ``skip_reason`` set, so the manifest lists
    them. Files named explicitly are always tried.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.png").write_bytes(b""); _ = (d / "notes.txt").write_text("hi")
    >>> [(p.rel, p.skip_reason) for p in iter_pages([d])]
    [('a.png', None), ('notes.txt', "unsupported file type '.txt'")]
    """
    for path, rel, named in iter_files(inputs, pattern=pattern, exclude=exclude):
        suffix = os.path.splitext(path)[1].lower()
        if suffix not in IMAGE_SUFFIXES and not named and pattern is None:
            yield Page(path, rel=rel, skip_reason=f"unsupported file type {suffix or '(none)'!r}")
            continue
        n_pages = 1
        if suffix in MULTIPAGE_SUFFIXES:
            try:
                n_pages = max(1, count_pages(path))
            except Exception:  # noqa: BLE001 - digitize() names the real problem for page 0
                n_pages = 1
        for k in range(n_pages):
            yield Page(path, page=k, n_pages=n_pages, rel=rel)


def count_files(inputs: Iterable[str | os.PathLike], *, pattern: str | None = None,
                exclude: Iterable[str | os.PathLike] = ()) -> int:
    """Number of input files (a cheap first pass that gives the progress bar its total)."""
    return sum(1 for _ in iter_files(inputs, pattern=pattern, exclude=exclude))
