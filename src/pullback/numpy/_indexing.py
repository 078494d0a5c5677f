"""Indexed updates of pullback.numpy: x.at[idx], in-place assignment on traced arrays, put & co.

Functional updates, as in JAX: ``x.at[idx].set(v)`` (and ``add``, ``subtract``, ``multiply``,
``divide``, ``power``, ``min``, ``max``, ``apply``, ``get``) return a new array; ``x`` is unchanged.
``x.at`` exists on traced values; ``pullback.numpy.at(x)[idx]`` is the same for any array, plain
NumPy arrays included (code that must also run untraced uses that form). The result keeps x's dtype:
v is converted as NumPy converts on assignment (complex → real warns with ComplexWarning and keeps
the real part). Repeated indices:
- ``set``: the value written last in C order of the index wins (NumPy's behaviour; JAX leaves it
  unspecified); only that value receives a derivative;
- ``add`` / ``subtract`` accumulate every value (numpy.add.at); ``multiply``, ``divide``, ``power`` and
  ``apply`` apply once per occurrence, in order (numpy.multiply.at ...);
- ``min`` / ``max``: the result is the extremum of x's entry and every value sent to it; candidates
  that tie share its derivative equally.
``mode``: None or 'promise_in_bounds' (NumPy's: out-of-bounds indices raise IndexError), 'clip'
(indices clamped into range after wrapping negatives), 'drop' / 'fill' (updates at out-of-bounds
indices are dropped; ``get`` gives ``fill_value`` there: NaN for inexact dtypes, the smallest signed /
largest unsigned integer, True). ``indices_are_sorted`` and ``unique_indices`` are accepted and ignored.

In-place updates of traced arrays: ``a[idx] = v``, ``a += v``, ``-=``, ``*=``, ``/=``, ``**=``, ``@=``,
``//=``, ``%=`` (and put, put_along_axis, place, putmask, copyto, fill_diagonal, ndarray.fill) become
functional updates, and the Python object ``a`` is made to stand for the new value (Tracer._rebind):
every name bound to that object sees the change, as with NumPy. As in NumPy, the result is cast to
a's dtype (same_kind casting, else TypeError) and must keep a's shape (else ValueError). Differences:
- a write into a view (``b = a[1:]; b[0] = v``, ``a.T``, ``a.reshape(...)``, ``a[i] += v``) reaches ``a``
  as in NumPy (written through to the base); but a view taken earlier does not see later updates
  of ``a`` itself (docs/numpy-differences.md);
- every update copies the array (O(size)): filling n entries one by one costs O(n²); for large n
  build the array with stack / concatenate or a single vectorized update;
- a value from an inner transformation (a grad inside the function) cannot be written into an
  array traced by an outer one: TracerConversionError (build the array inside the inner function);
- a *plain* NumPy array cannot hold a traced value. ``out = np.zeros(3); out[1:] = x`` runs NumPy's
  own ``ndarray.__setitem__``, which converts x and raises TracerConversionError; for a single
  element, ``out[0] = x`` (x 0-d), NumPy calls float(x) and replaces the TracerConversionError it
  raises by its own ``ValueError: setting an array element with a sequence.``; ``out += x`` reaches
  numpy.add(..., out=out), which raises UnsupportedFunctionError. Write
  ``out = pnp.at(out)[0].set(x)`` / ``out = out + x``, or build the array from traced values
  (pnp.stack, pnp.array([...])). put / copyto & co. on a plain array with a traced value raise
  TracerConversionError saying so.
- the arrays a caller passes in are never modified (inside a transformation they are traced values;
  the function's own arguments may be updated in place like any traced array).
"""

from __future__ import annotations

import warnings

import numpy as _np

