"""Eigen- and singular-value decompositions: eigh, eigvalsh, eig, eigvals, svd, svdvals.

Implementations are numpy.linalg's, on stacks of matrices. With M = V⁻¹ dA V (Vᴴ dA V
for Hermitian A) and F_ij = 1/(λⱼ − λᵢ) off the diagonal (0 on it):

    dλ = diag M,      dV = V (F ∘ M)                       (eigh; eig renormalizes V)
    ds = Re diag(Uᴴ dA V),   dU, dV with F_ij = 1/(sⱼ² − sᵢ²)  (svd)

Reverse rules are the transposes of these under the pairing Re Σ u·v (docs/complex.md).

Repeated eigenvalues / singular values. Eigenvalues (and singular values) are
differentiable wherever a function of them is symmetric within each group of equal values
(sums, traces, norms): eigvalsh, eigvals and svdvals use only dλ = diag M, which needs no
F, and stay finite there. Eigen- and singular *vectors* are not differentiable at an exact
tie: F has 1/0 there, and a derivative that uses the vectors comes out inf/nan (with
NumPy's divide-by-zero warning) rather than a silently wrong number. An output that is not
used (its cotangent is zero) contributes nothing, so eigh(A)[0] alone is safe. Second
derivatives of eigenvalues go through the vectors, and are likewise inf/nan at a tie.

Gauge. Complex eigen- and singular vectors are defined up to a phase per vector (real
ones up to a sign). The derivative fixes the gauge by Im(vᵢᴴ dvᵢ) = 0 (for svd, the phase
change goes to U), which need not match the phase convention LAPACK applies to nearby
matrices: derivatives of phase-invariant functions (|V|², V diag(f(λ)) Vᴴ, U S Vh, ...) are
exact; raw complex vectors are not comparable with finite differences.
"""

from __future__ import annotations

import numpy as np

from ..core.backend import is_lazy, numpy_dtype
from ..core.primitive import Primitive
from ..errors import BackendError
from ._util import dtype_of, shape_of
from .decompositions import _square, linalg_dtype, solve
from .elementwise import add, conj, divide, equal, imag, multiply, real, select, subtract
from .linalg import (
    col,
    diag_embed,
    diag_part,
    hermitian_from_triangle,
    hermitian_from_triangle_transpose,
    is_symbolic_zero,
    leading_batch_rule,
    matmul,
    mH,
    mT,
    row,
)
from .reductions import reduce_sum


def _sum_rows(x):
    """Σ over the row axis: (..., m, n) → (..., n)."""
    return reduce_sum(x, axis=(len(shape_of(x)) - 2,), keepdims=False)


def _cj(x):
    return conj(x) if dtype_of(x).kind == "c" else x


def gap_reciprocals(lam, squared=False):
    """F_ij = 1/(λⱼ − λᵢ) (or 1/(λⱼ² − λᵢ²)) off the diagonal, 0 on it; inf at exact ties."""
    if squared:
        lam = multiply(lam, lam)
    n = shape_of(lam)[-1]
    eye = np.eye(n, dtype=np.finfo(dtype_of(lam)).dtype if dtype_of(lam).kind in "fc" else np.float64)
    diff = add(subtract(row(lam), col(lam)), eye)
    return subtract(divide(1.0, diff), eye)


def _real_ct(x, like):
    """Cotangents of real outputs are real: drop an imaginary part a caller may have passed."""
    return real(x) if dtype_of(x).kind == "c" and dtype_of(like).kind != "c" else x


# ----------------------------------------------------------------------------- Hermitian eigenproblem


def _eigh_impl(a, UPLO):
    w, v = np.linalg.eigh(a, UPLO=UPLO)
    return w, v


def _eigh_xp(xp, a, UPLO):
    """The array API's eigh reads the lower triangle; the upper one is the lower one of Aᴴ."""
    if UPLO == "U":
        a = xp.conj(xp.matrix_transpose(a)) if numpy_dtype(a.dtype).kind == "c" else xp.matrix_transpose(a)
    return tuple(xp.linalg.eigh(a))


