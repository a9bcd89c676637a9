"""The one door to email-validator: fixed options, and its messages as reasons.

Every option is passed explicitly, so no module-wide default of the library
(such as its test-environment switch) can change what the service accepts.
``strict`` adds the 64-character limit of the part before the @-sign. One
definition serves recipients and patterns alike: every valid recipient can
be listed, and every listed address is a valid recipient. Validation is
syntax only: deliverability (DNS) is never checked.
"""

from __future__ import annotations

from typing import Any

import idna
from email_validator import EmailNotValidError, EmailSyntaxError, ValidatedEmail, validate_email

__all__ = [
    "LONGEST",
    "NO_PERIOD",
    "EmailNotValidError",
    "free_texts",
    "parse_points",
    "reason",
    "too_long",
    "validate",
]

NO_PERIOD = "the domain must contain a period, as in example.com"
LONGEST = 320
"""The most characters an address or pattern may have, display name and all. An address
is at most 254 characters (RFC 5321); a longer text is refused here, before
email-validator reads it, so that its cost stays bounded whatever the input."""


def too_long(text: str) -> str | None:
    """The reason why ``text`` is too long to be an address or a pattern, if it is."""
    if len(text) > LONGEST:
        return f"it is longer than {LONGEST} characters ({len(text) - LONGEST} too many)"
    return None


LONGEST_LABEL = 63
"""The most octets of a label of a domain in its ASCII (Punycode) form (RFC 1035)."""
LONGEST_ASCII_DOMAIN = 253
"""The most octets of a domain in its ASCII form, its periods included (RFC 1035)."""


def punycode_at_least(label: str) -> int:
    """The fewest octets that ``label``'s ASCII form can have: itself where it is ASCII,
    else ``xn--``, its b basic (ASCII) code points, a ``-`` after them where b > 0, and
    at least one digit for each of its n other code points (RFC 3492 encodes each one's
    delta as a variable-length integer of one digit or more): 4 + b + (b > 0) + n."""
    basic = sum(1 for c in label if c < "\x80")
    if basic == len(label):
        return basic
    return 4 + basic + (1 if basic else 0) + (len(label) - basic)


def domain_too_long(domain: str) -> str | None:
    """Why ``domain`` (the part after the @-sign, as written) cannot be valid whatever else
    it holds, found without IDNA's work: a label whose ASCII form cannot fit 63 octets, or
    a domain whose ASCII form cannot fit 253. The labels are read as IDNA reads them, after
    the UTS #46 mapping (which folds case, drops ignorable characters, maps full stops to
    periods and composes to NFC: cheap beside Punycode), so that what a label holds after
    the mapping is counted, never more. None where it may fit (or where the mapping itself
    refuses the domain, as email-validator will say)."""
    if domain.isascii():
        return None  # email-validator counts ASCII labels itself, before any IDNA work
    try:
        mapped = idna.uts46_remap(domain, std3_rules=False, transitional=False)
    except (idna.IDNAError, ValueError):
        return None
    labels = mapped.split(".")
    least = [punycode_at_least(label) for label in labels]
    longest = max(least)
    if longest > LONGEST_LABEL:
        return (
            "After the @-sign, periods cannot be separated by so many characters (a label "
            f"takes at least {longest} characters in its ASCII form; the limit is "
            f"{LONGEST_LABEL})."
        )
    if sum(least) + len(labels) - 1 > LONGEST_ASCII_DOMAIN:
        return (
            "The email address is too long after the @-sign (its ASCII form takes at least "
            f"{sum(least) + len(labels) - 1} characters; the limit is {LONGEST_ASCII_DOMAIN})."
        )
    return None


# What parsing a text costs beyond an ordinary address (a request's cost, schema/limits.py),
# from measures of this module on one core (tests/bench/bench_hostile.py checks the sum):
# an ordinary address takes the fast path of policy/addresses.py, about 5 µs, and an
# ordinary request about 200 µs per point. What leaves the fast path costs more:
# - email-validator itself: 80 to 400 µs (quotes, comments, a "--", any non-ASCII):
#   1 point;
# - IDNA, for every label that is not ASCII or is Punycode ("xn--"): 20 to 40 µs per
#   character of such a label (encoding, then decoding again, in pure Python): 1 point per
#   NON_ASCII_BYTES_PER_POINT bytes beyond one per character, and XN_POINTS per "xn--"
#   (a label of at most 63 characters);
# - any text, per BYTES_PER_POINT bytes of UTF-8 (reading, copying, refusing).
BYTES_PER_POINT = 256
NON_ASCII_BYTES_PER_POINT = 5
XN_POINTS = 13


