"""pullback.scipy.linalg: scipy.linalg, differentiable.

Same names, signatures and defaults as SciPy. On plain arrays each function is SciPy's own;
on traced values it records derivatives of every order (forward, reverse, jit, vmap). The
primitives and their rules are in _linalg_primitives.py; functions already in
pullback.numpy.linalg (inv, det, cholesky, eigh, solve) reuse those primitives. Conventions
(one-triangle functions, LU's permutation, real/complex results) are in docs/scipy-linalg.md.

One-triangle convention: solve_triangular, cholesky, cho_factor/cho_solve, solve with
assume_a='sym'/'her'/'pos', inv with assume_a='sym'/'her'/'pos' and eigh read one triangle of
a (and of b) as SciPy does; pullback differentiates *that* function, so the triangle SciPy
never reads gets a zero gradient and each read off-diagonal entry stands for itself and its
mirror. Symmetrize the input (or the gradient) to get the symmetric form.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as _np
import scipy.linalg as _sl

from .. import numpy as pnp
from ..core.trace import Tracer
from ..errors import UnsupportedFunctionError
from ..primitives import decompositions as _dec
from ..primitives import linalg as _la
from ..primitives import spectral as _spec
from ..primitives._util import dtype_of, shape_of
from . import _linalg_primitives as _p

__all__ = [
    "block_diag", "cho_factor", "cho_solve", "cholesky", "circulant", "det", "eigh", "expm", "expm_frechet",
    "inv", "logm", "lu", "lu_factor", "lu_solve", "solve", "solve_continuous_lyapunov", "solve_sylvester",
    "solve_triangular", "sqrtm", "toeplitz",
]

LinAlgError = _np.linalg.LinAlgError


def _traced(*xs: Any) -> bool:
    return any(isinstance(x, Tracer) for x in xs)


def _arr(x: Any) -> Any:
    return x if isinstance(x, Tracer) else _np.asarray(x)


def _float(x: Any) -> Any:
    """Integer and boolean arrays become float64, as SciPy's LAPACK wrappers make them."""
    return x if dtype_of(x).kind in "fc" else pnp.asarray(x, dtype=_np.float64)


def _ndim(x: Any) -> int:
    return len(shape_of(x))


def _square(name: str, a: Any) -> None:
    s = shape_of(a)
    if len(s) < 2 or s[-1] != s[-2]:
        raise ValueError(f"{name}: expected square matrix (or a stack of them), got shape {s}")


def _trans_code(trans: Any) -> int:
    codes = {0: 0, 1: 1, 2: 2, "N": 0, "T": 1, "C": 2, "n": 0, "t": 1, "c": 2}
    if trans not in codes:
        raise ValueError(f"solve_triangular: trans must be 0, 1, 2, 'N', 'T' or 'C', got {trans!r}")
    return codes[trans]


def _as_matrix_rhs(b: Any, n: int) -> tuple[Any, bool]:
    """b as a stack of matrices (..., n, k); True if b was a vector."""
    if _ndim(b) == 1:
        return pnp.reshape(b, (n, 1)), True
    return b, False


def _from_triangle(a: Any, lower: bool, hermitian: bool) -> Any:
    """The full symmetric (or Hermitian) matrix SciPy reads from one triangle of a."""
    if hermitian or dtype_of(a).kind != "c":
        return _la.hermitian_from_triangle(a, lower=lower)
    n = shape_of(a)[-1]
    s = _p._tri(a, lower, True)
    return pnp.add(pnp.add(s, pnp.swapaxes(s, -1, -2)), _la.masked(a, _np.eye(n)))


# ----------------------------------------------------------------------------- triangular and Cholesky


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False, check_finite=True):
    """x with op(T) x = b, T the lower/upper triangle of a:  dx = op(T)⁻¹(db − op(dT) x)."""
    a, b = _arr(a), _arr(b)
    if not _traced(a, b):
        return _sl.solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal,
                                    overwrite_b=overwrite_b, check_finite=check_finite)
    a, b = _float(a), _float(b)
    _square("solve_triangular", a)
    code = _trans_code(trans)
    if code == 2 and dtype_of(a).kind != "c":
        code = 1
    b2, vec = _as_matrix_rhs(b, shape_of(a)[-1])
    x = _p.triangular_solve(a, b2, lower=bool(lower), trans=code, unit_diagonal=bool(unit_diagonal))
    return pnp.reshape(x, shape_of(x)[:-1]) if vec else x


