"""``convert()``: digitize every page of an archive into ``--out``, safely and in parallel."""
from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ..errors import EcgDigitizeError
from .engines import default_workers, make_engine

# Per-page time limit by default: a 200 dpi page takes 1-5 s and a method="auto" page on
# CPU under a minute, so two minutes stops only a page that would never finish.
DEFAULT_TIMEOUT_S = 120.0
from .inputs import count_files, iter_pages
from .manifest import MANIFEST_NAME, ManifestWriter, page_key, settled_keys
from .worker import DEFAULT_DIGITIZE, Task, quality_fields, run_task
from .writer import (FORMATS, STATE_DIR, OutputExistsError, OutputPathError, is_complete, output_files,
                     record_name, refuse_existing, staging_root)


class BatchError(EcgDigitizeError):
    """A batch cannot start: bad options, an output folder in use or holding another run."""

MAX_REVIEW_LINES = 20  # pages to review listed in the printed summary (all of them: the manifest)


@dataclass
class BatchSummary:
    """What a batch run did. ``str(summary)`` is the report the CLI prints.

    Attributes
    ----------
    ok, failed, skipped : int
        Pages converted, pages that failed (reasons in the manifest), pages not tried
        (already complete on ``--resume``, or files of an unsupported type).
    already_done : int
        Of ``skipped``, pages found complete from an earlier run.
    failures : dict
        Failed pages per exception class, e.g. ``{"ImageReadError": 3}``.
    seconds : float
        Wall-clock time of the run.
    pages_per_s : float
        ``(ok + failed) / seconds``.
    verdicts : dict
        Converted pages per quality verdict, e.g. ``{"good": 90, "check": 8, "failed": 2}``.
    review : list of dict
        Converted pages to check by eye: verdict not ``good``, or an expected SNR under
        ``review_below`` (``{"input", "page", "output", "verdict", "expected_snr_db"}``).
    review_below : float, optional
        Expected SNR (dB) under which a page is listed for review whatever its verdict.
    """

    out: str
    manifest: str
    engine: str
    workers: int
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    already_done: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    pages_per_s: float = 0.0
    classify: str = "off"
    verdicts: dict[str, int] = field(default_factory=dict)
    review: list[dict[str, Any]] = field(default_factory=list)
    review_below: float | None = None

    def note_quality(self, row: dict[str, Any]) -> None:
        """Count a converted page's verdict and list it for review where it needs one."""
        verdict, expected = row.get("verdict"), row.get("expected_snr_db")
        if verdict:
            self.verdicts[verdict] = self.verdicts.get(verdict, 0) + 1
        low = self.review_below is not None and expected is not None and expected < self.review_below
        if (verdict and verdict != "good") or low:
            self.review.append({k: row.get(k) for k in ("input", "page", "output", "verdict", "expected_snr_db")})

    @property
    def pages(self) -> int:
        return self.ok + self.failed + self.skipped

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"pages": self.pages}

    def __str__(self) -> str:
        lines = [f"{self.pages} pages: {self.ok} converted, {self.failed} failed, {self.skipped} skipped"
                 + (f" ({self.already_done} already done)" if self.already_done else ""),
                 f"{self.seconds:.1f} s, {self.pages_per_s:.2f} pages/s "
                 f"({self.engine} engine, {self.workers} worker{'s' if self.workers != 1 else ''})"]
        if self.failures:
            lines.append("failures: " + ", ".join(f"{k} {v}" for k, v in
                                                  sorted(self.failures.items(), key=lambda kv: -kv[1])))
        if self.verdicts:
            lines.append("quality verdicts: " + ", ".join(f"{v} {self.verdicts[v]}" for v in
                                                          ("good", "check", "failed") if v in self.verdicts))
        if self.review:
            lines.append(f"to review ({len(self.review)}"
                         + (f", expected SNR under {self.review_below:g} dB or" if self.review_below is not None
                            else ",") + " verdict not good):")
            lines += [f"  {_review_line(r)}" for r in self.review[:MAX_REVIEW_LINES]]
            if len(self.review) > MAX_REVIEW_LINES:
                lines.append(f"  ... and {len(self.review) - MAX_REVIEW_LINES} more (manifest: verdict, "
                             "expected_snr_db)")
        if self.classify != "off":
            lines.append(f"classify: {self.classify}")
        lines.append(f"manifest: {self.manifest}")
        return "\n".join(lines)


