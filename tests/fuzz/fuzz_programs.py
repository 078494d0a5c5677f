"""A seeded random-program generator over pullback.numpy, and the differential checks run on each program.

A program is straight-line NumPy code of 3-15 statements over one or two float64 inputs, drawn
from every primitive family: elementwise (smooth and kinked), reductions (with axis, negative
axes, keepdims), shapes and indexing (slices, int/bool arrays, broadcasting), functional and
in-place updates (x.at[idx], a[idx] = v, a[i] += v, writes through views), linalg, control flow
(cond, fori_loop, scan). Shapes include size-0 and size-1 axes. Each statement is drawn, then
evaluated with NumPy at the program's input; draws that fail or give non-finite or huge values
are redrawn, so every program is well defined at its point.

The same source runs with ``xp`` = numpy (the reference), pullback.numpy (eagerly and under every
transformation) and jax.numpy (an optional oracle; in-place statements become ``.at`` updates).

Checks (one program gives up to ~16): value under tracing and under jit against NumPy; jvp
against central differences; the dot-product test ⟨u, J v⟩ = ⟨Jᵀu, v⟩; linearize against jvp;
jacfwd against jacrev; Hessian-vector products (forward-over-reverse against reverse-over-
reverse and against differences of the gradient); third order forward³ against reverse³; jit
against eager for values and gradients; vmap against a loop; JAX's value, jvp and gradient.

Failures are classified: a check that compares with finite differences or JAX at a point within
``KINK_MARGIN`` of a kink or tie of some statement (abs at 0, max ties, clip bounds, sort ties,
a cond predicate at 0 ...) is a *kink* result, judged by docs/conventions.md, not a failure;
a clear PullbackError is an *unsupported* result; anything else is a failure (mismatch or crash).
"""

from __future__ import annotations

import dataclasses
import math
import traceback
from collections.abc import Callable

import numpy as np

import pullback as pb
import pullback.numpy as pnp
from pullback.errors import PullbackError

KINK_MARGIN = 1e-4
FD_EPS = 1e-6

# ----------------------------------------------------------------------------- shims for control flow


class NumpyControl:
    """pb.cond / pb.fori_loop / pb.scan for the NumPy reference: plain Python."""

    @staticmethod
    def cond(pred, f, g, *ops):
        return f(*ops) if bool(pred) else g(*ops)

    @staticmethod
    def fori_loop(lo, hi, body, val):
        for i in range(lo, hi):
            val = body(i, val)
        return val

    @staticmethod
    def scan(f, init, xs):
        carry, ys = init, []
        for i in range(np.shape(xs)[0]):
            carry, y = f(carry, xs[i])
            ys.append(y)
        return carry, (np.stack(ys) if ys else np.zeros((0,) + np.shape(init)))


def _jax():
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    return jax


class JaxControl:
    @staticmethod
    def cond(pred, f, g, *ops):
        import jax

        return jax.lax.cond(pred, f, g, *ops)

    @staticmethod
    def fori_loop(lo, hi, body, val):
        import jax

        return jax.lax.fori_loop(lo, hi, body, val)

    @staticmethod
    def scan(f, init, xs):
        import jax

        return jax.lax.scan(f, init, xs)


# ----------------------------------------------------------------------------- statements


@dataclasses.dataclass
class Node:
    """One statement: `out = expr` (or a block), with the ops it reads and how far it is from a kink."""

    src: str  # NumPy / pullback.numpy source; {0}, {1} are the arguments, {out} the result
    args: tuple
    family: str
    name: str
    jax_src: str | None = None  # None: the same source; "" : not translatable
    margin: float = math.inf  # distance of the arguments from this op's kink at the program's point


def _r(x) -> str:
    return repr(x)


def _axis(rng, shape, allow_none=True):
    if not shape:
        return None
    choices = list(range(-len(shape), len(shape))) + ([None] if allow_none else [])
    return choices[rng.integers(len(choices))]


def _gap(values) -> float:
    """The smallest gap between distinct-position entries (0 at a tie)."""
    v = np.sort(np.ravel(values))
    return float(np.min(np.diff(v))) if v.size > 1 else math.inf


def _axis_gap(values, axis) -> float:
    if axis is None:
        return _gap(values)
    v = np.sort(np.moveaxis(np.asarray(values), axis, -1), axis=-1)
    return float(np.min(np.diff(v, axis=-1))) if v.shape[-1] > 1 and v.size else math.inf


def _min_abs(values) -> float:
    return float(np.min(np.abs(values))) if np.size(values) else math.inf


# Each maker: (rng, argument values) -> (src, margin) or None when it does not apply.

