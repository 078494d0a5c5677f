"""Sparse Jacobians/Hessians: detected patterns ⊇ true nonzeros (equal for exact rules), colour counts
on known optima, and sparse results equal to the dense jacfwd / hessian."""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp

sp = pytest.importorskip("scipy.sparse")

RNG = np.random.default_rng(0)
A_CONST = np.where(RNG.random((5, 6)) < 0.4, RNG.standard_normal((5, 6)), 0.0)
COND = RNG.random(6) < 0.5
PERM = RNG.permutation(6)

# name, f, input shape, exact expected
FAMILIES = [
    ("elementwise", lambda x: pnp.sin(x) * pnp.exp(x) + pnp.sqrt(x + 2.0), (6,), True),
    ("broadcasting", lambda x: x[:, None] * x[None, :3] + x.reshape(6, 1), (6,), True),
    ("reduction_axis", lambda x: pnp.sum(x ** 2, axis=-1) + pnp.max(x, axis=2), (2, 3, 4), True),
    ("reduction_axis0_keep", lambda x: pnp.prod(x, axis=0, keepdims=True) * x, (3, 4), True),
    ("reshape_transpose", lambda x: pnp.tanh(x.reshape(2, 6).T[::-1]), (3, 4), True),
    ("slicing_stencil", lambda x: x[2:] - 2 * x[1:-1] + x[:-2] + x[1:-1] ** 3, (8,), True),
    ("integer_indexing", lambda x: x[np.array([0, 3, 3, 5])] * x[np.array([1, 1, 2, 0])], (6,), True),
    ("boolean_size0", lambda x: pnp.sum(x[np.zeros(6, bool)]) + x, (6,), True),
    ("scatter_set", lambda x: x.at[np.array([1, 4])].set(x[:2] ** 2), (6,), True),
    ("scatter_add", lambda x: x.at[np.array([0, 0, 2])].add(pnp.cos(x[3:])), (6,), True),
    ("concatenate", lambda x: pnp.concatenate([x[3:] ** 2, pnp.exp(x[:2]), x[:1]]), (6,), True),
    ("matmul_const", lambda x: A_CONST @ pnp.tanh(x), (6,), True),
    ("matmul_var", lambda x: x.reshape(2, 3) @ x.reshape(3, 2), (6,), True),
    ("matvec_batched", lambda x: pnp.sum(x.reshape(2, 1, 3) @ x.reshape(2, 3, 1), axis=-1), (6,), True),
    ("where_const", lambda x: pnp.where(COND, x ** 2, pnp.roll(x, 1)), (6,), True),
    ("where_traced", lambda x: pnp.where(x > 0.5, x[::-1], 0.0), (6,), True),
    ("cumsum", lambda x: pnp.cumsum(x ** 2, axis=-1), (2, 3), True),
    ("take_along_perm", lambda x: pnp.take_along_axis(x, PERM, axis=0) * x, (6,), True),
    ("size1_axis", lambda x: pnp.sum(pnp.exp(x), axis=-2), (1, 5), True),
    ("fori_loop", lambda x: pb.fori_loop(0, 3, lambda i, c: c * 0.5 + pnp.sin(c), x) + x[0], (4,), True),
    ("cond", lambda x: pb.cond(x[0] > 0, lambda y: y ** 2, lambda y: -y, x), (4,), True),
    ("broadcast_to", lambda x: pnp.broadcast_to(x, (2, 4)) * pnp.arange(1.0, 3.0)[:, None], (4,), True),
]


def _dense_nonzeros(f, shape, tries=2):
    mask = 0
    for t in range(tries):
        x = np.random.default_rng(10 + t).uniform(0.2, 0.9, shape)
        j = np.asarray(pb.jacfwd(f)(x)).reshape(-1, x.size)
        mask = mask | (j != 0)
    return mask


@pytest.mark.parametrize("name,f,shape,exact", FAMILIES, ids=[c[0] for c in FAMILIES])
def test_pattern_and_sparse_jacobians(name, f, shape, exact):
    x = np.random.default_rng(1).uniform(0.2, 0.9, shape)
    s = pb.jacobian_sparsity(f, x)
    p = s.pattern.toarray()
    nz = _dense_nonzeros(f, shape)
    assert p.shape == nz.shape
    assert not (nz & ~p).any(), "a nonzero missing from the detected pattern"
    assert s.exact == exact
    if exact and name not in ("where_traced", "matvec_batched"):
        np.testing.assert_array_equal(p, nz)
    dense = np.asarray(pb.jacfwd(f)(x)).reshape(p.shape)
    for jac in (pb.sparse_jacfwd, pb.sparse_jacrev, pb.sparse_jacobian):
        j = jac(f)(x)
        assert sp.issparse(j) and j.format == "csr"
        np.testing.assert_allclose(j.toarray(), dense, rtol=1e-13, atol=1e-13)


