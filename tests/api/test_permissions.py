"""The permission table of PRODUCT.md: what a USER and a SUPER_ADMIN may read and change."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.helpers import (
    IMPORT_LIST,
    REMOVE_ENTRIES,
    Api,
    Member,
    add_entries,
    assert_no_user_errors,
    assert_user_error,
    listed_patterns,
    user_error_codes,
)

ROLES = ["USER", "SUPER_ADMIN"]

PERSONAL_LIST = """{ neverLogList(scope: PERSONAL) { scope owner { id } count
    entries { edges { node { pattern } } } } }"""
NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"
USERS = "{ users(first: 100) { totalCount edges { node { id email role } } } }"
AUDIT = "{ auditEvents(first: 100) { edges { node { action actor { id } patterns } } } }"
TOKENS = "{ apiTokens { id name user { id } } }"
ADD_USER = """mutation($input: AddUserInput!) { addUser(input: $input) {
    user { id email role active } userErrors { field message code } } }"""
UPDATE_ROLE = """mutation($input: UpdateUserRoleInput!) { updateUserRole(input: $input) {
    user { id role } userErrors { field message code } } }"""
DEACTIVATE = """mutation($input: DeactivateUserInput!) { deactivateUser(input: $input) {
    user { id active } userErrors { field message code } } }"""
CREATE_TOKEN = """mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) {
    token apiToken { id user { id } } userErrors { field message code } } }"""
REVOKE_TOKEN = """mutation($input: RevokeApiTokenInput!) { revokeApiToken(input: $input) {
    apiToken { id revokedAt } userErrors { field message code } } }"""


async def member_with_role(api: Api, admin: Member, role: str) -> Member:
    """The account's first super admin, or a user added by them."""
    return admin if role == "SUPER_ADMIN" else await api.add_member(admin, role="USER")


async def user_of(api: Api, admin: Member, user_id: str) -> dict[str, Any]:
    data = await api.data(
        "{ users(first: 100, includeInactive: true) { edges { node { id email role active } } } }",
        token=admin.token,
    )
    found: list[dict[str, Any]] = [
        e["node"] for e in data["users"]["edges"] if e["node"]["id"] == user_id
    ]
    assert len(found) == 1, found
    return found[0]


# -- the never-log lists ------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
async def test_everyone_reads_and_changes_their_own_personal_list(api: Api, role: str) -> None:
    # given
    admin = await api.new_account()
    viewer = await member_with_role(api, admin, role)
    # when
    added = await add_entries(api, viewer, ["mine@x.com", "gone@x.com"])
    removed = (
        await api.data(
            REMOVE_ENTRIES,
            {"input": {"scope": "PERSONAL", "patterns": ["gone@x.com"]}},
            token=viewer.token,
        )
    )["removeNeverLogEntries"]
    imported = (
        await api.data(
            IMPORT_LIST, {"input": {"scope": "PERSONAL", "csv": "file@x.com\n"}}, token=viewer.token
        )
    )["importNeverLogList"]
    data = await api.data(PERSONAL_LIST, token=viewer.token)
    # then
    for payload in (added, removed, imported):
        assert_no_user_errors(payload)
    personal = data["neverLogList"]
    assert personal["scope"] == "PERSONAL"
    assert personal["owner"] == {"id": viewer.user_id}
    assert [e["node"]["pattern"] for e in personal["entries"]["edges"]] == [
        "file@x.com",
        "mine@x.com",
    ]


@pytest.mark.parametrize("role", ROLES)
async def test_everyone_reads_the_account_wide_list(api: Api, role: str) -> None:
    # given
    admin = await api.new_account()
    viewer = await member_with_role(api, admin, role)
    assert_no_user_errors(await add_entries(api, admin, ["*@lawyers.com"], scope="ACCOUNT"))
    # when
    data = await api.data(
        "{ neverLogList(scope: ACCOUNT) { scope owner { id } count } }", token=viewer.token
    )
    # then
    assert data["neverLogList"] == {"scope": "ACCOUNT", "owner": None, "count": 1}
    assert await listed_patterns(api, viewer, scope="ACCOUNT") == ["*@lawyers.com"]


