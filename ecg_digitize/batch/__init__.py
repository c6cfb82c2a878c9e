"""Batch conversion of scanned ECG archives: ``ecg-digitize batch`` and :func:`convert`.

Streams pages from files, folders and globs (every page of a PDF or multi-page TIFF),
digitizes them in a local process pool or on dask.distributed, writes each record
atomically under ``--out`` and logs one manifest row per page as it finishes, so a run
can be killed and resumed without losing or corrupting work. See ``docs/batch.md``.

>>> from ecg_digitize.batch import record_name
>>> record_name("2019/scan 7.pdf", page=0, n_pages=2)
'2019/scan_7_p001'
"""
from .convert import BatchError, BatchSummary, convert
from .engines import DaskEngine, LocalEngine, PageTimeoutError, WorkerCrashError
from .inputs import Page, iter_pages
from .manifest import MANIFEST_NAME, read_manifest
from .writer import OutputExistsError, OutputPathError, record_name, write_record

__all__ = ["convert", "BatchSummary", "BatchError", "LocalEngine", "DaskEngine", "WorkerCrashError", "PageTimeoutError",
           "Page", "iter_pages", "read_manifest", "MANIFEST_NAME", "record_name", "write_record",
           "OutputExistsError", "OutputPathError"]
