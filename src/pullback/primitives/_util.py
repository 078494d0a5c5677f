"""Small helpers shared by the primitive families (shapes and dtypes of possibly-traced values)."""

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


def broadcast_rule(*args, **params):
    """Shape/dtype rule of a broadcasting elementwise op (Python scalars are weakly typed)."""
    shapes = [shape_of(a) for a in args]
    dtypes = [a if isinstance(a, (int, float, complex)) else dtype_of(a) for a in args]
    return np.broadcast_shapes(*shapes), np.result_type(*dtypes)


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
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"duplicate value in 'axis': {axis}")
    return tuple(sorted(out))
