"""W7 — Gaussian-process negative log marginal likelihood, n = 500, value_and_grad in θ.

    K = σf² exp(−|xᵢ − xⱼ|² / 2ℓ²) + σn² I,   L = cholesky(K),   α = cho_solve(L, y)
    NLML(θ) = ½ yᵀα + Σ log Lᵢᵢ + (n/2) log 2π,   θ = (log σf², log ℓ, log σn²),  x ∈ R^{n×3}

f is the SciPy program (scipy.linalg.cholesky / cho_solve); pullback runs the same code
through pullback.scipy.linalg and pullback.numpy. The hand-written NumPy gradient is the
textbook one, ∂NLML/∂θₖ = ½ tr((K⁻¹ − ααᵀ) ∂K/∂θₖ), with K⁻¹ from the Cholesky factor.
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

KEY, TITLE = "W7", "GP marginal likelihood (Cholesky), value_and_grad in the kernel hyperparameters"

FULL = dict(n=500)
QUICK = dict(n=200)
TINY = dict(n=12)
D = 3
LOG_2PI = float(np.log(2 * np.pi))


def make_problem(gen: np.random.Generator, n: int):
    x = gen.uniform(-2.0, 2.0, (n, D))
    y = np.sin(x @ np.array([1.0, -0.5, 0.3])) + 0.1 * gen.standard_normal(n)
    theta = np.log(np.array([1.2, 0.9, 0.05]))
    return theta, x, y


def sqdist(x):
    """|xᵢ − xⱼ|² (a constant of θ: computed once, outside the differentiated function)."""
    s = np.sum(x * x, axis=1)
    return np.maximum(s[:, None] + s[None, :] - 2.0 * x @ x.T, 0.0)


def make_nlml(xp, cholesky, cho_solve, diag=None):
    """NLML written once for every framework: xp its numpy, cholesky(K) lower, cho_solve(L, y)."""
    diag = diag or xp.diagonal

    def nlml(theta, d2, y):
        n = y.shape[0]
        sf2, ell2, sn2 = xp.exp(theta[0]), xp.exp(2.0 * theta[1]), xp.exp(theta[2])
        k = sf2 * xp.exp(-0.5 * d2 / ell2) + sn2 * xp.eye(n)
        low = cholesky(k)
        alpha = cho_solve(low, y)
        return 0.5 * xp.sum(y * alpha) + xp.sum(xp.log(diag(low))) + 0.5 * n * LOG_2PI

    return nlml


def scipy_nlml():
    import scipy.linalg as sl

    return make_nlml(np, lambda k: sl.cholesky(k, lower=True), lambda low, y: sl.cho_solve((low, True), y))


def pullback_nlml():
    import pullback.numpy as pnp
    import pullback.scipy.linalg as psl

    return make_nlml(pnp, lambda k: psl.cholesky(k, lower=True), lambda low, y: psl.cho_solve((low, True), y))


def hand_value_and_grad(theta, d2, y):
    """½ tr((K⁻¹ − ααᵀ) ∂K/∂θₖ): ∂K/∂log σf² = K_f, ∂K/∂log ℓ = K_f ∘ d²/ℓ², ∂K/∂log σn² = σn² I."""
    import scipy.linalg as sl

    n = y.shape[0]
    sf2, ell2, sn2 = np.exp(theta[0]), np.exp(2.0 * theta[1]), np.exp(theta[2])
    kf = sf2 * np.exp(-0.5 * d2 / ell2)
    k = kf + sn2 * np.eye(n)
    c = sl.cho_factor(k, lower=True)
    alpha = sl.cho_solve(c, y)
    value = 0.5 * y @ alpha + np.sum(np.log(np.diag(c[0]))) + 0.5 * n * LOG_2PI
    w = sl.cho_solve(c, np.eye(n)) - np.outer(alpha, alpha)
    g = 0.5 * np.array([np.sum(w * kf), np.sum(w * kf * d2) / ell2, sn2 * np.trace(w)])
    return value, g


def _autograd_nlml(peers):
    import autograd.scipy.linalg as asl

    anp = peers.anp

    def cho_solve(low, y):
        return asl.solve_triangular(low, asl.solve_triangular(low, y, lower=True), lower=True, trans="T")

    return make_nlml(anp, anp.linalg.cholesky, cho_solve, diag=anp.diag)   # autograd cannot differentiate diagonal()


def run(cfg: Config, peers: Peers) -> WorkloadResult:
    import pullback as pb

    t_start = time.perf_counter()
    n = cfg.pick(FULL, QUICK, TINY)["n"]
    theta, x, y = make_problem(rng(cfg, 7), n)
    d2 = sqdist(x)
    res = WorkloadResult(KEY, TITLE, {"n": n, "d": D, "hyperparameters": 3,
                                      "method": "pb.value_and_grad of the SciPy program (cholesky, cho_solve)"})
    rec = Recorder(cfg, KEY)
    v_ref, g_ref = hand_value_and_grad(theta, d2, y)

    f_np = scipy_nlml()
    assert abs(f_np(theta, d2, y) - v_ref) <= 1e-9 * abs(v_ref)
    f_pb = pullback_nlml()
    vg_pb = pb.value_and_grad(f_pb)
    _check(res, "pullback", v_ref, g_ref, vg_pb(theta, d2, y))
    rec.group("pullback", {
        "f": lambda: f_pb(theta, d2, y),
        "value_and_grad": lambda: vg_pb(theta, d2, y),
    })
    rec.group("numpy", {
        "f": lambda: f_np(theta, d2, y),
        "value_and_grad": lambda: hand_value_and_grad(theta, d2, y),
    })
    if hasattr(pb, "jit"):
        pj_f, pj_vg = pb.jit(f_pb), pb.jit(vg_pb)
        if attempt(res, "pullback.jit", lambda: _check(res, "pullback.jit", v_ref, g_ref, pj_vg(theta, d2, y))):
            rec.group("pullback.jit", {
                "f": lambda: pj_f(theta, d2, y),
                "value_and_grad": lambda: pj_vg(theta, d2, y),
            })
    if peers.has("autograd"):
        f_ag = _autograd_nlml(peers)
        vg_ag = peers.autograd.value_and_grad(f_ag)
        if attempt(res, "autograd", lambda: _check(res, "autograd", v_ref, g_ref, vg_ag(theta, d2, y))):
            rec.group("autograd", {
                "f": lambda: f_ag(theta, d2, y),
                "value_and_grad": lambda: vg_ag(theta, d2, y),
            })
    if peers.has("torch"):
        torch = peers.torch
        f_t = make_nlml(torch, torch.linalg.cholesky, lambda low, yy: torch.cholesky_solve(yy[:, None], low)[:, 0])
        tt, td2, ty = torch.tensor(theta), torch.tensor(d2), torch.tensor(y)
        vg_t = torch.func.grad_and_value(f_t)

        def t_vg():
            g, v = vg_t(tt, td2, ty)
            return v, g

        if attempt(res, "torch", lambda: _check(res, "torch", v_ref, g_ref, [a.numpy() for a in t_vg()])):
            rec.group("torch", {"f": lambda: f_t(tt, td2, ty), "value_and_grad": t_vg})
    if peers.has("jax"):
        jax, jnp = peers.jax, peers.jnp
        import jax.scipy.linalg as jsl

        f_j = make_nlml(jnp, lambda k: jsl.cholesky(k, lower=True), lambda low, yy: jsl.cho_solve((low, True), yy))
        jt, jd2, jy = jnp.asarray(theta), jnp.asarray(d2), jnp.asarray(y)
        vg_j = jax.value_and_grad(f_j)
        if attempt(res, "jax", lambda: _check(res, "jax", v_ref, g_ref, vg_j(jt, jd2, jy))):
            rec.group("jax", {
                "f": jax_block(jax, lambda: f_j(jt, jd2, jy)),
                "value_and_grad": jax_block(jax, lambda: vg_j(jt, jd2, jy)),
            })
            jit_f, jit_vg = jax.jit(f_j), jax.jit(vg_j)
            rec.group("jax.jit", {
                "f": jax_block(jax, lambda: jit_f(jt, jd2, jy)),
                "value_and_grad": jax_block(jax, lambda: jit_vg(jt, jd2, jy)),
            })

    _report(res, rec, peers)
    res.data = {"times": rec.raw(), "plot_series": _series(rec)}
    res.seconds = time.perf_counter() - t_start
    return res


def _report(res, rec, peers):
    case = "value_and_grad"
    r_np = ratio(rec.get("pullback", case), rec.get("numpy", "f"))
    r_own = ratio(rec.get("pullback", case), rec.get("pullback", "f"))
    res.markdown = "\n\n".join(filter(None, [
        framework_table(rec, "f", [(case, case)]),
        f"pullback value_and_grad ÷ SciPy f = **{fmt_ratio(r_np)}** (÷ its own f: {fmt_ratio(r_own)}). "
        "NumPy's row is the hand-written gradient ½ tr((K⁻¹ − ααᵀ) ∂K/∂θ) with K⁻¹ from the Cholesky factor. "
        "autograd: anp.linalg.cholesky and two solve_triangular; torch: cholesky and cholesky_solve; "
        "JAX: jax.scipy.linalg.cholesky / cho_solve.",
        skipped_note(peers)]))
    pb_t = rec.get("pullback", case)
    res.targets = [
        target(res.key, "value_and_grad ÷ SciPy f (pullback)", "≤ 3", r_np, lambda r: r <= 3),
        target(res.key, "pullback value_and_grad ÷ autograd's", "< 1", ratio(pb_t, rec.get("autograd", case)),
               lambda r: r < 1, note="" if rec.get("autograd", case) else "autograd not measured"),
        target(res.key, "pullback value_and_grad ÷ JAX eager's", "< 1", ratio(pb_t, rec.get("jax", case)),
               lambda r: r < 1, note="" if rec.get("jax", case) else "JAX not measured"),
    ]


def _series(rec):
    fws = ("pullback", "pullback.jit", "numpy", "autograd", "torch", "jax", "jax.jit")
    return {fw: (rec.get(fw, "f"), rec.get(fw, "value_and_grad")) for fw in fws
            if rec.get(fw, "f") is not None and rec.get(fw, "value_and_grad") is not None}


def _check(res, name, v_ref, g_ref, got):
    v, g = float(np.asarray(got[0])), np.asarray(got[1], dtype=float)
    if abs(v - v_ref) > 1e-9 * abs(v_ref) or np.max(np.abs(g - g_ref)) > 1e-7 * max(1.0, float(np.max(np.abs(g_ref)))):
        res.notes.append(f"WARNING: {name}'s NLML or gradient differs from the hand-written one.")
