"""W6 — dense Jacobian of g(x) = tanh(A x) · sum(x), R^200 → R^200, by jacfwd and jacrev.

pullback builds a Jacobian from one jvp (jacfwd) or one vjp (jacrev) per basis vector, like
autograd; torch.func and JAX batch the basis with vmap. The NumPy peer is the closed form
J = diag(1 − t²) A · sum(x) + t 1ᵀ, t = tanh(A x).
"""

from __future__ import annotations

import time

import numpy as np

from .common import (
    Config,
    Peers,
    Recorder,
    WorkloadResult,
    attempt,
    fmt_ratio,
    jax_block,
    ratio,
    rng,
    target,
)
from .tables import framework_table, skipped_note

KEY, TITLE = "W6", "dense Jacobian (jacfwd, jacrev)"

FULL = dict(n=200)
QUICK = dict(n=50)
TINY = dict(n=4)


def make_g(xp, A):
    def g(x):
        return xp.tanh(A @ x) * xp.sum(x)

    return g


def hand_jacobian(A, x):
    t = np.tanh(A @ x)
    return (1.0 - t * t)[:, None] * A * np.sum(x) + t[:, None]


def make_problem(gen: np.random.Generator, n: int):
    return gen.standard_normal((n, n)) / np.sqrt(n), gen.standard_normal(n) / np.sqrt(n)


