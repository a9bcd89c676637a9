"""Properties of patterns and decisions over many generated inputs."""

from __future__ import annotations

from random import Random

from hypothesis import given, settings
from hypothesis import strategies as st

from policy import (
    LISTS_APPLY,
    Channel,
    Email,
    EmailDirection,
    Entry,
    EntryKind,
    OriginalEmail,
    Outcome,
    Pattern,
    PatternError,
    Scope,
    decide,
    parse_address,
    parse_pattern,
)
from tests.profiles import examples

quick = settings(max_examples=examples(40, 20))


def any_case(text: str) -> st.SearchStrategy[str]:
    return st.lists(st.booleans(), min_size=len(text), max_size=len(text)).map(
        lambda upper: "".join(c.upper() if u else c for c, u in zip(text, upper, strict=True))
    )


# A few names, so that recipients and entries meet often.
LOCALS = st.sampled_from(["jane", "bob", "jane+news", "mom", "jöran", "a.b"]).flatmap(any_case)
BASES = st.sampled_from(
    ["acme.com", "lawfirm.com", "domän.se", "xn--domn-noa.se", "münchen.de", "acme.co.uk"]
)
PREFIXES = st.sampled_from(["", "eu.", "mail.", "a.b.", "eu.mail."])
DOMAINS = st.builds(lambda prefix, base: prefix + base, PREFIXES, BASES).flatmap(any_case)
ADDRESSES = st.builds(lambda local, domain: f"{local}@{domain}", LOCALS, DOMAINS)
RECIPIENTS = st.one_of(
    ADDRESSES,
    st.builds(
        lambda name, address: f"{name} <{address}>",
        st.sampled_from(["Jane Doe", '"Doe, Jane"']),
        ADDRESSES,
    ),
    ADDRESSES.map(lambda address: f"  {address} "),
    st.sampled_from(["", "not an address", "jane@", "jane@localhost", "@acme.com"]),
)
PATTERNS = st.one_of(
    ADDRESSES,
    DOMAINS.map(lambda domain: f"*@{domain}"),
    DOMAINS,
    DOMAINS.map(lambda domain: f"@{domain}"),
    DOMAINS.map(lambda domain: f"*@*.{domain}"),
)
ENTRIES = st.lists(
    st.builds(Entry, st.sampled_from(list(Scope)), PATTERNS.map(parse_pattern)), max_size=6
)
FIELDS = st.lists(RECIPIENTS, max_size=3).map(tuple)
ORIGINALS = st.none() | st.builds(OriginalEmail, FIELDS, FIELDS)


def emails(channels: list[Channel]) -> st.SearchStrategy[Email]:
    return st.builds(
        Email,
        channel=st.sampled_from(channels),
        to=FIELDS,
        cc=FIELDS,
        bcc=FIELDS,
        log_to_crm=st.booleans(),
        create_new_contacts=st.booleans(),
        excluded_recipients=FIELDS,
        existing_contacts=FIELDS,
        in_reply_to=ORIGINALS,
        direction=st.just(EmailDirection.OUTBOUND),
        sender_address=st.none(),
        headers=st.just(()),
    )


def related(recipient: str) -> st.SearchStrategy[str]:
    """Patterns that match the recipient, or nearly: its address, its domain and parents."""
    address = parse_address(recipient)
    if address is None:
        return PATTERNS
    local, _, domain = address.text.partition("@")
    labels = domain.split(".")
    parents = [".".join(labels[i:]) for i in range(1, len(labels) - 1)]
    return st.sampled_from(
        [address.text, f"{local}+x@{domain}", f"*@{domain}", f"*@*.{domain}"]
        + [f"*@{parent}" for parent in parents]
        + [f"*@*.{parent}" for parent in parents]
    )


@st.composite
def emails_and_entries(draw: st.DrawFn) -> tuple[Email, list[Entry]]:
    """An email, and entries of which many match its recipients or its original's."""
    email = draw(emails(list(Channel)))
    original = email.in_reply_to or OriginalEmail(to=())
    recipients = email.to + email.cc + email.bcc + original.to + original.cc
    patterns = st.one_of(PATTERNS, *[related(r) for r in recipients])
    entries = st.builds(Entry, st.sampled_from(list(Scope)), patterns.map(parse_pattern))
    return email, draw(st.lists(entries, max_size=6))


