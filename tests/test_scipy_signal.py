"""pullback.scipy.signal: SciPy's values, and derivatives of every order.

convolve / correlate in every mode and method, N-d, with either input the larger one;
fftconvolve over all axes and over chosen (negative) axes with broadcasting; lfilter in
b, a and x along any axis. Each against SciPy's values, check_grads (finite differences
and the dot-product test) to second order (third for a sample), float32, vmap against a
loop, jit against eager, and the errors.
"""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from cases import Case, Family, family_tests
from pullback.errors import UnsupportedFunctionError

ss = pytest.importorskip("scipy.signal")
PS = pytest.importorskip("pullback.scipy.signal")

R = np.random.default_rng(5)


def normal(*shape):
    return R.standard_normal(shape)


def cnormal(*shape):
    return R.standard_normal(shape) + 1j * R.standard_normal(shape)


B3, A3 = np.array([0.5, 0.2, 0.1]), np.array([1.2, -0.3, 0.1])


CASES = []
for _mode in ("full", "same", "valid"):
    for _method in ("direct", "fft", "auto"):
        CASES.append(Case("convolve", lambda m, x, y, mo=_mode, me=_method: m.convolve(x, y, mo, me),
                          (normal(7), normal(3)), id=f"convolve-1d-{_mode}-{_method}",
                          order3=(_mode, _method) == ("same", "direct")))
        CASES.append(Case("correlate", lambda m, x, y, mo=_mode, me=_method: m.correlate(x, y, mo, me),
                          (normal(3), normal(6)), id=f"correlate-1d-smaller-first-{_mode}-{_method}"))
    CASES.append(Case("convolve", lambda m, x, y, mo=_mode: m.convolve(x, y, mo), (normal(2, 3), normal(4, 5)),
                      id=f"convolve-2d-{_mode}"))
    CASES.append(Case("correlate", lambda m, x, y, mo=_mode: m.correlate(x, y, mo), (normal(4, 3, 2), normal(2, 2, 1)),
                      id=f"correlate-3d-{_mode}", order3=_mode == "valid"))
    CASES.append(Case("correlate", lambda m, x, y, mo=_mode: m.correlate(x, y, mo), (cnormal(5), cnormal(3)),
                      id=f"correlate-complex-{_mode}"))
    CASES.append(Case("fftconvolve", lambda m, x, y, mo=_mode: m.fftconvolve(x, y, mo), (normal(4, 5), normal(2, 3)),
                      id=f"fftconvolve-{_mode}"))
    CASES.append(Case("fftconvolve", lambda m, x, y, mo=_mode: m.fftconvolve(x, y, mo, axes=-1),
                      (normal(3, 6), normal(1, 4)), id=f"fftconvolve-axes-broadcast-{_mode}"))
CASES += [
    Case("convolve", lambda m, x, y: m.convolve(x, y), (normal(1), normal(4)), id="convolve-size-1"),
    Case("convolve", lambda m, x, y: m.convolve(x, y, "same"), (cnormal(4), normal(3)), id="convolve-complex-real"),
    Case("lfilter", lambda m, b, a, x: m.lfilter(b, a, x), (B3, A3, normal(9)), order3=True),
    Case("lfilter", lambda m, b, a, x: m.lfilter(b, a, x, axis=-2), (normal(2), np.array([1.0, -0.4, 0.2, 0.05]),
         normal(6, 3)), id="lfilter-axis-negative"),
    Case("lfilter", lambda m, b, a, x: m.lfilter(b, a, x, axis=0), (normal(4), np.array([2.0]), normal(5, 2)),
         id="lfilter-fir"),
    Case("lfilter", lambda m, b, a, x: m.lfilter(b, a, x), (B3, A3, normal(1)), id="lfilter-one-sample"),
    Case("lfilter", lambda m, b, a, x: m.lfilter(b, a, x), (B3, A3, cnormal(2, 5)), id="lfilter-complex-x"),
]


def _ours(case):
    return lambda *a: case.call(PS, *a)


for _c in CASES:   # scipy.signal's functions are not ufuncs: no dispatch to check
    _c.dispatch = False
FAMILY = Family(ss, PS, exact=False, rtol=1e-12, atol=1e-12, plain_exact=True)
(test_value_matches_scipy, test_traced_primal_output_matches_scipy, test_derivatives_to_second_order,
 test_derivatives_to_third_order, _dispatch_not_applicable, test_vmap_of_each_case_equals_the_loop) = \
    family_tests(FAMILY, CASES)


def test_every_public_name_has_a_case():
    assert set(PS.__all__) == {c.name for c in CASES}


