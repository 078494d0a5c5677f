"""pullback.numpy.fft: NumPy's values (bitwise), and transposes that are exact.

Every transform is linear, so beyond check_grads (finite differences and the dot-product
test, to second order) each reverse rule is compared with the transpose of the matrix
that NumPy's own function applies: built column by column from unit inputs, in real
coordinates, so the test needs nothing from pullback's rules. Cases cover every function,
every norm, real and complex inputs, odd and even lengths, and n / s padding and
truncation.
"""

from __future__ import annotations

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pullback as pb
import pullback.numpy as pnp
from cases import Family, c, family_tests
from pullback.core.ir import ShapeDtype
from pullback.errors import UnsupportedFunctionError
from pullback.primitives import fft as fp
from pullback.testing import check_grads

pytestmark = [
    pytest.mark.filterwarnings("error::RuntimeWarning"),
    pytest.mark.filterwarnings("error::numpy.exceptions.ComplexWarning"),
]

FAST = settings(max_examples=12, deadline=None, derandomize=True)
R = np.random.default_rng(11)
PF = pnp.fft
NORMS = [None, "backward", "ortho", "forward"]


def normal(*shape):
    return R.standard_normal(shape)


def cnormal(*shape):
    return R.standard_normal(shape) + 1j * R.standard_normal(shape)


def _cases():
    cases = []
    for norm in NORMS:
        k = {"norm": norm}
        tag = norm or "default"
        cases += [
            c("fft", lambda m, x, k=k: m.fft(x, **k), cnormal(2, 5), id=f"fft-complex-odd-{tag}"),
            c("fft", lambda m, x, k=k: m.fft(x, axis=0, **k), normal(6, 2), id=f"fft-real-even-axis0-{tag}"),
            c("fft", lambda m, x, k=k: m.fft(x, n=8, **k), cnormal(5), id=f"fft-pad-{tag}"),
            c("fft", lambda m, x, k=k: m.fft(x, n=3, **k), normal(2, 6), id=f"fft-truncate-{tag}"),
            c("ifft", lambda m, x, k=k: m.ifft(x, n=7, axis=-2, **k), cnormal(4, 3), id=f"ifft-pad-{tag}"),
            c("ifft", lambda m, x, k=k: m.ifft(x, **k), normal(6), id=f"ifft-real-{tag}"),
            c("rfft", lambda m, x, k=k: m.rfft(x, **k), normal(3, 6), id=f"rfft-even-{tag}"),
            c("rfft", lambda m, x, k=k: m.rfft(x, axis=0, **k), normal(7, 2), id=f"rfft-odd-{tag}"),
            c("rfft", lambda m, x, k=k: m.rfft(x, n=9, **k), normal(6), id=f"rfft-pad-odd-{tag}"),
            c("rfft", lambda m, x, k=k: m.rfft(x, n=4, **k), normal(7), id=f"rfft-truncate-even-{tag}"),
            c("irfft", lambda m, x, k=k: m.irfft(x, **k), cnormal(2, 4), id=f"irfft-even-{tag}"),
            c("irfft", lambda m, x, k=k: m.irfft(x, n=7, **k), cnormal(4), id=f"irfft-odd-{tag}"),
            c("irfft", lambda m, x, k=k: m.irfft(x, n=12, axis=0, **k), cnormal(3, 2), id=f"irfft-pad-{tag}"),
            c("irfft", lambda m, x, k=k: m.irfft(x, n=5, **k), cnormal(6), id=f"irfft-truncate-{tag}"),
            c("irfft", lambda m, x, k=k: m.irfft(x, **k), normal(5), id=f"irfft-real-input-{tag}"),
            c("hfft", lambda m, x, k=k: m.hfft(x, **k), cnormal(5), id=f"hfft-{tag}"),
            c("hfft", lambda m, x, k=k: m.hfft(x, n=7, **k), cnormal(2, 3), id=f"hfft-odd-pad-{tag}"),
            c("ihfft", lambda m, x, k=k: m.ihfft(x, **k), normal(5), id=f"ihfft-{tag}"),
            c("ihfft", lambda m, x, k=k: m.ihfft(x, n=4, **k), normal(2, 6), id=f"ihfft-truncate-{tag}"),
            c("fftn", lambda m, x, k=k: m.fftn(x, **k), cnormal(3, 4), id=f"fftn-{tag}"),
            c("fftn", lambda m, x, k=k: m.fftn(x, s=(2, 5), axes=(0, 2), **k), normal(3, 2, 4),
                 id=f"fftn-s-axes-{tag}"),
            c("ifftn", lambda m, x, k=k: m.ifftn(x, axes=(-1, 0), **k), cnormal(3, 2, 2), id=f"ifftn-{tag}"),
            c("fft2", lambda m, x, k=k: m.fft2(x, s=(5, 3), **k), cnormal(2, 4, 4), id=f"fft2-{tag}"),
            c("ifft2", lambda m, x, k=k: m.ifft2(x, **k), normal(3, 5), id=f"ifft2-{tag}"),
            c("rfftn", lambda m, x, k=k: m.rfftn(x, **k), normal(3, 5), id=f"rfftn-{tag}"),
            c("rfftn", lambda m, x, k=k: m.rfftn(x, s=(4, 3), axes=(1, 0), **k), normal(3, 5), id=f"rfftn-s-{tag}"),
            c("rfft2", lambda m, x, k=k: m.rfft2(x, s=(4, 6), **k), normal(2, 3, 5), id=f"rfft2-{tag}"),
            c("irfftn", lambda m, x, k=k: m.irfftn(x, **k), cnormal(3, 4), id=f"irfftn-{tag}"),
            c("irfftn", lambda m, x, k=k: m.irfftn(x, s=(2, 5), axes=(0, -1), **k), cnormal(3, 2, 4),
                 id=f"irfftn-s-{tag}"),
            c("irfft2", lambda m, x, k=k: m.irfft2(x, s=(4, 5), **k), cnormal(3, 4), id=f"irfft2-{tag}"),
        ]
    cases += [
        c("fftshift", lambda m, x: m.fftshift(x), cnormal(5, 4)),
        c("fftshift", lambda m, x: m.fftshift(x, axes=-1), normal(3, 5), id="fftshift-axis"),
        c("ifftshift", lambda m, x: m.ifftshift(x, axes=(0,)), normal(5, 4)),
        c("fftfreq", lambda m, d: m.fftfreq(7, d=d), np.array(0.3)),
        c("fftfreq", lambda m, d: m.fftfreq(6, d), np.array(2.0), id="fftfreq-even"),
        c("rfftfreq", lambda m, d: m.rfftfreq(7, d=d), np.array(0.3)),
    ]
    return cases


