"""``ecg-digitize digitize`` on real-world file names, many images at once (issue #27, items 1, 4, 7)."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from ecg_digitize import Record
from ecg_digitize.cli import main

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pages(tmp_path_factory, sim12):
    """Two rendered pages saved under awkward scan names, and a file that is no image."""
    from ecg_digitize.synth import render

    folder = tmp_path_factory.mktemp("scans")
    sig, fs, leads = sim12
    paths = []
    for i, name in enumerate(["MI(112).png", "page 1.png"]):
        image, _ = render(sig, fs, leads, layout="3x4+II", dpi=100, seed=i)
        cv2.imwrite(str(folder / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        paths.append(folder / name)
    broken = folder / "broken.png"
    broken.write_bytes(b"not an image at all")
    return paths, broken


def test_many_images_in_one_call_named_for_wfdb_past_a_bad_file(tmp_path, pages, capsys):
    (mi, page1), broken = pages
    out = tmp_path / "out"
    rc = main(["digitize", str(mi), str(broken), str(page1), "-o", str(out), "--overlay",
               "--json-signal"])
    assert rc == 1  # one image failed, the others were written
    captured = capsys.readouterr()
    assert "broken.png" in captured.err and "1 of 3" in captured.err
    assert "-> record MI_112" in captured.out and "MI_112.dat" in captured.out
    for name in ("MI_112", "page_1"):
        rec = Record.from_wfdb(out / f"{name}.hea")  # readable by wfdb.rdrecord
        assert len(rec.leads) == 12
        assert cv2.imread(str(out / f"{name}_overlay.png")) is not None
        assert "signal" in json.loads((out / f"{name}.json").read_text())
    assert not list(out.glob("broken*"))


def test_same_stem_twice_gets_two_records(tmp_path, pages):
    (mi, _), _ = pages
    other = tmp_path / "other" / "MI(112).png"
    other.parent.mkdir()
    other.write_bytes(mi.read_bytes())
    out = tmp_path / "out"
    assert main(["digitize", str(mi), str(other), "-o", str(out), "--format", "wfdb"]) == 0
    assert {p.name for p in out.glob("*.hea")} == {"MI_112.hea", "MI_112_2.hea"}


def test_one_image_overlay_file_and_side_by_side(tmp_path, pages):
    (mi, _), _ = pages
    path = tmp_path / "ov.png"
    assert main(["digitize", str(mi), "-o", str(tmp_path), "--format", "csv", "--overlay", str(path),
                 "--overlay-style", "side-by-side"]) == 0
    page, drawn = cv2.imread(str(mi)), cv2.imread(str(path))
    assert drawn.shape[0] == page.shape[0] and drawn.shape[1] > 2 * page.shape[1]


def test_classify_reads_what_digitize_wrote(tmp_path, pages):
    (mi, _), _ = pages
    from classifiers.cli import read_any

    assert main(["digitize", str(mi), "-o", str(tmp_path), "--json-signal"]) == 0
    a, b = read_any(tmp_path / "MI_112.hea"), read_any(tmp_path / "MI_112.json")
    assert a.leads == b.leads and a.signal.shape == b.signal.shape


def test_start_up_imports_only_what_the_command_needs(pages):
    """No web framework for any command but serve, no matplotlib for digitize without a plot."""
    (mi, _), _ = pages
    code = ("import sys, tempfile\n"
            "from ecg_digitize.cli import main\n"
            f"assert main(['digitize', {str(mi)!r}, '-o', tempfile.mkdtemp(), '--overlay']) == 0\n"
            "print(sorted(m for m in ('fastapi', 'matplotlib', 'tensorflow', 'starlette') if m in sys.modules))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         env={**__import__("os").environ, "PYTHONPATH": str(REPO)}, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "[]"
    assert res.stderr == ""
