"""Sparse Jacobians and Hessians: sparsity detection, graph colouring, compressed evaluation.

1. Detection. `jacobian_sparsity(f, *args)` stages f (`make_graph`) and propagates, equation by
   equation, a boolean dependency matrix D_v (entries of v × entries of the inputs): for an
   equation out = prim(ins), D_out = Σᵢ Mᵢ D_insᵢ with Mᵢ the primitive's structural map (its
   ``sparsity`` hook, a rule derived from its traits, or, without either, all-ones: conservative).
   `hessian_sparsity` is the symmetrised pattern of the Jacobian of grad f.
2. Colouring. Columns j, k of J may share a colour when no row has both (a distance-1 colouring of
   the column intersection graph JᵀJ); rows likewise for reverse mode (JJᵀ); for a symmetric
   Hessian a star colouring (every path on four vertices uses three colours) lets every entry be
   read directly from H S. Orderings: natural, largest-first, smallest-last; and DSATUR. The loops
   run compiled by numba when it is importable and the graph is large, else in Python (same result).
3. Evaluation. J S (one vmapped jvp over the c colour seeds) or Sᵀ J (one vmapped vjp), or H S
   (vmapped forward-over-reverse hvp); each nonzero is then read from its colour's column. The
   compressed evaluation can be staged: ``pb.jit(SparseJacobian(...))`` traces it once.

Patterns and results are scipy.sparse CSR matrices; without SciPy they are `SparseCOO` triples
(rows, cols, values, shape), computed by the same code with NumPy set operations.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from .api import grad, jvp, vjp
from .core.ir import Var
from .core.trace import Tracer
from .errors import PullbackError
from .jit import make_graph
from .primitives import _sparsity_index as index_rules
from .primitives import sparsity_rules as rules
from .tree_util import register_pytree_node
from .vmap import vmap

__all__ = [
    "SparseCOO", "SparseHessian", "SparseJacobian", "Sparsity", "color_columns", "color_rows", "hessian_sparsity",
    "jacobian_sparsity", "sparse_hessian", "sparse_jacfwd", "sparse_jacobian", "sparse_jacrev", "star_coloring",
]


class SparseError(PullbackError, ValueError):
    """A sparse-derivative request that cannot be served (a bad pattern, colouring, mode or method)."""


def _scipy_sparse():
    """scipy.sparse, or None when SciPy is not installed (then results are SparseCOO triples)."""
    try:
        import scipy.sparse as sp
    except ImportError:
        return None
    return sp


class SparseCOO(NamedTuple):
    """A sparse matrix as a coordinate triple: ``values[k]`` sits at ``(rows[k], cols[k])``.

    What sparse patterns and results are when SciPy is absent (with SciPy they are CSR matrices).
    Entries are sorted by row, then column, without duplicates. ``toarray()`` gives the dense
    matrix, ``nnz`` the number of stored entries; ``scipy.sparse.coo_matrix((values, (rows, cols)),
    shape)`` converts it.

    Examples
    --------
    >>> import numpy as onp
    >>> from pullback.sparse import SparseCOO
    >>> a = SparseCOO(onp.array([0, 1]), onp.array([1, 0]), onp.array([2.0, 3.0]), (2, 2))
    >>> a.nnz, a.toarray()
    (2, array([[0., 2.],
           [3., 0.]]))
    """

    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    shape: tuple

    @property
    def nnz(self) -> int:
        return int(self.rows.size)

    def toarray(self) -> np.ndarray:
        out = np.zeros(self.shape, dtype=np.asarray(self.values).dtype)
        out[self.rows, self.cols] = self.values
        return out


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    """The distinct values of an integer array, ascending (a sort and a comparison: faster here
    than np.unique's hashing)."""
    a = np.sort(a)
    if a.size:
        a = a[np.concatenate(([True], a[1:] != a[:-1]))]
    return a


class _Pat:
    """A boolean sparsity pattern in CSR form (sorted, unique column indices per row), NumPy only.

    The products and unions used by detection and colouring run through scipy.sparse when it is
    installed (faster) and through NumPy sorting otherwise; both give the same pattern.
    """

    __slots__ = ("indptr", "indices", "shape")

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, shape: tuple):
        self.indptr, self.indices, self.shape = indptr, indices, (int(shape[0]), int(shape[1]))

    @property
    def nnz(self) -> int:
        return int(self.indices.size)

    def rows(self) -> np.ndarray:
        return np.repeat(np.arange(self.shape[0], dtype=np.int64), np.diff(self.indptr))

    @classmethod
    def from_pairs(cls, rows, cols, shape) -> _Pat:
        rows, cols = np.asarray(rows, np.int64).ravel(), np.asarray(cols, np.int64).ravel()
        keys = _sorted_unique(rows * max(int(shape[1]), 1) + cols)
        r, c = np.divmod(keys, max(int(shape[1]), 1))
        indptr = np.zeros(int(shape[0]) + 1, np.int64)
        np.cumsum(np.bincount(r, minlength=int(shape[0])), out=indptr[1:])
        return cls(indptr, c, shape)

    @classmethod
    def from_scipy(cls, m, copy: bool = False) -> _Pat:
        m = m.tocsr(copy=copy)
        m.sum_duplicates()  # canonical: sorted indices, no duplicates
        m.eliminate_zeros()
        return cls(m.indptr.astype(np.int64), m.indices.astype(np.int64), m.shape)

    @classmethod
    def of(cls, pattern: Any, shape: tuple | None = None) -> _Pat:
        """A pattern from a Sparsity, scipy.sparse matrix, SparseCOO, (rows, cols) pair or dense array."""
        if isinstance(pattern, Sparsity):
            return pattern._pat
        if isinstance(pattern, _Pat):
            return pattern
        if isinstance(pattern, SparseCOO):
            nz = np.asarray(pattern.values) != 0
            return cls.from_pairs(pattern.rows[nz], pattern.cols[nz], pattern.shape)
        if isinstance(pattern, tuple) and len(pattern) == 2:
            if shape is None:
                raise SparseError("a (rows, cols) pattern needs the matrix shape")
            rows, cols = (np.asarray(a, np.int64) for a in pattern)
            if rows.size and (rows.min() < 0 or cols.min() < 0 or rows.max() >= shape[0] or cols.max() >= shape[1]):
                raise SparseError(f"the (rows, cols) pattern has an index outside the Jacobian's shape {shape}")
            return cls.from_pairs(rows, cols, shape)
        if hasattr(pattern, "tocsr"):
            return cls.from_scipy(pattern, copy=True)
        a = np.asarray(pattern)
        if a.ndim != 2:
            raise SparseError(f"a sparsity pattern must be a 2-D matrix, got an array of shape {a.shape}")
        r, c = np.nonzero(a)
        return cls.from_pairs(r, c, a.shape)

    def to_scipy(self, sp, values=None):
        vals = np.ones(self.nnz, bool) if values is None else np.asarray(values)
        return sp.csr_matrix((vals, self.indices.copy(), self.indptr.copy()), shape=self.shape)

    def output(self, values=None):
        """CSR (SciPy) or SparseCOO holding values (True when None) in this pattern's storage order."""
        sp = _scipy_sparse()
        if sp is not None:
            return self.to_scipy(sp, values)
        vals = np.ones(self.nnz, bool) if values is None else np.asarray(values)
        return SparseCOO(self.rows(), self.indices.copy(), vals, self.shape)

    @property
    def T(self) -> _Pat:
        sp = _scipy_sparse()
        if sp is not None:
            return _Pat.from_scipy(self.to_scipy(sp).T.tocsr())
        return _Pat.from_pairs(self.indices, self.rows(), (self.shape[1], self.shape[0]))

    def union(self, other: _Pat) -> _Pat:
        return _Pat.from_pairs(np.concatenate([self.rows(), other.rows()]),
                               np.concatenate([self.indices, other.indices]), self.shape)

    def without_diagonal(self) -> _Pat:
        r = self.rows()
        keep = r != self.indices
        return _Pat.from_pairs(r[keep], self.indices[keep], self.shape)

    def __getitem__(self, rows: slice) -> _Pat:
        """The rows in a slice (step 1)."""
        start, stop, step = rows.indices(self.shape[0])
        if step != 1:
            raise SparseError("a dependency pattern takes row slices of step 1")
        stop = max(stop, start)
        lo, hi = self.indptr[start], self.indptr[stop]
        return _Pat(self.indptr[start:stop + 1] - lo, self.indices[lo:hi], (stop - start, self.shape[1]))

    def toarray(self) -> np.ndarray:
        out = np.zeros(self.shape, bool)
        out[self.rows(), self.indices] = True
        return out


