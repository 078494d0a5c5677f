"""Sparse Jacobians and Hessians: sparsity detection, graph colouring, compressed evaluation.

1. Detection. `jacobian_sparsity(f, *args)` stages f (`make_graph`) and propagates, equation by
   equation, a boolean dependency matrix D_v (entries of v × entries of the inputs): for an
   equation out = prim(ins), D_out = Σᵢ Mᵢ D_insᵢ with Mᵢ the primitive's structural map (its
   ``sparsity`` hook, a rule derived from its traits, or, without either, all-ones: conservative).
   `hessian_sparsity` is the symmetrised pattern of the Jacobian of grad f.
2. Colouring. Columns j, k of J may share a colour when no row has both (a distance-1 colouring of
   the column intersection graph JᵀJ); rows likewise for reverse mode (JJᵀ); for a symmetric
   Hessian a star colouring (every path on four vertices uses three colours) lets every entry be
   read directly from H S. Orderings: natural, largest-first, smallest-last; and DSATUR.
3. Evaluation. J S (one vmapped jvp over the c colour seeds) or Sᵀ J (one vmapped vjp), or H S
   (vmapped forward-over-reverse hvp); each nonzero is then read from its colour's column.

SciPy (scipy.sparse) is needed: patterns and results are CSR matrices.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .api import grad, jvp, vjp
from .core.ir import Var
from .errors import PullbackError
from .jit import make_graph
from .primitives import sparsity_rules as rules
from .vmap import vmap

__all__ = [
    "SparseHessian", "SparseJacobian", "Sparsity", "color_columns", "color_rows", "hessian_sparsity",
    "jacobian_sparsity", "sparse_hessian", "sparse_jacfwd", "sparse_jacobian", "sparse_jacrev", "star_coloring",
]


class SparseError(PullbackError, ValueError):
    """A sparse-derivative request that cannot be served (no SciPy, a bad pattern, a bad method)."""


def _sp():
    try:
        import scipy.sparse as sp
    except ImportError as e:  # pragma: no cover - SciPy is in the test extra
        raise SparseError("pullback's sparse Jacobians need SciPy (pip install scipy): patterns and results "
                          "are scipy.sparse matrices") from e
    return sp


# ----------------------------------------------------------------------------- detection


class Sparsity:
    """A detected sparsity pattern.

    Attributes: ``pattern`` (scipy.sparse CSR, bool, outputs × inputs, flattened and concatenated in
    pytree order), ``exact`` (False when some primitive's rule was a superset) and ``conservative``
    (the names of those primitives); ``shape`` and ``nnz``.

    Examples
    --------
    >>> import numpy as onp, pullback as pb, pullback.numpy as np
    >>> s = pb.jacobian_sparsity(lambda x: x[1:] * x[:-1], onp.ones(4))
    >>> s
    Sparsity(shape=(3, 4), nnz=6, exact=True)
    """

    def __init__(self, pattern: Any, conservative: Sequence[str]):
        self.pattern = pattern
        self.conservative = tuple(sorted(set(conservative)))
        self.exact = not self.conservative

    @property
    def shape(self) -> tuple:
        return self.pattern.shape

    @property
    def nnz(self) -> int:
        return int(self.pattern.nnz)

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
        if prim.elementwise and len(in_shapes) == 1:
            rule = rules.elementwise_maps
        elif prim.broadcasting:
            rule = rules.broadcast_maps
        elif prim.reduction:
            rule = rules.reduction_maps
        else:
            return None, False
    res = rule(in_shapes, consts, out_shape, **params)
    maps, exact = res if isinstance(res, tuple) else (res, True)
    if prim.jvps is not None:  # arguments with no derivative rule carry no dependency
        maps = [None if r is None else m for m, r in zip(maps, prim.jvps)]
    return maps, exact


def _propagate(graph, n_in_cols: int, in_deps: list) -> tuple:
    sp = _sp()
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
            union = None
            for _a, d in zip(e.ins, ins_d):
                if d is not None:
                    row = (d.sum(axis=0) != 0).astype(np.float64)
                    union = row if union is None else union + row
            union = sp.csr_matrix((np.asarray(union) != 0).astype(np.float64))
            for o in outs:
                n = _size(o.aval.shape)
                env[o] = sp.csr_matrix(sp.vstack([union] * n)) if n else sp.csr_matrix((0, n_in_cols))
            continue
        maps, exact = res
        if not exact:
            conservative.append(e.prim.name)
        n_out = _size(outs[0].aval.shape)
        total = sp.csr_matrix((n_out, n_in_cols), dtype=np.float64)
        for _a, d, m, s in zip(e.ins, ins_d, maps, in_shapes):
            if d is None or m is None:
                continue
            oi, ii = m
            mat = sp.csr_matrix((np.ones(len(oi)), (oi, ii)), shape=(n_out, _size(s)))
            total = total + mat @ d
        total.sum_duplicates()
        total.data[:] = 1.0
        total.eliminate_zeros()
        env[outs[0]] = total
    return env, conservative


class _SubgraphDeps:
    """What the sparsity rule of a higher-order primitive (``rule.through_subgraphs = True``) is given:
    ``rule(deps, in_deps, in_shapes, **params) -> (out_deps or None, conservative names)``, with
    dependency matrices (rows: entries, columns: the function's inputs) propagated through sub-graphs."""

    def __init__(self, n_in_cols: int):
        self.n = n_in_cols

    def zeros(self, rows: int):
        return _sp().csr_matrix((rows, self.n))

    def through(self, graph, in_deps: list) -> tuple[list, list]:
        """The dependency matrices of a sub-graph's outputs given its inputs' (None: a constant)."""
        in_deps = [self.zeros(_size(v.aval.shape)) if d is None else d for v, d in zip(graph.in_vars, in_deps)]
        env, conservative = _propagate(graph, self.n, in_deps)
        outs = []
        for o in graph.outs:
            d = env.get(o)
            outs.append(d if d is not None else self.zeros(_size(o.aval.shape) if isinstance(o, Var)
                                                           else _size(np.shape(o.value))))
        return outs, conservative

    def stack(self, mats: list):
        return _sp().csr_matrix(_sp().vstack(mats)) if mats else self.zeros(0)

    def union(self, a, b):
        m = _sp().csr_matrix(a + b)
        m.data[:] = 1.0
        return m

    def same(self, a, b) -> bool:
        return a.shape == b.shape and ((a != 0) != (b != 0)).nnz == 0


def _out_deps(graph, env, n_in_cols):
    sp = _sp()
    blocks = []
    for o in graph.outs:
        n = _size(o.aval.shape) if isinstance(o, Var) else _size(np.shape(o.value))
        d = env.get(o)
        blocks.append(d if d is not None else sp.csr_matrix((n, n_in_cols)))
    return sp.csr_matrix(sp.vstack(blocks)) if blocks else sp.csr_matrix((0, n_in_cols))


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
        ``.pattern`` (CSR bool; rows: outputs flattened and concatenated, columns: inputs), ``.exact``
        (the pattern equals the generic nonzeros when True; a superset otherwise) and ``.conservative``.

    Raises
    ------
    SparseError
        SciPy is not installed.

    Examples
    --------
    >>> import numpy as onp, pullback as pb, pullback.numpy as np
    >>> pb.jacobian_sparsity(lambda x: np.cumsum(x), onp.ones(3)).pattern.toarray().astype(int)
    array([[1, 0, 0],
           [1, 1, 0],
           [1, 1, 1]])
    """
    sp = _sp()
    graph = make_graph(fun, *args)
    sizes = [_size(v.aval.shape) for v in graph.in_vars]
    n = int(sum(sizes))
    offsets = np.cumsum([0] + sizes)
    in_deps = []
    for s, o in zip(sizes, offsets):
        cols = np.arange(o, o + s)
        in_deps.append(sp.csr_matrix((np.ones(s), (np.arange(s), cols)), shape=(s, n)))
    env, conservative = _propagate(graph, n, in_deps)
    pattern = _out_deps(graph, env, n).astype(bool)
    return Sparsity(sp.csr_matrix(pattern), conservative)


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
        More than one argument, or SciPy missing.

    Examples
    --------
    >>> import numpy as onp, pullback as pb, pullback.numpy as np
    >>> pb.hessian_sparsity(lambda x: np.sum(x[1:] * x[:-1]), onp.ones(3)).pattern.toarray().astype(int)
    array([[0, 1, 0],
           [1, 0, 1],
           [0, 1, 0]])
    """
    sp = _sp()
    if len(args) != 1:
        raise SparseError("hessian_sparsity takes one array argument; pack several into one array")
    s = jacobian_sparsity(grad(fun), *args)
    p = sp.csr_matrix((s.pattern + s.pattern.T).astype(bool))
    return Sparsity(p, s.conservative)


# ----------------------------------------------------------------------------- colouring


def _adjacency(pattern, axis: int):
    """Index lists of the intersection graph: columns (axis=1) sharing a row, or rows sharing a column."""
    sp = _sp()
    p = sp.csr_matrix(pattern, dtype=np.float64)
    p.data[:] = 1.0
    g = (p.T @ p) if axis == 1 else (p @ p.T)
    g = sp.csr_matrix(g)
    g.setdiag(0)
    g.eliminate_zeros()
    return g.indptr, g.indices


def _order(indptr, indices, ordering: str) -> list:
    n = len(indptr) - 1
    deg = np.diff(indptr)
    if ordering == "natural":
        return list(range(n))
    if ordering == "largest_first":
        return list(np.argsort(-deg, kind="stable"))
    if ordering == "smallest_last":  # repeatedly remove a vertex of least remaining degree; colour in reverse
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
        return out[::-1]
    raise SparseError(f"unknown ordering {ordering!r}; use 'natural', 'largest_first' or 'smallest_last'")


def _smallest_free(used: set) -> int:
    """The least colour (0, 1, ...) not in used."""
    c = 0
    while c in used:
        c += 1
    return c


def _greedy(indptr, indices, order) -> np.ndarray:
    n = len(indptr) - 1
    color = np.full(n, -1, np.int64)
    for v in order:
        color[v] = _smallest_free({int(c) for c in color[indices[indptr[v]:indptr[v + 1]]] if c >= 0})
    return color


def _dsatur(indptr, indices) -> np.ndarray:
    """Brélaz's DSATUR: colour next the vertex with the most distinct neighbour colours (ties: degree)."""
    n = len(indptr) - 1
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


def _color(indptr, indices, method: str) -> np.ndarray:
    if method == "dsatur":
        return _dsatur(indptr, indices)
    return _greedy(indptr, indices, _order(indptr, indices, method))


def color_columns(pattern: Any, method: str = "dsatur") -> np.ndarray:
    """A colour per column such that no two columns of one colour share a row.

    A distance-1 colouring of the column intersection graph PᵀP, for forward mode: J S with
    S[j, c] = [colour(j) = c] holds every nonzero of J exactly once.

    Parameters
    ----------
    pattern : sparse matrix or array
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
    return _color(*_adjacency(pattern, 1), method)


def color_rows(pattern: Any, method: str = "dsatur") -> np.ndarray:
    """A colour per row such that no two rows of one colour share a column (for reverse mode, Sᵀ J).

    Parameters
    ----------
    pattern : sparse matrix or array
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
    return _color(*_adjacency(pattern, 0), method)


def star_coloring(pattern: Any, ordering: str = "largest_first") -> np.ndarray:
    """A star colouring of a symmetric pattern's adjacency graph, for sparse Hessians.

    Greedy, after Gebremedhin, Manne and Pothen: distance-1, and no path on four vertices with only
    two colours, so every entry H[i, j] is read directly from H S (at row i in colour(j)'s column, or
    at row j in colour(i)'s).

    Parameters
    ----------
    pattern : sparse matrix or array
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
    sp = _sp()
    p = sp.csr_matrix(pattern, dtype=np.float64)
    p = sp.csr_matrix(p + p.T)
    p.setdiag(0)
    p.eliminate_zeros()
    indptr, indices = p.indptr, p.indices
    n = len(indptr) - 1
    color = np.full(n, -1, np.int64)
    for v in _order(indptr, indices, ordering):
        forbidden = set()
        for w in indices[indptr[v]:indptr[v + 1]]:
            cw = color[w]
            if cw >= 0:
                forbidden.add(int(cw))
            for x in indices[indptr[w]:indptr[w + 1]]:
                cx = color[x]
                if x == v or cx < 0:
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


def _check_colors(colors, n) -> np.ndarray:
    colors = np.asarray(colors, np.int64)
    if colors.shape != (n,) or (n and colors.min() < 0):
        raise SparseError(f"a colouring must give each of the {n} vertices a colour ≥ 0; got shape {colors.shape}")
    return colors


def _seeds(colors: np.ndarray) -> np.ndarray:
    c = int(colors.max()) + 1 if colors.size else 0
    s = np.zeros((c, colors.size))
    s[colors, np.arange(colors.size)] = 1.0
    return s


# ----------------------------------------------------------------------------- evaluation


def _as_pattern(pattern, shape):
    sp = _sp()
    if isinstance(pattern, Sparsity):
        pattern = pattern.pattern
    if isinstance(pattern, tuple) and len(pattern) == 2:
        rows, cols = (np.asarray(a, np.int64) for a in pattern)
        pattern = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=shape)
    p = sp.csr_matrix(pattern, dtype=bool)
    if p.shape != shape:
        raise SparseError(f"the given pattern has shape {p.shape}, but the Jacobian is {shape}")
    p.sum_duplicates()
    return p


def _csr_rows_cols(p) -> tuple:
    """Row and column of every stored entry of a CSR matrix, in its storage order."""
    rows = np.repeat(np.arange(p.shape[0], dtype=np.int64), np.diff(p.indptr))
    return rows, p.indices.astype(np.int64)


def _filled(sp, p, vals):
    """The CSR matrix with p's structure and these values (in p's storage order)."""
    return sp.csr_matrix((np.asarray(vals), p.indices.copy(), p.indptr.copy()), shape=p.shape)


class SparseJacobian:
    """The reusable sparse Jacobian of fun (one array in, one array out).

    The pattern (detected from ``example``, or given as ``pattern=`` CSR / ``(rows, cols)``) and the
    colouring are computed once; ``J(x)`` is then one vmapped jvp ('fwd', column colouring) or vjp
    ('rev', row colouring) over the colour seeds, read out into CSR (rows: out.ravel(), columns:
    x.ravel()). mode='auto' takes the mode with fewer colours. Attributes: pattern, colors, mode,
    ncolors, sparsity.

    Examples
    --------
    >>> import numpy as onp, pullback as pb, pullback.numpy as np
    >>> J = pb.SparseJacobian(lambda x: x[1:] - x[:-1], onp.zeros(5))
    >>> J.ncolors, J.mode
    (2, 'fwd')
    >>> J(onp.arange(5.0)).toarray()[0]
    array([-1.,  1.,  0.,  0.,  0.])
    """

    def __init__(self, fun: Callable, example: Any, *, pattern: Any = None, mode: str = "auto",
                 method: str = "dsatur"):
        if mode not in ("fwd", "rev", "auto"):
            raise SparseError(f"mode must be 'fwd', 'rev' or 'auto', not {mode!r}")
        x = np.asarray(example)
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
            pattern = det.pattern
        else:
            self.sparsity = None
        self.pattern = _as_pattern(pattern, shape)
        self.pattern.sort_indices()
        self._rows, self._cols = _csr_rows_cols(self.pattern)
        if mode in ("fwd", "auto"):
            cf = color_columns(self.pattern, method)
        if mode in ("rev", "auto"):
            cr = color_rows(self.pattern, method)
        if mode == "auto":
            mode = "fwd" if (cf.max(initial=-1) <= cr.max(initial=-1)) else "rev"
        self.mode = mode
        self.colors = cf if mode == "fwd" else cr
        self.ncolors = int(self.colors.max()) + 1 if self.colors.size else 0
        self._seeds = _seeds(self.colors)

    def compressed(self, x: Any) -> Any:
        """J S (n_out × colours) in forward mode, Sᵀ J (colours × n_in) in reverse mode."""
        fun, shp = self.fun, self.in_shape

        def flat(z):
            return fun(z.reshape(shp) if hasattr(z, "reshape") else z).ravel()

        xf = np.asarray(x, dtype=float).ravel() if not hasattr(x, "_trace") else x.ravel()
        if self.ncolors == 0:
            return np.zeros((0, 0))
        if self.mode == "fwd":
            return vmap(lambda s: jvp(flat, (xf,), (s,))[1], out_axes=1)(self._seeds)
        _, pull = vjp(flat, xf)
        return vmap(lambda s: pull(s)[0])(self._seeds)

    def __call__(self, x: Any) -> Any:
        """The Jacobian at x as a scipy.sparse CSR matrix."""
        sp = _sp()
        b = np.asarray(self.compressed(x))
        if self.mode == "fwd":
            vals = b[self._rows, self.colors[self._cols]] if self._rows.size else np.zeros(0)
        else:
            vals = b[self.colors[self._rows], self._cols] if self._rows.size else np.zeros(0)
        return _filled(sp, self.pattern, vals)


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
    pattern : sparse matrix or (rows, cols), optional
        A known pattern (skips detection); it must contain every nonzero.
    method : str, optional
        The colouring method (see color_columns).

    Returns
    -------
    callable
        x ↦ scipy.sparse CSR matrix of shape (out.size, x.size).

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
    fewer colours (it is read directly too). ``H(x)`` gives CSR (n × n over x.ravel()).

    Examples
    --------
    >>> import numpy as onp, pullback as pb, pullback.numpy as np
    >>> H = pb.SparseHessian(lambda x: np.sum(x ** 3), onp.ones(3))
    >>> H.ncolors, H(onp.array([1.0, 2.0, 3.0])).diagonal()
    (1, array([ 6., 12., 18.]))
    """

    def __init__(self, fun: Callable, example: Any, *, pattern: Any = None, ordering: str = "largest_first"):
        sp = _sp()
        x = np.asarray(example)
        self.fun, self.in_shape = fun, x.shape
        n = x.size
        if pattern is None:
            det = hessian_sparsity(fun, x)
            self.sparsity: Sparsity | None = det
            pattern = det.pattern
        else:
            self.sparsity = None
        p = _as_pattern(pattern, (n, n))
        p = sp.csr_matrix((p + p.T + sp.identity(n, format="csr", dtype=bool)).astype(bool))
        self.pattern = p
        # a star colouring (the given ordering), or a column colouring of H (distance-2 colouring of
        # its graph: also read directly) when that needs fewer colours
        candidates = [star_coloring(p, ordering), color_columns(p, "dsatur")]
        self.colors = min(candidates, key=lambda c: int(c.max(initial=-1)))
        self.ncolors = int(self.colors.max()) + 1 if n else 0
        p.sort_indices()
        r, c = _csr_rows_cols(p)
        nc = max(self.ncolors, 1)
        count = np.bincount(r * nc + self.colors[c], minlength=n * nc)
        direct = count[r * nc + self.colors[c]] == 1
        mirror = count[c * nc + self.colors[r]] == 1
        if not np.all(direct | mirror):
            raise SparseError("internal error: the star colouring does not determine every Hessian entry")
        self._rows, self._cols = r, c
        self._read_rows = np.where(direct, r, c)
        self._read_cols = np.where(direct, self.colors[c], self.colors[r])
        self._seeds = _seeds(self.colors)

    def compressed(self, x: Any) -> Any:
        """H S (n × colours)."""
        fun, shp = self.fun, self.in_shape
        g = grad(lambda z: fun(z.reshape(shp)))
        xf = np.asarray(x, dtype=float).ravel()
        return vmap(lambda s: jvp(g, (xf,), (s,))[1].ravel(), out_axes=1)(self._seeds)

    def __call__(self, x: Any) -> Any:
        """The Hessian at x as a scipy.sparse CSR matrix."""
        sp = _sp()
        b = np.asarray(self.compressed(x))
        vals = b[self._read_rows, self._read_cols]
        return _filled(sp, self.pattern, vals)


def sparse_hessian(fun: Callable, pattern: Any = None, ordering: str = "largest_first") -> Callable:
    """x ↦ the Hessian of scalar fun at x as CSR, by star colouring and vmapped Hessian-vector products.

    Parameters
    ----------
    fun : callable
        A scalar function of one array.
    pattern : sparse matrix or (rows, cols), optional
        A known pattern (symmetrised with the diagonal added).
    ordering : str, optional
        The star colouring's vertex order.

    Returns
    -------
    callable
        x ↦ scipy.sparse CSR matrix of shape (x.size, x.size).

    Examples
    --------
    >>> import numpy as onp, pullback as pb, pullback.numpy as np
    >>> pb.sparse_hessian(lambda x: x[0] * x[1])(onp.ones(2)).toarray()
    array([[0., 1.],
           [1., 0.]])
    """
    return _per_shape(lambda x: SparseHessian(fun, x, pattern=pattern, ordering=ordering))

