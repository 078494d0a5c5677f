"""Array-namespace dispatch: which array library a primitive's plain arguments belong to.

NumPy is the fast path and the dtype language. A primitive applied to plain values first
asks whether every argument's type is one of NumPy's (or Python's): `NUMPY_TYPES`, a set
looked up by ``type(x)``, costs one hash per argument. Any other type is classified once
(`backend_of`): arrays of another library (Dask, torch, CuPy, array-api-strict, any
array-API namespace, found through ``array_api_compat.array_namespace``) get a `Backend`,
everything else joins `NUMPY_TYPES`.

On a foreign backend (`apply`), the primitive runs its ``xp_impl(xp, *args, **params)``,
where ``xp`` is the array-API namespace of the arguments (array_api_compat's wrapper for
Dask, torch and CuPy); a primitive whose ``impl`` is a NumPy ufunc needs none when the
namespace (or its library) has a function of the ufunc's name; one with neither raises
`BackendError` naming the primitive and the library. NumPy constants among the arguments are
moved to the library (and device) of the foreign ones first, and nothing is ever converted
back to NumPy: a library that refuses the conversion (CuPy, array-api-strict on a non-default
device) never sees one asked for.

Shape and dtype rules stay on NumPy: `numpy_dtype` names a foreign dtype in NumPy's terms and
`Backend.dtype` the other way round.
"""

from __future__ import annotations

import functools
import importlib.util
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import BackendError, MissingDependencyError

#: Types whose values are NumPy's (or Python's): the fast path. Grows as `backend_of` classifies types.
NUMPY_TYPES: set = {
    np.ndarray, float, int, complex, bool, type(None),
    *(t for t in set(np.sctypeDict.values()) if isinstance(t, type) and issubclass(t, np.generic)),
}

_BACKEND_OF_TYPE: dict[type, Backend] = {}
_BACKENDS: dict[int, Backend] = {}

class Backend:
    """One foreign array library: its array-API namespace and how to make values like its arrays."""

    __slots__ = ("name", "xp", "native", "lazy")

    def __init__(self, xp: Any):
        from array_api_compat import is_dask_namespace, is_torch_namespace

        self.xp = xp
        module = getattr(xp, "__name__", type(xp).__name__)
        self.lazy = is_dask_namespace(xp)
        if self.lazy:
            import dask.array as native

            self.name = "dask"
        elif is_torch_namespace(xp):
            import torch as native

            self.name = "torch"
        else:
            native = xp
            self.name = module.removeprefix("array_api_compat.")
        self.native = native

    def __repr__(self) -> str:
        return f"Backend({self.name})"

    def device(self, x: Any) -> Any:
        from array_api_compat import device

        return device(x)

    def dtype(self, dtype: Any) -> Any:
        """The library's dtype for a NumPy dtype (NumPy's dtypes are the library's own for Dask and CuPy)."""
        dtype = np.dtype(dtype)
        if self.name in ("dask", "cupy"):
            return dtype
        name = "bool" if dtype.kind == "b" else dtype.name
        found = getattr(self.xp, name, None)
        if found is None:
            raise BackendError(f"{self.name} has no dtype {dtype}; use one of the array API's dtypes "
                               "(float64, float32, ...)")
        return found

    def asarray(self, value: Any, like: Any) -> Any:
        """A NumPy constant (array, scalar) as an array of this library on `like`'s device.

        A broadcast view (zero strides, like the blocks of zeros the reverse rules scatter into) is
        moved un-broadcast and broadcast again there: it is never materialized at full size.
        """
        dtype = self.dtype(np.result_type(value))
        if isinstance(value, np.ndarray) and value.size and 0 in value.strides:
            core = value[tuple(0 if s == 0 else slice(None) for s in value.strides)]
            compact = np.reshape(core, tuple(1 if s == 0 else n for s, n in zip(value.strides, value.shape)))
            moved = self.asarray(np.ascontiguousarray(compact), like)
            if self.lazy and tuple(getattr(like, "shape", ())) == value.shape:
                # chunked like the array it meets, so Dask need not rechunk a one-chunk seed
                chunks = tuple(c if s == 0 else (n,) for c, s, n in zip(like.chunks, value.strides, value.shape))
                return self.native.broadcast_to(moved, value.shape, chunks=chunks)
            return self.xp.broadcast_to(moved, value.shape)
        if self.lazy:
            return self.native.from_array(np.asarray(value), chunks=-1) if np.ndim(value) else \
                self.native.from_array(np.asarray(value))
        if self.name == "torch":
            return self.native.as_tensor(np.array(value), device=like.device)
        return self.xp.asarray(np.asarray(value), dtype=dtype, device=self.device(like))

    def zeros(self, shape: tuple, dtype: Any, like: Any) -> Any:
        """Zeros of this library, on `like`'s device (lazy for Dask, chunked like `like` where shapes agree)."""
        if self.lazy:
            if tuple(shape) == tuple(like.shape):
                return self.native.zeros_like(like, dtype=np.dtype(dtype))
            return self.native.zeros(tuple(shape), dtype=np.dtype(dtype))
        return self.xp.zeros(tuple(shape), dtype=self.dtype(dtype), device=self.device(like))

    def ones(self, shape: tuple, dtype: Any, like: Any) -> Any:
        if self.lazy:
            if tuple(shape) == tuple(like.shape):
                return self.native.ones_like(like, dtype=np.dtype(dtype))
            return self.native.ones(tuple(shape), dtype=np.dtype(dtype))
        return self.xp.ones(tuple(shape), dtype=self.dtype(dtype), device=self.device(like))

    def copy(self, x: Any) -> Any:
        """A copy that shares no memory with x (Dask arrays are immutable: x itself)."""
        return x if self.lazy else self.xp.asarray(x, copy=True)


