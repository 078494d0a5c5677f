"""Custom derivative rules: custom_vjp and custom_jvp (JAX semantics) and Function (torch style).

A custom call is applied like a primitive: the top trace among its arguments
interprets it, through two hooks every rule object provides:
- ``fwd(primals) -> (outputs, bwd)`` for reverse mode, bwd(cts, needs) -> input cts;
- ``jvp(primals, tangents) -> (outputs, output tangents)`` for forward mode.
A rule given only one direction gets the other by transposition (seed 002): the
reverse rule is linear in the cotangent, so its own vjp is the forward rule, and the
same holds the other way round. Rules must be written with pullback operations for
that (and for higher-order derivatives) to work.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from .core.ad import vjp_flat
from .core.trace import Tracer, find_top_trace
from .core.tree import tree_flatten, tree_unflatten
from .errors import CustomRuleError
from .primitives._util import dtype_of, shape_of


def _zeros(x):
    return np.zeros(shape_of(x), dtype_of(x))


def _transpose_linear(linear_fun: Callable[[list], list], at: list, cts: list) -> list:
    """Apply the transpose of a linear function of a flat list (evaluated around `at`) to `cts`."""
    _, pullback = vjp_flat(linear_fun, at)
    return pullback(cts)


def _flatten_result(value: Any, n: int, who: str) -> list:
    """A rule's per-input result (tuple with one entry per input, None for zero) as a flat list."""
    if not isinstance(value, (tuple, list)) or len(value) != n:
        raise CustomRuleError(
            f"{who} must return a tuple with one entry per differentiable input ({n}), "
            f"got {type(value).__name__}{'' if not isinstance(value, (tuple, list)) else f' of length {len(value)}'}."
        )
    return list(value)


class _Call:
    """One application of a custom function to arguments: knows which leaves are differentiable."""

    def __init__(self, args: tuple, nondiff_argnums: tuple):
        self.args = args
        self.nondiff_argnums = nondiff_argnums
        self.diff_pos = [i for i in range(len(args)) if i not in nondiff_argnums]
        self.leaves, self.in_tree = tree_flatten(tuple(args[i] for i in self.diff_pos))
        self.out_tree = None

    def rebuild(self, leaves: list) -> list:
        args = list(self.args)
        for i, v in zip(self.diff_pos, tree_unflatten(self.in_tree, leaves)):
            args[i] = v
        return args

    def nondiff(self) -> list:
        return [self.args[i] for i in self.nondiff_argnums]

    def flat_out(self, out: Any) -> list:
        leaves, tree = tree_flatten(out)
        if self.out_tree is not None and tree != self.out_tree:
            raise CustomRuleError(f"custom rule output structure {tree} differs from the function's {self.out_tree}")
        self.out_tree = tree
        # Python numbers become 0-d arrays: every trace reads .shape and .dtype off its outputs
        return [x if isinstance(x, (Tracer, np.ndarray, np.generic)) else np.asarray(x) for x in leaves]

    def input_cts(self, per_arg: list, who: str, reduce_broadcast: bool = False) -> list:
        """Per-argument cotangents (None allowed) → flat leaf cotangents (None for zero).

        Each must have its argument's structure and shape; with reduce_broadcast (torch's rule)
        a cotangent of a shape the argument broadcasts to is summed down to the argument's shape.
        """
        from .primitives.elementwise import fit

        out = []
        for k, (arg_ct, arg) in enumerate(zip(per_arg, (self.args[i] for i in self.diff_pos))):
            arg_leaves, arg_tree = tree_flatten(arg)
            if arg_ct is None:
                out.extend([None] * len(arg_leaves))
                continue
            ct_leaves, ct_tree = tree_flatten(arg_ct)
            if len(ct_leaves) != len(arg_leaves) or (len(arg_leaves) > 1 and ct_tree != arg_tree):
                raise CustomRuleError(
                    f"{who} returned a gradient with structure {ct_tree} for input {k}, whose structure is "
                    f"{arg_tree}; return one with the input's structure, or None for a zero gradient."
                )
            for c, a in zip(ct_leaves, arg_leaves):
                cs, xs = shape_of(c), shape_of(a)
                if cs != xs:
                    if not (reduce_broadcast and _broadcasts_to(xs, cs)):
                        raise CustomRuleError(
                            f"{who} returned a gradient of shape {cs} for input {k} of shape {xs}; "
                            "a gradient must have its input's shape."
                        )
                    c = fit(c, a)
                out.append(c)
        return out


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def _check_tangents(t_outs: list, outs: list, who: str) -> list:
    for t, o in zip(t_outs, outs):
        if t is not None and shape_of(t) != shape_of(o):
            raise CustomRuleError(
                f"{who} returned a tangent of shape {shape_of(t)} for an output of shape {shape_of(o)}; "
                "a tangent must have its output's shape."
            )
    return t_outs


