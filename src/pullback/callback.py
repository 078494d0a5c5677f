"""pure_callback: run a black box (SciPy's quad, a compiled function ...) inside traced code.

The callback is one primitive: applied to plain NumPy arrays, it calls the function and checks
its results against the declared shapes and dtypes. Staging (jit) records it as one equation,
so a jitted function calls the black box at run time; vmap calls it once per example. It has no
derivative of its own: differentiating through it raises CallbackDerivativeError. Wrap it in
pullback.custom_vjp / custom_jvp to give it rules (their fwd / jvp rules may call it again).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .core.ir import ShapeDtype
from .core.primitive import Primitive
from .core.trace import Tracer
from .core.tree import tree_flatten, tree_unflatten
from .errors import CustomRuleError, PullbackError

ShapeDtypeStruct = ShapeDtype  # JAX's name: ShapeDtypeStruct(shape, dtype)


class CallbackDerivativeError(PullbackError, TypeError):
    """A pure_callback was differentiated: pullback cannot see inside the black box."""


class _Spec:
    """The callback and the declared result structure: the primitive's parameters (hashable by identity)."""

    __slots__ = ("fun", "tree", "avals", "in_tree")

    def __init__(self, fun: Callable, tree: Any, avals: tuple, in_tree: Any):
        self.fun, self.tree, self.avals, self.in_tree = fun, tree, avals, in_tree

    def __repr__(self) -> str:
        return f"callback {getattr(self.fun, '__name__', 'callback')} -> {', '.join(map(str, self.avals))}"


def _call(*args: Any, spec: _Spec) -> tuple:
    outs = spec.fun(*tree_unflatten(spec.in_tree, list(args)))
    leaves, tree = tree_flatten(outs)
    if tree != spec.tree:
        raise CustomRuleError(
            f"pure_callback: {getattr(spec.fun, '__name__', 'the callback')} returned the structure {tree}, "
            f"but result_shape declares {spec.tree}."
        )
    checked = []
    for got, want in zip(leaves, spec.avals):
        arr = np.asarray(got)
        if arr.shape != tuple(want.shape):
            raise CustomRuleError(
                f"pure_callback: {getattr(spec.fun, '__name__', 'the callback')} returned shape {arr.shape}, "
                f"but result_shape declares {tuple(want.shape)}."
            )
        checked.append(arr.astype(want.dtype, copy=False))
    return tuple(checked)


def _shape(*avals: Any, spec: _Spec) -> list:
    return [(tuple(a.shape), np.dtype(a.dtype)) for a in spec.avals]


def _no_derivative(spec: _Spec):
    raise CallbackDerivativeError(
        f"pure_callback({getattr(spec.fun, '__name__', 'callback')}) was differentiated, but pullback cannot see "
        "inside a black box. Wrap the call in pullback.custom_vjp or pullback.custom_jvp and give it a rule "
        "(the rule may call pure_callback again, e.g. for a derivative the black box also computes), or wrap "
        "its inputs in pullback.stop_gradient if no derivative is needed."
    )


def _jvp(primals, tangents, out, spec):
    if all(t is None for t in tangents):
        return [None] * len(out)
    _no_derivative(spec)


def _vjp(ct, out, primals, needs, spec):
    _no_derivative(spec)


callback_p = Primitive(
    "pure_callback", _call, shape=_shape, jvp=_jvp, vjp=_vjp, multiple_results=True,
    doc="a black-box function on plain arrays with declared result shapes (no derivative)",
)


def pure_callback(callback: Callable, result_shape: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a black box on plain arrays from traced code (JAX's pure_callback).

    Under jit the callback runs each time the jitted function runs; under vmap once per example.

    Parameters
    ----------
    callback : callable
        A pure function of NumPy arrays (same inputs, same outputs).
    result_shape : pytree
        Objects with .shape and .dtype (np.ndarray, pullback.ShapeDtypeStruct) describing what
        callback returns.
    *args : pytrees of arrays
        The arguments, traced or not.

    Returns
    -------
    pytree of arrays
        callback(*args), with the declared shapes and dtypes.

    Raises
    ------
    CallbackDerivativeError
        When differentiated: give it rules with custom_vjp / custom_jvp.
    CustomRuleError
        The callback's result does not match result_shape.

    Examples
    --------
    >>> import numpy, pullback as pb
    >>> area = lambda b: numpy.array(b ** 3 / 3.0)
    >>> f = pb.jit(lambda b: 2.0 * pb.pure_callback(area, pb.ShapeDtypeStruct((), numpy.float64), b))
    >>> float(f(3.0))
    18.0
    """
    if kwargs:
        args = args + (kwargs,)
        fun = callback

        def callback(*a):  # noqa: F811 - keyword arguments travel as a trailing dict
            return fun(*a[:-1], **a[-1])

    leaves, in_tree = tree_flatten(args)
    shape_leaves, shape_tree = tree_flatten(result_shape)
    avals = tuple(ShapeDtype(tuple(s.shape), np.dtype(s.dtype)) for s in shape_leaves)
    spec = _Spec(callback, shape_tree, avals, in_tree)
    leaves = [x if isinstance(x, (Tracer, np.ndarray, np.generic)) else np.asarray(x) for x in leaves]
    outs = callback_p.bind(*leaves, spec=spec)
    return tree_unflatten(shape_tree, list(outs))


__all__ = ["CallbackDerivativeError", "ShapeDtypeStruct", "callback_p", "pure_callback"]
