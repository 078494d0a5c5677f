"""pullback.numpy.fft: numpy.fft, differentiable.

On plain arrays every function is NumPy's own. On traced values the transforms are built
from three one-axis primitives (pullback.primitives.fft: fft/ifft, rfft, irfft), with
padding and truncation (the n / s arguments) done by slicing and zero-padding, in the same
order as NumPy, so values agree with NumPy's bitwise. All transforms are linear; their
reverse rules are transposes under the bilinear pairing (docs/complex.md).
"""

from __future__ import annotations

import operator

import numpy as _np

from ..core.trace import Tracer
from ..errors import UnsupportedFunctionError
from ..primitives import elementwise as ew
from ..primitives import fft as fp
from ..primitives import shape as sh
from ..primitives._util import dtype_of, normalize_axis, shape_of
from . import _shapes
from ._helpers import is_traced

__all__ = [
    "fft", "fft2", "fftfreq", "fftn", "fftshift", "hfft", "ifft", "ifft2", "ifftn", "ifftshift", "ihfft",
    "irfft", "irfft2", "irfftn", "rfft", "rfft2", "rfftfreq", "rfftn",
]


def __dir__() -> list[str]:
    """Only the public names: no helpers or imported modules."""
    return sorted(__all__)


def _check_out(name, out):
    if out is not None:
        raise UnsupportedFunctionError(
            f"pullback.numpy.fft.{name}(..., out=...) on a traced value: use the return value.")


def _norm(norm) -> str:
    if norm is None:
        return "backward"
    if norm not in fp.SWAP_NORM:
        raise ValueError(f'Invalid norm value {norm}; should be "backward", "ortho" or "forward".')
    return norm


def _axis(axis, ndim) -> int:
    return normalize_axis(operator.index(axis), ndim)[0]


def _resize(x, axis: int, n: int):
    """x cut, or zero-padded at the end, to length n along axis."""
    if n < 1:
        raise ValueError(f"Invalid number of FFT data points ({n}) specified.")
    m = shape_of(x)[axis]
    if m == n:
        return x
    if m > n:
        return sh.getitem(x, idx=(slice(None),) * axis + (slice(0, n),))
    pad = list(shape_of(x))
    pad[axis] = n - m
    return sh.concatenate(x, _np.zeros(pad, dtype=dtype_of(x)), axis=axis)


def _conj(x):
    return ew.conj(x) if dtype_of(x).kind == "c" else x


# ----------------------------------------------------------------------------- one axis


def _c2c(x, n, axis, norm, inverse):
    ax = _axis(axis, len(shape_of(x)))
    n = shape_of(x)[ax] if n is None else operator.index(n)
    return fp.fft(_resize(x, ax, n), axis=ax, inverse=inverse, norm=_norm(norm))


def _r2c(x, n, axis, norm):
    ax = _axis(axis, len(shape_of(x)))
    n = shape_of(x)[ax] if n is None else operator.index(n)
    return fp.rfft(_resize(x, ax, n), axis=ax, norm=_norm(norm))


