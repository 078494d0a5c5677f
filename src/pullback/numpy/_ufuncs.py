"""Elementwise functions of pullback.numpy, with NumPy's names, signatures and dtype rules.

Every NumPy ufunc with a derivative has one here, plus NumPy's elementwise functions that are
not ufuncs (clip, round, angle, sinc, nan_to_num ...). Functions whose derivative is zero
wherever it exists (rounding, sign, floor_divide, comparisons, bit operations, tests such as
isnan) return plain values that carry no derivative; each function's docstring says how it
treats the points where NumPy's function is not differentiable.
"""

from __future__ import annotations

from typing import Any

import numpy as _np

from ..core.trace import Tracer, full_lower
from ..errors import UnsupportedFunctionError
from ..primitives import elementwise as ew
from ..primitives import elementwise_extra as ex
from ..primitives._util import dtype_of, shape_of
from ._helpers import check_kwargs, is_traced

_NoValue = getattr(_np, "_NoValue", object())


def _cast(x, dtype):
    if dtype is None:
        return x
    return astype(x, dtype)


def astype(x: Any, dtype: Any) -> Any:
    """x converted to dtype; a conversion to an integer or boolean dtype carries no derivative."""
    dt = _np.dtype(dtype)
    if is_traced(x):
        if dtype_of(x) == dt:
            return x
        if dt.kind in "fc":
            return ew.convert(x, dtype=dt)
        return ew.convert_nondiff(x, dtype=dt)
    return _np.asarray(x).astype(dt)


def _unary_fn(name: str, prim, doc: str = ""):
    bind = prim.bind

    def fn(x, /, out=None, *, where=True, dtype=None, **kwargs):
        if out is None and where is True and dtype is None and not kwargs:
            return bind(x)
        check_kwargs(name, out, where, None, **kwargs)
        return bind(_cast(x, dtype))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc or f"Differentiable numpy.{name}: {prim.__doc__ or name}."
    return fn


def _binary_fn(name: str, prim, doc: str = ""):
    bind = prim.bind

    def fn(x1, x2, /, out=None, *, where=True, dtype=None, **kwargs):
        if out is None and where is True and dtype is None and not kwargs:
            return bind(x1, x2)
        check_kwargs(name, out, where, None, **kwargs)
        return bind(_cast(x1, dtype), _cast(x2, dtype))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc or f"Differentiable numpy.{name}: {prim.__doc__ or name}."
    return fn


_ZERO_DERIVATIVE = "numpy.{}: piecewise constant (or a test of values), so it carries no derivative."

UNARY = {name: _unary_fn(name, prim) for name, prim in {**ew.UNARY, **ex.UNARY_EXTRA}.items()}
UNARY.update({
    name: _unary_fn(name, prim, _ZERO_DERIVATIVE.format(name))
    for name, prim in {**ew.NONDIFF_UNARY, **ex.NONDIFF_UNARY_EXTRA}.items()
    if name not in ("sign", "round", "fix", "isposinf", "isneginf", "integral_part", "frexp_exponent")
})
UNARY.update(
    negative=_unary_fn("negative", ew.negative),
    absolute=_unary_fn("absolute", ew.absolute),
    conjugate=_unary_fn("conjugate", ew.conj),
)
del UNARY["fractional_part"], UNARY["sign_complex"], UNARY["sinc"]

BINARY = {name: _binary_fn(name, prim, _ZERO_DERIVATIVE.format(name)) for name, prim in ew.NONDIFF_BINARY.items()}
BINARY.update({
    name: _binary_fn(name, prim, _ZERO_DERIVATIVE.format(name))
    for name, prim in ex.NONDIFF_BINARY_EXTRA.items() if name != "isclose"
})
BINARY.update({name: _binary_fn(name, prim) for name, prim in ex.BINARY_EXTRA.items() if name != "float_power"})
BINARY.update(
    add=_binary_fn("add", ew.add),
    subtract=_binary_fn("subtract", ew.subtract),
    multiply=_binary_fn("multiply", ew.multiply),
    divide=_binary_fn("divide", ew.divide),
    power=_binary_fn("power", ew.power),
    maximum=_binary_fn("maximum", ew.maximum),
    minimum=_binary_fn("minimum", ew.minimum),
    arctan2=_binary_fn("arctan2", ew.arctan2),
    hypot=_binary_fn("hypot", ew.hypot),
)

