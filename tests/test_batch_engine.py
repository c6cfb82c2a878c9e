"""Batch engine mechanics with a fast fake digitize(): naming, manifest, resume, isolation.

The fake reads a one-line text file: ``BAD`` raises ImageReadError, ``CRASH`` kills its
worker process, ``SLOW`` sleeps, ``HANG`` sleeps far longer than any test waits; anything else becomes a small Record. The real
digitize() is exercised in test_batch.py.
"""
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from ecg_digitize import Record
from ecg_digitize.batch import (BatchError, OutputPathError, convert, iter_pages, read_manifest,
                                record_name, write_record)
from ecg_digitize.batch.cli import run_batch
from ecg_digitize.batch.engines import LocalEngine
from ecg_digitize.batch.writer import safe_path
from ecg_digitize.cli import build_parser, main
from ecg_digitize.errors import ImageReadError

FAKE = "test_batch_engine:fake_digitize"
HERE = Path(__file__).parent


def fake_digitize(image, page=0, **kwargs):
    path = str(image)
    text = Path(path).read_text()
    if "BAD" in text:
        raise ImageReadError("corrupt image", path)
    if text.startswith("WRITE_THEN_DIE ") and not Path(path + ".tried").exists():
        # The worker commits the page's files, then dies before it can report them.
        out, name = text.split(" ", 2)[1:]
        write_record(Record(np.zeros((50, 1)), fs=50, leads=["II"]), out, name, ["wfdb", "json"])
        Path(path + ".tried").write_text("")
        os._exit(3)
    if "CRASH" in text:
        os._exit(3)  # a segfault or OOM kill, as far as the pool can tell
    if "SLOW" in text:
        time.sleep(0.3)
    if "HANG" in text:
        Path(path + ".pid").write_text(str(os.getpid()))
        time.sleep(600)
    value = float(sum(map(ord, text))) / 1000
    return Record(np.full((50, 2), value + page), fs=50, leads=["I", "II"], layout="fake",
                  quality={"overall": 0.75}, source=path)


def _archive(root: Path, n_good: int = 6, extra: dict | None = None) -> Path:
    (root / "ward" / "2019").mkdir(parents=True)
    for i in range(n_good):
        (root / "ward" / "2019" / f"scan {i}.png").write_text(f"page {i}")
    for name, text in (extra or {}).items():
        (root / name).write_text(text)
    (root / ".DS_Store").write_text("hidden")
    return root


def _outputs(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != "manifest.jsonl"}


# ------------------------------------------------------------------ names and paths
def test_record_names_mirror_inputs_and_never_escape(tmp_path):
    assert record_name("a/b/c.png") == "a/b/c"
    assert record_name("../../../etc/cron.d/x.png") == "etc/cron.d/x"
    assert record_name("/abs/x y.tif", page=2, n_pages=3) == "abs/x_y_p003"
    assert record_name("..") == "page"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "link").symlink_to(outside)  # a symlink inside out pointing out of it
    with pytest.raises(OutputPathError):
        safe_path(out, "link/x")
    assert safe_path(out, "a/x") == out.resolve() / "a" / "x"


def test_inputs_stream_folders_globs_and_pages(tmp_path):
    from PIL import Image

    root = _archive(tmp_path / "in", 2, {"notes.txt": "x"})
    def pages(n):  # fresh images per file: PIL keeps encoder state on an image it saved
        return [Image.new("RGB", (200, 100), c) for c in ("white", "grey", "black")[:n]]

    first, *rest = pages(3)
    first.save(root / "three.pdf", save_all=True, append_images=rest)
    first, *rest = pages(2)
    first.save(root / "two.tif", save_all=True, append_images=rest)
    found = [(p.rel, p.page, p.n_pages, p.skip_reason) for p in iter_pages([root])]
    assert found == [("notes.txt", 0, 1, "unsupported file type '.txt'"),
                     ("three.pdf", 0, 3, None), ("three.pdf", 1, 3, None), ("three.pdf", 2, 3, None),
                     ("two.tif", 0, 2, None), ("two.tif", 1, 2, None),
                     ("ward/2019/scan 0.png", 0, 1, None), ("ward/2019/scan 1.png", 0, 1, None)]
    globbed = [p.rel for p in iter_pages([str(root / "**" / "*.png")])]
    assert sorted(globbed) == ["ward/2019/scan 0.png", "ward/2019/scan 1.png"]
    assert [p.rel for p in iter_pages([root], pattern="*.pdf")] == ["three.pdf"] * 3
    # the output folder inside an input is never scanned
    assert not [p for p in iter_pages([root], exclude=[root / "ward"]) if "ward" in p.rel]


