"""pullback.scipy.integrate: adjoint odeint / solve_ivp against SciPy, finite differences and
forward sensitivities; memory independent of the number of solver steps; quadrature rules."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback.errors import PullbackError, UnsupportedFunctionError
from pullback.testing import check_grads

si = pytest.importorskip("scipy.integrate")
pi = pytest.importorskip("pullback.scipy.integrate")

TOL = dict(rtol=1e-10, atol=1e-10)


def lv(y, t, a, b):
    """A non-autonomous predator-prey system: the t-derivative is non-trivial."""
    return pnp.stack([a * y[0] - b * y[0] * y[1], -y[1] + 0.5 * y[0] * y[1] * (1 + 0.3 * pnp.sin(t))])


def lv_np(y, t, a, b):
    return np.array([a * y[0] - b * y[0] * y[1], -y[1] + 0.5 * y[0] * y[1] * (1 + 0.3 * np.sin(t))])


Y0 = np.array([1.0, 0.5])
T = np.array([0.0, 0.3, 0.7, 1.2, 2.0])
A, B = 1.1, np.array(0.4)
W = np.random.default_rng(3).standard_normal((len(T), 2))


def fd_grad(fun, args, i, eps=1e-6):
    x = np.asarray(args[i], float)
    out = np.zeros(x.shape)
    for j in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[j] += eps
        xm[j] -= eps
        ap, am = list(args), list(args)
        ap[i], am[i] = xp, xm
        out[j] = (fun(*ap) - fun(*am)) / (2 * eps)
    return out


def odeint_loss(y0, t, a, b):
    return pnp.sum(W[:len(t)] * pi.odeint(lv, y0, t, args=(a, b), **TOL))


def test_odeint_values_match_scipy():
    ys = pi.odeint(lv, Y0, T, args=(A, B), **TOL)
    ref = si.odeint(lv_np, Y0, T, args=(A, B), **TOL)
    assert isinstance(ys, np.ndarray) and ys.shape == (len(T), 2)
    np.testing.assert_allclose(ys, ref, rtol=1e-12, atol=1e-14)
    ys2, info = pi.odeint(lv, Y0, T, args=(A, B), full_output=True, **TOL)
    assert info["message"] == "Integration successful." and np.array_equal(ys, ys2)


def test_odeint_gradient_in_y0_t_and_args_matches_finite_differences():
    args = (Y0, T, A, B)
    g = pb.grad(odeint_loss, argnums=(0, 1, 2, 3))(*args)
    for i in range(4):
        np.testing.assert_allclose(g[i], fd_grad(odeint_loss, args, i), rtol=2e-6, atol=2e-7, err_msg=f"arg {i}")


def test_odeint_jacobian_matches_forward_sensitivities():
    """d y(T) / d(y0, a) from the adjoint against the forward sensitivity system solved by SciPy."""
    t = np.array([0.0, 1.5])

    def aug(z, t_, a):
        y, S = z[:2], z[2:].reshape(2, 3)
        J = np.array([[a - B * y[1], -B * y[0]],
                      [0.5 * y[1] * (1 + 0.3 * np.sin(t_)), -1 + 0.5 * y[0] * (1 + 0.3 * np.sin(t_))]])
        fa = np.array([[y[0]], [0.0]])
        return np.concatenate([lv_np(y, t_, a, B), (J @ S + np.hstack([np.zeros((2, 2)), fa])).ravel()])

    z0 = np.concatenate([Y0, np.hstack([np.eye(2), np.zeros((2, 1))]).ravel()])
    S = si.odeint(aug, z0, t, args=(A,), rtol=1e-12, atol=1e-12)[-1, 2:].reshape(2, 3)
    jy0 = pb.jacrev(lambda y0: pi.odeint(lv, y0, t, args=(A, B), **TOL)[-1])(Y0)
    ja = pb.jacrev(lambda a: pi.odeint(lv, Y0, t, args=(a, B), **TOL)[-1])(A)
    np.testing.assert_allclose(jy0, S[:, :2], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ja, S[:, 2], rtol=1e-7, atol=1e-9)


def test_odeint_jvp_and_vjp_agree_with_finite_differences_and_each_other():
    check_grads(lambda y0, a, b: pi.odeint(lv, y0, T, args=(a, b), **TOL), (Y0, A, B), order=1,
                eps=1e-6, rtol=1e-5, atol=1e-7)
    check_grads(lambda t: pi.odeint(lv, Y0, t, args=(A, B), **TOL), (T,), order=1, eps=1e-6, rtol=1e-5, atol=1e-7)


def test_odeint_grad_of_grad_matches_finite_differences():
    la = lambda a: odeint_loss(Y0, T[:3], a, B)  # noqa: E731
    h = pb.grad(pb.grad(la))(A)
    ga = pb.grad(la)
    np.testing.assert_allclose(h, (ga(A + 1e-5) - ga(A - 1e-5)) / 2e-5, rtol=1e-5)


def test_odeint_static_and_pytree_args():
    def f(y, t, p, k):
        return -p["rate"] * y ** k

    ys = pi.odeint(f, np.array([1.0, 2.0]), T, args=({"rate": 0.7}, 2), **TOL)
    ref = si.odeint(lambda y, t: -0.7 * y ** 2, np.array([1.0, 2.0]), T, **TOL)
    np.testing.assert_allclose(ys, ref, rtol=1e-10)
    g = pb.grad(lambda r: pnp.sum(pi.odeint(f, np.array([1.0, 2.0]), T, args=({"rate": r}, 2), **TOL)))(0.7)
    fd = (np.sum(si.odeint(lambda y, t: -(0.7 + 1e-6) * y ** 2, [1.0, 2.0], T, **TOL))
          - np.sum(si.odeint(lambda y, t: -(0.7 - 1e-6) * y ** 2, [1.0, 2.0], T, **TOL))) / 2e-6
    np.testing.assert_allclose(g, fd, rtol=1e-6)


def test_odeint_under_vmap_equals_a_loop():
    y0s = np.array([[1.0, 0.5], [0.8, 0.9], [1.3, 0.2]])
    out = pb.vmap(lambda y0: pi.odeint(lv, y0, T, args=(A, B), **TOL))(y0s)
    loop = np.stack([pi.odeint(lv, y0, T, args=(A, B), **TOL) for y0 in y0s])
    np.testing.assert_allclose(out, loop, rtol=1e-12)


@pytest.mark.parametrize("method", ["RK45", "DOP853", "LSODA", "BDF"])
def test_solve_ivp_gradients_match_finite_differences(method):
    te = np.array([0.2, 0.9, 2.0])
    w = W[:3].T

    def loss(y0, te, t0, a, b):
        r = pi.solve_ivp(lambda t, y, a, b: lv(y, t, a, b), (t0, 2.0), y0, method=method, t_eval=te,
                         args=(a, b), **TOL)
        return pnp.sum(w * r.y)

    r = pi.solve_ivp(lambda t, y, a, b: lv(y, t, a, b), (0.0, 2.0), Y0, method=method, t_eval=te, args=(A, B), **TOL)
    ref = si.solve_ivp(lambda t, y: lv_np(y, t, A, B), (0.0, 2.0), Y0, method=method, t_eval=te, **TOL)
    assert r.success and r.y.shape == (2, 3)
    np.testing.assert_allclose(r.y, ref.y, rtol=1e-12)
    args = (Y0, te, 0.0, A, B)
    g = pb.grad(loss, argnums=(0, 1, 2, 3, 4))(*args)
    for i in range(5):
        np.testing.assert_allclose(g[i], fd_grad(loss, args, i), rtol=5e-6, atol=5e-7, err_msg=f"arg {i}")


def test_solve_ivp_without_t_eval_differentiates_the_span_ends():
    def last(y0, t0, t1, a):
        return pnp.sum(pi.solve_ivp(lambda t, y, a: lv(y, t, a, B), (t0, t1), y0, args=(a,), **TOL).y[:, -1])

    args = (Y0, 0.0, 2.0, A)
    g = pb.grad(last, argnums=(0, 1, 2, 3))(*args)
    for i in range(4):
        np.testing.assert_allclose(g[i], fd_grad(last, args, i), rtol=1e-6, atol=1e-7)


def _peak_of(fn) -> int:
    fn()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_adjoint_memory_does_not_grow_with_the_number_of_solver_steps():
    """A longer horizon of an oscillator: 7× the solver steps, the same 4 stored outputs."""
    def osc(y, t, w):
        return pnp.stack([y[1], -w * w * y[0]])

    def grad_over(horizon):
        t = np.linspace(0.0, horizon, 4)
        return lambda: pb.grad(lambda w: pnp.sum(pi.odeint(osc, np.array([1.0, 0.0]), t, args=(w,), **TOL)))(1.3)

    steps = [si.odeint(lambda y, t: [y[1], -1.69 * y[0]], [1.0, 0.0], np.linspace(0, h, 4), full_output=True,
                       **TOL)[1]["nst"][-1] for h in (5.0, 50.0)]
    assert steps[1] > 6 * steps[0]
    short, long = _peak_of(grad_over(5.0)), _peak_of(grad_over(50.0))
    assert long < 1.5 * short, (short, long)


def test_adjoint_memory_grows_only_by_the_stored_outputs():
    def f(y, t):
        return pnp.tanh(y[::-1]) - 0.5 * y

    def grad_with(N):
        t = np.linspace(0.0, 1.0, N)
        return lambda: pb.grad(lambda y0: pnp.sum(pi.odeint(f, y0, t, **TOL) ** 2))(np.linspace(-1, 1, 6))

    small, big = _peak_of(grad_with(50)), _peak_of(grad_with(500))
    per_output = 6 * 8  # bytes of one stored output
    assert big - small < 12 * per_output * 450 + 200_000, (small, big)


def test_staging_and_closures_raise_clear_errors():
    with pytest.raises(UnsupportedFunctionError, match="jit"):
        pb.jit(lambda y0: pi.odeint(lv, y0, T, args=(A, B)))(Y0)
    with pytest.raises(UnsupportedFunctionError, match="args="):
        pb.grad(lambda a: pnp.sum(pi.odeint(lambda y, t: -a * y, Y0, T)))(1.0)
    with pytest.raises(UnsupportedFunctionError, match="Dfun"):
        pi.odeint(lv, Y0, T, args=(A, B), Dfun=lambda y, t, a, b: None)
    f = lambda t, y: -y  # noqa: E731
    with pytest.raises(UnsupportedFunctionError, match="dense_output"):
        pi.solve_ivp(f, (0, 1), Y0, dense_output=True)
    with pytest.raises(UnsupportedFunctionError, match="events"):
        pi.solve_ivp(f, (0, 1), Y0, events=lambda t, y: y[0])
    with pytest.raises(UnsupportedFunctionError, match="method"):
        pi.solve_ivp(f, (0, 1), Y0, method="Euler")
    assert issubclass(pi.ODESolveError, PullbackError)


# ----------------------------------------------------------------------------- quadrature


@pytest.mark.parametrize("name", ["trapezoid", "simpson", "cumulative_trapezoid"])
@pytest.mark.parametrize("n", [2, 3, 4, 7])
def test_quadrature_values_and_derivatives(name, n, rng):
    ours, ref = getattr(pi, name), getattr(si, name)
    y = rng.standard_normal((3, n))
    x = np.cumsum(rng.uniform(0.2, 1.0, n))
    for kw in ({}, {"dx": 0.3}, {"x": x}):
        np.testing.assert_allclose(ours(y, **kw), ref(y, **kw), rtol=1e-12, atol=1e-14)
    y3 = rng.standard_normal((n, 1, 2))
    np.testing.assert_allclose(ours(y3, axis=0), ref(y3, axis=0), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours(y3, x=x, axis=-3), ref(y3, x=x, axis=-3), rtol=1e-12, atol=1e-14)
    check_grads(lambda y, x: ours(y, x=x), (y, x), order=2)
    check_grads(lambda y: ours(y, x=x, axis=0), (y3,), order=2)


def test_quadrature_third_order_and_edge_cases(rng):
    y, x = rng.standard_normal(6), np.cumsum(rng.uniform(0.2, 1.0, 6))
    check_grads(lambda y, x: pi.simpson(y * y, x=x), (y, x), order=3)
    check_grads(lambda y, x: pi.trapezoid(pnp.sin(y), x=x), (y, x), order=3)
    np.testing.assert_allclose(pi.cumulative_trapezoid(y, x=x, initial=0), si.cumulative_trapezoid(y, x=x, initial=0))
    assert pi.trapezoid(np.ones((2, 1))).shape == (2,) and np.all(pi.trapezoid(np.ones((2, 1))) == 0)
    assert pi.trapezoid(np.ones((0, 3)), axis=-1).shape == (0,)
    with pytest.raises(ValueError):
        pi.cumulative_trapezoid(y, initial=1.0)


def test_odeint_adjoint_on_a_stiff_problem_matches_the_matrix_exponential():
    """y' = −K y with eigenvalues 1 and 2000 (LSODA switches to BDF, and so does the backward solve)."""
    from scipy.linalg import expm

    Q = np.array([[1.0, 1.0], [-1.0, 1.0]]) / np.sqrt(2)
    K = Q @ np.diag([1.0, 2000.0]) @ Q.T
    t = np.array([0.0, 0.5, 2.0])
    y0 = np.array([1.0, 2.0])
    _, info = pi.odeint(lambda y, t, K: -K @ y, y0, t, args=(K,), full_output=True, **TOL)
    assert np.any(info["mused"] == 2)
    loss = lambda y0, K: pnp.sum(pi.odeint(lambda y, t, K: -K @ y, y0, t, args=(K,), **TOL)[-1])  # noqa: E731
    g = pb.grad(loss)(y0, K)
    np.testing.assert_allclose(g, expm(-2.0 * K).T @ np.ones(2), rtol=1e-6, atol=1e-9)


