"""pullback.scipy.optimize: root, minimize and fixed_point whose solutions are differentiable in args.

SciPy's solver finds x* on concrete arrays; the derivative of x* with respect to the float
leaves of `args` comes from the implicit function theorem at the solution (pullback.custom_root):
one matrix-free linear solve with the Jacobian of the optimality condition r(x, θ) = 0, its
products taken by jvp / vjp and the system solved by scipy.sparse.linalg.gmres — never by
differentiating the solver's iterations.

    root:         r(x, θ) = fun(x, θ)
    fixed_point:  r(x, θ) = func(x, θ) − x
    minimize:     r(x, θ) = ∇ₓ fun(x, θ) on the free components; x − bound on the components
                  at an active bound (the active set is taken as fixed: a bound is active when x
                  sits on it and the gradient pushes outwards)

The results are SciPy's (OptimizeResult / ndarray) with .x replaced by the differentiable
solution and .fun recomputed from it (so .fun is differentiable too: the envelope theorem).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.optimize as _so
from scipy.sparse.linalg import LinearOperator, gmres

from .. import numpy as pnp
from ..api import grad, value_and_grad
from ..errors import UnsupportedFunctionError
from ..implicit import ImplicitDiffError, RootSpec, root_of
from ..jacobians import hvp, jacfwd
from ._args import as_args_tuple, split_args

__all__ = ["OptimizeResult", "fixed_point", "gmres_solve", "minimize", "root"]

OptimizeResult = _so.OptimizeResult

_HESS_METHODS = ("newton-cg", "trust-ncg", "trust-krylov", "trust-exact", "dogleg")


def gmres_solve(matvec: Callable, b: np.ndarray, rtol: float = 1e-11) -> np.ndarray:
    """Solve matvec(x) = b matrix-free with GMRES (full restarts up to 200 vectors).

    Raises ImplicitDiffError when the relative residual stays above 1e-7: the Jacobian of the
    optimality condition is (nearly) singular at the solution, so the solution is not a
    differentiable function of the parameters there.
    """
    b = np.asarray(b, dtype=float)
    shape, n = b.shape, b.size
    if n == 0 or not np.any(b):
        return np.zeros(shape)
    op = LinearOperator((n, n), matvec=lambda v: np.asarray(matvec(v.reshape(shape)), dtype=float).ravel(),
                        dtype=float)
    x, _ = gmres(op, b.ravel(), rtol=rtol, atol=0.0, restart=min(n, 200), maxiter=20)
    resid = np.linalg.norm(op.matvec(x) - b.ravel()) / np.linalg.norm(b)
    if not np.isfinite(resid) or resid > 1e-7:
        raise ImplicitDiffError(
            f"implicit differentiation: the linear system with the Jacobian at the solution did not converge "
            f"(relative residual {resid:.2e}); the Jacobian is singular or ill-conditioned there, so the "
            "solution is not a differentiable function of args at this point."
        )
    return x.reshape(shape)


def _float_x0(x0: Any) -> np.ndarray:
    x0 = np.asarray(x0)
    return x0.astype(float) if x0.dtype.kind != "f" else x0


def _wrap(fun: Callable, rebuild: Callable) -> Callable:
    return lambda x, *p: fun(x, *rebuild(list(p)))


# ----------------------------------------------------------------------------- root


def root(fun: Callable, x0: Any, args: Any = (), method: str = "hybr", jac: Any = None, tol: float | None = None,
         callback: Callable | None = None, options: dict | None = None) -> OptimizeResult:
    """scipy.optimize.root with .x differentiable in the float leaves of args (implicit function theorem).

    fun(x, *args) is the residual written with pullback.numpy; with jac=None the Jacobian SciPy's
    'hybr' / 'lm' use comes from pullback.jacfwd. jac=True (fun returns (f, J)) is accepted.
    """
    params, rebuild = split_args(as_args_tuple(args))
    f_user = _wrap(fun, rebuild)
    residual = (lambda x, *p: f_user(x, *p)[0]) if jac is True else f_user
    holder: dict = {}

    def solve(x0_, p):
        g = lambda x: np.asarray(residual(x, *p), dtype=float)  # noqa: E731
        j = jac
        if jac is True:
            g = lambda x: tuple(np.asarray(v, dtype=float) for v in f_user(x, *p))  # noqa: E731
        elif jac is None and method in ("hybr", "lm"):
            j = lambda x: np.asarray(jacfwd(lambda y: residual(y, *p))(x), dtype=float)  # noqa: E731
        elif callable(jac):
            j = lambda x: jac(x, *rebuild(list(p)))  # noqa: E731
        holder["res"] = res = _so.root(g, x0_, method=method, jac=j, tol=tol, callback=callback, options=options)
        return res.x

    x = root_of(RootSpec(residual, solve, gmres_solve), _float_x0(x0), *params)
    out = OptimizeResult(holder["res"])
    out.x = x
    out.fun = residual(x, *params)
    return out


# ----------------------------------------------------------------------------- fixed_point


def fixed_point(func: Callable, x0: Any, args: Any = (), xtol: float = 1e-08, maxiter: int = 500,
                method: str = "del2") -> Any:
    """scipy.optimize.fixed_point: x = func(x, *args), differentiable in the float leaves of args.

    The derivative solves (I − ∂func/∂x) ẋ = ∂func/∂θ θ̇ at the fixed point (matrix-free GMRES).
    """
    params, rebuild = split_args(as_args_tuple(args))
    f = _wrap(func, rebuild)

    def residual(x, *p):
        return f(x, *p) - x

    def solve(x0_, p):
        return _so.fixed_point(lambda x: np.asarray(f(x, *p), dtype=float), x0_, xtol=xtol, maxiter=maxiter,
                               method=method)

    return root_of(RootSpec(residual, solve, gmres_solve), _float_x0(x0), *params)


# ----------------------------------------------------------------------------- minimize


def _bounds_arrays(bounds: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(bounds, _so.Bounds):
        lo, hi = np.broadcast_to(bounds.lb, (n,)), np.broadcast_to(bounds.ub, (n,))
    else:
        pairs = list(bounds)
        if len(pairs) != n:
            raise ValueError(f"minimize: {len(pairs)} bounds for {n} variables")
        lo = np.array([-np.inf if b[0] is None else b[0] for b in pairs], dtype=float)
        hi = np.array([np.inf if b[1] is None else b[1] for b in pairs], dtype=float)
    return np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)


def minimize(fun: Callable, x0: Any, args: Any = (), method: str | None = None, jac: Any = None, hess: Any = None,
             hessp: Any = None, bounds: Any = None, constraints: Any = (), tol: float | None = None,
             callback: Callable | None = None, options: dict | None = None) -> OptimizeResult:
    """scipy.optimize.minimize with .x (and .fun) differentiable in the float leaves of args.

    fun(x, *args) -> scalar, written with pullback.numpy. Gradients SciPy needs come from
    pullback.value_and_grad (jac=None), Hessian-vector products from pullback.hvp for the
    methods that use them. With bounds the active set at the solution is held fixed. General
    constraints are not supported (their multipliers would enter the optimality condition).
    """
    if constraints not in ((), [], None):
        raise UnsupportedFunctionError(
            "pullback.scipy.optimize.minimize: constraints are not supported by implicit differentiation here "
            "(the Lagrange multipliers would enter the optimality condition); use bounds, or reparametrize."
        )
    x0 = _float_x0(x0)
    if x0.ndim > 1:
        raise ValueError("minimize: x0 must be 1-D (as in SciPy)")
    params, rebuild = split_args(as_args_tuple(args))
    f = _wrap(fun, rebuild)
    lo = hi = None
    if bounds is not None:
        lo, hi = _bounds_arrays(bounds, x0.size)
    holder: dict = {"active": None}

    def solve(x0_, p):
        kw: dict = {}
        if jac is None:
            vg = value_and_grad(lambda x: f(x, *p))
            g_fun = lambda x: tuple(np.asarray(v, dtype=float) for v in vg(x))  # noqa: E731
            kw["jac"] = True
        else:
            g_fun = lambda x: f(x, *p)  # noqa: E731
            kw["jac"] = jac if jac is True else (lambda x: jac(x, *rebuild(list(p))))
        m = (method or "").lower()
        if m in _HESS_METHODS and hess is None and hessp is None:
            kw["hessp"] = lambda x, v: np.asarray(hvp(lambda y: f(y, *p), (x,), (v,))[1], dtype=float)
        elif hess is not None:
            kw["hess"] = hess if not callable(hess) else (lambda x: hess(x, *rebuild(list(p))))
        elif hessp is not None:
            kw["hessp"] = lambda x, v: hessp(x, v, *rebuild(list(p)))
        holder["res"] = res = _so.minimize(g_fun, x0_, method=method, bounds=bounds, tol=tol, callback=callback,
                                           options=options, **kw)
        x = np.asarray(res.x, dtype=float)
        if lo is not None:
            gx = np.asarray(grad(lambda y: f(y, *p))(x), dtype=float)
            scale = 1e-10 * (1 + np.abs(x))
            at_lo = (np.abs(x - lo) <= scale) & (gx > 0)
            at_hi = (np.abs(x - hi) <= scale) & (gx < 0)
            holder["active"] = at_lo | at_hi
            holder["bound"] = np.where(at_lo, lo, np.where(at_hi, hi, 0.0))
        return x

    def residual(x, *p):
        g = grad(lambda y: f(y, *p))(x)
        if holder["active"] is None or not np.any(holder["active"]):
            return g
        return pnp.where(holder["active"], x - holder["bound"], g)

    x = root_of(RootSpec(residual, solve, gmres_solve), x0, *params)
    out = OptimizeResult(holder["res"])
    out.x = x
    out.fun = f(x, *params)
    if holder["active"] is not None:
        out.active_mask = holder["active"]
    return out
