"""Batching (vmap): run a function on a stack of inputs as if on each one.

A batched value carries its batch axis at position 0 (`BatchTracer.aval` has shape
(B, *per-example shape)); an unbatched value is one that is the same for every example.
A primitive's batching rule ``prim.batch(args, batched, **params) -> out`` receives the
values one level down and a flag per argument, and returns the output with the batch
axis at 0 (every output of a multi-output primitive is batched). Primitives without a
rule fall back to a loop over the batch that applies the primitive per example and
stacks the results: always correct, not vectorized.

Rule builders for the common families live here (those built from the engine's own
primitives are defined in core/lax.py and re-exported); primitives attach them with
``batch=`` next to their other rules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import TracerConversionError
from .lax import (
    all_batched,
    batch_size_of,
    broadcasting_rule,
    expand_batched,
    loop_rule,
    materialize,
    stack,
    take,
)
from .primitive import Primitive
from .trace import Trace, Tracer

__all__ = ["BatchTrace", "BatchTracer", "all_batched", "attach_broadcasting_rules", "batch_size_of",
           "broadcasting_rule", "expand_batched", "loop_rule", "materialize", "shift_axis_rule"]


class BatchTracer(Tracer):
    __slots__ = ("aval", "batch_size")

    def __init__(self, trace: Trace, value: Any, batch_size: int):
        self._trace = trace
        self.aval = value
        self.batch_size = batch_size

    @property
    def shape(self) -> tuple:
        return tuple(self.aval.shape[1:])

    def concrete(self):
        raise TracerConversionError(
            "a batched value (inside pullback.vmap) was used where a single concrete value is needed "
            "(Python `if`/`while`, int(), float()); each example may differ. Use pullback.numpy.where, "
            "pullback.cond or move the branch out of the vmapped function."
        )

    def __repr__(self) -> str:
        return f"BatchTracer(batch={self.batch_size}, shape={self.shape}, dtype={self.dtype})"


def _shape(x) -> tuple:
    s = getattr(x, "shape", None)
    return tuple(s) if s is not None else np.shape(x)


class BatchTrace(Trace):
    __slots__ = ("size",)

    def __init__(self, level: int, size: int):
        super().__init__(level)
        self.size = size

    def _split(self, args):
        vals, batched = [], []
        for a in args:
            if type(a) is BatchTracer and a._trace is self:
                vals.append(a.aval)
                batched.append(True)
            else:
                vals.append(a)
                batched.append(False)
        return vals, batched

    def process_primitive(self, prim, args, params):
        vals, batched = self._split(args)
        rule = prim.batch if prim.batch is not None else loop_rule(prim)
        out = rule(vals, batched, **params)
        if prim.multiple_results:
            return tuple(BatchTracer(self, o, self.size) for o in out)
        return BatchTracer(self, out, self.size)

    def process_custom(self, rule, args):
        """Apply the custom function per example (its own rules then serve the levels below) and stack."""
        vals, batched = self._split(args)
        per_example = []
        for i in range(self.size):
            per_example.append(rule.primal_bind([take(v, i) if b else v for v, b in zip(vals, batched)]))
        return [BatchTracer(self, stack([ex[j] for ex in per_example]), self.size)
                for j in range(len(per_example[0]))]


# ----------------------------------------------------------------------------- rule builders


def shift_axis_rule(prim, name: str = "axis") -> Callable:
    """Unary ops with an `axis` parameter (a tuple of ints or None = all axes): shift past the batch axis."""

    def rule(vals, batched, **params):
        (x,) = vals
        axis = params[name]
        nd = len(_shape(x)) - 1
        params = dict(params)
        params[name] = tuple(range(1, nd + 1)) if axis is None else tuple(a + 1 for a in axis)
        return prim.bind(x, **params)

    return rule


def attach_broadcasting_rules(namespace: dict) -> None:
    """Give every primitive in a module namespace (or in its dict tables) without a batching rule the
    broadcasting rule: for modules whose primitives are all elementwise."""
    found = [v for v in namespace.values() if isinstance(v, Primitive)]
    found += [p for table in namespace.values() if isinstance(table, dict)
              for p in table.values() if isinstance(p, Primitive)]
    for prim in found:
        if prim.batch is None:
            prim.batch = broadcasting_rule(prim)
