"""A label that cannot fit 63 octets in its ASCII (Punycode) form is refused before any IDNA
work, whatever else it holds; the bound it is found by is never above the real length, so
nothing that IDNA would accept is refused by it."""

from __future__ import annotations

from typing import Any

import idna
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

import policy.syntax
from policy import PatternError, parse_address, parse_domain, parse_pattern
from policy.syntax import domain_too_long, punycode_at_least
from tests.profiles import examples

UMLAUT_LABEL = "äöß" * 50  # 150 letters: 300 bytes, at least 154 octets in Punycode


@pytest.fixture
def no_idna_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fails the test where email-validator or IDNA's encoding is asked."""

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("IDNA work was done")

    monkeypatch.setattr(policy.syntax, "validate_email", refused)
    monkeypatch.setattr(idna, "alabel", refused)
    monkeypatch.setattr(idna, "encode", refused)


@pytest.mark.usefixtures("no_idna_work")
@pytest.mark.parametrize(
    "text",
    [
        f"*@{UMLAUT_LABEL}.de",
        f"*@*.{UMLAUT_LABEL}.de",
        f"jane@{UMLAUT_LABEL}.de",
        # a label of valid letters past 63 whatever else it holds (an invalid character)
        f"jane@{UMLAUT_LABEL}!.de",
        f"jane@x.{'中' * 60}",
    ],
)
def test_a_pattern_with_a_label_too_long_for_punycode_is_refused_without_idna(text: str) -> None:
    with pytest.raises(PatternError) as refused:
        parse_pattern(text)
    assert "longer than 63 characters" in refused.value.reason


@pytest.mark.usefixtures("no_idna_work")
def test_an_address_and_a_domain_with_such_a_label_are_invalid_without_idna() -> None:
    assert parse_address(f"u1@{UMLAUT_LABEL}.de") is None
    assert parse_address(f"Jöran <u1@{UMLAUT_LABEL}.de>") is None
    with pytest.raises(ValueError, match="longer than 63"):
        parse_domain(f"{UMLAUT_LABEL}.de")


def test_a_label_that_fits_is_left_to_idna() -> None:
    # 59 non-ASCII letters take at least 63 octets: it may fit, so IDNA says
    assert domain_too_long("ä" * 59 + ".de") is None
    assert domain_too_long("ä" * 60 + ".de") is not None
    # ignorable characters (a soft hyphen) are dropped by the mapping before counting, and
    # an ideographic full stop separates labels
    assert domain_too_long("\u00ad" * 200 + "müller.de") is None
    assert domain_too_long("ä" * 40 + "\u3002" + "ö" * 40 + ".de") is None


@pytest.mark.parametrize(
    "label", ["müller", "ä" * 19, "äöß" * 6 + "x", "abc-ä", "中文", "ä" * 30 + "abc" * 5]
)
def test_the_bound_is_never_above_the_punycode_length(label: str) -> None:
    mapped = idna.uts46_remap(label, std3_rules=False, transitional=False)
    assert punycode_at_least(mapped) <= len(idna.alabel(mapped))


# Letters, marks that compose, ignorable and mapped characters, label separators: what the
# mapping before IDNA may grow, shrink or split.
ALPHABET = st.sampled_from(
    [
        *"abcxyz019-äöüßé中文한",
        *("\u0308", "\u00ad", "\u200b", "\ufe0f", "\u3002", "\uff0e", "\uff21", "\ufb00"),
        *("\u1100", "\u1161", "\u11a8", "\u2488"),
    ]
)


@settings(max_examples=examples(150, 30))
@given(labels=st.lists(st.text(ALPHABET, min_size=1, max_size=90), min_size=1, max_size=4))
def test_nothing_that_email_validator_accepts_is_refused_by_the_bound(labels: list[str]) -> None:
    domain = ".".join(labels) + ".de"
    if domain_too_long(domain) is None:
        return
    with pytest.raises(EmailNotValidError):
        validate_email(
            f"a@{domain}",
            allow_smtputf8=True,
            check_deliverability=False,
            test_environment=False,
            globally_deliverable=True,
        )
