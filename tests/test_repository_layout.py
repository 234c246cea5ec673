"""The repository's top level keeps the fixed shape its users were promised (nothing installed by hand,
no build output, no stray downloads committed beside the chapters)."""

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

ALLOWED = {
    ".ci", ".gitignore", ".streamlit", "README.md", "app.py", "common", "pyproject.toml", "requirements.txt",
    "tests", "01-perceptron", "02-multi-layer-perceptron", "03-backpropagation", "04-optimization",
    "05-regularization", "06-cnn", "07-normalization-residual", "08-rnn", "09-attention", "10-transformer",
}


def test_the_top_level_holds_only_the_fixed_shape():
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    top = {line.split("/", 1)[0] for line in out.splitlines() if line}
    assert top <= ALLOWED, f"tracked at the top level but not part of its shape: {sorted(top - ALLOWED)}"


def test_chapter_modules_hold_one_idea_each():
    """No chapter module over 500 lines (split by idea: 04's race, landscapes, gradient noise, EWMA…). The
    playgrounds are pages, one tab per idea, and the training scripts are commands; both are left out."""
    long = {}
    for path in sorted(ROOT.glob("[01][0-9]-*/*.py")):
        if path.stem.endswith("_playground") or path.stem.startswith("train_"):
            continue
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > 500:
            long[str(path.relative_to(ROOT))] = n
    assert long == {}
