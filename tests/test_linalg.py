"""pullback.numpy.linalg: NumPy's values, and derivatives of every order.

One table (CASES) drives the common checks: the traced result equals NumPy's (bitwise
where the implementation is NumPy's own call), derivatives pass check_grads (finite
differences and the dot-product test) to second order (third for a sample), and
numpy.linalg's own functions called on traced values reach ours. Functions of a Hermitian
input are also checked on symmetrized perturbations (f(sym(A))); complex eigen- and
singular vectors, defined up to a phase, are checked through phase-free functions of them
and by the dot-product test against forward mode. Then known derivatives, the documented
edge cases (repeated eigenvalues and singular values, norms at 0, singular determinants),
random batch shapes, dtypes, staging and errors.
"""

from __future__ import annotations

import warnings

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pullback as pb
import pullback.numpy as pnp
from cases import Case, Family, family_tests
from cases import assert_same as _assert_same
from pullback.core.ir import ShapeDtype
from pullback.core.primitive import Primitive
from pullback.errors import UnsupportedFunctionError
from pullback.primitives import decompositions as dec
from pullback.primitives import spectral as sp
from pullback.testing import check_grads, check_vjp

pytestmark = [
    pytest.mark.filterwarnings("error::RuntimeWarning"),
    pytest.mark.filterwarnings("error::numpy.exceptions.ComplexWarning"),
]

FAST = settings(max_examples=15, deadline=None, derandomize=True)
R = np.random.default_rng(7)
PL = pnp.linalg


def normal(*shape):
    return R.standard_normal(shape)


def cnormal(*shape):
    return R.standard_normal(shape) + 1j * R.standard_normal(shape)


def wellcond(*shape, complex_=False):
    """Random square matrices with eigenvalues away from 0."""
    a = cnormal(*shape) if complex_ else normal(*shape)
    return a + 2.5 * np.eye(shape[-1])


def spd(*shape, complex_=False):
    b = cnormal(*shape) if complex_ else normal(*shape)
    return b @ np.conj(np.swapaxes(b, -1, -2)) + shape[-1] * np.eye(shape[-1])


def sym(a):
    return (a + np.conj(np.swapaxes(a, -1, -2))) / 2


def psym(a):
    """sym for traced values."""
    return (a + pnp.conj(pnp.swapaxes(a, -1, -2))) / 2 if a.dtype.kind == "c" else (a + pnp.swapaxes(a, -1, -2)) / 2


def leaves(x):
    return [np.asarray(v) for v in pb.tree_util.tree_flatten(x)[0]]


def assert_same(actual, expected, exact=True):
    _assert_same(actual, expected, exact, rtol=1e-12, atol=1e-13)


# Phase-free functions of eigen- and singular vectors (complex vectors are defined up to a phase each).
def eigh_projected(m, a):
    w, v = m.eigh(a)
    return pnp.matmul(v * pnp.exp(w)[..., None, :], pnp.conj(pnp.swapaxes(v, -1, -2))), w


def svd_rebuilt(m, a):
    u, s, vh = m.svd(a, full_matrices=False)
    return pnp.matmul(u * pnp.sin(s)[..., None, :], vh), pnp.abs(u), pnp.abs(vh), s


def eig_rebuilt(m, a):
    w, v = m.eig(a)
    return pnp.matmul(v * pnp.exp(w)[..., None, :], PL.inv(v)), pnp.abs(v), w


