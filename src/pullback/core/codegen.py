"""Emit readable NumPy source for a Graph, and compile it.

One statement per equation, with a shape comment (a higher-order primitive's render hook may
give a block of statements instead: a `for`, `while` or `if` with its sub-graphs inlined, see
`block`). How a primitive reads is decided by the primitive's `render` hook (registered beside
it): arithmetic as operators, reductions and shape operations as the NumPy call they stand
for (`np.sum(x, axis=1, keepdims=True)`, `np.reshape(x, (4, 1))`, `x[1:3, None]`,
`x.astype(np.float32)` ...). A primitive without one renders as its `impl`: `np.sin(x)` for a NumPy ufunc, else a
call of the implementation object, `prims_sum_to(x, shape=(3,))`.

Safety: user-provided names only ever appear as sanitized identifiers; only plain
literals (numbers, None, tuples and slices of them, simple strings) are printed.
Constants, dtypes without a NumPy name, index arrays and any other parameter are
passed to the generated function as objects in its namespace, never printed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from .atoms import Var
from .backend import xp_rule
from .naming import RESERVED, sanitize, var_names

__all__ = ["RESERVED", "sanitize", "var_names", "generate", "compile_graph", "infix", "reduction", "astype",
           "index_render", "block"]

_SAFE_STR = re.compile(r"^[A-Za-z0-9_,.\->]*$")


def _is_literal(v: Any) -> bool:
    """Values whose repr is a safe Python literal."""
    if v is None or isinstance(v, (bool, int, float)):
        return not (isinstance(v, float) and not np.isfinite(v))
    if isinstance(v, str):
        return bool(_SAFE_STR.match(v))
    if isinstance(v, (tuple, list)):
        return all(_is_literal(x) for x in v)
    if isinstance(v, slice):
        return all(_is_literal(x) for x in (v.start, v.stop, v.step))
    return False


def _plain(v: Any) -> Any:
    """NumPy integers and bools as Python ones (so they print as literals), recursively in tuples."""
    if isinstance(v, (np.integer, np.bool_)):
        return v.item()
    if isinstance(v, tuple):
        return tuple(_plain(x) for x in v)
    if isinstance(v, slice):
        return slice(_plain(v.start), _plain(v.stop), _plain(v.step))
    return v


class _Emitter:
    def __init__(self, graph, parent: _Emitter | None = None, inputs: list | None = None, xp: Any = None,
                 move: Callable | None = None):
        self.graph = graph
        self.inlined = parent is not None  # a sub-graph inlined into an enclosing function
        if parent is None:
            self.names = var_names(graph)
            self.used = set(self.names.values()) | set(RESERVED) | {"xp"}
            self.env: dict = {"np": np}
            self.objects: dict = {}  # id(object) -> name, so one object is passed once
            self.counts: dict = {}
            # xp: another array library's namespace (core/backend.py): every equation calls it (or the
            # primitive's xp_impl with it), and move(constant) puts NumPy constants in that library
            self.xp, self.move = xp, move
            if xp is not None:
                self.env["xp"] = xp
        else:  # an inlined sub-graph: its own names, unique in the enclosing function; one namespace
            self.used, self.env, self.objects, self.counts = parent.used, parent.env, parent.objects, parent.counts
            self.xp, self.move = parent.xp, parent.move
            self.names = {}
            for v, text in zip(graph.in_vars, inputs):
                self.names[v] = text
            for v, base in var_names(graph).items():
                if v not in self.names:
                    self.names[v] = self.fresh_var(base)

    def fresh(self, base: str) -> str:
        """A name not used by any variable or earlier object: base0, base1 ... for constants."""
        k = self.counts.get(base, 0)
        while True:
            cand = f"{base}{k}" if base == "c" else (base if k == 0 else f"{base}_{k}")
            k += 1
            if cand not in self.used:
                break
        self.counts[base] = k
        self.used.add(cand)
        return cand

    def fresh_var(self, base: str) -> str:
        """A variable name not used yet in the generated function: base, base_1, base_2 ..."""
        cand, k = base, 1
        while cand in self.used:
            cand, k = f"{base}_{k}", k + 1
        self.used.add(cand)
        return cand

    def inline(self, graph, inputs: list) -> tuple[list, list]:
        """A sub-graph's statements inlined into the function being generated: (lines, outputs).

        `inputs` are the expressions (names or literals) standing for the sub-graph's inputs; the lines
        compute its equations into fresh names, unindented (a block render hook indents them), and
        `outputs` are the expressions of its outputs. For render hooks of higher-order primitives.
        """
        sub = _Emitter(graph, self, inputs)
        lines = []
        for e in graph.eqns:
            lines += [line[4:] for line in sub.statement(e).split("\n")]
        return lines, [sub.atom(o) for o in graph.outs]

    def out_names(self, e) -> list[str]:
        """The names of an equation's outputs (a block render hook assigns them)."""
        return [self.names[o] for o in e.outs]

    def obj(self, value: Any, base: str = "c") -> str:
        """A name for `value` in the generated function's namespace (the value itself is never printed)."""
        name = self.objects.get(id(value))
        if name is None:
            name = self.fresh(base)
            self.env[name] = self.move(value) if self.move is not None and base == "c" and isinstance(
                value, (np.ndarray, np.generic)) else value
            self.objects[id(value)] = name
        return name

    def atom(self, a) -> str:
        if isinstance(a, Var):
            return self.names[a]
        v = a.value
        numpy_scalar = isinstance(v, np.generic)  # on another library: moved there, not printed
        if isinstance(v, (bool, int, float)) and _is_literal(v) and not (self.xp is not None and numpy_scalar):
            return repr(v)
        return self.obj(v)

    def lit(self, v: Any) -> str:
        """A parameter: printed if it is a plain literal, else passed as an object."""
        v = _plain(v)
        if isinstance(v, np.dtype):
            return self.dtype(v)
        if isinstance(v, tuple) and len(v) == 1 and _is_literal(v):
            return f"({v[0]!r},)"
        return repr(v) if _is_literal(v) else self.obj(v)

    def axis(self, v: Any) -> str:
        v = _plain(v)
        if isinstance(v, tuple) and len(v) == 1:
            return self.lit(v[0])
        return self.lit(v)

    def dtype(self, dt: Any) -> str:
        dt = np.dtype(dt)
        if self.xp is not None:
            return self.obj(dt, "dtype")  # the xp_impl rules take NumPy dtypes
        name = dt.name
        if re.fullmatch(r"[a-z]+[0-9]*", name) and isinstance(getattr(np, name, None), type):
            if np.dtype(getattr(np, name)) == dt:
                return f"np.{name}"
        return self.obj(dt)

    def index(self, idx: Any) -> str:
        """The text inside x[...] for a NumPy index; index arrays and odd items are passed as objects."""

        def item(i):
            i = _plain(i)
            if i is None:
                return "None"
            if i is Ellipsis:
                return "..."
            if isinstance(i, (bool, int)):
                return repr(i)
            if isinstance(i, slice) and _is_literal(i):
                text = ("" if i.start is None else repr(i.start)) + ":" + ("" if i.stop is None else repr(i.stop))
                return text + ("" if i.step is None else ":" + repr(i.step))
            return self.obj(i)

        if isinstance(idx, tuple):
            if not idx:
                return "()"
            if len(idx) == 1:
                one = idx[0]
                simple = one is None or one is Ellipsis or isinstance(one, (int, np.integer, slice, np.ndarray))
                return item(one) if simple else item(one) + ","
            return ", ".join(item(i) for i in idx)
        return item(idx)

    def statement(self, e) -> str:
        args = [self.atom(a) for a in e.ins]
        render = e.prim.render
        if getattr(render, "block", False):  # a block of statements (a loop, a branch) assigning the outputs
            lines = render(self, e, args)
            if lines is not None:
                return "\n".join("    " + line for line in lines)
            render = None
        if self.xp is not None:  # another library: no NumPy spelling (the namespace's calls, below)
            render = None
        # A weak value is a Python scalar at run time. Between weak values only, Python's operators
        # compute what the user's code computed eagerly (a Python scalar); a weak value meeting an
        # array goes through NumPy's own function, which promotes it weakly (float32 * 2.0 → float32).
        if render is not None and any(isinstance(a, Var) and a.aval.weak for a in e.ins) and not (
                e.outs[0].aval.weak and e.prim.weak_preserving):
            render = None
        rhs = render(self, e, args) if render is not None else None
        if rhs is None:
            rhs = self.through_impl(e, args) if self.xp is None else self.through_xp(e, args)
        lhs = ", ".join(self.names[o] for o in e.outs)
        if e.prim.multiple_results:
            lhs += ","
        shapes = "; ".join(f"{o.aval.dtype.name}{list(o.aval.shape)}" for o in e.outs)
        return f"    {lhs} = {rhs}  # {shapes}"

    def through_impl(self, e, args) -> str:
        """The primitive's own implementation: np.<ufunc>(...) or prims_<name>(..., param=...)."""
        impl = e.prim.impl
        if isinstance(impl, np.ufunc) and not e.params and getattr(np, impl.__name__, None) is impl:
            return f"np.{impl.__name__}({', '.join(args)})"
        fn = self.obj(impl, f"prims_{sanitize(e.prim.name)}")
        kw = [f"{k}={self.lit(v)}" for k, v in e.params.items()]
        return f"{fn}({', '.join(args + kw)})"


    def through_xp(self, e, args) -> str:
        """On another library: xp.<ufunc>(...) or prims_<name>(xp, ..., param=...) with the xp_impl."""
        prim, impl = e.prim, e.prim.impl
        if prim.xp_impl is None and isinstance(impl, np.ufunc) and len(args) == 1 and hasattr(self.xp, impl.__name__):
            return f"xp.{impl.__name__}({args[0]})"
        fn = self.obj(xp_rule(prim, self.xp), f"prims_{sanitize(prim.name)}")
        kw = [f"{k}={self.lit(v)}" for k, v in e.params.items()]
        return f"{fn}({', '.join(['xp'] + args + kw)})"