def numpy_dtype(dtype: Any) -> np.dtype:
    """A foreign dtype (torch.float64, array_api_strict.float64 ...) in NumPy's terms."""
    if isinstance(dtype, np.dtype):
        return dtype
    try:
        return np.dtype(dtype)
    except TypeError:
        return np.dtype(str(dtype).rsplit(".", 1)[-1])


def _looks_foreign(t: type) -> bool:
    module = getattr(t, "__module__", "") or ""
    return hasattr(t, "__array_namespace__") or module.split(".")[0] in ("torch", "dask", "cupy", "jax")


def backend_of(x: Any) -> Backend | None:
    """The foreign backend of value x, or None for NumPy's (and Python's) values; cached per type."""
    t = type(x)
    if t in NUMPY_TYPES:
        return None
    found = _BACKEND_OF_TYPE.get(t)
    if found is not None:
        return found
    if hasattr(t, "_trace"):  # a tracer (core/trace.py): the library is its plain value's
        return backend_of(plain_value(x))
    if isinstance(x, (np.ndarray, np.generic, int, float, complex, list, tuple)) or not _looks_foreign(t):
        NUMPY_TYPES.add(t)
        return None
    if importlib.util.find_spec("array_api_compat") is None:
        raise MissingDependencyError(
            f"pullback works on {t.__module__}.{t.__name__} arrays through array-api-compat, which is not "
            "installed: pip install 'pullback[array-api]' (or pullback[dask], pullback[torch], pullback[cupy])."
        )
    import array_api_compat

    if not array_api_compat.is_array_api_obj(x):
        NUMPY_TYPES.add(t)
        return None
    xp = array_api_compat.array_namespace(x)
    if array_api_compat.is_numpy_namespace(xp):
        NUMPY_TYPES.add(t)
        return None
    bk = _BACKENDS.get(id(xp))
    if bk is None:
        bk = _BACKENDS[id(xp)] = Backend(xp)
    _BACKEND_OF_TYPE[t] = bk
    return bk


def backend_of_args(args: Any) -> Backend | None:
    """The one foreign backend among plain values, None when all are NumPy's; BackendError for two."""
    found = None
    for a in args:
        bk = backend_of(a)
        if bk is not None and bk is not found:
            if found is not None:
                raise BackendError(
                    f"arrays of two libraries ({found.name} and {bk.name}) meet in one operation; convert one "
                    f"of them first (pullback moves only NumPy values to another library)."
                )
            found = bk
    return found


def _ufunc_impl(bk: Backend, ufunc: np.ufunc) -> Callable | None:
    """The namespace's function of the ufunc's name (primitives whose array-API name differs give an xp_impl)."""
    fn = getattr(bk.xp, ufunc.__name__, None)
    return fn if fn is not None else getattr(bk.native, ufunc.__name__, None)


