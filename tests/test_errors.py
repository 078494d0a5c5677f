"""Errors: each misuse raises a class from pullback.errors with a message that says what to do."""

from __future__ import annotations

import math

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback import errors as E

X = np.array([0.5, -1.0, 2.0])


def test_every_error_class_is_a_pullback_error_and_a_builtin_error():
    pairs = {
        E.NonScalarOutputError: TypeError,
        E.NonDifferentiableInputError: TypeError,
        E.CotangentError: ValueError,
        E.TracerConversionError: TypeError,
        E.UnsupportedFunctionError: NotImplementedError,
        E.HasAuxError: TypeError,
        E.ArgnumsError: ValueError,
        E.EscapedTracerError: RuntimeError,
        E.PytreeError: TypeError,
        E.CustomRuleError: TypeError,
    }
    for cls, builtin in pairs.items():
        assert issubclass(cls, E.PullbackError) and issubclass(cls, builtin)
    assert pb.PullbackError is E.PullbackError


# ----------------------------------------------------------------------------- grad misuse


def test_grad_of_non_scalar_output_points_to_jacrev_and_vjp():
    with pytest.raises(E.NonScalarOutputError) as info:
        pb.grad(lambda x: x * 2.0)(X)
    msg = str(info.value)
    assert "scalar" in msg and "(3,)" in msg and "jacrev" in msg and "vjp" in msg


def test_grad_of_shape_one_output_is_not_a_scalar():
    with pytest.raises(E.NonScalarOutputError, match=r"shape \(1,\)"):
        pb.grad(lambda x: x[:1])(X)


def test_grad_of_pytree_output_is_not_a_scalar():
    with pytest.raises(E.NonScalarOutputError, match="2 arrays"):
        pb.grad(lambda x: (pnp.sum(x), pnp.sum(x)))(X)


def test_grad_of_complex_output_asks_for_a_real_output():
    with pytest.raises(E.NonScalarOutputError, match="real"):
        pb.grad(lambda x: pnp.sum(x * (1 + 2j)))(X)


@pytest.mark.parametrize("arg", [np.arange(3), 3, np.array([True, False]), np.int32(2)],
                         ids=["int-array", "python-int", "bool-array", "int32-scalar"])
def test_grad_of_integer_or_bool_input_is_refused(arg):
    with pytest.raises(E.NonDifferentiableInputError) as info:
        pb.grad(lambda x: pnp.sum(x * 1.0))(arg)
    msg = str(info.value)
    assert "floating-point" in msg and "argument 0" in msg and "astype(float)" in msg


def test_grad_integer_argument_outside_argnums_is_fine():
    g = pb.grad(lambda x, n: pnp.sum(x**n))(X, 3)
    np.testing.assert_allclose(g, 3 * X**2)


def test_grad_of_pytree_with_an_integer_leaf_is_refused():
    with pytest.raises(E.NonDifferentiableInputError, match="int"):
        pb.grad(lambda p: pnp.sum(p["a"]) + pnp.sum(p["b"]))({"a": X, "b": np.arange(2)})


def test_vjp_and_jvp_of_integer_input_are_refused():
    with pytest.raises(E.NonDifferentiableInputError, match="vjp"):
        pb.vjp(lambda x: x, np.arange(3))
    with pytest.raises(E.NonDifferentiableInputError, match="jvp"):
        pb.jvp(lambda x: x, (np.arange(3),), (np.ones(3),))


@pytest.mark.parametrize("argnums", [1, -2, (0, 2), (5,)])
def test_argnums_out_of_range_is_refused_with_the_argument_count(argnums):
    with pytest.raises(E.ArgnumsError) as info:
        pb.grad(lambda x: pnp.sum(x), argnums=argnums)(X)
    msg = str(info.value)
    assert "argnums" in msg and "1 positional argument" in msg


@pytest.mark.parametrize("transform", [pb.jacfwd, pb.jacrev, pb.value_and_grad])
def test_argnums_out_of_range_in_jacobians(transform):
    with pytest.raises(E.ArgnumsError, match="argnums=3"):
        transform(lambda x, y: x * y, argnums=3)(X, X)


@pytest.mark.parametrize("argnums", [(0, 0), (0, -2)])
def test_argnums_naming_an_argument_twice_is_refused(argnums):
    # it used to give the first copy a zero gradient silently
    for transform in (pb.grad, pb.jacrev, pb.jacfwd):
        with pytest.raises(E.ArgnumsError, match="more than once"):
            transform(lambda x, y: pnp.sum(x * y), argnums=argnums)(X, X)


# ----------------------------------------------------------------------------- has_aux


