"""Emit readable NumPy source for a Graph, and compile it.

One statement per equation, with a shape comment. User-provided names only ever
appear as sanitized identifiers; constants and any parameter that is not a plain
literal are passed to the generated function as objects, never printed into it.
"""

from __future__ import annotations

import keyword
import re
from typing import Any, Callable

import numpy as np

from .ir import Const, Graph, Var

_INFIX = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "power": "**", "matmul": "@"}
_PREFIX = {"negative": "-"}
_SAFE_STR = re.compile(r"^[A-Za-z0-9_,.\->]*$")


def sanitize(name: str, fallback: str = "x") -> str:
    """A valid, non-keyword Python identifier derived from `name`."""
    s = re.sub(r"\W", "_", str(name))
    if not s or s[0].isdigit():
        s = f"{fallback}_{s}"
    if keyword.iskeyword(s) or s in ("np", "prims"):
        s += "_"
    return s


def var_names(graph: Graph) -> dict:
    names: dict = {}
    used: set = {"np", "prims"}

    def fresh(base: str) -> str:
        base = sanitize(base)
        cand, k = base, 1
        while cand in used:
            cand, k = f"{base}_{k}", k + 1
        used.add(cand)
        return cand

    for v, n in zip(graph.in_vars, graph.in_names):
        names[v] = fresh(n)
    counter = 0
    for e in graph.eqns:
        for o in e.outs:
            names[o] = fresh(f"{e.prim.name[:4]}{counter}")
            counter += 1
    return names


def _is_literal(v: Any) -> bool:
    """Values whose repr is a safe Python literal."""
    if v is None or isinstance(v, (bool, int, float)):
        return not (isinstance(v, float) and not np.isfinite(v))
    if isinstance(v, str):
        return bool(_SAFE_STR.match(v))
    if isinstance(v, (tuple, list)):
        return all(_is_literal(x) for x in v)
    if isinstance(v, slice):
        return all(_is_literal(x) for x in (v.start, v.stop, v.step))
    return False


class _Emitter:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.names = var_names(graph)
        self.env: dict = {"np": np}
        self.nconst = 0

    def const(self, value: Any) -> str:
        name = f"c{self.nconst}"
        self.nconst += 1
        self.env[name] = value
        return name

    def atom(self, a) -> str:
        if isinstance(a, Var):
            return self.names[a]
        v = a.value
        if isinstance(v, (bool, int, float)) and _is_literal(v):
            return repr(v)
        return self.const(v)

    def param(self, v: Any) -> str:
        if isinstance(v, np.dtype):
            return f"np.dtype({v.str!r})"
        return repr(v) if _is_literal(v) else self.const(v)

    def statement(self, e) -> str:
        args = [self.atom(a) for a in e.ins]
        name = e.prim.name
        if name in _INFIX and not e.params and len(args) == 2:
            rhs = f"{args[0]} {_INFIX[name]} {args[1]}"
        elif name in _PREFIX and len(args) == 1:
            rhs = f"{_PREFIX[name]}{args[0]}"
        elif isinstance(e.prim.impl, np.ufunc) and not e.params:
            rhs = f"np.{e.prim.impl.__name__}({', '.join(args)})"
        else:
            fn = f"prims_{sanitize(name)}"
            self.env[fn] = e.prim.impl
            kw = [f"{k}={self.param(v)}" for k, v in e.params.items()]
            rhs = f"{fn}({', '.join(args + kw)})"
        lhs = ", ".join(self.names[o] for o in e.outs)
        if e.prim.multiple_results:
            lhs += ","
        shapes = "; ".join(f"{o.aval.dtype.name}{list(o.aval.shape)}" for o in e.outs)
        return f"    {lhs} = {rhs}  # {shapes}"


def generate(graph: Graph, name: str = "staged") -> tuple[str, dict]:
    """(source, namespace): `def name(inputs): ...` over numpy and the constants in namespace."""
    em = _Emitter(graph)
    fname = sanitize(name, "f")
    params = ", ".join(em.names[v] for v in graph.in_vars)
    lines = [f"def {fname}({params}):"]
    lines += [em.statement(e) for e in graph.eqns]
    outs = [em.atom(o) for o in graph.outs]
    lines.append(f"    return ({', '.join(outs)}{',' if len(outs) == 1 else ''})")
    return "\n".join(lines) + "\n", em.env


def compile_graph(graph: Graph, name: str = "staged") -> Callable:
    """The generated function, executed from its source."""
    source, env = generate(graph, name)
    code = compile(source, f"<pullback staged {sanitize(name, 'f')}>", "exec")
    exec(code, env)  # noqa: S102 - source built only from sanitized names and literals
    fn = env[sanitize(name, "f")]
    fn.__pullback_source__ = source
    return fn
