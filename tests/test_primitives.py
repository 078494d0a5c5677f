"""Every primitive's derivative rules: against finite differences, JVP against VJP, and known values.

The primitives are called directly here (ew.sin(x), sh.getitem(x, idx=...)), with their
parameters in normalized form; tests/test_numpy_layer.py covers the NumPy-facing layer.
"""

from __future__ import annotations

import math

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pullback as pb
from pullback.core.primitive import Primitive
from pullback.primitives import elementwise as ew
from pullback.primitives import linalg as la
from pullback.primitives import reductions as red
from pullback.primitives import shape as sh
from pullback.testing import check_grads

pytestmark = [
    pytest.mark.filterwarnings("error::RuntimeWarning"),
    pytest.mark.filterwarnings("error::numpy.exceptions.ComplexWarning"),
]

FAST = settings(max_examples=12, deadline=None, derandomize=True)


def uniform(rng, shape, lo, hi, dtype=np.float64):
    return rng.uniform(lo, hi, shape).astype(dtype)


def away_from_zero(rng, shape, lo=0.5, hi=2.0):
    return rng.uniform(lo, hi, shape) * rng.choice([-1.0, 1.0], shape)


def cnormal(rng, shape, scale=1.0):
    return scale * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))


def plain_sum(f):
    """x ↦ Σ f(x), through primitives only."""
    return lambda *a: red.reduce_sum(f(*a), axis=None, keepdims=False)


# ============================================================================ unary functions

# name -> (real domain (lo, hi), f'(x) written independently of the library, complex sample or None)
UNARY_TABLE = {
    "exp": ((-1, 1), np.exp, lambda r, s: cnormal(r, s, 0.5)),
    "exp2": ((-1, 1), lambda x: 2.0**x * math.log(2), lambda r, s: cnormal(r, s, 0.5)),
    "expm1": ((-1, 1), np.exp, lambda r, s: cnormal(r, s, 0.5)),
    "log": ((0.5, 2), lambda x: 1 / x, lambda r, s: 1 + cnormal(r, s, 0.3)),
    "log2": ((0.5, 2), lambda x: 1 / (x * math.log(2)), lambda r, s: 1 + cnormal(r, s, 0.3)),
    "log10": ((0.5, 2), lambda x: 1 / (x * math.log(10)), lambda r, s: 1 + cnormal(r, s, 0.3)),
    "log1p": ((-0.5, 1), lambda x: 1 / (1 + x), lambda r, s: cnormal(r, s, 0.3)),
    "sin": ((-2, 2), np.cos, lambda r, s: cnormal(r, s, 0.7)),
    "cos": ((-2, 2), lambda x: -np.sin(x), lambda r, s: cnormal(r, s, 0.7)),
    "tan": ((-1, 1), lambda x: 1 / np.cos(x) ** 2, lambda r, s: cnormal(r, s, 0.4)),
    "arcsin": ((-0.8, 0.8), lambda x: 1 / np.sqrt(1 - x * x), lambda r, s: cnormal(r, s, 0.3)),
    "arccos": ((-0.8, 0.8), lambda x: -1 / np.sqrt(1 - x * x), lambda r, s: cnormal(r, s, 0.3)),
    "arctan": ((-2, 2), lambda x: 1 / (1 + x * x), lambda r, s: cnormal(r, s, 0.3)),
    "sinh": ((-2, 2), np.cosh, lambda r, s: cnormal(r, s, 0.7)),
    "cosh": ((-2, 2), np.sinh, lambda r, s: cnormal(r, s, 0.7)),
    "tanh": ((-2, 2), lambda x: 1 / np.cosh(x) ** 2, lambda r, s: cnormal(r, s, 0.4)),
    "arcsinh": ((-2, 2), lambda x: 1 / np.sqrt(x * x + 1), lambda r, s: cnormal(r, s, 0.3)),
    "arccosh": ((1.2, 3), lambda x: 1 / np.sqrt(x * x - 1), lambda r, s: 2 + cnormal(r, s, 0.3)),
    "arctanh": ((-0.8, 0.8), lambda x: 1 / (1 - x * x), lambda r, s: cnormal(r, s, 0.3)),
    "sqrt": ((0.5, 2), lambda x: 0.5 / np.sqrt(x), lambda r, s: 1 + cnormal(r, s, 0.3)),
    "cbrt": ((0.5, 2), lambda x: 1 / (3 * np.cbrt(x) ** 2), None),  # numpy.cbrt has no complex loop
    "square": ((-2, 2), lambda x: 2 * x, lambda r, s: cnormal(r, s)),
    "reciprocal": ((0.5, 2), lambda x: -1 / (x * x), lambda r, s: 1 + cnormal(r, s, 0.3)),
}

# f'' for a sample, to pin second derivatives to known values
SECOND_DERIVATIVE = {
    "exp": np.exp,
    "log": lambda x: -1 / x**2,
    "sin": lambda x: -np.sin(x),
    "tanh": lambda x: -2 * np.tanh(x) / np.cosh(x) ** 2,
    "sqrt": lambda x: -0.25 * x**-1.5,
    "reciprocal": lambda x: 2 / x**3,
    "arctan": lambda x: -2 * x / (1 + x * x) ** 2,
}

COMPLEX_UNARY = [n for n, (_, _, c) in UNARY_TABLE.items() if c is not None]


def test_unary_table_covers_every_unary_primitive():
    assert set(UNARY_TABLE) == set(ew.UNARY)


@pytest.mark.parametrize("name", sorted(UNARY_TABLE))
def test_unary_value_matches_numpy(name, rng):
    (lo, hi), _, _ = UNARY_TABLE[name]
    x = uniform(rng, (2, 3), lo, hi)
    np.testing.assert_array_equal(ew.UNARY[name](x), getattr(np, name)(x))


@pytest.mark.parametrize("name", sorted(UNARY_TABLE))
def test_unary_derivatives_to_second_order(name, rng):
    (lo, hi), _, _ = UNARY_TABLE[name]
    check_grads(ew.UNARY[name], [uniform(rng, (2, 3), lo, hi)], order=2)


@pytest.mark.parametrize("name", ["exp", "log", "sin", "tanh", "arcsin", "sqrt", "reciprocal"])
def test_unary_derivatives_to_third_order(name, rng):
    (lo, hi), _, _ = UNARY_TABLE[name]
    check_grads(ew.UNARY[name], [uniform(rng, (3,), lo, hi)], order=3)


@pytest.mark.parametrize("name", sorted(UNARY_TABLE))
def test_unary_gradient_equals_known_derivative(name, rng):
    (lo, hi), deriv, _ = UNARY_TABLE[name]
    x = uniform(rng, (4,), lo, hi)
    g = pb.grad(plain_sum(ew.UNARY[name]))(x)
    np.testing.assert_allclose(g, deriv(x), rtol=1e-12)
    _, t = pb.jvp(ew.UNARY[name], (x,), (np.ones(4),))
    np.testing.assert_allclose(t, deriv(x), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(SECOND_DERIVATIVE))