CASES = [
    Case("inv", lambda m, a: m.inv(a), (wellcond(2, 3, 3),), order3=True),
    Case("inv", lambda m, a: m.inv(a), (wellcond(3, 3, complex_=True),), id="inv-complex"),
    Case("solve", lambda m, a, b: m.solve(a, b), (wellcond(2, 3, 3), normal(3, 2)), id="solve-matrix", order3=True),
    Case("solve", lambda m, a, b: m.solve(a, b), (wellcond(2, 1, 3, 3), normal(4, 3, 1)), id="solve-broadcast"),
    Case("solve", lambda m, a, b: m.solve(a, b), (wellcond(2, 3, 3), normal(3)), id="solve-vector"),
    Case("solve", lambda m, a, b: m.solve(a, b), (wellcond(3, 3, complex_=True), cnormal(3, 2)), id="solve-complex"),
    Case("solve", lambda m, a, b: m.solve(a, b), (wellcond(3, 3), cnormal(3)), id="solve-real-complex"),
    Case("det", lambda m, a: m.det(a), (normal(2, 3, 3),), order3=True),
    Case("det", lambda m, a: m.det(a), (cnormal(3, 3),), id="det-complex"),
    Case("slogdet", lambda m, a: tuple(m.slogdet(a)), (normal(2, 3, 3),), order3=True),
    Case("slogdet", lambda m, a: tuple(m.slogdet(a)), (cnormal(2, 3, 3),), id="slogdet-complex"),
    Case("cholesky", lambda m, a: m.cholesky(a), (spd(2, 3, 3),), order3=True),
    Case("cholesky", lambda m, a: m.cholesky(a, upper=True), (spd(3, 3),), id="cholesky-upper"),
    Case("cholesky", lambda m, a: m.cholesky(a), (spd(3, 3, complex_=True),), id="cholesky-complex"),
    Case("qr", lambda m, a: tuple(m.qr(a)), (normal(2, 4, 3),), id="qr-tall", order3=True),
    Case("qr", lambda m, a: tuple(m.qr(a)), (normal(3, 3),), id="qr-square"),
    Case("qr", lambda m, a: tuple(m.qr(a)), (normal(2, 3, 5),), id="qr-wide"),
    Case("qr", lambda m, a: tuple(m.qr(a, mode="complete")), (normal(2, 4),), id="qr-complete-wide"),
    Case("qr", lambda m, a: m.qr(a, mode="r"), (normal(4, 3),), id="qr-r"),
    Case("qr", lambda m, a: tuple(m.qr(a)), (cnormal(4, 3),), id="qr-complex"),
    Case("qr", lambda m, a: tuple(m.qr(a)), (cnormal(2, 4),), id="qr-complex-wide"),
    Case("eigh", lambda m, a: tuple(m.eigh(a)), (normal(2, 3, 3),), order3=True),
    Case("eigh", lambda m, a: tuple(m.eigh(a, UPLO="U")), (normal(3, 3),), id="eigh-upper"),
    Case("eigh", eigh_projected, (cnormal(2, 3, 3),), id="eigh-complex-projector"),
    Case("eigvalsh", lambda m, a: m.eigvalsh(a), (normal(2, 4, 4),), order3=True),
    Case("eigvalsh", lambda m, a: m.eigvalsh(a, UPLO="u"), (cnormal(3, 3),), id="eigvalsh-complex-upper"),
    Case("eig", eig_rebuilt, (normal(2, 3, 3),), numpy_value=False, exact=False),
    Case("eig", eig_rebuilt, (cnormal(3, 3),), id="eig-complex"),
    Case("eigvals", lambda m, a: pnp.asarray(m.eigvals(a), dtype=complex), (normal(3, 3),), order3=True),
    Case("svd", lambda m, a: tuple(m.svd(a, full_matrices=False)), (normal(2, 4, 3),), id="svd-tall", order3=True),
    Case("svd", lambda m, a: tuple(m.svd(a)), (normal(3, 3),), id="svd-square"),
    Case("svd", lambda m, a: tuple(m.svd(a, full_matrices=False)), (normal(3, 5),), id="svd-wide"),
    Case("svd", svd_rebuilt, (cnormal(2, 4, 3),), id="svd-complex-tall"),
    Case("svd", svd_rebuilt, (cnormal(3, 5),), id="svd-complex-wide"),
    Case("svd", lambda m, a: m.svd(a, compute_uv=False), (normal(2, 3, 5),), id="svd-values", order3=True),
    Case("svd", lambda m, a: tuple(m.svd(a, hermitian=True)), (spd(3, 3),), id="svd-hermitian"),
    Case("svdvals", lambda m, a: m.svdvals(a), (cnormal(4, 2),)),
    Case("pinv", lambda m, a: m.pinv(a), (normal(2, 4, 3),), order3=True),
    Case("pinv", lambda m, a: m.pinv(a), (cnormal(3, 5),), id="pinv-complex-wide"),
    Case("pinv", lambda m, a: m.pinv(a, hermitian=True), (spd(3, 3),), id="pinv-hermitian"),
    Case("pinv", lambda m, a: m.pinv(a, rtol=1e-3), (normal(3, 3),), id="pinv-rtol"),
    Case("lstsq", lambda m, a, b: m.lstsq(a, b)[:2], (normal(5, 3), normal(5, 2)), order3=True, exact=False),
    Case("lstsq", lambda m, a, b: m.lstsq(a, b)[0], (normal(3, 5), normal(3)), id="lstsq-underdetermined"),
    Case("lstsq", lambda m, a, b: m.lstsq(a, b)[0], (cnormal(5, 3), cnormal(5)), id="lstsq-complex"),
    Case("lstsq", lambda m, a, b: m.lstsq(a, b, rcond=None)[3], (normal(4, 3), normal(4)), id="lstsq-s", exact=False),
    Case("matrix_power", lambda m, a: m.matrix_power(a, 5), (normal(2, 3, 3) / 2,), order3=True),
    Case("matrix_power", lambda m, a: m.matrix_power(a, 3), (normal(3, 3),), id="matrix_power-3"),
    Case("matrix_power", lambda m, a: m.matrix_power(a, -2), (wellcond(2, 3, 3),), id="matrix_power-negative"),
    Case("matrix_power", lambda m, a: m.matrix_power(a, 1), (normal(3, 3),), id="matrix_power-1"),
    Case("multi_dot", lambda m, *a: m.multi_dot(list(a)),
         (normal(3), normal(3, 5), normal(5, 2), normal(2, 4), normal(4)), order3=True),
    Case("multi_dot", lambda m, *a: m.multi_dot(list(a)), (normal(6, 3), normal(3, 5), normal(5, 2)), id="multi_dot-3"),
    Case("multi_dot", lambda m, *a: m.multi_dot(list(a)), (normal(3), normal(3, 2)), id="multi_dot-2"),
    Case("matmul", lambda m, a, b: m.matmul(a, b), (normal(2, 3, 4), normal(4, 2))),
    Case("vecdot", lambda m, a, b: m.vecdot(a, b), (cnormal(2, 3), cnormal(3)), exact=False),
    Case("vecdot", lambda m, a, b: m.vecdot(a, b, axis=0), (normal(3, 2), normal(3, 1)), id="vecdot-axis", exact=False),
    Case("outer", lambda m, a, b: m.outer(a, b), (normal(3), cnormal(2))),
    Case("tensordot", lambda m, a, b: m.tensordot(a, b, axes=1), (normal(2, 3), normal(3, 2))),
    Case("trace", lambda m, a: m.trace(a, offset=1), (normal(2, 3, 4),)),
    Case("diagonal", lambda m, a: m.diagonal(a, offset=-1), (normal(2, 3, 4),)),
    Case("matrix_transpose", lambda m, a: m.matrix_transpose(a), (normal(2, 3, 4),)),
    Case("cross", lambda m, a, b: m.cross(a, b), (normal(2, 3), normal(3))),
    Case("cross", lambda m, a, b: m.cross(a, b, axis=0), (normal(3, 2), cnormal(3, 1)), id="cross-axis"),
    Case("tensorinv", lambda m, a: m.tensorinv(a, ind=1), (wellcond(4, 4).reshape(4, 2, 2),)),
    Case("tensorsolve", lambda m, a, b: m.tensorsolve(a, b), (wellcond(6, 6).reshape(2, 3, 6), normal(2, 3))),
    Case("cond", lambda m, a: m.cond(a), (normal(2, 3, 3),)),
    Case("cond", lambda m, a: m.cond(a, -2), (normal(3, 4),), id="cond-minus2"),
    Case("cond", lambda m, a: m.cond(a, "fro"), (wellcond(3, 3),), id="cond-fro"),
    Case("cond", lambda m, a: m.cond(a, np.inf), (wellcond(3, 3),), id="cond-inf"),
    Case("matrix_norm", lambda m, a: m.matrix_norm(a, ord="nuc", keepdims=True), (normal(2, 3, 4),)),
    Case("vector_norm", lambda m, a: m.vector_norm(a, axis=(0, -1), ord=3, keepdims=True), (normal(2, 3, 4),)),
    Case("vector_norm", lambda m, a: m.vector_norm(a), (cnormal(2, 3),), id="vector_norm-all"),
]
VECTOR_ORDS = [None, 2, 1, -1, np.inf, -np.inf, 0, 3, 0.5, -2.5]
MATRIX_ORDS = [None, "fro", "nuc", 2, -2, 1, -1, np.inf, -np.inf]
for _o in VECTOR_ORDS:
    CASES.append(Case("norm", lambda m, x, o=_o: m.norm(x, o), (normal(5),), id=f"norm-vector-{_o}",
                      order3=_o in (None, 3)))
    CASES.append(Case("norm", lambda m, x, o=_o: m.norm(x, o, axis=-2, keepdims=True), (cnormal(2, 3, 2),),
                      id=f"norm-vector-axis-{_o}"))
