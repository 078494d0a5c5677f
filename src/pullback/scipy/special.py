"""pullback.scipy.special: SciPy's special functions, differentiable to any order.

Values are SciPy's own (each primitive calls the scipy.special function); derivatives are
rules written with pullback operations (gammaln' = digamma, digamma' = polygamma(1, ·),
i0' = i1, i1' = (i0 + iv(2, ·))/2, erfinv' = √π/2·exp(erfinv²) ...), so they differentiate
again. Arguments a function has no closed-form derivative in (an integer order n, the order v
of a Bessel function, the a, b of betainc, the a of gammainc, the df of stdtr) raise
NonDifferentiableArgumentError when differentiated, never a silent zero.

A real scipy.special ufunc applied to a traced value (scipy.special.gammaln(x) inside grad)
dispatches to the function of this module.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as _np
import scipy.special as _sc

from .. import numpy as _pnp
from ..core.trace import Tracer
from ..primitives import elementwise as ew
from ..primitives import elementwise_extra as ex
from ..primitives._util import normalize_axis
from ._rules import constant, elementwise, route_ufunc, ufunc
from ._rules import stop as _stop
from ._zeta import zeta_derivative

add, subtract, multiply, divide, negative = ew.add, ew.subtract, ew.multiply, ew.divide, ew.negative
exp, log, sqrt, select, equal = ew.exp, ew.log, ew.sqrt, ew.select, ew.equal
log1p, sign, logical_and = ew.UNARY["log1p"], ew.NONDIFF_UNARY["sign"], ex.logical_and

_SQRT_PI = math.sqrt(math.pi)
_TWO_OVER_SQRT_PI = 2.0 / _SQRT_PI
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)

_ORDER = "an order: SciPy's function has no derivative in it"


def _half(v):
    return multiply(v, 0.5)


def _sq(x):
    return multiply(x, x)


# ============================================================================ logistic and error functions

_expit = elementwise("expit", _sc.expit, [lambda out, x: multiply(out, subtract(1.0, out))],
                     doc="1/(1 + e⁻ˣ); ∂ = out·(1 − out)")
_logit = elementwise("logit", _sc.logit, [lambda out, x: divide(1.0, multiply(x, subtract(1.0, x)))],
                     doc="log(x/(1 − x)); ∂ = 1/(x(1 − x))")
_log_expit = elementwise("log_expit", _sc.log_expit, [lambda out, x: _expit(negative(x))],
                         doc="log σ(x); ∂ = σ(−x) (no cancellation for large x)")
_erf = elementwise("erf", _sc.erf, [lambda out, x: multiply(exp(negative(_sq(x))), _TWO_OVER_SQRT_PI)],
                   doc="erf x; ∂ = 2/√π·e^(−x²)")
_erfc = elementwise("erfc", _sc.erfc, [lambda out, x: multiply(exp(negative(_sq(x))), -_TWO_OVER_SQRT_PI)],
                    doc="1 − erf x; ∂ = −2/√π·e^(−x²)")
_erfinv = elementwise("erfinv", _sc.erfinv, [lambda out, x: multiply(exp(_sq(out)), _SQRT_PI / 2)],
                      doc="erf⁻¹ x; ∂ = √π/2·e^(out²)")
_erfcinv = elementwise("erfcinv", _sc.erfcinv, [lambda out, x: multiply(exp(_sq(out)), -_SQRT_PI / 2)],
                       doc="erfc⁻¹ x; ∂ = −√π/2·e^(out²)")
_erfcx = elementwise("erfcx", _sc.erfcx,
                     [lambda out, x: subtract(multiply(multiply(x, 2.0), out), _TWO_OVER_SQRT_PI)],
                     doc="e^(x²)·erfc x; ∂ = 2x·out − 2/√π")
_ndtr = elementwise("ndtr", _sc.ndtr, [lambda out, x: multiply(exp(multiply(_sq(x), -0.5)), _INV_SQRT_2PI)],
                    doc="Φ(x), the standard normal CDF; ∂ = φ(x)")
_ndtri = elementwise("ndtri", _sc.ndtri, [lambda out, x: multiply(exp(multiply(_sq(out), 0.5)), _SQRT_2PI)],
                     doc="Φ⁻¹(p); ∂ = 1/φ(out) = √(2π)·e^(out²/2)")
_log_ndtr = elementwise(
    "log_ndtr", _sc.log_ndtr,
    [lambda out, x: multiply(exp(subtract(multiply(_sq(x), -0.5), out)), _INV_SQRT_2PI)],
    doc="log Φ(x); ∂ = φ(x)/Φ(x) = exp(−x²/2 − out)/√(2π) (stable in both tails)",
)
_dawsn = elementwise("dawsn", _sc.dawsn, [lambda out, x: subtract(1.0, multiply(multiply(x, 2.0), out))],
                     doc="Dawson's integral F(x) = e^(−x²)∫₀ˣ e^(t²) dt; ∂ = 1 − 2x·F(x)")

# ============================================================================ gamma family


def _n_plus(n, k: int):
    """n + k for an order (a Python int stays one, so SciPy sees an integer)."""
    return n + k if isinstance(n, (int, _np.integer)) and not isinstance(n, bool) else add(n, k)


def _polygamma_impl(n, x):
    return _sc.polygamma(n, x)


_polygamma = elementwise("polygamma", _polygamma_impl, [None, lambda out, n, x: _polygamma(_n_plus(n, 1), x)],
                         nondiff_args={0: ("n", _ORDER)}, doc="ψ⁽ⁿ⁾(x); ∂/∂x = ψ⁽ⁿ⁺¹⁾(x)")
_digamma = elementwise("digamma", _sc.digamma, [lambda out, x: _polygamma(1, x)], doc="ψ(x) = Γ'/Γ; ∂ = ψ⁽¹⁾(x)")
_gamma = elementwise("gamma", _sc.gamma, [lambda out, x: multiply(out, _digamma(x))], doc="Γ(x); ∂ = Γ(x)ψ(x)")
_gammaln = elementwise("gammaln", _sc.gammaln, [lambda out, x: _digamma(x)], doc="log|Γ(x)|; ∂ = ψ(x)")
_loggamma = elementwise("loggamma", _sc.loggamma, [lambda out, x: _digamma(x)],
                        doc="principal log Γ(x) (real x > 0 here); ∂ = ψ(x)")
_rgamma = elementwise("rgamma", _sc.rgamma, [lambda out, x: negative(multiply(out, _digamma(x)))],
                      doc="1/Γ(x); ∂ = −ψ(x)/Γ(x) (nan at the poles of ψ, where 1/Γ is 0)")
_gammasgn = constant("gammasgn", _sc.gammasgn, doc="sign of Γ(x): piecewise constant, carries no derivative")


def _dbetaln(out, a, b):
    return subtract(_digamma(a), _digamma(add(a, b)))


_betaln = elementwise("betaln", _sc.betaln, [lambda out, a, b: _dbetaln(out, a, b),
                                             lambda out, a, b: _dbetaln(out, b, a)],
                      doc="log|B(a, b)|; ∂/∂a = ψ(a) − ψ(a + b)")
_beta = elementwise("beta", _sc.beta, [lambda out, a, b: multiply(out, _dbetaln(out, a, b)),
                                       lambda out, a, b: multiply(out, _dbetaln(out, b, a))],
                    doc="B(a, b) = Γ(a)Γ(b)/Γ(a + b); ∂/∂a = B·(ψ(a) − ψ(a + b))")

# ============================================================================ x·log y family


def _both_zero(x, y):
    return logical_and(equal(x, 0), equal(y, 0))


def _ratio(x, y):
    """x/y, taken as 0 where both are 0 (where the functions below are 0 for every y)."""
    return divide(x, select(_both_zero(x, y), 1.0, y))


_xlogy = elementwise("xlogy", _sc.xlogy, [lambda out, x, y: log(y), lambda out, x, y: _ratio(x, y)],
                     doc="x·log y (0 at x = 0); ∂/∂x = log y, ∂/∂y = x/y (0 at x = y = 0)")
_xlog1py = elementwise("xlog1py", _sc.xlog1py,
                       [lambda out, x, y: log1p(y), lambda out, x, y: _ratio(x, add(y, 1.0))],
                       doc="x·log(1 + y) (0 at x = 0); ∂/∂x = log1p y, ∂/∂y = x/(1 + y)")
_entr = elementwise("entr", _sc.entr, [lambda out, x: negative(add(log(x), 1.0))],
                    doc="−x log x (0 at 0, −inf for x < 0); ∂ = −(log x + 1)")
_rel_entr = elementwise(
    "rel_entr", _sc.rel_entr,
    [lambda out, x, y: add(log(_ratio(x, y)), 1.0), lambda out, x, y: negative(_ratio(x, y))],
    doc="x log(x/y) (0 at x = 0 ≤ y); ∂/∂x = log(x/y) + 1, ∂/∂y = −x/y",
)
_kl_div = elementwise(
    "kl_div", _sc.kl_div,
    [lambda out, x, y: log(_ratio(x, y)), lambda out, x, y: subtract(1.0, _ratio(x, y))],
    doc="x log(x/y) − x + y; ∂/∂x = log(x/y), ∂/∂y = 1 − x/y",
)

# ============================================================================ incomplete gamma and beta

_A_SHAPE = "a shape parameter: pullback has no derivative of the incomplete function in it"


def _gamma_density(a, x):
    """∂P(a, x)/∂x = x^(a−1) e^(−x) / Γ(a)."""
    return exp(subtract(subtract(_xlogy(subtract(a, 1.0), x), x), _gammaln(a)))


def _beta_density(a, b, x):
    """∂I_x(a, b)/∂x = x^(a−1) (1 − x)^(b−1) / B(a, b)."""
    return exp(subtract(add(_xlogy(subtract(a, 1.0), x), _xlog1py(subtract(b, 1.0), negative(x))), _betaln(a, b)))


_gammainc = elementwise("gammainc", _sc.gammainc, [None, lambda out, a, x: _gamma_density(a, x)],
                        nondiff_args={0: ("a", _A_SHAPE)},
                        doc="P(a, x), the regularized lower incomplete gamma; ∂/∂x = x^(a−1)e^(−x)/Γ(a)")
_gammaincc = elementwise("gammaincc", _sc.gammaincc,
                         [None, lambda out, a, x: negative(_gamma_density(a, x))],
                         nondiff_args={0: ("a", _A_SHAPE)}, doc="Q(a, x) = 1 − P(a, x); ∂/∂x = −x^(a−1)e^(−x)/Γ(a)")
_gammaincinv = elementwise("gammaincinv", _sc.gammaincinv,
                           [None, lambda out, a, y: divide(1.0, _gamma_density(a, out))],
                           nondiff_args={0: ("a", _A_SHAPE)}, doc="x with P(a, x) = y; ∂/∂y = 1/∂ₓP(a, out)")
_gammainccinv = elementwise("gammainccinv", _sc.gammainccinv,
                            [None, lambda out, a, y: divide(-1.0, _gamma_density(a, out))],
                            nondiff_args={0: ("a", _A_SHAPE)}, doc="x with Q(a, x) = y; ∂/∂y = −1/∂ₓP(a, out)")
_betainc = elementwise("betainc", _sc.betainc, [None, None, lambda out, a, b, x: _beta_density(a, b, x)],
                       nondiff_args={0: ("a", _A_SHAPE), 1: ("b", _A_SHAPE)},
                       doc="I_x(a, b), the regularized incomplete beta; ∂/∂x = x^(a−1)(1−x)^(b−1)/B(a, b)")
_betaincc = elementwise("betaincc", _sc.betaincc,
                        [None, None, lambda out, a, b, x: negative(_beta_density(a, b, x))],
                        nondiff_args={0: ("a", _A_SHAPE), 1: ("b", _A_SHAPE)},
                        doc="1 − I_x(a, b); ∂/∂x = −x^(a−1)(1−x)^(b−1)/B(a, b)")
_betainccinv = elementwise("betainccinv", _sc.betainccinv,
                           [None, None, lambda out, a, b, y: divide(-1.0, _beta_density(a, b, out))],
                           nondiff_args={0: ("a", _A_SHAPE), 1: ("b", _A_SHAPE)},
                           doc="x with 1 − I_x(a, b) = y; ∂/∂y = −1/∂ₓI(a, b, out)")
_betaincinv = elementwise("betaincinv", _sc.betaincinv,
                          [None, None, lambda out, a, b, y: divide(1.0, _beta_density(a, b, out))],
                          nondiff_args={0: ("a", _A_SHAPE), 1: ("b", _A_SHAPE)},
                          doc="x with I_x(a, b) = y; ∂/∂y = 1/∂ₓI(a, b, out)")


def _t_density(df, t):
    """Student's t density, Γ((ν+1)/2)/(Γ(ν/2)√(νπ)) (1 + t²/ν)^(−(ν+1)/2)."""
    h = _half(add(df, 1.0))
    logc = subtract(subtract(_gammaln(h), _gammaln(_half(df))), _half(log(multiply(df, math.pi))))
    return exp(subtract(logc, multiply(h, log1p(divide(_sq(t), df)))))


