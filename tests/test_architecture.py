"""The layout holds: no import cycle among the project's modules, no forbidden arrow, and no
hidden dependency (a function-level import of the project's own code says why it is there).

The graph is read from the source (module-level and function-level imports alike), so it
needs nothing imported. ``test_the_checks_can_fail`` runs the same checks on a small made-up
tree with a cycle, a forbidden arrow and a silent local import, and sees each one reported.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

PACKAGES = ("search", "spaces", "mnist_models", "benchmarks")
# (importer prefix, imported prefix, why not)
FORBIDDEN = (
    ("mnist_models", "ray", "the models and data know nothing of Ray"),
    ("mnist_models", "search", "the models and data know nothing of the service"),
    ("mnist_models", "spaces", "the models take plain configurations, not spaces"),
    ("spaces", "keras", "a space only suggests values: no Keras"),
    ("spaces", "tensorflow", "a space only suggests values: no TensorFlow"),
    ("spaces", "ray", "a space only suggests values: no Ray"),
    ("spaces", "search", "the spaces know nothing of the service"),
    ("spaces", "mnist_models", "the spaces know nothing of the models' code"),
    ("search.run_folder", "search", "the run folder is the bottom layer of the service"),
    ("search.run_folder", "ray", "the run folder's files are read without Ray"),
    ("search.study", "ray", "the Optuna side runs without Ray (the plain benchmark peer uses it)"),
    ("search.verdict", "ray", "the verdict is arithmetic on rows"),
    ("search.verdict", "keras", "the verdict is arithmetic on rows"),
    ("search.verdict", "search.confirmation", "the verdict judges rows; it does not make them"),
    ("search.reporting", "search.confirmation", "the report reads the run's files; it never runs the confirmation"),
    ("search.reporting", "search.tuning", "the report reads the run's files; it never runs Tune"),
    ("search.reporting", "search.pipeline", "the report is a step the pipeline calls, not the other way"),
    ("search.reporting", "ray", "the report is rendered without Ray"),
    ("search.reporting", "keras", "the report is rendered without Keras"),
    ("search.confirmation", "search.reporting", "the confirmation is handed what it needs and never calls the report"),
    ("search.confirmation", "search.tuning", "the confirmation runs its own jobs, not Tune's"),
    ("search.confirmation", "search.pipeline", "the pipeline calls the confirmation, not the other way"),
    ("search.tuning", "search.confirmation", "the Tune wiring searches; the pipeline confirms"),
    ("search.tuning", "search.reporting", "the Tune wiring searches; the pipeline reports"),
    ("search.tuning", "search.pipeline", "the pipeline calls the Tune wiring, not the other way"),
    ("search.cli", "search.pipeline", "the options are parsed before the pipeline starts"),
    ("search.cli", "ray", "a bad flag is refused before Ray is imported"),
    ("search", "benchmarks", "the service is installed without its benchmarks"),
    ("spaces", "benchmarks", "the service is installed without its benchmarks"),
    ("mnist_models", "benchmarks", "the service is installed without its benchmarks"),
)
# Packages that reach the others through their faces only: no ``package._name`` of another package.
FACES_ONLY = ("benchmarks",)
# Arrows a rule above would catch but the layout allows: the one-line error helper sits below
# every layer, and a part may import its own modules.
ALLOWED = (("search.run_folder", "search._text"),)


@dataclass(frozen=True)
class Arrow:
    importer: str
    imported: str
    line: int
    local: bool  # inside a function
    explained: bool  # a comment on the line or just above it says why


def modules(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            name = ".".join(path.relative_to(root).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def arrows(root: Path, packages: tuple[str, ...] = PACKAGES) -> list[Arrow]:
    """Every import of every module, resolved to a module of the tree where it is one (else
    kept as written: ``ray.tune``, ``keras``)."""
    known = modules(root, packages)
    found = []
    for name, path in known.items():
        source = path.read_text()
        lines = source.splitlines()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node, local in _imports(ast.parse(source)):
            for target in _targets(node, package):
                resolved = _resolve(target, known)
                found.append(Arrow(name, resolved, node.lineno, local, _explained(lines, node.lineno)))
    return found


def _explained(lines: list[str], number: int) -> bool:
    """A comment on the import's line, or above the block of import lines it belongs to
    (blank lines within the block allowed)."""
    if "#" in lines[number - 1]:
        return True
    above = number - 2
    while above >= 0 and (not lines[above].strip() or lines[above].strip().startswith(("import ", "from "))):
        above -= 1
    return above >= 0 and lines[above].strip().startswith("#")


def _imports(tree: ast.AST) -> list[tuple[ast.Import | ast.ImportFrom, bool]]:
    found = []

    def visit(node: ast.AST, local: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append((child, local))
            visit(child, local or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree, False)
    return found


def _targets(node: ast.Import | ast.ImportFrom, package: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = package.split(".")
        base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
    return [f"{base}.{alias.name}" for alias in node.names] + [base]


def _resolve(target: str, known: dict[str, Path]) -> str:
    name = target
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or target


def project_edges(found: list[Arrow], known: dict[str, Path]) -> dict[str, set[str]]:
    """Arrows between the tree's own modules. A face's arrows to its own modules count: Python
    runs the face first, so a module that imports through a face that imports it back is a
    cycle at import time."""
    edges: dict[str, set[str]] = {name: set() for name in known}
    for arrow in found:
        if arrow.imported in known and arrow.imported != arrow.importer:
            edges[arrow.importer].add(arrow.imported)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(edges.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def forbidden(found: list[Arrow], rules=FORBIDDEN) -> list[str]:
    broken = []
    for arrow in found:
        for importer, imported, why in rules:
            if not (_within(arrow.importer, importer) and _within(arrow.imported, imported)):
                continue
            own_part = importer.startswith("search.") and _within(arrow.imported, importer)
            allowed = any(_within(arrow.importer, a) and _within(arrow.imported, b) for a, b in ALLOWED)
            if not (own_part or allowed):
                broken.append(f"{arrow.importer}:{arrow.line} imports {arrow.imported}: {why}")
    return broken


def private_imports(found: list[Arrow], known: dict[str, Path], importers: tuple[str, ...] = FACES_ONLY) -> list[str]:
    """Imports by ``importers`` of a private module (a ``_name`` part) of another package of the
    tree, one line per import statement."""
    broken: dict[tuple[str, int], str] = {}
    for arrow in found:
        own = next((package for package in importers if _within(arrow.importer, package)), None)
        if own is None or arrow.imported not in known or _within(arrow.imported, own):
            continue
        if any(part.startswith("_") and not part.startswith("__") for part in arrow.imported.split(".")):
            broken.setdefault((arrow.importer, arrow.line), f"{arrow.importer}:{arrow.line} imports "
                              f"{arrow.imported}, a private module of another package: import from its face")
    return list(broken.values())


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def silent_local_imports(found: list[Arrow], known: dict[str, Path]) -> list[str]:
    """One line per import statement (``from search import one`` is an arrow to ``search.one``
    and to ``search``: the first names it)."""
    lines: dict[tuple[str, int], str] = {}
    for arrow in found:
        if arrow.local and arrow.imported in known and not arrow.explained:
            lines.setdefault((arrow.importer, arrow.line), f"{arrow.importer}:{arrow.line} imports "
                                                           f"{arrow.imported} inside a function without saying why")
    return list(lines.values())


@pytest.fixture(scope="module")
def graph() -> tuple[list[Arrow], dict[str, Path]]:
    return arrows(PROJECT_ROOT), modules(PROJECT_ROOT)


def test_no_import_cycle_among_the_projects_modules(graph) -> None:
    found, known = graph
    assert cycles(project_edges(found, known)) == []


def test_no_forbidden_arrow(graph) -> None:
    found, _ = graph
    assert forbidden(found) == []


def test_the_benchmarks_reach_the_service_through_its_faces_only(graph) -> None:
    found, known = graph
    assert private_imports(found, known) == []


def test_a_function_level_import_of_the_projects_own_code_says_why(graph) -> None:
    found, known = graph
    assert silent_local_imports(found, known) == []


def test_every_sub_package_of_the_service_has_a_face_that_lists_what_it_offers() -> None:
    for folder in sorted(path for path in (PROJECT_ROOT / "search").iterdir() if path.is_dir()
                         and path.name != "__pycache__"):
        face = ast.parse((folder / "__init__.py").read_text())
        names = [node for node in face.body if isinstance(node, ast.Assign)
                 and any(getattr(target, "id", None) == "__all__" for target in node.targets)]
        assert names and ast.get_docstring(face), f"search/{folder.name}/__init__.py needs a docstring and __all__"


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """A made-up tree: a cycle between two modules, one through a package's face, Ray under
    mnist_models, the report importing the confirmation, a silent function-level import, and a
    benchmark importing a private module of the service."""
    files = {
        "mnist_models/__init__.py": "",
        "mnist_models/_a.py": "import ray\n",
        "spaces/__init__.py": "",
        "search/__init__.py": "",
        "search/one.py": "from search import two\n",
        "search/two.py": "def f():\n    from search import one\n",
        "search/reporting/__init__.py": "from search.reporting._x import y\n",
        "search/reporting/_x.py": "from search.confirmation import z\ny = 1\n",
        "search/confirmation/__init__.py": "z = 1\n",
        "search/run_folder/__init__.py": "from search.run_folder._names import NAME\n",
        "search/run_folder/_names.py": "from search.verdict import rule\nNAME = 1\n",
        "search/verdict/__init__.py": "from search.run_folder import NAME\nrule = 1\n",
        "benchmarks/__init__.py": "",
        "benchmarks/_arm.py": "from benchmarks import _other\nfrom search.run_folder._names import NAME\n",
        "benchmarks/_other.py": "from search.run_folder import NAME\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    found, known = arrows(tmp_path), modules(tmp_path)
    assert sorted(cycles(project_edges(found, known))) == [
        ["search.one", "search.two"], ["search.run_folder", "search.run_folder._names", "search.verdict"]]
    broken = forbidden(found)
    assert any(line.startswith("mnist_models._a:1 imports ray") for line in broken)
    assert any(line.startswith("search.reporting._x:1 imports search.confirmation") for line in broken)
    assert silent_local_imports(found, known) == [
        "search.two:2 imports search.one inside a function without saying why"]
    assert [line.split(",")[0] for line in private_imports(found, known)] == [
        "benchmarks._arm:2 imports search.run_folder._names"]


MAX_FUNCTION_LINES = 50


def long_functions(root: Path, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """Functions (methods and nested ones included) longer than ``limit`` lines, docstring
    and decorators included, in the service and its benchmarks."""
    found = []
    for path in sorted(path for package in ("search", "benchmarks") for path in (root / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
                length = node.end_lineno - first + 1
                if length > limit:
                    found.append(f"{path.relative_to(root)}:{node.lineno} {node.name}: {length} lines")
    return found


def test_no_function_of_the_service_is_longer_than_fifty_lines() -> None:
    assert long_functions(PROJECT_ROOT) == []
