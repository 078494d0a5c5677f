"""numpy.pad for traced arrays (part of the shape family).

The axes are padded one after the other, as NumPy does, so corners take the values of the
later axes. Each axis is a concatenation of the original with pieces built from slices of it:
constant (fills, differentiable in a traced fill value), edge (a broadcast edge), wrap (a
gather), reflect / symmetric (NumPy's own iteration, chunk by chunk, 'even' and 'odd'),
linear_ramp (linspace from the end value to the edge), maximum / minimum / mean / median
(statistics over stat_length values). 'empty' pads with zeros (NumPy leaves the values
unspecified); a callable mode, which fills an array in place, is not supported.
"""

from __future__ import annotations

import numpy as _np

from ..errors import UnsupportedFunctionError
from ..primitives import elementwise as ew
from ..primitives._util import dtype_of, shape_of
from . import _reductions as R
from ._creation import linspace
from ._helpers import along, traced
from ._quantiles import median
from ._shapes import _fresh, asarray, broadcast_to, concatenate, getitem, reshape
from ._ufuncs import astype

_ALLOWED = {
    "empty": (), "edge": (), "wrap": (), "constant": ("constant_values",), "linear_ramp": ("end_values",),
    "maximum": ("stat_length",), "mean": ("stat_length",), "median": ("stat_length",),
    "minimum": ("stat_length",), "reflect": ("reflect_type",), "symmetric": ("reflect_type",),
}


def _pad_widths(pad_width, nd: int) -> list:
    """pad_width in any of NumPy's forms (int, pair, per-axis pairs, dict) as [(before, after)] * nd."""
    if isinstance(pad_width, dict):
        seq = [(0, 0)] * nd
        for axis, width in pad_width.items():
            seq[axis] = (width, width) if isinstance(width, (int, _np.integer)) else tuple(width)
        pad_width = seq
    widths = _np.asarray(pad_width)
    if widths.dtype.kind not in "iu":
        raise TypeError("`pad_width` must be of integral type.")
    if widths.size == 1:
        widths = _np.broadcast_to(widths.ravel(), (nd, 2))
    elif widths.size == 2 and widths.shape != (2, 1):
        widths = _np.broadcast_to(widths.ravel(), (nd, 2))
    else:
        widths = _np.broadcast_to(widths, (nd, 2))
    if widths.size and widths.min() < 0:
        raise ValueError("index can't contain negative values")
    return [(int(b), int(a)) for b, a in widths]


def _value_pairs(values, nd: int) -> list:
    """constant_values / end_values as [(before, after)] * nd; traced values stay traced."""
    if not traced(values):
        arr = _np.asarray(values)
        if arr.size == 1:
            return [(arr.ravel()[0],) * 2] * nd
        if arr.size == 2 and arr.shape != (2, 1):
            return [tuple(arr.ravel())] * nd
        return [tuple(p) for p in _np.broadcast_to(arr, (nd, 2))]
    arr = asarray(values)
    size = int(_np.prod(shape_of(arr)))
    if size == 1:
        v = reshape(arr, ())
        return [(v, v)] * nd
    if size == 2 and shape_of(arr) != (2, 1):
        flat = reshape(arr, (2,))
        return [(getitem(flat, 0), getitem(flat, 1))] * nd
    arr = broadcast_to(arr, (nd, 2))
    return [(getitem(arr, (i, 0)), getitem(arr, (i, 1))) for i in range(nd)]


def _with(cur, axis: int, width: int) -> tuple:
    """cur's shape with `width` along axis."""
    shape = shape_of(cur)
    return shape[:axis] + (width,) + shape[axis + 1:]


def _filled(cur, axis: int, width: int, value):
    if traced(value):
        return broadcast_to(astype(value, dtype_of(cur)), _with(cur, axis, width))
    return _np.full(_with(cur, axis, width), value, dtype_of(cur))


def _reflect_axis(cur, axis, before, after, odd: bool, include_edge: bool, period: int):
    """NumPy's _set_reflect_both, repeated until both sides are filled (chunks of at most one period)."""
    while before > 0 or after > 0:
        n = shape_of(cur)[axis]
        if include_edge:
            old, edge_offset = n // period * period, 1
        else:
            old, edge_offset = (n - 1) // (period - 1) * (period - 1), 0
        pieces_left, pieces_right = [], []
        if before > 0:
            c = min(old, before)
            start = c - edge_offset
            chunk = getitem(cur, along(axis, slice(start, None if start - c < 0 else start - c, -1)))
            if odd:
                chunk = ew.subtract(ew.multiply(2, getitem(cur, along(axis, slice(0, 1)))), chunk)
            pieces_left, before = [chunk], before - c
        if after > 0:
            c = min(old, after)
            start = n - 2 + edge_offset
            chunk = getitem(cur, along(axis, slice(start, None if start - c < 0 else start - c, -1)))
            if odd:
                chunk = ew.subtract(ew.multiply(2, getitem(cur, along(axis, slice(n - 1, n)))), chunk)
            pieces_right, after = [chunk], after - c
        cur = concatenate(pieces_left + [cur] + pieces_right, axis=axis)
    return cur


