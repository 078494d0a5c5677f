"""pullback.numpy's shape family: reshaping, joining, splitting, tiling, flipping, padding, creation.

One table (CASES) drives the common checks: on traced inputs the primal output of vjp/jvp equals
NumPy's value bitwise (these functions only move data), the derivatives pass check_grads (finite
differences and the dot-product test) to second order (third for a sample), and NumPy's own
function called on traced values reaches ours. Hypothesis draws shapes with size-0 and size-1
axes and negative axes; known derivative values pin the linear maps down.
"""

from __future__ import annotations

import functools

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pullback as pb
import pullback.numpy as pnp
from cases import Family, assert_same, c, family_tests
from pullback.errors import TracerConversionError, UnsupportedFunctionError
from pullback.testing import check_grads

pytestmark = [
    pytest.mark.filterwarnings("error::RuntimeWarning"),
    pytest.mark.filterwarnings("error::numpy.exceptions.ComplexWarning"),
]

FAST = settings(max_examples=10, deadline=None, derandomize=True)
R = np.random.default_rng(11)


def normal(*shape):
    return R.standard_normal(shape)


def cnormal(*shape):
    return R.standard_normal(shape) + 1j * R.standard_normal(shape)


CASES = [
    # reshaping and axes
    c("reshape", lambda m, x: m.reshape(x, (3, -1), order="F"), normal(2, 3, 2), id="reshape-F", order3=True),
    c("reshape", lambda m, x: m.reshape(x, (0, 2)), normal(2, 0, 3), id="reshape-size0"),
    c("ravel", lambda m, x: m.ravel(x, order="F"), normal(2, 3), id="ravel-F"),
    c("transpose", lambda m, x: m.transpose(x, (-1, 0, 1)), normal(2, 3, 4), id="transpose-neg"),
    c("permute_dims", lambda m, x: m.permute_dims(x, (1, 0)), normal(2, 3)),
    c("matrix_transpose", lambda m, x: m.matrix_transpose(x), normal(4, 2, 3)),
    c("swapaxes", lambda m, x: m.swapaxes(x, -1, 1), normal(2, 3, 4), id="swapaxes-neg"),
    c("moveaxis", lambda m, x: m.moveaxis(x, (-1, 0), (0, -1)), normal(2, 3, 4), id="moveaxis-pairs"),
    c("rollaxis", lambda m, x: m.rollaxis(x, 2), normal(2, 3, 4)),
    c("rollaxis", lambda m, x: m.rollaxis(x, 0, 3), normal(2, 3, 4), id="rollaxis-start"),
    c("expand_dims", lambda m, x: m.expand_dims(x, (0, 3)), normal(2, 3), id="expand_dims-two"),
    c("squeeze", lambda m, x: m.squeeze(x, (0, -1)), normal(1, 3, 1), id="squeeze-tuple"),
    c("broadcast_to", lambda m, x: m.broadcast_to(x, (2, 1, 3)), normal(3), id="broadcast_to-lead"),
    c("broadcast_arrays", lambda m, x, y: m.broadcast_arrays(x, y), normal(3, 1), normal(4)),
    c("broadcast_arrays", lambda m, x: m.broadcast_arrays(x, np.ones((2, 1, 1))), normal(3),
      id="broadcast_arrays-const"),
    c("atleast_1d", lambda m, x, y: m.atleast_1d(x, y), np.float64(1.5), normal(2, 2), id="atleast_1d-two"),
    c("atleast_2d", lambda m, x: m.atleast_2d(x), normal(3)),
    c("atleast_2d", lambda m, x: m.atleast_2d(x), np.float64(2.0), id="atleast_2d-0d"),
    c("atleast_3d", lambda m, x: m.atleast_3d(x), normal(3)),
    c("atleast_3d", lambda m, x, y: m.atleast_3d(x, y), normal(2, 3), np.float64(1.0), id="atleast_3d-two"),
    # joining
    c("concatenate", lambda m, x, y: m.concatenate((x, y), axis=-2), normal(2, 3), normal(1, 3), id="concat-neg"),
    c("concatenate", lambda m, x: m.concatenate([x]), normal(2), id="concat-one"),
    c("concat", lambda m, x, y: m.concat([x, y], axis=1), normal(2, 1), normal(2, 2)),
    c("concatenate", lambda m, x, y: m.concatenate([x, y], dtype=np.float64), normal(2).astype(np.float32),
      normal(3).astype(np.float32), id="concat-dtype"),
    c("stack", lambda m, x, y: m.stack([x, y], axis=2), normal(2, 3), normal(2, 3), id="stack-last"),
    c("stack", lambda m, x: m.stack([x, np.zeros(3)]), normal(3), id="stack-const"),
    c("hstack", lambda m, x, y: m.hstack((x, y)), normal(2, 1, 2), normal(2, 3, 2), id="hstack-3d"),
    c("vstack", lambda m, x, y: m.vstack([x, y]), normal(2), normal(3, 2), id="vstack-mixed"),
    c("dstack", lambda m, x, y: m.dstack([x, y]), normal(3), normal(3)),
    c("dstack", lambda m, x, y: m.dstack([x, y]), normal(2, 3), normal(2, 3, 2), id="dstack-2d-3d"),
    c("column_stack", lambda m, x, y: m.column_stack([x, y]), normal(3), normal(3, 2)),
    c("block", lambda m, a, b: m.block([[a, b], [np.zeros((1, 2)), np.ones((1, 1))]]), normal(2, 2), normal(2, 1)),
    c("block", lambda m, a, b: m.block([a, b]), normal(2), normal(3), id="block-1d"),
    c("block", lambda m, a: m.block([[a], [a]]), np.float64(1.0), id="block-scalars"),
    c("append", lambda m, x, y: m.append(x, y), normal(2, 2), normal(3)),
    c("append", lambda m, x, y: m.append(x, y, axis=-1), normal(2, 2), normal(2, 1), id="append-axis"),
    # splitting
    c("split", lambda m, x: m.split(x, 3), normal(6)),
    c("split", lambda m, x: m.split(x, [1, 3, 10], axis=-1), normal(2, 5), id="split-indices"),
    c("array_split", lambda m, x: m.array_split(x, 3, axis=1), normal(2, 7)),
    c("array_split", lambda m, x: m.array_split(x, [2, 1]), normal(4), id="array_split-decreasing"),
    c("hsplit", lambda m, x: m.hsplit(x, 2), normal(3, 4)),
    c("hsplit", lambda m, x: m.hsplit(x, [1]), normal(3), id="hsplit-1d"),
    c("vsplit", lambda m, x: m.vsplit(x, [1]), normal(3, 2)),
    c("dsplit", lambda m, x: m.dsplit(x, 2), normal(1, 2, 4)),
    c("unstack", lambda m, x: m.unstack(x, axis=-1), normal(2, 3)),
    # tiling, repeating
    c("tile", lambda m, x: m.tile(x, (2, 1, 3)), normal(2, 2), order3=True),
    c("tile", lambda m, x: m.tile(x, 2), normal(3), id="tile-int"),
    c("tile", lambda m, x: m.tile(x, (1, 1)), normal(3), id="tile-ones"),
    c("tile", lambda m, x: m.tile(x, (0, 2)), normal(2), id="tile-zero"),
    c("repeat", lambda m, x: m.repeat(x, 2), normal(2, 2)),
    c("repeat", lambda m, x: m.repeat(x, [1, 0, 3], axis=-1), normal(2, 3), id="repeat-array", order3=True),
    c("repeat", lambda m, x: m.repeat(x, np.array([2]), axis=0), normal(2, 3), id="repeat-size1-array"),
    c("resize", lambda m, x: m.resize(x, (5, 3)), normal(3, 4)),
    c("resize", lambda m, x: m.resize(x, 2), normal(3), id="resize-shrink"),
    c("resize", lambda m, x: m.resize(x, (2, 0)), normal(3), id="resize-empty"),
    # (the output's shape depends on the values, so under vmap it needs each example's own value)
    c("trim_zeros", lambda m, x: m.trim_zeros(m.concatenate([np.zeros(2), x, np.zeros(1)])), normal(3),
      vmap=TracerConversionError),
    c("trim_zeros", lambda m, x: m.trim_zeros(m.pad(x, 1), "f", axis=0), normal(2, 3), id="trim_zeros-axis",
      vmap=TracerConversionError),
    c("apply_along_axis", lambda m, x: m.apply_along_axis(lambda v: m.stack([m.sum(v), v[0] * v[1]]), -1, x),
      normal(3, 4)),
    c("apply_along_axis", lambda m, x: m.apply_along_axis(lambda v: m.outer(v, v), 0, x), normal(3, 2),
      id="apply_along_axis-2d-result"),
    c("apply_over_axes", lambda m, x: m.apply_over_axes(m.sum, x, [0, -1]), normal(2, 3, 4)),
    # flipping, rolling
    c("flip", lambda m, x: m.flip(x), normal(2, 3)),
    c("flip", lambda m, x: m.flip(x, (0, -1)), normal(2, 3, 2), id="flip-axes"),
    c("fliplr", lambda m, x: m.fliplr(x), normal(2, 3)),
    c("flipud", lambda m, x: m.flipud(x), normal(3)),
    c("roll", lambda m, x: m.roll(x, 2), normal(2, 3)),
    c("roll", lambda m, x: m.roll(x, (1, -4), axis=(0, -1)), normal(3, 4), id="roll-axes", order3=True),
    c("roll", lambda m, x: m.roll(x, (1, 1), axis=(1, 1)), normal(2, 3), id="roll-repeated-axis"),
    c("roll", lambda m, x: m.roll(x, 3, axis=0), normal(3, 2), id="roll-full-turn"),
    c("rot90", lambda m, x: m.rot90(x), normal(2, 3)),
    c("rot90", lambda m, x: m.rot90(x, 2, axes=(1, 2)), normal(2, 3, 4), id="rot90-2"),
    c("rot90", lambda m, x: m.rot90(x, -1, axes=(-1, 0)), normal(2, 3), id="rot90-neg"),
    c("rot90", lambda m, x: m.rot90(x, 4), normal(2, 3), id="rot90-4"),
    c("meshgrid", lambda m, x, y: m.meshgrid(x, y), normal(3), normal(2)),
    c("meshgrid", lambda m, x, y: m.meshgrid(x, y, np.arange(2.0), indexing="ij", sparse=True), normal(3), normal(2),
      id="meshgrid-ij-sparse"),
    # padding
    c("pad", lambda m, x: m.pad(x, 2), normal(3)),
    c("pad", lambda m, x: m.pad(x, ((1, 0), (2, 3)), constant_values=((1.5, 2.5), (3.5, 4.5))), normal(2, 2),
      id="pad-constant-pairs", order3=True),
    c("pad", lambda m, x: m.pad(x, {1: (1, 2)}), normal(2, 3), id="pad-dict"),
    c("pad", lambda m, x: m.pad(x, (1, 2), mode="edge"), normal(2, 3), id="pad-edge"),
    c("pad", lambda m, x: m.pad(x, [(4, 5)], mode="reflect"), normal(3), id="pad-reflect-long"),
    c("pad", lambda m, x: m.pad(x, 7, mode="reflect", reflect_type="odd"), normal(3), id="pad-reflect-odd"),
    c("pad", lambda m, x: m.pad(x, ((2, 5), (3, 1)), mode="symmetric"), normal(2, 3), id="pad-symmetric"),
    c("pad", lambda m, x: m.pad(x, (5, 4), mode="symmetric", reflect_type="odd"), normal(2), id="pad-symmetric-odd"),
    c("pad", lambda m, x: m.pad(x, ((2, 7), (1, 0)), mode="wrap"), normal(3, 2), id="pad-wrap"),
    c("pad", lambda m, x: m.pad(x, 3, mode="reflect"), normal(1, 2), id="pad-reflect-singleton"),
    c("pad", lambda m, x: m.pad(x, ((1, 2), (0, 1)), mode="linear_ramp", end_values=(1.0, -2.0)), normal(2, 3),
      id="pad-linear_ramp"),
    c("pad", lambda m, x: m.pad(x, 2, mode="maximum"), normal(3, 2), id="pad-maximum"),
    c("pad", lambda m, x: m.pad(x, (1, 2), mode="minimum", stat_length=2), normal(4), id="pad-minimum"),
    c("pad", lambda m, x: m.pad(x, 2, mode="mean", stat_length=((1, 2), (2, 1))), normal(3, 3), id="pad-mean"),
    c("pad", lambda m, x: m.pad(x, ((0, 0), (0, 0))), normal(2, 2), id="pad-nothing"),
    c("pad", lambda m, x: m.pad(x, ((0, 0), (1, 2)), mode="edge"), normal(0, 2), id="pad-size0"),
    # creation with traced values
    c("copy", lambda m, x: m.copy(x), normal(2, 3)),
    # (NumPy's own full / full_like write the fill value into a plain array: no dispatch can reach us)
    c("full", lambda m, x: m.full((2, 3), x), np.float64(1.5), order3=True, dispatch=False),
    c("full", lambda m, x: m.full((2, 2), x, dtype=np.float32), normal(2).astype(np.float32), id="full-float32",
      dispatch=False),
    c("full_like", lambda m, x: m.full_like(np.ones((2, 2), np.float32), x), np.float32(0.5), id="full_like-traced",
      dispatch=False),
    c("linspace", lambda m, a, b: m.linspace(a, b, 5), np.float64(-1.0), np.float64(2.0), order3=True),
    c("linspace", lambda m, a, b: m.linspace(a, b, 4, endpoint=False, axis=-1), normal(2), normal(2, 1),
      id="linspace-arrays"),
    c("linspace", lambda m, a: m.linspace(0.0, a, 1), np.float64(3.0), id="linspace-1"),
    c("logspace", lambda m, a, b: m.logspace(a, b, 4, base=2.0), np.float64(0.5), np.float64(1.5)),
    c("geomspace", lambda m, a, b: m.geomspace(a, b, 5), np.float64(1.5), np.float64(20.0), order3=True),
    c("geomspace", lambda m, a, b: m.geomspace(a, b, 4, endpoint=False, axis=-1), normal(2) - 3, -np.ones((3, 1)),
      id="geomspace-negative"),
    c("geomspace", lambda m, a, b: m.geomspace(a, b, 3), np.complex128(1 + 1j), np.complex128(-3 + 2j),
      id="geomspace-complex"),
    # (NumPy's own as*array functions convert to plain arrays at C level: no dispatch reaches us)
    c("asanyarray", lambda m, x: m.asanyarray(x) * 2.0, normal(2), dispatch=False),
    c("ascontiguousarray", lambda m, x: m.ascontiguousarray(x) * 2.0, np.float64(1.5), dispatch=False),
    c("asfortranarray", lambda m, x: m.asfortranarray(x.T) * 2.0, normal(2, 3), dispatch=False),
    c("asarray_chkfinite", lambda m, x: m.asarray_chkfinite(x) * 2.0, normal(2), dispatch=False),
]

