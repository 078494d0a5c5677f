"""scripts/gen_scipy_coverage.py: the generated SciPy coverage page lists every public name of the six
submodules, each with a documented status measured the right way, and the counts add up."""

from __future__ import annotations

import importlib.util
import os
import re

import numpy as np
import pytest

sp = pytest.importorskip("pullback.scipy.special")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "gen_scipy_coverage.py")


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_scipy_coverage", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    gen = _load_generator()
    out = tmp_path_factory.mktemp("cov") / "scipy-coverage.md"
    gen.main(["--output", str(out)])
    return gen, out.read_text()


def _rows(text, sub):
    section = text.split(f"## scipy.{sub}\n", 1)[1].split("\n## ", 1)[0]
    return {m.group(1): (m.group(2), m.group(3)) for m in re.finditer(r"^\| `([^`]+)` \| ([^|]+) \| (.*) \|$",
                                                                       section, re.M)}


@pytest.mark.parametrize("sub", ["special", "stats", "linalg", "signal", "integrate", "optimize"])
def test_every_public_scipy_name_has_one_row_and_the_counts_add_up(page, sub):
    gen, text = page
    scipy_mod = importlib.import_module(f"scipy.{sub}")
    rows = _rows(text, sub)
    assert set(rows) == set(scipy_mod.__all__)
    assert all(status.strip() in gen.STATUSES for status, _ in rows.values())
    counts = re.search(rf"^\| scipy\.{sub} \| (.*) \|$", text, re.M).group(1).split(" | ")
    assert [int(c) for c in counts[:-1]] == [sum(s.strip() == st for s, _ in rows.values()) for st in gen.STATUSES]
    assert int(counts[-1]) == len(rows)


def test_special_statuses_are_measured(page):
    rows = _rows(page[1], "special")
    for name in sp.__all__:
        assert rows[name][0].strip() in ("differentiable", "partly", "no derivative"), name
    assert rows["gammaln"][0].strip() == "differentiable"
    assert rows["betainc"][0].strip() == "partly" and "`a`, `b`" in rows["betainc"][1]
    assert rows["gammasgn"][0].strip() == "no derivative"
    assert rows["struve"][0].strip() == "unsupported"


def test_stats_rows_name_methods_and_refused_shapes(page):
    rows = _rows(page[1], "stats")
    st = pytest.importorskip("pullback.scipy.stats")
    for name in st.__all__:
        assert rows[name][0].strip() == "differentiable", name
    assert rows["norm"][0].strip() == "differentiable" and "ppf" in rows["norm"][1]
    assert "not differentiable in `a`" in rows["gamma"][1]
    assert rows["weibull_max"][0].strip() == "unsupported"


def test_probe_classifies_stand_in_functions():
    gen = _load_generator()
    x = np.linspace(0.2, 0.8, 3)
    assert gen.classify(lambda v: v * v, (x,)) == ("differentiable", "")
    assert gen.classify(sp.gammasgn, (x,))[0] == "no derivative"
    assert gen.classify(sp.polygamma, (np.array([1.0, 2.0, 1.0]), x)) == ("partly", "not differentiable in `n`")
