"""The canonical form of a graph: structural ids for comparing graphs up to renaming, equation
order, duplicated subexpressions and the argument order of commutative operations.

`value_key` / `const_key` / `params_key` are the hashable keys of constants and parameters
that both the canonical form and CSE (core/rewrite.py) use.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .atoms import Const, Var

CONTENT_KEY_LIMIT = 4096  # arrays up to this many elements are keyed by content, larger ones by identity


def value_key(v: Any) -> Any:
    """A hashable key for a parameter or constant value.

    Small arrays are keyed by content; large ones by identity (reading their bytes at every
    lookup would make staging cost grow with the data), so two equal large constants that are
    different objects count as different — a conservative answer for CSE and `equivalent`.
    """
    if isinstance(v, np.ndarray | np.generic):
        a = np.asarray(v)
        if a.size > CONTENT_KEY_LIMIT:
            return ("array-id", id(v), a.shape, a.dtype.str)
        return ("array", a.shape, a.dtype.str, a.tobytes())
    if isinstance(v, (list, tuple)):
        return (type(v).__name__,) + tuple(value_key(x) for x in v)
    if isinstance(v, dict):
        return ("dict",) + tuple((k, value_key(x)) for k, x in sorted(v.items()))
    if isinstance(v, slice):
        return ("slice", value_key(v.start), value_key(v.stop), value_key(v.step))
    if isinstance(v, float) and np.isnan(v):
        return ("nan",)
    if isinstance(v, (bool, int, float, complex)):
        return (type(v).__name__, v)
    if isinstance(v, np.dtype):
        return ("dtype", v.str)
    try:
        hash(v)
        return v
    except TypeError:
        return ("id", id(v))


def const_key(c: Const) -> Any:
    """value_key of a constant, computed once (arrays are keyed by their bytes)."""
    if c.key is None:
        c.key = ("c", value_key(c.value))
    return c.key


def params_key(params: dict) -> Any:
    return tuple((k, value_key(v)) for k, v in sorted(params.items()))


def canonical_form(graph, table: dict) -> tuple:
    """Structural ids of the outputs: equal ids ⇔ equal expressions of the inputs (up to commutativity).

    Ids come from `table`, which must be shared by the graphs being compared.
    """
    ids: dict = {}

    def intern(key):
        if key not in table:
            table[key] = len(table)
        return table[key]

    for i, v in enumerate(graph.in_vars):
        ids[v] = intern(("in", i, v.aval.shape, v.aval.dtype.str, v.aval.weak))

    def atom(a):
        return ids[a] if isinstance(a, Var) else intern(const_key(a))

    for e in graph.eqns:
        args = [atom(a) for a in e.ins]
        if e.prim.commutative:
            args.sort()
        base = (e.prim, params_key(e.params), tuple(args))
        for j, o in enumerate(e.outs):
            ids[o] = intern(base + (j,))
    return tuple(atom(o) for o in graph.outs)


def equivalent(g1, g2) -> bool:
    """Whether two graphs compute the same expressions of their inputs (matched by position)."""
    table: dict = {}
    return canonical_form(g1, table) == canonical_form(g2, table)