for _case in CASES:
    _case.dispatch = _case.dispatch and hasattr(np, _case.name)

# These functions only move data: values are NumPy's bitwise.
FAMILY = Family(np, pnp, exact=True)
(test_value_matches_numpy, test_traced_primal_output_equals_numpy_bitwise, test_derivatives_to_second_order,
 test_derivatives_to_third_order, test_numpy_function_on_traced_value_dispatches_to_pullback,
 test_vmap_of_each_case_equals_the_loop) = family_tests(FAMILY, CASES)


def test_complex_and_float32_values_keep_their_dtype():
    z = cnormal(2, 3)
    for f in (lambda m, z: m.roll(m.pad(z, 1, mode="reflect"), 1), lambda m, z: m.tile(m.flip(z), (2, 1)),
              lambda m, z: m.concatenate(m.split(z, 3, axis=1), axis=0)):
        assert_same(pb.vjp(functools.partial(f, pnp), z)[0], f(np, z))
        check_grads(functools.partial(f, pnp), [z], order=1)
    x = normal(2, 3).astype(np.float32)
    g = pb.grad(lambda x: pnp.sum(pnp.pad(pnp.repeat(x, [1, 2, 0], axis=1), 1, mode="wrap") ** 2))(x)
    assert g.dtype == np.float32


