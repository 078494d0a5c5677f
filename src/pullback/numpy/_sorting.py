"""Sorting, searching and cumulative functions of pullback.numpy.

Differentiable: sort, partition, sort_complex, unique and unique_values/counts/inverse/all
(through the permutation or selection they apply: each output entry is some input entry and
gets its derivative), cumsum, cumprod, cumulative_sum, cumulative_prod, nancumsum, nancumprod;
from _differences, diff, ediff1d, gradient, trapezoid, unwrap; from _quantiles, median,
percentile, quantile and their NaN-ignoring versions.
Integer results carry no derivative: argsort, argpartition, lexsort, searchsorted, and the
indices and counts of the unique family.

Ties: sort places equal entries in their original order (a stable sort), and each output
position takes the derivative of the entry placed there; a unique value takes the derivative of
its first occurrence. Functions whose output size depends on the values (the unique family)
need concrete values, so they cannot be staged by jit.
"""

from __future__ import annotations

import numpy as _np

from ..core.trace import Tracer
from ..errors import UnsupportedFunctionError
from ..primitives import elementwise as ew
from ..primitives import sorting as so
from ..primitives._util import dtype_of, shape_of
from ._helpers import check_kwargs, concrete, is_traced, method, one_axis
from ._nanreductions import replace_nan
from ._reductions import accumulating
from ._shapes import asarray, concatenate, getitem, ravel, reshape
from ._ufuncs import astype

_NoValue = _np._NoValue


def _no_order(name: str, order) -> None:
    if order is not None:
        raise UnsupportedFunctionError(f"pullback.numpy.{name}(..., order=...): structured arrays are not supported.")


def _flat_or_axis(a, axis):
    """(a, axis) with axis=None meaning the flattened array, as NumPy's sort/cumsum read it."""
    a = asarray(a)
    if axis is None:
        return ravel(a), 0
    return a, one_axis(axis, len(shape_of(a)))


# ----------------------------------------------------------------------------- sort and partition


def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """Sorted copy of a along axis (None: flattened).

    Differentiable through the permutation: output position i takes the derivative of the entry the
    sort put there. Equal entries keep their order (stable), so ties are resolved like NumPy's stable sort.
    """
    _no_order("sort", order)
    if not is_traced(a):
        return _np.sort(a, axis=axis, kind=kind, stable=stable)
    a, ax = _flat_or_axis(a, axis)
    return so.permute_along_axis(a, so.argsort(a, axis=ax, kind="stable"), axis=ax)


def argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    """Indices that sort a along axis (an integer result, no derivative)."""
    _no_order("argsort", order)
    if not is_traced(a):
        return _np.argsort(a, axis=axis, kind=kind, stable=stable)
    a, ax = _flat_or_axis(a, axis)
    return so.argsort(a, axis=ax, kind="stable" if stable else kind)


def partition(a, kth, axis=-1, kind="introselect", order=None):
    """a rearranged so that the kth entries sit where a sorted a has them, smaller ones before, larger after.

    Differentiable through the rearrangement; the order within each side is NumPy's argpartition's, which
    NumPy leaves unspecified (it may differ from numpy.partition's, the kth entries never do).
    """
    _no_order("partition", order)
    if not is_traced(a):
        return _np.partition(a, kth, axis=axis, kind=kind)
    a, ax = _flat_or_axis(a, axis)
    return so.permute_along_axis(a, argpartition(a, kth, axis=ax, kind=kind), axis=ax)


def argpartition(a, kth, axis=-1, kind="introselect", order=None):
    """Indices that partition a along axis (an integer result, no derivative)."""
    _no_order("argpartition", order)
    if not is_traced(a):
        return _np.argpartition(a, kth, axis=axis, kind=kind)
    a, ax = _flat_or_axis(a, axis)
    kth = tuple(int(k) for k in _np.ravel(kth)) if _np.ndim(kth) else int(kth)
    return so.argpartition(a, kth=kth, axis=ax)