_stdtr = elementwise("stdtr", _sc.stdtr, [None, lambda out, df, t: _t_density(df, t)],
                     nondiff_args={0: ("df", _A_SHAPE)}, doc="Student's t CDF; ∂/∂t = the t density")
_stdtrit = elementwise("stdtrit", _sc.stdtrit, [None, lambda out, df, p: divide(1.0, _t_density(df, out))],
                       nondiff_args={0: ("df", _A_SHAPE)}, doc="Student's t quantile; ∂/∂p = 1/density(out)")

# ============================================================================ Bessel functions

_V = "the order of a Bessel function: SciPy's function has no derivative in it"


def _sign_times(x, v):
    return multiply(sign(x), v)


def _neighbours(f, v, x, sign: float):
    """(f(v − 1, x) + sign·f(v + 1, x))/2: the derivative recurrence of the Bessel functions."""
    return _half(add(f(_n_plus(v, -1), x), multiply(f(_n_plus(v, 1), x), sign)))


_iv = elementwise("iv", _sc.iv, [None, lambda out, v, x: _neighbours(_iv, v, x, 1.0)],
                  nondiff_args={0: ("v", _V)}, doc="I_v(x); ∂/∂x = (I_{v−1} + I_{v+1})/2")
_ive = elementwise("ive", _sc.ive,
                   [None, lambda out, v, x: subtract(_neighbours(_ive, v, x, 1.0), _sign_times(x, out))],
                   nondiff_args={0: ("v", _V)}, doc="I_v(x)·e^(−|x|); ∂/∂x = (ive_{v−1} + ive_{v+1})/2 − sign(x)·out")
