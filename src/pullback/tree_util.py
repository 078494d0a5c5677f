"""Pytree utilities (JAX's names)."""

from .core.tree import (
    TreeDef,
    register_pytree_node,
    tree_flatten,
    tree_leaves,
    tree_map,
    tree_structure,
    tree_unflatten,
)

__all__ = [
    "TreeDef", "register_pytree_node", "tree_flatten", "tree_leaves", "tree_map", "tree_structure",
    "tree_unflatten",
]
