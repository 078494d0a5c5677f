"""More elementwise primitives: the rest of NumPy's ufuncs and elementwise functions.

Stable pairs (logaddexp), sinc to every order, modulo, clip, NaN-aware and sign-handling
functions, fixed rescalings, complex assembly, and the functions whose derivative is zero
wherever it exists (rounding, integer and bit operations, tests of values), which carry none.

Each primitive's doc states its derivative, and the choice made where NumPy's function is
not differentiable (ties, boundaries, jumps). Rules are written with pullback operations
(the primitives of ``elementwise`` and of this module), so they differentiate again.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.batching import attach_broadcasting_rules
from ..core.primitive import Primitive, nondifferentiable
from . import elementwise as ew
from ._util import bool_rule, dtype_of, result_dtype, same_rule, shape_of, ufunc_rule

add, subtract, multiply, divide, negative = ew.add, ew.subtract, ew.multiply, ew.divide, ew.negative
select, convert, real, imag, conj = ew.select, ew.convert, ew.real, ew.imag, ew.conj
less, less_equal, greater, greater_equal = ew.less, ew.less_equal, ew.greater, ew.greater_equal
logical_and, logical_or, logical_not = (ew.NONDIFF_BINARY["logical_and"], ew.NONDIFF_BINARY["logical_or"],
                                        ew.NONDIFF_UNARY["logical_not"])
isnan, isinf, isfinite = ew.NONDIFF_UNARY["isnan"], ew.NONDIFF_UNARY["isinf"], ew.NONDIFF_UNARY["isfinite"]
sign, rint = ew.NONDIFF_UNARY["sign"], ew.NONDIFF_UNARY["rint"]


def _sample(a):
    """A 0-d stand-in for a (Python scalars stay Python scalars: NumPy types them weakly)."""
    return a if isinstance(a, (bool, int, float, complex)) else np.ones((), dtype_of(a))


def ufunc_nary_rule(fn):
    """Shape/dtype rule of an n-ary elementwise NumPy function: broadcast shapes (None arguments
    skipped), and the dtype fn itself gives for the arguments' dtypes."""

    def rule(*args, **params):
        present = [a for a in args if a is not None]
        shape = np.broadcast_shapes(*[shape_of(a) for a in present])
        with np.errstate(all="ignore"):
            out = fn(*[None if a is None else _sample(a) for a in args], **params)
        return shape, np.asarray(out).dtype

    return rule


def _like(t, out):
    """t in out's dtype (a tangent flowing from an input of another dtype)."""
    d = dtype_of(out)
    return t if dtype_of(t) == d else convert(t, dtype=d)


def _binary(name, impl, dx, dy, doc, **kw):
    """A broadcasting binary primitive from its two partial derivatives d(x, y, out) (None: not differentiable)."""
    jvps = [None if d is None else (lambda t, out, x, y, d=d: _like(multiply(t, d(x, y, out)), out)) for d in (dx, dy)]
    vjps = [
        None if dx is None else (lambda ct, out, x, y: multiply(ct, dx(x, y, out))),
        None if dy is None else (lambda ct, out, x, y: multiply(ct, dy(x, y, out))),
    ]
    return Primitive(name, impl, shape=ufunc_nary_rule(impl), jvps=jvps, vjps=vjps, doc=doc, broadcasting=True, **kw)


# ----------------------------------------------------------------------------- log-sum-exp pairs


def _share_of(x, y, out, base_exp):
    """∂ logaddexp(x, y)/∂x = exp(x − out) ∈ [0, 1], evaluated without inf − inf: where out is
    infinite the larger argument takes the whole derivative (half each at ties, e.g. both −inf)."""
    inf = isinf(out)
    gap = subtract(select(inf, 0.0, x), select(inf, 0.0, out))
    return select(inf, ew._tie_weight(x, y, dtype_of(out)), base_exp(gap))


