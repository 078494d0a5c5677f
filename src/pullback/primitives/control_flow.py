"""Control flow as higher-order primitives: scan, while_loop and cond hold their bodies as closed
sub-graphs (core/subgraph.py), so a staged loop stays one equation whatever its trip count.

    scan(consts, init, xs; body, n_consts, n_carry, length, reverse) -> (carry, ys)
        body(consts, carry, x) -> (carry, y), applied over the leading axis of xs; ys stacked
    while_loop(cond_consts, body_consts, init; cond_body, body, n_cond_consts, n_body_consts) -> carry
        while cond_body(cond_consts, carry): carry = body(body_consts, carry)
    cond(pred, operands; true_branch, false_branch) -> true_branch(operands) if pred else false_branch(operands)

(fori_loop is a scan whose carry holds the loop counter.) The consts are what the body read from
outer levels, made explicit when it was staged (closure conversion, core/staging.py `trace_closed`),
so every transformation sees them. Every rule is written with these primitives and the body's own
equations, so the rules nest:

- JVP: a scan (while, cond) of the body's JVP, over primal and tangent carries;
- reverse: a scan storing each step's carry, then a reverse scan of the body's VJP that carries the
  carry's cotangent and accumulates the consts'. A while_loop's trip count is known once its values
  are (grad of a jitted function evaluates the graph on arrays): its reverse rule is then a scan's. With a
  staged predicate it has none (as in JAX): fori_loop or scan have a static trip count;
- cond's derivatives are conds of the branches' derivatives (only the taken branch's runs);
- batching: a scan (cond) of the body batched; a cond with a batched predicate runs both branches and
  selects; a while_loop runs while any example's condition holds, each example keeping its carry once
  its own condition fails.

The implementation runs the body's generated NumPy source (compiled once, kept on the SubGraph), and
the code generator emits a Python `for` / `while` / `if` with the body inlined (the render hooks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..core import primitive as _primitive
from ..core.ad import JVPTrace, ReverseTrace, jvp_flat, vjp_flat
from ..core.batching import BatchTrace, BatchTracer
from ..core.codegen import block
from ..core.ir import Eqn, Graph, ShapeDtype, Var, eval_graph
from ..core.lax import convert, expand_batched, materialize
from ..core.primitive import Primitive
from ..core.rewrite import dce
from ..core.staging import StagingTracer, trace_closed
from ..core.subgraph import SubGraph
from ..core.trace import Tracer, full_lower, new_trace
from ..errors import PullbackError
from . import elementwise as ew
from . import reductions as red
from . import shape as sh
from ._util import dtype_of, shape_of


class ControlFlowError(PullbackError):
    """A loop or branch cannot be staged or differentiated as asked (the message says what to do)."""


# ----------------------------------------------------------------------------- staging bodies


def is_float(aval: Any) -> bool:
    return np.dtype(aval.dtype).kind in "fc"


def typed(v: Any, aval: ShapeDtype) -> Any:
    """v as a strongly typed value of aval's dtype (a body's outputs must match its carry exactly)."""
    if isinstance(v, Tracer):
        if v.dtype == aval.dtype and not is_weak_tracer(v):
            return v
        return convert(v, dtype=aval.dtype)
    return np.asarray(v, dtype=aval.dtype)


def is_weak_tracer(v: Any) -> bool:
    """Whether a traced value is a weakly typed staged value (a Python scalar at run time)."""
    while isinstance(v, Tracer) and not isinstance(v, StagingTracer):
        v = v.aval
    return isinstance(v, StagingTracer) and v.var.aval.weak


def stage_body(fun: Callable[[list], list], avals: Sequence[ShapeDtype],
               captured_first: bool = False) -> tuple[SubGraph, list]:
    """fun (flat list -> flat list) staged on avals into a simplified closed SubGraph, and the values of
    outer traces it read: its extra inputs, after those for avals (before them with captured_first, the
    layout of a loop's consts)."""
    graph, captured = trace_closed(fun, avals)
    if captured_first and captured:
        k = len(avals)
        graph = Graph(graph.in_vars[k:] + graph.in_vars[:k], graph.eqns, graph.outs)
    return SubGraph(graph.simplify()), captured


def _derived(fun: Callable[[list], list], avals: Sequence[ShapeDtype]) -> SubGraph:
    """A rule's body: a function of a closed sub-graph's values, which reads nothing from outside."""
    body, captured = stage_body(fun, avals)
    if captured:
        raise PullbackError("internal error: a derived loop body read a value of an outer trace")
    return body


def _zeros(aval: ShapeDtype) -> np.ndarray:
    return np.zeros(aval.shape, aval.dtype)


def _run(body: SubGraph, args: Sequence) -> list:
    """Evaluate a body's graph primitive by primitive (so the transformation tracing it sees through it)."""
    return eval_graph(body.graph, list(args))


def _runner(body: SubGraph) -> Callable:
    """The body as a function of plain values: its compiled source; under debug_nans, primitive by
    primitive, so that a NaN is reported at the operation inside the body that made it (not at `scan`)."""
    if _primitive.DEBUG_NANS:
        return lambda *a: _run(body, a)
    return body.compiled()


def _aval(x: Any) -> ShapeDtype:
    return ShapeDtype(shape_of(x), dtype_of(x))


def _same_type(a: Any, b: ShapeDtype) -> bool:
    return tuple(shape_of(a)) == tuple(b.shape) and np.dtype(dtype_of(a)) == np.dtype(b.dtype)


def _check_operands(name: str, what: str, got: Sequence, want: Sequence[ShapeDtype]) -> None:
    for k, (a, w) in enumerate(zip(got, want)):
        if not _same_type(a, w):
            raise ControlFlowError(f"{name}: {what} {k} is {_aval(a)} but the body takes {w}")


# ----------------------------------------------------------------------------- pruning (dead-code elimination)
# A higher-order primitive's `prune(eqn, live)` (called by core/rewrite.py's dce) drops the outputs nobody
# uses, the loop carries only they need, and the operands its sub-graphs no longer read.


def _inputs_read(graph: Graph, outs: Sequence[int]) -> set:
    """The positions of the inputs that outputs `outs` of graph depend on."""
    need = {graph.outs[k] for k in outs if isinstance(graph.outs[k], Var)}
    for e in reversed(graph.eqns):
        if any(o in need for o in e.outs):
            need.update(a for a in e.ins if isinstance(a, Var))
    return {k for k, v in enumerate(graph.in_vars) if v in need}


def _sub(graph: Graph, ins: Sequence[int], outs: Sequence[int]) -> SubGraph:
    """graph restricted to inputs `ins` and outputs `outs` (dead code dropped)."""
    g = Graph([graph.in_vars[k] for k in ins], graph.eqns, [graph.outs[k] for k in outs])
    return SubGraph(dce(g))


def _carries_needed(graph: Graph, n_before: int, n_carry: int, live_carry: list, other_outs: list,
                    also: set = frozenset()) -> list:
    """Which carries a loop must keep: those whose result is used, and those the kept outputs (or the
    condition, `also`: input positions it reads) depend on, to a fixed point."""
    keep = list(live_carry)
    while True:
        read = _inputs_read(graph, [k for k in range(n_carry) if keep[k]] + list(other_outs)) | set(also)
        new = [keep[k] or (n_before + k) in read for k in range(n_carry)]
        if new == keep:
            return keep
        keep = new


# ----------------------------------------------------------------------------- scan


def _tangents_only(joint: Callable) -> Callable:
    """A primitive's JVP rule (given the outputs) from a rule computing outputs and tangents together."""
    def rule(primals, tangents, out, **params):
        return joint(primals, tangents, **params)[1]
    return rule


def _split(seq: Sequence, *sizes: int) -> list:
    out, k = [], 0
    for n in sizes:
        out.append(list(seq[k:k + n]))
        k += n
    out.append(list(seq[k:]))
    return out


def _scan_impl(*args, body: SubGraph, n_consts: int, n_carry: int, length: int, reverse: bool):
    consts, carry, xs = _split(args, n_consts, n_carry)
    fn = _runner(body)
    y_avals = body.out_avals[n_carry:]
    ys = [np.empty((length,) + a.shape, a.dtype) for a in y_avals]
    for i in (range(length - 1, -1, -1) if reverse else range(length)):
        out = fn(*consts, *carry, *[x[i] for x in xs])
        carry = out[:n_carry]
        for y, v in zip(ys, out[n_carry:]):
            y[i] = v
    return (*_unaliased(carry, args), *ys)


def _unaliased(outs: Sequence, args: Sequence) -> list:
    """outs, with any that is one of the operands copied (a result never aliases its caller's buffer)."""
    ids = {id(a) for a in args}
    return [np.array(o, copy=True) if id(o) in ids and isinstance(o, np.ndarray) else o for o in outs]


def _scan_shape(*avals, body: SubGraph, n_consts: int, n_carry: int, length: int, reverse: bool):
    consts, carry, xs = _split(avals, n_consts, n_carry)
    ins = body.in_avals
    if len(ins) != len(avals):
        raise ControlFlowError(f"scan: {len(avals)} operands but the body takes {len(ins)} inputs")
    _check_operands("scan", "const", consts, ins[:n_consts])
    _check_operands("scan", "carry", carry, ins[n_consts:n_consts + n_carry])
    for k, (x, w) in enumerate(zip(xs, ins[n_consts + n_carry:])):
        if tuple(shape_of(x)) != (length,) + w.shape or np.dtype(dtype_of(x)) != w.dtype:
            raise ControlFlowError(f"scan: xs {k} is {_aval(x)}; a scan of length {length} over a body taking "
                                   f"{w} needs {ShapeDtype((length,) + w.shape, w.dtype)}")
    outs = body.out_avals
    for k, (o, w) in enumerate(zip(outs[:n_carry], ins[n_consts:n_consts + n_carry])):
        if o.shape != w.shape or o.dtype != w.dtype:
            raise ControlFlowError(f"scan: the body turns carry {k} of type {w} into {o}")
    return ([(o.shape, o.dtype) for o in outs[:n_carry]]
            + [((length,) + o.shape, o.dtype) for o in outs[n_carry:]])


def _scan_jvp(primals, tangents, body: SubGraph, n_consts: int, n_carry: int, length: int, reverse: bool):
    """(outputs, tangents of the outputs): one scan of the body's JVP over primal and tangent carries."""
    ins = body.in_avals
    nz = [t is not None and is_float(a) for t, a in zip(tangents, ins)]
    if not any(nz):
        outs = Primitive.bind(scan_p, *primals, body=body, n_consts=n_consts, n_carry=n_carry, length=length,
                              reverse=reverse)
        return list(outs), [None] * len(outs)
    consts, init, xs = _split(primals, n_consts, n_carry)
    t_consts, t_init, t_xs = _split(tangents, n_consts, n_carry)
    c_nz, _, x_nz = _split(nz, n_consts, n_carry)
    carry_f = [is_float(a) for a in ins[n_consts:n_consts + n_carry]]
    y_f = [is_float(a) for a in body.out_avals[n_carry:]]
    new = body.derive(("jvp", tuple(c_nz), tuple(x_nz)),
                      lambda: _jvp_scan_body(body, n_consts, n_carry, c_nz, x_nz))
    operands = (consts + [t for t, z in zip(t_consts, c_nz) if z]
                + init + [_zeros(a) if t is None else t
                          for t, a, f in zip(t_init, ins[n_consts:], carry_f) if f]
                + xs + [t for t, z in zip(t_xs, x_nz) if z])
    n_ct = sum(carry_f)
    outs = scan_p.bind(*operands, body=new, n_consts=n_consts + sum(c_nz), n_carry=n_carry + n_ct,
                       length=length, reverse=reverse)
    carry_t = iter(outs[n_carry:n_carry + n_ct])
    ys_t = iter(outs[n_carry + n_ct + len(y_f):])
    primal = list(outs[:n_carry]) + list(outs[n_carry + n_ct:n_carry + n_ct + len(y_f)])
    return primal, [next(carry_t) if f else None for f in carry_f] + [next(ys_t) if f else None for f in y_f]


def _jvp_scan_body(body: SubGraph, n_consts: int, n_carry: int, c_nz: list, x_nz: list) -> SubGraph:
    """(consts, const tangents, carry, carry tangents, x, x tangents) -> (carry, carry tangents, y, y tangents)."""
    ins, outs = body.in_avals, body.out_avals
    a_consts, a_carry, a_xs = _split(ins, n_consts, n_carry)
    carry_f = [is_float(a) for a in a_carry]
    y_f = [is_float(a) for a in outs[n_carry:]]
    layout = (a_consts + [a for a, z in zip(a_consts, c_nz) if z] + a_carry + [a for a, f in zip(a_carry, carry_f) if f]
              + a_xs + [a for a, z in zip(a_xs, x_nz) if z])
    sizes = (n_consts, sum(c_nz), n_carry, sum(carry_f), len(a_xs))

    def fun(vals):
        consts, tc, carry, tcarry, xs, tx = _split(vals, *sizes)
        tc, tcarry, tx = iter(tc), iter(tcarry), iter(tx)
        tangents = ([next(tc) if z else None for z in c_nz] + [next(tcarry) if f else None for f in carry_f]
                    + [next(tx) if z else None for z in x_nz])
        p, t = jvp_flat(lambda v: _run(body, v), consts + carry + xs, tangents)
        p = [typed(v, a) for v, a in zip(p, outs)]
        t = [_zeros(a) if v is None else typed(v, a) for v, a in zip(t, outs)]
        return (p[:n_carry] + [v for v, f in zip(t[:n_carry], carry_f) if f]
                + p[n_carry:] + [v for v, f in zip(t[n_carry:], y_f) if f])

    return _derived(fun, layout)


def _residual_body(body: SubGraph, n_consts: int, n_carry: int) -> SubGraph:
    """The body with each step's input carry as extra per-step outputs (stacked: the residuals)."""
    g = body.graph
    carry_in = g.in_vars[n_consts:n_consts + n_carry]
    return SubGraph(Graph(g.in_vars, g.eqns, list(g.outs) + list(carry_in)))


def _scan_residuals(primals, body: SubGraph, n_consts: int, n_carry: int, length: int, reverse: bool):
    """The scan's outputs, and each step's input carry, stacked (what its reverse pass reads)."""
    fwd = body.derive(("residuals",), lambda: _residual_body(body, n_consts, n_carry))
    outs = scan_p.bind(*primals, body=fwd, n_consts=n_consts, n_carry=n_carry, length=length, reverse=reverse)
    n_out = len(body.out_avals)
    return list(outs[:n_out]), list(outs[n_out:])


def _scan_backward(ct, res, primals, needs, body: SubGraph, n_consts: int, n_carry: int, length: int,
                   reverse: bool):
    """The cotangents of the operands: a reverse scan of the body's VJP over the stored carries `res`,
    carrying the carry's cotangent and the sums of the consts'."""
    ins, outs = body.in_avals, body.out_avals
    consts, init, xs = _split(primals, n_consts, n_carry)
    a_consts, a_carry, a_xs = _split(ins, n_consts, n_carry)
    carry_f = [is_float(a) for a in a_carry]
    y_f = [is_float(a) for a in outs[n_carry:]]
    want_c = [bool(n) and is_float(a) for n, a in zip(needs[:n_consts], a_consts)]
    want_x = [bool(n) and is_float(a) for n, a in zip(needs[n_consts + n_carry:], a_xs)]
    ct = list(ct)
    ct_carry = [typed(c, a) for c, a, f in zip(ct[:n_carry], a_carry, carry_f) if f]
    ct_ys = [typed(c, ShapeDtype((length,) + a.shape, a.dtype)) for c, a, f in zip(ct[n_carry:], outs[n_carry:], y_f)
             if f]
    bwd = body.derive(("bwd", tuple(want_c), tuple(want_x)),
                      lambda: _bwd_scan_body(body, n_consts, n_carry, want_c, want_x))
    acc = [_zeros(a) for a, w in zip(a_consts, want_c) if w]
    n_ct, n_acc = len(ct_carry), len(acc)
    b = scan_p.bind(*consts, *ct_carry, *acc, *xs, *res, *ct_ys, body=bwd, n_consts=n_consts,
                    n_carry=n_ct + n_acc, length=length, reverse=not reverse)
    g_init, g_consts, g_xs = iter(b[:n_ct]), iter(b[n_ct:n_ct + n_acc]), iter(b[n_ct + n_acc:])
    return ([next(g_consts) if w else None for w in want_c] + [next(g_init) if f else None for f in carry_f]
            + [next(g_xs) if w else None for w in want_x])


def _scan_vjp(ct, out, primals, needs, **params):
    """Reverse rule (without stored residuals: the forward scan runs again, storing its carries)."""
    _, res = _scan_residuals(primals, **params)
    return _scan_backward(ct, res, primals, needs, **params)


class _StoredResiduals:
    """A scan under reverse mode, as a custom call (ReverseTrace.process_custom): the forward pass is the
    scan storing its carries, and the backward pass reads them (no second forward pass)."""

    __slots__ = ("params",)

    def __init__(self, params: dict):
        self.params = params

    def fwd(self, primals: list):
        outs, res = _scan_residuals(primals, **self.params)

        def bwd(cts, needs):
            return _scan_backward(cts, res, primals, needs, **self.params)

        return outs, bwd


class _JointJVP:
    """A loop or branch under forward mode, as a custom call (JVPTrace.process_custom): one loop computes
    the outputs and their tangents together (a primitive's own JVP rule is given the outputs computed
    beforehand, which would run the loop twice)."""

    __slots__ = ("rule", "params")

    def __init__(self, rule: Callable, params: dict):
        self.rule, self.params = rule, params

    def jvp(self, primals: list, tangents: list):
        return self.rule(primals, tangents, **self.params)


def _concrete_primals_traced_tangents(trace, args) -> bool:
    """Concrete primals with traced tangents (linearize stages the tangent part): the outputs are then
    computed on the concrete values, apart from the loop of tangents, so they stay concrete."""
    primals, tangents = trace._split(args)
    return (not any(isinstance(p, Tracer) for p in primals)
            and any(isinstance(t, Tracer) for t in tangents if t is not None))


class ControlFlowPrimitive(Primitive):
    # A loop's or branch's bind: under forward mode (JVPTrace) one loop computes outputs and tangents;
    # under reverse mode (ReverseTrace) a scan's forward pass keeps the carries for the backward pass;
    # everywhere else a primitive like any other. (Primitive keeps each instance's doc in a __doc__ slot:
    # the subclass reuses that slot.)

    __slots__ = ()
    __doc__ = Primitive.__dict__["__doc__"]
    joint_jvp: Callable | None = None
    stores_residuals = False

    def bind(self, *args: Any, **params: Any) -> Any:
        top, level = None, -1
        for a in args:
            if isinstance(a, Tracer) and a._trace.level > level:
                top, level = a._trace, a._trace.level
        if top is not None and top.active:
            kind = type(top)
            if kind is JVPTrace and not _concrete_primals_traced_tangents(top, args):
                return tuple(top.process_custom(_JointJVP(type(self).joint_jvp, params), list(args)))
            if kind is ReverseTrace and self.stores_residuals:
                return tuple(top.process_custom(_StoredResiduals(params), list(args)))
        return Primitive.bind(self, *args, **params)

    __call__ = bind


class _ScanPrimitive(ControlFlowPrimitive):
    __slots__ = ()
    __doc__ = Primitive.__dict__["__doc__"]
    joint_jvp = staticmethod(_scan_jvp)
    stores_residuals = True

    def prune(self, e: Eqn, live: list) -> Eqn | None:
        p = e.params
        body, nc, nk = p["body"], p["n_consts"], p["n_carry"]
        g = body.graph
        n_in = len(g.in_vars)
        ys = [nk + j for j, used in enumerate(live[nk:]) if used]
        keep = _carries_needed(g, nc, nk, live[:nk], ys)
        outs = [k for k in range(nk) if keep[k]] + ys
        read = _inputs_read(g, outs)
        ins = ([k for k in range(nc) if k in read] + [nc + k for k in range(nk) if keep[k]]
               + [k for k in range(nc + nk, n_in) if k in read])
        if len(ins) == n_in and len(outs) == len(g.outs):
            return None
        new = _sub(g, ins, outs)
        params = {**p, "body": new, "n_consts": sum(1 for k in ins if k < nc), "n_carry": sum(keep)}
        return Eqn(self, [e.ins[k] for k in ins], params, [e.outs[k] for k in outs])


def _bwd_scan_body(body: SubGraph, n_consts: int, n_carry: int, want_c: list, want_x: list) -> SubGraph:
    """(consts, carry ct, const ct sums, x, carry, y ct) -> (carry-in ct, const ct sums, x ct): one step back."""
    ins, outs = body.in_avals, body.out_avals
    a_consts, a_carry, a_xs = _split(ins, n_consts, n_carry)
    carry_f = [is_float(a) for a in a_carry]
    y_f = [is_float(a) for a in outs[n_carry:]]
    layout = (a_consts + [a for a, f in zip(a_carry, carry_f) if f] + [a for a, w in zip(a_consts, want_c) if w]
              + a_xs + a_carry + [a for a, f in zip(outs[n_carry:], y_f) if f])
    sizes = (n_consts, sum(carry_f), sum(want_c), len(a_xs), n_carry)

    def fun(vals):
        consts, ct_c, acc, xs, carry, ct_y = _split(vals, *sizes)
        ct_c, ct_y = iter(ct_c), iter(ct_y)
        _, pull = vjp_flat(lambda v: _run(body, v), consts + carry + xs)
        cts = [next(ct_c) if f else None for f in carry_f] + [next(ct_y) if f else None for f in y_f]
        g = pull(cts)
        g_c, g_carry, g_x = _split(g, n_consts, n_carry)
        new_ct = [_zeros(a) if v is None else typed(v, a) for v, a, f in zip(g_carry, a_carry, carry_f) if f]
        acc_it = iter(acc)
        new_acc = []
        for v, a, w in zip(g_c, a_consts, want_c):
            if w:
                s = next(acc_it)
                new_acc.append(s if v is None else typed(ew.add(s, v), a))
        g_xs = [_zeros(a) if v is None else typed(v, a) for v, a, w in zip(g_x, a_xs, want_x) if w]
        return new_ct + new_acc + g_xs

    return _derived(fun, layout)


def _batched_body(body: SubGraph, in_batched: Sequence[bool], size: int) -> SubGraph:
    """The body applied to a batch: batched inputs gain a leading axis of `size`; every output is batched."""
    avals = [ShapeDtype((size,) + a.shape, a.dtype) if b else a for a, b in zip(body.in_avals, in_batched)]

    def fun(vals):
        with new_trace(BatchTrace, size) as trace:
            ins = [BatchTracer(trace, v, size) if b else v for v, b in zip(vals, in_batched)]
            outs = _run(body, ins)
        res = []
        for o, a in zip(outs, body.out_avals):
            o = o.aval if type(o) is BatchTracer and o._trace is trace else materialize(o, False, size)
            res.append(typed(o, ShapeDtype((size,) + a.shape, a.dtype)))
        return res

    return _derived(fun, avals)


def _swap01(x: Any) -> Any:
    nd = len(shape_of(x))
    return sh.transpose(x, axes=(1, 0) + tuple(range(2, nd)))


def _scan_batch(vals, batched, body: SubGraph, n_consts: int, n_carry: int, length: int, reverse: bool):
    size = next(shape_of(v)[0] for v, b in zip(vals, batched) if b)
    consts, init, xs = _split(vals, n_consts, n_carry)
    c_b, _, x_b = _split(batched, n_consts, n_carry)
    init = [materialize(v, b, size) for v, b in zip(init, batched[n_consts:])]
    xs = [_swap01(x) if b else x for x, b in zip(xs, x_b)]
    flags = tuple(c_b) + (True,) * n_carry + tuple(x_b)
    new = body.derive(("batch", flags, size), lambda: _batched_body(body, flags, size))
    outs = scan_p.bind(*consts, *init, *xs, body=new, n_consts=n_consts, n_carry=n_carry, length=length,
                       reverse=reverse)
    return tuple(outs[:n_carry]) + tuple(_swap01(y) for y in outs[n_carry:])


def _assign(names: list, exprs: list) -> str:
    """`a, b = x, y` (all at once: a carry's new value may read its old one)."""
    return f"{', '.join(names)} = {', '.join(exprs)}"


def _copies(em, e, passthrough: Sequence[bool]) -> list:
    """Lines copying the outputs of e that the graph returns and that may be one of its operands'
    buffers (a jitted function never returns an alias of its argument)."""
    if em.inlined:  # inside a loop body or branch: its results are not the function's
        return []
    returned = set(em.graph.outs)
    names = em.out_names(e)
    return [f"{n} = np.array({n}, copy=True)" for n, o, p in zip(names, e.outs, passthrough) if p and o in returned]


def _passes_through(graph, k: int) -> bool:
    """Whether output k of a sub-graph may be an input's buffer (an input itself, or a constant)."""
    o = graph.outs[k]
    return not any(o in e.outs for e in graph.eqns)


@block
def _scan_render(em, e, args):
    p = e.params
    body, n_consts, n_carry, length = p["body"], p["n_consts"], p["n_carry"], p["length"]
    consts, init, xs = _split(args, n_consts, n_carry)
    names = em.out_names(e)
    carry, ys = names[:n_carry], names[n_carry:]
    i = em.fresh_var("i")
    lines = [f"{c} = {a}" for c, a in zip(carry, init)]
    lines += [f"{y} = np.empty({em.lit(o.aval.shape)}, {em.dtype(o.aval.dtype)})"
              for y, o in zip(ys, e.outs[n_carry:])]
    x_names = [em.fresh_var("x") for _ in xs]
    body_lines, outs = em.inline(body.graph, consts + carry + x_names)
    order = f"range({length - 1}, -1, -1)" if p["reverse"] else f"range({length})"
    lines.append(f"for {i} in {order}:")
    lines += [f"    {x} = {a}[{i}]" for x, a in zip(x_names, xs)]
    lines += ["    " + line for line in body_lines]
    lines += [f"    {y}[{i}] = {o}" for y, o in zip(ys, outs[n_carry:])]  # before the carry moves on
    if carry:
        lines.append("    " + _assign(carry, outs[:n_carry]))
    if len(lines) == len(carry) + len(ys) + 1 + len(xs):  # an empty body
        lines.append("    pass")
    return lines + _copies(em, e, [_passes_through(body.graph, k) or length == 0 for k in range(n_carry)])


def _size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def through_subgraphs(rule: Callable) -> Callable:
    """Mark a sparsity rule as one that propagates dependency matrices through sub-graphs (pullback.sparse)."""
    rule.through_subgraphs = True
    return rule


STEPS_LIMIT = 4096  # a scan's pattern is followed step by step up to this many steps


@through_subgraphs
def _scan_sparsity(deps, in_deps, in_shapes, body: SubGraph, n_consts: int, n_carry: int, length: int,
                   reverse: bool):
    """Step by step through the body (exact, as the body's rules are); once the carry's pattern repeats
    and xs bring no dependency, every later step repeats it."""
    in_deps = [deps.zeros(_size(s)) if d is None else d for d, s in zip(in_deps, in_shapes)]
    consts, carry, xs = _split(in_deps, n_consts, n_carry)
    x_rows = [_size(a.shape) for a in body.in_avals[n_consts + n_carry:]]
    xs_free = all(d.nnz == 0 for d in xs)
    y_rows = [_size(a.shape) for a in body.out_avals[n_carry:]]
    ys: list = [[None] * length for _ in y_rows]
    names: list = []
    last, stable = None, False
    for k, i in enumerate(range(length - 1, -1, -1) if reverse else range(length)):
        if not stable:
            if k >= STEPS_LIMIT:
                return None, []
            x_i = [d[i * m:(i + 1) * m] for d, m in zip(xs, x_rows)]
            outs, inner = deps.through(body.graph, consts + carry + x_i)
            names += inner
            new, last = outs[:n_carry], outs[n_carry:]
            stable = xs_free and all(deps.same(a, b) for a, b in zip(new, carry))
            carry = new
        for j, y in enumerate(last):
            ys[j][i] = y
    return carry + [deps.stack(col) if length else deps.zeros(0) for col in ys], names


scan_p = _ScanPrimitive(
    "scan", _scan_impl, shape=_scan_shape, multiple_results=True, jvp=_tangents_only(_scan_jvp), vjp=_scan_vjp,
    batch=_scan_batch, render=_scan_render, sparsity=_scan_sparsity, stem="scan",
    doc="carry, y = body(consts, carry, x) over the leading axis of xs (ys stacked); the body is a sub-graph",
)


# ----------------------------------------------------------------------------- while_loop


def _while_impl(*args, cond_body: SubGraph, body: SubGraph, n_cond_consts: int, n_body_consts: int):
    cc, bc, carry = _split(args, n_cond_consts, n_body_consts)
    test, step = _runner(cond_body), _runner(body)
    while bool(test(*cc, *carry)[0]):
        carry = step(*bc, *carry)
    return tuple(_unaliased(carry, args))


def _trip_count(args, cond_body: SubGraph, body: SubGraph, n_cond_consts: int, n_body_consts: int) -> int:
    cc, bc, carry = _split(args, n_cond_consts, n_body_consts)
    test, step = cond_body.compiled(), body.compiled()
    n = 0
    while bool(test(*cc, *carry)[0]):
        carry = step(*bc, *carry)
        n += 1
    return n


def _while_shape(*avals, cond_body: SubGraph, body: SubGraph, n_cond_consts: int, n_body_consts: int):
    cc, bc, carry = _split(avals, n_cond_consts, n_body_consts)
    _check_operands("while_loop", "condition const", cc, cond_body.in_avals[:n_cond_consts])
    _check_operands("while_loop", "body const", bc, body.in_avals[:n_body_consts])
    _check_operands("while_loop", "carry", carry, body.in_avals[n_body_consts:])
    _check_operands("while_loop", "carry (condition)", carry, cond_body.in_avals[n_cond_consts:])
    (p,) = cond_body.out_avals
    if p.shape != ():
        raise ControlFlowError(f"while_loop: the condition must give a scalar, not {p}")
    for k, (o, w) in enumerate(zip(body.out_avals, body.in_avals[n_body_consts:])):
        if o.shape != w.shape or o.dtype != w.dtype:
            raise ControlFlowError(f"while_loop: the body turns carry {k} of type {w} into {o}")
    return [(a.shape, a.dtype) for a in body.out_avals]


def _while_jvp(primals, tangents, cond_body: SubGraph, body: SubGraph, n_cond_consts: int, n_body_consts: int):
    """(outputs, tangents of the outputs): one while_loop of the body's JVP."""
    cc, bc, init = _split(primals, n_cond_consts, n_body_consts)
    _, t_bc, t_init = _split(tangents, n_cond_consts, n_body_consts)
    a_bc, a_carry = _split(body.in_avals, n_body_consts)
    bc_nz = [t is not None and is_float(a) for t, a in zip(t_bc, a_bc)]
    if not any(bc_nz) and all(t is None for t in t_init):
        outs = Primitive.bind(while_p, *primals, cond_body=cond_body, body=body, n_cond_consts=n_cond_consts,
                              n_body_consts=n_body_consts)
        return list(outs), [None] * len(outs)
    carry_f = [is_float(a) for a in a_carry]
    t_carry = [_zeros(a) if t is None else t for t, a, f in zip(t_init, a_carry, carry_f) if f]
    key = ("jvp", tuple(bc_nz))
    new_body = body.derive(key, lambda: _jvp_while_body(body, n_body_consts, bc_nz))
    new_cond = cond_body.derive(("ignore tangents", tuple(carry_f)),
                                lambda: _ignoring(cond_body, [a for a, f in zip(a_carry, carry_f) if f]))
    outs = while_p.bind(*cc, *bc, *[t for t, z in zip(t_bc, bc_nz) if z], *init, *t_carry, cond_body=new_cond,
                        body=new_body, n_cond_consts=n_cond_consts, n_body_consts=n_body_consts + sum(bc_nz))
    t_out = iter(outs[len(a_carry):])
    return list(outs[:len(a_carry)]), [next(t_out) if f else None for f in carry_f]


def _ignoring(g: SubGraph, extra: list) -> SubGraph:
    """g with extra trailing inputs it does not read."""
    def fun(vals):
        return _run(g, vals[:len(g.in_avals)])
    return _derived(fun, g.in_avals + list(extra))


def _jvp_while_body(body: SubGraph, n_consts: int, c_nz: list) -> SubGraph:
    a_consts, a_carry = _split(body.in_avals, n_consts)
    carry_f = [is_float(a) for a in a_carry]
    layout = a_consts + [a for a, z in zip(a_consts, c_nz) if z] + a_carry + [a for a, f in zip(a_carry, carry_f) if f]
    sizes = (n_consts, sum(c_nz), len(a_carry))

    def fun(vals):
        consts, tc, carry, tcarry = _split(vals, *sizes)
        tc, tcarry = iter(tc), iter(tcarry)
        tangents = [next(tc) if z else None for z in c_nz] + [next(tcarry) if f else None for f in carry_f]
        p, t = jvp_flat(lambda v: _run(body, v), consts + carry, tangents)
        p = [typed(v, a) for v, a in zip(p, a_carry)]
        return p + [_zeros(a) if v is None else typed(v, a) for v, a, f in zip(t, a_carry, carry_f) if f]

    return _derived(fun, layout)


def _while_vjp(ct, out, primals, needs, cond_body: SubGraph, body: SubGraph, n_cond_consts: int,
               n_body_consts: int):
    try:
        values = [full_lower(p) for p in primals]
        if any(isinstance(v, Tracer) for v in values):
            raise ControlFlowError("a traced value")
    except PullbackError:
        raise ControlFlowError(
            "while_loop: reverse-mode differentiation (grad, vjp, jacrev) of a while_loop whose condition is "
            "staged (under jit or make_graph) or batched (under vmap) is not supported: its trip count is not "
            "known when the derivative is built. Use fori_loop or scan with a fixed trip count, use forward "
            "mode (jvp, jacfwd), or differentiate outside jit (grad(jit(f)) works)."
        ) from None
    n = _trip_count(values, cond_body, body, n_cond_consts, n_body_consts)
    cts = _scan_vjp(ct, out, primals[n_cond_consts:], needs[n_cond_consts:], body=body, n_consts=n_body_consts,
                    n_carry=len(out), length=n, reverse=False)
    return [None] * n_cond_consts + list(cts)


def _while_batch(vals, batched, cond_body: SubGraph, body: SubGraph, n_cond_consts: int, n_body_consts: int):
    """A while_loop over a batch: it runs while any example's condition holds; an example whose condition
    no longer holds keeps its carry (the body still runs on it, and its result is not used)."""
    size = next(shape_of(v)[0] for v, b in zip(vals, batched) if b)
    cc, bc, init = _split(vals, n_cond_consts, n_body_consts)
    cc_b, bc_b, _ = _split(batched, n_cond_consts, n_body_consts)
    init = [materialize(v, b, size) for v, b in zip(init, batched[n_cond_consts + n_body_consts:])]
    nk = len(init)
    c_flags = tuple(cc_b) + (True,) * nk
    b_flags = tuple(bc_b) + (True,) * nk
    test_b = cond_body.derive(("batch", c_flags, size), lambda: _batched_body(cond_body, c_flags, size))
    step_b = body.derive(("batch", b_flags, size), lambda: _batched_body(body, b_flags, size))
    any_test = test_b.derive(("any",), lambda: _derived(
        lambda v: [red.reduce_max(_run(test_b, v)[0], axis=(0,), keepdims=False)], test_b.in_avals))
    key = ("masked", n_cond_consts, n_body_consts)

    def masked(v):  # (cond consts, body consts, carry) -> carry, moved on where the condition holds
        c, b, carry = _split(v, n_cond_consts, n_body_consts)
        (pred,) = _run(test_b, c + carry)
        new = _run(step_b, b + carry)
        return [ew.select(expand_batched(pred, True, len(shape_of(n)) - 1), n, old) for n, old in zip(new, carry)]

    step = step_b.derive(key + (test_b,), lambda: _derived(masked, test_b.in_avals[:n_cond_consts]
                                                           + step_b.in_avals))
    outs = while_p.bind(*cc, *cc, *bc, *init, cond_body=any_test, body=step, n_cond_consts=n_cond_consts,
                        n_body_consts=n_cond_consts + n_body_consts)
    return tuple(outs)


@through_subgraphs
def _while_sparsity(deps, in_deps, in_shapes, cond_body: SubGraph, body: SubGraph, n_cond_consts: int,
                    n_body_consts: int):
    """The union of the carry's pattern over any number of steps (a fixed point: a superset)."""
    in_deps = [deps.zeros(_size(s)) if d is None else d for d, s in zip(in_deps, in_shapes)]
    _, bc, carry = _split(in_deps, n_cond_consts, n_body_consts)
    names = ["while_loop"]
    for _ in range(STEPS_LIMIT):
        outs, inner = deps.through(body.graph, bc + carry)
        names += inner
        new = [deps.union(a, b) for a, b in zip(carry, outs)]
        if all(deps.same(a, b) for a, b in zip(new, carry)):
            return new, names
        carry = new
    return None, []


@block
def _while_render(em, e, args):
    p = e.params
    cond_body, body = p["cond_body"], p["body"]
    cc, bc, init = _split(args, p["n_cond_consts"], p["n_body_consts"])
    carry = em.out_names(e)
    lines = [f"{c} = {a}" for c, a in zip(carry, init)]
    lines.append("while True:")
    test_lines, (pred,) = em.inline(cond_body.graph, cc + carry)
    lines += ["    " + line for line in test_lines]
    lines.append(f"    if not {pred}:")
    lines.append("        break")
    body_lines, outs = em.inline(body.graph, bc + carry)
    lines += ["    " + line for line in body_lines]
    if carry:
        lines.append("    " + _assign(carry, outs))
    return lines + _copies(em, e, [True] * len(carry))


class _WhilePrimitive(ControlFlowPrimitive):
    __slots__ = ()
    __doc__ = Primitive.__dict__["__doc__"]
    joint_jvp = staticmethod(_while_jvp)

    def prune(self, e: Eqn, live: list) -> Eqn | None:
        p = e.params
        test, body, ncc, nbc = p["cond_body"], p["body"], p["n_cond_consts"], p["n_body_consts"]
        nk = len(e.outs)
        tested = {k - ncc for k in _inputs_read(test.graph, [0]) if k >= ncc}  # carries the condition reads
        keep = _carries_needed(body.graph, nbc, nk, [bool(x) for x in live], [], {nbc + k for k in tested})
        if all(keep):
            return None
        carries = [k for k in range(nk) if keep[k]]
        new_test = _sub(test.graph, list(range(ncc)) + [ncc + k for k in carries], [0])
        new_body = _sub(body.graph, list(range(nbc)) + [nbc + k for k in carries], carries)
        ins = list(e.ins[:ncc + nbc]) + [e.ins[ncc + nbc + k] for k in carries]
        params = {**p, "cond_body": new_test, "body": new_body}
        return Eqn(self, ins, params, [e.outs[k] for k in carries])


while_p = _WhilePrimitive(
    "while_loop", _while_impl, shape=_while_shape, multiple_results=True, jvp=_tangents_only(_while_jvp),
    vjp=_while_vjp, batch=_while_batch, render=_while_render, sparsity=_while_sparsity, stem="while",
    doc="while cond_body(cond_consts, carry): carry = body(body_consts, carry); both are sub-graphs",
)


# ----------------------------------------------------------------------------- cond


def _cond_impl(pred, *ops, true_branch: SubGraph, false_branch: SubGraph):
    return tuple(_unaliased(_runner(true_branch if bool(pred) else false_branch)(*ops), ops))


def _cond_shape(pred, *ops, true_branch: SubGraph, false_branch: SubGraph):
    if tuple(shape_of(pred)) != ():
        raise ControlFlowError(f"cond: the predicate must be a scalar, not {_aval(pred)}")
    _check_operands("cond", "operand", ops, true_branch.in_avals)
    _check_operands("cond", "operand", ops, false_branch.in_avals)
    t, f = true_branch.out_avals, false_branch.out_avals
    if len(t) != len(f) or any(a.shape != b.shape or a.dtype != b.dtype for a, b in zip(t, f)):
        raise ControlFlowError(f"cond: the branches return different types: {t} vs {f}")
    return [(a.shape, a.dtype) for a in t]


def _cond_jvp(primals, tangents, true_branch: SubGraph, false_branch: SubGraph):
    """(outputs, tangents of the outputs): a cond of the branches' JVPs."""
    pred, ops = primals[0], list(primals[1:])
    nz = [t is not None and is_float(a) for t, a in zip(tangents[1:], true_branch.in_avals)]
    out_f = [is_float(a) for a in true_branch.out_avals]
    if not any(nz) or not any(out_f):
        outs = Primitive.bind(cond_p, *primals, true_branch=true_branch, false_branch=false_branch)
        return list(outs), [None] * len(outs)
    key = ("jvp", tuple(nz))
    jt = true_branch.derive(key, lambda: _jvp_branch(true_branch, nz))
    jf = false_branch.derive(key, lambda: _jvp_branch(false_branch, nz))
    outs = cond_p.bind(pred, *ops, *[t for t, z in zip(tangents[1:], nz) if z], true_branch=jt, false_branch=jf)
    n = len(out_f)
    t_outs = iter(outs[n:])
    return list(outs[:n]), [next(t_outs) if f else None for f in out_f]


def _jvp_branch(branch: SubGraph, nz: list) -> SubGraph:
    """(operands, their nonzero tangents) -> (outputs, tangents of the float outputs)."""
    ins, outs = branch.in_avals, branch.out_avals

    def fun(vals):
        ops, ts = vals[:len(ins)], iter(vals[len(ins):])
        p, t = jvp_flat(lambda v: _run(branch, v), ops, [next(ts) if z else None for z in nz])
        return ([typed(v, a) for v, a in zip(p, outs)]
                + [_zeros(a) if v is None else typed(v, a) for v, a in zip(t, outs) if is_float(a)])

    return _derived(fun, ins + [a for a, z in zip(ins, nz) if z])


def _cond_vjp(ct, out, primals, needs, true_branch: SubGraph, false_branch: SubGraph):
    pred, ops = primals[0], list(primals[1:])
    ins, outs = true_branch.in_avals, true_branch.out_avals
    out_f = [is_float(a) for a in outs]
    want = [bool(n) and is_float(a) for n, a in zip(needs[1:], ins)]
    if not any(want):
        return [None] * len(primals)
    cts = [typed(c, a) for c, a, f in zip(ct, outs, out_f) if f]
    key = ("vjp", tuple(want))
    vt = true_branch.derive(key, lambda: _vjp_branch(true_branch, want))
    vf = false_branch.derive(key, lambda: _vjp_branch(false_branch, want))
    gs = iter(cond_p.bind(pred, *ops, *cts, true_branch=vt, false_branch=vf))
    return [None] + [next(gs) if w else None for w in want]


def _vjp_branch(branch: SubGraph, want: list) -> SubGraph:
    ins, outs = branch.in_avals, branch.out_avals
    out_f = [is_float(a) for a in outs]

    def fun(vals):
        ops, cts = vals[:len(ins)], iter(vals[len(ins):])
        _, pull = vjp_flat(lambda v: _run(branch, v), ops)
        g = pull([next(cts) if f else None for f in out_f])
        return [_zeros(a) if v is None else typed(v, a) for v, a, w in zip(g, ins, want) if w]

    return _derived(fun, ins + [a for a, f in zip(outs, out_f) if f])


def _cond_batch(vals, batched, true_branch: SubGraph, false_branch: SubGraph):
    size = next(shape_of(v)[0] for v, b in zip(vals, batched) if b)
    pred, ops = vals[0], list(vals[1:])
    flags = tuple(batched[1:])
    key = ("batch", flags, size)
    bt = true_branch.derive(key, lambda: _batched_body(true_branch, flags, size))
    bf = false_branch.derive(key, lambda: _batched_body(false_branch, flags, size))
    if not batched[0]:
        return tuple(cond_p.bind(pred, *ops, true_branch=bt, false_branch=bf))
    # a predicate per example: both branches run, and each example takes its own branch's result
    t_outs, f_outs = _run(bt, ops), _run(bf, ops)
    return tuple(ew.select(expand_batched(pred, True, len(shape_of(t)) - 1), t, f) for t, f in zip(t_outs, f_outs))


@through_subgraphs
def _cond_sparsity(deps, in_deps, in_shapes, true_branch: SubGraph, false_branch: SubGraph):
    """Either branch's dependencies may hold: their union (the predicate carries none)."""
    t, t_names = deps.through(true_branch.graph, in_deps[1:])
    f, f_names = deps.through(false_branch.graph, in_deps[1:])
    return [deps.union(a, b) for a, b in zip(t, f)], t_names + f_names


@block
def _cond_render(em, e, args):
    p = e.params
    names = em.out_names(e)
    lines = [f"if {args[0]}:"]
    for branch in (p["true_branch"], p["false_branch"]):
        body_lines, outs = em.inline(branch.graph, args[1:])
        lines += ["    " + line for line in body_lines]
        if names:
            lines.append("    " + _assign(names, outs))
        elif not body_lines:
            lines.append("    pass")
        if branch is p["true_branch"]:
            lines.append("else:")
    through = [_passes_through(p["true_branch"].graph, k) or _passes_through(p["false_branch"].graph, k)
               for k in range(len(names))]
    return lines + _copies(em, e, through)


class _CondPrimitive(ControlFlowPrimitive):
    __slots__ = ()
    __doc__ = Primitive.__dict__["__doc__"]
    joint_jvp = staticmethod(_cond_jvp)

    def prune(self, e: Eqn, live: list) -> Eqn | None:
        t, f = e.params["true_branch"].graph, e.params["false_branch"].graph
        outs = [k for k, used in enumerate(live) if used]
        read = sorted(_inputs_read(t, outs) | _inputs_read(f, outs))
        if len(outs) == len(live) and len(read) == len(t.in_vars):
            return None
        params = {"true_branch": _sub(t, read, outs), "false_branch": _sub(f, read, outs)}
        return Eqn(self, [e.ins[0]] + [e.ins[1 + k] for k in read], params, [e.outs[k] for k in outs])


cond_p = _CondPrimitive(
    "cond", _cond_impl, shape=_cond_shape, multiple_results=True, jvp=_tangents_only(_cond_jvp), vjp=_cond_vjp,
    batch=_cond_batch, render=_cond_render, sparsity=_cond_sparsity, stem="cond",
    doc="true_branch(operands) if pred else false_branch(operands); only the chosen branch runs",
)


__all__ = ["ControlFlowError", "cond_p", "is_float", "is_weak_tracer", "scan_p", "stage_body", "typed", "while_p"]
