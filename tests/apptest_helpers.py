"""Small helpers the playground AppTests share."""

from __future__ import annotations


def metrics(at) -> dict[str, str]:
    """Every ``st.metric`` on the page, label → shown value."""
    return {m.label: m.value for m in at.metric}


def open_tab(at, label: str, key: str = "tab"):
    """Switch the page's ``st.tabs(key=...)`` to ``label``, rerun, and require that nothing raised."""
    at.session_state[key] = label
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at
