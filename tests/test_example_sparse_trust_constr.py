"""examples/sparse_trust_constr.py: trust-constr with the sparse Hessian reaches the KKT point of the
obstacle problem, the same one as with the dense Hessian, and the Hessian equals the dense one."""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import numpy as np
import pytest

import pullback as pb

pytest.importorskip("scipy")
EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def ex():
    if "sparse_trust_constr" not in sys.modules:
        spec = importlib.util.spec_from_file_location("sparse_trust_constr", EXAMPLES / "sparse_trust_constr.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["sparse_trust_constr"] = module
        spec.loader.exec_module(module)
    return sys.modules["sparse_trust_constr"]


def test_sparse_hessian_equals_dense_and_finite_differences(ex):
    m = 6
    E = ex.energy(m)
    u = np.random.default_rng(0).uniform(-1.0, 1.0, m * m)
    H = pb.SparseHessian(E, u)
    assert H.sparsity.exact and H.pattern.nnz == 5 * m * m - 4 * m
    dense = np.asarray(pb.hessian(E)(u))
    np.testing.assert_allclose(H(u).toarray(), dense, rtol=1e-13, atol=1e-13)
    v = np.random.default_rng(1).standard_normal(m * m)
    g = pb.grad(E)
    eps = 1e-6
    fd = (g(u + eps * v) - g(u - eps * v)) / (2 * eps)
    np.testing.assert_allclose(H(u) @ v, fd, rtol=1e-6, atol=1e-6)


def test_solution_satisfies_kkt_and_matches_the_dense_hessian_run(ex):
    m = 12
    r = ex.solve(m)
    assert r["status"] in (1, 2) and r["violation"] <= 1e-12 and r["contact"] > 0
    u, psi = r["u"], r["psi"]
    g = np.asarray(pb.grad(ex.energy(m))(u))
    contact = u - psi < 1e-6
    assert np.all(u >= psi - 1e-12)
    assert np.max(np.abs(g[~contact])) < 1e-6  # stationary off the obstacle
    assert np.all(g[contact] > -1e-6)  # pushed against it on contact (multiplier ≥ 0)
    dense = ex.solve(m, sparse=False)
    np.testing.assert_allclose(u, dense["u"], atol=1e-6)


def test_main_runs_and_reports(ex, capsys):
    assert ex.main(["--m", "16"]) == 0
    out = capsys.readouterr().out
    assert "5 colours" in out and "touches the obstacle" in out
