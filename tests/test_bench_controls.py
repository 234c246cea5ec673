"""``tests/benchmarks/bench_controls.py`` reports the controls that train when moved apart from the others
(the issue "Speed" target is for the controls that do not train): each label it lists must name a control
on its page, or renaming the control would silently put a training control back among the view controls."""

import sys
from pathlib import Path

import pytest

from apptest_helpers import widget_labels
from common.chapters import CHAPTERS

sys.path.insert(0, str(Path(__file__).resolve().parent / "benchmarks"))
import bench_controls  # noqa: E402


@pytest.mark.parametrize("chapter", sorted(bench_controls.TRAINS_ON_CHANGE))
def test_every_control_that_trains_is_on_its_page(app_test, chapter):
    ch = next(c for c in CHAPTERS if f"{c.number:02d}" == chapter)
    at = app_test(str(ch.playground.relative_to(ch.playground.parents[1]))).run()
    assert not at.exception
    labels = widget_labels(at, [t.label for t in at.tabs], tab_key=f"ch{chapter}_tab")
    assert bench_controls.TRAINS_ON_CHANGE[chapter] <= set(labels), sorted(set(labels))
