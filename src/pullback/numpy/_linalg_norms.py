"""Vector and matrix norms of pullback.numpy.linalg: norm, vector_norm, matrix_norm.

They mirror numpy.linalg.norm's implementation step by step (so values agree with
NumPy's), with two choices for derivatives: roots are taken so that the derivative at 0
is 0 rather than inf/nan (a subgradient, as for abs at 0), and max/min norms share the
derivative equally between tied entries, like pullback.numpy.max.
"""

from __future__ import annotations

import math
import operator

import numpy as _np

from ..core.trace import Tracer
from ..primitives import elementwise as ew
from ..primitives import linalg as la
from ..primitives import reductions as red
from ..primitives import spectral as sp
from ..primitives._util import dtype_of, ndim_of, normalize_axis, shape_of
from . import _shapes
from ._helpers import is_traced


def _abs2(x):
    """|x|² (numpy's (x.conj() * x).real)."""
    if dtype_of(x).kind == "c":
        return ew.real(ew.multiply(ew.conj(x), x))
    return ew.multiply(x, x)


def _safe_root(s, p=2):
    """s^(1/p) with derivative 0 (not inf) at s = 0: the norm's derivative at 0 is taken as 0."""
    if p < 0:  # s is 0 only for an empty sum (|x|^p > 0): NumPy's 0^(1/p) = inf
        return ew.power(s, float(_np.reciprocal(p, dtype=dtype_of(s))))
    zero = ew.equal(s, 0)
    s1 = ew.select(zero, 1.0, s)
    if p == 2:
        r = ew.sqrt(s1)
    else:
        r = ew.power(s1, float(_np.reciprocal(p, dtype=dtype_of(s))))
    return ew.select(zero, 0.0, r)


def _sum(x, axis, keepdims=False):
    return red.reduce_sum(x, axis=normalize_axis(axis, ndim_of(x)), keepdims=keepdims)


def _reduce(prim, x, axis, keepdims=False):
    return prim(x, axis=normalize_axis(axis, ndim_of(x)), keepdims=keepdims)


