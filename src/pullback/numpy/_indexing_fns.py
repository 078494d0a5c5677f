"""Index-based functions of pullback.numpy: take, choose, select, piecewise, triangles, diagonals,
delete / insert, and NumPy's in-place writers (put, put_along_axis, place, putmask, copyto,
fill_diagonal) on traced arrays. Gathers are getitem (whose transpose accumulates repeated
indices); writes are the scatter updates of _indexing.
"""

from __future__ import annotations

import numpy as _np
from numpy.lib.array_utils import normalize_axis_index

from ..core.trace import Tracer, full_lower
from ..primitives import elementwise as ew
from ..primitives._util import dtype_of, result_dtype, shape_of
from ._helpers import along, check_kwargs, method, traced
from ._indexing import _assign, _concrete, _update, at
from ._shapes import asarray, broadcast_to, getitem, is_dynamic, moveaxis, ravel, reshape
from ._ufuncs import astype


def _integer_indices(indices, what="indices") -> _np.ndarray:
    ind = _concrete(indices)
    if ind.dtype.kind not in "iub":
        raise IndexError(f"{what} must be integers, not {ind.dtype}")
    return ind.astype(_np.intp) if ind.dtype.kind == "b" else ind


def _wrap_mode(ind, n: int, mode: str) -> _np.ndarray:
    if mode == "wrap":
        return ind % n if n else ind
    if mode == "clip":
        return _np.clip(ind, 0, max(n - 1, 0))
    if mode != "raise":
        raise ValueError(f"clipmode must be one of 'clip', 'raise', or 'wrap' (got {mode!r})")
    return ind


# ----------------------------------------------------------------------------- gathers


def take(a, indices, axis=None, out=None, mode="raise"):
    """Elements of a at indices along axis (of the flattened a when axis is None)."""
    check_kwargs("take", out)
    if mode == "raise" and is_dynamic(indices) and dtype_of(indices).kind in "iu":  # a staged index: gathered
        a, ax = (ravel(a), 0) if axis is None else (a, normalize_axis_index(axis, len(shape_of(a))))
        if ax == 0 or not shape_of(indices):
            return getitem(a, indices if ax == 0 else along(ax, indices))
    if not traced(a):
        return _np.take(a, _concrete(indices), axis=axis, mode=mode)
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    ax = normalize_axis_index(axis, len(shape_of(a)))
    ind = _wrap_mode(_integer_indices(indices), shape_of(a)[ax], mode)
    return at(a)[along(ax, ind)].get()


def take_along_axis(arr, indices, axis=-1):
    """arr[..., indices, ...] matched element by element along axis (numpy.take_along_axis)."""
    if not traced(arr):
        return _np.take_along_axis(arr, _concrete(indices), axis=axis)
    return at(arr)[_along_axis_index(arr, indices, axis)].get()


def _along_axis_index(arr, indices, axis):
    ind = _integer_indices(indices, "`indices`")
    if axis is None:
        if ind.ndim != 1:
            raise ValueError("when axis=None, `indices` must have a single dimension.")
        return (ind,) if len(shape_of(arr)) == 1 else _flat_index(arr, ind)
    nd = len(shape_of(arr))
    ax = normalize_axis_index(axis, nd)
    if ind.ndim != nd:
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    fancy = []
    for d, n in enumerate(shape_of(arr)):
        if d == ax:
            fancy.append(ind)
        else:
            fancy.append(_np.arange(n).reshape((1,) * d + (-1,) + (1,) * (nd - d - 1)))
    return tuple(fancy)


def _flat_index(arr, ind):
    return _np.unravel_index(ind % max(int(_np.prod(shape_of(arr))), 1), shape_of(arr))


def choose(a, choices, out=None, mode="raise"):
    """choices[a[i]][i] for every i (choices broadcast against a)."""
    check_kwargs("choose", out)
    if not traced(choices):
        return _np.choose(_concrete(a), choices, mode=mode)
    ind = _integer_indices(a, "index array")
    ind = _wrap_mode(ind, len(choices), mode)
    if mode == "raise" and ind.size and (ind.min() < 0 or ind.max() >= len(choices)):
        raise ValueError("invalid entry in choice array")
    choices = [asarray(c) for c in choices]
    dtype = result_dtype(*choices)
    result = astype(choices[-1], dtype)
    for j in range(len(choices) - 2, -1, -1):
        result = ew.select(ind == j, astype(choices[j], dtype), result)
    return broadcast_to(result, _np.broadcast_shapes(ind.shape, *[shape_of(c) for c in choices]))


