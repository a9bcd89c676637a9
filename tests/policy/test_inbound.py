"""Inbound and automated email (PRODUCT.md, "Inbound and automated email", rule 4): the
sender of an INBOUND email is a participant (field FROM), and an automated email's
participants that no earlier rule decided are AUTOMATED."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy import (
    LISTS_APPLY,
    BadEmail,
    Channel,
    Email,
    EmailDirection,
    Entry,
    OriginalEmail,
    Outcome,
    RecipientField,
    Scope,
    Settings,
    decide,
    lookup_keys,
    parse_pattern,
)
from policy.inbound import sender_names
from tests.profiles import examples

INBOUND, OUTBOUND = EmailDirection.INBOUND, EmailDirection.OUTBOUND
BULK = (("Precedence", "bulk"),)


def inbound(
    sender: str = "news@shop.com", *, to: tuple[str, ...] = ("me@acme-corp.com",), **options: Any
) -> Email:
    return Email(Channel.CRM, to=to, direction=INBOUND, sender_address=sender, **options)


# (id, headers, from, expected reason or None)
CONDITIONS: list[tuple[str, tuple[tuple[str, str], ...], str, str | None]] = [
    ("no headers, a person", (), "ann@shop.com", None),
    (
        "Auto-Submitted: auto-generated",
        (("Auto-Submitted", "auto-generated"),),
        "ann@shop.com",
        "Auto-Submitted: auto-generated",
    ),
    (
        "Auto-Submitted, any case and spaces",
        (("auto-submitted", "  Auto-Notified "),),
        "ann@shop.com",
        "Auto-Submitted: Auto-Notified",
    ),
    ("Auto-Submitted: no", (("Auto-Submitted", "no"),), "ann@shop.com", None),
    (
        "Auto-Submitted: auto-replied (an out-of-office)",
        (("AUTO-SUBMITTED", " Auto-Replied "),),
        "ann@shop.com",
        None,
    ),
    ("Precedence: bulk", BULK, "ann@shop.com", "Precedence: bulk"),
    ("Precedence: list", (("precedence", "LIST"),), "ann@shop.com", "Precedence: LIST"),
    ("Precedence: junk", (("Precedence", "junk"),), "ann@shop.com", "Precedence: junk"),
    ("Precedence: first-class", (("Precedence", "first-class"),), "ann@shop.com", None),
    ("List-Id", (("List-Id", "<news.shop.com>"),), "ann@shop.com", "List-Id: <news.shop.com>"),
    ("List-Id empty", (("List-Id", "  "),), "ann@shop.com", None),
    (
        "List-Unsubscribe",
        (("list-unsubscribe", "<mailto:u@shop.com>"),),
        "ann@shop.com",
        "List-Unsubscribe: <mailto:u@shop.com>",
    ),
    ("a no-reply sender", (), "no-reply@shop.com", "no-reply@shop.com is an automated sender"),
    (
        "a sender name in any spelling, with a tag",
        (),
        "Do_Not.Reply+x@shop.com",
        "do_not.reply+x@shop.com is an automated sender",
    ),
    ("a person whose name contains one", (), "noreply.jane@shop.com", None),
    ("another header is ignored", (("X-Mailer", "bulk"),), "ann@shop.com", None),
    (
        "the first condition in PRODUCT.md's order",
        (("List-Id", "<x>"), ("Precedence", "bulk"), ("Auto-Submitted", "auto-generated")),
        "noreply@shop.com",
        "Auto-Submitted: auto-generated",
    ),
    (
        "Precedence before List-Id",
        (("List-Id", "<x>"), ("Precedence", "bulk")),
        "ann@shop.com",
        "Precedence: bulk",
    ),
]


@pytest.mark.parametrize(
    ("headers", "sender", "reason"),
    [row[1:] for row in CONDITIONS],
    ids=[row[0] for row in CONDITIONS],
)
def test_an_inbound_email_is_automated_by_the_first_condition_that_holds(
    headers: tuple[tuple[str, str], ...], sender: str, reason: str | None
) -> None:
    decision = decide(inbound(sender, headers=headers), [])

    assert (decision.automated, decision.automated_reason) == (reason is not None, reason)
    expected = Outcome.AUTOMATED if reason else Outcome.LOGGED
    assert {r.outcome for r in decision.recipients} == {expected}


M = "me@acme-corp.com"
INTERNAL = {"acme-corp.com": "acme-corp.com"}

# (id, email, entries, settings, outcome of each participant in order)
RULES: list[tuple[str, Email, list[Entry], Settings, list[tuple[str, RecipientField, Outcome]]]] = [
    (
        "1 before 4: an invalid sender",
        inbound("not an address", headers=BULK),
        [],
        Settings(),
        [
            ("not an address", RecipientField.FROM, Outcome.INVALID_ADDRESS),
            (M, RecipientField.TO, Outcome.INTERNAL),
        ],
    ),
    (
        "2 before 4: a listed sender",
        inbound(headers=BULK),
        [Entry(Scope.ACCOUNT, parse_pattern("*@shop.com"))],
        Settings(),
        [
            ("news@shop.com", RecipientField.FROM, Outcome.NEVER_LOG),
            (M, RecipientField.TO, Outcome.INTERNAL),
        ],
    ),
    (
        "3 before 4: the user's own address",
        inbound(headers=BULK, cc=("ann@partner.io",)),
        [],
        Settings(),
        [
            ("news@shop.com", RecipientField.FROM, Outcome.AUTOMATED),
            (M, RecipientField.TO, Outcome.INTERNAL),
            ("ann@partner.io", RecipientField.CC, Outcome.AUTOMATED),
        ],
    ),
    (
        "4 before 5: automated and logging off",
        inbound(headers=BULK, log_to_crm=False),
        [],
        Settings(),
        [
            ("news@shop.com", RecipientField.FROM, Outcome.AUTOMATED),
            (M, RecipientField.TO, Outcome.INTERNAL),
        ],
    ),
    (
        "4 before 7: automated reply to a never-log thread",
        inbound(headers=BULK, in_reply_to=OriginalEmail(to=("bob@lawfirm.com",))),
        [Entry(Scope.PERSONAL, parse_pattern("*@lawfirm.com"))],
        Settings(),
        [
            ("news@shop.com", RecipientField.FROM, Outcome.AUTOMATED),
            (M, RecipientField.TO, Outcome.INTERNAL),
        ],
    ),
    (
        "not automated where the account does not skip automated email",
        inbound(headers=BULK),
        [],
        Settings(skip_automated=False),
        [
            ("news@shop.com", RecipientField.FROM, Outcome.LOGGED),
            (M, RecipientField.TO, Outcome.INTERNAL),
        ],
    ),
    (
        "the account's own sender names replace the default ones",
        inbound("bot@shop.com", cc=("noreply@shop.com",)),
        [],
        Settings(automated_names=sender_names(("bot",))),
        [
            ("bot@shop.com", RecipientField.FROM, Outcome.AUTOMATED),
            (M, RecipientField.TO, Outcome.INTERNAL),
            ("noreply@shop.com", RecipientField.CC, Outcome.AUTOMATED),
        ],
    ),
    (
        "an empty list of names turns the name rule off",
        inbound("noreply@shop.com"),
        [],
        Settings(automated_names=sender_names(())),
        [
            ("noreply@shop.com", RecipientField.FROM, Outcome.LOGGED),
            (M, RecipientField.TO, Outcome.INTERNAL),
        ],
    ),
    (
        "the sender is decided once, as FROM, though also in cc",
        inbound("ann@shop.com", cc=("Ann <ANN@shop.com>", "eve@partner.io")),
        [],
        Settings(),
        [
            ("ann@shop.com", RecipientField.FROM, Outcome.LOGGED),
            (M, RecipientField.TO, Outcome.INTERNAL),
            ("eve@partner.io", RecipientField.CC, Outcome.LOGGED),
        ],
    ),
    (
        "an outbound email is never automated",
        Email(Channel.CRM, to=("noreply@shop.com",), headers=BULK),
        [],
        Settings(),
        [("noreply@shop.com", RecipientField.TO, Outcome.LOGGED)],
    ),
]


@pytest.mark.parametrize("channel", list(Channel), ids=[c.value for c in Channel])
@pytest.mark.parametrize(
    ("email", "entries", "chosen", "expected"),
    [row[1:] for row in RULES],
    ids=[row[0] for row in RULES],
)
def test_the_first_rule_that_applies_decides_each_participant(
    channel: Channel,
    email: Email,
    entries: list[Entry],
    chosen: Settings,
    expected: list[tuple[str, RecipientField, Outcome]],
) -> None:
    # when
    decision = decide(email._replace(channel=channel), entries, INTERNAL, chosen)

    # then where the lists do not apply, nothing is automated, listed or internal
    got = [(r.address, r.field, r.outcome) for r in decision.recipients]
    if channel in LISTS_APPLY:
        assert got == expected
    else:
        assert not decision.automated
        assert all(
            outcome
            in (Outcome.INVALID_ADDRESS, Outcome.LOGGED, Outcome.LOGGING_OFF, Outcome.NO_CONTACT)
            for _, _, outcome in got
        )
    assert decision.direction is email.direction


def test_an_automated_participant_is_tracked_in_the_activity_feed_only() -> None:
    decision = decide(inbound(headers=BULK), [], INTERNAL)

    r = decision.recipients[0]
    assert r.outcome is Outcome.AUTOMATED
    assert (
        r.logged_to_contact,
        r.contact_created,
        r.timeline_tracking,
        r.associated_records_logged,
        r.activity_feed_tracking,
    ) == (False, False, False, False, True)
    assert (r.matched_pattern, r.matched_scope, r.matched_action, r.capture) == (None,) * 4
    assert r.explanation == "Not logged: the email is automated (Precedence: bulk)."


def test_an_inbound_senders_entries_are_looked_up() -> None:
    assert "@shop.com" in lookup_keys(inbound())


@pytest.mark.parametrize(
    ("email", "field", "message"),
    [
        (Email(Channel.CRM, to=(), direction=INBOUND), "from", "An INBOUND email needs from"),
        (
            Email(Channel.CRM, to=(), sender_address="a@b.com"),
            "from",
            "from is for an INBOUND email only",
        ),
        (
            inbound(headers=(("List-Id", "x"),) * 51),
            "headers",
            "at most 50 headers; this one carries 51",
        ),
        (
            inbound(headers=(("List-Id", "x" * 994),)),
            "headers",
            "at most 1,000 characters (name and value); header 0 ('List-Id') holds 1,001",
        ),
    ],
    ids=["inbound without from", "outbound with from", "51 headers", "a header too long"],
)
def test_an_email_that_cannot_be_decided_as_given_is_refused(
    email: Email, field: str, message: str
) -> None:
    with pytest.raises(BadEmail, match=message.replace("(", r"\(").replace(")", r"\)")) as raised:
        decide(email, [])

    assert raised.value.field == field


def test_fifty_headers_of_a_thousand_characters_are_taken() -> None:
    email = inbound(headers=(("X-Long", "x" * 994),) * 50)

    assert decide(email, []).automated is False


# -- automated email changes only what no earlier rule decided -------------------------------

ADDRESSES = st.sampled_from(
    ["ann@shop.com", "me@acme-corp.com", "bob@lawfirm.com", "eve@eu.partner.io", "bad", ""]
)
FIELDS = st.lists(ADDRESSES, max_size=3).map(tuple)
LATER_RULES = {
    Outcome.LOGGING_OFF,
    Outcome.EXCLUDED,
    Outcome.REPLY_TO_NEVER_LOG_THREAD,
    Outcome.NO_CONTACT,
    Outcome.LOGGED,
}


@settings(max_examples=examples(150, 30))
@given(
    channel=st.sampled_from(list(Channel)),
    sender=ADDRESSES,
    to=FIELDS,
    cc=FIELDS,
    log_to_crm=st.booleans(),
    excluded=FIELDS,
    original=st.none() | FIELDS.map(lambda to: OriginalEmail(to=to)),
    listed=st.lists(st.sampled_from(["*@lawfirm.com", "ann@shop.com", "*@*.partner.io"])),
)
def test_an_automated_email_changes_only_what_no_earlier_rule_decided(
    channel: Channel,
    sender: str,
    to: tuple[str, ...],
    cc: tuple[str, ...],
    log_to_crm: bool,
    excluded: tuple[str, ...],
    original: OriginalEmail | None,
    listed: list[str],
) -> None:
    # given the same inbound email as a person's, and as a newsletter
    person = inbound(
        sender,
        to=to,
        cc=cc,
        log_to_crm=log_to_crm,
        excluded_recipients=excluded,
        in_reply_to=original,
    )._replace(channel=channel)
    newsletter = person._replace(headers=BULK)
    entries = [Entry(Scope.ACCOUNT, parse_pattern(p)) for p in listed]

    # when
    as_person = decide(person, entries, INTERNAL)
    as_newsletter = decide(newsletter, entries, INTERNAL)

    # then where the lists apply, every participant that a later rule would decide is
    # AUTOMATED, and the others are decided as they were; elsewhere nothing changes
    applies = channel in LISTS_APPLY
    assert as_newsletter.automated is applies
    assert len(as_newsletter.recipients) == len(as_person.recipients)
    for before, after in zip(as_person.recipients, as_newsletter.recipients, strict=True):
        if applies and before.outcome in LATER_RULES:
            assert after.outcome is Outcome.AUTOMATED
            assert (after.capture, after.matched_pattern) == (None, None)
        else:
            assert after == before
    # and an outbound email with the same headers is never automated
    outbound = newsletter._replace(direction=OUTBOUND, sender_address=None)
    assert not decide(outbound, entries, INTERNAL).automated
