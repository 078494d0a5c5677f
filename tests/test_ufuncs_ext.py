"""NumPy's elementwise functions in pullback.numpy: values, derivatives, complex inputs, conventions.

One table (CASES) drives the common checks for every differentiable elementwise function:
the value equals NumPy's (bitwise, where pullback calls NumPy's own function), the derivatives
pass check_grads (finite differences and the dot-product test) to second order (third for a
sample), and NumPy's own function called on traced values dispatches to pullback's. Complex
inputs go through every ufunc that has a complex loop in NumPy. Then: known analytic values,
the documented choices at kinks and ties, functions without a derivative, methods and
operators of traced values, shape rules (staging) and hypothesis-drawn broadcast shapes.
"""

from __future__ import annotations

import functools
import math

import hypothesis.extra.numpy as hnp
import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pullback as pb
import pullback.numpy as pnp
from cases import Case, Family, assert_same, family_tests, ufunc_case
from pullback.core.primitive import Primitive
from pullback.errors import UnsupportedFunctionError
from pullback.numpy import _ufuncs
from pullback.primitives import elementwise as ew
from pullback.primitives import elementwise_extra as ex
from pullback.testing import check_grads

pytestmark = [
    pytest.mark.filterwarnings("error::RuntimeWarning"),
    pytest.mark.filterwarnings("error::numpy.exceptions.ComplexWarning"),
]

FAST = settings(max_examples=10, deadline=None, derandomize=True)
R = np.random.default_rng(77)


def normal(*shape):
    return R.standard_normal(shape)


def uniform(lo, hi):
    return lambda *shape: R.uniform(lo, hi, shape)


def nonzero(*shape):
    return R.uniform(0.5, 2.0, shape) * R.choice([-1.0, 1.0], shape)


def cnormal(*shape, center=0.6 + 0.4j, scale=0.15):
    """Complex samples near `center`, away from every branch cut of NumPy's complex functions."""
    return center + scale * (R.standard_normal(shape) + 1j * R.standard_normal(shape))


def off_integer_ratio(y):
    """x with x/y an integer plus a fraction in [0.2, 0.8]: away from the jumps of fmod/remainder."""
    q = R.integers(-3, 4, np.shape(y))
    return (q + R.uniform(0.2, 0.8, np.shape(y))) * y


def pos(*shape):
    return R.uniform(0.5, 2.0, shape)


# name -> real domain of each argument
UNARY_DOMAINS = {
    "sinc": normal, "deg2rad": normal, "rad2deg": normal, "degrees": normal, "radians": normal,
    "fabs": nonzero, "positive": normal, "nan_to_num": normal, "acos": uniform(-0.8, 0.8),
    "asin": uniform(-0.8, 0.8), "atan": normal, "acosh": uniform(1.2, 3), "asinh": normal,
    "atanh": uniform(-0.8, 0.8), "angle": nonzero,
}
BINARY_DOMAINS = {
    "logaddexp": (normal, normal), "logaddexp2": (normal, normal), "float_power": (pos, normal),
    "copysign": (nonzero, nonzero), "fmax": (normal, normal), "fmin": (normal, normal),
    "nextafter": (normal, normal), "pow": (pos, normal), "atan2": (normal, nonzero),
}
SHAPES = [((2, 3), (2, 3)), ((3, 1), (4,)), ((2, 3), ()), ((1,), (0, 1))]
ORDER3 = {"sinc", "logaddexp", "float_power", "fmod"}

CASES: list[Case] = []
for _n, _gen in UNARY_DOMAINS.items():
    CASES.append(ufunc_case(_n, _gen(2, 3), order3=_n in ORDER3, exact=_n != "angle"))
for _n, (_gx, _gy) in BINARY_DOMAINS.items():
    for _sx, _sy in SHAPES:
        CASES.append(ufunc_case(_n, _gx(*_sx), _gy(*_sy), id=f"{_n}-{_sx}-{_sy}", order3=_n in ORDER3 and _sy == ()))
for _n in ("fmod", "remainder", "mod"):
    for _sx, _sy in SHAPES:
        _y = nonzero(*_sy)
        _x = off_integer_ratio(np.broadcast_to(_y, np.broadcast_shapes(_sx, _sy))) + np.zeros(_sx)
        CASES.append(ufunc_case(_n, _x, _y, id=f"{_n}-{_sx}-{_sy}", order3=_n in ORDER3 and _sy == ()))

