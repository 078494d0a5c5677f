"""examples/sparse_newton_pde.py: Newton with the sparse Jacobian converges to the manufactured
solution, quadratically at the end, and its Jacobian equals the closed form and dense jacfwd."""

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
def ex():
    if "sparse_newton_pde" not in sys.modules:
        spec = importlib.util.spec_from_file_location("sparse_newton_pde", EXAMPLES / "sparse_newton_pde.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["sparse_newton_pde"] = module
        spec.loader.exec_module(module)
    return sys.modules["sparse_newton_pde"]


def test_newton_reaches_the_manufactured_solution_quadratically(ex):
    r = ex.newton(m=30, amp=20.0)
    assert np.max(np.abs(r["u"] - r["u_star"])) < 1e-10
    h = r["history"]
    assert h[-1] <= 1e-10 * h[0] and len(h) <= 16
    # the last steps are quadratic: |F_{k+1}| ≈ C |F_k|², far below linear
    assert h[-1] < 1e-3 * h[-2]
    assert r["ncolors"] == 5 and r["nnz"] == 5 * 30 * 30 - 4 * 30


def test_sparse_jacobian_equals_dense_jacfwd_and_finite_differences(ex):
    m = 5
    _, f = ex.manufactured(m, 3.0)
    F = ex.residual(pnp, m, f)
    u = np.random.default_rng(0).uniform(-1.0, 1.0, m * m)
    A = pb.SparseJacobian(F, u)(u).toarray()
    np.testing.assert_allclose(A, pb.jacfwd(F)(u), rtol=1e-13, atol=1e-9)
    Fn = ex.residual(np, m, f)
    v = np.random.default_rng(1).standard_normal(m * m)
    eps = 1e-6
    fd = (Fn(u + eps * v) - Fn(u - eps * v)) / (2 * eps)
    np.testing.assert_allclose(A @ v, fd, rtol=1e-6, atol=1e-4)


def test_main_runs_and_reports(ex, capsys):
    assert ex.main(["--m", "12"]) == 0
    out = capsys.readouterr().out
    assert "5 colours" in out and "max |u − u*|" in out
