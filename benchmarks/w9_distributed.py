"""W9 — distributed gradient (Dask): a 10⁷-row logistic-regression loss in chunks on a 2-worker LocalCluster.

    L(w, b) = (1/n) Σ_i [log(1 + e^{z_i}) − y_i z_i] + (λ/2)‖w‖²,   z = X w + b,   X: 10⁷ × 8 float64

X and y are Dask arrays generated on the workers (chunks of 5·10⁵ rows, persisted: 640 MB + 80 MB
spread over the two workers). Each timed call builds the graph on the client and computes it on the
cluster, as an optimiser's iteration does:
- f: the loss alone, written with dask.array;
- hand-written: the loss and its gradient (1/n) Xᵀ(σ(z) − y) + λw written with dask.array (one compute);
- pullback: `pb.value_and_grad(loss)` of the loss written with pullback.numpy, then one compute;
- pullback.jit: the same, jitted (when jit accepts Dask arrays).
Memory: the client's tracemalloc peak and peak-RSS growth during one call, each worker's peak RSS
(/proc VmHWM, reset before the call), and for comparison the tracemalloc peak of the in-memory NumPy
gradient (the whole dataset in one process). Targets (issue 13): pullback ≤ 1.3× the hand-written
gradient's time, client peak ≤ 200 MB, worker peak ≤ 1.5× the hand-written one's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import time
import tracemalloc

import numpy as np

from .common import Config, Peers, Recorder, WorkloadResult, attempt, fmt_ratio, fmt_time, md_table, target

KEY, TITLE = "W9", "Distributed gradient (Dask): 10⁷-row logistic regression on a 2-worker LocalCluster"
FULL = dict(rows=10**7, features=8, chunk=5 * 10**5, processes=True)
QUICK = dict(rows=10**6, features=8, chunk=10**5, processes=True)
TINY = dict(rows=4000, features=4, chunk=1000, processes=False)  # in-process workers: the runner's self-test
L2 = 1e-3
WORKERS = 2


def loss(params, X, y):
    """The loss in pullback.numpy (X, y NumPy or Dask arrays)."""
    import pullback.numpy as pnp

    w, b = params
    z = X @ w + b
    return pnp.mean(pnp.logaddexp(0.0, z) - y * z) + 0.5 * L2 * pnp.sum(w * w)


def hand_loss(xp, params, X, y):
    """The loss with xp = numpy or dask.array."""
    w, b = params
    z = X @ w + b
    return xp.mean(xp.logaddexp(0.0, z) - y * z) + 0.5 * L2 * np.sum(w * w)


def hand_value_and_grad(xp, params, X, y):
    """(L, (∂L/∂w, ∂L/∂b)) written out: r = (σ(z) − y)/n, ∂L/∂w = Xᵀr + λw, ∂L/∂b = Σr; σ(z) = (1 + tanh(z/2))/2."""
    w, b = params
    z = X @ w + b
    r = (0.5 * (1.0 + xp.tanh(0.5 * z)) - y) / X.shape[0]
    return xp.mean(xp.logaddexp(0.0, z) - y * z) + 0.5 * L2 * np.sum(w * w), (X.T @ r + L2 * w, r.sum())


def make_data(rows: int, features: int, chunk: int, seed: int = 9):
    """X ~ N(0, 1), y ~ Bernoulli(σ(X w* + 0.25)) as lazy Dask arrays (generated where they are computed)."""
    import dask.array as da

    rng = da.random.default_rng(seed)
    X = rng.standard_normal((rows, features), chunks=(chunk, features))
    z = X @ np.linspace(-1.0, 1.0, features) + 0.25
    y = (rng.random(rows, chunks=chunk) < 0.5 * (1.0 + da.tanh(0.5 * z))).astype(np.float64)
    return X, y


def flat(tree) -> np.ndarray:
    """A computed (value, (gw, gb)) → one vector [value, gw..., gb]."""
    value, (gw, gb) = tree
    return np.concatenate([np.atleast_1d(np.asarray(value, np.float64)), np.asarray(gw, np.float64),
                           np.atleast_1d(np.asarray(gb, np.float64))])


def computed(make):
    """A call that builds a lazy result with make() and computes it on the default (cluster) scheduler."""
    import dask

    return lambda: dask.compute(make())[0]


def peak_rss_bytes() -> int:
    """This process's peak RSS since the last reset (Linux /proc VmHWM)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))


