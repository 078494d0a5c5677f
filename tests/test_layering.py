"""The import graph of src/pullback: no cycles, no bottom-of-file imports, layers import downward.

The graph is read from the source with ast, module-level and function-level imports alike
(an import inside a function is still a dependency, only a later one). Layers, lowest first:

    errors, config  <-  core  <-  primitives, extend  <-  numpy, scipy  <-  transformations  <-  pullback

A module may import its own layer and the layers below it; nothing imports upward.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pullback
from pullback.core.primitive import Primitive

SRC = Path(pullback.__file__).resolve().parent.parent
PACKAGE = SRC / "pullback"

# The transformation modules: they build on primitives, never on the user-facing pullback.numpy.
TRANSFORMATIONS = (
    "pullback._arrays", "pullback.api", "pullback.jacobians", "pullback.vmap", "pullback.control",
    "pullback.checkpoint", "pullback.jit", "pullback.custom",
)

# Layer of each module, by the longest matching prefix; lower numbers sit lower.
LAYERS = {
    "pullback.errors": 0, "pullback.config": 0,
    "pullback.core": 1,
    "pullback.primitives": 2, "pullback.extend": 2,
    "pullback.numpy": 3, "pullback.scipy": 3,
    "pullback._arrays": 4, "pullback.api": 4, "pullback.jacobians": 4, "pullback.vmap": 4, "pullback.control": 4,
    "pullback.checkpoint": 4, "pullback.jit": 4, "pullback.custom": 4, "pullback.sparse": 4, "pullback.taylor": 4,
    "pullback.compile": 4, "pullback.testing": 4, "pullback.tree_util": 4,
    # solvers differentiated through user code: the adjoint and implicit rules need vjp/jvp/custom_vjp
    "pullback.implicit": 4, "pullback.scipy.integrate": 4, "pullback.scipy.optimize": 4,
    "pullback": 5,
}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    function_level: bool

    def __str__(self) -> str:
        where = "function-level" if self.function_level else "module-level"
        return f"{self.source} -> {self.target} ({where}, line {self.line})"


def _module_files() -> dict[str, Path]:
    mods = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


MODULES = _module_files()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _targets(node: ast.Import | ast.ImportFrom, importer: str) -> list[str]:
    """The pullback modules an import statement loads (`from pkg import submodule` names the submodule)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in MODULES]
    if node.level:
        package = importer if _is_package(importer) else importer.rpartition(".")[0]
        base = package.split(".")[: len(package.split(".")) - node.level + 1]
        base_name = ".".join(base + ([node.module] if node.module else []))
    else:
        base_name = node.module or ""
    out = []
    for alias in node.names:
        sub = f"{base_name}.{alias.name}"
        if sub in MODULES:
            out.append(sub)
        elif base_name in MODULES:
            out.append(base_name)
    return out


def _edges_of(name: str, tree: ast.Module) -> list[Edge]:
    edges = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                edges.extend(Edge(name, t, child.lineno, in_function) for t in _targets(child, name) if t != name)
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree, False)
    return edges


TREES = {name: ast.parse(path.read_text(), filename=str(path)) for name, path in MODULES.items()}
EDGES = [e for name, tree in TREES.items() for e in _edges_of(name, tree)]