def _c2r(x, n, axis, norm):
    ax = _axis(axis, len(shape_of(x)))
    n = (shape_of(x)[ax] - 1) * 2 if n is None else operator.index(n)
    if n < 1:
        raise ValueError(f"Invalid number of FFT data points ({n}) specified.")
    return fp.irfft(_resize(x, ax, n // 2 + 1), axis=ax, n=n, norm=_norm(norm))


def fft(a, n=None, axis=-1, norm=None, out=None):
    """One-dimensional DFT; its transpose is itself (same norm)."""
    a = _shapes.asarray(a)
    if not is_traced(a):
        return _np.fft.fft(a, n=n, axis=axis, norm=norm, out=out)
    _check_out("fft", out)
    return _c2c(a, n, axis, norm, inverse=False)


def ifft(a, n=None, axis=-1, norm=None, out=None):
    """One-dimensional inverse DFT; its transpose is itself (same norm)."""
    a = _shapes.asarray(a)
    if not is_traced(a):
        return _np.fft.ifft(a, n=n, axis=axis, norm=norm, out=out)
    _check_out("ifft", out)
    return _c2c(a, n, axis, norm, inverse=True)


def rfft(a, n=None, axis=-1, norm=None, out=None):
    """DFT of a real input: the n//2 + 1 non-negative frequencies."""
    a = _shapes.asarray(a)
    if not is_traced(a):
        return _np.fft.rfft(a, n=n, axis=axis, norm=norm, out=out)
    _check_out("rfft", out)
    return _r2c(a, n, axis, norm)


def irfft(a, n=None, axis=-1, norm=None, out=None):
    """Inverse of rfft: n real samples (default 2(m − 1)) from a half spectrum; the imaginary
    parts of the zero (and, for even n, the Nyquist) bin are ignored, as by NumPy."""
    a = _shapes.asarray(a)
    if not is_traced(a):
        return _np.fft.irfft(a, n=n, axis=axis, norm=norm, out=out)
    _check_out("irfft", out)
    return _c2r(a, n, axis, norm)


def hfft(a, n=None, axis=-1, norm=None, out=None):
    """DFT of a Hermitian-symmetric signal given by its first half: irfft(conj(a)) with the swapped norm."""
    a = _shapes.asarray(a)
    if not is_traced(a):
        return _np.fft.hfft(a, n=n, axis=axis, norm=norm, out=out)
    _check_out("hfft", out)
    return _c2r(_conj(a), n, axis, fp.SWAP_NORM[_norm(norm)])


def ihfft(a, n=None, axis=-1, norm=None, out=None):
    """Inverse of hfft: conj(rfft(a)) with the swapped norm."""
    a = _shapes.asarray(a)
    if not is_traced(a):
        return _np.fft.ihfft(a, n=n, axis=axis, norm=norm, out=out)
    _check_out("ihfft", out)
    return ew.conj(_r2c(a, n, axis, fp.SWAP_NORM[_norm(norm)]))


# ----------------------------------------------------------------------------- several axes


def _cook_nd_args(x, s, axes, invreal=False):
    """The (s, axes) NumPy's n-dimensional transforms use (numpy.fft._pocketfft._cook_nd_args)."""
    shape = shape_of(x)
    shapeless = s is None
    if s is None:
        s = list(shape) if axes is None else [shape[a] for a in axes]
    s = list(s)
    if axes is None:
        if not shapeless:
            import warnings

            warnings.warn("`axes` should not be `None` if `s` is not `None` (Deprecated in NumPy 2.0).",
                          DeprecationWarning, stacklevel=3)
        axes = list(range(-len(s), 0))
    axes = list(axes)
    if len(s) != len(axes):
        raise ValueError("Shape and axes have different lengths.")
    if invreal and shapeless:
        s[-1] = (shape[axes[-1]] - 1) * 2
    s = [shape[a] if n == -1 else n for n, a in zip(s, axes, strict=True)]
    return s, axes


def _nd(name, a, s, axes, norm, out, kind):
    a = _shapes.asarray(a)
    if not is_traced(a):
        return getattr(_np.fft, name)(a, s=s, axes=axes, norm=norm, out=out)
    _check_out(name, out)
    s, axes = _cook_nd_args(a, s, axes, invreal=kind == "c2r")
    if kind in ("fwd", "inv"):
        for ii in reversed(range(len(axes))):
            a = _c2c(a, s[ii], axes[ii], norm, inverse=kind == "inv")
        return a
    if kind == "r2c":
        a = _r2c(a, s[-1], axes[-1], norm)
        for ii in range(len(axes) - 2, -1, -1):
            a = _c2c(a, s[ii], axes[ii], norm, inverse=False)
        return a
    for ii in range(len(axes) - 1):
        a = _c2c(a, s[ii], axes[ii], norm, inverse=True)
    return _c2r(a, s[-1], axes[-1], norm)


def fftn(a, s=None, axes=None, norm=None, out=None):
    """N-dimensional DFT (one-axis transforms over `axes`, last first, as NumPy does)."""
    return _nd("fftn", a, s, axes, norm, out, "fwd")


def ifftn(a, s=None, axes=None, norm=None, out=None):
    """N-dimensional inverse DFT."""
    return _nd("ifftn", a, s, axes, norm, out, "inv")


def rfftn(a, s=None, axes=None, norm=None, out=None):
    """N-dimensional DFT of a real input (the last axis halved)."""
    return _nd("rfftn", a, s, axes, norm, out, "r2c")


def irfftn(a, s=None, axes=None, norm=None, out=None):
    """Inverse of rfftn."""
    return _nd("irfftn", a, s, axes, norm, out, "c2r")


def fft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """Two-dimensional DFT."""
    return _nd("fft2", a, s, axes, norm, out, "fwd")


def ifft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """Two-dimensional inverse DFT."""
    return _nd("ifft2", a, s, axes, norm, out, "inv")


def rfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """Two-dimensional DFT of a real input."""
    return _nd("rfft2", a, s, axes, norm, out, "r2c")


def irfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """Inverse of rfft2."""
    return _nd("irfft2", a, s, axes, norm, out, "c2r")


# ----------------------------------------------------------------------------- helpers


def _roll(x, shift: int, axis: int):
    n = shape_of(x)[axis]
    k = shift % n if n else 0
    if k == 0:
        return x
    lead = (slice(None),) * axis
    return sh.concatenate(sh.getitem(x, idx=lead + (slice(n - k, None),)),
                          sh.getitem(x, idx=lead + (slice(0, n - k),)), axis=axis)


def _shift(x, axes, sign):
    nd = len(shape_of(x))
    if axes is None:
        axes = tuple(range(nd))
    elif isinstance(axes, (int, _np.integer)):
        axes = (axes,)
    for ax in axes:
        a = _axis(ax, nd)
        x = _roll(x, sign * (shape_of(x)[a] // 2), a)
    return x


def fftshift(x, axes=None):
    """Move the zero-frequency term to the centre (a permutation: its transpose is ifftshift)."""
    x = _shapes.asarray(x)
    if not is_traced(x):
        return _np.fft.fftshift(x, axes=axes)
    return _shift(x, axes, 1)


def ifftshift(x, axes=None):
    """Inverse of fftshift."""
    x = _shapes.asarray(x)
    if not is_traced(x):
        return _np.fft.ifftshift(x, axes=axes)
    return _shift(x, axes, -1)


def fftfreq(n, d=1.0, device=None):
    """Sample frequencies k / (n d) (NumPy's); a traced spacing d is differentiated."""
    if not is_traced(d):
        return _np.fft.fftfreq(n, d=d, device=device)
    if not isinstance(n, (int, _np.integer)):
        raise ValueError("n should be an integer")
    k = _np.concatenate([_np.arange((n - 1) // 2 + 1), _np.arange(-(n // 2), 0)])  # 0, 1, …, −1
    return ew.multiply(k, ew.divide(1.0, ew.multiply(d, n)))


def rfftfreq(n, d=1.0, device=None):
    """Non-negative sample frequencies k / (n d) (NumPy's); a traced spacing d is differentiated."""
    if not is_traced(d):
        return _np.fft.rfftfreq(n, d=d, device=device)
    if not isinstance(n, (int, _np.integer)):
        raise ValueError("n should be an integer")
    return ew.multiply(_np.arange(n // 2 + 1), ew.divide(1.0, ew.multiply(d, n)))
