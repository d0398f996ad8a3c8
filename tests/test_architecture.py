"""The layout holds: every arrow between two parts of the project is one that
docs/ARCHITECTURE.md's table of allowed arrows lists, and every arrow the table lists is one
the code draws; parts meet at their faces (no import of another part's private module); no
import cycle among the project's modules; no library where a part must do without it; and
no hidden dependency (a function-level import of the project's own code says why).

The graph is read from the source (module-level and function-level imports alike), so it
needs nothing imported. ``test_the_checks_can_fail`` runs the same checks on a small made-up
tree and its own table, and sees each kind of fault reported.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

PACKAGES = ("search", "spaces", "mnist_models", "benchmarks")
ARCHITECTURE = Path("docs") / "ARCHITECTURE.md"
TABLE_HEADING = "## Allowed arrows"
# The one-line error helper under every part of the service: a module, not a part with a face.
SHARED_HELPER = "search._text"
# Libraries a part must do without: (part, library, why). The arrows between the project's own
# parts are the table's; these are the rules on the libraries the table does not draw.
LIBRARY_RULES = (
    ("mnist_models", "ray", "the models and data know nothing of Ray"),
    ("spaces", "keras", "a space only suggests values: no Keras"),
    ("spaces", "tensorflow", "a space only suggests values: no TensorFlow"),
    ("spaces", "ray", "a space only suggests values: no Ray"),
    ("search.run_folder", "ray", "the run folder's files are read without Ray"),
    ("search.study", "ray", "the Optuna side runs without Ray (the plain benchmark peer uses it)"),
    ("search.verdict", "ray", "the verdict is arithmetic on rows"),
    ("search.verdict", "keras", "the verdict is arithmetic on rows"),
    ("search.reporting", "ray", "the report is rendered without Ray"),
    ("search.reporting", "keras", "the report is rendered without Keras"),
    ("search.cli", "ray", "a bad flag is refused before Ray is imported"),
)


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


def part_of(module: str) -> str:
    """The part a module belongs to: a sub-package or command module of the service
    (``search.tuning``, ``search.run``), or a top-level package (``spaces``, ``benchmarks``)."""
    pieces = module.split(".")
    return pieces[0] if pieces[0] != "search" or len(pieces) == 1 else f"search.{pieces[1]}"


def parts(known: dict[str, Path]) -> set[str]:
    """Every part of the tree (the service's package itself is their container, not a part)."""
    return {part_of(name) for name in known} - {"search"}


def allowed_table(document: str) -> dict[str, set[str]]:
    """The table under ``## Allowed arrows``: a row a part, the parts it may import in the
    second column (backquoted names; "nothing" for none)."""
    if TABLE_HEADING not in document:
        raise AssertionError(f"{ARCHITECTURE} has no {TABLE_HEADING!r} section")
    section = document.split(TABLE_HEADING, 1)[1].split("\n## ", 1)[0]
    table: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 2 and cells[0].startswith("`"):
            table[cells[0].strip("`")] = {name.strip().strip("`") for name in cells[1].split(",")
                                          if name.strip().startswith("`")}
    return table


def part_arrows(found: list[Arrow], known: dict[str, Path]) -> dict[tuple[str, str], Arrow]:
    """Each arrow between two parts, with the first import that draws it."""
    drawn: dict[tuple[str, str], Arrow] = {}
    for arrow in found:
        if arrow.imported not in known or arrow.imported == "search":
            continue  # a library, or the service's package (``from search import pipeline``)
        edge = (part_of(arrow.importer), part_of(arrow.imported))
        if edge[0] != edge[1]:
            drawn.setdefault(edge, arrow)
    return drawn


def unlisted_arrows(found: list[Arrow], known: dict[str, Path], table: dict[str, set[str]]) -> list[str]:
    return [f"{arrow.importer}:{arrow.line} imports {arrow.imported}: {importer} -> {imported} is not an "
            f"allowed arrow ({ARCHITECTURE}, {TABLE_HEADING!r})"
            for (importer, imported), arrow in sorted(part_arrows(found, known).items())
            if imported not in table.get(importer, set())]


def unused_arrows(found: list[Arrow], known: dict[str, Path], table: dict[str, set[str]]) -> list[str]:
    drawn = part_arrows(found, known)
    return [f"{importer} -> {imported} is in {ARCHITECTURE}'s table, but no module of {importer} imports {imported}"
            for importer, allowed in sorted(table.items()) for imported in sorted(allowed)
            if (importer, imported) not in drawn]


def unlisted_parts(known: dict[str, Path], table: dict[str, set[str]]) -> list[str]:
    return sorted(f"part {name} has no row in {ARCHITECTURE}'s table" for name in parts(known) - set(table)) + sorted(
        f"{ARCHITECTURE}'s table has a row for {name}, which is no part of the code" for name in set(table) - parts(known))


def private_reaches(found: list[Arrow], known: dict[str, Path]) -> list[str]:
    """Imports of another part's private module (``search.pipeline._resume`` from outside
    ``search.pipeline``): parts meet at their faces. One line per import statement."""
    broken: dict[tuple[str, int], str] = {}
    for arrow in found:
        if arrow.imported not in known or arrow.imported == SHARED_HELPER:
            continue
        own, other = part_of(arrow.importer), part_of(arrow.imported)
        if own != other and any(piece.startswith("_") for piece in arrow.imported.split(".")):
            broken.setdefault((arrow.importer, arrow.line), f"{arrow.importer}:{arrow.line} imports {arrow.imported}, "
                                                            f"a private module of {other}: import from its face")
    return list(broken.values())


def library_breaches(found: list[Arrow], rules=LIBRARY_RULES) -> list[str]:
    return [f"{arrow.importer}:{arrow.line} imports {arrow.imported}: {why}"
            for arrow in found for part, library, why in rules
            if _within(arrow.importer, part) and _within(arrow.imported, library)]


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


@pytest.fixture(scope="module")
def table() -> dict[str, set[str]]:
    return allowed_table((PROJECT_ROOT / ARCHITECTURE).read_text())


def test_every_arrow_between_two_parts_is_in_the_table_of_allowed_arrows(graph, table) -> None:
    found, known = graph
    assert unlisted_arrows(found, known, table) == []


def test_every_arrow_in_the_table_is_one_the_code_draws(graph, table) -> None:
    found, known = graph
    assert unused_arrows(found, known, table) == []


def test_the_table_has_a_row_for_every_part_and_no_other(graph, table) -> None:
    _, known = graph
    assert unlisted_parts(known, table) == []


def test_parts_meet_at_their_faces(graph) -> None:
    found, known = graph
    assert private_reaches(found, known) == []


def test_no_import_cycle_among_the_projects_modules(graph) -> None:
    found, known = graph
    assert cycles(project_edges(found, known)) == []


def test_no_part_imports_a_library_it_must_do_without(graph) -> None:
    found, _ = graph
    assert library_breaches(found) == []


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


MADE_UP_TABLE = """# Architecture

## Allowed arrows

| part | may import | why |
|---|---|---|
| `mnist_models` | nothing | |
| `spaces` | `mnist_models` | |
| `search.one` | `search.two` | |
| `search.two` | `search.one` | |
| `search.reporting` | `search.run_folder` | the report reads files |
| `search.confirmation` | nothing | |
| `search.run_folder` | `search.verdict` | |
| `search.verdict` | `search.run_folder` | |
| `benchmarks` | `search.run_folder`, `search.tuning` | |
| `search.tuning` | nothing | |

## Next section
"""


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """A made-up tree and its table: the report importing the confirmation (not in the table), a
    benchmark arrow to tuning that no module draws, a part with no row, a space and a benchmark
    reaching behind a face, cycles (one through a package's face), Ray under mnist_models, and
    a silent function-level import."""
    files = {
        "mnist_models/__init__.py": "",
        "mnist_models/_a.py": "import ray\n",
        "spaces/__init__.py": "",
        "spaces/_s.py": "from mnist_models import a\nfrom mnist_models._a import b\n",
        "search/__init__.py": "",
        "search/one.py": "from search import two\n",
        "search/two.py": "def f():\n    from search import one\n",
        "search/reporting/__init__.py": "from search.reporting._x import y\n",
        "search/reporting/_x.py": "from search.confirmation import z\nfrom search.run_folder import NAME\ny = 1\n",
        "search/confirmation/__init__.py": "z = 1\n",
        "search/run_folder/__init__.py": "from search.run_folder._names import NAME\n",
        "search/run_folder/_names.py": "from search.verdict import rule\nNAME = 1\n",
        "search/verdict/__init__.py": "from search.run_folder import NAME\nrule = 1\n",
        "search/tuning/__init__.py": "",
        "search/cluster/__init__.py": "",
        "benchmarks/__init__.py": "",
        "benchmarks/_arm.py": "from benchmarks import _other\nfrom search.run_folder._names import NAME\n",
        "benchmarks/_other.py": "from search.run_folder import NAME\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    found, known = arrows(tmp_path), modules(tmp_path)
    table = allowed_table(MADE_UP_TABLE)
    assert [line.split(":", 2)[2] for line in unlisted_arrows(found, known, table)] == [
        f" search.reporting -> search.confirmation is not an allowed arrow ({ARCHITECTURE}, {TABLE_HEADING!r})"]
    assert unused_arrows(found, known, table) == [
        f"benchmarks -> search.tuning is in {ARCHITECTURE}'s table, but no module of benchmarks imports search.tuning"]
    assert unlisted_parts(known, table) == [f"part search.cluster has no row in {ARCHITECTURE}'s table"]
    assert sorted(line.split(",")[0] for line in private_reaches(found, known)) == [
        "benchmarks._arm:2 imports search.run_folder._names", "spaces._s:2 imports mnist_models._a"]
    assert sorted(cycles(project_edges(found, known))) == [
        ["search.one", "search.two"], ["search.run_folder", "search.run_folder._names", "search.verdict"]]
    assert library_breaches(found) == ["mnist_models._a:1 imports ray: the models and data know nothing of Ray"]
    assert silent_local_imports(found, known) == [
        "search.two:2 imports search.one inside a function without saying why"]


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
