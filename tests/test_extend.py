"""pullback.extend: the worked example of docs/extending.md, run from the page and checked like a built-in."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import pullback as pb
import pullback.extend as ext
import pullback.numpy as pnp
from pullback.core.trace import UFUNC_HANDLERS
from pullback.errors import UnsupportedFunctionError
from pullback.testing import check_grads

DOC = Path(__file__).resolve().parent.parent / "docs" / "extending.md"


def _doc_namespace() -> dict:
    """Execute every ```python block of docs/extending.md, in order, in one namespace."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 2
    ns: dict = {"__name__": "extending_example"}
    for code in blocks:
        exec(compile(code, str(DOC), "exec"), ns)  # noqa: S102 - our own documentation
    return ns


NS = _doc_namespace()
xlogy, xlogy_p = NS["xlogy"], NS["xlogy_p"]


def reference(x, y):
    dtype = np.result_type(x, y, 1.0)
    x, y = np.broadcast_arrays(np.asarray(x, dtype), np.asarray(y, dtype))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x == 0, 0.0, x * np.log(np.where(x == 0, 1.0, y)))


def test_the_page_runs_and_its_claims_hold():
    assert NS["gy"].shape == (2, 1) and NS["gx"].shape == (3,)
    assert NS["hess"].shape == (3, 3) and NS["batched"].shape == (4, 3)
    np.testing.assert_allclose(NS["staged"], NS["gx"], rtol=1e-14)
    assert NS["graph"].op_count() == 0


def test_extend_exports_what_the_page_and_rules_use():
    for name in ext.__all__:
        assert hasattr(ext, name), name
    from pullback.core.primitive import Primitive

    assert ext.Primitive is Primitive and isinstance(xlogy_p, Primitive)


@pytest.mark.parametrize("x, y", [
    (np.array([0.0, 0.5, -2.0]), np.array([1.0, 3.0, 0.5])),
    (0.0, np.array([0.0, np.inf, np.nan, 2.0])),
    (np.array([[1.0], [0.0]]), np.array([0.0, 1.0, np.e])),
    (2, 3),
    (np.float32(1.5), np.array([2.0], np.float32)),
])
def test_values_follow_scipys_convention(x, y):
    out = xlogy(x, y)
    ref = reference(x, y)
    np.testing.assert_array_equal(np.asarray(out), ref)
    assert np.asarray(out).dtype == np.result_type(x, y, 1.0)
    staged = pb.jit(xlogy)(x, y)
    np.testing.assert_array_equal(np.asarray(staged), np.asarray(out))


# (x shape, y shape): broadcasting both ways, scalars, size-0 and size-1 axes
SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((1, 3), (4, 1)), ((), (3,)), ((2, 1), ()), ((0, 3), (3,)), ((1,), (1,)),
          ((2, 0), (2, 1))]


def _point(rng, xs, ys):
    x = rng.uniform(-2.0, 2.0, xs)
    y = rng.uniform(0.5, 3.0, ys)
    return x, y


@pytest.mark.parametrize("xs, ys", SHAPES)
def test_derivatives_to_order_two_with_broadcasting(xs, ys, rng):
    x, y = _point(rng, xs, ys)
    check_grads(xlogy, (x, y), order=2, modes=("fwd", "rev"))
    check_grads(lambda x: xlogy(x, y), (x,), order=2)
    check_grads(lambda y: xlogy(x, y), (y,), order=2)


def test_derivatives_to_order_three_at_a_sample(rng):
    x, y = _point(rng, (2, 3), (3,))
    check_grads(xlogy, (x, y), order=3, modes=("fwd", "rev"))


def test_derivative_in_y_is_zero_where_x_is_zero():
    x, y = np.array([0.0, 1.0]), np.array([0.0, 2.0])
    gy = pb.grad(lambda y: pnp.sum(xlogy(x, y)))(y)
    np.testing.assert_array_equal(gy, [0.0, 0.5])
    gx = pb.grad(lambda x: pnp.sum(xlogy(x, np.array([1.0, np.e]))))(x)
    np.testing.assert_allclose(gx, [0.0, 1.0])


def test_reverse_cotangents_have_the_inputs_shapes_and_dtypes():
    x, y = np.ones((2, 3), np.float32), np.full((1, 3), 2.0, np.float32)
    out, pull = pb.vjp(xlogy, x, y)
    gx, gy = pull(np.ones_like(out))
    assert (gx.shape, gx.dtype, gy.shape, gy.dtype) == ((2, 3), np.float32, (1, 3), np.float32)
    np.testing.assert_allclose(gy, 2 * np.ones((1, 3)) / 2.0, rtol=1e-6)


@pytest.mark.parametrize("in_axes", [(0, 0), (0, None), (None, 0), (1, 0)])
def test_vmap_equals_a_loop(in_axes, rng):
    x, y = rng.uniform(-1, 1, (4, 3)), rng.uniform(0.5, 2, (4, 3))
    f = lambda x, y: pnp.sum(xlogy(x, y) * pnp.sin(y))  # noqa: E731
    args = [x if in_axes[0] is not None else x[0], y if in_axes[1] is not None else y[0]]
    if in_axes[0] == 1:
        args[0] = x.T.copy()
    got = pb.vmap(pb.grad(f, argnums=(0, 1)), in_axes=in_axes)(*args)
    for b in range(4):
        xb = x[b] if in_axes[0] is not None else x[0]
        yb = y[b] if in_axes[1] is not None else y[0]
        want = pb.grad(f, argnums=(0, 1))(xb, yb)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g[b], w, rtol=1e-12)


def test_jit_grad_and_hessian_equal_eager(rng):
    x, y = _point(rng, (3,), (2, 1))
    f = lambda x, y: pnp.sum(xlogy(x, y) ** 2)  # noqa: E731
    for fun in (pb.grad(f, argnums=(0, 1)), pb.hessian(f), lambda x, y: pb.jvp(f, (x, y), (x, y))[1]):
        eager, staged = fun(x, y), pb.jit(fun)(x, y)
        for e, s in zip(pb.tree_util.tree_leaves(eager), pb.tree_util.tree_leaves(staged)):
            np.testing.assert_allclose(s, e, rtol=1e-12, atol=1e-14)


def test_the_graph_names_and_checks_the_new_primitive():
    g = pb.make_graph(lambda x, y: xlogy(x, y) * 2.0, np.ones(3), np.ones(3))
    assert [e.prim for e in g.eqns][0] is xlogy_p
    assert "xlogy0" in str(g) and g.check() is g
    src = g.source()
    assert "prims_xlogy" in src  # no render hook: the source calls the implementation
    np.testing.assert_allclose(g.compile()(np.ones(3), np.full(3, 2.0))[0], 2 * np.log(2.0) * np.ones(3))


def test_the_rewrite_rule_is_exact_on_nonfinite_values():
    y = np.array([0.0, np.inf, np.nan, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.array_equal(pb.jit(lambda y: xlogy(0.0, y))(y), np.zeros(4))
        np.testing.assert_array_equal(pb.jit(lambda x: xlogy(x, np.inf))(np.array([0.0, 1.0])), [0.0, np.inf])


def test_def_ufunc_routes_a_numpy_ufunc_on_traced_values():
    calls = []

    def fake_hypot(a, b):
        calls.append(1)
        return pnp.sqrt(a * a + b * b)

    saved = UFUNC_HANDLERS.get(np.hypot)
    try:
        ext.def_ufunc(np.hypot, fake_hypot, "numpy.hypot")
        g = pb.grad(lambda a: np.hypot(a, 4.0))(3.0)
        assert calls and np.isclose(g, 0.6)
        with pytest.raises(UnsupportedFunctionError, match="numpy.hypot.reduce"):
            pb.grad(lambda a: np.hypot.reduce(a))(np.ones(2))
    finally:
        if saved is None:
            UFUNC_HANDLERS.pop(np.hypot, None)
        else:
            UFUNC_HANDLERS[np.hypot] = saved
