"""Chapter 06: what the page's buttons do with their default settings, without Streamlit
(``tests/benchmarks/bench_pages.py`` times each one).

Importing this module loads MNIST the way the page does (``load_mnist(flatten=False)``: the full set when
it is on this machine, else the bundled sample), so that the timed actions are the button presses alone,
as on the page, where the data is loaded once per server.

- **Train both**: the FC network and the small CNN with the sidebar's defaults (``cnn.PAGE_DEFAULTS``),
  evaluated on the first 2,000 test digits after every epoch (``cnn.compare``).
- **Train LeNet-5**: LeNet-5 with the same settings (the LeNet-5 tab's button).
"""

from __future__ import annotations

import cnn
from common.mnist import load_mnist

DATA = load_mnist(flatten=False)
N_VAL = 2000


def _subset():
    n = min(cnn.PAGE_DEFAULTS["n_train"], len(DATA.x_train))
    return DATA.x_train[:n], DATA.y_train[:n], DATA.x_test[:N_VAL], DATA.y_test[:N_VAL]


def train_both() -> dict:
    """The page's "Train both" with its defaults; returns ``cnn.compare``'s runs."""
    s = cnn.PAGE_DEFAULTS
    x, y, xv, yv = _subset()
    return cnn.compare(x, y, xv, yv, epochs=s["epochs"], seed=s["seed"], batch_size=s["batch_size"], lr=s["lr"],
                       hidden=s["fc_hidden"], filters=s["filters"])


def train_lenet5():
    """The LeNet-5 tab's "Train LeNet-5" with the sidebar's defaults; returns (model, history)."""
    s = cnn.PAGE_DEFAULTS
    x, y, xv, yv = _subset()
    model, rng = cnn.new_model("lenet5", s["seed"])
    history = cnn.train(model, x, y, epochs=s["epochs"], rng=rng, batch_size=s["batch_size"], lr=s["lr"],
                        x_val=xv, y_val=yv)
    return model, history


PAGE_ACTIONS = {"Train both": train_both, "Train LeNet-5": train_lenet5}
