"""Shape primitives: reshape, transpose, broadcast_to / sum_to, concatenate, getitem / add_at.

All of them are linear: each reverse rule is the transpose (reshape ↔ reshape,
broadcast_to ↔ sum_to, getitem ↔ add_at into zeros, concatenate ↔ slices). All but
transpose are the engine's own (core/lax.py, where they are defined with their rules);
they are re-exported here under the same names.
"""

from __future__ import annotations

import numpy as np

from ..core.lax import (
    _add_at_impl,
    _is_basic,
    add_at,
    batched_index,
    broadcast_to,
    concatenate,
    getitem,
    index_update_batch,
    reshape,
    sum_to,
    zeros_to_scatter_into,
)
from ..core.primitive import Primitive
from ._util import dtype_of, shape_of

__all__ = ["_add_at_impl", "_index_update_batch", "_is_basic", "add_at", "batched_index", "broadcast_to",
           "concatenate", "getitem", "reshape", "sum_to", "transpose", "zeros_to_scatter_into"]

_index_update_batch = index_update_batch  # the name the other families use


def _transpose_impl(x, axes):
    return np.transpose(x, axes)


def _inverse_perm(axes):
    return tuple(int(i) for i in np.argsort(axes))


def _rewrite_transpose(s, ins, params, out):
    """The identity permutation → x; transpose(transpose(x)) → one transpose (or x)."""
    axes = tuple(params["axes"])
    if axes == tuple(range(len(axes))):
        return ins[0]
    src = s.src(ins[0], transpose)
    if src is not None:
        merged = tuple(src.params["axes"][a] for a in axes)
        if merged == tuple(range(len(merged))):
            return src.ins[0]
        return s.apply(transpose, src.ins[0], axes=merged)
    return None


transpose = Primitive(
    "transpose", _transpose_impl,
    shape=lambda x, axes: (tuple(shape_of(x)[a] for a in axes), dtype_of(x)), linear=True,
    jvps=[lambda t, out, x, axes: transpose(t, axes=axes)],
    vjps=[lambda ct, out, x, axes: transpose(ct, axes=_inverse_perm(axes))],
    doc="permute axes",
    negation_commutes=True, rewrite=_rewrite_transpose, stem="tr",
    lower=lambda ctx, e, a: (
        f"np.transpose({a[0]}, {tuple(int(i) for i in e.params['axes'])!r})" if e.params["axes"] else None),
    xp_impl=lambda xp, x, axes: xp.permute_dims(x, tuple(axes)),
    render=lambda em, e, a: f"np.transpose({a[0]}, {em.lit(tuple(e.params['axes']))})",
)
transpose.batch = lambda vals, batched, axes: transpose(vals[0], axes=(0,) + tuple(a + 1 for a in axes))