# ----------------------------------------------------------------------------- rendering hooks
# A primitive's `render` hook: function(emitter, eqn, rendered args) -> right-hand side, or None to
# fall back to the implementation. These builders serve the common spellings.


def infix(op: str) -> Callable:
    """Render a binary primitive as a Python operator: `a op b`."""

    def render(em, e, a):
        return f"{a[0]} {op} {a[1]}" if len(a) == 2 and not e.params else None

    return render


def reduction(fn: str) -> Callable:
    """Render a reduction with params axis/keepdims as the NumPy call `fn(x, axis=..., keepdims=True)`."""

    def render(em, e, a):
        p = e.params
        keep = ", keepdims=True" if p.get("keepdims") else ""
        axis = "" if p.get("axis") is None else f", axis={em.axis(p['axis'])}"
        return f"{fn}({a[0]}{axis}{keep})"

    return render


def astype(em, e, a) -> str:
    """Render a cast with param dtype as `x.astype(np.float32)` (complex → real keeps the real part)."""
    x, dt = e.ins[0], np.dtype(e.params["dtype"])
    text = a[0] if isinstance(x, Var) else f"np.asarray({a[0]})"
    if np.dtype(x.dtype).kind == "c" and dt.kind != "c":
        text = f"np.real({a[0]})"  # complex → real keeps the real part (as the primitive does)
    return f"{text}.astype({em.dtype(dt)})"


