"""The numba backend of pb.jit: lowering, fusion, splitting around NumPy, the disk cache, the cost model
and the backend choice (docs/jit.md). Each numba test compiles one small graph (seconds); the rest of
the jit tests run on both backends through tests/conftest.py."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback.compile import cost, fusion
from pullback.compile import numba as lowering
from pullback.errors import ArgumentError, MissingDependencyError

jit_module = sys.modules["pullback.jit"]  # the module (pullback.jit the attribute is the function)

needs_numba = pytest.mark.skipif(not jit_module._numba_installed(), reason="numba is not installed")


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PULLBACK_CACHE_DIR", str(tmp_path))
    return tmp_path


def close(a, b, tol=1e-12):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def f_mixed(W, x, y):
    """Elementwise chains with scalar constants, broadcasting, a folded full sum, an axis sum and a matmul."""
    h = pnp.tanh(W @ x + 0.5) * y[:, None] - 1.0
    return pnp.sum(h * h) + pnp.sum(pnp.exp(-h), axis=0) @ y


def test_import_pullback_does_not_import_numba():
    code = "import sys, pullback, pullback.jit; assert 'numba' not in sys.modules; print('ok')"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "ok"


def test_backend_numba_without_numba_names_the_extra(monkeypatch):
    monkeypatch.setattr(jit_module, "_numba_installed", lambda: False)
    with pytest.raises(MissingDependencyError, match=r"pip install pullback\[jit\]"):
        pb.jit(lambda x: x * 2.0, backend="numba")
    f = pb.jit(lambda x: x * 2.0, backend="auto")  # auto falls back to NumPy, no error
    close(f(np.ones(3)), np.full(3, 2.0))
    assert "prims" in f.source(np.ones(3)) or "def " in f.source(np.ones(3))


def test_unknown_backend_is_an_argument_error(monkeypatch):
    with pytest.raises(ArgumentError, match="backend='cuda'"):
        pb.jit(lambda x: x, backend="cuda")
    monkeypatch.setenv("PULLBACK_JIT_BACKEND", "fortran")
    with pytest.raises(ArgumentError, match="PULLBACK_JIT_BACKEND"):
        pb.jit(lambda x: x)


def test_fusion_plan_groups_chains_and_folds_full_sums():
    x = np.linspace(-1.0, 1.0, 7)
    g = pb.make_graph(lambda x: pnp.sum(pnp.sin(x) * 2.0 + x * x), x)
    items = fusion.plan(g.eqns, lowering.fusable, lowering.full_reduction)
    groups = [it for it in items if isinstance(it, fusion.Group)]
    assert len(groups) == 1 and len(groups[0].reductions) == 1
    assert len(groups[0].eqns) == len(g.eqns) - 1  # everything but the sum is one loop
    src, ins, consts = lowering.kernel_source(g.eqns, g.outs, "k")
    assert src.count("for i0 in range(7):") == 1 and "np.empty" not in src  # no array stored


@needs_numba
def test_numba_equals_eager_value_and_gradient(cache_dir, rng):
    W, x, y = rng.standard_normal((5, 4)), rng.standard_normal(4), rng.standard_normal(5)
    f = pb.jit(pb.value_and_grad(f_mixed, argnums=(0, 1, 2)), backend="numba")
    (v, g), (v0, g0) = f(W, x, y), pb.value_and_grad(f_mixed, argnums=(0, 1, 2))(W, x, y)
    close(v, v0)
    for a, b in zip(g, g0):
        close(a, b)
    src = f.source(W, x, y)
    assert "@njit(fastmath=False, error_model='numpy', cache=True)" in src and "np.dot(" in src
    assert "def f_mixed" in f.source(W, x, y, backend="numpy") or "np." in f.source(W, x, y, backend="numpy")
    assert f.cache and next(iter(f.cache.values())).compiled.backend == "numba"


@needs_numba
def test_unlowered_primitive_splits_the_kernel(cache_dir, rng):
    x = rng.standard_normal(6)

    def f(x):
        s = pnp.sort(pnp.sin(x) * 3.0)  # sorting has no lowering: it runs on NumPy between two kernels
        return pnp.sum(s * s + 1.0) * 2.0, s[0] * x

    jf = pb.jit(f, backend="numba")
    for a, b in zip(jf(x), f(x)):
        close(a, b)
    src = jf.source(x)
    assert src.count("@njit") == 2 and "# on NumPy" in src


@needs_numba
def test_control_flow_runs_between_kernels(cache_dir, rng):
    x = rng.standard_normal(5)

    def f(x):
        y = pb.fori_loop(0, 4, lambda i, c: pnp.sin(c) * 0.9 + 0.1 * c, pnp.cos(x) * 2.0)
        return pnp.sum(y * x)

    close(pb.jit(f, backend="numba")(x), f(x))
    close(pb.jit(pb.grad(f), backend="numba")(x), pb.grad(f)(x))


@needs_numba
def test_a_second_process_reads_the_disk_cache(tmp_path):
    code = ("import numpy as np, pullback as pb, pullback.numpy as pnp\n"
            "f = pb.jit(lambda x: pnp.sum(pnp.sin(x) * x), backend='numba')\n"
            "x = np.linspace(0.0, 1.0, 9); assert abs(f(x) - np.sum(np.sin(x) * x)) < 1e-12\n"
            "from pullback.compile import cache\n"
            "print(next(iter(f.cache.values())).compiled.program.is_cached())\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), PULLBACK_CACHE_DIR=str(tmp_path))
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert first.stdout.strip() == "True" and second.stdout.strip() == "True"
    assert list((tmp_path / "numba").glob("pb_*.py")) and list((tmp_path / "numba" / "__pycache__").glob("*.nbi"))


def test_cost_model_keeps_blas_bound_graphs_on_numpy():
    a = np.ones((300, 300))
    g = pb.make_graph(lambda a, b: pnp.tanh(a @ b), a, a)
    est = cost.estimate(g)
    assert est["reason"] is not None and "BLAS" in est["reason"]
    small = pb.make_graph(lambda x: pnp.sin(x) * 2.0 + x, np.ones(8))
    est = cost.estimate(small)
    assert est["reason"] is None and not cost.worth_compiling(est, 1) and cost.worth_compiling(est, 10**9)


@needs_numba
def test_auto_tiers_from_numpy_to_numba(cache_dir, monkeypatch):
    monkeypatch.setattr(cost, "COMPILE_S", 0.0)
    monkeypatch.setattr(cost, "COMPILE_EQN_S", 1e-5)
    f = pb.jit(lambda x: pnp.sum(pnp.sin(x) * 2.0 + x), backend="auto")
    x = np.linspace(0.0, 1.0, 16)
    want = np.sum(np.sin(x) * 2.0 + x)
    backends = []
    for _ in range(40):
        close(f(x), want)
        backends.append(next(iter(f.cache.values())).compiled.backend)
    assert backends[0] == "numpy" and backends[-1] == "numba"
