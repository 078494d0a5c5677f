"""Reductions: sum (linear) and max/min (ties share the derivative equally).

`axis` is always a sorted tuple of non-negative ints (or None for all axes); the
pullback.numpy layer normalizes it.
"""

from __future__ import annotations

import numpy as np

from ..core.atoms import aval_of, fits
from ..core.batching import shift_axis_rule
from ..core.codegen import reduction
from ..core.primitive import Primitive
from ._util import dtype_of, shape_of
from .elementwise import convert, divide, equal, multiply
from .shape import broadcast_to, reshape, sum_to


def _kept_shape(shape, axis):
    """The shape of a reduction over `axis` with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


def _reduced_shape(shape, axis, keepdims):
    if keepdims:
        return _kept_shape(shape, axis)
    if axis is None:
        return ()
    return tuple(n for i, n in enumerate(shape) if i not in axis)


def _expand(ct, x, axis, keepdims):
    """Reshape a reduced value back to keepdims form, so it broadcasts against x."""
    if keepdims:
        return ct
    return reshape(ct, shape=_kept_shape(shape_of(x), axis))


def _canonical_reduction(prim):
    """Rewrite rule: one spelling per reduction — axis a tuple without length-1 axes, no keepdims (a
    reshape instead, which the simplifier's fuse_keepdims turns back), a reduction over no axis dropped."""

    def rule(s, ins, params, out):
        x = ins[0]
        shape = aval_of(x).shape
        axis, keepdims = params["axis"], params["keepdims"]
        if axis is None:
            return s.apply(prim, x, axis=tuple(range(len(shape))), keepdims=keepdims)
        axis = tuple(axis)
        real = tuple(a for a in axis if shape[a] != 1)  # a sum over a length-1 axis is no sum at all
        if keepdims or real != axis:
            inner = s.apply(prim, x, axis=real, keepdims=False) if real else x
            return s.apply(reshape, inner, shape=out.shape)
        if not axis:
            return x
        return None

    return rule


def _sum_to_as_reduce_sum(s, ins, params, out):
    """sum_to(x, shape) → reshape(reduce_sum(x, axes), shape): one spelling for every sum."""
    x = ins[0]
    if fits(x, out):
        return x
    xs, shape = aval_of(x).shape, tuple(params["shape"])
    lead = len(xs) - len(shape)
    if lead < 0:
        return None
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and xs[i + lead] != 1)
    summed = s.apply(reduce_sum, x, axis=axes, keepdims=False) if axes else x
    return s.apply(reshape, summed, shape=out.shape)


def _sum_impl(x, axis, keepdims):
    return np.sum(x, axis=axis, keepdims=keepdims)


def _reduce_rule(x, axis, keepdims):
    return _reduced_shape(shape_of(x), axis, keepdims), dtype_of(x)


def _lower_sum(ctx, e, a):
    """numba: np.sum over everything or over one axis (keepdims by a reshape of the result)."""
    axis, shape = e.params.get("axis"), ctx.in_shapes[0]
    if shape == ():
        return a[0]
    axes = tuple(range(len(shape))) if axis is None else tuple(axis) if isinstance(axis, tuple) else (axis,)
    if len(axes) == len(shape):
        total = f"np.sum({a[0]})"
        return total if ctx.out_shape == () else f"np.full({ctx.out_shape!r}, {total})"
    if len(axes) != 1:
        return None
    total = f"np.sum({a[0]}, axis={int(axes[0]) % len(shape)})"
    return f"np.ascontiguousarray({total}).reshape({ctx.out_shape!r})" if e.params.get("keepdims") else total


_lower_sum.accumulate = "+"  # a full sum folds into a fused loop as `acc += element`


reduce_sum = Primitive(
    "reduce_sum", _sum_impl, shape=_reduce_rule, linear=True,
    jvps=[lambda t, out, x, axis, keepdims: reduce_sum(t, axis=axis, keepdims=keepdims)],
    vjps=[lambda ct, out, x, axis, keepdims: broadcast_to(_expand(ct, x, axis, keepdims), shape=shape_of(x))],
    doc="Σ over axis; transpose: broadcast back",
    reduction=True, negation_commutes=True, render=reduction("np.sum"), stem="sum", lower=_lower_sum,
    xp_impl=lambda xp, x, axis, keepdims: xp.sum(x, axis=axis, keepdims=keepdims),
)
reduce_sum.def_rewrite(_canonical_reduction(reduce_sum))
sum_to.def_rewrite(_sum_to_as_reduce_sum)


def _tie_share(x, out, axis, keepdims):
    """Weights 1/(number of ties) at the positions that attain the extremum, 0 elsewhere."""
    hit = convert(equal(x, _expand(out, x, axis, keepdims)), dtype=dtype_of(x))
    return divide(hit, reduce_sum(hit, axis=axis, keepdims=True))


def _extremum(name, np_fn, np_name, stem):
    def impl(x, axis, keepdims):
        return np_fn(x, axis=axis, keepdims=keepdims)

    def xp_impl(xp, x, axis, keepdims):
        return getattr(xp, np_fn.__name__)(x, axis=axis, keepdims=keepdims)

    return Primitive(
        name, impl, shape=_reduce_rule,
        jvps=[lambda t, out, x, axis, keepdims: reduce_sum(
            multiply(t, _tie_share(x, out, axis, keepdims)), axis=axis, keepdims=keepdims)],
        doc=f"{name} over axis; when several entries tie for the extremum they share the derivative equally",
        reduction=True, render=reduction(np_name), stem=stem, xp_impl=xp_impl,
    )


reduce_max = _extremum("reduce_max", np.max, "np.max", "max")
reduce_min = _extremum("reduce_min", np.min, "np.min", "min")
reduce_max.def_rewrite(_canonical_reduction(reduce_max))
reduce_min.def_rewrite(_canonical_reduction(reduce_min))

# vmap: the reduced axes move one place right, past the batch axis.
for _prim in (reduce_sum, reduce_max, reduce_min):
    _prim.batch = shift_axis_rule(_prim)
