"""Lists held in memory (tenancy/held_lists.py): they answer a decision with exactly the
rows of the look-up, a change is seen at once by the process that made it, the list
version moves with every change a decision reads, accounts never share them, and memory
stays within its bound. Two processes: tests/reliability/test_held_lists.py."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from typing import Any

import pytest

from persistence import held as held_rows
from persistence.database import Database
from persistence.entries import keyed_entries
from persistence.held import HeldRow
from policy import read_email
from tenancy import held_lists
from tenancy.decisions import email_from_dict
from tenancy.held_lists import HeldAccount, HeldLists
from tests.api.decision_helpers import (
    EVALUATE,
    add_patterns,
    counting_statements,
    email,
    evaluate,
    outcomes,
)
from tests.helpers import Api, Member

DOMAINS = """mutation($input: SetInternalDomainsInput!) { setInternalDomains(input: $input) {
    userErrors { code message } } }"""
ACCOUNT_SETTINGS = """mutation($input: UpdateAccountSettingsInput!) {
    updateAccountSettings(input: $input) { userErrors { code message } } }"""
MY_SETTINGS = """mutation($input: UpdateMySettingsInput!) {
    updateMySettings(input: $input) { userErrors { code message } } }"""

RECIPIENTS = [
    "bob@initech.de",
    "jane@brightpath.io",
    "anna@eu.northwind-traders.com",
    "max@our-company.example",
    "lee@sub.our-company.example",
    "kim@globex-partners.com",
    "zoe@umbrella-health.co.uk",
]


def _uuid(global_id: str) -> uuid.UUID:
    from schema.ids import decode_id

    return decode_id(global_id, "User")


def _account(member: Member) -> uuid.UUID:
    return uuid.UUID(hex=member.token.rpartition("_")[2])


async def _lists_of_every_kind(api: Api) -> tuple[Member, Member]:
    """An account with entries of every kind on its list and two personal lists, an
    internal domain and settings of its own."""
    admin = await api.new_account()
    user = await api.add_member(admin)
    await add_patterns(api, admin, ["*@initech.de", "*@*.northwind-traders.com"], scope="ACCOUNT")
    await add_patterns(api, admin, ["jane@brightpath.io", "*@globex-partners.com"])
    await add_patterns(api, user, ["zoe@umbrella-health.co.uk", "*@initech.de"])
    data = await api.data(
        DOMAINS,
        {"input": {"domains": ["our-company.example"], "usersDomainsAreInternal": True}},
        token=admin.token,
    )
    assert data["setInternalDomains"]["userErrors"] == []
    data = await api.data(
        ACCOUNT_SETTINGS, {"input": {"defaultCapture": "SUBJECT"}}, token=admin.token
    )
    assert data["updateAccountSettings"]["userErrors"] == []
    data = await api.data(MY_SETTINGS, {"input": {"defaultCapture": "METADATA"}}, token=user.token)
    assert data["updateMySettings"]["userErrors"] == []
    return admin, user


async def test_held_lists_answer_with_the_rows_of_the_look_up(api: Api, db: Database) -> None:
    # given an account with entries on every list, an internal domain and settings
    admin, user = await _lists_of_every_kind(api)
    account = _account(admin)
    owners_of = {
        "account": [account],
        "admin": [account, _uuid(admin.user_id)],
        "user": [account, _uuid(user.user_id)],
        "both": [account, _uuid(admin.user_id), _uuid(user.user_id)],
    }
    keys = read_email(email_from_dict(_saved(RECIPIENTS))).keys
    # when the account's lists are read whole, as held
    version, rows = await held_rows.held_rows(db, account)
    held = HeldAccount.of(version, rows, 0.0)
    # then for any owners and any keys they answer as the look-up does
    for owners in owners_of.values():
        for wanted in (keys, frozenset(list(keys)[:3]), frozenset()):
            looked_up = await keyed_entries(
                db=db, account_id=account, owner_ids=owners, keys=wanted
            )
            assert Counter(held.keyed_entries(owners, wanted)) == Counter(looked_up)
    assert version > 0


def _saved(to: list[str]) -> dict[str, Any]:
    return {
        "channel": "SALES_EXTENSION",
        "to": to,
        "cc": [],
        "bcc": [],
        "logToCrm": True,
        "createNewContacts": True,
        "excludedRecipients": [],
        "existingContacts": [],
        "inReplyTo": None,
    }


def test_an_entry_stops_applying_at_its_expiry_in_held_lists() -> None:
    # given held rows of one entry that expires in a moment and one that expired
    owner = uuid.uuid4()
    now = dt.datetime.now(dt.UTC)
    rows = [
        HeldRow(
            owner,
            "ACCOUNT",
            "ADDRESS",
            "a@x.com",
            "a@x.com",
            "NEVER_LOG",
            now + dt.timedelta(hours=1),
        ),
        HeldRow(
            owner,
            "ACCOUNT",
            "ADDRESS",
            "b@x.com",
            "b@x.com",
            "NEVER_LOG",
            now - dt.timedelta(seconds=1),
        ),
    ]
    held = HeldAccount.of(1, rows, 0.0)
    # when / then
    found = held.keyed_entries([owner], {"a@x.com", "b@x.com"})
    assert [row.pattern for row in found] == ["a@x.com"]


async def test_a_change_is_seen_at_once_by_the_process_that_made_it(api: Api) -> None:
    # given a decision that has the account's lists held
    admin = await api.new_account()
    given = email("SALES_EXTENSION", to=["bob@initech.de"])
    assert outcomes(await evaluate(api, admin, given)) == {"bob@initech.de": "LOGGED"}
    holder = held_lists.holder_of(api.db)
    assert holder is not None and _account(admin) in holder
    # when an entry is added, then removed
    await add_patterns(api, admin, ["*@initech.de"], scope="ACCOUNT")
    added = outcomes(await evaluate(api, admin, given))
    await api.data(
        """mutation { removeNeverLogEntries(input: {scope: ACCOUNT, patterns: ["*@initech.de"]}) {
        userErrors { code } } }""",
        token=admin.token,
    )
    removed = outcomes(await evaluate(api, admin, given))
    # then the next decision sees each change
    assert added == {"bob@initech.de": "NEVER_LOG"}
    assert removed == {"bob@initech.de": "LOGGED"}
    assert _account(admin) in holder


async def test_accounts_never_share_held_lists(api: Api) -> None:
    # given two accounts, one of which lists an address
    acme, globex = await api.new_account("Acme"), await api.new_account("Globex")
    await add_patterns(api, acme, ["bob@initech.de"], scope="ACCOUNT")
    given = email("SALES_EXTENSION", to=["bob@initech.de"])
    # when both decide, each twice (the second from the held lists)
    decided = [
        outcomes(await evaluate(api, member, given)) for member in (acme, globex, acme, globex)
    ]
    # then each account is decided by its own list only
    assert decided == [{"bob@initech.de": v} for v in ("NEVER_LOG", "LOGGED") * 2]
    holder = held_lists.holder_of(api.db)
    assert holder is not None and {_account(acme), _account(globex)} <= set(holder._held)


async def test_the_list_version_moves_with_every_change_a_decision_reads(
    api: Api, db: Database
) -> None:
    # given an account
    admin = await api.new_account()
    user = await api.add_member(admin)
    account = _account(admin)
    seen = [await held_rows.list_version(db, account)]

    async def moved() -> bool:
        seen.append(await held_rows.list_version(db, account))
        return seen[-1] > seen[-2]

    # when each kind of change is made, then the version moves
    await add_patterns(api, user, ["jane@brightpath.io"])
    assert await moved(), "a personal entry added"
    await add_patterns(api, admin, ["*@initech.de"], scope="ACCOUNT")
    assert await moved(), "an account-wide entry added"
    await api.data(
        DOMAINS,
        {"input": {"domains": ["our-company.example"], "usersDomainsAreInternal": False}},
        token=admin.token,
    )
    assert await moved(), "internal domains"
    await api.data(ACCOUNT_SETTINGS, {"input": {"skipAutomatedEmails": False}}, token=admin.token)
    assert await moved(), "the account's settings"
    await api.data(MY_SETTINGS, {"input": {"defaultCapture": "SUBJECT"}}, token=user.token)
    assert await moved(), "a user's settings"
    await api.data("{ viewer { user { id } } }", token=admin.token)
    assert not await moved(), "a read"


async def test_held_lists_stay_within_their_bound_in_bytes(api: Api, db: Database) -> None:
    # given six accounts with lists of the same size, and held lists with room for four of
    # them, on a clock of the test's
    members = [await api.new_account(f"Bound {n}") for n in range(6)]
    for n, member in enumerate(members):
        await add_patterns(api, member, [f"u{i}@bound{n}.example" for i in range(20)])
    now = [100.0]
    one = HeldAccount.of(0, (await held_rows.held_rows(db, _account(members[0])))[1], 0.0).size
    held = HeldLists(
        db, max_bytes=one * 4 + one // 2, idle=5.0, build_after=1, clock=lambda: now[0]
    )

    async def decide(member: Member) -> list[str]:
        owners = [_account(member), _uuid(member.user_id)]
        rows = await held.keyed_entries(_account(member), owners, {"u1@bound0.example"})
        return [row.pattern for row in rows if row.scope == "PERSONAL"]

    # when five decide in turn, all in use
    found = [await decide(member) for member in members[:5]]
    # then four are held, the fifth answered by the look-up, each by its own lists
    assert found == [["u1@bound0.example"], [], [], [], []]
    assert len(held) == 4 and _account(members[4]) not in held
    assert held.size <= held.max_bytes
    # and once the first are unused for `idle` seconds, a new one takes the place of one
    now[0] += 10
    await decide(members[5])
    assert _account(members[5]) in held and _account(members[0]) not in held
    assert len(held) == 4 and held.size <= held.max_bytes


@pytest.mark.postgresql
async def test_a_decision_on_held_lists_runs_no_statement_of_look_up(api: Api) -> None:
    # given a decision that has the account's lists held
    admin = await api.new_account()
    await add_patterns(api, admin, ["*@initech.de"], scope="ACCOUNT")
    variables = {"email": email("SALES_EXTENSION", to=["bob@initech.de"])}
    await api.data(EVALUATE, variables, token=admin.token)
    # when it decides again at once (within the half-second of its version)
    with counting_statements(api) as statements:
        decided = await api.data(EVALUATE, variables, token=admin.token)
    # then nothing read the entries or their version
    assert not [s for s in statements if "never_log_entries" in s or "list_versions" in s]
    assert outcomes(decided["evaluateEmailLogging"]) == {"bob@initech.de": "NEVER_LOG"}


async def test_an_account_is_held_whole_once_it_has_been_looked_up_often(
    api: Api, db: Database
) -> None:
    # given held lists that read an account whole after three look-ups
    admin = await api.new_account()
    await add_patterns(api, admin, ["bob@initech.de"], scope="ACCOUNT")
    held = HeldLists(db, build_after=3)
    owners = [_account(admin)]
    # when the account is looked up three times, each time for a key not held yet
    whole = []
    for n, key in enumerate(["bob@initech.de", "x@initech.de", "y@initech.de"]):
        whole.append(held.held_whole(_account(admin)))
        rows = await held.keyed_entries(_account(admin), owners, {"bob@initech.de", key})
        assert [row.pattern for row in rows if row.scope == "ACCOUNT"] == ["bob@initech.de"], n
    # then the first two held only their answers, and the third read the lists whole
    assert whole == [False, False, False] and held.held_whole(_account(admin))
    assert held.held_whole(_account(admin))


async def test_a_build_overtaken_by_a_change_answers_its_decision_but_is_not_held(
    api: Api, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given held lists that read an account whole at its first look-up, and a change of
    # the account that is told (its notice, a poll) while the lists are being read
    admin = await api.new_account()
    await add_patterns(api, admin, ["bob@initech.de"], scope="ACCOUNT")
    account = _account(admin)
    held = HeldLists(db, build_after=1)
    read_whole = held_rows.held_rows
    looked_up: list[Any] = []

    async def changed_while_read(database: Database, account_id: uuid.UUID) -> Any:
        found = await read_whole(database, account_id)
        held.forget(account_id)
        return found

    async def look_up(*args: Any, **kwargs: Any) -> Any:
        looked_up.append(args)
        raise AssertionError("the decision read the lists a second time")

    monkeypatch.setattr(held_rows, "held_rows", changed_while_read)
    monkeypatch.setattr(held_rows, "keyed_rows", look_up)
    # when a decision looks the account up
    rows = await held.keyed_entries(account, [account], {"bob@initech.de", "x@initech.de"})
    # then it is answered from the lists read, without a second read, and they are not held
    assert [r.pattern for r in rows if r.scope == "ACCOUNT"] == ["bob@initech.de"] and not looked_up
    assert not held.held_whole(account)


async def test_held_look_ups_answer_with_the_rows_of_the_look_up(api: Api, db: Database) -> None:
    # given an account with entries on every list, an internal domain and settings, and
    # held lists that hold each look-up's answer (never the lists whole)
    admin, user = await _lists_of_every_kind(api)
    account = _account(admin)
    held = HeldLists(db, build_after=1_000_000)
    owners_of = [
        [account, _uuid(admin.user_id)],
        [account, _uuid(user.user_id)],
        [account],
        [account, _uuid(admin.user_id), _uuid(user.user_id)],
    ]
    every = read_email(email_from_dict(_saved(RECIPIENTS))).keys
    some = frozenset(list(every)[:4])
    # when each is asked twice, for some keys and then for all of them
    for owners in owners_of:
        for wanted in (some, every, frozenset()):
            looked_up = await keyed_entries(
                db=db, account_id=account, owner_ids=owners, keys=wanted
            )
            first = await held.keyed_entries(account, owners, wanted)
            # then the held answer is there, and each answer is the look-up's
            current = held._held[account]
            assert not current.whole and current.answers(frozenset(owners), wanted)
            again = await held.keyed_entries(account, owners, wanted)
            assert Counter(first) == Counter(looked_up) == Counter(again), (owners, wanted)
    # and what was never looked up is not answered: a key, or an owner's list
    current = held._held[account]
    assert not current.answers(frozenset([account]), {"nobody@else.example"})
    assert not current.answers(frozenset([account, uuid.uuid4()]), some)
    # and the bytes counted are those of what is held
    assert held.size == current.size > 0


async def test_a_change_past_this_process_is_seen_within_the_bound(api: Api, db: Database) -> None:
    """The freshness of what another process committed, on held lists that no notice
    reaches: on SQLite at the next decision (PRAGMA data_version), on PostgreSQL at every
    decision that begins CHECK_EVERY after the commit (one poll of the changed accounts
    for every held account, not a read per account)."""
    # given three accounts held (each look-up's answer), on a clock of the test's
    members = [await api.new_account(f"Polled {n}") for n in range(3)]
    now = [100.0]
    held = HeldLists(db, build_after=1_000_000, clock=lambda: now[0])
    keys = {"bob@initech.de", "@initech.de"}

    async def listed(member: Member) -> list[str]:
        rows = await held.keyed_entries(_account(member), [_account(member)], keys)
        return [row.pattern for row in rows if row.scope == "ACCOUNT"]

    for _ in range(2):  # the second round after the first poll (which drops what it finds)
        assert [await listed(m) for m in members] == [[], [], []]
        now[0] += 1.0
    assert [await listed(m) for m in members] == [[], [], []]
    assert all(_account(m) in held for m in members)
    polls = held.polls
    # when another client of the database (the api's own process, whose drop after the
    # commit does not reach these held lists) adds an entry to the first account
    await add_patterns(api, members[0], ["*@initech.de"], scope="ACCOUNT")
    # then on SQLite the next decision sees it; on PostgreSQL every decision that begins
    # CHECK_EVERY after the commit does
    if db.is_postgresql:
        now[0] += held_lists.CHECK_EVERY
    found = [await listed(m) for m in members]
    assert found == [["*@initech.de"], [], []]
    if db.is_postgresql:
        # one poll for all of them, which left the others held
        assert held.polls == polls + 1
        assert all(_account(m) in held for m in members[1:])
