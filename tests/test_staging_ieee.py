"""Staging is exact in IEEE arithmetic: jit, linearize and jit(grad) equal eager mode on inf and nan.

0·x is nan for x = ±inf or nan, so the simplifier folds 0·x → 0 (and 0/x, 0 @ x) only where x is a
finite constant; every other rewrite (x·1 → x, 0 + x → x, −(−x) → x ...) holds for every input.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp

INF, NAN = np.inf, np.nan


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # log(0), 0·inf ... are the point here
        yield


def same(a, b):
    """Equal, with nan equal to nan (and the same dtype and shape)."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, (a, b)
    np.testing.assert_array_equal(a, b)


def test_times_zero_keeps_inf_and_nan_as_nan():
    x = np.array([INF, NAN, -INF, 1.0])
    expect = x * 0.0
    same(pb.jit(lambda x: x * 0.0)(x), expect)
    same(pb.jit(lambda x: 0.0 * x)(x), expect)
    assert np.isnan(pb.jit(lambda x: x * 0.0)(np.array([INF, NAN]))).all()


def test_sum_of_zero_times_log_at_zero_is_nan_as_in_numpy():
    f = lambda x: pnp.sum(0.0 * pnp.log(x))  # noqa: E731
    x = np.array([0.0, 1.0])
    assert np.isnan(f(x)) and np.isnan(pb.jit(f)(x))


def test_zero_over_a_staged_value_and_zero_matmul_are_not_folded():
    x = np.array([0.0, INF, 2.0])
    same(pb.jit(lambda x: 0.0 / x)(x), 0.0 / x)
    m = np.array([[INF, 1.0], [NAN, 2.0]])
    same(pb.jit(lambda m: np.zeros((2, 2)) @ m)(m), np.zeros((2, 2)) @ m)
    same(pb.jit(lambda m: m @ np.zeros((2, 2)))(m), m @ np.zeros((2, 2)))


def test_zero_times_a_finite_constant_still_folds():
    k = np.array([1.0, 2.0, 3.0])
    g = pb.make_graph(lambda x: x * 2.0 + (0.0 * k) * 1.0, np.ones(3)).simplify()
    assert [e.prim.name for e in g.eqns] == ["multiply"]
    g = pb.make_graph(lambda x: x + 0.0 * np.array([INF, 1.0, 1.0]), np.ones(3)).simplify()
    assert g.op_count() == 1  # 0·inf is a nan constant: folded as NumPy computes it, then added
    same(g.compile()(np.ones(3))[0], np.ones(3) + 0.0 * np.array([INF, 1.0, 1.0]))


def test_exact_rewrites_still_apply_to_staged_values():
    def f(x):
        return pnp.negative(pnp.negative(x * 1.0)) + 0.0

    g = pb.make_graph(f, np.ones(3)).simplify()
    assert g.op_count() == 0 and g.outs[0] is g.in_vars[0]
    x = np.array([INF, NAN, -0.5])
    same(pb.jit(f)(x), x)


# name -> (scalar function, point where 0·inf or 0/0 occurs)
CASES = {
    "sqrt at 0": (lambda x: pnp.sum(pnp.sqrt(x)), np.array([0.0, 1.0])),
    "std of one element": (lambda x: pnp.std(x), np.array([2.0])),
    "(x*0)**0.5": (lambda x: pnp.sum((x * 0) ** 0.5), np.array([1.0, 2.0])),
    "sum(0*log(x)) at 0": (lambda x: pnp.sum(0.0 * pnp.log(x)), np.array([0.0, 1.0])),
    "x*0 at inf": (lambda x: pnp.sum(x * 0.0 + pnp.sin(x)), np.array([INF, 1.0])),
    "var of one element, axis 0": (lambda x: pnp.sum(pnp.sqrt(pnp.var(x, axis=0))), np.array([[1.0, 2.0]])),
}


@pytest.mark.parametrize("name", list(CASES))
def test_jit_and_jit_grad_equal_eager_on_nonfinite_derivatives(name):
    f, x = CASES[name]
    same(pb.jit(f)(x), f(x))
    same(pb.jit(pb.grad(f))(x), pb.grad(f)(x))
    same(pb.jit(pb.value_and_grad(f))(x)[1], pb.grad(f)(x))


@pytest.mark.parametrize("name", list(CASES))
def test_linearize_equals_jvp_on_nonfinite_derivatives(name):
    f, x = CASES[name]
    for t in (np.ones_like(x), np.zeros_like(x), np.arange(x.size, dtype=float).reshape(x.shape)):
        out, f_jvp = pb.linearize(f, x)
        p, tangent = pb.jvp(f, (x,), (t,))
        same(out, p)
        same(f_jvp(t), tangent)
        same(pb.jit(lambda x, t: pb.jvp(f, (x,), (t,))[1])(x, t), tangent)


@pytest.mark.parametrize("name", list(CASES))
def test_jit_of_vjp_and_of_second_derivatives_equal_eager(name):
    f, x = CASES[name]
    ct = np.float64(1.0)
    eager = pb.vjp(f, x)[1](ct)[0]
    same(pb.jit(lambda x: pb.vjp(f, x)[1](ct)[0])(x), eager)
    v = np.ones_like(x)
    hvp = lambda x: pb.jvp(pb.grad(f), (x,), (v,))[1]  # noqa: E731
    same(pb.jit(hvp)(x), hvp(x))