def test_solve_ivp_t_eval_starting_at_t0_matches_scipy_and_differentiates():
    """t_eval[0] == t_span[0] (the usual linspace) is accepted as SciPy accepts it."""
    from scipy.integrate import solve_ivp as scipy_solve_ivp

    from pullback.scipy.integrate import solve_ivp

    t_eval = np.linspace(0.0, 1.0, 5)
    y0 = np.array([1.0, 2.0])
    ours = solve_ivp(lambda t, y, k: -k * y, (0.0, 1.0), y0, t_eval=t_eval, args=(0.7,), rtol=1e-10, atol=1e-12)
    ref = scipy_solve_ivp(lambda t, y, k: -k * y, (0.0, 1.0), y0, t_eval=t_eval, args=(0.7,), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.y, ref.y, rtol=1e-12)

    def loss(k):
        r = solve_ivp(lambda t, y, k: -k * y, (0.0, 1.0), y0, t_eval=t_eval, args=(k,), rtol=1e-10, atol=1e-12)
        return pnp.sum(r.y ** 2)

    exact = np.sum(y0[:, None] ** 2 * -2 * t_eval * np.exp(-2 * 0.7 * t_eval))
    np.testing.assert_allclose(pb.grad(loss)(0.7), exact, rtol=1e-7)


