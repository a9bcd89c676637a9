"""A role is checked at the moment of the change: with two ``neverlog serve`` processes on
one PostgreSQL database, a super admin whom the other process deactivates or demotes at the
same moment never gets their own change applied after that; the audit log never shows a
change by an actor who was no longer allowed to make it.

Each round lines the two requests up on the account's row, which every such change locks
first: the test holds that lock until both requests wait on it (so both have signed in as
super admins), then lets go, and PostgreSQL grants the lock in the order it was asked for.
"""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa

from persistence.database import Database
from tests.reliability.conftest import Client, Member, Server, hold_list, new_account

pytestmark = pytest.mark.reliability

ROUNDS = 3

ADD_USER = """mutation($email: String!) { addUser(input: {email: $email, name: "New Admin",
    role: SUPER_ADMIN}) { user { id } userErrors { code message } } }"""
DEACTIVATE = """mutation($id: ID!) { deactivateUser(input: {userId: $id}) {
    user { active } userErrors { code message } } }"""
DEMOTE = """mutation($id: ID!) { updateUserRole(input: {userId: $id, role: USER}) {
    user { role } userErrors { code message } } }"""
ADD_ACCOUNT_ENTRY = """mutation($pattern: String!) { addNeverLogEntries(input: {scope: ACCOUNT,
    patterns: [$pattern]}) { added { pattern } userErrors { code message } } }"""
ACCEPT = """mutation($code: String!) { acceptInvitation(input: {code: $code, tokenName: "second"}) {
    token userErrors { code } } }"""
AUDIT = """{ auditEvents(first: 100) { edges { node {
    action createdAt actor { id } subjectUser { id } } } } }"""


async def _second_super_admin(client: Client, first: Member) -> tuple[str, str]:
    """A second super admin of the account: their ID and token."""
    added = await client.data(
        """mutation($email: String!) { addUser(input: {email: $email, name: "Second",
            role: SUPER_ADMIN}) { user { id } invitationCode userErrors { code } } }""",
        {"email": f"second-{uuid.uuid4().hex[:8]}@acme-corp.com"},
        token=first.token,
    )
    user_id = added["addUser"]["user"]["id"]
    accepted = await client.data(ACCEPT, {"code": added["addUser"]["invitationCode"]})
    return user_id, accepted["acceptInvitation"]["token"]


async def _answer(request: Awaitable[Any]) -> dict[str, Any]:
    response = await request
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = next(iter(body["data"].values()))
    return data


def _codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


async def _in_lock_order(
    pg_db: Database, first: Member, calls: list[Callable[[], Awaitable[Any]]]
) -> list[dict[str, Any]]:
    """Send the calls one after the other, each once the one before waits on the account's
    lock held here; then let go: they run in that order."""
    async with hold_list(pg_db, first, personal=False, account=True):
        tasks: list[asyncio.Task[Any]] = []
        for call in calls:
            tasks.append(asyncio.create_task(_answer(call())))
            await _waiting(pg_db, tasks)
    return list(await asyncio.gather(*tasks))


async def _waiting(pg_db: Database, tasks: list[asyncio.Task[Any]], timeout: float = 20) -> None:
    """Wait until as many sessions of this database wait on a lock as there are requests (the
    first on the lock held here, each next one in the queue behind it)."""
    deadline = time.monotonic() + timeout
    async with pg_db.engine.connect() as connection:
        while time.monotonic() < deadline:
            ended = [t for t in tasks if t.done()]
            assert not ended, f"a request ended before it came to wait: {ended[0]}"
            waiting = await connection.scalar(
                sa.text(
                    "select count(*) from pg_stat_activity where datname = current_database() "
                    "and cardinality(pg_blocking_pids(pid)) > 0"
                )
            )
            await connection.rollback()  # pg_stat_activity is read once per transaction
            if waiting is not None and waiting >= len(tasks):
                return
            await asyncio.sleep(0.02)
    raise AssertionError(f"{len(tasks)} requests did not come to wait within {timeout} s")


