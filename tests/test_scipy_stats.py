"""pullback.scipy.stats: every method of every distribution against SciPy's values, derivatives in
x, loc, scale and shapes against finite differences and the dot-product test, frozen forms,
support and parameter edges, vmap and jit, and the clear error for a shape without a derivative."""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from cases import Case, Family, family_tests
from pullback.errors import NonDifferentiableArgumentError, UnsupportedFunctionError
from pullback.testing import check_grads

S = pytest.importorskip("scipy.stats")
st = pytest.importorskip("pullback.scipy.stats")


def U(lo, hi):
    return lambda rng, shape: rng.uniform(lo, hi, shape)


# name -> (shape samplers, standard-coordinate sampler of x, the cdf family refuses the shapes)
CONTINUOUS = {
    "norm": ([], U(-2, 2), False),
    "t": ([U(2, 6)], U(-2, 2), True),
    "gamma": ([U(1.5, 3)], U(0.5, 3), True),
    "beta": ([U(1.5, 3), U(1.5, 3)], U(0.2, 0.8), True),
    "chi2": ([U(3, 6)], U(0.5, 4), True),
    "expon": ([], U(0.2, 3), False),
    "laplace": ([], U(0.2, 2), False),
    "logistic": ([], U(-2, 2), False),
    "cauchy": ([], U(-2, 2), False),
    "uniform": ([], U(0.1, 0.9), False),
    "lognorm": ([U(0.5, 1.5)], U(0.5, 3), False),
    "halfnorm": ([], U(0.2, 2.5), False),
    "invgamma": ([U(1.5, 3)], U(0.3, 3), True),
    "weibull_min": ([U(0.8, 2.5)], U(0.3, 2.5), False),
    "gumbel_r": ([], U(-1.5, 2.5), False),
    "pareto": ([U(1.0, 3.0)], U(1.2, 3), False),
    "rayleigh": ([], U(0.3, 2.5), False),
}
DENSITY = ("logpdf", "pdf")
TAILS = ("cdf", "sf", "logcdf", "logsf")
QUANTILES = ("ppf", "isf")
PAIRS = [(d, m) for d in sorted(CONTINUOUS) for m in DENSITY + TAILS + QUANTILES]


def test_every_distribution_has_a_case():
    assert set(st.__all__) == set(CONTINUOUS) | set(DISCRETE) | {"multivariate_normal", "dirichlet", "multinomial"}


def _point(name, method, rng, shape=(2, 3)):
    shapes, zs, _ = CONTINUOUS[name]
    params = [s(rng, shape[-1:]) for s in shapes]
    loc, scale = rng.uniform(-1, 1, shape[-1:]), rng.uniform(0.5, 2, shape[-1:])
    x = rng.uniform(0.1, 0.9, shape) if method in QUANTILES else loc + scale * zs(rng, shape)
    return [x, *params, loc, scale]


def _diff_args(name, method):
    """Indices of the arguments the method is differentiable in."""
    nshapes = len(CONTINUOUS[name][0])
    refused = CONTINUOUS[name][2] and method not in DENSITY
    return [0] + ([] if refused else list(range(1, 1 + nshapes))) + [1 + nshapes, 2 + nshapes]


def _fix(fn, args, diff):
    def f(*d):
        full = list(args)
        for i, v in zip(diff, d):
            full[i] = v
        return fn(*full)

    return f, [args[i] for i in diff]


ORDER3 = {("norm", "logpdf"), ("t", "logpdf"), ("gamma", "logpdf"), ("beta", "logpdf"), ("lognorm", "cdf"),
          ("norm", "ppf")}


def _case(case_id, fn, args, diff, order3=False):
    """A shared record (tests/cases.py): fn(m) is the method of module m (scipy.stats or pullback's),
    called with args, the arguments at the indices `diff` being the differentiated ones."""
    def call(m, *d):
        full = list(args)
        for i, v in zip(diff, d):
            full[i] = v
        return fn(m)(*full)

    # scipy.stats' methods are Python functions, not ufuncs: no dispatch to check
    return Case(case_id.split("-")[0], call, tuple(args[i] for i in diff), id=case_id, order3=order3, dispatch=False)


def _continuous_case(name, method):
    rng = np.random.default_rng(sum(map(ord, name + method)))
    args = _point(name, method, rng, (2, 3))
    return _case(f"{name}-{method}", lambda m: getattr(getattr(m, name), method), args, _diff_args(name, method),
                 order3=(name, method) in ORDER3)


