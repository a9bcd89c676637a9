"""API tokens: bearer secrets shown once, revocable, dead once their user is deactivated;
without a valid token only __typename and introspection answer."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from tests.helpers import Api, Member, assert_no_user_errors, assert_user_error, error_codes

VIEWER = "{ viewer { user { id } } }"
TOKENS = "{ apiTokens { id name prefix createdAt lastUsedAt revokedAt user { id } } }"
CREATE_TOKEN = """mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) {
    token apiToken { id name prefix createdAt lastUsedAt revokedAt user { id } }
    userErrors { field message code } } }"""
REVOKE_TOKEN = """mutation($id: ID!) { revokeApiToken(input: {id: $id}) {
    apiToken { id revokedAt } userErrors { field message code } } }"""
DEACTIVATE = """mutation($id: ID!) { deactivateUser(input: {userId: $id}) {
    user { active } userErrors { field message code } } }"""


async def create_token(
    api: Api, member: Member, name: str, user_id: str | None = None
) -> dict[str, Any]:
    data = await api.data(
        CREATE_TOKEN, {"input": {"name": name, "userId": user_id}}, token=member.token
    )
    payload: dict[str, Any] = data["createApiToken"]
    assert_no_user_errors(payload)
    return payload


async def post_with_header(api: Api, query: str, authorization: str) -> httpx.Response:
    return await api.client.post(
        "/graphql", json={"query": query}, headers={"Authorization": authorization}
    )


def assert_invalid_token(response: httpx.Response, sent: str | None = None) -> None:
    """HTTP 401, the Bearer challenge naming invalid_token, and UNAUTHENTICATED with a
    message saying that the token is not valid (not the "sign in first" of no token)."""
    assert response.status_code == 401, (sent, response.text)
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    body = response.json()
    assert error_codes(body) == ["UNAUTHENTICATED"], body
    assert "data" not in body, body
    message = body["errors"][0]["message"]
    assert message.startswith("The token is not valid"), message
    assert "Sign in first" not in message


def assert_unauthenticated(body: dict[str, Any]) -> None:
    """Every field asked for failed with UNAUTHENTICATED and answered nothing."""
    assert error_codes(body) == ["UNAUTHENTICATED"], body
    assert body["data"] is None or set(body["data"].values()) == {None}, body


async def test_a_token_signs_its_user_in(api: Api) -> None:
    # given
    admin = await api.new_account()
    created = await create_token(api, admin, "laptop")
    # when
    data = await api.data(VIEWER, token=created["token"])
    # then
    assert data == {"viewer": {"user": {"id": admin.user_id}}}


@pytest.mark.parametrize("revoker", ["owner", "super admin"])
async def test_a_revoked_token_stops_working_on_the_next_request(api: Api, revoker: str) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    spare = await create_token(api, user, "spare")
    [user_token_id] = [
        t["id"]
        for t in (await api.data(TOKENS, token=user.token))["apiTokens"]
        if t["name"] == "test"
    ]
    # when
    revoked = (
        await api.data(
            REVOKE_TOKEN,
            {"id": user_token_id},
            token=user.token if revoker == "owner" else admin.token,
        )
    )["revokeApiToken"]
    response = await api.post(VIEWER, token=user.token)
    # then
    assert_no_user_errors(revoked)
    assert revoked["apiToken"]["revokedAt"] is not None
    assert_invalid_token(response)
    assert (await api.data(VIEWER, token=spare["token"]))["viewer"]["user"]["id"] == user.user_id
    tokens = {t["id"]: t for t in (await api.data(TOKENS, token=spare["token"]))["apiTokens"]}
    assert tokens[user_token_id]["revokedAt"] == revoked["apiToken"]["revokedAt"]


async def test_revoking_a_revoked_token_changes_nothing(api: Api) -> None:
    # given
    admin = await api.new_account()
    created = await create_token(api, admin, "old")
    first = (await api.data(REVOKE_TOKEN, {"id": created["apiToken"]["id"]}, token=admin.token))[
        "revokeApiToken"
    ]
    # when
    second = (await api.data(REVOKE_TOKEN, {"id": created["apiToken"]["id"]}, token=admin.token))[
        "revokeApiToken"
    ]
    # then
    assert_no_user_errors(second)
    assert second["apiToken"]["revokedAt"] == first["apiToken"]["revokedAt"]
    assert_invalid_token(await api.post(VIEWER, token=created["token"]))


async def test_a_deactivated_users_tokens_stop_working(api: Api) -> None:
    # given: a user with two tokens
    admin = await api.new_account()
    user = await api.add_member(admin)
    second = await create_token(api, user, "second")
    # when
    deactivated = (await api.data(DEACTIVATE, {"id": user.user_id}, token=admin.token))[
        "deactivateUser"
    ]
    # then
    assert_no_user_errors(deactivated)
    assert_invalid_token(await api.post(VIEWER, token=user.token))
    assert_invalid_token(await api.post(VIEWER, token=second["token"]))
    assert (await api.data(VIEWER, token=admin.token))["viewer"]["user"]["id"] == admin.user_id


async def test_a_deactivated_user_cannot_get_a_new_token(api: Api) -> None:
    # given a user added (their code not yet accepted), then deactivated
    admin = await api.new_account()
    added = (
        await api.data(
            """mutation { addUser(input: {email: "gone@acme-corp.com", name: "Gone"}) {
                user { id } invitationCode userErrors { code } } }""",
            token=admin.token,
        )
    )["addUser"]
    assert_no_user_errors(
        (await api.data(DEACTIVATE, {"id": added["user"]["id"]}, token=admin.token))[
            "deactivateUser"
        ]
    )
    # when a new code is asked for, and the first one is tried
    invited = (
        await api.data(
            """mutation($id: ID!) { inviteUser(input: {userId: $id}) {
                invitationCode userErrors { field message code } } }""",
            {"id": added["user"]["id"]},
            token=admin.token,
        )
    )["inviteUser"]
    accepted = (
        await api.data(
            """mutation($code: String!) { acceptInvitation(input: {code: $code}) {
                token userErrors { field message code } } }""",
            {"code": added["invitationCode"]},
        )
    )["acceptInvitation"]
    # then
    assert_user_error(invited, "INVALID_INPUT", ["input", "userId"])
    assert invited["invitationCode"] is None
    assert_user_error(accepted, "INVALID_INPUT", ["input", "code"])
    assert accepted["token"] is None


async def test_a_token_is_shown_once_and_only_its_prefix_after(api: Api) -> None:
    # given
    admin = await api.new_account()
    # when
    created = await create_token(api, admin, "ci")
    listed = await api.post(TOKENS, token=admin.token)
    node = await api.post(
        "query($id: ID!) { node(id: $id) { ... on ApiToken { id name prefix } } }",
        {"id": created["apiToken"]["id"]},
        token=admin.token,
    )
    # then
    secret: str = created["token"]
    prefix: str = created["apiToken"]["prefix"]
    assert secret.startswith(prefix)
    assert 0 < len(prefix) <= len(secret) // 4
    assert secret not in listed.text
    assert secret not in node.text
    [shown] = [
        t for t in listed.json()["data"]["apiTokens"] if t["id"] == created["apiToken"]["id"]
    ]
    assert shown == created["apiToken"]
    assert node.json()["data"]["node"] == {
        "id": created["apiToken"]["id"],
        "name": "ci",
        "prefix": prefix,
    }


async def test_every_token_is_a_different_secret(api: Api) -> None:
    # given
    admin = await api.new_account()
    # when
    secrets = [(await create_token(api, admin, f"t{n}"))["token"] for n in range(3)]
    # then
    assert len(set(secrets)) == 3
    assert admin.token not in secrets


async def test_last_used_at_is_set_once_the_token_is_used(api: Api) -> None:
    # given
    admin = await api.new_account()
    created = await create_token(api, admin, "unused")
    assert created["apiToken"]["lastUsedAt"] is None
    before = (await api.data(TOKENS, token=admin.token))["apiTokens"]
    assert next(t for t in before if t["id"] == created["apiToken"]["id"])["lastUsedAt"] is None
    # when
    await api.data(VIEWER, token=created["token"])
    # then
    after = (await api.data(TOKENS, token=admin.token))["apiTokens"]
    used = next(t for t in after if t["id"] == created["apiToken"]["id"])
    assert used["lastUsedAt"] is not None
    created_at = dt.datetime.fromisoformat(used["createdAt"])
    last_used_at = dt.datetime.fromisoformat(used["lastUsedAt"])
    assert last_used_at.tzinfo is not None
    assert created_at <= last_used_at <= dt.datetime.now(dt.UTC)


def _malformed(token: str) -> list[str]:
    """Authorization headers that must not sign anyone in, given one valid token."""
    secret, account = token.removeprefix("nl_").split("_")
    return [
        "Bearer garbage",
        "Bearer ",
        "Bearer",
        f"Bearer{token}",
        token,
        f"Basic {token}",
        f"Token {token}",
        f"Bearer {token}x",
        f"Bearer {token[:-1]}",
        f"Bearer {token} {token}",
        f"Bearer {token.upper()}",
        f"Bearer nl_{'0' * 48}_{account}",
        f"Bearer nl_{secret}_{'0' * 32}",
        f"Bearer nl_{secret}_{account[:-4]}zzzz",
        f"Bearer nl_{secret}",
        "Bearer nl__",
        "Bearer ' OR 1=1 --",
        f"Bearer {'a' * 10_000}",
    ]


async def test_garbage_and_malformed_authorization_headers_do_not_sign_in(api: Api) -> None:
    # given
    admin = await api.new_account()
    headers = _malformed(admin.token)
    # when
    responses = [await post_with_header(api, VIEWER, header) for header in headers]
    # then
    for header, response in zip(headers, responses, strict=True):
        assert_invalid_token(response, header)
        assert admin.token not in response.text
    assert (await api.data(VIEWER, token=admin.token))["viewer"]["user"]["id"] == admin.user_id


async def test_the_bearer_scheme_is_case_insensitive(api: Api) -> None:
    # given
    admin = await api.new_account()
    # when
    response = await post_with_header(api, VIEWER, f"bearer {admin.token}")
    # then
    assert response.json()["data"] == {"viewer": {"user": {"id": admin.user_id}}}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("{ __typename }", {"__typename": "Query"}, id="typename"),
        pytest.param(
            "{ __schema { queryType { name } mutationType { name } } }",
            {"__schema": {"queryType": {"name": "Query"}, "mutationType": {"name": "Mutation"}}},
            id="introspection",
        ),
        pytest.param(
            '{ __type(name: "Role") { enumValues { name } } }',
            {"__type": {"enumValues": [{"name": "SUPER_ADMIN"}, {"name": "USER"}]}},
            id="type-introspection",
        ),
        pytest.param("mutation { __typename }", {"__typename": "Mutation"}, id="mutation-typename"),
    ],
)
@pytest.mark.parametrize("authorization", [None, ""])
async def test_without_a_token_typename_and_introspection_answer(
    api: Api, query: str, expected: dict[str, Any], authorization: str | None
) -> None:
    # when (an empty Authorization header is no token)
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = await api.client.post("/graphql", json={"query": query}, headers=headers)
    # then
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body, body
    assert body["data"] == expected


@pytest.mark.parametrize("query", ["{ __typename }", "{ __schema { queryType { name } } }"])
async def test_a_bad_token_is_refused_even_where_no_token_would_answer(
    api: Api, query: str
) -> None:
    # when
    response = await post_with_header(api, query, "Bearer garbage")
    # then: the client learns that its token is wrong, rather than getting anonymous answers
    assert_invalid_token(response)


@pytest.mark.parametrize(
    "query",
    [
        "{ viewer { user { id } } }",
        "{ users { totalCount } }",
        "{ neverLogList(scope: ACCOUNT) { count } }",
        "{ neverLogList(scope: PERSONAL) { count } }",
        "{ auditEvents { totalCount } }",
        "{ apiTokens { id } }",
        '{ node(id: "x") { id } }',
        '{ nodes(ids: ["x"]) { id } }',
        'mutation { addNeverLogEntries(input: {scope: PERSONAL, patterns: ["a@x.com"]}) { added { id } } }',
        'mutation { createApiToken(input: {name: "mine"}) { token } }',
        'mutation { addUser(input: {email: "a@acme.com", name: "A"}) { user { id } } }',
    ],
)
async def test_without_a_token_every_other_field_is_unauthenticated(api: Api, query: str) -> None:
    # when
    body = await api.gql(query)
    # then
    assert_unauthenticated(body)
