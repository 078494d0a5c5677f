"""Staging for users: make_graph (trace a function into a printable Graph) and jit."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from .api import _int_tuple
from .core.codegen import compile_graph, sanitize
from .core.ir import Const, Graph, eval_graph
from .core.staging import abstractify, trace_flat
from .core.trace import Tracer
from .core.tree import TreeDef, tree_flatten, tree_unflatten
from .errors import ArgnumsError, PullbackError


class StaticArgError(PullbackError, TypeError):
    """A static argument of jit/make_graph is not hashable."""


def _param_names(fun: Callable) -> list[str]:
    try:
        params = inspect.signature(fun).parameters.values()
    except (TypeError, ValueError):
        return []
    names = []
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            break
        names.append(p.name)
    return names


def _path_names(base: str, tree: TreeDef) -> list[str]:
    """One name per leaf: the argument's name, then the keys / indices leading to the leaf (d_W, xs_0 ...)."""
    out: list[str] = []

    def walk(td: TreeDef, prefix: str):
        if td.kind is None:
            out.append(prefix)
            return
        if td.kind is dict:
            labels = [str(k) for k in td.aux]
        elif isinstance(td.kind, type) and issubclass(td.kind, tuple) and hasattr(td.kind, "_fields"):
            labels = list(td.kind._fields)
        else:
            labels = [str(i) for i in range(len(td.children))]
        for label, child in zip(labels, td.children):
            walk(child, f"{prefix}_{label}")

    walk(tree, base)
    return out


def _is_array_like(x: Any) -> bool:
    return isinstance(x, (np.ndarray, np.generic, Tracer, bool, int, float, complex))


class _Staged:
    """fun split into static and dynamic arguments, with the pytree plumbing for tracing.

    Positional arguments not in static_argnums and all keyword arguments are dynamic: their
    array leaves (arrays, NumPy and Python numbers) are traced. Static arguments, and leaves
    that are not arrays (strings, callables ...), are passed to fun as they are and key the
    trace cache.
    """

    def __init__(self, fun: Callable, static_argnums: tuple, args: tuple, kwargs: dict):
        n = len(args)
        for i in static_argnums:
            if not -n <= i < n:
                raise ArgnumsError(f"static_argnums={static_argnums} but the function got {n} positional arguments")
        self.static = tuple(sorted({i % n for i in static_argnums}))
        self.dyn_pos = [i for i in range(n) if i not in self.static]
        self.fun, self.args = fun, args
        self.kw_names = tuple(sorted(kwargs))
        dyn = ([args[i] for i in self.dyn_pos], [kwargs[k] for k in self.kw_names])
        self.all_leaves, self.in_tree = tree_flatten(dyn)
        self.mask = tuple(_is_array_like(x) for x in self.all_leaves)
        self.leaves = [x for x, m in zip(self.all_leaves, self.mask) if m]
        self.static_vals = tuple(args[i] for i in self.static)
        self.static_leaves = tuple(x for x, m in zip(self.all_leaves, self.mask) if not m)
        self.out_tree = None

    def key(self) -> tuple:
        for where, vals in (("static argument", self.static_vals), ("non-array argument", self.static_leaves)):
            try:
                hash(vals)
            except TypeError as err:
                bad = next(v for v in vals if not _hashable(v))
                which = (f"static argument {self.static[self.static_vals.index(bad)]} (static_argnums)"
                         if where == "static argument" else f"the non-array argument {bad!r:.60}")
                raise StaticArgError(
                    f"{which} must be hashable, because static values key the trace cache; got a "
                    f"{type(bad).__name__}: {bad!r:.80}. Pass a tuple instead of a list, or make the argument "
                    "dynamic (an array) by leaving it out of static_argnums."
                ) from err
        avals = tuple(map(abstractify, self.leaves))
        return (self.in_tree, self.mask, avals, self.kw_names, self.static, self.static_vals, self.static_leaves)

    def merge(self, flat: list) -> list:
        """All leaves: the traced ones from `flat`, the others as they were given."""
        dyn, rest = iter(flat), iter(self.static_leaves)
        return [next(dyn) if m else next(rest) for m in self.mask]

    def flat_fun(self, flat: list) -> list:
        dyn_pos, dyn_kw = tree_unflatten(self.in_tree, self.merge(flat))
        args = list(self.args)
        for i, v in zip(self.dyn_pos, dyn_pos):
            args[i] = v
        out = self.fun(*args, **dict(zip(self.kw_names, dyn_kw)))
        leaves, self.out_tree = tree_flatten(out)
        return leaves

    def leaf_names(self) -> list[str]:
        params = _param_names(self.fun)
        pos_tree, kw_tree = self.in_tree.children
        names = []
        for pos, td in zip(self.dyn_pos, pos_tree.children):
            names += _path_names(params[pos] if pos < len(params) else f"arg{pos}", td)
        for k, td in zip(self.kw_names, kw_tree.children):
            names += _path_names(k, td)
        return [sanitize(n) for n, m in zip(names, self.mask) if m]

    def trace(self) -> Graph:
        names = self.leaf_names()
        g = trace_flat(self.flat_fun, [abstractify(x) for x in self.leaves], names)
        g.in_tree, g.out_tree, g.in_names = self.in_tree, self.out_tree, names
        return g


