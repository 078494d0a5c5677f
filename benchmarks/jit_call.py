"""J1 — jit call overhead: what a call of a jitted function costs beyond its generated code.

    f(x, y) = x * y        on two float64 arrays of 3 elements (the arithmetic is negligible)

pullback.jit's overhead is the jitted call's time minus the bare generated function's time
(`jitted.cache`'s compiled function called directly). Beside it: the same with a closed-over
array (an implicit input of the graph, read and checked at each call) and with a Python number
argument; jax.jit's whole call (dispatch included: JAX has no bare function to subtract) and a
plain NumPy `x * y` for scale.
"""

from __future__ import annotations

import time

import numpy as np

from .common import Config, Peers, Recorder, WorkloadResult, fmt_time, jax_block, md_table, ratio, rng, target

KEY, TITLE = "J1", "jit call overhead (a function of two arrays)"

FULL = dict(n=3)
QUICK = dict(n=3)
TINY = dict(n=3)


def _bare(jitted, *args):
    """The generated function of jitted's only trace (called directly: no cache lookup, no checks)."""
    jitted(*args)
    (entry,) = jitted.cache.values()
    return entry.compiled


def run(cfg: Config, peers: Peers) -> WorkloadResult:
    import pullback as pb

    t_start = time.perf_counter()
    n = cfg.pick(FULL, QUICK, TINY)["n"]
    gen = rng(cfg, 41)
    x, y = gen.standard_normal(n), gen.standard_normal(n)
    w = gen.standard_normal(n)
    res = WorkloadResult(KEY, TITLE, {"n": n, "f": "x * y"})
    rec = Recorder(cfg, KEY)

    mul = pb.jit(lambda x, y: x * y)
    closed = pb.jit(lambda x, y: x * y * w)  # w: a closed-over array, an implicit input
    scalar = pb.jit(lambda x, s: x * s)
    bare_mul, bare_closed, bare_scalar = _bare(mul, x, y), _bare(closed, x, y), _bare(scalar, x, 2.0)
    for got, want in ((mul(x, y), x * y), (closed(x, y), x * y * w), (scalar(x, 2.0), x * 2.0)):
        assert np.allclose(got, want, rtol=1e-15)

    rec.group("pullback.jit", {
        "x*y": lambda: mul(x, y),
        "x*y bare": lambda: bare_mul(x, y),
        "x*y*w (closure)": lambda: closed(x, y),
        "x*y*w bare": lambda: bare_closed(x, y, w),
        "x*s (Python number)": lambda: scalar(x, 2.0),
        "x*s bare": lambda: bare_scalar(x, 2.0),
    }, compiled=False)
    rec.group("numpy", {"x*y": lambda: x * y})
    if peers.has("jax"):
        jax, jnp = peers.jax, peers.jnp
        jx, jy = jnp.asarray(x), jnp.asarray(y)
        j_mul = jax.jit(lambda x, y: x * y)
        rec.group("jax.jit", {"x*y": jax_block(jax, lambda: j_mul(jx, jy))})

    def overhead(case: str, bare: str) -> float | None:
        a, b = rec.get("pullback.jit", case), rec.get("pullback.jit", bare)
        return None if a is None or b is None else a - b

    rows = []
    for case, bare in (("x*y", "x*y bare"), ("x*y*w (closure)", "x*y*w bare"), ("x*s (Python number)", "x*s bare")):
        rows.append([case, fmt_time(rec.get("pullback.jit", case)), fmt_time(rec.get("pullback.jit", bare)),
                     fmt_time(overhead(case, bare))])
    jit_call = rec.get("jax.jit", "x*y")
    rows.append(["jax.jit x*y (whole call)", fmt_time(jit_call), "—", "—"])
    rows.append(["NumPy x*y", fmt_time(rec.get("numpy", "x*y")), "—", "—"])
    over = overhead("x*y", "x*y bare")
    res.markdown = "\n\n".join([
        md_table(["call", "time", "bare generated function", "jit overhead"], rows),
        "The overhead is the jitted call minus its generated function called directly: the cache lookup on "
        "the arguments' shapes and dtypes, the check that the values read from closures and globals are "
        "the traced ones, and handing back the outputs.",
    ])
    res.targets = [
        target(KEY, "pullback.jit call overhead, two arrays (µs)", "≤ 10",
               None if over is None else over * 1e6, lambda r: r <= 10),
        target(KEY, "pullback.jit x*y call ÷ jax.jit x*y call", "≤ 1",
               ratio(rec.get("pullback.jit", "x*y"), jit_call), lambda r: r <= 1,
               "" if jit_call is not None else "jax not available"),
    ]
    res.data = {"times": rec.raw(), "overhead_s": over}
    res.seconds = time.perf_counter() - t_start
    return res
