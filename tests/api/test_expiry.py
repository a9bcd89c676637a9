"""Notes and expiry on entries, through HTTP on every database: an expired entry stops
matching, being listed and counted at its expiresAt exactly; the sweep removes it with its
audit and webhook events, once, also with two real ``neverlog serve`` processes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa

from persistence.database import Database
from persistence.tables import NeverLogEntry
from schema.ids import decode_id
from tenancy import expiry, held_lists
from tests.api.decision_helpers import email
from tests.helpers import Api, Member, assert_no_user_errors, assert_user_error
from tests.reliability.conftest import Client, Server, serve  # noqa: F401 (a fixture)

ADD = """mutation($input: AddNeverLogEntriesInput!) { addNeverLogEntries(input: $input) {
    added { id pattern note expiresAt } alreadyListed list { count }
    userErrors { field message code } } }"""

LIST = """query($scope: NeverLogScope!) { neverLogList(scope: $scope) { count remaining
    entries { totalCount edges { node { id pattern note expiresAt } } } } }"""

DECIDE = """query($email: EmailInput!) { evaluateEmailLogging(email: $email) {
    recipients { outcome matchedPattern } } }"""

AUDIT = """{ auditEvents(first: 50) { edges { node { action scope patterns summary
    actor { id } subjectUser { id } } } } }"""

CREATE_ENDPOINT = """mutation($input: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $input) { endpoint { id } userErrors { code message } } }"""


def later(seconds: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)


async def add(
    api: Api | Client,
    member: Member | str,
    patterns: list[str],
    scope: str = "PERSONAL",
    **extra: Any,
) -> dict[str, Any]:
    token = member if isinstance(member, str) else member.token
    data = await api.data(
        ADD, {"input": {"scope": scope, "patterns": patterns, **extra}}, token=token
    )
    payload: dict[str, Any] = data["addNeverLogEntries"]
    return payload


async def listed(api: Api, member: Member, scope: str = "PERSONAL") -> dict[str, Any]:
    data = await api.data(LIST, {"scope": scope}, token=member.token)
    found: dict[str, Any] = data["neverLogList"]
    return found


async def outcome(api: Api, member: Member, to: str) -> str:
    data = await api.data(DECIDE, {"email": email(to=[to])}, token=member.token)
    result: str = data["evaluateEmailLogging"]["recipients"][0]["outcome"]
    return result


async def audit_events(api: Api | Client, token: str) -> list[dict[str, Any]]:
    data = await api.data(AUDIT, token=token)
    return [edge["node"] for edge in data["auditEvents"]["edges"]]


async def stored_rows(db: Database, table: str, where: str = "") -> int:
    """Rows as stored, under the application (the owner's connection on PostgreSQL)."""
    async with db.engine.connect() as connection:
        count = await connection.scalar(sa.text(f"SELECT count(*) FROM {table} {where}"))
    return int(count or 0)


async def pass_the_moment(
    db: Database, member: Member, moment: dt.datetime, *, served: Database
) -> None:
    """The tests' clock, instead of waiting for ``moment``: the member's account's entries
    that expire by then are moved to expire a second ago (a write under the application,
    on the owner's connection). Reads compare with the clock of the process, the sweep's
    policy on PostgreSQL with the database's: both agree that they have expired."""
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    async with db.engine.begin() as connection:
        await connection.execute(
            sa.update(NeverLogEntry)
            .where(
                NeverLogEntry.account_id == decode_id(member.account_id, "Account"),  # type: ignore[arg-type]
                NeverLogEntry.expires_at <= moment,  # type: ignore[arg-type,operator]
            )
            .values(expires_at=past)
        )
    # A clock moved under the application, seen at once by the held lists of the app that
    # ``served`` serves (a real change is, by its own transaction; another process's
    # within their bound).
    held_lists.forget(served, decode_id(member.account_id, "Account"))


# -- notes and expiry on add ------------------------------------------------------------------


async def test_an_add_keeps_its_note_and_expiry_on_every_entry_it_adds(api: Api) -> None:
    # given
    admin = await api.new_account()
    until = later(3600).replace(microsecond=0)
    # when
    payload = await add(
        api,
        admin,
        ["jane@hartmann-law.de", "*@praxis-weber.de"],
        note="  Legal hold until the case closes  ",
        expiresAt=until.isoformat(),
    )
    # then
    assert_no_user_errors(payload)
    notes = {(a["pattern"], a["note"], a["expiresAt"]) for a in payload["added"]}
    stamp = until.isoformat()
    assert notes == {
        ("jane@hartmann-law.de", "Legal hold until the case closes", stamp),
        ("*@praxis-weber.de", "Legal hold until the case closes", stamp),
    }
    nodes = [e["node"] for e in (await listed(api, admin))["entries"]["edges"]]
    assert {(n["note"], n["expiresAt"]) for n in nodes} == {
        ("Legal hold until the case closes", stamp)
    }


async def test_without_note_or_expiry_an_entry_has_neither(api: Api) -> None:
    admin = await api.new_account()
    payload = await add(api, admin, ["jane@hartmann-law.de"])
    assert [(a["note"], a["expiresAt"]) for a in payload["added"]] == [(None, None)]


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        pytest.param({"note": "n" * 501}, ["input", "note"], "500", id="note-too-long"),
        pytest.param(
            {"expiresAt": "2020-01-01T00:00:00+00:00"},
            ["input", "expiresAt"],
            "future",
            id="expiry-in-the-past",
        ),
    ],
)
async def test_a_long_note_or_a_past_expiry_is_invalid_input_and_adds_nothing(
    api: Api, extra: dict[str, Any], field: list[str], words: str
) -> None:
    # given
    admin = await api.new_account()
    # when
    payload = await add(api, admin, ["jane@hartmann-law.de"], **extra)
    # then
    error = assert_user_error(payload, "INVALID_INPUT", field)
    assert words in error["message"]
    assert (await listed(api, admin))["count"] == 0


