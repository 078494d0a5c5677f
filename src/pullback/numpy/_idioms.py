"""Everyday NumPy idioms on traced values: the ndarray type check, dtype queries, np.r_ / np.c_,
np.vectorize, np.interp, np.polyval / np.poly1d evaluation and np.histogram with weights.

- ``isinstance(x, pullback.numpy.ndarray)`` is True for real arrays and traced values alike, so
  the guard ``if isinstance(x, np.ndarray)`` does not turn a traced input into a constant.
- result_type, can_cast, min_scalar_type and common_type read only dtypes (and, for
  min_scalar_type of a 0-d value, its concrete value when one is known).
- interp: y = fp[j] + (x − xp[j]) (fp[j+1] − fp[j]) / (xp[j+1] − xp[j]) with xp[j] ≤ x < xp[j+1];
  differentiable in x, xp and fp (the bracket j is piecewise constant and carries no derivative).
- polyval: Horner's rule, y = (…(p₀ x + p₁) x + …) x + p_n; differentiable in p and x.
- histogram: the bin of each sample is piecewise constant in the samples and edges, so counts
  carry no derivative; with weights, hist[k] = Σ_{i in bin k} wᵢ is linear in w.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as _np

from ..core.staging import ConcretizationError
from ..core.trace import Tracer, full_lower
from ..errors import UnsupportedFunctionError
from ..primitives import elementwise as ew
from ..primitives._util import dtype_of, shape_of
from ._creation import linspace, zeros_like
from ._differences import diff
from ._helpers import contains_tracer, is_traced, traced
from ._indexing import at
from ._reductions import max as _max
from ._reductions import min as _min
from ._reductions import sum as _sum
from ._shapes import asarray, broadcast_arrays, concatenate, getitem, ravel, reshape, stack, transpose
from ._ufuncs import astype, where

# ----------------------------------------------------------------------------- the ndarray type


class _NDArrayType(type):
    """isinstance / issubclass that accept NumPy arrays and traced values alike."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, (_np.ndarray, Tracer))

    def __subclasscheck__(cls, sub: type) -> bool:
        return isinstance(sub, type) and issubclass(sub, (_np.ndarray, Tracer))


class ndarray(metaclass=_NDArrayType):
    """numpy.ndarray for type checks that also hold for traced values.

    ``isinstance(x, pullback.numpy.ndarray)`` is True when x is a NumPy array or a value traced by a
    pullback transformation (the guard ``if isinstance(x, np.ndarray)`` then keeps its derivative).
    Calling it constructs a plain ``numpy.ndarray`` (``ndarray(shape, dtype=float, ...)``).

    Example:
        >>> import numpy, pullback as pb, pullback.numpy as np
        >>> pb.grad(lambda x: np.sum(x * x) if isinstance(x, np.ndarray) else 0.0)(numpy.ones(2))
        array([2., 2.])
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> _np.ndarray:  # type: ignore[misc]
        return _np.ndarray(*args, **kwargs)


# ----------------------------------------------------------------------------- dtype queries


def _dtype_stand_in(x: Any) -> Any:
    """What NumPy's dtype functions need of a traced value: its dtype."""
    return dtype_of(x) if is_traced(x) else x


def result_type(*arrays_and_dtypes: Any) -> _np.dtype:
    """numpy.result_type; a traced value counts as an array of its dtype (only dtypes are read).

    Example:
        >>> import pullback as pb, pullback.numpy as np, numpy
        >>> pb.grad(lambda x: np.sum(x.astype(np.result_type(x, 1.0))))(numpy.ones(2, numpy.float32))
        array([1., 1.], dtype=float32)
    """
    return _np.result_type(*map(_dtype_stand_in, arrays_and_dtypes))


def can_cast(from_: Any, to: Any, casting: str = "safe") -> bool:
    """numpy.can_cast; a traced `from_` is read by its dtype."""
    return _np.can_cast(_dtype_stand_in(from_), to, casting=casting)


