"""pullback.numpy: NumPy's values and signatures, with derivatives.

One table (CASES) drives the common checks for every function: the value equals
NumPy's, the primal output of vjp/jvp equals NumPy's, and the derivatives pass
check_grads (finite differences and the dot-product test) to second order; real
NumPy functions called on traced values dispatch to the same code. Behaviour
specific to one family (reductions, indexing, products, dtypes, operators on
traced values, errors) has its own tests below.
"""

from __future__ import annotations

import functools
import math

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pullback as pb
import pullback.numpy as pnp
from cases import Case, Family, assert_same, family_tests, ufunc_case
from pullback.errors import PullbackError, TracerConversionError, UnsupportedFunctionError
from pullback.testing import check_grads

pytestmark = [
    pytest.mark.filterwarnings("error::RuntimeWarning"),
    pytest.mark.filterwarnings("error::numpy.exceptions.ComplexWarning"),
]

FAST = settings(max_examples=12, deadline=None, derandomize=True)
R = np.random.default_rng(2024)


def normal(*shape):
    return R.standard_normal(shape)


def positive(*shape, lo=0.5, hi=2.0):
    return R.uniform(lo, hi, shape)


def nonzero(*shape):
    return R.uniform(0.5, 2.0, shape) * R.choice([-1.0, 1.0], shape)


def cnormal(*shape, scale=1.0):
    return scale * (R.standard_normal(shape) + 1j * R.standard_normal(shape))


# --------------------------------------------------------------------------- elementwise

UNARY_DOMAINS = {
    "exp": normal, "exp2": normal, "expm1": normal, "log": positive, "log2": positive, "log10": positive,
    "log1p": positive, "sin": normal, "cos": normal, "tan": lambda *s: R.uniform(-1, 1, s),
    "arcsin": lambda *s: R.uniform(-0.8, 0.8, s), "arccos": lambda *s: R.uniform(-0.8, 0.8, s), "arctan": normal,
    "sinh": normal, "cosh": normal, "tanh": normal, "arcsinh": normal,
    "arccosh": lambda *s: R.uniform(1.2, 3, s), "arctanh": lambda *s: R.uniform(-0.8, 0.8, s),
    "sqrt": positive, "cbrt": positive, "square": normal, "reciprocal": nonzero,
    "negative": normal, "absolute": nonzero, "abs": nonzero, "conjugate": normal, "conj": normal,
    "positive": normal,
}
COMPLEX_UNARY = {
    "exp": lambda: cnormal(2, 3, scale=0.5), "log": lambda: 1 + cnormal(2, 3, scale=0.3),
    "sin": lambda: cnormal(2, 3, scale=0.5), "cos": lambda: cnormal(2, 3, scale=0.5),
    "tanh": lambda: cnormal(2, 3, scale=0.3), "sqrt": lambda: 1 + cnormal(2, 3, scale=0.3),
    "arctan": lambda: cnormal(2, 3, scale=0.3), "square": lambda: cnormal(2, 3),
    "reciprocal": lambda: 1 + cnormal(2, 3, scale=0.3), "absolute": lambda: cnormal(2, 3),
    "abs": lambda: cnormal(2, 3), "conjugate": lambda: cnormal(2, 3), "conj": lambda: cnormal(2, 3),
    "negative": lambda: cnormal(2, 3), "expm1": lambda: cnormal(2, 3, scale=0.5),
    "log1p": lambda: cnormal(2, 3, scale=0.3), "arcsinh": lambda: cnormal(2, 3, scale=0.3),
}
ORDER3_UNARY = {"exp", "log", "tanh", "sqrt", "arcsin", "absolute"}

BINARY_DOMAINS = {
    "add": (normal, normal), "subtract": (normal, normal), "multiply": (normal, normal),
    "divide": (normal, nonzero), "true_divide": (normal, nonzero), "power": (positive, normal),
    "maximum": (normal, normal), "minimum": (normal, normal), "arctan2": (normal, nonzero),
    "hypot": (nonzero, normal),
}
BINARY_SHAPES = [((2, 3), (2, 3)), ((3, 1), (4,)), ((2, 3), ()), ((1,), (0, 1))]

CASES: list[Case] = []
for _n, _gen in UNARY_DOMAINS.items():
    CASES.append(ufunc_case(_n, _gen(2, 3), order3=_n in ORDER3_UNARY))
for _n, _gen in COMPLEX_UNARY.items():
    CASES.append(ufunc_case(_n, _gen(), id=f"{_n}-complex"))
for _n, (_gx, _gy) in BINARY_DOMAINS.items():
    for _sx, _sy in BINARY_SHAPES:
        CASES.append(ufunc_case(_n, _gx(*_sx), _gy(*_sy), id=f"{_n}-{_sx}-{_sy}", order3=_sx == (3, 1)))
for _n in ("add", "subtract", "multiply", "divide", "power"):
    CASES.append(ufunc_case(_n, 1 + cnormal(3, 1, scale=0.3), 1 + cnormal(2, scale=0.3), id=f"{_n}-complex"))
    CASES.append(ufunc_case(_n, positive(3, 1), 1 + cnormal(2, scale=0.3), id=f"{_n}-real-complex"))

CASES += [
    Case("real", lambda m, z: m.real(z), (cnormal(2, 3),), id="real-complex"),
    Case("imag", lambda m, z: m.imag(z), (cnormal(2, 3),), id="imag-complex"),
    Case("real", lambda m, x: m.real(x), (normal(2, 3),), id="real-of-real"),
    Case("imag", lambda m, x: m.imag(x), (normal(2, 3),), id="imag-of-real"),
    Case("power", lambda m, x: m.power(x, 3), (normal(4),), id="power-negative-base-int", order3=True),
    Case("power", lambda m, x: m.power(x, np.array([2, 3, -1, 0])), (nonzero(4),), id="power-int-array-exponent"),
    Case("where", lambda m, x, y: m.where(np.array([[True], [False], [True]]), x, y), (normal(4), normal()),
         order3=True),
    Case("where", lambda m, z, y: m.where(np.array([True, False, True]), z, y), (cnormal(3), normal(3)),
         id="where-complex"),
    Case("astype", lambda m, x: (m.astype(x, np.complex128) if m is pnp else x.astype(np.complex128)) * (1 + 2j),
         (normal(3),), dispatch=False),
]

# --------------------------------------------------------------------------- reductions

