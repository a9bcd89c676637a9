"""The exported schema honours the public contract: it may add, never break."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from graphql import build_schema, find_breaking_changes

CONTRACT = Path(__file__).resolve().parents[1].parent / "shared" / "contract" / "schema.graphql"


def _contract() -> str:
    """The contract's text. In CI its absence fails the test: a check that silently skips
    there would let a breaking change land."""
    if not CONTRACT.exists():
        message = f"the shared contract {CONTRACT.name} is not beside the repository (../shared/contract/)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return CONTRACT.read_text()


def test_exported_schema_breaks_nothing_in_the_contract() -> None:
    contract = _contract()
    # given the SDL exactly as `neverlog export-schema` prints it
    exported = subprocess.run(
        [sys.executable, "-m", "api.cli", "export-schema"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout
    # when
    changes = find_breaking_changes(build_schema(contract), build_schema(exported))
    # then
    assert [f"{c.type.name}: {c.description}" for c in changes] == []