@pytest.mark.parametrize(
    ("mutation", "name", "variables"),
    [
        pytest.param(
            "mutation($input: AddNeverLogEntriesInput!) { addNeverLogEntries(input: $input) "
            "{ list { count } userErrors { field message code } } }",
            "addNeverLogEntries",
            {"scope": "ACCOUNT", "patterns": ["new@x.com"]},
            id="add",
        ),
        pytest.param(
            REMOVE_ENTRIES,
            "removeNeverLogEntries",
            {"scope": "ACCOUNT", "patterns": ["*@lawyers.com"]},
            id="remove",
        ),
        pytest.param(
            IMPORT_LIST,
            "importNeverLogList",
            {"scope": "ACCOUNT", "csv": "new@x.com\n", "mode": "REPLACE"},
            id="import",
        ),
    ],
)
async def test_a_user_may_not_change_the_account_wide_list(
    api: Api, mutation: str, name: str, variables: dict[str, Any]
) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    assert_no_user_errors(await add_entries(api, admin, ["*@lawyers.com"], scope="ACCOUNT"))
    # when
    body = await api.gql(mutation, {"input": variables}, token=user.token)
    # then
    assert "errors" not in body
    payload = body["data"][name]
    assert_user_error(payload, "FORBIDDEN")
    assert payload["list"] is None
    assert await listed_patterns(api, admin, scope="ACCOUNT") == ["*@lawyers.com"]


async def test_a_super_admin_changes_the_account_wide_list(api: Api) -> None:
    # given
    admin = await api.new_account()
    # when
    payload = await add_entries(api, admin, ["*@lawyers.com"], scope="ACCOUNT")
    # then
    assert_no_user_errors(payload)
    assert await listed_patterns(api, admin, scope="ACCOUNT") == ["*@lawyers.com"]


@pytest.mark.parametrize("role", ROLES)
async def test_another_users_personal_list_is_never_visible(api: Api, role: str) -> None:
    # given: a personal entry of someone else, and the viewer's own
    admin = await api.new_account()
    viewer = await member_with_role(api, admin, role)
    other = await api.add_member(admin)
    theirs = await add_entries(api, other, ["their-doctor@x.com"])
    mine = await add_entries(api, viewer, ["my-doctor@x.com"])
    their_id = theirs["added"][0]["id"]
    my_id = mine["added"][0]["id"]
    # when
    personal = await api.data(PERSONAL_LIST, token=viewer.token)
    by_node = await api.data(NODE, {"id": their_id}, token=viewer.token)
    by_nodes = await api.data(NODES, {"ids": [their_id, my_id]}, token=viewer.token)
    # then
    assert personal["neverLogList"]["owner"] == {"id": viewer.user_id}
    assert [e["node"]["pattern"] for e in personal["neverLogList"]["entries"]["edges"]] == [
        "my-doctor@x.com"
    ]
    assert by_node == {"node": None}
    assert by_nodes == {"nodes": [None, {"__typename": "NeverLogEntry", "id": my_id}]}


@pytest.mark.parametrize("role", ROLES)
async def test_another_users_personal_entry_cannot_be_removed(api: Api, role: str) -> None:
    # given
    admin = await api.new_account()
    viewer = await member_with_role(api, admin, role)
    other = await api.add_member(admin)
    their_id = (await add_entries(api, other, ["their-doctor@x.com"]))["added"][0]["id"]
    # when
    payload = (
        await api.data(
            REMOVE_ENTRIES, {"input": {"scope": "PERSONAL", "ids": [their_id]}}, token=viewer.token
        )
    )["removeNeverLogEntries"]
    # then
    assert_user_error(payload, "NOT_FOUND", ["input", "ids", "0"])
    assert await listed_patterns(api, other) == ["their-doctor@x.com"]


# -- users ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
async def test_everyone_lists_the_accounts_users(api: Api, role: str) -> None:
    # given
    admin = await api.new_account()
    viewer = await member_with_role(api, admin, role)
    colleague = await api.add_member(admin)
    # when
    data = await api.data(USERS, token=viewer.token)
    # then
    ids = {e["node"]["id"] for e in data["users"]["edges"]}
    assert {admin.user_id, viewer.user_id, colleague.user_id} == ids
    assert data["users"]["totalCount"] == len(ids)