def _review_line(row: dict[str, Any]) -> str:
    page = f"#page={row['page']}" if row.get("page") else ""
    expected = row.get("expected_snr_db")
    return (f"{row.get('input')}{page}: {row.get('verdict') or 'no verdict'}"
            + ("" if expected is None else f", expected SNR {expected:.1f} dB"))


def convert(inputs: str | os.PathLike | Iterable[str | os.PathLike], out: str | os.PathLike, *,
            formats: Iterable[str] = ("wfdb", "json"), workers: int | None = None,
            engine: str = "local", scheduler: str | None = None, resume: bool = False,
            overwrite: bool = False, classify: bool = False, pattern: str | None = None,
            progress: bool = True, max_in_flight: int | None = None,
            digitize_kwargs: dict[str, Any] | None = None,
            digitize_fn: Callable | str | None = None, review_below: float | None = None,
            timeout: float | None = DEFAULT_TIMEOUT_S) -> BatchSummary:
    """Digitize every page of files, folders and globs into ``out``.

    Each page becomes one record under ``out`` at the input's relative path (pages of a
    multi-page PDF/TIFF get ``_p001``, ``_p002``, ...), written atomically, and one row
    in ``out/manifest.jsonl``. A bad page never stops the run: it is recorded as
    ``failed`` with its reason.

    Parameters
    ----------
    inputs : path-like or iterable of path-like
        Files, folders (recursive) and globs.
    out : path-like
        Output folder (created). May lie inside an input folder; it is not scanned.
    formats : iterable of {"wfdb", "csv", "json"}
        Files written per record.
    workers : int, optional
        Worker processes (default: usable cores). Ignored with ``scheduler``.
    engine : {"local", "dask"}
        Process pool on this machine, or dask.distributed (``LocalCluster`` unless
        ``scheduler`` is given).
    scheduler : str, optional
        A dask scheduler address (``tcp://host:port``); implies ``engine="dask"``.
    resume : bool
        Skip pages whose outputs are complete, append to the manifest.
    overwrite : bool
        Redo everything, replacing outputs and starting a new manifest. Without
        ``resume`` or ``overwrite``, an ``out`` holding a manifest is refused.
    classify : bool
        Run the pretrained classifiers (package ``classifiers``) on every record and add
        their outputs to the manifest; skipped with a message when not importable.
    pattern : str, optional
        Only files (in folders and globs) whose name matches this glob.
    progress : bool
        Show a tqdm progress bar on stderr.
    max_in_flight : int, optional
        Pages submitted but unfinished (bounds memory; default ``2 * workers + 2``).
    digitize_kwargs : dict, optional
        Passed to ``digitize`` (``fs``, ``layout``, ``paper_speed``, ``gain``, ``method``).
    digitize_fn : callable or "module:function", optional
        Replaces ``ecg_digitize.digitizer.digitize`` (tests, other extractors); it must be
        importable by the workers.
    review_below : float, optional
        List converted pages whose expected SNR (dB) is under this in ``summary.review``,
        beside those whose quality verdict is not ``good``.
    timeout : float, optional
        Seconds one page may take (digitize, writing, classifying), counted from when a
        worker starts it (default :data:`DEFAULT_TIMEOUT_S`). A page over it is recorded
        as failed (``PageTimeoutError``), its worker process is killed and replaced, and
        the run goes on. ``None`` or ``0``: no limit. Local engine only: dask tasks cannot
        be stopped (see docs/batch.md).

    Returns
    -------
    BatchSummary

    Raises
    ------
    BatchError
        Bad options, or ``out`` in use by another run / holding a finished one.

    Examples
    --------
    >>> from ecg_digitize.batch import convert
    >>> summary = convert(["scans/"], "converted/", formats=["wfdb", "json"], workers=2)  # doctest: +SKIP
    >>> print(summary)  # doctest: +SKIP
    1204 pages: 1187 converted, 17 failed, 0 skipped
    312.4 s, 3.85 pages/s (local engine, 2 workers)
    failures: ImageReadError 12, NotAnEcgError 5
    manifest: converted/manifest.jsonl
    """
    inputs, formats, out = _checked_options(inputs, out, formats, resume, overwrite)
    if timeout is not None and not timeout >= 0:
        raise BatchError(f"timeout must be 0 (none) or a number of seconds, not {timeout!r}")
    classify_note = _classify_available() if classify else "off"
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / MANIFEST_NAME
    with _OutputLock(out):
        if manifest_path.exists() and manifest_path.stat().st_size and not (resume or overwrite):
            raise BatchError("holds the manifest of an earlier run; pass --resume to continue it "
                             "or --overwrite to redo it", str(out))
        shutil.rmtree(staging_root(out), ignore_errors=True)  # leftovers of a killed run
        fn = digitize_fn or DEFAULT_DIGITIZE
        eng = make_engine(engine, workers=workers, scheduler=scheduler, max_in_flight=max_in_flight,
                          preload=_preload(fn, formats), timeout=timeout)
        summary = BatchSummary(out=str(out), manifest=str(manifest_path), engine=eng.name,
                               workers=0 if scheduler else (workers or default_workers()),
                               classify=classify_note, review_below=review_below)
        template = dict(out=str(out), formats=formats, replace=resume or overwrite,
                        classify=classify_note == "on", digitize_fn=fn,
                        digitize_kwargs=dict(digitize_kwargs or {}))
        _run(eng, summary, inputs, out, pattern, template, resume, overwrite, progress, scheduler)
    return summary


