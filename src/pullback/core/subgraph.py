"""Closed sub-graphs: the parameter through which a higher-order primitive (a loop, a branch) holds
the function it applies.

    SubGraph(graph)      graph is closed: everything it reads is one of its inputs or a constant

A staged body never holds a tracer: whatever it read from outer levels (a jit argument, a value an
outer grad follows) was turned into an extra input while it was traced (core/staging.py,
`trace_closed`), and the primitive receives those values as operands, so every transformation sees
them. A SubGraph compares and hashes by the structure of its graph (the canonical form of
core/canonical.py), so CSE merges two equal loops and parameters stay usable as cache keys; it
compiles its graph to NumPy source once (`compiled`), and keeps graphs derived from it (a
transformation's rule staged for it: the body's JVP, its VJP ...) in `derived`, so each is traced once.

The passes see sub-graphs generically: the printer (core/ir.py) nests them, the checker
(core/check.py) checks them, DCE simplifies them (core/rewrite.py), and the code generator inlines
them where a primitive's render hook asks (core/codegen.py, `Emitter.inline`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .atoms import ShapeDtype, aval_of
from .canonical import canonical_form
from .codegen import compile_graph


class SubGraph:
    """A closed graph held as a primitive's parameter: flat inputs to flat outputs."""

    __slots__ = ("graph", "_key", "_hash", "_compiled", "derived")

    def __init__(self, graph: Any):
        self.graph = graph
        self._key = None
        self._hash = None
        self._compiled = None
        self.derived: dict = {}

    # -- what rules read ---------------------------------------------------------------
    @property
    def in_avals(self) -> list[ShapeDtype]:
        return [v.aval for v in self.graph.in_vars]

    @property
    def out_avals(self) -> list[ShapeDtype]:
        return [aval_of(o) for o in self.graph.outs]

    def __len__(self) -> int:
        return len(self.graph.eqns)

    def derive(self, key: Any, build: Callable[[], Any]) -> Any:
        """A graph (or anything) derived from this one, built once per key."""
        if key not in self.derived:
            self.derived[key] = build()
        return self.derived[key]

    # -- running -----------------------------------------------------------------------
    def compiled(self) -> Callable:
        """The graph as a Python function over NumPy (generated source), compiled on first use."""
        if self._compiled is None:
            self._compiled = compile_graph(self.graph, "body")
        return self._compiled

    def __call__(self, *args: Any) -> list:
        return list(self.compiled()(*args))

    # -- identity ----------------------------------------------------------------------
    def key(self) -> tuple:
        """A structural key: equal for graphs computing the same expressions of their inputs."""
        if self._key is None:
            table: dict = {}
            outs = canonical_form(self.graph, table)
            ins = tuple((v.aval.shape, v.aval.dtype.str, v.aval.weak) for v in self.graph.in_vars)
            self._key = (ins, tuple(table), outs)
        return self._key

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(self.key())
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, SubGraph) and hash(self) == hash(other)
                                 and self.key() == other.key())

    def __repr__(self) -> str:
        return f"SubGraph({len(self.graph.in_vars)} in, {len(self.graph.eqns)} eqns, {len(self.graph.outs)} out)"

    def replace_graph(self, graph: Any) -> SubGraph:
        """A SubGraph over another (e.g. simplified) graph; the derived cache is not shared."""
        return self if graph is self.graph else SubGraph(graph)


def subgraphs_of(params: dict) -> list[SubGraph]:
    """The sub-graphs among an equation's parameters (also inside tuples), in order."""
    found = []
    for v in params.values():
        if isinstance(v, SubGraph):
            found.append(v)
        elif isinstance(v, tuple):
            found += [x for x in v if isinstance(x, SubGraph)]
    return found


def map_subgraphs(params: dict, fn: Callable[[SubGraph], SubGraph]) -> dict:
    """params with fn applied to every sub-graph (the same dict when nothing changed)."""
    out, changed = {}, False
    for k, v in params.items():
        if isinstance(v, SubGraph):
            w = fn(v)
        elif isinstance(v, tuple) and any(isinstance(x, SubGraph) for x in v):
            w = tuple(fn(x) if isinstance(x, SubGraph) else x for x in v)
            w = v if all(a is b for a, b in zip(v, w)) else w
        else:
            w = v
        changed |= w is not v
        out[k] = w
    return out if changed else params
