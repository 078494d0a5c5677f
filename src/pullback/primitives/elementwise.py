"""Elementwise primitives: arithmetic, the unary function table, comparisons, select, casts.

Complex numbers follow JAX's convention: reverse-mode rules are transposes under
the bilinear pairing ⟨u, v⟩ = Re Σ u·v, so a holomorphic f has VJP ct·f'(z), and
grad of a real-valued f(x + iy) returns ∂f/∂x − i ∂f/∂y.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.atoms import Const, aval_of, fits, is_number, known_finite, zero_like
from ..core.backend import numpy_dtype
from ..core.batching import attach_broadcasting_rules
from ..core.canonical import const_key
from ..core.codegen import astype, infix
from ..core.lax import add, convert, fit, reshape
from ..core.primitive import Primitive, nondifferentiable
from ..core.trace import Tracer
from ._util import bool_rule, broadcast_rule, dtype_of, is_complex, same_rule, shape_of, ufunc_rule

__all__ = ["add", "convert", "fit"]  # the engine's own, re-exported; the rest are defined here

# ----------------------------------------------------------------------------- rewrite rules
# Rules for the simplifier (core/rewrite.py): rule(s, ins, params, out) -> an atom equal to the
# equation's output, or None. Each is an exact identity in IEEE arithmetic (up to the sign of zero).


def _rewrite_subtract(s, ins, params, out):
    a, b = ins
    if is_number(b, 0):
        return s.broadcast(a, out)
    if is_number(a, 0):
        return s.broadcast(s.apply(negative, b), out)
    y, ny = s.neg_parts(b)
    if ny:  # a - (-y) = a + y
        return s.apply(add, a, y)
    x, nx = s.neg_parts(a)
    if nx:  # (-x) - b = -(x + b)
        return s.apply(negative, s.apply(add, x, b))
    return None  # (x - x is 0 only for finite x: it stays)


def _rewrite_negative(s, ins, params, out):
    x, nx = s.neg_parts(ins[0])
    return x if nx else None


def _rewrite_multiply(s, ins, params, out):
    for i in (0, 1):  # 0·c = 0 only for a finite c (0·∞ and 0·nan are nan)
        if is_number(ins[i], 0) and known_finite(ins[1 - i]):
            return zero_like(out)
    for i in (0, 1):
        if is_number(ins[i], 1):
            return s.broadcast(ins[1 - i], out)
        if is_number(ins[i], -1):
            return s.broadcast(s.apply(negative, ins[1 - i]), out)
    (x, nx), (y, ny) = s.neg_parts(ins[0]), s.neg_parts(ins[1])
    if nx or ny:  # (-x)·y = -(x·y), (-x)·(-y) = x·y
        m = s.apply(multiply, x, y)
        return s.apply(negative, m) if nx != ny else m
    return None


def _rewrite_divide(s, ins, params, out):
    a, b = ins
    if is_number(a, 0) and known_finite(b) and not _has_zero(b):  # 0/c = 0 for finite nonzero c only
        return zero_like(out)
    if is_number(b, 1):
        return s.broadcast(a, out)
    if is_number(b, -1):
        return s.broadcast(s.apply(negative, a), out)
    (x, nx), (y, ny) = s.neg_parts(a), s.neg_parts(b)
    if nx or ny:
        d = s.apply(divide, x, y)
        return s.apply(negative, d) if nx != ny else d
    return None


def _has_zero(c) -> bool:
    return bool(np.any(np.asarray(c.value) == 0))


def _rewrite_power(s, ins, params, out):
    """x**1 → x; x**0 → 1 (NumPy gives 1 for every x, nan and inf included); x**2 → x·x for a real x and
    one exponent (NumPy squares then: its pow loop with an array of exponents can differ by an ulp)."""
    x, y = ins
    if is_number(y, 1):
        return s.broadcast(x, out)
    if is_number(y, 0) and out.dtype.kind in "iufc":
        return _one_like(out)
    if (is_number(y, 2) and np.size(y.value) == 1 and aval_of(x).dtype.kind in "iuf"
            and aval_of(x).dtype == out.dtype):
        return s.broadcast(s.apply(multiply, x, x), out)
    return None


def _one_like(out):
    """A constant 1 of out's shape and dtype (a Python number where out is weakly typed)."""
    if out.weak and out.shape == ():
        return Const(out.dtype.type(1).item())
    return Const(np.broadcast_to(np.ones((), out.dtype), out.shape))