def test_float32_inputs_are_solved_in_float64_as_scipy_does_with_float32_gradients():
    y0, a = Y0.astype(np.float32), np.float32(A)
    ys = pi.odeint(lv, y0, T, args=(a, B), **TOL)
    ref = si.odeint(lv_np, y0, T, args=(a, B), **TOL)
    assert ys.dtype == ref.dtype == np.float64
    np.testing.assert_allclose(ys, ref, rtol=1e-12)
    r = pi.solve_ivp(lambda t, y, a: lv(y, t, a, B), (0.0, 2.0), y0, t_eval=T[1:], args=(a,), **TOL)
    assert r.y.dtype == si.solve_ivp(lambda t, y: lv_np(y, t, a, B), (0.0, 2.0), y0, t_eval=T[1:], **TOL).y.dtype
    g32 = pb.grad(odeint_loss, argnums=(0, 2))(y0, T, a, B)
    g64 = pb.grad(odeint_loss, argnums=(0, 2))(Y0, T, A, B)
    assert g32[0].dtype == np.float32 and np.asarray(g32[1]).dtype == np.float32
    for lo, hi in zip(g32, g64):
        np.testing.assert_allclose(lo, hi, rtol=1e-6)


def _with_interval_adjoint(fn):
    """fn run with the interval-by-interval adjoint (the continuous one switched off)."""
    saved = pi._continuous_adjoint
    pi._continuous_adjoint = lambda *args: None
    try:
        return fn()
    finally:
        pi._continuous_adjoint = saved


