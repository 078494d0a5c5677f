"""debug_nans inside rolled loop bodies and branches: the error names the operation in the body."""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback.errors import NonFiniteError


@pytest.fixture
def debug_nans():
    pb.config.update("debug_nans", True)
    try:
        yield
    finally:
        pb.config.update("debug_nans", False)


LOOPS = {
    "fori_loop": lambda x: pb.fori_loop(0, 5, lambda i, c: pnp.log(c - 0.3), x),
    "scan": lambda x: pb.scan(lambda c, t: (pnp.sqrt(c - t), c), x, pnp.stack([x * 0.0, x * 0.5, x]))[0],
    "while_loop": lambda x: pb.while_loop(lambda c: c < 10.0, lambda c: pnp.log(c - 1.5) + c + 1.0, x),
    "cond": lambda x: pb.cond(x > 0, lambda y: pnp.arccos(y), lambda y: y, x),
}
CULPRIT = {"fori_loop": "log", "scan": "sqrt", "while_loop": "log", "cond": "arccos"}


@pytest.mark.parametrize("name", list(LOOPS))
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_debug_nans_names_the_operation_inside_a_staged_body(debug_nans, name):
    f = LOOPS[name]
    for fn in (pb.jit(f), pb.grad(pb.jit(f)) if name != "while_loop" else pb.jit(f)):
        with pytest.raises(NonFiniteError, match=f"primitive '{CULPRIT[name]}'"):
            fn(np.float64(1.2))


def test_staged_bodies_run_their_compiled_source_when_debug_nans_is_off():
    f = pb.jit(LOOPS["fori_loop"])
    with np.errstate(invalid="ignore"):
        assert np.isnan(f(np.float64(1.2)))
