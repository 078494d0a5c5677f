"""The shared checks of the backend test files (tests/test_backend_*.py): a family case of
tests/cases.py run on another array library's values against the same case on NumPy's.

`Library` says how to move a NumPy array there and back (the way back is the test's, never
pullback's). `check_case` runs a case's function on the library's arrays and compares, with NumPy
pullback's results: the value, a vjp with a random cotangent, a jvp with a random tangent, and
optionally vmap and jit. An operation the library cannot do must raise a BackendError naming the
primitive and the library (`outcome` tells which happened).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import pullback as pb
from pullback.errors import BackendError


@dataclass(frozen=True)
class Library:
    name: str  # as pullback's error messages name it
    to: Callable  # NumPy array -> the library's
    back: Callable  # the library's array -> NumPy (the test's conversion)
    is_native: Callable  # value -> whether it is the library's array


def _family_cases() -> list:
    """(family, case) for every case of the family test files that has float inputs."""
    out = []
    for module in ("test_ufuncs_ext", "test_reductions_ext", "test_shapes_ext", "test_indexing", "test_sorting",
                   "test_linalg", "test_fft", "test_numpy_layer"):
        m = importlib.import_module(module)
        cases = getattr(m, "CASES", None) or m.FUNCTION_CASES
        for case in cases:
            if any(isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in case.args):
                out.append(pytest_id(module, case), m.FAMILY, case) if False else out.append((module, m.FAMILY, case))
    return out


def pytest_id(module, case):
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


def _compare(lib: Library, got, expected, rtol=1e-9, atol=1e-11, what="value"):
    g, e = _leaves(got), _leaves(expected)
    assert len(g) == len(e), (what, len(g), len(e))
    # the results keep the library (a leaf computed from NumPy constants only may stay NumPy's)
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


def check_case(lib: Library, family, case, *, transforms=("value", "vjp", "jvp")) -> None:
    """The case on lib's arrays gives NumPy pullback's value and derivatives (see the module docstring)."""
    pos, fixed = _split(case)
    plain = fixed(family.pullback, case.args)
    others = [lib.to(a) if isinstance(a, np.ndarray) and i not in pos and a.dtype.kind in "fc" else a
              for i, a in enumerate(case.args)]
    foreign = fixed(family.pullback, others)
    xs = [case.args[i] for i in pos]
    fxs = [lib.to(x) for x in xs]
    rng = np.random.default_rng(0)
    if case.name == "getitem":  # x[idx] on a plain array is the library's own indexing, not pullback's
        transforms = tuple(t for t in transforms if t != "value")
    if "value" in transforms:
        _compare(lib, foreign(*fxs), plain(*xs))
    if "vjp" in transforms:
        out, vjp_fn = pb.vjp(plain, *xs)
        u = pb.tree_util.tree_map(lambda o: rng.standard_normal(np.shape(o)).astype(np.asarray(o).dtype)
                                  if np.asarray(o).dtype.kind in "fc" else None, out)
        f_out, f_vjp = pb.vjp(foreign, *fxs)
        _compare(lib, f_out, out, what="vjp primal")
        _compare(lib, f_vjp(pb.tree_util.tree_map(lib.to, u)), vjp_fn(u), what="vjp")
    if "jvp" in transforms:
        ts = [rng.standard_normal(x.shape).astype(x.dtype) for x in xs]
        expected = pb.jvp(plain, xs, ts)
        _compare(lib, pb.jvp(foreign, fxs, [lib.to(t) for t in ts]), expected, what="jvp")
    if "vmap" in transforms:
        batched = [np.stack([x, x + 1e-3]) for x in xs]
        _compare(lib, pb.vmap(foreign)(*[lib.to(b) for b in batched]), pb.vmap(plain)(*batched), what="vmap")
    if "jit" in transforms:
        _compare(lib, pb.jit(foreign)(*fxs), plain(*xs), what="jit")


def outcome(lib: Library, family, case, **kw) -> str:
    """'works', or 'clear error' when a BackendError naming the library was raised (anything else fails)."""
    try:
        check_case(lib, family, case, **kw)
    except BackendError as e:
        assert lib.name in str(e), str(e)
        return "clear error"
    return "works"


FAMILY_CASES = None


def family_cases() -> list:
    global FAMILY_CASES
    if FAMILY_CASES is None:
        FAMILY_CASES = _family_cases()
    return FAMILY_CASES


__all__ = ["Library", "check_case", "family_cases", "outcome", "functools"]
