"""pullback.scipy.linalg: SciPy's values, and derivatives of every order.

One table (CASES) drives the common checks: on plain arrays the function is SciPy's own; on
traced values it agrees with SciPy to rounding; derivatives pass check_grads (central finite
differences and the dot-product test) to second order (third for a sample). Then pinned
derivatives (expm's against scipy's expm_frechet, sqrtm's Sylvester equation), the
one-triangle convention, batches and broadcasting, float32, vmap against a loop, jit against
eager, and the errors for what is not differentiable.
"""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from cases import Case, Family, family_tests
from pullback.errors import PullbackError, UnsupportedFunctionError
from pullback.testing import check_grads

sl = pytest.importorskip("scipy.linalg")
PL = pytest.importorskip("pullback.scipy.linalg")

R = np.random.default_rng(11)


def normal(*shape):
    return R.standard_normal(shape)


def cnormal(*shape):
    return R.standard_normal(shape) + 1j * R.standard_normal(shape)


def wellcond(*shape, complex_=False):
    a = cnormal(*shape) if complex_ else normal(*shape)
    return a + 3.0 * np.eye(shape[-1])


def spd(*shape, complex_=False):
    b = cnormal(*shape) if complex_ else normal(*shape)
    return b @ np.conj(np.swapaxes(b, -1, -2)) / shape[-1] + np.eye(shape[-1])


def leaves(x):
    return [np.asarray(v) for v in pb.tree_util.tree_flatten(x)[0]]


def projector(m, a, b=None, **kw):
    """V exp(Λ) Vᵀ B-style rebuild: independent of the sign (phase) of each eigenvector."""
    w, v = m.eigh(a, b, **kw)
    return (v * np.exp(w)[..., None, :] if m is sl else v * pnp.exp(w)[..., None, :]) @ np.conj(v.T), w


