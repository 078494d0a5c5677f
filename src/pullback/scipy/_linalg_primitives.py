"""The primitives behind pullback.scipy.linalg and pullback.scipy.signal, all in one module.

Each primitive's implementation is SciPy's own routine (applied matrix by matrix over leading
batch axes where SciPy has no batched form). Rules are written with pullback operations, most
of them with the primitive itself, so they can be differentiated to any order:

    X = op(T)⁻¹ B           (triangular)  dX = op(T)⁻¹ (dB − op(dT) X),  B̄ = op(T)⁻ᵀ X̄,  T̄ = −tri(op⁻¹(B̄ Xᵀ))
    A = P L U               (LU)          M = L⁻¹ Pᵀ dA U⁻¹,  dL = L tril(M, −1),  dU = triu(M) U
    X = e^A                 (expm)        dX = L(A, dA) = [e^[[A, dA], [0, A]]]₁₂,  Ā = L(Aᵀ, X̄)
    X = log A               (logm)        the same block trick with log
    X = A^½                 (sqrtm)       X dX + dX X = dA  (a Sylvester solve)
    A X + X B = Q           (sylvester)   dX = S⁻¹(dQ − dA X − X dB),  Q̄ = S⁻ᵀ X̄,  Ā = −Q̄ Xᵀ,  B̄ = −Xᵀ Q̄
    z = a ∗ b               (convolution) bilinear; ā = (z̄ ∗ flip b)[valid part], likewise b̄
    A(q) y = B(q) x         (lfilter)     dy = lfilter(db, a, x) − lfilter(da, a, y) + lfilter(b, a, dx)

Complex inputs follow docs/complex.md: reverse rules are transposes under Re Σ u·v (ᵀ, not ᴴ).
Piecewise-constant outputs (LU's permutation and pivots) are separate non-differentiable
primitives. Every primitive is defined with the public pullback.extend API (Primitive and
its rules), over the operations of pullback.primitives.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.linalg as _sl
import scipy.linalg.lapack as _lapack
import scipy.signal as _ss

from ..extend import Primitive, UnsupportedFunctionError, dtype_of, loop_rule, ndim_of, nondifferentiable, shape_of
from ..primitives.elementwise import add, conj, multiply, negative, real, subtract
from ..primitives.linalg import (
    leading_batch_rule,
    matmul,
    mH,
    mT,
)
from ..primitives.reductions import reduce_sum
from ..primitives.shape import concatenate, getitem, reshape

# ----------------------------------------------------------------------------- helpers


def per_matrix(fn, *mats, core=None):
    """fn applied to matching matrices of stacks whose leading (batch) axes broadcast.

    core: the number of trailing core axes of each argument (default 2 each).
    """
    mats = [np.asarray(m) for m in mats]
    core = core or (2,) * len(mats)
    batch = np.broadcast_shapes(*[m.shape[: m.ndim - c] for m, c in zip(mats, core)])
    if not batch:
        return fn(*mats)
    mats = [np.broadcast_to(m, batch + m.shape[m.ndim - c:]) for m, c in zip(mats, core)]
    outs = [fn(*[m[i] for m in mats]) for i in np.ndindex(*batch)]
    if isinstance(outs[0], tuple):
        return tuple(np.stack([o[k] for o in outs]).reshape(batch + np.shape(outs[0][k])) for k in range(len(outs[0])))
    return np.stack(outs).reshape(batch + np.shape(outs[0]))


@functools.cache
def _probe_dtype(fn_name: str, *dtypes) -> np.dtype:
    """The dtype SciPy's routine returns for these input dtypes (float32 stays single)."""
    probe = [np.eye(2, dtype=d) + 1 for d in dtypes]
    return np.asarray(getattr(_sl, fn_name)(*probe)).dtype


def _square(name, a):
    s = shape_of(a)
    if len(s) < 2 or s[-1] != s[-2]:
        raise ValueError(f"{name}: expected a (stack of) square matrices, got shape {s}")
    return s


@functools.lru_cache(maxsize=64)
def _eye_cached(n: int, dtype: np.dtype) -> np.ndarray:
    e = np.eye(n, dtype=dtype)
    e.flags.writeable = False
    return e


def _eye(n, like):
    """The n×n identity in like's real precision (cached, read-only)."""
    d = dtype_of(like)
    return _eye_cached(int(n), np.dtype(np.finfo(d).dtype if d.kind in "fc" else np.float64))


def _cj(x):
    return conj(x) if dtype_of(x).kind == "c" else x


@functools.lru_cache(maxsize=64)
def _tri_mask_cached(n: int, lower: bool, strict: bool, dtype: np.dtype) -> np.ndarray:
    m = np.tri(n, n, -1 if strict else 0, dtype=dtype)
    m = m if lower else np.ascontiguousarray(m.T)
    m.flags.writeable = False
    return m


def _tri_mask(n, lower: bool, strict: bool, dtype=np.float64) -> np.ndarray:
    """The 0/1 matrix of a triangle (lower or upper, with or without the diagonal); cached, read-only."""
    return _tri_mask_cached(int(n), bool(lower), bool(strict), np.dtype(dtype))


