"""Sparsity rules of the indexing primitives with the index as an operand (gather, index_add,
index_set, dynamic_slice, dynamic_update_slice), of scatter_sum and of getitem with integer arrays.

A constant index gives the exact pattern: it equals the nonzeros of the dense Jacobian (jacfwd, at
a few random points). A traced index (an argument of the function) gives a superset flagged as
such, containing the nonzeros for every value of the index; for the windows and index_set it is
exactly the union over every index value."""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback.primitives.dynamic import dynamic_slice, dynamic_update_slice, index_set
from pullback.primitives.gather import gather, index_add
from pullback.primitives.scatter_sum import scatter_sum

pytest.importorskip("scipy.sparse")

RESTS = [(), (1,), (3,), (2, 1)]
SEEDS = range(8)


def _nonzeros(f, z, tries: int = 3) -> np.ndarray:
    """Union of the nonzeros of the dense Jacobian of f at a few random points of z's shape."""
    mask = 0
    for t in range(tries):
        zt = np.random.default_rng(100 + t).uniform(0.2, 0.9, z.shape)
        j = np.asarray(pb.jacfwd(f)(zt))
        mask = mask | (j.reshape(-1, z.size) != 0)
    return mask


def _pattern(f, *args) -> tuple:
    s = pb.jacobian_sparsity(f, *args)
    return s.pattern.toarray()[:, :args[0].size], s


def _check_exact(f, z):
    p, s = _pattern(f, z)
    assert s.exact, s.conservative
    np.testing.assert_array_equal(p, _nonzeros(f, z))


def _check_traced(f_traced, f_const, z, index, all_indices, equal: bool = False):
    p, s = _pattern(f_traced, z, index)
    assert not s.exact and s.conservative
    union = 0
    for i in all_indices:
        nz = _nonzeros(lambda z, i=i: f_const(z, i), z, tries=1)
        assert not (nz & ~p).any(), f"a nonzero missing from the traced-index pattern (index {i})"
        union = union | nz
    if equal:
        np.testing.assert_array_equal(p, union)


def _case(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5))
    rest = RESTS[seed % len(RESTS)]
    return rng, n, rest


@pytest.mark.parametrize("seed", SEEDS)
def test_gather(seed):
    rng, n, rest = _case(seed)
    xs = (n,) + rest
    ishape = [(), (4,), (2, 3)][seed % 3]
    idx = rng.integers(-n, n, ishape)  # negative and repeated entries
    z = np.ones(xs)

    def f(x, i):
        return pnp.sin(gather(pnp.exp(x), i))

    _check_exact(lambda x: f(x, idx), z)
    _check_traced(f, f, z, idx, [np.full(ishape, k) for k in range(n)], equal=True)


@pytest.mark.parametrize("seed", SEEDS)
def test_getitem_integer_arrays(seed):
    rng, n, rest = _case(seed)
    xs = (n,) + rest
    i0 = rng.integers(-n, n, (3,))
    z = np.ones(xs)
    _check_exact(lambda x: pnp.sin(x)[i0], z)  # getitem with a constant integer array
    if rest:
        i1 = rng.integers(-rest[0], rest[0], (3,))
        _check_exact(lambda x: pnp.sin(x)[i0, i1] * x[i0[::-1], i1], z)
        i2 = rng.integers(-rest[-1], rest[-1], (2, 1))
        _check_exact(lambda x: pnp.sin(x)[..., i2], z)
    # x[i] with a traced integer array i stages to gather: a superset over every index value
    _check_traced(lambda x, i: pnp.sin(x)[i], lambda x, i: pnp.sin(x)[i], z, i0,
                  [np.full(3, k) for k in range(n)], equal=True)


@pytest.mark.parametrize("seed", SEEDS)
def test_index_add(seed):
    rng, n, rest = _case(seed)
    xs = (n,) + rest
    ishape = [(4,), (2, 3), ()][seed % 3]
    vs = ishape + rest if seed % 2 else ishape + (1,) * len(rest)  # v broadcast against x[i]
    nx, nv = int(np.prod(xs)), int(np.prod(vs))
    idx = rng.integers(-n, n, ishape)
    z = np.ones(nx + nv)

    def f(z, i):
        x, v = z[:nx].reshape(xs), pnp.exp(z[nx:]).reshape(vs)
        return index_add(x, v, i) * 1.5

    _check_exact(lambda z: f(z, idx), z)
    _check_traced(f, f, z, idx, [np.full(ishape, k) for k in range(n)], equal=True)