_i0 = elementwise("i0", _sc.i0, [lambda out, x: _i1(x)], doc="I₀(x); ∂ = I₁(x)")
_i1 = elementwise("i1", _sc.i1, [lambda out, x: _half(add(_i0(x), _iv(2, x)))],
                  doc="I₁(x); ∂ = (I₀ + I₂)/2 (= I₀ − I₁/x, without the division: ½ at 0)")
_i0e = elementwise("i0e", _sc.i0e, [lambda out, x: subtract(_i1e(x), _sign_times(x, out))],
                   doc="I₀(x)e^(−|x|); ∂ = i1e(x) − sign(x)·out")
_i1e = elementwise("i1e", _sc.i1e, [lambda out, x: subtract(_half(add(_i0e(x), _ive(2, x))), _sign_times(x, out))],
                   doc="I₁(x)e^(−|x|); ∂ = (i0e + ive(2, ·))/2 − sign(x)·out")
_jv = elementwise("jv", _sc.jv, [None, lambda out, v, x: _neighbours(_jv, v, x, -1.0)],
                  nondiff_args={0: ("v", _V)}, doc="J_v(x); ∂/∂x = (J_{v−1} − J_{v+1})/2")
_yv = elementwise("yv", _sc.yv, [None, lambda out, v, x: _neighbours(_yv, v, x, -1.0)],
                  nondiff_args={0: ("v", _V)}, doc="Y_v(x); ∂/∂x = (Y_{v−1} − Y_{v+1})/2")
