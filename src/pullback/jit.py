"""Staging for users: make_graph (trace a function into a printable Graph) and jit."""

from __future__ import annotations

import dis
import functools
import importlib.util
import inspect
import os
import types
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .api import _int_tuple
from .core import primitive as _primitive
from .core.backend import NUMPY_TYPES, backend_of, backend_of_args, numpy_dtype
from .core.codegen import compile_graph, sanitize
from .core.ir import Const, Graph, eval_graph
from .core.staging import ConcretizationError, abstractify, trace_flat
from .core.trace import Tracer
from .core.tree import TreeDef, tree_flatten, tree_unflatten
from .errors import (
    ArgnumsError,
    ArgumentError,
    EscapedTracerError,
    MissingDependencyError,
    PullbackError,
    TracerConversionError,
)


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
    """Arrays are dynamic arguments: NumPy's, traced ones and other libraries' (torch tensors, Dask arrays
    ... are never baked in as constants)."""
    return isinstance(x, (np.ndarray, np.generic, Tracer, bool, int, float, complex)) or backend_of(x) is not None


def _library(leaves: list) -> tuple:
    """What keys the cache beside shapes and dtypes: the array library (and device) of the arguments."""
    found = backend_of_args([x for x in leaves if not isinstance(x, Tracer)])
    return () if found is None else (found, str(found.device(next(x for x in leaves if backend_of(x) is found))))


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


_MISSING = object()  # a global not defined (yet), or an empty closure cell
_LIBRARIES = ("numpy", "pullback", "scipy", "builtins", "functools")
_MAX_FUNCTIONS = 64  # functions scanned for free values, at most, per jitted function
_MAX_TREE_LEAVES = 256  # a tuple/list/dict read from outside is tracked when it has at most this many leaves


def _is_user_function(v: Any) -> bool:
    """A function defined outside the libraries (by the module whose globals it reads: functools.wraps
    copies the wrapped function's __module__ onto a library's wrapper)."""
    return isinstance(v, types.FunctionType) and not str(v.__globals__.get("__name__", "")).startswith(_LIBRARIES)


_GLOBAL_NAMES: dict = {}


def _code_globals(code: types.CodeType) -> tuple:
    """The global names a code object (and the functions and comprehensions nested in it) loads, less
    those it assigns (a `global` counter or cache is the function's own state, not an input)."""
    names = _GLOBAL_NAMES.get(code)
    if names is None:
        loaded, stored = _global_uses(code)
        names = _GLOBAL_NAMES[code] = tuple(n for n in dict.fromkeys(loaded) if n not in stored)
    return names


def _global_uses(code: types.CodeType) -> tuple[list, set]:
    loaded, stored = [], set()
    for ins in dis.get_instructions(code):
        if isinstance(ins.argval, str):
            if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
                loaded.append(ins.argval)
            elif ins.opname in ("STORE_GLOBAL", "DELETE_GLOBAL"):
                stored.add(ins.argval)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            more_loaded, more_stored = _global_uses(c)
            loaded += more_loaded
            stored |= more_stored
    return loaded, stored


_WATCH: dict = {}  # code object -> the global names worth reading at each call (see _watched)


def _watched(code: types.CodeType, g: dict) -> tuple:
    """The global names of code whose value may matter: arrays, numbers, strings, containers of them,
    user functions, and names not defined yet (nor builtins). Names bound to anything else (modules,
    classes, library functions) when first seen are skipped."""
    names = _WATCH.get(code)
    if names is None:
        builtins = g.get("__builtins__", {})
        builtins = builtins if isinstance(builtins, dict) else vars(builtins)
        keep = []
        for name in _code_globals(code):
            v = g.get(name, _MISSING)
            if (v is _MISSING and name not in builtins) or _kind(v, user=True) not in (None, "missing"):
                keep.append(name)
        names = _WATCH[code] = tuple(keep)
    return names


_SCALARS = (bool, int, float, complex, str, type(None))


