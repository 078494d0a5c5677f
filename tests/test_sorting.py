"""Sorting, order statistics and cumulative functions: sort, partition, unique, searchsorted, cumsum,
cumprod (exact with zeros), diff, median, quantile/percentile (every method, derivative in q), and
their NaN-ignoring versions; and the primitives behind them (cumsum, cumprod, permute_along_axis,
linear_recurrence).

The CASES table drives the common checks, as in tests/test_numpy_layer.py: values equal NumPy's
(bitwise for order statistics, which NumPy computes with the same formula), check_grads to second
order (third for a sample), and numpy's own functions on traced values dispatch here.
"""

from __future__ import annotations

import functools

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pullback as pb
import pullback.numpy as pnp
from cases import Case, Family, family_tests
from cases import assert_same as _assert_same
from pullback.core.ir import ShapeDtype
from pullback.core.trace import Tracer
from pullback.errors import PullbackError, TracerConversionError, UnsupportedFunctionError
from pullback.primitives import sorting as so
from pullback.testing import check_grads

pytestmark = [
    pytest.mark.filterwarnings("error::RuntimeWarning"),
    pytest.mark.filterwarnings("error::numpy.exceptions.ComplexWarning"),
]

FAST = settings(max_examples=10, deadline=None, derandomize=True)
R = np.random.default_rng(11)


def normal(*shape):
    return R.standard_normal(shape)


def cnormal(*shape):
    return R.standard_normal(shape) + 1j * R.standard_normal(shape)


def zeros_in(*shape):
    x = R.uniform(0.5, 2.0, shape) * R.choice([-1.0, 1.0], shape)
    x.flat[1::3] = 0.0
    return x


def with_nans(*shape):
    x = R.standard_normal(shape)
    x.flat[::5] = np.nan
    return x


QS = np.array([0.0, 0.1, 0.5, 0.75, 1.0])
METHODS = ["inverted_cdf", "averaged_inverted_cdf", "closest_observation", "interpolated_inverted_cdf", "hazen",
           "weibull", "linear", "median_unbiased", "normal_unbiased", "lower", "higher", "midpoint", "nearest"]