for _o in MATRIX_ORDS:
    CASES.append(Case("norm", lambda m, x, o=_o: m.norm(x, o), (normal(3, 4),), id=f"norm-matrix-{_o}",
                      order3=_o in ("nuc", 1)))
    CASES.append(Case("norm", lambda m, x, o=_o: m.norm(x, o, axis=(2, -3), keepdims=True), (cnormal(2, 3, 3),),
                      id=f"norm-matrix-axes-{_o}"))


for _case in CASES:
    _case.dispatch = _case.name not in ("matmul", "tensordot")  # numpy.linalg's are the main namespace's

# On plain arrays pullback.numpy.linalg calls NumPy's function (bitwise); traced values are NumPy's
# bitwise unless a case says otherwise, and NumPy's functions on traced values give pullback's jvp.
FAMILY = Family(np.linalg, PL, exact=True, rtol=1e-12, atol=1e-13, plain_exact=True, dispatch_jvp_exact=True)
(test_value_matches_numpy, test_traced_primal_output_matches_numpy, test_derivatives_to_second_order,
 test_derivatives_to_third_order, test_numpy_linalg_on_traced_values_reaches_pullback,
 test_vmap_of_each_case_equals_the_loop) = family_tests(FAMILY, CASES)


def test_every_public_name_has_a_case():
    covered = {c.name for c in CASES} | {"matrix_rank"}
    assert set(PL.__all__) == covered


# ============================================================================ Hermitian inputs

HERMITIAN = {
    "eigvalsh": lambda a: PL.eigvalsh(a),
    "eigh": lambda a: eigh_projected(PL, a),
    "cholesky": lambda a: PL.cholesky(a),
    "cholesky-upper": lambda a: PL.cholesky(a, upper=True),
    "pinv-hermitian": lambda a: PL.pinv(a, hermitian=True),
    "svd-hermitian": lambda a: PL.svd(a, hermitian=True, compute_uv=False),
}


