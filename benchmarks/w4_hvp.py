"""W4 — Hessian-vector product of the extended Rosenbrock function, N = 100 000.

    f(x) = Σ_{i<N/2} 100 (x_{2i+1} − x_{2i}²)² + (1 − x_{2i})²

pb.hvp(f, (x,), (v,)) returns (∇f, ∇²f·v) by forward-over-reverse; the NumPy peer computes
the same pair from the closed-form gradient and 2×2 Hessian blocks.
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
    jax_block,
    rng,
)
from .tables import derivative_report

KEY, TITLE = "W4", "Hessian-vector product (extended Rosenbrock)"

FULL = dict(N=100_000)
QUICK = dict(N=10_000)
TINY = dict(N=6)


def make_f(xp):
    def f(x):
        a, b = x[0::2], x[1::2]
        return xp.sum(100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2)

    return f


def hand_grad_hvp(x, v):
    a, b = x[0::2], x[1::2]
    va, vb = v[0::2], v[1::2]
    r = b - a * a
    g = np.empty_like(x)
    g[0::2] = -400.0 * a * r - 2.0 * (1.0 - a)
    g[1::2] = 200.0 * r
    hv = np.empty_like(x)
    hv[0::2] = (1200.0 * a * a - 400.0 * b + 2.0) * va - 400.0 * a * vb
    hv[1::2] = -400.0 * a * va + 200.0 * vb
    return g, hv


def make_problem(gen: np.random.Generator, N: int):
    return gen.uniform(-1.5, 1.5, N), gen.standard_normal(N)


def run(cfg: Config, peers: Peers) -> WorkloadResult:
    import pullback as pb
    import pullback.numpy as pnp

    t_start = time.perf_counter()
    N = cfg.pick(FULL, QUICK, TINY)["N"]
    x, v = make_problem(rng(cfg, 4), N)
    res = WorkloadResult(KEY, TITLE, {"N": N, "method": "pb.hvp (forward-over-reverse), returns (∇f, ∇²f·v)"})
    rec = Recorder(cfg, KEY)
    f_pb = make_f(pnp)
    g_ref, hv_ref = hand_grad_hvp(x, v)
    g, hv = pb.hvp(f_pb, (x,), (v,))
    scale = max(1.0, float(np.max(np.abs(hv_ref))))
    assert np.max(np.abs(hv - hv_ref)) <= 1e-10 * scale and np.allclose(g, g_ref, rtol=1e-12, atol=1e-9)

    rec.group("pullback", {
        "f": lambda: f_pb(x),
        "hvp": lambda: pb.hvp(f_pb, (x,), (v,)),
    })
    f_np = make_f(np)
    rec.group("numpy", {
        "f": lambda: f_np(x),
        "hvp": lambda: hand_grad_hvp(x, v),
    })
    if hasattr(pb, "jit"):
        pj_f, pj_hvp = pb.jit(f_pb), pb.jit(lambda x_, v_: pb.hvp(f_pb, (x_,), (v_,)))
        if attempt(res, "pullback.jit", lambda: _check(res, "pullback.jit", hv_ref, pj_hvp(x, v)[1])):
            rec.group("pullback.jit", {
                "f": lambda: pj_f(x),
                "hvp": lambda: pj_hvp(x, v),
            })
        if importlib.util.find_spec("numba") is not None:  # the numba backend (docs/jit.md), beside jax.jit
            nb_f = pb.jit(f_pb, backend="numba")
            nb_hvp = pb.jit(lambda x_, v_: pb.hvp(f_pb, (x_,), (v_,)), backend="numba")
            cold = first_call_seconds(lambda: nb_hvp(x, v))
            if attempt(res, "pullback.jit[numba]", lambda: _check(res, "pullback.jit[numba]", hv_ref, nb_hvp(x, v)[1])):
                rec.group("pullback.jit[numba]", compiled=True, fns={
                    "f": lambda: nb_f(x),
                    "hvp": lambda: nb_hvp(x, v),
                })
                res.notes.append(f"pullback.jit[numba]: first call (trace + numba compile, or the disk cache) "
                                 f"{cold:.2f} s; warm hvp {1e6 * (rec.get('pullback.jit[numba]', 'hvp') or 0):.1f} µs.")
    if peers.has("autograd"):
        f_ag = make_f(peers.anp)
        ag_hvp = peers.autograd.hessian_vector_product(f_ag)
        _check(res, "autograd", hv_ref, ag_hvp(x, v))
        rec.group("autograd", {
            "f": lambda: f_ag(x),
            "hvp": lambda: ag_hvp(x, v),
        })
    if peers.has("torch"):
        torch = peers.torch
        f_t = make_f(torch)
        tx, tv = torch.tensor(x), torch.tensor(v)
        t_hvp = lambda: torch.func.jvp(torch.func.grad(f_t), (tx,), (tv,))
        _check(res, "torch", hv_ref, t_hvp()[1].numpy())
        rec.group("torch", {
            "f": lambda: f_t(tx),
            "hvp": t_hvp,
        })
    if peers.has("jax"):
        jax, jnp = peers.jax, peers.jnp
        f_j = make_f(jnp)
        jx, jv = jnp.asarray(x), jnp.asarray(v)
        j_hvp = lambda x_, v_: jax.jvp(jax.grad(f_j), (x_,), (v_,))
        _check(res, "jax", hv_ref, np.asarray(j_hvp(jx, jv)[1]))
        rec.group("jax", {
            "f": jax_block(jax, lambda: f_j(jx)),
            "hvp": jax_block(jax, lambda: j_hvp(jx, jv)),
        })
        jit_f, jit_hvp = jax.jit(f_j), jax.jit(j_hvp)
        rec.group("jax.jit", {
            "f": jax_block(jax, lambda: jit_f(jx)),
            "hvp": jax_block(jax, lambda: jit_hvp(jx, jv)),
        })

    how = ("autograd uses hessian_vector_product (reverse-over-reverse); torch and JAX jvp of grad "
           "(forward-over-reverse).")
    derivative_report(res, rec, peers, "hvp", how, eager_goal=5, jit_goal=2.1)
    res.data = {"times": rec.raw(), "plot_series": _series(rec, "hvp")}
    res.seconds = time.perf_counter() - t_start
    return res


def _series(rec, case):
    fws = ("pullback", "pullback.jit", "pullback.jit[numba]", "numpy", "autograd", "torch", "jax", "jax.jit")
    return {fw: (rec.get(fw, "f"), rec.get(fw, case)) for fw in fws
            if rec.get(fw, "f") is not None and rec.get(fw, case) is not None}


def _check(res, name, ref, got):
    got = np.asarray(got, dtype=float)
    if np.max(np.abs(got - ref)) > 1e-8 * max(1.0, float(np.max(np.abs(ref)))):
        res.notes.append(f"WARNING: {name}'s Hessian-vector product differs from the hand one.")
