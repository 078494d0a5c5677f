"""vmap: equals a Python loop, for every pullback.numpy case in the numpy-layer table; composes with the
other transformations in any order; in_axes / out_axes / axis_size; clear errors."""

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback.vmap import BatchAxisError
from test_numpy_layer import CASES

B = 3


def _batch(x, rng):
    """B perturbed copies of x stacked on a new leading axis (same dtype)."""
    x = np.asarray(x)
    if x.dtype.kind not in "fc":
        return np.stack([x] * B)
    noise = rng.standard_normal((B,) + x.shape) * 0.01
    return (x + noise.astype(x.dtype)) if x.dtype.kind == "f" else x + noise * (1 + 1j)


def _float_args(case):
    return [i for i, a in enumerate(case.args) if np.asarray(a).dtype.kind in "fc" and np.ndim(a) > 0]


VMAP_CASES = [c for c in CASES if _float_args(c)]


@pytest.mark.parametrize("case", VMAP_CASES, ids=[c.id for c in VMAP_CASES])
def test_vmap_of_each_numpy_function_equals_a_loop(case):
    rng = np.random.default_rng(0)
    i = _float_args(case)[0]
    xs = _batch(case.args[i], rng)

    def f(x):
        args = list(case.args)
        args[i] = x
        return case.call(pnp, *args)

    got = pb.vmap(f)(xs)
    want = [f(x) for x in xs]
    for g, w in zip(pb.tree_util.tree_leaves(got), zip(*[pb.tree_util.tree_leaves(w) for w in want])):
        np.testing.assert_allclose(g, np.stack(w), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", VMAP_CASES[::7], ids=[c.id for c in VMAP_CASES[::7]])
def test_vmap_of_grad_of_each_sampled_function_equals_a_loop(case):
    rng = np.random.default_rng(1)
    i = _float_args(case)[0]
    if np.asarray(case.args[i]).dtype.kind == "c":
        pytest.skip("grad needs a real input here")
    xs = _batch(case.args[i], rng)

    def f(x):
        args = list(case.args)
        args[i] = x
        out = case.call(pnp, *args)
        return sum(pnp.sum(pnp.real(o) ** 2) for o in pb.tree_util.tree_leaves(out) if o.dtype.kind in "fc")

    g = pb.grad(f)
    np.testing.assert_allclose(pb.vmap(g)(xs), np.stack([g(x) for x in xs]), rtol=1e-10, atol=1e-10)


def mlp(params, x):
    W1, b1, W2 = params
    return pnp.sum(pnp.tanh(x @ W1 + b1) @ W2)


RNG = np.random.default_rng(7)
PARAMS = (RNG.standard_normal((4, 5)), RNG.standard_normal(5), RNG.standard_normal(5))
XS = RNG.standard_normal((6, 4))


def test_per_example_gradients_equal_a_loop():
    per_ex = pb.vmap(pb.grad(mlp), in_axes=(None, 0))(PARAMS, XS)
    for k in range(3):
        np.testing.assert_allclose(per_ex[k], np.stack([pb.grad(mlp)(PARAMS, x)[k] for x in XS]), rtol=1e-12)


def test_grad_of_vmap_equals_sum_of_grads():
    g = pb.grad(lambda p: pnp.sum(pb.vmap(mlp, in_axes=(None, 0))(p, XS)))(PARAMS)
    want = [sum(pb.grad(mlp)(PARAMS, x)[k] for x in XS) for k in range(3)]
    for a, b in zip(g, want):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_nested_vmap_and_jvp_of_vmap_and_vmap_under_jit():
    f = lambda a, b: pnp.sin(a) * pnp.cos(b)  # noqa: E731
    A, Bm = RNG.standard_normal((2, 3)), RNG.standard_normal((3, 2))
    out = pb.vmap(pb.vmap(f), in_axes=(0, 1))(A, Bm)
    np.testing.assert_allclose(out, np.sin(A) * np.cos(Bm.T), rtol=1e-14)
    v = RNG.standard_normal((2, 3))
    _, jv = pb.jvp(lambda a: pb.vmap(pnp.sin)(a), (A,), (v,))
    np.testing.assert_allclose(jv, np.cos(A) * v, rtol=1e-14)
    np.testing.assert_allclose(pb.jit(pb.vmap(pnp.tanh))(A), np.tanh(A), rtol=1e-14)
    hess = pb.vmap(pb.hessian(lambda x: pnp.sum(pnp.sin(x) ** 3)))(A)
    np.testing.assert_allclose(hess, np.stack([pb.hessian(lambda x: pnp.sum(pnp.sin(x) ** 3))(a) for a in A]))


def test_in_axes_out_axes_negative_and_pytrees():
    A = RNG.standard_normal((3, 4))
    np.testing.assert_allclose(pb.vmap(pnp.sum, in_axes=-1)(A), A.sum(axis=0))
    np.testing.assert_allclose(pb.vmap(lambda x: x * 2, in_axes=1, out_axes=1)(A), A * 2)
    np.testing.assert_allclose(pb.vmap(lambda x: x * 2, out_axes=-1)(A), (A * 2).T)
    out = pb.vmap(lambda d: {"s": d["a"] + d["b"]}, in_axes=({"a": 0, "b": None},))({"a": A, "b": np.ones(4)})
    np.testing.assert_allclose(out["s"], A + 1)
    const = pb.vmap(lambda x: (x, 5.0), out_axes=(0, None))(A)
    assert const[1] == 5.0
    np.testing.assert_allclose(pb.vmap(lambda x: 1.0, axis_size=4, in_axes=None)(A), np.ones(4))


def test_vmap_errors_are_clear():
    with pytest.raises(BatchAxisError, match="different sizes"):
        pb.vmap(lambda a, b: a + b)(np.ones(3), np.ones(4))
    with pytest.raises(BatchAxisError, match="out of range|rank"):
        pb.vmap(pnp.sin, in_axes=2)(np.ones((2, 2)))
    with pytest.raises(BatchAxisError, match="out_axes=None"):
        pb.vmap(pnp.sin, out_axes=None)(np.ones(3))
    with pytest.raises(pb.PullbackError, match="batched value"):
        pb.vmap(lambda x: x if x > 0 else -x)(np.ones(3))


def test_vectorized_jacobians_equal_explicit_ones():
    A = RNG.standard_normal((4, 3))
    g = lambda x: pnp.tanh(A @ x) * pnp.sum(x)  # noqa: E731
    x = RNG.standard_normal(3)
    t = np.tanh(A @ x)
    want = (1 - t**2)[:, None] * A * x.sum() + t[:, None]
    np.testing.assert_allclose(pb.jacrev(g)(x), want, rtol=1e-12)
    np.testing.assert_allclose(pb.jacfwd(g)(x), want, rtol=1e-12)


@pytest.mark.parametrize("idx", [
    (slice(1, 3),), (np.array([2, 0, 2]),), (Ellipsis, 1), (np.array([0, 1]), slice(None), np.array([1, 2])),
    (slice(None), np.array([[0], [1]]), np.array([1, 2])), (None, 1),
], ids=["slice", "repeated-ints", "ellipsis", "split-advanced", "adjacent-advanced", "newaxis"])
def test_vmap_of_indexing_and_updates_equals_a_loop(idx):
    xs = RNG.standard_normal((2, 3, 4, 5))

    def f(x):
        y = x[idx]
        z = pnp.at(pnp.zeros_like(x))[idx].add(y * 2.0)
        return pnp.sum(z**2) + pnp.sum(y), pnp.at(x)[idx].set(1.0)

    got = pb.vmap(f)(xs)
    for g, w in zip(got, zip(*[f(x) for x in xs])):
        np.testing.assert_allclose(g, np.stack(w), rtol=1e-12)
    g = pb.grad(lambda x: f(x)[0])
    np.testing.assert_allclose(pb.vmap(g)(xs), np.stack([g(x) for x in xs]), rtol=1e-12)
    np.testing.assert_allclose(pb.jacrev(lambda x: f(x)[1])(xs[0]), pb.jacfwd(lambda x: f(x)[1])(xs[0]))


EXTRA_FUNCTIONS = {
    "einsum-matrix": lambda x: pnp.einsum("ij,jk->ik", x, x.T),
    "einsum-trace-diag": lambda x: pnp.einsum("ii->i", x[:, :3]) + pnp.einsum("ii", x[:, :3]),
    "kron": lambda x: pnp.kron(x[:2, :2], x[1:, 1:3]),
    "cross": lambda x: pnp.cross(x[:, :3], x[::-1, :3]),
    "convolve": lambda x: pnp.convolve(x[0], x[1], mode="same"),
    "pad-reflect": lambda x: pnp.pad(x, ((1, 2), (0, 1)), mode="reflect"),
    "tile-repeat-roll": lambda x: pnp.roll(pnp.tile(x, (1, 2)), 3, axis=1) + pnp.repeat(x, 2, axis=1),
    "split-stack": lambda x: pnp.stack(pnp.split(x, 2, axis=1), axis=-1),
    "triu-diag": lambda x: pnp.triu(x[:, :3]) @ pnp.diag(x[0, :3]),
    "take-along": lambda x: pnp.take_along_axis(x, np.array([[3, 0, 1, 1]] * 3), axis=1),
    "sort": lambda x: pnp.sort(x, axis=1),
    "logaddexp-clip": lambda x: pnp.logaddexp(x, x**2) + pnp.clip(x, -0.5, 0.5),
    "sinc-fmod": lambda x: pnp.sinc(x) + pnp.fmod(x, 0.7),
    "cumprod-median": lambda x: pnp.cumprod(x, axis=0) + pnp.median(x, axis=1, keepdims=True),
    "solve-det": lambda x: pnp.linalg.solve(x[:, :3] + 3 * np.eye(3), x[:, 3]) * pnp.linalg.det(x[:, :3]),
    "rfft": lambda x: pnp.abs(pnp.fft.rfft(x, axis=1)),
}


@pytest.mark.parametrize("name", list(EXTRA_FUNCTIONS))
def test_vmap_of_more_families_and_their_gradients_equal_a_loop(name):
    f = EXTRA_FUNCTIONS[name]
    xs = np.random.default_rng(5).standard_normal((3, 3, 4))
    np.testing.assert_allclose(pb.vmap(f)(xs), np.stack([f(x) for x in xs]), rtol=1e-11, atol=1e-12)
    g = pb.grad(lambda x: pnp.sum(f(x) ** 2))
    np.testing.assert_allclose(pb.vmap(g)(xs), np.stack([g(x) for x in xs]), rtol=1e-10, atol=1e-10)


def test_index_arrays_computed_from_batched_values_raise_clearly():
    """Known limitation: an index array that differs per example (argsort of a batched value) cannot
    be used for indexing inside vmap yet; the error says so instead of guessing."""
    f = lambda x: pnp.take_along_axis(x, pnp.argsort(x, axis=1), axis=1)  # noqa: E731
    with pytest.raises(pb.PullbackError, match="batched value"):
        pb.vmap(f)(np.ones((2, 3, 4)))