@pytest.mark.parametrize("complex_", [False, True], ids=["real", "complex"])
@pytest.mark.parametrize("name", sorted(HERMITIAN))
def test_hermitian_input_functions_on_symmetrized_perturbations(name, complex_):
    a = spd(2, 3, 3, complex_=complex_)
    f = HERMITIAN[name]
    check_grads(lambda x: f(psym(x)), [a], order=2)


@pytest.mark.parametrize("name", ["eigvalsh", "eigh", "cholesky"])
def test_triangle_that_numpy_never_reads_gets_zero_gradient(name):
    a = spd(3, 3)
    f = HERMITIAN[name]
    u = [normal(*o.shape) for o in leaves(f(a))]
    g = pb.vjp(f, a)[1](tuple(u) if len(u) > 1 else u[0])[0]
    assert np.all(np.triu(g, 1) == 0) and np.any(np.tril(g, -1) != 0)
    # ... and the gradient of f(sym(A)) is the symmetric part of it
    gs = pb.vjp(lambda x: f(psym(x)), a)[1](tuple(u) if len(u) > 1 else u[0])[0]
    np.testing.assert_allclose(gs, (g + g.T) / 2, rtol=1e-12, atol=1e-12)


def test_eigh_upper_reads_upper_triangle():
    a = normal(3, 3)
    g = pb.grad(lambda x: pnp.sum(PL.eigvalsh(x, UPLO="U") ** 3))(a)
    assert np.all(np.tril(g, -1) == 0)


# ============================================================================ complex vectors: phase-free checks


@pytest.mark.parametrize("name, f, shape", [
    ("eigh", lambda a: tuple(PL.eigh(a)), (3, 3)),
    ("svd-tall", lambda a: tuple(PL.svd(a, full_matrices=False)), (4, 3)),
    ("svd-wide", lambda a: tuple(PL.svd(a, full_matrices=False)), (2, 3, 5)),
    ("eig", lambda a: tuple(PL.eig(a)), (3, 3)),
])
def test_raw_complex_vectors_pass_the_dot_product_test_against_forward_mode(name, f, shape):
    check_vjp(f, [cnormal(*shape)], eps=1e-6, atol=1e-7, rtol=1e-7, rng=np.random.default_rng(0), use_fwd=True)


def test_complex_eigenvector_derivative_keeps_the_documented_phase_gauge():
    a = cnormal(3, 3)
    (w, v), (dw, dv) = pb.jvp(lambda x: tuple(PL.eigh(x)), (a,), (cnormal(3, 3),))
    np.testing.assert_allclose(np.imag(np.sum(np.conj(v) * dv, axis=0)), 0, atol=1e-12)  # Im(vᵢᴴ dvᵢ) = 0


# ============================================================================ known derivatives


def test_det_and_logdet_gradients_are_cofactors_and_inverse_transpose():
    a = wellcond(3, 3)
    inv_t = np.linalg.inv(a).T
    np.testing.assert_allclose(pb.grad(PL.det)(a), np.linalg.det(a) * inv_t, rtol=1e-12)
    np.testing.assert_allclose(pb.grad(lambda x: PL.slogdet(x)[1])(a), inv_t, rtol=1e-12)
    c = cnormal(3, 3)  # holomorphic: vjp with cotangent 1 is d det / dA = det · A⁻ᵀ (no conjugation)
    np.testing.assert_allclose(pb.vjp(PL.det, c)[1](1.0 + 0j)[0], np.linalg.det(c) * np.linalg.inv(c).T, rtol=1e-12)


def test_det_gradient_exists_at_singular_matrices():
    np.testing.assert_allclose(pb.grad(PL.det)(np.array([[1.0, 2.0], [2.0, 4.0]])), [[4.0, -2.0], [-2.0, 1.0]])
    a = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])  # rank 2: adjugate ≠ 0
    cof = [[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(a, i, 0), j, 1)) for j in range(3)] for i in range(3)]
    np.testing.assert_allclose(pb.grad(PL.det)(a), cof, atol=1e-12)
    np.testing.assert_allclose(pb.grad(PL.det)(np.outer([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])), 0, atol=1e-12)  # rank 1
    batch = np.stack([a, wellcond(3, 3)])
    np.testing.assert_allclose(pb.grad(lambda x: pnp.sum(PL.det(x)))(batch)[0], cof, atol=1e-12)


def test_inverse_and_solve_derivatives_are_the_textbook_ones():
    a, da, b = wellcond(3, 3), normal(3, 3), normal(3)
    x = np.linalg.inv(a)
    np.testing.assert_allclose(pb.jvp(PL.inv, (a,), (da,))[1], -x @ da @ x, rtol=1e-12)
    gb = pb.grad(lambda b: pnp.sum(PL.solve(a, b)))(b)
    np.testing.assert_allclose(gb, np.linalg.solve(a.T, np.ones(3)), rtol=1e-12)


def test_eigenvalue_gradients_are_outer_products_of_eigenvectors():
    a = sym(normal(4, 4))
    w, v = np.linalg.eigh(a)
    g = pb.grad(lambda x: PL.eigvalsh(psym(x))[-1])(a)
    np.testing.assert_allclose(g, np.outer(v[:, -1], v[:, -1]), atol=1e-12)
    g = pb.grad(lambda x: PL.eigh(psym(x))[0][0])(a)
    np.testing.assert_allclose(g, np.outer(v[:, 0], v[:, 0]), atol=1e-12)


