"""pullback on torch tensors (CPU): every family case against NumPy's results, results stay tensors,
jit takes tensors as dynamic arguments, no input is mutated."""

from __future__ import annotations

import numpy as np
import pytest

import backend_checks as bc

torch = pytest.importorskip("torch")
pytest.importorskip("array_api_compat")

TORCH = bc.Library("torch", lambda a: torch.as_tensor(np.array(a)), lambda t: t.numpy(),
                   lambda v: isinstance(v, torch.Tensor))
CASES = [(m, f, c, bc.transforms_for(i)) for i, (m, f, c) in enumerate(bc.family_cases())]


@pytest.mark.parametrize("module, family, case, transforms", CASES, ids=[bc.case_id(m, c) for m, _, c, _ in CASES])
def test_family_case_on_torch_matches_numpy_or_raises_clearly(module, family, case, transforms):
    bc.check_family_case(TORCH, module, family, case, transforms)
