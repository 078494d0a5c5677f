"""Issue 17, debugging and inspection: repr and format of traced values, debug_nans, warnings at the
user's line, staging progress."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback.core import staging
from pullback.errors import ConfigError, NonFiniteError, PullbackError

HERE = os.path.abspath(__file__)


def test_repr_of_a_traced_value_shows_its_primal_when_concrete():
    seen = []
    pb.grad(lambda x: seen.append(repr(x)) or pnp.sum(x))(np.array([1.5, -2.0]))
    pb.jvp(lambda x: seen.append(repr(x * 2.0)) or x, (0.25,), (1.0,))
    pb.jit(lambda x: seen.append(repr(x)) or x)(np.ones(2))
    assert seen[0].startswith("ReverseTracer(shape=(2,)") and "value=[ 1.5, -2. ]" in seen[0]
    assert seen[1].startswith("JVPTracer(shape=()") and "value=0.5" in seen[1]
    assert "value=" not in seen[2] and "StagingTracer(shape=(2,)" in seen[2]  # staged: no value exists


def test_format_of_a_concrete_traced_scalar():
    out = []

    def f(x):
        out.append(f"loss={x:.3f} {format(x * 2, '.1e')} {x:>8.2f}")
        return x * x

    pb.grad(f)(1.23456)
    pb.jvp(f, (1.23456,), (1.0,))
    assert out == ["loss=1.235 2.5e+00     1.23"] * 2
    with pytest.raises(PullbackError, match="abstract"):
        pb.jit(lambda x: format(x, ".2f") and x)(1.0)
    with pytest.raises(TypeError):
        pb.grad(lambda x: format(x, ".2f") and pnp.sum(x))(np.ones(2))  # like an ndarray: no format for arrays
    pb.grad(lambda x: out.append(format(x, "")) or x)(1.0)
    assert out[-1].startswith("ReverseTracer(") and "value=1." in out[-1]  # an empty spec is str(x)


@pytest.fixture
def debug_nans():
    pb.config.update("debug_nans", True)
    try:
        yield
    finally:
        pb.config.update("debug_nans", False)


def _f(x):
    y = pnp.sqrt(x)
    return pnp.sum(pnp.log(y - 1.0))  # the NaN line


def test_debug_nans_names_the_primitive_pass_and_user_line_in_the_forward_pass(debug_nans):
    x = np.array([4.0, 0.25])
    for run in (lambda: pb.jit(_f)(x), lambda: _f(x), lambda: pb.grad(_f)(x), lambda: pb.jacfwd(_f)(x)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(NonFiniteError) as err:
                run()
        msg = str(err.value)
        assert "'log'" in msg and "NaN" in msg and "forward pass" in msg
        assert f"{HERE}:" in msg  # under jit, the line calling the jitted function
    assert "the NaN line" in msg
    assert isinstance(err.value, PullbackError) and isinstance(err.value, FloatingPointError)


def test_debug_nans_in_the_backward_pass_and_in_a_jvp(debug_nans):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(NonFiniteError, match=r"'divide' produced inf.*backward pass \(the reverse rule of sqrt\)"):
            pb.grad(lambda x: pnp.sum(pnp.sqrt(x)))(np.array([0.0, 1.0]))
        with pytest.raises(NonFiniteError, match=r"'divide' produced inf.*JVP") as err:
            pb.jvp(pnp.sqrt, (np.array([0.0]),), (np.array([1.0]),))
    assert HERE in str(err.value)


def test_debug_nans_does_not_fire_on_propagated_or_finite_values_and_is_off_by_default():
    assert not pb.config.debug_nans
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isnan(_f(np.array([4.0, 0.25])))  # off: NaN flows through as in NumPy
    pb.config.update("debug_nans", True)
    try:
        assert np.isnan(pnp.sin(np.nan))  # a NaN input is not this primitive's doing
        np.testing.assert_allclose(pb.grad(_f)(np.array([4.0, 9.0])), pb.grad(_f)(np.array([4.0, 9.0])))
    finally:
        pb.config.update("debug_nans", False)
    with pytest.raises(ConfigError, match="debug_nans"):
        pb.config.update("debug_nan", True)
    assert "debug_nans=False" in repr(pb.config)


def test_debug_nans_from_the_environment():
    code = ("import numpy as np, pullback as pb, pullback.numpy as pnp\n"
            "assert pb.config.debug_nans\n"
            "try:\n    pnp.log(np.array([-1.0]))\n"
            "except pb.PullbackError as e:\n    print('raised', type(e).__name__)\n")
    env = dict(os.environ, PULLBACK_DEBUG_NANS="1", PYTHONWARNINGS="ignore")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "raised NonFiniteError"


def test_numpy_floating_point_warnings_point_at_the_users_line(tmp_path):
    script = tmp_path / "user_script.py"
    script.write_text(
        "import numpy as np, pullback as pb, pullback.numpy as pnp\n"
        "def loss(x):\n"
        "    return pnp.sum(pnp.log(x - 2.0))  # the warning line\n"
        "pb.grad(loss)(np.array([1.0]))\n"
        "pb.config.update('warnings_at_user_line', False)\n"
        "pb.grad(lambda x: pnp.sum(pnp.sqrt(x - 2.0)))(np.array([1.0]))\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONWARNINGS="default"))
    err = out.stderr
    assert f"{script}:3: RuntimeWarning: invalid value encountered in log" in err
    assert "the warning line" in err
    assert "encountered in sqrt" in err and "pullback" in err.split("encountered in sqrt")[0].splitlines()[-1]


def test_long_staging_prints_progress_when_verbose(capsys, monkeypatch):
    monkeypatch.setattr(staging, "PROGRESS_AFTER_S", 0.0)

    def many(x):
        for _ in range(300):
            x = pnp.sin(x)
        return x

    pb.make_graph(many, np.ones(2))
    assert capsys.readouterr().err == ""  # quiet unless asked
    pb.config.update("verbose", True)
    try:
        pb.make_graph(many, np.ones(2))
    finally:
        pb.config.update("verbose", False)
    err = capsys.readouterr().err
    assert "pullback: staging: 256 equations traced" in err and "s elapsed" in err
