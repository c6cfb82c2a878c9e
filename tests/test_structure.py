"""The code's shape: short functions, the digitizer free of the image branch, no
package reaching into another's private names."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ecg_digitize", "classifiers")
MAX_FUNCTION_LINES = 100


def _modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            yield ".".join(parts), path, path.name == "__init__.py"


MODULES = list(_modules())


def _imports(name: str, path: Path, is_package: bool):
    """``(module imported, names imported from it)`` of every import in a module, relative
    imports resolved."""
    here = name.split(".") if is_package else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            yield target, [a.name for a in node.names]


def _owner(module: str) -> str:
    """The package a module belongs to: ecg_digitize's subpackages (digitizer, neural,
    web, batch, synth) are packages of their own; classifiers is one package."""
    parts = module.split(".")
    if parts[0] == "ecg_digitize" and len(parts) > 1 and (ROOT / "ecg_digitize" / parts[1]).is_dir():
        return ".".join(parts[:2])
    return parts[0]


def test_no_function_is_longer_than_a_screenful():
    long = []
    for name, path, _ in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{name}.{node.name}: {n} lines")
    assert not long, long


def test_the_digitizer_does_not_import_the_image_branch():
    found = [f"{name} imports {target}" for name, path, pkg in MODULES if name.startswith("ecg_digitize.digitizer")
             for target, _ in _imports(name, path, pkg) if target.startswith("ecg_digitize.neural")]
    assert not found, found


@pytest.mark.parametrize("name, path, is_package", MODULES, ids=[m[0] for m in MODULES])
def test_no_private_names_of_another_package(name, path, is_package):
    owner = _owner(name)
    bad = []
    for target, names in _imports(name, path, is_package):
        if not target.startswith(PACKAGES) or _owner(target) == owner:
            continue
        private_module = any(p.startswith("_") and not p.startswith("__") for p in target.split("."))
        private_names = [n for n in names if n.startswith("_") and not n.startswith("__")]
        if private_module or private_names:
            bad.append(f"{target} {private_names or ''}".strip())
    assert not bad, f"{name} imports private parts of another package: {bad}"