def index_render(em, e, a) -> str:
    """Render indexing with param idx as `x[...]`."""
    x = a[0] if isinstance(e.ins[0], Var) else f"np.asarray({a[0]})"
    return f"{x}[{em.index(e.params['idx'])}]"


def block(render: Callable) -> Callable:
    """Mark a render hook as producing a block: ``render(em, e, args) -> list of lines`` (relative
    indentation, no leading indent) that assign the equation's outputs (`em.out_names(e)`), or None to
    fall back to the implementation. Sub-graphs are inlined with `em.inline`."""
    render.block = True
    return render


def generate(graph, name: str = "staged", xp: Any = None, move: Callable | None = None) -> tuple[str, dict]:
    """(source, namespace): `def name(inputs): ...` over numpy and the objects in namespace; with xp (another
    array library's namespace), over xp, with the NumPy constants put there by move."""
    em = _Emitter(graph, xp=xp, move=move)
    fname = sanitize(name, "f")
    params = ", ".join(em.names[v] for v in graph.in_vars)
    body = [em.statement(e) for e in graph.eqns]
    outs = [em.atom(o) for o in graph.outs]
    lines = [f"def {fname}({params}):", *body]
    lines.append(f"    return ({', '.join(outs)}{',' if len(outs) == 1 else ''})")
    lines += [f"# {n}: {_describe(v)} (passed in)" for n, v in em.env.items() if n not in ("np", "xp")]
    return "\n".join(lines) + "\n", em.env


def _describe(v: Any) -> str:
    """A short description of an object passed to the generated function (never its contents)."""
    if isinstance(v, (np.ndarray, np.generic)):
        return f"{np.asarray(v).dtype.name}{list(np.shape(v))} constant"
    if isinstance(v, np.dtype):
        return "dtype"
    if callable(v):
        return "implementation function"
    return type(v).__name__


def compile_graph(graph, name: str = "staged", xp: Any = None, move: Callable | None = None) -> Callable:
    """The generated function, executed from its source (over xp, another array library, when given)."""
    source, env = generate(graph, name, xp, move)
    fname = sanitize(name, "f")
    code = compile(source, f"<pullback staged {fname}>", "exec")
    exec(code, env)  # noqa: S102 - source built only from sanitized names and literals
    fn = env[fname]
    fn.__pullback_source__ = source
    return fn
