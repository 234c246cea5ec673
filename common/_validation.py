"""Argument checks shared by the library.

Every public entry point validates what it is given and raises a ``ValueError`` that names the argument
and the allowed values, so a learner sees "lr must be > 0, got -0.1" rather than a NumPy traceback from
three calls deeper.
"""

from __future__ import annotations

import numbers

import numpy as np


def check_positive(name: str, value, *, allow_zero: bool = False) -> None:
    """Raise ``ValueError`` unless ``value`` is a real number > 0 (or >= 0 with ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value!r}")


def check_positive_int(name: str, value, *, allow_zero: bool = False) -> None:
    """Raise ``ValueError`` unless ``value`` is an integer >= 1 (or >= 0 with ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    low = 0 if allow_zero else 1
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}")


def check_in_range(name: str, value, low: float, high: float, *, include_low=True, include_high=False) -> None:
    """Raise ``ValueError`` unless ``low <= value < high`` (brackets set by the flags)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    ok_low = value >= low if include_low else value > low
    ok_high = value <= high if include_high else value < high
    if not (ok_low and ok_high):
        lb = "[" if include_low else "("
        hb = "]" if include_high else ")"
        raise ValueError(f"{name} must be in {lb}{low}, {high}{hb}, got {value!r}")


def check_generator(name: str, rng) -> None:
    """Raise ``ValueError`` unless ``rng`` is a ``numpy.random.Generator`` (never the global state)."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"{name} must be a numpy.random.Generator (e.g. np.random.default_rng(0)), got {type(rng).__name__}"
        )


def check_array(name: str, x, *, ndim: int | tuple[int, ...] | None = None) -> np.ndarray:
    """Return ``x`` as an ndarray, raising ``ValueError`` if it has the wrong number of dimensions."""
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if x.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(f"{name} must have {want} dimensions, got shape {x.shape}")
    return x


def check_choice(name: str, value, choices) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices, key=str)}, got {value!r}")
