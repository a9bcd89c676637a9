"""updateNeverLogEntries through HTTP, on every database: what changes and what stays, the
refusals that change nothing, the audit log and its privacy, and the webhook event."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from tests.api.test_webhooks import create_endpoint, delivering, wait_for_deliveries
from tests.helpers import Api, Member, assert_no_user_errors, assert_user_error
from tests.webhook_receiver import Receiver, receiving

ADD = """mutation($input: AddNeverLogEntriesInput!) { addNeverLogEntries(input: $input) {
    added { id pattern } userErrors { field message code } } }"""

UPDATE = """mutation($input: UpdateNeverLogEntriesInput!) { updateNeverLogEntries(input: $input) {
    entries { id pattern action note expiresAt createdAt scope }
    userErrors { field message code } } }"""

LIST = """query($scope: NeverLogScope!) { neverLogList(scope: $scope) { count
    entries(first: 100) { edges { node { id pattern action note expiresAt createdAt } } } } }"""

AUDIT = """{ auditEvents(first: 20) { edges { node { action summary patterns scope } } } }"""

LATER = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).replace(microsecond=0)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


@pytest.fixture
async def small_api(make_api: Callable[..., Api]) -> AsyncIterator[Api]:
    client = make_api(personal_list_limit=3)
    yield client
    await client.close()


async def add(
    api: Api, member: Member, patterns: list[str], *, scope: str = "PERSONAL", **extra: Any
) -> dict[str, str]:
    """The IDs of the entries added, by pattern."""
    data = await api.data(
        ADD, {"input": {"scope": scope, "patterns": patterns, **extra}}, token=member.token
    )
    assert_no_user_errors(data["addNeverLogEntries"])
    return {a["pattern"]: a["id"] for a in data["addNeverLogEntries"]["added"]}


async def update(
    api: Api, member: Member, ids: list[str], *, scope: str = "PERSONAL", **fields: Any
) -> dict[str, Any]:
    data = await api.data(
        UPDATE, {"input": {"scope": scope, "ids": ids, **fields}}, token=member.token
    )
    payload: dict[str, Any] = data["updateNeverLogEntries"]
    return payload


async def listed(api: Api, member: Member, scope: str = "PERSONAL") -> dict[str, dict[str, Any]]:
    """Every entry of the list by pattern, as the list shows it."""
    data = await api.data(LIST, {"scope": scope}, token=member.token)
    return {e["node"]["pattern"]: e["node"] for e in data["neverLogList"]["entries"]["edges"]}


async def audit(api: Api, member: Member) -> list[dict[str, Any]]:
    data = await api.data(AUDIT, token=member.token)
    return [
        e["node"]
        for e in data["auditEvents"]["edges"]
        if e["node"]["action"] == "NEVER_LOG_ENTRIES_UPDATED"
    ]


# -- what changes and what stays ------------------------------------------------------------


async def test_an_update_changes_what_it_gives_and_answers_in_the_order_of_ids(api: Api) -> None:
    # given
    admin = await api.new_account()
    ids = await add(api, admin, ["a@x.com", "b@x.com", "c@x.com"], scope="ACCOUNT", note="why")
    before = await listed(api, admin, "ACCOUNT")
    # when
    payload = await update(
        api, admin, [ids["c@x.com"], ids["a@x.com"]], scope="ACCOUNT", action="LOG_SUBJECT_ONLY"
    )
    # then
    assert_no_user_errors(payload)
    assert [(e["id"], e["pattern"], e["action"], e["note"]) for e in payload["entries"]] == [
        (ids["c@x.com"], "c@x.com", "LOG_SUBJECT_ONLY", "why"),
        (ids["a@x.com"], "a@x.com", "LOG_SUBJECT_ONLY", "why"),
    ]
    after = await listed(api, admin, "ACCOUNT")
    assert {p: e["action"] for p, e in after.items()} == {
        "a@x.com": "LOG_SUBJECT_ONLY",
        "b@x.com": "NEVER_LOG",
        "c@x.com": "LOG_SUBJECT_ONLY",
    }
    # and each entry keeps its ID, its added date and its note
    for pattern, entry in after.items():
        assert (entry["id"], entry["createdAt"], entry["note"]) == (
            before[pattern]["id"],
            before[pattern]["createdAt"],
            "why",
        )


async def test_note_and_expiry_change_and_the_action_stays(api: Api) -> None:
    # given
    member = await api.new_account()
    ids = await add(api, member, ["jane@x.com"], action="LOG_METADATA_ONLY", note="old")
    # when
    payload = await update(
        api, member, [ids["jane@x.com"]], note="  new note ", expiresAt=LATER.isoformat()
    )
    # then
    assert_no_user_errors(payload)
    [entry] = payload["entries"]
    assert (entry["action"], entry["note"], entry["expiresAt"]) == (
        "LOG_METADATA_ONLY",
        "new note",
        LATER.isoformat(),
    )
    listed_entry = (await listed(api, member))["jane@x.com"]
    assert (listed_entry["note"], listed_entry["expiresAt"]) == ("new note", LATER.isoformat())


async def test_null_clears_note_and_expiry_and_left_out_fields_stay(api: Api) -> None:
    # given
    member = await api.new_account()
    ids = await add(
        api, member, ["jane@x.com", "bob@x.com"], note="kept", expiresAt=LATER.isoformat()
    )
    # when the note of one is cleared, the expiry of the other
    cleared_note = await update(api, member, [ids["jane@x.com"]], note=None)
    cleared_expiry = await update(api, member, [ids["bob@x.com"]], expiresAt=None)
    # then
    assert_no_user_errors(cleared_note)
    assert_no_user_errors(cleared_expiry)
    entries = await listed(api, member)
    assert (entries["jane@x.com"]["note"], entries["jane@x.com"]["expiresAt"]) == (
        None,
        LATER.isoformat(),
    )
    assert (entries["bob@x.com"]["note"], entries["bob@x.com"]["expiresAt"]) == ("kept", None)


# -- refusals that change nothing ---------------------------------------------------------------


async def test_an_id_not_of_this_list_refuses_the_whole_update(api: Api) -> None:
    # given entries of the admin's personal list, of the account-wide list, of another account
    admin = await api.new_account()
    mine = await add(api, admin, ["mine@x.com"])
    account_wide = await add(api, admin, ["*@x.com"], scope="ACCOUNT")
    other = await api.new_account("Other")
    theirs = await add(api, other, ["theirs@x.com"])
    # when
    payload = await update(
        api,
        admin,
        [
            mine["mine@x.com"],
            account_wide["*@x.com"],
            theirs["theirs@x.com"],
            "not-an-id",
        ],
        action="LOG_METADATA_ONLY",
    )
    # then every ID that is not of this list is named, alike
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("NOT_FOUND", ["input", "ids", str(n)]) for n in (1, 2, 3)
    ]
    assert len({e["message"] for e in payload["userErrors"]}) == 1
    assert payload["entries"] == []
    assert (await listed(api, admin))["mine@x.com"]["action"] == "NEVER_LOG"
    assert (await listed(api, admin, "ACCOUNT"))["*@x.com"]["action"] == "NEVER_LOG"
    assert (await listed(api, other))["theirs@x.com"]["action"] == "NEVER_LOG"
    assert await audit(api, admin) == []


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        pytest.param({"note": "n" * 501}, "note", "at most 500", id="long-note"),
        pytest.param({"note": "a\nb"}, "note", "control character", id="line-break-in-note"),
        pytest.param(
            {"expiresAt": "2020-01-01T00:00:00+00:00"}, "expiresAt", "future", id="past-expiry"
        ),
    ],
)
async def test_a_bad_note_or_expiry_is_refused_as_in_an_add(
    api: Api, fields: dict[str, Any], field: str, words: str
) -> None:
    member = await api.new_account()
    ids = await add(api, member, ["jane@x.com"], note="kept")
    payload = await update(api, member, [ids["jane@x.com"]], action="LOG_SUBJECT_ONLY", **fields)
    error = assert_user_error(payload, "INVALID_INPUT", ["input", field])
    assert words in error["message"]
    entry = (await listed(api, member))["jane@x.com"]
    assert (entry["action"], entry["note"], entry["expiresAt"]) == ("NEVER_LOG", "kept", None)


async def test_a_user_may_not_update_the_account_wide_list(api: Api) -> None:
    admin = await api.new_account()
    member = await api.add_member(admin)
    ids = await add(api, admin, ["*@x.com"], scope="ACCOUNT")
    payload = await update(
        api, member, [ids["*@x.com"]], scope="ACCOUNT", action="LOG_SUBJECT_ONLY"
    )
    assert_user_error(payload, "FORBIDDEN")
    assert (await listed(api, admin, "ACCOUNT"))["*@x.com"]["action"] == "NEVER_LOG"


async def test_no_ids_and_more_ids_than_the_list_may_hold_are_refused(small_api: Api) -> None:
    member = await small_api.new_account()
    ids = list((await add(small_api, member, ["a@x.com", "b@x.com", "c@x.com"])).values())
    assert_user_error(
        await update(small_api, member, [], action="LOG_SUBJECT_ONLY"),
        "INVALID_INPUT",
        ["input", "ids"],
    )
    error = assert_user_error(
        await update(small_api, member, [*ids, ids[0]], action="LOG_SUBJECT_ONLY"),
        "TOO_MANY_VALUES",
        ["input", "ids"],
    )
    assert "at most 3 entries" in error["message"]
    assert {e["action"] for e in (await listed(small_api, member)).values()} == {"NEVER_LOG"}


# -- the audit log ------------------------------------------------------------------------------


async def test_an_update_is_audited_and_one_that_changes_nothing_is_not(api: Api) -> None:
    # given
    admin = await api.new_account()
    ids = await add(api, admin, ["a@x.com", "b@x.com"], scope="ACCOUNT", note="n")
    # when: one entry changes, then a call that changes nothing
    assert_no_user_errors(
        await update(
            api,
            admin,
            [ids["a@x.com"], ids["b@x.com"]],
            scope="ACCOUNT",
            note="n",
            action="LOG_SUBJECT_ONLY",
        )
    )
    assert_no_user_errors(
        await update(api, admin, [ids["a@x.com"]], scope="ACCOUNT", action="LOG_SUBJECT_ONLY")
    )
    # then one event, naming the entries that changed
    [event] = await audit(api, admin)
    assert sorted(event["patterns"]) == ["a@x.com", "b@x.com"]
    assert event["scope"] == "ACCOUNT"
    assert "updated 2 entries" in event["summary"] and "LOG_SUBJECT_ONLY" in event["summary"]


async def test_a_personal_update_is_private_from_super_admins_in_the_audit_log(api: Api) -> None:
    # given
    admin = await api.new_account()
    member = await api.add_member(admin, name="Sam")
    ids = await add(api, member, ["secret@lawyer.com"])
    # when
    assert_no_user_errors(
        await update(api, member, [ids["secret@lawyer.com"]], note="divorce lawyer")
    )
    # then the owner sees their change
    [own] = await audit(api, member)
    assert own["patterns"] == ["secret@lawyer.com"]
    # and a super admin sees that one entry changed, never which, nor the note
    [seen] = await audit(api, admin)
    assert seen["patterns"] == []
    assert seen["summary"] == "Sam updated 1 entry of their personal never-log list."


# -- webhooks ------------------------------------------------------------------------------------


async def test_an_update_is_sent_with_the_entries_after_it(api: Api, receiver: Receiver) -> None:
    # given
    admin = await api.new_account()
    ids = await add(api, admin, ["a@x.com", "b@x.com"], scope="ACCOUNT")
    await create_endpoint(api, admin, receiver)
    # when
    assert_no_user_errors(
        await update(
            api,
            admin,
            [ids["b@x.com"], ids["a@x.com"]],
            scope="ACCOUNT",
            action="LOG_METADATA_ONLY",
            note="board",
            expiresAt=LATER.isoformat(),
        )
    )
    async with delivering(api):
        [received] = await receiver.wait_for(lambda r: len(r) >= 1)
    # then
    assert received.verified
    assert received.event["type"] == "never_log.entries_updated"
    expiry = LATER.isoformat().replace("+00:00", "Z")
    assert received.event["data"] == {
        "accountId": admin.account_id,
        "sequence": 1,
        "scope": "ACCOUNT",
        "ownerId": None,
        "entries": [
            {
                "id": ids[p],
                "pattern": p,
                "kind": "ADDRESS",
                "note": "board",
                "expiresAt": expiry,
                "action": "LOG_METADATA_ONLY",
            }
            for p in ("b@x.com", "a@x.com")
        ],
    }


async def test_a_personal_update_is_sent_with_its_owner_and_kept_private_in_the_log(
    api: Api, receiver: Receiver
) -> None:
    # given
    admin = await api.new_account()
    member = await api.add_member(admin)
    ids = await add(api, member, ["secret@lawyer.com"])
    await create_endpoint(api, admin, receiver)
    # when
    assert_no_user_errors(await update(api, member, [ids["secret@lawyer.com"]], note="private"))
    async with delivering(api):
        [received] = await receiver.wait_for(lambda r: len(r) >= 1)
        [delivery] = await wait_for_deliveries(
            api, admin, lambda d: bool(d) and d[0]["status"] == "DELIVERED"
        )
    # then the endpoint receives the entry
    data = received.event["data"]
    assert (data["scope"], data["ownerId"]) == ("PERSONAL", member.user_id)
    assert [(e["pattern"], e["note"]) for e in data["entries"]] == [
        ("secret@lawyer.com", "private")
    ]
    # and the super admin reading the delivery log does not
    shown = delivery["payload"]
    assert "secret@lawyer.com" not in shown and "private" not in shown


# -- what a request costs -----------------------------------------------------------------------


async def test_ids_are_charged_by_their_number(api: Api) -> None:
    member = await api.new_account()
    costs = []
    for count in (1, 60):
        body = await api.gql(
            UPDATE,
            {"input": {"scope": "PERSONAL", "ids": ["x"] * count, "action": "NEVER_LOG"}},
            token=member.token,
        )
        costs.append(body["extensions"]["cost"]["requestedQueryCost"])
    assert costs[1] - costs[0] >= 59


# -- concurrency ---------------------------------------------------------------------------------


REMOVE = """mutation($input: RemoveNeverLogEntriesInput!) { removeNeverLogEntries(input: $input) {
    removedIds userErrors { code } } }"""


async def test_an_update_racing_a_removal_of_its_entry_is_one_or_the_other(api: Api) -> None:
    # given ten entries
    member = await api.new_account()
    ids = list((await add(api, member, [f"p{n}@x.com" for n in range(10)])).values())
    # when each is updated and removed at the same time
    calls = []
    for entry_id in ids:
        calls.append(
            api.gql(
                UPDATE,
                {"input": {"scope": "PERSONAL", "ids": [entry_id], "note": "raced"}},
                token=member.token,
            )
        )
        calls.append(
            api.gql(REMOVE, {"input": {"scope": "PERSONAL", "ids": [entry_id]}}, token=member.token)
        )
    answers = await asyncio.gather(*calls)
    # then no call failed: each update came first, or found its entry gone (NOT_FOUND)
    assert all("errors" not in a for a in answers), answers
    for updated, removed in zip(answers[::2], answers[1::2], strict=True):
        assert removed["data"]["removeNeverLogEntries"]["userErrors"] == []
        codes = [e["code"] for e in updated["data"]["updateNeverLogEntries"]["userErrors"]]
        assert codes in ([], ["NOT_FOUND"])
    assert await listed(api, member) == {}