from ..core.trace import Tracer, full_lower
from ..errors import DynamicIndexError, TracerConversionError, UnsupportedFunctionError
from ..primitives import dynamic as dy
from ..primitives import elementwise as ew
from ..primitives import indexing as ix
from ..primitives import shape as sh
from ..primitives._util import dtype_of, shape_of
from ..primitives.gather import gather
from ._helpers import along, numpy_value, traced
from ._shapes import (
    asarray,
    broadcast_to,
    dynamic_item,
    getitem,
    is_dynamic,
    moveaxis,
    normalize_index,
    note_write,
    ravel,
    reshape,
    static_window,
    view_base,
    writes,
)
from ._ufuncs import astype, real

_MODES = (None, "promise_in_bounds", "clip", "drop", "fill")


def _concrete(x):
    return numpy_value(full_lower(x) if isinstance(x, Tracer) else x)


# ----------------------------------------------------------------------------- values written into x


def _as_update(v, x):
    """v converted to x's dtype, as NumPy converts a value assigned into x."""
    xd = dtype_of(x)
    if type(v) in (int, float, bool) and xd.kind in "fc":
        return v  # weakly typed: NumPy's assignment converts it
    if type(v) is complex and xd.kind != "c":
        raise TypeError(f"cannot write the complex value {v!r} into an array of dtype {xd}")
    v = asarray(v)
    vd = dtype_of(v)
    if vd == xd:
        return v
    if vd.kind == "c" and xd.kind != "c":
        warnings.warn("Casting complex values to real discards the imaginary part",
                      _np.exceptions.ComplexWarning, stacklevel=4)
        v = real(v)
    return astype(v, xd)


def _combine(op: str, old, v, func=None):
    """The new entries that `op` makes from the old ones and the values (per occurrence)."""
    if op == "apply":
        return func(old)
    fn = {"multiply": ew.multiply, "divide": ew.divide, "power": ew.power, "add": ew.add,
          "min": ew.minimum, "max": ew.maximum}[op]
    return fn(old, v)


def _gathered_shape(shape: tuple, idx) -> tuple:
    """The shape of x[idx] for an x of this shape (NumPy's IndexError when idx does not fit)."""
    return _np.lib.stride_tricks.as_strided(_np.zeros((), _np.int8), shape, (0,) * len(shape))[idx].shape


def _repeats(shape: tuple, idx) -> bool:
    """Whether idx selects some position of an array of this shape more than once."""
    if sh._is_basic(idx) or ix._is_boolean_only(idx):
        return False
    pos = _np.arange(int(_np.prod(shape, dtype=_np.int64))).reshape(shape)[idx]
    return _np.unique(pos).size != pos.size


def _in_rounds(x, idx, v, op, func):
    """op at repeated indices, one occurrence of each position per round (as ufunc.at applies it)."""
    shape = shape_of(x)
    pos = _np.arange(int(_np.prod(shape, dtype=_np.int64))).reshape(shape)[idx].ravel()
    order = _np.argsort(pos, kind="stable")
    sorted_pos = pos[order]
    first = _np.r_[0, _np.flatnonzero(_np.diff(sorted_pos)) + 1]
    occurrence = _np.empty_like(pos)
    occurrence[order] = _np.arange(pos.size) - _np.repeat(first, _np.diff(_np.r_[first, pos.size]))
    scalar = op == "apply" or (_np.ndim(v) == 0 and not isinstance(v, Tracer))
    values = v if scalar else ravel(broadcast_to(asarray(v), _gathered_shape(shape, idx)))
    flat = reshape(x, (-1,))
    for r in range(int(occurrence.max()) + 1 if pos.size else 0):
        sel = _np.flatnonzero(occurrence == r)
        where = pos[sel]
        vr = values if scalar else getitem(values, sel)
        flat = ix.scatter(flat, _same_dtype(_combine(op, getitem(flat, where), vr, func), x), idx=where)
    return reshape(flat, shape)


def _same_dtype(new, x):
    return new if dtype_of(new) == dtype_of(x) else _as_update(new, x)


