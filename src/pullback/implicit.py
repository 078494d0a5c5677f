"""Implicit differentiation: custom_root (solutions of f(x, θ) = 0) and a differentiable linear solve.

For x*(θ) defined by f(x*, θ) = 0 with A = ∂f/∂x invertible at the solution, the implicit
function theorem gives

    ∂x* = −A⁻¹ (∂f/∂θ) ∂θ                (forward)
    θ̄  = −(∂f/∂θ)ᵀ λ,  Aᵀ λ = x̄          (reverse: one transposed linear solve)

so derivatives never go through the solver's iterations. Every linear solve is itself a
differentiable operation (`linear_solve`, JAX's custom_linear_solve): its reverse rule is a
solve with the transposed operator, Aᵀ obtained matrix-free by vjp (or linear_transpose), and
the operator's own dependence on (x*, θ) is differentiated too, so derivatives of any order
and forward mode (the transpose of the reverse rule) work.

The solvers run on concrete arrays only: at the bottom of any stack of transformations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .api import linear_transpose, vjp
from .custom import custom_vjp
from .errors import NonDifferentiableInputError, PullbackError, TracerConversionError, UnsupportedFunctionError
from .tree_util import tree_flatten, tree_unflatten

__all__ = ["ImplicitDiffError", "custom_root", "linear_solve"]


class ImplicitDiffError(PullbackError, RuntimeError):
    """A root or linear solve used by implicit differentiation failed (singular Jacobian, no convergence)."""


def concrete(x: Any, who: str, *, solver: str = "its solver") -> np.ndarray:
    """x as a plain float array, or a clear error naming `who` (and what runs: `solver`) when it is a
    staged (jit) value."""
    try:
        return np.asarray(x, dtype=float)
    except TracerConversionError as e:
        raise UnsupportedFunctionError(
            f"{who} runs {solver} on concrete arrays and cannot be staged by pullback.jit; call it outside "
            "jit (grad, jvp, vjp and vmap work)."
        ) from e


# ----------------------------------------------------------------------------- linear_solve


class _LinearSpec:
    """matvec(v, *op_args), linear in v, and solver(matvec_on_arrays, b) -> x; .T is the transposed problem."""

    def __init__(self, matvec: Callable, solver: Callable, transposed: _LinearSpec | None = None):
        self.matvec, self.solver = matvec, solver
        self._T = transposed

    @property
    def T(self) -> _LinearSpec:
        if self._T is None:
            matvec = self.matvec

            def matvec_t(u, *op_args):
                return linear_transpose(lambda v: matvec(v, *op_args), u)(u)[0]

            self._T = _LinearSpec(matvec_t, self.solver, transposed=self)
        return self._T


def _ls_bottom(spec: _LinearSpec, b, *op_args):
    b = concrete(b, "pullback.linear_solve")
    op_args = [concrete(a, "pullback.linear_solve") for a in op_args]
    x = spec.solver(lambda v: np.asarray(spec.matvec(np.asarray(v, dtype=float), *op_args), dtype=float), b)
    return np.asarray(x, dtype=float).reshape(b.shape)


def _ls_fwd(spec: _LinearSpec, b, *op_args):
    x = _linear_solve(spec, b, *op_args)
    return x, (x, op_args)


def _ls_bwd(spec: _LinearSpec, res, x_bar):
    x, op_args = res
    lam = _linear_solve(spec.T, x_bar, *op_args)
    if not op_args:
        return (lam,)
    _, pull = vjp(lambda *op: spec.matvec(x, *op), *op_args)
    op_bars = pull(-lam)
    return (lam, *op_bars)


_linear_solve = custom_vjp(_ls_bottom, nondiff_argnums=(0,))
_linear_solve.defvjp(_ls_fwd, _ls_bwd)


def linear_solve(matvec: Callable, b: Any, solve: Callable, *op_args: Any) -> Any:
    """x with matvec(x, *op_args) = b, found by solve(A, b) (A a function of arrays), differentiable.

    matvec must be linear in its first argument and written with pullback.numpy; b̄ = A⁻ᵀ x̄
    (solve called on the transposed operator) and op_args get −(∂(A x)/∂op)ᵀ A⁻ᵀ x̄.

    Parameters
    ----------
    matvec : callable
        ``matvec(x, *op_args)``, the operator A applied to x (linear in x).
    b : array
        The right-hand side.
    solve : callable
        ``solve(A, b) -> x`` for a linear function A (called on A and on its transpose).
    *op_args : pytrees of arrays
        The operator's parameters; derivatives flow to them and to b.

    Returns
    -------
    array
        x with A x = b.

    Examples
    --------
    >>> import numpy
    >>> import pullback as pb
    >>> b = numpy.array([1.0, 2.0])
    >>> diag_solve = lambda A, rhs: rhs / A(numpy.ones(2))      # A is diagonal here
    >>> x_of = lambda a: pb.linear_solve(lambda x, a: a * x, b, diag_solve, a)
    >>> x_of(2.0), pb.jacobian(x_of)(2.0)                      # x = b / a, dx/da = -b / a²
    (array([0.5, 1. ]), array([-0.25, -0.5 ]))
    """
    return _linear_solve(_LinearSpec(matvec, solve), b, *op_args)


# ----------------------------------------------------------------------------- custom_root


class RootSpec:
    """A root problem for _root: residual f(x, *params) (pullback ops), and solve_concrete(x0, params) -> x."""

    def __init__(self, f: Callable, solve_concrete: Callable, tangent_solve: Callable):
        self.f, self.solve_concrete = f, solve_concrete

        def matvec_t(u, x, *params):
            return vjp(lambda x_: f(x_, *params), x)[1](u)[0]

        self.transposed = _LinearSpec(matvec_t, tangent_solve)


def _root_bottom(spec: RootSpec, x0, *params):
    x0 = concrete(x0, "pullback.custom_root")
    params = [concrete(p, "pullback.custom_root") for p in params]
    return np.asarray(spec.solve_concrete(x0, params), dtype=float).reshape(x0.shape)


def _root_fwd(spec: RootSpec, x0, *params):
    x = root_of(spec, x0, *params)
    return x, (x, params)


def _root_bwd(spec: RootSpec, res, x_bar):
    x, params = res
    lam = _linear_solve(spec.transposed, x_bar, x, *params)
    if not params:
        return (None,)
    _, pull = vjp(lambda *p: spec.f(x, *p), *params)
    return (None, *pull(-lam))


root_of = custom_vjp(_root_bottom, nondiff_argnums=(0,))
root_of.defvjp(_root_fwd, _root_bwd)


def custom_root(f: Callable, initial_guess: Any, solve: Callable, tangent_solve: Callable, args: tuple = ()) -> Any:
    """The solution x of f(x, *args) = 0 found by a user solver, differentiable in args by implicit differentiation.

    - ``f(x, *args)``: the residual, with x's shape, written with pullback.numpy.
    - ``solve(g, initial_guess) -> x``: any solver, called with g(x) = f(x, *args) on concrete arrays.
    - ``tangent_solve(h, y) -> z``: solves h(z) = y for a linear function h of arrays shaped like x:
      called with h = ∂f/∂x at the solution's transpose (reverse mode; and with ∂f/∂x itself where
      forward or higher-order derivatives need it), e.g. ``lambda h, y: y / h(1.0)`` for a scalar, or a
      matrix-free scipy.sparse.linalg.gmres; see pullback.scipy.optimize.gmres_solve.

    This is JAX's lax.custom_root with the closed-over values made explicit: args carries every
    value the derivative flows to (a pytree of arrays; closures over differentiated values are
    refused). x is an array; the derivative with respect to initial_guess is zero.

    Parameters
    ----------
    f : callable
        ``f(x, *args)``, the residual.
    initial_guess : array
        Where solve starts (no derivative flows to it).
    solve : callable
        ``solve(g, initial_guess) -> x`` with g(x) ≈ 0.
    tangent_solve : callable
        ``tangent_solve(h, y) -> z`` with h(z) = y, for a linear h.
    args : tuple, optional
        The values the solution depends on (pytrees of arrays); derivatives flow to them.

    Returns
    -------
    array
        The solution x, differentiable in args (forward, reverse, any order).

    Raises
    ------
    NonDifferentiableInputError
        args holds a non-float value (close over constants in f instead).
    UnsupportedFunctionError
        Called under pullback.jit (the solver needs concrete arrays).

    Examples
    --------
    >>> import pullback as pb
    >>> def sqrt_of(a):
    ...     def newton(g, x):
    ...         for _ in range(50):
    ...             x = x - g(x) / (2 * x)
    ...         return x
    ...     return pb.custom_root(lambda x, a: x * x - a, 1.0, newton, lambda h, y: y / h(1.0), args=(a,))
    >>> sqrt_of(4.0), pb.grad(sqrt_of)(4.0)                   # d√a/da = 1 / (2√a)
    (array(2.), np.float64(0.25))
    """
    args = tuple(args) if isinstance(args, (tuple, list)) else (args,)
    leaves, tree = tree_flatten(args)
    for leaf in leaves:
        dt = getattr(leaf, "dtype", None)
        if np.dtype(np.asarray(leaf).dtype if dt is None else dt).kind != "f":
            raise NonDifferentiableInputError(
                f"custom_root: args holds a non-float value {leaf!r:.60}; args are what derivatives flow to. "
                "Close over integer or other constant values in f instead."
            )

    def residual(x, *flat):
        return f(x, *tree_unflatten(tree, list(flat)))

    def solve_concrete(x0, flat):
        return solve(lambda x: residual(x, *flat), x0)

    return root_of(RootSpec(residual, solve_concrete, tangent_solve), initial_guess, *leaves)
