"""The decision: which participants of an email are logged, how much of it, and why.

Each distinct participant is decided once (the first field it appears in wins), in input
order: from (an INBOUND email's sender), to, cc, bcc. The first rule that applies decides:

1. not a valid email address                          -> INVALID_ADDRESS
2. the lists apply and a NEVER_LOG entry matches      -> NEVER_LOG
3. the lists apply and the recipient's domain is an
   internal domain of the account or a subdomain      -> INTERNAL
4. the lists apply and the email is automated
   (INBOUND, the account skips automated email, and
   a header or the sender's name says so)             -> AUTOMATED
5. logging to the CRM is off                          -> LOGGING_OFF
6. the sender excluded the recipient                  -> EXCLUDED
7. a reply, the lists apply, and an original
   recipient matches a NEVER_LOG entry                -> REPLY_TO_NEVER_LOG_THREAD
8. no contact yet, and new contacts are off or the
   email is a reply (replies never create contacts)   -> NO_CONTACT
9. otherwise                                          -> LOGGED, with its capture

A LOGGED recipient's capture is the least of the account's, the sender's own, and the
action of every LOG_SUBJECT_ONLY or LOG_METADATA_ONLY entry that matches it or (for a
reply) a recipient of the original email. Those entries never decide an outcome.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache, partial
from itertools import chain
from operator import itemgetter
from typing import NamedTuple

from policy import explanations as explain
from policy.addresses import Address, parse_address, read_recipient
from policy.caching import LONGEST_CACHED, cached
from policy.inbound import DEFAULT_NAMES, automated_reason, check_email
from policy.patterns import Pattern
from policy.records import (
    MAX_RECIPIENTS,
    BadEmail,
    Decision,
    Email,
    Entry,
    OriginalEmail,
    RecipientDecision,
    Settings,
    TooManyRecipients,
)
from policy.types import (
    LISTS_APPLY,
    CaptureLevel,
    Channel,
    EmailDirection,
    EntryAction,
    Outcome,
    RecipientField,
    Scope,
)

__all__ = [
    "MAX_RECIPIENTS",
    "BadEmail",
    "Decision",
    "Email",
    "Entry",
    "Lists",
    "OriginalEmail",
    "ReadEmail",
    "RecipientDecision",
    "Settings",
    "TooManyRecipients",
    "decide",
    "decide_by",
    "keys_of",
    "lists_of",
    "lookup_keys",
    "read_email",
]

# A participant as given (trimmed), its field, its address where valid, and
# the keys of the entries that could match it.
_Recipient = tuple[str, RecipientField, Address | None, tuple[str, ...]]
# The entries by key: account-wide first, then personal.
_Index = tuple[dict[str, Entry], dict[str, Entry]]
# An entry that limits a capture, with the original recipient that it matched where it
# came from the email that a reply answers (else None).
_Limit = tuple[Entry, str | None]
_NOBODY: frozenset[str] = frozenset()
_NO_DOMAINS: Mapping[str, str] = {}
_FIELDS = (RecipientField.FROM, RecipientField.TO, RecipientField.CC, RecipientField.BCC)
_KEYS = itemgetter(3)  # a recipient's lookup keys
_FULL = CaptureLevel.FULL
_INBOUND = EmailDirection.INBOUND
_DEFAULTS = Settings()
# Each channel's words where the lists do not apply (explain.unlisted_channel), looked up.
_UNLISTED = {channel: explain.unlisted_channel(channel) for channel in Channel}


class Lists(NamedTuple):
    """What a decision looks its recipients up in, by key: the NEVER_LOG entries of the
    account-wide list and of the sender's personal list (one per key), all their keys, the
    internal domains by the keys that they answer, the entries that limit a capture
    (LOG_SUBJECT_ONLY, LOG_METADATA_ONLY) likewise, and the settings of the account and
    the sender. Made once for every email of one sender that a batch decides
    (``lists_of``): what does not match an email's recipients is never looked at, so one
    sender's lists serve all of that sender's emails."""

    account: dict[str, Entry]
    personal: dict[str, Entry]
    listed: frozenset[str]
    internal: Mapping[str, str]
    account_limits: dict[str, Entry] = {}  # noqa: RUF012 (never changed: a NamedTuple's default)
    personal_limits: dict[str, Entry] = {}  # noqa: RUF012
    limited: frozenset[str] = _NOBODY
    settings: Settings = _DEFAULTS


_NO_LISTS = Lists({}, {}, _NOBODY, _NO_DOMAINS)


def lists_of(
    entries: Iterable[Entry],
    internal: Mapping[str, str] | None = None,
    settings: Settings | None = None,
) -> Lists:
    """The lists of ``entries`` (account-wide and the sender's personal ones), of the
    account's ``internal`` domains (their ASCII form to their text) and the ``settings``
    of the account and the sender, for ``decide_by``."""
    blocking: list[Entry] = []
    limiting: list[Entry] = []
    for entry in entries:
        (blocking if entry.action is EntryAction.NEVER_LOG else limiting).append(entry)
    account, personal = _index(blocking)
    account_limits, personal_limits = _index(limiting) if limiting else ({}, {})
    return Lists(
        account,
        personal,
        frozenset(account.keys() | personal.keys()),
        _internal_keys(internal) if internal else _NO_DOMAINS,
        account_limits,
        personal_limits,
        frozenset(account_limits.keys() | personal_limits.keys()) if limiting else _NOBODY,
        _DEFAULTS if settings is None else settings,
    )


class ReadEmail(NamedTuple):
    """An email with its distinct participants and the recipients of its original, each
    parsed once, and the keys of the entries that could match any of them (empty where the
    channel's lists do not apply): what ``lookup_keys`` and ``decide`` both need, so that
    a caller that asks for both reads the email once."""

    email: Email
    recipients: list[_Recipient]
    originals: list[_Recipient]
    keys: frozenset[str]


# A named tuple built from a tuple of all its fields in order, without the Python call of
# its __new__ (which only checks them by name): the records that each email of a batch
# makes, a hundred a request.
_read_email = partial(tuple.__new__, ReadEmail)
_decision = partial(tuple.__new__, Decision)
assert ReadEmail._fields == ("email", "recipients", "originals", "keys")
assert Decision._fields == (
    *("channel", "never_log_applies", "email_sent", "recipients", "direction"),
    *("automated", "automated_reason"),
), "decide_by builds a Decision by position"


def read_email(email: Email, *, keyed: bool = True) -> ReadEmail:
    """The email read for deciding. Raises BadEmail or TooManyRecipients. Not ``keyed``:
    its keys are left empty, for a caller that gathers those of many emails at once
    (``keys_of``: a batch looks up one set of keys, never each email's)."""
    check_email(email)
    recipients, originals = _recipients_of(email)
    if not keyed or email.channel not in LISTS_APPLY:
        return _read_email((email, recipients, originals, _NOBODY))
    return _read_email((email, recipients, originals, _keys(chain(recipients, originals))))


def keys_of(read: Iterable[ReadEmail]) -> frozenset[str]:
    """Every entry key that could match a participant of any of these emails (or of their
    originals), as the union of their own keys would be, however they were read: one set
    built in C over all their recipients, rather than one per email and then their union."""
    return _keys(
        chain.from_iterable(
            chain(one.recipients, one.originals) for one in read if one.email.channel in LISTS_APPLY
        )
    )


def _keys(participants: Iterable[_Recipient]) -> frozenset[str]:
    """The lookup keys of these participants, as one set."""
    return frozenset(chain.from_iterable(map(_KEYS, participants)))


def lookup_keys(email: Email) -> frozenset[str]:
    """Every entry key that could match a participant of the email or its original.

    Empty where the channel's lists do not apply. Raises BadEmail or TooManyRecipients.
    """
    return read_email(email).keys


def decide(
    email: Email | ReadEmail,
    entries: Iterable[Entry],
    internal: Mapping[str, str] | None = None,
    settings: Settings | None = None,
) -> Decision:
    """Decide for every distinct participant of the email whether it is logged, and how
    much of the email.

    ``entries`` are those of the account-wide list and of the sender's
    personal list; entries that match no recipient are ignored. ``internal``
    maps the key of each internal domain of the account (its ASCII form) to
    its text; domains that cover no recipient are ignored. ``settings`` are the
    account's and the sender's (the defaults where None). Raises BadEmail, or
    TooManyRecipients where the email has more than MAX_RECIPIENTS. The email
    may be given as ``read_email`` read it.
    """
    channel = email.email.channel if isinstance(email, ReadEmail) else email.channel
    if channel in LISTS_APPLY:
        lists = lists_of(entries, internal, settings)
    else:
        lists = _bare(_DEFAULTS if settings is None else settings)
    return decide_by(email, lists)


def decide_by(email: Email | ReadEmail, lists: Lists) -> Decision:
    """``decide``, with the lists made beforehand (``lists_of``): the entries and
    internal domains of the account and of the email's sender, and their settings.
    Raises BadEmail or TooManyRecipients."""
    if isinstance(email, ReadEmail):
        email, recipients, originals, _ = email
    else:  # as read_email reads it, less the keys
        check_email(email)
        recipients, originals = _recipients_of(email)
    applies = email.channel in LISTS_APPLY
    settings = lists.settings
    if not applies:
        lists = _bare(settings)
    thread = _thread_match(originals, lists) if originals and lists.listed else None
    thread_limits = _thread_limits(originals, lists) if originals and lists.limited else None
    reason = None
    if applies and email.direction is _INBOUND and settings.skip_automated:
        names = settings.automated_names
        sender = recipients[0][2] if recipients else None
        reason = automated_reason(email.headers, sender, DEFAULT_NAMES if names is None else names)
    decisions = _apply_rules(email, recipients, lists, thread, thread_limits, reason)
    return _decision(
        (email.channel, applies, True, decisions, email.direction, reason is not None, reason)
    )


@lru_cache(maxsize=64)
def _bare(settings: Settings) -> Lists:
    """No lists, only the settings: where the lists do not apply."""
    return _NO_LISTS._replace(settings=settings)


def _apply_rules(
    email: Email,
    recipients: list[_Recipient],
    lists: Lists,
    thread: tuple[str, Entry] | None,
    thread_limits: tuple[_Limit | None, _Limit | None] | None,
    automated: str | None,
) -> tuple[RecipientDecision, ...]:
    """For each participant, the first of the nine rules that applies decides.

    ``thread`` is an original recipient that a NEVER_LOG entry matches, and the entry;
    ``thread_limits`` the most limiting entry of each list that matches an original
    recipient; ``automated`` why the email is automated, or None.
    This is the hot path: what each rule needs is looked up once, up front.
    """
    account, personal, listed, internal, _, _, limited, settings = lists
    excluded = _canonical(email.excluded_recipients)
    existing = _canonical(email.existing_contacts)
    new_contacts_off = not email.create_new_contacts
    no_new_contacts = new_contacts_off or email.in_reply_to is not None
    unlisted = _UNLISTED[email.channel]
    logging_off = not email.log_to_crm
    base = _base_capture(settings)
    # Nearly always: nothing limits what is logged, so a logged recipient is the one of old.
    in_full = base[0] is _FULL and thread_limits is None
    decisions: list[RecipientDecision] = []
    for given, field, address, keys in recipients:
        if address is None:  # 1
            decisions.append(_invalid(given, field))
            continue
        text = address.text
        # Most recipients match no entry: a set operation says so quickly. The entry that
        # decides: account-wide first, then the most specific key (inline: calls cost more
        # than these loops).
        entry = None
        if listed and not listed.isdisjoint(keys):
            for key in keys:
                if key in account:
                    entry = account[key]
                    break
            else:
                for key in keys:
                    if key in personal:
                        entry = personal[key]
                        break
        if entry is not None:  # 2 (no entries where the lists do not apply)
            decision = _never_logged(text, field, entry.pattern.text, entry.scope)
        elif internal and not internal.keys().isdisjoint(keys):  # 3
            why = explain.internal(text, _first_in_keys(internal, keys))
            decision = _not_logged(text, field, Outcome.INTERNAL, why)
        elif automated is not None:  # 4 (never set where the lists do not apply)
            decision = _not_logged(text, field, Outcome.AUTOMATED, explain.automated(automated))
        elif logging_off:  # 5
            why = explain.logging_off(text)
            decision = _not_logged(text, field, Outcome.LOGGING_OFF, why)
        elif text in excluded:  # 6
            decision = _not_logged(text, field, Outcome.EXCLUDED, explain.excluded(text))
        elif thread is not None:  # 7 (never set where the lists do not apply)
            original, entry = thread
            why = explain.reply_to_thread(text, original, entry.pattern.text, entry.scope)
            decision = _not_logged(text, field, Outcome.REPLY_TO_NEVER_LOG_THREAD, why, entry)
        elif no_new_contacts and text not in existing:  # 8
            why = explain.no_contact(text, new_contacts_off=new_contacts_off)
            decision = _not_logged(text, field, Outcome.NO_CONTACT, why)
        elif in_full and (not limited or limited.isdisjoint(keys)):  # 9, in full
            decision = _logged(text, field, text not in existing, unlisted)
        else:  # 9, with what limits the capture
            limit = _limit(lists, keys, thread_limits)
            if limit is not None:  # plain values: a cheap key for _limited's cache
                entry, through = limit
                named = (entry.pattern.text, entry.scope, entry.action, through)
            else:
                named = None
            decision = _limited(text, field, text not in existing, unlisted, base, named)
        decisions.append(decision)
    return tuple(decisions)


@lru_cache(maxsize=64)
def _base_capture(settings: Settings) -> tuple[CaptureLevel, str]:
    """The least of the account's capture and the sender's own, and whose it is
    ("the account's", "the sender's own"): the sender's where it is less."""
    account, sender = settings.account_capture, settings.sender_capture
    if sender is not None and sender.rank < account.rank:
        return sender, "the sender's own"
    return account, "the account's"


_ACTION_RANK = {
    action: _FULL.rank if action.capture is None else action.capture.rank for action in EntryAction
}


def _rank(entry: Entry) -> int:
    """How little an entry lets be kept: the least capture has the lowest rank."""
    return _ACTION_RANK[entry.action]


def _own_limit(table: dict[str, Entry], keys: tuple[str, ...]) -> Entry | None:
    """The most limiting entry of ``table`` among ``keys``; between entries of one action,
    the most specific (keys are most specific first)."""
    best: Entry | None = None
    for key in keys:
        entry = table.get(key)
        if entry is not None and (best is None or _rank(entry) < _rank(best)):
            best = entry
    return best


def _thread_limits(
    originals: list[_Recipient], lists: Lists
) -> tuple[_Limit | None, _Limit | None] | None:
    """The most limiting entry of each list (account-wide, personal) that matches a
    recipient of the original email, with that recipient: between entries of one action,
    the first such recipient (to, cc, bcc), then its most specific entry. None where none
    matches."""
    found: list[_Limit | None] = []
    for table in (lists.account_limits, lists.personal_limits):
        best: _Limit | None = None
        if table:
            for _, _, address, keys in originals:
                entry = _own_limit(table, keys)
                if (
                    address is not None
                    and entry is not None
                    and (best is None or _rank(entry) < _rank(best[0]))
                ):
                    best = (entry, address.text)
        found.append(best)
    if found[0] is None and found[1] is None:
        return None
    return found[0], found[1]


def _limit(
    lists: Lists,
    keys: tuple[str, ...],
    thread_limits: tuple[_Limit | None, _Limit | None] | None,
) -> _Limit | None:
    """The entry that limits a recipient's capture the most, from its own matches and
    the original email's: between entries of one action, account-wide before personal
    (rule 2's precedence), the recipient's own before the original's."""
    own_account = _own_limit(lists.account_limits, keys) if lists.account_limits else None
    own_personal = _own_limit(lists.personal_limits, keys) if lists.personal_limits else None
    thread_account, thread_personal = thread_limits or (None, None)
    best: _Limit | None = None
    for candidate in (
        None if own_account is None else (own_account, None),
        thread_account,
        None if own_personal is None else (own_personal, None),
        thread_personal,
    ):
        if candidate is not None and (best is None or _rank(candidate[0]) < _rank(best[0])):
            best = candidate
    return best


# Decisions are immutable values: where the same recipient is decided the
# same way again (the same email decided again), one instance serves, which is
# faster than building it anew. Arguments are by position, in field order;
# the flags as in the outcome table: logged_to_contact, contact_created,
# timeline_tracking, associated_records_logged, activity_feed_tracking.
_new = lru_cache(maxsize=4096)(RecipientDecision)
_NEVER_LOG = EntryAction.NEVER_LOG


@lru_cache(maxsize=4096)
def _logged(text: str, field: RecipientField, new: bool, unlisted: str | None) -> RecipientDecision:
    """A LOGGED recipient, in full: everything is recorded. Most recipients are logged:
    cached by these four (a valid address, so short), which spares the sentence and _new's
    hash of thirteen values."""
    why = explain.logged(text, new_contact=new, unlisted=unlisted)
    return RecipientDecision(
        text, field, Outcome.LOGGED, True, new, True, True, True, None, None, None, _FULL, why
    )


@lru_cache(maxsize=4096)
def _limited(
    text: str,
    field: RecipientField,
    new: bool,
    unlisted: str | None,
    base: tuple[CaptureLevel, str],
    limit: tuple[str, Scope, EntryAction, str | None] | None,
) -> RecipientDecision:
    """A LOGGED recipient with the least of ``base`` (the settings' capture, and whose it
    is) and ``limit`` (the entry that limits the most: its pattern, scope and action, and
    the original recipient it matched): the entry is named where it limits at least as
    much as the settings."""
    capture, whose = base
    if limit is not None:
        pattern, scope, action, original = limit
        allowed = action.capture
        if allowed is not None and allowed.rank <= capture.rank:
            why = explain.limited_by_entry(text, allowed, pattern, action, scope, original)
            return RecipientDecision(
                text, field, Outcome.LOGGED, True, new, True, True, True,
                pattern, scope, action, allowed, why,
            )  # fmt: skip
    why = explain.logged(text, new_contact=new, unlisted=unlisted)
    if capture is not _FULL:
        why = explain.limited_by_setting(why, capture, whose)
    return RecipientDecision(
        text, field, Outcome.LOGGED, True, new, True, True, True, None, None, None, capture, why
    )


@lru_cache(maxsize=4096)
def _never_logged(
    text: str, field: RecipientField, pattern: str, scope: Scope
) -> RecipientDecision:
    """A NEVER_LOG recipient, the next most common: cached by these four, as _logged is."""
    why = explain.never_log(text, pattern, scope)
    return RecipientDecision(
        text, field, Outcome.NEVER_LOG, False, False, False, False, True,
        pattern, scope, _NEVER_LOG, None, why,
    )  # fmt: skip


def _not_logged(
    text: str, field: RecipientField, outcome: Outcome, why: str, entry: Entry | None = None
) -> RecipientDecision:
    """A valid recipient that is not logged: only the activity feed tracks it."""
    if entry is None:
        return _new(
            text, field, outcome, False, False, False, False, True, None, None, None, None, why
        )
    pattern, scope = entry.pattern.text, entry.scope
    return _new(
        text, field, outcome, False, False, False, False, True,
        pattern, scope, _NEVER_LOG, None, why,
    )  # fmt: skip


def _invalid(given: str, field: RecipientField) -> RecipientDecision:
    """An invalid recipient: nothing at all is recorded."""
    why = explain.invalid(given)
    make = _new if len(given) <= LONGEST_CACHED else RecipientDecision
    return make(
        given, field, Outcome.INVALID_ADDRESS, False, False, False, False, False,
        None, None, None, None, why,
    )  # fmt: skip


def _distinct(*fields: tuple[str, ...], original: bool = False) -> list[_Recipient]:
    """Each distinct participant once, in the first of from, to, cc, bcc it is in.

    Valid participants are the same by canonical address, invalid ones by
    their trimmed input.
    """
    recipients: list[_Recipient] = []
    seen: set[str] = set()
    seen_invalid: set[str] = set()
    known = _recipient.young  # a recipient met a moment ago: one look-up, no call
    for field, values in zip(_FIELDS, fields, strict=True):
        for raw in values:
            found = known.get(raw)
            given, address, keys = _recipient(raw) if found is None else found
            if address is None:
                if given not in seen_invalid:
                    seen_invalid.add(given)
                    recipients.append((given, field, None, keys))
            elif (text := address.text) not in seen:
                seen.add(text)
                recipients.append((given, field, address, keys))
    if len(recipients) > MAX_RECIPIENTS:
        raise TooManyRecipients(len(recipients), MAX_RECIPIENTS, original=original)
    return recipients


@cached
def _recipient(raw: str) -> tuple[str, Address | None, tuple[str, ...]]:
    """A recipient as given, trimmed; its address and lookup keys where valid."""
    given = raw.strip()
    address, keys = read_recipient(given)
    return given, address, keys


def _recipients_of(email: Email) -> tuple[list[_Recipient], list[_Recipient]]:
    """The email's distinct participants (an INBOUND email's sender first), then the
    recipients of its original."""
    sender = email.sender_address
    return (
        _distinct(() if sender is None else (sender,), email.to, email.cc, email.bcc),
        _originals(email),
    )


def _originals(email: Email) -> list[_Recipient]:
    """The distinct recipients of the email that this one replies to."""
    original = email.in_reply_to
    if original is None:
        return []
    return _distinct((), original.to, original.cc, original.bcc, original=True)


def _canonical(recipients: tuple[str, ...]) -> frozenset[str]:
    """The canonical forms of the valid addresses among ``recipients``."""
    if not recipients:
        return _NOBODY
    if len(recipients) > _CANONICAL_CACHED or sum(map(len, recipients)) > 2 * LONGEST_CACHED:
        return _canonical_of(recipients)
    return _canonical_cached(recipients)


def _canonical_of(recipients: tuple[str, ...]) -> frozenset[str]:
    return frozenset(
        address.text for raw in recipients if (address := parse_address(raw)) is not None
    )


# An email's excluded recipients and existing contacts: the same few again and again (a
# mailbox's emails, a batch's), each set made once. Only a few short ones are cached (at
# most 1,024 of _CANONICAL_CACHED addresses and 2 * LONGEST_CACHED characters).
_CANONICAL_CACHED = 16
_canonical_cached = lru_cache(maxsize=1024)(_canonical_of)


def _index(entries: Iterable[Entry]) -> _Index:
    """The entries by key, one per key: the same whatever their order."""
    index: _Index = ({}, {})
    for entry in entries:
        table = index[0] if entry.scope is Scope.ACCOUNT else index[1]
        current = table.get(entry.pattern.key)
        if current is None or _order(entry.pattern) < _order(current.pattern):
            table[entry.pattern.key] = entry
    return index


def _order(pattern: Pattern) -> tuple[str, str]:
    """Which of two entries with one key to keep (only a forged pattern has a twin)."""
    return (pattern.text, pattern.kind.value)


def _internal_keys(internal: Mapping[str, str]) -> dict[str, str]:
    """The internal domains by the lookup keys that they answer (``@domain`` for a
    recipient at the domain, ``*.domain`` for one at a subdomain), to their text: a
    recipient's keys then say at once whether one covers it."""
    keyed: dict[str, str] = {}
    for domain, text in internal.items():
        keyed[f"@{domain}"] = text
        keyed[f"*.{domain}"] = text
    return keyed


def _first_in_keys(internal: Mapping[str, str], keys: tuple[str, ...]) -> str:
    """The text of the closest internal domain that covers a recipient with these keys
    (its own domain first, then its parents, closest first)."""
    return next(internal[key] for key in keys if key in internal)


def _first_in(table: dict[str, Entry], keys: tuple[str, ...]) -> Entry | None:
    for key in keys:
        entry = table.get(key)
        if entry is not None:
            return entry
    return None


def _thread_match(originals: list[_Recipient], lists: Lists) -> tuple[str, Entry] | None:
    """An original recipient that an entry matches, and the entry.

    Account-wide entries first; then the first such recipient, in the order
    to, cc, bcc; then its most specific entry.
    """
    for table in (lists.account, lists.personal):
        for _, _, address, keys in originals:
            entry = _first_in(table, keys)
            if address is not None and entry is not None:
                return address.text, entry
    return None
