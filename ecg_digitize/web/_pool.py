"""A bounded pool of digitization workers.

Digitizing a page is CPU work of a second or more; running it on the event loop would
freeze every other request. Jobs go to a fixed number of threads (numpy, OpenCV and
scikit-image release the GIL in their heavy loops), and the number of jobs waiting is
capped: beyond it the server answers 503 at once instead of queueing without end.
"""
from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable


class PoolBusy(Exception):
    """Raised when the queue is full; the caller should answer 503 with Retry-After."""


class WorkerPool:
    """``workers`` threads and at most ``max_pending`` jobs queued or running.

    Parameters
    ----------
    workers : int
        Threads that digitize at the same time.
    max_pending : int
        Jobs accepted at once (running + waiting); more are refused with :class:`PoolBusy`.
    """

    def __init__(self, workers: int = 2, max_pending: int = 32):
        self.workers, self.max_pending = max(1, int(workers)), max(1, int(max_pending))
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="ecg-digitize")
        self._pending = 0
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        """Jobs queued or running now."""
        return self._pending

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` in a worker thread and await its result."""
        with self._lock:
            if self._pending >= self.max_pending:
                raise PoolBusy(f"{self._pending} pages are already being digitized")
            self._pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        finally:
            with self._lock:
                self._pending -= 1

    def shutdown(self) -> None:
        """Stop accepting work; running jobs finish."""
        self._executor.shutdown(wait=False, cancel_futures=True)