async def test_a_user_may_not_add_users(api: Api) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    # when
    payload = (
        await api.data(
            ADD_USER, {"input": {"email": "new@acme-corp.com", "name": "New"}}, token=user.token
        )
    )["addUser"]
    # then
    assert_user_error(payload, "FORBIDDEN")
    assert payload["user"] is None
    emails = [
        e["node"]["email"] for e in (await api.data(USERS, token=admin.token))["users"]["edges"]
    ]
    assert "new@acme-corp.com" not in emails


async def test_a_super_admin_adds_users(api: Api) -> None:
    # given
    admin = await api.new_account()
    # when
    payload = (
        await api.data(
            ADD_USER,
            {"input": {"email": "Boss@Acme-Corp.com", "name": "Boss", "role": "SUPER_ADMIN"}},
            token=admin.token,
        )
    )["addUser"]
    # then
    assert_no_user_errors(payload)
    assert payload["user"]["role"] == "SUPER_ADMIN"
    assert payload["user"]["active"] is True
    assert await user_of(api, admin, payload["user"]["id"]) == payload["user"]


@pytest.mark.parametrize(
    ("mutation", "name", "variables"),
    [
        pytest.param(UPDATE_ROLE, "updateUserRole", {"role": "SUPER_ADMIN"}, id="promote-someone"),
        pytest.param(DEACTIVATE, "deactivateUser", {}, id="deactivate-someone"),
    ],
)
async def test_a_user_may_not_change_roles_or_deactivate(
    api: Api, mutation: str, name: str, variables: dict[str, Any]
) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    colleague = await api.add_member(admin)
    # when
    payload = (
        await api.data(
            mutation, {"input": {"userId": colleague.user_id, **variables}}, token=user.token
        )
    )[name]
    # then
    assert_user_error(payload, "FORBIDDEN")
    assert payload["user"] is None
    assert await user_of(api, admin, colleague.user_id) == {
        "id": colleague.user_id,
        "email": colleague.email,
        "role": "USER",
        "active": True,
    }


async def test_a_user_may_not_promote_themselves(api: Api) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    # when
    payload = (
        await api.data(
            UPDATE_ROLE,
            {"input": {"userId": user.user_id, "role": "SUPER_ADMIN"}},
            token=user.token,
        )
    )["updateUserRole"]
    # then
    assert_user_error(payload, "FORBIDDEN")
    assert (await user_of(api, admin, user.user_id))["role"] == "USER"


async def test_a_super_admin_changes_roles_and_deactivates_users(api: Api) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    other = await api.add_member(admin)
    # when
    promoted = (
        await api.data(
            UPDATE_ROLE,
            {"input": {"userId": user.user_id, "role": "SUPER_ADMIN"}},
            token=admin.token,
        )
    )["updateUserRole"]
    deactivated = (
        await api.data(DEACTIVATE, {"input": {"userId": other.user_id}}, token=admin.token)
    )["deactivateUser"]
    # then
    assert_no_user_errors(promoted)
    assert_no_user_errors(deactivated)
    assert (await user_of(api, admin, user.user_id))["role"] == "SUPER_ADMIN"
    assert (await user_of(api, admin, other.user_id))["active"] is False


@pytest.mark.parametrize(
    ("mutation", "name", "variables"),
    [
        pytest.param(UPDATE_ROLE, "updateUserRole", {"role": "USER"}, id="demote"),
        pytest.param(DEACTIVATE, "deactivateUser", {}, id="deactivate"),
    ],
)
async def test_the_last_active_super_admin_stays(
    api: Api, mutation: str, name: str, variables: dict[str, Any]
) -> None:
    # given: one super admin, and another who was deactivated
    admin = await api.new_account()
    former = await api.add_member(admin, role="SUPER_ADMIN")
    assert_no_user_errors(
        (await api.data(DEACTIVATE, {"input": {"userId": former.user_id}}, token=admin.token))[
            "deactivateUser"
        ]
    )
    # when
    payload = (
        await api.data(
            mutation, {"input": {"userId": admin.user_id, **variables}}, token=admin.token
        )
    )[name]
    # then
    error = assert_user_error(payload, "LAST_SUPER_ADMIN", ["input", "userId"])
    assert admin.email in error["message"]
    assert await user_of(api, admin, admin.user_id) == {
        "id": admin.user_id,
        "email": admin.email,
        "role": "SUPER_ADMIN",
        "active": True,
    }