for _n in ("sum", "mean", "max", "min", "amax", "amin", "var", "std"):
    for _axis in (None, 0, -1, (0, 2), (-1, 0), ()):
        for _keep in (False, True):
            if _n == "std" and _axis == ():
                continue  # std of a single value is 0, where its derivative is infinite
            CASES.append(Case(
                _n, functools.partial(lambda m, x, n, axis, keep: getattr(m, n)(x, axis=axis, keepdims=keep),
                                      n=_n, axis=_axis, keep=_keep),
                (normal(2, 3, 4),), id=f"{_n}-axis={_axis}-keepdims={_keep}",
                order3=_axis == (0, 2) and not _keep,
            ))
CASES += [
    Case("sum", lambda m, z: m.sum(z, axis=1), (cnormal(2, 3),), id="sum-complex"),
    Case("mean", lambda m, z: m.mean(z, axis=0), (cnormal(2, 3),), id="mean-complex"),
    Case("var", lambda m, z: m.var(z, axis=-1), (cnormal(2, 3),), id="var-complex"),
    Case("std", lambda m, z: m.std(z), (cnormal(2, 3),), id="std-complex"),
    Case("var", lambda m, x: m.var(x, axis=0, ddof=1), (normal(3, 2),), id="var-ddof"),
    Case("std", lambda m, x: m.std(x, axis=1, ddof=1, keepdims=True), (normal(3, 2),), id="std-ddof"),
    Case("sum", lambda m, x: m.sum(x, axis=1, where=np.array([True, False, True])), (normal(2, 3),),
         id="sum-where"),
    Case("mean", lambda m, x: m.mean(x, axis=1, where=np.array([True, False, True])), (normal(2, 3),),
         id="mean-where"),
    Case("max", lambda m, x: m.max(x, axis=0, initial=0.0), (normal(3, 4),), id="max-initial"),
    Case("min", lambda m, x: m.min(x, axis=1, initial=0.5, where=np.array([True, True, False, True])),
         (normal(3, 4),), id="min-where-initial"),
    Case("sum", lambda m, x: m.sum(x, axis=1), (normal(3, 0),), id="sum-size0"),
    Case("max", lambda m, x: m.max(x, axis=0), (normal(3, 0),), id="max-size0-result"),
    Case("sum", lambda m, x: m.sum(x, axis=0), (normal(1, 3),), id="sum-size1"),
    Case("mean", lambda m, x: m.mean(x), (np.float64(1.5),), id="mean-0d"),
]

# --------------------------------------------------------------------------- shapes and indexing

CASES += [
    Case("reshape", lambda m, x: m.reshape(x, (4, -1)), (normal(2, 3, 4),), order3=True),
    Case("reshape", lambda m, x: m.reshape(x, -1), (normal(2, 3),), id="reshape-flat"),
    Case("reshape", lambda m, x: m.reshape(x, ()), (normal(1, 1),), id="reshape-to-0d"),
    Case("reshape", lambda m, x: m.reshape(x, (0, 5)), (normal(5, 0),), id="reshape-size0"),
    Case("ravel", lambda m, x: m.ravel(x), (normal(2, 3),)),
    Case("transpose", lambda m, x: m.transpose(x), (normal(2, 3, 4),)),
    Case("transpose", lambda m, x: m.transpose(x, (1, -1, 0)), (normal(2, 3, 4),), id="transpose-axes"),
    Case("swapaxes", lambda m, x: m.swapaxes(x, 0, -1), (normal(2, 3, 4),)),
    Case("moveaxis", lambda m, x: m.moveaxis(x, 0, -1), (normal(2, 3, 4),)),
    Case("moveaxis", lambda m, x: m.moveaxis(x, [0, 1], [-1, -3]), (normal(2, 3, 4, 5),), id="moveaxis-many"),
    Case("expand_dims", lambda m, x: m.expand_dims(x, -1), (normal(2, 3),)),
    Case("expand_dims", lambda m, x: m.expand_dims(x, (0, -1)), (normal(2, 3),), id="expand_dims-tuple"),
    Case("squeeze", lambda m, x: m.squeeze(x), (normal(1, 3, 1),)),
    Case("squeeze", lambda m, x: m.squeeze(x, axis=-1), (normal(1, 3, 1),), id="squeeze-axis"),
    Case("broadcast_to", lambda m, x: m.broadcast_to(x, (2, 3, 4)), (normal(3, 1),)),
    Case("broadcast_to", lambda m, x: m.broadcast_to(x, (0, 3)), (normal(1, 3),), id="broadcast_to-size0"),
    Case("atleast_1d", lambda m, x: m.atleast_1d(x), (np.float64(2.0),)),
    Case("concatenate", lambda m, a, b: m.concatenate([a, b]), (normal(2, 3), normal(1, 3))),
    Case("concatenate", lambda m, a, b: m.concatenate([a, b, np.ones((2, 1))], axis=-1), (normal(2, 3), normal(2, 0)),
         id="concatenate-neg-axis-const"),
    Case("concatenate", lambda m, a, b: m.concatenate([a, b], axis=None), (normal(2, 3), normal(4)),
         id="concatenate-axis-None"),
    Case("concatenate", lambda m, z, x: m.concatenate([z, x]), (cnormal(2), normal(3)), id="concatenate-complex"),
    Case("stack", lambda m, a, b: m.stack([a, b]), (normal(2, 3), normal(2, 3))),
    Case("stack", lambda m, a, b: m.stack([a, b], axis=-1), (normal(2, 3), normal(2, 3)), id="stack-neg-axis"),
    Case("hstack", lambda m, a, b: m.hstack([a, b]), (normal(3), normal(2))),
    Case("hstack", lambda m, a, b: m.hstack([a, b]), (normal(2, 3), normal(2, 1)), id="hstack-2d"),
    Case("hstack", lambda m, a, b: m.hstack([a, b]), (np.float64(1.0), normal(2)), id="hstack-0d"),
    Case("vstack", lambda m, a, b: m.vstack([a, b]), (normal(3), normal(2, 3))),
    Case("vstack", lambda m, a, b: m.vstack([a, b]), (np.float64(1.0), np.float64(2.0)), id="vstack-0d"),
]