# ------------------------------------------------------------------ writer
def test_writer_is_atomic_and_refuses_to_overwrite(tmp_path, monkeypatch):
    rec = Record(np.zeros((50, 1)), fs=50, leads=["II"])
    write_record(rec, tmp_path, "a/r", ["wfdb", "json", "csv"])
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["r.csv", "r.dat", "r.hea", "r.json"]
    from ecg_digitize.batch import OutputExistsError

    with pytest.raises(OutputExistsError):
        write_record(rec, tmp_path, "a/r", ["json"])

    def broken(self, directory, name):
        (Path(directory) / f"{name}.dat").write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(Record, "to_wfdb", broken)
    with pytest.raises(OSError):
        write_record(rec, tmp_path, "b/r", ["json", "wfdb"])
    assert not (tmp_path / "b").exists()  # nothing half-written under its final name
    assert not any((tmp_path / ".ecg-digitize" / "tmp").iterdir())


# ------------------------------------------------------------------ convert
def test_failures_are_isolated_and_logged(tmp_path):
    root = _archive(tmp_path / "in", 4, {"bad.jpg": "BAD", "crash.png": "CRASH", "readme.txt": "hi"})
    out = tmp_path / "out"
    summary = convert([root], out, digitize_fn=FAKE, workers=2, progress=False)
    assert (summary.ok, summary.failed, summary.skipped) == (4, 2, 1)
    assert summary.failures == {"ImageReadError": 1, "WorkerCrashError": 1}
    rows = {Path(r["input"]).name: r for r in read_manifest(out)}
    assert rows["bad.jpg"]["status"] == "failed" and rows["bad.jpg"]["message"] == "corrupt image"
    assert rows["crash.png"]["error"] == "WorkerCrashError"
    assert rows["readme.txt"]["status"] == "skipped"
    assert rows["scan 0.png"]["output"] == "ward/2019/scan_0" and rows["scan 0.png"]["quality"] == 0.75
    assert sorted(_outputs(out)) == [f"ward/2019/scan_{i}.{s}" for i in range(4) for s in ("dat", "hea", "json")]
    assert Record.from_wfdb(out / "ward/2019/scan_2").layout == "fake"


def test_a_page_whose_worker_died_after_writing_is_run_again(tmp_path):
    # A page in flight when the pool broke may have committed its files before it could
    # report; its second run must not refuse them as an earlier run's.
    out = tmp_path / "out"
    root = _archive(tmp_path / "in", 2, {"late.png": f"WRITE_THEN_DIE {out} late"})
    summary = convert([root], out, digitize_fn=FAKE, workers=2, progress=False)
    assert (summary.ok, summary.failed) == (3, 0), summary.failures
    assert Record.from_wfdb(out / "late").layout == "fake"


def test_inputs_sharing_an_output_name_fail_before_any_work(tmp_path):
    root = _archive(tmp_path / "in", 1, {"a.png": "page a", "a.jpg": "page a again"})
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "ward").mkdir()
    (tmp_path / "out" / "ward" / "2019").mkdir()
    (tmp_path / "out" / "ward" / "2019" / "scan_0.json").write_text("{}")  # not this run's
    for overwrite in (False, True):
        summary = convert([root], tmp_path / "out", digitize_fn=FAKE, workers=1, progress=False,
                          overwrite=overwrite)
        rows = {Path(r["input"]).name: r for r in read_manifest(tmp_path / "out")}
        second = rows["a.png"] if rows["a.jpg"]["status"] == "ok" else rows["a.jpg"]
        assert second["error"] == "OutputExistsError" and "taken by" in second["message"]
        assert (rows["scan 0.png"]["status"] == "ok") == overwrite
        assert (summary.ok, summary.failed) == (1 + overwrite, 2 - overwrite)


