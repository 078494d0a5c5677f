"""The graph passes of issue 14 (item 2): power folds, elementwise operations split over aligned
concatenates and lifted over reshapes, sums of scatters into zeros folded into one scatter_sum buffer.

Each fold is checked three ways: the printed graph shows it, the simplified graph computes what the
graph before simplification computes (bitwise, on special values too), and jit equals eager.
"""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback.core.ir import ShapeDtype
from pullback.primitives import scatter_sum as ss
from pullback.testing import check_grads

RNG = np.random.default_rng(214)
SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 2.5, -3.0, 1e200, 5e-324])
with np.errstate(over="ignore", under="ignore"):
    SPECIAL32 = SPECIAL.astype(np.float32)
SPECIAL_COMPLEX = SPECIAL.astype(np.complex128)
SPECIAL_COMPLEX.imag = SPECIAL[::-1]


def _prims(graph) -> list[str]:
    return [e.prim.name for e in graph.eqns]


def _same_before_and_after(f, *args):
    """The simplified graph computes bitwise what the traced one does (nan == nan; up to zero's sign)."""
    raw = pb.make_graph(f, *args)
    simple = raw.simplify()
    flat = pb.tree_util.tree_flatten(args)[0]
    with np.errstate(all="ignore"):
        for a, b in zip(raw(*flat), simple(*flat)):
            np.testing.assert_array_equal(a, b)
            assert np.asarray(a).dtype == np.asarray(b).dtype and np.shape(a) == np.shape(b)
    return simple


# ============================================================================ power


@pytest.mark.parametrize("x", [SPECIAL, SPECIAL32, np.arange(-3, 4), SPECIAL_COMPLEX],
                         ids=["float64", "float32", "int", "complex"])
def test_power_zero_is_one_for_every_value_as_numpy_says(x):
    for exponent in (0, 0.0):
        g = _same_before_and_after(lambda x, e=exponent: x ** e, x)
        assert "power" not in _prims(g)
        with np.errstate(all="ignore"):
            np.testing.assert_array_equal(pb.jit(lambda x, e=exponent: x ** e)(x), np.power(x, exponent))
    assert np.power(np.nan, 0.0) == 1.0  # NumPy's behaviour the fold relies on


@pytest.mark.parametrize("x", [SPECIAL, SPECIAL32, np.arange(-3, 4)], ids=["float64", "float32", "int"])
def test_power_two_is_a_product_for_real_values(x):
    g = _same_before_and_after(lambda x: x ** 2, x)
    assert _prims(g) == ["multiply"] and "multiply(x, x)" in str(g)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(pb.jit(lambda x: x ** 2.0)(x), np.power(x, 2.0))


def test_power_two_folds_on_wide_ranges_bitwise():
    r = RNG.standard_normal(20_000) * np.exp(RNG.uniform(-300, 300, 20_000))
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(pb.jit(lambda x: x ** 2.0)(r), np.power(r, 2.0))
        s = float(r[0])
        assert pb.jit(lambda x: x ** 2.0)(np.float64(s)) == np.power(np.float64(s), 2.0)


def test_power_two_is_kept_where_numpy_does_not_square():
    z = SPECIAL[2:] + 1j
    assert "power" in _prims(pb.make_graph(lambda z: z ** 2, z).simplify())  # complex: NumPy's own power
    twos = np.full(SPECIAL.shape, 2.0)  # an array of exponents: NumPy's pow loop, which may differ by an ulp
    assert "power" in _prims(pb.make_graph(lambda x: pnp.power(x, twos), SPECIAL).simplify())


def test_power_one_is_the_base_and_derivatives_of_powers_simplify():
    x = RNG.standard_normal(5)
    assert _prims(_same_before_and_after(lambda x: x ** 1.0, x)) == []
    g = _same_before_and_after(pb.grad(lambda x: pnp.sum(x ** 3)), x)
    assert "power" not in _prims(g)
    np.testing.assert_allclose(pb.jit(pb.hessian(lambda x: pnp.sum(x ** 3)))(x), np.diag(6 * x), rtol=1e-14)
    weak = pb.make_graph(lambda s: s ** 0, 2.0).simplify()
    assert pb.jit(lambda s: s ** 0)(2.0) == 1.0 and weak.eqns == []


