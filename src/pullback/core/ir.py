"""The staged IR: a typed graph of primitive applications.

    Graph(in_vars, eqns, outs)       each Eqn: outs = prim(ins, **params)

A value in the graph is a `Var` (an input or an equation's output, with shape and
dtype) or a `Const` (an array or Python scalar captured while tracing). Graphs
print one equation per line and can be evaluated directly (`eval_graph`, which
re-applies each primitive through `bind`, so transformations see through it) or
compiled to NumPy source (`codegen`). The atoms (Var, Const, Eqn, ShapeDtype) are defined in
core/atoms.py; the passes in core/rewrite.py and core/canonical.py, the code generator in
core/codegen.py: the methods below only call them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import canonical, codegen, rewrite
from .atoms import (
    Atom,
    Const,
    Eqn,
    ShapeDtype,
    Var,
    aval_of,
    is_weak,
    rule_arg,
    weak_result,
)
from .check import check_graph
from .naming import var_names
from .subgraph import SubGraph, subgraphs_of

__all__ = ["Atom", "Const", "Eqn", "Graph", "ShapeDtype", "Var", "aval_of", "eval_graph", "is_weak", "rule_arg",
           "weak_result"]

class Graph:
    """Inputs, equations in execution order, outputs; plus the pytree structures of the function."""

    def __init__(self, in_vars: list, eqns: list, outs: list, in_tree=None, out_tree=None, in_names=None):
        self.in_vars = in_vars
        self.eqns = eqns
        self.outs = outs
        self.in_tree = in_tree
        self.out_tree = out_tree
        self.in_names = in_names or [f"x{i}" for i in range(len(in_vars))]

    def replace(self, eqns: list | None = None, outs: list | None = None) -> Graph:
        """The same graph (inputs, pytree structures, names) with other equations and/or outputs."""
        return Graph(self.in_vars, self.eqns if eqns is None else eqns, self.outs if outs is None else outs,
                     self.in_tree, self.out_tree, self.in_names)

    # -- reading ---------------------------------------------------------------
    def names(self) -> dict:
        """A readable name for every Var: inputs after the user's argument names, then sin0, mul1 ..."""
        return var_names(self)

    def __str__(self) -> str:
        return "\n".join(self._lines(""))

    def _lines(self, indent: str) -> list[str]:
        """The printed graph; a sub-graph parameter (a loop's body) is printed nested, indented."""
        names = self.names()

        def show(a):
            return names.get(a, "<undefined>") if isinstance(a, Var) else repr(a)

        lines = [indent + "{ lambda " + ", ".join(f"{names[v]}:{v.aval}" for v in self.in_vars) + " ."]
        for e in self.eqns:
            params = ", ".join(f"{k}={_short(v)}" for k, v in e.params.items() if not _holds_graph(v))
            lhs = ", ".join(f"{names[o]}:{o.aval}" for o in e.outs)
            args = ", ".join(show(a) for a in e.ins)
            lines.append(f"{indent}    {lhs} = {e.prim.name}({args}{', ' if params and args else ''}{params})")
            for k, v in e.params.items():
                for j, sub in enumerate(v if isinstance(v, tuple) else (v,)):
                    if isinstance(sub, SubGraph):
                        label = k if not isinstance(v, tuple) else f"{k}[{j}]"
                        lines.append(f"{indent}      {label} =")
                        lines += sub.graph._lines(indent + "        ")
        lines.append(indent + "  in (" + ", ".join(show(o) for o in self.outs) + ") }")
        return lines

    __repr__ = __str__

    def check(self) -> Graph:
        """Type-check the graph: re-derive every equation's output shapes and dtypes from its primitive's
        shape rule, and check each variable is defined once before use; raise GraphCheckError if not."""
        check_graph(self)
        return self

    def op_count(self) -> int:
        """The number of equations, counting those inside sub-graphs (loop bodies, branches) once each."""
        return sum(1 + sum(sub.graph.op_count() for sub in subgraphs_of(e.params)) for e in self.eqns)

    # -- transformations ---------------------------------------------------------
    def simplify(self) -> Graph:
        """Symbolic zeros/ones, algebraic identities, constant folding, CSE and dead-code elimination."""
        return rewrite.simplify(self)

    def dce(self) -> Graph:
        """Dead-code elimination only: drop equations whose outputs are never used."""
        return rewrite.dce(self)

    def cse(self) -> Graph:
        """Common-subexpression elimination only (then DCE of what it made unused)."""
        return rewrite.cse(self)

    def fold_constants(self) -> Graph:
        """Constant folding only: evaluate equations whose inputs are all constants."""
        return rewrite.fold_constants(self)

    def equivalent(self, other: Graph) -> bool:
        """True when both graphs compute the same expressions of their inputs (matched by position),
        up to the names of variables, the order of equations, duplicated subexpressions and the
        order of the arguments of commutative operations; nothing else (no reassociation)."""
        return canonical.equivalent(self, other)

    def source(self, name: str = "staged") -> str:
        """Readable Python over numpy, one statement per equation; runnable with exec."""
        return codegen.generate(self, name)[0]

    def compile(self):
        """A Python function running the generated NumPy source on flat inputs."""
        return codegen.compile_graph(self)

    def __call__(self, *flat_args):
        return eval_graph(self, flat_args)


def _holds_graph(v: Any) -> bool:
    return isinstance(v, SubGraph) or (isinstance(v, tuple) and any(isinstance(x, SubGraph) for x in v))


def _short(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return f"array{list(v.shape)}"
    if isinstance(v, tuple) and any(isinstance(x, np.ndarray) for x in v):
        return "(" + ", ".join(_short(x) for x in v) + ")"
    if isinstance(v, np.dtype):
        return v.name
    return repr(v)


def eval_graph(graph: Graph, flat_args: Sequence) -> list:
    """Evaluate the graph by applying each primitive with bind (so outer transformations trace it)."""
    env: dict = dict(zip(graph.in_vars, flat_args))

    def read(a):
        return env[a] if isinstance(a, Var) else a.value

    for e in graph.eqns:
        out = e.prim.bind(*[read(a) for a in e.ins], **e.params)
        if e.prim.multiple_results:
            env.update(zip(e.outs, out))
        else:
            env[e.outs[0]] = out
    return [read(o) for o in graph.outs]
