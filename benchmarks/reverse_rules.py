"""Hand-written reverse rules against the transposes of their forward rules (issue 12, item 6).

A primitive given only forward rules gets its reverse rule by transposition (core/ad.py). A
hand-written VJP is kept only where it is measurably faster; this measures each one still kept
against the rule transposition would derive for it, at a small and a medium size, and checks that
both agree. Not part of BENCHMARKS.md:

    OMP_NUM_THREADS=1 PYTHONPATH=src python -m benchmarks.reverse_rules

CPU time (thread_time) minima, so that other load on the machine matters less.
"""

from __future__ import annotations

import time

import numpy as np


def _cases(rng):
    from pullback.primitives import decompositions as dec
    from pullback.primitives import elementwise as ew
    from pullback.primitives import spectral as spec
    from pullback.primitives.linalg import matmul

    def gen(n):
        return rng.standard_normal((n, n)) + n * np.eye(n)

    for n in (4, 64):
        yield dec.cofactors, [gen(n)], {}
        yield dec.solve, [gen(n), rng.standard_normal((n, 3))], {}
        yield spec.eig, [gen(n)], {}
        yield spec.svd, [rng.standard_normal((n + 2, n))], {"hermitian": False}
        yield spec.svdvals, [rng.standard_normal((n + 2, n))], {"hermitian": False}
        yield matmul, [rng.standard_normal((n, n)), rng.standard_normal((n, n))], {}
    for shape in ((), (1000,), (100000,)):
        x, y = rng.uniform(0.5, 2, shape), rng.uniform(0.5, 2, shape)
        for prim in (ew.multiply, ew.divide, ew.power, ew.maximum, ew.arctan2, ew.hypot):
            yield prim, [x, y], {}
        yield ew.UNARY["sin"], [x], {}


def _reverse(prim, vjps, vjp, ct, out, args, params):
    from pullback.core.ad import unbroadcast

    if vjp is not None:
        gs = vjp(ct, out, args, [True] * len(args), **params)
    else:
        gs = [r(ct, out, *args, **params) for r in vjps]
    return [None if g is None else np.asarray(unbroadcast(g, a)) for g, a in zip(gs, args)]


def _cpu_min(fn, reps: int = 7, budget: float = 0.02) -> float:
    fn()
    best = float("inf")
    for _ in range(reps):
        n, t0 = 0, time.thread_time()
        while True:
            fn()
            n += 1
            t = time.thread_time() - t0
            if t >= budget:
                break
        best = min(best, t / n)
    return best


def main() -> None:
    import pullback.numpy  # noqa: F401  (array methods on tracers)
    from pullback.core.ad import transposed_rules

    rng = np.random.default_rng(0)
    print(f"{'primitive':12s} {'input':10s} {'hand µs':>10s} {'transposed µs':>14s} {'ratio':>6s}  agree")
    for prim, args, params in _cases(rng):
        out = prim.impl(*args, **params)
        outs = out if prim.multiple_results else (out,)
        cts = tuple(rng.standard_normal(np.shape(o)).astype(np.result_type(o)) for o in outs)
        ct = cts if prim.multiple_results else cts[0]
        derived = transposed_rules(prim)
        h = _reverse(prim, prim.vjps, prim.vjp, ct, out, args, params)
        d = _reverse(prim, *derived, ct, out, args, params)
        agree = all(np.allclose(u, v, rtol=1e-9, atol=1e-12) for u, v in zip(h, d) if u is not None)
        run = (ct, out, args, params)
        th = _cpu_min(lambda p=prim, r=run: _reverse(p, p.vjps, p.vjp, *r))
        td = _cpu_min(lambda p=prim, d=derived, r=run: _reverse(p, *d, *r))
        shape = "x".join(map(str, np.shape(args[0]))) or "()"
        print(f"{prim.name:12s} {shape:10s} {th * 1e6:10.1f} {td * 1e6:14.1f} {td / th:6.2f}  {agree}", flush=True)


if __name__ == "__main__":
    main()
