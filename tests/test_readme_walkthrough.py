"""The documented queries, run as printed: the README's first query and the walk-through of
docs/api.md, each of its GraphQL blocks in order, as a new account's super admin, and each
answer it prints (a JSON block after a query) is what the API answers: every key and list
item printed is there, with the value printed."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.helpers import Api
from tests.live_server import REPO

BLOCK = re.compile(r"```(graphql|json)\n(.*?)```", re.DOTALL)


# Where each documented walk-through is: its file and the heading it starts under (it ends
# at the next heading of the same level), and how many queries and printed answers it has
# at least, so that a page that loses its blocks fails here rather than passing on nothing.
WALKTHROUGHS = {
    "README": ("README.md", "## A first query", 2, 1),
    "api": ("docs/api.md", "## A walk through GraphiQL", 6, 3),
    "capture": ("docs/api.md", "## Capture levels and inbound email", 6, 6),
}


def walkthrough(name: str) -> list[tuple[str, str]]:
    path, heading, _, _ = WALKTHROUGHS[name]
    text = (REPO / path).read_text()
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    return [(kind, text) for kind, text in BLOCK.findall(section)]


def printed_in(expected: Any, actual: Any, where: str = "") -> list[str]:
    """Where the printed answer differs from the actual one (keys printed only)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: printed an object, got {actual!r}"]
        return [
            problem
            for key, value in expected.items()
            for problem in (
                printed_in(value, actual[key], f"{where}.{key}")
                if key in actual
                else [f"{where}.{key}: printed, not in the answer"]
            )
        ]
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: printed {expected!r}, got {actual!r}"]
        return [
            p
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for p in printed_in(e, a, f"{where}[{i}]")
        ]
    return [] if expected == actual else [f"{where}: printed {expected!r}, got {actual!r}"]


@pytest.mark.parametrize("name", sorted(WALKTHROUGHS))
async def test_the_walkthrough_answers_as_the_docs_print(api: Api, name: str) -> None:
    # given a new account's super admin, and the page's blocks
    admin = await api.new_account()
    blocks = walkthrough(name)
    _, _, queries, answers = WALKTHROUGHS[name]
    assert len([kind for kind, _ in blocks if kind == "graphql"]) >= queries, (
        "the walk-through lost its queries"
    )

    # when each query runs in order
    answer: dict[str, Any] | None = None
    problems: list[str] = []
    checked = 0
    for kind, text in blocks:
        if kind == "graphql":
            # "<the id above>" stands for the last id that an answer gave, "<the code
            # above>" for the last invitation code
            given = json.dumps(answer or {})
            ids = re.findall(r'"id": "([^"]+)"', given)
            codes = re.findall(r'"invitationCode": "([^"]+)"', given)
            query = text.replace("<the id above>", ids[-1] if ids else "")
            query = query.replace("<the code above>", codes[-1] if codes else "")
            # an invitation is accepted without a token, as the new user has none
            token = None if "acceptInvitation" in text else admin.token
            answer = await api.gql(query, token=token)
            assert "errors" not in answer, (text, answer["errors"])
        elif answer is not None:
            # then each answer printed after a query is the API's
            printed = json.loads(text)
            problems += printed_in(printed["data"], answer["data"], "data")
            checked += 1
    assert problems == []
    assert checked >= answers
