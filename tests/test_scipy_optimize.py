"""Implicit differentiation: pb.custom_root, pb.linear_solve and pullback.scipy.optimize
(root, minimize with and without bounds, fixed_point) against finite differences of the
re-solved problem, and forward against reverse mode (the dot-product test)."""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback.errors import NonDifferentiableInputError, PullbackError, UnsupportedFunctionError
from pullback.testing import check_grads

so = pytest.importorskip("scipy.optimize")
po = pytest.importorskip("pullback.scipy.optimize")

RNG = np.random.default_rng(7)
A = RNG.standard_normal((4, 4))
A = A @ A.T + 4 * np.eye(4)
C = RNG.standard_normal(4)


def quartic(x, A, c, k):
    return 0.5 * x @ A @ x - c @ x + 0.25 * pnp.sum(x ** 4) / k


def fd_of(fun, x, eps=1e-5):
    """Central differences of fun (array -> array) along every coordinate of x."""
    x = np.asarray(x, float)
    cols = []
    for j in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[j] += eps
        xm[j] -= eps
        cols.append((np.asarray(fun(xp)) - np.asarray(fun(xm))) / (2 * eps))
    return np.stack(cols, axis=-1).reshape(np.shape(fun(x)) + x.shape)


def precise_argmin(A, c):
    """The re-solved problem for finite differences: the stationarity condition to 1e-14 by hybr."""
    grad = lambda x: A @ x - c + 0.5 * x ** 3  # noqa: E731
    return so.root(grad, np.zeros(4), jac=lambda x: A + np.diag(1.5 * x ** 2), tol=1e-14).x


def dot_product_test(fun, args, seed=0):
    """<u, J v> by jvp equals <Jᵀu, v> by vjp."""
    g = np.random.default_rng(seed)
    v = tuple(g.standard_normal(np.shape(a)) for a in args)
    out, jv = pb.jvp(fun, args, v)
    u = g.standard_normal(np.shape(out))
    jtu = pb.vjp(fun, *args)[1](u)
    lhs, rhs = float(np.sum(u * jv)), sum(float(np.sum(a * b)) for a, b in zip(jtu, v))
    assert abs(lhs - rhs) <= 1e-9 * max(1.0, abs(lhs)), (lhs, rhs)


