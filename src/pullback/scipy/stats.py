"""pullback.scipy.stats: SciPy's distributions, differentiable in x and in loc, scale and shapes.

Each distribution is written in its standard form (z = (x − loc)/scale) as a composition of
pullback.numpy operations and pullback.scipy.special functions, so every derivative comes from
those rules, to any order, under jvp, vjp, vmap and jit. The calling convention is SciPy's:
``norm.logpdf(x, loc=0, scale=1)``, ``gamma.cdf(x, a, loc=0, scale=1)``, ``poisson.logpmf(k, mu,
loc=0)``, and frozen forms ``norm(loc, scale).logpdf(x)``. As in SciPy, results are float64, a
value outside the support gives logpdf −inf (pdf 0, cdf 0 or 1), and invalid parameters (scale ≤ 0,
a shape out of range) give nan.

A CDF whose shape parameter enters an incomplete gamma or beta function (gamma.cdf in a, beta.cdf
in a, b, t.cdf in df, binom.cdf in n, ...) is differentiable in x (and loc, scale, or the
probability p) but raises NonDifferentiableArgumentError when differentiated in that shape.

Provided: norm, t, gamma, beta, chi2, expon, laplace, logistic, cauchy, uniform, lognorm, halfnorm,
invgamma, weibull_min, gumbel_r, pareto, rayleigh; poisson, binom, nbinom, bernoulli, geom;
multivariate_normal, dirichlet, multinomial.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as _np

from .. import numpy as pnp
from ..core.trace import Tracer
from ..errors import NonDifferentiableArgumentError, TracerConversionError, UnsupportedFunctionError
from . import special as sp
from ._rules import constant, refusal
from ._rules import stop as _stop

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_LN2 = math.log(2.0)
_INF = _np.inf


def _f64(x: Any) -> Any:
    """x as float64 (SciPy's stats functions compute and return float64)."""
    if isinstance(x, Tracer):
        return x if x.dtype == _np.float64 else pnp.astype(x, _np.float64)
    return _np.asarray(x, dtype=_np.float64)


def _finish(v: Any) -> Any:
    """A 0-d plain result as a NumPy scalar, as SciPy returns it."""
    return v[()] if isinstance(v, _np.ndarray) and v.ndim == 0 else v


def _bind(name: str, names: Sequence[str], defaults: dict, args: tuple, kwds: dict) -> list:
    """The arguments of a SciPy-style call, by position or keyword, in the order of names."""
    if len(args) > len(names):
        raise TypeError(f"{name}() takes at most {len(names)} arguments ({len(args)} given)")
    values = dict(zip(names, args))
    for k, v in kwds.items():
        if k not in names:
            raise TypeError(f"{name}() got an unexpected keyword argument {k!r}")
        if k in values:
            raise TypeError(f"{name}() got multiple values for argument {k!r}")
        values[k] = v
    out = []
    for n in names:
        if n in values:
            out.append(values[n])
        elif n in defaults:
            out.append(defaults[n])
        else:
            raise TypeError(f"{name}() missing required argument {n!r}")
    return out


def _where(c, a, b):
    return pnp.where(c, a, b)


def _log_of(p, q):
    """log p for a probability p = 1 − q, without losing digits near 1: log1p(−q) where p > ½."""
    big = pnp.greater(p, 0.5)
    return _where(big, pnp.log1p(-_where(big, q, 0.0)), pnp.log(_where(big, 1.0, p)))


_NO_SHAPE_DERIVATIVE = "it enters an incomplete gamma/beta function, which has no derivative in its shape"


def _refused(where: str, values: list, names: Sequence[str], which) -> tuple[list, Any]:
    """The values at `which` made constants, and the zero term that makes differentiating in them raise."""
    guard: Any = 0.0
    out = list(values)
    for i in which:
        out[i] = _stop(values[i])
        guard = guard + refusal(values[i], where, names[i], _NO_SHAPE_DERIVATIVE)
    return out, guard


class _Sampling:
    """rvs: SciPy's sampler on plain parameters (a sample carries no derivative in them)."""

    name: str

    def rvs(self, *args: Any, size: Any = None, random_state: Any = None, **kwds: Any) -> Any:
        """Random variates from scipy.stats; the parameters must be plain values. For a sample that is
        differentiable in loc and scale, draw a standard sample and transform it: loc + scale·z."""
        if any(isinstance(v, Tracer) for v in (*args, *kwds.values())):
            raise TracerConversionError(
                f"pullback.scipy.stats.{self.name}.rvs was given a traced parameter: a random sample carries "
                "no derivative in it. Draw a standard sample and transform it (loc + scale * z), or pass "
                "pullback.stop_gradient(param).")
        import scipy.stats as scipy_stats

        return getattr(scipy_stats, self.name).rvs(*args, size=size, random_state=random_state, **kwds)


# ============================================================================ continuous


class rv_continuous(_Sampling):
    """A continuous distribution given by its standard form; see the module docstring.

    logpdf(z, *shapes) is the standard log density; cdf, sf, logcdf, logsf, ppf, isf likewise (the
    ones not given are derived: sf = 1 − cdf, logcdf = log cdf ...). support(*shapes) gives the
    closed interval (lo, hi) of z; inside is a point of it; valid(*shapes) the valid-parameter mask.
    """

    def __init__(self, name: str, shapes: Sequence[str] = (), *, logpdf: Callable, cdf: Callable,
                 sf: Callable | None = None, logcdf: Callable | None = None, logsf: Callable | None = None,
                 ppf: Callable | None = None, isf: Callable | None = None,
                 support: tuple[float, float] = (-_INF, _INF), inside: float = 0.0,
                 valid: Callable | None = None, open_lo: bool = False, tail_refuses: bool = False):
        self.name = name
        self.shapes = tuple(shapes)
        self._logpdf, self._cdf = logpdf, cdf
        self._sf = sf or (lambda z, *s: 1.0 - cdf(z, *s))
        self._logcdf = logcdf or (lambda z, *s: _log_of(self._cdf(z, *s), self._sf(z, *s)))
        self._logsf = logsf or (lambda z, *s: _log_of(self._sf(z, *s), self._cdf(z, *s)))
        self._ppf = ppf
        self._isf = isf or (None if ppf is None else (lambda q, *s: ppf(1.0 - q, *s)))
        self.support, self.inside, self._valid, self.open_lo = support, inside, valid, open_lo
        self.tail_refuses = tail_refuses

    def __repr__(self) -> str:
        return f"<pullback.scipy.stats.{self.name}>"

    def __call__(self, *args: Any, **kwds: Any) -> rv_frozen:
        """The frozen distribution: dist(*shapes, loc, scale).method(x)."""
        return rv_frozen(self, args, kwds)

    # --------------------------------------------------------------------- helpers

    def _parse(self, method: str, x: Any, args: tuple, kwds: dict):
        names = self.shapes + ("loc", "scale")
        vals = _bind(f"{self.name}.{method}", names, {"loc": 0.0, "scale": 1.0}, args, kwds)
        *shapes, loc, scale = (_f64(v) for v in vals)
        guard = 0.0
        if self.tail_refuses and method not in ("logpdf", "pdf"):
            shapes, guard = _refused(f"pullback.scipy.stats.{self.name}.{method}", shapes, self.shapes,
                                     range(len(shapes)))
        return _f64(x), shapes, loc, scale, guard

    def _ok(self, shapes, scale):
        ok = pnp.greater(scale, 0.0)
        if self._valid is not None:
            ok = pnp.logical_and(ok, self._valid(*shapes))
        return ok

    def _standard(self, method, x, args, kwds):
        x, shapes, loc, scale, guard = self._parse(method, x, args, kwds)
        ok = self._ok(shapes, scale)
        scale_s = _where(ok, scale, 1.0)
        shapes_s = [_where(ok, s, self._safe_shape(i)) for i, s in enumerate(shapes)]
        z = (x - loc) / scale_s
        lo, hi = self.support
        below = pnp.less_equal(z, lo) if self.open_lo else pnp.less(z, lo)
        above = pnp.greater(z, hi)
        inside = pnp.logical_not(pnp.logical_or(below, above))
        zs = _where(inside, z, self.inside)
        return zs, shapes_s, scale_s, _where(ok, guard, _np.nan), below, above

    def _safe_shape(self, i: int) -> float:
        return 1.0

    @staticmethod
    def _out(v, ok):
        """v where the parameters are valid, nan elsewhere; ok is 0 or nan (plus the refusal terms)."""
        return _finish(v + ok)

    # --------------------------------------------------------------------- methods

    def logpdf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """log density at x: logpdf_std((x − loc)/scale) − log scale (−inf outside the support)."""
        zs, s, scale, ok, below, above = self._standard("logpdf", x, args, kwds)
        v = self._logpdf(zs, *s) - pnp.log(scale)
        return self._out(_where(pnp.logical_or(below, above), -_INF, v), ok)

    def pdf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """density at x, exp(logpdf)."""
        return _finish(pnp.exp(self.logpdf(x, *args, **kwds)))

    def _tail(self, fn, lo_val, hi_val, x, args, kwds, method):
        zs, s, _, ok, below, above = self._standard(method, x, args, kwds)
        v = fn(zs, *s)
        return self._out(_where(below, lo_val, _where(above, hi_val, v)), ok)

    def cdf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """P(X ≤ x)."""
        return self._tail(self._cdf, 0.0, 1.0, x, args, kwds, "cdf")

    def sf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """P(X > x) = 1 − cdf, computed without cancellation where SciPy does."""
        return self._tail(self._sf, 1.0, 0.0, x, args, kwds, "sf")

    def logcdf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """log P(X ≤ x)."""
        return self._tail(self._logcdf, -_INF, 0.0, x, args, kwds, "logcdf")

    def logsf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """log P(X > x)."""
        return self._tail(self._logsf, 0.0, -_INF, x, args, kwds, "logsf")

    def _quantile(self, fn, method, q, args, kwds):
        if fn is None:
            raise UnsupportedFunctionError(f"pullback.scipy.stats.{self.name}.{method} is not provided; "
                                           "use scipy.stats on plain values (no derivative).")
        q, shapes, loc, scale, guard = self._parse(method, q, args, kwds)
        ok = pnp.logical_and(self._ok(shapes, scale), pnp.logical_and(pnp.greater_equal(q, 0.0),
                                                                      pnp.less_equal(q, 1.0)))
        qs = _where(ok, q, 0.5)
        shapes_s = [_where(ok, s, self._safe_shape(i)) for i, s in enumerate(shapes)]
        lo, hi = self.support
        first, last = (lo, hi) if method == "ppf" else (hi, lo)
        v = _where(pnp.equal(q, 0.0), first, _where(pnp.equal(q, 1.0), last, fn(qs, *shapes_s)))
        return self._out(loc + _where(ok, scale, 1.0) * v, _where(ok, guard, _np.nan))

    def ppf(self, q: Any, *args: Any, **kwds: Any) -> Any:
        """the quantile: x with cdf(x) = q; ∂/∂q = 1/pdf(x)."""
        return self._quantile(self._ppf, "ppf", q, args, kwds)

    def isf(self, q: Any, *args: Any, **kwds: Any) -> Any:
        """the inverse survival function: x with sf(x) = q."""
        return self._quantile(self._isf, "isf", q, args, kwds)


class rv_frozen:
    """A distribution with its parameters fixed: norm(loc, scale).logpdf(x)."""

    def __init__(self, dist: Any, args: tuple, kwds: dict):
        self.dist, self.args, self.kwds = dist, args, kwds

    def __repr__(self) -> str:
        return f"<frozen pullback.scipy.stats.{self.dist.name}>"

    def rvs(self, size: Any = None, random_state: Any = None) -> Any:
        """Random variates of the frozen distribution (SciPy's sampler)."""
        kwds = {k: v for k, v in self.kwds.items() if k != "allow_singular"}  # not a sampler argument
        return self.dist.rvs(*self.args, size=size, random_state=random_state, **kwds)

    def __getattr__(self, method: str) -> Callable:
        if method.startswith("_"):
            raise AttributeError(method)
        fn = getattr(self.dist, method)
        return lambda x, *more, **kw: fn(x, *self.args, *more, **self.kwds, **kw)


def _gt0(*names):
    def valid(*s):
        ok = pnp.greater(s[0], 0.0)
        for v in s[1:]:
            ok = pnp.logical_and(ok, pnp.greater(v, 0.0))
        return ok

    return valid


# ----------------------------------------------------------------------------- the distributions


def _norm_logpdf(z):
    return -0.5 * z * z - _LOG_SQRT_2PI


norm = rv_continuous(
    "norm", logpdf=_norm_logpdf, cdf=sp.ndtr, sf=lambda z: sp.ndtr(-z), logcdf=sp.log_ndtr,
    logsf=lambda z: sp.log_ndtr(-z), ppf=sp.ndtri, isf=lambda q: -sp.ndtri(q),
)


def _t_logpdf(z, df):
    h = 0.5 * (df + 1.0)
    return sp.gammaln(h) - sp.gammaln(0.5 * df) - 0.5 * pnp.log(df * math.pi) - h * pnp.log1p(z * z / df)


t = rv_continuous(
    "t", ("df",), logpdf=_t_logpdf, cdf=lambda z, df: sp.stdtr(df, z), sf=lambda z, df: sp.stdtr(df, -z),
    ppf=lambda q, df: sp.stdtrit(df, q), isf=lambda q, df: -sp.stdtrit(df, q), valid=_gt0("df"),
    tail_refuses=True,
)

gamma = rv_continuous(
    "gamma", ("a",), logpdf=lambda z, a: sp.xlogy(a - 1.0, z) - z - sp.gammaln(a),
    cdf=lambda z, a: sp.gammainc(a, z), sf=lambda z, a: sp.gammaincc(a, z),
    ppf=lambda q, a: sp.gammaincinv(a, q), isf=lambda q, a: sp.gammainccinv(a, q),
    support=(0.0, _INF), inside=1.0, valid=_gt0("a"), tail_refuses=True,
)

beta = rv_continuous(
    "beta", ("a", "b"),
    logpdf=lambda z, a, b: sp.xlogy(a - 1.0, z) + sp.xlog1py(b - 1.0, -z) - sp.betaln(a, b),
    cdf=lambda z, a, b: sp.betainc(a, b, z), sf=lambda z, a, b: sp.betaincc(a, b, z),
    ppf=lambda q, a, b: sp.betaincinv(a, b, q), isf=lambda q, a, b: sp.betainccinv(a, b, q),
    support=(0.0, 1.0), inside=0.5, valid=_gt0("a", "b"), tail_refuses=True,
)

chi2 = rv_continuous(
    "chi2", ("df",),
    logpdf=lambda z, df: sp.xlogy(0.5 * df - 1.0, z) - 0.5 * z - sp.gammaln(0.5 * df) - (0.5 * _LN2) * df,
    cdf=lambda z, df: sp.gammainc(0.5 * df, 0.5 * z), sf=lambda z, df: sp.gammaincc(0.5 * df, 0.5 * z),
    ppf=lambda q, df: 2.0 * sp.gammaincinv(0.5 * df, q), isf=lambda q, df: 2.0 * sp.gammainccinv(0.5 * df, q),
    support=(0.0, _INF), inside=1.0, valid=_gt0("df"), tail_refuses=True,
)

expon = rv_continuous(
    "expon", logpdf=lambda z: -z, cdf=lambda z: -pnp.expm1(-z), sf=lambda z: pnp.exp(-z),
    logcdf=lambda z: _log_of(-pnp.expm1(-z), pnp.exp(-z)), logsf=lambda z: -z,
    ppf=lambda q: -pnp.log1p(-q), isf=lambda q: -pnp.log(q), support=(0.0, _INF), inside=1.0,
)


def _laplace_cdf(z):
    half_tail = 0.5 * pnp.exp(-pnp.abs(z))
    return _where(pnp.greater(z, 0.0), 1.0 - half_tail, half_tail)


def _laplace_logcdf(z):
    return _where(pnp.less(z, 0.0), pnp.minimum(z, 0.0) - _LN2, pnp.log1p(-0.5 * pnp.exp(-pnp.abs(z))))


def _laplace_ppf(q):
    upper = pnp.greater(q, 0.5)
    return _where(upper, -pnp.log(2.0 - 2.0 * _where(upper, q, 0.75)), pnp.log(2.0 * _where(upper, 0.25, q)))


laplace = rv_continuous(
    "laplace", logpdf=lambda z: -pnp.abs(z) - _LN2, cdf=_laplace_cdf, sf=lambda z: _laplace_cdf(-z),
    logcdf=_laplace_logcdf, logsf=lambda z: _laplace_logcdf(-z), ppf=_laplace_ppf, isf=lambda q: -_laplace_ppf(q),
)

logistic = rv_continuous(
    "logistic", logpdf=lambda z: -pnp.abs(z) - 2.0 * pnp.log1p(pnp.exp(-pnp.abs(z))),
    cdf=sp.expit, sf=lambda z: sp.expit(-z), logcdf=sp.log_expit, logsf=lambda z: sp.log_expit(-z),
    ppf=sp.logit, isf=lambda q: -sp.logit(q),
)

cauchy = rv_continuous(
    "cauchy", logpdf=lambda z: -math.log(math.pi) - pnp.log1p(z * z),
    cdf=lambda z: 0.5 + pnp.arctan(z) / math.pi, sf=lambda z: 0.5 - pnp.arctan(z) / math.pi,
    ppf=lambda q: pnp.tan(math.pi * q - math.pi / 2.0), isf=lambda q: pnp.tan(math.pi / 2.0 - math.pi * q),
)

uniform = rv_continuous(
    "uniform", logpdf=lambda z: z * 0.0, cdf=lambda z: z, sf=lambda z: 1.0 - z,
    ppf=lambda q: q, isf=lambda q: 1.0 - q, support=(0.0, 1.0), inside=0.5,
)


def _lognorm_logpdf(y, s):
    ly = pnp.log(y)
    return -pnp.log(s) - ly - _LOG_SQRT_2PI - ly * ly / (2.0 * s * s)


lognorm = rv_continuous(
    "lognorm", ("s",), logpdf=_lognorm_logpdf,
    cdf=lambda y, s: sp.ndtr(pnp.log(y) / s), sf=lambda y, s: sp.ndtr(-pnp.log(y) / s),
    logcdf=lambda y, s: sp.log_ndtr(pnp.log(y) / s), logsf=lambda y, s: sp.log_ndtr(-pnp.log(y) / s),
    ppf=lambda q, s: pnp.exp(s * sp.ndtri(q)), isf=lambda q, s: pnp.exp(-s * sp.ndtri(q)),
    support=(0.0, _INF), inside=1.0, valid=_gt0("s"), open_lo=True,
)

halfnorm = rv_continuous(
    "halfnorm", logpdf=lambda z: 0.5 * math.log(2.0 / math.pi) - 0.5 * z * z,
    cdf=lambda z: sp.erf(z / math.sqrt(2.0)), sf=lambda z: 2.0 * sp.ndtr(-z),
    ppf=lambda q: sp.ndtri((1.0 + q) / 2.0), isf=lambda q: -sp.ndtri(q / 2.0), support=(0.0, _INF), inside=1.0,
)

invgamma = rv_continuous(
    "invgamma", ("a",), logpdf=lambda z, a: -(a + 1.0) * pnp.log(z) - sp.gammaln(a) - 1.0 / z,
    cdf=lambda z, a: sp.gammaincc(a, 1.0 / z), sf=lambda z, a: sp.gammainc(a, 1.0 / z),
    ppf=lambda q, a: 1.0 / sp.gammainccinv(a, q), isf=lambda q, a: 1.0 / sp.gammaincinv(a, q),
    support=(0.0, _INF), inside=1.0, valid=_gt0("a"), open_lo=True, tail_refuses=True,
)

weibull_min = rv_continuous(
    "weibull_min", ("c",), logpdf=lambda z, c: pnp.log(c) + sp.xlogy(c - 1.0, z) - z**c,
    cdf=lambda z, c: -pnp.expm1(-(z**c)), sf=lambda z, c: pnp.exp(-(z**c)), logsf=lambda z, c: -(z**c),
    ppf=lambda q, c: (-pnp.log1p(-q)) ** (1.0 / c), isf=lambda q, c: (-pnp.log(q)) ** (1.0 / c),
    support=(0.0, _INF), inside=1.0, valid=_gt0("c"),
)

gumbel_r = rv_continuous(
    "gumbel_r", logpdf=lambda z: -z - pnp.exp(-z), cdf=lambda z: pnp.exp(-pnp.exp(-z)),
    logcdf=lambda z: -pnp.exp(-z), sf=lambda z: -pnp.expm1(-pnp.exp(-z)),
    ppf=lambda q: -pnp.log(-pnp.log(q)), isf=lambda q: -pnp.log(-pnp.log1p(-q)),
)

pareto = rv_continuous(
    "pareto", ("b",), logpdf=lambda z, b: pnp.log(b) - (b + 1.0) * pnp.log(z),
    cdf=lambda z, b: 1.0 - z ** (-b), sf=lambda z, b: z ** (-b), logsf=lambda z, b: -b * pnp.log(z),
    ppf=lambda q, b: (1.0 - q) ** (-1.0 / b), isf=lambda q, b: q ** (-1.0 / b),
    support=(1.0, _INF), inside=2.0, valid=_gt0("b"),
)

rayleigh = rv_continuous(
    "rayleigh", logpdf=lambda z: pnp.log(z) - 0.5 * z * z, cdf=lambda z: -pnp.expm1(-0.5 * z * z),
    sf=lambda z: pnp.exp(-0.5 * z * z), logsf=lambda z: -0.5 * z * z,
    ppf=lambda q: pnp.sqrt(-2.0 * pnp.log1p(-q)), isf=lambda q: pnp.sqrt(-2.0 * pnp.log(q)),
    support=(0.0, _INF), inside=1.0, open_lo=True,
)

# ============================================================================ discrete


class rv_discrete(_Sampling):
    """A discrete distribution on the integers in [lo(*shapes), hi(*shapes)], given by its logpmf and
    its cdf/sf at integer k (the floor of the argument); ``loc`` shifts k."""

    def __init__(self, name: str, shapes: Sequence[str], *, logpmf: Callable, cdf: Callable, sf: Callable,
                 support: Callable, valid: Callable | None = None, tail_refuses: Sequence[int] = (),
                 stable_logcdf: bool = False):
        self.name, self.shapes, self.tail_refuses = name, tuple(shapes), tuple(tail_refuses)
        self.stable_logcdf = stable_logcdf
        self._quantiles: dict[str, Any] = {}
        self._logpmf, self._cdf, self._sf, self.support, self._valid = logpmf, cdf, sf, support, valid

    def __repr__(self) -> str:
        return f"<pullback.scipy.stats.{self.name}>"

    def __call__(self, *args: Any, **kwds: Any) -> rv_frozen:
        return rv_frozen(self, args, kwds)

    def _parse(self, method, k, args, kwds):
        vals = _bind(f"{self.name}.{method}", self.shapes + ("loc",), {"loc": 0.0}, args, kwds)
        *shapes, loc = (_f64(v) for v in vals)
        guard = 0.0
        if method not in ("logpmf", "pmf"):
            shapes, guard = _refused(f"pullback.scipy.stats.{self.name}.{method}", shapes, self.shapes,
                                     self.tail_refuses)
        k = _f64(k) - loc
        ok = self._valid(*shapes) if self._valid is not None else pnp.isfinite(k)
        shapes = [_where(ok, s, 0.5) for s in shapes]
        lo, hi = self.support(*shapes)
        return k, shapes, _where(ok, guard, _np.nan), lo, hi

    def logpmf(self, k: Any, *args: Any, **kwds: Any) -> Any:
        """log P(K = k) (−inf off the integers of the support)."""
        k, s, ok, lo, hi = self._parse("logpmf", k, args, kwds)
        on = pnp.logical_and(pnp.equal(k, pnp.floor(k)),
                             pnp.logical_and(pnp.greater_equal(k, lo), pnp.less_equal(k, hi)))
        v = self._logpmf(_where(on, k, lo), *s)
        return _finish(_where(on, v, -_INF) + ok)

    def pmf(self, k: Any, *args: Any, **kwds: Any) -> Any:
        """P(K = k) = exp(logpmf)."""
        return _finish(pnp.exp(self.logpmf(k, *args, **kwds)))

    def _tail(self, fn, lo_val, hi_val, method, k, args, kwds):
        k, s, ok, lo, hi = self._parse(method, k, args, kwds)
        kf = pnp.floor(k)
        below, above = pnp.less(kf, lo), pnp.greater_equal(kf, hi)
        v = fn(_where(pnp.logical_or(below, above), lo, kf), *s)
        return _finish(_where(below, lo_val, _where(above, hi_val, v)) + ok)

    def cdf(self, k: Any, *args: Any, **kwds: Any) -> Any:
        """P(K ≤ k)."""
        return self._tail(self._cdf, 0.0, 1.0, "cdf", k, args, kwds)

    def sf(self, k: Any, *args: Any, **kwds: Any) -> Any:
        """P(K > k)."""
        return self._tail(self._sf, 1.0, 0.0, "sf", k, args, kwds)

    def _quantile(self, method: str, q: Any, args: tuple, kwds: dict) -> Any:
        vals = _bind(f"{self.name}.{method}", self.shapes + ("loc",), {"loc": 0.0}, args, kwds)
        prim = self._quantiles.get(method)
        if prim is None:
            name, m = self.name, method

            def impl(q, *params):
                import scipy.stats as scipy_stats

                return getattr(getattr(scipy_stats, name), m)(q, *params)

            prim = self._quantiles[method] = constant(f"{self.name}_{method}", impl,
                                                      doc=f"scipy.stats.{name}.{m}: a step function, no derivative")
        return _finish(prim(_f64(q), *(_f64(v) for v in vals)))

    def ppf(self, q: Any, *args: Any, **kwds: Any) -> Any:
        """the smallest k with cdf(k) ≥ q: SciPy's values; a step function of q and the parameters,
        so the result carries no derivative (it is zero wherever it exists)."""
        return self._quantile("ppf", q, args, kwds)

    def isf(self, q: Any, *args: Any, **kwds: Any) -> Any:
        """the inverse survival function (SciPy's values; a step function, no derivative)."""
        return self._quantile("isf", q, args, kwds)

    def logcdf(self, k: Any, *args: Any, **kwds: Any) -> Any:
        """log P(K ≤ k)."""
        if self.stable_logcdf:
            return _finish(_log_of(self.cdf(k, *args, **kwds), self.sf(k, *args, **kwds)))
        return _finish(pnp.log(self.cdf(k, *args, **kwds)))

    def logsf(self, k: Any, *args: Any, **kwds: Any) -> Any:
        """log P(K > k)."""
        return _finish(pnp.log(self.sf(k, *args, **kwds)))


def _unit(p):
    return pnp.logical_and(pnp.greater_equal(p, 0.0), pnp.less_equal(p, 1.0))


poisson = rv_discrete(
    "poisson", ("mu",), logpmf=lambda k, mu: sp.xlogy(k, mu) - sp.gammaln(k + 1.0) - mu,
    cdf=lambda k, mu: sp.gammaincc(k + 1.0, mu), sf=lambda k, mu: sp.gammainc(k + 1.0, mu),
    support=lambda mu: (0.0, _INF), valid=lambda mu: pnp.greater_equal(mu, 0.0),
)


def _binom_logpmf(k, n, p):
    comb = sp.gammaln(n + 1.0) - (sp.gammaln(k + 1.0) + sp.gammaln(n - k + 1.0))
    return comb + sp.xlogy(k, p) + sp.xlog1py(n - k, -p)


binom = rv_discrete(
    "binom", ("n", "p"), logpmf=_binom_logpmf,
    cdf=lambda k, n, p: sp.betainc(n - k, k + 1.0, 1.0 - p), sf=lambda k, n, p: sp.betainc(k + 1.0, n - k, p),
    support=lambda n, p: (0.0, n), valid=lambda n, p: pnp.logical_and(pnp.greater_equal(n, 0.0), _unit(p)),
    tail_refuses=(0,),
)


def _nbinom_logpmf(k, n, p):
    return sp.gammaln(n + k) - sp.gammaln(k + 1.0) - sp.gammaln(n) + n * pnp.log(p) + sp.xlog1py(k, -p)


nbinom = rv_discrete(
    "nbinom", ("n", "p"), logpmf=_nbinom_logpmf,
    cdf=lambda k, n, p: sp.betainc(n, k + 1.0, p), sf=lambda k, n, p: sp.betaincc(n, k + 1.0, p),
    support=lambda n, p: (0.0, _INF), valid=lambda n, p: pnp.logical_and(pnp.greater(n, 0.0), _unit(p)),
    tail_refuses=(0,), stable_logcdf=True,
)

bernoulli = rv_discrete(
    "bernoulli", ("p",), logpmf=lambda k, p: sp.xlogy(k, p) + sp.xlog1py(1.0 - k, -p),
    cdf=lambda k, p: 1.0 - p + k * 0.0, sf=lambda k, p: p + k * 0.0,
    support=lambda p: (0.0, 1.0), valid=_unit,
)

geom = rv_discrete(
    "geom", ("p",), logpmf=lambda k, p: sp.xlog1py(k - 1.0, -p) + pnp.log(p),
    cdf=lambda k, p: -pnp.expm1(k * pnp.log1p(-p)), sf=lambda k, p: pnp.exp(k * pnp.log1p(-p)),
    support=lambda p: (1.0, _INF),
    valid=lambda p: pnp.logical_and(pnp.greater(p, 0.0), pnp.less_equal(p, 1.0)),
)

# ============================================================================ multivariate


class multivariate_normal_gen(_Sampling):
    """The multivariate normal N(mean, cov): logpdf = −½(k log 2π + log det cov + (x−μ)ᵀcov⁻¹(x−μ)).

    cov may be a scalar (σ²I), a vector (a diagonal) or a matrix; it is factored by Cholesky
    (cov = L Lᵀ, log det = 2 Σ log Lᵢᵢ), so derivatives in x, mean and cov are those of the factor
    and the triangular solves. x has the dimension on its last axis, as in SciPy."""

    name = "multivariate_normal"
    unsupported_methods = ("cdf", "logcdf")  # SciPy's values, no derivative (see _integrated)

    def __repr__(self) -> str:
        return "<pullback.scipy.stats.multivariate_normal>"

    def __call__(self, mean: Any = None, cov: Any = 1, allow_singular: bool = False, seed: Any = None) -> rv_frozen:
        return rv_frozen(self, (), {"mean": mean, "cov": cov, "allow_singular": allow_singular})

    def _dim(self, mean, cov) -> int:
        if mean is not None and _np.ndim(mean) > 0:
            return int(_np.shape(mean)[-1])
        if cov is not None and _np.ndim(cov) > 0:
            return int(_np.shape(cov)[-1])
        return 1

    def logpdf(self, x: Any, mean: Any = None, cov: Any = 1, allow_singular: bool = False) -> Any:
        """log density of N(mean, cov) at the rows of x.

        allow_singular=True: on plain values SciPy's (pseudo-determinant) logpdf; on traced values
        cov must be positive definite (the derivative of a pseudo-determinant does not exist where
        the rank changes), and the result is the ordinary density's."""
        if allow_singular:
            if not any(isinstance(v, Tracer) for v in (x, mean, cov)):
                import scipy.stats as _ss

                return _ss.multivariate_normal.logpdf(x, mean=mean, cov=cov, allow_singular=True)
            try:
                return self.logpdf(x, mean, cov, allow_singular=False)
            except _np.linalg.LinAlgError as e:
                raise UnsupportedFunctionError(
                    "pullback.scipy.stats.multivariate_normal(allow_singular=True) is differentiable only "
                    "where cov is positive definite (the derivative of a pseudo-determinant does not exist "
                    "where the rank changes), and this cov is singular. Add a small multiple of the "
                    "identity to cov, or pass plain values for SciPy's value without a derivative.") from e
        k = self._dim(mean, cov)
        x = _f64(x)
        if x.ndim == 0:
            x = pnp.reshape(x, (1,))
        if x.ndim == 1:
            x = pnp.reshape(x, (-1, 1)) if k == 1 else pnp.reshape(x, (1, k))
        diff = x if mean is None else x - _f64(mean)
        cov = _f64(cov)
        if cov.ndim == 0:
            maha = pnp.sum(diff * diff, axis=-1) / cov
            logdet = k * pnp.log(cov)
        elif cov.ndim == 1:
            maha = pnp.sum(diff * diff / cov, axis=-1)
            logdet = pnp.sum(pnp.log(cov))
        else:
            chol = pnp.linalg.cholesky(cov)
            rows = pnp.reshape(diff, (-1, k))
            z = pnp.linalg.solve(chol, pnp.swapaxes(rows, -1, -2))  # L⁻¹(x − μ)ᵀ, one column per point
            maha = pnp.reshape(pnp.sum(z * z, axis=0), diff.shape[:-1])
            logdet = 2.0 * pnp.sum(pnp.log(pnp.diagonal(chol)))
        out = -0.5 * (k * math.log(2.0 * math.pi) + logdet + maha)
        return _finish(pnp.squeeze(out)) if out.size else out

    def pdf(self, x: Any, mean: Any = None, cov: Any = 1, allow_singular: bool = False) -> Any:
        """density, exp(logpdf)."""
        return _finish(pnp.exp(self.logpdf(x, mean, cov, allow_singular)))

    def cdf(self, x: Any, mean: Any = None, cov: Any = 1, allow_singular: bool = False, **kwds: Any) -> Any:
        """P(X ≤ x), SciPy's value (Genz's quasi-Monte Carlo integration); no derivative."""
        return self._integrated("cdf", x, mean, cov, allow_singular, kwds)

    def logcdf(self, x: Any, mean: Any = None, cov: Any = 1, allow_singular: bool = False, **kwds: Any) -> Any:
        """log P(X ≤ x), SciPy's value; no derivative."""
        return self._integrated("logcdf", x, mean, cov, allow_singular, kwds)

    def _integrated(self, method: str, x, mean, cov, allow_singular, kwds) -> Any:
        args = {"x": x, "mean": mean, "cov": cov, **kwds}
        traced = [name for name, v in args.items() if isinstance(v, Tracer)]
        if traced:
            raise NonDifferentiableArgumentError(
                f"pullback.scipy.stats.multivariate_normal.{method} is not differentiable in `{traced[0]}`: "
                "SciPy computes it by quasi-Monte Carlo integration (Genz's algorithm, accurate to "
                "abseps = 1e-5), whose result has no derivative to follow. Pass plain values for SciPy's "
                "value; for a derivative with a diagonal cov write it as a product of "
                "pullback.scipy.special.ndtr((x − mean) / sqrt(cov)).")
        import scipy.stats as _ss

        return getattr(_ss.multivariate_normal, method)(x, mean=mean, cov=cov, allow_singular=allow_singular,
                                                         **kwds)


multivariate_normal = multivariate_normal_gen()


class dirichlet_gen(_Sampling):
    """Dir(alpha): logpdf = Σ (αᵢ − 1) log xᵢ − (Σ log Γ(αᵢ) − log Γ(Σ αᵢ)); x has the components on
    its first axis, as in SciPy (the last component may be left out: 1 − Σ of the others)."""

    name = "dirichlet"

    def __call__(self, alpha: Any, seed: Any = None) -> rv_frozen:
        return rv_frozen(self, (alpha,), {})

    def logpdf(self, x: Any, alpha: Any) -> Any:
        """log density at x."""
        alpha = _f64(alpha)
        if alpha.ndim != 1:
            raise ValueError(f"Parameter vector 'a' must be one dimensional, but a.shape = {alpha.shape}.")
        x = _f64(x)
        if x.shape[0] == alpha.shape[0] - 1:
            x = pnp.concatenate([x, pnp.expand_dims(1.0 - pnp.sum(x, axis=0), 0)], axis=0)
        a = pnp.reshape(alpha, (-1,) + (1,) * (x.ndim - 1))
        lnb = pnp.sum(sp.gammaln(alpha)) - sp.gammaln(pnp.sum(alpha))
        return _finish(pnp.sum(sp.xlogy(a - 1.0, x), axis=0) - lnb)

    def pdf(self, x: Any, alpha: Any) -> Any:
        """density, exp(logpdf)."""
        return _finish(pnp.exp(self.logpdf(x, alpha)))


dirichlet = dirichlet_gen()


class multinomial_gen(_Sampling):
    """Mult(n, p): logpmf = log n! + Σ (xᵢ log pᵢ − log xᵢ!), counts on the last axis (−inf unless Σx = n)."""

    name = "multinomial"

    def __call__(self, n: Any, p: Any, seed: Any = None) -> rv_frozen:
        return rv_frozen(self, (n, p), {})

    def logpmf(self, x: Any, n: Any, p: Any) -> Any:
        """log P(X = x)."""
        x, n, p = _f64(x), _f64(n), _f64(p)
        v = sp.gammaln(n + 1.0) + pnp.sum(sp.xlogy(x, p) - sp.gammaln(x + 1.0), axis=-1)
        total = pnp.sum(_stop(x), axis=-1)
        return _finish(_where(pnp.equal(total, n), v, -_INF))

    def pmf(self, x: Any, n: Any, p: Any) -> Any:
        """P(X = x)."""
        return _finish(pnp.exp(self.logpmf(x, n, p)))


multinomial = multinomial_gen()

CONTINUOUS = ("norm", "t", "gamma", "beta", "chi2", "expon", "laplace", "logistic", "cauchy", "uniform", "lognorm",
              "halfnorm", "invgamma", "weibull_min", "gumbel_r", "pareto", "rayleigh")
DISCRETE = ("poisson", "binom", "nbinom", "bernoulli", "geom")
MULTIVARIATE = ("multivariate_normal", "dirichlet", "multinomial")
__all__ = sorted(CONTINUOUS + DISCRETE + MULTIVARIATE)