CASES: list[Case] = [
    Case("sort", lambda m, x: m.sort(x), (normal(3, 5),), order3=True, exact=True),
    Case("sort", lambda m, x: m.sort(x, axis=0), (normal(3, 5),), id="sort-axis0", exact=True),
    Case("sort", lambda m, x: m.sort(x, axis=None), (normal(3, 2),), id="sort-flat", exact=True),
    Case("sort", lambda m, z: m.sort(z), (cnormal(6),), id="sort-complex", exact=True),
    Case("sort", lambda m, x: m.sort(x, axis=-2), (normal(2, 0, 3),), id="sort-size0", exact=True),
    Case("sort_complex", lambda m, x: m.sort_complex(x), (normal(5),), exact=True),
    Case("partition", lambda m, x: m.partition(x, 2)[..., 2], (normal(2, 5),), exact=True),
    Case("partition", lambda m, x: m.partition(x, (0, 3), axis=0)[[0, 3]], (normal(5, 2),), id="partition-kths"),
    Case("unique", lambda m, x: m.unique(x), (np.array([3.0, 1.0, 3.0, 2.0, 1.0]),), exact=True, grads=False),
    Case("unique", lambda m, x: m.unique(x), (normal(2, 3),), id="unique-distinct", exact=True),
    Case("unique", lambda m, x: m.unique(x, axis=0), (np.array([[1.0, 2.0], [0.5, 1.0], [1.0, 2.0]]),),
         id="unique-rows", exact=True, grads=False),
    Case("unique", lambda m, x: m.unique(x, axis=-1), (normal(2, 3),), id="unique-columns", exact=True),
    Case("cumsum", lambda m, x: m.cumsum(x, axis=1), (normal(3, 4),), order3=True, exact=True),
    Case("cumsum", lambda m, x: m.cumsum(x), (normal(3, 4),), id="cumsum-flat", exact=True),
    Case("cumsum", lambda m, z: m.cumsum(z, axis=-1), (cnormal(2, 3),), id="cumsum-complex", exact=True),
    Case("cumsum", lambda m, x: m.cumsum(x, axis=0, dtype=np.complex128), (normal(3),), id="cumsum-dtype",
         exact=True),
    Case("cumprod", lambda m, x: m.cumprod(x, axis=-1), (normal(2, 5),), order3=True, exact=True),
    Case("cumprod", lambda m, x: m.cumprod(x), (zeros_in(2, 4),), id="cumprod-zeros", order3=True, exact=True),
    Case("cumprod", lambda m, x: m.cumprod(x, axis=0), (zeros_in(9, 2),), id="cumprod-zeros-long", exact=True),
    Case("cumprod", lambda m, z: m.cumprod(z, axis=0), (cnormal(4, 2),), id="cumprod-complex", exact=True),
    Case("cumprod", lambda m, x: m.cumprod(x, axis=1), (normal(2, 0),), id="cumprod-size0", exact=True),
    Case("cumprod", lambda m, x: m.cumprod(x), (np.float64(1.5),), id="cumprod-0d", exact=True),
    Case("cumulative_sum", lambda m, x: m.cumulative_sum(x, axis=0, include_initial=True), (normal(3, 2),),
         exact=True),
    Case("cumulative_prod", lambda m, x: m.cumulative_prod(x, include_initial=True), (zeros_in(5),), exact=True),
    Case("nancumsum", lambda m, x: m.nancumsum(x, axis=1), (with_nans(3, 4),), exact=True),
    Case("nancumprod", lambda m, x: m.nancumprod(x), (with_nans(2, 3),), exact=True),
    Case("diff", lambda m, x: m.diff(x), (normal(3, 4),), exact=True),
    Case("diff", lambda m, x: m.diff(x, n=3, axis=0), (normal(5, 2),), id="diff-n3", exact=True),
    Case("diff", lambda m, x, p: m.diff(x, axis=-1, prepend=p, append=0.5), (normal(2, 3), normal(2, 1)),
         id="diff-prepend-append", exact=True),
    Case("diff", lambda m, x: m.diff(x, n=5), (normal(2, 3),), id="diff-too-many", exact=True),
    Case("ediff1d", lambda m, x: m.ediff1d(x), (normal(2, 3),), exact=True),
    Case("ediff1d", lambda m, x, b: m.ediff1d(x, to_begin=b, to_end=[1.0, 2.0]), (normal(4), normal(2)),
         id="ediff1d-ends", exact=True),
    Case("median", lambda m, x: m.median(x), (normal(3, 5),), order3=True, exact=True),
    Case("median", lambda m, x: m.median(x, axis=1), (normal(3, 4),), id="median-even", exact=True),
    Case("median", lambda m, x: m.median(x, axis=(0, 2), keepdims=True), (normal(3, 2, 5),), id="median-axes",
         exact=True),
    Case("median", lambda m, x: m.median(x, axis=-1), (normal(2, 1),), id="median-size1", exact=True),
    Case("nanmedian", lambda m, x: m.nanmedian(x, axis=0), (with_nans(5, 3),), exact=True),
    Case("nanmedian", lambda m, x: m.nanmedian(x), (with_nans(4, 3),), id="nanmedian-flat", exact=True),
    Case("quantile", lambda m, x: m.quantile(x, 0.3), (normal(10),), order3=True, exact=True),
    Case("quantile", lambda m, x: m.quantile(x, QS, axis=-1, keepdims=True), (normal(2, 7),), id="quantile-qs",
         exact=True),
    Case("quantile", lambda m, x, q: m.quantile(x, q, axis=0), (normal(6, 2), np.array([0.15, 0.83])),
         id="quantile-traced-q", order3=True, exact=True),
    Case("percentile", lambda m, x: m.percentile(x, [10.0, 55.0], axis=(0, 1)), (normal(3, 4, 2),), exact=True),
    Case("percentile", lambda m, x, q: m.percentile(x, q), (normal(7), np.float64(35.0)), id="percentile-traced-q",
         exact=True),
    Case("nanquantile", lambda m, x: m.nanquantile(x, [0.2, 0.9], axis=1), (with_nans(3, 6),), exact=True),
    Case("nanpercentile", lambda m, x, q: m.nanpercentile(x, q, axis=0), (with_nans(6, 3), np.float64(40.0)),
         exact=True),
    Case("gradient", lambda m, x: m.gradient(x), (normal(3, 5),), order3=True, exact=True),
    Case("gradient", lambda m, x: m.gradient(x, 0.5, axis=-1, edge_order=2), (normal(3, 4),), id="gradient-edge2",
         exact=True),
    Case("gradient", lambda m, x: m.gradient(x, np.array([0.0, 0.5, 1.5, 2.0, 4.0]), edge_order=2), (normal(5),),
         id="gradient-positions", exact=True),
    Case("gradient", lambda m, x: m.gradient(x, 2.0, np.array([0.0, 1.0, 3.0]), edge_order=1), (normal(2, 3),),
         id="gradient-mixed", exact=True),
    Case("trapezoid", lambda m, y: m.trapezoid(y), (normal(3, 4),), exact=True),
    Case("trapezoid", lambda m, y, x: m.trapezoid(y, x=x, axis=0), (normal(4, 2), normal(4)), id="trapezoid-x",
         order3=True, exact=True),
    Case("trapezoid", lambda m, y, x: m.trapezoid(y, x=x), (normal(2, 4), normal(2, 4)), id="trapezoid-x-2d",
         exact=True),
    Case("unwrap", lambda m, p: m.unwrap(p * 4.0), (normal(2, 6),), exact=True),
    Case("unwrap", lambda m, p: m.unwrap(p * 4.0, axis=0, period=3.0, discont=2.0), (normal(6, 2),),
         id="unwrap-period", exact=True),
    Case("unique_values", lambda m, x: m.unique_values(x), (normal(2, 3),), exact=True),
    Case("unique_counts", lambda m, x: m.unique_counts(x).values, (normal(5),), exact=True),
    Case("unique_inverse", lambda m, x: m.unique_inverse(x)[0], (normal(2, 2),), exact=True),
    Case("unique_all", lambda m, x: m.unique_all(x).values, (normal(4),), exact=True),
]
for _method in METHODS:
    CASES.append(Case("quantile", functools.partial(lambda m, x, method: m.quantile(x, QS, axis=0, method=method),
                                                    method=_method), (normal(7, 2),), id=f"quantile-{_method}",
                      exact=True))
    CASES.append(Case("quantile", functools.partial(lambda m, x, q, method: m.quantile(x, q, method=method),
                                                    method=_method), (normal(8), np.array([0.33, 0.61])),
                      id=f"quantile-traced-q-{_method}", exact=True))

