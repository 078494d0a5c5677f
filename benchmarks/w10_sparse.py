"""W10 — sparse Jacobian of a 2-D PDE residual (5-point Laplacian plus u³), n = 10⁴ and 10⁶ unknowns.

    F(u)_ij = (4 u_ij − u_{i−1,j} − u_{i+1,j} − u_{i,j−1} − u_{i,j+1}) / h² + u_ij³ − 1

on an m × m grid with zero Dirichlet boundary (n = m²). pb.SparseJacobian detects the pattern
and colours its columns once (set-up, reported separately); each J(u) is then one vmapped jvp over
the colour seeds read out into CSR. Target: J(u) ÷ F(u) ≤ colours + 2, and memory O(nnz)
(tracemalloc peak of one J(u) call, per nonzero, roughly constant from 10⁴ to 10⁶). Dense jacfwd
is timed at n = 10⁴ only when its n × n result fits in memory.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np

from .common import (
    Config,
    Peers,
    Recorder,
    WorkloadResult,
    first_call_seconds,
    fmt_ratio,
    fmt_time,
    md_table,
    rng,
    target,
)

KEY, TITLE = "W10", "Sparse Jacobian of a 2-D PDE residual (Laplacian + u³)"

FULL = dict(ms=(100, 1000))
QUICK = dict(ms=(100,))
TINY = dict(ms=(4,))
DENSE_LIMIT_BYTES = 2 * 1024**3  # dense jacfwd only when n² float64 stays under this


def make_F(xp, m: int):
    """The residual R^{m²} → R^{m²} written with xp (numpy or pullback.numpy)."""
    h2 = 1.0 / (m + 1) ** 2

    def F(u):
        U = u.reshape((m, m))
        P = xp.pad(U, 1)
        lap = (4.0 * U - P[:-2, 1:-1] - P[2:, 1:-1] - P[1:-1, :-2] - P[1:-1, 2:]) / h2
        return (lap + U**3 - 1.0).reshape((m * m,))

    return F


def hand_jacobian(u: np.ndarray, m: int):
    """The closed-form Jacobian (scipy.sparse CSR): the 5-point Laplacian / h² plus diag(3u²)."""
    import scipy.sparse as sp

    h2 = 1.0 / (m + 1) ** 2
    T = sp.diags([-np.ones(m - 1), 2.0 * np.ones(m), -np.ones(m - 1)], [-1, 0, 1])
    eye = sp.identity(m)
    lap = (sp.kron(eye, T) + sp.kron(T, eye)) / h2
    out = (lap + sp.diags(3.0 * u**2)).tocsr()
    out.eliminate_zeros()
    return out


def peak_bytes(fn) -> int:
    """tracemalloc peak (bytes) of one call of fn()."""
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def run(cfg: Config, peers: Peers) -> WorkloadResult:
    import pullback as pb
    import pullback.numpy as pnp

    t_start = time.perf_counter()
    ms = cfg.pick(FULL, QUICK, TINY)["ms"]
    res = WorkloadResult(KEY, TITLE, {"n": [m * m for m in ms], "method": "pb.SparseJacobian (detect + colour "
                                      "once, then one vmapped jvp over the colours)"})
    rec = Recorder(cfg, KEY)
    rows, series = [], {"n": [], "colors": [], "ratio": [], "ratio_jit": [], "peak_per_nnz": []}
    ratios = []
    for m in ms:
        n = m * m
        u = rng(cfg, 10 + m).uniform(-1.0, 1.0, n)
        F_pb, F_np = make_F(pnp, m), make_F(np, m)
        t0 = time.perf_counter()
        J = pb.SparseJacobian(F_pb, u)
        setup = time.perf_counter() - t0
        A = J(u)
        try:
            ref = hand_jacobian(u, m)
            err = abs(A - ref).max() / max(1.0, abs(ref).max())
            if err > 1e-12:
                res.notes.append(f"WARNING: n={n}: the sparse Jacobian differs from the closed form by {err:.1e}")
        except ImportError:
            res.notes.append("SciPy absent: the sparse Jacobian is not checked against the closed form")
        fw = f"n={n}"
        J_jit = pb.jit(J)  # the compressed evaluation and read-out staged once
        J_jit(u)
        cases = {"f (NumPy)": lambda F_np=F_np, u=u: F_np(u), "sparse J": lambda J=J, u=u: J(u),
                 "sparse J (jit)": lambda J_jit=J_jit, u=u: J_jit(u)}
        rec.group(fw, cases)
        dense = None
        if n * n * 8 <= DENSE_LIMIT_BYTES and not cfg.quick:  # one call: it takes seconds at n = 10⁴
            dense = first_call_seconds(lambda F_pb=F_pb, u=u: pb.jacfwd(F_pb)(u))
        peak = peak_bytes(lambda J=J, u=u: J(u))
        t_f, t_j, t_jj = rec.get(fw, "f (NumPy)"), rec.get(fw, "sparse J"), rec.get(fw, "sparse J (jit)")
        r = t_j / t_f if t_f and t_j else None
        r_jit = t_jj / t_f if t_f and t_jj else None
        ratios.append((J.ncolors, r))
        dense_txt = fmt_time(dense) if dense is not None else (
            "skipped (quick run)" if n * n * 8 <= DENSE_LIMIT_BYTES else
            f"skipped: n² doubles = {n * n * 8 / 1e9:.0f} GB")
        rows.append([n, A.nnz, J.ncolors, J.mode, f"{setup:.2f} s", fmt_time(t_f), fmt_time(t_j), fmt_ratio(r),
                     fmt_time(t_jj), fmt_ratio(r_jit), f"{peak / 1e6:.1f} MB", f"{peak / A.nnz:.0f}", dense_txt])
        series["n"].append(n)
        series["colors"].append(J.ncolors)
        series["ratio"].append(r)
        series["ratio_jit"].append(r_jit)
        series["peak_per_nnz"].append(peak / A.nnz)
    res.markdown = "\n\n".join([
        md_table(["n", "nnz", "colours", "mode", "set-up (detect + colour)", "F(u)", "J(u)", "J ÷ F",
                  "pb.jit(J)(u)", "jit ÷ F", "peak (J call)", "peak bytes / nnz", "dense jacfwd"], rows),
        "F(u) is the NumPy residual; J(u) excludes the one-off set-up; pb.jit(J) stages the compressed "
        "evaluation and read-out once (the CSR matrix is assembled outside). Peak: tracemalloc over one J(u) "
        "call. Dense jacfwd: one call (n jvp columns), timed once. Colouring runs compiled by numba when it "
        "is installed and n ≥ 20 000.",
    ])
    worst = max((r - c for c, r in ratios if r is not None), default=None)
    c_max = max(c for c, _ in ratios)
    res.targets = [target(KEY, "sparse J ÷ F minus colours (largest n measured)", "≤ 2",
                          (ratios[-1][1] - ratios[-1][0]) if ratios[-1][1] is not None else None,
                          lambda d: d <= 2.0, note=f"colours = {c_max}; worst over n: {fmt_ratio(worst)}")]
    if len(series["n"]) > 1:
        growth = series["peak_per_nnz"][-1] / series["peak_per_nnz"][0]
        res.targets.append(target(KEY, f"peak bytes per nonzero, n={series['n'][-1]} ÷ n={series['n'][0]}",
                                  "≤ 2 (O(nnz))", growth, lambda g: g <= 2.0))
    res.data = {"times": rec.raw(), "series": series}
    res.seconds = time.perf_counter() - t_start
    return res