def sort_complex(a):
    """a sorted as complex numbers (real part first, then imaginary part)."""
    a = asarray(a)
    if dtype_of(a).kind != "c":
        a = astype(a, _np.result_type(dtype_of(a), _np.complex64))
    return sort(a, axis=-1)


def searchsorted(a, v, side="left", sorter=None):
    """Indices where v would be inserted into the sorted 1-D a (an integer result, no derivative)."""
    if not is_traced(a, v, sorter):
        return _np.searchsorted(a, v, side=side, sorter=sorter)
    if sorter is not None:
        a = getitem(asarray(a), concrete(sorter))
    if len(shape_of(a)) != 1:
        raise ValueError("object too deep for desired array")
    return so.searchsorted(a, v, side=side)


# ----------------------------------------------------------------------------- values that depend on the data


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *, equal_nan=True,
           sorted=True):
    """The sorted distinct values of ar (or distinct slices along axis), and optionally their indices.

    The values are differentiable: each takes the derivative of its first occurrence. Indices and counts
    are integers. The output's size depends on the values, so unique cannot be staged (jit).
    """
    if not is_traced(ar):
        return _np.unique(ar, return_index=return_index, return_inverse=return_inverse,
                          return_counts=return_counts, axis=axis, equal_nan=equal_nan, sorted=sorted)
    res = _np.unique(concrete(ar), return_index=True, return_inverse=return_inverse,
                     return_counts=return_counts, axis=axis, equal_nan=equal_nan, sorted=sorted)
    first = res[1]
    if axis is None:
        values = getitem(ravel(ar), first)
    else:
        ax = one_axis(axis, len(shape_of(ar)))
        values = getitem(ar, (slice(None),) * ax + (first,))
    extras = [res[1]] if return_index else []
    extras += list(res[2:])
    return (values, *extras) if extras else values


def _first_positions(flat, values):
    """Where each of `values` (unique values of the 1-D `flat`, NaNs counted separately) first occurs in flat."""
    order = _np.argsort(flat, kind="stable")
    positions = order[_np.minimum(_np.searchsorted(flat[order], values, side="left"), max(flat.size - 1, 0))]
    nans = _np.isnan(values) if values.dtype.kind in "fc" else _np.zeros(values.shape, bool)
    if nans.any():
        positions[nans] = _np.flatnonzero(_np.isnan(flat))[:int(nans.sum())]
    return positions


def _unique_result(np_fn, x):
    """NumPy's result for the concrete x, with its values taken from x (differentiably, first occurrences)."""
    x = asarray(x)
    plain = concrete(x)
    res = np_fn(plain)
    values = res if isinstance(res, _np.ndarray) else res.values
    traced_values = getitem(ravel(x), _first_positions(plain.ravel(), values))
    return traced_values if isinstance(res, _np.ndarray) else res._replace(values=traced_values)


def unique_values(x):
    """The distinct values of x (numpy.unique_values); each takes the derivative of its first occurrence."""
    return _unique_result(_np.unique_values, x) if is_traced(x) else _np.unique_values(x)


def unique_counts(x):
    """(values, counts) of numpy.unique_counts; the values take the derivative of their first occurrence."""
    return _unique_result(_np.unique_counts, x) if is_traced(x) else _np.unique_counts(x)


def unique_inverse(x):
    """(values, inverse_indices) of numpy.unique_inverse; the values take the derivative of their first
    occurrence."""
    return _unique_result(_np.unique_inverse, x) if is_traced(x) else _np.unique_inverse(x)


def unique_all(x):
    """(values, indices, inverse_indices, counts) of numpy.unique_all; the values take the derivative of their
    first occurrence."""
    return _unique_result(_np.unique_all, x) if is_traced(x) else _np.unique_all(x)


