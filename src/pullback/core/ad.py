"""Forward mode (JVP) and reverse mode (a tape of VJP rules), on flat lists of arrays.

Forward mode carries a tangent next to every value: each primitive's JVP rule maps
input tangents to the output tangent.

Reverse mode records, for each primitive applied to a traced value, one tape entry
(primitive, parameters, input slots, input values, output). The backward pass walks
the tape in reverse and applies each primitive's VJP rule, accumulating cotangents
per slot. The backward pass runs after the trace has ended, and the VJP rules are
pullback operations, so when an outer transformation is active (grad of a function
that calls vjp, jvp of grad ...) the backward pass is itself traced by it: that is
how every mode nests to any order, at O(1) × the cost of the pass it differentiates.

Unbroadcasting is central, in both directions: forward mode broadcasts a tangent
contribution to its output's shape, and the backward pass fits each cotangent that
reaches an input to that input (a sum over the broadcast axes, and a cast to its
dtype: complex → real part, float64 → float32). Rules never do it themselves.

A primitive that gives only a forward rule gets its reverse rule by transposition
(`transposed_rules`): the forward rule is linear in the tangent, so running it on an
abstract tangent under a `TransposeTrace` records the linear map, and the backward
pass of that record is the map's transpose: the VJP.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..config import on_change
from ..errors import NonLinearRuleError
from .backend import NUMPY_TYPES
from .ir import ShapeDtype, Var
from .lax import add, broadcast_to, fit, getitem, getitem_vjp_into
from .primitive import check_finite
from .shapes import dtype_of
from .staging import trace_flat
from .trace import Shaped, Trace, Tracer, new_trace

# Set by pullback.config with core.primitive.DEBUG_NANS: the traces below run primitives on plain
# values directly (impl), so they check those outputs themselves when it is on.
DEBUG_NANS = False


def _set_debug_nans(value: bool) -> None:
    global DEBUG_NANS
    DEBUG_NANS = value


on_change("debug_nans", _set_debug_nans)

_add = add.bind

# VJP rules that add their result into the cotangent an input already has, in one operation:
# rule(prev, ct, out, *primals, **params) = prev + vjp of the first argument. For the primitives
# whose VJP scatters into zeros (the transpose of indexing); they give a whole `vjp` rule.
_VJP_INTO = {getitem: getitem_vjp_into}
_IS_SLOT = (-1).__lt__  # s >= 0: an input of this trace (its `needs` flag), without a comprehension's frame


def unbroadcast(g: Any, x: Any) -> Any:
    """Fit cotangent g to input x: sum over the axes broadcasting added, cast to x's inexact dtype."""
    try:
        if g.shape == x.shape:
            gd, xd = g.dtype, x.dtype
            if gd is xd or (type(gd) is type(xd) and gd == xd):  # (dtypes of two libraries are never equal)
                return g
    except AttributeError:
        pass
    return fit(g, x)


def zeros_like_value(x: Any) -> np.ndarray:
    """A plain zero array with x's shape and dtype (x may be a tracer or an abstract value)."""
    shape = getattr(x, "shape", None)
    return np.zeros(np.shape(x) if shape is None else shape, dtype=_dtype_of(x))


def _dtype_of(x: Any) -> np.dtype:
    return dtype_of(x)


# ----------------------------------------------------------------------------- forward


class JVPTracer(Tracer):
    __slots__ = ("aval", "tangent")

    def __init__(self, trace: Trace, primal: Any, tangent: Any):
        self._trace = trace
        self.aval = primal
        self.tangent = tangent


def _fit_tangent(t, out):
    """Broadcast a tangent contribution to the output's shape (binary ops with broadcasting)."""
    if t.shape != out.shape:
        t = broadcast_to(t, shape=out.shape)  # by keyword: the batching rule takes shape as a parameter
    return t