# ============================================================================ split concatenates, lift reshapes


def test_adding_aligned_concatenates_adds_their_pieces():
    a, b, c, d = (RNG.standard_normal(3) for _ in range(4))
    a[0], d[1] = np.nan, np.inf

    def f(a, b, c, d):
        return pnp.concatenate([a, b]) * pnp.concatenate([c, d])

    g = _same_before_and_after(f, a, b, c, d)
    assert _prims(g) == ["multiply", "multiply", "concatenate"]
    np.testing.assert_array_equal(pb.jit(f)(a, b, c, d), np.concatenate([a * c, b * d]))
    misaligned = pb.make_graph(lambda a, b, c, d: pnp.concatenate([a, b]) + pnp.concatenate([c[:2], d, c[2:]]),
                               a, b, c, d).simplify()
    assert _prims(misaligned).count("concatenate") == 2


def test_a_gradient_accumulated_into_blocks_keeps_one_concatenate():
    def F(phi, xs):  # the W2 shape: every step adds a term in phi[0] and one in phi[1]
        total = 0.0
        for i, x in enumerate(xs):
            total = total + pnp.sin(phi[0] * (i + 1)) * pnp.sum(x) + phi[1] ** 2 * pnp.sum(x * x)
        return total

    phi, xs = np.array([0.3, -0.7]), [RNG.standard_normal(4) for _ in range(6)]
    g = _same_before_and_after(pb.grad(F), phi, xs)
    assert _prims(g).count("concatenate") <= 1 and _prims(g).count("reshape") <= 2
    np.testing.assert_allclose(pb.jit(pb.grad(F))(phi, xs), pb.grad(F)(phi, xs), rtol=1e-13)


def test_operations_on_reshaped_scalars_run_on_the_scalars():
    def f(x, y):
        return pnp.reshape(x, (1,)) + pnp.reshape(y, (1,)) * 2.0

    g = _same_before_and_after(f, 1.5, np.float64(-0.25))
    assert _prims(g)[-1] == "reshape" and _prims(g).count("reshape") == 1
    np.testing.assert_array_equal(pb.jit(f)(1.5, np.float64(-0.25)), [1.0])


# ============================================================================ scatter_sum


def _hvp_rosenbrock(x, v):
    def f(x):
        a, b = x[0::2], x[1::2]
        return pnp.sum(100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2)

    return pb.hvp(f, (x,), (v,))


def test_the_w4_gradient_writes_one_buffer_instead_of_four_scatters():
    x, v = RNG.uniform(-1.5, 1.5, 10), RNG.standard_normal(10)
    raw = pb.make_graph(_hvp_rosenbrock, x, v)
    g = _same_before_and_after(_hvp_rosenbrock, x, v)
    assert _prims(raw).count("add_at") >= 4
    assert "add_at" not in _prims(g) and _prims(g).count("scatter_sum") == 2
    assert "full=True" in str(g)  # the pieces cover the buffer: np.empty, no zeros, plain assignments
    got = pb.jit(_hvp_rosenbrock)(x, v)
    want = _hvp_rosenbrock(x, v)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_scatter_sums_are_exact_with_overlaps_and_repeats():
    x = RNG.standard_normal(6)
    rep = np.array([0, 0, 3])

    def overlapping(x):  # strided pieces that overlap: the second adds onto the first
        return pnp.sum(x[::2] ** 3) + pnp.sum(pnp.sin(x[::4]))

    g = _same_before_and_after(pb.grad(overlapping), x)
    assert "scatter_sum" in _prims(g) and "full=False" in str(g)

    def repeats_apart(x):  # repeated indices, at positions the other piece does not write: one buffer
        return pnp.sum(pnp.sin(x[np.array([1, 1, 3])])) + pnp.sum(x[::2] ** 3)

    g = _same_before_and_after(pb.grad(repeats_apart), x)
    assert "scatter_sum" in _prims(g)

    def repeats_onto_written(x):  # repeats onto positions already written: (a + b) + c ≠ a + (b + c), kept apart
        return pnp.sum(pnp.sin(x[rep])) + pnp.sum(pnp.cos(x[np.array([0, 0, 2])]))

    g = _same_before_and_after(pb.grad(repeats_onto_written), x)
    assert "add_at" in _prims(g) and "scatter_sum" not in _prims(g)
    for f in (overlapping, repeats_apart, repeats_onto_written):
        np.testing.assert_allclose(pb.jit(pb.grad(f))(x), pb.grad(f)(x), rtol=1e-14)