INDICES = [
    ("slice", (slice(1, 3),)),
    ("neg-step", (slice(None, None, -1),)),
    ("neg-step-2-int", (slice(None, None, -2), 1)),
    ("ellipsis-none", (Ellipsis, None, slice(1, None))),
    ("none-int-ellipsis", (None, 0, Ellipsis)),
    ("neg-int", -1),
    ("int-array-repeated", np.array([0, 0, 2, 0])),
    ("list-repeated", [1, 1, 1]),
    ("int-array-2d", np.array([[1, 1], [0, 1]])),
    ("slice-int-array", (slice(None), np.array([2, 2, 0]))),
    ("two-int-arrays", (np.array([0, 1, 1]), np.array([3, 3, 3]))),
    ("bool-mask-rows", np.array([True, False, True])),
    ("bool-mask-full", np.array([[True, False, True, False], [False, False, True, True], [True, True, False, False]])),
    ("empty", slice(2, 2)),
]
for _id, _idx in INDICES:
    CASES.append(Case("getitem", functools.partial(lambda m, x, idx: x[idx], idx=_idx), (normal(3, 4),),
                      id=f"getitem-{_id}", dispatch=False, order3=_id == "int-array-repeated"))
CASES.append(Case("getitem", lambda m, z: z[[0, 0], ::-1], (cnormal(2, 3),), id="getitem-complex", dispatch=False))

# --------------------------------------------------------------------------- products

