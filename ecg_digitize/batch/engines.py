"""Engines that run tasks in parallel and yield results as they finish.

Both take a (possibly endless) iterator of tasks and keep at most ``max_in_flight`` of
them submitted, so memory stays bounded however large the archive:

- :class:`LocalEngine`: a :class:`concurrent.futures.ProcessPoolExecutor`. A worker that
  dies (segfault, out-of-memory kill) breaks the pool; the pages then in flight are
  re-run one at a time in a fresh pool, and only the one that kills its worker again is
  reported as failed (``WorkerCrashError``).
- :class:`DaskEngine`: :mod:`dask.distributed`, on a ``LocalCluster`` by default or on
  an existing cluster (``scheduler="tcp://host:port"``). Dask itself retries a task
  whose worker died and gives up with ``KilledWorker``. Workers must see the same file
  system paths as the client (inputs and ``--out``).
"""
from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterable, Iterator

from ..errors import EcgDigitizeError
from .worker import init_local_worker

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


class WorkerCrashError(EcgDigitizeError):
    """The worker process died while converting this page (crash or out of memory)."""


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

    Examples
    --------
    >>> with LocalEngine(workers=2) as eng:  # doctest: +SKIP
    ...     for task, result in eng.run(abs, [-1, -2, -3]):
    ...         print(task, result)
    """

    name = "local"

    def __init__(self, workers: int | None = None, max_in_flight: int | None = None,
                 start_method: str | None = None, preload: Iterable[str] = ()):
        self.workers = workers or default_workers()
        self.max_in_flight = max_in_flight or 2 * self.workers + 2
        if start_method is None:
            start_method = "forkserver" if sys.platform.startswith("linux") else "spawn"
        self._ctx = multiprocessing.get_context(start_method)
        self._preload = list(preload)
        self._pool: ProcessPoolExecutor | None = None

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
                                   initargs=(os.getpid(),))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def run(self, fn: Callable, tasks: Iterable) -> Iterator[tuple[Any, Any]]:
        """Yield ``(task, result)`` as tasks finish; ``result`` is an exception if ``fn`` raised."""
        self._pool = self._pool or self._new_pool(self.workers)
        pending: dict = {}
        source = iter(tasks)
        exhausted = False
        unsent: list = []
        while True:
            while not exhausted and not unsent and len(pending) < self.max_in_flight:
                task = next(source, _END)
                if task is _END:
                    exhausted = True
                else:
                    try:
                        pending[self._pool.submit(fn, task)] = task
                    except BrokenProcessPool:  # broke since the last wait: handled below
                        unsent.append(task)
                        break
            if not pending and not unsent:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED) if pending else (set(), set())
            broken = bool(unsent)
            for fut in done:
                task = pending.pop(fut)
                try:
                    yield task, fut.result()
                except BrokenProcessPool:
                    broken = True
                    pending[fut] = task  # retried below with the others in flight
                except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
                    yield task, exc
            if broken:
                suspects = list(pending.values()) + unsent
                pending.clear()
                unsent = []
                self._pool.shutdown(wait=True, cancel_futures=True)
                yield from self._isolate(fn, suspects)
                self._pool = self._new_pool(self.workers)

    def _isolate(self, fn: Callable, suspects: list) -> Iterator[tuple[Any, Any]]:
        """Re-run the tasks that were in flight when a worker died, one at a time."""
        pool = self._new_pool(1)
        try:
            for task in suspects:
                try:
                    result = pool.submit(fn, task).result()
                except BrokenProcessPool:
                    pool.shutdown(wait=True)
                    pool = self._new_pool(1)
                    result = WorkerCrashError("the worker process died while converting this page "
                                              "(crash or out of memory)")
                except Exception as exc:  # noqa: BLE001
                    result = exc
                yield task, result
        finally:
            pool.shutdown(wait=True)


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
                max_in_flight: int | None = None, preload: Iterable[str] = ()):
    """Build an engine by name (``"local"`` or ``"dask"``; a scheduler implies ``"dask"``)."""
    if scheduler and engine == "local":
        engine = "dask"
    if engine == "local":
        return LocalEngine(workers, max_in_flight, preload=preload)
    if engine == "dask":
        return DaskEngine(workers, scheduler, max_in_flight)
    raise EcgDigitizeError(f"unknown engine {engine!r}; choose 'local' or 'dask'")