def min_scalar_type(a: Any) -> _np.dtype:
    """numpy.min_scalar_type; a traced 0-d value is read by its concrete value when one is known
    (under jit it is not, and its dtype is returned), a traced array by its dtype."""
    if is_traced(a):
        if shape_of(a) != ():
            return dtype_of(a)
        try:
            return _np.min_scalar_type(full_lower(a))
        except ConcretizationError:
            return dtype_of(a)
    return _np.min_scalar_type(a)


def common_type(*arrays: Any) -> type:
    """numpy.common_type; traced values are read by their dtype."""
    return _np.common_type(*[_np.empty(0, dtype_of(a)) if is_traced(a) else a for a in arrays])


# ----------------------------------------------------------------------------- r_ and c_


class _Concatenator:
    """np.r_ / np.c_ for traced entries: slices, scalars, arrays and a leading directive string
    ("axis", "axis,ndmin" or "axis,ndmin,trans1d"), concatenated as NumPy does."""

    def __init__(self, numpy_obj: Any, axis: int, ndmin: int, trans1d: int, name: str):
        self.numpy_obj, self.axis, self.ndmin, self.trans1d, self.name = numpy_obj, axis, ndmin, trans1d, name

    def __getitem__(self, key: Any) -> Any:
        items = key if isinstance(key, tuple) else (key,)
        if not contains_tracer(items):
            return self.numpy_obj[key]
        axis, ndmin, trans1d = self.axis, self.ndmin, self.trans1d
        objs, scalar_dtypes, array_dtypes = [], [], []
        for k, item in enumerate(items):
            if isinstance(item, str):
                if k != 0:
                    raise ValueError("special directives must be the first entry.")
                if item in ("r", "c"):
                    raise UnsupportedFunctionError(
                        f"pullback.numpy.{self.name}['{item}', ...] builds a numpy.matrix, which pullback does not "
                        "trace; use a 2-D array (np.stack / np.concatenate) instead.")
                vec = [int(v) for v in item.split(",")]
                axis = vec[0]
                if len(vec) > 1:
                    ndmin = vec[1]
                if len(vec) > 2:
                    trans1d = vec[2]
                continue
            if isinstance(item, slice):
                new = _np.r_[item]
                array_dtypes.append(new.dtype)
                new = self._promote(new, 1, ndmin, trans1d)
            elif isinstance(item, (int, float, complex, bool, _np.generic)) or (
                    isinstance(item, Tracer) and shape_of(item) == ()):
                new = asarray(item)
                scalar_dtypes.append(_np.asarray(item).dtype if not isinstance(item, Tracer) else dtype_of(item))
                new = self._promote(new, 0, ndmin, trans1d)
            else:
                new = asarray(item)
                array_dtypes.append(dtype_of(new))
                new = self._promote(new, len(shape_of(new)), ndmin, trans1d)
            objs.append(new)
        final = _np.result_type(*array_dtypes, *scalar_dtypes)
        return concatenate([astype(o, final) for o in objs], axis=axis)

    @staticmethod
    def _promote(x: Any, nd: int, ndmin: int, trans1d: int) -> Any:
        """NumPy's array(x, ndmin=ndmin) followed by its trans1d placement of the original axes."""
        if nd >= ndmin:
            return x if nd > 0 or ndmin > 0 else reshape(x, (1,))
        x = reshape(x, (1,) * (ndmin - nd) + tuple(shape_of(x)))
        if trans1d != -1:
            k2, k1 = ndmin - nd, trans1d
            if k1 < 0:
                k1 += k2 + 1
            axes = list(range(ndmin))
            x = transpose(x, tuple(axes[:k1] + axes[k2:] + axes[k1:k2]))
        return x

    def __len__(self) -> int:
        return 0


r_ = _Concatenator(_np.r_, 0, 1, -1, "r_")
r_.__doc__ = """numpy.r_ that also takes traced entries: ``np.r_[x, 0.0, 1:3]`` concatenates along the first axis.

Example:
    >>> import pullback as pb, pullback.numpy as np, numpy
    >>> pb.grad(lambda x: np.sum(np.r_[x, 2 * x, 0.0:2.0]))(numpy.ones(2))
    array([3., 3.])
"""
c_ = _Concatenator(_np.c_, -1, 2, 0, "c_")
c_.__doc__ = """numpy.c_ that also takes traced entries: 1-D entries become columns, stacked along the last axis."""


