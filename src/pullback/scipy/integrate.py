"""pullback.scipy.integrate: odeint and solve_ivp differentiated by the adjoint method; quadrature rules.

For dy/dt = f(y, t, θ) with outputs y_i = y(t_i) and a cotangent g_i for each, the
vector-Jacobian product is one backward solve of the augmented system

    d/dt [y, a, b] = [f(y, t, θ), −aᵀ ∂f/∂y, −aᵀ ∂f/∂θ]

from t_{N−1} down to t_0, interval by interval, starting from a = g_{N−1}, b = 0; at each
output time the state is reset to the stored y_i and the jump g_i is added to a. Then
ȳ₀ = a(t₀), θ̄ = b(t₀), t̄_i = g_iᵀ f(y_i, t_i) (i ≥ 1) and t̄₀ = −(a(t₀) − g₀)ᵀ f(y₀, t₀).
Every backward interval is solved by SciPy's own solver (the one of the forward solve,
same tolerances); the products aᵀ∂f/∂y and aᵀ∂f/∂θ come from pullback.vjp of `func`.

Memory: only the N output values are kept. The backward pass re-integrates the state
backwards together with the adjoint (as JAX's odeint does) instead of storing a dense-output
interpolant, whose size grows with the number of solver steps; re-integration costs one
more state solve and can lose accuracy on strongly contracting (stiff) problems, which the
reset to the stored y_i at every output time limits.

Forward mode is the transpose of this rule (pullback transposes custom_vjp rules), and the
backward solve is itself a differentiable odeint call, so derivatives of any order work:
grad-of-grad solves the augmented system of the augmented system.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.integrate as _si

from .. import numpy as pnp
from ..api import vjp
from ..custom import custom_vjp
from ..errors import PullbackError, TracerConversionError, UnsupportedFunctionError
from ..jit import jit
from ._args import as_args_tuple, split_args

__all__ = ["cumulative_trapezoid", "odeint", "simpson", "solve_ivp", "trapezoid"]

_IVP_METHODS = ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")


class ODESolveError(PullbackError, RuntimeError):
    """SciPy's solver failed on a forward or backward (adjoint) solve."""


class _Problem:
    """One ODE problem as the core sees it: a flat right-hand side rhs(y, t, *params) and a solver.

    `solver` is "odeint" (LSODA through scipy.integrate.odeint) or a solve_ivp method name;
    `free_times` marks a solve_ivp call without t_eval (the solver's own steps are the outputs).
    """

    def __init__(self, rhs: Callable, n: int, solver: str, rtol, atol, options: dict, free_times: bool = False):
        self.rhs, self.n, self.solver = rhs, n, solver
        self.rtol, self.atol, self.options = rtol, atol, options
        self.free_times = free_times
        self.info: Any = None  # the last bottom-level SciPy result (infodict / OdeResult)
        self.times: Any = None  # the output times of the last bottom-level solve
        self.carry_step = False  # backward solves: start each interval with the last step size
        self.h_next: float | None = None
        self.stage = False  # run rhs through pullback.jit (pays off for the many backward evaluations)
        self._fast: Callable | None = None

    def callback(self, params: list) -> Callable:
        """rhs(y, t, *params) as the NumPy function SciPy calls: staged once with pullback.jit
        (generated NumPy code, no tracing per call) when func can be staged, else run eagerly."""
        def f(y, t):
            if self._fast is None:
                self._fast = _stage(self.rhs, y, t, params) if self.stage else self.rhs
            dy = self._fast(y, t, *params)
            try:
                return np.asarray(dy, dtype=float).ravel()
            except TracerConversionError as e:
                raise UnsupportedFunctionError(
                    "the right-hand side of pullback.scipy.integrate.odeint/solve_ivp returned a traced value "
                    "although its state and args were concrete: it closes over a variable being differentiated. "
                    "Pass that variable through args=(...) so that its derivative is computed (adjoint method)."
                ) from e

        return f

    def augmented(self, n_params: int) -> _Problem:
        """The adjoint system [y, a, b] of this problem, solved with the same solver and tolerances."""
        rhs, n = self.rhs, self.n

        def aug_rhs(z, t, *params):
            y, a = z[:n], z[n:2 * n]
            fy, pull = vjp(lambda y_, *p_: rhs(y_, t, *p_), y, *params)
            bars = pull(a)
            return pnp.concatenate([fy, -bars[0]] + [-pnp.ravel(b) for b in bars[1:]])

        atol = self.atol
        if atol is not None and np.ndim(atol) > 0:
            atol = float(np.min(atol))
        aug = _Problem(aug_rhs, 2 * n + n_params, self.solver, self.rtol, atol, self.options)
        aug.carry_step = aug.stage = True
        return aug


