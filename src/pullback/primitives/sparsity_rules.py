"""Structural sparsity rules of the primitives (the ``sparsity`` hook, see core/primitive.py).

A rule maps the shapes (and any constant arguments) of an application to, per argument, the pairs
``(out_index, in_index)`` of flat positions with output entry out_index[k] depending on argument
entry in_index[k]. Index-moving primitives (reshape, transpose, broadcast_to, getitem, concatenate,
scatter, permute_along_axis) are exact by running their own implementation on arrays of positions;
sums and products (sum_to, add_at, reductions, cumsum, cumprod) map each input position to the outputs it reaches;
matmul uses the zero pattern of a constant operand; select uses a constant condition.
The generic rules derived from traits (elementwise, broadcasting, reduction) are here too
(`elementwise_maps`, `broadcast_maps`, `reduction_maps`); pullback.sparse applies them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.lax import add_at, broadcast_to, concatenate, getitem, reshape, sum_to
from . import elementwise_extra as ewx
from .decompositions import cholesky, det, inv, pinv, solve
from .elementwise import select
from .fft import fft, irfft, rfft
from .indexing import scatter, scatter_max, scatter_min
from .linalg import matmul
from .shape import transpose
from .sorting import cumprod, cumsum, permute_along_axis, reduce_prod
from .spectral import eigvals, eigvalsh, svdvals

Maps = list


def positions(shape: Sequence[int]) -> np.ndarray:
    """The flat position of every entry of an array of `shape`."""
    shape = tuple(shape)
    return np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64).reshape(shape)


def _identity(n: int) -> tuple:
    r = np.arange(n, dtype=np.int64)
    return r, r


def broadcast_maps(in_shapes, consts, out_shape, **params) -> Maps:
    """Broadcasting n-ary op: out[p] depends on each argument's entry broadcast to p."""
    maps = []
    for s in in_shapes:
        src = np.broadcast_to(positions(s), out_shape).ravel()
        maps.append((np.arange(src.size, dtype=np.int64), src))
    return maps


def elementwise_maps(in_shapes, consts, out_shape, **params) -> Maps:
    """One-argument elementwise op: out[p] depends on x[p] (broadcast if x is smaller)."""
    return broadcast_maps(in_shapes, consts, out_shape)


def _reaching(in_shape, out_shape, keep_shape) -> tuple:
    """Pairs (output, input) where every input entry flows into one output, read by broadcasting
    the output positions (in the keepdims shape `keep_shape`) back to the input shape."""
    dst = np.broadcast_to(positions(out_shape).reshape(keep_shape), in_shape).ravel()
    return dst, np.arange(dst.size, dtype=np.int64)


def reduction_maps(in_shapes, consts, out_shape, axis=None, keepdims=False, **params) -> Maps:
    """Reduction over `axis`: out[q] depends on every input entry reduced into q."""
    shape = tuple(in_shapes[0])
    nd = len(shape)
    axes = range(nd) if axis is None else ((axis,) if isinstance(axis, int) else axis)
    axes = {a % nd for a in axes} if nd else set()
    keep = tuple(1 if i in axes else d for i, d in enumerate(shape))
    maps: Maps = [_reaching(shape, out_shape, keep)]
    return maps + [None] * (len(in_shapes) - 1)


def _gather(impl):
    """A rule for a one-array index-moving primitive: run impl on the positions."""
    def rule(in_shapes, consts, out_shape, **params):
        src = np.asarray(impl(positions(in_shapes[0]), **params)).ravel()
        return [(np.arange(src.size, dtype=np.int64), src)] + [None] * (len(in_shapes) - 1)
    return rule


def _concatenate_rule(in_shapes, consts, out_shape, axis):
    offsets = np.cumsum([0] + [int(np.prod(s, dtype=np.int64)) for s in in_shapes])
    src = np.concatenate([positions(s) + o for s, o in zip(in_shapes, offsets)], axis=axis).ravel()
    out = np.arange(src.size, dtype=np.int64)
    maps = []
    for k in range(len(in_shapes)):
        m = (src >= offsets[k]) & (src < offsets[k + 1])
        maps.append((out[m], src[m] - offsets[k]))
    return maps


def _sum_to_rule(in_shapes, consts, out_shape, shape):
    in_shape = tuple(in_shapes[0])
    lead = len(in_shape) - len(shape)
    keep = tuple(shape)
    return [_reaching(in_shape, shape, (1,) * lead + keep)]


def _scatter_rule(in_shapes, consts, out_shape, idx):
    xs, vs = tuple(in_shapes[0]), tuple(in_shapes[1])
    nx = int(np.prod(xs, dtype=np.int64))
    owner = positions(xs).copy()
    owner[idx] = positions(vs) + nx  # the last write wins, as in the primitive
    owner = owner.ravel()
    out = np.arange(owner.size, dtype=np.int64)
    from_x = owner < nx
    return [(out[from_x], owner[from_x]), (out[~from_x], owner[~from_x] - nx)]


