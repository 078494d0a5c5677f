"""Graph passes: symbolic zeros and ones, algebraic identities, canonicalization, constant
folding, CSE, DCE, and a canonical form for comparing graphs up to renaming, equation
order and commutativity.

`simplify` rewrites each equation as it is re-emitted, bottom-up, so every rule sees
operands that are already simplified. A rule returns an atom standing for the
equation's output; to build new structure it calls `_Simplifier.bind`, which
simplifies the new equation in turn. Every rule is an *exact* identity in floating
point (up to the sign of zero): `x*1 → x`, `-(-x) → x`, `a + (-b) → a - b`,
`(-a)·b → -(a·b)`, `sum_to → reduce_sum`, implicit instead of explicit broadcasting,
disjoint `add_at`s into zeros → `concatenate` ... Nothing reassociates a sum or a
product: two graphs that add the same three terms in a different grouping stay
different, because they compute different floating-point numbers.

The rules bring the two ways of computing a Jacobian-vector product (forward mode,
and the transpose of a reverse pass, seed 002) to the same graph; see docs/staging.md.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .ir import Const, Eqn, Graph, ShapeDtype, Var, is_weak, weak_result

COMMUTATIVE = frozenset(
    {"add", "multiply", "maximum", "minimum", "hypot", "equal", "not_equal", "logical_and", "logical_or",
     "logical_xor"}
)
# Elementwise primitives of one argument: f(broadcast_to(x)) = broadcast_to(f(x)).
ELEMENTWISE_UNARY = frozenset(
    {"negative", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sin", "cos", "tan", "arcsin",
     "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "sqrt", "cbrt", "square",
     "reciprocal", "absolute", "real", "imag", "conjugate", "convert", "convert_nondiff", "sign", "floor",
     "ceil", "rint", "trunc", "logical_not", "isnan", "isinf", "isfinite", "signbit", "stop_gradient"}
)
# Elementwise primitives of several arguments that broadcast them NumPy's way.
BROADCASTING = frozenset(
    {"add", "subtract", "multiply", "divide", "power", "maximum", "minimum", "arctan2", "hypot", "less",
     "less_equal", "greater", "greater_equal", "equal", "not_equal", "logical_and", "logical_or",
     "logical_xor", "select"}
)
REDUCTIONS = frozenset({"reduce_sum", "reduce_max", "reduce_min"})
# Linear maps of one array argument that commute with negation: op(-x) = -op(x).
NEGATION_COMMUTES = frozenset({"reshape", "transpose", "getitem", "reduce_sum", "sum_to", "convert"})

FOLD_LIMIT = 1 << 16  # fold constant equations whose result has at most this many elements


# ----------------------------------------------------------------------------- keys


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


# ----------------------------------------------------------------------------- helpers


def _aval(a) -> ShapeDtype:
    if isinstance(a, Var):
        return a.aval
    return ShapeDtype(np.shape(a.value), a.dtype, is_weak(a))


def _rule_arg(a):
    """What a shape rule sees for an atom: a Var's aval, a constant's value (Python scalars stay weak)."""
    return a.aval.placeholder() if isinstance(a, Var) else a.value


def _zero(aval: ShapeDtype) -> Const:
    return Const(np.broadcast_to(np.zeros((), aval.dtype), aval.shape))


def _is(a, number) -> bool:
    return isinstance(a, Const) and a.is_all(number)


def _fits(a, out: ShapeDtype) -> bool:
    """a can stand for a value of aval `out` as it is (same shape, dtype and weak typing)."""
    av = _aval(a)
    return av.shape == out.shape and av.dtype == out.dtype and av.weak == out.weak


def _kept_shape(shape: tuple, axis: tuple) -> tuple:
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


def _block_of_index(idx: Any, shape: tuple):
    """(axis, start, stop, drops_axis) when x[idx] is one contiguous block along a single axis, else None.

    Only basic indices qualify (ints and unit-step slices, no None/Ellipsis/arrays), so that no
    element repeats and `add_at` at idx is an exact copy into disjoint positions.
    """
    items = idx if isinstance(idx, tuple) else (idx,)
    if len(items) > len(shape):
        return None
    found = None
    for ax, it in enumerate(items):
        n = shape[ax]
        if isinstance(it, slice):
            if not all(v is None or (isinstance(v, (int, np.integer)) and not isinstance(v, bool))
                       for v in (it.start, it.stop, it.step)):
                return None
            start, stop, step = it.indices(n)
            if step != 1:
                return None
            stop = max(stop, start)
            if (start, stop) == (0, n):
                continue
            block = (ax, start, stop, False)
        elif isinstance(it, (int, np.integer)) and not isinstance(it, bool):
            i = int(it)
            if not -n <= i < n:
                return None
            block = (ax, i % n, i % n + 1, True)
        else:
            return None
        if found is not None:
            return None
        found = block
    return found if found is not None else ("all",)


# ----------------------------------------------------------------------------- simplify


class _Simplifier:
    """Re-emit a graph equation by equation, rewriting, folding and merging as it goes."""

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

    def src(self, a, name: str | None = None) -> Eqn | None:
        """The equation producing a (if it is named `name`, when given)."""
        e = self.producer.get(a) if isinstance(a, Var) else None
        if e is not None and name is not None and e.prim.name != name:
            return None
        return e

    def out_avals(self, prim, ins, params) -> list[ShapeDtype]:
        rule = prim.shape(*[_rule_arg(a) for a in ins], **params)
        if prim.multiple_results:
            return [ShapeDtype(s, d) for s, d in rule]
        return [ShapeDtype(*rule, weak_result(prim, ins))]

    def bind(self, prim, ins, params, outs=None):
        """Simplify prim(*ins, **params) and emit what remains: the atom(s) standing for its output(s)."""
        ins = [self.read(a) for a in ins]
        if outs is None:
            outs = [Var(a) for a in self.out_avals(prim, ins, params)]
        if not prim.multiple_results:
            out = outs[0].aval
            r = None
            if self.rules and self.depth < 64:
                self.depth += 1
                try:
                    r = self.rewrite(prim, ins, params, out)
                finally:
                    self.depth -= 1
                if r is not None and not _fits(r, out):  # a rule must keep shape and dtype
                    r = None
            if r is None and self.do_fold:
                r = self.fold(prim, ins, params, out)
            if r is not None:
                return r
        keys = [self.atom_key(a) for a in ins]
        if prim.name in COMMUTATIVE:
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
        return c if _fits(c, out) else None

    def run(self, graph: Graph) -> Graph:
        for e in graph.eqns:
            res = self.bind(e.prim, e.ins, e.params, e.outs)
            if e.prim.multiple_results:
                for o, r in zip(e.outs, res):
                    if r is not o:
                        self.subst[o] = r
            elif res is not e.outs[0]:
                self.subst[e.outs[0]] = res
        outs = [self.read(o) for o in graph.outs]
        g = Graph(graph.in_vars, self.eqns, outs, graph.in_tree, graph.out_tree, graph.in_names)
        return dce(g)

    # -- rules ---------------------------------------------------------------------
    def p(self, name: str, *ins, **params):
        return self.bind(_PRIMS[name], list(ins), params)

    def broadcast(self, a, out: ShapeDtype):
        """a (of out's dtype) broadcast to out's shape: a itself when it already has it."""
        av = _aval(a)
        if av.dtype != out.dtype:
            return None
        if av.shape == out.shape:
            return a
        if isinstance(a, Const) and a.is_all(0):
            return _zero(out)
        return self.p("broadcast_to", a, shape=out.shape)

    def rewrite(self, prim, ins, params, out: ShapeDtype):
        """An atom equal to prim(*ins, **params), simpler or more canonical, or None."""
        name = prim.name
        if prim.linear and ins and all(_is(a, 0) for a in ins):  # a linear map of zeros
            return _zero(out)
        rule = _RULES.get(name)
        if rule is not None:
            r = rule(self, ins, params, out)
            if r is not None:
                return r
        if name in ELEMENTWISE_UNARY and len(ins) == 1:
            s = self.src(ins[0], "broadcast_to")
            if s is not None:  # f(broadcast_to(x)) → broadcast_to(f(x)): fewer elements, and absorbable
                inner = self.bind(prim, [s.ins[0]], params)
                return self.p("broadcast_to", inner, shape=out.shape)
        if name in BROADCASTING:
            return self.absorb_broadcasts(prim, ins, params, out)
        return None

    def absorb_broadcasts(self, prim, ins, params, out):
        """op(broadcast_to(a), b) → op(a, b): let the elementwise op broadcast implicitly."""
        new, changed = [], False
        for a in ins:
            s = self.src(a, "broadcast_to")
            if s is not None:
                new.append(s.ins[0])
                changed = True
            else:
                new.append(a)
        if not changed:
            return None
        try:
            shape, dtype = prim.shape(*[_rule_arg(a) for a in new], **params)
        except ValueError:
            return None
        if np.dtype(dtype) != out.dtype:
            return None
        r = self.bind(prim, new, params)
        return r if tuple(shape) == out.shape else self.p("broadcast_to", r, shape=out.shape)

    def neg_parts(self, a):
        """(x, True) when a = negative(x), else (a, False)."""
        s = self.src(a, "negative")
        return (s.ins[0], True) if s is not None else (a, False)

    # -- blocks: disjoint pieces along one axis, zeros elsewhere (concatenate / add_at) --
    def blocks(self, a, out: ShapeDtype):
        """(axis or None, {start: (stop, piece)}) when a is zeros except for disjoint blocks along one axis."""
        if _aval(a).shape != out.shape or _aval(a).dtype != out.dtype:
            return None
        if isinstance(a, Const):
            return (None, {}) if a.is_all(0) else None
        s = self.src(a, "concatenate")
        if s is None:
            return None
        ax, pos, found = s.params["axis"], 0, {}
        for piece in s.ins:
            n = _aval(piece).shape[ax]
            if not _is(piece, 0) and n:
                found[pos] = (pos + n, piece)
            pos += n
        return ax, found

    def merge_blocks(self, b1, b2):
        (ax1, d1), (ax2, d2) = b1, b2
        if ax1 is not None and ax2 is not None and ax1 != ax2:
            return None
        ax = ax1 if ax1 is not None else ax2
        spans = sorted([(s, stop) for s, (stop, _) in d1.items()] + [(s, stop) for s, (stop, _) in d2.items()])
        for (_, e0), (s1, _) in zip(spans, spans[1:]):
            if s1 < e0:
                return None  # overlapping blocks: adding them is arithmetic, not a copy
        return ax, {**d1, **d2}

    def concat_blocks(self, ax, found: dict, out: ShapeDtype):
        """The canonical concatenate of the blocks, with zero constants in the gaps."""
        if ax is None or not found:
            return _zero(out)
        pieces, pos = [], 0
        n = out.shape[ax]
        for start in sorted(found):
            stop, piece = found[start]
            if start > pos:
                pieces.append(_zero(ShapeDtype(out.shape[:ax] + (start - pos,) + out.shape[ax + 1:], out.dtype)))
            pieces.append(piece)
            pos = stop
        if pos < n:
            pieces.append(_zero(ShapeDtype(out.shape[:ax] + (n - pos,) + out.shape[ax + 1:], out.dtype)))
        if len(pieces) == 1:
            return pieces[0]
        return self.bind(_PRIMS["concatenate"], pieces, {"axis": ax})


# ----------------------------------------------------------------------------- the rule table

class _PrimTable(dict):
    """name -> Primitive, for rules that build equations of another primitive (filled on first use;
    the core imports no primitive at module level)."""

    def __missing__(self, name: str):
        from ..core.primitive import Primitive
        from ..primitives import elementwise, linalg, reductions, shape

        for mod in (elementwise, linalg, reductions, shape):
            for v in vars(mod).values():
                if isinstance(v, Primitive):
                    self.setdefault(v.name, v)
        if name not in self:
            raise KeyError(name)
        return dict.get(self, name)


_PRIMS = _PrimTable()


def _rule_add(s: _Simplifier, ins, params, out):
    a, b = ins
    for i in (0, 1):
        if _is(ins[i], 0):
            return s.broadcast(ins[1 - i], out)
    (x, nx), (y, ny) = s.neg_parts(a), s.neg_parts(b)
    if nx and ny:  # (-x) + (-y) = -(x + y)
        return s.p("negative", s.p("add", x, y))
    if ny:  # a + (-y) = a - y
        return s.p("subtract", a, y)
    if nx:
        return s.p("subtract", b, x)
    sa, sb = s.src(a, "select"), s.src(b, "select")
    if sa is not None and sb is not None and sa.ins[0] is sb.ins[0]:
        if _is(sa.ins[2], 0) and _is(sb.ins[1], 0):  # where(c, x, 0) + where(c, 0, y) = where(c, x, y)
            return s.p("select", sa.ins[0], sa.ins[1], sb.ins[2])
        if _is(sa.ins[1], 0) and _is(sb.ins[2], 0):
            return s.p("select", sa.ins[0], sb.ins[1], sa.ins[2])
    ba, bb = s.blocks(a, out), s.blocks(b, out)
    if ba is not None and bb is not None:  # disjoint blocks: the sum is a copy
        merged = s.merge_blocks(ba, bb)
        if merged is not None:
            return s.concat_blocks(*merged, out)
    return None


def _rule_subtract(s: _Simplifier, ins, params, out):
    a, b = ins
    if _is(b, 0):
        return s.broadcast(a, out)
    if _is(a, 0):
        return s.broadcast(s.p("negative", b), out)
    y, ny = s.neg_parts(b)
    if ny:  # a - (-y) = a + y
        return s.p("add", a, y)
    x, nx = s.neg_parts(a)
    if nx:  # (-x) - b = -(x + b)
        return s.p("negative", s.p("add", x, b))
    return None  # (x - x is 0 only for finite x: it stays)


def _rule_negative(s: _Simplifier, ins, params, out):
    x, nx = s.neg_parts(ins[0])
    if nx:
        return x
    return None


def _rule_multiply(s: _Simplifier, ins, params, out):
    if any(_is(a, 0) for a in ins):
        return _zero(out)
    for i in (0, 1):
        if _is(ins[i], 1):
            return s.broadcast(ins[1 - i], out)
        if _is(ins[i], -1):
            return s.broadcast(s.p("negative", ins[1 - i]), out)
    (x, nx), (y, ny) = s.neg_parts(ins[0]), s.neg_parts(ins[1])
    if nx or ny:  # (-x)·y = -(x·y), (-x)·(-y) = x·y
        m = s.p("multiply", x, y)
        return s.p("negative", m) if nx != ny else m
    return None


def _rule_divide(s: _Simplifier, ins, params, out):
    a, b = ins
    if _is(a, 0):
        return _zero(out)
    if _is(b, 1):
        return s.broadcast(a, out)
    if _is(b, -1):
        return s.broadcast(s.p("negative", a), out)
    (x, nx), (y, ny) = s.neg_parts(a), s.neg_parts(b)
    if nx or ny:
        d = s.p("divide", x, y)
        return s.p("negative", d) if nx != ny else d
    return None


def _rule_power(s: _Simplifier, ins, params, out):
    if _is(ins[1], 1):
        return s.broadcast(ins[0], out)
    return None


def _rule_select(s: _Simplifier, ins, params, out):
    c, x, y = ins
    if _is(x, 0) and _is(y, 0):
        return _zero(out)
    if x is y or (isinstance(x, Const) and isinstance(y, Const) and const_key(x) == const_key(y)):
        return s.broadcast(x, out)  # both branches alike: the condition does not matter
    return None


def _lift_negation(s: _Simplifier, name, ins, params):
    """op(-x) → -op(x) for a linear op of one array argument."""
    x, nx = s.neg_parts(ins[0])
    if nx:
        return s.p("negative", s.bind(_PRIMS[name], [x] + list(ins[1:]), params))
    return None


def _rule_reshape(s: _Simplifier, ins, params, out):
    x = ins[0]
    if _fits(x, out):
        return x
    src = s.src(x, "reshape")
    if src is not None:
        return s.p("reshape", src.ins[0], shape=out.shape)
    return _lift_negation(s, "reshape", ins, params)


def _rule_transpose(s: _Simplifier, ins, params, out):
    axes = tuple(params["axes"])
    if axes == tuple(range(len(axes))):
        return ins[0]
    src = s.src(ins[0], "transpose")
    if src is not None:
        merged = tuple(src.params["axes"][a] for a in axes)
        if merged == tuple(range(len(merged))):
            return src.ins[0]
        return s.p("transpose", src.ins[0], axes=merged)
    return _lift_negation(s, "transpose", ins, params)


def _rule_broadcast_to(s: _Simplifier, ins, params, out):
    x = ins[0]
    if _fits(x, out):
        return x
    src = s.src(x, "broadcast_to")
    if src is not None:
        return s.p("broadcast_to", src.ins[0], shape=out.shape)
    return None


def _rule_sum_to(s: _Simplifier, ins, params, out):
    """sum_to(x, shape) → reshape(reduce_sum(x, axes), shape): one spelling for every sum."""
    x = ins[0]
    if _fits(x, out):
        return x
    xs, shape = _aval(x).shape, tuple(params["shape"])
    lead = len(xs) - len(shape)
    if lead < 0:
        return None
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and xs[i + lead] != 1)
    summed = s.p("reduce_sum", x, axis=axes, keepdims=False) if axes else x
    return s.p("reshape", summed, shape=out.shape)


def _rule_reduce(name):
    def rule(s: _Simplifier, ins, params, out):
        x = ins[0]
        shape = _aval(x).shape
        axis, keepdims = params["axis"], params["keepdims"]
        if axis is None:
            return s.p(name, x, axis=tuple(range(len(shape))), keepdims=keepdims)
        axis = tuple(axis)
        real = tuple(a for a in axis if shape[a] != 1)  # a sum over a length-1 axis is no sum at all
        if keepdims or real != axis:
            inner = s.p(name, x, axis=real, keepdims=False) if real else x
            return s.p("reshape", inner, shape=out.shape)
        if not axis:
            return x
        if name == "reduce_sum":
            return _lift_negation(s, name, ins, params)
        return None

    return rule


def _rule_getitem(s: _Simplifier, ins, params, out):
    if _fits(ins[0], out) and _block_of_index(params["idx"], _aval(ins[0]).shape) == ("all",):
        return ins[0]
    return _lift_negation(s, "getitem", ins, params)


def _rule_convert(s: _Simplifier, ins, params, out):
    if _fits(ins[0], out):
        return ins[0]
    return _lift_negation(s, "convert", ins, params)


def _rule_conjugate(s: _Simplifier, ins, params, out):
    if _aval(ins[0]).dtype.kind != "c" and _fits(ins[0], out):
        return ins[0]
    src = s.src(ins[0], "conjugate")
    if src is not None:
        return src.ins[0]
    return None


def _rule_real(s: _Simplifier, ins, params, out):
    if _fits(ins[0], out):
        return ins[0]
    return None


def _rule_add_at(s: _Simplifier, ins, params, out):
    """add_at(blocks, v, idx) → concatenate of the blocks when idx is a new disjoint block."""
    x, v = ins
    if _is(v, 0):
        return s.broadcast(x, out)
    vb = _aval(v)
    if vb.dtype != out.dtype:
        return None
    blk = _block_of_index(params["idx"], out.shape)
    base = s.blocks(x, out)
    if blk is None or base is None:
        return None
    if blk == ("all",):
        return s.p("add", x, v) if vb.shape == out.shape else None
    ax, start, stop, drops = blk
    piece_shape = out.shape[:ax] + (stop - start,) + out.shape[ax + 1:]
    if drops:
        if vb.shape != out.shape[:ax] + out.shape[ax + 1:]:
            return None
        v = s.p("reshape", v, shape=piece_shape)
    elif vb.shape != piece_shape:
        return None
    merged = s.merge_blocks(base, (ax, {start: (stop, v)}))
    if merged is None:
        return None
    return s.concat_blocks(*merged, out)


def _rule_concatenate(s: _Simplifier, ins, params, out):
    """Flatten nested concatenates, drop empty pieces, merge neighbouring zero pieces."""
    ax = params["axis"]
    flat, changed = [], False
    for a in ins:
        src = s.src(a, "concatenate")
        if src is not None and src.params["axis"] == ax:
            flat.extend(src.ins)
            changed = True
        elif _aval(a).shape[ax] == 0:
            changed = True
        else:
            flat.append(a)
    merged: list = []
    for a in flat:
        if merged and _is(a, 0) and _is(merged[-1], 0) and _aval(a).dtype == _aval(merged[-1]).dtype:
            prev = _aval(merged[-1]).shape
            n = prev[ax] + _aval(a).shape[ax]
            merged[-1] = _zero(ShapeDtype(prev[:ax] + (n,) + prev[ax + 1:], _aval(a).dtype))
            changed = True
        else:
            merged.append(a)
    if not changed:
        return None
    if not merged:
        return _zero(out)
    if len(merged) == 1:
        return s.broadcast(merged[0], out)
    return s.bind(_PRIMS["concatenate"], merged, params)


def _squeezed_operand(s: _Simplifier, a, n: int):
    """A 1-D (n,) atom equal to the 2-D unit-row/column operand a, without new work, or None."""
    if isinstance(a, Const):
        return Const(np.reshape(a.value, (n,)))
    src = s.src(a, "reshape")
    if src is not None and _aval(src.ins[0]).shape == (n,):
        return src.ins[0]
    return None


def _rule_matmul(s: _Simplifier, ins, params, out):
    """Zeros; negation out; and a (1,n) row or (n,1) column made from a vector used as the vector."""
    a, b = ins
    if _is(a, 0) or _is(b, 0):
        return _zero(out)
    (x, nx), (y, ny) = s.neg_parts(a), s.neg_parts(b)
    if nx or ny:
        m = s.p("matmul", x, y)
        return s.p("negative", m) if nx != ny else m
    sa, sb = _aval(a).shape, _aval(b).shape
    if len(sb) == 2 and sb[1] == 1 and len(sa) >= 1:
        b1 = _squeezed_operand(s, b, sb[0])
        if b1 is not None:
            return s.p("reshape", s.p("matmul", a, b1), shape=out.shape)
    if len(sa) == 2 and sa[0] == 1 and len(sb) >= 1:
        a1 = _squeezed_operand(s, a, sa[1])
        if a1 is not None:
            return s.p("reshape", s.p("matmul", a1, b), shape=out.shape)
    return None


_RULES = {
    "add": _rule_add,
    "subtract": _rule_subtract,
    "negative": _rule_negative,
    "multiply": _rule_multiply,
    "divide": _rule_divide,
    "power": _rule_power,
    "select": _rule_select,
    "reshape": _rule_reshape,
    "transpose": _rule_transpose,
    "broadcast_to": _rule_broadcast_to,
    "sum_to": _rule_sum_to,
    "reduce_sum": _rule_reduce("reduce_sum"),
    "reduce_max": _rule_reduce("reduce_max"),
    "reduce_min": _rule_reduce("reduce_min"),
    "getitem": _rule_getitem,
    "convert": _rule_convert,
    "conjugate": _rule_conjugate,
    "real": _rule_real,
    "add_at": _rule_add_at,
    "concatenate": _rule_concatenate,
    "matmul": _rule_matmul,
}


# ----------------------------------------------------------------------------- passes


def simplify(graph: Graph) -> Graph:
    """Rewrite rules, constant folding, CSE, DCE, then fuse reshapes into the reductions they follow."""
    return fuse_keepdims(_Simplifier().run(graph))


def cse(graph: Graph) -> Graph:
    """Common-subexpression elimination only (commutative operations match either argument order)."""
    return _Simplifier(rules=False, fold=False).run(graph)


def fold_constants(graph: Graph) -> Graph:
    """Evaluate equations whose inputs are all constants (results up to FOLD_LIMIT elements)."""
    return _Simplifier(rules=False, cse=False).run(graph)


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


def fuse_keepdims(graph: Graph) -> Graph:
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
        if e.prim.name == "reshape" and isinstance(e.ins[0], Var):
            src = producer.get(e.ins[0])
            if (src is not None and src.prim.name in REDUCTIONS and uses.get(e.ins[0]) == 1
                    and not src.params["keepdims"] and src.params["axis"] is not None
                    and tuple(e.params["shape"]) == _kept_shape(_aval(src.ins[0]).shape, src.params["axis"])):
                fused.add(src)
                new.append(Eqn(src.prim, src.ins, {**src.params, "keepdims": True}, e.outs))
                continue
        new.append(e)
    if not fused:
        return graph
    kept = [e for e in new if e not in fused]
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
        ids[v] = intern(("in", i, v.aval.shape, v.aval.dtype.str, v.aval.weak))

    def atom(a):
        return ids[a] if isinstance(a, Var) else intern(const_key(a))

    for e in graph.eqns:
        args = [atom(a) for a in e.ins]
        if e.prim.name in COMMUTATIVE:
            args.sort()
        base = (e.prim.name, params_key(e.params), tuple(args))
        for j, o in enumerate(e.outs):
            ids[o] = intern(base + (j,))
    return tuple(atom(o) for o in graph.outs)
