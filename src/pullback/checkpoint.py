"""Rematerialization: reverse mode whose memory does not grow with the length of a computation.

checkpoint(f) stores only f's inputs in the enclosing reverse pass and re-runs f (with a
tape) when its cotangent arrives: memory for f's intermediates is traded for one more
evaluation of f. checkpoint_scan applies it to segments of a loop of n steps, so the
stored states are O(√n) (segment boundaries, then one segment's tape at a time) for one
extra forward pass in total.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

from .control import scan
from .core.ad import jvp_flat, vjp_flat
from .core.trace import find_top_trace
from .core.tree import tree_flatten, tree_map, tree_unflatten
from .custom import _Call


class _CheckpointRule:
    """The custom-call interface (see custom.py) for a rematerialized function."""

    def __init__(self, fun: Callable, call: _Call):
        self.fun, self.call = fun, call

    def _flat_fun(self, flat: list) -> list:
        return self.call.flat_out(self.fun(*self.call.rebuild(flat)))

    def primal(self, primals: list) -> list:
        return self._flat_fun(primals)

    primal_bind = primal  # one level down, f's own operations are interpreted as usual

    def fwd(self, primals: list):
        outs = self._flat_fun(primals)

        def bwd(cts, needs):
            wanted = [i for i, need in enumerate(needs) if need]

            def of_wanted(sub: list) -> list:
                flat = list(primals)
                for i, v in zip(wanted, sub):
                    flat[i] = v
                return self._flat_fun(flat)

            _, pullback = vjp_flat(of_wanted, [primals[i] for i in wanted])  # recompute, with a tape
            cts_in = [None] * len(primals)
            for i, g in zip(wanted, pullback(list(cts))):
                cts_in[i] = g
            return cts_in

        return outs, bwd

    def jvp(self, primals: list, tangents: list):
        moving = [i for i, t in enumerate(tangents) if t is not None]

        def of_moving(sub: list) -> list:
            flat = list(primals)
            for i, v in zip(moving, sub):
                flat[i] = v
            return self._flat_fun(flat)

        return jvp_flat(of_moving, [primals[i] for i in moving], [tangents[i] for i in moving])


def checkpoint(fun: Callable) -> Callable:
    """fun, rematerialized in reverse mode: its intermediates are recomputed instead of stored."""

    @functools.wraps(fun)
    def remat(*args: Any) -> Any:
        call = _Call(args, ())
        top = find_top_trace(call.leaves)
        if top is None:
            return fun(*args)
        rule = _CheckpointRule(fun, call)
        rule.level = top.level
        outs = top.process_custom(rule, call.leaves)
        return tree_unflatten(call.out_tree, outs)

    return remat


def checkpoint_scan(f: Callable[[Any, Any], tuple], init: Any, xs: Any = None, length: int | None = None,
                    segment_length: int | None = None) -> tuple:
    """scan(f, init, xs) with the steps grouped into checkpointed segments of about √n steps.

    Reverse mode then stores the carry at each segment boundary and one segment's
    intermediates at a time: O(√n) stored states, at the cost of one extra forward pass.
    """
    from . import numpy as pnp

    x_leaves, x_tree = tree_flatten(xs)
    n = length if length is not None else (x_leaves[0].shape[0] if x_leaves else None)
    if n is None:
        raise ValueError("checkpoint_scan: give xs or length")
    seg = segment_length or max(1, math.isqrt(n - 1) + 1 if n > 1 else 1)

    @checkpoint
    def run_segment(carry, xs_seg, steps):
        return scan(f, carry, xs_seg, length=steps)

    carry, parts = init, []
    for start in range(0, n, seg):
        steps = min(seg, n - start)
        xs_seg = tree_unflatten(x_tree, [leaf[start:start + steps] for leaf in x_leaves]) if x_leaves else None
        carry, ys = run_segment(carry, xs_seg, steps)
        parts.append(ys)
    if not parts or parts[0] is None:
        return carry, None
    ys = tree_map(lambda *segs: pnp.concatenate(segs, axis=0), *parts)
    return carry, ys
