"""Imports flow one way, one floor at a time: api -> schema -> tenancy -> persistence, and
anything may import policy, which imports nothing of the project. Reads go through tenancy
as writes do: no floor skips the one below it, but for the app factory and the command
line, which wire the database and run migrations. persistence never imports Strawberry;
policy never imports SQLModel or SQLAlchemy."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("api", "schema", "tenancy", "persistence", "policy")
# What each package may import of the project.
ALLOWED = {
    "api": {"api", "schema", "tenancy", "policy"},
    "schema": {"schema", "tenancy", "policy"},
    "tenancy": {"tenancy", "persistence", "policy"},
    "persistence": {"persistence", "policy"},
    "policy": {"policy"},
}
# The modules that wire the floors together may reach past the one below.
WIRING = {"api/app.py": {"persistence"}, "api/cli.py": {"persistence"}}
FORBIDDEN_LIBRARIES = {
    "persistence": {"strawberry", "starlette"},
    "tenancy": {"strawberry", "starlette"},
    "policy": {"sqlmodel", "sqlalchemy", "strawberry", "starlette"},
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_flow_one_way(package: str) -> None:
    offending = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / package).rglob("*.py")
        for name in _imports(path)
        if (
            name in PACKAGES
            and name not in ALLOWED[package]
            and name not in WIRING.get(path.relative_to(ROOT).as_posix(), set())
        )
        or name in FORBIDDEN_LIBRARIES.get(package, set())
    }
    assert offending == set()
