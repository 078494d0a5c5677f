"""examples/negbin_glm.py: the negative-binomial GLM fit, its numbers pinned, and the derivatives it
rests on (gammaln's rule giving the digamma score, the Hessian for the standard errors) checked
against hand-written formulas, scipy.stats.nbinom and finite differences."""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp

pytest.importorskip("scipy")
EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def nb():
    if "negbin_glm" not in sys.modules:
        spec = importlib.util.spec_from_file_location("negbin_glm", EXAMPLES / "negbin_glm.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["negbin_glm"] = module
        spec.loader.exec_module(module)
    return sys.modules["negbin_glm"]


@pytest.fixture(scope="module")
def data(nb):
    return nb.simulate(2000, 0)


def test_fit_converges_to_the_pinned_estimates_and_standard_errors(nb, data):
    res, se, _ = nb.fit(*data)
    assert res.success
    np.testing.assert_allclose(res.x, [0.504914106088, -0.829811351162, 0.333941893059, 0.95109258925], rtol=1e-7)
    np.testing.assert_allclose(se, [0.024194241177, 0.023214152457, 0.038517225344, 0.074956599637], rtol=1e-7)
    assert nb.loglik(res.x, *data) == pytest.approx(-3555.49906004378, rel=1e-12)
    # the truth lies within three standard errors of every estimate
    truth = np.append(nb.TRUE_BETA, np.log(nb.TRUE_R))
    assert np.all(np.abs(res.x - truth) < 3 * se)


def test_loglik_equals_scipy_nbinom(nb, data):
    X, y = data
    p = np.array([0.3, -0.5, 0.2, 0.7])
    beta, r = p[:-1], np.exp(p[-1])
    mu = np.exp(X @ beta)
    st = pytest.importorskip("scipy.stats")
    assert nb.loglik(p, X, y) == pytest.approx(np.sum(st.nbinom.logpmf(y, r, r / (r + mu))), rel=1e-12)


def test_score_from_the_gammaln_rule_equals_the_digamma_formula(nb, data):
    p = np.array([0.3, -0.5, 0.2, 0.7])
    np.testing.assert_allclose(pb.grad(nb.loglik)(p, *data), nb.score_by_hand(p, *data), rtol=1e-11)


def test_hessian_equals_finite_differences_of_the_score(nb, data):
    p = np.array([0.3, -0.5, 0.2, 0.7])
    h = pb.hessian(nb.loglik)(p, *data)
    eps = 1e-5
    fd = np.stack([(nb.score_by_hand(p + eps * e, *data) - nb.score_by_hand(p - eps * e, *data)) / (2 * eps)
                   for e in np.eye(4)])
    np.testing.assert_allclose(h, fd, rtol=1e-7, atol=1e-6)
    np.testing.assert_allclose(h, h.T, rtol=1e-12)


def test_hessian_of_a_scalar_parameter_broadcast_against_data():
    """jacfwd(grad) over y + r with r a scalar: the forward tangent is broadcast inside vmap."""
    y = np.arange(4.0)
    h = pb.hessian(lambda p: pnp.sum((y + pnp.exp(p[0])) * p[1]))(np.array([0.0, 2.0]))
    np.testing.assert_allclose(h, [[8.0, 4.0], [4.0, 0.0]])


def test_main_prints_the_report(nb, capsys):
    assert nb.main(["--n", "500"]) == 0
    out = capsys.readouterr().out
    assert "converged=True" in out and "std.err" in out