def _foreign(v: Any) -> bool:
    """v is another array library's array (torch, Dask, CuPy ...): tracked like a NumPy array, never a constant."""
    return type(v) not in NUMPY_TYPES and not isinstance(v, Tracer) and backend_of(v) is not None


def _is_tracked_leaf(v: Any) -> bool:
    if _foreign(v):
        return True
    if isinstance(v, (np.ndarray, Tracer)):
        return np.dtype(v.dtype) != np.dtype(object)
    return isinstance(v, (np.generic, *_SCALARS))


def _kind(v: Any, user: bool) -> str | None:
    """How a value read from outside a staged function is tracked (None: not at all).

    "array": an array or a traced value, passed to the graph as an implicit input; "value": a number or
    string, which keys the cache; "tree": a tuple/list/dict of those; "function": scanned in turn;
    "missing": not defined yet. Closures of library functions are scanned for arrays and functions only."""
    if v is _MISSING:
        return "missing" if user else None
    if isinstance(v, Tracer) or (isinstance(v, np.ndarray) and v.dtype != object) or _foreign(v):
        return "array"
    if isinstance(v, (types.FunctionType, functools.partial, types.MethodType)):
        return "function"
    if not user:
        return None
    if isinstance(v, (np.generic, *_SCALARS)):
        return "value"
    if type(v) in (tuple, list, dict) and v:
        try:
            leaves, _ = tree_flatten(v)
        except Exception:  # noqa: BLE001 - an odd container is simply not tracked
            return None
        # a list or dict counts when it holds an array (parameters); one of numbers only is more often
        # a log the function appends to than an input
        if len(leaves) <= _MAX_TREE_LEAVES and all(map(_is_tracked_leaf, leaves)) and (
                type(v) is tuple or any(isinstance(x, (np.ndarray, Tracer)) for x in leaves)):
            return "tree"
    return None


class _Free:
    """A value a staged function reads from outside its arguments: a closure cell or a module global."""

    __slots__ = ("name", "cell", "namespace", "value", "kind", "child")

    def __init__(self, name: str, cell, namespace, value: Any, kind: str, child=None):
        self.name, self.cell, self.namespace = name, cell, namespace
        self.value, self.kind, self.child = value, kind, child


class _Scope:
    """A function (or partial, or bound method) with the free values it reads, scanned in turn."""

    __slots__ = ("obj", "frees", "inner")

    def __init__(self, obj: Any):
        self.obj, self.frees, self.inner = obj, [], None