def _real_of(x) -> np.dtype:
    d = dtype_of(x)
    return np.finfo(d).dtype if d.kind in "fc" else np.dtype(np.float64)


def _tri(x, lower: bool, strict: bool, scale: float = 1.0):
    """x times the mask of one triangle (times scale), the mask in x's real precision: one pass."""
    return multiply(x, _weights(shape_of(x)[-1], ("tri", bool(lower), bool(strict), float(scale)), _real_of(x)))


@functools.lru_cache(maxsize=64)
def _weights(n: int, kind: tuple, dtype: np.dtype) -> np.ndarray:
    """Cached read-only weight matrices: a scaled triangle, or strict triangle + ½ I ("half", optionally scaled)."""
    if kind[0] == "tri":
        _, lower, strict, scale = kind
        w = _tri_mask(n, lower, strict, dtype) * dtype.type(scale)
    else:
        _, lower, *scale = kind
        w = _tri_mask(n, lower, True, dtype) + dtype.type(0.5) * np.eye(n, dtype=dtype)
        w = w * dtype.type(scale[0]) if scale else w
    w.flags.writeable = False
    return w


def _outer_product(u, v):
    """u vᵀ for stacks of (n, k) and (m, k): a broadcast product when k = 1 (cheaper than a matmul)."""
    if shape_of(u)[-1] == 1:
        return multiply(u, mT(v))
    return matmul(u, mT(v))


def _block_upper(a, e):
    """[[A, E], [0, A]] for stacks of n×n matrices A and E."""
    nd = ndim_of(a)
    batch = np.broadcast_shapes(shape_of(a)[:-2], shape_of(e)[:-2])
    a = add(a, np.zeros(batch + shape_of(a)[-2:], dtype=dtype_of(a))) if shape_of(a)[:-2] != batch else a
    e = add(e, np.zeros(batch + shape_of(e)[-2:], dtype=dtype_of(e))) if shape_of(e)[:-2] != batch else e
    zero = np.zeros(shape_of(a), dtype=np.result_type(dtype_of(a), dtype_of(e)))
    top = concatenate(a, e, axis=nd - 1)
    bottom = concatenate(zero, a, axis=nd - 1)
    return concatenate(top, bottom, axis=nd - 2)


def _top_right(x, n):
    return getitem(x, idx=(Ellipsis, slice(0, n), slice(n, 2 * n)))


# ----------------------------------------------------------------------------- triangular solve


def _trsolve_impl(a, b, lower, trans, unit_diagonal):
    def one(a2, b2):
        return _sl.solve_triangular(a2, b2, trans=trans, lower=lower, unit_diagonal=unit_diagonal, check_finite=False)

    return per_matrix(one, a, b)


def _trsolve_shape(a, b, lower, trans, unit_diagonal):
    sa, sb = _square("solve_triangular", a), shape_of(b)
    if len(sb) < 2 or sb[-2] != sa[-1]:
        raise ValueError(f"solve_triangular: b must have shape (..., {sa[-1]}, k), got {sb}")
    return np.broadcast_shapes(sa[:-2], sb[:-2]) + sb[-2:], _probe_dtype("solve_triangular", dtype_of(a), dtype_of(b))


def _tri_part(a, lower, unit_diagonal):
    """The matrix T that solve_triangular reads from a (its triangle; ones on the diagonal if unit)."""
    n = shape_of(a)[-1]
    t = _tri(a, lower, unit_diagonal)
    return add(t, _eye(n, a)) if unit_diagonal else t


def _op(x, trans):
    return x if trans == 0 else mT(x) if trans == 1 else _cj(mT(x))


def _trsolve_jvp(primals, tangents, out, lower, trans, unit_diagonal):
    a, b = primals
    ta, tb = tangents
    params = dict(lower=lower, trans=trans, unit_diagonal=unit_diagonal)
    rhs = tb
    if ta is not None:
        dt = _tri(ta, lower, unit_diagonal)
        corr = matmul(_op(dt, trans), out)
        rhs = negative(corr) if rhs is None else subtract(rhs, corr)
    return None if rhs is None else triangular_solve(a, rhs, **params)


def _trsolve_vjp(ct, out, primals, needs, lower, trans, unit_diagonal):
    a, b = primals
    if trans == 2:      # (Tᴴ)⁻ᵀ = conj(T)⁻¹
        b_bar = triangular_solve(_cj(a), ct, lower=lower, trans=0, unit_diagonal=unit_diagonal)
    else:
        b_bar = triangular_solve(a, ct, lower=lower, trans=1 - trans, unit_diagonal=unit_diagonal)
    a_bar = None
    if needs[0]:                                      # T̄ = −tri(op⁻¹(B̄ Xᵀ))
        g = _outer_product(b_bar, out) if trans == 0 else _outer_product(out, b_bar)
        g = _cj(g) if trans == 2 else g
        a_bar = _tri(g, lower, unit_diagonal, scale=-1.0)
    return [a_bar, b_bar if needs[1] else None]