def _add_at_rule(in_shapes, consts, out_shape, idx):
    xs, vs = tuple(in_shapes[0]), tuple(in_shapes[1])
    dst = positions(xs)[idx]
    src = np.broadcast_to(positions(vs), dst.shape).ravel()
    return [_identity(int(np.prod(xs, dtype=np.int64))), (dst.ravel(), src)]


def _cumsum_rule(in_shapes, consts, out_shape, axis, reverse):
    """out[..., i, ...] depends on x[..., j, ...] for j ≤ i (j ≥ i when reverse)."""
    shape = tuple(in_shapes[0])
    pos = np.moveaxis(positions(shape), axis, -1)
    n = shape[axis] if shape else 1
    i, j = np.tril_indices(n) if not reverse else np.triu_indices(n)
    return [(pos[..., i].ravel(), pos[..., j].ravel())]


def _select_rule(in_shapes, consts, out_shape):
    maps = broadcast_maps(in_shapes, consts, out_shape)
    cond = consts[0]
    if cond is not None:  # a constant condition picks one branch per entry
        c = np.broadcast_to(np.asarray(cond, bool), out_shape).ravel()
        maps[1] = (maps[1][0][c], maps[1][1][c])
        maps[2] = (maps[2][0][~c], maps[2][1][~c])
    maps[0] = None
    return maps


def _matmul_rule(in_shapes, consts, out_shape):
    """C = A @ B: C[b, i, j] depends on A[b, i, k] where B[b, k, j] may be nonzero, and on B[b, k, j]
    where A[b, i, k] may be nonzero; a constant operand's zeros are structural (pooled over its batch:
    a superset, flagged, when the constant is a stack of more than one matrix)."""
    sa, sb = tuple(in_shapes[0]), tuple(in_shapes[1])
    a2 = sa if len(sa) >= 2 else (1,) + sa
    b2 = sb if len(sb) >= 2 else sb + (1,)
    batch = np.broadcast_shapes(a2[:-2], b2[:-2])
    n, _k, m = a2[-2], a2[-1], b2[-1]
    pa = np.broadcast_to(positions(sa).reshape(a2), batch + a2[-2:])
    pb = np.broadcast_to(positions(sb).reshape(b2), batch + b2[-2:])
    po = positions(batch + (n, m))

    def mask(c, shape2):
        if c is None:
            return np.ones(shape2[-2:], bool)
        c = np.asarray(c).reshape(shape2)
        return (c != 0).reshape((-1,) + shape2[-2:]).any(axis=0)

    exact = not any(c is not None and int(np.prod(s2[:-2], dtype=np.int64)) > 1 for c, s2 in zip(consts, (a2, b2)))
    ma, mb = mask(consts[0], a2), mask(consts[1], b2)
    ii, kk = np.nonzero(ma)            # A[i, k] ≠ 0  →  C[i, j] depends on B[k, j] for every j
    kb, jj = np.nonzero(mb)            # B[k, j] ≠ 0  →  C[i, j] depends on A[i, k] for every i
    j_all, i_all = np.arange(m), np.arange(n)
    out_b = po[..., ii[:, None], j_all[None, :]].reshape(batch + (-1,))
    in_b = pb[..., kk[:, None], j_all[None, :]].reshape(batch + (-1,))
    out_a = po[..., i_all[:, None], jj[None, :]].reshape(batch + (-1,))
    in_a = pa[..., i_all[:, None], kb[None, :]].reshape(batch + (-1,))
    return [(out_a.ravel(), in_a.ravel()), (out_b.ravel(), in_b.ravel())], exact


def _prod_rule(in_shapes, consts, out_shape, axis, keepdims):
    return reduction_maps(in_shapes, consts, out_shape, axis=axis, keepdims=keepdims)


_matmul_rule.exactness = "exact; superset, flagged, for a constant stack of several matrices"
_solve_rule_exactness = "superset, flagged: dense within each matrix"

_RULES = {
    reshape: _gather(lambda x, shape: np.reshape(x, shape)),
    transpose: _gather(lambda x, axes: np.transpose(x, axes)),
    broadcast_to: _gather(lambda x, shape: np.broadcast_to(x, shape)),
    getitem: _gather(lambda x, idx: x[idx]),
    permute_along_axis: None,  # filled below: the permutation is an argument
    concatenate: _concatenate_rule,
    sum_to: _sum_to_rule,
    scatter: _scatter_rule,
    add_at: _add_at_rule,
    cumsum: _cumsum_rule,
    cumprod: _cumsum_rule,
    select: _select_rule,
    matmul: _matmul_rule,
    reduce_prod: _prod_rule,
}