def _unary(expr, kink=None):
    def make(rng, a):
        return expr, (kink(a) if kink else math.inf)
    return make


UNARY = {
    "sin": _unary("xp.sin({0})"), "cos": _unary("xp.cos({0})"), "tanh": _unary("xp.tanh({0})"),
    "exp_tanh": _unary("xp.exp(xp.tanh({0}))"), "log1p_sq": _unary("xp.log1p({0} * {0})"),
    "sqrt_1p": _unary("xp.sqrt(1.0 + {0} ** 2)"), "arctan": _unary("xp.arctan({0})"),
    "square": _unary("xp.square({0})"), "cube": _unary("{0} ** 3"), "neg": _unary("-{0}"),
    "recip": _unary("1.0 / (1.0 + {0} * {0})"), "sinh_tanh": _unary("xp.sinh(xp.tanh({0}))"),
    "expm1_sin": _unary("xp.expm1(xp.sin({0}))"), "erf_like": _unary("xp.tanh({0}) * xp.cos({0})"),
    "abs": _unary("xp.abs({0})", _min_abs),
    "relu": _unary("xp.maximum({0}, 0.0)", _min_abs),
    "clip": _unary("xp.clip({0}, -0.5, 0.75)", lambda a: min(_min_abs(a + 0.5), _min_abs(a - 0.75))),
    "sign_sq": _unary("xp.sign({0}) * {0} ** 2", _min_abs),  # C¹: central differences lose O(ε²) at 0
    "abs_pow": _unary("xp.abs({0}) ** 1.5", _min_abs),
    "where_pos": _unary("xp.where({0} > 0, {0}, 0.1 * {0})", _min_abs),
    "sqrt_abs_sq": _unary("xp.sqrt({0} * {0} + 0.25)"),
}

BINARY = {
    "add": ("{0} + {1}", None), "sub": ("{0} - {1}", None), "mul": ("{0} * {1}", None),
    "div": ("{0} / (1.0 + {1} * {1})", None), "arctan2": ("xp.arctan2({0}, 1.5 + xp.cos({1}))", None),
    "hypot": ("xp.hypot({0}, {1})", lambda a, b: _min_abs(np.hypot(a, b))),
    "maximum": ("xp.maximum({0}, {1})", lambda a, b: _min_abs(a - b)),
    "minimum": ("xp.minimum({0}, {1})", lambda a, b: _min_abs(a - b)),
    "pow": ("(1.0 + {0} * {0}) ** xp.tanh({1})", None),
    "where": ("xp.where({0} > {1}, {0} * {1}, {1})", lambda a, b: _min_abs(a - b)),
}


def _broadcastable(a, b) -> bool:
    try:
        np.broadcast_shapes(np.shape(a), np.shape(b))
        return True
    except ValueError:
        return False


def _reduction(rng, a):
    shape = np.shape(a)
    name = ["sum", "mean", "prod", "max", "min", "std", "var", "cumsum", "cumprod", "sort", "median",
            "norm", "logsumexp", "ptp"][rng.integers(14)]
    axis = _axis(rng, shape, allow_none=name not in ("cumsum", "cumprod", "sort"))
    if name in ("cumsum", "cumprod", "sort") and axis is None:
        return None
    keep = bool(rng.integers(2)) and name not in ("cumsum", "cumprod", "sort", "median", "norm")
    kd = ", keepdims=True" if keep else ""
    ax = f", axis={axis}"
    reduced = [d for i, d in enumerate(shape) if axis is None or i == axis % len(shape)]
    empty = any(d == 0 for d in reduced) or (axis is None and np.size(a) == 0)
    if name in ("max", "min", "ptp", "median") and empty:
        return None
    margin = math.inf
    if name in ("max", "min", "ptp", "sort", "median"):
        margin = _axis_gap(a, axis)
    if name == "norm":
        sq = np.sqrt(np.sum(np.asarray(a) ** 2, axis=axis))
        margin = float(np.min(sq)) if np.size(sq) else math.inf  # an empty sum: the norm sits at its kink 0
        return f"xp.linalg.norm({{0}}{ax})", margin
    if name == "cumprod":
        return f"xp.cumprod(xp.tanh({{0}}) + 1.0{ax})", margin
    if name == "prod":
        return f"xp.prod(xp.tanh({{0}}) + 1.0{ax}{kd})", margin
    if name == "sort":
        return f"xp.sort({{0}}{ax})", margin
    if name in ("std",):
        if empty or all(d <= 1 for d in reduced):
            return None
        margin = min(margin, float(np.min(np.std(a, axis=axis))) if np.size(a) else math.inf)
    if name == "logsumexp":
        if empty:
            return None
        return f"xp.log(xp.sum(xp.exp(xp.tanh({{0}})){ax}{kd}))", margin
    if name == "ptp":
        return f"xp.ptp({{0}}{ax}{kd})", margin
    if name == "median":
        if axis is None and np.size(a) == 0:
            return None
        return f"xp.median({{0}}{ax})", margin
    return f"xp.{name}({{0}}{ax}{kd})", margin


