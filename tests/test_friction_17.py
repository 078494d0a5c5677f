"""Issue 17, bugs 1-5: what a new user tripped on (each was a wrong answer or a crash)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback.core.staging import ConcretizationError
from pullback.testing import check_grads


def fd_jacobian(f, x, eps=1e-6):
    """Central finite-difference Jacobian, shape out.shape + x.shape."""
    x = np.asarray(x, float)
    cols = []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = eps
        e = e.reshape(x.shape)
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * eps))
    out_shape = np.shape(f(x))
    if not cols:
        return np.zeros(out_shape + x.shape)
    return np.moveaxis(np.stack(cols), 0, -1).reshape(out_shape + x.shape)


# ============================================================================ bug 1: jacfwd over broadcasting

Y = np.array([[0.7, 1.3, 2.1], [0.4, 0.9, 1.6]])

# (name, f(a, y)) with a a traced scalar broadcast against the array y
BROADCASTING = [
    ("add", lambda a, y: y + a),
    ("add_left", lambda a, y: a + y),
    ("subtract", lambda a, y: y - a),
    ("rsubtract", lambda a, y: a - y),
    ("multiply", lambda a, y: y * a),
    ("divide", lambda a, y: y / a),
    ("rdivide", lambda a, y: a / y),
    ("power", lambda a, y: y ** a),
    ("rpower", lambda a, y: a ** y),
    ("hypot", lambda a, y: pnp.hypot(a, y)),
    ("arctan2", lambda a, y: pnp.arctan2(y, a)),
    ("maximum", lambda a, y: pnp.maximum(y, a)),
    ("minimum", lambda a, y: pnp.minimum(a, y)),
    ("fmax", lambda a, y: pnp.fmax(y, a)),
    ("fmin", lambda a, y: pnp.fmin(y, a)),
    ("logaddexp", lambda a, y: pnp.logaddexp(a, y)),
    ("logaddexp2", lambda a, y: pnp.logaddexp2(y, a)),
    ("copysign", lambda a, y: pnp.copysign(a, y)),
    ("float_power", lambda a, y: pnp.float_power(y, a)),
    ("where", lambda a, y: pnp.where(y > 1.0, a, y)),
    ("clip", lambda a, y: pnp.clip(y * a, 0.8, 2.5)),
]


@pytest.mark.parametrize("name, f", BROADCASTING, ids=[c[0] for c in BROADCASTING])
@pytest.mark.parametrize("y", [Y, Y[:1], Y[:, :1], Y[:0]], ids=["2x3", "1x3", "2x1", "0x3"])
def test_jacfwd_and_hessian_of_a_traced_scalar_broadcast_against_an_array(name, f, y):
    a = 1.17
    jf = pb.jacfwd(lambda a: f(a, y))(a)
    assert np.shape(jf) == y.shape
    np.testing.assert_allclose(jf, fd_jacobian(lambda a: f(a, y), a), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(jf, pb.jacrev(lambda a: f(a, y))(a), rtol=1e-12, atol=1e-14)
    h = pb.hessian(lambda a: pnp.sum(f(a, y)))(a)
    g = pb.grad(lambda a: pnp.sum(f(a, y)))
    np.testing.assert_allclose(h, fd_jacobian(g, a), rtol=1e-5, atol=1e-6)
    check_grads(lambda a: f(a, y), (np.float64(a),), order=2)


@pytest.mark.parametrize("name, f", BROADCASTING[:8], ids=[c[0] for c in BROADCASTING[:8]])
def test_hessian_of_an_array_against_a_broadcast_array_with_negative_axes(name, f):
    x = np.array([[1.1], [0.8]])  # (2, 1) against (2, 3)

    def loss(x):
        return pnp.sum(pnp.sum(f(x, Y), axis=-1) ** 2)

    h = pb.hessian(loss)(x)
    assert h.shape == (2, 1, 2, 1)
    np.testing.assert_allclose(h, fd_jacobian(pb.grad(loss), x), rtol=1e-5, atol=1e-6)
    check_grads(loss, (x,), order=3)


# ============================================================================ bug 2: custom rules returning floats


def _sin_value(x):
    """A black box's fast path: a Python float for a plain input (traced ones, at higher orders, stay arrays)."""
    return pnp.sin(x) if pb.is_traced(x) else float(np.sin(x))


def _custom_vjp_sin():
    @pb.custom_vjp
    def f(x):
        return _sin_value(x)

    f.defvjp(lambda x: (_sin_value(x), x), lambda x, g: (pnp.cos(x) * g,))
    return f


def _custom_jvp_sin():
    @pb.custom_jvp
    def f(x):
        return _sin_value(x)

    f.defjvp(lambda p, t: (_sin_value(p[0]), pnp.cos(p[0]) * t[0]))
    return f


