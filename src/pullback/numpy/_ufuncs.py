"""Elementwise functions of pullback.numpy, with NumPy's names and signatures."""

from __future__ import annotations

from typing import Any

import numpy as _np

from ..core.trace import Tracer
from ..errors import UnsupportedFunctionError
from ..primitives import elementwise as ew


def _check_kwargs(name: str, out=None, where=True, dtype=None, **kwargs):
    if out is not None:
        raise UnsupportedFunctionError(
            f"pullback.numpy.{name}(..., out=...): output arrays cannot be traced; use the return value."
        )
    if where is not True:
        raise UnsupportedFunctionError(
            f"pullback.numpy.{name}(..., where=...): use pullback.numpy.where(mask, {name}(...), fallback) instead."
        )
    if kwargs:
        raise TypeError(f"pullback.numpy.{name}() got unsupported keyword arguments {sorted(kwargs)}")


def _cast(x, dtype):
    if dtype is None:
        return x
    return astype(x, dtype)


def astype(x: Any, dtype: Any) -> Any:
    """x converted to dtype; a conversion to an integer or boolean dtype carries no derivative."""
    dt = _np.dtype(dtype)
    if isinstance(x, Tracer):
        if x.dtype == dt:
            return x
        if dt.kind in "fc":
            return ew.convert(x, dtype=dt)
        return ew.convert_nondiff(x, dtype=dt)
    return _np.asarray(x).astype(dt)


def _unary_fn(name: str, prim):
    bind = prim.bind

    def fn(x, /, out=None, *, where=True, dtype=None, **kwargs):
        if out is None and where is True and dtype is None and not kwargs:
            return bind(x)
        _check_kwargs(name, out, where, None, **kwargs)
        return bind(_cast(x, dtype))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Differentiable numpy.{name}."
    return fn


def _binary_fn(name: str, prim):
    bind = prim.bind

    def fn(x1, x2, /, out=None, *, where=True, dtype=None, **kwargs):
        if out is None and where is True and dtype is None and not kwargs:
            return bind(x1, x2)
        _check_kwargs(name, out, where, None, **kwargs)
        return bind(_cast(x1, dtype), _cast(x2, dtype))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Differentiable numpy.{name}."
    return fn


UNARY = {name: _unary_fn(name, prim) for name, prim in ew.UNARY.items()}
UNARY.update({name: _unary_fn(name, prim) for name, prim in ew.NONDIFF_UNARY.items()})
UNARY.update(
    negative=_unary_fn("negative", ew.negative),
    absolute=_unary_fn("absolute", ew.absolute),
    conjugate=_unary_fn("conjugate", ew.conj),
)
BINARY = {name: _binary_fn(name, prim) for name, prim in ew.NONDIFF_BINARY.items()}
BINARY.update(
    add=_binary_fn("add", ew.add),
    subtract=_binary_fn("subtract", ew.subtract),
    multiply=_binary_fn("multiply", ew.multiply),
    divide=_binary_fn("divide", ew.divide),
    power=_binary_fn("power", ew.power),
    maximum=_binary_fn("maximum", ew.maximum),
    minimum=_binary_fn("minimum", ew.minimum),
    arctan2=_binary_fn("arctan2", ew.arctan2),
    hypot=_binary_fn("hypot", ew.hypot),
)
BINARY["true_divide"] = BINARY["divide"]
UNARY["abs"] = UNARY["absolute"]
UNARY["conj"] = UNARY["conjugate"]


def positive(x, /, out=None, **kwargs):
    """Differentiable numpy.positive (+x)."""
    _check_kwargs("positive", out, **kwargs)
    return x


def real(val):
    """Re(val)."""
    if isinstance(val, Tracer):
        return ew.real(val) if val.dtype.kind == "c" else val
    return _np.real(val)


def imag(val):
    """Im(val) (zeros for real input)."""
    if isinstance(val, Tracer):
        return ew.imag(val) if val.dtype.kind == "c" else ew.multiply(val, 0.0)
    return _np.imag(val)


def where(condition, x=None, y=None, /):
    """where(condition, x, y): elementwise choice; the condition carries no derivative."""
    if x is None and y is None:
        from ..core.trace import full_lower

        return _np.where(full_lower(condition))
    if x is None or y is None:
        raise ValueError("either both or neither of x and y should be given")
    return ew.select(condition, x, y)


globals().update(UNARY)
globals().update(BINARY)
__all__ = sorted(set(["astype", "imag", "positive", "real", "where"]) | set(UNARY) | set(BINARY))
METHODS: dict = {}
