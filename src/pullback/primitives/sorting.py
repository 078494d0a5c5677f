"""Order statistics, cumulative sums and products, and index-valued reductions.

Differentiable primitives:
- ``cumsum(x, axis, reverse)``: running sum; linear, its transpose is the running sum the other way.
- ``cumprod(x, axis, reverse)``: yᵢ = Πₖ≤ᵢ xₖ. Its derivative solves the linear recurrence
  ẏᵢ = xᵢ·ẏᵢ₋₁ + yᵢ₋₁·ẋᵢ by a parallel prefix scan made of multiplications and additions only
  (`linear_recurrence`), so it is exact when x holds zeros, any number of them, and
  differentiable again to any order. Its transpose is the same scan run backwards.
- ``reduce_prod(x, axis, keepdims)``: Π over axis. ∂/∂xⱼ = Πₖ≠ⱼ xₖ, the product of an exclusive
  prefix and an exclusive suffix cumprod: exact with zeros, at every order, without dividing by x.
- ``permute_along_axis(x, perm, axis)``: ``take_along_axis`` with a permutation (sort, partition);
  linear, its transpose applies the inverse permutation.

Not differentiable (integer or boolean results, plain values to every transformation):
argsort, argpartition, lexsort, invert_permutation, argmax, argmin, reduce_any, reduce_all,
count_nonzero, searchsorted.

Axes are non-negative ints (a sorted tuple for the reductions, None for all axes); the
pullback.numpy layer normalizes them.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..core.backend import is_lazy
from ..core.batching import all_batched, shift_axis_rule
from ..core.primitive import Primitive, nondifferentiable
from ..errors import BackendError
from ._util import dtype_of, shape_of
from .elementwise import add, multiply
from .reductions import _reduced_shape, reduce_sum
from .shape import concatenate, getitem, reshape, transpose


@functools.cache
def _accumulated_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype NumPy's sum/prod/cumsum give for `dtype` (bool and small ints widen to the platform int)."""
    return np.cumsum(np.zeros(1, dtype)).dtype


# ----------------------------------------------------------------------------- scans


def _slice_along(x, axis: int, start, stop):
    return getitem(x, idx=(slice(None),) * axis + (slice(start, stop),))


def shift(x, k: int, axis: int, reverse: bool, fill):
    """x moved k places along axis (towards its end; towards its start when reverse), `fill` in the gap."""
    shape = shape_of(x)
    n = shape[axis]
    if n == 0:
        return x
    if k >= n:
        return np.full(shape, fill, dtype_of(x))
    gap = np.full(shape[:axis] + (k,) + shape[axis + 1:], fill, dtype_of(x))
    if reverse:
        return concatenate(_slice_along(x, axis, k, None), gap, axis=axis)
    return concatenate(gap, _slice_along(x, axis, 0, n - k), axis=axis)


def linear_recurrence(a, b, axis: int, reverse: bool = False):
    """y with yᵢ = aᵢ·yᵢ₋₁ + bᵢ (yᵢ₊₁ when reverse), y = 0 before the first element.

    Hillis–Steele doubling over pairs (A, B) composed as (A₁, B₁)∘(A₂, B₂) = (A₁A₂, A₂B₁ + B₂):
    ⌈log₂ n⌉ rounds of shifts, multiplications and additions, all pullback operations, so the
    result is differentiable in a and b to any order and exact whatever zeros a holds.
    """
    n = shape_of(b)[axis]
    k = 1
    while k < n:
        b = add(b, multiply(a, shift(b, k, axis, reverse, 0)))
        if 2 * k < n:
            a = multiply(a, shift(a, k, axis, reverse, 1))
        k *= 2
    return b


# ----------------------------------------------------------------------------- cumsum, cumprod


def _flip_apply(np_fn, x, axis, reverse):
    if not reverse:
        return np_fn(x, axis=axis)
    return np.flip(np_fn(np.flip(x, axis), axis=axis), axis)


def _cumulative_xp(name, native):
    """The array API's cumulative_sum / cumulative_prod (the library's cumsum / cumprod where it lacks them)."""
    def impl(xp, x, axis, reverse):
        fn = getattr(xp, name, None) or (lambda v, axis: getattr(xp, native)(v, axis=axis))
        if not reverse:
            return fn(x, axis=axis)
        return xp.flip(fn(xp.flip(x, axis=axis), axis=axis), axis=axis)
    return impl


def _cumsum_impl(x, axis, reverse):
    return _flip_apply(np.cumsum, x, axis, reverse)


def _cumulative_rule(x, axis, reverse):
    return shape_of(x), _accumulated_dtype(dtype_of(x))


cumsum = Primitive(
    "cumsum", _cumsum_impl, shape=_cumulative_rule, linear=True,
    jvps=[lambda t, out, x, axis, reverse: cumsum(t, axis=axis, reverse=reverse)],
    vjps=[lambda ct, out, x, axis, reverse: cumsum(ct, axis=axis, reverse=not reverse)],
    doc="yᵢ = Σₖ≤ᵢ xₖ along axis (Σₖ≥ᵢ when reverse); transpose: the running sum the other way",
    xp_impl=_cumulative_xp("cumulative_sum", "cumsum"),
)


