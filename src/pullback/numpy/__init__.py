"""pullback.numpy: NumPy's namespace, differentiable.

    import pullback.numpy as np

Functions take and return what NumPy's do; on traced values they record derivatives.
Names pullback does not differentiate yet resolve to NumPy's own function: on plain
arrays it works as usual, on a traced value it raises a clear PullbackError.

Each family module (_ufuncs, _reductions, ...) lists its public names in __all__ and
its ndarray methods for traced values in METHODS; this file only gathers them.
"""

from __future__ import annotations

import numpy as _np

# Constants, dtypes and array creation are NumPy's own (constants carry no derivative).
from numpy import (  # noqa: F401
    arange,
    bool_,
    complex64,
    complex128,
    complexfloating,
    dtype,
    e,
    empty,
    euler_gamma,
    eye,
    finfo,
    float16,
    float32,
    float64,
    floating,
    full,
    identity,
    iinfo,
    inf,
    int8,
    int16,
    int32,
    int64,
    integer,
    linspace,
    nan,
    ndarray,
    newaxis,
    number,
    ones,
    pi,
    random,
    uint8,
    zeros,
)

from . import _einsum, _indexing, _reductions, _shapes, _sorting, _ufuncs, fft, linalg
from ._methods import install as _install
from ._methods import register_numpy_dispatch as _register

FAMILIES = (_ufuncs, _reductions, _sorting, _shapes, _indexing, _einsum)
for _module in FAMILIES:
    globals().update({_name: getattr(_module, _name) for _name in _module.__all__})

_install(FAMILIES)
_register(globals(), {"linalg": linalg, "fft": fft})


def __getattr__(name: str):
    """Fall back to NumPy's own attribute (it raises a clear error if it meets a traced value)."""
    try:
        return getattr(_np, name)
    except AttributeError:
        raise AttributeError(f"module 'pullback.numpy' has no attribute {name!r}") from None


__all__ = [n for n in globals() if not n.startswith("_") and n != "FAMILIES"]