def _logaddexp(name, impl, base_exp, formula):
    return _binary(
        name, impl,
        lambda x, y, out: _share_of(x, y, out, base_exp),
        lambda x, y, out: _share_of(y, x, out, base_exp),
        doc=f"{formula}; ∂/∂x = {base_exp.name}(x − out) (≤ 1, no overflow), ∂/∂y likewise",
    )


logaddexp = _logaddexp("logaddexp", np.logaddexp, ew.exp, "log(eˣ + eʸ)")
logaddexp2 = _logaddexp("logaddexp2", np.logaddexp2, ew.UNARY["exp2"], "log₂(2ˣ + 2ʸ)")

# ----------------------------------------------------------------------------- sinc, to every order
# sinc(x) = sin(πx)/(πx) = g(πx) with g(t) = sin(t)/t, so sinc⁽ᵏ⁾(x) = πᵏ g⁽ᵏ⁾(πx). Near 0 g⁽ᵏ⁾ is
# summed from its Maclaurin series (no cancellation), elsewhere from Leibniz's rule on sin(t)·t⁻¹.

_SINC_SERIES_TERMS = 20
_SINC_SERIES_RADIUS = 2.0


def _sinc_series(t, k):
    """g⁽ᵏ⁾(t) = Σₙ (−1)ⁿ (2n)! / ((2n−k)! (2n+1)!) t²ⁿ⁻ᵏ, for |t| < 2."""
    n0 = (k + 1) // 2
    t2 = t * t
    power = t ** (2 * n0 - k)
    total = np.zeros_like(t)
    for n in range(n0, n0 + _SINC_SERIES_TERMS):
        coef = (-1) ** n * math.factorial(2 * n) / (math.factorial(2 * n - k) * math.factorial(2 * n + 1))
        total = total + coef * power
        power = power * t2
    return total


def _sinc_leibniz(t, k):
    """g⁽ᵏ⁾(t) = Σⱼ C(k, j) sin⁽ᵏ⁻ʲ⁾(t) (−1)ʲ j! t⁻ʲ⁻¹, for t away from 0."""
    s, c = np.sin(t), np.cos(t)
    sin_derivs = (s, c, -s, -c)
    inv = 1.0 / t
    power = inv
    total = np.zeros_like(t)
    for j in range(k + 1):
        total = total + (math.comb(k, j) * (-1) ** j * math.factorial(j)) * sin_derivs[(k - j) % 4] * power
        power = power * inv
    return total


def _sinc_impl(x, order=0):
    if order == 0:
        return np.sinc(x)
    x = np.asarray(x)
    rdt = np.result_type(x, 1.0)
    t = np.pi * x.astype(np.complex128 if rdt.kind == "c" else np.float64)
    small = np.abs(t) < _SINC_SERIES_RADIUS
    g = np.where(small, _sinc_series(t, order), _sinc_leibniz(np.where(small, _SINC_SERIES_RADIUS, t), order))
    return (g * math.pi**order).astype(rdt, copy=False)


sinc = Primitive(
    "sinc", _sinc_impl, shape=lambda x, order=0: (shape_of(x), np.result_type(dtype_of(x), 1.0)),
    jvps=[lambda t, out, x, order=0: multiply(t, sinc(x, order=order + 1))],
    doc="sinc⁽ᵏ⁾(x), the k-th derivative (order=k) of sin(πx)/(πx); exact at 0 to every order "
        "(sinc'(0) = 0, sinc''(0) = −π²/3); complex x is supported (it is holomorphic)",
    elementwise=True,
)

# ----------------------------------------------------------------------------- modulo


def _minus_quotient(x, y, out):
    """−q, where q is the integer with x = q·y + out (trunc(x/y) for fmod, floor(x/y) for remainder).

    q is recovered from NumPy's own result, so it agrees with it at every point; it is a constant
    (rint carries no derivative), as the derivative of a piecewise-constant function is zero."""
    return negative(rint(divide(subtract(x, out), y)))


