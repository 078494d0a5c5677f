"""Staging for users: make_graph (trace a function into a printable Graph) and jit."""

from __future__ import annotations

import functools
import inspect
import types
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .api import _int_tuple
from .core import primitive as _primitive
from .core.codegen import compile_graph, sanitize
from .core.ir import Const, Graph, eval_graph
from .core.rewrite import FOLD_LIMIT
from .core.staging import ConcretizationError, abstractify, trace_flat
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


def _is_integral(x: Any) -> bool:
    """An integer or boolean array argument (an index array or mask). Scalars stay traced: a scalar
    that must be concrete is better marked static, and the error says so."""
    return isinstance(x, np.ndarray) and x.ndim > 0 and x.dtype.kind in "iub"


class _ByValue:
    """A hashable stand-in for an array that keys the trace cache by its contents (and dtype, shape)."""

    __slots__ = ("key",)

    def __init__(self, a: np.ndarray):
        self.key = (a.shape, a.dtype.str, a.tobytes())

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _ByValue) and self.key == other.key


def _static_key(v: Any) -> Any:
    return _ByValue(v) if isinstance(v, np.ndarray) else v


class _Captured:
    """An array a staged function reads from a closure cell or a global: it keys the trace cache by
    identity (rebinding the name retraces), and by contents when it is an integer/boolean array or small
    enough to be folded into the graph (an in-place change retraces too)."""

    __slots__ = ("name", "value", "contents")

    def __init__(self, name: str, value: np.ndarray):
        self.name, self.value = name, value
        small = value.dtype.kind in "iub" or value.size <= FOLD_LIMIT
        self.contents = value.tobytes() if small and value.dtype.kind != "O" else None

    def __hash__(self) -> int:
        return hash((self.name, id(self.value)))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, _Captured) and self.name == other.name and self.value is other.value
                and self.contents == other.contents)


_LIBRARIES = ("numpy", "pullback", "scipy", "builtins", "functools")
_GLOBAL_NAMES: dict = {}


def _code_names(code: types.CodeType) -> tuple:
    """The global names a code object (and the functions and comprehensions nested in it) may read."""
    names = _GLOBAL_NAMES.get(code)
    if names is None:
        found = list(code.co_names)
        for c in code.co_consts:
            if isinstance(c, types.CodeType):
                found += _code_names(c)
        names = _GLOBAL_NAMES[code] = tuple(dict.fromkeys(found))
    return names


_WATCH: dict = {}  # code object -> the global names worth reading at each call (see _watched)


def _watched(code: types.CodeType, g: dict) -> tuple:
    """The global names of code whose value may matter: arrays, user functions, and names not defined yet.
    Names bound to anything else (modules, classes, library functions) when first seen are skipped."""
    names = _WATCH.get(code)
    if names is None:
        keep = []
        for name in _code_names(code):
            v = g.get(name, _watched)
            if v is _watched or isinstance(v, np.ndarray) or _is_user_function(v):
                keep.append(name)
        names = _WATCH[code] = tuple(keep)
    return names


def _is_user_function(v: Any) -> bool:
    return isinstance(v, types.FunctionType) and not str(v.__module__).startswith(_LIBRARIES)


def captured_arrays(fun: Any, depth: int = 3, seen: set | None = None) -> tuple:
    """The NumPy arrays fun reads from its closure and its module's globals (and, a few levels deep,
    those of the user functions it calls), as cache-key entries."""
    if isinstance(fun, functools.partial):
        fun = fun.func
    fun = getattr(fun, "__wrapped__", fun)
    if not isinstance(fun, types.FunctionType):
        return ()
    seen = set() if seen is None else seen
    if id(fun) in seen:
        return ()
    seen.add(id(fun))
    code = fun.__code__
    found: list = []
    pairs = []
    if fun.__closure__:
        for name, cell in zip(code.co_freevars, fun.__closure__):
            try:
                pairs.append((name, cell.cell_contents))
            except ValueError:  # an empty cell (the variable is not assigned yet)
                continue
    g = fun.__globals__
    pairs += [(name, g[name]) for name in _watched(code, g) if name in g]
    for name, v in pairs:
        if isinstance(v, np.ndarray):
            found.append(_Captured(name, v))
        elif depth > 0 and _is_user_function(v):
            found += captured_arrays(v, depth - 1, seen)
    return tuple(found)


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

    def has_integral_leaves(self) -> bool:
        return any(m and _is_integral(x) for x, m in zip(self.all_leaves, self.mask))

    def by_value(self) -> None:
        """Integer and boolean arguments become static, keyed by their contents: the function may index
        with them or steer control flow by them, and sees their values (one trace per distinct value)."""
        self.mask = tuple(m and not _is_integral(x) for x, m in zip(self.all_leaves, self.mask))
        self.leaves = [x for x, m in zip(self.all_leaves, self.mask) if m]
        self.static_leaves = tuple(x for x, m in zip(self.all_leaves, self.mask) if not m)

    def key(self) -> tuple:
        static_leaves = tuple(map(_static_key, self.static_leaves))
        for where, vals in (("static argument", self.static_vals), ("non-array argument", static_leaves)):
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
        return (self.in_tree, self.mask, avals, self.kw_names, self.static, self.static_vals, static_leaves)

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

    Arrays fun reads from its closure or module globals key the cache too (by identity, and by
    contents when they are integer/boolean or small), so rebinding or changing one re-traces instead
    of using a stale copy. Integer and boolean array arguments are traced as values; if fun needs them
    concrete (an index array, a loop bound), they are made static and the cache is keyed by their
    contents (one trace per distinct value).

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
    by_value: set = set()  # keys whose integer/boolean arguments had to be concrete: traced per value
    warned: list = []

    def lookup(args, kwargs):
        st = _Staged(fun, static, args, kwargs)
        captured = captured_arrays(fun)
        key = st.key() + (captured,)
        if by_value and key in by_value:
            st.by_value()
            key = st.key() + (captured, "by value")
        entry = cache.get(key)
        if entry is None:
            if captured and not warned and any(k[:-1] == key[:-1] for k in cache):
                warned.append(True)
                warnings.warn(
                    f"pullback.jit re-traces {getattr(fun, '__name__', 'a function')}: an array it reads from "
                    f"a closure or global ({', '.join(c.name for c in captured)}) was rebound or changed since "
                    "the last trace. Pass it as an argument to avoid re-tracing.", stacklevel=3)
            try:
                graph = st.trace().simplify()
            except ConcretizationError:
                if "by value" in key or not st.has_integral_leaves():
                    raise
                by_value.add(key)  # an integer argument was used as an index or in control flow
                st.by_value()
                key = st.key() + (captured, "by value")
                graph = st.trace().simplify()
            inputs = set(graph.in_vars)
            fresh = tuple(isinstance(o, Const) or o in inputs for o in graph.outs)  # outputs to copy
            name = getattr(fun, "__name__", "")
            entry = cache[key] = (graph, compile_graph(graph, name if name.isidentifier() else "staged"), fresh)
        return st, entry

    @functools.wraps(fun)
    def jitted(*args, **kwargs):
        st, (graph, compiled, fresh) = lookup(args, kwargs)
        if _primitive.DEBUG_NANS or any(isinstance(x, Tracer) for x in st.leaves):
            outs = eval_graph(graph, st.leaves)  # primitive by primitive (debug_nans checks each one)
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
