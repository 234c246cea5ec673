"""Drive a Streamlit page the way a learner does: every tab, every button, every control.

Shared by the slow browser test (``tests/test_browser_smoke.py``: press every button except Stop and open
every tab on every page, no exception anywhere) and the control-latency benchmark
(``tests/benchmarks/bench_controls.py``: time from moving a control to the settled page).
"""

from __future__ import annotations

import time

APP = '[data-testid="stApp"]'
IDLE = f'{APP}[data-test-script-state="notRunning"]'
SKIP_BUTTONS = ("Stop",)


def wait_idle(page, timeout_ms: float = 240_000) -> float:
    """Wait until the script has run to the end (and stays so for a moment); returns the seconds waited.

    Streamlit sets ``data-test-script-state`` on the app root; a rerun triggered by a widget flips it to
    "running" within a few milliseconds, so a short settle window avoids reading the old idle state."""
    t0 = time.perf_counter()
    page.wait_for_selector(f'{APP}[data-test-connection-state="CONNECTED"]', timeout=timeout_ms)
    while True:
        page.wait_for_selector(IDLE, timeout=timeout_ms)
        time.sleep(0.05)
        if page.locator(IDLE).count():
            return time.perf_counter() - t0


def exceptions(page) -> list[str]:
    loc = page.locator('[data-testid="stException"]')
    return [loc.nth(i).inner_text()[:1500] for i in range(loc.count())]


def tab_labels(page) -> list[str]:
    tabs = page.locator('[data-testid="stTab"]')
    return [tabs.nth(i).inner_text().strip() for i in range(tabs.count())]


def open_tab(page, label: str) -> float:
    page.locator('[data-testid="stTab"]', has_text=label).first.click()
    return wait_idle(page)


def button_labels(page) -> list[str]:
    """Labels of the visible buttons the page drew (not the navigation, not expanders)."""
    loc = page.locator('[data-testid="stButton"] button:visible, [data-testid="stFormSubmitButton"] button:visible')
    return [loc.nth(i).inner_text().strip() for i in range(loc.count())]


def press(page, label: str) -> float:
    """Click the first visible button with this label; seconds until the page is idle again."""
    loc = page.locator('[data-testid="stButton"] button:visible, [data-testid="stFormSubmitButton"] button:visible')
    target = loc.filter(has_text=label).first
    t0 = time.perf_counter()
    target.click()
    wait_idle(page)
    return time.perf_counter() - t0


def press_everything(page, url: str, skip=SKIP_BUTTONS, log=None) -> dict[str, float]:
    """Open ``url``, then in every tab press every button not yet pressed on this page (except ``skip``),
    asserting no exception after each step. Returns seconds per "tab / button" step."""
    times = {}
    page.goto(url, timeout=60_000)
    times["(load)"] = wait_idle(page)
    assert not exceptions(page), (url, "on load", exceptions(page))
    pressed = set()
    tabs = tab_labels(page) or [None]
    for tab in tabs:
        if tab is not None:
            times[f"tab {tab}"] = open_tab(page, tab)
            assert not exceptions(page), (url, tab, exceptions(page))
        for label in button_labels(page):
            if not label or label in skip or label in pressed:
                continue
            pressed.add(label)
            times[f"{tab} / {label}"] = press(page, label)
            if log:
                log(f"{url} {tab} / {label}: {times[f'{tab} / {label}']:.1f} s")
            assert not exceptions(page), (url, tab, label, exceptions(page))
            if tab is not None and tab_labels(page):
                open_tab(page, tab)      # a button may rerun the page onto another tab
    return times