_yn = elementwise("yn", _sc.yn, [None, lambda out, n, x: _neighbours(_yn, n, x, -1.0)],
                  nondiff_args={0: ("n", _V)}, doc="Y_n(x) for integer n; ∂/∂x = (Y_{n−1} − Y_{n+1})/2")
_j0 = elementwise("j0", _sc.j0, [lambda out, x: negative(_j1(x))], doc="J₀(x); ∂ = −J₁(x)")
_j1 = elementwise("j1", _sc.j1, [lambda out, x: _half(subtract(_j0(x), _jv(2, x)))], doc="J₁(x); ∂ = (J₀ − J₂)/2")
_y0 = elementwise("y0", _sc.y0, [lambda out, x: negative(_y1(x))], doc="Y₀(x); ∂ = −Y₁(x)")
_y1 = elementwise("y1", _sc.y1, [lambda out, x: _half(subtract(_y0(x), _yn(2, x)))], doc="Y₁(x); ∂ = (Y₀ − Y₂)/2")

_kv = elementwise("kv", _sc.kv, [None, lambda out, v, x: negative(_neighbours(_kv, v, x, 1.0))],
                  nondiff_args={0: ("v", _V)}, doc="K_v(x); ∂/∂x = −(K_{v−1} + K_{v+1})/2")
