"""W2 — the seed adjoint problem (seed 000): ∇_φ F where F itself is built from vjps.

State x ∈ R^k, n steps, h(x, θ) = tanh(W x + θ), trajectory x_{i+1} = h(x_i, θ) (independent
of φ), p(x) = ½‖x‖², β_i(φ) = sin(φ₀·i/n) + φ₁² with φ ∈ R². The adjoint recursion

    λ_n = 0,   λ_{i-1} = (∂h/∂x)ᵀ|_{x_i} λ_i + (∂p/∂x)ᵀ|_{x_i} β_i(φ)      (i = n … 1)

and F(φ) = Σ_{i=0..n} fᵀ (∂h/∂θ)ᵀ|_{x_i} λ_i are computed inside F with vjps. ∇_φF is then
a derivative *of* reverse mode: reverse-over-reverse (grad F), forward-over-reverse (one jvp
of F per direction of φ) or jvp_by_vjp (two reverse passes per direction, no forward mode).
Each must cost a constant times F, whatever k: the ratio ∇F/F must stay flat in k.

The NumPy peer writes the same F with hand-written vjps, and ∇_φF by hand (the forward
recursion ξ_0 = s_0⊙f, ξ_i = s_i⊙f + s_i⊙(W ξ_{i-1}), ∂F/∂β_i = ξ_{i-1}·x_i, s_i = 1 − h(x_i)²).
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
    fmt_time,
    jax_block,
    md_table,
    ratio,
    rng,
    target,
)

KEY, TITLE = "W2", "seed adjoint: ∇φ of a function built from vjps"

FULL = dict(ks=(8, 64, 512), n=50)
QUICK = dict(ks=(8, 64), n=10)
TINY = dict(ks=(3,), n=4)

METHODS = [("rev_rev", "reverse-over-reverse (grad F)"),
           ("fwd_rev", "forward-over-reverse (jvp of F, 2 directions)"),
           ("jvp_by_vjp", "jvp_by_vjp (2 directions)")]


def make_problem(gen: np.random.Generator, k: int, n: int):
    W = gen.standard_normal((k, k)) / np.sqrt(k)
    theta = 0.1 * gen.standard_normal(k)
    f = gen.standard_normal(k)
    x0 = gen.standard_normal(k)
    xs = [x0]
    for _ in range(n):
        xs.append(np.tanh(W @ xs[-1] + theta))
    phi = np.array([0.7, -0.4])
    return dict(W=W, theta=theta, f=f, xs=xs, n=n, phi=phi)


# ----------------------------------------------------------------------------- pullback


def make_F(prob, pb, xp):
    """F(φ) for a framework with a pullback/JAX-like vjp(fun, *primals) -> (out, vjp_fn)."""
    F_data = make_F_of_data(pb, xp, prob["n"])
    data = (prob["W"], prob["theta"], prob["f"], list(prob["xs"]))
    return lambda phi: F_data(phi, data)


def make_F_of_data(pb, xp, n):
    """F(φ, (W, θ, f, xs)): the problem's arrays as an argument (so that jax.jit cannot fold them)."""

    def p(x):
        return 0.5 * xp.sum(x * x)

    def F(phi, data):
        W, theta, f, xs = data

        def h(x, th):
            return xp.tanh(W @ x + th)

        lam = np.zeros(np.shape(xs[0]))
        total = 0.0
        for i in range(n, -1, -1):
            _, h_vjp = pb.vjp(h, xs[i], theta)
            gx, gth = h_vjp(lam)
            total = total + xp.sum(f * gth)
            if i > 0:
                beta = xp.sin(phi[0] * (i / n)) + phi[1] ** 2
                _, p_vjp = pb.vjp(p, xs[i])
                (gp,) = p_vjp(beta)
                lam = gx + gp
        return total

    return F


def pullback_grads(prob):
    """∇_φF by the three methods, with pullback: {method: callable() -> gradient}."""
    import pullback as pb
    import pullback.numpy as pnp

    F = make_F(prob, pb, pnp)
    phi = prob["phi"]
    eye = np.eye(2)
    gF = pb.grad(F)

    def fwd_rev():
        return np.array([pb.jvp(F, (phi,), (eye[j],))[1] for j in range(2)])

    def jvp_by_vjp():
        return np.array([pb.jvp_by_vjp(F, (phi,), (eye[j],))[1] for j in range(2)])

    return F, {"rev_rev": lambda: gF(phi), "fwd_rev": fwd_rev, "jvp_by_vjp": jvp_by_vjp}


# ----------------------------------------------------------------------------- NumPy by hand


