"""pullback.numpy: NumPy's namespace, differentiable.

    import pullback.numpy as np

Functions take and return what NumPy's do; on traced values they record derivatives.
Names pullback does not differentiate yet resolve to NumPy's own function: on plain
arrays it works as usual, on a traced value it raises a clear PullbackError.

JAX's ``x.at[idx].set(v)``: traced arrays have ``.at``; for any array, plain ones included, write
``pnp.at(x)[idx].set(v)`` (also .add, .multiply, .min, .max, .apply, .get). Inside a transformation,
``y = np.zeros(n); y[i] = v`` works too. ``pullback.numpy.random`` is NumPy's random module.

Each family module (_ufuncs, _reductions, ...) lists its public names in __all__ and
its ndarray methods for traced values in METHODS; this file only gathers them.
"""

from __future__ import annotations

import sys as _sys

import numpy as _np

# Constants, dtypes and some array creation are NumPy's own (constants carry no derivative);
# zeros/ones/empty/full come from _creation (they accept traced values assigned in place).
from numpy import (  # noqa: F401
    arange,
    bool_,
    complex64,
    complex128,
    complexfloating,
    dtype,
    e,
    euler_gamma,
    eye,
    finfo,
    float16,
    float32,
    float64,
    floating,
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
    newaxis,
    number,
    pi,
    random,  # NumPy's own: random numbers are constants (no derivative)
    uint8,
)

from . import _einsum, _idioms, _indexing, _reductions, _shapes, _sorting, _ufuncs, fft, linalg
from ._methods import install as _install
from ._methods import register_numpy_dispatch as _register

FAMILIES = (_ufuncs, _reductions, _sorting, _shapes, _indexing, _einsum, _idioms)
for _module in FAMILIES:
    globals().update({_name: getattr(_module, _name) for _name in _module.__all__})

# `import pullback.numpy.random` (and `from pullback.numpy.random import default_rng`) is numpy.random
_sys.modules.setdefault(__name__ + ".random", random)

_install(FAMILIES)
_register(globals(), {"linalg": linalg, "fft": fft})


def __getattr__(name: str):
    """Fall back to NumPy's own attribute (it raises a clear error if it meets a traced value)."""
    try:
        return getattr(_np, name)
    except AttributeError:
        raise AttributeError(f"module 'pullback.numpy' has no attribute {name!r}") from None


__all__ = [n for n in globals() if not n.startswith("_") and n != "FAMILIES"]