def test_unary_second_derivative_equals_known_value(name):
    (lo, hi), _, _ = UNARY_TABLE[name]
    x = 0.5 * (lo + hi) + 0.1
    f = ew.UNARY[name]
    assert pb.grad(pb.grad(f))(x) == pytest.approx(SECOND_DERIVATIVE[name](x), rel=1e-10)


@pytest.mark.parametrize("name", COMPLEX_UNARY)
def test_unary_complex_derivatives_to_second_order(name, rng):
    z = UNARY_TABLE[name][2](rng, (3,))
    check_grads(ew.UNARY[name], [z], order=2)


@pytest.mark.parametrize("name", COMPLEX_UNARY)
def test_unary_holomorphic_vjp_is_ct_times_derivative_without_conjugation(name, rng):
    z = UNARY_TABLE[name][2](rng, (3,))
    deriv = UNARY_TABLE[name][1]
    out, vjp_fn = pb.vjp(ew.UNARY[name], z)
    np.testing.assert_allclose(out, getattr(np, name)(z))
    ct = cnormal(rng, (3,))
    (g,) = vjp_fn(ct)
    np.testing.assert_allclose(g, ct * deriv(z), rtol=1e-10)
    _, t = pb.jvp(ew.UNARY[name], (z,), (ct,))
    np.testing.assert_allclose(t, ct * deriv(z), rtol=1e-10)


@pytest.mark.parametrize("name", sorted(UNARY_TABLE))
def test_unary_float32_stays_float32(name, rng):
    (lo, hi), deriv, _ = UNARY_TABLE[name]
    x = uniform(rng, (4,), lo, hi, np.float32)
    f = ew.UNARY[name]
    assert f(x).dtype == np.float32
    g = pb.grad(plain_sum(f))(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, deriv(x.astype(np.float64)), rtol=1e-5)
    out, t = pb.jvp(f, (x,), (np.ones(4, np.float32),))
    assert out.dtype == np.float32 and t.dtype == np.float32


@pytest.mark.parametrize("name", ["sqrt", "log", "cbrt"])
def test_unary_size_zero_and_scalar_inputs(name):
    f = ew.UNARY[name]
    check_grads(f, [np.ones((0, 3))])
    check_grads(f, [np.float64(1.3)], order=2)
    assert pb.grad(f)(1.3) == pytest.approx(UNARY_TABLE[name][1](1.3))


# ============================================================================ negative, absolute


def test_negative_derivatives_real_and_complex(rng):
    check_grads(ew.negative, [rng.standard_normal((2, 3))], order=2)
    check_grads(ew.negative, [cnormal(rng, (2, 3))], order=2)
    np.testing.assert_array_equal(pb.grad(plain_sum(ew.negative))(np.ones(3)), -np.ones(3))


def test_absolute_real_derivative_is_sign_and_zero_at_zero():
    x = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(pb.grad(plain_sum(ew.absolute))(x), [-1.0, 0.0, 1.0])


def test_absolute_real_derivatives_to_third_order_away_from_zero(rng):
    check_grads(ew.absolute, [away_from_zero(rng, (2, 3))], order=3)


def test_absolute_complex_derivatives(rng):
    z = cnormal(rng, (2, 3))
    assert ew.absolute(z).dtype == np.float64
    check_grads(ew.absolute, [z], order=3)


def test_absolute_complex_grad_is_conj_over_modulus():
    # JAX's convention: grad of a real f(x + iy) is ∂f/∂x − i ∂f/∂y
    assert pb.grad(ew.absolute)(3 + 4j) == pytest.approx(0.6 - 0.8j)
    assert pb.grad(lambda z: ew.multiply(ew.absolute(z), ew.absolute(z)))(3 + 4j) == pytest.approx(6 - 8j)


def test_absolute_complex64_gradient_stays_complex64():
    g = pb.grad(plain_sum(ew.absolute))(np.array([3 + 4j], np.complex64))
    assert g.dtype == np.complex64
    np.testing.assert_allclose(g, [0.6 - 0.8j], rtol=1e-6)


# ============================================================================ complex parts


@pytest.mark.parametrize("prim", [ew.real, ew.imag, ew.conj], ids=lambda p: p.name)
def test_complex_part_derivatives_on_complex_input(prim, rng):
    check_grads(prim, [cnormal(rng, (2, 3))], order=2)


@pytest.mark.parametrize("prim", [ew.real, ew.imag, ew.conj], ids=lambda p: p.name)
def test_complex_part_derivatives_on_real_input(prim, rng):
    x = rng.standard_normal((2, 3))
    np.testing.assert_array_equal(prim(x), getattr(np, prim.name)(x))
    check_grads(prim, [x], order=2)


def test_real_imag_conj_gradients_follow_jax_convention():
    z = 3 + 4j
    assert pb.grad(ew.real)(z) == 1
    assert pb.grad(ew.imag)(z) == -1j
    assert pb.grad(lambda z: ew.real(ew.multiply(ew.conj(z), z)))(z) == pytest.approx(6 - 8j)
    assert pb.grad(lambda z: ew.multiply(ew.imag(z), ew.imag(z)))(z) == pytest.approx(-8j)
    # Re(z²) is the real part of a holomorphic function: the gradient is conj(f'(z)) conjugated back, 2z
    assert pb.grad(lambda z: ew.real(ew.multiply(z, z)))(1 + 2j) == pytest.approx(2 + 4j)


def test_imag_of_real_input_has_zero_gradient():
    np.testing.assert_array_equal(pb.grad(plain_sum(ew.imag))(np.ones(3)), np.zeros(3))


# ============================================================================ binary arithmetic

BROADCAST_PAIRS = [
    ((2, 3), (2, 3)),
    ((3, 1), (4,)),
    ((2, 3), ()),
    ((), (2, 3)),
    ((1,), (3, 1)),
    ((2, 1, 3), (4, 1)),
    ((0, 3), (3,)),
    ((1, 0), (3, 1)),
]


def _pos(rng, s):
    return uniform(rng, s, 0.5, 2.0)


def _any(rng, s):
    return rng.standard_normal(s)


# name -> (samplers for x and y, ∂/∂x and ∂/∂y written independently)
BINARY_TABLE = {
    "add": ((_any, _any), (lambda x, y: 1 + 0 * x * y, lambda x, y: 1 + 0 * x * y)),
    "subtract": ((_any, _any), (lambda x, y: 1 + 0 * x * y, lambda x, y: -1 + 0 * x * y)),
    "multiply": ((_any, _any), (lambda x, y: y + 0 * x, lambda x, y: x + 0 * y)),
    "divide": ((_any, away_from_zero), (lambda x, y: 1 / y + 0 * x, lambda x, y: -x / y**2)),
    "power": ((_pos, _any), (lambda x, y: y * x ** (y - 1), lambda x, y: np.log(x) * x**y)),
    "maximum": ((_any, _any), (lambda x, y: (x > y) + 0.0 * y, lambda x, y: (y > x) + 0.0 * x)),
    "minimum": ((_any, _any), (lambda x, y: (x < y) + 0.0 * y, lambda x, y: (y < x) + 0.0 * x)),
    "arctan2": ((_any, away_from_zero), (lambda y, x: x / (x * x + y * y), lambda y, x: -y / (x * x + y * y))),
    "hypot": ((away_from_zero, _any), (lambda x, y: x / np.hypot(x, y), lambda x, y: y / np.hypot(x, y))),
}
BINARY_PRIMS = {n: getattr(ew, n) for n in BINARY_TABLE}

