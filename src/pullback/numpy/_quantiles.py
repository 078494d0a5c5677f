"""Order statistics: median, percentile, quantile, and their NaN-ignoring versions.

Each reduced slice is sorted (differentiably, through the permutation), the order statistics the
method asks for are taken, and interpolated with NumPy's own formula
    lerp(a, b, γ) = a + (b − a)·γ   (b − (b − a)·(1 − γ) when γ ≥ ½).
Derivatives flow to the entries taken, with weights 1 − γ and γ, and, when q is traced, to q
through γ (∂/∂q = (b − a)·∂(virtual index)/∂q): all of NumPy's methods are supported, and for the
discontinuous ones (lower, higher, nearest, midpoint, inverted_cdf, averaged_inverted_cdf,
closest_observation) the derivative in q is zero, as the value is piecewise constant in q.
Ties: entries that tie share no derivative; each sorted position takes the derivative of the
entry the stable sort put there. median of an even count gives ½ to each middle entry.
q's value decides which entries are taken, so a traced q needs a concrete value (not under jit);
the NaN-ignoring versions also need the concrete positions of the NaNs. weights= (inverted_cdf
only) is supported on plain arrays, not on traced ones.
"""

from __future__ import annotations

import math
import warnings

import numpy as _np

from ..core.trace import Tracer
from ..errors import UnsupportedFunctionError
from ..primitives import elementwise as ew
from ..primitives._util import dtype_of, normalize_axis, shape_of
from . import _nanreductions
from . import _reductions as R
from ._helpers import check_kwargs, concrete, is_traced
from ._shapes import asarray, getitem, reshape, transpose
from ._sorting import sort
from ._ufuncs import astype

_NoValue = _np._NoValue
_isnan = ew.NONDIFF_UNARY["isnan"]

# Hyndman & Fan's continuous methods: (alpha, beta)
_CONTINUOUS = {
    "interpolated_inverted_cdf": (0, 1), "hazen": (0.5, 0.5), "weibull": (0, 0),
    "median_unbiased": (1 / 3.0, 1 / 3.0), "normal_unbiased": (3 / 8.0, 3 / 8.0),
}
_METHODS = ("inverted_cdf", "averaged_inverted_cdf", "closest_observation", "interpolated_inverted_cdf", "hazen",
            "weibull", "linear", "median_unbiased", "normal_unbiased", "lower", "higher", "midpoint", "nearest")


# ----------------------------------------------------------------------------- NumPy's index arithmetic


def _virtual_index(method: str, n, q):
    """The (float) position of quantile q among n sorted values; written with pullback operations, so that
    it serves a plain q (NumPy's exact arithmetic) and a traced one (its derivative) alike."""
    if method == "linear":
        return ew.multiply(n - 1, q)  # n is a Python int or a plain array: n − 1 keeps its weak typing
    if method == "averaged_inverted_cdf":
        return ew.subtract(ew.multiply(n, q), 1)
    alpha, beta = _CONTINUOUS[method]
    return ew.subtract(ew.add(ew.multiply(n, q), ew.add(alpha, ew.multiply(q, 1 - alpha - beta))), 1)


def _to_boundary(index, take_previous):
    previous = _np.floor(index)
    gamma = index - previous
    return _np.maximum(_np.where(take_previous(gamma, index), previous, previous + 1).astype(_np.intp), 0)


def _discrete_index(method: str, n, q):
    """Integer positions for the methods that pick one order statistic (None for the interpolating ones)."""
    if method == "lower":
        return _np.floor((n - 1) * q).astype(_np.intp)
    if method == "higher":
        return _np.ceil((n - 1) * q).astype(_np.intp)
    if method == "nearest":
        return _np.around((n - 1) * q).astype(_np.intp)
    if method == "inverted_cdf":
        return _to_boundary(_np.asarray(n * q - 1), lambda g, i: g == 0)
    if method == "closest_observation":
        return _to_boundary(_np.asarray(n * q - 1 - 0.5), lambda g, i: (g == 0) & (_np.floor(i) % 2 == 1))
    return None


