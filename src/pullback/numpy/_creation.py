"""Array creation in pullback.numpy (part of the shape family): the *_like constructors, full,
linspace, logspace, geomspace, and the as*array conversions.

Constants carry no derivative, so zeros_like & co. give plain arrays; a traced fill value or
traced end points give a traced result, computed with NumPy's own formula step by step.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as _np

from ..core.trace import Tracer, full_lower
from ..errors import PullbackError
from ..primitives import elementwise as ew
from ..primitives._util import dtype_of, shape_of
from ._helpers import traced
from ._indexing import at
from ._shapes import asarray, broadcast_to, expand_dims, moveaxis, reshape
from ._ufuncs import astype


def _concrete_or_none(x):
    """x's plain value, or None while staging (no value is known)."""
    try:
        return _np.asarray(full_lower(x))
    except PullbackError:
        return None


def _like_shape(a, shape):
    return shape_of(a) if shape is None else shape


def zeros_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None) -> Any:
    """Plain zeros (constants carry no derivative)."""
    if not isinstance(a, Tracer):
        return _np.zeros_like(a, dtype=dtype, order=order, subok=subok, shape=shape)
    return _np.zeros(_like_shape(a, shape), dtype or dtype_of(a))


def ones_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None) -> Any:
    if not isinstance(a, Tracer):
        return _np.ones_like(a, dtype=dtype, order=order, subok=subok, shape=shape)
    return _np.ones(_like_shape(a, shape), dtype or dtype_of(a))


def empty_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None) -> Any:
    if not isinstance(a, Tracer):
        return _np.empty_like(a, dtype=dtype, order=order, subok=subok, shape=shape)
    return _np.empty(_like_shape(a, shape), dtype or dtype_of(a))


def _traced_full(shape, fill_value, dtype):
    shape = (operator.index(shape),) if isinstance(shape, (int, _np.integer)) else tuple(shape)
    fill = astype(fill_value, dtype) if dtype is not None else fill_value
    return broadcast_to(fill, shape)


def full(shape, fill_value, dtype=None, order="C", *, device=None, like=None) -> Any:
    """numpy.full; a traced fill value gives a traced array (differentiable in the fill value)."""
    if traced(fill_value):
        return _traced_full(shape, asarray(fill_value), dtype)
    return _np.full(shape, fill_value, dtype=dtype, order=order)


def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, *, device=None) -> Any:
    """numpy.full_like; a traced fill value gives a traced array (differentiable in the fill value)."""
    if traced(fill_value):
        return _traced_full(_like_shape(a, shape), asarray(fill_value), dtype or dtype_of(a))
    if not isinstance(a, Tracer):
        return _np.full_like(a, fill_value, dtype=dtype, order=order, subok=subok, shape=shape)
    return _np.full(_like_shape(a, shape), fill_value, dtype or dtype_of(a))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *, device=None):
    """numpy.linspace; traced start/stop give a traced result (NumPy's own formula, step by step)."""
    if not traced(start, stop):
        return _np.linspace(start, stop, num, endpoint, retstep, dtype, axis)
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    div = (num - 1) if endpoint else num
    start, stop = asarray(start), asarray(stop)
    dt = _np.result_type(dtype_of(start), dtype_of(stop), float)
    start, stop = astype(start, dt), astype(stop, dt)
    delta = ew.subtract(stop, start)
    y = _np.arange(0, num, dtype=dt).reshape((-1,) + (1,) * len(shape_of(delta)))
    if div > 0:
        step = ew.divide(delta, float(div))
        known = _concrete_or_none(step)  # staged: the denormal special case cannot be decided
        step_zero = known is not None and bool(_np.any(known == 0))
        y = ew.multiply(y / div, delta) if step_zero else ew.multiply(y, step)
    else:
        step = _np.nan
        y = ew.multiply(y, delta)
    y = ew.add(y, start)
    if endpoint and num > 1:
        y = at(y)[-1, ...].set(stop)
    if axis != 0:
        y = moveaxis(y, 0, axis)
    if dtype is not None:
        if _np.issubdtype(dtype, _np.integer):
            y = ew.NONDIFF_UNARY["floor"](y)
        y = astype(y, dtype)
    return (y, step) if retstep else y


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """numpy.logspace: base ** linspace(start, stop); differentiable in start, stop and base."""
    if not traced(start, stop, base):
        return _np.logspace(start, stop, num, endpoint, base, dtype, axis)
    y = linspace(start, stop, num=num, endpoint=endpoint, axis=axis)
    base = asarray(base)
    if len(shape_of(base)):
        base = expand_dims(base, axis)
    y = ew.power(base, y)
    return y if dtype is None else astype(y, dtype)


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """numpy.geomspace; traced start/stop give a traced result (NumPy's rotation and logspace)."""
    if not traced(start, stop):
        return _np.geomspace(start, stop, num, endpoint, dtype, axis)
    start, stop = asarray(start), asarray(stop)
    for end in (start, stop):
        known = _concrete_or_none(end)
        if known is not None and _np.any(known == 0):
            raise ValueError("Geometric sequence cannot include zero")
    dt = _np.result_type(dtype_of(start), dtype_of(stop), float(num), _np.zeros((), dtype))
    start, stop = astype(start, dt), astype(stop, dt)
    out_sign = ew.sign(start)  # constant: it cancels in the value, so it carries no derivative
    start, stop = ew.divide(start, out_sign), ew.divide(stop, out_sign)
    log10 = ew.UNARY["log10"]
    result = logspace(log10(start), log10(stop), num=num, endpoint=endpoint, base=10.0, dtype=dt)
    if num > 0:
        result = at(result)[0].set(start)
        if num > 1 and endpoint:
            result = at(result)[-1].set(stop)
    result = ew.multiply(result, out_sign)
    if axis != 0:
        result = moveaxis(result, 0, axis)
    return astype(result, dt if dtype is None else dtype)


def asanyarray(a, dtype=None, order=None, *, device=None, copy=None, like=None):
    """numpy.asanyarray: traced values stay traced (there are no subclasses to keep)."""
    return asarray(a, dtype=dtype, order=order, copy=copy)


def ascontiguousarray(a, dtype=None, *, like=None):
    """numpy.ascontiguousarray: traced values stay traced (they have no memory layout to change)."""
    if not traced(a):
        return _np.ascontiguousarray(a, dtype=dtype)
    out = asarray(a, dtype=dtype)
    return _at_least_1d(out)


def asfortranarray(a, dtype=None, *, like=None):
    """numpy.asfortranarray: traced values stay traced (they have no memory layout to change)."""
    if not traced(a):
        return _np.asfortranarray(a, dtype=dtype)
    return _at_least_1d(asarray(a, dtype=dtype))


def _at_least_1d(a):
    """0-d becomes 1-d, as ascontiguousarray / asfortranarray give at least one dimension."""
    return reshape(a, (1,)) if len(shape_of(a)) == 0 else a


def asarray_chkfinite(a, dtype=None, order=None):
    """numpy.asarray_chkfinite: ValueError if the (known) value holds inf or NaN."""
    if not traced(a):
        return _np.asarray_chkfinite(a, dtype=dtype, order=order)
    out = asarray(a, dtype=dtype)
    known = _concrete_or_none(out)
    if known is not None and known.dtype.kind in "fc" and not _np.isfinite(known).all():
        raise ValueError("array must not contain infs or NaNs")
    return out


__all__ = [
    'asanyarray', 'asarray_chkfinite', 'ascontiguousarray', 'asfortranarray', 'empty_like', 'full', 'full_like',
    'geomspace', 'linspace', 'logspace', 'ones_like', 'zeros_like',
]
