"""Shape primitives: reshape, transpose, broadcast_to / sum_to, concatenate, getitem / add_at.

All of them are linear: each reverse rule is the transpose (reshape ↔ reshape,
broadcast_to ↔ sum_to, getitem ↔ add_at into zeros, concatenate ↔ slices).
"""

from __future__ import annotations

import numpy as np

from ..core.primitive import Primitive
from ._util import dtype_of, result_dtype, shape_of


def _reshape_impl(x, shape):
    return np.reshape(x, shape)


reshape = Primitive(
    "reshape", _reshape_impl, shape=lambda x, shape: (shape, dtype_of(x)), linear=True,
    jvps=[lambda t, out, x, shape: reshape(t, shape=shape)],
    vjps=[lambda ct, out, x, shape: reshape(ct, shape=shape_of(x))],
    doc="x.reshape(shape) (shape fully specified, no -1)",
)


def _transpose_impl(x, axes):
    return np.transpose(x, axes)


def _inverse_perm(axes):
    return tuple(int(i) for i in np.argsort(axes))


transpose = Primitive(
    "transpose", _transpose_impl,
    shape=lambda x, axes: (tuple(shape_of(x)[a] for a in axes), dtype_of(x)), linear=True,
    jvps=[lambda t, out, x, axes: transpose(t, axes=axes)],
    vjps=[lambda ct, out, x, axes: transpose(ct, axes=_inverse_perm(axes))],
    doc="permute axes",
)


def _broadcast_to_impl(x, shape):
    return np.broadcast_to(x, shape)


def _sum_to_impl(x, shape):
    """Sum x down to `shape`, the inverse of broadcasting `shape` up to x.shape."""
    x = np.asarray(x)
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and x.shape[i + lead] != 1
    )
    if axes:
        x = np.sum(x, axis=axes, keepdims=True)
    return x.reshape(shape)


broadcast_to = Primitive(
    "broadcast_to", _broadcast_to_impl, shape=lambda x, shape: (shape, dtype_of(x)), linear=True,
    jvps=[lambda t, out, x, shape: broadcast_to(t, shape=shape)],
    vjps=[lambda ct, out, x, shape: sum_to(ct, shape=shape_of(x))],
    doc="numpy.broadcast_to; transpose: sum_to",
)
sum_to = Primitive(
    "sum_to", _sum_to_impl, shape=lambda x, shape: (shape, dtype_of(x)), linear=True,
    jvps=[lambda t, out, x, shape: sum_to(t, shape=shape)],
    vjps=[lambda ct, out, x, shape: broadcast_to(ct, shape=shape_of(x))],
    doc="sum over the axes that broadcasting `shape` to x.shape would create; transpose: broadcast_to",
)

# ----------------------------------------------------------------------------- concatenate


def _concat_impl(*xs, axis):
    return np.concatenate(xs, axis=axis)


def _concat_shape(*xs, axis):
    shapes = [shape_of(x) for x in xs]
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    return tuple(out), np.result_type(*[dtype_of(x) for x in xs])


def _concat_jvp(primals, tangents, out, axis):
    if all(t is None for t in tangents):
        return None
    ts = [np.zeros(shape_of(p), dtype_of(out)) if t is None else t for p, t in zip(primals, tangents, strict=False)]
    return concatenate(*ts, axis=axis)


def _concat_vjp(ct, out, primals, needs, axis):
    gs, start = [], 0
    nd = len(shape_of(out))
    for p, need in zip(primals, needs, strict=False):
        n = shape_of(p)[axis]
        if need:
            idx = (slice(None),) * axis + (slice(start, start + n),) + (slice(None),) * (nd - axis - 1)
            gs.append(getitem(ct, idx=idx))
        else:
            gs.append(None)
        start += n
    return gs


concatenate = Primitive(
    "concatenate", _concat_impl, shape=_concat_shape, linear=True,
    jvp=_concat_jvp, vjp=_concat_vjp,
    doc="numpy.concatenate along a non-negative axis; transpose: slices of the cotangent",
)

# ----------------------------------------------------------------------------- indexing


def _getitem_impl(x, idx):
    return np.asarray(x)[idx]


