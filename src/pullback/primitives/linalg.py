"""Matrix products. matmul follows numpy.matmul: 1-D operands are promoted, batch axes broadcast.

    out = a @ b,   ∂out = ∂a @ b + a @ ∂b,   ā = ct @ bᵀ,   b̄ = aᵀ @ ct
(with ᵀ swapping the last two axes, and sums over broadcast batch axes).
"""

from __future__ import annotations

import numpy as np

from ..core.primitive import Primitive
from ._util import dtype_of, ndim_of, shape_of
from .elementwise import fit
from .shape import reshape, transpose


def _swap_last(x):
    nd = ndim_of(x)
    axes = tuple(range(nd - 2)) + (nd - 1, nd - 2)
    return transpose(x, axes=axes)


def _as_matrices(a, b, ct):
    """Promote 1-D operands (and the cotangent) to matrices, as numpy.matmul does."""
    a1, b1 = ndim_of(a) == 1, ndim_of(b) == 1
    cs = shape_of(ct)
    if a1 and b1:
        ct = reshape(ct, shape=cs + (1, 1))
    elif a1:
        ct = reshape(ct, shape=cs[:-1] + (1,) + cs[-1:])
    elif b1:
        ct = reshape(ct, shape=cs + (1,))
    if a1:
        a = reshape(a, shape=(1,) + shape_of(a))
    if b1:
        b = reshape(b, shape=shape_of(b) + (1,))
    return a, b, ct


def _matmul_vjp_a(ct, out, a, b):
    a2, b2, ct2 = _as_matrices(a, b, ct)
    return fit(reshape_like(matmul(ct2, _swap_last(b2)), a), a)


def _matmul_vjp_b(ct, out, a, b):
    a2, b2, ct2 = _as_matrices(a, b, ct)
    return fit(reshape_like(matmul(_swap_last(a2), ct2), b), b)


def reshape_like(g, x):
    """Drop the axes a 1-D operand gained in _as_matrices (batch axes are left for `fit`)."""
    xs = shape_of(x)
    if len(xs) == 1:
        return reshape(g, shape=shape_of(g)[:-2] + xs) if ndim_of(g) > 2 else reshape(g, shape=xs)
    return g


def _matmul_shape(a, b):
    sa, sb = shape_of(a), shape_of(b)
    ma = (1,) + sa if len(sa) == 1 else sa
    mb = sb + (1,) if len(sb) == 1 else sb
    if ma[-1] != mb[-2]:
        raise ValueError(f"matmul: contraction sizes differ: {sa} @ {sb}")
    out = np.broadcast_shapes(ma[:-2], mb[:-2]) + (ma[-2], mb[-1])
    if len(sb) == 1:
        out = out[:-1]
    if len(sa) == 1:
        out = out[:-2] + out[-1:] if len(sb) != 1 else out[:-1]
    return out, np.result_type(dtype_of(a), dtype_of(b))


matmul = Primitive(
    "matmul", np.matmul, shape=_matmul_shape,
    jvps=[lambda t, out, a, b: matmul(t, b), lambda t, out, a, b: matmul(a, t)],
    vjps=[_matmul_vjp_a, _matmul_vjp_b],
    doc="numpy.matmul",
)