# ----------------------------------------------------------------------------- vectorize


class vectorize:
    """numpy.vectorize, differentiable: pyfunc is applied to every element of the broadcast inputs
    by a Python loop (so Python control flow on the element works), and the results are stacked.

    Parameters: pyfunc (a function of scalars), otypes (output dtypes), excluded (positions or
    names of arguments passed through unchanged), doc, cache (ignored); ``signature`` is refused on
    traced inputs (use pullback.vmap for functions of core dimensions).
    Returns: a callable; on plain inputs it is numpy.vectorize itself.

    Example:
        >>> import pullback as pb, pullback.numpy as np, numpy
        >>> f = np.vectorize(lambda a: a * a if a > 0 else -a)
        >>> pb.grad(lambda x: np.sum(f(x)))(numpy.array([2.0, -1.0]))
        array([ 4., -1.])
    """

    def __init__(self, pyfunc: Callable, otypes: Any = None, doc: str | None = None, excluded: Any = None,
                 cache: bool = False, signature: str | None = None):
        self.pyfunc, self.otypes, self.excluded, self.signature = pyfunc, otypes, set(excluded or ()), signature
        self._numpy = _np.vectorize(pyfunc, otypes=otypes, doc=doc, excluded=excluded, cache=cache,
                                    signature=signature)
        self.__doc__ = doc if doc is not None else getattr(pyfunc, "__doc__", None)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not traced(*args, *kwargs.values()):
            return self._numpy(*args, **kwargs)
        if self.signature is not None:
            raise UnsupportedFunctionError(
                "pullback.numpy.vectorize(..., signature=...) on traced values is not supported; use "
                "pullback.vmap over the loop dimensions instead (it maps a function of whole core arrays).")
        pos = [i for i in range(len(args)) if i not in self.excluded]
        names = [k for k in kwargs if k not in self.excluded]
        vals = [asarray(args[i]) for i in pos] + [asarray(kwargs[k]) for k in names]
        if not vals:
            return self.pyfunc(*args, **kwargs)
        vals = broadcast_arrays(*vals)
        shape = tuple(shape_of(vals[0]))
        flat = [ravel(v) for v in vals]
        size = int(_np.prod(shape, dtype=_np.int64))
        if size == 0 and self.otypes is None:
            raise ValueError("cannot call `vectorize` on size 0 inputs unless `otypes` is set")
        results = []
        for n in range(size):
            a, kw = list(args), dict(kwargs)
            for j, i in enumerate(pos):
                a[i] = flat[j][n]
            for j, k in enumerate(names):
                kw[k] = flat[len(pos) + j][n]
            results.append(self.pyfunc(*a, **kw))
        multi = bool(results) and isinstance(results[0], tuple)
        outs = list(zip(*results)) if multi else [results]
        otypes = self.otypes
        if isinstance(otypes, str):
            otypes = list(otypes)
        arrays = []
        for k, col in enumerate(outs):
            dt = None if otypes is None else _np.dtype(otypes[k])
            if size == 0:
                arrays.append(_np.zeros(shape, dt))
                continue
            out = reshape(stack([asarray(c) for c in col]), shape)
            arrays.append(out if dt is None else astype(out, dt))
        if size == 0 and otypes is not None and len(otypes) > 1:
            return tuple(arrays)
        return tuple(arrays) if multi else arrays[0]


# ----------------------------------------------------------------------------- interp


def _concrete(x: Any, who: str) -> _np.ndarray:
    try:
        return _np.asarray(full_lower(x))
    except ConcretizationError:
        raise ConcretizationError(
            f"pullback.numpy.{who} needs the concrete values of its sample points (to find each sample's "
            "interval or bin), but under jit they are staged. Call it outside jit, or pass the samples as a "
            "static argument (jit(f, static_argnums=...))."
        ) from None


