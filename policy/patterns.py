"""Never-log patterns: how people write them, and their canonical form::

    written as      kind        text            key
    Name@Domän.se   ADDRESS     name@domän.se   name@xn--domn-noa.se
    *@domän.se      DOMAIN      *@domän.se      @xn--domn-noa.se
    *@*.domän.se    SUBDOMAINS  *@*.domän.se    *.xn--domn-noa.se

``domän.se`` and ``@domän.se`` are short for ``*@domän.se``. The text is
what people read; the key is what an address is looked up by (see
``Address.lookup_keys``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from policy.caching import cached
from policy.syntax import LONGEST, NO_PERIOD, EmailNotValidError, reason, too_long, validate
from policy.types import EntryKind

_WILDCARD_LOCAL = "a wildcard may only stand for the whole part before the @-sign"
_WILDCARD_DOMAIN = "a wildcard in the domain may only stand for subdomains, as in *@*.example.com"
_SUBDOMAINS_OF_TLD = (
    "subdomains may only be listed under a domain with a period, as in *@*.example.com"
)
_SUBDOMAINS_FORM = "subdomains are written with *@ before them, as in *@*.example.com"


@dataclass(frozen=True, slots=True)
class Pattern:
    """A valid never-log pattern in canonical form."""

    kind: EntryKind
    text: str
    key: str


class PatternError(ValueError):
    """A never-log pattern that is not valid, and why."""

    def __init__(self, raw: str, reason: str) -> None:
        # A text too long to be a pattern is quoted by its start only.
        shown = raw if len(raw) <= LONGEST else f"{raw[:60]}…"
        super().__init__(f'"{shown}" is not a valid never-log pattern: {reason}.')
        self.raw = raw
        self.reason = reason


def split_patterns(values: Sequence[str]) -> list[tuple[int, str]]:
    """Each item of every value, with the index of the value it came from.

    Items are separated by commas, semicolons and line breaks (not spaces);
    they are trimmed, and empty ones are dropped.
    """
    items: list[tuple[int, str]] = []
    for index, value in enumerate(values):
        for line in value.splitlines():
            for item in line.replace(";", ",").split(","):
                if item := item.strip():
                    items.append((index, item))
    return items


def parse_pattern(raw: str) -> Pattern:
    """The canonical pattern that ``raw`` stands for; PatternError if none."""
    text = raw.strip()
    parsed = _parse(text)
    if isinstance(parsed, str):
        raise PatternError(text, parsed)
    return parsed


@cached
def _parse(text: str) -> Pattern | str:
    """The pattern, or the reason why ``text`` (trimmed) is not one."""
    if not text:
        return "it is empty"
    if (long := too_long(text)) is not None:
        return long
    if text.startswith('"'):
        return "a quoted part before the @-sign is not allowed"
    if text.endswith(">") and "<" in text:
        return "a name or angle brackets around the address are not allowed"
    if " " in text:
        return "it contains a space"
    if any(char.isspace() for char in text):
        return "it contains white space"
    if text.count("@") > 1:
        return "it has more than one @-sign"
    local, _, domain = text.lower().rpartition("@")
    if not domain:
        return "there is nothing after the @-sign"
    if "*" in local and local != "*":
        return _WILDCARD_LOCAL
    subdomains = domain.startswith("*.")
    parent = domain.removeprefix("*.")
    if "*" in parent:
        return _WILDCARD_DOMAIN
    if subdomains and local != "*":
        return _SUBDOMAINS_FORM
    if local in ("", "*"):
        return _domain_pattern(parent, subdomains=subdomains)
    return _address_pattern(f"{local}@{domain}")


def _domain_pattern(domain: str, *, subdomains: bool) -> Pattern | str:
    try:
        checked = validate(f"a@{domain}")
    except EmailNotValidError as error:
        why = reason(error, domain_only=True)
        return _SUBDOMAINS_OF_TLD if subdomains and why == NO_PERIOD else why
    if subdomains:
        return Pattern(EntryKind.SUBDOMAINS, f"*@*.{checked.domain}", f"*.{checked.ascii_domain}")
    return Pattern(EntryKind.DOMAIN, f"*@{checked.domain}", f"@{checked.ascii_domain}")


def _address_pattern(address: str) -> Pattern | str:
    try:
        checked = validate(address)
    except EmailNotValidError as error:
        return reason(error)
    local = checked.local_part
    return Pattern(
        EntryKind.ADDRESS, f"{local}@{checked.domain}", f"{local}@{checked.ascii_domain}"
    )
