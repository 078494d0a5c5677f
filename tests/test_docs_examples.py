"""The documentation's code runs: every ```python block of docs/*.md and README.md (each page's
blocks in order, in one namespace), and the Examples sections of the public API's docstrings.

A block fenced as ```python no-run is shown but not run (keep those few). A block whose first
line is ``# requires: jax`` (or autograd, scipy, ...) is skipped when that package is absent, so
no later block may depend on it (they show the other library's spelling beside pullback's).
This test needs no mkdocs: `make docs` builds the site, `make test` runs this.
"""

from __future__ import annotations

import doctest
import importlib.util
import inspect
import re
import types
from pathlib import Path

import numpy
import pytest

import pullback as pb
import pullback.numpy as pnp
import pullback.numpy.fft
import pullback.numpy.linalg
import pullback.testing
import pullback.tree_util

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
FENCE = re.compile(r"^```python([^\n]*)\n(.*?)^```[ \t]*$", re.M | re.S)
REQUIRES = re.compile(r"^#\s*requires:\s*([\w., ]+)")


def code_blocks(text: str) -> list[tuple[str, str, int]]:
    """(info string, code, line number) of each ```python block of a Markdown page."""
    return [(m.group(1).strip(), m.group(2), text[: m.start()].count("\n") + 2) for m in FENCE.finditer(text)]


def test_code_blocks_are_found_with_their_info_strings():
    text = "a\n```python\nx = 1\n```\nb\n```python no-run\ny = 2\n```\n```text\nz\n```\n"
    assert code_blocks(text) == [("", "x = 1\n", 3), ("no-run", "y = 2\n", 7)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_code_blocks_run_in_order(page: Path):
    blocks = code_blocks(page.read_text(encoding="utf-8"))
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    ran, skipped = 0, []
    for info, code, line in blocks:
        if "no-run" in info.split():
            continue
        needs = REQUIRES.match(code)
        if needs:  # a block for another library (jax, autograd) is shown beside pullback's; nothing later needs it
            missing = [m.strip() for m in needs.group(1).split(",") if importlib.util.find_spec(m.strip()) is None]
            if missing:
                skipped.append(f"{page.name}:{line} needs {', '.join(missing)}")
                continue
        try:
            exec(compile(code, f"{page.name}:{line}", "exec"), namespace)
        except Exception as e:  # the page and line in the failure, not only a traceback into exec
            raise AssertionError(f"{page.name}, block at line {line} failed: {type(e).__name__}: {e}") from e
        ran += 1
    if not blocks:
        pytest.skip(f"{page.name} has no python blocks")
    if ran == 0 and skipped:
        pytest.skip("; ".join(skipped) + " (not installed)")


def _documented_objects() -> list[tuple[str, object]]:
    """Every public function and class of pullback, pullback.tree_util, pullback.testing (and pullback.extend)."""
    modules: list[tuple[types.ModuleType, list[str]]] = [
        (pb, list(pb.__all__)),
        (pullback.tree_util, list(pullback.tree_util.__all__)),
        (pullback.testing, ["check_grads", "check_jvp", "check_vjp"]),
    ]
    if importlib.util.find_spec("pullback.extend") is not None:
        ext = importlib.import_module("pullback.extend")
        modules.append((ext, [n for n in getattr(ext, "__all__", dir(ext)) if not n.startswith("_")]))
    out = []
    for mod, names in modules:
        for name in names:
            obj = getattr(mod, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):  # not modules, config objects, dtypes
                out.append((f"{mod.__name__}.{name}", obj))
    return out


DOCUMENTED = _documented_objects()


@pytest.mark.parametrize("qualname,obj", DOCUMENTED, ids=[q for q, _ in DOCUMENTED])
def test_public_docstring_is_complete_and_its_examples_run(qualname: str, obj: object):
    doc = inspect.getdoc(obj) or ""
    assert "Examples\n--------" in doc, f"{qualname}: the docstring has no Examples section"
    if inspect.isfunction(obj):
        assert "Returns\n-------" in doc, f"{qualname}: the docstring has no Returns section"
        if inspect.signature(obj).parameters:
            assert "Parameters\n----------" in doc, f"{qualname}: the docstring has no Parameters section"
    tests = doctest.DocTestFinder(recurse=False).find(obj, qualname, globs={})
    assert sum(len(t.examples) for t in tests) > 0, f"{qualname}: the Examples section has no >>> example"
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    report: list[str] = []
    for t in tests:
        runner.run(t, out=report.append)
    assert runner.failures == 0, "".join(report)


def test_the_api_reference_page_lists_every_public_function():
    page = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    missing = [q for q, _ in DOCUMENTED if f"::: {q}\n" not in page]
    assert not missing, f"add a '::: NAME' line to docs/api.md for {missing}"


def test_a_failing_docstring_example_is_reported():
    def f() -> None:
        """Examples
        --------
        >>> 1 + 1
        3
        """

    (t,) = doctest.DocTestFinder(recurse=False).find(f, "f", globs={})
    runner = doctest.DocTestRunner()
    runner.run(t, out=lambda s: None)
    assert runner.failures == 1


@pytest.mark.parametrize("module", [pnp, pullback.numpy.linalg, pullback.numpy.fft], ids=lambda m: m.__name__)
def test_dir_shows_only_public_names(module: types.ModuleType):
    names = dir(module)
    assert names == sorted(names)
    assert not [n for n in names if n.startswith("_")]
    assert not [n for n in names if isinstance(getattr(module, n), types.ModuleType)
                and n not in ("linalg", "fft", "random")]
    for helper in ("annotations", "Tracer", "is_traced", "shape_of", "operator", "math", "FAMILIES"):
        assert helper not in names
    assert set(module.__all__) <= set(names)
    assert all(hasattr(module, n) for n in names)


def test_dir_of_pullback_numpy_lists_the_differentiable_functions():
    assert {"sin", "einsum", "linalg", "fft", "at"} <= set(dir(pnp))
    assert {"solve", "slogdet", "LinAlgError"} <= set(dir(pullback.numpy.linalg))
    assert {"rfft", "fftshift"} <= set(dir(pullback.numpy.fft))
    assert numpy.allclose(pnp.sin(0.5), numpy.sin(0.5))