@pytest.mark.parametrize(
    ("mutation", "name", "variables", "after"),
    [
        pytest.param(
            UPDATE_ROLE,
            "updateUserRole",
            {"role": "USER"},
            {"role": "USER", "active": True},
            id="demote",
        ),
        pytest.param(
            DEACTIVATE,
            "deactivateUser",
            {},
            {"role": "SUPER_ADMIN", "active": False},
            id="deactivate",
        ),
    ],
)
async def test_a_super_admin_may_step_down_where_another_remains(
    api: Api, mutation: str, name: str, variables: dict[str, Any], after: dict[str, Any]
) -> None:
    # given
    admin = await api.new_account()
    second = await api.add_member(admin, role="SUPER_ADMIN")
    # when
    payload = (
        await api.data(
            mutation, {"input": {"userId": admin.user_id, **variables}}, token=admin.token
        )
    )[name]
    # then
    assert_no_user_errors(payload)
    user = await user_of(api, second, admin.user_id)
    assert {"role": user["role"], "active": user["active"]} == after


async def test_the_second_to_last_super_admin_cannot_remove_the_last_one_after_stepping_down(
    api: Api,
) -> None:
    # given: two super admins; one is demoted
    admin = await api.new_account()
    second = await api.add_member(admin, role="SUPER_ADMIN")
    assert_no_user_errors(
        (
            await api.data(
                UPDATE_ROLE,
                {"input": {"userId": admin.user_id, "role": "USER"}},
                token=second.token,
            )
        )["updateUserRole"]
    )
    # when
    payload = (
        await api.data(DEACTIVATE, {"input": {"userId": second.user_id}}, token=second.token)
    )["deactivateUser"]
    # then
    assert_user_error(payload, "LAST_SUPER_ADMIN")
    assert (await user_of(api, second, second.user_id))["active"] is True


@pytest.mark.parametrize(
    "spelling",
    ["{email}", "{upper}", "{capitalized}", "  {upper}  "],
)
async def test_an_email_address_is_taken_whatever_its_case(api: Api, spelling: str) -> None:
    # given
    admin = await api.new_account()
    existing = await api.add_member(admin, email="jane.doe@acme-corp.com")
    email = spelling.format(
        email=existing.email, upper=existing.email.upper(), capitalized="Jane.Doe@Acme-Corp.com"
    )
    # when
    payload = (
        await api.data(ADD_USER, {"input": {"email": email, "name": "Jane"}}, token=admin.token)
    )["addUser"]
    # then
    assert_user_error(payload, "EMAIL_TAKEN", ["input", "email"])
    total = (await api.data(USERS, token=admin.token))["users"]["totalCount"]
    assert total == 2


async def test_concurrent_adds_of_one_address_make_one_user(api: Api) -> None:
    # given: five addresses, each asked for four times at once in different cases
    admin = await api.new_account()
    spellings = [
        spelling
        for n in range(5)
        for spelling in (
            f"sam{n}@acme-corp.com",
            f"SAM{n}@acme-corp.com",
            f"Sam{n}@Acme-Corp.com",
            f"sAm{n}@ACME-CORP.COM",
        )
    ]
    # when
    bodies = await asyncio.gather(
        *(
            api.gql(ADD_USER, {"input": {"email": email, "name": "Sam"}}, token=admin.token)
            for email in spellings
        )
    )
    # then
    for body in bodies:
        assert "errors" not in body, body
    codes = sorted(user_error_codes(body["data"]["addUser"]) for body in bodies)
    assert codes == [[]] * 5 + [["EMAIL_TAKEN"]] * 15
    assert (await api.data(USERS, token=admin.token))["users"]["totalCount"] == 6


async def test_an_email_address_may_be_used_in_another_account(api: Api) -> None:
    # given
    admin = await api.new_account()
    other_admin = await api.new_account("Other")
    await api.add_member(admin, email="jane.doe@acme-corp.com")
    # when
    payload = (
        await api.data(
            ADD_USER,
            {"input": {"email": "jane.doe@acme-corp.com", "name": "Jane"}},
            token=other_admin.token,
        )
    )["addUser"]
    # then
    assert_no_user_errors(payload)


