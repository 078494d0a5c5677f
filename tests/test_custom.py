"""Custom derivative rules: custom_vjp, custom_jvp (JAX semantics) and Function (torch style),
under grad, under jvp, nested, and with malformed rules."""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback.errors import CustomRuleError

RNG = np.random.default_rng(2)


def _clip(ct, lo=-1.0, hi=1.0):
    return pnp.minimum(pnp.maximum(ct, lo), hi)


# ----------------------------------------------------------------------------- custom_vjp


def make_sin_vjp(calls=None):
    @pb.custom_vjp
    def f(x):
        return pnp.sin(x)

    def f_fwd(x):
        return f(x), pnp.cos(x)

    def f_bwd(cos_x, ct):
        if calls is not None:
            calls.append(1)
        return (ct * cos_x,)

    f.defvjp(f_fwd, f_bwd)
    return f


def test_custom_vjp_outside_any_transformation_just_calls_the_function():
    f = make_sin_vjp()
    x = RNG.standard_normal(3)
    np.testing.assert_allclose(f(x), np.sin(x))


def test_custom_vjp_rule_is_used_under_grad():
    calls = []
    f = make_sin_vjp(calls)
    x = RNG.standard_normal(3)
    np.testing.assert_allclose(pb.grad(lambda x: pnp.sum(f(x)))(x), np.cos(x))
    assert len(calls) == 1


def test_custom_vjp_clipped_gradient_is_the_one_used():
    @pb.custom_vjp
    def clip_grad(x):
        return x

    clip_grad.defvjp(lambda x: (x, None), lambda _, ct: (_clip(ct),))
    x = RNG.standard_normal(4)
    g = pb.grad(lambda x: pnp.sum(10.0 * clip_grad(x)))(x)  # true gradient 10, clipped to 1
    np.testing.assert_array_equal(g, np.ones(4))
    g = pb.grad(lambda x: pnp.sum(0.5 * clip_grad(x)))(x)  # within the clip range: unchanged
    np.testing.assert_array_equal(g, np.full(4, 0.5))


def test_custom_vjp_nondiff_argnums_are_passed_to_bwd_first_and_get_no_cotangent():
    def _power(n, x):
        return x**n

    power = pb.custom_vjp(_power, nondiff_argnums=(0,))
    seen = []

    def fwd(n, x):
        return power(n, x), x

    def bwd(n, x, ct):
        seen.append(n)
        return (ct * n * x ** (n - 1),)

    power.defvjp(fwd, bwd)
    x = RNG.standard_normal(3)
    np.testing.assert_allclose(pb.grad(lambda x: pnp.sum(power(3, x)))(x), 3 * x**2)
    np.testing.assert_allclose(pb.jvp(lambda x: power(3, x), (x,), (np.ones(3),))[1], 3 * x**2)
    assert seen and all(n == 3 for n in seen)


def test_custom_vjp_with_two_arguments_and_pytree_output():
    @pb.custom_vjp
    def f(x, y):
        return {"p": x * y, "s": pnp.sum(x)}

    def fwd(x, y):
        return f(x, y), (x, y)

    def bwd(res, ct):
        x, y = res
        return (ct["p"] * y + ct["s"], ct["p"] * x)

    f.defvjp(fwd, bwd)
    x, y = RNG.standard_normal(3), RNG.standard_normal(3)
    loss = lambda x, y: pnp.sum(f(x, y)["p"] ** 2) + 3.0 * f(x, y)["s"]
    gx, gy = pb.grad(loss, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, 2 * x * y * y + 3.0)
    np.testing.assert_allclose(gy, 2 * x * y * x)


def test_custom_vjp_under_jvp_uses_the_transpose_of_bwd():
    @pb.custom_vjp
    def scaled(x):
        return pnp.sin(x)

    # deliberately not sin's derivative: forward mode must follow the rule, not the function
    scaled.defvjp(lambda x: (scaled(x), x), lambda x, ct: (ct * 2.0 * x,))
    x, v = RNG.standard_normal(3), RNG.standard_normal(3)
    out, t = pb.jvp(scaled, (x,), (v,))
    np.testing.assert_allclose(out, np.sin(x))
    np.testing.assert_allclose(t, 2.0 * x * v)