_A = normal(3, 4)
CASES += [
    ufunc_case("sinc", np.array([0.0, 1e-9, -0.3, 0.6, 2.5, -7.1]), id="sinc-near-zero-and-far", order3=True),
    Case("ldexp", lambda m, x: m.ldexp(x, np.array([-2, 0, 3])), (normal(2, 3),)),
    Case("clip", lambda m, x: m.clip(x, -0.5, 0.7), (normal(3, 4),), order3=True),
    Case("clip", lambda m, x, lo, hi: m.clip(x, lo, hi), (_A, _A.min(0) - 0.3 + R.uniform(0.1, 0.2, 4),
                                                         _A.max(1, keepdims=True) - 0.1), id="clip-array-bounds"),
    Case("clip", lambda m, x, lo, hi: m.clip(x, lo, hi), (normal(3, 4), np.float64(0.2), np.float64(-0.1)),
         id="clip-crossed-bounds"),
    Case("clip", lambda m, x, hi: m.clip(x, None, hi), (normal(3, 4), normal(4) * 0.5), id="clip-no-min"),
    Case("clip", lambda m, x, lo: m.clip(x, lo, None), (normal(3, 4), normal(3, 1) * 0.5), id="clip-no-max"),
    Case("clip", lambda m, x: m.clip(x, min=-0.2), (normal(5),), id="clip-min-keyword"),
    Case("clip", lambda m, x: m.clip(x, None, None), (normal(5),), id="clip-no-bounds"),
    Case("clip", lambda m, z: m.clip(z, 0.45 + 0j, 0.75 + 0j), (cnormal(2, 3),), id="clip-complex"),
    Case("nan_to_num", lambda m, x: m.nan_to_num(x, posinf=9.0), (np.array([np.nan, 1.3, np.inf, -np.inf, -0.4]),),
         id="nan_to_num-replacing"),
    Case("nan_to_num", lambda m, z: m.nan_to_num(z), (np.array([complex(np.nan, 1), 1 + 1j, complex(1, np.inf)]),),
         id="nan_to_num-complex"),
    Case("angle", lambda m, z: m.angle(z), (cnormal(2, 3),), id="angle-complex", exact=False),
    Case("angle", lambda m, z: m.angle(z, deg=True), (cnormal(3),), id="angle-complex-deg", exact=False),
    Case("modf", lambda m, x: m.modf(x), (np.array([-2.7, -0.4, 0.3, 1.6]),)),
    Case("frexp", lambda m, x: m.frexp(x)[0], (np.array([-2.7, -0.4, 0.3, 1600.0]),)),
    Case("divmod", lambda m, x, y: m.divmod(x, y)[1], (np.array([-2.7, -0.4, 0.3, 1.7]), np.array([0.7]))),
    Case("real", lambda m, z: m.real(z), (cnormal(3),), id="real-complex"),
    Case("imag", lambda m, z: m.imag(z), (cnormal(3),), id="imag-complex"),
]


def _complex_loop(name: str, nin: int) -> bool:
    uf = getattr(np, name, None)
    return isinstance(uf, np.ufunc) and uf.nin == nin and "D" * nin + "->D" in uf.types


# every ufunc of pullback.numpy with complex values that NumPy defines for complex numbers
COMPLEX_UNARY = sorted(n for n in _ufuncs.__all__ if _complex_loop(n, 1))
COMPLEX_BINARY = sorted(n for n in _ufuncs.__all__ if _complex_loop(n, 2))
for _n in COMPLEX_UNARY:
    CASES.append(ufunc_case(_n, cnormal(2, 3), id=f"{_n}-complex"))
for _n in COMPLEX_BINARY:
    CASES.append(ufunc_case(_n, cnormal(3, 1), cnormal(2, center=0.9 - 0.2j), id=f"{_n}-complex"))
    CASES.append(ufunc_case(_n, pos(3, 1), cnormal(2), id=f"{_n}-real-complex"))
CASES.append(ufunc_case("sinc", cnormal(3, center=0.1 + 0.2j), id="sinc-complex"))

def _assert_same(actual, expected, exact=True):
    assert_same(actual, expected, exact, rtol=1e-13, atol=1e-15)


# pullback calls NumPy's own functions: values are bitwise NumPy's unless a case says otherwise.
FAMILY = Family(np, pnp, exact=True, rtol=1e-13, atol=1e-15)
(test_value_matches_numpy, test_traced_primal_output_matches_numpy, test_derivatives_to_second_order,
 test_derivatives_to_third_order, test_numpy_function_on_traced_value_dispatches_to_pullback,
 test_vmap_of_each_case_equals_the_loop) = family_tests(FAMILY, CASES)


def test_complex_tables_cover_the_functions_numpy_defines_for_complex():
    assert {"exp", "log", "sqrt", "arccosh", "tan", "reciprocal", "square", "exp2", "log10"} <= set(COMPLEX_UNARY)
    assert {"add", "multiply", "divide", "power", "float_power", "maximum", "fmax"} <= set(COMPLEX_BINARY)


# ============================================================================ known values


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


KNOWN_PARTIALS = {  # name -> (x, y, ∂/∂x, ∂/∂y), written independently of the library
    "logaddexp": lambda x, y: (sigmoid(x - y), sigmoid(y - x)),
    "logaddexp2": lambda x, y: (2.0**x / (2.0**x + 2.0**y), 2.0**y / (2.0**x + 2.0**y)),
    "fmod": lambda x, y: (np.ones_like(x), -np.trunc(x / y)),
    "remainder": lambda x, y: (np.ones_like(x), -np.floor(x / y)),
    "float_power": lambda x, y: (y * x ** (y - 1), np.log(x) * x**y),
    "copysign": lambda x, y: (np.sign(x) * np.where(np.signbit(y), -1.0, 1.0), np.zeros_like(y)),
    "fmax": lambda x, y: ((x > y) * 1.0, (y > x) * 1.0),
    "fmin": lambda x, y: ((x < y) * 1.0, (y < x) * 1.0),
    "nextafter": lambda x, y: (np.ones_like(x), np.zeros_like(y)),
}


@pytest.mark.parametrize("name", sorted(KNOWN_PARTIALS))
def test_binary_gradients_equal_known_partials(name):
    y = np.array([1.3, -0.7, 2.2, -1.9])
    x = off_integer_ratio(y) if name in ("fmod", "remainder") else np.array([0.4, 1.1, -2.5, -0.3])
    if name == "float_power":
        x = np.abs(x)
    gx, gy = pb.grad(lambda x, y: pnp.sum(getattr(pnp, name)(x, y)), argnums=(0, 1))(x, y)
    ex_, ey = KNOWN_PARTIALS[name](x, y)
    np.testing.assert_allclose(gx, ex_, rtol=1e-12)
    np.testing.assert_allclose(gy, ey, rtol=1e-12, atol=1e-300)