def _hashable(v: Any) -> bool:
    try:
        hash(v)
        return True
    except TypeError:
        return False


def _static_tuple(static_argnums) -> tuple:
    return _int_tuple(static_argnums, "static_argnums", "jit")[0]


def make_graph(fun: Callable, *args: Any, static_argnums: tuple | int = (), **kwargs: Any) -> Any:
    """Trace fun into a Graph: make_graph(f, *args, **kwargs), or make_graph(f, static_argnums=...)(*args).

    Static arguments are passed to fun as they are (they may steer Python control flow);
    every other argument (any pytree of arrays) becomes graph inputs named after fun's parameters.

    Parameters
    ----------
    fun : callable
        The function to trace.
    *args, **kwargs : pytrees of arrays
        Example arguments (only shapes, dtypes and static values matter). With no arguments,
        make_graph returns a function that takes them.
    static_argnums : int or tuple of int, optional
        Arguments kept as Python values.

    Returns
    -------
    Graph or callable
        The traced graph (print it to read the equations), or a function building it.

    Examples
    --------
    >>> import pullback as pb, pullback.numpy as np
    >>> g = pb.make_graph(lambda x: np.sin(x) * 2.0, np.zeros(3))
    >>> "sin" in str(g)
    True
    """
    static = _static_tuple(static_argnums)

    def build(*a, **kw) -> Graph:
        return _Staged(fun, static, a, kw).trace()

    return build(*args, **kwargs) if args or kwargs else build


def _output(x: Any, copy: bool) -> Any:
    """A value handed back by a jitted function: a fresh, writable array for constants, inputs and
    read-only views (np.broadcast_to), so no call can alter what another call returns."""
    if isinstance(x, np.ndarray) and (copy or not x.flags.writeable):
        return np.array(x, copy=True)
    return x


def jit(fun: Callable, static_argnums: tuple | int = ()) -> Callable:
    """Trace fun once per (pytree structure, shapes, dtypes, static values), simplify the graph, and
    run its generated NumPy code. Called with traced values (grad(jit(f)), jit inside jit), the
    graph is evaluated primitive by primitive, so every transformation sees through it.

    The returned function has `.cache` (one entry per trace), `.graph(*args)` and `.source(*args)`.
    Python control flow runs once, at trace time: it may depend on shapes and static arguments,
    not on array values (use pb.cond / pb.while_loop for that).

    Parameters
    ----------
    fun : callable
        A function of arrays (pytrees of arrays).
    static_argnums : int or tuple of int, optional
        Arguments passed to fun as Python values; each distinct value is traced anew (they
        must be hashable).

    Returns
    -------
    callable
        The compiled function, with the same signature as fun.

    Raises
    ------
    StaticArgError
        A static argument is not hashable.
    ArgnumsError
        static_argnums is out of range for the arguments given.
    ConcretizationError
        fun branches in Python on a staged value (e.g. ``if x > 0`` on an argument).

    Examples
    --------
    >>> import pullback as pb, pullback.numpy as np
    >>> f = pb.jit(lambda x: np.sum(np.tanh(x) ** 2))
    >>> float(f(np.zeros(3)))
    0.0
    >>> pb.grad(f)(np.zeros(2))
    array([0., 0.])
    """
    static = _static_tuple(static_argnums)
    cache: dict = {}

    def lookup(args, kwargs):
        st = _Staged(fun, static, args, kwargs)
        key = st.key()
        entry = cache.get(key)
        if entry is None:
            graph = st.trace().simplify()
            inputs = set(graph.in_vars)
            fresh = tuple(isinstance(o, Const) or o in inputs for o in graph.outs)  # outputs to copy
            name = getattr(fun, "__name__", "")
            entry = cache[key] = (graph, compile_graph(graph, name if name.isidentifier() else "staged"), fresh)
        return st, entry

    @functools.wraps(fun)
    def jitted(*args, **kwargs):
        st, (graph, compiled, fresh) = lookup(args, kwargs)
        if any(isinstance(x, Tracer) for x in st.leaves):
            outs = eval_graph(graph, st.leaves)
        else:
            outs = [_output(o, c) for o, c in zip(compiled(*st.leaves), fresh)]
        return tree_unflatten(graph.out_tree, list(outs))

    def graph_of(*args, **kwargs) -> Graph:
        return lookup(args, kwargs)[1][0]

    def source_of(*args, **kwargs) -> str:
        return lookup(args, kwargs)[1][1].__pullback_source__

    jitted.cache = cache  # type: ignore[attr-defined]
    jitted.graph = graph_of  # type: ignore[attr-defined]
    jitted.source = source_of  # type: ignore[attr-defined]
    return jitted
