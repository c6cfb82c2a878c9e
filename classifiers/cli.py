"""``ecg-classify``: run the pretrained classifiers on ECG files.

Reads WFDB records (``.hea``), CSVs written by ``Record.to_csv`` (header ``time,<leads>``)
and Record JSON files written with ``include_signal=True`` (``ecg-digitize digitize
--json-signal``). Prints one row per file, then each file's warnings (leads filled with
zeros, a strip shorter than a model was trained on, ...), and optionally writes the table,
warnings included, as CSV.

Examples
--------
::

    ecg-classify 100.hea page1.csv --out results.csv
    ecg-classify strip.csv --model cinc2017-af
    ecg-classify 100.hea --model mitbih-aami5 --beats beats.csv
    ecg-classify --long-term 119.hea --plot overview.png   # V / F over a whole Holter
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

MODEL_NAMES = ("mitbih-aami5", "cinc2017-af", "ptbxl-mi")


def read_any(path: str | Path):
    """Read a WFDB record, a Record CSV or a Record JSON (with samples) as a ``Record``."""
    from ecg_digitize import Record, RecordFormatError

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".hea", ".dat", ""):
        return Record.from_wfdb(path)
    if suffix == ".csv":
        rec = Record.from_csv(path)
        rec.quality = rec.quality or _sidecar_quality(path)
        return rec
    if suffix == ".json":
        try:
            meta = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise RecordFormatError(f"cannot read JSON: {exc}", str(path)) from exc
        if "signal" not in meta:
            beside = [p.name for p in (path.with_suffix(".hea"), path.with_suffix(".csv")) if p.exists()]
            hint = (f"classify {' or '.join(beside)} beside it instead, or " if beside else "")
            raise RecordFormatError(
                "JSON holds metadata only, no samples: " + hint + "write it with "
                "`ecg-digitize digitize --json-signal` (Record.to_json(include_signal=True))",
                str(path))
        leads = meta.get("leads") or list(meta["signal"])
        sig = np.array([[np.nan if v is None else v for v in meta["signal"][lead]]
                        for lead in leads], dtype=float).T
        return Record(sig, fs=meta["fs"], leads=leads, layout=meta.get("layout", "unknown"),
                      source=str(path), quality=meta.get("quality") or {})
    raise RecordFormatError(f"unsupported file type {suffix!r} (use .hea, .csv or .json)", str(path))


def _sidecar_quality(path: Path) -> dict:
    """The ``quality`` of the Record JSON written beside a CSV (``ecg-digitize digitize``), if any."""
    try:
        return json.loads(path.with_suffix(".json").read_text()).get("quality") or {}
    except (OSError, ValueError, AttributeError):
        return {}


def doubtful_reading_note(quality: dict) -> str | None:
    """A warning where a digitized page's quality verdict is not ``"good"`` (None otherwise).

    Examples
    --------
    >>> doubtful_reading_note({"verdict": "check", "expected_snr_db": 6.2})
    "digitized page: quality verdict 'check' (expected SNR 6.2 dB): these classifications read a doubtful digitization"
    >>> doubtful_reading_note({"verdict": "good", "expected_snr_db": 19.0}) is None
    True
    """
    verdict = (quality or {}).get("verdict")
    if not verdict or verdict == "good":
        return None
    expected = quality.get("expected_snr_db")
    snr = "" if expected is None else f" (expected SNR {expected:.1f} dB)"
    return f"digitized page: quality verdict {verdict!r}{snr}: these classifications read a doubtful digitization"


def classify_file(path: str | Path, models=MODEL_NAMES, beats_rows: list | None = None) -> dict:
    """All requested models on one file, as one flat row (with the digitized page's
    quality ``verdict`` where the file carries one, and a warning when it is not good)."""
    rec = read_any(path)
    row: dict = {"file": str(path), "fs": rec.fs, "leads": " ".join(rec.leads),
                 "duration_s": round(rec.duration, 3)}
    if (rec.quality or {}).get("verdict"):
        row["verdict"] = rec.quality["verdict"]
    doubt = doubtful_reading_note(rec.quality)
    notes: list[str] = [doubt] if doubt else []
    for name in models:
        if name == "mitbih-aami5":
            from .beats import classify_beats

            df = classify_beats(rec)
            counts = df.label.value_counts()
            row["n_beats"] = len(df)
            for c in ("N", "S", "V", "F", "Q"):
                row[f"beats_{c}"] = int(counts.get(c, 0))
            notes += [f"beats: {w}" for w in df.attrs.get("warnings", [])]
            if beats_rows is not None:
                beats_rows.append(df.assign(file=str(path)))
        elif name == "cinc2017-af":
            from .rhythm import classify_rhythm

            res = classify_rhythm(rec)
            row["rhythm"] = res.label
            row.update({f"rhythm_p_{k}": round(v, 4) for k, v in res.probabilities.items()})
            notes += [f"rhythm: {w}" for w in res.warnings]
        elif name == "ptbxl-mi":
            from .mi import detect_mi

            res = detect_mi(rec)
            row["mi"] = res.label
            row["mi_probability"] = round(res.probability, 4)
            notes += [f"MI: {w}" for w in res.warnings]
    row["warnings"] = " | ".join(dict.fromkeys(notes))
    return row


def print_warnings(rows: list[dict], file=None) -> None:
    """Print each row's warnings under the table, one line per warning, named by file.

    Examples
    --------
    >>> print_warnings([{"file": "a.hea", "warnings": "rhythm: only 2.5 s of signal"}])
    <BLANKLINE>
    warnings:
      a.hea: rhythm: only 2.5 s of signal
    """
    noted = [(row["file"], row["warnings"]) for row in rows if row.get("warnings")]
    if not noted:
        return
    file = file or sys.stdout
    print("\nwarnings:", file=file)
    for name, text in noted:
        for note in text.split(" | "):
            print(f"  {name}: {note}", file=file)


def _add_long_term(row: dict, path, plot: str | None, several: bool) -> None:
    """``--long-term``: the whole-recording V / F summary (and overview) into ``row``."""
    from .longterm import long_term_summary

    if plot and several:
        plot = str(Path(plot).with_name(f"{Path(plot).stem}-{Path(path).stem}{Path(plot).suffix}"))
    res = long_term_summary(read_any(path), plot=plot, name=Path(path).stem)
    notes = [row["warnings"]] if row.get("warnings") else []
    row.update({k: v for k, v in res.items() if k != "warnings"})
    row["warnings"] = " | ".join(dict.fromkeys(notes + res["warnings"]))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="ecg-classify", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", help="WFDB .hea, Record .csv or Record .json files")
    p.add_argument("--model", action="append", choices=MODEL_NAMES,
                   help="model to run (repeat for several; default: all shipped)")
    p.add_argument("--out", help="write the table as CSV here")
    p.add_argument("--beats", help="also write the per-beat table (mitbih-aami5) as CSV here")
    p.add_argument("--long-term", action="store_true",
                   help="count V / F beats over the whole recording (segment_long_term: image "
                        "and beat routes); alone, no other model runs unless --model is given")
    p.add_argument("--plot", help="with --long-term: write the overview picture (time in rows, "
                                  "V / F in colour) here; several files get -<file stem> added")
    args = p.parse_args(argv)
    if args.plot and not args.long_term:
        p.error("--plot needs --long-term")

    import pandas as pd

    from ecg_digitize import EcgDigitizeError

    from ._models import available_models

    models = args.model or ([] if args.long_term else
                            [m for m in MODEL_NAMES if m in available_models()])
    rows, beats_rows, failed = [], [], 0
    for f in args.files:
        try:
            rows.append(classify_file(f, models, beats_rows if args.beats else None))
            if args.long_term:
                _add_long_term(rows[-1], f, args.plot, several=len(args.files) > 1)
        except (EcgDigitizeError, ValueError, OSError) as exc:
            failed += 1
            where = "" if getattr(exc, "source", None) else f"{f}: "
            print(f"ecg-classify: {where}{exc}", file=sys.stderr)
            rows.append({"file": str(f), "error": str(exc)})
    table = pd.DataFrame(rows)
    shown = pd.DataFrame([r for r in rows if "error" not in r])  # errors went to stderr
    if len(shown):
        with pd.option_context("display.max_columns", None, "display.width", 200):
            print(shown.drop(columns=["warnings"], errors="ignore").to_string(index=False))
    print_warnings(rows)
    if args.out:
        table.to_csv(args.out, index=False)
    if args.beats and beats_rows:
        pd.concat(beats_rows, ignore_index=True).to_csv(args.beats, index=False)
    return 1 if failed == len(args.files) else 0


if __name__ == "__main__":
    sys.exit(main())