def _stage(rhs: Callable, y, t, params: list) -> Callable:
    """rhs staged once by pullback.jit (its generated NumPy code), if it stages and agrees with the
    eager rhs at the first point SciPy asks for; the eager rhs otherwise (value-dependent control
    flow, operations jit cannot stage ...)."""
    staged = jit(rhs)
    try:
        ok = np.allclose(np.asarray(staged(y, t, *params)), np.asarray(rhs(y, t, *params)),
                         rtol=1e-13, atol=0.0, equal_nan=True)
    except Exception:  # noqa: BLE001 - any failure to stage means: run eagerly
        ok = False
    if not ok:
        return rhs
    entries = list(getattr(staged, "cache", {}).values())
    if len(entries) == 1 and callable(entries[0][1]):
        compiled = entries[0][1]  # the generated function: skip jit's per-call cache lookup
        return lambda y_, t_, *p: compiled(y_, t_, *p)[0]
    return staged


def _concrete(x: Any, who: str) -> np.ndarray:
    try:
        return np.asarray(x, dtype=float)
    except TracerConversionError as e:
        raise UnsupportedFunctionError(
            f"{who} runs SciPy's solver on concrete arrays and cannot be staged by pullback.jit; "
            "call it outside jit (grad, jvp, vjp and vmap work)."
        ) from e


def _solve_bottom(prob: _Problem, y0, ts, *params) -> np.ndarray:
    """The plain SciPy solve: outputs y(ts) as an (N, n) array (or at the solver's steps when free_times)."""
    y0 = _concrete(y0, "pullback.scipy.integrate")
    ts = _concrete(ts, "pullback.scipy.integrate")
    params = [_concrete(p, "pullback.scipy.integrate") for p in params]
    f = prob.callback(params)
    if len(ts) == 1 and not prob.free_times:
        prob.times = ts
        return y0[None].copy()
    options = dict(prob.options)
    if prob.solver == "odeint":
        if prob.h_next is not None:
            options["h0"] = prob.h_next
        out = _si.odeint(f, y0, ts, rtol=prob.rtol, atol=prob.atol, full_output=True, **options)
        ys, prob.info = out[0], out[1]
        if prob.info.get("message") != "Integration successful.":
            raise ODESolveError(f"scipy.integrate.odeint failed: {prob.info.get('message')}")
        if prob.carry_step:
            prob.h_next = float(prob.info["hu"][-1])
        return ys
    kw = {} if prob.atol is None else {"atol": prob.atol}
    if prob.rtol is not None:
        kw["rtol"] = prob.rtol
    if prob.h_next is not None:
        options["first_step"] = prob.h_next
    ends_only = prob.carry_step and len(ts) == 2
    t_eval = None if prob.free_times or ends_only else ts
    sol = _si.solve_ivp(lambda t, y: f(y, t), (ts[0], ts[-1]), y0, method=prob.solver, t_eval=t_eval,
                        **kw, **options)
    prob.info = sol
    if sol.status < 0:
        raise ODESolveError(f"scipy.integrate.solve_ivp ({prob.solver}) failed: {sol.message}")
    if ends_only:
        if len(sol.t) > 1:
            prob.h_next = float(abs(sol.t[-1] - sol.t[-2]))
        return np.ascontiguousarray(sol.y[:, [0, -1]].T)
    prob.times = sol.t
    return np.ascontiguousarray(sol.y.T)


def _solve_fwd(prob: _Problem, y0, ts, *params):
    ys = _solve(prob, y0, ts, *params)
    times = prob.times if prob.free_times else ts
    return ys, (ys, times, params)


