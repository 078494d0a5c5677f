"""Splitting, tiling, repeating, flipping and rolling in pullback.numpy (part of the shape family).

Plain inputs go to NumPy's own function; traced inputs map onto slices (getitem), concatenate,
reshape and broadcast_to, whose transposes are slices, sums and add_at: all exact and linear.
A function that NumPy documents as returning a new array returns a new traced value too
(never the input object itself), so an in-place update of the result leaves the input alone.
"""

from __future__ import annotations

import operator

import numpy as _np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from ..core.backend import zeros_like_value
from ..core.trace import full_lower
from ..primitives import shape as sh
from ..primitives._util import dtype_of, shape_of
from ._helpers import along, numpy_value, traced
from ._shapes import (
    _fresh,
    asarray,
    broadcast_arrays,
    concatenate,
    expand_dims,
    getitem,
    moveaxis,
    ravel,
    reshape,
    stack,
    transpose,
)


def _concrete_int_array(x) -> _np.ndarray:
    return _np.asarray(full_lower(x) if traced(x) else x)


# ----------------------------------------------------------------------------- splitting


def array_split(ary, indices_or_sections, axis=0) -> list:
    """Pieces of ary along axis: N nearly equal sections, or the pieces between the given indices."""
    if not traced(ary):
        return _np.array_split(ary, indices_or_sections, axis)
    nd = len(shape_of(ary))
    ax = normalize_axis_index(axis, nd)
    n = shape_of(ary)[ax]
    if isinstance(indices_or_sections, (int, _np.integer)) or (
            _np.ndim(full_lower(indices_or_sections)) == 0 and not isinstance(indices_or_sections, (list, tuple))):
        sections = operator.index(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.")
        each, extras = divmod(n, sections)
        sizes = [0] + extras * [each + 1] + (sections - extras) * [each]
        points = _np.cumsum(sizes).tolist()
    else:
        points = [0] + [operator.index(i) for i in _concrete_int_array(indices_or_sections).tolist()] + [n]
    return [getitem(ary, along(ax, slice(points[i], points[i + 1]))) for i in range(len(points) - 1)]


def split(ary, indices_or_sections, axis=0) -> list:
    """Like array_split, but N sections must divide the axis exactly."""
    if not traced(ary):
        return _np.split(ary, indices_or_sections, axis)
    if isinstance(indices_or_sections, (int, _np.integer)):
        n = shape_of(ary)[normalize_axis_index(axis, len(shape_of(ary)))]
        if n % indices_or_sections:
            raise ValueError("array split does not result in an equal division")
    return array_split(ary, indices_or_sections, axis)


def hsplit(ary, indices_or_sections) -> list:
    if not traced(ary):
        return _np.hsplit(ary, indices_or_sections)
    if len(shape_of(ary)) == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return split(ary, indices_or_sections, 1 if len(shape_of(ary)) > 1 else 0)


def vsplit(ary, indices_or_sections) -> list:
    if not traced(ary):
        return _np.vsplit(ary, indices_or_sections)
    if len(shape_of(ary)) < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return split(ary, indices_or_sections, 0)


def dsplit(ary, indices_or_sections) -> list:
    if not traced(ary):
        return _np.dsplit(ary, indices_or_sections)
    if len(shape_of(ary)) < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return split(ary, indices_or_sections, 2)


def unstack(x, /, *, axis=0) -> tuple:
    """The slices of x along axis, as a tuple."""
    if not traced(x):
        return _np.unstack(x, axis=axis)
    ax = normalize_axis_index(axis, len(shape_of(x)))
    return tuple(getitem(x, along(ax, i)) for i in range(shape_of(x)[ax]))


# ----------------------------------------------------------------------------- joining


def append(arr, values, axis=None):
    """arr with values appended along axis (both flattened when axis is None)."""
    if not traced(arr, values):
        return _np.append(arr, values, axis)
    arr = asarray(arr)
    if axis is None:
        arr = ravel(arr) if len(shape_of(arr)) != 1 else arr
        values = ravel(asarray(values))
        axis = len(shape_of(arr)) - 1
    return concatenate((arr, values), axis=axis)


def _block_depth(x, path=()) -> tuple[int, int]:
    """(list depth, largest ndim of a leaf), checking that every leaf sits at the same depth."""
    if isinstance(x, tuple):
        raise TypeError(f"arrays is a tuple. Only lists can be used to arrange blocks, and np.block does "
                        f"not allow implicit conversion from tuple to ndarray. (at {list(path)})")
    if isinstance(x, list):
        if not x:
            raise ValueError(f"List at arrays{''.join(f'[{i}]' for i in path)} cannot be empty")
        found = [_block_depth(y, path + (i,)) for i, y in enumerate(x)]
        if len({d for d, _ in found}) != 1:
            raise ValueError("List depths are mismatched.")
        return found[0][0] + 1, max(n for _, n in found)
    return 0, len(shape_of(x))


def block(arrays):
    """Assemble an array from nested lists of blocks (innermost lists join along the last axis)."""
    if not traced(arrays):
        return _np.block(arrays)
    depth, leaf_ndim = _block_depth(arrays)
    nd = max(depth, leaf_ndim)

    def build(x, level):
        if isinstance(x, list):
            return concatenate([build(y, level + 1) for y in x], axis=-(depth - level))
        a = asarray(x)
        return reshape(a, (1,) * (nd - len(shape_of(a))) + shape_of(a))

    return build(arrays, 0)


# ----------------------------------------------------------------------------- tiling and repeating


def tile(A, reps):
    """A repeated reps times along each axis (by broadcasting, so the transpose is a sum)."""
    if not traced(A):
        return _np.tile(A, reps)
    reps = tuple(operator.index(r) for r in (reps if _np.iterable(reps) else (reps,)))
    A = asarray(A)
    s = shape_of(A)
    nd = max(len(s), len(reps))
    s = (1,) * (nd - len(s)) + s
    reps = (1,) * (nd - len(reps)) + reps
    if all(r == 1 for r in reps):
        r = reshape(A, s)
        return _fresh(r) if r is A else r
    interleaved = sum(((1, n) for n in s), ())
    tiled = sum(((r, n) for r, n in zip(reps, s, strict=False)), ())
    out = sh.broadcast_to(reshape(A, interleaved), shape=tiled)
    return reshape(out, tuple(r * n for r, n in zip(reps, s, strict=False)))


def repeat(a, repeats, axis=None):
    """Each element repeated; an array of repeats gathers (so the gradient sums the copies)."""
    if not traced(a):
        return _np.repeat(a, _concrete_int_array(repeats), axis)
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    s = shape_of(a)
    ax = normalize_axis_index(axis, len(s))
    reps = _concrete_int_array(repeats)
    source = _np.repeat(_np.arange(s[ax]), reps)  # NumPy checks the repeats (shape, sign, integer type)
    if reps.size == 1:
        r = int(reps.reshape(()))
        if r == 1:
            return _fresh(a)
        wide = sh.broadcast_to(expand_dims(a, ax + 1), shape=s[:ax + 1] + (r,) + s[ax + 1:])
        return reshape(wide, s[:ax] + (s[ax] * r,) + s[ax + 1:])
    return getitem(a, along(ax, source))


# ----------------------------------------------------------------------------- flipping and rolling


def flip(m, axis=None):
    """m reversed along the given axes (all by default)."""
    if not traced(m):
        return _np.flip(m, axis)
    nd = len(shape_of(m))
    axes = range(nd) if axis is None else normalize_axis_tuple(axis, nd)
    return getitem(m, tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(nd)))


