"""Cursor pages of entries, users and audit events; removing entries; the audit log."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.helpers import (
    IMPORT_LIST,
    LIST_PAGE,
    REMOVE_ENTRIES,
    Api,
    Member,
    add_entries,
    assert_no_user_errors,
    assert_top_level_error,
    assert_user_error,
    error_codes,
    listed_patterns,
)

USERS_PAGE = """query($first: Int, $after: String) { users(first: $first, after: $after) {
    edges { cursor node { id email } } pageInfo { hasNextPage endCursor } totalCount } }"""
AUDIT_PAGE = """query($first: Int, $after: String) { auditEvents(first: $first, after: $after) {
    edges { cursor node { id action scope patterns actor { id } subjectUser { id } summary } }
    pageInfo { hasNextPage endCursor } totalCount } }"""


async def pages(
    api: Api, member: Member, query: str, path: tuple[str, ...], size: int, **variables: Any
) -> list[dict[str, Any]]:
    """Every page of a connection, in order, ``size`` at a time."""
    found: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        data: Any = await api.data(
            query, {**variables, "first": size, "after": after}, token=member.token
        )
        for key in path:
            data = data[key]
        found.append(data)
        if not data["pageInfo"]["hasNextPage"]:
            return found
        assert len(found) < 100, "the pages never end"
        after = data["pageInfo"]["endCursor"]


def assert_well_formed(found: list[dict[str, Any]], size: int, total: int) -> list[dict[str, Any]]:
    """Full pages but the last, each ending at its endCursor, each with the total; the nodes."""
    assert [len(p["edges"]) for p in found] == [size] * (total // size) + (
        [total % size] if total % size else []
    )
    for page in found:
        assert page["totalCount"] == total
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
    return [edge["node"] for page in found for edge in page["edges"]]


async def test_entries_come_in_pages_in_pattern_order(api: Api) -> None:
    # given
    admin = await api.new_account()
    patterns = [*[f"user{n:02d}@acme.com" for n in range(25)][::-1], "*@acme.com", "*@*.acme.com"]
    assert_no_user_errors(await add_entries(api, admin, patterns, scope="ACCOUNT"))
    # when
    found = await pages(api, admin, LIST_PAGE, ("neverLogList", "entries"), 10, scope="ACCOUNT")
    # then
    nodes = assert_well_formed(found, 10, 27)
    assert [n["pattern"] for n in nodes] == sorted(patterns)
    assert len({n["id"] for n in nodes}) == 27


async def test_a_page_past_the_end_is_empty(api: Api) -> None:
    # given
    admin = await api.new_account()
    assert_no_user_errors(await add_entries(api, admin, ["a@x.com", "b@x.com"]))
    last = (await api.data(LIST_PAGE, {"scope": "PERSONAL", "first": 2}, token=admin.token))[
        "neverLogList"
    ]
    # when
    data = await api.data(
        LIST_PAGE,
        {"scope": "PERSONAL", "first": 2, "after": last["entries"]["pageInfo"]["endCursor"]},
        token=admin.token,
    )
    # then
    assert last["entries"]["pageInfo"]["hasNextPage"] is False
    entries = data["neverLogList"]["entries"]
    assert entries["edges"] == []
    assert entries["pageInfo"] == {"hasNextPage": False, "endCursor": None}
    assert entries["totalCount"] == 2


async def test_users_come_in_pages(api: Api) -> None:
    # given
    admin = await api.new_account()
    for _ in range(4):
        await api.add_member(admin)
    # when
    found = await pages(api, admin, USERS_PAGE, ("users",), 2)
    # then
    nodes = assert_well_formed(found, 2, 5)
    assert len({n["id"] for n in nodes}) == 5
    assert admin.user_id in {n["id"] for n in nodes}
    assert [n["email"] for n in nodes] == sorted(n["email"] for n in nodes)


async def test_audit_events_come_in_pages_newest_first(api: Api) -> None:
    # given: the account's creation (2 events), then 6 changes
    admin = await api.new_account()
    for n in range(6):
        assert_no_user_errors(await add_entries(api, admin, [f"p{n}@x.com"]))
    whole = (await api.data(AUDIT_PAGE, {"first": 100}, token=admin.token))["auditEvents"]
    # when
    found = await pages(api, admin, AUDIT_PAGE, ("auditEvents",), 3)
    # then
    nodes = assert_well_formed(found, 3, 8)
    assert nodes == [edge["node"] for edge in whole["edges"]]
    assert [n["patterns"] for n in nodes[:6]] == [[f"p{n}@x.com"] for n in reversed(range(6))]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("acme", ["*@*.acme.org", "*@acme.com", "jane@acme.com"]),
        ("ACME.COM", ["*@acme.com", "jane@acme.com"]),
        ("  jane ", ["jane@acme.com"]),
        ("*@*", ["*@*.acme.org"]),
        ("_", ["first_last@other.com"]),
        ("%", []),
        ("domän", ["*@domän.se"]),
        ("nowhere", []),
        (
            "",
            [
                "*@*.acme.org",
                "*@acme.com",
                "*@domän.se",
                "bob@other.com",
                "first_last@other.com",
                "jane@acme.com",
            ],
        ),
    ],
)
async def test_search_keeps_entries_whose_pattern_contains_it(
    api: Api, search: str, expected: list[str]
) -> None:
    # given
    admin = await api.new_account()
    assert_no_user_errors(
        await add_entries(
            api,
            admin,
            [
                "jane@acme.com",
                "*@acme.com",
                "bob@other.com",
                "*@*.acme.org",
                "first_last@other.com",
                "*@domän.se",
            ],
        )
    )
    # when
    data = await api.data(LIST_PAGE, {"scope": "PERSONAL", "search": search}, token=admin.token)
    # then
    entries = data["neverLogList"]["entries"]
    assert [e["node"]["pattern"] for e in entries["edges"]] == expected
    assert entries["totalCount"] == len(expected)
    assert data["neverLogList"]["count"] == 6


async def test_search_results_come_in_pages(api: Api) -> None:
    # given
    admin = await api.new_account()
    assert_no_user_errors(
        await add_entries(
            api, admin, [f"a{n}@acme.com" for n in range(5)] + [f"b{n}@other.com" for n in range(5)]
        )
    )
    # when
    found = await pages(
        api, admin, LIST_PAGE, ("neverLogList", "entries"), 2, scope="PERSONAL", search="acme"
    )
    # then
    nodes = assert_well_formed(found, 2, 5)
    assert [n["pattern"] for n in nodes] == [f"a{n}@acme.com" for n in range(5)]


CONNECTIONS = [
    pytest.param(
        "query($first: Int, $after: String) { neverLogList(scope: PERSONAL) { entries(first: $first, after: $after) { totalCount } } }",
        id="entries",
    ),
    pytest.param(
        "query($first: Int, $after: String) { users(first: $first, after: $after) { totalCount } }",
        id="users",
    ),
    pytest.param(
        "query($first: Int, $after: String) { auditEvents(first: $first, after: $after) { totalCount } }",
        id="auditEvents",
    ),
]


@pytest.mark.parametrize("query", CONNECTIONS)
async def test_a_page_of_100_is_allowed(api: Api, query: str) -> None:
    # given
    admin = await api.new_account()
    # when
    body = await api.gql(query, {"first": 100}, token=admin.token)
    # then
    assert "errors" not in body, body


@pytest.mark.parametrize("first", [101, 1000, -1])
@pytest.mark.parametrize("query", CONNECTIONS)
async def test_a_page_size_out_of_bounds_is_refused_naming_the_limit(
    api: Api, query: str, first: int
) -> None:
    # given
    admin = await api.new_account()
    # when
    body = await api.gql(query, {"first": first}, token=admin.token)
    # then
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    assert "100" in body["errors"][0]["message"]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


GARBAGE_CURSORS = [
    pytest.param("garbage!", id="not-base64"),
    pytest.param("Zm9v", id="base64-not-json"),
    pytest.param(_b64(b'{"a": 1}'), id="json-not-a-list"),
    pytest.param(_b64(b"[1, 2, 3, 4]"), id="wrong-length"),
    pytest.param(_b64(b"[1]"), id="not-a-string"),
    pytest.param(_b64(b'["not a date", "not an id"]'), id="two-strings"),
    pytest.param(
        _b64(b'["2026-01-01T00:00:00", "0190f2c4-0000-7000-8000-000000000000"]'), id="naive-date"
    ),
    pytest.param("\u00e9\u00e9", id="not-ascii"),
]


@pytest.mark.parametrize("cursor", GARBAGE_CURSORS)
@pytest.mark.parametrize("query", CONNECTIONS)
async def test_a_garbage_cursor_is_bad_user_input(api: Api, query: str, cursor: str) -> None:
    # given
    admin = await api.new_account()
    # when
    body = await api.gql(query, {"first": 10, "after": cursor}, token=admin.token)
    # then
    assert_top_level_error(body, "BAD_USER_INPUT")
    assert "Unexpected" not in body["errors"][0]["message"]


async def test_a_cursor_of_one_connection_is_not_one_of_another(api: Api) -> None:
    # given
    admin = await api.new_account()
    assert_no_user_errors(await add_entries(api, admin, ["a@x.com", "b@x.com"]))
    audit = (await api.data(AUDIT_PAGE, {"first": 1}, token=admin.token))["auditEvents"]
    # when
    body = await api.gql(
        LIST_PAGE,
        {"scope": "PERSONAL", "first": 1, "after": audit["pageInfo"]["endCursor"]},
        token=admin.token,
    )
    # then
    assert_top_level_error(body, "BAD_USER_INPUT")


# -- removing entries -----------------------------------------------------------------------


async def remove(
    api: Api, member: Member, scope: str = "PERSONAL", **input: list[str]
) -> dict[str, Any]:
    data = await api.data(REMOVE_ENTRIES, {"input": {"scope": scope, **input}}, token=member.token)
    payload: dict[str, Any] = data["removeNeverLogEntries"]
    return payload


async def test_entries_are_removed_by_id(api: Api) -> None:
    # given
    admin = await api.new_account()
    added = await add_entries(api, admin, ["a@x.com", "b@x.com", "c@x.com"], scope="ACCOUNT")
    ids = {e["pattern"]: e["id"] for e in added["added"]}
    # when
    payload = await remove(api, admin, "ACCOUNT", ids=[ids["a@x.com"], ids["c@x.com"]])
    # then
    assert_no_user_errors(payload)
    assert sorted(payload["removedIds"]) == sorted([ids["a@x.com"], ids["c@x.com"]])
    assert payload["list"] == {"count": 1}
    assert await listed_patterns(api, admin, scope="ACCOUNT") == ["b@x.com"]


async def test_entries_are_removed_by_pattern_in_any_spelling(api: Api) -> None:
    # given
    admin = await api.new_account()
    added = await add_entries(api, admin, ["jane@acme.com", "*@domän.se", "*@keep.com"])
    ids = {e["pattern"]: e["id"] for e in added["added"]}
    # when
    payload = await remove(api, admin, patterns=["JANE@acme.com; *@xn--domn-noa.se"])
    # then
    assert_no_user_errors(payload)
    assert sorted(payload["removedIds"]) == sorted([ids["jane@acme.com"], ids["*@domän.se"]])
    assert payload["list"] == {"count": 1}
    assert await listed_patterns(api, admin) == ["*@keep.com"]


async def test_entries_are_removed_by_id_and_pattern_at_once(api: Api) -> None:
    # given
    admin = await api.new_account()
    added = await add_entries(api, admin, ["a@x.com", "b@x.com", "c@x.com"])
    ids = {e["pattern"]: e["id"] for e in added["added"]}
    # when
    payload = await remove(api, admin, ids=[ids["a@x.com"]], patterns=["a@x.com", "b@x.com"])
    # then
    assert_no_user_errors(payload)
    assert sorted(payload["removedIds"]) == sorted([ids["a@x.com"], ids["b@x.com"]])
    assert await listed_patterns(api, admin) == ["c@x.com"]


@pytest.mark.parametrize(
    ("input", "field"),
    [
        pytest.param(
            {"patterns": ["a@x.com", "nobody@x.com"]},
            ["input", "patterns", "1"],
            id="unknown-pattern",
        ),
        pytest.param(
            {"patterns": ["a@x.com", "*@x.com"]},
            ["input", "patterns", "1"],
            id="domain-of-a-listed-address",
        ),
        pytest.param(
            {"ids": ["bm9wZQ"], "patterns": ["a@x.com"]}, ["input", "ids", "0"], id="unknown-id"
        ),
    ],
)
async def test_removing_anything_not_listed_is_not_found_and_removes_nothing(
    api: Api, input: dict[str, list[str]], field: list[str]
) -> None:
    # given
    admin = await api.new_account()
    assert_no_user_errors(await add_entries(api, admin, ["a@x.com", "b@x.com"]))
    # when
    payload = await remove(api, admin, "PERSONAL", **input)
    # then
    assert_user_error(payload, "NOT_FOUND", field)
    assert payload["removedIds"] == []
    assert payload["list"] is None
    assert await listed_patterns(api, admin) == ["a@x.com", "b@x.com"]


async def test_removing_an_invalid_pattern_is_refused(api: Api) -> None:
    # given
    admin = await api.new_account()
    assert_no_user_errors(await add_entries(api, admin, ["a@x.com"]))
    # when
    payload = await remove(api, admin, patterns=["a@x.com", "na*me@x.com"])
    # then
    assert_user_error(payload, "INVALID_PATTERN", ["input", "patterns", "1"])
    assert await listed_patterns(api, admin) == ["a@x.com"]


# -- the audit log --------------------------------------------------------------------------


async def test_the_audit_log_records_each_change_newest_first(api: Api) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    # when
    assert_no_user_errors(
        await add_entries(api, admin, ["*@lawyers.com", "Jane@Acme.com"], scope="ACCOUNT")
    )
    assert_no_user_errors(
        await add_entries(api, admin, ["jane@acme.com"], scope="ACCOUNT")
    )  # no change
    assert_no_user_errors(await add_entries(api, user, ["mum@family.com"]))
    assert_no_user_errors(await remove(api, admin, "ACCOUNT", patterns=["*@lawyers.com"]))
    imported = await api.data(
        IMPORT_LIST,
        {"input": {"scope": "ACCOUNT", "csv": "*@doctors.com\n", "mode": "REPLACE"}},
        token=admin.token,
    )
    assert_no_user_errors(imported["importNeverLogList"])
    assert_no_user_errors(
        (
            await api.data(
                "mutation($id: ID!) { updateUserRole(input: {userId: $id, role: SUPER_ADMIN}) { userErrors { code } } }",
                {"id": user.user_id},
                token=admin.token,
            )
        )["updateUserRole"]
    )
    created = await api.data(
        'mutation { createApiToken(input: {name: "ci"}) { apiToken { id } userErrors { code } } }',
        token=user.token,
    )
    assert_no_user_errors(
        (
            await api.data(
                "mutation($id: ID!) { revokeApiToken(input: {id: $id}) { userErrors { code } } }",
                {"id": created["createApiToken"]["apiToken"]["id"]},
                token=admin.token,
            )
        )["revokeApiToken"]
    )
    assert_no_user_errors(
        (
            await api.data(
                "mutation($id: ID!) { deactivateUser(input: {userId: $id}) { userErrors { code } } }",
                {"id": user.user_id},
                token=admin.token,
            )
        )["deactivateUser"]
    )
    events = (await api.data(AUDIT_PAGE, {"first": 100}, token=admin.token))["auditEvents"]
    # then
    recorded = [
        (
            e["node"]["action"],
            e["node"]["scope"],
            sorted(e["node"]["patterns"]),
            (e["node"]["actor"] or {}).get("id"),
            (e["node"]["subjectUser"] or {}).get("id"),
        )
        for e in events["edges"]
    ]
    assert recorded[:8] == [
        ("USER_DEACTIVATED", None, [], admin.user_id, user.user_id),
        ("API_TOKEN_REVOKED", None, [], admin.user_id, user.user_id),
        ("API_TOKEN_CREATED", None, [], user.user_id, user.user_id),
        ("USER_ROLE_CHANGED", None, [], admin.user_id, user.user_id),
        (
            "NEVER_LOG_LIST_IMPORTED",
            "ACCOUNT",
            ["*@doctors.com", "jane@acme.com"],
            admin.user_id,
            None,
        ),
        ("NEVER_LOG_ENTRIES_REMOVED", "ACCOUNT", ["*@lawyers.com"], admin.user_id, None),
        # the user's personal list: a super admin sees the change, not its patterns
        ("NEVER_LOG_ENTRIES_ADDED", "PERSONAL", [], user.user_id, None),
        (
            "NEVER_LOG_ENTRIES_ADDED",
            "ACCOUNT",
            ["*@lawyers.com", "jane@acme.com"],
            admin.user_id,
            None,
        ),
    ]
    # the user accepting their invitation, the admin adding and inviting them (each in one
    # transaction, whose events come in either order), the account's creation
    actions = [r[0] for r in recorded[8:]]
    assert sorted(actions[:2]) == ["API_TOKEN_CREATED", "INVITATION_ACCEPTED"]
    assert sorted(actions[2:4]) == ["USER_ADDED", "USER_INVITED"]
    assert sorted(actions[4:]) == ["API_TOKEN_CREATED", "USER_ADDED"]
    assert events["totalCount"] == 14
    assert all(e["node"]["summary"] for e in events["edges"])


async def test_a_refused_change_leaves_no_audit_event(api: Api) -> None:
    # given
    admin = await api.new_account()
    before = (await api.data(AUDIT_PAGE, {"first": 100}, token=admin.token))["auditEvents"][
        "totalCount"
    ]
    # when
    refused = await add_entries(api, admin, ["ok@x.com", "na*me@x.com"])
    not_found = await remove(api, admin, patterns=["nobody@x.com"])
    # then
    assert_user_error(refused, "INVALID_PATTERN")
    assert_user_error(not_found, "NOT_FOUND")
    after = (await api.data(AUDIT_PAGE, {"first": 100}, token=admin.token))["auditEvents"][
        "totalCount"
    ]
    assert after == before


@pytest.mark.parametrize(
    ("listed_on", "removed_from"), [("ACCOUNT", "PERSONAL"), ("PERSONAL", "ACCOUNT")]
)
async def test_an_entry_of_the_viewers_other_list_is_not_found(
    api: Api, listed_on: str, removed_from: str
) -> None:
    # given
    admin = await api.new_account()
    added = await add_entries(api, admin, ["a@x.com"], scope=listed_on)
    # when
    by_id = await remove(api, admin, removed_from, ids=[added["added"][0]["id"]])
    by_pattern = await remove(api, admin, removed_from, patterns=["a@x.com"])
    # then
    assert_user_error(by_id, "NOT_FOUND", ["input", "ids", "0"])
    assert_user_error(by_pattern, "NOT_FOUND", ["input", "patterns", "0"])
    assert await listed_patterns(api, admin, scope=listed_on) == ["a@x.com"]