# NumPy's other names for the same functions (numpy 2 adds the array-API spellings).
_ALIASES = {
    "abs": "absolute", "conj": "conjugate", "true_divide": "divide", "mod": "remainder", "pow": "power",
    "degrees": "rad2deg", "radians": "deg2rad", "bitwise_not": "invert", "bitwise_invert": "invert",
    "bitwise_left_shift": "left_shift", "bitwise_right_shift": "right_shift", "acos": "arccos",
    "asin": "arcsin", "atan": "arctan", "acosh": "arccosh", "asinh": "arcsinh", "atanh": "arctanh",
    "atan2": "arctan2",
}
for _alias, _target in _ALIASES.items():
    (BINARY if _target in BINARY else UNARY)[_alias] = (BINARY if _target in BINARY else UNARY)[_target]


# ----------------------------------------------------------------------------- functions with their own signatures


def positive(x, /, out=None, **kwargs):
    """Differentiable numpy.positive (+x): a new array, like NumPy's, so in-place updates of it leave x alone."""
    check_kwargs("positive", out, **kwargs)
    return ew.convert(x, dtype=dtype_of(x)) if is_traced(x) else _np.positive(x)


def sign(x, /, out=None, *, where=True, dtype=None, **kwargs):
    """numpy.sign. Real x: piecewise constant, no derivative. Complex z: z/|z| (0 at 0), which has
    the derivative t ↦ i·s·Im(s̄ t)/|z| (s = sign(z)), taken as 0 at z = 0."""
    check_kwargs("sign", out, where, None, **kwargs)
    x = _cast(x, dtype)
    return ex.sign_complex(x) if dtype_of(x).kind == "c" else ew.sign(x)


def fabs(x, /, out=None, *, where=True, dtype=None, **kwargs):
    """Differentiable numpy.fabs: |x| as a float, derivative sign(x) (0 at 0); complex input is refused, as in NumPy."""
    check_kwargs("fabs", out, where, None, **kwargs)
    x = _cast(x, dtype)
    if not is_traced(x):
        return _np.fabs(x)
    if dtype_of(x).kind == "c":
        raise TypeError("ufunc 'fabs' not supported for complex input; use pullback.numpy.abs")
    return ew.absolute(x if dtype_of(x).kind == "f" else astype(x, _np.float64))


def float_power(x1, x2, /, out=None, *, where=True, dtype=None, **kwargs):
    """Differentiable numpy.float_power: x1**x2 in float64 (complex128 for complex input), the
    derivatives of power."""
    check_kwargs("float_power", out, where, None, **kwargs)
    x1, x2 = _cast(x1, dtype), _cast(x2, dtype)

    def widen(v):
        if isinstance(v, (bool, int, float, complex)):
            return v
        return astype(v, _np.complex128 if dtype_of(v).kind == "c" else _np.float64)

    return ex.float_power(widen(x1), widen(x2))


def sinc(x):
    """Differentiable numpy.sinc, sin(πx)/(πx), with exact derivatives of every order at 0
    (sinc'(0) = 0, sinc''(0) = −π²/3); complex x is supported."""
    return ex.sinc(x, order=0)


