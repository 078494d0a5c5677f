"""pullback.vmap: vectorize a function over a batch axis, composable with every transformation."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from . import _arrays
from .core.batching import BatchTrace, BatchTracer
from .core.trace import new_trace
from .core.tree import tree_flatten, tree_unflatten
from .errors import PullbackError
from .primitives._util import shape_of


class BatchAxisError(PullbackError, ValueError):
    """in_axes / out_axes / axis_size do not fit the arguments."""


def _broadcast_axes(axes: Any, tree: Any, what: str) -> list:
    """in_axes (an int, None, or a pytree prefix of the arguments) → one axis per leaf."""
    if axes is None or isinstance(axes, int):
        return [axes] * len(tree_flatten(tree)[0])
    if isinstance(axes, (tuple, list)) and isinstance(tree, (tuple, list)):
        if len(axes) != len(tree):
            raise BatchAxisError(f"vmap: {what}={axes!r} has {len(axes)} entries for {len(tree)} arguments")
        return [a for ax, t in zip(axes, tree) for a in _broadcast_axes(ax, t, what)]
    if isinstance(axes, dict) and isinstance(tree, dict):
        if set(axes) != set(tree):
            raise BatchAxisError(f"vmap: {what} keys {sorted(axes)} differ from the argument's {sorted(tree)}")
        return [a for k in sorted(tree) for a in _broadcast_axes(axes[k], tree[k], what)]
    leaves, td = tree_flatten(tree)
    ax_leaves, ax_td = tree_flatten(axes)
    if ax_td != td:
        raise BatchAxisError(f"vmap: {what}={axes!r} does not match the structure of the arguments ({td})")
    return ax_leaves


def _move_to_front(x: Any, axis: int):
    nd = len(shape_of(x))
    if not -nd <= axis < nd:
        raise BatchAxisError(f"vmap: in_axes={axis} is out of range for an argument of shape {shape_of(x)}")
    axis %= nd
    return x if axis == 0 else _arrays.moveaxis(x, axis, 0)


def vmap(fun: Callable, in_axes: Any = 0, out_axes: Any = 0, axis_size: int | None = None) -> Callable:
    """fun mapped over an axis of its arguments: vmap(f)(xs)[i] == f(xs[i]).

    One batched run of fun (each primitive has a batching rule), not a Python loop.

    Parameters
    ----------
    fun : callable
        The per-example function.
    in_axes : int, None or pytree, optional
        Per argument: the mapped axis (negative allowed), None for "not mapped", or a pytree
        prefix of the argument giving one entry per leaf (default 0).
    out_axes : int, None or pytree, optional
        Where the batch axis goes in each output (None: the output must not depend on the batch).
    axis_size : int, optional
        The batch size, needed only when no argument is mapped.

    Returns
    -------
    callable
        The batched function.

    Raises
    ------
    BatchAxisError
        in_axes/out_axes do not match the arguments, an axis is out of range, the mapped axes
        have different sizes, or no argument is mapped and axis_size is missing.

    Examples
    --------
    >>> import pullback as pb, pullback.numpy as np
    >>> pb.vmap(lambda row: np.dot(row, row))(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([ 5., 25.])
    >>> pb.vmap(pb.grad(lambda x: x ** 3))(np.array([1.0, 2.0]))
    array([ 3., 12.])
    """

    @functools.wraps(fun)
    def batched_fun(*args):
        args = list(args)
        leaves, in_tree = tree_flatten(args)
        axes = _broadcast_axes(list(in_axes) if isinstance(in_axes, tuple) else in_axes, args, "in_axes")
        sizes = {shape_of(x)[a] for x, a in zip(leaves, axes) if a is not None and _check_rank(x, a)}
        if axis_size is not None:
            sizes.add(axis_size)
        if len(sizes) > 1:
            raise BatchAxisError(f"vmap: the mapped axes have different sizes {sorted(sizes)}; they must agree")
        if not sizes:
            raise BatchAxisError("vmap: no argument is mapped (all in_axes are None); give axis_size")
        (size,) = sizes
        with new_trace(BatchTrace, size) as trace:
            ins = [x if a is None else BatchTracer(trace, _move_to_front(x, a), size) for x, a in zip(leaves, axes)]
            out = fun(*tree_unflatten(in_tree, ins))
            out_leaves, out_tree = tree_flatten(out)
            lowered = []
            for o in out_leaves:
                if type(o) is BatchTracer and o._trace is trace:
                    lowered.append((o.aval, True))
                else:
                    lowered.append((o, False))
        o_axes = _broadcast_axes(out_axes, out, "out_axes")
        from .api import _unaliased

        placed = [_place(v, b, a, size) for (v, b), a in zip(lowered, o_axes)]
        return tree_unflatten(out_tree, _unaliased(placed, leaves))  # never the caller's buffers

    return batched_fun


def _check_rank(x: Any, axis: int) -> bool:
    nd = len(shape_of(x))
    if not -nd <= axis < max(nd, 1) or nd == 0:
        raise BatchAxisError(f"vmap: in_axes={axis} but the argument has shape {shape_of(x)} (rank {nd})")
    return True


def _place(value: Any, batched: bool, axis: int | None, size: int):
    if axis is None:
        if batched:
            raise BatchAxisError("vmap: out_axes=None for an output that depends on the mapped axis")
        return value
    if not batched:
        value = _arrays.broadcast_to(value, (size,) + tuple(shape_of(value)))
    nd = len(shape_of(value))
    if not -nd <= axis < nd:
        raise BatchAxisError(f"vmap: out_axes={axis} is out of range for an output of rank {nd - 1}")
    axis %= nd
    return _arrays.output_leaf(_arrays.moveaxis(value, 0, axis))


__all__ = ["BatchAxisError", "vmap"]