def _pairs_times(rows, cols, shape, d: _Pat) -> tuple:
    """The pairs of M D for M given by (rows, cols) of `shape` (NumPy): row r of M D is the union of
    D's rows c over M's entries (r, c)."""
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    counts = d.indptr[cols + 1] - d.indptr[cols]
    total = int(counts.sum())
    starts = np.repeat(d.indptr[cols] - np.cumsum(counts) + counts, counts)
    return np.repeat(rows, counts), d.indices[starts + np.arange(total, dtype=np.int64)]


def _gathered(rows, cols, shape, d: _Pat) -> _Pat | None:
    """M D when M picks one row of D per output row in order (rows = 0, 1, ..., n_out − 1: an
    index-moving or entry-to-entry map), else None. The result is canonical without sorting."""
    n = shape[0]
    if len(rows) != n or not np.array_equal(rows, np.arange(n, dtype=np.int64)):
        return None
    cols = np.asarray(cols, np.int64)
    if shape[1] == n and np.array_equal(cols, rows):
        return d  # the identity (patterns are never modified in place: sharing is safe)
    counts = d.indptr[cols + 1] - d.indptr[cols]
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=indptr[1:])
    starts = np.repeat(d.indptr[cols] - indptr[:-1], counts)
    return _Pat(indptr, d.indices[starts + np.arange(indptr[-1], dtype=np.int64)], (n, d.shape[1]))


def _sum_of_products(terms: list, shape: tuple) -> _Pat:
    """The pattern of Σ Mₖ Dₖ, for terms (rows, cols, shape of M, D) with M given by its pairs."""
    parts, general = [], []
    for t in terms:
        g = _gathered(*t)
        if g is None:
            general.append(t)
        else:
            parts.append(g)
    if not general and len(parts) == 1:
        return parts[0]
    sp = _scipy_sparse()
    if sp is not None:
        mats = [g.to_scipy(sp, np.ones(g.nnz)) for g in parts]
        for r, c, mshape, d in general:
            m = sp.csr_matrix((np.ones(len(r)), (r, c)), shape=mshape)
            mats.append(m @ d.to_scipy(sp, np.ones(d.nnz)))
        total = mats[0] if mats else sp.csr_matrix(shape, dtype=np.float64)
        for m in mats[1:]:
            total = total + m
        return _Pat.from_scipy(total)
    pairs = [_pairs_times(r, c, mshape, d) for r, c, mshape, d in general] + [(g.rows(), g.indices) for g in parts]
    return _Pat.from_pairs(np.concatenate([np.zeros(0, np.int64)] + [a for a, _ in pairs]),
                           np.concatenate([np.zeros(0, np.int64)] + [b for _, b in pairs]), shape)


def _gram(p: _Pat, axis: int) -> _Pat:
    """The intersection graph without loops: columns sharing a row (axis=1, PᵀP) or rows sharing a
    column (axis=0, PPᵀ)."""
    sp = _scipy_sparse()
    if sp is not None:
        a = p.to_scipy(sp).astype(np.float64)
        g = sp.csr_matrix((a.T @ a) if axis == 1 else (a @ a.T))
        g.setdiag(0)
        g.eliminate_zeros()
        return _Pat.from_scipy(g)
    q = p.T if axis == 0 else p  # pairs of entries within a row of q
    r, c = _pairs_times(q.indices, q.rows(), (q.shape[1], q.shape[0]), q)
    return _Pat.from_pairs(r, c, (q.shape[1], q.shape[1])).without_diagonal()


def _is_symmetric(p: _Pat) -> bool:
    if p.shape[0] != p.shape[1]:
        return False
    t = p.T
    return bool(np.array_equal(p.indptr, t.indptr) and np.array_equal(p.indices, t.indices))


def _symmetric_graph(p: _Pat) -> _Pat:
    return p.union(p.T).without_diagonal()


# ----------------------------------------------------------------------------- detection


