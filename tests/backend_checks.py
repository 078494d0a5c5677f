"""Shared checks of the backend test files (tests/test_backend_*.py): the family cases of
tests/cases.py run on another array library's values, against the same case on NumPy's.

A `Library` says how the test moves a NumPy array there and back (the way back is the test's,
never pullback's). `check_case` runs a case's function on the library's arrays and compares with
NumPy pullback's results: the value, a vjp with a random cotangent, a jvp with a random tangent,
and (when asked) vmap and jit. Results must be the library's arrays. An operation the library
cannot do must raise a clear PullbackError (a BackendError names the library): `outcome` says
which of the two happened, and any other exception fails the test.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import pullback as pb
from pullback.errors import BackendError, PullbackError

# The family test modules whose cases run on every backend.
FAMILY_MODULES = ("test_ufuncs_ext", "test_reductions_ext", "test_shapes_ext", "test_indexing", "test_sorting",
                  "test_linalg", "test_fft", "test_numpy_layer")

# Decompositions defined up to a sign (or a phase) per column: libraries' LAPACKs may pick another one,
# so these are compared through gauge-invariant functions (test_gauge_invariant_decompositions).
GAUGE = {"eigh", "svd", "qr", "eig"}

# Case names that must work on every backend (the core of NumPy programs: the rest may raise clearly).
REQUIRED = {
    "add", "subtract", "multiply", "divide", "power", "exp", "log", "sin", "tanh", "sqrt", "maximum", "where",
    "sum", "mean", "max", "var", "reshape", "transpose", "concatenate", "stack", "broadcast_to", "expand_dims",
    "squeeze", "dot", "matmul", "outer", "tensordot", "einsum", "inv", "solve", "cholesky", "logaddexp", "clip",
    "cumsum", "prod",
}


@dataclass(frozen=True)
class Library:
    name: str  # as pullback's error messages name it
    to: Callable  # NumPy array -> the library's
    back: Callable  # the library's array -> NumPy (the test's own conversion)
    is_native: Callable  # value -> whether it is the library's array
    may_refuse: Callable = lambda case: False  # REQUIRED cases this library may refuse clearly (and why)


def family_cases(keep: Callable = lambda module, case: True) -> list:
    """(module, family, case) for every case of the family test files with a floating-point input."""
    out = []
    for module in FAMILY_MODULES:
        m = importlib.import_module(module)
        cases = getattr(m, "CASES", None) or m.FUNCTION_CASES
        for case in cases:
            floats = any(isinstance(a, np.ndarray) and a.dtype.kind in "fc" for a in case.args)
            if floats and case.name not in GAUGE and keep(module, case):
                out.append((module, m.FAMILY, case))
    return out


def case_id(module: str, case) -> str:
    return f"{module.removeprefix('test_')}:{case.id}"


def _split(case) -> tuple[list[int], Callable]:
    """The positions of the float arguments, and the case's function of them (the others fixed)."""
    pos = [i for i, a in enumerate(case.args) if isinstance(a, np.ndarray) and a.dtype.kind in "fc"]

    def fixed(module, others):
        def f(*floats):
            args = list(others)
            for i, v in zip(pos, floats):
                args[i] = v
            return case.call(module, *args)
        return f

    return pos, fixed


def _leaves(x) -> list:
    return pb.tree_util.tree_flatten(x)[0]


def compare(lib: Library, got, expected, what: str = "value", rtol: float = 1e-9, atol: float = 1e-11) -> None:
    """Same structure, shapes, dtypes and values; the results are the library's arrays (a leaf computed from
    NumPy constants only may stay NumPy's)."""
    g, e = _leaves(got), _leaves(expected)
    assert len(g) == len(e), (what, len(g), len(e))
    assert any(lib.is_native(a) for a in g), f"{what}: {[type(a).__name__ for a in g]}, no {lib.name} array"
    for a, b in zip(g, e):
        b = np.asarray(b)
        a = lib.back(a) if lib.is_native(a) else np.asarray(a)
        assert a.shape == b.shape, (what, a.shape, b.shape)
        if b.dtype.kind in "fc":
            assert a.dtype == b.dtype, (what, a.dtype, b.dtype)
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)
        else:
            np.testing.assert_array_equal(a, b, err_msg=what)