MATMUL_SHAPES = [
    ((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
    ((2, 1, 2, 3), (5, 3, 4)), ((3,), (5, 3, 4)), ((5, 2, 3), (3,)), ((2, 0), (0, 3)),
]
for _sa, _sb in MATMUL_SHAPES:
    CASES.append(Case("matmul", lambda m, a, b: m.matmul(a, b), (normal(*_sa), normal(*_sb)),
                      id=f"matmul-{_sa}-{_sb}", order3=_sa == (2, 1, 2, 3)))
CASES += [
    Case("matmul", lambda m, a, b: m.matmul(a, b), (cnormal(2, 3), cnormal(3, 2)), id="matmul-complex"),
    Case("dot", lambda m, a, b: m.dot(a, b), (normal(3), normal(3))),
    Case("dot", lambda m, a, b: m.dot(a, b), (normal(2, 3), normal(3, 4)), id="dot-2d"),
    Case("dot", lambda m, a, b: m.dot(a, b), (normal(2, 3), normal(3)), id="dot-2d-1d"),
    Case("dot", lambda m, a, b: m.dot(a, b), (np.float64(2.0), normal(3)), id="dot-scalar"),
    Case("dot", lambda m, a, b: m.dot(a, b), (normal(2, 3, 4), normal(5, 4, 2)), id="dot-nd"),
    Case("dot", lambda m, a, b: m.dot(a, b), (normal(4), normal(5, 4, 2)), id="dot-1d-nd"),
    Case("vdot", lambda m, a, b: m.vdot(a, b), (normal(2, 3), normal(6))),
    Case("vdot", lambda m, a, b: m.vdot(a, b), (cnormal(2, 3), cnormal(2, 3)), id="vdot-complex"),
    Case("inner", lambda m, a, b: m.inner(a, b), (normal(3), normal(3))),
    Case("inner", lambda m, a, b: m.inner(a, b), (normal(2, 4), normal(3, 4)), id="inner-2d"),
    Case("inner", lambda m, a, b: m.inner(a, b), (np.float64(1.5), normal(3)), id="inner-scalar"),
    Case("outer", lambda m, a, b: m.outer(a, b), (normal(3), normal(2))),
    Case("outer", lambda m, a, b: m.outer(a, b), (normal(2, 2), normal(3)), id="outer-flattens"),
    Case("tensordot", lambda m, a, b: m.tensordot(a, b), (normal(2, 3, 4), normal(3, 4, 2)), order3=True),
    Case("tensordot", lambda m, a, b: m.tensordot(a, b, axes=0), (normal(2), normal(3)), id="tensordot-0"),
    Case("tensordot", lambda m, a, b: m.tensordot(a, b, axes=1), (normal(2, 3), normal(3, 4)), id="tensordot-1"),
    Case("tensordot", lambda m, a, b: m.tensordot(a, b, axes=([1, 0], [0, 2])), (normal(3, 4, 2), normal(4, 5, 3)),
         id="tensordot-pairs"),
    Case("tensordot", lambda m, a, b: m.tensordot(a, b, axes=([-1], [0])), (normal(2, 3), normal(3, 4)),
         id="tensordot-neg"),
]

CASE_IDS = [c.id for c in CASES]
assert len(set(CASE_IDS)) == len(CASE_IDS), "case ids must be unique"


def _assert_same(actual, expected):
    assert_same(actual, expected, exact=False, rtol=1e-12, atol=1e-14)


FAMILY = Family(np, pnp, exact=False, rtol=1e-12, atol=1e-14)
(test_value_matches_numpy, test_traced_primal_output_matches_numpy, test_derivatives_to_second_order,
 test_derivatives_to_third_order, test_numpy_function_on_traced_value_dispatches_to_pullback,
 test_vmap_of_each_case_equals_the_loop) = family_tests(FAMILY, CASES)


# ============================================================================ known values


def test_max_and_min_share_the_gradient_among_ties():
    np.testing.assert_array_equal(pb.grad(pnp.max)(np.array([1.0, 3.0, 3.0])), [0.0, 0.5, 0.5])
    np.testing.assert_array_equal(pb.grad(pnp.min)(np.array([1.0, 1.0, 3.0])), [0.5, 0.5, 0.0])
    np.testing.assert_array_equal(pb.grad(pnp.amax)(np.array([2.0, 2.0, 2.0, 2.0])), [0.25] * 4)
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    np.testing.assert_allclose(pb.grad(lambda x: pnp.sum(pnp.max(x, axis=-1)))(x),
                               [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(pb.grad(lambda x: pnp.sum(x.max(axis=0, keepdims=True)))(x),
                               [[0, 1, 1], [1, 0, 0]])


def test_maximum_and_minimum_give_half_to_each_side_at_ties():
    assert pb.grad(pnp.maximum, argnums=(0, 1))(2.0, 2.0) == (0.5, 0.5)
    assert pb.grad(pnp.minimum, argnums=(0, 1))(2.0, 2.0) == (0.5, 0.5)
    relu = lambda x: pnp.sum(pnp.maximum(x, 0.0))  # noqa: E731
    np.testing.assert_array_equal(pb.grad(relu)(np.array([-1.0, 0.0, 2.0])), [0.0, 0.5, 1.0])


def test_reduction_gradients_known_values():
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 9.0]])
    np.testing.assert_array_equal(pb.grad(pnp.sum)(x), np.ones((2, 3)))
    np.testing.assert_allclose(pb.grad(pnp.mean)(x), np.full((2, 3), 1 / 6))
    # d var / dx = 2 (x − mean) / N
    np.testing.assert_allclose(pb.grad(pnp.var)(x), 2 * (x - x.mean()) / 6)
    np.testing.assert_allclose(pb.grad(lambda x: pnp.var(x, ddof=1))(x), 2 * (x - x.mean()) / 5)
    np.testing.assert_allclose(pb.grad(pnp.std)(x), (x - x.mean()) / (6 * x.std()))
    np.testing.assert_allclose(pb.grad(lambda x: pnp.sum(pnp.mean(x, axis=1)))(x), np.full((2, 3), 1 / 3))


def test_power_special_points():
    assert pb.grad(lambda x: x**3)(-2.0) == 12.0
    assert pb.grad(lambda x: pnp.power(x, 2))(-3.0) == -6.0
    assert pb.grad(lambda x: x**0)(0.0) == 0.0
    assert pb.grad(pnp.power, argnums=(0, 1))(0.0, 0.0) == (0.0, 0.0)
    np.testing.assert_array_equal(pb.grad(lambda x: pnp.sum(x ** np.array([0.0, 1.0])))(np.zeros(2)), [0.0, 1.0])
    assert pb.grad(lambda y: 2.0**y)(3.0) == pytest.approx(8 * math.log(2))


def test_arctan2_and_hypot_known_gradients():
    assert pb.grad(pnp.arctan2, argnums=(0, 1))(1.0, 1.0) == (pytest.approx(0.5), pytest.approx(-0.5))
    assert pb.grad(pnp.hypot, argnums=(0, 1))(3.0, 4.0) == (pytest.approx(0.6), pytest.approx(0.8))


def test_where_sends_the_gradient_to_the_chosen_branch():
    x = np.array([-1.0, 2.0, -3.0])
    g = pb.grad(lambda x: pnp.sum(pnp.where(x > 0, x**2, -x)))(x)
    np.testing.assert_array_equal(g, [-1.0, 4.0, -1.0])
    gx, gy = pb.grad(lambda x, y: pnp.sum(pnp.where(np.array([True, False]), x, y)), argnums=(0, 1))(
        np.ones(2), 5.0)
    np.testing.assert_array_equal(gx, [1.0, 0.0])
    assert gy == 1.0


def test_where_with_only_a_condition_returns_indices():
    cond = np.array([True, False, True])
    np.testing.assert_array_equal(pnp.where(cond)[0], [0, 2])
    g = pb.grad(lambda x: pnp.sum(x[pnp.where(x > 0)]))(np.array([1.0, -1.0, 2.0]))
    np.testing.assert_array_equal(g, [1.0, 0.0, 1.0])
    with pytest.raises(ValueError):
        pnp.where(cond, 1.0)


def test_integer_array_index_with_repeats_accumulates_the_gradient():
    g = pb.grad(lambda x: pnp.sum(x[np.array([0, 0, 2, 0])]))(np.zeros(3))
    np.testing.assert_array_equal(g, [3.0, 0.0, 1.0])
    g = pb.grad(lambda x: pnp.sum(x[[1, 1], [2, 2]] * np.array([1.0, 10.0])))(np.zeros((2, 3)))
    np.testing.assert_array_equal(g, [[0, 0, 0], [0, 0, 11.0]])
    g = pb.grad(lambda x: pnp.sum(x[:, [0, 0]]))(np.zeros((2, 2)))
    np.testing.assert_array_equal(g, [[2.0, 0.0], [2.0, 0.0]])


def test_boolean_mask_index_gradient():
    x = np.array([[1.0, -2.0], [-3.0, 4.0]])
    g = pb.grad(lambda x: pnp.sum(x[x > 0] ** 2))(x)
    np.testing.assert_array_equal(g, [[2.0, 0.0], [0.0, 8.0]])
    assert pb.grad(lambda x: pnp.sum(x[x > 100]))(x).shape == (2, 2)


def test_negative_step_slice_gradient():
    g = pb.grad(lambda x: pnp.sum(x[::-2] * np.array([1.0, 2.0])))(np.zeros(4))
    np.testing.assert_array_equal(g, [0.0, 2.0, 0.0, 1.0])


def test_products_known_gradients(rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    ga, gb = pb.grad(lambda a, b: pnp.sum(a @ b), argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga, np.ones((2, 4)) @ b.T)
    np.testing.assert_allclose(gb, a.T @ np.ones((2, 4)))
    u, v = rng.standard_normal(3), rng.standard_normal(3)
    np.testing.assert_allclose(pb.grad(pnp.dot)(u, v), v)
    np.testing.assert_allclose(pb.grad(pnp.inner, argnums=1)(u, v), u)
    np.testing.assert_allclose(pb.grad(lambda u: pnp.sum(pnp.outer(u, v)))(u), np.full(3, v.sum()))
    z, w = rng.standard_normal(3) + 1j, rng.standard_normal(3) - 2j
    np.testing.assert_allclose(pb.vjp(pnp.vdot, z, w)[1](1.0 + 0j)[1], np.conj(z))


# ============================================================================ complex conventions


def test_complex_gradients_follow_jax_convention():
    # grad of a real f(x + iy) is ∂f/∂x − i ∂f/∂y
    assert pb.grad(lambda z: pnp.abs(z) ** 2)(3 + 4j) == pytest.approx(6 - 8j)
    assert pb.grad(pnp.abs)(3 + 4j) == pytest.approx(0.6 - 0.8j)
    assert pb.grad(pnp.real)(3 + 4j) == 1.0
    assert pb.grad(pnp.imag)(3 + 4j) == -1j
    assert pb.grad(lambda z: pnp.real(z * pnp.conj(z)))(3 + 4j) == pytest.approx(6 - 8j)
    assert pb.grad(lambda z: pnp.real(z**2))(1 + 2j) == pytest.approx(2 + 4j)
    g = pb.grad(lambda z: pnp.sum(pnp.abs(z) ** 2))(np.array([3 + 4j, 1 - 1j]))
    np.testing.assert_allclose(g, [6 - 8j, 2 + 2j])


def test_holomorphic_vjp_and_jvp_multiply_by_the_complex_derivative():
    z = 0.3 + 0.4j
    out, vjp_fn = pb.vjp(pnp.exp, z)
    assert out == pytest.approx(np.exp(z))
    assert vjp_fn(1.0 + 0j)[0] == pytest.approx(np.exp(z))
    assert pb.jvp(pnp.sin, (z,), (1j,))[1] == pytest.approx(1j * np.cos(z))
    assert pb.vjp(lambda z: z**3, z)[1](2.0 + 0j)[0] == pytest.approx(6 * z**2)


def test_real_function_of_complex_then_real_input_gradient_is_real():
    g = pb.grad(lambda x: pnp.sum(pnp.real(x * (1 + 2j))))(np.array([2.0, 3.0]))
    assert g.dtype == np.float64
    np.testing.assert_array_equal(g, [1.0, 1.0])
    g = pb.grad(lambda x: pnp.imag(x * (1 + 2j)) ** 2)(2.0)
    assert g == pytest.approx(16.0)


def test_complex64_gradient_stays_complex64():
    g = pb.grad(lambda z: pnp.sum(pnp.abs(pnp.exp(z))))(np.array([0.5 + 1j], np.complex64))
    assert g.dtype == np.complex64


# ============================================================================ dtypes

FLOAT32_FUNCS = {
    "sin": lambda x: pnp.sum(pnp.sin(x) * 2.0),
    "mean": lambda x: pnp.mean(x**2),
    "var": lambda x: pnp.var(x, axis=0).sum(),
    "std": lambda x: pnp.std(x),
    "max": lambda x: pnp.max(x, axis=-1).sum(),
    "maximum": lambda x: pnp.sum(pnp.maximum(x, 0.1)),
    "power": lambda x: pnp.sum(pnp.abs(x) ** 2.5),
    "arctan2": lambda x: pnp.sum(pnp.arctan2(x, 1.0)),
    "hypot": lambda x: pnp.sum(pnp.hypot(x, 2.0)),
    "matmul": lambda x: pnp.sum(pnp.tanh(x @ x.T)),
    "tensordot": lambda x: pnp.tensordot(x, x, axes=2),
    "getitem": lambda x: pnp.sum(x[[0, 0], ::-1]),
    "where": lambda x: pnp.sum(pnp.where(x > 0, x, -2 * x)),
    "concatenate": lambda x: pnp.sum(pnp.concatenate([x, x * x], axis=1) ** 2),
    "stack": lambda x: pnp.sum(pnp.stack([x, x]) ** 2),
    "np-scalars": lambda x: pnp.sum(np.float32(2.0) * x + x * np.float32(0.5)),
    "np-float64-scalar": lambda x: pnp.sum(x * np.float64(3.0)),
    "reshape-transpose": lambda x: pnp.sum(x.reshape(-1).T ** 3),
}


@pytest.mark.parametrize("name", sorted(FLOAT32_FUNCS))
def test_float32_gradient_stays_float32_and_matches_float64(name, rng):
    f = FLOAT32_FUNCS[name]
    x = rng.uniform(0.5, 2.0, (2, 3)) * np.array([1.0, -1.0, 1.0])
    x32 = x.astype(np.float32)
    g32 = pb.grad(f)(x32)
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, pb.grad(f)(x), rtol=2e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(UNARY_DOMAINS))
def test_float32_unary_value_and_tangent_stay_float32(name):
    x = UNARY_DOMAINS[name](3).astype(np.float32)
    f = getattr(pnp, name)
    assert f(x).dtype == np.float32
    out, t = pb.jvp(f, (x,), (np.ones(3, np.float32),))
    assert out.dtype == np.float32 and t.dtype == np.float32


def test_float32_scalar_gradient_is_float32():
    g = pb.grad(lambda x: pnp.sin(x) * 2.0)(np.float32(1.0))
    assert g.dtype == np.float32


def test_float32_hessian_stays_float32():
    h = pb.hessian(lambda x: pnp.sum(pnp.sin(x) ** 3))(np.ones(3, np.float32))
    assert h.dtype == np.float32


def test_astype_to_float_is_differentiable_and_to_int_is_constant():
    x = np.array([2.5, -3.5])
    g = pb.grad(lambda x: pnp.sum(x.astype(np.float32) ** 2))(x)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, 2 * x)
    g = pb.grad(lambda x: pnp.sum(x.astype(int) * x))(x)
    np.testing.assert_array_equal(g, [2.0, -3.0])
    assert pnp.astype(np.array([1.7]), np.int64).dtype == np.int64
    # a traced complex value cast to float keeps its real part; the gradient is real-part-only, JAX's way
    out, vjp_fn = pb.vjp(lambda z: pnp.astype(z, np.float64), np.array([1 + 2j, 3 - 1j]))
    np.testing.assert_array_equal(out, [1.0, 3.0])
    np.testing.assert_array_equal(vjp_fn(np.array([1.0, 2.0]))[0], [1.0 + 0j, 2.0 + 0j])


