"""Indexing with an index array that is itself a traced value (a jit argument, a vmapped index):

    gather(x, i)        = x[i] = numpy.take(x, i, axis=0)   for an integer array i (any shape; negative
                          entries count from the end, out-of-range ones raise IndexError as NumPy does)
        x̄ = index_add(zeros like x, ct, i),      i carries no derivative
    index_add(x, v, i)  = a copy of x with numpy.add.at(out, i, v) (repeated entries accumulate)
        x̄ = ct,  v̄ = gather(ct, i)

The indexing primitives of shape.py take their index as a concrete parameter; these take it as an
operand, so that one staged graph serves every value of the index (of one shape and dtype).
pullback.numpy's x[i] uses gather when i is an integer tracer without a concrete value.
"""

from __future__ import annotations

import numpy as np

from ..core.lax import loop_rule
from ..core.primitive import Primitive
from ..core.shapes import result_dtype
from ._util import dtype_of, shape_of
from .shape import transpose


def _gather_shape(x, i):
    if not shape_of(x):
        raise IndexError("gather: a 0-d array cannot be indexed by an integer array")
    if dtype_of(i).kind not in "iu":
        raise IndexError(f"gather: the index must be an integer array, got {dtype_of(i)}")
    return tuple(shape_of(i)) + tuple(shape_of(x))[1:], dtype_of(x)


def _gather_impl(x, i):
    return np.take(np.asarray(x), i, axis=0)


gather = Primitive(
    "gather", _gather_impl, shape=_gather_shape,
    jvps=[lambda t, out, x, i: gather(t, i), None],
    vjps=[lambda ct, out, x, i: index_add(np.zeros(shape_of(x), dtype_of(ct)), ct, i), None],
    doc="x[i] for an integer index array i that is an operand (numpy.take(x, i, axis=0))",
    render=lambda em, e, a: f"{a[0]}[{a[1]}]" if e.ins[0].__class__.__name__ == "Var" else None,
    stem="gath",
)


def _index_add_impl(x, v, i):
    out = np.array(x, copy=True, dtype=np.result_type(x, v))
    np.add.at(out, i, np.broadcast_to(v, out[i].shape))
    return out


def _index_add_shape(x, v, i):
    if dtype_of(i).kind not in "iu":
        raise IndexError(f"index_add: the index must be an integer array, got {dtype_of(i)}")
    return tuple(shape_of(x)), result_dtype(x, v)


index_add = Primitive(
    "index_add", _index_add_impl, shape=_index_add_shape,
    jvps=[lambda t, out, x, v, i: t,
          lambda t, out, x, v, i: index_add(np.zeros(shape_of(x), dtype_of(t)), t, i), None],
    vjps=[lambda ct, out, x, v, i: ct, lambda ct, out, x, v, i: gather(ct, i), None],
    doc="a copy of x with v added at x[i] for an integer index array i that is an operand (numpy.add.at)",
    stem="iadd",
)


def _gather_batch(vals, batched):
    """vmap: an unbatched index reads axis 1 of a batched x; a batched index into an unbatched x is one gather."""
    x, i = vals
    if batched[1]:
        return gather(x, i) if not batched[0] else loop_rule(gather)(vals, batched)
    nd, k = len(shape_of(x)), len(shape_of(i))
    moved = transpose(x, axes=(1, 0) + tuple(range(2, nd)))  # (n, B, ...)
    out = gather(moved, i)  # (*i, B, ...)
    return transpose(out, axes=(k,) + tuple(range(k)) + tuple(range(k + 1, k + nd - 1)))


gather.batch = _gather_batch
