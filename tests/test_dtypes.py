"""Dtypes through values and derivatives.

- float32 stays float32: values, gradients, tangents, Hessians and staged graphs (no silent upcast);
- float16 is allowed: values and first derivatives, checked with loose tolerances;
- NumPy's promotion rules decide mixed dtypes, as NumPy does (Python scalars are weak);
- integer and boolean arrays flow through (values equal NumPy's) but are never differentiated;
- pullback.numpy.random is NumPy's own.
"""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback.errors import NonDifferentiableInputError
from pullback.primitives import elementwise as ew
from pullback.primitives import elementwise_extra as ex

pytestmark = [
    pytest.mark.filterwarnings("error::RuntimeWarning"),
    pytest.mark.filterwarnings("error::numpy.exceptions.ComplexWarning"),
]

R = np.random.default_rng(11)

# every differentiable elementwise function of pullback.numpy (aliases once), with a domain
DOMAIN = {"arccosh": (1.2, 2.0), "acosh": (1.2, 2.0)}
DIFFERENTIABLE_UNARY = sorted(
    set(ew.UNARY) | {"sinc", "deg2rad", "rad2deg", "negative", "positive", "absolute", "fabs", "conjugate", "real",
                     "imag", "nan_to_num"}
)
DIFFERENTIABLE_BINARY = sorted(
    (set(ex.BINARY_EXTRA) - {"ldexp", "float_power"})
    | {"add", "subtract", "multiply", "divide", "power", "maximum", "minimum", "arctan2", "hypot"}
)


def sample(name, shape, dtype):
    lo, hi = DOMAIN.get(name, (0.3, 0.8))
    return R.uniform(lo, hi, shape).astype(dtype)


def binary_args(name, dtype):
    x, y = sample(name, (2, 3), dtype), sample(name, (3,), dtype)
    if name in ("fmod", "remainder"):  # x/y away from the jumps at integers
        y = np.array([1.25, 2.5, -3.75], dtype)
        x = ((R.integers(-2, 3, (2, 3)) + R.uniform(0.3, 0.7, (2, 3))) * y).astype(dtype)
    return x, y


@pytest.mark.parametrize("name", DIFFERENTIABLE_UNARY)
def test_float32_unary_values_and_derivatives_stay_float32(name):
    x = sample(name, (2, 3), np.float32)
    f = getattr(pnp, name)
    out = f(x)
    assert out.dtype == np.float32 == getattr(np, name)(x).dtype
    g = pb.grad(lambda x: pnp.sum(f(x)))(x)
    assert g.dtype == np.float32
    g64 = pb.grad(lambda x: pnp.sum(f(x)))(x.astype(np.float64))
    np.testing.assert_allclose(g, g64, rtol=2e-5, atol=1e-6)
    out, t = pb.jvp(f, (x,), (np.ones_like(x),))
    assert out.dtype == np.float32 and t.dtype == np.float32
    (h,) = pb.jvp(pb.grad(lambda x: pnp.sum(f(x))), (x,), (np.ones_like(x),))[1:]
    assert h.dtype == np.float32


