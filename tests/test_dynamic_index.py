"""Indexing with a traced integer scalar (a loop counter, an integer jit argument) without unrolling:
reads x[i], x[i, :], x[:, i], x[i+1], negative i (gather), windows x[i:i+k] (dynamic_slice), and writes
x.at[i].set / .add, x[i] = v, x.at[i:i+k] (index_set, dynamic_update_slice); primitives/dynamic.py.

Each function is checked staged (jit) against its eager self (the Python loop) to 1e-12, under jit,
jit(grad), grad(jit), hessians, vmap, and against central differences to order 2 (3 for a sample).
"""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback.errors import DynamicIndexError, PullbackError

RNG = np.random.default_rng(141)
TABLE = RNG.standard_normal((5, 3))


def close(a, b, rtol=1e-12, atol=1e-13):
    la, lb = pb.tree_util.tree_leaves(a), pb.tree_util.tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


def prim_names(graph) -> list[str]:
    names = []
    for e in graph.eqns:
        names.append(e.prim.name)
        for p in e.params.values():
            if hasattr(p, "graph"):
                names += prim_names(p.graph)
    return names


# ----------------------------------------------------------------------------- the functions (x: float64[3], t: table)


def reads(x, t):
    """Rows, columns, shifted, negative and nested integer reads of a table with the counter."""
    def body(i, c):
        row = t[i, :] * c + t[i - 1] * pnp.sin(c)          # t[-1] at i = 0
        col = t[:, i % 3]                                    # a column, then an element of it
        return pnp.tanh(row + col[i + 1] * c[i % 3] + t[-i - 1, 1] + t[..., 2][i])
    return pnp.sum(pb.fori_loop(0, 4, body, x) ** 2)


def windows(x, t):
    """Windows of static size with a staged start: t[i:i+2], flat windows, negative starts."""
    flat = pnp.ravel(t)

    def body(i, c):
        w = t[i:i + 2]                                       # (2, 3)
        back = flat[-i - 4:-i - 1]                           # 3 entries counted from the end
        return pnp.sin(c * pnp.sum(w, axis=0) + back * c[1]) + 0.1 * c
    return pnp.sum(pb.fori_loop(0, 3, body, x))


def writes(x, t):
    """x.at[i].set / .add / .multiply, x[i] = v, column and window writes inside a body."""
    def body(i, c):
        c = pnp.at(c)[i].set(pnp.sum(t[i] * c[i]) + x[0])                 # a whole row from a scalar
        c = pnp.at(c)[i - 1, 1].add(x[1] * c[i, 0])                       # one element, negative row
        c = pnp.at(c)[:, i % 3].multiply(1.0 + 0.1 * x[2])                # a column
        c = pnp.at(c)[i:i + 2].add(pnp.sin(c[i]) * 0.5)                   # a window, broadcast
        c[-i - 1] = c[i] * pnp.cos(x[0])                                  # setitem, negative
        return pnp.tanh(c)
    c0 = pnp.outer(pnp.ones(5), x) * 0.3
    return pnp.sum(pb.fori_loop(0, 4, body, c0) * t)


def scanned_gather(x, t):
    """A scan over xs whose carry holds an integer counter k that indexes the carried array."""
    def body(c, xt):
        k, v = c
        v = pnp.at(v)[k].add(xt * pnp.sum(t[k]))
        return (k + 1, pnp.sin(v)), v[k] * xt
    (_, v), ys = pb.scan(body, (0, x), pnp.stack([x[0], x[1] * 2.0, x[2]]))
    return pnp.sum(v) + pnp.sum(ys)


FUNCS = {"reads": reads, "windows": windows, "writes": writes, "scanned gather": scanned_gather}
POINTS = [np.array([0.3, -0.7, 1.1]), np.array([-1.2, 0.4, 0.25])]


def params():
    return [pytest.param(name, x, id=f"{name}-{k}") for name in FUNCS for k, x in enumerate(POINTS)]


@pytest.mark.parametrize("name, x", params())
def test_dynamic_indices_stay_rolled_and_equal_eager_values(name, x):
    f = FUNCS[name]
    close(pb.jit(f)(x, TABLE), f(x, TABLE))
    names = prim_names(pb.make_graph(f, x, TABLE))
    assert "scan" in names
    assert {"gather", "dynamic_slice", "index_set", "dynamic_update_slice"} & set(names)


@pytest.mark.parametrize("name, x", params())
def test_derivatives_through_dynamic_indices_equal_eager_ones(name, x):
    f = FUNCS[name]
    grad = pb.grad(f, argnums=(0, 1))
    expect = grad(x, TABLE)
    close(pb.jit(grad)(x, TABLE), expect)
    close(pb.grad(pb.jit(f), argnums=(0, 1))(x, TABLE), expect)
    v = np.linspace(-1.0, 1.0, 3)
    expect_jvp = pb.jvp(lambda y: f(y, TABLE), (x,), (v,))
    close(pb.jit(lambda x, v: pb.jvp(lambda y: f(y, TABLE), (x,), (v,)))(x, v), expect_jvp)