triangular_solve = Primitive(
    "triangular_solve", _trsolve_impl, shape=_trsolve_shape, jvp=_trsolve_jvp, vjp=_trsolve_vjp,
    doc="""X = op(T)⁻¹ B (scipy.linalg.solve_triangular), op = identity / ᵀ / ᴴ for trans = 0 / 1 / 2.

    T is the triangle of A that is read (lower or upper; with unit_diagonal, ones on the
    diagonal): the derivative with respect to the other entries of A is 0.
    dX = op(T)⁻¹(dB − op(dT) X),  B̄ = op(T)⁻ᵀ X̄,  T̄ = −tri(op⁻¹(B̄ Xᵀ)).""",
)
triangular_solve.batch = leading_batch_rule(triangular_solve)

# ----------------------------------------------------------------------------- symmetric congruence


def _congruence_impl(low, q):
    def one(l2, q2):
        # Z = L⁻ᵀ S L⁻¹ is J (Uᵀ⁻¹ (J S J) U⁻¹) J with U = J L J upper triangular (J reverses the order):
        # LAPACK's sygst(itype=1, uplo='U') on the flipped problem, reading S's lower triangle
        if l2.shape[-1] == 0:
            return np.zeros(l2.shape, dtype=np.result_type(l2, q2))
        fn = _lapack.get_lapack_funcs("sygst", (l2, q2))
        z, info = fn(q2[::-1, ::-1], l2[::-1, ::-1], itype=1, lower=0)
        if info != 0:
            raise np.linalg.LinAlgError(f"sygst failed (info = {info})")
        z = np.tril(z[::-1, ::-1])
        return z + np.tril(z, -1).T

    return per_matrix(one, low, q)


def _congruence_shape(low, q):
    s = _square("congruence", low)
    return np.broadcast_shapes(s[:-2], shape_of(q)[:-2]) + s[-2:], np.result_type(dtype_of(low), dtype_of(q))


def _congruence_jvp(primals, tangents, out):
    low, q = primals
    t_low, t_q = tangents
    res = None if t_q is None else congruence(low, t_q)
    if t_low is not None:   # dZ = −(V + Vᵀ), V = Z dL L⁻¹
        v = mT(triangular_solve(low, mT(matmul(out, _tri(t_low, True, False))), lower=True, trans=1,
                                unit_diagonal=False))
        d = negative(add(v, mT(v)))
        res = d if res is None else add(res, d)
    return res


def _congruence_vjp(ct, out, primals, needs):
    low, q = primals
    res = [None, None]
    if needs[0]:            # L̄ = −tril(Z (C̄ + C̄ᵀ) L⁻ᵀ)
        x = matmul(out, add(ct, mT(ct)))
        x = mT(triangular_solve(low, mT(x), lower=True, trans=0, unit_diagonal=False))
        res[0] = _tri(x, True, False, scale=-1.0)
    if needs[1]:            # q̄ = tri-transpose(L⁻¹ C̄ L⁻ᵀ)
        m1 = triangular_solve(low, ct, lower=True, trans=0, unit_diagonal=False)
        m2 = mT(triangular_solve(low, mT(m1), lower=True, trans=0, unit_diagonal=False))
        res[1] = _from_triangle_transpose(m2, True)
    return res


congruence = Primitive(
    "congruence", _congruence_impl, shape=_congruence_shape, jvp=_congruence_jvp, vjp=_congruence_vjp,
    doc="""Z = L⁻ᵀ S L⁻¹ for real L (its lower triangle is read) and the symmetric S whose lower triangle is q's.

    The reverse rule of cholesky, in one LAPACK call (sygst, ≈ n³ flops instead of 2n³ for two
    triangular solves). dZ = L⁻ᵀ dS L⁻¹ − (V + Vᵀ) with V = Z dL L⁻¹;  S̄ = tri(L⁻¹ Z̄ L⁻ᵀ),
    L̄ = −tril(Z (Z̄ + Z̄ᵀ) L⁻ᵀ).""",
)
congruence.batch = leading_batch_rule(congruence)

# ----------------------------------------------------------------------------- Cholesky


def _cholesky_impl(a, lower):
    return per_matrix(lambda m: _sl.cholesky(m, lower=lower, check_finite=False), a)


def _phi(m):
    """Strict lower triangle plus half the (real part of the) diagonal: dL = L Φ(L⁻¹ dA L⁻ᴴ)."""
    n = shape_of(m)[-1]
    if dtype_of(m).kind != "c":
        return multiply(m, _weights(n, ("half", True), _real_of(m)))
    return add(_tri(m, True, True), multiply(real(m), 0.5 * _eye(n, m)))


def _from_triangle(x, lower):
    """The Hermitian matrix LAPACK reads from one triangle of x (strict part, its mirror, Re diagonal)."""
    s = _tri(x, lower, True)
    d = real(x) if dtype_of(x).kind == "c" else x
    return add(add(s, mH(s)), multiply(d, _eye(shape_of(x)[-1], x)))


def _from_triangle_transpose(g, lower):
    """Transpose of _from_triangle under Re Σ u·v: g + gᴴ on the read strict triangle, Re g on the diagonal."""
    n = shape_of(g)[-1]
    if dtype_of(g).kind != "c":   # (g + gᵀ) ∘ (strict triangle + ½ I)
        return multiply(add(g, mT(g)), _weights(n, ("half", bool(lower)), _real_of(g)))
    return add(_tri(add(g, mH(g)), lower, True), multiply(real(g), _eye(n, g)))