def _preload(fn, formats) -> list[str]:
    """Modules the workers import once, in the fork server (not once per worker)."""
    preload = [fn.partition(":")[0] if isinstance(fn, str) else getattr(fn, "__module__", None)]
    if "wfdb" in formats:
        preload.append("wfdb")  # ~0.4 s to import
    return [m for m in preload if m and m != "__main__"]


def _checked_options(inputs, out, formats, resume: bool, overwrite: bool) -> tuple[list, list, Path]:
    """The inputs as a list, the formats checked, and ``out`` as a Path (BatchError if bad)."""
    inputs = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    formats = _check_formats(formats)
    if not inputs:
        raise BatchError("no inputs given")
    if resume and overwrite:
        raise BatchError("--resume and --overwrite exclude each other")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BatchError("the output path exists and is not a folder", str(out))
    if any(os.path.isdir(i) and os.path.realpath(i) == os.path.realpath(out) for i in inputs):
        raise BatchError("the output folder is also an input folder; choose another --out", str(out))
    return inputs, formats, out


def _run(eng, summary: BatchSummary, inputs, out: Path, pattern, template: dict, resume: bool,
         overwrite: bool, progress: bool, scheduler) -> None:
    """Run every page's task on ``eng``, writing the manifest and counting into ``summary``."""
    manifest_path = Path(summary.manifest)
    settled = settled_keys(manifest_path) if resume else set()
    failures: Counter = Counter()
    bar = _progress_bar(inputs, pattern, out, progress)
    t0 = time.perf_counter()
    with ManifestWriter(manifest_path, "w" if overwrite else "a") as manifest:

        def record(row: dict[str, Any], count_as: str | None = None) -> None:
            manifest.write(row)
            status = count_as or row["status"]
            if status == "ok":
                summary.ok += 1
                summary.note_quality(row)
            elif status == "failed":
                summary.failed += 1
                failures[row.get("error") or "Error"] += 1
            else:
                summary.skipped += 1
            bar.update(1)
            bar.set_postfix(ok=summary.ok, failed=summary.failed, refresh=False)

        tasks = _tasks(inputs, out, pattern, template, resume, settled, summary, record, bar)
        try:
            with eng:
                if scheduler:
                    summary.workers = len(eng.client.nthreads())
                for task, result in eng.run(run_task, tasks):
                    if isinstance(result, BaseException):
                        result = {"status": "failed", "error": type(result).__name__,
                                  "message": str(result) or repr(result)}
                    record({"input": task.path, "page": task.page, "n_pages": task.n_pages,
                            "output": task.name if result.get("status") == "ok" else None} | result)
        finally:
            bar.close()
            summary.seconds = round(time.perf_counter() - t0, 3)
            done = summary.ok + summary.failed
            summary.pages_per_s = round(done / summary.seconds, 3) if summary.seconds else 0.0
            summary.failures = dict(failures)


