"""Indexing with a traced integer scalar (the counter of a rolled loop, a jit argument) as an operand:

    index_set(x, v, i)                = a copy of x with x[i] = v              (i a 0-d integer, axis 0)
        x̄ = index_set(ct, 0, i),   v̄ = gather(ct, i)
    dynamic_slice(x, s, axis, size)   = x[s:s+size] along `axis`                (s a 0-d integer, size static)
        x̄ = dynamic_update_slice(zeros like x, ct, s)
    dynamic_update_slice(x, u, s, axis) = a copy of x with x[s:s+size] = u along `axis` (size = u's extent)
        x̄ = dynamic_update_slice(ct, 0, s),   ū = dynamic_slice(ct, s)

Bounds follow NumPy where NumPy gives an array of the same shape, and raise DynamicIndexError (an
IndexError) where it would not: an integer i must satisfy −n ≤ i < n (NumPy's IndexError), a negative
one counts from the end. A window x[s:s+size] is NumPy's slice when it lies inside the array: 0 ≤ s and
s + size ≤ n, or s < 0 counting from the end with s + size < 0 (NumPy's slice start and stop wrap one by
one, so x[-2:0] is empty); outside, NumPy would give a shorter array, and a staged graph has one shape,
so the window is refused (no clamping as in JAX's lax.dynamic_slice, which would silently read other
entries than NumPy). The integer read x[i] is `gather` (gather.py).
"""

from __future__ import annotations

import numpy as np

from ..core.lax import broadcast_to, expand_batched, loop_rule
from ..core.primitive import Primitive
from ..errors import DynamicIndexError
from ._util import dtype_of, shape_of
from .gather import gather
from .shape import transpose


def _check_scalar_index(i, who: str) -> None:
    if shape_of(i) != () or dtype_of(i).kind not in "iu":
        raise DynamicIndexError(f"{who}: the index must be a 0-d integer, got {dtype_of(i)}{list(shape_of(i))}")


def _index_set_shape(x, v, i):
    _check_scalar_index(i, "index_set")
    if not shape_of(x):
        raise DynamicIndexError("index_set: a 0-d array cannot be indexed by an integer")
    try:
        ok = np.broadcast_shapes(tuple(shape_of(v)), tuple(shape_of(x))[1:]) == tuple(shape_of(x))[1:]
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"index_set: a value of shape {shape_of(v)} cannot be written into a row of shape "
                         f"{tuple(shape_of(x))[1:]}")
    return tuple(shape_of(x)), dtype_of(x)


def _index_set_impl(x, v, i):
    out = np.array(x, copy=True)
    out[int(i)] = v  # NumPy's IndexError when i is out of bounds
    return out


def _index_set_jvp(primals, tangents, out):
    x, v, i = primals
    tx, tv = tangents[0], tangents[1]
    if tx is None and tv is None:
        return None
    if tx is None:
        tx = np.zeros(shape_of(x), dtype_of(tv))
    return index_set(tx, 0.0 if tv is None else tv, i)


def _index_set_vjp(ct, out, primals, needs):
    x, v, i = primals
    gx = index_set(ct, 0.0, i) if needs[0] else None
    gv = gather(ct, i) if needs[1] else None
    return [gx, gv, None]


index_set = Primitive(
    "index_set", _index_set_impl, shape=_index_set_shape, jvp=_index_set_jvp, vjp=_index_set_vjp,
    doc="a copy of x with x[i] = v for a 0-d integer i that is an operand (x.at[i].set(v) with a traced i)",
    stem="iset",
)


# ----------------------------------------------------------------------------- windows of static size


def window_start(s: int, size: int, n: int) -> int:
    """The start in [0, n − size] of NumPy's x[s:s+size] on an axis of length n, when that slice has `size`
    entries; DynamicIndexError otherwise (NumPy would give a shorter array)."""
    s = int(s)
    if size == 0:
        return 0
    if 0 <= s and s + size <= n:
        return s
    if -n <= s and s + size < 0:
        return s + n
    raise DynamicIndexError(
        f"x[i:i+{size}] with i = {s} on an axis of length {n}: the window leaves the array, where NumPy would "
        f"return fewer than {size} entries; a staged graph keeps one shape, so keep {-n} <= i and i + {size} < 0, "
        f"or 0 <= i <= {n - size}")


def _window(ndim: int, axis: int, start: int, size: int) -> tuple:
    return (slice(None),) * axis + (slice(start, start + size),)


def _check_axis(x, s, axis: int, who: str) -> None:
    _check_scalar_index(s, who)
    if not 0 <= axis < len(shape_of(x)):
        raise DynamicIndexError(f"{who}: axis {axis} is out of bounds for an array of shape {shape_of(x)}")