def numpy_F(prob, phi):
    W, theta, f, xs, n = prob["W"], prob["theta"], prob["f"], prob["xs"], prob["n"]
    lam = np.zeros_like(xs[0])
    total = 0.0
    for i in range(n, -1, -1):
        s = 1.0 - np.tanh(W @ xs[i] + theta) ** 2  # the vjp of h recomputes h, like the AD versions
        u = s * lam
        total = total + np.sum(f * u)
        if i > 0:
            beta = np.sin(phi[0] * (i / n)) + phi[1] ** 2
            lam = W.T @ u + beta * xs[i]
    return total


def numpy_grad(prob, phi):
    """∇_φF by hand: the adjoint of the adjoint is a forward recursion."""
    W, theta, f, xs, n = prob["W"], prob["theta"], prob["f"], prob["xs"], prob["n"]
    g = np.zeros(2)
    xi = None
    for i in range(0, n + 1):
        s = 1.0 - np.tanh(W @ xs[i] + theta) ** 2
        xi = s * f if xi is None else s * (f + W @ xi)  # ξ_i = ∂F/∂λ_i
        if i < n:
            j = i + 1  # λ_i = … + x_j β_j
            dF_dbeta = xi @ xs[j]
            g[0] += dF_dbeta * np.cos(phi[0] * j / n) * (j / n)
            g[1] += dF_dbeta * 2.0 * phi[1]
    return g


# ----------------------------------------------------------------------------- peers


def autograd_F(prob, autograd, anp):
    W, theta, f, xs, n = prob["W"], prob["theta"], prob["f"], prob["xs"], prob["n"]
    make_vjp = autograd.make_vjp

    def h(xt):
        return anp.tanh(anp.dot(W, xt[0]) + xt[1])

    def p(x):
        return 0.5 * anp.sum(x * x)

    def F(phi):
        lam = np.zeros_like(xs[0])
        total = 0.0
        for i in range(n, -1, -1):
            h_vjp, _ = make_vjp(h)((xs[i], theta))
            gx, gth = h_vjp(lam)
            total = total + anp.sum(f * gth)
            if i > 0:
                beta = anp.sin(phi[0] * (i / n)) + phi[1] ** 2
                p_vjp, _ = make_vjp(p)(xs[i])
                lam = gx + p_vjp(beta)
        return total

    return F


def torch_F(prob, torch):
    W = torch.tensor(prob["W"])
    theta, f = torch.tensor(prob["theta"]), torch.tensor(prob["f"])
    xs, n = [torch.tensor(x) for x in prob["xs"]], prob["n"]

    def F(phi):
        lam = torch.zeros_like(xs[0])
        total = torch.zeros((), dtype=torch.float64)
        for i in range(n, -1, -1):
            x = xs[i].detach().requires_grad_(True)
            th = theta.detach().requires_grad_(True)
            out = torch.tanh(W @ x + th)
            gx, gth = torch.autograd.grad(out, (x, th), grad_outputs=lam, create_graph=True)
            total = total + torch.sum(f * gth)
            if i > 0:
                beta = torch.sin(phi[0] * (i / n)) + phi[1] ** 2
                xp_ = xs[i].detach().requires_grad_(True)
                pv = 0.5 * torch.sum(xp_ * xp_)
                (gp,) = torch.autograd.grad(pv, (xp_,), grad_outputs=beta, create_graph=True)
                lam = gx + gp
        return total

    def grad(phi_np):
        phi = torch.tensor(phi_np, requires_grad=True)
        (g,) = torch.autograd.grad(F(phi), (phi,))
        return g

    return F, grad


# ----------------------------------------------------------------------------- benchmark