def _rewrite_select(s, ins, params, out):
    c, x, y = ins
    if is_number(x, 0) and is_number(y, 0):
        return zero_like(out)
    if x is y or (isinstance(x, Const) and isinstance(y, Const) and const_key(x) == const_key(y)):
        return s.broadcast(x, out)  # both branches alike: the condition does not matter
    return None


def _rewrite_add_negations(s, ins, params, out):
    """(-x) + (-y) = -(x + y);  a + (-y) = a - y."""
    a, b = ins
    (x, nx), (y, ny) = s.neg_parts(a), s.neg_parts(b)
    if nx and ny:
        return s.apply(negative, s.apply(add, x, y))
    if ny:
        return s.apply(subtract, a, y)
    if nx:
        return s.apply(subtract, b, x)
    return None


def _rewrite_add_selects(s, ins, params, out):
    """where(c, x, 0) + where(c, 0, y) = where(c, x, y)."""
    sa, sb = s.src(ins[0], select), s.src(ins[1], select)
    if sa is not None and sb is not None and sa.ins[0] is sb.ins[0]:
        if is_number(sa.ins[2], 0) and is_number(sb.ins[1], 0):
            return s.apply(select, sa.ins[0], sa.ins[1], sb.ins[2])
        if is_number(sa.ins[1], 0) and is_number(sb.ins[2], 0):
            return s.apply(select, sa.ins[0], sb.ins[1], sa.ins[2])
    return None


def _rewrite_conjugate(s, ins, params, out):
    if aval_of(ins[0]).dtype.kind != "c" and fits(ins[0], out):  # conj of a real value
        return ins[0]
    src = s.src(ins[0], conj)
    return src.ins[0] if src is not None else None


def _rewrite_real(s, ins, params, out):
    return ins[0] if fits(ins[0], out) else None


# ----------------------------------------------------------------------------- arithmetic

_ARITH = dict(broadcasting=True, weak_preserving=True)

def _subtract_jvp(primals, tangents, out):
    """tx − ty in one pass (not tx + (−ty))."""
    tx, ty = tangents
    if ty is None:
        return tx
    return negative(ty) if tx is None else subtract(tx, ty)


subtract = Primitive(
    "subtract", np.subtract, shape=broadcast_rule, linear=True,
    jvps=[lambda t, out, x, y: t, lambda t, out, x, y: negative(t)], jvp=_subtract_jvp,
    vjps=[lambda ct, out, x, y: ct, lambda ct, out, x, y: negative(ct)],
    doc="x − y",
    **_ARITH, rewrite=_rewrite_subtract, render=infix("-"), stem="sub", scalar_expr="({0} - {1})",
)
negative = Primitive(
    "negative", np.negative, shape=same_rule, linear=True,
    jvps=[lambda t, out, x: negative(t)],
    vjps=[lambda ct, out, x: negative(ct)],
    doc="−x",
    negation=True, elementwise=True, weak_preserving=True, scalar_expr="(-{0})",
    rewrite=_rewrite_negative, render=lambda em, e, a: f"-{a[0]}", stem="neg",
)
def _multiply_jvp(primals, tangents, out):
    """tx·y + x·ty; for a square x·x, (tx + tx)·x: two passes instead of three."""
    (x, y), (tx, ty) = primals, tangents
    if tx is None:
        return None if ty is None else multiply(x, ty)
    if ty is None:
        return multiply(tx, y)
    if x is y and tx is ty:
        return multiply(add(tx, tx), x)
    return add(multiply(tx, y), multiply(x, ty))