@pytest.mark.parametrize("name, x", params())
def test_second_derivatives_through_dynamic_indices_equal_eager_ones(name, x):
    f = lambda y: FUNCS[name](y, TABLE)  # noqa: E731
    h = pb.hessian(f)(x)
    close(pb.jit(pb.hessian(f))(x), h, rtol=1e-11)
    close(pb.hessian(pb.jit(f))(x), h, rtol=1e-11)


@pytest.mark.parametrize("name", list(FUNCS))
def test_dynamic_indices_match_central_differences_to_order_2(name):
    f = FUNCS[name]
    pb.testing.check_grads(pb.jit(f), (POINTS[0], TABLE), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name", ["reads", "writes"])
def test_dynamic_indices_match_central_differences_to_order_3(name):
    f = FUNCS[name]
    pb.testing.check_grads(pb.jit(lambda y: f(y, TABLE)), (POINTS[1],), order=3, modes=("fwd", "rev"))


@pytest.mark.parametrize("name", list(FUNCS))
def test_vmap_of_dynamic_indices_equals_the_loop_over_examples(name):
    f = FUNCS[name]
    xs = np.stack(POINTS + [np.array([0.1, 0.2, -0.3])])
    expect = np.array([f(x, TABLE) for x in xs])
    close(pb.vmap(pb.jit(lambda y: f(y, TABLE)))(xs), expect)
    close(pb.jit(pb.vmap(lambda y: f(y, TABLE)))(xs), expect)
    close(pb.jit(pb.vmap(pb.grad(lambda y: f(y, TABLE))))(xs), np.stack([pb.grad(f)(x, TABLE) for x in xs]))
    # batching rules, not a copy of the body per example
    one, batch = pb.make_graph(lambda y: f(y, TABLE), xs[0]), pb.make_graph(pb.vmap(lambda y: f(y, TABLE)), xs)
    assert batch.op_count() < 1.5 * one.op_count()


# ----------------------------------------------------------------------------- rolled, whatever the trip count


def test_a_10000_step_loop_reading_a_table_with_the_counter_stays_rolled():
    def f(n):
        return lambda x, table: pb.fori_loop(0, n, lambda i, c: c * 0.999 + table[i] * pnp.sin(c) * x, x)

    small, large = (pb.make_graph(f(n), 0.5, np.linspace(0.0, 1.0, n)) for n in (10, 10_000))
    assert small.op_count() == large.op_count() < 12
    table = np.linspace(0.0, 1.0, 10_000)
    close(pb.jit(f(10_000))(0.5, table), f(10_000)(0.5, table))
    grad_graph = pb.make_graph(pb.grad(f(10_000), argnums=(0, 1)), 0.5, table)
    assert grad_graph.op_count() < 80
    close(pb.jit(pb.grad(f(10_000), argnums=(0, 1)))(0.5, table), pb.grad(f(10_000), argnums=(0, 1))(0.5, table))


def test_a_plain_numpy_table_read_with_take_stays_rolled():
    table = np.linspace(0.0, 1.0, 1000)  # a plain array: table[i] would be NumPy's own indexing
    f = lambda x: pb.fori_loop(0, 1000, lambda i, c: c * 0.99 + pnp.take(table, i) * x, x)  # noqa: E731
    assert pb.make_graph(f, 0.5).op_count() < 10
    close(pb.jit(f)(0.5), f(0.5))
    close(pb.jit(pb.grad(f))(0.5), pb.grad(f)(0.5))


# ----------------------------------------------------------------------------- the primitives, with an integer argument


CASES = [  # (name, function of (x, i), x, valid i values)
    ("row", lambda x, i: x[i] * x[i - 1], RNG.standard_normal((4, 3)), [0, 3, -3, -1]),
    ("column", lambda x, i: pnp.sin(x[:, i]) * x[1, i], RNG.standard_normal((2, 3)), [0, 2, -3]),
    ("size-1 axis", lambda x, i: x[i] ** 2, RNG.standard_normal((1, 2)), [0, -1]),
    ("window", lambda x, i: pnp.cos(x[i:i + 2]) * x[i + 1:i + 3], RNG.standard_normal((5, 2)), [0, 2, -5, -4]),
    ("empty window", lambda x, i: pnp.sum(x[i:i + 0]) + x[i], RNG.standard_normal(3), [0, 2, -1]),
    ("set", lambda x, i: pnp.at(x)[i].set(x[i - 1] * x[i]) ** 2, RNG.standard_normal((3, 2)), [0, 2, -2]),
    ("set broadcast", lambda x, i: pnp.at(x)[i].set(pnp.sum(x)) * x, RNG.standard_normal((3, 2)), [1, -1]),
    ("add", lambda x, i: pnp.sin(pnp.at(x)[i].add(x[0] ** 2)), RNG.standard_normal((3, 2)), [0, 1, -2]),
    ("add column", lambda x, i: pnp.at(x)[:, i].add(x[:, 0] * x[1, i]) ** 2, RNG.standard_normal((2, 3)), [0, -1]),
    ("window set", lambda x, i: pnp.at(x)[i:i + 2].set(x[i:i + 2] ** 2) * x, RNG.standard_normal(5), [0, 3, -3]),
    ("two indices", lambda x, i: pnp.at(x)[i, i - 1].add(x[i, i] ** 2) * x[i - 1, i], RNG.standard_normal((3, 3)),
     [0, 2, -2]),
]


@pytest.mark.parametrize("name, fun, x, valid", CASES, ids=[c[0] for c in CASES])
def test_traced_integer_indices_equal_numpys_and_have_correct_derivatives(name, fun, x, valid):
    staged = pb.jit(fun)
    for i in valid:
        close(staged(x, i), fun(x, i))
        close(pb.jit(pb.jacrev(fun))(x, i), pb.jacrev(fun)(x, i))
        close(pb.jacfwd(staged)(x, i), pb.jacrev(fun)(x, i))
        pb.testing.check_grads(lambda y, i=i: staged(y, i), (x,), order=2, modes=("fwd", "rev"))
    names = prim_names(pb.make_graph(fun, x, valid[0]))
    assert {"gather", "dynamic_slice", "index_set", "dynamic_update_slice"} & set(names)
    # a batch of indices (vmap over i) and a batch of arrays (vmap over x)
    ii = np.array(valid)
    close(pb.vmap(staged, in_axes=(None, 0))(x, ii), np.stack([fun(x, i) for i in valid]))
    xs = np.stack([x, 2.0 * x])
    close(pb.jit(pb.vmap(fun, in_axes=(0, None)))(xs, valid[-1]), np.stack([fun(y, valid[-1]) for y in xs]))


@pytest.mark.parametrize("i", [4, 7, -5])
def test_an_out_of_bounds_traced_index_raises_indexerror_as_numpy_does(i):
    x = np.arange(4.0)
    with pytest.raises(IndexError):
        x[i]
    with pytest.raises(IndexError):
        pb.jit(lambda x, i: x[i])(x, i)
    with pytest.raises(IndexError):
        pb.jit(lambda x, i: pnp.at(x)[i].set(1.0))(x, i)
    with pytest.raises(IndexError):
        pb.jit(lambda x, i: pnp.at(x)[i].add(1.0))(x, i)


@pytest.mark.parametrize("i", [3, 5, -1, -2, -6])
def test_a_window_numpy_would_shorten_raises_a_dynamic_index_error(i):
    x = np.arange(5.0)
    assert x[i:i + 3].shape != (3,)  # NumPy gives fewer entries here
    with pytest.raises(DynamicIndexError, match="window leaves the array"):
        pb.jit(lambda x, i: x[i:i + 3])(x, i)
    with pytest.raises(DynamicIndexError):
        pb.jit(lambda x, i: pnp.at(x)[i:i + 3].set(0.0))(x, i)


def test_clip_mode_clamps_a_traced_index_and_drop_mode_is_refused_clearly():
    x = np.arange(4.0)
    f = pb.jit(lambda x, i: pnp.at(x)[i].set(9.0, mode="clip"))
    for i in (-9, -1, 2, 7):
        close(f(x, i), pnp.at(x)[i].set(9.0, mode="clip"))
    with pytest.raises(DynamicIndexError, match="mode='drop'"):
        pb.jit(lambda x, i: pnp.at(x)[i].set(9.0, mode="drop"))(x, 1)


def test_a_slice_without_a_static_length_is_refused_clearly():
    x = np.arange(5.0)
    with pytest.raises(PullbackError, match="static length"):
        pb.jit(lambda x, i: x[i:2 * i])(x, 1)
    with pytest.raises(PullbackError, match="step 1"):
        pb.jit(lambda x, i: x[i:i + 2:2])(x, 1)


def test_a_row_or_window_read_with_a_traced_index_is_a_view_as_in_numpy():
    def f(x, i):
        row = x[i]
        row[0] = 100.0 * row[1]
        window = x[i:i + 2, 1]
        window *= 3.0
        return x

    x = RNG.standard_normal((4, 2))
    for i in (0, 2, -4):
        close(pb.jit(f)(x, i), f(x.copy(), i))
        close(pb.jit(pb.jacrev(f))(x, i), pb.jacrev(f)(x, i))