def _apply(x, idx, v, op: str, func=None):
    """x updated at a normalized, in-bounds idx."""
    if op == "set":
        return ix.scatter(x, v, idx=idx)
    if op == "add":
        return sh.add_at(x, v, idx=idx)
    if op == "subtract":
        return sh.add_at(x, ew.negative(v), idx=idx)
    if op == "min":
        return ix.scatter_min(x, v, idx=idx)
    if op == "max":
        return ix.scatter_max(x, v, idx=idx)
    if _repeats(shape_of(x), idx):
        return _in_rounds(x, idx, v, op, func)
    return ix.scatter(x, _same_dtype(_combine(op, sh.getitem(x, idx=idx), v, func), x), idx=idx)


def _integer_items(idx, nd: int):
    """(items of idx as a list, [(position in items, axis it indexes)] for its integer entries)."""
    items = list(idx) if isinstance(idx, tuple) else [idx]

    def used(i):
        if i is None or i is Ellipsis:
            return 0
        if isinstance(i, slice):
            return 1
        a = _np.asarray(i)
        return a.ndim if a.dtype == bool else 1

    consumed = sum(used(i) for i in items)
    found, axis = [], 0
    for k, i in enumerate(items):
        if i is None:
            continue
        if i is Ellipsis:
            axis += nd - consumed
            continue
        if not isinstance(i, slice) and _np.asarray(i).dtype.kind in "iu":
            found.append((k, axis))
        axis += used(i)
    return items, found


def _clipped(idx, shape):
    items, found = _integer_items(idx, len(shape))
    for k, axis in found:
        c, n = _np.asarray(items[k]), shape[axis]
        items[k] = _np.clip(_np.where(c < 0, c + n, c), 0, max(n - 1, 0))
    return tuple(items)


def _positions(idx, shape):
    """Flat positions in x of x[idx]'s entries, −1 for those whose integer index is out of bounds."""
    items, found = _integer_items(idx, len(shape))
    extend = [0] * len(shape)
    for k, axis in found:
        c, n = _np.asarray(items[k]), shape[axis]
        items[k] = _np.where((c >= -n) & (c < n), c % max(n, 1), n)
        extend[axis] = 1
    flat = _np.arange(int(_np.prod(shape, dtype=_np.int64))).reshape(shape)
    return _np.pad(flat, [(0, e) for e in extend], constant_values=-1)[tuple(items)]


def _is_full_mask(idx, x) -> bool:
    return (isinstance(idx, (_np.ndarray, Tracer)) and dtype_of(idx) == _np.bool_ and shape_of(idx) == shape_of(x))


def _check_mode(mode) -> None:
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES[1:]} or None, not {mode!r}")


def _index_for_mode(idx, shape: tuple, mode):
    """idx normalized, then by `mode`: clipped into bounds for "clip"; for "drop"/"fill", also the flat
    positions (−1 where out of bounds) when some are out of bounds. Returns (idx, positions or None)."""
    idx = normalize_index(idx)
    if mode == "clip":
        return _clipped(idx, shape), None
    if mode in ("drop", "fill"):
        pos = _positions(idx, shape)
        if not (pos >= 0).all():
            return idx, pos
    return idx, None


def _update(x, idx, v, op: str, mode=None, func=None):
    """x with op applied at x[idx] (the machinery of x.at[idx].op(v) and of a[idx] = v)."""
    _check_mode(mode)
    x = asarray(x)
    if op != "apply":
        v = _as_update(v, x)
    found = dynamic_item(x, idx)
    if found is not None:
        return _dynamic_update(x, *found, v, op, mode, func)
    if (op in ("set", "min", "max") and mode in (None, "promise_in_bounds") and _is_full_mask(idx, x)
            and len(shape_of(v)) == 0 and dtype_of(x).kind in "fc"):
        # a mask of x's shape and one value: a select (also for a mask that staging cannot see)
        return ew.select(idx, v if op == "set" else _combine(op, x, v), x)
    shape = shape_of(x)
    idx, pos = _index_for_mode(idx, shape, mode)
    if pos is not None:
        valid = pos >= 0
        gathered = pos.shape
        _check_broadcast(v, gathered)
        if op != "apply" and len(shape_of(v)):
            v = getitem(broadcast_to(v, gathered), valid)
        return reshape(_apply(reshape(x, (-1,)), pos[valid], v, op, func), shape)
    if op != "apply":
        _check_broadcast(v, _gathered_shape(shape, idx))
    return _apply(x, idx, v, op, func)