# (x shape, y shape, number of trailing axes summed): a stack against one, one against a stack,
# two stacks broadcasting, everything summed, nothing summed, size-0 and size-1 axes
SUM_OF_PRODUCTS_SHAPES = [((4, 3), (3,), 1), ((3,), (4, 3), 1), ((2, 1, 3), (4, 3), 1), ((2, 3), (2, 3), 2),
                          ((2, 3), (3,), 0), ((0, 3), (3,), 1), ((2, 0), (2, 0), 2), ((1, 1), (1,), 1)]


def _binary_args(name, rng, sx, sy):
    (gx, gy), _ = BINARY_TABLE[name]
    return gx(rng, sx), gy(rng, sy)


@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY_TABLE))
def test_binary_value_matches_numpy_with_broadcasting(name, shapes, rng):
    x, y = _binary_args(name, rng, *shapes)
    out = BINARY_PRIMS[name](x, y)
    np.testing.assert_array_equal(out, getattr(np, name)(x, y))
    assert np.shape(out) == np.broadcast_shapes(*shapes)


@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY_TABLE))
def test_binary_derivatives_with_broadcasting(name, shapes, rng):
    x, y = _binary_args(name, rng, *shapes)
    check_grads(BINARY_PRIMS[name], [x, y], order=2)


@pytest.mark.parametrize("name", ["multiply", "divide", "power", "arctan2", "hypot", "maximum"])
def test_binary_derivatives_to_third_order(name, rng):
    x, y = _binary_args(name, rng, (3, 1), (2,))
    check_grads(BINARY_PRIMS[name], [x, y], order=3)


@pytest.mark.parametrize("name", sorted(BINARY_TABLE))
def test_binary_gradients_equal_known_partials(name, rng):
    x, y = _binary_args(name, rng, (5,), (5,))
    dx, dy = BINARY_TABLE[name][1]
    gx, gy = pb.grad(plain_sum(BINARY_PRIMS[name]), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, dx(x, y), rtol=1e-12)
    np.testing.assert_allclose(gy, dy(x, y), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(BINARY_TABLE))
