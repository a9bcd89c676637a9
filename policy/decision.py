"""The decision: which recipients of an email are logged, and why.

Each distinct recipient is decided once (the first field it appears in wins),
in input order: to, cc, bcc. The first rule that applies decides:

1. not a valid email address                          -> INVALID_ADDRESS
2. the lists apply and an entry matches               -> NEVER_LOG
3. the lists apply and the recipient's domain is an
   internal domain of the account or a subdomain      -> INTERNAL
4. logging to the CRM is off                          -> LOGGING_OFF
5. the sender excluded the recipient                  -> EXCLUDED
6. a reply, the lists apply, and an original
   recipient matches an entry                         -> REPLY_TO_NEVER_LOG_THREAD
7. no contact yet, and new contacts are off or the
   email is a reply (replies never create contacts)   -> NO_CONTACT
8. otherwise                                          -> LOGGED
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from itertools import chain
from operator import itemgetter
from typing import NamedTuple

from policy import explanations as explain
from policy.addresses import Address, parse_address, read_recipient
from policy.caching import LONGEST_CACHED, cached
from policy.patterns import Pattern
from policy.records import (
    MAX_RECIPIENTS,
    Decision,
    Email,
    Entry,
    OriginalEmail,
    RecipientDecision,
    TooManyRecipients,
)
from policy.types import LISTS_APPLY, Outcome, RecipientField, Scope

__all__ = [
    "MAX_RECIPIENTS",
    "Decision",
    "Email",
    "Entry",
    "Lists",
    "OriginalEmail",
    "ReadEmail",
    "RecipientDecision",
    "TooManyRecipients",
    "decide",
    "decide_by",
    "lists_of",
    "lookup_keys",
    "read_email",
]

# A recipient as given (trimmed), its field, its address where valid, and
# the keys of the entries that could match it.
_Recipient = tuple[str, RecipientField, Address | None, tuple[str, ...]]
# The entries by key: account-wide first, then personal.
_Index = tuple[dict[str, Entry], dict[str, Entry]]
_NOBODY: frozenset[str] = frozenset()
_NO_DOMAINS: Mapping[str, str] = {}
_FIELDS = (RecipientField.TO, RecipientField.CC, RecipientField.BCC)
_KEYS = itemgetter(3)  # a recipient's lookup keys


class Lists(NamedTuple):
    """What a decision looks its recipients up in, by key: the entries of the account-wide
    list and of the sender's personal list (one per key), all their keys, and the internal
    domains by the keys that they answer. Made once for every email of one sender that a
    batch decides (``lists_of``): what does not match an email's recipients is never
    looked at, so one sender's lists serve all of that sender's emails."""

    account: dict[str, Entry]
    personal: dict[str, Entry]
    listed: frozenset[str]
    internal: Mapping[str, str]


_NO_LISTS = Lists({}, {}, _NOBODY, _NO_DOMAINS)


def lists_of(entries: Iterable[Entry], internal: Mapping[str, str] | None = None) -> Lists:
    """The lists of ``entries`` (account-wide and the sender's personal ones) and of the
    account's ``internal`` domains (their ASCII form to their text), for ``decide_by``."""
    account, personal = _index(entries)
    return Lists(
        account,
        personal,
        frozenset(account.keys() | personal.keys()),
        _internal_keys(internal) if internal else _NO_DOMAINS,
    )


class ReadEmail(NamedTuple):
    """An email with its distinct recipients and those of its original, each parsed once,
    and the keys of the entries that could match any of them (empty where the channel's
    lists do not apply): what ``lookup_keys`` and ``decide`` both need, so that a caller
    that asks for both reads the email once."""

    email: Email
    recipients: list[_Recipient]
    originals: list[_Recipient]
    keys: frozenset[str]


def read_email(email: Email) -> ReadEmail:
    """The email read for deciding. Raises TooManyRecipients."""
    recipients, originals = _recipients_of(email)
    if email.channel not in LISTS_APPLY:
        return ReadEmail(email, recipients, originals, _NOBODY)
    keys = frozenset(chain.from_iterable(map(_KEYS, chain(recipients, originals))))
    return ReadEmail(email, recipients, originals, keys)


def lookup_keys(email: Email) -> frozenset[str]:
    """Every entry key that could match a recipient of the email or its original.

    Empty where the channel's lists do not apply. Raises TooManyRecipients.
    """
    return read_email(email).keys


def decide(
    email: Email | ReadEmail, entries: Iterable[Entry], internal: Mapping[str, str] | None = None
) -> Decision:
    """Decide for every distinct recipient of the email whether it is logged.

    ``entries`` are those of the account-wide list and of the sender's
    personal list; entries that match no recipient are ignored. ``internal``
    maps the key of each internal domain of the account (its ASCII form) to
    its text; domains that cover no recipient are ignored. Raises
    TooManyRecipients where the email has more than MAX_RECIPIENTS. The email
    may be given as ``read_email`` read it.
    """
    channel = email.email.channel if isinstance(email, ReadEmail) else email.channel
    lists = lists_of(entries, internal) if channel in LISTS_APPLY else _NO_LISTS
    return decide_by(email, lists)


def decide_by(email: Email | ReadEmail, lists: Lists) -> Decision:
    """``decide``, with the lists made beforehand (``lists_of``): the entries and
    internal domains of the account and of the email's sender. Raises TooManyRecipients."""
    if isinstance(email, ReadEmail):
        email, recipients, originals, _ = email
    else:  # as read_email reads it, less the keys
        recipients, originals = _recipients_of(email)
    applies = email.channel in LISTS_APPLY
    if not applies:
        lists = _NO_LISTS
    thread = _thread_match(originals, lists) if originals else None
    decisions = _apply_rules(email, recipients, lists, thread)
    return Decision(email.channel, applies, True, decisions)


def _apply_rules(
    email: Email,
    recipients: list[_Recipient],
    lists: Lists,
    thread: tuple[str, Entry] | None,
) -> tuple[RecipientDecision, ...]:
    """For each recipient, the first of the eight rules that applies decides.

    ``thread`` is an original recipient that an entry matches, and the entry.
    This is the hot path: what each rule needs is looked up once, up front.
    """
    account, personal, listed, internal = lists
    excluded = _canonical(email.excluded_recipients)
    existing = _canonical(email.existing_contacts)
    new_contacts_off = not email.create_new_contacts
    no_new_contacts = new_contacts_off or email.in_reply_to is not None
    unlisted = explain.unlisted_channel(email.channel)
    logging_off = not email.log_to_crm
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
        elif logging_off:  # 4
            why = explain.logging_off(text)
            decision = _not_logged(text, field, Outcome.LOGGING_OFF, why)
        elif text in excluded:  # 5
            decision = _not_logged(text, field, Outcome.EXCLUDED, explain.excluded(text))
        elif thread is not None:  # 6 (never set where the lists do not apply)
            original, entry = thread
            why = explain.reply_to_thread(text, original, entry.pattern.text, entry.scope)
            decision = _not_logged(text, field, Outcome.REPLY_TO_NEVER_LOG_THREAD, why, entry)
        elif no_new_contacts and text not in existing:  # 7
            why = explain.no_contact(text, new_contacts_off=new_contacts_off)
            decision = _not_logged(text, field, Outcome.NO_CONTACT, why)
        else:  # 8
            decision = _logged(text, field, text not in existing, unlisted)
        decisions.append(decision)
    return tuple(decisions)


# Decisions are immutable values: where the same recipient is decided the
# same way again (the same email decided again), one instance serves, which is
# faster than building it anew. Arguments are by position, in field order;
# the flags as in the outcome table: logged_to_contact, contact_created,
# timeline_tracking, associated_records_logged, activity_feed_tracking.
_new = lru_cache(maxsize=4096)(RecipientDecision)


@lru_cache(maxsize=4096)
def _logged(text: str, field: RecipientField, new: bool, unlisted: str | None) -> RecipientDecision:
    """A LOGGED recipient: everything is recorded. Most recipients are logged: cached by
    these four (a valid address, so short), which spares the sentence and _new's hash of
    eleven values."""
    why = explain.logged(text, new_contact=new, unlisted=unlisted)
    return RecipientDecision(
        text, field, Outcome.LOGGED, True, new, True, True, True, None, None, why
    )


@lru_cache(maxsize=4096)
def _never_logged(
    text: str, field: RecipientField, pattern: str, scope: Scope
) -> RecipientDecision:
    """A NEVER_LOG recipient, the next most common: cached by these four, as _logged is."""
    why = explain.never_log(text, pattern, scope)
    return RecipientDecision(
        text, field, Outcome.NEVER_LOG, False, False, False, False, True, pattern, scope, why
    )


def _not_logged(
    text: str, field: RecipientField, outcome: Outcome, why: str, entry: Entry | None = None
) -> RecipientDecision:
    """A valid recipient that is not logged: only the activity feed tracks it."""
    if entry is None:
        return _new(text, field, outcome, False, False, False, False, True, None, None, why)
    pattern, scope = entry.pattern.text, entry.scope
    return _new(text, field, outcome, False, False, False, False, True, pattern, scope, why)


def _invalid(given: str, field: RecipientField) -> RecipientDecision:
    """An invalid recipient: nothing at all is recorded."""
    why = explain.invalid(given)
    make = _new if len(given) <= LONGEST_CACHED else RecipientDecision
    return make(
        given, field, Outcome.INVALID_ADDRESS, False, False, False, False, False, None, None, why
    )


def _distinct(*fields: tuple[str, ...], original: bool = False) -> list[_Recipient]:
    """Each distinct recipient once, in the first of to, cc, bcc it is in.

    Valid recipients are the same by canonical address, invalid ones by
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
    """The email's distinct recipients, then those of its original."""
    return _distinct(email.to, email.cc, email.bcc), _originals(email)


def _originals(email: Email) -> list[_Recipient]:
    """The distinct recipients of the email that this one replies to."""
    original = email.in_reply_to
    if original is None:
        return []
    return _distinct(original.to, original.cc, original.bcc, original=True)


def _canonical(recipients: tuple[str, ...]) -> frozenset[str]:
    """The canonical forms of the valid addresses among ``recipients``."""
    if not recipients:
        return _NOBODY
    return frozenset(
        address.text for raw in recipients if (address := parse_address(raw)) is not None
    )


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