@pytest.mark.parametrize(
    "email",
    [
        "not-an-address",
        "jane@",
        "@acme.com",
        "jane doe@acme.com",
        "jane@localhost",
        "jane@@acme.com",
        "",
    ],
)
async def test_a_bad_user_email_is_an_invalid_address(api: Api, email: str) -> None:
    # given
    admin = await api.new_account()
    # when
    payload = (
        await api.data(ADD_USER, {"input": {"email": email, "name": "Jane"}}, token=admin.token)
    )["addUser"]
    # then
    assert_user_error(payload, "INVALID_ADDRESS", ["input", "email"])
    assert (await api.data(USERS, token=admin.token))["users"]["totalCount"] == 1


# -- audit events and API tokens ------------------------------------------------------------


async def test_a_user_sees_only_their_own_audit_events(api: Api) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    colleague = await api.add_member(admin)
    assert_no_user_errors(await add_entries(api, user, ["mine@x.com"]))
    assert_no_user_errors(await add_entries(api, colleague, ["theirs@x.com"]))
    assert_no_user_errors(await add_entries(api, admin, ["*@acme.com"], scope="ACCOUNT"))
    # when
    data = await api.data(AUDIT, token=user.token)
    # then: their change, and their accepting the invitation that gave them their token
    # (two events of one transaction, in either order)
    events = [e["node"] for e in data["auditEvents"]["edges"]]
    assert events[0] == {
        "action": "NEVER_LOG_ENTRIES_ADDED",
        "actor": {"id": user.user_id},
        "patterns": ["mine@x.com"],
    }
    assert sorted(events[1:], key=lambda e: e["action"]) == [
        {"action": "API_TOKEN_CREATED", "actor": {"id": user.user_id}, "patterns": []},
        {"action": "INVITATION_ACCEPTED", "actor": {"id": user.user_id}, "patterns": []},
    ]


async def test_a_super_admin_sees_the_whole_accounts_audit_events(api: Api) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    assert_no_user_errors(await add_entries(api, user, ["mine@x.com"]))
    assert_no_user_errors(await add_entries(api, admin, ["*@acme.com"], scope="ACCOUNT"))
    # when
    data = await api.data(AUDIT, token=admin.token)
    # then
    events = [e["node"] for e in data["auditEvents"]["edges"]]
    assert events[:2] == [
        {
            "action": "NEVER_LOG_ENTRIES_ADDED",
            "actor": {"id": admin.user_id},
            "patterns": ["*@acme.com"],
        },
        {
            # another user's personal list: the change is there, its patterns are not
            "action": "NEVER_LOG_ENTRIES_ADDED",
            "actor": {"id": user.user_id},
            "patterns": [],
        },
    ]
    assert {e["action"] for e in events[2:]} == {
        "USER_ADDED",
        "USER_INVITED",
        "INVITATION_ACCEPTED",
        "API_TOKEN_CREATED",
    }


async def test_a_user_sees_only_their_own_api_tokens(api: Api) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    await api.add_member(admin)
    # when
    tokens = (await api.data(TOKENS, token=user.token))["apiTokens"]
    everyone = (await api.data(TOKENS, token=admin.token))["apiTokens"]
    # then
    assert [t["user"]["id"] for t in tokens] == [user.user_id]
    assert len(everyone) == 3
    assert user.user_id in {t["user"]["id"] for t in everyone}
    assert admin.user_id in {t["user"]["id"] for t in everyone}


async def test_a_user_may_not_see_or_revoke_another_users_token(api: Api) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    [admin_token_id] = [
        t["id"]
        for t in (await api.data(TOKENS, token=admin.token))["apiTokens"]
        if t["user"]["id"] == admin.user_id
    ]
    # when
    node = await api.data(NODE, {"id": admin_token_id}, token=user.token)
    revoked = (await api.data(REVOKE_TOKEN, {"input": {"id": admin_token_id}}, token=user.token))[
        "revokeApiToken"
    ]
    # then
    assert node == {"node": None}
    assert_user_error(revoked, "NOT_FOUND")
    assert (await api.data("{ viewer { user { id } } }", token=admin.token))["viewer"]["user"][
        "id"
    ] == admin.user_id


