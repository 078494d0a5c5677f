"""The functional API: jvp, vjp, grad, linearize and linear_transpose (the Jacobian family is in jacobians.py)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._arrays import output_leaf as _output_leaf
from .core.ad import jvp_flat, unbroadcast, vjp_flat
from .core.backend import NUMPY_TYPES, backend_of, ones_like_value, zeros_like_value
from .core.trace import Tracer
from .core.tree import tree_flatten, tree_map, tree_unflatten
from .errors import (
    ArgnumsError,
    CotangentError,
    HasAuxError,
    NonDifferentiableInputError,
    NonScalarOutputError,
)
from .primitives import elementwise as ew
from .primitives._util import dtype_of, shape_of

# ----------------------------------------------------------------------------- helpers


def _as_value(x: Any) -> Any:
    """A leaf as something with shape and dtype: tracers (of outer transformations) and arrays of
    other libraries (Dask, torch, CuPy ...) stay as they are."""
    if isinstance(x, (Tracer, np.ndarray, np.generic)) or backend_of(x) is not None:
        return x
    return np.asarray(x)


def _check_differentiable(leaves: Sequence, who: str, where: str) -> None:
    for x in leaves:
        dt = dtype_of(x)
        if dt.kind not in "fc":
            keep_out = (
                "keep the integer argument out of argnums" if who == "grad"
                else "close over the integer argument instead (e.g. lambda x: f(x, n))"
            )
            raise NonDifferentiableInputError(
                f"{who} requires floating-point (or complex) inputs, but {where} has dtype {dt}. "
                f"Pass a float array (e.g. x.astype(float), or 1.0 instead of 1), or {keep_out}."
            )


#: The dtype of the gradient of an integer or boolean input under allow_int=True (JAX's float0):
#: a zero-size void, so such a gradient carries no numbers.
float0 = np.dtype([("float0", np.void, 0)])


def _is_integral_dtype(dt) -> bool:
    return np.dtype(dt).kind in "biu"


def _check_holomorphic(leaves: Sequence, who: str, where: str) -> None:
    """holomorphic=True (JAX): every input and output must be complex."""
    for x in leaves:
        dt = dtype_of(x)
        if dt.kind != "c":
            raise NonDifferentiableInputError(
                f"{who}(..., holomorphic=True) requires complex inputs and outputs, but {where} has dtype {dt}. "
                "Pass complex values (e.g. x.astype(complex)), or drop holomorphic=True."
            )


def _unaliased(leaves: list, avoid: Sequence = ()) -> list:
    """Derivative arrays that share no buffer with each other nor with the caller's arrays in `avoid`.

    VJP rules pass cotangents through (x + y gives both inputs the same ct), so without this two
    gradients could be one array, and an in-place update of one (g *= lr) would change the other.
    """
    seen = {id(_buffer(a)) for a in avoid if isinstance(a, np.ndarray)}
    foreign = {id(a) for a in avoid if type(a) not in NUMPY_TYPES and not isinstance(a, Tracer)}
    out = []
    for g in leaves:
        if isinstance(g, np.ndarray):
            if id(_buffer(g)) in seen:
                g = g.copy()
            seen.add(id(_buffer(g)))
        elif type(g) not in NUMPY_TYPES and not isinstance(g, Tracer):
            bk = backend_of(g)
            if bk is not None:  # another library's array: one object per result (torch tensors are mutable)
                if id(g) in foreign:
                    g = bk.copy(g)
                foreign.add(id(g))
        out.append(g)
    return out


def _buffer(a: np.ndarray) -> Any:
    return a if a.base is None else a.base


def _zeros_like(x: Any) -> Any:
    """Zeros shaped like x, in x's array library."""
    return zeros_like_value(shape_of(x), dtype_of(x), x)


def _fit_ct(g: Any, like: Any) -> Any:
    """A cotangent for input `like`: zeros when symbolically zero, else shape- and dtype-matched."""
    if g is None:
        return _zeros_like(like)
    return _output_leaf(unbroadcast(g, like))


def _int_tuple(argnums: Any, name: str, who: str) -> tuple[tuple[int, ...], bool]:
    """(argnums as a tuple of ints, whether a single int was given); ArgnumsError for anything else."""
    def bad() -> ArgnumsError:
        return ArgnumsError(
            f"{who}: {name}={argnums!r} ({type(argnums).__name__}) is not an argument position; pass an int "
            f"(e.g. {name}=0) or a tuple of ints (e.g. {name}=(0, 1)).")

    if isinstance(argnums, (int, np.integer)) and not isinstance(argnums, bool):
        return (int(argnums),), True
    if not isinstance(argnums, (tuple, list)):
        raise bad()
    if not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in argnums):
        raise bad()
    return tuple(int(a) for a in argnums), False


