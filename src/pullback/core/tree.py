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
    """Register `cls` as a pytree node: flatten(obj) -> (children, aux), unflatten(aux, children) -> obj."""
    _REGISTRY[cls] = (flatten, unflatten)


class TreeDef(NamedTuple):
    """The structure of a pytree: node kind, static data, children's structures."""

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
    """Return the leaves of `tree` in a fixed order and its structure."""
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
    """Inverse of tree_flatten."""
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
    return tree_flatten(tree)[0]


def tree_structure(tree: Any) -> TreeDef:
    return tree_flatten(tree)[1]


def tree_map(f: Callable, tree: Any, *rest: Any) -> Any:
    """Apply f to the leaves of tree (and the matching leaves of each tree in rest)."""
    leaves, td = tree_flatten(tree)
    others = []
    for r in rest:
        lv, td2 = tree_flatten(r)
        if td2 != td:
            raise PytreeError(f"tree_map: structures differ: {td} vs {td2}")
        others.append(lv)
    return tree_unflatten(td, [f(*xs) for xs in zip(leaves, *others)])
