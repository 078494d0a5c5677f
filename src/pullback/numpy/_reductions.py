"""Reductions of pullback.numpy: sum, mean, max, min, var, std with NumPy's signatures."""

from __future__ import annotations

import builtins
import math

import numpy as _np

from ..primitives import elementwise as ew
from ..primitives import reductions as red
from ..primitives._util import dtype_of, normalize_axis, shape_of
from ._shapes import asarray
from ._ufuncs import _check_kwargs, astype


def _count(x, axis) -> int:
    shape = shape_of(x)
    if axis is None:
        return math.prod(shape)
    return math.prod(shape[a] for a in axis)


def _masked(x, where, fill):
    if where is True:
        return x
    return ew.select(where, x, fill)


def sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    """Σ a over axis (differentiable numpy.sum)."""
    _check_kwargs("sum", out)
    a = asarray(a)
    if dtype is not None:
        a = astype(a, dtype)
    elif dtype_of(a).kind in "b":
        a = astype(a, _np.int_)
    axis = normalize_axis(axis, len(shape_of(a)))
    r = red.reduce_sum(_masked(a, where, 0), axis=axis, keepdims=bool(keepdims))
    if initial is not None:
        r = ew.add(r, initial)
    return r


def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=True):
    """Arithmetic mean over axis; integer input gives float64, like NumPy."""
    _check_kwargs("mean", out)
    a = asarray(a)
    if dtype is None and dtype_of(a).kind in "biu":
        dtype = _np.float64
    if dtype is not None:
        a = astype(a, dtype)
    ax = normalize_axis(axis, len(shape_of(a)))
    if where is True:
        n = _count(a, ax)
        return ew.divide(red.reduce_sum(a, axis=ax, keepdims=bool(keepdims)), float(n) if n else _np.nan)
    w = _np.broadcast_to(where, shape_of(a))
    total = red.reduce_sum(ew.select(w, a, 0), axis=ax, keepdims=bool(keepdims))
    return ew.divide(total, _np.sum(w, axis=ax, keepdims=bool(keepdims)).astype(dtype_of(total)))


def _extremum(name, prim):
    def fn(a, axis=None, out=None, keepdims=False, initial=None, where=True):
        _check_kwargs(name, out)
        a = asarray(a)
        ax = normalize_axis(axis, len(shape_of(a)))
        if where is not True:
            if initial is None:
                raise ValueError(f"reduction operation '{name}' with where= needs an initial value")
            a = ew.select(where, a, initial)
        r = prim(a, axis=ax, keepdims=bool(keepdims))
        if initial is not None:
            r = (ew.maximum if name.endswith("max") else ew.minimum)(r, initial)
        return r

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"numpy.{name}; entries tied for the extremum share its derivative equally."
    return fn


max = amax = _extremum("max", red.reduce_max)
min = amin = _extremum("min", red.reduce_min)


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, mean=None, correction=None):
    """Variance Σ|a − ā|²/(N − ddof)."""
    _check_kwargs("var", out, where)
    a = asarray(a)
    if correction is not None:
        ddof = correction
    if dtype is None and dtype_of(a).kind in "biu":
        dtype = _np.float64
    if dtype is not None:
        a = astype(a, dtype)
    ax = normalize_axis(axis, len(shape_of(a)))
    n = _count(a, ax)
    centre = globals()["mean"](a, axis=axis, keepdims=True) if mean is None else mean
    d = ew.subtract(a, centre)
    sq = ew.real(ew.multiply(d, ew.conj(d))) if dtype_of(d).kind == "c" else ew.multiply(d, d)
    denom = builtins.max(n - ddof, 0)
    return ew.divide(red.reduce_sum(sq, axis=ax, keepdims=bool(keepdims)), float(denom) if denom else _np.nan)


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, mean=None, correction=None):
    """Standard deviation √var."""
    return ew.UNARY["sqrt"](
        var(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims, where=where, mean=mean,
            correction=correction)
    )


__all__ = ['amax', 'amin', 'max', 'mean', 'min', 'std', 'sum', 'var']
METHODS: dict = {}
