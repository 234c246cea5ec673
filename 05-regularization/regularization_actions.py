"""Chapter 05's page actions for ``tests/benchmarks/bench_pages.py 05``: each entry of ``PAGE_ACTIONS``
does what pressing that button on the playground with its default settings does.

MNIST is loaded when this module is imported, so the benchmark times the data load apart from the
action (a page loads it once per session).
"""

from __future__ import annotations

import overfitting as ovf
from common.mnist import load_mnist

DATA = load_mnist(download=False)


def splits(train_size: int = 1000):
    return ovf.page_splits(DATA.x_train, DATA.y_train, DATA.x_test, DATA.y_test, train_size)


def train() -> None:
    """"Train" on the Overfitting tab: 784-256-10, 1,000 images, 30 epochs, no regularizer."""
    ovf.run_experiment(ovf.PAGE_DEFAULT, splits(ovf.PAGE_DEFAULT.train_size))


def compare_regularizers() -> None:
    """"Compare regularizers" on the Weights tab: none, L2 10⁻³, dropout 0.5, both; 12 epochs each."""
    configs = ovf.compare_configs(ovf.PAGE_DEFAULT, **ovf.COMPARE_DEFAULTS)
    ovf.compare_runs(splits(ovf.PAGE_DEFAULT.train_size), configs)


PAGE_ACTIONS = {"Train": train, "Compare regularizers": compare_regularizers}
