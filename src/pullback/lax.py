"""pullback.lax: the names JAX users import from jax.lax, as aliases of pullback's own.

    import pullback as pb
    pb.lax.cond(pred, true_fun, false_fun, x)
    pb.lax.fori_loop(0, n, body, init)
    pb.lax.scan(f, init, xs)

Control flow (cond, switch, fori_loop, while_loop, scan, map), stop_gradient, and the lax-style
elementwise and structural operations that pullback.numpy already provides under NumPy's names
(add, sub, mul, div, neg, exp, log, rsqrt, integer_pow, select, clamp, dot_general ...). Every
function is differentiable as its pullback.numpy counterpart is. Names of jax.lax that pullback
does not provide raise AttributeError saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as _np

from . import numpy as _pnp
from .api import stop_gradient
from .control import cond, fori_loop, scan, while_loop
from .core.trace import Tracer
from .errors import PullbackError

# ----------------------------------------------------------------------------- control flow


def switch(index: Any, branches: Sequence[Callable], *operands: Any) -> Any:
    """branches[clamp(index, 0, len(branches) - 1)](*operands) (jax.lax.switch).

    A concrete index runs one branch; a staged or batched index runs every branch and selects.

    Example:
        >>> import pullback as pb
        >>> float(pb.lax.switch(1, [lambda x: x + 1.0, lambda x: x * 10.0], 2.0))
        20.0
    """
    n = len(branches)
    if n == 0:
        raise ValueError("switch: give at least one branch")
    if not isinstance(index, Tracer):
        return branches[int(_np.clip(int(index), 0, n - 1))](*operands)
    try:
        return branches[int(_np.clip(int(index.concrete()), 0, n - 1))](*operands)
    except PullbackError:  # staged or batched: no single concrete index
        pass
    index = _pnp.clip(index, 0, n - 1)
    out = branches[n - 1](*operands)
    for k in range(n - 2, -1, -1):
        out = cond(_pnp.equal(index, k), lambda *a, k=k: branches[k](*a), lambda *a, o=out: o, *operands)
    return out


def map(f: Callable, xs: Any) -> Any:  # noqa: A001 - jax.lax.map's name
    """[f(x) for x in xs] stacked over the leading axis (jax.lax.map), by scan."""
    return scan(lambda c, x: (c, f(x)), None, xs)[1]


# ----------------------------------------------------------------------------- elementwise


def _binary(fn: Callable, name: str, doc: str) -> Callable:
    def op(x: Any, y: Any) -> Any:
        return fn(x, y)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


add = _binary(_pnp.add, "add", "x + y (jax.lax.add).")
sub = _binary(_pnp.subtract, "sub", "x − y (jax.lax.sub).")
mul = _binary(_pnp.multiply, "mul", "x · y (jax.lax.mul).")
div = _binary(_pnp.divide, "div", "x / y (jax.lax.div; for floats).")
pow = _binary(_pnp.power, "pow", "x ** y (jax.lax.pow).")  # noqa: A001
max = _binary(_pnp.maximum, "max", "elementwise maximum (jax.lax.max).")  # noqa: A001
min = _binary(_pnp.minimum, "min", "elementwise minimum (jax.lax.min).")  # noqa: A001
atan2 = _binary(_pnp.arctan2, "atan2", "arctan(x / y) in the right quadrant (jax.lax.atan2).")
rem = _binary(_pnp.fmod, "rem", "remainder with the sign of x (jax.lax.rem, C's fmod).")
nextafter = _pnp.nextafter
eq, ne, lt, le, gt, ge = _pnp.equal, _pnp.not_equal, _pnp.less, _pnp.less_equal, _pnp.greater, _pnp.greater_equal

neg, abs, sign, floor, ceil = _pnp.negative, _pnp.abs, _pnp.sign, _pnp.floor, _pnp.ceil  # noqa: A001
exp, exp2, log, log1p, expm1 = _pnp.exp, _pnp.exp2, _pnp.log, _pnp.log1p, _pnp.expm1
sqrt, cbrt, square, tanh = _pnp.sqrt, _pnp.cbrt, _pnp.square, _pnp.tanh
sin, cos, tan, asin, acos, atan = _pnp.sin, _pnp.cos, _pnp.tan, _pnp.arcsin, _pnp.arccos, _pnp.arctan
sinh, cosh, asinh, acosh, atanh = _pnp.sinh, _pnp.cosh, _pnp.arcsinh, _pnp.arccosh, _pnp.arctanh
real, imag, conj, is_finite = _pnp.real, _pnp.imag, _pnp.conj, _pnp.isfinite


def round(x: Any, rounding_method: int = 0) -> Any:  # noqa: A001 - jax.lax.round's name
    """Round to the nearest integer (jax.lax.round): rounding_method 0 rounds halves away from zero,
    1 to even. Its derivative is zero almost everywhere."""
    if rounding_method in (1, "TO_NEAREST_EVEN"):
        return _pnp.rint(x)
    return _pnp.sign(x) * _pnp.floor(_pnp.abs(x) + 0.5)


def rsqrt(x: Any) -> Any:
    """1 / √x (jax.lax.rsqrt)."""
    return _pnp.reciprocal(_pnp.sqrt(x))


def logistic(x: Any) -> Any:
    """1 / (1 + e^(−x)) (jax.lax.logistic), computed as (1 + tanh(x/2)) / 2 (stable for large |x|)."""
    return 0.5 * (_pnp.tanh(0.5 * x) + 1.0)


def integer_pow(x: Any, y: int) -> Any:
    """x ** y for a Python integer y (jax.lax.integer_pow)."""
    if not isinstance(y, (int, _np.integer)):
        raise TypeError(f"integer_pow: the exponent must be a Python int, got {type(y).__name__}")
    return _pnp.power(x, int(y))


def select(pred: Any, on_true: Any, on_false: Any) -> Any:
    """on_true where pred else on_false, elementwise (jax.lax.select; pred is boolean)."""
    return _pnp.where(pred, on_true, on_false)


def clamp(min: Any, x: Any, max: Any) -> Any:  # noqa: A002 - jax.lax.clamp's signature
    """x clipped to [min, max] (jax.lax.clamp; note the argument order)."""
    return _pnp.clip(x, min, max)


def convert_element_type(x: Any, new_dtype: Any) -> Any:
    """x cast to new_dtype (jax.lax.convert_element_type)."""
    return _pnp.asarray(x).astype(new_dtype)


# ----------------------------------------------------------------------------- structure and contraction

def reshape(operand: Any, new_sizes: Sequence[int], dimensions: Sequence[int] | None = None) -> Any:
    """operand reshaped to new_sizes, after permuting its axes by dimensions if given (jax.lax.reshape)."""
    if dimensions is not None:
        operand = _pnp.transpose(operand, tuple(dimensions))
    return _pnp.reshape(operand, tuple(new_sizes))


def transpose(operand: Any, permutation: Sequence[int]) -> Any:
    """operand with its axes permuted (jax.lax.transpose)."""
    return _pnp.transpose(operand, tuple(permutation))


def concatenate(operands: Sequence[Any], dimension: int) -> Any:
    """operands joined along dimension (jax.lax.concatenate)."""
    return _pnp.concatenate(list(operands), axis=dimension)


def broadcast_in_dim(operand: Any, shape: Sequence[int], broadcast_dimensions: Sequence[int]) -> Any:
    """operand broadcast to shape, its axis i becoming axis broadcast_dimensions[i] (jax.lax.broadcast_in_dim)."""
    shape = tuple(shape)
    dims = tuple(broadcast_dimensions)
    op_shape = _np.shape(operand) if not isinstance(operand, Tracer) else operand.shape
    expanded = [1] * len(shape)
    for i, d in enumerate(dims):
        expanded[d] = op_shape[i]
    return _pnp.broadcast_to(_pnp.reshape(operand, tuple(expanded)), shape)


def dot(lhs: Any, rhs: Any) -> Any:
    """Vector/matrix products (jax.lax.dot): numpy.dot."""
    return _pnp.dot(lhs, rhs)


def dot_general(lhs: Any, rhs: Any, dimension_numbers: Any) -> Any:
    """The general contraction of jax.lax.dot_general, ((lhs_contract, rhs_contract), (lhs_batch, rhs_batch)).

    The result's axes are the batch axes, then lhs's free axes, then rhs's free axes, as in JAX.
    """
    (lc, rc), (lb, rb) = dimension_numbers
    nl = len(_np.shape(lhs) if not isinstance(lhs, Tracer) else lhs.shape)
    nr = len(_np.shape(rhs) if not isinstance(rhs, Tracer) else rhs.shape)
    letters = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    ls, rs = [None] * nl, [None] * nr
    batch = []
    for a, b in zip(lb, rb):
        ch = next(letters)
        ls[a], rs[b] = ch, ch
        batch.append(ch)
    for a, b in zip(lc, rc):
        ch = next(letters)
        ls[a], rs[b] = ch, ch
    lfree = []
    for i in range(nl):
        if ls[i] is None:
            ls[i] = next(letters)
            lfree.append(ls[i])
    rfree = []
    for i in range(nr):
        if rs[i] is None:
            rs[i] = next(letters)
            rfree.append(rs[i])
    spec = f"{''.join(ls)},{''.join(rs)}->{''.join(batch + lfree + rfree)}"
    return _pnp.einsum(spec, lhs, rhs)


def slice(operand: Any, start_indices: Sequence[int], limit_indices: Sequence[int],  # noqa: A001
          strides: Sequence[int] | None = None) -> Any:
    """operand[start:limit:stride] along every axis (jax.lax.slice; static bounds)."""
    strides = strides or (1,) * len(start_indices)
    import builtins

    return operand[tuple(builtins.slice(a, b, s) for a, b, s in zip(start_indices, limit_indices, strides))]


def dynamic_slice(operand: Any, start_indices: Sequence[Any], slice_sizes: Sequence[int]) -> Any:
    """operand[start : start + size] per axis (jax.lax.dynamic_slice); starts are clamped into range as in
    JAX, and must be concrete (eager, or static under jit)."""
    import builtins

    shape = _np.shape(operand) if not isinstance(operand, Tracer) else operand.shape
    idx = []
    for s, size, n in zip(start_indices, slice_sizes, shape):
        s = int(s.concrete()) if isinstance(s, Tracer) else int(s)
        s = builtins.min(builtins.max(s, 0), n - size)
        idx.append(builtins.slice(s, s + size))
    return operand[tuple(idx)]


def dynamic_update_slice(operand: Any, update: Any, start_indices: Sequence[Any]) -> Any:
    """operand with update written at start_indices (jax.lax.dynamic_update_slice; starts clamped, concrete)."""
    import builtins

    shape = _np.shape(operand) if not isinstance(operand, Tracer) else operand.shape
    ushape = _np.shape(update) if not isinstance(update, Tracer) else update.shape
    idx = []
    for s, size, n in zip(start_indices, ushape, shape):
        s = int(s.concrete()) if isinstance(s, Tracer) else int(s)
        s = builtins.min(builtins.max(s, 0), n - size)
        idx.append(builtins.slice(s, s + size))
    return _pnp.at(operand)[tuple(idx)].set(update)


def __getattr__(name: str):
    raise AttributeError(
        f"pullback.lax has no {name!r}. It provides jax.lax's control flow and the lax-style operations that "
        "map onto pullback.numpy; write this one with pullback.numpy (import pullback.numpy as np)."
    )


__all__ = [
    "abs", "acos", "acosh", "add", "asin", "asinh", "atan", "atan2", "atanh", "broadcast_in_dim", "cbrt", "ceil",
    "clamp", "concatenate", "cond", "conj", "convert_element_type", "cos", "cosh", "div", "dot", "dot_general",
    "dynamic_slice", "dynamic_update_slice", "eq", "exp", "exp2", "expm1", "floor", "fori_loop", "ge", "gt",
    "imag", "integer_pow", "is_finite", "le", "log", "log1p", "logistic", "lt", "map", "max", "min", "mul", "ne",
    "neg", "nextafter", "pow", "real", "rem", "reshape", "round", "rsqrt", "scan", "select", "sign", "sin", "sinh",
    "slice", "sqrt", "square", "stop_gradient", "sub", "switch", "tan", "tanh", "transpose", "while_loop",
]
