"""Logistic regression on a 10⁷-row chunked dataset, its gradient and an L-BFGS fit on a Dask cluster.

The data never reach this process. X (rows × features) and the labels y are Dask arrays, generated
chunk by chunk on the workers (`persist`) and kept there. The loss is written once with
pullback.numpy, as for NumPy arrays:

    L(θ) = (1/n) Σ_i [log(1 + e^{z_i}) − y_i z_i] + (λ/2) ‖w‖²,   z = X w + b,   θ = (w, b).

`pb.value_and_grad(loss)(θ, X, y)` returns Dask arrays — a graph, nothing computed yet — and one
`dask.compute` runs the loss and its gradient together on the cluster: per chunk, X_k w + b, then
X_kᵀ r_k, summed across chunks; only the features-long gradient comes back. scipy.optimize.minimize
(L-BFGS-B, jac=True) drives the fit from this process. The gradient is checked against the
hand-written one, (1/n) Xᵀ(σ(z) − y) + λw, evaluated by the same cluster.

By default a `LocalCluster(n_workers=2, threads_per_worker=1)` is started (loopback only, no
dashboard) and closed at the end. On a real cluster the same code runs unchanged: pass the
scheduler's address (`--address tcp://scheduler:8786`) and size `--rows` to the cluster's memory.

Run:  python examples/distributed_regression.py [--rows 1e7] [--features 8] [--chunk 5e5] [--maxiter 30]
      python examples/distributed_regression.py --address tcp://scheduler:8786 --rows 1e9
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator

import dask
import dask.array as da
import numpy as np
from dask.distributed import Client, LocalCluster, wait
from scipy.optimize import minimize

import pullback as pb
import pullback.numpy as pnp

L2 = 1e-3  # ridge strength λ (the bias is not penalised)


def true_params(features: int) -> np.ndarray:
    """The θ = (w, b) the labels are drawn from."""
    return np.append(np.linspace(-1.0, 1.0, features), 0.25)


def make_data(rows: int, features: int, chunk: int, seed: int = 0) -> tuple[da.Array, da.Array]:
    """X ~ N(0, 1) and y ~ Bernoulli(σ(X w* + b*)), lazily, in chunks of `chunk` rows (float64)."""
    rng = da.random.default_rng(seed)
    X = rng.standard_normal((rows, features), chunks=(chunk, features))
    theta = true_params(features)
    p = sigmoid(da, X @ theta[:-1] + theta[-1])
    y = (rng.random(rows, chunks=chunk) < p).astype(np.float64)
    return X, y


def sigmoid(xp, z):
    """σ(z) = 1 / (1 + e^{−z}), written without overflow: (1 + tanh(z/2)) / 2."""
    return 0.5 * (1.0 + xp.tanh(0.5 * z))


def loss(params, X, y, l2: float = L2):
    """Mean logistic loss plus ridge at params = (w, b); X, y may be NumPy or Dask arrays."""
    w, b = params
    z = X @ w + b
    return pnp.mean(pnp.logaddexp(0.0, z) - y * z) + 0.5 * l2 * pnp.sum(w * w)


value_and_grad = pb.value_and_grad(loss)


def hand_value_and_grad(xp, params, X, y, l2: float = L2):
    """The same loss and its gradient (∂L/∂w, ∂L/∂b) written out, with xp = numpy or dask.array: the reference."""
    w, b = params
    z = X @ w + b
    r = (sigmoid(xp, z) - y) / X.shape[0]
    value = xp.mean(xp.logaddexp(0.0, z) - y * z) + 0.5 * l2 * np.sum(w * w)
    return value, (X.T @ r + l2 * w, r.sum())


def split(theta: np.ndarray) -> tuple[np.ndarray, np.float64]:
    """θ = (w, b) as one vector (scipy's view) → the pair the loss takes."""
    return theta[:-1], theta[-1]


def objective(X, y, value_and_grad=value_and_grad, log: list | None = None):
    """θ ↦ (L(θ), ∇L(θ)) as NumPy, for scipy: `value_and_grad`'s lazy result, computed in one go on the cluster."""

    def fun(theta):
        t0 = time.perf_counter()
        value, (grad_w, grad_b) = dask.compute(*value_and_grad(split(theta), X, y))
        if log is not None:
            log.append(time.perf_counter() - t0)
        return float(value), np.append(grad_w, grad_b).astype(np.float64)

    return fun


def fit(X, y, maxiter: int = 30, log: list | None = None):
    """L-BFGS-B from θ = 0 with pullback's gradient (scipy.optimize.minimize, jac=True)."""
    theta0 = np.zeros(X.shape[1] + 1)
    return minimize(objective(X, y, log=log), theta0, jac=True, method="L-BFGS-B",
                    options={"maxiter": maxiter, "gtol": 1e-9})


@contextlib.contextmanager
def cluster_client(address: str | None = None, n_workers: int = 2, timeout: float = 60.0) -> Iterator[Client]:
    """A Client on the scheduler at `address`, or on a LocalCluster started here and closed on exit.

    The LocalCluster has `n_workers` processes of one thread each, listens on 127.0.0.1 only and
    serves no dashboard. Everything computed inside the block runs on that cluster (the Client is
    the default scheduler).
    """
    if address:
        with Client(address, timeout=timeout) as client:
            yield client
        return
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, timeout=timeout) as cluster, Client(cluster, timeout=timeout) as client:
        yield client