def _lower_factor(out, lower):
    return out if lower else mH(out)


def _cholesky_jvp(t, out, a, lower):
    low = _lower_factor(out, lower)
    h = _from_triangle(t, lower)                                                        # the dA that is read
    x = triangular_solve(low, h, lower=True, trans=0, unit_diagonal=False)               # L⁻¹ dA
    m = mH(triangular_solve(low, mH(x), lower=True, trans=0, unit_diagonal=False))       # L⁻¹ dA L⁻ᴴ
    d_low = matmul(low, _phi(m))
    return d_low if lower else mH(d_low)


def _cholesky_vjp(ct, out, a, lower):
    low = _lower_factor(out, lower)
    g = ct if lower else mH(ct)                                                          # cotangent of L
    fast = _diagonal_cotangent_vjp(g, low, lower)
    if fast is not None:
        return fast
    if dtype_of(low).kind != "c":
        # Ā = tri((Y + Yᵀ)), Y = L⁻ᵀ Φ(Lᵀ L̄) L⁻¹: Y + Yᵀ = L⁻ᵀ S L⁻¹ with S the symmetric matrix whose lower
        # triangle is that of Lᵀ L̄ — one symmetric congruence (LAPACK sygst) instead of two triangular solves
        z = congruence(low, matmul(mT(low), g))
        return multiply(z, _weights(shape_of(z)[-1], ("half", bool(lower)), _real_of(z)))
    m_bar = _phi(matmul(mT(low), g))                                                     # Φ is its own transpose
    y = triangular_solve(low, m_bar, lower=True, trans=1, unit_diagonal=False)           # L⁻ᵀ M̄
    h_bar = mT(triangular_solve(low, mT(y), lower=True, trans=2, unit_diagonal=False))   # · conj(L)⁻¹
    return _from_triangle_transpose(h_bar, lower)


def _diagonal_cotangent_vjp(g, low, lower):
    """Ā for a concrete, real, diagonal cotangent L̄ = diag(d) (a log-determinant's): None otherwise.

    Then Lᵀ L̄ has the lower triangle diag(e), e = diag(L) ∘ d, and Ā is the weighted triangle of
    L⁻ᵀ diag(e) L⁻¹ = Mᵀ M (M = √e ∘ L⁻¹ by rows; e split by sign): one triangular inverse and
    LAPACK's lauum, ≈ 2n³/3 flops instead of the general rule's ≈ 3n³. First-order eager only
    (a traced cotangent's structure is unknown: the general rule runs, and differentiates again).
    """
    if type(g) is not np.ndarray or type(low) is not np.ndarray or g.ndim != 2 or g.dtype.kind != "f":
        return None
    if low.dtype != g.dtype or g.shape[0] == 0:
        return None
    d = np.diagonal(g)
    if np.count_nonzero(g) != np.count_nonzero(d):
        return None
    e = np.diagonal(low) * d
    inv_low = _lower_inverse(low)            # lower triangular, zeros above the diagonal
    lauum = _lapack.get_lapack_funcs("lauum", (inv_low,))
    scale = float(np.mean(e))
    eps = 8 * np.finfo(e.dtype).eps
    if np.max(np.abs(e - scale)) <= eps * abs(scale):
        scale = 1.0 if abs(scale - 1.0) <= eps else scale
        parts = [(scale, inv_low)]           # e constant to rounding (the log-determinant: e = 1, no scaling)
    else:
        parts = [(sign, np.multiply(np.sqrt(np.maximum(sign * e, 0))[:, None], inv_low, order="F"))
                 for sign in (1.0, -1.0) if np.any(sign * e > 0)]
    z = None
    for sign, m in parts:
        gram, info = lauum(m, lower=1)       # the lower triangle of mᵀ m; the upper one stays 0
        if info != 0:
            raise np.linalg.LinAlgError(f"lauum failed (info = {info})")
        if sign != 1.0:
            gram *= sign
        z = gram if z is None else np.add(z, gram, out=z)
    if z is None:
        return np.zeros_like(g)
    z.flat[:: z.shape[0] + 1] *= 0.5         # Ā = tri(z) ∘ (strict triangle + ½ I)
    return z if lower else z.T


def _lower_inverse(low: np.ndarray) -> np.ndarray:
    """L⁻¹ of a lower-triangular L by recursive halving (two triangular products per level, BLAS-3):
    [[A, 0], [B, C]]⁻¹ = [[A⁻¹, 0], [−C⁻¹ B A⁻¹, C⁻¹]]; about twice as fast as LAPACK's trtri here.
    Zeros above the diagonal."""
    out = np.zeros(low.shape, dtype=low.dtype, order="F")
    _invert_lower_into(low, out)
    return out


def _invert_lower_into(low: np.ndarray, out: np.ndarray, base: int = 64) -> None:
    n = low.shape[0]
    if n <= base:
        inv, info = _lapack.get_lapack_funcs("trtri", (low,))(np.tril(low), lower=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"trtri failed (info = {info}): the Cholesky factor is singular")
        out[...] = inv
        return
    h = n // 2
    _invert_lower_into(low[:h, :h], out[:h, :h], base)
    _invert_lower_into(low[h:, h:], out[h:, h:], base)
    trmm = _sl.blas.get_blas_funcs("trmm", (low,))
    x = trmm(-1.0, out[h:, h:], low[h:, :h], lower=1)
    out[h:, :h] = trmm(1.0, out[:h, :h], x, lower=1, side=1)