def lexsort(keys, axis=-1):
    """Indirect stable sort on several keys, the last one primary (an integer result, no derivative)."""
    if not is_traced(keys) and not (isinstance(keys, (list, tuple)) and is_traced(*keys)):
        return _np.lexsort(keys, axis=axis)
    keys = list(keys) if isinstance(keys, (list, tuple)) else [getitem(keys, i) for i in range(shape_of(keys)[0])]
    keys = [asarray(k) for k in keys]
    shape = shape_of(keys[0])
    if any(shape_of(k) != shape for k in keys):
        raise ValueError("all keys need to be the same shape")
    return so.lexsort(*keys, axis=one_axis(axis, len(shape)))


# ----------------------------------------------------------------------------- cumulative


def cumsum(a, axis=None, dtype=None, out=None):
    """Running sum along axis (None: the flattened array); its derivative is the running sum the other way."""
    check_kwargs("cumsum", out)
    a, ax = _flat_or_axis(accumulating(asarray(a), dtype), axis)
    return so.cumsum(a, axis=ax, reverse=False)


def cumprod(a, axis=None, dtype=None, out=None):
    """Running product along axis (None: the flattened array).

    Derivatives come from a prefix scan of multiplications and additions: exact when a holds zeros
    (one or several), at every order.
    """
    check_kwargs("cumprod", out)
    a, ax = _flat_or_axis(accumulating(asarray(a), dtype), axis)
    return so.cumprod(a, axis=ax, reverse=False)


def _cumulative(name, fn, initial_value):
    def cumulative(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
        check_kwargs(name, out)
        x = asarray(x)
        nd = len(shape_of(x))
        if axis is None:
            if nd > 1:
                raise ValueError("axis must be specified for multi-dimensional arrays.")
            axis = 0
        if nd == 0:
            raise ValueError(f"{name} does not support zero-dimensional arrays")
        r = fn(x, axis=axis, dtype=dtype)
        if include_initial:
            ax = one_axis(axis, nd)
            shape = list(shape_of(r))
            shape[ax] = 1
            r = concatenate([_np.full(shape, initial_value, dtype_of(r)), r], axis=ax)
        return r

    cumulative.__name__ = cumulative.__qualname__ = name
    cumulative.__doc__ = f"numpy.{name} (the array-API running {'sum' if initial_value == 0 else 'product'})."
    return cumulative


cumulative_sum = _cumulative("cumulative_sum", cumsum, 0)
cumulative_prod = _cumulative("cumulative_prod", cumprod, 1)


def nancumsum(a, axis=None, dtype=None, out=None):
    """Running sum with NaNs counted as zero (they get no derivative)."""
    return cumsum(replace_nan(a, 0)[0], axis=axis, dtype=dtype, out=out)


def nancumprod(a, axis=None, dtype=None, out=None):
    """Running product with NaNs counted as one (they get no derivative)."""
    return cumprod(replace_nan(a, 1)[0], axis=axis, dtype=dtype, out=out)


# ----------------------------------------------------------------------------- ndarray methods


def _sort_in_place(self, axis=-1, kind=None, order=None, *, stable=None):
    """x.sort(): sorts the traced array in place (every alias sees the sorted values)."""
    self._rebind(sort(self, axis=axis, kind=kind, order=order, stable=stable))


def _partition_in_place(self, kth, axis=-1, kind="introselect", order=None):
    """x.partition(kth): partitions the traced array in place."""
    self._rebind(partition(self, kth, axis=axis, kind=kind, order=order))


__all__ = [
    'argpartition', 'argsort', 'cumprod', 'cumsum', 'cumulative_prod', 'cumulative_sum', 'lexsort', 'nancumprod',
    'nancumsum', 'partition', 'searchsorted', 'sort', 'sort_complex', 'unique', 'unique_all', 'unique_counts',
    'unique_inverse', 'unique_values',
]
METHODS: dict = {
    "sort": _sort_in_place, "partition": _partition_in_place,
    **{name: method(globals()[name]) for name in (
        "argsort", "argpartition", "searchsorted", "cumsum", "cumprod",
    )},
}
