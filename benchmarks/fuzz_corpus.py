"""Fuzz corpus: ``digitize`` on ~400 odd inputs, each in a child process with a time limit.

Every input must end in a Record or an :class:`~ecg_digitize.errors.EcgDigitizeError`
subclass naming it, within the limit. Prints the counts (readings, project errors by
class, other exceptions with where they came from, hangs, crashes, the slowest input)
and exits 1 if any input raised a foreign exception, hung or crashed its process.

The corpus (``tests/fuzz_inputs.py``): noise, blank and one-colour pages, 1x1 and 1xN
pixels, extreme aspect ratios, 16-bit, float and 32-bit pages, alpha, palette, bilevel,
CMYK, EXIF-rotated JPEGs, animated GIFs and multi-page TIFFs with pages out of range,
truncated and corrupt PNG/JPEG/TIFF/PDF/GIF/BMP/WebP bytes, zero-byte files, wrong
extensions, folders and missing paths, decompression bombs, photo-like pictures, charts,
text pages, numpy arrays of odd dtypes and shapes, PIL images of every mode, and rendered
ECG pages cut in half or quarters, turned, inverted, bordered, squashed to 30 px or
stretched to 20 000 px.

Examples
--------
    nice python benchmarks/fuzz_corpus.py                  # the whole corpus, classical
    python benchmarks/fuzz_corpus.py --quick               # the default test run's subset
    python benchmarks/fuzz_corpus.py --auto 25             # also method="auto" on 25 inputs
    python benchmarks/fuzz_corpus.py --method unet --only ecg-variant chart   # the U-Net route
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import fuzz_inputs  # noqa: E402  (tests/ holds the corpus, shared with test_fuzz.py)

UNET_WEIGHTS = ROOT / "pretrained" / "unet-trace.keras"
# method="auto" may run the U-Net on CPU (tens of seconds a page): a longer limit.
AUTO_LIMIT_S = 300.0


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="only the quick subset (the default test run's)")
    p.add_argument("--limit", type=float, default=fuzz_inputs.LIMIT_S,
                   help="seconds per input before it counts as a hang (default: %(default)g)")
    p.add_argument("--method", default="classical", choices=["classical", "unet", "auto"],
                   help="digitize method of the main run (default: %(default)s)")
    p.add_argument("--auto", type=int, default=0, metavar="N",
                   help='also run method="auto" on N inputs spread over the corpus '
                        "(needs pretrained/unet-trace.keras)")
    p.add_argument("--only", nargs="*", default=None, help="only these categories")
    p.add_argument("--work", default=None, help="folder for the corpus (default: a temporary one)")
    p.add_argument("--verbose", "-v", action="store_true", help="print every input's outcome")
    return p.parse_args(argv)


def report(title: str, outcomes: list, seconds: float) -> bool:
    """Print the summary of one run; True when it is clean."""
    s = fuzz_inputs.summarise(outcomes)
    print(f"\n== {title}: {s.total} inputs in {seconds:.0f} s")
    print(f"ok readings: {s.ok}")
    print(f"project errors: {sum(s.project.values())} "
          + ", ".join(f"{k} {v}" for k, v in sorted(s.project.items(), key=lambda kv: -kv[1])))
    if s.unnamed:
        print(f"  of which not naming the input: {len(s.unnamed)}")
        for o in s.unnamed:
            print(f"    {o.case.name}: {o.message}")
    print(f"other exceptions: {len(s.foreign)}")
    for o in s.foreign:
        print(f"  {o.case.category}/{o.case.name}: {o.error}: {o.message[:160]}\n      at {o.where}")
    print(f"hangs (over the limit): {len(s.hangs)}" + "".join(f"\n  {o.case.name}" for o in s.hangs))
    print(f"crashes (process died): {len(s.crashes)}"
          + "".join(f"\n  {o.case.name}: {o.message}" for o in s.crashes))
    print(f"max seconds: {s.max_seconds:.1f} ({s.slowest})")
    by_cat = Counter((o.case.category, o.status) for o in outcomes)
    cats = sorted({c for c, _ in by_cat})
    print("per category (ok / project / other):")
    for c in cats:
        bad = sum(by_cat[(c, k)] for k in ("foreign", "hang", "crash"))
        print(f"  {c:16s} {by_cat[(c, 'ok')]:3d} / {by_cat[(c, 'project')]:3d} / {bad:3d}")
    return s.clean


def _run(title: str, cases: list, limit: float, method: str, verbose: bool) -> bool:
    def show(o) -> None:
        if verbose or o.status in ("foreign", "hang", "crash"):
            print(f"  [{o.status:7s}] {o.seconds:6.1f} s {o.case.category}/{o.case.name}: "
                  f"{o.error or ''} {o.message[:120]}", flush=True)

    t0 = time.perf_counter()
    outcomes = fuzz_inputs.run_corpus(cases, limit_s=limit, method=method, on_outcome=show)
    return report(title, outcomes, time.perf_counter() - t0)


def main(argv=None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ecg-fuzz-") as tmp:
        work = Path(args.work or tmp)
        t0 = time.perf_counter()
        cases = fuzz_inputs.make_corpus(work, quick=args.quick)
        if args.only:
            cases = [c for c in cases if c.category in args.only]
        counts = Counter(c.category for c in cases)
        print(f"corpus: {len(cases)} inputs in {len(counts)} categories, written in "
              f"{time.perf_counter() - t0:.0f} s under {work}")
        print("  " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        limit = args.limit if args.method == "classical" else max(args.limit, AUTO_LIMIT_S)
        clean = _run(f'method="{args.method}"', cases, limit, args.method, args.verbose)
        if args.auto:
            if not UNET_WEIGHTS.exists():
                print(f'\nmethod="auto" skipped: {UNET_WEIGHTS} is missing')
            else:
                step = max(1, len(cases) // args.auto)
                clean &= _run('method="auto"', cases[::step][:args.auto], AUTO_LIMIT_S, "auto", args.verbose)
    print("\nFuzz corpus: " + ("clean: 0 exceptions other than the project's own, 0 hangs" if clean
                               else "NOT clean (see above)"))
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
