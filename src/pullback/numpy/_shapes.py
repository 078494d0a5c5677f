"""Shape functions of pullback.numpy: reshape, transpose, joining, arrays, products.

On plain (untraced) inputs every function is NumPy's own call, so values, dtypes, views and
errors are NumPy's; on traced inputs it maps onto the shape primitives, all linear.
More of the family lives in _joining (split, tile, repeat, flip, roll, meshgrid ...) and _pad.
"""

from __future__ import annotations

import math
import operator
import weakref

import numpy as _np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from ..core.atoms import Const, Var
from ..core.backend import NUMPY_TYPES, backend_of
from ..core.staging import ConcretizationError, StagingTracer
from ..core.trace import Tracer, full_lower
from ..errors import BackendError, PullbackError, UnsupportedFunctionError, ViewWriteError
from ..primitives import dynamic as dy
from ..primitives import elementwise as ew
from ..primitives import gather as ga
from ..primitives import indexing as ix
from ..primitives import linalg as la
from ..primitives import shape as sh
from ..primitives._util import dtype_of, normalize_axis, shape_of
from ._helpers import check_kwargs, contains_tracer, is_traced, traced
from ._ufuncs import astype


def _resolve_shape(newshape, size: int) -> tuple:
    if isinstance(newshape, (int, _np.integer)):
        newshape = (int(newshape),)
    newshape = tuple(operator.index(n) for n in newshape)
    if newshape.count(-1) > 1:
        raise ValueError("can only specify one unknown dimension")
    if -1 in newshape:
        known = math.prod(n for n in newshape if n != -1)
        if known == 0 or size % known:
            raise ValueError(f"cannot reshape array of size {size} into shape {newshape}")
        newshape = tuple(size // known if n == -1 else n for n in newshape)
    if math.prod(newshape) != size or any(n < 0 for n in newshape):
        raise ValueError(f"cannot reshape array of size {size} into shape {newshape}")
    return newshape


# ----------------------------------------------------------------------------- views
# x[0:2], x.reshape(...), x.T and the functions built on them return NumPy views. On traced
# arrays they are new values, noted here with their base: an in-place write into such a value
# (y[0] = v, y += v, put(y, ...)) is written through to its base, and so on up, as NumPy's shared
# memory would (numpy/_indexing.py _assign). A view whose base was written after the view was
# taken no longer shows the base's values (NumPy's would): a write into it raises ViewWriteError.
# _VIEWS maps id(view) -> [weakref to the view, its base, writeback(base, new view value) -> new
# base value, how it was made, the base's write count when the view last matched it];
# _WRITES maps id(array) -> (weakref, number of in-place writes into it).

_VIEWS: dict[int, list] = {}
_WRITES: dict[int, tuple] = {}


def _entry(table: dict, x):
    e = table.get(id(x))
    return e if e is not None and e[0]() is x else None


def writes(x) -> int:
    """How many in-place writes the traced value x has had."""
    e = _entry(_WRITES, x)
    return 0 if e is None else e[1]


def note_write(x) -> None:
    """Count an in-place write into the traced value x (views taken earlier become stale)."""
    key = id(x)
    _WRITES[key] = (weakref.ref(x, lambda _, k=key: _WRITES.pop(k, None)), writes(x) + 1)


def _mark_view(view, base, how: str, writeback):
    """Note that the traced value `view` is a NumPy view of `base`, written back by writeback(base, new)."""
    if view is base or not isinstance(view, Tracer) or not isinstance(base, Tracer):
        return view
    key = id(view)
    _VIEWS[key] = [weakref.ref(view, lambda _, k=key: _VIEWS.pop(k, None)), base, writeback, how, writes(base)]
    return view


def _not_a_view(x):
    """x, no longer noted as a view (a function that NumPy makes return a copy)."""
    if _entry(_VIEWS, x) is not None:
        del _VIEWS[id(x)]
    return x


def view_base(target):
    """The view entry of the traced value target, None when it is not a view of another traced array.

    Raises ViewWriteError when target, or a view it was taken from, is stale: its base was written
    in place after it was taken, so under NumPy it would show values it does not hold.
    """
    first = e = _entry(_VIEWS, target)
    while e is not None:
        if writes(e[1]) != e[4]:
            raise ViewWriteError(
                f"an in-place write into a traced view ({e[3]}) of an array that was itself written after the "
                "view was taken: under NumPy the view would show that write, here it still holds the values "
                "from when it was taken, so the write cannot reach the array correctly. Take the view again "
                "after writing into the array (y = x[0:2] after x[0] = ...), or write into the array itself. "
                "See docs/numpy-differences.md.")
        e = _entry(_VIEWS, e[1])
    return first


def _is_view_index(idx, nd: int) -> bool:
    """Whether a[idx] is a NumPy view: basic indexing, unless integers pick a single element (a scalar copy)."""
    if not sh._is_basic(idx):
        return False
    items = idx if isinstance(idx, tuple) else (idx,)
    ints = sum(isinstance(i, (int, _np.integer)) for i in items)
    return not (ints == nd and len(items) == nd)


def _memory_order(a, order: str) -> str:
    """'C' or 'F' for order 'A'/'K' on a traced value: its concrete layout when known, else C."""
    if order in ("C", "F"):
        return order
    if order not in ("A", "K"):
        raise ValueError(f"order must be one of 'C', 'F', 'A', or 'K' (got {order!r})")
    try:
        v = _np.asarray(full_lower(a))
    except PullbackError:  # staged: no layout is known; NumPy's own arrays default to C order
        return "C"
    return "F" if v.flags.f_contiguous and not v.flags.c_contiguous else "C"


def reshape(a, /, shape=None, order="C", *, newshape=None, copy=None):
    """a with a new shape; order 'F' fills it in column-major order."""
    if shape is None:
        shape = newshape
    if not is_traced(a):
        return _np.reshape(a, shape, order=order, copy=copy)
    s = _resolve_shape(shape, math.prod(shape_of(a)))
    if _memory_order(a, order) == "F":
        return transpose(reshape(transpose(a), s[::-1]))
    if s == shape_of(a):
        return a
    return _mark_view(sh.reshape(a, shape=s), a, "a reshape", lambda base, new: sh.reshape(new, shape=shape_of(base)))


def ravel(a, order="C"):
    """a flattened to 1-D."""
    if not is_traced(a):
        return _np.ravel(a, order=order)
    return reshape(a, (-1,), order=order)


def transpose(a, axes=None):
    """Permute the axes of a (reverse them by default)."""
    if not is_traced(a):
        return _np.transpose(a, axes)
    nd = len(shape_of(a))
    if axes is None:
        axes = tuple(range(nd))[::-1]
    axes = tuple(axes)
    if len(axes) != nd:
        raise ValueError("axes don't match array")
    axes = normalize_axis_tuple(axes, nd)
    if axes == tuple(range(nd)):
        return a
    inverse = tuple(int(i) for i in _np.argsort(axes))
    return _mark_view(sh.transpose(a, axes=axes), a, "a transpose", lambda base, new: sh.transpose(new, axes=inverse))


permute_dims = transpose


def matrix_transpose(x, /):
    """x with its last two axes swapped."""
    if len(shape_of(x)) < 2:
        raise ValueError("Input array must be at least 2-dimensional")
    return swapaxes(x, -1, -2)


def swapaxes(a, axis1, axis2):
    if not is_traced(a):
        return _np.swapaxes(a, axis1, axis2)
    nd = len(shape_of(a))
    i, j = normalize_axis_index(axis1, nd), normalize_axis_index(axis2, nd)
    perm = list(range(nd))
    perm[i], perm[j] = perm[j], perm[i]
    return transpose(a, perm)


def moveaxis(a, source, destination):
    if not is_traced(a):
        return _np.moveaxis(a, source, destination)
    nd = len(shape_of(a))
    src = normalize_axis_tuple(source, nd, "source")
    dst = normalize_axis_tuple(destination, nd, "destination")
    if len(src) != len(dst):
        raise ValueError("`source` and `destination` arguments must have the same number of elements")
    order = [n for n in range(nd) if n not in src]
    for d, s in sorted(zip(dst, src, strict=False)):
        order.insert(d, s)
    return transpose(a, order)


def rollaxis(a, axis, start=0):
    """Roll `axis` backwards until it lies before position `start` (numpy.rollaxis)."""
    if not is_traced(a):
        return _np.rollaxis(a, axis, start)
    nd = len(shape_of(a))
    axis = normalize_axis_index(axis, nd)
    if start < 0:
        start += nd
    if not 0 <= start < nd + 1:
        raise _np.exceptions.AxisError(f"'start' arg requires {-nd} <= start < {nd + 1}, but {start} was passed in")
    if axis < start:
        start -= 1
    if axis == start:
        return a
    order = [n for n in range(nd) if n != axis]
    order.insert(start, axis)
    return transpose(a, order)


def expand_dims(a, axis):
    if not is_traced(a):
        return _np.expand_dims(a, axis)
    nd = len(shape_of(a)) + (len(axis) if isinstance(axis, (tuple, list)) else 1)
    axes = normalize_axis_tuple(axis, nd)
    shape = iter(shape_of(a))
    return reshape(a, tuple(1 if i in axes else next(shape) for i in range(nd)))


def squeeze(a, axis=None):
    if not is_traced(a):
        return _np.squeeze(a, axis)
    s = shape_of(a)
    if axis is None:
        axes = tuple(i for i, n in enumerate(s) if n == 1)
    else:
        axes = normalize_axis(axis, len(s))
        for ax in axes:
            if s[ax] != 1:
                raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
    return reshape(a, tuple(n for i, n in enumerate(s) if i not in axes))


def broadcast_to(array, shape, subok=False):
    if not is_traced(array):
        return _np.broadcast_to(array, shape, subok=subok)
    shape = (operator.index(shape),) if isinstance(shape, (int, _np.integer)) else tuple(shape)
    if _np.broadcast_shapes(shape_of(array), shape) != shape:
        raise ValueError(f"operands could not be broadcast together with remapped shapes "
                         f"[original->remapped]: {shape_of(array)} and requested shape {shape}")
    if shape_of(array) == shape:
        return array
    return sh.broadcast_to(array, shape=shape)


def broadcast_arrays(*args, subok=False):
    """The arguments broadcast against each other (a tuple, as NumPy 2 returns)."""
    if not traced(*args):
        return _np.broadcast_arrays(*args, subok=subok)
    args = [asarray(a) for a in args]
    shape = _np.broadcast_shapes(*[shape_of(a) for a in args])
    return tuple(broadcast_to(a, shape) for a in args)


def _atleast(arys, fn, np_fn):
    if not traced(*arys):
        return np_fn(*arys)
    res = tuple(fn(asarray(a)) for a in arys)
    return res[0] if len(res) == 1 else res


def atleast_1d(*arys):
    return _atleast(arys, lambda a: reshape(a, (1,)) if len(shape_of(a)) == 0 else a, _np.atleast_1d)


def _2d(a):
    nd = len(shape_of(a))
    return reshape(a, (1, 1)) if nd == 0 else reshape(a, (1,) + shape_of(a)) if nd == 1 else a


def _3d(a):
    s = shape_of(a)
    if len(s) >= 3:
        return a
    return reshape(a, {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}[len(s)])


def atleast_2d(*arys):
    return _atleast(arys, _2d, _np.atleast_2d)


def atleast_3d(*arys):
    return _atleast(arys, _3d, _np.atleast_3d)


# ----------------------------------------------------------------------------- joining


def concatenate(arrays, /, axis=0, out=None, *, dtype=None, casting="same_kind"):
    check_kwargs("concatenate", out)
    if not traced(*arrays):
        return _np.concatenate(arrays, axis=axis, dtype=dtype, casting=casting)
    arrays = [asarray(a) for a in arrays]
    if axis is None:
        arrays = [ravel(a) for a in arrays]
        axis = 0
    if dtype is not None:
        arrays = [astype(a, dtype) for a in arrays]
    nd = len(shape_of(arrays[0]))
    if nd == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    ax = normalize_axis_index(axis, nd)
    for a in arrays:
        s = shape_of(a)
        if len(s) != nd or any(n != m for i, (n, m) in enumerate(zip(s, shape_of(arrays[0]), strict=False)) if i != ax):
            raise ValueError("all the input array dimensions except for the concatenation axis must match exactly")
    if len(arrays) == 1:
        return arrays[0]
    return sh.concatenate(*arrays, axis=ax)


concat = concatenate


def stack(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    check_kwargs("stack", out)
    if not traced(*arrays):
        return _np.stack(arrays, axis=axis, dtype=dtype, casting=casting)
    arrays = [asarray(a) for a in arrays]
    shapes = {shape_of(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError("all input arrays must have the same shape")
    ax = normalize_axis_index(axis, len(shape_of(arrays[0])) + 1)
    return concatenate([expand_dims(a, ax) for a in arrays], axis=ax, dtype=dtype)


def hstack(tup, *, dtype=None, casting="same_kind"):
    if not traced(*tup):
        return _np.hstack(tup, dtype=dtype, casting=casting)
    arrs = atleast_1d(*tup)
    arrs = arrs if isinstance(arrs, tuple) else (arrs,)
    return concatenate(arrs, axis=0 if len(shape_of(arrs[0])) == 1 else 1, dtype=dtype)


def vstack(tup, *, dtype=None, casting="same_kind"):
    if not traced(*tup):
        return _np.vstack(tup, dtype=dtype, casting=casting)
    return concatenate([_2d(asarray(a)) for a in tup], axis=0, dtype=dtype)


def dstack(tup):
    if not traced(*tup):
        return _np.dstack(tup)
    return concatenate([_3d(asarray(a)) for a in tup], axis=2)


def column_stack(tup):
    if not traced(*tup):
        return _np.column_stack(tup)
    cols = [asarray(a) for a in tup]
    return concatenate([reshape(a, (-1, 1)) if len(shape_of(a)) < 2 else a for a in cols], axis=1)


# ----------------------------------------------------------------------------- arrays


def asarray(a, dtype=None, order=None, *, copy=None, device=None, like=None):
    """a as an array; a (nested) list holding traced values is stacked."""
    if is_traced(a):
        return a if dtype is None else astype(a, dtype)
    if isinstance(a, (list, tuple)) and contains_tracer(a):
        out = stack([asarray(x) for x in a])
        return out if dtype is None else astype(out, dtype)
    return _np.asarray(a, dtype=dtype, order=order, copy=copy)


def array(object, dtype=None, *, copy=True, order="K", subok=False, ndmin=0, like=None):
    """Like numpy.array; traced values (or lists of them) stay traced, and copy=True gives a new value."""
    if is_traced(object) or (isinstance(object, (list, tuple)) and contains_tracer(object)):
        out = asarray(object, dtype=dtype)
        if out is object and copy:
            out = _fresh(out)
        while len(shape_of(out)) < ndmin:
            out = expand_dims(out, 0)
        return out
    return _np.array(object, dtype=dtype, copy=copy, order=order, subok=subok, ndmin=ndmin)


def _fresh(a: Tracer) -> Tracer:
    """A new traced value equal to a: in-place updates of one do not reach the other."""
    return sh.reshape(a, shape=shape_of(a))


def copy(a, order="K", subok=False):
    """A copy of a; for a traced value, a new traced value (updating it in place leaves a as it was)."""
    if is_traced(a):
        return _fresh(a)
    return _np.copy(a, order=order, subok=subok)


def getitem(a, idx):
    """a[idx]: basic, advanced and boolean indexing; integer tracers in idx are read as values, and an
    integer index array without a concrete value (a jit argument, a vmapped index) is gathered; so is
    a staged integer scalar among basic items (a[i, :], a[:, i]), and a[i:i+k] is a dynamic_slice."""
    if isinstance(idx, Tracer) and dtype_of(idx).kind in "iu" and shape_of(a) and shape_of(idx):
        if is_dynamic(idx):  # staged or batched: one graph serves every value of the index
            return ga.gather(a, idx)
    found = dynamic_item(a, idx)
    if found is not None:
        return _dynamic_getitem(a, *found)
    idx = normalize_index(idx)
    out = sh.getitem(a, idx=idx)
    if is_traced(a) and _is_view_index(idx, len(shape_of(a))):
        _mark_view(out, a, "basic indexing", lambda base, new: ix.scatter(base, new, idx=idx))
    return out


# ----------------------------------------------------------------------------- dynamic (traced) indices


def is_dynamic(i) -> bool:
    """Whether i is a traced value without a concrete value (staged under jit, or batched)."""
    if not isinstance(i, Tracer):
        return False
    try:
        i.concrete()
    except PullbackError:
        return True
    return False


def _consumed(i) -> int:
    """How many axes of the indexed array an index item uses (None and Ellipsis: none here)."""
    if i is None or i is Ellipsis:
        return 0
    if isinstance(i, (bool, _np.bool_)):
        return -1  # a scalar mask: NumPy adds an axis
    if isinstance(i, (slice, int, _np.integer)) or (isinstance(i, Tracer) and not shape_of(i)
                                                     and dtype_of(i).kind in "iu"):
        return 1
    return -1  # an array, a list, a mask: advanced indexing


def dynamic_item(a, idx):
    """(items, position, axis) for the first staged integer scalar or slice with a staged start in idx, with
    Ellipsis expanded; None when idx has none, or when it mixes one with advanced (array) items, whose
    NumPy placement rules the per-axis reading below would not follow (those take the general path)."""
    items = list(idx) if isinstance(idx, tuple) else [idx]
    first = None
    for k, i in enumerate(items):
        dyn = (isinstance(i, slice) and is_dynamic(i.start)) or (
            is_dynamic(i) and not shape_of(i) and dtype_of(i).kind in "iu")
        if dyn:
            first = k
            break
    if first is None:
        return None
    used = [_consumed(i) for i in items]
    if -1 in used:
        return None
    ellipses = [k for k, i in enumerate(items) if i is Ellipsis]
    if len(ellipses) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    nd = len(shape_of(a))
    if sum(used) > nd:
        raise IndexError(f"too many indices for array: array is {nd}-dimensional, but {sum(used)} were indexed")
    if ellipses:
        e = ellipses[0]
        items[e:e + 1] = [slice(None)] * (nd - sum(used))
        first = first + (nd - sum(used) - 1 if e < first else 0)
    axis = sum(1 for i in items[:first] if i is not None)
    return items, first, axis


def static_window(start, stop, step, n: int) -> int:
    """The static size k of a[start:stop] with a staged start: stop must be start + k (k a Python int)."""
    if step is not None and not (isinstance(step, (int, _np.integer)) and int(step) == 1):
        raise ConcretizationError("a slice with a staged bound must have step 1 (a[i:i+k])")
    size = None if stop is None else _offset_between(start, stop)
    if size is None:
        raise ConcretizationError(
            "a slice a[start:stop] with a staged bound needs a static length: write a[i:i+k] with k a Python "
            "int (the window then has k entries), or give the loop counter a concrete value")
    if size < 0:
        raise ConcretizationError(f"a[i:i+k] with k = {size} < 0")
    return size


_LOOKBACK = 64  # how many of the latest staged equations are searched for a slice bound's producer


def _producers(t) -> dict:
    """{id(var): equation} for the latest equations staged in t's trace."""
    return {id(o): e for e in t._trace.eqns[-_LOOKBACK:] for o in e.outs}


def _affine(t, made: dict):
    """(base, c) with t = base + c for a Python-int c, following additions of integer constants among the
    staged equations `made`; base is a Var (None for a concrete integer t)."""
    if isinstance(t, (int, _np.integer)):
        return None, int(t)
    var, c = t.var, 0
    while (e := made.get(id(var))) is not None and e.prim in (ew.add, ew.subtract) and len(e.ins) == 2:
        x, y = e.ins
        if isinstance(y, Const) and _is_int_const(y.value) and isinstance(x, Var):
            var, c = x, c + (int(y.value) if e.prim is ew.add else -int(y.value))
        elif e.prim is ew.add and isinstance(x, Const) and _is_int_const(x.value) and isinstance(y, Var):
            var, c = y, c + int(x.value)
        else:
            break
    return var, c


def _same_value(a, b, made: dict, depth: int = 8) -> bool:
    """Whether atoms a and b are computed alike (the same equations from the same inputs): -i twice."""
    if a is b:
        return True
    if isinstance(a, Const) and isinstance(b, Const):
        return _is_int_const(a.value) and _is_int_const(b.value) and int(a.value) == int(b.value)
    ea, eb = made.get(id(a)), made.get(id(b))
    if depth == 0 or ea is None or eb is None or ea.prim is not eb.prim or len(ea.ins) != len(eb.ins):
        return False
    try:
        if ea.params != eb.params or ea.outs.index(a) != eb.outs.index(b):
            return False
    except Exception:  # noqa: BLE001 - parameters that do not compare: not provably equal
        return False
    return all(_same_value(x, y, made, depth - 1) for x, y in zip(ea.ins, eb.ins))


def _is_int_const(v) -> bool:
    return _np.ndim(v) == 0 and (isinstance(v, (int, _np.integer)) and not isinstance(v, bool)
                                 or (isinstance(v, _np.ndarray) and v.dtype.kind in "iu"))


def _offset_between(start, stop) -> int | None:
    """stop − start when it is a static integer (stop = start + k as staged), else None."""
    tracer = next((t for t in (start, stop) if isinstance(t, StagingTracer)), None)
    if tracer is None or any(isinstance(t, Tracer) and not isinstance(t, StagingTracer) for t in (start, stop)):
        return None
    made = _producers(tracer)
    (b0, c0), (b1, c1) = _affine(start, made), _affine(stop, made)
    if b0 is None or b1 is None:
        return None
    return c1 - c0 if _same_value(b0, b1, made) else None


def _dynamic_getitem(a, items: list, k: int, axis: int):
    """a[items] where items[k] (on `axis`) is a staged integer scalar or a slice with staged bounds."""
    item = items[k]
    if isinstance(item, slice):
        size = static_window(item.start, item.stop, item.step, shape_of(a)[axis])
        start = item.start
        out = _mark_view(dy.dynamic_slice(a, start, axis=axis, size=size), a, "a window x[i:i+k]",
                         lambda base, new: dy.dynamic_update_slice(base, new, start, axis=axis))
        rest = items[:k] + [slice(None)] + items[k + 1:]
    else:  # a view of x, as NumPy's basic indexing: writes into it reach x
        moved = a if axis == 0 else moveaxis(a, axis, 0)
        out = _mark_view(ga.gather(moved, item), moved, "indexing with a traced integer",
                         lambda base, new: dy.index_set(base, new, item))
        rest = items[:k] + items[k + 1:]
    whole = all(isinstance(r, slice) and r.start is None and r.stop is None and r.step is None for r in rest)
    return out if whole else getitem(out, tuple(rest))


def normalize_index(idx):
    """idx in the form the indexing primitives take: tracers read as values, lists as arrays."""
    if isinstance(idx, tuple):
        return tuple(_index_item(i) for i in idx)
    return _index_item(idx)


def _index_item(i):
    if isinstance(i, Tracer):
        i = full_lower(i)
    if type(i) not in NUMPY_TYPES and backend_of(i) is not None:
        bk = backend_of(i)
        raise BackendError(
            f"an index that is a {bk.name} array (a mask or index array computed from the data) gives a "
            "data-dependent shape, which pullback would have to read back from the library. Use "
            "np.where(mask, x, 0) instead of x[mask], or index with a NumPy array.")
    if isinstance(i, list):
        if contains_tracer(i):
            i = [full_lower(x) if isinstance(x, Tracer) else x for x in i]
        return _np.asarray(i) if i else _np.asarray(i, dtype=_np.intp)
    if isinstance(i, _np.ndarray) and i.dtype.kind not in "biu" and i.size == 0:
        return i.astype(_np.intp)
    return i


# ----------------------------------------------------------------------------- constants and constructors


def shape(a) -> tuple:
    return tuple(shape_of(a))


def ndim(a) -> int:
    return len(shape_of(a))


def size(a, axis=None) -> int:
    s = shape_of(a)
    return math.prod(s) if axis is None else s[axis]


# ----------------------------------------------------------------------------- products


def matmul(x1, x2, /, out=None, **kwargs):
    check_kwargs("matmul", out, **kwargs)
    if len(shape_of(x1)) == 0 or len(shape_of(x2)) == 0:
        raise ValueError("matmul: Input operand does not have enough dimensions")
    return la.matmul(x1, x2)


def dot(a, b, out=None):
    """numpy.dot: products of scalars, vectors, matrices; for N-d, a sum over a's last and b's second-to-last axis."""
    check_kwargs("dot", out)
    na, nb = len(shape_of(a)), len(shape_of(b))
    if na == 0 or nb == 0:
        return ew.multiply(a, b)
    if nb <= 2:
        return la.matmul(a, b)
    return tensordot(a, b, axes=([na - 1], [nb - 2]))


def vdot(a, b, /):
    """Σ conj(a)·b over the flattened arrays."""
    a = ravel(asarray(a))
    if dtype_of(a).kind == "c":
        a = ew.conj(a)
    return la.matmul(a, ravel(asarray(b)))


def inner(a, b, /):
    na, nb = len(shape_of(a)), len(shape_of(b))
    if na == 0 or nb == 0:
        return ew.multiply(a, b)
    return tensordot(a, b, axes=([na - 1], [nb - 1]))


def outer(a, b, out=None):
    check_kwargs("outer", out)
    return ew.multiply(reshape(asarray(a), (-1, 1)), reshape(asarray(b), (1, -1)))


def tensordot(a, b, axes=2):
    """Σ over the paired axes of a and b, by transpose, reshape and one matmul."""
    a, b = asarray(a), asarray(b)
    sa, sb = shape_of(a), shape_of(b)
    if isinstance(axes, (int, _np.integer)):
        ax_a = list(range(len(sa) - int(axes), len(sa)))
        ax_b = list(range(int(axes)))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, (int, _np.integer)) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, (int, _np.integer)) else list(ax_b)
    if len(ax_a) != len(ax_b):
        raise ValueError("shape-mismatch for sum")
    ax_a = [normalize_axis_index(x, len(sa)) for x in ax_a]
    ax_b = [normalize_axis_index(x, len(sb)) for x in ax_b]
    if any(sa[i] != sb[j] for i, j in zip(ax_a, ax_b, strict=False)):
        raise ValueError("shape-mismatch for sum")
    free_a = [i for i in range(len(sa)) if i not in ax_a]
    free_b = [i for i in range(len(sb)) if i not in ax_b]
    k = math.prod(sa[i] for i in ax_a)
    a2 = reshape(transpose(a, free_a + ax_a), (math.prod(sa[i] for i in free_a), k))
    b2 = reshape(transpose(b, ax_b + free_b), (k, math.prod(sb[i] for i in free_b)))
    return reshape(la.matmul(a2, b2), tuple(sa[i] for i in free_a) + tuple(sb[i] for i in free_b))


__all__ = [
    'array', 'asarray', 'atleast_1d', 'atleast_2d', 'atleast_3d', 'broadcast_arrays', 'broadcast_to', 'column_stack',
    'concat', 'concatenate', 'copy', 'dot', 'dstack', 'expand_dims', 'getitem', 'hstack', 'inner', 'matmul',
    'matrix_transpose', 'moveaxis', 'ndim', 'outer', 'permute_dims', 'ravel', 'reshape', 'rollaxis', 'shape',
    'size', 'squeeze', 'stack', 'swapaxes', 'tensordot', 'transpose', 'vdot', 'vstack',
]


def _flatten(self, order="C"):
    """ndarray.flatten: always a new value (ravel may hand back the array itself)."""
    r = ravel(self, order=order)
    return _fresh(r) if r is self else _not_a_view(r)


def _astype_method(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
    """ndarray.astype: with copy=True (the default) always a new value, as NumPy gives a new array."""
    out = astype(self, dtype)
    return _fresh(out) if out is self and copy else out


METHODS: dict = {"copy": copy, "flatten": _flatten, "astype": _astype_method}
