"""Shapes and dtypes of possibly-traced values, and the shape rules of the common families."""

from __future__ import annotations

from typing import Any

import numpy as np


def shape_of(x: Any) -> tuple:
    s = getattr(x, "shape", None)
    return s if s is not None else np.shape(x)


def dtype_of(x: Any) -> np.dtype:
    d = getattr(x, "dtype", None)
    if d is not None:
        return d
    return np.result_type(x)


def ndim_of(x: Any) -> int:
    return len(shape_of(x))


def is_complex(x: Any) -> bool:
    return dtype_of(x).kind == "c"


def is_float(x: Any) -> bool:
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
    return shape_of(x), dtype_of(x)


def bool_rule(*args, **params):
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