def _argnums_tuple(argnums, nargs: int, who: str) -> tuple[tuple[int, ...], bool]:
    nums, single = _int_tuple(argnums, "argnums", who)
    for a in nums:
        if not -nargs <= a < nargs:
            raise ArgnumsError(
                f"{who}: argnums={argnums!r} but the function was called with {nargs} positional "
                f"argument(s); argnums must index them (0 … {nargs - 1})."
            )
    nums = tuple(a % nargs for a in nums)
    if len(set(nums)) != len(nums):
        raise ArgnumsError(
            f"{who}: argnums={argnums!r} names the same argument more than once; name each argument once."
        )
    return nums, single


def _split_aux(out: Any, has_aux: bool, who: str):
    if not has_aux:
        return out, None
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise HasAuxError(
            f"{who}(..., has_aux=True) expects the function to return a pair (output, aux), "
            f"but it returned {type(out).__name__}. Return `out, aux`, or drop has_aux=True."
        )
    return out[0], out[1]


def _lower_aux(aux: Any, avoid: Sequence = ()) -> Any:
    """Auxiliary outputs leave the transformation as values: strip this level's tracers.

    Array leaves never share a buffer with the caller's arrays in `avoid`; other leaves come back as they are.
    """

    def lower(x):
        from .core.ad import JVPTracer, ReverseTracer

        traced = isinstance(x, Tracer)
        while isinstance(x, (JVPTracer, ReverseTracer)) and not x._trace.active:
            x = x.aval
        if isinstance(x, Tracer) or not (traced or isinstance(x, (np.ndarray, np.generic))):
            return x  # an outer tracer, or a non-array leaf (int, str, a function ...): unchanged, as in JAX
        return _output_leaf(x)

    leaves, tree = tree_flatten(aux)
    return tree_unflatten(tree, _unaliased([lower(x) for x in leaves], avoid))


class _Flat:
    """Wrap fun(*args) as a function of the flat leaves of the args selected by argnums."""

    def __init__(self, fun, args, kwargs, argnums, has_aux, who):
        self.fun, self.args, self.kwargs = fun, list(args), kwargs
        self.argnums, self.has_aux, self.who = argnums, has_aux, who
        diff = tuple(args[i] for i in argnums)
        leaves, self.in_tree = tree_flatten(diff)
        self.in_leaves = [_as_value(x) for x in leaves]
        self.out_tree = None
        self.aux = None

    def __call__(self, flat: list) -> list:
        diff = tree_unflatten(self.in_tree, flat)
        args = list(self.args)
        for i, v in zip(self.argnums, diff):
            args[i] = v
        out, aux = _split_aux(self.fun(*args, **self.kwargs), self.has_aux, self.who)
        self.aux = aux
        leaves, self.out_tree = tree_flatten(out)
        return [_as_value(x) for x in leaves]


# ----------------------------------------------------------------------------- vjp / jvp