def clip(a, a_min=_NoValue, a_max=_NoValue, out=None, *, min=_NoValue, max=_NoValue, **kwargs):
    """Differentiable numpy.clip (either bound may be None or an array; min=/max= are accepted too).

    Each element's derivative goes to the argument whose value it is: ∂/∂a = 1 where
    a_min ≤ a ≤ a_max (the boundaries count as inside, as in torch.clamp), 0 outside;
    ∂/∂a_min = 1 where a < a_min; ∂/∂a_max = 1 where a > a_max, or wherever a_min > a_max
    (NumPy then returns a_max).
    """
    if min is not _NoValue:
        if a_min is not _NoValue:
            raise ValueError("Passed more than one argument for the lower bound: use a_min or min, not both")
        a_min = min
    if max is not _NoValue:
        if a_max is not _NoValue:
            raise ValueError("Passed more than one argument for the upper bound: use a_max or max, not both")
        a_max = max
    lo = None if a_min is _NoValue else a_min
    hi = None if a_max is _NoValue else a_max
    dtype = kwargs.pop("dtype", None)
    check_kwargs("clip", out, kwargs.pop("where", True), None, **kwargs)
    if dtype is not None:
        a, lo, hi = (None if v is None else _cast(v, dtype) for v in (a, lo, hi))
    if lo is None and hi is None:
        return a if is_traced(a) else _np.clip(a, None, None)
    return ex.clip(a, lo, hi)


def round(a, decimals=0, out=None):
    """numpy.round (halves to even): piecewise constant, so it carries no derivative."""
    check_kwargs("round", out)
    return ex.NONDIFF_UNARY_EXTRA["round"](a, decimals=int(decimals))


def around(a, decimals=0, out=None):
    """numpy.around, the same as round: carries no derivative."""
    return round(a, decimals, out)


def fix(x, out=None):
    """numpy.fix (round towards zero): piecewise constant, so it carries no derivative."""
    check_kwargs("fix", out)
    return ex.NONDIFF_UNARY_EXTRA["fix"](x)


def isposinf(x, out=None):
    """numpy.isposinf: a test of values, no derivative."""
    check_kwargs("isposinf", out)
    return ex.NONDIFF_UNARY_EXTRA["isposinf"](x)


def isneginf(x, out=None):
    """numpy.isneginf: a test of values, no derivative."""
    check_kwargs("isneginf", out)
    return ex.NONDIFF_UNARY_EXTRA["isneginf"](x)


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """Differentiable numpy.nan_to_num: derivative 1 where x is finite, 0 where a value was
    replaced (the real and imaginary parts of complex x separately)."""
    return ex.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


def modf(x, /, out=None, **kwargs):
    """Differentiable numpy.modf: (fractional part, integral part); the fractional part has
    derivative 1, the integral part none (both jumps at integers are ignored)."""
    check_kwargs("modf", out, **kwargs)
    return ex.fractional_part(x), ex.NONDIFF_UNARY_EXTRA["integral_part"](x)


def frexp(x, /, out=None, **kwargs):
    """Differentiable numpy.frexp: (mantissa, exponent) with x = mantissa·2**exponent; the mantissa
    has derivative 2**-exponent, the integer exponent none."""
    check_kwargs("frexp", out, **kwargs)
    e = ex.NONDIFF_UNARY_EXTRA["frexp_exponent"](x)
    return ex.ldexp(x, ew.negative(e)), e


def divmod(x1, x2, /, out=None, **kwargs):
    """numpy.divmod: (floor_divide(x1, x2), remainder(x1, x2)); the quotient carries no derivative,
    the remainder that of numpy.remainder (1 in x1, −floor(x1/x2) in x2)."""
    check_kwargs("divmod", out, **kwargs)
    return ex.floor_divide(x1, x2), ex.remainder(x1, x2)


def real(val):
    """Re(val), differentiable; real input is returned as it is."""
    if is_traced(val):
        return ew.real(val) if dtype_of(val).kind == "c" else val
    return _np.real(val)


def imag(val):
    """Im(val), differentiable (zeros, with zero derivative, for real input)."""
    if is_traced(val):
        return ew.imag(val)
    return _np.imag(val)


def angle(z, deg=False):
    """Differentiable numpy.angle, arctan2(Im z, Re z): for complex z its derivative is
    Im(conj(z)·dz)/|z|² (undefined at 0); for real z it is 0 or π, with zero derivative."""
    if dtype_of(z).kind == "c":
        a = ew.arctan2(imag(z), real(z))
    else:
        a = ew.arctan2(0.0, z)
    return ew.multiply(a, 180.0 / _np.pi) if deg else a