# ============================================================================ known derivative values


def test_tile_and_repeat_gradients_count_the_copies():
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(pb.grad(lambda x: pnp.sum(pnp.tile(x, (2, 3))))(x), [6.0, 6.0, 6.0])
    np.testing.assert_array_equal(pb.grad(lambda x: pnp.sum(pnp.repeat(x, [3, 0, 1])))(x), [3.0, 0.0, 1.0])
    w = np.array([1.0, 10.0, 100.0, 1000.0])
    np.testing.assert_array_equal(pb.grad(lambda x: pnp.sum(pnp.repeat(x[:2], 2) * w))(x), [11.0, 1100.0, 0.0])


def test_pad_gradients_fold_the_padding_back():
    x = np.array([1.0, 2.0, 3.0])
    # reflect: [3 2 | 1 2 3 | 2 1] → x0 once, x1 three times, x2 twice
    np.testing.assert_array_equal(pb.grad(lambda x: pnp.sum(pnp.pad(x, 2, mode="reflect")))(x), [2.0, 3.0, 2.0])
    np.testing.assert_array_equal(pb.grad(lambda x: pnp.sum(pnp.pad(x, (2, 1), mode="edge")))(x), [3.0, 1.0, 2.0])
    np.testing.assert_array_equal(pb.grad(lambda x: pnp.sum(pnp.pad(x, (4, 0), mode="wrap")))(x), [2.0, 2.0, 3.0])
    # odd reflection: 2·x0 − x1 on the left
    np.testing.assert_array_equal(pb.grad(lambda x: pnp.pad(x, (1, 0), mode="reflect", reflect_type="odd")[0])(x),
                                  [2.0, -1.0, 0.0])
    g = pb.grad(lambda c: pnp.sum(pnp.pad(x, (2, 1), constant_values=c)))(0.5)
    assert g == 3.0


