"""The hub page: the chapter map it shows and the pages it registers."""

import json
import os

import pytest
import re
from pathlib import Path

from common.chapters import CHAPTERS, ROOT


def test_home_page_shows_the_chapter_map(app_test):
    at = app_test("app.py").run()
    assert not at.exception
    assert at.title[0].value == "Perceptrons to Transformers"
    table = next(m.value for m in at.markdown if m.value.startswith("| chapter |"))
    rows = table.splitlines()[2:]
    assert [r.split(" | ")[0].lstrip("| ") for r in rows] == [ch.label for ch in CHAPTERS]
    expected = ["ready" if ch.playground.exists() else "coming soon" for ch in CHAPTERS]
    assert [r.rstrip(" |").rsplit("| ", 1)[-1] for r in rows] == expected
    for ch in CHAPTERS:
        assert ch.post_url in table


def test_chapter_modules_and_url_paths_are_unique():
    modules = [ch.module for ch in CHAPTERS]
    assert len(set(modules)) == len(modules)
    assert len({ch.url_path for ch in CHAPTERS}) == len(CHAPTERS)
    # No two chapter folders may define a module with the same name: the hub runs them in one process.
    seen = {}
    for ch in CHAPTERS:
        for path in (ROOT / ch.folder).glob("*.py"):
            assert path.name not in seen, f"{path} and {seen[path.name]} share a module name"
            seen[path.name] = path


def test_every_chapter_folder_exists_with_a_readme_linking_its_post():
    for ch in CHAPTERS:
        readme = (ROOT / ch.folder / "README.md").read_text()
        assert ch.post_url in readme, ch.folder


def test_readme_chapter_map_matches_the_catalogue():
    readme = (ROOT / "README.md").read_text()
    for ch in CHAPTERS:
        assert f"[`{ch.folder}`]({ch.folder})" in readme, ch.folder
        assert ch.post_url in readme, ch.folder


def test_readme_gives_the_test_command_that_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = re.search(r"```(?:bash|sh)?\n(.*?)\n```", readme.split("## Run the tests")[0], re.S)
    assert command, "README must open with the set-up commands"
    assert re.search(r"^pytest$", ci, re.M), ".ci/run must run plain `pytest`"


@pytest.mark.slow
def test_every_page_opens_in_the_hub_and_again_after_a_round_trip(app_test):
    """Each chapter page runs inside the hub (its settings kept by keep_widget_state across switches):
    every page opened in turn, then every page again — no exception on either visit. A page that gave a
    button a value key (``PageState.key`` instead of ``button_key``) fails on the second round."""
    at = app_test("app.py").run()
    assert not at.exception
    pages = [str(ch.playground.relative_to(ROOT)) for ch in CHAPTERS if ch.playground.exists()]
    for round_ in ("first", "second"):
        for page in pages:
            at.switch_page(page).run()
            assert not at.exception, (page, round_, [e.value for e in at.exception])


def test_streamlit_config_skips_the_forced_collection_after_every_rerun():
    """``.streamlit/config.toml`` (read by the hub and by every chapter run alone) turns off Streamlit's full
    garbage collection after each rerun: it took longer than most pages' scripts (issue "Speed")."""
    import tomllib
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["runner"]["postScriptGC"] is False
    assert cfg["client"]["toolbarMode"] == "viewer"


@pytest.mark.parametrize("env, expected", [({}, 1), ({"P2T_PAGE_BLAS_THREADS": "2"}, 2),
                                           ({"OPENBLAS_NUM_THREADS": "2"}, 2)])
def test_pages_compute_on_one_blas_thread_unless_told_otherwise(env, expected):
    """Importing common.playground (every page does) sets NumPy's BLAS to one thread; P2T_PAGE_BLAS_THREADS
    sets another count, and a BLAS variable the user set is left to the library. In a fresh interpreter."""
    import subprocess
    import sys
    from common._script import BLAS_THREAD_VARS
    clean = {k: v for k, v in os.environ.items() if k not in ("P2T_PAGE_BLAS_THREADS", *BLAS_THREAD_VARS)}
    code = ("import common.playground\nfrom threadpoolctl import threadpool_info\n"
            "print(sorted({i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**clean, **env}, check=True)
    found = json.loads(out.stdout.strip())
    assert found and (found == [expected] or (expected == 2 and os.cpu_count() == 1)), out.stdout


def test_a_bad_page_blas_thread_count_is_a_clear_error():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", "import common.playground"], capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, "P2T_PAGE_BLAS_THREADS": "two"})
    assert out.returncode != 0 and "ValueError: P2T_PAGE_BLAS_THREADS must be a whole number ≥ 0" in out.stderr