def _tasks(inputs, out: Path, pattern, template: dict, resume: bool, settled: set, summary: BatchSummary,
           record: Callable, bar) -> Iterator[Task]:
    """Pages still to do, as Tasks; pages not to do are recorded on the way (lazily).

    Whether a page's output name is free is settled here, before any work: a name taken by
    an earlier input of this run fails the page, and so (without resume or overwrite) does
    a file already there. A task may then replace its own files: a worker stopped after
    writing them but before reporting (the pool broke beside it) runs the page again.
    """
    name_owner: dict[str, str] = {}
    for page in iter_pages(inputs, pattern=pattern, exclude=[out]):
        if page.page == 0 and page.n_pages > 1:
            bar.total = (bar.total or 0) + page.n_pages - 1
            bar.refresh()
        base = {"input": page.path, "page": page.page, "n_pages": page.n_pages}
        settled_before = page_key(page.path, page.page) in settled
        if page.skip_reason:
            if settled_before:
                summary.skipped += 1
                bar.update(1)
            else:
                record(base | {"status": "skipped", "error": "UnsupportedFileType", "message": page.skip_reason})
            continue
        name = record_name(page.rel, page.page, page.n_pages)
        owner = name_owner.setdefault(name, page.path)
        try:
            _check_name_free(out, name, template, owner, page.path)
            complete = resume and is_complete(out, name, template["formats"])
        except (OutputPathError, OutputExistsError) as exc:
            record(base | {"status": "failed", "error": type(exc).__name__, "message": exc.reason})
            continue
        if complete:
            summary.already_done += 1
            if settled_before:
                summary.skipped += 1
                bar.update(1)
            else:  # finished just before the earlier run stopped, but never logged: log it now
                record(base | {"status": "ok", "output": name, "message": "outputs found complete on resume"}
                       | _sidecar_fields(out, name, template["formats"]), count_as="skipped")
            continue
        yield Task(page.path, page.page, page.n_pages, name, **(template | {"replace": True}))


def _check_name_free(out: Path, name: str, template: dict, owner: str, path: str) -> None:
    """Raise OutputExistsError where ``name`` is not free for ``path``'s page."""
    if owner != path:
        raise OutputExistsError(f"its output name {name!r} is taken by {owner} in this run", path)
    if not template["replace"]:
        refuse_existing(out, name, template["formats"], path)


def _sidecar_fields(out: Path, name: str, formats) -> dict[str, Any]:
    """Layout and quality of a finished record, from its JSON metadata when written."""
    if "json" not in formats:
        return {}
    try:
        path = next(p for p in output_files(out, name, formats) if p.suffix == ".json")
        meta = json.loads(path.read_text())
        return {"layout": meta.get("layout")} | quality_fields(meta.get("quality"))
    except (OSError, ValueError, StopIteration):
        return {}


def _check_formats(formats: Iterable[str]) -> tuple[str, ...]:
    if isinstance(formats, str):
        formats = formats.split(",")
    chosen = tuple(dict.fromkeys(f.strip().lower() for f in formats if f.strip()))
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise BatchError(f"unknown output format(s) {unknown or formats!r}; choose from {', '.join(FORMATS)}")
    return chosen


def _classify_available() -> str:
    """``"on"``, or why the classifiers cannot run (the run goes on without them)."""
    try:
        import classifiers
    except ImportError as exc:
        return f"skipped: classifiers are not installed ({exc})"
    missing = [n for n in ("classify_rhythm", "detect_mi", "classify_beats") if not hasattr(classifiers, n)]
    if missing:
        return f"skipped: the classifiers package lacks {', '.join(missing)}"
    return "on"


def _progress_bar(inputs, pattern, out: Path, enabled: bool):
    from tqdm.auto import tqdm

    # A cheap first pass (names only) gives the bar a total, hence an ETA.
    total = count_files(inputs, pattern=pattern, exclude=[out]) if enabled else None
    return tqdm(total=total, unit="page", disable=not enabled, dynamic_ncols=True, smoothing=0.05)


class _OutputLock:
    """An exclusive lock on ``out`` (POSIX ``flock``), so two runs never write one folder."""

    def __init__(self, out: Path):
        self.state = out / STATE_DIR
        self._fh = None

    def __enter__(self) -> "_OutputLock":
        self.state.mkdir(parents=True, exist_ok=True)
        self._fh = (self.state / "lock").open("w")
        try:
            import fcntl

            fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - not POSIX
            pass
        except OSError:
            self._fh.close()
            raise BatchError("another batch run is writing to this folder", str(self.state.parent)) from None
        return self

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.state, ignore_errors=True)  # the run leaves only records + manifest
        self._fh.close()