def test_rerun_refused_then_resume_and_overwrite(tmp_path, capsys):
    root = _archive(tmp_path / "in", 3, {"bad.png": "BAD"})
    out = tmp_path / "out"
    convert([root], out, digitize_fn=FAKE, workers=1, progress=False)
    with pytest.raises(BatchError, match="--resume"):
        convert([root], out, digitize_fn=FAKE, workers=1, progress=False)
    # the CLI turns that into exit code 2, with the reason on stderr
    assert main(["batch", str(root), "--out", str(out), "--quiet"]) == 2
    assert "--resume" in capsys.readouterr().err
    before = _outputs(out)
    again = convert([root], out, digitize_fn=FAKE, workers=1, progress=False, resume=True)
    assert (again.ok, again.failed, again.already_done) == (0, 1, 3)  # failures are retried
    assert _outputs(out) == before
    redo = convert([root], out, digitize_fn=FAKE, workers=1, progress=False, overwrite=True)
    assert (redo.ok, redo.failed) == (3, 1)
    assert len(read_manifest(out, latest=False)) == 4  # overwrite starts a new manifest


def test_config_errors(tmp_path):
    with pytest.raises(BatchError, match="format"):
        convert([tmp_path], tmp_path / "o", formats="wfdb,edf", digitize_fn=FAKE)
    with pytest.raises(BatchError, match="also an input"):
        convert([tmp_path], tmp_path, digitize_fn=FAKE)
    with pytest.raises(BatchError, match="exclude"):
        convert([tmp_path], tmp_path / "o", resume=True, overwrite=True, digitize_fn=FAKE)
    args = build_parser().parse_args(["batch", str(tmp_path), "--out", str(tmp_path / "o"), "--engine", "dask",
                                      "--scheduler", "tcp://127.0.0.1:1", "--quiet"])
    assert args.func is run_batch


def test_local_engine_bounds_tasks_in_flight():
    pulled = []

    def tasks():
        for i in range(40):
            pulled.append(i)
            yield -i

    with LocalEngine(workers=2, max_in_flight=3) as eng:
        results = []
        for task, result in eng.run(abs, tasks()):
            results.append(result)
            assert len(pulled) - len(results) <= 3  # never more than 3 submitted and unfinished
    assert sorted(results) == list(range(40))


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").exists() and b") Z" in Path(f"/proc/{pid}/stat").read_bytes()


def test_a_page_over_its_timeout_fails_and_its_worker_is_replaced(tmp_path):
    root = _archive(tmp_path / "in", 5, {"hang.png": "HANG", "slow.png": "SLOW"})
    out = tmp_path / "out"
    t0 = time.perf_counter()
    summary = convert([root], out, digitize_fn=FAKE, workers=2, progress=False, timeout=3)
    assert time.perf_counter() - t0 < 60
    assert (summary.ok, summary.failed) == (6, 1) and summary.failures == {"PageTimeoutError": 1}
    rows = {Path(r["input"]).name: r for r in read_manifest(out)}
    assert rows["hang.png"]["error"] == "PageTimeoutError"
    assert "3 s per-page limit" in rows["hang.png"]["message"]
    assert all(r["status"] == "ok" for name, r in rows.items() if name != "hang.png")
    assert _gone(int((root / "hang.png.pid").read_text()))  # killed, not left sleeping


def test_timeout_applies_while_pages_are_isolated_after_a_crash(tmp_path):
    root = _archive(tmp_path / "in", 2, {"crash.png": "CRASH", "hang.png": "HANG"})
    out = tmp_path / "out"
    summary = convert([root], out, digitize_fn=FAKE, workers=2, progress=False, timeout=3)
    assert summary.ok == 2
    assert summary.failures == {"WorkerCrashError": 1, "PageTimeoutError": 1}