@pytest.mark.parametrize("times", ["dense", "decreasing", "repeated"])
def test_continuous_adjoint_matches_the_interval_by_interval_adjoint(times):
    """Many output times per solver step (jump columns), times backwards, repeated times and
    output times whose cotangent is zero: one continuous backward solve, the same gradient."""
    t = {"dense": np.linspace(0.0, 3.0, 400), "decreasing": np.linspace(3.0, 0.0, 150),
         "repeated": np.array([0.0, 0.0, 0.4, 0.4, 0.9, 1.5, 1.5, 2.0])}[times]
    wts = np.random.default_rng(5).standard_normal((len(t), 2))
    wts[1::3] = 0.0

    def loss(y0, t_, a, b):
        return pnp.sum(wts * pi.odeint(lv, y0, t_, args=(a, b), **TOL))

    args = (Y0, t, A, B)
    steps = []
    saved = pi._ColumnAdjoint._step

    def counted(self, *a):
        steps.append(1)
        return saved(self, *a)

    pi._ColumnAdjoint._step = counted
    try:
        fast = pb.grad(loss, argnums=(0, 1, 2, 3))(*args)
    finally:
        pi._ColumnAdjoint._step = saved
    slow = _with_interval_adjoint(lambda: pb.grad(loss, argnums=(0, 1, 2, 3))(*args))
    assert 0 < len(steps) < max(len(t) - 1, 2) or times == "repeated"
    for f, s in zip(fast, slow):
        np.testing.assert_allclose(f, s, rtol=1e-7, atol=1e-9)
    if times == "repeated":  # (moving one of two equal times would break their order: not t)
        for i in (0, 2, 3):
            np.testing.assert_allclose(fast[i], fd_grad(loss, args, i), rtol=2e-6, atol=2e-7)


