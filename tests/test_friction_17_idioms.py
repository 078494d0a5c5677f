"""Issue 17, NumPy idioms: what works in NumPy, JAX or autograd and must work on traced values."""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback.errors import PullbackError, TracerConversionError, UnsupportedFunctionError
from pullback.testing import check_grads

# ============================================================================ y = zeros(n); y[i] = traced


@pytest.mark.parametrize("make", [
    lambda n: pnp.zeros(n), lambda n: pnp.ones(n), lambda n: pnp.empty(n), lambda n: pnp.full(n, 2.0),
    lambda n: pnp.zeros_like(np.ones(n)), lambda n: pnp.ones_like(np.ones(n)), lambda n: pnp.empty_like(np.ones(n)),
    lambda n: pnp.full_like(np.ones(n), 3.0), lambda n: pnp.zeros((n,), dtype=np.float64),
], ids=["zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like", "full_like", "zeros_dtype"])
def test_created_arrays_accept_traced_values_assigned_in_place(make):
    def f(x):
        y = make(4)
        y[:] = 0.0
        y[1] = x[0] * x[1]
        y[2:] = pnp.sin(x)
        y[-1] += x[0]
        return y

    x = np.array([0.3, -1.2])
    want = np.array([0.0, x[0] * x[1], np.sin(x[0]), np.sin(x[1]) + x[0]])
    np.testing.assert_allclose(f(x), want)  # eager: plain NumPy
    np.testing.assert_allclose(pb.jit(f)(x), want)
    check_grads(f, (x,), order=2)
    jac = pb.jacrev(f)(x)
    np.testing.assert_allclose(jac, pb.jacfwd(f)(x))
    np.testing.assert_allclose(pb.vmap(f)(np.stack([x, 2 * x])), np.stack([f(x), f(2 * x)]))


def test_integer_zeros_stay_plain_masks_and_outside_a_transformation_nothing_changes():
    def f(x):
        mask = pnp.zeros(3, dtype=bool)
        mask[1] = True
        idx = pnp.zeros(2, dtype=int)
        assert type(mask) is np.ndarray and type(idx) is np.ndarray
        return pnp.sum(x[mask]) + x[idx[0]]

    np.testing.assert_array_equal(pb.grad(f)(np.ones(3)), [1.0, 1.0, 0.0])
    assert type(pnp.zeros(3)) is np.ndarray and type(pnp.full(2, 1.0)) is np.ndarray


def test_a_plain_numpy_array_refuses_traced_values_and_names_the_ways_out():
    def augmented(x):
        y = np.zeros(2)
        y += x
        return pnp.sum(y)

    with pytest.raises(UnsupportedFunctionError) as err:
        pb.grad(augmented)(np.ones(2))
    msg = str(err.value)
    assert "`y += x`" in msg and "y = y + x" in msg and "pnp.zeros" in msg and "Drop out=" not in msg
    with pytest.raises(UnsupportedFunctionError, match=r"Drop out= and use the returned value"):
        pb.grad(lambda x: pnp.sum(np.sin(x, out=np.empty(2))))(np.ones(2))  # an explicit out= keeps its message


# ============================================================================ r_ and c_