def reset_peak_rss() -> None:
    """Restart the peak-RSS counter (Linux: 5 written to /proc/self/clear_refs)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def memory_of(client, fn) -> dict:
    """One call of fn() measured: client tracemalloc peak and peak-RSS growth, each worker's RSS before and peak."""
    linux = sys.platform.startswith("linux")
    if linux:
        before = client.run(rss_bytes)
        client.run(reset_peak_rss)
        reset_peak_rss()
    client_before = rss_bytes() if linux else 0
    tracemalloc.start()
    fn()
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out = {"client_traced": float(traced)}
    if linux:
        out["client_rss_growth"] = float(peak_rss_bytes() - client_before)
        peaks = client.run(peak_rss_bytes)
        out["worker_before"] = [float(before[a]) for a in sorted(peaks)]
        out["worker_peak"] = [float(peaks[a]) for a in sorted(peaks)]
    return out


def traced_peak(fn) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return float(peak)


@contextlib.contextmanager
def local_cluster(processes: bool):
    from dask.distributed import Client, LocalCluster

    where = {"host": "127.0.0.1"} if processes else {}  # loopback only; in-process workers use no network at all
    with LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=processes, dashboard_address=None,
                      timeout=60, **where) as cluster, Client(cluster, timeout=60) as client:
        yield client


