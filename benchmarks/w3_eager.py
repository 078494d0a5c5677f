"""W3 — eager overhead: many tiny primitives, where per-op Python work is everything.

    for _ in range(iters): x = sin(x) * 0.999 + 0.01 * x * x
    return sum(x)

on a scalar and on a length-1000 vector. Each iteration is 5 primitive operations
(sin, mul by 0.999, mul 0.01·x, mul by x, add); the final sum is not counted. The figure
is µs per primitive op of value_and_grad (time ÷ 5·iters), per framework.
"""

from __future__ import annotations

import importlib.util
import time

import numpy as np

from .common import (
    Config,
    Peers,
    Recorder,
    WorkloadResult,
    attempt,
    first_call_seconds,
    fmt_ratio,
    jax_block,
    md_table,
    ratio,
    target,
)

KEY, TITLE = "W3", "eager overhead (µs per primitive op)"
OPS_PER_ITER = 5

FULL = dict(iters=1000, n_vec=1000)
QUICK = dict(iters=100, n_vec=1000)
TINY = dict(iters=5, n_vec=4)


def make_f(xp, iters: int):
    sin, total = xp.sin, xp.sum

    def f(x):
        for _ in range(iters):
            x = sin(x) * 0.999 + 0.01 * x * x
        return total(x)

    return f


def hand_value_and_grad(x, iters: int):
    """Forward keeping the iterates, backward by hand: d/dx [sin(x)·0.999 + 0.01x²] = 0.999 cos x + 0.02x."""
    xs = []
    for _ in range(iters):
        xs.append(x)
        x = np.sin(x) * 0.999 + 0.01 * x * x
    g = np.ones_like(x)
    for xi in reversed(xs):
        g = g * (np.cos(xi) * 0.999 + 0.02 * xi)
    return np.sum(x), g


def torch_f(torch, iters):
    def f(x):
        for _ in range(iters):
            x = torch.sin(x) * 0.999 + 0.01 * x * x
        return torch.sum(x)

    return f


def run(cfg: Config, peers: Peers) -> WorkloadResult:
    t_start = time.perf_counter()
    size = cfg.pick(FULL, QUICK, TINY)
    iters = size["iters"]
    nops = OPS_PER_ITER * iters
    res = WorkloadResult(KEY, TITLE, {"iterations": iters, "primitive ops counted": f"{OPS_PER_ITER} per iteration",
                                      "shapes": f"scalar, ({size['n_vec']},)"})
    inputs = {"scalar": np.float64(0.5), "vector": np.linspace(-1.0, 1.0, size["n_vec"])}
    recs = {shape: _bench_shape(cfg, peers, res, shape, x, iters) for shape, x in inputs.items()}

    # ---- report: µs per op
    fws = [("pullback", "pullback"), ("pullback.jit", "pullback.jit"), ("pullback.jit[numba]", "pullback.jit[numba]"),
           ("numpy", "NumPy (by hand)"),
           ("autograd", "autograd"), ("torch", "PyTorch eager"), ("jax", "JAX eager"), ("jax.jit", "jax.jit")]
    us = {shape: {fw: {c: (None if rec.get(fw, c) is None else rec.get(fw, c) / nops * 1e6) for c in ("f", "vg")}
                  for fw, _ in fws} for shape, rec in recs.items()}
    rows = []
    for fw, label in fws:
        if all(us[s][fw]["vg"] is None and us[s][fw]["f"] is None for s in us):
            continue
        row = [label]
        for shape in inputs:
            u = us[shape][fw]
            pb_vg = us[shape]["pullback"]["vg"]
            row += [fmt_ratio(u["f"]), fmt_ratio(u["vg"]), fmt_ratio(ratio(u["vg"], u["f"])),
                    "1" if fw == "pullback" else fmt_ratio(ratio(pb_vg, u["vg"]))]
        rows.append(row)
    header = ["framework"]
    for shape in inputs:
        header += [f"{shape}: f µs/op", f"{shape}: value_and_grad µs/op", f"{shape}: vg ÷ f",
                   f"{shape}: pullback ÷ this"]
    skipped = "\n".join(f"- {p}: skipped, {peers.notes[p]}" for p in ("autograd", "torch", "jax")
                        if p in peers.notes)
    if cfg.quick and peers.has("jax"):
        skipped += "\n- JAX eager: skipped in --quick (slow per-op dispatch; the full run measures it)"
    res.markdown = "\n\n".join(filter(None, [
        md_table(header, rows),
        f"µs/op = median time ÷ ({OPS_PER_ITER} ops × {iters} iterations). The NumPy row is plain NumPy "
        "(function) and a hand-written backward loop (value_and_grad): the floor for this workload.",
        skipped]))
    res.targets = []
    for shape in inputs:
        pb_us, ag_us = us[shape]["pullback"]["vg"], us[shape]["autograd"]["vg"]
        res.targets.append(target(KEY, f"value_and_grad µs/op, {shape} (autograd: "
                                        f"{fmt_ratio(ag_us) if ag_us else '—'})",
                                  "< autograd", pb_us if ag_us is not None else None,
                                  lambda r, a=ag_us: r < a, note="" if ag_us else "autograd not available"))
    res.targets.append(target(KEY, "value_and_grad µs/op, scalar (DESIGN eager target)", "≤ 7",
                              us["scalar"]["pullback"]["vg"], lambda r: r <= 7))
    res.targets.append(target(KEY, "pullback.jit value_and_grad µs/op, scalar (DESIGN jit target)", "≤ 0.5",
                              us["scalar"]["pullback.jit"]["vg"], lambda r: r <= 0.5))
    res.data = {"times": {s: r.raw() for s, r in recs.items()}, "us_per_op": us,
                "plot_series": {"us_per_op": us, "labels": dict(fws)}}
    res.seconds = time.perf_counter() - t_start
    return res


