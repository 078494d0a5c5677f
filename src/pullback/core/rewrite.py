"""The rewrite engine: symbolic zeros and ones, algebraic identities, constant folding, CSE, DCE.

`simplify` re-emits a graph equation by equation, bottom-up, so every rule sees operands
that are already simplified. The engine knows no primitive by name: what it does with an
equation comes from the primitive's traits and rewrite rules (core/primitive.py), which
live beside the primitive they belong to. For each equation it tries, in order,

1. a linear map of zeros → zeros;
2. the primitive's own rules, ``rule(s, ins, params, out) -> atom | None`` (the first that
   answers wins); a rule builds new structure with `s.apply` / `s.bind`, which simplify
   the new equation in turn;
3. trait rules: op(−x) → −op(x) for ``negation_commutes``; f(broadcast_to(x)) →
   broadcast_to(f(x)) for ``elementwise``; op(broadcast_to(a), b) → op(a, b) for
   ``broadcasting``;
4. constant folding, then CSE (``commutative`` operations match either argument order).

Every rule is an *exact* identity in IEEE floating point, on every input including inf
and nan (up to the sign of zero): `x*1 → x`, `-(-x) → x`, `a + (-b) → a - b`, `0 + x → x`;
`0·x → 0` only where x is known finite (a finite constant), since 0·∞ and 0·nan are nan.
Nothing reassociates a sum or a product.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import check
from .atoms import Const, Eqn, ShapeDtype, Var, aval_of, fits, is_number, rule_arg, zero_like
from .canonical import const_key, params_key
from .lax import broadcast_to, concatenate, reshape
from .subgraph import map_subgraphs, subgraphs_of
from .trace import LARGE_CONSTANT

FOLD_LIMIT = LARGE_CONSTANT  # fold constant equations whose result has at most this many elements
MAX_DEPTH = 64  # rules nest (a rule's new equation is simplified in turn) at most this deep


class Simplifier:
    """Re-emit a graph equation by equation, rewriting, folding and merging as it goes.

    What a rewrite rule may use: `apply`/`bind` (emit a simplified equation), `src` (the
    equation producing an atom), `broadcast` (an atom broadcast to the output's shape),
    `neg_parts` (see through a negation).
    """

    def __init__(self, rules: bool = True, fold: bool = True, cse: bool = True):
        self.rules, self.do_fold, self.do_cse = rules, fold, cse
        self.eqns: list[Eqn] = []
        self.producer: dict[Var, Eqn] = {}
        self.subst: dict[Var, Any] = {}
        self.seen: dict = {}
        self.depth = 0

    # -- plumbing ------------------------------------------------------------------
    def read(self, a):
        while isinstance(a, Var) and a in self.subst:
            a = self.subst[a]
        return a

    def atom_key(self, a):
        return ("v", id(a)) if isinstance(a, Var) else const_key(a)

    def src(self, a, prim=None) -> Eqn | None:
        """The equation producing a (if it applies `prim`, when given)."""
        e = self.producer.get(a) if isinstance(a, Var) else None
        if e is not None and prim is not None and e.prim is not prim:
            return None
        return e

    def out_avals(self, prim, ins, params) -> list[ShapeDtype]:
        return check.derived_avals(prim, ins, params)

    def apply(self, prim, *ins, **params):
        """prim(*ins, **params), simplified and emitted: the atom standing for its output."""
        return self.bind(prim, list(ins), params)

    def bind(self, prim, ins, params, outs=None):
        """Simplify prim(*ins, **params) and emit what remains: the atom(s) standing for its output(s)."""
        ins = [self.read(a) for a in ins]
        if outs is None:
            outs = [Var(a) for a in self.out_avals(prim, ins, params)]
        if not prim.multiple_results:
            out = outs[0].aval
            r = None
            if self.rules and self.depth < MAX_DEPTH:
                self.depth += 1
                try:
                    r = self.rewrite(prim, ins, params, out)
                finally:
                    self.depth -= 1
                if r is not None and not fits(r, out):  # a rule must keep shape and dtype
                    r = None
            if r is None and self.do_fold:
                r = self.fold(prim, ins, params, out)
            if r is not None:
                return r
        keys = [self.atom_key(a) for a in ins]
        if prim.commutative:
            keys.sort()
        key = (prim, tuple(keys), params_key(params))
        if self.do_cse and key in self.seen:  # common subexpression
            prev = self.seen[key]
            return prev if prim.multiple_results else prev[0]
        e = Eqn(prim, ins, params, outs)
        self.seen[key] = outs
        self.eqns.append(e)
        for o in outs:
            self.producer[o] = e
        return outs if prim.multiple_results else outs[0]

    def fold(self, prim, ins, params, out: ShapeDtype):
        if not all(isinstance(a, Const) for a in ins):
            return None
        if math.prod(out.shape) > FOLD_LIMIT:
            return None
        try:
            value = prim.impl(*[a.value for a in ins], **params)
        except Exception:  # noqa: BLE001 - leave the equation for run time to report
            return None
        c = Const(value)
        return c if fits(c, out) else None

    def run(self, graph):
        for e in graph.eqns:
            res = self.bind(e.prim, e.ins, e.params, e.outs)
            if e.prim.multiple_results:
                for o, r in zip(e.outs, res):
                    if r is not o:
                        self.subst[o] = r
            elif res is not e.outs[0]:
                self.subst[e.outs[0]] = res
        outs = [self.read(o) for o in graph.outs]
        return dce(graph.replace(eqns=self.eqns, outs=outs))

    # -- what rules use --------------------------------------------------------------
    def broadcast(self, a, out: ShapeDtype):
        """a (of out's dtype) broadcast to out's shape: a itself when it already has it."""
        av = aval_of(a)
        if av.dtype != out.dtype:
            return None
        if av.shape == out.shape:
            return a
        if is_number(a, 0):
            return zero_like(out)
        return self.apply(broadcast_to, a, shape=out.shape)

    def negation_of(self, a) -> Eqn | None:
        """The equation a = −x producing a (a primitive with the `negation` trait), or None."""
        e = self.producer.get(a) if isinstance(a, Var) else None
        return e if e is not None and e.prim.negation else None

    def neg_parts(self, a):
        """(x, True) when a = −x, else (a, False)."""
        e = self.negation_of(a)
        return (e.ins[0], True) if e is not None else (a, False)

    # -- the rule order ----------------------------------------------------------------
    def rewrite(self, prim, ins, params, out: ShapeDtype):
        """An atom equal to prim(*ins, **params), simpler or more canonical, or None."""
        if prim.linear and ins and all(is_number(a, 0) for a in ins):  # a linear map of zeros
            return zero_like(out)
        for rule in prim.rewrites:
            r = rule(self, ins, params, out)
            if r is not None:
                return r
        if prim.negation_commutes and ins:
            neg = self.negation_of(ins[0])
            if neg is not None:  # op(−x) → −op(x)
                inner = self.bind(prim, [neg.ins[0]] + list(ins[1:]), params)
                return self.bind(neg.prim, [inner], neg.params)
        if prim.elementwise and len(ins) == 1:
            s = self.src(ins[0], broadcast_to)
            if s is not None:  # f(broadcast_to(x)) → broadcast_to(f(x)): fewer elements, and absorbable
                inner = self.bind(prim, [s.ins[0]], params)
                return self.apply(broadcast_to, inner, shape=out.shape)
        if prim.broadcasting:
            r = self.absorb_broadcasts(prim, ins, params, out)
            if r is not None:
                return r
            for rule in PIECEWISE_RULES:
                r = rule(self, prim, ins, params, out)
                if r is not None:
                    return r
        return None

    def absorb_broadcasts(self, prim, ins, params, out):
        """op(broadcast_to(a), b) → op(a, b): let the elementwise op broadcast implicitly."""
        new, changed = [], False
        for a in ins:
            s = self.src(a, broadcast_to)
            if s is not None:
                new.append(s.ins[0])
                changed = True
            else:
                new.append(a)
        if not changed:
            return None
        try:
            shape, dtype = prim.shape(*[rule_arg(a) for a in new], **params)
        except ValueError:
            return None
        if np.dtype(dtype) != out.dtype:
            return None
        r = self.bind(prim, new, params)
        return r if tuple(shape) == out.shape else self.apply(broadcast_to, r, shape=out.shape)


# ----------------------------------------------------------------------------- piecewise trait rules
# For a `broadcasting` (elementwise) primitive of two operands: work on the pieces an operand is made
# of. Exact, since each output element is computed from the same two input elements as before.

MAX_PIECES = 8  # operands concatenated from at most this many pieces are split


def split_concatenates(s: Simplifier, prim, ins, params, out):
    """op(concatenate(x1..xm), concatenate(y1..ym)) → concatenate(op(x1, y1), ..., op(xm, ym)) when both are
    cut at the same places along the same axis: a chain of accumulations into blocks (the gradient of a
    function of a few scalars) becomes one accumulation per block, and zero blocks drop out."""
    if len(ins) != 2:
        return None
    ca, cb = s.src(ins[0], concatenate), s.src(ins[1], concatenate)
    if ca is None or cb is None or ca.params["axis"] != cb.params["axis"] or len(ca.ins) != len(cb.ins):
        return None
    if len(ca.ins) > MAX_PIECES or aval_of(ins[0]).shape != out.shape or aval_of(ins[1]).shape != out.shape:
        return None
    if any(aval_of(a).shape != aval_of(b).shape for a, b in zip(ca.ins, cb.ins)):
        return None
    pieces = [s.bind(prim, [a, b], params) for a, b in zip(ca.ins, cb.ins)]
    return s.apply(concatenate, *pieces, axis=ca.params["axis"])


def lift_reshapes(s: Simplifier, prim, ins, params, out):
    """op(reshape(a), reshape(b)) → reshape(op(a, b)) when a and b have one shape, and op(reshape(a), c) →
    reshape(op(a, c)) for a single-number constant c: the operation runs on the operands as they were
    (a Python or NumPy scalar rather than a one-element array, typically)."""
    if len(ins) != 2:
        return None
    srcs = [s.src(a, reshape) for a in ins]
    if srcs[0] is not None and srcs[1] is not None:
        if aval_of(srcs[0].ins[0]).shape != aval_of(srcs[1].ins[0]).shape or aval_of(ins[0]).shape != out.shape \
                or aval_of(ins[1]).shape != out.shape:
            return None
        new = [srcs[0].ins[0], srcs[1].ins[0]]
    else:
        i = 0 if srcs[0] is not None else 1
        other = ins[1 - i]
        if srcs[i] is None or not (isinstance(other, Const) and np.ndim(other.value) == 0) \
                or aval_of(ins[i]).shape != out.shape:
            return None
        new = [srcs[i].ins[0], other] if i == 0 else [other, srcs[i].ins[0]]
    inner = s.bind(prim, new, params)
    if aval_of(inner).dtype != out.dtype:
        return None
    return s.apply(reshape, inner, shape=out.shape)


PIECEWISE_RULES = [split_concatenates, lift_reshapes]


# ----------------------------------------------------------------------------- passes


def simplify(graph):
    """Rewrite rules, constant folding, CSE, DCE, then fuse reshapes into the reductions they follow
    (inside sub-graphs too: a loop's body, a branch)."""
    graph = inside_subgraphs(graph, simplify)
    return check.after_pass(fuse_keepdims(Simplifier().run(graph)), "simplify")


def cse(graph):
    """Common-subexpression elimination only (commutative operations match either argument order)."""
    graph = inside_subgraphs(graph, cse)
    return check.after_pass(Simplifier(rules=False, fold=False).run(graph), "cse")


def fold_constants(graph):
    """Evaluate equations whose inputs are all constants (results up to FOLD_LIMIT elements)."""
    graph = inside_subgraphs(graph, fold_constants)
    return check.after_pass(Simplifier(rules=False, cse=False).run(graph), "fold_constants")


def dce(graph):
    """Drop equations none of whose outputs are used (every primitive is pure); sub-graphs too. A
    primitive with a ``prune(eqn, used) -> Eqn | None`` method (a loop, a branch) also drops the outputs
    nobody uses and the inputs that then go unread."""
    live = {o for o in graph.outs if isinstance(o, Var)}
    kept = []
    for e in reversed(graph.eqns):
        used = [o in live for o in e.outs]
        if any(used):
            prune = getattr(e.prim, "prune", None)  # a loop or branch drops its unused outputs and inputs
            if prune is not None:
                e = prune(e, used) or e
            kept.append(e)
            live.update(a for a in e.ins if isinstance(a, Var))
    kept.reverse()
    return check.after_pass(inside_subgraphs(graph.replace(eqns=kept), dce), "dce")


def inside_subgraphs(graph, run):
    """graph with the pass `run` applied to the sub-graphs its equations hold (a loop's body, a branch);
    the sub-graphs keep their inputs and outputs, so the equations holding them stay valid."""
    if not any(subgraphs_of(e.params) for e in graph.eqns):
        return graph
    eqns = []
    for e in graph.eqns:
        params = map_subgraphs(e.params, lambda sub: sub.replace_graph(run(sub.graph)))
        eqns.append(e if params is e.params else Eqn(e.prim, e.ins, params, e.outs))
    return graph.replace(eqns=eqns)


def _kept_shape(shape: tuple, axis: tuple) -> tuple:
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


def fuse_keepdims(graph):
    """reshape(reduce(x, axis), kept shape) → reduce(x, axis, keepdims=True) where the reduction has
    no other use. (simplify spells every reduction without keepdims; this puts it back for reading.)"""
    uses: dict = {}
    for e in graph.eqns:
        for a in e.ins:
            if isinstance(a, Var):
                uses[a] = uses.get(a, 0) + 1
    for o in graph.outs:
        if isinstance(o, Var):
            uses[o] = uses.get(o, 0) + 2
    producer = {o: e for e in graph.eqns for o in e.outs}
    new, fused = [], set()
    for e in graph.eqns:
        if e.prim is reshape and isinstance(e.ins[0], Var):
            src = producer.get(e.ins[0])
            if (src is not None and src.prim.reduction and uses.get(e.ins[0]) == 1
                    and not src.params["keepdims"] and src.params["axis"] is not None
                    and tuple(e.params["shape"]) == _kept_shape(aval_of(src.ins[0]).shape, src.params["axis"])):
                fused.add(src)
                new.append(Eqn(src.prim, src.ins, {**src.params, "keepdims": True}, e.outs))
                continue
        new.append(e)
    if not fused:
        return graph
    return check.after_pass(graph.replace(eqns=[e for e in new if e not in fused]), "fuse_keepdims")