CASES = [
    Case("solve_triangular", lambda m, a, b: m.solve_triangular(a, b, lower=True), (wellcond(3, 3), normal(3, 2)),
         order3=True),
    Case("solve_triangular", lambda m, a, b: m.solve_triangular(a, b, trans="T", unit_diagonal=True),
         (normal(3, 3), normal(3)), id="solve_triangular-T-unit"),
    Case("solve_triangular", lambda m, a, b: m.solve_triangular(a, b, trans=2, lower=True),
         (wellcond(3, 3, complex_=True), cnormal(3, 2)), id="solve_triangular-C-complex"),
    Case("solve_triangular", lambda m, a, b: m.solve_triangular(a, b, trans=1),
         (wellcond(2, 3, 3), normal(2, 3, 1)), id="solve_triangular-batched"),
    Case("cholesky", lambda m, a: m.cholesky(a), (spd(3, 3),), order3=True),
    Case("cholesky", lambda m, a: m.cholesky(a, lower=True), (spd(3, 3, complex_=True),), id="cholesky-lower-complex"),
    Case("cho_factor", lambda m, a: m.cho_factor(a)[0], (spd(3, 3),)),
    Case("cho_factor", lambda m, a: m.cho_factor(a, lower=True)[0], (spd(4, 4),), id="cho_factor-lower"),
    Case("cho_solve", lambda m, a, b: m.cho_solve(m.cho_factor(a), b), (spd(3, 3), normal(3, 2)), order3=True),
    Case("cho_solve", lambda m, a, b: m.cho_solve(m.cho_factor(a, lower=True), b),
         (spd(3, 3, complex_=True), cnormal(3)), id="cho_solve-lower-complex"),
    Case("lu", lambda m, a: tuple(m.lu(a)[1:]), (normal(4, 4),), order3=True),
    Case("lu", lambda m, a: tuple(m.lu(a, permute_l=True)), (normal(3, 3),), id="lu-permute_l"),
    Case("lu", lambda m, a: tuple(m.lu(a)[1:]), (cnormal(3, 3),), id="lu-complex"),
    Case("lu_factor", lambda m, a: m.lu_factor(a)[0], (normal(4, 4),)),
    Case("lu_solve", lambda m, a, b: m.lu_solve(m.lu_factor(a), b), (normal(4, 4), normal(4, 2)), order3=True),
    Case("lu_solve", lambda m, a, b: m.lu_solve(m.lu_factor(a), b, trans=1), (normal(3, 3), normal(3)),
         id="lu_solve-T"),
    Case("lu_solve", lambda m, a, b: m.lu_solve(m.lu_factor(a), b, trans=2), (cnormal(3, 3), cnormal(3, 2)),
         id="lu_solve-C-complex"),
    Case("solve", lambda m, a, b: m.solve(a, b), (wellcond(3, 3), normal(3, 2)), order3=True),
    Case("solve", lambda m, a, b: m.solve(a, b, assume_a="sym"), (normal(3, 3) + 4 * np.eye(3), normal(3)),
         id="solve-sym"),
    Case("solve", lambda m, a, b: m.solve(a, b, assume_a="pos", lower=True), (spd(3, 3), normal(3, 2)),
         id="solve-pos-lower"),
    Case("solve", lambda m, a, b: m.solve(a, b, assume_a="her"), (spd(3, 3, complex_=True), cnormal(3)),
         id="solve-her"),
    Case("solve", lambda m, a, b: m.solve(a, b, transposed=True), (wellcond(3, 3), normal(3)), id="solve-transposed"),
    Case("solve", lambda m, a, b: m.solve(a, b, assume_a="lower triangular"), (wellcond(3, 3), normal(3)),
         id="solve-lower-triangular"),
    Case("solve", lambda m, a, b: m.solve(a, b, assume_a="diagonal"), (wellcond(3, 3), normal(3, 2)),
         id="solve-diagonal"),
    Case("inv", lambda m, a: m.inv(a), (wellcond(3, 3),), order3=True),
    Case("inv", lambda m, a: m.inv(a, assume_a="pos"), (spd(3, 3),), id="inv-pos"),
    Case("det", lambda m, a: m.det(a), (normal(3, 3),), order3=True),
    Case("det", lambda m, a: m.det(a), (normal(2, 3, 3),), id="det-batched"),
    Case("eigh", lambda m, a: projector(m, a), (normal(3, 3),), order3=True),
    Case("eigh", lambda m, a: m.eigh(a, lower=False, eigvals_only=True), (normal(4, 4),), id="eigh-upper-values"),
    Case("eigh", lambda m, a, b: projector(m, a, b), (normal(3, 3), spd(3, 3)), id="eigh-generalized", order3=True),
    Case("eigh", lambda m, a, b: projector(m, a, b, type=2), (normal(3, 3), spd(3, 3)), id="eigh-generalized-type2"),
    Case("eigh", lambda m, a, b: projector(m, a, b, type=3, lower=False), (normal(3, 3), spd(3, 3)),
         id="eigh-generalized-type3-upper"),
    Case("eigh", lambda m, a, b: m.eigh(a, b, eigvals_only=True, subset_by_index=[1, 2]),
         (normal(4, 4), spd(4, 4)), id="eigh-subset_by_index"),
    Case("expm", lambda m, a: m.expm(a), (normal(3, 3),), order3=True),
    Case("expm", lambda m, a: m.expm(a), (normal(2, 3, 3) / 2,), id="expm-batched"),
    Case("expm", lambda m, a: m.expm(a), (cnormal(3, 3) / 2,), id="expm-complex"),
    Case("expm_frechet", lambda m, a, e: m.expm_frechet(a, e), (normal(3, 3), normal(3, 3)), order3=True),
    Case("expm_frechet", lambda m, a, e: m.expm_frechet(a, e, compute_expm=False), (normal(3, 3), normal(3, 3)),
         id="expm_frechet-only"),
    Case("sqrtm", lambda m, a: m.sqrtm(a), (spd(3, 3),), order3=True),
    Case("sqrtm", lambda m, a: m.sqrtm(a), (wellcond(3, 3),), id="sqrtm-nonsymmetric"),
    Case("sqrtm", lambda m, a: m.sqrtm(a), (spd(3, 3, complex_=True),), id="sqrtm-complex"),
    Case("logm", lambda m, a: m.logm(a), (spd(3, 3),), order3=True),
    Case("logm", lambda m, a: m.logm(a), (wellcond(3, 3),), id="logm-nonsymmetric"),
    Case("solve_sylvester", lambda m, a, b, q: m.solve_sylvester(a, b, q),
         (wellcond(3, 3), wellcond(2, 2), normal(3, 2)), order3=True),
    Case("solve_sylvester", lambda m, a, b, q: m.solve_sylvester(a, b, q),
         (wellcond(3, 3, complex_=True), wellcond(2, 2), cnormal(3, 2)), id="solve_sylvester-complex"),
    Case("solve_continuous_lyapunov", lambda m, a, q: m.solve_continuous_lyapunov(a, q),
         (wellcond(3, 3), normal(3, 3)), order3=True),
    Case("block_diag", lambda m, *a: m.block_diag(*a), (normal(2, 3), normal(3), normal(), normal(0, 2))),
    Case("toeplitz", lambda m, c, r: m.toeplitz(c, r), (normal(3), normal(4))),
    Case("toeplitz", lambda m, c: m.toeplitz(c), (cnormal(3),), id="toeplitz-hermitian"),
    Case("circulant", lambda m, c: m.circulant(c), (normal(4),)),
    Case("circulant", lambda m, c: m.circulant(c), (normal(1),), id="circulant-1"),
]