def check_case(lib: Library, family, case, transforms=("value", "vjp", "jvp")) -> None:
    """The case on lib's arrays gives NumPy pullback's value and derivatives (see the module docstring)."""
    pos, fixed = _split(case)
    plain = fixed(family.pullback, case.args)
    others = [lib.to(a) if isinstance(a, np.ndarray) and a.dtype.kind in "fc" else a for a in case.args]
    foreign = fixed(family.pullback, others)
    xs = [case.args[i] for i in pos]
    fxs = [lib.to(x) for x in xs]
    rng = np.random.default_rng(0)
    if case.name == "getitem":  # x[idx] on a plain array is the library's own indexing, not pullback's
        transforms = tuple(t for t in transforms if t != "value")
    if "value" in transforms:
        compare(lib, foreign(*fxs), plain(*xs))
    if "vjp" in transforms:
        out, vjp_fn = pb.vjp(plain, *xs)
        u = pb.tree_util.tree_map(lambda o: rng.standard_normal(np.shape(o)).astype(np.asarray(o).dtype), out)
        f_out, f_vjp = pb.vjp(foreign, *fxs)
        compare(lib, f_out, out, "vjp primal")
        compare(lib, f_vjp(pb.tree_util.tree_map(lib.to, u)), vjp_fn(u), "vjp")
    if "jvp" in transforms:
        ts = [rng.standard_normal(x.shape).astype(x.dtype) for x in xs]
        compare(lib, pb.jvp(foreign, fxs, [lib.to(t) for t in ts]), pb.jvp(plain, xs, ts), "jvp")
    if "vmap" in transforms:
        batched = [np.stack([x, x + 1e-3]) for x in xs]
        compare(lib, pb.vmap(foreign)(*[lib.to(b) for b in batched]), pb.vmap(plain)(*batched), "vmap")
    if "jit" in transforms:
        compare(lib, pb.jit(foreign)(*fxs), plain(*xs), "jit")


def outcome(lib: Library, family, case, transforms=("value", "vjp", "jvp")) -> str:
    """'works', or 'clear error' when a PullbackError was raised (a BackendError must name the library)."""
    try:
        check_case(lib, family, case, transforms)
    except BackendError as e:
        assert lib.name in str(e), str(e)
        return "clear error"
    except PullbackError:
        return "clear error"
    return "works"


def transforms_for(index: int) -> tuple:
    """value and vjp for every case; jvp for every third one (the suite's time budget)."""
    return ("value", "vjp", "jvp") if index % 3 == 0 else ("value", "vjp")


def check_family_case(lib: Library, module: str, family, case, transforms=("value", "vjp", "jvp")) -> None:
    """The case works, or raises clearly; a case named in REQUIRED must work."""
    result = outcome(lib, family, case, transforms)
    if case.name in REQUIRED and "complex" not in case.id and not lib.may_refuse(case):
        # (complex order, in maximum and clip, is NumPy's own)
        assert result == "works", f"{case_id(module, case)} must work on {lib.name}"


def required_cases(every: int = 1) -> list:
    """The REQUIRED family cases (real inputs), every `every`-th of them: the sample run under vmap and jit."""
    cases = [(m, f, c) for m, f, c in family_cases() if c.name in REQUIRED and "complex" not in c.id
             and all(np.ndim(a) <= 2 for a in c.args) and c.vmap is True]
    return cases[::every]


# ----------------------------------------------------------------------------- checks every library runs


def _model(params, x):
    w, b = params
    h = pb.numpy.tanh(pb.numpy.matmul(x, w) + b)  # (x @ w: some libraries' operators refuse a traced w)
    return pb.numpy.sum(pb.numpy.at(h)[:, 0].add(1.0) ** 2) + pb.numpy.sum(h[::2] * 0.5)


