"""Transformations in several threads at once: each thread has its own trace stack."""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp

ITERATIONS = 150


@pytest.fixture(autouse=True)
def _switch_threads_often():
    """Make the interpreter switch threads every few bytecodes, so traces really interleave."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


def _work_grad(seed):
    rng = np.random.default_rng(seed)
    for _ in range(ITERATIONS):
        x = rng.standard_normal(5)
        np.testing.assert_allclose(pb.grad(lambda x: pnp.sum(pnp.sin(x) * x))(x), np.cos(x) * x + np.sin(x))
    return seed


def _work_second_order(seed):
    rng = np.random.default_rng(seed)
    for _ in range(ITERATIONS):
        x = float(rng.uniform(-2, 2))
        d2 = pb.grad(pb.grad(lambda x: pnp.exp(x) * x))(x)
        np.testing.assert_allclose(d2, np.exp(x) * (x + 2))
    return seed


def _work_jvp(seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((4, 4))
    for _ in range(ITERATIONS):
        x, v = rng.standard_normal(4), rng.standard_normal(4)
        _, t = pb.jvp(lambda x: pnp.tanh(A @ x), (x,), (v,))
        np.testing.assert_allclose(t, (1 - np.tanh(A @ x) ** 2) * (A @ v))
    return seed


def _work_hvp(seed):
    rng = np.random.default_rng(seed)
    for _ in range(ITERATIONS // 2):
        x, v = rng.standard_normal(3), rng.standard_normal(3)
        _, hv = pb.hvp(lambda x: pnp.sum(x**4), (x,), (v,), mode="rev")
        np.testing.assert_allclose(hv, 12 * x**2 * v)
    return seed


def test_grads_in_four_threads_at_once_give_the_right_answers():
    workers = [_work_grad, _work_second_order, _work_jvp, _work_hvp]
    barrier = threading.Barrier(4)

    def run(i):
        barrier.wait()  # start together, to interleave
        return workers[i](i)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, range(4)))
    assert results == [0, 1, 2, 3]


def test_same_function_in_many_threads_with_different_inputs():
    def f(x, a):
        return pnp.sum(a * x**3)

    def job(k):
        out = []
        for j in range(ITERATIONS):
            a = float(k + 1)
            x = np.full(3, 0.01 * j)
            out.append(np.allclose(pb.grad(f)(x, a), 3 * a * x**2))
        return all(out)

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(job, range(8)))


def test_a_thread_does_not_see_another_threads_trace():
    # while thread A is inside a grad (blocked), thread B's plain computation must not be traced
    inside, release = threading.Event(), threading.Event()
    seen = {}

    def slow(x):
        inside.set()
        release.wait(10)
        return pnp.sum(x**2)

    def a():
        seen["a"] = pb.grad(slow)(np.array([1.0, 2.0]))

    t = threading.Thread(target=a)
    t.start()
    assert inside.wait(10)
    y = pnp.sin(np.array([0.5]))
    seen["b_type"] = type(y)
    seen["b_grad"] = pb.grad(lambda x: x * 3.0)(2.0)
    release.set()
    t.join(10)
    assert seen["b_type"] is np.ndarray
    assert seen["b_grad"] == 3.0
    np.testing.assert_allclose(seen["a"], [2.0, 4.0])