class JVPTrace(Trace):
    __slots__ = ()

    def _split(self, args):
        primals, tangents = [], []
        for a in args:
            if type(a) is JVPTracer and a._trace is self:
                primals.append(a.aval)
                tangents.append(a.tangent)
            else:
                primals.append(a)
                tangents.append(None)
        return primals, tangents

    def process_primitive(self, prim, args, params):
        # _split, inlined; the primitive runs on the values one level down, directly (impl)
        # when none of them is traced
        primals, tangents = [], []
        plain = True
        for a in args:
            if type(a) is JVPTracer and a._trace is self:
                v = a.aval
                tangents.append(a.tangent)
            else:
                v = a
                tangents.append(None)
            primals.append(v)
            if plain and type(v) not in NUMPY_TYPES:  # a tracer, or another library's array
                plain = False
        if plain:
            out = prim.impl(*primals, **params)
            if DEBUG_NANS:
                check_finite(prim, primals, out, from_trace=True)
        else:
            out = prim.bind(*primals, **params)
        if not prim.differentiable:
            return out
        if prim.jvp is not None:
            t_out = prim.jvp(primals, tangents, out, **params)
        else:
            t_out = None
            rules = prim.jvps
            for i, t in enumerate(tangents):
                if t is None or rules[i] is None:
                    continue
                c = rules[i](t, out, *primals, **params)
                if c is None:
                    continue
                t_out = c if t_out is None else _add(t_out, c)
        if prim.multiple_results:
            return tuple(self._wrap(o, t) for o, t in zip(out, t_out))
        return self._wrap(out, t_out)

    def _wrap(self, out, t):
        if t is None:
            return out
        if t.shape != out.shape:
            t = _fit_tangent(t, out)
        return JVPTracer(self, out, t)

    def process_custom(self, rule, args):
        primals, tangents = self._split(args)
        outs, t_outs = rule.jvp(primals, tangents)
        return [self._wrap(o, t) for o, t in zip(outs, t_outs)]


def jvp_flat(fun: Callable[[list], list], primals: Sequence, tangents: Sequence) -> tuple[list, list]:
    """Push `tangents` forward through `fun` (a function of a flat list to a flat list)."""
    with new_trace(JVPTrace) as trace:
        ins = [JVPTracer(trace, p, t) for p, t in zip(primals, tangents)]
        outs = fun(ins)
        out_p, out_t = [], []
        for o in outs:
            if type(o) is JVPTracer and o._trace is trace:
                out_p.append(o.aval)
                out_t.append(o.tangent)
            else:
                out_p.append(o)
                out_t.append(None)
    return out_p, out_t


# ----------------------------------------------------------------------------- reverse


class ReverseTracer(Tracer):
    __slots__ = ("aval", "slot")

    def __init__(self, trace: Trace, value: Any, slot: int):
        self._trace = trace
        self.aval = value
        self.slot = slot


class _CustomEntry:
    """Tape entry of a custom-derivative call: its backward function stands in for a VJP rule."""

    __slots__ = ("bwd",)
    multiple_results = True

    def __init__(self, bwd: Callable):
        self.bwd = bwd

    def vjp(self, cts, outs, primals, needs):
        return self.bwd(cts, needs)