@pytest.mark.parametrize("bad", [lambda x: pnp.sum(x), lambda x: (pnp.sum(x), 1, 2), lambda x: [pnp.sum(x)]],
                         ids=["bare-output", "triple", "one-element-list"])
def test_has_aux_function_not_returning_a_pair_is_refused(bad):
    with pytest.raises(E.HasAuxError) as info:
        pb.grad(bad, has_aux=True)(X)
    msg = str(info.value)
    assert "has_aux=True" in msg and "pair" in msg and "(output, aux)" in msg


def test_has_aux_error_in_vjp_names_vjp():
    with pytest.raises(E.HasAuxError, match=r"^vjp\(\.\.\., has_aux=True\)"):
        pb.vjp(lambda x: x, X, has_aux=True)


# ----------------------------------------------------------------------------- cotangents and tangents


def test_vjp_fn_refuses_cotangent_of_wrong_shape():
    _, vjp_fn = pb.vjp(lambda x: x * 2.0, X)
    with pytest.raises(E.CotangentError) as info:
        vjp_fn(np.ones(4))
    msg = str(info.value)
    assert "(4,)" in msg and "(3,)" in msg and "shape" in msg


def test_vjp_fn_refuses_scalar_cotangent_for_vector_output():
    _, vjp_fn = pb.vjp(lambda x: x * 2.0, X)
    with pytest.raises(E.CotangentError, match="shape"):
        vjp_fn(1.0)


@pytest.mark.parametrize("ct,words", [
    (np.ones(3, dtype=np.int64), ["int64", "floating point"]),
    (np.ones(3, dtype=bool), ["bool", "floating point"]),
    (np.ones(3, dtype=complex), ["complex", "real output"]),
], ids=["int", "bool", "complex-for-real"])
def test_vjp_fn_refuses_cotangent_of_wrong_dtype(ct, words):
    _, vjp_fn = pb.vjp(lambda x: x * 2.0, X)
    with pytest.raises(E.CotangentError) as info:
        vjp_fn(ct)
    for w in words:
        assert w in str(info.value)


@pytest.mark.parametrize("ct", [
    (np.ones(3),),
    [np.ones(3)],
    {"a": np.ones(3)},
], ids=["tuple", "list", "dict"])
def test_vjp_fn_refuses_cotangent_of_wrong_structure(ct):
    _, vjp_fn = pb.vjp(lambda x: x * 2.0, X)
    with pytest.raises(E.CotangentError, match="structure"):
        vjp_fn(ct)


def test_vjp_fn_structure_error_shows_the_dict_keys():
    _, vjp_fn = pb.vjp(lambda x: {"a": x, "b": x}, X)
    with pytest.raises(E.CotangentError) as info:
        vjp_fn({"a": X, "c": X})
    msg = str(info.value)
    assert "'b'" in msg and "'c'" in msg


def test_jvp_refuses_tangent_of_wrong_shape_or_count_or_structure():
    with pytest.raises(E.CotangentError, match=r"shape \(4,\).*\(3,\)"):
        pb.jvp(lambda x: x, (X,), (np.ones(4),))
    with pytest.raises(E.CotangentError, match="1 primals but 2 tangents"):
        pb.jvp(lambda x: x, (X,), (X, X))
    with pytest.raises(E.CotangentError, match="structure"):
        pb.jvp(lambda p: p["a"], ({"a": X},), ({"b": X},))
    with pytest.raises(E.CotangentError, match="complex"):
        pb.jvp(lambda x: x, (X,), (X.astype(complex),))


def test_jvp_requires_tuples_of_primals_and_tangents():
    with pytest.raises(TypeError, match="tuples"):
        pb.jvp(lambda x: x, X, X)


# ----------------------------------------------------------------------------- plain NumPy on traced values


@pytest.mark.parametrize("fn,name", [
    (lambda x: pnp.sum(np.polyfit(np.arange(3.0), x, 1)), "numpy.polyfit"),
    (lambda x: pnp.sum(np.histogram2d(x, x)[0]), "numpy.histogram2d"),
    (lambda x: pnp.sum(np.polyder(x)), "numpy.polyder"),
    (lambda x: pnp.sum(np.i0(x)), "numpy.i0"),
], ids=["polyfit", "histogram2d", "polyder", "i0"])  # interp, histogram, polyval: supported since issue 17
def test_numpy_function_without_derivative_names_itself_and_points_to_pullback_numpy(fn, name):
    for transform in (pb.grad(fn), lambda x: pb.jvp(fn, (x,), (x,))):
        with pytest.raises(E.UnsupportedFunctionError) as info:
            transform(X)
        msg = str(info.value)
        assert name in msg and "pullback.numpy" in msg