def test_singular_value_gradients_and_nuclear_norm():
    a = normal(4, 3)
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(pb.grad(lambda x: PL.svdvals(x)[0])(a), np.outer(u[:, 0], vh[0]), atol=1e-12)
    np.testing.assert_allclose(pb.grad(lambda x: PL.norm(x, "nuc"))(a), u @ vh, atol=1e-12)
    np.testing.assert_allclose(pb.grad(lambda x: PL.norm(x, 2))(a), np.outer(u[:, 0], vh[0]), atol=1e-12)


def test_cholesky_of_a_scalar_is_the_square_root():
    g, h = pb.grad(lambda x: PL.cholesky(x)[0, 0]), pb.hessian(lambda x: PL.cholesky(x)[0, 0])
    np.testing.assert_allclose(g(np.array([[4.0]])), [[0.25]])
    np.testing.assert_allclose(h(np.array([[4.0]])), [[[[-1 / 32]]]])


def test_vector_norm_gradients():
    x = np.array([3.0, -4.0, 0.0])
    np.testing.assert_allclose(pb.grad(PL.norm)(x), x / 5)
    np.testing.assert_allclose(pb.grad(lambda x: PL.norm(x, 1))(x), [1.0, -1.0, 0.0])
    np.testing.assert_allclose(pb.grad(lambda x: PL.norm(x, np.inf))(x), [0.0, -1.0, 0.0])
    np.testing.assert_allclose(pb.grad(lambda x: PL.norm(x, np.inf))(np.array([2.0, -2.0])), [0.5, -0.5])  # ties share
    np.testing.assert_allclose(pb.grad(lambda x: PL.norm(x, 3))(x), np.sign(x) * x**2 / 91 ** (2 / 3))
    assert np.all(pb.grad(lambda x: PL.norm(x, 0))(x) == 0)


def test_pinv_of_full_rank_matches_inverse_derivative():
    a, da = wellcond(3, 3), normal(3, 3)
    np.testing.assert_allclose(pb.jvp(PL.pinv, (a,), (da,))[1], pb.jvp(PL.inv, (a,), (da,))[1], atol=1e-10)


def test_lstsq_solution_gradient_equals_normal_equations():
    a, b = normal(6, 3), normal(6)
    f = lambda a, b: pnp.sum(PL.lstsq(a, b)[0] ** 2)  # noqa: E731
    g = lambda a, b: pnp.sum(PL.solve(a.T @ a, a.T @ b) ** 2)  # noqa: E731
    for x, y in zip(pb.grad(f, argnums=(0, 1))(a, b), pb.grad(g, argnums=(0, 1))(a, b), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-9)
    x, resid, rank, s = PL.lstsq(a, b)
    assert rank == 3 and resid.shape == (1,)
    check_grads(lambda a, b: PL.lstsq(a, b)[1], [a, b], order=2)


def test_matrix_power_zero_is_a_constant_identity():
    a = normal(2, 3, 3)
    out, t = pb.jvp(lambda a: PL.matrix_power(a, 0), (a,), (a,))
    np.testing.assert_array_equal(out, np.broadcast_to(np.eye(3), (2, 3, 3)))
    np.testing.assert_array_equal(t, 0)


# ============================================================================ documented edge cases


def test_norm_derivative_at_zero_is_zero():
    z = np.zeros(4)
    for f in (lambda x: PL.norm(x), lambda x: PL.norm(x, 3), lambda x: PL.norm(x.reshape(2, 2), "fro"),
              lambda x: PL.norm(x, axis=0), lambda x: PL.vector_norm(x, ord=4)):
        np.testing.assert_array_equal(pb.grad(f)(z), 0)
        np.testing.assert_array_equal(pb.hessian(f)(z), 0)  # and so are the higher ones, by convention
    for p in (1, 1.5, np.inf):  # p ≥ 1: still 0 (a subgradient); their second derivatives at 0 are infinite
        np.testing.assert_array_equal(pb.grad(lambda x, p=p: PL.norm(x, p))(z), 0)
    g = pb.grad(lambda x: pnp.sum(PL.norm(x, axis=1)))(np.array([[0.0, 0.0], [3.0, 4.0]]))
    np.testing.assert_allclose(g, [[0.0, 0.0], [0.6, 0.8]])


def test_nuclear_and_spectral_norm_at_zero_give_subgradients():
    z = np.zeros((3, 2))
    for ord_, bound in (("nuc", 1.0), (2, 1.0)):
        g = pb.grad(lambda x, o=ord_: PL.norm(x, o))(z)
        assert np.all(np.isfinite(g)) and np.linalg.norm(g, 2) <= bound + 1e-12


def test_repeated_eigenvalues_eigenvalue_functions_stay_finite():
    a = np.diag([1.0, 1.0, 2.0])
    np.testing.assert_allclose(pb.grad(lambda x: pnp.sum(PL.eigvalsh(x) ** 2))(a), 2 * a)
    np.testing.assert_allclose(pb.grad(lambda x: pnp.sum(PL.eigh(x)[0] ** 2))(a), 2 * a)
    _, t = pb.jvp(PL.eigvalsh, (a,), (np.diag([1.0, 1.0, 1.0]),))
    np.testing.assert_allclose(t, [1.0, 1.0, 1.0])