def _index_for(rng, shape):
    """A random index into an array of this shape: (source text, the index) or None."""
    if not shape or shape[0] == 0:
        return None
    n = shape[0]
    kind = rng.integers(7)
    if kind == 0:
        i = int(rng.integers(-n, n))
        return _r(i), i
    if kind == 1:
        start = int(rng.integers(-n, n))
        return f"{start}:", slice(start, None)
    if kind == 2:
        return "::-1", slice(None, None, -1)
    if kind == 3:
        idx = rng.integers(-n, n, size=int(rng.integers(1, 4)))
        return f"np.array({idx.tolist()})", idx
    if kind == 4:
        idx = rng.integers(0, n, size=(2, 2))
        return f"np.array({idx.tolist()})", idx
    if kind == 5:
        mask = rng.integers(0, 2, size=n).astype(bool)
        return f"np.array({mask.tolist()})", mask
    if len(shape) >= 2 and shape[1] > 0:
        i = int(rng.integers(-n, n))
        j = rng.integers(0, shape[1], size=2)
        return f"{i}, np.array({j.tolist()})", (i, j)
    return "...", Ellipsis


def _shape_op(rng, a):
    shape = np.shape(a)
    k = rng.integers(12)
    if k == 0:
        return "xp.reshape({0}, (-1,))", math.inf
    if k == 1 and len(shape) >= 2:
        return "xp.transpose({0})", math.inf
    if k == 2:
        return "{0}[None]", math.inf
    if k == 3 and len(shape) >= 1:
        return "xp.flip({0}, axis=-1)", math.inf
    if k == 4 and len(shape) >= 1 and shape[-1] > 0:
        return f"xp.roll({{0}}, {int(rng.integers(-3, 4))}, axis=-1)", math.inf
    if k == 5:
        return "xp.concatenate([xp.ravel({0}), xp.ravel(xp.sin({0}))])", math.inf
    if k == 6:
        return "xp.stack([{0}, {0} * 2.0])", math.inf
    if k == 7 and len(shape) >= 1:
        return f"xp.broadcast_to({{0}}, (2,) + {_r(tuple(shape))})", math.inf
    if k == 8 and 1 in shape:
        return "xp.squeeze({0})", math.inf
    if k == 9:
        return "xp.tile({0}, 2)", math.inf
    ix = _index_for(rng, shape)
    if ix is None:
        return None
    return f"{{0}}[{ix[0]}]", math.inf


def _update(rng, a, b):
    """x.at[idx].op(v) and in-place writes, with v broadcast to x[idx]'s shape."""
    shape = np.shape(a)
    ix = _index_for(rng, shape)
    if ix is None:
        return None
    src, idx = ix
    try:
        target = np.asarray(a)[idx]
    except IndexError:
        return None
    tshape = target.shape
    vshapes = [()] + [tshape[k:] for k in range(len(tshape))]
    vshape = vshapes[rng.integers(len(vshapes))]
    v = "xp.sum({1}) * 0.5" if not vshape else f"xp.broadcast_to(xp.tanh(xp.sum({{1}})), {_r(tuple(vshape))}) + 0.1"
    op = ["set", "add", "subtract", "multiply", "min", "max", "inplace_set", "inplace_add", "view_write"][
        rng.integers(9)]
    margin = math.inf
    if op in ("min", "max"):
        vv = np.broadcast_to(np.tanh(np.sum(b)) + 0.1 if vshape else np.sum(b) * 0.5, tshape)
        margin = _min_abs(target - vv) if target.size else math.inf
        # repeated positions compete too
        if target.size > 1:
            margin = min(margin, _gap(vv))
    if op == "set" or op in ("add", "subtract", "multiply", "min", "max"):
        return f"pnp_at({{0}})[{src}].{op}({v})", margin, f"{{0}}.at[{src}].{op}({v})"
    if op == "inplace_set":
        return f"{{out}} = {{0}} * 1.0\n{{out}}[{src}] = {v}", margin, f"{{out}} = {{0}}.at[{src}].set({v})"
    if op == "inplace_add":  # a[idx] += v is a[idx] = a[idx] + v: at a repeated index the last write wins
        pos = np.arange(max(np.size(a), 1))[: np.size(a)].reshape(shape)[idx]
        repeats = np.unique(pos).size != np.size(pos)
        return (f"{{out}} = {{0}} * 1.0\n{{out}}[{src}] += {v}", margin,
                "" if repeats else f"{{out}} = {{0}}.at[{src}].add({v})")
    if not (isinstance(idx, slice) or (isinstance(idx, int) and len(shape) >= 2)):
        return None  # NumPy gives a view only for basic indices that keep an axis
    # y = a[idx] is a view; writing into it reaches a (as in NumPy)
    return (f"{{out}} = {{0}} * 1.0\n_view = {{out}}[{src}]\n_view *= 2.0", margin,
            f"{{out}} = {{0}}.at[{src}].multiply(2.0)")