def _modulo(name, impl, q):
    return _binary(
        name, impl, lambda x, y, out: 1.0, _minus_quotient,
        doc=f"{name}(x, y) = x − q·y with q = {q}; ∂/∂x = 1, ∂/∂y = −q (the jumps where q changes are "
            "ignored: the derivative almost everywhere)",
    )


fmod = _modulo("fmod", np.fmod, "trunc(x/y)")
remainder = _modulo("remainder", np.remainder, "floor(x/y)")

# ----------------------------------------------------------------------------- powers, signs, extrema

float_power = _binary(
    "float_power", np.float_power, lambda x, y, out: ew._pow_dx(x, y), lambda x, y, out: ew._pow_dy(x, out),
    doc="xʸ computed in float64/complex128 (NumPy's result dtype); the same derivatives as power",
)

copysign = _binary(
    "copysign", np.copysign, lambda x, y, out: multiply(sign(out), sign(x)), None,
    doc="|x| with the sign of y: ∂/∂x = sign(x)·sign(out) (0 at x = 0, as for abs), ∂/∂y = 0 (a sign)",
)


def _nan_aware_share(x, y, out, larger: bool):
    """fmax/fmin: the argument NumPy returns takes the derivative; half each at ties; the other
    argument when one is NaN (so NaNs are ignored, as the values ignore them)."""
    dt = dtype_of(out)
    w = ew._tie_weight(x, y, dt) if larger else ew._tie_weight(y, x, dt)
    return add(w, convert(logical_and(isnan(y), logical_not(isnan(x))), dtype=dt))


fmax = _binary(
    "fmax", np.fmax, lambda x, y, out: _nan_aware_share(x, y, out, True),
    lambda x, y, out: _nan_aware_share(y, x, out, True),
    doc="elementwise max ignoring NaNs; the larger argument takes the derivative, half each at ties",
)
fmin = _binary(
    "fmin", np.fmin, lambda x, y, out: _nan_aware_share(x, y, out, False),
    lambda x, y, out: _nan_aware_share(y, x, out, False),
    doc="elementwise min ignoring NaNs; the smaller argument takes the derivative, half each at ties",
)

ldexp = Primitive(
    "ldexp", np.ldexp, shape=ufunc_nary_rule(np.ldexp),
    jvps=[lambda t, out, x, n: ldexp(t, n), None],
    vjps=[lambda ct, out, x, n: ldexp(ct, n), None],
    doc="x·2ⁿ for an integer n: ∂/∂x = 2ⁿ (n carries no derivative)",
    broadcasting=True,
)
nextafter = _binary(
    "nextafter", np.nextafter, lambda x, y, out: 1.0, None,
    doc="the next float after x towards y: ∂/∂x = 1 (it is x up to one ulp), ∂/∂y = 0",
)

# ----------------------------------------------------------------------------- clip


def _clip_shape(a, lo, hi):
    return ufunc_nary_rule(np.clip)(a, lo, hi)


def _all(*masks):
    ms = [m for m in masks if m is not None]
    if not ms:
        return None
    out = ms[0]
    for m in ms[1:]:
        out = logical_and(out, m)
    return out


def _clip_mask_a(a, lo, hi):
    """a_min ≤ a ≤ a_max (the boundaries belong to a)."""
    return _all(None if lo is None else greater_equal(a, lo), None if hi is None else less_equal(a, hi))


def _clip_mask_lo(a, lo, hi):
    """a < a_min ≤ a_max: the result is a_min."""
    return _all(less(a, lo), None if hi is None else less_equal(lo, hi))


def _clip_mask_hi(a, lo, hi):
    """a > a_max, or a_min > a_max (NumPy's result is then a_max everywhere)."""
    return greater(a, hi) if lo is None else logical_or(greater(a, hi), greater(lo, hi))


def _masked(v, mask):
    return v if mask is None else select(mask, v, 0.0)


def _clip_xp(xp, a, lo, hi):
    """NumPy's clip: minimum(maximum(a, a_min), a_max), so a_max wins where the bounds cross."""
    out = a if lo is None else xp.maximum(a, lo)
    return out if hi is None else xp.minimum(out, hi)


