"""Discrete Fourier transforms along one axis: fft (complex ↔ complex), rfft (real → half spectrum),
irfft (half spectrum → real). Multi-axis transforms, padding and truncation are compositions
(pullback.numpy.fft), made in the same order as NumPy's, so values agree bitwise.

All three are linear; their reverse rules are transposes under the bilinear pairing
⟨u, v⟩ = Re Σ u·v (docs/complex.md), with sᶠ, sᵇ the forward/backward scale of `norm`
(backward: 1, 1/n; ortho: 1/√n, 1/√n; forward: 1/n, 1) and `swap(norm)` the norm whose
forward scale is this one's backward scale:

- fft, ifft: the DFT matrix is symmetric, so each is its own transpose (same norm).
- rfft: x̄ⱼ = sᶠ Re Σₖ ȳₖ e^(−2πijk/n) = irfft(conj(ȳ) / w, n, swap(norm)), where
  w = (1, 2, …, 2[, 1 for even n]) undoes the doubling irfft applies to the bins that
  stand for a conjugate pair; irfft ignores Im of bin 0 (and bin n/2), as Re does.
- irfft: d̄ = w ∘ conj(rfft(x̄, swap(norm))). Not simply rfft: the doubled bins get
  weight 2, and the conjugate comes from irfft reading the half spectrum as Hermitian.
"""

from __future__ import annotations

import numpy as np

from ..core.backend import is_lazy, numpy_dtype, xp_dtype
from ..core.primitive import Primitive
from ._util import dtype_of, shape_of
from .elementwise import conj, multiply

SWAP_NORM = {"backward": "forward", "ortho": "ortho", "forward": "backward"}


def _complex_rule(x, axis, **params):
    return shape_of(x), np.result_type(dtype_of(x), 1j)


def _fft_impl(x, axis, inverse, norm):
    return (np.fft.ifft if inverse else np.fft.fft)(x, axis=axis, norm=norm)


def _fft_xp(xp, x, axis, inverse, norm):
    """The array API's fft takes complex input only: a real x is cast first (as NumPy does)."""
    if numpy_dtype(x.dtype).kind != "c":
        x = xp.astype(x, xp_dtype(xp, np.result_type(numpy_dtype(x.dtype), 1j)))
    return (xp.fft.ifft if inverse else xp.fft.fft)(_one_chunk(xp, x, axis), axis=axis, norm=norm or "backward")


def _one_chunk(xp, x, axis):
    """Dask transforms along an axis held in one chunk: rechunk that axis only (the others stay chunked)."""
    return x.rechunk({axis: -1}) if is_lazy(xp) and len(x.chunks[axis]) > 1 else x


fft = Primitive(
    "fft", _fft_impl, shape=_complex_rule, linear=True,
    jvps=[lambda t, out, x, axis, inverse, norm: fft(t, axis=axis, inverse=inverse, norm=norm)],
    vjps=[lambda ct, out, x, axis, inverse, norm: fft(ct, axis=axis, inverse=inverse, norm=norm)],
    doc="numpy.fft.fft / ifft along a non-negative axis (no padding); its own transpose",
    xp_impl=lambda xp, x, axis, inverse, norm: _fft_xp(xp, x, axis, inverse, norm),
)


def half_spectrum_weights(n: int, axis: int, ndim: int, dtype) -> np.ndarray:
    """w = (1, 2, …, 2[, 1]) of length n//2 + 1, shaped to broadcast along `axis`."""
    w = np.full(n // 2 + 1, 2.0)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    shape = [1] * ndim
    shape[axis] = w.size
    return w.reshape(shape).astype(dtype)


def _real_dtype(x):
    return np.result_type(np.real(np.zeros((), dtype_of(x))).dtype, 1.0)


def _rfft_impl(x, axis, norm):
    return np.fft.rfft(x, axis=axis, norm=norm)


def _rfft_shape(x, axis, norm):
    s = list(shape_of(x))
    s[axis] = s[axis] // 2 + 1
    return tuple(s), np.result_type(dtype_of(x), 1j)


def _rfft_transpose(ct, out, x, axis, norm):
    n = shape_of(x)[axis]
    inv_w = 1.0 / half_spectrum_weights(n, axis, len(shape_of(x)), np.float64)
    d = multiply(conj(ct), inv_w.astype(_real_dtype(ct)))
    return irfft(d, axis=axis, n=n, norm=SWAP_NORM[norm])


rfft = Primitive(
    "rfft", _rfft_impl, shape=_rfft_shape, linear=True,
    jvps=[lambda t, out, x, axis, norm: rfft(t, axis=axis, norm=norm)],
    vjps=[_rfft_transpose],
    doc="numpy.fft.rfft of a real x along a non-negative axis (no padding): n → n//2 + 1 bins",
    xp_impl=lambda xp, x, axis, norm: xp.fft.rfft(_one_chunk(xp, x, axis), axis=axis, norm=norm or "backward"),
)


def _irfft_impl(x, axis, n, norm):
    return np.fft.irfft(x, n=n, axis=axis, norm=norm)


def _irfft_shape(x, axis, n, norm):
    s = list(shape_of(x))
    if s[axis] != n // 2 + 1:
        raise ValueError(f"irfft: the half spectrum must have n//2 + 1 = {n // 2 + 1} bins, got {s[axis]}")
    s[axis] = n
    return tuple(s), _real_dtype(x)


def _irfft_transpose(ct, out, x, axis, n, norm):
    w = half_spectrum_weights(n, axis, len(shape_of(ct)), _real_dtype(ct))
    return multiply(conj(rfft(ct, axis=axis, norm=SWAP_NORM[norm])), w)


irfft = Primitive(
    "irfft", _irfft_impl, shape=_irfft_shape, linear=True,
    jvps=[lambda t, out, x, axis, n, norm: irfft(t, axis=axis, n=n, norm=norm)],
    vjps=[_irfft_transpose],
    doc="numpy.fft.irfft along a non-negative axis: n//2 + 1 bins → n real samples",
    xp_impl=lambda xp, x, axis, n, norm: xp.fft.irfft(_one_chunk(xp, x, axis), n=n, axis=axis, norm=norm or "backward"),
)


def _shift_axis(prim):
    """vmap: the batch axis comes first, so the transformed axis moves one place right."""

    def rule(vals, batched, axis, **params):
        return prim.bind(vals[0], axis=axis + 1, **params)

    return rule


for _prim in (fft, rfft, irfft):
    _prim.batch = _shift_axis(_prim)
