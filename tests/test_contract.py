"""The exported schema honours the public contract, and the next one that the features of
internal domains, notes and expiry, webhooks, batches and dry runs built: it may add to
them, never break them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from graphql import build_schema, find_breaking_changes

from tests.live_server import exported_schema

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT.parent / "shared" / "contract"


def _contract(name: str) -> str:
    """The contract's text. In CI its absence fails the test: a check that silently skips
    there would let a breaking change land."""
    path = CONTRACTS / name
    if not path.exists():
        message = f"the shared contract {name} is not beside the repository (../shared/contract/)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path.read_text()


def _exported() -> str:
    """The SDL exactly as `neverlog export-schema` prints it (run once a session)."""
    return exported_schema()


@pytest.mark.parametrize("name", ["schema.graphql", "next.graphql"])
def test_exported_schema_breaks_nothing_in_the_contract(name: str) -> None:
    # given the contract and the exported schema
    contract = _contract(name)
    # when
    changes = find_breaking_changes(build_schema(contract), build_schema(_exported()))
    # then
    assert [f"{c.type.name}: {c.description}" for c in changes] == []
