"""The primitives of elementwise_extra carry the traits that sparsity detection and the simplifier
read: unary ones are `elementwise`, the others `broadcasting` (so their Jacobians are diagonal, not
dense, and a broadcast operand is absorbed)."""

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback.core.primitive import Primitive
from pullback.primitives import elementwise_extra as ewx

UNARY = [ewx.sinc, ewx.deg2rad, ewx.rad2deg, ewx.fractional_part, ewx.sign_complex, ewx.nan_to_num,
         *ewx.NONDIFF_UNARY_EXTRA.values()]
NARY = [*ewx.BINARY_EXTRA.values(), ewx.complex_, ewx.clip, *ewx.NONDIFF_BINARY_EXTRA.values()]


def test_every_primitive_of_the_module_has_an_elementwise_trait():
    imported = {id(v) for v in vars(ewx.ew).values() if isinstance(v, Primitive)}
    imported |= {id(p) for t in (ewx.ew.NONDIFF_UNARY, ewx.ew.NONDIFF_BINARY) for p in t.values()}
    found = {id(v) for v in vars(ewx).values() if isinstance(v, Primitive)} - imported
    for table in (ewx.NONDIFF_UNARY_EXTRA, ewx.NONDIFF_BINARY_EXTRA, ewx.UNARY_EXTRA, ewx.BINARY_EXTRA):
        found |= {id(p) for p in table.values()}
    classified = {id(p) for p in UNARY + NARY}
    assert found <= classified
    assert all(p.elementwise and not p.broadcasting for p in UNARY)
    assert all(p.broadcasting and not p.elementwise for p in NARY)


UNARY_CALLS = {
    "sinc": pnp.sinc, "deg2rad": pnp.deg2rad, "rad2deg": pnp.rad2deg,
    "nan_to_num": pnp.nan_to_num, "fractional_part": lambda x: pnp.modf(x)[0],
}


@pytest.mark.parametrize("name", list(UNARY_CALLS))
def test_unary_jacobian_sparsity_is_the_exact_diagonal(name):
    pytest.importorskip("scipy")
    sp = pb.jacobian_sparsity(UNARY_CALLS[name], np.linspace(0.1, 0.9, 5))
    assert sp.exact and not sp.conservative
    np.testing.assert_array_equal(sp.pattern.toarray(), np.eye(5, dtype=bool))


BINARY_CALLS = {
    "logaddexp": pnp.logaddexp, "fmod": pnp.fmod, "copysign": pnp.copysign, "fmax": pnp.fmax,
    "float_power": pnp.float_power, "clip": lambda x, y: pnp.clip(x, y, 2.0),
}


@pytest.mark.parametrize("name", list(BINARY_CALLS))
def test_binary_jacobian_sparsity_follows_broadcasting(name):
    """x of shape (3, 1) against y of shape (4,): out[i, j] depends on x[i] and y[j] only."""
    pytest.importorskip("scipy")
    f = BINARY_CALLS[name]
    x, y = np.linspace(0.5, 1.5, 3)[:, None], np.linspace(0.7, 1.3, 4)
    sp = pb.jacobian_sparsity(lambda a, b: f(a, b), x, y)
    assert not sp.conservative
    dense = sp.pattern.toarray()
    i, j = np.divmod(np.arange(12), 4)
    expect = np.zeros((12, 7), bool)
    expect[np.arange(12), i] = True
    expect[np.arange(12), 3 + j] = True
    assert dense.shape == expect.shape
    assert not (dense & ~expect).any()  # never a dependency broadcasting does not create
    assert dense[:, :3].any(axis=1).all()  # every entry depends on its x


@pytest.mark.parametrize("name", list(UNARY_CALLS))
def test_unary_op_of_a_broadcast_is_simplified_to_the_broadcast_of_the_op(name):
    """f(broadcast_to(x)) → broadcast_to(f(x)): the simplified graph applies f to 3 elements, not 12,
    and computes the same values."""
    f = UNARY_CALLS[name]
    x = np.linspace(0.1, 0.9, 3)
    g = pb.make_graph(lambda a: f(pnp.broadcast_to(a, (4, 3))), x).simplify()
    op = [e for e in g.eqns if e.prim.elementwise and e.prim.name not in ("broadcast_to",)]
    assert op and all(tuple(e.outs[0].aval.shape) == (3,) for e in op), str(g)
    (out,) = g.compile()(x)
    np.testing.assert_allclose(out, np.broadcast_to(f(x), (4, 3)), rtol=1e-15)
