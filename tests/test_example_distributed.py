"""examples/distributed_regression.py, small (10⁵ rows): its pieces agree with NumPy to 1e-12, and its
main() starts a 2-worker LocalCluster, fits, reports and shuts the cluster down."""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import numpy as np
import pytest

import pullback as pb

da = pytest.importorskip("dask.array")
pytest.importorskip("dask.distributed")
pytest.importorskip("scipy.optimize")
EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def ex():
    if "distributed_regression" not in sys.modules:
        spec = importlib.util.spec_from_file_location("distributed_regression", EXAMPLES / "distributed_regression.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["distributed_regression"] = module
        spec.loader.exec_module(module)
    return sys.modules["distributed_regression"]


def small_data(ex, rows=4000, chunk=1000):
    """The example's dataset, small, as Dask arrays (local scheduler) and as NumPy arrays."""
    X, y = ex.make_data(rows, 5, chunk, seed=3)
    Xn, yn = X.compute(scheduler="sync"), y.compute(scheduler="sync")
    return X, y, Xn, yn


def test_hand_written_gradient_matches_finite_differences(ex):
    _, _, X, y = small_data(ex)
    theta = np.random.default_rng(0).standard_normal(6) * 0.3
    _, (gw, gb) = ex.hand_value_and_grad(np, ex.split(theta), X, y)
    g = np.append(gw, gb)
    loss = lambda t: ex.hand_value_and_grad(np, ex.split(t), X, y)[0]
    eps = 1e-6
    fd = np.array([(loss(theta + eps * e) - loss(theta - eps * e)) / (2 * eps) for e in np.eye(6)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)


def test_pullback_gradient_of_the_dask_data_equals_the_hand_written_numpy_one(ex):
    X, y, Xn, yn = small_data(ex)
    params = ex.split(np.linspace(-0.5, 0.5, 6))
    value, grad = ex.value_and_grad(params, X, y)
    value, grad = da.compute(value, grad, scheduler="sync")
    want_value, (want_w, want_b) = ex.hand_value_and_grad(np, params, Xn, yn)
    assert abs(value - want_value) <= 1e-12 * abs(want_value)
    got = np.append(*grad)
    want = np.append(want_w, want_b)
    assert np.max(np.abs(got - want)) <= 1e-12 * np.max(np.abs(want))
    assert all(type(a) is np.ndarray for a in pb.tree_util.tree_leaves(grad))


def test_objective_gives_scipy_floats_and_the_flat_gradient(ex):
    X, y, Xn, yn = small_data(ex)
    log: list = []
    theta = np.full(6, 0.05)
    value, grad = ex.objective(X, y, log=log)(theta)
    assert type(value) is float and grad.shape == (6,) and grad.dtype == np.float64 and len(log) == 1
    want_value, want_grad = ex.objective(Xn, yn)(theta)
    assert abs(value - want_value) <= 1e-12 * abs(want_value)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-12, atol=1e-15)


def test_main_fits_on_a_local_cluster_and_reports(ex, capsys):
    from dask.distributed import default_client

    assert ex.main(["--rows", "1e5", "--chunk", "2.5e4", "--features", "4", "--maxiter", "20"]) == 0
    with pytest.raises(ValueError):
        default_client()  # the example's Client and LocalCluster are closed
    out = capsys.readouterr().out
    assert "cluster: 2 workers at tcp://127.0.0.1:" in out
    assert "100,000 × 4 float64 in 4 chunks" in out
    assert "L-BFGS-B:" in out and "max relative difference" in out
    fitted = out.split("θ fitted [")[1].split("]")[0]
    theta = np.array(fitted.split(), dtype=float)
    # 10⁵ rows: the fit recovers the generating parameters to a few hundredths
    assert np.max(np.abs(theta - ex.true_params(4))) < 0.1


def test_main_runs_on_an_existing_cluster_given_its_address(ex, capsys):
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, timeout=30) as cluster:
        assert ex.main(["--address", cluster.scheduler_address, "--rows", "2e4", "--chunk", "1e4",
                        "--features", "3", "--maxiter", "2"]) == 0
        assert len(cluster.scheduler_info["workers"]) == 1  # the example used this cluster and left it running
    out = capsys.readouterr().out
    assert f"cluster: 1 workers at {cluster.scheduler_address}" in out
