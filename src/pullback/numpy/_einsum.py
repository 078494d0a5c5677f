"""einsum and the other contraction-style functions of pullback.numpy: einsum, einsum_path, kron,
cross, convolve, correlate.

einsum on traced operands is a composition of differentiable primitives, so its derivatives of
every order are einsums again, written out: the transpose of a contraction is a contraction of
the cotangent with the other operands. Each operand first loses its repeated labels (the diagonal,
a gather: 'ii->i', 'ii', 'iij->j'), its size-1 broadcast labels and the labels no one else needs (a
sum); the operands are then contracted two at a time (a batched matmul after transpose and
reshape), in the order numpy.einsum_path's greedy search picks for three or more operands. Values
agree with numpy.einsum to rounding (the summation order differs); on plain operands numpy.einsum
itself runs.
"""

from __future__ import annotations

import math
import string
import warnings

import numpy as _np
from numpy.lib.array_utils import normalize_axis_index

from ..primitives import elementwise as ew
from ..primitives import linalg as la
from ..primitives import reductions as red
from ..primitives._util import dtype_of, shape_of
from ._helpers import check_kwargs, traced
from ._shapes import (
    asarray,
    broadcast_to,
    concatenate,
    expand_dims,
    getitem,
    moveaxis,
    reshape,
    stack,
    transpose,
)
from ._ufuncs import astype

_LETTERS = string.ascii_uppercase + string.ascii_lowercase  # numpy's C einsum maps sublist ints 0..51 to these


# ----------------------------------------------------------------------------- parsing


def _sublist_to_subscripts(operands) -> tuple[str, list]:
    """einsum(op0, sublist0, op1, sublist1, ..., [sublistout]) as (subscripts, operands)."""
    ops, subs = list(operands[0::2]), list(operands[1::2])
    out = None
    if len(operands) % 2:
        out = ops.pop()  # the trailing output sublist sits at an even position

    def text(sub):
        parts = []
        for s in sub:
            if s is Ellipsis:
                parts.append("...")
            else:
                s = int(s)
                if not 0 <= s < 52:
                    raise ValueError("subscript is not within the valid range [0, 52)")
                parts.append(_LETTERS[s])
        return "".join(parts)

    subscripts = ",".join(text(s) for s in subs)
    if out is not None:
        subscripts += "->" + text(out)
    return subscripts, ops


def _tokens(term: str) -> list:
    """'ab...c' as ['a', 'b', '...', 'c']; anything else than letters and one ellipsis is an error."""
    out, i = [], 0
    while i < len(term):
        if term.startswith("...", i):
            if "..." in out:
                raise ValueError("einstein sum subscripts string contains more than one ellipsis")
            out.append("...")
            i += 3
        elif term[i] in _LETTERS:
            out.append(term[i])
            i += 1
        else:
            raise ValueError(f"invalid subscript '{term[i]}' in einstein sum subscripts string, subscripts must be "
                             "letters")
    return out