def _cycles(edges: list[Edge]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for e in edges:
        graph[e.source].add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def _describe(cycle: list[str], edges: list[Edge]) -> str:
    inside = set(cycle)
    return "\n  ".join([" <-> ".join(cycle)] + [str(e) for e in edges if e.source in inside and e.target in inside])


def _layer(name: str) -> int:
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in LAYERS:
            return LAYERS[prefix]
    raise AssertionError(f"{name} has no layer: add it to LAYERS in tests/test_layering.py")


def _in(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _late_imports(name: str) -> list[str]:
    """Module-level imports that follow a def, a class or other code (`noqa: E402` or not)."""
    return [f"{MODULES[name].relative_to(SRC)}:{line}" for line in _late_import_lines(TREES[name])]


def _late_import_lines(tree: ast.Module) -> list[int]:
    body = tree.body
    late, seen_code = [], False
    for i, stmt in enumerate(body):
        docstring = i == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            if seen_code:
                late.append(stmt.lineno)
        elif not docstring:
            seen_code = True
    return late


def _noqa_e402(name: str) -> list[str]:
    lines = MODULES[name].read_text().splitlines()
    where = MODULES[name].relative_to(SRC)
    return [f"{where}:{i}" for i, line in enumerate(lines, 1) if re.search(r"noqa:[^#]*E402", line)]


# ----------------------------------------------------------------------------- the graph itself


def test_import_graph_is_read_from_the_source():
    """The checks below look at a real graph: known imports of both kinds are found."""
    assert {"pullback.api", "pullback.jacobians", "pullback.vmap", "pullback.numpy._helpers"} <= set(MODULES)
    found = {(e.source, e.target) for e in EDGES}
    assert ("pullback.jacobians", "pullback.vmap") in found
    assert ("pullback.numpy", "pullback.numpy._methods") in found
    assert any(e.function_level for e in EDGES)
    assert set(TRANSFORMATIONS) <= set(MODULES)


def test_cycle_finder_finds_a_function_level_cycle():
    a, b, c = "pullback.api", "pullback.vmap", "pullback.control"
    edges = [Edge(a, b, 1, False), Edge(b, c, 2, True), Edge(c, a, 3, True)]
    assert _cycles(edges) == [sorted([a, b, c])]
    assert _cycles(edges[:2]) == []


# ----------------------------------------------------------------------------- cycles


def test_no_import_cycles():
    cycles = _cycles(EDGES)
    assert not cycles, "import cycles:\n" + "\n".join(_describe(c, EDGES) for c in cycles)


def test_no_import_cycle_reaches_beyond_core_and_primitives():
    """The cycles core-ir is removing lie inside core/ and primitives/; none may involve another module."""
    cycles = [c for c in _cycles(EDGES)
              if any(not (_in(m, "pullback.core") or _in(m, "pullback.primitives")) for m in c)]
    assert not cycles, "import cycles:\n" + "\n".join(_describe(c, EDGES) for c in cycles)


# ----------------------------------------------------------------------------- bottom-of-file imports


def test_no_bottom_of_file_imports():
    late = [where for name in MODULES for where in _late_imports(name) + _noqa_e402(name)]
    assert not late, "imports after code (move them to the top, or break the cycle they work around): " + str(late)


def test_no_bottom_of_file_imports_outside_primitives():
    late = [where for name in MODULES if not _in(name, "pullback.primitives")
            for where in _late_imports(name) + _noqa_e402(name)]
    assert not late, "imports after code (move them to the top, or break the cycle they work around): " + str(late)


def test_late_import_finder_sees_an_import_after_a_def():
    probe = ast.parse('"""doc"""\nimport math\n\ndef f():\n    import re\n\nimport os\n')
    assert _late_import_lines(probe) == [7]


def _gathers_other_module(node: ast.AST) -> bool:
    """globals().update(...) fed with another module's names (getattr(module, ...), module.__all__)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "update"
            and isinstance(node.func.value, ast.Call) and getattr(node.func.value.func, "id", "") == "globals"):
        return False
    inner = [n for arg in node.args for n in ast.walk(arg)]
    return any((isinstance(n, ast.Attribute) and n.attr == "__all__")
               or (isinstance(n, ast.Call) and getattr(n.func, "id", "") == "getattr") for n in inner)


def test_no_star_imports_and_aggregation_only_in_numpy_init():
    stars, gathers = [], []
    for name, tree in TREES.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
                stars.append(f"{name}:{node.lineno}")
            if _gathers_other_module(node) and name != "pullback.numpy":
                gathers.append(f"{name}:{node.lineno}")
    assert not stars, f"star imports: {stars}"
    assert not gathers, f"namespaces gathered outside numpy/__init__.py: {gathers}"
    probe = ast.parse("globals().update({n: getattr(m, n) for n in m.__all__})").body[0].value
    assert _gathers_other_module(probe)
    assert not _gathers_other_module(ast.parse("globals().update(UNARY)").body[0].value)


# ----------------------------------------------------------------------------- layers


def test_every_module_has_a_layer():
    for name in MODULES:
        _layer(name)


def test_layers_import_downward_only():
    """Outside core/ (checked on its own below): no module imports a module of a higher layer."""
    upward = [str(e) for e in EDGES
              if not _in(e.source, "pullback.core") and _layer(e.target) > _layer(e.source)]
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_transformations_do_not_import_pullback_numpy():
    bad = [str(e) for e in EDGES if e.source in TRANSFORMATIONS and _in(e.target, "pullback.numpy")]
    assert not bad, "transformations must use primitives (see pullback/_arrays.py):\n" + "\n".join(bad)


def test_core_imports_nothing_from_primitives_or_numpy():
    bad = [str(e) for e in EDGES if _in(e.source, "pullback.core")
           and not (_in(e.target, "pullback.core") or _layer(e.target) == 0)]
    assert not bad, "core/ reaches above itself:\n" + "\n".join(bad)


def _primitive_names() -> set[str]:
    import importlib

    names = set()
    for name in MODULES:
        if _in(name, "pullback.primitives") or _in(name, "pullback.core"):
            module = importlib.import_module(name)
            names |= {v.name for v in vars(module).values() if isinstance(v, Primitive)}
            for table in (v for v in vars(module).values() if isinstance(v, dict)):
                names |= {p.name for p in table.values() if isinstance(p, Primitive)}
    return names


def _string_constants(tree: ast.Module) -> list[tuple[int, str]]:
    """String constants of a module, less docstrings and the name given to Primitive(...) itself."""
    skip = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            skip.add(id(first.value))
        if isinstance(node, ast.Call):
            callee = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if callee in ("Primitive", "nondifferentiable"):
                skip.update(id(a) for a in node.args[:1])
                skip.update(id(k.value) for k in node.keywords if k.arg == "name")
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip]


def test_primitive_names_are_collected():
    names = _primitive_names()
    assert {"add", "sin", "reshape", "cumsum", "matmul"} <= names
    probe = ast.parse('"""sin"""\nRENDER = {"sin": 1}\nx = Primitive("cos", f)\n')
    assert [s for _, s in _string_constants(probe)] == ["sin"]


def test_no_primitive_name_strings_in_core():
    names = _primitive_names()
    found = [f"{name}:{line} {value!r}" for name, tree in TREES.items() if _in(name, "pullback.core")
             for line, value in _string_constants(tree) if value in names]
    assert not found, "primitive names as strings in core/ (make them traits or hooks on the Primitive):\n" + \
        "\n".join(found)


# ----------------------------------------------------------------------------- numpy/ families


def _declared_numpy_order() -> list[str]:
    doc = ast.get_docstring(TREES["pullback.numpy"]) or ""
    block = doc.split("Import order.", 1)[1]
    order = []
    for line in block.splitlines():
        m = re.match(r"\s{4}(\w+(?:, \w+)*)\s{2,}", line)
        if m:
            names = m.group(1).split(", ")
            order.append([f"pullback.numpy.{n}" if n != "__init__" else "pullback.numpy" for n in names])
    return order


def test_numpy_families_import_only_lower_families_in_the_declared_order():
    order = _declared_numpy_order()
    rank = {m: i for i, group in enumerate(order) for m in group}
    numpy_modules = {m for m in MODULES if _in(m, "pullback.numpy")}
    assert set(rank) == numpy_modules, "numpy/__init__.py's import order must list every module of numpy/"
    assert order[0] == ["pullback.numpy._helpers"]
    bad = [str(e) for e in EDGES if e.source in rank and e.target in rank and rank[e.target] >= rank[e.source]]
    assert not bad, "numpy/ modules importing a family at or above their own place in the order:\n" + "\n".join(bad)
