"""Issue 17, API parity for ports from autograd and JAX: elementwise_grad, holomorphic=, allow_int=,
pure_callback and the pb.lax namespace."""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback.callback import CallbackDerivativeError
from pullback.errors import CustomRuleError, NonDifferentiableInputError, NonScalarOutputError, PullbackError
from pullback.testing import check_grads

# ============================================================================ elementwise_grad


def test_elementwise_grad_is_the_vjp_with_ones_like_autograd():
    x = np.array([[-1.2, 0.0], [0.7, 2.5]])
    np.testing.assert_allclose(pb.elementwise_grad(pnp.tanh)(x), 1 - np.tanh(x) ** 2)
    np.testing.assert_allclose(pb.elementwise_grad(lambda a, b: a * pnp.sin(b), 1)(2.0, x), 2.0 * np.cos(x))
    # not elementwise: the gradient of sum(f(x)), autograd's semantics
    np.testing.assert_allclose(pb.elementwise_grad(lambda v: pnp.cumsum(v))(np.ones(3)), [3.0, 2.0, 1.0])
    # differentiable again: the second derivative of each entry
    np.testing.assert_allclose(pb.elementwise_grad(pb.elementwise_grad(pnp.sin))(x), -np.sin(x))
    check_grads(pb.elementwise_grad(pnp.tanh), (x,), order=2)
    assert pb.elementwise_grad(pnp.exp)(np.zeros(0)).shape == (0,)
    with pytest.raises(NonDifferentiableInputError):
        pb.elementwise_grad(lambda n: n * 2.0)(np.arange(3))


# ============================================================================ holomorphic=

Z = np.array([1.0 + 2.0j, -0.5 + 0.3j])


def test_holomorphic_derivatives_are_the_complex_derivative_in_every_api():
    f = lambda z: pnp.sin(z) * z  # noqa: E731
    df = lambda z: np.cos(z) * z + np.sin(z)  # noqa: E731
    np.testing.assert_allclose(pb.grad(lambda z: pnp.sum(f(z)), holomorphic=True)(Z), df(Z))
    np.testing.assert_allclose(pb.jacfwd(f, holomorphic=True)(Z), np.diag(df(Z)))
    np.testing.assert_allclose(pb.jacrev(f, holomorphic=True)(Z), np.diag(df(Z)))
    out, vjp_fn = pb.vjp(f, Z, holomorphic=True)
    np.testing.assert_allclose(vjp_fn(np.ones(2, complex))[0], df(Z))
    d2 = -np.sin(Z) * Z + 2 * np.cos(Z)
    np.testing.assert_allclose(pb.hessian(lambda z: pnp.sum(f(z)), holomorphic=True)(Z), np.diag(d2))
    z0 = Z[0]
    (value, g) = pb.value_and_grad(lambda z: z ** 3, holomorphic=True)(z0)
    np.testing.assert_allclose([value, g], [z0 ** 3, 3 * z0 ** 2])
    # finite differences along the real axis agree with f'(z) for a holomorphic f
    eps = 1e-6
    np.testing.assert_allclose(pb.grad(lambda z: pnp.sum(f(z)), holomorphic=True)(Z),
                               (f(Z + eps) - f(Z - eps)) / (2 * eps), rtol=1e-8)


def test_holomorphic_true_is_checked():
    with pytest.raises(NonDifferentiableInputError, match=r"grad\(\.\.\., holomorphic=True\) requires complex"):
        pb.grad(lambda x: x * x, holomorphic=True)(1.0)
    with pytest.raises(NonDifferentiableInputError, match=r"the output has dtype float64"):
        pb.grad(lambda z: pnp.abs(z) ** 2, holomorphic=True)(Z[0])
    with pytest.raises(NonDifferentiableInputError, match=r"jacfwd.*an input has dtype float64"):
        pb.jacfwd(pnp.sin, holomorphic=True)(np.ones(2))
    with pytest.raises(NonDifferentiableInputError, match=r"jacfwd.*an output has dtype float64"):
        pb.jacfwd(pnp.real, holomorphic=True)(Z)
    with pytest.raises(NonDifferentiableInputError, match=r"vjp.*an input"):
        pb.jacrev(pnp.sin, holomorphic=True)(np.ones(2))
    with pytest.raises(NonDifferentiableInputError, match=r"vjp.*an output"):
        pb.vjp(pnp.abs, Z, holomorphic=True)
    with pytest.raises(NonScalarOutputError, match="holomorphic=True"):
        pb.grad(lambda z: z * z)(Z[0])  # the real-output message points to holomorphic=True