class _Environment:
    """What a jitted function reads from its closure and its module's globals (and, a few functions deep,
    what the functions it calls read). Arrays (and values traced by an enclosing transformation) become
    implicit inputs of the graph, so rebinding one to an array of the same shape and dtype, or changing
    one in place, needs no new trace and is never stale; numbers, strings, functions and names not yet
    defined key the trace cache, so a change re-traces. Attributes of objects are not tracked."""

    def __init__(self, fun: Any):
        self.frees: list[_Free] = []
        self.memo: dict = {}
        self.root = self._scan(fun, 0)

    def _scan(self, obj: Any, depth: int) -> _Scope | None:
        if id(obj) in self.memo:
            return self.memo[id(obj)]
        if depth > 4 or len(self.memo) >= _MAX_FUNCTIONS or not isinstance(
                obj, (types.FunctionType, functools.partial, types.MethodType)):
            return None
        scope = self.memo[id(obj)] = _Scope(obj)
        if isinstance(obj, functools.partial):  # its bound arguments are read like closure cells
            scope.inner = self._scan(obj.func, depth)
            bound = [(f"arg{i}", a) for i, a in enumerate(obj.args)] + [(k, a) for k, a in obj.keywords.items()]
            for name, a in bound:
                self._add(scope, name, types.CellType(a), None, a, True, depth)
            return scope
        if isinstance(obj, types.MethodType):
            scope.inner = self._scan(obj.__func__, depth)
            return scope
        user = _is_user_function(obj)
        code = obj.__code__
        if obj.__closure__:
            for name, cell in zip(code.co_freevars, obj.__closure__):
                try:
                    v = cell.cell_contents
                except ValueError:  # an empty cell (the variable is not assigned yet)
                    v = _MISSING
                self._add(scope, name, cell, None, v, user, depth)
        if user:
            g = obj.__globals__
            for name in _watched(code, g):
                self._add(scope, name, None, g, g.get(name, _MISSING), user, depth)
        return scope

    def _add(self, scope: _Scope, name: str, cell, namespace, v: Any, user: bool, depth: int) -> None:
        kind = _kind(v, user)
        if kind is None:
            return
        if isinstance(v, Tracer) and not v._trace.active:
            raise EscapedTracerError(
                f"the jitted function reads `{name}`, a traced value from a finished transformation "
                f"({v._trace!r}). Return values out of the transformed function instead of keeping them in "
                "globals or closures, or wrap them with pullback.stop_gradient.")
        child = self._scan(v, depth + 1) if kind == "function" else None
        free = _Free(name, cell, namespace, v, kind, child)
        scope.frees.append(free)
        self.frees.append(free)

    # -- what the cache key and the graph's implicit inputs are made of -----------------------------
    def implicit(self, by_value: int) -> list[tuple]:
        """(name, value, free, leaf index or None) of the arrays traced as implicit inputs. by_value=1 keeps
        integer and boolean arrays concrete; by_value=2 keeps every array concrete (values from enclosing
        traces stay traced)."""
        out = []
        for f in self.frees:
            if f.kind == "array":
                if not _concrete(f.value, by_value):
                    out.append((f.name, f.value, f, None))
            elif f.kind == "tree":
                leaves, _ = tree_flatten(f.value)
                out += [(f"{f.name}_{i}", v, f, i) for i, v in enumerate(leaves) if _traced_leaf(v, by_value)]
        return out

    def key(self, by_value: int) -> tuple:
        return tuple(_free_key(f.name, f.kind, f.value, by_value) for f in self.frees)

    def has_arrays(self, integral: bool) -> bool:
        for f in self.frees:
            leaves = [f.value] if f.kind == "array" else tree_flatten(f.value)[0] if f.kind == "tree" else []
            for v in leaves:
                if isinstance(v, np.ndarray) and (not integral or v.dtype.kind in "iub"):
                    return True
        return False

    def guard(self) -> tuple | None:
        """The per-call check of the fast path: (cell, namespace, name, mode, a, b) per free value. Mode
        _ARRAY: an ndarray of shape a and dtype b, passed on as an implicit input; _TREE: a container of
        _walk signature a whose numbers are b, its arrays passed on; _SAME: the very object a. None when
        the fast path cannot check this environment (values of enclosing traces, odd containers)."""
        out = []
        for f in self.frees:
            if isinstance(f.value, Tracer) or _foreign(f.value):
                return None  # (the fast path checks NumPy arrays only)
            if f.kind == "array":
                out.append((f.cell, f.namespace, f.name, _ARRAY, f.value.shape, f.value.dtype))
            elif f.kind == "tree":
                sig, leaves = [], []
                if not _walk(f.value, sig, leaves):
                    return None
                out.append((f.cell, f.namespace, f.name, _TREE, tuple(sig), _numbers_of(leaves)))
            else:
                out.append((f.cell, f.namespace, f.name, _SAME, f.value, None))
        return tuple(out)

    def rebuilt(self, values: dict) -> tuple[Any, Callable[[], None]]:
        """(function, write_back): the function with the free values in `values` (id(_Free) -> new value)
        replaced, by a copy of each function on the way (new closure cells, a patched copy of its module's
        globals); the user's functions, cells and modules are left as they are. write_back() copies what
        the run assigned to other globals of a patched copy (a `global` statement) back to the module."""
        memo: dict = {}
        namespaces: dict = {}  # id(module globals) -> (module globals, snapshot, patched copy, replaced names)
        # which scopes must be copied: those with a replaced value, and (to a fixed point, for functions
        # that call each other) those calling a copied one
        scopes = list(self.memo.values())
        needs = {id(sc): any(id(f) in values for f in sc.frees) for sc in scopes}
        grew = True
        while grew:
            grew = False
            for sc in scopes:
                if not needs[id(sc)] and (needs.get(id(sc.inner), False) or any(
                        needs.get(id(f.child), False) for f in sc.frees if f.child is not None)):
                    needs[id(sc)] = grew = True

        def changed(scope) -> bool:
            return scope is not None and needs.get(id(scope), False)

        def build(scope) -> Any:
            if scope is None or not changed(scope):
                return scope.obj if scope is not None else None
            if id(scope) in memo:
                return memo[id(scope)]
            obj = scope.obj
            if isinstance(obj, functools.partial):
                bound = {f.name: values[id(f)] if id(f) in values else build(f.child) if changed(f.child) else f.value
                         for f in scope.frees}
                args = [bound.get(f"arg{i}", a) for i, a in enumerate(obj.args)]
                keywords = {k: bound.get(k, a) for k, a in obj.keywords.items()}
                new = memo[id(scope)] = functools.partial(build(scope.inner), *args, **keywords)
                return new
            if isinstance(obj, types.MethodType):
                new = memo[id(scope)] = types.MethodType(build(scope.inner), obj.__self__)
                return new
            cells = list(obj.__closure__ or ())
            g = obj.__globals__
            replaced = []
            for f in scope.frees:
                if id(f) in values or changed(f.child):
                    replaced.append(f)
                    if f.cell is not None:
                        cells[obj.__code__.co_freevars.index(f.name)] = types.CellType()
                    else:
                        if id(g) not in namespaces:
                            namespaces[id(g)] = (g, dict(g), dict(g), set())
                        namespaces[id(g)][3].add(f.name)
            ns = namespaces[id(g)][2] if id(g) in namespaces else g
            new = types.FunctionType(obj.__code__, ns, obj.__name__, obj.__defaults__, tuple(cells) or None)
            new.__kwdefaults__, new.__qualname__ = obj.__kwdefaults__, obj.__qualname__
            new.__dict__.update(obj.__dict__)
            memo[id(scope)] = new
            for f in replaced:
                v = values[id(f)] if id(f) in values else build(f.child)
                if f.cell is not None:
                    new.__closure__[obj.__code__.co_freevars.index(f.name)].cell_contents = v
                else:
                    ns[f.name] = v
            return new

        def write_back() -> None:
            for g, snapshot, patched, replaced in namespaces.values():
                for k, v in patched.items():
                    if k not in replaced and snapshot.get(k, _MISSING) is not v:
                        g[k] = v

        return build(self.root), write_back


