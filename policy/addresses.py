"""Recipient addresses: their canonical form and the entry keys they match."""

from __future__ import annotations

import re
from functools import partial
from typing import Final, NamedTuple

from email_validator import SPECIAL_USE_DOMAIN_NAMES

from policy.caching import cached
from policy.syntax import EmailNotValidError, validate


class Address(NamedTuple):
    """A valid recipient address in canonical form (a named tuple: immutable, and cheaper
    to build than a frozen dataclass, which every address never seen before pays)."""

    text: str
    local: str
    ascii_domain: str

    def lookup_keys(self) -> tuple[str, ...]:
        """The keys of every entry that could match, most specific first.

        The address itself, its domain, then every subdomain wildcard above
        it, closest first. ``*.com`` is never among them: a subdomain entry
        needs a domain with a period (``*@*.com`` is not a valid pattern).
        For jane@a.b.acme.com: ``("jane@a.b.acme.com", "@a.b.acme.com",
        "*.b.acme.com", "*.acme.com")``.
        """
        return _lookup_keys(self.local, self.ascii_domain)


def parse_address(raw: str) -> Address | None:
    """The address that a recipient stands for, or None if it is not valid.

    A recipient may be bare (``jane@example.com``) or carry a display name
    (``Jane Doe <jane@example.com>``, ``"Doe, Jane" <jane@example.com>``).
    """
    return _parse(raw.strip())


def read_recipient(given: str) -> tuple[Address | None, tuple[str, ...]]:
    """The address of a recipient already stripped, and the keys of the entries that
    could match it (none where it is not valid), without a cache: for a caller that keeps
    what it makes of them in a cache of its own (one look-up where there would be two)."""
    address = _parse_text(given)
    if address is None:
        return None, ()
    return address, address.lookup_keys()


def _parse_text(text: str) -> Address | None:
    lowered = text.lower()
    fast = _fast_parse(lowered)
    if fast is not _UNSURE:
        return fast
    return _validated(lowered)


_parse = cached(_parse_text)


def _validated(lowered: str) -> Address | None:
    """The address as email-validator reads it (the slow path, for every spelling)."""
    for spelling in _spellings(lowered):
        try:
            checked = validate(spelling, allow_display_name=True)
        except EmailNotValidError:
            continue
        local = checked.local_part
        return Address(f"{local}@{checked.domain}", local, checked.ascii_domain)
    return None


# The fast path: most recipients that a logging pipeline meets are plain ASCII addresses,
# for which email-validator (about 50 µs each) says nothing that a regular expression
# cannot. _fast_parse answers only where it is sure to answer as email-validator does
# (tests/policy/test_fast_addresses.py checks it against email-validator with Hypothesis),
# and is _UNSURE of everything else, which goes to email-validator: any non-ASCII text,
# quotes, comments, a display name of more than letters, digits and spaces, Punycode
# ("xn--") or any "--" in the domain, a top-level domain of other than letters, a
# special-use domain, anything too long.
_UNSURE: Final[Address] = Address("", "", "")
_ATEXT = r"a-z0-9!#$%&'*+/=?^_`{|}~-"
# One pass of the regular expression engine says where the periods and hyphens may be: a
# dot-atom before the @-sign (no period first, last or twice), and after it labels of
# letters and digits with single inner hyphens (so no "--", which Punycode and IDNA rules
# concern), a period between labels, and a top-level domain of letters. Each character
# can belong to one place only (periods and hyphens separate what they may follow), so a
# text that fails is given up in time linear in its length, which is at most 254 here.
# The quantifiers are possessive (they give nothing back): where each character has one
# place, a match never needs what backtracking would try, and the engine skips the try.
_LOCAL = rf"[{_ATEXT}]++(?:\.[{_ATEXT}]++)*+"
_DOMAIN = r"(?:[a-z0-9]++(?:-[a-z0-9]++)*+\.)++([a-z]++)"
_BARE = re.compile(rf"({_LOCAL})@({_DOMAIN})")
_NAMED = re.compile(rf"[a-z0-9 ]*<({_LOCAL})@({_DOMAIN})>")
_LONGEST_ADDRESS = 254  # email-validator's limits (RFC 5321), where _fast_parse stops
_LONGEST_LOCAL = 64
_LONGEST_LABEL = 63
# A domain with a period is special-use where its last label is one of these, or where it
# ends with one that has periods of its own (none today; email-validator's list may grow).
_SPECIAL_LABELS = frozenset(name for name in SPECIAL_USE_DOMAIN_NAMES if "." not in name)
_SPECIAL_DOTTED = tuple("." + name for name in SPECIAL_USE_DOMAIN_NAMES if "." in name)


def _fast_parse(text: str) -> Address | None:
    """The address of lower-case ``text``; None where it is surely invalid; _UNSURE where
    email-validator must say."""
    if not text.isascii() or len(text) > _LONGEST_ADDRESS:
        return _UNSURE
    named = text[-1:] == ">"
    found = (_NAMED if named else _BARE).fullmatch(text)
    if found is None:
        # no address is without an @-sign; anything else email-validator says
        return _UNSURE if "@" in text else None
    local, domain, tld = found.groups()
    if (
        # a dot-atom of 64 characters at most before the @-sign, labels of 63 at most, a
        # top-level domain that is not special-use
        len(local) > _LONGEST_LOCAL
        or (len(domain) > _LONGEST_LABEL and _has_long_label(domain))
        or tld in _SPECIAL_LABELS
        or (_SPECIAL_DOTTED and domain.endswith(_SPECIAL_DOTTED))
    ):
        return _UNSURE
    # a bare address is the whole text
    return _address((f"{local}@{domain}" if named else text, local, domain))


# An Address built by tuple.__new__ itself, without the Python-level __new__ of a named
# tuple: what every address never seen before pays.
_address = partial(tuple.__new__, Address)


def _has_long_label(domain: str) -> bool:
    return any(len(label) > _LONGEST_LABEL for label in domain.split("."))


def _spellings(text: str) -> tuple[str, ...]:
    """The recipient and, where its display name has non-ASCII letters, the
    same with those letters as x: email-validator refuses them bare (RFC 5322)
    though mail clients write them so (RFC 6532, ``Jöran <jo@example.se>``).
    Only what comes before the first ``<`` changes: never the address.
    """
    name, bracket, rest = text.partition("<")
    if bracket and not name.isascii():
        return text, "".join(c if c.isascii() else "x" for c in name) + bracket + rest
    return (text,)


def _lookup_keys(local: str, ascii_domain: str) -> tuple[str, ...]:
    # Not cached: its caller (policy.decision's recipients) keeps the result.
    own = (f"{local}@{ascii_domain}", "@" + ascii_domain)
    parent = ascii_domain.partition(".")[2]
    if "." not in parent:  # most domains: no subdomain wildcard
        return own
    keys = list(own)
    while "." in parent:
        keys.append("*." + parent)
        parent = parent.partition(".")[2]
    return tuple(keys)