async def test_a_note_of_500_characters_is_kept(api: Api) -> None:
    admin = await api.new_account()
    payload = await add(api, admin, ["jane@hartmann-law.de"], note="n" * 500)
    assert_no_user_errors(payload)
    assert payload["added"][0]["note"] == "n" * 500


async def test_a_pattern_already_listed_keeps_its_note_and_expiry(api: Api) -> None:
    # given
    admin = await api.new_account()
    first = await add(
        api, admin, ["jane@hartmann-law.de"], note="first", expiresAt=later(3600).isoformat()
    )
    # when
    again = await add(api, admin, ["JANE@hartmann-law.de", "bob@x.com"], note="second")
    # then
    assert again["alreadyListed"] == ["jane@hartmann-law.de"]
    nodes = {
        e["node"]["pattern"]: e["node"] for e in (await listed(api, admin))["entries"]["edges"]
    }
    assert nodes["jane@hartmann-law.de"]["note"] == "first"
    assert nodes["jane@hartmann-law.de"]["expiresAt"] == first["added"][0]["expiresAt"]
    assert nodes["bob@x.com"]["note"] == "second"


# -- at the instant -------------------------------------------------------------------------


async def test_at_its_expiry_an_entry_stops_matching_being_listed_and_counted(
    api: Api, admin_db: Database
) -> None:
    # given an entry that expires in a minute, and one that does not
    admin = await api.new_account()
    until = later(60)
    domain = f"law-{uuid.uuid4().hex[:12]}.de"
    await add(api, admin, [f"*@{domain}"], scope="ACCOUNT", expiresAt=until.isoformat())
    await add(api, admin, ["bob@x.com"], scope="ACCOUNT")
    assert await outcome(api, admin, f"jane@{domain}") == "NEVER_LOG"
    assert (await listed(api, admin, "ACCOUNT"))["count"] == 2
    # when its moment passes (no sweep runs in this process)
    await pass_the_moment(admin_db, admin, until, served=api.db)
    # then
    assert await outcome(api, admin, f"jane@{domain}") == "LOGGED"
    found = await listed(api, admin, "ACCOUNT")
    assert found["count"] == 1
    assert found["entries"]["totalCount"] == 1
    assert [e["node"]["pattern"] for e in found["entries"]["edges"]] == ["bob@x.com"]
    # and the row is still stored: reads leave it out, the sweep has not run
    assert await stored_rows(admin_db, "never_log_entries", f"WHERE pattern = '*@{domain}'") == 1


async def test_an_expired_entry_no_longer_counts_toward_the_limit(
    make_api: Any, admin_db: Database
) -> None:
    # given a list of two, full, one entry of which expires
    api: Api = make_api(personal_list_limit=2)
    try:
        admin = await api.new_account()
        until = later(60)
        await add(api, admin, ["a@x.com"], expiresAt=until.isoformat())
        await add(api, admin, ["b@x.com"])
        refused = await add(api, admin, ["c@x.com"])
        assert_user_error(refused, "LIMIT_EXCEEDED")
        # when
        await pass_the_moment(admin_db, admin, until, served=api.db)
        added = await add(api, admin, ["c@x.com"])
        # then
        assert_no_user_errors(added)
        assert added["list"]["count"] == 2
    finally:
        await api.close()


