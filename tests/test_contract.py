"""The exported schema honours the public contract: it may add, never break."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from graphql import build_schema, find_breaking_changes

CONTRACT = Path(__file__).resolve().parents[1].parent / "shared" / "contract" / "schema.graphql"


@pytest.mark.skipif(
    not CONTRACT.exists(), reason="the shared contract is not beside the repository"
)
def test_exported_schema_breaks_nothing_in_the_contract() -> None:
    # given the SDL exactly as `neverlog export-schema` prints it
    exported = subprocess.run(
        [sys.executable, "-m", "api.cli", "export-schema"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout
    # when
    changes = find_breaking_changes(build_schema(CONTRACT.read_text()), build_schema(exported))
    # then
    assert [f"{c.type.name}: {c.description}" for c in changes] == []