def test_integer_and_boolean_values_follow_numpy_dtypes():
    assert pnp.add(np.arange(3), 1).dtype == np.add(np.arange(3), 1).dtype
    assert pnp.divide(np.arange(3), 2).dtype == np.float64
    assert pnp.mean(np.arange(4)) == 1.5
    assert pnp.sum(np.array([True, True, False])) == 2
    assert pnp.sum(np.ones(3, np.float32), dtype=np.float64).dtype == np.float64
    assert pnp.var(np.arange(4)).dtype == np.float64
    assert pnp.sin(np.ones(2), dtype=np.float32).dtype == np.float32


# ============================================================================ reductions on random axes


@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3), st.data())
@FAST
def test_reductions_on_random_axes(shape, data):
    nd = len(shape)
    axis = data.draw(st.one_of(
        st.none(), st.integers(-nd, nd - 1),
        st.lists(st.integers(0, nd - 1), unique=True, min_size=1).map(tuple),
    ))
    keepdims = data.draw(st.booleans())
    name = data.draw(st.sampled_from(["sum", "mean", "max", "min", "var", "std"]))
    x = np.random.default_rng(1).standard_normal(shape)
    f = lambda x: getattr(pnp, name)(x, axis=axis, keepdims=keepdims)  # noqa: E731
    _assert_same(f(x), getattr(np, name)(x, axis=axis, keepdims=keepdims))
    check_grads(f, [x], order=1)


@given(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3), st.data())
@FAST
def test_reshape_and_transpose_on_random_shapes(shape, data):
    x = np.random.default_rng(2).standard_normal(shape)
    perm = data.draw(st.permutations(range(len(shape))))
    new = data.draw(st.sampled_from([(-1,), (x.size,), (1, -1) if x.size else (1, 0), shape[::-1] or ()]))
    f = lambda x: pnp.reshape(pnp.transpose(x, perm), new)  # noqa: E731
    _assert_same(f(x), np.reshape(np.transpose(x, perm), new))
    check_grads(f, [x], order=1)


