"""pullback on array-api-strict arrays on a non-default device: the strict stand-in for CuPy (it refuses
every conversion to NumPy, so a hidden conversion fails loudly). Every family case against NumPy's
results; results stay on the device; jit and vmap; NumPy constants moved to the device."""

from __future__ import annotations

import numpy as np
import pytest

import backend_checks as bc

xs = pytest.importorskip("array_api_strict")
pytest.importorskip("array_api_compat")

DEVICE = xs.Device("device1")
CPU = xs.Device("CPU_DEVICE")
STRICT = bc.Library("array_api_strict", lambda a: xs.asarray(np.asarray(a), device=DEVICE),
                    lambda a: np.asarray(a.to_device(CPU)),
                    lambda v: isinstance(v, xs._array_object.Array) and v.device == DEVICE)
CASES = [(m, f, c, bc.transforms_for(i)) for i, (m, f, c) in enumerate(bc.family_cases())]


@pytest.mark.parametrize("module, family, case, transforms", CASES, ids=[bc.case_id(m, c) for m, _, c, _ in CASES])
def test_family_case_on_array_api_strict_matches_numpy_or_raises_clearly(module, family, case, transforms):
    bc.check_family_case(STRICT, module, family, case, transforms)


def test_the_device_refuses_numpy_conversion():
    """The stand-in is strict: any hidden np.asarray in pullback would fail these tests."""
    with pytest.raises(RuntimeError):
        np.asarray(STRICT.to(np.ones(3)))
