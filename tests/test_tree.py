"""Pytrees: flatten / unflatten / map over tuples, lists, dicts, None, namedtuples and
registered classes, and the structures the transformations hand back."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pullback as pb
import pullback.numpy as pnp
from pullback.errors import PytreeError
from pullback.tree_util import (
    register_pytree_node,
    tree_flatten,
    tree_leaves,
    tree_map,
    tree_structure,
    tree_unflatten,
)

Pair = namedtuple("Pair", ["first", "second"])


class Box:
    """A registered node with static data (the label) that is not a leaf."""

    def __init__(self, label, value, extra):
        self.label, self.value, self.extra = label, value, extra

    def __eq__(self, other):
        return type(other) is Box and (self.label, self.value, self.extra) == (other.label, other.value, other.extra)


register_pytree_node(Box, lambda b: ((b.value, b.extra), b.label), lambda label, ch: Box(label, *ch))


def test_flatten_orders_leaves_depth_first_and_dict_keys_sorted():
    tree = {"b": (1, [2, 3]), "a": 0, "c": {"z": 5, "y": 4}}
    leaves, td = tree_flatten(tree)
    assert leaves == [0, 1, 2, 3, 4, 5]
    assert td.num_leaves == 6


def test_none_is_an_empty_node_not_a_leaf():
    leaves, td = tree_flatten((1, None, [None, 2]))
    assert leaves == [1, 2]
    assert tree_unflatten(td, [10, 20]) == (10, None, [None, 20])


def test_arrays_and_scalars_are_leaves():
    a = np.arange(3.0)
    leaves, td = tree_flatten([a, 2.0, np.float64(1.0)])
    assert leaves[0] is a and len(leaves) == 3


def test_roundtrip_keeps_container_types():
    tree = ([1, (2, 3)], {"k": Pair(4, [5])}, None, Box("lbl", 6, (7,)))
    leaves, td = tree_flatten(tree)
    assert leaves == [1, 2, 3, 4, 5, 6, 7]
    back = tree_unflatten(td, leaves)
    assert back == tree
    assert type(back[0]) is list and type(back[0][1]) is tuple
    assert type(back[1]["k"]) is Pair and type(back[3]) is Box and back[3].label == "lbl"


def test_structures_differ_by_container_kind_keys_and_static_data():
    s = tree_structure
    assert s((1, 2)) != s([1, 2])
    assert s({"a": 1}) != s({"b": 1})
    assert s(Pair(1, 2)) != s((1, 2))
    assert s(Box("x", 1, 2)) != s(Box("y", 1, 2))
    assert s(Box("x", 1, 2)) == s(Box("x", 3, 4))
    assert s((1, None)) != s((1, 2))


def test_structure_repr_names_dict_keys_and_node_types():
    r = repr(tree_structure({"alpha": (1, [2]), "beta": Pair(3, None)}))
    assert "'alpha'" in r and "'beta'" in r and "Pair" in r and "None" in r


def test_tree_map_applies_to_leaves_of_several_trees():
    a = {"x": (1, 2), "y": [3]}
    b = {"x": (10, 20), "y": [30]}
    assert tree_map(lambda u, v: u + v, a, b) == {"x": (11, 22), "y": [33]}


def test_tree_map_refuses_trees_of_different_structure():
    with pytest.raises(PytreeError, match="structures differ"):
        tree_map(lambda u, v: u + v, (1, 2), [1, 2])


def test_unflatten_with_too_many_leaves_is_refused():
    _, td = tree_flatten((1, 2))
    with pytest.raises(PytreeError, match="more leaves"):
        tree_unflatten(td, [1, 2, 3])


def test_tree_leaves_matches_flatten():
    tree = [1, {"a": 2, "b": (3, None)}]
    assert tree_leaves(tree) == tree_flatten(tree)[0] == [1, 2, 3]


_leaf = st.integers(-5, 5)
_trees = st.recursive(
    _leaf | st.none(),
    lambda ch: st.lists(ch, max_size=3)
    | st.lists(ch, max_size=3).map(tuple)
    | st.dictionaries(st.sampled_from("abcd"), ch, max_size=3)
    | st.builds(Pair, ch, ch),
    max_leaves=10,
)


@settings(max_examples=60, deadline=None)
@given(_trees)
def test_flatten_unflatten_roundtrip_property(tree):
    leaves, td = tree_flatten(tree)
    assert tree_unflatten(td, leaves) == tree
    assert tree_structure(tree_map(lambda x: x * 2, tree)) == td
    assert td.num_leaves == len(leaves)


# ----------------------------------------------------------------------------- pytrees through transformations


def test_grad_of_registered_class_with_static_data_keeps_the_static_data():
    b = Box("scale", np.array([1.0, 2.0]), np.array(3.0))
    g = pb.grad(lambda b: pnp.sum(b.value**2) * b.extra)(b)
    assert type(g) is Box and g.label == "scale"
    np.testing.assert_allclose(g.value, 2 * b.value * 3.0)
    assert np.isclose(g.extra, 5.0)


def test_jacobian_of_pytree_input_has_the_input_structure():
    p = {"w": np.array([1.0, 2.0]), "b": np.array(0.5)}
    f = lambda p: pnp.tanh(p["w"] * p["b"])
    for jac in (pb.jacfwd, pb.jacrev):
        J = jac(f)(p)
        assert set(J) == {"w", "b"}
        assert J["w"].shape == (2, 2) and J["b"].shape == (2,)
        s = 1 - np.tanh(p["w"] * 0.5) ** 2
        np.testing.assert_allclose(J["w"], np.diag(s * 0.5))
        np.testing.assert_allclose(J["b"], s * p["w"])


def test_vjp_over_namedtuple_and_none_leaves():
    p = Pair(np.array([1.0, 2.0]), None)
    out, vjp_fn = pb.vjp(lambda p: Pair(p.first * 2.0, [None, pnp.sum(p.first)]), p)
    assert type(out) is Pair and out.second[0] is None
    (g,) = vjp_fn(Pair(np.ones(2), [None, 1.0]))
    assert type(g) is Pair and g.second is None
    np.testing.assert_allclose(g.first, [3.0, 3.0])


def test_hvp_over_dict_of_params():
    p = {"a": np.array([0.3, -0.2]), "b": np.array(1.5)}
    v = {"a": np.array([1.0, 2.0]), "b": np.array(-1.0)}
    f = lambda p: pnp.sum(p["a"] ** 2) * p["b"] ** 2
    for mode in ("fwd", "rev"):
        g, hv = pb.hvp(f, (p,), (v,), mode=mode)
        assert set(hv) == {"a", "b"}
        a, b = p["a"], p["b"]
        np.testing.assert_allclose(hv["a"], 2 * b**2 * v["a"] + 4 * a * b * v["b"])
        np.testing.assert_allclose(hv["b"], 4 * b * (a @ v["a"]) + 2 * np.sum(a**2) * v["b"])


def test_hessian_over_dict_input_is_a_dict_of_dicts_of_blocks():
    p = {"a": np.array([1.0, 2.0]), "b": np.array(3.0)}
    H = pb.hessian(lambda p: pnp.sum(p["a"] ** 2) * p["b"])(p)
    np.testing.assert_allclose(H["a"]["a"], 2 * 3.0 * np.eye(2))
    np.testing.assert_allclose(H["a"]["b"], 2 * p["a"])
    np.testing.assert_allclose(H["b"]["a"], 2 * p["a"])
    assert np.shape(H["b"]["b"]) == () and H["b"]["b"] == 0.0