@given(hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=3), st.data())
@FAST
def test_moveaxis_and_swapaxes_match_numpy(shape, data):
    nd = len(shape)
    k = data.draw(st.integers(1, nd))
    src = data.draw(st.lists(st.integers(-nd, nd - 1), min_size=k, max_size=k, unique_by=lambda a: a % nd))
    dst = data.draw(st.lists(st.integers(-nd, nd - 1), min_size=k, max_size=k, unique_by=lambda a: a % nd))
    i, j = data.draw(st.integers(-nd, nd - 1)), data.draw(st.integers(-nd, nd - 1))
    x = np.random.default_rng(3).standard_normal(shape)
    _assert_same(pnp.moveaxis(x, src, dst), np.moveaxis(x, src, dst))
    _assert_same(pnp.swapaxes(x, i, j), np.swapaxes(x, i, j))
    check_grads(lambda x: pnp.moveaxis(x, src, dst), [x], order=1)


@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=0, max_side=3),
       st.sampled_from(["add", "subtract", "multiply", "divide", "maximum", "minimum", "hypot", "arctan2"]))
@FAST
def test_binary_functions_on_random_broadcast_shapes(shapes, name):
    rng = np.random.default_rng(4)
    x = rng.uniform(0.5, 2.0, shapes.input_shapes[0])
    y = rng.uniform(0.5, 2.0, shapes.input_shapes[1]) * -1.0
    f = getattr(pnp, name)
    _assert_same(f(x, y), getattr(np, name)(x, y))
    check_grads(f, [x, y], order=1)


@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4).flatmap(
    lambda s: st.tuples(st.just(s), hnp.basic_indices(s, allow_newaxis=True, allow_ellipsis=True))))
@FAST
def test_basic_indexing_on_random_shapes(case):
    shape, idx = case
    x = np.random.default_rng(5).standard_normal(shape)
    f = lambda x: x[idx]  # noqa: E731
    out, _ = pb.vjp(f, x)
    _assert_same(out, x[idx])
    check_grads(f, [x], order=1)


# ============================================================================ traced values behave like ndarray


def test_operators_on_traced_values(rng):
    W = rng.standard_normal((3, 2))
    x = rng.standard_normal((4, 3))

    def f(x):
        y = x @ W + 1.0
        y = 2.0 * y - y / 3.0 + (-y) ** 2 + abs(y) + (+y)
        y = 1.0 - y
        y = 2.0 / (y * y + 1.0) + 2.0 ** (y / 10)
        return pnp.sum(y[1:3] * y.T.T[1:3])

    def f_np(x):
        y = x @ W + 1.0
        y = 2.0 * y - y / 3.0 + (-y) ** 2 + abs(y) + (+y)
        y = 1.0 - y
        y = 2.0 / (y * y + 1.0) + 2.0 ** (y / 10)
        return np.sum(y[1:3] * y.T.T[1:3])

    out, _ = pb.vjp(f, x)
    assert out == pytest.approx(f_np(x))
    check_grads(f, [x], order=2)


def test_attributes_of_traced_values():
    seen = {}

    def f(x):
        seen.update(shape=x.shape, ndim=x.ndim, size=x.size, len=len(x), dtype=x.dtype, T=x.T.shape, mT=x.mT.shape,
                    nshape=pnp.shape(x), nndim=pnp.ndim(x), nsize=pnp.size(x), nsize1=pnp.size(x, 1))
        return pnp.sum(x)

    pb.grad(f)(np.ones((2, 3)))
    assert seen == dict(shape=(2, 3), ndim=2, size=6, len=2, dtype=np.float64, T=(3, 2), mT=(3, 2),
                        nshape=(2, 3), nndim=2, nsize=6, nsize1=3)


def test_numpy_shape_functions_on_traced_values():
    seen = {}

    def f(x):
        seen.update(shape=np.shape(x), ndim=np.ndim(x), size=np.size(x))
        return pnp.sum(x)

    pb.grad(f)(np.ones((2, 3)))
    assert seen == dict(shape=(2, 3), ndim=2, size=6)


METHODS = {
    "sum": (lambda x: x.sum(axis=0), lambda x: x.sum(axis=0)),
    "sum-pos-axis": (lambda x: x.sum(-1), lambda x: x.sum(-1)),
    "mean": (lambda x: x.mean(axis=(0, 1), keepdims=True), lambda x: x.mean(axis=(0, 1), keepdims=True)),
    "max": (lambda x: x.max(axis=-1), lambda x: x.max(axis=-1)),
    "min": (lambda x: x.min(), lambda x: x.min()),
    "var": (lambda x: x.var(axis=0), lambda x: x.var(axis=0)),
    "std": (lambda x: x.std(ddof=1), lambda x: x.std(ddof=1)),
    "reshape-args": (lambda x: x.reshape(3, -1), lambda x: x.reshape(3, -1)),
    "reshape-tuple": (lambda x: x.reshape((-1,)), lambda x: x.reshape((-1,))),
    "transpose-args": (lambda x: x.transpose(1, 0), lambda x: x.transpose(1, 0)),
    "transpose-none": (lambda x: x.transpose(), lambda x: x.transpose()),
    "ravel": (lambda x: x.ravel(), lambda x: x.ravel()),
    "flatten": (lambda x: x.flatten(), lambda x: x.flatten()),
    "squeeze": (lambda x: x[None].squeeze(), lambda x: x[None].squeeze()),
    "swapaxes": (lambda x: x.swapaxes(0, 1), lambda x: x.swapaxes(0, 1)),
    "dot": (lambda x: x.dot(x.T), lambda x: x.dot(x.T)),
    "astype": (lambda x: x.astype(np.complex128) ** 2, lambda x: x.astype(np.complex128) ** 2),
    "iter": (lambda x: pnp.stack([r * i for i, r in enumerate(x)]),
             lambda x: np.stack([r * i for i, r in enumerate(x)])),
}


@pytest.mark.parametrize("name", sorted(METHODS))
def test_ndarray_methods_on_traced_values(name, rng):
    f, f_np = METHODS[name]
    x = rng.standard_normal((2, 3))
    out, _ = pb.vjp(f, x)
    _assert_same(out, f_np(x))
    check_grads(f, [x], order=2)


def test_complex_methods_and_attributes_on_traced_values(rng):
    z = cnormal(3)
    f = lambda z: z.real * z.imag + z.conj() * z.conjugate()  # noqa: E731
    out, _ = pb.vjp(f, z)
    _assert_same(out, z.real * z.imag + z.conj() * z.conjugate())
    check_grads(f, [z], order=2)