def _plain_virtual_index(method: str, n, q):
    if method == "midpoint":
        return 0.5 * (_np.floor((n - 1) * q) + _np.ceil((n - 1) * q))
    return _np.asarray(_virtual_index(method, n, q))


def _neighbours(virtual, n):
    """NumPy's _get_indexes: the positions below and above each virtual index, clipped to the data."""
    previous = _np.array(_np.floor(virtual))
    following = _np.array(previous + 1)
    above = virtual >= n - 1
    previous[above] = -1
    following[above] = -1
    below = virtual < 0
    previous[below] = 0
    following[below] = 0
    return previous.astype(_np.intp), following.astype(_np.intp)


def _fixed_gamma(method, gamma, virtual):
    if method == "averaged_inverted_cdf":
        return _np.where(gamma == 0, 0.5, 1.0)
    if method == "midpoint":
        return _np.where(virtual % 1 == 0, 0.0, 0.5)
    return gamma


def _lerp(a, b, t, precision=None):
    """NumPy's _lerp: a + (b − a)·t, or b − (b − a)·(1 − t) where t ≥ ½ (exact at both ends).

    A weakly typed t (a Python-scalar q) computes in the data's `precision`, as NumPy's Python floats do.
    """
    diff = ew.subtract(b, a)
    if isinstance(t, float):
        return ew.subtract(b, ew.multiply(diff, 1 - t)) if t >= 0.5 else ew.add(a, ew.multiply(diff, t))
    upper = ew.greater_equal(t, 0.5)
    rest = ew.subtract(1, t)
    if precision is not None:
        t, rest = t.astype(precision), rest.astype(precision)
    low = ew.add(a, ew.multiply(diff, t))
    high = ew.subtract(b, ew.multiply(diff, rest))
    return ew.select(upper, high, low)


# ----------------------------------------------------------------------------- the common core


def _to_front(a, axis):
    """a with its reduced axes merged into one leading axis: (array of shape (m, *kept), kept shape, reduced)."""
    shape = shape_of(a)
    nd = len(shape)
    reduced = tuple(range(nd)) if axis is None else normalize_axis(axis, nd)
    kept = tuple(i for i in range(nd) if i not in reduced)
    order = reduced + kept
    if order != tuple(range(nd)):
        a = transpose(a, order)
    kept_shape = tuple(shape[i] for i in kept)
    m = math.prod(shape[i] for i in reduced)
    return reshape(a, (m,) + kept_shape), kept_shape, reduced


def _with_kept_dims(r, lead: tuple, a_shape: tuple, reduced: tuple, keepdims: bool):
    if not keepdims:
        return r
    return reshape(r, lead + tuple(1 if i in reduced else n for i, n in enumerate(a_shape)))


def _take(arr, idx, count):
    """arr[idx] along the leading axis: idx of q's shape (one count), or of q's shape + kept (a count per lane,
    where −1 means the lane's last number)."""
    if isinstance(count, int):
        return getitem(arr, idx)
    kept = shape_of(arr)[1:]
    lead = idx.ndim - len(kept)
    idx = _np.where(idx < 0, idx + count, idx)
    grids = tuple(_np.arange(n).reshape((1,) * (lead + k) + (n,) + (1,) * (len(kept) - k - 1))
                  for k, n in enumerate(kept))
    return getitem(arr, (idx,) + grids)


