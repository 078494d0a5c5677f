"""Shapes and dtypes of possibly-traced values, and the shape rules of the common families."""

from __future__ import annotations

from typing import Any

import numpy as np

from .backend import numpy_dtype


def shape_of(x: Any) -> tuple:
    """The shape of an array, traced value, abstract value or Python scalar.

    Examples
    --------
    >>> from pullback.extend import shape_of
    >>> shape_of(2.0), shape_of([[1, 2]])
    ((), (1, 2))
    """
    s = getattr(x, "shape", None)
    return s if s is not None else np.shape(x)


def dtype_of(x: Any) -> np.dtype:
    """The dtype of an array, traced value, abstract value or Python scalar (NumPy's result_type).

    Examples
    --------
    >>> from pullback.extend import dtype_of
    >>> dtype_of(2.0)
    dtype('float64')
    """
    d = getattr(x, "dtype", None)
    if d is not None:
        return d if isinstance(d, np.dtype) else numpy_dtype(d)  # another library's dtype, in NumPy's terms
    return np.result_type(x)


def ndim_of(x: Any) -> int:
    """The number of axes of x.

    Examples
    --------
    >>> import numpy
    >>> from pullback.extend import ndim_of
    >>> ndim_of(numpy.ones((2, 3)))
    2
    """
    return len(shape_of(x))


def is_complex(x: Any) -> bool:
    """x has a complex dtype.

    Examples
    --------
    >>> from pullback.extend import is_complex
    >>> is_complex(1j), is_complex(1.0)
    (True, False)
    """
    return dtype_of(x).kind == "c"


def is_float(x: Any) -> bool:
    """x has a floating-point or complex dtype (it can carry a derivative).

    Examples
    --------
    >>> from pullback.extend import is_float
    >>> is_float(1.0), is_float(1)
    (True, False)
    """
    return dtype_of(x).kind in "fc"


def result_dtype(*args) -> np.dtype:
    """numpy's result dtype for these operands (Python scalars are weakly typed)."""
    return np.result_type(*[a if isinstance(a, (int, float, complex)) else dtype_of(a) for a in args])


def broadcast_rule(*args, **params):
    """Shape/dtype rule of a broadcasting elementwise op (Python scalars are weakly typed)."""
    return np.broadcast_shapes(*[shape_of(a) for a in args]), result_dtype(*args)


def ufunc_rule(fn):
    """Shape/dtype rule of a unary ufunc: x's shape, and the dtype fn gives for x's dtype (bool for isnan)."""
    return lambda x, **params: (shape_of(x), fn(np.zeros((), dtype_of(x))).dtype)


def same_rule(x, **params):
    """Shape/dtype rule of an op whose output is shaped like its one argument.

    Examples
    --------
    >>> import numpy
    >>> from pullback.extend import same_rule
    >>> same_rule(numpy.ones((2, 3), numpy.float32))
    ((2, 3), dtype('float32'))
    """
    return shape_of(x), dtype_of(x)


def bool_rule(*args, **params):
    """Shape/dtype rule of a comparison: the broadcast shape of the arguments, dtype bool.

    Examples
    --------
    >>> import numpy
    >>> from pullback.extend import bool_rule
    >>> bool_rule(numpy.ones((2, 1)), numpy.ones(3))
    ((2, 3), dtype('bool'))
    """
    return np.broadcast_shapes(*[shape_of(a) for a in args]), np.dtype(bool)


def normalize_axis(axis, ndim: int) -> tuple | None:
    """Axis argument (None, int or sequence, negatives allowed) as a sorted tuple of non-negative ints."""
    if axis is None:
        return None
    if isinstance(axis, (tuple, list)):
        axes = tuple(axis)
    else:
        axes = (axis,)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < max(ndim, 1) and not (ndim == 0 and a in (0, -1)):
            raise np.exceptions.AxisError(a, ndim)
        if ndim:  # a 0-d array has no axis to reduce: numpy.sum(x0d, axis=0) is x0d itself
            out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"duplicate value in 'axis': {axis}")
    return tuple(sorted(out))
