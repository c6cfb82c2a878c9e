"""Engines that run tasks in parallel and yield results as they finish.

Both take a (possibly endless) iterator of tasks and keep at most ``max_in_flight`` of
them submitted, so memory stays bounded however large the archive:

- :class:`LocalEngine`: a :class:`concurrent.futures.ProcessPoolExecutor`. A worker that
  dies (segfault, out-of-memory kill) breaks the pool; the pages then in flight are
  re-run one at a time in a fresh pool, and only the one that kills its worker again is
  reported as failed (``WorkerCrashError``). With a ``timeout``, a page that runs longer
  has its worker killed and is reported as failed (``PageTimeoutError``); the pages then
  in flight on the other workers are run again in a fresh pool.
- :class:`DaskEngine`: :mod:`dask.distributed`, on a ``LocalCluster`` by default or on
  an existing cluster (``scheduler="tcp://host:port"``). Dask itself retries a task
  whose worker died and gives up with ``KilledWorker``. Workers must see the same file
  system paths as the client (inputs and ``--out``). It enforces no per-page timeout
  (a dask task cannot be stopped; see docs/batch.md).
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any, Callable, Iterable, Iterator

from ..errors import EcgDigitizeError
from .worker import init_local_worker, run_in_slot

# How often the main process looks for pages over their time limit: a page is stopped at
# most this long after its limit, and an idle wait costs nothing.
TIMEOUT_POLL_S = 0.5

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


class WorkerCrashError(EcgDigitizeError):
    """The worker process died while converting this page (crash or out of memory)."""


class PageTimeoutError(EcgDigitizeError):
    """Converting this page took longer than the per-page limit; its worker was stopped."""


def timeout_error(limit_s: float) -> PageTimeoutError:
    """The manifest's reason for a page stopped after ``limit_s`` seconds."""
    return PageTimeoutError(f"digitizing this page took longer than the {limit_s:g} s per-page limit "
                            "(--timeout); its worker process was stopped and replaced")


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def single_threaded_env() -> None:
    """One BLAS/OpenMP thread per worker process (inherited by workers started later)."""
    for var in _THREAD_VARS:
        os.environ.setdefault(var, "1")