# Under vmap these need each example's own value (the output's shape, a NaN count or the quantile
# positions depend on it), and say so; unwrap cannot be staged at all.
VMAP_NEEDS_VALUES = {
    "unique", "unique-distinct", "unique-rows", "unique-columns", "unique_values", "unique_counts", "unique_inverse",
    "unique_all", "nanmedian", "nanmedian-flat", "nanquantile", "nanpercentile", "quantile-traced-q",
    "percentile-traced-q",
}
for _case in CASES:
    if _case.id in VMAP_NEEDS_VALUES or _case.id.startswith("quantile-traced-q-"):
        _case.vmap = TracerConversionError
    elif _case.name == "unwrap":
        _case.vmap = UnsupportedFunctionError

assert_same = functools.partial(_assert_same, exact=False, rtol=1e-12, atol=1e-14)

FAMILY = Family(np, pnp, exact=False, rtol=1e-12, atol=1e-14)
(test_value_matches_numpy, test_traced_primal_output_matches_numpy, test_derivatives_to_second_order,
 test_derivatives_to_third_order, test_numpy_function_on_traced_value_dispatches_here,
 test_vmap_of_each_case_equals_the_loop) = family_tests(FAMILY, CASES)


# ============================================================================ known derivative values


def test_sort_gradient_is_the_inverse_permutation_of_the_cotangent():
    x = np.array([3.0, 1.0, 2.0, 0.0])
    w = np.array([1.0, 10.0, 100.0, 1000.0])
    np.testing.assert_array_equal(pb.grad(lambda x: pnp.sum(pnp.sort(x) * w))(x), [1000.0, 10.0, 100.0, 1.0])
    _, t = pb.jvp(pnp.sort, (x,), (w,))
    np.testing.assert_array_equal(t, [1000.0, 10.0, 100.0, 1.0])


