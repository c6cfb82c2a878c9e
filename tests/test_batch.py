"""Reliability of batch conversion with the real digitize() on rendered pages (100 dpi).

A mixed archive (good PNG/JPEG pages, a 3-page PDF, a 2-page TIFF, corrupt and truncated
JPEGs, a zero-byte file, a text file named .png, a blank page, a decompression bomb):
every good page converted, every bad one in the manifest with its reason. A CLI run
killed with SIGKILL mid-way and resumed equals an uninterrupted run. The dask engine on
a loopback LocalCluster gives the same records as the local one.
"""
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ecg_digitize import Record
from ecg_digitize.batch import convert, read_manifest
from ecg_digitize.cli import main
from ecg_digitize.synth import render

digitizer = pytest.importorskip("ecg_digitize.digitizer", reason="digitize() has not landed yet")
DPI = 100
REPO = Path(__file__).resolve().parent.parent


def _page(sim12, seed, layout="3x4+II"):
    sig, fs, leads = sim12
    # A different stretch of the simulated ECG per seed, so every page differs.
    img, _ = render(np.roll(sig, 700 * seed, axis=0), fs, leads, layout=layout, dpi=DPI, seed=seed)
    return Image.fromarray(img)


def _bomb_png(path: Path, side: int = 100_000) -> None:
    """A 100k x 100k 1-bit PNG of a few hundred bytes: 10^10 pixels if decoded."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 4096)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def _outputs(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != "manifest.jsonl"}


@pytest.fixture(scope="module")
def archive(tmp_path_factory, sim12):
    root = tmp_path_factory.mktemp("archive")
    (root / "2019" / "ward A").mkdir(parents=True)
    _page(sim12, 1).save(root / "2019" / "ward A" / "good1.png")
    _page(sim12, 2, "6x2").save(root / "2019" / "good2.png")
    _page(sim12, 3).save(root / "good3.jpg", quality=92)
    pdf = [_page(sim12, 4 + k, layout) for k, layout in enumerate(["3x4+II", "12x1", "6x2"])]
    pdf[0].save(root / "three.pdf", save_all=True, append_images=pdf[1:], resolution=DPI)
    tif = [_page(sim12, 7), _page(sim12, 8, "12x1")]
    tif[0].save(root / "two.tif", save_all=True, append_images=tif[1:], compression="tiff_lzw")
    # the bad ones
    jpeg = (root / "good3.jpg").read_bytes()
    (root / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 3])
    (root / "garbage.jpg").write_bytes(jpeg[:20] + os.urandom(3000))
    (root / "empty.png").write_bytes(b"")
    (root / "letter.png").write_text("Dear colleague, please find the ECG attached.\n" * 20)
    Image.new("RGB", (1169, 827), "white").save(root / "blank.png")
    _bomb_png(root / "bomb.png")
    (root / "readme.txt").write_text("not a page")
    return root


GOOD = {"2019/ward A/good1", "2019/good2", "good3", "three_p001", "three_p002", "three_p003",
        "two_p001", "two_p002"}
BAD = {"truncated.jpg": "ImageReadError", "garbage.jpg": "ImageReadError", "empty.png": "ImageReadError",
       "letter.png": "ImageReadError", "bomb.png": "ImageReadError"}


@pytest.fixture(scope="module")
def local_run(archive, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "converted"
    summary = convert([archive], out, workers=2, formats="wfdb,json,csv", progress=False)
    return summary, out


def test_mixed_archive_good_pages_converted_bad_ones_explained(local_run):
    summary, out = local_run
    rows = read_manifest(out)
    by_name = {Path(r["input"]).name + (f"#{r['page']}" if r["n_pages"] > 1 else ""): r for r in rows}
    ok = {r["output"] for r in rows if r["status"] == "ok"}
    assert ok == GOOD, [(r["input"], r["message"]) for r in rows if r["status"] != "ok"]
    for name, error in BAD.items():
        assert by_name[name]["status"] == "failed" and by_name[name]["error"] == error, by_name[name]
        assert by_name[name]["message"]
    assert "bomb" in by_name["bomb.png"]["message"] or "limit" in by_name["bomb.png"]["message"]
    assert by_name["blank.png"]["status"] == "failed"
    assert by_name["blank.png"]["error"] in ("NotAnEcgError", "CalibrationError", "LayoutError")
    assert by_name["readme.txt"]["status"] == "skipped"
    assert (summary.ok, summary.failed, summary.skipped) == (8, 6, 1)
    assert all(r["seconds"] > 0 and r["quality"] is not None for r in rows if r["status"] == "ok")
    # every record is complete in every format and readable by wfdb
    for name in GOOD:
        rec = Record.from_wfdb(out / name)
        assert rec.n_samples > 1000 and np.isfinite(rec.signal).any()
        assert (out / f"{name}.json").is_file() and (out / f"{name}.csv").is_file()
    assert not (out / ".ecg-digitize").exists()


def test_every_page_of_pdf_and_tiff_is_its_own_record(local_run):
    _, out = local_run
    recs = {name: Record.from_wfdb(out / name) for name in GOOD if "_p00" in name}
    for doc, n in (("three", 3), ("two", 2)):
        pages = [recs[f"{doc}_p00{k}"] for k in range(1, n + 1)]
        assert [r.source.rsplit("#", 1)[1] for r in pages] == [f"page={k}" for k in range(n)]
        for a, b in zip(pages, pages[1:]):  # each page really read (pages differ in layout/content)
            assert a.signal.shape != b.signal.shape or not np.allclose(a.signal, b.signal, equal_nan=True)


@pytest.fixture(scope="module")
def small(archive, tmp_path_factory, sim12):
    """A quicker archive for the kill and dask tests (no 200-dpi PDF), and its local run."""
    root = tmp_path_factory.mktemp("small")
    for k in range(6):
        _page(sim12, 10 + k, ["3x4+II", "6x2", "12x1"][k % 3]).save(root / f"page{k}.png")
    for name in ("two.tif", "empty.png", "garbage.jpg"):
        (root / name).write_bytes((archive / name).read_bytes())
    ref = tmp_path_factory.mktemp("small-ref") / "converted"
    convert([root], ref, workers=2, formats="wfdb,json", progress=False)
    return root, ref


def test_killed_run_resumes_to_the_same_outputs(small, tmp_path, capsys, kill_and_check_no_orphans):
    root, ref = small
    out = tmp_path / "converted"
    cmd = [sys.executable, "-m", "ecg_digitize.cli", "batch", str(root), "--out", str(out),
           "--workers", "2", "--quiet"]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = out / "manifest.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and (
            not manifest.exists() or sum(1 for line in manifest.open() if '"ok"' in line) < 2):
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be killed"
    kill_and_check_no_orphans(proc)
    n_good = sum(1 for r in read_manifest(ref) if r["status"] == "ok")
    assert 2 <= sum(1 for r in read_manifest(out) if r["status"] == "ok") < n_good
    # a plain rerun refuses (exit code 2); a resumed one finishes the job (in-process: faster)
    assert main(cmd[3:]) == 2 and "--resume" in capsys.readouterr().err
    assert main(cmd[3:] + ["--resume"]) == 0
    assert "already done" in capsys.readouterr().out
    assert _outputs(out) == _outputs(ref)  # same files, same bytes, no partial or temporary file
    rows = read_manifest(out)
    def states(rows):
        return sorted(str((r["input"].rsplit("/", 1)[1], r["page"], r["status"], r["error"])) for r in rows)

    assert states(rows) == states(read_manifest(ref))


def test_dask_engine_on_loopback_cluster_matches_local(small, tmp_path):
    distributed = pytest.importorskip("distributed")
    root, ref = small
    out = tmp_path / "dask-out"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", processes=True,
                                  dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        summary = convert([root / "page0.png", root / "page1.png", root / "garbage.jpg"], out,
                          scheduler=cluster.scheduler_address, progress=False)
    assert summary.engine == "dask" and (summary.ok, summary.failed) == (2, 1)
    expected = {k: v for k, v in _outputs(ref).items() if k.startswith(("page0.", "page1."))}
    assert _outputs(out) == expected
    assert all(r["worker"] for r in read_manifest(out) if r["status"] != "skipped")