class LocalEngine:
    """Process pool on this machine.

    Parameters
    ----------
    workers : int, optional
        Processes (default: the usable cores).
    max_in_flight : int, optional
        Tasks submitted but not finished (default ``2 * workers + 2``: enough to keep
        every worker busy while results are collected).
    start_method : str, optional
        ``multiprocessing`` start method; default ``forkserver`` on Linux (workers fork
        from a clean server, not from a process with threads), ``spawn`` elsewhere.
    timeout : float, optional
        Seconds one task may run (counted from when a worker starts it, not from when it
        was queued); over it, the worker is killed, the task's result is a
        :class:`PageTimeoutError`, and the other tasks in flight are run again in a fresh
        pool. ``None`` or ``0``: no limit.

    Examples
    --------
    >>> with LocalEngine(workers=2) as eng:  # doctest: +SKIP
    ...     for task, result in eng.run(abs, [-1, -2, -3]):
    ...         print(task, result)
    """

    name = "local"

    def __init__(self, workers: int | None = None, max_in_flight: int | None = None,
                 start_method: str | None = None, preload: Iterable[str] = (),
                 timeout: float | None = None):
        self.workers = workers or default_workers()
        self.max_in_flight = max_in_flight or 2 * self.workers + 2
        self.timeout = float(timeout) if timeout else None
        if start_method is None:
            start_method = "forkserver" if sys.platform.startswith("linux") else "spawn"
        self._ctx = multiprocessing.get_context(start_method)
        self._preload = list(preload)
        self._pool: ProcessPoolExecutor | None = None
        # Per in-flight slot, when a worker started its task and the worker's pid, written
        # by the workers (shared memory without a lock: killing a worker cannot leave a
        # lock held). 0: not started yet.
        self._started = self._ctx.RawArray("d", self.max_in_flight)
        self._pids = self._ctx.RawArray("i", self.max_in_flight)

    def __enter__(self) -> "LocalEngine":
        single_threaded_env()
        if self._preload and self._ctx.get_start_method() == "forkserver":
            # Import the digitizer once in the fork server: every worker (and every pool
            # rebuilt after a crash) then starts with it loaded and shares its pages.
            self._ctx.set_forkserver_preload(self._preload)
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _new_pool(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(workers, mp_context=self._ctx, initializer=init_local_worker,
                                   initargs=(os.getpid(), self._started, self._pids))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _submit(self, pool: ProcessPoolExecutor, fn: Callable, task: Any, slot: int) -> Future:
        self._started[slot] = 0.0
        return pool.submit(partial(run_in_slot, fn, slot), task)

    def _overdue(self, slot: int) -> bool:
        """Whether the task in ``slot`` has run past the timeout; if so its worker is killed."""
        started, pid = self._started[slot], self._pids[slot]
        if not (self.timeout and started > 0 and pid > 0 and time.monotonic() - started > self.timeout):
            return False
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):  # it finished meanwhile
            pass
        return True

    def run(self, fn: Callable, tasks: Iterable) -> Iterator[tuple[Any, Any]]:
        """Yield ``(task, result)`` as tasks finish; ``result`` is an exception if ``fn`` raised."""
        self._pool = self._pool or self._new_pool(self.workers)
        pending: dict[Future, tuple[int, Any]] = {}
        source = iter(tasks)
        exhausted = False
        unsent: list = []       # tasks to submit before new ones (a pool broke under them)
        free = list(range(self.max_in_flight))
        while True:
            while not (exhausted and not unsent) and free:
                task = unsent.pop(0) if unsent else next(source, _END)
                if task is _END:
                    exhausted = True
                    continue
                slot = free.pop()
                try:
                    pending[self._submit(self._pool, fn, task, slot)] = (slot, task)
                except BrokenProcessPool:  # broke since the last wait: handled below
                    unsent.insert(0, task)
                    free.append(slot)
                    break
            if not pending and not unsent:
                return
            done, _ = wait(pending, timeout=TIMEOUT_POLL_S if self.timeout else None,
                           return_when=FIRST_COMPLETED) if pending else (set(), set())
            timed_out = [f for f in pending if f not in done and self._overdue(pending[f][0])]
            broken = bool(unsent) or bool(timed_out)
            for fut in done:
                slot, task = pending.pop(fut)
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    broken = True
                    pending[fut] = (slot, task)  # retried below with the others in flight
                    continue
                except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
                    result = exc
                free.append(slot)
                yield task, result
            if broken:
                yield from self._rebuild(fn, pending, timed_out, unsent, free)

    def _rebuild(self, fn: Callable, pending: dict, timed_out: list, unsent: list,
                 free: list) -> Iterator[tuple[Any, Any]]:
        """After a worker died: the timed-out tasks fail, the rest run again.

        When the pool broke because a task was killed for its timeout, the other tasks in
        flight are innocent: they go back to the front of the queue. Otherwise a worker
        crashed and the tasks in flight are re-run one at a time (:meth:`_isolate`).
        """
        self._pool.shutdown(wait=True, cancel_futures=True)
        for fut in timed_out:
            slot, task = pending.pop(fut)
            free.append(slot)
            yield task, timeout_error(self.timeout)
        others = [task for fut, (slot, task) in pending.items() if not _finished_ok(fut)]
        for fut, (slot, task) in list(pending.items()):
            free.append(slot)
            if _finished_ok(fut):  # finished just before the pool broke
                yield task, fut.result()
        pending.clear()
        if timed_out:
            unsent[:0] = others
        else:
            suspects = others + unsent
            unsent.clear()
            yield from self._isolate(fn, suspects)
        self._pool = self._new_pool(self.workers)

    def _isolate(self, fn: Callable, suspects: list) -> Iterator[tuple[Any, Any]]:
        """Re-run the tasks that were in flight when a worker died, one at a time."""
        pool = self._new_pool(1)
        try:
            for task in suspects:
                fut = self._submit(pool, fn, task, 0)
                while True:
                    try:
                        result = fut.result(timeout=TIMEOUT_POLL_S if self.timeout else None)
                    except FutureTimeout:
                        if not self._overdue(0):
                            continue
                        result = timeout_error(self.timeout)
                    except BrokenProcessPool:
                        result = WorkerCrashError("the worker process died while converting this page "
                                                  "(crash or out of memory)")
                    except Exception as exc:  # noqa: BLE001
                        result = exc
                    break
                if isinstance(result, (PageTimeoutError, WorkerCrashError)):
                    pool.shutdown(wait=True)
                    pool = self._new_pool(1)
                yield task, result
        finally:
            pool.shutdown(wait=True)