def test_unique_values_take_the_derivative_of_the_first_occurrence():
    x = np.array([3.0, 1.0, 3.0, 2.0, 1.0])
    np.testing.assert_array_equal(pb.jacrev(pnp.unique)(x), [[0, 1, 0, 0, 0], [0, 0, 0, 1, 0], [1, 0, 0, 0, 0]])
    values, inverse = pb.vjp(lambda x: pnp.unique(x, return_inverse=True), x)[0]
    np.testing.assert_array_equal(values, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(inverse, np.unique(x, return_inverse=True)[1])


def test_unique_family_values_take_their_first_occurrence():
    x = np.array([[2.0, 1.0], [2.0, np.nan]])
    for fn in (pnp.unique_values, pnp.unique_counts, pnp.unique_all, pnp.unique_inverse):
        def f(x, fn=fn):
            r = fn(x)
            return pnp.nansum((r if isinstance(r, Tracer) else r[0]) * np.array([1.0, 10.0, 100.0]))

        np.testing.assert_array_equal(pb.grad(f)(x), [[10.0, 1.0], [0.0, 0.0]])


def test_gradient_trapezoid_and_unwrap_known_derivatives():
    g = pb.jacrev(pnp.gradient)(np.zeros(4))
    np.testing.assert_array_equal(g, [[-1, 1, 0, 0], [-0.5, 0, 0.5, 0], [0, -0.5, 0, 0.5], [0, 0, -1, 1]])
    np.testing.assert_array_equal(pb.grad(pnp.trapezoid)(np.zeros(4)), [0.5, 1.0, 1.0, 0.5])
    x = np.array([0.0, 1.0, 3.0])
    np.testing.assert_array_equal(pb.grad(lambda x: pnp.trapezoid(np.array([1.0, 2.0, 4.0]), x))(x),
                                  [-1.5, -1.5, 3.0])  # ∂/∂xᵢ of Σ (xᵢ₊₁ − xᵢ)(yᵢ + yᵢ₊₁)/2
    p = np.array([0.0, 3.0, 6.5, 0.2])
    np.testing.assert_array_equal(pb.jacfwd(pnp.unwrap)(p), np.eye(4))


def test_sort_ties_follow_the_stable_order():
    x = np.array([2.0, 1.0, 2.0])
    np.testing.assert_array_equal(pb.jacrev(pnp.sort)(x), [[0, 1, 0], [1, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(pb.jacfwd(pnp.sort)(x), [[0, 1, 0], [1, 0, 0], [0, 0, 1]])


def test_in_place_sort_of_a_traced_array_rebinds_it():
    w = np.array([1.0, 2.0, 3.0])

    def f(x):
        y = x * 1.0
        alias = y
        assert y.sort() is None
        return pnp.sum(alias * w)  # the alias sees the sorted values, as with an ndarray

    x = np.array([5.0, -1.0, 2.0])
    assert pb.value_and_grad(f)(x)[0] == np.sum(np.sort(x) * w)
    np.testing.assert_array_equal(pb.grad(f)(x), [3.0, 1.0, 2.0])

    def g(x):
        y = x * 1.0
        y.partition(1)
        return y[1]

    np.testing.assert_array_equal(pb.grad(g)(x), [0.0, 0.0, 1.0])


def test_median_gives_half_to_each_middle_entry():
    np.testing.assert_array_equal(pb.grad(pnp.median)(np.array([4.0, 1.0, 3.0, 2.0])), [0.0, 0.0, 0.5, 0.5])
    np.testing.assert_array_equal(pb.grad(pnp.median)(np.array([4.0, 1.0, 3.0])), [0.0, 0.0, 1.0])


def test_quantile_derivatives_in_data_and_in_q():
    x = np.array([3.0, 0.0, 1.0, 2.0])  # sorted: 0 1 2 3; q = 0.3 → virtual index 0.9
    np.testing.assert_allclose(pb.grad(lambda x: pnp.quantile(x, 0.3))(x), [0.0, 0.1, 0.9, 0.0])
    assert pb.grad(lambda q: pnp.quantile(x, q))(0.3) == pytest.approx(3.0)  # (b − a)·(n − 1)
    assert pb.grad(lambda q: pnp.percentile(x, q))(30.0) == pytest.approx(0.03)
    assert pb.grad(lambda q: pnp.quantile(x, q, method="hazen"))(0.3) == pytest.approx(4.0)  # (b − a)·n
    for method in ("lower", "higher", "nearest", "midpoint", "inverted_cdf"):
        assert pb.grad(lambda q, m=method: pnp.quantile(x, q, method=m))(0.3) == 0.0


def test_cumsum_gradient_is_the_reversed_running_sum():
    np.testing.assert_array_equal(pb.grad(lambda x: pnp.sum(pnp.cumsum(x) * np.array([1.0, 2.0, 3.0])))(
        np.zeros(3)), [6.0, 5.0, 3.0])


def test_cumprod_jacobian_with_several_zeros_is_exact():
    x = np.array([2.0, 0.0, 3.0, 0.0, 5.0])
    y = np.cumprod(x)
    expected = np.zeros((5, 5))
    for i in range(5):
        for j in range(i + 1):
            expected[i, j] = np.prod(np.delete(x[:i + 1], j))
    np.testing.assert_array_equal(pb.jacrev(pnp.cumprod)(x), expected)
    np.testing.assert_array_equal(pb.jacfwd(pnp.cumprod)(x), expected)
    # second derivative of the last entry: ∂²y₄/∂x₁∂x₃ = x₀x₂x₄ = 30, every other pair gives 0
    h = pb.hessian(lambda x: pnp.cumprod(x)[-1])(x)
    assert h[1, 3] == h[3, 1] == 30.0 and np.count_nonzero(h) == 2
    assert y[-1] == 0.0


def test_float32_and_complex_keep_their_dtypes():
    x = np.array([[0.5, 0.0, 2.0], [1.5, -1.0, 3.0]], np.float32)
    for f in (lambda x: pnp.sum(pnp.sort(x, axis=0) ** 2), lambda x: pnp.sum(pnp.cumprod(x, axis=1)),
              lambda x: pnp.median(x), lambda x: pnp.quantile(x, 0.4), lambda x: pnp.sum(pnp.diff(x) ** 2),
              lambda x: pnp.sum(pnp.cumsum(x) ** 2)):
        g = pb.grad(f)(x)
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, pb.grad(f)(x.astype(np.float64)), rtol=1e-4, atol=1e-5)
    z = np.array([1 + 1j, 0.0, 2 - 1j])
    out, vjp_fn = pb.vjp(pnp.cumprod, z)
    ct = np.array([1.0, 1j, 2.0])
    expected = [ct[0] + ct[1] * z[1] + ct[2] * z[1] * z[2], ct[1] * z[0] + ct[2] * z[0] * z[2], ct[2] * z[0] * z[1]]
    np.testing.assert_allclose(vjp_fn(ct)[0], expected)  # holomorphic: no conjugation


# ============================================================================ no derivative


def test_index_valued_functions_match_numpy_and_carry_no_derivative():
    x = normal(3, 5)
    calls = {
        "argsort": lambda m, x: m.argsort(x, axis=0),
        "argsort-flat": lambda m, x: m.argsort(x, axis=None),
        "argpartition": lambda m, x: m.argpartition(x, 2)[:, 2],
        "searchsorted": lambda m, x: m.searchsorted(np.sort(x[0]) if m is np else m.sort(x[0]), x[1:], side="right"),
        "searchsorted-sorter": lambda m, x: m.searchsorted(x[0], x[1], sorter=np.argsort(x[0])),
        "unique-index": lambda m, x: m.unique(np.round(x), return_index=True, return_counts=True)[1:],
        "unique_all-index": lambda m, x: tuple(m.unique_all(np.round(x)))[1:],
        "lexsort": lambda m, x: m.lexsort((x[0], np.round(x[1]))),
        "lexsort-2d": lambda m, x: m.lexsort(np.round(x[:2] * 2), axis=0),
    }
    for call in calls.values():
        expected = call(np, x)
        seen = {}

        def f(x, call=call, seen=seen):
            seen["r"] = call(pnp, x)
            return pnp.sum(x)

        np.testing.assert_array_equal(pb.grad(f)(x), np.ones_like(x))
        assert_same(seen["r"], expected, exact=True)
        assert_same(call(pnp, x), expected, exact=True)


def test_methods_of_traced_values():
    x = normal(3, 4)
    calls = {
        "cumsum": lambda x: x.cumsum(axis=0), "cumprod": lambda x: x.cumprod(), "argsort": lambda x: x.argsort() * x,
        "argpartition": lambda x: x.argpartition(1, axis=0) * x,
        "searchsorted": lambda x: x[0].searchsorted(np.array([0.0, 1.0])) * x[0, :2],
    }
    for f in calls.values():
        def plain(x, f=f):
            y = x.copy()
            return f(y)

        assert_same(pb.vjp(f, x)[0], plain(x))
        check_grads(f, [x], order=1)


# ============================================================================ dtypes, warnings, errors


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, bool, np.float16, np.float32])
def test_result_dtypes_follow_numpy(dtype):
    x = (np.arange(1, 13).reshape(3, 4) % 5).astype(dtype)
    calls = [lambda m: m.cumsum(x, axis=0), lambda m: m.cumprod(x), lambda m: m.sort(x),
             lambda m: m.median(x, axis=1), lambda m: m.cumulative_sum(x, axis=1), lambda m: m.diff(x)]
    if dtype is not bool:
        calls += [lambda m: m.quantile(x, 0.5, axis=0), lambda m: m.percentile(x, [10, 90]),
                  lambda m: m.nanquantile(x, 0.3), lambda m: m.ediff1d(x)]
    for call in calls:
        assert_same(call(pnp), call(np), exact=True)
        if np.dtype(dtype).kind == "f":
            assert_same(pb.vjp(lambda x, call=call: call(pnp), x)[0], call(np), exact=True)


def test_all_nan_slices_warn_and_give_nan():
    x = np.array([[np.nan, np.nan, np.nan], [1.0, np.nan, 3.0]])
    for call in (lambda m, x: m.nanmedian(x, axis=1), lambda m, x: m.nanquantile(x, 0.5, axis=1)):
        with pytest.warns(RuntimeWarning, match="All-NaN slice"):
            np.testing.assert_array_equal(call(pnp, x), [np.nan, 2.0])
        with pytest.warns(RuntimeWarning, match="All-NaN slice"):
            g = pb.grad(lambda x, call=call: pnp.nansum(call(pnp, x)))(x)
        np.testing.assert_array_equal(g, [[0, 0, 0], [0.5, 0, 0.5]])
    y = np.array([[1.0, np.nan, 0.5], [2.0, 3.0, 1.0]])
    np.testing.assert_array_equal(pnp.median(y, axis=1), [np.nan, 2.0])
    np.testing.assert_array_equal(pb.grad(lambda y: pnp.nansum(pnp.median(y, axis=1)))(y), [[0, 0, 0], [1, 0, 0]])


def test_errors_match_numpy_and_unsupported_options_are_refused():
    with pytest.raises(UnsupportedFunctionError, match="out="):
        pb.grad(lambda x: pnp.sum(np.cumsum(x, out=np.empty(2))))(np.ones(2))
    with pytest.raises(UnsupportedFunctionError, match="order="):
        pb.grad(lambda x: pnp.sum(pnp.sort(x, order="f")))(np.ones(2))
    with pytest.raises(UnsupportedFunctionError, match="weights"):
        pb.grad(lambda x: pnp.quantile(x, 0.5, method="inverted_cdf", weights=np.ones(3)))(np.ones(3))
    assert pnp.quantile(np.arange(4.0), 0.5, method="inverted_cdf", weights=np.ones(4)) == 1.0  # plain: NumPy's
    with pytest.raises(ValueError, match="range"):
        pb.grad(lambda x: pnp.quantile(x, 1.5))(np.ones(3))
    with pytest.raises(ValueError, match="range"):
        pnp.percentile(pb.stop_gradient(np.ones(3)), -1.0)
    with pytest.raises(ValueError, match="not a valid method"):
        pb.grad(lambda x: pnp.quantile(x, 0.5, method="cubic"))(np.ones(3))
    with pytest.raises(TypeError, match="real numbers"):
        pb.grad(lambda x: pnp.abs(pnp.quantile(x * 1j, 0.5)))(np.ones(3))
    with pytest.raises(ValueError, match="at least one dimensional"):
        pb.grad(lambda x: pnp.diff(x))(1.0)
    with pytest.raises(ValueError, match="non-negative"):
        pnp.diff(np.ones(3), n=-1)
    with pytest.raises(np.exceptions.AxisError):
        pb.grad(lambda x: pnp.sum(pnp.sort(x, axis=1)))(np.ones(3))
    with pytest.raises(ValueError, match="axis must be specified"):
        pnp.cumulative_sum(np.ones((2, 2)))
    with pytest.raises(PullbackError):  # unique's size depends on the values: it cannot be staged
        pb.jit(lambda x: pnp.sum(pnp.unique(x)))(np.ones(3))


# ============================================================================ random shapes and axes


@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4), st.data())
@FAST
def test_sort_and_cumulative_functions_on_random_shapes(shape, data):
    nd = len(shape)
    axis = data.draw(st.integers(-nd, nd - 1))
    name = data.draw(st.sampled_from(["sort", "cumsum", "cumprod", "diff"]))
    x = np.random.default_rng(5).standard_normal(shape)
    f = lambda x: getattr(pnp, name)(x, axis=axis)  # noqa: E731
    assert_same(f(x), getattr(np, name)(x, axis=axis), exact=True)
    assert_same(pb.vjp(f, x)[0], getattr(np, name)(x, axis=axis), exact=True)
    check_grads(f, [x], order=1)


