"""pb.jet and pb.taylor_derivatives under grad, jacfwd, vmap and jit: they equal the same
transformations of nested jvp, and pass check_grads (finite differences, dot-product test) to
order 2."""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp

RNG = np.random.default_rng(3)
M = RNG.standard_normal((3, 4))

FUNCS = [
    ("exp_sin", lambda x: pnp.exp(0.5 * x) * pnp.sin(x)),
    ("log_tanh_div", lambda x: pnp.log(x + 1.0) * pnp.tanh(x) / (x + 2.0)),
    ("matmul_pow", lambda x: M @ (x + 1.0) ** 1.5),
    ("fallback_arctan", lambda x: pnp.arctan(x) * pnp.cos(x)),  # arctan: no rule, nested-jvp fallback
]


def _nested(f, x, v, k):
    d = lambda t: f(x + t * v)  # noqa: E731
    for _ in range(k):
        d = (lambda h: lambda t: pb.jvp(h, (t,), (1.0,))[1])(d)
    return d(0.0)


@pytest.mark.parametrize("name,f", FUNCS, ids=[c[0] for c in FUNCS])
def test_derivatives_of_jet_equal_derivatives_of_nested_jvp(name, f):
    x, v = RNG.uniform(0.2, 0.9, 4), RNG.standard_normal(4)
    K = 3

    def by_jet(x, v):
        return pb.taylor_derivatives(f, x, v, order=K)[K - 1]

    def by_nested(x, v):
        return _nested(f, x, v, K)

    for argnums in (0, 1):
        np.testing.assert_allclose(pb.jacfwd(by_jet, argnums=argnums)(x, v),
                                   pb.jacfwd(by_nested, argnums=argnums)(x, v), rtol=1e-11, atol=1e-11)
        np.testing.assert_allclose(pb.jacrev(by_jet, argnums=argnums)(x, v),
                                   pb.jacfwd(by_nested, argnums=argnums)(x, v), rtol=1e-11, atol=1e-11)
    scalar = lambda x: pnp.sum(by_jet(x, v) ** 2)  # noqa: E731
    np.testing.assert_allclose(pb.hessian(scalar)(x), pb.hessian(lambda x: pnp.sum(by_nested(x, v) ** 2))(x),
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name,f", FUNCS, ids=[c[0] for c in FUNCS])
def test_jet_passes_check_grads_to_order_two(name, f):
    x, v = RNG.uniform(0.2, 0.9, 4), RNG.standard_normal(4)

    def all_terms(x, v, w):
        out, (d1, d2) = pb.jet(f, (x,), ([v, w],))
        return pnp.concatenate([out, d1, d2])

    pb.testing.check_grads(all_terms, (x, v, RNG.standard_normal(4)), order=2, modes=("fwd", "rev"))


def test_vmap_over_points_and_directions():
    f = FUNCS[1][1]
    X, V = RNG.uniform(0.2, 0.9, (5, 4)), RNG.standard_normal((5, 4))

    def d3(x, v):
        return pnp.stack(pb.taylor_derivatives(f, x, v, order=3))

    batched = pb.vmap(d3)(X, V)
    assert batched.shape == (5, 3, 4)
    for i in range(5):
        np.testing.assert_allclose(batched[i], d3(X[i], V[i]), rtol=1e-13, atol=1e-13)
    # a shared direction, batched points (in_axes=(0, None)), and jit around the whole thing
    shared = pb.jit(pb.vmap(d3, in_axes=(0, None)))(X, V[0])
    for i in range(5):
        np.testing.assert_allclose(shared[i], d3(X[i], V[0]), rtol=1e-13, atol=1e-13)
    # per-example gradients of a Taylor coefficient
    g = pb.vmap(pb.grad(lambda x, v: pnp.sum(d3(x, v)[2])))(X, V)
    for i in range(5):
        np.testing.assert_allclose(g[i], pb.grad(lambda x, i=i: pnp.sum(_nested(f, x, V[i], 3)))(X[i]), rtol=1e-11,
                                   atol=1e-11)
