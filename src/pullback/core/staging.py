"""The staging trace: run a function on abstract values (shape and dtype only) and record a Graph.

Staging sits at the bottom of the trace stack, so derivative traces above it record
their own work (tangent propagation, backward passes) into the graph as well: the
graph of grad(f) is the forward pass plus the backward pass.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..config import on_change
from ..errors import EscapedTracerError, PullbackError, TracerConversionError
from . import check
from .backend import NUMPY_TYPES, backend_of, numpy_dtype
from .codegen import compile_graph
from .ir import Const, Eqn, Graph, ShapeDtype, Var, weak_result
from .primitive import Primitive
from .trace import _STACK, Trace, Tracer, find_top_trace, new_trace


class ConcretizationError(PullbackError, TypeError):
    """A staged (abstract) value was needed as a concrete Python value."""


class StagingTracer(Tracer):
    __slots__ = ("aval", "var")

    def __init__(self, trace: Trace, var: Var):
        self._trace = trace
        self.var = var
        self.aval = var.aval

    def describe(self) -> str:
        v = self.var
        if v.hint.startswith("arg:"):
            return f"the argument `{v.hint[4:]}` ({v.aval})"
        if v.hint:
            return f"the result of `{v.hint}` ({v.aval})"
        return f"a staged value {v.aval}"

    def concrete(self, how: str = "a concrete value"):
        raise ConcretizationError(
            f"{how} was needed for {self.describe()}, but while pullback.jit / make_graph stages a function "
            "its values are abstract (only shapes and dtypes are known). If it should steer Python control "
            "flow, mark the argument it comes from static (jit(f, static_argnums=...)); or express the branch "
            "with pullback.cond or pullback.numpy.where, and the loop with pullback.fori_loop or pullback.scan."
        )

    def __bool__(self):
        self.concrete("a Python bool (an `if`, `while`, `and`/`or` or bool())")

    def __index__(self):
        self.concrete("a Python int (an index, range() or int())")

    def __array__(self, dtype=None, copy=None):
        raise TracerConversionError(
            f"a staged value {self.var.aval} was converted to a plain numpy.ndarray inside a staged "
            "function; use pullback.numpy for this operation."
        )


def _shape_of_output(prim, args, params):
    if prim.shape is None:
        raise PullbackError(f"primitive {prim.name!r} has no shape rule, so it cannot be staged (jit/make_graph)")
    return prim.shape(*args, **params)


# Set by pullback.config (PULLBACK_VERBOSE=1): report progress of staging that takes long.
VERBOSE = False


def _set_verbose(value: bool) -> None:
    global VERBOSE
    VERBOSE = value


on_change("verbose", _set_verbose)
PROGRESS_AFTER_S = 3.0  # first report after this many seconds, then every PROGRESS_AFTER_S more


class StagingTrace(Trace):
    __slots__ = ("eqns", "consts", "started", "next_report", "captured")
    records_constants = True

    def __init__(self, level: int, closed: bool = False):
        super().__init__(level)
        self.eqns: list[Eqn] = []
        # A trace of a closed sub-graph (trace_closed) turns values of outer traces it meets into
        # extra inputs: id(tracer) -> (tracer, Var). None for a top-level trace.
        self.captured: dict | None = {} if closed else None
        self.started = time.perf_counter()
        self.next_report = PROGRESS_AFTER_S

    def _progress(self) -> None:
        elapsed = time.perf_counter() - self.started
        if elapsed >= self.next_report:
            self.next_report = elapsed + PROGRESS_AFTER_S
            print(f"pullback: staging: {len(self.eqns)} equations traced, {elapsed:.1f} s elapsed",
                  file=sys.stderr, flush=True)

    def new_input(self, aval: ShapeDtype, hint: str = "") -> StagingTracer:
        return StagingTracer(self, Var(aval, hint))

    def _atom(self, a):
        if isinstance(a, StagingTracer) and a._trace is self:
            return a.var, a.aval.placeholder()
        if isinstance(a, Tracer):  # a tracer of a lower level cannot meet the bottom trace
            if not a._trace.active:
                raise EscapedTracerError(
                    f"a traced value from a finished transformation ({a._trace!r}) was used after it ended, "
                    "inside a jit. Return values out of the transformed function instead of keeping them in "
                    "globals or closures, or wrap them with pullback.stop_gradient.")
            if self.captured is not None:
                var = self.capture(a)
                return var, var.aval
            raise PullbackError("internal error: a tracer below the staging trace")
        return Const(a), a

    def capture(self, a: Tracer) -> Var:
        """The input Var standing for a value of an outer trace that a sub-graph reads (closure conversion)."""
        entry = self.captured.get(id(a))
        if entry is None:
            entry = self.captured[id(a)] = (a, Var(ShapeDtype(a.shape, a.dtype), "capture"))
        return entry[1]

    def process_primitive(self, prim, args, params):
        atoms, avals = zip(*[self._atom(a) for a in args]) if args else ((), ())
        rule_out = _shape_of_output(prim, avals, params)
        if prim.multiple_results:
            outs = [Var(ShapeDtype(s, d), prim.name) for s, d in rule_out]
        else:
            shape, dtype = rule_out
            outs = [Var(ShapeDtype(shape, dtype, weak_result(prim, atoms)), prim.name)]
        self.eqns.append(Eqn(prim, atoms, dict(params), outs))
        if VERBOSE and not len(self.eqns) % 256:
            self._progress()
        tracers = [StagingTracer(self, v) for v in outs]
        return tuple(tracers) if prim.multiple_results else tracers[0]

    def process_custom(self, rule, args):
        """Stage a custom-derivative call as one custom_call equation holding its primal's graph, so
        that a transformation applied to the staged graph later (grad(jit(f))) still uses its rules.
        A primal that closes over this trace's values is inlined instead (its rules then apply only
        to transformations inside the staged function)."""
        try:
            graph = trace_flat(lambda ins: list(rule.primal(ins)), [abstractify(a) for a in args])
        except PullbackError:
            return rule.primal(list(args))
        return self.process_primitive(custom_call, tuple(args), {"rule": rule, "primal": StagedPrimal(graph)})


def staging_active() -> bool:
    """Whether a staging trace (jit, make_graph) is active in this context: higher-order primitives
    (loops, branches) are then staged rolled, with their bodies as sub-graphs."""
    return any(type(t) is StagingTrace for t in _STACK.get())


def trace_closed(fun: Callable[[list], list], avals: Sequence[ShapeDtype]) -> tuple[Graph, list]:
    """Stage fun into a closed sub-graph: (graph, captured).

    Values of outer traces that fun reads (from its closure: a jit argument, a value an outer grad
    follows) become extra inputs of the graph, after those for `avals`; `captured` lists those
    values, in the same order, for the caller to pass as operands. No tracer is kept in the graph.
    """
    with new_trace(StagingTrace, True) as trace:
        ins = [trace.new_input(a) for a in avals]
        in_vars = [t.var for t in ins]
        outs = fun(ins)
        out_atoms = []
        for o in outs:
            if isinstance(o, StagingTracer) and o._trace is trace:
                out_atoms.append(o.var)
            elif isinstance(o, Tracer):
                out_atoms.append(trace.capture(o))
            else:
                out_atoms.append(Const(o))
    captured = list(trace.captured.values())
    graph = Graph(in_vars + [v for _, v in captured], trace.eqns, out_atoms)
    return check.after_pass(graph, "staging a sub-graph"), [t for t, _ in captured]


def abstractify(x: Any) -> ShapeDtype:
    """The abstract value of an argument; a Python scalar is weakly typed, as NumPy treats it."""
    if isinstance(x, ShapeDtype):
        return x
    if isinstance(x, Tracer):
        return ShapeDtype(x.shape, x.dtype)
    if type(x) in (bool, int, float, complex):
        return ShapeDtype((), np.result_type(x), weak=True)
    if type(x) not in NUMPY_TYPES and backend_of(x) is not None:  # another library's array: never converted
        return ShapeDtype(tuple(x.shape), numpy_dtype(x.dtype))
    arr = np.asarray(x)
    return ShapeDtype(arr.shape, arr.dtype)


def trace_flat(fun: Callable[[list], list], avals: Sequence[ShapeDtype], hints: Sequence[str] = ()) -> Graph:
    """Stage fun (flat list in, flat list out) on abstract inputs into a Graph."""
    hints = list(hints) + [""] * (len(avals) - len(hints))
    with new_trace(StagingTrace) as trace:
        ins = [trace.new_input(a, f"arg:{h}" if h else "") for a, h in zip(avals, hints)]
        in_vars = [t.var for t in ins]  # read now: an in-place update inside fun rebinds the tracers
        outs = fun(ins)
        out_atoms = []
        for o in outs:
            if isinstance(o, StagingTracer) and o._trace is trace:
                out_atoms.append(o.var)
            else:
                out_atoms.append(Const(o))
    return check.after_pass(Graph(in_vars, trace.eqns, out_atoms), "staging")


# ----------------------------------------------------------------------------- custom calls


class _CustomCall(Primitive):
    # A custom_vjp / custom_jvp / Function call inside a staged graph. On plain values it runs the
    # primal's staged graph; on traced values it applies the custom function again (rule.primal_bind),
    # so the transformation tracing the graph uses the custom rules, not the primal's derivative.
    # (Primitive keeps each instance's doc in a __doc__ slot: the subclass reuses that slot.)

    __slots__ = ()
    __doc__ = Primitive.__dict__["__doc__"]

    def bind(self, *args: Any, **params: Any) -> Any:
        if find_top_trace(args) is None:
            return self.impl(*args, **params)
        return tuple(params["rule"].primal_bind(list(args)))


class StagedPrimal:
    """A custom function's primal as a staged graph, compiled to NumPy code on first use."""

    __slots__ = ("graph", "fn")

    def __init__(self, graph: Graph):
        self.graph, self.fn = graph, None

    def __call__(self, *args: Any) -> tuple:
        if self.fn is None:
            self.fn = compile_graph(self.graph.simplify(), "custom_primal")
        return tuple(self.fn(*args))


def _custom_call_impl(*args: Any, rule: Any, primal: StagedPrimal) -> tuple:
    return primal(*args)


def _custom_call_shape(*avals: Any, rule: Any, primal: StagedPrimal) -> list:
    out = []
    for o in primal.graph.outs:
        aval = o.aval if isinstance(o, Var) else abstractify(o.value)
        out.append((aval.shape, aval.dtype))
    return out


custom_call = Primitive(
    "custom_call", _custom_call_impl, shape=_custom_call_shape, multiple_results=True,
    doc="a custom-derivative function, staged with its primal's graph; transformations apply its rules",
)
custom_call.__class__ = _CustomCall  # same layout; its bind re-applies the custom function to traced values
