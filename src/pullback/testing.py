"""check_grads: derivatives against central finite differences, and JVP against VJP.

For random directions v (inputs) and u (outputs):
- forward:  jvp(f, x, v)  ≈ (f(x + εv) − f(x − εv)) / 2ε
- reverse:  ⟨u, J v⟩ = ⟨Jᵀu, v⟩   (the dot-product test, ⟨a, b⟩ = Re Σ a·b)
and, for order > 1, the same checks on the derivative functions themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .api import jvp, vjp
from .core.tree import tree_flatten, tree_unflatten


def _leaves(tree) -> list:
    return [np.asarray(x) for x in tree_flatten(tree)[0]]


def _random_like(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    v = rng.standard_normal(x.shape)
    if np.iscomplexobj(x):
        v = v + 1j * rng.standard_normal(x.shape)
    return v.astype(x.dtype)


def _inner(a: list, b: list) -> float:
    return float(sum(np.real(np.sum(np.asarray(x) * np.asarray(y))) for x, y in zip(a, b)))


def _default_tol(leaves: list) -> float:
    low = any(np.asarray(x).dtype in (np.float32, np.complex64, np.float16) for x in leaves)
    return 2e-2 if low else 1e-5


def _assert_close(a: list, b: list, atol: float, rtol: float, what: str) -> None:
    for x, y in zip(a, b):
        x, y = np.asarray(x), np.asarray(y)
        if x.shape != y.shape:
            raise AssertionError(f"{what}: shapes differ, {x.shape} vs {y.shape}")
        np.testing.assert_allclose(x, y, atol=atol, rtol=rtol, err_msg=what)


def _point_and_direction(args: Sequence, rng) -> tuple:
    """The leaves of `args` as arrays, their structure, and one random direction v (a leaf each)."""
    flat, tree = tree_flatten(tuple(args))
    flat = [np.asarray(x) for x in flat]
    return flat, tree, [_random_like(x, rng) for x in flat]


def _central_difference(fun: Callable, flat: list, tree, v: list, eps: float) -> list:
    """J v by central differences, (f(x + εv) − f(x − εv)) / 2ε, as the list of output leaves."""
    shifted = lambda s: tree_unflatten(tree, [x + s * eps * t for x, t in zip(flat, v)])  # noqa: E731
    return [(p - m) / (2 * eps) for p, m in zip(_leaves(fun(*shifted(1))), _leaves(fun(*shifted(-1))))]


def check_jvp(fun: Callable, args: Sequence, *, eps: float, atol: float, rtol: float, rng) -> None:
    """Forward mode against central finite differences in one random direction.

    J v from pb.jvp must match (f(x + εv) − f(x − εv)) / 2ε.

    Parameters
    ----------
    fun : callable
        The function to check.
    args : sequence
        The point: a tuple of arguments.
    eps, atol, rtol : float
        The finite-difference step and tolerances.
    rng : numpy.random.Generator
        Draws the direction.

    Returns
    -------
    None

    Raises
    ------
    AssertionError
        The two disagree.

    Examples
    --------
    >>> import numpy
    >>> import pullback.numpy as np
    >>> from pullback.testing import check_jvp
    >>> check_jvp(np.exp, (np.array([0.5]),), eps=1e-6, atol=1e-7, rtol=1e-6, rng=numpy.random.default_rng(0))
    """
    flat, tree, v = _point_and_direction(args, rng)
    fd = _central_difference(fun, flat, tree, v, eps)
    _, t_out = jvp(fun, tuple(args), tuple(tree_unflatten(tree, v)))
    _assert_close(_leaves(t_out), fd, atol, rtol, "jvp vs finite differences")


def check_vjp(fun: Callable, args: Sequence, *, eps: float, atol: float, rtol: float, rng, use_fwd: bool) -> None:
    """Reverse mode by the dot-product test ⟨u, J v⟩ = ⟨Jᵀu, v⟩ (J v from jvp, or from FD).

    Parameters
    ----------
    fun : callable
        The function to check.
    args : sequence
        The point: a tuple of arguments.
    eps, atol, rtol : float
        The finite-difference step and tolerances.
    rng : numpy.random.Generator
        Draws u and v.
    use_fwd : bool
        Take J v from pb.jvp (True) or from central finite differences (False).

    Returns
    -------
    None

    Raises
    ------
    AssertionError
        The two inner products disagree.

    Examples
    --------
    >>> import numpy
    >>> import pullback.numpy as np
    >>> from pullback.testing import check_vjp
    >>> rng = numpy.random.default_rng(0)
    >>> check_vjp(np.exp, (np.array([0.5]),), eps=1e-6, atol=1e-7, rtol=1e-6, rng=rng, use_fwd=True)
    """
    flat, tree, v = _point_and_direction(args, rng)
    out, vjp_fn = vjp(fun, *args)
    out_leaves, out_tree = tree_flatten(out)
    u = [_random_like(np.asarray(o), rng) for o in out_leaves]
    if use_fwd:
        _, t_out = jvp(fun, tuple(args), tuple(tree_unflatten(tree, v)))
        jv = _leaves(t_out)
    else:
        jv = _central_difference(fun, flat, tree, v, eps)
    jtu = _leaves(vjp_fn(tree_unflatten(out_tree, u)))
    lhs, rhs = _inner(u, jv), _inner(jtu, v)
    scale = max(1.0, abs(lhs), abs(rhs))
    if abs(lhs - rhs) > atol * scale + rtol * abs(rhs):
        raise AssertionError(f"dot-product test failed: <u, J v> = {lhs!r} but <J^T u, v> = {rhs!r}")


def check_grads(
    fun: Callable,
    args: Sequence,
    order: int = 2,
    modes: Sequence[str] = ("fwd", "rev"),
    eps: float | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    seed: int = 0,
) -> None:
    """Check fun's derivatives up to `order` in the given modes; raises AssertionError on a mismatch.

    Forward mode is compared with central finite differences along a random direction; reverse
    mode by the dot-product test ⟨u, J v⟩ = ⟨Jᵀu, v⟩; order 2 and above repeat the checks on
    the derivative functions themselves. Use float64 arguments.

    Parameters
    ----------
    fun : callable
        The function to check (any pytree outputs).
    args : sequence
        The point: a tuple of arguments.
    order : int, optional
        The highest derivative order checked (default 2).
    modes : sequence of {"fwd", "rev"}, optional
        Which modes to check (default both).
    eps, rtol, atol : float, optional
        The finite-difference step and tolerances (defaults suit float64).
    seed : int, optional
        Seed of the random directions.

    Returns
    -------
    None

    Raises
    ------
    AssertionError
        A derivative disagrees with finite differences or with the other mode.

    Examples
    --------
    >>> import pullback.numpy as np
    >>> from pullback.testing import check_grads
    >>> check_grads(lambda x: np.sum(np.sin(x) * x), (np.array([0.3, -1.2]),), order=2)
    """
    args = tuple(args)
    leaves = _leaves(args)
    tol = _default_tol(leaves)
    atol = tol if atol is None else atol
    rtol = tol if rtol is None else rtol
    eps = (1e-3 if tol > 1e-4 else 1e-6) if eps is None else eps
    rng = np.random.default_rng(seed)
    if "fwd" in modes:
        check_jvp(fun, args, eps=eps, atol=atol, rtol=rtol, rng=rng)
    if "rev" in modes:
        check_vjp(fun, args, eps=eps, atol=atol, rtol=rtol, rng=rng, use_fwd="fwd" in modes)
    if order > 1:
        flat, tree = tree_flatten(args)
        if "fwd" in modes:
            v = tuple(tree_unflatten(tree, [_random_like(np.asarray(x), rng) for x in flat]))
            check_grads(lambda *a: jvp(fun, a, v)[1], args, order - 1, modes, eps, rtol, atol, seed + 1)
        if "rev" in modes:
            out = fun(*args)
            u = tree_unflatten(tree_flatten(out)[1], [_random_like(np.asarray(o), rng) for o in _leaves(out)])
            check_grads(lambda *a: vjp(fun, *a)[1](u), args, order - 1, modes, eps, rtol, atol, seed + 1)