_kve = elementwise("kve", _sc.kve, [None, lambda out, v, x: subtract(out, _neighbours(_kve, v, x, 1.0))],
                   nondiff_args={0: ("v", _V)}, doc="K_v(x)·eˣ; ∂/∂x = out − (kve_{v−1} + kve_{v+1})/2")
_k0 = elementwise("k0", _sc.k0, [lambda out, x: negative(_k1(x))], doc="K₀(x); ∂ = −K₁(x)")
_k1 = elementwise("k1", _sc.k1, [lambda out, x: negative(_half(add(_k0(x), _kv(2, x))))],
                  doc="K₁(x); ∂ = −(K₀ + K₂)/2")
_k0e = elementwise("k0e", _sc.k0e, [lambda out, x: subtract(out, _k1e(x))], doc="K₀(x)eˣ; ∂ = out − k1e(x)")
_k1e = elementwise("k1e", _sc.k1e, [lambda out, x: subtract(out, _half(add(_k0e(x), _kve(2, x))))],
                   doc="K₁(x)eˣ; ∂ = out − (k0e + kve(2, ·))/2")

# ============================================================================ exponential integrals, elementary

_expi = elementwise("expi", _sc.expi, [lambda out, x: divide(exp(x), x)], doc="Ei(x); ∂ = eˣ/x")
_exp1 = elementwise("exp1", _sc.exp1, [lambda out, x: negative(divide(exp(negative(x)), x))],
                    doc="E₁(x) = ∫ₓ^∞ e⁻ᵗ/t dt; ∂ = −e⁻ˣ/x")
_erfi = elementwise("erfi", _sc.erfi, [lambda out, x: multiply(exp(_sq(x)), _TWO_OVER_SQRT_PI)],
                    doc="−i·erf(ix); ∂ = 2/√π·e^(x²)")
_expm1 = elementwise("expm1", _sc.expm1, [lambda out, x: add(out, 1.0)], doc="eˣ − 1; ∂ = out + 1")
_log1p = elementwise("log1p", _sc.log1p, [lambda out, x: divide(1.0, add(x, 1.0))], doc="log(1 + x); ∂ = 1/(1 + x)")
_exp2 = elementwise("exp2", _sc.exp2, [lambda out, x: multiply(out, math.log(2.0))], doc="2ˣ; ∂ = out·log 2")
_exp10 = elementwise("exp10", _sc.exp10, [lambda out, x: multiply(out, math.log(10.0))], doc="10ˣ; ∂ = out·log 10")
_cbrt = elementwise("cbrt", _sc.cbrt, [lambda out, x: divide(1.0 / 3.0, _sq(out))], doc="∛x; ∂ = 1/(3·out²)")

# ============================================================================ zeta, spence


def _zeta_impl(x, q):
    return _sc.zeta(x, q)


def _zeta_ds_impl(x, q, order=1):
    return zeta_derivative(x, q, order).astype(_np.result_type(x, q, _np.float16), copy=False)