@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_frozen_equals_unfrozen_and_keywords_work(name, rng):
    x, *params, loc, scale = _point(name, "logpdf", rng)
    dist = getattr(st, name)
    frozen = dist(*params, loc=loc, scale=scale)
    np.testing.assert_array_equal(frozen.logpdf(x), dist.logpdf(x, *params, loc, scale))
    kw = dict(zip(dist.shapes, params))
    np.testing.assert_array_equal(dist.cdf(x, loc=loc, scale=scale, **kw), dist.cdf(x, *params, loc, scale))
    g = pb.grad(lambda s: pnp.sum(dist(*params, loc=loc, scale=s).logpdf(x)))(scale)
    np.testing.assert_allclose(g, pb.grad(lambda s: pnp.sum(dist.logpdf(x, *params, loc, s)))(scale))


@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_support_edges_and_invalid_parameters_match_scipy(name, rng):
    shapes = [s(rng, ()) for s in CONTINUOUS[name][0]]
    x = np.array([-3.0, -0.5, 0.0, 0.5, 1.0, 1.5, 20.0])
    for method in DENSITY + TAILS:
        ours = getattr(getattr(st, name), method)(x, *shapes)
        np.testing.assert_allclose(ours, getattr(getattr(S, name), method)(x, *shapes), rtol=1e-12, atol=1e-300,
                                   err_msg=method)
        bad = getattr(getattr(st, name), method)(x, *shapes, scale=-1.0)
        assert np.all(np.isnan(bad))
    q = np.array([-0.1, 0.0, 0.3, 1.0, 1.1])
    for method in QUANTILES:
        np.testing.assert_allclose(getattr(getattr(st, name), method)(q, *shapes),
                                   getattr(getattr(S, name), method)(q, *shapes), rtol=1e-12, err_msg=method)


def test_gradient_outside_the_support_is_zero_not_nan():
    g = pb.grad(lambda x: pnp.sum(st.gamma.cdf(x, 2.0)))(np.array([-1.0, 1.0]))
    np.testing.assert_allclose(g, [0.0, S.gamma.pdf(1.0, 2.0)])
    g = pb.grad(lambda s: st.gamma.logpdf(-1.0, 2.0, scale=s))(1.5)
    assert g == 0.0


@pytest.mark.parametrize("name, method, shape", [("gamma", "cdf", "a"), ("beta", "sf", "b"), ("t", "cdf", "df"),
                                                 ("chi2", "ppf", "df")])
def test_cdf_in_a_shape_without_derivative_raises(name, method, shape):
    dist = getattr(st, name)
    args = {"a": 2.0, "b": 3.0, "df": 4.0}
    kw = {s: args[s] for s in dist.shapes}
    f = lambda v: getattr(dist, method)(0.4, **{**kw, shape: v})  # noqa: E731
    with pytest.raises(NonDifferentiableArgumentError, match=shape):
        pb.grad(f)(2.5)


def test_scalar_inputs_give_numpy_scalars_like_scipy():
    v = st.norm.logpdf(0.3)
    assert type(v) is type(S.norm.logpdf(0.3)) and v == S.norm.logpdf(0.3)


def test_float32_inputs_give_float64_like_scipy_and_float32_gradients(rng):
    x = rng.standard_normal(4).astype(np.float32)
    assert st.norm.logpdf(x).dtype == S.norm.logpdf(x).dtype == np.float64
    assert pb.grad(lambda v: pnp.sum(st.norm.logpdf(v)))(x).dtype == np.float32


# ============================================================================ discrete

# name -> (shape samplers, k grid, differentiated shape indices of the logpmf, of the cdf)
DISCRETE = {
    "poisson": ([U(0.5, 4)], [0, 1, 3, 6], [0], [0]),
    "binom": ([lambda r, s: np.array(8.0), U(0.2, 0.8)], [0, 2, 5, 7], [0, 1], [1]),
    "nbinom": ([U(1.5, 4), U(0.2, 0.8)], [0, 2, 5, 9], [0, 1], [1]),
    "bernoulli": ([U(0.2, 0.8)], [0, 1], [0], [0]),
    "geom": ([U(0.2, 0.8)], [1, 2, 5], [0], [0]),
}
DMETHODS = ("logpmf", "pmf", "cdf", "sf", "logcdf", "logsf")


