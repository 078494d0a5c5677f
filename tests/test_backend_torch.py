"""pullback on torch tensors (CPU): every family case against NumPy's results, results stay tensors,
jit takes tensors as dynamic arguments, no input is mutated."""

from __future__ import annotations

import numpy as np
import pytest

import backend_checks as bc
import pullback as pb
import pullback.numpy as pnp
from pullback.errors import BackendError

torch = pytest.importorskip("torch")
pytest.importorskip("array_api_compat")

TORCH = bc.Library("torch", lambda a: torch.as_tensor(np.array(a)), lambda t: t.numpy(),
                   lambda v: isinstance(v, torch.Tensor))
CASES = [(m, f, c, bc.transforms_for(i)) for i, (m, f, c) in enumerate(bc.family_cases())]


@pytest.mark.parametrize("module, family, case, transforms", CASES, ids=[bc.case_id(m, c) for m, _, c, _ in CASES])
def test_family_case_on_torch_matches_numpy_or_raises_clearly(module, family, case, transforms):
    bc.check_family_case(TORCH, module, family, case, transforms)


REQUIRED = bc.required_cases()


@pytest.mark.parametrize("module, family, case", REQUIRED, ids=[bc.case_id(m, c) for m, _, c in REQUIRED])
def test_required_case_on_torch_under_vmap_and_jit(module, family, case):
    bc.check_case(TORCH, family, case, ("vmap", "jit"))


def test_no_torch_input_is_mutated_and_results_are_new_tensors():
    bc.check_no_input_is_mutated(TORCH)


def test_jit_takes_tensors_as_dynamic_arguments_never_constants():
    bc.check_jit_takes_arrays_as_dynamic_arguments(TORCH)


def test_numpy_constants_and_scalars_mix_with_tensors():
    bc.check_numpy_constants_and_python_scalars_mix_in(TORCH)


def test_tensors_and_another_library_in_one_operation_raise():
    strict = pytest.importorskip("array_api_strict")
    other = bc.Library("array_api_strict", strict.asarray, np.asarray, lambda v: False)
    bc.check_two_libraries_in_one_operation_raise(TORCH, other)


def test_gauge_invariant_decompositions_on_torch():
    bc.check_gauge_invariant_decompositions(TORCH)


def test_a_primitive_without_a_torch_implementation_names_itself_and_torch():
    with pytest.raises(BackendError, match=r"'sinc'.*torch|torch.*'sinc'"):
        pnp.sinc(torch.ones(3, dtype=torch.float64))


def test_grad_of_a_tensor_function_returns_a_tensor_on_the_same_device():
    x = torch.linspace(0, 1, 5, dtype=torch.float64)
    g = pb.grad(lambda x: pnp.sum(pnp.exp(x) * x))(x)
    assert isinstance(g, torch.Tensor) and g.device == x.device and g.dtype == torch.float64
    np.testing.assert_allclose(g.numpy(), np.exp(x.numpy()) * (1 + x.numpy()), rtol=1e-14)


def test_jit_tracks_a_tensor_read_from_a_closure_and_moves_numpy_arguments_to_torch():
    w = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    f = pb.jit(lambda x: pnp.sum(pnp.tanh(x * w)))
    x = np.array([0.1, 0.2, 0.3])
    expected = np.sum(np.tanh(x * w.numpy()))
    for arg in (torch.as_tensor(x), x):
        r = f(arg)
        assert isinstance(r, torch.Tensor)
        np.testing.assert_allclose(r.numpy(), expected, rtol=1e-14)
    w.mul_(2.0)  # the closure's tensor is an input of the compiled code, not a constant baked into it
    np.testing.assert_allclose(f(x).numpy(), np.sum(np.tanh(x * w.numpy())), rtol=1e-14)


def test_jit_of_a_rolled_loop_on_tensors_calls_torch():
    body = lambda i, c: c * 0.5 + pnp.sin(c)  # noqa: E731
    f = pb.jit(lambda x: pb.fori_loop(0, 3, body, x))
    x = np.linspace(0, 1, 4)
    expected = x
    for _ in range(3):
        expected = expected * 0.5 + np.sin(expected)
    r = f(torch.as_tensor(x))
    assert isinstance(r, torch.Tensor) and "xp.sin" in f.source(torch.as_tensor(x))
    np.testing.assert_allclose(r.numpy(), expected, rtol=1e-14)
    g = pb.grad(lambda x: pnp.sum(pb.fori_loop(0, 3, body, x)))(torch.as_tensor(x))
    np.testing.assert_allclose(g.numpy(), pb.grad(lambda x: pnp.sum(pb.fori_loop(0, 3, body, x)))(x), rtol=1e-14)
