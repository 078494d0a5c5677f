"""Lower a staged Graph to numba: the source of `@numba.njit` kernels and a small Python driver.

The equations are split into segments: runs that lower (an elementwise or broadcasting primitive
with a ``scalar_expr``, or a NumPy ufunc as `impl`; any primitive with a ``lower`` hook that accepts
these parameters) become ONE kernel, ``@njit(fastmath=False, error_model='numpy', cache=True)``; an
equation that does not lower (fft, sorting, linalg, control flow ...) runs on the NumPy source backend
between the kernels. Inside a kernel, fused groups (fusion.py) are explicit loops over the broadcast
output shape, 0-d values are scalar locals, other operations are the array expressions their
``lower`` hook gives (``np.dot`` for a matrix product: BLAS). Array constants are passed to the kernel
as arguments, never baked into its source, so the source (and the disk cache, cache.py) depends on
shapes and dtypes only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..config import config
from ..core.atoms import Const, Var, is_weak
from ..core.codegen import compile_graph, sanitize
from ..core.ir import Graph
from ..core.subgraph import subgraphs_of
from . import cache, fusion

# dtypes a kernel computes in (anything else stays on NumPy, which knows every casting rule)
_DTYPES = frozenset(np.dtype(t) for t in (np.float64, np.int64, np.bool_))
_HEADER = "import math\nimport numpy as np\nfrom numba import njit\n\n"
_DECORATOR = "@njit(fastmath=False, error_model='numpy', cache=True)"


class LowerContext:
    """What a ``lower`` hook sees besides the argument expressions: shapes, and literal printing."""

    def __init__(self, kernel: _Kernel, e):
        self.kernel, self.e = kernel, e
        self.in_shapes = [tuple(np.shape(a.value)) if isinstance(a, Const) else tuple(a.aval.shape) for a in e.ins]
        self.out_shape = tuple(e.outs[0].aval.shape)

    def lit(self, v: Any) -> str | None:
        """A parameter printed as a literal (ints, None, tuples and slices of them), or None."""
        return _literal(v)


def _literal(v: Any) -> str | None:
    if isinstance(v, (np.integer, np.bool_)):
        v = v.item()
    if v is None or isinstance(v, (bool, int)):
        return repr(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else None
    if isinstance(v, slice):
        parts = [_literal(x) for x in (v.start, v.stop, v.step)]
        if any(p is None and x is not None for p, x in zip(parts, (v.start, v.stop, v.step))):
            return None
        return "slice(" + ", ".join(parts) + ")"
    if isinstance(v, tuple):
        parts = [_literal(x) for x in v]
        if any(p is None for p in parts):
            return None
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
    return None


def _dtypes_ok(e) -> bool:
    for a in (*e.ins, *e.outs):
        if isinstance(a, Const):
            v = a.value
            if isinstance(v, (bool, int, float)):
                if isinstance(v, float) and not math.isfinite(v):
                    return False
                continue
            if not isinstance(v, (np.ndarray, np.generic)) or np.asarray(v).dtype not in _DTYPES:
                return False
        elif np.dtype(a.aval.dtype) not in _DTYPES:
            return False
    return True


def scalar_template(e) -> str | Callable | None:
    """How an equation is spelled on scalars inside a loop: its primitive's scalar_expr, else
    np.<ufunc>(...) for a primitive whose impl is a NumPy ufunc; None if it has no scalar spelling."""
    p = e.prim
    if p.multiple_results or subgraphs_of(e.params):
        return None
    if p.scalar_expr is not None:
        return p.scalar_expr
    if not (p.elementwise or p.broadcasting):
        return None
    if isinstance(p.impl, np.ufunc) and not e.params and p.impl.nout == 1:
        return "np." + p.impl.__name__ + "(" + ", ".join("{" + str(i) + "}" for i in range(p.impl.nin)) + ")"
    return None


def spell(e, args: list) -> str | None:
    t = scalar_template(e)
    if t is None:
        return None
    return t(args, **e.params) if callable(t) else t.format(*args)


def fusable(e) -> bool:
    return _dtypes_ok(e) and scalar_template(e) is not None and spell(e, ["a"] * len(e.ins)) is not None


def full_reduction(e) -> bool:
    """e sums one array over every axis, with a lowering (so it may fold into a loop as an accumulator)."""
    p = e.prim
    if getattr(p.lower, "accumulate", None) != "+" or len(e.ins) != 1 or not _dtypes_ok(e):
        return False
    return e.outs[0].aval.shape == () and np.dtype(e.outs[0].aval.dtype) == np.dtype(e.ins[0].aval.dtype)


def lowerable(e, kernel: _Kernel | None = None) -> bool:
    """Whether an equation can be part of a kernel."""
    if fusable(e):
        return True
    p = e.prim
    if p.lower is None or p.multiple_results or subgraphs_of(e.params) or not _dtypes_ok(e):
        return False
    if any(isinstance(a, Const) and np.ndim(a.value) > 0 for a in e.ins):
        return False  # (array constants reach a hook as arguments; kept simple: only Vars)
    probe = _Kernel("probe") if kernel is None else kernel
    try:
        return p.lower(LowerContext(probe, e), e, [f"a{i}" for i in range(len(e.ins))]) is not None
    except (TypeError, ValueError, KeyError, IndexError):
        return False


class _Kernel:
    """The source of one kernel being generated."""

    def __init__(self, name: str):
        self.name = name
        self.lines: list[str] = []
        self.names: dict = {}  # Var -> local name
        self.args: list = []  # the kernel's parameters: Vars defined outside, then constants
        self.consts: list = []  # (name, value) of constants passed as arguments
        self.count = 0

    def fresh(self, base: str) -> str:
        self.count += 1
        return f"{base}{self.count}"

    def read(self, a) -> str:
        """A value as a whole (array or scalar)."""
        if isinstance(a, Var):
            if a not in self.names:
                self.names[a] = self.fresh("in")
                self.args.append(a)
            return self.names[a]
        v = a.value
        if isinstance(v, (bool, int, float)) and not isinstance(v, np.generic):
            return repr(v)
        name = self.fresh("c")
        self.consts.append((name, v[()] if isinstance(v, np.ndarray) and v.ndim == 0 else v))
        return name

    def element(self, a, shape: tuple, temps: dict) -> str:
        """A value read at the loop indices of a loop over `shape` (broadcasting NumPy's way)."""
        if isinstance(a, Var) and a in temps:
            return temps[a]
        ash = tuple(np.shape(a.value)) if isinstance(a, Const) else tuple(a.aval.shape)
        base = self.read(a)
        if not ash:
            return base
        off = len(shape) - len(ash)
        idx = ["0" if (n == 1 and shape[off + j] != 1) else f"i{off + j}" for j, n in enumerate(ash)]
        return f"{base}[{', '.join(idx)}]"


def _needed_after(items: list, graph_outs: set) -> Callable:
    """used(var, position): var is read by an item after `position`, or is an output of the segment."""
    last: dict = {}
    for k, it in enumerate(items):
        eqns = it.eqns + it.reductions if isinstance(it, fusion.Group) else [it]
        for e in eqns:
            for a in e.ins:
                if isinstance(a, Var):
                    last[a] = k
    return lambda v, k: v in graph_outs or last.get(v, -1) > k


def kernel_source(eqns: list, outs: list, name: str) -> tuple[str, list, list]:
    """(source, input Vars, constants): the module text of one kernel computing `outs` from `eqns`."""
    k = _Kernel(name)
    items = fusion.plan(eqns, fusable, full_reduction)
    needed = _needed_after(items, set(outs))
    body: list[str] = []
    for pos, it in enumerate(items):
        if isinstance(it, fusion.Group):
            body += _loop(k, it, pos, needed)
        else:
            e = it
            out = e.outs[0]
            target = k.names[out] = k.fresh(e.prim.stem if e.prim.stem.isidentifier() else "v")
            if fusable(e):  # a 0-d elementwise equation: scalar code
                body.append(f"{target} = {spell(e, [k.read(a) for a in e.ins])}")
            else:
                expr = e.prim.lower(LowerContext(k, e), e, [k.read(a) for a in e.ins])
                if isinstance(expr, list):  # statements assigning $out
                    body += [line.replace("$out", target) for line in expr]
                else:
                    body.append(f"{target} = {expr}")
    rets = [k.read(o) for o in outs]
    params = [k.names[v] for v in k.args] + [n for n, _ in k.consts]
    src = [_HEADER, _DECORATOR, f"def {name}({', '.join(params)}):"]
    src += ["    " + line for line in body]
    src.append(f"    return ({', '.join(rets)}{',' if len(rets) == 1 else ''})")
    return "\n".join(src) + "\n", list(k.args), [v for _, v in k.consts]


def _loop(k: _Kernel, g: fusion.Group, pos: int, needed: Callable) -> list[str]:
    """One loop nest over the group's shape: members as scalar temporaries, stored where read later."""
    shape = g.shape
    pre, inner, post = [], [], []
    temps: dict = {}
    stored = []
    for e in g.eqns:
        out = e.outs[0]
        t = k.fresh("t")
        inner.append(f"{t} = {spell(e, [k.element(a, shape, temps) for a in e.ins])}")
        temps[out] = t
        if needed(out, pos):
            arr = k.names[out] = k.fresh(e.prim.stem if e.prim.stem.isidentifier() else "v")
            pre.append(f"{arr} = np.empty({shape!r}, np.{np.dtype(out.aval.dtype).name})")
            stored.append((arr, t))
    for r in g.reductions:
        acc = k.names[r.outs[0]] = k.fresh("acc")
        zero = "0.0" if np.dtype(r.outs[0].aval.dtype).kind == "f" else "0"
        pre.append(f"{acc} = {zero}")
        inner.append(f"{acc} += {temps[r.ins[0]]}")
    idx = ", ".join(f"i{j}" for j in range(len(shape)))
    inner += [f"{arr}[{idx}] = {t}" for arr, t in stored]
    lines = list(pre)
    for j, n in enumerate(shape):
        lines.append("    " * j + f"for i{j} in range({n}):")
    lines += ["    " * len(shape) + line for line in inner]
    lines += post
    return lines


# ----------------------------------------------------------------------------- the driver


class NumbaProgram:
    """A graph lowered to kernels and NumPy segments, and the Python driver calling them in order."""

    def __init__(self, graph: Graph, name: str = "staged"):
        self.graph = graph
        self.name = sanitize(name, "f")
        self.kernels: list = []  # (function name, source)
        self._build()

    def _build(self) -> None:
        g = self.graph
        segments: list = []  # (lowered?, eqns)
        for e in g.eqns:
            low = lowerable(e)
            if segments and segments[-1][0] == low:
                segments[-1][1].append(e)
            else:
                segments.append((low, [e]))
        later: list = []  # the Vars each segment's successors (and the outputs) read
        reads = {o for o in g.outs if isinstance(o, Var)}
        for _low, eqns in reversed(segments):
            later.append(set(reads))
            for e in eqns:
                reads.update(a for a in e.ins if isinstance(a, Var))
        later.reverse()
        readable = g.names()
        names = {v: readable[v] for v in g.in_vars}
        env: dict = {"np": np}
        lines: list[str] = []
        scalar0 = {}  # Var -> a 0-d value's expression as a NumPy scalar of its dtype

        def ref(a) -> str:
            if isinstance(a, Var):
                return names[a]
            n = f"_pb_c{len(env)}"
            env[n] = a.value
            return n

        count = 0
        for (low, eqns), after in zip(segments, later):
            defined = [o for e in eqns for o in e.outs]
            outs = [o for o in defined if o in after]
            for o in outs:
                names[o] = readable.get(o) or f"v{len(names)}"
            lhs = ", ".join(names[o] for o in outs) + ("," if len(outs) == 1 else "")
            if low:
                fname = f"_pb_{self.name}_k{count}"
                count += 1
                src, ins, consts = kernel_source(eqns, outs, fname)
                self.kernels.append((fname, src))
                env[fname] = _Lazy(src, fname, self)
                args = []
                for v in ins:
                    if v.aval.shape == ():  # 0-d values are scalars in a kernel
                        args.append(f"_pb_s({names[v]})")
                    else:
                        args.append(names[v])
                for c in consts:
                    n = f"_pb_c{len(env)}"
                    env[n] = c
                    args.append(n)
                call = f"{fname}({', '.join(args)})"
                if outs:
                    lines.append(f"    {lhs} = {call}")
                    for o in outs:
                        if o.aval.shape == ():  # a NumPy scalar again (a weak one: a Python number)
                            t = f"_pb_t{len(env)}"
                            env[t] = np.dtype(o.aval.dtype).type(0).item().__class__ if is_weak(o) \
                                else np.dtype(o.aval.dtype).type
                            scalar0[o] = t
                            lines.append(f"    {names[o]} = {t}({names[o]})")
            else:
                sub = Graph([v for v in _free_inputs(eqns)], eqns, outs)
                fname = f"_pb_{self.name}_np{count}"
                count += 1
                fn = compile_graph(sub, fname)
                env[fname] = fn
                self.kernels.append((fname, "# on NumPy\n" + fn.__pullback_source__))
                call = f"{fname}({', '.join(names[v] for v in sub.in_vars)})"
                lines.append(f"    {lhs} = {call}" if outs else f"    {call}")
        env["_pb_s"] = _scalar
        rets = [ref(o) for o in g.outs]
        head = f"def {self.name}({', '.join(names[v] for v in g.in_vars)}):"
        body = lines + [f"    return ({', '.join(rets)}{',' if len(rets) == 1 else ''})"]
        self.driver_source = "\n".join([head, *body]) + "\n"
        code = compile(self.driver_source, f"<pullback numba driver {self.name}>", "exec")
        exec(code, env)  # noqa: S102 - source built from generated names only
        self.run = env[self.name]

    def source(self) -> str:
        """The driver and every kernel's source (the NumPy segments' too)."""
        parts = [self.driver_source] + [f"# {n}\n{s}" for n, s in self.kernels]
        return "\n".join(parts)

    def is_cached(self) -> bool:
        return all(cache.is_cached(s) for n, s in self.kernels if not s.startswith("# on NumPy"))

    def __call__(self, *args):
        return self.run(*args)


def _scalar(x: Any) -> Any:
    """A 0-d value as the scalar a kernel takes."""
    return x[()] if type(x) is np.ndarray else x


def _free_inputs(eqns: list) -> list:
    defined: set = set()
    ins: list = []
    for e in eqns:
        for a in e.ins:
            if isinstance(a, Var) and a not in defined and a not in ins:
                ins.append(a)
        defined.update(e.outs)
    return ins


class _Lazy:
    """A kernel imported from the disk cache on first call (then replaced by numba's dispatcher)."""

    __slots__ = ("src", "name", "program", "fn")

    def __init__(self, src: str, name: str, program: NumbaProgram):
        self.src, self.name, self.program, self.fn = src, name, program, None

    def __call__(self, *args):
        fn = self.fn
        if fn is None:
            t0 = time.perf_counter()
            fn = self.fn = cache.load(self.src, self.name)
            out = fn(*args)
            dt = time.perf_counter() - t0
            if config.verbose and dt > 0.5:
                import sys

                print(f"pullback.jit: numba kernel {self.name} ready in {dt:.2f} s", file=sys.stderr)
            return out
        return fn(*args)