@pytest.mark.parametrize("seed", SEEDS)
def test_index_set(seed):
    rng, n, rest = _case(seed)
    xs = (n,) + rest
    vs = rest if seed % 2 else ()
    nx, nv = int(np.prod(xs)), int(np.prod(vs))
    i = np.array(rng.integers(-n, n))
    z = np.ones(nx + nv)

    def f(z, i):
        return pnp.sin(index_set(z[:nx].reshape(xs), pnp.exp(z[nx:]).reshape(vs), i))

    _check_exact(lambda z: f(z, i), z)
    _check_traced(f, f, z, i, [np.array(k) for k in range(-n, n)], equal=True)


def _window_case(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(d) for d in rng.integers(1, 5, 1 + seed % 3))
    axis = int(rng.integers(0, len(shape)))
    m = shape[axis]
    size = int(rng.integers(1, m + 1))
    starts = list(range(0, m - size + 1)) + list(range(-m, -size))  # every start NumPy slices fully
    return rng, shape, axis, size, starts


@pytest.mark.parametrize("seed", SEEDS)
def test_dynamic_slice(seed):
    rng, shape, axis, size, starts = _window_case(seed)
    s = np.array(starts[int(rng.integers(0, len(starts)))])
    z = np.ones(shape)

    def f(x, s):
        return pnp.exp(dynamic_slice(pnp.sin(x), s, axis=axis, size=size))

    _check_exact(lambda x: f(x, s), z)
    _check_traced(f, f, z, s, [np.array(k) for k in starts], equal=True)


@pytest.mark.parametrize("seed", SEEDS)
def test_dynamic_update_slice(seed):
    rng, shape, axis, size, starts = _window_case(seed)
    us = shape[:axis] + (size,) + shape[axis + 1:]
    nx, nu = int(np.prod(shape)), int(np.prod(us))
    s = np.array(starts[int(rng.integers(0, len(starts)))])
    z = np.ones(nx + nu)

    def f(z, s):
        return pnp.sin(dynamic_update_slice(z[:nx].reshape(shape), pnp.exp(z[nx:]).reshape(us), s, axis=axis))

    _check_exact(lambda z: f(z, s), z)
    _check_traced(f, f, z, s, [np.array(k) for k in starts], equal=True)


@pytest.mark.parametrize("seed", SEEDS)
def test_scatter_sum(seed):
    """Pieces added (repeated and negative integer indices) or assigned (a slice) into one buffer."""
    rng, n, rest = _case(seed)
    shape = (n + 1,) + rest
    ia = rng.integers(-n - 1, n + 1, (3,))
    va_shape = (3,) + rest
    vb_shape = (1,) + rest
    na, nb = int(np.prod(va_shape)), int(np.prod(vb_shape))
    z = np.ones(na + nb)

    def f(z):
        va, vb = pnp.sin(z[:na]).reshape(va_shape), pnp.exp(z[na:]).reshape(vb_shape)
        return scatter_sum(vb, va, idxs=(slice(0, 1), ia), assign=(True, False), full=False, shape=shape,
                           dtype=np.float64) * 2.0

    _check_exact(f, z)


def test_traced_rules_on_size1_axes():
    """A length-1 axis: every traced index can only pick row 0, so the superset is the exact pattern."""
    x = np.ones((1, 3))
    p, s = _pattern(lambda x, i: gather(x, i), x, np.array([0, -1]))
    assert not s.exact
    np.testing.assert_array_equal(p, np.vstack([np.eye(3, dtype=bool)] * 2))
    p, _ = _pattern(lambda x, s: dynamic_slice(x, s, axis=0, size=1), x, np.array(0))
    np.testing.assert_array_equal(p, np.eye(3, dtype=bool))


def test_sparse_jacobian_through_gather_with_constant_index():
    """The exact rule lets sparse_jacfwd colour a gathered function: a permutation needs one colour."""
    perm = np.random.default_rng(3).permutation(20)

    def f(x):
        return pnp.sin(gather(x, perm)) * x

    x = np.random.default_rng(4).uniform(0.2, 0.9, 20)
    J = pb.SparseJacobian(f, x, mode="fwd")
    assert J.sparsity.exact and J.ncolors <= 3
    np.testing.assert_allclose(J(x).toarray(), pb.jacfwd(f)(x), rtol=1e-13, atol=1e-13)


def test_docs_rule_table_matches_the_primitives():
    """docs/sparse.md's per-primitive table is pullback.sparse.rule_table() (regenerate it when a rule
    is added)."""
    import pathlib

    from pullback.sparse import rule_table

    page = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "sparse.md").read_text(encoding="utf-8")
    start, end = "<!-- rule-table:start -->\n", "\n<!-- rule-table:end -->"
    assert start in page and end in page
    table = page[page.index(start) + len(start):page.index(end)]
    assert table == rule_table()
    for name in ("gather", "index_add", "index_set", "dynamic_slice", "dynamic_update_slice", "getitem",
                 "scatter_sum"):
        assert f"`{name}`" in table and "none: all-ones" not in next(r for r in table.splitlines()
                                                                     if f"`{name}`" in r)