# ============================================================================ allow_int=


def test_allow_int_gives_integer_arguments_a_float0_gradient():
    def f(x, n, mask):
        return pnp.sum(pnp.where(mask, x * n, 0.0))

    x, n, mask = np.array([1.0, 2.0, 3.0]), np.array([2, 3, 4]), np.array([True, False, True])
    gx, gn, gm = pb.grad(f, argnums=(0, 1, 2), allow_int=True)(x, n, mask)
    np.testing.assert_array_equal(gx, [2.0, 0.0, 4.0])
    assert gn.dtype == pb.float0 and gn.shape == (3,) and gm.dtype == pb.float0 and gm.shape == (3,)
    assert pb.float0.itemsize == 0
    with pytest.raises(NonDifferentiableInputError, match="dtype int64"):
        pb.grad(f, argnums=1)(x, n, mask)
    jx, jn = pb.jacrev(lambda x, n: x * n, argnums=(0, 1), allow_int=True)(x, n)
    np.testing.assert_array_equal(jx, np.diag(n.astype(float)))
    assert jn.dtype == pb.float0 and jn.shape == (3, 3)
    jn_only = pb.jacrev(lambda x, n: x * n, argnums=1, allow_int=True)(x, n)
    assert jn_only.dtype == pb.float0 and jn_only.shape == (3, 3)
    value_and_g = pb.value_and_grad(lambda k, x: pnp.sum(x ** k), argnums=(0, 1), allow_int=True)(2, x)
    assert value_and_g[0] == 14.0 and value_and_g[1][0].dtype == pb.float0
    np.testing.assert_array_equal(value_and_g[1][1], 2 * x)


# ============================================================================ pure_callback


def _area(b):
    """A black box: ∫₀ᵇ t² dt by SciPy's quad, on plain floats only."""
    quad = pytest.importorskip("scipy.integrate").quad
    return np.array(quad(lambda t: t * t, 0.0, float(b))[0])


S = pb.ShapeDtypeStruct((), np.float64)


@pb.custom_jvp
def area(b):
    return pb.pure_callback(_area, S, b)


area.defjvp(lambda p, t: (area(p[0]), p[0] ** 2 * t[0]))


@pb.custom_vjp
def area_v(b):
    return pb.pure_callback(_area, S, b)


area_v.defvjp(lambda b: (area_v(b), b), lambda b, g: (b ** 2 * g,))


def test_pure_callback_runs_a_black_box_eagerly_under_jit_and_vmap():
    calls = []

    def box(x, scale):
        calls.append(1)
        assert type(x) is np.ndarray  # the black box sees plain arrays
        return {"sum": np.sum(x) * scale, "sq": (x * x).astype(np.float32)}

    shapes = {"sum": pb.ShapeDtypeStruct((), np.float64), "sq": np.zeros(3, np.float32)}
    x = np.array([1.0, 2.0, 3.0])
    out = pb.pure_callback(box, shapes, x, 2.0)
    assert out["sum"] == 12.0 and out["sq"].dtype == np.float32
    jf = pb.jit(lambda x: pb.pure_callback(box, shapes, pnp.sin(x), 1.0)["sum"] * 2.0)
    n = len(calls)
    np.testing.assert_allclose(jf(x), 2 * np.sum(np.sin(x)))
    np.testing.assert_allclose(jf(2 * x), 2 * np.sum(np.sin(2 * x)))
    assert len(calls) == n + 2  # it runs at every call of the jitted function
    assert "pure_callback" in jf.source(x)
    got = pb.vmap(lambda r: pb.pure_callback(box, shapes, r, 1.0)["sum"])(np.stack([x, -x]))
    np.testing.assert_allclose(got, [6.0, -6.0])


