"""policy is pure: it imports only the standard library, itself and two syntax libraries."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import policy

ALLOWED = set(sys.stdlib_module_names) | {"policy", "email_validator", "idna"}
MODULES = sorted(Path(policy.__file__).parent.glob("*.py"))


def imported(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return names


@pytest.mark.parametrize("path", MODULES, ids=[path.name for path in MODULES])
def test_a_policy_module_imports_nothing_of_the_project_or_of_a_framework(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))

    assert imported(tree) <= ALLOWED
    assert "__future__" in imported(tree)