def test_r_and_c_concatenate_traced_entries_like_numpy():
    x, y = np.array([0.5, -1.0]), np.array([2.0, 3.0])
    cases = [
        (lambda a, b: pnp.r_[a, b], lambda a, b: np.r_[a, b]),
        (lambda a, b: pnp.r_[a, 0.5, b[0], 1:3], lambda a, b: np.r_[a, 0.5, b[0], 1:3]),
        (lambda a, b: pnp.r_[a, 0:1:3j], lambda a, b: np.r_[a, 0:1:3j]),
        (lambda a, b: pnp.r_["0,2", a, b], lambda a, b: np.r_["0,2", a, b]),
        (lambda a, b: pnp.r_["1,2,0", a, b], lambda a, b: np.r_["1,2,0", a, b]),
        (lambda a, b: pnp.r_["-1", pnp.reshape(a, (1, 2)), pnp.reshape(b, (1, 2))],
         lambda a, b: np.r_["-1", a.reshape(1, 2), b.reshape(1, 2)]),
        (lambda a, b: pnp.c_[a, b], lambda a, b: np.c_[a, b]),
        (lambda a, b: pnp.c_[a, b, pnp.ones(2)], lambda a, b: np.c_[a, b, np.ones(2)]),
    ]
    for f, f_np in cases:
        np.testing.assert_array_equal(pb.jvp(f, (x, y), (x, y))[0], f_np(x, y))
        check_grads(f, (x, y), order=2)
    np.testing.assert_array_equal(pnp.r_[1, 2, 3], np.r_[1, 2, 3])  # plain: NumPy's own
    np.testing.assert_array_equal(pnp.c_[np.ones(2), np.zeros(2)], np.c_[np.ones(2), np.zeros(2)])
    with pytest.raises(UnsupportedFunctionError, match="matrix"):
        pb.grad(lambda a: pnp.sum(pnp.r_["r", a]))(x)
    with pytest.raises(TracerConversionError, match="NumPy's own function"):
        pb.grad(lambda a: pnp.sum(np.r_[a, a]))(x)  # NumPy's own r_ cannot see traced values


# ============================================================================ vectorize


def test_vectorize_is_differentiable_with_python_control_flow_per_element():
    def piece(a, b):
        return a * b if a > 0 else pnp.sin(a) - b

    vf = pnp.vectorize(piece)
    x, y = np.array([[0.5, -1.0, 2.0]]), np.array([[1.5], [-0.3]])
    want = np.vectorize(lambda a, b: a * b if a > 0 else np.sin(a) - b)(x, y)
    np.testing.assert_allclose(pb.jvp(vf, (x, y), (x, y))[0], want)
    check_grads(vf, (x, y), order=2)
    np.testing.assert_allclose(vf(x, y), want)  # plain inputs: numpy.vectorize
    two = pnp.vectorize(lambda a: (a * a, -a), otypes=[np.float64, np.float64])
    sq, neg = pb.jvp(two, (x,), (np.ones_like(x),))[1]
    np.testing.assert_allclose(sq, 2 * x)
    np.testing.assert_allclose(neg, -np.ones_like(x))
    scaled = pnp.vectorize(lambda a, k: a * k, excluded={1})
    np.testing.assert_allclose(pb.grad(lambda a: pnp.sum(scaled(a, 3.0)))(x), np.full_like(x, 3.0))
    empty = pnp.vectorize(lambda a: a * a, otypes=[float])
    assert pb.jacfwd(empty)(np.zeros(0)).shape == (0, 0)
    with pytest.raises(UnsupportedFunctionError, match="signature.*vmap"):
        pb.grad(lambda a: pnp.sum(pnp.vectorize(pnp.sum, signature="(n)->()")(a)))(x)


# ============================================================================ interp