def _concrete(v: Any, by_value: int) -> bool:
    """Whether an array read from outside is kept concrete (keyed by contents) at this by-value level."""
    if isinstance(v, Tracer) or not isinstance(v, np.ndarray):
        return False
    return by_value >= 2 or (by_value == 1 and v.dtype.kind in "iub")


def _traced_leaf(v: Any, by_value: int) -> bool:
    return (isinstance(v, (np.ndarray, Tracer)) or _foreign(v)) and not _concrete(v, by_value)


def _free_key(name: str, kind: str, v: Any, by_value: int) -> tuple:
    if kind == "array" or (kind == "leaf" and (isinstance(v, (np.ndarray, Tracer)) or _foreign(v))):
        if _concrete(v, by_value):
            return (name, _ByValue(v))
        return (name, "traced", tuple(v.shape), numpy_dtype(v.dtype)) + _library([v])
    if kind == "function":
        return (name, _Identity(v))
    if kind == "tree":
        leaves, tree = tree_flatten(v)
        return (name, tree, tuple(_free_key("", "leaf", x, by_value) for x in leaves))
    if kind == "missing":
        return (name, "missing")
    return (name, type(v), repr(v))  # a number or string: repr tells nan, -0.0 and 0.0 apart


class _Identity:
    """A hashable stand-in comparing an object by identity (it keeps the object alive: no reused ids)."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any):
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Identity) and self.obj is other.obj


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
        return (self.in_tree, self.mask, avals, self.kw_names, self.static, self.static_vals, static_leaves,
                _library(self.leaves))

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

    def trace(self, env: _Environment | None = None, implicit: list = ()) -> Graph:
        """The graph of fun; `implicit` (name, value, free, leaf) values read from outside (env) become
        inputs after the arguments, so that the graph reads them at each call."""
        names = self.leaf_names() + [sanitize(name) for name, *_ in implicit]
        if not implicit:
            flat_fun = self.flat_fun
        else:
            n = len(self.leaves)

            def flat_fun(flat: list) -> list:
                values: dict = {}
                trees: dict = {}
                for (_, _, free, leaf), t in zip(implicit, flat[n:]):
                    if leaf is None:
                        values[id(free)] = t
                    else:
                        trees.setdefault(id(free), (free, tree_flatten(free.value)))[1][0][leaf] = t
                for fid, (_, (leaves, tree)) in trees.items():
                    values[fid] = tree_unflatten(tree, leaves)
                fun = self.fun
                self.fun, write_back = env.rebuilt(values)
                try:
                    return self.flat_fun(flat[:n])
                finally:
                    self.fun = fun
                    write_back()

        avals = [abstractify(x) for x in self.leaves] + [abstractify(v) for _, v, *_ in implicit]
        g = trace_flat(flat_fun, avals, names)
        g.in_tree, g.out_tree, g.in_names = self.in_tree, self.out_tree, names
        return g

    def fast_eligible(self) -> bool:
        """No static argument and every leaf traced: the fast path's case (see jit's _signature)."""
        return not self.static and all(self.mask)


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
    if copy and type(x) not in NUMPY_TYPES:
        bk = backend_of(x)
        if bk is not None:
            return bk.copy(x)
    return x


class _Compiled:
    """One trace: the simplified graph, its compiled function, and which outputs must be copied."""

    __slots__ = ("graph", "compiled", "fresh")

    def __init__(self, graph: Graph, compiled: Callable, fresh: tuple):
        self.graph, self.compiled, self.fresh = graph, compiled, fresh


class _Fast:
    """A fast-path entry: the compiled function, the environment's guard, how to hand outputs back."""

    __slots__ = ("compiled", "fresh", "copy_any", "guard", "out_tree", "single")

    def __init__(self, entry: _Compiled, guard: tuple):
        self.compiled, self.fresh, self.guard = entry.compiled, entry.fresh, guard
        self.copy_any = any(entry.fresh)
        self.out_tree = entry.graph.out_tree
        self.single = self.out_tree.kind is None