_CLIP_MASKS = (_clip_mask_a, _clip_mask_lo, _clip_mask_hi)

clip = Primitive(
    "clip", np.clip, shape=_clip_shape,
    jvps=[lambda t, out, a, lo, hi, m=m: _like(_masked(t, m(a, lo, hi)), out) for m in _CLIP_MASKS],
    doc="numpy.clip(a, a_min, a_max) (a bound may be None). Each element's derivative goes to the "
        "argument its value is: ∂/∂a = 1 on the closed interval a_min ≤ a ≤ a_max (the boundaries "
        "count as inside, as in torch.clamp), 0 outside; ∂/∂a_min = 1 where a < a_min; ∂/∂a_max = 1 "
        "where a > a_max, or everywhere a_min > a_max (NumPy then returns a_max)",
    broadcasting=True,
    xp_impl=lambda xp, a, lo, hi: _clip_xp(xp, a, lo, hi),
)

# ----------------------------------------------------------------------------- NaN and infinity handling


def _complex_impl(re, im):
    dt = np.promote_types(result_dtype(re, im), np.complex64)
    re, im = np.asarray(re), np.asarray(im)
    out = np.empty(np.broadcast_shapes(re.shape, im.shape), dt)
    out.real = re
    out.imag = im
    return out


complex_ = Primitive(
    "complex", _complex_impl,
    shape=lambda re, im: (np.broadcast_shapes(shape_of(re), shape_of(im)),
                          np.promote_types(result_dtype(re, im), np.complex64)),
    linear=True,
    jvps=[lambda t, out, re, im: _like(t, out), lambda t, out, re, im: multiply(_like(t, out), 1j)],
    vjps=[lambda ct, out, re, im: real(ct), lambda ct, out, re, im: negative(imag(ct))],
    doc="re + i·im from real parts (exact); its transpose maps ct to (Re ct, −Im ct)",
    broadcasting=True,
)


def _keep_where_finite(v, x):
    """v where x is finite, 0 elsewhere; for complex x, real and imaginary parts separately."""
    if dtype_of(x).kind != "c":
        return select(isfinite(x), v, 0.0)
    return complex_(select(isfinite(real(x)), real(v), 0.0), select(isfinite(imag(x)), imag(v), 0.0))


def _nan_to_num_impl(x, nan=0.0, posinf=None, neginf=None):
    return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


nan_to_num = Primitive(
    "nan_to_num", _nan_to_num_impl, shape=same_rule,
    jvps=[lambda t, out, x, **p: _keep_where_finite(t, x)],
    vjps=[lambda ct, out, x, **p: _keep_where_finite(ct, x)],
    doc="NaN and ±inf replaced by finite numbers: ∂ = 1 where x is finite, 0 where it was replaced "
        "(componentwise for complex x)",
    elementwise=True,
)

# ----------------------------------------------------------------------------- fixed rescalings and parts


def _scaling(name, impl, factor, what):
    return Primitive(
        name, impl, shape=ufunc_rule(impl), linear=True,
        jvps=[lambda t, out, x: multiply(t, factor)],
        vjps=[lambda ct, out, x: multiply(ct, factor)],
        doc=f"{what}: x·{factor!r}", elementwise=True,
    )


deg2rad = _scaling("deg2rad", np.deg2rad, math.pi / 180.0, "degrees to radians")
rad2deg = _scaling("rad2deg", np.rad2deg, 180.0 / math.pi, "radians to degrees")

fractional_part = Primitive(
    "fractional_part", lambda x: np.modf(x)[0],
    shape=lambda x: (shape_of(x), np.modf(np.zeros((), dtype_of(x)))[0].dtype),
    jvps=[lambda t, out, x: t], vjps=[lambda ct, out, x: ct],
    doc="the first result of numpy.modf, x − trunc(x) with x's sign: ∂ = 1 (the jumps are ignored)",
    elementwise=True,
)


def _safe_modulus(z):
    return ew._nonzero(ew.absolute(z))