cholesky = Primitive(
    "scipy_cholesky", _cholesky_impl,
    shape=lambda a, lower: (_square("cholesky", a), _probe_dtype("cholesky", dtype_of(a))),
    jvps=[_cholesky_jvp], vjps=[_cholesky_vjp],
    doc="""scipy.linalg.cholesky: L with A = L Lᴴ (lower=True) or U with A = Uᴴ U, reading that triangle of A.

    SciPy's own routine (its values differ from numpy.linalg.cholesky's in rounding), with the
    rule of pullback's numpy cholesky written with triangular solves (three O(n³) BLAS-3 calls
    instead of two LU solves): dL = L Φ(L⁻¹ dA L⁻ᴴ), Ā = tri(L⁻ᵀ Φ(Lᵀ L̄) conj(L)⁻¹) (the
    read triangle gets each entry and its mirror, the other triangle 0).""",
)
cholesky.batch = leading_batch_rule(cholesky)

# ----------------------------------------------------------------------------- Cholesky solve in A


def _pos_solve_impl(a, factor, b, lower):
    def one(c2, b2):
        return _sl.cho_solve((c2, lower), b2, check_finite=False)

    return per_matrix(one, factor, b)


def _pos_solve_shape(a, factor, b, lower):
    sa, sb = _square("cho_solve", a), shape_of(b)
    if len(sb) < 2 or sb[-2] != sa[-1]:
        raise ValueError(f"cho_solve: b must have shape (..., {sa[-1]}, k), got {sb}")
    batch = np.broadcast_shapes(sa[:-2], shape_of(factor)[:-2], sb[:-2])
    return batch + sb[-2:], _probe_dtype("solve_triangular", dtype_of(factor), dtype_of(b))


def _pos_solve_jvp(primals, tangents, out, lower):
    a, factor, b = primals
    ta, _, tb = tangents   # factor's tangent is a's, seen through cholesky: carried by ta
    rhs = tb
    if ta is not None:
        corr = matmul(_from_triangle(ta, lower), out)
        rhs = negative(corr) if rhs is None else subtract(rhs, corr)
    return None if rhs is None else pos_solve(a, factor, rhs, lower=lower)


def _pos_solve_vjp(ct, out, primals, needs, lower):
    a, factor, b = primals
    b_bar = pos_solve(a, factor, ct, lower=lower)                       # B̄ = A⁻¹ X̄
    a_bar = None
    if needs[0]:    # tri-transpose(G) = (G + Gᵀ) ∘ (strict triangle + ½ I), G + Gᵀ = −[B̄ X][X B̄]ᵀ: one product
        nd = ndim_of(out)
        sym = matmul(concatenate(b_bar, out, axis=nd - 1), mT(concatenate(out, b_bar, axis=nd - 1)))
        a_bar = multiply(sym, _weights(shape_of(out)[-2], ("half", bool(lower), -1.0), _real_of(sym)))
    return [a_bar, None, b_bar if needs[2] else None]


pos_solve = Primitive(
    "cho_solve_in_a", _pos_solve_impl, shape=_pos_solve_shape, jvp=_pos_solve_jvp, vjp=_pos_solve_vjp,
    doc="""X = A⁻¹ B for real symmetric positive definite A (read from one triangle of a) given its
    Cholesky factor (scipy.linalg.cho_solve((factor, lower), B)), differentiated in A and B.

    pullback.scipy.linalg.cho_solve uses it when the factor is known to be cholesky(a) (or
    cho_factor(a)): the factor then carries no derivative of its own here, and the rules go
    straight to A instead of through two triangular solves and the Cholesky reverse rule:
    dX = A⁻¹(dB − dA X),  B̄ = A⁻¹ X̄,  Ā = tri-transpose(−B̄ Xᵀ)  (O(n²k) beyond the solves).""",
)
pos_solve.batch = leading_batch_rule(pos_solve)

# ----------------------------------------------------------------------------- LU


def _lu_packed_impl(a):
    return per_matrix(lambda m: _sl.lu_factor(m)[0], a)


def _lu_piv_impl(a):
    return per_matrix(lambda m: _sl.lu_factor(m)[1], a)


def _lu_pmat_impl(a):
    """P with A = P L U, in the real dtype of a's precision."""
    p = per_matrix(lambda m: _sl.lu(m)[0], a)
    return p.astype(np.finfo(np.asarray(p).dtype).dtype, copy=False)


def _lu_perm_impl(a):
    """Row indices p with A = L[p] U (scipy.linalg.lu(..., p_indices=True))."""
    return per_matrix(lambda m: _sl.lu(m, p_indices=True)[0], a)


def _lu_shape(a):
    return _square("lu", a), _probe_dtype("inv", dtype_of(a))


def _lu_factors(packed):
    """(L, U) from the packed factor: L unit lower (strict part of packed), U upper."""
    n = shape_of(packed)[-1]
    return add(_tri(packed, True, True), _eye(n, packed)), _tri(packed, False, False)


