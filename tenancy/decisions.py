"""Deciding what is logged for an email, and saved simulations of it.

A decision reads only the entries that could match the email's recipients: one indexed
query on (account_id, owner_id, match_key) over the account-wide list and the sender's
personal list, whose cost follows the number of recipients, never the size of the lists.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from functools import lru_cache, partial
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from persistence import accounts, entries, simulations
from persistence.database import Database
from persistence.entries import ACCOUNT_SETTINGS_SCOPE, USER_SETTINGS_SCOPE, KeyedEntry
from persistence.internal_domains import INTERNAL_SCOPE
from persistence.tables import EmailSimulation, User
from policy import (
    MAX_RECIPIENTS,
    BadEmail,
    CaptureLevel,
    Channel,
    Decision,
    Email,
    EmailDirection,
    Entry,
    EntryAction,
    EntryKind,
    Lists,
    OriginalEmail,
    Pattern,
    ReadEmail,
    Scope,
    Settings,
    TooManyRecipients,
    decide_by,
    keys_of,
    lists_of,
    read_email,
)
from policy.errors import ErrorCode, Refusal, not_found
from policy.inbound import sender_names
from policy.syntax import LONGEST
from tenancy import held_lists
from tenancy.account_limits import DEFAULT_SIMULATION_LIMIT
from tenancy.roles import Action, Viewer, actor_now, may_act_as
from tenancy.text import checked_name, refuse_nul


def entry_of(row: KeyedEntry) -> Entry:
    return Entry(
        scope=Scope(row.scope),
        pattern=Pattern(kind=EntryKind(row.kind), text=row.pattern, key=row.match_key),
        action=EntryAction(row.action),
    )


@lru_cache(maxsize=1024)
def settings_of(
    account_capture: str, skip_automated: str, names: str, sender_capture: str
) -> Settings:
    """The settings that a decision reads, from the look-up's settings rows (KeyedEntry):
    the same few values again and again, so made once each."""
    listed = json.loads(names) if names else None
    return Settings(
        account_capture=CaptureLevel(account_capture),
        sender_capture=CaptureLevel(sender_capture) if sender_capture else None,
        skip_automated=skip_automated == "true",
        automated_names=None if listed is None else sender_names(tuple(listed)),
    )


async def keyed_entries(
    db: Database,
    viewer: Viewer,
    sender_ids: Collection[uuid.UUID],
    keys: Collection[str],
    *,
    session: AsyncSession | None = None,
) -> list[KeyedEntry]:
    """The read of every decision: the entries that could match ``keys`` on the
    account-wide list and on these senders' personal lists, with the account's internal
    domains and the settings of the account and of these senders (even without keys). In
    ``session`` where given (a change deciding under its lock), else in a statement of its
    own. The senders are those the viewer may decide for or see the simulations of;
    decisions made from these rows leave tenancy through this module and
    ``tenancy.privacy``, which decides what of another user's list the viewer is shown."""
    owner_ids = [viewer.account_id, *sender_ids]
    if session is None:
        # From the lists this process holds in memory (tenancy/held_lists.py), where it does.
        return await held_lists.keyed_entries(
            db=db, account_id=viewer.account_id, owner_ids=owner_ids, keys=keys
        )
    return await entries.keyed_entries(
        db=db, account_id=viewer.account_id, owner_ids=owner_ids, keys=keys, session=session
    )


def decide_with(
    email: Email | ReadEmail,
    sender_id: uuid.UUID,
    account_id: uuid.UUID,
    rows: Sequence[KeyedEntry],
) -> Decision:
    """Decide with the rows that belong to this sender's lists (rows may hold other
    senders' entries), and the account's internal domains among them (rows of scope
    INTERNAL, which the same look-up returns). The email may be given as
    ``policy.read_email`` read it for its look-up."""
    return decide_by(email, lists_for(rows, account_id, sender_id))


