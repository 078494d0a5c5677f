"""Matrix products. matmul follows numpy.matmul: 1-D operands are promoted, batch axes broadcast.

    out = a @ b,   ∂out = ∂a @ b + a @ ∂b,   ā = ct @ bᵀ,   b̄ = aᵀ @ ct
(with ᵀ swapping the last two axes, and sums over broadcast batch axes).
"""

from __future__ import annotations

import numpy as np

from ..core.atoms import Const, aval_of, is_number, known_finite, zero_like
from ..core.batching import broadcasting_rule
from ..core.codegen import infix
from ..core.primitive import Primitive
from ._util import dtype_of, ndim_of, shape_of
from .elementwise import negative
from .shape import getitem, reshape, transpose


def _swap_last(x):
    nd = ndim_of(x)
    axes = tuple(range(nd - 2)) + (nd - 1, nd - 2)
    return transpose(x, axes=axes)


def _as_matrices(a, b, ct, keep):
    """Promote 1-D operands (and the cotangent) to matrices, as numpy.matmul does.

    Only the operand `keep` ("a" or "b") the rule multiplies by is reshaped: the other is
    the one being differentiated, whose value a transpose must not read.
    """
    a1, b1 = ndim_of(a) == 1, ndim_of(b) == 1
    cs = shape_of(ct)
    if a1 and b1:
        ct = reshape(ct, shape=cs + (1, 1))
    elif a1:
        ct = reshape(ct, shape=cs[:-1] + (1,) + cs[-1:])
    elif b1:
        ct = reshape(ct, shape=cs + (1,))
    if keep == "a":
        return (reshape(a, shape=(1,) + shape_of(a)) if a1 else a), ct
    return (reshape(b, shape=shape_of(b) + (1,)) if b1 else b), ct


def _matmul_vjp_a(ct, out, a, b):
    if ndim_of(a) == 1 and ndim_of(b) == 2:     # ā = B ct, as one product ct Bᵀ
        return matmul(ct, _swap_last(b))
    b2, ct2 = _as_matrices(a, b, ct, "b")
    return reshape_like(matmul(ct2, _swap_last(b2)), a)


def _matmul_vjp_b(ct, out, a, b):
    if ndim_of(b) == 1 and ndim_of(a) == 2:     # b̄ = Aᵀ ct, as one product ct A
        return matmul(ct, a)
    a2, ct2 = _as_matrices(a, b, ct, "a")
    return reshape_like(matmul(_swap_last(a2), ct2), b)


def reshape_like(g, x):
    """Drop the axes a 1-D operand gained in _as_matrices (broadcast batch axes are summed by the backward pass)."""
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


def _squeezed_operand(s, a, n: int):
    """A 1-D (n,) atom equal to the 2-D unit-row/column operand a, without new work, or None."""
    if isinstance(a, Const):
        return Const(np.reshape(a.value, (n,)))
    src = s.src(a, reshape)
    if src is not None and aval_of(src.ins[0]).shape == (n,):
        return src.ins[0]
    return None


def _rewrite_matmul(s, ins, params, out):
    """Zeros; negation out; and a (1,n) row or (n,1) column made from a vector used as the vector."""
    a, b = ins
    if (is_number(a, 0) and known_finite(b)) or (is_number(b, 0) and known_finite(a)):  # 0·∞ is nan
        return zero_like(out)
    (x, nx), (y, ny) = s.neg_parts(a), s.neg_parts(b)
    if nx or ny:
        m = s.apply(matmul, x, y)
        return s.apply(negative, m) if nx != ny else m
    sa, sb = aval_of(a).shape, aval_of(b).shape
    if len(sb) == 2 and sb[1] == 1 and len(sa) >= 1:
        b1 = _squeezed_operand(s, b, sb[0])
        if b1 is not None:
            return s.apply(reshape, s.apply(matmul, a, b1), shape=out.shape)
    if len(sa) == 2 and sa[0] == 1 and len(sb) >= 1:
        a1 = _squeezed_operand(s, a, sa[1])
        if a1 is not None:
            return s.apply(reshape, s.apply(matmul, a1, b), shape=out.shape)
    return None