def test_plain_ndarray_and_numpy_scalars_on_the_left(rng):
    a = rng.standard_normal(3)
    M = rng.standard_normal((2, 3))
    x = rng.uniform(0.5, 2.0, 3)

    def f(x):
        return (a * x + a - x + a / x + M @ x @ np.ones(2)
                + np.float64(2.0) * x + x * np.float64(3.0) + np.float32(0.5) - x + x ** np.float64(2.0)
                + np.abs(a) ** x + np.float64(2.0) ** x)

    out, _ = pb.vjp(f, x)
    np.testing.assert_allclose(out, f(x))
    check_grads(f, [x], order=2)
    g = pb.grad(lambda x: pnp.sum(a * x))(x)
    np.testing.assert_array_equal(g, a)
    g = pb.grad(lambda x: pnp.sum(M @ x))(x)
    np.testing.assert_allclose(g, M.sum(axis=0))


def test_comparisons_on_traced_values_give_plain_booleans():
    def f(x):
        masks = [x < 1, x <= 1, x > 1, x >= 1, x == 1, x != 1]
        assert all(isinstance(m, np.ndarray) and m.dtype == bool for m in masks)
        return pnp.sum(pnp.where(masks[0] | masks[4], x, 2 * x))

    np.testing.assert_array_equal(pb.grad(f)(np.array([0.0, 1.0, 2.0])), [1.0, 1.0, 2.0])


def test_python_control_flow_on_traced_values():
    f = lambda x: x * 2 if x > 0 else x * 3  # noqa: E731
    assert pb.grad(f)(1.0) == 2.0
    assert pb.grad(f)(-1.0) == 3.0


def test_numpy_ufunc_reduce_on_traced_values():
    x = np.array([[1.0, 5.0], [3.0, 2.0]])
    np.testing.assert_array_equal(pb.grad(lambda x: pnp.sum(np.add.reduce(x, axis=0)))(x), np.ones((2, 2)))
    np.testing.assert_array_equal(pb.grad(lambda x: pnp.sum(np.maximum.reduce(x, axis=1)))(x), [[0, 1], [1, 0]])


def test_array_and_asarray_stack_lists_of_traced_values(rng):
    x = rng.standard_normal(3)
    f = lambda x: pnp.array([[x[0], 1.0], [x[1] * 2, x[2]]])  # noqa: E731
    out, _ = pb.vjp(f, x)
    _assert_same(out, np.array([[x[0], 1.0], [x[1] * 2, x[2]]]))
    check_grads(f, [x], order=2)
    check_grads(lambda x: pnp.asarray([x[0], x[1] ** 2]), [x], order=2)
    check_grads(lambda x: pnp.array(x, ndmin=3), [x], order=2)
    assert pb.vjp(lambda x: pnp.array(x, ndmin=3), x)[0].shape == (1, 1, 3)
    g = pb.grad(lambda x: pnp.sum(pnp.asarray(x, dtype=np.float32)))(x)
    np.testing.assert_array_equal(g, np.ones(3))
    _assert_same(pnp.array([[1.0, 2.0]], ndmin=3), np.array([[1.0, 2.0]], ndmin=3))
    _assert_same(pnp.asarray([1, 2]), np.asarray([1, 2]))


def test_like_constructors_carry_no_derivative_except_a_traced_fill(rng):
    x = rng.standard_normal((2, 3))

    def f(x):
        for make in (pnp.zeros_like, pnp.ones_like, pnp.empty_like):
            c = make(x)
            assert isinstance(c, np.ndarray) and c.shape == (2, 3) and c.dtype == np.float64
        assert pnp.zeros_like(x, dtype=np.float32).dtype == np.float32
        assert np.zeros_like(x).shape == (2, 3)  # numpy's own, dispatched
        return pnp.sum(pnp.ones_like(x) * x + pnp.zeros_like(x) + pnp.full_like(x, 2.0) * x)

    np.testing.assert_array_equal(pb.grad(f)(x), np.full((2, 3), 3.0))
    np.testing.assert_array_equal(pnp.full_like(np.ones(2), 7.0), [7.0, 7.0])
    g = pb.grad(lambda s: pnp.sum(pnp.full_like(np.ones((2, 2)), s)))(1.5)
    assert g == 4.0


ARRAY_LIKE_CALLS = {
    "sum": lambda m: m.sum([[1.0, 2.0], [3.0, 4.0]], axis=0),
    "mean": lambda m: m.mean([1, 2]),
    "var": lambda m: m.var([1.0, 2.0, 4.0], ddof=1),
    "std": lambda m: m.std([1.0, 2.0, 4.0]),
    "max": lambda m: m.max([1, 5, 2]),
    "min": lambda m: m.min((1.0, -5.0)),
    "sin": lambda m: m.sin([0.5, 1.0]),
    "add": lambda m: m.add([1.0], 2),
    "reshape": lambda m: m.reshape([1, 2], (2, 1)),
    "transpose": lambda m: m.transpose([[1, 2]]),
    "concatenate": lambda m: m.concatenate([[1, 2], [3.0]]),
    "stack": lambda m: m.stack([[1, 2], [3, 4]], axis=1),
    "matmul": lambda m: m.matmul([[1, 2]], [1, 2]),
    "dot": lambda m: m.dot([1, 2], [3, 4]),
    "vdot": lambda m: m.vdot([1j, 2], [1j, 3]),
    "inner": lambda m: m.inner([1, 2], [3, 4]),
    "outer": lambda m: m.outer([1, 2], [3, 4]),
    "tensordot": lambda m: m.tensordot([[1, 2]], [[3, 4]]),
    "where": lambda m: m.where([True, False], [1, 2], [3, 4]),
    "sum-scalar": lambda m: m.sum(3.0),
    "exp-scalar": lambda m: m.exp(1.0),
}


@pytest.mark.parametrize("name", sorted(ARRAY_LIKE_CALLS))
def test_lists_and_python_scalars_are_accepted_like_numpy(name):
    call = ARRAY_LIKE_CALLS[name]
    _assert_same(call(pnp), call(np))


def test_reductions_of_lists_of_traced_values():
    assert pb.grad(lambda x: pnp.sum([x, 2 * x]))(1.0) == 3.0
    assert pb.grad(lambda x: pnp.max([x, 2 * x, 0.5]))(1.0) == 2.0
    assert pb.grad(lambda x: pnp.mean([x, 2 * x]))(1.0) == 1.5


def test_atleast_1d_with_several_arrays():
    a, b = pnp.atleast_1d(1.0, np.ones((2, 2)))
    assert a.shape == (1,) and b.shape == (2, 2)


