"""Never-log patterns: each input rule of PRODUCT.md, and the split of many."""

from __future__ import annotations

import pytest

from policy import EntryKind, PatternError, parse_pattern, split_patterns

ADDRESS, DOMAIN, SUBDOMAINS = EntryKind.ADDRESS, EntryKind.DOMAIN, EntryKind.SUBDOMAINS

VALID = [
    # (raw, kind, canonical text, lookup key)
    ("name@example.com", ADDRESS, "name@example.com", "name@example.com"),
    ("  Name@Example.COM\t", ADDRESS, "name@example.com", "name@example.com"),
    ("jane+news@acme.com", ADDRESS, "jane+news@acme.com", "jane+news@acme.com"),
    (
        "first.last@mail.acme.co.uk",
        ADDRESS,
        "first.last@mail.acme.co.uk",
        "first.last@mail.acme.co.uk",
    ),
    ("*@example.com", DOMAIN, "*@example.com", "@example.com"),
    ("example.com", DOMAIN, "*@example.com", "@example.com"),
    ("@example.com", DOMAIN, "*@example.com", "@example.com"),
    ("EXAMPLE.com", DOMAIN, "*@example.com", "@example.com"),
    ("*@*.example.com", SUBDOMAINS, "*@*.example.com", "*.example.com"),
    ("*@*.EU.Example.com", SUBDOMAINS, "*@*.eu.example.com", "*.eu.example.com"),
    ("*@*.co.uk", SUBDOMAINS, "*@*.co.uk", "*.co.uk"),
    ("*@domän.se", DOMAIN, "*@domän.se", "@xn--domn-noa.se"),
    ("*@DOMÄN.se", DOMAIN, "*@domän.se", "@xn--domn-noa.se"),
    ("*@xn--domn-noa.se", DOMAIN, "*@domän.se", "@xn--domn-noa.se"),
    ("*@XN--DOMN-NOA.SE", DOMAIN, "*@domän.se", "@xn--domn-noa.se"),
    ("domän.se", DOMAIN, "*@domän.se", "@xn--domn-noa.se"),
    ("*@*.domän.se", SUBDOMAINS, "*@*.domän.se", "*.xn--domn-noa.se"),
    ("*@*.xn--domn-noa.se", SUBDOMAINS, "*@*.domän.se", "*.xn--domn-noa.se"),
    ("Name@Domän.se", ADDRESS, "name@domän.se", "name@xn--domn-noa.se"),
    ("name@xn--domn-noa.se", ADDRESS, "name@domän.se", "name@xn--domn-noa.se"),
    ("Jöran@münchen.de", ADDRESS, "jöran@münchen.de", "jöran@xn--mnchen-3ya.de"),
    (
        "info@\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com",
        ADDRESS,
        "info@example.com",
        "info@example.com",
    ),
    ("*@acme\u3002com", DOMAIN, "*@acme.com", "@acme.com"),
    ("a" * 64 + "@example.com", ADDRESS, "a" * 64 + "@example.com", "a" * 64 + "@example.com"),
    ("*@" + "a" * 63 + ".com", DOMAIN, "*@" + "a" * 63 + ".com", "@" + "a" * 63 + ".com"),
]


@pytest.mark.parametrize(
    ("raw", "kind", "text", "key"), VALID, ids=[row[0].strip()[:40] for row in VALID]
)
def test_a_valid_pattern_has_one_canonical_form(
    raw: str, kind: EntryKind, text: str, key: str
) -> None:
    pattern = parse_pattern(raw)

    assert (pattern.kind, pattern.text, pattern.key) == (kind, text, key)


def test_unicode_upper_case_and_punycode_spellings_are_one_entry() -> None:
    spellings = ["*@domän.se", "*@DOMÄN.se", "*@xn--domn-noa.se", "domän.se", "@DOMÄN.SE"]

    assert len({parse_pattern(spelling) for spelling in spellings}) == 1