def compress(condition, a, axis=None, out=None):
    """The slices of a along axis where condition is true."""
    check_kwargs("compress", out)
    if not traced(a):
        return _np.compress(_concrete(condition), a, axis=axis)
    cond = _concrete(condition)
    if cond.ndim != 1:
        raise ValueError("condition must be a 1-d array")
    return take(a, _np.flatnonzero(cond), axis=axis)


def extract(condition, arr):
    """The elements of arr where condition is true, flattened."""
    if not traced(arr):
        return _np.extract(_concrete(condition), arr)
    return take(ravel(arr), _np.flatnonzero(ravel(_concrete(condition))))


def select(condlist, choicelist, default=0):
    """choicelist[k] where condlist[k] is the first true condition, else default."""
    if not traced(choicelist, default):
        return _np.select([_concrete(c) for c in condlist], choicelist, default)
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if not condlist:
        raise ValueError("select with an empty condition list is not possible")
    choices = [c if type(c) in (int, float, complex) else asarray(c) for c in choicelist]
    default = default if type(default) in (int, float, complex) else asarray(default)
    dtype = result_dtype(*choices, default)
    for i, cond in enumerate(condlist):
        if dtype_of(cond) != _np.bool_:
            raise TypeError(f"invalid entry {i} in condlist: should be boolean ndarray")
    result = astype(asarray(default), dtype)
    for cond, choice in zip(condlist[::-1], choices[::-1], strict=False):
        result = ew.select(cond, astype(asarray(choice), dtype), result)
    shape = _np.broadcast_shapes(*[shape_of(c) for c in condlist], *[shape_of(c) for c in choices],
                                 shape_of(default))
    return broadcast_to(result, shape)


def piecewise(x, condlist, funclist, *args, **kw):
    """numpy.piecewise: each function applied to the elements its condition selects (only those)."""
    x = asarray(x)
    n2 = len(funclist)
    if _np.isscalar(condlist) or (not (isinstance(condlist[0], (list, _np.ndarray)) or traced(condlist[0]))
                                   and len(shape_of(x)) != 0):
        condlist = [condlist]
    conds = _np.asarray([_concrete(c) for c in condlist], dtype=bool)
    n = len(conds)
    if n == n2 - 1:
        conds = _np.concatenate([conds, ~_np.any(conds, axis=0, keepdims=True)], axis=0)
        n += 1
    elif n != n2:
        raise ValueError(f"with {n} condition(s), either {n} or {n + 1} functions are expected")
    y = _np.zeros(shape_of(x), dtype_of(x))
    for cond, func in zip(conds, funclist, strict=False):
        if not callable(func):
            y = at(y)[cond].set(func)
        else:
            vals = at(x)[cond].get()
            if _np.prod(shape_of(vals)) > 0:
                y = at(y)[cond].set(func(vals, *args, **kw))
    return y


# ----------------------------------------------------------------------------- triangles and diagonals


def triu(m, k=0):
    """m with the entries below the k-th diagonal zeroed (on the last two axes)."""
    if not traced(m):
        return _np.triu(m, k)
    m = asarray(m)
    mask = _np.tri(*shape_of(m)[-2:], k=k - 1, dtype=bool)
    return ew.select(mask, _np.zeros((), dtype_of(m)), m)


def tril(m, k=0):
    """m with the entries above the k-th diagonal zeroed (on the last two axes)."""
    if not traced(m):
        return _np.tril(m, k)
    m = asarray(m)
    mask = _np.tri(*shape_of(m)[-2:], k=k, dtype=bool)
    return ew.select(mask, m, _np.zeros((), dtype_of(m)))