async def _events(client: Client, token: str) -> list[dict[str, Any]]:
    """The account's audit events, oldest first."""
    data = await client.data(AUDIT, token=token)
    return [edge["node"] for edge in reversed(data["auditEvents"]["edges"])]


def _index(events: list[dict[str, Any]], action: str, subject: str) -> int | None:
    found = [
        n
        for n, e in enumerate(events)
        if e["action"] == action and (e["subjectUser"] or {}).get("id") == subject
    ]
    assert len(found) <= 1, events
    return found[0] if found else None


@pytest.mark.parametrize("removal", ["deactivate", "demote"])
async def test_a_super_admin_removed_at_the_same_moment_gets_no_change_applied_after(
    pg_db: Database, serve: Callable[..., Awaitable[list[Server]]], removal: str
) -> None:
    # given: two processes on one database
    one, other = await serve(pg_db.url.render_as_string(hide_password=False), n=2)
    removing = DEACTIVATE if removal == "deactivate" else DEMOTE
    action = "USER_DEACTIVATED" if removal == "deactivate" else "USER_ROLE_CHANGED"
    for round_ in range(ROUNDS):
        for removed_first in (True, False):
            # given: an account with two super admins
            first = await new_account(pg_db, name=f"Role race {round_}")
            second_id, second_token = await _second_super_admin(one.client, first)
            new_email = f"new-{uuid.uuid4().hex[:8]}@acme-corp.com"
            pattern = f"*@race-{uuid.uuid4().hex[:8]}.example.com"

            remove = functools.partial(
                one.client.post, removing, {"id": second_id}, token=first.token
            )
            # deactivation races the second admin adding a super admin; a demotion races them
            # changing the account-wide list
            change = (
                functools.partial(
                    other.client.post, ADD_USER, {"email": new_email}, token=second_token
                )
                if removal == "deactivate"
                else functools.partial(
                    other.client.post, ADD_ACCOUNT_ENTRY, {"pattern": pattern}, token=second_token
                )
            )

            # when: the first removes the second while the second makes a change, each through
            # its own process, both signed in before either runs
            calls = [remove, change] if removed_first else [change, remove]
            answers = await _in_lock_order(pg_db, first, calls)
            removed, changed = answers if removed_first else answers[::-1]

            # then: the removal is applied either way
            assert removed["userErrors"] == [], removed
            if removed_first:
                # and the change that came after it is refused, never applied
                assert _codes(changed) == ["FORBIDDEN"], changed
            else:
                # and the change that came before it was the second's to make
                assert changed["userErrors"] == [], changed

            # and the audit log agrees: a change by the second only before their removal
            events = await _events(one.client, first.token)
            removed_at = _index(events, action, second_id)
            assert removed_at is not None, events
            by_second = [
                n
                for n, e in enumerate(events)
                if (e["actor"] or {}).get("id") == second_id
                and e["action"] in ("USER_ADDED", "NEVER_LOG_ENTRIES_ADDED")
            ]
            assert all(n < removed_at for n in by_second), events
            assert len(by_second) == (0 if removed_first else 1), events

            # and what is stored agrees with the answers
            users = await one.client.data(
                "{ users(includeInactive: true, first: 100) { edges { node { email } } } }",
                token=first.token,
            )
            emails = {edge["node"]["email"] for edge in users["users"]["edges"]}
            _, account_list = await one.client.entries(first.token, scope="ACCOUNT")
            if removal == "deactivate":
                assert (new_email in emails) is not removed_first
            else:
                assert ([e["pattern"] for e in account_list] == [pattern]) is not removed_first