def test_pure_callback_refuses_derivatives_and_works_inside_custom_rules():
    with pytest.raises(CallbackDerivativeError, match="custom_vjp or pullback.custom_jvp") as err:
        pb.grad(lambda b: pb.pure_callback(_area, S, b))(3.0)
    assert isinstance(err.value, PullbackError)
    with pytest.raises(CallbackDerivativeError):
        pb.jvp(lambda b: pb.pure_callback(_area, S, b), (3.0,), (1.0,))
    assert pb.grad(lambda b: pb.pure_callback(_area, S, pb.stop_gradient(b)) + b)(3.0) == 1.0
    for f in (area, area_v):
        assert float(f(3.0)) == pytest.approx(9.0)
        assert float(pb.grad(f)(3.0)) == pytest.approx(9.0)
        assert float(pb.jit(pb.grad(f))(3.0)) == pytest.approx(9.0)
        assert float(pb.grad(pb.jit(f))(2.0)) == pytest.approx(4.0)  # the staged call keeps its rules
        assert float(pb.jit(pb.grad(pb.jit(f)))(2.0)) == pytest.approx(4.0)
        assert float(pb.jvp(pb.jit(f), (2.0,), (1.0,))[1]) == pytest.approx(4.0)
        np.testing.assert_allclose(pb.vmap(pb.jit(f))(np.array([1.0, 2.0])), [1 / 3, 8 / 3])
        np.testing.assert_allclose(pb.vmap(pb.grad(f))(np.array([1.0, 2.0])), [1.0, 4.0])
        assert float(pb.jvp(f, (2.0,), (1.0,))[1]) == pytest.approx(4.0)
    check_grads(area, (np.float64(1.3),), order=1, modes=("fwd", "rev"), eps=1e-5, rtol=1e-6, atol=1e-7)


def test_a_jitted_custom_rule_is_still_used_by_outer_transformations():
    @pb.custom_vjp
    def clipped_identity(x):
        return x * 1.0

    clipped_identity.defvjp(lambda x: (x * 1.0, None), lambda _, g: (pnp.clip(g, -0.5, 0.5),))

    @pb.custom_jvp
    def doubled_tangent(x):
        return pnp.sin(x)

    doubled_tangent.defjvp(lambda p, t: (pnp.sin(p[0]), 2.0 * pnp.cos(p[0]) * t[0]))

    x = np.array([0.3, -1.0])
    loss = lambda f: (lambda v: pnp.sum(3.0 * f(v)))  # noqa: E731
    np.testing.assert_allclose(pb.grad(pb.jit(loss(clipped_identity)))(x), [0.5, 0.5])  # the rule, not 3.0
    np.testing.assert_allclose(pb.grad(pb.jit(loss(doubled_tangent)))(x), 6.0 * np.cos(x))
    np.testing.assert_allclose(pb.jacfwd(pb.jit(doubled_tangent))(x), np.diag(2.0 * np.cos(x)))
    np.testing.assert_allclose(pb.jit(loss(doubled_tangent))(x), 3.0 * np.sum(np.sin(x)))
    assert "custom_call" in pb.jit(doubled_tangent).source(x)
    np.testing.assert_allclose(pb.jit(pb.jit(doubled_tangent))(x), np.sin(x))  # jit inside jit
    np.testing.assert_allclose(pb.grad(pb.jit(lambda v: pnp.sum(pb.jit(doubled_tangent)(v))))(x), 2.0 * np.cos(x))


