"""Generate docs/scipy-coverage.md: what pullback.scipy does with each public name of SciPy's
special, stats, linalg, signal, integrate and optimize.

    PYTHONPATH=src python3 scripts/gen_scipy_coverage.py                  # writes docs/scipy-coverage.md
    PYTHONPATH=src python3 scripts/gen_scipy_coverage.py --output FILE    # writes FILE instead

The names come from SciPy itself (each submodule's ``__all__``), so functions added to
pullback.scipy appear without editing this file. The status of a name is measured by calling
pullback's version with SAMPLES (per submodule; a name without a sample gets one float array per
input, or is marked "provided"; a sample ("call", how, *floats) calls how(fn, *floats), for functions
of functions such as odeint or root), differentiating in each float argument separately (pb.jvp and pb.vjp):

- differentiable: every probed argument has a non-zero derivative in both modes;
- partly: some arguments do, others raise NonDifferentiableArgumentError (named in the note);
- no derivative: it runs, and its result carries no derivative (gammasgn, a sign);
- provided: pullback.scipy defines it, but no probe could run (the note says why);
- unsupported: pullback.scipy has no such function (calling SciPy's on a traced value raises a
  PullbackError that points here);
- n/a: not a function of arrays (classes, warnings, exceptions, constants): nothing to differentiate.

For scipy.stats a distribution is probed through logpdf (logpmf), in every argument.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import re
import sys
import warnings
from collections import Counter
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if os.path.join(ROOT, "src") not in sys.path:
    sys.path.insert(0, os.path.join(ROOT, "src"))

import numpy as np  # noqa: E402

import pullback as pb  # noqa: E402
import pullback.numpy as pnp  # noqa: E402
from pullback.core.tree import tree_flatten, tree_unflatten  # noqa: E402
from pullback.errors import NonDifferentiableArgumentError  # noqa: E402

DEFAULT_OUTPUT = os.path.join(ROOT, "docs", "scipy-coverage.md")
SUBMODULES = ("special", "stats", "linalg", "signal", "integrate", "optimize")
STATUSES = ("differentiable", "partly", "no derivative", "provided", "unsupported", "n/a")

_rng = np.random.default_rng(0)
A = _rng.uniform(0.3, 0.8, (2, 3))
V = _rng.uniform(0.3, 0.8, 5)
W = _rng.uniform(0.3, 0.8, 3)
M = _rng.uniform(-0.5, 0.5, (3, 3)) + 2.0 * np.eye(3)
SPD = M @ M.T + np.eye(3)
L = np.tril(M)


class Int(int):
    """An integer argument of a sample (an order, a dimension): passed as is, never differentiated."""


# name -> the sample arguments (float arrays are probed one at a time; Int and other values are held)
SAMPLES: dict[str, dict[str, tuple]] = {
    "special": {
        "polygamma": (Int(1), A), "multigammaln": (A + 2.0, Int(3)), "yn": (Int(1), A), "jn": (Int(1), A),
        "iv": (1.5, A), "ive": (1.5, A), "jv": (1.5, A), "yv": (1.5, A), "zeta": (A + 1.5, A),
        "betainc": (A + 1.0, A + 1.5, A), "betaincc": (A + 1.0, A + 1.5, A), "betaincinv": (A + 1.0, A + 1.5, A),
        "betainccinv": (A + 1.0, A + 1.5, A), "gammainc": (A + 1.0, A), "gammaincc": (A + 1.0, A),
        "gammaincinv": (A + 1.0, A), "gammainccinv": (A + 1.0, A), "stdtr": (A + 3.0, A), "stdtrit": (A + 3.0, A),
        "ndtri": (A,), "erfcinv": (A,), "logsumexp": (A,), "spence": (A + 0.5,), "gammasgn": (A - 1.0,),
        "kl_div": (A, A + 0.3), "rel_entr": (A, A + 0.3),
    },
    "stats": {},
    "linalg": {
        "solve_triangular": (L, W), "cholesky": (SPD,), "cho_solve": None, "cho_factor": (SPD,), "lu": (M,),
        "lu_factor": (M,), "lu_solve": None, "solve": (M, W), "inv": (M,), "det": (M,), "eigh": (SPD,),
        "expm": (0.3 * M,), "expm_frechet": (0.3 * M, 0.3 * SPD), "sqrtm": (SPD,), "logm": (SPD,),
        "solve_sylvester": (M, SPD, M), "solve_continuous_lyapunov": (M, SPD), "block_diag": (M, SPD),
        "toeplitz": (W,), "circulant": (W,),
    },
    "signal": {"convolve": (V, W), "correlate": (V, W), "fftconvolve": (V, W), "lfilter": (W, np.array([1.0, 0.2]), V)},
    "integrate": {
        "trapezoid": (V,), "simpson": (V,), "cumulative_trapezoid": (V,),
        "odeint": ("call", lambda f, y0, k: f(lambda y, t, k: -k * y, y0, np.linspace(0.0, 1.0, 4), args=(k,)),
                   W, 0.7),
        "solve_ivp": ("call", lambda f, y0, k: f(lambda t, y, k: -k * y, (0.0, 1.0), y0,
                                                 t_eval=np.linspace(0.0, 1.0, 4), args=(k,)).y, W, 0.7),
    },
    "optimize": {
        "root": ("call", lambda f, c: f(lambda x, c: x**3 + x - c, np.ones(3), args=(c,)).x, W),
        "minimize": ("call", lambda f, c: f(lambda x, c: pnp.sum((x - c) ** 2 + x**4), np.zeros(3), args=(c,)).x,
                     W),
        "fixed_point": ("call", lambda f, c: f(lambda x, c: pnp.cos(x) * c, 0.5 * np.ones(3), args=(c,)), W),
    },
}

# stats: a point and parameters for logpdf / logpmf of each distribution
STATS_SAMPLES: dict[str, tuple] = {
    "norm": (A, 0.2, 1.3), "t": (A, 3.5), "gamma": (A, 2.0), "beta": (A, 2.0, 3.0), "chi2": (A, 3.0),
    "expon": (A,), "laplace": (A,), "logistic": (A,), "cauchy": (A,), "uniform": (A * 0.5, 0.1, 1.2),
    "lognorm": (A, 0.8), "halfnorm": (A,), "invgamma": (A, 2.0), "weibull_min": (A, 1.5), "gumbel_r": (A,),
    "pareto": (A + 1.0, 2.0), "rayleigh": (A,),
    "poisson": (np.array([0.0, 2.0, 5.0]), W * 3), "binom": (np.array([0.0, 2.0, 5.0]), 8.0, W),
    "nbinom": (np.array([0.0, 2.0, 5.0]), 2.5, W), "bernoulli": (np.array([0.0, 1.0, 1.0]), W),
    "geom": (np.array([1.0, 2.0, 5.0]), W), "multivariate_normal": (A, W, SPD),
    "dirichlet": (np.array([0.2, 0.3, 0.5]), W + 1.0), "multinomial": (np.array([1.0, 2.0, 3.0]), 6.0, W / W.sum()),
}


def _is_float_array(v: Any) -> bool:
    return not isinstance(v, (Int, bool)) and np.asarray(v).dtype.kind == "f"


def _nonzero(tree) -> bool:
    return any(np.any(np.asarray(x) != 0) for x in tree_flatten(tree)[0] if x is not None)


def probe_argument(fn, args: tuple, i: int) -> str:
    """'d' (a non-zero derivative in both modes), '0' (runs, no derivative), 'refused', or an error."""
    x = np.asarray(args[i], float)

    def f(v):
        full = list(args)
        full[i] = v
        return fn(*full)

    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            rng = np.random.default_rng(1)  # random directions: a ones-vector can be a null direction (softmax)
            _, t = pb.jvp(f, (x,), (rng.standard_normal(x.shape),))
            out, back = pb.vjp(f, x)
            leaves, tree = tree_flatten(out)
            (g,) = back(tree_unflatten(tree, [rng.standard_normal(np.shape(o)) for o in leaves]))
    except NonDifferentiableArgumentError as e:
        m = re.search(r"argument `(\w+)`", str(e))
        return "refused:" + (m.group(1) if m else f"#{i}")
    except Exception as e:  # noqa: BLE001 - reported in the table
        return f"error: {type(e).__name__}: {str(e).splitlines()[0][:90]}"
    return "d" if _nonzero(t) and _nonzero(g) else "0"


def classify(fn, args: tuple) -> tuple[str, str]:
    idx = [i for i, a in enumerate(args) if _is_float_array(a)]
    if not idx:
        return "provided", "no float argument in the sample"
    res = [probe_argument(fn, args, i) for i in idx]
    errors = [r for r in res if r.startswith("error")]
    refused = [r.split(":", 1)[1] for r in res if r.startswith("refused")]
    ok = [r for r in res if r == "d"]
    if errors and not ok:
        return "provided", errors[0]
    if refused and ok:
        return "partly", "not differentiable in " + ", ".join(f"`{r}`" for r in refused)
    if refused:
        return "partly", "refuses " + ", ".join(f"`{r}`" for r in refused)
    if ok:
        return "differentiable", ""
    return "no derivative", "its result carries no derivative"


def _is_na(obj: Any) -> bool:
    return inspect.isclass(obj) or inspect.ismodule(obj) or not callable(obj)


def rows_for(sub: str) -> list[tuple[str, str, str]]:
    scipy_mod = importlib.import_module(f"scipy.{sub}")
    try:
        ours = importlib.import_module(f"pullback.scipy.{sub}")
    except ImportError:
        ours = None
    provided = set(getattr(ours, "__all__", ())) if ours is not None else set()
    rows = []
    for name in sorted(set(scipy_mod.__all__)):
        obj = getattr(scipy_mod, name, None)
        mine = getattr(ours, name, None) if name in provided else None
        if sub == "stats" and mine is not None and name in STATS_SAMPLES:
            method = getattr(mine, "logpdf", None) or mine.logpmf
            status, note = classify(method, STATS_SAMPLES[name])
            methods = [m for m in ("logpdf", "pdf", "logpmf", "pmf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf")
                       if callable(getattr(type(mine), m, None)) and m not in getattr(mine, "unsupported_methods", ())]
            if "cdf" in methods:
                cdf_status, cdf_note = classify(mine.cdf, STATS_SAMPLES[name])
                if cdf_status == "partly":
                    note = "; ".join(x for x in (note, "cdf, sf, ppf ...: " + cdf_note) if x)
            note = "; ".join(x for x in (", ".join(methods), note) if x)
            rows.append((name, status, note))
        elif mine is not None:
            nin = obj.nin if isinstance(obj, np.ufunc) else 1
            sample = SAMPLES[sub].get(name, (A,) * nin)
            if sample and isinstance(sample[0], str) and sample[0] == "call":  # ("call", how(fn, *floats), *floats)
                how, floats = sample[1], sample[2:]
                rows.append((name, *classify(lambda *a, how=how, mine=mine: how(mine, *a), floats)))
            elif sample is None:
                rows.append((name, "provided", "takes another function's output: covered by the tests"))
            else:
                rows.append((name, *classify(mine, sample)))
        elif obj is None or _is_na(obj) and not isinstance(obj, np.ufunc) and not _is_distribution(obj):
            rows.append((name, "n/a", "not an array function"))
        else:
            rows.append((name, "unsupported", ""))
    return rows


def _is_distribution(obj: Any) -> bool:
    return any(c.__name__ in ("rv_generic", "multi_rv_generic") for c in type(obj).__mro__)


def render(all_rows: dict[str, list]) -> str:
    out = [
        "# SciPy coverage",
        "",
        "Generated by `scripts/gen_scipy_coverage.py` from SciPy's own name lists; do not edit by hand. "
        "Each status is measured (see the script's docstring): *differentiable* in every probed float "
        "argument, *partly* (the named arguments raise NonDifferentiableArgumentError, never a silent zero), "
        "*no derivative*, *provided* (defined, not probed), *unsupported*, *n/a*.",
        "",
        "| submodule | " + " | ".join(STATUSES) + " | total |",
        "|---|" + "---|" * (len(STATUSES) + 1),
    ]
    for sub, rows in all_rows.items():
        c = Counter(r[1] for r in rows)
        out.append(f"| scipy.{sub} | " + " | ".join(str(c.get(s, 0)) for s in STATUSES) + f" | {len(rows)} |")
    for sub, rows in all_rows.items():
        out += ["", f"## scipy.{sub}", "", "| name | status | note |", "|---|---|---|"]
        order = {s: i for i, s in enumerate(STATUSES)}
        for name, status, note in sorted(rows, key=lambda r: (order[r[1]], r[0])):
            out.append(f"| `{name}` | {status} | {note.replace('|', '/')} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output", default=DEFAULT_OUTPUT)
    args = ap.parse_args(argv)
    all_rows = {sub: rows_for(sub) for sub in SUBMODULES}
    with open(args.output, "w", encoding="utf-8") as fh:
        fh.write(render(all_rows))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
