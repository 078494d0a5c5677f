"""Names for a graph's variables, shared by the printer (core/ir.py) and the code generator.

Inputs are named after the user's arguments, equation outputs after their primitive's
`stem` and a counter (sin0, mul1 ...). Every name is a sanitized Python identifier.
"""

from __future__ import annotations

import keyword
import re

RESERVED = frozenset({"np", "slice"})  # names the generated source uses


def sanitize(name: str, fallback: str = "x") -> str:
    """A valid, non-keyword Python identifier derived from `name` (ASCII letters, digits, underscores)."""
    s = re.sub(r"[^0-9A-Za-z_]", "_", str(name))
    if not s or s[0].isdigit():
        s = f"{fallback}_{s}"
    if keyword.iskeyword(s) or s in RESERVED:
        s += "_"
    return s


def var_names(graph) -> dict:
    """A readable name for every Var of `graph`: inputs after the user's argument names, then sin0, mul1 ..."""
    names: dict = {}
    used: set = set(RESERVED)

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
            names[o] = fresh(f"{e.prim.stem}{counter}")
            counter += 1
    return names
