"""Two accounts: nothing of one is visible to, or changeable by, the other. An ID of the
other account behaves exactly like an ID that does not exist."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from api.settings import Settings
from persistence.database import Database
from schema.ids import to_global_id
from tests.helpers import (
    REMOVE_ENTRIES,
    Api,
    Member,
    add_entries,
    assert_no_user_errors,
    assert_user_error,
    listed_patterns,
)

NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"
IDS = """{ viewer { account { id } }
    users(first: 100, includeInactive: true) { edges { node { id email role active } } }
    apiTokens { id revokedAt }
    auditEvents(first: 100) { edges { node { id } } } }"""
ACCOUNT_ENTRIES = (
    "{ neverLogList(scope: ACCOUNT) { entries(first: 100) { edges { node { id pattern } } } } }"
)
PERSONAL_ENTRIES = (
    "{ neverLogList(scope: PERSONAL) { entries(first: 100) { edges { node { id pattern } } } } }"
)


@dataclass
class Tenant:
    """An account with a super admin, a user, entries on both kinds of list, tokens and
    audit events, and every ID of them."""

    admin: Member
    user: Member
    ids: dict[str, list[str]]


async def tenant(api: Api, name: str) -> Tenant:
    admin = await api.new_account(name)
    user = await api.add_member(admin)
    assert_no_user_errors(
        await add_entries(api, admin, [f"*@{name.lower()}-lawyers.com"], scope="ACCOUNT")
    )
    assert_no_user_errors(await add_entries(api, user, [f"doctor@{name.lower()}.com"]))
    assert_no_user_errors(await add_entries(api, admin, [f"family@{name.lower()}.com"]))
    seen = await api.data(IDS, token=admin.token)
    account_entries = await api.data(ACCOUNT_ENTRIES, token=admin.token)
    user_entries = await api.data(PERSONAL_ENTRIES, token=user.token)
    admin_entries = await api.data(PERSONAL_ENTRIES, token=admin.token)
    ids = {
        "Account": [seen["viewer"]["account"]["id"]],
        "User": [e["node"]["id"] for e in seen["users"]["edges"]],
        "ApiToken": [t["id"] for t in seen["apiTokens"]],
        "AuditEvent": [e["node"]["id"] for e in seen["auditEvents"]["edges"]],
        "NeverLogEntry": [
            e["node"]["id"]
            for data in (account_entries, user_entries, admin_entries)
            for e in data["neverLogList"]["entries"]["edges"]
        ],
    }
    assert all(ids.values()), ids
    return Tenant(admin=admin, user=user, ids=ids)


async def snapshot(api: Api, t: Tenant) -> dict[str, Any]:
    """Everything of the account that a change could touch."""
    return {
        "seen": await api.data(IDS, token=t.admin.token),
        "account": await listed_patterns(api, t.admin, scope="ACCOUNT"),
        "admin": await listed_patterns(api, t.admin),
        "user": await listed_patterns(api, t.user),
    }


@pytest.fixture(scope="module")
async def pair(db: Database) -> AsyncIterator[tuple[Tenant, Tenant]]:
    """Two accounts, built once for the tests that only read."""
    api = Api(Settings(database_url=db.url.render_as_string(hide_password=False)), db)
    try:
        yield await tenant(api, "Ours"), await tenant(api, "Theirs")
    finally:
        await api.close()


def answer(body: dict[str, Any]) -> dict[str, Any]:
    """The body but for its extensions (such as the request's cost), which vary by request."""
    return {key: value for key, value in body.items() if key != "extensions"}


def made_up(type_name: str) -> str:
    return to_global_id(type_name, uuid.uuid4())


TYPES = ["Account", "User", "ApiToken", "AuditEvent", "NeverLogEntry"]


@pytest.mark.parametrize("role", ["SUPER_ADMIN", "USER"])
@pytest.mark.parametrize("type_name", TYPES)
async def test_node_of_another_accounts_id_is_null_like_a_made_up_id(
    api: Api, pair: tuple[Tenant, Tenant], type_name: str, role: str
) -> None:
    # given
    ours, theirs = pair
    viewer = ours.admin if role == "SUPER_ADMIN" else ours.user
    # when
    answers = [
        answer(await api.gql(NODE, {"id": i}, token=viewer.token)) for i in theirs.ids[type_name]
    ]
    unknown = answer(await api.gql(NODE, {"id": made_up(type_name)}, token=viewer.token))
    # then
    assert unknown == {"data": {"node": None}}
    assert answers == [unknown] * len(theirs.ids[type_name])


@pytest.mark.parametrize("type_name", TYPES)
async def test_nodes_of_another_accounts_ids_are_null_beside_ones_own(
    api: Api, pair: tuple[Tenant, Tenant], type_name: str
) -> None:
    # given
    ours, theirs = pair
    own_id = ours.ids[type_name][0]
    # when
    data = await api.data(
        NODES, {"ids": [*theirs.ids[type_name], own_id, made_up(type_name)]}, token=ours.admin.token
    )
    # then
    assert data["nodes"] == [None] * len(theirs.ids[type_name]) + [
        {"__typename": type_name, "id": own_id},
        None,
    ]


async def test_queries_show_only_the_viewers_account(api: Api, pair: tuple[Tenant, Tenant]) -> None:
    # given
    ours, theirs = pair
    # when
    seen = await api.data(IDS, token=ours.admin.token)
    account_list = await listed_patterns(api, ours.admin, scope="ACCOUNT")
    personal_list = await listed_patterns(api, ours.admin)
    # then
    assert {e["node"]["id"] for e in seen["users"]["edges"]} == set(ours.ids["User"])
    assert {t["id"] for t in seen["apiTokens"]} == set(ours.ids["ApiToken"])
    assert {e["node"]["id"] for e in seen["auditEvents"]["edges"]} == set(ours.ids["AuditEvent"])
    assert not set(theirs.ids["User"]) & {e["node"]["id"] for e in seen["users"]["edges"]}
    assert account_list == ["*@ours-lawyers.com"]
    assert personal_list == ["family@ours.com"]


@pytest.mark.parametrize("how", ["ids", "patterns"])
@pytest.mark.parametrize("scope", ["ACCOUNT", "PERSONAL"])
async def test_another_accounts_entry_cannot_be_removed(api: Api, scope: str, how: str) -> None:
    # given
    ours = await api.new_account("Ours")
    theirs = await tenant(api, "Theirs")
    before = await snapshot(api, theirs)
    their_pattern = "*@theirs-lawyers.com" if scope == "ACCOUNT" else "family@theirs.com"
    [their_id] = [
        e["node"]["id"]
        for e in (
            await api.data(
                ACCOUNT_ENTRIES if scope == "ACCOUNT" else PERSONAL_ENTRIES,
                token=theirs.admin.token,
            )
        )["neverLogList"]["entries"]["edges"]
    ]
    target = their_id if how == "ids" else their_pattern
    unknown = made_up("NeverLogEntry") if how == "ids" else "nobody@nowhere.com"
    # when
    payload = await remove(api, ours, scope, how, target)
    control = await remove(api, ours, scope, how, unknown)
    # then
    error = assert_user_error(payload, "NOT_FOUND", ["input", how, "0"])
    if how == "ids":
        assert payload["userErrors"] == control["userErrors"]
    else:
        assert error["message"] == control["userErrors"][0]["message"].replace(
            "nobody@nowhere.com", their_pattern
        )
    assert await snapshot(api, theirs) == before


async def remove(api: Api, member: Member, scope: str, how: str, value: str) -> dict[str, Any]:
    data = await api.data(
        REMOVE_ENTRIES, {"input": {"scope": scope, how: [value]}}, token=member.token
    )
    payload: dict[str, Any] = data["removeNeverLogEntries"]
    return payload


USER_MUTATIONS = [
    pytest.param(
        """mutation($id: ID!) { result: updateUserRole(input: {userId: $id, role: USER}) {
            user { id } userErrors { field message code } } }""",
        "User",
        id="updateUserRole-demote",
    ),
    pytest.param(
        """mutation($id: ID!) { result: updateUserRole(input: {userId: $id, role: SUPER_ADMIN}) {
            user { id } userErrors { field message code } } }""",
        "User",
        id="updateUserRole-promote",
    ),
    pytest.param(
        """mutation($id: ID!) { result: deactivateUser(input: {userId: $id}) {
            user { id } userErrors { field message code } } }""",
        "User",
        id="deactivateUser",
    ),
    pytest.param(
        """mutation($id: ID!) { result: inviteUser(input: {userId: $id}) {
            invitationCode user { id } userErrors { field message code } } }""",
        "User",
        id="inviteUser",
    ),
    pytest.param(
        """mutation($id: ID!) { result: revokeApiToken(input: {id: $id}) {
            apiToken { id } userErrors { field message code } } }""",
        "ApiToken",
        id="revokeApiToken",
    ),
]


@pytest.mark.parametrize(("mutation", "type_name"), USER_MUTATIONS)
async def test_mutations_on_another_accounts_ids_are_not_found_like_made_up_ids(
    api: Api, mutation: str, type_name: str
) -> None:
    # given
    ours = await api.new_account("Ours")
    theirs = await tenant(api, "Theirs")
    before = await snapshot(api, theirs)
    # when
    answers = [
        (await api.data(mutation, {"id": i}, token=ours.token))["result"]
        for i in theirs.ids[type_name]
    ]
    control = (await api.data(mutation, {"id": made_up(type_name)}, token=ours.token))["result"]
    # then
    assert_user_error(control, "NOT_FOUND")
    assert answers == [control] * len(theirs.ids[type_name])
    assert await snapshot(api, theirs) == before
    for member in (theirs.admin, theirs.user):
        assert (await api.data("{ viewer { user { id } } }", token=member.token))["viewer"]["user"][
            "id"
        ] == (member.user_id)


async def test_a_token_changed_to_name_another_account_does_not_sign_in(
    api: Api, pair: tuple[Tenant, Tenant]
) -> None:
    # given: a token whose account part is replaced by another account's id
    ours, theirs = pair
    their_account_hex = theirs.admin.token.rsplit("_", 1)[1]
    forged = ours.admin.token.rsplit("_", 1)[0] + "_" + their_account_hex
    # when
    response = await api.post("{ viewer { account { id } } }", token=forged)
    # then: a token that is not valid, never a hint of the other account
    assert response.status_code == 401
    body = response.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    assert "data" not in body