def interp(x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None, period: Any = None) -> Any:
    """numpy.interp, differentiable in x, xp and fp (and left/right).

    Parameters: x (points to evaluate), xp (increasing sample points, 1-D), fp (values at xp,
    1-D, real or complex), left / right (values for x < xp[0] / x > xp[-1]; default fp[0] /
    fp[-1]), period (for angular x: xp is then taken modulo period).
    Returns: the piecewise-linear interpolant at x, shaped like x. Raises ConcretizationError
    under jit when x or xp are staged (the bracket of each point must be known).

    Example:
        >>> import pullback as pb, pullback.numpy as np
        >>> float(pb.grad(lambda x: np.interp(x, [0.0, 1.0, 2.0], [0.0, 1.0, 4.0]))(1.5))
        3.0
    """
    if not traced(x, xp, fp, left, right, period):
        return _np.interp(x, xp, fp, left=left, right=right, period=period)
    x, xp, fp = asarray(x), asarray(xp), asarray(fp)
    if len(shape_of(xp)) != 1 or len(shape_of(fp)) != 1:
        raise ValueError("object too deep for desired array" if len(shape_of(xp)) > 1 else "fp and xp must be 1-D")
    if shape_of(xp) != shape_of(fp):
        raise ValueError("fp and xp are not of the same length.")
    if shape_of(xp)[0] == 0:
        raise ValueError("array of sample points is empty")
    out_kind = "c" if dtype_of(fp).kind == "c" else "f"
    dt = _np.result_type(dtype_of(fp), _np.float64) if out_kind == "c" else _np.float64
    x, xp, fp = astype(x, _np.float64), astype(xp, _np.float64), astype(fp, dt)
    if period is not None:
        if _np.asarray(full_lower(period)) == 0:
            raise ValueError("period must be a non-zero value")
        period = ew.absolute(asarray(period))
        per = _np.asarray(full_lower(period))
        x = ew.subtract(x, ew.multiply(period, _np.floor(_concrete(x, "interp") / per)))  # x mod period
        xp = ew.subtract(xp, ew.multiply(period, _np.floor(_concrete(xp, "interp") / per)))
        order = _np.argsort(_concrete(xp, "interp"), kind="stable")
        xp, fp = getitem(xp, order), getitem(fp, order)
        xp = concatenate([getitem(xp, slice(-1, None)) - period, xp, getitem(xp, slice(0, 1)) + period])
        fp = concatenate([getitem(fp, slice(-1, None)), fp, getitem(fp, slice(0, 1))])
        left = right = None
    xs, xps = _concrete(x, "interp"), _concrete(xp, "interp")
    n = xps.shape[0]
    if n == 1:
        y = ew.add(ew.multiply(x, 0.0), getitem(fp, 0))
    else:
        j = _np.clip(_np.searchsorted(xps, xs, side="right") - 1, 0, n - 2)
        x0, x1 = getitem(xp, j), getitem(xp, j + 1)
        y0, y1 = getitem(fp, j), getitem(fp, j + 1)
        slope = ew.divide(ew.subtract(y1, y0), ew.subtract(x1, x0))
        y = ew.add(y0, ew.multiply(slope, ew.subtract(x, x0)))
        y = where(xs == xps[-1], getitem(fp, n - 1), y)  # the right end point is a sample, exactly
    lo = getitem(fp, 0) if left is None else asarray(left)
    hi = getitem(fp, n - 1) if right is None else asarray(right)
    y = where(xs < xps[0], lo, y)
    y = where(xs > xps[-1], hi, y)
    nan = _np.isnan(xs)
    if nan.any():
        y = where(nan, _np.nan, y)
    return astype(y, dt) if dtype_of(y) != dt else y


# ----------------------------------------------------------------------------- polynomials


