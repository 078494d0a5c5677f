"""Reductions beyond sum/mean/max: prod (exact with zeros), ptp, average, trace, var/std with where=,
the NaN-ignoring family, and the boolean/integer reductions (any, all, count_nonzero, argmax ...).

One table (CASES) drives the common checks: the value equals NumPy's (same shape and dtype), the
primal output under vjp/jvp too, derivatives pass check_grads (finite differences and the
dot-product test) to second order (third for a sample), and numpy's own function called on a traced
value reaches ours. Known derivative values, zeros in prod, dtypes, errors and warnings follow.
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
from pullback.errors import UnsupportedFunctionError
from pullback.primitives import sorting as so
from pullback.testing import check_grads

pytestmark = [
    pytest.mark.filterwarnings("error::RuntimeWarning"),
    pytest.mark.filterwarnings("error::numpy.exceptions.ComplexWarning"),
]

FAST = settings(max_examples=10, deadline=None, derandomize=True)
R = np.random.default_rng(7)


def normal(*shape):
    return R.standard_normal(shape)


def cnormal(*shape):
    return R.standard_normal(shape) + 1j * R.standard_normal(shape)


def with_nans(*shape):
    x = R.standard_normal(shape)
    x.flat[::5] = np.nan  # every slice of the cases below keeps at least two numbers
    return x


def axis_cases(name, args, axes, **kw):
    out = []
    for axis in axes:
        for keep in (False, True):
            out.append(Case(name, functools.partial(
                lambda m, *a, n, axis, keep: getattr(m, n)(*a, axis=axis, keepdims=keep), n=name, axis=axis, keep=keep),
                args, id=f"{name}-axis={axis}-keepdims={keep}", order3=kw.get("order3") == (axis, keep)))
    return out


WHERE = np.array([True, False, True, True])
WHERE2D = np.array([[True, False, True, True], [False, True, True, False], [True, True, False, True]])
W = np.array([[0.5, 2.0, 1.0, 3.0], [1.0, 1.0, 0.25, 2.0], [2.0, 0.5, 1.0, 1.0]])

CASES: list[Case] = []
CASES += axis_cases("prod", (normal(2, 3, 4),), (None, 0, -1, (0, 2), ()), order3=((0, 2), False))
CASES += axis_cases("ptp", (normal(2, 3, 4),), (None, 1, (-1, 0)))
CASES += axis_cases("nansum", (with_nans(2, 3, 4),), (None, -1, (0, 1)))
CASES += axis_cases("nanprod", (with_nans(2, 3, 4),), (None, 1))
CASES += axis_cases("nanmean", (with_nans(2, 3, 4),), (None, -1, (0, 2)))
CASES += axis_cases("nanvar", (with_nans(2, 3, 4),), (None, 1, (0, 2)))
CASES += axis_cases("nanstd", (with_nans(2, 3, 4),), (None, (0, 1)))
CASES += axis_cases("nanmax", (with_nans(2, 3, 4),), (None, -1, (0, 1)))
CASES += axis_cases("nanmin", (with_nans(2, 3, 4),), (None, 2))
CASES += [
    Case("prod", lambda m, x: m.prod(x, axis=1, where=WHERE, initial=2.0), (normal(3, 4),), id="prod-where-initial"),
    Case("prod", lambda m, x: m.prod(x, axis=0, dtype=np.complex128), (normal(3, 2),), id="prod-dtype"),
    Case("prod", lambda m, z: m.prod(z, axis=-1), (cnormal(2, 3),), id="prod-complex", order3=True),
    Case("prod", lambda m, x: m.prod(x, axis=1), (normal(3, 0),), id="prod-size0"),
    Case("prod", lambda m, x: m.prod(x), (np.float64(1.5),), id="prod-0d"),
    Case("prod", lambda m, x: m.prod(x, axis=0), (np.array([[0.0, 2.0], [0.0, 0.0], [3.0, 1.5]]),),
         id="prod-zeros", order3=True),
    Case("ptp", lambda m, x: m.ptp(x, axis=0, keepdims=True), (normal(3, 2),), id="ptp-2d"),
    Case("average", lambda m, x: m.average(x), (normal(3, 4),)),
    Case("average", lambda m, x: m.average(x, axis=-1, keepdims=True), (normal(3, 4),), id="average-keepdims"),
    Case("average", lambda m, x, w: m.average(x, weights=w), (normal(3, 4), W), id="average-weights", order3=True),
    Case("average", lambda m, x, w: m.average(x, axis=1, weights=w), (normal(3, 4), W[0]), id="average-1d-weights"),
    Case("average", lambda m, x, w: m.average(x, axis=(1, 0), weights=w), (normal(3, 4, 2), W.T),
         id="average-axes-weights"),
    Case("average", lambda m, x, w: m.average(x, axis=0, weights=w, returned=True), (normal(3, 4), W),
         id="average-returned"),
    Case("average", lambda m, x: m.average(x, axis=0, returned=True), (normal(3, 4),), id="average-returned-count"),
    Case("trace", lambda m, x: m.trace(x), (normal(3, 4),), order3=True),
    Case("trace", lambda m, x: m.trace(x, offset=1), (normal(3, 4),), id="trace-offset"),
    Case("trace", lambda m, x: m.trace(x, offset=-2, axis1=2, axis2=0), (normal(3, 2, 4),), id="trace-axes"),
    Case("trace", lambda m, x: m.trace(x, offset=9), (normal(3, 4),), id="trace-empty"),
    Case("trace", lambda m, z: m.trace(z, axis1=-1, axis2=-2), (cnormal(2, 3, 3),), id="trace-complex"),
    Case("var", lambda m, x: m.var(x, axis=-1, where=WHERE), (normal(3, 4),), id="var-where"),
    Case("std", lambda m, x: m.std(x, axis=(0, 1), where=WHERE, ddof=1, keepdims=True), (normal(3, 4),),
         id="std-where"),
    Case("var", lambda m, x: m.var(x, axis=0, correction=1), (normal(3, 4),), id="var-correction"),
    Case("var", lambda m, x, mu: m.var(x, axis=0, mean=mu), (normal(3, 4), normal(1, 4)), id="var-given-mean",
         dispatch=False),
    Case("mean", lambda m, x: m.mean(x, axis=0, where=WHERE2D), (normal(3, 4),), id="mean-where-columns"),
    Case("nanmean", lambda m, z: m.nanmean(z, axis=0), (cnormal(3, 2) * np.array([[1, np.nan], [1, 1], [1, 1]]),),
         id="nanmean-complex"),
    Case("nanvar", lambda m, x: m.nanvar(x, axis=1, ddof=1), (with_nans(2, 5),), id="nanvar-ddof"),
    Case("nanmax", lambda m, x: m.nanmax(x, axis=1, initial=-5.0), (with_nans(3, 4),), id="nanmax-initial"),
    Case("nansum", lambda m, x: m.nansum(x, axis=0), (normal(3, 2),), id="nansum-no-nan"),
    Case("nanmean", lambda m, x: m.nanmean(x, axis=-1, where=WHERE), (with_nans(3, 4),), id="nanmean-where"),
    Case("cov", lambda m, x: m.cov(x), (normal(3, 5),), order3=True),
    Case("cov", lambda m, x: m.cov(x, rowvar=False, bias=True), (normal(5, 2),), id="cov-columns-bias"),
    Case("cov", lambda m, x, y: m.cov(x, y), (normal(5), normal(2, 5)), id="cov-y"),
    Case("cov", lambda m, x: m.cov(x, aweights=W[0] * 2, ddof=2), (normal(2, 4),), id="cov-aweights"),
    Case("cov", lambda m, x: m.cov(x, fweights=np.array([1, 3, 2, 1]), aweights=W[1]), (normal(3, 4),),
         id="cov-fweights"),
    Case("cov", lambda m, x: m.cov(x), (normal(6),), id="cov-1d"),
    Case("cov", lambda m, z: m.cov(z), (cnormal(2, 4),), id="cov-complex"),
    Case("corrcoef", lambda m, x: m.corrcoef(x), (normal(3, 5),), order3=True),
    Case("corrcoef", lambda m, x, y: m.corrcoef(x, y, rowvar=False), (normal(5, 2), normal(5)), id="corrcoef-y"),
    Case("corrcoef", lambda m, z: m.corrcoef(z), (cnormal(2, 4),), id="corrcoef-complex"),
    Case("bincount", lambda m, w: m.bincount(np.array([0, 2, 2, 4, 1, 2]), weights=w), (normal(6),)),
    Case("bincount", lambda m, w: m.bincount(np.array([3, 0, 3]), w, minlength=6), (normal(3),),
         id="bincount-minlength"),
]

assert_same = functools.partial(_assert_same, exact=False, rtol=1e-12, atol=1e-14)

FAMILY = Family(np, pnp, exact=False, rtol=1e-12, atol=1e-14)
(test_value_matches_numpy, test_traced_primal_output_matches_numpy, test_derivatives_to_second_order,
 test_derivatives_to_third_order, test_numpy_function_on_traced_value_dispatches_here,
 test_vmap_of_each_case_equals_the_loop) = family_tests(FAMILY, CASES)


# ============================================================================ prod with zeros


def test_prod_gradient_is_product_of_the_others_with_one_zero():
    x = np.array([2.0, 0.0, 3.0, -1.5])
    np.testing.assert_array_equal(pb.grad(pnp.prod)(x), [0.0, -9.0, 0.0, 0.0])


def test_prod_gradient_and_hessian_with_two_zeros():
    x = np.array([0.0, 2.0, 0.0, 3.0])
    np.testing.assert_array_equal(pb.grad(pnp.prod)(x), np.zeros(4))
    h = pb.hessian(pnp.prod)(x)
    expected = np.zeros((4, 4))
    expected[0, 2] = expected[2, 0] = 6.0  # ∂²/∂x₀∂x₂ = x₁x₃
    np.testing.assert_array_equal(h, expected)
    # third derivatives: ∂³/∂x₀∂x₂∂x₁ = x₃ = 3
    t3 = pb.jacfwd(pb.hessian(pnp.prod))(x)
    assert t3[0, 2, 1] == 3.0 and t3[0, 1, 2] == 3.0 and t3[1, 1, 1] == 0.0


def test_prod_with_three_zeros_has_zero_derivatives_up_to_second_order():
    x = np.array([0.0, 0.0, 5.0, 0.0])
    np.testing.assert_array_equal(pb.grad(pnp.prod)(x), np.zeros(4))
    np.testing.assert_array_equal(pb.hessian(pnp.prod)(x), np.zeros((4, 4)))
    t3 = pb.jacfwd(pb.hessian(pnp.prod))(x)
    assert t3[0, 1, 3] == 5.0 and np.count_nonzero(t3) == 6  # the 3! orderings of (0, 1, 3)


def test_prod_gradient_without_zeros_matches_prod_over_x(rng):
    x = rng.uniform(0.5, 2.0, (3, 4))
    np.testing.assert_allclose(pb.grad(lambda x: pnp.sum(pnp.prod(x, axis=1)))(x),
                               np.prod(x, axis=1, keepdims=True) / x, rtol=1e-13)


def test_prod_float32_and_integer_inputs():
    x = np.array([1.5, 0.0, 2.0], np.float32)
    g = pb.grad(pnp.prod)(x)
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, [0.0, 3.0, 0.0])
    assert_same(pnp.prod(np.array([2, 3], np.int8)), np.prod(np.array([2, 3], np.int8)), exact=True)
    assert_same(pnp.prod(np.array([True, True])), np.prod(np.array([True, True])), exact=True)
    assert_same(pnp.prod(np.ones(3, np.float32), initial=np.float64(2.0)), np.float32(2.0), exact=True)


# ============================================================================ known derivative values


def test_ptp_gradient_is_argmax_minus_argmin_with_ties_shared():
    np.testing.assert_array_equal(pb.grad(pnp.ptp)(np.array([1.0, 4.0, -2.0])), [0.0, 1.0, -1.0])
    np.testing.assert_array_equal(pb.grad(pnp.ptp)(np.array([4.0, 4.0, -2.0, -2.0])), [0.5, 0.5, -0.5, -0.5])


def test_average_gradients_in_values_and_weights():
    x, w = np.array([1.0, 2.0, 4.0]), np.array([1.0, 1.0, 2.0])
    gx, gw = pb.grad(lambda x, w: pnp.average(x, weights=w), argnums=(0, 1))(x, w)
    np.testing.assert_allclose(gx, w / w.sum())
    np.testing.assert_allclose(gw, (x - np.average(x, weights=w)) / w.sum())


def test_cov_and_corrcoef_known_gradients():
    x = np.array([[1.0, 2.0, 4.0], [0.0, 1.0, -1.0]])
    # d/dx Σᵢⱼ cov = d/dx Σₖ (Σᵢ xᵢₖ − mean)² / (n − 1): each entry gets 2 (row sums − their mean) / 2
    s = x.sum(axis=0)
    g = pb.grad(lambda x: pnp.sum(pnp.cov(x)))(x)
    np.testing.assert_allclose(g, np.broadcast_to(s - s.mean(), x.shape), rtol=1e-13)
    # a correlation is invariant under scaling one variable: its gradient is orthogonal to that variable
    g = pb.grad(lambda x: pnp.corrcoef(x)[0, 1])(x)
    assert np.dot(g[0], x[0]) == pytest.approx(0.0, abs=1e-12)
    assert np.dot(g[1], x[1]) == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_array_equal(pb.grad(lambda w: pnp.sum(pnp.bincount(np.array([1, 1, 0]), w) * [1.0, 5.0]))(
        np.ones(3)), [5.0, 5.0, 1.0])


def test_trace_gradient_is_the_identity_pattern():
    np.testing.assert_array_equal(pb.grad(pnp.trace)(np.zeros((3, 4))), np.eye(3, 4))
    np.testing.assert_array_equal(pb.grad(lambda x: pnp.trace(x, offset=-1))(np.zeros((3, 3))), np.eye(3, k=-1))


def test_var_with_where_gradient_is_zero_outside_the_mask():
    x = np.array([[1.0, 5.0, 2.0, 4.0]])
    g = pb.grad(lambda x: pnp.sum(pnp.var(x, axis=1, where=WHERE)))(x)
    sel = x[0, WHERE]
    expected = np.zeros(4)
    expected[WHERE] = 2 * (sel - sel.mean()) / 3
    np.testing.assert_allclose(g[0], expected)


def test_nan_functions_give_no_derivative_to_nans():
    x = np.array([1.0, np.nan, 3.0, 6.0])
    np.testing.assert_array_equal(pb.grad(pnp.nansum)(x), [1.0, 0.0, 1.0, 1.0])
    np.testing.assert_allclose(pb.grad(pnp.nanmean)(x), [1 / 3, 0.0, 1 / 3, 1 / 3])
    np.testing.assert_array_equal(pb.grad(pnp.nanmax)(x), [0.0, 0.0, 0.0, 1.0])
    np.testing.assert_array_equal(pb.grad(pnp.nanprod)(x), [18.0, 0.0, 6.0, 3.0])
    np.testing.assert_allclose(pb.grad(pnp.nanvar)(x), [2 * (1 - 10 / 3) / 3, 0.0, 2 * (3 - 10 / 3) / 3,
                                                        2 * (6 - 10 / 3) / 3])


def test_float32_gradients_stay_float32():
    x = np.array([[1.0, 2.5, -1.0], [0.5, 3.0, 2.0]], np.float32)
    for f in (lambda x: pnp.prod(x, axis=0).sum(), lambda x: pnp.ptp(x), lambda x: pnp.average(x, weights=x * x),
              lambda x: pnp.trace(x), lambda x: pnp.nanvar(x), lambda x: pnp.nanmax(x, axis=1).sum(),
              lambda x: pnp.var(x, where=x > 0)):
        g = pb.grad(f)(x)
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, pb.grad(f)(x.astype(np.float64)), rtol=1e-4, atol=1e-5)


# ============================================================================ no derivative: booleans and indices

INDEX_CALLS = {
    "digitize": lambda m, x: m.digitize(x, np.array([-1.0, 0.0, 0.5])),
    "digitize-decreasing": lambda m, x: m.digitize(x, np.array([1.0, 0.0, -0.5]), right=True),
    "bincount-counts": lambda m, x: m.bincount(np.array([0, 3, 3]), minlength=2) + 0 * m.sum(x > 9),
    "any": lambda m, x: m.any(x > 0.5, axis=1),
    "any-where": lambda m, x: m.any(x > 0.5, axis=-1, where=WHERE, keepdims=True),
    "all": lambda m, x: m.all(x > -1.0),
    "all-axes": lambda m, x: m.all(x, axis=(0, 1)),
    "count_nonzero": lambda m, x: m.count_nonzero(x > 0, axis=0),
    "count_nonzero-all": lambda m, x: m.count_nonzero(x > 0),
    "argmax": lambda m, x: m.argmax(x),
    "argmax-axis": lambda m, x: m.argmax(x, axis=-1, keepdims=True),
    "argmin": lambda m, x: m.argmin(x, axis=0),
    "nanargmax": lambda m, x: m.nanargmax(np.where(x > 1.5, np.nan, x), axis=1),
    "nanargmin": lambda m, x: m.nanargmin(np.where(x > 1.5, np.nan, x)),
}


@pytest.mark.parametrize("name", sorted(INDEX_CALLS))
def test_index_and_boolean_reductions_match_numpy_and_carry_no_derivative(name):
    call = INDEX_CALLS[name]
    x = normal(3, 4)
    expected = call(np, x)
    assert_same(call(pnp, x), expected, exact=True)
    seen = {}

    def f(x):
        r = call(pnp, x)
        seen["r"] = r
        assert not isinstance(r, pb.core.trace.Tracer)
        return pnp.sum(x * 2.0) + pnp.sum(r)

    np.testing.assert_array_equal(pb.grad(f)(x), np.full((3, 4), 2.0))
    assert_same(seen["r"], expected, exact=True)
    _, t = pb.jvp(lambda x: call(np, x) * 1.0, (x,), (np.ones((3, 4)),))  # numpy's own, dispatched
    np.testing.assert_array_equal(t, np.zeros(np.shape(expected)))


def test_methods_of_traced_values():
    x = normal(3, 4)
    calls = {
        "prod": lambda x: x.prod(axis=1), "argmax": lambda x: x.argmax(axis=0) * 1.0 + x[0],
        "argmin": lambda x: x.argmin() * 1.0 + x, "any": lambda x: x.any(axis=0) * x,
        "all": lambda x: (x > -5).all() * x, "trace": lambda x: x.trace(offset=1),
    }
    for f in calls.values():
        assert_same(pb.vjp(f, x)[0], f(x))
        check_grads(f, [x], order=1)


# ============================================================================ dtypes, warnings, errors


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, bool, np.float16, np.float32, np.complex64])
def test_result_dtypes_follow_numpy(dtype):
    x = (np.arange(1, 7).reshape(2, 3) % 3).astype(dtype)
    for name in ("sum", "prod", "mean", "var", "std", "average", "nansum", "nanprod", "trace"):
        if dtype == np.complex64 and name in ("var", "std"):
            continue
        assert_same(getattr(pnp, name)(x), getattr(np, name)(x))
    wide = np.complex128 if np.dtype(dtype).kind == "c" else np.float64
    assert_same(pnp.sum(x, axis=0, dtype=wide), np.sum(x, axis=0, dtype=wide))
    if dtype is not bool:
        assert_same(pnp.ptp(x, axis=1), np.ptp(x, axis=1))


def test_warnings_for_empty_and_all_nan_slices_match_numpy():
    x = np.array([[np.nan, np.nan], [1.0, np.nan]])
    with pytest.warns(RuntimeWarning, match="Mean of empty slice"):
        r = pnp.nanmean(x, axis=1)
    np.testing.assert_array_equal(r, [np.nan, 1.0])
    with pytest.warns(RuntimeWarning, match="All-NaN slice"):
        r = pnp.nanmax(x, axis=1)
    np.testing.assert_array_equal(r, [np.nan, 1.0])
    with pytest.warns(RuntimeWarning, match="Degrees of freedom"):
        r = pnp.nanvar(x, axis=1)
    np.testing.assert_array_equal(r, [np.nan, 0.0])
    with pytest.raises(ValueError, match="All-NaN slice"):
        pnp.nanargmax(x, axis=1)
    with pytest.warns(RuntimeWarning, match="All-NaN slice"):
        g = pb.grad(lambda x: pnp.nansum(pnp.nanmax(x, axis=1)))(x)
    np.testing.assert_array_equal(g, [[0.0, 0.0], [1.0, 0.0]])
    with pytest.warns(RuntimeWarning, match="Mean of empty slice"), np.errstate(invalid="ignore"):
        assert np.isnan(pnp.mean(np.zeros(0)))


def test_errors_match_numpy_and_out_is_refused():
    with pytest.raises(UnsupportedFunctionError, match="out="):
        pnp.prod(np.ones(2), out=np.empty(()))
    with pytest.raises(UnsupportedFunctionError, match="out="):
        pb.grad(lambda x: np.ptp(x, out=np.empty(())))(np.ones(2))
    for name in ("nanmean", "nanvar", "nanstd", "nansum", "nanmax", "nanargmin"):
        with pytest.raises(UnsupportedFunctionError, match="out="):
            getattr(pnp, name)(np.ones(2), out=np.empty(()))
    with pytest.raises(ValueError, match="monotonically"):
        pb.grad(lambda x: pnp.sum(pnp.digitize(x, [0.0, 1.0, 0.5]) * x))(np.ones(2))
    with pytest.raises(TypeError, match="fweights must be integer"):
        pb.grad(lambda x: pnp.sum(pnp.cov(x, fweights=[1.5, 1.0])))(np.ones((2, 2)))
    with pytest.raises(UnsupportedFunctionError, match="aweights"):
        pb.grad(lambda x: pnp.sum(pnp.cov(x, aweights=x[0])))(np.ones((2, 2)))
    with pytest.raises(ValueError, match="more than 2 dimensions"):
        pb.grad(lambda x: pnp.sum(pnp.cov(x)))(np.ones((2, 2, 2)))
    with pytest.warns(RuntimeWarning, match="Degrees of freedom"), np.errstate(divide="ignore", invalid="ignore"):
        pb.vjp(lambda x: pnp.cov(x), np.ones((2, 1)))
    with pytest.raises(ValueError, match="at least two dimensions"):
        pnp.trace(np.ones(3))
    with pytest.raises(ZeroDivisionError):
        pnp.average(np.ones(2), weights=np.array([1.0, -1.0]))
    with pytest.raises(TypeError, match="Axis must be specified"):
        pnp.average(np.ones((2, 2)), weights=np.ones(2))
    with pytest.raises(ValueError, match="consistent"):
        pnp.average(np.ones((2, 2)), axis=0, weights=np.ones(3))
    with pytest.raises(ValueError, match="simultaneously"):
        pnp.var(np.ones(3), ddof=1, correction=1)
    with pytest.raises(np.exceptions.AxisError):
        pb.grad(lambda x: pnp.sum(pnp.argmax(x, axis=2)) * x[0, 0])(np.ones((2, 2)))
    with pytest.raises(TypeError, match="inexact"):
        pnp.nanmean(np.array([1.0, np.nan]), dtype=int)


# ============================================================================ random shapes and axes


@given(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3), st.data())
@FAST
def test_prod_and_nan_reductions_on_random_shapes(shape, data):
    nd = len(shape)
    axis = data.draw(st.one_of(st.none(), st.integers(-nd, nd - 1) if nd else st.none(),
                               st.lists(st.integers(0, max(nd - 1, 0)), unique=True, max_size=nd).map(tuple)))
    keepdims = data.draw(st.booleans())
    name = data.draw(st.sampled_from(["prod", "nansum", "nanprod", "ptp"]))
    x = np.random.default_rng(3).standard_normal(shape)
    if name == "ptp" and (x.size == 0 or 0 in [shape[a] for a in np.atleast_1d(axis if axis is not None
                                                                                   else range(nd))]):
        return  # NumPy refuses a maximum over nothing
    f = lambda x: getattr(pnp, name)(x, axis=axis, keepdims=keepdims)  # noqa: E731
    assert_same(f(x), getattr(np, name)(x, axis=axis, keepdims=keepdims))
    check_grads(f, [x], order=1)


@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), st.data())
@FAST
def test_index_reductions_on_random_shapes(shape, data):
    nd = len(shape)
    axis = data.draw(st.one_of(st.none(), st.integers(-nd, nd - 1)))
    x = np.random.default_rng(4).standard_normal(shape)
    for name in ("argmax", "argmin", "any", "all", "count_nonzero"):
        arg = x if name.startswith("arg") else x > 0
        expected = getattr(np, name)(arg, axis=axis)
        out = {}

        def f(x, n=name, out=out):
            out[n] = getattr(pnp, n)(x if n.startswith("arg") else x > 0, axis=axis)
            return pnp.sum((out[n] if axis is None else np.expand_dims(out[n], axis)) * x)

        np.testing.assert_array_equal(pb.grad(f)(x), np.broadcast_to(
            expected if axis is None else np.expand_dims(expected, axis), shape))
        assert_same(out[name], expected, exact=True)


# ============================================================================ the primitives themselves


def _abstract(a):
    return ShapeDtype(np.shape(a), np.asarray(a).dtype) if isinstance(a, (np.ndarray, np.generic)) else a


SHAPE_CASES = [
    (so.reduce_prod, (normal(2, 3, 4),), {"axis": (0, 2), "keepdims": False}),
    (so.reduce_prod, (normal(2, 3).astype(np.float32),), {"axis": None, "keepdims": True}),
    (so.reduce_prod, (np.arange(6, dtype=np.int32),), {"axis": (0,), "keepdims": False}),
    (so.argmax, (normal(2, 3),), {"axis": 1, "keepdims": True}),
    (so.argmin, (normal(2, 3),), {"axis": None, "keepdims": False}),
    (so.reduce_any, (normal(2, 3) > 0,), {"axis": (0,), "keepdims": False}),
    (so.reduce_all, (normal(2, 3),), {"axis": None, "keepdims": True}),
    (so.count_nonzero, (normal(2, 3) > 0,), {"axis": (1,), "keepdims": False}),
]


@pytest.mark.parametrize("prim, args, params", SHAPE_CASES, ids=[f"{p.name}-{i}" for i, (p, _, _) in
                                                                  enumerate(SHAPE_CASES)])
def test_shape_rule_agrees_with_implementation(prim, args, params):
    out = prim.impl(*args, **params)
    shape, dtype = prim.shape(*[_abstract(a) for a in args], **params)
    assert tuple(shape) == np.shape(out)
    assert np.dtype(dtype) == np.asarray(out).dtype


def test_prod_and_index_reductions_stage_under_jit():
    x = normal(3, 4)
    f = lambda x: pnp.sum(pnp.prod(x, axis=1) * pnp.argmax(x, axis=1)) + pnp.any(x > 0) * pnp.ptp(x)  # noqa: E731
    np.testing.assert_allclose(pb.jit(f)(x), f(x), rtol=1e-13)
    np.testing.assert_allclose(pb.jit(pb.grad(f))(x), pb.grad(f)(x), rtol=1e-13)
    h = lambda x: pnp.nanmean(pnp.nanvar(x, axis=0) + pnp.average(x, axis=0, weights=W[:, 0]))  # noqa: E731
    np.testing.assert_allclose(pb.jit(pb.grad(h))(x), pb.grad(h)(x), rtol=1e-13)


BATCHED = {
    "prod": lambda x: pnp.prod(x, axis=0), "prod-all": lambda x: pnp.prod(x, keepdims=True),
    "argmax": lambda x: pnp.argmax(x), "argmin-axis": lambda x: pnp.argmin(x, axis=-1, keepdims=True),
    "any": lambda x: pnp.any(x > 0, axis=1), "all": lambda x: pnp.all(x > -1), "count_nonzero": lambda x:
    pnp.count_nonzero(x > 0, axis=(0, 1)), "nanmean": lambda x: pnp.nanmean(x, axis=0), "ptp": lambda x: pnp.ptp(x),
}


@pytest.mark.parametrize("name", sorted(BATCHED))
def test_vmap_matches_a_loop_over_examples(name):
    f = BATCHED[name]
    xs = normal(4, 3, 2)
    assert_same(pb.vmap(f)(xs), np.stack([f(x) for x in xs]), exact=True)