def test_custom_vjp_clipped_rule_under_jvp():
    @pb.custom_vjp
    def clip_grad(x):
        return x

    clip_grad.defvjp(lambda x: (x, None), lambda _, ct: (_clip(ct),))
    # the transpose of a nonlinear (clipping) bwd is taken at ct = 0: slope 1 there
    _, t = pb.jvp(clip_grad, (np.ones(2),), (np.array([0.5, 3.0]),))
    np.testing.assert_allclose(t, [0.5, 3.0])


def test_custom_vjp_grad_of_grad_differentiates_the_rule():
    @pb.custom_vjp
    def f(x):
        return pnp.sin(x)

    # a rule that is not sin's derivative, to see that nested derivatives come from it
    f.defvjp(lambda x: (f(x), x), lambda x, ct: (ct * (1.0 + x**2),))
    for x in (0.3, -1.2):
        assert np.isclose(pb.grad(f)(x), 1.0 + x**2)
        assert np.isclose(pb.grad(pb.grad(f))(x), 2 * x)
        assert np.isclose(pb.jvp(pb.grad(f), (x,), (1.0,))[1], 2 * x)
        assert np.isclose(pb.grad(lambda x: pb.jvp(f, (x,), (1.0,))[1])(x), 2 * x)


def test_custom_vjp_true_rule_second_derivatives_in_all_modes():
    f = make_sin_vjp()
    x = RNG.standard_normal(3)
    h_ref = -np.sin(x)
    gf = lambda x: pb.grad(lambda x: pnp.sum(f(x)))(x)
    np.testing.assert_allclose(pb.jvp(gf, (x,), (np.ones(3),))[1], h_ref)
    np.testing.assert_allclose(pb.vjp(gf, x)[1](np.ones(3))[0], h_ref)
    np.testing.assert_allclose(pb.hessian(lambda x: pnp.sum(f(x)))(x), np.diag(h_ref), atol=1e-15)


def test_custom_vjp_inside_a_function_that_is_differentiated_by_check_grads():
    f = make_sin_vjp()
    pb.testing.check_grads(lambda x: f(x) * pnp.exp(x), (RNG.standard_normal(3),), order=2)


def test_custom_vjp_used_before_defvjp_raises():
    @pb.custom_vjp
    def f(x):
        return x

    with pytest.raises(CustomRuleError, match="defvjp"):
        f(1.0)


def test_custom_vjp_bwd_returning_a_bare_array_raises_a_clear_error():
    @pb.custom_vjp
    def f(x):
        return 2.0 * x

    f.defvjp(lambda x: (f(x), None), lambda _, ct: 2.0 * ct)  # not a tuple
    with pytest.raises(CustomRuleError, match="tuple"):
        pb.grad(lambda x: pnp.sum(f(x)))(np.ones(3))


def test_custom_vjp_fwd_not_returning_a_pair_raises():
    @pb.custom_vjp
    def f(x):
        return 2.0 * x

    f.defvjp(lambda x: f(x), lambda _, ct: (2.0 * ct,))
    with pytest.raises(CustomRuleError, match="pair"):
        pb.grad(lambda x: pnp.sum(f(x)))(np.ones(3))


def test_custom_rule_closing_over_an_outer_transformations_variable_works():
    # grad over a of [grad over x of f(x)], f closing over a: the rule runs at a's level
    def outer(a):
        @pb.custom_vjp
        def f(x):
            return pnp.sin(x) * a

        f.defvjp(lambda x: (f(x), x), lambda x, ct: (ct * pnp.cos(x) * a,))
        return pb.grad(f)(0.3)  # = a cos(0.3)

    assert np.isclose(outer(2.0), 2.0 * np.cos(0.3))
    assert np.isclose(pb.grad(outer)(2.0), np.cos(0.3))
    assert np.isclose(pb.jvp(outer, (2.0,), (1.0,))[1], np.cos(0.3))


def _closing_vjp(a):
    @pb.custom_vjp
    def f(x):
        return x * a

    f.defvjp(lambda x: (f(x), None), lambda _, ct: (ct * a,))
    return f(a)


def _closing_jvp(a):
    @pb.custom_jvp
    def f(x):
        return x * a

    f.defjvp(lambda p, t: (f(p[0]), t[0] * a))
    return f(a)