def fliplr(m):
    if not traced(m):
        return _np.fliplr(m)
    if len(shape_of(m)) < 2:
        raise ValueError("Input must be >= 2-d.")
    return flip(m, 1)


def flipud(m):
    if not traced(m):
        return _np.flipud(m)
    if len(shape_of(m)) < 1:
        raise ValueError("Input must be >= 1-d.")
    return flip(m, 0)


def roll(a, shift, axis=None):
    """Elements shifted along axis, wrapping around: two slices joined again."""
    if not traced(a):
        return _np.roll(a, shift, axis)
    a = asarray(a)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), shape_of(a))
    s = shape_of(a)
    axes = normalize_axis_tuple(axis, len(s), allow_duplicate=True)
    total = {ax: 0 for ax in axes}
    for sft, ax in _np.broadcast(_concrete_int_array(shift), _np.asarray(axes)):
        total[int(ax)] += int(sft)
    out = a
    for ax, sft in total.items():
        n = s[ax]
        k = sft % n if n else 0
        if k:
            out = concatenate([getitem(out, along(ax, slice(n - k, None))), getitem(out, along(ax, slice(0, n - k)))],
                              axis=ax)
    return _fresh(out) if out is a else out


def rot90(m, k=1, axes=(0, 1)):
    """m rotated by 90° k times in the plane of axes (flips and a transpose, as NumPy does it)."""
    if not traced(m):
        return _np.rot90(m, k, axes)
    axes = tuple(axes)
    if len(axes) != 2:
        raise ValueError("len(axes) must be 2.")
    nd = len(shape_of(m))
    if axes[0] == axes[1] or abs(axes[0] - axes[1]) == nd:
        raise ValueError("Axes must be different.")
    if not (-nd <= axes[0] < nd and -nd <= axes[1] < nd):
        raise ValueError(f"Axes={axes} out of range for array of ndim={nd}.")
    k %= 4
    if k == 0:
        return getitem(m, slice(None))
    if k == 2:
        return flip(flip(m, axes[0]), axes[1])
    perm = list(range(nd))
    perm[axes[0]], perm[axes[1]] = perm[axes[1]], perm[axes[0]]
    return transpose(flip(m, axes[1]), perm) if k == 1 else flip(transpose(m, perm), axes[1])


