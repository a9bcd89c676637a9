"""Recipient addresses: their canonical form and the entry keys they match."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from policy.caching import cached
from policy.syntax import EmailNotValidError, validate


@dataclass(frozen=True, slots=True)
class Address:
    """A valid recipient address in canonical form."""

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


@cached
def _parse(text: str) -> Address | None:
    for spelling in _spellings(text.lower()):
        try:
            checked = validate(spelling, allow_display_name=True)
        except EmailNotValidError:
            continue
        local = checked.local_part
        return Address(f"{local}@{checked.domain}", local, checked.ascii_domain)
    return None


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


@lru_cache(maxsize=4096)
def _lookup_keys(local: str, ascii_domain: str) -> tuple[str, ...]:
    keys = [f"{local}@{ascii_domain}", f"@{ascii_domain}"]
    parent = ascii_domain.partition(".")[2]
    while "." in parent:
        keys.append(f"*.{parent}")
        parent = parent.partition(".")[2]
    return tuple(keys)
