"""Recipient addresses: their canonical form and the keys they are looked up by."""

from __future__ import annotations

import pytest

from policy import parse_address, parse_pattern

CANONICAL = [
    # (recipient as given, canonical text, ascii domain)
    ("jane@example.com", "jane@example.com", "example.com"),
    ("  Jane@Example.COM  ", "jane@example.com", "example.com"),
    ("Jane Doe <jane@example.com>", "jane@example.com", "example.com"),
    ('"Doe, Jane" <Jane@Example.com>', "jane@example.com", "example.com"),
    ("<jane@example.com>", "jane@example.com", "example.com"),
    ("jane@DOMÄN.se", "jane@domän.se", "xn--domn-noa.se"),
    ("jane@xn--domn-noa.se", "jane@domän.se", "xn--domn-noa.se"),
    ("Jöran <JÖRAN@münchen.de>", "jöran@münchen.de", "xn--mnchen-3ya.de"),
    ("Jöran Åberg <jo@example.se>", "jo@example.se", "example.se"),
    ('"Åberg, Jöran" <jo@example.se>', "jo@example.se", "example.se"),
    ("jane+news@acme.com", "jane+news@acme.com", "acme.com"),
]


@pytest.mark.parametrize(
    ("raw", "text", "ascii_domain"), CANONICAL, ids=[c[0].strip() for c in CANONICAL]
)
def test_a_recipient_has_one_canonical_address(raw: str, text: str, ascii_domain: str) -> None:
    address = parse_address(raw)

    assert address is not None
    assert (address.text, address.ascii_domain) == (text, ascii_domain)
    assert address.local == text.partition("@")[0]


INVALID = [
    "",
    "jane",
    "jane@",
    "@example.com",
    "jane@localhost",
    "jane@x.test",
    '"jane doe"@example.com',
    "jane doe@example.com",
    "jane@@example.com",
    "Jane Doe jane@example.com",
    "Doe, Jane <jane@example.com>",
    "Åberg, Jöran <jo@example.se>",
    "Jöran jo@example.se",
    "jane@[192.0.2.1]",
    "a" * 250 + "@example.com",
    "a" * 65 + "@example.com",
]


@pytest.mark.parametrize("raw", INVALID, ids=[raw[:30] or "empty" for raw in INVALID])
def test_an_invalid_recipient_has_no_address(raw: str) -> None:
    assert parse_address(raw) is None


KEYS = [
    ("jane@acme.com", ("jane@acme.com", "@acme.com")),
    ("jane@eu.acme.com", ("jane@eu.acme.com", "@eu.acme.com", "*.acme.com")),
    (
        "jane@a.b.acme.com",
        ("jane@a.b.acme.com", "@a.b.acme.com", "*.b.acme.com", "*.acme.com"),
    ),
    (
        "Jane@Mail.Domän.se",
        ("jane@mail.xn--domn-noa.se", "@mail.xn--domn-noa.se", "*.xn--domn-noa.se"),
    ),
    ("jane@acme.co.uk", ("jane@acme.co.uk", "@acme.co.uk", "*.co.uk")),
]


@pytest.mark.parametrize(("raw", "keys"), KEYS, ids=[k[0] for k in KEYS])
def test_lookup_keys_run_from_the_address_to_the_farthest_parent(
    raw: str, keys: tuple[str, ...]
) -> None:
    address = parse_address(raw)

    assert address is not None
    assert address.lookup_keys() == keys


MATCHES = [
    # (pattern, recipient, whether the pattern's key is among the recipient's keys)
    ("jane@acme.com", "JANE@acme.com", True),
    ("jane@acme.com", "jane+news@acme.com", False),
    ("jane+news@acme.com", "jane@acme.com", False),
    ("jane@acme.com", "jane@eu.acme.com", False),
    ("*@acme.com", "bob@acme.com", True),
    ("*@acme.com", "bob@eu.acme.com", False),
    ("*@*.acme.com", "bob@eu.acme.com", True),
    ("*@*.acme.com", "bob@a.b.acme.com", True),
    ("*@*.acme.com", "bob@acme.com", False),
    ("*@*.acme.com", "bob@notacme.com", False),
    ("*@domän.se", "bob@xn--domn-noa.se", True),
    ("*@xn--domn-noa.se", "Bob <bob@DOMÄN.se>", True),
    ("*@*.domän.se", "bob@mail.xn--domn-noa.se", True),
]


@pytest.mark.parametrize(
    ("pattern", "recipient", "matches"), MATCHES, ids=[f"{p} {r}" for p, r, _ in MATCHES]
)
def test_a_pattern_matches_by_its_key(pattern: str, recipient: str, matches: bool) -> None:
    address = parse_address(recipient)

    assert address is not None
    assert (parse_pattern(pattern).key in address.lookup_keys()) is matches


def test_no_lookup_key_is_a_subdomain_wildcard_of_a_top_level_domain() -> None:
    # *@*.com is not a valid pattern, so *.com is never looked up
    address = parse_address("jane@acme.com")

    assert address is not None
    assert "*.com" not in address.lookup_keys()