def _dynamic_update(x, items: list, k: int, axis: int, v, op: str, mode, func):
    """x updated at x[items], where items[k] (on `axis`) is a staged integer scalar or a slice a[i:i+k]:
    the row (or window) is read, updated by the remaining static items, and written back with a traced
    index (index_set / dynamic_update_slice). Bounds as NumPy's (DynamicIndexError where the window would
    be shorter, see primitives/dynamic.py); mode 'clip' clamps an integer index."""
    item = items[k]
    if mode in ("drop", "fill"):
        raise DynamicIndexError(f"x.at[...] with mode={mode!r} and a staged index (a loop counter under jit) is "
                                "not supported: keep the index in bounds (mode=None, NumPy's IndexError) or use "
                                "mode='clip'")
    if isinstance(item, slice):
        size = static_window(item.start, item.stop, item.step, shape_of(x)[axis])
        window = dy.dynamic_slice(x, item.start, axis=axis, size=size)
        rest = items[:k] + [slice(None)] + items[k + 1:]
        new = _update(window, tuple(rest), v, op, mode, func)
        return dy.dynamic_update_slice(x, new, item.start, axis=axis)
    i = item
    moved = x if axis == 0 else moveaxis(x, axis, 0)
    if mode == "clip":
        n = shape_of(moved)[0]
        i = ew.minimum(ew.maximum(ew.select(ew.less(i, 0), ew.add(i, n), i), 0), max(n - 1, 0))
    rest = items[:k] + items[k + 1:]
    if not rest and op == "set":
        new_row = v  # index_set broadcasts it over the row
    else:
        new_row = _update(gather(moved, i), tuple(rest) if rest else Ellipsis, v, op, mode, func)
    out = dy.index_set(moved, new_row, i)
    return out if axis == 0 else moveaxis(out, 0, axis)


def _check_broadcast(v, gathered: tuple) -> None:
    try:
        ok = _np.broadcast_shapes(shape_of(v), gathered) == gathered
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"shape mismatch: value array of shape {shape_of(v)} could not be broadcast to "
                         f"indexing result of shape {gathered}")


def _default_fill(dtype: _np.dtype):
    if dtype.kind in "fc":
        return _np.nan
    if dtype.kind == "i":
        return _np.iinfo(dtype).min
    if dtype.kind == "u":
        return _np.iinfo(dtype).max
    return True


def _get(x, idx, mode=None, fill_value=None):
    _check_mode(mode)
    x = asarray(x)
    if mode in (None, "promise_in_bounds") and dynamic_item(x, idx) is not None:
        return getitem(x, idx)
    if mode is not None and dynamic_item(x, idx) is not None:
        raise DynamicIndexError(f"x.at[...].get(mode={mode!r}) with a staged index (a loop counter under jit) is "
                                "not supported: keep the index in bounds (mode=None)")
    shape = shape_of(x)
    idx, pos = _index_for_mode(idx, shape, mode)
    if pos is not None:
        valid = pos >= 0
        fill = _default_fill(dtype_of(x)) if fill_value is None else fill_value
        if not pos.size or int(_np.prod(shape)) == 0:
            return _np.full(pos.shape, fill, dtype_of(x))
        got = sh.getitem(reshape(x, (-1,)), idx=_np.where(valid, pos, 0))
        return ew.select(valid, got, _np.asarray(fill, dtype_of(x)))
    return sh.getitem(x, idx=idx)