sign_complex = Primitive(
    "sign_complex", np.sign, shape=same_rule,
    jvps=[lambda t, out, z: multiply(multiply(out, 1j), divide(imag(multiply(conj(out), t)), _safe_modulus(z)))],
    vjps=[lambda ct, out, z: multiply(multiply(conj(out), 1j), divide(imag(multiply(ct, out)), _safe_modulus(z)))],
    doc="sign of complex z, z/|z| (0 at 0); d sign·t = i·s·Im(s̄ t)/|z| with s = sign(z) "
        "(not holomorphic; the transpose is ct ↦ i·s̄·Im(ct s)/|z|); 0 at z = 0",
    elementwise=True,
)

# ----------------------------------------------------------------------------- no derivative
# Piecewise-constant functions (rounding, integer quotients, bit operations, tests of values):
# their derivative is zero wherever it exists, so their results are constants to every
# transformation. Bit and integer operations accept only integers and booleans, as in NumPy.


def _round_impl(x, decimals=0):
    return np.round(x, decimals)


def _nondiff_unary(name, impl, shape=None):
    return nondifferentiable(name, impl, shape=shape or ufunc_rule(impl), doc=f"{name}(x): carries no derivative",
                             elementwise=True)


NONDIFF_UNARY_EXTRA = {
    "round": nondifferentiable(
        "round", _round_impl, shape=lambda x, decimals=0: (shape_of(x), np.round(np.zeros((), dtype_of(x))).dtype),
        doc="x rounded to `decimals` digits (halves to even): piecewise constant, carries no derivative",
        elementwise=True,
    ),
    "fix": _nondiff_unary("fix", np.fix),
    "spacing": _nondiff_unary("spacing", np.spacing),
    "isposinf": _nondiff_unary("isposinf", np.isposinf),
    "isneginf": _nondiff_unary("isneginf", np.isneginf),
    "invert": _nondiff_unary("invert", np.invert),
    "integral_part": _nondiff_unary(
        "integral_part", lambda x: np.modf(x)[1],
        shape=lambda x: (shape_of(x), np.modf(np.zeros((), dtype_of(x)))[1].dtype),
    ),
    "frexp_exponent": _nondiff_unary(
        "frexp_exponent", lambda x: np.frexp(x)[1],
        shape=lambda x: (shape_of(x), np.frexp(np.zeros((), dtype_of(x)))[1].dtype),
    ),
}
if hasattr(np, "bitwise_count"):
    NONDIFF_UNARY_EXTRA["bitwise_count"] = _nondiff_unary("bitwise_count", np.bitwise_count)


def _isclose_impl(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    return np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


NONDIFF_BINARY_EXTRA = {
    name: nondifferentiable(name, getattr(np, name), shape=ufunc_nary_rule(getattr(np, name)),
                            doc=f"numpy.{name}: carries no derivative", broadcasting=True)
    for name in ("floor_divide", "heaviside", "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift",
                 "right_shift", "gcd", "lcm")
}
NONDIFF_BINARY_EXTRA["isclose"] = nondifferentiable(
    "isclose", _isclose_impl, shape=bool_rule, doc="|a − b| ≤ atol + rtol·|b| elementwise: carries no derivative",
    broadcasting=True,
)
floor_divide = NONDIFF_BINARY_EXTRA["floor_divide"]

# The differentiable primitives of this module, by name (for the namespace and the tests).
UNARY_EXTRA = {p.name: p for p in (sinc, deg2rad, rad2deg, fractional_part, sign_complex)}
BINARY_EXTRA = {
    p.name: p
    for p in (logaddexp, logaddexp2, fmod, remainder, float_power, copysign, fmax, fmin, ldexp, nextafter)
}


# ----------------------------------------------------------------------------- vmap
# Every primitive of this module is elementwise over broadcast operands, so one batching
# rule serves them all: align each batched operand's rank so its batch axis leads.


attach_broadcasting_rules(dict(globals()))
