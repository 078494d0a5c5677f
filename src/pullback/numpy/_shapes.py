"""Shape functions of pullback.numpy: reshape, transpose, stacking, indexing, products."""

from __future__ import annotations

import math
from typing import Any

import numpy as _np

from ..core.trace import Tracer, full_lower
from ..primitives import elementwise as ew
from ..primitives import linalg as la
from ..primitives import shape as sh
from ..primitives._util import dtype_of, normalize_axis, shape_of
from ._ufuncs import _check_kwargs


def _resolve_shape(newshape, size: int) -> tuple:
    if isinstance(newshape, (int, _np.integer)):
        newshape = (int(newshape),)
    newshape = tuple(int(n) for n in newshape)
    if -1 in newshape:
        known = math.prod(n for n in newshape if n != -1)
        missing = size // known if known else 0
        newshape = tuple(missing if n == -1 else n for n in newshape)
    if math.prod(newshape) != size:
        raise ValueError(f"cannot reshape array of size {size} into shape {newshape}")
    return newshape


def reshape(a, /, shape=None, order="C", *, newshape=None, copy=None):
    """a with a new shape (C order only)."""
    if shape is None:
        shape = newshape
    if order != "C":
        raise ValueError("pullback.numpy.reshape supports order='C' only")
    s = _resolve_shape(shape, math.prod(shape_of(a)))
    if s == shape_of(a):
        return a
    return sh.reshape(a, shape=s)


def ravel(a, order="C"):
    """a flattened to 1-D."""
    return reshape(a, (-1,), order=order)


def transpose(a, axes=None):
    """Permute the axes of a (reverse them by default)."""
    nd = len(shape_of(a))
    if axes is None:
        axes = tuple(range(nd))[::-1]
    axes = tuple(int(ax) % nd for ax in axes) if nd else ()
    if axes == tuple(range(nd)):
        return a
    return sh.transpose(a, axes=axes)


def swapaxes(a, axis1, axis2):
    nd = len(shape_of(a))
    perm = list(range(nd))
    i, j = axis1 % nd, axis2 % nd
    perm[i], perm[j] = perm[j], perm[i]
    return transpose(a, perm)


