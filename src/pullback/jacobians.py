"""The Jacobian family: jacrev, jacfwd, jacobian, hessian, and the products hvp, jvp_by_vjp, ggnvp.

Built from api (jvp, vjp, grad) and vmap: a Jacobian is all the jvps (columns) or vjps
(rows) with unit vectors, evaluated in one batched pass.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import _arrays
from .api import (
    _argnums_tuple,
    _as_value,
    _check_holomorphic,
    _is_integral_dtype,
    _lower_aux,
    _split_aux,
    _zeros_like,
    float0,
    grad,
    jvp,
    vjp,
)
from .core.tree import tree_flatten, tree_map, tree_unflatten
from .errors import ArgumentError
from .primitives._util import dtype_of, shape_of
from .vmap import vmap


def _stack_rows(rows: Any, lead_shape: tuple, tail_shape: tuple, dtype) -> Any:
    """Stacked per-direction results (leading axis: direction) as an array of shape lead_shape + tail_shape."""
    if rows is None:
        return np.zeros(lead_shape + tail_shape, dtype)
    return _arrays.reshape(rows, lead_shape + tail_shape)


def _rows(fn: Callable[[Any], list], x: Any) -> list:
    """fn applied to every unit array e_i shaped like x, each of fn's flat results stacked over i.

    One batched (vmap) evaluation; a Python loop only when x is empty.
    """
    size = int(np.prod(shape_of(x)))
    if size == 0:
        return None
    basis = np.eye(size, dtype=dtype_of(x)).reshape((size,) + tuple(shape_of(x)))
    return vmap(fn)(basis)


def _in_argnums(fun: Callable, args: Sequence, kwargs: dict, nums: Sequence[int]) -> Callable:
    """fun as a function of the arguments numbered `nums` only, the others fixed at `args`."""

    def f(*diff):
        full = list(args)
        for i, d in zip(nums, diff):
            full[i] = d
        return fun(*full, **kwargs)

    return f


def jacrev(fun: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False,
           allow_int: bool = False) -> Callable:
    """The Jacobian by reverse mode: all vjps with the unit cotangents in one batched pass.

    J[i, j] = ∂out[i]/∂in[j]. Cheaper than jacfwd when the output is smaller than the input.
    ``pb.jacobian`` is the same function.

    Parameters
    ----------
    fun : callable
        A function returning an array (or ``(array, aux)`` with has_aux).
    argnums : int or tuple of int, optional
        Which positional arguments to differentiate (default 0).
    has_aux : bool, optional
        fun returns ``(out, aux)``; the Jacobian function then returns ``(jacobian, aux)``.
    holomorphic : bool, optional
        JAX's holomorphic=True: every input and output must be complex (checked, raising
        NonDifferentiableInputError); for a holomorphic function the result is f'(z).
    allow_int : bool, optional
        JAX's allow_int=True: integer and boolean arguments are accepted and get a derivative
        of dtype pullback.float0 (no numbers).

    Returns
    -------
    callable
        The Jacobian function; its result has shape ``out.shape + in.shape`` (a tuple of them
        when argnums is a tuple; pytree outputs and inputs give nested structures).

    Raises
    ------
    NonDifferentiableInputError
        A differentiated argument is an integer or boolean array.
    ArgnumsError
        argnums is out of range for the arguments given.

    Examples
    --------
    >>> import pullback as pb, pullback.numpy as np
    >>> pb.jacrev(lambda x: x[::-1] * 2.0)(np.array([1.0, 2.0]))
    array([[0., 2.],
           [2., 0.]])
    """

    @functools.wraps(fun)
    def jac_fun(*args, **kwargs):
        nums, single = _argnums_tuple(argnums, len(args), "jacrev")
        if allow_int:
            return _jac_allow_int(jacrev, fun, args, kwargs, nums, single, has_aux, holomorphic)

        f = _in_argnums(fun, args, kwargs, nums)
        res = vjp(f, *(args[i] for i in nums), has_aux=has_aux, holomorphic=holomorphic)
        out, vjp_fn = res[0], res[1]
        out_leaves, out_tree = tree_flatten(out)
        in_leaves, in_tree = tree_flatten(tuple(args[i] for i in nums))
        in_leaves = [_as_value(x) for x in in_leaves]
        per_out = []
        for k, o in enumerate(out_leaves):

            def pull(e, k=k):
                cts = [e if j == k else _zeros_like(ol) for j, ol in enumerate(out_leaves)]
                return tree_flatten(vjp_fn(tree_unflatten(out_tree, cts)))[0]

            rows = _rows(pull, o)
            per_in = [
                _stack_rows(None if rows is None else rows[m], shape_of(o), shape_of(x), dtype_of(x))
                for m, x in enumerate(in_leaves)
            ]
            jac_in = tree_unflatten(in_tree, per_in)
            per_out.append(jac_in[0] if single else jac_in)
        jac = tree_unflatten(out_tree, per_out)
        return (jac, _lower_aux(res[2], tree_flatten(list(args))[0])) if has_aux else jac

    return jac_fun


def _jac_allow_int(jac: Callable, fun: Callable, args, kwargs, nums, single, has_aux, holomorphic):
    """A Jacobian with allow_int: integer/boolean arguments are held fixed and get float0 zeros
    shaped out.shape + arg.shape; the others are differentiated as usual (one pass per output leaf)."""

    def integral(i):
        return all(_is_integral_dtype(dtype_of(_as_value(x))) for x in tree_flatten(args[i])[0])

    float_nums = tuple(i for i in nums if not integral(i))
    out, aux = _split_aux(fun(*args, **kwargs), has_aux, "jacrev")
    out_leaves, out_tree = tree_flatten(out)
    per_out = []
    for k, o in enumerate(out_leaves):

        def leaf_k(*a, k=k, **kw):
            return tree_flatten(_split_aux(fun(*a, **kw), has_aux, "jacrev")[0])[0][k]

        jk = jac(leaf_k, argnums=float_nums, holomorphic=holomorphic)(*args, **kwargs) if float_nums else ()
        entries = []
        for i in nums:
            if i in float_nums:
                entries.append(jk[float_nums.index(i)])
            else:
                entries.append(tree_map(lambda x, o=o: np.zeros(shape_of(o) + shape_of(_as_value(x)), float0),
                                        args[i]))
        per_out.append(entries[0] if single else tuple(entries))
    result = tree_unflatten(out_tree, per_out)
    return (result, _lower_aux(aux, tree_flatten(list(args))[0])) if has_aux else result


def jacfwd(fun: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False) -> Callable:
    """The Jacobian by forward mode: all jvps with the unit tangents in one batched pass.

    J[i, j] = ∂out[i]/∂in[j]. Cheaper than jacrev when the input is smaller than the output.

    Parameters
    ----------
    fun : callable
        A function returning an array (or ``(array, aux)`` with has_aux).
    argnums : int or tuple of int, optional
        Which positional arguments to differentiate (default 0).
    has_aux : bool, optional
        fun returns ``(out, aux)``; the Jacobian function then returns ``(jacobian, aux)``.
    holomorphic : bool, optional
        JAX's holomorphic=True: every input and output must be complex (checked, raising
        NonDifferentiableInputError); for a holomorphic function the result is f'(z).

    Returns
    -------
    callable
        The Jacobian function; its result has shape ``out.shape + in.shape`` (a tuple of them
        when argnums is a tuple; pytree outputs and inputs give nested structures).

    Raises
    ------
    NonDifferentiableInputError
        A differentiated argument is an integer or boolean array.
    ArgnumsError
        argnums is out of range for the arguments given.

    Examples
    --------
    >>> import pullback as pb, pullback.numpy as np
    >>> pb.jacfwd(lambda t: np.stack([t, t ** 2]))(3.0)
    array([1., 6.])
    """

    @functools.wraps(fun)
    def jac_fun(*args, **kwargs):
        nums, single = _argnums_tuple(argnums, len(args), "jacfwd")

        f_full = _in_argnums(fun, args, kwargs, nums)

        def f(*diff):
            return _split_aux(f_full(*diff), has_aux, "jacfwd")

        primals = tuple(args[i] for i in nums)
        in_leaves, in_tree = tree_flatten(primals)
        in_leaves = [_as_value(x) for x in in_leaves]
        if holomorphic:
            _check_holomorphic(in_leaves, "jacfwd", "an input")
        zeros = tuple(tree_map(lambda x: _zeros_like(_as_value(x)), p) for p in primals)
        aux_box: list = []

        def f_out(*d):
            out, aux = f(*d)
            aux_box[:] = [aux]
            return out

        out = jvp(f_out, primals, zeros)[0]  # traced, so in-place updates inside f leave the caller's arrays alone
        aux = aux_box[0]
        out_leaves, out_tree = tree_flatten(out)
        if holomorphic:
            _check_holomorphic(out_leaves, "jacfwd", "an output")
        cols_per_in = []
        for m, x in enumerate(in_leaves):

            def push(t, m=m):
                ts = [t if j == m else _zeros_like(xl) for j, xl in enumerate(in_leaves)]
                return tree_flatten(jvp(lambda *d: f(*d)[0], primals, tree_unflatten(in_tree, ts))[1])[0]

            cols_per_in.append(_rows(push, x))
        per_out = []
        for k, o in enumerate(out_leaves):
            per_in = []
            for m, x in enumerate(in_leaves):
                cols = None if cols_per_in[m] is None else cols_per_in[m][k]
                j = _stack_rows(cols, shape_of(x), shape_of(o), dtype_of(o))
                per_in.append(_move_front_to_back(j, len(shape_of(x)), len(shape_of(o))))
            jac_in = tree_unflatten(in_tree, per_in)
            per_out.append(jac_in[0] if single else jac_in)
        jac = tree_unflatten(out_tree, per_out)
        return (jac, _lower_aux(aux, tree_flatten(list(args))[0])) if has_aux else jac

    return jac_fun


def _move_front_to_back(j, nx: int, no: int):
    """(in.shape + out.shape) → (out.shape + in.shape)."""
    if nx == 0 or no == 0:
        return j
    return _arrays.transpose(j, tuple(range(nx, nx + no)) + tuple(range(nx)))


jacobian = jacrev


def hessian(fun: Callable, argnums=0, holomorphic: bool = False) -> Callable:
    """∂²fun: jacfwd of jacrev (forward-over-reverse).

    H[i, j] = ∂²f/∂x[i]∂x[j] for a scalar function f, shape ``in.shape + in.shape``.

    Parameters
    ----------
    fun : callable
        A function returning a real scalar.
    argnums : int or tuple of int, optional
        Which positional arguments to differentiate (default 0).
    holomorphic : bool, optional
        JAX's holomorphic=True: every input and output must be complex (checked, raising
        NonDifferentiableInputError); for a holomorphic function the result is f'(z).

    Returns
    -------
    callable
        The Hessian function (nested tuples of blocks when argnums is a tuple).

    Raises
    ------
    NonDifferentiableInputError
        A differentiated argument is an integer or boolean array.

    Examples
    --------
    >>> import pullback as pb, pullback.numpy as np
    >>> pb.hessian(lambda x: x[0] ** 2 * x[1])(np.array([1.0, 2.0]))
    array([[4., 2.],
           [2., 0.]])
    """
    return jacfwd(jacrev(fun, argnums, holomorphic=holomorphic), argnums, holomorphic=holomorphic)


# ----------------------------------------------------------------------------- products


def hvp(fun: Callable, primals: Sequence, tangents: Sequence, mode: str = "fwd"):
    """(∇fun(primals), ∇²fun · tangents). mode="fwd": jvp of grad (forward-over-reverse);
    mode="rev": vjp of grad (reverse-over-reverse, using the symmetry of the Hessian).

    The Hessian is never formed: one product costs a few gradient evaluations.

    Parameters
    ----------
    fun : callable
        A function returning a real scalar.
    primals : tuple or list
        The arguments of fun.
    tangents : tuple or list
        One direction per primal, shaped like it.
    mode : {"fwd", "rev"}, optional
        How the second derivative is taken (default "fwd").

    Returns
    -------
    tuple
        ``(gradient, hessian_times_tangents)``, each shaped like the primals.

    Raises
    ------
    ValueError
        mode is neither "fwd" nor "rev".
    ArgumentError
        primals or tangents is not a tuple/list, or their lengths differ.

    Examples
    --------
    >>> import pullback as pb, pullback.numpy as np
    >>> g, hv = pb.hvp(lambda x: np.sum(x ** 3), (np.array([1.0, 2.0]),), (np.array([1.0, 0.0]),))
    >>> g, hv
    (array([ 3., 12.]), array([6., 0.]))
    """
    for what, v in (("primals", primals), ("tangents", tangents)):
        if not isinstance(v, (tuple, list)):
            raise ArgumentError(
                f"hvp(fun, primals, tangents): {what} must be a tuple (or list) with one entry per argument of "
                f"fun, but got a {type(v).__name__}. Write hvp(f, (x,), (v,)) for a function of one argument."
            )
    if len(primals) != len(tangents):
        raise ArgumentError(
            f"hvp got {len(primals)} primals but {len(tangents)} tangents; give one tangent per primal."
        )
    argnums = tuple(range(len(primals)))
    g = grad(fun, argnums=argnums)
    if mode == "fwd":
        gv, hv = jvp(g, tuple(primals), tuple(tangents))
    elif mode == "rev":
        gv, vjp_fn = vjp(g, *primals)
        hv = vjp_fn(tuple(tangents))
    else:
        raise ValueError(f"hvp: mode must be 'fwd' or 'rev', not {mode!r}")
    if len(primals) == 1:
        return gv[0], hv[0]
    return gv, hv


def jvp_by_vjp(fun: Callable, primals: Sequence, tangents: Sequence):
    """(fun(*primals), ∂fun · tangents) from two reverse passes and no forward mode.

    u ↦ vjp_fn(u) = Jᵀu is linear, so its own vjp at any u, applied to v, is (Jᵀ)ᵀ v = J v.
    Useful to check a forward rule against a reverse one.

    Parameters
    ----------
    fun : callable
        A function of ``len(primals)`` arguments.
    primals : tuple or list
        The arguments.
    tangents : tuple or list
        One tangent per primal.

    Returns
    -------
    tuple
        ``(out, tangent_out)``, as pb.jvp returns.

    Examples
    --------
    >>> import pullback as pb, pullback.numpy as np
    >>> pb.jvp_by_vjp(lambda x: x ** 2, (3.0,), (1.0,))
    (np.float64(9.0), np.float64(6.0))
    """
    out, vjp_fn = vjp(fun, *primals)
    u0 = tree_map(_zeros_like, out)
    _, vjp_of_vjp = vjp(vjp_fn, u0)
    (jv,) = vjp_of_vjp(tuple(tangents))
    return out, jv


def ggnvp(model: Callable, loss: Callable, params: Any, v: Any) -> Any:
    """Generalised Gauss–Newton product Jᵀ H J v, J = ∂model/∂params, H = ∇²loss at model(params).

    A positive semi-definite curvature product when loss is convex: one jvp through model, one
    Hessian-vector product of loss, one vjp back through model.

    Parameters
    ----------
    model : callable
        params ↦ predictions.
    loss : callable
        predictions ↦ real scalar.
    params : pytree of arrays
        The point at which the product is taken.
    v : pytree of arrays
        The direction, shaped like params.

    Returns
    -------
    pytree of arrays
        Jᵀ H J v, shaped like params.

    Examples
    --------
    >>> import numpy
    >>> import pullback as pb, pullback.numpy as np
    >>> X = numpy.array([[1.0, 0.0], [0.0, 2.0]])
    >>> pb.ggnvp(lambda w: X @ w, lambda p: 0.5 * np.sum(p ** 2), numpy.zeros(2), numpy.array([1.0, 1.0]))
    array([1., 4.])
    """
    z, jv = jvp(model, (params,), (v,))
    _, hjv = hvp(loss, (z,), (jv,))
    _, vjp_fn = vjp(model, params)
    return vjp_fn(hjv)[0]


__all__ = ["ggnvp", "hessian", "hvp", "jacfwd", "jacobian", "jacrev", "jvp_by_vjp"]
