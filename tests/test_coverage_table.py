"""scripts/gen_numpy_coverage.py: the generated NumPy coverage table lists NumPy's surface, and adds up.

The generator is run into a temporary file; the test checks that every public NumPy function,
numpy.linalg / numpy.fft function and ndarray attribute has a row, that each row's status is one
of the documented ones and was measured the right way for functions whose status is known, and
that the counts table agrees with the rows. The classification itself is checked on stand-in
functions, so that these tests do not depend on what other parts of pullback.numpy support.
"""

from __future__ import annotations

import importlib.util
import os
import re

import numpy as np
import pytest

import pullback.numpy as pnp
from pullback.errors import UnsupportedFunctionError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "gen_numpy_coverage.py")


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_numpy_coverage", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def parse(text: str):
    """(counts {section: {status: n}}, rows {section: {name: (status, note)}}) from the markdown."""
    counts, rows, section = {}, {}, None
    lines = text.splitlines()
    i = lines.index("## Counts")
    header = [c.strip() for c in lines[i + 2].strip("|").split("|")]
    for line in lines[i + 4:]:
        if not line.startswith("|"):
            break
        cells = [c.strip().strip("*") for c in line.strip("|").split("|")]
        counts[cells[0]] = {h: int(v) for h, v in zip(header[1:], cells[1:], strict=True)}
    for line in lines:
        if line.startswith("## ") and line != "## Counts":
            section = line[3:]
            rows[section] = {}
        elif section and line.startswith("| `"):
            m = re.match(r"\| `(.+?)` \| ([^|]+) \| (.*) \|$", line)
            assert m, line
            rows[section][m.group(1).replace("\\|", "|")] = (m.group(2).strip(), m.group(3).strip())
    return counts, rows


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("coverage") / "numpy-coverage.md"
    gen.generate(str(path))
    return parse(path.read_text(encoding="utf-8"))


def test_every_public_numpy_function_and_method_has_a_row(table):
    _, rows = table
    functions = {n for n in dir(np) if not n.startswith("_") and callable(getattr(np, n))
                 and not isinstance(getattr(np, n), type)}
    assert set(rows["numpy"]) == functions
    for sub in ("linalg", "fft"):
        expected = {n for n in getattr(np, sub).__all__ if not isinstance(getattr(getattr(np, sub), n), type)}
        assert set(rows[f"numpy.{sub}"]) == expected
    assert set(rows["ndarray methods and attributes"]) == {n for n in dir(np.ndarray) if not n.startswith("_")}
    assert len(rows["numpy"]) >= 300 and len(rows["numpy.linalg"]) >= 25 and len(rows["numpy.fft"]) >= 15
    assert len(rows["ndarray methods and attributes"]) >= 50 and len(rows["array operators"]) >= 20


def test_counts_agree_with_the_rows(table):
    counts, rows = table
    assert set(counts) == set(rows) | {"all"}
    total = dict.fromkeys(gen.STATUSES, 0)
    for section, names in rows.items():
        statuses = [status for status, _ in names.values()]
        assert set(statuses) <= set(gen.STATUSES), set(statuses)
        for status in gen.STATUSES:
            assert counts[section][status] == statuses.count(status), (section, status)
            total[status] += statuses.count(status)
        assert counts[section]["total"] == len(names)
    for status in gen.STATUSES:
        assert counts["all"][status] == total[status]
    assert counts["all"]["total"] == sum(len(names) for names in rows.values())


KNOWN = {
    "differentiable": ["sin", "exp", "add", "multiply", "power", "logaddexp", "logaddexp2", "clip", "sinc", "fmod",
                       "remainder", "float_power", "nan_to_num", "angle", "copysign", "fmax", "deg2rad", "hypot",
                       "arctan2", "real", "imag", "conj", "absolute", "where", "modf", "frexp", "ldexp"],
    "no derivative": ["floor", "ceil", "sign", "heaviside", "isnan", "isfinite", "less", "equal", "floor_divide",
                      "round", "around", "fix", "rint", "logical_and", "isclose", "iscomplexobj", "isreal",
                      "bitwise_and", "gcd", "invert"],
    "n/a": ["load", "savetxt", "set_printoptions", "can_cast", "busday_count"],
}


@pytest.mark.parametrize("status", sorted(KNOWN))
def test_elementwise_functions_have_their_measured_status(table, status):
    _, rows = table
    wrong = {n: rows["numpy"][n] for n in KNOWN[status] if rows["numpy"][n][0] != status}
    assert not wrong


def test_methods_and_operators_of_traced_values_have_their_measured_status(table):
    _, rows = table
    methods, ops = rows["ndarray methods and attributes"], rows["array operators"]
    for name in ("clip", "conj", "conjugate", "real", "imag", "T", "astype"):
        assert methods[name][0] == "differentiable", name
    assert methods["round"][0] == "no derivative"
    for sym in ("x + y", "x * y", "x / y", "x % y", "x ** y", "-x", "abs(x)"):
        assert ops[sym][0] == "differentiable", sym
    for sym in ("x // y", "x < y", "round(x)", "i & j", "~i"):
        assert ops[sym][0] == "no derivative", sym
    assert ops["float(x)"][0] == "unsupported" and "TracerConversionError" in ops["float(x)"][1]


# ---------------------------------------------------------------------------- the classification, on stand-ins


def test_classification_of_stand_in_functions():
    def raises(x):
        raise UnsupportedFunctionError("stand_in is not supported")

    def needs_two(x, y):
        return x * y

    def constant(x):
        return np.zeros(3)

    numpy_fn = np.i0  # a NumPy dispatcher: on a traced value it refuses unless pullback routes it
    assert gen.classify_function("stand_in", numpy_fn, raises, {})[0] == "unsupported"
    assert gen.classify_function("stand_in", numpy_fn, pnp.sin, {})[0] == "differentiable"
    assert gen.classify_function("stand_in", numpy_fn, pnp.floor, {})[0] == "no derivative"
    assert gen.classify_function("stand_in", numpy_fn, constant, {})[0] == "no derivative"
    status, note = gen.classify_function("stand_in", numpy_fn, needs_two, {})
    assert status == "provided" and "TypeError" in note
    sample = {"stand_in": gen.s(lambda f, a, b: f(a, b), gen.A, gen.B)}
    assert gen.classify_function("stand_in", numpy_fn, needs_two, sample)[0] == "differentiable"
    assert gen.classify_function("stand_in", numpy_fn, None, {})[0] == "unsupported"  # NumPy's own i0
    assert gen.classify_function("stand_in", numpy_fn, needs_two, {"stand_in": None}) == (
        "provided", "no sample arguments: by inspection")
    assert gen.classify_function("load", np.load, None, {})[0] == "n/a"


def test_the_committed_table_is_consistent():
    path = os.path.join(ROOT, "docs", "numpy-coverage.md")
    with open(path, encoding="utf-8") as fh:
        counts, rows = parse(fh.read())
    for section, names in rows.items():
        assert counts[section]["total"] == len(names)
    assert "sinc" in rows["numpy"] and "logaddexp" in rows["numpy"]
