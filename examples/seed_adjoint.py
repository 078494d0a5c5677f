"""The seed question, end to end: the φ-gradient of a function that is itself built from vjps.

State x ∈ R^k, n = 50 steps, h(x, θ) = tanh(W x + θ), a trajectory x_{i+1} = h(x_i, θ) that
does not depend on φ, p(x) = ½‖x‖², β_i(φ) = sin(φ₀·i/n) + φ₁² with φ ∈ R². The adjoint

    λ_n = 0,    λ_{i-1} = (∂h/∂x)ᵀ|_{x_i} λ_i + (∂p/∂x)ᵀ|_{x_i} β_i(φ)          (i = n … 1)

is written with pb.vjp, and so is the scalar

    F(φ) = Σ_{i=0..n} fᵀ (∂h/∂θ)ᵀ|_{x_i} λ_i.

∇_φF is computed six ways and timed against F for k = 8 … 2048:

    rev-rev      pb.grad(F): reverse mode over the reverse mode inside F
    fwd-rev      pb.jvp(F, φ, e_j) for both directions e_j of φ
    jvp_by_vjp   pb.jvp_by_vjp(F, φ, e_j): two reverse passes per direction, no forward mode
    Method B     the question's forward recursion ξ_i = (∂h/∂x) ξ_{i-1} + (∂h/∂θ) f with pb.jvp
    Method A     the question's naive recursion on ∂λ_i/∂φ with dense k×k Jacobians (pb.jacrev)
    FD           central finite differences of F

Run:  python examples/seed_adjoint.py [--ks 8 32 128 512 2048] [--plot docs/img/seed_adjoint.png]
See docs/seed-adjoint.md for the story behind the numbers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

import pullback as pb
import pullback.numpy as pnp

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PLOT = os.path.join(HERE, os.pardir, "docs", "img", "seed_adjoint.png")

METHODS = ("rev-rev", "fwd-rev", "jvp_by_vjp", "Method B", "Method A", "FD")
AD_METHODS = METHODS[:5]
NAIVE = "Method A"


# ----------------------------------------------------------------------------- the problem


class SeedProblem:
    """One instance of the seed problem: W, θ, f, and the trajectory x_0 … x_n (fixed, no φ in it)."""

    def __init__(self, k: int, n: int = 50, seed: int = 0):
        rng = np.random.default_rng([seed, k])
        self.k, self.n = k, n
        self.W = rng.standard_normal((k, k)) / np.sqrt(k)
        self.theta = 0.1 * rng.standard_normal(k)
        self.f = rng.standard_normal(k)
        xs = [rng.standard_normal(k)]
        for _ in range(n):
            xs.append(np.tanh(self.W @ xs[-1] + self.theta))
        self.xs = xs

    # The three ingredient functions, written with pullback.numpy so they can be differentiated.
    def h(self, x, theta):
        return pnp.tanh(self.W @ x + theta)

    @staticmethod
    def p(x):
        return 0.5 * pnp.sum(x * x)

    def beta(self, phi, i):
        return pnp.sin(phi[0] * (i / self.n)) + phi[1] ** 2

    def F(self, phi):
        """F(φ) = Σ_i fᵀ (∂h/∂θ)ᵀ λ_i, with the adjoint λ computed backwards by vjps."""
        xs, theta, f, n = self.xs, self.theta, self.f, self.n
        lam = np.zeros(self.k)  # λ_n = 0
        total = 0.0
        for i in range(n, -1, -1):
            _, h_vjp = pb.vjp(self.h, xs[i], theta)
            lam_x, lam_theta = h_vjp(lam)  # (∂h/∂x)ᵀ λ_i,  (∂h/∂θ)ᵀ λ_i
            total = total + f @ lam_theta
            if i > 0:
                _, p_vjp = pb.vjp(self.p, xs[i])
                (dp,) = p_vjp(self.beta(phi, i))  # (∂p/∂x)ᵀ β_i(φ)
                lam = lam_x + dp  # λ_{i-1}
        return total


# ----------------------------------------------------------------------------- ∇_φF, six ways


def grad_rev_rev(prob: SeedProblem, phi):
    return pb.grad(prob.F)(phi)


def grad_fwd_rev(prob: SeedProblem, phi):
    return np.array([pb.jvp(prob.F, (phi,), (e,))[1] for e in np.eye(len(phi))])


def grad_jvp_by_vjp(prob: SeedProblem, phi):
    return np.array([pb.jvp_by_vjp(prob.F, (phi,), (e,))[1] for e in np.eye(len(phi))])


def grad_method_B(prob: SeedProblem, phi):
    """The question's Method B: ξ_i = ∂F/∂λ_i runs forwards, one jvp of h per step.

    ξ_0 = (∂h_0/∂θ) f,  ξ_i = (∂h_i/∂θ) f + (∂h_i/∂x) ξ_{i-1},  ∇F = Σ_{i<n} (ξ_i · ∇p(x_{i+1})) ∇β_{i+1}(φ).
    """
    xs, theta, f, n = prob.xs, prob.theta, prob.f, prob.n
    grad_p, grad_beta = pb.grad(prob.p), pb.grad(prob.beta)
    g = np.zeros_like(phi)
    xi = np.zeros(prob.k)
    for i in range(n):
        _, xi = pb.jvp(prob.h, (xs[i], theta), (xi, f))
        g = g + (xi @ grad_p(xs[i + 1])) * grad_beta(phi, i + 1)
    return g


def grad_method_A(prob: SeedProblem, phi, jacobian=pb.jacrev):
    """The question's Method A: Λ_i = ∂λ_i/∂φ (k×2) backwards, from dense k×k Jacobians of h.

    Λ_n = 0,  Λ_{i-1} = (∂h/∂x)ᵀ Λ_i + ∇p(x_i) ∇β_i(φ)ᵀ,   ∇F = Σ_i Λ_iᵀ (∂h/∂θ) f.
    Building ∂h/∂x costs k vjps (jacrev) or k jvps (jacfwd) per step: O(k³) per step.
    """
    xs, theta, f, n = prob.xs, prob.theta, prob.f, prob.n
    jac_h = jacobian(prob.h, argnums=(0, 1))
    grad_p, grad_beta = pb.grad(prob.p), pb.grad(prob.beta)
    Lam = np.zeros((prob.k, len(phi)))
    g = np.zeros_like(phi)
    for i in range(n, -1, -1):
        J_x, J_theta = jac_h(xs[i], theta)
        g = g + Lam.T @ (J_theta @ f)
        if i > 0:
            Lam = J_x.T @ Lam + np.outer(grad_p(xs[i]), grad_beta(phi, i))
    return g


def grad_fd(prob: SeedProblem, phi, eps: float = 1e-5):
    """Central differences (F(φ + ε e_j) − F(φ − ε e_j)) / 2ε: 2·dim(φ) evaluations of F."""
    return np.array([(prob.F(phi + eps * e) - prob.F(phi - eps * e)) / (2 * eps) for e in np.eye(len(phi))])


GRADIENTS = {
    "rev-rev": grad_rev_rev,
    "fwd-rev": grad_fwd_rev,
    "jvp_by_vjp": grad_jvp_by_vjp,
    "Method B": grad_method_B,
    "Method A": grad_method_A,
    "FD": grad_fd,
}


def fd_error_estimate(prob: SeedProblem, phi, eps: float = 1e-5) -> float:
    """FD's own error, estimated: the step-doubling difference |D(ε) − D(2ε)| (truncation ε² and the
    rounding noise of F divided by ε both show in it) plus the rounding floor u·|F|/ε."""
    d1, d2 = grad_fd(prob, phi, eps), grad_fd(prob, phi, 2 * eps)
    rounding = np.finfo(float).eps * abs(prob.F(phi)) / eps
    return float(3 * np.max(np.abs(d1 - d2)) + 10 * rounding)


def rel_diff(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def check_agreement(prob: SeedProblem, phi, methods=METHODS, grads=None):
    """(gradients, worst relative difference between AD methods, FD's difference, FD's error estimate)."""
    grads = dict(grads or {})
    for m in methods:
        if m not in grads:
            grads[m] = GRADIENTS[m](prob, phi)
    ad = [m for m in methods if m != "FD"]
    worst_ad = max((rel_diff(grads[a], grads[b]) for a in ad for b in ad if a < b), default=0.0)
    fd_diff = fd_est = None
    if "FD" in grads:
        ref = grads[ad[0]]
        fd_diff = float(np.max(np.abs(grads["FD"] - ref)))
        fd_est = fd_error_estimate(prob, phi)
    return grads, worst_ad, fd_diff, fd_est


# ----------------------------------------------------------------------------- timing


def median_times(fns: dict, repeats: int) -> tuple[dict, dict]:
    """Median seconds per call of each fn, sampled round-robin so that a slowdown of the machine
    during the run hits every method alike; and, when "F" is among them, the median over rounds
    of time(fn)/time(F) in the same round (the ratio we report: robust to drifting load)."""
    samples = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - t0)
    medians = {name: statistics.median(ts) for name, ts in samples.items()}
    ratios = {}
    if "F" in samples:
        ratios = {name: statistics.median(t / f for t, f in zip(ts, samples["F"], strict=True))
                  for name, ts in samples.items()}
    return medians, ratios


def repeats_for(k: int) -> int:
    return 15 if k <= 32 else 9 if k <= 128 else 5 if k <= 512 else 3


def naive_estimate(k: int, t_F: float, times: dict) -> float | None:
    """Predicted seconds for Method A at k, from the largest smaller k where it was measured.

    Per step, Method A makes k vjps of h where F makes two, in the overhead regime (small k)
    and in the arithmetic regime (large k, one k×k matrix-vector product per vjp) alike; so
    time(A)/time(F) grows ∝ k, and time(A) at k ≈ [time(A)/time(F)]_{k0} · (k/k0) · time(F at k).
    """
    done = [kk for kk in sorted(times) if kk < k and times[kk].get(NAIVE)]
    if not done:
        return None
    k0 = done[-1]
    return times[k0][NAIVE + "/F"] * (k / k0) * t_F


def run(ks, n: int = 50, naive_limit: float = 20.0, verbose: bool = True):
    phi = np.array([0.7, -0.4])
    times, checks, skipped = {}, {}, {}
    for k in ks:
        t0 = time.perf_counter()
        prob = SeedProblem(k, n)
        reps = repeats_for(k)
        F_fn = lambda prob=prob: prob.F(phi)  # noqa: E731
        prob.F(phi)  # warm-up
        est = naive_estimate(k, median_times({"F": F_fn}, 3)[0]["F"], times)
        methods = list(METHODS)
        if est is not None and est > naive_limit:
            methods.remove(NAIVE)
            skipped[k] = est
        t = {}
        # One call of each method first: warm-up, and the correctness check.
        grads = {}
        for m in methods:
            s = time.perf_counter()
            grads[m] = GRADIENTS[m](prob, phi)
            t[m] = time.perf_counter() - s
        checks[k] = check_agreement(prob, phi, methods, grads)[1:]
        fns = {"F": F_fn}
        for m in methods:
            if m == NAIVE and t[m] * reps > 6.0:
                continue  # a slow naive run: its first call is the measurement
            fns[m] = lambda m=m, prob=prob: GRADIENTS[m](prob, phi)
        medians, ratios = median_times(fns, reps)
        t.update(medians)
        for m in methods:  # a method timed once (slow Method A) is compared with the median F
            t[m + "/F"] = ratios.get(m, t[m] / t["F"])
        times[k] = t
        if verbose:
            worst, fd_diff, fd_est = checks[k]
            print(f"  k = {k:5d}: done in {time.perf_counter() - t0:5.1f} s; AD methods agree to {worst:.1e}, "
                  f"FD differs by {fd_diff:.1e} (its own error ≲ {fd_est:.1e})"
                  + (f"; Method A skipped (estimated {est:.0f} s)" if k in skipped else ""), flush=True)
    return times, checks, skipped


def ratio_table(times: dict, skipped: dict) -> str:
    head = f"{'k':>6} {'F [ms]':>9} | " + " ".join(f"{m:>10}" for m in METHODS)
    lines = ["time(∇F) / time(F):", head, "-" * len(head)]
    for k, t in times.items():
        cells = []
        for m in METHODS:
            if m in t:
                cells.append(f"{t[m + '/F']:10.2f}")
            else:
                cells.append(f"{'skipped':>10}")
        lines.append(f"{k:6d} {t['F'] * 1e3:9.2f} | " + " ".join(cells))
    if len(times) > 1:  # flat in k means max/min close to 1; ∝ k means max/min ≈ k_max/k_min
        lines.append("-" * len(head))
        cells = []
        for m in METHODS:
            r = [t[m + "/F"] for t in times.values() if m in t]
            cells.append(f"{max(r) / min(r):10.2f}" if len(r) > 1 else f"{'-':>10}")
        lines.append(f"{'max/min over k':>16} | " + " ".join(cells))
    for k, est in skipped.items():
        lines.append(f"  Method A skipped at k = {k}: estimated {est:.0f} s (its time/F ratio grows ∝ k; "
                     f"extrapolated from the largest smaller k, limit 20 s).")
    return "\n".join(lines)


def crossover(times: dict) -> str:
    """Up to which k the dense Method A is faster than each AD method (its cost grows ∝ k³, theirs ∝ k²)."""
    ks = [k for k in times if NAIVE in times[k]]
    if not ks:
        return "Method A was not run."
    parts = []
    for m in AD_METHODS:
        if m == NAIVE:
            continue
        wins = [k for k in ks if times[k][NAIVE] < times[k][m]]
        loses = [k for k in ks if k not in wins]
        if not wins:
            parts.append(f"never faster than {m}")
        elif not loses:
            parts.append(f"faster than {m} at every measured k")
        else:
            parts.append(f"faster than {m} up to k = {max(wins)}")
    last = ks[-1]
    return (f"Crossover: Method A is {'; '.join(parts)}. At k = {last} it takes "
            f"{times[last][NAIVE] / times[last]['rev-rev']:.0f}× as long as pb.grad, and the gap grows ∝ k.")


def plot(times: dict, skipped: dict, path: str) -> str:
    """Left: seconds against k (log-log), one line per method. Right: the same divided by F."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax_r) = plt.subplots(1, 2, figsize=(12, 4.8))
    ks = list(times)
    styles = {"F": ("k", "o", "-"), "rev-rev": ("C0", "s", "-"), "fwd-rev": ("C1", "^", "-"),
              "jvp_by_vjp": ("C2", "v", "-"), "Method B": ("C4", "D", "-"), "Method A": ("C3", "x", "--"),
              "FD": ("C7", ".", ":")}
    for m in ("F",) + METHODS:
        kk = [k for k in ks if m in times[k]]
        color, marker, ls = styles[m]
        label = "F itself" if m == "F" else m + (" (dense k×k Jacobians)" if m == NAIVE else "")
        ax.loglog(kk, [times[k][m] for k in kk], marker=marker, ls=ls, color=color, label=label)
        if m != "F":
            ax_r.loglog(kk, [times[k][m + "/F"] for k in kk], marker=marker, ls=ls, color=color, label=label)
        if m == NAIVE and skipped and kk:
            ex = [max(kk)] + sorted(skipped)
            est = [times[max(kk)][m]] + [skipped[k] for k in sorted(skipped)]
            ax.loglog(ex, est, ls=":", color=color, marker="x", alpha=0.5, label="Method A, estimated (not run)")
            est_r = [times[max(kk)][m + "/F"]] + [skipped[k] / times[k]["F"] for k in sorted(skipped)]
            ax_r.loglog(ex, est_r, ls=":", color=color, marker="x", alpha=0.5)
    ax.set_xlabel("state dimension k")
    ax.set_ylabel("seconds (median)")
    ax.set_title("time of F and of ∇φF (n = 50 steps)")
    ax_r.set_xlabel("state dimension k")
    ax_r.set_ylabel("time(∇φF) / time(F)")
    ax_r.set_title("ratio to F: flat for AD, ∝ k for dense Method A")
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    for a in (ax, ax_r):
        a.grid(True, which="both", alpha=0.3)
        a.set_xticks(ks)
        a.xaxis.set_major_formatter(ScalarFormatter())
        a.xaxis.set_minor_formatter(NullFormatter())
    lo, hi = ax_r.get_ylim()
    ax_r.set_yticks([t for t in (0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000) if lo <= t <= hi])
    ax_r.yaxis.set_major_formatter(ScalarFormatter())
    ax_r.yaxis.set_minor_formatter(NullFormatter())
    ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return os.path.normpath(path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ks", type=int, nargs="+", default=[8, 32, 128, 512, 2048])
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--plot", default=DEFAULT_PLOT, help="where to save the PNG ('' for none)")
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    print(f"Seed adjoint problem: n = {args.n} steps, φ ∈ R², ∇φF six ways "
          f"(threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})")
    times, checks, skipped = run(args.ks, args.n)
    worst_ad = max(c[0] for c in checks.values())
    fd_ok = all(c[1] <= c[2] for c in checks.values())
    print(f"\nLargest relative difference between the AD methods, over all k: {worst_ad:.1e}"
          f"{'  (OK ≤ 1e-8)' if worst_ad <= 1e-8 else '  (FAIL > 1e-8)'}")
    fd_worst = max(checks.values(), key=lambda c: c[1] / c[2])
    print(f"FD vs AD: largest difference {max(c[1] for c in checks.values()):.1e}; worst ratio to FD's own error "
          f"estimate {fd_worst[1] / fd_worst[2]:.2f}" + ("  (OK < 1)" if fd_ok else "  (FAIL: FD outside its error)"))
    print()
    print(ratio_table(times, skipped))
    print(crossover(times))
    if args.plot:
        print(f"\nPlot saved to {plot(times, skipped, args.plot)}")
    print(f"Total {time.perf_counter() - t_start:.1f} s")
    return 0 if worst_ad <= 1e-8 and fd_ok else 1


if __name__ == "__main__":
    sys.exit(main())