def moveaxis(a, source, destination):
    nd = len(shape_of(a))
    src = [int(s) % nd for s in (source if isinstance(source, (tuple, list)) else [source])]
    dst = [int(d) % nd for d in (destination if isinstance(destination, (tuple, list)) else [destination])]
    order = [n for n in range(nd) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(a, order)


def expand_dims(a, axis):
    nd = len(shape_of(a)) + (len(axis) if isinstance(axis, (tuple, list)) else 1)
    axes = normalize_axis(axis, nd)
    shape = iter(shape_of(a))
    return reshape(a, tuple(1 if i in axes else next(shape) for i in range(nd)))


def squeeze(a, axis=None):
    s = shape_of(a)
    if axis is None:
        axes = tuple(i for i, n in enumerate(s) if n == 1)
    else:
        axes = normalize_axis(axis, len(s))
        for ax in axes:
            if s[ax] != 1:
                raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
    return reshape(a, tuple(n for i, n in enumerate(s) if i not in axes))


def broadcast_to(array, shape):
    shape = tuple(shape) if not isinstance(shape, int) else (shape,)
    if shape_of(array) == shape:
        return array
    return sh.broadcast_to(array, shape=shape)


def atleast_1d(*arys):
    res = [reshape(a, (1,)) if len(shape_of(a)) == 0 else a for a in arys]
    return res[0] if len(res) == 1 else res


def concatenate(arrays, /, axis=0, out=None, dtype=None, casting="same_kind"):
    _check_kwargs("concatenate", out)
    arrays = [asarray(a) for a in arrays]
    if axis is None:
        arrays = [ravel(a) for a in arrays]
        axis = 0
    if dtype is not None:
        from ._ufuncs import astype

        arrays = [astype(a, dtype) for a in arrays]
    if not any(isinstance(a, Tracer) for a in arrays):
        return _np.concatenate(arrays, axis=axis)
    nd = len(shape_of(arrays[0]))
    if nd == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    return sh.concatenate(*arrays, axis=normalize_axis(axis, nd)[0])


def stack(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    _check_kwargs("stack", out)
    arrays = [asarray(a) for a in arrays]
    if not arrays:
        raise ValueError("need at least one array to stack")
    shapes = {shape_of(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError("all input arrays must have the same shape")
    nd = len(shape_of(arrays[0])) + 1
    ax = normalize_axis(axis, nd)[0]
    return concatenate([expand_dims(a, ax) for a in arrays], axis=ax, dtype=dtype)


def hstack(tup, *, dtype=None, casting="same_kind"):
    arrs = [atleast_1d(a) for a in tup]
    return concatenate(arrs, axis=0 if len(shape_of(arrs[0])) == 1 else 1, dtype=dtype)


def vstack(tup, *, dtype=None, casting="same_kind"):
    arrs = [reshape(a, (1, -1)) if len(shape_of(a)) < 2 else a for a in tup]
    return concatenate(arrs, axis=0, dtype=dtype)


# ----------------------------------------------------------------------------- arrays


def asarray(a, dtype=None, order=None, *, copy=None, like=None):
    """a as an array; a (nested) list holding traced values is stacked."""
    if isinstance(a, Tracer):
        if dtype is not None:
            from ._ufuncs import astype

            return astype(a, dtype)
        return a
    if isinstance(a, (list, tuple)) and _contains_tracer(a):
        out = stack([asarray(x) for x in a])
        if dtype is not None:
            from ._ufuncs import astype

            out = astype(out, dtype)
        return out
    return _np.asarray(a, dtype=dtype)


def array(object, dtype=None, *, copy=True, order="K", subok=False, ndmin=0, like=None):
    """Like numpy.array; traced values (or lists of them) stay traced."""
    if isinstance(object, Tracer) or (isinstance(object, (list, tuple)) and _contains_tracer(object)):
        out = asarray(object, dtype=dtype)
        while len(shape_of(out)) < ndmin:
            out = expand_dims(out, 0)
        return out
    return _np.array(object, dtype=dtype, copy=copy, order=order, ndmin=ndmin)


def _contains_tracer(seq) -> bool:
    for x in seq:
        if isinstance(x, Tracer):
            return True
        if isinstance(x, (list, tuple)) and _contains_tracer(x):
            return True
    return False


def getitem(a, idx):
    """a[idx]: basic, advanced and boolean indexing; integer tracers in idx are read as values."""
    if isinstance(idx, tuple):
        idx = tuple(full_lower(i) if isinstance(i, Tracer) else i for i in idx)
    elif isinstance(idx, Tracer):
        idx = full_lower(idx)
    if isinstance(idx, list):
        idx = _np.asarray(idx)
    return sh.getitem(a, idx=idx)


# ----------------------------------------------------------------------------- products


def matmul(x1, x2, /, out=None, **kwargs):
    _check_kwargs("matmul", out, **kwargs)
    if len(shape_of(x1)) == 0 or len(shape_of(x2)) == 0:
        raise ValueError("matmul: Input operand does not have enough dimensions")
    return la.matmul(x1, x2)


def dot(a, b, out=None):
    """numpy.dot: products of scalars, vectors, matrices; for N-d, a sum over a's last and b's second-to-last axis."""
    _check_kwargs("dot", out)
    na, nb = len(shape_of(a)), len(shape_of(b))
    if na == 0 or nb == 0:
        return ew.multiply(a, b)
    if nb <= 2:
        return la.matmul(a, b)
    return tensordot(a, b, axes=([na - 1], [nb - 2]))


def vdot(a, b, /):
    """Σ conj(a)·b over the flattened arrays."""
    a = ravel(asarray(a))
    if dtype_of(a).kind == "c":
        a = ew.conj(a)
    return la.matmul(a, ravel(b))


def inner(a, b, /):
    na, nb = len(shape_of(a)), len(shape_of(b))
    if na == 0 or nb == 0:
        return ew.multiply(a, b)
    return tensordot(a, b, axes=([na - 1], [nb - 1]))


def outer(a, b, out=None):
    _check_kwargs("outer", out)
    return ew.multiply(reshape(a, (-1, 1)), reshape(b, (1, -1)))


def tensordot(a, b, axes=2):
    """Σ over the paired axes of a and b, by transpose, reshape and one matmul."""
    sa, sb = shape_of(a), shape_of(b)
    if isinstance(axes, (int, _np.integer)):
        ax_a = list(range(len(sa) - int(axes), len(sa)))
        ax_b = list(range(int(axes)))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, int) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, int) else list(ax_b)
    ax_a = [x % len(sa) for x in ax_a]
    ax_b = [x % len(sb) for x in ax_b]
    free_a = [i for i in range(len(sa)) if i not in ax_a]
    free_b = [i for i in range(len(sb)) if i not in ax_b]
    k = math.prod(sa[i] for i in ax_a)
    a2 = reshape(transpose(a, free_a + ax_a), (math.prod(sa[i] for i in free_a), k))
    b2 = reshape(transpose(b, ax_b + free_b), (k, math.prod(sb[i] for i in free_b)))
    return reshape(la.matmul(a2, b2), tuple(sa[i] for i in free_a) + tuple(sb[i] for i in free_b))


def shape(a) -> tuple:
    return tuple(shape_of(a))


def ndim(a) -> int:
    return len(shape_of(a))


def size(a, axis=None) -> int:
    s = shape_of(a)
    return math.prod(s) if axis is None else s[axis]


def zeros_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None) -> Any:
    """Plain zeros (constants carry no derivative)."""
    return _np.zeros(shape_of(a) if shape is None else shape, dtype or dtype_of(a))


def ones_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None) -> Any:
    return _np.ones(shape_of(a) if shape is None else shape, dtype or dtype_of(a))


def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, *, device=None) -> Any:
    if isinstance(fill_value, Tracer):
        return ew.add(_np.zeros(shape_of(a) if shape is None else shape, dtype or dtype_of(a)), fill_value)
    return _np.full(shape_of(a) if shape is None else shape, fill_value, dtype or dtype_of(a))


def empty_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None) -> Any:
    return _np.empty(shape_of(a) if shape is None else shape, dtype or dtype_of(a))


__all__ = [
    'array', 'asarray', 'atleast_1d', 'broadcast_to', 'concatenate', 'dot', 'empty_like', 'expand_dims', 'full_like',
    'getitem', 'hstack', 'inner', 'matmul', 'moveaxis', 'ndim', 'ones_like', 'outer', 'ravel', 'reshape', 'shape',
    'size', 'squeeze', 'stack', 'swapaxes', 'tensordot', 'transpose', 'vdot', 'vstack', 'zeros_like',
]
METHODS: dict = {}