def _max0(x, axis, keepdims=False):
    """max of x ≥ 0 over axis with NumPy's initial=0: 0 (the empty sum) where the axis is empty."""
    axes = normalize_axis(axis, ndim_of(x))
    if any(shape_of(x)[a] == 0 for a in axes):
        return red.reduce_sum(x, axis=axes, keepdims=keepdims)
    return red.reduce_max(x, axis=axes, keepdims=keepdims)


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector and matrix norms with numpy.linalg.norm's ord/axis/keepdims.

    Derivatives: the 2-norm, 'fro' and general p-norms (p ≥ 1) have derivative 0 at x = 0 (a
    subgradient, like abs at 0); max/min norms share the derivative equally between tied
    entries; 'nuc', 2 and −2 go through singular values (a subgradient at repeated ones);
    ord=0 counts nonzeros and has derivative 0.
    """
    x = _shapes.asarray(x)
    if not is_traced(x):
        return _np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)
    if dtype_of(x).kind not in "fc":
        x = ew.convert(x, dtype=_np.dtype(float))
    nd = ndim_of(x)
    if axis is None:
        if ord is None or (isinstance(ord, str) and ord in ("f", "fro") and nd == 2) or (ord == 2 and nd == 1):
            v = _shapes.ravel(x)
            if dtype_of(v).kind == "c":  # numpy: x.real.dot(x.real) + x.imag.dot(x.imag)
                re, im = ew.real(v), ew.imag(v)
                sq = ew.add(la.matmul(re, re), la.matmul(im, im))
            else:
                sq = la.matmul(v, v)
            ret = _safe_root(sq)
            return _shapes.reshape(ret, (1,) * nd) if keepdims else ret
        axis = tuple(range(nd))
    elif not isinstance(axis, tuple):
        try:
            axis = (operator.index(axis),)
        except TypeError as e:
            raise TypeError("'axis' must be None, an integer or a tuple of integers") from e
    if len(axis) == 1:
        return _vector_norm(x, ord, axis, keepdims)
    if len(axis) == 2:
        return _matrix_norm(x, ord, axis, keepdims)
    raise ValueError("Improper number of dimensions to norm.")


def _vector_norm(x, ord, axis, keepdims):
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order '{ord}' for vectors")
    if ord == _np.inf:
        return _max0(ew.absolute(x), axis, keepdims)
    if ord == -_np.inf:
        return _reduce(red.reduce_min, ew.absolute(x), axis, keepdims)
    if ord == 0:
        nonzero = ew.convert_nondiff(ew.not_equal(x, 0), dtype=_np.finfo(dtype_of(x)).dtype)
        return _sum(nonzero, axis, keepdims)
    if ord == 1:
        return _sum(ew.absolute(x), axis, keepdims)
    if ord is None or ord == 2:
        return _safe_root(_sum(_abs2(x), axis, keepdims))
    return _safe_root(_sum(ew.power(ew.absolute(x), ord), axis, keepdims), ord)


def _matrix_norm(x, ord, axis, keepdims):
    nd = ndim_of(x)
    row_axis, col_axis = (normalize_axis(a, nd)[0] for a in axis)
    kept = (row_axis, col_axis)
    if row_axis == col_axis:
        raise ValueError("Duplicate axes given.")
    if ord in (2, -2, "nuc"):
        s = sp.svdvals(_shapes.moveaxis(x, (row_axis, col_axis), (-2, -1)), hermitian=False)
        last = (ndim_of(s) - 1,)
        if ord == "nuc":
            ret = red.reduce_sum(s, axis=last, keepdims=False)
        elif ord == 2:
            ret = _max0(s, last)
        else:
            ret = (red.reduce_max if ord == 2 else red.reduce_min)(s, axis=last, keepdims=False)
    elif ord in (1, -1):
        if col_axis > row_axis:
            col_axis -= 1
        col_sums = _sum(ew.absolute(x), row_axis)
        ret = _max0(col_sums, col_axis) if ord == 1 else _reduce(red.reduce_min, col_sums, col_axis)
    elif ord in (_np.inf, -_np.inf):
        if row_axis > col_axis:
            row_axis -= 1
        row_sums = _sum(ew.absolute(x), col_axis)
        ret = _max0(row_sums, row_axis) if ord > 0 else _reduce(red.reduce_min, row_sums, row_axis)
    elif ord is None or ord in ("fro", "f"):
        ret = _safe_root(_sum(_abs2(x), (row_axis, col_axis)))
    else:
        raise ValueError("Invalid norm order for matrices.")
    if keepdims:
        shape = list(shape_of(x))
        shape[kept[0]] = shape[kept[1]] = 1
        ret = _shapes.reshape(ret, tuple(shape))
    return ret


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """numpy.linalg.vector_norm: a vector norm over one axis, several axes (flattened) or all."""
    x = _shapes.asarray(x)
    if not is_traced(x):
        return _np.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)
    shape = list(shape_of(x))
    if axis is None:
        y, ax = _shapes.ravel(x), 0
    elif isinstance(axis, tuple):
        norm_axes = tuple(a % len(shape) for a in normalize_axis(axis, len(shape)) or ())
        given = tuple(operator.index(a) % len(shape) for a in axis)
        rest = tuple(i for i in range(len(shape)) if i not in norm_axes)
        y = _shapes.transpose(x, given + rest)
        y = _shapes.reshape(y, (math.prod(shape[i] for i in given), *[shape[i] for i in rest]))
        ax = 0
    else:
        y, ax = x, axis
    res = norm(y, axis=ax, ord=ord)
    if keepdims:
        for i in normalize_axis(range(len(shape)) if axis is None else axis, len(shape)) or ():
            shape[i] = 1
        res = _shapes.reshape(res, tuple(shape))
    return res


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """numpy.linalg.matrix_norm: norm over the last two axes."""
    x = _shapes.asarray(x)
    if not is_traced(x):
        return _np.linalg.matrix_norm(x, keepdims=keepdims, ord=ord)
    return norm(x, axis=(-2, -1), keepdims=keepdims, ord=ord)
