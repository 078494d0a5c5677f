"""Graph.check(): the IR type checker, and that the suite runs it on every staged graph and pass."""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback.core import check
from pullback.core.ir import Eqn, Graph, ShapeDtype, Var
from pullback.errors import GraphCheckError, PullbackError
from pullback.primitives import elementwise as ew
from pullback.primitives import reductions as red


def _mlp(x):
    return pnp.sum(pnp.tanh(x @ np.ones((3, 2))) ** 2)


def test_the_suite_checks_every_graph():
    assert check.ENABLED


def test_well_typed_graphs_pass_the_check():
    x = np.ones((4, 3))
    cube = lambda v: pnp.sum(v ** 3)  # noqa: E731
    for fun, arg in ((_mlp, x), (pb.grad(_mlp), x), (lambda x: pb.jvp(_mlp, (x,), (x,))[1], x),
                     (pb.hessian(cube), x[0]), (pb.vmap(pb.grad(cube)), x)):
        g = pb.make_graph(fun, arg)
        assert g.check() is g
        assert g.simplify().check().op_count() <= g.op_count()


def _graph(out_aval: ShapeDtype):
    x = Var(ShapeDtype((3,), np.float64))
    y = Var(out_aval)
    return Graph([x], [Eqn(ew.UNARY["sin"], [x], {}, [y])], [y])


def test_a_wrong_shape_is_reported_with_the_equation():
    with pytest.raises(GraphCheckError, match=r"equation 0 \(sin\).*float64\[4\].*float64\[3\]"):
        _graph(ShapeDtype((4,), np.float64)).check()


def test_a_wrong_dtype_or_weak_type_is_reported():
    with pytest.raises(GraphCheckError, match="float32"):
        _graph(ShapeDtype((3,), np.float32)).check()
    x = Var(ShapeDtype((), np.float64, weak=True))
    y = Var(ShapeDtype((), np.float64))  # weak + weak is weak
    with pytest.raises(GraphCheckError, match="weak"):
        Graph([x], [Eqn(ew.add, [x, x], {}, [y])], [y]).check()


def test_use_before_definition_and_double_definition_are_reported():
    x, y, z = (Var(ShapeDtype((3,), np.float64)) for _ in range(3))
    with pytest.raises(GraphCheckError, match="before it is defined"):
        Graph([x], [Eqn(ew.add, [x, z], {}, [y])], [y]).check()
    with pytest.raises(GraphCheckError, match="fresh"):
        Graph([x], [Eqn(ew.negative, [x], {}, [x])], [x]).check()
    with pytest.raises(GraphCheckError, match="not defined"):
        Graph([x], [], [z]).check()


def test_params_the_shape_rule_rejects_are_reported():
    x, y = Var(ShapeDtype((3,), np.float64)), Var(ShapeDtype((), np.float64))
    with pytest.raises(GraphCheckError, match="rejected by its shape rule"):
        Graph([x], [Eqn(red.reduce_sum, [x], {"axis": (0,)}, [y])], [y]).check()  # keepdims missing


def test_an_ill_typed_graph_is_caught_after_a_pass():
    g = _graph(ShapeDtype((4,), np.float64))
    for run in (Graph.simplify, Graph.dce, Graph.cse, Graph.fold_constants):
        with pytest.raises(GraphCheckError, match="simplify|dce|cse|fold_constants"):
            run(g)


def test_checking_off_lets_passes_run_unchecked(monkeypatch):
    monkeypatch.setattr(check, "ENABLED", False)
    assert _graph(ShapeDtype((4,), np.float64)).dce().op_count() == 1


def test_graph_check_error_is_a_pullback_error():
    assert issubclass(GraphCheckError, PullbackError)