def run(cfg: Config, peers: Peers) -> WorkloadResult:
    import pullback as pb
    import pullback.numpy as pnp

    t_start = time.perf_counter()
    n = cfg.pick(FULL, QUICK, TINY)["n"]
    A, x = make_problem(rng(cfg, 6), n)
    res = WorkloadResult(KEY, TITLE, {"n": n, "g": "tanh(A x) · sum(x)"})
    rec = Recorder(cfg, KEY)
    J_ref = hand_jacobian(A, x)
    g_pb = make_g(pnp, A)
    jf, jr = pb.jacfwd(g_pb), pb.jacrev(g_pb)
    for name, J in (("jacfwd", jf(x)), ("jacrev", jr(x))):
        assert J.shape == (n, n) and np.allclose(J, J_ref, rtol=1e-12, atol=1e-12), name

    rec.group("pullback", {
        "f": lambda: g_pb(x),
        "jacfwd": lambda: jf(x),
        "jacrev": lambda: jr(x),
    })
    rec.group("numpy", {
        "f": lambda: make_g(np, A)(x),
        "jacrev": lambda: hand_jacobian(A, x),
    })
    if hasattr(pb, "jit"):  # staged: A is an argument, as for jax.jit
        g_data = lambda x_, A_: pnp.tanh(A_ @ x_) * pnp.sum(x_)
        pj_f, pj_fwd, pj_rev = pb.jit(g_data), pb.jit(pb.jacfwd(g_data)), pb.jit(pb.jacrev(g_data))
        if attempt(res, "pullback.jit", lambda: (_check(res, "pullback.jit jacfwd", J_ref, pj_fwd(x, A)),
                                                 _check(res, "pullback.jit jacrev", J_ref, pj_rev(x, A)))):
            rec.group("pullback.jit", {
                "f": lambda: pj_f(x, A),
                "jacfwd": lambda: pj_fwd(x, A),
                "jacrev": lambda: pj_rev(x, A),
            })
    if peers.has("autograd"):
        g_ag = make_g(peers.anp, A)
        ag_jac = peers.autograd.jacobian(g_ag)
        _check(res, "autograd", J_ref, ag_jac(x))
        rec.group("autograd", {
            "f": lambda: g_ag(x),
            "jacrev": lambda: ag_jac(x),
        })
    if peers.has("torch"):
        torch = peers.torch
        tA, tx = torch.tensor(A), torch.tensor(x)
        g_t = make_g(torch, tA)
        t_fwd, t_rev = torch.func.jacfwd(g_t), torch.func.jacrev(g_t)
        _check(res, "torch jacfwd", J_ref, t_fwd(tx).numpy())
        _check(res, "torch jacrev", J_ref, t_rev(tx).numpy())
        rec.group("torch", {
            "f": lambda: g_t(tx),
            "jacfwd": lambda: t_fwd(tx),
            "jacrev": lambda: t_rev(tx),
        })
    if peers.has("jax"):
        jax, jnp = peers.jax, peers.jnp
        g_j = make_g(jnp, jnp.asarray(A))
        jx = jnp.asarray(x)
        j_fwd, j_rev = jax.jacfwd(g_j), jax.jacrev(g_j)
        _check(res, "jax jacfwd", J_ref, np.asarray(j_fwd(jx)))
        _check(res, "jax jacrev", J_ref, np.asarray(j_rev(jx)))
        rec.group("jax", {
            "f": jax_block(jax, lambda: g_j(jx)),
            "jacfwd": jax_block(jax, lambda: j_fwd(jx)),
            "jacrev": jax_block(jax, lambda: j_rev(jx)),
        })
        # under jit A is an argument too, so that XLA cannot fold it in as a constant
        jA = jnp.asarray(A)
        g_data = lambda x_, A_: jnp.tanh(A_ @ x_) * jnp.sum(x_)
        jit_f = jax.jit(g_data)
        jit_fwd, jit_rev = jax.jit(jax.jacfwd(g_data)), jax.jit(jax.jacrev(g_data))
        rec.group("jax.jit", {
            "f": jax_block(jax, lambda: jit_f(jx, jA)),
            "jacfwd": jax_block(jax, lambda: jit_fwd(jx, jA)),
            "jacrev": jax_block(jax, lambda: jit_rev(jx, jA)),
        })

    pb_f = rec.get("pullback", "f")
    r_fwd, r_rev = ratio(rec.get("pullback", "jacfwd"), pb_f), ratio(rec.get("pullback", "jacrev"), pb_f)
    res.markdown = "\n\n".join(filter(None, [
        framework_table(rec, "f", [("jacfwd", "jacfwd"), ("jacrev", "jacrev")]),
        f"pullback jacfwd ÷ f = **{fmt_ratio(r_fwd)}**, jacrev ÷ f = **{fmt_ratio(r_rev)}**. The NumPy row "
        "is the closed-form Jacobian (in the jacrev column); autograd has jacobian (reverse mode, one vjp "
        "per output) only; torch uses torch.func.jacfwd/jacrev (vmap).",
        skipped_note(peers)]))
    jit_rev, jit_fwd = rec.get("jax.jit", "jacrev"), rec.get("jax.jit", "jacfwd")
    note = "" if jit_rev is not None else "jax not available"
    res.targets = [
        target(KEY, "jacrev time ÷ jax.jit jacrev time", "≤ 2", ratio(rec.get("pullback", "jacrev"), jit_rev),
               lambda r: r <= 2, note),
        target(KEY, "jacfwd time ÷ jax.jit jacfwd time", "≤ 2", ratio(rec.get("pullback", "jacfwd"), jit_fwd),
               lambda r: r <= 2, note),
        target(KEY, "jacrev ÷ NumPy f (DESIGN eager target)", "≤ 60",
               ratio(rec.get("pullback", "jacrev"), rec.get("numpy", "f")), lambda r: r <= 60),
        target(KEY, "pullback.jit jacrev ÷ NumPy f (DESIGN jit target)", "≤ 30",
               ratio(rec.get("pullback.jit", "jacrev"), rec.get("numpy", "f")), lambda r: r <= 30),
        target(KEY, "pullback.jit jacrev time ÷ jax.jit jacrev time", "≤ 2",
               ratio(rec.get("pullback.jit", "jacrev"), jit_rev), lambda r: r <= 2, note),
    ]
    res.data = {"times": rec.raw(), "plot_series": {
        fw: {c: rec.get(fw, c) for c in ("f", "jacfwd", "jacrev") if rec.get(fw, c) is not None}
        for fw in ("pullback", "pullback.jit", "numpy", "autograd", "torch", "jax", "jax.jit")
        if rec.get(fw, "f") is not None}}
    res.seconds = time.perf_counter() - t_start
    return res


def _check(res, name, ref, got):
    got = np.asarray(got, dtype=float)
    if not np.allclose(got, ref, rtol=1e-10, atol=1e-12):
        res.notes.append(f"WARNING: {name}'s Jacobian differs from the closed form.")