def apply(prim: Any, args: tuple, params: dict) -> Any:
    """prim on plain values of which some may be foreign: its NumPy impl or its foreign implementation."""
    bk = backend_of_args(args)
    if bk is None:
        return prim.impl(*args, **params)
    ours = [a for a in args if backend_of(a) is bk]
    like = ours[0]
    weak = np.result_type(*[numpy_dtype(a.dtype) for a in ours])  # what a Python scalar among them becomes
    moved = [a if backend_of(a) is bk else _to_backend(a, bk, like, weak) for a in args]
    if prim.broadcasting:
        present = [i for i, a in enumerate(moved) if a is not None]  # clip's absent bound is None
        for i, a in zip(present, _promoted(bk, [moved[i] for i in present])):
            moved[i] = a
    xp_impl = prim.xp_impl
    if xp_impl is None:
        fn = _ufunc_impl(bk, prim.impl) if isinstance(prim.impl, np.ufunc) and not params else None
        if fn is None:
            raise BackendError(
                f"the primitive {prim.name!r} has no implementation for {bk.name} arrays. Compute on NumPy "
                f"arrays for this step (convert explicitly), or give {prim.name!r} an xp_impl "
                "(pullback.extend.Primitive(..., xp_impl=...))."
            )
    else:
        fn = functools.partial(xp_impl, bk.xp)
    try:
        out = fn(*moved, **params)
    except (TypeError, RuntimeError, NotImplementedError, AttributeError) as e:
        raise BackendError(f"{bk.name} cannot apply the primitive {prim.name!r} to these arrays: {e}") from e
    _check_result(prim, bk, out)
    return out


def xp_rule(prim: Any, xp: Any) -> Callable:
    """prim's implementation on namespace xp as ``rule(xp, *args, **params)`` for jit's generated code:
    its xp_impl (or the ufunc of its name), after NumPy's promotion of the operands of a broadcasting
    primitive; BackendError when it has none."""
    fn = prim.xp_impl
    bk = _BACKENDS.get(id(xp)) or Backend(xp)
    if fn is None:
        ufunc = _ufunc_impl(bk, prim.impl) if isinstance(prim.impl, np.ufunc) else None
        if ufunc is None:
            raise BackendError(
                f"jit: the primitive {prim.name!r} has no implementation for {getattr(xp, '__name__', xp)} arrays; "
                "call the function without jit, or give the primitive an xp_impl.")
        fn = lambda xp, *args: ufunc(*args)  # noqa: E731
    if not prim.broadcasting:
        return fn

    def promoting(xp, *args, **params):
        arrays = [i for i, a in enumerate(args) if hasattr(a, "dtype")]
        if len(arrays) > 1:
            args = list(args)
            for i, a in zip(arrays, _promoted(bk, [args[i] for i in arrays])):
                args[i] = a
        return fn(xp, *args, **params)

    return promoting


def _promoted(bk: Backend, arrays: list) -> list:
    """NumPy's promotion among the numeric operands of a broadcasting primitive, where the array API leaves
    mixed kinds (a float with an int array ...) unspecified; boolean operands (conditions) stay."""
    dtypes = [numpy_dtype(a.dtype) for a in arrays]
    numeric = {d for d in dtypes if d.kind != "b"}
    if len(numeric) < 2:
        return arrays
    common = np.result_type(*numeric)
    return [a if d.kind == "b" or d == common else bk.xp.astype(a, bk.dtype(common)) for a, d in zip(arrays, dtypes)]


def _to_backend(a: Any, bk: Backend, like: Any, weak: np.dtype) -> Any:
    if isinstance(a, (bool, int, float, complex)):
        # a Python scalar is weakly typed (NumPy's rule): it takes the foreign arrays' dtype where it fits
        return bk.asarray(np.asarray(a, np.result_type(a, weak)), like)
    if isinstance(a, (np.ndarray, np.generic)):
        return bk.asarray(a, like)
    return a


def _check_result(prim: Any, bk: Backend, out: Any) -> None:
    for o in out if prim.multiple_results else (out,):
        if isinstance(o, np.ndarray):
            raise BackendError(
                f"the {bk.name} implementation of {prim.name!r} returned a NumPy array (a hidden conversion); "
                "its xp_impl must stay in the arguments' library."
            )
        shape = getattr(o, "shape", ())
        if bk.lazy and any(isinstance(n, float) and math.isnan(n) for n in shape):
            raise BackendError(
                f"{prim.name!r} on {bk.name} arrays gives a data-dependent shape {shape} (a boolean mask or a "
                "value-dependent size): pullback would have to compute it. Use np.where(mask, x, 0) instead of "
                "x[mask], or compute the mask (mask.compute()) and index with the concrete result."
            )


