"""W5 — JVP of the W1 loss (tanh MLP 784-512-512-10, batch 128) in a random direction of the params.

pb.jvp(loss, (params,), (direction,)); the value is checked against ⟨∇loss, direction⟩
from the hand backprop of W1. There is no hand-written NumPy jvp: the table's NumPy
column is the plain function, the denominator of the DESIGN ratios.
"""

from __future__ import annotations

import time

import numpy as np

from . import w1_mlp
from .common import (
    Config,
    Peers,
    Recorder,
    WorkloadResult,
    attempt,
    jax_block,
    rng,
)
from .tables import derivative_report

KEY, TITLE = "W5", "JVP of the MLP loss"


def make_direction(gen, params):
    return [gen.standard_normal(p.shape) for p in params]


def run(cfg: Config, peers: Peers) -> WorkloadResult:
    import pullback as pb
    import pullback.numpy as pnp

    t_start = time.perf_counter()
    size = cfg.pick(w1_mlp.FULL, w1_mlp.QUICK, w1_mlp.TINY)
    params, X, Y = w1_mlp.make_problem(rng(cfg, 1), **size)
    d = make_direction(rng(cfg, 5), params)
    res = WorkloadResult(KEY, TITLE, {"model": "W1's loss", "direction": "standard normal, all parameters"})
    rec = Recorder(cfg, KEY)
    _, g_hand = w1_mlp.hand_value_and_grad(params, X, Y)
    jv_ref = sum(float(np.sum(g * t)) for g, t in zip(g_hand, d, strict=True))
    loss_pb = lambda p: w1_mlp.loss(pnp, p, X, Y)
    _, jv = pb.jvp(loss_pb, (params,), (d,))
    assert abs(jv - jv_ref) <= 1e-10 * max(1.0, abs(jv_ref)), (jv, jv_ref)

    rec.group("pullback", {
        "f": lambda: loss_pb(params),
        "jvp": lambda: pb.jvp(loss_pb, (params,), (d,)),
    })
    rec.time("numpy", "f", lambda: w1_mlp.loss(np, params, X, Y))
    if hasattr(pb, "jit"):  # staged: the data are arguments, as for jax.jit
        loss_data = lambda p, X_, Y_: w1_mlp.loss(pnp, p, X_, Y_)
        pj_f = pb.jit(loss_data)
        pj_jvp = pb.jit(lambda p, t, X_, Y_: pb.jvp(lambda q: loss_data(q, X_, Y_), (p,), (t,)))
        if attempt(res, "pullback.jit", lambda: _check(res, "pullback.jit", jv_ref, pj_jvp(params, d, X, Y)[1])):
            rec.group("pullback.jit", {
                "f": lambda: pj_f(params, X, Y),
                "jvp": lambda: pj_jvp(params, d, X, Y),
            })
    if peers.has("autograd"):
        loss_ag = lambda p: w1_mlp.loss(peers.anp, p, X, Y)
        try:
            ag_jvp = peers.autograd.make_jvp(loss_ag)
            _check(res, "autograd", jv_ref, ag_jvp(params)(d)[1])
            rec.group("autograd", {
                "f": lambda: loss_ag(params),
                "jvp": lambda: ag_jvp(params)(d),
            })
        except Exception as e:  # noqa: BLE001 - autograd's forward mode is partial
            res.notes.append(f"autograd's forward mode failed: {type(e).__name__}: {e}")
    if peers.has("torch"):
        torch = peers.torch
        tp, td = tuple(torch.tensor(p) for p in params), tuple(torch.tensor(t) for t in d)
        tX, tY = torch.tensor(X), torch.tensor(Y)
        loss_t = lambda *p: w1_mlp.torch_loss(torch, p, tX, tY)
        t_jvp = lambda: torch.func.jvp(loss_t, tp, td)
        _check(res, "torch", jv_ref, float(t_jvp()[1]))
        rec.group("torch", {
            "f": lambda: loss_t(*tp),
            "jvp": t_jvp,
        })
    if peers.has("jax"):
        jax, jnp = peers.jax, peers.jnp
        jp, jd = [jnp.asarray(p) for p in params], [jnp.asarray(t) for t in d]
        jX, jY = jnp.asarray(X), jnp.asarray(Y)
        loss_j = lambda p: w1_mlp.loss(jnp, p, jX, jY)
        j_jvp = lambda p, t: jax.jvp(loss_j, (p,), (t,))
        _check(res, "jax", jv_ref, float(j_jvp(jp, jd)[1]))
        rec.group("jax", {
            "f": jax_block(jax, lambda: loss_j(jp)),
            "jvp": jax_block(jax, lambda: j_jvp(jp, jd)),
        })
        # under jit the data are arguments too, so that XLA cannot fold them in as constants
        loss_data = lambda p, X_, Y_: w1_mlp.loss(jnp, p, X_, Y_)
        jit_f = jax.jit(loss_data)
        jit_jvp = jax.jit(lambda p, t, X_, Y_: jax.jvp(lambda q: loss_data(q, X_, Y_), (p,), (t,)))
        rec.group("jax.jit", {
            "f": jax_block(jax, lambda: jit_f(jp, jX, jY)),
            "jvp": jax_block(jax, lambda: jit_jvp(jp, jd, jX, jY)),
        })

    how = "autograd: make_jvp (forward mode); torch: torch.func.jvp (forward-mode AD); JAX: jax.jvp."
    derivative_report(res, rec, peers, "jvp", how, eager_goal=2.5, jit_goal=2.0)
    res.data = {"times": rec.raw(),
                "plot_series": {fw: (rec.get(fw, "f"), rec.get(fw, "jvp"))
                                for fw in ("pullback", "pullback.jit", "autograd", "torch", "jax", "jax.jit")
                                if rec.get(fw, "f") is not None and rec.get(fw, "jvp") is not None}}
    res.seconds = time.perf_counter() - t_start
    return res


def _check(res, name, ref, got):
    if abs(float(got) - ref) > 1e-8 * max(1.0, abs(ref)):
        res.notes.append(f"WARNING: {name}'s jvp ({float(got)!r}) differs from ⟨∇f, v⟩ = {ref!r}.")