def _dq_zeta_ds(out, x, q, order=1):
    """∂/∂q ζ⁽ᵐ⁾(x, q) = −(x·ζ⁽ᵐ⁾(x + 1, q) + m·ζ⁽ᵐ⁻¹⁾(x + 1, q)), from ∂ζ(x, q)/∂q = −x·ζ(x + 1, q)."""
    x1 = add(x, 1.0)
    lower = _hurwitz(x1, q) if order == 1 else _zeta_ds(x1, q, order=order - 1)
    return negative(add(multiply(x, _zeta_ds(x1, q, order=order)), multiply(lower, float(order))))


_zeta_ds = elementwise(
    "zeta_ds", _zeta_ds_impl,
    [lambda out, x, q, order=1: _zeta_ds(x, q, order=order + 1), _dq_zeta_ds],
    doc="ζ⁽ᵐ⁾(x, q) = ∂ᵐζ(x, q)/∂xᵐ = Σₖ (−log(k + q))ᵐ (k + q)⁻ˣ (order=m, Euler–Maclaurin, q > 0)",
)
_hurwitz = elementwise(
    "zeta", _zeta_impl,
    [lambda out, x, q: _zeta_ds(x, q, order=1), lambda out, x, q: negative(multiply(x, _hurwitz(add(x, 1.0), q)))],
    doc="Hurwitz ζ(x, q) = Σₖ (k + q)⁻ˣ; ∂/∂x = −Σₖ log(k + q)(k + q)⁻ˣ, ∂/∂q = −x·ζ(x + 1, q)",
)
_riemann = elementwise("zeta", _sc.zeta, [lambda out, x: _zeta_ds(x, 1.0, order=1)],
                       doc="Riemann ζ(x); ∂/∂x = ζ⁽¹⁾(x, 1) (analytic continuation for x < 1)")


def _spence_d(out, z):
    one = equal(z, 1.0)
    safe = select(one, 2.0, z)
    return select(one, -1.0, divide(log(safe), subtract(1.0, safe)))


_spence = elementwise("spence", _sc.spence, [_spence_d],
                      doc="∫₁ᶻ log t/(1 − t) dt; ∂ = log z/(1 − z) (−1 at z = 1)")

# ============================================================================ the public ufuncs

_UFUNCS = {
    p.name: (p, n)
    for p, n in [
        (_expit, 1), (_logit, 1), (_log_expit, 1), (_erf, 1), (_erfc, 1), (_erfinv, 1), (_erfcinv, 1), (_erfcx, 1),
        (_ndtr, 1), (_ndtri, 1), (_log_ndtr, 1), (_dawsn, 1), (_digamma, 1), (_gamma, 1), (_gammaln, 1),
        (_loggamma, 1), (_rgamma, 1), (_gammasgn, 1), (_betaln, 2), (_beta, 2), (_xlogy, 2), (_xlog1py, 2),
        (_entr, 1), (_rel_entr, 2), (_kl_div, 2), (_gammainc, 2), (_gammaincc, 2), (_gammaincinv, 2),
        (_gammainccinv, 2), (_betainc, 3), (_betaincc, 3), (_betaincinv, 3), (_betainccinv, 3),
        (_stdtr, 2), (_stdtrit, 2),
        (_iv, 2), (_ive, 2), (_i0, 1), (_i1, 1), (_i0e, 1), (_i1e, 1), (_jv, 2), (_yv, 2), (_yn, 2),
        (_j0, 1), (_j1, 1), (_y0, 1), (_y1, 1), (_spence, 1), (_kv, 2), (_kve, 2), (_k0, 1), (_k1, 1), (_k0e, 1),
        (_k1e, 1), (_expi, 1), (_exp1, 1), (_erfi, 1), (_expm1, 1), (_log1p, 1), (_exp2, 1), (_exp10, 1),
        (_cbrt, 1),
    ]
}