def plain_value(x: Any) -> Any:
    """The plain value under a tracer's levels (x itself when it is not traced)."""
    while hasattr(type(x), "_trace") and hasattr(x, "aval"):
        x = x.aval
    return x


def zeros_like_value(shape: tuple, dtype: Any, like: Any) -> Any:
    """Zeros of `shape` and `dtype` in like's library (NumPy's np.zeros for NumPy values; like may be traced)."""
    like = plain_value(like)
    bk = backend_of(like)
    if bk is None:
        return np.zeros(shape, dtype)
    return bk.zeros(shape, numpy_dtype(dtype), like)


def ones_like_value(shape: tuple, dtype: Any, like: Any) -> Any:
    """Ones of `shape` and `dtype` in like's library."""
    like = plain_value(like)
    bk = backend_of(like)
    if bk is None:
        return np.ones(shape, dtype)
    return bk.ones(shape, numpy_dtype(dtype), like)


# ----------------------------------------------------------------------------- helpers for xp_impl rules
# The foreign implementations of the engine's own primitives (core/lax.py) and of the families'
# (primitives/) share these: dtypes, indices and scatters in any array-API namespace.


def xp_dtype(xp: Any, dtype: Any) -> Any:
    """The namespace's dtype for a NumPy dtype."""
    dtype = np.dtype(dtype)
    if is_lazy(xp) or getattr(xp, "__name__", "").endswith("cupy"):
        return dtype
    found = getattr(xp, "bool" if dtype.kind == "b" else dtype.name, None)
    if found is None:
        raise BackendError(f"{getattr(xp, '__name__', xp)} has no dtype {dtype}")
    return found


def is_lazy(xp: Any) -> bool:
    """Whether xp is Dask's namespace (lazy arrays in chunks)."""
    return "dask" in getattr(xp, "__name__", "")


def is_torch(xp: Any) -> bool:
    return "torch" in getattr(xp, "__name__", "")


def _index_items(idx) -> tuple:
    return idx if isinstance(idx, tuple) else (idx,)


def is_basic_index(idx) -> bool:
    """Only ints, slices, None and Ellipsis: no entry is selected twice."""
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in _index_items(idx))


def _positions(shape: tuple, idx) -> np.ndarray:
    """The flat positions in an array of `shape` that x[idx] selects, shaped like x[idx] (concrete)."""
    return np.arange(math.prod(shape), dtype=np.int64).reshape(shape)[idx]


def _on_device(xp: Any, a: np.ndarray, like: Any) -> Any:
    bk = backend_of(like)
    return bk.asarray(a, like) if bk is not None else a


def _basic_key(xp: Any, idx: Any, shape: tuple) -> tuple[tuple, tuple]:
    """A basic index as (key, flips): key with an explicit Ellipsis and only positive steps (torch has no
    negative ones), and the axes of x[key] to reverse so that flip(x[key], flips) == x[idx]."""
    items = _index_items(idx)
    if Ellipsis not in items:
        items = items + (Ellipsis,)
    torch = is_torch(xp)
    n_explicit = sum(i is not None and i is not Ellipsis for i in items)
    key, flips, axis, out_axis = [], [], 0, 0
    for i in items:
        if i is Ellipsis:
            skip = len(shape) - n_explicit
            key.append(i)
            axis, out_axis = axis + skip, out_axis + skip
        elif i is None:
            key.append(i)
            out_axis += 1
        elif isinstance(i, slice):  # in bounds (the array API leaves out-of-bounds slices unspecified)
            picked = range(shape[axis])[i]
            if not len(picked):
                key.append(slice(0, 0))
            elif picked.step > 0:
                key.append(slice(picked[0], picked[-1] + 1, picked.step))
            elif torch:  # no negative steps: the positive slice, then a flip
                key.append(slice(picked[-1], picked[0] + 1, -picked.step))
                flips.append(out_axis)
            else:
                key.append(slice(picked[0], picked[-1] - 1 if picked[-1] > 0 else None, picked.step))
            axis, out_axis = axis + 1, out_axis + 1
        else:
            key.append(i)
            axis += 1
    return tuple(key), tuple(flips)