def test_binary_gradient_sums_over_broadcast_axes(name, rng):
    x, y = _binary_args(name, rng, (3, 1), (4,))
    dx, dy = BINARY_TABLE[name][1]
    gx, gy = pb.grad(plain_sum(BINARY_PRIMS[name]), argnums=(0, 1))(x, y)
    xb, yb = np.broadcast_arrays(x, y)
    assert gx.shape == (3, 1) and gy.shape == (4,)
    np.testing.assert_allclose(gx, dx(xb, yb).sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(gy, dy(xb, yb).sum(axis=0), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(BINARY_TABLE))
def test_binary_with_python_scalar_operand(name, rng):
    x, _ = _binary_args(name, rng, (3,), ())
    check_grads(lambda x: BINARY_PRIMS[name](x, 1.5), [x], order=2)
    check_grads(lambda x: BINARY_PRIMS[name](1.5, x + 2.0), [x], order=2)


@pytest.mark.parametrize("name", sorted(BINARY_TABLE))
def test_binary_float32_stays_float32(name, rng):
    x, y = (a.astype(np.float32) for a in _binary_args(name, rng, (4,), (4,)))
    prim = BINARY_PRIMS[name]
    assert prim(x, y).dtype == np.float32
    assert prim(x, 2.0).dtype == np.float32  # Python scalars are weakly typed
    gx, gy = pb.grad(plain_sum(prim), argnums=(0, 1))(x, y)
    assert gx.dtype == np.float32 and gy.dtype == np.float32
    dx, dy = BINARY_TABLE[name][1]
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    np.testing.assert_allclose(gx, dx(x64, y64), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gy, dy(x64, y64), rtol=1e-5, atol=1e-6)
    g = pb.grad(plain_sum(lambda x: prim(x, np.float32(1.5))))(x)
    assert g.dtype == np.float32


HOLOMORPHIC_BINARY = ["add", "subtract", "multiply", "divide", "power"]


@pytest.mark.parametrize("name", HOLOMORPHIC_BINARY)
def test_binary_complex_derivatives(name, rng):
    z = 1 + cnormal(rng, (3, 1), 0.3)
    w = 1 + cnormal(rng, (2,), 0.3)
    np.testing.assert_allclose(BINARY_PRIMS[name](z, w), getattr(np, name)(z, w))
    check_grads(BINARY_PRIMS[name], [z, w], order=2)


@pytest.mark.parametrize("name", HOLOMORPHIC_BINARY)
def test_binary_mixed_real_and_complex_operands(name, rng):
    x = uniform(rng, (3, 1), 0.5, 2.0)
    w = 1 + cnormal(rng, (2,), 0.3)
    check_grads(BINARY_PRIMS[name], [x, w], order=2)
    check_grads(BINARY_PRIMS[name], [w, x], order=2)
    # the real input's cotangent is real: the real part of the complex one
    g = pb.vjp(BINARY_PRIMS[name], x, w)[1](np.ones((3, 2), complex))[0]
    assert g.dtype == np.float64


@pytest.mark.parametrize("name", HOLOMORPHIC_BINARY)
def test_binary_complex_vjp_is_ct_times_partials(name, rng):
    z, w = 1 + cnormal(rng, (3,), 0.3), 1 + cnormal(rng, (3,), 0.3)
    dx, dy = BINARY_TABLE[name][1]
    ct = cnormal(rng, (3,))
    gz, gw = pb.vjp(BINARY_PRIMS[name], z, w)[1](ct)
    np.testing.assert_allclose(gz, ct * dx(z, w), rtol=1e-10)
    np.testing.assert_allclose(gw, ct * dy(z, w), rtol=1e-10)


# ---------------------------------------------------------------------------- power special cases


def test_power_of_negative_base_with_integer_exponent():
    assert pb.grad(lambda x: ew.power(x, 3))(-2.0) == 12.0
    assert pb.grad(pb.grad(lambda x: ew.power(x, 3)))(-2.0) == -12.0
    x = np.array([-2.0, -1.5, -0.5, -3.0])
    y = np.array([3.0, 2.0, -1.0, 0.0])
    np.testing.assert_allclose(pb.grad(plain_sum(lambda x: ew.power(x, y)))(x), y * x ** (y - 1) * (y != 0))
    check_grads(lambda x: ew.power(x, 3), [x], order=3)
    check_grads(lambda x: ew.power(x, y), [x], order=2)
    check_grads(lambda x: ew.power(x, np.array([3, 2, -1, 4])), [x], order=2)


def test_power_zero_to_the_zero_has_zero_derivative():
    assert pb.grad(lambda x: ew.power(x, 0))(0.0) == 0.0
    assert pb.grad(lambda x: ew.power(x, 0.0))(0.0) == 0.0
    gx, gy = pb.grad(ew.power, argnums=(0, 1))(0.0, 0.0)
    assert (gx, gy) == (0.0, 0.0)
    g = pb.grad(plain_sum(lambda x: ew.power(x, np.zeros(2))))(np.zeros(2))
    np.testing.assert_array_equal(g, [0.0, 0.0])


def test_power_derivative_in_exponent_at_zero_base_is_zero():
    assert pb.grad(ew.power, argnums=1)(0.0, 2.0) == 0.0
    assert pb.grad(ew.power, argnums=0)(0.0, 1.0) == 1.0
    assert pb.grad(pb.grad(ew.power, argnums=0), argnums=0)(0.0, 2.0) == 2.0


def test_power_with_exponent_one_and_two_known_values():
    assert pb.grad(lambda x: ew.power(x, 2))(3.0) == 6.0
    assert pb.grad(ew.power, argnums=1)(2.0, 3.0) == pytest.approx(8 * math.log(2))


def test_power_complex_integer_exponent(rng):
    z = cnormal(rng, (3,))
    check_grads(lambda z: ew.power(z, 3), [z], order=3)
    np.testing.assert_allclose(pb.vjp(lambda z: ew.power(z, 3), z)[1](np.ones(3, complex))[0], 3 * z**2)


# ---------------------------------------------------------------------------- maximum / minimum ties


def test_maximum_and_minimum_split_the_derivative_at_ties():
    for prim in (ew.maximum, ew.minimum):
        gx, gy = pb.grad(prim, argnums=(0, 1))(2.0, 2.0)
        assert (gx, gy) == (0.5, 0.5)
        _, t = pb.jvp(prim, (2.0, 2.0), (1.0, 3.0))
        assert t == 2.0


def test_maximum_ties_with_broadcasting():
    x = np.array([[1.0], [2.0]])
    y = np.array([[1.0, 2.0]])
    gx, gy = pb.grad(plain_sum(ew.maximum), argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(gx, [[0.5], [1.5]])  # (1,1) tie, (1,2) y wins, (2,1) x wins, (2,2) tie
    np.testing.assert_array_equal(gy, [[0.5, 1.5]])
    gx, gy = pb.grad(plain_sum(ew.minimum), argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(gx, [[1.5], [0.5]])
    np.testing.assert_array_equal(gy, [[1.5, 0.5]])


def test_maximum_against_constant_is_relu():
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(pb.grad(plain_sum(lambda x: ew.maximum(x, 0.0)))(x), [0.0, 0.5, 1.0])


# ---------------------------------------------------------------------------- arctan2 / hypot


def test_arctan2_known_gradient():
    gy, gx = pb.grad(ew.arctan2, argnums=(0, 1))(1.0, 1.0)
    assert (gy, gx) == (pytest.approx(0.5), pytest.approx(-0.5))
    gy, gx = pb.grad(ew.arctan2, argnums=(0, 1))(1.0, -2.0)  # second quadrant
    assert (gy, gx) == (pytest.approx(-0.4), pytest.approx(-0.2))


def test_hypot_known_gradient():
    gx, gy = pb.grad(ew.hypot, argnums=(0, 1))(3.0, 4.0)
    assert (gx, gy) == (pytest.approx(0.6), pytest.approx(0.8))


@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
@FAST
def test_broadcasting_binary_derivatives_on_random_shapes(shapes):
    rng = np.random.default_rng(0)
    sx, sy = shapes.input_shapes
    x, y = rng.standard_normal(sx), away_from_zero(rng, sy)
    for prim in (ew.add, ew.multiply, ew.divide, ew.arctan2):
        out = prim(x, y)
        assert np.shape(out) == shapes.result_shape
        check_grads(prim, [x, y], order=1)


# ============================================================================ convert, select, constants


def test_convert_between_float_widths():
    x32 = np.array([1.5, -2.0], np.float32)
    assert ew.convert(x32, dtype=np.float64).dtype == np.float64
    check_grads(lambda x: ew.convert(x, dtype=np.float64), [x32], order=2)
    g = pb.grad(plain_sum(lambda x: ew.convert(x, dtype=np.float64)))(x32)
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, [1.0, 1.0])
    g = pb.grad(plain_sum(lambda x: ew.convert(x, dtype=np.float32)))(np.array([1.5, -2.0]))
    assert g.dtype == np.float64
    np.testing.assert_array_equal(g, [1.0, 1.0])


def test_convert_real_to_complex_and_back(rng):
    x = rng.standard_normal((3,))
    z = cnormal(rng, (3,))
    check_grads(lambda x: ew.convert(x, dtype=np.complex128), [x], order=2)
    check_grads(lambda z: ew.convert(z, dtype=np.float64), [z], order=2)
    np.testing.assert_array_equal(ew.convert(z, dtype=np.float64), z.real)  # keeps the real part, no warning
    _, vjp_fn = pb.vjp(lambda x: ew.convert(x, dtype=np.complex128), x)
    g = vjp_fn(np.array([1 + 2j, 3 - 1j, 1j]))[0]
    np.testing.assert_array_equal(g, [1.0, 3.0, 0.0])
    assert g.dtype == np.float64


def test_convert_to_integer_carries_no_derivative():
    x = np.array([1.7, -2.2])
    np.testing.assert_array_equal(ew.convert_nondiff(x, dtype=np.int64), [1, -2])
    g = pb.grad(plain_sum(lambda x: ew.multiply(ew.convert_nondiff(x, dtype=np.int64), x)))(x)
    np.testing.assert_array_equal(g, [1.0, -2.0])


def test_select_routes_derivative_to_chosen_branch(rng):
    c = np.array([[True], [False], [True]])
    x, y = rng.standard_normal((4,)), rng.standard_normal(())
    np.testing.assert_array_equal(ew.select(c, x, y), np.where(c, x, y))
    check_grads(lambda x, y: ew.select(c, x, y), [x, y], order=2)
    gx, gy = pb.grad(plain_sum(lambda x, y: ew.select(c, x, y)), argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(gx, np.full(4, 2.0))
    assert gy == 4.0


def test_select_with_complex_branches(rng):
    c = np.array([True, False, True])
    check_grads(lambda z, w: ew.select(c, z, w), [cnormal(rng, (3,)), cnormal(rng, (3,))], order=2)


def test_select_with_traced_condition_differentiates_the_branches():
    f = plain_sum(lambda x: ew.select(ew.greater(x, 0.0), ew.multiply(x, x), ew.negative(x)))
    np.testing.assert_array_equal(pb.grad(f)(np.array([-1.0, 2.0])), [-1.0, 4.0])


NONDIFF_UNARY_INPUT = np.array([-2.5, -0.0, 0.0, 0.5, 1.5, np.inf, np.nan])


@pytest.mark.parametrize("name", sorted(ew.NONDIFF_UNARY))
def test_piecewise_constant_unary_values_match_numpy_and_carry_no_derivative(name):
    prim = ew.NONDIFF_UNARY[name]
    x = NONDIFF_UNARY_INPUT if name != "logical_not" else np.array([0.0, 1.0, -2.0])
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(prim(x), getattr(np, name)(x))
    y = np.array([-1.5, 0.5, 2.5])
    _, t = pb.jvp(lambda x: ew.multiply(prim(x), 1.0), (y,), (np.ones(3),))
    np.testing.assert_array_equal(t, np.zeros(3))
    g = pb.grad(plain_sum(lambda x: ew.multiply(ew.convert(prim(x), dtype=np.float64), x)))(y)
    np.testing.assert_array_equal(g, getattr(np, name)(y).astype(float))


@pytest.mark.parametrize("name", sorted(ew.NONDIFF_BINARY))
def test_comparison_values_match_numpy_and_carry_no_derivative(name):
    prim = ew.NONDIFF_BINARY[name]
    x, y = np.array([[1.0], [2.0], [0.0]]), np.array([2.0, 1.0, 0.0])
    np.testing.assert_array_equal(prim(x, y), getattr(np, name)(x, y))
    g = pb.grad(plain_sum(lambda x: ew.select(prim(x, y), x, ew.negative(x))))(x)
    np.testing.assert_array_equal(g, np.where(getattr(np, name)(x, y), 1.0, -1.0).sum(axis=1, keepdims=True))


def test_stop_gradient_is_identity_with_zero_derivative(rng):
    x = rng.standard_normal(3)
    np.testing.assert_array_equal(ew.stop_gradient(x), x)
    g = pb.grad(plain_sum(lambda x: ew.multiply(ew.stop_gradient(x), x)))(x)
    np.testing.assert_array_equal(g, x)
    _, t = pb.jvp(lambda x: ew.multiply(ew.stop_gradient(x), 1.0), (x,), (np.ones(3),))
    np.testing.assert_array_equal(t, np.zeros(3))
    # inside a second-order derivative too
    assert pb.grad(pb.grad(lambda x: ew.multiply(ew.stop_gradient(x), ew.multiply(x, x))))(3.0) == 6.0


# ============================================================================ matmul

MATMUL_SHAPES = [
    ((3,), (3,)),
    ((3,), (3, 2)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((1, 3), (3, 1)),
    ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)),
    ((2, 1, 2, 3), (5, 3, 4)),
    ((3,), (5, 3, 4)),
    ((5, 2, 3), (3,)),
    ((2, 0), (0, 3)),
    ((0, 3), (3, 2)),
    ((2, 3), (3, 0)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul_value_and_derivatives(shapes, rng):
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    out = la.matmul(a, b)
    np.testing.assert_allclose(out, np.matmul(a, b), rtol=1e-13)
    assert la.matmul.shape(a, b)[0] == np.matmul(a, b).shape
    check_grads(la.matmul, [a, b], order=2)


@pytest.mark.parametrize("shapes", [((3,), (3, 2)), ((2, 3), (3,)), ((2, 1, 2, 3), (5, 3, 4))], ids=str)
def test_matmul_derivatives_to_third_order(shapes, rng):
    check_grads(la.matmul, [rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])], order=3)


def test_matmul_gradients_equal_transposed_products(rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    u = rng.standard_normal((2, 4))
    ga, gb = pb.vjp(la.matmul, a, b)[1](u)
    np.testing.assert_allclose(ga, u @ b.T)
    np.testing.assert_allclose(gb, a.T @ u)
    # batch axes broadcast: b's gradient sums over them
    a3 = rng.standard_normal((5, 2, 3))
    gb = pb.grad(lambda b: red.reduce_sum(la.matmul(a3, b), axis=None, keepdims=False))(b)
    np.testing.assert_allclose(gb, a3.sum(axis=(0, 1))[:, None] * np.ones((3, 4)))


def test_matmul_complex_operands(rng):
    check_grads(la.matmul, [cnormal(rng, (2, 3)), cnormal(rng, (3, 2))], order=2)
    check_grads(la.matmul, [cnormal(rng, (2, 3)), rng.standard_normal((3,))], order=2)
    a, b = cnormal(rng, (2, 3)), cnormal(rng, (3, 2))
    u = cnormal(rng, (2, 2))
    ga, gb = pb.vjp(la.matmul, a, b)[1](u)
    np.testing.assert_allclose(ga, u @ b.T)  # no conjugation: holomorphic
    np.testing.assert_allclose(gb, a.T @ u)


def test_matmul_float32_stays_float32(rng):
    a, b = rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal((3,)).astype(np.float32)
    assert la.matmul(a, b).dtype == np.float32
    ga, gb = pb.grad(plain_sum(la.matmul), argnums=(0, 1))(a, b)
    assert ga.dtype == np.float32 and gb.dtype == np.float32


def test_matmul_rejects_mismatched_contraction():
    with pytest.raises(ValueError):
        la.matmul.shape(np.ones((2, 3)), np.ones((4, 2)))


# ============================================================================ reductions

REDUCE_AXES = [None, (0,), (2,), (0, 2), (0, 1, 2), ()]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", REDUCE_AXES, ids=str)
@pytest.mark.parametrize("prim", [red.reduce_sum, red.reduce_max, red.reduce_min], ids=lambda p: p.name)
def test_reduction_value_and_derivatives(prim, axis, keepdims, rng):
    x = rng.standard_normal((2, 3, 4))
    ref = {"reduce_sum": np.sum, "reduce_max": np.max, "reduce_min": np.min}[prim.name]
    out = prim(x, axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(out, ref(x, axis=axis, keepdims=keepdims), rtol=1e-14)
    assert prim.shape(x, axis=axis, keepdims=keepdims)[0] == np.shape(out)
    check_grads(lambda x: prim(x, axis=axis, keepdims=keepdims), [x], order=2)


@pytest.mark.parametrize("prim", [red.reduce_sum, red.reduce_max], ids=lambda p: p.name)
def test_reduction_derivatives_to_third_order(prim, rng):
    check_grads(lambda x: prim(x, axis=(1,), keepdims=False), [rng.standard_normal((2, 3))], order=3)


def test_reduce_sum_gradient_is_ones_and_complex_supported(rng):
    g = pb.grad(lambda x: red.reduce_sum(x, axis=None, keepdims=False))(np.zeros((2, 3)))
    np.testing.assert_array_equal(g, np.ones((2, 3)))
    check_grads(lambda z: red.reduce_sum(z, axis=(1,), keepdims=False), [cnormal(rng, (2, 3))], order=2)


def test_reduce_over_size_zero_axes(rng):
    x = rng.standard_normal((3, 0))
    check_grads(lambda x: red.reduce_sum(x, axis=(1,), keepdims=False), [x])
    np.testing.assert_array_equal(red.reduce_sum(x, axis=(1,), keepdims=False), np.zeros(3))
    check_grads(lambda x: red.reduce_max(x, axis=(0,), keepdims=True), [x])


def test_reduce_max_and_min_share_the_derivative_among_ties():
    x = np.array([1.0, 3.0, 3.0])
    np.testing.assert_array_equal(pb.grad(lambda x: red.reduce_max(x, axis=None, keepdims=False))(x), [0, 0.5, 0.5])
    np.testing.assert_array_equal(pb.grad(lambda x: red.reduce_min(x, axis=None, keepdims=False))(-x), [0, 0.5, 0.5])
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    g = pb.grad(lambda x: red.reduce_sum(red.reduce_max(x, axis=(1,), keepdims=False), axis=None, keepdims=False))(x)
    np.testing.assert_allclose(g, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    _, t = pb.jvp(lambda x: red.reduce_max(x, axis=None, keepdims=False), (np.array([1.0, 3, 3]),),
                  (np.array([5.0, 1.0, 2.0]),))
    assert t == 1.5


def test_reduce_max_float32_stays_float32():
    g = pb.grad(lambda x: red.reduce_max(x, axis=None, keepdims=False))(np.array([1, 3, 3], np.float32))
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, [0, 0.5, 0.5])


@given(hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=3), st.data())
@FAST
def test_reduce_sum_over_random_axes(shape, data):
    axes = data.draw(st.lists(st.integers(0, len(shape) - 1), unique=True).map(lambda a: tuple(sorted(a))))
    keepdims = data.draw(st.booleans())
    x = np.random.default_rng(0).standard_normal(shape)
    out = red.reduce_sum(x, axis=axes, keepdims=keepdims)
    np.testing.assert_allclose(out, np.sum(x, axis=axes, keepdims=keepdims))
    check_grads(lambda x: red.reduce_sum(x, axis=axes, keepdims=keepdims), [x], order=1)


# ============================================================================ shape primitives


def test_reshape_value_and_derivatives(rng):
    x = rng.standard_normal((2, 3, 4))
    np.testing.assert_array_equal(sh.reshape(x, shape=(6, 4)), x.reshape(6, 4))
    check_grads(lambda x: sh.reshape(x, shape=(4, 1, 6)), [x], order=2)
    check_grads(lambda x: sh.reshape(x, shape=()), [np.ones((1, 1))], order=2)
    check_grads(lambda x: sh.reshape(x, shape=(0, 2)), [np.ones((2, 0))], order=2)
    check_grads(lambda z: sh.reshape(z, shape=(3, 2)), [cnormal(rng, (2, 3))], order=2)


@pytest.mark.parametrize("axes", [(0, 1, 2), (2, 0, 1), (1, 0, 2), (2, 1, 0)], ids=str)
def test_transpose_value_and_derivatives(axes, rng):
    x = rng.standard_normal((2, 3, 4))
    np.testing.assert_array_equal(sh.transpose(x, axes=axes), np.transpose(x, axes))
    check_grads(lambda x: sh.transpose(x, axes=axes), [x], order=2)
    g = pb.vjp(lambda x: sh.transpose(x, axes=axes), x)[1](np.transpose(x, axes))[0]
    np.testing.assert_array_equal(g, x)  # the transpose of a permutation is its inverse


@pytest.mark.parametrize(
    "shapes", [((3,), (2, 3)), ((3, 1), (3, 4)), ((), (2, 2)), ((1, 3), (2, 4, 3)), ((1,), (0,))], ids=str
)
def test_broadcast_to_and_sum_to_are_transposes(shapes, rng):
    small, big = shapes
    x = rng.standard_normal(small)
    y = rng.standard_normal(big)
    np.testing.assert_array_equal(sh.broadcast_to(x, shape=big), np.broadcast_to(x, big))
    check_grads(lambda x: sh.broadcast_to(x, shape=big), [x], order=2)
    check_grads(lambda y: sh.sum_to(y, shape=small), [y], order=2)
    # ⟨broadcast(x), y⟩ = ⟨x, sum_to(y)⟩
    lhs = np.sum(sh.broadcast_to(x, shape=big) * y)
    rhs = np.sum(x * sh.sum_to(y, shape=small))
    assert lhs == pytest.approx(rhs)
    g = pb.vjp(lambda x: sh.broadcast_to(x, shape=big), x)[1](y)[0]
    np.testing.assert_allclose(g, np.asarray(sh.sum_to(y, shape=small)))


def test_concatenate_value_and_derivatives(rng):
    a, b, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 1)), rng.standard_normal((2, 0))
    np.testing.assert_array_equal(sh.concatenate(a, b, c, axis=1), np.concatenate([a, b, c], axis=1))
    check_grads(lambda a, b, c: sh.concatenate(a, b, c, axis=1), [a, b, c], order=2)
    # only some operands traced
    check_grads(lambda b: sh.concatenate(a, b, c, axis=1), [b], order=2)
    check_grads(lambda a: sh.concatenate(a, b, axis=1), [a], order=2)
    ga, gb = pb.vjp(lambda a, b: sh.concatenate(a, b, axis=1), a, b)[1](np.arange(8.0).reshape(2, 4))
    np.testing.assert_array_equal(ga, [[0, 1, 2], [4, 5, 6]])
    np.testing.assert_array_equal(gb, [[3], [7]])


def test_concatenate_mixed_dtypes_gives_each_input_its_own_dtype(rng):
    a32 = rng.standard_normal(2).astype(np.float32)
    z = cnormal(rng, (3,))
    check_grads(lambda a, z: sh.concatenate(a.astype(np.float64), z, axis=0), [a32.astype(np.float64), z], order=2)
    ga, gz = pb.grad(
        lambda a, z: ew.real(red.reduce_sum(sh.concatenate(a, z, axis=0), axis=None, keepdims=False)), argnums=(0, 1)
    )(a32, z)
    assert ga.dtype == np.float32 and gz.dtype == np.complex128


GETITEM_INDICES = [
    (slice(1, 3),),
    (slice(None, None, -1),),
    (slice(None, None, -2), 1),
    (Ellipsis, None, slice(1, None)),
    (None, 0, Ellipsis),
    (-1,),
    (np.array([0, 0, 2, 0]),),
    (np.array([[1, 1], [0, 1]]),),
    (slice(None), np.array([2, 2, 0])),
    (np.array([0, 1, 1]), np.array([3, 3, 3])),
    (np.array([True, False, True]),),
    (np.array([[True, False, True, False], [False, False, True, True], [True, True, True, False]]),),
    (np.array([], dtype=np.intp),),
    (slice(2, 2),),
]


@pytest.mark.parametrize("idx", GETITEM_INDICES, ids=repr)
def test_getitem_value_and_derivatives(idx, rng):
    x = rng.standard_normal((3, 4))
    np.testing.assert_array_equal(sh.getitem(x, idx=idx), x[idx])
    assert sh.getitem.shape(x, idx=idx)[0] == x[idx].shape
    check_grads(lambda x: sh.getitem(x, idx=idx), [x], order=2)


@pytest.mark.parametrize("idx", GETITEM_INDICES, ids=repr)
def test_getitem_gradient_counts_how_often_each_element_is_read(idx):
    x = np.zeros((3, 4))
    g = pb.grad(lambda x: red.reduce_sum(sh.getitem(x, idx=idx), axis=None, keepdims=False))(x)
    counts = np.zeros((3, 4))
    np.add.at(counts, idx, 1.0)
    np.testing.assert_array_equal(g, counts)


def test_getitem_repeated_indices_accumulate_cotangents():
    x = np.array([10.0, 20.0, 30.0])
    g = pb.vjp(lambda x: sh.getitem(x, idx=np.array([0, 0, 2, 0])), x)[1](np.array([1.0, 2.0, 3.0, 4.0]))[0]
    np.testing.assert_array_equal(g, [7.0, 0.0, 3.0])


def test_getitem_complex_and_float32(rng):
    check_grads(lambda z: sh.getitem(z, idx=(np.array([0, 0]), slice(None, None, -1))), [cnormal(rng, (2, 3))])
    g = pb.grad(lambda x: red.reduce_sum(sh.getitem(x, idx=np.array([1, 1])), axis=None, keepdims=False))(
        np.ones(3, np.float32)
    )
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, [0, 2, 0])


