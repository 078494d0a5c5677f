"""Control flow that works eagerly, under every transformation and under jit.

Tracing is by execution, so loops and branches on concrete values are plain Python.
These functions add what staging needs:
- cond with a staged predicate evaluates both branches and selects (like numpy.where);
- fori_loop and scan unroll into the graph (their trip count is static);
- while_loop needs a concrete predicate at every step: it runs eagerly under grad,
  jvp and any nesting, and raises a clear error under jit when the predicate is staged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import _arrays
from .core.staging import ConcretizationError, StagingTracer
from .core.trace import Tracer
from .core.tree import tree_flatten, tree_unflatten
from .errors import PytreeError
from .primitives import elementwise as ew


def _is_staged(x: Any) -> bool:
    while isinstance(x, Tracer):
        if isinstance(x, StagingTracer):
            return True
        x = x.aval
    return False


def cond(pred: Any, true_fun: Callable, false_fun: Callable, *operands: Any) -> Any:
    """true_fun(*operands) if pred else false_fun(*operands).

    With a concrete predicate only the chosen branch runs. Under jit, where the predicate
    is staged, both branches run and the result is selected elementwise (both must return
    the same structure, shapes and dtypes).
    """
    if not _is_staged(pred):
        return true_fun(*operands) if bool(pred.concrete() if isinstance(pred, Tracer) else pred) else false_fun(
            *operands
        )
    t_out, f_out = true_fun(*operands), false_fun(*operands)
    t_leaves, t_tree = tree_flatten(t_out)
    f_leaves, f_tree = tree_flatten(f_out)
    if t_tree != f_tree:
        raise PytreeError(f"cond: the branches return different structures: {t_tree} vs {f_tree}")
    return tree_unflatten(t_tree, [ew.select(pred, a, b) for a, b in zip(t_leaves, f_leaves)])


def _static_int(v: Any, what: str) -> int:
    if isinstance(v, Tracer):
        try:
            return int(v.concrete())
        except ConcretizationError:
            raise ConcretizationError(
                f"fori_loop: the {what} bound is staged under jit; loop bounds must be concrete. "
                "Mark it static with jit(..., static_argnums=...), or use a fixed bound with pullback.numpy.where."
            ) from None
    return int(v)


def fori_loop(lower: Any, upper: Any, body_fun: Callable[[int, Any], Any], init_val: Any) -> Any:
    """val = body_fun(i, val) for i in range(lower, upper); unrolled under jit."""
    val = init_val
    for i in range(_static_int(lower, "lower"), _static_int(upper, "upper")):
        val = body_fun(i, val)
    return val


def while_loop(cond_fun: Callable[[Any], Any], body_fun: Callable[[Any], Any], init_val: Any) -> Any:
    """while cond_fun(val): val = body_fun(val). Differentiable (forward and reverse) when run eagerly;
    under jit the predicate must not depend on staged values."""
    val = init_val
    while True:
        c = cond_fun(val)
        if isinstance(c, Tracer):
            try:
                c = c.concrete()
            except ConcretizationError:
                raise ConcretizationError(
                    "while_loop: the loop condition depends on a staged value under jit, so the number of "
                    "iterations is unknown when tracing. Use fori_loop with a fixed trip count, or call the "
                    "loop outside jit."
                ) from None
        if not bool(c):
            return val
        val = body_fun(val)


def scan(f: Callable[[Any, Any], tuple], init: Any, xs: Any = None, length: int | None = None,
         reverse: bool = False) -> tuple:
    """(carry, ys): carry, y = f(carry, x) over the leading axis of xs; ys stacked. Unrolled under jit."""
    x_leaves, x_tree = tree_flatten(xs)
    if length is None:
        if not x_leaves:
            raise ValueError("scan: give xs or length")
        length = int(np.shape(x_leaves[0])[0]) if not isinstance(x_leaves[0], Tracer) else x_leaves[0].shape[0]
    order = range(length - 1, -1, -1) if reverse else range(length)
    carry, ys = init, [None] * length
    for i in order:
        x = tree_unflatten(x_tree, [leaf[i] for leaf in x_leaves]) if x_leaves else None
        carry, y = f(carry, x)
        ys[i] = y
    if length == 0 or ys[0] is None:
        return carry, None
    y_leaves = [tree_flatten(y)[0] for y in ys]
    y_tree = tree_flatten(ys[0])[1]
    stacked = [_arrays.stack([yl[j] for yl in y_leaves]) for j in range(len(y_leaves[0]))]
    return carry, tree_unflatten(y_tree, stacked)


__all__ = ["cond", "fori_loop", "scan", "while_loop"]