def _quantile_of_sorted(arr, q, method: str, weak_q: bool, count):
    """Quantiles q of arr, sorted along its leading axis (NaNs last), with `count` numbers per lane (an int, or
    an int array of the kept shape). The result has shape q.shape + kept."""
    q_value = _np.asarray(concrete(q))
    kept = shape_of(arr)[1:]
    per_lane = not isinstance(count, int)
    lane_count = count
    if per_lane:  # positions of shape q.shape + kept
        lanes = (1,) * len(kept)
        lane_count = _np.reshape(count, (1,) * q_value.ndim + kept)
        count = lane_count.astype(q_value.dtype) if q_value.dtype.kind == "f" else lane_count
        q_value = q_value.reshape(q_value.shape + lanes)
        if isinstance(q, Tracer):
            q = reshape(q, shape_of(q) + lanes)
    index = _discrete_index(method, count, q_value)
    if index is None:
        virtual = _plain_virtual_index(method, count, q_value)
        if virtual.dtype.kind in "iu" and method == "linear":
            index = virtual
    if index is not None:
        return _take(arr, index, lane_count)
    previous, following = _neighbours(virtual, count)
    gamma = _np.asarray(_fixed_gamma(method, _np.asarray(virtual - previous), virtual), dtype=virtual.dtype)
    if isinstance(q, Tracer) and (method == "linear" or method in _CONTINUOUS):
        gamma = ew.subtract(_virtual_index(method, count, q), previous)
        gamma = astype(gamma, virtual.dtype) if dtype_of(gamma) != virtual.dtype else gamma
    precision = None
    if weak_q and not per_lane:
        gamma = float(gamma)
    elif weak_q:  # a Python-scalar q is weakly typed: γ takes the data's precision, per lane as NumPy's
        precision = _np.result_type(dtype_of(arr), 1.0)
    elif not per_lane and kept:
        gamma = reshape(gamma, shape_of(gamma) + (1,) * len(kept))
    return _lerp(_take(arr, previous, lane_count), _take(arr, following, lane_count), gamma, precision)


def _validated_q(q, name: str, scale: float):
    """(q in [0, 1], whether q is a weakly typed Python scalar), with NumPy's checks."""
    weak = type(q) in (int, float)
    if scale != 1:
        q = ew.divide(q, scale) if is_traced(q) else _np.true_divide(q, scale)
    elif not is_traced(q):
        q = _np.asanyarray(q)
    value = _np.asarray(concrete(q))
    if not _np.all((value >= 0) & (value <= 1)):
        raise ValueError("Percentiles must be in the range [0, 100]" if name.endswith("percentile")
                         else "Quantiles must be in the range [0, 1]")
    if value.ndim > 2:
        raise ValueError("q must be a scalar or 1d")
    return q, weak


def _check_method(method):
    if method not in _METHODS:
        raise ValueError(f"{method!r} is not a valid method. Use one of: {_METHODS}")


def _quantile(name, a, q, axis, out, method, keepdims, weights, scale, nan_aware):
    check_kwargs(name, out)
    np_fn = getattr(_np, name)
    if not is_traced(a, q, weights):
        kw = {} if keepdims is _NoValue else {"keepdims": keepdims}
        return np_fn(a, q, axis=axis, method=method, weights=weights, **kw)
    if weights is not None:
        raise UnsupportedFunctionError(
            f"pullback.numpy.{name}(..., weights=...) on traced values is not supported; "
            "use method='inverted_cdf' without weights, or pass plain arrays.")
    a = asarray(a)
    if dtype_of(a).kind == "c":
        raise TypeError("a must be an array of real numbers")
    _check_method(method)
    q, weak = _validated_q(q, name, scale)
    if nan_aware and not math.prod(shape_of(a)):
        return _nanreductions.nanmean(a, axis, keepdims=keepdims)
    arr, kept, reduced = _to_front(a, axis)
    arr = sort(arr, axis=0)
    count, lanes_nan = _numbers_per_lane(arr, nan_aware)
    r = _quantile_of_sorted(arr, q, method, weak, count)
    r = _nan_lanes(r, arr, lanes_nan, nan_aware)
    return _with_kept_dims(r, tuple(shape_of(q)), shape_of(a), reduced, R._keep(keepdims))


