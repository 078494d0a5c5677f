"""pullback.numpy.linalg: numpy.linalg, differentiable.

Every function takes and returns what NumPy's does, on stacks of matrices (leading batch
axes) where NumPy allows them. On plain arrays each function is NumPy's own; on traced
values it records derivatives (primitives in pullback.primitives.decompositions and
.spectral; norms, powers and products are compositions). Conventions and edge cases
(repeated eigenvalues, norms at 0, complex inputs) are in docs/linalg.md.

Not differentiable, with a clear error: svd(full_matrices=True) and qr(mode='complete') of
a non-square matrix (the extra columns are not unique), qr(mode='raw').
"""

from __future__ import annotations

import math
import operator
from typing import Any, NamedTuple

import numpy as _np
from numpy.linalg import LinAlgError  # noqa: F401  (re-exported, like numpy.linalg's)

from ..core.trace import Tracer
from ..errors import PullbackError, UnsupportedFunctionError
from ..primitives import decompositions as dec
from ..primitives import elementwise as ew
from ..primitives import linalg as la
from ..primitives import reductions as red
from ..primitives import spectral as sp
from ..primitives._util import dtype_of, ndim_of, normalize_axis, shape_of
from . import _shapes
from ._helpers import is_traced
from ._linalg_norms import _abs2, matrix_norm, norm, vector_norm
from ._ufuncs import astype

__all__ = [
    "cholesky", "cond", "cross", "det", "diagonal", "eig", "eigh", "eigvals", "eigvalsh", "inv", "lstsq",
    "matmul", "matrix_norm", "matrix_power", "matrix_rank", "matrix_transpose", "multi_dot", "norm", "outer",
    "pinv", "qr", "slogdet", "solve", "svd", "svdvals", "tensordot", "tensorinv", "tensorsolve", "trace",
    "vecdot", "vector_norm",
]


def __dir__() -> list[str]:
    """Only the public names (and LinAlgError, as numpy.linalg): no helpers or imported modules."""
    return sorted([*__all__, "LinAlgError"])


try:  # NumPy 2's own result types, so that traced and plain results have the same pytree structure
    from numpy.linalg._linalg import EighResult, EigResult, QRResult, SlogdetResult, SVDResult
except ImportError:  # pragma: no cover  (NumPy 1.x returns plain tuples)
    class SlogdetResult(NamedTuple):
        sign: Any
        logabsdet: Any

    class EighResult(NamedTuple):
        eigenvalues: Any
        eigenvectors: Any

    class EigResult(NamedTuple):
        eigenvalues: Any
        eigenvectors: Any

    class SVDResult(NamedTuple):
        U: Any
        S: Any
        Vh: Any

    class QRResult(NamedTuple):
        Q: Any
        R: Any


def _sum(x, axis, keepdims=False):
    return red.reduce_sum(x, axis=normalize_axis(axis, ndim_of(x)), keepdims=keepdims)


def _stacked_square(name, a):
    s = shape_of(a)
    if len(s) < 2:
        raise LinAlgError(f"{ndim_of(a)}-dimensional array given. Array must be at least two-dimensional")
    if s[-1] != s[-2]:
        raise LinAlgError("Last 2 dimensions of the array must be square")


# ----------------------------------------------------------------------------- solves and inverses


def inv(a):
    """A⁻¹ for a stack of square matrices: dX = −X dA X."""
    a = _shapes.asarray(a)
    if not is_traced(a):
        return _np.linalg.inv(a)
    _stacked_square("inv", a)
    return dec.inv(a)


def solve(a, b):
    """x with A x = b; b is a vector (b.ndim == 1) or a stack of matrices, as in NumPy 2. Batch axes broadcast."""
    a, b = _shapes.asarray(a), _shapes.asarray(b)
    if not is_traced(a, b):
        return _np.linalg.solve(a, b)
    _stacked_square("solve", a)
    if ndim_of(b) == 1:
        x = dec.solve(a, _shapes.reshape(b, (-1, 1)))
        return _shapes.reshape(x, shape_of(x)[:-1])
    return dec.solve(a, b)


def det(a):
    """det A: d det = det · tr(A⁻¹ dA). At an exactly singular A NumPy's solve raises LinAlgError."""
    a = _shapes.asarray(a)
    if not is_traced(a):
        return _np.linalg.det(a)
    _stacked_square("det", a)
    return dec.det(a)


