"""∂ᵐ/∂sᵐ of the Hurwitz zeta function ζ(s, q) = Σₖ (k + q)⁻ˢ, by Euler–Maclaurin summation (NumPy only).

    ζ⁽ᵐ⁾(s, q) = Σₖ₌₀^{N−1} (−log(k + q))ᵐ (k + q)⁻ˢ + ∂ᵐ/∂sᵐ [ a¹⁻ˢ/(s − 1) + a⁻ˢ/2
                 + Σⱼ₌₁ᴾ B₂ⱼ/(2j)! · s(s+1)···(s+2j−2) · a^(−s−2j+1) ],   a = N + q,

each tail term differentiated in closed form by Leibniz's rule. With N = 14 and P = 9 it agrees with
mpmath to ~1e-15 relative for q > 0 and 0 < s ≤ 60 (s ≠ 1), m ≤ 3; the formula is the analytic
continuation, so it also serves the Riemann ζ(s) = ζ(s, 1) for s < 1 (~1e-12 at s = −1.5, where the
terms cancel).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import polynomial as P

_N = 14
_BERNOULLI_2J = [1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798]


def _rising_poly(n: int) -> np.ndarray:
    """Coefficients (low to high) of s(s+1)···(s+n−1)."""
    c = np.array([1.0])
    for i in range(n):
        c = P.polymul(c, [float(i), 1.0])
    return c


_TAIL_POLYS = [(_BERNOULLI_2J[j - 1] / math.factorial(2 * j)) * _rising_poly(2 * j - 1)
               for j in range(1, len(_BERNOULLI_2J) + 1)]


def zeta_derivative(s, q, m: int) -> np.ndarray:
    """ζ⁽ᵐ⁾(s, q) = ∂ᵐζ(s, q)/∂sᵐ, elementwise (q > 0, s ≠ 1)."""
    s, q = np.broadcast_arrays(np.asarray(s, np.float64), np.asarray(q, np.float64))
    with np.errstate(all="ignore"):
        total = np.zeros(s.shape)
        for k in range(_N):
            lk = np.log(k + q)
            total += (-lk) ** m * np.exp(-s * lk)
        a = _N + q
        la = np.log(a)
        a_s = np.exp(-s * la)  # a⁻ˢ
        # a^(1−s)/(s − 1)
        for i in range(m + 1):
            total += (math.comb(m, i) * (-1) ** (m - i) * math.factorial(m - i)) * (-la) ** i * a * a_s / (s - 1) ** (
                m - i + 1)
        total += 0.5 * (-la) ** m * a_s
        for j, poly in enumerate(_TAIL_POLYS, start=1):
            power = a_s * a ** (1 - 2 * j)
            for i in range(m + 1):
                d = P.polyder(poly, m - i) if m - i else poly
                if len(d) == 0:
                    continue
                total += math.comb(m, i) * P.polyval(s, d) * (-la) ** i * power
    return total
