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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .lax import add, broadcast_to
from .trace import Trace, Tracer, new_trace

_add = add.bind


def zeros_like_value(x: Any) -> np.ndarray:
    """A plain zero array with x's shape and dtype (x may be a tracer)."""
    return np.zeros(np.shape(x) if not isinstance(x, Tracer) else x.shape, dtype=_dtype_of(x))


def _dtype_of(x: Any) -> np.dtype:
    return x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype


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
        t = broadcast_to(t, out.shape)
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
        primals, tangents = self._split(args)
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
        return JVPTracer(self, out, _fit_tangent(t, out))

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
        # _split, inlined: this is the hottest path of eager reverse mode (W3)
        primals, slots = [], []
        for a in args:
            if type(a) is ReverseTracer and a._trace is self:
                primals.append(a.aval)
                slots.append(a.slot)
            else:
                primals.append(a)
                slots.append(-1)
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

    def backward(self, seeds: dict[int, Any], wanted: Sequence[int]) -> list:
        """Run the tape backwards from cotangents `seeds` {slot: ct}; return the cts of `wanted` slots."""
        cts: list = [None] * self.nslots
        for s, ct in seeds.items():
            cts[s] = ct if cts[s] is None else _add(cts[s], ct)
        for prim, params, slots, primals, out, oslot in reversed(self.tape):
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
            if prim.vjp is not None:
                gs = prim.vjp(ct, out, primals, [s >= 0 for s in slots], **params)
                for s, g in zip(slots, gs):
                    if s >= 0 and g is not None:
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

    def pullback(cts: Sequence) -> list:
        seeds: dict[int, Any] = {}
        for s, ct in zip(out_slots, cts):
            if s >= 0 and ct is not None:
                seeds[s] = ct if s not in seeds else _add(seeds[s], ct)
        if not seeds:
            return [None] * len(in_slots)
        return trace.backward(seeds, in_slots)

    return out_vals, pullback
