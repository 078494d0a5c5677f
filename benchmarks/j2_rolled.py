"""J2 — rolled loops: a loop staged as one `scan` equation against the same loop unrolled by Python.

    W3's loop   x = sin(x)·0.999 + 0.01·x·x, `iters` times, then sum(x)  (scalar and length-1000 x)
                rolled: pb.fori_loop;      unrolled: a Python for loop
    W2's trajectory x_{i+1} = tanh(W x_i + θ), n steps, L(θ) = Σ_i ½‖x_i‖²   (k = 8, 64)
                rolled: pb.scan;           unrolled: a Python for loop

each under pb.jit(pb.value_and_grad(...)): the staged graph's size (equations, bodies included), the
first call (trace + generation + first run, a fresh jit), and the warm call; beside jax.jit of
jax.value_and_grad with jax.lax.fori_loop / jax.lax.scan (its first call includes XLA's compile).
"""

from __future__ import annotations

import time

import numpy as np

from .common import Config, Peers, Recorder, WorkloadResult, fmt_time, jax_block, md_table, ratio, rng, target

KEY, TITLE = "J2", "rolled loops: fori_loop / scan under jit vs the unrolled Python loop"

FULL = dict(iters=1000, vec=1000, ks=(8, 64), n=50)
QUICK = dict(iters=200, vec=1000, ks=(8, 64), n=20)
TINY = dict(iters=10, vec=10, ks=(3,), n=4)


# ----------------------------------------------------------------------------- the loops


def w3_step(xp):
    return lambda x: xp.sin(x) * 0.999 + 0.01 * x * x


def w3_rolled(pb, pnp, iters):
    step = w3_step(pnp)
    return lambda x: pnp.sum(pb.fori_loop(0, iters, lambda i, x: step(x), x))


def w3_unrolled(pnp, iters):
    step = w3_step(pnp)

    def f(x):
        for _ in range(iters):
            x = step(x)
        return pnp.sum(x)
    return f


def w2_rolled(pb, pnp, n):
    def L(theta, W, x0):
        def body(x, _):
            x = pnp.tanh(W @ x + theta)
            return x, 0.5 * pnp.sum(x * x)
        _, ys = pb.scan(body, x0, None, length=n)
        return pnp.sum(ys)
    return L


def w2_unrolled(pnp, n):
    def L(theta, W, x0):
        x, total = x0, 0.0
        for _ in range(n):
            x = pnp.tanh(W @ x + theta)
            total = total + 0.5 * pnp.sum(x * x)
        return total
    return L


def jax_w3(jax, jnp, iters):
    step = w3_step(jnp)
    return lambda x: jnp.sum(jax.lax.fori_loop(0, iters, lambda i, x: step(x), x))


def jax_w2(jax, jnp, n):
    def L(theta, W, x0):
        def body(x, _):
            x = jnp.tanh(W @ x + theta)
            return x, 0.5 * jnp.sum(x * x)
        return jnp.sum(jax.lax.scan(body, x0, None, length=n)[1])
    return L


def w2_numpy_grad(theta, W, x0, n):
    """L and ∂L/∂θ by hand (forward keeping the states, then the adjoint)."""
    xs, total = [x0], 0.0
    for _ in range(n):
        xs.append(np.tanh(W @ xs[-1] + theta))
        total += 0.5 * xs[-1] @ xs[-1]
    g, lam = np.zeros_like(theta), np.zeros_like(theta)
    for i in range(n, 0, -1):
        u = (1.0 - xs[i] ** 2) * (lam + xs[i])
        g += u
        lam = W.T @ u
    return total, g


# ----------------------------------------------------------------------------- measuring


def _first_call(make, *args) -> tuple[float, object]:
    """Seconds of the first call of a freshly made jitted function (trace + generation + run)."""
    fn = make()
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, (fn, out)


def _ops(pb, f, *args) -> int:
    return pb.make_graph(pb.value_and_grad(f), *args).op_count()