def _svd_xp(xp, a, hermitian):
    if hermitian:
        raise BackendError("svd(..., hermitian=True) runs on NumPy arrays only; pass hermitian=False")
    if is_lazy(xp):  # dask.array.linalg.svd: one 2-D matrix, in row blocks (tall) or column blocks (wide)
        if a.ndim != 2:
            raise BackendError(f"svd on dask arrays takes one 2-D matrix (dask.array.linalg has no batches); "
                               f"got shape {tuple(a.shape)}. Loop over the matrices, or compute them first.")
        a = a.rechunk({1: -1}) if a.shape[0] >= a.shape[1] else a.rechunk({0: -1})
    return tuple(xp.linalg.svd(a, full_matrices=False))


def _eigh_shape(a, UPLO):
    s = _square("eigh", a)
    dt = linalg_dtype(dtype_of(a))
    return [(s[:-1], np.finfo(dt).dtype), (s, dt)]


def _eigh_jvp(primals, tangents, out, UPLO):
    (t,) = tangents
    if t is None:
        return None, None
    w, v = out
    m = matmul(mH(v), matmul(hermitian_from_triangle(t, lower=UPLO == "L"), v))
    dw = diag_part(m)
    if dtype_of(dw).kind == "c":
        dw = real(dw)
    return dw, matmul(v, multiply(gap_reciprocals(w), m))


eigh = Primitive(
    "eigh", _eigh_impl, shape=_eigh_shape, jvp=_eigh_jvp, multiple_results=True,
    doc="""(w, V) = numpy.linalg.eigh(A, UPLO): dλ = diag(Vᴴ dA V), dV = V (F ∘ Vᴴ dA V).

    NumPy reads one triangle of A (UPLO) and the real part of the diagonal; the derivative
    is that of this function (zero for the triangle never read). See the module docstring
    for repeated eigenvalues and the phase gauge.""",
    xp_impl=_eigh_xp,
)


def _eigvalsh_jvp(t, out, a, UPLO):
    _, v = eigh(a, UPLO=UPLO)
    dw = _sum_rows(multiply(_cj(v), matmul(hermitian_from_triangle(t, lower=UPLO == "L"), v)))
    return real(dw) if dtype_of(dw).kind == "c" else dw


eigvalsh = Primitive(
    "eigvalsh", lambda a, UPLO: np.linalg.eigvalsh(a, UPLO=UPLO), shape=lambda a, UPLO: _eigh_shape(a, UPLO)[0],
    jvps=[_eigvalsh_jvp],
    doc="numpy.linalg.eigvalsh: dλᵢ = vᵢᴴ dA vᵢ (finite at repeated eigenvalues; see the module docstring)",
    xp_impl=lambda xp, a, UPLO: _eigh_xp(xp, a, UPLO)[0],
)

# ----------------------------------------------------------------------------- general eigenproblem


def _complex_dtype(a):
    return np.result_type(linalg_dtype(dtype_of(a)), np.complex64)


def _eig_impl(a):
    w, v = np.linalg.eig(a)
    dt = np.result_type(w.dtype, np.complex64)
    return w.astype(dt, copy=False), v.astype(dt, copy=False)


def _eig_shape(a):
    s = _square("eig", a)
    dt = _complex_dtype(a)
    return [(s[:-1], dt), (s, dt)]


def _eig_jvp(primals, tangents, out):
    (t,) = tangents
    if t is None:
        return None, None
    w, v = out
    m = solve(v, matmul(t, v))                          # V⁻¹ dA V
    dv = matmul(v, multiply(gap_reciprocals(w), m))
    dv = subtract(dv, multiply(v, row(real(_sum_rows(multiply(conj(v), dv))))))  # keep ‖vᵢ‖ = 1
    return diag_part(m), dv


