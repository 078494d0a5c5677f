"""Small helpers shared by the primitive families (they live in core/shapes.py, which the engine uses too)."""

from __future__ import annotations

from ..core.shapes import (
    bool_rule,
    broadcast_rule,
    dtype_of,
    is_complex,
    is_float,
    ndim_of,
    normalize_axis,
    result_dtype,
    same_rule,
    shape_of,
    ufunc_rule,
)

__all__ = ["bool_rule", "broadcast_rule", "dtype_of", "is_complex", "is_float", "ndim_of", "normalize_axis",
           "result_dtype", "same_rule", "shape_of", "ufunc_rule"]