def _ours(case):
    return lambda *a: case.call(PL, *a)


# scipy.linalg's functions are not ufuncs or __array_function__ protocols: no dispatch to check
for _c in CASES:
    _c.dispatch = False
FAMILY = Family(sl, PL, exact=False, rtol=1e-12, atol=1e-12, plain_exact=True)
(test_value_matches_scipy, test_traced_primal_output_matches_scipy, test_derivatives_to_second_order,
 test_derivatives_to_third_order, _dispatch_not_applicable, test_vmap_of_each_case_equals_the_loop) = \
    family_tests(FAMILY, CASES)


def test_every_public_name_has_a_case():
    assert set(PL.__all__) == {c.name for c in CASES}


# ============================================================================ pinned derivatives


def test_expm_jvp_is_scipys_frechet_derivative():
    a, e = normal(4, 4), normal(4, 4)
    _, t = pb.jvp(PL.expm, (a,), (e,))
    np.testing.assert_allclose(t, sl.expm_frechet(a, e, compute_expm=False), rtol=1e-10, atol=1e-12)


def test_sqrtm_jvp_solves_the_sylvester_equation():
    a, e = spd(4, 4), normal(4, 4)
    x, t = pb.jvp(PL.sqrtm, (a,), (e,))
    np.testing.assert_allclose(x @ t + t @ x, e, atol=1e-10)


def test_logm_is_the_inverse_of_expm_to_second_order():
    a, e = normal(3, 3) / 3, normal(3, 3)
    f = lambda a: PL.logm(PL.expm(a))  # noqa: E731
    np.testing.assert_allclose(pb.jvp(f, (a,), (e,))[1], e, atol=1e-9)
    second = pb.jvp(lambda a: pb.jvp(f, (a,), (e,))[1], (a,), (e,))[1]
    np.testing.assert_allclose(second, 0, atol=1e-8)


def test_gradient_of_log_det_by_cholesky_is_the_inverse():
    a = spd(4, 4)
    g = pb.grad(lambda a: 2 * pnp.sum(pnp.log(pnp.diagonal(PL.cholesky(a, lower=True)))))(a)
    # the lower triangle is read: off-diagonal entries stand for themselves and their mirror
    expected = np.tril(2 * np.linalg.inv(a), -1) + np.diag(np.diag(np.linalg.inv(a)))
    np.testing.assert_allclose(g, expected, rtol=1e-10)


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gp_fast_paths_give_the_general_rules_gradient(lower, dtype, monkeypatch):
    """cho_solve of a factor made here (rules in A) and the Cholesky rule for a diagonal cotangent
    (triangular inverse + lauum, both signs of the weights) against the general rules."""
    from pullback.scipy import _linalg_primitives as lp
    a = spd(40, 40).astype(dtype)
    b, c = normal(40, 2).astype(dtype), np.linspace(-1.0, 2.0, 40).astype(dtype)

    def loss(a):
        low = PL.cholesky(a, lower=lower)
        d = pnp.diagonal(low)
        quad = pnp.sum(PL.cho_solve(PL.cho_factor(a, lower=lower), b) * b)
        return quad + pnp.sum(pnp.log(d)) + pnp.sum(c * d)   # c ∘ d: weights of both signs

    hits = []
    diagonal_rule = lp._diagonal_cotangent_vjp
    monkeypatch.setattr(lp, "_diagonal_cotangent_vjp", lambda *x: hits.append(1) or diagonal_rule(*x))
    fast = pb.grad(loss)(a)
    assert hits and fast.dtype == dtype
    graph = pb.make_graph(lambda a: PL.cho_solve(PL.cho_factor(a, lower=lower), b), a)
    assert "cho_solve_in_a" in [e.prim.name for e in graph.eqns]   # the solve in A, not two triangular ones
    monkeypatch.setattr(lp, "_diagonal_cotangent_vjp", lambda *x: None)
    monkeypatch.setattr(PL, "_factored_matrix", lambda *x: None)
    general = pb.grad(loss)(a)
    np.testing.assert_allclose(fast, general, rtol=1e-10 if dtype == np.float64 else 2e-4,
                               atol=1e-12 if dtype == np.float64 else 1e-5)