expit = ufunc("expit", _expit, 1)
logit = ufunc("logit", _logit, 1)
log_expit = ufunc("log_expit", _log_expit, 1)
erf = ufunc("erf", _erf, 1)
erfc = ufunc("erfc", _erfc, 1)
erfinv = ufunc("erfinv", _erfinv, 1)
erfcinv = ufunc("erfcinv", _erfcinv, 1)
erfcx = ufunc("erfcx", _erfcx, 1)
ndtr = ufunc("ndtr", _ndtr, 1)
ndtri = ufunc("ndtri", _ndtri, 1)
log_ndtr = ufunc("log_ndtr", _log_ndtr, 1)
dawsn = ufunc("dawsn", _dawsn, 1)
digamma = ufunc("digamma", _digamma, 1)
psi = digamma
gamma = ufunc("gamma", _gamma, 1)
gammaln = ufunc("gammaln", _gammaln, 1)
loggamma = ufunc("loggamma", _loggamma, 1)
rgamma = ufunc("rgamma", _rgamma, 1)
gammasgn = ufunc("gammasgn", _gammasgn, 1)
betaln = ufunc("betaln", _betaln, 2)
beta = ufunc("beta", _beta, 2)
xlogy = ufunc("xlogy", _xlogy, 2)
xlog1py = ufunc("xlog1py", _xlog1py, 2)
entr = ufunc("entr", _entr, 1)
rel_entr = ufunc("rel_entr", _rel_entr, 2)
kl_div = ufunc("kl_div", _kl_div, 2)
gammainc = ufunc("gammainc", _gammainc, 2)
gammaincc = ufunc("gammaincc", _gammaincc, 2)
gammaincinv = ufunc("gammaincinv", _gammaincinv, 2)
gammainccinv = ufunc("gammainccinv", _gammainccinv, 2)
betainc = ufunc("betainc", _betainc, 3)
betaincc = ufunc("betaincc", _betaincc, 3)
betaincinv = ufunc("betaincinv", _betaincinv, 3)
betainccinv = ufunc("betainccinv", _betainccinv, 3)
stdtr = ufunc("stdtr", _stdtr, 2)
stdtrit = ufunc("stdtrit", _stdtrit, 2)
iv = ufunc("iv", _iv, 2)
ive = ufunc("ive", _ive, 2)
i0 = ufunc("i0", _i0, 1)
i1 = ufunc("i1", _i1, 1)
i0e = ufunc("i0e", _i0e, 1)
i1e = ufunc("i1e", _i1e, 1)
jv = ufunc("jv", _jv, 2)
jn = jv  # scipy.special.jn is jv
yv = ufunc("yv", _yv, 2)
yn = ufunc("yn", _yn, 2)
j0 = ufunc("j0", _j0, 1)
j1 = ufunc("j1", _j1, 1)
y0 = ufunc("y0", _y0, 1)
y1 = ufunc("y1", _y1, 1)
spence = ufunc("spence", _spence, 1)
kv = ufunc("kv", _kv, 2)
kve = ufunc("kve", _kve, 2)
k0 = ufunc("k0", _k0, 1)
k1 = ufunc("k1", _k1, 1)
k0e = ufunc("k0e", _k0e, 1)
k1e = ufunc("k1e", _k1e, 1)
expi = ufunc("expi", _expi, 1)
exp1 = ufunc("exp1", _exp1, 1)
erfi = ufunc("erfi", _erfi, 1)
expm1 = ufunc("expm1", _expm1, 1)
log1p = ufunc("log1p", _log1p, 1)
exp2 = ufunc("exp2", _exp2, 1)
exp10 = ufunc("exp10", _exp10, 1)
cbrt = ufunc("cbrt", _cbrt, 1)


def polygamma(n: Any, x: Any) -> Any:
    """ψ⁽ⁿ⁾(x), the n-th derivative of the digamma function (n a non-negative integer).

    ∂/∂x = ψ⁽ⁿ⁺¹⁾(x); n is an order and is not differentiable (differentiating in it raises)."""
    return _polygamma(n, x)


def zeta(x: Any, q: Any = None, out: Any = None) -> Any:
    """Riemann ζ(x) (q None) or Hurwitz ζ(x, q) = Σₖ (k + q)⁻ˣ, differentiable in both to any order:
    ∂ᵐ/∂xᵐ by Euler–Maclaurin summation (for q > 0), ∂/∂q = −x·ζ(x + 1, q)."""
    if out is not None:
        raise TypeError("pullback.scipy.special.zeta(..., out=...): output arrays cannot be traced")
    return _riemann(x) if q is None else _hurwitz(x, q)


