"""Array helpers for the transformations (api, jacobians, vmap, control, checkpoint), over primitives.

The transformations use primitives, never the user-facing pullback.numpy (whose job is
NumPy's argument conventions): they reshape, permute, broadcast and stack with the shape
primitives directly, through these few helpers. Each helper
works on plain arrays (NumPy's own function) and on traced values (one primitive), and
returns its argument itself when the operation is the identity.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .core.backend import NUMPY_TYPES, backend_of
from .core.trace import Tracer
from .primitives import shape as sh
from .primitives._util import shape_of


def output_leaf(x: Any) -> Any:
    """A result handed back to the user: a plain (writable) ndarray or NumPy scalar, or an outer tracer."""
    if isinstance(x, Tracer):
        return x
    if isinstance(x, np.ndarray):
        return x if x.flags.writeable else x.copy()
    if isinstance(x, np.generic) or backend_of(x) is not None:
        return x  # another library's array keeps its library
    return np.asarray(x)


def reshape(x: Any, shape: Sequence[int]) -> Any:
    """x with the (fully specified) shape `shape`."""
    shape = tuple(int(n) for n in shape)
    if type(x) in NUMPY_TYPES:
        return np.reshape(x, shape)
    return x if shape_of(x) == shape else sh.reshape(x, shape=shape)


def transpose(x: Any, axes: Sequence[int]) -> Any:
    """x with its axes permuted: out.shape[i] = x.shape[axes[i]]."""
    axes = tuple(int(a) for a in axes)
    if type(x) in NUMPY_TYPES:
        return np.transpose(x, axes)
    return x if axes == tuple(range(len(axes))) else sh.transpose(x, axes=axes)


def moveaxis(x: Any, source: int, destination: int) -> Any:
    """x with axis `source` moved to position `destination` (both already in range, non-negative)."""
    order = [n for n in range(len(shape_of(x))) if n != source]
    order.insert(destination, source)
    return transpose(x, order)


def broadcast_to(x: Any, shape: Sequence[int]) -> Any:
    """x broadcast to `shape` (NumPy's broadcasting rules)."""
    shape = tuple(int(n) for n in shape)
    if type(x) in NUMPY_TYPES:
        return np.broadcast_to(x, shape)
    return x if shape_of(x) == shape else sh.broadcast_to(x, shape=shape)


def stack(xs: Sequence[Any]) -> Any:
    """The arrays xs (all of one shape) stacked along a new leading axis: out[i] = xs[i]."""
    if all(type(x) in NUMPY_TYPES for x in xs):
        return np.stack(xs)
    shapes = {tuple(shape_of(x)) for x in xs}
    if len(shapes) != 1:
        raise ValueError(f"all input arrays must have the same shape, not {sorted(shapes)}")
    (shape,) = shapes
    rows = [reshape(x if type(x) not in NUMPY_TYPES else np.asarray(x), (1,) + shape) for x in xs]
    return rows[0] if len(rows) == 1 else sh.concatenate(*rows, axis=0)