# Python numbers (weakly typed) and NumPy's numeric scalars (their type fixes their dtype)
_NUMBERS = frozenset((float, int, bool, complex)) | frozenset(
    t for t in set(np.sctypeDict.values()) if np.dtype(t).kind in "biufc")


def _moving_inputs(compiled: Callable, library: Any, like: Any) -> Callable:
    """compiled (generated over another library's namespace), moving NumPy inputs to that library first (as
    dispatch moves NumPy constants): a NumPy argument may meet a torch tensor the function reads from outside."""
    def run(*leaves):
        return compiled(*[library.asarray(v, like) if isinstance(v, (np.ndarray, np.generic)) else v for v in leaves])

    run.__pullback_source__ = compiled.__pullback_source__
    return run


def _signature(args: tuple, kwargs: dict) -> tuple | None:
    """The fast path's key and the leaves to pass: (signature, leaves) for arguments made of arrays and
    numbers in tuples, lists, dicts and None; each array contributes its shape and dtype, each number its
    type, each container its kind and length (keys). None for anything else (arrays of other libraries,
    registered pytree classes, traced values): those take the general path."""
    sig: list = []
    leaves: list = []
    for a in args:
        t = type(a)
        if t is np.ndarray:  # the common case, inline
            sig.append(a.shape)
            sig.append(a.dtype)
            leaves.append(a)
        elif t in _NUMBERS:
            sig.append(t)
            leaves.append(a)
        elif not _walk(a, sig, leaves):
            return None
    if kwargs:
        sig.append("kwargs")
        if not _walk(kwargs, sig, leaves):
            return None
    return tuple(sig), leaves