def _solve_bwd(prob: _Problem, res, g):
    ys, times, params = res
    n, N = prob.n, ys.shape[0]
    sizes = [int(np.size(p)) for p in params]
    aug = prob.augmented(sum(sizes))
    a = g[N - 1]
    b = pnp.zeros(sum(sizes))
    zero_rows = _zero_rows(g)
    t_bar = [None] * N
    cur = N - 1  # the last time the backward solve stopped at
    for i in range(N - 1, 0, -1):
        t_bar[i] = pnp.zeros(()) if zero_rows[i] else pnp.sum(g[i] * prob.rhs(ys[i], times[i], *params))
        if zero_rows[i - 1] and i - 1 > 0:
            continue  # no jump at t_{i-1}: integrate on through it
        if not _same_time(times[cur], times[i - 1]):
            z0 = pnp.concatenate([ys[cur], a, b])
            z = _solve(aug, z0, pnp.stack([times[cur], times[i - 1]]), *params)[1]
            a, b = z[n:2 * n], z[2 * n:]
        a = a + g[i - 1]
        cur = i - 1
    t_bar[0] = -pnp.sum((a - g[0]) * prob.rhs(ys[0], times[0], *params))
    p_bars, k = [], 0
    for p, s in zip(params, sizes):
        p_bars.append(pnp.reshape(b[k:k + s], np.shape(p)))
        k += s
    ts_bar = pnp.stack([t_bar[0], t_bar[-1]]) if prob.free_times else pnp.stack(t_bar)
    return (a, ts_bar, *p_bars)


def _zero_rows(g) -> list[bool]:
    """Which output cotangents are known to be zero (concrete arrays only): no jump, no stop there."""
    if isinstance(g, np.ndarray):
        return list(~np.any(g.reshape(g.shape[0], -1) != 0, axis=1))
    return [False] * g.shape[0]


def _same_time(t1, t0) -> bool:
    try:
        return float(t1) == float(t0)
    except (TypeError, TracerConversionError):
        return False


_solve = custom_vjp(_solve_bottom, nondiff_argnums=(0,))
_solve.defvjp(_solve_fwd, _solve_bwd)


def _flat_rhs(func: Callable, shape: tuple, static_rebuild: Callable, tfirst: bool) -> Callable:
    """The user's func as rhs(y_flat, t, *float_args) -> flat dy/dt."""

    def rhs(y, t, *params):
        y_ = pnp.reshape(y, shape)
        args = static_rebuild(list(params))
        dy = func(t, y_, *args) if tfirst else func(y_, t, *args)
        return pnp.ravel(pnp.asarray(dy)) if not hasattr(dy, "shape") or dy.ndim != 1 else dy

    return rhs


# ----------------------------------------------------------------------------- odeint


def odeint(func: Callable, y0: Any, t: Any, args: Any = (), Dfun: Any = None, col_deriv: int = 0,
           full_output: bool = False, ml=None, mu=None, rtol: float | None = None, atol: float | None = None,
           tcrit=None, h0: float = 0.0, hmax: float = 0.0, hmin: float = 0.0, ixpr: int = 0, mxstep: int = 0,
           mxhnil: int = 0, mxordn: int = 12, mxords: int = 5, printmessg: int = 0, tfirst: bool = False):
    """scipy.integrate.odeint, differentiable in y0, t and the float leaves of args (adjoint method).

    Returns y(t) with shape (len(t), len(y0)); with full_output, (y, infodict) as SciPy does.
    `func(y, t, *args)` (or `func(t, y, *args)` with tfirst) must use pullback.numpy operations.
    """
    if Dfun is not None:
        raise UnsupportedFunctionError(
            "pullback.scipy.integrate.odeint: Dfun is not supported (the adjoint needs func's vector-Jacobian "
            "products, which pullback computes itself); drop Dfun."
        )
    args = as_args_tuple(args)
    params, rebuild = split_args(args)
    y0 = pnp.asarray(y0)
    if not _float_kind(y0):
        y0 = pnp.asarray(y0, dtype=float)
    shape = tuple(np.shape(y0)) or (1,)
    t = pnp.asarray(t, dtype=float) if not _float_kind(pnp.asarray(t)) else pnp.asarray(t)
    if np.ndim(t) != 1:
        raise ValueError("odeint: t must be a 1-D sequence of times")
    options = {k: v for k, v in dict(ml=ml, mu=mu, tcrit=tcrit, h0=h0, hmax=hmax, hmin=hmin, ixpr=ixpr,
                                     mxstep=mxstep, mxhnil=mxhnil, mxordn=mxordn, mxords=mxords,
                                     printmessg=printmessg, col_deriv=col_deriv).items() if v is not None}
    if tcrit is not None:
        options["tcrit"] = tcrit
    n = int(np.prod(shape))
    prob = _Problem(_flat_rhs(func, shape, rebuild, tfirst), n, "odeint", rtol, atol, options)
    ys = _solve(prob, pnp.ravel(y0), t, *params)
    if full_output:
        return ys, prob.info
    return ys