@pytest.mark.parametrize("name, method", [(d, m) for d in sorted(DISCRETE) for m in DMETHODS])
def test_discrete_values_equal_scipy_on_and_off_the_support(name, method, rng):
    shapes = [s(rng, ()) for s in DISCRETE[name][0]]
    k = np.array(DISCRETE[name][1] + [-1, 2.5, 8, 40], float)
    ours = getattr(getattr(st, name), method)(k, *shapes)
    np.testing.assert_allclose(ours, getattr(getattr(S, name), method)(k, *shapes), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(getattr(getattr(st, name), method)(k - 2, *shapes, loc=-2.0), ours, rtol=1e-13)


def _discrete_case(name, method):
    """The parameters at the k grid (broadcast to it); k itself is not differentiable."""
    rng = np.random.default_rng(sum(map(ord, name + method)))
    samplers, ks, dpmf, dcdf = DISCRETE[name]
    k = np.array(ks, float)
    shapes = [np.broadcast_to(s(rng, ()), k.shape) + 0.0 for s in samplers]
    return _case(f"{name}-{method}", lambda m: lambda *a: getattr(getattr(m, name), method)(k, *a), shapes,
                 dpmf if method in ("logpmf", "pmf") else dcdf)


CASES = ([_continuous_case(d, m) for d, m in PAIRS]
         + [_discrete_case(d, m) for d in sorted(DISCRETE) for m in DMETHODS])
FAMILY = Family(S, st, exact=False, rtol=1e-12, atol=1e-14)
(test_value_matches_scipy, test_traced_primal_output_matches_scipy, test_derivatives_to_second_order,
 test_derivatives_to_third_order, _dispatch_not_applicable, test_vmap_of_each_case_equals_the_loop) = \
    family_tests(FAMILY, CASES)


def test_values_are_float64_arrays_like_scipys():
    for case in CASES:
        ours, ref = case.call(st, *case.args), case.call(S, *case.args)
        assert isinstance(ours, np.ndarray) and ours.dtype == ref.dtype == np.float64, case.id


@pytest.mark.parametrize("name", sorted(DISCRETE))
@pytest.mark.parametrize("method", ["ppf", "isf"])
def test_discrete_quantiles_are_scipys_and_carry_no_derivative(name, method, rng):
    shapes = [s(rng, ()) for s in DISCRETE[name][0]]
    q = np.array([0.0, 0.1, 0.5, 0.93, 1.0])
    ours = getattr(getattr(st, name), method)(q, *shapes, loc=1.0)
    np.testing.assert_array_equal(ours, getattr(getattr(S, name), method)(q, *shapes, loc=1.0))
    g = pb.grad(lambda v: pnp.sum(getattr(getattr(st, name), method)(v, *shapes) * v))(q[1:4])
    np.testing.assert_array_equal(g, getattr(getattr(S, name), method)(q[1:4], *shapes))
    np.testing.assert_array_equal(pb.vmap(lambda v: getattr(getattr(st, name), method)(v, *shapes))(q),
                                  getattr(getattr(S, name), method)(q, *shapes))


def test_poisson_derivatives_to_third_order(rng):
    check_grads(lambda mu: st.poisson.logpmf(np.array([0.0, 3.0, 7.0]), mu), [rng.uniform(1, 4, 3)], order=3)


def test_binom_cdf_in_n_raises():
    with pytest.raises(NonDifferentiableArgumentError):
        pb.grad(lambda n: st.binom.cdf(3.0, n, 0.4))(8.0)


def test_invalid_discrete_parameters_give_nan():
    assert np.isnan(st.poisson.logpmf(2, -1.0)) and np.isnan(S.poisson.logpmf(2, -1.0))
    assert np.isnan(st.binom.pmf(2, 5, 1.5)) and np.isnan(S.binom.pmf(2, 5, 1.5))
    assert np.isnan(st.geom.cdf(2, 0.0)) and np.isnan(S.geom.cdf(2, 0.0))


# ============================================================================ multivariate


def _spd(rng, k):
    a = rng.standard_normal((k, k))
    return a @ a.T + k * np.eye(k)


@pytest.mark.parametrize("xshape", [(3,), (4, 3), (2, 4, 3)])
@pytest.mark.parametrize("covkind", ["matrix", "diagonal", "scalar"])
def test_multivariate_normal_values_equal_scipy(xshape, covkind, rng):
    mean = rng.standard_normal(3)
    cov = {"matrix": _spd(rng, 3), "diagonal": rng.uniform(0.5, 2, 3), "scalar": 1.7}[covkind]
    x = rng.standard_normal(xshape)
    ours = st.multivariate_normal.logpdf(x, mean, cov)
    np.testing.assert_allclose(ours, S.multivariate_normal.logpdf(x, mean, cov), rtol=1e-12)
    np.testing.assert_allclose(st.multivariate_normal(mean, cov).pdf(x), S.multivariate_normal(mean, cov).pdf(x),
                               rtol=1e-12)


def test_multivariate_normal_one_dimensional_points_and_default_mean(rng):
    x = rng.standard_normal(5)
    np.testing.assert_allclose(st.multivariate_normal.logpdf(x, cov=2.0), S.multivariate_normal.logpdf(x, cov=2.0),
                               rtol=1e-12)


def test_multivariate_normal_derivatives_in_x_mean_and_cov(rng):
    x, mean, a = rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal((3, 3))

    def f(x, mean, a):
        return st.multivariate_normal.logpdf(x, mean, a @ a.T + 3.0 * np.eye(3))

    check_grads(f, [x, mean, a], order=2)
    check_grads(lambda m: st.multivariate_normal.logpdf(x, m, np.eye(3) * 2.0), [mean], order=3)


def test_multivariate_normal_gradient_in_cov_equals_the_formula(rng):
    x, mean, cov = rng.standard_normal(3), rng.standard_normal(3), _spd(rng, 3)
    g = pb.grad(lambda c: st.multivariate_normal.logpdf(x, mean, c))(cov)
    inv = np.linalg.inv(cov)
    d = inv @ (x - mean)
    full = -0.5 * (inv - np.outer(d, d))  # ∂/∂Σ of the symmetric formula
    np.testing.assert_allclose(g + g.T, full + full.T, rtol=1e-10)  # conventions agree on the symmetric part


def test_multivariate_normal_allow_singular_is_scipys_value_and_differentiable_where_cov_is_definite(rng):
    x, mean = rng.standard_normal((4, 3)), rng.standard_normal(3)
    singular = np.diag([1.0, 2.0, 0.0])
    np.testing.assert_allclose(st.multivariate_normal.logpdf(x, mean, singular, allow_singular=True),
                               S.multivariate_normal.logpdf(x, mean, singular, allow_singular=True), rtol=1e-12)
    cov = _spd(rng, 3)
    plain = st.multivariate_normal.logpdf(x, mean, cov, allow_singular=True)
    np.testing.assert_allclose(plain, S.multivariate_normal.logpdf(x, mean, cov, allow_singular=True), rtol=1e-10)
    frozen = lambda m, c: pnp.sum(st.multivariate_normal(m, c, allow_singular=True).logpdf(x))  # noqa: E731
    regular = lambda m, c: pnp.sum(st.multivariate_normal.logpdf(x, m, c))  # noqa: E731
    for a, b in zip(pb.grad(frozen, argnums=(0, 1))(mean, cov), pb.grad(regular, argnums=(0, 1))(mean, cov)):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    check_grads(lambda m: frozen(m, cov), (mean,), order=2)
    full = np.array([[1.0, 1.0], [1.0, 1.0]])
    with pytest.raises(UnsupportedFunctionError, match="positive definite"):
        pb.grad(lambda m: pnp.sum(st.multivariate_normal.logpdf(np.zeros(2), m, full, allow_singular=True)))(
            np.zeros(2))


def test_multivariate_normal_cdf_is_scipys_value_and_refuses_a_derivative(rng):
    x, mean, cov = rng.standard_normal((3, 2)), rng.standard_normal(2), _spd(rng, 2)
    np.testing.assert_allclose(st.multivariate_normal.cdf(x, mean, cov, rng=np.random.default_rng(0)),
                               S.multivariate_normal.cdf(x, mean, cov, rng=np.random.default_rng(0)), rtol=1e-12)
    np.testing.assert_allclose(st.multivariate_normal(mean, cov).logcdf(x, rng=np.random.default_rng(1)),
                               S.multivariate_normal(mean, cov).logcdf(x, rng=np.random.default_rng(1)),
                               rtol=1e-12)
    for argnum, name in ((0, "x"), (1, "mean"), (2, "cov")):
        with pytest.raises(NonDifferentiableArgumentError, match=f"cdf is not differentiable in `{name}`"):
            pb.grad(lambda *a: pnp.sum(st.multivariate_normal.cdf(*a)), argnums=argnum)(x, mean, cov)


def test_dirichlet_values_and_derivatives(rng):
    alpha = rng.uniform(0.5, 3, 4)
    x = rng.dirichlet(np.ones(4), 5).T  # components on the first axis, as SciPy takes them
    np.testing.assert_allclose(st.dirichlet.logpdf(x, alpha), S.dirichlet.logpdf(x, alpha), rtol=1e-12)
    np.testing.assert_allclose(st.dirichlet(alpha).pdf(x[:, 0]), S.dirichlet.pdf(x[:, 0], alpha), rtol=1e-12)
    np.testing.assert_allclose(st.dirichlet.logpdf(x[:-1], alpha), S.dirichlet.logpdf(x[:-1], alpha), rtol=1e-12)
    check_grads(lambda a: st.dirichlet.logpdf(x, a), [alpha], order=2)
    check_grads(lambda v: st.dirichlet.logpdf(v, alpha), [x], order=2)


def test_multinomial_values_and_derivatives(rng):
    p = np.array([0.2, 0.3, 0.5])
    x = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 6.0], [1.0, 1.0, 1.0]])
    np.testing.assert_allclose(st.multinomial.logpmf(x, 6, p), S.multinomial.logpmf(x, 6, p), rtol=1e-12)
    np.testing.assert_allclose(st.multinomial(6, p).pmf(x[0]), S.multinomial.pmf(x[0], 6, p), rtol=1e-12)
    check_grads(lambda q: st.multinomial.logpmf(x[:2], 6, q), [p], order=2)