def test_roll_flip_rot90_gradients_are_the_inverse_permutation():
    x = np.arange(6.0).reshape(2, 3)
    for f, inv in ((lambda x: pnp.roll(x, 1, axis=1), lambda g: np.roll(g, -1, axis=1)),
                   (lambda x: pnp.flip(x), lambda g: np.flip(g)),
                   (lambda x: pnp.rot90(x), lambda g: np.rot90(g, -1))):
        w = np.arange(6.0).reshape(np.shape(f(x))) ** 2
        np.testing.assert_array_equal(pb.grad(lambda x, f=f, w=w: pnp.sum(f(x) * w))(x), inv(w))


def test_linspace_derivatives_in_the_endpoints():
    t = np.linspace(0.0, 1.0, 5)
    ga, gb = pb.jacfwd(lambda a, b: pnp.linspace(a, b, 5), argnums=(0, 1))(0.0, 1.0)
    np.testing.assert_allclose(ga, 1 - t, atol=1e-15)
    np.testing.assert_allclose(gb, t, atol=1e-15)


def test_linspace_to_an_integer_dtype_floors_like_numpy_and_carries_no_derivative():
    f = lambda a: pnp.linspace(a, 1.0, 4, dtype=int) * a  # noqa: E731
    out = pb.vjp(f, -2.5)[0]
    assert_same(out, np.linspace(-2.5, 1.0, 4, dtype=int) * -2.5)
    np.testing.assert_array_equal(pb.jacfwd(f)(-2.5), np.linspace(-2.5, 1.0, 4, dtype=int))