INVALID = [
    # (raw, reason): the message is '"<raw, trimmed>" is not a valid never-log pattern: <reason>.'
    ("name@hubspot. com", "it contains a space"),
    ("name @hubspot.com", "it contains a space"),
    ("name@hub\tspot.com", "it contains white space"),
    ("na*me@x.com", "a wildcard may only stand for the whole part before the @-sign"),
    ("*name@x.com", "a wildcard may only stand for the whole part before the @-sign"),
    ("**@x.com", "a wildcard may only stand for the whole part before the @-sign"),
    ("*@x.*", "a wildcard in the domain may only stand for subdomains, as in *@*.example.com"),
    ("*@*", "a wildcard in the domain may only stand for subdomains, as in *@*.example.com"),
    ("*", "a wildcard in the domain may only stand for subdomains, as in *@*.example.com"),
    ("*@x*.com", "a wildcard in the domain may only stand for subdomains, as in *@*.example.com"),
    (
        "*@*.*.x.com",
        "a wildcard in the domain may only stand for subdomains, as in *@*.example.com",
    ),
    (
        "*@a.*.x.com",
        "a wildcard in the domain may only stand for subdomains, as in *@*.example.com",
    ),
    ("*.example.com", "subdomains are written with *@ before them, as in *@*.example.com"),
    ("@*.example.com", "subdomains are written with *@ before them, as in *@*.example.com"),
    ("jane@*.example.com", "subdomains are written with *@ before them, as in *@*.example.com"),
    (
        "*@*.com",
        "subdomains may only be listed under a domain with a period, as in *@*.example.com",
    ),
    ("*@localhost", "the domain must contain a period, as in example.com"),
    ("jane@localhost", "the domain must contain a period, as in example.com"),
    ("com", "the domain must contain a period, as in example.com"),
    ("*@x.test", "the domain is a special-use or reserved name that cannot receive email"),
    ("*@*.acme.test", "the domain is a special-use or reserved name that cannot receive email"),
    ("*@app.localhost", "the domain is a special-use or reserved name that cannot receive email"),
    ("jane@x.invalid", "the domain is a special-use or reserved name that cannot receive email"),
    ("*@hidden.onion", "the domain is a special-use or reserved name that cannot receive email"),
    ("a" * 250 + "@x.com", "the part before the @-sign is longer than 64 characters"),
    ("a" * 65 + "@x.com", "the part before the @-sign is longer than 64 characters"),
    (
        "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 58 + ".com",
        "the address is too long (1 character too many)",
    ),
    (
        "jane@" + "a" * 64 + ".com",
        "a part of the domain between periods is longer than 63 characters",
    ),
    ("*@" + "a" * 64 + ".com", "a part of the domain between periods is longer than 63 characters"),
    ("*@" + ("a" * 60 + ".") * 5 + "com", "the domain is too long (55 characters too many)"),
    ('"jane"@x.com', "a quoted part before the @-sign is not allowed"),
    ('"jane doe"@x.com', "a quoted part before the @-sign is not allowed"),
    ("jane@x@y.com", "it has more than one @-sign"),
    ("@@x.com", "it has more than one @-sign"),
    ("jane@", "there is nothing after the @-sign"),
    ("*@", "there is nothing after the @-sign"),
    ("@", "there is nothing after the @-sign"),
    ("", "it is empty"),
    ("   ", "it is empty"),
    ("<jane@x.com>", "a name or angle brackets around the address are not allowed"),
    ("Jane Doe <jane@x.com>", "a name or angle brackets around the address are not allowed"),
    ("*@ac,me.com", "the domain contains a character that is not allowed: ','"),
    ("jane@[192.0.2.1]", "an IP address in brackets is not allowed after the @-sign"),
    ("jane..doe@x.com", "it has two periods in a row"),
    ("*@acme..com", "it has two periods in a row"),
    (".jane@x.com", "it starts with a period"),
    ("jane.@x.com", "the part before the @-sign ends with a period"),
    ("*@.acme.com", "the domain starts with a period"),
    ("*@acme.com.", "it ends with a period"),
    ("*@-acme.com", "the domain starts with a hyphen"),
    ("*@acme-.com", "a part of the domain starts or ends with a hyphen"),
    (
        "*@ab--cd.com",
        "a part of the domain has two hyphens after its first two characters but is not Punycode",
    ),
    ("*@acme.123", "the domain does not end in a valid top-level domain"),
    ("*@xn--zz.com", "the domain is not a valid internationalized domain name"),
    ("*@acme_corp.com", "the domain contains a character that is not allowed: '_'"),
    ("*@ac<m>e.com", "the domain contains characters that are not allowed: '<', '>'"),
    ("ja(ne@x.com", "the part before the @-sign contains a character that is not allowed: '('"),
    ("jane\u200b@x.com", "it contains a character that is not allowed: ZERO WIDTH SPACE"),
]