@pytest.mark.parametrize("name", DIFFERENTIABLE_BINARY)
def test_float32_binary_values_and_derivatives_stay_float32(name):
    x, y = binary_args(name, np.float32)
    f = getattr(pnp, name)
    assert f(x, y).dtype == np.float32 == getattr(np, name)(x, y).dtype
    gx, gy = pb.grad(lambda x, y: pnp.sum(f(x, y)), argnums=(0, 1))(x, y)
    assert gx.dtype == gy.dtype == np.float32
    g64 = pb.grad(lambda x, y: pnp.sum(f(x, y)), argnums=(0, 1))(x.astype(np.float64), y.astype(np.float64))
    np.testing.assert_allclose(gx, g64[0], rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(gy, g64[1], rtol=2e-5, atol=1e-5)
    _, t = pb.jvp(f, (x, y), (np.ones_like(x), np.ones_like(y)))
    assert t.dtype == np.float32
    # a Python scalar operand is weak: the result stays float32
    assert pb.grad(lambda x: pnp.sum(f(x, 0.7)))(x).dtype == np.float32


def test_float32_special_signatures_stay_float32():
    x = sample("", (4,), np.float32)
    cases = {
        "clip": lambda x: pnp.clip(x, 0.4, 0.7),
        "clip-array-bound": lambda x: pnp.clip(x, None, x[::-1]),
        "ldexp": lambda x: pnp.ldexp(x, np.array([1, 2, 3, 4])),
        "angle": lambda x: pnp.angle(x * (1 + 1j)),
        "sign-complex": lambda x: pnp.real(pnp.sign(x * (1 - 2j))),
        "modf": lambda x: pnp.modf(x * 3)[0],
        "frexp": lambda x: pnp.frexp(x)[0],
        "round": lambda x: pnp.round(x, 1) * x,
        "where": lambda x: pnp.where(x > 0.5, x, 2 * x),
    }
    for name, f in cases.items():
        out, vjp_fn = pb.vjp(f, x)
        assert out.dtype == np.float32, name
        assert vjp_fn(np.ones_like(out))[0].dtype == np.float32, name


def test_float_power_follows_numpy_and_computes_in_float64():
    x = sample("", (3,), np.float32)
    assert pnp.float_power(x, 2).dtype == np.float64 == np.float_power(x, 2).dtype
    g = pb.grad(lambda x: pnp.sum(pnp.float_power(x, 3)))(x)
    assert g.dtype == np.float32  # the cotangent of a float32 input is float32
    np.testing.assert_allclose(g, 3 * x.astype(np.float64) ** 2, rtol=1e-6)


@pytest.mark.parametrize("name", DIFFERENTIABLE_UNARY)
def test_float16_values_and_first_derivatives(name):
    x = sample(name, (5,), np.float16)
    f = getattr(pnp, name)
    with np.errstate(all="ignore"):
        expected = getattr(np, name)(x)
    out, vjp_fn = pb.vjp(f, x)
    assert out.dtype == expected.dtype == np.float16
    np.testing.assert_array_equal(out, expected)
    (g,) = vjp_fn(np.ones_like(out))
    assert g.dtype == np.float16
    g64 = pb.grad(lambda x: pnp.sum(f(x)))(x.astype(np.float64))
    np.testing.assert_allclose(g.astype(np.float64), g64, rtol=2e-2, atol=2e-3)
    _, t = pb.jvp(f, (x,), (np.ones_like(x),))
    assert t.dtype == np.float16


@pytest.mark.parametrize("name", DIFFERENTIABLE_BINARY)
def test_float16_binary_first_derivatives(name):
    x, y = binary_args(name, np.float16)
    f = getattr(pnp, name)
    assert f(x, y).dtype == np.float16
    gx, gy = pb.grad(lambda x, y: pnp.sum(f(x, y)), argnums=(0, 1))(x, y)
    assert gx.dtype == gy.dtype == np.float16
    g64 = pb.grad(lambda x, y: pnp.sum(f(x, y)), argnums=(0, 1))(x.astype(np.float64), y.astype(np.float64))
    np.testing.assert_allclose(gx.astype(float), g64[0], rtol=2e-2, atol=5e-3)
    np.testing.assert_allclose(gy.astype(float), g64[1], rtol=2e-2, atol=2e-2)


def test_float16_check_grads_with_loose_tolerances():
    x = sample("", (3,), np.float16)
    pb.testing.check_grads(lambda x: pnp.sin(x) * pnp.logaddexp(x, 0.5), [x], order=1, rtol=5e-2, atol=5e-2,
                           eps=1e-2)


def test_mixed_dtypes_follow_numpy_promotion():
    x32 = sample("", (3,), np.float32)
    x64 = sample("", (3,), np.float64)
    cases = [
        (lambda x: x * 2.0, x32), (lambda x: x * np.float64(2.0), x32), (lambda x: x * x64, x32),
        (lambda x: pnp.logaddexp(x, np.float32(1.0)), x32), (lambda x: pnp.fmod(x, 0.25), x32),
        (lambda x: x + np.arange(3), x32), (lambda x: x * np.arange(3, dtype=np.int8), x32),
        (lambda x: pnp.maximum(x, 1), x32), (lambda x: x + 1j, x32), (lambda x: x * np.complex64(1j), x32),
    ]
    for f, x in cases:
        out, vjp_fn = pb.vjp(f, x)
        assert out.dtype == f(x).dtype  # pullback's value, and the same expression on plain arrays
        with np.errstate(all="ignore"):
            assert out.dtype == np.asarray(f(np.asarray(x))).dtype
        (g,) = vjp_fn(np.ones_like(out))
        assert g.dtype == x.dtype  # the cotangent always has the input's dtype


def test_float32_hessian_and_staged_graph_stay_float32():
    x = sample("", (3,), np.float32)
    f = lambda x: pnp.sum(pnp.logaddexp(x, 0.5) * pnp.sinc(x) + pnp.clip(x, 0.4, 0.6) ** 2)  # noqa: E731
    assert pb.hessian(f)(x).dtype == np.float32
    g = pb.make_graph(pb.grad(f), x)
    assert all(o.aval.dtype == np.float32 for o in g.outs)
    assert all(e.outs[0].aval.dtype in (np.float32, np.bool_) for e in g.eqns), g
    assert pb.jit(pb.grad(f))(x).dtype == np.float32


# ============================================================================ integers and booleans


def test_integer_arrays_follow_numpy_dtypes_and_values():
    i, j = np.arange(-3, 5), np.array([3, 1, 2, 5, 4, 7, 2, 1])
    for f in (
        lambda m: m.add(i, j), lambda m: m.subtract(i, 1), lambda m: m.multiply(i, j), lambda m: m.power(i, 2),
        lambda m: m.power(j, j), lambda m: m.floor_divide(i, j), lambda m: m.remainder(i, j), lambda m: m.mod(i, 3),
        lambda m: m.fmod(i, j), lambda m: m.absolute(i), lambda m: m.negative(i), lambda m: m.sign(i),
        lambda m: m.maximum(i, j), lambda m: m.fmin(i, 0), lambda m: m.clip(i, -1, 2), lambda m: m.square(i),
        lambda m: m.divide(i, j), lambda m: m.sqrt(j), lambda m: m.sin(i), lambda m: m.logaddexp(i, j),
        lambda m: m.exp2(j), lambda m: m.deg2rad(i), lambda m: m.sinc(i), lambda m: m.round(i, -1),
        lambda m: m.heaviside(i, 1), lambda m: m.copysign(i, -1), lambda m: m.fabs(i), lambda m: m.angle(i),
        lambda m: m.nan_to_num(i), lambda m: m.float_power(j, 2), lambda m: m.gcd(i, j), lambda m: m.ldexp(i, 2),
    ):
        got, expected = f(pnp), f(np)
        assert not isinstance(got, pb.core.trace.Tracer)
        assert np.asarray(got).dtype == np.asarray(expected).dtype
        np.testing.assert_array_equal(got, expected)
    with pytest.raises(ValueError):  # integers to negative integer powers are refused, as in NumPy
        pnp.power(i, -1)


def test_boolean_arrays_follow_numpy():
    a, b = np.array([True, False, True, False]), np.array([True, True, False, False])
    for f in (
        lambda m: m.logical_and(a, b), lambda m: m.logical_xor(a, b), lambda m: m.logical_not(a),
        lambda m: m.add(a, b), lambda m: m.multiply(a, b), lambda m: m.bitwise_or(a, b), lambda m: m.invert(a),
        lambda m: m.maximum(a, b), lambda m: m.equal(a, b), lambda m: m.sin(a), lambda m: m.clip(a, 0, 1),
    ):
        got, expected = f(pnp), f(np)
        assert np.asarray(got).dtype == np.asarray(expected).dtype
        np.testing.assert_array_equal(got, expected)


def test_integer_arrays_flow_through_traced_functions_without_derivative():
    n = np.array([1, -2, 3])
    x = np.array([0.5, 1.5, 2.5], np.float32)

    def f(x):
        k = pnp.floor(x).astype(np.int64) + n  # integers computed from a traced value: plain values
        assert not isinstance(k, pb.core.trace.Tracer) and k.dtype == np.int64
        return pnp.sum(x * k + x ** n + pnp.remainder(k, 2))

    g = pb.grad(f)(x)
    assert g.dtype == np.float32
    k = np.floor(x).astype(np.int64) + n
    np.testing.assert_allclose(g, k + n * x.astype(np.float64) ** (n - 1.0), rtol=1e-6)
    _, t = pb.jvp(lambda x: (x * 2).astype(np.int32), (x,), (np.ones(3, np.float32),))
    assert not np.any(t)


def test_integer_and_boolean_inputs_are_never_differentiated():
    for bad in (np.arange(3), np.array([True, False]), 3):
        with pytest.raises(NonDifferentiableInputError):
            pb.grad(lambda v: pnp.sum(v * 1.0))(bad)
        with pytest.raises(NonDifferentiableInputError):
            pb.jvp(lambda v: v * 1.0, (bad,), (bad,))
        with pytest.raises(NonDifferentiableInputError):
            pb.vjp(lambda v: v * 1.0, bad)
    # an integer argument outside argnums is fine
    assert pb.grad(lambda x, n: x**n, argnums=0)(2.0, 3) == 12.0


def test_integer_powers_of_traced_values():
    x = np.array([-2.0, 0.5, 3.0])
    e = np.arange(3)
    np.testing.assert_array_equal(pb.grad(lambda x: pnp.sum(x**e))(x), e * x ** (e - 1.0) * (e != 0))
    np.testing.assert_array_equal(pb.grad(lambda x: pnp.sum(pnp.power(x, 3)))(x), 3 * x**2)
    assert pb.grad(lambda x: x**2)(np.float32(3.0)).dtype == np.float32


def test_random_is_numpys_own():
    assert pnp.random is np.random
    rng = pnp.random.default_rng(0)
    x = rng.standard_normal(3)
    assert type(x) is np.ndarray
    np.testing.assert_array_equal(x, np.random.default_rng(0).standard_normal(3))
    np.testing.assert_allclose(pb.grad(lambda x: pnp.sum(pnp.sin(x)))(x), np.cos(x))


def test_python_and_numpy_scalars_keep_their_precision():
    assert type(pb.grad(pnp.sin)(0.5)) in (float, np.float64)
    assert pb.grad(pnp.sin)(np.float32(0.5)).dtype == np.float32
    assert pb.grad(pnp.sinc)(np.float16(0.5)).dtype == np.float16
    assert pb.grad(lambda z: pnp.abs(z))(np.complex64(3 + 4j)).dtype == np.complex64