def _lu_packed_jvp(t, out, a):
    p = lu_pmat(a)
    y = triangular_solve(out, matmul(mT(p), t), lower=True, trans=0, unit_diagonal=True)        # L⁻¹ Pᵀ dA
    m = mT(triangular_solve(out, mT(y), lower=False, trans=1, unit_diagonal=False))              # · U⁻¹
    low, up = _lu_factors(out)
    return add(matmul(low, _tri(m, True, True)), matmul(_tri(m, False, False), up))


def _lu_packed_vjp(ct, out, a):
    low, up = _lu_factors(out)
    m_bar = add(_tri(matmul(mT(low), ct), True, True), _tri(matmul(ct, mT(up)), False, False))
    z = triangular_solve(out, m_bar, lower=True, trans=1, unit_diagonal=True)                    # L⁻ᵀ M̄
    z = mT(triangular_solve(out, mT(z), lower=False, trans=0, unit_diagonal=False))              # · U⁻ᵀ
    return matmul(lu_pmat(a), z)


lu_packed = Primitive(
    "lu_packed", _lu_packed_impl, shape=_lu_shape, jvps=[_lu_packed_jvp], vjps=[_lu_packed_vjp],
    doc="""The packed LU factor of scipy.linalg.lu_factor (strict lower part L − I, upper part U).

    With A = P L U and P held fixed (it is piecewise constant): M = L⁻¹ Pᵀ dA U⁻¹,
    dL = L tril(M, −1), dU = triu(M) U. Needs A nonsingular.""",
)
lu_piv = nondifferentiable(
    "lu_piv", _lu_piv_impl, shape=lambda a: (_square("lu_factor", a)[:-1], np.dtype(np.int32)),
    doc="LAPACK's pivot indices of scipy.linalg.lu_factor: integers, no derivative",
)
lu_pmat = nondifferentiable(
    "lu_pmat", _lu_pmat_impl,
    shape=lambda a: (_square("lu", a), np.finfo(_probe_dtype("inv", dtype_of(a))).dtype),
    doc="The permutation matrix P of A = P L U: piecewise constant, no derivative",
)
lu_perm = nondifferentiable(
    "lu_perm", _lu_perm_impl, shape=lambda a: (_square("lu", a)[:-1], np.dtype(np.intp)),
    doc="The row indices p with A = L[p] U: integers, no derivative",
)


def _piv_pmat_impl(piv, dtype):
    """P (A = P L U) from LAPACK pivots: row i was swapped with row piv[i], in order."""
    def one(pv):
        n = pv.shape[-1]
        perm = np.arange(n)
        for i, j in enumerate(pv):
            perm[i], perm[j] = perm[j], perm[i]
        p = np.zeros((n, n), dtype=dtype)
        p[perm, np.arange(n)] = 1
        return p

    return per_matrix(one, piv, core=(1,))


piv_pmat = nondifferentiable(
    "piv_pmat", _piv_pmat_impl,
    shape=lambda piv, dtype: (shape_of(piv) + shape_of(piv)[-1:], np.dtype(dtype)),
    doc="The permutation matrix P of A = P L U from lu_factor's pivots: no derivative",
)

for _prim in (lu_packed, lu_piv, lu_pmat, lu_perm):
    _prim.batch = leading_batch_rule(_prim)

# ----------------------------------------------------------------------------- matrix functions


def _real_result(name, x, out):
    out = np.asarray(out)
    if out.dtype.kind == "c" and np.asarray(x).dtype.kind != "c":
        if np.any(out.imag != 0):
            raise UnsupportedFunctionError(
                f"scipy.linalg.{name} of this real matrix is not real (it has eigenvalues on the negative real "
                f"axis); pullback keeps the dtype of a traced value fixed, so pass a complex matrix "
                f"(a.astype(complex)) to differentiate {name} here."
            )
        out = out.real
    return out.astype(_probe_dtype("inv", np.asarray(x).dtype), copy=False)


def _expm_impl(a):
    return per_matrix(_sl.expm, a).astype(_probe_dtype("inv", np.asarray(a).dtype), copy=False)


def frechet_by_block(fn, a, e):
    """L_f(A, E), the Fréchet derivative of the primary matrix function fn, as [f([[A, E], [0, A]])]₁₂."""
    return _top_right(fn(_block_upper(a, e)), shape_of(a)[-1])


def _sqm_shape(name):
    return lambda a: (_square(name, a), _probe_dtype("inv", dtype_of(a)))


expm = Primitive(
    "expm", _expm_impl, shape=_sqm_shape("expm"),
    jvps=[lambda t, out, a: frechet_by_block(expm, a, t)],
    vjps=[lambda ct, out, a: frechet_by_block(expm, mT(a), ct)],
    doc="""e^A (scipy.linalg.expm): dX = L(A, dA) = [exp([[A, dA], [0, A]])]₁₂,  Ā = L(Aᵀ, X̄).""",
)


def _logm_impl(a):
    return _real_result("logm", a, per_matrix(lambda m: _sl.logm(m), a))