class Sparsity:
    """A detected sparsity pattern.

    Attributes: ``pattern`` (outputs × inputs, flattened and concatenated in pytree order: a bool
    scipy.sparse CSR matrix, or a `SparseCOO` without SciPy), ``exact`` (False when some
    primitive's rule was a superset) and ``conservative`` (the names of those primitives); ``shape``
    and ``nnz``.

    Examples
    --------
    >>> import numpy as onp, pullback as pb, pullback.numpy as np
    >>> s = pb.jacobian_sparsity(lambda x: x[1:] * x[:-1], onp.ones(4))
    >>> s
    Sparsity(shape=(3, 4), nnz=6, exact=True)
    """

    def __init__(self, pattern: Any, conservative: Sequence[str]):
        self._pat = _Pat.of(pattern)
        self.pattern = self._pat.output()
        self.conservative = tuple(sorted(set(conservative)))
        self.exact = not self.conservative

    @property
    def shape(self) -> tuple:
        return self._pat.shape

    @property
    def nnz(self) -> int:
        return self._pat.nnz

    def __repr__(self) -> str:
        extra = "" if self.exact else f", conservative for {list(self.conservative)}"
        return f"Sparsity(shape={self.shape}, nnz={self.nnz}, exact={self.exact}{extra})"


def _size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _maps_for(prim, in_shapes, consts, out_shape, params):
    """(maps, exact): the structural maps of one equation, from its hook or its traits; None if neither."""
    if not prim.differentiable:
        return [None] * len(in_shapes), True
    rule = prim.sparsity
    if rule is None:
        if prim.elementwise or prim.broadcasting:  # entry to entry, after broadcasting
            rule = rules.broadcast_maps
        elif prim.reduction:
            rule = rules.reduction_maps
        else:
            return None, False
    res = rule(in_shapes, consts, out_shape, **params)
    if res is None:  # the rule does not cover these arguments: conservative
        return None, False
    maps, exact = res if isinstance(res, tuple) else (res, True)
    if prim.jvps is not None:  # arguments with no derivative rule carry no dependency
        maps = [None if r is None else m for m, r in zip(maps, prim.jvps)]
    return maps, exact


def _dense_rows(n_rows: int, cols: np.ndarray, n_cols: int) -> _Pat:
    """n_rows rows, each holding the columns cols."""
    cols = np.asarray(cols, np.int64)
    indptr = np.arange(n_rows + 1, dtype=np.int64) * cols.size
    return _Pat(indptr, np.tile(cols, n_rows), (n_rows, n_cols))


def _propagate(graph, n_in_cols: int, in_deps: list) -> tuple:
    env: dict = dict(zip(graph.in_vars, in_deps))
    conservative: list[str] = []

    for e in graph.eqns:
        in_shapes = [tuple(a.aval.shape) if isinstance(a, Var) else tuple(np.shape(a.value)) for a in e.ins]
        consts = [None if isinstance(a, Var) else a.value for a in e.ins]
        ins_d = [env.get(a) for a in e.ins]
        if all(d is None for d in ins_d):
            continue  # constants only: no dependency
        outs = e.outs
        if getattr(e.prim.sparsity, "through_subgraphs", False):  # a loop or branch: through its body
            out_ds, inner = e.prim.sparsity(_SubgraphDeps(n_in_cols), ins_d, in_shapes, **e.params)
            if out_ds is not None:
                conservative += inner
                env.update(zip(outs, out_ds))
                continue
        res = None if e.prim.multiple_results else _maps_for(e.prim, in_shapes, consts, tuple(outs[0].aval.shape),
                                                              e.params)
        if res is None or res[0] is None:
            conservative.append(e.prim.name)
            union = _sorted_unique(np.concatenate([d.indices for d in ins_d if d is not None]))
            for o in outs:
                env[o] = _dense_rows(_size(o.aval.shape), union, n_in_cols)
            continue
        maps, exact = res
        if not exact:
            conservative.append(e.prim.name)
        n_out = _size(outs[0].aval.shape)
        terms = [(m[0], m[1], (n_out, _size(s)), d) for d, m, s in zip(ins_d, maps, in_shapes)
                 if d is not None and m is not None]
        env[outs[0]] = _sum_of_products(terms, (n_out, n_in_cols))
    return env, conservative


class _SubgraphDeps:
    """What the sparsity rule of a higher-order primitive (``rule.through_subgraphs = True``) is given:
    ``rule(deps, in_deps, in_shapes, **params) -> (out_deps or None, conservative names)``, with
    dependency patterns (rows: entries, columns: the function's inputs; ``.nnz``, row slices
    ``d[a:b]``) propagated through sub-graphs."""

    def __init__(self, n_in_cols: int):
        self.n = n_in_cols

    def zeros(self, rows: int) -> _Pat:
        return _Pat(np.zeros(rows + 1, np.int64), np.zeros(0, np.int64), (rows, self.n))

    def through(self, graph, in_deps: list) -> tuple[list, list]:
        """The dependency patterns of a sub-graph's outputs given its inputs' (None: a constant)."""
        in_deps = [self.zeros(_size(v.aval.shape)) if d is None else d for v, d in zip(graph.in_vars, in_deps)]
        env, conservative = _propagate(graph, self.n, in_deps)
        outs = []
        for o in graph.outs:
            d = env.get(o)
            outs.append(d if d is not None else self.zeros(_size(o.aval.shape) if isinstance(o, Var)
                                                           else _size(np.shape(o.value))))
        return outs, conservative

    def stack(self, mats: list) -> _Pat:
        if not mats:
            return self.zeros(0)
        offsets = np.cumsum([0] + [m.nnz for m in mats[:-1]])
        indptr = np.concatenate([np.zeros(1, np.int64)] + [m.indptr[1:] + o for m, o in zip(mats, offsets)])
        return _Pat(indptr, np.concatenate([m.indices for m in mats]), (sum(m.shape[0] for m in mats), self.n))

    def union(self, a: _Pat, b: _Pat) -> _Pat:
        return a.union(b)

    def same(self, a: _Pat, b: _Pat) -> bool:
        return a.shape == b.shape and np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)


def _out_deps(graph, env, n_in_cols) -> _Pat:
    if len(graph.outs) == 1 and env.get(graph.outs[0]) is not None:
        return env[graph.outs[0]]
    rows, cols, offset = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], 0
    for o in graph.outs:
        n = _size(o.aval.shape) if isinstance(o, Var) else _size(np.shape(o.value))
        d = env.get(o)
        if d is not None:
            rows.append(d.rows() + offset)
            cols.append(d.indices)
        offset += n
    return _Pat.from_pairs(np.concatenate(rows), np.concatenate(cols), (offset, n_in_cols))