def _lower_matmul(ctx, e, a):
    """numba: np.dot (BLAS) for float64 vectors and matrices."""
    sa, sb = ctx.in_shapes
    if not (1 <= len(sa) <= 2 and 1 <= len(sb) <= 2) or np.dtype(e.outs[0].aval.dtype) != np.float64:
        return None
    if any(np.dtype(x.aval.dtype) != np.float64 for x in e.ins):
        return None
    if int(np.prod(sa)) * (sb[-1] if len(sb) == 2 else 1) <= 512 and ctx.out_shape != ():
        return _small_matmul_loops(sa, sb, a)
    return f"np.dot(np.ascontiguousarray({a[0]}), np.ascontiguousarray({a[1]}))"


def _small_matmul_loops(sa, sb, a):
    """Small products as scalar loops (a BLAS call costs more than the arithmetic): out[i, j] = Σ_k a[i, k] b[k, j]."""
    m = sa[0] if len(sa) == 2 else None
    n = sb[1] if len(sb) == 2 else None
    kk = sa[-1]
    oi = ", ".join(x for x, d in (("_i", m), ("_j", n)) if d is not None)
    ai = "_i, _k" if m is not None else "_k"
    bi = "_k, _j" if n is not None else "_k"
    shape = tuple(d for d in (m, n) if d is not None)
    lines = [f"$out = np.empty({shape!r}, np.float64)"]
    ind = ""
    if m is not None:
        lines.append(f"for _i in range({m}):")
        ind += "    "
    if n is not None:
        lines.append(f"{ind}for _j in range({n}):")
        ind += "    "
    lines += [f"{ind}_acc = 0.0", f"{ind}for _k in range({kk}):", f"{ind}    _acc += {a[0]}[{ai}] * {a[1]}[{bi}]",
              f"{ind}$out[{oi}] = _acc"]
    return lines


_lower_matmul.blas = True  # the cost model keeps large products on NumPy


matmul = Primitive(
    "matmul", np.matmul, shape=_matmul_shape,
    jvps=[lambda t, out, a, b: matmul(t, b), lambda t, out, a, b: matmul(a, t)],
    vjps=[_matmul_vjp_a, _matmul_vjp_b],
    doc="numpy.matmul",
    rewrite=_rewrite_matmul, render=infix("@"), stem="mm", lower=_lower_matmul,
    xp_impl=lambda xp, a, b: xp.matmul(a, b),  # Dask: block by block
)


# ----------------------------------------------------------------------------- matrix helpers
# Building blocks of the derivative rules in decompositions.py and spectral.py: written with
# primitives, so that every rule built from them can be differentiated again. Batch axes lead;
# the matrix axes are the last two.


def real_dtype(x) -> np.dtype:
    """The real dtype of x's precision (float32 for complex64)."""
    d = dtype_of(x)
    return np.finfo(d).dtype if d.kind in "fc" else np.dtype(np.float64)


def mT(x):
    """Swap the last two axes (the matrix transpose of each matrix in a stack)."""
    return _swap_last(x)


def mH(x):
    """Conjugate transpose of each matrix (plain transpose for real x)."""
    from .elementwise import conj

    t = _swap_last(x)
    return conj(t) if dtype_of(x).kind == "c" else t


def diag_part(x):
    """The diagonals of a stack of square matrices: (..., n, n) → (..., n)."""
    n = shape_of(x)[-1]
    i = np.arange(n)
    return getitem(x, idx=(Ellipsis, i, i))


def diag_embed(v, dtype=None):
    """Diagonal matrices with diagonals v: (..., n) → (..., n, n)."""
    from .elementwise import multiply

    n = shape_of(v)[-1]
    eye = np.eye(n, dtype=real_dtype(v) if dtype is None else dtype)
    return multiply(reshape(v, shape=shape_of(v)[:-1] + (1, n)), eye)


def trace_last(x):
    """Σᵢ xᵢᵢ of each matrix: (..., n, n) → (...)."""
    from .reductions import reduce_sum

    d = diag_part(x)
    return reduce_sum(d, axis=(ndim_of(d) - 1,), keepdims=False)