# The traced Cholesky factors made here, id(factor) -> (weak reference to it, a, lower): cho_solve on
# such a factor solves with A itself (pos_solve), whose reverse rule goes straight to A.
_FACTORS: dict[int, tuple] = {}


def _note_factor(factor: Any, a: Any, lower: bool) -> Any:
    if isinstance(factor, Tracer) and dtype_of(a).kind == "f":
        key = id(factor)
        _FACTORS[key] = (weakref.ref(factor, lambda _, k=key: _FACTORS.pop(k, None)), a, bool(lower))
    return factor


def _factored_matrix(c: Any, lower: bool) -> Any:
    """The a that c = cholesky(a, lower) / cho_factor(a, lower)[0] was computed from here, else None."""
    entry = _FACTORS.get(id(c))
    if entry is None or entry[0]() is not c or entry[2] != bool(lower):
        return None
    return entry[1]


def cholesky(a, lower=False, overwrite_a=False, check_finite=True):
    """Cholesky factor: U with A = Uᴴ U (default, reads the upper triangle) or L with A = L Lᴴ."""
    a = _arr(a)
    if not _traced(a):
        return _sl.cholesky(a, lower=lower, overwrite_a=overwrite_a, check_finite=check_finite)
    a = _float(a)
    _square("cholesky", a)
    return _note_factor(_p.cholesky(a, lower=bool(lower)), a, lower)


def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """(c, lower): the Cholesky factor in one triangle of c; the other triangle holds a's entries, as in SciPy."""
    a = _arr(a)
    if not _traced(a):
        return _sl.cho_factor(a, lower=lower, overwrite_a=overwrite_a, check_finite=check_finite)
    a = _float(a)
    factor = cholesky(a, lower=lower)
    rest = _p._tri(a, not lower, True)
    return _note_factor(pnp.add(factor, rest), a, lower), lower


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """x with A x = b from cho_factor's (c, lower): two triangular solves (only c's factor triangle is read)."""
    c, lower = c_and_lower
    c, b = _arr(c), _arr(b)
    if not _traced(c, b):
        return _sl.cho_solve((c, lower), b, overwrite_b=overwrite_b, check_finite=check_finite)
    a = _factored_matrix(c, lower)
    if a is not None and dtype_of(_float(b)).kind == "f":   # c = cholesky(a): differentiate A⁻¹ b in a directly
        b2, vec = _as_matrix_rhs(_float(b), shape_of(c)[-1])
        x = _p.pos_solve(a, c, b2, lower=bool(lower))
        return pnp.reshape(x, shape_of(x)[:-1]) if vec else x
    if lower:   # A = L Lᴴ
        y = solve_triangular(c, b, trans=0, lower=True)
        return solve_triangular(c, y, trans=2, lower=True)
    y = solve_triangular(c, b, trans=2, lower=False)   # A = Uᴴ U
    return solve_triangular(c, y, trans=0, lower=False)


# ----------------------------------------------------------------------------- LU


def lu(a, permute_l=False, overwrite_a=False, check_finite=True, p_indices=False):
    """(P, L, U) with A = P L U. P is piecewise constant and carries no derivative; L and U are
    differentiated with P held fixed (square, nonsingular A)."""
    a = _arr(a)
    if not _traced(a):
        return _sl.lu(a, permute_l=permute_l, overwrite_a=overwrite_a, check_finite=check_finite, p_indices=p_indices)
    a = _float(a)
    s = shape_of(a)
    if len(s) < 2 or s[-1] != s[-2]:
        raise UnsupportedFunctionError(
            f"pullback.scipy.linalg.lu: the derivative is implemented for square matrices only, got shape {s}; "
            "pad the matrix to a square one or factor its leading square block."
        )
    packed = _p.lu_packed(a)
    low, up = _p._lu_factors(packed)
    if permute_l:
        return pnp.matmul(_p.lu_pmat(a), low), up
    if p_indices:
        return _p.lu_perm(a), low, up
    return _p.lu_pmat(a), low, up


def lu_factor(a, overwrite_a=False, check_finite=True):
    """(lu, piv) as scipy.linalg.lu_factor: lu is differentiable (P held fixed), piv is integer."""
    a = _arr(a)
    if not _traced(a):
        return _sl.lu_factor(a, overwrite_a=overwrite_a, check_finite=check_finite)
    a = _float(a)
    _square("lu_factor", a)
    return _p.lu_packed(a), _p.lu_piv(a)


