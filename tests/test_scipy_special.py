"""pullback.scipy.special: values equal SciPy's, derivatives against finite differences, the
dot-product test and SciPy's own derivative functions, float32 kept, vmap, jit, ufunc routing,
and the clear errors for arguments that have no derivative."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from cases import Case, Family, family_tests
from pullback.errors import NonDifferentiableArgumentError, PullbackError, UnsupportedFunctionError
from pullback.testing import check_grads

sc = pytest.importorskip("scipy.special")
sp = pytest.importorskip("pullback.scipy.special")


def U(lo, hi):
    return lambda rng, shape: rng.uniform(lo, hi, shape)


def C(value):
    """A constant (non-differentiated) argument."""
    return lambda rng, shape: value


# name -> (samplers per argument, indices of the differentiated arguments); the shared Case records
# (tests/cases.py) are built from it below, and the checks specific to scipy.special sample it again
SPECS = {
    "expit": ([U(-3, 3)], [0]),
    "logit": ([U(0.1, 0.9)], [0]),
    "log_expit": ([U(-3, 3)], [0]),
    "erf": ([U(-2, 2)], [0]),
    "erfc": ([U(-2, 2)], [0]),
    "erfinv": ([U(-0.8, 0.8)], [0]),
    "erfcinv": ([U(0.2, 1.8)], [0]),
    "erfcx": ([U(-1, 3)], [0]),
    "ndtr": ([U(-3, 3)], [0]),
    "ndtri": ([U(0.1, 0.9)], [0]),
    "log_ndtr": ([U(-5, 3)], [0]),
    "dawsn": ([U(-3, 3)], [0]),
    "digamma": ([U(0.5, 4)], [0]),
    "psi": ([U(0.5, 4)], [0]),
    "gamma": ([U(0.5, 3)], [0]),
    "gammaln": ([U(0.5, 4)], [0]),
    "loggamma": ([U(0.5, 4)], [0]),
    "rgamma": ([U(0.5, 3)], [0]),
    "polygamma": ([C(np.array([0, 1, 2])), U(0.5, 3)], [1]),
    "beta": ([U(0.5, 3), U(0.5, 3)], [0, 1]),
    "betaln": ([U(0.5, 3), U(0.5, 3)], [0, 1]),
    "betainc": ([C(2.5), C(np.array([1.5, 3.0, 0.7])), U(0.2, 0.8)], [2]),
    "betaincc": ([C(2.5), C(1.7), U(0.2, 0.8)], [2]),
    "betaincinv": ([C(2.5), C(1.7), U(0.2, 0.8)], [2]),
    "betainccinv": ([C(2.5), C(1.7), U(0.2, 0.8)], [2]),
    "gammainc": ([C(np.array([0.7, 2.0, 3.5])), U(0.3, 3)], [1]),
    "gammaincc": ([C(2.0), U(0.3, 3)], [1]),
    "gammaincinv": ([C(2.0), U(0.2, 0.8)], [1]),
    "gammainccinv": ([C(2.0), U(0.2, 0.8)], [1]),
    "stdtr": ([C(np.array([1.0, 3.0, 7.5])), U(-2, 2)], [1]),
    "stdtrit": ([C(4.0), U(0.2, 0.8)], [1]),
    "xlogy": ([U(-2, 2), U(0.5, 3)], [0, 1]),
    "xlog1py": ([U(-2, 2), U(-0.5, 2)], [0, 1]),
    "entr": ([U(0.2, 3)], [0]),
    "rel_entr": ([U(0.2, 3), U(0.2, 3)], [0, 1]),
    "kl_div": ([U(0.2, 3), U(0.2, 3)], [0, 1]),
    "i0": ([U(-3, 3)], [0]),
    "i1": ([U(-3, 3)], [0]),
    "i0e": ([U(0.2, 3)], [0]),
    "i1e": ([U(0.2, 3)], [0]),
    "iv": ([C(np.array([0.0, 1.5, 3.0])), U(0.2, 3)], [1]),
    "ive": ([C(np.array([0.0, 1.5, 3.0])), U(0.2, 3)], [1]),
    "j0": ([U(-5, 5)], [0]),
    "j1": ([U(-5, 5)], [0]),
    "jv": ([C(np.array([0.0, 1.5, 3.0])), U(0.5, 5)], [1]),
    "jn": ([C(np.array([0, 1, 4])), U(-5, 5)], [1]),
    "y0": ([U(0.5, 5)], [0]),
    "y1": ([U(0.5, 5)], [0]),
    "yv": ([C(np.array([0.0, 1.5, 3.0])), U(0.5, 5)], [1]),
    "yn": ([C(np.array([0, 1, 3])), U(0.5, 5)], [1]),
    "zeta": ([U(1.5, 5), U(0.5, 3)], [0, 1]),
    "spence": ([U(0.2, 3)], [0]),
    "kv": ([C(np.array([0.0, 1.5, 3.0])), U(0.5, 3)], [1]),
    "kve": ([C(np.array([0.0, 1.5, 3.0])), U(0.5, 3)], [1]),
    "k0": ([U(0.5, 3)], [0]),
    "k1": ([U(0.5, 3)], [0]),
    "k0e": ([U(0.5, 3)], [0]),
    "k1e": ([U(0.5, 3)], [0]),
    "expi": ([U(0.3, 2)], [0]),
    "exp1": ([U(0.3, 2)], [0]),
    "erfi": ([U(-1.5, 1.5)], [0]),
    "expm1": ([U(-1, 1)], [0]),
    "log1p": ([U(-0.5, 2)], [0]),
    "exp2": ([U(-1, 1)], [0]),
    "exp10": ([U(-1, 1)], [0]),
    "cbrt": ([U(0.5, 2)], [0]),
    "multigammaln": ([U(2.5, 5), C(3)], [0]),
    "logsumexp": ([U(-3, 3)], [0]),
    "softmax": ([U(-3, 3)], [0]),
    "log_softmax": ([U(-3, 3)], [0]),
}
NONDIFF = {"gammasgn": [U(-3, 3)]}
REDUCING = {"logsumexp"}


def test_every_provided_name_has_a_case():
    assert set(sp.__all__) == set(SPECS) | set(NONDIFF)


def _args(name, rng, shape=(2, 3)):
    samplers, _ = SPECS[name]
    return [s(rng, shape) for s in samplers]


def _partial(name, args):
    """The function of the differentiated arguments only, the others fixed at their values."""
    _, diff = SPECS[name]
    fn = getattr(sp, name)

    def f(*d):
        full = list(args)
        for i, v in zip(diff, d):
            full[i] = v
        return fn(*full)

    return f, [args[i] for i in diff]


ORDER3 = {"gammaln", "digamma", "erfinv", "i1", "i1e", "j1", "yn", "xlogy", "betainc", "log_ndtr", "logsumexp", "zeta"}


def _case(name: str) -> Case:
    """The shared record of one function: m.<name> of the differentiated arguments (sampled at a
    fixed point, shape (2, 3); (3,) for the third-order check), the others held at their values."""
    rng = np.random.default_rng(sum(map(ord, name)))
    args = _args(name, rng, (3,) if name in ORDER3 else (2, 3))
    diff = SPECS[name][1]

    def call(m, *d):
        full = list(args)
        for i, v in zip(diff, d):
            full[i] = v
        return getattr(m, name)(*full)

    ufunc = isinstance(getattr(sc, name), np.ufunc)   # SciPy's Python functions (logsumexp ...) cannot dispatch
    return Case(name, call, tuple(args[i] for i in diff), order3=name in ORDER3, dispatch=ufunc)


CASES = [_case(name) for name in sorted(SPECS)]
FAMILY = Family(sc, sp, exact=False, rtol=1e-12, atol=1e-300)
(test_value_matches_scipy, test_traced_primal_output_matches_scipy, test_derivatives_to_second_order,
 test_derivatives_to_third_order, test_scipy_ufunc_on_traced_value_dispatches_to_pullback,
 test_vmap_of_each_case_equals_the_loop) = family_tests(FAMILY, CASES)


def test_values_are_plain_arrays_of_scipys_shape(rng):
    for case in CASES:
        ours, ref = case.call(sp, *case.args), case.call(sc, *case.args)
        assert type(ours) in (np.ndarray, np.float64) and np.shape(ours) == np.shape(ref), case.name


@pytest.mark.parametrize("name", sorted(set(SPECS) - REDUCING - {"softmax", "log_softmax", "multigammaln"}))
def test_broadcast_and_scalar_inputs(name, rng):
    """The differentiated argument as a (3,) row against (2, 1) constants, and as a 0-d scalar."""
    samplers, diff = SPECS[name]
    args = [s(rng, (3,)) if i in diff else s(rng, (2, 1)) for i, s in enumerate(samplers)]
    args = [a[None] if np.ndim(a) == 1 and i not in diff else a for i, a in enumerate(args)]
    f, d = _partial(name, args)
    check_grads(f, d, order=1)
    scalars = [np.asarray(s(rng, ())).reshape(-1)[0] if i in diff else np.asarray(s(rng, ())).reshape(-1)[0]
               for i, s in enumerate(samplers)]
    f, d = _partial(name, scalars)
    check_grads(f, [np.float64(v) for v in d], order=2)


@pytest.mark.parametrize("name", ["gammaln", "expit", "xlogy", "i0", "logsumexp", "softmax"])
def test_size_zero_inputs(name, rng):
    f, d = _partial(name, _args(name, rng, (0, 3)))
    if name in ("logsumexp", "softmax"):
        check_grads(lambda v: getattr(sp, name)(v, axis=-1), d, order=1)
    else:
        check_grads(f, d, order=1)


# SciPy's own derivatives (independent of our rules): ψ, ψ⁽ⁿ⁾, the Bessel derivative functions
DERIVATIVE_ORACLES = {
    "gammaln": lambda x: sc.digamma(x),
    "digamma": lambda x: sc.polygamma(1, x),
    "gamma": lambda x: sc.gamma(x) * sc.digamma(x),
    "i0": lambda x: sc.ivp(0, x, 1),
    "i1": lambda x: sc.ivp(1, x, 1),
    "j0": lambda x: sc.jvp(0, x, 1),
    "j1": lambda x: sc.jvp(1, x, 1),
    "y0": lambda x: sc.yvp(0, x, 1),
    "y1": lambda x: sc.yvp(1, x, 1),
    "k0": lambda x: sc.kvp(0, x, 1),
    "k1": lambda x: sc.kvp(1, x, 1),
    "erf": lambda x: 2 / np.sqrt(np.pi) * np.exp(-x * x),
    "ndtri": lambda p: 1 / (np.exp(-sc.ndtri(p) ** 2 / 2) / np.sqrt(2 * np.pi)),
    "dawsn": lambda x: 1 - 2 * x * sc.dawsn(x),
}


@pytest.mark.parametrize("name", sorted(DERIVATIVE_ORACLES))
def test_gradient_equals_scipy_derivative(name, rng):
    x = _args(name, rng, (5,))[0]
    g = pb.grad(lambda v: pnp.sum(getattr(sp, name)(v)))(x)
    np.testing.assert_allclose(g, DERIVATIVE_ORACLES[name](x), rtol=1e-10)


@pytest.mark.parametrize("fam", ["iv", "jv", "yv", "kv"])
def test_bessel_derivatives_to_third_order_equal_scipy(fam):
    x, v = np.array([0.7, 1.9, 3.3]), np.array([0.0, 1.5, 2.0])
    ref = {"iv": sc.ivp, "jv": sc.jvp, "yv": sc.yvp, "kv": sc.kvp}[fam]
    f = lambda s: getattr(sp, fam)(v, s)
    for n in (1, 2, 3):
        f = (lambda g: lambda s: pb.jvp(g, (s,), (np.ones_like(s),))[1])(f)
        np.testing.assert_allclose(f(x), ref(v, x, n), rtol=1e-9)


@pytest.mark.parametrize("x, q", [(2.0, 1.0), (3.5, 0.3), (1.2, 2.0), (0.5, None), (-1.5, None), (30.0, 1.5)])
def test_zeta_derivatives_in_x_to_third_order_equal_mpmath(x, q):
    mpmath = pytest.importorskip("mpmath")
    f = (lambda s: sp.zeta(s)) if q is None else (lambda s: sp.zeta(s, q))
    for m in (1, 2, 3):
        f = pb.grad(f)
        ref = float(mpmath.zeta(x, 1 if q is None else q, derivative=m))
        assert f(x) == pytest.approx(ref, rel=1e-11)


def test_zeta_mixed_derivative_equals_mpmath():
    mpmath = pytest.importorskip("mpmath")
    h = pb.grad(pb.grad(lambda x, q: sp.zeta(x, q), argnums=1), argnums=0)(3.0, 0.7)
    assert h == pytest.approx(float(mpmath.diff(lambda s, a: mpmath.zeta(s, a), (3.0, 0.7), (1, 1))), rel=1e-10)


def test_polygamma_third_derivative_is_polygamma_of_order_plus_three():
    g = pb.grad(pb.grad(pb.grad(lambda x: sp.polygamma(1, x))))
    assert g(1.7) == pytest.approx(sc.polygamma(4, 1.7), rel=1e-12)


# ----------------------------------------------------------------------------- edges


def test_xlogy_family_at_zero():
    assert pb.grad(lambda y: sp.xlogy(0.0, y))(0.0) == 0.0
    assert pb.grad(lambda y: sp.xlogy(0.0, y))(2.0) == 0.0
    assert pb.grad(lambda x: sp.xlogy(x, 2.0))(0.0) == pytest.approx(np.log(2.0))
    assert pb.grad(pb.grad(lambda x, y: sp.xlogy(x, y), argnums=1))(0.0, 2.0) == pytest.approx(0.5)
    assert pb.grad(lambda y: sp.xlog1py(0.0, y))(-1.0) == 0.0
    assert pb.grad(lambda y: sp.rel_entr(0.0, y))(0.0) == 0.0


def test_bessel_derivatives_at_zero():
    assert pb.grad(sp.i1)(0.0) == 0.5
    assert pb.grad(sp.i1e)(0.0) == 0.5
    assert pb.grad(pb.grad(sp.i0))(0.0) == 0.5
    assert pb.grad(sp.j1)(0.0) == 0.5
    assert pb.grad(pb.grad(sp.j0))(0.0) == -0.5


def test_spence_derivative_at_one():
    assert pb.grad(sp.spence)(1.0) == -1.0
    assert pb.grad(sp.spence)(1.0 + 1e-7) == pytest.approx(-1.0, abs=1e-6)


def test_log_ndtr_gradient_in_the_far_tail_is_finite():
    g = pb.grad(sp.log_ndtr)(-40.0)
    assert g == pytest.approx(40.0249, rel=1e-4)


# ----------------------------------------------------------------------------- logsumexp


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2), (-1, 0)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_axes(axis, keepdims, rng):
    a = rng.standard_normal((2, 3, 4))
    out = sp.logsumexp(a, axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(out, sc.logsumexp(a, axis=axis, keepdims=keepdims), rtol=1e-13)
    check_grads(lambda v: sp.logsumexp(v, axis=axis, keepdims=keepdims), [a], order=2)


def test_logsumexp_with_b_and_sign(rng):
    a = rng.standard_normal((2, 3))
    b = np.array([1.0, -3.0, 0.0])
    out, sgn = sp.logsumexp(a, axis=1, b=b, return_sign=True)
    ref_out, ref_sgn = sc.logsumexp(a, axis=1, b=b, return_sign=True)
    np.testing.assert_allclose(out, ref_out, rtol=1e-13)
    np.testing.assert_array_equal(sgn, ref_sgn)
    bp = np.abs(b) + 0.5
    np.testing.assert_allclose(sp.logsumexp(a, b=bp), sc.logsumexp(a, b=bp), rtol=1e-13)
    check_grads(lambda v, w: sp.logsumexp(v, axis=-1, b=w), [a, bp], order=2)
    check_grads(lambda v, w: sp.logsumexp(v, axis=-1, b=w, return_sign=True)[0], [a, bp * np.array([1, -1, 1])],
                order=2)


def test_logsumexp_infinities_and_large_values():
    assert sp.logsumexp(np.array([-np.inf, -np.inf])) == -np.inf
    assert sp.logsumexp(np.array([np.inf, 1.0])) == np.inf
    big = np.array([1000.0, 1000.0])
    assert sp.logsumexp(big) == pytest.approx(1000 + np.log(2))
    np.testing.assert_allclose(pb.grad(sp.logsumexp)(big), [0.5, 0.5])
    np.testing.assert_allclose(pb.grad(sp.logsumexp)(np.array([0.0, -np.inf])), [1.0, 0.0])


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [None, 0, -1])
def test_softmax_axes(fn, axis, rng):
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(getattr(sp, fn)(x, axis=axis), getattr(sc, fn)(x, axis=axis), rtol=1e-13)
    check_grads(lambda v: getattr(sp, fn)(v, axis=axis), [x], order=2)


def test_softmax_jacobian_is_diag_minus_outer(rng):
    x = rng.standard_normal(4)
    s = sc.softmax(x)
    np.testing.assert_allclose(pb.jacobian(sp.softmax)(x), np.diag(s) - np.outer(s, s), rtol=1e-12, atol=1e-15)


def test_multigammaln_checks_its_domain():
    with pytest.raises(ValueError):
        sp.multigammaln(0.5, 3)
    with pytest.raises(ValueError):
        sp.multigammaln(3.0, 0)


# ----------------------------------------------------------------------------- dtypes


@pytest.mark.parametrize("name", sorted(SPECS))
def test_float32_kept_as_scipy_keeps_it(name, rng):
    samplers, diff = SPECS[name]
    args = [s(rng, (2, 3)) for s in samplers]
    args = [np.asarray(a, np.float32) if i in diff else a for i, a in enumerate(args)]
    ref = getattr(sc, name)(*args)
    f, d = _partial(name, args)
    out = f(*d)
    assert out.dtype == ref.dtype
    _, t = pb.jvp(f, tuple(d), tuple(np.ones_like(v) for v in d))
    assert t.dtype == ref.dtype
    _, back = pb.vjp(f, *d)
    assert all(g.dtype == np.float32 for g in back(np.ones_like(out)))


def test_integer_inputs_give_float64():
    assert sp.gammaln(np.array([1, 2, 3])).dtype == np.float64
    assert sp.logsumexp(np.array([1, 2, 3])).dtype == np.float64


# ----------------------------------------------------------------------------- transformations


@pytest.mark.parametrize("name", ["gammaln", "polygamma", "betainc", "iv", "xlogy", "logsumexp", "softmax", "zeta"])
def test_vmap_equals_a_loop_and_jit_equals_eager(name, rng):
    samplers, diff = SPECS[name]
    args = [s(rng, (4, 3)) if i in diff else s(rng, (3,)) for i, s in enumerate(samplers)]
    f, d = _partial(name, args)
    g = lambda v: pnp.sum(pnp.sin(f(v)))  # noqa: E731
    xs = d[0]
    batched = pb.vmap(pb.grad(g))(xs)
    np.testing.assert_allclose(batched, np.stack([pb.grad(g)(x) for x in xs]), rtol=1e-12)
    np.testing.assert_allclose(pb.jit(pb.grad(g))(xs), pb.grad(g)(xs), rtol=1e-12)
    np.testing.assert_allclose(pb.jit(f)(xs), f(xs), rtol=1e-13)


# ----------------------------------------------------------------------------- ufunc routing


@pytest.mark.parametrize("name", ["gammaln", "digamma", "expit", "xlogy", "i0", "jv", "ndtr", "betainc"])
def test_real_scipy_ufunc_on_a_traced_value_dispatches_here(name, rng):
    samplers, diff = SPECS[name]
    args = [s(rng, (3,)) for s in samplers]

    def with_(mod):
        def f(v):
            full = list(args)
            full[diff[-1]] = v
            return pnp.sum(getattr(mod, name)(*full))

        return f

    x = args[diff[-1]]
    np.testing.assert_allclose(pb.grad(with_(sc))(x), pb.grad(with_(sp))(x), rtol=1e-14)


def test_real_scipy_zeta_dispatches_in_q_and_x():
    g = pb.grad(lambda q: sc.zeta(3.0, q))(1.5)
    assert g == pytest.approx(-3.0 * sc.zeta(4.0, 1.5), rel=1e-12)
    assert pb.grad(lambda x: sc.zeta(x))(2.5) == pb.grad(sp.zeta)(2.5)


def test_unported_scipy_ufunc_error_names_scipy_and_points_to_pullback_scipy():
    with pytest.raises(UnsupportedFunctionError, match=r"scipy\.special\.struve.*pullback\.scipy\.special"):
        pb.grad(lambda x: sc.struve(1.0, x))(1.0)


# ----------------------------------------------------------------------------- refused arguments


@pytest.mark.parametrize(
    "name, call, arg",
    [
        ("polygamma", lambda n: sp.polygamma(n, 2.0), "n"),
        ("betainc", lambda a: sp.betainc(a, 2.0, 0.3), "a"),
        ("betainc", lambda b: sp.betainc(2.0, b, 0.3), "b"),
        ("gammainc", lambda a: sp.gammainc(a, 0.3), "a"),
        ("gammaincc", lambda a: sp.gammaincc(a, 0.3), "a"),
        ("iv", lambda v: sp.iv(v, 2.0), "v"),
        ("ive", lambda v: sp.ive(v, 2.0), "v"),
        ("jv", lambda v: sp.jv(v, 2.0), "v"),
        ("yv", lambda v: sp.yv(v, 2.0), "v"),
        ("kv", lambda v: sp.kv(v, 2.0), "v"),
        ("stdtr", lambda df: sp.stdtr(df, 0.3), "df"),
    ],
)
@pytest.mark.parametrize("mode", ["jvp", "grad"])
def test_nondifferentiable_argument_raises_naming_function_and_argument(name, call, arg, mode):
    pattern = rf"{name} is not differentiable in its argument `{arg}`"
    with pytest.raises(NonDifferentiableArgumentError, match=pattern):
        if mode == "jvp":
            pb.jvp(call, (2.5,), (1.0,))
        else:
            pb.grad(call)(2.5)


def test_nondifferentiable_argument_is_fine_under_vmap():
    n = np.array([0, 1, 2])
    np.testing.assert_allclose(pb.vmap(lambda k: sp.polygamma(k, 1.5))(n), sc.polygamma(n, 1.5))


def test_gammasgn_carries_no_derivative(rng):
    x = rng.uniform(-3, 3, 5)
    np.testing.assert_array_equal(sp.gammasgn(x), sc.gammasgn(x))
    g = pb.grad(lambda v: pnp.sum(pnp.multiply(sp.gammasgn(v), v)))(x)
    np.testing.assert_array_equal(g, sc.gammasgn(x))


def test_out_argument_is_refused():
    with pytest.raises(UnsupportedFunctionError, match="out="):
        pb.grad(lambda x: sp.gammaln(x, out=np.empty(())))(1.0)


# ----------------------------------------------------------------------------- packaging


def test_import_pullback_does_not_import_scipy_and_pullback_scipy_without_it_raises_clearly():
    code = (
        "import sys, pullback, pullback.numpy\n"
        "assert 'scipy' not in sys.modules, 'import pullback imported scipy'\n"
        "sys.modules['scipy'] = None  # as if SciPy were not installed\n"
        "try:\n    import pullback.scipy\nexcept Exception as e:\n    print(type(e).__mro__)\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert "MissingDependencyError" in out and "ImportError" in out and "pip install" in out


def test_submodules_load_lazily():
    import pullback.scipy as ps

    assert ps.special is sp
    assert issubclass(NonDifferentiableArgumentError, PullbackError)
    with pytest.raises(AttributeError):
        ps.nonexistent  # noqa: B018


# ----------------------------------------------------------------------------- oracles


@pytest.mark.parametrize("name", ["gammaln", "digamma", "expit", "logit", "erf", "i0", "i1", "j0", "logsumexp"])
def test_gradient_agrees_with_autograd(name, rng):
    ag = pytest.importorskip("autograd")
    asp = pytest.importorskip("autograd.scipy.special")
    anp = pytest.importorskip("autograd.numpy")
    args = _args(name, rng, (4,))
    _, diff = SPECS[name]
    i = diff[0]

    def with_(mod, summ):
        def f(v):
            full = list(args)
            full[i] = v
            return summ(getattr(mod, name)(*full))

        return f

    ours = pb.grad(with_(sp, pnp.sum))(args[i])
    ref = ag.grad(with_(asp, anp.sum))(args[i])
    np.testing.assert_allclose(ours, ref, rtol=1e-10)


def test_hessian_agrees_with_jax_scipy(rng):
    """One composite of several special functions, its Hessian against jax.hessian (one compile)."""
    jax = pytest.importorskip("jax")
    jsp = pytest.importorskip("jax.scipy.special")

    def composite(mod, np_):
        def f(x):
            return (np_.sum(mod.gammaln(x)) + np_.sum(mod.log_ndtr(x - 2.0)) + np_.sum(mod.i1e(x))
                    + np_.sum(mod.betainc(2.5, 1.7, x / 4.0)) + mod.logsumexp(x * x) + np_.sum(mod.xlogy(x, x + 1.0)))

        return f

    x = rng.uniform(0.5, 3.5, 4)
    with jax.enable_x64(True):
        ref = np.asarray(jax.jit(jax.hessian(composite(jsp, jax.numpy)))(jax.numpy.asarray(x)))
    np.testing.assert_allclose(pb.hessian(composite(sp, pnp))(x), ref, rtol=1e-9, atol=1e-12)