def _eig_vjp(cts, out, primals, needs):
    (a,) = primals
    gw, gv = cts
    w, v = out
    k_bar = diag_embed(gw, dtype=dtype_of(w))
    if not is_symbolic_zero(gv):
        rho = real(_sum_rows(multiply(gv, v)))
        g0 = subtract(gv, multiply(conj(v), row(rho)))
        k_bar = add(k_bar, multiply(gap_reciprocals(w), matmul(mT(v), g0)))
    return [solve(mT(v), matmul(k_bar, mT(v)))]  # V⁻ᵀ K̄ Vᵀ


eig = Primitive(
    "eig", _eig_impl, shape=_eig_shape, jvp=_eig_jvp, vjp=_eig_vjp, multiple_results=True,
    doc="""(w, V) = numpy.linalg.eig(A), always complex (NumPy returns real arrays when every
    eigenvalue happens to be real; a traced result cannot depend on values that way).

    dλ = diag(V⁻¹ dA V), dV = V (F ∘ V⁻¹ dA V) minus vᵢ Re(vᵢᴴ dvᵢ) (NumPy's vectors have unit
    norm). Needs A diagonalizable with distinct eigenvalues for dV.""",
)


def _eigvals_jvp(t, out, a):
    _, v = eig(a)
    return diag_part(solve(v, matmul(t, v)))


eigvals = Primitive(
    "eigvals", lambda a: np.linalg.eigvals(a).astype(_complex_dtype(a), copy=False),
    shape=lambda a: _eig_shape(a)[0], jvps=[_eigvals_jvp],
    doc="numpy.linalg.eigvals, always complex: dλ = diag(V⁻¹ dA V), Ā = V⁻ᵀ diag(λ̄) Vᵀ",
)

# ----------------------------------------------------------------------------- singular values


def _svd_impl(a, hermitian):
    u, s, vh = np.linalg.svd(a, full_matrices=False, hermitian=hermitian)
    return u, s, vh


def _svd_shape(a, hermitian):
    sh = shape_of(a)
    if len(sh) < 2:
        raise np.linalg.LinAlgError(f"svd: the array must be at least 2-D, got shape {sh}")
    m, n = sh[-2:]
    k, b = min(m, n), sh[:-2]
    dt = linalg_dtype(dtype_of(a))
    return [(b + (m, k), dt), (b + (k,), np.finfo(dt).dtype), (b + (k, n), dt)]


def _safe_reciprocal(s):
    """1/s, with 0 where s == 0."""
    zero = equal(s, 0)
    return select(zero, 0.0, divide(1.0, select(zero, 1.0, s)))


def _svd_jvp(primals, tangents, out, hermitian):
    (a,), (da,) = primals, tangents
    if da is None:
        return None, None, None
    if hermitian:
        a, da = hermitian_from_triangle(a, lower=True), hermitian_from_triangle(da, lower=True)
    u, s, vh = out
    v = mH(vh)
    m, n = shape_of(a)[-2:]
    ds_mat = matmul(mH(u), matmul(da, v))                # Uᴴ dA V
    dsv = diag_part(ds_mat)
    ds = real(dsv) if dtype_of(dsv).kind == "c" else dsv
    f = gap_reciprocals(s, squared=True)
    s_inv = _safe_reciprocal(s)
    dss = multiply(ds_mat, row(s))
    sds = multiply(col(s), ds_mat)
    cu = multiply(f, add(dss, mH(dss)))
    if dtype_of(ds_mat).kind == "c":
        cu = add(cu, diag_embed(multiply(multiply(imag(dsv), s_inv), 1j)))
    du = matmul(u, cu)
    dv = matmul(v, multiply(f, add(sds, mH(sds))))
    if m > n:
        dav = matmul(da, v)
        du = add(du, multiply(subtract(dav, matmul(u, matmul(mH(u), dav))), row(s_inv)))
    if n > m:
        dahu = matmul(mH(da), u)
        dv = add(dv, multiply(subtract(dahu, matmul(v, matmul(vh, dahu))), row(s_inv)))
    return du, ds, mH(dv)