# ============================================================================ transformations


@pytest.mark.parametrize("fn", [
    lambda x: st.norm.logpdf(x, 0.3, 1.5), lambda x: st.gamma.cdf(x, 2.0), lambda x: st.t.logpdf(x, 3.0),
    lambda x: st.poisson.logpmf(3.0, x), lambda x: st.multivariate_normal.logpdf(x, np.zeros(3), np.eye(3) * 2),
], ids=["norm", "gamma_cdf", "t", "poisson", "mvn"])
def test_vmap_equals_a_loop_and_jit_equals_eager(fn, rng):
    xs = rng.uniform(0.5, 2.0, (4, 3))
    g = lambda v: pnp.sum(fn(v))  # noqa: E731
    np.testing.assert_allclose(pb.vmap(pb.grad(g))(xs), np.stack([pb.grad(g)(x) for x in xs]), rtol=1e-12)
    np.testing.assert_allclose(pb.jit(pb.grad(g))(xs), pb.grad(g)(xs), rtol=1e-12)


# ============================================================================ oracle


@pytest.mark.parametrize("name", ["norm", "t", "gamma", "beta", "poisson", "multivariate_normal", "dirichlet"])
def test_gradient_agrees_with_autograd(name, rng):
    ag = pytest.importorskip("autograd")
    ast = pytest.importorskip("autograd.scipy.stats")
    anp = pytest.importorskip("autograd.numpy")
    cov = _spd(rng, 3)
    calls = {
        "norm": (lambda m, x: m.norm.logpdf(x, 0.3, 1.7), rng.standard_normal(4)),
        "t": (lambda m, x: m.t.logpdf(x, 3.5, 0.2, 1.3), rng.standard_normal(4)),
        "gamma": (lambda m, a: m.gamma.logpdf(np.array([0.5, 1.0, 2.0]), a), rng.uniform(1, 3, 3)),
        "beta": (lambda m, x: m.beta.logpdf(x, 2.0, 3.0), rng.uniform(0.2, 0.8, 3)),
        "poisson": (lambda m, mu: m.poisson.logpmf(np.array([0.0, 2.0, 5.0]), mu), rng.uniform(1, 3, 3)),
        "multivariate_normal": (lambda m, mu: m.multivariate_normal.logpdf(np.ones(3), mu, cov),
                                rng.standard_normal(3)),
        "dirichlet": (lambda m, a: m.dirichlet.logpdf(np.array([0.2, 0.3, 0.5]), a), rng.uniform(1, 3, 3)),
    }
    call, x = calls[name]
    ours = pb.grad(lambda v: pnp.sum(call(st, v)))(x)
    ref = ag.grad(lambda v: anp.sum(call(ast, v)))(x)
    np.testing.assert_allclose(ours, ref, rtol=1e-9)


@pytest.mark.parametrize("dist, args", [("norm", (0.5, 2.0)), ("gamma", (2.0,)), ("poisson", (3.0,)),
                                        ("multivariate_normal", (np.zeros(2), np.eye(2))), ("dirichlet", (np.ones(3),)),
                                        ("multinomial", (5, np.array([0.2, 0.3, 0.5])))])
def test_rvs_is_scipys_sampler_and_refuses_traced_parameters(dist, args):
    ours = getattr(st, dist).rvs(*args, size=4, random_state=0)
    np.testing.assert_array_equal(ours, getattr(S, dist).rvs(*args, size=4, random_state=0))
    np.testing.assert_array_equal(getattr(st, dist)(*args).rvs(size=4, random_state=0), ours)


def test_rvs_with_a_traced_parameter_raises():
    from pullback.errors import TracerConversionError

    with pytest.raises(TracerConversionError, match="loc \\+ scale"):
        pb.grad(lambda s: pnp.sum(st.norm.rvs(0.0, s, size=3)))(1.0)
