"""Reverse mode's central rules: unbroadcasting in the backward pass, and reverse rules by transposition.

- Every reverse rule returns its cotangent at the shape and dtype it computes; the backward
  pass sums it over broadcast axes and casts it to the input's dtype (complex → real part,
  float64 → float32). Checked for every broadcasting binary primitive, orders 1 and 2.
- A primitive given only its forward rule gets its reverse rule by transposing that rule
  (core/ad.py, TransposeTrace); checked on new primitives and, for every primitive that has
  both, against the hand-written reverse rule.
"""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
from pullback.core.ad import reverse_rules, transposed_rules, unbroadcast
from pullback.core.primitive import Primitive
from pullback.errors import NonLinearRuleError
from pullback.primitives import decompositions as dec
from pullback.primitives import elementwise as ew
from pullback.primitives import elementwise_extra as ewx
from pullback.primitives import reductions as red
from pullback.primitives import shape as sh
from pullback.primitives import sorting as srt
from pullback.primitives import spectral as spec
from pullback.primitives._util import broadcast_rule, same_rule
from pullback.primitives.linalg import matmul
from pullback.testing import check_grads


def total(y):
    return red.reduce_sum(y, axis=None, keepdims=False)


def _binary_primitives() -> dict:
    prims = {}
    for name in ("add", "subtract", "multiply", "divide", "power", "maximum", "minimum", "arctan2", "hypot"):
        prims[name] = getattr(ew, name)
    for name, p in ewx.BINARY_EXTRA.items():
        if p.differentiable:
            prims[name] = p
    ldexp = prims.pop("ldexp")  # its exponent is an integer: differentiate in x only, the int broadcast
    prims["ldexp"] = lambda x, y: ldexp(x, np.round(10 * y).astype(np.int64))
    return prims


BINARY = _binary_primitives()
BROADCASTS = [((3, 1), (4,)), ((2, 1, 3), (1, 4, 1)), ((), (2, 3)), ((2, 3), ()), ((0, 3), (1,)), ((1, 1), (1,))]


def _args(rng, sx, sy, dtype=np.float64):
    # positive and apart, so that every binary primitive is smooth there (power, fmod, logaddexp ...)
    x = rng.uniform(1.1, 1.9, sx).astype(dtype)
    y = rng.uniform(0.3, 0.7, sy).astype(dtype)
    return x, y