def _diagonal_positions(n1: int, n2: int, offset: int):
    if offset >= 0:
        k = max(0, min(n1, n2 - offset))
        return _np.arange(k), _np.arange(k) + offset
    k = max(0, min(n1 + offset, n2))
    return _np.arange(k) - offset, _np.arange(k)


def diagonal(a, offset=0, axis1=0, axis2=1):
    """The offset-th diagonal of the (axis1, axis2) planes, as a new last axis."""
    if not traced(a):
        return _np.diagonal(a, offset, axis1, axis2)
    a = asarray(a)
    nd = len(shape_of(a))
    if nd < 2:
        raise ValueError("diag requires an array of at least two dimensions")
    ax1, ax2 = normalize_axis_index(axis1, nd), normalize_axis_index(axis2, nd)
    if ax1 == ax2:
        raise ValueError("axis1 and axis2 cannot be the same")
    rows, cols = _diagonal_positions(shape_of(a)[ax1], shape_of(a)[ax2], int(offset))
    return at(moveaxis(a, (ax1, ax2), (-2, -1)))[..., rows, cols].get()


def diag(v, k=0):
    """The k-th diagonal of a 2-D v, or a square matrix with 1-D v on its k-th diagonal."""
    if not traced(v):
        return _np.diag(v, k)
    v = asarray(v)
    nd = len(shape_of(v))
    if nd == 2:
        return diagonal(v, k)
    if nd != 1:
        raise ValueError("Input must be 1- or 2-d.")
    n = shape_of(v)[0] + abs(int(k))
    return at(_np.zeros((n, n), dtype_of(v)))[_diagonal_positions(n, n, int(k))].set(v)


def diagflat(v, k=0):
    """A square matrix with the flattened v on its k-th diagonal."""
    if not traced(v):
        return _np.diagflat(v, k)
    return diag(ravel(v), k)


# ----------------------------------------------------------------------------- delete / insert


def delete(arr, obj, axis=None):
    """arr without the entries obj selects along axis (of the flattened arr when axis is None)."""
    if not traced(arr):
        return _np.delete(arr, obj if isinstance(obj, slice) else _concrete(obj), axis)
    arr = asarray(arr)
    if axis is None:
        arr, axis = (ravel(arr) if len(shape_of(arr)) != 1 else arr), 0
    ax = normalize_axis_index(axis, len(shape_of(arr)))
    n = shape_of(arr)[ax]
    keep = _np.ones(n, bool)
    if isinstance(obj, slice):
        keep[obj] = False
    else:
        o = _concrete(obj)
        if o.dtype == bool:
            if o.shape != (n,):
                raise ValueError(f"boolean array argument obj to delete must be one dimensional and match the "
                                 f"axis length of {n}")
            keep = ~o
        else:
            keep[o.astype(_np.intp) if o.size == 0 else o] = False
    return at(arr)[along(ax, _np.flatnonzero(keep))].get()


def insert(arr, obj, values, axis=None):
    """arr with values inserted before the given indices (NumPy's algorithm, as functional updates)."""
    if not traced(arr, values):
        return _np.insert(arr, obj if isinstance(obj, slice) else _concrete(obj), values, axis)
    arr = asarray(arr)
    if axis is None:
        arr, axis = (ravel(arr) if len(shape_of(arr)) != 1 else arr), 0
    nd = len(shape_of(arr))
    ax = normalize_axis_index(axis, nd)
    n = shape_of(arr)[ax]
    new_shape = list(shape_of(arr))
    if isinstance(obj, slice):
        indices = _np.arange(*obj.indices(n), dtype=_np.intp)
    else:
        indices = _np.array(_concrete(obj))
        if indices.dtype == bool:
            if indices.ndim != 1:
                raise ValueError("boolean array argument obj to insert must be one dimensional")
            indices = _np.flatnonzero(indices)
        elif indices.ndim > 1:
            raise ValueError("index array argument obj to insert must be one dimensional or scalar")
    values = asarray(values)
    if indices.size == 1:
        index = int(indices.reshape(()))
        if index < -n or index > n:
            raise IndexError(f"index {obj} is out of bounds for axis {ax} with size {n}")
        index += n if index < 0 else 0
        while len(shape_of(values)) < nd:
            values = reshape(values, (1,) + shape_of(values))
        if indices.ndim == 0:
            values = moveaxis(values, 0, ax)
        numnew = shape_of(values)[ax]
        new_shape[ax] += numnew
        new = _np.zeros(new_shape, dtype_of(arr))
        new = at(new)[along(ax, slice(None, index))].set(at(arr)[along(ax, slice(None, index))].get())
        new = at(new)[along(ax, slice(index, index + numnew))].set(values)
        return at(new)[along(ax, slice(index + numnew, None))].set(at(arr)[along(ax, slice(index, None))].get())
    if indices.size == 0 and not isinstance(obj, _np.ndarray):
        indices = indices.astype(_np.intp)
    indices = _np.where(indices < 0, indices + n, indices)
    numnew = len(indices)
    order = indices.argsort(kind="mergesort")
    indices[order] += _np.arange(numnew)
    new_shape[ax] += numnew
    old_mask = _np.ones(new_shape[ax], dtype=bool)
    old_mask[indices] = False
    new = at(_np.zeros(new_shape, dtype_of(arr)))[along(ax, indices)].set(values)
    return at(new)[along(ax, old_mask)].set(arr)


