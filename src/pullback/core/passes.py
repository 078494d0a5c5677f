"""Graph passes: symbolic zeros and ones, algebraic identities, constant folding, CSE, DCE,
and a canonical form for comparing graphs up to renaming and equation order."""

from __future__ import annotations

from typing import Any

import numpy as np

from .ir import Const, Eqn, Graph, ShapeDtype, Var

COMMUTATIVE = frozenset(
    {"add", "multiply", "maximum", "minimum", "hypot", "equal", "not_equal", "logical_and", "logical_or",
     "logical_xor"}
)
FOLD_LIMIT = 1 << 16  # fold constant equations whose result has at most this many elements


# ----------------------------------------------------------------------------- keys


def value_key(v: Any) -> Any:
    """A hashable key for a parameter or constant value (arrays by content)."""
    if isinstance(v, np.ndarray | np.generic):
        a = np.asarray(v)
        return ("array", a.shape, a.dtype.str, a.tobytes())
    if isinstance(v, (list, tuple)):
        return (type(v).__name__,) + tuple(value_key(x) for x in v)
    if isinstance(v, dict):
        return ("dict",) + tuple((k, value_key(x)) for k, x in sorted(v.items()))
    if isinstance(v, slice):
        return ("slice", v.start, v.stop, v.step)
    if isinstance(v, float) and np.isnan(v):
        return ("nan",)
    if isinstance(v, (bool, int, float, complex)):
        return (type(v).__name__, v)
    try:
        hash(v)
        return v
    except TypeError:
        return ("id", id(v))


def params_key(params: dict) -> Any:
    return tuple((k, value_key(v)) for k, v in sorted(params.items()))


# ----------------------------------------------------------------------------- simplify


def _aval(a) -> ShapeDtype:
    if isinstance(a, Var):
        return a.aval
    return ShapeDtype(np.shape(a.value), a.dtype)


def _zero(aval: ShapeDtype) -> Const:
    return Const(np.broadcast_to(np.zeros((), aval.dtype), aval.shape))


def _is(a, number) -> bool:
    return isinstance(a, Const) and a.is_all(number)


def _same(a, out: Var) -> bool:
    """a can stand for out as it is (same shape and dtype)."""
    av = _aval(a)
    return av.shape == out.shape and av.dtype == out.dtype