def _dynamic_slice_shape(x, s, axis, size):
    _check_axis(x, s, axis, "dynamic_slice")
    shape = list(shape_of(x))
    if not 0 <= size <= shape[axis]:
        raise DynamicIndexError(f"dynamic_slice: a window of {size} entries does not fit an axis of length "
                                f"{shape[axis]}")
    shape[axis] = size
    return tuple(shape), dtype_of(x)


def _dynamic_slice_impl(x, s, axis, size):
    x = np.asarray(x)
    start = window_start(s, size, x.shape[axis])
    return x[_window(x.ndim, axis, start, size)]


dynamic_slice = Primitive(
    "dynamic_slice", _dynamic_slice_impl, shape=_dynamic_slice_shape,
    jvps=[lambda t, out, x, s, axis, size: dynamic_slice(t, s, axis=axis, size=size), None],
    vjps=[lambda ct, out, x, s, axis, size: dynamic_update_slice(
        np.zeros(shape_of(x), dtype_of(ct)), ct, s, axis=axis), None],
    doc="x[s:s+size] along `axis` for a 0-d integer s that is an operand and a static size",
    stem="dsl",
)


def _dynamic_update_slice_shape(x, u, s, axis):
    _check_axis(x, s, axis, "dynamic_update_slice")
    xs, us = tuple(shape_of(x)), tuple(shape_of(u))
    if len(us) != len(xs) or us[:axis] + us[axis + 1:] != xs[:axis] + xs[axis + 1:] or us[axis] > xs[axis]:
        raise ValueError(f"dynamic_update_slice: an update of shape {us} does not fit an array of shape {xs} "
                         f"along axis {axis}")
    return xs, dtype_of(x)


def _dynamic_update_slice_impl(x, u, s, axis):
    out = np.array(x, copy=True)
    size = np.shape(u)[axis]
    out[_window(out.ndim, axis, window_start(s, size, out.shape[axis]), size)] = u
    return out


def _dynamic_update_slice_jvp(primals, tangents, out, axis):
    x, u, s = primals
    tx, tu = tangents[0], tangents[1]
    if tx is None and tu is None:
        return None
    if tx is None:
        tx = np.zeros(shape_of(x), dtype_of(tu))
    if tu is None:
        tu = np.zeros(shape_of(u), dtype_of(tx))
    return dynamic_update_slice(tx, tu, s, axis=axis)


def _dynamic_update_slice_vjp(ct, out, primals, needs, axis):
    x, u, s = primals
    size = shape_of(u)[axis]
    gx = dynamic_update_slice(ct, np.zeros(shape_of(u), dtype_of(ct)), s, axis=axis) if needs[0] else None
    gu = dynamic_slice(ct, s, axis=axis, size=size) if needs[1] else None
    return [gx, gu, None]


dynamic_update_slice = Primitive(
    "dynamic_update_slice", _dynamic_update_slice_impl, shape=_dynamic_update_slice_shape,
    jvp=_dynamic_update_slice_jvp, vjp=_dynamic_update_slice_vjp,
    doc="a copy of x with x[s:s+size] = u along `axis` (size = u's extent there) for a 0-d integer operand s",
    stem="dus",
)


# ----------------------------------------------------------------------------- batching (vmap)
# The batch axis leads every batched value. With the index the same for every example, the indexed
# axis moves one place right; with a batched index, each example is indexed on its own (loop_rule).


def _batched_full(v, b: bool, size: int):
    """v with a leading batch axis (broadcast when it has none)."""
    return v if b else broadcast_to(v, shape=(size,) + tuple(shape_of(v)))


def _batch_size(vals, batched) -> int:
    return next(shape_of(v)[0] for v, b in zip(vals, batched) if b)


def _index_set_batch(vals, batched):
    x, v, i = vals
    if batched[2]:
        return loop_rule(index_set)(vals, batched)
    size = _batch_size(vals, batched)
    x = _batched_full(x, batched[0], size)
    nd = len(shape_of(x))
    if batched[1]:  # (B, *row) for a row of shape x.shape[2:]
        v = expand_batched(v, True, nd - 2)
    swap = (1, 0) + tuple(range(2, nd))
    return transpose(index_set(transpose(x, axes=swap), v, i), axes=swap)


def _dynamic_slice_batch(vals, batched, axis, size):
    if batched[1]:
        return loop_rule(dynamic_slice)(vals, batched, axis=axis, size=size)
    return dynamic_slice(vals[0], vals[1], axis=axis + 1, size=size)


def _dynamic_update_slice_batch(vals, batched, axis):
    if batched[2]:
        return loop_rule(dynamic_update_slice)(vals, batched, axis=axis)
    n = _batch_size(vals, batched)
    x, u = _batched_full(vals[0], batched[0], n), _batched_full(vals[1], batched[1], n)
    return dynamic_update_slice(x, u, vals[2], axis=axis + 1)


index_set.batch = _index_set_batch
dynamic_slice.batch = _dynamic_slice_batch
dynamic_update_slice.batch = _dynamic_update_slice_batch