async def test_a_super_admin_sees_and_revokes_a_users_token(api: Api) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    [user_token] = (await api.data(TOKENS, token=user.token))["apiTokens"]
    # when
    node = await api.data(NODE, {"id": user_token["id"]}, token=admin.token)
    revoked = (
        await api.data(REVOKE_TOKEN, {"input": {"id": user_token["id"]}}, token=admin.token)
    )["revokeApiToken"]
    # then
    assert node == {"node": {"__typename": "ApiToken", "id": user_token["id"]}}
    assert_no_user_errors(revoked)
    assert revoked["apiToken"]["revokedAt"] is not None


async def test_a_user_creates_tokens_for_themselves_only(api: Api) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    colleague = await api.add_member(admin)
    # when
    own = (await api.data(CREATE_TOKEN, {"input": {"name": "mine"}}, token=user.token))[
        "createApiToken"
    ]
    named_self = (
        await api.data(
            CREATE_TOKEN, {"input": {"name": "mine too", "userId": user.user_id}}, token=user.token
        )
    )["createApiToken"]
    for_colleague = (
        await api.data(
            CREATE_TOKEN,
            {"input": {"name": "theirs", "userId": colleague.user_id}},
            token=user.token,
        )
    )["createApiToken"]
    # then
    assert_no_user_errors(own)
    assert_no_user_errors(named_self)
    assert own["apiToken"]["user"] == {"id": user.user_id}
    assert named_self["apiToken"]["user"] == {"id": user.user_id}
    assert_user_error(for_colleague, "FORBIDDEN")
    assert for_colleague["token"] is None
    colleague_tokens = (await api.data(TOKENS, token=colleague.token))["apiTokens"]
    assert [t["name"] for t in colleague_tokens] == ["test"]


async def test_a_super_admin_may_not_create_tokens_for_other_users(api: Api) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    # when
    created = (
        await api.data(
            CREATE_TOKEN, {"input": {"name": "for you", "userId": user.user_id}}, token=admin.token
        )
    )["createApiToken"]
    # then: personal lists are private from super admins, and so are the tokens that read them
    assert_user_error(created, "FORBIDDEN")
    assert created["token"] is None and created["apiToken"] is None
    user_tokens = (await api.data(TOKENS, token=user.token))["apiTokens"]
    assert [t["name"] for t in user_tokens] == ["test"]
    admin_tokens = (await api.data(TOKENS, token=admin.token))["apiTokens"]
    assert "for you" not in {t["name"] for t in admin_tokens}


@pytest.mark.parametrize(
    ("mutation", "name", "variables"),
    [
        pytest.param(UPDATE_ROLE, "updateUserRole", {"role": "USER"}, id="demote"),
        pytest.param(DEACTIVATE, "deactivateUser", {}, id="deactivate"),
    ],
)
async def test_two_super_admins_removing_each_other_at_once_leave_one(
    api: Api, mutation: str, name: str, variables: dict[str, Any]
) -> None:
    # given: six accounts, each with two super admins
    pairs = []
    for _ in range(6):
        first = await api.new_account()
        pairs.append((first, await api.add_member(first, role="SUPER_ADMIN")))
    # when: in every account, each removes the other at the same time
    bodies = await asyncio.gather(
        *(
            api.gql(mutation, {"input": {"userId": them.user_id, **variables}}, token=me.token)
            for first, second in pairs
            for me, them in ((first, second), (second, first))
        )
    )
    # then
    for body in bodies:
        assert "errors" not in body, body
    for (first, second), answers in zip(
        pairs, zip(bodies[::2], bodies[1::2], strict=True), strict=True
    ):
        codes = sorted(user_error_codes(body["data"][name]) for body in answers)
        # the second to run is no longer a super admin when it runs: refused as such
        assert codes == [[], ["FORBIDDEN"]]
        survivor = first if answers[0]["data"][name]["userErrors"] == [] else second
        admins = await api.data(
            "{ users(role: SUPER_ADMIN) { edges { node { id } } } }", token=survivor.token
        )
        assert admins["users"]["edges"] == [{"node": {"id": survivor.user_id}}]
