"""Primitive: one elementary operation and everything about it, in one object.

A primitive holds
- ``impl``: the NumPy implementation, called on plain arrays;
- ``shape``: the shape/dtype rule, ``shape(*avals, **params) -> (shape, dtype)``
  where each aval has ``.shape`` and ``.dtype`` (used by staging);
- its forward-mode rule, either per argument, ``jvps[i](t, out, *primals, **params)``
  giving that argument's contribution ∂out/∂xᵢ · t, or whole, ``jvp(primals, tangents,
  out, **params)`` with ``None`` for a zero tangent;
- its batching rule ``batch(values, batched, **params)`` for vmap (see core/batching.py;
  without one, vmap loops over the batch);
- its reverse-mode rule, per argument, ``vjps[i](ct, out, *primals, **params)`` giving
  ctᵀ ∂out/∂xᵢ, or whole, ``vjp(ct, out, primals, needs, **params)``. For a linear
  primitive the reverse rule is its transpose and ignores the primal values. Without
  one, the reverse rule is the transpose of the forward rule (linear in the tangent),
  derived on first use by the reverse pass (core/ad.py, `reverse_rules`). A reverse rule's result need not
  have its input's shape or dtype: the backward pass sums it over broadcast axes and
  casts it (complex → real, float64 → float32) centrally.

Rules are written with pullback operations, so they can be differentiated again:
that is all nesting needs. A ``None`` in ``jvps``/``vjps`` marks an argument that is
not differentiable (an index, a condition).

Everything the engine's passes and code generator need to know about an operation is
data on the primitive, registered beside it (so core/ names no primitive):

- traits (keyword flags, all off by default): ``linear``; ``commutative`` (f(x, y) =
  f(y, x)); ``elementwise`` (one argument, f(broadcast_to(x)) = broadcast_to(f(x)));
  ``broadcasting`` (several arguments broadcast NumPy's way); ``reduction`` (params
  ``axis``/``keepdims``); ``weak_preserving`` (on Python scalars only the result is a
  Python scalar again, as for Python's operators); ``negation_commutes`` (a linear map of
  one array argument with op(−x) = −op(x)); ``negation`` (this primitive *is* x ↦ −x);
- hooks: ``rewrite`` (rules ``rule(s, ins, params, out) -> atom | None`` for the rewrite
  engine, core/rewrite.py; more can be added with `def_rewrite`), ``render`` (how the
  generated NumPy source spells it, core/codegen.py) and ``stem`` (the prefix of its
  output variables' names);
- ``sparsity``: the structural dependency rule used by sparsity detection (pullback.sparse),
  ``rule(in_shapes, consts, out_shape, **params) -> maps`` with one entry per argument: None (no
  derivative flows from it) or a pair of integer arrays ``(out_index, in_index)`` over the flattened
  output and argument (output entry out_index[k] depends on argument entry in_index[k]); ``consts``
  holds each argument's concrete value where it is a constant, else None. It may return
  ``(maps, False)`` to say the pattern is a superset only. Without a rule, one is derived from the
  traits (elementwise, broadcasting, reduction), else every output depends on every input.
- ``xp_impl``: the implementation on another array library's values, ``xp_impl(xp, *args, **params)``
  with ``xp`` the arguments' array-API namespace (core/backend.py chooses it in `bind`, and moves NumPy
  constants there first). A primitive whose ``impl`` is a NumPy ufunc needs none.
- lowering hooks for compiled backends (pullback/compile/): ``scalar_expr``, how an elementwise or
  broadcasting primitive is spelled on scalars inside a fused loop, a format template over its arguments
  (``"({0} + {1})"``, ``"math.exp({0})"``) or a callable ``scalar_expr(args, **params) -> str | None``;
  without one, a primitive whose ``impl`` is a NumPy ufunc is spelled ``np.<ufunc>(...)``. ``lower``, for
  other operations, ``lower(ctx, e, args) -> str | list | None``: a whole-array expression valid in numba's
  nopython mode (``np.dot(a, b)``, ``a[1:3]``), or statements assigning ``$out``, or None where these
  parameters do not lower (the compiled kernel is then split around the equation, which runs on NumPy).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..config import on_change, user_frame
from .backend import NUMPY_TYPES
from .backend import apply as apply_foreign
from .trace import LARGE_CONSTANT, Tracer, constant_sink

Rule = Callable[..., Any]


class Primitive:
    __slots__ = (
        "name", "impl", "shape", "jvps", "jvp", "vjps", "vjp",
        "differentiable", "multiple_results", "linear", "batch", "__doc__",
        "commutative", "elementwise", "broadcasting", "reduction", "weak_preserving",
        "negation_commutes", "negation", "rewrites", "render", "stem", "sparsity", "xp_impl",
        "scalar_expr", "lower",
    )

    def __init__(
        self,
        name: str,
        impl: Callable,
        *,
        shape: Callable | None = None,
        jvps: Sequence[Rule | None] | None = None,
        jvp: Rule | None = None,
        vjps: Sequence[Rule | None] | None = None,
        vjp: Rule | None = None,
        differentiable: bool = True,
        multiple_results: bool = False,
        linear: bool = False,
        batch: Callable | None = None,
        doc: str | None = None,
        commutative: bool = False,
        elementwise: bool = False,
        broadcasting: bool = False,
        reduction: bool = False,
        weak_preserving: bool = False,
        negation_commutes: bool = False,
        negation: bool = False,
        rewrite: Rule | Sequence[Rule] | None = None,
        render: Callable | None = None,
        stem: str | None = None,
        sparsity: Callable | None = None,
        xp_impl: Callable | None = None,
        scalar_expr: str | Callable | None = None,
        lower: Callable | None = None,
    ):
        self.name = name
        self.impl = impl
        self.shape = shape
        self.jvps = tuple(jvps) if jvps is not None else None
        self.jvp = jvp
        self.vjps = tuple(vjps) if vjps is not None else None
        self.vjp = vjp
        self.differentiable = differentiable
        self.multiple_results = multiple_results
        self.linear = linear
        self.batch = batch
        self.__doc__ = doc
        self.commutative = commutative
        self.elementwise = elementwise
        self.broadcasting = broadcasting
        self.reduction = reduction
        self.weak_preserving = weak_preserving
        self.negation_commutes = negation_commutes
        self.negation = negation
        if rewrite is None:
            self.rewrites: tuple = ()
        else:
            self.rewrites = tuple(rewrite) if isinstance(rewrite, (list, tuple)) else (rewrite,)
        self.render = render
        self.stem = stem if stem is not None else name[:4]
        self.sparsity = sparsity
        self.xp_impl = xp_impl
        self.scalar_expr = scalar_expr
        self.lower = lower

    def def_rewrite(self, rule: Rule) -> Rule:
        """Add a rewrite rule ``rule(s, ins, params, out) -> atom | None`` (tried after the earlier ones).

        Usable as a decorator; a module that builds on this primitive registers its rules here.
        """
        self.rewrites = self.rewrites + (rule,)
        return rule

    def bind(self, *args: Any, **params: Any) -> Any:
        """Apply the primitive: directly on plain values, else via the top trace among the arguments."""
        top = None
        level = -1
        for a in args:
            if isinstance(a, Tracer):
                t = a._trace
                if t.level > level:
                    top, level = t, t.level
        if top is None:
            for a in args:
                if type(a) not in NUMPY_TYPES:  # maybe another array library's values (core/backend.py)
                    return apply_foreign(self, args, params)
            sink = constant_sink()
            if sink is not None and self._large_result(args, params):
                return sink.process_primitive(self, args, params)
            if DEBUG_NANS:
                return check_finite(self, args, self.impl(*args, **params))
            return self.impl(*args, **params)
        if not top.active:
            from .trace import find_top_trace

            find_top_trace(args)  # raises the escaped-tracer error
        return top.process_primitive(self, args, params)

    __call__ = bind

    def _large_result(self, args: tuple, params: dict) -> bool:
        """Whether the result on these constants has over LARGE_CONSTANT elements (by the shape rule)."""
        if self.shape is None or self.multiple_results:
            return False
        try:
            shape, _ = self.shape(*args, **params)
        except Exception:  # the implementation, run eagerly, reports what is wrong with the arguments
            return False
        return math.prod(shape) > LARGE_CONSTANT

    def __repr__(self) -> str:
        return f"Primitive({self.name})"


# ----------------------------------------------------------------------------- debug_nans

# Set by pullback.config (config.update("debug_nans", True) or PULLBACK_DEBUG_NANS=1). Off, it costs
# one global read per primitive applied to plain values; on, every such output is checked.
DEBUG_NANS = False


def _set_debug_nans(value: bool) -> None:
    global DEBUG_NANS
    DEBUG_NANS = value


on_change("debug_nans", _set_debug_nans)

def _nonfinite(x: Any) -> bool:
    a = x if isinstance(x, np.ndarray) else np.asarray(x) if isinstance(x, (float, complex, np.generic)) else None
    return a is not None and a.dtype.kind in "fc" and not np.isfinite(a).all()


_AD_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ad.py")
_JVP_FRAMES = ("JVPTrace.process_primitive", "JVPTrace.process_custom")


def _which_pass(from_trace: bool) -> str:
    """forward, JVP or backward: what the interpreter frames on the stack are doing right now
    (from_trace: the check was called by a trace's process_primitive, for its primal value).
    Frames are recognized by file and name, so this module need not import core/ad.py."""
    f = sys._getframe(3 if from_trace else 2)
    while f is not None:
        code = f.f_code
        if code.co_filename == _AD_FILE:
            if code.co_qualname.endswith("Trace.backward"):
                rule = f.f_locals.get("prim")
                name = getattr(rule, "name", None)
                return f"backward pass (the reverse rule of {name})" if name else "backward pass"
            if code.co_qualname in _JVP_FRAMES and ("out" in f.f_locals or "outs" in f.f_locals):
                return "JVP (forward-mode tangent)"
        f = f.f_back
    return "forward pass"


def check_finite(prim: Primitive, args: Sequence, out: Any, from_trace: bool = False) -> Any:
    """Raise NonFiniteError if prim turned finite inputs into a NaN or inf (debug_nans)."""
    outs = out if prim.multiple_results else (out,)
    if any(_nonfinite(o) for o in outs) and not any(_nonfinite(a) for a in args):
        from ..errors import NonFiniteError

        frame = user_frame(sys._getframe(1))
        where = f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else "an unknown line"
        line = ""
        if frame is not None:
            import linecache

            line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
        kinds = " and ".join(k for k, test in (("NaN", np.isnan), ("inf", np.isinf))
                             if any(isinstance(o, (np.ndarray, np.generic, float, complex)) and test(o).any()
                                    for o in outs))
        raise NonFiniteError(
            f"debug_nans: the primitive {prim.name!r} produced {kinds} from finite inputs in the "
            f"{_which_pass(from_trace)}, at {where}" + (f" ({line})" if line else "") + ". Guard the input (e.g. "
            "np.where before the operation, so both branches stay finite), or turn the check off with "
            "pullback.config.update('debug_nans', False)."
        )
    return out


def nondifferentiable(name: str, impl: Callable, shape: Callable | None = None, doc: str | None = None,
                      **traits: Any) -> Primitive:
    """A primitive whose output carries no derivative (comparisons, argmax, ...); `traits` are the
    Primitive keyword arguments (commutative=..., render=..., ...).

    Parameters
    ----------
    name : str
        The primitive's name (in graphs and error messages).
    impl : callable
        ``impl(*arrays, **params)``, the NumPy implementation.
    shape : callable, optional
        ``shape(*avals, **params) -> (shape, dtype)``, needed for staging (jit).
    doc : str, optional
        A one-line description.
    **traits
        Further Primitive keyword arguments.

    Returns
    -------
    Primitive
        Its output is a constant to every transformation (a zero derivative).

    Examples
    --------
    >>> import numpy
    >>> import pullback as pb
    >>> from pullback.extend import bool_rule, nondifferentiable
    >>> positive = nondifferentiable("positive_mask", lambda x: x > 0, shape=bool_rule)
    >>> pb.grad(lambda x: x * positive.bind(x))(2.0)
    np.float64(1.0)
    """
    return Primitive(name, impl, shape=shape, differentiable=False, doc=doc, **traits)