CASES = _cases()


for _case in CASES:
    _case.order3 = _case.id.endswith("ortho") and _case.name in ("fft", "rfft", "irfft", "hfft", "rfftn")
    _case.dispatch = "freq" not in _case.name

# Values are NumPy's bitwise, plain or traced; numpy.fft on traced values gives pullback's jvp bitwise.
FAMILY = Family(np.fft, PF, exact=True, plain_exact=True, dispatch_jvp_exact=True)
(test_value_matches_numpy_bitwise, test_traced_primal_output_matches_numpy_bitwise, test_derivatives_to_second_order,
 test_derivatives_to_third_order, test_numpy_fft_on_traced_values_reaches_pullback,
 test_vmap_of_each_case_equals_the_loop) = family_tests(FAMILY, CASES)


def _real_coords(z, complex_):
    z = np.asarray(z).ravel()
    return np.concatenate([z.real, z.imag]) if complex_ else z.real


def _numpy_matrix(fn, x):
    """The real matrix of the R-linear map fn (NumPy's own function) at inputs shaped like x."""
    cx = np.iscomplexobj(x)
    cy = np.iscomplexobj(fn(x))
    cols = []
    for k in range(x.size * (2 if cx else 1)):
        e = np.zeros(x.size * (2 if cx else 1))
        e[k] = 1.0
        ex = (e[: x.size] + 1j * e[x.size:] if cx else e).reshape(x.shape).astype(x.dtype)
        cols.append(_real_coords(fn(ex), cy))
    return np.array(cols).T, cx, cy


TRANSFORMS = [c for c in CASES if "freq" not in c.name]


@pytest.mark.parametrize("case", TRANSFORMS, ids=[c.id for c in TRANSFORMS])
def test_reverse_rule_is_the_transpose_of_numpys_linear_map(case):
    """Under ⟨u, v⟩ = Re Σ u·v, the vjp of y = J x is, in real coordinates, x̄ ↔ Jᵀ ū with ū = (Re u, −Im u)."""
    j, cx, cy = _numpy_matrix(lambda x: case.call(np.fft, x), case.args[0])
    y = case.call(np.fft, case.args[0])
    u = cnormal(*y.shape) if cy else normal(*y.shape)
    (g,) = pb.vjp(lambda x: case.call(PF, x), case.args[0])[1](u)
    flip = lambda z, c: np.concatenate([z.real.ravel(), -z.imag.ravel()]) if c else z.real.ravel()  # noqa: E731
    np.testing.assert_allclose(flip(np.asarray(g), cx), j.T @ flip(u, cy), atol=1e-12)
    assert np.asarray(g).dtype == case.args[0].dtype