def _linalg(rng, a):
    shape = np.shape(a)
    if len(shape) < 1:
        return None
    n = shape[-1]
    k = rng.integers(8)
    spd = "({0}[..., :, None] * {0}[..., None, :] + {n} * xp.eye({n}) + 1.0)".replace("{n}", str(max(n, 1)))
    if len(shape) >= 2 and shape[-2] == n and n > 0:
        spd = "(xp.matmul({0}, xp.swapaxes({0}, -1, -2)) + {n} * xp.eye({n}))".replace("{n}", str(n))
    if n == 0 and k in (1, 2, 3, 4, 7):
        return None
    if k == 0:
        return "xp.matmul({0}, xp.swapaxes(xp.atleast_2d({0}), -1, -2))", math.inf
    if k == 1:
        return f"xp.linalg.solve({spd}, xp.sin({{0}})[..., None])[..., 0]", math.inf
    if k == 2:
        return f"xp.linalg.det({spd})", math.inf
    if k == 3:
        return f"xp.linalg.slogdet({spd})[1]", math.inf
    if k == 4:
        return f"xp.linalg.inv({spd})", math.inf
    if k == 5:
        return "xp.einsum('...i,...i->...', {0}, xp.cos({0}))", math.inf
    if k == 6:
        return "xp.trace(xp.atleast_2d({0}))", math.inf
    if len(shape) >= 2 and min(shape[-2:]) > 0 and rng.integers(2):
        fro = float(np.min(np.sqrt(np.sum(np.asarray(a) ** 2, axis=(-2, -1)))))
        return "xp.linalg.norm({0}, axis=(-2, -1))", fro
    return f"xp.linalg.cholesky({spd})", math.inf


def _control(rng, a):
    shape = np.shape(a)
    k = rng.integers(3)
    if k == 0:
        total = float(np.sum(a))
        return "pb.cond(xp.sum({0}) > 0, lambda t: xp.sin(t) * 2.0, lambda t: t * t, {0})", abs(total)
    if k == 1:
        return "pb.fori_loop(0, 3, lambda i, t: xp.sin(t) * 0.9 + 0.1 * i, {0})", math.inf
    if not shape:
        return None
    return ("pb.scan(lambda c, t: (c * 0.5 + xp.tanh(t), xp.sin(c) * t), xp.zeros_like({0}[0]) if "
            f"{shape[0]} else xp.zeros({_r(tuple(shape[1:]))}), {{0}})[1]"), math.inf


FAMILIES = ("elementwise", "binary", "reduction", "shape", "update", "linalg", "control")
FAMILY_WEIGHTS = np.array([5, 4, 3, 3, 2, 1, 1], dtype=float)

INPUT_SHAPES = [(), (1,), (3,), (4,), (0,), (2, 3), (1, 3), (3, 1), (2, 0), (3, 3), (2, 1, 3), (2, 2, 2)]


