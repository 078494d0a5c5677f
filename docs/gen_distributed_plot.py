"""Generate docs/img/distributed_scaling.png for docs/distributed.md: W9's logistic-regression gradient
on a 2-worker LocalCluster as the rows grow (10⁵ … 10⁷), against the same gradient in memory.

    PYTHONPATH=src python3 docs/gen_distributed_plot.py [--rows 1e5,1e6,1e7] [--out docs/img/distributed_scaling.png]

Per row count: the data are generated and persisted on the workers; pullback's and the hand-written
Dask value_and_grad are timed (best of 2 calls: graph + compute + result back) and their memory
measured (client tracemalloc peak, workers' peak-RSS growth); then the same data in this process,
pullback's gradient on NumPy arrays (time, tracemalloc peak). Prints the numbers it plots.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def best_of(fn, n: int = 2) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure(rows_list: list[int], features: int = 8) -> dict:
    sys.path[:0] = [os.path.join(ROOT, "src"), ROOT]
    import dask
    import dask.array as da
    from dask.distributed import wait

    import pullback as pb

    w9 = importlib.import_module("benchmarks.w9_distributed")
    vg = pb.value_and_grad(w9.loss)
    params = (np.full(features, 0.1), np.float64(0.1))
    out = {k: [] for k in ("rows", "pb_s", "hand_s", "client_mb", "worker_growth_mb", "numpy_s", "numpy_mb")}
    with w9.local_cluster(processes=True) as client:
        for rows in rows_list:
            chunk = min(5 * 10**5, rows // 4)
            X, y = client.persist(list(w9.make_data(rows, features, chunk)))
            wait([X, y])
            pb_call = w9.computed(lambda X=X, y=y: vg(params, X, y))
            hand_call = w9.computed(lambda X=X, y=y: w9.hand_value_and_grad(da, params, X, y))
            pb_call()  # warm-up
            mem = w9.memory_of(client, pb_call)
            growth = max(p - b for p, b in zip(mem["worker_peak"], mem["worker_before"]))
            out["rows"].append(rows)
            out["pb_s"].append(best_of(pb_call))
            out["hand_s"].append(best_of(hand_call))
            out["client_mb"].append(mem["client_traced"] / 1e6)
            out["worker_growth_mb"].append(growth / 1e6)
            del X, y, pb_call, hand_call
            Xn, yn = dask.compute(*w9.make_data(rows, features, chunk), scheduler="sync")
            out["numpy_s"].append(best_of(lambda Xn=Xn, yn=yn: vg(params, Xn, yn)))
            out["numpy_mb"].append(w9.traced_peak(lambda Xn=Xn, yn=yn: vg(params, Xn, yn)) / 1e6)
            del Xn, yn
            print({k: (f"{v[-1]:.3g}" if isinstance(v[-1], float) else v[-1]) for k, v in out.items()}, flush=True)
    return out


def plot(data: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = np.array(data["rows"], float)
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(9.5, 3.8))
    ax_t.loglog(rows, data["pb_s"], "o-", label="pb.value_and_grad on the cluster")
    ax_t.loglog(rows, data["hand_s"], "s--", label="hand-written dask.array gradient")
    ax_t.loglog(rows, data["numpy_s"], "^:", label="pullback on NumPy, in memory")
    ax_t.set_xlabel("rows (× 8 features)")
    ax_t.set_ylabel("seconds per value_and_grad")
    ax_t.legend(fontsize=8)
    ax_m.loglog(rows, data["client_mb"], "o-", label="client, cluster (tracemalloc)")
    ax_m.loglog(rows, data["worker_growth_mb"], "d-", label="largest worker, cluster (peak-RSS growth)")
    ax_m.loglog(rows, data["numpy_mb"], "^:", label="pullback on NumPy, in memory (tracemalloc)")
    ax_m.set_xlabel("rows (× 8 features)")
    ax_m.set_ylabel("MB allocated by one call (data excluded)")
    ax_m.legend(fontsize=8)
    fig.suptitle("Logistic-regression gradient on a 2-worker LocalCluster vs in memory", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="1e5,1e6,1e7", help="comma-separated row counts")
    ap.add_argument("--out", default=os.path.join(HERE, "img", "distributed_scaling.png"))
    args = ap.parse_args(argv)
    data = measure([int(float(r)) for r in args.rows.split(",")])
    plot(data, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