# ----------------------------------------------------------------------------- x.at[idx]


def _update_method(op: str, doc: str):
    """The method x.at[idx].<op>(values): x updated at idx by `op`."""

    def method(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        return _update(self.array, self.index, values, op, mode)

    method.__name__ = method.__qualname__ = op
    method.__doc__ = doc
    return method


class _IndexUpdateRef:
    """x.at[idx]: the functional updates of x at idx (see the module docstring)."""

    __slots__ = ("array", "index")

    def __init__(self, array, index):
        self.array, self.index = array, index

    def __repr__(self) -> str:
        return f"_IndexUpdateRef({self.array!r}, {self.index!r})"

    def get(self, *, indices_are_sorted=False, unique_indices=False, mode=None, fill_value=None):
        """x[idx]."""
        return _get(self.array, self.index, mode, fill_value)

    set = _update_method("set", "x with x[idx] = values; at a repeated index the value written last wins.")
    add = _update_method("add", "x with x[idx] += values; repeated indices accumulate.")
    subtract = _update_method("subtract", "x with x[idx] -= values; repeated indices accumulate.")
    multiply = _update_method("multiply", "x with x[idx] *= values, once per occurrence of an index.")
    mul = multiply
    divide = _update_method("divide", "x with x[idx] /= values, once per occurrence of an index.")
    power = _update_method("power", "x with x[idx] **= values, once per occurrence of an index.")
    min = _update_method("min", "x with x[idx] = minimum(x[idx], values); tied candidates share the derivative "
                               "equally.")
    max = _update_method("max", "x with x[idx] = maximum(x[idx], values); tied candidates share the derivative "
                               "equally.")

    def apply(self, func, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """x with x[idx] = func(x[idx]) (func elementwise), once per occurrence of an index."""
        return _update(self.array, self.index, None, "apply", mode, func)


class _IndexUpdateHelper:
    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __getitem__(self, index) -> _IndexUpdateRef:
        return _IndexUpdateRef(self.array, index)

    def __repr__(self) -> str:
        return f"_IndexUpdateHelper({self.array!r})"


def at(x) -> _IndexUpdateHelper:
    """JAX's ``x.at[idx].set(v)`` for any array: ``at(x)[idx].set(v)``, plain NumPy arrays included.

    A traced array has ``x.at[idx]`` itself; a plain ndarray has no ``.at``, so write
    ``pnp.at(x)[idx]`` and then ``.set(v)``, ``.add(v)``, ``.subtract``, ``.multiply``, ``.divide``,
    ``.power``, ``.min``, ``.max``, ``.apply(f)`` or ``.get()``. Each returns a new array (x is left
    as it was) and is differentiable in x and v; repeated indices accumulate for add/multiply, and
    for set the last write wins, as in NumPy.

    Parameters: x, an array (plain or traced). Returns: a helper indexed as ``[idx]``.

    Example:
        >>> import numpy, pullback as pb, pullback.numpy as pnp
        >>> x = numpy.zeros(3)
        >>> pnp.at(x)[1].set(5.0)
        array([0., 5., 0.])
        >>> float(pb.grad(lambda v: pnp.sum(pnp.at(x)[:2].add(v * v)))(3.0))
        12.0
    """
    return _IndexUpdateHelper(x)


# ----------------------------------------------------------------------------- in-place assignment


def _assign(target, new, who: str = "an in-place update") -> None:
    """Make the traced array `target` stand for `new` from now on (see the module docstring).

    When target is a view (y = x[0:2], x.reshape(...), x.T), the write reaches its base too, as NumPy's shared
    memory would: x becomes x with y's entries replaced, and so on up to the array the views came from.
    """
    if not isinstance(target, Tracer):
        if traced(new):
            raise TracerConversionError(
                f"{who} would write a traced value into a plain NumPy array {type(target).__name__}"
                f"{shape_of(target)}; a plain array cannot hold a derivative. Use the functional form "
                "(pullback.numpy.at(a)[idx].set(v), a + v ...) and the value it returns; NumPy's own "
                "numpy.full / full_like write this way too: call pullback.numpy's instead.")
        raise UnsupportedFunctionError(f"internal: {who} reached pullback with no traced value")
    if shape_of(new) != shape_of(target):
        raise ValueError(f"non-broadcastable output operand with shape {shape_of(target)} doesn't match the "
                         f"broadcast shape {shape_of(new)}")
    if dtype_of(new) != dtype_of(target):
        new = astype(new, dtype_of(target))
    if not isinstance(new, Tracer) or new._trace.level < target._trace.level:
        new = ew.select(True, new, target)  # a constant, as a value of target's trace
    viewed = view_base(target)  # (raises for a stale view)
    target._rebind(new)
    note_write(target)
    if viewed is not None:  # write through to the base, as NumPy's shared memory does
        base, writeback = viewed[1], viewed[2]
        _assign(base, writeback(base, target), who)
        viewed[4] = writes(base)  # the view matches its base again


def _setitem(self, idx, value) -> None:
    """a[idx] = value on a traced array: a functional update that `a` then stands for."""
    _assign(self, _update(self, idx, value, "set"))


def _inplace(name: str, ufunc: str):
    def method(self, other):
        forward = getattr(type(self), f"__{name}__", None)
        new = NotImplemented if forward is None else forward(self, other)
        if new is NotImplemented:
            return NotImplemented
        if dtype_of(new) != dtype_of(self) and not _np.can_cast(dtype_of(new), dtype_of(self), "same_kind"):
            raise TypeError(f"Cannot cast ufunc '{ufunc}' output from {dtype_of(new)!r} to {dtype_of(self)!r} "
                            "with casting rule 'same_kind'")
        _assign(self, new, f"{ufunc} in place")
        return self

    method.__name__ = f"__i{name}__"
    return method


_INPLACE = {f"__i{n}__": _inplace(n, u) for n, u in (
    ("add", "add"), ("sub", "subtract"), ("mul", "multiply"), ("truediv", "divide"), ("pow", "power"),
    ("matmul", "matmul"), ("floordiv", "floor_divide"), ("mod", "remainder"),
)}


class _FlatIter:
    """a.flat of a traced array: a[...] on the flattened values; a.flat[idx] = v updates a in place
    (v repeated cyclically when shorter, as NumPy's flat iterator does)."""

    __slots__ = ("base",)

    def __init__(self, base):
        self.base = base

    def __getitem__(self, idx):
        return getitem(ravel(self.base), idx)

    def __setitem__(self, idx, value) -> None:
        flat = ravel(self.base)
        count = int(_np.prod(_gathered_shape(shape_of(flat), normalize_index(idx))))
        vals = ravel(asarray(value))
        n = shape_of(vals)[0]
        if n not in (1, count) and n:
            vals = getitem(vals, _np.arange(count) % n)
        vals = reshape(vals, _gathered_shape(shape_of(flat), normalize_index(idx))) if n != 1 else reshape(vals, ())
        _assign(self.base, reshape(_update(flat, idx, vals, "set"), shape_of(self.base)), "a.flat[idx] = v")

    def __iter__(self):
        return iter(ravel(self.base))

    def __len__(self) -> int:
        return int(_np.prod(shape_of(self.base)))


def _view(self, dtype=None, type=None):
    """ndarray.view(): the traced value itself; reinterpreting its bytes as another dtype has no derivative."""
    if type is not None or (dtype is not None and _np.dtype(dtype) != dtype_of(self)):
        raise UnsupportedFunctionError("ndarray.view(dtype) on a traced value: reinterpreting the bytes has no "
                                       "derivative. Use .astype(dtype) to convert the values.")
    return self


__all__ = ["at"]
METHODS: dict = {"at": property(at), "flat": property(_FlatIter), "view": _view, "__setitem__": _setitem,
                  **_INPLACE}