def test_pure_callback_checks_the_declared_result():
    with pytest.raises(CustomRuleError, match=r"returned shape \(2,\), but result_shape declares \(\)"):
        pb.pure_callback(lambda x: np.ones(2), S, 1.0)
    with pytest.raises(CustomRuleError, match="structure"):
        pb.pure_callback(lambda x: (x, x), S, 1.0)


# ============================================================================ pb.lax


def test_lax_namespace_has_jax_control_flow_and_operations():
    lax = pb.lax
    assert lax.cond is pb.cond and lax.scan is pb.scan and lax.fori_loop is pb.fori_loop
    assert lax.while_loop is pb.while_loop and lax.stop_gradient is pb.stop_gradient
    from pullback.lax import cond, switch  # noqa: F401 - importable as JAX users write it

    x = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(lax.switch(2, [pnp.sin, pnp.cos, pnp.exp], x), np.exp(x))
    np.testing.assert_allclose(lax.switch(7, [pnp.sin, pnp.cos], x), np.cos(x))  # clamped, as in JAX
    got = pb.vmap(lambda i, v: lax.switch(i, [lambda a: a, lambda a: 2 * a, lambda a: -a], v))(
        np.array([0, 1, 2]), x)
    np.testing.assert_allclose(got, [x[0], 2 * x[1], -x[2]])
    np.testing.assert_allclose(pb.jit(lambda i, v: lax.switch(i, [pnp.sin, pnp.cos], v))(1, x), np.cos(x))
    np.testing.assert_allclose(lax.map(lambda r: pnp.sum(r ** 2), np.ones((4, 2))), np.full(4, 2.0))
    a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    np.testing.assert_allclose(lax.dot_general(a, b, (([1], [0]), ([], []))), a @ b)
    bat = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_allclose(lax.dot_general(bat, bat, (([2], [2]), ([0], [0]))),
                               np.einsum("bik,bjk->bij", bat, bat))
    np.testing.assert_allclose(lax.broadcast_in_dim(np.arange(3.0), (2, 3), (1,)), np.tile(np.arange(3.0), (2, 1)))
    np.testing.assert_allclose(lax.clamp(0.0, x, 1.0), np.clip(x, 0.0, 1.0))
    np.testing.assert_allclose(lax.select(x > 0, x, -x), np.abs(x))
    np.testing.assert_allclose(lax.rsqrt(np.array([4.0])), [0.5])
    np.testing.assert_allclose(lax.logistic(x), 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(lax.integer_pow(x, 3), x ** 3)
    np.testing.assert_allclose(lax.round(np.array([0.5, 1.5, -2.5])), [1.0, 2.0, -3.0])
    np.testing.assert_allclose(lax.round(np.array([0.5, 1.5]), 1), [0.0, 2.0])
    np.testing.assert_allclose(lax.dynamic_slice(np.arange(5.0), (3,), (3,)), [2.0, 3.0, 4.0])  # clamped start
    np.testing.assert_allclose(lax.dynamic_update_slice(np.zeros(4), np.ones(2), (1,)), [0, 1, 1, 0])
    np.testing.assert_allclose(lax.slice(np.arange(10.0), (1,), (7,), (2,)), [1.0, 3.0, 5.0])
    np.testing.assert_allclose(lax.reshape(a, (3, 2), (1, 0)), a.T.reshape(3, 2))
    assert lax.convert_element_type(x, np.float32).dtype == np.float32
    for f in (lambda v: lax.add(lax.mul(v, v), lax.sin(v)), lambda v: lax.logistic(v) * lax.exp(v),
              lambda v: lax.dot_general(pnp.reshape(v, (3, 1)), pnp.reshape(v, (1, 3)), (([1], [0]), ([], []))),
              lambda v: lax.dynamic_update_slice(pnp.zeros(5), v, (1,)), lambda v: lax.integer_pow(v, 3)):
        check_grads(f, (x,), order=2)
    with pytest.raises(AttributeError, match="pullback.lax has no 'psum'"):
        lax.psum  # noqa: B018