def as_matrix_batch(v):
    """(...) → (..., 1, 1), so that one number per matrix broadcasts against the matrices."""
    return reshape(v, shape=shape_of(v) + (1, 1))


def row(v):
    """(..., n) → (..., 1, n): scales the columns of a matrix when multiplied."""
    return reshape(v, shape=shape_of(v)[:-1] + (1, shape_of(v)[-1]))


def col(v):
    """(..., n) → (..., n, 1): scales the rows of a matrix when multiplied."""
    return reshape(v, shape=shape_of(v) + (1,))


def masked(x, mask):
    """x ∘ mask with a constant 0/1 (or weight) matrix, in x's precision."""
    from .elementwise import multiply

    return multiply(x, mask.astype(real_dtype(x)))


def hermitian_from_triangle(x, lower: bool):
    """The Hermitian matrix NumPy's eigh/cholesky/... read from one triangle of x (UPLO='L' or 'U').

    Strict triangle and its conjugate mirror, plus the real part of the diagonal (LAPACK
    ignores the imaginary part of the diagonal of a Hermitian matrix).
    """
    from .elementwise import add, real

    n = shape_of(x)[-1]
    strict = np.tri(n, n, -1) if lower else np.tri(n, n, -1).T
    s = masked(x, strict)
    d = masked(real(x), np.eye(n)) if dtype_of(x).kind == "c" else masked(x, np.eye(n))
    return add(add(s, mH(s)), d)


def hermitian_from_triangle_transpose(g, lower: bool):
    """Transpose (under the pairing Re Σ u·v) of x ↦ hermitian_from_triangle(x, lower).

    Off the diagonal the triangle that is read gets g + gᴴ; the diagonal gets Re g; the
    other triangle gets nothing (NumPy never reads it).
    """
    from .elementwise import add, real

    n = shape_of(g)[-1]
    strict = np.tri(n, n, -1) if lower else np.tri(n, n, -1).T
    d = masked(real(g), np.eye(n)) if dtype_of(g).kind == "c" else masked(g, np.eye(n))
    return add(masked(add(g, mH(g)), strict), d)


def is_symbolic_zero(ct) -> bool:
    """True for a cotangent that is a plain all-zero array (an output nobody used).

    Traced cotangents and other libraries' arrays are never treated as zero: the test reads no traced
    value (safe under staging) and never computes a Dask array.
    """
    return isinstance(ct, (np.ndarray, np.generic, float, int)) and not np.any(ct)


# ----------------------------------------------------------------------------- batching (vmap)

# Stacks of matrices broadcast their leading axes like elementwise operands do.
leading_batch_rule = broadcasting_rule


def _matmul_batch(vals, batched):
    """vmap of matmul: 1-D operands made matrices per example, batch axes aligned, the added axes dropped."""
    (a, b), (ba, bb) = vals, batched
    a_vec = len(shape_of(a)) - ba == 1
    b_vec = len(shape_of(b)) - bb == 1
    # a batch of vectors against one matrix is one matrix product (a stack of matrix-vector
    # products would be as many BLAS calls)
    if a_vec and ba and not bb and ndim_of(b) == 2:
        return matmul(a, b)                       # rows aᵢ @ B
    if b_vec and bb and not ba and ndim_of(a) == 2:
        return matmul(b, _swap_last(a))           # rows (A @ bᵢ)ᵀ = bᵢᵀ Aᵀ
    if a_vec:
        s = shape_of(a)
        a = reshape(a, shape=s[:-1] + (1, s[-1]))
    if b_vec:
        b = reshape(b, shape=shape_of(b) + (1,))
    out = leading_batch_rule(matmul)((a, b), (ba, bb))
    s = shape_of(out)
    if a_vec or b_vec:
        keep = s[:-2] + (() if a_vec else s[-2:-1]) + (() if b_vec else s[-1:])
        out = reshape(out, shape=keep)
    return out


matmul.batch = _matmul_batch
