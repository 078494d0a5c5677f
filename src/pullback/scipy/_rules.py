"""The one place pullback.scipy builds its primitives.

Every elementwise SciPy function is made by :func:`elementwise` from its implementation (SciPy's
own function, so values are SciPy's) and its partial derivatives ∂out/∂argᵢ written with pullback
operations, so the rules differentiate again, to any order. The primitives are made with
``pullback.extend`` (the public extension API), with the traits the simplifier uses (elementwise,
broadcasting); reverse mode unbroadcasts centrally, so the reverse rules are ct·∂out/∂argᵢ as
they stand.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as _np

from ..errors import NonDifferentiableArgumentError
from ..extend import Primitive, Tracer, UnsupportedFunctionError, broadcasting_rule, def_ufunc, dtype_of
from ..primitives import elementwise as ew
from ..primitives.elementwise_extra import ufunc_nary_rule

_TRAITS = {"elementwise": True, "broadcasting": True}  # f(broadcast_to(x)) = broadcast_to(f(x)); implicit broadcasts

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

    ``partials[i](out, *args, **params)`` is ∂out/∂argᵢ (params: static keywords such as an order;
    None: argument i has no derivative anywhere, e.g. a sign). ``nondiff_args[i] = (argname, why)``
    marks an argument SciPy's function is not differentiable in with a closed form (an integer
    order): differentiating in it raises
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
            jvps.append(lambda t, out, *args, _d=d, **p: _like(ew.multiply(t, _d(out, *args, **p)), out))
            vjps.append(lambda ct, out, *args, _d=d, **p: ew.multiply(ct, _d(out, *args, **p)))
    prim = Primitive(name, impl, shape=ufunc_nary_rule(impl), jvps=jvps, vjps=vjps, doc=doc, stem=name, **_TRAITS)
    prim.batch = broadcasting_rule(prim)
    return prim


def constant(name: str, impl: Callable, doc: str | None = None) -> Primitive:
    """A piecewise-constant elementwise function (gammasgn): its result carries no derivative."""
    prim = Primitive(name, impl, shape=ufunc_nary_rule(impl), differentiable=False, doc=doc, stem=name, **_TRAITS)
    prim.batch = broadcasting_rule(prim)
    return prim


_REFUSALS: dict[tuple[str, str], Primitive] = {}


def refusal(x: Any, where: str, arg: str, why: str) -> Any:
    """Zeros shaped like x, whose derivative in x raises NonDifferentiableArgumentError naming `where`
    and `arg`. A composition that uses stop(x) adds refusal(x, ...) to its result, so that
    differentiating it in x fails with its own name, in forward and reverse mode alike."""
    prim = _REFUSALS.get((where, arg))
    if prim is None:
        rule = _refuse(where, arg, why)

        def zeros(v):
            return _np.zeros(_np.shape(v), _np.result_type(v, _np.float64))

        prim = Primitive(f"refused_{arg}", zeros, shape=ufunc_nary_rule(zeros), jvps=[rule], vjps=[rule],
                         doc=f"zeros; {where} has no derivative in `{arg}`", stem="refused", **_TRAITS)
        prim.batch = broadcasting_rule(prim)
        _REFUSALS[(where, arg)] = prim
    return prim(x)


def stop(x: Any) -> Any:
    """x as a constant to every transformation (plain values pass through)."""
    return ew.stop_gradient(x) if isinstance(x, Tracer) else x


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
    def_ufunc(scipy_ufunc, fn, public_name=f"scipy.special.{getattr(scipy_ufunc, '__name__', '?')}")