def slogdet(a):
    """(sign, log|det A|) as a named tuple; for real A the sign carries no derivative."""
    a = _shapes.asarray(a)
    if not is_traced(a):
        r = _np.linalg.slogdet(a)
        return SlogdetResult(r.sign, r.logabsdet)
    _stacked_square("slogdet", a)
    return SlogdetResult(*dec.slogdet(a))


def pinv(a, rcond=None, hermitian=False, *, rtol=None):
    """Moore–Penrose pseudo-inverse; derivative valid where the rank (after the cutoff) is constant."""
    a = _shapes.asarray(a)
    if not is_traced(a):
        kw = {} if rtol is None else {"rtol": rtol}
        return _np.linalg.pinv(a, rcond=rcond, hermitian=hermitian, **kw)
    return dec.pinv(a, rcond=rcond, hermitian=bool(hermitian), rtol=rtol)


def lstsq(a, b, rcond=None):
    """(x, residuals, rank, s) like numpy.linalg.lstsq; x, residuals and s are differentiable.

    NumPy returns empty residuals unless A has full column rank and m > n, so the rank is
    read from the concrete values. Where there are none (under pullback.jit or vmap) the
    rank is computed as a (staged or batched) value, and for m > n the residuals are
    returned as if A had full rank: Σ|b − A x|² per column, whatever the rank.
    """
    a, b = _shapes.asarray(a), _shapes.asarray(b)
    if not is_traced(a, b):
        return _np.linalg.lstsq(a, b, rcond=rcond)
    if ndim_of(a) != 2:
        raise LinAlgError(f"{ndim_of(a)}-dimensional array given. Array must be two-dimensional")
    m, n = shape_of(a)
    x = dec.lstsq(a, b, rcond=rcond)
    s = sp.svdvals(a, hermitian=False)
    try:
        rank = _np.linalg.lstsq(_concrete(a), _concrete(b), rcond=rcond)[2]
        full = rank == n
    except PullbackError:  # no concrete values: staged (jit) or batched (vmap)
        rank = dec.matrix_rank(a, tol=None, hermitian=False, rtol=dec.lstsq_rcond(a, rcond))
        full = True
    if full and m > n:
        r = ew.subtract(b, la.matmul(a, x))
        resid = red.reduce_sum(_abs2(r), axis=(0,), keepdims=False)
        if ndim_of(b) == 1:
            resid = _shapes.reshape(resid, (1,))
    else:
        resid = _np.empty((0,), dtype=_np.finfo(dtype_of(x)).dtype)
    return x, resid, rank, s


def _concrete(x):
    return x.concrete() if isinstance(x, Tracer) else x


def matrix_rank(A, tol=None, hermitian=False, *, rtol=None):
    """numpy.linalg.matrix_rank: an integer, no derivative."""
    A = _shapes.asarray(A)
    if not is_traced(A):
        return _np.linalg.matrix_rank(A, tol=tol, hermitian=hermitian, rtol=rtol)
    return dec.matrix_rank(A, tol=tol, hermitian=hermitian, rtol=rtol)


def tensorinv(a, ind=2):
    """The inverse of a reshaped to a square matrix (numpy.linalg.tensorinv)."""
    a = _shapes.asarray(a)
    if not is_traced(a):
        return _np.linalg.tensorinv(a, ind=ind)
    if ind <= 0:
        raise ValueError("Invalid ind argument.")
    old = shape_of(a)
    prod = math.prod(old[ind:])
    ia = inv(_shapes.reshape(a, (prod, -1)))
    return _shapes.reshape(ia, old[ind:] + old[:ind])


def tensorsolve(a, b, axes=None):
    """x with tensordot(a, x, x.ndim) = b (numpy.linalg.tensorsolve)."""
    a, b = _shapes.asarray(a), _shapes.asarray(b)
    if not is_traced(a, b):
        return _np.linalg.tensorsolve(a, b, axes=axes)
    an = ndim_of(a)
    if axes is not None:
        allaxes = list(range(an))
        for k in axes:
            allaxes.remove(k)
            allaxes.insert(an, k)
        a = _shapes.transpose(a, allaxes)
    old = shape_of(a)[-(an - ndim_of(b)):]
    prod = math.prod(old)
    if math.prod(shape_of(a)) != prod**2:
        raise LinAlgError(
            "Input arrays must satisfy the requirement prod(a.shape[b.ndim:]) == prod(a.shape[:b.ndim])")
    x = solve(_shapes.reshape(a, (prod, prod)), _shapes.reshape(b, (-1,)))
    return _shapes.reshape(x, old)


# ----------------------------------------------------------------------------- decompositions


