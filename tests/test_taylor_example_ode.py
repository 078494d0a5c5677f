"""examples/taylor_ode.py: ODE Taylor coefficients by jet recursion equal the closed form (y' = y²)
and the Lie-derivative recursion by nested jvp (pendulum); the Taylor integrator converges with
its order against DOP853."""

from __future__ import annotations

import importlib.util
import math
import pathlib
import sys

import numpy as np
import pytest

import pullback as pb

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def ex():
    if "taylor_ode" not in sys.modules:
        spec = importlib.util.spec_from_file_location("taylor_ode", EXAMPLES / "taylor_ode.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["taylor_ode"] = module
        spec.loader.exec_module(module)
    return sys.modules["taylor_ode"]


def test_riccati_coefficients_are_the_closed_form(ex):
    y0 = np.array([0.7, -1.3, 0.2])
    c = ex.taylor_coefficients(ex.riccati, y0, 10)
    exact = np.stack([y0 ** (k + 1) for k in range(11)])
    np.testing.assert_allclose(c, exact, rtol=1e-13, atol=0)


def test_pendulum_coefficients_equal_nested_jvp_lie_derivatives(ex):
    # y⁽ᵏ⁺¹⁾ = D_{k+1}(y0) with D₀(y) = y, D_{k+1}(y) = ∂D_k(y) · f(y): nested jvp, independent of jet
    f = ex.pendulum
    y0 = np.array([0.9, -0.4])
    K = 6
    c = ex.taylor_coefficients(f, y0, K)
    D = lambda y: y  # noqa: E731
    for k in range(K + 1):
        np.testing.assert_allclose(c[k] * math.factorial(k), D(y0), rtol=1e-12, atol=1e-12)
        D = (lambda Dk: lambda y: pb.jvp(Dk, (y,), (f(y),))[1])(D)


def test_taylor_polynomial_and_integrator_against_dop853(ex):
    pytest.importorskip("scipy")
    chk = ex.coefficient_check(10)
    assert chk["riccati_rel_err"] < 1e-12 and chk["pendulum_poly_err"] < 1e-10
    errs = ex.convergence(orders=(2, 4, 6), steps=20)["errors"]
    assert errs[2] > 30 * errs[4] > 900 * errs[6]  # the error falls fast with the order K (∝ h^K)


def test_main_runs_and_reports(ex, capsys):
    pytest.importorskip("scipy")
    assert ex.main([]) == 0
    out = capsys.readouterr().out
    assert "Taylor coefficients by jet" in out and "Taylor order 8" in out
