"""Imports flow one way, one floor at a time: api -> schema -> tenancy -> persistence, and
anything may import policy, which imports nothing of the project. No floor skips the one
below it, the app factory and the command line included: they reach the database, its
migrations and the background services through schema/services.py, which takes them from
tenancy/services.py. persistence never imports Strawberry; policy never imports SQLModel
or SQLAlchemy. Within a package, no two modules import each other, however indirectly."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("api", "schema", "tenancy", "persistence", "policy")
# What each package may import of the project: itself, the floor below, and policy.
ALLOWED = {
    "api": {"api", "schema", "policy"},
    "schema": {"schema", "tenancy", "policy"},
    "tenancy": {"tenancy", "persistence", "policy"},
    "persistence": {"persistence", "policy"},
    "policy": {"policy"},
}
FORBIDDEN_LIBRARIES = {
    "persistence": {"strawberry", "starlette"},
    "tenancy": {"strawberry", "starlette"},
    "policy": {"sqlmodel", "sqlalchemy", "strawberry", "starlette"},
}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


def _imports(path: Path) -> set[str]:
    """The top-level names of everything a module imports, wherever in it (a function's
    own imports and those under TYPE_CHECKING included)."""
    names: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(package: str) -> dict[str, Path]:
    return {_module(path): path for path in (ROOT / package).rglob("*.py")}


def _imported_modules(path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that a module imports (``from tenancy import lists``
    imports the module tenancy.lists; ``from tenancy.lists import ListRef``, tenancy.lists)."""
    found: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                if submodule in known:
                    found.add(submodule)
                elif node.module in known:
                    found.add(node.module)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (its modules in import order, the first again at the end),
    or None."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(module: str) -> list[str] | None:
        path.append(module)
        on_path.add(module)
        for imported in sorted(graph[module]):
            if imported in on_path:
                return [*path[path.index(imported) :], imported]
            if imported not in done:
                found = visit(imported)
                if found is not None:
                    return found
        path.pop()
        on_path.discard(module)
        done.add(module)
        return None

    for module in sorted(graph):
        if module not in done:
            found = visit(module)
            if found is not None:
                return found
    return None


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_flow_one_way(package: str) -> None:
    offending = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / package).rglob("*.py")
        for name in _imports(path)
        if (name in PACKAGES and name not in ALLOWED[package])
        or name in FORBIDDEN_LIBRARIES.get(package, set())
    }
    assert offending == set()


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle_within_a_package(package: str) -> None:
    modules = _modules(package)
    known = set(modules)
    graph = {name: _imported_modules(path, known) - {name} for name, path in modules.items()}
    assert _cycle(graph) is None


def test_a_cycle_is_found() -> None:
    # given: three modules in a ring, and one beside them
    graph = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}}
    # then
    assert _cycle(graph) == ["p.a", "p.b", "p.c", "p.a"]
    assert _cycle({"p.a": {"p.b"}, "p.b": set()}) is None


# Mutable containers whose names a module binds at its top level, and the methods that
# change one in place.
_CONTAINER_CALLS = {
    "dict",
    "list",
    "set",
    "defaultdict",
    "OrderedDict",
    "deque",
    "WeakKeyDictionary",
    "WeakValueDictionary",
    "WeakSet",
}
_MUTATORS = {
    "add",
    "append",
    "clear",
    "discard",
    "extend",
    "insert",
    "move_to_end",
    "pop",
    "popitem",
    "remove",
    "setdefault",
    "update",
}
# What an app holds (its database's sign-in cache, lastUsedAt writes, live hubs, held
# lists, its documents' plans and measures) lives on the app's state or beside its Database
# handle (Database.info), never in a module: no module keeps a mutable registry.


def _is_container(value: ast.expr | None) -> bool:
    if isinstance(value, (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)):
        return True
    if isinstance(value, ast.Call):
        called = value.func
        name = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", None)
        return name in _CONTAINER_CALLS
    return False


def _registries(tree: ast.Module) -> set[str]:
    """The module-level names bound to a mutable container that the module changes in
    place (an item set or deleted, a mutating method called) or rebinds from a function
    (``global``)."""
    bound: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and _is_container(node.value):
            bound.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and _is_container(node.value)
        ):
            bound.add(node.target.id)
    mutated: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            mutated.update(node.names)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                    mutated.add(target.value.id)
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in _MUTATORS
            and isinstance(node.value, ast.Name)
        ):
            mutated.add(node.value.id)
    return bound & mutated


@pytest.mark.parametrize("package", ["api", "schema", "tenancy", "persistence"])
def test_no_module_level_registry(package: str) -> None:
    """What an app holds is built by the app and reached through it, not kept in a module
    global shared by every app of the process (STYLE.md: "no module globals")."""
    found = {
        (module, name)
        for module, path in _modules(package).items()
        for name in _registries(_tree(path))
    }
    assert found == set()


def test_a_registry_is_found() -> None:
    tree = ast.parse(
        "import weakref\n"
        "_BY_DB: weakref.WeakKeyDictionary[object, int] = weakref.WeakKeyDictionary()\n"
        "_SEEN = set()\n"
        "_FIXED = {'a': 1}\n"
        "def remember(db, n):\n"
        "    _BY_DB[db] = n\n"
        "    _SEEN.add(n)\n"
    )
    assert _registries(tree) == {"_BY_DB", "_SEEN"}
