"""Rematerialization: reverse mode whose memory does not grow with the length of a computation.

checkpoint(f) stores only f's inputs in the enclosing reverse pass and recomputes f's
intermediates when its cotangent arrives: memory for one more evaluation of f.
checkpoint_scan applies it to segments of a loop of n steps, so the stored states are
O(√n) (segment boundaries, then one segment's tape at a time) for one extra forward pass.

How: under reverse mode, f runs once on the values below the reverse trace while a
recording trace notes its primitive applications in a Graph (no tape is kept). Values f
closes over that are being differentiated (a step function's parameters) are lifted
into extra inputs of the graph, so their cotangents flow like the arguments'. The
backward pass differentiates the recorded graph. Under forward mode, vmap or staging,
f simply runs (nothing is stored there).
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

from .control import scan
from .core.ad import ReverseTrace, vjp_flat
from .core.ir import Const, Eqn, Graph, ShapeDtype, Var, eval_graph
from .core.trace import Trace, Tracer, find_top_trace, new_trace
from .core.tree import tree_flatten, tree_map, tree_unflatten
from .primitives._util import dtype_of, shape_of


class _RecordingTracer(Tracer):
    __slots__ = ("aval", "var")

    def __init__(self, trace: Trace, value: Any, var: Var):
        self._trace = trace
        self.aval = value
        self.var = var


def _below(x: Any, level: int) -> Any:
    """x's value under every tracer of level ≥ `level`."""
    while isinstance(x, Tracer) and x._trace.level >= level:
        x = x.aval
    return x


class _RecordingTrace(Trace):
    """Computes on concrete values below `cut` and records each primitive application."""

    __slots__ = ("cut", "eqns", "captured")

    def __init__(self, level: int, cut: int):
        super().__init__(level)
        self.cut = cut
        self.eqns: list = []
        self.captured: dict = {}  # id(tracer) -> (tracer, Var): closed-over values being differentiated

    def input(self, value: Any) -> _RecordingTracer:
        return _RecordingTracer(self, value, Var(ShapeDtype(shape_of(value), dtype_of(value))))

    def _atom(self, a):
        if isinstance(a, _RecordingTracer) and a._trace is self:
            return a.aval, a.var
        if isinstance(a, Tracer) and a._trace.level >= self.cut:
            if id(a) not in self.captured:
                self.captured[id(a)] = (a, Var(ShapeDtype(a.shape, a.dtype)))
            return _below(a, self.cut), self.captured[id(a)][1]
        return a, Const(a)

    def process_primitive(self, prim, args, params):
        vals, atoms = zip(*[self._atom(a) for a in args]) if args else ((), ())
        out = prim.bind(*vals, **params)
        if prim.multiple_results:
            outs = [self.input(o) for o in out]
            self.eqns.append(Eqn(prim, list(atoms), dict(params), [t.var for t in outs]))
            return tuple(outs)
        t = self.input(out)
        self.eqns.append(Eqn(prim, list(atoms), dict(params), [t.var]))
        return t

    def process_custom(self, rule, args):
        raise TypeError("custom-derivative functions inside pullback.checkpoint are not supported yet")


def _record(flat_fun: Callable[[list], list], primals: list, cut: int):
    """Run flat_fun once on primals (no tape at levels ≥ cut) and return (outputs, graph, captured tracers)."""
    with new_trace(_RecordingTrace, cut) as trace:
        moving = [isinstance(p, Tracer) or dtype_of(p).kind in "fc" for p in primals]
        ins = [trace.input(p) if m else p for p, m in zip(primals, moving)]
        outs = flat_fun(ins)
        out_vals, out_atoms = [], []
        for o in outs:
            if isinstance(o, _RecordingTracer) and o._trace is trace:
                out_vals.append(o.aval)
                out_atoms.append(o.var)
            else:
                out_vals.append(_below(o, cut))
                out_atoms.append(Const(o))
    captured = list(trace.captured.values())
    in_vars = [t.var for t in ins if isinstance(t, _RecordingTracer)] + [v for _, v in captured]
    graph = Graph(in_vars, trace.eqns, out_atoms)
    return out_vals, graph, [t for t, _ in captured], moving


class _CheckpointRule:
    """The custom-call interface of ReverseTrace.process_custom for a rematerialized function."""

    def __init__(self, fun: Callable, args: tuple, level: int):
        self.fun, self.args, self.level = fun, args, level
        self.leaves, self.in_tree = tree_flatten(args)
        self.out_tree = None

    def _flat_fun(self, flat: list) -> list:
        out = self.fun(*tree_unflatten(self.in_tree, flat))
        leaves, self.out_tree = tree_flatten(out)
        return leaves

    def fwd(self, primals: list):
        outs, graph, captured, moving = _record(self._flat_fun, primals, self.level)
        graph_ins = [p for p, m in zip(primals, moving) if m] + [_below(t, self.level) for t in captured]
        positions = [i for i, m in enumerate(moving) if m] + [len(primals) + j for j in range(len(captured))]

        def bwd(cts, needs):
            wanted = [k for k, pos in enumerate(positions) if needs[pos]]

            def of_wanted(sub: list) -> list:
                flat = list(graph_ins)
                for k, v in zip(wanted, sub):
                    flat[k] = v
                return eval_graph(graph, flat)

            _, pullback = vjp_flat(of_wanted, [graph_ins[k] for k in wanted])  # recompute, with a tape
            cts_in = [None] * (len(primals) + len(captured))
            for k, g in zip(wanted, pullback(list(cts))):
                cts_in[positions[k]] = g
            return cts_in

        return outs, bwd, captured


def checkpoint(fun: Callable) -> Callable:
    """fun, rematerialized in reverse mode: its intermediates are recomputed instead of stored."""

    @functools.wraps(fun)
    def remat(*args: Any) -> Any:
        leaves, _ = tree_flatten(args)
        top = find_top_trace(leaves)
        if not isinstance(top, ReverseTrace):
            return fun(*args)
        rule = _CheckpointRule(fun, args, top.level)
        outs = top.process_custom(rule, rule.leaves)
        return tree_unflatten(rule.out_tree, outs)

    return remat


def checkpoint_scan(f: Callable[[Any, Any], tuple], init: Any, xs: Any = None, length: int | None = None,
                    segment_length: int | None = None) -> tuple:
    """scan(f, init, xs) with the steps grouped into checkpointed segments of about √n steps.

    Reverse mode then stores the carry at each segment boundary and one segment's
    intermediates at a time: O(√n) stored states, at the cost of one extra forward pass.
    """
    from . import numpy as pnp

    x_leaves, x_tree = tree_flatten(xs)
    n = length if length is not None else (shape_of(x_leaves[0])[0] if x_leaves else None)
    if n is None:
        raise ValueError("checkpoint_scan: give xs or length")
    seg = segment_length or max(1, math.isqrt(max(n - 1, 0)) + 1)

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
