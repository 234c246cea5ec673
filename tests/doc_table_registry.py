"""The check that a chapter's ``DOC_TABLES`` registry covers every measured table its documents show
(the chapter 08 and 09 tests share it)."""

from __future__ import annotations

import re

#: marked tables that are not measurements: the notebook-exercises table lists exercises
#: (tests/test_notebooks.py reads it)
NOT_MEASURED = ("notebook-exercises",)


def doc_markers(text: str) -> list[str]:
    """The markers of the measured tables in a document: each ``<!-- marker -->`` right above a table."""
    return [m for m in re.findall(r"<!-- (.+?) -->\n\|", text) if m not in NOT_MEASURED]


def assert_every_table_registered(docs: dict[str, str], doc_tables) -> None:
    """Every document in ``docs`` (name → text) has measured tables, and exactly the markers that
    ``doc_tables`` (keys ``(document, marker)``) registers for it."""
    for doc, text in docs.items():
        markers = doc_markers(text)
        assert markers and sorted(markers) == sorted(m for d, m in doc_tables if d == doc), doc
