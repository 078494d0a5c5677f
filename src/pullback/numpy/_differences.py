"""Differences and integrals along an axis: diff, ediff1d, gradient, trapezoid, unwrap.

All are compositions of slices, subtractions and sums, so they are differentiable (linear in the
data) to any order, with NumPy's own formulas (the values equal NumPy's bitwise). Sample
positions and spacings (gradient's varargs, trapezoid's x) are differentiable too where NumPy's
formula is a plain expression of them; unwrap's 2π corrections are piecewise constant and carry
no derivative, so its derivative is the identity.
"""

from __future__ import annotations

import math

import numpy as _np

from ..core.backend import plain_value
from ..core.trace import Tracer
from ..errors import UnsupportedFunctionError
from ..primitives import elementwise as ew
from ..primitives._util import dtype_of, shape_of
from ._helpers import concrete_or_none, numpy_value, one_axis
from ._reductions import sum as _sum
from ._shapes import asarray, concatenate, getitem, ravel, reshape
from ._ufuncs import astype

_NoValue = _np._NoValue


def _along(nd: int, axis: int, item) -> tuple:
    return (slice(None),) * axis + (item,) + (slice(None),) * (nd - axis - 1)


def diff(a, n=1, axis=-1, prepend=_NoValue, append=_NoValue):
    """n-th discrete difference along axis (a[1:] − a[:-1], n times), after prepending/appending values."""
    if n == 0:
        return a
    if n < 0:
        raise ValueError("order must be non-negative but got " + repr(n))
    a = asarray(a)
    nd = len(shape_of(a))
    if nd == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    ax = one_axis(axis, nd)
    parts = [] if prepend is _NoValue else [_edge(prepend, a, ax)]
    parts.append(a)
    if append is not _NoValue:
        parts.append(_edge(append, a, ax))
    if len(parts) > 1:
        a = concatenate(parts, axis=ax)
    later, earlier = _along(nd, ax, slice(1, None)), _along(nd, ax, slice(None, -1))
    op = ew.not_equal if dtype_of(a) == _np.bool_ else ew.subtract
    for _ in range(n):
        a = op(getitem(a, later), getitem(a, earlier))
    return a


def _edge(value, a, axis):
    value = asarray(value)
    if len(shape_of(value)) == 0:
        shape = list(shape_of(a))
        shape[axis] = 1
        if isinstance(value, Tracer):
            return ew.add(_np.zeros(shape, dtype_of(value)), value)
        return _np.broadcast_to(value, shape)
    return value


def ediff1d(ary, to_end=None, to_begin=None):
    """Differences between consecutive entries of the flattened ary, with optional values before and after
    (all in ary's dtype)."""
    ary = ravel(asarray(ary))
    dtype = dtype_of(ary)
    parts = [ew.subtract(getitem(ary, slice(1, None)), getitem(ary, slice(None, -1)))]
    for extra, what in ((to_begin, "to_begin"), (to_end, "to_end")):
        if extra is None:
            continue
        extra = asarray(extra)
        if not _np.can_cast(dtype_of(extra), dtype, casting="same_kind"):
            raise TypeError(f"dtype of `{what}` must be compatible with input `ary` under the `same_kind` rule.")
        extra = ravel(astype(extra, dtype) if dtype_of(extra) != dtype else extra)
        parts.insert(0 if what == "to_begin" else len(parts), extra)
    return concatenate(parts) if len(parts) > 1 else parts[0]


# ----------------------------------------------------------------------------- gradient


def _spacings(varargs, f, axes):
    n = len(varargs)
    if n == 0:
        return [1.0] * len(axes)
    if n == 1 and _np.ndim(varargs[0]) == 0:
        return [varargs[0]] * len(axes)
    if n != len(axes):
        raise TypeError("invalid number of arguments")
    out = []
    for i, distances in enumerate(varargs):
        if isinstance(distances, Tracer):
            raise UnsupportedFunctionError(
                "pullback.numpy.gradient: traced sample positions are not supported; pass them as plain arrays.")
        distances = _np.asanyarray(distances)
        if distances.ndim == 0:
            out.append(distances)
            continue
        if distances.ndim != 1:
            raise ValueError("distances must be either scalars or 1d")
        if len(distances) != shape_of(f)[axes[i]]:
            raise ValueError("when 1d, distances must match the length of the corresponding dimension")
        if distances.dtype.kind in "iu":
            distances = distances.astype(_np.float64)
        step = _np.diff(distances)
        out.append(step[0] if (step == step[0]).all() else step)
    return out


def _combine(f, axis, nd, coefficients):
    """Σ cᵢ · f[positionᵢ] along axis, for (coefficient, position) pairs (NumPy's left-to-right sum)."""
    total = None
    for c, position in coefficients:
        term = ew.multiply(c, getitem(f, _along(nd, axis, position)))
        total = term if total is None else ew.add(total, term)
    return total