def multigammaln(a: Any, d: int) -> Any:
    """log Γ_d(a) = d(d−1)/4·log π + Σⱼ₌₀^{d−1} gammaln(a − j/2), for a > (d − 1)/2; ∂/∂a = Σⱼ ψ(a − j/2)."""
    if not isinstance(d, (int, _np.integer)) or isinstance(d, bool) or d < 1:
        raise ValueError("d should be a positive integer (dimension)")
    d = int(d)
    if not isinstance(a, Tracer) and _np.any(_np.asarray(a) <= 0.5 * (d - 1)):
        raise ValueError(f"condition a ({_np.min(a)}) > 0.5 * (d-1) ({0.5 * (d - 1)}) not met")
    a = _pnp.astype(a, _np.float64)  # SciPy's result is float64 for every input dtype
    total = d * (d - 1) * 0.25 * math.log(math.pi)
    for j in range(d):
        total = add(total, _gammaln(subtract(a, 0.5 * j)))
    return total


def logsumexp(a: Any, axis: Any = None, b: Any = None, keepdims: bool = False, return_sign: bool = False) -> Any:
    """log Σ b·eᵃ over axis, computed as m + log Σ b·e^(a − m) with m = max a (a constant: the shift
    cancels in the derivative). ∂/∂a = b·e^(a − out) (the softmax), ∂/∂b = e^(a − out).

    With return_sign=True returns (log|Σ b eᵃ|, sign); otherwise a negative sum gives nan, as in SciPy."""
    a = a if isinstance(a, Tracer) else _np.asarray(a)
    if a.dtype.kind not in "fc":
        a = _pnp.astype(a, _np.float64)
    if b is not None:
        a, b = _pnp.broadcast_arrays(a, b)
        a = _pnp.where(_pnp.equal(_stop(b), 0), -_np.inf, a)  # terms with b = 0 drop out, as in SciPy
    axes = normalize_axis(axis, a.ndim)
    axes = tuple(range(a.ndim)) if axes is None else axes
    if any(a.shape[i] == 0 for i in axes):  # an empty sum: the shift is irrelevant (the result is −inf)
        m = _np.zeros(tuple(1 if i in axes else n for i, n in enumerate(a.shape)), a.dtype)
    else:
        m = _stop(_pnp.max(a, axis=axis, keepdims=True))
        m = _pnp.where(_pnp.isfinite(m), m, 0.0)
    terms = _pnp.exp(_pnp.subtract(a, m))
    if b is not None:
        terms = _pnp.multiply(terms, b)
    s = _pnp.sum(terms, axis=axis, keepdims=keepdims)
    if not keepdims:
        m = _pnp.squeeze(m, axis=axis) if axis is not None else _pnp.reshape(m, ())
    if return_sign:
        sgn = _pnp.sign(_stop(s))
        with _np.errstate(divide="ignore"):
            return _pnp.add(_pnp.log(_pnp.abs(s)), m), sgn
    with _np.errstate(divide="ignore", invalid="ignore"):
        return _pnp.add(_pnp.log(s), m)


def softmax(x: Any, axis: Any = None) -> Any:
    """e^(x − logsumexp(x)) along axis; its Jacobian is diag(s) − s sᵀ."""
    return _pnp.exp(_pnp.subtract(x, logsumexp(x, axis=axis, keepdims=True)))


def log_softmax(x: Any, axis: Any = None) -> Any:
    """x − logsumexp(x) along axis; ∂ = I − softmax(x) 1ᵀ."""
    return _pnp.subtract(x, logsumexp(x, axis=axis, keepdims=True))


# names of scipy.special this module provides (the coverage table and the tests use it)
__all__ = sorted(
    [name for name in _UFUNCS] + ["psi", "jn", "polygamma", "zeta", "multigammaln", "logsumexp", "softmax",
                                  "log_softmax"]
)

for _name in __all__:
    _real = getattr(_sc, _name, None)
    if isinstance(_real, _np.ufunc):
        route_ufunc(_real, globals()[_name])
route_ufunc(_sc._ufuncs._zeta, lambda x, q, **kw: zeta(x, q, **kw))
route_ufunc(_sc._ufuncs._riemann_zeta, lambda x, **kw: zeta(x, **kw))
