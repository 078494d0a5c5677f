"""One test-case record and one set of generic checks for every family of pullback.numpy.

A family's test file lists its cases, ``Case(name, call, args, ...)`` where ``call(m, *args)``
runs the function with ``m`` either NumPy's module (numpy, numpy.linalg, numpy.fft) or
pullback's namesake, and gets the generic tests with

    (test_value_matches_numpy, ...) = family_tests(Family(np, pnp, ...), CASES)

The generic checks, per case:
- value: on plain arrays pullback gives NumPy's value (same structure, shape, dtype; bitwise
  where the case is exact, else to the family's tolerance), and no tracer leaks out;
- primal: the primal output of vjp and jvp (traced inputs) is NumPy's value likewise;
- derivatives to order 2 (order 3 where the case says so): forward mode against central
  finite differences and reverse mode by the dot-product test <u, J v> = <J^T u, v>
  (pullback.testing.check_grads), nested for the higher orders;
- dispatch: NumPy's own function called on traced values reaches pullback's, with its
  derivatives (check_grads to order 1) and NumPy's value;
- vmap: vmap of the function over a batch of two inputs equals the loop over them (or, for a
  function whose output shape depends on the values, raises the case's error class).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import pullback as pb
from pullback.core.trace import Tracer
from pullback.testing import check_grads


@dataclass
class Case:
    """``call(m, *args)`` with m the NumPy module or pullback's; ``name`` is the function under test."""

    name: str
    call: Callable
    args: tuple
    id: str = ""
    order3: bool = False
    dispatch: bool = True  # NumPy's own function, called on traced values, reaches pullback's
    exact: bool | None = None  # bitwise equal to NumPy's value; None: the family's default
    numpy_value: bool = True  # the traced value is NumPy's (False for eig: complex whenever traced)
    grads: bool = True  # False where a perturbation changes the output's shape (ties in unique)
    vmap: bool | type = True  # vmap over a batch of inputs equals the loop; an error class: vmap raises it
    marks: tuple = field(default=())

    def __post_init__(self):
        self.id = self.id or self.name


@dataclass(frozen=True)
class Family:
    """How a family's cases are compared with NumPy."""

    numpy: Any  # numpy, numpy.linalg or numpy.fft
    pullback: Any  # its pullback namesake
    exact: bool = True  # the default of Case.exact
    rtol: float = 1e-12  # tolerances of the comparisons that are not exact
    atol: float = 1e-14
    plain_exact: bool = False  # plain inputs always give NumPy's value bitwise (pullback calls NumPy's function)
    dispatch_jvp_exact: bool = False  # NumPy's function on traced values gives pullback's jvp bitwise

    def exact_for(self, case: Case) -> bool:
        return self.exact if case.exact is None else case.exact


# ----------------------------------------------------------------------------- comparisons


def assert_same(actual: Any, expected: Any, exact: bool = True, rtol: float = 1e-12, atol: float = 1e-14) -> None:
    """Same structure (tuples and lists alike), shapes, dtypes and values, and no tracer leaks out."""
    if isinstance(expected, (tuple, list)):
        assert isinstance(actual, (tuple, list)) and len(actual) == len(expected), (type(actual), type(expected))
        assert isinstance(actual, tuple) == isinstance(expected, tuple), (type(actual), type(expected))
        for a, e in zip(actual, expected, strict=True):
            assert_same(a, e, exact, rtol, atol)
        return
    assert not isinstance(actual, Tracer)
    expected = np.asarray(expected)
    assert np.shape(actual) == expected.shape, (np.shape(actual), expected.shape)
    assert np.asarray(actual).dtype == expected.dtype, (np.asarray(actual).dtype, expected.dtype)
    if exact:
        np.testing.assert_array_equal(actual, expected)
    else:
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def _leaves(x: Any) -> list:
    return [np.asarray(v) for v in pb.tree_util.tree_flatten(x)[0]]


# ----------------------------------------------------------------------------- the generic checks


def check_value(family: Family, case: Case) -> None:
    """Plain inputs: pullback's function gives NumPy's value."""
    exact = family.plain_exact or family.exact_for(case)
    expected = case.call(family.numpy, *case.args)
    assert_same(case.call(family.pullback, *case.args), expected, exact, family.rtol, family.atol)


def check_primal(family: Family, case: Case) -> None:
    """Traced inputs: the primal outputs of vjp and jvp are equal bitwise and are NumPy's value
    (unless the case's traced value differs from NumPy's by design)."""
    f = functools.partial(case.call, family.pullback)
    by_vjp = pb.vjp(f, *case.args)[0]
    by_jvp = pb.jvp(f, case.args, case.args)[0]
    assert_same(by_vjp, by_jvp)  # one forward computation, bitwise
    if case.numpy_value:
        expected = case.call(family.numpy, *case.args)
        for out in (by_vjp, by_jvp):
            assert_same(out, expected, family.exact_for(case), family.rtol, family.atol)