@dataclasses.dataclass
class Program:
    seed: int
    inputs: list  # NumPy arrays
    nodes: list  # Node
    ties: bool

    @property
    def n_in(self) -> int:
        return len(self.inputs)

    def source(self, flavour: str = "pnp") -> str | None:
        """The program as a Python function f(v0, ...) (flavour 'jax': in-place statements as .at updates)."""
        lines = [f"def f({', '.join(f'v{i}' for i in range(self.n_in))}):"]
        for k, node in enumerate(self.nodes):
            out = f"v{self.n_in + k}"
            src = node.src
            if flavour == "jax" and node.jax_src is not None:
                if node.jax_src == "":
                    return None
                src = node.jax_src
            filled = src.format(*[f"v{a}" for a in node.args], out=out)
            if "{out}" in src:
                lines += ["    " + ln for ln in filled.split("\n")]
            else:
                lines.append(f"    {out} = {filled}")
        lines.append(f"    return v{self.n_in + len(self.nodes) - 1}")
        return "\n".join(lines)

    def function(self, xp, control, flavour: str = "pnp") -> Callable | None:
        src = self.source(flavour)
        if src is None:
            return None
        at = (lambda x: x.at) if flavour == "jax" else pnp.at
        ns = {"xp": xp, "pb": control, "np": np, "pnp_at": at}
        exec(src, ns)  # noqa: S102 - our own generated source
        return ns["f"]

    @property
    def margin(self) -> float:
        return min((n.margin for n in self.nodes), default=math.inf)

    def kink_ops(self) -> list:
        return sorted({n.name for n in self.nodes if n.margin < KINK_MARGIN})

    def repro(self) -> str:
        ins = "\n".join(f"v{i} = np.array({x.tolist()!r}, dtype=np.float64).reshape({x.shape!r})"
                        for i, x in enumerate(self.inputs))
        return ("import numpy as np\nimport pullback as pb\nimport pullback.numpy as xp\npnp_at = xp.at\n\n"
                f"{ins}\n\n{self.source()}\n")


def _draw_input(rng, shape, ties: bool) -> np.ndarray:
    x = rng.standard_normal(shape)
    if ties and x.size:
        x = np.round(x * 2.0) / 2.0  # exact zeros and repeated values: kinks and ties
    return x


def _try_node(rng, family, pool, values):
    """Draw one statement of `family` reading from the pool: (Node, value) or None."""
    pick = lambda: int(rng.integers(len(pool)))  # noqa: E731
    i = pick()
    a = values[i]
    if family == "elementwise":
        name = list(UNARY)[rng.integers(len(UNARY))]
        src, margin = UNARY[name](rng, a)
        return Node(src, (i,), family, name, margin=margin)
    if family == "binary":
        j = pick()
        if not _broadcastable(a, values[j]):
            return None
        name = list(BINARY)[rng.integers(len(BINARY))]
        src, kink = BINARY[name]
        margin = kink(np.asarray(a), np.asarray(values[j])) if kink else math.inf
        return Node(src, (i, j), family, name, margin=margin)
    if family == "reduction":
        made = _reduction(rng, a)
        return None if made is None else Node(made[0], (i,), family, made[0].split("(")[0], margin=made[1])
    if family == "shape":
        made = _shape_op(rng, a)
        return None if made is None else Node(made[0], (i,), family, "shape", margin=made[1])
    if family == "update":
        j = pick()
        made = _update(rng, a, values[j])
        if made is None:
            return None
        src, margin, jsrc = made
        return Node(src, (i, j), family, "update", jax_src=jsrc, margin=margin)
    if family == "linalg":
        made = _linalg(rng, a)
        return None if made is None else Node(made[0], (i,), family, "linalg", margin=made[1])
    made = _control(rng, a)
    return None if made is None else Node(made[0], (i,), family, made[0].split("(")[0], margin=made[1])


def generate(seed: int, n_ops: tuple = (3, 15)) -> Program:
    """The program for this seed (the same seed always gives the same program)."""
    rng = np.random.default_rng(seed)
    ties = bool(rng.random() < 0.2)
    n_in = 1 + int(rng.random() < 0.35)
    inputs = [_draw_input(rng, INPUT_SHAPES[rng.integers(len(INPUT_SHAPES))], ties) for _ in range(n_in)]
    values = list(inputs)
    nodes: list = []
    target = int(rng.integers(n_ops[0], n_ops[1] + 1))
    attempts = 0
    probs = FAMILY_WEIGHTS / FAMILY_WEIGHTS.sum()
    while len(nodes) < target and attempts < 40 * target:
        attempts += 1
        family = FAMILIES[rng.choice(len(FAMILIES), p=probs)]
        node = _try_node(rng, family, values, values)
        if node is None:
            continue
        prog = Program(seed, inputs, nodes + [node], ties)
        try:
            with np.errstate(all="raise"):
                out = prog.function(np, NumpyControl)(*[x.copy() for x in inputs])
        except Exception:
            continue
        out = np.asarray(out)
        if out.dtype.kind != "f" or not np.all(np.isfinite(out)) or (out.size and np.max(np.abs(out)) > 1e3):
            continue
        if out.size > 40:
            continue
        nodes.append(node)
        values.append(out)
    if not nodes:
        nodes.append(Node("xp.sin({0})", (0,), "elementwise", "sin"))
    # read the last value (and, often, the one before): every program ends in a single output
    return Program(seed, inputs, nodes, ties)


# ----------------------------------------------------------------------------- checks