def vjp(fun: Callable, *primals: Any, has_aux: bool = False, holomorphic: bool = False):
    """(fun(*primals), vjp_fn) where vjp_fn(ct) = (ctᵀ ∂fun/∂primals[0], ...), one per primal.

    Reverse mode: fun runs once, recording; each call of vjp_fn runs the recording backwards.
    For y = f(x) with Jacobian J = ∂y/∂x, vjp_fn(u) = (Jᵀu,) (for complex values the bilinear
    pairing of docs/complex.md, no conjugation).

    Parameters
    ----------
    fun : callable
        A function of the primals returning an array or a pytree of arrays.
    *primals : pytree of arrays
        The point at which to differentiate (floating-point or complex leaves).
    has_aux : bool, optional
        fun returns ``(out, aux)``; aux is returned as is, undifferentiated.
    holomorphic : bool, optional
        JAX's holomorphic=True: every input and output must be complex (checked, raising
        NonDifferentiableInputError); for a holomorphic function the result is f'(z).

    Returns
    -------
    tuple
        ``(out, vjp_fn)``, or ``(out, vjp_fn, aux)`` with has_aux. ``vjp_fn(ct)`` takes a
        cotangent shaped like out and returns a tuple with one cotangent per primal.

    Raises
    ------
    CotangentError
        vjp_fn got a cotangent whose structure, shape or dtype does not match out.
    NonDifferentiableInputError
        A primal is an integer or boolean array.

    Examples
    --------
    >>> import pullback as pb, pullback.numpy as np
    >>> y, vjp_fn = pb.vjp(np.sin, 0.0)
    >>> vjp_fn(2.0)
    (np.float64(2.0),)
    """
    flat = _Flat(fun, primals, {}, tuple(range(len(primals))), has_aux, "vjp")
    if holomorphic:
        _check_holomorphic(flat.in_leaves, "vjp", "an input")
    _check_differentiable(flat.in_leaves, "vjp", "an input")
    outs, pullback = vjp_flat(flat, flat.in_leaves)
    if holomorphic:
        _check_holomorphic(outs, "vjp", "an output")
    out_tree, in_tree, in_leaves = flat.out_tree, flat.in_tree, flat.in_leaves

    def vjp_fn(ct: Any) -> tuple:
        ct_leaves, ct_tree = tree_flatten(ct)
        if ct_tree != out_tree:
            raise CotangentError(
                f"vjp_fn expected a cotangent with the structure of the output, {out_tree}, "
                f"but got {ct_tree}."
            )
        checked = []
        for c, o in zip(ct_leaves, outs):
            c = _as_value(c)
            if shape_of(c) != shape_of(o):
                raise CotangentError(
                    f"vjp_fn got a cotangent of shape {shape_of(c)} for an output of shape {shape_of(o)}; "
                    "the cotangent must have exactly the output's shape."
                )
            if dtype_of(c).kind == "c" and dtype_of(o).kind != "c":
                raise CotangentError(
                    f"vjp_fn got a complex cotangent ({dtype_of(c)}) for a real output ({dtype_of(o)})."
                )
            if dtype_of(c).kind not in "fc":
                raise CotangentError(
                    f"vjp_fn got a cotangent of dtype {dtype_of(c)}; cotangents must be floating point "
                    f"like the output ({dtype_of(o)})."
                )
            checked.append(c)
        gs = pullback(checked)
        leaves = _unaliased([_fit_ct(g, x) for g, x in zip(gs, in_leaves)], checked + in_leaves)
        return tuple(tree_unflatten(in_tree, leaves))

    callers = list(in_leaves) + tree_flatten(primals)[0]
    out_leaves = _unaliased([_output_leaf(o) for o in outs], callers)
    out = tree_unflatten(out_tree, out_leaves)
    if has_aux:
        return out, vjp_fn, _lower_aux(flat.aux, callers + out_leaves)
    return out, vjp_fn