def lists_for(
    rows: Sequence[KeyedEntry],
    account_id: uuid.UUID,
    sender_id: uuid.UUID,
    entry: Callable[[KeyedEntry], Entry] = entry_of,
) -> Lists:
    """The lists that decide for this sender, of the rows that belong to them (the
    account-wide list, the sender's personal list, the account's internal domains, the
    account's settings and the sender's). ``entry`` makes a row's entry (a batch builds
    each row's once for all its senders)."""
    owners = (account_id, sender_id)
    found: list[Entry] = []
    internal: dict[str, str] = {}
    account: KeyedEntry | None = None
    sender_capture = ""
    for row in rows:
        scope = row.scope
        if scope == INTERNAL_SCOPE:
            internal[row.match_key.removeprefix("@").removeprefix("*.")] = row.pattern
        elif scope == ACCOUNT_SETTINGS_SCOPE:
            account = row
        elif scope == USER_SETTINGS_SCOPE:
            if row.owner_id == sender_id:
                sender_capture = row.kind
        elif row.owner_id in owners:
            found.append(entry(row))
    settings = (
        None
        if account is None
        else settings_of(account.kind, account.pattern, account.match_key, sender_capture)
    )
    return lists_of(found, internal, settings)


def _refuse_unstorable(email: Email) -> None:
    """A saved email may not hold a NUL (PostgreSQL cannot store one)."""
    at = ("input", "email")
    original = email.in_reply_to
    for name, values in (
        ("to", email.to),
        ("cc", email.cc),
        ("bcc", email.bcc),
        ("excludedRecipients", email.excluded_recipients),
        ("existingContacts", email.existing_contacts),
        *(
            ()
            if original is None
            else (
                ("inReplyTo.to", original.to),
                ("inReplyTo.cc", original.cc),
                ("inReplyTo.bcc", original.bcc),
            )
        ),
    ):
        refuse_nul(values, [*at, *name.split(".")])
        _refuse_long(values, [*at, *name.split(".")])
    sender = email.sender_address
    if sender is not None:
        refuse_nul([sender], [*at, "from"])
        _refuse_long([sender], [*at, "from"])
    for index, (name, value) in enumerate(email.headers):
        if "\x00" in name or "\x00" in value:
            raise Refusal.one(
                ErrorCode.INVALID_INPUT,
                f"Header {index} ({name[:40]!r}) holds the NUL character (U+0000), which a "
                "saved simulation cannot store.",
                [*at, "headers", str(index)],
            )


def check_recipient_lists(email: Email, at: Sequence[str]) -> None:
    """Input lists are capped: more than MAX_RECIPIENTS excluded or existing contacts is
    refused like more than MAX_RECIPIENTS recipients. ``at`` is the input path of the email
    (``email`` in evaluateEmailLogging, ``input.email`` in runEmailLoggingSimulation)."""
    for name, values in (
        ("excludedRecipients", email.excluded_recipients),
        ("existingContacts", email.existing_contacts),
    ):
        if len(values) > MAX_RECIPIENTS:
            raise Refusal.one(
                ErrorCode.TOO_MANY_VALUES,
                f"{name} may hold at most {MAX_RECIPIENTS} addresses; it holds {len(values)}.",
                [*at, name],
            )


async def _sender(
    session: AsyncSession, viewer: Viewer, sender_id: uuid.UUID | None, at: Sequence[str]
) -> uuid.UUID:
    """The sender to decide for: the viewer, or an active user that a super admin names."""
    sender = may_act_as(viewer, sender_id, Action.DECIDE_FOR_ANOTHER_SENDER)
    if sender == viewer.user_id:
        return sender  # authentication has just checked that the viewer is active
    user = await accounts.get_user(session=session, account_id=viewer.account_id, user_id=sender)
    _check_sender(user, [*at, "senderId"])
    return sender


