"""Chapter 04's page actions for ``tests/benchmarks/bench_pages.py 04``: each entry of ``PAGE_ACTIONS``
does what pressing that button on the playground with its default settings does.

MNIST is loaded when this module is imported, so the benchmark times the data load apart from the
action (a page loads it once per session).
"""

from __future__ import annotations

import numpy as np

import optimizer_race as racing
from common.mnist import load_mnist

DATA = load_mnist(download=False)


def run_race() -> None:
    """"Run race": SGD 0.1, Momentum 0.01, Adam 0.001 on 5,000 images, batch 64, 5 epochs."""
    racing.default_race(DATA)


def train_each_batch_size() -> None:
    """"Train with each batch size": SGD 0.1 at batch 1, 16, 64 and full batch, 1,000 images, 3 epochs."""
    sub = np.random.default_rng(0).permutation(len(DATA.x_train))[:1000]
    racing.batch_size_sweep([1, 16, 64, None], DATA.x_train[sub], DATA.y_train[sub], DATA.x_test, DATA.y_test,
                            optimizer="SGD", lr=0.1, epochs=3)


PAGE_ACTIONS = {"Run race": run_race, "Train with each batch size": train_each_batch_size}
