"""checkpoint and checkpoint_scan: same derivatives as plain reverse mode, less memory."""

import tracemalloc

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp

K = 5
RNG = np.random.default_rng(3)
W = RNG.standard_normal((K, K)) / 2
THETA = RNG.standard_normal(K)
X0 = RNG.standard_normal(K)
XS = RNG.standard_normal(17)


def trajectory(scanner, **kw):
    """A loss over a scan whose step closes over the parameter being differentiated (theta)."""

    def loss(theta, x0, xs):
        def step(x, xi):
            x = pnp.tanh(W @ x + theta * xi + 0.5 * theta)
            return x, (pnp.sum(x), x[:2])

        c, (ys, zs) = scanner(step, x0, xs, **kw)
        return pnp.sum(c * c) + pnp.sum(ys**2) + pnp.sum(zs**3)

    return loss


PLAIN = trajectory(pb.scan)


@pytest.mark.parametrize("segment_length", [None, 1, 4, 17, 100])
def test_checkpoint_scan_gradient_equals_plain_scan(segment_length):
    ck = trajectory(pb.checkpoint_scan, segment_length=segment_length)
    g_plain = pb.grad(PLAIN, argnums=(0, 1, 2))(THETA, X0, XS)
    g_ck = pb.grad(ck, argnums=(0, 1, 2))(THETA, X0, XS)
    for a, b in zip(g_plain, g_ck):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)


def test_checkpoint_scan_value_and_forward_mode_equal_plain():
    ck = trajectory(pb.checkpoint_scan)
    t = (np.ones(K), np.ones(K), np.ones(len(XS)))
    v1, jv1 = pb.jvp(PLAIN, (THETA, X0, XS), t)
    v2, jv2 = pb.jvp(ck, (THETA, X0, XS), t)
    np.testing.assert_allclose(v2, v1, rtol=1e-13)
    np.testing.assert_allclose(jv2, jv1, rtol=1e-12)


def test_checkpoint_scan_second_order_and_fd():
    ck = trajectory(pb.checkpoint_scan)
    h_plain = pb.hessian(PLAIN)(THETA, X0, XS)
    h_ck = pb.hessian(ck)(THETA, X0, XS)
    np.testing.assert_allclose(h_ck, h_plain, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(pb.hvp(lambda th: ck(th, X0, XS), (THETA,), (X0,), mode="rev")[1],
                               h_plain @ X0, rtol=1e-10, atol=1e-12)
    pb.testing.check_grads(lambda th: ck(th, X0, XS), (THETA,), order=2)


def test_checkpoint_scan_under_vmap_and_jit():
    ck = trajectory(pb.checkpoint_scan)
    g = pb.grad(lambda th: ck(th, X0, XS))
    thetas = np.stack([THETA, 2 * THETA])
    np.testing.assert_allclose(pb.vmap(g)(thetas), np.stack([g(THETA), g(2 * THETA)]), rtol=1e-12)
    np.testing.assert_allclose(pb.jit(g)(THETA), g(THETA), rtol=1e-12)


def test_checkpointed_function_matches_plain_and_closure_gets_gradient():
    def block(x, theta):
        return pnp.sin(W @ x + theta) * pnp.exp(theta)

    def plain(theta, x):
        return pnp.sum(block(block(x, theta), theta) ** 2)

    def ck(theta, x):
        f = pb.checkpoint(lambda x: block(x, theta))  # closes over theta
        return pnp.sum(f(f(x)) ** 2)

    for argnums in (0, 1, (0, 1)):
        a = pb.grad(plain, argnums=argnums)(THETA, X0)
        b = pb.grad(ck, argnums=argnums)(THETA, X0)
        for u, v in zip(np.atleast_1d(a) if argnums != (0, 1) else a, np.atleast_1d(b) if argnums != (0, 1) else b):
            np.testing.assert_allclose(v, u, rtol=1e-12)
    np.testing.assert_allclose(pb.hessian(ck)(THETA, X0), pb.hessian(plain)(THETA, X0), rtol=1e-10)


def _peak_bytes(fn) -> int:
    fn()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_checkpoint_scan_stores_far_less_than_plain_reverse_mode():
    k, n = 32, 900
    Wb = np.random.default_rng(0).standard_normal((k, k)) / np.sqrt(k)

    def loss(scanner):
        def f(x0):
            c, _ = scanner(lambda x, _: (pnp.tanh(Wb @ x), None), x0, None, length=n)
            return pnp.sum(c)

        return pb.grad(f)

    x0 = np.ones(k)
    np.testing.assert_allclose(loss(pb.checkpoint_scan)(x0), loss(pb.scan)(x0), rtol=1e-12)
    plain, ck = _peak_bytes(lambda: loss(pb.scan)(x0)), _peak_bytes(lambda: loss(pb.checkpoint_scan)(x0))
    assert ck * 5 < plain, (ck, plain)


def test_checkpoint_scan_requires_length_or_xs():
    with pytest.raises(ValueError, match="length"):
        pb.checkpoint_scan(lambda c, x: (c, None), 1.0)