def run(cfg: Config, peers: Peers) -> WorkloadResult:
    t_start = time.perf_counter()
    size = cfg.pick(FULL, QUICK, TINY)
    res = WorkloadResult(KEY, TITLE, {"rows": f"{size['rows']:.0e}", "features": size["features"],
                                      "chunk rows": f"{size['chunk']:.0e}", "workers": f"{WORKERS} × 1 thread",
                                      "worker processes": size["processes"]})
    try:
        import dask.distributed  # noqa: F401 - only whether it is there
    except ImportError as e:
        res.markdown = f"Skipped: dask.distributed is not importable ({e}); `pip install 'dask[distributed]'`."
        res.targets = [target(KEY, "pullback grad ÷ hand-written Dask grad", "≤ 1.3", None, bool,
                              "dask not installed")]
        res.seconds = time.perf_counter() - t_start
        return res
    gen = np.random.default_rng(cfg.seed + 9)
    params = (0.1 * gen.standard_normal(size["features"]), np.float64(0.1))
    # one call takes seconds at full size: a budget that still gives 3 samples per case (the default gives 1)
    timing_cfg = dataclasses.replace(cfg, budget=6.0 * cfg.budget / 0.4, min_repeats=3) if cfg.size == "full" else cfg
    rec, np_rec = Recorder(timing_cfg, KEY), Recorder(cfg, KEY)
    c = _on_cluster(rec, res, size, params)
    cases, memory, got = c["cases"], c["memory"], c["got"]
    m = _in_memory(np_rec, size, params)
    res.notes.append(f"pullback on the cluster vs the in-memory NumPy hand-written gradient: max relative difference "
                     f"{_relative(got, m['reference']):.1e}")
    data_bytes, np_mem, t_cluster, t_data = m["data_bytes"], m["memory"], c["cluster_s"], c["data_s"]
    t_build, t_hand_build = c["build_s"]["pullback"], c["build_s"]["hand"]

    f_t = rec.get("dask", "f (dask.array)")
    hand_t = rec.get("dask", "hand-written value_and_grad")
    pb_t = rec.get("dask", "pullback value_and_grad")
    rows = []
    for name in cases:
        t = rec.get("dask", name)
        mem = memory[name]
        peaks, before = mem.get("worker_peak", []), mem.get("worker_before", [])
        rows.append([name, fmt_time(t), fmt_ratio(t / f_t if t and f_t else None),
                     fmt_ratio(t / hand_t if t and hand_t else None), _mb(mem["client_traced"]),
                     _mb(mem.get("client_rss_growth")), " / ".join(_mb(p) for p in peaks) or "—",
                     " / ".join(_mb(p - b) for p, b in zip(peaks, before)) or "—"])
    np_rows = [[name, fmt_time(np_rec.get("numpy", name)), _mb(np_mem[name])] for name in np_mem]
    parts = [
        f"**pullback value_and_grad ÷ f = {fmt_ratio(pb_t / f_t if pb_t and f_t else None)}** on the cluster "
        f"(hand-written: {fmt_ratio(hand_t / f_t if hand_t and f_t else None)}). "
        f"Cluster start {t_cluster:.1f} s; data generated and persisted on the workers in {t_data:.1f} s "
        f"({data_bytes / 1e6:.0f} MB); graph building on the client: pullback {fmt_time(t_build)}, hand-written "
        f"{fmt_time(t_hand_build)} (included in the times below).",
        md_table(["on the cluster", "time per call", "÷ f", "÷ hand-written", "client tracemalloc peak MB",
                  "client peak-RSS growth MB", "worker peak RSS MB", "worker RSS growth MB"], rows),
        "A call = build the graph on the client + one `dask.compute` on the cluster + the features-long result "
        "back. Worker peak RSS includes the persisted chunks each worker holds; the growth column is the peak "
        "above the RSS the worker had just before the call.",
        f"For comparison, in memory in this process (the whole {data_bytes / 1e6:.0f} MB dataset here; the "
        "tracemalloc peak counts what one call allocates, not the data):",
        md_table(["in-memory NumPy, one thread", "time per call", "tracemalloc peak MB"], np_rows),
    ]
    res.markdown = "\n\n".join(parts)
    pb_mem, hand_mem = memory["pullback value_and_grad"], memory["hand-written value_and_grad"]
    worker_ratio = (max(pb_mem["worker_peak"]) / max(hand_mem["worker_peak"])
                    if pb_mem.get("worker_peak") and hand_mem.get("worker_peak") else None)
    res.targets = [
        target(KEY, "pullback ÷ hand-written Dask value_and_grad (time)", "≤ 1.3",
               pb_t / hand_t if pb_t and hand_t else None, lambda r: r <= 1.3),
        target(KEY, "client tracemalloc peak MB (pullback, one call)", "≤ 200", pb_mem["client_traced"] / 1e6,
               lambda r: r <= 200.0),
        target(KEY, "worker peak RSS, pullback ÷ hand-written", "≤ 1.5", worker_ratio, lambda r: r <= 1.5,
               "" if worker_ratio is not None else "needs Linux /proc"),
    ]
    res.data = {"times": {**rec.raw(), **np_rec.raw()}, "memory": memory, "numpy_memory": np_mem,
                "cluster_start_s": t_cluster, "data_s": t_data, "cluster_total_s": c["close_s"],
                "build_s": c["build_s"],
                "plot_series": {name: {"time": rec.get("dask", name), **memory[name]} for name in cases}}
    res.seconds = time.perf_counter() - t_start
    return res