def run(cfg: Config, peers: Peers) -> WorkloadResult:
    t_start = time.perf_counter()
    size = cfg.pick(FULL, QUICK, TINY)
    ks, n = size["ks"], size["n"]
    res = WorkloadResult(KEY, TITLE, {"k": ", ".join(map(str, ks)), "n": n, "φ": "R²",
                                      "β_i(φ)": "sin(φ₀·i/n) + φ₁²"})
    recs = {k: _bench_k(cfg, peers, res, k, n) for k in ks}

    # ---- report
    method_ratios = {m: {k: ratio(recs[k].get("pullback", m), recs[k].get("pullback", "F")) for k in ks}
                     for m, _ in METHODS}
    flatness = {m: _maxmin(list(r.values())) for m, r in method_ratios.items()}
    rows = []
    for k in ks:
        rec = recs[k]
        np_F = rec.get("numpy", "F")
        for fw, label, cases in [("pullback", "pullback", [m for m, _ in METHODS]),
                                 ("pullback.jit", "pullback.jit", ["rev_rev"]),
                                 ("pullback.jit[numba]", "pullback.jit[numba]", ["rev_rev"]),
                                 ("numpy", "NumPy (by hand)", ["rev_rev"]),
                                 ("autograd", "autograd", ["rev_rev"]), ("torch", "PyTorch eager", ["rev_rev"]),
                                 ("jax", "JAX eager", ["rev_rev"]), ("jax.jit", "jax.jit", ["rev_rev"])]:
            F_t = rec.get(fw, "F")
            if F_t is None and rec.failure(fw, "F") is None:
                continue
            for m in cases:
                d = rec.get(fw, m)
                name = f"pullback {m.replace('_', '-')}" if fw == "pullback" else label
                if fw == "pullback.jit":
                    name = "pullback.jit rev-rev"
                if fw == "numpy":
                    name = "NumPy hand gradient"
                rows.append([k, name, fmt_time(F_t), fmt_time(d), fmt_ratio(ratio(d, F_t)),
                             fmt_ratio(ratio(d, np_F)),
                             fmt_ratio(ratio(rec.get("pullback", "rev_rev"), d))])
    table = md_table(["k", "framework / method", "F", "∇F", "∇F ÷ F", "∇F ÷ NumPy F",
                      "pullback rev-rev ÷ this"], rows)
    flat_rows = [[label] + [fmt_ratio(method_ratios[m][k]) for k in ks] + [fmt_ratio(flatness[m])]
                 for m, label in METHODS]
    flat = md_table(["pullback method (∇F ÷ pullback F)"] + [f"k={k}" for k in ks] + ["max/min over k"],
                    flat_rows)
    skipped = "\n".join(f"- {p}: skipped, {peers.notes[p]}" for p in ("autograd", "torch", "jax")
                        if p in peers.notes)
    if cfg.quick and peers.has("jax"):
        skipped += "\n- JAX eager: skipped in --quick (slow per-op dispatch; the full run measures it)"
    res.markdown = "\n\n".join(filter(None, [
        table, "Flatness in k (pullback ∇F ÷ pullback F):", flat,
        "Peers time reverse-over-reverse only; the NumPy row is the hand-derived gradient (a forward "
        "recursion, see benchmarks/w2_adjoint.py).", skipped]))
    res.notes.append("All three pullback methods agree with the hand gradient to 1e-9 at every k.")
    res.targets = []
    for m, label in METHODS:
        short = label.split(" (")[0]
        res.targets.append(target(KEY, f"∇F ÷ F, {short}, worst k", "≤ 6",
                                  _max(method_ratios[m].values()), lambda r: r <= 6))
    for m, label in METHODS:
        short = label.split(" (")[0]
        res.targets.append(target(KEY, f"max/min over k of ∇F ÷ F, {short}", "≤ 1.5", flatness[m],
                                  lambda r: r <= 1.5, "" if len(ks) > 1 else "one k only"))
    res.targets.append(target(
        KEY, f"rev-rev ∇F ÷ NumPy F at k={ks[0]} (DESIGN eager target)", "≤ 20",
        ratio(recs[ks[0]].get("pullback", "rev_rev"), recs[ks[0]].get("numpy", "F")), lambda r: r <= 20))
    res.targets.append(target(
        KEY, f"pullback.jit rev-rev ∇F ÷ NumPy F at k={ks[0]} (DESIGN jit target)", "≤ 1",
        ratio(recs[ks[0]].get("pullback.jit", "rev_rev"), recs[ks[0]].get("numpy", "F")), lambda r: r <= 1))
    res.data = {"times": {str(k): recs[k].raw() for k in ks}, "ratios": {m: {str(k): v for k, v in r.items()}
                                                                         for m, r in method_ratios.items()},
                "flatness": flatness, "plot_series": {"ks": list(ks), "ratios": method_ratios}}
    res.seconds = time.perf_counter() - t_start
    return res


