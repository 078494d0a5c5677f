"""Statistics beyond reductions: cov, corrcoef, bincount (differentiable in its weights), digitize.

cov and corrcoef follow NumPy's formulas step by step (weights through average, the centred
product X·X̄ᵀ, the normalization, corrcoef's clipping to [-1, 1]), so values match NumPy's and
derivatives flow to every sample. A clipped correlation (only possible through rounding) gets
no derivative. Frequency and analytic weights (fweights, aweights) are plain arrays.
"""

from __future__ import annotations

import warnings

import numpy as _np

from ..core.trace import Tracer
from ..errors import UnsupportedFunctionError
from ..primitives import elementwise as ew
from ..primitives import linalg as la
from ..primitives import shape as sh
from ..primitives import sorting as so
from ..primitives._util import dtype_of, shape_of
from . import _reductions as R
from ._helpers import concrete_or_none, is_traced
from ._shapes import asarray, concatenate, getitem, reshape, transpose
from ._ufuncs import astype


def _at_least_2d(x):
    shape = shape_of(x)
    if len(shape) >= 2:
        return x
    return reshape(x, (1,) * (2 - len(shape)) + tuple(shape))


def _plain_weights(w, name: str, samples: int):
    if w is None:
        return None
    if is_traced(w):
        raise UnsupportedFunctionError(f"pullback.numpy.cov: traced {name} are not supported; pass a plain array.")
    w = _np.asarray(w, dtype=float)
    if w.ndim > 1:
        raise RuntimeError(f"cannot handle multidimensional {name}")
    if w.shape[0] != samples:
        raise RuntimeError(f"incompatible numbers of samples and {name}")
    if _np.any(w < 0):
        raise ValueError(f"{name} cannot be negative")
    return w


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *, dtype=None):
    """Covariance matrix of the variables (rows, or columns when rowvar=False) of m (and y):
    Σ wᵢ (xᵢ − x̄)(yᵢ − ȳ)̄ / (Σ w − ddof); differentiable in m and y."""
    if not is_traced(m, y):
        return _np.cov(m, y, rowvar, bias, ddof, fweights, aweights, dtype=dtype)
    if ddof is not None and ddof != int(ddof):
        raise ValueError("ddof must be integer")
    m = asarray(m)
    if len(shape_of(m)) > 2:
        raise ValueError("m has more than 2 dimensions")
    if y is not None:
        y = asarray(y)
        if len(shape_of(y)) > 2:
            raise ValueError("y has more than 2 dimensions")
    if dtype is None:
        dtype = _np.result_type(dtype_of(m), _np.float64) if y is None else _np.result_type(
            dtype_of(m), dtype_of(y), _np.float64)
    X = _at_least_2d(astype(m, dtype))
    if not rowvar and len(shape_of(m)) != 1:
        X = transpose(X)
    if shape_of(X)[0] == 0:
        return _np.array([]).reshape(0, 0)
    if y is not None:
        Y = _at_least_2d(astype(y, dtype))
        if not rowvar and shape_of(Y)[0] != 1:
            Y = transpose(Y)
        X = concatenate([X, Y], axis=0)
    if ddof is None:
        ddof = 1 if bias == 0 else 0
    samples = shape_of(X)[1]
    fweights = _plain_weights(fweights, "fweights", samples)
    if fweights is not None and not _np.all(fweights == _np.around(fweights)):
        raise TypeError("fweights must be integer")
    aweights = _plain_weights(aweights, "aweights", samples)
    w = fweights
    if aweights is not None:
        w = aweights if w is None else w * aweights
    avg, w_sum = R.average(X, axis=1, weights=w, returned=True)
    w_sum = concrete_or_none(w_sum)[0]
    if w is None:
        fact = samples - ddof
    elif ddof == 0:
        fact = w_sum
    elif aweights is None:
        fact = w_sum - ddof
    else:
        fact = w_sum - ddof * _np.sum(w * aweights) / w_sum
    if fact <= 0:
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=2)
        fact = 0.0
    centred = ew.subtract(X, reshape(avg, (-1, 1)))
    if dtype_of(centred) != dtype_of(X):
        centred = astype(centred, dtype_of(X))  # NumPy subtracts in place
    other = transpose(centred if w is None else ew.multiply(centred, w))
    if dtype_of(other).kind == "c":
        other = ew.conj(other)
    c = la.matmul(centred, other)
    scaled = ew.multiply(c, _np.true_divide(1, fact))
    if dtype_of(scaled) != dtype_of(c):
        scaled = astype(scaled, dtype_of(c))  # NumPy scales in place
    return reshape(scaled, tuple(n for n in shape_of(scaled) if n != 1))


def _clip_unit(x):
    return ew.select(ew.greater(x, 1), 1.0, ew.select(ew.less(x, -1), -1.0, x))


def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """Pearson correlation coefficients cov(x, y)ᵢⱼ / √(covᵢᵢ covⱼⱼ), clipped to [-1, 1] like NumPy's."""
    if not is_traced(x, y):
        return _np.corrcoef(x, y, rowvar, dtype=dtype)
    c = cov(x, y, rowvar, dtype=dtype)
    if len(shape_of(c)) != 2:
        return ew.divide(c, c)
    n = shape_of(c)[0]
    diagonal = getitem(c, (_np.arange(n), _np.arange(n)))
    stddev = ew.UNARY["sqrt"](ew.real(diagonal) if dtype_of(diagonal).kind == "c" else diagonal)
    c = ew.divide(c, reshape(stddev, (n, 1)))
    c = ew.divide(c, reshape(stddev, (1, n)))
    if dtype_of(c).kind != "c":
        return _clip_unit(c)
    return ew.add(_clip_unit(ew.real(c)), ew.multiply(_clip_unit(ew.imag(c)), 1j))


def bincount(x, /, weights=None, minlength=0):
    """Σ of the weights falling in each integer bin of x (the counts when no weights): differentiable in the
    weights, which NumPy accumulates in float64."""
    if not is_traced(x, weights):
        return _np.bincount(x, weights=weights, minlength=minlength)
    idx = _np.asarray(concrete_or_none(x) if isinstance(x, Tracer) else x)
    counts = _np.bincount(idx, minlength=minlength)  # NumPy's own checks of x and minlength
    if weights is None:
        return counts
    weights = asarray(weights)
    if dtype_of(weights).kind == "c":
        raise TypeError("Cannot cast array data from dtype('complex128') to dtype('float64') according to the "
                        "rule 'safe'")
    if shape_of(weights) != idx.shape:
        raise ValueError("The weights and list don't have the same length.")
    weights = astype(weights, _np.float64) if dtype_of(weights) != _np.float64 else weights
    return sh.add_at(_np.zeros(counts.shape[0]), weights, idx=idx)


def digitize(x, bins, right=False):
    """Index of the bin each x falls in (an integer result, no derivative)."""
    if not is_traced(x, bins):
        return _np.digitize(x, bins, right=right)
    x = asarray(x)
    if dtype_of(x).kind == "c":
        raise TypeError("x may not be complex")
    edges = _np.asarray(concrete_or_none(bins) if isinstance(bins, Tracer) else bins)
    steps = _np.diff(edges)
    if _np.all(steps >= 0):
        decreasing = False
    elif _np.all(steps <= 0):
        decreasing = True
    else:
        raise ValueError("bins must be monotonically increasing or decreasing")
    side = "left" if right else "right"
    if decreasing:
        return ew.subtract(len(edges), so.searchsorted(edges[::-1], x, side=side))
    return so.searchsorted(edges, x, side=side)


__all__ = ['bincount', 'corrcoef', 'cov', 'digitize']
