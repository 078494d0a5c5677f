"""The engine's own primitives: the few operations that core/ itself must apply.

    add, convert                       accumulate cotangents, cast them to an input's dtype
    reshape, broadcast_to, sum_to      broadcast tangents, unbroadcast cotangents (`fit`)
    concatenate, getitem, add_at       stack and split batches (vmap), blocks of zeros (rewrites)

Each is defined here with all its rules (forward, reverse, batching), traits and hooks
(rewrite rules, rendering, name stem), like every other primitive; primitives/ re-exports
them under the same names. Nothing here imports from above core/.

`fit` is the unbroadcast helper: the cotangent of a broadcast operand is summed back to
its shape, and cast to its dtype. The batching helpers at the end (`loop_rule`,
`expand_batched`, `materialize` ...) are built from these primitives; core/batching.py
re-exports them for the rule writers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import backend
from .atoms import ShapeDtype, aval_of, fits, is_number, zero_like
from .codegen import astype, index_render, infix
from .primitive import Primitive
from .shapes import broadcast_rule, dtype_of, result_dtype, shape_of

# ----------------------------------------------------------------------------- rewrite helpers


def block_of_index(idx: Any, shape: tuple):
    """(axis, start, stop, drops_axis) when x[idx] is one contiguous block along a single axis, else None.

    Only basic indices qualify (ints and unit-step slices, no None/Ellipsis/arrays), so that no
    element repeats and `add_at` at idx is an exact copy into disjoint positions. ("all",) when
    idx selects everything.
    """
    items = idx if isinstance(idx, tuple) else (idx,)
    if len(items) > len(shape):
        return None
    found = None
    for ax, it in enumerate(items):
        n = shape[ax]
        if isinstance(it, slice):
            if not all(v is None or (isinstance(v, (int, np.integer)) and not isinstance(v, bool))
                       for v in (it.start, it.stop, it.step)):
                return None
            start, stop, step = it.indices(n)
            if step != 1:
                return None
            stop = max(stop, start)
            if (start, stop) == (0, n):
                continue
            block = (ax, start, stop, False)
        elif isinstance(it, (int, np.integer)) and not isinstance(it, bool):
            i = int(it)
            if not -n <= i < n:
                return None
            block = (ax, i % n, i % n + 1, True)
        else:
            return None
        if found is not None:
            return None
        found = block
    return found if found is not None else ("all",)


def blocks(s, a, out: ShapeDtype):
    """(axis or None, {start: (stop, piece)}) when a is zeros except for disjoint blocks along one axis."""
    av = aval_of(a)
    if av.shape != out.shape or av.dtype != out.dtype:
        return None
    if is_number(a, 0):
        return (None, {})
    src = s.src(a, concatenate)
    if src is None:
        return None
    ax, pos, found = src.params["axis"], 0, {}
    for piece in src.ins:
        n = aval_of(piece).shape[ax]
        if not is_number(piece, 0) and n:
            found[pos] = (pos + n, piece)
        pos += n
    return ax, found


def merge_blocks(b1, b2):
    """The union of two block sets along the same axis, or None when they overlap."""
    (ax1, d1), (ax2, d2) = b1, b2
    if ax1 is not None and ax2 is not None and ax1 != ax2:
        return None
    ax = ax1 if ax1 is not None else ax2
    spans = sorted([(st, stop) for st, (stop, _) in d1.items()] + [(st, stop) for st, (stop, _) in d2.items()])
    for (_, e0), (s1, _) in zip(spans, spans[1:]):
        if s1 < e0:
            return None  # overlapping blocks: adding them is arithmetic, not a copy
    return ax, {**d1, **d2}


def concat_blocks(s, ax, found: dict, out: ShapeDtype):
    """The canonical concatenate of the blocks, with zero constants in the gaps."""
    if ax is None or not found:
        return zero_like(out)
    pieces, pos = [], 0
    n = out.shape[ax]
    for start in sorted(found):
        stop, piece = found[start]
        if start > pos:
            pieces.append(zero_like(ShapeDtype(out.shape[:ax] + (start - pos,) + out.shape[ax + 1:], out.dtype)))
        pieces.append(piece)
        pos = stop
    if pos < n:
        pieces.append(zero_like(ShapeDtype(out.shape[:ax] + (n - pos,) + out.shape[ax + 1:], out.dtype)))
    if len(pieces) == 1:
        return pieces[0]
    return s.bind(concatenate, pieces, {"axis": ax})


# ----------------------------------------------------------------------------- add, convert


def fit(g, x):
    """Make cotangent g match x: sum over broadcast axes, and cast (complex → real part) to x's dtype.

    Parameters
    ----------
    g : array
        A cotangent, possibly of the broadcast shape.
    x : array
        The argument it belongs to.

    Returns
    -------
    array
        g summed to x's shape and cast to x's floating dtype.

    Examples
    --------
    >>> import numpy
    >>> from pullback.extend import fit
    >>> fit(numpy.ones((2, 3)), numpy.zeros(3))
    array([2., 2., 2.])
    """
    xs, xd = shape_of(x), dtype_of(x)
    if g.shape != xs:
        g = sum_to(g, shape=xs)
    if dtype_of(g) != xd and xd.kind in "fc":
        g = convert(g, dtype=xd)
    return g


def _rewrite_add(s, ins, params, out):
    """0 + b → b; disjoint blocks of zeros added → their concatenate (a copy, not arithmetic)."""
    a, b = ins
    for i in (0, 1):
        if is_number(ins[i], 0):
            return s.broadcast(ins[1 - i], out)
    ba, bb = blocks(s, a, out), blocks(s, b, out)
    if ba is not None and bb is not None:
        merged = merge_blocks(ba, bb)
        if merged is not None:
            return concat_blocks(s, *merged, out)
    return None


add = Primitive(
    "add", np.add, shape=broadcast_rule, linear=True,
    jvps=[lambda t, out, x, y: t, lambda t, out, x, y: t],
    vjps=[lambda ct, out, x, y: ct, lambda ct, out, x, y: ct],  # the backward pass unbroadcasts (fit)
    doc="x + y",
    commutative=True, broadcasting=True, weak_preserving=True,
    rewrite=_rewrite_add, render=infix("+"), xp_impl=lambda xp, x, y: xp.add(x, y), scalar_expr="({0} + {1})",
)


def _convert_impl(x, dtype):
    if np.dtype(dtype).kind != "c" and np.iscomplexobj(x):
        x = np.real(x)  # complex → real keeps the real part, without NumPy's ComplexWarning
    return np.asarray(x).astype(dtype, copy=False) if not isinstance(x, np.generic) else x.astype(dtype)


def _convert_xp(xp, x, dtype):
    if backend.numpy_dtype(dtype).kind != "c" and backend.numpy_dtype(x.dtype).kind == "c":
        x = xp.real(x)
    return xp.astype(x, backend.xp_dtype(xp, dtype))


def _convert_back(ct, x):
    """The transpose of a cast: cast back (a complex cotangent of a real input keeps its real part)."""
    xd = dtype_of(x)
    return convert(ct, dtype=xd) if dtype_of(ct) != xd else ct


def _rewrite_identity(s, ins, params, out):
    """A no-op (the operand already has the output's shape and dtype) is dropped."""
    return ins[0] if fits(ins[0], out) else None


def _convert_scalar(args, dtype):
    """numba: a cast of one element (to float64, int64 or bool; None for other dtypes)."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return f"({args[0]} != 0)"
    return f"np.{dt.name}({args[0]})" if dt in (np.dtype(np.float64), np.dtype(np.int64)) else None


convert = Primitive(
    "convert", _convert_impl, shape=lambda x, dtype: (shape_of(x), np.dtype(dtype)), linear=True,
    jvps=[lambda t, out, x, dtype: convert(t, dtype=dtype)],
    vjps=[lambda ct, out, x, dtype: _convert_back(ct, x)],
    doc="x.astype(dtype) between inexact dtypes (complex → real keeps the real part)",
    elementwise=True, negation_commutes=True,
    rewrite=_rewrite_identity, render=astype, stem="cast", xp_impl=_convert_xp, scalar_expr=_convert_scalar,
)

# ----------------------------------------------------------------------------- reshape, broadcast_to, sum_to


def _reshape_impl(x, shape):
    return np.reshape(x, shape)


def _reshape_xp(xp, x, shape):
    """Dask reshapes only by merging or splitting axes: any other reshape goes through the flat array."""
    if backend.is_lazy(xp) and len(shape) and x.ndim > 1:
        try:
            return xp.reshape(x, shape)
        except (ValueError, NotImplementedError):
            return xp.reshape(xp.reshape(x, (-1,)), shape)
    return xp.reshape(x, shape)


def _drop_noop_or_fold_nested(s, x, out, prim: Primitive):
    """A shape-changing `prim` (reshape, broadcast_to) applied to x with result `out`: x itself when
    the result already fits x; prim(prim(y)) → prim(y, shape=out.shape); else None (no rewrite)."""
    if fits(x, out):
        return x
    src = s.src(x, prim)
    if src is not None:
        return s.apply(prim, src.ins[0], shape=out.shape)
    return None


def _rewrite_reshape(s, ins, params, out):
    """reshape to its own shape → x; reshape(reshape(x)) → reshape(x)."""
    return _drop_noop_or_fold_nested(s, ins[0], out, reshape)


def _lower_reshape(ctx, e, a):
    """numba: a contiguous copy (or the array itself) reshaped; 0-d values are scalars there."""
    src, out = ctx.in_shapes[0], ctx.out_shape
    if src == () and out == ():
        return a[0]
    if src == ():
        return f"np.full({out!r}, {a[0]})"
    if out == ():
        return f"np.ascontiguousarray({a[0]}).reshape((1,))[0]"
    return f"np.ascontiguousarray({a[0]}).reshape({out!r})"


def _lower_broadcast_to(ctx, e, a):
    """numba: np.full of a scalar, np.broadcast_to of an array (a read-only view)."""
    out = ctx.out_shape
    if out == ():
        return a[0] if ctx.in_shapes[0] == () else None
    if ctx.in_shapes[0] == ():
        return f"np.full({out!r}, {a[0]})"
    return f"np.broadcast_to({a[0]}, {out!r})"


def _lower_getitem(ctx, e, a):
    """numba: basic indexing (integers and literal slices) only."""
    if ctx.in_shapes[0] == ():
        return None
    text = _basic_index(ctx, e.params["idx"])
    return None if text is None else f"{a[0]}[{text}]"


def _lower_add_at(ctx, e, a):
    """numba: a copy of x, then x[idx] += v, for basic indices (no element repeats)."""
    if ctx.in_shapes[0] == () or np.dtype(e.outs[0].aval.dtype) != np.dtype(e.ins[0].aval.dtype):
        return None
    text = _basic_index(ctx, e.params["idx"])
    return None if text is None else ["$out = np.copy(" + a[0] + ")", f"$out[{text}] += {a[1]}"]


def _lower_concatenate(ctx, e, a):
    """numba: np.concatenate of a tuple of arrays."""
    if any(s == () for s in ctx.in_shapes):
        return None
    return f"np.concatenate(({', '.join(a)},), axis={int(e.params['axis'])})"


def _basic_index(ctx, idx):
    """The text inside x[...] for an index of integers and literal slices, else None."""
    items = idx if isinstance(idx, tuple) else (idx,)
    if not items:
        return None
    parts = []
    for i in items:
        if isinstance(i, slice):
            ends = [ctx.lit(x) for x in (i.start, i.stop, i.step)]
            if any(t is None for t in ends):
                return None
            parts.append(":".join("" if x is None else t for x, t in zip((i.start, i.stop, i.step), ends)))
        elif isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_)):
            parts.append(str(int(i)))
        else:
            return None
    return ", ".join(parts)


reshape = Primitive(
    "reshape", _reshape_impl, shape=lambda x, shape: (shape, dtype_of(x)), linear=True,
    jvps=[lambda t, out, x, shape: reshape(t, shape=shape)],
    vjps=[lambda ct, out, x, shape: reshape(ct, shape=shape_of(x))],
    doc="x.reshape(shape) (shape fully specified, no -1)",
    negation_commutes=True, rewrite=_rewrite_reshape, stem="rs", lower=_lower_reshape,
    xp_impl=lambda xp, x, shape: _reshape_xp(xp, x, tuple(shape)),
    render=lambda em, e, a: f"np.reshape({a[0]}, {em.lit(tuple(e.params['shape']))})",
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


def _sum_to_xp(xp, x, shape):
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and x.shape[i + lead] != 1)
    return xp.reshape(xp.sum(x, axis=axes, keepdims=True) if axes else x, tuple(shape))


def _rewrite_broadcast_to(s, ins, params, out):
    """broadcast_to its own shape → x; broadcast_to(broadcast_to(x)) → broadcast_to(x)."""
    return _drop_noop_or_fold_nested(s, ins[0], out, broadcast_to)


broadcast_to = Primitive(
    "broadcast_to", _broadcast_to_impl, shape=lambda x, shape: (shape, dtype_of(x)), linear=True,
    jvps=[lambda t, out, x, shape: broadcast_to(t, shape=shape)],
    vjps=[lambda ct, out, x, shape: sum_to(ct, shape=shape_of(x))],
    doc="numpy.broadcast_to; transpose: sum_to",
    rewrite=_rewrite_broadcast_to, stem="bc", xp_impl=lambda xp, x, shape: xp.broadcast_to(x, tuple(shape)),
    render=lambda em, e, a: f"np.broadcast_to({a[0]}, {em.lit(tuple(e.params['shape']))})",
    lower=_lower_broadcast_to,
)
sum_to = Primitive(
    "sum_to", _sum_to_impl, shape=lambda x, shape: (shape, dtype_of(x)), linear=True,
    jvps=[lambda t, out, x, shape: sum_to(t, shape=shape)],
    vjps=[lambda ct, out, x, shape: broadcast_to(ct, shape=shape_of(x))],
    doc="sum over the axes that broadcasting `shape` to x.shape would create; transpose: broadcast_to",
    negation_commutes=True, rewrite=_rewrite_identity, stem="sumto", xp_impl=_sum_to_xp,
)

# ----------------------------------------------------------------------------- concatenate


def _concat_impl(*xs, axis):
    return np.concatenate(xs, axis=axis)


def _concat_shape(*xs, axis):
    shapes = [shape_of(x) for x in xs]
    out = list(shapes[0])
    out[axis] = sum(sh[axis] for sh in shapes)
    return tuple(out), np.result_type(*[dtype_of(x) for x in xs])


def _concat_jvp(primals, tangents, out, axis):
    if all(t is None for t in tangents):
        return None
    ts = [backend.zeros_like_value(shape_of(p), dtype_of(out), p) if t is None else t
          for p, t in zip(primals, tangents, strict=False)]
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


def _rewrite_concatenate(s, ins, params, out):
    """Flatten nested concatenates, drop empty pieces, merge neighbouring zero pieces."""
    ax = params["axis"]
    flat, changed = [], False
    for a in ins:
        src = s.src(a, concatenate)
        if src is not None and src.params["axis"] == ax:
            flat.extend(src.ins)
            changed = True
        elif aval_of(a).shape[ax] == 0:
            changed = True
        else:
            flat.append(a)
    merged: list = []
    for a in flat:
        if merged and is_number(a, 0) and is_number(merged[-1], 0) and aval_of(a).dtype == aval_of(merged[-1]).dtype:
            prev = aval_of(merged[-1]).shape
            n = prev[ax] + aval_of(a).shape[ax]
            merged[-1] = zero_like(ShapeDtype(prev[:ax] + (n,) + prev[ax + 1:], aval_of(a).dtype))
            changed = True
        else:
            merged.append(a)
    if not changed:
        return None
    if not merged:
        return zero_like(out)
    if len(merged) == 1:
        return s.broadcast(merged[0], out)
    return s.bind(concatenate, merged, params)


concatenate = Primitive(
    "concatenate", _concat_impl, shape=_concat_shape, linear=True,
    jvp=_concat_jvp, vjp=_concat_vjp,
    doc="numpy.concatenate along a non-negative axis; transpose: slices of the cotangent",
    rewrite=_rewrite_concatenate, stem="cat", xp_impl=lambda xp, *xs, axis: xp.concat(list(xs), axis=axis),
    render=lambda em, e, a: f"np.concatenate([{', '.join(a)}], axis={em.lit(e.params['axis'])})",
    lower=_lower_concatenate,
)

# ----------------------------------------------------------------------------- getitem, add_at


def _getitem_impl(x, idx):
    return np.asarray(x)[idx]


def _is_basic(idx) -> bool:
    """True when idx uses only ints, slices, None and Ellipsis (no element can repeat)."""
    items = idx if isinstance(idx, tuple) else (idx,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


def zeros_to_scatter_into(shape, dtype):
    """A zero array for add_at to scatter into (the transpose of getitem). A large one is a read-only
    broadcast of one zero, so that add_at writes into a fresh zero array instead of copying it."""
    if math.prod(shape) < 4096:
        return np.zeros(shape, dtype)
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


def getitem_vjp_into(prev, ct, out, x, idx):
    """prev + getitem's VJP, as one add_at into prev: when x already has a cotangent (x[0::2] and
    x[1::2] both used), no zero array is filled and no whole-array sum follows."""
    return add_at(prev, ct, idx=idx)


def _rewrite_getitem(s, ins, params, out):
    """x[everything] → x."""
    if fits(ins[0], out) and block_of_index(params["idx"], aval_of(ins[0]).shape) == ("all",):
        return ins[0]
    return None


getitem = Primitive(
    "getitem", _getitem_impl, shape=_getitem_shape, linear=True,
    jvps=[lambda t, out, x, idx: getitem(t, idx=idx)],
    vjps=[_getitem_vjp], vjp=lambda ct, out, primals, needs, idx: (_getitem_vjp(ct, out, primals[0], idx),),
    doc="x[idx] (basic, advanced and boolean indexing); transpose: add_at into zeros",
    negation_commutes=True, rewrite=_rewrite_getitem, render=index_render, stem="idx", lower=_lower_getitem,
    xp_impl=lambda xp, x, idx: backend.getitem(xp, x, idx),
)


def _add_at_v_vjp(ct, out, x, v, idx):
    return getitem(ct, idx=idx)


def _add_at_call(x, v, idx):
    return _add_at_impl(x, idx, v)


def _rewrite_add_at(s, ins, params, out):
    """add_at(blocks, v, idx) → concatenate of the blocks when idx is a new disjoint block."""
    x, v = ins
    if is_number(v, 0):
        return s.broadcast(x, out)
    vb = aval_of(v)
    if vb.dtype != out.dtype:
        return None
    blk = block_of_index(params["idx"], out.shape)
    base = blocks(s, x, out)
    if blk is None or base is None:
        return None
    if blk == ("all",):
        return s.apply(add, x, v) if vb.shape == out.shape else None
    ax, start, stop, drops = blk
    piece_shape = out.shape[:ax] + (stop - start,) + out.shape[ax + 1:]
    if drops:
        if vb.shape != out.shape[:ax] + out.shape[ax + 1:]:
            return None
        v = s.apply(reshape, v, shape=piece_shape)
    elif vb.shape != piece_shape:
        return None
    merged = merge_blocks(base, (ax, {start: (stop, v)}))
    if merged is None:
        return None
    return concat_blocks(s, *merged, out)


def _add_at_jvp(primals, tangents, out, idx):
    """tx + tv scattered at idx: one add_at when both are nonzero."""
    x, (tx, tv) = primals[0], tangents
    if tv is None:
        return tx
    if tx is None:
        tx = zeros_to_scatter_into(shape_of(x), dtype_of(tv))
    return add_at(tx, tv, idx=idx)


add_at = Primitive(
    "add_at", _add_at_call,
    shape=lambda x, v, idx: (shape_of(x), result_dtype(x, v)), linear=True,
    jvps=[lambda t, out, x, v, idx: t,
          lambda t, out, x, v, idx: add_at(zeros_to_scatter_into(shape_of(x), dtype_of(t)), t, idx=idx)],
    jvp=_add_at_jvp,
    vjps=[lambda ct, out, x, v, idx: ct, _add_at_v_vjp],
    doc="a copy of x with v added at x[idx]; repeated indices accumulate (numpy.add.at)",
    rewrite=_rewrite_add_at, stem="addat", lower=_lower_add_at,
    xp_impl=lambda xp, x, v, idx: backend.scatter(xp, x, v, idx, accumulate=True),
)

# ----------------------------------------------------------------------------- batching helpers
# Batched values carry the batch axis first (core/batching.py). These helpers are built from the
# primitives above; core/batching.py re-exports them for the batching rules of every family.


def take(x, i: int):
    """Example i of a batched value."""
    return getitem(x, idx=i)


def stack(xs: list):
    """Examples stacked along a new leading batch axis."""
    return concatenate(*[reshape(x, shape=(1,) + tuple(shape_of(x))) for x in xs], axis=0)


def loop_rule(prim) -> Callable:
    """The fallback batching rule: apply prim to each example and stack."""

    def rule(vals, batched, **params):
        size = next(shape_of(v)[0] for v, b in zip(vals, batched) if b)
        outs = [prim.bind(*[take(v, i) if b else v for v, b in zip(vals, batched)], **params) for i in range(size)]
        if prim.multiple_results:
            return tuple(stack([o[j] for o in outs]) for j in range(len(outs[0])))
        return stack(outs)

    return rule


def expand_batched(x, batched: bool, rank: int):
    """A batched value (B, *s) reshaped to (B, 1, ..., 1, *s) with `rank` axes after the batch axis."""
    if not batched:
        return x
    sh = tuple(shape_of(x))
    pad = rank - (len(sh) - 1)
    return x if pad <= 0 else reshape(x, shape=(sh[0],) + (1,) * pad + sh[1:])


def broadcasting_rule(prim) -> Callable:
    """Operands that broadcast (elementwise ops, stacks of matrices): align each batched operand's rank
    with the others' so its batch axis leads the result; NumPy's broadcasting does the rest."""

    def rule(vals, batched, **params):
        rank = max(len(shape_of(v)) - (1 if b else 0) for v, b in zip(vals, batched))
        return prim.bind(*[expand_batched(v, b, rank) for v, b in zip(vals, batched)], **params)

    return rule


def batch_size_of(vals, batched) -> int:
    """The batch size: the leading axis of the first batched argument (a batching rule's helper).

    Examples
    --------
    >>> import numpy
    >>> from pullback.extend import batch_size_of
    >>> batch_size_of([numpy.ones(3), numpy.ones((5, 3))], [False, True])
    5
    """
    return next(shape_of(v)[0] for v, b in zip(vals, batched) if b)


def materialize(x, batched: bool, size: int):
    """x with a leading batch axis: an unbatched value is broadcast to the batch."""
    if batched:
        return x
    return broadcast_to(x, shape=(size,) + tuple(shape_of(x)))


def all_batched(vals, batched) -> list:
    """Every argument with a leading batch axis (the unbatched ones broadcast)."""
    size = batch_size_of(vals, batched)
    return [materialize(v, b, size) for v, b in zip(vals, batched)]


# Indexing falls back to a loop when NumPy would move the batch axis (advanced indices separated
# by a slice, Ellipsis or newaxis).


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


def index_update_batch(prim) -> Callable:
    """Batching rule of add_at / scatter: the target gets the batch axis, the index skips it, the update
    is aligned."""

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
    sh = shape_of(x)
    target = (sh[0],) + (1,) * (len(sh) - 1 - len(shape)) + tuple(shape)
    return reshape(sum_to(x, shape=target), shape=(sh[0],) + tuple(shape))


def _concatenate_batch(vals, batched, axis):
    return concatenate(*all_batched(vals, batched), axis=axis + 1)


add.batch = broadcasting_rule(add)
convert.batch = broadcasting_rule(convert)
reshape.batch = lambda vals, batched, shape: reshape(vals[0], shape=(shape_of(vals[0])[0],) + tuple(shape))
broadcast_to.batch = _broadcast_to_batch
sum_to.batch = _sum_to_batch
concatenate.batch = _concatenate_batch
getitem.batch = _getitem_batch
add_at.batch = index_update_batch(add_at)
