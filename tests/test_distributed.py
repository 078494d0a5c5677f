"""pullback on a dask.distributed cluster: derivatives of functions of chunked Dask arrays stay lazy
(no task runs until the user computes), then run on the workers and equal NumPy's to 1e-12.

One LocalCluster for the module: two worker processes of one thread, loopback only, no dashboard,
short timeouts; it is shut down at the end. The data (10⁵ rows) are made with NumPy, so that the
NumPy reference sees exactly the same numbers, and sent to the workers in chunks.
"""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("dask.distributed")
scipy_optimize = pytest.importorskip("scipy.optimize")

ROWS, FEATURES, CHUNK, HIDDEN = 100_000, 8, 25_000, 16
TIMEOUT = 30  # seconds: cluster start, connection, any one computation
TOL = 1e-12


@pytest.fixture(scope="module")
def client():
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": f"{TIMEOUT}s",
                          "distributed.comm.timeouts.tcp": f"{TIMEOUT}s"}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                      dashboard_address=None, timeout=TIMEOUT, memory_limit="2GiB") as cluster:
            with distributed.Client(cluster, timeout=TIMEOUT) as c:
                assert len(c.scheduler_info()["workers"]) == 2
                yield c


@pytest.fixture(scope="module")
def data(client):
    """(X, y) as NumPy arrays and as Dask arrays held by the workers, in 4 chunks of rows."""
    gen = np.random.default_rng(13)
    X = gen.standard_normal((ROWS, FEATURES))
    w_true = np.linspace(-1.0, 1.0, FEATURES)
    y = (gen.random(ROWS) < 1.0 / (1.0 + np.exp(-(X @ w_true)))).astype(np.float64)
    dX = da.from_array(X, chunks=(CHUNK, FEATURES))
    dy = da.from_array(y, chunks=CHUNK)
    dX, dy = client.persist([dX, dy])
    distributed.wait([dX, dy], timeout=TIMEOUT)
    return X, y, dX, dy


def compute(client, *values):
    """The pytrees `values` with their Dask leaves run on the cluster (one submission) and brought back,
    within TIMEOUT; NumPy leaves pass through."""
    leaves, treedef = pb.tree_util.tree_flatten(values)
    lazy = [i for i, leaf in enumerate(leaves) if isinstance(leaf, da.Array)]
    for i, future in zip(lazy, client.compute([leaves[i] for i in lazy]), strict=True):
        leaves[i] = future.result(timeout=TIMEOUT)
    return pb.tree_util.tree_unflatten(treedef, leaves)


def logistic_loss(params, X, y):
    """(1/n) Σ log(1 + e^{z}) − y z + 10⁻³/2 ‖w‖², z = X w + b."""
    w, b = params
    z = X @ w + b
    return pnp.mean(pnp.logaddexp(0.0, z) - y * z) + 5e-4 * pnp.sum(w * w)


def mlp_loss(params, X, y):
    """A one-hidden-layer tanh network, mean squared error: (1/n) Σ (v·tanh(W x + c) + d − y)²."""
    W, c, v, d = params
    h = pnp.tanh(X @ W + c)
    r = h @ v + d - y
    return pnp.mean(r * r)


def logistic_params(seed=0):
    gen = np.random.default_rng(seed)
    return (0.1 * gen.standard_normal(FEATURES), np.float64(0.2))


def mlp_params(seed=1):
    gen = np.random.default_rng(seed)
    return (gen.standard_normal((FEATURES, HIDDEN)) / np.sqrt(FEATURES), 0.1 * gen.standard_normal(HIDDEN),
            gen.standard_normal(HIDDEN) / np.sqrt(HIDDEN), np.float64(0.0))


def hand_logistic_value_and_grad(params, X, y):
    """The reference: ∂L/∂w = Xᵀ(σ(z) − y)/n + 10⁻³ w, ∂L/∂b = Σ(σ(z) − y)/n, in NumPy."""
    w, b = params
    z = X @ w + b
    r = (0.5 * (1.0 + np.tanh(0.5 * z)) - y) / len(y)
    return np.mean(np.logaddexp(0.0, z) - y * z) + 5e-4 * np.sum(w * w), (X.T @ r + 1e-3 * w, np.sum(r))


def assert_close(got, want, tol=TOL):
    """Every leaf of `got` equals `want`'s to `tol` relative to the leaf's largest entry."""
    got_leaves, want_leaves = pb.tree_util.tree_leaves(got), pb.tree_util.tree_leaves(want)
    assert len(got_leaves) == len(want_leaves)
    for g, w in zip(got_leaves, want_leaves, strict=True):
        g, w = np.asarray(g), np.asarray(w)
        assert type(g) is np.ndarray and g.shape == w.shape and g.dtype == w.dtype
        scale = max(float(np.max(np.abs(w))), 1e-300)
        assert float(np.max(np.abs(g - w))) <= tol * scale, (g, w)


def is_lazy(tree) -> bool:
    return all(isinstance(leaf, da.Array) for leaf in pb.tree_util.tree_leaves(tree))


def test_cluster_fixture_has_two_single_threaded_loopback_workers(client):
    workers = client.scheduler_info()["workers"]
    assert sorted(w["nthreads"] for w in workers.values()) == [1, 1]
    assert all(addr.startswith("tcp://127.0.0.1:") for addr in workers)


