"""pullback on CuPy arrays (GPU), through the same dispatch as array-api-strict's device arrays: runs where
cupy and a GPU are present, and skips cleanly elsewhere (CI covers the path with array-api-strict)."""

from __future__ import annotations

import numpy as np
import pytest

import backend_checks as bc
import pullback as pb
import pullback.numpy as pnp

cp = pytest.importorskip("cupy")
pytest.importorskip("array_api_compat")
try:
    if cp.cuda.runtime.getDeviceCount() < 1:
        pytest.skip("no GPU", allow_module_level=True)
except Exception as e:  # CUDA driver missing or broken: cupy imports but cannot run
    pytest.skip(f"CUDA unavailable: {e}", allow_module_level=True)

CUPY = bc.Library("cupy", lambda a: cp.asarray(np.asarray(a)), cp.asnumpy, lambda v: isinstance(v, cp.ndarray))
CASES = [(m, f, c, ("value", "vjp")) for i, (m, f, c) in enumerate(bc.family_cases()) if i % 2 == 0]


@pytest.mark.parametrize("module, family, case, transforms", CASES, ids=[bc.case_id(m, c) for m, _, c, _ in CASES])
def test_family_case_on_cupy_matches_numpy_or_raises_clearly(module, family, case, transforms):
    bc.check_family_case(CUPY, module, family, case, transforms)


def test_grad_of_a_cupy_function_stays_on_the_gpu():
    x = cp.linspace(0, 1, 5)
    g = pb.grad(lambda x: pnp.sum(pnp.exp(x) * x))(x)
    assert isinstance(g, cp.ndarray) and g.device == x.device
    np.testing.assert_allclose(cp.asnumpy(g), np.exp(cp.asnumpy(x)) * (1 + cp.asnumpy(x)), rtol=1e-14)


def test_no_cupy_input_is_mutated():
    bc.check_no_input_is_mutated(CUPY)


def test_jit_takes_cupy_arrays_as_dynamic_arguments():
    bc.check_jit_takes_arrays_as_dynamic_arguments(CUPY)


def test_numpy_constants_are_moved_to_the_gpu():
    bc.check_numpy_constants_and_python_scalars_mix_in(CUPY)


def test_gauge_invariant_decompositions_on_cupy():
    bc.check_gauge_invariant_decompositions(CUPY)