def test_timeout_option_reaches_convert(tmp_path, monkeypatch):
    seen = {}
    monkeypatch.setattr(sys.modules["ecg_digitize.batch.convert"], "convert", lambda *a, **k: seen.update(k))
    main(["batch", str(tmp_path), "--out", str(tmp_path / "o"), "--timeout", "7", "--quiet"])
    assert seen["timeout"] == 7.0
    assert main(["batch", str(tmp_path), "--out", str(tmp_path / "o"), "--timeout", "-1"]) == 2
    with pytest.raises(BatchError):
        convert([tmp_path], tmp_path / "o2", digitize_fn=FAKE, timeout=float("nan"))


def test_kill_then_resume_equals_uninterrupted_run(tmp_path, kill_and_check_no_orphans):
    root = _archive(tmp_path / "in", 0)
    for i in range(12):
        (root / f"p{i:02d}.png").write_text(f"SLOW {i}")
    out_ref, out = tmp_path / "ref", tmp_path / "out"
    convert([root], out_ref, digitize_fn=FAKE, workers=2, progress=False)
    script = textwrap.dedent(f"""
        from ecg_digitize.batch import convert
        convert([{str(root)!r}], {str(out)!r}, digitize_fn={FAKE!r}, workers=2, progress=False)
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), str(HERE.parent), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    manifest = out / "manifest.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and (not manifest.exists() or len(manifest.read_text().splitlines()) < 4):
        time.sleep(0.05)
    kill_and_check_no_orphans(proc)
    killed_rows = len(read_manifest(out))
    assert 4 <= killed_rows < 12, "the run should have been killed mid-way"
    summary = convert([root], out, digitize_fn=FAKE, workers=2, progress=False, resume=True)
    assert summary.ok + summary.already_done == 12
    assert _outputs(out) == _outputs(out_ref)  # same files, same bytes, nothing partial left
    rows = read_manifest(out)
    assert len(rows) == 12 and all(r["status"] == "ok" for r in rows)
    assert not (out / ".ecg-digitize").exists()


def test_torn_manifest_line_is_ignored(tmp_path):
    root = _archive(tmp_path / "in", 2)
    out = tmp_path / "out"
    convert([root], out, digitize_fn=FAKE, workers=1, progress=False)
    with (out / "manifest.jsonl").open("a") as fh:
        fh.write('{"input": "/x.png", "pa')  # a kill in the middle of a row
    convert([root], out, digitize_fn=FAKE, workers=1, progress=False, resume=True)
    lines = (out / "manifest.jsonl").read_text().splitlines()
    assert sum(1 for line in lines if line.startswith('{"input": "/x.png", "pa')) == 1
    assert all(json.loads(line) for line in lines if not line.startswith('{"input": "/x.png", "pa'))


# ------------------------------------------------------------------ --classify
def test_classify_outputs_are_summarised_for_the_manifest(monkeypatch):
    import dataclasses
    import types

    import pandas as pd

    from ecg_digitize.batch.convert import _classify_available
    from ecg_digitize.batch.worker import classify_record

    @dataclasses.dataclass
    class Rhythm:
        label: str
        probabilities: dict

    fake = types.ModuleType("classifiers")
    fake.classify_rhythm = lambda rec: Rhythm("A", {"N": np.float32(0.1), "A": np.float32(0.9)})
    fake.detect_mi = lambda rec: (_ for _ in ()).throw(ValueError("too short"))
    fake.classify_beats = lambda rec: pd.DataFrame({"label": ["N", "N", "V"]})
    monkeypatch.setitem(sys.modules, "classifiers", fake)
    rec = Record(np.zeros((500, 1)), fs=500, leads=["II"])
    out = classify_record(rec)
    assert out["rhythm"] == {"label": "A", "probabilities": {"N": pytest.approx(0.1), "A": pytest.approx(0.9)}}
    assert out["mi"] == {"error": "ValueError", "message": "too short"}
    assert out["beats"] == {"n_beats": 3, "counts": {"N": 2, "V": 1}}
    json.dumps(out)  # manifest-ready
    assert _classify_available() == "on"
    monkeypatch.setitem(sys.modules, "classifiers", None)  # not installed
    assert _classify_available().startswith("skipped: classifiers are not installed")