def _walk(x: Any, sig: list, leaves: list) -> bool:
    """Append x's signature and leaves, in tree_flatten's order (dicts by sorted key); False if x is not
    made of arrays, numbers, tuples, lists, dicts and None."""
    t = type(x)
    if t is np.ndarray:
        sig.append(x.shape)
        sig.append(x.dtype)
        leaves.append(x)
    elif t in _NUMBERS:
        sig.append(t)
        leaves.append(x)
    elif t is tuple or t is list:
        sig.append((t, len(x)))
        for y in x:
            if not _walk(y, sig, leaves):
                return False
    elif t is dict:
        try:
            keys = sorted(x)
        except TypeError:
            return False
        sig.append((dict, tuple(keys)))
        for k in keys:
            if not _walk(x[k], sig, leaves):
                return False
    elif x is None:
        sig.append(None)
    else:
        return False
    return True


_ARRAY, _TREE, _SAME = object(), object(), object()  # the modes of a fast-path guard entry


def _numbers_of(leaves: list) -> tuple:
    """The numbers among a container's leaves, as they key the cache (type and repr)."""
    return tuple((type(x), repr(x)) for x in leaves if type(x) is not np.ndarray)


def _guarded(guard: tuple) -> list | None:
    """The implicit inputs, read from their cells and globals, if every free value is still the one
    traced (or arrays of the traced shapes and dtypes); None when anything changed."""
    extra = []
    for cell, namespace, name, mode, a, b in guard:
        if cell is not None:
            try:
                v = cell.cell_contents
            except ValueError:
                v = _MISSING
        else:
            v = namespace.get(name, _MISSING)
        if mode is _ARRAY:
            if type(v) is not np.ndarray or v.shape != a or v.dtype != b:
                return None
            extra.append(v)
        elif mode is _SAME:
            if v is not a:
                return None
        else:
            sig, leaves = [], []
            if not _walk(v, sig, leaves) or tuple(sig) != a or _numbers_of(leaves) != b:
                return None
            extra += [x for x in leaves if type(x) is np.ndarray]
    return extra


_BACKENDS = ("auto", "numpy", "numba")
_SAID: list = []  # "numba is not installed" is said once per process


def _numba_installed() -> bool:
    """numba can be imported (checked without importing it)."""
    return importlib.util.find_spec("numba") is not None


def _backend(backend: str | None) -> str:
    """The backend a jit uses: the argument, else $PULLBACK_JIT_BACKEND, else "auto"; "auto" without
    numba is "numpy" (said once, with PULLBACK_VERBOSE=1)."""
    chosen = backend if backend is not None else os.environ.get("PULLBACK_JIT_BACKEND", "auto") or "auto"
    if chosen not in _BACKENDS:
        raise ArgumentError(f"pullback.jit: backend={chosen!r} is not one of {', '.join(map(repr, _BACKENDS))}"
                            + (" (read from $PULLBACK_JIT_BACKEND)" if backend is None else ""))
    if chosen == "numba" and not _numba_installed():
        raise MissingDependencyError(
            "pullback.jit(backend='numba') needs numba, which is not installed: pip install pullback[jit]")
    if chosen == "auto" and not _numba_installed():
        from .config import config

        if config.verbose and not _SAID:
            _SAID.append(True)
            import sys

            print("pullback.jit: numba is not installed, jit runs generated NumPy code "
                  "(pip install pullback[jit] for compiled kernels)", file=sys.stderr)
        return "numpy"
    return chosen


