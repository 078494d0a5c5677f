"""pullback on array-api-strict arrays on a non-default device: the strict stand-in for CuPy (it refuses
every conversion to NumPy, so a hidden conversion fails loudly). Every family case against NumPy's
results; results stay on the device; jit and vmap; NumPy constants moved to the device."""

from __future__ import annotations

import numpy as np
import pytest

import backend_checks as bc
import pullback as pb
import pullback.numpy as pnp
from pullback.errors import BackendError

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


REQUIRED = bc.required_cases()


@pytest.mark.parametrize("module, family, case", REQUIRED, ids=[bc.case_id(m, c) for m, _, c in REQUIRED])
def test_required_case_on_the_device_under_vmap_and_jit(module, family, case):
    bc.check_case(STRICT, family, case, ("vmap", "jit"))


def test_no_input_on_the_device_is_mutated():
    bc.check_no_input_is_mutated(STRICT)


def test_jit_takes_device_arrays_as_dynamic_arguments():
    bc.check_jit_takes_arrays_as_dynamic_arguments(STRICT)


def test_numpy_constants_are_moved_to_the_device():
    bc.check_numpy_constants_and_python_scalars_mix_in(STRICT)


def test_gauge_invariant_decompositions_on_the_device():
    bc.check_gauge_invariant_decompositions(STRICT)


def test_results_stay_on_the_inputs_device():
    x = STRICT.to(np.linspace(0, 1, 4))
    value, g = pb.value_and_grad(lambda x: pnp.sum(pnp.tanh(x) ** 2))(x)
    assert value.device == DEVICE and g.device == DEVICE


def test_a_primitive_without_an_array_api_implementation_raises_clearly():
    with pytest.raises(BackendError, match="array_api_strict"):
        pnp.sinc(STRICT.to(np.ones(3)))