def _finished_ok(fut: Future) -> bool:
    """A future that completed with a result (not broken, not cancelled)."""
    return fut.done() and not fut.cancelled() and fut.exception() is None


class DaskEngine:
    """dask.distributed: a ``LocalCluster`` (processes, one thread each) or a scheduler.

    Parameters
    ----------
    workers : int, optional
        Workers of the ``LocalCluster`` (ignored with ``scheduler``).
    scheduler : str, optional
        Address of a running scheduler, e.g. ``"tcp://10.0.0.5:8786"``.
    max_in_flight : int, optional
        Tasks submitted but not finished (default ``2 * total worker threads + 2``).

    Examples
    --------
    >>> with DaskEngine(workers=2) as eng:  # doctest: +SKIP
    ...     print(sorted(r for _, r in eng.run(abs, [-1, -2])))
    [1, 2]
    """

    name = "dask"

    def __init__(self, workers: int | None = None, scheduler: str | None = None,
                 max_in_flight: int | None = None):
        try:
            import distributed  # noqa: F401
        except ImportError as exc:
            raise EcgDigitizeError("the dask engine needs dask.distributed: "
                                   "pip install 'ecg-digitize[cluster]'") from exc
        self.workers = workers or default_workers()
        self.scheduler = scheduler
        self._max_in_flight = max_in_flight
        self.client = None
        self._cluster = None

    def __enter__(self) -> "DaskEngine":
        import logging

        from distributed import Client, LocalCluster

        if self.scheduler:
            try:
                self.client = Client(self.scheduler, timeout="30s")
            except (OSError, TimeoutError) as exc:
                raise EcgDigitizeError(f"cannot reach the dask scheduler: {exc}", self.scheduler) from exc
        else:
            single_threaded_env()
            self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                         dashboard_address=None, silence_logs=logging.ERROR)
            self.client = Client(self._cluster)
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    @property
    def max_in_flight(self) -> int:
        if self._max_in_flight:
            return self._max_in_flight
        threads = sum(self.client.nthreads().values()) if self.client else self.workers
        return 2 * max(1, threads) + 2

    def run(self, fn: Callable, tasks: Iterable) -> Iterator[tuple[Any, Any]]:
        """Yield ``(task, result)`` as tasks finish; ``result`` is an exception if it failed."""
        from distributed import as_completed

        limit = self.max_in_flight
        pending: dict = {}
        queue = as_completed()
        source = iter(tasks)
        exhausted = False
        while True:
            while not exhausted and len(pending) < limit:
                task = next(source, _END)
                if task is _END:
                    exhausted = True
                else:
                    # pure=False: the same page submitted twice (a retry) must run again.
                    fut = self.client.submit(fn, task, pure=False)
                    pending[fut.key] = task
                    queue.add(fut)
            if not pending:
                return
            fut = next(queue)
            task = pending.pop(fut.key)
            try:
                result = fut.result()
            except Exception as exc:  # noqa: BLE001 - KilledWorker, unpicklable task, ...
                result = exc
            fut.release()
            yield task, result


_END = object()


def make_engine(engine: str = "local", *, workers: int | None = None, scheduler: str | None = None,
                max_in_flight: int | None = None, preload: Iterable[str] = (),
                timeout: float | None = None):
    """Build an engine by name (``"local"`` or ``"dask"``; a scheduler implies ``"dask"``).

    ``timeout`` (seconds per task) is enforced by the local engine only.
    """
    if scheduler and engine == "local":
        engine = "dask"
    if engine == "local":
        return LocalEngine(workers, max_in_flight, preload=preload, timeout=timeout)
    if engine == "dask":
        return DaskEngine(workers, scheduler, max_in_flight)
    raise EcgDigitizeError(f"unknown engine {engine!r}; choose 'local' or 'dask'")
