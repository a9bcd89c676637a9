"""The fast path for plain ASCII addresses agrees with email-validator on everything it
accepts or refuses, and hands the rest to email-validator."""

from __future__ import annotations

import string

from hypothesis import example, given, settings
from hypothesis import strategies as st

from policy.addresses import _UNSURE, Address, _fast_parse, _validated, parse_address
from policy.syntax import EmailNotValidError, validate
from tests.profiles import examples

ATEXT = string.ascii_lowercase + string.digits + "!#$%&'*+/=?^_`{|}~-"
# Characters that make an address invalid, quoted, framed or internationalized.
AWKWARD = ' .@<>"()[],;:\\\t' + string.ascii_uppercase + "äé＠ı\u212a\u00a0"
LABEL = string.ascii_lowercase + string.digits + "-"
SPECIAL = ["arpa", "invalid", "local", "localhost", "onion", "test", "example", "com", "de"]


def _email_validator(text: str) -> Address | None:
    """What email-validator alone says of lower-case ``text`` (as the project calls it)."""
    try:
        checked = validate(text, allow_display_name=True)
    except EmailNotValidError:
        return None
    local = checked.local_part
    return Address(f"{local}@{checked.domain}", local, checked.ascii_domain)


labels = st.text(LABEL, min_size=0, max_size=70)
# Mostly well-formed labels, some near the limits, and top-level domains of all sorts.
good_labels = st.one_of(
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True),
    st.from_regex(r"[a-z0-9][a-z0-9-]{59,63}[a-z0-9]", fullmatch=True),
)
tlds = st.one_of(st.from_regex(r"[a-z]{1,6}", fullmatch=True), st.sampled_from(SPECIAL), labels)
domains = st.one_of(
    st.tuples(st.lists(good_labels, min_size=1, max_size=4), tlds).map(
        lambda parts: ".".join([*parts[0], parts[1]])
    ),
    st.lists(labels, min_size=1, max_size=5).map(".".join),
    st.tuples(st.lists(labels, min_size=1, max_size=3), st.sampled_from(SPECIAL)).map(
        lambda parts: ".".join([*parts[0], parts[1]])
    ),
    st.text(LABEL + ".", max_size=260),
)
locals_ = st.one_of(
    st.from_regex(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]{1,8}(\.[a-z0-9_+-]{1,8}){0,2}", fullmatch=True),
    st.text(ATEXT + ".", min_size=0, max_size=70),
    st.text(ATEXT, max_size=8),
)
names = st.text(string.ascii_lowercase + string.digits + " .'\"", max_size=12)
addresses = st.one_of(
    st.tuples(locals_, domains).map(lambda parts: f"{parts[0]}@{parts[1]}"),
    st.tuples(names, locals_, domains, st.sampled_from(["", " ", "  "])).map(
        lambda p: f"{p[0]}{p[3]}<{p[1]}@{p[2]}>"
    ),
)
mangled = st.tuples(addresses, st.text(AWKWARD, max_size=3), st.integers(0, 300)).map(
    lambda p: p[0][: p[2] % (len(p[0]) + 1)] + p[1] + p[0][p[2] % (len(p[0]) + 1) :]
)
anything = st.text(ATEXT + AWKWARD, max_size=40)
inputs = st.one_of(addresses, addresses, mangled, anything)


@settings(max_examples=examples(3000, 150))
@given(inputs)
@example("jane@acme.com")
@example("jane@acme.test")
@example("jane@sub.in-addr.arpa")
@example("jane@xn--dmn-qla.se")
@example("jane@ab--cd.com")
@example("jane@acme.c0m")
@example("jane..doe@acme.com")
@example(".jane@acme.com")
@example("jane.@acme.com")
@example("jane@-acme.com")
@example("jane@acme-.com")
@example("jane@acme")
@example("a" * 64 + "@acme.com")
@example("a" * 65 + "@acme.com")
@example("jane@" + "a" * 63 + ".com")
@example("jane@" + "a" * 64 + ".com")
@example("jane@" + "a." * 124 + "com")
@example("jane doe <jane@acme.com>")
@example("<jane@acme.com>")
@example(" <jane@acme.com>")
@example("j. doe <jane@acme.com>")
@example("jane@acme.com>")
def test_what_the_fast_path_accepts_or_refuses_email_validator_does_too(text: str) -> None:
    # given: any text, lower-cased as the decision module does before it parses
    lowered = text.lower()
    # when
    fast = _fast_parse(lowered)
    # then: where it answers, email-validator gives the same answer; else it hands over
    if fast is not _UNSURE:
        assert fast == _email_validator(lowered), lowered


@settings(max_examples=examples(1000, 60))
@given(inputs)
@example("  Jane Doe <Jane@ACME.com> ")
@example("Jöran <jo@example.se>")
@example("anna@bücher.de")
def test_parsing_an_address_gives_what_email_validator_alone_gives(text: str) -> None:
    assert parse_address(text) == _validated(text.strip().lower())


def test_plain_addresses_take_the_fast_path_and_the_rest_goes_to_email_validator() -> None:
    # the fast path answers for what a pipeline mostly meets...
    assert _fast_parse("jane.doe+news@mail.acme-corp.com") == Address(
        "jane.doe+news@mail.acme-corp.com", "jane.doe+news", "mail.acme-corp.com"
    )
    assert _fast_parse("jane doe <jane@acme.com>") == Address("jane@acme.com", "jane", "acme.com")
    assert _fast_parse("not an address") is None
    # ...and hands over the rest
    for text in (
        "jane@xn--bcher-kva.de",
        "anna@bücher.de",
        '"jane doe" <jane@acme.com>',
        "jane@acme.test",
        "jane@ab--cd.com",
        "jane@acme.c0m",
        "jane..doe@acme.com",
        "a" * 65 + "@acme.com",
    ):
        assert _fast_parse(text) is _UNSURE, text