logm = Primitive(
    "logm", _logm_impl, shape=_sqm_shape("logm"),
    jvps=[lambda t, out, a: frechet_by_block(logm, a, t)],
    vjps=[lambda ct, out, a: frechet_by_block(logm, mT(a), ct)],
    doc="""The principal log A (scipy.linalg.logm): dX = [log([[A, dA], [0, A]])]₁₂,  Ā = L_log(Aᵀ, X̄).""",
)


def _sylvester_impl(a, b, q):
    return per_matrix(_sl.solve_sylvester, a, b, q)


def _sylvester_shape(a, b, q):
    sa, sb, sq = _square("solve_sylvester", a), _square("solve_sylvester", b), shape_of(q)
    if len(sq) < 2 or sq[-2:] != (sa[-1], sb[-1]):
        raise ValueError(f"solve_sylvester: q must have shape (..., {sa[-1]}, {sb[-1]}), got {sq}")
    batch = np.broadcast_shapes(sa[:-2], sb[:-2], sq[:-2])
    return batch + sq[-2:], _probe_dtype("solve_sylvester", dtype_of(a), dtype_of(b), dtype_of(q))


def _sylvester_jvp(primals, tangents, out):
    a, b, q = primals
    ta, tb, tq = tangents
    rhs = tq
    for corr in ([matmul(ta, out)] if ta is not None else []) + ([matmul(out, tb)] if tb is not None else []):
        rhs = negative(corr) if rhs is None else subtract(rhs, corr)
    return None if rhs is None else sylvester(a, b, rhs)


def _sylvester_vjp(ct, out, primals, needs):
    a, b, q = primals
    q_bar = sylvester(mT(a), mT(b), ct)
    return [
        negative(matmul(q_bar, mT(out))) if needs[0] else None,
        negative(matmul(mT(out), q_bar)) if needs[1] else None,
        q_bar if needs[2] else None,
    ]


sylvester = Primitive(
    "sylvester", _sylvester_impl, shape=_sylvester_shape, jvp=_sylvester_jvp, vjp=_sylvester_vjp,
    doc="""X with A X + X B = Q (scipy.linalg.solve_sylvester). With S(X) = A X + X B:
    dX = S⁻¹(dQ − dA X − X dB);  Q̄ = S⁻ᵀ X̄ (a Sylvester solve with Aᵀ, Bᵀ),  Ā = −Q̄ Xᵀ,  B̄ = −Xᵀ Q̄.""",
)


def _sqrtm_impl(a):
    def one(m):
        r = _sl.sqrtm(m)
        return r[0] if isinstance(r, tuple) else r

    return _real_result("sqrtm", a, per_matrix(one, a))


sqrtm = Primitive(
    "sqrtm", _sqrtm_impl, shape=_sqm_shape("sqrtm"),
    jvps=[lambda t, out, a: sylvester(out, out, t)],
    vjps=[lambda ct, out, a: sylvester(mT(out), mT(out), ct)],
    doc="""The principal square root X = A^½ (scipy.linalg.sqrtm): X dX + dX X = dA, a Sylvester
    solve;  Ā solves Xᵀ Ā + Ā Xᵀ = X̄.""",
)

for _prim in (expm, logm, sylvester, sqrtm):
    _prim.batch = leading_batch_rule(_prim)

# ----------------------------------------------------------------------------- convolution


def _conv_impl(a, b, method, axes):
    if axes is None:
        return _ss.convolve(a, b, mode="full", method=method)
    return _ss.fftconvolve(a, b, mode="full", axes=axes)


def _conv_axes(a, axes):
    return tuple(range(ndim_of(a))) if axes is None else axes


def _conv_shape(a, b, method, axes):
    sa, sb = shape_of(a), shape_of(b)
    if len(sa) != len(sb):
        raise ValueError(f"convolve: in1 and in2 should have the same dimensionality, got shapes {sa} and {sb}")
    ax = _conv_axes(a, axes)
    out = tuple(sa[i] + sb[i] - 1 if i in ax else np.broadcast_shapes((sa[i],), (sb[i],))[0] for i in range(len(sa)))
    return out, np.result_type(dtype_of(a), dtype_of(b))


def _flip(x, axes):
    idx = tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(ndim_of(x)))
    return getitem(x, idx=idx)


def _conv_transpose(ct, other, like, method, axes):
    """Cotangent of one operand of z = x ∗ other: (z̄ ∗ flip(other)) at offsets len(other) − 1."""
    ax = _conv_axes(like, axes)
    full = convolve_full(ct, _flip(other, ax), method=method, axes=axes)
    so, sl_ = shape_of(other), shape_of(like)
    idx = tuple(slice(so[i] - 1, so[i] - 1 + sl_[i]) if i in ax else slice(None) for i in range(ndim_of(like)))
    return getitem(full, idx=idx)


def _conv_vjp(ct, out, primals, needs, method, axes):
    a, b = primals
    return [
        _conv_transpose(ct, b, a, method, axes) if needs[0] else None,
        _conv_transpose(ct, a, b, method, axes) if needs[1] else None,
    ]


