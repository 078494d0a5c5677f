"""Sparse Jacobians without SciPy (SparseCOO results), the numba colouring kernels (same colours as
the Python loops), and the reusable objects under pb.jit."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback import sparse as S


def tridiagonal_residual(x):
    p = pnp.pad(x, 1)
    return p[2:] - 2 * x + p[:-2] + x ** 3


def chain_energy(x):
    return pnp.sum(x[1:] ** 2 * x[:-1]) + pnp.sum(pnp.exp(x)) + x[0] * pnp.sum(pnp.sin(x))


def stencil_residual(m):
    def f(u):
        u2 = u.reshape(m, m)
        p = pnp.pad(u2, 1)
        return (p[2:, 1:-1] + p[:-2, 1:-1] + p[1:-1, 2:] + p[1:-1, :-2] - 4 * u2 + u2 ** 3).ravel()
    return f


def stencil_pattern(m):
    """The 5-point stencil's pattern as a dense bool array (no SciPy needed)."""
    n = m * m
    p = np.eye(n, dtype=bool)
    i = np.arange(n)
    right = i[(i % m) != m - 1]
    down = i[i < n - m]
    p[right, right + 1] = p[right + 1, right] = True
    p[down, down + m] = p[down + m, down] = True
    return p


@pytest.fixture
def no_scipy(monkeypatch):
    """Make `import scipy` / `import scipy.sparse` fail, as on a machine without SciPy."""
    for name in [m for m in sys.modules if m == "scipy" or m.startswith("scipy.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.sparse", None)
    assert S._scipy_sparse() is None


# ----------------------------------------------------------------------------- without SciPy


def test_results_are_coo_triples_without_scipy(no_scipy):
    x = np.random.default_rng(0).uniform(0.1, 1.0, 12)
    s = pb.jacobian_sparsity(tridiagonal_residual, x)
    assert isinstance(s.pattern, S.SparseCOO) and s.exact and s.nnz == 3 * 12 - 2
    dense = np.asarray(pb.jacfwd(tridiagonal_residual)(x))
    np.testing.assert_array_equal(s.pattern.toarray(), dense != 0)
    for jac in (pb.sparse_jacfwd, pb.sparse_jacrev, pb.sparse_jacobian):
        j = jac(tridiagonal_residual)(x)
        assert isinstance(j, S.SparseCOO) and j.shape == (12, 12) and j.nnz == s.nnz
        np.testing.assert_allclose(j.toarray(), dense, rtol=1e-13, atol=1e-13)
        # sorted by row then column, as documented
        assert np.all(np.diff(j.rows * 12 + j.cols) > 0)
    J = pb.SparseJacobian(tridiagonal_residual, x)
    assert J.ncolors == 3 and isinstance(J.pattern, S.SparseCOO)
    H = pb.SparseHessian(chain_energy, x)
    h = H(x)
    assert isinstance(h, S.SparseCOO)
    np.testing.assert_allclose(h.toarray(), pb.hessian(chain_energy)(x), rtol=1e-12, atol=1e-12)
    assert not ((np.asarray(pb.hessian(chain_energy)(x)) != 0) & ~pb.hessian_sparsity(chain_energy, x)
                .pattern.toarray()).any()


def test_known_patterns_and_colourings_without_scipy(no_scipy):
    m = 6
    p = stencil_pattern(m)
    assert pb.color_columns(p).max() + 1 == 5  # DSATUR's optimum on the 5-point stencil
    tri = np.eye(9, dtype=bool) | np.eye(9, k=1, dtype=bool) | np.eye(9, k=-1, dtype=bool)
    for method in ("dsatur", "largest_first", "smallest_last", "natural"):
        assert pb.color_columns(tri, method).max() + 1 == 3
        assert pb.color_rows(tri, method).max() + 1 == 3
    arrow = np.eye(15, dtype=bool)
    arrow[0, :] = arrow[:, 0] = True
    assert pb.star_coloring(arrow).max() + 1 == 2
    f = stencil_residual(m)
    u = np.random.default_rng(1).standard_normal(m * m)
    rows, cols = np.nonzero(p)
    J = pb.SparseJacobian(f, u, pattern=(rows, cols), mode="fwd")
    assert J.sparsity is None and J.ncolors == 5
    np.testing.assert_allclose(J(u).toarray(), pb.jacfwd(f)(u), rtol=1e-13, atol=1e-13)
    coo = J(u)
    J2 = pb.SparseJacobian(f, u, pattern=coo)  # a SparseCOO is a pattern too
    np.testing.assert_allclose(J2(u).toarray(), coo.toarray(), rtol=0, atol=0)
    with pytest.raises(pb.PullbackError, match="outside"):
        pb.SparseJacobian(f, u, pattern=(rows, cols + 1))


def test_numpy_and_scipy_pattern_cores_agree(monkeypatch):
    sp = pytest.importorskip("scipy.sparse")
    f = stencil_residual(7)
    u = np.zeros(49)
    with_scipy = pb.jacobian_sparsity(f, u).pattern.toarray()
    g_scipy = [S._gram(S._Pat.of(with_scipy), a).toarray() for a in (0, 1)]
    monkeypatch.setattr(S, "_scipy_sparse", lambda: None)
    s = pb.jacobian_sparsity(f, u)
    np.testing.assert_array_equal(s.pattern.toarray(), with_scipy)
    for a, g in zip((0, 1), g_scipy):
        np.testing.assert_array_equal(S._gram(S._Pat.of(with_scipy), a).toarray(), g)
    assert sp is not None


# ----------------------------------------------------------------------------- numba kernels


def _random_patterns():
    rng = np.random.default_rng(7)
    out = [stencil_pattern(9), np.eye(40, dtype=bool) | np.eye(40, k=3, dtype=bool)]
    for density in (0.02, 0.08, 0.3):
        out.append(rng.random((60, 50)) < density)
    arrow = np.eye(30, dtype=bool)
    arrow[0, :] = arrow[:, 0] = True
    out.append(arrow)
    out.append(np.zeros((0, 0), bool))
    return out


def test_numba_kernels_give_the_python_colourings(monkeypatch):
    pytest.importorskip("numba")
    methods = ("dsatur", "largest_first", "smallest_last", "natural")
    cases = _random_patterns()

    def everything():
        res = []
        for p in cases:
            res += [pb.color_columns(p, m) for m in methods] + [pb.color_rows(p, m) for m in methods]
            if p.shape[0] == p.shape[1]:
                res += [pb.star_coloring(p, o) for o in ("largest_first", "smallest_last", "natural")]
        return res

    monkeypatch.setattr(S, "NUMBA_MIN_VERTICES", 10 ** 12)  # Python loops
    python = everything()
    monkeypatch.setattr(S, "NUMBA_MIN_VERTICES", 0)  # compiled loops
    assert S._kernels(1) is not None
    compiled = everything()
    for a, b in zip(python, compiled):
        np.testing.assert_array_equal(a, b)


def test_large_stencil_colours_with_the_compiled_path():
    pytest.importorskip("numba")
    pytest.importorskip("scipy")
    m = 150  # n = 22 500 ≥ NUMBA_MIN_VERTICES
    f = stencil_residual(m)
    u = np.random.default_rng(2).standard_normal(m * m)
    J = pb.SparseJacobian(f, u, mode="fwd")
    assert J.ncolors == 5
    assert S._kernels(m * m) is not None
    v = np.random.default_rng(3).standard_normal(m * m)
    np.testing.assert_allclose(J(u) @ v, pb.jvp(f, (u,), (v,))[1], rtol=1e-12, atol=1e-10)


# ----------------------------------------------------------------------------- under jit


def test_reusable_objects_under_jit():
    x = np.random.default_rng(4).uniform(0.1, 1.0, 10)
    for mode in ("fwd", "rev"):
        J = pb.SparseJacobian(tridiagonal_residual, x, mode=mode)
        jJ = pb.jit(J)
        for seed in range(3):
            y = np.random.default_rng(seed).uniform(0.1, 1.0, 10)
            a = jJ(y)
            assert type(a) is type(J(y))
            np.testing.assert_allclose(a.toarray(), pb.jacfwd(tridiagonal_residual)(y), rtol=1e-13, atol=1e-13)
        assert len(jJ.cache) == 1  # traced once, evaluated three times
    H = pb.SparseHessian(chain_energy, x)
    jH = pb.jit(H)
    np.testing.assert_allclose(jH(x + 0.1).toarray(), pb.hessian(chain_energy)(x + 0.1), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(jH(x).toarray(), H(x).toarray(), rtol=1e-13, atol=1e-13)
    assert len(jH.cache) == 1
    # the entries as an array, inside a larger staged function
    scaled = pb.jit(lambda y: 2.0 * J.values(y) + pnp.sum(y))
    np.testing.assert_allclose(scaled(x), 2.0 * J(x).toarray()[J._rows, J._cols] + x.sum(), rtol=1e-13)
    # the per-shape wrappers too (the pattern is detected from the traced argument's shape)
    jf = pb.jit(pb.sparse_jacfwd(tridiagonal_residual))
    np.testing.assert_allclose(jf(x).toarray(), pb.jacfwd(tridiagonal_residual)(x), rtol=1e-13, atol=1e-13)
    jh = pb.jit(pb.sparse_hessian(chain_energy))
    np.testing.assert_allclose(jh(x).toarray(), pb.hessian(chain_energy)(x), rtol=1e-12, atol=1e-12)


def test_jit_without_scipy_gives_coo(no_scipy):
    x = np.linspace(0.1, 1.0, 8)
    J = pb.SparseJacobian(tridiagonal_residual, x)
    a = pb.jit(J)(x)
    assert isinstance(a, S.SparseCOO)
    np.testing.assert_allclose(a.toarray(), pb.jacfwd(tridiagonal_residual)(x), rtol=1e-13, atol=1e-13)


A_CONST = np.where(np.random.default_rng(5).random((5, 6)) < 0.4, 1.5, 0.0)
DIVERSE = [
    lambda x: pnp.sin(x) * pnp.exp(x[::-1]) + pnp.sqrt(x + 2.0),
    lambda x: x[:, None] * x[None, :3] + x.reshape(6, 1),
    lambda x: pnp.cumsum(x ** 2) + pnp.max(x) * x,
    lambda x: x.at[np.array([1, 4])].set(x[:2] ** 2) + pnp.roll(x, 2),
    lambda x: A_CONST @ pnp.tanh(x) + pnp.sum(x.reshape(2, 3) @ x.reshape(3, 2)),
    lambda x: pnp.concatenate([pnp.sort(x[:3]), pnp.real(pnp.fft.fft(x[3:]))]),
    lambda x: pnp.linalg.solve(pnp.diag(x) + 3.0 * np.eye(6), x[::-1]),
    lambda x: pb.fori_loop(0, 3, lambda i, c: c * 0.5 + pnp.sin(pnp.roll(c, 1)), x),  # a rolled scan
    lambda x: pb.scan(lambda c, a: (c * a, c + a), x[0], x)[1] + pb.cond(x[1] > 0, lambda y: y ** 2, pnp.cos, x),
    lambda x: pb.while_loop(lambda c: c[1] < 2, lambda c: (c[0] * pnp.roll(c[0], 1), c[1] + 1), (x, 0))[0],
]


@pytest.mark.parametrize("k", range(len(DIVERSE)))
def test_numpy_core_detects_the_scipy_core_patterns(k, monkeypatch):
    pytest.importorskip("scipy.sparse")
    f = DIVERSE[k]
    x = np.random.default_rng(k).uniform(0.2, 0.9, 6)
    ref = pb.jacobian_sparsity(f, x)
    ref_h = pb.hessian_sparsity(lambda x: pnp.sum(f(x) ** 2), x)
    monkeypatch.setattr(S, "_scipy_sparse", lambda: None)
    s = pb.jacobian_sparsity(f, x)
    np.testing.assert_array_equal(s.pattern.toarray(), ref.pattern.toarray())
    assert (s.exact, s.conservative) == (ref.exact, ref.conservative)
    h = pb.hessian_sparsity(lambda x: pnp.sum(f(x) ** 2), x)
    np.testing.assert_array_equal(h.pattern.toarray(), ref_h.pattern.toarray())
    for method in ("dsatur", "smallest_last"):
        np.testing.assert_array_equal(pb.color_columns(s.pattern, method), pb.color_columns(ref.pattern, method))
        np.testing.assert_array_equal(pb.color_rows(s.pattern, method), pb.color_rows(ref.pattern, method))


def test_vmap_of_the_object_says_to_use_values():
    x = np.linspace(0.1, 1.0, 6)
    J = pb.SparseJacobian(tridiagonal_residual, x)
    X = np.stack([x, x + 0.1])
    with pytest.raises(pb.PullbackError, match=r"\.values\(x\)"):
        pb.vmap(J)(X)
    vals = pb.vmap(J.values)(X)
    assert vals.shape == (2, J.pattern.nnz)
    np.testing.assert_allclose(vals[1], J(X[1]).toarray()[J._rows, J._cols], rtol=1e-13)