def jacobian_sparsity(fun: Callable, *args: Any) -> Sparsity:
    """The structural sparsity pattern of the Jacobian of fun at args (shapes matter, values don't).

    P[i, j] is True when output entry i may depend on input entry j, found by propagating dependency
    matrices through ``make_graph(fun)``: D_out = Σᵢ Mᵢ D_inᵢ per equation, Mᵢ from the primitive's
    ``sparsity`` rule, its traits, or (conservative) all-ones.

    Parameters
    ----------
    fun : callable
        A function of arrays (any pytree) returning arrays.
    *args
        Example arguments (their shapes and dtypes are used).

    Returns
    -------
    Sparsity
        ``.pattern`` (bool CSR, or SparseCOO without SciPy; rows: outputs flattened and
        concatenated, columns: inputs), ``.exact`` (the pattern equals the generic nonzeros when
        True; a superset otherwise) and ``.conservative``.

    Examples
    --------
    >>> import numpy as onp, pullback as pb, pullback.numpy as np
    >>> pb.jacobian_sparsity(lambda x: np.cumsum(x), onp.ones(3)).pattern.toarray().astype(int)
    array([[1, 0, 0],
           [1, 1, 0],
           [1, 1, 1]])
    """
    graph = make_graph(fun, *args)
    sizes = [_size(v.aval.shape) for v in graph.in_vars]
    n = int(sum(sizes))
    offsets = np.cumsum([0] + sizes)
    in_deps = [_Pat(np.arange(s + 1, dtype=np.int64), np.arange(o, o + s, dtype=np.int64), (s, n))
               for s, o in zip(sizes, offsets)]
    env, conservative = _propagate(graph, n, in_deps)
    return Sparsity(_out_deps(graph, env, n), conservative)


def hessian_sparsity(fun: Callable, *args: Any) -> Sparsity:
    """The structural pattern of the Hessian of a scalar fun of one array.

    The Jacobian pattern of ∇f (a superset of the Hessian's nonzeros), symmetrised: P ∨ Pᵀ.

    Parameters
    ----------
    fun : callable
        A scalar function of one array.
    *args
        One example array.

    Returns
    -------
    Sparsity
        The pattern (n × n over x.ravel()), with ``.exact`` as for jacobian_sparsity.

    Raises
    ------
    SparseError
        More than one argument.

    Examples
    --------
    >>> import numpy as onp, pullback as pb, pullback.numpy as np
    >>> pb.hessian_sparsity(lambda x: np.sum(x[1:] * x[:-1]), onp.ones(3)).pattern.toarray().astype(int)
    array([[0, 1, 0],
           [1, 0, 1],
           [0, 1, 0]])
    """
    if len(args) != 1:
        raise SparseError("hessian_sparsity takes one array argument; pack several into one array")
    s = jacobian_sparsity(grad(fun), *args)
    return Sparsity(s._pat.union(s._pat.T), s.conservative)


# ----------------------------------------------------------------------------- colouring
#
# Each colouring loop exists twice: compiled by numba (when importable, for graphs of at least
# NUMBA_MIN_VERTICES vertices: below that the compile time outweighs the gain) and in plain Python.
# Both visit vertices in the same order and break ties the same way, so they give the same colours.

NUMBA_MIN_VERTICES = 20_000
_KERNELS: Any = None


def _kernels(n: int):
    """The numba-compiled colouring loops, or None (numba missing, or a small graph)."""
    global _KERNELS
    if n < NUMBA_MIN_VERTICES:
        return None
    if _KERNELS is None:
        try:
            import numba
        except ImportError:
            _KERNELS = False
        else:
            _KERNELS = _compile_kernels(numba)
    return _KERNELS or None