def iscomplexobj(x) -> bool:
    """True for a complex dtype (traced values included)."""
    return dtype_of(x).kind == "c" if is_traced(x) else _np.iscomplexobj(x)


def isrealobj(x) -> bool:
    """True for a dtype that is not complex (traced values included)."""
    return not iscomplexobj(x)


def isreal(x):
    """Elementwise Im(x) == 0: a test of values, no derivative."""
    if is_traced(x):
        return ew.equal(ew.imag(x), 0)
    return _np.isreal(x)


def iscomplex(x):
    """Elementwise Im(x) != 0 (all False for a real dtype): a test of values, no derivative."""
    if is_traced(x):
        if dtype_of(x).kind != "c":
            return _np.zeros(x.shape, bool)[()]
        return ew.not_equal(ew.imag(x), 0)
    return _np.iscomplex(x)


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """numpy.isclose, elementwise |a − b| ≤ atol + rtol·|b|: a test of values, no derivative."""
    return ex.NONDIFF_BINARY_EXTRA["isclose"](a, b, rtol=rtol, atol=atol, equal_nan=bool(equal_nan))


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """numpy.allclose on the values (a Python bool; traced values are compared by value)."""
    return _np.allclose(full_lower(a), full_lower(b), rtol=rtol, atol=atol, equal_nan=equal_nan)


def array_equal(a1, a2, equal_nan=False) -> bool:
    """numpy.array_equal on the values (a Python bool; traced values are compared by value)."""
    return _np.array_equal(full_lower(a1), full_lower(a2), equal_nan=equal_nan)


def array_equiv(a1, a2) -> bool:
    """numpy.array_equiv on the values (a Python bool; traced values are compared by value)."""
    return _np.array_equiv(full_lower(a1), full_lower(a2))


def where(condition, x=None, y=None, /):
    """where(condition, x, y): elementwise choice; the condition carries no derivative."""
    if x is None and y is None:
        return _np.where(full_lower(condition))
    if x is None or y is None:
        raise ValueError("either both or neither of x and y should be given")
    return ew.select(condition, x, y)


# ----------------------------------------------------------------------------- methods and operators of traced values


def _clip_method(self, min=None, max=None, out=None, **kwargs):
    return clip(self, min, max, out, **kwargs)


def _round_method(self, decimals=0, out=None):
    return round(self, decimals, out)


def _dunder_round(self, ndigits=None):
    return round(self, 0 if ndigits is None else ndigits)


def _operators(name: str, fn) -> dict:
    return {f"__{name}__": lambda self, other: fn(self, other), f"__r{name}__": lambda self, other: fn(other, self)}


METHODS: dict = {
    "clip": _clip_method, "round": _round_method, "__round__": _dunder_round,
    "conj": UNARY["conjugate"], "conjugate": UNARY["conjugate"],
    "real": property(real), "imag": property(imag),
    "__invert__": UNARY["invert"],
    "__divmod__": lambda self, other: divmod(self, other), "__rdivmod__": lambda self, other: divmod(other, self),
    **_operators("floordiv", BINARY["floor_divide"]), **_operators("mod", BINARY["remainder"]),
    **_operators("and", BINARY["bitwise_and"]), **_operators("or", BINARY["bitwise_or"]),
    **_operators("xor", BINARY["bitwise_xor"]), **_operators("lshift", BINARY["left_shift"]),
    **_operators("rshift", BINARY["right_shift"]),
}

globals().update(UNARY)
globals().update(BINARY)
__all__ = sorted(
    set(UNARY) | set(BINARY) | {
        "allclose", "angle", "around", "array_equal", "array_equiv", "astype", "clip", "divmod", "fabs", "fix",
        "float_power", "frexp", "imag", "iscomplex", "iscomplexobj", "isclose", "isneginf", "isposinf", "isreal",
        "isrealobj", "modf", "nan_to_num", "positive", "real", "round", "sign", "sinc", "where",
    }
)