def cholesky(a, /, *, upper=False):
    """Lower (or upper) Cholesky factor. Reads one triangle of A, and is differentiated as such:
    the other triangle gets a zero gradient (symmetrize your input to spread it)."""
    a = _shapes.asarray(a)
    if not is_traced(a):
        return _np.linalg.cholesky(a, upper=upper)
    _stacked_square("cholesky", a)
    return dec.cholesky(a, upper=bool(upper))


def qr(a, mode="reduced"):
    """QR decomposition: mode 'reduced', 'r', and 'complete' for m ≤ n (where it equals 'reduced')."""
    a = _shapes.asarray(a)
    if not is_traced(a):
        return _np.linalg.qr(a, mode=mode)
    if mode not in ("reduced", "complete", "r", "raw"):
        raise ValueError(f"Unrecognized mode '{mode}'")
    if ndim_of(a) < 2:
        raise LinAlgError(f"{ndim_of(a)}-dimensional array given. Array must be at least two-dimensional")
    m, n = shape_of(a)[-2:]
    if mode == "raw" or (mode == "complete" and m > n):
        raise UnsupportedFunctionError(
            f"pullback.numpy.linalg.qr(mode={mode!r}) is not differentiable"
            + (" (Householder reflectors)" if mode == "raw" else
               f" for a {m}×{n} matrix: the last {m - n} columns of Q are not unique")
            + "; use mode='reduced'.")
    q, r = dec.qr(a)
    return r if mode == "r" else QRResult(q, r)


def eigh(a, UPLO="L"):
    """(eigenvalues, eigenvectors) of a Hermitian matrix. Eigenvector derivatives have 1/(λⱼ − λᵢ)
    terms: at exactly repeated eigenvalues they are inf/nan (see docs/linalg.md)."""
    a = _shapes.asarray(a)
    if not is_traced(a):
        return _np.linalg.eigh(a, UPLO=UPLO)
    uplo = _uplo(UPLO)
    _stacked_square("eigh", a)
    return EighResult(*sp.eigh(a, UPLO=uplo))


def eigvalsh(a, UPLO="L"):
    """Eigenvalues of a Hermitian matrix: dλᵢ = vᵢᴴ dA vᵢ, finite at repeated eigenvalues."""
    a = _shapes.asarray(a)
    if not is_traced(a):
        return _np.linalg.eigvalsh(a, UPLO=UPLO)
    uplo = _uplo(UPLO)
    _stacked_square("eigvalsh", a)
    return sp.eigvalsh(a, UPLO=uplo)


def _uplo(UPLO):
    u = str(UPLO).upper()
    if u not in ("L", "U"):
        raise ValueError("UPLO argument must be 'L' or 'U'")
    return u


def eig(a):
    """(eigenvalues, eigenvectors) of a general matrix. On traced values both are always complex
    (NumPy returns real arrays when every eigenvalue is real)."""
    a = _shapes.asarray(a)
    if not is_traced(a):
        return _np.linalg.eig(a)
    _stacked_square("eig", a)
    return EigResult(*sp.eig(a))


def eigvals(a):
    """Eigenvalues of a general matrix (always complex on traced values)."""
    a = _shapes.asarray(a)
    if not is_traced(a):
        return _np.linalg.eigvals(a)
    _stacked_square("eigvals", a)
    return sp.eigvals(a)


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """(U, S, Vh), or S alone for compute_uv=False. Differentiable for full_matrices=False (and
    for square matrices); singular-vector derivatives are inf/nan at repeated singular values."""
    a = _shapes.asarray(a)
    if not is_traced(a):
        return _np.linalg.svd(a, full_matrices=full_matrices, compute_uv=compute_uv, hermitian=hermitian)
    if ndim_of(a) < 2:
        raise LinAlgError(f"{ndim_of(a)}-dimensional array given. Array must be at least two-dimensional")
    if not compute_uv:
        return sp.svdvals(a, hermitian=bool(hermitian))
    m, n = shape_of(a)[-2:]
    if full_matrices and m != n:
        raise UnsupportedFunctionError(
            f"pullback.numpy.linalg.svd(full_matrices=True) of a {m}×{n} matrix is not differentiable: the last "
            f"{abs(m - n)} singular vectors are not unique. Pass full_matrices=False.")
    return SVDResult(*sp.svd(a, hermitian=bool(hermitian)))


def svdvals(x, /):
    """Singular values (numpy.linalg.svdvals): dsᵢ = Re(uᵢᴴ dA vᵢ)."""
    x = _shapes.asarray(x)
    if not is_traced(x):
        return _np.linalg.svdvals(x)
    if ndim_of(x) < 2:
        raise LinAlgError(f"{ndim_of(x)}-dimensional array given. Array must be at least two-dimensional")
    return sp.svdvals(x, hermitian=False)


