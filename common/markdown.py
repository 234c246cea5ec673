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


def table_registry():
    """``(DOC_TABLES, doc_table)`` for a chapter module: ``@doc_table(document, marker)`` above a function
    that writes one measured table registers it in ``DOC_TABLES`` ({(document, marker): function}), which
    ``python -m tests.regenerate_doc_tables`` and the chapter's doc tests read.

    >>> DOC_TABLES, doc_table = table_registry()
    >>> @doc_table("README.md", "table: demo")
    ... def demo_table():
    ...     return markdown_table(["x"], [[1]])
    >>> list(DOC_TABLES), DOC_TABLES["README.md", "table: demo"] is demo_table
    ([('README.md', 'table: demo')], True)
    """
    tables: dict = {}

    def doc_table(document: str, marker: str):
        def register(fn):
            if (document, marker) in tables:
                raise ValueError(f"{document} {marker!r} is registered twice")
            tables[document, marker] = fn
            return fn
        return register

    return tables, doc_table