def test_interp_is_differentiable_in_x_xp_and_fp():
    xp, fp = np.array([0.0, 1.0, 2.5, 4.0]), np.array([1.0, -2.0, 0.5, 3.0])
    x = np.array([[-0.5, 0.3], [1.7, 3.1], [4.6, 2.2]])  # below, inside and above the samples
    np.testing.assert_allclose(pb.jvp(pnp.interp, (x, xp, fp), (x, xp, fp))[0], np.interp(x, xp, fp))
    check_grads(pnp.interp, (x, xp, fp), order=2)
    check_grads(lambda x, fp: pnp.interp(x, xp, fp, left=-5.0, right=fp[0] * 2), (x, fp), order=2)
    got = pb.jvp(lambda x: pnp.interp(x, xp, fp, left=-5.0, right=7.0), (x,), (x,))[0]
    np.testing.assert_allclose(got, np.interp(x, xp, fp, left=-5.0, right=7.0))
    # slope of the bracketing segment, and zero outside the samples
    np.testing.assert_allclose(pb.grad(lambda s: pnp.interp(s, xp, fp))(0.3), -3.0)
    assert pb.grad(lambda s: pnp.interp(s, xp, fp))(5.0) == 0.0
    # the end point is a sample exactly; complex values; a period
    assert pb.jvp(lambda s: pnp.interp(s, xp, fp), (4.0,), (1.0,))[0] == 3.0
    cfp = fp + 1j * fp[::-1]
    np.testing.assert_allclose(pb.jvp(lambda f: pnp.interp(x, xp, f), (cfp,), (cfp,))[0], np.interp(x, xp, cfp))
    check_grads(lambda f: pnp.interp(x, xp, f), (cfp,), order=2)
    ang = np.array([0.2, 2.9, 6.0, -1.0])
    per_xp, per_fp = np.array([0.5, 1.5, 3.0, 5.0]), np.array([0.0, 1.0, 0.5, 2.0])
    got = pb.jvp(lambda a: pnp.interp(a, per_xp, per_fp, period=2 * np.pi), (ang,), (ang,))[0]
    np.testing.assert_allclose(got, np.interp(ang, per_xp, per_fp, period=2 * np.pi))
    check_grads(lambda a, f: pnp.interp(a, per_xp, f, period=2 * np.pi), (ang, per_fp), order=2)
    assert pb.jacfwd(lambda f: pnp.interp(np.zeros(0), xp, f))(fp).shape == (0, 4)
    with pytest.raises(PullbackError, match="interp.*jit"):
        pb.jit(lambda s: pnp.interp(s, xp, fp))(x)


# ============================================================================ polyval and poly1d


def test_polyval_and_poly1d_evaluation_are_differentiable():
    p, x = np.array([0.5, -2.0, 1.5, 3.0]), np.array([[0.2, -1.3], [2.0, 0.7]])
    np.testing.assert_allclose(pb.jvp(pnp.polyval, (p, x), (p, x))[0], np.polyval(p, x))
    check_grads(pnp.polyval, (p, x), order=3)
    np.testing.assert_allclose(pb.grad(lambda s: pnp.polyval([1.0, 2.0, 3.0], s))(2.0), 6.0)
    np.testing.assert_allclose(pb.grad(lambda s: pnp.polyval(np.poly1d([1.0, 2.0, 3.0]), s))(2.0), 6.0)
    poly = pnp.poly1d([1.0, 0.0, -2.0])  # x² − 2
    np.testing.assert_allclose(pb.grad(lambda s: poly(s))(1.5), 3.0)
    np.testing.assert_allclose(pb.jacfwd(lambda s: np.poly1d([2.0, 1.0])(s))(x), np.full((2, 2, 2, 2), 0.0)
                               + 2 * np.eye(4).reshape(2, 2, 2, 2))
    check_grads(lambda s: poly(s), (x,), order=2)
    assert pb.jvp(lambda s: pnp.polyval(np.zeros(0), s), (x,), (x,))[0].shape == x.shape
    np.testing.assert_allclose(pb.jit(pnp.polyval)(p, x), np.polyval(p, x))


# ============================================================================ histogram


