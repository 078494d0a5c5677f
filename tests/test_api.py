"""The functional API: grad, value_and_grad, vjp, jvp, linearize, linear_transpose,
the Jacobians and Hessian, the Hessian/Jacobian products, stop_gradient, pytrees,
what comes back to the caller, and pb.testing.check_grads."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import pullback as pb
import pullback.numpy as pnp
from pullback.core.trace import Tracer

RNG = np.random.default_rng(0)


def _is_plain(x) -> bool:
    return isinstance(x, (np.ndarray, np.generic)) and not isinstance(x, Tracer)


def _assert_plain_tree(tree) -> None:
    for leaf in pb.tree_util.tree_leaves(tree):
        assert _is_plain(leaf), f"expected a plain numpy value, got {type(leaf).__name__}"


def sin_exp(x):
    return pnp.sin(x) * pnp.exp(x)


def sin_exp_d1(x):
    return np.exp(x) * (np.sin(x) + np.cos(x))


def rosenbrock(x):
    return pnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_grad(x):
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    return g


def rosenbrock_hessian(x):
    n = len(x)
    h = np.zeros((n, n))
    for i in range(n - 1):
        h[i, i] += 1200.0 * x[i] ** 2 - 400.0 * x[i + 1] + 2.0
        h[i, i + 1] += -400.0 * x[i]
        h[i + 1, i] += -400.0 * x[i]
        h[i + 1, i + 1] += 200.0
    return h


# ----------------------------------------------------------------------------- grad


def test_grad_of_scalar_function_matches_analytic_derivative():
    for x in (-1.3, 0.0, 0.5, 2.0):
        assert np.isclose(pb.grad(sin_exp)(x), sin_exp_d1(x), rtol=1e-13)


def test_grad_of_vector_function_matches_analytic_gradient():
    x = RNG.standard_normal(6)
    np.testing.assert_allclose(pb.grad(rosenbrock)(x), rosenbrock_grad(x), rtol=1e-12)


def test_grad_returns_a_writable_ndarray_shaped_like_the_input():
    x = RNG.standard_normal((3, 4))
    x0 = x.copy()
    g = pb.grad(lambda x: pnp.sum(x**2))(x)
    assert type(g) is np.ndarray and g.shape == x.shape and g.dtype == x.dtype
    assert g.flags.writeable
    g[...] = 123.0  # writing to the gradient must be allowed and must not touch x
    np.testing.assert_array_equal(x, x0)


def test_grad_of_a_sum_is_writable_even_though_it_comes_from_a_broadcast():
    x = RNG.standard_normal(5)
    g = pb.grad(pnp.sum)(x)
    np.testing.assert_array_equal(g, np.ones(5))
    assert g.flags.writeable
    g += 1.0
    np.testing.assert_array_equal(g, 2 * np.ones(5))


def test_grad_of_python_scalar_returns_numpy_scalar_or_0d_array():
    g = pb.grad(lambda x: x * x)(3.0)
    assert _is_plain(g) and np.shape(g) == ()
    assert g == 6.0


def test_grad_keeps_float32_as_float32():
    x = np.linspace(0.0, 1.0, 4, dtype=np.float32)
    g = pb.grad(lambda x: pnp.sum(pnp.sin(x)))(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, np.cos(x), rtol=1e-6)


def test_grad_of_function_that_ignores_its_input_is_zeros():
    x = RNG.standard_normal(3)
    g = pb.grad(lambda x: 1.0 + 0.0 * pnp.sum(pb.stop_gradient(x)))(x)
    np.testing.assert_array_equal(g, np.zeros(3))
    g2 = pb.grad(lambda x, y: pnp.sum(y), argnums=0)(x, x)
    np.testing.assert_array_equal(g2, np.zeros(3))
    assert g2.flags.writeable


def test_grad_argnums_int_selects_one_argument():
    f = lambda x, y: pnp.sum(x * pnp.sin(y))
    x, y = RNG.standard_normal(3), RNG.standard_normal(3)
    np.testing.assert_allclose(pb.grad(f, argnums=1)(x, y), x * np.cos(y))
    np.testing.assert_allclose(pb.grad(f, argnums=-2)(x, y), np.sin(y))


def test_grad_argnums_tuple_returns_a_tuple_in_the_given_order():
    f = lambda x, y, z: pnp.sum(x * y**2) + z
    x, y = RNG.standard_normal(3), RNG.standard_normal(3)
    g = pb.grad(f, argnums=(1, 0))(x, y, 2.0)
    assert isinstance(g, tuple) and len(g) == 2
    np.testing.assert_allclose(g[0], 2 * x * y)
    np.testing.assert_allclose(g[1], y**2)
    g1 = pb.grad(f, argnums=(2,))(x, y, 2.0)
    assert isinstance(g1, tuple) and len(g1) == 1 and g1[0] == 1.0


def test_grad_passes_keyword_arguments_through_undifferentiated():
    f = lambda x, scale=1.0: scale * pnp.sum(x**2)
    x = RNG.standard_normal(3)
    np.testing.assert_allclose(pb.grad(f)(x, scale=3.0), 6.0 * x)


def test_grad_has_aux_returns_gradient_and_plain_aux():
    def f(x):
        y = pnp.sin(x)
        return pnp.sum(y), {"y": y, "n": 3}

    x = RNG.standard_normal(4)
    g, aux = pb.grad(f, has_aux=True)(x)
    np.testing.assert_allclose(g, np.cos(x))
    assert aux["n"] == 3
    assert type(aux["y"]) is np.ndarray
    np.testing.assert_allclose(aux["y"], np.sin(x))


def test_value_and_grad_returns_value_and_gradient():
    x = RNG.standard_normal(5)
    v, g = pb.value_and_grad(rosenbrock)(x)
    assert _is_plain(v) and np.shape(v) == ()
    np.testing.assert_allclose(v, np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))
    np.testing.assert_allclose(g, rosenbrock_grad(x))


def test_value_and_grad_with_argnums_tuple_and_has_aux():
    def f(w, b, x):
        r = pnp.tanh(x @ w + b)
        return pnp.sum(r**2), r

    w, b, x = RNG.standard_normal((3, 2)), RNG.standard_normal(2), RNG.standard_normal((4, 3))
    (v, aux), (gw, gb) = pb.value_and_grad(f, argnums=(0, 1), has_aux=True)(w, b, x)
    r = np.tanh(x @ w + b)
    np.testing.assert_allclose(v, np.sum(r**2))
    assert type(aux) is np.ndarray
    np.testing.assert_allclose(aux, r)
    dz = 2 * r * (1 - r**2)
    np.testing.assert_allclose(gw, x.T @ dz)
    np.testing.assert_allclose(gb, dz.sum(0))


# ----------------------------------------------------------------------------- vjp / jvp


def test_vjp_returns_output_and_a_function_giving_one_cotangent_per_primal():
    f = lambda x, y: pnp.sin(x) * y
    x, y = RNG.standard_normal(3), RNG.standard_normal(3)
    out, vjp_fn = pb.vjp(f, x, y)
    assert type(out) is np.ndarray
    np.testing.assert_allclose(out, np.sin(x) * y)
    ct = RNG.standard_normal(3)
    res = vjp_fn(ct)
    assert isinstance(res, tuple) and len(res) == 2
    np.testing.assert_allclose(res[0], ct * np.cos(x) * y)
    np.testing.assert_allclose(res[1], ct * np.sin(x))
    _assert_plain_tree(res)


def test_vjp_of_single_primal_still_returns_a_one_tuple():
    out, vjp_fn = pb.vjp(pnp.exp, 0.5)
    res = vjp_fn(1.0)
    assert isinstance(res, tuple) and len(res) == 1
    assert np.isclose(res[0], np.exp(0.5))


def test_vjp_fn_can_be_called_many_times_with_different_cotangents():
    A = RNG.standard_normal((3, 4))
    x = RNG.standard_normal(4)
    _, vjp_fn = pb.vjp(lambda x: A @ x, x)
    for e in np.eye(3):
        np.testing.assert_allclose(vjp_fn(e)[0], A.T @ e)


def test_vjp_has_aux_returns_triple_with_plain_aux():
    def f(x):
        y = x**2
        return pnp.sum(y), y

    x = RNG.standard_normal(3)
    out, vjp_fn, aux = pb.vjp(f, x, has_aux=True)
    np.testing.assert_allclose(out, np.sum(x**2))
    assert type(aux) is np.ndarray
    np.testing.assert_allclose(aux, x**2)
    np.testing.assert_allclose(vjp_fn(2.0)[0], 4 * x)


def test_vjp_with_pytree_output_takes_pytree_cotangent():
    f = lambda x: {"a": pnp.sin(x), "b": (pnp.sum(x), x * 2.0)}
    x = RNG.standard_normal(3)
    out, vjp_fn = pb.vjp(f, x)
    assert set(out) == {"a", "b"} and isinstance(out["b"], tuple)
    _assert_plain_tree(out)
    ct = {"a": np.ones(3), "b": (np.float64(2.0), np.full(3, 3.0))}
    (g,) = vjp_fn(ct)
    np.testing.assert_allclose(g, np.cos(x) + 2.0 + 6.0)


def test_jvp_matches_analytic_directional_derivative():
    x, v = RNG.standard_normal(4), RNG.standard_normal(4)
    out, t = pb.jvp(sin_exp, (x,), (v,))
    np.testing.assert_allclose(out, np.sin(x) * np.exp(x))
    np.testing.assert_allclose(t, sin_exp_d1(x) * v)
    assert type(out) is np.ndarray and type(t) is np.ndarray


def test_jvp_with_several_primals_sums_their_contributions():
    f = lambda x, y: x * y
    x, y, dx, dy = (RNG.standard_normal(3) for _ in range(4))
    _, t = pb.jvp(f, (x, y), (dx, dy))
    np.testing.assert_allclose(t, dx * y + x * dy)


def test_jvp_of_output_independent_of_input_is_zero_array():
    out, t = pb.jvp(lambda x: pnp.ones(3), (np.ones(2),), (np.ones(2),))
    np.testing.assert_array_equal(t, np.zeros(3))
    assert type(t) is np.ndarray


def test_jvp_accepts_python_scalars():
    out, t = pb.jvp(lambda x: x**3, (2.0,), (1.0,))
    assert np.isclose(out, 8.0) and np.isclose(t, 12.0)
    assert _is_plain(out) and _is_plain(t)


def test_linearize_gives_the_same_value_and_jvp():
    x = RNG.standard_normal(4)
    out, f_jvp = pb.linearize(sin_exp, x)
    np.testing.assert_allclose(out, np.sin(x) * np.exp(x))
    for _ in range(3):
        v = RNG.standard_normal(4)
        np.testing.assert_allclose(f_jvp(v), pb.jvp(sin_exp, (x,), (v,))[1])


def test_linearize_of_two_argument_function():
    f = lambda x, y: pnp.sum(x * y)
    x, y = RNG.standard_normal(3), RNG.standard_normal(3)
    _, f_jvp = pb.linearize(f, x, y)
    dx, dy = RNG.standard_normal(3), RNG.standard_normal(3)
    np.testing.assert_allclose(f_jvp(dx, dy), dx @ y + x @ dy)


def test_linear_transpose_of_matrix_product_is_transposed_matrix():
    A = RNG.standard_normal((3, 5))
    transpose_fn = pb.linear_transpose(lambda x: A @ x, np.zeros(5))
    ct = RNG.standard_normal(3)
    res = transpose_fn(ct)
    assert isinstance(res, tuple) and len(res) == 1
    np.testing.assert_allclose(res[0], A.T @ ct)


def test_linear_transpose_of_two_argument_linear_map():
    f = lambda x, y: 2.0 * x - pnp.sum(y)
    t = pb.linear_transpose(f, np.zeros(3), np.zeros(4))
    gx, gy = t(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(gx, [2.0, 4.0, 6.0])
    np.testing.assert_allclose(gy, np.full(4, -6.0))


# ----------------------------------------------------------------------------- jacobians


def _g_vec(x):  # R^3 -> R^2
    return pnp.stack([x[0] * x[1] * x[2], pnp.sin(x[0]) + x[2] ** 2])


def _g_vec_jac(x):
    return np.array([[x[1] * x[2], x[0] * x[2], x[0] * x[1]], [np.cos(x[0]), 0.0, 2 * x[2]]])


@pytest.mark.parametrize("jac", [pb.jacfwd, pb.jacrev, pb.jacobian], ids=["jacfwd", "jacrev", "jacobian"])
def test_jacobian_matches_analytic_with_shape_out_by_in(jac):
    x = RNG.standard_normal(3)
    J = jac(_g_vec)(x)
    assert type(J) is np.ndarray and J.shape == (2, 3)
    np.testing.assert_allclose(J, _g_vec_jac(x), rtol=1e-13)


@pytest.mark.parametrize("jac", [pb.jacfwd, pb.jacrev])
def test_jacobian_of_matrix_function_has_shape_out_shape_plus_in_shape(jac):
    A = RNG.standard_normal((2, 3))
    X = RNG.standard_normal((3, 4))
    J = jac(lambda X: A @ X)(X)
    assert J.shape == (2, 4, 3, 4)
    expected = np.einsum("ik,jl->ijkl", A, np.eye(4))
    np.testing.assert_allclose(J, expected, atol=1e-14)


@pytest.mark.parametrize("jac", [pb.jacfwd, pb.jacrev])
def test_jacobian_of_scalar_function_of_scalar(jac):
    J = jac(sin_exp)(0.7)
    assert np.shape(J) == () and np.isclose(J, sin_exp_d1(0.7))


@pytest.mark.parametrize("jac", [pb.jacfwd, pb.jacrev])
def test_jacobian_with_argnums_tuple_returns_one_block_per_argument(jac):
    f = lambda x, y: x * pnp.sum(y)
    x, y = RNG.standard_normal(2), RNG.standard_normal(3)
    Jx, Jy = jac(f, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(Jx, np.eye(2) * y.sum())
    np.testing.assert_allclose(Jy, np.outer(x, np.ones(3)))


@pytest.mark.parametrize("jac", [pb.jacfwd, pb.jacrev])
def test_jacfwd_and_jacrev_agree_on_pytree_output(jac):
    f = lambda x: {"s": pnp.sum(x**2), "v": pnp.tanh(x)}
    x = RNG.standard_normal(3)
    J = jac(f)(x)
    np.testing.assert_allclose(J["s"], 2 * x)
    np.testing.assert_allclose(J["v"], np.diag(1 - np.tanh(x) ** 2))


@pytest.mark.parametrize("jac", [pb.jacfwd, pb.jacrev])
def test_jacobian_has_aux(jac):
    f = lambda x: (pnp.sin(x), pnp.sum(x))
    x = RNG.standard_normal(3)
    J, aux = jac(f, has_aux=True)(x)
    np.testing.assert_allclose(J, np.diag(np.cos(x)))
    assert _is_plain(aux) and np.isclose(aux, x.sum())


def test_hessian_of_rosenbrock_matches_analytic():
    x = RNG.standard_normal(5)
    H = pb.hessian(rosenbrock)(x)
    assert type(H) is np.ndarray and H.shape == (5, 5)
    np.testing.assert_allclose(H, rosenbrock_hessian(x), rtol=1e-12, atol=1e-10)


def test_hessian_of_quadratic_plus_sines_matches_analytic():
    A = RNG.standard_normal((4, 4))
    f = lambda x: 0.5 * x @ (A @ x) + pnp.sum(pnp.sin(x))
    x = RNG.standard_normal(4)
    np.testing.assert_allclose(pb.hessian(f)(x), 0.5 * (A + A.T) - np.diag(np.sin(x)), atol=1e-13)


def test_hessian_of_function_of_matrix_has_shape_in_shape_twice():
    f = lambda X: pnp.sum(X**3)
    X = RNG.standard_normal((2, 3))
    H = pb.hessian(f)(X)
    assert H.shape == (2, 3, 2, 3)
    np.testing.assert_allclose(H.reshape(6, 6), np.diag(6 * X.ravel()))


def test_hessian_with_argnums_gives_the_cross_blocks():
    f = lambda x, y: pnp.sum(x**2 * y)
    x, y = RNG.standard_normal(2), RNG.standard_normal(2)
    (Hxx, Hxy), (Hyx, Hyy) = pb.hessian(f, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(Hxx, np.diag(2 * y))
    np.testing.assert_allclose(Hxy, np.diag(2 * x))
    np.testing.assert_allclose(Hyx, np.diag(2 * x))
    np.testing.assert_allclose(Hyy, np.zeros((2, 2)))


# ----------------------------------------------------------------------------- products


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_hvp_equals_hessian_times_vector(mode):
    x, v = RNG.standard_normal(6), RNG.standard_normal(6)
    g, hv = pb.hvp(rosenbrock, (x,), (v,), mode=mode)
    np.testing.assert_allclose(g, rosenbrock_grad(x), rtol=1e-12)
    np.testing.assert_allclose(hv, rosenbrock_hessian(x) @ v, rtol=1e-11, atol=1e-9)
    assert type(hv) is np.ndarray


def test_hvp_forward_and_reverse_modes_agree_with_two_arguments():
    f = lambda x, y: pnp.sum(pnp.sin(x) * pnp.exp(y) * x)
    x, y, vx, vy = (RNG.standard_normal(3) for _ in range(4))
    gf, hf = pb.hvp(f, (x, y), (vx, vy), mode="fwd")
    gr, hr = pb.hvp(f, (x, y), (vx, vy), mode="rev")
    for a, b in zip(gf + hf, gr + hr, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_hvp_rejects_unknown_mode():
    with pytest.raises(ValueError, match="mode"):
        pb.hvp(rosenbrock, (np.ones(3),), (np.ones(3),), mode="sideways")


def test_jvp_by_vjp_equals_jvp():
    f = lambda x: pnp.tanh(np.arange(12.0).reshape(4, 3) @ x) * pnp.sum(x)
    x, v = RNG.standard_normal(3), RNG.standard_normal(3)
    out1, jv1 = pb.jvp_by_vjp(f, (x,), (v,))
    out2, jv2 = pb.jvp(f, (x,), (v,))
    np.testing.assert_allclose(out1, out2)
    np.testing.assert_allclose(jv1, jv2, rtol=1e-12)
    assert type(jv1) is np.ndarray


def test_jvp_by_vjp_with_two_primals_equals_jvp():
    f = lambda x, y: pnp.sin(x) * y
    x, y, vx, vy = (RNG.standard_normal(3) for _ in range(4))
    _, a = pb.jvp_by_vjp(f, (x, y), (vx, vy))
    _, b = pb.jvp(f, (x, y), (vx, vy))
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_ggnvp_equals_explicit_jt_h_j_v():
    A = RNG.standard_normal((4, 3))
    target = RNG.standard_normal(4)
    model = lambda p: pnp.tanh(A @ p) * p[0]
    loss = lambda z: pnp.sum(pnp.log(1.0 + pnp.exp(z)) - target * z) + 0.25 * pnp.sum(z**4)
    params, v = RNG.standard_normal(3), RNG.standard_normal(3)
    J = pb.jacfwd(model)(params)
    H = pb.hessian(loss)(np.asarray(pb.jvp(model, (params,), (v,))[0]))
    expected = J.T @ H @ J @ v
    got = pb.ggnvp(model, loss, params, v)
    assert type(got) is np.ndarray
    np.testing.assert_allclose(got, expected, rtol=1e-11)
    # the GGN is not the Hessian of loss∘model here (the model is nonlinear)
    full = pb.hessian(lambda p: loss(model(p)))(params) @ v
    assert not np.allclose(got, full)


# ----------------------------------------------------------------------------- stop_gradient


def test_stop_gradient_blocks_reverse_mode():
    x = RNG.standard_normal(3)
    g = pb.grad(lambda x: pnp.sum(x * pb.stop_gradient(x)))(x)
    np.testing.assert_allclose(g, x)


def test_stop_gradient_blocks_forward_mode():
    x, v = RNG.standard_normal(3), RNG.standard_normal(3)
    _, t = pb.jvp(lambda x: x * pb.stop_gradient(x), (x,), (v,))
    np.testing.assert_allclose(t, v * x)


def test_stop_gradient_blocks_second_derivatives():
    f = lambda x: pb.stop_gradient(x**2) * x
    assert pb.grad(pb.grad(f))(3.0) == 0.0
    assert pb.grad(f)(3.0) == 9.0


def test_stop_gradient_maps_over_pytrees_and_passes_plain_values():
    tree = {"a": np.ones(2), "b": (3.0, None)}
    out = pb.stop_gradient(tree)
    assert out["b"][1] is None
    np.testing.assert_array_equal(out["a"], np.ones(2))
    assert float(out["b"][0]) == 3.0


# ----------------------------------------------------------------------------- pytrees

Params = namedtuple("Params", ["w", "b"])


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y


pb.tree_util.register_pytree_node(Point, lambda p: ((p.x, p.y), None), lambda aux, ch: Point(*ch))


def test_grad_over_tuple_list_dict_and_none_keeps_the_structure():
    params = {"layers": [(np.ones(2), np.full(2, 2.0)), (np.array(3.0), None)], "scale": 0.5}

    def f(p):
        (a, b), (c, _) = p["layers"]
        return p["scale"] * pnp.sum(a * b) + c**2

    g = pb.grad(f)(params)
    assert isinstance(g, dict) and set(g) == {"layers", "scale"}
    assert isinstance(g["layers"], list) and isinstance(g["layers"][0], tuple)
    assert g["layers"][1][1] is None
    np.testing.assert_allclose(g["layers"][0][0], 0.5 * np.full(2, 2.0))
    np.testing.assert_allclose(g["layers"][0][1], 0.5 * np.ones(2))
    assert np.isclose(g["layers"][1][0], 6.0)
    assert np.isclose(g["scale"], 4.0)
    _assert_plain_tree(g)


def test_grad_over_namedtuple_returns_namedtuple():
    p = Params(w=RNG.standard_normal(3), b=np.array(0.3))
    x = RNG.standard_normal(3)
    g = pb.grad(lambda p: (p.w @ x + p.b) ** 2)(p)
    assert type(g) is Params
    r = p.w @ x + p.b
    np.testing.assert_allclose(g.w, 2 * r * x)
    assert np.isclose(g.b, 2 * r)


def test_grad_over_registered_class_returns_that_class():
    p = Point(np.array([1.0, 2.0]), np.array(3.0))
    g = pb.grad(lambda p: pnp.sum(p.x**2) * p.y)(p)
    assert type(g) is Point
    np.testing.assert_allclose(g.x, 2 * p.x * p.y)
    assert np.isclose(g.y, 5.0)


def test_jvp_and_vjp_with_pytree_inputs_and_outputs():
    f = lambda p: Point(pnp.sin(p["a"]), [p["a"] * p["b"]])
    primal = {"a": RNG.standard_normal(2), "b": RNG.standard_normal(2)}
    tangent = {"a": RNG.standard_normal(2), "b": RNG.standard_normal(2)}
    out, t = pb.jvp(f, (primal,), (tangent,))
    assert type(out) is Point and type(t) is Point and isinstance(t.y, list)
    np.testing.assert_allclose(t.x, np.cos(primal["a"]) * tangent["a"])
    np.testing.assert_allclose(t.y[0], tangent["a"] * primal["b"] + primal["a"] * tangent["b"])
    _assert_plain_tree((out, t))
    _, vjp_fn = pb.vjp(f, primal)
    u = Point(RNG.standard_normal(2), [RNG.standard_normal(2)])
    (g,) = vjp_fn(u)
    assert set(g) == {"a", "b"}
    # dot-product test: <u, J v> = <J^T u, v>
    lhs = np.sum(u.x * t.x) + np.sum(u.y[0] * t.y[0])
    rhs = np.sum(g["a"] * tangent["a"]) + np.sum(g["b"] * tangent["b"])
    assert np.isclose(lhs, rhs)


def test_every_api_result_is_plain_numpy_never_a_tracer():
    x = RNG.standard_normal(3)
    f = lambda x: pnp.sum(pnp.sin(x) ** 2)
    results = [
        pb.grad(f)(x),
        pb.value_and_grad(f)(x),
        pb.vjp(f, x)[0],
        pb.vjp(f, x)[1](1.0),
        pb.jvp(f, (x,), (x,)),
        pb.linearize(f, x)[0],
        pb.linearize(f, x)[1](x),
        pb.jacfwd(pnp.sin)(x),
        pb.jacrev(pnp.sin)(x),
        pb.hessian(f)(x),
        pb.hvp(f, (x,), (x,)),
        pb.hvp(f, (x,), (x,), mode="rev"),
        pb.jvp_by_vjp(pnp.sin, (x,), (x,)),
        pb.ggnvp(pnp.sin, f, x, x),
        pb.grad(pb.grad(lambda x: x**3))(2.0),
    ]
    _assert_plain_tree(results)


def test_every_returned_derivative_array_is_writable():
    x = RNG.standard_normal(3)
    f = lambda x: pnp.broadcast_to(x, (2, 3))  # its derivatives are broadcasts: read-only views in NumPy
    s = lambda x: pnp.sum(pnp.broadcast_to(x, (2, 3)) ** 2)
    results = [
        pb.jvp(f, (x,), (x,)),
        pb.vjp(f, x)[1](np.ones((2, 3))),
        pb.grad(s)(x),
        pb.jacfwd(f)(x),
        pb.jacrev(f)(x),
        pb.hessian(s)(x),
        pb.hvp(s, (x,), (x,)),
        pb.jvp_by_vjp(f, (x,), (x,)),
    ]
    for leaf in pb.tree_util.tree_leaves(results):
        if isinstance(leaf, np.ndarray):
            assert leaf.flags.writeable


def test_gradients_of_different_arguments_are_separate_arrays():
    # x + y hands both inputs the same cotangent; the gradients must still be two buffers
    w, b = np.ones(3), np.full(3, 2.0)
    gw, gb = pb.grad(lambda w, b: pnp.sum((w + b) ** 2), argnums=(0, 1))(w, b)
    assert not np.shares_memory(gw, gb)
    gw *= 0.0  # an in-place update of one gradient leaves the other alone
    np.testing.assert_allclose(gb, 2 * (w + b))
    g = pb.grad(lambda p: pnp.sum((p["a"] + p["b"].reshape(3)) ** 2))({"a": w, "b": b.reshape(3, 1)})
    assert not np.shares_memory(g["a"], g["b"])


def test_vjp_fn_result_does_not_alias_the_cotangent_or_other_results():
    x, y, ct = np.ones(3), np.ones(3), np.arange(3.0)
    gx, gy = pb.vjp(lambda x, y: x + y, x, y)[1](ct)
    assert not np.shares_memory(gx, gy) and not np.shares_memory(gx, ct) and not np.shares_memory(gy, ct)
    (g,) = pb.vjp(lambda x: x, x)[1](ct)
    g += 1.0
    np.testing.assert_array_equal(ct, np.arange(3.0))


def test_jvp_tangents_do_not_alias_each_other_or_the_inputs():
    x, t = np.ones(3), np.arange(3.0)
    _, (t1, t2) = pb.jvp(lambda x: (x, x), (x,), (t,))
    assert not np.shares_memory(t1, t2) and not np.shares_memory(t1, t)
    f = lambda w, b: pnp.sum((w + b) ** 2)
    _, (h1, h2) = pb.hvp(f, (x, x), (t, t))
    assert not np.shares_memory(h1, h2)


def test_python_control_flow_depending_on_values_is_differentiated():
    def f(x):
        y = x
        n = 0
        while pnp.sum(y**2) < 100.0:  # loop length depends on the value
            y = 2.0 * y
            n += 1
        return pnp.sum(y), n

    x = np.array([0.5, 0.25])
    g, n = pb.grad(f, has_aux=True)(x)
    assert n == 5
    np.testing.assert_allclose(g, np.full(2, 2.0**n))


def test_grad_of_real_function_of_complex_input_follows_jax_convention():
    # grad f(x + iy) = ∂f/∂x − i ∂f/∂y: for |z|^2 that is 2 conj(z)
    z = np.array([1.0 + 1.0j, -0.5 + 2.0j])
    g = pb.grad(lambda z: pnp.sum(pnp.abs(z) ** 2))(z)
    assert g.dtype == np.complex128
    np.testing.assert_allclose(g, 2 * np.conj(z))
    # holomorphic inside a real part: Re(z^2) = x^2 - y^2 → 2x + 2iy = 2 z
    np.testing.assert_allclose(pb.grad(lambda z: pnp.sum(pnp.real(z * z)))(z), 2 * z)


@settings(max_examples=30, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 5), elements=st.floats(-2.0, 2.0)))
def test_vjp_and_jvp_satisfy_the_dot_product_identity(x):
    f = lambda x: pnp.tanh(x) * pnp.sum(pnp.sin(x) ** 2) + pnp.exp(-x)
    rng = np.random.default_rng(x.size)
    u, v = rng.standard_normal(x.shape), rng.standard_normal(x.shape)
    _, jv = pb.jvp(f, (x,), (v,))
    (jtu,) = pb.vjp(f, x)[1](u)
    np.testing.assert_allclose(u @ jv, jtu @ v, rtol=1e-10, atol=1e-12)
    # and the gradient of <u, f> is Jᵀu
    np.testing.assert_allclose(pb.grad(lambda x: pnp.sum(u * f(x)))(x), jtu, rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------- check_grads


def test_check_grads_passes_for_correct_functions():
    x = RNG.standard_normal(4)
    pb.testing.check_grads(lambda x: pnp.sin(x) * pnp.exp(x), (x,), order=2)
    pb.testing.check_grads(rosenbrock, (x,), order=3, modes=("rev",))
    pb.testing.check_grads(lambda x, y: pnp.tanh(x @ y), (RNG.standard_normal((2, 3)), RNG.standard_normal(3)))
    pb.testing.check_grads(lambda p: p["a"] * pnp.sum(p["b"]), ({"a": x, "b": x[:2]},), modes=("fwd",))


def test_check_grads_raises_for_a_wrong_custom_vjp_rule():
    @pb.custom_vjp
    def f(x):
        return pnp.sin(x)

    f.defvjp(lambda x: (f(x), x), lambda x, ct: (ct * pnp.cos(x) * 1.1,))  # 10% off

    x = RNG.standard_normal(3)
    with pytest.raises(AssertionError):
        pb.testing.check_grads(f, (x,), order=1, modes=("rev",))
    with pytest.raises(AssertionError):
        pb.testing.check_grads(f, (x,), order=1, modes=("fwd", "rev"))


def test_check_grads_raises_for_a_wrong_custom_jvp_rule():
    @pb.custom_jvp
    def f(x):
        return x**2

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return f(x), 3.0 * x * t  # should be 2 x t

    with pytest.raises(AssertionError):
        pb.testing.check_grads(f, (RNG.standard_normal(3),), order=1, modes=("fwd",))


def test_check_grads_raises_when_only_the_second_derivative_is_wrong():
    # first derivative right, its derivative wrong: the rule's bwd is not differentiable correctly
    @pb.custom_vjp
    def f(x):
        return x**3

    f.defvjp(lambda x: (f(x), x), lambda x, ct: (ct * 3.0 * pb.stop_gradient(x) ** 2,))
    x = RNG.standard_normal(3) + 2.0
    pb.testing.check_grads(f, (x,), order=1, modes=("rev",))
    with pytest.raises(AssertionError):
        pb.testing.check_grads(f, (x,), order=2, modes=("rev",))