@dataclasses.dataclass
class Outcome:
    check: str
    status: str  # "ok", "kink", "unsupported", "fail"
    detail: str = ""


def _close(a, b, rtol, atol) -> bool:
    """Equal within tolerances, NaN matching NaN and inf matching the same inf."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return False
    same = (np.isnan(a) & np.isnan(b)) | (np.isinf(a) & (a == b))
    a, b = np.where(same, 0.0, a), np.where(same, 0.0, b)
    finite = np.isfinite(a) & np.isfinite(b)
    if not np.all(finite):
        return False
    scale = 1.0 + max(np.max(np.abs(a), initial=0.0), np.max(np.abs(b), initial=0.0))
    return bool(np.all(np.abs(a - b) <= atol * scale + rtol * np.abs(b)))


def _inner(a, b) -> float:
    return float(np.sum(np.asarray(a, dtype=float) * np.asarray(b, dtype=float)))


class Runner:
    """All checks of one program; each check's outcome is recorded under its name."""

    def __init__(self, prog: Program, jax_oracle: bool = True, third_order: bool = False):
        self.prog = prog
        self.ref = prog.function(np, NumpyControl)
        self.f = prog.function(pnp, pb)
        self.rng = np.random.default_rng(prog.seed + 7)
        self.x = [x.copy() for x in prog.inputs]
        self.v = [self.rng.standard_normal(x.shape) for x in self.x]
        self.y = np.asarray(self.ref(*[x.copy() for x in self.x]))
        self.u = self.rng.standard_normal(self.y.shape)
        self.jax = _jax() if jax_oracle else None
        self.third = third_order
        self.outcomes: list = []

    def singular(self) -> bool:
        """Whether the derivative at the point is not finite (a singular point: inf/nan by convention),
        so that products like the dot-product test cannot be compared."""
        if not hasattr(self, "_singular"):
            try:
                t = pb.jvp(self.f, tuple(self.x), tuple(self.v))[1]
                gs = pb.grad(self.g, argnums=tuple(range(len(self.x))))(*self.x)
                self._singular = not (np.all(np.isfinite(t)) and all(np.all(np.isfinite(q)) for q in gs))
            except Exception:
                self._singular = False
        return self._singular

    # scalarized program: g(x) = Σ u·f(x)
    def g(self, *xs):
        return pnp.sum(self.f(*xs) * self.u)

    def record(self, check: str, fn: Callable[[], bool | tuple], fd_based: bool = False) -> None:
        try:
            ok = fn()
            detail = ""
            if isinstance(ok, tuple):
                ok, detail = ok
        except PullbackError as e:
            self.outcomes.append(Outcome(check, "unsupported", f"{type(e).__name__}: {str(e)[:160]}"))
            return
        except Exception as e:  # a crash
            tb = traceback.format_exception_only(type(e), e)[-1].strip()
            self.outcomes.append(Outcome(check, "fail", f"crash {tb[:200]}"))
            return
        if ok:
            self.outcomes.append(Outcome(check, "ok"))
        elif self.prog.margin < KINK_MARGIN and (fd_based or self.singular()):
            self.outcomes.append(Outcome(check, "kink", ",".join(self.prog.kink_ops())))
        else:
            self.outcomes.append(Outcome(check, "fail", f"mismatch {detail}"[:300]))

    def fd(self, fun, xs, vs, eps=FD_EPS):
        plus = np.asarray(fun(*[x + eps * v for x, v in zip(xs, vs)]), dtype=float)
        minus = np.asarray(fun(*[x - eps * v for x, v in zip(xs, vs)]), dtype=float)
        return (plus - minus) / (2 * eps)

    def run(self) -> list:
        x, v, u, f = self.x, self.v, self.u, self.f
        keep = [a.copy() for a in x]
        n = len(x)
        argn = tuple(range(n))

        def value():
            got = pb.jvp(f, tuple(x), tuple(np.zeros_like(a) for a in x))[0]
            return _close(got, self.y, 1e-10, 1e-12), f"{got} vs {self.y}"

        self.record("value", value)
        self.record("jit-value", lambda: _close(pb.jit(f)(*x), self.y, 1e-10, 1e-12))

        def jvp_fd():
            t = pb.jvp(f, tuple(x), tuple(v))[1]
            want = self.fd(self.ref, x, v)
            return _close(t, want, 1e-5, 1e-6), f"jvp {np.ravel(t)[:4]} fd {np.ravel(want)[:4]}"

        self.record("jvp-fd", jvp_fd, fd_based=True)

        def dot():
            t = pb.jvp(f, tuple(x), tuple(v))[1]
            ct = pb.vjp(f, *x)[1](u)
            return math.isclose(_inner(u, t), sum(_inner(c, w) for c, w in zip(ct, v)), rel_tol=1e-8,
                                abs_tol=1e-10 * (1 + abs(_inner(u, t))))

        self.record("vjp-dot", dot)

        def lin():
            t = pb.jvp(f, tuple(x), tuple(v))[1]
            return _close(pb.linearize(f, *x)[1](*v), t, 1e-9, 1e-12)

        self.record("linearize", lin)
        if sum(a.size for a in x) * max(self.y.size, 1) <= 400:
            def jac():
                a = pb.jacfwd(f, argnums=argn)(*x)
                b = pb.jacrev(f, argnums=argn)(*x)
                return all(_close(p, q, 1e-9, 1e-12) for p, q in zip(a, b))

            self.record("jacfwd-jacrev", jac)

        def hvp_modes():
            fr = pb.jvp(lambda *a: pb.grad(self.g, argnums=argn)(*a), tuple(x), tuple(v))[1]
            rr = pb.grad(lambda *a: sum(pnp.sum(gi * vi) for gi, vi in zip(pb.grad(self.g, argnums=argn)(*a), v)),
                         argnums=argn)(*x)
            return all(_close(p, q, 1e-8, 1e-11) for p, q in zip(fr, rr))

        self.record("hvp-fwd-rev", hvp_modes)

        def hvp_fd():
            fr = pb.jvp(lambda *a: pb.grad(self.g, argnums=argn)(*a), tuple(x), tuple(v))[1]
            grads = lambda *a: np.concatenate([np.ravel(q) for q in pb.grad(self.g, argnums=argn)(*a)])  # noqa: E731
            want = self.fd(grads, x, v, eps=1e-5)
            return _close(np.concatenate([np.ravel(q) for q in fr]), want, 1e-4, 1e-6)

        self.record("hvp-fd", hvp_fd, fd_based=True)
        if self.third:
            def third():
                def d1(*a):
                    return pb.jvp(self.g, a, tuple(v))[1]

                def d2(*a):
                    return pb.jvp(d1, a, tuple(v))[1]

                fwd3 = pb.jvp(d2, tuple(x), tuple(v))[1]

                def r1(*a):
                    return sum(pnp.sum(gi * vi) for gi, vi in zip(pb.grad(self.g, argnums=argn)(*a), v))

                def r2(*a):
                    return sum(pnp.sum(gi * vi) for gi, vi in zip(pb.grad(r1, argnums=argn)(*a), v))

                rev3 = sum(_inner(gi, vi) for gi, vi in zip(pb.grad(r2, argnums=argn)(*x), v))
                both_nan = math.isnan(float(fwd3)) and math.isnan(rev3)
                return both_nan or math.isclose(float(fwd3), rev3, rel_tol=1e-7, abs_tol=1e-9), f"{fwd3} vs {rev3}"

            self.record("fwd3-rev3", third)

        def jit_grad():
            a = pb.grad(self.g, argnums=argn)(*x)
            b = pb.jit(pb.grad(self.g, argnums=argn))(*x)
            return all(_close(p, q, 1e-9, 1e-12) for p, q in zip(a, b))

        self.record("jit-grad", jit_grad)

        def jit_jvp():
            a = pb.jvp(f, tuple(x), tuple(v))[1]
            b = pb.jit(lambda *xs: pb.jvp(f, xs[:n], xs[n:])[1])(*x, *v)
            return _close(b, a, 1e-9, 1e-12)

        self.record("jit-jvp", jit_jvp)

        def vmap_loop():
            x2 = [a + 0.01 * w for a, w in zip(x, v)]
            got = pb.vmap(f)(*[np.stack([a, b]) for a, b in zip(x, x2)])
            want = np.stack([np.asarray(self.ref(*[a.copy() for a in x])), np.asarray(self.ref(*x2))])
            return _close(got, want, 1e-10, 1e-12)

        self.record("vmap-loop", vmap_loop)
        if self.jax is not None:
            self.run_jax()
        for a, k in zip(x, keep):  # the caller's arrays are never modified
            if not np.array_equal(a, k):
                self.outcomes.append(Outcome("inputs-unchanged", "fail", "an input array was modified"))
        return self.outcomes

    def run_jax(self) -> None:
        import jax
        import jax.numpy as jnp

        fj = self.prog.function(jnp, JaxControl, flavour="jax")
        if fj is None:
            return
        x, v, u = self.x, self.v, self.u
        argn = tuple(range(len(x)))
        xj, vj = tuple(jnp.asarray(a) for a in x), tuple(jnp.asarray(w) for w in v)
        try:  # the oracle's own results, each compiled once
            yj = np.asarray(jax.jit(fj)(*xj))
            tj = np.asarray(jax.jit(lambda a, b: jax.jvp(fj, a, b)[1])(xj, vj))
            gj = jax.jit(jax.grad(lambda *a: jnp.sum(fj(*a) * u), argnums=argn))(*xj)
        except Exception as e:  # JAX's own limits (scatter_mul gradients ...): no verdict
            self.outcomes.append(Outcome("jax", "unsupported", f"jax: {type(e).__name__}: {str(e)[:120]}"))
            return

        def jvalue():
            return _close(pb.jit(self.f)(*x), yj, 1e-9, 1e-12)

        def jjvp():
            return _close(pb.jvp(self.f, tuple(x), tuple(v))[1], tj, 1e-8, 1e-11)

        def jgrad():
            gp = pb.grad(self.g, argnums=argn)(*x)
            return all(_close(p, np.asarray(q), 1e-8, 1e-11) for p, q in zip(gp, gj))

        self.record("jax-value", jvalue, fd_based=True)
        self.record("jax-jvp", jjvp, fd_based=True)
        self.record("jax-grad", jgrad, fd_based=True)