def test_logaddexp_derivative_is_stable_for_large_and_infinite_arguments():
    g = pb.grad(pnp.logaddexp, argnums=(0, 1))
    assert g(1000.0, 0.0) == (1.0, 0.0)
    assert g(-800.0, -1000.0) == pytest.approx((1.0, math.exp(-200.0)), rel=1e-12)
    assert g(-np.inf, 0.0) == (0.0, 1.0)
    assert g(np.inf, 3.0) == (1.0, 0.0)
    assert g(-np.inf, -np.inf) == (0.5, 0.5)
    assert g(2.0, 2.0) == pytest.approx((0.5, 0.5), rel=1e-15)
    assert pb.grad(pb.grad(pnp.logaddexp))(2.0, 2.0) == pytest.approx(0.25)  # σ(1 − σ) at a tie
    assert pb.grad(pnp.logaddexp2, argnums=1)(3.0, 3.0) == pytest.approx(0.5, rel=1e-15)


def _sinc_derivative_mp(x: float, k: int) -> float:
    f = lambda t: mpmath.sin(mpmath.pi * t) / (mpmath.pi * t) if t != 0 else mpmath.mpf(1)  # noqa: E731
    with mpmath.workdps(40):
        return float(mpmath.diff(f, mpmath.mpf(x), k))


