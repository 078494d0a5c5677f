"""Large values computed from constants alone stay equations in a staged graph (never baked in)."""

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback.core.ir import Const
from pullback.core.trace import LARGE_CONSTANT


def _consts(graph):
    return [a.value for e in graph.eqns for a in e.ins if isinstance(a, Const)]


def _loss(params, X, y):
    w, b = params[:-1], params[-1]
    z = X @ w + b
    return pnp.mean(pnp.logaddexp(0.0, z) - y * z) + 0.5e-3 * pnp.sum(w * w)


def test_reverse_seed_of_a_mean_is_not_a_full_size_constant():
    rows = 2 * LARGE_CONSTANT
    rng = np.random.default_rng(0)
    X, y, p = rng.normal(size=(rows, 3)), (rng.random(rows) > 0.5) * 1.0, rng.normal(size=4)
    graph = pb.make_graph(pb.value_and_grad(_loss), p, X, y)
    sizes = [np.size(c) for c in _consts(graph)]
    assert max(sizes) <= 16, sizes
    value, grad = pb.jit(pb.value_and_grad(_loss))(p, X, y)
    ref_value, ref_grad = pb.value_and_grad(_loss)(p, X, y)
    np.testing.assert_allclose(value, ref_value, rtol=1e-13)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("n", [LARGE_CONSTANT // 4, 4 * LARGE_CONSTANT])
def test_staged_gradient_of_a_reduction_keeps_no_large_constant(n):
    def f(x):
        return pnp.mean(pnp.sin(x) ** 2) + pnp.sum(pnp.tanh(x)) / 3.0

    x = np.linspace(-1.0, 1.0, n)
    def hessian_diagonal_probe(v):
        return pb.jvp(pb.grad(f), (v,), (0.5 * v,))[1]

    for fun in (pb.grad(f), hessian_diagonal_probe):
        graph = pb.make_graph(fun, x)
        assert [np.shape(c) for c in _consts(graph) if np.size(c) > LARGE_CONSTANT] == []
    np.testing.assert_allclose(pb.jit(pb.grad(f))(x), pb.grad(f)(x), rtol=1e-13, atol=1e-16)
    hvp = pb.jit(lambda v: pb.jvp(pb.grad(f), (x,), (v,))[1])
    np.testing.assert_allclose(hvp(x), pb.jvp(pb.grad(f), (x,), (x,))[1], rtol=1e-12, atol=1e-15)


def test_constant_expressions_outside_staging_stay_plain_numpy():
    out = pnp.broadcast_to(np.float64(1.0), (4 * LARGE_CONSTANT,)) * 2.0
    assert type(out) is np.ndarray and out.shape == (4 * LARGE_CONSTANT,)