def _bench_k(cfg: Config, peers: Peers, res: WorkloadResult, k: int, n: int) -> Recorder:
    """Check and time every framework at one state dimension k."""
    import pullback as pb
    import pullback.numpy as pnp

    prob = make_problem(rng(cfg, 2 + k), k, n)
    phi = prob["phi"]
    rec = Recorder(cfg, f"{KEY} k={k}")
    F, methods = pullback_grads(prob)
    g_hand = numpy_grad(prob, phi)
    F_np = numpy_F(prob, phi)
    F_pb = F(phi)
    assert abs(F_pb - F_np) <= 1e-10 * max(1.0, abs(F_np)), (F_pb, F_np)
    for m, fn in methods.items():
        g = np.asarray(fn())
        err = float(np.max(np.abs(g - g_hand)) / max(1.0, np.max(np.abs(g_hand))))
        assert err <= 1e-9, f"W2 k={k}: {m} gradient differs from the hand gradient by {err:.3g}"
    rec.group("pullback", {"F": lambda: F(phi), **methods})
    rec.group("numpy", {
        "F": lambda: numpy_F(prob, phi),
        "rev_rev": lambda: numpy_grad(prob, phi),
    })
    if hasattr(pb, "jit"):  # staged: the problem's arrays are arguments, as for jax.jit
        F_data = make_F_of_data(pb, pnp, n)
        data = (prob["W"], prob["theta"], prob["f"], list(prob["xs"]))
        pj_F, pj_g = pb.jit(F_data), pb.jit(pb.grad(F_data))
        if attempt(res, f"pullback.jit k={k}", lambda: _check(res, f"pullback.jit k={k}", g_hand, pj_g(phi, data))):
            rec.group("pullback.jit", {
                "F": lambda: pj_F(phi, data),
                "rev_rev": lambda: pj_g(phi, data),
            })
        if importlib.util.find_spec("numba") is not None:  # the numba backend (docs/jit.md), beside jax.jit
            nb_F, nb_g = pb.jit(F_data, backend="numba"), pb.jit(pb.grad(F_data), backend="numba")
            cold = first_call_seconds(lambda: nb_g(phi, data))
            if attempt(res, f"pullback.jit[numba] k={k}",
                       lambda: _check(res, f"pullback.jit[numba] k={k}", g_hand, nb_g(phi, data))):
                rec.group("pullback.jit[numba]", compiled=True, fns={
                    "F": lambda: nb_F(phi, data),
                    "rev_rev": lambda: nb_g(phi, data),
                })
                warm = rec.get("pullback.jit[numba]", "rev_rev")
                res.notes.append(f"pullback.jit[numba] rev-rev k={k}: first call (trace + numba compile, or the "
                                 f"disk cache) {cold:.1f} s; warm {1e6 * (warm or 0):.1f} µs")
    if peers.has("autograd"):
        aF = autograd_F(prob, peers.autograd, peers.anp)
        ag = peers.autograd.grad(aF)
        _check(res, f"autograd k={k}", g_hand, ag(phi))
        rec.group("autograd", {
            "F": lambda: aF(phi),
            "rev_rev": lambda: ag(phi),
        })
    if peers.has("torch"):
        torch = peers.torch
        tF, tgrad = torch_F(prob, torch)
        tphi = torch.tensor(phi)
        _check(res, f"torch k={k}", g_hand, tgrad(phi).numpy())
        rec.group("torch", {
            "F": lambda: tF(tphi),
            "rev_rev": lambda: tgrad(phi),
        })
    if peers.has("jax"):
        jax, jnp = peers.jax, peers.jnp
        jdata = (jnp.asarray(prob["W"]), jnp.asarray(prob["theta"]), jnp.asarray(prob["f"]),
                 [jnp.asarray(x) for x in prob["xs"]])
        jF = make_F_of_data(jax, jnp, n)
        jphi = jnp.asarray(phi)
        jg = jax.grad(jF)
        jit_F, jit_g = jax.jit(jF), jax.jit(jg)
        _check(res, f"jax k={k}", g_hand, np.asarray((jit_g if cfg.quick else jg)(jphi, jdata)))
        if not cfg.quick:  # eager JAX dispatches (and first compiles) every op: seconds per call here
            rec.group("jax", {
                "F": jax_block(jax, lambda: jF(jphi, jdata)),
                "rev_rev": jax_block(jax, lambda: jg(jphi, jdata)),
            })
        rec.group("jax.jit", {
            "F": jax_block(jax, lambda: jit_F(jphi, jdata)),
            "rev_rev": jax_block(jax, lambda: jit_g(jphi, jdata)),
        })
    return rec


def _max(vals):
    vals = [v for v in vals if v is not None]
    return max(vals) if vals else None


def _maxmin(vals):
    vals = [v for v in vals if v is not None]
    if len(vals) < 2:
        return None
    return max(vals) / min(vals)


def _check(res: WorkloadResult, name: str, g_ref, g) -> None:
    g = np.asarray(g, dtype=float)
    err = float(np.max(np.abs(g - g_ref)) / max(1.0, np.max(np.abs(g_ref))))
    if err > 1e-8:
        res.notes.append(f"WARNING: {name}'s gradient differs from the hand gradient by {err:.3g}.")
