"""An entry's action (NEVER_LOG, LOG_SUBJECT_ONLY, LOG_METADATA_ONLY) through HTTP, on every
database: on adds, in the list, in the extended CSV and its import, and in webhook bodies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.test_webhooks import create_endpoint, delivering
from tests.helpers import Api, Member, assert_no_user_errors, assert_user_error
from tests.webhook_receiver import Receiver, receiving

ADD = """mutation($input: AddNeverLogEntriesInput!) { addNeverLogEntries(input: $input) {
    added { id pattern action } alreadyListed list { count }
    userErrors { field message code } } }"""

IMPORT = """mutation($input: ImportNeverLogListInput!) { importNeverLogList(input: $input) {
    addedCount alreadyListed list { count } userErrors { field message code } } }"""

LIST = """query($scope: NeverLogScope!) { neverLogList(scope: $scope) {
    csv(extended: true)
    entries(first: 100) { edges { node { id pattern action note } } } } }"""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


async def add(
    api: Api, member: Member, patterns: list[str], *, scope: str = "PERSONAL", **extra: Any
) -> dict[str, Any]:
    data = await api.data(
        ADD, {"input": {"scope": scope, "patterns": patterns, **extra}}, token=member.token
    )
    payload: dict[str, Any] = data["addNeverLogEntries"]
    return payload


async def listed(api: Api, member: Member, scope: str = "PERSONAL") -> dict[str, str]:
    """Each entry's action by pattern."""
    data = await api.data(LIST, {"scope": scope}, token=member.token)
    edges = data["neverLogList"]["entries"]["edges"]
    return {e["node"]["pattern"]: e["node"]["action"] for e in edges}


async def extended_csv(api: Api, member: Member, scope: str = "PERSONAL") -> str:
    data = await api.data(LIST, {"scope": scope}, token=member.token)
    text: str = data["neverLogList"]["csv"]
    return text


async def import_file(api: Api, member: Member, text: str) -> dict[str, Any]:
    data = await api.data(IMPORT, {"input": {"scope": "PERSONAL", "csv": text}}, token=member.token)
    payload: dict[str, Any] = data["importNeverLogList"]
    return payload


async def test_an_add_without_an_action_never_logs(api: Api) -> None:
    # given
    member = await api.new_account()
    # when
    payload = await add(api, member, ["jane@x.com"])
    # then
    assert_no_user_errors(payload)
    assert [a["action"] for a in payload["added"]] == ["NEVER_LOG"]
    assert await listed(api, member) == {"jane@x.com": "NEVER_LOG"}


@pytest.mark.parametrize("action", ["LOG_SUBJECT_ONLY", "LOG_METADATA_ONLY", "NEVER_LOG"])
async def test_an_add_gives_its_action_to_every_entry_it_adds(api: Api, action: str) -> None:
    # given
    admin = await api.new_account()
    # when
    payload = await add(api, admin, ["*@hr-law.com", "ceo@x.com"], scope="ACCOUNT", action=action)
    # then
    assert_no_user_errors(payload)
    assert {a["action"] for a in payload["added"]} == {action}
    assert await listed(api, admin, "ACCOUNT") == {"*@hr-law.com": action, "ceo@x.com": action}


async def test_a_pattern_already_listed_keeps_its_action_whatever_the_add_says(api: Api) -> None:
    # given
    member = await api.new_account()
    assert_no_user_errors(await add(api, member, ["jane@x.com"], action="LOG_SUBJECT_ONLY"))
    # when
    payload = await add(api, member, ["Jane@X.com", "bob@x.com"], action="NEVER_LOG")
    # then
    assert_no_user_errors(payload)
    assert payload["alreadyListed"] == ["jane@x.com"]
    assert [a["pattern"] for a in payload["added"]] == ["bob@x.com"]
    assert await listed(api, member) == {"jane@x.com": "LOG_SUBJECT_ONLY", "bob@x.com": "NEVER_LOG"}


async def test_an_unknown_action_is_refused_by_graphql_and_adds_nothing(api: Api) -> None:
    member = await api.new_account()
    body = await api.gql(
        ADD,
        {"input": {"scope": "PERSONAL", "patterns": ["jane@x.com"], "action": "LOG_A_BIT"}},
        token=member.token,
    )
    assert "LOG_A_BIT" in body["errors"][0]["message"]
    assert await listed(api, member) == {}


