"""The markdown the chapters write for their measured doc tables (``tests/markdown_tables.py`` reads them
back and compares them with the documents).

>>> print(markdown_table(["d", "entropy"], [[4, "1.234"], [16, "0.987"]]), end="")
| d | entropy |
|---|---|
| 4 | 1.234 |
| 16 | 0.987 |
"""

from __future__ import annotations


def markdown_table(header, rows) -> str:
    """A GitHub markdown table: ``header`` cells, then one line per row (cells printed with ``str``), as
    the chapters' measured doc tables are written (``tests/markdown_tables.py`` reads them back)."""
    line = lambda cells: "| " + " | ".join(str(c) for c in cells) + " |"      # noqa: E731
    return "\n".join([line(header), "|" + "---|" * len(header), *map(line, rows)]) + "\n"