def _nth_grad(f, k):
    for _ in range(k):
        f = pb.grad(f)
    return f


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_sinc_derivatives_of_every_order_are_exact_at_zero(k):
    # g(t) = sin t / t has g⁽²ᵐ⁾(0) = (−1)ᵐ/(2m+1), odd derivatives 0; sinc⁽ᵏ⁾(0) = πᵏ g⁽ᵏ⁾(0)
    expected = 0.0 if k % 2 else (-1) ** (k // 2) / (k + 1) * math.pi**k
    assert _nth_grad(pnp.sinc, k)(0.0) == pytest.approx(expected, rel=1e-13, abs=1e-13)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
@pytest.mark.parametrize("x", [1e-6, 0.1, 0.6366, 0.63662, 0.7, 1.0, 2.5, -3.3])
def test_sinc_derivatives_equal_high_precision_values(k, x):
    # |πx| = 2 (x ≈ 0.63662) is where the series hands over to Leibniz's rule
    np.testing.assert_allclose(ex.sinc(np.array(x), order=k), _sinc_derivative_mp(x, k), rtol=1e-11, atol=1e-12)
    if k <= 3:
        assert _nth_grad(pnp.sinc, k)(x) == pytest.approx(_sinc_derivative_mp(x, k), rel=1e-11, abs=1e-12)


def test_sinc_hessian_and_jacobian_at_zero():
    x = np.array([0.0, 0.5])
    np.testing.assert_allclose(pb.jacfwd(pnp.sinc)(x), np.diag([0.0, _sinc_derivative_mp(0.5, 1)]), atol=1e-15)
    h = pb.hessian(lambda x: pnp.sum(pnp.sinc(x)))(x)
    np.testing.assert_allclose(h, np.diag([-math.pi**2 / 3, _sinc_derivative_mp(0.5, 2)]), rtol=1e-12)


def test_fmod_and_remainder_partials_in_the_divisor_are_minus_the_quotient():
    x, y = np.array([7.5, -7.5, 7.5, -7.5]), np.array([2.0, 2.0, -2.0, -2.0])
    assert list(pb.grad(lambda y: pnp.sum(pnp.fmod(x, y)))(y)) == [-3.0, 3.0, 3.0, -3.0]
    assert list(pb.grad(lambda y: pnp.sum(pnp.remainder(x, y)))(y)) == [-3.0, 4.0, 4.0, -3.0]
    assert list(pb.grad(lambda x: pnp.sum(x % 2.0))(x)) == [1.0, 1.0, 1.0, 1.0]
    assert list(pb.grad(lambda y: pnp.sum(pnp.divmod(x, y)[1]))(y)) == [-3.0, 4.0, 4.0, -3.0]


def test_floor_divide_and_the_quotient_of_divmod_carry_no_derivative():
    x = np.array([7.5, -7.5, 0.3])
    for f in (lambda x: x // 2.0, lambda x: pnp.floor_divide(x, 2.0), lambda x: np.floor_divide(x, 2.0),
              lambda x: pnp.divmod(x, 2.0)[0], lambda x: divmod(x, 2.0)[0]):
        np.testing.assert_array_equal(f(x), np.floor_divide(x, 2.0))
        assert list(pb.grad(lambda x, f=f: pnp.sum(f(x) * x))(x)) == list(np.floor_divide(x, 2.0))
        _, t = pb.jvp(lambda x, f=f: f(x) * 1.0, (x,), (np.ones(3),))
        np.testing.assert_array_equal(t, np.zeros(3))


def test_clip_derivative_is_one_on_the_closed_interval_and_zero_outside():
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    assert list(pb.grad(lambda x: pnp.sum(pnp.clip(x, -1.0, 1.0)))(x)) == [0.0, 1.0, 1.0, 1.0, 0.0]
    glo, ghi = pb.grad(lambda lo, hi: pnp.sum(pnp.clip(x, lo, hi)), argnums=(0, 1))(-1.0, 1.0)
    assert (glo, ghi) == (1.0, 1.0)  # x = −2 gets a_min, x = 2 gets a_max; the boundaries go to x
    glo, ghi = pb.grad(lambda lo, hi: pnp.sum(pnp.clip(x, lo, hi)), argnums=(0, 1))(-1.5, 1.5)
    assert (glo, ghi) == (1.0, 1.0)
    # a_min > a_max: NumPy returns a_max everywhere, which takes the whole derivative
    gx, glo, ghi = pb.grad(lambda x, lo, hi: pnp.sum(pnp.clip(x, lo, hi)), argnums=(0, 1, 2))(x, 1.0, -1.0)
    assert (list(gx), glo, ghi) == ([0.0] * 5, 0.0, 5.0)
    # the derivative of clip(x, lo, hi) along x = lo = hi (every argument moving together) is 1
    _, t = pb.jvp(lambda s: pnp.clip(s, s, s), (np.array([0.5]),), (np.ones(1),))
    assert list(t) == [1.0]


def test_clip_with_integer_arrays_and_bounds_follows_numpy():
    a = np.arange(6)
    for args in ((1, 4), (None, 3), (2, None), (1.5, 3.5), (np.array([0, 5, 1, 4, 2, 3]), 3)):
        np.testing.assert_array_equal(pnp.clip(a, *args), np.clip(a, *args))
        assert pnp.clip(a, *args).dtype == np.clip(a, *args).dtype
    with pytest.raises(ValueError):
        pnp.clip(a, 1, a_max=2, min=0)


def test_nan_to_num_derivative_is_zero_where_values_were_replaced():
    x = np.array([np.nan, 1.5, np.inf, -np.inf, -2.0])
    assert list(pb.grad(lambda x: pnp.sum(pnp.nan_to_num(x, nan=3.0)))(x)) == [0.0, 1.0, 0.0, 0.0, 1.0]
    z = np.array([complex(np.nan, 2.0), complex(1.0, np.inf)])
    _, vjp_fn = pb.vjp(pnp.nan_to_num, z)
    (g,) = vjp_fn(np.array([1 + 1j, 1 + 1j]))
    np.testing.assert_array_equal(g, [1j, 1.0])  # real and imaginary parts separately


def test_copysign_and_fabs_derivatives():
    x = np.array([-2.0, 0.0, 3.0])
    assert list(pb.grad(lambda x: pnp.sum(pnp.copysign(x, -1.0)))(x)) == [1.0, 0.0, -1.0]
    assert list(pb.grad(lambda x: pnp.sum(pnp.fabs(x)))(x)) == [-1.0, 0.0, 1.0]
    with pytest.raises(TypeError):
        pb.grad(lambda z: pnp.real(pnp.fabs(z)))(1 + 1j)


def test_fmax_and_fmin_ignore_nans_and_split_ties():
    x, y = np.array([np.nan, 1.0, 2.0, np.nan]), np.array([3.0, np.nan, 2.0, np.nan])
    for name in ("fmax", "fmin"):
        f = getattr(pnp, name)
        np.testing.assert_array_equal(f(x, y), getattr(np, name)(x, y))
        with np.errstate(invalid="ignore"):
            gx, gy = pb.grad(lambda x, y, f=f: pnp.sum(pnp.nan_to_num(f(x, y))), argnums=(0, 1))(x, y)
        assert list(gx) == [0.0, 1.0, 0.5, 0.0] and list(gy) == [1.0, 0.0, 0.5, 0.0]


def test_ldexp_frexp_and_modf_derivatives():
    x = np.array([-2.7, 0.3, 1600.0])
    assert list(pb.grad(lambda x: pnp.sum(pnp.ldexp(x, np.array([1, -2, 3]))))(x)) == [2.0, 0.25, 8.0]
    m, e = np.frexp(x)
    np.testing.assert_array_equal(pb.grad(lambda x: pnp.sum(pnp.frexp(x)[0]))(x), 2.0 ** -e.astype(float))
    frac, whole = pnp.modf(x)
    np.testing.assert_array_equal(whole, np.modf(x)[1])
    assert list(pb.grad(lambda x: pnp.sum(pnp.modf(x)[0] + pnp.modf(x)[1]))(x)) == [1.0, 1.0, 1.0]


def test_power_with_negative_base_and_integer_exponents():
    x = np.array([-2.0, -0.5, 3.0])
    for n in (2, 3, -1, -2):
        np.testing.assert_allclose(pb.grad(lambda x, n=n: pnp.sum(pnp.power(x, n)))(x), n * x ** (n - 1.0))
        np.testing.assert_allclose(pb.grad(lambda x, n=n: pnp.sum(x**n))(x), n * x ** (n - 1.0))
        np.testing.assert_allclose(pb.grad(lambda x, n=n: pnp.sum(pnp.float_power(x, n)))(x), n * x ** (n - 1.0))
    check_grads(lambda x: pnp.power(x, np.array([3, -1, 2])), [x], order=3)
    check_grads(lambda x: pnp.float_power(x, 3), [x], order=2)


def test_deg2rad_and_friends_are_linear_with_known_factors():
    x = np.array([1.0, -30.0])
    assert list(pb.grad(lambda x: pnp.sum(pnp.deg2rad(x)))(x)) == [math.pi / 180] * 2
    assert list(pb.grad(lambda x: pnp.sum(pnp.degrees(x)))(x)) == [180 / math.pi] * 2
    assert pnp.radians is pnp.deg2rad and pnp.rad2deg is pnp.degrees


def test_hypot_and_absolute_derivatives_at_the_origin_are_zero():
    assert pb.grad(pnp.hypot, argnums=(0, 1))(0.0, 0.0) == (0.0, 0.0)
    _, t = pb.jvp(pnp.abs, (0j,), (1 + 1j,))
    assert t == 0.0
    assert pb.grad(pnp.abs)(0j) == 0.0


# ============================================================================ complex numbers (JAX's convention)


def test_real_valued_functions_of_complex_inputs_follow_jax_convention():
    z = 3 + 4j
    assert pb.grad(lambda z: pnp.abs(z) ** 2)(z) == pytest.approx(6 - 8j)
    assert pb.grad(pnp.real)(z) == 1.0 and pb.grad(pnp.imag)(z) == -1j
    assert pb.grad(lambda z: z.real)(z) == 1.0 and pb.grad(lambda z: z.imag)(z) == -1j
    # angle = arctan2(y, x): ∂/∂x = −y/r², ∂/∂y = x/r², so grad = ∂/∂x − i ∂/∂y
    assert pb.grad(pnp.angle)(z) == pytest.approx(-4 / 25 - 3j / 25)
    assert pb.grad(lambda z: pnp.real(pnp.conj(z) * z))(z) == pytest.approx(6 - 8j)
    # any real-valued f: grad f(z) = ∂f/∂x − i ∂f/∂y, checked by central differences
    f = lambda z: pnp.abs(pnp.sin(z)) ** 2  # noqa: E731
    h = 1e-6
    dfx = (f(z + h) - f(z - h)) / (2 * h)
    dfy = (f(z + 1j * h) - f(z - 1j * h)) / (2 * h)
    assert pb.grad(f)(z) == pytest.approx(dfx - 1j * dfy, rel=1e-8)


def test_sign_of_complex_numbers_has_its_derivative():
    z = np.array([3 + 4j, -1 + 0.5j])
    np.testing.assert_array_equal(pnp.sign(z), np.sign(z))
    check_grads(pnp.sign, [z], order=2)
    assert pb.grad(lambda z: pnp.real(pnp.sign(z)))(3 + 4j) == pytest.approx(complex(16 / 125, 12 / 125))
    _, t = pb.jvp(pnp.sign, (0j,), (1 + 1j,))
    assert t == 0.0


@pytest.mark.parametrize("name", ["exp", "sin", "tanh", "log", "sqrt", "sinc", "arctan", "reciprocal", "expm1"])
def test_holomorphic_jacobians_by_jacfwd_and_jacrev_are_the_complex_derivative(name):
    z = cnormal(3)
    f = getattr(pnp, name)
    _, deriv = pb.jvp(f, (z,), (np.ones(3, complex),))  # f'(z), elementwise
    h = 1e-7
    np.testing.assert_allclose(deriv, (getattr(np, name)(z + h) - getattr(np, name)(z - h)) / (2 * h), rtol=1e-6)
    np.testing.assert_allclose(pb.jacfwd(f)(z), np.diag(deriv), rtol=1e-12)
    np.testing.assert_allclose(pb.jacrev(f)(z), np.diag(deriv), rtol=1e-12)
    # the derivative along the imaginary direction is i·f'(z): f is holomorphic
    _, t = pb.jvp(f, (z,), (1j * np.ones(3),))
    np.testing.assert_allclose(t, 1j * deriv, rtol=1e-12)


def test_jacobians_of_a_non_holomorphic_function_differ_by_mode():
    # f(z) = conj(z): jacfwd differentiates along the real direction, jacrev transposes under Re Σ u·v
    z = cnormal(2)
    np.testing.assert_allclose(pb.jacfwd(pnp.conj)(z), np.eye(2))
    np.testing.assert_allclose(pb.jacrev(pnp.conj)(z), np.eye(2))
    # a real-valued function of complex input: jacrev is the gradient (∂/∂x − i∂/∂y), jacfwd only ∂/∂x
    g = lambda z: pnp.abs(z) ** 2  # noqa: E731
    np.testing.assert_allclose(pb.jacrev(g)(z), np.diag(2 * np.conj(z)), rtol=1e-12)
    np.testing.assert_allclose(pb.jacfwd(g)(z), np.diag(2 * z.real), rtol=1e-12)
    # in Wirtinger derivatives: jacfwd gives f_z + f_z̄ (= ∂f/∂x), jacrev gives f_z + conj(f_z̄)
    h = lambda z: z * pnp.conj(z) * z  # noqa: E731  f_z = 2|z|², f_z̄ = z²
    f_z, f_zbar = 2 * np.abs(z) ** 2, z**2
    np.testing.assert_allclose(pb.jacfwd(h)(z), np.diag(f_z + f_zbar), rtol=1e-12)
    np.testing.assert_allclose(pb.jacrev(h)(z), np.diag(f_z + np.conj(f_zbar)), rtol=1e-12)


def test_functions_numpy_defines_only_for_real_numbers_refuse_complex_input_as_numpy_does():
    z = cnormal(3)
    for name in ("logaddexp", "fmod", "remainder", "hypot", "arctan2", "copysign", "heaviside", "nextafter"):
        with pytest.raises(TypeError):
            getattr(np, name)(z, z)
        with pytest.raises(TypeError):
            pb.vjp(lambda z, name=name: getattr(pnp, name)(z, z), z)
    for name in ("cbrt", "floor", "fabs", "deg2rad", "spacing"):
        with pytest.raises(TypeError):
            pb.vjp(getattr(pnp, name), z)


def test_complex64_stays_complex64_through_complex_functions():
    z = cnormal(3).astype(np.complex64)
    for name in ("exp", "sinc", "sign", "angle", "nan_to_num", "conj", "fmax", "float_power"):
        f = getattr(pnp, name)
        args = (z, z[::-1]) if name in ("fmax", "float_power") else (z,)
        out, vjp_fn = pb.vjp(f, *args)
        assert out.dtype == getattr(np, name)(*args).dtype, name
        g = vjp_fn(np.ones_like(out))
        assert all(gi.dtype == np.complex64 for gi in g), name


# ============================================================================ functions without a derivative

NO_DERIVATIVE_UNARY = {
    "floor": normal, "ceil": normal, "trunc": normal, "rint": normal, "fix": normal, "round": normal,
    "around": normal, "sign": normal, "spacing": normal, "signbit": normal, "isnan": normal, "isinf": normal,
    "isfinite": normal, "isposinf": normal, "isneginf": normal, "isreal": cnormal, "iscomplex": cnormal,
    "logical_not": normal,
}
NO_DERIVATIVE_BINARY = ["heaviside", "floor_divide", "less", "less_equal", "greater", "greater_equal", "equal",
                        "not_equal", "logical_and", "logical_or", "logical_xor", "isclose"]


@pytest.mark.parametrize("name", sorted(NO_DERIVATIVE_UNARY))
def test_unary_functions_without_derivative_match_numpy_and_give_zero_derivative(name):
    x = np.round(NO_DERIVATIVE_UNARY[name](6) * 4) / 4  # includes ties like 0.5, -1.5
    special = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0])
    with np.errstate(invalid="ignore"):
        for v in (x, special):
            _assert_same(getattr(pnp, name)(v), getattr(np, name)(v))
    f = getattr(pnp, name)
    y = x + 0.1
    for impl in (f, getattr(np, name)):  # ours, and NumPy's dispatched to ours
        out, vjp_fn = pb.vjp(lambda y, impl=impl: pnp.real(impl(y) * y), y)
        g = vjp_fn(np.ones(6))[0]
        np.testing.assert_allclose(g, np.real(getattr(np, name)(y)).astype(float), rtol=1e-15)
        _, t = pb.jvp(lambda y, impl=impl: impl(y) * 1.0, (y,), (np.ones_like(y),))
        assert not np.any(t)


