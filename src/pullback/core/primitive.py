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
  primitive the reverse rule is its transpose and ignores the primal values.

Rules are written with pullback operations, so they can be differentiated again:
that is all nesting needs. A ``None`` in ``jvps``/``vjps`` marks an argument that is
not differentiable (an index, a condition).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

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
            if DEBUG_NANS:
                return check_finite(self, args, self.impl(*args, **params))
            return self.impl(*args, **params)
        if not top.active:
            from .trace import find_top_trace

            find_top_trace(args)  # raises the escaped-tracer error
        return top.process_primitive(self, args, params)

    __call__ = bind

    def __repr__(self) -> str:
        return f"Primitive({self.name})"


# ----------------------------------------------------------------------------- debug_nans

# Set by pullback.config (config.update("debug_nans", True) or PULLBACK_DEBUG_NANS=1). Off, it costs
# one global read per primitive applied to plain values; on, every such output is checked.
DEBUG_NANS = False

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LIBRARY_DIRS = (_PACKAGE_DIR + os.sep, os.path.dirname(np.__file__) + os.sep,
                 os.path.dirname(contextlib.__file__) + os.sep)


def _nonfinite(x: Any) -> bool:
    a = x if isinstance(x, np.ndarray) else np.asarray(x) if isinstance(x, (float, complex, np.generic)) else None
    return a is not None and a.dtype.kind in "fc" and not np.isfinite(a).all()


def user_frame(frame: Any = None) -> Any:
    """The innermost stack frame outside pullback, NumPy and the standard library: the user's line."""
    f = frame if frame is not None else sys._getframe(1)
    while f is not None and f.f_code.co_filename.startswith(_LIBRARY_DIRS):
        f = f.f_back
    return f


def _which_pass() -> str:
    """forward, JVP or backward: what the interpreter frames on the stack are doing right now."""
    from .ad import JVPTrace, ReverseTrace

    backward = ReverseTrace.backward.__code__
    jvp_codes = (JVPTrace.process_primitive.__code__, JVPTrace.process_custom.__code__)
    f = sys._getframe(2)
    while f is not None:
        if f.f_code is backward:
            rule = f.f_locals.get("prim")
            name = getattr(rule, "name", None)
            return f"backward pass (the reverse rule of {name})" if name else "backward pass"
        if f.f_code in jvp_codes and ("out" in f.f_locals or "outs" in f.f_locals):
            return "JVP (forward-mode tangent)"
        f = f.f_back
    return "forward pass"


def check_finite(prim: Primitive, args: tuple, out: Any) -> Any:
    """Raise NonFiniteError if prim turned finite inputs into a NaN or inf (debug_nans)."""
    outs = out if prim.multiple_results else (out,)
    if any(_nonfinite(o) for o in outs) and not any(_nonfinite(a) for a in args):
        from ..errors import NonFiniteError

        frame = user_frame(sys._getframe(1))
        where = f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else "an unknown line"
        line = ""
        if frame is not None:
            import linecache

            line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
        kinds = " and ".join(k for k, test in (("NaN", np.isnan), ("inf", np.isinf))
                             if any(isinstance(o, (np.ndarray, np.generic, float, complex)) and test(o).any()
                                    for o in outs))
        raise NonFiniteError(
            f"debug_nans: the primitive {prim.name!r} produced {kinds} from finite inputs in the "
            f"{_which_pass()}, at {where}" + (f" ({line})" if line else "") + ". Guard the input (e.g. "
            "np.where before the operation, so both branches stay finite), or turn the check off with "
            "pullback.config.update('debug_nans', False)."
        )
    return out


def nondifferentiable(name: str, impl: Callable, shape: Callable | None = None, doc: str | None = None) -> Primitive:
    """A primitive whose output carries no derivative (comparisons, argmax, ...)."""
    return Primitive(name, impl, shape=shape, differentiable=False, doc=doc)