@pytest.mark.parametrize(
    "idx, vshape",
    [(np.array([0, 0, 2]), (3,)), (np.array([0, 0, 2]), (1,)), (slice(1, 3), (2,)), ((np.array([1, 1]),), ())],
    ids=repr,
)
def test_add_at_value_and_derivatives(idx, vshape, rng):
    x, v = rng.standard_normal(3), rng.standard_normal(vshape)
    expected = x.copy()
    np.add.at(expected, idx, v)
    np.testing.assert_allclose(sh.add_at(x, v, idx=idx), expected)
    check_grads(lambda x, v: sh.add_at(x, v, idx=idx), [x, v], order=2)


def test_add_at_repeated_indices_accumulate():
    out = sh.add_at(np.zeros(3), np.array([1.0, 2.0, 4.0]), idx=np.array([0, 0, 2]))
    np.testing.assert_array_equal(out, [3.0, 0.0, 4.0])
    gv = pb.vjp(lambda v: sh.add_at(np.zeros(3), v, idx=np.array([0, 0, 2])), np.ones(3))[1](
        np.array([5.0, 6.0, 7.0])
    )[0]
    np.testing.assert_array_equal(gv, [5.0, 5.0, 7.0])


@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4).flatmap(
    lambda s: st.tuples(st.just(s), hnp.basic_indices(s, allow_newaxis=True, allow_ellipsis=True))))
