"""What runs in a worker process for one page: digitize, write, optionally classify.

:func:`run_task` never raises for a bad page: every exception becomes a ``failed``
result naming its class and message, so one bad file cannot stop a batch. Results are
small dicts (no signals), so the engines move little data back to the main process.
"""
from __future__ import annotations

import importlib
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import ImageReadError
from .writer import write_record

DEFAULT_DIGITIZE = "ecg_digitize.digitizer:digitize"


@dataclass(frozen=True)
class Task:
    """One page to convert, with everything a worker needs (picklable)."""

    path: str
    page: int
    n_pages: int
    name: str                      # output record path under ``out``
    out: str
    formats: tuple[str, ...] = ("wfdb", "json")
    replace: bool = False
    classify: bool = False
    digitize_fn: Callable | str = DEFAULT_DIGITIZE
    digitize_kwargs: dict[str, Any] = field(default_factory=dict)


def resolve(fn: Callable | str) -> Callable:
    """A callable, or ``"module:attribute"`` imported (so tasks pickle as a short string)."""
    if callable(fn):
        return fn
    module, _, attr = fn.partition(":")
    return getattr(importlib.import_module(module), attr)


_SETUP_DONE = False


def setup_worker() -> None:
    """One-time per-process setup: one thread per worker for OpenCV/BLAS (the engine
    gives each core its own worker, so nested threading would only oversubscribe), and
    on Linux die with the parent so a killed batch leaves no orphan writing files."""
    global _SETUP_DONE
    if _SETUP_DONE:
        return
    _SETUP_DONE = True
    try:
        import cv2

        cv2.setNumThreads(1)
    except Exception:  # noqa: BLE001 - OpenCV is optional here
        pass
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except Exception:  # noqa: BLE001
        pass


def set_parent_death_signal() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no-op elsewhere)."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001
        pass


_SLOTS: tuple | None = None  # the local engine's (start times, pids) shared arrays


def init_local_worker(main_pid: int | None = None, started=None, pids=None) -> None:
    """Initializer of the local process pool.

    ``started`` and ``pids`` are the engine's shared arrays in which :func:`run_in_slot`
    notes when this worker starts a task, and its pid (for the per-page timeout).
    """
    import signal

    global _SLOTS
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    set_parent_death_signal()
    if main_pid is not None:
        _watch_main_process(main_pid)
    if started is not None and pids is not None:
        _SLOTS = (started, pids)
    setup_worker()


def run_in_slot(fn: Callable, slot: int, task: Any) -> Any:
    """``fn(task)``, first noting in the engine's shared arrays that this process started it now.

    The pid is written before the start time, so the engine never sees a start time
    without its worker's pid.
    """
    if _SLOTS is not None:
        started, pids = _SLOTS
        pids[slot] = os.getpid()
        started[slot] = time.monotonic()
    return fn(task)


def _watch_main_process(pid: int, period: float = 0.5) -> None:
    """Exit when the batch's main process is gone (e.g. SIGKILLed).

    Under the fork server a worker's parent is the server, not the main process, and the
    server lives as long as its workers do, so neither would notice on its own; the
    workers would wait forever on a queue nobody writes to.
    """
    import threading

    def watch() -> None:
        while _alive(pid):
            time.sleep(period)
        os._exit(1)

    threading.Thread(target=watch, name="ecg-digitize-watchdog", daemon=True).start()


