"""pullback on Dask arrays: lazy all the way (no compute during grad, vjp, jvp, hvp, vmap or jit, counted
with dask's callbacks), results are Dask arrays that match NumPy's, chunk-aware rules, a clear error for
data-dependent shapes, and a sample of every family's cases against NumPy's results."""

from __future__ import annotations

import numpy as np
import pytest

import backend_checks as bc
import pullback as pb
import pullback.numpy as pnp
from pullback.errors import BackendError

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
pytest.importorskip("array_api_compat")
callbacks = pytest.importorskip("dask.callbacks")


def _chunked(a):
    a = np.asarray(a)
    return da.from_array(a, chunks=tuple(max(1, (n + 1) // 2) for n in a.shape)) if a.ndim else da.from_array(a)


def _batched_linalg(case) -> bool:
    """dask.array.linalg takes one 2-D matrix: a stack of matrices is refused clearly."""
    return case.name in ("inv", "solve", "cholesky") and np.ndim(case.args[0]) > 2


DASK = bc.Library("dask", _chunked, lambda a: np.asarray(a.compute(scheduler="synchronous")),
                  lambda v: isinstance(v, da.Array), may_refuse=_batched_linalg)
# every fourth family case (Dask builds a task graph per operation: the whole list takes over a minute)
CASES = [(m, f, c, ("value", "vjp")) for i, (m, f, c) in enumerate(bc.family_cases()) if i % 4 == 0]


@pytest.mark.parametrize("module, family, case, transforms", CASES, ids=[bc.case_id(m, c) for m, _, c, _ in CASES])
def test_family_case_on_dask_matches_numpy_or_raises_clearly(module, family, case, transforms):
    bc.check_family_case(DASK, module, family, case, transforms)


# ----------------------------------------------------------------------------- laziness


class CountComputes(callbacks.Callback):
    """Counts the task graphs dask runs (compute, persist, np.asarray of a Dask array ...)."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def _start(self, dsk):
        self.count += 1


def _mlp_loss(params, x, y):
    """A small tanh MLP with a mean squared error: matmuls, broadcasting, reductions, elementwise."""
    w1, b1, w2 = params
    h = pnp.tanh(x @ w1 + b1)
    return pnp.mean((h @ w2 - y) ** 2) + 1e-3 * pnp.sum(w1 ** 2)


@pytest.fixture
def problem():
    rng = np.random.default_rng(3)
    n, d, k = 64, 5, 4
    x, y = rng.standard_normal((n, d)), rng.standard_normal((n, 1))
    params = (rng.standard_normal((d, k)), rng.standard_normal(k), rng.standard_normal((k, 1)))
    dx, dy = da.from_array(x, chunks=(16, d)), da.from_array(y, chunks=(16, 1))
    dparams = tuple(da.from_array(p) for p in params)
    return params, x, y, dparams, dx, dy


def test_grad_vjp_jvp_hvp_vmap_jit_on_dask_run_no_compute_and_match_numpy(problem):
    params, x, y, dparams, dx, dy = problem
    v = tuple(np.ones_like(p) for p in params)
    dv = tuple(da.from_array(t) for t in v)
    loss = lambda p: _mlp_loss(p, x, y)  # noqa: E731
    dloss = lambda p: _mlp_loss(p, dx, dy)  # noqa: E731
    with CountComputes() as counter:
        g = pb.grad(dloss)(dparams)
        out, vjp_fn = pb.vjp(dloss, dparams)
        (g_vjp,) = vjp_fn(da.ones((), dtype=float))
        _, t_out = pb.jvp(dloss, (dparams,), (dv,))
        _, hv = pb.hvp(dloss, (dparams,), (dv,))
        g_jit = pb.jit(pb.grad(dloss))(dparams)
        f_jit = pb.jit(dloss)(dparams)
        per_row = pb.vmap(pb.grad(lambda xi: pnp.sum(pnp.tanh(xi @ dparams[0]))))(dx)
    assert counter.count == 0, f"{counter.count} dask computes during the transformations"
    leaves = pb.tree_util.tree_flatten((g, out, g_vjp, t_out, hv, g_jit, f_jit, per_row))[0]
    assert all(isinstance(a, da.Array) for a in leaves), [type(a).__name__ for a in leaves]
    (g, out, g_vjp, t_out, hv, g_jit, f_jit, per_row) = dask.compute(g, out, g_vjp, t_out, hv, g_jit, f_jit, per_row,
                                                                     scheduler="synchronous")
    expected_g = pb.grad(loss)(params)
    for got in (g, g_vjp, g_jit):
        for a, b in zip(got, expected_g):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out, loss(params), rtol=1e-12)
    np.testing.assert_allclose(f_jit, loss(params), rtol=1e-12)
    np.testing.assert_allclose(t_out, pb.jvp(loss, (params,), (v,))[1], rtol=1e-12)
    for a, b in zip(hv, pb.hvp(loss, (params,), (v,))[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(per_row, pb.vmap(pb.grad(lambda xi: pnp.sum(pnp.tanh(xi @ params[0]))))(x),
                               rtol=1e-12)


def test_gradient_keeps_the_inputs_chunks(problem):
    params, x, y, dparams, dx, dy = problem
    gx = pb.grad(lambda x: _mlp_loss(params, x, y))(dx)
    assert isinstance(gx, da.Array) and gx.chunks == dx.chunks


def test_cotangent_seed_and_zeros_are_lazy_not_numpy():
    x = da.ones((1000, 10), chunks=(100, 10))
    with CountComputes() as counter:
        g = pb.grad(lambda x: pnp.sum(x[:, 0] * 2.0))(x)  # the unused columns' cotangent is zero
    assert counter.count == 0 and isinstance(g, da.Array)
    expected = np.zeros((1000, 10))
    expected[:, 0] = 2.0
    np.testing.assert_array_equal(DASK.back(g), expected)


def test_scatter_add_on_dask_accumulates_repeated_indices_lazily():
    """The reverse rule of a gather with repeated indices (an embedding lookup) is a scatter-add."""
    rng = np.random.default_rng(0)
    table = rng.standard_normal((6, 3))
    ids = np.array([0, 2, 2, 5, 0, 0])
    f = lambda t: pnp.sum(pnp.sin(t[ids]) * np.arange(18.0).reshape(6, 3))  # noqa: E731
    with CountComputes() as counter:
        g = pb.grad(f)(da.from_array(table, chunks=(2, 3)))
        added = pnp.at(da.from_array(table, chunks=(2, 3)))[ids].add(1.0)
    assert counter.count == 0
    np.testing.assert_allclose(DASK.back(g), pb.grad(f)(table), rtol=1e-13)
    expected = table.copy()
    np.add.at(expected, ids, 1.0)
    assert isinstance(added, da.Array)
    np.testing.assert_allclose(DASK.back(added), expected, rtol=1e-13)


def test_boolean_mask_of_a_lazy_array_raises_a_clear_error():
    x = da.from_array(np.linspace(-1, 1, 8), chunks=4)
    with pytest.raises(BackendError, match="data-dependent"):
        pb.grad(lambda x: pnp.sum(x[x > 0]))(x)


def test_dask_linalg_is_used_for_one_matrix_and_batches_raise_clearly():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((6, 6)) + 6 * np.eye(6)
    b = rng.standard_normal(6)
    f = lambda a, b: pnp.sum(pnp.linalg.solve(a, b) ** 2) + pnp.sum(pnp.linalg.cholesky(a @ a.T))  # noqa: E731
    with CountComputes() as counter:
        ga, gb = pb.grad(f, argnums=(0, 1))(da.from_array(a, chunks=3), da.from_array(b, chunks=3))
    assert counter.count == 0
    ea, eb = pb.grad(f, argnums=(0, 1))(a, b)
    np.testing.assert_allclose(DASK.back(ga), ea, rtol=1e-10)
    np.testing.assert_allclose(DASK.back(gb), eb, rtol=1e-10)
    with pytest.raises(BackendError, match="dask"):
        pnp.linalg.inv(da.from_array(np.stack([a, a])))


def test_numpy_constants_mix_with_dask_arrays():
    w = np.array([1.0, 2.0, 3.0])  # a NumPy constant, moved to Dask at dispatch
    x = da.from_array(np.array([0.5, -1.0, 2.0]), chunks=2)
    g = pb.grad(lambda x: pnp.sum(w * pnp.exp(x)))(x)
    assert isinstance(g, da.Array)
    np.testing.assert_allclose(DASK.back(g), w * np.exp([0.5, -1.0, 2.0]), rtol=1e-14)


def test_no_dask_input_is_changed(problem):
    params, x, y, dparams, dx, dy = problem
    keys = [a.name for a in dparams] + [dx.name, dy.name]
    pb.grad(lambda p: _mlp_loss(p, dx, dy))(dparams)
    pb.jit(lambda p: _mlp_loss(p, dx, dy))(dparams)
    assert [a.name for a in dparams] + [dx.name, dy.name] == keys  # Dask arrays are immutable graphs
    np.testing.assert_array_equal(DASK.back(dx), x)


REQUIRED = bc.required_cases(every=4)


@pytest.mark.parametrize("module, family, case", REQUIRED, ids=[bc.case_id(m, c) for m, _, c in REQUIRED])
def test_required_case_on_dask_under_vmap_and_jit(module, family, case):
    bc.check_case(DASK, family, case, ("vmap", "jit"))


def test_no_dask_input_is_mutated_through_the_shared_checks():
    bc.check_no_input_is_mutated(DASK)


def test_jit_takes_dask_arrays_as_dynamic_arguments():
    bc.check_jit_takes_arrays_as_dynamic_arguments(DASK)


def test_numpy_constants_and_scalars_mix_with_dask_arrays():
    bc.check_numpy_constants_and_python_scalars_mix_in(DASK)


def test_gauge_invariant_decompositions_on_dask():
    bc.check_gauge_invariant_decompositions(DASK, batched=False)


def test_dask_and_another_library_in_one_operation_raise():
    torch = pytest.importorskip("torch")
    other = bc.Library("torch", torch.as_tensor, np.asarray, lambda v: False)
    bc.check_two_libraries_in_one_operation_raise(DASK, other)


def test_a_broadcast_numpy_constant_moves_chunked_like_the_array_it_meets():
    from pullback.core.backend import backend_of

    y = da.random.random((4000, 3), chunks=(1000, 3))
    view = np.broadcast_to(np.arange(3.0), (4000, 3))  # zero stride along rows
    moved = backend_of(y).asarray(view, y)
    assert moved.chunks[0] == y.chunks[0]
    np.testing.assert_array_equal(moved.compute(), view)
    out = pnp.multiply(view, y)
    np.testing.assert_allclose(out.compute(), view * y.compute())