# ----------------------------------------------------------------------------- NumPy's in-place writers


def put(a, ind, v, mode="raise") -> None:
    """a.flat[ind] = v in place (v repeated as needed); a traced a is rebound to the result."""
    if not traced(a, v):
        return _np.put(a, _concrete(ind), v, mode=mode)
    ind = _integer_indices(ind).ravel()
    size = int(_np.prod(shape_of(a)))
    ind = _wrap_mode(ind, size, mode)
    vals = ravel(asarray(v))
    if ind.size:
        if _np.prod(shape_of(vals)) == 0:
            return None
        vals = at(vals)[_np.arange(ind.size) % shape_of(vals)[0]].get()
    flat = at(ravel(a))[ind].set(vals)
    _assign(a, reshape(flat, shape_of(a)), "numpy.put")
    return None


def put_along_axis(arr, indices, values, axis) -> None:
    """arr[..., indices, ...] = values along axis, in place; a traced arr is rebound to the result."""
    if not traced(arr, values):
        return _np.put_along_axis(arr, _concrete(indices), values, axis)
    if axis is None:
        new = reshape(at(ravel(arr))[_integer_indices(indices)].set(values), shape_of(arr))
    else:
        new = _update(arr, _along_axis_index(arr, indices, axis), values, "set")
    _assign(arr, new, "numpy.put_along_axis")
    return None


def place(arr, mask, vals) -> None:
    """arr[mask] = vals in place, vals repeated as needed; a traced arr is rebound to the result."""
    if not traced(arr, vals):
        return _np.place(arr, _concrete(mask), vals)
    m = _concrete(mask).astype(bool)
    count = int(m.sum())
    vals = ravel(asarray(vals))
    if count and _np.prod(shape_of(vals)) == 0:
        raise ValueError("Cannot insert from an empty array!")
    if count:
        vals = at(vals)[_np.arange(count) % shape_of(vals)[0]].get()
        _assign(arr, at(arr)[m.reshape(shape_of(arr))].set(vals), "numpy.place")
    return None


def putmask(a, /, mask, values) -> None:
    """a.flat[n] = values.flat[n % values.size] where mask is true, in place."""
    if not traced(a, values):
        return _np.putmask(a, _concrete(mask), values)
    m = _concrete(mask)
    size = int(_np.prod(shape_of(a)))
    vals = ravel(asarray(values))
    if size and _np.prod(shape_of(vals)):
        vals = reshape(at(vals)[_np.arange(size) % shape_of(vals)[0]].get(), shape_of(a))
        _assign(a, ew.select(m.reshape(shape_of(a)), astype(vals, dtype_of(a)), a), "numpy.putmask")
    return None


def copyto(dst, src, casting="same_kind", where=True) -> None:
    """dst[...] = src (where `where` is true), in place; a traced dst is rebound to the result."""
    if not traced(dst, src):
        return _np.copyto(dst, src, casting=casting, where=_concrete(where))
    src = asarray(src)
    if not _np.can_cast(dtype_of(src), dtype_of(dst), casting):
        raise TypeError(f"Cannot cast array data from {dtype_of(src)!r} to {dtype_of(dst)!r} according to the "
                        f"rule {casting!r}")
    new = broadcast_to(astype(src, dtype_of(dst)), shape_of(dst))
    if where is not True:
        new = ew.select(where, new, dst)
    _assign(dst, new, "numpy.copyto")
    return None


