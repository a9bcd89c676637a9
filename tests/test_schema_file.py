"""schema/schema.graphql, the committed SDL, is what ``neverlog export-schema`` prints now."""

from __future__ import annotations

import difflib

from tests.live_server import REPO, exported_schema

SCHEMA_FILE = REPO / "schema" / "schema.graphql"


def test_the_committed_schema_is_up_to_date() -> None:
    exported = exported_schema()
    committed = SCHEMA_FILE.read_text() if SCHEMA_FILE.exists() else ""
    if committed != exported:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                exported.splitlines(keepends=True),
                "schema/schema.graphql",
                "neverlog export-schema",
                n=1,
            )
        )
        raise AssertionError(
            "schema/schema.graphql is out of date with `neverlog export-schema`: "
            f"run `make schema` and commit it.\n{diff[:4000]}"
        )
