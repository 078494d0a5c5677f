"""Shared fixtures, and the IR type checker turned on for the whole suite."""

from __future__ import annotations

import numpy as np
import pytest

from pullback.core import check

# Every graph staged while the tests run, and every pass's result, is type-checked (core/check.py).
check.ENABLED = True


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, so every random point a test uses is reproducible."""
    return np.random.default_rng(1234)


# The jit, staging and control-flow tests run on both jit backends (docs/jit.md): NumPy source, and numba
# kernels (skipped when numba is absent). The numba runs share one disk cache per session (tmp path), so a
# graph staged twice compiles once.
BOTH_BACKENDS = frozenset({"test_jit_callpath", "test_jit_indices", "test_jit_passes", "test_control_flow_staged"})


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.module.__name__.rsplit(".", 1)[-1] in BOTH_BACKENDS:
        metafunc.fixturenames.append("jit_backend")
        metafunc.parametrize("jit_backend", ["numpy", pytest.param("numba", marks=pytest.mark.numba)],
                             indirect=True)


@pytest.fixture(scope="session")
def _numba_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("pullback-cache"))


@pytest.fixture
def jit_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, _numba_cache: str) -> str:
    """The jit backend of this run ($PULLBACK_JIT_BACKEND), with the session's kernel cache."""
    if request.param == "numba":
        pytest.importorskip("numba")
        monkeypatch.setenv("PULLBACK_CACHE_DIR", _numba_cache)
    monkeypatch.setenv("PULLBACK_JIT_BACKEND", request.param)
    return request.param


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "numba: a run on the numba jit backend (deselect with -m 'not numba')")