def _float_kind(x: Any) -> bool:
    return np.dtype(getattr(x, "dtype", np.float64)).kind == "f"


# ----------------------------------------------------------------------------- solve_ivp


class OdeResult(dict):
    """solve_ivp's result (attribute access like scipy's OdeResult); .y is differentiable."""

    __getattr__ = dict.__getitem__

    def __repr__(self) -> str:
        return "OdeResult(" + ", ".join(f"{k}={v!r}" for k, v in self.items() if k != "y") + ", y=...)"


def solve_ivp(fun: Callable, t_span: Sequence, y0: Any, method: str = "RK45", t_eval: Any = None,
              dense_output: bool = False, events: Any = None, vectorized: bool = False, args: Any = None,
              **options: Any) -> OdeResult:
    """scipy.integrate.solve_ivp, with .y differentiable in y0, t_span, t_eval and float leaves of args.

    With t_eval the outputs are y(t_eval) (differentiable in t_eval, and in t_span[0] when it is
    the initial time); without it the outputs are at the solver's steps, and derivatives flow to
    t_span[0] and t_span[1] through the first and last output (the interior step times are the
    solver's choice and are held fixed). `vectorized` is accepted and not needed.
    """
    if not isinstance(method, str) or method not in _IVP_METHODS:
        raise UnsupportedFunctionError(
            f"pullback.scipy.integrate.solve_ivp: method={method!r} is not supported; use one of {_IVP_METHODS}."
        )
    if dense_output:
        raise UnsupportedFunctionError(
            "pullback.scipy.integrate.solve_ivp: dense_output=True is not differentiable; pass the times you "
            "need as t_eval instead."
        )
    if events is not None:
        raise UnsupportedFunctionError(
            "pullback.scipy.integrate.solve_ivp: events are not supported (event times depend on the "
            "solution non-smoothly); integrate to fixed times with t_eval instead."
        )
    args = () if args is None else as_args_tuple(args)
    params, rebuild = split_args(args)
    y0 = pnp.asarray(y0)
    if not _float_kind(y0):
        y0 = pnp.asarray(y0, dtype=float)
    if np.ndim(y0) != 1:
        raise ValueError("solve_ivp: y0 must be 1-dimensional")
    t0, t1 = t_span
    rtol, atol = options.pop("rtol", None), options.pop("atol", None)
    n = int(np.shape(y0)[0])
    rhs = _flat_rhs(fun, (n,), rebuild, tfirst=True)
    if t_eval is None:
        prob = _Problem(rhs, n, method, rtol, atol, options, free_times=True)
        ys = _solve(prob, y0, pnp.stack([pnp.asarray(t0, dtype=float), pnp.asarray(t1, dtype=float)]), *params)
        t_out = prob.times
    else:
        t_eval = pnp.asarray(t_eval, dtype=float) if not _float_kind(pnp.asarray(t_eval)) else pnp.asarray(t_eval)
        prob = _Problem(rhs, n, method, rtol, atol, options)
        start = pnp.reshape(pnp.asarray(t0, dtype=float), (1,))
        ys = _solve(prob, y0, pnp.concatenate([start, t_eval]), *params)[1:]
        t_out = t_eval
    info = prob.info
    return OdeResult(t=t_out, y=pnp.transpose(ys), sol=None, t_events=None, y_events=None,
                     nfev=info.nfev, njev=info.njev, nlu=info.nlu, status=info.status, message=info.message,
                     success=info.success)


# ----------------------------------------------------------------------------- quadrature


def _shape_x(x, y, axis: int):
    """x broadcast against y's integration axis (a 1-D x lies along axis)."""
    if np.ndim(x) == 1:
        shape = [1] * np.ndim(y)
        shape[axis] = np.shape(x)[0]
        return pnp.reshape(x, tuple(shape))
    return x


def _take(a, start, stop, axis: int):
    idx = [slice(None)] * np.ndim(a)
    idx[axis] = slice(start, stop)
    return a[tuple(idx)]


def trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1):
    """∫ y dx by the trapezoidal rule: Σ_i (x_{i+1} − x_i)(y_i + y_{i+1})/2 along axis."""
    y = pnp.asarray(y)
    axis = axis % max(np.ndim(y), 1)
    return _trapezoid_along(y, None if x is None else _shape_x(pnp.asarray(x), y, axis), dx, axis)


