"""Primitive: one elementary operation and everything about it, in one object.

A primitive holds
- ``impl``: the NumPy implementation, called on plain arrays;
- ``shape``: the shape/dtype rule, ``shape(*avals, **params) -> (shape, dtype)``
  where each aval has ``.shape`` and ``.dtype`` (used by staging);
- its forward-mode rule, either per argument, ``jvps[i](t, out, *primals, **params)``
  giving that argument's contribution ∂out/∂xᵢ · t, or whole, ``jvp(primals, tangents,
  out, **params)`` with ``None`` for a zero tangent;
- its batching rule ``batch(values, batched, **params)`` for vmap (see core/batching.py;
  without one, vmap loops over the batch);
- its reverse-mode rule, per argument, ``vjps[i](ct, out, *primals, **params)`` giving
  ctᵀ ∂out/∂xᵢ, or whole, ``vjp(ct, out, primals, needs, **params)``. For a linear
  primitive the reverse rule is its transpose and ignores the primal values. Without
  one, the reverse rule is the transpose of the forward rule (linear in the tangent),
  derived once here (core/ad.py, `transposed_rules`). A reverse rule's result need not
  have its input's shape or dtype: the backward pass sums it over broadcast axes and
  casts it (complex → real, float64 → float32) centrally.

Rules are written with pullback operations, so they can be differentiated again:
that is all nesting needs. A ``None`` in ``jvps``/``vjps`` marks an argument that is
not differentiable (an index, a condition).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .ad import transposed_rules
from .trace import Tracer

Rule = Callable[..., Any]


class Primitive:
    __slots__ = (
        "name", "impl", "shape", "jvps", "jvp", "vjps", "vjp",
        "differentiable", "multiple_results", "linear", "batch", "__doc__",
    )

    def __init__(
        self,
        name: str,
        impl: Callable,
        *,
        shape: Callable | None = None,
        jvps: Sequence[Rule | None] | None = None,
        jvp: Rule | None = None,
        vjps: Sequence[Rule | None] | None = None,
        vjp: Rule | None = None,
        differentiable: bool = True,
        multiple_results: bool = False,
        linear: bool = False,
        batch: Callable | None = None,
        doc: str | None = None,
    ):
        self.name = name
        self.impl = impl
        self.shape = shape
        self.jvps = tuple(jvps) if jvps is not None else None
        self.jvp = jvp
        self.vjps = tuple(vjps) if vjps is not None else None
        self.vjp = vjp
        self.differentiable = differentiable
        self.multiple_results = multiple_results
        self.linear = linear
        self.batch = batch
        self.__doc__ = doc
        if differentiable and vjps is None and vjp is None:
            self.vjps, self.vjp = transposed_rules(self)

    def bind(self, *args: Any, **params: Any) -> Any:
        """Apply the primitive: directly on plain values, else via the top trace among the arguments."""
        top = None
        level = -1
        for a in args:
            if isinstance(a, Tracer):
                t = a._trace
                if t.level > level:
                    top, level = t, t.level
        if top is None:
            return self.impl(*args, **params)
        if not top.active:
            from .trace import find_top_trace

            find_top_trace(args)  # raises the escaped-tracer error
        return top.process_primitive(self, args, params)

    __call__ = bind

    def __repr__(self) -> str:
        return f"Primitive({self.name})"


def nondifferentiable(name: str, impl: Callable, shape: Callable | None = None, doc: str | None = None) -> Primitive:
    """A primitive whose output carries no derivative (comparisons, argmax, ...)."""
    return Primitive(name, impl, shape=shape, differentiable=False, doc=doc)
