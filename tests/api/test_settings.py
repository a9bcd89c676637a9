"""The account's settings (defaultCapture, skipAutomatedEmails, automatedSenderNames) and a
user's own defaultCapture, through HTTP on every database: who may change them, what is
refused, the audit log and the webhook events."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from policy.automated import DEFAULT_AUTOMATED_SENDER_NAMES
from tests.api.test_webhooks import create_endpoint, delivering
from tests.helpers import Api, Member, assert_no_user_errors, assert_user_error
from tests.webhook_receiver import Receiver, receiving

SETTINGS = """{ viewer {
    account { defaultCapture skipAutomatedEmails automatedSenderNames }
    user { defaultCapture } } }"""

UPDATE_ACCOUNT = """mutation($input: UpdateAccountSettingsInput!) {
    updateAccountSettings(input: $input) {
        account { defaultCapture skipAutomatedEmails automatedSenderNames }
        userErrors { field message code } } }"""

UPDATE_MINE = """mutation($input: UpdateMySettingsInput!) { updateMySettings(input: $input) {
    user { id defaultCapture } userErrors { field message code } } }"""

USERS = """{ users(first: 100) { edges { node { id defaultCapture } } } }"""

AUDIT = """{ auditEvents(first: 20) { edges { node {
    action summary actor { id } subjectUser { id } } } } }"""

DEFAULTS = {
    "defaultCapture": "FULL",
    "skipAutomatedEmails": True,
    "automatedSenderNames": list(DEFAULT_AUTOMATED_SENDER_NAMES),
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


async def account_settings(api: Api, member: Member) -> dict[str, Any]:
    found: dict[str, Any] = (await api.data(SETTINGS, token=member.token))["viewer"]["account"]
    return found


async def my_capture(api: Api, member: Member) -> str | None:
    found: str | None = (await api.data(SETTINGS, token=member.token))["viewer"]["user"][
        "defaultCapture"
    ]
    return found


async def update_account(api: Api, member: Member, **fields: Any) -> dict[str, Any]:
    data = await api.data(UPDATE_ACCOUNT, {"input": fields}, token=member.token)
    payload: dict[str, Any] = data["updateAccountSettings"]
    return payload


async def update_mine(api: Api, member: Member, **fields: Any) -> dict[str, Any]:
    data = await api.data(UPDATE_MINE, {"input": fields}, token=member.token)
    payload: dict[str, Any] = data["updateMySettings"]
    return payload


async def audit_actions(api: Api, member: Member) -> list[dict[str, Any]]:
    data = await api.data(AUDIT, token=member.token)
    return [edge["node"] for edge in data["auditEvents"]["edges"]]


# -- the account's settings ------------------------------------------------------------------


async def test_a_new_account_has_the_default_settings(api: Api) -> None:
    admin = await api.new_account()
    member = await api.add_member(admin)
    assert await account_settings(api, admin) == DEFAULTS
    assert await account_settings(api, member) == DEFAULTS
    assert await my_capture(api, member) is None


async def test_a_super_admin_changes_what_is_given_and_the_rest_stays(api: Api) -> None:
    # given
    admin = await api.new_account()
    member = await api.add_member(admin)
    # when
    first = await update_account(api, admin, defaultCapture="SUBJECT")
    second = await update_account(
        api, admin, skipAutomatedEmails=False, automatedSenderNames=[" No-Reply ", "robot"]
    )
    # then
    assert_no_user_errors(first)
    assert first["account"] == {**DEFAULTS, "defaultCapture": "SUBJECT"}
    assert_no_user_errors(second)
    expected = {
        "defaultCapture": "SUBJECT",
        "skipAutomatedEmails": False,
        "automatedSenderNames": ["No-Reply", "robot"],
    }
    assert second["account"] == expected
    # and every user of the account reads them
    assert await account_settings(api, member) == expected


async def test_fields_given_as_null_are_left_as_they_are(api: Api) -> None:
    admin = await api.new_account()
    assert_no_user_errors(await update_account(api, admin, defaultCapture="METADATA"))
    payload = await update_account(
        api, admin, defaultCapture=None, skipAutomatedEmails=None, automatedSenderNames=None
    )
    assert_no_user_errors(payload)
    assert payload["account"] == {**DEFAULTS, "defaultCapture": "METADATA"}


async def test_an_empty_list_turns_the_name_rule_off(api: Api) -> None:
    admin = await api.new_account()
    payload = await update_account(api, admin, automatedSenderNames=[])
    assert_no_user_errors(payload)
    assert (await account_settings(api, admin))["automatedSenderNames"] == []


async def test_names_that_compare_alike_are_kept_once(api: Api) -> None:
    admin = await api.new_account()
    payload = await update_account(
        api, admin, automatedSenderNames=["do-not-reply", "Do_Not.Reply", "donotreply+x", "bot"]
    )
    assert_no_user_errors(payload)
    assert payload["account"]["automatedSenderNames"] == ["do-not-reply", "bot"]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param("   ", "empty", id="blank"),
        pytest.param("n" * 65, "at most 64", id="too-long"),
        pytest.param("no reply", "not a valid local part", id="space"),
        pytest.param("noreply@acme.com", "before the @", id="address"),
        pytest.param("no..reply", "not a valid local part", id="two-dots"),
        pytest.param('"quoted"', "not a valid local part", id="quoted"),
        pytest.param("--", "names no sender", id="only-hyphens"),
        pytest.param("+tag", "names no sender", id="only-a-tag"),
    ],
)
async def test_a_bad_name_is_refused_naming_it_and_nothing_changes(
    api: Api, name: str, words: str
) -> None:
    # given
    admin = await api.new_account()
    # when
    payload = await update_account(
        api, admin, defaultCapture="METADATA", automatedSenderNames=["robot", name]
    )
    # then
    error = assert_user_error(payload, "INVALID_INPUT", ["input", "automatedSenderNames", "1"])
    assert f'"{name.strip()}"' in error["message"] and words in error["message"]
    assert payload["account"] is None
    assert await account_settings(api, admin) == DEFAULTS
    assert not any(
        e["action"] == "ACCOUNT_SETTINGS_CHANGED" for e in await audit_actions(api, admin)
    )


async def test_every_bad_name_is_named(api: Api) -> None:
    admin = await api.new_account()
    payload = await update_account(api, admin, automatedSenderNames=["a b", "ok", "c@d.com"])
    assert [e["field"] for e in payload["userErrors"]] == [
        ["input", "automatedSenderNames", "0"],
        ["input", "automatedSenderNames", "2"],
    ]
    assert {e["code"] for e in payload["userErrors"]} == {"INVALID_INPUT"}


async def test_a_name_of_64_characters_and_100_names_are_accepted_101_are_not(api: Api) -> None:
    admin = await api.new_account()
    hundred = [f"robot{n}" for n in range(99)] + ["n" * 64]
    assert_no_user_errors(await update_account(api, admin, automatedSenderNames=hundred))
    assert (await account_settings(api, admin))["automatedSenderNames"] == hundred
    payload = await update_account(api, admin, automatedSenderNames=[*hundred, "one-more"])
    error = assert_user_error(payload, "INVALID_INPUT", ["input", "automatedSenderNames"])
    assert "at most 100" in error["message"] and "101" in error["message"]
    assert (await account_settings(api, admin))["automatedSenderNames"] == hundred


async def test_a_user_may_not_change_the_accounts_settings(api: Api) -> None:
    # given
    admin = await api.new_account()
    member = await api.add_member(admin)
    # when
    payload = await update_account(
        api, member, defaultCapture="METADATA", skipAutomatedEmails=False, automatedSenderNames=[]
    )
    # then
    assert_user_error(payload, "FORBIDDEN")
    assert payload["account"] is None
    assert await account_settings(api, admin) == DEFAULTS
    assert not any(
        e["action"] == "ACCOUNT_SETTINGS_CHANGED" for e in await audit_actions(api, admin)
    )


async def test_a_change_is_audited_and_a_call_that_changes_nothing_is_not(api: Api) -> None:
    # given
    admin = await api.new_account()
    # when
    assert_no_user_errors(await update_account(api, admin, defaultCapture="SUBJECT"))
    assert_no_user_errors(
        await update_account(
            api,
            admin,
            defaultCapture="SUBJECT",
            skipAutomatedEmails=True,
            automatedSenderNames=list(DEFAULT_AUTOMATED_SENDER_NAMES),
        )
    )
    # then
    changed = [
        e for e in await audit_actions(api, admin) if e["action"] == "ACCOUNT_SETTINGS_CHANGED"
    ]
    assert len(changed) == 1
    assert "SUBJECT" in changed[0]["summary"] and "FULL" in changed[0]["summary"]
    assert changed[0]["actor"] == {"id": admin.user_id}


async def test_a_change_of_the_accounts_settings_is_sent_to_webhooks(
    api: Api, receiver: Receiver
) -> None:
    # given
    admin = await api.new_account()
    await create_endpoint(api, admin, receiver)
    # when a call that changes nothing, then one that changes the names
    assert_no_user_errors(await update_account(api, admin, defaultCapture="FULL"))
    assert_no_user_errors(await update_account(api, admin, automatedSenderNames=["robot"]))
    async with delivering(api):
        [received] = await receiver.wait_for(lambda r: len(r) >= 1)
    # then only the change is sent, with every setting after it
    assert received.verified
    assert received.event["type"] == "account.settings_changed"
    assert received.event["data"] == {
        "accountId": admin.account_id,
        "sequence": 1,
        "defaultCapture": "FULL",
        "skipAutomatedEmails": True,
        "automatedSenderNames": ["robot"],
    }


# -- a user's own capture --------------------------------------------------------------------


async def test_a_user_sets_their_own_capture_and_null_gives_the_accounts_back(api: Api) -> None:
    # given
    admin = await api.new_account()
    member = await api.add_member(admin)
    # when
    set_ = await update_mine(api, member, defaultCapture="METADATA")
    # then
    assert_no_user_errors(set_)
    assert set_["user"] == {"id": member.user_id, "defaultCapture": "METADATA"}
    assert await my_capture(api, member) == "METADATA"
    assert await my_capture(api, admin) is None
    # when left out, it stays
    kept = await update_mine(api, member)
    assert_no_user_errors(kept)
    assert kept["user"]["defaultCapture"] == "METADATA"
    # when given as null, the account's applies again
    cleared = await update_mine(api, member, defaultCapture=None)
    assert_no_user_errors(cleared)
    assert cleared["user"]["defaultCapture"] is None
    assert await my_capture(api, member) is None


async def test_super_admins_read_every_users_capture(api: Api) -> None:
    admin = await api.new_account()
    member = await api.add_member(admin)
    assert_no_user_errors(await update_mine(api, member, defaultCapture="SUBJECT"))
    users = (await api.data(USERS, token=admin.token))["users"]["edges"]
    captures = {edge["node"]["id"]: edge["node"]["defaultCapture"] for edge in users}
    assert captures == {admin.user_id: None, member.user_id: "SUBJECT"}


async def test_a_users_change_is_audited_and_sent_to_webhooks(api: Api, receiver: Receiver) -> None:
    # given
    admin = await api.new_account()
    member = await api.add_member(admin)
    await create_endpoint(api, admin, receiver)
    # when the same value twice, then null
    assert_no_user_errors(await update_mine(api, member, defaultCapture="SUBJECT"))
    assert_no_user_errors(await update_mine(api, member, defaultCapture="SUBJECT"))
    assert_no_user_errors(await update_mine(api, member, defaultCapture=None))
    async with delivering(api):
        received = await receiver.wait_for(lambda r: len(r) >= 2)
    # then two events, in order
    assert [r.event["type"] for r in received] == ["user.settings_changed"] * 2
    assert [
        r.event["data"] for r in sorted(received, key=lambda r: r.event["data"]["sequence"])
    ] == [
        {
            "accountId": admin.account_id,
            "sequence": 1,
            "userId": member.user_id,
            "defaultCapture": "SUBJECT",
        },
        {
            "accountId": admin.account_id,
            "sequence": 2,
            "userId": member.user_id,
            "defaultCapture": None,
        },
    ]
    # and two audit events, which the user and super admins see
    for viewer in (member, admin):
        changed = [
            e for e in await audit_actions(api, viewer) if e["action"] == "USER_SETTINGS_CHANGED"
        ]
        assert len(changed) == 2
        assert {e["subjectUser"]["id"] for e in changed} == {member.user_id}
        assert "SUBJECT" in changed[1]["summary"]


# -- what a request costs --------------------------------------------------------------------


async def test_sender_names_are_charged_by_their_number(api: Api) -> None:
    admin = await api.new_account()
    costs = []
    for count in (1, 50):
        body = await api.gql(
            UPDATE_ACCOUNT,
            {"input": {"automatedSenderNames": [f"robot{n}" for n in range(count)]}},
            token=admin.token,
        )
        costs.append(body["extensions"]["cost"]["requestedQueryCost"])
    assert costs[1] - costs[0] >= 49