def lu_solve(lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True):
    """x with op(A) x = b from lu_factor's (lu, piv), A = P L U: triangular solves and a permutation."""
    lu_, piv = lu_and_piv
    lu_, b = _arr(lu_), _arr(b)
    if not _traced(lu_, b, piv):
        return _sl.lu_solve((lu_, piv), b, trans=trans, overwrite_b=overwrite_b, check_finite=check_finite)
    code = _trans_code(trans)
    n = shape_of(lu_)[-1]
    b2, vec = _as_matrix_rhs(_float(b), n)
    p = _p.piv_pmat(piv, dtype=_np.finfo(_dec.linalg_dtype(dtype_of(lu_))).dtype)
    if code == 0:   # x = U⁻¹ L⁻¹ Pᵀ b
        y = _p.triangular_solve(lu_, pnp.matmul(pnp.swapaxes(p, -1, -2), b2), lower=True, trans=0, unit_diagonal=True)
        x = _p.triangular_solve(lu_, y, lower=False, trans=0, unit_diagonal=False)
    else:           # x = P L⁻ᵀ U⁻ᵀ b  (ᴴ for trans=2)
        if code == 2 and dtype_of(lu_).kind != "c":
            code = 1
        y = _p.triangular_solve(lu_, b2, lower=False, trans=code, unit_diagonal=False)
        x = pnp.matmul(p, _p.triangular_solve(lu_, y, lower=True, trans=code, unit_diagonal=True))
    return pnp.reshape(x, shape_of(x)[:-1]) if vec else x


# ----------------------------------------------------------------------------- solve, inv, det

_GEN = {None, "gen", "general"}
_SYM = {"sym", "symmetric"}
_HER = {"her", "hermitian"}
_POS = {"pos", "positive definite"}


def solve(a, b, lower=False, overwrite_a=False, overwrite_b=False, check_finite=True, assume_a=None, transposed=False):
    """x with A x = b. assume_a: None/'gen' (all of a), 'sym'/'her'/'pos' (one triangle, `lower`),
    'lower triangular'/'upper triangular', 'diagonal'. transposed=True solves Aᵀ x = b."""
    a, b = _arr(a), _arr(b)
    if not _traced(a, b):
        return _sl.solve(a, b, lower=lower, overwrite_a=overwrite_a, overwrite_b=overwrite_b,
                         check_finite=check_finite, assume_a=assume_a, transposed=transposed)
    a, b = _float(a), _float(b)
    _square("solve", a)
    n = shape_of(a)[-1]
    if transposed:
        if dtype_of(a).kind == "c":
            raise UnsupportedFunctionError(
                "pullback.scipy.linalg.solve: transposed=True is not supported for complex a (neither is it in "
                "SciPy); pass a.T (or a.conj().T) and transposed=False."
            )
        a = pnp.swapaxes(a, -1, -2)
    if assume_a in _POS:
        return cho_solve(cho_factor(a, lower=lower), b)
    if assume_a in ("lower triangular", "upper triangular"):
        return solve_triangular(a, b, lower=assume_a == "lower triangular")
    if assume_a == "diagonal":
        d = _la.diag_part(a)
        return b / d if _ndim(b) == 1 else b / pnp.expand_dims(d, -1)
    if assume_a in _SYM or assume_a in _HER:
        a = _from_triangle(a, lower, hermitian=assume_a in _HER)
    elif assume_a not in _GEN:
        raise UnsupportedFunctionError(
            f"pullback.scipy.linalg.solve: assume_a={assume_a!r} is not supported on traced values; use "
            "'gen', 'sym', 'her', 'pos', 'lower triangular', 'upper triangular' or 'diagonal'."
        )
    b2, vec = _as_matrix_rhs(b, n)
    x = _dec.solve(a, b2)
    return pnp.reshape(x, shape_of(x)[:-1]) if vec else x


def inv(a, overwrite_a=False, check_finite=True, *, assume_a=None, lower=False):
    """A⁻¹ (dX = −X dA X); with assume_a='sym'/'her'/'pos' only one triangle of a is read."""
    a = _arr(a)
    if not _traced(a):
        kw = {} if assume_a is None and not lower else {"assume_a": assume_a, "lower": lower}
        return _sl.inv(a, overwrite_a=overwrite_a, check_finite=check_finite, **kw)
    a = _float(a)
    _square("inv", a)
    if assume_a in _SYM or assume_a in _HER or assume_a in _POS:
        a = _from_triangle(a, lower, hermitian=assume_a not in _SYM)
    elif assume_a not in _GEN:
        raise UnsupportedFunctionError(
            f"pullback.scipy.linalg.inv: assume_a={assume_a!r} is not supported on traced values; "
            "use 'gen', 'sym', 'her' or 'pos'."
        )
    return _dec.inv(a)


