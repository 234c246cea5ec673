"""Every example in a docstring runs: ``common``'s modules and every chapter module. A module whose source
holds an example must run at least one (so an example the doctest collector cannot see fails here too)."""

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import common
from common.chapters import CHAPTERS

ROOT = Path(common.__file__).resolve().parent.parent
COMMON = ["common"] + [f"common.{m.name}" for m in pkgutil.iter_modules(common.__path__)]
CHAPTER_MODULES = sorted({p.stem for ch in CHAPTERS for p in (ROOT / ch.folder).glob("*.py")
                          if not p.stem.endswith("_playground") and not p.stem.startswith(("train_", "_"))})


@pytest.mark.parametrize("name", COMMON + CHAPTER_MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    if ">>>" in Path(module.__file__).read_text():
        assert result.attempted > 0, f"{name} has examples that doctest did not run"
