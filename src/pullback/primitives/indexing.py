"""Scatter primitives: the functional updates behind x.at[idx].set / .min / .max (x.at[idx].add is shape.add_at).

    scatter(x, v, idx)      = a copy of x with v written at x[idx]                 (linear in x and v)
        x̄ = ct with zeros at idx,      v̄ = ct[idx] where that entry of v was the one written
    scatter_min(x, v, idx)  = a copy of x with x[idx] ← minimum(x[idx], v)         (numpy.minimum.at)
    scatter_max(x, v, idx)  = a copy of x with x[idx] ← maximum(x[idx], v)         (numpy.maximum.at)
        each output entry equals one of its candidates (x's entry and every entry of v sent to it);
        its derivative is shared equally among the candidates that attain it (as reduce_max does),
        a NaN output belonging to the NaN candidates.

`idx` is a concrete NumPy index (ints, slices, None, Ellipsis, integer or boolean arrays), and v
broadcasts to the shape of x[idx]. The output keeps x's dtype (v is converted on writing, as NumPy does).
Repeated indices: `scatter` keeps the value written last in C order of the index, as NumPy's
``out[idx] = v`` does (JAX leaves it unspecified), so only that entry of v receives a cotangent.
"""

from __future__ import annotations

import numpy as np

from ..core.primitive import Primitive
from . import elementwise as ew
from . import scatter_sum as _scatter_sum  # noqa: F401 - registers the fold of summed scatters (rules)
from ._util import dtype_of, shape_of
from .shape import _index_update_batch, _is_basic, add_at, getitem


def _is_boolean_only(idx) -> bool:
    """True when idx holds boolean arrays but no integer arrays: no position can be selected twice."""
    items = idx if isinstance(idx, tuple) else (idx,)
    for i in items:
        if isinstance(i, np.ndarray) and i.dtype.kind != "b":
            return False
        if isinstance(i, (list, tuple)):
            return False
    return True


def written_last(shape: tuple, idx) -> np.ndarray | None:
    """Mask over x[idx]'s entries: True where that entry is the one `out[idx] = v` leaves in place.

    None when no position is selected twice (every entry is written).
    """
    if _is_basic(idx) or _is_boolean_only(idx):
        return None
    ids_shape = np.zeros(shape, np.int8)[idx].shape
    ids = np.arange(int(np.prod(ids_shape, dtype=np.int64)), dtype=np.intp).reshape(ids_shape)
    owner = np.full(shape, -1, np.intp)
    owner[idx] = ids
    mask = owner[idx] == ids
    return None if mask.all() else mask


# ----------------------------------------------------------------------------- scatter (set)


def _scatter_impl(x, v, idx):
    out = np.array(x, copy=True)
    out[idx] = v
    return out


def _scatter_shape(x, v, idx):
    return shape_of(x), dtype_of(x)


def _scatter_jvp(primals, tangents, out, idx):
    x, _ = primals
    tx, tv = tangents
    if tx is None and tv is None:
        return None
    if tx is None:
        tx = np.zeros(shape_of(x), dtype_of(tv))
    return scatter(tx, 0.0 if tv is None else tv, idx=idx)


def _scatter_vjp(ct, out, primals, needs, idx):
    x, v = primals
    gx = scatter(ct, 0.0, idx=idx) if needs[0] else None
    gv = None
    if needs[1]:
        gv = getitem(ct, idx=idx)
        last = written_last(shape_of(x), idx)
        if last is not None:
            gv = ew.select(last, gv, 0.0)
    return [gx, gv]


scatter = Primitive(
    "scatter", _scatter_impl, shape=_scatter_shape, linear=True,
    jvp=_scatter_jvp, vjp=_scatter_vjp,
    doc="a copy of x with v written at x[idx] (x.at[idx].set(v)); at repeated indices the last write wins",
)

# ----------------------------------------------------------------------------- scatter_min / scatter_max


def _attains(a, target):
    """1 where a equals target (NaN counting as equal to NaN), as a mask of plain booleans."""
    eq = ew.equal(a, target)
    nan = ew.NONDIFF_BINARY["logical_and"](ew.NONDIFF_UNARY["isnan"](a), ew.NONDIFF_UNARY["isnan"](target))
    return ew.NONDIFF_BINARY["logical_or"](eq, nan)


def _shares(x, v, out, idx):
    """(wx, wv): the share of ∂out[p] that goes to x[p], and to each entry of v (shape of x[idx])."""
    dt = dtype_of(out)
    hit_x = ew.convert(_attains(x, out), dtype=dt)
    hit_v = ew.convert(_attains(v, getitem(out, idx=idx)), dtype=dt)
    count = ew.add(hit_x, add_at(np.zeros(shape_of(x), dt), hit_v, idx=idx))
    return ew.divide(hit_x, count), ew.divide(hit_v, getitem(count, idx=idx))


def _scatter_extremum(name: str, ufunc: np.ufunc) -> Primitive:
    def impl(x, v, idx):
        out = np.array(x, copy=True)
        ufunc.at(out, idx, np.broadcast_to(v, out[idx].shape))  # ufunc.at need not broadcast v itself
        return out

    def jvp(primals, tangents, out, idx):
        x, v = primals
        tx, tv = tangents
        if tx is None and tv is None:
            return None
        wx, wv = _shares(x, v, out, idx)
        t = None if tx is None else ew.multiply(tx, wx)
        if tv is not None:
            sent = add_at(np.zeros(shape_of(x), dtype_of(out)), ew.multiply(tv, wv), idx=idx)
            t = sent if t is None else ew.add(t, sent)
        return t

    def vjp(ct, out, primals, needs, idx):
        x, v = primals
        wx, wv = _shares(x, v, out, idx)
        gx = ew.multiply(ct, wx) if needs[0] else None
        gv = ew.multiply(getitem(ct, idx=idx), wv) if needs[1] else None
        return [gx, gv]

    return Primitive(
        name, impl, shape=_scatter_shape, jvp=jvp, vjp=vjp,
        doc=f"x with x[idx] ← {ufunc.__name__}(x[idx], v) (numpy.{ufunc.__name__}.at); candidates that tie "
            "for an output entry share its derivative equally",
    )


scatter_min = _scatter_extremum("scatter_min", np.minimum)
scatter_max = _scatter_extremum("scatter_max", np.maximum)

# vmap: the same re-aiming of the index as add_at's (primitives/shape.py)
for _prim in (scatter, scatter_min, scatter_max):
    _prim.batch = _index_update_batch(_prim)