def test_unsupported_name_resolved_through_pullback_numpy_still_raises_clearly():
    with pytest.raises(E.UnsupportedFunctionError, match="polyfit"):
        pb.grad(lambda x: pnp.sum(pnp.polyfit(np.arange(3.0), x, 1)))(X)


def test_numpy_ufunc_without_a_pullback_rule_names_itself(monkeypatch):
    from pullback.core import trace

    monkeypatch.delitem(trace.UFUNC_HANDLERS, np.sin)
    with pytest.raises(E.UnsupportedFunctionError) as info:
        pb.grad(lambda x: pnp.sum(np.sin(x)))(X)
    assert "numpy.sin" in str(info.value) and "pullback.numpy" in str(info.value)


@pytest.mark.parametrize("convert,what", [
    (np.asarray, "numpy.ndarray"),
    (np.array, "numpy.ndarray"),
    (lambda t: float(pnp.sum(t)), "float()"),
    (lambda t: int(pnp.sum(t)), "int()"),
    (lambda t: t.item(0), ".item()"),
    (lambda t: t.tolist(), ".tolist()"),
    (lambda t: math.sin(t[0]), "float()"),
], ids=["asarray", "array", "float", "int", "item", "tolist", "math.sin"])
def test_converting_a_tracer_to_a_plain_value_is_refused(convert, what):
    with pytest.raises(E.TracerConversionError) as info:
        pb.grad(lambda x: pnp.sum(x * pnp.sum(convert(x))))(X)
    msg = str(info.value)
    assert what in msg and "traced value" in msg
    assert "pullback.numpy" in msg or "pullback.stop_gradient" in msg


def test_out_argument_on_traced_value_is_refused():
    with pytest.raises(E.UnsupportedFunctionError, match="out="):
        pb.grad(lambda x: pnp.sum(np.exp(x, out=np.empty(3))))(X)


def test_assigning_a_traced_value_into_a_plain_array_is_refused():
    def f(x):
        buf = np.zeros(3)  # a plain NumPy array cannot hold a traced value
        buf[0] = x[0]
        return pnp.sum(buf)

    # NumPy reports it as a ValueError whose cause is pullback's TracerConversionError
    with pytest.raises((E.TracerConversionError, ValueError)) as info:
        pb.grad(f)(X)
    err = info.value
    chain = [err, err.__cause__, err.__context__]
    assert any(isinstance(e, E.TracerConversionError) and "traced value" in str(e) for e in chain)


def test_numpy_ufuncs_and_reductions_with_pullback_versions_work_on_tracers():
    g = pb.grad(lambda x: np.sum(np.exp(x) * np.sin(x)))(X)
    np.testing.assert_allclose(g, np.exp(X) * (np.sin(X) + np.cos(X)))


# ----------------------------------------------------------------------------- escaped tracers


def _leak_from(transform):
    box = []

    def f(x):
        box.append(x)
        return pnp.sum(x)

    transform(f)
    return box[0]


LEAKS = {
    "grad": lambda f: pb.grad(f)(X),
    "vjp": lambda f: pb.vjp(f, X),
    "jvp": lambda f: pb.jvp(f, (X,), (X,)),
}


@pytest.mark.parametrize("kind", list(LEAKS))
def test_tracer_escaping_its_transformation_cannot_be_used_later(kind):
    leaked = _leak_from(LEAKS[kind])
    for use in (lambda t: t * 2.0, lambda t: pnp.sin(t), lambda t: np.exp(t), lambda t: t > 0):
        with pytest.raises(E.EscapedTracerError) as info:
            use(leaked)
        msg = str(info.value)
        assert "finished transformation" in msg and "Return values out of the transformed function" in msg


@pytest.mark.parametrize("kind", list(LEAKS))
def test_escaped_tracer_used_inside_a_new_transformation_is_refused(kind):
    leaked = _leak_from(LEAKS[kind])
    with pytest.raises(E.EscapedTracerError):
        pb.grad(lambda y: pnp.sum(y * leaked))(X)
    with pytest.raises(E.EscapedTracerError):
        pb.grad(lambda y: pnp.sum(leaked * y))(X)
    with pytest.raises(E.EscapedTracerError):
        pb.jvp(lambda y: y + leaked, (X,), (X,))


def test_tracer_escaping_an_inner_transformation_into_the_outer_one_is_refused():
    def f(x):
        box = []
        pb.grad(lambda y: (box.append(y), y * x)[1])(1.0)
        return box[0] * x

    with pytest.raises(E.EscapedTracerError):
        pb.grad(f)(2.0)


def test_custom_rule_errors_are_custom_rule_errors():
    class Bad(pb.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, g):
            return g, g, g

    with pytest.raises(E.CustomRuleError, match="Bad.backward returned 3 gradients for 1"):
        pb.grad(lambda x: pnp.sum(Bad.apply(x)))(X)