class _Simplifier:
    def __init__(self):
        self.eqns: list[Eqn] = []
        self.producer: dict[Var, Eqn] = {}
        self.subst: dict[Var, Any] = {}
        self.seen: dict = {}

    def read(self, a):
        while isinstance(a, Var) and a in self.subst:
            a = self.subst[a]
        return a

    def atom_key(self, a):
        return ("v", id(a)) if isinstance(a, Var) else ("c", value_key(a.value))

    def emit(self, prim, ins, params, outs):
        keys = [self.atom_key(a) for a in ins]
        if prim.name in COMMUTATIVE:
            keys.sort()
        key = (prim, tuple(keys), params_key(params))
        if key in self.seen:  # common subexpression
            for o, prev in zip(outs, self.seen[key]):
                self.subst[o] = prev
            return
        e = Eqn(prim, ins, params, outs)
        self.seen[key] = outs
        self.eqns.append(e)
        for o in outs:
            self.producer[o] = e

    def rewrite(self, e: Eqn):
        """An atom that replaces the single output of e, a rewritten (prim, ins, params), or None."""
        name, ins, out, p = e.prim.name, e.ins, e.outs[0], e.params
        zeros = [_is(a, 0) for a in ins]
        if e.prim.linear and ins and all(zeros):  # a linear map of zeros
            return _zero(out.aval)
        if name in ("multiply", "matmul") and any(zeros):
            return _zero(out.aval)
        if name == "divide" and zeros[0]:
            return _zero(out.aval)
        if name == "add":
            for i in (0, 1):
                if zeros[i] and _same(ins[1 - i], out):
                    return ins[1 - i]
        if name == "subtract":
            if zeros[1] and _same(ins[0], out):
                return ins[0]
        if name == "multiply":
            for i in (0, 1):
                if _is(ins[i], 1) and _same(ins[1 - i], out):
                    return ins[1 - i]
        if name in ("divide", "power") and _is(ins[1], 1) and _same(ins[0], out):
            return ins[0]
        if name == "select" and zeros[1] and zeros[2]:
            return _zero(out.aval)
        src = self.producer.get(ins[0]) if ins and isinstance(ins[0], Var) else None
        if name in ("negative", "conjugate") and src is not None and src.prim is e.prim:
            return src.ins[0]
        if name in ("reshape", "broadcast_to", "sum_to") and _same(ins[0], out):
            return ins[0]
        if name == "convert" and _same(ins[0], out):
            return ins[0]
        if name == "reshape" and src is not None and src.prim is e.prim:
            return (e.prim, [src.ins[0]], p) if not _same(src.ins[0], out) else src.ins[0]
        if name == "transpose":
            if tuple(p["axes"]) == tuple(range(len(p["axes"]))):
                return ins[0]
            if src is not None and src.prim is e.prim:
                axes = tuple(src.params["axes"][a] for a in p["axes"])
                if axes == tuple(range(len(axes))):
                    return src.ins[0]
                return (e.prim, [src.ins[0]], {"axes": axes})
        return None

    def fold(self, e: Eqn):
        if e.prim.multiple_results or not all(isinstance(a, Const) for a in e.ins):
            return None
        if int(np.prod(e.outs[0].shape)) > FOLD_LIMIT:
            return None
        return Const(e.prim.impl(*[a.value for a in e.ins], **e.params))

    def run(self, graph: Graph) -> Graph:
        for e in graph.eqns:
            e = Eqn(e.prim, [self.read(a) for a in e.ins], e.params, e.outs)
            if not e.prim.multiple_results:
                for _ in range(4):  # rewrites can enable one another
                    r = self.rewrite(e)
                    if isinstance(r, tuple):
                        e = Eqn(r[0], list(r[1]), r[2], e.outs)
                        continue
                    break
                else:
                    r = None
                if r is None:
                    r = self.fold(e)
                if r is not None:
                    self.subst[e.outs[0]] = r
                    continue
            self.emit(e.prim, e.ins, e.params, e.outs)
        outs = [self.read(o) for o in graph.outs]
        g = Graph(graph.in_vars, self.eqns, outs, graph.in_tree, graph.out_tree, graph.in_names)
        return dce(g)


def simplify(graph: Graph) -> Graph:
    return _Simplifier().run(graph)


def dce(graph: Graph) -> Graph:
    """Drop equations none of whose outputs are used (every primitive is pure)."""
    live = {o for o in graph.outs if isinstance(o, Var)}
    kept = []
    for e in reversed(graph.eqns):
        if any(o in live for o in e.outs):
            kept.append(e)
            live.update(a for a in e.ins if isinstance(a, Var))
    kept.reverse()
    return Graph(graph.in_vars, kept, graph.outs, graph.in_tree, graph.out_tree, graph.in_names)


# ----------------------------------------------------------------------------- canonical form


def canonical_form(graph: Graph, table: dict) -> tuple:
    """Structural ids of the outputs: equal ids ⇔ equal expressions of the inputs (up to commutativity).

    Ids come from `table`, which must be shared by the graphs being compared.
    """
    ids: dict = {}

    def intern(key):
        if key not in table:
            table[key] = len(table)
        return table[key]

    for i, v in enumerate(graph.in_vars):
        ids[v] = intern(("in", i, v.aval.shape, v.aval.dtype.str))

    def atom(a):
        return ids[a] if isinstance(a, Var) else intern(("const", value_key(a.value)))

    for e in graph.eqns:
        args = [atom(a) for a in e.ins]
        if e.prim.name in COMMUTATIVE:
            args.sort()
        base = (e.prim.name, params_key(e.params), tuple(args))
        for j, o in enumerate(e.outs):
            ids[o] = intern(base + (j,))
    return tuple(atom(o) for o in graph.outs)

