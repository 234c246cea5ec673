"""Fuzz of the public API of ``common`` (issue 12): wrong shapes, dtypes, NaN/inf, empty arrays, wrong
types and bad hyperparameters, each call classified by what it does.

    python tests/benchmarks/fuzz_api.py            # counts per category, then every case not clear/correct
    python tests/benchmarks/fuzz_api.py --all      # every case with its outcome

Every case is a call with an expectation:

- an **invalid** call must raise ``ValueError`` or ``TypeError`` (a few name another type: a backward
  before forward is a ``RuntimeError``) whose message names the argument: **clear**; any other exception,
  or a message that does not name it, is **unclear**; returning normally is **silently wrong**;
- a **valid** call (an integer image into a float layer, ``callbacks=None``, an empty batch into a layer
  that maps it to an empty batch) must return the right value: **correct**; a wrong value is **silently
  wrong**; a clear error is **refused** (loud, but the input was valid under the one rule of
  ``common._validation.check_float_array``);
- a call that takes the process down or never returns (timeout, ``RecursionError``, ``SystemError``, a
  ``BaseException`` that is not an ``Exception``) is a **crash**.

The "right value" of an integer or bool input is the output for the same values as floats (the layer's
parameter dtype, or float64 for a layer without parameters), with a float dtype. ``tests/test_reliability.py``
runs this whole fuzz and asserts that no case is unclear, silently wrong, refused or a crash.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import signal
import sys
import tempfile
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
for _p in (str(ROOT), str(ROOT / "09-attention")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from common import attention as att  # noqa: E402
from common import conv, datasets, init, losses, mnist, optimizers, sequence_tasks  # noqa: E402
from common import activations as act  # noqa: E402
from common.attention import AdditiveAttention, LuongAttention, MultiHeadAttention  # noqa: E402
from common.conv import AvgPool2D, Conv2D, GlobalAvgPool2D, MaxPool2D  # noqa: E402
from common.gradcheck import check_layer, numerical_gradient, rel_error  # noqa: E402
from common.layers import Dense, Dropout, Flatten, Layer, Sequential  # noqa: E402
from common.norm import BatchNorm1d, BatchNorm2d, LayerNorm, Residual  # noqa: E402
from common.optimizers import (OPTIMIZERS, SGD, Adam, CosineLR, StepLR, clip_grad_norm,  # noqa: E402
                               global_grad_norm)
from common.recurrent import GRU, LSTM, RNN, Embedding, GRUCell, LSTMCell, RNNCell  # noqa: E402
from common.training import EarlyStopping, Live, accuracy, evaluate, fit  # noqa: E402

CATEGORIES = ("clear", "correct", "refused", "unclear", "silent", "crash")
PROBLEMS = ("refused", "unclear", "silent", "crash")


@dataclass
class Case:
    name: str
    call: Callable[[], object]
    names: tuple[str, ...] = ()              # an error is expected, naming one of these
    check: Callable[[object], bool] | None = None   # a value is expected: check(result) is True
    allow: tuple[type, ...] = (ValueError, TypeError)


def err(name, call, *names, allow=(ValueError, TypeError)) -> Case:
    return Case(name, call, names=names, allow=allow)


def val(name, call, check) -> Case:
    return Case(name, call, check=check)


class _Timeout(BaseException):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float):
    if not hasattr(signal, "setitimer"):
        yield
        return

    def fire(signum, frame):
        raise _Timeout()

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _names_in(message: str, names) -> bool:
    return any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])", message) for n in names)


def classify(case: Case, timeout: float = 20.0) -> tuple[str, str]:
    """(category, detail) for one case."""
    try:
        with _time_limit(timeout), warnings.catch_warnings(), np.errstate(all="ignore"), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            result = case.call()
    except _Timeout:
        return "crash", f"no result after {timeout:g} s"
    except (RecursionError, SystemError) as e:
        return "crash", f"{type(e).__name__}: {e}"
    except Exception as e:
        text = f"{type(e).__name__}: {e}".replace("\n", " ")[:200]
        named = isinstance(e, case.allow) and _names_in(str(e), case.names or ("",))
        if case.check is not None:
            return ("refused" if isinstance(e, (ValueError, TypeError)) else "unclear"), text
        return ("clear" if named else "unclear"), text
    except BaseException as e:                               # KeyboardInterrupt, SystemExit, …
        return "crash", f"{type(e).__name__}: {e}"
    if case.check is None:
        return "silent", f"returned {_short(result)}"
    try:
        ok = bool(case.check(result))
    except Exception as e:
        ok, result = False, f"{_short(result)} (check raised {type(e).__name__}: {e})"
    return ("correct" if ok else "silent"), f"returned {_short(result)}"


def _short(x) -> str:
    if isinstance(x, np.ndarray):
        flat = x.reshape(-1)[:4]
        return f"array{x.shape} {x.dtype} {flat.tolist()}"
    return repr(x)[:80]


# ------------------------------------------------------------------------------------------ helpers

def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def data(shape, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def ints(shape, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(-3, 4, shape)


def is_float(a) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def close(a, b) -> bool:
    return is_float(a) and np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True)


def empty_rows(out) -> bool:
    return is_float(out) and out.shape[0] == 0


def has_nan(out) -> bool:
    return is_float(out) and bool(np.isnan(out).any())


@dataclass
class Spec:
    """A layer to fuzz: ``make()`` builds a fresh one (same seed, same parameters); ``x`` is a valid
    input shape; ``kw()`` the extra inputs; ``bad`` a wrong input shape; ``empty`` what a batch of zero
    rows must give ("value": an empty output, or "error")."""

    label: str
    make: Callable[[], Layer]
    x: tuple
    train: bool = False
    kw: Callable[[], dict] = dict
    bad: tuple | None = None
    empty: str = "value"
    dtype: type = np.float32           # what an integer input is promoted to
    xname: str = "x"                   # the name of the primary input in forward's signature
    kw0: Callable[[], dict] | None = None   # the extra inputs for an empty batch (default: kw)


def _specs() -> list[Spec]:
    r = lambda: rng(0)                 # noqa: E731
    keys = lambda: {"keys": data((2, 5, 4), 7)}      # noqa: E731
    keys0 = lambda: {"keys": np.zeros((0, 5, 4))}    # noqa: E731
    return [
        Spec("Dense", lambda: Dense(3, 4, r()), (5, 3), bad=(5, 4)),
        Spec("Dense float64", lambda: Dense(3, 4, r(), dtype=np.float64), (5, 3), bad=(5,), dtype=np.float64),
        Spec("ReLU", act.ReLU, (5, 3), dtype=np.float64),
        Spec("Sigmoid", act.Sigmoid, (5, 3), dtype=np.float64),
        Spec("Tanh", act.Tanh, (5, 3), dtype=np.float64),
        Spec("LeakyReLU", act.LeakyReLU, (5, 3), dtype=np.float64),
        Spec("ELU", act.ELU, (5, 3), dtype=np.float64),
        Spec("SELU", act.SELU, (5, 3), dtype=np.float64),
        Spec("GELU", act.GELU, (5, 3), dtype=np.float64),
        Spec("Softmax", act.Softmax, (5, 3), dtype=np.float64),
        Spec("Dropout train", lambda: Dropout(0.5, r()), (5, 3), train=True, dtype=np.float64),
        Spec("Dropout eval", lambda: Dropout(0.5, r()), (5, 3), dtype=np.float64),
        Spec("Flatten", Flatten, (5, 2, 3), bad=(5,), dtype=np.float64),
        Spec("BatchNorm1d train", lambda: BatchNorm1d(3), (5, 3), train=True, bad=(5, 4), empty="error"),
        Spec("BatchNorm1d eval", lambda: BatchNorm1d(3), (5, 3), bad=(5, 3, 1)),
        Spec("BatchNorm2d train", lambda: BatchNorm2d(2), (4, 2, 3, 3), train=True, bad=(4, 3, 3, 3), empty="error"),
        Spec("LayerNorm", lambda: LayerNorm(3), (5, 3), bad=(5, 4)),
        Spec("Conv2D", lambda: Conv2D(2, 3, 3, r(), padding=1), (2, 2, 5, 5), bad=(2, 3, 5, 5)),
        Spec("Conv2D stride 2", lambda: Conv2D(2, 3, 3, r(), stride=2), (2, 2, 5, 5), bad=(2, 2, 5)),
        Spec("MaxPool2D", lambda: MaxPool2D(2), (2, 2, 4, 4), bad=(2, 4, 4), dtype=np.float64),
        Spec("MaxPool2D padded", lambda: MaxPool2D(3, stride=1, padding=1), (2, 2, 4, 4), bad=(2, 2, 4),
             dtype=np.float64),
        Spec("AvgPool2D", lambda: AvgPool2D(2), (2, 2, 4, 4), bad=(2, 4, 4), dtype=np.float64),
        Spec("AvgPool2D padded", lambda: AvgPool2D(3, stride=1, padding=1), (2, 2, 4, 4), bad=(4, 4),
             dtype=np.float64),
        Spec("GlobalAvgPool2D", GlobalAvgPool2D, (2, 2, 4, 4), bad=(2, 4), dtype=np.float64),
        Spec("RNN", lambda: RNN(3, 4, r()), (2, 5, 3), bad=(2, 5, 2), empty="error"),
        Spec("LSTM", lambda: LSTM(3, 4, r()), (2, 5, 3), bad=(2, 3), empty="error"),
        Spec("GRU", lambda: GRU(3, 4, r(), layer_norm=True), (2, 5, 3), bad=(2, 5, 4), empty="error"),
        Spec("RNNCell", lambda: RNNCell(3, 4, r()), (2, 3), bad=(2, 4)),
        Spec("LSTMCell", lambda: LSTMCell(3, 4, r()), (2, 3), bad=(2, 3, 1)),
        Spec("GRUCell", lambda: GRUCell(3, 4, r()), (2, 3), bad=(3,)),
        Spec("MultiHeadAttention", lambda: MultiHeadAttention(4, 2, r()), (2, 3, 4), bad=(2, 3, 5)),
        Spec("MultiHeadAttention cross", lambda: MultiHeadAttention(4, 2, r()), (2, 3, 4),
             kw=lambda: {"context": data((2, 6, 4), 5)}, bad=(2, 3), kw0=lambda: {"context": np.zeros((0, 6, 4))}),
        Spec("AdditiveAttention", lambda: AdditiveAttention(4, 4, 5, r()), (2, 3, 4), kw=keys, bad=(2, 3, 3),
             xname="query", kw0=keys0),
        Spec("LuongAttention general", lambda: LuongAttention(4, 4, r()), (2, 3, 4), kw=keys, bad=(2, 4),
             xname="query", kw0=keys0),
        Spec("Residual", lambda: Residual(Sequential(Dense(3, 3, r()), act.ReLU())), (5, 3), bad=(5, 2)),
        Spec("Sequential", lambda: Sequential(Dense(3, 4, r()), act.Tanh(), Dense(4, 2, r())), (5, 3), bad=(5, 1)),
    ]


def _forward(spec: Spec, x, **over):
    layer = spec.make()
    kw = (spec.kw0 or spec.kw)() if np.shape(x)[:1] == (0,) else spec.kw()
    kw.update(over)
    return layer.forward(x, training=spec.train, **kw)


def _layer_cases(spec: Spec) -> list[Case]:
    L, x, X = spec.label, data(spec.x), spec.xname
    xi = ints(spec.x)
    cases = [
        val(f"{L}: integer x is promoted", lambda: _forward(spec, xi),
            lambda out: close(out, _forward(spec, xi.astype(spec.dtype)))),
        val(f"{L}: bool x is promoted", lambda: _forward(spec, xi > 0),
            lambda out: close(out, _forward(spec, (xi > 0).astype(spec.dtype)))),
        val(f"{L}: a nested list", lambda: _forward(spec, x.tolist()),
            lambda out: close(out, _forward(spec, x))),
        err(f"{L}: complex x", lambda: _forward(spec, x.astype(complex)), X),
        err(f"{L}: object x", lambda: _forward(spec, x.astype(object)), X),
        err(f"{L}: string x", lambda: _forward(spec, x.astype(str)), X),
        err(f"{L}: x is None", lambda: _forward(spec, None), X),
    ]
    nan = x.copy()
    nan.reshape(-1)[0] = np.nan
    cases.append(val(f"{L}: NaN in x propagates", lambda: _forward(spec, nan), has_nan))
    if spec.bad is not None:
        cases.append(err(f"{L}: x of shape {spec.bad}", lambda: _forward(spec, data(spec.bad)), X))
    x0 = np.zeros((0, *spec.x[1:]))
    if spec.empty == "value":
        cases.append(val(f"{L}: an empty batch gives an empty output", lambda: _forward(spec, x0), empty_rows))
    else:
        cases.append(err(f"{L}: an empty batch", lambda: _forward(spec, x0), X))
    cases += _backward_cases(spec)
    return cases


def _after_forward(spec: Spec):
    layer = spec.make()
    out = layer.forward(data(spec.x), training=spec.train, **spec.kw())
    return layer, out


def _backward_with(spec: Spec, make_dout):
    layer, out = _after_forward(spec)
    return layer.backward(make_dout(out))


def _backward_cases(spec: Spec) -> list[Case]:
    L = spec.label
    ref = lambda: _backward_with(spec, lambda o: np.round(data(o.shape, 3)))     # noqa: E731
    return [
        err(f"{L}: backward(None)", lambda: _backward_with(spec, lambda o: None), "dout"),
        err(f"{L}: backward with a wrong-shaped dout", lambda: _backward_with(spec, lambda o: np.ones(o.shape + (2,))),
            "dout"),
        err(f"{L}: backward with a complex dout", lambda: _backward_with(spec, lambda o: np.ones(o.shape, complex)),
            "dout"),
        val(f"{L}: backward with an integer dout", lambda: _backward_with(
            spec, lambda o: np.round(data(o.shape, 3)).astype(np.int64)), lambda dx: close(dx, ref())),
        err(f"{L}: backward before forward", lambda: spec.make().backward(np.ones(spec.x)), "forward", "dout",
            allow=(ValueError, TypeError, RuntimeError)),
    ]


def _embedding_cases() -> list[Case]:
    E = lambda: Embedding(6, 3, rng(0))             # noqa: E731
    ids = np.array([[0, 5, 2], [1, 1, 3]])
    fwd = lambda a: E().forward(a)                   # noqa: E731

    def back(dout):
        e = E()
        e.forward(ids)
        return e.backward(dout)

    return [
        val("Embedding: ids as a nested list", lambda: fwd(ids.tolist()), lambda o: close(o, fwd(ids))),
        val("Embedding: uint8 ids", lambda: fwd(ids.astype(np.uint8)), lambda o: close(o, fwd(ids))),
        val("Embedding: an empty batch", lambda: fwd(np.zeros((0, 3), int)), empty_rows),
        err("Embedding: float ids", lambda: fwd(ids.astype(float)), "ids"),
        err("Embedding: bool ids", lambda: fwd(ids > 2), "ids"),
        err("Embedding: complex ids", lambda: fwd(ids.astype(complex)), "ids"),
        err("Embedding: string ids", lambda: fwd(ids.astype(str)), "ids"),
        err("Embedding: ids None", lambda: fwd(None), "ids"),
        err("Embedding: id out of range", lambda: fwd(np.array([[6]])), "ids"),
        err("Embedding: negative id", lambda: fwd(np.array([[-1]])), "ids"),
        err("Embedding: backward(None)", lambda: back(None), "dout"),
        err("Embedding: backward with a wrong-shaped dout", lambda: back(np.ones((2, 3, 4))), "dout"),
        err("Embedding: backward with a complex dout", lambda: back(np.ones((2, 3, 3), complex)), "dout"),
        err("Embedding: backward before forward", lambda: E().backward(np.ones((2, 3, 3))), "forward",
            allow=(RuntimeError, ValueError)),
        err("Embedding(0, 3)", lambda: Embedding(0, 3, rng()), "num_embeddings"),
        err("Embedding(6, 3, std=0)", lambda: Embedding(6, 3, rng(), std=0), "std"),
        err("Embedding(dtype=int)", lambda: Embedding(6, 3, rng(), dtype=np.int64), "dtype"),
    ]


def _sequence_extra_cases() -> list[Case]:
    x = data((2, 5, 3))
    lstm = lambda: LSTM(3, 4, rng(0))               # noqa: E731

    def lstm_back(state):
        m = lstm()
        m.forward(x)
        return m.backward(np.ones((2, 5, 4)), state=state)

    def cell_back(state):
        c = LSTMCell(3, 4, rng(0))
        c.forward(x[:, 0])
        return c.backward(np.ones((2, 4)), state=state)

    return [
        err("LSTM: backward(state=<array>)", lambda: lstm_back(np.ones((2, 4))), "state"),
        err("LSTMCell: backward(state=<array>)", lambda: cell_back(np.ones((2, 4))), "state"),
        err("LSTM: backward(state=(dh of wrong shape, None))", lambda: lstm_back((np.ones((2, 5)), None)), "state"),
        err("LSTM: state=<array>", lambda: lstm().forward(x, state=np.zeros((2, 4))), "state"),
        err("GRU: state=(h, c)", lambda: GRU(3, 4, rng()).forward(x, state=(np.zeros((2, 4)),) * 2), "state"),
        err("RNN: state of wrong shape", lambda: RNN(3, 4, rng()).forward(x, state=np.zeros((3, 4))), "state"),
        err("RNN: complex state", lambda: RNN(3, 4, rng()).forward(x, state=np.zeros((2, 4), complex)), "state"),
        val("RNN: integer state is promoted", lambda: RNN(3, 4, rng(0)).forward(x, state=np.ones((2, 4), int)),
            lambda o: close(o, RNN(3, 4, rng(0)).forward(x, state=np.ones((2, 4), np.float32)))),
        err("RNN: T = 0", lambda: RNN(3, 4, rng()).forward(np.zeros((2, 0, 3))), "x"),
        err("RNN(0, 4)", lambda: RNN(0, 4, rng()), "input_size"),
        err("LSTM(3, 2.5)", lambda: LSTM(3, 2.5, rng()), "hidden_size"),
        err("GRU(rng=None)", lambda: GRU(3, 4, None), "rng"),
        err("RNN(dtype=int)", lambda: RNN(3, 4, rng(), dtype=np.int64), "dtype"),
        err("LSTM(dtype='foo')", lambda: LSTM(3, 4, rng(), dtype="foo"), "dtype"),
        err("LSTM(forget_bias=nan)", lambda: LSTM(3, 4, rng(), forget_bias=np.nan), "forget_bias"),
        err("LSTM(forget_bias='1')", lambda: LSTM(3, 4, rng(), forget_bias="1"), "forget_bias"),
        val("LSTM(forget_bias=np.float32(1))", lambda: LSTM(3, 4, rng(), forget_bias=np.float32(1)),
            lambda m: m.cell.forget_bias == 1.0),
        err("GRU(layer_norm='yes')", lambda: GRU(3, 4, rng(), layer_norm="yes"), "layer_norm"),
        err("RNN(init='foo')", lambda: RNN(3, 4, rng(), init="foo"), "init"),
    ]


def _attention_cases() -> list[Case]:
    q, k, v = data((2, 3, 4), 1), data((2, 5, 4), 2), data((2, 5, 2), 3)
    sdpa = att.scaled_dot_product_attention
    qi = ints((2, 3, 4))
    m = lambda: MultiHeadAttention(4, 2, rng(0))     # noqa: E731
    x = data((2, 3, 4))
    return [
        val("sdpa: integer q is promoted", lambda: sdpa(qi, k, v)[0], lambda o: close(o, sdpa(qi.astype(float), k, v)[0])),
        val("sdpa: integer k, v are promoted", lambda: sdpa(q, qi, qi)[0],
            lambda o: close(o, sdpa(q, qi.astype(float), qi.astype(float))[0])),
        err("sdpa: complex q", lambda: sdpa(q.astype(complex), k, v), "q"),
        err("sdpa: string v", lambda: sdpa(q, k, v.astype(str)), "v"),
        err("sdpa: q None", lambda: sdpa(None, k, v), "q"),
        err("sdpa: Tk = 0", lambda: sdpa(q, k[:, :0], v[:, :0]), "k"),
        err("sdpa: d of q and k differ", lambda: sdpa(q, k[..., :3], v), "q", "k"),
        err("sdpa: Tk of k and v differ", lambda: sdpa(q, k, v[:, :4]), "k", "v"),
        err("sdpa: 1-D q", lambda: sdpa(q[0, 0], k[0, 0], v[0, 0]), "q"),
        err("sdpa: integer mask", lambda: sdpa(q, k, v, np.ones((3, 5), int)), "mask"),
        err("sdpa: mask of wrong shape", lambda: sdpa(q, k, v, np.ones((3, 4), bool)), "mask"),
        err("sdpa: scale=nan", lambda: sdpa(q, k, v, scale=np.nan), "scale"),
        err("sdpa: scale=-1", lambda: sdpa(q, k, v, scale=-1.0), "scale"),
        err("sdpa: scale=0", lambda: sdpa(q, k, v, scale=0), "scale"),
        err("sdpa: scale='a'", lambda: sdpa(q, k, v, scale="a"), "scale"),
        val("sdpa: every key masked gives zero weights", lambda: sdpa(q, k, v, np.zeros((3, 5), bool))[1],
            lambda w: is_float(w) and not w.any()),
        err("MHA: Tk = 0 context", lambda: m().forward(x, context=np.zeros((2, 0, 4))), "k", "context"),
        err("MHA: context of wrong width", lambda: m().forward(x, context=data((2, 5, 3))), "context"),
        err("MHA: complex context", lambda: m().forward(x, context=data((2, 5, 4)).astype(complex)), "context"),
        err("MHA: integer mask", lambda: m().forward(x, mask=np.ones((3, 3), int)), "mask"),
        err("MHA: mask of wrong shape", lambda: m().forward(x, mask=np.ones((2, 3), bool)), "mask"),
        err("MultiHeadAttention(4, 3)", lambda: MultiHeadAttention(4, 3, rng()), "num_heads"),
        err("MultiHeadAttention(0, 1)", lambda: MultiHeadAttention(0, 1, rng()), "d_model"),
        err("MultiHeadAttention(rng=None)", lambda: MultiHeadAttention(4, 2, None), "rng"),
        err("MultiHeadAttention(dtype=int)", lambda: MultiHeadAttention(4, 2, rng(), dtype=np.int64), "dtype"),
        err("MultiHeadAttention(init='foo')", lambda: MultiHeadAttention(4, 2, rng(), init="foo"), "init"),
        err("AdditiveAttention: keys missing", lambda: AdditiveAttention(4, 4, 5, rng()).forward(q), "keys"),
        err("AdditiveAttention: keys of wrong width", lambda: AdditiveAttention(4, 4, 5, rng()).forward(q, keys=v), "keys"),
        err("AdditiveAttention: Tk = 0", lambda: AdditiveAttention(4, 4, 5, rng()).forward(q, keys=k[:, :0]), "keys"),
        err("AdditiveAttention: complex keys", lambda: AdditiveAttention(4, 4, 5, rng()).forward(
            q, keys=k.astype(complex)), "keys"),
        val("AdditiveAttention: integer keys are promoted", lambda: AdditiveAttention(4, 4, 5, rng(0)).forward(
            q, keys=qi), lambda o: close(o, AdditiveAttention(4, 4, 5, rng(0)).forward(q, keys=qi.astype(np.float32)))),
        err("AdditiveAttention(attn_size=0)", lambda: AdditiveAttention(4, 4, 0, rng()), "attn_size"),
        err("AdditiveAttention(dtype=int)", lambda: AdditiveAttention(4, 4, 5, rng(), dtype=np.int64), "dtype"),
        err("LuongAttention(score='foo')", lambda: LuongAttention(4, 4, rng(), score="foo"), "score"),
        err("LuongAttention('dot', 4, 3)", lambda: LuongAttention(4, 3, score="dot"), "score", "query_size"),
        err("LuongAttention: mask of wrong shape", lambda: LuongAttention(4, 4, score="dot").forward(
            q, keys=k, mask=np.ones((2, 4), bool)), "mask"),
        val("LuongAttention dot: integer query is promoted", lambda: LuongAttention(4, 4, score="dot").forward(
            qi, keys=k), lambda o: close(o, LuongAttention(4, 4, score="dot").forward(qi.astype(float), keys=k))),
        err("causal_mask(0)", lambda: att.causal_mask(0), "T"),
        err("causal_mask(2.5)", lambda: att.causal_mask(2.5), "T"),
        err("padding_mask([3, 9], 5)", lambda: att.padding_mask([3, 9], 5), "lengths"),
        err("padding_mask([1.5], 5)", lambda: att.padding_mask([1.5], 5), "lengths"),
        err("padding_mask([[1]], 5)", lambda: att.padding_mask([[1]], 5), "lengths"),
    ]


def _function_cases() -> list[Case]:
    """The plain activation functions and the functional conv/pool forms."""
    cases = []
    xi = ints((4, 3))
    for name, (f, df) in act.ACTIVATIONS.items():
        for fn, label in ((f, name), (df, f"{name}_derivative")):
            cases += [
                val(f"{label}: integer x", lambda fn=fn: fn(xi), lambda o, fn=fn: close(o, fn(xi.astype(float)))),
                err(f"{label}: complex x", lambda fn=fn: fn(xi.astype(complex)), "x"),
                err(f"{label}: string x", lambda fn=fn: fn(xi.astype(str)), "x"),
            ]
    cases += [
        err("softmax: C = 0", lambda: act.softmax(np.zeros((3, 0))), "x"),
        err("Softmax layer: C = 0", lambda: act.Softmax().forward(np.zeros((3, 0))), "x"),
        val("softmax: integer x", lambda: act.softmax(xi), lambda o: close(o, act.softmax(xi.astype(float)))),
        err("LeakyReLU(alpha=-1)", lambda: act.LeakyReLU(-1), "alpha"),
        err("LeakyReLU(alpha=nan)", lambda: act.LeakyReLU(np.nan), "alpha"),
        err("ELU(alpha=0)", lambda: act.ELU(0), "alpha"),
        err("get_layer('foo')", lambda: act.get_layer("foo"), "activation"),
    ]
    x = data((2, 2, 4, 4))
    xi4 = ints((2, 2, 4, 4))
    W = data((3, 2, 3, 3), 4)
    cases += [
        val("conv2d_forward: integer x", lambda: conv.conv2d_forward(xi4, W, padding=1)[0],
            lambda o: close(o, conv.conv2d_forward(xi4.astype(float), W, padding=1)[0])),
        val("max_pool2d_forward padded: integer x", lambda: conv.max_pool2d_forward(xi4, 3, 1, 1),
            lambda o: close(o, conv.max_pool2d_forward(xi4.astype(float), 3, 1, 1))),
        val("avg_pool2d_forward: integer x", lambda: conv.avg_pool2d_forward(xi4, 2),
            lambda o: close(o, conv.avg_pool2d_forward(xi4.astype(float), 2))),
        err("conv2d_forward: complex x", lambda: conv.conv2d_forward(x.astype(complex), W), "x"),
        err("conv2d_forward: W of wrong channels", lambda: conv.conv2d_forward(x, data((3, 1, 3, 3))), "W"),
        err("conv2d_forward: string W", lambda: conv.conv2d_forward(x, W.astype(str)), "W"),
        err("max_pool2d_forward: 3-D x", lambda: conv.max_pool2d_forward(x[0], 2), "x"),
        err("max_pool2d_forward: complex x", lambda: conv.max_pool2d_forward(x.astype(complex), 2), "x"),
        err("Conv2D: H = 0", lambda: Conv2D(2, 3, 3, rng(), padding=1).forward(np.zeros((1, 2, 0, 4))), "x"),
        err("Conv2D: the kernel does not fit", lambda: Conv2D(2, 3, 5, rng()).forward(np.zeros((1, 2, 3, 3))), "x",
            "kernel"),
        err("MaxPool2D: W = 0", lambda: MaxPool2D(2).forward(np.zeros((1, 2, 4, 0))), "x"),
        err("GlobalAvgPool2D: H = 0", lambda: GlobalAvgPool2D().forward(np.zeros((1, 2, 0, 3))), "x"),
        err("conv_output_size(5, 0)", lambda: conv.conv_output_size(5, 0), "kernel"),
        err("conv_output_size(5, 3, stride=2, exact=True)", lambda: conv.conv_output_size(6, 3, 2, exact=True), "stride"),
        err("Conv2D(0, 3, 3)", lambda: Conv2D(0, 3, 3, rng()), "in_channels"),
        err("Conv2D(2, 3, 2.5)", lambda: Conv2D(2, 3, 2.5, rng()), "kernel_size"),
        err("Conv2D(stride=0)", lambda: Conv2D(2, 3, 3, rng(), stride=0), "stride"),
        err("Conv2D(padding=-1)", lambda: Conv2D(2, 3, 3, rng(), padding=-1), "padding"),
        err("Conv2D(dtype=int)", lambda: Conv2D(2, 3, 3, rng(), dtype=np.int32), "dtype"),
        err("Conv2D(rng=None)", lambda: Conv2D(2, 3, 3, None), "rng"),
        err("MaxPool2D(0)", lambda: MaxPool2D(0), "kernel_size"),
        err("MaxPool2D(2, stride=0)", lambda: MaxPool2D(2, stride=0), "stride"),
        err("MaxPool2D(2, padding=2)", lambda: MaxPool2D(2, padding=2), "padding"),
        err("AvgPool2D(3, padding=-1)", lambda: AvgPool2D(3, padding=-1), "padding"),
    ]
    nan = x.copy()
    nan[0, 0, 0, 0] = np.nan

    def maxpool_nan_grad():
        p = MaxPool2D(2)
        p.forward(nan)
        return p.backward(np.ones((2, 2, 2, 2)))

    cases.append(val("MaxPool2D: the gradient of a window holding NaN is kept", maxpool_nan_grad,
                     lambda dx: is_float(dx) and dx[0, 0, :2, :2].sum() == 1.0 and dx.sum() == 16.0))
    return cases


def _loss_cases() -> list[Case]:
    sce, seq, bce, mse = (losses.softmax_cross_entropy, losses.sequence_cross_entropy,
                          losses.binary_cross_entropy_with_logits, losses.mse)
    z, y = data((4, 3)), np.array([0, 2, 1, 2])
    zi = ints((4, 3))
    zs, ys = data((2, 3, 5)), np.array([[0, 4, 1], [2, 3, 3]])
    zb, yb = data((4,)), np.array([0.0, 1.0, 1.0, 0.0])
    p, t = data((4, 2)), data((4, 2), 2)
    same = lambda fn, a, b: (lambda out: close(out[1], fn(a.astype(float), b)[1]) and  # noqa: E731
                             np.isclose(out[0], fn(a.astype(float), b)[0]))
    cases = [
        val("softmax_cross_entropy: integer logits", lambda: sce(zi, y), same(sce, zi, y)),
        val("softmax_cross_entropy: bool logits", lambda: sce(zi > 0, y), same(sce, zi > 0, y)),
        val("softmax_cross_entropy: logits [[inf, 0, 0]], label 0", lambda: sce(np.array([[np.inf, 0, 0]]), [0]),
            lambda o: o[0] == 0.0 and is_float(o[1]) and not o[1].any()),
        val("softmax_cross_entropy: logits [[inf, 0, 0]], label 1", lambda: sce(np.array([[np.inf, 0, 0]]), [1]),
            lambda o: o[0] == np.inf and np.array_equal(o[1], [[1.0, -1.0, 0.0]])),
        val("softmax_cross_entropy: a -inf logit", lambda: sce(np.array([[-np.inf, 0.0]]), [1]),
            lambda o: np.isclose(o[0], 0.0) and np.allclose(o[1], 0)),
        val("softmax_cross_entropy: logits ±1e4", lambda: sce(np.array([[1e4, -1e4]]), [1]),
            lambda o: np.isclose(o[0], 2e4) and np.isfinite(o[1]).all()),
        err("softmax_cross_entropy: N = 0", lambda: sce(np.zeros((0, 3)), np.zeros(0, int)), "logits"),
        err("softmax_cross_entropy: C = 0", lambda: sce(np.zeros((2, 0)), np.zeros(2, int)), "logits", "y"),
        err("softmax_cross_entropy: complex logits", lambda: sce(z.astype(complex), y), "logits"),
        err("softmax_cross_entropy: string logits", lambda: sce(z.astype(str), y), "logits"),
        err("softmax_cross_entropy: object logits", lambda: sce(z.astype(object), y), "logits"),
        err("softmax_cross_entropy: logits None", lambda: sce(None, y), "logits"),
        err("softmax_cross_entropy: 1-D logits", lambda: sce(z[0], y[:1]), "logits"),
        err("softmax_cross_entropy: float labels", lambda: sce(z, y.astype(float)), "y"),
        err("softmax_cross_entropy: label out of range", lambda: sce(z, np.array([0, 3, 1, 2])), "y"),
        err("softmax_cross_entropy: negative label", lambda: sce(z, np.array([0, -1, 1, 2])), "y"),
        err("softmax_cross_entropy: y too long", lambda: sce(z, np.r_[y, 0]), "y"),
        err("softmax_cross_entropy: y 2-D", lambda: sce(z, y[:, None]), "y"),
        err("softmax_cross_entropy: y None", lambda: sce(z, None), "y"),
        err("softmax_cross_entropy: bool labels", lambda: sce(z, y > 0), "y"),
        val("sequence_cross_entropy: integer logits", lambda: seq(ints((2, 3, 5)), ys), lambda o: is_float(o[1])),
        err("sequence_cross_entropy: N = 0", lambda: seq(np.zeros((0, 3, 5)), np.zeros((0, 3), int)), "logits"),
        err("sequence_cross_entropy: T = 0", lambda: seq(np.zeros((2, 0, 5)), np.zeros((2, 0), int)), "logits"),
        err("sequence_cross_entropy: 2-D logits", lambda: seq(z, y), "logits"),
        err("sequence_cross_entropy: y of wrong shape", lambda: seq(zs, ys[:, :2]), "y"),
        err("sequence_cross_entropy: complex logits", lambda: seq(zs.astype(complex), ys), "logits"),
        val("bce: integer logits", lambda: bce(np.array([1, -2, 0, 3]), yb), same(bce, np.array([1, -2, 0, 3]), yb)),
        val("bce: integer targets", lambda: bce(zb, yb.astype(int)), lambda o: close(o[1], bce(zb, yb)[1])),
        val("bce: logits (N, 1), targets (N,)", lambda: bce(zb[:, None], yb), lambda o: o[1].shape == (4, 1)),
        val("bce: logit +inf with target 1", lambda: bce(np.array([np.inf]), np.array([1.0])),
            lambda o: o[0] == 0.0 and o[1][0] == 0.0),
        val("bce: logit -inf with target 1", lambda: bce(np.array([-np.inf]), np.array([1.0])),
            lambda o: o[0] == np.inf and o[1][0] == -1.0),
        err("bce: NaN target", lambda: bce(zb, np.array([0.0, np.nan, 1.0, 0.0])), "y"),
        err("bce: target 2", lambda: bce(zb, np.array([0.0, 2.0, 1.0, 0.0])), "y"),
        err("bce: target -1", lambda: bce(zb, np.array([0.0, -1.0, 1.0, 0.0])), "y"),
        err("bce: N = 0", lambda: bce(np.zeros(0), np.zeros(0)), "logits"),
        err("bce: y of wrong shape", lambda: bce(zb, yb[:3]), "y"),
        err("bce: complex logits", lambda: bce(zb.astype(complex), yb), "logits"),
        err("bce: string targets", lambda: bce(zb, yb.astype(str)), "y"),
        err("bce: logits None", lambda: bce(None, yb), "logits"),
        val("mse: integer pred", lambda: mse(np.array([1, 0, 0]), np.zeros(3, int)),
            lambda o: np.isclose(o[0], 1 / 3) and close(o[1], [2 / 3, 0, 0])),
        val("mse: pred (N, 1), target (N,)", lambda: mse(p[:, :1], t[:, 0]), lambda o: o[1].shape == (4, 1)),
        err("mse: N = 0", lambda: mse(np.zeros((0, 2)), np.zeros((0, 2))), "pred"),
        err("mse: target of wrong shape", lambda: mse(p, t[:, :1]), "target"),
        err("mse: complex pred", lambda: mse(p.astype(complex), t), "pred"),
        err("mse: object target", lambda: mse(p, t.astype(object)), "target"),
        err("mse: string target", lambda: mse(p, t.astype(str)), "target"),
        err("mse: pred None", lambda: mse(None, t), "pred"),
        val("log_softmax: integer logits", lambda: losses.log_softmax(zi),
            lambda o: close(o, losses.log_softmax(zi.astype(float)))),
    ]
    return cases


def _tiny_model(seed=0):
    return Sequential(Dense(2, 3, rng(seed)), act.Tanh(), Dense(3, 2, rng(seed + 1)))


def _xy(n=8):
    return data((n, 2)), np.arange(n) % 2


def _fit(**over):
    model = over.pop("model", None) or _tiny_model()
    X, y = _xy()
    kw = dict(loss_fn=losses.softmax_cross_entropy, optimizer=SGD(model, 0.1), epochs=1, rng=rng(0))
    args = over.pop("args", (X, y))
    kw.update(over)
    return fit(model, *args, **kw)


def _training_cases() -> list[Case]:
    X, y = _xy()
    sce = losses.softmax_cross_entropy
    m = _tiny_model
    hist = lambda h: hasattr(h, "train_loss") and len(h.train_loss) == 1       # noqa: E731

    def gen_list(r):
        return [X, y]

    class NotACallback:
        def on_epoch_end(self, state):
            pass

    model_for_schedule = _tiny_model()
    other = SGD(_tiny_model(), 0.1)
    return [
        err("accuracy: lengths differ", lambda: accuracy(data((5, 3)), np.zeros(4, int)), "y"),
        err("accuracy: 3-D logits, y of wrong shape", lambda: accuracy(data((2, 3, 4)), np.zeros((2, 4), int)), "y"),
        val("accuracy: 3-D logits, (N, T) labels", lambda: accuracy(data((2, 3, 4)), np.zeros((2, 3), int)),
            lambda a: 0.0 <= a <= 1.0),
        err("accuracy: N = 0", lambda: accuracy(np.zeros((0, 3)), np.zeros(0, int)), "logits"),
        err("accuracy: complex logits", lambda: accuracy(data((5, 3)).astype(complex), np.zeros(5, int)), "logits"),
        err("accuracy: string logits", lambda: accuracy(data((5, 3)).astype(str), np.zeros(5, int)), "logits"),
        err("accuracy: logits None", lambda: accuracy(None, np.zeros(5, int)), "logits"),
        err("accuracy: y None", lambda: accuracy(data((5, 3)), None), "y"),
        err("accuracy: (N, 1) logits with (N, 2) y", lambda: accuracy(data((5, 1)), np.zeros((5, 2))), "y"),
        val("accuracy: binary logits (N,)", lambda: accuracy(np.array([1.0, -1.0, 0.5]), np.array([1, 0, 0])),
            lambda a: np.isclose(a, 2 / 3)),
        val("accuracy: integer logits", lambda: accuracy(np.array([[3, 1], [0, 2]]), np.array([0, 1])),
            lambda a: a == 1.0),
        err("evaluate: empty X", lambda: evaluate(m(), np.zeros((0, 2)), np.zeros(0, int), sce), "X"),
        err("evaluate: X and y lengths differ", lambda: evaluate(m(), X, y[:5], sce), "X", "y"),
        err("evaluate: batch_size=0", lambda: evaluate(m(), X, y, sce, batch_size=0), "batch_size"),
        err("evaluate: batch_size=2.5", lambda: evaluate(m(), X, y, sce, batch_size=2.5), "batch_size"),
        err("evaluate: loss_fn=None", lambda: evaluate(m(), X, y, None), "loss_fn"),
        err("evaluate: metric=5", lambda: evaluate(m(), X, y, sce, metric=5), "metric"),
        err("evaluate: model=None", lambda: evaluate(None, X, y, sce), "model"),
        err("evaluate: scalar X", lambda: evaluate(m(), np.float64(1.0), y, sce), "X"),
        err("fit: loss_fn=None", lambda: _fit(loss_fn=None), "loss_fn"),
        err("fit: optimizer=None", lambda: _fit(optimizer=None), "optimizer"),
        err("fit: model=None", lambda: fit(None, X, y, loss_fn=sce, optimizer=SGD(m(), 0.1), epochs=1, rng=rng()),
            "model"),
        val("fit: callbacks=None", lambda: _fit(callbacks=None), hist),
        err("fit: callbacks=[5]", lambda: _fit(callbacks=[5]), "callbacks", "callbacks[0]"),
        err("fit: callbacks=[EarlyStopping] (the class)", lambda: _fit(callbacks=[EarlyStopping]), "callbacks",
            "callbacks[0]"),
        err("fit: callbacks=EarlyStopping() (not a list)", lambda: _fit(callbacks=EarlyStopping()), "callbacks"),
        err("fit: callbacks='abc'", lambda: _fit(callbacks="abc"), "callbacks"),
        err("fit: a callback object that is not a Callback", lambda: _fit(callbacks=[NotACallback()]), "callbacks",
            "callbacks[0]"),
        err("fit: EarlyStopping on val_loss without X_val", lambda: _fit(callbacks=[EarlyStopping()]), "X_val",
            "monitor"),
        err("fit: scalar X", lambda: _fit(args=(np.float64(1.0), np.float64(1.0))), "X"),
        err("fit: X and y lengths differ", lambda: _fit(args=(X, y[:5])), "X", "y"),
        err("fit: empty X", lambda: _fit(args=(X[:0], y[:0])), "X"),
        err("fit: X None", lambda: _fit(args=(None, y)), "X"),
        err("fit: string X", lambda: _fit(args=(X.astype(str), y)), "X", "x"),
        err("fit: batch_size=0", lambda: _fit(batch_size=0), "batch_size"),
        err("fit: batch_size=2.5", lambda: _fit(batch_size=2.5), "batch_size"),
        err("fit: batch_size='a'", lambda: _fit(batch_size="a"), "batch_size"),
        err("fit: epochs=0", lambda: _fit(epochs=0), "epochs"),
        err("fit: epochs=1.5", lambda: _fit(epochs=1.5), "epochs"),
        err("fit: rng=0", lambda: _fit(rng=0), "rng"),
        err("fit: clip_norm=0", lambda: _fit(clip_norm=0), "clip_norm"),
        err("fit: clip_norm=nan", lambda: _fit(clip_norm=np.nan), "clip_norm"),
        err("fit: schedule of another optimizer", lambda: _fit(schedule=StepLR(other, 1)), "schedule"),
        err("fit: metric=5", lambda: _fit(metric=5), "metric"),
        err("fit: empty X_val", lambda: _fit(X_val=X[:0], y_val=y[:0]), "X_val"),
        err("fit: X_val without y_val", lambda: _fit(X_val=X), "X_val", "y_val"),
        err("fit: X_val and y_val lengths differ", lambda: _fit(X_val=X, y_val=y[:3]), "X_val", "y_val"),
        err("fit: batches=5", lambda: _fit(args=(), batches=5, steps_per_epoch=2), "batches"),
        err("fit: batches without steps_per_epoch", lambda: _fit(args=(), batches=lambda r: (X, y)), "steps_per_epoch"),
        err("fit: batches returning a list", lambda: _fit(args=(), batches=gen_list, steps_per_epoch=1), "batches"),
        err("fit: batches and X", lambda: _fit(batches=lambda r: (X, y), steps_per_epoch=1), "batches", "X"),
        err("fit: steps_per_epoch=0", lambda: _fit(args=(), batches=lambda r: (X, y), steps_per_epoch=0),
            "steps_per_epoch"),
        err("fit: eval_train with batches", lambda: _fit(args=(), batches=lambda r: (X, y), steps_per_epoch=1,
                                                        eval_train=True), "eval_train"),
        err("fit: val_batch_size=0", lambda: _fit(val_batch_size=0), "val_batch_size"),
        err("predict: batch_size=2.5", lambda: m().predict(X, batch_size=2.5), "batch_size"),
        err("predict: batch_size='a'", lambda: m().predict(X, batch_size="a"), "batch_size"),
        err("predict: batch_size=0", lambda: m().predict(X, batch_size=0), "batch_size"),
        err("predict: batch_size=True", lambda: m().predict(X, batch_size=True), "batch_size"),
        err("predict: x None", lambda: m().predict(None), "x"),
        err("predict: scalar x", lambda: m().predict(np.float64(1.0)), "x"),
        val("predict: batch_size=3 equals one pass", lambda: m().predict(X, batch_size=3),
            lambda o: close(o, m().predict(X))),
        err("summary(5)", lambda: m().summary(5), "input_shape"),
        err("summary(('a',))", lambda: m().summary(("a",)), "input_shape"),
        err("summary((0,))", lambda: m().summary((0,)), "input_shape"),
        val("summary((2,))", lambda: m().summary((2,)), lambda s: "(N, 2)" in s),
        err("astype(np.int64)", lambda: m().astype(np.int64), "dtype"),
        err("astype('foo')", lambda: m().astype("foo"), "dtype"),
        err("EarlyStopping(patience=0)", lambda: EarlyStopping(patience=0), "patience"),
        err("EarlyStopping(monitor='acc')", lambda: EarlyStopping(monitor="acc"), "monitor"),
        err("EarlyStopping(min_delta=-1)", lambda: EarlyStopping(min_delta=-1), "min_delta"),
        err("Live(every_steps=0)", lambda: Live(every_steps=0), "every_steps"),
        err("Live(min_interval=-1)", lambda: Live(min_interval=-1), "min_interval"),
        err("Live(on_update=5)", lambda: Live(on_update=5), "on_update"),
        val("StepLR step reduces lr", lambda: StepLR(SGD(model_for_schedule, 1.0), 1, 0.5).step(),
            lambda lr: lr == 0.5),
    ]


def _optimizer_cases() -> list[Case]:
    cases = []
    P = lambda: _tiny_model()              # noqa: E731
    for name, cls in OPTIMIZERS.items():
        for lr in (0, -1.0, np.nan, np.inf, "0.1", None, True):
            cases.append(err(f"{name}(lr={lr!r})", lambda cls=cls, lr=lr: cls(P(), lr=lr), "lr"))
        for params in (None, 5, "abc", np.zeros(3), [(np.zeros(2), np.zeros(3))], [np.zeros(2)],
                       [(np.zeros(2, int), np.zeros(2, int))]):
            cases.append(err(f"{name}(params={_short(params)})", lambda cls=cls, p=params: cls(p, lr=0.1),
                             "params", "params[0]"))
        for wd in (-1.0, np.nan, "0.1"):
            cases.append(err(f"{name}(weight_decay={wd!r})", lambda cls=cls, wd=wd: cls(P(), lr=0.01, weight_decay=wd),
                             "weight_decay"))
    extra = {
        "Momentum": [("momentum", -0.1), ("momentum", 1.0), ("momentum", np.nan)],
        "Nesterov": [("momentum", 1.5)],
        "Adagrad": [("eps", 0), ("eps", -1.0)],
        "RMSProp": [("rho", 1.0), ("rho", -0.1), ("eps", 0)],
        "Adam": [("beta1", 1.0), ("beta2", -0.1), ("eps", 0), ("beta1", "0.9")],
        "AdamW": [("beta2", 1.0), ("eps", -1e-8)],
    }
    for name, items in extra.items():
        for key, v in items:
            cases.append(err(f"{name}({key}={v!r})", lambda n=name, k=key, v=v: OPTIMIZERS[n](P(), lr=0.01, **{k: v}),
                             key))
    cases += [
        err("AdamW(lr=10, weight_decay=1)", lambda: optimizers.AdamW(P(), lr=10, weight_decay=1), "lr",
            "weight_decay"),
        err("SGD(None)", lambda: SGD(None, 0.1), "params"),
        err("SGD on an integer parameter", lambda: SGD([(np.zeros(3, int), np.ones(3, int))], 0.1), "params",
            "params[0]"),
        err("optimizers.get('foo')", lambda: optimizers.get("foo"), "optimizer"),
        err("clip_grad_norm: NaN gradient", lambda: clip_grad_norm([(np.zeros(2), np.array([1.0, np.nan]))], 1.0),
            "gradient", "params", allow=(ValueError, FloatingPointError)),
        err("clip_grad_norm: inf gradient", lambda: clip_grad_norm([(np.zeros(2), np.array([1.0, np.inf]))], 1.0),
            "gradient", "params", allow=(ValueError, FloatingPointError)),
        err("clip_grad_norm(max_norm=0)", lambda: clip_grad_norm(P(), 0), "max_norm"),
        err("clip_grad_norm(max_norm=nan)", lambda: clip_grad_norm(P(), np.nan), "max_norm"),
        err("clip_grad_norm(max_norm='1')", lambda: clip_grad_norm(P(), "1"), "max_norm"),
        err("clip_grad_norm(None, 1)", lambda: clip_grad_norm(None, 1.0), "params"),
        err("global_grad_norm(None)", lambda: global_grad_norm(None), "params"),
        val("clip_grad_norm clips", lambda: (lambda pr: (clip_grad_norm(pr, 1.0), pr[0][1]))(
            [(np.zeros(2), np.array([3.0, 4.0]))]), lambda o: o[0] == 5.0 and np.isclose(np.linalg.norm(o[1]), 1.0)),
        err("StepLR(None, 1)", lambda: StepLR(None, 1), "optimizer"),
        err("StepLR(opt, 0)", lambda: StepLR(SGD(P(), 0.1), 0), "step_size"),
        err("StepLR(opt, 1.5)", lambda: StepLR(SGD(P(), 0.1), 1.5), "step_size"),
        err("StepLR(opt, '2')", lambda: StepLR(SGD(P(), 0.1), "2"), "step_size"),
        err("StepLR(gamma=0)", lambda: StepLR(SGD(P(), 0.1), 1, gamma=0), "gamma"),
        err("StepLR(gamma=nan)", lambda: StepLR(SGD(P(), 0.1), 1, gamma=np.nan), "gamma"),
        err("StepLR(interval='batch')", lambda: StepLR(SGD(P(), 0.1), 1, interval="batch"), "interval"),
        err("CosineLR(None, 5)", lambda: CosineLR(None, 5), "optimizer"),
        err("CosineLR(opt, 0)", lambda: CosineLR(SGD(P(), 0.1), 0), "total_epochs"),
        err("CosineLR(opt, 2.5)", lambda: CosineLR(SGD(P(), 0.1), 2.5), "total_epochs"),
        err("CosineLR(lr_min > lr)", lambda: CosineLR(SGD(P(), 0.1), 5, lr_min=1.0), "lr_min"),
        err("CosineLR(lr_min=-1)", lambda: CosineLR(SGD(P(), 0.1), 5, lr_min=-1.0), "lr_min"),
        err("CosineLR(warmup=5, total 5)", lambda: CosineLR(SGD(P(), 0.1), 5, warmup=5), "warmup"),
        err("CosineLR(warmup=-1)", lambda: CosineLR(SGD(P(), 0.1), 5, warmup=-1), "warmup"),
        err("CosineLR(interval='x')", lambda: CosineLR(SGD(P(), 0.1), 5, interval="x"), "interval"),
    ]
    return cases


def _constructor_cases() -> list[Case]:
    cases = []
    for v in (0, -1, 2.5, "3", True, None):
        cases.append(err(f"Dense(in_features={v!r})", lambda v=v: Dense(v, 2, rng()), "in_features"))
    for v in (0, 1.5, np.nan):
        cases.append(err(f"Dense(out_features={v!r})", lambda v=v: Dense(2, v, rng()), "out_features"))
    for d in ("foo", np.int64, bool, complex, object, np.uint8):
        cases.append(err(f"Dense(dtype={d!r})", lambda d=d: Dense(2, 3, rng(), dtype=d), "dtype"))
    cases += [
        val("Dense(dtype='float64')", lambda: Dense(2, 3, rng(), dtype="float64"),
            lambda d: d.params["W"].dtype == np.float64),
        err("Dense(10**7, 10**7)", lambda: Dense(10 ** 7, 10 ** 7, rng()), "in_features", "out_features", "shape",
            allow=(ValueError, MemoryError)),
        err("Dense(init='foo')", lambda: Dense(2, 3, rng(), init="foo"), "init"),
        err("Dense(rng=None)", lambda: Dense(2, 3, None), "rng"),
        err("Dense(rng=0)", lambda: Dense(2, 3, 0), "rng"),
        err("Dense(bias='yes')", lambda: Dense(2, 3, rng(), bias="yes"), "bias"),
        val("Dense(init='zeros', rng=None)", lambda: Dense(2, 3, init="zeros"), lambda d: not d.params["W"].any()),
        err("Dropout(p=1.0)", lambda: Dropout(1.0, rng()), "p"),
        err("Dropout(p=-0.1)", lambda: Dropout(-0.1, rng()), "p"),
        err("Dropout(p=nan)", lambda: Dropout(np.nan, rng()), "p"),
        err("Dropout(p='0.5')", lambda: Dropout("0.5", rng()), "p"),
        err("Dropout(rng=None)", lambda: Dropout(0.5, None), "rng"),
        err("BatchNorm1d(0)", lambda: BatchNorm1d(0), "num_features"),
        err("BatchNorm1d(momentum=1.5)", lambda: BatchNorm1d(3, momentum=1.5), "momentum"),
        err("BatchNorm1d(eps=0)", lambda: BatchNorm1d(3, eps=0), "eps"),
        err("BatchNorm1d(dtype=int)", lambda: BatchNorm1d(3, dtype=np.int64), "dtype"),
        err("BatchNorm2d(dtype='foo')", lambda: BatchNorm2d(3, dtype="foo"), "dtype"),
        err("LayerNorm(0)", lambda: LayerNorm(0), "num_features"),
        err("LayerNorm(eps=-1)", lambda: LayerNorm(3, eps=-1), "eps"),
        err("LayerNorm(dtype=complex)", lambda: LayerNorm(3, dtype=complex), "dtype"),
        err("Residual(5)", lambda: Residual(5), "body"),
        err("Residual(projection=5)", lambda: Residual(Dense(2, 2, rng()), 5), "projection"),
        err("Residual: body changes the shape", lambda: Residual(Dense(2, 3, rng())).forward(data((4, 2))),
            "projection"),
        err("Sequential(5)", lambda: Sequential(5), "layers", "layers[0]"),
        err("add_child('a.b', …)", lambda: Layer().add_child("a.b", act.ReLU()), "name"),
    ]
    cases += [
        err("he_normal((0, 3))", lambda: init.he_normal((0, 3), rng()), "shape"),
        err("xavier_uniform((3, 0))", lambda: init.xavier_uniform((3, 0), rng()), "shape"),
        err("lecun_normal((3,))", lambda: init.lecun_normal((3,), rng()), "shape"),
        err("he_uniform((3, -1))", lambda: init.he_uniform((3, -1), rng()), "shape"),
        err("xavier_normal((2.5, 3))", lambda: init.xavier_normal((2.5, 3), rng()), "shape"),
        err("he_normal(5)", lambda: init.he_normal(5, rng()), "shape"),
        err("he_normal(rng=None)", lambda: init.he_normal((3, 4), None), "rng"),
        err("he_normal(dtype=int)", lambda: init.he_normal((3, 4), rng(), dtype=np.int64), "dtype"),
        err("zeros(dtype='foo')", lambda: init.zeros((3, 4), dtype="foo"), "dtype"),
        err("constant(dtype=int)", lambda: init.constant((3, 4), dtype=np.int32), "dtype"),
        err("normal(std=-1)", lambda: init.normal((3, 4), rng(), std=-1), "std"),
        err("normal((0, 3))", lambda: init.normal((-1, 3), rng()), "shape"),
        err("init.get('foo')", lambda: init.get("foo"), "init"),
        err("fans((0, 3))", lambda: init.fans((0, 3)), "shape"),
        val("he_normal((4, 3, 3, 3)) has std sqrt(2/27)", lambda: init.he_normal((400, 3, 3, 3), rng(), np.float64),
            lambda w: abs(w.std() - np.sqrt(2 / 27)) < 0.01),
    ]
    return cases


def _dataset_cases() -> list[Case]:
    X, y = _xy(10)

    def margins_two_classes():
        return all(len(np.unique(datasets.linearly_separable(50, rng(s), margin=0.9)[1])) == 2 for s in range(200))

    return [
        val("linearly_separable(50, margin=0.9) has two classes for 200 seeds", margins_two_classes, bool),
        val("linearly_separable keeps its margin", lambda: datasets.linearly_separable(60, rng(3), margin=0.5),
            lambda xy: len(np.unique(xy[1])) == 2),
        err("linearly_separable(0)", lambda: datasets.linearly_separable(0, rng()), "n"),
        err("linearly_separable(margin=1.0)", lambda: datasets.linearly_separable(10, rng(), margin=1.0), "margin"),
        err("linearly_separable(margin=-1)", lambda: datasets.linearly_separable(10, rng(), margin=-1), "margin"),
        err("linearly_separable(rng=None)", lambda: datasets.linearly_separable(10, None), "rng"),
        err("non_separable(flip=0.7)", lambda: datasets.non_separable(10, rng(), flip=0.7), "flip"),
        err("non_separable(n=0)", lambda: datasets.non_separable(0, rng()), "n"),
        err("moons(0)", lambda: datasets.moons(0, rng()), "n"),
        err("moons(noise=-1)", lambda: datasets.moons(10, rng(), noise=-1), "noise"),
        err("spirals(turns=0)", lambda: datasets.spirals(10, rng(), turns=0), "turns"),
        err("circles(factor=1.0)", lambda: datasets.circles(10, rng(), factor=1.0), "factor"),
        err("logic_gate('xor')", lambda: datasets.logic_gate("xor"), "name"),
        err("train_test_split: y longer than X", lambda: datasets.train_test_split(X, np.r_[y, 1], 0.3, rng()), "y"),
        err("train_test_split: y shorter than X", lambda: datasets.train_test_split(X, y[:-1], 0.3, rng()), "y"),
        err("train_test_split(test_fraction=0.99) on 10 rows",
            lambda: datasets.train_test_split(X, y, 0.99, rng()), "test_fraction"),
        err("train_test_split(test_fraction=1.0)", lambda: datasets.train_test_split(X, y, 1.0, rng()), "test_fraction"),
        err("train_test_split(test_fraction=0)", lambda: datasets.train_test_split(X, y, 0, rng()), "test_fraction"),
        err("train_test_split: one row", lambda: datasets.train_test_split(X[:1], y[:1], 0.5, rng()), "X",
            "test_fraction"),
        err("train_test_split: X None", lambda: datasets.train_test_split(None, y, 0.3, rng()), "X"),
        err("train_test_split: rng=None", lambda: datasets.train_test_split(X, y, 0.3, None), "rng"),
        val("train_test_split: lists", lambda: datasets.train_test_split(X.tolist(), y.tolist(), 0.3, rng()),
            lambda s: len(s[0]) == 7 and len(s[3]) == 3),
        err("subject_task(n=0)", lambda: sequence_tasks.subject_task(0, 3, rng()), "n"),
        err("subject_task(n_fillers=-1)", lambda: sequence_tasks.subject_task(4, -1, rng()), "n_fillers"),
        err("seq2seq_task('foo')", lambda: sequence_tasks.seq2seq_task("foo", 4, 5, rng()), "kind"),
        err("seq2seq_task(length=0)", lambda: sequence_tasks.seq2seq_task("reverse", 4, 0, rng()), "length"),
    ]


def _gradcheck_cases() -> list[Case]:
    x = data((3, 2))
    return [
        err("numerical_gradient on a list", lambda: numerical_gradient(lambda: 0.0, [1.0, 2.0], np.ones(())), "x"),
        err("numerical_gradient on float32", lambda: numerical_gradient(lambda: 0.0, np.ones(2, np.float32),
                                                                         np.ones(())), "x"),
        err("numerical_gradient(f=5)", lambda: numerical_gradient(5, np.ones(2), np.ones(())), "f"),
        err("numerical_gradient(h=0)", lambda: numerical_gradient(lambda: 0.0, np.ones(2), np.ones(()), h=0), "h"),
        err("check_layer on a float32 layer", lambda: check_layer(Dense(2, 2, rng()), x, rng()), "W"),
        err("check_layer with a float32 x", lambda: check_layer(Dense(2, 2, rng(), dtype=np.float64),
                                                                x.astype(np.float32), rng()), "x"),
        err("check_layer(layer=5)", lambda: check_layer(5, x, rng()), "layer"),
        err("check_layer(rng=None)", lambda: check_layer(Dense(2, 2, rng(), dtype=np.float64), x, None), "rng"),
        val("check_layer on a float64 Dense", lambda: check_layer(Dense(2, 2, rng(), dtype=np.float64), x, rng()),
            lambda e: max(e.values()) < 1e-7),
        err("rel_error of different shapes", lambda: rel_error(np.ones(2), np.ones(3)), "a", "b"),
    ]


def _checkpoint_cases(tmp: Path) -> list[Case]:
    m = lambda s=0: Sequential(Dense(2, 3, rng(s)), BatchNorm1d(3))     # noqa: E731
    good = m().save(tmp / "good.npz")
    (tmp / "folder").mkdir()
    (tmp / "text.npz").write_text("not a zip")
    (tmp / "empty.npz").write_bytes(b"")
    (tmp / "truncated.npz").write_bytes(good.read_bytes()[:200])
    np.save(tmp / "array.npy", np.zeros(3))
    with np.load(good) as d:
        arrays = {k: d[k] for k in d.files}
    np.savez(tmp / "noarch.npz", **{k: v for k, v in arrays.items() if k != "architecture"})
    np.savez(tmp / "objects.npz", **dict(arrays, **{"param:0.b": np.array(["a", "b", "c"])}))
    np.savez(tmp / "huge.npz", **dict(arrays, **{"param:0.W": np.full((2, 3), 1e300)}))
    np.savez(tmp / "fraction.npz", **dict(arrays, **{"buffer:1.num_batches_tracked": np.array(1.5)}))
    Sequential(Dense(2, 4, rng())).save(tmp / "other.npz")

    def load_keeps(name):
        model = m(1)
        before = [v.copy() for v in (*model.params.values(), *model.buffers.values())]
        try:
            model.load(tmp / name)
        finally:
            now = [*model.params.values(), *model.buffers.values()]
            if not all(np.array_equal(a, b) for a, b in zip(before, now)):
                return "the model was changed"
        return "loaded"

    cases = [
        val("save('model') writes model.npz and load('model') reads it",
            lambda: (m().save(tmp / "model"), m(1).load(tmp / "model")),
            lambda o: o[0].name == "model.npz" and np.array_equal(o[1].params["0.W"], m().params["0.W"])),
        err("save(None)", lambda: m().save(None), "path"),
        err("save(5)", lambda: m().save(5), "path"),
        err("save(<a folder>)", lambda: m().save(tmp / "folder"), "path"),
        err("save(<a missing folder>/m.npz)", lambda: m().save(tmp / "missing" / "m.npz"), "path"),
        err("load(<missing>)", lambda: m().load(tmp / "nothing.npz"), "path"),
        err("load(<a folder>)", lambda: m().load(tmp / "folder"), "path"),
        err("load(None)", lambda: m().load(None), "path"),
        err("save(meta=[1])", lambda: m().save(tmp / "meta1", meta=[1]), "meta"),
        err("save(meta with an array)", lambda: m().save(tmp / "meta2", meta={"a": np.zeros(2)}), "meta"),
        err("save(extras=[1])", lambda: m().save(tmp / "ex1", extras=[1]), "extras"),
        err("save(extras with an object array)", lambda: m().save(tmp / "ex2", extras={"a": [{}]}), "extras['a']"),
        err("save(extras with a non-string name)", lambda: m().save(tmp / "ex3", extras={1: np.zeros(2)}), "extras"),
        val("save(meta=…, extras=…) then load ignores them", lambda: m(1).load(
            m().save(tmp / "withmeta", meta={"seed": 0}, extras={"h": np.arange(3.0)})),
            lambda mm: np.array_equal(mm.params["0.W"], m().params["0.W"])),
    ]
    for name in ("text.npz", "empty.npz", "truncated.npz", "array.npy", "noarch.npz", "objects.npz", "huge.npz",
                 "fraction.npz", "other.npz"):
        cases.append(err(f"load({name})", lambda name=name: load_keeps(name), str(tmp / name)))
    return cases


def _mnist_cases(tmp: Path) -> list[Case]:
    (tmp / "a-file").write_text("x")
    return [
        err("load_mnist(dtype=int)", lambda: mnist.load_mnist(dtype=np.int32), "dtype"),
        err("load_mnist(dtype='foo')", lambda: mnist.load_mnist(dtype="foo"), "dtype"),
        err("load_mnist(data_dir=<a file>)", lambda: mnist.load_mnist(tmp / "a-file", download=False), "data_dir"),
        err("load_mnist(data_dir=5)", lambda: mnist.load_mnist(5, download=False), "data_dir"),
        err("parse_idx(b'')", lambda: mnist.parse_idx(b"", "f"), "f"),
        err("parse_idx(None)", lambda: mnist.parse_idx(None, "f"), "data", "f"),
        err("stratified_indices(n=0)", lambda: mnist.stratified_indices(np.arange(10) % 2, 0, rng()), "n"),
        err("stratified_indices(n > rows)", lambda: mnist.stratified_indices(np.arange(10) % 2, 11, rng()), "n"),
    ]


def _chapter_cases() -> list[Case]:
    import seq2seq  # 09-attention
    make = lambda: seq2seq.Seq2Seq(7, 6, rng(0), embed_size=4, hidden_size=5, attention="bahdanau")   # noqa: E731
    src = np.array([[1, 2, 3], [4, 5, 6]])
    return [
        err("greedy_decode(bos=-1)", lambda: make().greedy_decode(src, 3, bos=-1), "bos"),
        err("greedy_decode(bos=1.5)", lambda: make().greedy_decode(src, 3, bos=1.5), "bos"),
        err("greedy_decode(bos=99)", lambda: make().greedy_decode(src, 3, bos=99), "bos"),
        err("greedy_decode(bos=True)", lambda: make().greedy_decode(src, 3, bos=True), "bos"),
        err("greedy_decode(max_len=0)", lambda: make().greedy_decode(src, 0, bos=0), "max_len"),
        err("Seq2Seq: src with T = 0", lambda: make().greedy_decode(src[:, :0], 3, bos=0), "src"),
        err("Seq2Seq: float src", lambda: make().greedy_decode(src.astype(float), 3, bos=0), "src"),
        val("greedy_decode(bos=np.int64(0))", lambda: make().greedy_decode(src, 3, bos=np.int64(0)),
            lambda o: o.shape == (2, 3)),
    ]


def all_cases(tmp: Path) -> list[Case]:
    cases = []
    for spec in _specs():
        cases += _layer_cases(spec)
    cases += _embedding_cases() + _sequence_extra_cases() + _attention_cases() + _function_cases()
    cases += _loss_cases() + _training_cases() + _optimizer_cases() + _constructor_cases() + _dataset_cases()
    cases += _gradcheck_cases() + _checkpoint_cases(tmp / "ckpt") + _mnist_cases(tmp) + _chapter_cases()
    return cases


def run(tmp: Path | None = None) -> list[tuple[Case, str, str]]:
    """Every case with its (category, detail)."""
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch) if tmp is None else tmp
        (tmp / "ckpt").mkdir(parents=True, exist_ok=True)
        cases = all_cases(tmp)
        return [(c, *classify(c)) for c in cases]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--all", action="store_true", help="print every case, not only the problems")
    args = parser.parse_args(argv)
    results = run()
    counts = Counter(cat for _, cat, _ in results)
    for case, cat, detail in results:
        if args.all or cat in PROBLEMS:
            print(f"{cat:8s} {case.name}: {detail}")
    print()
    print(f"cases {len(results)}  " + "  ".join(f"{c} {counts.get(c, 0)}" for c in CATEGORIES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