def _on_cluster(rec: Recorder, res: WorkloadResult, size: dict, params) -> dict:
    """Start the cluster, make and persist the data, check and time the cases, measure their memory; close."""
    import dask.array as da
    from dask.distributed import wait

    import pullback as pb

    t0 = time.perf_counter()
    with local_cluster(size["processes"]) as client:
        t_cluster = time.perf_counter() - t0
        X, y = client.persist(list(make_data(size["rows"], size["features"], size["chunk"])))
        wait([X, y])
        t_data = time.perf_counter() - t0 - t_cluster
        vg = pb.value_and_grad(loss)
        cases = {
            "f (dask.array)": computed(lambda: hand_loss(da, params, X, y)),
            "hand-written value_and_grad": computed(lambda: hand_value_and_grad(da, params, X, y)),
            "pullback value_and_grad": computed(lambda: vg(params, X, y)),
        }
        ref = flat(cases["hand-written value_and_grad"]())
        got = flat(cases["pullback value_and_grad"]())
        res.notes.append(f"pullback's loss and gradient vs the hand-written Dask ones: max relative difference "
                         f"{_relative(got, ref):.1e}")
        kind = type(vg(params, X, y)[1][0])
        res.notes.append(f"pb.value_and_grad returns {kind.__module__}.{kind.__name__} "
                         f"({'lazy: computed by the caller' if kind is da.Array else 'computed on the client'})")
        jit_vg = pb.jit(vg)
        if attempt(res, "pullback.jit", lambda: np.testing.assert_allclose(
                flat(computed(lambda: jit_vg(params, X, y))()), ref, rtol=1e-12)):
            cases["pullback.jit value_and_grad"] = computed(lambda: jit_vg(params, X, y))
        rec.group("dask", cases)
        build = {"pullback": min(_seconds(lambda: vg(params, X, y)) for _ in range(3)),
                 "hand": min(_seconds(lambda: hand_value_and_grad(da, params, X, y)) for _ in range(3))}
        memory = {name: memory_of(client, fn) for name, fn in cases.items()}
    return {"cases": cases, "memory": memory, "got": got, "cluster_s": t_cluster, "data_s": t_data,
            "build_s": build, "close_s": time.perf_counter() - t0}


def _in_memory(rec: Recorder, size: dict, params) -> dict:
    """The same gradient on NumPy arrays in this process (the whole dataset here): peak and time, for comparison."""
    import dask

    import pullback as pb

    X, y = dask.compute(*make_data(size["rows"], size["features"], size["chunk"]), scheduler="sync")
    vg = pb.value_and_grad(loss)
    fns = {"hand-written NumPy": lambda: hand_value_and_grad(np, params, X, y),
           "pullback on NumPy arrays": lambda: vg(params, X, y)}
    memory = {name: traced_peak(fn) for name, fn in fns.items()}
    rec.group("numpy", fns)
    return {"memory": memory, "data_bytes": X.nbytes + y.nbytes, "reference": flat(fns["hand-written NumPy"]())}


def _relative(got: np.ndarray, want: np.ndarray) -> float:
    """max |got − want| over max |want| (one scale for the whole vector)."""
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


def _seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _mb(b) -> str:
    return "—" if b is None else f"{b / 1e6:.0f}" if abs(b) >= 10e6 else f"{b / 1e6:.1f}"


def plot(plt, r: WorkloadResult):
    """Time per call and worker peak memory for the cluster cases."""
    s = r.data["plot_series"]
    names = list(s)
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(9, 3.6))
    ax_t.barh(names, [s[n]["time"] or 0.0 for n in names], color="tab:blue")
    ax_t.set_xlabel("seconds per call (graph + compute)")
    pos = np.arange(len(names))
    ax_m.barh(pos - 0.2, [max(s[n].get("worker_peak", [0.0])) / 1e6 for n in names], height=0.4,
              color="tab:orange", label="largest worker peak RSS")
    ax_m.barh(pos + 0.2, [s[n]["client_traced"] / 1e6 for n in names], height=0.4, color="tab:green",
              label="client tracemalloc peak")
    ax_m.set_xlabel("MB")
    ax_m.set_yticks([])
    ax_m.legend(fontsize=8)
    fig.suptitle(f"{r.key}: {r.params['rows']} rows on {r.params['workers']}", fontsize=10)
    return fig
