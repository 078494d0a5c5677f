"""M1: peak memory of reverse mode — W1's value_and_grad, and W2's trajectory with and without checkpointing.

Peak memory is tracemalloc's peak of Python-visible allocations (NumPy's array buffers
included) during one call, after a warm-up call. The trajectory is W2's
x_{i+1} = tanh(W x_i + θ) for n steps with loss ½‖x_n‖² + Σ_i ½‖x_i‖²/n (the sum carried along
the loop); its gradient with
respect to θ is taken by plain reverse mode over pb.scan (stores every step's
intermediates: O(n)) and by pb.checkpoint_scan (stores √n segment boundaries and one
segment's intermediates at a time: O(√n)).
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np

from .common import Config, Peers, WorkloadResult, fmt_ratio, md_table, rng, target

KEY = "M1"
TITLE = "Peak memory of reverse mode (W1, and W2's trajectory with and without checkpointing)"
FULL = {"k": 64, "steps": (50, 500, 5000, 10000)}
QUICK = {"k": 32, "steps": (50, 500, 2000)}
TINY = {"k": 8, "steps": (10, 40)}


def _peak(fn) -> tuple[float, float]:
    """(peak bytes, seconds) of one call."""
    fn()
    tracemalloc.start()
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return float(peak), dt


def trajectory_loss(scanner, k: int):
    """½‖x_n‖² + Σ_i ½‖x_i‖²/n, the running cost carried along (no per-step outputs to store)."""
    import pullback.numpy as pnp

    def loss(theta, W, x0, n):
        def step(carry, _):
            x, cost = carry
            x = pnp.tanh(W @ x + theta)
            return (x, cost + 0.5 * pnp.sum(x * x) / n), None

        (xn, cost), _ = scanner(step, (x0, 0.0), None, length=n)
        return 0.5 * pnp.sum(xn * xn) + cost

    return loss


def run(cfg: Config, peers: Peers) -> WorkloadResult:
    import pullback as pb

    t_start = time.perf_counter()
    size = cfg.pick(FULL, QUICK, TINY)
    k = size["k"]
    g = rng(cfg, 11)
    W = g.standard_normal((k, k)) / np.sqrt(k)
    theta, x0 = g.standard_normal(k), g.standard_normal(k)
    res = WorkloadResult(KEY, TITLE, {"state k": k, "steps n": list(size["steps"]),
                                      "measure": "tracemalloc peak during one call"})
    plain = pb.grad(trajectory_loss(pb.scan, k))
    ckpt = pb.grad(trajectory_loss(pb.checkpoint_scan, k))
    rows, series = [], {"n": [], "plain": [], "checkpoint": []}
    for n in size["steps"]:
        gp, gc_ = plain(theta, W, x0, n), ckpt(theta, W, x0, n)
        if not np.allclose(gp, gc_, rtol=1e-12, atol=1e-14):
            res.notes.append(f"n={n}: checkpointed gradient differs from the plain one by {np.abs(gp - gc_).max():.2e}")
        mp, tp = _peak(lambda n=n: plain(theta, W, x0, n))
        mc, tc = _peak(lambda n=n: ckpt(theta, W, x0, n))
        rows.append([n, f"{mp / 1e6:.2f}", f"{tp * 1e3:.1f}", f"{mc / 1e6:.2f}", f"{tc * 1e3:.1f}",
                     fmt_ratio(mp / mc), fmt_ratio(tc / tp)])
        series["n"].append(n)
        series["plain"].append(mp)
        series["checkpoint"].append(mc)
        print(f"  [M1] n={n}: plain {mp / 1e6:.2f} MB {tp * 1e3:.0f} ms; checkpoint {mc / 1e6:.2f} MB "
              f"{tc * 1e3:.0f} ms", flush=True)

    import pullback.numpy as pnp

    from . import w1_mlp

    params, X, Y = w1_mlp.make_problem(rng(cfg, 1), **cfg.pick(w1_mlp.FULL, w1_mlp.QUICK, w1_mlp.TINY))
    vg = pb.value_and_grad(lambda p: w1_mlp.loss(pnp, p, X, Y))
    m, t = _peak(lambda: vg(params))
    mh, th = _peak(lambda: w1_mlp.hand_value_and_grad(params, X, Y))
    mf, tf = _peak(lambda: w1_mlp.loss(np, params, X, Y))
    w1_rows = [["W1 value_and_grad (pullback)", f"{m / 1e6:.2f}", f"{t * 1e3:.1f}"],
               ["W1 hand-written backprop (NumPy)", f"{mh / 1e6:.2f}", f"{th * 1e3:.1f}"],
               ["W1 loss alone (NumPy)", f"{mf / 1e6:.2f}", f"{tf * 1e3:.1f}"]]

    parts = [md_table(["steps n", "plain: peak MB", "plain: ms", "checkpoint_scan: peak MB", "checkpoint_scan: ms",
                       "memory saved ×", "time cost ×"], rows),
             "Gradient of the trajectory loss with respect to θ; both methods agree to 1e-12."]
    parts.append(md_table(["computation", "peak MB", "ms (one traced call)"], w1_rows))
    res.markdown = "\n\n".join(parts)
    ns = np.array(series["n"], float)
    growth_plain = series["plain"][-1] / series["plain"][0]
    growth_ck = series["checkpoint"][-1] / series["checkpoint"][0]
    res.targets = [
        target(KEY, f"checkpoint_scan peak memory growth, n={int(ns[0])}→{int(ns[-1])} "
                    f"(plain: ×{growth_plain:.1f}, n grows ×{ns[-1] / ns[0]:.0f})",
               f"≤ √ × {np.sqrt(ns[-1] / ns[0]):.1f}", growth_ck, lambda r: r <= 1.5 * np.sqrt(ns[-1] / ns[0])),
    ]
    res.data = {"plot_series": series}
    res.seconds = time.perf_counter() - t_start
    return res


def plot(plt, r: WorkloadResult):
    s = r.data["plot_series"]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(s["n"], np.array(s["plain"]) / 1e6, "o-", label="reverse mode over pb.scan")
    ax.loglog(s["n"], np.array(s["checkpoint"]) / 1e6, "s-", label="pb.checkpoint_scan")
    n = np.array(s["n"], float)
    ax.loglog(n, s["checkpoint"][0] / 1e6 * np.sqrt(n / n[0]), ":", color="gray", label="∝ √n")
    ax.set_xlabel("steps n")
    ax.set_ylabel("peak memory [MB]")
    ax.set_title("M1: memory of the W2 trajectory gradient")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return fig