def check_derivatives(family: Family, case: Case, order: int) -> None:
    """Forward mode against finite differences and the dot-product test, to `order`."""
    check_grads(functools.partial(case.call, family.pullback), case.args, order=order)


def check_dispatch(family: Family, case: Case) -> None:
    """NumPy's own function on traced values: pullback's derivatives and NumPy's value."""
    f = functools.partial(case.call, family.numpy)
    if case.grads:
        check_grads(f, case.args, order=1)
    if case.numpy_value:
        assert_same(pb.vjp(f, *case.args)[0], case.call(family.numpy, *case.args), family.exact_for(case),
                    family.rtol, family.atol)
    if family.dispatch_jvp_exact:
        tangents = tuple(np.ones_like(a) for a in case.args)
        ours = pb.jvp(functools.partial(case.call, family.pullback), case.args, tangents)
        theirs = pb.jvp(f, case.args, tangents)
        for a, b in zip(_leaves(ours), _leaves(theirs), strict=True):
            np.testing.assert_array_equal(a, b)


def _batch_of_two(x: Any, rng: np.random.Generator) -> Any:
    """x and a nearby second input stacked along a new leading axis (integer and boolean inputs repeat)."""
    x = np.asarray(x)
    if x.dtype.kind == "f":
        other = x + 1e-3 * rng.standard_normal(x.shape).astype(x.dtype)
    elif x.dtype.kind == "c":
        other = x + 1e-3 * (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape)).astype(x.dtype)
    else:
        other = x
    return np.stack([x, other])


def check_vmap(family: Family, case: Case) -> None:
    """vmap over a batch of two inputs equals the function applied to each."""
    rng = np.random.default_rng(7)
    batched = tuple(_batch_of_two(a, rng) for a in case.args)
    f = functools.partial(case.call, family.pullback)
    if isinstance(case.vmap, type):
        with pytest.raises(case.vmap):
            pb.vmap(f)(*batched)
        return
    got = pb.vmap(f)(*batched)
    each = [f(*(b[i] for b in batched)) for i in range(2)]
    got_leaves, got_tree = pb.tree_util.tree_flatten(got)
    per_example = [pb.tree_util.tree_flatten(e) for e in each]
    assert all(tree == got_tree for _, tree in per_example), (got_tree, [tree for _, tree in per_example])
    for k, leaf in enumerate(got_leaves):
        expected = np.stack([np.asarray(leaves[k]) for leaves, _ in per_example])
        assert not isinstance(leaf, Tracer)
        assert np.shape(leaf) == expected.shape and np.asarray(leaf).dtype == expected.dtype, \
            (np.shape(leaf), expected.shape, np.asarray(leaf).dtype, expected.dtype)
        np.testing.assert_allclose(leaf, expected, rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------- the tests


def _params(cases: Sequence[Case], keep: Callable[[Case], bool] = lambda c: True) -> list:
    return [pytest.param(c, id=c.id, marks=c.marks) for c in cases if keep(c)]


def family_tests(family: Family, cases: Sequence[Case]) -> tuple[Callable, ...]:
    """The six generic tests over `cases`, to be bound to test_* names in the family's module:
    value, traced primal, order 2, order 3, NumPy dispatch, vmap."""
    ids = [c.id for c in cases]
    assert len(set(ids)) == len(ids), "case ids must be unique: " + str(sorted({i for i in ids if ids.count(i) > 1}))
    case = "case"

    @pytest.mark.parametrize(case, _params(cases))
    def test_value_matches_numpy(case):
        check_value(family, case)

    @pytest.mark.parametrize(case, _params(cases))
    def test_traced_primal_output_matches_numpy(case):
        check_primal(family, case)

    @pytest.mark.parametrize(case, _params(cases, lambda c: c.grads))
    def test_derivatives_to_second_order(case):
        check_derivatives(family, case, 2)

    @pytest.mark.parametrize(case, _params(cases, lambda c: c.order3))
    def test_derivatives_to_third_order(case):
        check_derivatives(family, case, 3)

    @pytest.mark.parametrize(case, _params(cases, lambda c: c.dispatch))
    def test_numpy_function_on_traced_value_dispatches_to_pullback(case):
        check_dispatch(family, case)

    @pytest.mark.parametrize(case, _params(cases, lambda c: c.vmap))
    def test_vmap_of_each_case_equals_the_loop(case):
        check_vmap(family, case)

    return (test_value_matches_numpy, test_traced_primal_output_matches_numpy, test_derivatives_to_second_order,
            test_derivatives_to_third_order, test_numpy_function_on_traced_value_dispatches_to_pullback,
            test_vmap_of_each_case_equals_the_loop)


def c(name: str, call: Callable, *args: Any, **kw: Any) -> Case:
    """Case(name, call, args, **kw) with the arguments listed inline."""
    return Case(name, call, args, **kw)


def ufunc_case(name: str, *args: Any, **kw: Any) -> Case:
    """A case calling m.<name>(*args)."""
    return Case(name, lambda m, *a: getattr(m, name)(*a), args, **kw)