@FAST
def test_getitem_basic_indices_random(case):
    shape, idx = case
    x = np.random.default_rng(0).standard_normal(shape)
    np.testing.assert_array_equal(sh.getitem(x, idx=idx), x[idx])
    check_grads(lambda x: sh.getitem(x, idx=idx), [x], order=1)


# ============================================================================ shape and dtype rules
# Staging (jit, make_graph) knows values only by the shape rule: it must agree with the implementation.


def _shape_rule_cases():
    rng = np.random.default_rng(7)
    f64, f32, c128 = rng.standard_normal((2, 3)), rng.standard_normal((2, 3)).astype(np.float32), cnormal(rng, (2, 3))
    cases = []
    for name, p in ew.UNARY.items():
        (lo, hi), _, csample = UNARY_TABLE[name]
        x = uniform(rng, (2, 3), lo, hi)
        cases += [(p, (x,), {}), (p, (x.astype(np.float32),), {})]
        if csample is not None:
            cases.append((p, (csample(rng, (2, 3)),), {}))
    pos, pos32 = uniform(rng, (2, 3), 0.5, 2.0), uniform(rng, (2, 3), 0.5, 2.0, np.float32)
    for p in list(BINARY_PRIMS.values()) + list(ew.NONDIFF_BINARY.values()):
        for sx, sy in BROADCAST_PAIRS:
            cases.append((p, (uniform(rng, sx, 0.5, 2.0), uniform(rng, sy, 0.5, 2.0)), {}))
        cases += [(p, (pos32, 2.0), {}), (p, (3, pos32), {}), (p, (pos32, uniform(rng, 3, 0.5, 2.0)), {}),
                  (p, (pos32, np.float64(2.0)), {}), (p, (np.arange(1, 4), 1.5), {})]
        if p.name in HOLOMORPHIC_BINARY:
            cases += [(p, (pos, c128), {}), (p, (c128.astype(np.complex64), pos32), {}), (p, (pos32, 1j), {})]
    for p in list(ew.NONDIFF_UNARY.values()) + [ew.negative, ew.absolute, ew.real, ew.imag, ew.conj, ew.stop_gradient]:
        cases += [(p, (f64,), {}), (p, (f32,), {})]
        try:
            p.impl(c128)
        except TypeError:  # numpy has no complex loop for it (floor, signbit ...)
            continue
        cases.append((p, (c128,), {}))
    for dtype in (np.float32, np.complex128, np.int64, bool):
        prim = ew.convert if np.dtype(dtype).kind in "fc" else ew.convert_nondiff
        cases += [(prim, (f64,), {"dtype": np.dtype(dtype)})]
    cases.append((ew.convert, (c128,), {"dtype": np.dtype(np.float64)}))
    cases += [(ew.select, (np.array([[True], [False]]), rng.standard_normal(3), 1.0), {}),
              (ew.select, (np.array([True, False, True]), f32, 0.0), {}),
              (ew.select, (np.array([True, False, True]), c128, f64), {})]
    for (sa, sb, k) in SUM_OF_PRODUCTS_SHAPES:
        cases.append((ew.sum_of_products, (rng.standard_normal(sa), rng.standard_normal(sb)), {"ndim": k}))
    cases += [(ew.sum_of_products, (f32, f32), {"ndim": 2}), (ew.sum_of_products, (c128, f64), {"ndim": 1})]
    for sa, sb in MATMUL_SHAPES:
        cases.append((la.matmul, (rng.standard_normal(sa), rng.standard_normal(sb)), {}))
    cases += [(la.matmul, (f32, f32.T), {}), (la.matmul, (c128, f64.T), {})]
    for prim in (red.reduce_sum, red.reduce_max, red.reduce_min):
        for axis in REDUCE_AXES:
            for keepdims in (False, True):
                cases.append((prim, (rng.standard_normal((2, 3, 4)),), {"axis": axis, "keepdims": keepdims}))
        cases.append((prim, (f32,), {"axis": (1,), "keepdims": False}))
    cases += [
        (sh.reshape, (f64,), {"shape": (3, 1, 2)}), (sh.reshape, (np.ones((1, 1)),), {"shape": ()}),
        (sh.transpose, (f32,), {"axes": (1, 0)}), (sh.broadcast_to, (f32,), {"shape": (4, 2, 3)}),
        (sh.sum_to, (rng.standard_normal((4, 2, 3)),), {"shape": (1, 3)}),
        (sh.concatenate, (f64, f32, rng.standard_normal((2, 0))), {"axis": 1}),
        (sh.concatenate, (f64, c128), {"axis": 0}),
        (sh.add_at, (np.zeros(3), np.ones(3), ), {"idx": np.array([0, 0, 1])}),
        (sh.add_at, (np.zeros(3, np.float32), 1.0), {"idx": slice(1, None)}),
        (sh.add_at, (np.zeros(3), np.ones(2, complex)), {"idx": np.array([2, 2])}),
    ]
    for idx in GETITEM_INDICES:
        cases.append((sh.getitem, (rng.standard_normal((3, 4)),), {"idx": idx}))
    return cases