def _bench_shape(cfg: Config, peers: Peers, res: WorkloadResult, shape: str, x, iters: int) -> Recorder:
    """Check and time every framework on one input."""
    import pullback as pb
    import pullback.numpy as pnp

    rec = Recorder(cfg, f"{KEY} {shape}")
    f_pb = make_f(pnp, iters)
    vg = pb.value_and_grad(f_pb)
    v_ref, g_ref = hand_value_and_grad(x, iters)
    v, g = vg(x)
    assert np.allclose(g, g_ref, rtol=1e-10, atol=1e-12) and np.isclose(v, v_ref, rtol=1e-12)
    rec.group("pullback", {
        "f": lambda: f_pb(x),
        "vg": lambda: vg(x),
    })
    f_np = make_f(np, iters)
    rec.group("numpy", {
        "f": lambda: f_np(x),
        "vg": lambda: hand_value_and_grad(x, iters),
    })
    if hasattr(pb, "jit"):
        pj_f, pj_vg = pb.jit(f_pb), pb.jit(vg)
        first = first_call_seconds(lambda: pj_vg(x))
        res.notes.append(f"pullback.jit value_and_grad, {shape}: first call (trace + simplify + compile + run) "
                         f"{first:.3f} s")
        if attempt(res, f"pullback.jit {shape}", lambda: _check(res, f"pullback.jit {shape}", g_ref, pj_vg(x)[1])):
            rec.group("pullback.jit", {
                "f": lambda: pj_f(x),
                "vg": lambda: pj_vg(x),
            })
    if hasattr(pb, "jit") and importlib.util.find_spec("numba") is not None:  # the numba backend (docs/jit.md)
        nb_f, nb_vg = pb.jit(f_pb, backend="numba"), pb.jit(vg, backend="numba")
        cold = first_call_seconds(lambda: nb_vg(x))
        if attempt(res, f"pullback.jit[numba] {shape}",
                   lambda: _check(res, f"pullback.jit[numba] {shape}", g_ref, nb_vg(x)[1])):
            rec.group("pullback.jit[numba]", compiled=True, fns={
                "f": lambda: nb_f(x),
                "vg": lambda: nb_vg(x),
            })
            warm = rec.get("pullback.jit[numba]", "vg")
            res.notes.append(f"pullback.jit[numba] value_and_grad, {shape}: first call (trace + numba compile, or "
                             f"the disk cache) {cold:.2f} s; warm {1e6 * (warm or 0):.1f} µs")
    if peers.has("autograd"):
        f_ag = make_f(peers.anp, iters)
        ag_vg = peers.autograd.value_and_grad(f_ag)
        _check(res, f"autograd {shape}", g_ref, ag_vg(x)[1])
        rec.group("autograd", {
            "f": lambda: f_ag(x),
            "vg": lambda: ag_vg(x),
        })
    if peers.has("torch"):
        torch = peers.torch
        f_t = torch_f(torch, iters)
        tx = torch.tensor(x)

        def t_vg():
            xg = tx.detach().requires_grad_(True)
            out = f_t(xg)
            (g,) = torch.autograd.grad(out, (xg,))
            return out.detach(), g

        _check(res, f"torch {shape}", g_ref, t_vg()[1].numpy())
        rec.group("torch", {
            "f": lambda: f_t(tx),
            "vg": t_vg,
        })
    if peers.has("jax"):
        jax, jnp = peers.jax, peers.jnp
        f_j = make_f(jnp, iters)
        jx = jnp.asarray(x)
        j_vg = jax.value_and_grad(f_j)
        jit_f, jit_vg = jax.jit(f_j), jax.jit(j_vg)
        _check(res, f"jax {shape}", g_ref, np.asarray((jit_vg if cfg.quick else j_vg)(jx)[1]))
        if not cfg.quick:  # eager JAX: ~200 µs per op, seconds per call; the full run measures it
            rec.group("jax", {
                "f": jax_block(jax, lambda: f_j(jx)),
                "vg": jax_block(jax, lambda: j_vg(jx)),
            })
        rec.group("jax.jit", {
            "f": jax_block(jax, lambda: jit_f(jx)),
            "vg": jax_block(jax, lambda: jit_vg(jx)),
        })
    return rec


def _check(res, name, g_ref, g):
    g = np.asarray(g, dtype=float)
    if not np.allclose(g, g_ref, rtol=1e-8, atol=1e-10):
        res.notes.append(f"WARNING: {name}'s gradient differs from the hand gradient.")
