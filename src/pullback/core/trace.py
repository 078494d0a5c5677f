"""Traces, tracers and the trace stack.

A *trace* is one interpreter of primitives (forward mode, reverse mode, staging...).
Traces are stacked: the stack lives in a `contextvars` variable, so threads and
async tasks each see their own. A trace's *level* is its depth in the stack; a
*tracer* is a value being followed by one trace. When a primitive is applied,
the argument whose trace has the highest level decides who interprets it; that
trace computes on the values one level down (which may be tracers of lower
traces), which is what keeps nested derivatives apart.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..errors import EscapedTracerError, PullbackError, TracerConversionError, UnsupportedFunctionError
from .backend import numpy_dtype

_STACK: contextvars.ContextVar[tuple] = contextvars.ContextVar("pullback_trace_stack", default=())
_IDS = itertools.count()


# A staged program keeps as equations, not as baked-in constants, the results over this many
# elements that its code computes from constants alone (a broadcast seed, a ones((n, n)) mask):
# the graph stays small and the values are made at run time in the inputs' library. The rewrite
# engine folds constant equations up to the same size.
LARGE_CONSTANT = 1 << 16

_RECORDERS_OPEN = [0]  # traces with records_constants open, in any context: a cheap first test


class Trace:
    """Base interpreter. Subclasses implement process_primitive and friends."""

    __slots__ = ("level", "active", "id")
    records_constants = False  # a staging trace: bind gives it large results of constants (constant_sink)

    def __init__(self, level: int):
        self.level = level
        self.active = True
        self.id = next(_IDS)

    # Subclasses define:
    #   process_primitive(prim, args, params) -> output (tracer or value)
    #   process_custom(rule, args) -> outputs, for custom-derivative functions

    def __repr__(self) -> str:
        return f"{type(self).__name__}(level={self.level})"


@contextlib.contextmanager
def new_trace(trace_type: type, *args: Any) -> Iterator[Trace]:
    """Push a new trace of `trace_type` on this context's stack for the duration of the block."""
    stack = _STACK.get()
    trace = trace_type(len(stack), *args)
    token = _STACK.set(stack + (trace,))
    recorder = trace_type.records_constants
    _RECORDERS_OPEN[0] += recorder
    try:
        yield trace
    finally:
        trace.active = False
        _RECORDERS_OPEN[0] -= recorder
        _STACK.reset(token)


def constant_sink() -> Trace | None:
    """The innermost open trace that records large results computed from constants, or None."""
    if not _RECORDERS_OPEN[0]:
        return None
    for t in reversed(_STACK.get()):
        if t.records_constants:
            return t
    return None


def current_level() -> int:
    return len(_STACK.get())


def find_top_trace(args) -> Trace | None:
    """The highest-level trace among the tracers in `args`, or None if there are none."""
    top = None
    level = -1
    for a in args:
        if isinstance(a, Tracer):
            t = a._trace
            if t.level > level:
                top, level = t, t.level
    if top is not None and not top.active:
        raise EscapedTracerError(
            f"a traced value from a finished transformation ({top!r}) was used after it ended. "
            "Return values out of the transformed function instead of keeping them in globals "
            "or closures, or wrap them with pullback.stop_gradient."
        )
    return top


# Filled by the pullback.numpy layer: how NumPy's own functions map onto ours.
UFUNC_HANDLERS: dict[Any, Callable] = {}
ARRAY_FUNCTION_HANDLERS: dict[Any, Callable] = {}


class Shaped:
    """`ndim` and `size` from `shape`, as an ndarray has them (tracers and abstract values)."""

    __slots__ = ()

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