def test_cho_solve_of_a_foreign_factor_still_differentiates_through_the_factor():
    """A factor not made by this module's cholesky (here: passed in) takes the triangular solves."""
    a, b = spd(4, 4), normal(4)
    low = np.linalg.cholesky(a)
    g = pb.grad(lambda lo: pnp.sum(PL.cho_solve((lo, True), b)))(low)
    eps, fd = 1e-6, np.zeros_like(low)
    for i, j in zip(*np.tril_indices(4)):
        e = np.zeros_like(low)
        e[i, j] = eps
        fd[i, j] = (np.sum(sl.cho_solve((low + e, True), b)) - np.sum(sl.cho_solve((low - e, True), b))) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


def test_generalized_eigenvalue_gradient_is_v_a_v_minus_lambda_v_b_v():
    a, b = spd(3, 3), spd(3, 3)
    w, v = sl.eigh(a, b)
    ga, gb = pb.grad(lambda a, b: PL.eigh(pnp.tril(a) + pnp.tril(a, -1).T, pnp.tril(b) + pnp.tril(b, -1).T,
                                          eigvals_only=True)[2], argnums=(0, 1))(a, b)
    vv = np.outer(v[:, 2], v[:, 2])
    sym = lambda g: np.tril(g + g.T, -1) + np.diag(np.diag(g))  # noqa: E731  (gradient seen through tril)
    np.testing.assert_allclose(ga, sym(vv), rtol=1e-8)
    np.testing.assert_allclose(gb, sym(-w[2] * vv), rtol=1e-8)


def test_one_triangle_convention_gives_zero_gradient_to_the_unread_triangle():
    a, b = spd(4, 4), normal(4, 2)
    for f, unread in [
        (lambda a: pnp.sum(PL.cholesky(a) ** 2), np.tril(np.ones((4, 4)), -1)),
        (lambda a: pnp.sum(PL.solve_triangular(a, b, lower=True) ** 2), np.triu(np.ones((4, 4)), 1)),
        (lambda a: pnp.sum(PL.solve_triangular(a, b, unit_diagonal=True) ** 2), np.tril(np.ones((4, 4)))),
        (lambda a: pnp.sum(PL.cho_solve(PL.cho_factor(a), b) ** 2), np.tril(np.ones((4, 4)), -1)),
        (lambda a: pnp.sum(PL.solve(a, b, assume_a="pos", lower=True) ** 2), np.triu(np.ones((4, 4)), 1)),
        (lambda a: pnp.sum(PL.eigh(a, eigvals_only=True) ** 3), np.triu(np.ones((4, 4)), 1)),
    ]:
        g = pb.grad(f)(a)
        assert np.all(g[unread == 1] == 0)
        assert np.any(g[unread == 0] != 0)


def test_lu_permutation_carries_no_derivative():
    a = normal(4, 4)
    p, low, up = PL.lu(a)
    dp = pb.jvp(lambda a: PL.lu(a)[0], (a,), (normal(4, 4),))[1]
    np.testing.assert_array_equal(dp, 0)
    _, t = pb.jvp(lambda a: PL.lu(a), (a,), (np.eye(4),))
    np.testing.assert_allclose(p @ (t[1] @ up + low @ t[2]), np.eye(4), atol=1e-12)  # d(P L U) = dA
    np.testing.assert_array_equal(pb.jit(lambda a: PL.lu_factor(a)[1])(a), sl.lu_factor(a)[1])
    perm = pb.jvp(lambda a: PL.lu(a, p_indices=True)[0], (a,), (a,))[0]
    np.testing.assert_array_equal(perm, sl.lu(a, p_indices=True)[0])