# -- the extended CSV ------------------------------------------------------------------------


async def test_the_extended_csv_has_the_action_last_and_imports_it_back(api: Api) -> None:
    # given entries of every action
    source = await api.new_account()
    for action, pattern in [
        ("NEVER_LOG", "jane@x.com"),
        ("LOG_SUBJECT_ONLY", "*@hr-law.com"),
        ("LOG_METADATA_ONLY", "*@*.board.org"),
    ]:
        assert_no_user_errors(await add(api, source, [pattern], action=action, note="why"))
    # when
    text = await extended_csv(api, source)
    # then
    lines = text.split("\r\n")
    assert lines[0] == "pattern,kind,created_at,created_by,note,expires_at,action"
    assert [line.rsplit(",", 1)[1] for line in lines[1:4]] == [
        "LOG_METADATA_ONLY",
        "LOG_SUBJECT_ONLY",
        "NEVER_LOG",
    ]
    # when imported into another account
    target = await api.new_account("Target")
    payload = await import_file(api, target, text)
    # then every entry keeps its action
    assert_no_user_errors(payload)
    assert await listed(api, target) == await listed(api, source)


@pytest.mark.parametrize(
    ("cell", "action"),
    [
        ("", "NEVER_LOG"),
        ("log_subject_only", "LOG_SUBJECT_ONLY"),
        (" LOG_METADATA_ONLY ", "LOG_METADATA_ONLY"),
    ],
)
async def test_an_import_reads_the_action_where_the_header_names_it(
    api: Api, cell: str, action: str
) -> None:
    member = await api.new_account()
    payload = await import_file(
        api,
        member,
        f"pattern,kind,created_at,created_by,note,expires_at,action\r\n"
        f"jane@x.com,ADDRESS,,,,,{cell}\r\n",
    )
    assert_no_user_errors(payload)
    assert await listed(api, member) == {"jane@x.com": action}


async def test_an_import_without_an_action_column_never_logs(api: Api) -> None:
    member = await api.new_account()
    payload = await import_file(
        api,
        member,
        "pattern,kind,created_at,created_by,note,expires_at\r\njane@x.com,ADDRESS,,,n,\r\n",
    )
    assert_no_user_errors(payload)
    assert await listed(api, member) == {"jane@x.com": "NEVER_LOG"}


async def test_an_unknown_action_refuses_the_import_naming_its_line(api: Api) -> None:
    # given
    member = await api.new_account()
    assert_no_user_errors(await add(api, member, ["kept@x.com"]))
    # when
    payload = await import_file(
        api,
        member,
        "pattern,kind,created_at,created_by,note,expires_at,action\r\n"
        "ok@x.com,ADDRESS,,,,,NEVER_LOG\r\n"
        "jane@x.com,ADDRESS,,,,,BLOCK_A_BIT\r\n",
    )
    # then
    error = assert_user_error(payload, "INVALID_INPUT", ["input", "csv", "3"])
    assert "Line 3" in error["message"] and '"BLOCK_A_BIT"' in error["message"]
    assert "LOG_SUBJECT_ONLY" in error["message"]
    assert payload["list"] is None
    assert await listed(api, member) == {"kept@x.com": "NEVER_LOG"}


# -- webhooks --------------------------------------------------------------------------------


async def test_added_entries_are_sent_with_their_action(api: Api, receiver: Receiver) -> None:
    # given
    admin = await api.new_account()
    await create_endpoint(api, admin, receiver)
    # when
    payload = await add(api, admin, ["*@hr-law.com"], scope="ACCOUNT", action="LOG_METADATA_ONLY")
    assert_no_user_errors(payload)
    async with delivering(api):
        [received] = await receiver.wait_for(lambda r: len(r) >= 1)
    # then
    assert received.verified
    assert received.event["type"] == "never_log.entries_added"
    assert received.event["data"]["entries"] == [
        {
            "id": payload["added"][0]["id"],
            "pattern": "*@hr-law.com",
            "kind": "DOMAIN",
            "note": None,
            "expiresAt": None,
            "action": "LOG_METADATA_ONLY",
        }
    ]