def test_full_and_full_like_differentiate_the_fill_value():
    assert pb.grad(lambda s: pnp.sum(pnp.full((2, 3), s)))(2.0) == 6.0
    g = pb.grad(lambda s: pnp.sum(pnp.full_like(np.ones(4, np.float32), s)))(np.float32(2.0))
    assert g == 4.0 and g.dtype == np.float32
    out = pb.vjp(lambda s: pnp.full_like(np.ones(2, np.float32), s), 1.0)[0]
    assert out.dtype == np.float32  # NumPy's full_like keeps a's dtype


# ============================================================================ creation inside traced code


def test_numpy_creation_functions_work_inside_traced_code():
    def f(x):
        n = x.shape[0]
        parts = [pnp.zeros(n) * x, pnp.ones(n) * x, pnp.eye(n) @ x, pnp.arange(n) * x, pnp.linspace(0, 1, n) * x,
                 pnp.zeros_like(x) + x, pnp.ones_like(x) * x, pnp.full(n, 2.0) * x, pnp.full_like(x, 3.0) * x,
                 pnp.identity(n) @ x, pnp.empty_like(x) * 0 + x, pnp.array(x), pnp.asarray(x), pnp.copy(x)]
        return pnp.sum(pnp.stack(parts))

    x = np.array([1.0, 2.0, 3.0])
    expected = 0 + 1 + 1 + np.arange(3) + np.linspace(0, 1, 3) + 1 + 1 + 2 + 3 + 1 + 1 + 1 + 1 + 1
    np.testing.assert_allclose(pb.grad(f)(x), expected)