# ----------------------------------------------------------------------------- norms (in _linalg_norms)


def cond(x, p=None):
    """Condition number: s_max/s_min for p in (None, 2, −2), else norm(x, p)·norm(inv(x), p).

    For other p at an exactly singular matrix NumPy returns inf; here inv raises LinAlgError."""
    x = _shapes.asarray(x)
    if not is_traced(x):
        return _np.linalg.cond(x, p=p)
    if ndim_of(x) >= 2 and math.prod(shape_of(x)[-2:]) == 0:
        raise LinAlgError("cond is not defined on empty arrays")
    if p is None or p == 2 or p == -2:
        s = svdvals(x)
        first = _shapes.getitem(s, (Ellipsis, 0))
        last = _shapes.getitem(s, (Ellipsis, -1))
        with _np.errstate(all="ignore"):  # a singular matrix has condition number inf, silently, as in NumPy
            return ew.divide(last, first) if p == -2 else ew.divide(first, last)
    _stacked_square("cond", x)
    return ew.multiply(norm(x, p, axis=(-2, -1)), norm(inv(x), p, axis=(-2, -1)))


# ----------------------------------------------------------------------------- products


def matrix_power(a, n):
    """A raised to the integer power n (A⁻¹ for negative n), by repeated squaring as NumPy does."""
    a = _shapes.asarray(a)
    if not is_traced(a):
        return _np.linalg.matrix_power(a, n)
    _stacked_square("matrix_power", a)
    try:
        n = operator.index(n)
    except TypeError as e:
        raise TypeError("exponent must be an integer") from e
    if n == 0:
        return _np.broadcast_to(_np.eye(shape_of(a)[-1], dtype=dtype_of(a)), shape_of(a)).copy()
    if n < 0:
        a = dec.inv(a)
        n = -n
    if n == 1:
        return a
    if n == 2:
        return la.matmul(a, a)
    if n == 3:
        return la.matmul(la.matmul(a, a), a)
    z = result = None
    while n > 0:
        z = a if z is None else la.matmul(z, z)
        n, bit = divmod(n, 2)
        if bit:
            result = z if result is None else la.matmul(result, z)
    return result


def multi_dot(arrays, *, out=None):
    """A chain of matrix products in the cheapest order (numpy.linalg.multi_dot's)."""
    if out is not None:
        raise UnsupportedFunctionError("pullback.numpy.linalg.multi_dot(..., out=...): use the return value.")
    arrays = [_shapes.asarray(a) for a in arrays]
    if not is_traced(*arrays):
        return _np.linalg.multi_dot(arrays)
    n = len(arrays)
    if n < 2:
        raise ValueError("Expecting at least two arrays.")
    if n == 2:
        return _shapes.dot(arrays[0], arrays[1])
    first, last = ndim_of(arrays[0]), ndim_of(arrays[-1])
    if first == 1:
        arrays[0] = _shapes.reshape(arrays[0], (1, -1))
    if last == 1:
        arrays[-1] = _shapes.reshape(arrays[-1], (-1, 1))
    for a in arrays:
        if ndim_of(a) != 2:
            raise LinAlgError(f"{ndim_of(a)}-dimensional array given. Array must be two-dimensional")
    if n == 3:
        result = _multi_dot_three(*arrays)
    else:
        result = _multi_dot(arrays, _chain_order(arrays), 0, n - 1)
    if first == 1 and last == 1:
        return _shapes.getitem(result, (0, 0))
    if first == 1 or last == 1:
        return _shapes.ravel(result)
    return result


def _multi_dot_three(a, b, c):
    a0, a1b0 = shape_of(a)
    b1c0, c1 = shape_of(c)
    if a0 * b1c0 * (a1b0 + c1) < a1b0 * c1 * (a0 + b1c0):
        return la.matmul(la.matmul(a, b), c)
    return la.matmul(a, la.matmul(b, c))


def _chain_order(arrays):
    """The matrix-chain ordering (Cormen et al.), as numpy.linalg.multi_dot computes it."""
    n = len(arrays)
    p = [shape_of(a)[0] for a in arrays] + [shape_of(arrays[-1])[1]]
    m = _np.zeros((n, n), dtype=float)
    s = _np.empty((n, n), dtype=_np.intp)
    for ell in range(1, n):
        for i in range(n - ell):
            j = i + ell
            m[i, j] = _np.inf
            for k in range(i, j):
                q = m[i, k] + m[k + 1, j] + p[i] * p[k + 1] * p[j + 1]
                if q < m[i, j]:
                    m[i, j] = q
                    s[i, j] = k
    return s


