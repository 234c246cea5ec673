"""Reading the tables of the deep-dives and READMEs, so tests can recompute every number in them.

A table to be checked follows a marker comment: ``<!-- check: name -->`` (chapters 01–03),
``<!-- table: name -->`` (chapters 06–07) or any ``<!-- marker -->`` registered in a chapter's
``DOC_TABLES`` (``marked_table``; chapters 08–09), which ``compare_tables`` checks against the
function that writes it.
"""

from __future__ import annotations

import importlib
import re

from common.checkpoints import compute_path  # noqa: F401  (the training scripts record it)

_NUMBER = r"-?\d+(?:\.\d+)?(?:e[-+]\d+)?"


def _rows_after(text: str, marker: str) -> list[list[str]]:
    """Every row (header and separator included) of the markdown table right after ``marker``."""
    if marker not in text:
        raise AssertionError(f"no {marker} in the document")
    rows = []
    for line in text.split(marker, 1)[1].strip().splitlines():
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def check_table(text: str, name: str) -> list[list[str]]:
    """The body rows after ``<!-- check: name -->``, cells stripped, the typographic minus as ``-``."""
    return [[c.replace("−", "-") for c in row] for row in _rows_after(text, f"<!-- check: {name} -->")[2:]]


def table_dicts(text: str, name: str) -> list[dict[str, str]]:
    """The body rows after ``<!-- table: name -->`` as dicts keyed by the header cells."""
    rows = _rows_after(text, f"<!-- table: {name} -->")
    return [dict(zip(rows[0], r)) for r in rows[2:]]


def marked_dicts(text: str, marker: str) -> list[dict[str, str]]:
    """The body rows of the table right after the comment ``marker`` (e.g. ``"<!-- notebook-exercises -->"``,
    a table that is not a measurement) as dicts keyed by the header cells."""
    rows = _rows_after(text, marker)
    return [dict(zip(rows[0], r)) for r in rows[2:]]


def numbers(cell: str) -> list[float]:
    """Every number written in a cell, e.g. ``"0.99 (epoch 12)"`` → ``[0.99, 12.0]``."""
    return [float(v) for v in re.findall(_NUMBER, cell)]


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def table_rows(table: str) -> list[list[str]]:
    """A markdown table's text (as a ``DOC_TABLES`` function returns it): header first, no separator."""
    rows = [_cells(line) for line in table.strip().splitlines()]
    return [rows[0], *rows[2:]]


def marked_table(text: str, marker: str) -> list[list[str]]:
    """The table after ``<!-- marker -->``, header first, without the separator line."""
    rows = _rows_after(text, f"<!-- {marker} -->")
    return [rows[0], *rows[2:]]


def compare_tables(shown: list[list[str]], expected: list[list[str]], tol: float | dict = 0.0,
                   rel: float = 0.0) -> list[str]:
    """The cells where a document's table differs from the one the code writes now: text must match
    exactly; a cell with numbers may differ by ``tol + rel·|expected|`` in each number (0, 0: exactly;
    ``tol`` may be ``{column index: tol}``). Returns one line per mismatch (empty when they agree)."""
    if len(shown) != len(expected):
        return [f"{len(shown)} rows in the document, {len(expected)} from the code"]
    bad = []
    for i, (a, b) in enumerate(zip(shown, expected)):
        if len(a) != len(b):
            bad.append(f"row {i}: {len(a)} cells in the document, {len(b)} from the code")
            continue
        for j, (x, y) in enumerate(zip(a, b)):
            if x == y:
                continue
            nx, ny = numbers(x), numbers(y)
            t = tol.get(j, 0.0) if isinstance(tol, dict) else tol
            same_text = re.sub(_NUMBER, "#", x) == re.sub(_NUMBER, "#", y)
            if (t or rel) and same_text and len(nx) == len(ny) and all(
                    abs(u - v) <= t + rel * abs(v) for u, v in zip(nx, ny)):
                continue
            bad.append(f"row {i} {a[0]!r}, column {j}: document {x!r}, code {y!r}")
    return bad


#: Other BLAS and SIMD code paths than this machine's (SkylakeX OpenBLAS kernels, NumPy's AVX-512 loops),
#: chosen when NumPy loads: how the docs measure which of their trained numbers depend on the CPU.
OTHER_KERNELS = {
    "Haswell": {"OPENBLAS_CORETYPE": "Haswell", "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"},
    "Sandybridge": {"OPENBLAS_CORETYPE": "Sandybridge", "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"},
}

#: The code path the trained tables of chapters 08–09 were written with (``compute_path()`` there). On it
#: they are compared exactly; on another, within the tolerance the chapter's doc test states.
DOCS_WRITTEN_ON = "SkylakeX/AVX512_SPR"