def _svd_vjp(cts, out, primals, needs, hermitian):
    (a,) = primals
    gu, gs, gvh = cts
    u, s, vh = out
    if hermitian:
        a = hermitian_from_triangle(a, lower=True)
    v = mH(vh)
    m, n = shape_of(a)[-2:]
    f = gap_reciprocals(s, squared=True)
    s_inv = _safe_reciprocal(s)
    ds_bar = diag_embed(_real_ct(gs, s), dtype=None)
    use_u, use_v = not is_symbolic_zero(gu), not is_symbolic_zero(gvh)
    if use_u:
        x_bar = matmul(mT(u), gu)
        y_bar = multiply(f, x_bar)
        ds_bar = add(ds_bar, multiply(add(y_bar, mH(y_bar)), row(s)))
        if dtype_of(x_bar).kind == "c":
            ds_bar = add(ds_bar, diag_embed(multiply(multiply(imag(diag_part(x_bar)), s_inv), 1j)))
    if use_v:
        gv = mH(gvh)
        p_bar = multiply(f, matmul(mT(v), gv))
        ds_bar = add(ds_bar, multiply(col(s), add(p_bar, mH(p_bar))))
    a_bar = matmul(_cj(u), matmul(ds_bar, mT(v)))      # transpose of dA ↦ Uᴴ dA V
    if use_u and m > n:
        g = multiply(gu, row(s_inv))
        a_bar = add(a_bar, matmul(subtract(g, matmul(_cj(u), matmul(mT(u), g))), mT(v)))
    if use_v and n > m:
        g = multiply(_cj(u), row(s_inv))
        a_bar = add(a_bar, matmul(g, subtract(gvh, matmul(matmul(gvh, _cj(v)), mT(v)))))
    if hermitian:
        a_bar = hermitian_from_triangle_transpose(a_bar, lower=True)
    return [a_bar]


svd = Primitive(
    "svd", _svd_impl, shape=_svd_shape, jvp=_svd_jvp, vjp=_svd_vjp, multiple_results=True,
    doc="""(U, s, Vh) = numpy.linalg.svd(A, full_matrices=False), A of shape (..., m, k) → k = min(m, n).

    ds = Re diag(Uᴴ dA V); dU and dV have 1/(sⱼ² − sᵢ²) terms (inf/nan at repeated singular
    values when U or Vh is used) and, for m ≠ n, 1/s terms (taken as 0 where s = 0).
    hermitian=True reads the lower triangle of A (NumPy uses eigh), and is differentiated
    as such.""",
    xp_impl=_svd_xp,
)


def _svdvals_jvp(t, out, a, hermitian):
    u, _, vh = svd(a, hermitian=hermitian)
    if hermitian:
        t = hermitian_from_triangle(t, lower=True)
    ds = _sum_rows(multiply(_cj(u), matmul(t, mH(vh))))
    return real(ds) if dtype_of(ds).kind == "c" else ds


def _svdvals_vjp(ct, out, a, hermitian):
    u, _, vh = svd(a, hermitian=hermitian)
    g = matmul(multiply(_cj(u), row(_real_ct(ct, out))), _cj(vh))   # conj(U) diag(s̄) Vᵀ
    if hermitian:
        g = hermitian_from_triangle_transpose(g, lower=True)
    return g


svdvals = Primitive(
    "svdvals", lambda a, hermitian: np.linalg.svd(a, compute_uv=False, hermitian=hermitian),
    shape=lambda a, hermitian: _svd_shape(a, hermitian)[1], jvps=[_svdvals_jvp], vjps=[_svdvals_vjp],
    doc="numpy.linalg.svd(A, compute_uv=False): dsᵢ = Re(uᵢᴴ dA vᵢ), finite at repeated singular values",
    xp_impl=lambda xp, a, hermitian: _svd_xp(xp, a, hermitian)[1],
)

for _prim in (eigh, eigvalsh, eig, eigvals, svd, svdvals):
    _prim.batch = leading_batch_rule(_prim)
