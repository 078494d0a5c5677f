"""Inverses, solves, determinants, Cholesky, QR, pseudo-inverse and least squares.

Each primitive's implementation is NumPy's own (numpy.linalg), on stacks of matrices
(leading batch axes). Derivative rules follow the standard matrix calculus, written with
primitives (matmul, solve, ...) so that they can be differentiated again:

    X = A⁻¹            dX = −X dA X                       Ā = −Xᵀ X̄ Xᵀ
    X = A⁻¹B           dX = A⁻¹(dB − dA X)                B̄ = A⁻ᵀ X̄,  Ā = −B̄ Xᵀ
    d = det A          dd = d · tr(A⁻¹ dA)                Ā = d̄ · d · A⁻ᵀ
    A = L Lᴴ           dL = L Φ(L⁻¹ dA L⁻ᴴ),  Φ = strict lower part + ½ diagonal
    A = Q R            Murray / Walter–Lehmann formulas (see qr below)
    P = A⁺             Golub–Pereyra: dP = −P dA P + P Pᴴ dAᴴ (I − AP) + (I − PA) dAᴴ Pᴴ P

Complex matrices follow JAX's convention (docs/complex.md): each reverse rule is the
transpose of the forward rule under the bilinear pairing Re Σ u·v, so ᵀ (not ᴴ) appears
where a rule transposes a linear map, and ᴴ only where the function itself conjugates.

Functions that read one triangle of their argument (cholesky, eigh) are differentiated as
NumPy computes them: the derivative with respect to the triangle that is never read is 0.
"""

from __future__ import annotations

import functools

import numpy as np

from ..core.backend import is_lazy
from ..core.primitive import Primitive, nondifferentiable
from ..errors import BackendError
from ._util import dtype_of, shape_of
from .elementwise import add, conj, imag, multiply, negative, real, subtract
from .linalg import (
    as_matrix_batch,
    hermitian_from_triangle,
    leading_batch_rule,
    masked,
    matmul,
    mH,
    mT,
    trace_last,
)
from .shape import concatenate, getitem

# ----------------------------------------------------------------------------- shape rules


@functools.cache
def linalg_dtype(*dtypes) -> np.dtype:
    """The dtype numpy.linalg computes in for these input dtypes (float32/complex64 stay single)."""
    probe = [np.ones((1, 1), dtype=d) for d in dtypes]
    return np.linalg.solve(probe[0], probe[-1]).dtype


def _square(name, a):
    s = shape_of(a)
    if len(s) < 2 or s[-1] != s[-2]:
        raise np.linalg.LinAlgError(f"{name}: last 2 dimensions of the array must be square, got shape {s}")
    return s


def _same_square_rule(name):
    return lambda a, **params: (_square(name, a), linalg_dtype(dtype_of(a)))


def _per_matrix_rule(name, real=False):
    def rule(a, **params):
        dt = linalg_dtype(dtype_of(a))
        return _square(name, a)[:-2], np.finfo(dt).dtype if real else dt

    return rule


def solve_right(b, a):
    """b A⁻¹, by a solve with Aᵀ."""
    return mT(solve(mT(a), mT(b)))


# ----------------------------------------------------------------------------- inverse and solve

inv = Primitive(
    "inv", np.linalg.inv, shape=_same_square_rule("inv"),
    jvps=[lambda t, out, a: negative(matmul(matmul(out, t), out))],
    doc="A⁻¹ (numpy.linalg.inv):  dX = −X dA X,  Ā = −Xᵀ X̄ Xᵀ",
    xp_impl=lambda xp, a: xp.linalg.inv(_matrix(xp, a, 'inv')),
)


def _solve_shape(a, b):
    sa, sb = _square("solve", a), shape_of(b)
    if len(sb) < 2 or sb[-2] != sa[-1]:
        raise ValueError(f"solve: b must have shape (..., {sa[-1]}, k), got {sb}")
    return np.broadcast_shapes(sa[:-2], sb[:-2]) + sb[-2:], linalg_dtype(dtype_of(a), dtype_of(b))


