"""What every checker shares: the result, calling the learner's function safely, and comparing arrays
with a message that names the first wrong entry.

A checker is a function ``check_x(fn)`` written with the ``@checker`` decorator: its body calls the
learner's function through ``call``, compares what came back with ``compare`` (against the library's own
layer or function) and, for gradients, with ``against_finite_differences``, and returns the sentence
printed on success. Any helper that finds a problem raises ``_Verdict``, which ends the check with that
message: so the first problem found is the one reported, and nothing after it runs.
"""

from __future__ import annotations

import functools
import traceback
import zlib
from dataclasses import dataclass

import numpy as np

from ..gradcheck import numerical_gradient, rel_error

PASSED, FAILED, NOT_DONE = "passed", "failed", "not done"


@dataclass(frozen=True)
class Result:
    """What a checker returns (and prints): ``passed`` is True only for a correct answer; ``done`` is
    False while the function is still the shipped blank."""

    exercise: str
    status: str
    message: str

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    @property
    def done(self) -> bool:
        return self.status != NOT_DONE

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"Result({self.exercise!r}, {self.status!r})"


class _Verdict(Exception):
    """Raised by the helpers below to end a check with a result."""

    def __init__(self, status: str, text: str) -> None:
        super().__init__(text)
        self.status, self.text = status, text


def fail(text: str, hint: str | None = None) -> None:
    raise _Verdict(FAILED, text + (f"\n  Hint: {hint}" if hint else ""))


def not_done(text: str = "") -> None:
    raise _Verdict(NOT_DONE, text)


def seed_for(name: str) -> int:
    """A fixed seed per exercise, so a checker draws the same random inputs every time it runs."""
    return zlib.crc32(name.encode())


def checker(name: str, function: str):
    """Make ``body(fn) -> success sentence`` into the public checker ``check_…(fn, verbose=True)``.

    ``function`` is the name the learner's function has in the notebook (used in messages)."""

    def wrap(body):
        @functools.wraps(body)
        def check(fn, *, verbose: bool = True) -> Result:
            try:
                if not callable(fn):
                    fail(f"pass the function itself, e.g. {body.__name__}({function}), got {type(fn).__name__}")
                result = Result(name, PASSED, f"✓ {function}: correct. {body(fn)}")
            except _Verdict as v:
                if v.status == NOT_DONE:
                    extra = f" ({v.text})" if v.text else ""
                    text = (f"… {function}: not done yet{extra}. Write your code in its cell in place of "
                            "`raise NotImplementedError`, run that cell, then run this check again.")
                else:
                    text = f"✗ {function}: {v.text}"
                result = Result(name, v.status, text)
            if verbose:
                print(result.message)
            return result

        check.exercise_name = name
        check.function_name = function
        return check

    return wrap


# --------------------------------------------------------------------------------------------------------
# Calling the learner's function
# --------------------------------------------------------------------------------------------------------

def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array{value.shape}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)) and len(value) > 4:
        return f"{type(value).__name__} of {len(value)}"
    if isinstance(value, np.random.Generator):
        return "rng"
    return repr(value)