def cumulative_trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1, initial: Any = None):
    """The running trapezoidal integral along axis (length n−1, or n with initial=0)."""
    y = pnp.asarray(y)
    axis = axis % max(np.ndim(y), 1)
    avg = (_take(y, 1, None, axis) + _take(y, None, -1, axis)) / 2.0
    if x is None:
        pieces = avg * dx
    else:
        x = _shape_x(pnp.asarray(x), y, axis)
        pieces = (_take(x, 1, None, axis) - _take(x, None, -1, axis)) * avg
    out = pnp.cumsum(pieces, axis=axis)
    if initial is not None:
        if np.ndim(initial) != 0 or float(initial) != 0.0:
            raise ValueError("cumulative_trapezoid: `initial` must be 0 or None (as in SciPy ≥ 1.12)")
        shape = list(np.shape(out))
        shape[axis] = 1
        out = pnp.concatenate([pnp.zeros(tuple(shape), dtype=out.dtype), out], axis=axis)
    return out


def simpson(y: Any, *, x: Any = None, dx: float = 1.0, axis: int = -1):
    """Composite Simpson's rule along axis, differentiable in y and x.

    SciPy ≥ 1.11 semantics: pairs of intervals (h₀, h₁) integrate the quadratic through three
    samples; with an even number of samples the last interval gets Cartwright's correction
    αy_{N−1} + βy_{N−2} − ηy_{N−3}; two samples give the trapezoid.
    """
    y = pnp.asarray(y)
    axis = axis % max(np.ndim(y), 1)
    N = np.shape(y)[axis]
    if x is not None:
        x = _shape_x(pnp.asarray(x), y, axis)
        if np.ndim(x) != np.ndim(y):
            raise ValueError("simpson: x must be 1-D or have the same number of dimensions as y")
        if np.shape(x)[axis] != N:
            raise ValueError("simpson: x and y must have the same length along axis")
    if N == 2:
        return _trapezoid_along(y, x, dx, axis)
    last = N if N % 2 == 1 else N - 1
    result = _simpson_odd(_take(y, 0, last, axis), None if x is None else _take(x, 0, last, axis), dx, axis)
    if N % 2 == 0:
        y1, y2, y3 = (pnp.sum(_take(y, k, N + k + 1, axis), axis=axis) for k in (-3, -2, -1))
        if x is None:
            h1 = h2 = dx
        else:
            x1, x2, x3 = (pnp.sum(_take(x, k, N + k + 1, axis), axis=axis) for k in (-3, -2, -1))
            h1, h2 = x2 - x1, x3 - x2
        alpha = (2 * h2 * h2 + 3 * h1 * h2) / (6 * (h1 + h2))
        beta = (h2 * h2 + 3 * h1 * h2) / (6 * h1)
        eta = (h2 * h2 * h2) / (6 * h1 * (h1 + h2))
        result = result + alpha * y3 + beta * y2 - eta * y1
    return result


def _trapezoid_along(y, x, dx, axis: int):
    avg = (_take(y, 1, None, axis) + _take(y, None, -1, axis)) / 2.0
    if x is None:
        return pnp.sum(avg, axis=axis) * dx
    return pnp.sum((_take(x, 1, None, axis) - _take(x, None, -1, axis)) * avg, axis=axis)


def _simpson_odd(y, x, dx, axis: int):
    """Simpson over an odd number of samples: Σ over pairs of intervals of the quadratic's integral."""
    y0, y1, y2 = (_take(y, k, np.shape(y)[axis] - 2 + k, axis)[_every(y, axis)] for k in (0, 1, 2))
    if x is None:
        return pnp.sum(y0 + 4 * y1 + y2, axis=axis) * (dx / 3.0)
    x0, x1, x2 = (_take(x, k, np.shape(x)[axis] - 2 + k, axis)[_every(x, axis)] for k in (0, 1, 2))
    h0, h1 = x1 - x0, x2 - x1
    hsum, hprod, hq = h0 + h1, h0 * h1, h0 / h1
    tmp = hsum / 6.0 * (y0 * (2.0 - 1.0 / hq) + y1 * (hsum * hsum / hprod) + y2 * (2.0 - hq))
    return pnp.sum(tmp, axis=axis)


def _every(a, axis: int) -> tuple:
    idx = [slice(None)] * np.ndim(a)
    idx[axis] = slice(None, None, 2)
    return tuple(idx)
