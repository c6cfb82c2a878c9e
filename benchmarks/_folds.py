"""PTB-XL folds as the benchmarks take them on the command line: ``10``, ``1-8`` or ``9 10``."""
from __future__ import annotations


def parse_folds(items: str | list[str]) -> list[int]:
    """``"1-8"`` -> ``[1, ..., 8]``; several items (``["9", "10"]``) are joined.

    >>> parse_folds("1-3"), parse_folds(["9", "10"])
    ([1, 2, 3], [9, 10])
    """
    out = []
    for item in [items] if isinstance(items, str) else items:
        lo, _, hi = item.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out