class ReverseTrace(Trace):
    __slots__ = ("tape", "nslots")

    def __init__(self, level: int):
        super().__init__(level)
        self.tape: list = []
        self.nslots = 0

    def new(self, value: Any) -> ReverseTracer:
        t = ReverseTracer(self, value, self.nslots)
        self.nslots += 1
        return t

    def _split(self, args):
        primals, slots = [], []
        for a in args:
            if type(a) is ReverseTracer and a._trace is self:
                primals.append(a.aval)
                slots.append(a.slot)
            else:
                primals.append(a)
                slots.append(-1)
        return primals, slots

    def process_primitive(self, prim, args, params):
        # _split, inlined: this is the hottest path of eager reverse mode (W3). The primitive
        # runs on the values one level down, directly (impl) when none of them is traced.
        primals, slots = [], []
        plain = True
        for a in args:
            if type(a) is ReverseTracer and a._trace is self:
                v = a.aval
                slots.append(a.slot)
            else:
                v = a
                slots.append(-1)
            primals.append(v)
            if plain and type(v) not in NUMPY_TYPES:  # a tracer, or another library's array
                plain = False
        if plain:
            out = prim.impl(*primals, **params)
            if DEBUG_NANS:
                check_finite(prim, primals, out, from_trace=True)
        else:
            out = prim.bind(*primals, **params)
        if not prim.differentiable:
            return out
        if prim.multiple_results:
            tracers = tuple(self.new(o) for o in out)
            self.tape.append((prim, params, slots, primals, out, tuple(t.slot for t in tracers)))
            return tracers
        slot = self.nslots
        self.nslots = slot + 1
        self.tape.append((prim, params, slots, primals, out, slot))
        return ReverseTracer(self, out, slot)

    def process_custom(self, rule, args):
        """A custom call: rule.fwd(primals) -> (outs, bwd) or (outs, bwd, captured), where `captured`
        are tracers of this trace that the rule's function closed over; they become extra inputs
        of the tape entry, and bwd returns cotangents for the primals followed by them."""
        primals, slots = self._split(args)
        res = rule.fwd(primals)
        outs, bwd = res[0], res[1]
        for t in res[2] if len(res) > 2 else ():
            primals.append(t.aval)
            slots.append(t.slot)
        tracers = [self.new(o) for o in outs]
        self.tape.append((_CustomEntry(bwd), {}, slots, primals, outs, tuple(t.slot for t in tracers)))
        return tracers

    def backward(self, seeds: dict[int, Any], wanted: Sequence[int], consume: bool = False) -> list:
        """Run the tape backwards from cotangents `seeds` {slot: ct}; return the cts of `wanted` slots.

        consume=True empties the tape as it goes (a pass that runs once, as in grad): each entry's
        values are freed once used, so later temporaries reuse memory that is still in cache.
        """
        cts: list = [None] * self.nslots
        for s, ct in seeds.items():
            cts[s] = ct if cts[s] is None else _add(cts[s], ct)
        tape = self.tape
        entries = map(tape.pop, itertools.repeat(-1, len(tape))) if consume else reversed(tape)
        for prim, params, slots, primals, out, oslot in entries:
            if prim.multiple_results:
                cs = [cts[s] for s in oslot]
                if all(c is None for c in cs):
                    continue
                ct = tuple(zeros_like_value(o) if c is None else c for c, o in zip(cs, out))
            else:
                ct = cts[oslot]
                if ct is None:
                    continue
                cts[oslot] = None
            vjp = prim.vjp
            if vjp is None and prim.vjps is None:  # only a forward rule: transpose it (once per primitive)
                vjp = reverse_rules(prim)[1]
            if vjp is not None:
                into = _VJP_INTO.get(prim)
                if into is not None and slots[0] >= 0 and cts[slots[0]] is not None:
                    s = slots[0]  # the cotangent x already has, and this rule's, in one operation
                    prev, cts[s] = cts[s], None
                    gs = (into(prev, ct, out, *primals, **params),)
                else:
                    gs = vjp(ct, out, primals, list(map(_IS_SLOT, slots)), **params)
                for s, g, p in zip(slots, gs, primals):
                    if s >= 0 and g is not None:
                        try:  # unbroadcast, inlined
                            if g.shape != p.shape or g.dtype != p.dtype:
                                g = fit(g, p)
                        except AttributeError:
                            g = fit(g, p)
                        prev = cts[s]
                        cts[s] = g if prev is None else _add(prev, g)
            elif prim.commutative and len(slots) == 2 and slots[0] == slots[1] >= 0:
                # f(x, x) with f(x, y) = f(y, x): both partials are equal there, so one rule serves (x·x)
                g = prim.vjps[0](ct, out, *primals, **params)
                if g is not None:
                    g = _add(g, g)
                    p = primals[0]
                    try:  # unbroadcast, inlined
                        if g.shape != p.shape or g.dtype != p.dtype:
                            g = fit(g, p)
                    except AttributeError:
                        g = fit(g, p)
                    s = slots[0]
                    prev = cts[s]
                    cts[s] = g if prev is None else _add(prev, g)
            else:
                rules = prim.vjps
                for i, s in enumerate(slots):
                    if s < 0 or rules[i] is None:
                        continue
                    g = rules[i](ct, out, *primals, **params)
                    if g is None:
                        continue
                    p = primals[i]
                    try:  # unbroadcast, inlined (dtypes of two libraries are never equal)
                        if g.shape != p.shape or (g.dtype is not p.dtype and (
                                type(g.dtype) is not type(p.dtype) or g.dtype != p.dtype)):
                            g = fit(g, p)
                    except AttributeError:
                        g = fit(g, p)
                    prev = cts[s]
                    cts[s] = g if prev is None else _add(prev, g)
        return [cts[s] for s in wanted]