def _is_basic(idx) -> bool:
    """True when idx uses only ints, slices, None and Ellipsis (no element can repeat)."""
    items = idx if isinstance(idx, tuple) else (idx,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


def zeros_to_scatter_into(shape, dtype):
    """A read-only zero array (one element, broadcast) for add_at to scatter into: add_at then
    writes into a fresh zero array instead of copying one (the transpose of getitem)."""
    return np.broadcast_to(np.zeros((), dtype), shape)


def _is_broadcast_zero(x) -> bool:
    return (
        isinstance(x, np.ndarray) and x.size > 0 and not any(x.strides)
        and not x.flags.writeable and x[(0,) * x.ndim] == 0
    )


def _add_at_impl(x, idx, v):
    dtype = np.result_type(x, v)
    basic = _is_basic(idx)
    if basic and _is_broadcast_zero(x):
        out = np.zeros(np.shape(x), dtype)
        out[idx] = v
        return out
    out = np.array(x, copy=True, dtype=dtype)
    if basic:
        out[idx] += v
    else:  # ufunc.at does not broadcast v against x[idx] for >= 2-d index arrays: do it here
        np.add.at(out, idx, np.broadcast_to(v, out[idx].shape))
    return out


def _getitem_shape(x, idx):
    probe = np.lib.stride_tricks.as_strided(np.zeros((), dtype_of(x)), shape_of(x), (0,) * len(shape_of(x)))
    return probe[idx].shape, dtype_of(x)


def _getitem_vjp(ct, out, x, idx):
    return add_at(zeros_to_scatter_into(shape_of(x), dtype_of(x)), ct, idx=idx)


getitem = Primitive(
    "getitem", _getitem_impl, shape=_getitem_shape, linear=True,
    jvps=[lambda t, out, x, idx: getitem(t, idx=idx)],
    vjps=[_getitem_vjp],
    doc="x[idx] (basic, advanced and boolean indexing); transpose: add_at into zeros",
)


def _add_at_v_vjp(ct, out, x, v, idx):
    return getitem(ct, idx=idx)


def _add_at_call(x, v, idx):
    return _add_at_impl(x, idx, v)


add_at = Primitive(
    "add_at", _add_at_call,
    shape=lambda x, v, idx: (shape_of(x), result_dtype(x, v)), linear=True,
    jvps=[lambda t, out, x, v, idx: t,
          lambda t, out, x, v, idx: add_at(zeros_to_scatter_into(shape_of(x), dtype_of(t)), t, idx=idx)],
    vjps=[lambda ct, out, x, v, idx: ct, _add_at_v_vjp],
    doc="a copy of x with v added at x[idx]; repeated indices accumulate (numpy.add.at)",
)

# ----------------------------------------------------------------------------- vmap
# Batched values carry the batch axis first (core/batching.py); each rule re-aims the
# primitive's parameters past it. Indexing falls back to a loop when NumPy would move the
# batch axis (advanced indices separated by a slice, Ellipsis or newaxis).


def _is_advanced(item) -> bool:
    return isinstance(item, (list, np.ndarray)) and not (isinstance(item, np.ndarray) and item.ndim == 0)


def batched_index(idx):
    """idx for a value with a leading batch axis, or None when the batch axis would not stay first."""
    items = idx if isinstance(idx, tuple) else (idx,)
    adv = [k for k, item in enumerate(items) if _is_advanced(item)]
    if adv and adv != list(range(adv[0], adv[-1] + 1)):
        return None
    return (slice(None),) + items


def _indexed_rank(x_shape: tuple, idx) -> int:
    probe = np.lib.stride_tricks.as_strided(np.zeros(()), x_shape, (0,) * len(x_shape))
    return probe[idx].ndim


def _getitem_batch(vals, batched, idx):
    bidx = batched_index(idx)
    if bidx is None:
        return loop_rule(getitem)(vals, batched, idx=idx)
    return getitem(vals[0], idx=bidx)


def _index_update_batch(prim):
    """add_at / scatter: the target gets the batch axis, the index skips it, the update is aligned."""

    def rule(vals, batched, idx):
        bidx = batched_index(idx)
        if bidx is None:
            return loop_rule(prim)(vals, batched, idx=idx)
        size = batch_size_of(vals, batched)
        x = materialize(vals[0], batched[0], size)
        rank = _indexed_rank(shape_of(x)[1:], idx)
        return prim.bind(x, expand_batched(vals[1], batched[1], rank), idx=bidx)

    return rule


def _broadcast_to_batch(vals, batched, shape):
    (x,) = vals
    x = expand_batched(x, True, len(shape))
    return broadcast_to(x, shape=(shape_of(x)[0],) + tuple(shape))


def _sum_to_batch(vals, batched, shape):
    (x,) = vals
    s = shape_of(x)
    target = (s[0],) + (1,) * (len(s) - 1 - len(shape)) + tuple(shape)
    return reshape(sum_to(x, shape=target), shape=(s[0],) + tuple(shape))


def _concatenate_batch(vals, batched, axis):
    return concatenate(*all_batched(vals, batched), axis=axis + 1)


reshape.batch = lambda vals, batched, shape: reshape(vals[0], shape=(shape_of(vals[0])[0],) + tuple(shape))
transpose.batch = lambda vals, batched, axes: transpose(vals[0], axes=(0,) + tuple(a + 1 for a in axes))
broadcast_to.batch = _broadcast_to_batch
sum_to.batch = _sum_to_batch
concatenate.batch = _concatenate_batch
getitem.batch = _getitem_batch
add_at.batch = _index_update_batch(add_at)

from ..core.batching import all_batched, batch_size_of, expand_batched, loop_rule, materialize  # noqa: E402