# ct·y for x (ct·x for y), which the backward pass sums to x's shape. For a 0-d x and an output that
# is not (a scale factor s in s·v) that sum is one dot product (sum_of_products), not a product and a
# reduction over out's shape: a matrix-vector product under vmap (jacrev of tanh(Ax)·sum(x)).


def _multiply_vjp_x(ct, out, x, y):
    if out.ndim and not x.ndim and numpy_dtype(x.dtype).kind in "fc":
        return sum_of_products(ct, y, ndim=out.ndim)
    return multiply(ct, y)


def _multiply_vjp_y(ct, out, x, y):
    if out.ndim and not y.ndim and numpy_dtype(y.dtype).kind in "fc":
        return sum_of_products(ct, x, ndim=out.ndim)
    return multiply(ct, x)


multiply = Primitive(
    "multiply", np.multiply, shape=broadcast_rule,
    jvps=[lambda t, out, x, y: multiply(t, y), lambda t, out, x, y: multiply(x, t)], jvp=_multiply_jvp,
    vjps=[_multiply_vjp_x, _multiply_vjp_y],
    doc="x · y",
    **_ARITH, commutative=True, rewrite=_rewrite_multiply, render=infix("*"), stem="mul", scalar_expr="({0} * {1})",
)
def _sum_of_products_impl(x, y, ndim):
    x, y = np.asarray(x), np.asarray(y)
    lead_x, lead_y = x.shape[:x.ndim - ndim], y.shape[:y.ndim - ndim]
    n = math.prod(x.shape[x.ndim - ndim:])
    if not lead_y:  # one vector against a stack of them: one matrix-vector product
        return np.matmul(x.reshape(math.prod(lead_x), n), y.reshape(n)).reshape(lead_x)
    if not lead_x:
        return np.matmul(y.reshape(math.prod(lead_y), n), x.reshape(n)).reshape(lead_y)
    return np.sum(np.multiply(x, y), axis=tuple(range(-ndim, 0)))


def _sum_of_products_shape(x, y, ndim):
    sx, sy = shape_of(x), shape_of(y)
    if sx[len(sx) - ndim:] != sy[len(sy) - ndim:] or ndim > min(len(sx), len(sy)):
        raise ValueError(f"sum_of_products: the last {ndim} axes of {sx} and {sy} differ")
    return np.broadcast_shapes(sx[:len(sx) - ndim], sy[:len(sy) - ndim]), np.result_type(dtype_of(x), dtype_of(y))


def _with_unit_axes(ct, ndim):
    """ct with `ndim` unit axes appended, so that it broadcasts over the summed axes (a 0-d ct does as it is)."""
    shape = tuple(shape_of(ct))
    return reshape(ct, shape=shape + (1,) * ndim) if ndim and shape else ct


sum_of_products = Primitive(
    "sum_of_products", _sum_of_products_impl, shape=_sum_of_products_shape,
    jvps=[lambda t, out, x, y, ndim: sum_of_products(t, y, ndim=ndim),
          lambda t, out, x, y, ndim: sum_of_products(x, t, ndim=ndim)],
    vjps=[lambda ct, out, x, y, ndim: multiply(_with_unit_axes(ct, ndim), y),
          lambda ct, out, x, y, ndim: multiply(_with_unit_axes(ct, ndim), x)],
    doc="Σ x·y over the last `ndim` axes (equal in both), the leading axes broadcast; no conjugation. "
        "Multiply's reverse rule for a 0-d factor; ∂/∂x = y, ∂/∂y = x",
    stem="sop", xp_impl=lambda xp, x, y, ndim: xp.sum(xp.multiply(x, y), axis=tuple(range(-ndim, 0))),
)