def _permute_rule(in_shapes, consts, out_shape, axis):
    perm = consts[1]
    if perm is None:  # a traced permutation: every entry along the axis may land anywhere on it
        shape = tuple(in_shapes[0])
        pos = np.moveaxis(positions(shape), axis, -1)
        n = shape[axis]
        i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        return [(pos[..., i.ravel()].ravel(), pos[..., j.ravel()].ravel()), None]
    src = np.take_along_axis(positions(in_shapes[0]), np.asarray(perm), axis=axis).ravel()
    return [(np.arange(src.size, dtype=np.int64), src), None]


_RULES[permute_along_axis] = _permute_rule


def along_axis_maps(in_shape, out_shape, axis) -> tuple:
    """out[..., k, ...] depends on x[..., j, ...] for every j and k along `axis`, entry to entry
    across the other axes (their lengths agree; the axis's own length may change)."""
    pin = np.moveaxis(positions(in_shape), axis, -1)
    pout = np.moveaxis(positions(out_shape), axis, -1)
    o, i = np.broadcast_arrays(pout[..., :, None], pin[..., None, :])
    return o.ravel(), i.ravel()


def _fft_rule(in_shapes, consts, out_shape, axis, **params):
    """A 1-D DFT along axis: every bin depends on every sample of its line (the DFT matrix has no
    zero entry, and neither has irfft's), and on nothing across the other axes. Exact."""
    return [along_axis_maps(tuple(in_shapes[0]), tuple(out_shape), axis)]


def _batch_blocks(in_shape, core_in: int, out_shape, core_out: int) -> tuple:
    """Each output block (the last core_out axes) depends on the whole input block (the last
    core_in axes) of the same batch index, the batch axes broadcasting."""
    in_shape, out_shape = tuple(in_shape), tuple(out_shape)
    out_batch = out_shape[:len(out_shape) - core_out]
    in_batch = in_shape[:len(in_shape) - core_in]
    pin = positions(in_shape).reshape((1,) * (len(out_batch) - len(in_batch)) + in_batch + (-1,))
    pin = np.broadcast_to(pin, out_batch + pin.shape[-1:])
    pout = positions(out_shape).reshape(out_batch + (-1,))
    o, i = np.broadcast_arrays(pout[..., :, None], pin[..., None, :])
    return o.ravel(), i.ravel()


def _matrix_function(core_out: int):
    """A function of each matrix of a stack (inv, det, cholesky, eigenvalues, ...): every output
    entry of a matrix may depend on every entry of that matrix, none across the stack. A superset
    (flagged) where the matrices have structural zeros (a triangular or block matrix)."""
    def rule(in_shapes, consts, out_shape, **params):
        return [_batch_blocks(in_shapes[0], 2, out_shape, core_out)] + [None] * (len(in_shapes) - 1), False
    rule.exactness = "superset, flagged: dense within each matrix"
    return rule


def _solve_rule(in_shapes, consts, out_shape):
    """X = A⁻¹ B over stacks: X[..., :, c] depends on all of A's matrix and on B's column c only."""
    sb, so = tuple(in_shapes[1]), tuple(out_shape)
    cols_b = np.moveaxis(positions(sb), -1, -2)  # (..., k, n): column c's entries on the last axis
    cols_o = np.moveaxis(positions(so), -1, -2)
    lead = (1,) * (len(so) - len(sb))
    cols_b = np.broadcast_to(cols_b.reshape(lead + cols_b.shape), cols_o.shape[:-1] + cols_b.shape[-1:])
    o, i = np.broadcast_arrays(cols_o[..., :, None], cols_b[..., None, :])
    return [_batch_blocks(in_shapes[0], 2, so, 2), (o.ravel(), i.ravel())], False


def _scatter_extremum_rule(in_shapes, consts, out_shape, idx):
    """x.at[idx].min / .max (v): out[p] depends on x[p] and on every entry of v sent to p. Exact."""
    return _add_at_rule(in_shapes, consts, out_shape, idx)


_solve_rule.exactness = _solve_rule_exactness

_MORE_RULES = {
    fft: _fft_rule, rfft: _fft_rule, irfft: _fft_rule,
    scatter_min: _scatter_extremum_rule, scatter_max: _scatter_extremum_rule,
    inv: _matrix_function(2), pinv: _matrix_function(2), cholesky: _matrix_function(2), det: _matrix_function(0),
    eigvalsh: _matrix_function(1), eigvals: _matrix_function(1), svdvals: _matrix_function(1),
    solve: _solve_rule,
}
_RULES.update(_MORE_RULES)
# entry-to-entry functions (after broadcasting) that carry no elementwise/broadcasting trait
for _prim in [*ewx.UNARY_EXTRA.values(), *ewx.BINARY_EXTRA.values(), ewx.clip, ewx.complex_, ewx.nan_to_num]:
    _RULES.setdefault(_prim, broadcast_maps)

for _prim, _rule in _RULES.items():
    if _prim.sparsity is None:
        _prim.sparsity = _rule