SCATTER_CASES = [
    ("disjoint", (4, 3), (slice(0, None, 2), slice(1, None, 2)), (True, True), True),
    ("overlap", (5,), (slice(1, 4), slice(2, None)), (True, False), False),
    ("repeats", (5,), (np.array([0, 0, 3]), slice(1, 3)), (False, True), False),
    ("negative axes", (3, 4), ((Ellipsis, -1), (slice(None), slice(0, -1))), (True, True), True),
    ("size 0", (0, 3), (slice(None), (slice(None), 0)), (True, False), True),
    ("size 1", (1,), (slice(None), 0), (True, False), True),
]


def _pieces(shape, idxs):
    return [RNG.standard_normal(np.zeros(shape)[idx].shape) for idx in idxs]


def _numpy_scatter_sum(vs, shape, idxs):
    out = np.zeros(shape)
    for v, idx in zip(vs, idxs):
        np.add.at(out, idx, v)
    return out


@pytest.mark.parametrize("name, shape, idxs, assign, full", SCATTER_CASES, ids=[c[0] for c in SCATTER_CASES])
def test_scatter_sum_values_shape_rule_and_derivatives(name, shape, idxs, assign, full):
    params = dict(idxs=idxs, assign=assign, full=full, shape=shape, dtype=np.dtype(np.float64))
    vs = _pieces(shape, idxs)
    out = ss.scatter_sum(*vs, **params)
    np.testing.assert_allclose(out, _numpy_scatter_sum(vs, shape, idxs), rtol=1e-15)
    rule_shape, rule_dtype = ss.scatter_sum.shape(*[ShapeDtype(v.shape, v.dtype) for v in vs], **params)
    assert tuple(rule_shape) == out.shape and np.dtype(rule_dtype) == out.dtype
    check_grads(lambda *vs: ss.scatter_sum(*vs, **params), vs, order=2)
    np.testing.assert_allclose(pb.vmap(lambda *vs: ss.scatter_sum(*vs, **params))(*[np.stack([v, 2 * v]) for v in vs]),
                               np.stack([out, 2 * out]), rtol=1e-15)


def test_scatter_sum_to_third_order_and_linear():
    params = dict(idxs=(np.array([1, 1, 0]), slice(0, 2)), assign=(False, False), full=False, shape=(3,),
                  dtype=np.dtype(np.float64))
    vs = _pieces((3,), params["idxs"])
    check_grads(lambda a, b: ss.scatter_sum(a, b, **params) ** 2, vs, order=3)
    ws = _pieces((3,), params["idxs"])
    np.testing.assert_allclose(ss.scatter_sum(*[1.5 * v - 2.0 * w for v, w in zip(vs, ws)], **params),
                               1.5 * ss.scatter_sum(*vs, **params) - 2.0 * ss.scatter_sum(*ws, **params), rtol=1e-14)


def test_scatter_sum_sparsity_rule_matches_its_jacobian():
    idxs = (np.array([0, 0, 3]), slice(1, 3))
    params = dict(idxs=idxs, assign=(False, False), full=False, shape=(5,), dtype=np.dtype(np.float64))
    vs = _pieces((5,), idxs)
    maps = ss.scatter_sum.sparsity([v.shape for v in vs], [None, None], (5,), **params)
    for k, (rows, cols) in enumerate(maps):
        pattern = np.zeros((5, vs[k].size), bool)
        pattern[rows, cols] = True
        jac = pb.jacfwd(lambda v, k=k: ss.scatter_sum(*[v if j == k else vs[j] for j in range(2)], **params))(vs[k])
        np.testing.assert_array_equal(pattern, jac != 0)
