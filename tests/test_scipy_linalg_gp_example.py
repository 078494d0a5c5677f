"""examples/gp_regression.py: the GP fit it prints, pinned, and its NLML and gradient against
scikit-learn's GaussianProcessRegressor (same kernel, same log-hyperparameters)."""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import numpy as np
import pytest

pytest.importorskip("scipy")
EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "gp_regression.py"


@pytest.fixture(scope="module")
def gp():
    spec = importlib.util.spec_from_file_location("gp_regression", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gp_regression"] = module
    spec.loader.exec_module(module)
    return module


def test_nlml_and_gradient_equal_scikit_learns(gp):
    gpm = pytest.importorskip("sklearn.gaussian_process")
    kernels = pytest.importorskip("sklearn.gaussian_process.kernels")
    import pullback as pb

    x, y, _, _ = gp.make_data(n=40, seed=3)
    theta = np.array([0.3, -0.4, -2.0])
    kernel = (kernels.ConstantKernel(1.0, "fixed") * kernels.RBF(1.0, "fixed")
              + kernels.WhiteKernel(1.0, "fixed"))
    reg = gpm.GaussianProcessRegressor(kernel, optimizer=None, alpha=0.0, normalize_y=False).fit(x[:, None], y)
    kernel = kernels.ConstantKernel() * kernels.RBF() + kernels.WhiteKernel()
    reg.kernel_ = kernel.clone_with_theta(theta)
    lml, dlml = reg.log_marginal_likelihood(theta, eval_gradient=True)
    value, grad = pb.value_and_grad(lambda t: gp.nlml(t, x, y))(theta)
    np.testing.assert_allclose(value, -lml, rtol=1e-12)
    np.testing.assert_allclose(grad, -dlml, rtol=1e-9)


def test_the_example_fit_is_pinned(gp, capsys):
    out = gp.main()
    printed = capsys.readouterr().out
    assert "Gaussian-process regression" in printed
    assert out["success"]
    assert out["grad_err"] < 1e-6
    np.testing.assert_allclose(np.exp(out["theta"]), [1.1687, 0.8643, 0.0540], rtol=2e-3)
    np.testing.assert_allclose(out["nlml"], 15.8227, atol=1e-3)
    assert out["rmse"] < 0.1 and out["inside"] > 0.95


def test_the_optimum_is_a_stationary_point_of_scipys_own_nlml(gp):
    """The fitted θ, checked with SciPy alone: central differences of a NumPy/SciPy NLML vanish there."""
    import scipy.linalg as sl

    x, y, _, _ = gp.make_data()
    theta = gp.fit(x, y).x

    def nlml_np(t):
        d = x[:, None] - x[None, :]
        k = np.exp(t[0]) * np.exp(-0.5 * d * d / np.exp(2 * t[1])) + np.exp(t[2]) * np.eye(len(x))
        c = sl.cho_factor(k, lower=True)
        return 0.5 * y @ sl.cho_solve(c, y) + np.sum(np.log(np.diag(c[0])))

    eps = 1e-5
    fd = [(nlml_np(theta + eps * e) - nlml_np(theta - eps * e)) / (2 * eps) for e in np.eye(3)]
    assert np.max(np.abs(fd)) < 1e-3