@pytest.mark.parametrize("name", NO_DERIVATIVE_BINARY)
def test_binary_functions_without_derivative_match_numpy_and_give_zero_derivative(name):
    x, y = np.array([[-1.5], [0.0], [0.5], [2.0]]), np.array([0.5, 2.0, -1.5])
    _assert_same(getattr(pnp, name)(x, y), getattr(np, name)(x, y))
    g = pb.grad(lambda x: pnp.sum(getattr(pnp, name)(x, y) * x))(x)
    np.testing.assert_array_equal(g, getattr(np, name)(x, y).sum(axis=1, keepdims=True))


def test_round_with_decimals_and_methods():
    x = np.array([1.2345, -2.5, 0.5, 1.5])
    for d in (0, 2, -1):
        _assert_same(pnp.round(x, d), np.round(x, d))
        _assert_same(pnp.around(x, decimals=d), np.around(x, decimals=d))
    assert list(pb.grad(lambda x: pnp.sum(x.round(2) * x))(x)) == list(np.round(x, 2))
    assert pb.grad(lambda x: pnp.sum(round(x) + x))(x)[0] == 1.0


@pytest.mark.parametrize("name", ["iscomplexobj", "isrealobj"])
def test_complex_object_tests_on_traced_values(name):
    for v in (1.5, np.ones(2), np.ones(2, complex), 1j, np.ones(2, np.float32)):
        expected = getattr(np, name)(v)
        assert getattr(pnp, name)(v) is expected

        def f(x, v=v, expected=expected):
            assert getattr(pnp, name)(x) is expected
            assert getattr(np, name)(x) is expected  # NumPy's own, dispatched
            return pnp.sum(pnp.abs(x))

        pb.grad(f)(v)