def parse_points(text: str) -> int:
    """What parsing ``text`` as an address, a pattern or a domain is charged beyond the 1
    point of its item (0 for an ordinary address): by its bytes, and more where it leaves
    the fast path, most for what IDNA must encode. Cheap: no parsing, a few passes of C
    over the text."""
    size = len(text)
    if text.isascii():
        # What leaves the fast path: a quote, a comment, a backslash, a "--" (tested one by
        # one: a generator over a tuple of them took most of a batch's measure)
        slow = '"' in text or "(" in text or "\\" in text or "--" in text
        if size < BYTES_PER_POINT and not slow:
            return 0
        points = size // BYTES_PER_POINT
        if slow:
            points += 1 + XN_POINTS * text.lower().count("xn--")
        return points
    encoded = len(text.encode())
    extra = encoded - size  # 1 to 3 per character beyond ASCII
    return (
        encoded // BYTES_PER_POINT
        + 1
        + -(-extra // NON_ASCII_BYTES_PER_POINT)
        + XN_POINTS * text.lower().count("xn--")
    )


def free_texts(texts: list[Any]) -> str | None:
    """``texts`` joined by NULs where every one is a ``str`` that parse_points charges
    nothing (an ordinary address: ASCII, shorter than BYTES_PER_POINT, nothing that leaves
    the fast path); else None. One pass of C over them all rather than a call per text:
    a batch's measure reads a thousand addresses. A NUL next to a "-" makes no "--"."""
    try:
        joined = "\x00".join(texts)
    except TypeError:  # not all of them texts
        return None
    if not joined.isascii() or '"' in joined or "(" in joined or "\\" in joined:
        return None
    if "--" in joined or (texts and max(map(len, texts)) >= BYTES_PER_POINT):
        return None
    return joined


def _domain_part(text: str) -> str:
    """The part after the @-sign of an address as email-validator splits it (inside the
    angle brackets where a display name comes first)."""
    if text.endswith(">") and "<" in text:
        text = text[text.rfind("<") + 1 : -1]
    return text.rpartition("@")[2]


def validate(text: str, *, allow_display_name: bool = False) -> ValidatedEmail:
    """Check the syntax of one address; raise EmailNotValidError if invalid (a text over
    LONGEST characters, or whose domain cannot fit its ASCII form's limits, without
    calling email-validator: IDNA's work on a long label costs a hundred times the check)."""
    if len(text) > LONGEST:
        raise EmailNotValidError(
            f"The address is too long ({len(text) - LONGEST} characters too many)."
        )
    if not text.isascii() and (why := domain_too_long(_domain_part(text))) is not None:
        raise EmailSyntaxError(why)
    return validate_email(
        text,
        allow_smtputf8=True,
        allow_empty_local=False,
        allow_quoted_local=False,
        allow_domain_literal=False,
        allow_display_name=allow_display_name,
        strict=True,
        check_deliverability=False,
        test_environment=False,
        globally_deliverable=True,
    )


_FRAMING: tuple[tuple[str, str], ...] = (
    ("display name", "a name or angle brackets around the address are not allowed"),
    ("angle bracket", "a name or angle brackets around the address are not allowed"),
    ("quot", "a quoted part before the @-sign is not allowed"),
)

# (fragment of email-validator's message, our reason): the first match wins.
_REASONS: tuple[tuple[str, str], ...] = (
    ("bracket", "an IP address in brackets is not allowed after the @-sign"),
    ("full-width", "it has a look-alike character in place of the @-sign"),
    ("small commercial at", "it has a look-alike character in place of the @-sign"),
    ("must have an @-sign", "it has no @-sign"),
    ("something before the @-sign", "there is nothing before the @-sign"),
    ("something after the @-sign", "there is nothing after the @-sign"),
    ("anything after the email address", "there is something after the address"),
    ("so many characters", "a part of the domain between periods is longer than 63 characters"),
    ("before the @-sign (", "the part before the @-sign is longer than 64 characters"),
    ("two periods in a row", "it has two periods in a row"),
    ("period immediately after the @-sign", "the domain starts with a period"),
    ("hyphen immediately after the @-sign", "the domain starts with a hyphen"),
    ("end with a period", "it ends with a period"),
    ("end with a hyphen", "the domain ends with a hyphen"),
    ("period immediately before the @-sign", "the part before the @-sign ends with a period"),
    ("start with a period", "it starts with a period"),
    ("period and a hyphen", "a part of the domain starts or ends with a hyphen"),
    (
        "two dashes",
        "a part of the domain has two hyphens after its first two characters but is not Punycode",
    ),
    ("should have a period", NO_PERIOD),
    ("top-level domain", "the domain does not end in a valid top-level domain"),
    (
        "special-use or reserved",
        "the domain is a special-use or reserved name that cannot receive email",
    ),
    ("IDNA", "the domain is not a valid internationalized domain name"),
    ("invalid (", "the domain is not a valid internationalized domain name"),
    ("characters (", "the domain is not a valid internationalized domain name"),
    ("invalid character", "it contains a character that is not allowed"),
)


def reason(error: EmailNotValidError, *, domain_only: bool = False) -> str:
    """Say in our own words what email-validator found wrong.

    ``domain_only`` is set where a dummy address was built around a domain
    that the user wrote: then any length problem is the domain's.
    """
    message = str(error).removeprefix("After Unicode normalization: ")
    if "too long" in message and "before the @-sign" not in message:
        if "after the @-sign" in message:
            return f"the domain is too long {_detail(message)}".rstrip()
        if domain_only:
            return "the domain is too long"
        return f"the address is too long {_detail(message)}".rstrip()
    for fragment, text in _FRAMING:
        if fragment in message:
            return text
    if "characters" in message and ": " in message and "characters (" not in message:
        return _characters(message)
    for fragment, text in _REASONS:
        if fragment in message:
            return text
    return "it is not a valid email address"


def _detail(message: str) -> str:
    """The "(2 characters too many)" at the end of a length message, if any."""
    _, found, rest = message.rpartition("(")
    return f"({rest.removesuffix('.')}" if found and "too many" in rest else ""


def _characters(message: str) -> str:
    """Name the characters that email-validator refused, and where they are."""
    listed = message.rpartition(": ")[2].removesuffix(".")
    if "after the @-sign" in message:
        where = "the domain contains"
    elif "before the @-sign" in message:
        where = "the part before the @-sign contains"
    else:
        where = "it contains"
    many = "characters that are" if ", " in listed else "a character that is"
    return f"{where} {many} not allowed: {listed}"
