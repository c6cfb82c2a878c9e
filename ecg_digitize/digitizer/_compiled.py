"""Loops compiled by numba: imported on their first call, so that ``import ecg_digitize``
stays light, and cached on disk, so that later processes load them instead of compiling."""
from __future__ import annotations

import functools


def lazy_njit(func):
    """``func`` compiled in nopython mode on its first call (``.py_func``: the plain
    Python function, for reading and debugging).

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_digitize.digitizer._compiled import lazy_njit
    >>> @lazy_njit
    ... def total(a):
    ...     s = 0.0
    ...     for v in a:
    ...         s += v
    ...     return s
    >>> total(np.arange(4.0))
    6.0
    """
    compiled = None

    @functools.wraps(func)
    def call(*args):
        nonlocal compiled
        if compiled is None:
            compiled = _compile(func)
        return compiled(*args)

    call.py_func = func
    return call


def _compile(func):
    import numba

    try:
        return numba.njit(cache=True, nogil=True)(func)
    except RuntimeError:  # no writable cache folder: compile in each process instead
        return numba.njit(nogil=True)(func)
