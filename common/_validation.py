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


def check_int_pair(name: str, pair, *, low_min: int = 0) -> tuple[int, int]:
    """``pair`` as ``(low, high)`` ints with ``low_min <= low <= high``, or a ``ValueError`` naming ``name``.
    Introduced for chapter 08's filler ranges and chapter 09's sequence lengths."""
    try:
        lo, hi = (int(v) for v in pair)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high) of integers, got {pair!r}") from None
    if lo < low_min or hi < lo:
        raise ValueError(f"{name} must satisfy {low_min} <= low <= high, got {pair!r}")
    return lo, hi


def check_generator(name: str, rng) -> None:
    """Raise ``ValueError`` unless ``rng`` is a ``numpy.random.Generator`` (never the global state)."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"{name} must be a numpy.random.Generator (e.g. np.random.default_rng(0)), got {type(rng).__name__}"
        )


def _check_ndim(name: str, x: np.ndarray, ndim) -> np.ndarray:
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if x.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(f"{name} must have {want} dimensions, got shape {x.shape}")
    return x


def check_array(name: str, x, *, ndim: int | tuple[int, ...] | None = None) -> np.ndarray:
    """Return ``x`` as an ndarray, raising ``ValueError`` if it has the wrong number of dimensions."""
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    return _check_ndim(name, x, ndim)


def check_choice(name: str, value, choices) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices, key=str)}, got {value!r}")


# ---- the one rule for the values float layers, losses and functions compute with --------------------------

_REAL = "a real (float or integer) array"


def check_float_array(name: str, x, dtype=None, *, ndim: int | tuple[int, ...] | None = None) -> np.ndarray:
    """``x`` as a float ndarray, by the one rule every forward pass, loss and activation follows.

    - a float array is returned as it is (no copy, no change of dtype: float inputs give bitwise the
      numbers they always gave);
    - an integer or bool array (or a nested list of them) is promoted to ``dtype`` before any arithmetic:
      the layer's parameter dtype, or float64 (``dtype=None``) for a layer or function without parameters.
      ``Sigmoid`` of the integers -2…2 is then σ(-2)…σ(2), never the integer 0;
    - complex, object and string arrays, ``None`` and ragged lists are refused with a ``ValueError``
      naming the argument: "x must be a real (float or integer) array, got dtype complex128".

    >>> check_float_array("x", np.array([1, 2])).dtype
    dtype('float64')
    >>> check_float_array("x", [[1, 2]], np.float32).dtype
    dtype('float32')
    """
    if x is None:
        raise ValueError(f"{name} must be {_REAL}, got None")
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except (ValueError, TypeError) as e:
            raise ValueError(f"{name} must be {_REAL}; NumPy cannot make an array of this "
                             f"{type(x).__name__} ({e})") from None
    kind = x.dtype.kind
    if kind in "iub":
        x = x.astype(np.float64 if dtype is None else dtype)
    elif kind != "f":
        raise ValueError(f"{name} must be {_REAL}, got dtype {x.dtype}")
    return _check_ndim(name, x, ndim)


def check_grad(name: str, g, shape: tuple[int, ...], dtype=None) -> np.ndarray:
    """An upstream gradient (``dout``) by the same rule, which must have exactly ``shape`` (the shape of
    what the forward pass returned): ``None`` or a broadcastable but different shape is a ``ValueError``
    naming it, never a NumPy error from three lines deeper or a silently broadcast gradient."""
    shape = tuple(shape)
    if g is None:
        raise ValueError(f"{name} must be an array of shape {shape} (the shape of the forward output), got None")
    g = check_float_array(name, g, dtype)
    if g.shape != shape:
        raise ValueError(f"{name} must have shape {shape} (the shape of the forward output), got {g.shape}")
    return g


def check_float_dtype(name: str, dtype) -> np.dtype:
    """``dtype`` as a NumPy float dtype (float32 or float64, the dtypes parameters are kept in), or a
    ``ValueError``: ``Dense(..., dtype=np.int64)`` would make a layer whose every update rounds to an
    integer."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"{name} must be a float dtype (np.float32 or np.float64), got {dtype!r}") from None
    if dt.kind != "f":
        raise ValueError(f"{name} must be a float dtype (np.float32 or np.float64), got {dt.name}")
    return dt


def check_bool(name: str, value) -> None:
    """Raise ``ValueError`` unless ``value`` is True or False (not a string such as "no", which is truthy)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def check_callable(name: str, value, what: str, *, allow_none: bool = False) -> None:
    """Raise ``ValueError`` unless ``value`` can be called (``what`` says with what), or is None when allowed."""
    if value is None and allow_none:
        return
    if not callable(value):
        raise ValueError(f"{name} must be a function {what}, got {value!r}")


def param_dtype(layer):
    """The dtype an integer input of ``layer`` is promoted to: its first parameter's, or None (float64)
    for a layer without parameters."""
    for p in layer.params.values():
        return p.dtype
    return None