def test_value_and_grad_of_dask_data_is_lazy_and_runs_no_task(client, data):
    _, _, dX, dy = data
    params = logistic_params()
    with distributed.get_task_stream(client) as stream:
        value, grad = pb.value_and_grad(logistic_loss)(params, dX, dy)
    assert is_lazy((value, grad)), [type(g) for g in pb.tree_util.tree_leaves((value, grad))]
    assert stream.data == [], f"{len(stream.data)} tasks ran on the cluster before anything was computed"
    assert grad[0].shape == (FEATURES,) and grad[1].shape == ()


def test_logistic_value_and_grad_on_the_cluster_equals_numpy(client, data):
    X, y, dX, dy = data
    params = logistic_params()
    value, grad = compute(client, *pb.value_and_grad(logistic_loss)(params, dX, dy))
    want_value, want_grad = pb.value_and_grad(logistic_loss)(params, X, y)
    assert_close(value, want_value)
    assert_close(grad, want_grad)
    hand_value, hand_grad = hand_logistic_value_and_grad(params, X, y)
    assert_close(value, np.float64(hand_value))
    assert_close(grad, (hand_grad[0], np.float64(hand_grad[1])))


def test_mlp_gradient_on_the_cluster_equals_numpy(client, data):
    X, y, dX, dy = data
    params = mlp_params()
    (grad,) = compute(client, pb.grad(mlp_loss)(params, dX, dy))
    assert_close(grad, pb.grad(mlp_loss)(params, X, y))


def test_hvp_and_jvp_on_the_cluster_equal_numpy(client, data):
    X, y, dX, dy = data
    params = logistic_params(2)
    direction = logistic_params(3)
    lazy = pb.hvp(lambda p: logistic_loss(p, dX, dy), (params,), (direction,))
    assert is_lazy(lazy)
    assert_close(compute(client, *lazy), pb.hvp(lambda p: logistic_loss(p, X, y), (params,), (direction,)))
    out, tangent = compute(client, *pb.jvp(lambda p: logistic_loss(p, dX, dy), (params,), (direction,)))
    want_out, want_tangent = pb.jvp(lambda p: logistic_loss(p, X, y), (params,), (direction,))
    assert_close((out, tangent), (want_out, want_tangent))


def test_jit_of_value_and_grad_takes_dask_data_as_arguments(client, data):
    X, y, dX, dy = data
    vg = pb.jit(pb.value_and_grad(logistic_loss))
    first = vg(logistic_params(4), dX, dy)
    assert is_lazy(first)
    # a second dataset of the same shape: the compiled function must not have kept the first one
    dX2, dy2 = client.persist([2.0 * dX, 1.0 - dy])
    for params, (xa, ya), (xn, yn) in ((logistic_params(4), (dX, dy), (X, y)),
                                        (logistic_params(5), (dX2, dy2), (2.0 * X, 1.0 - y))):
        assert_close(compute(client, *vg(params, xa, ya)), pb.value_and_grad(logistic_loss)(params, xn, yn))


def test_lbfgs_fit_on_the_cluster_follows_the_numpy_fit(client, data):
    X, y, dX, dy = data
    vg = pb.value_and_grad(logistic_loss)

    def objective(Xa, ya, on_cluster):
        def fun(theta):
            out = vg((theta[:-1], theta[-1]), Xa, ya)
            value, (gw, gb) = compute(client, *out) if on_cluster else out
            return float(value), np.append(gw, gb)

        return fun

    opts = dict(jac=True, method="L-BFGS-B", options={"maxiter": 6})
    theta0 = np.zeros(FEATURES + 1)
    fit = scipy_optimize.minimize(objective(dX, dy, True), theta0, **opts)
    ref = scipy_optimize.minimize(objective(X, y, False), theta0, **opts)
    assert fit.nit == ref.nit == 6 and fit.nfev == ref.nfev
    np.testing.assert_allclose(fit.x, ref.x, rtol=1e-10, atol=1e-12)
    assert abs(fit.fun - ref.fun) <= TOL * abs(ref.fun)


def test_inputs_keep_their_chunks_and_are_not_computed_into_the_client(client, data):
    _, _, dX, dy = data
    keys, chunks = (dX.name, dy.name), (dX.chunks, dy.chunks)
    value, grad = pb.value_and_grad(logistic_loss)(logistic_params(), dX, dy)
    assert (dX.name, dy.name) == keys and (dX.chunks, dy.chunks) == chunks
    # the gradient's graph reads the persisted chunks: the data are not embedded into it from the client
    names = {key[0] if isinstance(key, tuple) else key for key in grad[0].__dask_graph__().keys()}
    assert dX.name in names and dy.name in names


def test_w9_benchmark_gradients_agree_with_numpy_and_finite_differences():
    """The W9 workload's two gradients (pullback's and the hand-written one) on NumPy data, without a cluster."""
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    from benchmarks import w9_distributed as w9

    gen = np.random.default_rng(9)
    X = gen.standard_normal((500, 3))
    y = (gen.random(500) < 0.5).astype(np.float64)
    params = (gen.standard_normal(3), np.float64(-0.3))
    value, grad = pb.value_and_grad(w9.loss)(params, X, y)
    hand_value, hand_grad = w9.hand_value_and_grad(np, params, X, y)
    assert_close(value, np.float64(hand_value))
    assert_close(grad, (hand_grad[0], np.float64(hand_grad[1])))
    assert abs(w9.hand_loss(np, params, X, y) - hand_value) <= TOL * abs(hand_value)
    eps, theta = 1e-6, np.append(*params)
    f = lambda t: w9.hand_loss(np, (t[:-1], t[-1]), X, y)
    fd = [(f(theta + eps * e) - f(theta - eps * e)) / (2 * eps) for e in np.eye(4)]
    np.testing.assert_allclose(np.append(*hand_grad), fd, rtol=1e-6, atol=1e-9)