def test_isclose_allclose_array_equal_on_traced_values():
    a = np.array([1.0, 2.0, np.nan])
    b = a + np.array([1e-9, 1e-3, 0.0])

    def f(x):
        assert pnp.allclose(x, x) is False  # NaN ≠ NaN
        assert pnp.allclose(x, b, equal_nan=True) is False
        assert pnp.array_equal(x, a, equal_nan=True) is True
        assert pnp.array_equiv(x[:2], a[:2]) is True
        assert np.allclose(x[:1], b[:1])  # NumPy's own, dispatched
        np.testing.assert_array_equal(pnp.isclose(x, b, equal_nan=True), np.isclose(a, b, equal_nan=True))
        return pnp.sum(pnp.nan_to_num(x))

    assert list(pb.grad(f)(a)) == [1.0, 1.0, 0.0]


def test_integer_and_bit_functions_follow_numpy_on_integers_and_booleans():
    i, j = np.arange(-3, 5), np.array([3, 1, 2, 5, 4, 7, 2, 1])
    b = np.array([True, False, True, True, False, False, True, False])
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor", "gcd", "lcm", "floor_divide", "remainder", "fmod",
                 "heaviside", "left_shift", "right_shift", "bitwise_left_shift", "bitwise_right_shift"):
        _assert_same(getattr(pnp, name)(i, j), getattr(np, name)(i, j))
    for name in ("invert", "bitwise_not", "bitwise_invert", "bitwise_count", "sign", "fix", "round", "floor"):
        _assert_same(getattr(pnp, name)(i), getattr(np, name)(i))
    _assert_same(pnp.invert(b), ~b)
    _assert_same(pnp.bitwise_and(b, ~b), b & ~b)
    with pytest.raises(TypeError):
        pnp.bitwise_and(np.ones(2), 1)


# ============================================================================ traced values: methods, operators, errors


def test_methods_and_properties_of_traced_values():
    x = np.array([-1.0, 0.25, 2.0])
    z = cnormal(3)
    assert list(pb.grad(lambda x: pnp.sum(x.clip(0.0, 1.0)))(x)) == [0.0, 1.0, 0.0]
    assert list(pb.grad(lambda x: pnp.sum(x.clip(max=1.0)))(x)) == [1.0, 1.0, 0.0]
    assert list(pb.grad(lambda x: pnp.sum(x.clip(min=0.0)))(x)) == [0.0, 1.0, 1.0]
    check_grads(lambda z: z.conj() * z.conjugate() + z.real - z.imag, [z], order=2)
    check_grads(lambda x: x.real * 2 + x.imag, [x], order=2)
    np.testing.assert_array_equal(pb.vjp(lambda x: x.round(1), x)[0], x.round(1))
    _, t = pb.jvp(lambda x: x.clip(0.0, 1.0), (x,), (np.ones(3),))
    np.testing.assert_array_equal(t, [0.0, 1.0, 0.0])


