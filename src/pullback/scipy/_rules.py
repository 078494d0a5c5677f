"""The one place pullback.scipy builds its primitives.

Every elementwise SciPy function is made by :func:`elementwise` from its implementation (SciPy's
own function, so values are SciPy's) and its partial derivatives ∂out/∂argᵢ written with pullback
operations, so the rules differentiate again, to any order. Switching to ``pullback.extend`` (or
dropping ``fit`` once reverse mode unbroadcasts centrally) changes this file only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..core.batching import broadcasting_rule
from ..core.primitive import Primitive, nondifferentiable
from ..core.trace import UFUNC_HANDLERS
from ..errors import NonDifferentiableArgumentError, UnsupportedFunctionError
from ..primitives import elementwise as ew
from ..primitives._util import dtype_of
from ..primitives.elementwise_extra import ufunc_nary_rule

Partial = Callable[..., Any]


def _like(t, out):
    """t in out's dtype (a tangent flowing from an input of another dtype)."""
    d = dtype_of(out)
    return t if dtype_of(t) == d else ew.convert(t, dtype=d)


def _refuse(name: str, arg: str, why: str) -> Callable:
    def rule(*_a, **_p):
        raise NonDifferentiableArgumentError(
            f"{name} is not differentiable in its argument `{arg}` ({why}). Pass `{arg}` as a constant "
            f"(a plain array, or pullback.stop_gradient({arg})) and differentiate only the other arguments."
        )

    return rule


def elementwise(
    name: str,
    impl: Callable,
    partials: Sequence[Partial | None],
    *,
    nondiff_args: Mapping[int, tuple[str, str]] | None = None,
    doc: str | None = None,
) -> Primitive:
    """A broadcasting elementwise primitive from SciPy's function and its partial derivatives.

    ``partials[i](out, *args)`` is ∂out/∂argᵢ (None: argument i has no derivative anywhere, e.g. a
    sign). ``nondiff_args[i] = (argname, why)`` marks an argument SciPy's function is not
    differentiable in with a closed form (an integer order): differentiating in it raises
    NonDifferentiableArgumentError naming the function and the argument, never a silent zero.
    """
    nondiff_args = dict(nondiff_args or {})
    public = f"pullback.scipy.special.{name}"
    jvps: list = []
    vjps: list = []
    for i, d in enumerate(partials):
        if i in nondiff_args:
            arg, why = nondiff_args[i]
            jvps.append(_refuse(public, arg, why))
            vjps.append(_refuse(public, arg, why))
        elif d is None:
            jvps.append(None)
            vjps.append(None)
        else:
            jvps.append(lambda t, out, *args, d=d: _like(ew.multiply(t, d(out, *args)), out))
            vjps.append(lambda ct, out, *args, d=d, i=i: ew.fit(ew.multiply(ct, d(out, *args)), args[i]))
    prim = Primitive(name, impl, shape=ufunc_nary_rule(impl), jvps=jvps, vjps=vjps, doc=doc)
    prim.batch = broadcasting_rule(prim)
    return prim


def constant(name: str, impl: Callable, doc: str | None = None) -> Primitive:
    """A piecewise-constant elementwise function (gammasgn): its result carries no derivative."""
    prim = nondifferentiable(name, impl, shape=ufunc_nary_rule(impl), doc=doc)
    prim.batch = broadcasting_rule(prim)
    return prim


def _check_ufunc_kwargs(name: str, out=None, where=True, **kwargs) -> None:
    if out is not None and not (isinstance(out, tuple) and all(o is None for o in out)):
        raise UnsupportedFunctionError(f"{name}(..., out=...): output arrays cannot be traced; use the return value.")
    if where is not True:
        raise UnsupportedFunctionError(
            f"{name}(..., where=...): use pullback.numpy.where(mask, {name}(...), fallback) instead."
        )
    for k in ("casting", "order", "subok", "dtype", "signature"):
        if kwargs.pop(k, None) is not None:
            raise UnsupportedFunctionError(f"{name}(..., {k}=...) is not supported; cast the inputs instead.")
    if kwargs:
        raise TypeError(f"{name}() got unsupported keyword arguments {sorted(kwargs)}")


def ufunc(name: str, prim: Primitive, nargs: int, doc: str | None = None) -> Callable:
    """The public function of an elementwise primitive, with a SciPy ufunc's calling convention."""
    bind = prim.bind
    public = f"pullback.scipy.special.{name}"

    def fn(*args, **kwargs):
        if len(args) != nargs:
            raise TypeError(f"{public}() takes {nargs} positional argument{'s' * (nargs > 1)} ({len(args)} given)")
        if kwargs:
            _check_ufunc_kwargs(public, **kwargs)
        return bind(*args)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc or f"Differentiable scipy.special.{name}: {prim.__doc__ or name}."
    return fn


def route_ufunc(scipy_ufunc: Any, fn: Callable) -> None:
    """Make the real SciPy ufunc, applied to a traced value, call fn (through Tracer.__array_ufunc__)."""
    public = f"scipy.special.{getattr(scipy_ufunc, '__name__', '?')}"

    def handle(method, *inputs, **kwargs):
        if method != "__call__":
            raise UnsupportedFunctionError(f"{public}.{method} on a traced value is not supported; call {public}.")
        return fn(*inputs, **kwargs)

    UFUNC_HANDLERS[scipy_ufunc] = handle