def matches(pattern: Pattern, address: str) -> bool:
    """What an entry matches, said plainly, over canonical Unicode text (not keys)."""
    domain = address.partition("@")[2]
    if pattern.kind is EntryKind.ADDRESS:
        return pattern.text == address
    if pattern.kind is EntryKind.DOMAIN:
        return pattern.text == f"*@{domain}"
    return domain.endswith("." + pattern.text.removeprefix("*@*."))


@quick
@given(emails_and_entries())
def test_a_recipient_that_an_applicable_entry_matches_is_never_logged(
    case: tuple[Email, list[Entry]],
) -> None:
    email, entries = case
    decision = decide(email, entries)

    applies = email.channel in LISTS_APPLY
    assert decision.never_log_applies is applies
    assert decision.email_sent
    for r in decision.recipients:
        if r.outcome is Outcome.INVALID_ADDRESS:
            continue
        matching = [e for e in entries if matches(e.pattern, r.address)] if applies else []
        if not matching:
            assert r.outcome is not Outcome.NEVER_LOG
            continue
        assert r.outcome is Outcome.NEVER_LOG
        named = Entry(r.matched_scope, parse_pattern(r.matched_pattern or ""))  # type: ignore[arg-type]
        assert named in matching
        if any(e.scope is Scope.ACCOUNT for e in matching):
            assert named.scope is Scope.ACCOUNT


@quick
@given(emails(list(Channel)))
def test_without_entries_only_the_senders_choices_keep_a_recipient_unlogged(email: Email) -> None:
    decision = decide(email, [])

    for r in decision.recipients:
        if parse_address(r.address) is None:
            assert r.outcome is Outcome.INVALID_ADDRESS
        else:
            assert r.outcome in {
                Outcome.LOGGED,
                Outcome.LOGGING_OFF,
                Outcome.EXCLUDED,
                Outcome.NO_CONTACT,
            }
            assert r.activity_feed_tracking
        assert r.matched_pattern is None and r.matched_scope is None


@quick
@given(emails_and_entries(), st.randoms(use_true_random=False))
def test_the_order_of_entries_never_changes_a_decision(
    case: tuple[Email, list[Entry]], random: Random
) -> None:
    email, entries = case
    shuffled = entries + entries[:2]
    random.shuffle(shuffled)

    assert decide(email, shuffled) == decide(email, entries)


@quick
@given(emails(list(Channel)), ENTRIES)
def test_each_recipient_is_decided_once(email: Email, entries: list[Entry]) -> None:
    decision = decide(email, entries)

    addresses = [r.address for r in decision.recipients]
    assert len(addresses) == len(set(addresses))
    assert decision.logged_count == sum(r.outcome is Outcome.LOGGED for r in decision.recipients)
    for r in decision.recipients:
        assert r.contact_created == (
            r.outcome is Outcome.LOGGED and r.address not in _canonical(email.existing_contacts)
        )


def _canonical(recipients: tuple[str, ...]) -> set[str]:
    return {a.text for raw in recipients if (a := parse_address(raw)) is not None}


RAW_PATTERNS = st.one_of(
    PATTERNS,
    PATTERNS.map(lambda p: f" {p}\t"),
    st.text(alphabet="abcäöß.-*@ xn-_Ö1", max_size=24),
)


@settings(max_examples=examples(200, 40))
@given(RAW_PATTERNS)
def test_the_canonical_form_is_a_fixed_point(raw: str) -> None:
    try:
        pattern = parse_pattern(raw)
    except PatternError as error:
        assert str(error).startswith(f'"{raw.strip()}" is not a valid never-log pattern: ')
        return

    assert parse_pattern(pattern.text) == pattern
    assert pattern.text == pattern.text.strip().lower()
    assert pattern.key.isascii() or pattern.kind is EntryKind.ADDRESS


@quick
@given(PATTERNS)
def test_the_ascii_spelling_of_a_pattern_is_the_same_entry(raw: str) -> None:
    pattern = parse_pattern(raw)
    ascii_spelling = {
        EntryKind.ADDRESS: pattern.key,
        EntryKind.DOMAIN: f"*{pattern.key}",
        EntryKind.SUBDOMAINS: f"*@{pattern.key}",
    }[pattern.kind]

    assert parse_pattern(ascii_spelling) == pattern


@quick
@given(RECIPIENTS)
def test_a_canonical_address_is_a_fixed_point(raw: str) -> None:
    address = parse_address(raw)

    if address is not None:
        assert parse_address(address.text) == address
        assert address.lookup_keys()[0] == f"{address.local}@{address.ascii_domain}"