@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), st.data())
@FAST
def test_order_statistics_on_random_shapes(shape, data):
    nd = len(shape)
    axis = data.draw(st.one_of(st.none(), st.integers(-nd, nd - 1),
                               st.lists(st.integers(0, nd - 1), unique=True, min_size=1).map(tuple)))
    keepdims = data.draw(st.booleans())
    method = data.draw(st.sampled_from(METHODS))
    x = np.random.default_rng(6).standard_normal(shape)
    for f, ref in ((lambda x: pnp.median(x, axis=axis, keepdims=keepdims), np.median(x, axis=axis, keepdims=keepdims)),
                   (lambda x: pnp.quantile(x, [0.25, 0.6], axis=axis, keepdims=keepdims, method=method),
                    np.quantile(x, [0.25, 0.6], axis=axis, keepdims=keepdims, method=method))):
        assert_same(pb.vjp(f, x)[0], ref, exact=True)
        check_grads(f, [x], order=1)


# ============================================================================ the primitives themselves


def _abstract(a):
    return ShapeDtype(np.shape(a), np.asarray(a).dtype) if isinstance(a, (np.ndarray, np.generic)) else a


PERM = np.argsort(normal(3, 4), axis=1)
SHAPE_CASES = [
    (so.cumsum, (normal(2, 3),), {"axis": 1, "reverse": False}),
    (so.cumsum, (np.arange(6, dtype=np.int8),), {"axis": 0, "reverse": True}),
    (so.cumsum, (np.ones(3, bool),), {"axis": 0, "reverse": False}),
    (so.cumprod, (normal(2, 3).astype(np.float32),), {"axis": 0, "reverse": True}),
    (so.cumprod, (cnormal(4),), {"axis": 0, "reverse": False}),
    (so.permute_along_axis, (normal(3, 4), PERM), {"axis": 1}),
    (so.invert_permutation, (PERM,), {"axis": 1}),
    (so.argsort, (normal(3, 4),), {"axis": 0, "kind": "stable"}),
    (so.argpartition, (normal(3, 4),), {"kth": (0, 2), "axis": 1}),
    (so.searchsorted, (np.arange(5.0), normal(2, 3)), {"side": "left"}),
]