def _closing_function(a):
    class Scale(pb.Function):
        @staticmethod
        def forward(ctx, x):
            return x * a

        @staticmethod
        def backward(ctx, g):
            return g * a

    return Scale.apply(a)


@pytest.mark.parametrize("fn", [_closing_vjp, _closing_jvp, _closing_function], ids=["custom_vjp", "custom_jvp",
                                                                                    "Function"])
def test_custom_rule_closing_over_the_variable_being_differentiated_is_refused(fn):
    # the rule would drop the closed-over variable's derivative (and used to leak tracers)
    for transform in (pb.grad(fn), lambda a: pb.jvp(fn, (a,), (1.0,))):
        with pytest.raises(CustomRuleError, match="closes over a value that is being differentiated"):
            transform(2.0)
    assert fn(2.0) == 4.0  # outside any transformation it is just the function


# ----------------------------------------------------------------------------- custom_jvp


def make_softplus():
    @pb.custom_jvp
    def softplus(x):
        return pnp.log1p(pnp.exp(x))

    @softplus.defjvp
    def softplus_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return softplus(x), t / (1.0 + pnp.exp(-x))

    return softplus


def test_custom_jvp_rule_is_used_under_jvp():
    calls = []

    @pb.custom_jvp
    def f(x):
        return pnp.sin(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        calls.append(1)
        (x,), (t,) = primals, tangents
        return f(x), 3.0 * t  # deliberately not cos(x)

    x, v = RNG.standard_normal(3), RNG.standard_normal(3)
    out, t = pb.jvp(f, (x,), (v,))
    np.testing.assert_allclose(out, np.sin(x))
    np.testing.assert_allclose(t, 3.0 * v)
    assert calls


def test_custom_jvp_under_grad_uses_the_transpose_of_the_rule():
    sp = make_softplus()
    x = np.array([-3.0, 0.0, 2.0, 40.0])
    np.testing.assert_allclose(pb.grad(lambda x: pnp.sum(sp(x)))(x), 1 / (1 + np.exp(-x)))


def test_custom_jvp_grad_of_grad_and_jvp_of_grad():
    sp = make_softplus()
    x = np.array([-1.0, 0.5])
    s = 1 / (1 + np.exp(-x))
    g = lambda x: pb.grad(lambda x: pnp.sum(sp(x)))(x)
    np.testing.assert_allclose(pb.jvp(g, (x,), (np.ones(2),))[1], s * (1 - s))
    np.testing.assert_allclose(pb.hessian(lambda x: pnp.sum(sp(x)))(x), np.diag(s * (1 - s)))
    for xi in x:
        np.testing.assert_allclose(pb.grad(pb.grad(sp))(xi), 1 / (1 + np.exp(-xi)) * (1 - 1 / (1 + np.exp(-xi))))


def test_custom_jvp_with_nondiff_argnums():
    def scale(k, x):
        return k * pnp.sin(x)

    f = pb.custom_jvp(scale, nondiff_argnums=(0,))

    @f.defjvp
    def f_jvp(k, primals, tangents):
        (x,), (t,) = primals, tangents
        return f(k, x), k * pnp.cos(x) * t

    x = RNG.standard_normal(3)
    np.testing.assert_allclose(pb.jvp(lambda x: f(2.0, x), (x,), (np.ones(3),))[1], 2.0 * np.cos(x))
    np.testing.assert_allclose(pb.grad(lambda x: pnp.sum(f(2.0, x)))(x), 2.0 * np.cos(x))


def test_custom_jvp_used_before_defjvp_raises():
    @pb.custom_jvp
    def f(x):
        return x

    with pytest.raises(CustomRuleError, match="defjvp"):
        f(1.0)


def test_custom_jvp_rule_not_returning_a_pair_raises():
    @pb.custom_jvp
    def f(x):
        return x

    f.defjvp(lambda primals, tangents: tangents[0])
    with pytest.raises(CustomRuleError, match="pair"):
        pb.jvp(f, (np.ones(2),), (np.ones(2),))


# ----------------------------------------------------------------------------- Function


class Exp(pb.Function):
    @staticmethod
    def forward(ctx, x):
        y = pnp.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class MulAdd(pb.Function):
    """(x * y + c) with a constant c that gets no gradient."""

    @staticmethod
    def forward(ctx, x, y, c):
        ctx.save_for_backward(x, y)
        return x * y + c

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * y, g * x, None


class NumpyCube(pb.Function):
    """forward and backward in plain NumPy on plain arrays."""

    @staticmethod
    def forward(ctx, x):
        assert isinstance(x, np.ndarray)
        ctx.save_for_backward(x)
        return np.power(x, 3)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return np.asarray(g) * 3.0 * np.square(x)


def test_function_apply_outside_a_transformation_runs_forward():
    x = RNG.standard_normal(3)
    np.testing.assert_allclose(Exp.apply(x), np.exp(x))


def test_function_backward_is_used_under_grad():
    x = RNG.standard_normal(3)
    np.testing.assert_allclose(pb.grad(lambda x: pnp.sum(Exp.apply(x)))(x), np.exp(x))


def test_function_with_several_inputs_and_a_constant():
    x, y = RNG.standard_normal(3), RNG.standard_normal(3)
    gx, gy = pb.grad(lambda x, y: pnp.sum(MulAdd.apply(x, y, 2.0) ** 2), argnums=(0, 1))(x, y)
    r = x * y + 2.0
    np.testing.assert_allclose(gx, 2 * r * y)
    np.testing.assert_allclose(gy, 2 * r * x)


def test_function_needs_input_grad_marks_the_traced_inputs():
    seen = []

    class Probe(pb.Function):
        @staticmethod
        def forward(ctx, x, y):
            seen.append(ctx.needs_input_grad)
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g, None

    pb.grad(lambda x: pnp.sum(Probe.apply(x, np.ones(2))))(np.ones(2))
    assert seen == [(True, False)]


def test_function_forward_in_plain_numpy_on_plain_array_works_under_grad():
    x = RNG.standard_normal(4)
    np.testing.assert_allclose(pb.grad(lambda x: pnp.sum(NumpyCube.apply(x)))(x), 3 * x**2)
    v, g = pb.value_and_grad(lambda x: pnp.sum(pnp.sin(NumpyCube.apply(x))))(x)
    np.testing.assert_allclose(g, np.cos(x**3) * 3 * x**2)


def test_function_without_jvp_gets_forward_mode_by_transposing_backward():
    x, v = RNG.standard_normal(3), RNG.standard_normal(3)
    out, t = pb.jvp(Exp.apply, (x,), (v,))
    np.testing.assert_allclose(out, np.exp(x))
    np.testing.assert_allclose(t, np.exp(x) * v)


def test_function_with_jvp_staticmethod_uses_it_in_forward_mode():
    calls = []

    class Sin(pb.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return pnp.sin(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * pnp.cos(x)

        @staticmethod
        def jvp(ctx, t):
            calls.append(1)
            (x,) = ctx.saved_tensors
            return 2.0 * t * pnp.cos(x)  # deliberately twice the true tangent

    x, v = RNG.standard_normal(3), RNG.standard_normal(3)
    _, t = pb.jvp(Sin.apply, (x,), (v,))
    assert calls
    np.testing.assert_allclose(t, 2.0 * v * np.cos(x))
    # reverse mode still uses backward
    np.testing.assert_allclose(pb.grad(lambda x: pnp.sum(Sin.apply(x)))(x), np.cos(x))


def test_function_grad_of_grad_and_jvp_of_grad():
    for x in (0.2, -1.1):
        assert np.isclose(pb.grad(pb.grad(Exp.apply))(x), np.exp(x))
        assert np.isclose(pb.grad(pb.grad(pb.grad(Exp.apply)))(x), np.exp(x))
        assert np.isclose(pb.jvp(pb.grad(Exp.apply), (x,), (1.0,))[1], np.exp(x))
        assert np.isclose(pb.grad(lambda x: pb.jvp(Exp.apply, (x,), (1.0,))[1])(x), np.exp(x))


def test_function_with_deliberately_different_backward_is_the_one_used():
    class ClipGrad(pb.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            return _clip(g, -0.5, 0.5)

    x = RNG.standard_normal(3)
    np.testing.assert_allclose(pb.grad(lambda x: pnp.sum(4.0 * ClipGrad.apply(x)))(x), np.full(3, 0.5))


def test_function_backward_with_wrong_number_of_gradients_raises_clear_error():
    class TooFew(pb.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g  # one gradient for two inputs

    with pytest.raises(CustomRuleError) as info:
        pb.grad(lambda x: pnp.sum(TooFew.apply(x, x)))(np.ones(2))
    msg = str(info.value)
    assert "TooFew.backward" in msg and "1" in msg and "2" in msg and "one per input" in msg


def test_function_backward_with_too_many_gradients_raises_clear_error():
    class TooMany(pb.Function):
        @staticmethod
        def forward(ctx, x):
            return 2.0 * x

        @staticmethod
        def backward(ctx, g):
            return 2.0 * g, g

    with pytest.raises(CustomRuleError, match="returned 2 gradients for 1 forward inputs"):
        pb.grad(lambda x: pnp.sum(TooMany.apply(x)))(np.ones(2))


# ----------------------------------------------------------------------------- every kind, every mode, order 3


def _D(mode, f):
    if mode == "fwd":
        return lambda x: pb.jvp(f, (x,), (1.0,))[1]
    return lambda x: pb.vjp(f, x)[1](1.0)[0]


@pb.custom_vjp
def _sin_vjp(x):
    return pnp.sin(x)


_sin_vjp.defvjp(lambda x: (_sin_vjp(x), x), lambda x, ct: (ct * pnp.cos(x),))


@pb.custom_jvp
def _sin_jvp(x):
    return pnp.sin(x)


_sin_jvp.defjvp(lambda p, t: (_sin_jvp(p[0]), pnp.cos(p[0]) * t[0]))


class _SinF(pb.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return pnp.sin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * pnp.cos(x)


class _SinFJ(_SinF):
    @staticmethod
    def jvp(ctx, t):
        (x,) = ctx.saved_tensors
        return t * pnp.cos(x)


_KINDS = {"custom_vjp": _sin_vjp, "custom_jvp": _sin_jvp, "Function": _SinF.apply, "Function+jvp": _SinFJ.apply}
_MODES3 = [(a, b, c) for a in ("fwd", "rev") for b in ("fwd", "rev") for c in ("fwd", "rev")]


@pytest.mark.parametrize("modes", _MODES3, ids="-".join)
@pytest.mark.parametrize("kind", list(_KINDS))
def test_custom_rules_third_derivative_in_every_mode_combination(kind, modes):
    f = _KINDS[kind]
    d3 = _D(modes[0], _D(modes[1], _D(modes[2], f)))
    np.testing.assert_allclose(d3(0.4), -np.cos(0.4), rtol=1e-12)


# ----------------------------------------------------------------------------- several outputs


def test_function_with_two_outputs_gets_a_gradient_for_each():
    class SinCos(pb.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return pnp.sin(x), pnp.cos(x)

        @staticmethod
        def backward(ctx, g_sin, g_cos):
            (x,) = ctx.saved_tensors
            return g_sin * pnp.cos(x) - g_cos * pnp.sin(x)

    x = RNG.standard_normal(3)
    s, c = SinCos.apply(x)
    np.testing.assert_allclose(s, np.sin(x))
    # only one output used: the other's cotangent is zero
    np.testing.assert_allclose(pb.grad(lambda x: pnp.sum(SinCos.apply(x)[1]))(x), -np.sin(x))
    J = pb.jacrev(lambda x: pnp.stack(SinCos.apply(x)))(x)
    np.testing.assert_allclose(J, np.stack([np.diag(np.cos(x)), np.diag(-np.sin(x))]), atol=1e-15)
    np.testing.assert_allclose(pb.jacfwd(lambda x: pnp.stack(SinCos.apply(x)))(x), J, atol=1e-15)


def test_custom_vjp_with_tuple_output_under_jvp_and_grad():
    @pb.custom_vjp
    def f(x, y):
        return x * y, x + y

    f.defvjp(lambda x, y: (f(x, y), (x, y)), lambda r, ct: (ct[0] * r[1] + ct[1], ct[0] * r[0] + ct[1]))
    out, t = pb.jvp(f, (2.0, 3.0), (1.0, 0.5))
    assert np.allclose(out, (6.0, 5.0)) and np.allclose(t, (3.0 + 0.5 * 2.0, 1.5))
    assert np.allclose(pb.grad(lambda x, y: f(x, y)[0], argnums=(0, 1))(2.0, 3.0), (3.0, 2.0))


def test_custom_vjp_bwd_may_return_none_for_a_zero_gradient():
    @pb.custom_vjp
    def f(x, y):
        return x * y

    f.defvjp(lambda x, y: (f(x, y), y), lambda y, ct: (ct * y, None))
    gx, gy = pb.grad(f, argnums=(0, 1))(2.0, 3.0)
    assert gx == 3.0 and gy == 0.0
    _, t = pb.jvp(f, (2.0, 3.0), (1.0, 1.0))
    assert t == 3.0


# ----------------------------------------------------------------------------- malformed gradients and tangents


def test_custom_vjp_bwd_gradient_of_wrong_shape_is_refused():
    @pb.custom_vjp
    def f(x):
        return 2.0 * x

    f.defvjp(lambda x: (f(x), None), lambda _, ct: (pnp.ones(3) * pnp.sum(ct),))
    for x in (np.ones(2), 1.0):  # (3,) vs (2,) used to be a NumPy error, (3,) vs () a silent sum
        with pytest.raises(CustomRuleError, match=r"gradient of shape \(3,\) for input 0 of shape"):
            pb.grad(lambda x: pnp.sum(f(x)))(x)


def test_custom_vjp_bwd_gradient_of_wrong_structure_is_refused():
    @pb.custom_vjp
    def f(p):
        return p["a"] * p["b"]

    f.defvjp(lambda p: (f(p), p), lambda p, ct: ({"a": ct * p["b"]},))  # "b" missing
    with pytest.raises(CustomRuleError, match="structure"):
        pb.grad(lambda p: pnp.sum(f(p)))({"a": np.ones(2), "b": np.ones(2)})


def test_custom_vjp_bwd_with_wrong_number_of_entries_is_refused():
    @pb.custom_vjp
    def f(x):
        return 2.0 * x

    f.defvjp(lambda x: (f(x), None), lambda _, ct: (ct, ct))
    with pytest.raises(CustomRuleError, match=r"one entry per differentiable input \(1\).*length 2"):
        pb.grad(lambda x: pnp.sum(f(x)))(np.ones(2))


def test_function_backward_gradient_of_broadcast_shape_is_summed_like_torch():
    class Bcast(pb.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, g):
            return pnp.broadcast_to(g * 2.0, (4,) + g.shape)  # 4x too many rows: torch sums them

    x = np.ones(3)
    np.testing.assert_allclose(pb.grad(lambda x: pnp.sum(Bcast.apply(x)))(x), np.full(3, 8.0))


def test_function_backward_gradient_of_incompatible_shape_is_refused():
    class Bad(pb.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, g):
            return pnp.ones(5)

    with pytest.raises(CustomRuleError, match=r"Bad.backward returned a gradient of shape \(5,\)"):
        pb.grad(lambda x: pnp.sum(Bad.apply(x)))(np.ones(3))


def test_custom_jvp_tangent_of_wrong_shape_is_refused_in_both_modes():
    @pb.custom_jvp
    def f(x):
        return 2.0 * x

    f.defjvp(lambda p, t: (f(p[0]), pnp.sum(t[0]) * pnp.ones(5)))
    with pytest.raises(CustomRuleError, match=r"tangent of shape \(5,\) for an output of shape \(2,\)"):
        pb.jvp(f, (np.ones(2),), (np.ones(2),))
    with pytest.raises(CustomRuleError, match="tangent of shape"):
        pb.grad(lambda x: pnp.sum(f(x)))(np.ones(2))


def test_function_jvp_tangent_of_wrong_shape_is_refused():
    class Bad(pb.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, g):
            return 2.0 * g

        @staticmethod
        def jvp(ctx, t):
            return pnp.sum(t)

    with pytest.raises(CustomRuleError, match="Bad.jvp returned a tangent of shape"):
        pb.jvp(Bad.apply, (np.ones(2),), (np.ones(2),))


@pytest.mark.skipif(not hasattr(pb, "jit"), reason="pb.jit not available")
def test_custom_rules_under_jit_are_not_mistaken_for_closures():
    f = lambda x: pnp.sum(_SinF.apply(x) + _sin_vjp(x) + _sin_jvp(x))
    x = RNG.standard_normal(3)
    np.testing.assert_allclose(pb.jit(f)(x), 3 * np.sum(np.sin(x)))
    np.testing.assert_allclose(pb.jit(pb.grad(f))(x), 3 * np.cos(x))