# ============================================================================ batches, dtypes, transformations


def test_batched_solve_triangular_broadcasts_like_scipy():
    a, b = wellcond(2, 1, 3, 3), normal(4, 3, 2)
    f = lambda a, b: PL.solve_triangular(a, b, lower=True)  # noqa: E731
    np.testing.assert_allclose(pb.vjp(f, a, b)[0], sl.solve_triangular(a, b, lower=True), rtol=1e-12)
    check_grads(f, (a, b), order=1)


def test_size_one_matrices():
    a, b = np.array([[2.0]]), np.array([[3.0]])
    for f, args in [(PL.expm, (a,)), (PL.sqrtm, (a,)), (PL.logm, (a,)), (PL.inv, (a,)),
                    (lambda a: PL.lu(a)[2], (a,)), (PL.solve_sylvester, (a, a, b)), (PL.cholesky, (a,))]:
        check_grads(f, args, order=2)
    np.testing.assert_allclose(pb.grad(lambda a: PL.expm(a)[0, 0])(a), np.exp(a))


FLOAT32 = [
    ("solve_triangular", lambda a: PL.solve_triangular(a, a[:, :1], lower=True)),
    ("cholesky", lambda a: PL.cholesky(a)),
    ("lu", lambda a: PL.lu(a)[2]),
    ("expm", PL.expm),
    ("sqrtm", PL.sqrtm),
    ("logm", PL.logm),
    ("solve_sylvester", lambda a: PL.solve_sylvester(a, a, a)),
    ("eigh", lambda a: PL.eigh(a)[1]),
]


@pytest.mark.filterwarnings("ignore:logm result may be inaccurate")
@pytest.mark.parametrize("name,f", FLOAT32, ids=[n for n, _ in FLOAT32])
def test_float32_is_kept(name, f):
    a = spd(3, 3).astype(np.float32)
    out, back = pb.vjp(f, a)
    assert out.dtype == np.float32
    assert back(np.ones_like(out))[0].dtype == np.float32


def _loop(f, xs):
    return np.stack([np.asarray(f(x)) for x in xs])


VMAP = [
    ("solve_triangular", lambda a: PL.solve_triangular(a, a[..., 0], lower=True)),
    ("cho_solve", lambda a: PL.cho_solve(PL.cho_factor(a), a[..., 0])),
    ("lu_solve", lambda a: PL.lu_solve(PL.lu_factor(a), a[..., 0])),
    ("expm", PL.expm),
    ("sqrtm", PL.sqrtm),
    ("logm", PL.logm),
    ("solve_continuous_lyapunov", lambda a: PL.solve_continuous_lyapunov(a, np.eye(3))),
    ("eigh-generalized", lambda a: PL.eigh(a, np.eye(3) + a @ a.T / 9, eigvals_only=True)),
    ("toeplitz", lambda a: PL.toeplitz(a[0], a[1])),
]


@pytest.mark.parametrize("name,f", VMAP, ids=[n for n, _ in VMAP])
def test_vmap_equals_the_loop(name, f):
    xs = np.stack([spd(3, 3) for _ in range(3)])
    np.testing.assert_allclose(pb.vmap(f)(xs), _loop(f, xs), rtol=1e-10, atol=1e-12)
    g = pb.grad(lambda x: pnp.sum(pb.vmap(f)(x) ** 2))(xs)
    np.testing.assert_allclose(g, np.stack([pb.grad(lambda x: pnp.sum(f(x) ** 2))(x) for x in xs]), rtol=1e-9)


JIT = [
    ("cho_solve", lambda a: pnp.sum(PL.cho_solve(PL.cho_factor(a), a[:, 0]) ** 2)),
    ("lu_solve", lambda a: pnp.sum(PL.lu_solve(PL.lu_factor(a), a[:, 0], trans=1) ** 2)),
    ("expm", lambda a: pnp.sum(PL.expm(a) ** 2)),
    ("sqrtm-logm", lambda a: pnp.sum(PL.sqrtm(a) * PL.logm(a))),
    ("eigh-generalized", lambda a: PL.eigh(a, np.eye(3) + a / 9, eigvals_only=True)[0]),
    ("det-inv", lambda a: PL.det(a) * pnp.sum(PL.inv(a, assume_a="pos"))),
]


