"""Generate the plots of docs/sparse.md and docs/taylor.md (matplotlib, Agg backend).

    PYTHONPATH=src python docs/gen_sparse_taylor_plots.py            # writes docs/img/*.png
    PYTHONPATH=src python docs/gen_sparse_taylor_plots.py --quick --out /tmp/plots

- sparse_coloring.png: the 5-point stencil Jacobian with its entries coloured by DSATUR's column
  colours, the compressed matrix J S (each nonzero exactly once), and the time of F(u), J(u) and
  the one-off detection + colouring against n;
- taylor_ode.png: the pendulum by the Taylor integrator of examples/taylor_ode.py against DOP853,
  and its error against the order K;
- taylor_cost.png: K-th directional derivatives by one jet pass against K nested jvps.
Timings come from this machine at the time of the run (single thread); the plots say so.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _best(fn, repeat: int = 5) -> float:
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _example(name: str):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "examples", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sparse_plot(out_dir: str, quick: bool) -> str:
    import matplotlib.pyplot as plt
    import numpy as np

    import pullback as pb

    pde = _example("sparse_newton_pde")
    m = 6
    F = pde.residual(pb.numpy, m, np.zeros(m * m))
    u = np.random.default_rng(0).uniform(-1.0, 1.0, m * m)
    J = pb.SparseJacobian(F, u, mode="fwd")
    A = J(u).tocoo()
    cmap = plt.get_cmap("tab10")

    fig, ax = plt.subplots(1, 3, figsize=(14, 4.6), gridspec_kw={"width_ratios": [1, 0.32, 1.25]})
    ax[0].scatter(A.col, A.row, c=[cmap(c) for c in J.colors[A.col]], s=14, marker="s")
    ax[0].set(xlim=(-1, m * m), ylim=(m * m, -1), aspect="equal", xlabel="column j (input)", ylabel="row i (output)",
              title=f"∂F/∂u, 5-point stencil, n = {m * m}: {A.nnz} nonzeros\ncoloured by column colour "
                    f"(DSATUR: {J.ncolors})")
    B = np.asarray(J.compressed(u))
    rows, cols = np.nonzero(B)
    ax[1].scatter(cols, rows, c=[cmap(c) for c in cols], s=14, marker="s")
    ax[1].set(xlim=(-0.7, J.ncolors - 0.3), ylim=(m * m, -1), xticks=range(J.ncolors), xlabel="colour",
              title=f"J S: {J.ncolors} jvps")

    ms = (10, 32, 100) if quick else (10, 32, 100, 316, 1000)
    kernels = pb.sparse._kernels(pb.sparse.NUMBA_MIN_VERTICES)  # compile numba's loops (once) before timing
    if kernels is not None:
        tiny = np.array([0, 1, 2], np.int64), np.array([1, 0], np.int64)
        kernels["dsatur"](*tiny)
        kernels["greedy"](*tiny, np.arange(2, dtype=np.int64))
    ns, t_f, t_j, t_jit, t_setup = [], [], [], [], []
    for mm in ms:
        n = mm * mm
        Fp, Fn = pde.residual(pb.numpy, mm, np.zeros(n)), pde.residual(np, mm, np.zeros(n))
        x = np.random.default_rng(1).uniform(-1.0, 1.0, n)
        t0 = time.perf_counter()
        Jn = pb.SparseJacobian(Fp, x)
        t_setup.append(time.perf_counter() - t0)
        reps = 3 if n >= 10**5 else 7
        t_f.append(_best(lambda Fn=Fn, x=x: Fn(x), reps))
        t_j.append(_best(lambda Jn=Jn, x=x: Jn(x), reps))
        Jj = pb.jit(Jn)
        Jj(x)
        t_jit.append(_best(lambda Jj=Jj, x=x: Jj(x), reps))
        ns.append(n)
    ax[2].loglog(ns, t_f, "o-", label="F(u) (NumPy)")
    ax[2].loglog(ns, t_j, "s-", label="J(u): 5 jvps + read-out into CSR")
    ax[2].loglog(ns, t_jit, "d-", label="pb.jit(J)(u)")
    ax[2].loglog(ns, t_setup, "^-", label="detection + colouring (once)")
    ax[2].set(xlabel="unknowns n", ylabel="seconds (best of runs, 1 thread)",
              title="2-D PDE residual (W10): time against n")
    ax[2].grid(True, which="both", alpha=0.3)
    ax[2].legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(out_dir, "sparse_coloring.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def taylor_plots(out_dir: str, quick: bool) -> list:
    import matplotlib.pyplot as plt
    import numpy as np

    import pullback as pb
    import pullback.numpy as pnp

    ode = _example("taylor_ode")
    y0, t_end = np.array([2.0, 0.0]), 10.0
    steps, K = 40, 8
    ys = ode.taylor_integrate(ode.pendulum, y0, t_end, steps, K)
    t_steps = np.linspace(0.0, t_end, steps + 1)
    t_fine = np.linspace(0.0, t_end, 400)
    ref = ode.reference(ode.pendulum, y0, t_fine)
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    ax[0].plot(t_fine, ref.y[0], "-", color="0.6", lw=2, label="DOP853, rtol 1e-13")
    ax[0].plot(t_steps, ys[:, 0], "o", ms=4, label=f"Taylor order {K}, {steps} steps (jet recursion)")
    ax[0].set(xlabel="t", ylabel="θ(t)", title="pendulum θ'' = −sin θ, θ(0) = 2")
    ax[0].legend(fontsize=8, loc="lower left")
    orders = (2, 3, 4, 6, 8) if quick else (1, 2, 3, 4, 5, 6, 8, 10, 12)
    for n_steps in (10, 20, 40):
        end = ref.sol(t_end)
        errs = [np.max(np.abs(ode.taylor_integrate(ode.pendulum, y0, t_end, n_steps, k)[-1] - end)) for k in orders]
        ax[1].semilogy(orders, errs, "o-", label=f"{n_steps} steps (h = {t_end / n_steps:g})")
    ax[1].set(xlabel="Taylor order K", ylabel="max |y(10) − y_DOP853(10)|", title="error against the order")
    ax[1].grid(True, which="both", alpha=0.3)
    ax[1].legend(fontsize=8)
    fig.tight_layout()
    p1 = os.path.join(out_dir, "taylor_ode.png")
    fig.savefig(p1, dpi=110)
    plt.close(fig)

    def f(x):
        return pnp.tanh(x) * pnp.exp(pnp.sin(x))

    x = np.random.default_rng(2).uniform(-1.0, 1.0, 1000)
    v = np.random.default_rng(3).standard_normal(1000)

    def nested(k):
        d = lambda t: f(x + t * v)  # noqa: E731
        for _ in range(k):
            d = (lambda h: lambda t: pb.jvp(h, (t,), (1.0,))[1])(d)
        return d(0.0)

    Ks = list(range(1, 6 if quick else 8))
    t_jet = [_best(lambda k=k: pb.taylor_derivatives(f, x, v, order=k), 5) for k in Ks]
    t_nested = [_best(lambda k=k: nested(k), 3 if k >= 6 else 5) for k in Ks]
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.semilogy(Ks, t_jet, "o-", label="pb.taylor_derivatives (one jet pass, all K)")
    ax.semilogy(Ks, t_nested, "s-", label="K nested pb.jvp (the K-th only)")
    ax.set(xlabel="order K", ylabel="seconds (best of runs, 1 thread)",
           title="K-th directional derivative of tanh(x)·exp(sin x), N = 1000")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    p2 = os.path.join(out_dir, "taylor_cost.png")
    fig.savefig(p2, dpi=110)
    plt.close(fig)
    return [p1, p2]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(HERE, "img"), help="output folder (default docs/img)")
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    args = ap.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    sys.path.insert(0, os.path.join(ROOT, "src"))
    os.makedirs(args.out, exist_ok=True)
    for p in [sparse_plot(args.out, args.quick), *taylor_plots(args.out, args.quick)]:
        print("wrote", p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
