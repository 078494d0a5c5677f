"""Taylor mode: jet and taylor_derivatives equal nested jvp up to order 6."""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp

RNG = np.random.default_rng(0)
M = RNG.standard_normal((3, 4))

FUNCS = [
    ("add_sub_neg", lambda x: -(x + 2.0) - x * 3.0 + 1.5),
    ("mul_div", lambda x: x * x[::-1] / (x + 2.0) + 1.0 / x),
    ("exp_log", lambda x: pnp.exp(0.5 * x) * pnp.log(x + 1.0)),
    ("sin_cos", lambda x: pnp.sin(x) * pnp.cos(2.0 * x) + pnp.cos(x)),
    ("tanh_sqrt", lambda x: pnp.tanh(x) + pnp.sqrt(x + 1.0)),
    ("power", lambda x: (x + 1.0) ** 2.5 + x ** 3),
    ("linear_sum_matmul", lambda x: M @ pnp.sin(x) + pnp.sum(x.reshape(2, 2) ** 2, axis=0).sum()),
    ("fallback_arctan_where", lambda x: pnp.arctan(x) + pnp.where(x > 0.5, x ** 2, pnp.sinh(x))),
]


def _nested(f, x, v, k):
    def g(t):
        return f(x + t * v)

    d = g
    for _ in range(k):
        d = (lambda h: lambda t: pb.jvp(h, (t,), (1.0,))[1])(d)
    return np.asarray(d(0.0))


@pytest.mark.parametrize("name,f", FUNCS, ids=[c[0] for c in FUNCS])
def test_taylor_matches_nested_jvp(name, f):
    x = RNG.uniform(0.2, 0.9, 4)
    v = RNG.standard_normal(4)
    K = 6 if name != "fallback_arctan_where" else 4
    derivs = pb.taylor_derivatives(f, x, v, order=K)
    assert len(derivs) == K
    for k in range(1, K + 1):
        ref = _nested(f, x, v, k)
        np.testing.assert_allclose(derivs[k - 1], ref, rtol=1e-12, atol=1e-12 * max(1.0, np.abs(ref).max()))


@pytest.mark.parametrize("name,f", FUNCS[:-1], ids=[c[0] for c in FUNCS[:-1]])
def test_rules_cover_core_set_without_fallback(name, f, monkeypatch):
    import pullback.taylor as taylor

    def no_fallback(prim, *a):
        raise AssertionError(f"{prim.name} fell back to nested jvp")

    monkeypatch.setattr(taylor, "_fallback", no_fallback)
    x, v = RNG.uniform(0.2, 0.9, 4), RNG.standard_normal(4)
    d = pb.taylor_derivatives(f, x, v, order=3)
    np.testing.assert_allclose(d[2], _nested(f, x, v, 3), rtol=1e-12, atol=1e-12)


def test_jet_second_order_series():
    f = FUNCS[2][1]
    x, v1, v2 = np.array([0.3, 0.7]), np.array([1.0, -0.5]), np.array([0.2, 0.4])
    out, (d1, d2) = pb.jet(f, (x,), ([v1, v2],))
    np.testing.assert_allclose(out, f(x), rtol=1e-14)

    def curve(t):
        return f(x + t * v1 + t ** 2 / 2 * v2)

    np.testing.assert_allclose(d1, pb.jvp(curve, (0.0,), (1.0,))[1], rtol=1e-12)
    d2_ref = pb.jvp(lambda t: pb.jvp(curve, (t,), (1.0,))[1], (0.0,), (1.0,))[1]
    np.testing.assert_allclose(d2, d2_ref, rtol=1e-12)
    with pytest.raises(pb.PullbackError, match="series"):
        pb.jet(f, (x,), ())