async def test_a_pattern_added_again_after_its_expiry_is_a_new_entry(
    api: Api, admin_db: Database
) -> None:
    # given
    admin = await api.new_account()
    until = later(60)
    old = await add(api, admin, ["jane@hartmann-law.de"], note="old", expiresAt=until.isoformat())
    await pass_the_moment(admin_db, admin, until, served=api.db)
    # when
    new = await add(api, admin, ["jane@hartmann-law.de"], note="new")
    # then
    assert new["alreadyListed"] == []
    [entry] = new["added"]
    assert entry["id"] != old["added"][0]["id"]
    assert (entry["note"], entry["expiresAt"]) == ("new", None)
    events = await audit_events(api, admin.token)
    assert [e["action"] for e in events[:2]] == [
        "NEVER_LOG_ENTRIES_ADDED",
        "NEVER_LOG_ENTRIES_EXPIRED",
    ]


# -- the sweep ------------------------------------------------------------------------------


async def test_the_sweep_removes_expired_entries_once_with_an_event_without_actor(
    api: Api, db: Database, admin_db: Database
) -> None:
    # given two lists with entries that expire, and a webhook endpoint
    admin = await api.new_account()
    user = await api.add_member(admin)
    created = await api.data(
        CREATE_ENDPOINT, {"input": {"url": "http://127.0.0.1:9/hook"}}, token=admin.token
    )
    assert created["createWebhookEndpoint"]["userErrors"] == []
    until = later(60)
    await add(
        api, admin, ["*@hartmann-law.de", "a@x.com"], scope="ACCOUNT", expiresAt=until.isoformat()
    )
    await add(api, user, ["mum@family.com"], expiresAt=until.isoformat())
    await add(api, user, ["dad@family.com"])
    await pass_the_moment(admin_db, admin, until, served=api.db)
    # when several sweeps run at once, and once more later
    await asyncio.gather(expiry.sweep(db), expiry.sweep(db), expiry.sweep(db))
    await expiry.sweep(db)
    # then each list has one expiry event, without actor
    events = [
        e
        for e in await audit_events(api, admin.token)
        if e["action"] == "NEVER_LOG_ENTRIES_EXPIRED"
    ]
    by_scope = {e["scope"]: e for e in events}
    assert len(events) == 2 and set(by_scope) == {"ACCOUNT", "PERSONAL"}
    assert by_scope["ACCOUNT"]["patterns"] == ["*@hartmann-law.de", "a@x.com"]
    assert by_scope["ACCOUNT"]["subjectUser"] is None
    # the personal list's owner is who the event is about (its patterns are the owner's)
    assert by_scope["PERSONAL"]["subjectUser"] == {"id": user.user_id}
    assert all(e["actor"] is None for e in events)
    # and one webhook event per list; the rows are gone, the entry that does not expire stays
    kinds = "WHERE type = 'NEVER_LOG_ENTRIES_EXPIRED'"
    assert await stored_rows(admin_db, "webhook_events", kinds) >= 2
    bodies = await _event_bodies(admin_db, admin.account_id)
    assert sorted(b["data"]["scope"] for b in bodies) == ["ACCOUNT", "PERSONAL"]
    personal = next(b for b in bodies if b["data"]["scope"] == "PERSONAL")
    assert personal["data"]["ownerId"] == user.user_id
    assert [e["pattern"] for e in personal["data"]["entries"]] == ["mum@family.com"]
    assert personal["data"]["entries"][0]["expiresAt"] is not None
    assert (await listed(api, user))["count"] == 1


async def _event_bodies(db: Database, account_global_id: str) -> list[dict[str, Any]]:
    async with db.engine.connect() as connection:
        rows = await connection.execute(
            sa.text("SELECT payload FROM webhook_events WHERE type = 'NEVER_LOG_ENTRIES_EXPIRED'")
        )
        bodies = [json.loads(row[0]) for row in rows]
    return [b for b in bodies if b["data"]["accountId"] == account_global_id]


async def test_an_entry_that_has_not_expired_is_left_alone_by_the_sweep(
    api: Api, db: Database
) -> None:
    admin = await api.new_account()
    await add(api, admin, ["jane@hartmann-law.de"], expiresAt=later(3600).isoformat())
    await expiry.sweep(db)
    assert (await listed(api, admin))["count"] == 1
    assert "NEVER_LOG_ENTRIES_EXPIRED" not in [
        e["action"] for e in await audit_events(api, admin.token)
    ]


# -- two real processes -----------------------------------------------------------------------