def _compile_kernels(numba) -> dict:
    njit = numba.njit(cache=False, nogil=True)

    @njit
    def heap_push(heap, size, key):
        i = size
        heap[i] = key
        while i > 0:
            parent = (i - 1) // 2
            if heap[parent] <= heap[i]:
                break
            heap[parent], heap[i] = heap[i], heap[parent]
            i = parent
        return size + 1

    @njit
    def heap_pop(heap, size):
        top = heap[0]
        size -= 1
        heap[0] = heap[size]
        i = 0
        while True:
            left, right, small = 2 * i + 1, 2 * i + 2, i
            if left < size and heap[left] < heap[small]:
                small = left
            if right < size and heap[right] < heap[small]:
                small = right
            if small == i:
                break
            heap[small], heap[i] = heap[i], heap[small]
            i = small
        return top, size

    @njit
    def greedy(indptr, indices, order):
        n = indptr.size - 1
        color = np.full(n, -1, np.int64)
        mark = np.full(n + 1, -1, np.int64)
        for v in order:
            for p in range(indptr[v], indptr[v + 1]):
                c = color[indices[p]]
                if c >= 0:
                    mark[c] = v
            c = 0
            while mark[c] == v:
                c += 1
            color[v] = c
        return color

    @njit
    def smallest_last(indptr, indices):
        n = indptr.size - 1
        d = (indptr[1:] - indptr[:-1]).astype(np.int64)
        removed = np.zeros(n, np.bool_)
        heap = np.empty(n + indices.size + 1, np.int64)
        size = 0
        for v in range(n):
            size = heap_push(heap, size, d[v] * n + v)
        out = np.empty(n, np.int64)
        k = 0
        while size > 0:
            key, size = heap_pop(heap, size)
            dv, v = key // n, key % n
            if removed[v] or dv != d[v]:
                continue
            removed[v] = True
            out[k] = v
            k += 1
            for p in range(indptr[v], indptr[v + 1]):
                w = indices[p]
                if not removed[w]:
                    d[w] -= 1
                    size = heap_push(heap, size, d[w] * n + w)
        return out[::-1].copy()

    @njit
    def dsatur(indptr, indices):
        n = indptr.size - 1
        deg = (indptr[1:] - indptr[:-1]).astype(np.int64)
        big = deg.max() + 1 if n else 1
        color = np.full(n, -1, np.int64)
        sat = np.zeros(n, np.int64)
        mark = np.full(n + 1, -1, np.int64)
        heap = np.empty(n + indices.size + 1, np.int64)
        size = 0
        for v in range(n):
            size = heap_push(heap, size, ((big - 0) * (big + 1) + (big - deg[v])) * n + v)
        while size > 0:
            key, size = heap_pop(heap, size)
            v = key % n
            s = big - (key // n) // (big + 1)
            if color[v] >= 0 or s != sat[v]:
                continue
            for p in range(indptr[v], indptr[v + 1]):
                cw = color[indices[p]]
                if cw >= 0:
                    mark[cw] = v
            c = 0
            while mark[c] == v:
                c += 1
            color[v] = c
            for p in range(indptr[v], indptr[v + 1]):
                w = indices[p]
                if color[w] >= 0:
                    continue
                seen = False  # does w already neighbour colour c (other than through v)?
                for q in range(indptr[w], indptr[w + 1]):
                    x = indices[q]
                    if x != v and color[x] == c:
                        seen = True
                        break
                if not seen:
                    sat[w] += 1
                    size = heap_push(heap, size, ((big - sat[w]) * (big + 1) + (big - deg[w])) * n + w)
        return color

    @njit
    def star(indptr, indices, order):
        n = indptr.size - 1
        color = np.full(n, -1, np.int64)
        mark = np.full(n + 1, -1, np.int64)
        for v in order:
            for p in range(indptr[v], indptr[v + 1]):
                w = indices[p]
                cw = color[w]
                if cw >= 0:
                    mark[cw] = v
                for q in range(indptr[w], indptr[w + 1]):
                    x = indices[q]
                    cx = color[x]
                    if x == v or cx < 0 or mark[cx] == v:
                        continue
                    if cw < 0:
                        mark[cx] = v
                    else:
                        for r in range(indptr[x], indptr[x + 1]):
                            y = indices[r]
                            if y != w and color[y] == cw:
                                mark[cx] = v
                                break
            c = 0
            while mark[c] == v:
                c += 1
            color[v] = c
        return color

    return {"greedy": greedy, "smallest_last": smallest_last, "dsatur": dsatur, "star": star}


def _order(indptr, indices, ordering: str) -> np.ndarray:
    n = len(indptr) - 1
    deg = np.diff(indptr)
    if ordering == "natural":
        return np.arange(n, dtype=np.int64)
    if ordering == "largest_first":
        return np.argsort(-deg, kind="stable").astype(np.int64)
    if ordering == "smallest_last":  # repeatedly remove a vertex of least remaining degree; colour in reverse
        k = _kernels(n)
        if k is not None:
            return k["smallest_last"](indptr, indices)
        d = deg.astype(np.int64).copy()
        removed = np.zeros(n, bool)
        heap = [(int(d[v]), v) for v in range(n)]
        heapq.heapify(heap)
        out = []
        while heap:
            dv, v = heapq.heappop(heap)
            if removed[v] or dv != d[v]:
                continue
            removed[v] = True
            out.append(v)
            for w in indices[indptr[v]:indptr[v + 1]]:
                if not removed[w]:
                    d[w] -= 1
                    heapq.heappush(heap, (int(d[w]), int(w)))
        return np.array(out[::-1], np.int64)
    raise SparseError(f"unknown ordering {ordering!r}; use 'natural', 'largest_first' or 'smallest_last'")


def _smallest_free(used: set) -> int:
    """The least colour (0, 1, ...) not in used."""
    c = 0
    while c in used:
        c += 1
    return c


def _greedy(indptr, indices, order) -> np.ndarray:
    k = _kernels(len(indptr) - 1)
    if k is not None:
        return k["greedy"](indptr, indices, order)
    color = np.full(len(indptr) - 1, -1, np.int64)
    for v in order:
        color[v] = _smallest_free({int(c) for c in color[indices[indptr[v]:indptr[v + 1]]] if c >= 0})
    return color


def _dsatur(indptr, indices) -> np.ndarray:
    """Brélaz's DSATUR: colour next the vertex with the most distinct neighbour colours (ties: the
    larger degree, then the smaller index)."""
    n = len(indptr) - 1
    k = _kernels(n)
    big = int(np.diff(indptr).max(initial=0)) + 1
    if k is not None and (big + 1) ** 2 * n < 2 ** 62:  # the kernel's heap keys fit in int64
        return k["dsatur"](indptr, indices)
    deg = np.diff(indptr)
    color = np.full(n, -1, np.int64)
    seen: list[set] = [set() for _ in range(n)]
    heap = [(0, -int(deg[v]), v) for v in range(n)]
    heapq.heapify(heap)
    while heap:
        negsat, negdeg, v = heapq.heappop(heap)
        if color[v] >= 0 or -negsat != len(seen[v]):
            continue
        c = color[v] = _smallest_free(seen[v])
        for w in indices[indptr[v]:indptr[v + 1]]:
            if color[w] < 0 and c not in seen[w]:
                seen[w].add(c)
                heapq.heappush(heap, (-len(seen[w]), -int(deg[w]), int(w)))
    return color


def _color(g: _Pat, method: str) -> np.ndarray:
    if method == "dsatur":
        return _dsatur(g.indptr, g.indices)
    return _greedy(g.indptr, g.indices, _order(g.indptr, g.indices, method))


def color_columns(pattern: Any, method: str = "dsatur") -> np.ndarray:
    """A colour per column such that no two columns of one colour share a row.

    A distance-1 colouring of the column intersection graph PᵀP, for forward mode: J S with
    S[j, c] = [colour(j) = c] holds every nonzero of J exactly once.

    Parameters
    ----------
    pattern : scipy.sparse matrix, SparseCOO, Sparsity or array
        The sparsity pattern (nonzeros are structural).
    method : str, optional
        'dsatur' (default), or greedy in 'largest_first', 'smallest_last' or 'natural' vertex order.

    Returns
    -------
    numpy.ndarray
        The colour (0, 1, ...) of each column.

    Examples
    --------
    >>> import numpy as onp, pullback as pb, pullback.numpy as np
    >>> pb.color_columns(onp.eye(4) + onp.eye(4, k=1) + onp.eye(4, k=-1))
    array([2, 0, 1, 2])
    """
    return _color(_gram(_Pat.of(pattern), 1), method)


def color_rows(pattern: Any, method: str = "dsatur") -> np.ndarray:
    """A colour per row such that no two rows of one colour share a column (for reverse mode, Sᵀ J).

    Parameters
    ----------
    pattern : scipy.sparse matrix, SparseCOO, Sparsity or array
        The sparsity pattern.
    method : str, optional
        As for color_columns.

    Returns
    -------
    numpy.ndarray
        The colour of each row.

    Examples
    --------
    >>> import numpy as onp, pullback as pb, pullback.numpy as np
    >>> pb.color_rows(onp.array([[1, 1, 1], [0, 1, 0], [0, 0, 1]]))
    array([0, 1, 1])
    """
    return _color(_gram(_Pat.of(pattern), 0), method)


def star_coloring(pattern: Any, ordering: str = "largest_first") -> np.ndarray:
    """A star colouring of a symmetric pattern's adjacency graph, for sparse Hessians.

    Greedy, after Gebremedhin, Manne and Pothen: distance-1, and no path on four vertices with only
    two colours, so every entry H[i, j] is read directly from H S (at row i in colour(j)'s column, or
    at row j in colour(i)'s).

    Parameters
    ----------
    pattern : scipy.sparse matrix, SparseCOO, Sparsity or array
        The (symmetrised) pattern; the diagonal is ignored.
    ordering : str, optional
        Vertex order: 'largest_first' (default), 'smallest_last' or 'natural'.

    Returns
    -------
    numpy.ndarray
        The colour of each vertex.

    Examples
    --------
    >>> import numpy as onp, pullback as pb
    >>> arrow = onp.eye(5); arrow[0, :] = arrow[:, 0] = 1
    >>> pb.star_coloring(arrow)
    array([0, 1, 1, 1, 1])
    """
    g = _symmetric_graph(_Pat.of(pattern))
    indptr, indices = g.indptr, g.indices
    n = len(indptr) - 1
    order = _order(indptr, indices, ordering)
    k = _kernels(n)
    if k is not None:
        return k["star"](indptr, indices, order)
    color = np.full(n, -1, np.int64)
    for v in order:
        forbidden = set()
        for w in indices[indptr[v]:indptr[v + 1]]:
            cw = color[w]
            if cw >= 0:
                forbidden.add(int(cw))
            for x in indices[indptr[w]:indptr[w + 1]]:
                cx = color[x]
                if x == v or cx < 0 or cx in forbidden:
                    continue
                if cw < 0:
                    forbidden.add(int(cx))  # v and x would both neighbour w with one colour
                else:
                    for y in indices[indptr[x]:indptr[x + 1]]:
                        if y != w and color[y] == cw:
                            forbidden.add(int(cx))  # v-w-x-y would use two colours
                            break
        color[v] = _smallest_free(forbidden)
    return color


def _seeds(colors: np.ndarray) -> np.ndarray:
    c = int(colors.max()) + 1 if colors.size else 0
    s = np.zeros((c, colors.size))
    s[colors, np.arange(colors.size)] = 1.0
    return s


# ----------------------------------------------------------------------------- evaluation


class _PatternKey:
    """Static data of a staged sparse result: the pattern, compared by identity (hashable)."""

    __slots__ = ("pat",)

    def __init__(self, pat: _Pat):
        self.pat = pat


class _StagedSparse:
    """The values of a sparse result still being traced (under pb.jit), with their pattern.

    A pytree node whose one leaf is the value vector, so jit stages the compressed evaluation and
    the read-out; when the leaves come back concrete, unflattening builds the CSR / SparseCOO.
    """

    __slots__ = ("key", "values")

    def __init__(self, key: _PatternKey, values: Any):
        self.key, self.values = key, values


def _build_sparse(key: _PatternKey, values: Any) -> Any:
    if isinstance(values, Tracer):
        return _StagedSparse(key, values)
    values = np.asarray(values)
    if values.shape != (key.pat.nnz,):
        raise SparseError(f"a sparse Jacobian/Hessian holds {key.pat.nnz} values, got an array of shape "
                          f"{values.shape} (a transformation such as vmap added axes): call .values(x) inside "
                          "the transformation, which gives the stored entries as an array")
    return key.pat.output(values)


register_pytree_node(_StagedSparse, lambda s: ([s.values], s.key), lambda key, ch: _build_sparse(key, ch[0]))


def _example(x: Any) -> np.ndarray:
    """A concrete stand-in for x with its shape (detection needs shapes only; x may be traced)."""
    if isinstance(x, Tracer):
        return np.zeros(x.shape, x.dtype if np.issubdtype(x.dtype, np.inexact) else float)
    return np.asarray(x)


def _flat_input(x: Any) -> Any:
    return x.ravel() if isinstance(x, Tracer) else np.asarray(x, dtype=float).ravel()


class SparseJacobian:
    """The reusable sparse Jacobian of fun (one array in, one array out).

    The pattern (detected from ``example``, or given as ``pattern=`` CSR / SparseCOO / ``(rows,
    cols)``) and the colouring are computed once; ``J(x)`` is then one vmapped jvp ('fwd', column
    colouring) or vjp ('rev', row colouring) over the colour seeds, read out into CSR (rows:
    out.ravel(), columns: x.ravel(); a SparseCOO without SciPy). mode='auto' takes the mode with
    fewer colours. ``pb.jit(J)`` stages the compressed evaluation and read-out once (the matrix is
    assembled outside); ``J.values(x)`` gives the stored entries as an array, usable inside any
    transformation. Attributes: pattern, colors, mode, ncolors, sparsity.

    Examples
    --------
    >>> import numpy as onp, pullback as pb, pullback.numpy as np
    >>> J = pb.SparseJacobian(lambda x: x[1:] - x[:-1], onp.zeros(5))
    >>> J.ncolors, J.mode
    (2, 'fwd')
    >>> J(onp.arange(5.0)).toarray()[0]
    array([-1.,  1.,  0.,  0.,  0.])
    >>> pb.jit(J)(onp.arange(5.0)).toarray()[0]
    array([-1.,  1.,  0.,  0.,  0.])
    """

    def __init__(self, fun: Callable, example: Any, *, pattern: Any = None, mode: str = "auto",
                 method: str = "dsatur"):
        if mode not in ("fwd", "rev", "auto"):
            raise SparseError(f"mode must be 'fwd', 'rev' or 'auto', not {mode!r}")
        x = _example(example)
        out = make_graph(fun, x).outs
        if len(out) != 1:
            raise SparseError("sparse Jacobians take a function of one array returning one array")
        self.fun = fun
        self.in_shape = x.shape
        self.out_shape = tuple(out[0].aval.shape) if isinstance(out[0], Var) else np.shape(out[0].value)
        shape = (_size(self.out_shape), _size(self.in_shape))
        if pattern is None:
            det = jacobian_sparsity(fun, x)
            self.sparsity: Sparsity | None = det
            pat = det._pat
        else:
            self.sparsity = None
            pat = _Pat.of(pattern, shape)
        if pat.shape != shape:
            raise SparseError(f"the given pattern has shape {pat.shape}, but the Jacobian is {shape}")
        self._pat, self._key = pat, _PatternKey(pat)
        self.pattern = pat.output()
        self._rows, self._cols = pat.rows(), pat.indices
        if mode in ("fwd", "auto"):
            cf = color_columns(pat, method)
        if mode == "auto" and _is_symmetric(pat):
            cr = cf  # rows of a symmetric pattern intersect exactly as its columns do
        elif mode in ("rev", "auto"):
            cr = color_rows(pat, method)
        if mode == "auto":
            mode = "fwd" if (cf.max(initial=-1) <= cr.max(initial=-1)) else "rev"
        self.mode = mode
        self.colors = cf if mode == "fwd" else cr
        self.ncolors = int(self.colors.max()) + 1 if self.colors.size else 0
        self._seeds = _seeds(self.colors)
        if mode == "fwd":
            self._read = (self._rows, self.colors[self._cols])
        else:
            self._read = (self.colors[self._rows], self._cols)

    def compressed(self, x: Any) -> Any:
        """J S (n_out × colours) in forward mode, Sᵀ J (colours × n_in) in reverse mode."""
        fun, shp = self.fun, self.in_shape

        def flat(z):
            return fun(z.reshape(shp)).ravel()

        xf = _flat_input(x)
        if self.ncolors == 0:
            return np.zeros((0, 0))
        if self.mode == "fwd":
            return vmap(lambda s: jvp(flat, (xf,), (s,))[1], out_axes=1)(self._seeds)
        _, pull = vjp(flat, xf)
        return vmap(lambda s: pull(s)[0])(self._seeds)

    def values(self, x: Any) -> Any:
        """The stored entries of J(x), in the pattern's (row-major) storage order."""
        if not self._rows.size:
            return np.zeros(0)
        return self.compressed(x)[self._read]

    def __call__(self, x: Any) -> Any:
        """The Jacobian at x: scipy.sparse CSR (a SparseCOO without SciPy)."""
        return _build_sparse(self._key, self.values(x))


def _per_shape(build: Callable) -> Callable:
    """x ↦ build(x)(x), with build(x) (pattern detection and colouring) cached per input shape."""
    cache: dict = {}

    def call(x):
        key = np.shape(x)
        if key not in cache:
            cache[key] = build(x)
        return cache[key](x)

    return call


def _sparse_jac(mode):
    def make(fun: Callable, pattern: Any = None, method: str = "dsatur") -> Callable:
        return _per_shape(lambda x: SparseJacobian(fun, x, pattern=pattern, mode=mode, method=method))
    return make


def sparse_jacfwd(fun: Callable, pattern: Any = None, method: str = "dsatur") -> Callable:
    """x ↦ the Jacobian of fun at x as CSR, by forward mode over a column colouring.

    One vmapped jvp over the colour seeds, then each nonzero is read from its column's colour. The
    pattern (detected on first call, or given) and colouring are cached per input shape.

    Parameters
    ----------
    fun : callable
        A function of one array returning one array.
    pattern : sparse matrix, SparseCOO or (rows, cols), optional
        A known pattern (skips detection); it must contain every nonzero.
    method : str, optional
        The colouring method (see color_columns).

    Returns
    -------
    callable
        x ↦ scipy.sparse CSR matrix of shape (out.size, x.size) (a SparseCOO without SciPy).

    Examples
    --------
    >>> import numpy as onp, pullback as pb, pullback.numpy as np
    >>> pb.sparse_jacfwd(lambda x: np.sin(x))(onp.zeros(3)).toarray()
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 1.]])
    """
    return _sparse_jac("fwd")(fun, pattern, method)


def sparse_jacrev(fun: Callable, pattern: Any = None, method: str = "dsatur") -> Callable:
    """x ↦ the Jacobian of fun at x as CSR, by reverse mode over a row colouring (one vmapped vjp).

    Cheaper than forward mode when a few dense columns would force many column colours.

    Parameters
    ----------
    fun, pattern
        As for sparse_jacfwd.
    method : str, optional
        The row colouring method (see color_rows).

    Returns
    -------
    callable
        x ↦ CSR matrix of shape (out.size, x.size), as for sparse_jacfwd.

    Examples
    --------
    >>> import numpy as onp, pullback as pb, pullback.numpy as np
    >>> pb.sparse_jacrev(lambda x: x * x)(onp.array([1.0, 2.0])).toarray()
    array([[2., 0.],
           [0., 4.]])
    """
    return _sparse_jac("rev")(fun, pattern, method)


def sparse_jacobian(fun: Callable, pattern: Any = None, method: str = "dsatur") -> Callable:
    """x ↦ the Jacobian of fun at x as CSR, in the mode (fwd or rev) needing fewer colours.

    Both colourings are computed on the first call per input shape; the one with fewer colours is
    kept (ties: forward).

    Parameters
    ----------
    fun, pattern, method
        As for sparse_jacfwd.

    Returns
    -------
    callable
        x ↦ CSR matrix of shape (out.size, x.size), as for sparse_jacfwd.

    Examples
    --------
    >>> import numpy as onp, pullback as pb, pullback.numpy as np
    >>> pb.sparse_jacobian(lambda x: np.sum(x) * x[:1])(onp.ones(3)).toarray()
    array([[4., 1., 1.]])
    """
    return _sparse_jac("auto")(fun, pattern, method)


class SparseHessian:
    """The reusable sparse Hessian of a scalar fun of one array, by star colouring.

    H S comes from one vmapped forward-over-reverse Hessian-vector product over the colours; each
    entry H[i, j] is read at row i in colour(j)'s column when colour(j) is unique in row i, else (by
    symmetry) at row j in colour(i)'s. A DSATUR column colouring of H is used instead when it needs
    fewer colours (it is read directly too). ``H(x)`` gives CSR (n × n over x.ravel(); a SparseCOO
    without SciPy); ``pb.jit(H)`` stages the evaluation once, ``H.values(x)`` gives the entries.

    Examples
    --------
    >>> import numpy as onp, pullback as pb, pullback.numpy as np
    >>> H = pb.SparseHessian(lambda x: np.sum(x ** 3), onp.ones(3))
    >>> H.ncolors, H(onp.array([1.0, 2.0, 3.0])).diagonal()
    (1, array([ 6., 12., 18.]))
    """

    def __init__(self, fun: Callable, example: Any, *, pattern: Any = None, ordering: str = "largest_first"):
        x = _example(example)
        self.fun, self.in_shape = fun, x.shape
        n = x.size
        if pattern is None:
            det = hessian_sparsity(fun, x)
            self.sparsity: Sparsity | None = det
            p = det._pat
        else:
            self.sparsity = None
            p = _Pat.of(pattern, (n, n))
        if p.shape != (n, n):
            raise SparseError(f"the given pattern has shape {p.shape}, but the Hessian is {(n, n)}")
        diag = np.arange(n, dtype=np.int64)
        p = _Pat.from_pairs(np.concatenate([p.rows(), p.indices, diag]), np.concatenate([p.indices, p.rows(), diag]),
                            (n, n))
        self._pat, self._key = p, _PatternKey(p)
        self.pattern = p.output()
        # a star colouring (the given ordering), or a column colouring of H (distance-2 colouring of
        # its graph: also read directly) when that needs fewer colours
        candidates = [star_coloring(p, ordering), color_columns(p, "dsatur")]
        self.colors = min(candidates, key=lambda c: int(c.max(initial=-1)))
        self.ncolors = int(self.colors.max()) + 1 if n else 0
        r, c = p.rows(), p.indices
        nc = max(self.ncolors, 1)
        count = np.bincount(r * nc + self.colors[c], minlength=n * nc)
        direct = count[r * nc + self.colors[c]] == 1
        mirror = count[c * nc + self.colors[r]] == 1
        if not np.all(direct | mirror):
            raise SparseError("internal error: the star colouring does not determine every Hessian entry")
        self._rows, self._cols = r, c
        self._read = (np.where(direct, r, c), np.where(direct, self.colors[c], self.colors[r]))
        self._seeds = _seeds(self.colors)

    def compressed(self, x: Any) -> Any:
        """H S (n × colours)."""
        fun, shp = self.fun, self.in_shape
        g = grad(lambda z: fun(z.reshape(shp)))
        xf = _flat_input(x)
        return vmap(lambda s: jvp(g, (xf,), (s,))[1].ravel(), out_axes=1)(self._seeds)

    def values(self, x: Any) -> Any:
        """The stored entries of H(x), in the pattern's (row-major) storage order."""
        if not self._rows.size:
            return np.zeros(0)
        return self.compressed(x)[self._read]

    def __call__(self, x: Any) -> Any:
        """The Hessian at x: scipy.sparse CSR (a SparseCOO without SciPy)."""
        return _build_sparse(self._key, self.values(x))


def sparse_hessian(fun: Callable, pattern: Any = None, ordering: str = "largest_first") -> Callable:
    """x ↦ the Hessian of scalar fun at x as CSR, by star colouring and vmapped Hessian-vector products.

    Parameters
    ----------
    fun : callable
        A scalar function of one array.
    pattern : sparse matrix, SparseCOO or (rows, cols), optional
        A known pattern (symmetrised with the diagonal added).
    ordering : str, optional
        The star colouring's vertex order.

    Returns
    -------
    callable
        x ↦ scipy.sparse CSR matrix of shape (x.size, x.size) (a SparseCOO without SciPy).

    Examples
    --------
    >>> import numpy as onp, pullback as pb, pullback.numpy as np
    >>> pb.sparse_hessian(lambda x: x[0] * x[1])(onp.ones(2)).toarray()
    array([[0., 1.],
           [1., 0.]])
    """
    return _per_shape(lambda x: SparseHessian(fun, x, pattern=pattern, ordering=ordering))


# ----------------------------------------------------------------------------- which rules exist

_RULE_MODULES = ("pullback.core.lax", "pullback.callback")  # and every module of pullback.primitives
INDEX_RULES = index_rules.RULES  # the operand-index primitives' rules (registered when imported)


def _all_primitives() -> list:
    """Every primitive defined in pullback.core.lax, pullback.callback and pullback.primitives.*
    (module attributes and their dict tables), one per name."""
    import importlib
    import pkgutil

    from . import primitives as prims_pkg
    from .core.primitive import Primitive

    names = list(_RULE_MODULES) + [f"{prims_pkg.__name__}.{m.name}" for m in pkgutil.iter_modules(prims_pkg.__path__)]
    found: dict = {}
    for name in names:
        for v in vars(importlib.import_module(name)).values():
            for p in (v.values() if isinstance(v, dict) else [v]):
                if isinstance(p, Primitive):
                    found.setdefault(p.name, p)
    return [found[k] for k in sorted(found)]


def _sparsity_kind(prim) -> str:
    if not prim.differentiable:
        return "no dependency (not differentiable)"
    rule = prim.sparsity
    if rule is None:
        if prim.elementwise or prim.broadcasting:
            return "trait: entry to entry (exact)"
        if prim.reduction:
            return "trait: reduction (exact)"
        return "none: all-ones (superset, flagged)"
    if getattr(rule, "through_subgraphs", False):
        return "through the sub-graphs (as exact as the body; while_loop: superset, flagged)"
    return f"rule ({getattr(rule, 'exactness', 'exact')})"


def _taylor_kind(prim) -> str:
    from . import taylor

    if taylor.has_rule(prim):
        return "recurrence"
    if prim.linear and not prim.multiple_results:
        return "per coefficient (linear)"
    if not prim.differentiable:
        return "zero terms (not differentiable)"
    return "nested-jvp fallback"


def rule_table() -> str:
    """A markdown table of which primitives have sparsity and Taylor rules (docs/sparse.md holds it):
    one row per (sparsity rule, Taylor rule) pair, naming the primitives that have it."""
    groups: dict = {}
    for p in _all_primitives():
        groups.setdefault((_sparsity_kind(p), _taylor_kind(p)), []).append(p.name)
    lines = ["| sparsity rule | Taylor rule (jet) | primitives |", "|---|---|---|"]
    for (sk, tk), names in sorted(groups.items()):
        lines.append(f"| {sk} | {tk} | {', '.join(f'`{n}`' for n in names)} |")
    return "\n".join(lines)