convolve_full = Primitive(
    "convolve_full", _conv_impl, shape=_conv_shape,
    jvps=[lambda t, out, a, b, method, axes: convolve_full(t, b, method=method, axes=axes),
          lambda t, out, a, b, method, axes: convolve_full(a, t, method=method, axes=axes)],
    vjp=_conv_vjp,
    doc="""The full N-d convolution z = a ∗ b (scipy.signal.convolve(mode='full', method=...);
    with axes, scipy.signal.fftconvolve over those axes, the others broadcast). Bilinear:
    dz = da ∗ b + a ∗ db;  ā = (z̄ ∗ flip b)[len(b) − 1 :][: len(a)] and likewise b̄.""",
)

# ----------------------------------------------------------------------------- lfilter


def _lfilter_impl(b, a, x, axis):
    dt = np.result_type(b, a, x, np.float16)
    return np.asarray(_ss.lfilter(b, a, x, axis=axis)).astype(dt, copy=False)


def _lfilter_shape(b, a, x, axis):
    if ndim_of(b) != 1 or ndim_of(a) != 1:
        raise ValueError("lfilter: b and a must be 1-D coefficient arrays")
    return shape_of(x), np.result_type(dtype_of(b), dtype_of(a), dtype_of(x), np.float16)


def _reverse(x, axis):
    idx = [slice(None)] * ndim_of(x)
    idx[axis] = slice(None, None, -1)
    return getitem(x, idx=tuple(idx))


def _lag_products(g, x, k, axis):
    """c_j = Σ_n g[n] x[n − j] for j = 0..k−1 (summed over every axis): the coefficients' cotangent."""
    nd = ndim_of(x)
    axis = axis % nd
    n = shape_of(x)[axis]
    parts = []
    for j in range(k):
        if j >= n:
            parts.append(np.zeros((1,), dtype=np.result_type(dtype_of(g), dtype_of(x))))
            continue
        gi = [slice(None)] * nd
        xi = [slice(None)] * nd
        gi[axis], xi[axis] = slice(j, n), slice(0, n - j)
        prod = multiply(getitem(g, idx=tuple(gi)), getitem(x, idx=tuple(xi)))
        s = reduce_sum(prod, axis=tuple(range(nd)), keepdims=False)
        parts.append(reshape(s, shape=(1,)))
    return concatenate(*parts, axis=0) if len(parts) > 1 else parts[0]


def _lfilter_jvp(primals, tangents, out, axis):
    b, a, x = primals
    tb, ta, tx = tangents
    terms = []
    if tb is not None:
        terms.append(lfilter(tb, a, x, axis=axis))
    if ta is not None:
        terms.append(negative(lfilter(ta, a, out, axis=axis)))
    if tx is not None:
        terms.append(lfilter(b, a, tx, axis=axis))
    if not terms:
        return None
    r = terms[0]
    for t in terms[1:]:
        r = add(r, t)
    return r


def _lfilter_vjp(ct, out, primals, needs, axis):
    b, a, x = primals
    one = np.ones((1,), dtype=dtype_of(a))
    res = [None, None, None]
    if needs[0] or needs[1]:
        g = _reverse(lfilter(one, a, _reverse(ct, axis), axis=axis), axis)     # (1/A)ᵀ ȳ, the anti-causal filter
        if needs[0]:
            res[0] = _lag_products(g, x, shape_of(b)[0], axis)
        if needs[1]:
            res[1] = negative(_lag_products(g, out, shape_of(a)[0], axis))
    if needs[2]:
        res[2] = _reverse(lfilter(b, a, _reverse(ct, axis), axis=axis), axis)
    return res


lfilter = Primitive(
    "lfilter", _lfilter_impl, shape=_lfilter_shape, jvp=_lfilter_jvp, vjp=_lfilter_vjp,
    doc="""y = scipy.signal.lfilter(b, a, x, axis), zero initial state: Σₖ aₖ y[n−k] = Σₖ bₖ x[n−k].

    dy = lfilter(db, a, x) − lfilter(da, a, y) + lfilter(b, a, dx). Reverse: with
    g = R lfilter(1, a, R ȳ) (R reverses the axis: the adjoint of a causal filter is the
    anti-causal one), x̄ = R lfilter(b, a, R ȳ), b̄ₖ = Σₙ g[n] x[n−k], āₖ = −Σₙ g[n] y[n−k].""",
)


def _lfilter_batch(vals, batched, axis):
    """vmap of lfilter over x with shared coefficients: one call along the shifted axis (else a loop)."""
    b, a, x = vals
    if not batched[0] and not batched[1]:
        return lfilter(b, a, x, axis=axis + 1)
    return loop_rule(lfilter)(vals, batched, axis=axis)


lfilter.batch = _lfilter_batch


def _convolve_batch(vals, batched, method, axes):
    """vmap of convolve_full: an FFT convolution over the example axes, the batch axis broadcast."""
    a, b = vals
    nd = max(ndim_of(v) - (1 if bt else 0) for v, bt in zip(vals, batched))
    if method != "fft" and axes is None:
        return loop_rule(convolve_full)(vals, batched, method=method, axes=axes)
    a = a if batched[0] else reshape(a, shape=(1,) + shape_of(a))
    b = b if batched[1] else reshape(b, shape=(1,) + shape_of(b))
    ax = tuple(range(1, nd + 1)) if axes is None else tuple(i + 1 for i in axes)
    return convolve_full(a, b, method="fft", axes=ax)


convolve_full.batch = _convolve_batch