def run_program(seed: int, jax_every: int = 1, third_order: bool | None = None) -> tuple[Program, list]:
    """Generate and check program `seed`: JAX on every jax_every-th seed (0: never), third order on every 5th."""
    prog = generate(seed)
    third = (seed % 5 == 0) if third_order is None else third_order
    return prog, Runner(prog, bool(jax_every) and seed % jax_every == 0, third).run()


# ----------------------------------------------------------------------------- minimization


def _still_fails(prog: Program, check: str, jax_oracle: bool) -> bool:
    try:
        with np.errstate(all="raise"):
            out = np.asarray(prog.function(np, NumpyControl)(*[x.copy() for x in prog.inputs]))
        if not np.all(np.isfinite(out)):
            return False
        outcomes = Runner(prog, jax_oracle, third_order=check == "fwd3-rev3").run()
    except Exception:
        return False
    return any(o.check == check and o.status == "fail" for o in outcomes)


def minimize(prog: Program, check: str, jax_oracle: bool = True) -> Program:
    """A smaller program that fails the same check: statements bypassed (their result replaced by
    one of their same-shaped arguments) or dropped from the end while the failure persists."""
    n_in = prog.n_in
    prog = _live(prog)
    changed = True
    while changed and len(prog.nodes) > 1:
        changed = False
        # drop the last statement (the output becomes the one before)
        shorter = Program(prog.seed, prog.inputs, prog.nodes[:-1], prog.ties)
        if _still_fails(shorter, check, jax_oracle):
            prog, changed = shorter, True
            continue
        values = _values(prog)
        for k in range(len(prog.nodes) - 1, -1, -1):
            node = prog.nodes[k]
            out_id = n_in + k
            for a in node.args:
                if np.shape(values[a]) != np.shape(values[out_id]):
                    continue
                nodes = []
                for m, other in enumerate(prog.nodes):
                    if m == k:
                        continue
                    args = tuple((a if r == out_id else r) for r in other.args)
                    args = tuple(r - 1 if r > out_id else r for r in args)
                    nodes.append(dataclasses.replace(other, args=args))
                if not nodes:
                    continue
                cand = _live(Program(prog.seed, prog.inputs, nodes, prog.ties))
                if _still_fails(cand, check, jax_oracle):
                    prog, changed = cand, True
                    break
            if changed:
                break
    return prog


def _live(prog: Program) -> Program:
    """prog without the statements its output does not read."""
    n_in, nodes = prog.n_in, prog.nodes
    need = {n_in + len(nodes) - 1}
    for k in range(len(nodes) - 1, -1, -1):
        if n_in + k in need:
            need.update(nodes[k].args)
    keep = [k for k in range(len(nodes)) if n_in + k in need]
    new_id = {i: i for i in range(n_in)}
    for pos, k in enumerate(keep):
        new_id[n_in + k] = n_in + pos
    out = [dataclasses.replace(nodes[k], args=tuple(new_id[a] for a in nodes[k].args)) for k in keep]
    return Program(prog.seed, prog.inputs, out, prog.ties)


def _values(prog: Program) -> list:
    values = [x.copy() for x in prog.inputs]
    for k in range(len(prog.nodes)):
        sub = Program(prog.seed, prog.inputs, prog.nodes[: k + 1], prog.ties)
        values.append(np.asarray(sub.function(np, NumpyControl)(*[x.copy() for x in prog.inputs])))
    return values
