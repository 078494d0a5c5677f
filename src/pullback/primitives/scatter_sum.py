"""scatter_sum: several pieces added into one zero buffer, and the simplifier rules that fold sums of
scatters into it (a graph pass serving every backend).

The transpose of several getitems of one array (x[0::2], x[1::2] ...) is a sum of add_at's into zeros,
each a full-size array; the rules below fold such a sum into one buffer written piece by piece:

    scatter_sum(v1, ..., vm, idxs, assign, full, shape, dtype)
        out = zeros(shape) (or empty, when `full`: the assigned pieces cover it); then for each piece k
        out[idx_k] = v_k  when assign_k (no earlier piece wrote there), else out[idx_k] += v_k (add.at)
        linear in every v_k; v̄_k = ct[idx_k]

Each v_k has exactly the shape of out[idx_k]. Only simplified graphs (jit, make_graph(...).simplify())
hold it: no NumPy function stages to it.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.atoms import is_number
from ..core.primitive import Primitive
from . import elementwise as ew
from ._util import dtype_of, shape_of
from .shape import _is_basic, add_at, getitem

_MAX_SCATTER_MASK = 1 << 24  # positions analysed (once, at simplification) to merge scatters


def _scatter_sum_impl(*vs, idxs, assign, full, shape, dtype):
    out = np.empty(shape, dtype) if full else np.zeros(shape, dtype)
    for v, idx, a in zip(vs, idxs, assign):
        if a:
            out[idx] = v
        elif _is_basic(idx):
            out[idx] += v
        else:
            np.add.at(out, idx, v)
    return out


def _scatter_sum_jvp(primals, tangents, out, idxs, assign, full, shape, dtype):
    if all(t is None for t in tangents):
        return None
    ts = [np.zeros(shape_of(p), dtype) if t is None else t for p, t in zip(primals, tangents)]
    return scatter_sum(*ts, idxs=idxs, assign=assign, full=full, shape=shape, dtype=dtype)


def _scatter_sum_vjp(ct, out, primals, needs, idxs, assign, full, shape, dtype):
    return [getitem(ct, idx=idx) if need else None for idx, need in zip(idxs, needs)]


def _scatter_sum_sparsity(in_shapes, consts, out_shape, idxs, assign, full, shape, dtype):
    pos = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64).reshape(shape)
    return [(pos[idx].ravel(), np.arange(pos[idx].size, dtype=np.int64)) for idx in idxs]


scatter_sum = Primitive(
    "scatter_sum", _scatter_sum_impl, shape=lambda *vs, idxs, assign, full, shape, dtype: (shape, np.dtype(dtype)),
    linear=True, jvp=_scatter_sum_jvp, vjp=_scatter_sum_vjp, sparsity=_scatter_sum_sparsity,
    doc="zeros(shape) with each v_k added at idx_k in turn, in one buffer (the simplifier's fold of a sum of "
        "add_at's into zeros)",
    stem="scat",
)


def _scatter_pieces(s, a, out) -> list | None:
    """[(v, idx)] when a is zeros of out's shape and dtype with pieces added in: add_at(0, v, idx) or a
    scatter_sum; None otherwise."""
    e = s.src(a)
    if e is None:
        return None
    if e.prim is add_at and is_number(e.ins[0], 0):
        v, idx = e.ins[1], e.params["idx"]
        if shape_of(e.ins[0]) != out.shape or dtype_of(e.ins[0]) != out.dtype or dtype_of(v) != out.dtype:
            return None
        if tuple(shape_of(v)) != np.zeros(out.shape, np.int8)[idx].shape:
            return None  # a v broadcast against x[idx]: left as it is
        return [(v, idx)]
    if e.prim is scatter_sum and tuple(e.params["shape"]) == out.shape and np.dtype(e.params["dtype"]) == out.dtype:
        return list(zip(e.ins, e.params["idxs"]))
    return None


def _counts(shape, idx) -> np.ndarray:
    """How many times each position of an array of `shape` is selected by idx."""
    c = np.zeros(shape, np.int32)
    if _is_basic(idx):
        c[idx] = 1
    else:
        np.add.at(c, idx, 1)
    return c


def _merged_scatter(s, first, second, out):
    """One scatter_sum for first + second (lists of pieces), or None when that would not be exact: the
    buffer adds second's pieces one by one onto first's sum, so where first wrote, second may add one
    term at most (else (a + b) + c would stand for a + (b + c))."""
    if math.prod(out.shape) > _MAX_SCATTER_MASK or len(first) + len(second) > 64:
        return None
    counts = [_counts(out.shape, idx) for _, idx in first + second]
    wrote_first = np.zeros(out.shape, bool)
    for c in counts[:len(first)]:
        wrote_first |= c > 0
    if np.any(wrote_first & (sum(counts[len(first):]) > 1)):
        return None
    touched = np.zeros(out.shape, bool)
    assign, covered_by_assign = [], True
    for (_, idx), c in zip(first + second, counts):
        hit = c > 0
        a = _is_basic(idx) and not np.any(touched & hit)  # a first write: plain assignment
        if not a and np.any(hit & ~touched):
            covered_by_assign = False  # += onto positions nobody wrote: they must start at zero
        assign.append(a)
        touched |= hit
    full = covered_by_assign and bool(touched.all())
    pieces = first + second
    return s.apply(scatter_sum, *[v for v, _ in pieces], idxs=tuple(idx for _, idx in pieces),
                   assign=tuple(assign), full=full, shape=out.shape, dtype=out.dtype)


def _rewrite_add_scatters(s, ins, params, out):
    """add_at(0, u, i) + add_at(0, w, j) → scatter_sum(u, w): one buffer instead of three full arrays."""
    first, second = _scatter_pieces(s, ins[0], out), _scatter_pieces(s, ins[1], out)
    if first is None or second is None:
        return None
    return _merged_scatter(s, first, second, out)


def _rewrite_add_at_scatter(s, ins, params, out):
    """add_at(scatter_sum(...), w, j) → one scatter_sum with w added last."""
    first = _scatter_pieces(s, ins[0], out)
    if first is None or dtype_of(ins[1]) != out.dtype:
        return None
    if tuple(shape_of(ins[1])) != np.zeros(out.shape, np.int8)[params["idx"]].shape:
        return None
    return _merged_scatter(s, first, [(ins[1], params["idx"])], out)


ew.add.def_rewrite(_rewrite_add_scatters)
add_at.def_rewrite(_rewrite_add_at_scatter)
