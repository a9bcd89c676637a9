"""Internal domains in the decision module: how they are written, which recipients they
cover, and rule 3 of the decision table (one row per case)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy import (
    Channel,
    Decision,
    DomainError,
    Email,
    Entry,
    OriginalEmail,
    Outcome,
    RecipientDecision,
    Scope,
    decide,
    lookup_keys,
    parse_address,
    parse_domain,
    parse_pattern,
)
from policy.domains import address_domain, recipient_domains

ACME = {"acme.com": "acme.com"}


@pytest.mark.parametrize(
    ("written", "text", "key"),
    [
        ("acme.com", "acme.com", "acme.com"),
        ("@acme.com", "acme.com", "acme.com"),
        ("*@acme.com", "acme.com", "acme.com"),
        ("  ACME.Com ", "acme.com", "acme.com"),
        ("eu.acme.com", "eu.acme.com", "eu.acme.com"),
        ("domän.se", "domän.se", "xn--domn-noa.se"),
        ("DOMÄN.se", "domän.se", "xn--domn-noa.se"),
        ("xn--domn-noa.se", "domän.se", "xn--domn-noa.se"),
    ],
)
def test_the_ways_of_writing_a_domain_name_one_canonical_domain(
    written: str, text: str, key: str
) -> None:
    domain = parse_domain(written)
    assert (domain.text, domain.key) == (text, key)


@pytest.mark.parametrize(
    ("written", "why"),
    [
        ("jane@acme.com", "without a part before the @-sign"),
        ("*@*.acme.com", "without a wildcard"),
        ("*.acme.com", "without a wildcard"),
        ("acme.*", "without a wildcard"),
        ("com", "a top-level domain alone"),
        ("", "it is empty"),
        ("@", "it is empty"),
        ("acme com", "white space"),
        ("acme..com", "two periods in a row"),
        ("localhost", "a top-level domain alone"),
        ("-acme.com", "hyphen"),
    ],
)
def test_what_is_not_a_domain_is_refused_quoting_it(written: str, why: str) -> None:
    with pytest.raises(DomainError) as refused:
        parse_domain(written)
    assert f'"{written.strip()}"' in str(refused.value)
    assert why in str(refused.value)


def test_a_users_address_gives_its_domain_in_both_forms() -> None:
    address = parse_address("Lars <lars@Kontor.DOMÄN.se>")
    assert address is not None
    domain = address_domain(address)
    assert (domain.text, domain.key) == ("kontor.domän.se", "kontor.xn--domn-noa.se")


def test_a_recipient_is_covered_by_its_domain_and_every_parent_with_a_period() -> None:
    address = parse_address("jane@a.b.acme.com")
    assert address is not None
    assert recipient_domains(address.lookup_keys()) == ("a.b.acme.com", "b.acme.com", "acme.com")


def one(
    email: Email, entries: list[Entry] | None = None, internal: dict[str, str] | None = None
) -> tuple[RecipientDecision, Decision]:
    decision = decide(email, entries or [], internal)
    assert len(decision.recipients) == 1
    return decision.recipients[0], decision


@pytest.mark.parametrize(
    ("recipient", "outcome"),
    [
        ("jane@acme.com", Outcome.INTERNAL),
        ("jane@eu.acme.com", Outcome.INTERNAL),
        ("jane@x.y.eu.acme.com", Outcome.INTERNAL),
        ("Jane <JANE@ACME.COM>", Outcome.INTERNAL),
        ("jane@notacme.com", Outcome.LOGGED),
        ("jane@acme.com.evil.org", Outcome.LOGGED),
        ("jane@", Outcome.INVALID_ADDRESS),
    ],
)
def test_a_domain_covers_its_subdomains_not_its_look_alikes(
    recipient: str, outcome: Outcome
) -> None:
    decided, _ = one(Email(Channel.CRM, to=(recipient,)), internal=ACME)
    assert decided.outcome is outcome


def test_an_internal_recipient_is_a_colleague_named_in_a_sentence() -> None:
    decided, decision = one(Email(Channel.CRM, to=("jane@eu.acme.com",)), internal=ACME)
    assert decided.explanation == (
        "Not logged: jane@eu.acme.com is a colleague: acme.com is an internal domain of the "
        "account."
    )
    assert (decided.matched_pattern, decided.matched_scope) == (None, None)
    assert (decided.logged_to_contact, decided.activity_feed_tracking) == (False, True)
    assert (decision.internal_count, decision.logged_count, decision.never_log_count) == (1, 0, 0)


def test_the_closest_internal_domain_is_named() -> None:
    internal = {"acme.com": "acme.com", "eu.acme.com": "eu.acme.com"}
    decided, _ = one(Email(Channel.CRM, to=("jane@x.eu.acme.com",)), internal=internal)
    assert "eu.acme.com is an internal domain" in decided.explanation


# Rule 3 against its neighbours: the rule before it wins, every rule after it loses.
@pytest.mark.parametrize(
    ("options", "entries", "outcome"),
    [
        ({}, [Entry(Scope.PERSONAL, parse_pattern("jane@acme.com"))], Outcome.NEVER_LOG),
        ({}, [Entry(Scope.ACCOUNT, parse_pattern("*@*.com.evil"))], Outcome.INTERNAL),
        ({"log_to_crm": False}, [], Outcome.INTERNAL),
        ({"excluded_recipients": ("jane@acme.com",)}, [], Outcome.INTERNAL),
        ({"create_new_contacts": False}, [], Outcome.INTERNAL),
    ],
)
def test_internal_is_rule_3(
    options: dict[str, object], entries: list[Entry], outcome: Outcome
) -> None:
    email = Email(Channel.SALES_EXTENSION, to=("jane@acme.com",), **options)  # type: ignore[arg-type]
    decided, _ = one(email, entries, ACME)
    assert decided.outcome is outcome


@pytest.mark.parametrize("channel", list(Channel))
def test_internal_applies_only_where_the_lists_apply(channel: Channel) -> None:
    decided, _ = one(Email(channel, to=("jane@acme.com",)), internal=ACME)
    applies = channel in {Channel.SALES_EXTENSION, Channel.CRM, Channel.BCC, Channel.FORWARDING}
    assert decided.outcome is (Outcome.INTERNAL if applies else Outcome.LOGGED)


def test_a_reply_to_a_colleague_thread_is_decided_by_its_own_recipients() -> None:
    # a colleague on the original email does not make the reply's other recipients internal
    email = Email(
        Channel.CRM,
        to=("bob@client.com",),
        existing_contacts=("bob@client.com",),
        in_reply_to=OriginalEmail(to=("jane@acme.com",)),
    )
    decided, _ = one(email, internal=ACME)
    assert decided.outcome is Outcome.LOGGED


@given(st.sampled_from(["acme.com", "eu.acme.com", "a.b.acme.com", "acme.org", "x.io"]))
def test_every_domain_that_can_cover_a_recipient_is_among_its_lookup_keys(domain: str) -> None:
    email = Email(Channel.CRM, to=(f"jane@{domain}",))
    keys = lookup_keys(email)
    covering = {parse_domain(d).key for d in ("acme.com", "eu.acme.com", "acme.org", "x.io")}
    expected = {d for d in covering if domain == d or domain.endswith(f".{d}")}
    found = {d for d in covering if f"@{d}" in keys or f"*.{d}" in keys}
    assert found == expected