divide = Primitive(
    "divide", np.true_divide, shape=broadcast_rule,
    jvps=[lambda t, out, x, y: divide(t, y), lambda t, out, x, y: negative(multiply(t, divide(out, y)))],
    vjps=[
        lambda ct, out, x, y: divide(ct, y),
        lambda ct, out, x, y: negative(multiply(ct, divide(out, y))),
    ],
    doc="x / y:  ∂/∂x = 1/y,  ∂/∂y = −out/y",
    **_ARITH, rewrite=_rewrite_divide, render=infix("/"), stem="div", xp_impl=lambda xp, x, y: xp.divide(x, y),
    scalar_expr="({0} / {1})",
)
add.def_rewrite(_rewrite_add_negations)
add.def_rewrite(_rewrite_add_selects)


def _is_python_scalar(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _pow_dx(x, y):
    """∂(xʸ)/∂x = y·xʸ⁻¹, taken as 0 where x == y == 0 (so 0⁰ has derivative 0, not nan).

    Only that point is special-cased: elsewhere y·xʸ⁻¹ keeps its own derivative in y (x⁻¹ at y = 0),
    so mixed second derivatives stay symmetric.
    """
    if _is_python_scalar(y):  # the common exponents take one pass, or none
        if y == 0:
            return multiply(x, 0.0)
        if y == 1:
            return 1.0
        if y == 2:
            return multiply(x, 2.0)
        return multiply(float(y), power(x, y - 1))
    # xʸ⁻¹ is not evaluated at x == y == 0 (0⁻¹ would warn, and 0·∞ is nan)
    zero = NONDIFF_BINARY["logical_and"](equal(y, 0), equal(x, 0))
    return multiply(select(zero, 0.0, y), power(x, select(zero, 1.0, subtract(y, 1))))


def _pow_dy(x, out):
    """∂(xʸ)/∂y = log(x)·out, taken as 0 where x == 0."""
    safe = select(equal(x, 0), 1.0, x)
    return multiply(log(safe), out)


def _times(t, d):
    """t · d, skipping the pass when d is the Python scalar 1.0."""
    return t if type(d) is float and d == 1.0 else multiply(t, d)


def _scaled_product(ct, x, c: float):
    """ct · (c·x), with the number c multiplied into a factor that is not traced when one is: under an
    outer jvp (an hvp) the product of plain values costs one pass where that of a tracer costs two."""
    if isinstance(x, Tracer) and not isinstance(ct, Tracer):
        return multiply(multiply(ct, c), x)
    return multiply(ct, multiply(x, c))


def _pow_vjp_x(ct, out, x, y):
    """ct · y·xʸ⁻¹; for a Python exponent y, the number y joins the cheaper factor (_scaled_product)."""
    if _is_python_scalar(y) and y not in (0, 1):
        return _scaled_product(ct, x if y == 2 else power(x, y - 1), float(y))
    return _times(ct, _pow_dx(x, y))


power = Primitive(
    "power", np.power, shape=broadcast_rule,
    jvps=[lambda t, out, x, y: _times(t, _pow_dx(x, y)), lambda t, out, x, y: multiply(t, _pow_dy(x, out))],
    vjps=[
        _pow_vjp_x,
        lambda ct, out, x, y: multiply(ct, _pow_dy(x, out)),
    ],
    doc="xʸ",
    **_ARITH, rewrite=_rewrite_power, render=infix("**"), stem="pow", xp_impl=lambda xp, x, y: xp.pow(x, y),
)


def _tie_weight(x, y, dtype):
    """1 where x beats y, ½ at ties, 0 elsewhere: maximum/minimum share the gradient equally at ties."""
    return add(convert(greater(x, y), dtype=dtype), multiply(convert(equal(x, y), dtype=dtype), 0.5))


def _extremum(name, np_fn, win, stem):
    def w(a, b, out):
        return _tie_weight(a, b, dtype_of(out)) if win == "max" else _tie_weight(b, a, dtype_of(out))

    return Primitive(
        name, np_fn, shape=broadcast_rule,
        jvps=[lambda t, out, x, y: multiply(t, w(x, y, out)), lambda t, out, x, y: multiply(t, w(y, x, out))],
        vjps=[
            lambda ct, out, x, y: multiply(ct, w(x, y, out)),
            lambda ct, out, x, y: multiply(ct, w(y, x, out)),
        ],
        doc=f"elementwise {win}; at ties each argument gets half the derivative",
        commutative=True, broadcasting=True, stem=stem,
    )


maximum = _extremum("maximum", np.maximum, "max", "maxi")
minimum = _extremum("minimum", np.minimum, "min", "mini")


def _nonzero(r):
    """r with its zeros replaced by 1: a safe denominator where the numerator vanishes with r."""
    return select(equal(r, 0), 1.0, r)


def _hypot2(x, y):
    return add(multiply(x, x), multiply(y, y))


arctan2 = Primitive(
    "arctan2", np.arctan2, shape=broadcast_rule,
    jvps=[
        lambda t, out, y, x: multiply(t, divide(x, _hypot2(x, y))),
        lambda t, out, y, x: multiply(t, negative(divide(y, _hypot2(x, y)))),
    ],
    vjps=[
        lambda ct, out, y, x: multiply(ct, divide(x, _hypot2(x, y))),
        lambda ct, out, y, x: multiply(ct, negative(divide(y, _hypot2(x, y)))),
    ],
    doc="arctan2(y, x): ∂/∂y = x/(x²+y²), ∂/∂x = −y/(x²+y²)",
    broadcasting=True, xp_impl=lambda xp, y, x: xp.atan2(y, x),
)
hypot = Primitive(
    "hypot", np.hypot, shape=broadcast_rule,
    jvps=[
        lambda t, out, x, y: multiply(t, divide(x, _nonzero(out))),
        lambda t, out, x, y: multiply(t, divide(y, _nonzero(out))),
    ],
    vjps=[
        lambda ct, out, x, y: multiply(ct, divide(x, _nonzero(out))),
        lambda ct, out, x, y: multiply(ct, divide(y, _nonzero(out))),
    ],
    doc="√(x²+y²); ∂/∂x = x/out, ∂/∂y = y/out, taken as 0 at the origin (as abs' derivative at 0)",
    commutative=True, broadcasting=True,
)

# ----------------------------------------------------------------------------- unary table

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def _rsqrt1m(x):
    """1/√(1 − x²)."""
    return divide(1.0, sqrt(subtract(1.0, multiply(x, x))))


# name -> (numpy function, derivative f'(x) written from x and out = f(x))
UNARY_DERIVATIVES = {
    "exp": (np.exp, lambda x, out: out),
    "exp2": (np.exp2, lambda x, out: multiply(out, _LN2)),
    "expm1": (np.expm1, lambda x, out: add(out, 1.0)),
    "log": (np.log, lambda x, out: divide(1.0, x)),
    "log2": (np.log2, lambda x, out: divide(1.0 / _LN2, x)),
    "log10": (np.log10, lambda x, out: divide(1.0 / _LN10, x)),
    "log1p": (np.log1p, lambda x, out: divide(1.0, add(x, 1.0))),
    "sin": (np.sin, lambda x, out: cos(x)),
    "cos": (np.cos, lambda x, out: negative(sin(x))),
    "tan": (np.tan, lambda x, out: add(1.0, multiply(out, out))),
    "arcsin": (np.arcsin, lambda x, out: _rsqrt1m(x)),
    "arccos": (np.arccos, lambda x, out: negative(_rsqrt1m(x))),
    "arctan": (np.arctan, lambda x, out: divide(1.0, add(1.0, multiply(x, x)))),
    "sinh": (np.sinh, lambda x, out: cosh(x)),
    "cosh": (np.cosh, lambda x, out: sinh(x)),
    "tanh": (np.tanh, lambda x, out: subtract(1.0, multiply(out, out))),
    "arcsinh": (np.arcsinh, lambda x, out: divide(1.0, sqrt(add(multiply(x, x), 1.0)))),
    "arccosh": (np.arccosh, lambda x, out: divide(1.0, sqrt(subtract(multiply(x, x), 1.0)))),
    "arctanh": (np.arctanh, lambda x, out: divide(1.0, subtract(1.0, multiply(x, x)))),
    "sqrt": (np.sqrt, lambda x, out: divide(0.5, out)),
    "cbrt": (np.cbrt, lambda x, out: divide(1.0 / 3.0, multiply(out, out))),
    "square": (np.square, lambda x, out: multiply(x, 2.0)),
    "reciprocal": (np.reciprocal, lambda x, out: negative(multiply(out, out))),
}


# The array API's names of the unary functions NumPy spells differently (their foreign implementations)
ARRAY_API_NAMES = {
    "arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh", "arccosh": "acosh",
    "arctanh": "atanh", "rint": "round",
}


def _xp_named(name):
    """The foreign implementation calling the namespace's function `name`."""
    return lambda xp, x: getattr(xp, name)(x)


def _unary(name, np_fn, deriv):
    return Primitive(
        name, np_fn, shape=same_rule,
        jvps=[lambda t, out, x: multiply(t, deriv(x, out))],
        vjps=[lambda ct, out, x: multiply(ct, deriv(x, out))],
        doc=f"{name}(x), elementwise",
        elementwise=True, xp_impl=_xp_named(ARRAY_API_NAMES[name]) if name in ARRAY_API_NAMES else None,
    )


UNARY = {name: _unary(name, fn, d) for name, (fn, d) in UNARY_DERIVATIVES.items()}
exp, log, sin, cos, sinh, cosh, sqrt = (UNARY[n] for n in ("exp", "log", "sin", "cos", "sinh", "cosh", "sqrt"))
tanh, tan = UNARY["tanh"], UNARY["tan"]


def _abs_jvp(t, out, x):
    if is_complex(x):  # |z|' · t = Re(conj(z) t) / |z|, 0 at z = 0
        return divide(real(multiply(conj(x), t)), _nonzero(out))
    return multiply(t, sign(x))


def _abs_vjp(ct, out, x):
    if is_complex(x):
        return multiply(ct, divide(conj(x), _nonzero(out)))
    return multiply(ct, sign(x))


absolute = Primitive(
    "absolute", np.abs, shape=lambda x: (shape_of(x), np.abs(np.zeros((), dtype_of(x))).dtype),
    jvps=[_abs_jvp], vjps=[_abs_vjp],
    doc="|x|; derivative sign(x) (0 at 0); for complex z, conj(z)/|z| in JAX's convention",
    elementwise=True, xp_impl=lambda xp, x: xp.abs(x),
)

# ----------------------------------------------------------------------------- complex parts


def _to_dtype_of(ct, x):
    return convert(ct, dtype=dtype_of(x)) if dtype_of(ct) != dtype_of(x) else ct


def _real_part(ct):
    """The cotangent of a real output is real: an imaginary part a caller passed is dropped."""
    return real(ct) if is_complex(ct) else ct


real = Primitive(
    "real", np.real, shape=lambda x: (shape_of(x), np.real(np.zeros((), dtype_of(x))).dtype), linear=True,
    jvps=[lambda t, out, x: real(t)],
    vjps=[lambda ct, out, x: _to_dtype_of(_real_part(ct), x)],
    doc="Re x",
    elementwise=True, rewrite=_rewrite_real, render=lambda em, e, a: f"np.real({a[0]})",
    xp_impl=lambda xp, x: xp.real(x),
)
imag = Primitive(
    "imag", np.imag, shape=lambda x: (shape_of(x), np.imag(np.zeros((), dtype_of(x))).dtype), linear=True,
    jvps=[lambda t, out, x: imag(t)],
    vjps=[lambda ct, out, x: multiply(_to_dtype_of(_real_part(ct), x), -1j) if is_complex(x) else multiply(ct, 0.0)],
    doc="Im x; its transpose is ct ↦ −i·ct",
    elementwise=True, render=lambda em, e, a: f"np.imag({a[0]})",
    xp_impl=lambda xp, x: xp.imag(x) if numpy_dtype(x.dtype).kind == "c" else xp.zeros_like(x),
)
conj = Primitive(
    "conjugate", np.conjugate, shape=same_rule, linear=True,
    jvps=[lambda t, out, x: conj(t)],
    vjps=[lambda ct, out, x: conj(ct)],
    doc="complex conjugate",
    elementwise=True, rewrite=_rewrite_conjugate, xp_impl=lambda xp, x: xp.conj(x),
)


_convert_impl = convert.impl

convert_nondiff = nondifferentiable(
    "convert_nondiff", _convert_impl, shape=lambda x, dtype: (shape_of(x), np.dtype(dtype)),
    doc="x.astype(dtype) to an integer or boolean dtype: the result carries no derivative",
    elementwise=True, render=astype, stem="cast", xp_impl=convert.xp_impl,
)

# ----------------------------------------------------------------------------- select


def _select_impl(cond, x, y):
    return np.where(cond, x, y)


select = Primitive(
    "select", _select_impl,
    shape=lambda c, x, y: (np.broadcast_shapes(shape_of(c), shape_of(x), shape_of(y)), broadcast_rule(x, y)[1]),
    jvps=[None, lambda t, out, c, x, y: select(c, t, 0.0), lambda t, out, c, x, y: select(c, 0.0, t)],
    vjps=[
        None,
        lambda ct, out, c, x, y: select(c, ct, 0.0),
        lambda ct, out, c, x, y: select(c, 0.0, ct),
    ],
    doc="where(cond, x, y); the condition carries no derivative",
    broadcasting=True, rewrite=_rewrite_select, render=lambda em, e, a: f"np.where({', '.join(a)})", stem="where",
    xp_impl=lambda xp, c, x, y: xp.where(c, x, y),
    scalar_expr="({1} if {0} else {2})",
)

# ----------------------------------------------------------------------------- no derivative

# name -> (operator for the generated source or None, stem, commutative)
_COMPARISONS = {
    "less": ("<", "lt", False), "less_equal": ("<=", "le", False), "greater": (">", "gt", False),
    "greater_equal": (">=", "ge", False), "equal": ("==", "eq", True), "not_equal": ("!=", "ne", True),
    "logical_and": (None, None, True), "logical_or": (None, None, True), "logical_xor": (None, None, True),
}
NONDIFF_BINARY = {
    name: nondifferentiable(
        name, getattr(np, name), shape=bool_rule, broadcasting=True, commutative=comm,
        weak_preserving=op is not None, render=infix(op) if op else None, stem=stem)
    for name, (op, stem, comm) in _COMPARISONS.items()
}
less, less_equal, greater, greater_equal, equal, not_equal = (
    NONDIFF_BINARY[n] for n in ("less", "less_equal", "greater", "greater_equal", "equal", "not_equal")
)

# Piecewise-constant functions: their derivative is zero wherever it exists, so their
# results are constants to every transformation.
NONDIFF_UNARY = {
    name: nondifferentiable(name, getattr(np, name), shape=ufunc_rule(getattr(np, name)), elementwise=True,
                            xp_impl=_xp_named(ARRAY_API_NAMES[name]) if name in ARRAY_API_NAMES else None)
    for name in ("sign", "floor", "ceil", "rint", "trunc", "logical_not", "isnan", "isinf", "isfinite", "signbit")
}
sign = NONDIFF_UNARY["sign"]

stop_gradient = nondifferentiable(
    "stop_gradient", lambda x: x, shape=same_rule,
    doc="identity whose result is a constant to every transformation",
    elementwise=True, render=lambda em, e, a: a[0], stem="sg", xp_impl=lambda xp, x: x,
)


# ----------------------------------------------------------------------------- vmap
# Every primitive of this module is elementwise over broadcast operands, so one batching
# rule serves them all: align each batched operand's rank so its batch axis leads.


attach_broadcasting_rules(dict(globals()))