def test_repeated_eigenvalues_eigenvector_derivatives_are_nan_not_silently_wrong():
    a = np.diag([1.0, 1.0, 2.0])
    with pytest.warns(RuntimeWarning):
        g = pb.grad(lambda x: pnp.sum(PL.eigh(x)[1] ** 3))(a)
    assert np.all(np.isnan(g))


def test_repeated_singular_values_singular_value_functions_stay_finite():
    a = np.array([[2.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    np.testing.assert_allclose(pb.grad(lambda x: pnp.sum(PL.svdvals(x)))(a), a / 2)
    with pytest.warns(RuntimeWarning):
        g = pb.grad(lambda x: pnp.sum(PL.svd(x, full_matrices=False)[0]))(a)
    assert np.all(np.isnan(g))


# ============================================================================ random shapes

SQUARE_FUNCTIONS = {
    "inv": lambda m, a: m.inv(a),
    "det": lambda m, a: m.det(a),
    "slogdet": lambda m, a: tuple(m.slogdet(a)),
    "eigvalsh": lambda m, a: m.eigvalsh(a),
    "eigh": lambda m, a: tuple(m.eigh(a)),
    "cholesky": lambda m, a: m.cholesky(a),
    "solve": lambda m, a: m.solve(a, a[..., :1]),
    "matrix_power": lambda m, a: m.matrix_power(a, -3),
}


@given(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=2), st.integers(0, 3),
       st.sampled_from(sorted(SQUARE_FUNCTIONS)))
@FAST
def test_square_matrix_functions_on_random_batch_shapes(batch, n, name):
    a = spd(*batch, n, n)
    f = SQUARE_FUNCTIONS[name]
    expected = f(np.linalg, a)
    out = pb.vjp(lambda x: f(PL, x), a)[0]
    assert_same(out, expected)
    check_grads(lambda x: f(PL, x), [a], order=1)


@given(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=2), st.integers(0, 4), st.integers(0, 4),
       st.sampled_from(["qr", "svd", "svdvals", "pinv"]))
@FAST
def test_rectangular_matrix_functions_on_random_batch_shapes(batch, m, n, name):
    a = normal(*batch, m, n)
    f = {"qr": lambda m_, a: tuple(m_.qr(a)), "svd": lambda m_, a: tuple(m_.svd(a, full_matrices=False)),
         "svdvals": lambda m_, a: m_.svdvals(a), "pinv": lambda m_, a: m_.pinv(a)}[name]
    assert_same(pb.vjp(lambda x: f(PL, x), a)[0], f(np.linalg, a))
    check_grads(lambda x: f(PL, x), [a], order=1)


@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3), st.data())
@FAST
def test_norms_on_random_axes_and_orders(shape, data):
    nd = len(shape)
    matrix = nd >= 2 and data.draw(st.booleans())
    if matrix:
        axis = tuple(data.draw(st.lists(st.integers(-nd, nd - 1), min_size=2, max_size=2, unique_by=lambda a: a % nd)))
        ord_ = data.draw(st.sampled_from(MATRIX_ORDS))
    else:
        axes = st.one_of(st.none(), st.integers(-nd, nd - 1)) if nd == 1 else st.integers(-nd, nd - 1)
        axis = data.draw(axes)
        ord_ = data.draw(st.sampled_from(VECTOR_ORDS))
    keepdims = data.draw(st.booleans())
    x = np.random.default_rng(3).standard_normal(shape)
    f = lambda x: PL.norm(x, ord_, axis=axis, keepdims=keepdims)  # noqa: E731
    assert_same(pb.vjp(f, x)[0], np.linalg.norm(x, ord_, axis=axis, keepdims=keepdims))
    check_grads(f, [x], order=1)


# ============================================================================ dtypes, staging, errors


@pytest.mark.parametrize("name, f", [
    ("inv", PL.inv), ("det", PL.det), ("slogdet", lambda a: PL.slogdet(a)[1]), ("cholesky", PL.cholesky),
    ("eigh", lambda a: PL.eigh(a)[1]), ("eigvalsh", PL.eigvalsh), ("svd", lambda a: PL.svd(a)[0]),
    ("svdvals", PL.svdvals), ("qr", lambda a: PL.qr(a)[1]), ("pinv", PL.pinv), ("norm", PL.norm),
    ("norm-nuc", lambda a: PL.norm(a, "nuc")), ("solve", lambda a: PL.solve(a, a[0])),
    ("eig", lambda a: PL.eig(a)[0]),
])
def test_float32_stays_float32(name, f):
    a = spd(3, 3).astype(np.float32)
    out, vjp_fn = pb.vjp(f, a)
    assert np.asarray(out).dtype in (np.float32, np.complex64)
    (g,) = vjp_fn(np.ones_like(out))
    assert g.dtype == np.float32
    _, t = pb.jvp(f, (a,), (np.ones_like(a),))
    assert np.asarray(t).dtype == np.asarray(out).dtype


