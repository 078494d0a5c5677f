"""Reductions of pullback.numpy with NumPy's signatures and dtype rules.

sum, prod, mean, var, std, max/amax, min/amin, ptp, average, trace (differentiable);
any, all, count_nonzero, argmax, argmin (integer or boolean results, no derivative).
The NaN-ignoring versions (nansum, nanmean, ...) live in _nanreductions and are listed here.

Derivative conventions:
- max/min/ptp: entries tied for the extremum share its derivative equally.
- prod: ∂/∂xⱼ = Πₖ≠ⱼ xₖ computed from prefix and suffix products, exact with zeros at every order.
"""

from __future__ import annotations

import builtins
import functools
import math
import warnings

import numpy as _np

from ..core.trace import Tracer
from ..errors import PullbackError
from ..primitives import elementwise as ew
from ..primitives import reductions as red
from ..primitives import sorting as so
from ..primitives._util import dtype_of, normalize_axis, shape_of
from ._helpers import check_kwargs, concrete_or_none, is_traced, method, one_axis
from ._indexing_fns import diagonal
from ._shapes import asarray, getitem, moveaxis, reshape, transpose
from ._ufuncs import astype

_NoValue = _np._NoValue

# ----------------------------------------------------------------------------- helpers shared by the family


@functools.cache
def accumulated_dtype(dtype) -> _np.dtype:
    """The dtype of NumPy's sum/prod/cumsum of `dtype` (bool and small integers widen to the platform int)."""
    return _np.cumsum(_np.zeros(1, dtype)).dtype


def accumulating(a, dtype):
    """a cast to the dtype NumPy's sum/prod/cumsum compute in (`dtype`, or the widened integer type)."""
    target = _np.dtype(dtype) if dtype is not None else accumulated_dtype(dtype_of(a))
    return astype(a, target) if target != dtype_of(a) else a


def _same_kind_scalar(value, like):
    """A plain initial value in `like`'s dtype, so that np.float64(2.0) does not widen a float32 result."""
    if is_traced(value):
        return value
    return _np.asarray(value).astype(dtype_of(like))[()]


def _count(x, axis) -> int:
    shape = shape_of(x)
    if axis is None:
        return math.prod(shape)
    return math.prod(shape[a] for a in axis)


def _masked(x, where, fill):
    if where is True:
        return x
    return ew.select(where, x, fill)


def _keep(keepdims) -> bool:
    return False if keepdims is _NoValue else bool(keepdims)


# ----------------------------------------------------------------------------- sum, prod


def _accumulate(a, axis, dtype, keepdims, initial, where, reduce, combine, unit):
    """The shared body of sum and prod: `reduce` over axis in the accumulating dtype, the entries
    outside `where` replaced by `unit` (0 or 1), then `combine`d with `initial` when given."""
    a = accumulating(asarray(a), dtype)
    axis = normalize_axis(axis, len(shape_of(a)))
    r = reduce(_masked(a, where, unit), axis=axis, keepdims=_keep(keepdims))
    if initial is not None and initial is not _NoValue:
        r = combine(r, _same_kind_scalar(initial, r))
    return r


def sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    """Σ a over axis (differentiable numpy.sum)."""
    check_kwargs("sum", out)
    return _accumulate(a, axis, dtype, keepdims, initial, where, red.reduce_sum, ew.add, 0)


def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    """Π a over axis. Its derivative Πₖ≠ⱼ aₖ is built from prefix and suffix products: exact when a
    holds zeros (one or several), at every order, with no division by a."""
    check_kwargs("prod", out)
    return _accumulate(a, axis, dtype, keepdims, initial, where, so.reduce_prod, ew.multiply, 1)


# ----------------------------------------------------------------------------- mean, var, std


def _where_count(where, a, axis, keepdims):
    """The number of selected entries per reduced slice (an int, or an int array when where= is a mask)."""
    if where is True:
        return _count(a, axis)
    mask = _np.broadcast_to(concrete_or_none(where), shape_of(a))
    return _np.sum(mask, axis=axis, dtype=_np.intp, keepdims=keepdims)


def _divide_by_count(total, count):
    if isinstance(count, int):
        return ew.divide(total, float(count))
    return ew.divide(total, count.astype(dtype_of(total).type(0).real.dtype))


