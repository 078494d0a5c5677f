"""The benchmark workloads' pullback code paths, at the tiniest sizes: derivatives are right, the runner runs.

No timing is asserted here; `make bench` measures.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import w1_mlp, w2_adjoint, w3_eager, w4_hvp, w6_jacobian, w7_gp  # noqa: E402

import pullback as pb  # noqa: E402
import pullback.numpy as pnp  # noqa: E402


def gen(seed=0):
    return np.random.default_rng(seed)


def test_w1_mlp_gradient_equals_hand_backprop():
    params, X, Y = w1_mlp.make_problem(gen(), **w1_mlp.TINY)
    v_hand, g_hand = w1_mlp.hand_value_and_grad(params, X, Y)
    v, g = w1_mlp.pullback_value_and_grad(params, X, Y)
    assert isinstance(g, list) and len(g) == len(params)
    assert all(type(a) is np.ndarray and a.shape == p.shape for a, p in zip(g, params, strict=True))
    assert abs(v - v_hand) <= 1e-12
    assert w1_mlp.max_grad_error(g_hand, g) <= 1e-10


def test_w1_hand_backprop_matches_finite_differences():
    params, X, Y = w1_mlp.make_problem(gen(1), **w1_mlp.TINY)
    _, g = w1_mlp.hand_value_and_grad(params, X, Y)
    eps = 1e-6
    for i, p in enumerate(params):
        flat = p.reshape(-1)
        j = len(flat) // 2
        old = flat[j]
        flat[j] = old + eps
        up = w1_mlp.loss(np, params, X, Y)
        flat[j] = old - eps
        down = w1_mlp.loss(np, params, X, Y)
        flat[j] = old
        assert abs((up - down) / (2 * eps) - g[i].reshape(-1)[j]) < 1e-7


def test_w2_three_methods_agree_with_hand_gradient():
    prob = w2_adjoint.make_problem(gen(2), k=3, n=4)
    phi = prob["phi"]
    F, methods = w2_adjoint.pullback_grads(prob)
    assert abs(F(phi) - w2_adjoint.numpy_F(prob, phi)) <= 1e-12
    g_hand = w2_adjoint.numpy_grad(prob, phi)
    # the hand gradient itself, against central differences of the NumPy F
    eps = 1e-6
    fd = [(w2_adjoint.numpy_F(prob, phi + eps * e) - w2_adjoint.numpy_F(prob, phi - eps * e)) / (2 * eps)
          for e in np.eye(2)]
    np.testing.assert_allclose(g_hand, fd, rtol=1e-6, atol=1e-8)
    for name, fn in methods.items():
        np.testing.assert_allclose(np.asarray(fn()), g_hand, rtol=1e-10, atol=1e-12, err_msg=name)


def test_w3_eager_loop_gradient_scalar_and_vector():
    for x in (np.float64(0.5), np.linspace(-1.0, 1.0, 4)):
        f = w3_eager.make_f(pnp, 5)
        v, g = pb.value_and_grad(f)(x)
        v_ref, g_ref = w3_eager.hand_value_and_grad(x, 5)
        assert np.shape(g) == np.shape(x)
        np.testing.assert_allclose(g, g_ref, rtol=1e-12)
        np.testing.assert_allclose(v, v_ref, rtol=1e-12)


def test_w4_rosenbrock_hvp_equals_closed_form():
    x, v = w4_hvp.make_problem(gen(4), 6)
    g, hv = pb.hvp(w4_hvp.make_f(pnp), (x,), (v,))
    g_ref, hv_ref = w4_hvp.hand_grad_hvp(x, v)
    np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(hv, hv_ref, rtol=1e-12, atol=1e-12)


def test_w5_jvp_of_mlp_loss_equals_gradient_dot_direction():
    params, X, Y = w1_mlp.make_problem(gen(5), **w1_mlp.TINY)
    d = [gen(6).standard_normal(p.shape) for p in params]
    _, g = w1_mlp.hand_value_and_grad(params, X, Y)
    out, jv = pb.jvp(lambda p: w1_mlp.loss(pnp, p, X, Y), (params,), (d,))
    assert abs(out - w1_mlp.loss(np, params, X, Y)) <= 1e-12
    assert abs(jv - sum(np.sum(a * b) for a, b in zip(g, d, strict=True))) <= 1e-10


def test_w6_jacfwd_and_jacrev_equal_closed_form():
    A, x = w6_jacobian.make_problem(gen(7), 4)
    g = w6_jacobian.make_g(pnp, A)
    J = w6_jacobian.hand_jacobian(A, x)
    np.testing.assert_allclose(pb.jacfwd(g)(x), J, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(pb.jacrev(g)(x), J, rtol=1e-12, atol=1e-12)


def test_w7_gp_gradient_equals_the_hand_written_one():
    pytest.importorskip("scipy")
    theta, x, y = w7_gp.make_problem(gen(8), **w7_gp.TINY)
    d2 = w7_gp.sqdist(x)
    v_hand, g_hand = w7_gp.hand_value_and_grad(theta, d2, y)
    v, g = pb.value_and_grad(w7_gp.pullback_nlml())(theta, d2, y)
    np.testing.assert_allclose(v, w7_gp.scipy_nlml()(theta, d2, y), rtol=1e-12)
    np.testing.assert_allclose(v, v_hand, rtol=1e-12)
    np.testing.assert_allclose(g, g_hand, rtol=1e-9, atol=1e-12)
    eps = 1e-6
    fd = [(w7_gp.scipy_nlml()(theta + eps * e, d2, y) - w7_gp.scipy_nlml()(theta - eps * e, d2, y)) / (2 * eps)
          for e in np.eye(3)]
    np.testing.assert_allclose(g_hand, fd, rtol=1e-6, atol=1e-8)


def test_w8_adjoint_odeint_gradient_matches_finite_differences():
    pytest.importorskip("scipy")
    from benchmarks import w8_ode

    y0, W, b = w8_ode.make_problem(gen(8), 3)
    loss = w8_ode.pullback_loss(np.linspace(0.0, 2.0, 6))
    g = pb.grad(loss, argnums=(0, 1, 2))(y0, W, b)
    d = [gen(9).standard_normal(a.shape) for a in (y0, W, b)]
    fd = w8_ode.directional_fd(loss, (y0, W, b), d)
    assert abs(sum(np.sum(a * v) for a, v in zip(g, d)) - fd) <= 1e-6 * abs(fd)


def test_w10_sparse_jacobian_of_pde_residual_equals_closed_form():
    pytest.importorskip("scipy")
    from benchmarks import w10_sparse

    m = 4
    u = gen(10).uniform(-1.0, 1.0, m * m)
    J = pb.SparseJacobian(w10_sparse.make_F(pnp, m), u)
    A = J(u)
    ref = w10_sparse.hand_jacobian(u, m)
    assert A.nnz == ref.nnz and J.ncolors <= 5
    np.testing.assert_allclose(A.toarray(), ref.toarray(), rtol=1e-13, atol=1e-10)
    np.testing.assert_allclose(A.toarray(), pb.jacfwd(w10_sparse.make_F(pnp, m))(u), rtol=1e-13, atol=1e-10)


@pytest.mark.parametrize("K", [1, 2, 3])
def test_w11_jet_and_nested_jvp_agree_and_match_finite_differences(K):
    from benchmarks import w11_taylor

    x, v = gen(11).uniform(-1.0, 1.0, 5), gen(12).standard_normal(5)
    f = w11_taylor.make_f(pnp)
    d_jet = pb.taylor_derivatives(f, x, v, K)[-1]
    d_nest = w11_taylor.nested(f, v, K)(x)
    np.testing.assert_allclose(d_jet, d_nest, rtol=1e-12, atol=1e-12)
    fd = w11_taylor.fd_derivative(w11_taylor.make_f(np), x, v, K, h=1e-3 if K == 1 else 1e-2)
    np.testing.assert_allclose(fd, d_nest, rtol=1e-3, atol=1e-3)


def test_runner_end_to_end_tiny_without_peers(capsys):
    from benchmarks import run

    rc = run.main(["--tiny", "--peers", "none", "--no-plots"])
    out = capsys.readouterr().out
    assert rc == 0, out
    for key in ("W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8", "W9", "W10", "W11"):
        assert f"| {key} |" in out


@pytest.mark.parametrize("peer", ["autograd"])
def test_missing_or_present_peer_never_crashes(peer, capsys):
    from benchmarks import run

    assert run.main(["--tiny", "--peers", peer, "--only", "W3", "--no-plots"]) == 0