def _numbers_per_lane(arr, nan_aware):
    """(count, NaN-lanes mask or None): m for every lane, or, ignoring NaNs, each lane's number of numbers."""
    m = shape_of(arr)[0]
    if dtype_of(arr).kind not in "fc":
        return m, None
    if not nan_aware:
        return m, _isnan(getitem(arr, -1)) if m else None
    numbers = m - _np.sum(_np.isnan(concrete(arr)), axis=0)
    return numbers, numbers == 0


def _nan_lanes(r, arr, lanes, nan_aware):
    if lanes is None:
        return r
    if nan_aware:
        for _ in range(int(_np.count_nonzero(lanes))):
            warnings.warn("All-NaN slice encountered", RuntimeWarning, stacklevel=4)
    return ew.select(lanes, _np.nan, r)


# ----------------------------------------------------------------------------- public functions


def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *, weights=None):
    """q-th quantiles of a over axis, by any of NumPy's methods; differentiable in a and (through the
    interpolation weight) in q. See this module's docstring for ties and the discontinuous methods."""
    return _quantile("quantile", a, q, axis, out, method, keepdims, weights, 1, False)


def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *,
               weights=None):
    """q-th percentiles (q in [0, 100]) of a over axis; quantile(a, q / 100)."""
    return _quantile("percentile", a, q, axis, out, method, keepdims, weights, 100, False)


def nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=_NoValue, *,
                weights=None):
    """quantile ignoring NaNs; an all-NaN slice gives NaN and a RuntimeWarning."""
    return _quantile("nanquantile", a, q, axis, out, method, keepdims, weights, 1, True)


def nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=_NoValue, *,
                  weights=None):
    """percentile ignoring NaNs; an all-NaN slice gives NaN and a RuntimeWarning."""
    return _quantile("nanpercentile", a, q, axis, out, method, keepdims, weights, 100, True)


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """Median over axis: the middle entry, or the mean of the two middle entries (½ of the derivative each).
    A slice holding a NaN gives NaN."""
    check_kwargs("median", out)
    if not is_traced(a):
        return _np.median(a, axis=axis, overwrite_input=False, keepdims=keepdims)
    a = asarray(a)
    arr, kept, reduced = _to_front(a, axis)
    m = shape_of(arr)[0]
    arr = sort(arr, axis=0)
    half = m // 2
    middle = getitem(arr, slice(half, half + 1) if m % 2 else slice(half - 1, half + 1))
    r = R.mean(middle, axis=0)
    if m and dtype_of(arr).kind in "fc":
        r = ew.select(_isnan(getitem(arr, -1)), _np.nan, r)
    return _with_kept_dims(r, (), shape_of(a), reduced, bool(keepdims))


def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=_NoValue):
    """Median ignoring NaNs; an all-NaN slice gives NaN and a RuntimeWarning."""
    check_kwargs("nanmedian", out)
    if not is_traced(a):
        kw = {} if keepdims is _NoValue else {"keepdims": keepdims}
        return _np.nanmedian(a, axis=axis, **kw)
    a = asarray(a)
    if dtype_of(a).kind not in "fc":
        return median(a, axis=axis, keepdims=R._keep(keepdims))
    if not math.prod(shape_of(a)):
        return _nanreductions.nanmean(a, axis, keepdims=keepdims)
    arr, kept, reduced = _to_front(a, axis)
    arr = sort(arr, axis=0)
    count, lanes_nan = _numbers_per_lane(arr, True)
    low = _take(arr, _np.maximum((count - 1) // 2, 0), count)
    high = _take(arr, count // 2, count)
    both = ew.divide(ew.add(low, high), 2.0)
    r = _nan_lanes(ew.select(count % 2 == 1, low, both), arr, lanes_nan, True)
    return _with_kept_dims(r, (), shape_of(a), reduced, R._keep(keepdims))


__all__ = ['median', 'nanmedian', 'nanpercentile', 'nanquantile', 'percentile', 'quantile']