def vjp_flat(fun: Callable[[list], list], primals: Sequence) -> tuple[list, Callable[[list], list]]:
    """Run `fun` once, recording a tape; return its outputs and a function mapping output cts to input cts.

    The returned function accepts ``None`` for a zero cotangent and returns ``None`` where an
    input's cotangent is zero (the output did not depend on it).
    """
    with new_trace(ReverseTrace) as trace:
        ins = [trace.new(p) for p in primals]
        in_slots = [t.slot for t in ins]  # read now: an in-place update inside fun rebinds the tracers
        outs = fun(ins)
        out_vals, out_slots = [], []
        for o in outs:
            if type(o) is ReverseTracer and o._trace is trace:
                out_vals.append(o.aval)
                out_slots.append(o.slot)
            else:
                out_vals.append(o)
                out_slots.append(-1)

    def pullback(cts: Sequence, once: bool = False) -> list:
        """once=True: this is the only call (grad); the tape is freed while the pass runs."""
        seeds: dict[int, Any] = {}
        for s, ct in zip(out_slots, cts):
            if s >= 0 and ct is not None:
                seeds[s] = ct if s not in seeds else _add(seeds[s], ct)
        if not seeds:
            return [None] * len(in_slots)
        return trace.backward(seeds, in_slots, consume=once)

    return out_vals, pullback


# ----------------------------------------------------------------------------- transposition


class LinearValue(Shaped):
    """The abstract value of a tangent while a forward rule is transposed: shape and dtype only.

    A reverse rule that reads the value of an input it is linear in (rather than its shape
    and dtype) cannot be used to transpose, and says so.
    """

    __slots__ = ("shape", "dtype", "owner")

    def __init__(self, shape: tuple, dtype: Any, owner: str):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.owner = owner

    def __array__(self, dtype=None, copy=None):
        raise NonLinearRuleError(
            f"the reverse rule of {self.owner!r} is derived by transposing its forward rule, and "
            "that needs a value of the tangent (the forward rule is not linear in it, or a rule "
            f"it calls reads a linear input's value). Give {self.owner!r} a hand-written reverse "
            "rule (vjps=... or vjp=...)."
        )

    def __repr__(self) -> str:
        return f"LinearValue({self.dtype.name}{list(self.shape)})"


class TransposeTrace(ReverseTrace):
    """Records a forward rule's linear map of its tangent, without computing it.

    Operations on tangents are recorded with abstract outputs (from the primitives' shape
    rules); everything else (the derivative factors, written from primal values) is
    computed as usual. `backward` (inherited) then applies the transpose.
    """

    __slots__ = ("owner", "prim")

    def __init__(self, level: int, prim: Any):
        super().__init__(level)
        self.prim = prim
        self.owner = prim.name

    def new(self, value: Any) -> ReverseTracer:
        """A tangent for an input like `value` (its shape and dtype)."""
        shape = getattr(value, "shape", None)
        if shape is None:
            shape = np.shape(value)
        return super().new(LinearValue(shape, _dtype_of(value), self.owner))

    def process_primitive(self, prim, args, params):
        primals, slots = self._split(args)
        if prim is self.prim and _is_transposed(prim):
            raise NonLinearRuleError(
                f"the forward rule of {self.owner!r} applies {self.owner!r} itself to its tangent, so its "
                f"transpose would need the reverse rule being derived; give {self.owner!r} a reverse rule "
                "(vjps=... or vjp=...)."
            )
        if not prim.differentiable:
            raise NonLinearRuleError(
                f"the forward rule of {self.owner!r} applies {prim.name!r}, which has no derivative, "
                f"to its tangent, so it is not linear in it; give {self.owner!r} a reverse rule "
                "(vjps=... or vjp=...)."
            )
        if prim.shape is None:
            raise NonLinearRuleError(
                f"the reverse rule of {self.owner!r} is derived from its forward rule, which applies "
                f"{prim.name!r} to the tangent; {prim.name!r} has no shape rule. Give {prim.name!r} "
                f"one (shape=...), or {self.owner!r} a reverse rule."
            )
        rule_out = prim.shape(*primals, **params)
        if prim.multiple_results:
            out = tuple(LinearValue(sh, dt, self.owner) for sh, dt in rule_out)
            tracers = tuple(ReverseTracer(self, o, self.nslots + k) for k, o in enumerate(out))
            self.nslots += len(out)
            self.tape.append((prim, params, slots, primals, out, tuple(t.slot for t in tracers)))
            return tracers
        out = LinearValue(rule_out[0], rule_out[1], self.owner)
        slot = self.nslots
        self.nslots = slot + 1
        self.tape.append((prim, params, slots, primals, out, slot))
        return ReverseTracer(self, out, slot)

    def process_custom(self, rule, args):
        raise NonLinearRuleError(
            f"the forward rule of {self.owner!r} calls a custom-derivative function on its tangent; "
            f"give {self.owner!r} a reverse rule (vjps=... or vjp=...)."
        )

    def transpose(self, t_outs: Sequence, cts: Sequence, t_ins: Sequence) -> list:
        """Cotangents of the tangent inputs `t_ins` (None entries skipped) from those of `t_outs`."""
        seeds: dict[int, Any] = {}
        for t, ct in zip(t_outs, cts):
            if type(t) is ReverseTracer and t._trace is self and ct is not None:
                # the forward trace broadcasts a rule's result to the output's shape: transpose that
                ct = unbroadcast(ct, t.aval)
                seeds[t.slot] = ct if t.slot not in seeds else _add(seeds[t.slot], ct)
        wanted = [t.slot for t in t_ins if t is not None]
        got = iter(self.backward(seeds, wanted) if seeds else [None] * len(wanted))
        return [None if t is None else next(got) for t in t_ins]


