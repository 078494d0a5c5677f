"""pullback.scipy.linalg and .signal against JAX's jax.scipy as an independent oracle (skipped without JAX).

Gradients of a random linear functional of each output, in float64, for a sample of the
functions (JAX's eager dispatch compiles every op, about a second of CPU per case; all of
them agreed when written). JAX symmetrizes the
derivative of functions that read one triangle, so those are compared on f(sym(A)), where
both conventions agree.
"""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = pytest.importorskip("jax.numpy")
jsl = pytest.importorskip("jax.scipy.linalg")
jss = pytest.importorskip("jax.scipy.signal")
PL = pytest.importorskip("pullback.scipy.linalg")
PS = pytest.importorskip("pullback.scipy.signal")

R = np.random.default_rng(3)
A = R.standard_normal((4, 4)) + 4 * np.eye(4)
S = A @ A.T / 4 + np.eye(4)
B = R.standard_normal((4, 2))


def _sym(m, a):
    return (a + m.swapaxes(a, -1, -2)) / 2


CASES = {
    "solve_triangular": (lambda m, ns, a, b: ns.solve_triangular(a, b, lower=True, trans=1), (A, B)),
    "cho_solve": (lambda m, ns, s, b: ns.cho_solve(ns.cho_factor(_sym(m, s)), b), (S, B)),
    "lu_solve": (lambda m, ns, a, b: ns.lu_solve(ns.lu_factor(a), b), (A, B)),
    "solve-pos": (lambda m, ns, s, b: ns.solve(_sym(m, s), b, assume_a="pos"), (S, B)),
    "eigh-values": (lambda m, ns, s: ns.eigh(_sym(m, s), eigvals_only=True), (S,)),
}


def _compare(call, args, ours, theirs):
    out = np.asarray(pb.vjp(lambda *a: call(pnp, ours, *a), *args)[0])
    w = R.standard_normal(out.shape)
    argnums = tuple(range(len(args)))
    g_ours = pb.grad(lambda *a: pnp.sum(call(pnp, ours, *a) * w), argnums=argnums)(*args)
    g_jax = jax.grad(lambda *a: jnp.sum(call(jnp, theirs, *a) * w), argnums=argnums)(*map(jnp.asarray, args))
    for g, h in zip(g_ours, g_jax, strict=True):
        np.testing.assert_allclose(g, np.asarray(h), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", list(CASES))
def test_linalg_gradients_equal_jax_scipy(name):
    call, args = CASES[name]
    _compare(call, args, PL, jsl)


SIGNAL = {
    f"{fn}-{mode}": (lambda m, ns, x, y, fn=fn, mode=mode: getattr(ns, fn)(x, y, mode=mode), (R.standard_normal((5, 4)),
                                                                                          R.standard_normal((2, 3))))
    for fn, mode in (("convolve", "same"), ("correlate", "valid"), ("fftconvolve", "full"))
}


@pytest.mark.parametrize("name", list(SIGNAL))
def test_signal_gradients_equal_jax_scipy(name):
    call, args = SIGNAL[name]
    _compare(call, args, PS, jss)