def _cumprod_impl(x, axis, reverse):
    return _flip_apply(np.cumprod, x, axis, reverse)


def _cumprod_jvp(t, out, x, axis, reverse):
    """ẏᵢ = xᵢ·ẏᵢ₋₁ + yᵢ₋₁·ẋᵢ."""
    before = shift(out, 1, axis, reverse, 1)
    return linear_recurrence(x, multiply(t, before), axis, reverse)


cumprod = Primitive(
    "cumprod", _cumprod_impl, shape=_cumulative_rule,
    jvps=[_cumprod_jvp],
    doc="yᵢ = Πₖ≤ᵢ xₖ along axis (Πₖ≥ᵢ when reverse); derivatives by a prefix scan, exact with zeros",
    xp_impl=_cumulative_xp("cumulative_prod", "cumprod"),
)


# ----------------------------------------------------------------------------- prod


def products_of_others(x, axis):
    """For each entry xⱼ, Πₖ≠ⱼ xₖ over the reduced axes (x's shape): an exclusive prefix cumprod times an
    exclusive suffix cumprod, so zeros need no division and every derivative is exact."""
    shape = shape_of(x)
    nd = len(shape)
    reduced = tuple(range(nd)) if axis is None else tuple(axis)
    kept = tuple(i for i in range(nd) if i not in reduced)
    perm = kept + reduced
    xt = transpose(x, axes=perm) if perm != tuple(range(nd)) else x
    lead = tuple(shape[i] for i in kept)
    m = math.prod(shape[i] for i in reduced)
    flat = reshape(xt, shape=lead + (m,)) if shape_of(xt) != lead + (m,) else xt
    last = len(lead)
    prefix = shift(cumprod(flat, axis=last, reverse=False), 1, last, False, 1)
    suffix = shift(cumprod(flat, axis=last, reverse=True), 1, last, True, 1)
    others = multiply(prefix, suffix)
    tshape = tuple(shape[i] for i in perm)
    if shape_of(others) != tshape:
        others = reshape(others, shape=tshape)
    if perm != tuple(range(nd)):
        others = transpose(others, axes=tuple(int(i) for i in np.argsort(perm)))
    return others


def _prod_impl(x, axis, keepdims):
    return np.prod(x, axis=axis, keepdims=keepdims)


def _prod_rule(x, axis, keepdims):
    return _reduced_shape(shape_of(x), axis, keepdims), _accumulated_dtype(dtype_of(x))


reduce_prod = Primitive(
    "reduce_prod", _prod_impl, shape=_prod_rule,
    jvps=[lambda t, out, x, axis, keepdims: reduce_sum(
        multiply(t, products_of_others(x, axis)), axis=axis, keepdims=keepdims)],
    doc="Π over axis; ∂/∂xⱼ = Πₖ≠ⱼ xₖ (prefix × suffix products: exact with zeros)",
    xp_impl=lambda xp, x, axis, keepdims: xp.prod(x, axis=axis, keepdims=keepdims),
)


# ----------------------------------------------------------------------------- permutations


def _take_along_axis(xp, x, perm, axis):
    """The array API's take_along_axis (Dask has none: each lane is gathered by its flat positions)."""
    if hasattr(xp, "take_along_axis"):
        return xp.take_along_axis(x, perm, axis=axis)
    if is_lazy(xp):  # each lane whole in one chunk, gathered block by block
        x = x.rechunk({axis: -1})
        return x.map_blocks(np.take_along_axis, perm.rechunk(x.chunks), axis=axis, dtype=x.dtype)
    raise BackendError(f"permute_along_axis (sort, argsort's gather) has no implementation for "
                       f"{getattr(xp, '__name__', xp)} arrays (no take_along_axis); sort on NumPy arrays.")


def _permute_impl(x, perm, axis):
    return np.take_along_axis(np.asarray(x), perm, axis=axis)


def _invert_permutation_impl(perm, axis):
    perm = np.asarray(perm)
    inverse = np.empty_like(perm)
    ramp = np.arange(perm.shape[axis], dtype=perm.dtype).reshape(
        [-1 if i == axis else 1 for i in range(perm.ndim)])
    np.put_along_axis(inverse, perm, np.broadcast_to(ramp, perm.shape), axis=axis)
    return inverse


invert_permutation = nondifferentiable(
    "invert_permutation", _invert_permutation_impl, shape=lambda perm, axis: (shape_of(perm), dtype_of(perm)),
    doc="the inverse of each permutation along axis",
    xp_impl=lambda xp, perm, axis: xp.argsort(perm, axis=axis, stable=True),
)

