"""The chapter notebooks: committed without outputs, one per chapter with exercises, each exercise a
shipped blank plus its checker, and (slow) every notebook executed top to bottom in a Jupyter kernel of
this interpreter, blanks as shipped: it must run, and every checker must say "not done yet".

The kernel is started from a kernelspec written to a temporary folder (``sys.executable -m
ipykernel_launcher``), so the test needs no registered kernel and works in a fresh virtual environment.
It runs on the bundled MNIST sample (offline, no ``P2T_MNIST_DIR``, an empty cache).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import time

import pytest

from common.exercises import EXERCISES, for_chapter
from tests.markdown_tables import marked_dicts
from tests.conftest import IN_CI, ROOT

NOTEBOOKS = sorted(ROOT.glob("[0-9][0-9]-*/*.ipynb"))
#: Seconds a notebook may take here; the aim is "about a minute" on a 2-core machine, with room for a
#: busy one (the measured times are printed by -s and kept in the report).
TIME_LIMIT = 150


def _chapter(path) -> int:
    return int(path.parent.name[:2])


def _load(path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _code(nb) -> list[str]:
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in nb["cells"] if c["cell_type"] == "code"]


def test_one_notebook_per_chapter_with_exercises():
    chapters = sorted({e.chapter for e in EXERCISES})
    assert [_chapter(p) for p in NOTEBOOKS] == chapters, [str(p.relative_to(ROOT)) for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_notebook_is_committed_without_outputs(path):
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    assert nb["nbformat"] == 4
    for i, cell in enumerate(nb["cells"]):
        assert "execution" not in cell.get("metadata", {}), f"cell {i} keeps execution timings"
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"cell {i} has outputs"
            assert cell["execution_count"] is None, f"cell {i} has an execution count"
    assert "widgets" not in nb["metadata"]
    tracked = subprocess.run(["git", "ls-files", "--error-unmatch", str(path)], cwd=ROOT, capture_output=True)
    if tracked.returncode == 0:                         # the committed copy too, where this is a git checkout
        staged = subprocess.run(["git", "show", f":{path.relative_to(ROOT).as_posix()}"], cwd=ROOT,
                                capture_output=True, text=True, encoding="utf-8")
        if staged.returncode == 0:
            committed = json.loads(staged.stdout)
            assert all(c.get("outputs", []) == [] and c.get("execution_count") is None
                       for c in committed["cells"] if c["cell_type"] == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_every_relative_link_in_a_notebook_resolves(path):
    nb = _load(path)
    text = "".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                   for c in nb["cells"] if c["cell_type"] == "markdown")
    links = [t for t in re.findall(r"\]\(([^)\s]+)\)", text) if not t.startswith(("http", "#", "mailto:"))]
    missing = [t for t in links if not (path.parent / t.split("#")[0]).exists()]
    assert not missing, f"links that lead nowhere from {path.parent.name}/: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_every_exercise_is_a_marked_blank_and_a_checker_call(path):
    code = _code(_load(path))
    source = "\n".join(code)
    for ex in for_chapter(_chapter(path)):
        blank = [c for c in code if re.search(rf"^def {ex.function}\(", c, re.M)]
        assert len(blank) == 1, f"{ex.function} should be defined in one cell"
        body = blank[0]
        assert "✏️ your code here" in body and "raise NotImplementedError" in body
        assert "return" not in body, f"{ex.function}'s cell must ship blank"
        assert f"{ex.checker.__name__}({ex.function});" in source
    imported = set()
    for cell in code:
        tree = ast.parse("\n".join(l for l in cell.splitlines() if not l.lstrip().startswith("%")))
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "common.exercises"
                     for a in n.names}
    assert imported == {e.checker.__name__ for e in for_chapter(_chapter(path))}
    assert "solutions" not in source, "never the reference solutions"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_the_chapter_readme_lists_its_exercises_and_their_parts_of_the_post(path):
    text = (path.parent / "README.md").read_text(encoding="utf-8")
    rows = marked_dicts(text, "<!-- notebook-exercises -->")
    want = [{"exercise": e.label, "you write": f"`{e.function}`", "what it is": e.task, "part of the post": e.part}
            for e in for_chapter(_chapter(path))]
    assert rows == want
    assert f"]({path.name})" in text
    solutions = "ch" + path.parent.name.replace("-", "_") + ".py"
    assert f"(../common/exercises/solutions/{solutions})" in text and (ROOT / "common" / "exercises" / "solutions" / solutions).is_file()


def test_the_readme_says_how_to_open_the_notebooks():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Notebooks with exercises that check themselves", 1)[1].split("\n## ", 1)[0]
    assert f"{len(EXERCISES)} in all" in section
    assert "pip install notebook" in section and "ipykernel" in section
    requirements = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    assert re.search(r"^ipykernel>=", requirements, re.M) and re.search(r"^nbclient>=", requirements, re.M)


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory):
    """A Jupyter data folder holding one kernelspec: this interpreter's ipykernel."""
    for module in ("nbclient", "nbformat", "ipykernel"):
        try:
            __import__(module)
        except ImportError as exc:
            if IN_CI:
                pytest.fail(f"{module} is needed in CI (requirements.txt): {exc}")
            pytest.skip(f"{module} is not installed: pip install -r requirements.txt")
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "data" / "kernels" / "p2t-python"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (perceptrons-to-transformers tests)", "language": "python"}))
    for sub in ("runtime", "ipython", "cache"):
        (root / sub).mkdir()
    return root