def _check_no_closure(values: list, level: int, who: str) -> list:
    """Refuse rule outputs that carry a traced value of the transformation applying the rule.

    The rule's function runs on the values one level down, so such a tracer can only come
    from a closure over a variable being differentiated: its derivative would be lost.
    """
    for v in values:
        if isinstance(v, Tracer) and v._trace.level >= level:
            raise CustomRuleError(
                f"{who} closes over a value that is being differentiated (a traced variable of an "
                "enclosing grad/jvp/vjp); its derivative cannot flow through the custom rule. Pass "
                "that value as an explicit argument of the custom function, or wrap it in "
                "pullback.stop_gradient if it is a constant."
            )
    return values


def _apply(rule_obj, call: _Call) -> Any:
    top = find_top_trace(call.leaves)
    rule_obj.level = top.level
    outs = top.process_custom(rule_obj, call.leaves)
    return tree_unflatten(call.out_tree, outs)


# ----------------------------------------------------------------------------- custom_vjp


class custom_vjp:
    """A function with a user-defined reverse rule (JAX semantics).

        @custom_vjp
        def f(x): ...
        def f_fwd(x): return f(x), residuals
        def f_bwd(residuals, ct): return (ct_x,)      # one entry per argument
        f.defvjp(f_fwd, f_bwd)

    Arguments in nondiff_argnums are passed to f_bwd first and get no cotangent.
    Under forward mode, the jvp is the transpose of f_bwd (it is linear in ct).
    See docs/custom-rules.md.

    Parameters
    ----------
    fun : callable
        The primal function (used as is when no derivative is taken).
    nondiff_argnums : tuple of int, optional
        Positions of non-differentiable arguments (Python values, flags, callables).

    Returns
    -------
    custom_vjp
        A callable wrapping fun; call ``.defvjp(fwd, bwd)`` on it before differentiating.

    Raises
    ------
    CustomRuleError
        The function is differentiated before defvjp, fwd does not return a pair, or bwd
        returns the wrong number, structure or shapes of cotangents.

    Examples
    --------
    >>> import pullback as pb, pullback.numpy as np
    >>> @pb.custom_vjp
    ... def clipped_sqrt(x):
    ...     return np.sqrt(x)
    >>> def fwd(x):
    ...     y = np.sqrt(x)
    ...     return y, y
    >>> def bwd(y, ct):
    ...     return (ct / (2.0 * np.maximum(y, 1e-3)),)
    >>> clipped_sqrt.defvjp(fwd, bwd)
    >>> pb.grad(clipped_sqrt)(4.0), pb.grad(clipped_sqrt)(0.0)
    (np.float64(0.25), np.float64(500.0))
    """

    def __init__(self, fun: Callable, nondiff_argnums: tuple = ()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd_rule = self.bwd_rule = None

    def defvjp(self, fwd: Callable, bwd: Callable) -> None:
        self.fwd_rule, self.bwd_rule = fwd, bwd

    def __call__(self, *args: Any) -> Any:
        if self.fwd_rule is None:
            raise CustomRuleError(f"custom_vjp function {self.__name__!r} is used before defvjp(fwd, bwd) was called")
        call = _Call(args, self.nondiff_argnums)
        if find_top_trace(call.leaves) is None:
            return self.fun(*args)
        return _apply(_CustomVJPRule(self, call), call)


class _CustomVJPRule:
    def __init__(self, cv: custom_vjp, call: _Call):
        self.cv, self.call = cv, call

    def _fwd(self, primals):
        res = self.cv.fwd_rule(*self.call.rebuild(primals))
        if not (isinstance(res, tuple) and len(res) == 2):
            raise CustomRuleError("the fwd rule of a custom_vjp must return a pair (output, residuals)")
        out, residuals = res
        outs = _check_no_closure(self.call.flat_out(out), self.level, f"custom_vjp function {self.cv.__name__!r}")
        return outs, residuals

    def _bwd(self, residuals, cts: list) -> list:
        ct_tree = tree_unflatten(self.call.out_tree, cts)
        per_arg = self.cv.bwd_rule(*self.call.nondiff(), residuals, ct_tree)
        who = "a custom_vjp bwd rule"
        return self.call.input_cts(_flatten_result(per_arg, len(self.call.diff_pos), who), who)

    def primal(self, primals):
        return self.call.flat_out(self.cv.fun(*self.call.rebuild(primals)))

    def primal_bind(self, primals):
        """The custom function applied one level down, where its rules still apply."""
        return self.call.flat_out(self.cv(*self.call.rebuild(primals)))

    def fwd(self, primals):
        outs, residuals = self._fwd(primals)
        return outs, lambda cts, needs: self._bwd(residuals, list(cts))

    def jvp(self, primals, tangents):
        outs, residuals = self._fwd(primals)
        if all(t is None for t in tangents):
            return outs, [None] * len(outs)
        t_outs = _transpose_linear(lambda cts: self._bwd(residuals, cts), [_zeros(o) for o in outs], tangents)
        return outs, t_outs


# ----------------------------------------------------------------------------- custom_jvp


class custom_jvp:
    """A function with a user-defined forward rule (JAX semantics).

        @custom_jvp
        def f(x): ...
        @f.defjvp
        def f_jvp(primals, tangents): return f(*primals), tangent_out

    Under reverse mode the vjp is the transpose of the rule's tangent map (linear in tangents).
    See docs/custom-rules.md.

    Parameters
    ----------
    fun : callable
        The primal function.
    nondiff_argnums : tuple of int, optional
        Positions of non-differentiable arguments; the rule receives them first.

    Returns
    -------
    custom_jvp
        A callable wrapping fun; decorate the rule with ``@f.defjvp``.

    Raises
    ------
    CustomRuleError
        The function is differentiated before defjvp, or the rule does not return a pair
        (primal_out, tangent_out) matching fun's output.

    Examples
    --------
    >>> import pullback as pb, pullback.numpy as np
    >>> @pb.custom_jvp
    ... def softplus(x):
    ...     return np.logaddexp(x, 0.0)
    >>> @softplus.defjvp
    ... def softplus_jvp(primals, tangents):
    ...     (x,), (t,) = primals, tangents
    ...     return softplus(x), t / (1.0 + np.exp(-x))
    >>> pb.grad(softplus)(0.0)
    np.float64(0.5)
    """

    def __init__(self, fun: Callable, nondiff_argnums: tuple = ()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.jvp_rule = None

    def defjvp(self, jvp_rule: Callable) -> Callable:
        self.jvp_rule = jvp_rule
        return jvp_rule

    def __call__(self, *args: Any) -> Any:
        if self.jvp_rule is None:
            raise CustomRuleError(f"custom_jvp function {self.__name__!r} is used before defjvp(rule) was called")
        call = _Call(args, self.nondiff_argnums)
        if find_top_trace(call.leaves) is None:
            return self.fun(*args)
        return _apply(_CustomJVPRule(self, call), call)


class _CustomJVPRule:
    def __init__(self, cj: custom_jvp, call: _Call):
        self.cj, self.call = cj, call

    def _rule(self, primals, tangents):
        call = self.call
        p_args = [call.rebuild(primals)[i] for i in call.diff_pos]
        t_args = [call.rebuild(tangents)[i] for i in call.diff_pos]
        res = self.cj.jvp_rule(*call.nondiff(), tuple(p_args), tuple(t_args))
        if not (isinstance(res, tuple) and len(res) == 2):
            raise CustomRuleError("a custom_jvp rule must return a pair (primal_out, tangent_out)")
        out, t_out = res
        return call.flat_out(out), call.flat_out(t_out)

    def primal(self, primals):
        return self.call.flat_out(self.cj.fun(*self.call.rebuild(primals)))

    def primal_bind(self, primals):
        """The custom function applied one level down, where its rules still apply."""
        return self.call.flat_out(self.cj(*self.call.rebuild(primals)))

    def jvp(self, primals, tangents):
        tangents = [_zeros(p) if t is None else t for p, t in zip(primals, tangents)]
        outs, t_outs = self._rule(primals, tangents)
        who = f"custom_jvp function {self.cj.__name__!r}"
        _check_tangents(t_outs, outs, f"the jvp rule of {who}")
        return _check_no_closure(outs, self.level, who), _check_no_closure(t_outs, self.level, who)

    def fwd(self, primals):
        # The primal output comes from the function itself one level down, where the
        # custom rule applies again if that level is a transformation too.
        outs = self.call.flat_out(self.cj(*self.call.rebuild(primals)))
        _check_no_closure(outs, self.level, f"custom_jvp function {self.cj.__name__!r}")

        def bwd(cts, needs):
            zeros = [_zeros(p) for p in primals]
            who = f"the jvp rule of custom_jvp function {self.cj.__name__!r}"
            rule = lambda ts: _check_tangents(self._rule(primals, ts)[1], outs, who)  # noqa: E731
            return _transpose_linear(rule, zeros, list(cts))

        return outs, bwd


# ----------------------------------------------------------------------------- Function


class FunctionCtx:
    """The `ctx` of a Function: save_for_backward / saved_tensors, needs_input_grad, free attributes.

    ``ctx.save_for_backward(*values)`` keeps values for backward (read back as
    ``ctx.saved_tensors``); ``ctx.save_for_forward(*values)`` does the same for the optional jvp;
    ``ctx.needs_input_grad`` tells which inputs need a gradient; any other attribute may be set
    in forward and read in backward.

    Examples
    --------
    >>> import pullback as pb
    >>> ctx = pb.FunctionCtx()
    >>> ctx.save_for_backward(1.0, 2.0)
    >>> ctx.saved_tensors
    (1.0, 2.0)
    """

    def __init__(self):
        self.saved_tensors: tuple = ()
        self.needs_input_grad: tuple = ()

    def save_for_backward(self, *values: Any) -> None:
        self.saved_tensors = values

    def save_for_forward(self, *values: Any) -> None:
        self.saved_tensors = values


class Function:
    """A torch.autograd.Function-style primitive:

        class Exp(pb.Function):
            @staticmethod
            def forward(ctx, x):
                y = np.exp(x); ctx.save_for_backward(y); return y
            @staticmethod
            def backward(ctx, g):
                (y,) = ctx.saved_tensors; return g * y
        Exp.apply(x)

    backward returns one gradient per forward input (None for none). An optional
    `jvp(ctx, *tangents)` staticmethod serves forward mode; without it forward mode
    uses the transpose of backward. forward/backward use pullback.numpy so that
    higher derivatives work. See docs/custom-rules.md.

    Raises
    ------
    CustomRuleError
        forward or backward is missing, or backward returns the wrong number or shapes of gradients.

    Examples
    --------
    >>> import pullback as pb, pullback.numpy as np
    >>> class Exp(pb.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         y = np.exp(x)
    ...         ctx.save_for_backward(y)
    ...         return y
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         (y,) = ctx.saved_tensors
    ...         return g * y
    >>> pb.grad(Exp.apply)(0.0), pb.grad(pb.grad(Exp.apply))(0.0)
    (np.float64(1.0), np.float64(1.0))
    """

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any) -> Any:  # pragma: no cover - overridden
        raise CustomRuleError("a pullback.Function subclass must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx: FunctionCtx, *grads: Any) -> Any:  # pragma: no cover - overridden
        raise CustomRuleError("a pullback.Function subclass must define backward(ctx, *grad_outputs)")

    @classmethod
    def apply(cls, *args: Any) -> Any:
        from .core.trace import Tracer

        nondiff = tuple(i for i, a in enumerate(args) if not isinstance(a, Tracer))
        call = _Call(args, nondiff)
        if not call.diff_pos:
            return cls.forward(FunctionCtx(), *args)
        return _apply(_FunctionRule(cls, call), call)


class _FunctionRule:
    def __init__(self, cls: type, call: _Call):
        self.cls, self.call = cls, call

    def _forward(self, primals):
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(i in self.call.diff_pos for i in range(len(self.call.args)))
        out = self.cls.forward(ctx, *self.call.rebuild(primals))
        self.single = not isinstance(out, tuple)
        return ctx, self.call.flat_out(out)

    def _forward_for_derivative(self, primals):
        ctx, outs = self._forward(primals)
        return ctx, _check_no_closure(outs, self.level, f"{self.cls.__name__}.forward")

    def _backward(self, ctx, cts: list) -> list:
        grads = self.cls.backward(ctx, *cts)
        if not isinstance(grads, tuple):
            grads = (grads,)
        nargs = len(self.call.args)
        if len(grads) != nargs:
            raise CustomRuleError(
                f"{self.cls.__name__}.backward returned {len(grads)} gradients for {nargs} forward inputs; "
                "return one per input (None where there is none)."
            )
        return self.call.input_cts(
            [grads[i] for i in self.call.diff_pos], f"{self.cls.__name__}.backward", reduce_broadcast=True
        )

    def primal(self, primals):
        return self._forward(primals)[1]

    def primal_bind(self, primals):
        """The Function applied one level down, where its rules still apply."""
        return self.call.flat_out(self.cls.apply(*self.call.rebuild(primals)))

    def fwd(self, primals):
        ctx, outs = self._forward_for_derivative(primals)
        return outs, lambda cts, needs: self._backward(ctx, list(cts))

    def jvp(self, primals, tangents):
        ctx, outs = self._forward_for_derivative(primals)
        if all(t is None for t in tangents):
            return outs, [None] * len(outs)
        if hasattr(self.cls, "jvp"):
            full = self.call.rebuild([_zeros(p) if t is None else t for p, t in zip(primals, tangents)])
            t_args = [full[i] if i in self.call.diff_pos else None for i in range(len(full))]
            t_out = self.cls.jvp(ctx, *t_args)
            t_outs = _check_tangents(self.call.flat_out(t_out), outs, f"{self.cls.__name__}.jvp")
            return outs, _check_no_closure(t_outs, self.level, f"{self.cls.__name__}.jvp")
        t_outs = _transpose_linear(lambda cts: self._backward(ctx, cts), [_zeros(o) for o in outs], tangents)
        return outs, t_outs