def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=True):
    """Arithmetic mean over axis; integer input gives float64 and float16 is summed in float32, like NumPy."""
    check_kwargs("mean", out)
    a = asarray(a)
    kind = dtype_of(a).kind
    half = dtype is None and dtype_of(a) == _np.float16
    if dtype is None and kind in "biu":
        dtype = _np.float64
    elif half:
        dtype = _np.float32
    if dtype is not None:
        a = astype(a, dtype)
    ax = normalize_axis(axis, len(shape_of(a)))
    keep = _keep(keepdims)
    n = _where_count(where, a, ax, keep)
    if (n == 0) if isinstance(n, int) else _np.any(n == 0):
        warnings.warn("Mean of empty slice", RuntimeWarning, stacklevel=2)
    r = _divide_by_count(red.reduce_sum(_masked(a, where, 0), axis=ax, keepdims=keep), n)
    return astype(r, _np.float16) if half else r


def _ddof(ddof, correction):
    if correction is not None and correction is not _NoValue:
        if ddof != 0:
            raise ValueError("ddof and correction can't be provided simultaneously.")
        return correction
    return ddof


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, mean=None, correction=None):
    """Variance Σ|a − ā|²/(N − ddof) over axis (where= selects the entries that count)."""
    check_kwargs("var", out)
    a = asarray(a)
    ddof = _ddof(ddof, correction)
    if dtype is None and dtype_of(a).kind in "biu":
        dtype = _np.float64
    if dtype is not None:
        a = astype(a, dtype)
    ax = normalize_axis(axis, len(shape_of(a)))
    keep = _keep(keepdims)
    n_kept = _where_count(where, a, ax, True)
    if (ddof >= n_kept) if isinstance(n_kept, int) else _np.any(ddof >= n_kept):
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=2)
    if mean is None or mean is _NoValue:
        centre = _divide_by_count(red.reduce_sum(_masked(a, where, 0), axis=ax, keepdims=True), n_kept)
    else:
        centre = mean
    d = ew.subtract(a, centre)
    sq = ew.real(ew.multiply(d, ew.conj(d))) if dtype_of(d).kind == "c" else ew.multiply(d, d)
    total = red.reduce_sum(_masked(sq, where, 0), axis=ax, keepdims=keep)
    n = _where_count(where, a, ax, keep)
    dof = builtins.max(n - ddof, 0) if isinstance(n, int) else _np.maximum(n - ddof, 0)
    return _divide_by_count(total, dof)


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, mean=None, correction=None):
    """Standard deviation √var."""
    return ew.UNARY["sqrt"](
        var(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims, where=where, mean=mean,
            correction=correction)
    )


# ----------------------------------------------------------------------------- max, min, ptp


def _extremum(name, prim):
    def fn(a, axis=None, out=None, keepdims=False, initial=None, where=True):
        check_kwargs(name, out)
        a = asarray(a)
        ax = normalize_axis(axis, len(shape_of(a)))
        if initial is _NoValue:
            initial = None
        if where is not True:
            if initial is None:
                raise ValueError(f"reduction operation '{name}' with where= needs an initial value")
            a = ew.select(where, a, initial)
        r = prim(a, axis=ax, keepdims=_keep(keepdims))
        if initial is not None:
            r = (ew.maximum if name.endswith("max") else ew.minimum)(r, _same_kind_scalar(initial, r))
        return r

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"numpy.{name}; entries tied for the extremum share its derivative equally."
    return fn


max = amax = _extremum("max", red.reduce_max)
min = amin = _extremum("min", red.reduce_min)


def ptp(a, axis=None, out=None, keepdims=False):
    """Peak to peak, max − min over axis; entries tied for either extremum share its derivative equally."""
    check_kwargs("ptp", out)
    a = asarray(a)
    return ew.subtract(max(a, axis=axis, keepdims=keepdims), min(a, axis=axis, keepdims=keepdims))


# ----------------------------------------------------------------------------- average