async def test_two_super_admins_removing_each_other_through_two_processes_leave_one(
    pg_db: Database, serve: Callable[..., Awaitable[list[Server]]]
) -> None:
    # given: two processes, and several accounts of two super admins each
    one, other = await serve(pg_db.url.render_as_string(hide_password=False), n=2)
    pairs = []
    for round_ in range(2 * ROUNDS):
        first = await new_account(pg_db, name=f"Mutual removal {round_}")
        pairs.append((first, *await _second_super_admin(one.client, first)))

    # when: in every account, at the same moment, each deactivates the other through a
    # different process (no ordering by the test: a free race)
    answers = await asyncio.gather(
        *(
            request
            for first, second_id, second_token in pairs
            for request in (
                _answer(one.client.post(DEACTIVATE, {"id": second_id}, token=first.token)),
                _answer(other.client.post(DEACTIVATE, {"id": first.user_id}, token=second_token)),
            )
        ),
        return_exceptions=True,
    )

    # then: in every account exactly one deactivation is applied, and one admin remains
    for n, (first, second_id, second_token) in enumerate(pairs):
        mine, theirs = answers[2 * n], answers[2 * n + 1]
        applied = [a for a in (mine, theirs) if isinstance(a, dict) and a["userErrors"] == []]
        assert len(applied) == 1, (mine, theirs)
        for refused in (mine, theirs):
            if isinstance(refused, BaseException):
                # signed in only after the other committed: the token is no longer valid
                assert "401" in str(refused) or "invalid_token" in str(refused), refused
            elif refused["userErrors"]:
                # no longer a super admin when it ran: refused as such, never applied
                assert _codes(refused) == ["FORBIDDEN"], refused
        survivor, gone = (
            (first.token, second_id) if mine is applied[0] else (second_token, first.user_id)
        )
        events = await _events(one.client, survivor)
        deactivations = [e for e in events if e["action"] == "USER_DEACTIVATED"]
        assert [e["subjectUser"]["id"] for e in deactivations] == [gone], events


async def test_a_user_deactivated_while_changing_their_own_list_is_refused_not_failed(
    pg_db: Database, serve: Callable[..., Awaitable[list[Server]]]
) -> None:
    # given: two processes, and accounts each with a user who holds a token
    one, other = await serve(pg_db.url.render_as_string(hide_password=False), n=2)
    rounds = []
    for round_ in range(2 * ROUNDS):
        admin = await new_account(pg_db, name=f"Own list race {round_}")
        user_id, token = await _second_super_admin(one.client, admin)
        rounds.append((admin, user_id, token))

    # when: in every account, at the same moment, the admin deactivates the user through one
    # process while the user adds to their personal list through the other (the two lock
    # the account's and the user's rows: in one order, or they would deadlock)
    answers = await asyncio.gather(
        *(
            request
            for admin, user_id, token in rounds
            for request in (
                _answer(one.client.post(DEACTIVATE, {"id": user_id}, token=admin.token)),
                _answer(
                    other.client.post(
                        """mutation { addNeverLogEntries(input: {scope: PERSONAL,
                            patterns: ["mum@family.example"]}) { added { pattern }
                            userErrors { code message } } }""",
                        token=token,
                    )
                ),
            )
        ),
        return_exceptions=True,
    )

    # then: every deactivation is applied, never an unexpected error; the list change is
    # refused (FORBIDDEN, or a token no longer valid) or was made before the deactivation
    for n, (admin, user_id, _) in enumerate(rounds):
        deactivated, added = answers[2 * n], answers[2 * n + 1]
        assert isinstance(deactivated, dict) and deactivated["userErrors"] == [], deactivated
        events = await _events(one.client, admin.token)
        removed_at = _index(events, "USER_DEACTIVATED", user_id)
        assert removed_at is not None, events
        changes = [
            i
            for i, e in enumerate(events)
            if e["action"] == "NEVER_LOG_ENTRIES_ADDED" and (e["actor"] or {}).get("id") == user_id
        ]
        if isinstance(added, BaseException):
            assert "401" in str(added) or "invalid_token" in str(added), added
            assert changes == [], events
        elif added["userErrors"]:
            assert _codes(added) == ["FORBIDDEN"], added
            assert changes == [], events
        else:
            assert len(changes) == 1 and changes[0] < removed_at, events