permute_along_axis = Primitive(
    "permute_along_axis", _permute_impl, shape=lambda x, perm, axis: (shape_of(x), dtype_of(x)), linear=True,
    jvps=[lambda t, out, x, perm, axis: permute_along_axis(t, perm, axis=axis), None],
    vjps=[lambda ct, out, x, perm, axis: permute_along_axis(ct, invert_permutation(perm, axis=axis), axis=axis),
          None],
    doc="take_along_axis(x, perm, axis) for a permutation perm (no derivative); transpose: the inverse permutation",
    xp_impl=lambda xp, x, perm, axis: _take_along_axis(xp, x, perm, axis),
)


# ----------------------------------------------------------------------------- no derivative

_INTP = np.dtype(np.intp)


def _same_shape_index_rule(x, *rest, **params):
    return shape_of(x), _INTP


argsort = nondifferentiable(
    "argsort", lambda x, axis, kind: np.argsort(x, axis=axis, kind=kind), shape=_same_shape_index_rule,
    doc="indices that sort x along axis",
    xp_impl=lambda xp, x, axis, kind: xp.argsort(x, axis=-1 if axis is None else axis, stable=True),
)
argpartition = nondifferentiable(
    "argpartition", lambda x, kth, axis: np.argpartition(x, kth, axis=axis), shape=_same_shape_index_rule,
    doc="indices that partition x along axis around the kth entries",
)


def _arg_rule(x, axis, keepdims):
    shape = shape_of(x)
    return _reduced_shape(shape, None if axis is None else (axis,), keepdims), _INTP


argmax = nondifferentiable(
    "argmax", lambda x, axis, keepdims: np.argmax(x, axis=axis, keepdims=keepdims), shape=_arg_rule,
    doc="index of the first maximum along axis (an int axis, or None for the flattened array)",
    xp_impl=lambda xp, x, axis, keepdims: xp.argmax(x, axis=axis, keepdims=keepdims),
)
argmin = nondifferentiable(
    "argmin", lambda x, axis, keepdims: np.argmin(x, axis=axis, keepdims=keepdims), shape=_arg_rule,
    doc="index of the first minimum along axis (an int axis, or None for the flattened array)",
    xp_impl=lambda xp, x, axis, keepdims: xp.argmin(x, axis=axis, keepdims=keepdims),
)


def _logical_rule(dtype):
    return lambda x, axis, keepdims: (_reduced_shape(shape_of(x), axis, keepdims), np.dtype(dtype))


reduce_any = nondifferentiable(
    "reduce_any", lambda x, axis, keepdims: np.any(x, axis=axis, keepdims=keepdims), shape=_logical_rule(bool),
    doc="whether any entry over axis is nonzero",
    xp_impl=lambda xp, x, axis, keepdims: xp.any(x, axis=axis, keepdims=keepdims),
)
reduce_all = nondifferentiable(
    "reduce_all", lambda x, axis, keepdims: np.all(x, axis=axis, keepdims=keepdims), shape=_logical_rule(bool),
    doc="whether every entry over axis is nonzero",
    xp_impl=lambda xp, x, axis, keepdims: xp.all(x, axis=axis, keepdims=keepdims),
)
count_nonzero = nondifferentiable(
    "count_nonzero", lambda x, axis, keepdims: np.count_nonzero(x, axis=axis, keepdims=keepdims),
    shape=_logical_rule(np.intp),
    doc="number of nonzero entries over axis",
    xp_impl=lambda xp, x, axis, keepdims: xp.count_nonzero(x, axis=axis, keepdims=keepdims),
)
lexsort = nondifferentiable(
    "lexsort", lambda *keys, axis: np.lexsort(keys, axis=axis), shape=_same_shape_index_rule,
    doc="indices that sort by the last key, then the one before, ... (stable)",
)
searchsorted = nondifferentiable(
    "searchsorted", lambda a, v, side: np.searchsorted(a, v, side=side),
    shape=lambda a, v, side: (shape_of(v), _INTP),
    doc="indices where v would be inserted into the sorted 1-D array a",
)


# ----------------------------------------------------------------------------- batching (vmap)


def _batch_single_axis(prim):
    """Primitives of one array along one int axis: the axis moves past the batch axis."""

    def rule(vals, batched, axis, **params):
        return prim.bind(*all_batched(vals, batched), axis=axis + 1, **params)

    return rule


def _batch_arg_extremum(prim):
    def rule(vals, batched, axis, keepdims):
        (x,) = vals
        shape = shape_of(x)
        if axis is not None:
            return prim.bind(x, axis=axis + 1, keepdims=keepdims)
        flat = reshape(x, shape=(shape[0], math.prod(shape[1:])))
        r = prim.bind(flat, axis=1, keepdims=False)
        return reshape(r, shape=(shape[0],) + (1,) * (len(shape) - 1)) if keepdims else r

    return rule


for _prim in (cumsum, cumprod, permute_along_axis, invert_permutation, argsort, argpartition, lexsort):
    _prim.batch = _batch_single_axis(_prim)
for _prim in (reduce_prod, reduce_any, reduce_all, count_nonzero):
    _prim.batch = shift_axis_rule(_prim)
for _prim in (argmax, argmin):
    _prim.batch = _batch_arg_extremum(_prim)