def parse_subscripts(subscripts: str, shapes: list) -> tuple[list, list, dict]:
    """(labels of each operand, labels of the output, size of each label).

    Labels are letters, and ('...', k) for the k-th of the broadcast dimensions an ellipsis stands for
    (right-aligned across operands, as NumPy broadcasts them).
    """
    subscripts = subscripts.replace(" ", "")
    explicit = "->" in subscripts
    lhs, rhs = subscripts.split("->", 1) if explicit else (subscripts, None)
    if "-" in lhs or ">" in lhs or (rhs is not None and ("-" in rhs or ">" in rhs)):
        raise ValueError("einstein sum subscript string does not contain proper '->' output specified")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError("more operands provided to einstein sum function than specified in the subscripts "
                         "string" if len(shapes) > len(terms) else
                         "fewer operands provided to einstein sum function than specified in the subscripts string")
    tokens = [_tokens(t) for t in terms]
    widths = []
    for toks, s in zip(tokens, shapes, strict=False):
        letters = sum(t != "..." for t in toks)
        if letters > len(s) or ("..." not in toks and letters != len(s)):
            raise ValueError(
                "operand has more dimensions than subscripts given in einstein sum, but no '...' ellipsis "
                "provided to broadcast the extra dimensions." if letters < len(s) else
                f"einstein sum subscripts string contains too many subscripts for operand {len(widths)}")
        widths.append(len(s) - letters if "..." in toks else 0)
    n_ell = max(widths, default=0)
    ell = [("...", k) for k in range(n_ell)]
    labels = []
    for toks, w in zip(tokens, widths, strict=False):
        lab = []
        for t in toks:
            lab.extend(ell[n_ell - w:] if t == "..." else [t])
        labels.append(lab)
    sizes: dict = {}
    for lab, s, _term in zip(labels, shapes, terms, strict=False):
        for label, n in zip(lab, s, strict=False):
            m = sizes.get(label, 1)
            if m != 1 and n not in (1, m):
                raise ValueError(f"operands could not be broadcast together: label {label!r} has sizes {m} and {n}")
            sizes[label] = max(m, n) if n != 1 else m
    for lab, s in zip(labels, shapes, strict=False):
        for label, n in zip(lab, s, strict=False):
            sizes.setdefault(label, n)
    if explicit:
        out_toks = _tokens(rhs)
        out = []
        for t in out_toks:
            out.extend(ell if t == "..." else [t])
        if n_ell and "..." not in out_toks:
            raise ValueError("output has more dimensions than subscripts given in einstein sum, but no '...' "
                             "ellipsis provided to broadcast the extra dimensions.")
        for t in out:
            if t not in sizes:
                raise ValueError(f"einstein sum subscripts string included output subscript '{t}' which never "
                                 "appeared in an input")
            if out.count(t) > 1:
                raise ValueError(f"einstein sum subscripts string includes output subscript '{t}' multiple times")
    else:
        counts: dict = {}
        for lab in labels:
            for label in lab:
                counts[label] = counts.get(label, 0) + 1
        out = ell + sorted(c for c, n in counts.items() if n == 1 and c[0] != "...")
    return labels, out, sizes


# ----------------------------------------------------------------------------- contraction


def _take_diagonals(x, labels):
    """Collapse each label repeated within one operand to its diagonal ('ii' → 'i'), as a gather."""
    for label in list(dict.fromkeys(labels)):
        where = [i for i, lab in enumerate(labels) if lab == label]
        if len(where) < 2:
            continue
        sizes = {shape_of(x)[i] for i in where}
        if len(sizes) != 1:
            raise ValueError(f"dimensions in operand for collapsing index '{label}' don't match {sorted(sizes)}")
        rest = [i for i in range(len(labels)) if i not in where]
        x = transpose(x, rest + where)
        ar = _np.arange(sizes.pop())
        x = getitem(x, (Ellipsis,) + (ar,) * len(where))
        labels = [labels[i] for i in rest] + [label]
    return x, labels


def _drop(x, labels, drop, how):
    """Remove the axes of `labels` in `drop`: summed (how='sum') or squeezed (how='squeeze', size 1)."""
    axes = tuple(i for i, lab in enumerate(labels) if lab in drop)
    if not axes:
        return x, labels
    keep = [lab for lab in labels if lab not in drop]
    if how == "sum":
        x = red.reduce_sum(x, axis=axes, keepdims=False)
    else:
        x = reshape(x, tuple(n for i, n in enumerate(shape_of(x)) if i not in axes))
    return x, keep


def _prepare(x, labels, needed_elsewhere, sizes):
    x, labels = _take_diagonals(x, labels)
    broadcast = {lab for lab, n in zip(labels, shape_of(x), strict=False) if n == 1 and sizes[lab] != 1}
    x, labels = _drop(x, labels, broadcast, "squeeze")
    return _drop(x, labels, {lab for lab in labels if lab not in needed_elsewhere}, "sum")


def _contract_pair(a, la_, b, lb, keep):
    """Σ over the labels a and b share but nothing later needs; a batched matmul."""
    a, la_ = _drop(a, la_, {lab for lab in la_ if lab not in keep and lab not in lb}, "sum")
    b, lb = _drop(b, lb, {lab for lab in lb if lab not in keep and lab not in la_}, "sum")
    batch = [lab for lab in la_ if lab in lb and lab in keep]
    summed = [lab for lab in la_ if lab in lb and lab not in keep]
    free_a = [lab for lab in la_ if lab not in lb]
    free_b = [lab for lab in lb if lab not in la_]
    size = dict(zip(la_, shape_of(a), strict=False)) | dict(zip(lb, shape_of(b), strict=False))

    def n(labs):
        return math.prod(size[lab] for lab in labs)

    a3 = reshape(transpose(a, [la_.index(lab) for lab in batch + free_a + summed]), (n(batch), n(free_a), n(summed)))
    b3 = reshape(transpose(b, [lb.index(lab) for lab in batch + summed + free_b]), (n(batch), n(summed), n(free_b)))
    out = reshape(la.matmul(a3, b3), tuple(size[lab] for lab in batch + free_a + free_b))
    return out, batch + free_a + free_b