def det(a, overwrite_a=False, check_finite=True):
    """det A:  d det = Σ C ∘ dA with C the cofactor matrix (exists at singular A too)."""
    a = _arr(a)
    if not _traced(a):
        return _sl.det(a, overwrite_a=overwrite_a, check_finite=check_finite)
    a = _float(a)
    _square("det", a)
    return _dec.det(a)


# ----------------------------------------------------------------------------- eigh


def eigh(a, b=None, *, lower=True, eigvals_only=False, overwrite_a=False, overwrite_b=False, type=1,
         check_finite=True, subset_by_index=None, subset_by_value=None, driver=None):
    """Eigenvalues (ascending) and B-orthonormal eigenvectors of A v = λ B v (type 1), A B v = λ v (2),
    B A v = λ v (3). The generalized problem reduces to a standard one with B = L Lᴴ:
    C = L⁻¹ A L⁻ᴴ (type 1) or Lᴴ A L (types 2, 3); V = L⁻ᴴ Y (types 1, 2) or L Y (type 3)."""
    a = _arr(a)
    b = None if b is None else _arr(b)
    if not _traced(a, b):
        return _sl.eigh(a, b, lower=lower, eigvals_only=eigvals_only, overwrite_a=overwrite_a,
                        overwrite_b=overwrite_b, type=type, check_finite=check_finite,
                        subset_by_index=subset_by_index, subset_by_value=subset_by_value, driver=driver)
    if subset_by_value is not None:
        raise UnsupportedFunctionError(
            "pullback.scipy.linalg.eigh: subset_by_value is not supported on traced values (the number of "
            "eigenvalues returned would depend on the values); compute all and select with a mask, or use "
            "subset_by_index."
        )
    if type not in (1, 2, 3):
        raise ValueError(f"eigh: type must be 1, 2 or 3, got {type!r}")
    a = _float(a)
    _square("eigh", a)
    uplo = "L" if lower else "U"
    if b is None:
        w, v = _spec.eigh(a, UPLO=uplo)
    else:
        b = _float(b)
        _square("eigh", b)
        chol = _p.cholesky(b, lower=bool(lower))
        low = chol if lower else _la.mH(chol)                    # B = L Lᴴ
        full = _la.hermitian_from_triangle(a, lower=lower)
        if type == 1:      # C = L⁻¹ A L⁻ᴴ
            y = _p.triangular_solve(low, full, lower=True, trans=0, unit_diagonal=False)
            c = _la.mH(_p.triangular_solve(low, _la.mH(y), lower=True, trans=0, unit_diagonal=False))
        else:              # C = Lᴴ A L
            c = pnp.matmul(_la.mH(low), pnp.matmul(full, low))
        w, y = _spec.eigh(c, UPLO="L")
        if type == 3:
            v = pnp.matmul(low, y)
        else:
            code = 2 if dtype_of(low).kind == "c" else 1
            v = _p.triangular_solve(low, y, lower=True, trans=code, unit_diagonal=False)
    if subset_by_index is not None:
        lo, hi = (int(i) for i in subset_by_index)
        n = shape_of(a)[-1]
        lo, hi = lo % n if lo < 0 else lo, hi % n if hi < 0 else hi
        w, v = w[..., lo:hi + 1], v[..., lo:hi + 1]
    return w if eigvals_only else (w, v)


# ----------------------------------------------------------------------------- matrix functions


def expm(A):
    """e^A for a (stack of) square matrices:  dX = L(A, dA), the top-right block of exp([[A, dA], [0, A]])."""
    A = _arr(A)
    if not _traced(A):
        return _sl.expm(A)
    A = _float(A)
    _square("expm", A)
    return _p.expm(A)


def expm_frechet(A, E, method=None, compute_expm=True, check_finite=True):
    """(e^A, L(A, E)) (or L alone with compute_expm=False), from exp([[A, E], [0, A]]): differentiable in A and E."""
    A, E = _arr(A), _arr(E)
    if not _traced(A, E):
        return _sl.expm_frechet(A, E, method=method, compute_expm=compute_expm, check_finite=check_finite)
    A, E = _float(A), _float(E)
    _square("expm_frechet", A)
    if shape_of(A) != shape_of(E):
        raise ValueError(f"expm_frechet: expected A and E to be the same shape, got {shape_of(A)} and {shape_of(E)}")
    n = shape_of(A)[-1]
    big = _p.expm(_p._block_upper(A, E))
    lf = big[..., :n, n:]
    return (big[..., :n, :n], lf) if compute_expm else lf


