"""The atoms of the staged IR: abstract values, variables, constants and equations.

    Eqn:  outs = prim(*ins, **params)      each in is an Atom: a Var or a Const

A `Var` is an input or an equation's output, with its abstract value (`ShapeDtype`);
a `Const` is an array or Python scalar captured while tracing. The small predicates
at the end (`aval_of`, `fits`, `is_number`, `known_finite`, `zero_like`) are what
rewrite rules ask of an atom. Graphs of these live in core/ir.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .backend import numpy_dtype


class ShapeDtype:
    """An abstract array: only its shape and dtype are known.

    `weak` marks a Python scalar (bool, int, float, complex) passed as an argument: like the
    scalar itself, it takes part in NumPy's type promotion weakly (float32 array * 2.0 stays
    float32), and the generated code receives it unconverted.

    Examples
    --------
    >>> import numpy
    >>> from pullback.extend import ShapeDtype
    >>> a = ShapeDtype((2, 3), numpy.float32)
    >>> a.shape, a.dtype
    ((2, 3), dtype('float32'))
    """

    __slots__ = ("shape", "dtype", "weak")

    def __init__(self, shape: tuple, dtype: Any, weak: bool = False):
        self.shape = tuple(int(n) for n in shape)
        self.dtype = numpy_dtype(dtype)
        self.weak = weak

    def placeholder(self):
        """What a shape rule sees for this value: a Python scalar of its kind if weak, else itself."""
        return _WEAK_PLACEHOLDERS[self.dtype.kind] if self.weak else self

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"{self.dtype.name}{list(self.shape)}" + ("(weak)" if self.weak else "")

    def __eq__(self, other) -> bool:
        return isinstance(other, ShapeDtype) and (self.shape, self.dtype, self.weak) == (
            other.shape, other.dtype, other.weak)

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype, self.weak))


_WEAK_PLACEHOLDERS = {"b": False, "i": 0, "u": 0, "f": 0.0, "c": 0j}
_PY_SCALARS = (bool, int, float, complex)


def is_weak(a) -> bool:
    """A weakly typed atom: a weak input (or result of weak inputs), or a Python scalar constant."""
    if isinstance(a, Var):
        return a.aval.weak
    return type(a.value) in _PY_SCALARS


def weak_result(prim, atoms) -> bool:
    """Whether prim's result on these atoms is weakly typed: a weak-preserving primitive (one that
    Python's operators stand for) applied to weak operands only gives a Python scalar again."""
    return prim.weak_preserving and bool(atoms) and all(is_weak(a) for a in atoms)


class Var:
    """A graph variable: an input or the output of one equation."""

    __slots__ = ("aval", "hint")

    def __init__(self, aval: ShapeDtype, hint: str = ""):
        self.aval = aval
        self.hint = hint

    @property
    def shape(self) -> tuple:
        return self.aval.shape

    @property
    def dtype(self) -> np.dtype:
        return self.aval.dtype

    def __repr__(self) -> str:
        return f"Var({self.hint or id(self)}: {self.aval})"


class Const:
    """A constant captured while tracing (a Python scalar keeps NumPy's weak typing)."""

    __slots__ = ("value", "_all", "key", "_finite")

    def __init__(self, value: Any):
        self.value = value
        self._all: dict | None = None  # is_all answers, computed once per constant
        self.key = None  # the passes' content key, computed once per constant
        self._finite: bool | None = None

    @property
    def shape(self) -> tuple:
        return np.shape(self.value)

    @property
    def dtype(self) -> np.dtype:
        d = getattr(self.value, "dtype", None)
        return np.result_type(self.value) if d is None else numpy_dtype(d)  # (another library's, in NumPy's terms)

    @property
    def is_scalar_literal(self) -> bool:
        return isinstance(self.value, (bool, int, float, complex)) or (
            isinstance(self.value, np.ndarray | np.generic) and np.ndim(self.value) == 0
        )

    def is_all(self, number: float) -> bool:
        """True when every element equals `number` (used for symbolic zeros and ones)."""
        v = self.value
        if isinstance(v, (bool, int, float, complex)):
            return v == number and not isinstance(v, bool)
        if not (isinstance(v, (np.ndarray, np.generic)) and v.dtype.kind in "iufc"):
            return False
        if self._all is None:
            self._all = {}
        hit = self._all.get(number)
        if hit is None:
            hit = self._all[number] = bool(np.all(v == number))
        return hit

    def is_finite(self) -> bool:
        """True when every element is a finite number (so 0·c = 0 exactly in IEEE arithmetic)."""
        if self._finite is None:
            v = self.value
            try:
                self._finite = bool(np.all(np.isfinite(v))) and np.asarray(v).dtype.kind in "biufc"
            except TypeError:
                self._finite = False
        return self._finite

    def __repr__(self) -> str:
        v = self.value
        if self.is_scalar_literal:
            return repr(v.item() if isinstance(v, (np.ndarray, np.generic)) else v)
        return f"const{list(np.shape(v))}"


Atom = Var | Const


class Eqn:
    """outs = prim(*ins, **params)."""

    __slots__ = ("prim", "ins", "params", "outs")

    def __init__(self, prim, ins: Sequence[Atom], params: dict, outs: Sequence[Var]):
        self.prim = prim
        self.ins = list(ins)
        self.params = params
        self.outs = list(outs)


# ----------------------------------------------------------------------------- what rules ask of atoms


def aval_of(a) -> ShapeDtype:
    """The abstract value of an atom (a constant's shape, dtype and weak typing)."""
    if isinstance(a, Var):
        return a.aval
    return ShapeDtype(np.shape(a.value), a.dtype, is_weak(a))


def rule_arg(a):
    """What a shape rule sees for an atom: a Var's aval, a constant's value (Python scalars stay weak)."""
    return a.aval.placeholder() if isinstance(a, Var) else a.value


def is_number(a, number) -> bool:
    """a is a constant whose every element equals `number`."""
    return isinstance(a, Const) and a.is_all(number)


def known_finite(a) -> bool:
    """a is known to hold only finite numbers (a finite constant), so 0·a = 0 and a/∞ … are exact."""
    return isinstance(a, Const) and a.is_finite()


def fits(a, out: ShapeDtype) -> bool:
    """a can stand for a value of aval `out` as it is (same shape, dtype and weak typing)."""
    av = aval_of(a)
    return av.shape == out.shape and av.dtype == out.dtype and av.weak == out.weak


def zero_like(aval: ShapeDtype) -> Const:
    """A zero constant of aval's shape and dtype (a broadcast view: no memory per element)."""
    return Const(np.broadcast_to(np.zeros((), aval.dtype), aval.shape))