def _function_sin():
    class Sin(pb.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return _sin_value(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return pnp.cos(x) * g

    return Sin.apply


@pytest.mark.parametrize("make", [_custom_vjp_sin, _custom_jvp_sin, _function_sin], ids=["vjp", "jvp", "Function"])
def test_forward_mode_through_a_custom_rule_whose_primal_returns_a_python_float(make):
    f = make()
    x = 0.7
    out, t = pb.jvp(f, (x,), (2.0,))
    assert float(out) == pytest.approx(np.sin(x)) and float(t) == pytest.approx(2 * np.cos(x))
    assert float(pb.jacfwd(f)(x)) == pytest.approx(np.cos(x))
    assert float(pb.grad(f)(x)) == pytest.approx(np.cos(x))
    assert float(pb.hessian(f)(x)) == pytest.approx(-np.sin(x), rel=1e-10)


# ============================================================================ bug 3: isinstance(x, np.ndarray)


def test_isinstance_ndarray_matches_traced_values_and_real_arrays():
    def f(x):
        if isinstance(x, pnp.ndarray):  # the common guard: it must not turn x into a constant
            return pnp.sum(x * x)
        return 0.0

    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(pb.grad(f)(x), 2 * x)
    np.testing.assert_array_equal(pb.jacfwd(f)(x), 2 * x)
    assert isinstance(x, pnp.ndarray) and not isinstance(1.0, pnp.ndarray) and not isinstance([1.0], pnp.ndarray)
    assert issubclass(np.ndarray, pnp.ndarray)
    seen = []
    pb.grad(lambda x: seen.append(pb.is_traced(x)) or pnp.sum(x))(x)
    assert seen == [True] and not pb.is_traced(x) and not pb.is_traced(1.0)
    assert pnp.ndarray((2,)).shape == (2,)  # still constructs a real ndarray


# ============================================================================ bug 4: jit and index arrays


def test_jit_closing_over_a_rebound_index_array_is_never_stale():
    idx = np.array([0, 1])
    f = pb.jit(lambda x: x[idx] * 2.0)
    x = np.arange(4.0)
    np.testing.assert_array_equal(f(x), [0.0, 2.0])
    idx = np.array([3, 2])  # rebinding the name the function reads
    np.testing.assert_array_equal(f(x), [6.0, 4.0])
    idx[0] = 1  # an in-place change of an index array
    np.testing.assert_array_equal(f(x), [2.0, 4.0])
    np.testing.assert_array_equal(f(x), [2.0, 4.0])
    assert len(f.cache) == 1  # idx is an implicit input of the graph, gathered from: one trace
    mask = np.array([True, False, True, False])  # a mask must be concrete: keyed by its contents
    g = pb.jit(lambda x: x[mask] * 2.0)
    np.testing.assert_array_equal(g(x), [0.0, 4.0])
    mask[1] = True
    with pytest.warns(UserWarning, match="re-traces.*mask.*argument"):
        np.testing.assert_array_equal(g(x), [0.0, 2.0, 4.0])
    assert len(g.cache) == 2


W = np.array([1.0, 2.0, 3.0])


def _uses_global(x):
    return pnp.sum(x * W)


def test_jit_closing_over_a_rebound_global_weight_array_retraces():
    global W
    f = pb.jit(lambda x: _uses_global(x) + 1.0)  # W is read one call deep
    assert f(np.ones(3)) == 7.0
    old = W
    try:
        W = np.array([1.0, 1.0, 1.0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert f(np.ones(3)) == 4.0
        W[1] = 5.0
        assert f(np.ones(3)) == 8.0
        assert float(pb.grad(f)(np.zeros(3))[1]) == 5.0
    finally:
        W = old


def test_jit_takes_integer_and_boolean_index_arrays_as_arguments():
    calls = []

    def f(x, i):
        calls.append(1)
        return pnp.sum(x[i] ** 2)

    jf = pb.jit(f)
    x = np.array([1.0, 2.0, 3.0])
    assert jf(x, np.array([0, 2])) == 10.0
    assert jf(x, np.array([1, 1])) == 8.0
    assert jf(x, np.array([True, False, True])) == 10.0
    assert jf(x, np.array([0, 2])) == 10.0
    assert len(jf.cache) == 2  # integer index arrays are gathered (one trace per shape), masks keyed by contents
    np.testing.assert_array_equal(pb.grad(jf)(x, np.array([2, 2])), [0.0, 0.0, 12.0])
    np.testing.assert_array_equal(pb.jit(pb.grad(f))(x, np.array([1])), [0.0, 4.0, 0.0])
    # an integer array used only arithmetically stays a traced input: one trace serves all values
    g = pb.jit(lambda x, n: x * n)
    g(x, np.array([1, 2, 3]))
    np.testing.assert_array_equal(g(x, np.array([4, 5, 6])), [4.0, 10.0, 18.0])
    assert len(g.cache) == 1
    # scalars that must be concrete still say to mark them static
    with pytest.raises(ConcretizationError, match="static_argnums"):
        pb.jit(lambda x, n: x[:n])(x, 1)


# ============================================================================ bug 5: vmap of cond


def _branchy(x):
    return pnp.sum(pb.cond(pnp.sum(x) > 0, lambda v: pnp.sin(v) * v, lambda v: -(v ** 2), x))


def test_vmap_of_cond_with_a_batched_predicate_selects_per_example():
    xs = np.array([[1.0, 2.0], [-1.0, -3.0], [0.5, -0.2]])
    want = np.array([_branchy(x) for x in xs])
    np.testing.assert_allclose(pb.vmap(_branchy)(xs), want, rtol=1e-14)
    np.testing.assert_allclose(pb.vmap(pb.grad(_branchy))(xs), np.stack([pb.grad(_branchy)(x) for x in xs]))
    np.testing.assert_allclose(pb.jit(pb.vmap(_branchy))(xs), want, rtol=1e-14)
    check_grads(lambda xs: pb.vmap(_branchy)(xs), (xs,), order=2)
    # an unbatched predicate still runs one branch only
    ran = []
    pb.vmap(lambda x: pb.cond(True, lambda v: ran.append("t") or v, lambda v: ran.append("f") or v, x))(xs)
    assert ran == ["t"]
    # predicate batched, operands not: the branch results are selected per example
    out = pb.vmap(lambda s: pb.cond(s > 0, lambda: np.ones(2), lambda: np.zeros(2)))(np.array([1.0, -1.0]))
    np.testing.assert_array_equal(out, [[1.0, 1.0], [0.0, 0.0]])