@pytest.mark.parametrize("prim, args, params", SHAPE_CASES,
                         ids=[f"{p.name}-{i}" for i, (p, _, _) in enumerate(SHAPE_CASES)])
def test_shape_rule_agrees_with_implementation(prim, args, params):
    out = prim.impl(*args, **params)
    shape, dtype = prim.shape(*[_abstract(a) for a in args], **params)
    assert tuple(shape) == np.shape(out)
    assert np.dtype(dtype) == np.asarray(out).dtype


LINEAR = {
    "cumsum": lambda x: so.cumsum(x, axis=0, reverse=True),
    "permute_along_axis": lambda x: so.permute_along_axis(x, np.argsort(np.arange(12.0).reshape(3, 4) % 5, axis=0),
                                                          axis=0),
}


@pytest.mark.parametrize("name", sorted(LINEAR))
def test_linear_primitives_are_linear_and_transpose_correctly(name, rng):
    f = LINEAR[name]
    x1, x2 = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    np.testing.assert_allclose(f(1.5 * x1 - 2.0 * x2), 1.5 * f(x1) - 2.0 * f(x2), rtol=1e-12, atol=1e-12)
    assert getattr(so, name).linear
    transpose = pb.linear_transpose(f, x1)
    u = rng.standard_normal((3, 4))
    assert np.sum(u * f(x1)) == pytest.approx(np.sum(transpose(u)[0] * x1))


