"""Sparsity rules beyond the basic families: einsum, the FFTs (dense along the transformed axis,
exact elsewhere), sort (along its axis), scatter_min / scatter_max, multi-argument elementwise
functions, and stacks of matrices in linear algebra (block-diagonal across the stack)."""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp

pytest.importorskip("scipy.sparse")

RNG = np.random.default_rng(11)
A_SPARSE = np.where(RNG.random((4, 6)) < 0.4, RNG.standard_normal((4, 6)), 0.0)
W_COMPLEX = RNG.standard_normal((4, 3)) + 1j * RNG.standard_normal((4, 3))
IDX = np.array([0, 2, 2, 5])


def _jac(f, x):
    j = np.asarray(pb.jacfwd(f)(x))
    return j.reshape(-1, x.size)


def _nonzeros(f, shape, tries=3):
    mask = 0
    for t in range(tries):
        x = np.random.default_rng(20 + t).uniform(0.2, 0.9, shape)
        mask = mask | (_jac(f, x) != 0)
    return mask


def _block(rows_per, cols_per, nblocks):
    return np.kron(np.eye(nblocks, dtype=bool), np.ones((rows_per, cols_per), bool))


# name, f, input shape, expected exact flag, expected pattern (None: the generic nonzeros)
CASES = [
    ("einsum_matmul", lambda x: pnp.einsum("ij,jk->ik", x.reshape(2, 3), x.reshape(3, 2)), (6,), True, None),
    ("einsum_const_sparse", lambda x: pnp.einsum("ij,j->i", A_SPARSE, pnp.sin(x)), (6,), True, None),
    ("einsum_trace_diag", lambda x: pnp.einsum("ii->i", x.reshape(3, 3)) * pnp.einsum("ii", x.reshape(3, 3)),
     (9,), True, None),
    ("einsum_batched", lambda x: pnp.einsum("bij,bjk->bik", x.reshape(2, 2, 3), x.reshape(2, 3, 2)),
     (12,), True, None),
    ("fft_axis0", lambda x: pnp.real(pnp.fft.fft(x, axis=0) * W_COMPLEX), (4, 3), True, None),
    ("rfft_irfft_axis1", lambda x: pnp.fft.irfft(pnp.fft.rfft(x, axis=1) * np.array([1.0, 2.0 + 1j, 0.5]), n=4,
                                                   axis=1), (3, 4), True, None),
    ("sort_axis1", lambda x: pnp.sort(x, axis=1), (3, 4), True, _block(4, 4, 3)),
    ("scatter_max", lambda x: x[:6].at[IDX].max(x[6:] ** 2), (10,), True,
     np.hstack([np.eye(6, dtype=bool), np.isin(np.arange(6)[:, None], IDX) & (IDX[None, :] == np.arange(6)[:, None])])),
    ("scatter_min", lambda x: x[:6].at[IDX].min(pnp.exp(x[6:])), (10,), True,
     np.hstack([np.eye(6, dtype=bool), IDX[None, :] == np.arange(6)[:, None]])),
    ("logaddexp_float_power", lambda x: pnp.logaddexp(x, x[::-1]) + pnp.float_power(x, x[::-1]), (5,), True, None),
    ("batched_inv", lambda x: pnp.linalg.inv(x.reshape(3, 2, 2) + 2 * np.eye(2)), (12,), False, _block(4, 4, 3)),
    ("batched_det", lambda x: pnp.linalg.det(x.reshape(3, 2, 2)), (12,), False, _block(1, 4, 3)),
    ("batched_solve", lambda x: pnp.linalg.solve(x[:8].reshape(2, 2, 2) + 3 * np.eye(2), x[8:].reshape(2, 2, 1)),
     (12,), False, None),
    ("eigvalsh_stack", lambda x: pnp.linalg.eigvalsh(x.reshape(2, 2, 2) + x.reshape(2, 2, 2).transpose(0, 2, 1)),
     (8,), False, _block(2, 4, 2)),
]


@pytest.mark.parametrize("name,f,shape,exact,expected", CASES, ids=[c[0] for c in CASES])
def test_rule_pattern_and_sparse_jacobian(name, f, shape, exact, expected):
    x = np.random.default_rng(1).uniform(0.2, 0.9, shape)
    s = pb.jacobian_sparsity(f, x)
    p = s.pattern.toarray()
    nz = _nonzeros(f, shape)
    assert p.shape == nz.shape
    assert not (nz & ~p).any(), "a nonzero missing from the detected pattern"
    assert s.exact == exact, s.conservative
    np.testing.assert_array_equal(p, nz if expected is None else expected)
    dense = _jac(f, x)
    for jac in (pb.sparse_jacfwd, pb.sparse_jacrev):
        np.testing.assert_allclose(jac(f)(x).toarray(), dense, rtol=1e-12, atol=1e-12)


def test_batched_solve_is_block_and_columnwise():
    def f(x):
        return pnp.linalg.solve(x[:8].reshape(2, 2, 2) + 3 * np.eye(2), x[8:].reshape(2, 2, 2))

    x = np.random.default_rng(2).uniform(0.2, 0.9, 16)
    p = pb.jacobian_sparsity(f, x).pattern.toarray()
    # output (batch b, row i, column c) depends on matrix b (4 entries) and on column c of B's block b (2)
    assert (p.sum(axis=1) == 6).all()
    assert not p[:4, 4:8].any() and not p[4:, :4].any()  # nothing across the stack


def test_fft_rule_size1_and_negative_axis():
    def f(x):
        return pnp.real(pnp.fft.fft(x, axis=-1))

    x = np.ones((3, 1))
    s = pb.jacobian_sparsity(f, x)
    assert s.exact
    np.testing.assert_array_equal(s.pattern.toarray(), np.eye(3, dtype=bool))