def _copy(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def call(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` on copies of the arrays (so an in-place edit cannot change what the check
    compares against). The shipped blank (``NotImplementedError``, or ``None`` returned) is "not done";
    any other exception is a failure that names it, where it happened and what the function was given."""
    args = [_copy(a) for a in args]
    kwargs = {k: _copy(v) for k, v in kwargs.items()}
    name = getattr(fn, "__name__", "your function")
    try:
        out = fn(*args, **kwargs)
    except NotImplementedError:
        not_done()
    except Exception as e:                      # the learner's bug, reported as a message, not a traceback
        frames = traceback.extract_tb(e.__traceback__)[1:]
        where = f" (line {frames[-1].lineno} of {frames[-1].name})" if frames else ""
        given = ", ".join([_describe(a) for a in args] + [f"{k}={_describe(v)}" for k, v in kwargs.items()])
        fail(f"calling it raised {type(e).__name__}: {e}{where}\n  It was called as {name}({given}).",
             "check the shapes in the docstring; print the shape of each intermediate array.")
    if out is None or out is Ellipsis:
        not_done("it returned None; if you wrote code, check that it ends with `return`")
    return out


def unpack(out, names: tuple[str, ...], *, may_be_none: tuple[str, ...] = ()):
    """The learner's tuple of results, checked for its length; a None entry is "not done" unless its
    name is in ``may_be_none`` (None is then an answer)."""
    what = "(" + ", ".join(names) + ")"
    if not isinstance(out, (tuple, list)) or len(out) != len(names):
        got = f"{len(out)} values" if isinstance(out, (tuple, list)) else f"one {type(out).__name__}"
        fail(f"should return {len(names)} values {what}, got {got}")
    for n, v in zip(names, out):
        if v is None and n not in may_be_none:
            not_done(f"{n} is still None")
    return tuple(out)


# --------------------------------------------------------------------------------------------------------
# Comparing
# --------------------------------------------------------------------------------------------------------

def as_array(label: str, got) -> np.ndarray:
    if got is None:
        not_done(f"{label} is still None")
    try:
        a = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        fail(f"{label} should be an array of numbers, got {type(got).__name__}")
    return a


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def _index(idx) -> str:
    return "[" + ", ".join(str(int(i)) for i in idx) + "]"


def compare(label: str, expected, got, *, hint: str, case: str = "", mistakes: dict | None = None,
            rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Fail unless ``got`` equals ``expected`` (same shape, every entry close).

    The message names ``label`` and the first wrong entry (expected vs got). It gives one hint: when
    ``got`` matches one of ``mistakes`` (``{"what you did": what it gives}``, the typical wrong answers
    computed on the same inputs) the hint names that mistake; else a sign flip, a transpose or a
    constant factor is named when that is what differs; else ``hint``."""
    expected = np.asarray(expected, dtype=np.float64)
    g = as_array(label, got)
    where = f" ({case})" if case else ""
    mistakes = {k: v for k, v in (mistakes or {}).items() if v is not None}    # None: not possible here
    if g.shape != expected.shape:
        for what, wrong in mistakes.items():
            if np.shape(wrong) == g.shape:
                fail(f"{label}{where}: shape {g.shape}, expected {expected.shape}.",
                     f"that is the shape you get if you {what}.")
        extra = " (the transposed shape)" if g.ndim == 2 and g.shape == expected.shape[::-1] else ""
        fail(f"{label}{where}: shape {g.shape}{extra}, expected {expected.shape}.", hint)
    if not np.all(np.isfinite(g)):
        idx = np.argwhere(~np.isfinite(g))[0]
        fail(f"{label}{where}: entry {_index(idx)} is {g[tuple(idx)]}, expected {_fmt(expected[tuple(idx)])}.",
             hint)
    bad = ~np.isclose(g, expected, rtol=rtol, atol=atol)
    if not bad.any():
        return
    idx = tuple(np.argwhere(bad)[0])
    msg = (f"{label}{where}: entry {_index(idx)} is {_fmt(g[idx])}, expected {_fmt(expected[idx])}"
           f" ({int(bad.sum())} of {bad.size} entries differ).")
    fail(msg, diagnose(expected, g, mistakes) or hint)


def diagnose(expected: np.ndarray, got: np.ndarray, mistakes: dict) -> str | None:
    """Name what differs, when it is one of the typical mistakes or a simple relation."""
    close = lambda a, b: np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=1e-6, atol=1e-9)
    for what, wrong in mistakes.items():
        if close(got, np.asarray(wrong, dtype=np.float64)):
            return f"this is exactly what you get if you {what}."
    if not np.any(got):
        return "every entry is 0: is the result computed and returned?"
    if close(got, -expected):
        return "every entry has the wrong sign."
    if got.ndim == 2 and got.shape[0] == got.shape[1] and close(got, expected.T):
        return "this is the transpose of the right answer."
    nz = np.abs(expected) > 1e-8
    if nz.sum() >= 2 and not np.any(got[~nz]):
        ratio = got[nz] / expected[nz]
        if np.allclose(ratio, ratio[0], rtol=1e-6):
            return (f"every entry is {ratio[0]:.4g} times the right one: a missing or extra factor "
                    "(a mean instead of a sum, a 1/N, a scale)?")
    return None


def against_finite_differences(label: str, grad, f, x: np.ndarray, dout, *, case: str = "",
                               tol: float = 1e-6) -> float:
    """Fail unless ``grad`` is the gradient of ``Σ f() ⊙ dout`` with respect to ``x`` (which ``f`` reads
    and ``numerical_gradient`` perturbs in place) to a relative error below ``tol``; returns the error."""
    numeric = numerical_gradient(f, x, np.asarray(dout, dtype=np.float64))
    err = rel_error(as_array(label, grad), numeric)
    if err > tol:
        where = f" ({case})" if case else ""
        fail(f"{label}{where} disagrees with finite differences: relative error {err:.2g} (should be < {tol:g}).",
             "differentiate the forward pass once more, one operation at a time.")
    return err
