"""Pytrees: nested tuples, lists, dicts, None and registered classes, flattened to leaf lists."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, NamedTuple

from ..errors import PytreeError

_REGISTRY: dict[type, tuple[Callable, Callable]] = {}


def register_pytree_node(
    cls: type,
    flatten: Callable[[Any], tuple[list, Hashable]],
    unflatten: Callable[[Hashable, list], Any],
) -> None:
    """Register `cls` as a pytree node: flatten(obj) -> (children, aux), unflatten(aux, children) -> obj.

    Parameters
    ----------
    cls : type
        The container type.
    flatten : callable
        ``obj -> (children, aux)``: a list of children (pytrees) and hashable static data.
    unflatten : callable
        ``(aux, children) -> obj``.

    Returns
    -------
    None

    Examples
    --------
    >>> import pullback as pb, pullback.numpy as np
    >>> from pullback.tree_util import register_pytree_node
    >>> class Point:
    ...     def __init__(self, x, y):
    ...         self.x, self.y = x, y
    >>> register_pytree_node(Point, lambda p: ([p.x, p.y], None), lambda aux, ch: Point(*ch))
    >>> g = pb.grad(lambda p: p.x * p.y)(Point(2.0, 3.0))
    >>> g.x, g.y
    (np.float64(3.0), np.float64(2.0))
    """
    _REGISTRY[cls] = (flatten, unflatten)


class TreeDef(NamedTuple):
    """The structure of a pytree: node kind, static data, children's structures.

    ``num_leaves`` counts the leaves; tree_unflatten(treedef, leaves) rebuilds a tree.

    Examples
    --------
    >>> from pullback.tree_util import tree_structure
    >>> tree_structure({"a": 1.0, "b": (2.0, 3.0)}).num_leaves
    3
    """

    kind: Any  # None for a leaf, else the node type
    aux: Any
    children: tuple

    @property
    def num_leaves(self) -> int:
        if self.kind is None:
            return 1
        return sum(c.num_leaves for c in self.children)

    def __repr__(self) -> str:
        if self.kind is None:
            return "*"
        if self.kind is type(None):
            return "None"
        if self.kind is dict:  # show the keys: two dicts differing only in keys must not print alike
            return "{" + ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.aux, self.children)) + "}"
        inner = ", ".join(repr(c) for c in self.children)
        return f"{getattr(self.kind, '__name__', self.kind)}({inner})"


_LEAF = TreeDef(None, None, ())
_NONE = TreeDef(type(None), None, ())


def _node_parts(x: Any):
    t = type(x)
    if t is tuple or t is list:
        return t, None, list(x)
    if t is dict:
        keys = sorted(x)
        return dict, tuple(keys), [x[k] for k in keys]
    if x is None:
        return type(None), None, []
    if t in _REGISTRY:
        children, aux = _REGISTRY[t][0](x)
        return t, aux, list(children)
    if isinstance(x, tuple) and hasattr(x, "_fields"):  # namedtuple
        return t, None, list(x)
    return None


def tree_flatten(tree: Any) -> tuple[list, TreeDef]:
    """Return the leaves of `tree` in a fixed order and its structure.

    Containers are tuples, lists, dicts (in sorted key order), None (no leaves), namedtuples
    and registered classes; anything else is a leaf.

    Parameters
    ----------
    tree : pytree
        Nested containers of leaves.

    Returns
    -------
    tuple
        ``(leaves, treedef)``.

    Examples
    --------
    >>> from pullback.tree_util import tree_flatten
    >>> tree_flatten({"b": 2.0, "a": (1.0, None)})[0]
    [1.0, 2.0]
    """
    leaves: list = []

    def walk(x):
        parts = _node_parts(x)
        if parts is None:
            leaves.append(x)
            return _LEAF
        kind, aux, children = parts
        if kind is type(None):
            return _NONE
        return TreeDef(kind, aux, tuple(walk(c) for c in children))

    return leaves, walk(tree)


def tree_unflatten(treedef: TreeDef, leaves) -> Any:
    """Inverse of tree_flatten.

    Parameters
    ----------
    treedef : TreeDef
        A structure from tree_flatten or tree_structure.
    leaves : iterable
        As many leaves as the structure holds.

    Returns
    -------
    pytree
        The tree with the given leaves.

    Raises
    ------
    PytreeError
        The number of leaves does not match the structure.

    Examples
    --------
    >>> from pullback.tree_util import tree_flatten, tree_unflatten
    >>> leaves, td = tree_flatten((1.0, [2.0]))
    >>> tree_unflatten(td, [10.0, 20.0])
    (10.0, [20.0])
    """
    it = iter(leaves)

    def build(td: TreeDef):
        if td.kind is None:
            return next(it)
        if td.kind is type(None):
            return None
        children = [build(c) for c in td.children]
        if td.kind is tuple:
            return tuple(children)
        if td.kind is list:
            return children
        if td.kind is dict:
            return dict(zip(td.aux, children))
        if td.kind in _REGISTRY:
            return _REGISTRY[td.kind][1](td.aux, children)
        return td.kind(*children)  # namedtuple

    out = build(treedef)
    if next(it, _SENTINEL) is not _SENTINEL:
        raise PytreeError("tree_unflatten got more leaves than the structure holds")
    return out


_SENTINEL = object()


def tree_leaves(tree: Any) -> list:
    """The leaves of `tree`, in tree_flatten's order.

    Parameters
    ----------
    tree : pytree
        Nested containers of leaves.

    Returns
    -------
    list
        The leaves.

    Examples
    --------
    >>> from pullback.tree_util import tree_leaves
    >>> tree_leaves([1.0, (2.0, {"k": 3.0})])
    [1.0, 2.0, 3.0]
    """
    return tree_flatten(tree)[0]


def tree_structure(tree: Any) -> TreeDef:
    """The structure (TreeDef) of `tree`, without its leaves.

    Parameters
    ----------
    tree : pytree
        Nested containers of leaves.

    Returns
    -------
    TreeDef
        Its structure.

    Examples
    --------
    >>> from pullback.tree_util import tree_structure
    >>> tree_structure((1.0, 2.0)) == tree_structure((3.0, 4.0))
    True
    """
    return tree_flatten(tree)[1]


def tree_map(f: Callable, tree: Any, *rest: Any) -> Any:
    """Apply f to the leaves of tree (and the matching leaves of each tree in rest).

    Parameters
    ----------
    f : callable
        Called as ``f(leaf, *matching_leaves)``.
    tree : pytree
        The tree whose structure the result keeps.
    *rest : pytree
        Trees with the same structure as tree.

    Returns
    -------
    pytree
        A tree of f's results.

    Raises
    ------
    PytreeError
        A tree in rest has a different structure.

    Examples
    --------
    >>> from pullback.tree_util import tree_map
    >>> tree_map(lambda a, b: a + b, {"w": 1.0, "b": 2.0}, {"w": 10.0, "b": 20.0})
    {'b': 22.0, 'w': 11.0}
    """
    leaves, td = tree_flatten(tree)
    others = []
    for r in rest:
        lv, td2 = tree_flatten(r)
        if td2 != td:
            raise PytreeError(f"tree_map: structures differ: {td} vs {td2}")
        others.append(lv)
    return tree_unflatten(td, [f(*xs) for xs in zip(leaves, *others)])