def polyval(p: Any, x: Any) -> Any:
    """numpy.polyval by Horner's rule, y = (…(p[0] x + p[1]) x + …) x + p[-1]; differentiable in p and x.

    Parameters: p (1-D coefficients, highest power first, or a numpy.poly1d), x (points).
    Returns: the polynomial at x, shaped like x.

    Example:
        >>> import pullback as pb, pullback.numpy as np
        >>> float(pb.grad(lambda x: np.polyval([1.0, 2.0, 3.0], x))(2.0))   # d/dx (x² + 2x + 3)
        6.0
    """
    if isinstance(p, _np.poly1d):
        p = p.coeffs
    if not traced(p, x):
        return _np.polyval(p, x)
    if isinstance(x, _np.poly1d):
        raise UnsupportedFunctionError("pullback.numpy.polyval(p, poly1d) with traced coefficients: compose the "
                                       "polynomials with numpy.poly1d on plain coefficients instead.")
    p, x = asarray(p), asarray(x)
    y = zeros_like(x) if dtype_of(x).kind in "fc" else _np.zeros(shape_of(x))
    n = shape_of(p)[0] if shape_of(p) else 0
    for k in range(n):
        y = ew.add(ew.multiply(y, x), p[k])
    return y


poly1d = _np.poly1d  # evaluation on traced points goes through numpy.polyval, dispatched to polyval above


# ----------------------------------------------------------------------------- histogram


def histogram(a: Any, bins: Any = 10, range: Any = None, density: Any = None, weights: Any = None) -> tuple:
    """numpy.histogram; the counts are constants, with weights the result is differentiable in them,
    and the bin edges are differentiable in the samples' extremes (or in traced edges given as bins).

    Parameters: a (samples), bins (a count, an array of edges or a NumPy bin rule such as "auto"),
    range ((lo, hi), default the samples' min and max), density, weights (shaped like a).
    Returns: (hist, bin_edges), hist[k] = Σ_{aᵢ in bin k} wᵢ (wᵢ = 1 without weights). Each sample's
    bin is piecewise constant in the samples and the edges, so it carries no derivative; equal-width
    edges are linspace(lo, hi, n + 1) with lo, hi = min(a), max(a) unless range is given.

    Example:
        >>> import numpy, pullback as pb, pullback.numpy as np
        >>> w = numpy.ones(4)
        >>> pb.grad(lambda w: np.histogram(numpy.arange(4.0), bins=2, weights=w)[0][1])(w)
        array([0., 0., 1., 1.])
    """
    if not traced(a, bins, range, weights):
        return _np.histogram(a, bins=bins, range=range, density=density, weights=weights)
    samples = _concrete(a, "histogram")
    given_edges = not isinstance(bins, (str, int, _np.integer))
    plain_edges = _np.histogram_bin_edges(samples, _concrete(bins, "histogram") if given_edges else bins,
                                          range=range)
    if given_edges:
        edges = bins  # the caller's (possibly traced) edges
    elif range is not None or not isinstance(a, Tracer) or samples.size == 0:
        edges = plain_edges
    else:  # equal-width bins between the (traced) extremes, NumPy's formula
        lo, hi = _min(a), _max(a)
        if plain_edges[0] != samples.min():  # all samples equal: NumPy widens by 0.5 on each side
            lo, hi = ew.subtract(lo, 0.5), ew.add(hi, 0.5)
        edges = linspace(lo, hi, len(plain_edges))
    flat = samples.ravel()
    k = _np.searchsorted(plain_edges, flat, side="right") - 1
    k[flat == plain_edges[-1]] = len(plain_edges) - 2  # the last bin is closed on the right
    inside = (flat >= plain_edges[0]) & (flat <= plain_edges[-1])
    if weights is None:
        hist = _np.bincount(k[inside], minlength=len(plain_edges) - 1)
    else:
        w = asarray(weights)
        if shape_of(w) != samples.shape:
            raise ValueError("weights should have the same shape as a.")
        hist = at(_np.zeros(len(plain_edges) - 1, dtype_of(w)))[k[inside]].add(ravel(w)[_np.nonzero(inside)[0]])
    if density:
        hist = ew.divide(ew.divide(hist, _sum(hist)), diff(edges) if isinstance(edges, Tracer)
                         else _np.diff(edges))
    return hist, edges


__all__ = [
    "c_", "can_cast", "common_type", "histogram", "interp", "min_scalar_type", "ndarray", "poly1d", "polyval",
    "r_", "result_type", "vectorize",
]
