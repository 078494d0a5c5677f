"""The documentation's code runs: every ```python block of docs/*.md and README.md (each page's
blocks in order, in one namespace), and the Examples sections of the public API's docstrings.

A block preceded by the line ``<!-- no-run -->`` (invisible in the rendered page) is shown but not run:
keep those few (call signatures, fragments). A block whose first
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
FENCE = re.compile(r"^(<!-- no-run -->\n)?```python([^\n]*)\n(.*?)^```[ \t]*$", re.M | re.S)
REQUIRES = re.compile(r"^#\s*requires:\s*([\w., ]+)")


def code_blocks(text: str) -> list[tuple[str, str, int]]:
    """(info string, code, line number) of each ```python block of a Markdown page."""
    return [("no-run" if m.group(1) else m.group(2).strip(), m.group(3), text[: m.start(3)].count("\n") + 1)
            for m in FENCE.finditer(text)]


def test_code_blocks_are_found_with_their_info_strings():
    text = "a\n```python\nx = 1\n```\nb\n<!-- no-run -->\n```python\ny = 2\n```\n```text\nz\n```\n"
    assert code_blocks(text) == [("", "x = 1\n", 3), ("no-run", "y = 2\n", 8)]


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


# pullback.extend: the entry points a primitive's author starts from carry full sections; its other
# helpers (batching, rewriting and rendering building blocks, documented in docs/extending.md) need
# at least a summary line. Primitive keeps `__doc__` in its __slots__ (a primitive's own doc), so
# the class cannot carry a docstring; docs/extending.md and the module docstring describe it.
EXTEND_FULL = ("def_ufunc", "nondifferentiable", "fit", "ShapeDtype")
EXTEND_NO_DOCSTRING = ("Primitive",)


def _extend_names() -> list[str]:
    if importlib.util.find_spec("pullback.extend") is None:
        return []
    ext = importlib.import_module("pullback.extend")
    return [n for n in getattr(ext, "__all__", dir(ext)) if not n.startswith("_")]


def _documented_objects() -> list[tuple[str, object]]:
    """Every public function and class of pullback, pullback.tree_util, pullback.testing (and pullback.extend's
    entry points): their docstrings must have the full NumPy-style sections."""
    modules: list[tuple[types.ModuleType, list[str]]] = [
        (pb, list(pb.__all__)),
        (pullback.tree_util, list(pullback.tree_util.__all__)),
        (pullback.testing, ["check_grads", "check_jvp", "check_vjp"]),
    ]
    if _extend_names():
        modules.append((importlib.import_module("pullback.extend"), [n for n in EXTEND_FULL if n in _extend_names()]))
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
    assert _run_examples(qualname, obj) > 0, f"{qualname}: the Examples section has no >>> example"


def _run_examples(qualname: str, obj: object) -> int:
    """Run the >>> examples of obj's docstring; the number run (a failure fails the test)."""
    tests = doctest.DocTestFinder(recurse=False).find(obj, qualname, globs={})
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    report: list[str] = []
    for t in tests:
        runner.run(t, out=report.append)
    assert runner.failures == 0, "".join(report)
    return sum(len(t.examples) for t in tests)


def test_the_api_reference_page_lists_every_public_function():
    page = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    names = [q for q, _ in DOCUMENTED] + [f"pullback.extend.{n}" for n in _extend_names()]
    missing = [q for q in names if f"::: {q}\n" not in page]
    assert not missing, f"add a '::: NAME' line to docs/api.md for {missing}"


@pytest.mark.parametrize("name", [n for n in _extend_names() if n not in EXTEND_FULL + EXTEND_NO_DOCSTRING])
def test_every_extend_helper_has_a_summary_line_and_its_examples_run(name: str):
    obj = getattr(importlib.import_module("pullback.extend"), name)
    assert (inspect.getdoc(obj) or "").strip(), f"pullback.extend.{name} has no docstring"
    _run_examples(f"pullback.extend.{name}", obj)


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
