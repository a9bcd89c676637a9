"""Capture levels: how much of a logged email is kept (PRODUCT.md, "Capture levels"), one
row per combination of the account's capture, the sender's own, and the actions of the
entries that match the recipient or (for a reply) a recipient of the original email."""

from __future__ import annotations

from random import Random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy import (
    LISTS_APPLY,
    CaptureLevel,
    Channel,
    Email,
    Entry,
    EntryAction,
    OriginalEmail,
    Outcome,
    Scope,
    Settings,
    decide,
    parse_pattern,
)
from tests.profiles import examples

ACCOUNT, PERSONAL = Scope.ACCOUNT, Scope.PERSONAL
FULL, SUBJECT, METADATA = CaptureLevel.FULL, CaptureLevel.SUBJECT, CaptureLevel.METADATA
NEVER, SUBJECT_ONLY, METADATA_ONLY = (
    EntryAction.NEVER_LOG,
    EntryAction.LOG_SUBJECT_ONLY,
    EntryAction.LOG_METADATA_ONLY,
)


def entry(pattern: str, action: EntryAction = NEVER, scope: Scope = ACCOUNT) -> Entry:
    return Entry(scope, parse_pattern(pattern), action)


JANE = "jane@acme.com"
LAW = OriginalEmail(to=("bob@lawfirm.com",))

# (id, account capture, sender capture, entries, reply to,
#  expected capture, (pattern, scope, action) of the entry named, or None)
CAPTURES: list[tuple[str, CaptureLevel, CaptureLevel | None, list[Entry], Any, Any, Any]] = [
    ("nothing limits: full", FULL, None, [], None, FULL, None),
    ("the account keeps the subject", SUBJECT, None, [], None, SUBJECT, None),
    ("the account keeps metadata", METADATA, None, [], None, METADATA, None),
    ("the sender's own is less", FULL, SUBJECT, [], None, SUBJECT, None),
    ("the sender cannot widen the account's", SUBJECT, FULL, [], None, SUBJECT, None),
    ("the least of account and sender", SUBJECT, METADATA, [], None, METADATA, None),
    (
        "a subject-only entry",
        FULL,
        None,
        [entry("*@acme.com", SUBJECT_ONLY)],
        None,
        SUBJECT,
        ("*@acme.com", ACCOUNT, SUBJECT_ONLY),
    ),
    (
        "a metadata-only personal entry",
        FULL,
        None,
        [entry(JANE, METADATA_ONLY, PERSONAL)],
        None,
        METADATA,
        (JANE, PERSONAL, METADATA_ONLY),
    ),
    (
        "the most limiting entry wins over a more specific one",
        FULL,
        None,
        [entry(JANE, SUBJECT_ONLY), entry("*@acme.com", METADATA_ONLY, PERSONAL)],
        None,
        METADATA,
        ("*@acme.com", PERSONAL, METADATA_ONLY),
    ),
    (
        "same action: account-wide before personal",
        FULL,
        None,
        [entry(JANE, SUBJECT_ONLY, PERSONAL), entry("*@acme.com", SUBJECT_ONLY)],
        None,
        SUBJECT,
        ("*@acme.com", ACCOUNT, SUBJECT_ONLY),
    ),
    (
        "same action, same list: the address before the domain",
        FULL,
        None,
        [entry("*@acme.com", SUBJECT_ONLY), entry(JANE, SUBJECT_ONLY)],
        None,
        SUBJECT,
        (JANE, ACCOUNT, SUBJECT_ONLY),
    ),
    (
        "an entry less limiting than the account's capture is not named",
        METADATA,
        None,
        [entry("*@acme.com", SUBJECT_ONLY)],
        None,
        METADATA,
        None,
    ),
    (
        "an entry as limiting as the sender's own is named",
        FULL,
        METADATA,
        [entry("*@acme.com", METADATA_ONLY)],
        None,
        METADATA,
        ("*@acme.com", ACCOUNT, METADATA_ONLY),
    ),
    (
        "a reply carries the original's limits",
        FULL,
        None,
        [entry("*@lawfirm.com", METADATA_ONLY)],
        LAW,
        METADATA,
        ("*@lawfirm.com", ACCOUNT, METADATA_ONLY),
    ),
    (
        "a reply: the recipient's own entry and the original's, the least wins",
        FULL,
        None,
        [entry("*@lawfirm.com", SUBJECT_ONLY), entry(JANE, METADATA_ONLY, PERSONAL)],
        LAW,
        METADATA,
        (JANE, PERSONAL, METADATA_ONLY),
    ),
    (
        "a reply: same action, the recipient's own entry first",
        FULL,
        None,
        [entry("*@lawfirm.com", SUBJECT_ONLY), entry(JANE, SUBJECT_ONLY)],
        LAW,
        SUBJECT,
        (JANE, ACCOUNT, SUBJECT_ONLY),
    ),
    (
        "a limiting entry on another address limits nothing",
        FULL,
        None,
        [entry("bob@acme.com", METADATA_ONLY), entry("*@*.acme.com", METADATA_ONLY)],
        None,
        FULL,
        None,
    ),
]


