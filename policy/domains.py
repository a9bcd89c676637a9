"""Internal domains: how people write them, their canonical form, and which recipients
they cover::

    written as              text            key
    acme.com, @acme.com,    acme.com        acme.com
    *@acme.com, ACME.com
    domän.se, xn--domn-noa.se   domän.se    xn--domn-noa.se

A domain covers itself and its subdomains at any depth: ``eu.acme.com`` is internal
where ``acme.com`` is. The text is what people read; the key, the ASCII (punycode) form,
is what a recipient's domains are looked up by (``recipient_domains``).
"""

from __future__ import annotations

from dataclasses import dataclass

from policy.addresses import Address
from policy.syntax import NO_PERIOD, EmailNotValidError, reason, validate

_LOCAL_PART = "an internal domain is a domain only, without a part before the @-sign"
_WILDCARD = "an internal domain covers its subdomains by itself: write it without a wildcard"
_BARE_TLD = "a top-level domain alone cannot be internal: write a domain such as acme.com"


@dataclass(frozen=True, slots=True, order=True)
class Domain:
    """A valid internal domain in canonical form."""

    text: str
    key: str


class DomainError(ValueError):
    """A value that does not name an internal domain, and why."""

    def __init__(self, raw: str, reason: str) -> None:
        super().__init__(f'"{raw}" is not a valid internal domain: {reason}.')
        self.raw = raw
        self.reason = reason


def parse_domain(raw: str) -> Domain:
    """The domain that ``raw`` names (``acme.com``, ``@acme.com``, ``*@acme.com``);
    DomainError if none."""
    text = raw.strip()
    lowered = text.lower()
    for prefix in ("*@", "@"):
        if lowered.startswith(prefix):
            lowered = lowered[len(prefix) :]
            break
    if not lowered:
        raise DomainError(text, "it is empty")
    if "@" in lowered:
        raise DomainError(text, _LOCAL_PART)
    if "*" in lowered:
        raise DomainError(text, _WILDCARD)
    if any(char.isspace() for char in lowered):
        raise DomainError(text, "it contains white space")
    try:
        checked = validate(f"a@{lowered}")
    except EmailNotValidError as error:
        why = reason(error, domain_only=True)
        raise DomainError(text, _BARE_TLD if why == NO_PERIOD else why) from None
    return Domain(checked.domain, checked.ascii_domain)


def address_domain(address: Address) -> Domain:
    """The domain of a valid address (that of a user, say)."""
    return Domain(address.text.rpartition("@")[2], address.ascii_domain)


def recipient_domains(keys: tuple[str, ...]) -> tuple[str, ...]:
    """The domain keys that could make a recipient internal, closest first, from its
    lookup keys (``Address.lookup_keys``): its own domain, then every parent domain with
    a period. For jane@a.b.acme.com: ``("a.b.acme.com", "b.acme.com", "acme.com")``."""
    domains: list[str] = []
    for key in keys:
        if key.startswith("@"):
            domains.append(key[1:])
        elif key.startswith("*."):
            domains.append(key[2:])
    return tuple(domains)
