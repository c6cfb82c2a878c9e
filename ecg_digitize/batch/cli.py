"""``ecg-digitize batch``: the command-line face of :func:`ecg_digitize.batch.convert`.

Exit codes: 0 the run completed (even if some pages failed: see the manifest),
2 a fatal configuration error (bad option, output folder in use or holding an earlier run
without ``--resume``/``--overwrite``, unreachable scheduler), 130 interrupted (Ctrl-C;
finished work is kept, rerun with ``--resume``).
"""
from __future__ import annotations

import argparse
import sys

EXIT_OK, EXIT_CONFIG, EXIT_INTERRUPTED = 0, 2, 130


def add_batch_subcommand(subparsers) -> argparse.ArgumentParser:
    """Add ``batch`` to the ``ecg-digitize`` command (called by ``ecg_digitize.cli``)."""
    p = subparsers.add_parser(
        "batch", help="convert an archive of ECG images/PDFs (files, folders, globs) in parallel",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="files, folders (recursive) or globs")
    p.add_argument("--out", required=True, help="output folder; records mirror the inputs' relative paths")
    p.add_argument("--format", default="wfdb,json",
                   help="comma-separated: wfdb, csv, json (default: %(default)s)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: usable cores)")
    p.add_argument("--engine", choices=["local", "dask"], default="local",
                   help="process pool here, or dask.distributed (default: %(default)s)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="existing dask scheduler, e.g. tcp://host:8786 (implies --engine dask)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="skip pages whose outputs are complete")
    mode.add_argument("--overwrite", action="store_true", help="redo everything, replacing outputs")
    p.add_argument("--classify", action="store_true",
                   help="run the pretrained classifiers and add their outputs to the manifest")
    p.add_argument("--pattern", default=None, metavar="GLOB",
                   help="only files in folders/globs whose name matches, e.g. '*.pdf'")
    p.add_argument("--fs", type=float, default=None, help="output sampling rate, Hz (digitize default)")
    p.add_argument("--layout", default=None, help="page layout, e.g. 3x4+II (default: auto)")
    p.add_argument("--paper-speed", type=float, default=None, help="mm/s when not printed on the page")
    p.add_argument("--gain", type=float, default=None, help="mm/mV when not printed on the page")
    p.add_argument("--method", default=None, help="digitize method (default: auto)")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="seconds one page may take before its worker is stopped and the page "
                        "recorded as failed (PageTimeoutError); 0: no limit (default: 120; "
                        "local engine only)")
    p.add_argument("--max-in-flight", type=int, default=None, help="pages queued at once (bounds memory)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--review-below", type=float, default=None, metavar="DB",
                   help="list for review the pages whose expected SNR is under DB dB (pages whose "
                        "quality verdict is not 'good' are always listed)")
    p.set_defaults(func=run_batch)
    return p


def run_batch(args) -> int:
    """Run ``ecg-digitize batch`` from parsed arguments; returns the exit code."""
    from ..errors import EcgDigitizeError
    from .convert import convert

    kwargs = {k: v for k, v in (("fs", args.fs), ("layout", args.layout), ("paper_speed", args.paper_speed),
                                ("gain", args.gain), ("method", args.method)) if v is not None}
    if args.workers is not None and args.workers < 1:
        print("ecg-digitize batch: error: --workers must be at least 1", file=sys.stderr)
        return EXIT_CONFIG
    timeout = getattr(args, "timeout", None)
    if timeout is not None and not timeout >= 0:
        print("ecg-digitize batch: error: --timeout must be 0 (none) or a number of seconds",
              file=sys.stderr)
        return EXIT_CONFIG
    if args.classify:
        from .convert import _classify_available

        note = _classify_available()
        if note != "on":
            print(f"ecg-digitize batch: --classify {note}", file=sys.stderr)
    try:
        summary = convert(args.inputs, args.out, formats=args.format, workers=args.workers,
                          engine=args.engine, scheduler=args.scheduler, resume=args.resume,
                          overwrite=args.overwrite, classify=args.classify, pattern=args.pattern,
                          progress=not args.quiet, max_in_flight=args.max_in_flight, digitize_kwargs=kwargs,
                          review_below=args.review_below,
                          **({} if timeout is None else {"timeout": timeout}))
    except EcgDigitizeError as exc:
        print(f"ecg-digitize batch: error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        print("\necg-digitize batch: interrupted; finished pages are kept, rerun with --resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    print(summary)
    return EXIT_OK
