"""pullback.numpy: NumPy's namespace, differentiable.

    import pullback.numpy as np

Functions take and return what NumPy's do; on traced values they record derivatives.
Names pullback does not differentiate yet resolve to NumPy's own function: on plain
arrays it works as usual, on a traced value it raises a clear PullbackError.
"""

from __future__ import annotations

import numpy as _np

from ._methods import install as _install
from ._methods import register_numpy_dispatch as _register
from ._reductions import amax, amin, max, mean, min, std, sum, var
from ._shapes import (
    array, asarray, atleast_1d, broadcast_to, concatenate, dot, empty_like, expand_dims, full_like,
    getitem, hstack, inner, matmul, moveaxis, ndim, ones_like, outer, ravel, reshape, shape, size,
    squeeze, stack, swapaxes, tensordot, transpose, vdot, vstack, zeros_like,
)
from ._ufuncs import BINARY as _BINARY
from ._ufuncs import UNARY as _UNARY
from ._ufuncs import astype, imag, positive, real, where

globals().update(_UNARY)
globals().update(_BINARY)

# Constants, dtypes and array creation are NumPy's own (constants carry no derivative).
from numpy import (  # noqa: E402
    arange, bool_, complex64, complex128, dtype, e, empty, euler_gamma, eye, finfo, float16, float32,
    float64, full, identity, iinfo, inf, int8, int16, int32, int64, integer, linspace, nan, newaxis,
    ndarray, floating, complexfloating, number, ones, pi, random, uint8, zeros,
)

_install()
_register(dict(globals()))


def __getattr__(name: str):
    """Fall back to NumPy's own attribute (it raises a clear error if it meets a traced value)."""
    try:
        return getattr(_np, name)
    except AttributeError:
        raise AttributeError(f"module 'pullback.numpy' has no attribute {name!r}") from None


__all__ = [n for n in globals() if not n.startswith("_")]
