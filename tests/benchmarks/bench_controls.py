"""Latency of the controls that do not train: from moving a control to the settled page, in Chromium.

    python tests/benchmarks/bench_controls.py              # every chapter page in the hub
    python tests/benchmarks/bench_controls.py 04 08 --moves 5

For every page, in every tab, each visible slider (and select-slider) is moved a step with the keyboard,
each radio group switched to another option, each checkbox toggled, each selectbox set to the next option
(and back) with the keyboard, ``--moves`` times; the time from the input to the page's script being idle
again is recorded. A change that starts no rerun within 1.5 s (the value did not change: a slider at its
end, a select at its last option, a setting inside a form, which waits for its button: chapter 10's
sampling settings) is not counted and is named on stderr. Prints the median and p95 per page
and overall. Target (issue "Speed"): p95 ≤ 300 ms on a quiet machine for the controls that do not train.

Buttons are not pressed here (they train); ``tests/test_browser_smoke.py`` presses those. A few controls
train a model themselves when moved (``TRAINS_ON_CHANGE``: chapter 01's perceptron, chapter 02's line,
chapter 03's XOR net, each retrained from the new setting, with a progress bar): they are timed too and
reported on their own line, outside the target.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from browser_crawl import APP, exceptions, open_tab, tab_labels, wait_idle  # noqa: E402
from common.chapters import CHAPTERS  # noqa: E402
from test_browser_smoke import CHROMIUM, streamlit_server  # noqa: E402

RUNNING = f'{APP}[data-test-script-state="running"]'

#: per chapter, the labels of the controls whose change trains a model on the page (not a button)
TRAINS_ON_CHANGE = {
    "01": {"Data set", "Learning rate η", "Max epochs"},                   # perceptron.fit on the new setting
    "02": {"The line's training epochs"},                                   # the line of "A line vs the MLP"
    "03": {"Learning rate η", "Epochs (full-batch steps)", "Architecture", "Hidden activation",
           "Initialisation of the XOR net"},                                # the XOR net of the sidebar
}


# Each mutation's new state is the next one's old state (the last one's: the attribute now). Reading the
# attribute in the callback alone would miss a rerun that starts and ends within one callback (a fast one:
# both records would read "notRunning"), and such a change would not be counted at all.
WATCH = """() => {
  if (window.__runs) return;
  window.__runs = [];
  const root = document.querySelector('[data-testid="stApp"]');
  new MutationObserver((records) => {
    const now = performance.now();
    records.forEach((r, i) => window.__runs.push([now, i + 1 < records.length ? records[i + 1].oldValue
                                                        : root.getAttribute('data-test-script-state')]));
  }).observe(root, {attributes: true, attributeOldValue: true, attributeFilter: ['data-test-script-state']});
}"""


# A change that reruns only a fragment can start and end within one render of the page, and then the app's
# script state never reads "running" in the DOM. The WebSocket tells such a rerun apart from no rerun: the
# browser sent the change (a message out) and the server answered; the change ends at the first paint after
# the last answer.
WIRE = """(() => { window.__wire = []; const W = window.WebSocket;
  window.WebSocket = class extends W { constructor(...a) { super(...a);
    this.addEventListener('message', () => { const t = performance.now(); window.__wire.push(['in', t]);
      requestAnimationFrame(() => setTimeout(() => window.__wire.push(['painted', performance.now(), t]), 0)); });
    const send = this.send.bind(this);
    this.send = (d) => { window.__wire.push(['out', performance.now()]); send(d); }; } }; })();"""


def wire_rerun(page, t0: float, quiet: float = 0.3):
    """Seconds from ``t0`` to the paint after the server's last answer to a message the browser sent after
    ``t0`` (once nothing has arrived for ``quiet`` s), or None if the browser sent nothing."""
    while True:
        log = page.evaluate("(t0) => window.__wire.filter(r => r[1] > t0)", t0)
        outs = [r[1] for r in log if r[0] == "out"]
        if not outs:
            return None
        ins = [r[1] for r in log if r[0] == "in" and r[1] > outs[0]]
        now = page.evaluate("performance.now()")
        if ins and now - ins[-1] > 1000 * quiet:
            painted = [r[1] for r in log if r[0] == "painted" and r[2] >= ins[-1]]
            if painted:
                return (painted[0] - t0) / 1000
        time.sleep(0.02)


def timed(page, act, patience: float = 1.5):
    """Milliseconds-accurate seconds from the change to the end of the rerun it started (the browser's own
    clock, from a MutationObserver on the app's script state), or None if no rerun started. ``act()`` gets
    the control ready (focus it, open its list) and returns the one input that changes it, which the clock
    starts on: Playwright's own steps before it are not the page's latency."""
    page.evaluate(WATCH)
    change = act()
    t0 = page.evaluate("performance.now()")
    change()
    deadline = time.perf_counter() + 240
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        runs = page.evaluate("(t0) => window.__runs.filter(r => r[0] > t0)", t0)
        began = [r for r in runs if r[1] == "running"]
        if began:
            done = [r for r in runs if r[1] == "notRunning" and r[0] > began[0][0]]
            if done:
                return (done[0][0] - t0) / 1000
        elif time.perf_counter() - started > patience:
            return wire_rerun(page, t0)       # a fragment's rerun that left no trace in the DOM, or None
        time.sleep(0.01)
    raise TimeoutError("the rerun did not finish in 240 s")


def controls(page):
    """(kind, locator) for each visible value control in the main area and the sidebar."""
    out = []
    sliders = page.locator('[data-testid="stSlider"] input:visible')
    out += [("slider", sliders.nth(i)) for i in range(sliders.count())]
    radios = page.locator('[data-testid="stRadio"]:visible')
    out += [("radio", radios.nth(i)) for i in range(radios.count())]
    boxes = page.locator('[data-testid="stCheckbox"] label:visible')
    out += [("checkbox", boxes.nth(i)) for i in range(boxes.count())]
    selects = page.locator('[data-testid="stSelectbox"]:visible')
    out += [("select", selects.nth(i)) for i in range(selects.count())]
    return out


def move(page, kind, loc, k):
    """Get the control ready for its ``k``-th change; returns the input that makes the change."""
    if kind == "slider":
        loc.focus()
        return lambda: page.keyboard.press("ArrowRight" if k % 2 == 0 else "ArrowLeft")
    if kind == "radio":
        options = loc.locator('label')
        return options.nth((k + 1) % options.count()).click
    if kind == "checkbox":
        return loc.click
    # A select: open its list (the keyboard first: a click on the input did not open some; then a click on
    # the input, then on the box), closing any list the previous control left open.
    opts = page.locator('[role="option"]')
    for attempt in range(3):
        page.keyboard.press("Escape")
        box = loc.locator('input').first
        if attempt == 0:
            box.focus()
            page.keyboard.press("ArrowDown")
        else:
            (box if attempt == 1 else loc).click(timeout=5_000)
        try:
            opts.first.wait_for(state="visible", timeout=3_000)
            break
        except Exception:
            continue
    else:
        raise TimeoutError("its list of options did not open (keyboard, a click on the input, a click on the box)")
    # The next option (or the previous one, on odd moves: back again) highlighted with the keyboard, and Enter
    # to choose it: clicking an option timed out in long lists.
    page.keyboard.press("ArrowDown" if k % 2 == 0 else "ArrowUp")
    return lambda: page.keyboard.press("Enter")


def measure_page(browser, url, moves: int) -> list[tuple[float, str]]:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.add_init_script(WIRE)
    times = []        # (seconds, "tab · control")
    try:
        page.goto(url, timeout=60_000)
        wait_idle(page)
        for tab in tab_labels(page) or [None]:
            if tab is not None:
                open_tab(page, tab)
            found = controls(page)
            for kind, loc in found:
                name = f"{tab or 'page'} · {label(kind, loc)}"
                for k in range(moves):
                    try:
                        t = timed(page, lambda: move(page, kind, loc, k))
                        if t is not None:
                            times.append((t, name))
                        else:             # nothing changed (e.g. a select already at its last option)
                            print(f"  no rerun after a change of {kind} {name!r}: not counted", file=sys.stderr)
                    except Exception as e:        # a control that vanished after a rerun: skip it
                        print(f"  skipped {kind} {name!r}: {type(e).__name__}: {str(e).splitlines()[0][:160]}",
                              file=sys.stderr)
                        break
            if exceptions(page):
                raise SystemExit(f"{url} {tab}: {exceptions(page)[0]}")
    finally:
        page.close()
    return times


def label(kind, loc) -> str:
    """The control's label as the page shows it (its first line), for the slowest-controls list."""
    try:
        box = loc.locator('xpath=ancestor::*[@data-testid="stSlider"]') if kind == "slider" else loc
        return box.first.inner_text(timeout=2_000).strip().splitlines()[0][:40]
    except Exception:             # a label is a convenience; a control without one is still timed
        return kind


def p95(v):
    return sorted(v)[min(len(v) - 1, int(round(0.95 * (len(v) - 1))))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("chapters", nargs="*")
    ap.add_argument("--moves", type=int, default=3)
    ap.add_argument("--slowest", type=int, default=3, help="slowest changes listed per page")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright
    allt, trained = [], []
    with streamlit_server("app.py", ROOT) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        for ch in CHAPTERS:
            if not ch.playground.exists() or (args.chapters and f"{ch.number:02d}" not in args.chapters):
                continue
            timed_controls = measure_page(browser, f"{url}/{ch.url_path}", args.moves)
            trains = TRAINS_ON_CHANGE.get(f"{ch.number:02d}", set())
            views = [(s, n) for s, n in timed_controls if n.split(" · ", 1)[-1] not in trains]
            training = [(s, n) for s, n in timed_controls if n.split(" · ", 1)[-1] in trains]
            allt += [s for s, _ in views]
            trained += [s for s, _ in training]
            if not timed_controls:
                print(f"{ch.label:34s} no control started a rerun", flush=True)
            if views:
                print(f"{ch.label:34s} {summary([s for s, _ in views])}", flush=True)
                slowest = sorted(views, reverse=True)[:args.slowest]
                print("    slowest: " + "; ".join(f"{n} {1000 * s:.0f} ms" for s, n in slowest), flush=True)
            if training:
                print(f"{'':34s} controls that train: {summary([s for s, _ in training])}", flush=True)
        browser.close()
    if allt:
        print(f"\nall pages, controls that do not train: {summary(allt)}")
    if trained:
        print(f"all pages, controls that train when moved: {summary(trained)}")
    return 0


def summary(t) -> str:
    return (f"{len(t):4d} changes · median {1000 * statistics.median(t):6.0f} ms · p95 {1000 * p95(t):6.0f} ms · "
            f"max {1000 * max(t):6.0f} ms")


if __name__ == "__main__":
    raise SystemExit(main())
