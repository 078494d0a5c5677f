"""Newton-CG with pullback: scipy.optimize.minimize on the extended Rosenbrock function.

    f(x) = Σ_{i=1..N/2} 100 (x_{2i} − x_{2i−1}²)² + (1 − x_{2i−1})²,   N = 1000,

minimum f = 0 at x = (1, …, 1), from the classic start (−1.2, 1, −1.2, 1, …). The gradient is
pb.grad(f) and the Hessian is never formed: the solvers ask for products H·p, which pb.hvp
computes as a jvp of the gradient (forward-over-reverse) at a few times the cost of f.

Run:  python examples/newton_cg.py [--n 1000]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from scipy.optimize import minimize

import pullback as pb
import pullback.numpy as pnp


def rosenbrock(x):
    odd, even = x[0::2], x[1::2]
    return pnp.sum(100.0 * (even - odd**2) ** 2 + (1.0 - odd) ** 2)


jac = pb.grad(rosenbrock)


def hessp(x, p):
    return pb.hvp(rosenbrock, (x,), (p,))[1]


def start(n: int):
    x0 = np.ones(n)
    x0[0::2] = -1.2
    return x0


# The same derivatives by hand, to check pullback's against.
def rosenbrock_grad_by_hand(x):
    a, b = x[0::2], x[1::2]
    g = np.empty_like(x)
    g[0::2] = -400.0 * a * (b - a**2) - 2.0 * (1.0 - a)
    g[1::2] = 200.0 * (b - a**2)
    return g


def rosenbrock_hessp_by_hand(x, p):
    a, b = x[0::2], x[1::2]
    pa, pb_ = p[0::2], p[1::2]
    hv = np.empty_like(x)
    hv[0::2] = (1200.0 * a**2 - 400.0 * b + 2.0) * pa - 400.0 * a * pb_
    hv[1::2] = -400.0 * a * pa + 200.0 * pb_
    return hv


def solve(n: int = 1000, method: str = "trust-ncg", tol: float = 1e-10):
    t0 = time.perf_counter()
    res = minimize(rosenbrock, start(n), jac=jac, hessp=hessp, method=method,
                   options={"gtol": tol} if method.startswith("trust") else {"xtol": tol})
    return res, time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    args = ap.parse_args(argv)
    n = args.n

    rng = np.random.default_rng(0)
    x, p = rng.standard_normal(n), rng.standard_normal(n)
    dg = np.max(np.abs(jac(x) - rosenbrock_grad_by_hand(x)))
    dh = np.max(np.abs(hessp(x, p) - rosenbrock_hessp_by_hand(x, p)))
    print(f"extended Rosenbrock, N = {n}: pb.grad vs by hand {dg:.1e}, pb.hvp vs by hand {dh:.1e}")
    ok = dg <= 1e-9 and dh <= 1e-9
    for method in ("trust-ncg", "Newton-CG"):
        res, seconds = solve(n, method)
        err = float(np.max(np.abs(res.x - 1.0)))
        converged = err <= 1e-6
        ok &= converged
        print(f"{method:10s}: {res.nit:3d} iterations, {res.nfev:3d} f, {res.njev:3d} grad, {res.nhev:4d} H·p; "
              f"f = {res.fun:.1e}, max|x − 1| = {err:.1e}, {seconds:.2f} s, "
              f"{'converged' if converged else 'NOT converged'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
