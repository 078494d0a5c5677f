"""Staging for users: make_graph (trace a function into a printable Graph) and jit."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

from .core.codegen import sanitize
from .core.ir import Graph, eval_graph
from .core.staging import abstractify, trace_flat
from .core.trace import Tracer
from .core.tree import tree_flatten, tree_unflatten
from .errors import ArgnumsError, PullbackError


class StaticArgError(PullbackError, TypeError):
    """A static argument of jit/make_graph is not hashable."""


def _leaf_names(fun: Callable, dyn_positions: list[int], dyn_args: list) -> list[str]:
    """Names for the flat inputs, from the function's parameter names and pytree paths."""
    try:
        params = list(inspect.signature(fun).parameters)
    except (TypeError, ValueError):
        params = []
    names = []
    for pos, arg in zip(dyn_positions, dyn_args):
        base = params[pos] if pos < len(params) and not params[pos].startswith("*") else f"arg{pos}"
        leaves, _ = tree_flatten(arg)
        if len(leaves) == 1 and not isinstance(arg, (list, tuple, dict)):
            names.append(sanitize(base))
        else:
            names.extend(sanitize(f"{base}_{i}") for i in range(len(leaves)))
    return names


class _Staged:
    """fun split into static and dynamic arguments, with the pytree plumbing for tracing."""

    def __init__(self, fun: Callable, static_argnums: tuple, args: tuple, kwargs: dict):
        n = len(args)
        for i in static_argnums:
            if not -n <= i < n:
                raise ArgnumsError(f"static_argnums={static_argnums} but the function got {n} positional arguments")
        self.static = tuple(sorted(i % n for i in static_argnums))
        self.dyn_pos = [i for i in range(n) if i not in self.static]
        self.fun, self.args, self.kwargs = fun, args, kwargs
        self.leaves, self.in_tree = tree_flatten([args[i] for i in self.dyn_pos])
        self.static_vals = tuple(args[i] for i in self.static)
        self.out_tree = None

    def key(self) -> tuple:
        try:
            hash(self.static_vals)
        except TypeError as err:
            raise StaticArgError(
                f"static arguments must be hashable (they key the trace cache); got {self.static_vals!r}. "
                "Pass a tuple instead of a list, or make the argument dynamic (an array)."
            ) from err
        avals = tuple((a.shape, a.dtype) for a in map(abstractify, self.leaves))
        return (self.in_tree, avals, self.static_vals, tuple(sorted(self.kwargs.items())) if self.kwargs else ())

    def flat_fun(self, flat: list) -> list:
        dyn = tree_unflatten(self.in_tree, flat)
        args = list(self.args)
        for i, v in zip(self.dyn_pos, dyn):
            args[i] = v
        out = self.fun(*args, **self.kwargs)
        leaves, self.out_tree = tree_flatten(out)
        return leaves

    def trace(self) -> Graph:
        names = _leaf_names(self.fun, self.dyn_pos, [self.args[i] for i in self.dyn_pos])
        g = trace_flat(self.flat_fun, [abstractify(x) for x in self.leaves], names)
        g.in_tree, g.out_tree, g.in_names = self.in_tree, self.out_tree, names
        return g


def make_graph(fun: Callable, *args: Any, static_argnums: tuple | int = ()) -> Any:
    """Trace fun into a Graph: make_graph(f, *args) or make_graph(f, static_argnums=...)(*args)."""
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    def build(*a, **kw) -> Graph:
        return _Staged(fun, static, a, kw).trace()

    return build(*args) if args else build


def jit(fun: Callable, static_argnums: tuple | int = ()) -> Callable:
    """Trace fun once per (shapes, dtypes, static values, pytree structure), simplify the graph, and
    run its generated NumPy code. Called with traced values (grad(jit(f))), the graph is evaluated
    primitive by primitive, so every transformation sees through it."""
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    cache: dict = {}

    @functools.wraps(fun)
    def jitted(*args, **kwargs):
        st = _Staged(fun, static, args, kwargs)
        key = st.key()
        entry = cache.get(key)
        if entry is None:
            graph = st.trace().simplify()
            entry = cache[key] = (graph, graph.compile())
        graph, compiled = entry
        if any(isinstance(x, Tracer) for x in st.leaves):
            outs = eval_graph(graph, st.leaves)
        else:
            outs = compiled(*st.leaves)
        return tree_unflatten(graph.out_tree, list(outs))

    jitted.cache = cache  # type: ignore[attr-defined]
    jitted.graph = lambda *a, **kw: cache[_Staged(fun, static, a, kw).key()][0]  # type: ignore[attr-defined]
    return jitted
