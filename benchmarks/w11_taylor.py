"""W11 — K-th directional derivative dᴷ/dtᴷ f(x + t v) at t = 0, K = 1..8: Taylor mode vs nested jvp.

    f(x) = tanh(x) · exp(sin(x)),  x, v ∈ R^N (elementwise)

pb.taylor_derivatives (one jet pass, Cauchy-product and recurrence rules, O(K²) work) against K
nested pb.jvp calls (work growing exponentially in K). Targets: jet ≤ 2× nested jvp at K = 2 and
≥ 5× faster than nested jvp at K = 6. jax.experimental.jet is timed as a peer when JAX is installed.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .common import Config, Peers, Recorder, WorkloadResult, fmt_ratio, fmt_time, jax_block, md_table, rng, target

KEY, TITLE = "W11", "K-th directional derivative: jet vs nested jvp"

FULL = dict(N=1000, Ks=(1, 2, 3, 4, 5, 6, 7, 8))
QUICK = dict(N=1000, Ks=(1, 2, 4, 6))
TINY = dict(N=5, Ks=(1, 2, 6))


def make_f(xp):
    def f(x):
        return xp.tanh(x) * xp.exp(xp.sin(x))

    return f


def nested(f, v, K: int):
    """x ↦ dᴷ/dtᴷ f(x + t v) at 0 by K nested jvps."""
    import pullback as pb

    g = f
    for _ in range(K):
        g = (lambda h: (lambda x: pb.jvp(h, (x,), (v,))[1]))(g)
    return g


def fd_derivative(f, x, v, K: int, h: float = 0.05) -> np.ndarray:
    """Central finite-difference K-th derivative along v (a coarse check of the K ≤ 3 results)."""
    return sum((-1) ** j * math.comb(K, j) * f(x + (K / 2 - j) * h * v) for j in range(K + 1)) / h**K


def run(cfg: Config, peers: Peers) -> WorkloadResult:
    import pullback as pb
    import pullback.numpy as pnp

    t_start = time.perf_counter()
    p = cfg.pick(FULL, QUICK, TINY)
    N, Ks = p["N"], p["Ks"]
    gen = rng(cfg, 11)
    x, v = gen.uniform(-1.0, 1.0, N), gen.standard_normal(N)
    res = WorkloadResult(KEY, TITLE, {"N": N, "K": list(Ks), "f": "tanh(x)·exp(sin(x)), elementwise"})
    rec = Recorder(cfg, KEY)
    f = make_f(pnp)
    jet_j = None
    if peers.has("jax"):
        try:
            from jax.experimental import jet as jet_j
        except ImportError as e:
            res.notes.append(f"jax.experimental.jet not importable: {e}")
    rows, speed = [], {}
    for K in Ks:
        d_jet = pb.taylor_derivatives(f, x, v, K)[-1]
        g = nested(f, v, K)
        d_nest = np.asarray(g(x))
        scale = max(1.0, float(np.max(np.abs(d_nest))))
        if np.max(np.abs(d_jet - d_nest)) > 1e-9 * scale:
            res.notes.append(f"WARNING: K={K}: jet and nested jvp differ by {np.max(np.abs(d_jet - d_nest)):.1e}")
        if K <= 3:
            fd = fd_derivative(make_f(np), x, v, K, h=1e-3 if K == 1 else 1e-2)
            if np.max(np.abs(fd - d_nest)) > 1e-3 * scale:
                res.notes.append(f"WARNING: K={K}: nested jvp differs from finite differences")
        fw = f"K={K}"
        cases = {"jet": lambda K=K: pb.taylor_derivatives(f, x, v, K), "nested jvp": lambda g=g: g(x)}
        rec.group(fw, cases)
        t_jax = None
        if jet_j is not None:
            jnp = peers.jnp
            fj, jx, jv = make_f(jnp), jnp.asarray(x), jnp.asarray(v)
            terms = [jv] + [jnp.zeros_like(jv)] * (K - 1)
            call = jax_block(peers.jax, lambda fj=fj, jx=jx, terms=terms: jet_j.jet(fj, (jx,), (terms,))[1])
            t_jax = rec.time(f"jax K={K}", "jax jet", call)
            t_jax = t_jax.median if t_jax is not None else None
        tj, tn = rec.get(fw, "jet"), rec.get(fw, "nested jvp")
        speed[K] = tn / tj if tj and tn else None
        rows.append([K, fmt_time(tj), fmt_time(tn), fmt_ratio(speed[K]), fmt_time(t_jax)])
    res.markdown = "\n\n".join([
        md_table(["K", "pb jet (taylor_derivatives)", "pb nested jvp", "nested ÷ jet", "jax.experimental.jet (eager)"],
                 rows),
        "Every K: jet's K-th derivative equals nested jvp's (K ≤ 3 also against finite differences).",
    ])
    res.targets = [
        target(KEY, "jet ÷ nested jvp at K = 2", "≤ 2", (1 / speed[2]) if speed.get(2) else None, lambda r: r <= 2.0),
        target(KEY, "nested jvp ÷ jet at K = 6", "≥ 5", speed.get(6), lambda r: r >= 5.0),
    ]
    res.data = {"times": rec.raw(), "speedup": speed}
    res.seconds = time.perf_counter() - t_start
    return res