def resize(a, new_shape):
    """a's elements, repeated cyclically, in an array of new_shape (numpy.resize)."""
    if not traced(a):
        return _np.resize(a, new_shape)
    new_shape = (operator.index(new_shape),) if isinstance(new_shape, (int, _np.integer)) else tuple(new_shape)
    if any(n < 0 for n in new_shape):
        raise ValueError("all elements of `new_shape` must be non-negative")
    a = ravel(asarray(a))
    size, new_size = shape_of(a)[0], int(_np.prod(new_shape, dtype=_np.int64))
    if size == 0 or new_size == 0:
        return zeros_like_value(new_shape, dtype_of(a), a)
    return reshape(getitem(tile(a, -(-new_size // size)), slice(0, new_size)), new_shape)


def trim_zeros(filt, trim="fb", axis=None):
    """filt without its leading / trailing zeros (read from its value) along the given axes."""
    if not traced(filt):
        return _np.trim_zeros(filt, trim, axis)
    value = numpy_value(full_lower(filt))
    trim = trim.lower()
    if trim not in {"fb", "bf", "f", "b"}:
        raise ValueError(f"unexpected character(s) in `trim`: {trim!r}")
    axes = tuple(range(value.ndim)) if axis is None else normalize_axis_tuple(axis, value.ndim, "axis")
    if not axes:
        return filt
    nonzero = _np.argwhere(value)
    if nonzero.size == 0:
        start = stop = _np.zeros(value.ndim, dtype=_np.intp)
    else:
        start, stop = nonzero.min(axis=0), nonzero.max(axis=0) + 1
        start = start if "f" in trim else (None,) * value.ndim
        stop = stop if "b" in trim else (None,) * value.ndim
    return getitem(filt, tuple(slice(start[d], stop[d]) if d in axes else slice(None) for d in range(value.ndim)))


# ----------------------------------------------------------------------------- applying functions


def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    """func1d applied to every 1-D slice of arr along axis; its results stacked where the axis was."""
    arr = asarray(arr)
    nd = len(shape_of(arr))
    axis = normalize_axis_index(axis, nd)
    along = _moveaxis_last(arr, axis)
    outer = shape_of(along)[:-1]
    if any(n == 0 for n in outer):
        raise ValueError("Cannot apply_along_axis when any iteration dimensions are 0")
    results = [asarray(func1d(getitem(along, ind), *args, **kwargs)) for ind in _np.ndindex(*outer)]
    res_shape = shape_of(results[0])
    buff = reshape(stack(results), outer + res_shape)
    k = len(res_shape)
    dims = list(range(len(outer) + k))
    return transpose(buff, dims[:axis] + dims[len(outer):] + dims[axis:len(outer)])


def _moveaxis_last(a, axis: int):
    return moveaxis(a, axis, -1)


def apply_over_axes(func, a, axes):
    """func(a, axis) applied over each axis in turn, keeping the reduced axes (numpy.apply_over_axes)."""
    val = asarray(a)
    nd = len(shape_of(val))
    for axis in _np.atleast_1d(axes).tolist():
        axis = axis + nd if axis < 0 else axis
        res = asarray(func(val, axis))
        if len(shape_of(res)) != len(shape_of(val)):
            res = expand_dims(res, axis)
            if len(shape_of(res)) != len(shape_of(val)):
                raise ValueError("function is not returning an array of the correct shape")
        val = res
    return val


# ----------------------------------------------------------------------------- grids


def meshgrid(*xi, copy=True, sparse=False, indexing="xy") -> tuple:
    """Coordinate arrays from coordinate vectors (a tuple, as NumPy 2 returns)."""
    if not traced(*xi):
        return _np.meshgrid(*xi, copy=copy, sparse=sparse, indexing=indexing)
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    nd = len(xi)
    ones = (1,) * nd
    out = [reshape(asarray(x), ones[:i] + (-1,) + ones[i + 1:]) for i, x in enumerate(xi)]
    if indexing == "xy" and nd > 1:
        out[0] = reshape(out[0], (1, -1) + ones[2:])
        out[1] = reshape(out[1], (-1, 1) + ones[2:])
    if not sparse:
        out = list(broadcast_arrays(*out))
    if copy:
        out = [_np.array(o) if isinstance(o, _np.ndarray) else o for o in out]
    return tuple(out)


__all__ = [
    'append', 'apply_along_axis', 'apply_over_axes', 'array_split', 'block', 'dsplit', 'flip', 'fliplr', 'flipud',
    'hsplit', 'meshgrid', 'repeat', 'resize', 'roll', 'rot90', 'split', 'tile', 'trim_zeros', 'unstack', 'vsplit',
]


def _repeat_method(self, repeats, axis=None):
    return repeat(self, repeats, axis)


METHODS: dict = {"repeat": _repeat_method}
