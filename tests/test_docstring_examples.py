"""The examples in the package's docstrings run and print what they say."""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import classifiers
import ecg_digitize

MODULES = sorted(m.name for package in (ecg_digitize, classifiers)
                 for m in pkgutil.walk_packages(package.__path__, package.__name__ + "."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples of {name} failed"