def worker_peak_rss(client: Client) -> dict:
    """Each worker's peak resident memory (bytes) since the last `reset_worker_peak_rss`; None off Linux."""

    def peak_rss() -> int | None:  # defined here so that it travels by value (the workers need not import this file)
        try:
            with open("/proc/self/status") as status:
                return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
        except (OSError, StopIteration):
            return None

    return client.run(peak_rss)


def reset_worker_peak_rss(client: Client) -> None:
    """Restart the workers' peak-RSS counters (Linux: writing 5 to /proc/self/clear_refs; elsewhere nothing)."""

    def reset() -> None:
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass

    client.run(reset)


def _count(text: str) -> int:
    return int(float(text))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=_count, default=10**7, help="number of rows n (1e7 accepted)")
    ap.add_argument("--features", type=int, default=8)
    ap.add_argument("--chunk", type=_count, default=5 * 10**5, help="rows per chunk")
    ap.add_argument("--maxiter", type=int, default=30, help="L-BFGS iterations at most")
    ap.add_argument("--address", default=None, help="scheduler address; default: start a 2-worker LocalCluster")
    ap.add_argument("--workers", type=int, default=2, help="LocalCluster workers (ignored with --address)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    t_start = time.perf_counter()
    with cluster_client(args.address, args.workers) as client:
        print(f"cluster: {len(client.scheduler_info()['workers'])} workers at {client.scheduler.address} "
              f"({time.perf_counter() - t_start:.1f} s)")
        t0 = time.perf_counter()
        X, y = client.persist(list(make_data(args.rows, args.features, args.chunk, args.seed)))
        wait([X, y])
        print(f"data: X {X.shape[0]:,} × {X.shape[1]} float64 in {X.numblocks[0]} chunks "
              f"({X.nbytes / 1e6:.0f} MB on the workers), generated in {time.perf_counter() - t0:.1f} s")

        params = split(np.full(args.features + 1, 0.1))
        reset_worker_peak_rss(client)
        t0 = time.perf_counter()
        lazy_value, lazy_grad = value_and_grad(params, X, y)
        t_graph = time.perf_counter() - t0
        value, grad = dask.compute(lazy_value, lazy_grad)
        t_grad = time.perf_counter() - t0
        ref_value, ref_grad = dask.compute(*hand_value_and_grad(da, params, X, y))
        grad, ref_grad = np.append(*grad), np.append(*ref_grad)
        err = float(np.max(np.abs(grad - ref_grad)) / np.max(np.abs(ref_grad)))
        kind = type(lazy_grad[0])
        print(f"value_and_grad: ({kind.__module__}.{kind.__name__}, ...) built in {t_graph:.2f} s, "
              f"computed in {t_grad - t_graph:.2f} s; vs the hand-written gradient: max relative difference "
              f"{err:.1e}, loss difference {abs(value - ref_value):.1e}")
        peaks = [p for p in worker_peak_rss(client).values() if p is not None]
        if peaks:
            print("worker peak RSS: " + ", ".join(f"{p / 1e6:.0f} MB" for p in peaks))

        times: list = []
        t0 = time.perf_counter()
        res = fit(X, y, args.maxiter, log=times)
        t_fit = time.perf_counter() - t0
        w_err = float(np.max(np.abs(res.x - true_params(args.features))))
        print(f"L-BFGS-B: {res.nit} iterations, {res.nfev} evaluations ({np.median(times):.2f} s median each), "
              f"{t_fit:.1f} s; loss {res.fun:.6f}, |∇L|∞ = {np.max(np.abs(res.jac)):.1e}; {res.message}")
        print(f"θ fitted {np.array2string(res.x, precision=3)}\n  vs true "
              f"{np.array2string(true_params(args.features), precision=3)} (max difference {w_err:.3f})")
    print(f"total {time.perf_counter() - t_start:.1f} s (cluster start and stop included)")
    return 0 if err <= 1e-12 and abs(value - ref_value) <= 1e-12 else 1


if __name__ == "__main__":
    sys.exit(main())