def test_histogram_counts_are_constants_and_weights_are_differentiable():
    a = np.array([0.1, 0.4, 0.35, 0.8, 0.95, 0.5, 0.2])
    w = np.linspace(0.5, 2.0, 7)
    for kw in ({"bins": 3}, {"bins": [0.0, 0.3, 0.6, 1.0]}, {"bins": 4, "range": (0.0, 1.0)},
               {"bins": 3, "density": True}):
        want = np.histogram(a, weights=w, **kw)
        hist, edges = pb.jvp(lambda w, kw=kw: pnp.histogram(a, weights=w, **kw), (w,), (w,))[0]
        np.testing.assert_allclose(hist, want[0])
        np.testing.assert_allclose(edges, want[1])
        check_grads(lambda w, kw=kw: pnp.histogram(a, weights=w, **kw)[0], (w,), order=2)
        counts, _ = pnp.histogram(pb.stop_gradient(a), **kw)
        np.testing.assert_array_equal(counts, np.histogram(a, **kw)[0])
    # traced samples: counts are constants, the equal-width edges follow min and max
    counts = pb.jvp(lambda a: pnp.histogram(a, bins=3)[0], (a,), (a,))
    np.testing.assert_array_equal(counts[0], np.histogram(a, bins=3)[0])
    assert counts[0].dtype == np.histogram(a, bins=3)[0].dtype
    check_grads(lambda a: pnp.histogram(a, bins=4)[1], (a,), order=2)
    auto = pb.jvp(lambda a: pnp.histogram(a, bins="auto"), (a,), (a,))[0]
    for got, want in zip(auto, np.histogram(a, bins="auto")):
        np.testing.assert_allclose(got, want)
    check_grads(lambda a: pnp.histogram(a, bins="auto")[1], (a,), order=2)
    np.testing.assert_allclose(pb.grad(lambda a: pnp.histogram(a, bins=2)[1][1])(a),
                               np.eye(7)[np.argmin(a)] * 0.5 + np.eye(7)[np.argmax(a)] * 0.5)
    with pytest.raises(ValueError, match="weights"):
        pb.grad(lambda w: pnp.sum(pnp.histogram(a, weights=w)[0]))(np.ones(3))


# ============================================================================ dtype queries, float(), random, at


def test_dtype_queries_read_dtypes_of_traced_values():
    seen = []

    def f(x):
        seen.append((pnp.result_type(x, 1.0), np.result_type(x, np.float64), pnp.can_cast(x, np.float64),
                     np.can_cast(x, np.int8), pnp.min_scalar_type(x[0]), pnp.common_type(x, np.ones(1, np.float16)),
                     np.min_scalar_type(x)))
        return pnp.sum(x.astype(pnp.result_type(x, 1.0)))

    x = np.array([1.5, 2.5], np.float32)
    np.testing.assert_array_equal(pb.grad(f)(x), [1.0, 1.0])
    assert seen[0] == (np.float32, np.float64, True, False, np.min_scalar_type(np.float32(1.5)), np.float32,
                       np.float32)
    pb.jit(f)(x)
    assert seen[1][4] == np.float32  # staged: no value is known, its dtype stands in
    assert pnp.result_type(np.int8, 1.0) == np.result_type(np.int8, 1.0)


def test_float_of_a_traced_value_is_refused_with_its_message():
    with pytest.raises(TracerConversionError, match=r"float\(\) was applied to a traced value.*stop_gradient"):
        pb.grad(lambda x: float(x) * x)(1.0)
    assert float(pb.stop_gradient(2.0)) == 2.0


def test_pullback_numpy_random_is_numpys_random_module():
    import pullback.numpy.random as prandom
    from pullback.numpy.random import default_rng

    assert prandom is np.random and pnp.random is np.random and default_rng is np.random.default_rng
    noise = pnp.random.default_rng(0).standard_normal(3)  # the reparameterization trick
    np.testing.assert_allclose(pb.grad(lambda mu: pnp.sum(mu + 2.0 * noise))(np.zeros(3)), np.ones(3))


def test_at_works_on_plain_arrays_and_is_documented_where_jax_users_look():
    x = np.arange(3.0)
    np.testing.assert_array_equal(pnp.at(x)[1].set(5.0), [0.0, 5.0, 2.0])
    np.testing.assert_array_equal(x, [0.0, 1.0, 2.0])  # functional: x is unchanged
    np.testing.assert_array_equal(pb.grad(lambda v: pnp.sum(pnp.at(x)[1:].add(v * v)))(3.0), 12.0)
    assert "at(x)[idx].set(v)" in pnp.at.__doc__ and "x.at" in pnp.at.__doc__
    assert "pnp.at" in pnp.__doc__