def fill_diagonal(a, val, wrap=False) -> None:
    """The main diagonal of a set to val (repeated as needed), in place."""
    if not traced(a, val):
        return _np.fill_diagonal(a, val, wrap)
    s = shape_of(a)
    if len(s) < 2:
        raise ValueError("array must be at least 2-d")
    if len(s) == 2:
        step, end = s[1] + 1, (None if wrap else s[1] * s[1])
    else:
        if len(set(s)) != 1:
            raise ValueError("All dimensions of input must be of equal length")
        step, end = 1 + int(_np.cumprod(s[:-1]).sum()), None
    pos = _np.arange(int(_np.prod(s)))[:end:step]
    vals = ravel(asarray(val))
    if pos.size and _np.prod(shape_of(vals)):
        vals = at(vals)[_np.arange(pos.size) % shape_of(vals)[0]].get()
        _assign(a, reshape(at(ravel(a))[pos].set(vals), s), "numpy.fill_diagonal")
    return None


def _fill(self, value) -> None:
    """ndarray.fill: every entry set to value, in place."""
    _assign(self, broadcast_to(astype(asarray(value), dtype_of(self)), shape_of(self)), "ndarray.fill")


# ----------------------------------------------------------------------------- indices (no derivative)


def nonzero(a):
    """Indices of the nonzero entries (plain integer arrays; a traced a is read as a value)."""
    return _np.nonzero(full_lower(a))


def flatnonzero(a):
    return _np.flatnonzero(full_lower(a))


def argwhere(a):
    return _np.argwhere(full_lower(a))


def ix_(*args) -> tuple:
    """numpy.ix_ on the (integer or boolean) values of the arguments: open-mesh index arrays."""
    return _np.ix_(*[_concrete(a) for a in args])


def ravel_multi_index(multi_index, dims, mode="raise", order="C"):
    return _np.ravel_multi_index(tuple(_concrete(i) for i in multi_index), dims, mode=mode, order=order)


def unravel_index(indices, shape, order="C"):
    return _np.unravel_index(_concrete(indices), shape, order=order)


def diag_indices_from(arr) -> tuple:
    """Indices of the main diagonal of an n-d array whose axes all have the same length (its shape only)."""
    s = shape_of(arr)
    if len(s) < 2:
        raise ValueError("input array must be at least 2-d")
    if len(set(s)) != 1:
        raise ValueError("All dimensions of input must be of equal length")
    return _np.diag_indices(s[0], len(s))


def tril_indices_from(arr, k=0) -> tuple:
    s = shape_of(arr)
    if len(s) != 2:
        raise ValueError("input array must be 2-d")
    return _np.tril_indices(s[-2], k=k, m=s[-1])


def triu_indices_from(arr, k=0) -> tuple:
    s = shape_of(arr)
    if len(s) != 2:
        raise ValueError("input array must be 2-d")
    return _np.triu_indices(s[-2], k=k, m=s[-1])


__all__ = [
    'argwhere', 'choose', 'compress', 'copyto', 'delete', 'diag', 'diag_indices_from', 'diagflat', 'diagonal',
    'extract', 'fill_diagonal', 'flatnonzero', 'insert', 'ix_', 'nonzero', 'piecewise', 'place', 'put',
    'put_along_axis', 'putmask', 'ravel_multi_index', 'select', 'take', 'take_along_axis', 'tril',
    'tril_indices_from', 'triu', 'triu_indices_from', 'unravel_index',
]
METHODS: dict = {
    "take": method(take), "diagonal": method(diagonal), "nonzero": method(nonzero), "fill": _fill,
    "put": method(put), "compress": lambda self, condition, axis=None, out=None: compress(condition, self, axis, out),
    "choose": lambda self, choices, out=None, mode="raise": choose(self, choices, out, mode),
}
