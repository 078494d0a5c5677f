"""W10 — sparse Jacobian of a 2-D PDE residual (5-point Laplacian plus u³), n = 10⁴ and 10⁶ unknowns.

    F(u)_ij = (4 u_ij − u_{i−1,j} − u_{i+1,j} − u_{i,j−1} − u_{i,j+1}) / h² + u_ij³ − 1

on an m × m grid with zero Dirichlet boundary (n = m²). pb.SparseJacobian detects the pattern
and colours its columns once (set-up, reported separately); each J(u) is then one vmapped jvp over
the colour seeds read out into CSR. Target: J(u) ÷ F(u) ≤ colours + 2, and memory O(nnz)
(tracemalloc peak of one J(u) call, per nonzero, roughly constant from 10⁴ to 10⁶). Dense jacfwd
is timed at n = 10⁴ only when its n × n result fits in memory.

Peers (a second table, J ÷ F for every row): JAX's dense ``jax.jit(jax.jacfwd(F))`` where the n × n
result fits; the colour-compressed approach written in JAX, ``jax.jit`` of ``jax.vmap(jvp)`` over
pullback's own colour seeds plus the read-out of the entries (the same colours, so it times the
evaluation alone); and the external ``sparsejac`` package (``jax.jit(sparsejac.jacfwd(F, pattern))``,
networkx's largest-first colouring), when it is installed. Each JAX result is checked against
pullback's CSR matrix.
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
    jax_block,
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
    ratios, peer_rows, series_peers = [], [], {}
    if not peers.has("jax"):
        res.notes.append(f"JAX peers skipped: jax {peers.notes.get('jax', 'absent')}")
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
        peer_rows += _pullback_peer_rows(n, J, setup, t_f, t_j, t_jj, peak, A.nnz)
        if peers.has("jax"):
            peer_rows += _jax_rows(cfg, peers, rec, res, m, u, J, A, t_f, series_peers)
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
        "Against the peers (J ÷ F: over the NumPy F(u); ÷ own F: over jax.jit(F)(u) for the JAX rows):",
        md_table(["n", "method", "colours", "set-up", "J(u)", "J ÷ F", "J ÷ own F", "memory"], peer_rows),
        "JAX rows time the jitted function's own result (the vector of stored entries; sparsejac's BCOO "
        "matrix; the dense array), waited for with block_until_ready; pullback's rows include assembling "
        "the scipy CSR matrix. Each JAX result is checked against pullback's CSR matrix once, outside the "
        "timing. Their memory is XLA's and not seen by tracemalloc, so the column gives the size of the "
        "compressed J S (n × colours doubles) or of the dense result. Set-up: pattern detection and "
        "colouring (pullback; the JAX compressed row reuses it and adds its compilation), sparsejac's "
        "networkx colouring plus compilation and first call, the dense row's compilation and first call.",
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
    res.data = {"times": rec.raw(), "series": series, "peers": series_peers}
    res.seconds = time.perf_counter() - t_start
    return res


def _pullback_peer_rows(n, J, setup, t_f, t_j, t_jj, peak, nnz) -> list:
    rows = []
    for name, t in (("pb.SparseJacobian", t_j), ("pb.jit(pb.SparseJacobian)", t_jj)):
        r = t / t_f if t and t_f else None
        rows.append([n, name, J.ncolors, f"{setup:.2f} s", fmt_time(t), fmt_ratio(r), fmt_ratio(r),
                     f"{peak / 1e6:.1f} MB (peak)"])
    return rows


def _csr_builder(A):
    """values in A's storage order -> a CSR matrix with A's pattern."""
    import scipy.sparse as sp

    indices, indptr, shape = A.indices.copy(), A.indptr.copy(), A.shape

    def build(vals):
        return sp.csr_matrix((np.asarray(vals), indices, indptr), shape=shape)

    return build


def _jax_rows(cfg: Config, peers: Peers, rec: Recorder, res: WorkloadResult, m: int, u, J, A, t_f,
              series: dict) -> list:
    """JAX's dense jacfwd (where it fits), the colour-compressed vmap(jvp) in JAX over pullback's colours,
    and sparsejac (when installed), as rows of the peers table."""
    jax, jnp = peers.jax, peers.jnp
    n = m * m
    fw = f"jax n={n}"
    F_j = make_F(jnp, m)
    ju = jnp.asarray(u)
    build = _csr_builder(A)
    P = A.tocsr()
    rows_idx = np.repeat(np.arange(n), np.diff(P.indptr))
    c = J.ncolors
    seeds = jnp.asarray((J.colors[None, :] == np.arange(c)[:, None]).astype(np.float64))
    read_r, read_c = jnp.asarray(rows_idx), jnp.asarray(J.colors[P.indices])

    def compressed_values(x):
        js = jax.vmap(lambda s: jax.jvp(F_j, (x,), (s,))[1], out_axes=1)(seeds)  # J S: n × colours
        return js[read_r, read_c]

    F_jit = jax.jit(F_j)
    vals_jit = jax.jit(compressed_values)
    t0 = time.perf_counter()
    vals_jit(ju).block_until_ready()
    setup_c = time.perf_counter() - t0
    err = abs(build(vals_jit(ju)) - A).max() / max(1.0, abs(A).max())
    if err > 1e-12:
        res.notes.append(f"WARNING: n={n}: the JAX colour-compressed Jacobian differs from pullback's by {err:.1e}")
    cases = {"F (jax.jit)": jax_block(jax, lambda: F_jit(ju)),
             "compressed vmap(jvp) (jax.jit)": jax_block(jax, lambda: vals_jit(ju))}
    sj = _sparsejac_setup(jax, jnp, F_j, A, res, cfg, n)
    if sj is not None:
        sj_fn, sj_setup, sj_colors = sj
        cases["sparsejac (jax.jit)"] = jax_block(jax, lambda: sj_fn(ju))
        err = abs(_bcoo_to_csr(sj_fn(ju), A.shape) - A).max() / max(1.0, abs(A).max())
        if err > 1e-12:
            res.notes.append(f"WARNING: n={n}: sparsejac's Jacobian differs from pullback's by {err:.1e}")
    rec.group(fw, cases, compiled=True)
    t_fj = rec.get(fw, "F (jax.jit)")
    out = []

    def row(name, colours, setup_txt, t, mem):
        out.append([n, name, colours, setup_txt, fmt_time(t), fmt_ratio(t / t_f if t and t_f else None),
                    fmt_ratio(t / t_fj if t and t_fj else None), mem])
        series.setdefault(name, {})[n] = {"seconds": t, "ratio_numpy_F": t / t_f if t and t_f else None,
                                          "ratio_own_F": t / t_fj if t and t_fj else None, "colors": colours}

    row("jax.jit(F) (the F of the JAX rows)", "", "", t_fj, "")
    row("JAX: jit(vmap(jvp)) over pullback's colours", c, f"{setup_c:.2f} s",
        rec.get(fw, "compressed vmap(jvp) (jax.jit)"), f"{n * c * 8 / 1e6:.1f} MB (J S)")
    if sj is not None:
        row("sparsejac.jacfwd (jax.jit)", sj_colors, f"{sj_setup:.2f} s", rec.get(fw, "sparsejac (jax.jit)"),
            f"{n * sj_colors * 8 / 1e6:.1f} MB (J S)")
    if n * n * 8 <= DENSE_LIMIT_BYTES and not cfg.quick:
        dense_fn = jax.jit(jax.jacfwd(F_j))
        t0 = time.perf_counter()
        dense = np.asarray(dense_fn(ju))
        first = time.perf_counter() - t0
        err = abs(dense - A.toarray()).max() / max(1.0, abs(A).max())
        if err > 1e-12:
            res.notes.append(f"WARNING: n={n}: JAX's dense jacfwd differs from pullback's by {err:.1e}")
        del dense
        t0 = time.perf_counter()
        dense_fn(ju).block_until_ready()
        t = time.perf_counter() - t0  # one call: it is seconds
        row("JAX: jit(jacfwd) dense (one call)", n, f"{first:.2f} s", t, f"{n * n * 8 / 1e6:.0f} MB (dense)")
    else:
        out.append([n, "JAX: jit(jacfwd) dense", n, "", "skipped" if cfg.quick else
                    f"skipped: n² doubles = {n * n * 8 / 1e9:.0f} GB", "", "", ""])
    return out


def _bcoo_to_csr(bcoo, shape):
    import scipy.sparse as sp

    idx = np.asarray(bcoo.indices)
    return sp.csr_matrix((np.asarray(bcoo.data), (idx[:, 0], idx[:, 1])), shape=shape)


def _sparsejac_setup(jax, jnp, F_j, A, res: WorkloadResult, cfg: Config, n: int):
    """jax.jit(sparsejac.jacfwd(F, pattern)) with its first call, the set-up seconds and its colour
    count; None (with a note) when sparsejac is not installed or fails."""
    try:
        import sparsejac
        import sparsejac.sparsejac as sj_mod
        from jax.experimental import sparse as jsparse
    except ImportError as e:
        if not any(note.startswith("sparsejac rows skipped") for note in res.notes):
            res.notes.append(f"sparsejac rows skipped: not importable ({e})")
        return None
    coo = A.tocoo()
    pattern = jsparse.BCOO((jnp.ones(coo.nnz), jnp.stack([jnp.asarray(coo.row), jnp.asarray(coo.col)], axis=1)),
                           shape=A.shape)
    seen = []
    greedy = sj_mod._greedy_color

    def counting(*a, **k):  # its colour count (sparsejac does not expose it)
        coloring, ncolors = greedy(*a, **k)
        seen.append(int(ncolors))
        return coloring, ncolors

    t0 = time.perf_counter()
    sj_mod._greedy_color = counting
    try:
        fn = jax.jit(sparsejac.jacfwd(F_j, pattern))
    except Exception as e:  # noqa: BLE001 - a failing peer is reported, not fatal
        res.notes.append(f"sparsejac failed at n={n}: {type(e).__name__}: {str(e)[:200]}")
        return None
    finally:
        sj_mod._greedy_color = greedy
    jax.block_until_ready(fn(jnp.zeros(n)))
    return fn, time.perf_counter() - t0, (seen[0] if seen else None)