def test_copies_are_new_values_and_views_of_the_same_object_are_not():
    def f(x):
        x = x * 1.0
        for make in (pnp.copy, lambda x: x.copy(), pnp.array, lambda x: x.flatten(), lambda x: x.astype(float),
                     lambda x: pnp.roll(x, 0), lambda x: pnp.tile(x, 1), lambda x: pnp.repeat(x, 1),
                     lambda x: pnp.pad(x, 0), lambda x: np.copy(x)):
            y = make(x)
            assert y is not x
            y[0] = 100.0
            assert x.concrete()[0] == 0.0
        return pnp.sum(x)

    np.testing.assert_array_equal(pb.grad(f)(np.zeros(3)), np.ones(3))


# ============================================================================ random shapes


@st.composite
def shape_and_axis(draw, min_dims=1):
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=3, min_side=0, max_side=3))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    return shape, axis


def _check(f, x):
    expected = f(np, x)
    assert_same(pb.vjp(functools.partial(f, pnp), x)[0], expected)
    check_grads(functools.partial(f, pnp), [x], order=1)


@FAST
@given(shape_and_axis(), st.integers(-4, 4))
def test_roll_on_random_shapes(sa, shift):
    shape, axis = sa
    _check(lambda m, x: m.roll(x, shift, axis=axis), R.standard_normal(shape))


@FAST
@given(shape_and_axis(), st.integers(1, 3))
def test_repeat_and_tile_on_random_shapes(sa, k):
    shape, axis = sa
    x = R.standard_normal(shape)
    _check(lambda m, x: m.repeat(x, k, axis=axis), x)
    _check(lambda m, x: m.repeat(x, np.arange(shape[axis]) % 3, axis=axis), x)
    _check(lambda m, x: m.tile(x, (k,) * (len(shape) - 1) + (2,)), x)


