"""Issue 17, errors that misled: each message is quoted, so a regression shows as a failing test."""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback.errors import ArgumentError, PullbackError, TracerConversionError, UnsupportedFunctionError

X = np.array([0.5, 1.5])


def test_a_scipy_special_ufunc_is_named_by_its_module_and_points_to_pullback_scipy():
    special = pytest.importorskip("scipy.special")
    import sys

    if "pullback.scipy.special" not in sys.modules:  # before pullback.scipy is loaded: point to it
        with pytest.raises(UnsupportedFunctionError) as err:
            pb.grad(lambda x: pnp.sum(special.gammaln(x)))(X)
        msg = str(err.value)
        assert msg.startswith("scipy.special.gammaln was applied to a traced value")
        assert "pullback.scipy.special.gammaln" in msg and "numpy.gammaln" not in msg
    pytest.importorskip("pullback.scipy.special")
    np.testing.assert_allclose(pb.grad(lambda x: pnp.sum(special.gammaln(x)))(X), special.digamma(X))  # routed
    with pytest.raises(UnsupportedFunctionError) as err:
        pb.grad(lambda x: pnp.sum(special.struve(1.0, x)))(X)
    msg = str(err.value)
    assert msg.startswith("scipy.special.struve was applied to a traced value")
    assert "pullback.scipy.special has no struve yet" in msg and "numpy.struve" not in msg
    with pytest.raises(UnsupportedFunctionError, match=r"^numpy\.isnat was applied .* pullback\.numpy"):
        pb.grad(lambda x: pnp.sum(np.isnat(x)) * x[0])(X)


def test_r_and_vectorize_through_pullback_numpy_work_and_numpys_own_say_why_they_do_not():
    np.testing.assert_array_equal(pb.grad(lambda x: pnp.sum(pnp.r_[x, x]))(X), [2.0, 2.0])
    np.testing.assert_array_equal(pb.grad(lambda x: pnp.sum(pnp.vectorize(lambda a: a * a)(x)))(X), 2 * X)
    for numpy_own in (lambda x: np.r_[x, x], lambda x: np.vectorize(lambda a: a * a)(x)):
        with pytest.raises(TracerConversionError) as err:
            pb.grad(lambda x, own=numpy_own: pnp.sum(own(x)))(X)
        msg = str(err.value)
        assert "converted to a plain numpy.ndarray" in msg
        assert "where pullback.numpy has none, its name is NumPy's own function" in msg
        assert "pullback.stop_gradient" in msg


def test_augmented_assignment_into_a_plain_array_does_not_talk_about_out():
    def f(x):
        y = np.zeros(2)
        y += x
        return pnp.sum(y)

    with pytest.raises(UnsupportedFunctionError) as err:
        pb.grad(f)(X)
    assert str(err.value).startswith(
        "an augmented assignment such as `y += x` (numpy.add(y, x, out=y)) updates a plain NumPy array y in place "
        "with a traced value x, and a plain array cannot hold one. Write `y = y + x` instead")
    assert "Drop out=" not in str(err.value)

    def g(x):
        y = np.ones(2)
        y *= x
        return pnp.sum(y)

    with pytest.raises(UnsupportedFunctionError, match=r"numpy\.multiply\(y, x, out=y\)"):
        pb.grad(g)(X)


def test_hvp_with_bare_arrays_says_to_pass_tuples():
    f = lambda x: pnp.sum(x ** 3)  # noqa: E731
    with pytest.raises(ArgumentError) as err:
        pb.hvp(f, X, X)
    assert str(err.value) == (
        "hvp(fun, primals, tangents): primals must be a tuple (or list) with one entry per argument of fun, but "
        "got a ndarray. Write hvp(f, (x,), (v,)) for a function of one argument.")
    assert isinstance(err.value, PullbackError) and isinstance(err.value, TypeError)
    with pytest.raises(ArgumentError, match="tangents must be a tuple"):
        pb.hvp(f, (X,), X)
    with pytest.raises(ArgumentError, match="1 primals but 2 tangents"):
        pb.hvp(f, (X,), (X, X))
    g, hv = pb.hvp(f, (X,), (np.ones(2),))
    np.testing.assert_allclose(hv, 6 * X)


def test_a_scan_body_that_does_not_return_a_pair_is_named():
    with pytest.raises(ArgumentError) as err:
        pb.scan(lambda c, x: c + x, 0.0, np.ones(3))
    assert str(err.value) == ("scan: the body f(carry, x) must return a pair (new_carry, y), but it returned "
                              "float64. Return `carry, None` when there is no per-step output.")
    with pytest.raises(ArgumentError, match="returned tuple of length 3"):
        pb.scan(lambda c, x: (c, x, x), 0.0, np.ones(3))
    with pytest.raises(ArgumentError):
        pb.grad(lambda x: pb.scan(lambda c, xi: c * xi, 1.0, x)[0])(X)
    assert pb.scan(lambda c, x: (c + x, None), 0.0, np.ones(3))[0] == 3.0
