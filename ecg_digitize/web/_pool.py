"""A bounded pool of digitization workers, with a time limit per job.

Digitizing a page is CPU work of a second or more; running it on the event loop would
freeze every other request. Jobs go to a fixed number of threads (numpy, OpenCV and
scikit-image release the GIL in their heavy loops), and the number of jobs waiting is
capped: beyond it the server answers 503 at once instead of queueing without end.

A job given a ``timeout`` that runs longer is answered at once (:class:`PoolTimeout`),
but Python cannot stop a thread: the job's thread runs on to its end, and until then it
keeps its place among the ``max_pending`` jobs and its worker thread (``overdue`` counts
such jobs), so a page that never finishes costs one worker for good, never the server.
"""
from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable


class PoolBusy(Exception):
    """Raised when the queue is full; the caller should answer 503 with Retry-After."""


class PoolTimeout(Exception):
    """Raised when a job ran past its time limit; its thread runs on (see the module)."""


class WorkerPool:
    """``workers`` threads and at most ``max_pending`` jobs queued or running.

    Parameters
    ----------
    workers : int
        Threads that digitize at the same time.
    max_pending : int
        Jobs accepted at once (running + waiting, overdue ones included); more are
        refused with :class:`PoolBusy`.
    """

    def __init__(self, workers: int = 2, max_pending: int = 32):
        self.workers, self.max_pending = max(1, int(workers)), max(1, int(max_pending))
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="ecg-digitize")
        self._pending = 0
        self._overdue: set[Future] = set()
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        """Jobs queued or running now (overdue ones included)."""
        return self._pending

    @property
    def overdue(self) -> int:
        """Jobs answered as timed out whose threads are still running."""
        return len(self._overdue)

    def _finished(self, fut: Future) -> None:
        """A job's thread is done (or the job was cancelled): its place is free again."""
        with self._lock:
            self._pending -= 1
            self._overdue.discard(fut)

    async def run(self, fn: Callable[..., Any], *args: Any, timeout: float | None = None) -> Any:
        """Run ``fn(*args)`` in a worker thread and await its result.

        ``timeout`` (seconds, from when the job is accepted, queueing included): past
        it, :class:`PoolTimeout` is raised and the job is left to finish on its own.
        """
        with self._lock:
            if self._pending >= self.max_pending:
                raise PoolBusy(f"{self._pending} pages are already being digitized")
            self._pending += 1
        try:
            fut = self._executor.submit(fn, *args)
        except RuntimeError:  # shut down
            with self._lock:
                self._pending -= 1
            raise
        fut.add_done_callback(self._finished)
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(fut)), timeout or None)
        except asyncio.TimeoutError:
            with self._lock:
                finished = fut.done()
                if not finished:
                    self._overdue.add(fut)
            if finished:  # just in time
                return fut.result()
            fut.cancel()  # one still queued never starts (its callback frees its place)
            raise PoolTimeout(f"no result after {timeout:g} s") from None

    def shutdown(self) -> None:
        """Stop accepting work; running jobs finish."""
        self._executor.shutdown(wait=False, cancel_futures=True)
