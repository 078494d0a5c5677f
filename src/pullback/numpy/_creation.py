"""Array creation in pullback.numpy (part of the shape family): zeros, ones, empty, full and the
*_like constructors, linspace, logspace, geomspace, and the as*array conversions.

Constants carry no derivative. Outside any transformation the constructors give plain arrays.
Inside one (grad, jvp, vmap, jit ...), a floating-point zeros/ones/empty/full array is the constant
lifted into the innermost transformation, so ``y = np.zeros(n); y[i] = traced`` works as it does
in NumPy (an in-place update of a traced array is a functional update). A traced fill value or
traced end points give a traced result, computed with NumPy's own formula step by step.
"""

from __future__ import annotations

import operator
import os
import sys
from typing import Any

import numpy as _np

from ..core.ad import JVPTrace, JVPTracer, ReverseTrace
from ..core.backend import NUMPY_TYPES, backend_of, ones_like_value, zeros_like_value
from ..core.batching import BatchTrace, BatchTracer
from ..core.staging import StagingTrace
from ..core.trace import _STACK, Tracer, full_lower
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
        v = full_lower(x)
    except PullbackError:
        return None
    return None if _foreign(v) else _np.asarray(v)


def _like_shape(a, shape):
    return shape_of(a) if shape is None else shape


_PULLBACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _foreign(a: Any) -> bool:
    """a is an array of another library (Dask, torch ...): *_like functions build their result there."""
    return type(a) not in NUMPY_TYPES and not isinstance(a, Tracer) and backend_of(a) is not None


def lift(value: _np.ndarray) -> Any:
    """A floating-point constant as a value of the innermost active transformation (carrying a zero
    derivative), so that traced values can be assigned into it in place; otherwise value itself.

    Integer and boolean arrays (masks, indices) stay plain, and so do arrays created outside a
    transformation or by pullback's own code (its rules keep plain constants).
    """
    stack = _STACK.get()
    if not stack or value.dtype.kind not in "fc":
        return value
    if sys._getframe(2).f_code.co_filename.startswith(_PULLBACK_DIR):
        return value  # pullback's own rules build plain constants (lifting them would trace their internals)
    top = stack[-1]
    kind = type(top)
    if kind is ReverseTrace:
        return top.new(value)
    if kind is JVPTrace:
        return JVPTracer(top, value, _np.zeros_like(value))
    if kind is BatchTrace:
        return BatchTracer(top, _np.broadcast_to(value, (top.size,) + value.shape), top.size)
    if kind is StagingTrace:
        from ..primitives.shape import reshape

        return top.process_primitive(reshape, (value,), {"shape": value.shape})
    return value  # a transformation of its own kind (checkpoint's recording): the plain constant


def zeros(shape, dtype=float, order="C", *, device=None, like=None) -> Any:
    """numpy.zeros. Inside a transformation a floating-point result accepts traced values assigned
    in place (``y = zeros(n); y[i] = x``), as NumPy's does for numbers.

    Parameters: shape (int or tuple of ints), dtype (default float64), order ("C" or "F").
    Returns: an array of zeros (plain outside any transformation).

    Example:
        >>> import pullback as pb, pullback.numpy as pnp
        >>> def f(x):
        ...     y = pnp.zeros(3)
        ...     y[1] = x * x
        ...     return pnp.sum(y)
        >>> float(pb.grad(f)(3.0))
        6.0
    """
    return lift(_np.zeros(shape, dtype=dtype, order=order))


def ones(shape, dtype=None, order="C", *, device=None, like=None) -> Any:
    """numpy.ones; inside a transformation a floating-point result accepts traced values in place (see zeros)."""
    return lift(_np.ones(shape, dtype=dtype, order=order))


def empty(shape, dtype=float, order="C", *, device=None, like=None) -> Any:
    """numpy.empty; inside a transformation a floating-point result accepts traced values in place (see zeros)."""
    return lift(_np.empty(shape, dtype=dtype, order=order))


def zeros_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None) -> Any:
    """numpy.zeros_like: constant zeros (no derivative); inside a transformation a floating-point
    result accepts traced values in place (see zeros)."""
    if _foreign(a):
        return zeros_like_value(_like_shape(a, shape), dtype or dtype_of(a), a)
    if not isinstance(a, Tracer):
        return lift(_np.zeros_like(a, dtype=dtype, order=order, subok=subok, shape=shape))
    return lift(_np.zeros(_like_shape(a, shape), dtype or dtype_of(a)))


def ones_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None) -> Any:
    """numpy.ones_like (constant); inside a transformation it accepts traced values in place (see zeros)."""
    if _foreign(a):
        return ones_like_value(_like_shape(a, shape), dtype or dtype_of(a), a)
    if not isinstance(a, Tracer):
        return lift(_np.ones_like(a, dtype=dtype, order=order, subok=subok, shape=shape))
    return lift(_np.ones(_like_shape(a, shape), dtype or dtype_of(a)))


def empty_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None) -> Any:
    """numpy.empty_like; inside a transformation it accepts traced values in place (see zeros)."""
    if _foreign(a):
        return zeros_like_value(_like_shape(a, shape), dtype or dtype_of(a), a)
    if not isinstance(a, Tracer):
        return lift(_np.empty_like(a, dtype=dtype, order=order, subok=subok, shape=shape))
    return lift(_np.empty(_like_shape(a, shape), dtype or dtype_of(a)))


def _traced_full(shape, fill_value, dtype):
    shape = (operator.index(shape),) if isinstance(shape, (int, _np.integer)) else tuple(shape)
    fill = astype(fill_value, dtype) if dtype is not None else fill_value
    return broadcast_to(fill, shape)


def full(shape, fill_value, dtype=None, order="C", *, device=None, like=None) -> Any:
    """numpy.full; a traced fill value gives a traced array (differentiable in the fill value)."""
    if traced(fill_value):
        return _traced_full(shape, asarray(fill_value), dtype)
    return lift(_np.full(shape, fill_value, dtype=dtype, order=order))


def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, *, device=None) -> Any:
    """numpy.full_like; a traced fill value gives a traced array (differentiable in the fill value)."""
    if traced(fill_value):
        return _traced_full(_like_shape(a, shape), asarray(fill_value), dtype or dtype_of(a))
    if _foreign(a):  # ones in a's library, times the fill value (a NumPy scalar moved there at dispatch)
        return ew.multiply(ones_like_value(_like_shape(a, shape), dtype or dtype_of(a), a), fill_value)
    if not isinstance(a, Tracer):
        return lift(_np.full_like(a, fill_value, dtype=dtype, order=order, subok=subok, shape=shape))
    return lift(_np.full(_like_shape(a, shape), fill_value, dtype or dtype_of(a)))


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
    'asanyarray', 'asarray_chkfinite', 'ascontiguousarray', 'asfortranarray', 'empty', 'empty_like', 'full',
    'full_like', 'geomspace', 'linspace', 'logspace', 'ones', 'ones_like', 'zeros', 'zeros_like',
]
