"""Taylor coefficients of an ODE solution by jet recursion, and a Taylor-series integrator.

For y' = f(y) with y(t₀) = y₀, write y(t₀ + s) = Σₖ yₖ sᵏ. Then f(y(t₀ + s)) = Σₖ zₖ sᵏ and the
ODE says (k + 1) yₖ₊₁ = zₖ. zₖ depends only on y₀ … yₖ, so the coefficients come one order at a
time: push the truncated series y₀ + y₁ s + … + yₖ sᵏ through f with one pb.jet call of order k,
read zₖ (jet returns derivatives: zₖ = dᵏ/dsᵏ f / k!), set yₖ₊₁ = zₖ / (k + 1). Each call
propagates the series through every primitive of f by its Taylor rule (sin, multiply, ...) —
no nested jvp, no hand-derived recurrences for this f.

The example is the pendulum θ'' = −sin θ (y = (θ, ω)): its Taylor polynomial is checked against
a very accurate solve_ivp solution (DOP853, rtol 1e-13), and the recursion against y' = y²,
whose solution y₀ / (1 − y₀ t) has coefficients y₀ᵏ⁺¹; then a fixed-step Taylor integrator of
order K is compared with that solve_ivp solution: its error falls like h^K.

Run:  python examples/taylor_ode.py [--order 12]
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np

import pullback as pb
import pullback.numpy as pnp


def pendulum(y):
    """θ' = ω, ω' = −sin θ."""
    return pnp.stack([y[1], -pnp.sin(y[0])])


def riccati(y):
    """y' = y² (solution y₀ / (1 − y₀ t))."""
    return y * y


def taylor_coefficients(f, y0, order: int) -> np.ndarray:
    """The normalised Taylor coefficients y₀ … y_K of the solution of y' = f(y), y(0) = y0.

    Row k is yₖ = y⁽ᵏ⁾(0) / k!; K jet calls, the k-th of order k.
    """
    y0 = np.asarray(y0, float)
    coefs = [y0, np.asarray(f(y0), float)]  # y₁ = f(y₀)
    for k in range(1, order):
        series = [math.factorial(j) * coefs[j] for j in range(1, k + 1)]  # jet takes derivatives
        _, derivs = pb.jet(f, (y0,), (series,))
        coefs.append(np.asarray(derivs[k - 1]) / math.factorial(k) / (k + 1))
    return np.stack(coefs[: order + 1])


def taylor_step(f, y, h: float, order: int) -> np.ndarray:
    """y(t + h) from the order-K Taylor polynomial at t (Horner)."""
    c = taylor_coefficients(f, y, order)
    out = c[-1]
    for k in range(order - 1, -1, -1):
        out = c[k] + h * out
    return out


def taylor_integrate(f, y0, t_end: float, steps: int, order: int) -> np.ndarray:
    """Fixed-step Taylor integration of y' = f(y) from 0 to t_end; returns y at every step."""
    h = t_end / steps
    ys = [np.asarray(y0, float)]
    for _ in range(steps):
        ys.append(taylor_step(f, ys[-1], h, order))
    return np.stack(ys)


def reference(f, y0, t_eval):
    """A very accurate solution (SciPy's DOP853 at rtol = 1e-13) at the times t_eval."""
    from scipy.integrate import solve_ivp

    sol = solve_ivp(lambda t, y: np.asarray(f(y)), (0.0, float(t_eval[-1])), np.asarray(y0, float),
                    method="DOP853", rtol=1e-13, atol=1e-14, t_eval=t_eval, dense_output=True)
    return sol


def coefficient_check(order: int = 10) -> dict:
    """The jet coefficients of y' = y² against the closed form (max relative error), and the
    pendulum's order-K Taylor polynomial against DOP853 on [0, 0.3] (max error)."""
    y0 = np.array([0.5, -0.8])
    c = taylor_coefficients(riccati, y0, order)
    exact = np.stack([y0 ** (k + 1) for k in range(order + 1)])
    riccati_err = float(np.max(np.abs(c - exact) / np.abs(exact)))
    # pendulum: compare the Taylor polynomial with the reference at small t
    p0 = np.array([1.0, 0.0])
    cp = taylor_coefficients(pendulum, p0, order)
    ts = np.linspace(0.0, 0.3, 7)
    sol = reference(pendulum, p0, ts)
    poly = np.stack([sum(cp[k] * t**k for k in range(order + 1)) for t in ts])
    pendulum_err = float(np.max(np.abs(poly - sol.y.T)))
    return {"riccati_rel_err": riccati_err, "pendulum_poly_err": pendulum_err, "coefs": cp}


def convergence(orders=(2, 4, 6, 8), steps: int = 20, t_end: float = 5.0) -> dict:
    """Error at t_end of the order-K Taylor integrator against DOP853, per K."""
    y0 = np.array([2.0, 0.0])  # a large swing: the nonlinearity matters
    ref = reference(pendulum, y0, np.array([0.0, t_end])).y[:, -1]
    errs = {}
    for K in orders:
        errs[K] = float(np.max(np.abs(taylor_integrate(pendulum, y0, t_end, steps, K)[-1] - ref)))
    return {"errors": errs, "reference": ref}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--order", type=int, default=12, help="order of the coefficient check")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    chk = coefficient_check(args.order)
    print(f"y' = y²: {args.order + 1} Taylor coefficients by jet, max relative error {chk['riccati_rel_err']:.1e}")
    print(f"pendulum: order-{args.order} Taylor polynomial vs DOP853 on [0, 0.3]: max error "
          f"{chk['pendulum_poly_err']:.1e}")
    print("  θ coefficients:", np.array2string(chk["coefs"][:6, 0], precision=6))
    conv = convergence()
    for K, e in conv["errors"].items():
        print(f"  Taylor order {K}, 20 steps to t = 5: max |y − y_DOP853| = {e:.1e}")
    print(f"{time.perf_counter() - t0:.2f} s")
    errs = list(conv["errors"].values())
    ok = chk["riccati_rel_err"] < 1e-12 and chk["pendulum_poly_err"] < 1e-10 and errs[-1] < 1e-5 * errs[0]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