def doc_tables_under(folder, module: str, env: dict) -> tuple[str, dict]:
    """Every table of ``module``'s ``DOC_TABLES`` (in the chapter ``folder``), written in a fresh process
    with the environment ``env``: (its ``compute_path()``, {marker: rows as ``table_rows`` gives})."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path
    folder = Path(folder)
    script = (f"import json, markdown_tables, {module}; print(json.dumps({{'path': markdown_tables.compute_path(), "
              f"'tables': {{m: f() for (_, m), f in {module}.DOC_TABLES.items()}}}}))")
    path = os.pathsep.join([str(folder.parent), str(folder), str(Path(__file__).resolve().parent)])
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=900,
                         env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": path, **env})
    got = json.loads(out.stdout.splitlines()[-1])
    return got["path"], {m: table_rows(t) for m, t in got["tables"].items()}


def largest_changes(a: list[list[str]], b: list[list[str]]) -> list[float]:
    """Per row, the largest difference between the numbers of two versions of a table (0 where equal)."""
    return [max([abs(u - v) for x, y in zip(ra, rb) for u, v in zip(numbers(x), numbers(y))], default=0.0)
            for ra, rb in zip(a[1:], b[1:])]


def missing_references(text: str, modules: dict) -> list[str]:
    """The code a document points to that is not there. Two forms are read: ```file.py: Name.attr```
    (``modules`` maps the file to its module, e.g. ``{"common/recurrent.py": common.recurrent}``) and a
    bare ```Class.attr```, which must exist in one of ``modules``. Raises if the text names no code."""
    refs = re.findall(r"`([\w-]+/\w+\.py):\s+([\w.]+)`", text)
    bare = [n for n in re.findall(r"`(_?[A-Z]\w*\.\w+)`", text) if not n.endswith((".md", ".py"))]
    if not refs and not bare:
        raise AssertionError("the document names no function")
    missing = []
    for path, name in refs:
        obj = modules.get(path)
        for part in name.split("."):
            obj = getattr(obj, part, None)
        if obj is None:
            missing.append(f"{path}: {name}")
    for name in bare:
        cls, attr = name.split(".")
        if not any(hasattr(getattr(m, cls, None), attr) for m in modules.values()):
            missing.append(name)
    return missing

_PROSE_NUMBER = r"[-−]?\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+−]?\d+)?"


def prose_numbers(text: str, template: str) -> list[float]:
    """The numbers a sentence of the document states where ``template`` has ``{}``, e.g.
    ``prose_numbers(doc, "seed 42 after {} epochs")`` → ``[1838.0]``.

    Runs of whitespace (a line break in the middle of the sentence) match any whitespace, the typographic
    minus reads as ``-``, ``1,000`` as 1000. The sentence must occur exactly once, so an edited number or
    a reworded sentence fails loudly instead of matching something else."""
    parts = [r"\s+".join(re.escape(w) for w in re.split(r"\s+", p)) for p in template.split("{}")]
    pattern = f"({_PROSE_NUMBER})".join(parts)
    found = re.findall(pattern, text)
    if len(found) != 1:
        raise AssertionError(f"{template!r} occurs {len(found)} times in the document, expected once")
    values = found[0] if isinstance(found[0], tuple) else (found[0],)
    return [float(v.replace("−", "-").replace(",", "")) for v in values]


def code_references(text: str) -> list[tuple[str, str]]:
    """Every ``path/file.py: Name.attr`` reference written in backticks in a document, as (path, name)."""
    return re.findall(r"`((?:[\w-]+/)*[\w-]+\.py): ([A-Za-z_][\w.]*)`", text)


def resolved_code(path: str, name: str):
    """What a ``path.py: Name.attr`` reference names: its module imported, then each attribute in turn
    (``AttributeError`` where one is not there)."""
    obj = importlib.import_module(path[:-3].replace("/", "."))
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def assert_code_references_resolve(text: str, at_least: int, kinds: tuple = (dict, tuple)) -> None:
    """``text`` names at least ``at_least`` pieces of code as ```path.py: Name```, none broken across lines,
    and each is a function or class (callable) or one of ``kinds`` (a table, a constant tuple…)."""
    refs = code_references(text)
    assert len(refs) >= at_least
    assert text.count(".py: ") == len(refs)                        # none broken across lines
    for path, name in refs:
        obj = resolved_code(path, name)
        assert callable(obj) or isinstance(obj, kinds), (path, name)


# ------------------------------------------------------------------ numbers stated in prose, one sentence each

def stated(text: str, pattern: str) -> list[str]:
    """The numbers (as written) that the regex ``pattern``'s groups capture at its one match in ``text``."""
    found = re.findall(pattern, text, flags=re.S)
    assert len(found) == 1, f"{pattern!r} matches {len(found)} times in the document (expected once)"
    return list(found[0]) if isinstance(found[0], tuple) else [found[0]]


def value(s: str) -> float:
    """A number as the docs write it (thousands commas, a typographic minus, a trailing ``%`` or ``×``)."""
    return float(s.replace(",", "").replace("−", "-").rstrip("%×"))


def assert_as_printed(measured: float, written: str, what: str = "", slack: float = 0.0) -> None:
    """``written`` is ``measured`` rounded to the digits shown: |measured − written| ≤ half a unit of the
    last printed digit (plus ``slack``)."""
    mantissa = written.replace(",", "").rstrip("%×").split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    unit = 10.0 ** -decimals * (10.0 ** int(written.split("e")[1]) if "e" in written else 1.0)
    assert abs(measured - value(written)) <= 0.5 * unit * (1 + 1e-9) + slack, \
        f"{what}: the text says {written}, measured {measured!r}"


def assert_table_is_written(text: str, marker: str, write) -> None:
    """The table under ``<!-- marker -->`` in ``text`` is exactly what ``write()`` returns."""
    from regenerate_doc_tables import table_block
    start, end = table_block(text, marker)
    assert text[start:end].rstrip("\n") == write().rstrip("\n"), marker


def assert_check_tables_registered(docs: dict, doc_tables) -> None:
    """Every ``<!-- check: name -->`` table of ``docs`` ({document: text}) is registered in ``doc_tables``."""
    for doc, text in docs.items():
        for marker in re.findall(r"<!-- (check: [\w-]+) -->", text):
            assert (doc, marker) in doc_tables, (doc, marker)
