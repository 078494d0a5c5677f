"""pullback.numpy: NumPy's namespace, differentiable.

    import pullback.numpy as np

Functions take and return what NumPy's do; on traced values they record derivatives.
Names pullback does not differentiate yet resolve to NumPy's own function: on plain
arrays it works as usual, on a traced value it raises a clear PullbackError.

JAX's ``x.at[idx].set(v)``: traced arrays have ``.at``; for any array, plain ones included, write
``pnp.at(x)[idx].set(v)`` (also .add, .multiply, .min, .max, .apply, .get). Inside a transformation,
``y = np.zeros(n); y[i] = v`` works too. ``pullback.numpy.random`` is NumPy's random module.

Each family module (_ufuncs, _reductions, ...) lists its public names in __all__ and
its ndarray methods for traced values in METHODS; this file alone gathers them.

Import order. A module imports only modules above it in this list (at module level; there
are no bottom-of-file or cyclic imports), and all of them may import core, primitives, errors:

    _helpers        leaf: argument handling shared by all families (traced, check_kwargs ...)
    _ufuncs         elementwise functions, astype
    _shapes         reshape, transpose, concatenate, stack, asarray, products
    _joining        split, tile, repeat, flip, roll, meshgrid ...
    _indexing       getitem with NumPy's index rules, x.at[...] updates
    _indexing_fns   take, choose, select, diagonals/triangles, insert/delete, put ...
    _creation       *_like, full, linspace/logspace/geomspace, as*array
    _reductions     sum, mean, var, max, argmax ...
    _nanreductions  nansum, nanmean, nanvar ...
    _statistics     cov, corrcoef, bincount, digitize
    _sorting        sort, unique, cumsum, searchsorted ...
    _differences    diff, gradient, trapezoid, unwrap
    _quantiles      median, percentile, quantile (and NaN versions)
    _pad            pad
    _einsum         einsum, kron, cross, convolve, correlate
    _idioms         ndarray type check, dtype queries, r_/c_, vectorize, interp, polyval, histogram
    _linalg_norms   norms of linalg
    linalg, fft     the submodules pullback.numpy.linalg and .fft
    _methods        installs operators, ndarray methods and NumPy dispatch on Tracer
    __init__        gathers the families' __all__ into this namespace

tests/test_layering.py checks the order.
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

from . import (
    _creation,
    _differences,
    _einsum,
    _idioms,
    _indexing,
    _indexing_fns,
    _joining,
    _nanreductions,
    _pad,
    _quantiles,
    _reductions,
    _shapes,
    _sorting,
    _statistics,
    _ufuncs,
    fft,
    linalg,
)
from ._methods import install as _install
from ._methods import register_numpy_dispatch as _register

FAMILIES = (
    _ufuncs, _shapes, _joining, _indexing, _indexing_fns, _creation, _reductions, _nanreductions, _statistics,
    _sorting, _differences, _quantiles, _pad, _einsum, _idioms,
)
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


__all__ = [n for n in globals() if not n.startswith("_") and n not in ("FAMILIES", "annotations")]


def __dir__() -> list[str]:
    """Only the public names (what ``from pullback.numpy import *`` gives): no helpers or family modules."""
    return sorted(__all__)