def jvp(fun: Callable, primals: Sequence, tangents: Sequence):
    """(fun(*primals), ∂fun · tangents): push tangents forward through fun.

    Forward mode: for y = f(x) with Jacobian J, returns (f(x), J t), in one pass.

    Parameters
    ----------
    fun : callable
        A function of ``len(primals)`` arguments.
    primals : tuple or list
        The arguments (pytrees of floating-point or complex arrays).
    tangents : tuple or list
        One tangent per primal, with the primal's structure, shapes and dtypes.

    Returns
    -------
    tuple
        ``(out, tangent_out)``, both shaped like fun's output.

    Raises
    ------
    TypeError
        primals or tangents is not a tuple or list (e.g. a bare array).
    CotangentError
        The tangents do not match the primals in number, structure, shape or dtype.

    Examples
    --------
    >>> import pullback as pb, pullback.numpy as np
    >>> pb.jvp(lambda x: x ** 2, (3.0,), (1.0,))
    (np.float64(9.0), np.float64(6.0))
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp(fun, primals, tangents): primals and tangents must be tuples (or lists) of arguments")
    if len(primals) != len(tangents):
        raise CotangentError(f"jvp got {len(primals)} primals but {len(tangents)} tangents")
    flat = _Flat(fun, primals, {}, tuple(range(len(primals))), False, "jvp")
    t_leaves, t_tree = tree_flatten(tuple(tangents))
    if t_tree != flat.in_tree:
        raise CotangentError(f"jvp: tangents have structure {t_tree} but primals have {flat.in_tree}")
    _check_differentiable(flat.in_leaves, "jvp", "a primal")
    ts = []
    for t, p in zip(t_leaves, flat.in_leaves):
        t = _as_value(t)
        if shape_of(t) != shape_of(p):
            raise CotangentError(f"jvp: a tangent has shape {shape_of(t)} but its primal has shape {shape_of(p)}")
        if dtype_of(t) != dtype_of(p):
            if dtype_of(t).kind == "c" and dtype_of(p).kind != "c":
                raise CotangentError(f"jvp: complex tangent ({dtype_of(t)}) for a real primal ({dtype_of(p)})")
            t = ew.convert(t, dtype=dtype_of(p))
        ts.append(t)
    outs, t_outs = jvp_flat(flat, flat.in_leaves, ts)
    callers = ts + flat.in_leaves + t_leaves + tree_flatten(primals)[0]
    out_leaves = _unaliased([_output_leaf(o) for o in outs], callers)
    out = tree_unflatten(flat.out_tree, out_leaves)
    t_leaves = [_zeros_like(o) if t is None else _output_leaf(t) for o, t in zip(outs, t_outs)]
    t_out = tree_unflatten(flat.out_tree, _unaliased(t_leaves, callers + out_leaves))
    return out, t_out


def linearize(fun: Callable, *primals: Any):
    """(fun(*primals), f_jvp) with f_jvp(*tangents) = ∂fun · tangents at primals.

    The function runs once: forward mode on a staged tangent records only the linear
    part (the primal values enter it as constants), and f_jvp runs that graph. Inside
    another transformation (primals that are traced values) f_jvp falls back to
    re-running forward mode at the fixed primals.

    Parameters
    ----------
    fun : callable
        A function of ``len(primals)`` arguments.
    *primals : pytree of arrays
        The point of linearization.

    Returns
    -------
    tuple
        ``(out, f_jvp)``; ``f_jvp(*tangents)`` returns J · tangents, shaped like out.

    Raises
    ------
    CotangentError
        f_jvp got tangents whose structure differs from the primals'.

    Examples
    --------
    >>> import pullback as pb, pullback.numpy as np
    >>> y, f_jvp = pb.linearize(np.exp, 0.0)
    >>> f_jvp(3.0)
    array(3.)
    """
    leaves, in_tree = tree_flatten(tuple(primals))
    if any(isinstance(x, Tracer) for x in leaves):
        out, _ = jvp(fun, primals, tuple(tree_map(_zeros_like, p) for p in primals))
        return out, lambda *tangents: jvp(fun, primals, tangents)[1]

    from .core.ir import eval_graph
    from .core.staging import abstractify, trace_flat

    leaves = [_as_value(x) for x in leaves]
    _check_differentiable(leaves, "linearize", "a primal")
    box: dict = {}

    def tangent_part(flat_t: list) -> list:
        out, t_out = jvp(fun, primals, tuple(tree_unflatten(in_tree, flat_t)))
        box["out"] = out
        t_leaves, box["tree"] = tree_flatten(t_out)
        return t_leaves

    graph = trace_flat(tangent_part, [abstractify(x) for x in leaves]).simplify()
    out_leaves, out_tree = tree_flatten(box["out"])
    out_leaves = _unaliased([_output_leaf(o.concrete() if isinstance(o, Tracer) else o) for o in out_leaves],
                            leaves + tree_flatten(tuple(primals))[0])
    out = tree_unflatten(out_tree, out_leaves)
    callers = leaves + tree_flatten(tuple(primals))[0] + out_leaves

    def f_jvp(*tangents):
        t_leaves, t_tree = tree_flatten(tuple(tangents))
        if t_tree != in_tree:
            raise CotangentError(f"linearize: tangents have structure {t_tree} but primals have {in_tree}")
        results = [_output_leaf(t) for t in eval_graph(graph, t_leaves)]
        return tree_unflatten(box["tree"], _unaliased(results, t_leaves + callers))  # never the caller's t

    return out, f_jvp


def linear_transpose(fun: Callable, *primals_like: Any) -> Callable:
    """The transpose of a linear function: ct ↦ (funᵀ ct, ...), shaped like primals_like.

    For a linear map y = A x, returns u ↦ (Aᵀ u,). fun must be linear in its arguments
    (its vjp is then the same at every point; primals_like only fixes shapes and dtypes).

    Parameters
    ----------
    fun : callable
        A linear function.
    *primals_like : pytree of arrays
        Arrays with the shapes and dtypes of fun's arguments (their values are not used).

    Returns
    -------
    callable
        ``transpose_fn(ct)``: a tuple with one result per argument of fun.

    Raises
    ------
    CotangentError
        transpose_fn got a cotangent that does not match fun's output.

    Examples
    --------
    >>> import numpy
    >>> import pullback as pb, pullback.numpy as np
    >>> A = numpy.array([[1.0, 2.0], [3.0, 4.0]])
    >>> t = pb.linear_transpose(lambda x: A @ x, numpy.zeros(2))
    >>> t(numpy.array([1.0, 0.0]))
    (array([1., 2.]),)
    """
    zeros = tuple(tree_map(lambda x: _zeros_like(_as_value(x)), p) for p in primals_like)
    _, vjp_fn = vjp(fun, *zeros)
    return vjp_fn


# ----------------------------------------------------------------------------- gradients


def value_and_grad(fun: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False,
                   allow_int: bool = False) -> Callable:
    """fun and its gradient with respect to the argnums arguments, in one reverse pass.

    Parameters
    ----------
    fun : callable
        A function returning a real scalar (or ``(scalar, aux)`` with has_aux).
    argnums : int or tuple of int, optional
        Which positional arguments to differentiate (default 0); negative numbers count from the end.
    has_aux : bool, optional
        fun returns ``(value, aux)``; aux is passed through undifferentiated.
    holomorphic : bool, optional
        JAX's holomorphic=True: every input and output must be complex (checked, raising
        NonDifferentiableInputError); for a holomorphic function the result is f'(z).
    allow_int : bool, optional
        JAX's allow_int=True: integer and boolean arguments are accepted and get a derivative
        of dtype pullback.float0 (no numbers).

    Returns
    -------
    callable
        ``g(*args)`` returning ``(value, grad)`` (``((value, aux), grad)`` with has_aux); grad has
        the structure of the argnums argument, or is a tuple of them when argnums is a tuple.

    Raises
    ------
    NonScalarOutputError
        fun returned a non-scalar or complex value.
    NonDifferentiableInputError
        A differentiated argument is an integer or boolean array.
    ArgnumsError
        argnums is out of range for the arguments given.
    HasAuxError
        has_aux=True but fun did not return a pair.

    Examples
    --------
    >>> import pullback as pb, pullback.numpy as np
    >>> pb.value_and_grad(lambda x: np.sum(x ** 2))(np.array([1.0, 2.0]))
    (np.float64(5.0), array([2., 4.]))
    """

    @functools.wraps(fun)
    def value_and_grad_fun(*args, **kwargs):
        nums, single = _argnums_tuple(argnums, len(args), "grad")
        flat = _Flat(fun, args, kwargs, nums, has_aux, "grad")
        for i in nums:
            leaves = [_as_value(x) for x in tree_flatten(args[i])[0]]
            if holomorphic:
                _check_holomorphic(leaves, "grad", f"argument {i}")
            if allow_int:
                leaves = [x for x in leaves if not _is_integral_dtype(dtype_of(x))]
            _check_differentiable(leaves, "grad", f"argument {i}")
        outs, pullback = vjp_flat(flat, flat.in_leaves)
        if len(outs) != 1 or shape_of(outs[0]) != ():
            shapes = [shape_of(o) for o in outs]
            raise NonScalarOutputError(
                f"grad requires the function to return a scalar, but it returned "
                f"{'shape ' + str(shapes[0]) if len(shapes) == 1 else f'{len(shapes)} arrays'}. "
                "Use pullback.jacrev or pullback.vjp for non-scalar outputs, or reduce the output "
                "(e.g. np.sum) first."
            )
        out = outs[0]
        if holomorphic:
            _check_holomorphic([out], "grad", "the output")
        elif dtype_of(out).kind == "c":
            raise NonScalarOutputError(
                f"grad requires a real-valued output, but the function returned {dtype_of(out)}. "
                "Take np.real / np.abs of it, use grad(..., holomorphic=True) for a holomorphic function, "
                "or pullback.vjp with a complex cotangent."
            )
        ct = ones_like_value((), dtype_of(out) if dtype_of(out).kind in "fc" else np.float64, out)
        gs = pullback([ct], once=True)
        leaves = _unaliased([_fit_ct(g, x) for g, x in zip(gs, flat.in_leaves)], flat.in_leaves)
        if allow_int:
            leaves = [np.zeros(shape_of(x), float0) if _is_integral_dtype(dtype_of(x)) else g
                      for g, x in zip(leaves, flat.in_leaves)]
        grads = tree_unflatten(flat.in_tree, leaves)
        g = grads[0] if single else tuple(grads)
        callers = list(flat.in_leaves) + tree_flatten(list(args))[0]
        (value,) = _unaliased([_output_leaf(out)], callers + leaves)
        if has_aux:
            return (value, _lower_aux(flat.aux, callers + leaves + [value])), g
        return value, g

    return value_and_grad_fun


def grad(fun: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False,
         allow_int: bool = False) -> Callable:
    """∇fun with respect to the argnums arguments (fun must return a real scalar).

    For f: Rⁿ → R, grad(f)(x) = ∂f/∂x, shaped like x (one reverse pass). Nest it for higher
    derivatives: grad(grad(f)).

    Parameters
    ----------
    fun : callable
        A function returning a real scalar (or ``(scalar, aux)`` with has_aux).
    argnums : int or tuple of int, optional
        Which positional arguments to differentiate (default 0).
    has_aux : bool, optional
        fun returns ``(value, aux)``; the gradient function then returns ``(grad, aux)``.
    holomorphic : bool, optional
        JAX's holomorphic=True: every input and output must be complex (checked, raising
        NonDifferentiableInputError); for a holomorphic function the result is f'(z).
    allow_int : bool, optional
        JAX's allow_int=True: integer and boolean arguments are accepted and get a derivative
        of dtype pullback.float0 (no numbers).

    Returns
    -------
    callable
        The gradient function, taking fun's arguments; a tuple of gradients when argnums is a tuple.

    Raises
    ------
    NonScalarOutputError
        fun returned a non-scalar or complex value (use jacrev or vjp).
    NonDifferentiableInputError
        A differentiated argument is an integer or boolean array (pass floats).
    ArgnumsError
        argnums is out of range for the arguments given.

    Examples
    --------
    >>> import pullback as pb, pullback.numpy as np
    >>> pb.grad(np.sin)(0.0)
    np.float64(1.0)
    >>> pb.grad(lambda x, y: x * y, argnums=(0, 1))(2.0, 3.0)
    (np.float64(3.0), np.float64(2.0))
    """
    vg = value_and_grad(fun, argnums, has_aux, holomorphic=holomorphic, allow_int=allow_int)

    @functools.wraps(fun)
    def grad_fun(*args, **kwargs):
        (value, g) = vg(*args, **kwargs)
        if has_aux:
            return g, value[1]
        return g

    return grad_fun


def elementwise_grad(fun: Callable, argnum: int = 0) -> Callable:
    """autograd's elementwise_grad: the vector-Jacobian product of fun with a cotangent of ones.

    For a function applied elementwise, (∂fun/∂x)ᵀ·1 is the derivative of each output entry with
    respect to its own input entry, shaped like x. For other functions it is the gradient of
    sum(fun(x)) (autograd's semantics, not a Jacobian diagonal).

    Parameters
    ----------
    fun : callable
        The function to differentiate.
    argnum : int, optional
        The position of the argument to differentiate (default 0).

    Returns
    -------
    callable
        A function of fun's arguments giving an array shaped like argument argnum.

    Raises
    ------
    NonDifferentiableInputError
        The argument is an integer or boolean array.

    Examples
    --------
    >>> import numpy, pullback as pb, pullback.numpy as np
    >>> pb.elementwise_grad(np.tanh)(numpy.array([0.0, 1.0]))
    array([1.        , 0.41997434])
    """

    @functools.wraps(fun)
    def egrad_fun(*args, **kwargs):
        (num,), _ = _argnums_tuple(argnum, len(args), "elementwise_grad")

        def f(x):
            full = list(args)
            full[num] = x
            return fun(*full, **kwargs)

        out, vjp_fn = vjp(f, args[num])
        return vjp_fn(tree_map(lambda o: ones_like_value(shape_of(o), dtype_of(o), o), out))[0]

    return egrad_fun


def stop_gradient(x: Any) -> Any:
    """x as a constant: no derivative flows through it, in any transformation.

    Parameters
    ----------
    x : pytree of arrays
        Any value, traced or not.

    Returns
    -------
    pytree of arrays
        The same values, cut off from differentiation.

    Examples
    --------
    >>> import pullback as pb, pullback.numpy as np
    >>> pb.grad(lambda x: x * pb.stop_gradient(x))(3.0)
    np.float64(3.0)
    """
    return tree_map(ew.stop_gradient, x)