async def test_two_serve_processes_remove_an_expired_entry_within_a_minute_once(
    api: Api,
    db: Database,
    admin_db: Database,
    serve: Callable[..., Awaitable[list[Server]]],  # noqa: F811 (the fixture)
) -> None:
    # given two processes that sweep twice a second, on one database
    url = db.url.render_as_string(hide_password=False)
    servers = await serve(url, n=2, EXPIRY_SWEEP_SECONDS="0.5")
    admin = await api.new_account()
    until = later(2)
    first, second = servers
    # patterns of this test alone: the database may hold other tests' entries
    unique = uuid.uuid4().hex[:12]
    domain, mum = f"*@law-{unique}.de", f"mum-{unique}@family.com"
    for scope, patterns in (("ACCOUNT", [domain]), ("PERSONAL", [mum])):
        payload = await add(first.client, admin.token, patterns, scope, expiresAt=until.isoformat())
        assert_no_user_errors(payload)
    # when the moment passes, the entries are gone within a minute
    started = time.monotonic()
    while time.monotonic() - started < 60:
        left = await stored_rows(
            admin_db,
            "never_log_entries",
            f"WHERE pattern IN ('{domain}', '{mum}')",
        )
        expired = [
            e
            for e in await audit_events(second.client, admin.token)
            if e["action"] == "NEVER_LOG_ENTRIES_EXPIRED"
        ]
        if left == 0 and len(expired) >= 2:
            break
        await asyncio.sleep(0.25)
    # and after several more sweeps of both, each list has exactly one event
    await asyncio.sleep(2)
    expired = [
        e
        for e in await audit_events(second.client, admin.token)
        if e["action"] == "NEVER_LOG_ENTRIES_EXPIRED"
    ]
    # then
    assert sorted(e["scope"] for e in expired) == ["ACCOUNT", "PERSONAL"], [
        s.log() for s in servers
    ]
    assert left == 0
    assert dt.datetime.now(dt.UTC) - until < dt.timedelta(seconds=60)


# -- expiry dates at the edges of the calendar, and what a note may hold --------------------


@pytest.mark.parametrize(
    ("expires_at", "words"),
    [
        # past 9999-12-31T23:59:59 once in UTC: no datetime holds it
        pytest.param("9999-12-31T23:59:59-14:00", "cannot be represented", id="past-year-9999"),
        # before 0001-01-01 once in UTC, and in the past anyway
        pytest.param("0001-01-01T00:30:00+01:00", "future", id="before-year-1"),
        pytest.param("0001-01-01T00:00:00", "future", id="year-1-without-offset"),
        pytest.param("2020-01-01T00:00:00+14:00", "future", id="past"),
    ],
)
async def test_an_expiry_that_cannot_be_represented_or_is_past_is_invalid_input(
    api: Api, expires_at: str, words: str
) -> None:
    # given
    admin = await api.new_account()
    # when
    payload = await add(api, admin, ["jane@hartmann-law.de"], expiresAt=expires_at)
    # then a user error that names the value as given, never "Unexpected error."
    error = assert_user_error(payload, "INVALID_INPUT", ["input", "expiresAt"])
    assert expires_at in error["message"] and words in error["message"]
    assert (await listed(api, admin))["count"] == 0


async def test_an_expiry_without_an_offset_is_read_as_utc(api: Api) -> None:
    # given an instant an hour ahead, written without its offset
    admin = await api.new_account()
    until = later(3600).replace(microsecond=0)
    # when
    payload = await add(
        api, admin, ["jane@hartmann-law.de"], expiresAt=until.replace(tzinfo=None).isoformat()
    )
    # then
    assert_no_user_errors(payload)
    assert payload["added"][0]["expiresAt"] == until.isoformat()


async def test_the_latest_expiry_in_utc_is_kept(api: Api) -> None:
    # given the last second that UTC represents, written with an offset that stays within it
    admin = await api.new_account()
    # when
    payload = await add(api, admin, ["jane@hartmann-law.de"], expiresAt="9999-12-31T23:59:59+14:00")
    # then
    assert_no_user_errors(payload)
    assert payload["added"][0]["expiresAt"] == "9999-12-31T09:59:59+00:00"
    nodes = [e["node"] for e in (await listed(api, admin))["entries"]["edges"]]
    assert [n["expiresAt"] for n in nodes] == ["9999-12-31T09:59:59+00:00"]


@pytest.mark.parametrize(
    ("note", "code_point"),
    [
        pytest.param("legal\x00hold", "U+0000", id="nul"),
        pytest.param("legal\nhold", "U+000A", id="line-break"),
        pytest.param("legal\x1b[31mhold", "U+001B", id="escape"),
        pytest.param("legal\u2028hold", "U+2028", id="line-separator"),
    ],
)
async def test_a_note_with_a_nul_or_control_character_is_invalid_input(
    api: Api, note: str, code_point: str
) -> None:
    # given
    admin = await api.new_account()
    # when
    payload = await add(api, admin, ["jane@hartmann-law.de"], note=note)
    # then the note is named, not an address
    error = assert_user_error(payload, "INVALID_INPUT", ["input", "note"])
    assert code_point in error["message"]
    assert (await listed(api, admin))["count"] == 0