# A transposed rule is staged once per signature (the shapes and dtypes of its array arguments,
# the values of the others, the parameters) into a short program of primitive applications,
# which each later call replays through bind: no trace, no shape rules, nothing recorded, so it
# costs about what a hand-written rule costs, and outer transformations see through it as usual.
# A rule that cannot be staged (its Python code reads values) is transposed afresh at every call.

_ARRAYS = (np.ndarray, np.generic, Tracer)
_CACHE_LIMIT = 64  # signatures kept per rule


def _signature(values: Sequence, params: dict) -> tuple | None:
    key = [tuple(params.items())]
    for v in values:
        if isinstance(v, _ARRAYS):
            key.append((v.shape, v.dtype))
        else:
            key.append((type(v), v))
    key = tuple(key)
    try:
        hash(key)
    except TypeError:
        return None
    return key


class _Program:
    """A staged graph as a flat list of steps over numbered values (a minimal evaluator)."""

    __slots__ = ("positions", "steps", "outs")

    def __init__(self, positions: list, graph: Any):
        self.positions = positions
        used = {id(o) for o in graph.outs if isinstance(o, Var)}
        kept = []
        for e in reversed(graph.eqns):  # dead-code elimination
            if any(id(o) in used for o in e.outs):
                kept.append(e)
                used.update(id(a) for a in e.ins if isinstance(a, Var))
        index = {id(v): k for k, v in enumerate(graph.in_vars)}
        steps = []
        for e in reversed(kept):
            ins = tuple((True, index[id(a)]) if isinstance(a, Var) else (False, a.value) for a in e.ins)
            outs = tuple(len(index) + k for k in range(len(e.outs)))
            for v, k in zip(e.outs, outs):
                index[id(v)] = k
            steps.append((e.prim, ins, e.params, outs if e.prim.multiple_results else outs[0]))
        self.steps = steps
        self.outs = [(True, index[id(o)]) if isinstance(o, Var) else (False, o.value) for o in graph.outs]

    def __call__(self, values: Sequence) -> list:
        env = [values[k] for k in self.positions]
        for prim, ins, params, out in self.steps:
            r = prim.bind(*[env[a] if is_var else a for is_var, a in ins], **params)
            if type(out) is int:
                env.append(r)
            else:
                env.extend(r)
        # a constant result is copied: the caller may update it in place
        return [env[a] if is_var else (a.copy() if isinstance(a, np.ndarray) else a) for is_var, a in self.outs]


def _stage(rule: Callable, values: list, params: dict) -> _Program | None:
    positions = [k for k, v in enumerate(values) if isinstance(v, _ARRAYS)]

    def fun(ins):
        vals = list(values)
        for k, t in zip(positions, ins):
            vals[k] = t
        return rule(vals, params)

    try:
        graph = trace_flat(fun, [ShapeDtype(values[k].shape, dtype_of(values[k])) for k in positions])
    except Exception:  # noqa: BLE001 - a rule that reads values: transpose it at every call instead
        return None
    return _Program(positions, graph)


