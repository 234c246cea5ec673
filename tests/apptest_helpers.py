"""Small helpers the playground AppTests share."""

from __future__ import annotations

import pytest


def metrics(at) -> dict[str, str]:
    """Every ``st.metric`` on the page, label → shown value."""
    return {m.label: m.value for m in at.metric}


def open_tab(at, label: str, key: str = "tab"):
    """Switch the page's ``st.tabs(key=...)`` to ``label``, rerun, and require that nothing raised."""
    at.session_state[key] = label
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def page_fixture(page: str):
    """An ``at`` fixture for a test module: ``page`` run once (caches cleared), nothing raised.

    Bind it under the name the tests ask for: ``at = page_fixture(PAGE)``.
    """
    @pytest.fixture
    def at(app_test):
        at = app_test(page).run()
        assert not at.exception
        return at
    return at


class Keys:
    """A page's widget keys, prefixed by its chapter as ``PageState(prefix)`` does: ``Keys("ch06")("epochs")``
    is ``"ch06_epochs"``; ``.tab(at, label)`` opens one of the page's tabs (``key=f"{prefix}_tab"``)."""

    def __init__(self, prefix: str):
        self.prefix = prefix

    def __call__(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    def tab(self, at, label: str):
        return open_tab(at, label, key=self("tab"))


WIDGET_KINDS = ("button", "checkbox", "multiselect", "number_input", "radio", "select_slider", "selectbox", "slider",
                "toggle", "text_input")


def widget_labels(at, tabs, tab_key: str) -> list[str]:
    """Every widget's label, collected tab by tab (only the open tab is drawn), once per widget key."""
    seen = {}
    for tab in tabs:
        open_tab(at, tab, key=tab_key)
        for kind in WIDGET_KINDS:
            for w in getattr(at, kind):
                seen.setdefault(w.key, w.label)
    return list(seen.values())


def repeated(labels) -> list[str]:
    """The labels that appear more than once, sorted."""
    return sorted(lab for lab in set(labels) if labels.count(lab) > 1)


#: the element types that cost the browser a rebuild when they move: charts, images and tables
VIEW_TYPES = ("arrow_vega_lite_chart", "vega_lite_chart", "imgs", "dataframe", "arrow_data_frame", "table")


def placed_views(at) -> dict[bytes, tuple[int, ...]]:
    """Each chart, image and table on the page (its whole message) → its place in the element tree. Streamlit's
    browser side matches elements by place: one that keeps its content but changes place is built again."""
    out = {}

    def walk(node, path):
        for i, child in getattr(node, "children", {}).items():
            here = path + (i,)
            if getattr(child, "type", None) in VIEW_TYPES and hasattr(child, "proto"):
                out[child.proto.SerializeToString()] = here
            walk(child, here)
    walk(at._tree, ())
    return out


def moved_views(before: dict, after: dict) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """(old place, new place) of every view ``placed_views`` found unchanged in both, somewhere else."""
    return [(p, after[m]) for m, p in before.items() if m in after and after[m] != p]