@pytest.mark.parametrize(
    ("raw", "reason"), INVALID, ids=[row[0][:40] or "empty" for row in INVALID]
)
def test_an_invalid_pattern_is_refused_with_what_is_wrong(raw: str, reason: str) -> None:
    with pytest.raises(PatternError) as caught:
        parse_pattern(raw)

    error = caught.value
    assert error.raw == raw.strip()
    assert error.reason == reason
    assert str(error) == f'"{raw.strip()}" is not a valid never-log pattern: {reason}.'


def test_the_message_quotes_the_trimmed_pattern() -> None:
    with pytest.raises(PatternError) as caught:
        parse_pattern("  name@hubspot. com ")

    assert str(caught.value) == (
        '"name@hubspot. com" is not a valid never-log pattern: it contains a space.'
    )


def test_a_pattern_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not a valid never-log pattern"):
        parse_pattern("na*me@x.com")


def test_an_invalid_pattern_is_refused_again_when_asked_again() -> None:
    # given a refused pattern (results are cached)
    with pytest.raises(PatternError):
        parse_pattern("na*me@x.com")

    # when / then: it is refused again, with a fresh error
    with pytest.raises(PatternError) as caught:
        parse_pattern("na*me@x.com")
    assert caught.value.raw == "na*me@x.com"


SPLITS = [
    (["a@x.com"], [(0, "a@x.com")]),
    (["a@x.com, b@x.com"], [(0, "a@x.com"), (0, "b@x.com")]),
    (["a@x.com;b@x.com"], [(0, "a@x.com"), (0, "b@x.com")]),
    (
        ["a@x.com\nb@x.com\r\nc@x.com\rd@x.com"],
        [(0, "a@x.com"), (0, "b@x.com"), (0, "c@x.com"), (0, "d@x.com")],
    ),
    (["a@x.com b@x.com"], [(0, "a@x.com b@x.com")]),
    (["  a@x.com  ,\t b@x.com\t"], [(0, "a@x.com"), (0, "b@x.com")]),
    ([",, ;\n ;"], []),
    ([], []),
    (["", "   "], []),
    (
        ["a@x.com", "b@x.com; c@x.com", "", "d@x.com"],
        [(0, "a@x.com"), (1, "b@x.com"), (1, "c@x.com"), (3, "d@x.com")],
    ),
    (["a@x.com,a@x.com"], [(0, "a@x.com"), (0, "a@x.com")]),
]


@pytest.mark.parametrize(
    ("values", "items"),
    SPLITS,
    ids=[
        "one",
        "comma",
        "semicolon",
        "line breaks",
        "not on spaces",
        "trimmed",
        "only separators",
        "no values",
        "empty values",
        "index of the value",
        "duplicates kept",
    ],
)
def test_split_patterns(values: list[str], items: list[tuple[int, str]]) -> None:
    assert split_patterns(values) == items


def test_a_huge_pattern_is_refused_as_too_long() -> None:
    with pytest.raises(PatternError) as caught:
        parse_pattern("x" * 10_000 + ".com")

    # refused by its length alone, before email-validator reads it
    assert caught.value.reason == "it is longer than 320 characters (9684 too many)"