def _shape_rule_cases():
    a, c, s = normal(2, 3, 3), cnormal(3, 3), spd(3, 3)
    return [
        (dec.inv, (a,), {}), (dec.inv, (s.astype(np.float32),), {}), (dec.solve, (a, normal(4, 1, 3, 2)), {}),
        (dec.solve, (s.astype(np.float32), c), {}), (dec.det, (a,), {}), (dec.det, (c,), {}),
        (dec.cofactors, (a,), {}), (dec.slogdet, (c,), {}), (dec.slogdet, (s.astype(np.float32),), {}),
        (dec.cholesky, (s,), {"upper": True}), (dec.qr, (normal(2, 4, 3),), {}), (dec.qr, (cnormal(2, 5),), {}),
        (dec.pinv, (normal(4, 3),), {"rcond": None, "hermitian": False, "rtol": None}),
        (dec.lstsq, (normal(4, 3), normal(4)), {"rcond": None}),
        (dec.lstsq, (normal(4, 3), cnormal(4, 0)), {"rcond": 0.1}),
        (dec.matrix_rank, (a,), {"tol": None, "hermitian": False, "rtol": None}),
        (sp.eigh, (c,), {"UPLO": "L"}), (sp.eigvalsh, (s.astype(np.float32),), {"UPLO": "U"}),
        (sp.eig, (a,), {}), (sp.eig, (s.astype(np.float32),), {}), (sp.eigvals, (c,), {}),
        (sp.svd, (normal(2, 3, 5),), {"hermitian": False}), (sp.svdvals, (cnormal(4, 2),), {"hermitian": False}),
    ]


SHAPE_RULE_CASES = _shape_rule_cases()


@pytest.mark.parametrize("prim, args, params", SHAPE_RULE_CASES,
                         ids=[f"{p.name}-{i}" for i, (p, _, _) in enumerate(SHAPE_RULE_CASES)])
def test_shape_rule_agrees_with_implementation(prim, args, params):
    out = prim.impl(*args, **params)
    rule = prim.shape(*[ShapeDtype(np.shape(x), x.dtype) for x in args], **params)
    outs, rules = (out, rule) if prim.multiple_results else ((out,), (rule,))
    for o, (shape, dtype) in zip(outs, rules, strict=True):
        assert tuple(shape) == np.shape(o) and np.dtype(dtype) == np.asarray(o).dtype


def test_every_linalg_primitive_has_a_shape_rule_case():
    from pullback.primitives import elementwise, linalg, reductions, shape

    def prims(*mods):
        return {v.name for mod in mods for v in vars(mod).values() if isinstance(v, Primitive)}

    prims = prims(dec, sp) - prims(elementwise, linalg, reductions, shape)
    assert prims == {p.name for p, _, _ in SHAPE_RULE_CASES}


STAGED = {
    "det": lambda a: PL.det(a) + PL.slogdet(a)[1],
    "eigh": lambda a: pnp.sum(PL.eigh(a)[1] ** 2 * PL.eigh(a)[0][:, None]) + pnp.sum(PL.eigvalsh(a) ** 3),
    "svd-qr-chol": lambda a: pnp.sum(PL.svd(a)[0] ** 3) + pnp.sum(PL.qr(a)[1]) + pnp.sum(PL.cholesky(a)),
    "solve-pinv-norm": lambda a: pnp.sum(PL.solve(a, a[0]) + PL.pinv(a)) + PL.norm(a, "nuc") + PL.norm(a),
}


@pytest.mark.parametrize("name", sorted(STAGED))
def test_gradients_and_hessians_under_jit_equal_eager(name):
    f, a = STAGED[name], spd(3, 3)
    np.testing.assert_allclose(pb.jit(pb.grad(f))(a), pb.grad(f)(a), rtol=1e-10)
    np.testing.assert_allclose(pb.jit(pb.hessian(f))(a), pb.hessian(f)(a), rtol=1e-8, atol=1e-10)


def test_matrix_rank_carries_no_derivative():
    a = normal(2, 3, 3)
    out, t = pb.jvp(lambda a: PL.matrix_rank(a) * 1.0 + pnp.sum(a, axis=(1, 2)), (a,), (np.ones_like(a),))
    np.testing.assert_array_equal(out, np.linalg.matrix_rank(a) + a.sum(axis=(1, 2)))
    np.testing.assert_array_equal(t, 9.0)


@pytest.mark.parametrize("f, exc, match", [
    (lambda a: PL.svd(a), UnsupportedFunctionError, "full_matrices=False"),
    (lambda a: PL.qr(a, mode="complete"), UnsupportedFunctionError, "not unique"),
    (lambda a: PL.qr(a, mode="raw"), UnsupportedFunctionError, "raw"),
    (lambda a: PL.qr(a, mode="bogus"), ValueError, "Unrecognized mode"),
    (lambda a: PL.eigh(a, UPLO="X"), ValueError, "UPLO"),
    (lambda a: PL.inv(a), np.linalg.LinAlgError, "square"),
    (lambda a: PL.norm(a, "bogus"), ValueError, "Invalid norm order"),
    (lambda a: PL.norm(a[0], "fro", axis=0), ValueError, "Invalid norm order 'fro' for vectors"),
    (lambda a: PL.norm(a, axis=(0, 0)), ValueError, "Duplicate axes"),
    (lambda a: PL.matrix_power(a[:3], 1.5), TypeError, "integer"),
])
def test_unsupported_or_invalid_calls_raise_clearly(f, exc, match):
    with pytest.raises(exc, match=match):
        pb.grad(lambda a: pnp.sum(pnp.abs(pb.tree_util.tree_flatten(f(a))[0][0])))(normal(4, 3))