@pytest.mark.parametrize("name,f", JIT, ids=[n for n, _ in JIT])
def test_jit_equals_eager(name, f):
    a = spd(3, 3)
    np.testing.assert_allclose(pb.jit(f)(a), f(a), rtol=1e-12)
    np.testing.assert_allclose(pb.jit(pb.grad(f))(a), pb.grad(f)(a), rtol=1e-10)
    np.testing.assert_allclose(pb.jit(pb.hessian(f))(a), pb.hessian(f)(a), rtol=1e-8, atol=1e-10)


# ============================================================================ errors


def test_unsupported_arguments_raise_clear_errors():
    a = normal(3, 4)
    with pytest.raises(UnsupportedFunctionError, match="square"):
        pb.grad(lambda a: pnp.sum(PL.lu(a)[1]))(a)
    s = spd(3, 3)
    with pytest.raises(UnsupportedFunctionError, match="subset_by_value"):
        pb.grad(lambda a: pnp.sum(PL.eigh(a, subset_by_value=(0, 1))[0]))(s)
    with pytest.raises(UnsupportedFunctionError, match="not real"):
        pb.grad(lambda a: pnp.sum(PL.sqrtm(a)))(-s)
    with pytest.raises(UnsupportedFunctionError, match="not real"):
        pb.grad(lambda a: pnp.sum(PL.logm(a)))(-s)
    with pytest.raises(UnsupportedFunctionError, match="assume_a"):
        pb.grad(lambda a: pnp.sum(PL.solve(a, a, assume_a="banded")))(s)
    with pytest.raises(PullbackError, match="disp"):
        pb.grad(lambda a: pnp.sum(PL.sqrtm(a, disp=False)))(s)
    # the complex route works where the real root does not exist (off the branch cut)
    check_grads(PL.sqrtm, (-s + 0.5j * np.eye(3),), order=1)


BATCHED = [
    ("solve_triangular", lambda m, a, s: m.solve_triangular(a, s, lower=True)),
    ("cholesky", lambda m, a, s: m.cholesky(s)),
    ("lu", lambda m, a, s: tuple(m.lu(a))),
    ("solve", lambda m, a, s: m.solve(s, a, assume_a="pos")),
    ("inv", lambda m, a, s: m.inv(s, assume_a="pos")),
    ("det", lambda m, a, s: m.det(a)),
    ("expm", lambda m, a, s: m.expm(a / 3)),
    ("sqrtm", lambda m, a, s: m.sqrtm(s)),
    ("logm", lambda m, a, s: m.logm(s)),
    ("solve_sylvester", lambda m, a, s: m.solve_sylvester(a, s, a)),
    ("solve_continuous_lyapunov", lambda m, a, s: m.solve_continuous_lyapunov(a, s)),
    ("toeplitz", lambda m, a, s: m.toeplitz(a[:, 0], a[:, 1])),
    ("circulant", lambda m, a, s: m.circulant(a[:, 0])),
]


@pytest.mark.parametrize("name,f", BATCHED, ids=[n for n, _ in BATCHED])
def test_stacked_inputs_give_scipys_batched_values_and_derivatives(name, f):
    a, s = wellcond(2, 3, 3), spd(2, 3, 3)
    expected = f(sl, a, s)
    got = pb.vjp(lambda a, s: f(PL, a, s), a, s)[0]
    for g, e in zip(leaves(got), leaves(expected), strict=True):
        assert g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)
    check_grads(lambda a, s: f(PL, a, s), (a, s), order=1)


def test_empty_matrices_behave_like_scipy():
    e = np.zeros((0, 0))
    for f in (PL.expm, PL.sqrtm, PL.cholesky, lambda a: PL.solve_triangular(a, a), PL.inv):
        out, t = pb.jvp(f, (e,), (e,))
        assert out.shape == t.shape == (0, 0)
        assert pb.vjp(f, e)[1](np.zeros((0, 0)))[0].shape == (0, 0)