def test_nondifferentiable_primitives_are_marked_so():
    for p in (so.argsort, so.argpartition, so.invert_permutation, so.argmax, so.argmin, so.reduce_any,
              so.reduce_all, so.count_nonzero, so.searchsorted):
        assert not p.differentiable, p.name
    for p in (so.cumsum, so.cumprod, so.reduce_prod, so.permute_along_axis):
        assert p.differentiable, p.name


@pytest.mark.parametrize("reverse", [False, True])
def test_linear_recurrence_matches_a_loop_and_is_exact_with_zeros(reverse, rng):
    a = rng.standard_normal((7, 2))
    a[2, 0] = a[5, 1] = 0.0
    b = rng.standard_normal((7, 2))
    expected = np.zeros_like(b)
    acc = np.zeros(2)
    for i in (range(6, -1, -1) if reverse else range(7)):
        acc = a[i] * acc + b[i]
        expected[i] = acc
    np.testing.assert_allclose(so.linear_recurrence(a, b, axis=0, reverse=reverse), expected, rtol=1e-13)
    check_grads(lambda a, b: so.linear_recurrence(a, b, axis=0, reverse=reverse), [a, b], order=2)


def test_sorting_and_cumulative_functions_stage_under_jit():
    x = normal(4, 3)
    x[1, 1] = 0.0
    fs = [lambda x: pnp.sum(pnp.cumprod(x, axis=0) ** 2), lambda x: pnp.sum(pnp.sort(x, axis=0) * x),
          lambda x: pnp.sum(pnp.median(x, axis=1)) + pnp.quantile(x, 0.3),
          lambda x: pnp.sum(pnp.diff(pnp.cumsum(x), n=2) ** 2)]
    for f in fs:
        np.testing.assert_allclose(pb.jit(f)(x), f(x), rtol=1e-13)
        np.testing.assert_allclose(pb.jit(pb.grad(f))(x), pb.grad(f)(x), rtol=1e-13)
    np.testing.assert_allclose(pb.jit(pb.hessian(lambda x: pnp.cumprod(x)[-1]))(x[:, 0]),
                               pb.hessian(lambda x: pnp.cumprod(x)[-1])(x[:, 0]), rtol=1e-13)


BATCHED = {
    "sort": lambda x: pnp.sort(x, axis=0), "argsort": lambda x: pnp.argsort(x), "cumsum": lambda x: pnp.cumsum(x),
    "cumprod": lambda x: pnp.cumprod(x, axis=-1), "partition": lambda x: pnp.partition(x, 1, axis=0),
    "argpartition": lambda x: pnp.argpartition(x, (0, 1)), "median": lambda x: pnp.median(x, axis=1),
    "quantile": lambda x: pnp.quantile(x, [0.3, 0.9], axis=0), "diff": lambda x: pnp.diff(x, axis=0),
}


@pytest.mark.parametrize("name", sorted(BATCHED))
def test_vmap_matches_a_loop_over_examples(name):
    f = BATCHED[name]
    xs = normal(4, 3, 2)
    assert_same(pb.vmap(f)(xs), np.stack([f(x) for x in xs]), exact=True)
    g = lambda x: pnp.sum(f(x) * 1.5)  # noqa: E731
    if np.asarray(f(xs[0])).dtype.kind == "f":
        np.testing.assert_array_equal(pb.vmap(pb.grad(g))(xs), np.stack([pb.grad(g)(x) for x in xs]))