class Tracer(Shaped):
    """A value followed by a trace. Behaves like an ndarray; array methods are attached by pullback.numpy."""

    __slots__ = ("_trace", "__weakref__")  # weakly referenced: pullback.numpy notes which values are views
    __array_priority__ = 1000
    __hash__ = None  # like ndarray: mutable-looking values are not hashable

    # Subclasses hold `aval`: the value one level down (a plain array or a lower tracer).

    @property
    def shape(self) -> tuple:
        return self.aval.shape

    @property
    def dtype(self) -> np.dtype:
        d = self.aval.dtype
        return d if isinstance(d, np.dtype) else numpy_dtype(d)  # another library's dtype, in NumPy's terms

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of unsized object (a 0-d traced array)")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d traced array")
        return (self[i] for i in range(self.shape[0]))

    def concrete(self) -> Any:
        """The plain NumPy value under all tracers, for control flow (no derivative flows).

        A staged (abstract) value has none, and says so.
        """
        v = self.aval
        return v.concrete() if isinstance(v, Tracer) else v

    def __bool__(self) -> bool:
        return bool(self.concrete())

    def _no_conversion(self, what: str):
        raise TracerConversionError(
            f"{what} was applied to a traced value {self!r}; the result would carry no derivative. "
            "Keep the value as an array and use pullback.numpy operations on it, or wrap it in "
            "pullback.stop_gradient(x) and convert that if you really mean a constant."
        )

    def __float__(self):
        self._no_conversion("float()")

    def __int__(self):
        self._no_conversion("int()")

    def __complex__(self):
        self._no_conversion("complex()")

    def __index__(self):
        if np.issubdtype(self.dtype, np.integer):
            return int(self.concrete())
        self._no_conversion("using it as an index")

    def item(self, *args):
        self._no_conversion(".item()")

    def tolist(self):
        self._no_conversion(".tolist()")

    def __array__(self, dtype=None, copy=None):
        raise TracerConversionError(
            f"a traced value {self!r} was converted to a plain numpy.ndarray "
            "(np.asarray, np.array or a NumPy function without a pullback version; where pullback.numpy "
            "has none, its name is NumPy's own function); the derivative would be lost. Use a differentiable "
            "pullback.numpy operation (import pullback.numpy as np) instead, or wrap the value in "
            "pullback.stop_gradient(x) to treat it as a constant."
        )

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        handler = UFUNC_HANDLERS.get(ufunc)
        if handler is None:
            raise UnsupportedFunctionError(_unsupported_ufunc_message(ufunc))
        out = kwargs.get("out")
        if out is not None:
            target = out[0] if isinstance(out, tuple) and len(out) == 1 else out
            if method == "__call__" and inputs and target is inputs[0] and not isinstance(target, Tracer):
                raise UnsupportedFunctionError(
                    f"an augmented assignment such as `y += x` (numpy.{ufunc.__name__}(y, x, out=y)) updates a "
                    "plain NumPy array y in place with a traced value x, and a plain array cannot hold one. "
                    "Write `y = y + x` instead, or create y with pullback.numpy (pnp.zeros, pnp.ones ...) "
                    "inside the transformation: those arrays accept traced values in place."
                )
            raise UnsupportedFunctionError(
                f"numpy.{ufunc.__name__}(..., out=...) on a traced value: in-place output "
                "arrays cannot be traced. Drop out= and use the returned value."
            )
        kwargs.pop("out", None)
        return handler(method, *inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        handler = ARRAY_FUNCTION_HANDLERS.get(func)
        if handler is None:
            name = getattr(func, "__module__", "numpy") + "." + getattr(func, "__name__", str(func))
            raise UnsupportedFunctionError(
                f"{name} was applied to a traced value, and pullback has no differentiable "
                "version of it yet (where pullback.numpy has none, its name is NumPy's own function). "
                "Express it with other pullback.numpy operations (import pullback.numpy as np), "
                "or wrap the input in pullback.stop_gradient if no derivative is needed."
            )
        return handler(*args, **kwargs)

    def _rebind(self, new: Any) -> None:
        """Make this traced array be `new` from now on (in-place updates are functional updates).

        Every alias of the Python object sees the new value, as with an ndarray mutated in place.
        """
        if type(new) is not type(self) or new._trace is not self._trace:
            raise TracerConversionError(
                "an in-place update of a traced array produced a value traced by a different "
                "transformation (a value from an inner grad/jvp assigned into an array of an outer one). "
                "Build the array inside the inner function, or use the functional form "
                "y = x.at[idx].set(v) and use y."
            )
        for cls in type(self).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                if slot != "__weakref__":
                    setattr(self, slot, getattr(new, slot))

    def __repr__(self) -> str:
        value = _value_text(self)
        return (f"{type(self).__name__}(shape={self.shape}, dtype={self.dtype}, level={self._trace.level}"
                f"{', value=' + value if value is not None else ''})")

    def __format__(self, spec: str) -> str:
        """format(x, ".3f") on a traced value with a concrete value formats that value (no derivative flows)."""
        if not spec:
            return str(self)
        value = np.asarray(self.concrete())
        return format(value[()] if value.ndim == 0 else value, spec)


def _value_text(x: Tracer) -> str | None:
    """The concrete value under x for its repr, or None when it has none (staged, batched)."""
    try:
        v = x.concrete()
    except PullbackError:
        return None
    return np.array2string(np.asarray(v), separator=", ", threshold=20, edgeitems=3, precision=6)


def _unsupported_ufunc_message(ufunc: Any) -> str:
    """Name a ufunc by the module it comes from (NumPy's, scipy.special's ...) and point to its pullback home."""
    name = ufunc.__name__
    if getattr(np, name, None) is ufunc:
        return (f"numpy.{name} was applied to a traced value, and pullback has no derivative for it. "
                "Use a function from pullback.numpy instead.")
    special = sys.modules.get("scipy.special")
    if special is not None and getattr(special, name, None) is ufunc:
        ours = sys.modules.get("pullback.scipy.special")
        if ours is not None and not callable(getattr(ours, name, None)):
            where = (f"pullback.scipy.special has no {name} yet: write it with pullback.numpy operations, give "
                     "it rules with pullback.custom_vjp,")
        else:
            where = (f"Use pullback.scipy.special.{name} (import pullback.scipy.special), its differentiable "
                     "version,")
        return (f"scipy.special.{name} was applied to a traced value; SciPy's ufunc cannot see through it. "
                f"{where} or wrap the input in pullback.stop_gradient if no derivative is needed.")
    return (f"the ufunc {name} was applied to a traced value, and pullback has no derivative for it. "
            "Write it with pullback.numpy operations, give it rules with pullback.custom_vjp / custom_jvp, "
            "or wrap the input in pullback.stop_gradient if no derivative is needed.")


def is_traced(x: Any) -> bool:
    """True when x is a value followed by a pullback transformation (grad, jvp, vmap, jit ...).

    Parameters
    ----------
    x : any
        The value to test.

    Returns
    -------
    bool
        False for plain arrays and numbers.

    Examples
    --------
    >>> import pullback as pb
    >>> pb.is_traced(1.0)
    False
    >>> float(pb.grad(lambda x: x * 3.0 if pb.is_traced(x) else 0.0)(2.0))
    3.0
    """
    return isinstance(x, Tracer)


def full_lower(x: Any) -> Any:
    """Strip every tracer from x (no derivative flows through the result)."""
    return x.concrete() if isinstance(x, Tracer) else x