SHAPE_RULE_CASES = _shape_rule_cases()


def _abstract(a):
    if isinstance(a, (np.ndarray, np.generic)):
        from pullback.core.ir import ShapeDtype

        return ShapeDtype(np.shape(a), a.dtype)
    return a  # Python scalars stay Python scalars (weakly typed), as the staging trace passes them


@pytest.mark.parametrize(
    "prim, args, params", SHAPE_RULE_CASES,
    ids=[f"{p.name}-{i}" for i, (p, _, _) in enumerate(SHAPE_RULE_CASES)],
)
def test_shape_rule_agrees_with_implementation(prim, args, params):
    out = prim.impl(*args, **params)
    shape, dtype = prim.shape(*[_abstract(a) for a in args], **params)
    assert tuple(shape) == np.shape(out)
    assert np.dtype(dtype) == np.asarray(out).dtype


def test_every_primitive_has_a_shape_rule_case():
    assert {p.name for p, _, _ in SHAPE_RULE_CASES} == set(_all_primitives())


# ============================================================================ linearity and coverage

LINEAR_SAMPLES = {
    "add": lambda x, y: ew.add(x, y),
    "subtract": lambda x, y: ew.subtract(x, y),
    "negative": lambda x, y: ew.negative(x),
    "real": lambda x, y: ew.real(x),
    "imag": lambda x, y: ew.imag(x),
    "conjugate": lambda x, y: ew.conj(x),
    "convert": lambda x, y: ew.convert(x, dtype=np.complex128),
    "reshape": lambda x, y: sh.reshape(x, shape=(6,)),
    "transpose": lambda x, y: sh.transpose(x, axes=(1, 0)),
    "broadcast_to": lambda x, y: sh.broadcast_to(x, shape=(4, 2, 3)),
    "sum_to": lambda x, y: sh.sum_to(x, shape=(1, 3)),
    "concatenate": lambda x, y: sh.concatenate(x, y, axis=0),
    "getitem": lambda x, y: sh.getitem(x, idx=(np.array([1, 1]), slice(None, None, -1))),
    "add_at": lambda x, y: sh.add_at(x, y, idx=(0, slice(1, None))),
    "reduce_sum": lambda x, y: red.reduce_sum(x, axis=(0,), keepdims=False),
}