def _kernel_env(monkeypatch, root) -> None:
    """What the kernel inherits: this checkout first on the path, the bundled sample, inline figures."""
    monkeypatch.setenv("JUPYTER_PATH", str(root / "data"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(root / "runtime"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("IPYTHONDIR", str(root / "ipython"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(root / "cache"))          # no cached real MNIST
    monkeypatch.setenv("P2T_MNIST_OFFLINE", "1")
    monkeypatch.delenv("P2T_MNIST_DIR", raising=False)
    monkeypatch.delenv("MPLBACKEND", raising=False)                      # the kernel's inline backend
    monkeypatch.setenv("PYTHONPATH", str(ROOT))


def execute(nb, cwd, root, monkeypatch, timeout: int = 300):
    from nbclient import NotebookClient

    _kernel_env(monkeypatch, root)
    client = NotebookClient(nb, kernel_name="p2t-python", timeout=timeout, allow_errors=False,
                            resources={"metadata": {"path": str(cwd)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def _texts(cell) -> str:
    out = []
    for o in cell.get("outputs", []):
        if o["output_type"] == "stream":
            out.append(o["text"] if isinstance(o["text"], str) else "".join(o["text"]))
        elif o["output_type"] in ("display_data", "execute_result"):
            t = o.get("data", {}).get("text/plain", "")
            out.append(t if isinstance(t, str) else "".join(t))
    return "\n".join(out)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_notebook_runs_top_to_bottom_with_the_blanks_as_shipped(path, kernel_dir, monkeypatch):
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    seconds = execute(nb, path.parent, kernel_dir, monkeypatch)
    print(f"{path.relative_to(ROOT)}: {seconds:.1f} s")
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert not errors
    everything = "\n".join(_texts(c) for c in nb.cells if c.cell_type == "code")
    assert "Traceback" not in everything
    for ex in for_chapter(_chapter(path)):
        cell = next(c for c in nb.cells if c.cell_type == "code" and f"{ex.checker.__name__}({ex.function})" in c.source)
        assert f"… {ex.function}: not done yet" in _texts(cell), _texts(cell)
    figures = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert figures >= 1, "the walkthrough shows at least one plot"
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    if re.search(r"^from common import .*\bfit\b", source, re.M) and "verbose=False" not in source:
        assert re.search(r"epoch 1/\d+ · train loss", everything), "fit shows its progress in a notebook"
    assert seconds < TIME_LIMIT, f"{path.name} took {seconds:.0f} s"


def _readme_notebook_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Use the modules in a notebook", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_the_readmes_notebook_example_shows_progress(kernel_dir, monkeypatch, tmp_path):
    """Tried as a new user would: the README's example, pasted into a notebook, trains with a progress
    line per epoch instead of in silence."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell(_readme_notebook_example())])
    execute(nb, ROOT, kernel_dir, monkeypatch)
    shown = _texts(nb.cells[0])
    assert re.search(r"epoch 1/3 · train loss \d\.\d{4} · train acc .* · val acc", shown), shown
    assert "epoch 3/3" in shown and "█" not in shown       # each epoch's bar was replaced by its summary line
