"""pullback.scipy.integrate: odeint and solve_ivp differentiated by the adjoint method; quadrature rules.

For dy/dt = f(y, t, θ) with outputs y_i = y(t_i) and a cotangent g_i for each, the
vector-Jacobian product is one backward solve of the augmented system

    d/dt [y, a, b] = [f(y, t, θ), −aᵀ ∂f/∂y, −aᵀ ∂f/∂θ]

from t_{N−1} down to t_0, interval by interval, starting from a = g_{N−1}, b = 0; at each
output time the state is reset to the stored y_i and the jump g_i is added to a. Then
ȳ₀ = a(t₀), θ̄ = b(t₀), t̄_i = g_iᵀ f(y_i, t_i) (i ≥ 1) and t̄₀ = −(a(t₀) − g₀)ᵀ f(y₀, t₀).
First-order gradients on concrete values of a non-stiff problem take one continuous backward
solve (_ColumnAdjoint: DOP853 steps that do not stop at every output time; a jump inside a step
rides in its own column of the same batched, staged vjp evaluations, as the adjoint is linear).
Those staged functions are cached by func (its code, the objects in its closure, its globals and
defaults) and the static arguments, so a later gradient call of the same func re-traces nothing.
Otherwise every backward interval is solved by SciPy (the forward's solve_ivp method; for odeint,
RK45 while LSODA stayed non-stiff, LSODA otherwise), same tolerances; the products aᵀ∂f/∂y and
aᵀ∂f/∂θ come from pullback.vjp of `func`.

Memory: only the N output values are kept. The backward pass re-integrates the state
backwards together with the adjoint (as JAX's odeint does) instead of storing a dense-output
interpolant, whose size grows with the number of solver steps; re-integration costs one
more state solve, and is unstable on stiff problems: there (odeint whose LSODA switched to
BDF; solve_ivp with Radau, BDF, LSODA), on concrete values, each interval is re-solved forwards
from its stored start with a dense interpolant and only (a, b) go backwards along it.

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
from ..implicit import concrete
from ..jit import jit
from ..vmap import vmap
from ._args import as_args_tuple, function_key, split_args, static_key

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
        self.keep_info = False  # odeint(full_output=True): keep SciPy's infodict
        self.stiff: bool | None = None  # odeint: whether LSODA switched to its stiff method (BDF)
        self.stage = False  # run rhs through pullback.jit (pays off for the many backward evaluations)
        self._fast: Callable | None = None
        self.cache_key: tuple | None = None  # equal keys: the same rhs up to its float params (_rhs_key)

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

    def is_stiff(self) -> bool:
        """odeint whose LSODA switched to BDF, or solve_ivp with an implicit method (Radau, BDF, LSODA)."""
        return bool(self.stiff) if self.solver == "odeint" else self.solver in ("Radau", "BDF", "LSODA")

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
        solver, options = self.solver, self.options
        if solver == "odeint" and self.stiff is False:
            # LSODA stayed with Adams (non-stiff) all along: restarting at every output time is
            # cheaper for a one-step method (≈12 evaluations per interval against LSODA's ≈25,
            # which restarts at order 1), so the backward solves use solve_ivp's RK45.
            solver = "RK45"
            options = {"max_step": options["hmax"]} if options.get("hmax") else {}
        aug = _Problem(aug_rhs, 2 * n + n_params, solver, self.rtol, atol, options)
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
    return staged if ok else rhs  # (jit's fast call path costs about a microsecond)


def _solve_bottom(prob: _Problem, y0, ts, *params) -> np.ndarray:
    """The plain SciPy solve: outputs y(ts) as an (N, n) array (or at the solver's steps when free_times)."""
    y0 = concrete(y0, "pullback.scipy.integrate", solver="SciPy's solver")
    ts = concrete(ts, "pullback.scipy.integrate", solver="SciPy's solver")
    params = [concrete(p, "pullback.scipy.integrate", solver="SciPy's solver") for p in params]
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
        prob.stiff = bool(np.any(prob.info["mused"] == 2))
        if not prob.keep_info:
            prob.info = None  # N entries per field: not kept alive through the backward pass
        return ys
    kw = {} if prob.atol is None else {"atol": prob.atol}
    if prob.rtol is not None:
        kw["rtol"] = prob.rtol
    if prob.carry_step and len(ts) == 2:
        return _endpoint_solve(prob, f, ts, y0, kw, options)
    distinct = None
    t_eval = None
    if not prob.free_times:  # SciPy wants strictly monotonic t_eval: repeated times (t_eval[0] == t0) solve once
        ts_arr = np.asarray(ts, dtype=float)
        distinct = np.concatenate([[True], np.diff(ts_arr) != 0])
        t_eval = ts_arr[distinct]
    sol = _si.solve_ivp(lambda t, y: f(y, t), (ts[0], ts[-1]), y0, method=prob.solver, t_eval=t_eval,
                        **kw, **options)
    prob.info = {k: sol[k] for k in ("nfev", "njev", "nlu", "status", "message", "success")}  # not sol.y
    if sol.status < 0:
        raise ODESolveError(f"scipy.integrate.solve_ivp ({prob.solver}) failed: {sol.message}")
    prob.times = sol.t
    ys = np.ascontiguousarray(sol.y.T)
    return ys if distinct is None or distinct.all() else ys[np.cumsum(distinct) - 1]


def _endpoint_solve(prob: _Problem, f: Callable, ts, y0, kw: dict, options: dict) -> np.ndarray:
    """One backward interval with SciPy's OdeSolver class stepped to the end: no step is stored
    (solve_ivp without t_eval keeps them all), and the last step size starts the next interval."""
    if prob.h_next is not None:
        options = dict(options, first_step=min(prob.h_next, abs(ts[-1] - ts[0])))
    solver = getattr(_si, prob.solver)(lambda t, y: f(y, t), ts[0], y0, ts[-1], **kw, **options)
    largest = 0.0  # the last step is clipped to the interval's end: carry the largest one taken
    while solver.status == "running":
        message = solver.step()
        if solver.status == "failed":
            raise ODESolveError(f"the adjoint solve ({prob.solver}) failed: {message}")
        largest = max(largest, float(solver.step_size or 0.0))
    if largest > 0:
        prob.h_next = largest
    return np.stack([y0, solver.y])


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
    concrete = all(isinstance(v, np.ndarray) for v in (g, ys, times)) and all(
        isinstance(p, (np.ndarray, np.generic, float)) for p in params)
    t_bar = np.zeros(N) if concrete else [pnp.zeros(())] * N  # an array: 8 bytes per output time
    # Stiff problems: integrating the state backwards is unstable, so each interval is re-solved
    # forwards from its stored start with a dense interpolant and only (a, b) go backwards. Only on
    # concrete values: the interpolant carries no derivatives, and higher orders need them.
    if concrete and not prob.is_stiff():
        fast = _continuous_adjoint(prob, ys, times, g, params, zero_rows)
        if fast is not None:
            a, t_bar, b = fast
            p_bars, k = [], 0
            for p, s in zip(params, sizes):
                p_bars.append(np.reshape(b[k:k + s], np.shape(p)))
                k += s
            return (a, np.stack([t_bar[0], t_bar[-1]]) if prob.free_times else t_bar, *p_bars)
    dense = _DenseAdjoint(prob, params) if concrete and prob.is_stiff() else None
    cur = N - 1  # the last time the backward solve stopped at
    for i in range(N - 1, 0, -1):
        if not zero_rows[i]:
            t_bar[i] = pnp.sum(g[i] * prob.rhs(ys[i], times[i], *params))
        if zero_rows[i - 1] and i - 1 > 0:
            continue  # no jump at t_{i-1}: integrate on through it
        if not _same_time(times[cur], times[i - 1]):
            if dense:
                a, b = _dense_interval(prob, dense, ys[i - 1], times[i - 1], times[cur], a, b, params)
            else:
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
    if prob.free_times:
        ts_bar = pnp.stack([t_bar[0], t_bar[-1]])
    else:
        ts_bar = t_bar if concrete else pnp.stack(t_bar)
    return (a, ts_bar, *p_bars)


class _DenseAdjoint:
    """The adjoint ODE d/dt [a, b] = [−aᵀ∂f/∂y, −aᵀ∂f/∂θ] along y(t) from a dense forward re-solve."""

    def __init__(self, prob: _Problem, params: list):
        rhs, n = prob.rhs, prob.n
        self.n, self.params = n, params
        self.method = "LSODA" if prob.solver == "odeint" else prob.solver
        self.kw = {k: v for k, v in (("rtol", prob.rtol), ("atol", _scalar_atol(prob.atol))) if v is not None}
        self.f = prob.callback(params)

        def adj(z, t, y, *p):
            _, pull = vjp(lambda y_, *p_: rhs(y_, t, *p_), y, *p)
            bars = pull(z[:n])
            return pnp.concatenate([-pnp.ravel(c) for c in bars])

        self.adj, self.fast = adj, None

    def __call__(self, t, z, y):
        if self.fast is None:
            self.fast = _stage(self.adj, z, t, [y, *self.params])
        return np.asarray(self.fast(z, t, y, *self.params), dtype=float)


def _dense_interval(prob: _Problem, dense: _DenseAdjoint, y_start, t_start, t_end, a, b, params):
    fwd = _si.solve_ivp(lambda t, y: dense.f(y, t), (float(t_start), float(t_end)), y_start, method=dense.method,
                        dense_output=True, **dense.kw)
    if fwd.status < 0:
        raise ODESolveError(f"the forward re-solve of the adjoint ({dense.method}) failed: {fwd.message}")
    path = fwd.sol
    back = _si.solve_ivp(lambda t, z: dense(t, z, path(t)), (float(t_end), float(t_start)),
                         np.concatenate([a, b]), method=dense.method, t_eval=[float(t_start)], **dense.kw)
    if back.status < 0:
        raise ODESolveError(f"the adjoint solve ({dense.method}) failed: {back.message}")
    z = back.y[:, -1]
    return z[:dense.n], z[dense.n:]


# ----------------------------------------------------------------------------- one continuous backward solve


# The staged functions of _ColumnAdjoint by the problem's _rhs_key: a gradient call of the same func
# (a new lambda of the same code and closure each call, as in a loss function) reuses their traces.
# An entry keeps its func (and what that func's closure holds) alive until evicted.
_COLUMN_FNS: dict = {}
_COLUMN_CACHE_SIZE = 16


class _ColumnAdjoint:
    """The adjoint of a non-stiff problem on concrete values, as one continuous backward solve.

    [y, a] is stepped backwards by Dormand–Prince 8(5,3) (SciPy's DOP853 tableau and step-size
    control) with its own step sizes, each step ending at an output time (where y restarts from
    its stored value: integrated backwards, y is unstable) but not stopping at every one. The
    adjoint is linear in a, so a jump g_i at an output time t_i strictly inside a step [t, t + h]
    is carried to the step's end by its own column [y_i, g_i] stepped from t_i to t + h, in the
    same batched evaluations as the main column: one staged, vmapped vjp of f per stage for all
    the columns, whose adjoints are added at the end of the step. The parameter cotangent
    b = ∫ (∂f/∂θ)ᵀ a dt is the step's RK quadrature over its stages, one batched vjp in θ per step.
    Memory: O(columns × stages), independent of the number of output times and of steps.
    """

    CAPACITY = 64        # columns per evaluation: the main one and up to 63 output times inside a step

    def __init__(self, prob: _Problem, params: list):
        rhs, n = prob.rhs, prob.n
        self.n, self.params = n, params
        odeint_default = 1.49012e-8 if prob.solver == "odeint" else None
        self.rtol = prob.rtol if prob.rtol is not None else (odeint_default or 1e-3)
        atol = _scalar_atol(prob.atol)
        self.atol = atol if atol is not None else (odeint_default or 1e-6)
        max_step = prob.options.get("hmax") or prob.options.get("max_step") or np.inf
        self.max_step = float(max_step)

        key = None if prob.cache_key is None else (prob.cache_key, n)
        fns = _COLUMN_FNS.get(key) if key is not None else None
        if fns is None:
            def stage(z, ts, h, *p):
                """h·[f(y_j), −f_y(y_j)ᵀ a_j] for the rows j of z = [y, a]."""
                ys, a = z[:, :n], z[:, n:]
                out, pull = vjp(lambda ys_: vmap(lambda y, t: rhs(y, t, *p))(ys_, ts), ys)
                hc = h[:, None]
                return (pnp.concatenate([hc * out, -(hc * pull(a)[0])], axis=1),)   # a tuple: as the generated code

            def theta(ys, ts, cts, *p):
                """Σ_j f_θ(y_j, t_j)ᵀ c_j, flattened: the quadrature of b over a step's stages, in one call."""
                _, pull = vjp(lambda *p_: vmap(lambda y, t: rhs(y, t, *p_))(ys, ts), *p)
                return (pnp.concatenate([pnp.ravel(c) for c in pull(cts)]) if p else pnp.zeros(0),)

            fns = jit(stage), jit(theta)   # (jit's call path: about a microsecond)
            if key is not None:
                if len(_COLUMN_FNS) >= _COLUMN_CACHE_SIZE:
                    del _COLUMN_FNS[next(iter(_COLUMN_FNS))]   # the oldest
                _COLUMN_FNS[key] = fns
        self.stage_fn, self.theta_fn = fns
        self.quadrature = [s for s in range(_si.DOP853.n_stages) if _si.DOP853.B[s] != 0]

    def agrees_with(self, rhs: Callable, y, t: float) -> bool:
        """Whether the staged, vmapped f equals the eager one at (y, t) (false where func cannot be
        staged or vmapped, e.g. value-dependent control flow: the interval-by-interval adjoint runs)."""
        cap, n = self.CAPACITY, self.n
        z = np.zeros((cap, 2 * n))
        z[:, :n] = y
        staged = self.stage_fn(z, np.full(cap, t), np.ones(cap), *self.params)[0][0, :n]
        eager = np.asarray(rhs(y, t, *self.params), dtype=float)
        scale = float(np.max(np.abs(eager))) if eager.size else 1.0   # (a batched product may round differently)
        return bool(np.allclose(staged, eager, rtol=1e-10, atol=1e-12 * max(1.0, scale), equal_nan=True))

    def time_cotangents(self, ys, times, g) -> np.ndarray:
        """g_iᵀ f(y_i, t_i) for every output, by the staged stage function (chunks of its width)."""
        n, cap = self.n, self.CAPACITY
        out = np.empty(len(ys))
        for s in range(0, len(ys), cap):
            m = min(cap, len(ys) - s)
            z = np.zeros((cap, 2 * n))
            z[:, :n] = ys[s:s + 1]
            z[:m, :n] = ys[s:s + m]
            ts = np.full(cap, float(times[s]))
            ts[:m] = times[s:s + m]
            f = self.stage_fn(z, ts, np.ones(cap), *self.params)[0][:m, :n]
            out[s:s + m] = np.sum(np.reshape(g[s:s + m], (m, n)) * f, axis=1)
        return out

    def _step(self, z0, t0, h, w):
        """One DOP853 step of every column (rows of z0, start times t0, steps h): (z1, error norm, Δb),
        Δb the quadrature of b with weights w per row (−h for the real columns, 0 for the padding)."""
        tab = _si.DOP853
        k = np.empty((tab.n_stages,) + z0.shape)       # (the 13th, FSAL evaluation has no error weight)
        flat = k.reshape(tab.n_stages, -1)
        times = t0[None, :] + tab.C[:, None] * h[None, :]
        k[0] = self.stage_fn(z0, t0, h, *self.params)[0]
        stages = [z0]
        for s in range(1, tab.n_stages):
            z = z0 + (tab.A[s, :s] @ flat[:s]).reshape(z0.shape)
            stages.append(z)
            k[s] = self.stage_fn(z, times[s], h, *self.params)[0]
        z1 = z0 + (tab.B @ flat).reshape(z0.shape)
        scale = self.atol + self.rtol * np.maximum(np.abs(z0), np.abs(z1))
        e5 = np.sum(((tab.E5[:-1] @ flat).reshape(z0.shape) / scale) ** 2, axis=1)
        e3 = np.sum(((tab.E3[:-1] @ flat).reshape(z0.shape) / scale) ** 2, axis=1)
        denom = np.where(e5 + e3 > 0, e5 + 0.01 * e3, 1.0)
        err = float(np.max(e5 / np.sqrt(denom * z0.shape[1])))
        if err >= 1:
            return z1, err, None
        n, q = self.n, self.quadrature
        cts = np.concatenate([(w * tab.B[s])[:, None] * stages[s][:, n:] for s in q])
        db = self.theta_fn(np.concatenate([stages[s][:, :n] for s in q]), times[q].ravel(), cts, *self.params)[0]
        return z1, err, db

    def solve(self, ys, times, g, zero_rows):
        """(a(t₀), b(t₀)) of the adjoint with jumps g_i at the output times (a(t_{N−1}) = g_{N−1})."""
        n, N, cap, tab = self.n, ys.shape[0], self.CAPACITY, _si.DOP853
        times = np.asarray(times, dtype=float)
        unit = float(np.max(np.abs(g))) if np.size(g) else 0.0
        unit = unit if unit > 0 and np.isfinite(unit) else 1.0
        scale = 1.0 / unit            # linear in g: with jumps of size ~1, the tolerances mean for a
        g = np.reshape(g, (N, n))     # what they mean for y
        t_end, t = float(times[0]), float(times[-1])
        y, a = ys[-1].astype(float), g[-1] * scale
        b = None
        j = N - 2                    # the next output time to reach
        while j >= 0 and times[j] == t:
            a += g[j] * scale
            j -= 1
        direction = np.sign(t_end - t)
        h_abs = min(self.max_step, abs(t_end - t) / 100)
        exponent = -1.0 / (tab.error_estimator_order + 1)
        while t != t_end:
            rejected = False
            while True:
                h_abs = min(h_abs, self.max_step, abs(t_end - t))
                t_new = t_end if h_abs >= abs(t_end - t) else t + direction * h_abs
                inside, last, k_ = [], -1, j     # the output times strictly inside (t, t_new)
                while k_ >= 0 and direction * (times[k_] - t_new) < 0 and len(inside) < cap - 1:
                    if not zero_rows[k_]:
                        inside.append(k_)
                    last = k_
                    k_ -= 1
                if k_ >= 0 and direction * (times[k_] - t_new) < 0:
                    t_new = float(times[k_])     # more than fit: end the step at the next one
                elif last >= 0:                  # end the step at the last one inside
                    t_new = float(times[last])
                inside = [i for i in inside if direction * (times[i] - t_new) < 0]  # those at t_new land
                m = 1 + len(inside)
                z0 = np.zeros((cap, 2 * n))
                z0[:, :n] = y
                z0[0, n:] = a
                t0 = np.full(cap, t)
                h = np.full(cap, t_new - t)
                w = np.zeros(cap)
                w[:m] = -(t_new - t)             # b(t₀) = ∫ f_θᵀ a dt over a backward step: weights −h
                if inside:
                    idx = np.array(inside)
                    z0[1:m, :n], z0[1:m, n:] = ys[idx], g[idx] * scale
                    t0[1:m] = times[idx]
                    h[1:m] = t_new - times[idx]
                    w[1:m] = -h[1:m]
                z1, err, db = self._step(z0, t0, h, w)
                if err < 1:
                    factor = 10.0 if err == 0 else min(10.0, 0.9 * err ** exponent)
                    h_abs *= min(1.0, factor) if rejected else factor
                    break
                h_abs *= max(0.2, 0.9 * err ** exponent)
                rejected = True
                if h_abs < 10 * np.spacing(abs(t)):
                    raise ODESolveError("the adjoint solve (DOP853) failed: the step size became too small")
            b = db if b is None else b + db
            y, a = z1[0, :n], z1[0, n:] + np.sum(z1[1:m, n:], axis=0)
            t = t_new
            while j >= 0 and direction * (times[j] - t) < 0:
                j -= 1                   # passed inside the step
            while j >= 0 and times[j] == t:
                y = ys[j].astype(float)  # landed on an output time: the state restarts from its stored value
                a += g[j] * scale
                j -= 1
        while j >= 0:                    # output times equal to the initial one
            a += g[j] * scale
            j -= 1
        if b is None:
            b = np.zeros(sum(int(np.size(p)) for p in self.params))
        return a * unit, np.asarray(b, dtype=float) * unit


def _continuous_adjoint(prob: _Problem, ys, times, g, params, zero_rows):
    """(ȳ₀, t̄, θ̄ flat) by _ColumnAdjoint, or None where its staged functions disagree with func
    (func cannot be vmapped and staged: value-dependent control flow ...)."""
    rhs = prob.rhs
    try:
        col = _ColumnAdjoint(prob, params)
        if not col.agrees_with(rhs, ys[-1], float(times[-1])):
            return None
        t_bar = col.time_cotangents(ys, np.asarray(times, dtype=float), g)
    except Exception:  # noqa: BLE001 - func cannot be vmapped or staged: the interval-by-interval adjoint
        return None
    a, b = col.solve(ys, times, g, zero_rows)
    f0 = np.asarray(rhs(ys[0], times[0], *params), dtype=float)
    t_bar[0] = -np.sum((a - np.reshape(g[0], -1)) * f0)
    return a, t_bar, b


def _scalar_atol(atol):
    return float(np.min(atol)) if atol is not None and np.ndim(atol) > 0 else atol


def _zero_rows(g) -> np.ndarray:
    """Which output cotangents are known to be zero (concrete arrays only): no jump, no stop there."""
    if isinstance(g, np.ndarray):
        return ~np.any(g.reshape(g.shape[0], -1) != 0, axis=1)
    return np.zeros(g.shape[0], dtype=bool)


def _same_time(t1, t0) -> bool:
    try:
        return float(t1) == float(t0)
    except (TypeError, TracerConversionError):
        return False


_solve = custom_vjp(_solve_bottom, nondiff_argnums=(0,))
_solve.defvjp(_solve_fwd, _solve_bwd)


def _rhs_key(func: Callable, shape: tuple, tfirst: bool, args: tuple) -> tuple | None:
    """A key equal for two calls whose flat right-hand sides (_flat_rhs) agree up to the float leaves of
    args: the same function (function_key), state shape, argument order and static arguments; None if
    there is none (a callable object, an unhashable static argument)."""
    fkey, skey = function_key(func), static_key(args)
    return None if fkey is None or skey is None else (fkey, tuple(shape), bool(tfirst), skey)


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
    prob.cache_key = _rhs_key(func, shape, tfirst, args)
    prob.keep_info = bool(full_output)
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
        prob.cache_key = _rhs_key(fun, (n,), True, args)
        start = pnp.reshape(pnp.asarray(t0, dtype=float), (1,))
        ys = _solve(prob, y0, pnp.concatenate([start, t_eval]), *params)[1:]
        t_out = t_eval
    info = prob.info
    return OdeResult(t=t_out, y=pnp.transpose(ys), sol=None, t_events=None, y_events=None,
                     **info)


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
