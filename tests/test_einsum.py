"""einsum, kron, cross, convolve, correlate and the products (dot, vdot, inner, outer, tensordot).

On traced operands these are compositions (transpose, reshape, gather, matmul): values agree with
NumPy to rounding, derivatives pass check_grads, and the reverse rule of a contraction is the
contraction of the cotangent with the other operands, checked against einsum itself.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pullback as pb
import pullback.numpy as pnp
from pullback.core.trace import Tracer
from pullback.testing import check_grads

pytestmark = [
    pytest.mark.filterwarnings("error::RuntimeWarning"),
    pytest.mark.filterwarnings("error::numpy.exceptions.ComplexWarning"),
]

FAST = settings(max_examples=15, deadline=None, derandomize=True)
R = np.random.default_rng(3)


def n(*shape):
    return R.standard_normal(shape)


def cn(*shape):
    return R.standard_normal(shape) + 1j * R.standard_normal(shape)


def assert_close(actual, expected):
    assert not isinstance(actual, Tracer)
    expected = np.asarray(expected)
    assert np.shape(actual) == expected.shape and np.asarray(actual).dtype == expected.dtype, (
        np.shape(actual), np.asarray(actual).dtype, expected.shape, expected.dtype)
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-13)


# ============================================================================ einsum

EINSUM = [
    ("ij,jk->ik", n(2, 3), n(3, 4)), ("ij,jk", n(2, 3), n(3, 4)), ("ii->i", n(3, 3)), ("ii", n(3, 3)),
    ("iij->j", n(2, 2, 3)), ("iji->j", n(2, 3, 2)), ("ij->ji", n(2, 3)), ("ij->", n(2, 3)), ("i,i", n(3), n(3)),
    ("i,j->ij", n(2), n(3)), ("...ij,...jk->...ik", n(5, 2, 3), n(3, 4)), ("...i,...i", n(2, 1, 3), n(4, 3)),
    ("i...->...", n(2, 3, 4)), ("bij,bjk->bik", n(2, 3, 4), n(2, 4, 5)), ("ij,jk,kl->il", n(2, 3), n(3, 4), n(4, 5)),
    ("ab,bc,cd,de->ae", n(2, 3), n(3, 2), n(2, 4), n(4, 2)), ("ij,jk", n(2, 1), n(3, 4)), ("i,j", n(1), n(3)),
    ("ijk,ikj->i", n(2, 3, 3), n(2, 3, 3)), ("Ba", n(2, 3)), ("ij,ij->ij", n(2, 3), n(2, 3)),
    ("i,i,i->", n(3), n(3), n(3)), (" i j -> j i ", n(2, 3)), ("...", n(2, 3)), ("...,...", n(2, 3), n(3)),
    ("ij,kl->ijkl", n(2, 1), n(1, 2)), ("ii,ii->i", n(3, 3), n(3, 3)), ("i,i->i", n(1), n(3)),
    ("ij,j", n(0, 3), n(3)), ("ij,jk->ik", n(2, 0), n(0, 3)), ("i,i", n(3), n(3).astype(np.float32)),
    ("ij,jk", cn(2, 3), n(3, 2)), ("ij->j", cn(2, 3)), ("", np.float64(2.0)), (",", np.float64(2.0), n()),
]
EINSUM_IDS = [f"{s.strip() or 'empty'}-{i}" for i, (s, *_) in enumerate(EINSUM)]
ORDER3 = {"ij,jk->ik", "ii", "ij,jk,kl->il", "...i,...i"}


@pytest.mark.parametrize("case", EINSUM, ids=EINSUM_IDS)
def test_einsum_values_and_derivatives(case):
    subscripts, *ops = case
    f = functools.partial(pnp.einsum, subscripts)
    expected = np.einsum(subscripts, *ops)
    assert_close(pnp.einsum(subscripts, *ops), expected)
    assert_close(pb.vjp(f, *ops)[0], expected)
    assert_close(pb.jvp(f, tuple(ops), tuple(ops))[0], expected)
    check_grads(f, ops, order=3 if subscripts in ORDER3 else 2)
    assert_close(pb.vjp(functools.partial(np.einsum, subscripts), *ops)[0], expected)  # dispatched


def test_einsum_reverse_rule_is_an_einsum_of_the_cotangent():
    a, b, ct = n(2, 3), n(3, 4), n(2, 4)
    ga, gb = pb.vjp(lambda a, b: pnp.einsum("ij,jk->ik", a, b), a, b)[1](ct)
    np.testing.assert_allclose(ga, np.einsum("ik,jk->ij", ct, b), rtol=1e-13)
    np.testing.assert_allclose(gb, np.einsum("ij,ik->jk", a, ct), rtol=1e-13)
    x, ct = n(3, 3), n(3)
    (gx,) = pb.vjp(lambda x: pnp.einsum("ii->i", x), x)[1](ct)
    np.testing.assert_array_equal(gx, np.diag(ct))
    assert pb.grad(lambda x: pnp.einsum("ii", x))(x).tolist() == np.eye(3).tolist()
    z, w = cn(3), cn(3)
    (gz,) = pb.vjp(lambda z: pnp.einsum("i,i", z, w), z)[1](1.0 + 0j)
    np.testing.assert_allclose(gz, w)  # holomorphic: no conjugation


def test_einsum_sublist_form_and_options():
    x, y = n(2, 3), n(3, 4)
    for args in ((x, [0, 1], [1, 0]), (x, [1, 0]), (x, [Ellipsis, 1], x, [Ellipsis, 1]), (x, [0, 1], y, [1, 2], [0, 2]),
                 (x, [26, 51], [51, 26])):
        ops = [a for a in args if isinstance(a, np.ndarray)]

        def f(*ops, args=args):
            it = iter(ops)
            return pnp.einsum(*[next(it) if isinstance(a, np.ndarray) else a for a in args])

        assert_close(pb.vjp(f, *ops)[0], np.einsum(*args))
        check_grads(f, ops, order=1)
    for optimize in (False, True, "greedy", "optimal"):
        out = pb.vjp(lambda x, y, o=optimize: pnp.einsum("ij,jk,kl->il", x, y, y.T, optimize=o), x, y)[0]
        assert_close(out, np.einsum("ij,jk,kl->il", x, y, y.T))
    out = pb.vjp(lambda x: pnp.einsum("ij->i", x, dtype=np.complex128), x)[0]
    assert_close(out, np.einsum("ij->i", x, dtype=np.complex128))
    out = pb.vjp(lambda x: pnp.einsum("ij->i", x, dtype=np.float32, casting="same_kind"), x)[0]
    np.testing.assert_allclose(out, np.einsum("ij->i", x, dtype=np.float32, casting="same_kind"), rtol=1e-6)
    with pytest.raises(TypeError):
        pb.vjp(lambda x: pnp.einsum("ij->i", x, dtype=np.float32), x)  # NumPy's 'safe' casting refuses
    path = pnp.einsum_path("ij,jk,kl->il", x, y, y.T)
    assert path[0] == np.einsum_path("ij,jk,kl->il", x, y, y.T)[0]
    assert pb.grad(lambda x: (pnp.einsum_path("ij,ji", x, x.T)[0] and pnp.einsum("ij,ij", x, x)))(x).shape == (2, 3)


def test_einsum_float32_stays_float32():
    a, b = n(2, 3).astype(np.float32), n(3).astype(np.float32)
    ga, gb = pb.grad(lambda a, b: pnp.sum(pnp.einsum("ij,j->i", a, b)), argnums=(0, 1))(a, b)
    assert ga.dtype == np.float32 and gb.dtype == np.float32


EINSUM_ERRORS = [
    ("ij,jk", (n(2, 3), n(4, 5))), ("ij", (n(2, 3, 4),)), ("ijk", (n(2, 3),)), ("i,i", (n(3),)),
    ("i", (n(3), n(3))), ("ij->ik", (n(2, 3),)), ("ij->ii", (n(2, 3),)), ("ii", (n(2, 3),)), ("i$", (n(2, 3),)),
    ("...i->i", (n(2, 3),)), ("i->>i", (n(2),)), ("......", (n(2),)),
]


@pytest.mark.parametrize("case", EINSUM_ERRORS, ids=[s for s, _ in EINSUM_ERRORS])
def test_einsum_errors_match_numpy(case):
    subscripts, ops = case
    with pytest.raises(ValueError):
        np.einsum(subscripts, *ops)
    with pytest.raises(ValueError):
        pb.vjp(lambda *o: pnp.einsum(subscripts, *o), *ops)


@st.composite
def einsum_problem(draw):
    letters = "abcd"
    sizes = {c: draw(st.integers(0, 3)) for c in letters}
    n_ops = draw(st.integers(1, 3))
    terms = [draw(st.lists(st.sampled_from(letters), min_size=0, max_size=3)) for _ in range(n_ops)]
    used = sorted({c for t in terms for c in t})
    out = draw(st.lists(st.sampled_from(used), unique=True)) if used else []
    explicit = draw(st.booleans())
    subscripts = ",".join("".join(t) for t in terms) + ("->" + "".join(out) if explicit else "")
    ops = [R.standard_normal([sizes[c] for c in t]) for t in terms]
    return subscripts, ops


@FAST
@given(einsum_problem())
def test_einsum_on_random_subscripts(problem):
    subscripts, ops = problem
    expected = np.einsum(subscripts, *ops)
    f = functools.partial(pnp.einsum, subscripts)
    assert_close(pb.vjp(f, *ops)[0], expected)
    check_grads(f, ops, order=1)


# ============================================================================ kron, cross, convolutions, products

CASES = [
    ("kron", lambda m, a, b: m.kron(a, b), (n(2, 3), n(4, 1)), True),
    ("kron", lambda m, a, b: m.kron(a, b), (n(2), n(3, 2)), False),
    ("kron", lambda m, a, b: m.kron(a, b), (np.float64(2.0), n(3)), False),
    ("kron", lambda m, a, b: m.kron(a, b), (cn(2), n(2, 2)), False),
    ("cross", lambda m, a, b: m.cross(a, b), (n(3), n(3)), True),
    ("cross", lambda m, a, b: m.cross(a, b), (n(4, 3), n(3)), False),
    ("cross", lambda m, a, b: m.cross(a, b, axisa=0, axisb=1, axisc=0), (n(3, 4), n(4, 3)), False),
    ("cross", lambda m, a, b: m.cross(a, b, axis=-2), (n(3, 2), n(3, 2)), False),
    ("cross", lambda m, a, b: m.cross(a, b), (cn(3), n(2, 3)), False),
    ("convolve", lambda m, a, v: m.convolve(a, v), (n(5), n(3)), True),
    ("convolve", lambda m, a, v: m.convolve(a, v, "same"), (n(3), n(6)), False),
    ("convolve", lambda m, a, v: m.convolve(a, v, "valid"), (n(7), n(4)), False),
    ("convolve", lambda m, a, v: m.convolve(a, v, "same"), (cn(4), n(2)), False),
    ("correlate", lambda m, a, v: m.correlate(a, v), (n(5), n(3)), True),
    ("correlate", lambda m, a, v: m.correlate(a, v, "same"), (n(3), n(6)), False),
    ("correlate", lambda m, a, v: m.correlate(a, v, "full"), (n(4), n(4)), False),
    ("correlate", lambda m, a, v: m.correlate(a, v, "valid"), (cn(2), cn(5)), False),
    ("correlate", lambda m, a, v: m.correlate(a, v, "same"), (cn(6), cn(3)), False),
    ("dot", lambda m, a, b: m.dot(a, b), (cn(2, 3), cn(3)), False),
    ("dot", lambda m, a, b: m.dot(a, b), (n(2, 3, 4), n(4)), False),
    ("vdot", lambda m, a, b: m.vdot(a, b), (cn(2, 2), n(4)), False),
    ("inner", lambda m, a, b: m.inner(a, b), (n(2, 3, 4), n(5, 4)), False),
    ("outer", lambda m, a, b: m.outer(a, b), (cn(2), n(2, 2)), False),
    ("tensordot", lambda m, a, b: m.tensordot(a, b, axes=(-1, 0)), (n(2, 3), n(3, 4)), False),
    ("tensordot", lambda m, a, b: m.tensordot(a, b, axes=0), (n(2), cn(2)), False),
    ("vecdot", lambda m, a, b: m.vecdot(a, b), (n(3, 4), n(4)), True),
    ("vecdot", lambda m, a, b: m.vecdot(a, b, axis=0), (cn(3, 2), n(3, 1)), False),
    ("matvec", lambda m, a, b: m.matvec(a, b), (n(2, 3, 4), n(4)), False),
    ("matvec", lambda m, a, b: m.matvec(a, b), (cn(3, 4), n(2, 4)), False),
    ("vecmat", lambda m, a, b: m.vecmat(a, b), (cn(3), n(2, 3, 4)), False),
    ("tensordot", lambda m, a, b: m.tensordot(a, b, axes=([0, -1], [-1, 0])), (n(2, 3, 4), n(4, 5, 2)), False),
]
CASE_IDS = [f"{name}-{i}" for i, (name, *_) in enumerate(CASES)]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_products_values_and_derivatives(case):
    name, call, args, order3 = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # NumPy deprecates 2-vectors in cross
        expected = call(np, *args)
        f = functools.partial(call, pnp)
        assert_close(f(*args), expected)
        assert_close(pb.vjp(f, *args)[0], expected)
        assert_close(pb.jvp(f, args, args)[0], expected)
        check_grads(f, args, order=3 if order3 else 2)
        assert_close(pb.vjp(functools.partial(call, np), *args)[0], expected)  # dispatched


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("lengths", [(5, 3), (3, 5), (4, 4), (1, 3), (4, 1), (6, 4), (4, 6), (1, 1)])
def test_convolve_and_correlate_lengths_and_modes(mode, lengths):
    a, v = n(lengths[0]), n(lengths[1])
    for name in ("convolve", "correlate"):
        f = lambda a, v, name=name: getattr(pnp, name)(a, v, mode)  # noqa: E731
        assert_close(pb.vjp(f, a, v)[0], getattr(np, name)(a, v, mode))
        check_grads(f, [a, v], order=1)


def test_products_known_gradients():
    a, b = n(3), n(3)
    ga, gb = pb.grad(lambda a, b: pnp.sum(pnp.cross(a, b) * np.array([1.0, 0.0, 0.0])), argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga, [0.0, b[2], -b[1]])  # ∂(a1 b2 − a2 b1)/∂a
    np.testing.assert_allclose(gb, [0.0, -a[2], a[1]])
    x, k = n(5), n(3)
    g = pb.grad(lambda x: pnp.convolve(x, k)[2])(x)  # Σ_j x_j k_{2−j}
    np.testing.assert_allclose(g, [k[2], k[1], k[0], 0.0, 0.0])
    A, B = n(2, 2), n(3, 3)
    g = pb.grad(lambda A: pnp.sum(pnp.kron(A, B)))(A)
    np.testing.assert_allclose(g, np.full((2, 2), B.sum()))


def test_convolve_float32_stays_float32():
    a, v = n(5).astype(np.float32), n(3).astype(np.float32)
    g = pb.grad(lambda a: pnp.sum(pnp.convolve(a, v, "same") ** 2))(a)
    assert g.dtype == np.float32


PRODUCT_ERRORS = [
    (lambda m, a: m.cross(a, a[:, :1]), ValueError),
    (lambda m, a: m.cross(a[0, 0], a), ValueError),
    (lambda m, a: m.convolve(a[0], a[0, :0]), ValueError),
    (lambda m, a: m.convolve(a[0, :0], a[0]), ValueError),
    (lambda m, a: m.correlate(a[0], a[0], "middle"), ValueError),
    (lambda m, a: m.tensordot(a, a, axes=([0], [1])), ValueError),
]


@pytest.mark.parametrize("i", range(len(PRODUCT_ERRORS)))
def test_product_errors_match_numpy(i):
    f, exc = PRODUCT_ERRORS[i]
    a = n(2, 3)
    with pytest.raises(exc):
        f(np, a)
    with pytest.raises(exc):
        pb.vjp(functools.partial(f, pnp), a)


def test_cross_with_2d_vectors_warns_like_numpy():
    a, b = n(2), n(3)
    with pytest.warns(DeprecationWarning):
        expected = np.cross(a, b)
    with pytest.warns(DeprecationWarning):
        assert_close(pb.vjp(lambda a: pnp.cross(a, b), a)[0], expected)


TESTED_FUNCTIONS = {"einsum", "einsum_path"} | {name for name, *_ in CASES}


def test_every_function_of_the_family_is_tested_here():
    from pullback.numpy import _einsum

    assert set(_einsum.__all__) <= TESTED_FUNCTIONS


def test_contractions_stage_under_jit():
    x, v = n(3, 4), n(4)

    def f(x, v):
        return pnp.einsum("ij,j,kj->ik", x, v, x) + pnp.convolve(v, x[0], "same")[:3] + pnp.cross(x[:, :3], v[:3])

    loss = lambda x, v: pnp.sum(f(x, v) ** 2)  # noqa: E731
    np.testing.assert_allclose(pb.jit(f)(x, v), pb.vjp(f, x, v)[0], rtol=1e-13)
    for got, want in zip(pb.jit(pb.grad(loss, argnums=(0, 1)))(x, v), pb.grad(loss, argnums=(0, 1))(x, v),
                         strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)
