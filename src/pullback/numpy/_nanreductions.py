"""NaN-ignoring reductions: nansum, nanprod, nanmean, nanvar, nanstd, nanmax, nanmin, nanargmax, nanargmin.

A NaN entry is replaced by the operation's neutral value through a select, so it receives no
derivative; a slice with no number gives NumPy's result (NaN, or an error for nanargmax) and warning.
Integer and boolean arrays hold no NaN and go to the plain reduction.
"""

from __future__ import annotations

import warnings

import numpy as _np

from ..primitives import elementwise as ew
from ..primitives import sorting as so
from ..primitives._util import dtype_of, normalize_axis, shape_of
from . import _reductions as R
from ._helpers import check_kwargs, concrete_or_none
from ._shapes import asarray
from ._ufuncs import astype

_NoValue = _np._NoValue
_isnan = ew.NONDIFF_UNARY["isnan"]


def replace_nan(a, fill):
    """(a with its NaNs replaced by fill, the NaN mask); the mask is None for a dtype that holds no NaN."""
    a = asarray(a)
    if dtype_of(a).kind not in "fc":
        return a, None
    mask = _isnan(a)
    return ew.select(mask, fill, a), mask


def _opt(value, default):
    return default if value is _NoValue else value


def _warn_if_any(flags, message: str) -> None:
    value = concrete_or_none(flags)
    if value is not None and _np.any(value):
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def _numbers_count(mask, where, axis, keepdims):
    """How many entries of each slice are numbers (not NaN, and selected by where)."""
    present = ew.NONDIFF_UNARY["logical_not"](mask)
    if where is not True and where is not _NoValue:
        present = ew.NONDIFF_BINARY["logical_and"](present, where)
    return so.count_nonzero(present, axis=axis, keepdims=keepdims)


def _divide_where_positive(total, count, empty):
    """total / count, NaN where `empty` (without dividing by zero there)."""
    real = _np.dtype(dtype_of(total)).type(0).real.dtype
    safe = ew.select(empty, 1, count)
    return ew.select(empty, _np.nan, ew.divide(total, astype(safe, real)))


def _check_inexact(dtype):
    if dtype is not None and _np.dtype(dtype).kind not in "fc":
        raise TypeError("If a is inexact, then dtype must be inexact")


def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    """Σ over axis, NaNs counted as zero (they get no derivative)."""
    arr, _ = replace_nan(a, 0)
    return R.sum(arr, axis=axis, dtype=dtype, out=out, keepdims=_opt(keepdims, False), initial=_opt(initial, None),
                 where=_opt(where, True))


def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    """Π over axis, NaNs counted as one (they get no derivative); exact with zeros like prod."""
    arr, _ = replace_nan(a, 1)
    return R.prod(arr, axis=axis, dtype=dtype, out=out, keepdims=_opt(keepdims, False),
                  initial=_opt(initial, None), where=_opt(where, True))


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=True):
    """Mean of the numbers over axis; an all-NaN slice gives NaN and a RuntimeWarning."""
    check_kwargs("nanmean", out)
    where, keepdims = _opt(where, True), _opt(keepdims, False)
    arr, mask = replace_nan(a, 0)
    if mask is None:
        return R.mean(arr, axis=axis, dtype=dtype, out=out, keepdims=keepdims, where=where)
    _check_inexact(dtype)
    ax = normalize_axis(axis, len(shape_of(arr)))
    count = _numbers_count(mask, where, ax, bool(keepdims))
    total = R.sum(arr, axis=ax, dtype=dtype, out=out, keepdims=keepdims, where=where)
    empty = ew.equal(count, 0)
    _warn_if_any(empty, "Mean of empty slice")
    return _divide_where_positive(total, count, empty)


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, mean=None,
           correction=None):
    """Variance of the numbers over axis; a slice with no degree of freedom gives NaN and a RuntimeWarning."""
    check_kwargs("nanvar", out)
    where, keepdims = _opt(where, True), _opt(keepdims, False)
    mean, correction = _opt(mean, None), _opt(correction, None)
    arr, mask = replace_nan(a, 0)
    if mask is None:
        return R.var(arr, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims, where=where, mean=mean,
                     correction=correction)
    _check_inexact(dtype)
    ddof = R._ddof(ddof, correction)
    ax = normalize_axis(axis, len(shape_of(arr)))
    if mean is None:
        count = _numbers_count(mask, where, ax, True)
        total = R.sum(arr, axis=ax, dtype=dtype, keepdims=True, where=where)
        mean = _divide_where_positive(total, count, ew.equal(count, 0))
    d = ew.select(mask, 0, ew.subtract(arr, mean))
    sq = ew.real(ew.multiply(d, ew.conj(d))) if dtype_of(d).kind == "c" else ew.multiply(d, d)
    total = R.sum(sq, axis=ax, dtype=dtype, keepdims=keepdims, where=where)
    dof = ew.subtract(_numbers_count(mask, where, ax, bool(keepdims)), ddof)
    bad = ew.less_equal(dof, 0)
    _warn_if_any(bad, "Degrees of freedom <= 0 for slice.")
    return _divide_where_positive(total, dof, bad)


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, mean=None,
           correction=None):
    """√nanvar."""
    return ew.UNARY["sqrt"](nanvar(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims, where=where,
                                   mean=mean, correction=correction))


def _nan_extremum(name, reduce, fill):
    def fn(a, axis=None, out=None, keepdims=False, initial=None, where=True):
        where, keepdims, initial = _opt(where, True), _opt(keepdims, False), _opt(initial, None)
        arr, mask = replace_nan(a, fill)
        r = reduce(arr, axis=axis, out=out, keepdims=keepdims, initial=initial, where=where)
        if mask is None or initial is not None:
            return r
        ax = normalize_axis(axis, len(shape_of(arr)))
        if where is not True:
            mask = ew.NONDIFF_BINARY["logical_or"](mask, ew.NONDIFF_UNARY["logical_not"](where))
        all_nan = so.reduce_all(mask, axis=ax, keepdims=bool(keepdims))
        _warn_if_any(all_nan, "All-NaN slice encountered")
        return ew.select(all_nan, _np.nan, r)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"numpy.{name}, ignoring NaNs; entries tied for the extremum share its derivative equally, "
                  "and an all-NaN slice gives NaN and a RuntimeWarning.")
    return fn


nanmax = _nan_extremum("nanmax", R.max, -_np.inf)
nanmin = _nan_extremum("nanmin", R.min, _np.inf)


def _nan_arg(name, arg, fill):
    def fn(a, axis=None, out=None, *, keepdims=False):
        arr, mask = replace_nan(a, fill)
        if mask is not None and _np.prod(shape_of(arr)):
            all_nan = concrete_or_none(R.all(mask, axis=axis))
            if all_nan is not None and _np.any(all_nan):
                raise ValueError("All-NaN slice encountered")
        return arg(arr, axis=axis, out=out, keepdims=_opt(keepdims, False))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"numpy.{name}, ignoring NaNs: an integer result, which carries no derivative."
    return fn


nanargmax = _nan_arg("nanargmax", R.argmax, -_np.inf)
nanargmin = _nan_arg("nanargmin", R.argmin, _np.inf)

__all__ = ['nanargmax', 'nanargmin', 'nanmax', 'nanmean', 'nanmin', 'nanprod', 'nanstd', 'nansum', 'nanvar']