def _alive(pid: int) -> bool:
    if os.path.isdir("/proc/self"):
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                return fh.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")  # zombie = dead
        except OSError:
            return False
    try:  # no /proc: a signal-0 probe
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def run_task(task: Task) -> dict[str, Any]:
    """Convert one page; return a manifest row fragment (never raises for a bad page).

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from ecg_digitize import Record
    >>> def fake(image, page=0):
    ...     return Record(np.zeros((500, 1)), fs=500, leads=["II"], layout="strip")
    >>> t = Task("/scans/a.png", 0, 1, "a", tempfile.mkdtemp(), digitize_fn=fake)
    >>> run_task(t)["status"], run_task(Task("/scans/a.png", 0, 1, "a", t.out, digitize_fn=fake))["error"]
    ('ok', 'OutputExistsError')
    """
    setup_worker()
    t0 = time.perf_counter()
    row: dict[str, Any] = {"worker": f"{socket.gethostname()}:{os.getpid()}"}
    try:
        digitize = resolve(task.digitize_fn)
        record = digitize(_page_image(task), page=_page_arg(task), **task.digitize_kwargs)
        if task.n_pages > 1 or not record.source:
            record.source = f"{task.path}#page={task.page}" if task.n_pages > 1 else task.path
        write_record(record, task.out, task.name, task.formats, replace=task.replace)
        row.update(status="ok", layout=record.layout, **quality_fields(record.quality))
        if task.classify:
            row["classify"] = classify_record(record)
    except Exception as exc:  # noqa: BLE001 - isolate every failure to its page
        row.update(status="failed", verdict="failed", error=type(exc).__name__,
                   message=getattr(exc, "reason", None) or str(exc) or repr(exc))
    row["seconds"] = round(time.perf_counter() - t0, 4)
    return row


def _is_tiff(task: Task) -> bool:
    return os.path.splitext(task.path)[1].lower() in (".tif", ".tiff")


def _page_arg(task: Task) -> int:
    # A TIFF frame is handed over as an image already; digitize's page= is for PDFs.
    return 0 if (_is_tiff(task) and task.n_pages > 1) else task.page


def _page_image(task: Task):
    """The path, or for a page of a multi-page TIFF that frame as a PIL image.

    digitize()'s loader reads the first frame of a TIFF only, so frames are picked here.
    """
    if not (_is_tiff(task) and task.n_pages > 1):
        return task.path
    from PIL import Image

    try:
        with Image.open(task.path) as im:
            im.seek(task.page)
            frame = im.copy()  # decodes this frame only; PIL's bomb limits still apply
    except (OSError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise ImageReadError(f"cannot read TIFF page {task.page}: {exc}", task.path) from exc
    frame.filename = f"{task.path}#page={task.page}"
    return frame


def classify_record(record) -> dict[str, Any]:
    """Run the pretrained classifiers on a Record; a failure of one is reported, not raised."""
    import classifiers

    out: dict[str, Any] = {}
    for name, fn_name in (("rhythm", "classify_rhythm"), ("mi", "detect_mi"), ("beats", "classify_beats")):
        try:
            out[name] = _summarise(getattr(classifiers, fn_name)(record))
        except Exception as exc:  # noqa: BLE001 - e.g. too short a strip for one model
            out[name] = {"error": type(exc).__name__, "message": str(exc)}
    return out


def _summarise(result) -> Any:
    """JSON-ready summary of a classifier result (dataclass, DataFrame of beats, ...)."""
    import dataclasses

    if hasattr(result, "to_dict") and hasattr(result, "columns"):  # beats DataFrame
        counts = result["label"].value_counts().to_dict() if "label" in result.columns else {}
        return {"n_beats": int(len(result)), "counts": {str(k): int(v) for k, v in counts.items()}}
    if dataclasses.is_dataclass(result):
        data = dataclasses.asdict(result)
        for key in ("beats", "beat_probabilities", "per_beat"):  # keep rows small
            data.pop(key, None)
        return _plain(data)
    return _plain(result)


def _plain(value: Any) -> Any:
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value][:50]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist()) if value.size <= 50 else f"array{value.shape}"
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float):
        return round(value, 6)
    return value if isinstance(value, (str, int, bool, type(None))) else str(value)


def quality_fields(quality: Any) -> dict[str, Any]:
    """A manifest row's ``quality`` (overall), ``verdict`` and ``expected_snr_db`` from a
    Record's (or its JSON's) ``quality`` dict.

    Examples
    --------
    >>> quality_fields({"overall": 0.91234, "verdict": "check", "expected_snr_db": 7.1})
    {'quality': 0.9123, 'verdict': 'check', 'expected_snr_db': 7.1}
    """
    q = quality if isinstance(quality, dict) else {}
    overall, expected = q.get("overall"), q.get("expected_snr_db")
    return {"quality": None if overall is None else round(float(overall), 4), "verdict": q.get("verdict"),
            "expected_snr_db": None if expected is None else round(float(expected), 2)}