def test_every_public_name_has_a_case():
    assert {c.name for c in CASES} == set(PF.__all__)


# ============================================================================ known derivatives


@pytest.mark.parametrize("norm, scale", [(None, 1.0), ("ortho", None), ("forward", None)])
def test_parseval_gradient(norm, scale):
    x = normal(6)
    n = x.size
    factor = {None: n, "ortho": 1.0, "forward": 1.0 / n}[norm]
    g = pb.grad(lambda x: pnp.sum(pnp.abs(PF.fft(x, norm=norm)) ** 2))(x)
    np.testing.assert_allclose(g, 2 * factor * x, rtol=1e-12)


def test_irfft_gradient_counts_the_doubled_bins_twice():
    # Σ irfft(d) over samples = d₀ (the mean is the zero bin / n · n), for any n
    for n in (6, 7):
        d = cnormal(n // 2 + 1)
        g = pb.grad(lambda d, n=n: pnp.sum(PF.irfft(d, n=n)))(d)
        np.testing.assert_allclose(g, np.eye(n // 2 + 1)[0], atol=1e-15)
    # the gradient of one sample: weight 1/n for bin 0 (and n/2), 2/n for the others, conjugated phases
    n, j = 8, 3
    d = cnormal(n // 2 + 1)
    g = pb.vjp(lambda d: PF.irfft(d, n=n)[j], d)[1](1.0)[0]
    k = np.arange(n // 2 + 1)
    w = np.where((k == 0) | (k == n // 2), 1.0, 2.0)
    np.testing.assert_allclose(g, w / n * np.exp(2j * np.pi * j * k / n), atol=1e-15)


def test_rfft_gradient_matches_real_part_of_full_fft():
    x = normal(7)
    u = cnormal(4)
    (g,) = pb.vjp(PF.rfft, x)[1](u)
    np.testing.assert_allclose(g, np.real(np.fft.fft(np.concatenate([u, np.zeros(3)]))), atol=1e-12)


def test_fftfreq_derivative_in_the_spacing():
    d = np.array(0.5)
    _, t = pb.jvp(lambda d: PF.fftfreq(5, d), (d,), (np.array(1.0),))
    np.testing.assert_allclose(t, -np.fft.fftfreq(5, 1.0) / 5 / d**2 * 5, rtol=1e-12)


def test_fftshift_and_ifftshift_are_inverse_permutations():
    x = normal(5, 4)
    f = lambda x: PF.ifftshift(PF.fftshift(x))  # noqa: E731
    _, t = pb.jvp(f, (x,), (x,))
    np.testing.assert_array_equal(t, x)
    (g,) = pb.vjp(PF.fftshift, x)[1](x)
    np.testing.assert_array_equal(g, np.fft.ifftshift(x))


# ============================================================================ random shapes


@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5), st.data())
@FAST
def test_one_axis_transforms_on_random_shapes(shape, data):
    nd = len(shape)
    axis = data.draw(st.integers(-nd, nd - 1))
    n = data.draw(st.one_of(st.none(), st.integers(1, 7)))
    norm = data.draw(st.sampled_from(NORMS))
    name = data.draw(st.sampled_from(["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]))
    complex_in = name in ("fft", "ifft", "irfft", "hfft") and data.draw(st.booleans())
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape) + (1j * rng.standard_normal(shape) if complex_in else 0)
    if name in ("irfft", "hfft") and n is None and shape[axis % nd] == 1:
        n = 2  # NumPy's default n = 2(m − 1) is 0 for a single bin
    f = lambda x: getattr(PF, name)(x, n=n, axis=axis, norm=norm)  # noqa: E731
    expected = getattr(np.fft, name)(x, n=n, axis=axis, norm=norm)
    np.testing.assert_array_equal(pb.vjp(f, x)[0], expected)
    check_grads(f, [x], order=1)


@given(hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=4), st.data())
@FAST
def test_n_dimensional_transforms_on_random_axes(shape, data):
    nd = len(shape)
    axes = data.draw(st.lists(st.integers(-nd, nd - 1), min_size=1, max_size=nd, unique_by=lambda a: a % nd))
    s = data.draw(st.one_of(st.none(), st.lists(st.integers(1, 5), min_size=len(axes), max_size=len(axes))))
    name = data.draw(st.sampled_from(["fftn", "ifftn", "rfftn", "irfftn"]))
    x = np.random.default_rng(6).standard_normal(shape)
    if name == "irfftn":
        x = x + 1j
        if s is None and shape[axes[-1] % nd] == 1:
            s = [shape[a] for a in axes[:-1]] + [2]
    f = lambda x: getattr(PF, name)(x, s=s, axes=axes)  # noqa: E731
    np.testing.assert_array_equal(pb.vjp(f, x)[0], getattr(np.fft, name)(x, s=s, axes=axes))
    check_grads(f, [x], order=1)


# ============================================================================ dtypes, staging, primitives, errors


@pytest.mark.parametrize("name", ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "rfftn", "irfftn"])
def test_float32_stays_single_precision(name):
    x = normal(4, 6).astype(np.float32)
    out, vjp_fn = pb.vjp(getattr(PF, name), x)
    assert out.dtype in (np.float32, np.complex64)
    assert out.dtype == getattr(np.fft, name)(x).dtype
    (g,) = vjp_fn(np.ones_like(out))
    assert g.dtype == np.float32


def test_gradients_and_hessians_under_jit_equal_eager():
    f = lambda x: pnp.sum(pnp.abs(PF.rfft(x, n=7, norm="ortho")) ** 4) + pnp.sum(PF.irfft(PF.fft2(x), n=5) ** 3)  # noqa: E731
    x = normal(3, 6)
    np.testing.assert_allclose(pb.jit(pb.grad(f))(x), pb.grad(f)(x), rtol=1e-10)
    np.testing.assert_allclose(pb.jit(pb.hessian(f))(x), pb.hessian(f)(x), rtol=1e-8, atol=1e-10)


PRIMITIVE_CASES = [
    (fp.fft, (cnormal(3, 4),), {"axis": 1, "inverse": False, "norm": "backward"}),
    (fp.fft, (normal(3, 4).astype(np.float32),), {"axis": 0, "inverse": True, "norm": "ortho"}),
    (fp.rfft, (normal(3, 5),), {"axis": 1, "norm": "forward"}),
    (fp.rfft, (normal(6, 2).astype(np.float32),), {"axis": 0, "norm": "backward"}),
    (fp.irfft, (cnormal(3, 4),), {"axis": 1, "n": 7, "norm": "ortho"}),
    (fp.irfft, (cnormal(4, 2).astype(np.complex64),), {"axis": 0, "n": 6, "norm": "backward"}),
]


@pytest.mark.parametrize("prim, args, params", PRIMITIVE_CASES, ids=[f"{p.name}-{i}" for i, (p, _, _) in
                                                                   enumerate(PRIMITIVE_CASES)])
def test_primitive_shape_rule_and_linearity(prim, args, params):
    out = prim.impl(*args, **params)
    shape, dtype = prim.shape(*[ShapeDtype(a.shape, a.dtype) for a in args], **params)
    assert tuple(shape) == out.shape and np.dtype(dtype) == out.dtype
    assert prim.linear
    x1, x2 = args[0], cnormal(*args[0].shape).astype(args[0].dtype) if args[0].dtype.kind == "c" else normal(
        *args[0].shape).astype(args[0].dtype)
    np.testing.assert_allclose(prim(1.5 * x1 - 2 * x2, **params), 1.5 * prim(x1, **params) - 2 * prim(x2, **params),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("f, exc, match", [
    (lambda x: PF.fft(x, n=0), ValueError, "Invalid number of FFT data points"),
    (lambda x: PF.irfft(x, n=-1), ValueError, "Invalid number of FFT data points"),
    (lambda x: PF.fft(x, norm="bogus"), ValueError, "Invalid norm value"),
    (lambda x: PF.fft(x, out=np.empty(4, complex)), UnsupportedFunctionError, "out="),
    (lambda x: PF.fftn(x, s=(2, 3), axes=(0,)), ValueError, "Shape and axes have different lengths"),
    (lambda x: PF.fft(x, axis=1), np.exceptions.AxisError, "axis 1 is out of bounds"),
])
def test_invalid_calls_raise_clearly(f, exc, match):
    with pytest.raises(exc, match=match):
        pb.grad(lambda x: pnp.sum(pnp.abs(f(x))))(normal(4))


@pytest.mark.parametrize("name", ["fft", "ifft", "rfft", "irfft", "fftn", "rfft2", "irfftn", "hfft"])
def test_vmap_equals_the_loop(name):
    x = cnormal(4, 3, 6) if name in ("fft", "ifft", "irfft", "irfftn", "hfft") else normal(4, 3, 6)
    f = lambda x: getattr(PF, name)(x, axis=0) if name in ("fft", "ifft", "rfft", "irfft", "hfft") else (  # noqa: E731
        getattr(PF, name)(x))
    np.testing.assert_array_equal(pb.vmap(f)(x), np.stack([f(xi) for xi in x]))
