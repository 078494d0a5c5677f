"""Nested derivatives: every composition of forward and reverse mode to order 3,
freedom from perturbation confusion, and the seed problem (a function that itself
calls vjp inside an adjoint recursion) differentiated by every mode."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp

RNG = np.random.default_rng(1)
MODES = ("fwd", "rev")


def D(mode: str, f):
    """The derivative of a scalar function of a scalar, by forward or reverse mode."""
    if mode == "fwd":
        return lambda x: pb.jvp(f, (x,), (1.0,))[1]
    return lambda x: pb.vjp(f, x)[1](1.0)[0]


def sin_exp(x):
    return pnp.sin(x) * pnp.exp(x)


# d^k/dx^k sin(x) e^x = 2^(k/2) e^x sin(x + k π/4)
def sin_exp_deriv(k, x):
    return 2.0 ** (k / 2) * np.exp(x) * np.sin(x + k * np.pi / 4)


def _fd(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / (2 * h)


# ----------------------------------------------------------------------------- order 3, all modes


@pytest.mark.parametrize("modes", list(itertools.product(MODES, repeat=3)), ids="-".join)
def test_third_derivative_of_sin_exp_by_every_mode_combination(modes):
    d3 = D(modes[0], D(modes[1], D(modes[2], sin_exp)))
    for x in (-0.8, 0.0, 0.5, 1.7):
        got = d3(x)
        assert isinstance(got, (np.ndarray, np.generic))
        np.testing.assert_allclose(got, sin_exp_deriv(3, x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("modes", list(itertools.product(MODES, repeat=2)), ids="-".join)
def test_third_derivative_agrees_with_finite_differences_of_second(modes):
    d2 = D(modes[0], D(modes[1], sin_exp))
    for outer in MODES:
        d3 = D(outer, d2)
        for x in (-0.4, 0.9):
            np.testing.assert_allclose(d2(x), sin_exp_deriv(2, x), rtol=1e-12)
            np.testing.assert_allclose(d3(x), _fd(d2, x), rtol=1e-7)


def test_second_derivative_agrees_with_finite_differences_of_first():
    for m1, m2 in itertools.product(MODES, repeat=2):
        d1 = D(m2, sin_exp)
        d2 = D(m1, d1)
        np.testing.assert_allclose(d2(0.3), _fd(d1, 0.3), rtol=1e-8)


def test_grad_of_grad_of_grad_matches_analytic():
    d3 = pb.grad(pb.grad(pb.grad(sin_exp)))
    np.testing.assert_allclose(d3(0.5), sin_exp_deriv(3, 0.5), rtol=1e-12)


def test_fourth_derivative_mixed_modes():
    d4 = D("rev", D("fwd", D("rev", D("fwd", sin_exp))))
    np.testing.assert_allclose(d4(0.25), sin_exp_deriv(4, 0.25), rtol=1e-12)


def _cube(x, a):  # f(x) = (a·x)^3: third derivative tensor 6 a⊗a⊗a
    return pnp.sum(a * x) ** 3


@pytest.mark.parametrize("jacs", list(itertools.product((pb.jacfwd, pb.jacrev), repeat=3)),
                         ids=lambda js: "-".join(j.__name__ for j in js))
def test_third_derivative_tensor_by_every_jacobian_combination(jacs):
    a, x = RNG.standard_normal(3), RNG.standard_normal(3)
    f = lambda x: _cube(x, a)
    T = jacs[0](jacs[1](jacs[2](f)))(x)
    assert T.shape == (3, 3, 3)
    np.testing.assert_allclose(T, 6 * np.einsum("i,j,k->ijk", a, a, a), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("outer", ["fwd", "rev"])
def test_hessian_of_vector_function_via_nested_vjp_and_jvp(outer):
    # H_ij of f(x) = sum(sin(x) * exp(x[::-1])), built from directional second derivatives
    f = lambda x: pnp.sum(pnp.sin(x) * pnp.exp(x[::-1]))
    x = RNG.standard_normal(3)
    H_ref = pb.hessian(f)(x)
    g = pb.grad(f)
    n = len(x)
    for i in range(n):
        e = np.eye(n)[i]
        if outer == "fwd":
            col = pb.jvp(g, (x,), (e,))[1]
        else:
            col = pb.vjp(g, x)[1](e)[0]
        np.testing.assert_allclose(col, H_ref[:, i], rtol=1e-12, atol=1e-12)
    # analytic: ∂f/∂x_k = cos(x_k) e^{x_j} + sin(x_j) e^{x_k} with j = n-1-k
    H = np.zeros((n, n))
    for k in range(n):
        j = n - 1 - k
        H[k, k] += -np.sin(x[k]) * np.exp(x[j]) + np.sin(x[j]) * np.exp(x[k])
        H[k, j] += np.cos(x[k]) * np.exp(x[j]) + np.cos(x[j]) * np.exp(x[k])
    np.testing.assert_allclose(H_ref, H, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- perturbation confusion


@pytest.mark.parametrize("outer,inner", list(itertools.product(MODES, repeat=2)))
def test_no_perturbation_confusion_x_times_derivative_of_x_plus_y(outer, inner):
    # d/dx [x * d/dy (x + y)|_{y=1}] = d/dx [x * 1] = 1 at every x (a confused AD gives 2)
    def f(x):
        return x * D(inner, lambda y: x + y)(1.0)

    for x in (-2.0, 0.0, 1.0, 3.5):
        assert D(outer, f)(x) == 1.0


def test_no_perturbation_confusion_with_grad():
    f = lambda x: x * pb.grad(lambda y: x + y)(1.0)
    assert pb.grad(f)(1.0) == 1.0
    assert pb.grad(f)(7.0) == 1.0


def test_siskind_pearlmutter_d_of_lambda_x_times_d_lambda_y_x_plus_y_at_1_is_1():
    # D (λx. x * D (λy. x + y) 1) 1 = 1
    d = pb.grad(lambda x: x * pb.grad(lambda y: x + y)(1.0))(1.0)
    assert d == 1.0
    _, t = pb.jvp(lambda x: x * pb.jvp(lambda y: x + y, (1.0,), (1.0,))[1], (1.0,), (1.0,))
    assert t == 1.0


@pytest.mark.parametrize("outer,inner", list(itertools.product(MODES, repeat=2)))
def test_siskind_pearlmutter_nested_closure_x_times_derivative_of_x_times_y(outer, inner):
    # d/dx (x * (d/dy (x*y))(y=2)) = d/dx x^2 = 2x, so 2 at x = 1 (and 2x elsewhere)
    f = lambda x: x * D(inner, lambda y: x * y)(2.0)
    for x in (1.0, -0.5, 3.0):
        np.testing.assert_allclose(D(outer, f)(x), 2 * x, rtol=0, atol=0)


def test_inner_derivative_with_respect_to_the_same_variable_as_outer():
    # d/dx [x * d/dx(x^2)] = d/dx 2x^2 = 4x, with the inner derivative taken at the outer x itself
    for outer, inner in itertools.product(MODES, repeat=2):
        f = lambda x, inner=inner: x * D(inner, lambda z: z**2)(x)
        np.testing.assert_allclose(D(outer, f)(1.5), 6.0)


def test_inner_gradient_closes_over_outer_vector():
    # f(a) = sum( grad_x [sum(a * x^2)] at x=1 ) = sum(2 a) so grad_a f = 2
    a = RNG.standard_normal(3)
    f = lambda a: pnp.sum(pb.grad(lambda x: pnp.sum(a * x**2))(np.ones(3)))
    np.testing.assert_allclose(pb.grad(f)(a), np.full(3, 2.0))
    np.testing.assert_allclose(pb.jvp(f, (a,), (np.ones(3),))[1], 6.0)


def test_three_levels_each_closing_over_the_one_outside():
    # h(x) = x * d/dy [ y * d/dz (x*y*z) ]|_{z=1,y=1} = x * d/dy [x*y^2] = 2x^2 ⇒ h'(x) = 4x
    def h(x):
        def g(y):
            return y * pb.grad(lambda z: x * y * z)(1.0)

        return x * pb.grad(g)(1.0)

    for x in (0.5, 2.0):
        np.testing.assert_allclose(pb.grad(h)(x), 4 * x)
        np.testing.assert_allclose(pb.jvp(h, (x,), (1.0,))[1], 4 * x)


def test_values_and_aux_returned_by_an_inner_transformation_carry_the_outer_derivative():
    # d/da of quantities computed inside an inner grad/vjp/jacobian that depend on a
    assert pb.grad(lambda a: pb.value_and_grad(lambda x: x * a)(3.0)[0])(2.0) == 3.0
    assert pb.grad(lambda a: pb.vjp(lambda x: x * a, 3.0)[0])(2.0) == 3.0
    assert pb.grad(lambda a: pb.grad(lambda x: (x * a, x * a * a), has_aux=True)(1.0)[1])(2.0) == 4.0
    assert pb.grad(lambda a: pb.vjp(lambda x: (x * a, a * a), 3.0, has_aux=True)[2])(2.0) == 4.0
    assert pb.jvp(lambda a: pb.vjp(lambda x: (x * a, a * a), 3.0, has_aux=True)[2], (2.0,), (1.0,))[1] == 4.0
    for jac in (pb.jacfwd, pb.jacrev):
        assert pb.grad(lambda a, jac=jac: jac(lambda x: (x * a, a**3), has_aux=True)(3.0)[1])(2.0) == 12.0


def test_jvp_by_vjp_and_hvp_under_an_outer_grad():
    x, v, w = RNG.standard_normal(3), RNG.standard_normal(3), RNG.standard_normal(3)
    # d/dx <w, J_sin(x) v> = -sin(x) * v * w
    g = pb.grad(lambda x: pnp.sum(w * pb.jvp_by_vjp(pnp.sin, (x,), (v,))[1]))(x)
    np.testing.assert_allclose(g, -np.sin(x) * v * w, rtol=1e-12)
    # f = sum(x^4): H v = 12 x^2 v, d/dx <w, H v> = 24 x v w
    f = lambda x: pnp.sum(x**4)
    for mode in ("fwd", "rev"):
        g = pb.grad(lambda x, mode=mode: pnp.sum(w * pb.hvp(f, (x,), (v,), mode=mode)[1]))(x)
        np.testing.assert_allclose(g, 24 * x * v * w, rtol=1e-12)
        _, t = pb.jvp(lambda x, mode=mode: pb.hvp(f, (x,), (v,), mode=mode)[1], (x,), (w,))
        np.testing.assert_allclose(t, 24 * x * v * w, rtol=1e-12)


def test_vjp_fn_made_inside_is_differentiated_with_respect_to_its_cotangent_and_point():
    # u ↦ vjp_fn(u) is linear; d/dx <vjp_fn_x(u), v> = d/dx u^T J(x) v
    A = RNG.standard_normal((3, 3))
    x, u, v = RNG.standard_normal(3), RNG.standard_normal(3), RNG.standard_normal(3)

    def inner(x):
        _, vjp_fn = pb.vjp(lambda y: pnp.tanh(A @ y), x)
        return pnp.sum(vjp_fn(u)[0] * v)

    s = 1 - np.tanh(A @ x) ** 2
    # u^T diag(s) A v, with ds/dz = -2 tanh(z) s, z = A x
    expected = A.T @ (u * (-2 * np.tanh(A @ x) * s) * (A @ v))
    np.testing.assert_allclose(inner(x), u @ (s * (A @ v)), rtol=1e-12)
    np.testing.assert_allclose(pb.grad(inner)(x), expected, rtol=1e-11)
    np.testing.assert_allclose(pb.jvp(inner, (x,), (v,))[1], expected @ v, rtol=1e-11)


# ----------------------------------------------------------------------------- the seed problem

K, N = 4, 5


def _seed_setup():
    rng = np.random.default_rng(42)
    W = rng.standard_normal((K, K)) / np.sqrt(K)
    theta = 0.3 * rng.standard_normal(K)
    f = rng.standard_normal(K)
    x0 = rng.standard_normal(K)
    xs = [x0]
    for _ in range(N):  # trajectory x_{i+1} = h(x_i, θ), independent of φ
        xs.append(np.tanh(W @ xs[-1] + theta))
    return W, theta, f, xs


W_, THETA_, F_, XS_ = _seed_setup()


def h(x, theta):
    return pnp.tanh(W_ @ x + theta)


def p(x):
    return 0.5 * pnp.sum(x**2)


def beta(i, phi):
    return pnp.sin(phi[0] * (i + 1) / N) + phi[1] ** 2 * np.cos(i) + phi[0] * phi[1]


def beta_grad(i, phi):
    c = np.cos(phi[0] * (i + 1) / N) * (i + 1) / N
    return np.array([c + phi[1], 2 * phi[1] * np.cos(i) + phi[0]])


def seed_F(phi):
    """F(φ) = Σ_i fᵀ (∂h_i/∂θ)ᵀ λ_i, λ_{i-1} = (∂h_i/∂x)ᵀ λ_i + (∂p_i/∂x)ᵀ β_i(φ), λ_n = 0, all by vjp."""
    lam = np.zeros(K)
    total = 0.0
    for i in range(N, -1, -1):
        _, h_vjp = pb.vjp(h, XS_[i], THETA_)
        lam_x, lam_theta = h_vjp(lam)
        total = total + pnp.sum(F_ * lam_theta)
        if i > 0:
            _, p_vjp = pb.vjp(p, XS_[i])
            (dp,) = p_vjp(beta(i, phi))
            lam = lam_x + dp
    return total


def seed_F_reference(phi):
    """The same F and ∇F with explicit Jacobians: ∂h/∂x = diag(1-h²) W, ∂h/∂θ = diag(1-h²)."""
    lam, dlam = np.zeros(K), np.zeros((K, 2))
    total, dtotal = 0.0, np.zeros(2)
    for i in range(N, -1, -1):
        s = 1 - np.tanh(W_ @ XS_[i] + THETA_) ** 2
        Jx, Jt = s[:, None] * W_, np.diag(s)
        total += F_ @ (Jt.T @ lam)
        dtotal += F_ @ (Jt.T @ dlam)
        if i > 0:
            b = np.sin(phi[0] * (i + 1) / N) + phi[1] ** 2 * np.cos(i) + phi[0] * phi[1]
            lam, dlam = Jx.T @ lam + XS_[i] * b, Jx.T @ dlam + np.outer(XS_[i], beta_grad(i, phi))
    return total, dtotal


PHI = np.array([0.7, -0.4])


def test_seed_F_value_matches_explicit_jacobian_reference():
    np.testing.assert_allclose(seed_F(PHI), seed_F_reference(PHI)[0], rtol=1e-12)


def test_seed_gradient_reverse_over_reverse_matches_reference_and_finite_differences():
    g = pb.grad(seed_F)(PHI)
    assert type(g) is np.ndarray and g.shape == (2,)
    np.testing.assert_allclose(g, seed_F_reference(PHI)[1], rtol=1e-11)
    eps = 1e-6
    fd = np.array([(seed_F(PHI + eps * e) - seed_F(PHI - eps * e)) / (2 * eps) for e in np.eye(2)])
    np.testing.assert_allclose(g, fd, rtol=1e-7, atol=1e-9)


def test_seed_gradient_forward_over_reverse_equals_reverse_over_reverse():
    g = pb.grad(seed_F)(PHI)
    for e in np.eye(2):
        _, t = pb.jvp(seed_F, (PHI,), (e,))
        np.testing.assert_allclose(t, g @ e, rtol=1e-11)
    v = RNG.standard_normal(2)
    np.testing.assert_allclose(pb.jvp(seed_F, (PHI,), (v,))[1], g @ v, rtol=1e-11)


def test_seed_gradient_by_jvp_by_vjp_equals_reverse_over_reverse():
    g = pb.grad(seed_F)(PHI)
    for e in np.eye(2):
        _, t = pb.jvp_by_vjp(seed_F, (PHI,), (e,))
        np.testing.assert_allclose(t, g @ e, rtol=1e-11)


def test_seed_gradient_through_value_and_grad_and_jacrev_jacfwd():
    v, g = pb.value_and_grad(seed_F)(PHI)
    ref_v, ref_g = seed_F_reference(PHI)
    np.testing.assert_allclose(v, ref_v, rtol=1e-12)
    np.testing.assert_allclose(g, ref_g, rtol=1e-11)
    np.testing.assert_allclose(pb.jacfwd(seed_F)(PHI), ref_g, rtol=1e-11)
    np.testing.assert_allclose(pb.jacrev(seed_F)(PHI), ref_g, rtol=1e-11)


def test_seed_hessian_forward_over_reverse_over_reverse_matches_finite_differences():
    H = pb.hessian(seed_F)(PHI)
    eps = 1e-5
    fd = np.stack([(seed_F_reference(PHI + eps * e)[1] - seed_F_reference(PHI - eps * e)[1]) / (2 * eps)
                   for e in np.eye(2)])
    np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(H, H.T, rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------- optional oracles


def test_third_derivatives_and_seed_gradient_match_jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    d3 = jax.grad(jax.grad(jax.grad(lambda x: jnp.sin(x) * jnp.exp(x))))
    for x in (-0.3, 1.1):
        np.testing.assert_allclose(pb.grad(pb.grad(pb.grad(sin_exp)))(x), float(d3(x)), rtol=1e-12)

    W, theta, f = jnp.asarray(W_), jnp.asarray(THETA_), jnp.asarray(F_)

    def jF(phi):
        hj = lambda x, th: jnp.tanh(W @ x + th)
        lam, total = jnp.zeros(K), 0.0
        for i in range(N, -1, -1):
            _, h_vjp = jax.vjp(hj, jnp.asarray(XS_[i]), theta)
            lam_x, lam_theta = h_vjp(lam)
            total = total + jnp.sum(f * lam_theta)
            if i > 0:
                b = jnp.sin(phi[0] * (i + 1) / N) + phi[1] ** 2 * np.cos(i) + phi[0] * phi[1]
                lam = lam_x + jnp.asarray(XS_[i]) * b
        return total

    np.testing.assert_allclose(pb.grad(seed_F)(PHI), np.asarray(jax.grad(jF)(jnp.asarray(PHI))), rtol=1e-11)


def test_nested_derivatives_match_autograd():
    autograd = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    f_ag = lambda x: anp.sum(anp.tanh(x) * anp.exp(anp.sin(x[::-1])))
    f_pb = lambda x: pnp.sum(pnp.tanh(x) * pnp.exp(pnp.sin(x[::-1])))
    x = RNG.standard_normal(4)
    np.testing.assert_allclose(pb.hessian(f_pb)(x), autograd.hessian(f_ag)(x), rtol=1e-11, atol=1e-13)
    g3_ag = autograd.grad(lambda x: anp.sum(autograd.grad(autograd.grad(lambda y: anp.sum(anp.sin(y) ** 3)))(x)))
    g3_pb = pb.grad(lambda x: pnp.sum(pb.grad(pb.grad(lambda y: pnp.sum(pnp.sin(y) ** 3)))(x)))
    np.testing.assert_allclose(g3_pb(1.3), g3_ag(1.3), rtol=1e-12)


def test_third_derivative_tensor_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.autograd.functional import jacobian

    A = RNG.standard_normal((3, 3))
    x = RNG.standard_normal(3)
    f_pb = lambda x: pnp.sum(pnp.tanh(A @ x) ** 2)
    At = torch.tensor(A)

    def g_t(x):
        return jacobian(lambda y: (torch.tanh(At @ y) ** 2).sum(), x, create_graph=True)

    def h_t(x):
        return jacobian(g_t, x, create_graph=True)

    T_torch = jacobian(h_t, torch.tensor(x)).numpy()
    T_pb = pb.jacfwd(pb.jacrev(pb.grad(f_pb)))(x)
    np.testing.assert_allclose(T_pb, T_torch, rtol=1e-10, atol=1e-12)