def getitem(xp: Any, x: Any, idx: Any) -> Any:
    """x[idx] for a concrete NumPy index (basic, integer or boolean arrays), in x's namespace."""
    if is_basic_index(idx):
        key, flips = _basic_key(xp, idx, tuple(x.shape))
        out = x[key]
        return xp.flip(out, axis=flips) if flips else out
    arrays = [np.asarray(i) for i in _index_items(idx) if isinstance(i, (np.ndarray, list))]
    if is_lazy(xp) and len(arrays) == 1 and arrays[0].ndim == 1 and arrays[0].dtype.kind in "iu":
        return x[idx]  # Dask indexes with one NumPy array itself, chunk by chunk
    pos = _positions(tuple(x.shape), idx)
    flat = xp.take(xp.reshape(x, (-1,)), _on_device(xp, pos.reshape(-1), x), axis=0)
    return xp.reshape(flat, pos.shape)


def _rounds(pos: np.ndarray, last_only: bool) -> list:
    """Split the flat positions into rounds in which no position repeats: [(entries, positions)].

    With last_only, one round: the entry written last at each position (NumPy's ``out[idx] = v``)."""
    flat = pos.reshape(-1)
    order = np.argsort(flat, kind="stable")
    sorted_pos = flat[order]
    start = np.r_[True, sorted_pos[1:] != sorted_pos[:-1]] if flat.size else np.zeros(0, bool)
    if last_only:
        end = np.r_[start[1:], True] if flat.size else start
        return [(order[end], sorted_pos[end])]
    group_start = np.maximum.accumulate(np.where(start, np.arange(flat.size), 0)) if flat.size else start
    occurrence = np.arange(flat.size) - group_start
    return [(order[occurrence == r], sorted_pos[occurrence == r]) for r in range(int(occurrence.max(initial=-1)) + 1)]


def _spread(xp: Any, values: Any, positions: np.ndarray, size: int, like: Any) -> tuple:
    """(dense, hit): `values` placed at the distinct flat `positions` of a length-`size` vector, zeros elsewhere,
    as a gather (every namespace has take); hit marks the positions written."""
    gather = np.full(size, positions.size, np.int64)
    gather[positions] = np.arange(positions.size)
    padded = xp.concat([values, xp.zeros((1,), dtype=values.dtype, device=_device(like))], axis=0)
    return xp.take(padded, _on_device(xp, gather, like), axis=0), gather < positions.size


def _device(x: Any) -> Any:
    from array_api_compat import device

    return device(x)


def scatter(xp: Any, x: Any, v: Any, idx: Any, accumulate: bool) -> Any:
    """A copy of x with v added (accumulate) or written at x[idx] (concrete index), in x's namespace.

    Basic indices update a copy in place (Dask: lazily, chunk by chunk); integer and boolean arrays
    become flat positions, and the update a gather: rounds in which no position repeats (accumulate),
    or the entry written last at each position (write)."""
    if not hasattr(v, "dtype"):  # a Python scalar (in jit's generated code): weakly typed, x's dtype
        v = xp.asarray(v, dtype=x.dtype, device=_device(x))
    dtype = xp.result_type(x, v) if accumulate else x.dtype
    shape = tuple(x.shape)
    target = getitem(xp, x, idx)
    v = xp.broadcast_to(xp.astype(v, dtype) if v.dtype != dtype else v, tuple(target.shape))
    if is_basic_index(idx):
        out = xp.astype(x, dtype, copy=True)
        if math.prod(tuple(target.shape)) == 0:
            return out
        key, flips = _basic_key(xp, idx, shape)
        if flips:
            v = xp.flip(v, axis=flips)
        if None in key:  # the new axes of x[idx] have length 1: write without them
            key = tuple(i for i in key if i is not None)
            v = xp.reshape(v, np.broadcast_to(np.zeros((), np.int8), shape)[key].shape)
        out[key] = (out[key] + v) if accumulate else v
        return out
    pos = _positions(shape, idx)
    size = math.prod(shape)
    out = xp.reshape(xp.astype(x, dtype) if x.dtype != dtype else x, (-1,))
    flat_v = xp.reshape(v, (-1,))
    for entries, positions in _rounds(pos, last_only=not accumulate):
        values = xp.take(flat_v, _on_device(xp, entries, x), axis=0)
        dense, hit = _spread(xp, values, positions, size, out)
        out = out + dense if accumulate else xp.where(_on_device(xp, hit, out), dense, out)
    return xp.reshape(out, shape)