@pytest.mark.parametrize(
    ("account", "sender", "entries", "reply_to", "capture", "named"),
    [row[1:] for row in CAPTURES],
    ids=[row[0] for row in CAPTURES],
)
def test_a_logged_recipient_is_kept_as_the_least_of_what_applies(
    account: CaptureLevel,
    sender: CaptureLevel | None,
    entries: list[Entry],
    reply_to: OriginalEmail | None,
    capture: CaptureLevel,
    named: tuple[str, Scope, EntryAction] | None,
) -> None:
    # given (a reply never creates a contact: jane has one)
    email = Email(Channel.CRM, to=(JANE,), existing_contacts=(JANE,), in_reply_to=reply_to)

    # when
    decision = decide(email, entries, settings=Settings(account, sender))

    # then
    (r,) = decision.recipients
    assert r.outcome is Outcome.LOGGED
    assert r.capture is capture
    assert (r.matched_pattern, r.matched_scope, r.matched_action) == (named or (None,) * 3)
    assert decision.capture is capture
    assert decision.limited_count == (0 if capture is FULL else 1)


@pytest.mark.parametrize("channel", [Channel.TEAM_INBOX, Channel.INTEGRATION])
def test_where_the_lists_do_not_apply_entries_limit_nothing_but_settings_do(
    channel: Channel,
) -> None:
    email = Email(channel, to=(JANE,))

    decision = decide(email, [entry(JANE, METADATA_ONLY)], settings=Settings(FULL, SUBJECT))

    assert [(r.capture, r.matched_pattern) for r in decision.recipients] == [(SUBJECT, None)]


@pytest.mark.parametrize("action", [SUBJECT_ONLY, METADATA_ONLY])
def test_limiting_entries_never_decide_an_outcome(action: EntryAction) -> None:
    # given every rule that an entry decides: a match, and a reply to a matched thread
    email = Email(
        Channel.CRM,
        to=(JANE, "ann@client.com"),
        existing_contacts=(JANE, "ann@client.com"),
        in_reply_to=OriginalEmail(to=(JANE,)),
    )

    # when
    decision = decide(email, [entry(JANE, action)])

    # then both are logged, with the entry's capture
    assert [(r.outcome, r.capture) for r in decision.recipients] == [
        (Outcome.LOGGED, action.capture),
        (Outcome.LOGGED, action.capture),
    ]


def test_a_never_log_entry_decides_over_a_limiting_one_of_the_same_recipient() -> None:
    decision = decide(
        Email(Channel.CRM, to=(JANE,)),
        [entry(JANE, METADATA_ONLY), entry("*@acme.com", NEVER, PERSONAL)],
    )

    (r,) = decision.recipients
    assert (r.outcome, r.capture, r.matched_pattern, r.matched_action) == (
        Outcome.NEVER_LOG,
        None,
        "*@acme.com",
        NEVER,
    )


def test_not_logged_recipients_have_no_capture_and_the_email_the_least_of_the_logged() -> None:
    # given
    email = Email(
        Channel.CRM,
        to=(JANE, "ann@client.com", "counsel@lawfirm.com", "bad"),
        cc=("eve@partner.io",),
    )
    entries = [
        entry(JANE, SUBJECT_ONLY),
        entry("*@client.com", METADATA_ONLY, PERSONAL),
        entry("*@lawfirm.com"),
    ]

    # when
    decision = decide(email, entries)

    # then
    assert [(r.outcome, r.capture) for r in decision.recipients] == [
        (Outcome.LOGGED, SUBJECT),
        (Outcome.LOGGED, METADATA),
        (Outcome.NEVER_LOG, None),
        (Outcome.INVALID_ADDRESS, None),
        (Outcome.LOGGED, FULL),
    ]
    assert (decision.capture, decision.limited_count) == (METADATA, 2)


def test_an_email_that_logs_nobody_has_no_capture() -> None:
    decision = decide(Email(Channel.CRM, to=(JANE,)), [entry(JANE)])

    assert (decision.capture, decision.limited_count) == (None, 0)


EXPLANATIONS = [
    (
        "metadata only, account-wide",
        [entry("*@acme.com", METADATA_ONLY)],
        None,
        Settings(),
        "Logged without body or subject: jane@acme.com matches *@acme.com (metadata only) "
        "on the account-wide never-log list.",
    ),
    (
        "subject only, personal",
        [entry(JANE, SUBJECT_ONLY, PERSONAL)],
        None,
        Settings(),
        "Logged without body: jane@acme.com matches jane@acme.com (subject only) "
        "on the sender's personal never-log list.",
    ),
    (
        "a reply's original",
        [entry("*@lawfirm.com", SUBJECT_ONLY)],
        LAW,
        Settings(),
        "Logged without body: jane@acme.com is on a reply to a thread with bob@lawfirm.com, "
        "which matches *@lawfirm.com (subject only) on the account-wide never-log list.",
    ),
    (
        "the account's capture",
        [],
        None,
        Settings(SUBJECT),
        "Logged without body: jane@acme.com matches no never-log entry, so the email is "
        "logged to its contact; the account's capture is subject only.",
    ),
    (
        "the sender's own capture",
        [],
        None,
        Settings(SUBJECT, METADATA),
        "Logged without body or subject: jane@acme.com matches no never-log entry, so the "
        "email is logged to its contact; the sender's own capture is metadata only.",
    ),
]


