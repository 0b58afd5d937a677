"""The house rules that keep the code readable (docs/development.md): arrows point one way (no module of
attendance_core imports one that imports it back, directly or through others), no module over 500 lines,
the README under 200 lines. Read from the source (``ast``), so a lazy import inside a function counts too."""
from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "attendance_core"
MAX_MODULE_LINES = 500
MAX_README_LINES = 199


def dotted_name(path: Path, package: Path) -> str:
    """The module name of a ``.py`` file under ``package`` (a package is its ``__init__``)."""
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_names(package: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file under ``package``."""
    return {dotted_name(path, package): path for path in sorted(package.rglob("*.py"))}


def imported_module(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute name of the module a ``from ... import`` in module ``importer`` names (relative ones resolved)."""
    if not node.level:
        return node.module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports anywhere in its file (top level, functions, TYPE_CHECKING)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            origin = imported_module(name, is_package, node)
            # `from . import pool` imports the module pool; `from .pool import X` the module pool.
            targets = [f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in modules else origin
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_cycles(package: Path) -> list[list[str]]:
    """Every group of the package's modules that import each other, directly or through others (the strongly
    connected components of more than one module of the import graph), each as a list of names."""
    modules = module_names(package)
    graph = {name: sorted(imports_of(name, path, modules)) for name, path in modules.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []
    for root in graph:  # Tarjan's algorithm, iterative (no recursion limit to mind)
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    work.append((child, iter(graph[child])))
                elif child in stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    cycles.append(sorted(group))
    return cycles


def test_no_module_of_the_package_imports_one_that_imports_it_back():
    assert import_cycles(PACKAGE) == []


def test_the_cycle_check_finds_a_lazy_import_back_and_a_longer_loop(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    # pool and recognition as they were before issue 30: recognition reached up into the pool inside a function.
    (package / "recognition.py").write_text("def recognizer_for(s):\n    from .pool import PoolRecognizer\n")
    (package / "pool.py").write_text("from .recognition import recognizer_for\n")
    (package / "sub" / "__init__.py").write_text("from .a import x\n")
    (package / "sub" / "a.py").write_text("from ..images import y\n")
    (package / "images.py").write_text("from pkg.sub import a\n")
    (package / "alone.py").write_text("from . import images\nimport pkg.pool\n")
    assert sorted(import_cycles(package)) == [["pkg.images", "pkg.sub.a"], ["pkg.pool", "pkg.recognition"]]


def test_no_module_is_over_500_lines():
    files = [*PACKAGE.rglob("*.py"), *(REPO / "benchmarks").glob("*.py"), *(REPO / "scripts").glob("*.py")]
    long = {str(f.relative_to(REPO)): n for f in files if (n := len(f.read_text().splitlines())) > MAX_MODULE_LINES}
    assert long == {}, f"over {MAX_MODULE_LINES} lines (split by concept): {long}"


def test_the_readme_is_under_200_lines():
    lines = len((REPO / "README.md").read_text().splitlines())
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines: details belong in docs/"


def top_level_names(path: Path) -> set[str]:
    """The names a module defines at its top level (functions, classes, assignments, imports), read from its source,
    including those defined under an ``if``/``try`` at the top level."""
    names: set[str] = set()
    todo = list(ast.parse(path.read_text(), str(path)).body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            todo += [*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", []),
                     *(s for h in getattr(node, "handlers", []) for s in h.body)]
    return names


def missing_imports(files: list[Path], roots: list[Path], package: Path) -> list[str]:
    """Every ``from M import N`` (anywhere in a file, a function's body too) where M is one of the project's own
    modules (found under ``roots``, or ``package``'s) and N is neither defined at M's top level nor a submodule."""
    def module_file(dotted: str) -> Path | None:
        for root in roots:
            base = root / Path(*dotted.split("."))
            for candidate in (base.with_suffix(".py"), base / "__init__.py"):
                if candidate.is_file():
                    return candidate
        return None

    missing = []
    for path in files:
        name = dotted_name(path, package) if package in path.parents else ""  # (relative imports: the package's)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.ImportFrom):
                continue
            dotted = imported_module(name, path.name == "__init__.py", node)
            target = module_file(dotted)
            if target is None:
                continue  # not the project's (the standard library, a dependency)
            defined = top_level_names(target)
            for alias in node.names:
                if alias.name != "*" and alias.name not in defined and module_file(f"{dotted}.{alias.name}") is None:
                    missing.append(f"{path.name}:{node.lineno}: {dotted} has no {alias.name}")
    return missing


def test_every_name_imported_from_the_projects_own_modules_exists():
    """A helper moved or renamed while a test still imports the old name inside a function fails only when that
    test runs (CI, 40 minutes later): found here from the source instead."""
    files = [*PACKAGE.rglob("*.py"), *(REPO / "tests").glob("*.py"), *(REPO / "benchmarks").glob("*.py"),
             *(REPO / "scripts").glob("*.py")]
    assert missing_imports(files, [REPO, REPO / "tests", REPO / "benchmarks"], PACKAGE) == []


def test_the_import_check_finds_a_name_a_helper_no_longer_has(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("from .a import Z\n")
    (package / "a.py").write_text("try:\n    import numpy as np\nexcept ImportError:\n    np = None\nX = 1\n")
    (package / "b.py").write_text("from .a import X, np\nfrom . import a\ndef f():\n    from .a import Y\n")
    (tmp_path / "helper.py").write_text("def children(pid):\n    return []\n")
    (tmp_path / "test_x.py").write_text("def test():\n    from helper import _descendants, children\n"
                                        "    from pkg.a import X\n    from os import path\n")
    files = [package / "__init__.py", package / "b.py", tmp_path / "test_x.py"]
    assert missing_imports(files, [tmp_path], package) == ["__init__.py:1: pkg.a has no Z", "b.py:4: pkg.a has no Y",
                                                           "test_x.py:2: helper has no _descendants"]