class _CachedRule:
    """rule(values, params) -> list, replayed from a staged program per signature."""

    __slots__ = ("rule", "cache")

    def __init__(self, rule: Callable):
        self.rule = rule
        self.cache: dict = {}

    def __call__(self, values: list, params: dict) -> list:
        key = _signature(values, params)
        if key is None:
            return self.rule(values, params)
        prog = self.cache.get(key)
        if prog is None:
            if len(self.cache) >= _CACHE_LIMIT:
                self.cache.clear()
            prog = self.cache[key] = _stage(self.rule, values, params) or False
        if prog is False:
            return self.rule(values, params)
        return prog(values)


def _transposed_jvps(prim, i: int) -> Callable:
    """prim's VJP with respect to argument i, as the transpose of its forward rule jvps[i]."""
    jvp_i = prim.jvps[i]
    name = prim.name

    def transpose(values, params):
        ct, out, *primals = values
        with new_trace(TransposeTrace, prim) as trace:
            t = trace.new(primals[i])
            t_out = jvp_i(t, out, *primals, **params)
        return trace.transpose([t_out], [ct], [t])

    cached = _CachedRule(transpose)

    def vjp_i(ct, out, *primals, **params):
        return cached([ct, out, *primals], params)[0]

    vjp_i.__name__ = vjp_i.__qualname__ = f"{name}_vjp{i}_by_transposition"
    return vjp_i


def _transposed_jvp(prim) -> Callable:
    """prim's whole VJP rule, as the transpose of its whole forward rule `jvp`."""
    jvp = prim.jvp
    name = prim.name
    multiple = prim.multiple_results

    def transpose(values, params):
        params = dict(params)
        needs = params.pop("_needs")
        n = len(needs)
        primals, rest = values[:n], values[n:]
        k = len(rest) // 2
        out, cts = (tuple(rest[:k]), rest[k:]) if multiple else (rest[0], rest[1:])
        with new_trace(TransposeTrace, prim) as trace:
            ts = [trace.new(p) if need else None for p, need in zip(primals, needs)]
            t_out = jvp(primals, ts, out, **params)
        return trace.transpose(list(t_out) if multiple else [t_out], list(cts), ts)

    cached = _CachedRule(transpose)

    def vjp(ct, out, primals, needs, **params):
        if multiple:  # an output nobody used has a zero cotangent: no seed, so its path is skipped
            outs, cts = tuple(out), tuple(None if _is_plain_zero(c) else c for c in ct)
        else:
            outs, cts = (out,), (ct,)
        return cached([*primals, *outs, *cts], {**params, "_needs": tuple(needs)})

    vjp.__name__ = vjp.__qualname__ = f"{name}_vjp_by_transposition"
    return vjp


def _is_transposed(prim) -> bool:
    """Whether prim's reverse rule is derived by transposition (here), not given."""
    rules = [prim.vjp] if prim.vjp is not None else [r for r in prim.vjps or () if r is not None]
    return any(getattr(r, "__name__", "").endswith("_by_transposition") for r in rules)


def _is_plain_zero(c) -> bool:
    """A cotangent that is a plain all-zero array (never a traced one: no value is read under staging)."""
    return isinstance(c, (np.ndarray, np.generic)) and not c.any()


def reverse_rules(prim) -> tuple[tuple | None, Callable | None]:
    """prim's (vjps, vjp): its own, or, for a primitive given only forward rules, their transposes,
    derived on first use and kept on the primitive."""
    if prim.vjps is None and prim.vjp is None and prim.differentiable:
        prim.vjps, prim.vjp = transposed_rules(prim)
        if prim.vjps is None and prim.vjp is None:
            raise NonLinearRuleError(
                f"primitive {prim.name!r} is differentiable but has no derivative rule; give it jvps=/jvp= "
                "(its reverse rule is then derived) or vjps=/vjp=, or make it with nondifferentiable(...).")
    return prim.vjps, prim.vjp


def transposed_rules(prim) -> tuple[tuple | None, Callable | None]:
    """(vjps, vjp) for a primitive given only forward rules: their transposes (see TransposeTrace)."""
    if prim.jvps is not None:
        return tuple(None if r is None else _transposed_jvps(prim, i) for i, r in enumerate(prim.jvps)), None
    if prim.jvp is not None:
        return None, _transposed_jvp(prim)
    return None, None
