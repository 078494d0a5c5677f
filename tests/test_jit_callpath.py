"""jit's call path: the fast path for flat positional arrays, and values read from closures and globals
(traced as implicit inputs, or keying the cache) that are never stale."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback.errors import EscapedTracerError

RNG = np.random.default_rng(14)


def _quiet(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args)


# ============================================================================ the fast path


def test_fast_path_gives_the_general_paths_values_for_every_signature_seen():
    f = pb.jit(lambda x, y: x * y + 1.0)
    a, b = RNG.standard_normal(3), RNG.standard_normal(3)
    for _ in range(3):  # first call traces, the others take the fast path
        np.testing.assert_array_equal(f(a, b), a * b + 1.0)
    m = RNG.standard_normal((2, 3))
    np.testing.assert_array_equal(f(m, b), m * b + 1.0)  # a new shape traces anew
    np.testing.assert_array_equal(f(a.astype(np.float32), b.astype(np.float32)),
                                  a.astype(np.float32) * b.astype(np.float32) + np.float32(1.0))
    np.testing.assert_array_equal(f(a, 2.0), a * 2.0 + 1.0)  # a Python number: its own signature
    np.testing.assert_array_equal(f(a, 3), a * 3 + 1.0)
    assert f(2.0, 3.0) == 7.0
    assert len(f.cache) == 6
    np.testing.assert_array_equal(f(a, b), a * b + 1.0)


def test_fast_path_hands_back_fresh_writable_outputs_and_pytrees():
    x = np.arange(3.0)
    f = pb.jit(lambda x: x)
    for _ in range(2):
        out = f(x)
        assert out is not x and out.flags.writeable
        out[0] = 99.0
        assert x[0] == 0.0
    g = pb.jit(lambda x: pnp.broadcast_to(x, (2, 3)))
    for _ in range(2):
        assert g(x).flags.writeable
    h = pb.jit(lambda x, y: {"s": x + y, "p": (x * y, 2.0 * x)})
    for _ in range(2):
        out = h(x, x)
        assert set(out) == {"s", "p"} and isinstance(out["p"], tuple)
        np.testing.assert_array_equal(out["p"][1], 2.0 * x)


def test_fast_path_keeps_debug_nans_and_transformations_on_the_general_path():
    f = pb.jit(lambda x: pnp.log(x))
    f(np.ones(2))
    f(np.ones(2))
    pb.config.update("debug_nans", True)
    try:
        with pytest.raises(FloatingPointError), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            f(-np.ones(2))
    finally:
        pb.config.update("debug_nans", False)
    np.testing.assert_allclose(pb.grad(lambda x: pnp.sum(f(x)))(np.full(2, 2.0)), [0.5, 0.5])


def test_keyword_arguments_and_pytrees_take_the_general_path_with_the_same_values():
    f = pb.jit(lambda x, y=1.0: x * y)
    x = np.arange(3.0)
    for _ in range(2):
        np.testing.assert_array_equal(f(x, y=np.full(3, 2.0)), 2 * x)
        np.testing.assert_array_equal(f(x), x)
    g = pb.jit(lambda t: t[0] - t[1])
    for _ in range(2):
        np.testing.assert_array_equal(g((x, x)), 0 * x)


# ============================================================================ closures and globals


def test_a_rebound_closed_over_float_array_is_followed_without_a_new_trace():
    w = np.array([1.0, 2.0, 3.0])
    f = pb.jit(lambda x: pnp.sum(x * w))
    x = np.ones(3)
    assert f(x) == 6.0
    w = np.array([1.0, 1.0, 1.0])  # rebinding the name the function reads
    assert f(x) == 3.0
    w[2] = 10.0  # changing it in place
    assert f(x) == 12.0
    assert f(x) == 12.0  # (the fast path)
    assert len(f.cache) == 1  # an implicit input: one trace serves every value
    assert f.graph(x).in_names[-1] == "w"
    w = np.ones(4)  # another shape traces again
    assert f(np.ones(4)) == 4.0


def test_a_large_closed_over_array_changed_in_place_is_never_folded_stale():
    big = np.ones(200_000)
    f = pb.jit(lambda x: x * pnp.sum(big))  # sum(big) would be a foldable constant if big were one
    assert f(1.0) == 200_000.0
    big[:10] = 0.0
    assert f(1.0) == 199_990.0


def test_a_closed_over_index_array_rebound_or_changed_in_place_is_never_stale():
    idx = np.array([0, 1])
    f = pb.jit(lambda x: x[idx] * 2.0)
    x = np.arange(4.0)
    np.testing.assert_array_equal(f(x), [0.0, 2.0])
    idx = np.array([3, 2])
    np.testing.assert_array_equal(_quiet(f, x), [6.0, 4.0])
    idx[0] = 1
    np.testing.assert_array_equal(_quiet(f, x), [2.0, 4.0])
    np.testing.assert_array_equal(_quiet(f, x), [2.0, 4.0])
    mask = np.array([True, False, True, True])
    g = pb.jit(lambda x: pnp.sum(x[mask]))
    assert g(x) == 5.0
    mask[0] = False
    assert _quiet(g, x) == 5.0
    mask[1] = True
    assert _quiet(g, x) == 6.0


def test_a_closed_over_integer_array_used_arithmetically_stays_traced():
    n = np.array([1, 2, 3])
    f = pb.jit(lambda x: x * n)
    np.testing.assert_array_equal(f(np.ones(3)), [1.0, 2.0, 3.0])
    n = np.array([4, 5, 6])
    np.testing.assert_array_equal(f(np.ones(3)), [4.0, 5.0, 6.0])
    assert len(f.cache) == 1


def test_closed_over_numbers_strings_and_functions_key_the_cache():
    scale, mode = 2.0, "sin"

    def act(v):
        return pnp.sin(v)

    def f(x):
        y = act(x) if mode == "sin" else pnp.cos(x)
        return y * scale

    jf = pb.jit(f)
    x = RNG.standard_normal(3)
    np.testing.assert_allclose(jf(x), np.sin(x) * 2.0)
    scale = 3.0
    np.testing.assert_allclose(_quiet(jf, x), np.sin(x) * 3.0)
    mode = "cos"
    np.testing.assert_allclose(_quiet(jf, x), np.cos(x) * 3.0)
    mode = "sin"

    def act(v):  # noqa: F811 - rebinding the helper the function calls
        return pnp.tanh(v)

    np.testing.assert_allclose(_quiet(jf, x), np.tanh(x) * 3.0)
    scale = float("nan")
    assert np.isnan(_quiet(jf, x)).all()
    n_traces = len(jf.cache)
    assert np.isnan(jf(x)).all() and len(jf.cache) == n_traces  # nan keys the cache like any number


_G_WEIGHTS = np.array([1.0, 2.0])
_G_SCALE = 1.0


def _global_helper(x):
    return pnp.sum(x * _G_WEIGHTS) * _G_SCALE


def test_rebound_or_changed_globals_one_call_deep_are_followed():
    global _G_WEIGHTS, _G_SCALE
    f = pb.jit(lambda x: _global_helper(x) + 1.0)
    x = np.ones(2)
    old_w, old_s = _G_WEIGHTS, _G_SCALE
    try:
        assert f(x) == 4.0
        _G_WEIGHTS = np.array([5.0, 5.0])
        assert f(x) == 11.0
        _G_WEIGHTS[0] = 0.0
        assert f(x) == 6.0
        _G_SCALE = 2.0
        assert _quiet(f, x) == 11.0
        np.testing.assert_array_equal(pb.grad(f)(x), [0.0, 10.0])
    finally:
        _G_WEIGHTS, _G_SCALE = old_w, old_s


def test_closed_over_tuples_and_dicts_of_arrays_are_followed():
    params = (np.array([1.0, 2.0]), 0.5)
    f = pb.jit(lambda x: pnp.sum(x * params[0]) + params[1])
    assert f(np.ones(2)) == 3.5
    params = (np.array([3.0, 3.0]), 0.5)
    assert f(np.ones(2)) == 6.5
    params = (np.array([3.0, 3.0]), 1.5)
    assert _quiet(f, np.ones(2)) == 7.5
    d = {"w": np.ones(2)}
    g = pb.jit(lambda x: pnp.sum(x * d["w"]))
    assert g(np.ones(2)) == 2.0
    d["w"] = np.full(2, 4.0)  # the dict changed in place
    assert g(np.ones(2)) == 8.0


def test_partials_bound_methods_and_wrapped_functions_see_their_closures():
    w = np.array([2.0, 3.0])

    def f(x, c):
        return pnp.sum(x * w) + c

    class Model:
        def loss(self, x):
            return pnp.sum(x * w)

    jp, jm, jg = pb.jit(functools.partial(f, c=1.0)), pb.jit(Model().loss), pb.jit(pb.grad(lambda x: f(x, 0.0)))
    x = np.ones(2)
    assert jp(x) == 6.0 and jm(x) == 5.0
    np.testing.assert_array_equal(jg(x), w)
    w = np.array([1.0, 1.0])
    assert jp(x) == 3.0 and jm(x) == 2.0
    np.testing.assert_array_equal(jg(x), [1.0, 1.0])


def test_jit_inside_a_transformation_closing_over_its_traced_value_is_differentiated():
    def outer(y):
        return pnp.sum(pb.jit(lambda x: x * pnp.sin(y))(np.ones(3)))

    y = RNG.standard_normal(3)
    np.testing.assert_allclose(pb.grad(outer)(y), np.cos(y))
    np.testing.assert_allclose(pb.jacfwd(outer)(y), np.cos(y))
    pb.testing.check_grads(outer, (y,), order=2)


def test_a_closure_over_an_escaped_tracer_raises_a_clear_error():
    kept = []
    pb.grad(lambda y: kept.append(y) or pnp.sum(y))(np.ones(2))
    leaked = kept[0]
    with pytest.raises(EscapedTracerError, match="leaked"):
        pb.jit(lambda x: x * leaked)(np.ones(2))


def test_functions_using_closed_over_arrays_as_plain_numpy_fall_back_to_concrete_values():
    a = np.array([[2.0, 0.0], [0.0, 4.0]])

    def f(x):
        inv = np.linalg.inv(a)  # NumPy itself on the closed-over array: it must be concrete
        return pnp.sum(pnp.asarray(inv) * x)

    jf = pb.jit(f)
    assert jf(np.ones((2, 2))) == 0.75
    a[1, 1] = 1.0  # changed in place: keyed by contents now, so it traces again
    assert _quiet(jf, np.ones((2, 2))) == 1.5


def test_a_function_that_appends_to_a_closed_over_list_traces_once():
    calls = []
    f = pb.jit(lambda x: calls.append(1) or x * 2.0)
    for _ in range(3):
        f(np.ones(2))
    assert len(calls) == 1


def test_fast_path_serves_pytrees_and_keywords_and_tells_structures_apart():
    f = pb.jit(lambda p, x, scale=1.0: (p["w"] * x + p["b"][0]) * scale)
    p = {"w": np.full(2, 2.0), "b": [np.ones(2)]}
    x = np.arange(2.0)
    for _ in range(3):
        np.testing.assert_array_equal(f(p, x), 2 * x + 1)
        np.testing.assert_array_equal(f(p, x, scale=3.0), 3 * (2 * x + 1))
    p2 = {"w": np.full(2, 2.0), "b": (np.ones(2),)}  # a tuple where a list was: another structure
    np.testing.assert_array_equal(f(p2, x), 2 * x + 1)
    p3 = {"w": np.full(2, 2.0), "b": [np.ones(2), np.zeros(2)]}  # a longer list
    np.testing.assert_array_equal(f(p3, x), 2 * x + 1)
    assert len(f.cache) == 4
    p["b"][0] = np.full(2, 5.0)  # the same structure with new values: no new trace
    np.testing.assert_array_equal(f(p, x), 2 * x + 5)
    assert len(f.cache) == 4


def test_a_jitted_function_calling_another_follows_the_inner_ones_closure():
    w = np.array([1.0, 2.0])
    inner = pb.jit(lambda x: x * w)
    outer = pb.jit(lambda x: pnp.sum(inner(x)) + 1.0)
    x = np.ones(2)
    assert outer(x) == 4.0 and inner(x).tolist() == [1.0, 2.0]
    w = np.array([3.0, 3.0])
    assert outer(x) == 7.0 and inner(x).tolist() == [3.0, 3.0]
    w[0] = 0.0
    assert outer(x) == 4.0
    np.testing.assert_array_equal(pb.grad(outer)(x), [0.0, 3.0])


def test_the_fast_path_checks_closed_over_containers_and_none_values():
    params = {"w": np.ones(2), "s": 2.0}
    flag = None
    f = pb.jit(lambda x: (x * params["w"] * params["s"]) if flag is None else x)
    x = np.arange(2.0)
    for _ in range(2):
        np.testing.assert_array_equal(f(x), 2 * x)
    params["w"] = np.full(2, 3.0)  # a new array in the dict: passed on, no new trace
    np.testing.assert_array_equal(f(x), 6 * x)
    assert len(f.cache) == 1
    params["s"] = 1.0  # a number in the dict: traces again
    np.testing.assert_array_equal(_quiet(f, x), 3 * x)
    params["extra"] = np.zeros(2)  # another structure: traces again
    np.testing.assert_array_equal(_quiet(f, x), 3 * x)
    flag = 1
    np.testing.assert_array_equal(_quiet(f, x), x)
    assert len(f.cache) == 4


_MUTUAL_W = np.array([2.0])


def _even_steps(x, n):
    return x if n == 0 else _odd_steps(x * _MUTUAL_W, n - 1)


def _odd_steps(x, n):
    return x if n == 0 else _even_steps(x + _MUTUAL_W, n - 1)


def test_functions_calling_each_other_see_the_current_closed_over_array():
    f = pb.jit(lambda x: _even_steps(x, 3))  # ((x·w) + w)·w
    x = np.array([1.0])
    np.testing.assert_array_equal(f(x), [8.0])
    _MUTUAL_W[0] = 3.0
    try:
        np.testing.assert_array_equal(f(x), [18.0])
        assert len(f.cache) == 1
    finally:
        _MUTUAL_W[0] = 2.0


def test_numpy_scalars_take_the_fast_path_with_their_own_dtype():
    f = pb.jit(lambda x, s: x * s)
    x32 = np.ones(2, np.float32)
    for _ in range(2):
        assert f(x32, np.float64(2.0)).dtype == np.float64  # a NumPy scalar is strongly typed
        assert f(x32, 2.0).dtype == np.float32  # a Python number weakly
        assert f(x32, np.float32(2.0)).dtype == np.float32
        assert f(x32, np.int64(3)).dtype == np.float64
    assert len(f.cache) == 4


_TRACES = 0
_SCALE_W = np.array([2.0, 2.0])


def _counted(x):
    global _TRACES
    _TRACES += 1  # a side effect at trace time, on a module global
    return x * _SCALE_W


def test_global_statements_run_while_tracing_reach_the_module():
    f = pb.jit(_counted)
    before = _TRACES
    for _ in range(3):
        np.testing.assert_array_equal(f(np.ones(2)), [2.0, 2.0])
    assert _TRACES == before + 1


def test_arrays_bound_by_a_partial_are_implicit_inputs():
    w = np.ones(100_000)
    f = pb.jit(functools.partial(lambda w, x, scale=1.0: x * pnp.sum(w) * scale, w, scale=np.float64(2.0)))
    assert f(1.0) == 200_000.0
    w[:10] = 0.0  # changed in place: a folded sum(w) would be stale
    assert f(1.0) == 199_980.0
    assert len(f.cache) == 1