def _gradient_along(f, axis, nd, dx, edge_order):
    n = shape_of(f)[axis]
    if n < edge_order + 1:
        raise ValueError("Shape of array too small to calculate a numerical gradient, "
                         "at least (edge_order + 1) elements are required.")
    uniform = _np.ndim(dx) == 0
    pick = lambda i: getitem(f, _along(nd, axis, i))  # noqa: E731
    shape = [1] * nd
    shape[axis] = -1
    if uniform:
        interior = ew.divide(ew.subtract(pick(slice(2, None)), pick(slice(None, -2))), 2.0 * dx)
    else:
        dx1, dx2 = dx[0:-1], dx[1:]
        a = (-(dx2) / (dx1 * (dx1 + dx2))).reshape(shape)
        b = ((dx2 - dx1) / (dx1 * dx2)).reshape(shape)
        c = (dx1 / (dx2 * (dx1 + dx2))).reshape(shape)
        interior = _combine(f, axis, nd, ((a, slice(None, -2)), (b, slice(1, -1)), (c, slice(2, None))))
    if edge_order == 1:
        first = ew.divide(ew.subtract(pick(slice(1, 2)), pick(slice(0, 1))), dx if uniform else dx[0])
        last = ew.divide(ew.subtract(pick(slice(-1, None)), pick(slice(-2, -1))), dx if uniform else dx[-1])
    else:
        if uniform:
            a, b, c = -1.5 / dx, 2.0 / dx, -0.5 / dx
        else:
            d1, d2 = dx[0], dx[1]
            a, b, c = -(2.0 * d1 + d2) / (d1 * (d1 + d2)), (d1 + d2) / (d1 * d2), -d1 / (d2 * (d1 + d2))
        first = _combine(f, axis, nd, ((a, slice(0, 1)), (b, slice(1, 2)), (c, slice(2, 3))))
        if uniform:
            a, b, c = 0.5 / dx, -2.0 / dx, 1.5 / dx
        else:
            d1, d2 = dx[-2], dx[-1]
            a, b, c = d2 / (d1 * (d1 + d2)), -(d2 + d1) / (d1 * d2), (2.0 * d2 + d1) / (d2 * (d1 + d2))
        last = _combine(f, axis, nd, ((a, slice(-3, -2)), (b, slice(-2, -1)), (c, slice(-1, None))))
    out = concatenate([first, interior, last], axis=axis)
    return astype(out, dtype_of(f)) if dtype_of(out) != dtype_of(f) else out


def gradient(f, *varargs, axis=None, edge_order=1):
    """Central differences inside, one-sided differences (first or second order) at the ends, per axis;
    linear in f, so differentiable to any order. Sample positions must be plain values."""
    f = asarray(f)
    nd = len(shape_of(f))
    axes = tuple(range(nd)) if axis is None else tuple(
        one_axis(a, nd) for a in (axis if isinstance(axis, (tuple, list)) else (axis,)))
    if len(set(axes)) != len(axes):
        raise ValueError("repeated axis")
    spacings = _spacings(varargs, f, axes)
    if edge_order > 2:
        raise ValueError("'edge_order' greater than 2 not supported")
    if dtype_of(f).kind not in "fc":
        f = astype(f, _np.float64)
    outs = [_gradient_along(f, ax, nd, dx, edge_order) for ax, dx in zip(axes, spacings, strict=True)]
    return outs[0] if len(outs) == 1 else tuple(outs)


# ----------------------------------------------------------------------------- trapezoid, unwrap


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """∫ y along axis by the trapezoidal rule, Σ Δx·(yᵢ + yᵢ₊₁)/2; differentiable in y, x and dx."""
    y = asarray(y)
    nd = len(shape_of(y))
    ax = one_axis(axis, nd)
    if x is None:
        d = dx
    else:
        x = asarray(x)
        if len(shape_of(x)) == 1:
            d = diff(x)
            shape = [1] * nd
            shape[ax] = shape_of(d)[0]
            d = reshape(d, tuple(shape))
        else:
            d = diff(x, axis=ax)
    pair = ew.add(getitem(y, _along(nd, ax, slice(1, None))), getitem(y, _along(nd, ax, slice(None, -1))))
    return _sum(ew.divide(ew.multiply(d, pair), 2.0), axis=ax)


def unwrap(p, discont=None, axis=-1, *, period=6.283185307179586):
    """p with its jumps larger than discont replaced by their complement modulo period. The corrections
    are piecewise constant in p, so the derivative is the identity."""
    p = asarray(p)
    values = concrete_or_none(p)
    if values is None:
        numpy_value(plain_value(p))  # another library's array: BackendError (its values are never read)
        raise UnsupportedFunctionError("pullback.numpy.unwrap needs concrete values (it cannot be staged).")
    nd = len(shape_of(p))
    ax = one_axis(axis, nd)
    dd = _np.diff(values, axis=ax)
    if discont is None:
        discont = period / 2
    dtype = _np.result_type(dd, period)
    if _np.issubdtype(dtype, _np.integer):
        interval_high, rem = divmod(period, 2)
        ambiguous = rem == 0
    else:
        interval_high, ambiguous = period / 2, True
    interval_low = -interval_high
    ddmod = _np.mod(dd - interval_low, period) + interval_low
    if ambiguous:
        _np.copyto(ddmod, interval_high, where=(ddmod == interval_low) & (dd > 0))
    correction = ddmod - dd
    _np.copyto(correction, 0, where=abs(dd) < discont)
    p = astype(p, dtype) if dtype_of(p) != dtype else p
    if not math.prod(shape_of(p)):
        return p
    head = getitem(p, _along(nd, ax, slice(0, 1)))
    tail = ew.add(getitem(p, _along(nd, ax, slice(1, None))), correction.cumsum(ax))
    return concatenate([head, tail], axis=ax)


__all__ = ['diff', 'ediff1d', 'gradient', 'trapezoid', 'unwrap']