def _solve_vjp(ct, out, primals, needs):
    a, b = primals
    b_bar = solve(mT(a), ct)
    return [
        negative(matmul(b_bar, mT(out))) if needs[0] else None,
        b_bar if needs[1] else None,
    ]


solve = Primitive(
    "solve", np.linalg.solve, shape=_solve_shape,
    jvps=[lambda t, out, a, b: negative(solve(a, matmul(t, out))), lambda t, out, a, b: solve(a, t)],
    vjp=_solve_vjp,
    doc="X = A⁻¹B for stacks of matrices B (..., n, k), batch axes broadcast:  B̄ = A⁻ᵀX̄,  Ā = −B̄ Xᵀ",
    xp_impl=lambda xp, a, b: xp.linalg.solve(_matrix(xp, a, "solve"), b),
)

# ----------------------------------------------------------------------------- determinants


def _cofactors_by_svd(a):
    """adj(A)ᵀ from A = U S Vh: adj(A) = det(U) det(Vh) · Vhᴴ diag(Πⱼ≠ᵢ sⱼ) Uᴴ (any rank)."""
    u, s, vh = np.linalg.svd(a)
    n = s.shape[-1]
    ones = np.ones(s.shape[:-1] + (1,), dtype=s.dtype)
    left = np.cumprod(np.concatenate([ones, s[..., :-1]], axis=-1), axis=-1)       # Πⱼ<ᵢ sⱼ
    right = np.cumprod(np.concatenate([ones, s[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]  # Πⱼ>ᵢ sⱼ
    gamma = (left * right)[..., :n]
    phase = np.linalg.det(u) * np.linalg.det(vh)
    vh_h, u_h = np.swapaxes(vh, -1, -2).conj(), np.swapaxes(u, -1, -2).conj()
    adj = phase[..., None, None] * ((vh_h * gamma[..., None, :]) @ u_h)
    return np.swapaxes(adj, -1, -2)


def _cofactors_impl(a):
    a = np.asarray(a)
    try:
        return np.linalg.det(a)[..., None, None] * np.swapaxes(np.linalg.inv(a), -1, -2)
    except np.linalg.LinAlgError:  # an exactly zero pivot: the LU route cannot form A⁻¹
        return _cofactors_by_svd(a).astype(linalg_dtype(a.dtype), copy=False)


def _cofactors_xp(xp, a):
    """det(A) A⁻ᵀ (a nonsingular A: the SVD route for an exactly zero pivot is NumPy's only)."""
    return xp.linalg.det(a)[..., None, None] * xp.matrix_transpose(xp.linalg.inv(a))


def _cofactors_jvp(t, out, a):
    """dC = tr(A⁻¹ dA) C − A⁻ᵀ dAᵀ C  (A nonsingular)."""
    return subtract(multiply(as_matrix_batch(trace_last(solve(a, t))), out), matmul(solve(mT(a), mT(t)), out))


def _cofactors_vjp(ct, out, a):
    """Ā = ((Σ G ∘ C) I − C Gᵀ) A⁻ᵀ  (A nonsingular)."""
    n = shape_of(a)[-1]
    total = as_matrix_batch(trace_last(matmul(mT(ct), out)))
    inner = subtract(multiply(total, np.eye(n, dtype=np.finfo(dtype_of(out)).dtype)), matmul(out, mT(ct)))
    return solve_right(inner, mT(a))


cofactors = Primitive(
    "cofactors", _cofactors_impl, shape=_same_square_rule("cofactors"),
    jvps=[_cofactors_jvp], vjps=[_cofactors_vjp],
    doc="""The cofactor matrix C = adj(A)ᵀ = det(A)·A⁻ᵀ, the derivative of det.

    Formed from one LU factorization (numpy's det and inv share it), which stays accurate
    near singular matrices; at an exactly singular A (a zero pivot) from an SVD instead, so
    the first derivative of det exists at every A. Its own derivative needs A⁻¹: second
    derivatives of det at an exactly singular matrix raise NumPy's LinAlgError.""",
    xp_impl=lambda xp, a: _cofactors_xp(xp, _matrix(xp, a, "cofactors")),
)

det = Primitive(
    "det", np.linalg.det, shape=_per_matrix_rule("det"),
    jvps=[lambda t, out, a: trace_last(matmul(mT(cofactors(a)), t))],
    doc="det A:  d(det A) = Σ C ∘ dA with C = adj(A)ᵀ the cofactor matrix,  Ā = d̄ · C",
    xp_impl=lambda xp, a: xp.linalg.det(_matrix(xp, a, 'det')),
)


def _slogdet_impl(a):
    sign, logabsdet = np.linalg.slogdet(a)
    return sign, logabsdet


def _slogdet_shape(a):
    batch, dt = _per_matrix_rule("slogdet")(a)
    return [(batch, dt), (batch, np.finfo(dt).dtype)]


def _slogdet_jvp(primals, tangents, out):
    (a,), (t,) = primals, tangents
    if t is None:
        return None, None
    tau = trace_last(solve(a, t))  # tr(A⁻¹ dA) = d log det A
    if dtype_of(out[0]).kind != "c":
        return None, tau
    return multiply(out[0], multiply(imag(tau), 1j)), real(tau)


slogdet = Primitive(
    "slogdet", _slogdet_impl, shape=_slogdet_shape, jvp=_slogdet_jvp, multiple_results=True,
    doc="""(sign, log|det A|):  with τ = tr(A⁻¹ dA),  d log|det A| = Re τ,  d sign = sign · i Im τ.

    For real A the sign is piecewise constant and carries no derivative.""",
    xp_impl=lambda xp, a: tuple(xp.linalg.slogdet(_matrix(xp, a, "slogdet"))),
)

# ----------------------------------------------------------------------------- Cholesky


def _phi(m):
    """Strict lower triangle plus half the (real part of the) diagonal: dL = L Φ(L⁻¹ dA L⁻ᴴ)."""
    n = shape_of(m)[-1]
    lower = masked(m, np.tri(n, n, -1))
    d = real(m) if dtype_of(m).kind == "c" else m
    return add(lower, masked(d, 0.5 * np.eye(n)))


def _cholesky_impl(a, upper):
    return np.linalg.cholesky(a, upper=upper)


def _matrix(xp, a, name, whole=True):
    """a for the namespace's linalg: for Dask, one 2-D matrix (dask.array.linalg has no batches) in one chunk
    (whole) or in row blocks (QR's tall-and-skinny algorithm)."""
    if not is_lazy(xp):
        return a
    if a.ndim != 2:
        raise BackendError(f"{name} on dask arrays takes one 2-D matrix (dask.array.linalg has no batches); "
                           f"got shape {tuple(a.shape)}. Loop over the matrices, or compute them first.")
    if not whole and a.shape[0] < a.shape[1]:
        raise BackendError(f"{name} on dask arrays needs a tall matrix (dask's tall-and-skinny algorithm); got shape "
                           f"{tuple(a.shape)}. Transpose the problem, or compute the matrix first.")
    return a.rechunk(-1) if whole else a.rechunk({1: -1})


def _cholesky_xp(xp, a, upper):
    if is_lazy(xp):  # dask.array.linalg.cholesky (one matrix, square chunks)
        import dask.array as da

        return da.linalg.cholesky(_matrix(xp, a, "cholesky"), lower=not upper)
    return xp.linalg.cholesky(a, upper=upper)


def _cholesky_jvp(t, out, a, upper):
    low = mH(out) if upper else out
    h = hermitian_from_triangle(t, lower=not upper)
    x = solve(low, h)                           # L⁻¹ dA
    m = mT(solve(conj(low) if dtype_of(low).kind == "c" else low, mT(x)))  # L⁻¹ dA L⁻ᴴ
    d_low = matmul(low, _phi(m))
    return mH(d_low) if upper else d_low


cholesky = Primitive(
    "cholesky", _cholesky_impl, shape=_same_square_rule("cholesky"),
    jvps=[_cholesky_jvp],
    doc="""L with A = L Lᴴ (numpy.linalg.cholesky; upper=True gives U = Lᴴ with A = Uᴴ U).

    NumPy reads one triangle of A (the lower one, or the upper one for upper=True) and the
    real part of the diagonal; the derivative is that of this function, so the other
    triangle gets a zero gradient and each read off-diagonal entry stands for itself and
    its mirror. For a symmetric perturbation this is the usual dL = L Φ(L⁻¹ dA L⁻ᴴ).""",
    xp_impl=_cholesky_xp,
)

# ----------------------------------------------------------------------------- QR


def _qr_impl(a):
    q, r = np.linalg.qr(a, mode="reduced")
    return q, r


def _qr_shape(a):
    s = shape_of(a)
    if len(s) < 2:
        raise np.linalg.LinAlgError(f"qr: the array must be at least 2-D, got shape {s}")
    m, n = s[-2:]
    k = min(m, n)
    dt = linalg_dtype(dtype_of(a))
    return [(s[:-2] + (m, k), dt), (s[:-2] + (k, n), dt)]


def _skew_part(c):
    """Ω from C = Qᴴ dA R⁻¹: strict lower part minus its conjugate mirror, plus i Im(diag C)."""
    n = shape_of(c)[-1]
    low = masked(c, np.tri(n, n, -1))
    omega = subtract(low, mH(low))
    if dtype_of(c).kind == "c":
        omega = add(omega, multiply(masked(imag(c), np.eye(n)), 1j))
    return omega


def _qr_tall_jvp(q, r, da):
    """(dQ, dR) for m ≥ n:  B = dA R⁻¹,  C = Qᴴ B,  dQ = Q(Ω − C) + B,  dR = (C − Ω) R."""
    b = solve_right(da, r)
    c = matmul(mH(q), b)
    omega = _skew_part(c)
    return add(matmul(q, subtract(omega, c)), b), matmul(subtract(c, omega), r)


def _split_wide(x, m):
    nd = len(shape_of(x))
    lead = (slice(None),) * (nd - 1)
    return getitem(x, idx=lead + (slice(0, m),)), getitem(x, idx=lead + (slice(m, None),))


def _qr_jvp(primals, tangents, out):
    (a,), (da,) = primals, tangents
    if da is None:
        return None, None
    q, r = out
    m, n = shape_of(a)[-2:]
    if m >= n:
        return _qr_tall_jvp(q, r, da)
    # wide: A = [X | Y], Q R_X = X, R = [R_X | Qᴴ Y]
    (rx, _), (dx, dy), (_, y) = _split_wide(r, m), _split_wide(da, m), _split_wide(a, m)
    dq, drx = _qr_tall_jvp(q, rx, dx)
    dry = add(matmul(mH(dq), y), matmul(mH(q), dy))
    return dq, concatenate(drx, dry, axis=len(shape_of(a)) - 1)


qr = Primitive(
    "qr", _qr_impl, shape=_qr_shape, jvp=_qr_jvp, multiple_results=True,
    doc="""(Q, R) = numpy.linalg.qr(A, mode='reduced'), A of shape (..., m, n).

    m ≥ n: with B = dA R⁻¹ and C = Qᴴ B, Ω = tril(C, −1) − tril(C, −1)ᴴ + i Im diag C,
    dQ = Q(Ω − C) + B and dR = (C − Ω) R. m < n: the square case on the first m columns
    X, and dR_Y = dQᴴ Y + Qᴴ dY for the rest. Needs the leading k×k block of R invertible
    (A of full rank in its first min(m, n) columns).""",
    xp_impl=lambda xp, a: tuple(xp.linalg.qr(_matrix(xp, a, "qr", whole=False), mode="reduced")),
)

# ----------------------------------------------------------------------------- pseudo-inverse


def _pinv_impl(a, rcond, hermitian, rtol):
    kw = {} if rtol is None else {"rtol": rtol}
    return np.linalg.pinv(a, rcond=rcond, hermitian=hermitian, **kw)


def _pinv_shape(a, rcond, hermitian, rtol):
    s = shape_of(a)
    return s[:-2] + (s[-1], s[-2]), linalg_dtype(dtype_of(a))


def _eye(n, like):
    return np.eye(n, dtype=linalg_dtype(dtype_of(like)))


def pinv_jvp(a, p, da):
    """dP = −P dA P + P Pᴴ dAᴴ (I − A P) + (I − P A) dAᴴ Pᴴ P  (A of locally constant rank)."""
    m, n = shape_of(a)[-2:]
    dah = mH(da)
    t1 = negative(matmul(matmul(p, da), p))
    t2 = matmul(matmul(p, mH(p)), matmul(dah, subtract(_eye(m, p), matmul(a, p))))
    t3 = matmul(subtract(_eye(n, p), matmul(p, a)), matmul(dah, matmul(mH(p), p)))
    return add(t1, add(t2, t3))


def _pinv_jvp(t, out, a, rcond, hermitian, rtol):
    if hermitian:
        a, t = hermitian_from_triangle(a, lower=True), hermitian_from_triangle(t, lower=True)
    return pinv_jvp(a, out, t)


pinv = Primitive(
    "pinv", _pinv_impl, shape=_pinv_shape, jvps=[_pinv_jvp],
    doc="""A⁺ (numpy.linalg.pinv). Golub–Pereyra's derivative, valid where the rank of A (after
    the rcond/rtol cutoff) does not change; the cutoff itself carries no derivative.
    hermitian=True reads the lower triangle of A, and is differentiated as such.""",
)


def _lstsq_impl(a, b, rcond):
    return np.linalg.lstsq(a, b, rcond=rcond)[0]


def _lstsq_shape(a, b, rcond):
    sa, sb = shape_of(a), shape_of(b)
    return (sa[1],) + sb[1:], linalg_dtype(dtype_of(a), dtype_of(b))


def lstsq_rcond(a, rcond):
    """numpy.linalg.lstsq's default cutoff: machine epsilon × max(m, n)."""
    if rcond is not None:
        return rcond
    return float(np.finfo(linalg_dtype(dtype_of(a))).eps * max(shape_of(a)[-2:]))


def _as_col(x):
    from .shape import reshape

    return reshape(x, shape=shape_of(x) + (1,)) if len(shape_of(x)) == 1 else x


def _lstsq_jvp(primals, tangents, out, rcond):
    (a, b), (da, db) = primals, tangents
    p = pinv(a, rcond=lstsq_rcond(a, rcond), hermitian=False, rtol=None)
    dx = None
    if da is not None:
        dx = matmul(pinv_jvp(a, p, da), b)
    if db is not None:
        dx = matmul(p, db) if dx is None else add(dx, matmul(p, db))
    return dx


lstsq = Primitive(
    "lstsq", _lstsq_impl, shape=_lstsq_shape, jvp=_lstsq_jvp,
    doc="""The minimum-norm least-squares solution x = A⁺ b of numpy.linalg.lstsq (A 2-D, b 1-D or 2-D).

    Its derivative is that of A⁺ b, with A⁺ cut off at the same rcond: valid where the
    rank of A does not change.""",
)


def _matrix_rank_impl(a, tol, hermitian, rtol):
    return np.linalg.matrix_rank(a, tol=tol, hermitian=hermitian, rtol=rtol)


matrix_rank = nondifferentiable(
    "matrix_rank", _matrix_rank_impl,
    shape=lambda a, tol, hermitian, rtol: (shape_of(a)[:-2], np.dtype(np.int64)) if len(shape_of(a)) >= 2
    else ((), np.dtype(np.int64)),
    doc="numpy.linalg.matrix_rank: an integer, so it carries no derivative",
)

# Every primitive here takes stacks of matrices, so vmap only adds a leading batch axis
# (lstsq, 2-D only in NumPy, falls back to a loop).
for _prim in (inv, solve, cofactors, det, slogdet, cholesky, qr, pinv, matrix_rank):
    _prim.batch = leading_batch_rule(_prim)
