"""The decision: one row per rule and outcome of PRODUCT.md, on every channel."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policy import (
    LISTS_APPLY,
    MAX_RECIPIENTS,
    CaptureLevel,
    Channel,
    Decision,
    Email,
    EmailDirection,
    Entry,
    EntryAction,
    OriginalEmail,
    Outcome,
    RecipientDecision,
    RecipientField,
    Scope,
    TooManyRecipients,
    decide,
    keys_of,
    lookup_keys,
    parse_pattern,
    read_email,
)

ACCOUNT, PERSONAL = Scope.ACCOUNT, Scope.PERSONAL
TO, CC, BCC = RecipientField.TO, RecipientField.CC, RecipientField.BCC
LOGGED, NEVER_LOG, EXCLUDED = Outcome.LOGGED, Outcome.NEVER_LOG, Outcome.EXCLUDED
LOGGING_OFF, NO_CONTACT = Outcome.LOGGING_OFF, Outcome.NO_CONTACT
REPLY, INVALID = Outcome.REPLY_TO_NEVER_LOG_THREAD, Outcome.INVALID_ADDRESS
CHANNELS = list(Channel)


def entry(pattern: str, scope: Scope = ACCOUNT) -> Entry:
    return Entry(scope, parse_pattern(pattern))


def only(decision: Decision) -> RecipientDecision:
    assert len(decision.recipients) == 1
    return decision.recipients[0]


def outcomes(decision: Decision) -> list[tuple[str, RecipientField, Outcome]]:
    return [(r.address, r.field, r.outcome) for r in decision.recipients]


# loggedToContact, contactCreated, timelineTracking, associatedRecordsLogged,
# activityFeedTracking, as the outcome table of PRODUCT.md says.
def flags(r: RecipientDecision) -> tuple[bool, bool, bool, bool, bool]:
    return (
        r.logged_to_contact,
        r.contact_created,
        r.timeline_tracking,
        r.associated_records_logged,
        r.activity_feed_tracking,
    )


LOGGED_NEW = (True, True, True, True, True)
LOGGED_EXISTING = (True, False, True, True, True)
NOT_LOGGED = (False, False, False, False, True)
NOTHING = (False, False, False, False, False)

LAW = OriginalEmail(to=("bob@lawfirm.com",))
CLEAN = OriginalEmail(to=("ann@client.com",))

# (id, recipient, email options, entries,
#  (outcome, flags, matched entry) where the lists apply, and where they do not)
RULES: list[tuple[str, str, dict[str, Any], list[Entry], tuple[Any, ...], tuple[Any, ...]]] = [
    (
        "1 invalid address",
        " jane@ ",
        {},
        [entry("*@acme.com")],
        (INVALID, NOTHING, None),
        (INVALID, NOTHING, None),
    ),
    (
        "2 never log: account-wide domain",
        "jane@acme.com",
        {},
        [entry("*@acme.com")],
        (NEVER_LOG, NOT_LOGGED, ("*@acme.com", ACCOUNT)),
        (LOGGED, LOGGED_NEW, None),
    ),
    (
        "2 never log: personal address",
        "jane@acme.com",
        {},
        [entry("jane@acme.com", PERSONAL)],
        (NEVER_LOG, NOT_LOGGED, ("jane@acme.com", PERSONAL)),
        (LOGGED, LOGGED_NEW, None),
    ),
    (
        "2 before 3: listed and logging off",
        "jane@acme.com",
        {"log_to_crm": False},
        [entry("*@acme.com")],
        (NEVER_LOG, NOT_LOGGED, ("*@acme.com", ACCOUNT)),
        (LOGGING_OFF, NOT_LOGGED, None),
    ),
    (
        "3 logging off",
        "jane@acme.com",
        {"log_to_crm": False, "existing_contacts": ("jane@acme.com",)},
        [],
        (LOGGING_OFF, NOT_LOGGED, None),
        (LOGGING_OFF, NOT_LOGGED, None),
    ),
    (
        "3 before 4: logging off and excluded",
        "jane@acme.com",
        {"log_to_crm": False, "excluded_recipients": ("jane@acme.com",)},
        [],
        (LOGGING_OFF, NOT_LOGGED, None),
        (LOGGING_OFF, NOT_LOGGED, None),
    ),
    (
        "4 excluded, by canonical address",
        "jane@acme.com",
        {"excluded_recipients": ("Jane Doe <JANE@Acme.com>",)},
        [],
        (EXCLUDED, NOT_LOGGED, None),
        (EXCLUDED, NOT_LOGGED, None),
    ),
    (
        "4 before 5: excluded on a reply to a never-log thread",
        "jane@acme.com",
        {"excluded_recipients": ("jane@acme.com",), "in_reply_to": LAW},
        [entry("*@lawfirm.com")],
        (EXCLUDED, NOT_LOGGED, None),
        (EXCLUDED, NOT_LOGGED, None),
    ),
    (
        "5 reply to a never-log thread",
        "jane@acme.com",
        {"in_reply_to": LAW, "existing_contacts": ("jane@acme.com",)},
        [entry("*@lawfirm.com")],
        (REPLY, NOT_LOGGED, ("*@lawfirm.com", ACCOUNT)),
        (LOGGED, LOGGED_EXISTING, None),
    ),
    (
        "5 before 6: reply to a never-log thread, no contact",
        "jane@acme.com",
        {"in_reply_to": OriginalEmail(to=(), cc=("mom@family.org",))},
        [entry("mom@family.org", PERSONAL)],
        (REPLY, NOT_LOGGED, ("mom@family.org", PERSONAL)),
        (NO_CONTACT, NOT_LOGGED, None),
    ),
    (
        "6 new contacts off, no contact",
        "jane@acme.com",
        {"create_new_contacts": False},
        [],
        (NO_CONTACT, NOT_LOGGED, None),
        (NO_CONTACT, NOT_LOGGED, None),
    ),
    (
        "6 new contacts off, another recipient's contact",
        "jane@acme.com",
        {"create_new_contacts": False, "existing_contacts": ("bob@acme.com",)},
        [],
        (NO_CONTACT, NOT_LOGGED, None),
        (NO_CONTACT, NOT_LOGGED, None),
    ),
    (
        "6 a reply never creates a contact",
        "jane@acme.com",
        {"in_reply_to": CLEAN},
        [entry("*@lawfirm.com")],
        (NO_CONTACT, NOT_LOGGED, None),
        (NO_CONTACT, NOT_LOGGED, None),
    ),
    (
        "7 logged: new contacts off, existing contact",
        "jane@acme.com",
        {"create_new_contacts": False, "existing_contacts": ("Jane <jane@acme.com>",)},
        [],
        (LOGGED, LOGGED_EXISTING, None),
        (LOGGED, LOGGED_EXISTING, None),
    ),
    (
        "7 logged: a reply to an existing contact",
        "jane@acme.com",
        {"in_reply_to": CLEAN, "existing_contacts": ("jane@acme.com",)},
        [entry("*@lawfirm.com")],
        (LOGGED, LOGGED_EXISTING, None),
        (LOGGED, LOGGED_EXISTING, None),
    ),
    (
        "7 logged with a new contact",
        "jane@acme.com",
        {},
        [entry("*@lawfirm.com"), entry("jane@acme.org", PERSONAL)],
        (LOGGED, LOGGED_NEW, None),
        (LOGGED, LOGGED_NEW, None),
    ),
]


@pytest.mark.parametrize("channel", CHANNELS, ids=[c.value for c in CHANNELS])
@pytest.mark.parametrize(
    ("recipient", "options", "entries", "where_lists_apply", "elsewhere"),
    [row[1:] for row in RULES],
    ids=[row[0] for row in RULES],
)
def test_the_first_rule_that_applies_decides(
    channel: Channel,
    recipient: str,
    options: dict[str, Any],
    entries: list[Entry],
    where_lists_apply: tuple[Any, ...],
    elsewhere: tuple[Any, ...],
) -> None:
    # given
    email = Email(channel, to=(recipient,), **options)

    # when
    decision = decide(email, entries)

    # then
    outcome, expected_flags, matched = where_lists_apply if channel in LISTS_APPLY else elsewhere
    r = only(decision)
    assert r.outcome is outcome
    assert flags(r) == expected_flags
    assert (r.matched_pattern, r.matched_scope) == (matched or (None, None))
    assert r.address == recipient.strip()
    assert r.field is TO
    assert decision.email_sent is True
    assert decision.never_log_applies is (channel in LISTS_APPLY)
    assert decision.channel is channel


EXPLANATIONS = [
    # (id, channel, recipient, email options, entries, explanation)
    (
        "logged, new contact",
        Channel.CRM,
        "Jane@Acme.com",
        {},
        [],
        "Logged: jane@acme.com matches no never-log entry, "
        "so the email is logged to a new contact created for it.",
    ),
    (
        "logged, existing contact",
        Channel.BCC,
        "jane@acme.com",
        {"existing_contacts": ("jane@acme.com",)},
        [],
        "Logged: jane@acme.com matches no never-log entry, so the email is logged to its contact.",
    ),
    (
        "logged on a team inbox, new contact",
        Channel.TEAM_INBOX,
        "jane@acme.com",
        {},
        [entry("*@acme.com")],
        "Logged: never-log lists do not apply to team inbox emails, "
        "so the email is logged to a new contact created for jane@acme.com.",
    ),
    (
        "logged from an integration, existing contact",
        Channel.INTEGRATION,
        "jane@acme.com",
        {"existing_contacts": ("jane@acme.com",)},
        [entry("*@acme.com")],
        "Logged: never-log lists do not apply to emails from integrations, "
        "so the email is logged to the existing contact for jane@acme.com.",
    ),
    (
        "never log, account-wide",
        Channel.CRM,
        "jane@acme.com",
        {},
        [entry("*@acme.com")],
        "Not logged: jane@acme.com matches *@acme.com on the account-wide never-log list.",
    ),
    (
        "never log, personal",
        Channel.SALES_EXTENSION,
        "jane@eu.acme.com",
        {},
        [entry("*@*.acme.com", PERSONAL)],
        "Not logged: jane@eu.acme.com matches *@*.acme.com on the sender's personal never-log list.",
    ),
    (
        "logging off",
        Channel.FORWARDING,
        "jane@acme.com",
        {"log_to_crm": False},
        [],
        "Not logged: logging to the CRM is turned off for this email, so jane@acme.com is not logged.",
    ),
    (
        "excluded",
        Channel.CRM,
        "jane@acme.com",
        {"excluded_recipients": ("jane@acme.com",)},
        [],
        "Not logged: the sender excluded jane@acme.com from logging for this email.",
    ),
    (
        "reply to a never-log thread",
        Channel.CRM,
        "jane@acme.com",
        {"in_reply_to": LAW},
        [entry("*@lawfirm.com")],
        "Not logged: jane@acme.com is on a reply to a thread with bob@lawfirm.com, "
        "which matches *@lawfirm.com on the account-wide never-log list.",
    ),
    (
        "no contact, new contacts off",
        Channel.CRM,
        "jane@acme.com",
        {"create_new_contacts": False},
        [],
        "Not logged: jane@acme.com has no contact, "
        "and creating new contacts is turned off for this email.",
    ),
    (
        "no contact, a reply",
        Channel.TEAM_INBOX,
        "jane@acme.com",
        {"in_reply_to": LAW},
        [entry("*@lawfirm.com")],
        "Not logged: jane@acme.com has no contact, and a reply never creates a contact.",
    ),
    (
        "invalid address",
        Channel.CRM,
        "  Jane Doe jane@acme.com ",
        {},
        [],
        'Not logged: "Jane Doe jane@acme.com" is not a valid email address.',
    ),
    (
        "empty recipient",
        Channel.CRM,
        "   ",
        {},
        [],
        "Not logged: an empty recipient is not a valid email address.",
    ),
]


@pytest.mark.parametrize(
    ("channel", "recipient", "options", "entries", "explanation"),
    [row[1:] for row in EXPLANATIONS],
    ids=[row[0] for row in EXPLANATIONS],
)
def test_the_explanation_names_the_recipient_and_what_decided(
    channel: Channel,
    recipient: str,
    options: dict[str, Any],
    entries: list[Entry],
    explanation: str,
) -> None:
    decision = decide(Email(channel, to=(recipient,), **options), entries)

    assert only(decision).explanation == explanation


def test_every_outcome_has_its_own_sentence() -> None:
    sentences = {row[-1] for row in EXPLANATIONS}

    assert len(sentences) == len(EXPLANATIONS)


def test_recipients_not_on_any_list_are_logged_beside_those_that_are() -> None:
    # given
    email = Email(
        Channel.CRM,
        to=("jane@acme.com", "counsel@lawfirm.com"),
        cc=("Mom <mom@family.org>", "bob@client.com"),
        bcc=("not an address", "eve@partner.io"),
        existing_contacts=("bob@client.com",),
    )
    entries = [entry("*@lawfirm.com"), entry("mom@family.org", PERSONAL)]

    # when
    decision = decide(email, entries)

    # then
    assert outcomes(decision) == [
        ("jane@acme.com", TO, LOGGED),
        ("counsel@lawfirm.com", TO, NEVER_LOG),
        ("mom@family.org", CC, NEVER_LOG),
        ("bob@client.com", CC, LOGGED),
        ("not an address", BCC, INVALID),
        ("eve@partner.io", BCC, LOGGED),
    ]
    assert [r.contact_created for r in decision.recipients] == [
        True,
        False,
        False,
        False,
        False,
        True,
    ]
    assert decision.logged_count == 3
    assert decision.never_log_count == 2


PRECEDENCE = [
    # (id, recipient, entries, the entry that is named)
    (
        "account-wide before personal",
        "jane@acme.com",
        [entry("jane@acme.com", PERSONAL), entry("*@acme.com", ACCOUNT)],
        ("*@acme.com", ACCOUNT),
    ),
    (
        "account-wide subdomains before a personal address",
        "jane@eu.acme.com",
        [entry("jane@eu.acme.com", PERSONAL), entry("*@*.acme.com", ACCOUNT)],
        ("*@*.acme.com", ACCOUNT),
    ),
    (
        "the same pattern on both lists",
        "jane@acme.com",
        [entry("*@acme.com", PERSONAL), entry("*@acme.com", ACCOUNT)],
        ("*@acme.com", ACCOUNT),
    ),
    (
        "address before domain",
        "jane@acme.com",
        [entry("*@acme.com"), entry("jane@acme.com")],
        ("jane@acme.com", ACCOUNT),
    ),
    (
        "domain before subdomains",
        "jane@eu.acme.com",
        [entry("*@*.acme.com", PERSONAL), entry("*@eu.acme.com", PERSONAL)],
        ("*@eu.acme.com", PERSONAL),
    ),
    (
        "address before domain before subdomains",
        "jane@eu.acme.com",
        [entry("*@*.acme.com"), entry("*@eu.acme.com"), entry("jane@eu.acme.com")],
        ("jane@eu.acme.com", ACCOUNT),
    ),
    (
        "the closest subdomain entry first",
        "jane@a.b.acme.com",
        [entry("*@*.acme.com"), entry("*@*.b.acme.com")],
        ("*@*.b.acme.com", ACCOUNT),
    ),
    (
        "subdomains match at any depth",
        "jane@a.b.c.acme.com",
        [entry("*@*.acme.com", PERSONAL), entry("*@acme.com", ACCOUNT)],
        ("*@*.acme.com", PERSONAL),
    ),
]


@pytest.mark.parametrize("reverse", [False, True], ids=["as given", "reversed"])
@pytest.mark.parametrize(
    ("recipient", "entries", "named"),
    [row[1:] for row in PRECEDENCE],
    ids=[row[0] for row in PRECEDENCE],
)
def test_where_several_entries_match_the_most_authoritative_is_named(
    recipient: str, entries: list[Entry], named: tuple[str, Scope], reverse: bool
) -> None:
    given = list(reversed(entries)) if reverse else entries

    r = only(decide(Email(Channel.CRM, to=(recipient,)), given))

    assert r.outcome is NEVER_LOG
    assert (r.matched_pattern, r.matched_scope) == named


NOT_MATCHING = [
    ("jane+news@acme.com", "jane@acme.com"),
    ("jane@acme.com", "jane+news@acme.com"),
    ("jane@acme.com", "*@*.acme.com"),
    ("jane@eu.acme.com", "*@acme.com"),
    ("jane@notacme.com", "*@acme.com"),
    ("jane@acme.com.au", "*@acme.com"),
    ("jane@acme.com", "jane@acme.org"),
]


@pytest.mark.parametrize(
    ("recipient", "pattern"), NOT_MATCHING, ids=[f"{r} {p}" for r, p in NOT_MATCHING]
)
def test_an_entry_matches_only_what_its_kind_says(recipient: str, pattern: str) -> None:
    r = only(decide(Email(Channel.CRM, to=(recipient,)), [entry(pattern)]))

    assert r.outcome is LOGGED


UNICODE = [
    ("*@domän.se", "jane@xn--domn-noa.se"),
    ("*@xn--domn-noa.se", "jane@DOMÄN.se"),
    ("jane@domän.se", "Jane <JANE@xn--domn-noa.se>"),
    ("*@*.domän.se", "jane@mail.domän.se"),
]


@pytest.mark.parametrize(("pattern", "recipient"), UNICODE, ids=[f"{p} {r}" for p, r in UNICODE])
def test_a_unicode_domain_and_its_punycode_are_the_same(pattern: str, recipient: str) -> None:
    r = only(decide(Email(Channel.CRM, to=(recipient,)), [entry(pattern)]))

    assert r.outcome is NEVER_LOG
    assert r.address.endswith("domän.se")
    assert r.matched_pattern == parse_pattern(pattern).text


def test_each_distinct_recipient_is_decided_once_in_the_first_field_it_is_in() -> None:
    # given the same people several times, in other cases and with display names
    email = Email(
        Channel.CRM,
        to=("jane@acme.com", "bad address"),
        cc=("Jane Doe <JANE@acme.com>", "bob@client.com", " bad address ", "jane@ACMÉ.com"),
        bcc=("bob@CLIENT.com", "jane@xn--acm-dma.com", "ann@client.com", "jane@acme.com"),
    )

    # when
    decision = decide(email, [])

    # then
    assert outcomes(decision) == [
        ("jane@acme.com", TO, LOGGED),
        ("bad address", TO, INVALID),
        ("bob@client.com", CC, LOGGED),
        ("jane@acmé.com", CC, LOGGED),
        ("ann@client.com", BCC, LOGGED),
    ]


def test_the_matched_original_recipient_names_the_thread_entry() -> None:
    # given a reply whose original went to a lawyer and to a family member
    email = Email(
        Channel.CRM,
        to=("jane@acme.com",),
        existing_contacts=("jane@acme.com",),
        in_reply_to=OriginalEmail(
            to=("not an address", "ann@client.com"),
            cc=("mom@family.org",),
            bcc=("Counsel <counsel@lawfirm.com>",),
        ),
    )
    entries = [entry("mom@family.org", PERSONAL), entry("*@lawfirm.com", ACCOUNT)]

    # when
    r = only(decide(email, entries))

    # then the account-wide entry is named, though its recipient comes later
    assert r.outcome is REPLY
    assert (r.matched_pattern, r.matched_scope) == ("*@lawfirm.com", ACCOUNT)
    assert "counsel@lawfirm.com" in r.explanation


def test_a_reply_to_a_never_log_thread_keeps_its_listed_recipients_never_logged() -> None:
    # given a reply to the lawyer, copying a colleague
    email = Email(
        Channel.CRM,
        to=("counsel@lawfirm.com",),
        cc=("jane@acme.com",),
        existing_contacts=("counsel@lawfirm.com", "jane@acme.com"),
        in_reply_to=OriginalEmail(to=("counsel@lawfirm.com",)),
    )

    # when
    decision = decide(email, [entry("*@lawfirm.com")])

    # then
    assert outcomes(decision) == [
        ("counsel@lawfirm.com", TO, NEVER_LOG),
        ("jane@acme.com", CC, REPLY),
    ]
    assert decision.logged_count == 0
    assert decision.never_log_count == 1


def test_a_reply_to_a_thread_where_nobody_matches_is_logged_to_existing_contacts_only() -> None:
    email = Email(
        Channel.FORWARDING,
        to=("jane@acme.com", "bob@client.com"),
        existing_contacts=("bob@client.com",),
        in_reply_to=OriginalEmail(to=("bad", "jane@acme.com"), cc=("bob@client.com",)),
    )

    decision = decide(email, [entry("*@lawfirm.com")])

    assert outcomes(decision) == [("jane@acme.com", TO, NO_CONTACT), ("bob@client.com", TO, LOGGED)]
    assert not any(r.contact_created for r in decision.recipients)


def test_new_contacts_off_logs_only_existing_contacts() -> None:
    # given
    email = Email(
        Channel.SALES_EXTENSION,
        to=("jane@acme.com", "bob@client.com"),
        cc=("ann@client.com",),
        create_new_contacts=False,
        existing_contacts=('"Client, Bob" <Bob@Client.com>', "someone@else.com", "not valid"),
    )

    # when
    decision = decide(email, [])

    # then
    assert outcomes(decision) == [
        ("jane@acme.com", TO, NO_CONTACT),
        ("bob@client.com", TO, LOGGED),
        ("ann@client.com", CC, NO_CONTACT),
    ]
    assert decision.recipients[1].contact_created is False


def test_logging_off_logs_nobody_but_tracks_every_valid_recipient() -> None:
    email = Email(
        Channel.CRM,
        to=("jane@acme.com", "invalid@"),
        bcc=("bob@client.com",),
        log_to_crm=False,
        existing_contacts=("jane@acme.com",),
    )

    decision = decide(email, [])

    assert outcomes(decision) == [
        ("jane@acme.com", TO, LOGGING_OFF),
        ("invalid@", TO, INVALID),
        ("bob@client.com", BCC, LOGGING_OFF),
    ]
    assert [r.activity_feed_tracking for r in decision.recipients] == [True, False, True]
    assert decision.logged_count == 0


def test_entries_that_match_nobody_change_nothing() -> None:
    email = Email(Channel.CRM, to=("jane@acme.com",))
    unrelated = [entry("*@lawfirm.com"), entry("jane@acme.org", PERSONAL), entry("*@*.acme.org")]

    assert decide(email, unrelated) == decide(email, [])


def test_an_email_without_recipients_has_an_empty_decision() -> None:
    decision = decide(Email(Channel.CRM, to=()), [entry("*@acme.com")])

    assert decision.recipients == ()
    assert (decision.logged_count, decision.never_log_count) == (0, 0)


def many(count: int, domain: str = "client.com") -> tuple[str, ...]:
    return tuple(f"person{i}@{domain}" for i in range(count))


def test_an_email_may_have_500_distinct_recipients() -> None:
    # given 500 distinct recipients across the fields, and repeats that do not count
    email = Email(
        Channel.CRM,
        to=many(300),
        cc=many(200, "partner.io"),
        bcc=tuple(r.upper() for r in many(300)),
    )

    # when
    decision = decide(email, [entry("*@partner.io")])

    # then
    assert len(decision.recipients) == MAX_RECIPIENTS == 500
    assert (decision.logged_count, decision.never_log_count) == (300, 200)


def test_an_email_with_501_distinct_recipients_is_refused() -> None:
    email = Email(Channel.CRM, to=many(250), cc=many(250, "partner.io"), bcc=("not an address",))

    with pytest.raises(TooManyRecipients) as caught:
        decide(email, [])

    assert (caught.value.count, caught.value.limit) == (501, 500)
    assert (
        str(caught.value) == "An email may have at most 500 distinct recipients; this one has 501."
    )


def test_the_limit_message_says_how_many_there_are() -> None:
    with pytest.raises(
        TooManyRecipients, match=r"at most 500 distinct recipients; this one has 612\."
    ):
        decide(Email(Channel.TEAM_INBOX, to=many(612)), [])


def test_the_original_email_of_a_reply_has_the_same_limit() -> None:
    email = Email(Channel.CRM, to=("jane@acme.com",), in_reply_to=OriginalEmail(to=many(501)))

    with pytest.raises(TooManyRecipients) as caught:
        decide(email, [])

    assert str(caught.value) == (
        "The original email may have at most 500 distinct recipients; this one has 501."
    )
    with pytest.raises(TooManyRecipients):
        lookup_keys(email)


def test_lookup_keys_cover_the_recipients_and_the_original() -> None:
    email = Email(
        Channel.CRM,
        to=("Jane <jane@eu.acme.com>", "not an address"),
        bcc=("bob@domän.se",),
        in_reply_to=OriginalEmail(to=("counsel@lawfirm.com",)),
    )

    assert lookup_keys(email) == {
        "jane@eu.acme.com",
        "@eu.acme.com",
        "*.acme.com",
        "bob@xn--domn-noa.se",
        "@xn--domn-noa.se",
        "counsel@lawfirm.com",
        "@lawfirm.com",
    }


@pytest.mark.parametrize(
    "channel", [Channel.TEAM_INBOX, Channel.INTEGRATION], ids=lambda c: c.value
)
def test_no_lookup_keys_where_the_lists_do_not_apply(channel: Channel) -> None:
    assert lookup_keys(Email(channel, to=("jane@acme.com",))) == frozenset()


def test_keys_of_emails_read_unkeyed_are_the_union_of_their_own_keys() -> None:
    # given a batch's emails: a reply, one where the lists do not apply, one inbound
    emails = [
        Email(
            Channel.CRM,
            to=("Jane <jane@eu.acme.com>", "not an address"),
            bcc=("bob@domän.se",),
            in_reply_to=OriginalEmail(to=("counsel@lawfirm.com",)),
        ),
        Email(Channel.TEAM_INBOX, to=("jane@acme.com", "amy@other.org")),
        Email(Channel.SALES_EXTENSION, to=("amy@other.org",), cc=("JANE@eu.acme.com",)),
        Email(
            Channel.BCC,
            to=("me@acme.com",),
            direction=EmailDirection.INBOUND,
            sender_address="news@list.example.com",
        ),
    ]

    # when each is read without its keys
    unkeyed = [read_email(email, keyed=False) for email in emails]

    # then none carries keys, and together they give every email's own, as one set
    assert all(one.keys == frozenset() for one in unkeyed)
    assert keys_of(unkeyed) == frozenset().union(*(lookup_keys(e) for e in emails))
    assert keys_of([]) == frozenset()


def test_lookup_keys_raise_for_too_many_recipients() -> None:
    with pytest.raises(TooManyRecipients):
        lookup_keys(Email(Channel.INTEGRATION, to=many(501)))


def test_every_key_that_can_match_is_a_lookup_key() -> None:
    # given every entry that decides a recipient of an email
    email = Email(
        Channel.CRM, to=("jane@a.b.acme.com",), in_reply_to=OriginalEmail(to=("x@lawfirm.com",))
    )
    patterns = [
        "jane@a.b.acme.com",
        "*@a.b.acme.com",
        "*@*.b.acme.com",
        "*@*.acme.com",
        "*@lawfirm.com",
    ]

    # then the caller that fetches entries by these keys finds them all
    assert {parse_pattern(p).key for p in patterns} <= lookup_keys(email)


def test_a_decision_round_trips_through_a_json_ready_dict() -> None:
    # given a decision with every outcome
    email = Email(
        Channel.CRM,
        to=("jane@acme.com", "counsel@lawfirm.com", "bad"),
        cc=("mom@family.org",),
        excluded_recipients=("ann@client.com",),
        bcc=("ann@client.com",),
    )
    decision = decide(email, [entry("*@lawfirm.com"), entry("mom@family.org", PERSONAL)])

    # when
    data = decision.to_dict()

    # then
    assert Decision.from_dict(json.loads(json.dumps(data))) == decision
    assert data["channel"] == "CRM"
    assert data["recipients"][1] == {
        "address": "counsel@lawfirm.com",
        "field": "TO",
        "outcome": "NEVER_LOG",
        "logged_to_contact": False,
        "contact_created": False,
        "timeline_tracking": False,
        "associated_records_logged": False,
        "activity_feed_tracking": True,
        "matched_pattern": "*@lawfirm.com",
        "matched_scope": "ACCOUNT",
        "explanation": "Not logged: counsel@lawfirm.com matches *@lawfirm.com "
        "on the account-wide never-log list.",
        "matched_action": "NEVER_LOG",
        "capture": None,
    }
    assert data["recipients"][0]["capture"] == "FULL"


def test_a_decision_stored_before_capture_levels_reads_as_it_was_decided() -> None:
    # given a decision as saved before entries had actions and logged emails a capture
    decision = decide(
        Email(Channel.CRM, to=("jane@acme.com", "counsel@lawfirm.com")), [entry("*@lawfirm.com")]
    )
    data = decision.to_dict()
    for name in ("direction", "automated", "automated_reason"):
        del data[name]
    for recipient in data["recipients"]:
        del recipient["matched_action"], recipient["capture"]

    # when
    read = Decision.from_dict(data)

    # then every entry of then blocked, and every logged recipient was kept in full
    assert read == decision
    assert [(r.matched_action, r.capture) for r in read.recipients] == [
        (None, CaptureLevel.FULL),
        (EntryAction.NEVER_LOG, None),
    ]


@pytest.mark.parametrize(
    "damage",
    [
        {"channel": "FAX"},
        {"never_log_applies": "yes"},
        {"recipients": "none"},
        {"recipients": ["jane@acme.com"]},
        {"email_sent": None},
    ],
    ids=["unknown channel", "not a bool", "not a list", "not a recipient", "missing"],
)
def test_from_dict_refuses_what_to_dict_did_not_write(damage: dict[str, Any]) -> None:
    data = decide(Email(Channel.CRM, to=("jane@acme.com",)), []).to_dict() | damage

    with pytest.raises(ValueError):
        Decision.from_dict(data)


def test_a_huge_recipient_is_an_invalid_one() -> None:
    huge = "x" * 10_000 + "@acme.com"

    r = only(decide(Email(Channel.CRM, to=(huge,)), []))

    assert (r.address, r.outcome) == (huge, INVALID)
