"""A sparse Hessian for scipy.optimize.minimize(method="trust-constr"): an elastic net on a
nonlinear foundation, pushed down onto an obstacle, on an m × m grid (n = m² unknowns, zero
boundary).

    E(u) = Σ_edges ½ (u_a − u_b)² + Σ_nodes ( ½ u² + ¼ u⁴ + p u ),   u ≥ ψ (the obstacle),

with p a uniform pressure pushing the net down and ψ a bump in the middle of the square. E is
strictly convex, so the minimiser is unique; where the net rests on the obstacle the bound is
active. Its Hessian is the 5-point graph Laplacian plus diag(1 + 3u²):
pb.SparseHessian detects that pattern from E's code and colours it once; each H(u) is then one
vmapped forward-over-reverse Hessian-vector product over the colours, a scipy.sparse CSR matrix
that trust-constr's projected CG multiplies by. The n × n dense Hessian is never formed; the
gradient is pb.grad(E).

Run:  python examples/sparse_trust_constr.py [--m 60]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from scipy.optimize import Bounds, minimize

import pullback as pb
import pullback.numpy as pnp

PRESSURE = 2.0


def energy(m: int):
    """E: R^{m²} → R (pullback.numpy, so it is differentiable)."""

    def E(u):
        U = pnp.pad(u.reshape((m, m)), 1)  # the zero boundary
        dx, dy = U[1:, :] - U[:-1, :], U[:, 1:] - U[:, :-1]
        return 0.5 * pnp.sum(dx**2) + 0.5 * pnp.sum(dy**2) + pnp.sum(0.5 * u**2 + 0.25 * u**4 + PRESSURE * u)

    return E


def obstacle(m: int) -> np.ndarray:
    """ψ: a bump of height 0.3 in the middle of the square, −∞ (no bound) away from it."""
    t = np.arange(1, m + 1) / (m + 1)
    r2 = (t[:, None] - 0.5) ** 2 + (t[None, :] - 0.5) ** 2
    psi = 0.3 - 8.0 * r2
    return np.where(psi > -1.0, psi, -np.inf).ravel()


def solve(m: int = 60, sparse: bool = True, gtol: float = 1e-9) -> dict:
    """Minimise E subject to u ≥ ψ from u = max(ψ, 0) + 0.1; sparse=False passes the dense Hessian."""
    E, psi = energy(m), obstacle(m)
    u0 = np.maximum(psi, 0.0) + 0.1
    t0 = time.perf_counter()
    if sparse:
        H = pb.SparseHessian(E, u0)  # pattern detection and colouring, once
        hess, ncolors, nnz = H, H.ncolors, H.pattern.nnz
    else:
        hess, ncolors, nnz = pb.hessian(E), None, None
    setup = time.perf_counter() - t0
    res = minimize(lambda u: float(E(u)), u0, jac=pb.grad(E), hess=hess, method="trust-constr",
                   bounds=Bounds(psi, np.full(m * m, np.inf)), options={"gtol": gtol, "xtol": 1e-12, "maxiter": 500})
    u = res.x
    return {"u": u, "psi": psi, "fun": float(res.fun), "nit": res.nit, "nhev": res.nhev, "status": res.status,
            "optimality": float(res.optimality), "violation": float(res.constr_violation),
            "contact": int(np.sum(u - psi < 1e-6)), "ncolors": ncolors, "nnz": nnz, "setup": setup,
            "seconds": time.perf_counter() - t0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--m", type=int, default=60, help="grid side (n = m² unknowns)")
    args = ap.parse_args(argv)
    r = solve(args.m)
    print(f"n = {args.m ** 2} unknowns: Hessian nnz = {r['nnz']}, {r['ncolors']} colours "
          f"(detection + colouring {r['setup']:.2f} s)")
    print(f"trust-constr: status {r['status']}, {r['nit']} iterations, {r['nhev']} sparse Hessians, "
          f"E = {r['fun']:.8f}, optimality {r['optimality']:.1e}, bound violation {r['violation']:.1e}")
    print(f"the net touches the obstacle at {r['contact']} grid points; {r['seconds']:.2f} s")
    return 0 if r["status"] in (1, 2) and r["violation"] <= 1e-10 and r["contact"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
