"""Helpers shared by the families of pullback.numpy: the leaf of the package.

It imports nothing from pullback.numpy (only core, primitives and errors), so every family
module can use it. What lives here is argument handling common to many NumPy functions:
is an argument traced, what is its plain value, which keyword arguments can be honoured.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as _np

from ..core.backend import NUMPY_TYPES, backend_of
from ..core.trace import Tracer
from ..errors import BackendError, PullbackError, UnsupportedFunctionError


def traced(*args: Any) -> bool:
    """True when any argument (or an element of a list/tuple argument, nested) is a traced value, or an
    array of another library (Dask, torch ...): either way the function goes through the primitives."""
    return contains_tracer(args)


def _through_primitives(x: Any) -> bool:
    return isinstance(x, Tracer) or (type(x) not in NUMPY_TYPES and backend_of(x) is not None)


def contains_tracer(seq: Any) -> bool:
    """True when the (nested) list or tuple seq holds a traced value (or another library's array)."""
    for x in seq:
        if _through_primitives(x):
            return True
        if isinstance(x, (list, tuple)) and contains_tracer(x):
            return True
    return False


def is_traced(*xs: Any) -> bool:
    """True when one of the arguments themselves (not their elements) is a traced value."""
    return any(_through_primitives(x) for x in xs)


def concrete(x: Any) -> _np.ndarray:
    """x's plain value, for functions whose output shape depends on the values (unique, nonzero ...);
    while staging (jit) there is none, and the staging trace says so."""
    return numpy_value(x.concrete() if isinstance(x, Tracer) else x)


def numpy_value(x: Any) -> _np.ndarray:
    """x (a plain value) as a NumPy array; BackendError for another library's array (never converted)."""
    bk = backend_of(x) if type(x) not in NUMPY_TYPES else None
    if bk is not None:
        raise BackendError(
            f"this function needs the values of its {bk.name} argument (its output's shape depends on them, or "
            "it runs in NumPy); pullback does not convert them. Convert explicitly (e.g. x.compute() for Dask, "
            "x.numpy() for torch) or use a function whose output shape does not depend on the values."
        )
    return _np.asarray(x)


def concrete_or_none(x: Any) -> Any:
    """The plain value of x when one exists (not while staging), for NumPy's value checks and warnings."""
    if not isinstance(x, Tracer):
        if type(x) not in NUMPY_TYPES and backend_of(x) is not None:
            return None  # another library's values are not read back (a Dask array would be computed)
        return x
    try:
        v = x.concrete()
    except PullbackError:
        return None
    return None if type(v) not in NUMPY_TYPES and backend_of(v) is not None else v


def one_axis(axis: Any, ndim: int) -> int:
    """A single axis argument as a non-negative int, with NumPy's AxisError."""
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise _np.exceptions.AxisError(axis, ndim)
    return axis % ndim


def check_kwargs(name: str, out: Any = None, where: Any = True, dtype: Any = None, **kwargs: Any) -> None:
    """Refuse what a traced call cannot honour: out= arrays, where= masks, unknown keywords.

    casting, order and subok are accepted and ignored (they do not change the values).
    """
    if out is not None and not (isinstance(out, tuple) and all(o is None for o in out)):
        raise UnsupportedFunctionError(
            f"pullback.numpy.{name}(..., out=...): output arrays cannot be traced; use the return value."
        )
    if where is not True:
        raise UnsupportedFunctionError(
            f"pullback.numpy.{name}(..., where=...): use pullback.numpy.where(mask, {name}(...), fallback) instead."
        )
    kwargs.pop("casting", None)
    kwargs.pop("order", None)
    kwargs.pop("subok", None)
    if kwargs:
        raise TypeError(f"pullback.numpy.{name}() got unsupported keyword arguments {sorted(kwargs)}")


def method(fn: Callable) -> Callable:
    """fn as an ndarray method for traced values: x.name(*args) == fn(x, *args)."""

    def m(self, *args, **kwargs):
        return fn(self, *args, **kwargs)

    m.__name__ = fn.__name__
    return m


def along(axis: int, item: Any) -> tuple:
    """The index that applies `item` (a slice, an int, an index array) to axis `axis` only."""
    return (slice(None),) * axis + (item,)