def _closure_rhs(c):
    return lambda y, t, k: -k * y + c * pnp.sin(t) * y[::-1]


def test_staged_adjoint_reused_across_calls_and_keyed_on_the_closure():
    """A fresh lambda of the same code and closure reuses the staged adjoint; another closure value does not."""
    ts = np.linspace(0.0, 2.0, 40)
    y0, k = np.array([1.0, -0.5]), 0.7

    def loss(c):
        return lambda y0_, k_: pnp.sum(pi.odeint(_closure_rhs(c), y0_, ts, args=(k_,), **TOL) ** 2)

    c1, c2 = 0.3, 1.5
    before = len(pi._COLUMN_FNS)
    g1 = pb.grad(loss(c1), argnums=(0, 1))(y0, k)
    n_keys = len(pi._COLUMN_FNS)
    g1_again = pb.grad(loss(c1), argnums=(0, 1))(y0, k)
    assert len(pi._COLUMN_FNS) == n_keys and n_keys >= min(before + 1, pi._COLUMN_CACHE_SIZE)
    g2 = pb.grad(loss(c2), argnums=(0, 1))(y0, k)
    for c, g in ((c1, g1), (c1, g1_again), (c2, g2)):
        f = loss(c)
        np.testing.assert_allclose(g[0], fd_grad(f, (y0, k), 0), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(g[1], fd_grad(f, (y0, k), 1), rtol=1e-6, atol=1e-8)
    assert not np.allclose(g1[0], g2[0])


def test_function_key_tells_apart_what_a_function_computes():
    from pullback.scipy._args import function_key, static_key

    f1, f3 = _closure_rhs(0.3), _closure_rhs(0.4)
    assert function_key(f1) is not None and function_key(f1) != function_key(f3)
    c = 0.3
    g1, g2 = _closure_rhs(c), _closure_rhs(c)
    assert function_key(g1) == function_key(g2)
    assert function_key(np.sin) is None and function_key(lambda y: y) != function_key(lambda y: y)
    assert static_key((1.0, 2, "a")) == static_key((np.ones(3), 2, "a")) != static_key((1.0, 3, "a"))
    assert static_key((1.0, [np.arange(2)])) is None