def average(a, axis=None, weights=None, returned=False, *, keepdims=_NoValue):
    """Weighted mean Σ aw / Σ w over axis, differentiable in a and in the weights.

    returned=True also gives Σ w (or the count) broadcast to the result's shape.
    """
    a = asarray(a)
    nd = len(shape_of(a))
    ax = normalize_axis(axis, nd)
    keep = _keep(keepdims)
    if weights is None:
        avg = mean(a, axis=ax, keepdims=keep)
        n_out = math.prod(shape_of(avg))
        scl = dtype_of(avg).type(math.prod(shape_of(a)) / n_out if n_out else _np.nan)
    else:
        wgt = asarray(weights)
        if dtype_of(a).kind in "biu":
            result_dtype = _np.result_type(dtype_of(a), dtype_of(wgt), "f8")
        else:
            result_dtype = _np.result_type(dtype_of(a), dtype_of(wgt))
        if shape_of(a) != shape_of(wgt):
            if ax is None:
                raise TypeError("Axis must be specified when shapes of a and weights differ.")
            given = tuple(int(i) % nd for i in (axis if isinstance(axis, (tuple, list)) else (axis,)))
            if shape_of(wgt) != tuple(shape_of(a)[i] for i in given):
                raise ValueError("Shape of weights must be consistent with shape of a along specified axis.")
            wgt = transpose(wgt, tuple(int(i) for i in _np.argsort(given)))
            wgt = reshape(wgt, tuple(s if i in given else 1 for i, s in enumerate(shape_of(a))))
        scl = sum(wgt, axis=ax, dtype=result_dtype, keepdims=keep)
        scl_value = concrete_or_none(scl)
        if scl_value is not None and _np.any(_np.asarray(scl_value) == 0.0):
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        weighted = ew.multiply(astype(a, result_dtype), astype(wgt, result_dtype))
        avg = ew.divide(sum(weighted, axis=ax, keepdims=keep), scl)
    if not returned:
        return avg
    if shape_of(scl) != shape_of(avg):
        scl = ew.add(_np.zeros(shape_of(avg), dtype_of(scl)), scl)
    return avg, scl


# ----------------------------------------------------------------------------- trace


def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """Σ of the diagonal a[..., i, i + offset] of the plane (axis1, axis2), for every other index."""
    check_kwargs("trace", out)
    return sum(diagonal(asarray(a), offset, axis1, axis2), axis=-1, dtype=dtype)


# ----------------------------------------------------------------------------- no derivative


def _logical(name, prim, np_fn, neutral):
    def fn(a, axis=None, out=None, keepdims=False, *, where=True):
        check_kwargs(name, out)
        keep = _keep(keepdims)
        if not is_traced(a, where):
            return np_fn(a, axis=axis, keepdims=keep, where=where)
        a = asarray(a)
        if where is not True:
            a = ew.select(where, ew.not_equal(a, 0), neutral)
        return prim(a, axis=normalize_axis(axis, len(shape_of(a))), keepdims=keep)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"numpy.{name}: a boolean result, which carries no derivative."
    return fn


any = _logical("any", so.reduce_any, _np.any, False)
all = _logical("all", so.reduce_all, _np.all, True)


def count_nonzero(a, axis=None, *, keepdims=False):
    """Number of nonzero entries over axis (an integer result, no derivative)."""
    if not is_traced(a):
        return _np.count_nonzero(a, axis=axis, keepdims=keepdims)
    return so.count_nonzero(a, axis=normalize_axis(axis, len(shape_of(a))), keepdims=bool(keepdims))


def _arg_extremum(name, prim, np_fn):
    def fn(a, axis=None, out=None, *, keepdims=False):
        check_kwargs(name, out)
        keep = _keep(keepdims)
        if not is_traced(a):
            return np_fn(a, axis=axis, keepdims=keep)
        nd = len(shape_of(a))
        ax = None if axis is None else one_axis(axis, builtins.max(nd, 1))
        if nd == 0 and ax is not None:
            a, ax = reshape(a, (1,)), 0
        return prim(a, axis=ax, keepdims=keep)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"numpy.{name}: an integer result, which carries no derivative."
    return fn


argmax = _arg_extremum("argmax", so.argmax, _np.argmax)
argmin = _arg_extremum("argmin", so.argmin, _np.argmin)


__all__ = [
    'all', 'amax', 'amin', 'any', 'argmax', 'argmin', 'average', 'count_nonzero', 'max', 'mean', 'min', 'prod',
    'ptp', 'std', 'sum', 'trace', 'var',
]
METHODS: dict = {name: method(globals()[name]) for name in (
    "prod", "any", "all", "argmax", "argmin", "trace",
)}
