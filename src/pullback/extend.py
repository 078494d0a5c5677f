"""pullback.extend: add a primitive from outside pullback — its rules, traits and hooks.

A primitive is one `Primitive(name, impl, ...)` object holding everything about an
operation; see docs/extending.md for a complete worked example. In short:

    impl(*arrays, **params)                 the NumPy implementation
    shape(*avals, **params)                 -> (shape, dtype); avals have .shape/.dtype (staging, jit)
    jvps[i](t, out, *args, **params)        ∂out/∂argᵢ · t, written with pullback operations
    vjps[i](ct, out, *args, **params)       ctᵀ ∂out/∂argᵢ, summed back to argᵢ's shape (`fit`)
    batch(values, batched, **params)        the vmap rule (`broadcasting_rule(prim)` for elementwise)
    traits                                  linear, commutative, elementwise, broadcasting, reduction,
                                            weak_preserving, negation_commutes, negation
    hooks                                   rewrite=rule(s, ins, params, out) -> atom | None,
                                            render=fn(emitter, eqn, args) -> source, stem="name"

Rules written with pullback operations (the primitives below, or pullback.numpy) differentiate
again, so one set of rules serves every order and every mode. `def_ufunc` routes a NumPy/SciPy
ufunc applied to a traced value to your function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .core.atoms import ShapeDtype, aval_of, fits, is_number, known_finite, zero_like
from .core.batching import (
    all_batched,
    batch_size_of,
    broadcasting_rule,
    expand_batched,
    loop_rule,
    materialize,
    shift_axis_rule,
)
from .core.codegen import astype, index_render, infix, reduction
from .core.lax import fit
from .core.primitive import Primitive, nondifferentiable
from .core.rewrite import Simplifier
from .core.shapes import (
    bool_rule,
    broadcast_rule,
    dtype_of,
    is_complex,
    is_float,
    ndim_of,
    normalize_axis,
    result_dtype,
    same_rule,
    shape_of,
    ufunc_rule,
)
from .core.trace import UFUNC_HANDLERS, Tracer
from .errors import PullbackError, UnsupportedFunctionError

__all__ = [
    # the primitive
    "Primitive", "nondifferentiable",
    # shape/dtype rules and the helpers rules use
    "ShapeDtype", "bool_rule", "broadcast_rule", "dtype_of", "fit", "is_complex", "is_float", "ndim_of",
    "normalize_axis", "result_dtype", "same_rule", "shape_of", "ufunc_rule",
    # batching (vmap) rules
    "all_batched", "batch_size_of", "broadcasting_rule", "expand_batched", "loop_rule", "materialize",
    "shift_axis_rule",
    # rewrite rules (what a rule may ask of an atom) and rendering hooks
    "Simplifier", "aval_of", "fits", "is_number", "known_finite", "zero_like",
    "astype", "index_render", "infix", "reduction",
    # routing NumPy/SciPy ufuncs, and what to raise
    "Tracer", "def_ufunc", "PullbackError", "UnsupportedFunctionError",
]


def def_ufunc(ufunc: Any, fn: Callable, public_name: str | None = None) -> None:
    """Make `ufunc(*args)` (a NumPy or SciPy ufunc) on a traced value call `fn(*args, **kwargs)`.

    Only the plain call is routed; `ufunc.reduce` / `.accumulate` / `.at` ... on a traced value raise
    UnsupportedFunctionError naming the ufunc.

    Parameters
    ----------
    ufunc : numpy.ufunc
        The ufunc to route (``numpy.sinc``-like callables of a third-party library included).
    fn : callable
        Its differentiable replacement, written with pullback operations.
    public_name : str, optional
        The name used in error messages (default: the ufunc's ``__name__``).

    Returns
    -------
    None

    Raises
    ------
    UnsupportedFunctionError
        Later, when a method other than the plain call (reduce, accumulate, at ...) meets a traced value.

    Examples
    --------
    >>> import numpy
    >>> import pullback as pb, pullback.numpy as np
    >>> from pullback.extend import def_ufunc
    >>> square = numpy.frompyfunc(lambda v: v * v, 1, 1)     # a ufunc pullback does not know
    >>> def_ufunc(square, lambda x: x * x, "square")
    >>> pb.grad(lambda x: square(x))(3.0)
    np.float64(6.0)
    """
    public = public_name or getattr(ufunc, "__name__", repr(ufunc))

    def handle(method, *inputs, **kwargs):
        if method != "__call__":
            raise UnsupportedFunctionError(
                f"{public}.{method} on a traced value is not supported; call {public}(...) itself.")
        return fn(*inputs, **kwargs)

    UFUNC_HANDLERS[ufunc] = handle