@pytest.mark.parametrize("name", ["sum", "max", "min"])
def test_0d_reductions_with_axis_match_numpy(name):
    x = np.float64(2.0)
    f = getattr(pnp, name)
    _assert_same(f(x, axis=0), getattr(np, name)(x, axis=0))
    _assert_same(f(x, axis=-1), getattr(np, name)(x, axis=-1))
    assert pb.grad(lambda x: f(x, axis=0))(x) == 1.0


# ============================================================================ clear errors


def test_out_argument_is_refused_clearly():
    with pytest.raises(UnsupportedFunctionError, match="out="):
        pb.grad(lambda x: pnp.sum(pnp.sin(x, out=np.empty(2))))(np.ones(2))
    with pytest.raises(UnsupportedFunctionError, match="out="):
        pb.grad(lambda x: pnp.sum(np.sin(x, out=np.empty(2))))(np.ones(2))
    with pytest.raises(UnsupportedFunctionError):
        pnp.sum(np.ones(2), out=np.empty(()))


def test_numpy_function_without_derivative_raises_instead_of_dropping_it():
    with pytest.raises(UnsupportedFunctionError, match="interp"):
        pb.grad(lambda x: pnp.sum(np.interp(x, np.arange(2.0), np.arange(2.0))))(np.ones(2))
    with pytest.raises(UnsupportedFunctionError):
        pb.grad(lambda x: pnp.sum(np.add.accumulate(x)))(np.ones(2))
    with pytest.raises(PullbackError):
        pb.grad(lambda x: pnp.sum(pnp.interp(x, np.arange(2.0), np.arange(2.0))))(np.ones(2))  # numpy's refuses
    with pytest.raises(TracerConversionError):
        pb.grad(lambda x: np.asarray(x))(1.0)
    np.testing.assert_array_equal(pnp.interp([0.5], [0, 1], [0, 2]), [1.0])  # fallback works on plain arrays


def test_shape_errors_match_numpy():
    with pytest.raises(ValueError):
        pnp.reshape(np.ones(6), (4, -1))
    with pytest.raises(ValueError):
        pnp.squeeze(np.ones((2, 1)), axis=0)
    with pytest.raises(ValueError):
        pnp.stack([np.ones(2), np.ones(3)])
    with pytest.raises(ValueError):
        pb.grad(lambda x: pnp.sum(pnp.concatenate([x, x])))(1.0)
    with pytest.raises(ValueError):
        pnp.matmul(np.ones(2), 1.0)
    with pytest.raises(np.exceptions.AxisError):
        pnp.sum(np.ones((2, 3)), axis=2)
    with pytest.raises(ValueError):
        pnp.sum(np.ones((2, 3)), axis=(0, -2))


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError):
        pnp.definitely_not_a_numpy_function  # noqa: B018


# ============================================================================ coverage


DEDICATED = {
    # tested by name in the dedicated tests above
    "shape", "ndim", "size", "zeros_like", "ones_like", "full_like", "empty_like", "array", "asarray",
    # comparisons, logical and piecewise-constant functions: below
    "less", "less_equal", "greater", "greater_equal", "equal", "not_equal", "logical_and", "logical_or",
    "logical_xor", "logical_not", "sign", "floor", "ceil", "rint", "trunc", "isnan", "isinf", "isfinite", "signbit",
}

NONDIFF_BINARY = ["less", "less_equal", "greater", "greater_equal", "equal", "not_equal", "logical_and",
                  "logical_or", "logical_xor"]
NONDIFF_UNARY = ["sign", "floor", "ceil", "rint", "trunc", "isnan", "isinf", "isfinite", "signbit", "logical_not"]


@pytest.mark.parametrize("name", NONDIFF_BINARY)
def test_comparison_functions_match_numpy_and_carry_no_derivative(name):
    x, y = np.array([[0.0], [1.0], [2.0]]), np.array([1.0, 0.0])
    _assert_same(getattr(pnp, name)(x, y), getattr(np, name)(x, y))
    g = pb.grad(lambda x: pnp.sum(pnp.where(getattr(pnp, name)(x, y), x, 3 * x)))(x)
    np.testing.assert_array_equal(g, np.where(getattr(np, name)(x, y), 1.0, 3.0).sum(axis=1, keepdims=True))
    g = pb.grad(lambda x: pnp.sum(pnp.where(getattr(np, name)(x, y), x, 3 * x)))(x)  # numpy's, dispatched
    np.testing.assert_array_equal(g, np.where(getattr(np, name)(x, y), 1.0, 3.0).sum(axis=1, keepdims=True))


@pytest.mark.parametrize("name", NONDIFF_UNARY)
def test_piecewise_constant_functions_match_numpy_and_carry_no_derivative(name):
    x = np.array([-1.5, -0.0, 0.5, 2.5, np.inf, np.nan])
    with np.errstate(invalid="ignore"):
        _assert_same(getattr(pnp, name)(x), getattr(np, name)(x))
    y = np.array([-1.5, 0.5, 2.5])
    expected = getattr(np, name)(y).astype(float)
    for f in (getattr(pnp, name), getattr(np, name)):  # ours, and numpy's dispatched to ours
        g = pb.grad(lambda y, f=f: pnp.sum(f(y) * y))(y)
        np.testing.assert_array_equal(g, expected)
        _, t = pb.jvp(lambda y, f=f: f(y) * 1.0, (y,), (np.ones(3),))
        np.testing.assert_array_equal(t, np.zeros(3))


def _own_functions():
    return {
        n for n in pnp.__all__
        if callable(getattr(pnp, n)) and getattr(getattr(pnp, n), "__module__", "").startswith("pullback")
    }


def _named_in_other_test_files() -> set:
    """Names other test files exercise: `pnp.NAME` / `np.NAME` calls and quoted names in their tables."""
    import pathlib
    import re

    names: set = set()
    for path in pathlib.Path(__file__).parent.glob("test_*.py"):
        if path.name == pathlib.Path(__file__).name:
            continue
        text = path.read_text(encoding="utf-8")
        names |= set(re.findall(r"\bpnp\.(\w+)", text)) | set(re.findall(r"[\"'](\w+)[\"']", text))
    return names


def test_every_pullback_numpy_function_is_tested():
    covered = {c.name for c in CASES} | DEDICATED | _named_in_other_test_files()
    missing = _own_functions() - covered
    assert not missing, f"pullback.numpy functions without tests: {sorted(missing)}"
