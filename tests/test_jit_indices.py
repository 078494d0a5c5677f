"""Integer index arrays as dynamic jit arguments (gather / index_add with the index as an operand), and
the masks and bounds that must stay concrete (traced once per value)."""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback.core.ir import ShapeDtype
from pullback.primitives import gather as ga
from pullback.testing import check_grads

RNG = np.random.default_rng(1405)
X = RNG.standard_normal((4, 3))

INDICES = [
    ("vector", np.array([0, 3, 1])),
    ("repeats and negatives", np.array([-1, 2, -1, 0])),
    ("matrix", np.array([[0, 1], [3, 3]])),
    ("0-d", np.array(2)),
    ("size 0", np.array([], dtype=np.intp)),
    ("size 1", np.array([-4])),
    ("uint8", np.array([3, 0], dtype=np.uint8)),
]


@pytest.mark.parametrize("name, i", INDICES, ids=[n for n, _ in INDICES])
def test_gather_is_numpys_integer_indexing_with_derivatives(name, i):
    np.testing.assert_array_equal(ga.gather(X, i), X[i])
    np.testing.assert_array_equal(ga.gather(X[:, 0], i), X[:, 0][i])
    shape, dtype = ga.gather.shape(ShapeDtype(X.shape, X.dtype), ShapeDtype(i.shape, i.dtype))
    assert tuple(shape) == X[i].shape and dtype == X.dtype
    check_grads(lambda x: ga.gather(x, i), (X,), order=2)


@pytest.mark.parametrize("name, i", INDICES, ids=[n for n, _ in INDICES])
def test_index_add_accumulates_like_numpy_add_at_with_derivatives(name, i):
    v = RNG.standard_normal(X[i].shape)
    want = X.copy()
    np.add.at(want, i, v)
    np.testing.assert_allclose(ga.index_add(X, v, i), want, rtol=1e-15)
    shape, dtype = ga.index_add.shape(ShapeDtype(X.shape, X.dtype), ShapeDtype(v.shape, v.dtype),
                                      ShapeDtype(i.shape, i.dtype))
    assert tuple(shape) == X.shape and dtype == X.dtype
    check_grads(lambda x, v: ga.index_add(x, v, i), (X, v), order=2)


def test_gather_to_third_order_and_out_of_range_raises_like_numpy():
    i = np.array([1, 1, -2])
    check_grads(lambda x: pnp.sum(ga.gather(x, i) ** 3), (X,), order=3)
    with pytest.raises(IndexError):
        ga.gather(X, np.array([4]))
    with pytest.raises(IndexError):
        pb.jit(lambda x, i: x[i])(X, np.array([-5]))


def test_jit_traces_once_for_every_value_of_an_integer_index_argument():
    calls = []

    def f(x, i):
        calls.append(1)
        return pnp.sum(pnp.sin(x[i]) * 2.0)

    jf = pb.jit(f)
    for _ in range(3):
        i = RNG.integers(-4, 4, size=5)
        np.testing.assert_allclose(jf(X, i), np.sum(np.sin(X[i]) * 2.0), rtol=1e-14)
    assert len(calls) == 1 and len(jf.cache) == 1
    assert "gather(x, i)" in str(jf.graph(X, i)) and "x[i]" in jf.source(X, i)
    jf(X, np.array(1))  # another shape of index: another trace
    assert len(jf.cache) == 2


def test_derivatives_through_a_dynamic_gather_both_ways():
    def f(x, i):
        return pnp.sum(x[i] ** 2)

    i = np.array([0, 0, 3])
    want = np.zeros_like(X)
    np.add.at(want, i, 2 * X[i])
    np.testing.assert_allclose(pb.grad(pb.jit(f))(X, i), want, rtol=1e-14)
    jg = pb.jit(pb.grad(f))
    np.testing.assert_allclose(jg(X, i), want, rtol=1e-14)
    assert "index_add" in str(jg.graph(X, i))
    i2 = np.array([1, 2, 2])
    want2 = np.zeros_like(X)
    np.add.at(want2, i2, 2 * X[i2])
    np.testing.assert_allclose(jg(X, i2), want2, rtol=1e-14)
    assert len(jg.cache) == 1
    check_grads(lambda x: pb.jit(f)(x, i), (X,), order=2)


def test_a_traced_integer_scalar_indexes_without_being_static():
    f = pb.jit(lambda x, n: x[n] * 2.0)
    np.testing.assert_array_equal(f(X, 3), X[3] * 2.0)
    np.testing.assert_array_equal(f(X, -1), X[-1] * 2.0)
    assert len(f.cache) == 1


def test_masks_and_slice_bounds_stay_concrete_traced_once_per_value():
    calls = []

    def f(x, m):
        calls.append(1)
        return pnp.sum(x[m])

    jf = pb.jit(f)
    x = X[:, 0]
    m1, m2 = np.array([True, False, True, False]), np.array([False, True, True, True])
    assert jf(x, m1) == x[m1].sum() and jf(x, m2) == x[m2].sum() and jf(x, m1) == x[m1].sum()
    # a mask's result shape depends on its values: one trace per distinct mask (and the first, traced mask
    # abandoned when it had to be concrete)
    assert len(jf.cache) == 2 and len(calls) == 3
    with pytest.raises(pb.errors.PullbackError, match="static_argnums"):
        pb.jit(lambda x, n: x[:n])(x, 2)  # a Python integer slice bound: mark it static
    np.testing.assert_array_equal(pb.jit(lambda x, n: x[:n], static_argnums=1)(x, 2), x[:2])