@pytest.mark.parametrize(
    ("entries", "reply_to", "chosen", "explanation"),
    [row[1:] for row in EXPLANATIONS],
    ids=[row[0] for row in EXPLANATIONS],
)
def test_the_explanation_says_what_is_kept_and_why(
    entries: list[Entry], reply_to: OriginalEmail | None, chosen: Settings, explanation: str
) -> None:
    email = Email(Channel.CRM, to=(JANE,), existing_contacts=(JANE,), in_reply_to=reply_to)

    (r,) = decide(email, entries, settings=chosen).recipients

    assert r.explanation == explanation


# -- the least capture wins, whatever the order ----------------------------------------------

ACTIONS = st.sampled_from(list(EntryAction))
LOCALS = st.sampled_from(["jane", "bob", "ann"])
DOMAINS = st.sampled_from(["acme.com", "eu.acme.com", "lawfirm.com", "a.eu.acme.com"])
ADDRESSES = st.builds(lambda local, domain: f"{local}@{domain}", LOCALS, DOMAINS)
PATTERNS = st.one_of(
    ADDRESSES,
    DOMAINS.map(lambda domain: f"*@{domain}"),
    DOMAINS.map(lambda domain: f"*@*.{domain}"),
).map(parse_pattern)
ENTRIES = st.lists(
    st.builds(Entry, st.sampled_from(list(Scope)), PATTERNS, ACTIONS),
    max_size=8,
    unique_by=lambda e: (e.scope, e.pattern.key),  # a list holds a key once
)
CAPTURE_LEVELS = st.sampled_from(list(CaptureLevel))


def matches(e: Entry, address: str) -> bool:
    domain = address.partition("@")[2]
    text = e.pattern.text
    if text.startswith("*@*."):
        return domain.endswith("." + text.removeprefix("*@*."))
    if text.startswith("*@"):
        return text == f"*@{domain}"
    return text == address


@settings(max_examples=examples(150, 30))
@given(
    to=st.lists(ADDRESSES, min_size=1, max_size=4),
    original=st.none() | st.lists(ADDRESSES, min_size=1, max_size=3),
    entries=ENTRIES,
    account=CAPTURE_LEVELS,
    sender=st.none() | CAPTURE_LEVELS,
    channel=st.sampled_from(list(Channel)),
    seed=st.integers(0, 2**32),
)
def test_the_least_capture_wins_whatever_the_order_of_the_entries(
    to: list[str],
    original: list[str] | None,
    entries: list[Entry],
    account: CaptureLevel,
    sender: CaptureLevel | None,
    channel: Channel,
    seed: int,
) -> None:
    # given the email, and the same entries in another order
    email = Email(
        channel,
        to=tuple(to),
        existing_contacts=tuple(to),
        in_reply_to=None if original is None else OriginalEmail(to=tuple(original)),
    )
    shuffled = list(entries)
    Random(seed).shuffle(shuffled)
    chosen = Settings(account, sender)

    # when
    decision = decide(email, entries, settings=chosen)

    # then the order does not matter
    assert decide(email, shuffled, settings=chosen) == decision
    applies = channel in LISTS_APPLY
    blocking = [e for e in entries if e.action is NEVER] if applies else []
    limiting = [e for e in entries if e.action is not NEVER] if applies else []
    thread = (
        [e for e in limiting for o in original if matches(e, o)] if original is not None else []
    )
    for r in decision.recipients:
        if r.outcome is not Outcome.LOGGED:
            assert r.capture is None
            continue
        # a NEVER_LOG entry would have decided otherwise
        assert not any(matches(e, r.address) for e in blocking)
        # the least of the settings and of every limiting entry that applies
        levels = [account, *([sender] if sender else [])]
        applying = [e for e in limiting if matches(e, r.address)] + thread
        levels += [e.action.capture for e in applying if e.action.capture is not None]
        least = min(levels, key=lambda level: level.rank)
        assert r.capture is least
        if r.matched_pattern is not None:
            named = Entry(r.matched_scope, parse_pattern(r.matched_pattern), r.matched_action)  # type: ignore[arg-type]
            assert named in applying
            assert named.action.capture is least
        else:
            assert all(e.action.capture is not least for e in applying)
    logged = [r.capture for r in decision.recipients if r.outcome is Outcome.LOGGED]
    assert decision.capture is (min(logged, key=lambda c: c.rank) if logged else None)  # type: ignore[union-attr]
