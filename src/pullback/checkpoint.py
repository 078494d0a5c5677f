"""Rematerialization: reverse mode whose memory does not grow with the length of a computation.

checkpoint(f) stores only f's inputs in the enclosing reverse pass and recomputes f's
intermediates when its cotangent arrives: memory for one more evaluation of f.
checkpoint_scan applies it to segments of a loop of n steps, so the stored states are
O(√n) (segment boundaries, then one segment's tape at a time) for one extra forward pass.

How: under reverse mode, f runs once on the values below the reverse trace while a
recording trace notes its primitive applications in a Graph (no tape is kept). Values f
closes over that are being differentiated (a step function's parameters) are lifted
into extra inputs of the graph, so their cotangents flow like the arguments'. The
backward pass differentiates the recorded graph. Under forward mode or vmap, f simply
runs (nothing is stored there). Under staging (jit, make_graph), checkpoint_scan is a
staged scan over segments of a staged scan: the scans' own reverse rule (which stores
carries only) then stores O(√n) of them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _arrays
from .control import scan
from .core import check
from .core.ad import ReverseTrace, vjp_flat
from .core.ir import Const, Eqn, Graph, ShapeDtype, Var, eval_graph
from .core.lax import concatenate, reshape
from .core.staging import staging_active
from .core.trace import Trace, Tracer, new_trace
from .core.tree import tree_flatten, tree_unflatten
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


def _record(flat_fun: Callable[[list], list], primals: list, cut: int, wrap_all: bool = False):
    """Run flat_fun once on primals (no tape at levels ≥ cut) and return (outputs, graph, captured tracers).

    Float inputs (all inputs with wrap_all) become graph inputs; the others are constants."""
    with new_trace(_RecordingTrace, cut) as trace:
        moving = [wrap_all or isinstance(p, Tracer) or dtype_of(p).kind in "fc" for p in primals]
        ins = [trace.input(p) if m else p for p, m in zip(primals, moving)]
        in_vars = [t.var for t in ins if isinstance(t, _RecordingTracer)]  # now: fun may update them in place
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
    in_vars = in_vars + [v for _, v in captured]
    graph = check.after_pass(Graph(in_vars, trace.eqns, out_atoms), "checkpoint")
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


def _innermost_reverse_trace() -> ReverseTrace | None:
    """The innermost active trace, if it is reverse mode (closures count too, so look at the stack)."""
    from .core.trace import _STACK

    stack = _STACK.get()
    return stack[-1] if stack and isinstance(stack[-1], ReverseTrace) else None


def checkpoint(fun: Callable) -> Callable:
    """fun, rematerialized in reverse mode: its intermediates are recomputed instead of stored.

    The values are the same as fun's; reverse mode stores only fun's inputs and runs fun again
    during the backward pass (see docs/checkpointing.md).

    Parameters
    ----------
    fun : callable
        A function of arrays.

    Returns
    -------
    callable
        A function with fun's signature and values.

    Raises
    ------
    TypeError
        fun calls a custom_vjp / custom_jvp / Function (not supported inside checkpoint yet).

    Examples
    --------
    >>> import pullback as pb, pullback.numpy as np
    >>> block = pb.checkpoint(lambda x: np.sin(np.sin(x)))
    >>> bool(np.allclose(pb.grad(block)(0.5), np.cos(np.sin(0.5)) * np.cos(0.5)))
    True
    """

    @functools.wraps(fun)
    def remat(*args: Any) -> Any:
        top = _innermost_reverse_trace()
        if top is None:
            return fun(*args)
        rule = _CheckpointRule(fun, args, top.level)
        outs = top.process_custom(rule, rule.leaves)
        return tree_unflatten(rule.out_tree, outs)

    return remat


class _ScanRule:
    """checkpoint_scan as one custom call: the step is recorded once and replayed.

    fwd runs the n steps on the values below the reverse trace, keeping only the carry at
    every segment boundary; bwd walks the segments backwards, recomputes one segment's
    carries from its boundary, and pulls the cotangent back through it one step at a time.
    """

    def __init__(self, f: Callable, init: Any, xs: Any, n: int, seg: int, level: int):
        self.f, self.n, self.seg, self.level = f, n, seg, level
        self.carry_leaves, self.carry_tree = tree_flatten(init)
        self.x_leaves, self.x_tree = tree_flatten(xs)
        self.nc, self.nx = len(self.carry_leaves), len(self.x_leaves)
        self.leaves = self.carry_leaves + self.x_leaves
        self.y_tree = None

    def _step_flat(self, flat: list) -> list:
        carry = tree_unflatten(self.carry_tree, flat[: self.nc])
        x = tree_unflatten(self.x_tree, flat[self.nc:]) if self.nx else None
        new_carry, y = self.f(carry, x)
        c_leaves, c_tree = tree_flatten(new_carry)
        if c_tree != self.carry_tree:
            raise TypeError(f"checkpoint_scan: the step returned a carry of structure {c_tree}, "
                            f"but the initial carry has {self.carry_tree}")
        y_leaves, self.y_tree = tree_flatten(y)
        return c_leaves + y_leaves

    def fwd(self, primals: list):
        carry, xs = primals[: self.nc], primals[self.nc:]
        x_at = lambda i: [x[i] for x in xs]  # noqa: E731
        out0, graph, captured, _ = _record(self._step_flat, carry + x_at(0), self.level, wrap_all=True)
        consts = [_below(t, self.level) for t in captured]
        step = lambda c, i: eval_graph(graph, c + x_at(i) + consts)  # noqa: E731
        boundaries, ys = [carry], [out0[self.nc:]]
        carry = out0[: self.nc]
        for i in range(1, self.n):
            if i % self.seg == 0:
                boundaries.append(carry)
            out = step(carry, i)
            carry = out[: self.nc]
            ys.append(out[self.nc:])
        stacked = [_arrays.stack([y[j] for y in ys]) for j in range(len(ys[0]))]

        def bwd(cts, needs):
            ct_carry = [c if c is not None else np.zeros(shape_of(v), dtype_of(v)) for c, v in zip(cts, carry)]
            ct_ys = list(cts[self.nc:])
            ct_xs = [[None] * self.n for _ in xs]
            ct_consts = [None] * len(consts)
            for b in range(len(boundaries) - 1, -1, -1):
                lo, hi = b * self.seg, min((b + 1) * self.seg, self.n)
                carries = [boundaries[b]]
                for i in range(lo, hi - 1):
                    carries.append(step(carries[-1], i)[: self.nc])
                for i in range(hi - 1, lo - 1, -1):
                    ins = carries[i - lo] + x_at(i) + consts
                    diff = [k for k, v in enumerate(ins) if isinstance(v, Tracer) or dtype_of(v).kind in "fc"]

                    def of_diff(sub, ins=ins, diff=diff):
                        flat = list(ins)
                        for k, v in zip(diff, sub):
                            flat[k] = v
                        return eval_graph(graph, flat)

                    _, pullback = vjp_flat(of_diff, [ins[k] for k in diff])
                    y_cts = [None if c is None else c[i] for c in ct_ys]
                    g_all = [None] * len(ins)
                    for k, g in zip(diff, pullback(ct_carry + y_cts)):
                        g_all[k] = g
                    ct_carry = [g if g is not None else np.zeros(shape_of(v), dtype_of(v))
                                for g, v in zip(g_all[: self.nc], ins[: self.nc])]
                    for j in range(len(xs)):
                        ct_xs[j][i] = g_all[self.nc + j]
                    for j, g in enumerate(g_all[self.nc + len(xs):]):
                        if g is not None:
                            ct_consts[j] = g if ct_consts[j] is None else ct_consts[j] + g
            xs_cts = []
            for j, x in enumerate(xs):
                rows = [g if g is not None else np.zeros(shape_of(x)[1:], dtype_of(x)) for g in ct_xs[j]]
                xs_cts.append(_arrays.stack(rows))
            return ct_carry + xs_cts + ct_consts

        return carry + stacked, bwd, captured


def _segmented_scan(f: Callable, init: Any, xs: Any, n: int, seg: int) -> tuple:
    """checkpoint_scan staged: a scan over segments of a scan over steps (then the leftover steps).

    The reverse rule of a staged scan stores each step's carry and recomputes the step in the backward
    pass; for the outer scan a step is a whole segment, so the stored carries are the segment boundaries
    (n / seg of them) plus, while one segment is pulled back, that segment's own (seg): O(√n).
    """
    x_leaves, x_tree = tree_flatten(xs)
    k = n // seg
    head = [reshape(x[:k * seg], shape=(k, seg) + tuple(shape_of(x)[1:])) for x in x_leaves]

    def segment(c, x_seg):
        return scan(f, c, x_seg, length=seg)

    carry, ys = scan(segment, init, tree_unflatten(x_tree, head) if x_leaves else None, length=k)
    y_leaves, y_tree = tree_flatten(ys)
    y_leaves = [reshape(y, shape=(k * seg,) + tuple(shape_of(y)[2:])) for y in y_leaves]
    if k * seg < n:
        tail = tree_unflatten(x_tree, [x[k * seg:] for x in x_leaves]) if x_leaves else None
        carry, ys_tail = scan(f, carry, tail, length=n - k * seg)
        y_leaves = [concatenate(a, b, axis=0) for a, b in zip(y_leaves, tree_flatten(ys_tail)[0])]
    return carry, tree_unflatten(y_tree, y_leaves)


def checkpoint_scan(f: Callable[[Any, Any], tuple], init: Any, xs: Any = None, length: int | None = None,
                    segment_length: int | None = None) -> tuple:
    """scan(f, init, xs) whose reverse mode stores O(√n) carries instead of every step's intermediates.

    The step is recorded once on the first step and replayed (as the body of jax.lax.scan is
    traced once): Python control flow inside f must not depend on the values of the carry or
    of xs. The backward pass recomputes one segment of about √n steps at a time: one extra
    forward pass in total. Outside reverse mode this is pullback.scan.

    Parameters
    ----------
    f : callable
        ``(carry, x) -> (carry, y)``.
    init : pytree of arrays
        The initial carry.
    xs : pytree of arrays, optional
        Scanned over their leading axis.
    length : int, optional
        The number of steps when xs is None.
    segment_length : int, optional
        Steps per recomputed segment (default about √n).

    Returns
    -------
    tuple
        ``(final_carry, ys)``, as pb.scan returns.

    Raises
    ------
    ValueError
        Neither xs nor length is given.
    TypeError
        The step changes the carry's structure.

    Examples
    --------
    >>> import pullback as pb, pullback.numpy as np
    >>> loss = lambda a: pb.checkpoint_scan(lambda c, x: (c * a + x, None), 0.0, np.ones(4))[0]
    >>> pb.grad(loss)(1.0)
    np.float64(6.0)
    """
    x_leaves, _ = tree_flatten(xs)
    n = length if length is not None else (shape_of(x_leaves[0])[0] if x_leaves else None)
    if n is None:
        raise ValueError("checkpoint_scan: give xs or length")
    seg = segment_length or max(1, math.isqrt(max(n - 1, 0)) + 1)
    if staging_active() and n > 0:
        return _segmented_scan(f, init, xs, n, seg)
    top = _innermost_reverse_trace()
    if top is None or n == 0:
        return scan(f, init, xs, length=n)
    rule = _ScanRule(f, init, xs, n, seg, top.level)
    outs = top.process_custom(rule, rule.leaves)
    carry = tree_unflatten(rule.carry_tree, outs[: rule.nc])
    ys = tree_unflatten(rule.y_tree, outs[rule.nc:])
    return carry, ys