def _path(labels, shapes) -> list:
    """Pairs to contract, as numpy.einsum_path's greedy search orders them (positions in a shrinking list)."""
    if len(labels) <= 2:
        return [(0, 1)] * (len(labels) - 1)
    names = {lab: None for lab_list in labels for lab in lab_list}
    if len(names) > len(_LETTERS):
        return [(0, 1)] * (len(labels) - 1)
    letter = dict(zip(names, _LETTERS, strict=False))
    subs = ",".join("".join(letter[lab] for lab in lab_list) for lab_list in labels)
    dummies = [_np.lib.stride_tricks.as_strided(_np.zeros(1), s, (0,) * len(s)) for s in shapes]
    path, _ = _np.einsum_path(subs, *dummies, optimize="greedy")
    return [tuple(p) for p in path[1:]]


def _einsum_traced(subscripts: str, operands: list):
    operands = [asarray(op) for op in operands]
    labels, out, sizes = parse_subscripts(subscripts, [shape_of(op) for op in operands])
    ops = []
    for k, (x, lab) in enumerate(zip(operands, labels, strict=False)):
        elsewhere = set(out).union(*[set(o) for j, o in enumerate(labels) if j != k])
        ops.append(_prepare(x, lab, elsewhere, sizes))
    for step in _path([lab for _, lab in ops], [shape_of(x) for x, _ in ops]):
        chosen = [ops[k] for k in step]
        rest = [op for k, op in enumerate(ops) if k not in step]
        keep = set(out).union(*[set(lab) for _, lab in rest])
        a, la_ = chosen[0]
        for m, (b, lb) in enumerate(chosen[1:], start=2):
            later = keep.union(*[set(lab) for _, lab in chosen[m:]])
            a, la_ = _contract_pair(a, la_, b, lb, later)
        ops = rest + [(a, la_)]
    (x, lab), = ops
    x, lab = _drop(x, lab, {label for label in lab if label not in out}, "sum")
    for label in out:  # a size-1 label squeezed from every operand
        if label not in lab:
            x, lab = expand_dims(x, len(lab)), lab + [label]
    return transpose(x, [lab.index(label) for label in out])


def einsum(*operands, out=None, optimize=False, dtype=None, order="K", casting="safe"):
    """numpy.einsum: any subscripts (implicit or explicit output, ellipsis, repeated labels), or sublists."""
    check_kwargs("einsum", out)
    if not operands:
        raise ValueError("No input operands")
    if isinstance(operands[0], str):
        subscripts, ops = operands[0], list(operands[1:])
    else:
        subscripts, ops = _sublist_to_subscripts(operands)
    if not traced(*ops):
        kwargs = {} if dtype is None else {"dtype": dtype}
        return _np.einsum(subscripts, *ops, optimize=optimize, order=order, casting=casting, **kwargs)
    if dtype is not None:
        ops = [asarray(op) for op in ops]
        for op in ops:
            if not _np.can_cast(dtype_of(op), dtype, casting):
                raise TypeError(f"Iterator operand dtype could not be cast from {dtype_of(op)!r} to "
                                f"{_np.dtype(dtype)!r} according to the rule {casting!r}")
        ops = [astype(op, dtype) for op in ops]
    return _einsum_traced(subscripts, ops)


def einsum_path(*operands, optimize="greedy", einsum_call=False):
    """numpy.einsum_path on the operands' shapes (traced operands are fine: only shapes matter)."""
    if isinstance(operands[0], str):
        subscripts, ops = operands[0], list(operands[1:])
    else:
        subscripts, ops = _sublist_to_subscripts(operands)
    dummies = [_np.lib.stride_tricks.as_strided(_np.zeros(1, dtype_of(op)), shape_of(op), (0,) * len(shape_of(op)))
               for op in ops]
    return _np.einsum_path(subscripts, *dummies, optimize=optimize, einsum_call=einsum_call)


# ----------------------------------------------------------------------------- kron, cross


