"""Shared helpers of pullback.scipy.integrate / optimize: splitting `args` into what is differentiated.

SciPy's solvers take extra arguments `args=(...)`, any mix of float arrays, integers,
strings and callables. The float leaves (arrays, Python floats, traced values) are the
inputs a derivative flows to; every other leaf is static and passed through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.tree import tree_flatten, tree_unflatten


def _is_float_leaf(x: Any) -> bool:
    dt = getattr(x, "dtype", None)
    if dt is None:
        if isinstance(x, bool) or not isinstance(x, (int, float, complex)):
            return False
        dt = np.asarray(x).dtype
    return np.dtype(dt).kind == "f"


def as_args_tuple(args: Any) -> tuple:
    """SciPy's convention: a non-tuple `args` is one argument."""
    return args if isinstance(args, tuple) else (args,)


def split_args(args: tuple) -> tuple[list, Callable[[list], tuple]]:
    """(float leaves of args, rebuild) with rebuild(leaves) -> args with those leaves replaced."""
    leaves, tree = tree_flatten(tuple(args))
    where = [i for i, leaf in enumerate(leaves) if _is_float_leaf(leaf)]
    diff = [leaves[i] for i in where]

    def rebuild(new: list) -> tuple:
        full = list(leaves)
        for i, v in zip(where, new):
            full[i] = v
        return tuple(tree_unflatten(tree, full))

    return diff, rebuild


def static_key(args: tuple) -> tuple | None:
    """A hashable key of args' structure and static (non-float) leaves, None if one is unhashable.

    Two calls with equal keys differ only in their float leaves (the differentiated inputs)."""
    leaves, tree = tree_flatten(tuple(args))
    key = (tree, tuple(None if _is_float_leaf(leaf) else (type(leaf), leaf) for leaf in leaves))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def function_key(func: Any) -> tuple | None:
    """A hashable key under which two Python functions compute the same thing: the same code, the same
    objects in their closure cells (by identity), the same globals and defaults; None for other callables
    (bound methods, partials, callable objects) and empty cells. Whoever caches by it must keep the
    first function alive (so that the identities cannot be reused)."""
    code = getattr(func, "__code__", None)
    if code is None or not hasattr(func, "__globals__"):
        return None
    try:
        cells = tuple(id(c.cell_contents) for c in (func.__closure__ or ()))
    except ValueError:   # an empty cell
        return None
    defaults = tuple(id(d) for d in (func.__defaults__ or ()))
    kwdefaults = tuple(sorted((k, id(v)) for k, v in (func.__kwdefaults__ or {}).items()))
    return (code, cells, id(func.__globals__), defaults, kwdefaults)
