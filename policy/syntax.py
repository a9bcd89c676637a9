"""The one door to email-validator: fixed options, and its messages as reasons.

Every option is passed explicitly, so no module-wide default of the library
(such as its test-environment switch) can change what the service accepts.
``strict`` adds the 64-character limit of the part before the @-sign. One
definition serves recipients and patterns alike: every valid recipient can
be listed, and every listed address is a valid recipient. Validation is
syntax only: deliverability (DNS) is never checked.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, ValidatedEmail, validate_email

__all__ = ["LONGEST", "NO_PERIOD", "EmailNotValidError", "reason", "too_long", "validate"]

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


def validate(text: str, *, allow_display_name: bool = False) -> ValidatedEmail:
    """Check the syntax of one address; raise EmailNotValidError if invalid (a text over
    LONGEST characters without calling email-validator)."""
    if len(text) > LONGEST:
        raise EmailNotValidError(
            f"The address is too long ({len(text) - LONGEST} characters too many)."
        )
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