def kron(a, b):
    """Kronecker product: the blocks a[i, j] · b (NumPy's interleaved broadcast product)."""
    if not traced(a, b):
        return _np.kron(a, b)
    a, b = asarray(a), asarray(b)
    nda, ndb = len(shape_of(a)), len(shape_of(b))
    if nda == 0 or ndb == 0:
        return ew.multiply(a, b)
    nd = max(nda, ndb)
    sa = (1,) * (nd - nda) + shape_of(a)
    sb = (1,) * (nd - ndb) + shape_of(b)
    a2 = reshape(a, sum(((n, 1) for n in sa), ()))
    b2 = reshape(b, sum(((1, n) for n in sb), ()))
    return reshape(ew.multiply(a2, b2), tuple(x * y for x, y in zip(sa, sb, strict=False)))


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (or 2-vectors, deprecated by NumPy) along the given axes."""
    if not traced(a, b):
        return _np.cross(a, b, axisa, axisb, axisc, axis)
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = asarray(a), asarray(b)
    if len(shape_of(a)) < 1 or len(shape_of(b)) < 1:
        raise ValueError("At least one array has zero dimension")
    a = moveaxis(a, normalize_axis_index(axisa, len(shape_of(a)), "axisa"), -1)
    b = moveaxis(b, normalize_axis_index(axisb, len(shape_of(b)), "axisb"), -1)
    na, nb = shape_of(a)[-1], shape_of(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product\n(dimension must be 2 or 3)")
    if na == 2 or nb == 2:
        warnings.warn("Arrays of 2-dimensional vectors are deprecated. Use arrays of 3-dimensional vectors "
                      "instead. (deprecated in NumPy 2.0)", DeprecationWarning, stacklevel=2)
    dtype = _np.promote_types(dtype_of(a), dtype_of(b))
    a, b = astype(a, dtype), astype(b, dtype)
    a0, a1, b0, b1 = getitem(a, (..., 0)), getitem(a, (..., 1)), getitem(b, (..., 0)), getitem(b, (..., 1))
    mul, sub, neg = ew.multiply, ew.subtract, ew.negative
    cp2 = sub(mul(a0, b1), mul(a1, b0))
    if na == 2 and nb == 2:
        return cp2
    if na == 2:
        b2 = getitem(b, (..., 2))
        cp0, cp1 = mul(a1, b2), neg(mul(a0, b2))
    elif nb == 2:
        a2 = getitem(a, (..., 2))
        cp0, cp1 = neg(mul(a2, b1)), mul(a2, b0)
    else:
        a2, b2 = getitem(a, (..., 2)), getitem(b, (..., 2))
        cp0, cp1 = sub(mul(a1, b2), mul(a2, b1)), sub(mul(a2, b0), mul(a0, b2))
    shape = _np.broadcast_shapes(shape_of(cp0), shape_of(cp1), shape_of(cp2))
    cp = stack([broadcast_to(c, shape) for c in (cp0, cp1, cp2)], axis=-1)
    return moveaxis(cp, -1, normalize_axis_index(axisc, len(shape) + 1, "axisc"))


# ----------------------------------------------------------------------------- convolve, correlate


def _correlate_full(a, v):
    """c[k] = Σ_n a[n + k − (M − 1)] · v[n], k = 0 … N + M − 2 (a is zero outside its range): one gather
    of sliding windows and one matrix-vector product, windows over the longer input."""
    n, m = shape_of(a)[0], shape_of(v)[0]
    length = n + m - 1
    if n >= m:
        padded = _pad_zeros(a, m - 1)
        windows = _np.arange(length)[:, None] + _np.arange(m)[None, :]
        return la.matmul(getitem(padded, windows), v)
    padded = _pad_zeros(v, n - 1)  # c[k] = Σ_j a[j] · v[j − k + M − 1]
    windows = (length - 1 - _np.arange(length))[:, None] + _np.arange(n)[None, :]
    return la.matmul(getitem(padded, windows), a)


def _pad_zeros(x, k: int):
    if k == 0:
        return x
    z = _np.zeros(k, dtype_of(x))
    return concatenate([z, x, z])


def _mode_slice(c, n: int, m: int, mode: str):
    short, long_ = min(n, m), max(n, m)
    if mode == "full":
        return c
    if mode == "same":
        start = short - 1 - short // 2
        return getitem(c, slice(start, start + long_))
    if mode == "valid":
        return getitem(c, slice(short - 1, long_))
    raise ValueError(f"mode must be one of 'valid', 'same', or 'full' (got {mode!r})")


def _one_d(a, v):
    """a and v as non-empty 1-D arrays of their common dtype (NumPy's errors otherwise)."""
    a, v = asarray(a), asarray(v)
    if len(shape_of(a)) != 1 or len(shape_of(v)) != 1:
        raise ValueError("object too deep for desired array" if max(len(shape_of(a)), len(shape_of(v))) > 1
                         else "object of too small depth for desired array")
    if shape_of(a)[0] == 0:
        raise ValueError("a cannot be empty")
    if shape_of(v)[0] == 0:
        raise ValueError("v cannot be empty")
    dtype = _np.result_type(dtype_of(a), dtype_of(v))
    return astype(a, dtype), astype(v, dtype)


def convolve(a, v, mode="full"):
    """Discrete linear convolution of two 1-D sequences (modes full / same / valid)."""
    if not traced(a, v):
        return _np.convolve(a, v, mode)
    a, v = _one_d(a, v)
    n, m = shape_of(a)[0], shape_of(v)[0]
    return _mode_slice(_correlate_full(a, getitem(v, slice(None, None, -1))), n, m, mode)


def correlate(a, v, mode="valid"):
    """Cross-correlation c[k] = Σ_n a[n + k] · conj(v[n]) of two 1-D sequences (modes valid / same / full)."""
    if not traced(a, v):
        return _np.correlate(a, v, mode)
    a, v = _one_d(a, v)
    n, m = shape_of(a)[0], shape_of(v)[0]
    if dtype_of(v).kind == "c":
        v = ew.conj(v)
    c = _correlate_full(a, v)
    if n < m and mode != "full":
        # NumPy swaps the operands when v is the longer one: the lags it keeps are counted from the other end
        c = getitem(_mode_slice(getitem(c, slice(None, None, -1)), n, m, mode), slice(None, None, -1))
        return c
    return _mode_slice(c, n, m, mode)


# ----------------------------------------------------------------------------- NumPy 2's vector products


def vecdot(x1, x2, /, out=None, *, axis=-1, **kwargs):
    """Σ conj(x1)·x2 over axis, broadcasting the other axes (numpy.vecdot)."""
    check_kwargs("vecdot", out, **kwargs)
    x1, x2 = asarray(x1), asarray(x2)
    n1, n2 = len(shape_of(x1)), len(shape_of(x2))
    if n1 == 0 or n2 == 0:
        raise ValueError("vecdot: Input operand does not have enough dimensions")
    x1, x2 = moveaxis(x1, axis, -1), moveaxis(x2, axis, -1)
    if shape_of(x1)[-1] != shape_of(x2)[-1]:
        raise ValueError(f"vecdot: core dimensions differ: {shape_of(x1)[-1]} and {shape_of(x2)[-1]}")
    if dtype_of(x1).kind == "c":
        x1 = ew.conj(x1)
    return getitem(la.matmul(expand_dims(x1, -2), expand_dims(x2, -1)), (..., 0, 0))


def matvec(x1, x2, /, out=None, **kwargs):
    """x1 @ x2 for stacks of matrices x1 and vectors x2 (numpy.matvec)."""
    check_kwargs("matvec", out, **kwargs)
    if len(shape_of(x1)) < 2 or len(shape_of(x2)) < 1:
        raise ValueError("matvec: Input operand does not have enough dimensions")
    return getitem(la.matmul(x1, expand_dims(asarray(x2), -1)), (..., 0))


def vecmat(x1, x2, /, out=None, **kwargs):
    """conj(x1) @ x2 for stacks of vectors x1 and matrices x2 (numpy.vecmat)."""
    check_kwargs("vecmat", out, **kwargs)
    x1 = asarray(x1)
    if len(shape_of(x1)) < 1 or len(shape_of(x2)) < 2:
        raise ValueError("vecmat: Input operand does not have enough dimensions")
    if dtype_of(x1).kind == "c":
        x1 = ew.conj(x1)
    return getitem(la.matmul(expand_dims(x1, -2), x2), (..., 0, slice(None)))


__all__ = ["convolve", "correlate", "cross", "einsum", "einsum_path", "kron", "matvec", "vecdot", "vecmat"]
METHODS: dict = {}
