"""A real browser opens the hub and every chapter page: no exception may be shown.

Starts ``streamlit run`` on 127.0.0.1 with a free port and drives Debian's Chromium through Playwright
(``executable_path``; Playwright never downloads a browser here). Skipped where Chromium or Playwright is
missing, except in CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from common.chapters import CHAPTERS, ROOT

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PAGE_TIMEOUT_MS = 240_000


def _require(condition: bool, why: str) -> None:
    if not condition:
        if IN_CI:
            pytest.fail(f"browser smoke test cannot run in CI: {why}")
        pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(script: str, cwd: Path):
    port = _free_port()
    env = {**os.environ, "MPLBACKEND": "Agg", "P2T_MNIST_OFFLINE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode() if proc.poll() is not None else ""
                raise RuntimeError(f"streamlit did not start: {out}")
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)   # the server's own process group, by its PID
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stdout.close()


@pytest.fixture(scope="module")
def browser():
    _require(CHROMIUM is not None, "Chromium is not installed (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api") if not IN_CI else __import__(
        "playwright.sync_api", fromlist=["sync_playwright"])
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                    "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


def _open_and_check(browser, url: str, heading: str) -> None:
    page = browser.new_page()
    try:
        page.goto(url, timeout=60_000)
        page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]', timeout=60_000)
        # Idle: the script has run to the end (Streamlit marks the app root with its script state).
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=PAGE_TIMEOUT_MS)
        exceptions = page.locator('[data-testid="stException"]')
        assert exceptions.count() == 0, f"{url}: {exceptions.first.inner_text()[:2000]}"
        assert heading in page.locator("h1").first.inner_text(), url
    finally:
        page.close()


def _ready_chapters():
    return [ch for ch in CHAPTERS if ch.playground.exists()]


@pytest.mark.slow
def test_hub_home_and_every_chapter_page(browser):
    with streamlit_server("app.py", ROOT) as url:
        _open_and_check(browser, url + "/", "Perceptrons to Transformers")
        for ch in _ready_chapters():
            _open_and_check(browser, f"{url}/{ch.url_path}", ch.label)


@pytest.fixture(scope="module")
def hub_url():
    with streamlit_server("app.py", ROOT) as url:
        yield url


@pytest.mark.slow
@pytest.mark.parametrize("chapter", [ch.folder for ch in _ready_chapters()])
def test_every_tab_and_every_button_of_a_page(browser, hub_url, chapter):
    """As a learner would: open the page in the hub, then in every tab press every button once (Stop
    aside: it only interrupts). No step may show an exception."""
    from browser_crawl import press_everything

    ch = next(c for c in CHAPTERS if c.folder == chapter)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        press_everything(page, f"{hub_url}/{ch.url_path}")      # asserts no exception after every step
    finally:
        page.close()


@pytest.mark.slow
@pytest.mark.parametrize("from_folder", [False, True], ids=["from-root", "from-chapter-folder"])
def test_a_chapter_runs_on_its_own(browser, from_folder):
    ready = _ready_chapters()
    if not ready:
        pytest.skip("no chapter playground exists yet")
    ch = ready[0]
    script, cwd = (ch.playground.name, ch.playground.parent) if from_folder else \
        (str(ch.playground.relative_to(ROOT)), ROOT)
    with streamlit_server(script, cwd) as url:
        _open_and_check(browser, url + "/", ch.label)


@pytest.mark.parametrize("chapter", [ch.folder for ch in CHAPTERS])
def test_chapter_module_imports_from_its_folder(chapter):
    """A notebook started in a chapter folder can import that chapter's module and `common`."""
    ch = next(c for c in CHAPTERS if c.folder == chapter)
    if not (ROOT / ch.folder / f"{ch.module}.py").exists():
        pytest.skip(f"{ch.folder} has no {ch.module}.py yet")
    code = f"import {ch.module}, common; print({ch.module}.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT / ch.folder, capture_output=True, text=True,
                         env={**os.environ, "MPLBACKEND": "Agg"}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()) == ROOT / ch.folder / f"{ch.module}.py"