def jit(fun: Callable, static_argnums: tuple | int = (), backend: str | None = None) -> Callable:
    """Trace fun once per (pytree structure, shapes, dtypes, static values), simplify the graph, and
    run its generated NumPy code. Called with traced values (grad(jit(f)), jit inside jit), the
    graph is evaluated primitive by primitive, so every transformation sees through it.

    Arrays fun reads from its closure or module globals (and those of the functions it calls) are
    implicit inputs of the graph: rebinding one to an array of the same shape and dtype, or changing it
    in place, is seen by the next call without a new trace. Numbers, strings, functions and containers
    read from there key the cache instead (a change re-traces, with a warning). Integer array arguments
    are traced too; indexing with one is a gather. If fun needs one concrete (a boolean mask, a slice
    bound, a loop count), integer and boolean arrays are made static and keyed by their contents (one
    trace per distinct value). Calls with arrays and Python numbers of shapes seen before take a fast
    path of about a microsecond (benchmarks/jit_call.py).

    The returned function has `.cache` (one entry per trace), `.graph(*args)` and `.source(*args)`
    (`.source(*args, backend="numba")` for the numba kernels' source).

    Backends (docs/jit.md): "numpy" runs the generated NumPy source; "numba" lowers the graph to numba
    kernels (fused loops; operations without a lowering run on NumPy in between), compiled at the first
    call and cached on disk; "auto" (the default, or $PULLBACK_JIT_BACKEND) starts on NumPy and moves to
    numba when the cost model predicts the compile pays for itself (or the kernels are on disk already).
    Python control flow runs once, at trace time: it may depend on shapes and static arguments,
    not on array values (use pb.cond / pb.while_loop for that).

    Parameters
    ----------
    fun : callable
        A function of arrays (pytrees of arrays).
    static_argnums : int or tuple of int, optional
        Arguments passed to fun as Python values; each distinct value is traced anew (they
        must be hashable).
    backend : {"auto", "numpy", "numba"}, optional
        Where the graph runs; default $PULLBACK_JIT_BACKEND or "auto".

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
    mode = _backend(backend)
    cache: dict = {}  # (arguments' key, environment's key[, by-value level]) -> _Compiled
    levels: dict = {}  # key at level 0 -> the by-value level its trace needed (see _Environment.implicit)
    fast: dict = {}  # the arguments' structure, shapes and dtypes (_signature) -> _Fast (see jitted)
    last_env: dict = {}  # arguments' key -> the environment's key at the last trace (to name what changed)
    warned: list = []
    name = getattr(fun, "__name__", "")

    def key_of(st: _Staged, env: _Environment, level: int) -> tuple:
        if level:
            st.by_value()
        return (st.key(), env.key(level), level)

    def escalate(st: _Staged, env: _Environment, level: int, err: Exception) -> int:
        """The next by-value level after a trace at `level` needed a concrete value (or re-raise)."""
        if level == 0 and (st.has_integral_leaves() or env.has_arrays(integral=True)):
            return 1
        if level <= 1 and env.has_arrays(integral=False):
            return 2
        raise err

    def trace(st: _Staged, env: _Environment, key0: tuple, level: int) -> tuple:
        while True:
            key = key0 if level == 0 else key_of(st, env, level)
            entry = cache.get(key)
            if entry is not None:
                return key, level, entry
            warn_retrace(key)
            try:
                graph = st.trace(env, env.implicit(level)).simplify()
                break
            except (ConcretizationError, TracerConversionError) as err:
                # an index array, a mask or a loop bound must be concrete: trace again keeping those
                # (then every array read from outside) concrete, keyed by their contents
                level = levels[key0] = escalate(st, env, level, err)
        inputs = set(graph.in_vars)
        fresh = tuple(isinstance(o, Const) or o in inputs for o in graph.outs)  # outputs to copy
        implicit = [v for _, v, *_ in env.implicit(level)]
        found = _library(st.leaves + implicit)  # another library's arrays: the generated code calls its namespace
        library = found[0] if found else None
        if library is None:
            compiled = compile_graph(graph, name if name.isidentifier() else "staged")
            if mode != "numpy":
                from .compile.cost import Tiered

                compiled = Tiered(compiled, graph, name if name.isidentifier() else "staged", mode)
        else:
            like = next(x for x in st.leaves + implicit if backend_of(x) is library)
            compiled = _moving_inputs(compile_graph(graph, name if name.isidentifier() else "staged", library.xp,
                                                    lambda c: library.asarray(c, like)), library, like)
        entry = cache[key] = _Compiled(graph, compiled, fresh)
        last_env[key[0]] = key[1]
        return key, level, entry

    def warn_retrace(key: tuple) -> None:
        before = last_env.get(key[0])
        if warned or before is None or len(before) != len(key[1]):
            return
        changed = [b[0] for a, b in zip(before, key[1]) if a != b]
        if changed:
            warned.append(True)
            warnings.warn(
                f"pullback.jit re-traces {name or 'a function'}: a value it reads from a closure or global "
                f"({', '.join(dict.fromkeys(changed))}) was rebound or changed since the last trace. Pass it as "
                "an argument to avoid re-tracing.", stacklevel=6)  # warn_retrace, trace, lookup, slow, jitted

    def lookup(args: tuple, kwargs: dict) -> tuple:
        st = _Staged(fun, static, args, kwargs)
        env = _Environment(fun)
        key0 = (st.key(), env.key(0), 0)
        level = levels.get(key0, 0)
        key = key0 if level == 0 else key_of(st, env, level)
        entry = cache.get(key)
        if entry is None:
            key, level, entry = trace(st, env, key0, level)
        return st, env, level, entry

    def slow(args: tuple, kwargs: dict) -> Any:
        st, env, level, entry = lookup(args, kwargs)
        leaves = st.leaves + [v for _, v, *_ in env.implicit(level)]
        if _primitive.DEBUG_NANS or any(isinstance(x, Tracer) for x in leaves):
            outs = eval_graph(entry.graph, leaves)  # primitive by primitive (debug_nans checks each one)
        else:
            outs = [_output(o, c) for o, c in zip(entry.compiled(*leaves), entry.fresh)]
            if level == 0 and st.fast_eligible():
                sig = _signature(args, kwargs)
                guard = env.guard()
                if sig is not None and guard is not None and len(sig[1]) == len(st.leaves):
                    fast[sig[0]] = _Fast(entry, guard)
        return tree_unflatten(entry.graph.out_tree, outs)

    @functools.wraps(fun)
    def jitted(*args, **kwargs):
        # The fast path: arrays and Python numbers (in tuples, lists, dicts) whose structure, shapes and
        # dtypes were seen before, and an environment whose free values are the ones traced (or arrays of
        # the traced shape and dtype, passed on as implicit inputs). Anything else takes the general path.
        if fast and not _primitive.DEBUG_NANS:
            sig = _signature(args, kwargs)
            f = fast.get(sig[0]) if sig is not None else None
            if f is not None:
                extra = _guarded(f.guard)
                if extra is not None:
                    outs = f.compiled(*sig[1], *extra)
                    if f.copy_any:
                        outs = [_output(o, c) for o, c in zip(outs, f.fresh)]
                    else:
                        for o in outs:
                            if isinstance(o, np.ndarray) and not o.flags.writeable:
                                outs = [_output(o, c) for o, c in zip(outs, f.fresh)]
                                break
                    return outs[0] if f.single else tree_unflatten(f.out_tree, list(outs))
        return slow(args, kwargs)

    def graph_of(*args, **kwargs) -> Graph:
        return lookup(args, kwargs)[3].graph

    def source_of(*args, backend: str | None = None, **kwargs) -> str:
        compiled = lookup(args, kwargs)[3].compiled
        if backend is not None and hasattr(compiled, "source"):
            return compiled.source(backend)
        if backend == "numba":
            raise ArgumentError("pullback.jit(...).source(backend='numba'): this jit runs on NumPy only "
                                "(backend='numpy', numba not installed, or another array library's inputs)")
        return compiled.__pullback_source__

    jitted.cache = cache  # type: ignore[attr-defined]
    jitted.graph = graph_of  # type: ignore[attr-defined]
    jitted.source = source_of  # type: ignore[attr-defined]
    return jitted
