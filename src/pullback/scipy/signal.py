"""pullback.scipy.signal: convolve, correlate, fftconvolve and lfilter, differentiable.

Same names, signatures and defaults as SciPy; on plain arrays each function is SciPy's own.
On traced values the full convolution is one primitive (SciPy's own convolve, with the
`method` you ask for) and the modes 'same' and 'valid' are slices of it, so derivatives
exist in both inputs to any order: z = a ∗ b is bilinear and its transpose is again a
convolution (with the other input flipped). lfilter is differentiable in b, a and x; its
reverse rule filters the reversed cotangent (the adjoint of a causal filter is the
anti-causal one). See docs/scipy-linalg.md.
"""

from __future__ import annotations

from typing import Any

import numpy as _np
import scipy.signal as _ss

from .. import numpy as pnp
from ..core.trace import Tracer
from ..errors import UnsupportedFunctionError
from ..primitives._util import dtype_of, shape_of
from . import _linalg_primitives as _p

__all__ = ["convolve", "correlate", "fftconvolve", "lfilter"]

_MODES = ("full", "same", "valid")


def _traced(*xs: Any) -> bool:
    return any(isinstance(x, Tracer) for x in xs)


def _arr(x: Any) -> Any:
    return x if isinstance(x, Tracer) else _np.asarray(x)


def _check(name: str, in1: Any, in2: Any, mode: str) -> None:
    if mode not in _MODES:
        raise ValueError(f"{name}: acceptable mode flags are 'valid', 'same', or 'full', got {mode!r}")
    if len(shape_of(in1)) != len(shape_of(in2)):
        raise ValueError(f"{name}: in1 and in2 should have the same dimensionality")


def _mode_slice(full: Any, s1: tuple, s2: tuple, mode: str, axes: tuple) -> Any:
    """The 'same' (centred on in1) or 'valid' (full overlap) part of a full convolution, along axes."""
    if mode == "full":
        return full
    sf = shape_of(full)
    idx = []
    for i in range(len(sf)):
        if i not in axes:
            idx.append(slice(None))
        elif mode == "same":
            start = (sf[i] - s1[i]) // 2
            idx.append(slice(start, start + s1[i]))
        else:
            start = min(s1[i], s2[i]) - 1
            idx.append(slice(start, start + abs(s1[i] - s2[i]) + 1))
    return full[tuple(idx)]


def _valid_ok(name: str, s1: tuple, s2: tuple, axes: tuple) -> None:
    ge = all(s1[i] >= s2[i] for i in axes)
    le = all(s1[i] <= s2[i] for i in axes)
    if not (ge or le):
        raise ValueError(f"{name}: for 'valid' mode, one must be at least as large as the other in every dimension")


def convolve(in1, in2, mode="full", method="auto"):
    """N-d convolution, modes full/same/valid, method auto/direct/fft: dz = d(in1) ∗ in2 + in1 ∗ d(in2)."""
    in1, in2 = _arr(in1), _arr(in2)
    if not _traced(in1, in2):
        return _ss.convolve(in1, in2, mode=mode, method=method)
    _check("convolve", in1, in2, mode)
    if method not in ("auto", "direct", "fft"):
        raise ValueError(f"convolve: acceptable method flags are 'auto', 'direct', or 'fft', got {method!r}")
    s1, s2 = shape_of(in1), shape_of(in2)
    axes = tuple(range(len(s1)))
    if mode == "valid":
        _valid_ok("convolve", s1, s2, axes)
    if method == "auto":
        method = _ss.choose_conv_method(_np.zeros(s1, dtype_of(in1)), _np.zeros(s2, dtype_of(in2)), mode=mode)
    full = _p.convolve_full(in1, in2, method=method, axes=None)
    return _mode_slice(full, s1, s2, mode, axes)


def _reverse_and_conj(x: Any) -> Any:
    x = x[(slice(None, None, -1),) * len(shape_of(x))]
    return pnp.conj(x) if dtype_of(x).kind == "c" else x


def correlate(in1, in2, mode="full", method="auto"):
    """N-d cross-correlation: convolve(in1, reverse(conj(in2))) with the same modes and methods."""
    in1, in2 = _arr(in1), _arr(in2)
    if not _traced(in1, in2):
        return _ss.correlate(in1, in2, mode=mode, method=method)
    _check("correlate", in1, in2, mode)
    s1, s2 = shape_of(in1), shape_of(in2)
    if mode == "valid":
        _valid_ok("correlate", s1, s2, tuple(range(len(s1))))
        if any(s2[i] > s1[i] for i in range(len(s1))):
            # SciPy swaps the inputs: correlate(in2, in1) reversed and conjugated
            return _reverse_and_conj(convolve(in2, _reverse_and_conj(in1), mode, method))
    return convolve(in1, _reverse_and_conj(in2), mode, method)


def fftconvolve(in1, in2, mode="full", axes=None):
    """Convolution by FFT, over all axes or over `axes` (the other axes broadcast)."""
    in1, in2 = _arr(in1), _arr(in2)
    if not _traced(in1, in2):
        return _ss.fftconvolve(in1, in2, mode=mode, axes=axes)
    _check("fftconvolve", in1, in2, mode)
    s1, s2 = shape_of(in1), shape_of(in2)
    nd = len(s1)
    if axes is None:
        full = _p.convolve_full(in1, in2, method="fft", axes=None)
        ax = tuple(range(nd))
    else:
        ax = tuple(sorted({int(a) % nd for a in _np.atleast_1d(axes)}))
        for i in range(nd):
            if i not in ax and s1[i] != s2[i] and 1 not in (s1[i], s2[i]):
                raise ValueError(f"fftconvolve: incompatible shapes for in1 and in2: {s1} and {s2}")
        full = _p.convolve_full(in1, in2, method="fft", axes=ax)
    if mode == "valid":
        _valid_ok("fftconvolve", s1, s2, ax)
    return _mode_slice(full, s1, s2, mode, ax)


def lfilter(b, a, x, axis=-1, zi=None):
    """IIR/FIR filter along axis with zero initial state, differentiable in b, a and x.

    Σₖ aₖ y[n−k] = Σₖ bₖ x[n−k]:  dy = lfilter(db, a, x) − lfilter(da, a, y) + lfilter(b, a, dx).
    """
    b, a, x = _arr(b), _arr(a), _arr(x)
    if not _traced(b, a, x, zi):
        return _ss.lfilter(b, a, x, axis=axis, zi=zi)
    if zi is not None:
        raise UnsupportedFunctionError(
            "pullback.scipy.signal.lfilter: initial conditions (zi=) are not supported on traced values; "
            "prepend the history to x (or filter with zi=None) to differentiate."
        )
    b, a = pnp.atleast_1d(b), pnp.atleast_1d(a)
    if len(shape_of(b)) != 1 or len(shape_of(a)) != 1:
        raise ValueError("lfilter: b and a must be 1-D coefficient arrays (SciPy's N-d b/a are not supported)")
    if not _traced(a) and _np.asarray(a)[0] == 0:
        raise ValueError("lfilter: a[0] must be nonzero")
    nd = len(shape_of(x))
    if nd == 0:
        raise ValueError("lfilter: x must be at least 1-D")
    return _p.lfilter(b, a, x, axis=int(axis) % nd)
