"""Control flow that works eagerly, under every transformation and under jit.

Tracing is by execution, so loops and branches on concrete values are plain Python: with no
staging underneath (eager code, and eager grad / jvp / vmap), fori_loop and scan run their Python
loop and cond runs only the chosen branch, as before.

Under staging (jit, make_graph, and any transformation inside or around them), they become
higher-order primitives whose bodies are closed sub-graphs (primitives/control_flow.py), so the
graph stays rolled: a 10 000-step fori_loop stages to a graph of its body's size, in a time that
does not depend on the trip count.
- scan and fori_loop (a scan whose carry holds the counter; with staged bounds, a while_loop) stage
  one `scan` equation; the values the body reads from outer levels become its explicit operands;
- while_loop with a staged condition stages a `while_loop` equation (forward mode under staging;
  reverse mode once its values are concrete, as in grad(jit(f)));
- cond with a staged predicate stages a `cond` equation holding both branches; only the taken branch
  runs, and its derivatives are conds of the branches' derivatives.
Bodies index with the counter without unrolling (xs[i], xs[i:i+k], x.at[i].set(v): gather, dynamic_slice,
index_set; docs/staging.md). A body that cannot be staged (it needs a concrete value: Python control flow
on the carry, NumPy's own indexing of a plain array with the counter) is unrolled into the graph as before.

With a batched (vmap) predicate and no staging, cond evaluates both branches and selects (like
numpy.where), and its derivatives select between the branches' derivatives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import _arrays
from .core.ad import JVPTrace, ReverseTrace, jvp_flat, vjp_flat
from .core.batching import BatchTracer
from .core.ir import Graph, ShapeDtype, Var
from .core.staging import ConcretizationError, StagingTracer, abstractify, staging_active
from .core.subgraph import SubGraph
from .core.trace import Tracer, find_top_trace
from .core.tree import tree_flatten, tree_unflatten
from .errors import ArgumentError, CustomRuleError, PullbackError, PytreeError
from .primitives import control_flow as cf
from .primitives import elementwise as ew
from .primitives import reductions as red
from .primitives import shape as sh


def _staged_value(x: Any) -> bool:
    """Whether x has no concrete value because it is staged (a StagingTracer somewhere in its chain)."""
    try:
        x.concrete()
    except ConcretizationError:
        return True
    except PullbackError:
        return _has_no_single_value(x)
    return False


def _has_no_single_value(x: Any) -> bool:
    """True when x is staged (jit) or batched (vmap): no one concrete value decides a branch."""
    while isinstance(x, Tracer):
        if isinstance(x, (StagingTracer, BatchTracer)):
            return True
        x = x.aval
    return False


def cond(pred: Any, true_fun: Callable, false_fun: Callable, *operands: Any) -> Any:
    """true_fun(*operands) if pred else false_fun(*operands).

    With a concrete predicate only the chosen branch runs. Under jit / make_graph, where the
    predicate is staged, the graph holds one `cond` equation with both branches as sub-graphs,
    and only the taken branch runs (its derivatives are conds of the branches' derivatives).
    Under vmap with no staging, where the predicate is batched, both branches run and the
    result is selected elementwise. Both branches must return the same structure and shapes.

    Parameters
    ----------
    pred : bool or scalar array
        The predicate.
    true_fun, false_fun : callable
        The branches, each taking ``*operands``.
    *operands : pytrees of arrays
        The branches' arguments (differentiable).

    Returns
    -------
    pytree of arrays
        The chosen branch's result.

    Raises
    ------
    PytreeError
        The branches return different structures (under staging, where both run).

    Examples
    --------
    >>> import pullback as pb, pullback.numpy as np
    >>> f = lambda x: pb.cond(x > 0, np.sin, np.cos, x)
    >>> pb.grad(f)(2.0) == np.cos(2.0), pb.grad(f)(-1.0) == np.sin(1.0)
    (np.True_, np.True_)
    """
    if not _has_no_single_value(pred):
        return true_fun(*operands) if bool(pred.concrete() if isinstance(pred, Tracer) else pred) else false_fun(
            *operands
        )
    if staging_active():
        out = _staged_cond(pred, true_fun, false_fun, operands)
        if out is not _UNROLL:
            return out
    leaves, in_tree = tree_flatten(operands)
    top = find_top_trace([pred, *leaves])
    if (isinstance(top, (JVPTrace, ReverseTrace)) and leaves
            and all(np.dtype(_dtype(v)).kind in "fc" for v in leaves)
            and not _closes_over_tracers(true_fun) and not _closes_over_tracers(false_fun)):
        rule = _StagedCond(true_fun, false_fun, in_tree)
        rule.level = top.level
        outs = top.process_custom(rule, [pred, *leaves])
        return tree_unflatten(rule.out_tree, outs)
    return _select_branches(pred, true_fun, false_fun, operands)


def _select_branches(pred: Any, true_fun: Callable, false_fun: Callable, operands: tuple) -> Any:
    """Both branches evaluated, the result selected elementwise (cond with a staged predicate)."""
    t_out, f_out = true_fun(*operands), false_fun(*operands)
    t_leaves, t_tree = tree_flatten(t_out)
    f_leaves, f_tree = tree_flatten(f_out)
    if t_tree != f_tree:
        raise PytreeError(f"cond: the branches return different structures: {t_tree} vs {f_tree}")
    return tree_unflatten(t_tree, [ew.select(pred, a, b) for a, b in zip(t_leaves, f_leaves)])


def _dtype(v: Any):
    return v.dtype if isinstance(v, Tracer) else np.result_type(v)


def _closes_over_tracers(fun: Callable) -> bool:
    """Whether fun visibly closes over traced values (closure cells, defaults, bound self, partial args)."""
    seen = []
    f = fun
    while hasattr(f, "func") and hasattr(f, "args"):  # functools.partial
        seen += list(f.args) + list((f.keywords or {}).values())
        f = f.func
    seen += [c.cell_contents for c in (getattr(f, "__closure__", None) or ()) if _cell_full(c)]
    seen += list(getattr(f, "__defaults__", None) or ()) + [getattr(f, "__self__", None)]
    try:
        return any(isinstance(v, Tracer) for v in tree_flatten(seen)[0])
    except Exception:  # an unflattenable closure value: take the general path
        return True


def _cell_full(cell) -> bool:
    try:
        return cell.cell_contents is not cell  # reading an empty cell raises ValueError
    except ValueError:
        return False


def _zeros_like(v: Any):
    return np.zeros(v.shape if isinstance(v, Tracer) else np.shape(v), _dtype(v))


def _avals(vs: list) -> list:
    """Plain zero arrays standing for the shapes and dtypes of vs (no tracer kept in a closure)."""
    return [_zeros_like(v) for v in vs]


class _StagedCond:
    """cond with a staged predicate under a derivative: every derivative is again a cond.

    jvp: cond(p, jvp(true_fun), jvp(false_fun)); vjp: cond(p, vjp(true_fun), vjp(false_fun)).
    Selecting between the branch derivatives (instead of differentiating a select of the branch
    values) keeps a branch that is NaN at the point from poisoning the result through 0·NaN.
    The predicate is argument 0 (no derivative); the operands follow, flattened.
    """

    def __init__(self, true_fun: Callable, false_fun: Callable, in_tree):
        self.funs, self.in_tree, self.out_tree, self.level = (true_fun, false_fun), in_tree, None, -1

    def _call(self, fun: Callable, ops: list) -> list:
        leaves, tree = tree_flatten(fun(*tree_unflatten(self.in_tree, ops)))
        self.out_tree = tree if self.out_tree is None else self.out_tree
        return leaves

    def primal(self, args: list) -> list:
        return tree_flatten(_select_branches(args[0], *self.funs, tuple(tree_unflatten(self.in_tree, args[1:]))))[0]

    def primal_bind(self, args: list) -> list:
        out = cond(args[0], *self.funs, *tree_unflatten(self.in_tree, args[1:]))
        leaves, self.out_tree = tree_flatten(out)
        return leaves

    def _outs(self, primals: list) -> list:
        outs = self.primal_bind(primals)
        for v in outs:
            if isinstance(v, Tracer) and v._trace.level >= self.level:
                raise CustomRuleError(
                    "cond: a branch closes over a value that is being differentiated (through a global or a "
                    "container); its derivative cannot flow through a staged cond. Pass that value as an "
                    "operand: cond(pred, true_fun, false_fun, *operands).")
        return outs

    def jvp(self, primals: list, tangents: list):
        outs = self._outs(primals)
        ops, n, zero_outs = primals[1:], len(primals) - 1, _avals(outs)
        tans = [_zeros_like(p) if t is None else t for p, t in zip(ops, tangents[1:])]

        def branch_jvp(fun):
            def push(*a):
                _, t_outs = jvp_flat(lambda ins: self._call(fun, ins), list(a[:n]), list(a[n:]))
                return [z if t is None else t for z, t in zip(zero_outs, t_outs)]
            return push

        t_outs = cond(primals[0], branch_jvp(self.funs[0]), branch_jvp(self.funs[1]), *ops, *tans)
        return outs, list(t_outs)

    def fwd(self, primals: list):
        outs = self._outs(primals)
        ops, n, zero_ops = primals[1:], len(primals) - 1, _avals(primals[1:])

        def branch_vjp(fun):
            def pull(*a):
                _, back = vjp_flat(lambda ins: self._call(fun, ins), list(a[:n]))
                return [z if g is None else g for z, g in zip(zero_ops, back(list(a[n:])))]
            return pull

        def bwd(cts, needs):
            cts = [_zeros_like(o) if c is None else c for o, c in zip(outs, cts)]
            gs = cond(primals[0], branch_vjp(self.funs[0]), branch_vjp(self.funs[1]), *ops, *cts)
            return [None, *gs]

        return outs, bwd


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
    """val = body_fun(i, val) for i in range(lower, upper); one rolled `scan` equation under jit.

    Eagerly it is a Python loop. Staged (jit, make_graph), the body is traced once into a
    sub-graph, whatever the trip count; with staged bounds it is a `while_loop` (forward-mode
    derivatives only under jit). The body may index with the counter (``xs[i]``, ``xs[i:i+k]``,
    ``x.at[i].set(v)``) and stays rolled; one that needs a concrete counter (NumPy's own indexing of a
    plain array, ``plain_table[i]``: write ``pullback.numpy.take(plain_table, i)``) is unrolled.

    Parameters
    ----------
    lower, upper : int
        The loop bounds (Python or concrete integers; staged ones under jit make a while_loop).
    body_fun : callable
        ``(i, val) -> val``, keeping val's structure.
    init_val : pytree of arrays
        The initial value (differentiable).

    Returns
    -------
    pytree of arrays
        The final val.

    Examples
    --------
    >>> import pullback as pb, pullback.numpy as np
    >>> pb.grad(lambda x: pb.fori_loop(0, 3, lambda i, v: v * x, 1.0))(2.0)
    np.float64(12.0)
    """
    if staging_active():
        bounds = _maybe_static(lower), _maybe_static(upper)
        if None in bounds:  # a staged trip count: a while loop over (i, val)
            out = _staged_while(lambda c: c[0] < upper, lambda c: (c[0] + 1, body_fun(c[0], c[1])),
                                (cf.typed(lower, ShapeDtype((), np.int64)), init_val))
            if out is not _UNROLL:
                return out[1]
        else:
            out = _staged_fori(bounds[0], bounds[1], body_fun, init_val)
            if out is not _UNROLL:
                return out
    val = init_val
    for i in range(_static_int(lower, "lower"), _static_int(upper, "upper")):
        val = body_fun(i, val)
    return val


def _maybe_static(v: Any) -> int | None:
    """A loop bound's concrete value, or None when it is staged."""
    if isinstance(v, Tracer):
        try:
            return int(v.concrete())
        except ConcretizationError:
            return None
    return int(v)


def while_loop(cond_fun: Callable[[Any], Any], body_fun: Callable[[Any], Any], init_val: Any) -> Any:
    """while cond_fun(val): val = body_fun(val). Differentiable (forward and reverse) when run eagerly.

    Under jit, a predicate on concrete values (a Python counter) runs the Python loop; a staged one
    makes one rolled `while_loop` equation, differentiable in forward mode (and in reverse mode when the
    graph is evaluated on arrays, as by grad(jit(f))).

    Parameters
    ----------
    cond_fun : callable
        ``val -> bool``.
    body_fun : callable
        ``val -> val``, keeping val's structure.
    init_val : pytree of arrays
        The initial value.

    Returns
    -------
    pytree of arrays
        The final val.

    Raises
    ------
    ControlFlowError
        Reverse-mode differentiation under jit (jit(grad(f))) of a loop whose condition is staged.

    Examples
    --------
    >>> import pullback as pb, pullback.numpy as np
    >>> pb.while_loop(lambda v: v[0] < 3, lambda v: (v[0] + 1, v[1] * 2.0), (0, 1.0))
    (3, 8.0)
    """
    val = init_val
    first = True
    while True:
        c = cond_fun(val)
        if first and isinstance(c, Tracer) and staging_active() and _staged_value(c):
            out = _staged_while(cond_fun, body_fun, init_val)
            if out is not _UNROLL:
                return out
        first = False
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
    """(carry, ys): carry, y = f(carry, x) over the leading axis of xs; ys stacked.

    Eagerly a Python loop; staged (jit, make_graph), one rolled `scan` equation whose body is traced
    once; its reverse mode stores each step's carry and runs a reverse scan.

    Parameters
    ----------
    f : callable
        ``(carry, x) -> (carry, y)``; carry keeps its structure, shapes and dtypes.
    init : pytree of arrays
        The initial carry.
    xs : pytree of arrays, optional
        Scanned over their leading axis (None: x is None and length steps are run).
    length : int, optional
        The number of steps when xs is None.
    reverse : bool, optional
        Scan from the last element to the first (ys keep xs's order).

    Returns
    -------
    tuple
        ``(final_carry, ys)``, ys stacked along a new leading axis (None when f's y is None).

    Raises
    ------
    ValueError
        Neither xs nor length is given.

    Examples
    --------
    >>> import pullback as pb, pullback.numpy as np
    >>> pb.scan(lambda c, x: (c + x, c * x), 0.0, np.array([1.0, 2.0, 3.0]))
    (np.float64(6.0), array([0., 2., 9.]))
    """
    x_leaves, x_tree = tree_flatten(xs)
    if length is None:
        if not x_leaves:
            raise ValueError("scan: give xs or length")
        length = int(np.shape(x_leaves[0])[0]) if not isinstance(x_leaves[0], Tracer) else x_leaves[0].shape[0]
    if staging_active():
        out = _staged_scan(f, init, x_leaves, x_tree, int(length), reverse)
        if out is not _UNROLL:
            return out
    if length == 0:
        return init, _empty_ys(f, init, x_leaves, x_tree)
    order = range(length - 1, -1, -1) if reverse else range(length)
    carry, ys = init, [None] * length
    for i in order:
        x = tree_unflatten(x_tree, [leaf[i] for leaf in x_leaves]) if x_leaves else None
        res = f(carry, x)
        if not (isinstance(res, (tuple, list)) and len(res) == 2):
            raise ArgumentError(
                f"scan: the body f(carry, x) must return a pair (new_carry, y), but it returned "
                f"{type(res).__name__}{f' of length {len(res)}' if isinstance(res, (tuple, list)) else ''}. "
                "Return `carry, None` when there is no per-step output."
            )
        carry, y = res
        ys[i] = y
    if ys[0] is None:
        return carry, None
    y_leaves = [tree_flatten(y)[0] for y in ys]
    y_tree = tree_flatten(ys[0])[1]
    stacked = [_arrays.stack([yl[j] for yl in y_leaves]) for j in range(len(y_leaves[0]))]
    return carry, tree_unflatten(y_tree, stacked)


def _empty_ys(f: Callable, init: Any, x_leaves: list, x_tree) -> Any:
    """ys of a length-0 scan: f's y structure with every leaf of shape (0, ...), as JAX returns.

    f runs once on zero-filled x slices (the sum over the empty axis, so batching follows xs) to
    find y's shapes and dtypes; that run's values are not used.
    """
    def first_slice_zeros(leaf):
        if isinstance(leaf, Tracer):
            return red.reduce_sum(leaf, axis=(0,), keepdims=False)
        return np.sum(np.asarray(leaf), axis=0)

    def none_of(v):
        stacked = _arrays.stack([v if isinstance(v, Tracer) else np.asarray(v)])
        return sh.getitem(stacked, idx=slice(0, 0)) if isinstance(stacked, Tracer) else stacked[:0]

    x = tree_unflatten(x_tree, [first_slice_zeros(leaf) for leaf in x_leaves]) if x_leaves else None
    with np.errstate(all="ignore"):
        _, y = f(init, x)
    if y is None:
        return None
    leaves, tree = tree_flatten(y)
    return tree_unflatten(tree, [none_of(v) for v in leaves])


# ----------------------------------------------------------------------------- staged (rolled) control flow

_UNROLL = object()  # a staged body that cannot be staged on its own: run the Python version instead


def _strong(v: Any) -> ShapeDtype:
    """The abstract value of a carry or operand: its shape and dtype, never weakly typed."""
    a = abstractify(v)
    return ShapeDtype(a.shape, a.dtype)


def _promoted(a: ShapeDtype, b: ShapeDtype, weak: bool) -> ShapeDtype | None:
    """The carry type for a carry given as a (a Python scalar if weak) that the body makes b; None when no
    one type gives the Python loop's values (the shape changes, or an array's dtype does)."""
    if a.shape != b.shape:
        return None
    if b.weak or b.dtype == a.dtype:
        return a
    return ShapeDtype(a.shape, np.result_type(a.dtype, b.dtype)) if weak else None


def _is_weak(v: Any) -> bool:
    """A Python scalar, or a staged value that is one at run time."""
    return type(v) in (bool, int, float, complex) or cf.is_weak_tracer(v)


def _trace_typed(fun: Callable[[list], tuple], avals: list, out_types: list | None, captured_first: bool = True):
    """Stage fun (flat list -> (flat outputs, tree)) with its outputs cast to out_types (None: as they
    come); returns (body, captured, out avals as traced, tree)."""
    info = {}

    def flat(vals):
        outs, tree = fun(vals)
        info["avals"] = [abstractify(o) for o in outs]
        info["tree"] = tree
        types = out_types if out_types is not None else [_strong(o) for o in outs]
        return [cf.typed(o, t) for o, t in zip(outs, types)]

    body, captured = cf.stage_body(flat, avals, captured_first)
    return body, captured, info["avals"], info["tree"]


def _staged_scan(f: Callable, init: Any, x_leaves: list, x_tree, length: int, reverse: bool) -> Any:
    """scan as one staged `scan` equation, or _UNROLL when the body cannot be staged."""
    init_leaves, init_tree = tree_flatten(init)
    nc = len(init_leaves)
    carry_avals = [_strong(v) for v in init_leaves]
    weak = [_is_weak(v) for v in init_leaves]
    x_avals = []
    for x in x_leaves:
        a = _strong(x)
        if a.shape[:1] != (length,):
            return _UNROLL
        x_avals.append(ShapeDtype(a.shape[1:], a.dtype))

    def step(vals):
        carry = tree_unflatten(init_tree, vals[:nc])
        x = tree_unflatten(x_tree, vals[nc:]) if x_leaves else None
        res = f(carry, x)
        if not (isinstance(res, (tuple, list)) and len(res) == 2):
            raise _NotAPair(res)
        c_leaves, c_tree = tree_flatten(res[0])
        if c_tree != init_tree:
            raise PytreeError(f"scan: the body returned a carry of structure {c_tree}, but the initial carry "
                              f"has {init_tree}; keep the carry's structure")
        y_leaves, y_tree = tree_flatten(res[1])
        return c_leaves + y_leaves, y_tree

    try:
        for _ in range(3):  # a Python scalar carry the body promotes (int -> float) is traced again as such
            body, captured, got, y_tree = _trace_typed(step, carry_avals + x_avals, None)
            widened = [_promoted(a, b, w) for a, b, w in zip(carry_avals, got[:nc], weak)]
            if any(w is None for w in widened):
                return _UNROLL
            if widened == carry_avals:
                break
            carry_avals = widened
        else:
            return _UNROLL
        if [_strong_of(a) for a in got[:nc]] != carry_avals:  # the body narrows a carry: cast it back
            y_types = [_strong_of(a) for a in got[nc:]]
            body, captured, _, y_tree = _trace_typed(step, carry_avals + x_avals, carry_avals + y_types)
    except Exception:  # noqa: BLE001 - a body that cannot be staged (or a user error): the Python loop
        return _UNROLL  # runs it, and reports any error as before
    operands = captured + [cf.typed(v, a) for v, a in zip(init_leaves, carry_avals)] + list(x_leaves)
    outs = cf.scan_p.bind(*operands, body=body, n_consts=len(captured), n_carry=nc, length=length, reverse=reverse)
    return tree_unflatten(init_tree, list(outs[:nc])), tree_unflatten(y_tree, list(outs[nc:]))


class _NotAPair(Exception):
    pass


def _strong_of(a: ShapeDtype) -> ShapeDtype:
    return ShapeDtype(a.shape, a.dtype)


def _staged_fori(lower: int, upper: int, body_fun: Callable, init_val: Any) -> Any:
    """fori_loop as a staged scan whose carry holds the counter i."""
    def step(carry, _):
        i, val = carry
        return (i + 1, body_fun(i, val)), None

    out = _staged_scan(step, (np.asarray(lower, dtype=np.int64), init_val), [], tree_flatten(None)[1],
                       max(upper - lower, 0), False)
    return out if out is _UNROLL else out[0][1]


def _staged_while(cond_fun: Callable, body_fun: Callable, init_val: Any) -> Any:
    """while_loop as one staged `while_loop` equation, or _UNROLL when the body cannot be staged."""
    init_leaves, tree = tree_flatten(init_val)
    carry_avals = [_strong(v) for v in init_leaves]
    weak = [_is_weak(v) for v in init_leaves]

    def test(vals):
        p = cond_fun(tree_unflatten(tree, vals))
        return [p], None

    def step(vals):
        leaves, t = tree_flatten(body_fun(tree_unflatten(tree, vals)))
        if t != tree:
            raise PytreeError(f"while_loop: the body returned a value of structure {t}, but the initial value "
                              f"has {tree}; keep its structure")
        return leaves, t

    try:
        for _ in range(3):
            body, b_captured, got, _ = _trace_typed(step, carry_avals, None)
            widened = [_promoted(a, b, w) for a, b, w in zip(carry_avals, got, weak)]
            if any(w is None for w in widened):
                return _UNROLL
            if widened == carry_avals:
                break
            carry_avals = widened
        else:
            return _UNROLL
        if [_strong_of(a) for a in got] != carry_avals:
            body, b_captured, _, _ = _trace_typed(step, carry_avals, carry_avals)
        test_body, c_captured, (p_aval,), _ = _trace_typed(test, carry_avals, None)
    except PytreeError:
        raise
    except Exception:  # noqa: BLE001 - a body that cannot be staged: the Python version runs it
        return _UNROLL
    if p_aval.shape != ():
        return _UNROLL
    operands = c_captured + b_captured + [cf.typed(v, a) for v, a in zip(init_leaves, carry_avals)]
    outs = cf.while_p.bind(*operands, cond_body=test_body, body=body, n_cond_consts=len(c_captured),
                           n_body_consts=len(b_captured))
    return tree_unflatten(tree, list(outs))


def _staged_cond(pred: Any, true_fun: Callable, false_fun: Callable, operands: tuple) -> Any:
    """cond as one staged `cond` equation holding both branches, or _UNROLL (then both run and are selected)."""
    if tuple(np.shape(pred) if not isinstance(pred, Tracer) else pred.shape) != ():
        return _UNROLL
    leaves, in_tree = tree_flatten(operands)
    avals = [_strong(v) for v in leaves]

    def branch(fun):
        def flat(vals):
            out_leaves, out_tree = tree_flatten(fun(*tree_unflatten(in_tree, vals)))
            return out_leaves, out_tree
        return flat

    try:
        _, _, t_avals, t_tree = _trace_typed(branch(true_fun), avals, None, False)
        _, _, f_avals, f_tree = _trace_typed(branch(false_fun), avals, None, False)
        if t_tree != f_tree:
            raise PytreeError(f"cond: the branches return different structures: {t_tree} vs {f_tree}")
        if any(a.shape != b.shape for a, b in zip(t_avals, f_avals)):
            return _UNROLL  # shapes that broadcast: selected as before
        types = [ShapeDtype(a.shape, b.dtype if a.weak and not b.weak else a.dtype if b.weak and not a.weak
                            else np.result_type(a.dtype, b.dtype)) for a, b in zip(t_avals, f_avals)]
        t_body, t_captured, _, _ = _trace_typed(branch(true_fun), avals, types, False)
        f_body, f_captured, _, _ = _trace_typed(branch(false_fun), avals, types, False)
    except PytreeError:
        raise
    except Exception:  # noqa: BLE001 - a body that cannot be staged: the Python version runs it
        return _UNROLL
    n, nt = len(leaves), len(t_captured)
    t_full = _with_unused(t_body, n + nt, [v.aval for v in f_body.graph.in_vars[n:]])
    f_full = _with_unused(f_body, n, [v.aval for v in t_body.graph.in_vars[n:]])
    ops = [cf.typed(v, a) for v, a in zip(leaves, avals)] + t_captured + f_captured
    outs = cf.cond_p.bind(pred, *ops, true_branch=t_full, false_branch=f_full)
    return tree_unflatten(t_tree, list(outs))


def _with_unused(body: SubGraph, at: int, extra: list) -> SubGraph:
    """body with inputs of types `extra` inserted at position `at`, which it does not read (both branches of
    a cond take the same operands: their own captures and the other branch's)."""
    g = body.graph
    new = [Var(a, "unused") for a in extra]
    return SubGraph(Graph(g.in_vars[:at] + new + g.in_vars[at:], g.eqns, g.outs))

__all__ = ["cond", "fori_loop", "scan", "while_loop"]