def _stat_pieces(cur, axis, before, after, mode, length_pair):
    n = shape_of(cur)[axis]
    stats = []
    for side, length in zip(("left", "right"), length_pair, strict=False):
        length = n if length is None or length > n else int(length)
        if length == 0 and mode in ("maximum", "minimum"):
            raise ValueError("stat_length of 0 yields no value for padding")
        region = getitem(cur, along(axis, slice(0, length) if side == "left" else slice(n - length, n)))
        if mode == "median":
            stat = median(region, axis=axis, keepdims=True)
        else:
            stat = {"maximum": R.max, "minimum": R.min, "mean": R.mean}[mode](region, axis=axis, keepdims=True)
        if dtype_of(cur).kind in "iub":
            stat = astype(ew.NONDIFF_UNARY["rint"](stat), dtype_of(cur))
        elif dtype_of(stat) != dtype_of(cur):
            stat = astype(stat, dtype_of(cur))
        stats.append(stat)
    return stats


def _pad_axis(cur, axis, before, after, mode, opts, period):
    if before == 0 and after == 0:
        return cur
    n = shape_of(cur)[axis]
    if mode in ("constant", "empty"):
        left_value, right_value = opts
        return concatenate([_filled(cur, axis, before, left_value), cur, _filled(cur, axis, after, right_value)],
                           axis=axis)
    if mode == "edge" or (mode == "reflect" and period == 1):
        left = broadcast_to(getitem(cur, along(axis, slice(0, 1))), _with(cur, axis, before))
        right = broadcast_to(getitem(cur, along(axis, slice(n - 1, n))), _with(cur, axis, after))
        return concatenate([left, cur, right], axis=axis)
    if mode == "wrap":
        return getitem(cur, along(axis, _np.arange(-before, n + after) % n))
    if mode in ("reflect", "symmetric"):
        return _reflect_axis(cur, axis, before, after, opts == "odd", mode == "symmetric", period)
    if mode == "linear_ramp":
        ramps = []
        for width, end, edge_at, flip in ((before, opts[0], 0, False), (after, opts[1], n - 1, True)):
            edge = getitem(cur, along(axis, edge_at))
            ramp = linspace(end, edge, num=width, endpoint=False, dtype=dtype_of(cur), axis=axis)
            ramps.append(getitem(ramp, along(axis, slice(None, None, -1))) if flip else ramp)
        return concatenate([ramps[0], cur, ramps[1]], axis=axis)
    left, right = _stat_pieces(cur, axis, before, after, mode, opts)
    left, right = broadcast_to(left, _with(cur, axis, before)), broadcast_to(right, _with(cur, axis, after))
    return concatenate([left, cur, right], axis=axis)


def pad(array, pad_width, mode="constant", **kwargs):
    """numpy.pad: every mode but a callable one; pad_width as an int, a pair, per-axis pairs or a dict."""
    if not traced(array, *kwargs.values()):
        return _np.pad(array, pad_width, mode, **kwargs)
    if callable(mode):
        raise UnsupportedFunctionError(
            "pullback.numpy.pad with a callable mode: the function fills the array in place, which cannot be "
            "traced. Build the padding with pullback.numpy.concatenate instead.")
    if mode not in _ALLOWED:
        raise ValueError(f"mode '{mode}' is not supported")
    extra = set(kwargs) - set(_ALLOWED[mode])
    if extra:
        raise ValueError(f"unsupported keyword arguments for mode '{mode}': {extra}")
    array = asarray(array)
    nd = len(shape_of(array))
    widths = _pad_widths(pad_width, nd)
    size = int(_np.prod(shape_of(array)))
    if mode == "empty" or (size == 0 and mode != "constant"):
        for axis, (b, a) in enumerate(widths):
            if mode != "empty" and shape_of(array)[axis] == 0 and (b or a):
                raise ValueError(f"can't extend empty axis {axis} using modes other than 'constant' or 'empty'")
        mode, kwargs = "constant", {}
    if mode == "constant":
        per_axis = _value_pairs(kwargs.get("constant_values", 0), nd)
    elif mode == "linear_ramp":
        per_axis = _value_pairs(kwargs.get("end_values", 0), nd)
    elif mode in ("reflect", "symmetric"):
        per_axis = [kwargs.get("reflect_type", "even")] * nd
        if per_axis and per_axis[0] not in ("even", "odd"):
            raise ValueError(f"reflect_type must be 'even' or 'odd', not {per_axis[0]!r}")
    elif mode in ("maximum", "minimum", "mean", "median"):
        length = kwargs.get("stat_length")
        per_axis = [(None, None)] * nd if length is None else _pad_widths(length, nd)
    else:
        per_axis = [None] * nd
    cur = array
    for axis, ((b, a), opts) in enumerate(zip(widths, per_axis, strict=False)):
        cur = _pad_axis(cur, axis, b, a, mode, opts, shape_of(array)[axis])
    return _fresh(cur) if cur is array else cur


__all__ = ["pad"]