@pytest.mark.parametrize("shapes", BROADCASTS, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_every_binary_primitive_unbroadcasts_in_reverse_mode_to_order_two(name, shapes, rng):
    x, y = _args(rng, *shapes)
    if name == "ldexp":
        check_grads(lambda x: BINARY[name](x, y), [x], order=2, modes=("rev",))
    else:
        check_grads(BINARY[name], [x, y], order=2, modes=("rev",))


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_gradient_has_each_input_shape_and_sums_broadcast_axes(name, rng):
    prim = BINARY[name]
    x, y = _args(rng, (3, 1), (1, 4))
    if name == "ldexp":
        y = np.round(10 * y)  # an integer-valued float the wrapper rounds again: its gradient is 0
    gx, gy = pb.grad(lambda a, b: total(prim(a, b)), argnums=(0, 1))(x, y)
    assert gx.shape == (3, 1) and gy.shape == (1, 4)
    xb, yb = np.broadcast_to(x, (3, 4)), np.broadcast_to(y, (3, 4))
    xb, yb = np.ascontiguousarray(xb), np.ascontiguousarray(yb)
    gxb, gyb = pb.grad(lambda a, b: total(prim(a, b)), argnums=(0, 1))(xb, yb)
    np.testing.assert_allclose(gx, gxb.sum(axis=1, keepdims=True), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gy, gyb.sum(axis=0, keepdims=True), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_gradient_of_float32_input_is_float32_against_float64_operand(name, rng):
    prim = BINARY[name]
    x, y = _args(rng, (3, 2), (2,))
    x32 = x.astype(np.float32)
    gx32, gy = pb.grad(lambda a, b: total(prim(a, b)), argnums=(0, 1))(x32, y)
    assert gx32.dtype == np.float32 and gy.dtype == np.float64 and gy.shape == (2,)
    gx64, _ = pb.grad(lambda a, b: total(prim(a, b)), argnums=(0, 1))(x32.astype(np.float64), y)
    np.testing.assert_allclose(gx32, gx64, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_second_order_reverse_keeps_float32(name, rng):
    prim = BINARY[name]
    x, y = _args(rng, (4,), (1,), np.float32)
    gfun = pb.grad(lambda a, b: total(prim(a, b)))
    h = pb.jacrev(gfun)(x, y)
    assert h.dtype == np.float32 and h.shape == (4, 4)


@pytest.mark.parametrize("name", ["add", "subtract", "multiply", "divide"])
def test_complex_cotangent_reaching_a_real_input_keeps_its_real_part(name, rng):
    prim = BINARY[name]
    x = rng.uniform(1.0, 2.0, (3, 1))
    z = rng.standard_normal(4) + 1j * rng.standard_normal(4) + 2.0

    def f(x):
        return ew.real(total(multiply_conj(prim(x, z))))

    def multiply_conj(w):
        return ew.multiply(w, ew.conj(w))

    g = pb.grad(f)(x)
    assert g.dtype == np.float64 and g.shape == (3, 1)
    check_grads(f, [x], order=2, modes=("rev",))


def test_select_unbroadcasts_both_branches(rng):
    c = rng.standard_normal((3, 4)) > 0
    x, y = rng.standard_normal((3, 1)), rng.standard_normal(())
    check_grads(lambda a, b: ew.select(c, a, b), [x, y], order=2, modes=("rev",))
    gx, gy = pb.grad(lambda a, b: total(ew.select(c, a, b)), argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(gx, c.sum(axis=1, keepdims=True).astype(float))
    assert gy.shape == () and gy == (~c).sum()


def test_matmul_with_broadcast_batch_axes_unbroadcasts(rng):
    a, b = rng.standard_normal((2, 1, 3, 4)), rng.standard_normal((5, 4, 2))
    check_grads(matmul, [a, b], order=2, modes=("rev",))
    check_grads(matmul, [rng.standard_normal(4), b], order=2, modes=("rev",))


def test_unbroadcast_sums_leading_and_unit_axes_and_casts():
    g = np.ones((2, 3, 4))
    x = np.zeros((3, 1), np.float32)
    out = unbroadcast(g, x)
    assert out.shape == (3, 1) and out.dtype == np.float32
    np.testing.assert_array_equal(out, np.full((3, 1), 8.0))
    gc = np.array([1.0 + 2.0j, 3.0 - 1.0j])
    assert unbroadcast(gc, np.zeros(2)).dtype == np.float64
    np.testing.assert_array_equal(unbroadcast(gc, np.zeros(2)), [1.0, 3.0])
    same = np.ones(3)
    assert unbroadcast(same, np.zeros(3)) is same  # nothing to do: no new array


# ============================================================================ transposition


def _cube_jvp(t, out, x):
    return ew.multiply(t, ew.multiply(3.0, ew.multiply(x, x)))


cube = Primitive("cube_test", lambda x: x**3, shape=same_rule, jvps=[_cube_jvp], doc="x³, forward rule only")

# x·y² with a forward rule per argument (the second one builds its factor from out)
scaled_square = Primitive(
    "scaled_square_test", lambda x, y: x * y * y, shape=broadcast_rule,
    jvps=[
        lambda t, out, x, y: ew.multiply(t, ew.multiply(y, y)),
        lambda t, out, x, y: ew.multiply(ew.multiply(t, 2.0), ew.multiply(x, y)),
    ],
)


def _polar_impl(r, th):
    return r * np.cos(th), r * np.sin(th)


def _polar_jvp(primals, tangents, out):
    (r, th), (dr, dth) = primals, tangents
    c, s = ew.cos(th), ew.sin(th)
    dx = dy = None
    if dr is not None:
        dx, dy = ew.multiply(dr, c), ew.multiply(dr, s)
    if dth is not None:
        ex, ey = ew.negative(ew.multiply(dth, ew.multiply(r, s))), ew.multiply(dth, ew.multiply(r, c))
        dx = ex if dx is None else ew.add(dx, ex)
        dy = ey if dy is None else ew.add(dy, ey)
    return dx, dy


polar = Primitive(
    "polar_test", _polar_impl, shape=lambda r, th: [broadcast_rule(r, th)] * 2,
    jvp=_polar_jvp, multiple_results=True,
)


def test_primitive_with_only_a_forward_rule_gets_a_reverse_rule(rng):
    vjps, vjp = reverse_rules(cube)  # derived from the forward rule on first use
    assert vjps is not None and vjps[0] is not None and cube.vjps is vjps
    x = rng.standard_normal((3, 2))
    np.testing.assert_allclose(pb.grad(lambda x: total(cube(x)))(x), 3 * x * x, rtol=1e-13)
    check_grads(cube, [x], order=3)


@pytest.mark.parametrize("shapes", [((3, 1), (4,)), ((), (2,)), ((2,), ()), ((0,), (1,))], ids=str)
def test_transposed_rules_unbroadcast_and_nest(shapes, rng):
    x, y = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    check_grads(scaled_square, [x, y], order=2)
    gx, gy = pb.grad(lambda a, b: total(scaled_square(a, b)), argnums=(0, 1))(x, y)
    xb, yb = np.broadcast_arrays(x, y)
    np.testing.assert_allclose(gx, _sum_to(yb * yb, x.shape), rtol=1e-12)
    np.testing.assert_allclose(gy, _sum_to(2 * xb * yb, y.shape), rtol=1e-12)


def _sum_to(a, shape):
    a = np.asarray(a)
    lead = a.ndim - len(shape)
    a = a.sum(axis=tuple(range(lead))) if lead else a
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and a.shape[i] != 1)
    return a.sum(axis=axes, keepdims=True) if axes else a


def test_whole_forward_rule_with_several_outputs_is_transposed(rng):
    r, th = rng.uniform(0.5, 2.0, (3,)), rng.standard_normal((2, 1))
    assert reverse_rules(polar)[1] is not None
    check_grads(polar, [r, th], order=2)
    check_grads(lambda r: polar(r, th)[1], [r], order=3)


def test_transposed_rule_under_float32_keeps_float32(rng):
    x = rng.standard_normal(3).astype(np.float32)
    g = pb.grad(lambda x: total(scaled_square(x, 2.0)))(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, np.full(3, 4.0, np.float32))


def test_forward_rule_that_is_not_linear_in_the_tangent_raises_clearly(rng):
    bad = Primitive("bad_square_test", lambda x: x * x, shape=same_rule,
                    jvps=[lambda t, out, x: ew.multiply(t, t)])
    with pytest.raises(NonLinearRuleError, match="bad_square_test"):
        pb.grad(lambda x: total(bad(x)))(rng.standard_normal(3))
    uses_sign = Primitive("bad_sign_test", lambda x: x, shape=same_rule,
                          jvps=[lambda t, out, x: ew.multiply(ew.sign(t), x)])
    with pytest.raises(NonLinearRuleError, match="bad_sign_test"):
        pb.grad(lambda x: total(uses_sign(x)))(rng.standard_normal(3))


def test_forward_rule_applying_the_primitive_itself_to_the_tangent_raises_clearly(rng):
    def jvp(t, out, x):
        return selfref(t)

    selfref = Primitive("selfref_test", lambda x: 2 * x, shape=same_rule, jvps=[jvp])
    with pytest.raises(NonLinearRuleError, match="selfref_test"):
        pb.grad(lambda x: total(selfref(x)))(rng.standard_normal(3))


# The transposed rule must agree with each hand-written reverse rule: the strongest check of
# the mechanism (and of the hand-written rules). (primitive, inputs, params)
def _spd(rng, n):
    a = rng.standard_normal((n, n))
    return a @ a.T + n * np.eye(n)


def _gen(rng, n):
    return rng.standard_normal((n, n)) + n * np.eye(n)


HAND_WRITTEN = {
    "multiply": lambda r: (ew.multiply, [r.standard_normal((3, 1)), r.standard_normal(4)], {}),
    "divide": lambda r: (ew.divide, [r.standard_normal((3, 1)), r.uniform(1, 2, 4)], {}),
    "power": lambda r: (ew.power, [r.uniform(1, 2, (3, 1)), r.standard_normal(4)], {}),
    "maximum": lambda r: (ew.maximum, [r.standard_normal((3, 1)), r.standard_normal(4)], {}),
    "arctan2": lambda r: (ew.arctan2, [r.standard_normal(3), r.uniform(1, 2, 3)], {}),
    "hypot": lambda r: (ew.hypot, [r.standard_normal(3), r.uniform(1, 2, 3)], {}),
    "tanh": lambda r: (ew.tanh, [r.standard_normal(3)], {}),
    "absolute": lambda r: (ew.absolute, [r.standard_normal(3) + 1j * r.standard_normal(3)], {}),
    "select": lambda r: (ew.select, [r.standard_normal(3) > 0, r.standard_normal(3), r.standard_normal(())], {}),
    "clip": lambda r: (ewx.clip, [r.standard_normal(5), -0.5, 0.5], {}),
    "sinc": lambda r: (ewx.sinc, [r.standard_normal(4)], {}),
    "logaddexp": lambda r: (ewx.BINARY_EXTRA["logaddexp"], [r.standard_normal(3), r.standard_normal(3)], {}),
    "reduce_max": lambda r: (red.reduce_max, [r.standard_normal((3, 4))], {"axis": (1,), "keepdims": False}),
    "reduce_prod": lambda r: (srt.reduce_prod, [r.standard_normal((3, 4))], {"axis": (0,), "keepdims": True}),
    "cumprod": lambda r: (srt.cumprod, [r.standard_normal((3, 4))], {"axis": 1, "reverse": False}),
    "matmul": lambda r: (matmul, [r.standard_normal((2, 3)), r.standard_normal(3)], {}),
    "inv": lambda r: (dec.inv, [_gen(r, 3)], {}),
    "solve": lambda r: (dec.solve, [_gen(r, 3), r.standard_normal((3, 2))], {}),
    "det": lambda r: (dec.det, [_gen(r, 3)], {}),
    "cofactors": lambda r: (dec.cofactors, [_gen(r, 3)], {}),
    "slogdet": lambda r: (dec.slogdet, [_gen(r, 3)], {}),
    "cholesky": lambda r: (dec.cholesky, [_spd(r, 3)], {"upper": False}),
    "qr_tall": lambda r: (dec.qr, [r.standard_normal((4, 3))], {}),
    "qr_wide": lambda r: (dec.qr, [r.standard_normal((2, 4))], {}),
    "pinv": lambda r: (dec.pinv, [r.standard_normal((4, 3))], {"rcond": 1e-15, "hermitian": False, "rtol": None}),
    "lstsq": lambda r: (dec.lstsq, [r.standard_normal((4, 3)), r.standard_normal(4)], {"rcond": None}),
    "eigh": lambda r: (spec.eigh, [_spd(r, 3)], {"UPLO": "L"}),
    "eigvalsh": lambda r: (spec.eigvalsh, [_spd(r, 3)], {"UPLO": "U"}),
    "eig": lambda r: (spec.eig, [_gen(r, 3)], {}),
    "eigvals": lambda r: (spec.eigvals, [_gen(r, 3)], {}),
    "svd": lambda r: (spec.svd, [r.standard_normal((4, 3))], {"hermitian": False}),
    "svdvals": lambda r: (spec.svdvals, [r.standard_normal((4, 3))], {"hermitian": False}),
    "getitem": lambda r: (sh.getitem, [r.standard_normal((3, 4))], {"idx": (slice(None), [0, 2, 2])}),
    "concatenate": lambda r: (sh.concatenate, [r.standard_normal((2, 3)), r.standard_normal((1, 3))], {"axis": 0}),
}


def _random_ct(out, rng):
    def one(o):
        o = np.asarray(o)
        c = rng.standard_normal(o.shape)
        return (c + 1j * rng.standard_normal(o.shape)).astype(o.dtype) if o.dtype.kind == "c" else c.astype(o.dtype)

    return tuple(one(o) for o in out) if isinstance(out, tuple) else one(out)


def _apply_reverse(prim, vjps, vjp, ct, out, args, params):
    diff = [isinstance(a, np.ndarray) and a.dtype.kind in "fc" for a in args]
    if vjp is not None:
        gs = vjp(ct, out, args, diff, **params)
    else:
        gs = [r(ct, out, *args, **params) if d and r is not None else None for r, d in zip(vjps, diff)]
    return [None if g is None else np.asarray(unbroadcast(g, a)) for g, a in zip(gs, args)]


def _is_transposed(prim) -> bool:
    vjps, vjp = reverse_rules(prim)
    rules = [vjp] if vjp is not None else [r for r in vjps if r is not None]
    return all(r.__name__.endswith("_by_transposition") for r in rules)


# Non-linear primitives whose reverse rule is now the transpose of their forward rule (the
# hand-written one was not measurably faster; see the closing note of issue 12).
TRANSPOSED = ["inv", "det", "slogdet", "cholesky", "qr_tall", "pinv", "lstsq", "eigh", "eigvalsh", "eigvals",
              "reduce_max", "reduce_prod", "cumprod", "clip", "sinc"]


@pytest.mark.parametrize("case", TRANSPOSED)
def test_primitives_given_only_a_forward_rule_use_its_transpose(case, rng):
    prim, _, _ = HAND_WRITTEN[case](rng)
    assert _is_transposed(prim)


@pytest.mark.parametrize("case", sorted(set(HAND_WRITTEN) - set(TRANSPOSED) - {"qr_wide"}))
def test_transposed_forward_rule_equals_the_hand_written_reverse_rule(case, rng):
    prim, args, params = HAND_WRITTEN[case](rng)
    assert not _is_transposed(prim)  # else the comparison below would compare a rule with itself
    out = prim.impl(*args, **params)
    ct = _random_ct(out, rng)
    hand = _apply_reverse(prim, prim.vjps, prim.vjp, ct, out, args, params)
    derived = _apply_reverse(prim, *transposed_rules(prim), ct, out, args, params)
    for h, d in zip(hand, derived):
        assert (h is None) == (d is None)
        if h is not None:
            assert h.shape == d.shape and h.dtype == d.dtype
            np.testing.assert_allclose(d, h, rtol=1e-10, atol=1e-12)