def _case(res_rows, rec, pb, label, rolled, unrolled, args, jax_pair, cfg):
    """One loop: graph sizes, first calls and warm calls of rolled / unrolled / jax.jit."""
    vg = lambda f: (lambda: pb.jit(pb.value_and_grad(f)))  # noqa: E731
    first_r, (jr, out_r) = _first_call(vg(rolled), *args)
    first_u, (ju, out_u) = _first_call(vg(unrolled), *args)
    np.testing.assert_allclose(out_r[0], out_u[0], rtol=1e-12)
    np.testing.assert_allclose(out_r[1], out_u[1], rtol=1e-11, atol=1e-13)
    size_r, size_u = _ops(pb, rolled, *args), _ops(pb, unrolled, *args)
    rec.group("pullback.jit", {f"{label} rolled": lambda: jr(*args), f"{label} unrolled": lambda: ju(*args)})
    first_j = None
    if jax_pair is not None:
        jax, jf, jargs = jax_pair
        first_j, (jj, out_j) = _first_call(lambda: jax.jit(jax.value_and_grad(jf)), *jargs)
        np.testing.assert_allclose(np.asarray(out_j[0]), out_r[0], rtol=1e-10)
        rec.group("jax.jit", {label: jax_block(jax, lambda: jj(*jargs))})
    res_rows.append(dict(label=label, size_r=size_r, size_u=size_u, first_r=first_r, first_u=first_u,
                         first_j=first_j, warm_r=rec.get("pullback.jit", f"{label} rolled"),
                         warm_u=rec.get("pullback.jit", f"{label} unrolled"), warm_j=rec.get("jax.jit", label)))


def run(cfg: Config, peers: Peers) -> WorkloadResult:
    import pullback as pb
    import pullback.numpy as pnp

    t_start = time.perf_counter()
    p = cfg.pick(FULL, QUICK, TINY)
    gen = rng(cfg, 42)
    res = WorkloadResult(KEY, TITLE, dict(p))
    rec = Recorder(cfg, KEY)
    rows: list = []
    jax = peers.jax if peers.has("jax") else None

    iters = p["iters"]
    for shape, x in (("W3 scalar", 0.5), (f"W3 vec{p['vec']}", gen.uniform(-1.0, 1.0, p["vec"]))):
        pair = None
        if jax is not None:
            pair = (jax, jax_w3(jax, peers.jnp, iters), (peers.jnp.asarray(x),))
        _case(rows, rec, pb, shape, w3_rolled(pb, pnp, iters), w3_unrolled(pnp, iters), (x,), pair, cfg)

    n = p["n"]
    for k in p["ks"]:
        W = gen.standard_normal((k, k)) / np.sqrt(k)
        theta, x0 = 0.1 * gen.standard_normal(k), gen.standard_normal(k)
        want = w2_numpy_grad(theta, W, x0, n)
        got = pb.value_and_grad(w2_rolled(pb, pnp, n))(theta, W, x0)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-11, atol=1e-13)
        pair = None
        if jax is not None:
            pair = (jax, jax_w2(jax, peers.jnp, n), tuple(peers.jnp.asarray(a) for a in (theta, W, x0)))
        _case(rows, rec, pb, f"W2 k={k}", w2_rolled(pb, pnp, n), w2_unrolled(pnp, n), (theta, W, x0), pair, cfg)

    table = [[r["label"], f"{r['size_r']} / {r['size_u']}", f"{fmt_time(r['first_r'])} / {fmt_time(r['first_u'])}",
              fmt_time(r["first_j"]), f"{fmt_time(r['warm_r'])} / {fmt_time(r['warm_u'])}", fmt_time(r["warm_j"]),
              _fmt(ratio(r["warm_r"], r["warm_j"]))] for r in rows]
    res.markdown = "\n\n".join([
        md_table(["loop", "graph equations rolled / unrolled", "first call rolled / unrolled", "jax.jit first call",
                  "warm call rolled / unrolled", "jax.jit warm", "rolled ÷ jax.jit"], table),
        f"value_and_grad under jit; W3: {iters} iterations; W2: n = {n} steps. The first call is a fresh jit's "
        "(tracing, graph passes, code generation and one run); a rolled loop's graph holds its body once, so "
        "its size and its first call do not grow with the trip count.",
    ])
    res.targets = [
        target(KEY, f"{r['label']}: rolled graph ÷ unrolled graph (equations)", "≤ 0.1",
               ratio(r["size_r"], r["size_u"]), lambda v: v <= 0.1) for r in rows if r["label"].startswith("W3")
    ] + [
        target(KEY, f"{r['label']}: rolled first call ÷ unrolled first call", "≤ 0.5",
               ratio(r["first_r"], r["first_u"]), lambda v: v <= 0.5) for r in rows if r["label"].startswith("W3")
    ]
    res.data = {"times": rec.raw(), "rows": rows}
    res.seconds = time.perf_counter() - t_start
    return res


def _fmt(r: float | None) -> str:
    return "—" if r is None else f"{r:.2f}×"