def test_lfilter_gradients_in_the_coefficients_match_finite_differences_of_scipy():
    b, a, x = B3, A3, normal(20)
    u = normal(20)
    gb, ga = pb.grad(lambda b, a: pnp.sum(PS.lfilter(b, a, x) * u), argnums=(0, 1))(b, a)
    eps = 1e-6
    for k in range(3):
        e = np.eye(3)[k] * eps
        fd_b = (ss.lfilter(b + e, a, x) - ss.lfilter(b - e, a, x)) @ u / (2 * eps)
        fd_a = (ss.lfilter(b, a + e, x) - ss.lfilter(b, a - e, x)) @ u / (2 * eps)
        np.testing.assert_allclose([gb[k], ga[k]], [fd_b, fd_a], rtol=1e-7)


def test_convolution_gradient_is_a_correlation():
    x, k = normal(8), normal(3)
    g = pb.grad(lambda k: pnp.sum(PS.convolve(x, k, "valid") * np.arange(6.0)))(k)
    np.testing.assert_allclose(g, np.convolve(np.arange(6.0)[::-1], x, "valid")[::-1], rtol=1e-12)


F32 = {
    "convolve": lambda x: PS.convolve(x, x[:2], "same", "fft"),
    "correlate": lambda x: PS.correlate(x, x[::-1], "valid"),
    "lfilter-x": lambda x: PS.lfilter(B3.astype(np.float32), A3.astype(np.float32), x),
    "lfilter-bax": lambda x: PS.lfilter(x[:2], A3.astype(np.float32) + x[2] / 10, x),
}


@pytest.mark.parametrize("f", list(F32.values()), ids=list(F32))
def test_float32_is_kept(f):
    x = normal(6).astype(np.float32)
    out, back = pb.vjp(f, x)
    assert out.dtype == np.float32 and back(np.ones_like(out))[0].dtype == np.float32


TRANSFORMS = [
    ("convolve", lambda x: PS.convolve(x, np.array([1.0, -2.0, 0.5]), "same")),
    ("correlate-fft", lambda x: PS.correlate(x, x, "full", "fft")),
    ("fftconvolve", lambda x: PS.fftconvolve(x, x[::-1], "valid")),
    ("fftconvolve-axes", lambda x: PS.fftconvolve(pnp.reshape(x[:6], (2, 3)), np.ones((1, 2)), "same", axes=-1)),
    ("lfilter", lambda x: PS.lfilter(B3, A3, x)),
    ("lfilter-coefficients", lambda x: PS.lfilter(x[:3], np.concatenate([[1.0], x[3:5] / 5]), x)),
]


@pytest.mark.parametrize("name,f", TRANSFORMS, ids=[n for n, _ in TRANSFORMS])
def test_vmap_equals_the_loop_and_jit_equals_eager(name, f):
    xs = normal(3, 7)
    np.testing.assert_allclose(pb.vmap(f)(xs), np.stack([f(x) for x in xs]), rtol=1e-12, atol=1e-12)
    loss = lambda x: pnp.sum(f(x) ** 2)  # noqa: E731
    g_vmap = pb.grad(lambda xs: pnp.sum(pb.vmap(f)(xs) ** 2))(xs)
    np.testing.assert_allclose(g_vmap, np.stack([pb.grad(loss)(x) for x in xs]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(pb.jit(f)(xs[0]), f(xs[0]), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(pb.jit(pb.grad(loss))(xs[0]), pb.grad(loss)(xs[0]), rtol=1e-10)
    np.testing.assert_allclose(pb.jit(pb.hessian(loss))(xs[0]), pb.hessian(loss)(xs[0]), rtol=1e-8, atol=1e-10)


def test_errors():
    x = normal(5)
    with pytest.raises(UnsupportedFunctionError, match="zi"):
        pb.grad(lambda x: pnp.sum(PS.lfilter(B3, A3, x, zi=np.zeros(2))[0]))(x)
    with pytest.raises(ValueError, match="mode"):
        pb.grad(lambda x: pnp.sum(PS.convolve(x, x, "middle")))(x)
    with pytest.raises(ValueError, match="dimensionality"):
        pb.grad(lambda x: pnp.sum(PS.convolve(x, x[None])))(x)
    with pytest.raises(ValueError, match="valid"):
        pb.grad(lambda x: pnp.sum(PS.convolve(pnp.reshape(x[:4], (2, 2)), np.ones((1, 3)), "valid")))(x)


def test_empty_input_raises_like_scipy():
    with pytest.raises(ValueError, match="empty"):
        pb.grad(lambda x: pnp.sum(PS.convolve(x, np.zeros(0))))(normal(3))