def test_exactly_singular_matrix_second_derivative_of_det_raises_linalg_error():
    with pytest.raises(np.linalg.LinAlgError):
        pb.hessian(PL.det)(np.array([[1.0, 2.0], [2.0, 4.0]]))


def test_no_warning_on_ordinary_inputs():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pb.grad(lambda a: pnp.sum(PL.eigh(a)[1]) + pnp.sum(PL.svd(a)[0]))(spd(3, 3))


# ============================================================================ vmap


def _loop(f, args, in_axes):
    size = next(a.shape[0] for a, ax in zip(args, in_axes, strict=True) if ax is not None)
    outs = [f(*[a[i] if ax is not None else a for a, ax in zip(args, in_axes, strict=True)]) for i in range(size)]
    return pb.tree_util.tree_map(lambda *o: np.stack(o), *outs)


MATMUL_SHAPES = [((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
                 ((2, 3), (5, 3, 4)), ((3,), (5, 3, 2))]


@pytest.mark.parametrize("in_axes", [(0, 0), (0, None), (None, 0)])
@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=[f"{a}@{b}" for a, b in MATMUL_SHAPES])
def test_vmap_of_matmul_has_a_vectorized_rule_equal_to_the_loop(shapes, in_axes):
    from pullback.primitives.linalg import matmul

    args = [normal(*(((4,) if ax == 0 else ()) + s)) for s, ax in zip(shapes, in_axes, strict=True)]
    got = pb.vmap(matmul, in_axes=in_axes)(*args)
    np.testing.assert_allclose(got, _loop(np.matmul, args, in_axes), rtol=1e-13)


VMAPPED = {
    "inv": (PL.inv, (3, 3)), "det": (PL.det, (2, 3, 3)), "slogdet": (lambda a: tuple(PL.slogdet(a)), (3, 3)),
    "eigh": (lambda a: tuple(PL.eigh(a)), (3, 3)), "eigvalsh": (PL.eigvalsh, (3, 3)),
    "svd": (lambda a: tuple(PL.svd(a, full_matrices=False)), (3, 4)), "svdvals": (PL.svdvals, (4, 3)),
    "qr": (lambda a: tuple(PL.qr(a)), (4, 3)), "pinv": (PL.pinv, (3, 4)), "eig": (lambda a: tuple(PL.eig(a)), (3, 3)),
    "eigvals": (PL.eigvals, (3, 3)), "cholesky": (lambda a: PL.cholesky(a @ a.T + 3 * np.eye(3)), (3, 3)),
    "matrix_rank": (PL.matrix_rank, (3, 3)), "solve": (lambda a: PL.solve(a, a[0]), (3, 3)),
    "lstsq": (lambda a: PL.lstsq(a, a[:, 0])[0], (4, 3)),
}


@pytest.mark.parametrize("name", sorted(VMAPPED))
def test_vmap_of_linalg_functions_equals_the_loop(name):
    f, shape = VMAPPED[name]
    a = normal(5, *shape)
    for g, e in zip(leaves(pb.vmap(f)(a)), leaves(_loop(f, [a], (0,))), strict=True):
        assert g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-13)


def test_vmap_of_solve_broadcasts_unbatched_operands():
    a, b = wellcond(3, 3), normal(4, 3, 2)
    np.testing.assert_allclose(pb.vmap(PL.solve, in_axes=(None, 0))(a, b), _loop(PL.solve, [a, b], (None, 0)))
    a, b = wellcond(4, 2, 3, 3), normal(3)
    np.testing.assert_allclose(pb.vmap(PL.solve, in_axes=(0, None))(a, b), _loop(PL.solve, [a, b], (0, None)))


def test_jacobians_and_hessians_through_vmap():
    a = spd(3, 3)
    f = lambda a: pnp.sum(PL.eigvalsh(a) ** 3) + PL.slogdet(a)[1] + pnp.sum(PL.inv(a) @ a[0])  # noqa: E731
    h = pb.hessian(f)(a)
    assert h.shape == (3, 3, 3, 3)
    np.testing.assert_allclose(pb.jacfwd(pb.grad(f))(a), h, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(pb.jacrev(pb.grad(f))(a), h, rtol=1e-9, atol=1e-10)


def test_lstsq_under_jit_and_vmap_computes_the_rank_as_a_value():
    a, b = normal(5, 3), normal(5, 2)
    x, resid, rank, s = pb.jit(PL.lstsq)(a, b)
    for got, expected in zip((x, resid, rank, s), np.linalg.lstsq(a, b), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-10)
    ranks = pb.vmap(lambda a: PL.lstsq(a, a[:, 0])[2])(np.stack([a, np.zeros((5, 3))]))
    np.testing.assert_array_equal(ranks, [3, 0])
