"""docs/conventions.md is what the code does: every row of its table is evaluated and compared,
in eager reverse mode and in the other modes (jit of the same derivative, forward mode where the
row is a first derivative of one argument)."""

from __future__ import annotations

import pathlib
import re
import warnings

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp

DOC = pathlib.Path(__file__).resolve().parents[1] / "docs" / "conventions.md"
ROW = re.compile(r"^\| ([^|]+) \| `(.+)` \| `(.+)` \|")


def _rows() -> list:
    rows = [m.groups() for line in DOC.read_text().splitlines() if (m := ROW.match(line))]
    assert len(rows) >= 40
    return rows


def _eval(code: str):
    ns = {"np": np, "pnp": pnp, "pb": pb, "g": pb.grad, "jr": pb.jacrev, "nan": np.nan, "inf": np.inf}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return eval(code, ns)  # noqa: S307 - the documentation's own table


@pytest.mark.parametrize("case,code,value", _rows(), ids=[r[0] for r in _rows()])
def test_documented_convention_is_what_pullback_returns(case, code, value):
    got = _eval(code)
    want = _eval(value)
    np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(want, dtype=float), rtol=1e-12, atol=1e-15,
                               equal_nan=True, err_msg=case)
    if code.startswith("g(") and "argnums" not in code:  # forward mode and jit give the same value
        fun = _eval(code[2:code.index(")(")].strip()) if code.startswith("g(lambda") or code.startswith("g(pnp") \
            else None
        arg = np.asarray(_eval(code[code.index(")(") + 2:-1]))  # an array: jit computes with NumPy's rules
        if fun is not None:
            fwd = pb.jacfwd(fun)(arg)
            np.testing.assert_allclose(np.asarray(fwd, dtype=float), np.asarray(want, dtype=float), rtol=1e-12,
                                       atol=1e-15, equal_nan=True, err_msg=f"{case} (jacfwd)")
            staged = pb.jit(pb.grad(fun))(arg)
            np.testing.assert_allclose(np.asarray(staged, dtype=float), np.asarray(want, dtype=float), rtol=1e-12,
                                       atol=1e-15, equal_nan=True, err_msg=f"{case} (jit(grad))")