def test_conservative_fallback_flags_and_superset():
    def f(x):
        return pnp.linalg.solve(pnp.diag(x) + 3.0 * np.eye(4), x[::-1])

    x = np.linspace(0.1, 0.9, 4)
    s = pb.jacobian_sparsity(f, x)
    assert not s.exact and s.conservative
    assert s.pattern.toarray().all()
    np.testing.assert_allclose(pb.sparse_jacobian(f)(x).toarray(), pb.jacfwd(f)(x), rtol=1e-12, atol=1e-13)


def test_reusable_object_and_known_pattern():
    n = 50

    def f(x):
        return x[2:] - 2 * x[1:-1] + x[:-2] + pnp.exp(x[1:-1])

    x0 = np.zeros(n)
    J = pb.SparseJacobian(f, x0, mode="fwd")
    assert J.ncolors == 3 and J.sparsity.exact
    for seed in range(3):
        x = np.random.default_rng(seed).standard_normal(n)
        np.testing.assert_allclose(J(x).toarray(), pb.jacfwd(f)(x), rtol=1e-13, atol=1e-13)
    p = J.pattern.tocoo()
    J2 = pb.SparseJacobian(f, x0, pattern=(p.row, p.col), mode="rev")
    assert J2.sparsity is None and J2.ncolors == 3
    np.testing.assert_allclose(J2(x).toarray(), pb.jacfwd(f)(x), rtol=1e-13, atol=1e-13)
    with pytest.raises(pb.PullbackError, match="pattern has shape"):
        pb.SparseJacobian(f, x0, pattern=sp.eye(3))
    with pytest.raises(pb.PullbackError, match="mode"):
        pb.SparseJacobian(f, x0, mode="sideways")


# ----------------------------------------------------------------------------- colourings


def _band(n, lo, hi):
    return sp.diags([np.ones(n - abs(k)) for k in range(-lo, hi + 1)], list(range(-lo, hi + 1)), format="csr")


def _stencil(m):
    eye, t = sp.eye(m), _band(m, 1, 1)
    return sp.csr_matrix((sp.kron(eye, t) + sp.kron(t, eye)).astype(bool))


def _block_diag(nb, b):
    return sp.csr_matrix(sp.block_diag([np.ones((b, b))] * nb))


def _arrowhead(n):
    p = sp.lil_matrix((n, n))
    p[0, :] = 1
    p[:, 0] = 1
    p.setdiag(1)
    return sp.csr_matrix(p)


def _valid_columns(p, colors):
    p = sp.csr_matrix(p)
    for i in range(p.shape[0]):
        c = colors[p.indices[p.indptr[i]:p.indptr[i + 1]]]
        assert len(np.unique(c)) == len(c)


@pytest.mark.parametrize("method", ["dsatur", "largest_first", "smallest_last", "natural"])
def test_column_colourings_known_optima(method):
    cases = [(_band(30, 1, 1), 3), (_band(30, 2, 3), 6), (_block_diag(6, 4), 4)]
    for p, best in cases:
        c = pb.color_columns(p, method)
        _valid_columns(p, c)
        assert c.max() + 1 == best
        r = pb.color_rows(p, method)
        _valid_columns(sp.csr_matrix(p.T), r)
        assert r.max() + 1 == best
    st = _stencil(12)
    c = pb.color_columns(st, method)
    _valid_columns(st, c)
    if method == "dsatur":
        assert c.max() + 1 <= 5
    assert c.max() + 1 >= 5  # five columns meet in the middle row of the stencil
    arrow = _arrowhead(12)
    assert pb.color_columns(arrow, method).max() + 1 == 12  # the full row joins every column