@pytest.mark.parametrize("method", [None, "BFGS", "L-BFGS-B", "Newton-CG", "trust-ncg"])
def test_minimize_solution_derivatives_match_finite_differences_of_the_resolved_problem(method):
    solve = lambda A, c: po.minimize(quartic, np.zeros(4), args=(A, c, 2), method=method, tol=1e-12).x  # noqa: E731
    r = po.minimize(quartic, np.zeros(4), args=(A, C, 2), method=method, tol=1e-12)
    ref = so.minimize(lambda x: 0.5 * x @ A @ x - C @ x + 0.125 * np.sum(x ** 4), np.zeros(4), method="BFGS",
                      tol=1e-12)
    assert r.success and isinstance(r, so.OptimizeResult)
    np.testing.assert_allclose(r.x, ref.x, rtol=1e-6, atol=1e-7)
    jc = pb.jacrev(lambda c: solve(A, c))(C)
    # exact: ∂x*/∂c = H⁻¹ with H = A + diag(1.5 x*²); and finite differences of the re-solved problem
    np.testing.assert_allclose(jc, np.linalg.inv(A + np.diag(1.5 * r.x ** 2)), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(jc, fd_of(lambda c: precise_argmin(A, c), C), rtol=1e-6, atol=1e-8)
    dot_product_test(solve, (A, C))


def test_minimize_value_is_differentiable_by_the_envelope_theorem():
    val = lambda c: po.minimize(quartic, np.zeros(4), args=(A, c, 2), tol=1e-12).fun  # noqa: E731
    x = po.minimize(quartic, np.zeros(4), args=(A, C, 2), tol=1e-12).x
    np.testing.assert_allclose(pb.grad(val)(C), -x, rtol=1e-6)


def test_minimize_with_bounds_holds_the_active_set_fixed():
    bounds = [(None, None), (0.3, None), (-1.0, None), (None, -0.2)]

    def solve(A, c):
        return po.minimize(quartic, np.full(4, 0.5), args=(A, c, 2), method="L-BFGS-B", bounds=bounds,
                           options=dict(ftol=1e-15, gtol=1e-12)).x

    r = po.minimize(quartic, np.full(4, 0.5), args=(A, C, 2), method="L-BFGS-B", bounds=bounds,
                    options=dict(ftol=1e-15, gtol=1e-12))
    active = r.active_mask
    assert active.any() and not active.all()
    jc = pb.jacrev(lambda c: solve(A, c))(C)
    free = ~active
    expect = np.zeros((4, 4))  # the free block of the inverse Hessian; nothing moves the active components
    expect[np.ix_(free, free)] = np.linalg.inv((A + np.diag(1.5 * r.x ** 2))[np.ix_(free, free)])
    np.testing.assert_allclose(jc, expect, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(jc, fd_of(lambda c: solve(A, c), C, eps=1e-3), rtol=1e-2, atol=1e-4)
    dot_product_test(solve, (A, C))
    lb, ub = zip(*[(-np.inf if lo is None else lo, np.inf if hi is None else hi) for lo, hi in bounds])
    r2 = po.minimize(quartic, np.full(4, 0.5), args=(A, C, 2), method="L-BFGS-B", bounds=so.Bounds(lb, ub),
                     options=dict(ftol=1e-15, gtol=1e-12))
    np.testing.assert_array_equal(r2.active_mask, active)


def test_root_and_fixed_point_to_second_order():
    def F(x, a):
        return pnp.stack([x[0] ** 3 + x[1] - a[0], pnp.sin(x[1]) + x[0] - a[1]])

    a = np.array([1.0, 0.5])
    r = po.root(F, np.zeros(2), args=(a,), tol=1e-13)
    assert r.success and np.allclose(r.fun, 0, atol=1e-12)
    xr = lambda a: po.root(F, np.zeros(2), args=(a,), tol=1e-13).x  # noqa: E731
    np.testing.assert_allclose(pb.jacfwd(xr)(a), fd_of(xr, a), rtol=1e-6, atol=1e-8)
    check_grads(xr, (a,), order=2, eps=1e-5, rtol=1e-4, atol=1e-6)

    b = np.array([0.5, 0.9, 1.1])
    xf = lambda b: po.fixed_point(lambda x, b: pnp.cos(x) * b, np.ones(3), args=(b,), xtol=1e-14)  # noqa: E731
    np.testing.assert_allclose(xf(b), so.fixed_point(lambda x: np.cos(x) * b, np.ones(3), xtol=1e-14), rtol=1e-12)
    np.testing.assert_allclose(pb.jacrev(xf)(b), fd_of(xf, b), rtol=1e-6, atol=1e-8)
    check_grads(xf, (b,), order=2, eps=1e-5, rtol=1e-4, atol=1e-6)


def test_root_accepts_static_args_and_a_user_jacobian():
    a = np.array([2.0, 3.0, 5.0])
    xr = lambda a: po.root(lambda x, a, n: x ** n - a, np.ones(3), args=(a, 3), tol=1e-13).x  # noqa: E731
    np.testing.assert_allclose(xr(a), a ** (1 / 3), rtol=1e-10)
    np.testing.assert_allclose(pb.grad(lambda a: pnp.sum(xr(a)))(a), a ** (-2 / 3) / 3, rtol=1e-8)
    with_jac = lambda a: po.root(lambda x, a: (x * x - a, pnp.diag(2 * x)), np.ones(3), args=(a,),  # noqa: E731
                                 jac=True, method="lm", tol=1e-13).x
    np.testing.assert_allclose(with_jac(a), np.sqrt(a), rtol=1e-10)
    np.testing.assert_allclose(pb.grad(lambda a: pnp.sum(with_jac(a)))(a), 0.5 / np.sqrt(a), rtol=1e-8)


def test_custom_root_with_a_user_solver_and_tangent_solve():
    """Newton on x² = θ by hand: the derivative is 1/(2x) although the solver is opaque Python."""
    def newton(g, x0):
        x = x0
        for _ in range(50):
            x = x - np.asarray(g(x)) / (2 * x)
        return x

    sqrt = lambda th: pb.custom_root(lambda x, th: x * x - th, np.ones(3), newton,  # noqa: E731
                                     lambda h, y: y / np.asarray(h(np.ones(3))), args=(th,))
    th = np.array([2.0, 4.0, 9.0])
    np.testing.assert_allclose(sqrt(th), np.sqrt(th), rtol=1e-14)
    np.testing.assert_allclose(pb.grad(lambda t: pnp.sum(sqrt(t)))(th), 0.5 / np.sqrt(th), rtol=1e-12)
    np.testing.assert_allclose(pb.jvp(sqrt, (th,), (np.ones(3),))[1], 0.5 / np.sqrt(th), rtol=1e-12)
    h = pb.hessian(lambda t: pnp.sum(sqrt(t)))(th)
    np.testing.assert_allclose(np.diag(h), -0.25 * th ** -1.5, rtol=1e-10)
    with pytest.raises(NonDifferentiableInputError, match="custom_root"):
        pb.custom_root(lambda x, n: x - n, np.ones(1), newton, lambda h, y: y, args=(3,))


def test_linear_solve_is_differentiable_in_the_right_hand_side_and_the_operator(rng):
    M = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal(3)
    dense = lambda h, y: np.linalg.solve(np.stack([np.asarray(h(e)) for e in np.eye(3)], 1), y)  # noqa: E731
    sol = lambda M, b: pb.linear_solve(lambda v, M: M @ v, b, dense, M)  # noqa: E731
    np.testing.assert_allclose(sol(M, b), np.linalg.solve(M, b), rtol=1e-12)
    check_grads(sol, (M, b), order=2)
    check_grads(lambda M, b: pb.linear_solve(lambda v, M: M @ v, b, po.gmres_solve, M), (M, b), order=1)


def test_unsupported_and_singular_cases_raise_clear_errors():
    with pytest.raises(UnsupportedFunctionError, match="constraints"):
        po.minimize(quartic, np.zeros(4), args=(A, C, 2), constraints=[{"type": "eq", "fun": lambda x: x[0]}])
    with pytest.raises(UnsupportedFunctionError, match="jit"):
        pb.jit(lambda c: po.minimize(quartic, np.zeros(4), args=(A, c, 2)).x)(C)
    # f(x, a) = x³ − a has a singular Jacobian at the root of a = 0: no derivative there.
    with pytest.raises(po.ImplicitDiffError, match="singular"):
        pb.grad(lambda a: pnp.sum(po.root(lambda x, a: x ** 3 - a, np.zeros(1), args=(a,)).x))(np.zeros(1))
    assert issubclass(po.ImplicitDiffError, PullbackError)
