"""The ``ecg-digitize`` command: demo, render, evaluate, and (when present) digitize, batch, serve.

Each subcommand lives beside the code it drives; this module only wires them together.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from .errors import EcgDigitizeError

# (subcommand, module, function that adds the subparser) for parts that register themselves.
_PLUGINS = [
    ("digitize", "ecg_digitize.digitizer.cli", "add_digitize_subcommand"),
    ("batch", "ecg_digitize.batch.cli", "add_batch_subcommand"),
    ("serve", "ecg_digitize.web.cli", "add_serve_subcommand"),
]
_BUILTIN = ("demo", "render", "evaluate")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``ecg-digitize`` parser.

    Parameters
    ----------
    command : str, optional
        The subcommand about to run: only its plugin module is imported (the web tool's
        imports alone cost about a second of start-up). ``None`` registers them all.
    """
    parser = argparse.ArgumentParser(
        prog="ecg-digitize",
        description="Turn pictures of ECGs into calibrated signals; render and score test pages.")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_demo(sub)
    _add_render(sub)
    _add_evaluate(sub)
    for name, module_name, adder in _PLUGINS:
        if command is not None and command != name:
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that part of the toolkit is not installed / not written yet
            raise
        getattr(module, adder)(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``ecg-digitize``; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_command_in(argv)).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except EcgDigitizeError as exc:
        print(f"ecg-digitize: error: {exc}", file=sys.stderr)
        return 2


def _command_in(argv: list[str]) -> str | None:
    """The subcommand named in ``argv`` when it is a known one, else None (load every part)."""
    first = next((a for a in argv if not a.startswith("-")), None)
    known = _BUILTIN + tuple(name for name, _, _ in _PLUGINS)
    if first not in known or any(a in ("-h", "--help") for a in argv[:argv.index(first)]):
        return None
    return first


# ------------------------------------------------------------------ demo
def _add_demo(sub) -> None:
    p = sub.add_parser("demo", help="render a simulated 12-lead page, digitize it, score it")
    p.add_argument("--out", default="ecg-digitize-demo", help="output folder (default: %(default)s)")
    p.add_argument("--layout", default="3x4+II")
    p.add_argument("--preset", default="clean", choices=["clean", "scan", "photo"])
    p.add_argument("--dpi", type=float, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run_demo)


def run_demo(args) -> int:
    from .demo import demo

    demo(out=args.out, layout=args.layout, preset=args.preset, dpi=args.dpi, seed=args.seed)
    return 0


# ------------------------------------------------------------------ render
def _add_render(sub) -> None:
    p = sub.add_parser("render", help="write a data set of rendered pages with ground truth")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--source", default="simulate", choices=["simulate", "ptbxl"])
    p.add_argument("-n", "--n", type=int, default=10, help="number of pages (default: %(default)s)")
    p.add_argument("--folds", default=None, help="PTB-XL strat_folds, e.g. '10' or '1-8'")
    p.add_argument("--layout", default="3x4+II", help="a layout, or several separated by ';'")
    p.add_argument("--preset", default="clean", help="clean, scan, photo, or several separated by ','")
    p.add_argument("--dpi", type=float, default=200)
    p.add_argument("--paper-speed", type=float, default=25)
    p.add_argument("--gain", type=float, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--image-format", default="png", choices=["png", "jpg"])
    p.set_defaults(func=run_render)


def run_render(args) -> int:
    from .synth.dataset import render_dataset

    folds = _parse_folds(args.folds) if args.folds else None
    summary = render_dataset(
        args.out, source=args.source, n=args.n, folds=folds, layouts=args.layout.split(";"),
        presets=args.preset.split(","), dpi=args.dpi, paper_speed=args.paper_speed, gain=args.gain,
        seed=args.seed, image_format=args.image_format)
    print(f"wrote {summary['n_pages']} pages to {summary['out']}")
    return 0


def _parse_folds(text: str) -> list[int]:
    folds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        folds.extend(range(int(lo), int(hi or lo) + 1))
    return folds


# ------------------------------------------------------------------ evaluate
def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="score digitized WFDB records against the truth")
    p.add_argument("pred", help="a WFDB record (.hea) or a folder of them")
    p.add_argument("truth", help="the matching truth record or folder (matched by name)")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    p.set_defaults(func=run_evaluate)


def run_evaluate(args) -> int:
    from .metrics import score_record, score_records
    from .record import Record

    pairs = _match_records(Path(args.pred), Path(args.truth))
    if not pairs:
        print("no matching records found", file=sys.stderr)
        return 1
    loaded = []
    for name, pred_path, truth_path in pairs:
        est, tru = Record.from_wfdb(pred_path), Record.from_wfdb(truth_path)
        loaded.append((est, tru))
        if not args.quiet:
            print(f"\n== {name}")
            print(score_record(est, tru).table())
    summary = score_records(loaded)
    print(f"\n{len(loaded)} records, {summary['n_leads']} leads: mean SNR {summary['snr']:.2f} dB, "
          f"Pearson r {summary['pearson_r']:.3f}, RMSE {summary['rmse']:.3f} mV")
    return 0


def _match_records(pred: Path, truth: Path) -> list[tuple[str, Path, Path]]:
    def index(path: Path) -> dict[str, Path]:
        if path.is_dir():
            return {p.stem: p.with_suffix("") for p in sorted(path.rglob("*.hea"))}
        base = path.with_suffix("") if path.suffix == ".hea" else path
        return {base.name: base}

    pred_idx, truth_idx = index(pred), index(truth)
    if len(pred_idx) == 1 and len(truth_idx) == 1:
        (pn, pp), (_, tp) = next(iter(pred_idx.items())), next(iter(truth_idx.items()))
        return [(pn, pp, tp)]
    return [(name, pred_idx[name], truth_idx[name]) for name in sorted(pred_idx) if name in truth_idx]


if __name__ == "__main__":
    sys.exit(main())