def _multi_dot(arrays, order, i, j):
    if i == j:
        return arrays[i]
    return la.matmul(_multi_dot(arrays, order, i, order[i, j]), _multi_dot(arrays, order, order[i, j] + 1, j))


def matmul(x1, x2, /):
    """numpy.linalg.matmul (the matrix product, batch axes broadcast)."""
    return _shapes.matmul(x1, x2)


def tensordot(x1, x2, /, *, axes=2):
    """numpy.linalg.tensordot."""
    return _shapes.tensordot(x1, x2, axes=axes)


def outer(x1, x2, /):
    """Outer product of two vectors (numpy.linalg.outer requires 1-D inputs)."""
    x1, x2 = _shapes.asarray(x1), _shapes.asarray(x2)
    if ndim_of(x1) != 1 or ndim_of(x2) != 1:
        raise ValueError(f"Input arrays must be one-dimensional, but they are x1={ndim_of(x1)}-D and "
                         f"x2={ndim_of(x2)}-D.")
    if not is_traced(x1, x2):
        return _np.linalg.outer(x1, x2)
    return ew.multiply(_shapes.reshape(x1, (-1, 1)), _shapes.reshape(x2, (1, -1)))


def vecdot(x1, x2, /, *, axis=-1):
    """Σ conj(x1)·x2 over `axis`, batch axes broadcast."""
    x1, x2 = _shapes.asarray(x1), _shapes.asarray(x2)
    if not is_traced(x1, x2):
        return _np.linalg.vecdot(x1, x2, axis=axis)
    a = ew.conj(x1) if dtype_of(x1).kind == "c" else x1
    prod = ew.multiply(a, x2)
    return _sum(prod, axis)


def matrix_transpose(x, /):
    """Swap the last two axes."""
    x = _shapes.asarray(x)
    if ndim_of(x) < 2:
        raise ValueError("Input array must be at least 2-dimensional")
    return la.mT(x) if is_traced(x) else _np.linalg.matrix_transpose(x)


def diagonal(x, /, *, offset=0):
    """The (offset) diagonals of the last two axes."""
    x = _shapes.asarray(x)
    if not is_traced(x):
        return _np.linalg.diagonal(x, offset=offset)
    if ndim_of(x) < 2:
        raise ValueError("diag requires an array of at least two dimensions")
    n, m = shape_of(x)[-2:]
    if offset >= 0:
        j = _np.arange(max(0, min(n, m - offset)))
        i = j.copy()
        j = j + offset
    else:
        i = _np.arange(max(0, min(n + offset, m)))
        j = i.copy()
        i = i - offset
    return _shapes.getitem(x, (Ellipsis, i, j))


def trace(x, /, *, offset=0, dtype=None):
    """Σ of the (offset) diagonal of the last two axes."""
    x = _shapes.asarray(x)
    if not is_traced(x):
        return _np.linalg.trace(x, offset=offset, dtype=dtype)
    d = diagonal(x, offset=offset)
    if dtype is not None:
        d = astype(d, dtype)
    return _sum(d, -1)


def cross(x1, x2, /, *, axis=-1):
    """Cross product of (stacks of) 3-vectors along `axis`."""
    x1, x2 = _shapes.asarray(x1), _shapes.asarray(x2)
    if not is_traced(x1, x2):
        return _np.linalg.cross(x1, x2, axis=axis)
    if shape_of(x1)[axis] != 3 or shape_of(x2)[axis] != 3:
        raise ValueError(
            f"Both input arrays must be (arrays of) 3-dimensional vectors, but they are {shape_of(x1)[axis]} and "
            f"{shape_of(x2)[axis]} dimensional instead.")
    a = _shapes.moveaxis(x1, axis, -1)
    b = _shapes.moveaxis(x2, axis, -1)
    ai = [_shapes.getitem(a, (Ellipsis, k)) for k in range(3)]
    bi = [_shapes.getitem(b, (Ellipsis, k)) for k in range(3)]
    c = [ew.subtract(ew.multiply(ai[(k + 1) % 3], bi[(k + 2) % 3]), ew.multiply(ai[(k + 2) % 3], bi[(k + 1) % 3]))
         for k in range(3)]
    shape = _np.broadcast_shapes(*[shape_of(v) for v in c])
    return _shapes.moveaxis(_shapes.stack([_shapes.broadcast_to(v, shape) for v in c], axis=-1), -1, axis)