def check_no_input_is_mutated(lib: Library) -> None:
    """grad, vjp, jvp, vmap and jit leave every input (and every cotangent) as it was, and their results
    share no memory with them."""
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal((6, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    fx, fw, fb = lib.to(x), lib.to(w), lib.to(b)
    loss = lambda p: _model(p, fx)  # noqa: E731
    g = pb.grad(loss)((fw, fb))
    out, vjp_fn = pb.vjp(lambda x: x * 2.0, fx)
    ct = lib.to(np.ones_like(x))
    (gx,) = vjp_fn(ct)
    pb.jvp(loss, ((fw, fb),), ((fw, fb),))
    pb.vmap(lambda row: pb.numpy.sum(row * row))(fx)
    pb.jit(pb.grad(loss))((fw, fb))
    for got, want in ((fx, x), (fw, w), (fb, b), (ct, np.ones_like(x))):
        np.testing.assert_array_equal(lib.back(got), want)
    ids = {id(a) for a in (fx, fw, fb, ct, out)}
    assert all(id(a) not in ids for a in (*g, gx)), "a result is one of the inputs"


def check_jit_takes_arrays_as_dynamic_arguments(lib: Library) -> None:
    """Two calls with new values give new results from one trace (nothing baked in), the cache is keyed on
    the library, and the generated source calls the inputs' namespace."""
    f = pb.jit(lambda x, w: pb.numpy.sum(pb.numpy.tanh(x @ w)) * 2.0)
    rng = np.random.default_rng(2)
    x1, x2, w = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    plain = lambda x: float(np.sum(np.tanh(x @ w)) * 2.0)  # noqa: E731
    r1, r2 = f(lib.to(x1), lib.to(w)), f(lib.to(x2), lib.to(w))
    assert lib.is_native(r1) and lib.is_native(r2)
    np.testing.assert_allclose(lib.back(r1), plain(x1), rtol=1e-13)
    np.testing.assert_allclose(lib.back(r2), plain(x2), rtol=1e-13)
    assert len(f.cache) == 1
    f(x1, w)  # NumPy arrays of the same shapes: a trace of their own
    assert len(f.cache) == 2
    assert "xp." in f.source(lib.to(x1), lib.to(w)) and "xp." not in f.source(x1, w)


def check_numpy_constants_and_python_scalars_mix_in(lib: Library) -> None:
    """NumPy constants are moved to the library at dispatch; Python scalars stay weakly typed (float32)."""
    c = np.array([1.0, 2.0, 3.0])
    x = np.array([0.5, -1.0, 2.0])
    g = pb.grad(lambda x: pb.numpy.sum(c * pb.numpy.sin(x) + 2.0 * x))(lib.to(x))
    assert lib.is_native(g)
    np.testing.assert_allclose(lib.back(g), c * np.cos(x) + 2.0, rtol=1e-14)
    x32 = lib.to(x.astype(np.float32))
    y = pb.numpy.multiply(x32, 2.0)
    assert lib.back(y).dtype == np.float32
    g32 = pb.grad(lambda x: pb.numpy.sum(x * 3.0))(x32)
    assert lib.back(g32).dtype == np.float32


def check_two_libraries_in_one_operation_raise(lib: Library, other: Library) -> None:
    with pytest.raises(BackendError, match="two libraries"):
        pb.numpy.add(lib.to(np.ones(3)), other.to(np.ones(3)))


def check_gauge_invariant_decompositions(lib: Library, batched: bool = True) -> None:
    """eigh, svd and qr through functions that do not depend on the sign of each vector: values and
    gradients match NumPy's."""
    rng = np.random.default_rng(4)
    shape = (2, 4, 4) if batched else (5, 3)
    a = rng.standard_normal(shape)
    sym = a if not batched else a + np.swapaxes(a, -1, -2)
    fns = {
        "svd": (lambda m: pb.numpy.sum(pb.numpy.linalg.svd(m, full_matrices=False)[1] ** 2)
                + pb.numpy.sum(pb.numpy.linalg.svd(m, full_matrices=False)[0][..., :1] ** 2), a),
        "qr": (lambda m: pb.numpy.sum(pb.numpy.abs(pb.numpy.linalg.qr(m)[1]))
               + pb.numpy.sum(pb.numpy.linalg.qr(m)[0] ** 2), a),
    }
    if batched:
        fns["eigh"] = (lambda m: pb.numpy.sum(pb.numpy.linalg.eigh(m)[0] ** 3)
                       + pb.numpy.sum(pb.numpy.linalg.eigh(m)[1][..., :1] ** 4), sym)
    for name, (f, m) in fns.items():
        value, g = pb.value_and_grad(f)(lib.to(m))
        ev, eg = pb.value_and_grad(f)(m)
        assert lib.is_native(g), name
        np.testing.assert_allclose(lib.back(value), ev, rtol=1e-10, err_msg=name)
        np.testing.assert_allclose(lib.back(g), eg, rtol=1e-8, atol=1e-10, err_msg=name)