class Decided(NamedTuple):
    """A decision and the sender it was made for (a named tuple: a batch makes a hundred)."""

    decision: Decision
    sender_id: uuid.UUID


_decided = partial(tuple.__new__, Decided)  # by position, without Decided's Python __new__


async def evaluate(
    db: Database, viewer: Viewer, email: Email, *, sender_id: uuid.UUID | None
) -> Decided:
    """Decide, saving nothing: the checks in the order of every decision, then one
    look-up. Raises TooManyRecipients, BadEmail, Refusal or Forbidden."""
    at = ["email"]
    check_recipient_lists(email, at)
    read = read_email(email)
    sender = may_act_as(viewer, sender_id, Action.DECIDE_FOR_ANOTHER_SENDER)
    if sender != viewer.user_id:
        async with db.transaction(viewer.account_id) as session:
            user = await accounts.get_user(
                session=session, account_id=viewer.account_id, user_id=sender
            )
        _check_sender(user, [*at, "senderId"])
    rows = await keyed_entries(db, viewer, [sender], read.keys)
    return Decided(decide_by(read, lists_for(rows, viewer.account_id, sender)), sender)


MAX_BATCH_EMAILS = 100
MAX_BATCH_RECIPIENTS = 5_000


class InEmail(Exception):
    """The error of one email of a batch (``index``), which fails the whole batch."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(str(error))
        self.index = index
        self.error = error


def given_recipients(email: Email) -> int:
    """The recipients of an email as given in to, cc and bcc (repeats included)."""
    return len(email.to) + len(email.cc) + len(email.bcc)


async def evaluate_batch(
    db: Database, viewer: Viewer, emails: Sequence[tuple[Email, uuid.UUID | None]]
) -> list[Decided]:
    """Decide for each (email, sender) exactly as ``evaluate``, in input order, with one
    look-up for all of them. Raises Refusal (TOO_MANY_VALUES) past MAX_BATCH_EMAILS or
    MAX_BATCH_RECIPIENTS, and InEmail with the error that ``evaluate`` would raise for the
    first email (lowest index) that fails."""
    recipients = sum(given_recipients(email) for email, _ in emails)
    if len(emails) > MAX_BATCH_EMAILS or recipients > MAX_BATCH_RECIPIENTS:
        raise Refusal.one(
            ErrorCode.TOO_MANY_VALUES,
            f"A batch may hold at most {MAX_BATCH_EMAILS} emails and "
            f"{MAX_BATCH_RECIPIENTS:,} recipients (to, cc and bcc) in all; this one holds "
            f"{len(emails)} emails and {recipients:,} recipients.",
            ["emails"],
        )
    return await _evaluate_all(db, viewer, emails, lambda index: ["emails", str(index)])


async def _evaluate_all(
    db: Database,
    viewer: Viewer,
    emails: Sequence[tuple[Email, uuid.UUID | None]],
    at: Callable[[int], list[str]],
) -> list[Decided]:
    """Decide for every email in one transaction: the senders that must be read (other
    users named by a super admin) in one query, then the entries of the account-wide list
    and of every sender's personal list that could match any recipient, in one query.
    Each email's checks run in the order of a single decision; the first email that fails
    (lowest index) fails them all, as InEmail.

    An email given again with the same sender (a thread's emails, a retried page) is read
    and decided once: its checks, its reading and its decision depend on nothing else (the
    viewer's and the lists are the batch's), so its later copies take the first one's
    Decided, the very same object (which lets the answer build it once too)."""
    if not emails:
        return []
    read: list[ReadEmail] = []
    senders: list[uuid.UUID] = []
    # For each email, the index of its first copy in the batch (its own where it is one).
    first_of: list[int] = []
    firsts: dict[tuple[Email, uuid.UUID | None], int] = {}
    failed: InEmail | None = None
    for index, given in enumerate(emails):
        try:
            earlier = firsts.setdefault(given, index)
        except TypeError:  # a value that cannot be hashed: read on its own
            earlier = index
        if earlier != index:
            first_of.append(earlier)
            read.append(read[earlier])
            senders.append(senders[earlier])
            continue
        email, sender_id = given
        try:
            check_recipient_lists(email, at(index))
            read.append(read_email(email, keyed=False))  # keys gathered at once below
            senders.append(may_act_as(viewer, sender_id, Action.DECIDE_FOR_ANOTHER_SENDER))
        except (Refusal, TooManyRecipients, BadEmail) as error:
            failed = InEmail(index, error)
            break
        first_of.append(index)
    # The distinct senders, found by identity first (a batch's copies share theirs; a
    # UUID hashes and compares in Python).
    distinct = list({id(sender): sender for sender in senders}.values())
    others = {sender for sender in distinct if sender != viewer.user_id}
    wanted = keys_of({id(one): one for one in read}.values())
    if failed is not None and not others:
        raise failed
    if others:
        async with db.transaction(viewer.account_id) as session:
            users = await accounts.get_users(
                session=session, account_id=viewer.account_id, user_ids=list(others)
            )
        for index, sender in enumerate(senders):
            if sender != viewer.user_id:
                try:
                    _check_sender(users.get(sender), [*at(index), "senderId"])
                except Refusal as error:
                    raise InEmail(index, error) from None
    if failed is not None:
        raise failed
    # One statement of its own: one round trip on PostgreSQL (Database.read_once).
    rows = await keyed_entries(db, viewer, set(distinct), wanted)
    # One sender's lists serve every email of that sender: the rows of the other emails'
    # recipients are never looked at (policy.Lists). A row's entry is built once, however
    # many senders' lists it is on (the rows live until the end, so their ids stay theirs).
    built: dict[int, Entry] = {}

    def entry(row: KeyedEntry) -> Entry:
        found = built.get(id(row))
        if found is None:
            found = built[id(row)] = entry_of(row)
        return found

    # Each sender's lists, by the sender's identity (the senders live until the end; a
    # UUID hashes in Python): the emails of one sender share their sender's UUID, as
    # ``distinct`` found them.
    lists: dict[int, Lists] = {}
    decided: list[Decided] = []
    for index, (one, sender) in enumerate(zip(read, senders, strict=True)):
        earlier = first_of[index]
        if earlier != index:
            decided.append(decided[earlier])
            continue
        sender_lists = lists.get(id(sender))
        if sender_lists is None:
            sender_lists = lists[id(sender)] = lists_for(rows, viewer.account_id, sender, entry)
        decided.append(_decided((decide_by(one, sender_lists), sender)))
    return decided


def _check_sender(user: User | None, at: list[str]) -> None:
    """A sender named by a super admin must be an active user of the account."""
    if user is None:
        raise not_found("user", at)
    if not user.active:
        raise Refusal.one(
            ErrorCode.INVALID_INPUT,
            f"{user.email} is deactivated: decide for an active user.",
            at,
        )


def _refuse_long(values: Sequence[str], at: Sequence[str]) -> None:
    """A saved address is at most LONGEST characters: what an account stores stays bounded
    (an evaluation takes longer ones, and finds them invalid)."""
    for n, value in enumerate(values):
        if len(value) > LONGEST:
            raise Refusal.one(
                ErrorCode.INVALID_ADDRESS,
                f"An address of a saved simulation is at most {LONGEST} characters; this one "
                f"has {len(value)}.",
                [*at, str(n)],
            )


async def run_simulation(
    db: Database,
    viewer: Viewer,
    email: Email,
    *,
    sender_id: uuid.UUID | None,
    name: str | None,
    limit: int = DEFAULT_SIMULATION_LIMIT,
) -> EmailSimulation:
    """Decide and save the email with its decision; refused with LIMIT_EXCEEDED where the
    account holds ``limit`` simulations already."""
    if name is not None and name.strip():
        name = checked_name(name, ["input", "name"], what="A simulation's name")
    else:
        name = None
    _refuse_unstorable(email)
    check_recipient_lists(email, ["input", "email"])
    try:
        read = read_email(email)
    except TooManyRecipients as exc:
        raise Refusal.one(ErrorCode.TOO_MANY_VALUES, str(exc), ["input", "email"]) from exc
    async with db.transaction(viewer.account_id, write=True) as session:
        sender = await _sender(session, viewer, sender_id, ["input", "email"])
        # Counted under the account's lock, so that concurrent runs cannot pass the limit.
        await accounts.lock_account(session=session, account_id=viewer.account_id)
        held = await simulations.count_simulations(session=session, account_id=viewer.account_id)
        if held >= limit:
            raise Refusal.one(
                ErrorCode.LIMIT_EXCEEDED,
                f"The account holds {held} saved simulations, its limit of {limit}: delete "
                "some before saving another.",
                ["input"],
            )
        # The role at the moment of the change, after the lock (tenancy.roles.actor_now).
        other = sender != viewer.user_id
        await actor_now(session, viewer, action=Action.DECIDE_FOR_ANOTHER_SENDER if other else None)
        rows = await keyed_entries(db, viewer, [sender], read.keys, session=session)
        decision = decide_with(read, sender, viewer.account_id, rows)
        return await simulations.insert_simulation(
            session=session,
            account_id=viewer.account_id,
            name=name,
            created_by_id=viewer.user_id,
            sender_id=sender,
            email=email_to_dict(email),
            recorded=decision.to_dict(),
        )


async def delete_simulation(db: Database, viewer: Viewer, *, simulation_id: uuid.UUID) -> uuid.UUID:
    async with db.transaction(viewer.account_id, write=True) as session:
        found = await simulations.get_simulation(
            session=session, account_id=viewer.account_id, simulation_id=simulation_id
        )
        if found is None or not viewer.may_see(Action.SEE_ACCOUNT_SIMULATIONS, found.created_by_id):
            raise not_found("simulation", ["input", "id"])
        await simulations.delete_simulation(
            session=session, account_id=viewer.account_id, simulation_id=simulation_id
        )
        return simulation_id


def email_to_dict(email: Email) -> dict[str, Any]:
    original = email.in_reply_to
    return {
        "channel": email.channel.value,
        "to": list(email.to),
        "cc": list(email.cc),
        "bcc": list(email.bcc),
        "logToCrm": email.log_to_crm,
        "createNewContacts": email.create_new_contacts,
        "excludedRecipients": list(email.excluded_recipients),
        "existingContacts": list(email.existing_contacts),
        "inReplyTo": None
        if original is None
        else {"to": list(original.to), "cc": list(original.cc), "bcc": list(original.bcc)},
        "direction": email.direction.value,
        "from": email.sender_address,
        "headers": [{"name": name, "value": value} for name, value in email.headers],
    }


def email_from_dict(data: Mapping[str, Any]) -> Email:
    original = data.get("inReplyTo")
    return Email(
        channel=Channel(data["channel"]),
        to=tuple(data["to"]),
        cc=tuple(data["cc"]),
        bcc=tuple(data["bcc"]),
        log_to_crm=bool(data["logToCrm"]),
        create_new_contacts=bool(data["createNewContacts"]),
        excluded_recipients=tuple(data["excludedRecipients"]),
        existing_contacts=tuple(data["existingContacts"]),
        in_reply_to=None
        if original is None
        else OriginalEmail(
            to=tuple(original["to"]), cc=tuple(original["cc"]), bcc=tuple(original["bcc"])
        ),
        # Absent from an email saved before inbound email: an outbound one.
        direction=EmailDirection(data.get("direction") or EmailDirection.OUTBOUND.value),
        sender_address=data.get("from"),
        headers=tuple((h["name"], h["value"]) for h in data.get("headers") or ()),
    )
