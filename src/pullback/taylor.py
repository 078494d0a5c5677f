"""Taylor mode: propagate truncated Taylor series through a staged function in one pass.

A value x(t) = Σₖ xₖ tᵏ (normalised coefficients, k = 0..K) is pushed through each equation of
``make_graph(f)``: by the standard recurrences where a rule exists, e.g. for y = exp(x)
k yₖ = Σⱼ₌₁ᵏ j xⱼ yₖ₋ⱼ, the Cauchy product for multiply and matmul, per coefficient for linear
primitives; any other primitive (a loop or branch too) falls back to nested jvp of t ↦ prim(x(t))
at t = 0 (correct, at a cost exponential in K). The interface follows JAX's jet: series hold derivatives,
x(t) = x + v₁ t + v₂ t²/2! + ..., and so do the results. The rules are written with pullback
primitives and traced inputs stay traced, so jet works under grad, vmap and jit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .api import jvp
from .core.ir import Var
from .core.trace import Tracer
from .errors import PullbackError
from .jit import make_graph
from .primitives import elementwise as ew
from .primitives.linalg import matmul

__all__ = ["jet", "taylor_derivatives"]


class JetError(PullbackError, ValueError):
    """A jet request with inconsistent primals and series."""


_exp_p, _log_p, _sin_p, _cos_p, _tanh_p = (ew.UNARY[name] for name in ("exp", "log", "sin", "cos", "tanh"))


def _value(x: Any) -> Any:
    """x as a float array, or as it is when traced (jet under grad / vmap / jit)."""
    return x if isinstance(x, Tracer) else np.asarray(x, float)


def _cauchy(a, b, k, op=ew.multiply):
    return sum(op(a[j], b[k - j]) for j in range(k + 1))


def _mul(xs, ys, K):
    return [_cauchy(xs, ys, k) for k in range(K + 1)]


def _div(xs, ys, K):
    q = []
    for k in range(K + 1):
        s = xs[k] - sum(q[j] * ys[k - j] for j in range(k))
        q.append(s / ys[0])
    return q


def _exp(xs, K):
    y = [_exp_p(xs[0])]
    for k in range(1, K + 1):
        y.append(sum(j * xs[j] * y[k - j] for j in range(1, k + 1)) / k)
    return y


def _log(xs, K):
    y = [_log_p(xs[0])]
    for k in range(1, K + 1):
        y.append((xs[k] - sum(j * y[j] * xs[k - j] for j in range(1, k)) / k) / xs[0])
    return y


def _sincos(xs, K):
    s, c = [_sin_p(xs[0])], [_cos_p(xs[0])]
    for k in range(1, K + 1):
        s.append(sum(j * xs[j] * c[k - j] for j in range(1, k + 1)) / k)
        c.append(-sum(j * xs[j] * s[k - j] for j in range(1, k + 1)) / k)
    return s, c


def _tanh(xs, K):
    # y' = (1 - y²) x'  →  k yₖ = Σⱼ j xⱼ zₖ₋ⱼ with z = 1 - y²
    y = [_tanh_p(xs[0])]
    z = [1.0 - y[0] ** 2]
    for k in range(1, K + 1):
        y.append(sum(j * xs[j] * z[k - j] for j in range(1, k + 1)) / k)
        z.append(-_cauchy(y, y, k))
    return y


def _pow(xs, p, K):
    # x y' = p y x'  →  x₀ yₖ = (1/k) Σⱼ₌₁ᵏ (p j − (k − j)) xⱼ yₖ₋ⱼ
    y = [ew.power(xs[0], p)]
    for k in range(1, K + 1):
        y.append(sum((p * j - (k - j)) * xs[j] * y[k - j] for j in range(1, k + 1)) / (k * xs[0]))
    return y


def _sqrt(xs, K):
    return _pow(xs, 0.5, K)


def _unary(fn):
    def rule(ins, consts, K, params):
        return fn(ins[0], K)
    return rule


def _rule_sin(ins, consts, K, params):
    return _sincos(ins[0], K)[0]


def _rule_cos(ins, consts, K, params):
    return _sincos(ins[0], K)[1]


def _rule_power(ins, consts, K, params):
    if consts[1] is not None and consts[0] is None:
        return _pow(ins[0], consts[1], K)
    return None  # a traced exponent: the fallback


_RULES: dict = {
    ew.multiply: lambda ins, consts, K, params: _mul(ins[0], ins[1], K),
    ew.divide: lambda ins, consts, K, params: _div(ins[0], ins[1], K),
    matmul: lambda ins, consts, K, params: [_cauchy(ins[0], ins[1], k, matmul) for k in range(K + 1)],
    ew.UNARY["exp"]: _unary(_exp),
    ew.UNARY["log"]: _unary(_log),
    ew.UNARY["sin"]: _rule_sin,
    ew.UNARY["cos"]: _rule_cos,
    ew.UNARY["tanh"]: _unary(_tanh),
    ew.UNARY["sqrt"]: _unary(_sqrt),
    ew.power: _rule_power,
}


def has_rule(prim: Any) -> bool:
    """Whether jet has a Taylor recurrence for prim (linear primitives go per coefficient; the rest
    fall back to nested jvp)."""
    return prim in _RULES


def _fallback(prim, series, consts, K, params):
    """Coefficients of t ↦ prim(x(t)) by nested jvp at t = 0 (the k-th derivative over k!)."""
    def h(t):
        args = [c[0] if const is not None else c[0] + sum(c[k] * t ** k for k in range(1, K + 1))
                for c, const in zip(series, consts)]
        return prim.bind(*args, **params)

    out, d = [h(0.0)], h
    for _ in range(K):
        d = (lambda g: lambda t: jvp(g, (t,), (1.0,))[1])(d)
        out.append(d(0.0))
    if prim.multiple_results:  # per output, its coefficients (a loop or branch: several outputs)
        return [[_value(o[j]) / math.factorial(k) for k, o in enumerate(out)] for j in range(len(out[0]))]
    return [_value(o) / math.factorial(k) for k, o in enumerate(out)]


def _apply(prim, series, consts, K, params):
    series = [c if len(c) > 1 else c + [np.zeros(np.shape(c[0]))] * K for c in series]  # constants: zero terms
    rule = _RULES.get(prim)
    if rule is not None:
        res = rule(series, consts, K, params)
        if res is not None:
            return res
    if prim.linear and not prim.multiple_results:
        return [prim.bind(*[c[k] for c in series], **params) for k in range(K + 1)]
    if not prim.differentiable:
        out0 = prim.bind(*[c[0] for c in series], **params)
        return [out0] + [np.zeros(np.shape(out0)) for _ in range(K)]
    return _fallback(prim, series, consts, K, params)


def jet(fun: Callable, primals: Sequence, series: Sequence) -> tuple:
    """Taylor-mode derivatives of fun along input curves, in one pass (as JAX's jet).

    The inputs follow xᵢ(t) = primalsᵢ + Σₖ series[i][k-1] tᵏ/k!; the result holds fun(x(0)) and the
    derivatives dᵏ/dtᵏ fun(x(t)) at 0, k = 1..K. Rules: linear primitives per coefficient;
    multiply, divide, matmul by Cauchy products; exp, log, sin, cos, tanh, sqrt and power with a
    constant exponent by recurrences; other primitives fall back to nested jvp (correct, slower).

    Parameters
    ----------
    fun : callable
        A function of arrays returning one array.
    primals : sequence of arrays
        The expansion point (concrete arrays).
    series : sequence of lists of arrays
        Per primal, the K derivative terms of its curve.

    Returns
    -------
    tuple
        ``(out, [d1, ..., dK])``.

    Raises
    ------
    JetError
        Mismatched primals and series.

    Examples
    --------
    >>> import numpy as onp, pullback as pb, pullback.numpy as np
    >>> out, (d1, d2) = pb.jet(np.exp, (onp.array(0.0),), ([onp.array(1.0), onp.array(0.0)],))
    >>> float(out), float(d1), float(d2)
    (1.0, 1.0, 1.0)
    """
    primals, series = list(primals), [list(s) for s in series]
    if len(primals) != len(series):
        raise JetError(f"jet: {len(primals)} primals but {len(series)} series; give one list of terms per primal")
    K = len(series[0]) if series else 0
    if any(len(s) != K for s in series):
        raise JetError("jet: every series must have the same number of terms (the order K)")
    graph = make_graph(fun, *primals)
    if len(graph.outs) != 1 or len(graph.in_vars) != len(primals):
        raise JetError("jet takes array arguments and one array output")
    env: dict = {}
    for v, x, s in zip(graph.in_vars, primals, series):
        env[v] = [_value(x)] + [_value(t) / math.factorial(k + 1) for k, t in enumerate(s)]

    def read(a):
        return env[a] if isinstance(a, Var) else [a.value]

    for e in graph.eqns:
        ins = [read(a) for a in e.ins]
        if all(len(c) == 1 for c in ins):
            out = e.prim.bind(*[c[0] for c in ins], **e.params)
            outs = list(out) if e.prim.multiple_results else [out]
            for o, val in zip(e.outs, outs):
                env[o] = [val]
            continue
        consts = [c[0] if len(c) == 1 else None for c in ins]
        if e.prim.multiple_results:  # (loops, branches) by nested jvp
            series_in = [c if len(c) > 1 else c + [np.zeros(np.shape(c[0]))] * K for c in ins]
            env.update(zip(e.outs, _fallback(e.prim, series_in, consts, K, e.params)))
            continue
        env[e.outs[0]] = _apply(e.prim, ins, consts, K, e.params)
    res = read(graph.outs[0])
    coefs = res + [np.zeros(np.shape(res[0]))] * (K + 1 - len(res))
    return coefs[0], [coefs[k] * math.factorial(k) for k in range(1, K + 1)]


def taylor_derivatives(fun: Callable, x: Any, v: Any, order: int) -> list:
    """The first K directional derivatives dᵏ/dtᵏ f(x + t v) at t = 0, by one jet pass.

    Parameters
    ----------
    fun : callable
        A function of one array returning one array.
    x, v : arrays
        The point and the direction.
    order : int
        K, the highest derivative.

    Returns
    -------
    list of arrays
        The K derivatives, lowest first.

    Examples
    --------
    >>> import numpy as onp, pullback as pb, pullback.numpy as np
    >>> [float(d) for d in pb.taylor_derivatives(np.sin, onp.array(0.0), onp.array(1.0), order=4)]
    [1.0, 0.0, -1.0, 0.0]
    """
    zero = np.zeros(np.shape(v))
    _, derivs = jet(fun, (x,), ([v] + [zero] * (order - 1),))
    return derivs