def _all_primitives():
    prims = {}
    for mod in (ew, sh, red, la):
        for v in vars(mod).values():
            vals = v.values() if isinstance(v, dict) else [v]
            for p in vals:
                if isinstance(p, Primitive):
                    prims[p.name] = p
    return prims


@pytest.mark.parametrize("name", sorted(LINEAR_SAMPLES))
def test_primitive_marked_linear_is_linear(name, rng):
    f = LINEAR_SAMPLES[name]
    x1, x2 = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    yshape = (2,) if name == "add_at" else (2, 3)
    y1, y2 = rng.standard_normal(yshape), rng.standard_normal(yshape)
    a, b = 1.7, -0.6
    lhs = f(a * x1 + b * x2, a * y1 + b * y2)
    rhs = a * np.asarray(f(x1, y1)) + b * np.asarray(f(x2, y2))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12, atol=1e-12)
    assert _all_primitives()[name].linear


def test_every_linear_primitive_has_a_linearity_test():
    linear = {n for n, p in _all_primitives().items() if p.linear}
    assert linear == set(LINEAR_SAMPLES)


TESTED_HERE = (
    set(UNARY_TABLE) | set(BINARY_TABLE) | set(ew.NONDIFF_UNARY) | set(ew.NONDIFF_BINARY) | set(LINEAR_SAMPLES)
    | {"absolute", "convert_nondiff", "select", "stop_gradient", "matmul", "reduce_max", "reduce_min",
       "sum_of_products"}
)

# ============================================================================ sum_of_products (multiply's dot)



@pytest.mark.parametrize("sx, sy, k", SUM_OF_PRODUCTS_SHAPES, ids=str)
def test_sum_of_products_is_the_sum_over_its_trailing_axes(sx, sy, k, rng):
    x, y = rng.standard_normal(sx), rng.standard_normal(sy)
    expect = np.sum(x * y, axis=tuple(range(-k, 0))) if k else x * y
    np.testing.assert_allclose(ew.sum_of_products(x, y, ndim=k), expect, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("sx, sy, k", [c for c in SUM_OF_PRODUCTS_SHAPES if 0 not in c[0] + c[1]], ids=str)
def test_sum_of_products_derivatives_with_broadcasting(sx, sy, k, rng):
    check_grads(lambda x, y: ew.sum_of_products(x, y, ndim=k), [rng.standard_normal(sx), rng.standard_normal(sy)],
                order=2)


def test_sum_of_products_to_third_order_and_under_vmap(rng):
    x, y = rng.standard_normal((2, 1, 3)), rng.standard_normal((4, 3))
    check_grads(lambda x, y: ew.sum_of_products(x, y, ndim=1), [x, y], order=3)
    xs = rng.standard_normal((5, 4, 3))
    for f in (lambda a: ew.sum_of_products(a, y, ndim=1), lambda a: ew.sum_of_products(y, a, ndim=2),
              lambda a: ew.sum_of_products(a, a, ndim=1)):
        np.testing.assert_allclose(pb.vmap(f)(xs), np.stack([f(a) for a in xs]), rtol=1e-13)


def test_multiply_by_a_0d_factor_gets_its_cotangent_as_one_dot_product(rng):
    """The reverse rule of s·v for a 0-d s is Σ ct·v (sum_of_products); derivatives stay right for
    float64, float32 and complex factors, and the Jacobian of tanh(Ax)·sum(x) matches its closed form."""
    import pullback.numpy as pnp

    A, x = rng.standard_normal((4, 4)), rng.standard_normal(4)
    J = pb.jacrev(lambda x: pnp.tanh(A @ x) * pnp.sum(x))(x)
    t = np.tanh(A @ x)
    np.testing.assert_allclose(J, (1 - t * t)[:, None] * A * x.sum() + t[:, None], rtol=1e-13)
    graph = pb.make_graph(pb.grad(lambda s, v: pnp.sum(ew.multiply(s, v) ** 2), argnums=0), 1.5, x)
    assert any(e.prim is ew.sum_of_products for e in graph.eqns)
    f32 = rng.standard_normal(3).astype(np.float32)
    c128 = rng.standard_normal(3) + 1j * rng.standard_normal(3)
    for s, v in ((np.float64(1.5), rng.standard_normal((2, 3))), (np.float32(0.5), f32), (np.complex128(1 + 2j), c128)):
        check_grads(lambda s, v: ew.multiply(s, v), [s, v], order=2)
    check_grads(lambda s, v: ew.multiply(v, s), [np.float64(0.7), rng.standard_normal((2, 3))], order=3)


def test_every_primitive_is_covered_by_this_file():
    missing = set(_all_primitives()) - TESTED_HERE
    assert not missing, f"primitives without tests in tests/test_primitives.py: {sorted(missing)}"


def test_nondifferentiable_primitives_are_marked_so():
    prims = _all_primitives()
    for name in set(ew.NONDIFF_UNARY) | set(ew.NONDIFF_BINARY) | {"convert_nondiff", "stop_gradient"}:
        assert not prims[name].differentiable, name
    for name in set(UNARY_TABLE) | set(BINARY_TABLE) | set(LINEAR_SAMPLES):
        assert prims[name].differentiable, name
