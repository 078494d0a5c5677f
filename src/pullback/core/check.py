"""The IR type checker: re-derive every equation's output shapes and dtypes from its primitive's
shape rule, and check that every variable is defined once, before its use; sub-graphs held by
higher-order primitives (loop bodies, branches) are checked too.

`check_graph(graph, where)` raises `GraphCheckError` naming the equation and what differs.
With `ENABLED` set (the test suite sets it), every graph staged by `trace_flat` and every graph a
pass returns (simplify, cse, dce, fold_constants, fuse_keepdims) is checked; off, `after_pass` is
a single flag test.
"""

from __future__ import annotations

import numpy as np

from ..errors import GraphCheckError
from .atoms import Const, ShapeDtype, Var, rule_arg, weak_result
from .subgraph import subgraphs_of

ENABLED = False  # check every staged graph and every pass's result (turned on by the test suite)


def after_pass(graph, where: str):
    """The graph unchanged, checked first when checking is enabled."""
    if ENABLED:
        check_graph(graph, where)
    return graph


def derived_avals(prim, ins, params) -> list[ShapeDtype]:
    """The output avals prim's shape rule gives for these input atoms."""
    rule = prim.shape(*[rule_arg(a) for a in ins], **params)
    if prim.multiple_results:
        return [ShapeDtype(s, d) for s, d in rule]
    shape, dtype = rule
    return [ShapeDtype(shape, dtype, weak_result(prim, ins))]


def check_graph(graph, where: str = "graph") -> None:
    """Raise GraphCheckError unless every equation's outputs have the avals its shape rule derives."""
    defined: set = set()

    def fail(i, e, msg):
        raise GraphCheckError(f"{where}: equation {i} ({e.prim.name}) {msg}\n{graph}")

    for v in graph.in_vars:
        if not isinstance(v, Var) or v in defined:
            raise GraphCheckError(f"{where}: graph input {v!r} is not a fresh Var\n{graph}")
        defined.add(v)
    for i, e in enumerate(graph.eqns):
        for a in e.ins:
            if isinstance(a, Var):
                if a not in defined:
                    fail(i, e, f"uses {a!r} before it is defined")
            elif not isinstance(a, Const):
                fail(i, e, f"has an input that is neither a Var nor a Const: {a!r}")
        for k, sub in enumerate(subgraphs_of(e.params)):  # a loop's body, a branch: checked in turn
            try:
                check_graph(sub.graph, f"{where}: equation {i} ({e.prim.name}), sub-graph {k}")
            except GraphCheckError as exc:
                raise GraphCheckError(f"{exc}\nin\n{graph}") from None
        if e.prim.shape is None:
            fail(i, e, "has no shape rule")
        try:
            expect = derived_avals(e.prim, e.ins, e.params)
        except Exception as exc:  # noqa: BLE001 - report the rule's own complaint with the equation
            fail(i, e, f"is rejected by its shape rule: {type(exc).__name__}: {exc}")
        if len(expect) != len(e.outs):
            fail(i, e, f"has {len(e.outs)} outputs but its shape rule gives {len(expect)}")
        for j, (o, want) in enumerate(zip(e.outs, expect)):
            if not isinstance(o, Var) or o in defined:
                fail(i, e, f"output {j} ({o!r}) is not a fresh Var (defined twice?)")
            got = o.aval
            if got.shape != want.shape or np.dtype(got.dtype) != want.dtype or got.weak != want.weak:
                fail(i, e, f"output {j} is recorded as {got} but its shape rule gives {want}")
            defined.add(o)
    for o in graph.outs:
        if isinstance(o, Var) and o not in defined:
            raise GraphCheckError(f"{where}: output {o!r} is not defined by the graph\n{graph}")
