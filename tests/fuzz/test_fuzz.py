"""The quick profile of the differential fuzzer (tests/fuzz/fuzz_programs.py): a few hundred seeded
programs over every primitive family, each checked against finite differences, NumPy, pullback's
own other modes and (on a sample, when installed) JAX. `make fuzz N=5000` runs long campaigns."""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fuzz_programs as fp  # noqa: E402  (the directory is put on sys.path just above)

QUICK = int(os.environ.get("PULLBACK_FUZZ_QUICK", "200"))
BLOCK = 40


@pytest.mark.parametrize("start", range(0, QUICK, BLOCK))
def test_random_programs_agree_across_modes_with_differences_and_numpy(start):
    failures, checks = [], 0
    for seed in range(10_000 + start, 10_000 + start + BLOCK):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prog, outcomes = fp.run_program(seed, jax_every=40 if _has_jax() else 0)
        checks += len(outcomes)
        failures += [(seed, o) for o in outcomes if o.status == "fail"]
    assert checks >= 8 * BLOCK
    if failures:
        seed, o = failures[0]
        small = fp.minimize(fp.generate(seed), o.check, o.check.startswith("jax"))
        pytest.fail(f"{len(failures)} failing checks; first: seed {seed}, {o.check}: {o.detail}\n"
                    f"minimized repro:\n{small.repro()}")


def _has_jax() -> bool:
    try:
        import jax  # noqa: F401
    except ImportError:
        return False
    return True


def test_the_generator_covers_every_family_and_shape_kind():
    progs = [fp.generate(s) for s in range(200)]
    families = {n.family for p in progs for n in p.nodes}
    assert families == set(fp.FAMILIES)
    shapes = {x.shape for p in progs for x in p.inputs}
    assert any(0 in s for s in shapes) and any(1 in s for s in shapes) and () in shapes
    assert any(p.ties for p in progs) and any(p.n_in == 2 for p in progs)
    assert fp.generate(7).source() == fp.generate(7).source()  # seeded: the same program every time


def test_the_checks_can_fail_a_wrong_derivative():
    """A program whose pullback and NumPy versions differ in slope is reported as a failure."""
    prog = fp.Program(0, [np.array([0.3, -0.7])], [fp.Node("xp.sin({0})", (0,), "elementwise", "sin")], False)
    runner = fp.Runner(prog, jax_oracle=False)
    runner.ref = lambda x: np.sin(1.001 * x)  # the reference now has another derivative (and value)
    runner.y = runner.ref(runner.x[0])
    bad = {o.check for o in runner.run() if o.status == "fail"}
    assert {"value", "jvp-fd"} <= bad


def test_checks_near_a_kink_are_classified_not_failed():
    # where(x > 0, x, 0.1x) at 0: central differences see the mean slope 0.55, pullback the branch taken
    node = fp.Node(fp.UNARY["where_pos"](None, 0)[0], (0,), "elementwise", "where_pos", margin=0.0)
    outcomes = {o.check: o for o in fp.Runner(fp.Program(0, [np.array([0.0, 1.0])], [node], True), False).run()}
    assert outcomes["jvp-fd"].status == "kink" and outcomes["jvp-fd"].detail == "where_pos"
    assert outcomes["jacfwd-jacrev"].status == "ok"  # the modes agree on the convention