_NoValue = object()


def sqrtm(A, disp=_NoValue, blocksize=_NoValue):
    """The principal square root X (X X = A):  X dX + dX X = dA, a Sylvester solve."""
    A = _arr(A)
    if not _traced(A):
        kw = {k: v for k, v in (("disp", disp), ("blocksize", blocksize)) if v is not _NoValue}
        return _sl.sqrtm(A, **kw)
    if disp is False:
        raise UnsupportedFunctionError(
            "pullback.scipy.linalg.sqrtm: disp=False (returning an error estimate) is not supported on traced "
            "values; call sqrtm(A) and compute the residual yourself."
        )
    A = _float(A)
    _square("sqrtm", A)
    return _p.sqrtm(A)


def logm(A, disp=_NoValue):
    """The principal matrix logarithm:  dX = [log([[A, dA], [0, A]])]₁₂."""
    A = _arr(A)
    if not _traced(A):
        return _sl.logm(A) if disp is _NoValue else _sl.logm(A, disp=disp)
    if disp is False:
        raise UnsupportedFunctionError(
            "pullback.scipy.linalg.logm: disp=False (returning an error estimate) is not supported on traced "
            "values; call logm(A)."
        )
    A = _float(A)
    _square("logm", A)
    return _p.logm(A)


def solve_sylvester(a, b, q):
    """X with A X + X B = Q:  dX = S⁻¹(dQ − dA X − X dB), S(X) = A X + X B."""
    a, b, q = _arr(a), _arr(b), _arr(q)
    if not _traced(a, b, q):
        return _sl.solve_sylvester(a, b, q)
    return _p.sylvester(_float(a), _float(b), _float(q))


def solve_continuous_lyapunov(a, q):
    """X with A X + X Aᴴ = Q: solve_sylvester(a, aᴴ, q)."""
    a, q = _arr(a), _arr(q)
    if not _traced(a, q):
        return _sl.solve_continuous_lyapunov(a, q)
    a = _float(a)
    return _p.sylvester(a, _la.mH(a), _float(q))


# ----------------------------------------------------------------------------- special matrices


def block_diag(*arrs):
    """The block-diagonal matrix of the inputs (0-D and 1-D inputs count as 1×1 and 1×n blocks)."""
    if not _traced(*arrs):
        return _sl.block_diag(*arrs)
    if not arrs:
        return _np.empty((1, 0))
    blocks = []
    for x in arrs:
        x = _arr(x)
        if _ndim(x) > 2:
            raise ValueError(f"arguments in the following positions have dimension greater than 2: shape {shape_of(x)}")
        blocks.append(pnp.atleast_2d(x))
    dt = _np.result_type(*[dtype_of(x) for x in blocks])
    cols = sum(shape_of(x)[1] for x in blocks)
    rows, c0 = [], 0
    for x in blocks:
        r, c = shape_of(x)
        left, right = _np.zeros((r, c0), dtype=dt), _np.zeros((r, cols - c0 - c), dtype=dt)
        rows.append(pnp.concatenate([left, pnp.asarray(x, dtype=dt), right], axis=1))
        c0 += c
    return pnp.concatenate(rows, axis=0)


def toeplitz(c, r=None):
    """The Toeplitz matrix with first column c and first row r (r = conj(c) if omitted; r[0] is ignored).
    Leading axes of c and r are batch axes (SciPy ≥ 1.17)."""
    if not _traced(c, r):
        return _sl.toeplitz(c, r) if r is not None else _sl.toeplitz(c)
    c = pnp.atleast_1d(_arr(c))
    r = pnp.conj(c) if r is None else pnp.atleast_1d(_arr(r))
    m, n = shape_of(c)[-1], shape_of(r)[-1]
    batch = _np.broadcast_shapes(shape_of(c)[:-1], shape_of(r)[:-1])
    c = pnp.broadcast_to(c, batch + (m,))
    r = pnp.broadcast_to(r, batch + (n,))
    vals = pnp.concatenate([c[..., ::-1], r[..., 1:]], axis=-1)
    idx = (m - 1) - _np.arange(m)[:, None] + _np.arange(n)[None, :]
    return vals[..., idx]


def circulant(c):
    """The circulant matrix with first column c: C[i, j] = c[(i − j) mod n]; leading axes of c are batch axes."""
    if not _traced(c):
        return _sl.circulant(c)
    c = pnp.atleast_1d(_arr(c))
    n = shape_of(c)[-1]
    idx = (_np.arange(n)[:, None] - _np.arange(n)[None, :]) % n
    return c[..., idx]
