"""Invitations, on both databases: a super admin never holds another user's token. Adding a
user answers a one-time code; the user accepts it without a token and is shown their first
token, once. A code works once, for 7 days, while its user is active; every code that does
not work gets the same words in the same time; attempts are limited per client address."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from persistence.database import Database
from persistence.tables import Invitation
from policy.errors import Refusal
from schema.ids import decode_id
from tenancy import invitations
from tenancy.invitations import INVALID_CODE, invite_by_email
from tests.helpers import (
    Api,
    Member,
    assert_no_user_errors,
    assert_top_level_error,
    assert_user_error,
    error_codes,
)
from tests.live_server import run_cli_here

ADD_USER = """mutation($input: AddUserInput!) { addUser(input: $input) {
    user { id email hasSignedIn } invitationCode userErrors { field message code } } }"""
INVITE = """mutation($id: ID!) { inviteUser(input: {userId: $id}) {
    invitationCode user { id hasSignedIn } userErrors { field message code } } }"""
ACCEPT = """mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) {
    token apiToken { id name prefix user { id email hasSignedIn } }
    userErrors { field message code } } }"""
USERS = "{ users(first: 100) { edges { node { id email hasSignedIn } } } }"
TOKENS = "{ apiTokens { id name prefix user { id } } }"
AUDIT = """{ auditEvents(first: 50) { edges { node {
    action summary actor { id } subjectUser { id } } } } }"""
VIEWER = "{ viewer { user { id email hasSignedIn } } }"
# A floor that a refused code cannot beat: well above a look-up's few milliseconds.
FLOOR = 0.15


@pytest.fixture
async def floored(make_api: Callable[..., Api]) -> AsyncIterator[Api]:
    api = make_api(invitation_answer_seconds=FLOOR)
    yield api
    await api.close()


async def add_user(api: Api, admin: Member, email: str, role: str = "USER") -> dict[str, Any]:
    data = await api.data(
        ADD_USER, {"input": {"email": email, "name": "Sam", "role": role}}, token=admin.token
    )
    payload: dict[str, Any] = data["addUser"]
    assert_no_user_errors(payload)
    return payload


async def accept(
    api: Api, code: str, *, token: str | None = None, client: httpx.AsyncClient | None = None
) -> dict[str, Any]:
    """acceptInvitation's whole answer (no token unless given)."""
    body = {"query": ACCEPT, "variables": {"input": {"code": code, "tokenName": "laptop"}}}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await (client or api.client).post("/graphql", json=body, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def payload_of(answer: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in answer, answer["errors"]
    payload: dict[str, Any] = answer["data"]["acceptInvitation"]
    return payload


async def invitation_rows(db: Database, account_id: str) -> list[Invitation]:
    account = decode_id(account_id, "Account")
    async with db.transaction(account) as session:
        return list(await session.scalars(sa.select(Invitation)))


# -- adding and accepting -----------------------------------------------------------------


async def test_a_new_user_accepts_their_code_and_alone_holds_their_token(api: Api) -> None:
    # given a user just added: not signed in, and a code for them
    admin = await api.new_account()
    added = await add_user(api, admin, "sam@acme-corp.com")
    code = added["invitationCode"]
    assert added["user"]["hasSignedIn"] is False
    # when they accept it, without a token
    payload = payload_of(await accept(api, code))
    # then they are shown their token, which signs them in as themselves
    assert_no_user_errors(payload)
    token = payload["token"]
    assert payload["apiToken"]["name"] == "laptop"
    assert payload["apiToken"]["user"] == {
        "id": added["user"]["id"],
        "email": "sam@acme-corp.com",
        "hasSignedIn": True,
    }
    viewer = await api.data(VIEWER, token=token)
    assert viewer["viewer"]["user"]["email"] == "sam@acme-corp.com"
    # and the super admin sees that they signed in, and their token's prefix, never the token
    users = {
        n["node"]["email"]: n["node"]["hasSignedIn"]
        for n in (await api.data(USERS, token=admin.token))["users"]["edges"]
    }
    assert users == {admin.email: True, "sam@acme-corp.com": True}
    listed = await api.post(TOKENS, token=admin.token)
    assert token not in listed.text
    assert payload["apiToken"]["prefix"] in listed.text


async def test_a_code_has_128_bits_at_least_and_is_stored_only_as_a_hash(api: Api) -> None:
    # given
    admin = await api.new_account()
    # when
    codes = [(await add_user(api, admin, f"u{n}@acme-corp.com"))["invitationCode"] for n in (1, 2)]
    # then: 40 random hex digits (160 bits) beside the account's id, each code its own
    for code in codes:
        secret = re.fullmatch(r"nli_([0-9a-f]+)_[0-9a-f]{32}", code)
        assert secret is not None and len(secret.group(1)) * 4 >= 128, code
    assert codes[0] != codes[1]
    rows = await invitation_rows(api.db, admin.account_id)
    stored = json.dumps([r.model_dump(mode="json") for r in rows])
    for code in codes:
        assert code not in stored and code.split("_")[1] not in stored
    # and each works for 7 days
    assert {r.expires_at - r.created_at for r in rows} == {dt.timedelta(days=7)}


async def test_a_code_accepted_twice_gives_one_token(api: Api) -> None:
    # given a code accepted once
    admin = await api.new_account()
    added = await add_user(api, admin, "sam@acme-corp.com")
    first = payload_of(await accept(api, added["invitationCode"]))
    assert_no_user_errors(first)
    # when it is accepted again
    second = payload_of(await accept(api, added["invitationCode"]))
    # then
    error = assert_user_error(second, "INVALID_INPUT", ["input", "code"])
    assert error["message"] == INVALID_CODE
    assert second["token"] is None
    tokens = (await api.data(TOKENS, token=first["token"]))["apiTokens"]
    assert [t["name"] for t in tokens] == ["laptop"]


async def test_a_code_accepted_twice_at_once_gives_one_token(api: Api) -> None:
    # given
    admin = await api.new_account()
    added = await add_user(api, admin, "sam@acme-corp.com")
    # when two callers accept it at the same moment
    answers = await asyncio.gather(*(accept(api, added["invitationCode"]) for _ in range(4)))
    # then exactly one gets a token
    tokens = [payload_of(a)["token"] for a in answers]
    assert len([t for t in tokens if t]) == 1, answers
    everyone = (await api.data(TOKENS, token=admin.token))["apiTokens"]
    assert len([t for t in everyone if t["user"]["id"] == added["user"]["id"]]) == 1


async def test_accepting_is_audited_with_the_user_as_actor(api: Api) -> None:
    # given
    admin = await api.new_account()
    added = await add_user(api, admin, "sam@acme-corp.com")
    user_id = added["user"]["id"]
    # when
    assert_no_user_errors(payload_of(await accept(api, added["invitationCode"])))
    # then
    events = [e["node"] for e in (await api.data(AUDIT, token=admin.token))["auditEvents"]["edges"]]
    by_action = {e["action"]: e for e in events}
    assert by_action["USER_INVITED"]["actor"] == {"id": admin.user_id}
    assert by_action["USER_INVITED"]["subjectUser"] == {"id": user_id}
    assert "sam@acme-corp.com was invited" in by_action["USER_INVITED"]["summary"]
    assert by_action["INVITATION_ACCEPTED"]["actor"] == {"id": user_id}
    assert by_action["INVITATION_ACCEPTED"]["subjectUser"] == {"id": user_id}
    assert "accepted their invitation" in by_action["INVITATION_ACCEPTED"]["summary"]
    # no event carries a code
    assert added["invitationCode"] not in json.dumps(events)


# -- inviting again -------------------------------------------------------------------------


async def test_a_new_code_ends_the_earlier_one(api: Api) -> None:
    # given a user who has not signed in
    admin = await api.new_account()
    added = await add_user(api, admin, "sam@acme-corp.com")
    # when a super admin makes a new code
    invited = (await api.data(INVITE, {"id": added["user"]["id"]}, token=admin.token))["inviteUser"]
    # then the first no longer works, the new one does
    assert_no_user_errors(invited)
    assert invited["user"] == {"id": added["user"]["id"], "hasSignedIn": False}
    assert invited["invitationCode"] != added["invitationCode"]
    old = payload_of(await accept(api, added["invitationCode"]))
    assert_user_error(old, "INVALID_INPUT", ["input", "code"])
    assert_no_user_errors(payload_of(await accept(api, invited["invitationCode"])))
    actions = [
        e["node"]["action"]
        for e in (await api.data(AUDIT, token=admin.token))["auditEvents"]["edges"]
    ]
    assert actions.count("USER_INVITED") == 2


async def test_inviting_a_user_who_has_signed_in_is_invalid_input(api: Api) -> None:
    # given a user who accepted their code
    admin = await api.new_account()
    user = await api.add_member(admin)
    # when
    invited = (await api.data(INVITE, {"id": user.user_id}, token=admin.token))["inviteUser"]
    own = (await api.data(INVITE, {"id": admin.user_id}, token=admin.token))["inviteUser"]
    # then
    error = assert_user_error(invited, "INVALID_INPUT", ["input", "userId"])
    assert "signed in" in error["message"]
    assert invited["invitationCode"] is None
    assert_user_error(own, "INVALID_INPUT", ["input", "userId"])


async def test_only_super_admins_invite_and_an_unknown_user_is_not_found(api: Api) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    added = await add_user(api, admin, "sam@acme-corp.com")
    other = await api.new_account("Other")
    stranger = await add_user(api, other, "stranger@other.com")
    # when
    by_user = (await api.data(INVITE, {"id": added["user"]["id"]}, token=user.token))["inviteUser"]
    elsewhere = (await api.data(INVITE, {"id": stranger["user"]["id"]}, token=admin.token))[
        "inviteUser"
    ]
    # then
    assert_user_error(by_user, "FORBIDDEN")
    assert by_user["invitationCode"] is None
    assert_user_error(elsewhere, "NOT_FOUND", ["input", "userId"])
    # and the codes given before still work
    assert_no_user_errors(payload_of(await accept(api, added["invitationCode"])))
    assert_no_user_errors(payload_of(await accept(api, stranger["invitationCode"])))


async def test_createapitoken_naming_another_user_is_forbidden_whoever_they_are(
    api: Api,
) -> None:
    # given a user of the account, one of another account, and an ID that names nobody
    admin = await api.new_account()
    user = await api.add_member(admin)
    stranger = await api.new_account("Other")
    made_up = "VXNlcjowMDAwMDAwMC0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDA"
    # when
    answers = [
        (
            await api.data(
                """mutation($id: ID!) { createApiToken(input: {name: "x", userId: $id}) {
                    token userErrors { field message code } } }""",
                {"id": someone},
                token=admin.token,
            )
        )["createApiToken"]
        for someone in (user.user_id, stranger.user_id, made_up)
    ]
    # then the same refusal for each: nothing tells them apart
    assert answers[0] == answers[1] == answers[2]
    assert_user_error(answers[0], "FORBIDDEN")
    assert answers[0]["token"] is None


# -- codes that do not work ----------------------------------------------------------------


async def test_every_code_that_does_not_work_gets_the_same_words_in_the_same_time(
    floored: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given codes that do not work, each for another reason (and the holds of answers seen)
    api = floored
    held: list[float] = []
    real_hold = invitations.hold

    async def seen_hold(seconds: float) -> None:
        held.append(seconds)
        await real_hold(seconds)

    monkeypatch.setattr(invitations, "hold", seen_hold)
    admin = await api.new_account()
    used = await add_user(api, admin, "used@acme-corp.com")
    assert_no_user_errors(payload_of(await accept(api, used["invitationCode"])))
    superseded = await add_user(api, admin, "superseded@acme-corp.com")
    assert_no_user_errors(
        (await api.data(INVITE, {"id": superseded["user"]["id"]}, token=admin.token))["inviteUser"]
    )
    expired = await add_user(api, admin, "expired@acme-corp.com")
    async with api.db.transaction(decode_id(admin.account_id, "Account"), write=True) as session:
        await session.execute(
            sa.update(Invitation)
            .where(Invitation.user_id == decode_id(expired["user"]["id"], "User"))  # type: ignore[arg-type]
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    deactivated = await add_user(api, admin, "gone@acme-corp.com")
    assert_no_user_errors(
        (
            await api.data(
                "mutation($id: ID!) { deactivateUser(input: {userId: $id}) { userErrors { code } } }",
                {"id": deactivated["user"]["id"]},
                token=admin.token,
            )
        )["deactivateUser"]
    )
    account_hex = used["invitationCode"].rsplit("_", 1)[1]
    codes = {
        "used": used["invitationCode"],
        "superseded": superseded["invitationCode"],
        "expired": expired["invitationCode"],
        "user deactivated": deactivated["invitationCode"],
        "unknown, of the right shape": f"nli_{'0' * 40}_{account_hex}",
        "of an account that does not exist": f"nli_{'0' * 40}_{uuid.uuid4().hex}",
        "malformed": "not a code",
        "empty": "",
        "a token": admin.token,
    }
    # when each is tried
    answers: dict[str, tuple[dict[str, Any], float]] = {}
    for reason, code in codes.items():
        started = time.perf_counter()
        answer = await accept(api, code)
        answers[reason] = (payload_of(answer), time.perf_counter() - started)
    # then the same answer for every one, and none sooner than the floor
    for reason, (payload, took) in answers.items():
        assert payload == {
            "token": None,
            "apiToken": None,
            "userErrors": [
                {"field": ["input", "code"], "message": INVALID_CODE, "code": "INVALID_INPUT"}
            ],
        }, reason
        assert took >= FLOOR, (reason, took)
    assert len(held) == len(codes)
    # while a code that works is not held back (seen at the hold, not timed: a busy machine
    # makes any answer slow)
    fresh = await add_user(api, admin, "fresh@acme-corp.com")
    held.clear()
    assert_no_user_errors(payload_of(await accept(api, fresh["invitationCode"])))
    assert held == []


async def test_attempts_are_limited_per_client_address(make_api: Callable[..., Api]) -> None:
    # given an API that lets an address try 3 codes, and a second client address
    api = make_api(invitation_attempts=3, invitation_answer_seconds=0)
    other = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app, client=("203.0.113.7", 4321)),
        base_url="http://neverlog.local",
    )
    try:
        admin = await api.new_account()
        added = await add_user(api, admin, "sam@acme-corp.com")
        # when one address tries 3 wrong codes, then the right one
        wrong = [await accept(api, f"nli_{'0' * 40}_{uuid.uuid4().hex}") for _ in range(3)]
        limited = await accept(api, added["invitationCode"])
        # and the other address tries the right one
        elsewhere = await accept(api, added["invitationCode"], client=other)
    finally:
        await other.aclose()
        await api.close()
    # then the first address is told to wait, and nothing was accepted for it
    for answer in wrong:
        assert_user_error(payload_of(answer), "INVALID_INPUT", ["input", "code"])
    assert_top_level_error(limited, "RATE_LIMITED")
    assert limited["errors"][0]["extensions"]["retryAfterSeconds"] >= 1
    assert limited["data"] is None
    assert_no_user_errors(payload_of(elsewhere))


# -- without a token -------------------------------------------------------------------------


async def test_without_a_token_only_typename_introspection_and_acceptinvitation_answer(
    api: Api,
) -> None:
    # when
    typename = await api.gql("{ __typename }")
    mutation = await api.gql(
        'mutation { addNeverLogEntries(input: {scope: PERSONAL, patterns: ["a@b.com"]}) { userErrors { code } } }'
    )
    invite = await api.gql('mutation { inviteUser(input: {userId: "x"}) { userErrors { code } } }')
    accepting = await accept(api, "nli_nothing")
    # then
    assert typename["data"] == {"__typename": "Query"}
    assert error_codes(mutation) == ["UNAUTHENTICATED"]
    assert "acceptInvitation" in mutation["errors"][0]["message"]
    assert error_codes(invite) == ["UNAUTHENTICATED"]
    assert_user_error(payload_of(accepting), "INVALID_INPUT", ["input", "code"])


async def test_a_signed_in_caller_may_accept_a_code_but_gets_the_users_token(api: Api) -> None:
    # given a code, in the hands of a super admin who accepts it themself
    admin = await api.new_account()
    added = await add_user(api, admin, "sam@acme-corp.com")
    # when
    payload = payload_of(await accept(api, added["invitationCode"], token=admin.token))
    # then the trail shows it: the code is used, the user's first token was made by accepting
    assert_no_user_errors(payload)
    assert payload["apiToken"]["user"]["id"] == added["user"]["id"]
    again = payload_of(await accept(api, added["invitationCode"]))
    assert_user_error(again, "INVALID_INPUT", ["input", "code"])


# -- the operator's command ----------------------------------------------------------------


async def test_neverlog_invite_prints_a_new_code(api: Api, admin_db: Database) -> None:
    # given a user who has not signed in, and their first code
    admin = await api.new_account()
    added = await add_user(api, admin, "sam@acme-corp.com")
    env = {"NEVERLOG_DATABASE_URL": admin_db.url.render_as_string(hide_password=False)}
    # when the operator asks for a new code (``neverlog invite``'s main, run in this process
    # on a thread of its own: what it does, prints and exits with is the command's, without
    # an interpreter's start)
    printed_out = await asyncio.to_thread(
        run_cli_here, env, "invite", "SAM@acme-corp.com", "--account", admin.account_id
    )
    # and for an address that nobody of the account has (the command's own code, here)
    with pytest.raises(Refusal) as nobody:
        await invite_by_email(
            api.db, account_id=decode_id(admin.account_id, "Account"), email="nobody@acme-corp.com"
        )
    # then one line of JSON with the new code, which works where the first no longer does
    assert len(printed_out.splitlines()) == 1, printed_out
    printed = json.loads(printed_out)
    assert printed["user_id"] == added["user"]["id"]
    assert_user_error(payload_of(await accept(api, added["invitationCode"])), "INVALID_INPUT")
    assert_no_user_errors(payload_of(await accept(api, printed["invitation_code"])))
    assert "nobody@acme-corp.com" in str(nobody.value)
    # and the audit log has the invitation, made by no user
    events = [e["node"] for e in (await api.data(AUDIT, token=admin.token))["auditEvents"]["edges"]]
    assert [e["actor"] for e in events if e["action"] == "USER_INVITED"] == [
        None,
        {"id": admin.user_id},
    ]
