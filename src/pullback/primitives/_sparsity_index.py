"""Sparsity rules (the ``sparsity`` hook, see core/primitive.py) of the indexing primitives whose index
is an operand: gather, index_add, index_set, dynamic_slice, dynamic_update_slice.

With a constant index (``consts[k]`` holds its value) each rule runs the primitive's own indexing on
arrays of flat positions and is exact:

    gather(x, i)[k, r]              ← x[i[k], r]
    index_add(x, v, i)[p]           ← x[p], and every v entry added at p (repeated entries all count)
    index_set(x, v, i)[p]           ← v's entry written at p, else x[p]
    dynamic_slice(x, s)[.., k, ..]  ← x[.., start + k, ..]
    dynamic_update_slice(x, u, s)   ← u inside the window, x outside it

With a traced index the rule returns the superset over every index value, flagged ``(maps, False)``:
any row of x for gather and index_add's values, both x and v for index_set, and for the windows the
band k ≤ j ≤ k + n − size along the axis (every start in [0, n − size]); x's entries that every
index value overwrites are left out. Each is then the union of the exact patterns over the index's
values.
"""

from __future__ import annotations

import numpy as np

from .dynamic import _window, dynamic_slice, dynamic_update_slice, index_set, window_start
from .gather import gather, index_add


def _positions(shape) -> np.ndarray:
    shape = tuple(shape)
    return np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64).reshape(shape)


def _identity(shape) -> tuple:
    r = np.arange(int(np.prod(tuple(shape), dtype=np.int64)), dtype=np.int64)
    return r, r


def _any_row(out_pos: np.ndarray, in_pos: np.ndarray) -> tuple:
    """Pairs (out[k, r], in[j, r]) for every leading index k of out_pos and j of in_pos: out_pos and
    in_pos are (K, *rest) and (N, *rest) with the same rest."""
    k, n = out_pos.shape[0], in_pos.shape[0]
    r = int(np.prod(out_pos.shape[1:], dtype=np.int64))
    o = np.broadcast_to(out_pos.reshape(k, 1, r), (k, n, r))
    i = np.broadcast_to(in_pos.reshape(1, n, r), o.shape)
    return o.ravel(), i.ravel()


def _gather_sparsity(in_shapes, consts, out_shape):
    """out[k, r] = x[i[k], r]: exact for a constant i; a traced i: any row of x (flagged)."""
    xs = tuple(in_shapes[0])
    px = _positions(xs)
    idx = consts[1]
    if idx is not None:
        src = np.take(px, np.asarray(idx), axis=0).ravel()
        return [(np.arange(src.size, dtype=np.int64), src), None]
    po = _positions(out_shape).reshape((-1,) + xs[1:])
    return [_any_row(po, px), None], False


def _index_add_sparsity(in_shapes, consts, out_shape):
    """out[p] = x[p] + Σ_{k: i[k] = p} v[k]: exact for a constant i; a traced i: any row (flagged)."""
    xs, vs = tuple(in_shapes[0]), tuple(in_shapes[1])
    px = _positions(xs)
    idx = consts[2]
    if idx is not None:
        dst = px[np.asarray(idx)]
        src = np.broadcast_to(_positions(vs), dst.shape).ravel()
        return [_identity(xs), (dst.ravel(), src), None]
    ishape = tuple(in_shapes[2])
    pv = np.broadcast_to(_positions(vs), ishape + xs[1:]).reshape((-1,) + xs[1:])
    o, i = _any_row(px, pv)
    return [_identity(xs), (o, i), None], False


def _owner_maps(owner: np.ndarray, nx: int) -> list:
    """Maps for x and the written value from `owner` (each output's source position: x's below nx,
    the value's from nx on)."""
    owner = owner.ravel()
    out = np.arange(owner.size, dtype=np.int64)
    from_x = owner < nx
    return [(out[from_x], owner[from_x]), (out[~from_x], owner[~from_x] - nx), None]


def _index_set_sparsity(in_shapes, consts, out_shape):
    """out[i] = v, elsewhere x: exact for a constant i; a traced i: x everywhere and v on every row."""
    xs, vs = tuple(in_shapes[0]), tuple(in_shapes[1])
    px = _positions(xs)
    nx = px.size
    i = consts[2]
    if i is not None:
        owner = px.copy()
        owner[int(i)] = np.broadcast_to(_positions(vs), xs[1:]) + nx
        return _owner_maps(owner, nx)
    pv = np.broadcast_to(_positions(vs), xs[1:])[None]
    o, s = _any_row(px, pv)
    kept = _identity(xs) if xs[0] > 1 else _identity((0,))  # a single row is always overwritten
    return [kept, (o, s), None], False


def _band(po: np.ndarray, pi: np.ndarray, axis: int, shift: int) -> tuple:
    """Pairs (po[.., k, ..], pi[.., k + d, ..]) for d = 0..shift along `axis`: every start of a window."""
    po, pi = np.moveaxis(po, axis, -1), np.moveaxis(pi, axis, -1)
    k = np.arange(po.shape[-1])
    d = np.arange(shift + 1)
    kk, jj = np.broadcast_arrays(k[:, None], k[:, None] + d[None, :])
    return po[..., kk.ravel()].ravel(), pi[..., jj.ravel()].ravel()


def _dynamic_slice_sparsity(in_shapes, consts, out_shape, axis, size):
    """x[s:s+size] along axis: exact for a constant s; a traced s: the band of every start (flagged)."""
    xs = tuple(in_shapes[0])
    px = _positions(xs)
    s = consts[1]
    if s is not None:
        src = px[_window(len(xs), axis, window_start(s, size, xs[axis]), size)].ravel()
        return [(np.arange(src.size, dtype=np.int64), src), None]
    o, i = _band(_positions(out_shape), px, axis, xs[axis] - size)
    return [(o, i), None], False


def _dynamic_update_slice_sparsity(in_shapes, consts, out_shape, axis):
    """x with the window along axis replaced by u: exact for a constant s; a traced s: x everywhere and
    u on the band of every start (flagged)."""
    xs, us = tuple(in_shapes[0]), tuple(in_shapes[1])
    px = _positions(xs)
    nx = px.size
    size = us[axis]
    s = consts[2]
    if s is not None:
        owner = px.copy()
        owner[_window(len(xs), axis, window_start(s, size, xs[axis]), size)] = _positions(us) + nx
        return _owner_maps(owner, nx)
    i, o = _band(_positions(us), px, axis, xs[axis] - size)  # u[.., k, ..] may land on x[.., k + d, ..]
    m = xs[axis]
    k = np.arange(m)
    kept = np.moveaxis(px, axis, -1)[..., (k < m - size) | (k >= size)].ravel()  # not overwritten by every start
    return [(kept, kept), (o, i), None], False


RULES = {
    gather: _gather_sparsity,
    index_add: _index_add_sparsity,
    index_set: _index_set_sparsity,
    dynamic_slice: _dynamic_slice_sparsity,
    dynamic_update_slice: _dynamic_update_slice_sparsity,
}

for _prim, _rule in RULES.items():
    _rule.exactness = "exact for a constant index; superset, flagged, for a traced one"
    if _prim.sparsity is None:
        _prim.sparsity = _rule