def _valid_star(p, colors):
    p = sp.csr_matrix(p + p.T)
    p.setdiag(0)
    p.eliminate_zeros()
    adj = [set(p.indices[p.indptr[i]:p.indptr[i + 1]]) for i in range(p.shape[0])]
    for v in range(len(adj)):
        for w in adj[v]:
            assert colors[v] != colors[w]
            for x in adj[w] - {v}:
                for y in adj[x] - {w}:
                    assert not (colors[v] == colors[x] and colors[w] == colors[y]), "two-coloured P4"


def test_star_colouring():
    for p, best in [(_arrowhead(15), 2), (_band(20, 1, 1), 3), (_block_diag(4, 3), 3)]:
        c = pb.star_coloring(p)
        _valid_star(p, c)
        assert c.max() + 1 == best
    st = _stencil(6)
    c = pb.star_coloring(st)
    _valid_star(st, c)
    assert c.max() + 1 <= 7


def test_sparse_hessian_matches_dense():
    def f(x):
        return pnp.sum(x[1:] ** 2 * x[:-1]) + pnp.sum(pnp.exp(x)) + x[0] * pnp.sum(pnp.sin(x))

    x = np.random.default_rng(3).uniform(0.1, 1.0, 9)
    s = pb.hessian_sparsity(f, x)
    nz = np.asarray(pb.hessian(f)(x)) != 0
    p = s.pattern.toarray()
    assert not (nz & ~p).any()
    H = pb.SparseHessian(f, x)
    assert H.ncolors == 4  # arrowhead plus tridiagonal: the hub, and a path's star chromatic number 3
    np.testing.assert_allclose(H(x).toarray(), pb.hessian(f)(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(pb.sparse_hessian(f)(x + 0.1).toarray(), pb.hessian(f)(x + 0.1), rtol=1e-12,
                               atol=1e-12)


A_SYM = np.diag(np.ones(5)) + np.diag(np.ones(3), 2)
HESSIANS = [
    ("quadratic_form", lambda x: x @ (A_SYM @ x), True),
    ("max_and_chain", lambda x: pnp.max(x ** 2) + pnp.sum(x[1:] * x[:-1]), False),
    ("cumsum_dense", lambda x: pnp.sum(pnp.cumsum(x) ** 2), True),
    ("prod_exp", lambda x: pnp.prod(x[:3]) + pnp.sum(pnp.exp(x[3:])), True),
]


@pytest.mark.parametrize("name,f,equal", HESSIANS, ids=[c[0] for c in HESSIANS])
def test_hessian_patterns(name, f, equal):
    x = np.random.default_rng(5).uniform(0.2, 0.9, 5)
    s = pb.hessian_sparsity(f, x)
    assert s.exact
    h = np.asarray(pb.hessian(f)(x))
    p = s.pattern.toarray()
    assert not ((h != 0) & ~p).any()
    if equal:
        np.testing.assert_array_equal(p, h != 0)
    np.testing.assert_allclose(pb.sparse_hessian(f)(x).toarray(), h, rtol=1e-12, atol=1e-12)


def test_pde_residual_stencil():
    m = 8

    def residual(u):
        u2 = u.reshape(m, m)
        p = pnp.pad(u2, 1)
        lap = p[2:, 1:-1] + p[:-2, 1:-1] + p[1:-1, 2:] + p[1:-1, :-2] - 4 * u2
        return (lap + u2 ** 3).ravel()

    u = np.random.default_rng(4).standard_normal(m * m)
    J = pb.SparseJacobian(residual, u, mode="fwd")
    assert J.sparsity.exact and J.pattern.nnz == 5 * m * m - 4 * m
    assert J.ncolors <= 5
    np.testing.assert_allclose(J(u).toarray(), pb.jacfwd(residual)(u), rtol=1e-13, atol=1e-13)


def test_stencil_hessian_colours_and_values():
    m = 7

    def energy(u):
        u2 = u.reshape(m, m)
        return pnp.sum((u2[1:] - u2[:-1]) ** 2) + pnp.sum((u2[:, 1:] - u2[:, :-1]) ** 2) + pnp.sum(pnp.cos(u2))

    u = np.random.default_rng(6).standard_normal(m * m)
    H = pb.SparseHessian(energy, u)
    assert H.sparsity.exact and H.pattern.nnz == 5 * m * m - 4 * m
    assert H.ncolors <= 5
    np.testing.assert_allclose(H(u).toarray(), pb.hessian(energy)(u), rtol=1e-12, atol=1e-12)
