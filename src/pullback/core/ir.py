"""The staged IR: a typed graph of primitive applications.

    Graph(in_vars, eqns, outs)       each Eqn: outs = prim(ins, **params)

A value in the graph is a `Var` (an input or an equation's output, with shape and
dtype) or a `Const` (an array or Python scalar captured while tracing). Graphs
print one equation per line and can be evaluated directly (`eval_graph`, which
re-applies each primitive through `bind`, so transformations see through it) or
compiled to NumPy source (`codegen`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


class ShapeDtype:
    """An abstract array: only its shape and dtype are known.

    `weak` marks a Python scalar (bool, int, float, complex) passed as an argument: like the
    scalar itself, it takes part in NumPy's type promotion weakly (float32 array * 2.0 stays
    float32), and the generated code receives it unconverted.
    """

    __slots__ = ("shape", "dtype", "weak")

    def __init__(self, shape: tuple, dtype: Any, weak: bool = False):
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self.weak = weak

    def placeholder(self):
        """What a shape rule sees for this value: a Python scalar of its kind if weak, else itself."""
        return _WEAK_PLACEHOLDERS[self.dtype.kind] if self.weak else self

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"{self.dtype.name}{list(self.shape)}" + ("(weak)" if self.weak else "")

    def __eq__(self, other) -> bool:
        return isinstance(other, ShapeDtype) and (self.shape, self.dtype, self.weak) == (
            other.shape, other.dtype, other.weak)

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype, self.weak))


_WEAK_PLACEHOLDERS = {"b": False, "i": 0, "u": 0, "f": 0.0, "c": 0j}
_PY_SCALARS = (bool, int, float, complex)

# Primitives that Python's operators stand for: on weak operands only (Python scalars) their
# result is a Python scalar again, so weakly typed (2.0 * 3.0 is a float, not a numpy.float64).
WEAK_PRESERVING = frozenset(
    {"add", "subtract", "multiply", "divide", "power", "negative", "less", "less_equal", "greater",
     "greater_equal", "equal", "not_equal"}
)


def is_weak(a) -> bool:
    """A weakly typed atom: a weak input (or result of weak inputs), or a Python scalar constant."""
    if isinstance(a, Var):
        return a.aval.weak
    return type(a.value) in _PY_SCALARS


def weak_result(prim, atoms) -> bool:
    return prim.name in WEAK_PRESERVING and bool(atoms) and all(is_weak(a) for a in atoms)


class Var:
    """A graph variable: an input or the output of one equation."""

    __slots__ = ("aval", "hint")

    def __init__(self, aval: ShapeDtype, hint: str = ""):
        self.aval = aval
        self.hint = hint

    @property
    def shape(self) -> tuple:
        return self.aval.shape

    @property
    def dtype(self) -> np.dtype:
        return self.aval.dtype

    def __repr__(self) -> str:
        return f"Var({self.hint or id(self)}: {self.aval})"


class Const:
    """A constant captured while tracing (a Python scalar keeps NumPy's weak typing)."""

    __slots__ = ("value", "_all", "key")

    def __init__(self, value: Any):
        self.value = value
        self._all: dict | None = None  # is_all answers, computed once per constant
        self.key = None  # the passes' content key, computed once per constant

    @property
    def shape(self) -> tuple:
        return np.shape(self.value)

    @property
    def dtype(self) -> np.dtype:
        return getattr(self.value, "dtype", None) or np.result_type(self.value)

    @property
    def is_scalar_literal(self) -> bool:
        return isinstance(self.value, (bool, int, float, complex)) or (
            isinstance(self.value, np.ndarray | np.generic) and np.ndim(self.value) == 0
        )

    def is_all(self, number: float) -> bool:
        """True when every element equals `number` (used for symbolic zeros and ones)."""
        v = self.value
        if isinstance(v, (bool, int, float, complex)):
            return v == number and not isinstance(v, bool)
        if not (isinstance(v, (np.ndarray, np.generic)) and v.dtype.kind in "iufc"):
            return False
        if self._all is None:
            self._all = {}
        hit = self._all.get(number)
        if hit is None:
            hit = self._all[number] = bool(np.all(v == number))
        return hit

    def __repr__(self) -> str:
        v = self.value
        if self.is_scalar_literal:
            return repr(v.item() if isinstance(v, (np.ndarray, np.generic)) else v)
        return f"const{list(np.shape(v))}"


Atom = Var | Const


class Eqn:
    """outs = prim(*ins, **params)."""

    __slots__ = ("prim", "ins", "params", "outs")

    def __init__(self, prim, ins: Sequence[Atom], params: dict, outs: Sequence[Var]):
        self.prim = prim
        self.ins = list(ins)
        self.params = params
        self.outs = list(outs)


class Graph:
    """Inputs, equations in execution order, outputs; plus the pytree structures of the function."""

    def __init__(self, in_vars: list, eqns: list, outs: list, in_tree=None, out_tree=None, in_names=None):
        self.in_vars = in_vars
        self.eqns = eqns
        self.outs = outs
        self.in_tree = in_tree
        self.out_tree = out_tree
        self.in_names = in_names or [f"x{i}" for i in range(len(in_vars))]

    # -- reading ---------------------------------------------------------------
    def names(self) -> dict:
        """A readable name for every Var: inputs after the user's argument names, then a, b, c ..."""
        from .codegen import var_names

        return var_names(self)

    def __str__(self) -> str:
        names = self.names()

        def show(a):
            return names[a] if isinstance(a, Var) else repr(a)

        lines = ["{ lambda " + ", ".join(f"{names[v]}:{v.aval}" for v in self.in_vars) + " ."]
        for e in self.eqns:
            params = ", ".join(f"{k}={_short(v)}" for k, v in e.params.items())
            lhs = ", ".join(f"{names[o]}:{o.aval}" for o in e.outs)
            args = ", ".join(show(a) for a in e.ins)
            lines.append(f"    {lhs} = {e.prim.name}({args}{', ' if params and args else ''}{params})")
        lines.append("  in (" + ", ".join(show(o) for o in self.outs) + ") }")
        return "\n".join(lines)

    __repr__ = __str__

    def op_count(self) -> int:
        return len(self.eqns)

    # -- transformations ---------------------------------------------------------
    def simplify(self) -> Graph:
        """Symbolic zeros/ones, algebraic identities, constant folding, CSE and dead-code elimination."""
        from .passes import simplify

        return simplify(self)

    def dce(self) -> Graph:
        """Dead-code elimination only: drop equations whose outputs are never used."""
        from .passes import dce

        return dce(self)

    def cse(self) -> Graph:
        """Common-subexpression elimination only (then DCE of what it made unused)."""
        from .passes import cse

        return cse(self)

    def fold_constants(self) -> Graph:
        """Constant folding only: evaluate equations whose inputs are all constants."""
        from .passes import fold_constants

        return fold_constants(self)

    def equivalent(self, other: Graph) -> bool:
        """True when both graphs compute the same expressions of their inputs (matched by position),
        up to the names of variables, the order of equations, duplicated subexpressions and the
        order of the arguments of commutative operations; nothing else (no reassociation)."""
        from .passes import canonical_form

        table: dict = {}
        return canonical_form(self, table) == canonical_form(other, table)

    def source(self, name: str = "staged") -> str:
        """Readable Python over numpy, one statement per equation; runnable with exec."""
        from .codegen import generate

        return generate(self, name)[0]

    def compile(self):
        """A Python function running the generated NumPy source on flat inputs."""
        from .codegen import compile_graph

        return compile_graph(self)

    def __call__(self, *flat_args):
        return eval_graph(self, flat_args)


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