def test_operators_of_traced_values():
    x, y = np.array([7.5, -7.5, 2.5]), np.array([2.0, 2.0, -1.5])
    ops = [lambda a, b: a % b, lambda a, b: a // b, lambda a, b: divmod(a, b)[1], lambda a, b: divmod(a, b)[0]]
    for op in ops:
        for args in ((x, y), (x, 2.0), (3.0, y)):
            out, _ = pb.vjp(lambda a, b, op=op: op(a, b) * 1.0, *[np.asarray(a) for a in args])
            np.testing.assert_array_equal(out, op(*args) * 1.0)
    check_grads(lambda a, b: a % b + (a // b) * b, [x, y], order=2)  # = a, up to the jumps
    np.testing.assert_allclose(pb.grad(lambda a: pnp.sum(a % y + (a // y) * y))(x), np.ones(3))

    def masks(x):
        m = (x > 0) & (x < 5) | ~(x > 7) ^ (x < -7)
        return pnp.where(m, x, 0.0)

    np.testing.assert_array_equal(pb.vjp(masks, x)[0], masks(x))
    staged = pb.jit(masks)
    np.testing.assert_array_equal(staged(x), masks(x))


def test_ufunc_keyword_arguments():
    x = np.array([0.5, 1.5])
    with pytest.raises(UnsupportedFunctionError, match="out="):
        pb.grad(lambda x: pnp.sum(pnp.logaddexp(x, x, out=np.empty(2))))(x)
    with pytest.raises(UnsupportedFunctionError, match="where="):
        pnp.fmod(x, 1.0, where=x > 1)
    out = pnp.logaddexp(x, x, dtype=np.float32)
    assert out.dtype == np.float32
    with pytest.raises(TypeError):
        pnp.sinc(x, out=np.empty(2))
    with pytest.raises(UnsupportedFunctionError):
        pb.grad(lambda x: pnp.sum(np.logaddexp.accumulate(x)))(x)


# ============================================================================ hypothesis: broadcast shapes

HYP_BINARY = {
    "logaddexp": lambda m, x, y: m.logaddexp(x, y),
    "fmod": lambda m, x, y: m.fmod(x, y + np.where(y >= 0, 0.5, -0.5)),
    "copysign": lambda m, x, y: m.copysign(x, y),
    "fmax": lambda m, x, y: m.fmax(x, y),
    "clip": lambda m, x, y: m.clip(x, y, y + 0.5),
    "float_power": lambda m, x, y: m.float_power(m.abs(x) + 0.5, y),
}


@FAST
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=0, max_side=3),
       name=st.sampled_from(sorted(HYP_BINARY)))
def test_binary_functions_on_random_broadcast_shapes(shapes, name):
    (sx, sy), rng = shapes.input_shapes, np.random.default_rng(5)
    x, y = rng.uniform(0.2, 0.8, sx) * rng.choice([-1.0, 1.0], sx), rng.uniform(0.1, 0.9, sy)
    f = HYP_BINARY[name]
    _assert_same(f(pnp, x, y), f(np, x, y))
    check_grads(functools.partial(f, pnp), [x, y], order=1)


@FAST
@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
                    elements=st.floats(-3, 3)))
def test_sinc_and_nan_to_num_on_random_shapes(x):
    _assert_same(pnp.sinc(x), np.sinc(x))
    np.testing.assert_allclose(pb.grad(lambda x: pnp.sum(pnp.sinc(x)))(x), ex.sinc(x, order=1))
    check_grads(lambda x: pnp.nan_to_num(x) * pnp.sinc(x), [x], order=1)


# ============================================================================ primitives: shape rules, staging


def _primitives_of(module):
    found = {}
    for v in vars(module).values():
        for p in v.values() if isinstance(v, dict) else [v]:
            if isinstance(p, Primitive):
                found[p.name] = p
    return found


def _extra_primitives():
    """The primitives defined in elementwise_extra (not those it imports from elementwise)."""
    own = _primitives_of(ew)
    return {n: p for n, p in _primitives_of(ex).items() if own.get(n) is not p}


def _shape_rule_cases():
    rng = np.random.default_rng(3)
    f64, f32, c128 = rng.uniform(0.3, 0.9, (2, 3)), rng.uniform(0.3, 0.9, (2, 3)).astype(np.float32), cnormal(2, 3)
    ints = np.arange(1, 7).reshape(2, 3)
    cases = []
    for p in ex.UNARY_EXTRA.values():
        cases += [(p, (f64,), {}), (p, (f32,), {}), (p, (3,), {})]
    cases += [(ex.sinc, (c128,), {}), (ex.sinc, (f32,), {"order": 2}), (ex.sinc, (ints,), {"order": 1}),
              (ex.sign_complex, (c128,), {}), (ex.sign_complex, (c128.astype(np.complex64),), {})]
    for p in list(ex.BINARY_EXTRA.values()) + list(ex.NONDIFF_BINARY_EXTRA.values()):
        if p.name == "ldexp":
            cases += [(p, (f64, np.arange(3)), {}), (p, (f32, 2), {}), (p, (f32, np.int64(2)), {})]
            continue
        if p.name in ("bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift", "gcd", "lcm"):
            cases += [(p, (ints, ints[:1]), {}), (p, (ints.astype(np.int8), 3), {})]
            if p.name.startswith("bitwise"):
                cases.append((p, (ints > 2, True), {}))
            continue
        cases += [(p, (f64, f64[:1]), {}), (p, (f32, 2.0), {}), (p, (f32, np.float64(2.0)), {}),
                  (p, (ints, 1.5), {}), (p, (3, f32[0]), {})]
    cases += [(ex.float_power, (f64, c128), {}), (ex.fmax, (c128, f64), {}), (ex.fmin, (c128, 1j), {})]
    cases += [(ex.NONDIFF_BINARY_EXTRA["isclose"], (f64, f32), {"rtol": 0.1, "atol": 0.0, "equal_nan": True})]
    for p in ex.NONDIFF_UNARY_EXTRA.values():
        if p.name in ("invert", "bitwise_count"):
            cases += [(p, (ints,), {}), (p, (ints.astype(np.uint8),), {}), (p, (ints > 2,), {})]
            continue
        cases += [(p, (f64,), {}), (p, (f32,), {}), (p, (ints,), {})]
    cases += [(ex.NONDIFF_UNARY_EXTRA["round"], (f32,), {"decimals": 2}),
              (ex.NONDIFF_UNARY_EXTRA["round"], (c128,), {"decimals": 1})]
    cases += [(ex.clip, (f64, 0.4, 0.6), {}), (ex.clip, (f32, None, f64[:1]), {}), (ex.clip, (ints, 2.5, None), {}),
              (ex.clip, (ints, 2, 4), {}), (ex.clip, (c128, 0.5, None), {}), (ex.clip, (f32[0], 0.4, f64), {})]
    cases += [(ex.nan_to_num, (f64,), {}), (ex.nan_to_num, (f32,), {"nan": 1.0, "posinf": 2.0, "neginf": None}),
              (ex.nan_to_num, (c128,), {}), (ex.nan_to_num, (ints,), {})]
    cases += [(ex.complex_, (f64, f64[:1]), {}), (ex.complex_, (f32, 0.0), {}), (ex.complex_, (f32, f64), {}),
              (ex.complex_, (np.float16(1.0), f32.astype(np.float16)), {})]
    return cases


SHAPE_RULE_CASES = _shape_rule_cases()


def _abstract(a):
    if isinstance(a, (np.ndarray, np.generic)):
        from pullback.core.ir import ShapeDtype

        return ShapeDtype(np.shape(a), a.dtype)
    return a


@pytest.mark.parametrize("prim, args, params", SHAPE_RULE_CASES,
                         ids=[f"{p.name}-{i}" for i, (p, _, _) in enumerate(SHAPE_RULE_CASES)])
def test_shape_rule_agrees_with_implementation(prim, args, params):
    with np.errstate(all="ignore"):
        out = prim.impl(*args, **params)
    shape, dtype = prim.shape(*[_abstract(a) for a in args], **params)
    assert tuple(shape) == np.shape(out)
    assert np.dtype(dtype) == np.asarray(out).dtype


def test_every_extra_primitive_has_a_shape_rule_case_and_tests():
    prims = _extra_primitives()
    assert {p.name for p, _, _ in SHAPE_RULE_CASES} == set(prims)
    for name, p in prims.items():
        assert p.differentiable == (name in ex.UNARY_EXTRA or name in ex.BINARY_EXTRA
                                    or name in {"clip", "nan_to_num", "complex"}), name


LINEAR_SAMPLES = {
    "deg2rad": lambda x, y: ex.deg2rad(x),
    "rad2deg": lambda x, y: ex.rad2deg(x),
    "complex": lambda x, y: ex.complex_(x, y),
}


@pytest.mark.parametrize("name", sorted(LINEAR_SAMPLES))
def test_primitive_marked_linear_is_linear(name, rng):
    f = LINEAR_SAMPLES[name]
    x1, x2, y1, y2 = (rng.standard_normal((2, 3)) for _ in range(4))
    a, b = 1.7, -0.6
    np.testing.assert_allclose(f(a * x1 + b * x2, a * y1 + b * y2), a * f(x1, y1) + b * f(x2, y2), rtol=1e-12)
    assert _extra_primitives()[name].linear
    assert {n for n, p in _extra_primitives().items() if p.linear} == set(LINEAR_SAMPLES)


def test_complex_assembly_primitive_derivatives(rng):
    x, y = rng.standard_normal((2, 3)), rng.standard_normal(3)
    check_grads(ex.complex_, [x, y], order=2)
    _, vjp_fn = pb.vjp(ex.complex_, x, y)
    gx, gy = vjp_fn(np.full((2, 3), 2 + 3j))
    np.testing.assert_array_equal(gx, np.full((2, 3), 2.0))
    np.testing.assert_array_equal(gy, np.full(3, -6.0))


STAGED = {
    "logaddexp": lambda x, y: pnp.logaddexp(x, y) * pnp.logaddexp2(y, x),
    "sinc": lambda x, y: pnp.sinc(x) + pnp.deg2rad(y),
    "modulo": lambda x, y: pnp.fmod(x, y) + pnp.remainder(x, y) + x // y,
    "clip": lambda x, y: pnp.clip(x, None, y) + pnp.clip(x, y, 0.5),
    "nan": lambda x, y: pnp.nan_to_num(x / y) + pnp.fmax(x, y) - pnp.fmin(x, y),
    "sign": lambda x, y: pnp.copysign(x, y) + pnp.round(x, 1) + pnp.heaviside(x, 0.5) + pnp.float_power(y, 2),
    "complex": lambda x, y: pnp.real(pnp.sign(x + 1j * y) * pnp.angle(x - 1j * y)),
}


@pytest.mark.parametrize("name", sorted(STAGED))
def test_staged_functions_and_gradients_equal_eager(name):
    x, y = np.array([0.3, -1.2, 2.0]), np.array([1.1, 0.7, 0.4])
    f = STAGED[name]
    np.testing.assert_allclose(pb.jit(f)(x, y), f(x, y), rtol=1e-14)
    g = lambda x, y: pb.grad(lambda x, y: pnp.sum(f(x, y)), argnums=(0, 1))(x, y)  # noqa: E731
    for a, b in zip(pb.jit(g)(x, y), g(x, y), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-14)