@FAST
@given(shape_and_axis(), st.sampled_from(["constant", "edge", "reflect", "symmetric", "wrap"]), st.data())
def test_pad_on_random_shapes(sa, mode, data):
    shape, _ = sa
    if mode != "constant":
        shape = tuple(max(n, 1) for n in shape)  # NumPy refuses to extend an empty axis in these modes
    widths = [(data.draw(st.integers(0, 4)), data.draw(st.integers(0, 4))) for _ in shape]
    _check(lambda m, x: m.pad(x, widths, mode=mode), R.standard_normal(shape))


@FAST
@given(shape_and_axis(), st.integers(1, 3))
def test_split_and_flip_on_random_shapes(sa, sections):
    shape, axis = sa
    x = R.standard_normal(shape)
    _check(lambda m, x: m.array_split(x, sections, axis=axis), x)
    _check(lambda m, x: m.flip(x, axis=axis), x)
    _check(lambda m, x: m.moveaxis(x, axis, 0), x)
    _check(lambda m, x: m.expand_dims(x, axis), x)


# ============================================================================ errors match NumPy


ERRORS = [
    (lambda m, x: m.reshape(x, (-1, -1)), ValueError),
    (lambda m, x: m.reshape(x, (4, 2)), ValueError),
    (lambda m, x: m.moveaxis(x, 5, 0), np.exceptions.AxisError),
    (lambda m, x: m.moveaxis(x, (0, 0), (1, 0)), ValueError),
    (lambda m, x: m.swapaxes(x, 0, 2), np.exceptions.AxisError),
    (lambda m, x: m.transpose(x, (0, 0)), ValueError),
    (lambda m, x: m.transpose(x, (0,)), ValueError),
    (lambda m, x: m.broadcast_to(x, (3, 3)), ValueError),
    (lambda m, x: m.split(x, 4), ValueError),
    (lambda m, x: m.array_split(x, 0), ValueError),
    (lambda m, x: m.concatenate([x, np.ones((2, 2))]), ValueError),
    (lambda m, x: m.stack([x, np.ones(3)]), ValueError),
    (lambda m, x: m.vsplit(x[0], 2), ValueError),
    (lambda m, x: m.fliplr(x[0]), ValueError),
    (lambda m, x: m.rot90(x, axes=(0, 0)), ValueError),
    (lambda m, x: m.repeat(x, [1, 2, 3]), ValueError),
    (lambda m, x: m.repeat(x, -1), ValueError),
    (lambda m, x: m.pad(x, -1), ValueError),
    (lambda m, x: m.pad(x, 1.5), TypeError),
    (lambda m, x: m.pad(x, 1, mode="nonsense"), ValueError),
    (lambda m, x: m.pad(x, 1, mode="edge", constant_values=1), ValueError),
    (lambda m, x: m.pad(x[:, :0], 1, mode="wrap"), ValueError),
    (lambda m, x: m.block([x, [x]]), ValueError),
    (lambda m, x: m.resize(x, (-1, 2)), ValueError),
    (lambda m, x: m.trim_zeros(x, "x"), ValueError),
    (lambda m, x: m.apply_along_axis(m.sum, 1, x[:0]), ValueError),
    (lambda m, x: m.apply_over_axes(lambda a, axis: a[0, 0], x, 0), ValueError),
    (lambda m, x: m.geomspace(x[0, 0] * 0, 1.0), ValueError),
    (lambda m, x: m.asarray_chkfinite(x * np.inf), ValueError),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_match_numpy(i):
    f, exc = ERRORS[i]
    x = normal(2, 3)
    with pytest.raises(exc):
        f(np, x)
    with pytest.raises(exc):
        pb.grad(lambda x: pnp.sum(f(pnp, x)))(x)


def test_pad_with_a_callable_mode_is_refused_clearly():
    with pytest.raises(UnsupportedFunctionError, match="callable"):
        pb.grad(lambda x: pnp.sum(pnp.pad(x, 1, mode=lambda *a: None)))(np.ones(2))
