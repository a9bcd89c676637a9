"""One sentence per recipient that says why it is, or is not, logged."""

from __future__ import annotations

from policy.types import CaptureLevel, Channel, EntryAction, Scope

_KEPT = {
    CaptureLevel.FULL: "Logged",
    CaptureLevel.SUBJECT: "Logged without body",
    CaptureLevel.METADATA: "Logged without body or subject",
}
_ACTION = {
    EntryAction.NEVER_LOG: "never log",
    EntryAction.LOG_SUBJECT_ONLY: "subject only",
    EntryAction.LOG_METADATA_ONLY: "metadata only",
}
_LEVEL = {
    CaptureLevel.FULL: "the whole email",
    CaptureLevel.SUBJECT: "subject only",
    CaptureLevel.METADATA: "metadata only",
}


def list_name(scope: Scope) -> str:
    """The list an entry is on, as the sentences name it."""
    if scope is Scope.ACCOUNT:
        return "the account-wide never-log list"
    # A super admin may decide as another user: "your" list would be wrong.
    return "the sender's personal never-log list"


def unlisted_channel(channel: Channel) -> str | None:
    """The emails of a channel where the lists do not apply, or None."""
    if channel is Channel.TEAM_INBOX:
        return "team inbox emails"
    if channel is Channel.INTEGRATION:
        return "emails from integrations"
    return None


def logged(address: str, *, new_contact: bool, unlisted: str | None) -> str:
    """A LOGGED recipient, with or without a new contact."""
    if unlisted is not None:
        reason = f"never-log lists do not apply to {unlisted}"
        if new_contact:
            return (
                f"Logged: {reason}, so the email is logged to a new contact created for {address}."
            )
        return f"Logged: {reason}, so the email is logged to the existing contact for {address}."
    if new_contact:
        return (
            f"Logged: {address} matches no never-log entry, "
            "so the email is logged to a new contact created for it."
        )
    return f"Logged: {address} matches no never-log entry, so the email is logged to its contact."


def never_log(address: str, pattern: str, scope: Scope) -> str:
    """A recipient that an entry matches."""
    return f"Not logged: {address} matches {pattern} on {list_name(scope)}."


def action_words(action: EntryAction) -> str:
    """An entry's action in a sentence: "metadata only"."""
    return _ACTION[action]


def limited_by_entry(
    address: str,
    capture: CaptureLevel,
    pattern: str,
    action: EntryAction,
    scope: Scope,
    original: str | None = None,
    *,
    entry_list: str | None = None,
) -> str:
    """A LOGGED recipient whose capture an entry limits: one that matches the recipient,
    or (``original``) a recipient of the email that a reply answers. ``entry_list`` says
    where the entry is, for a reader who may not see its pattern ("an entry on ...")."""
    where = (
        entry_list
        if entry_list is not None
        else f"{pattern} ({_ACTION[action]}) on {list_name(scope)}"
    )
    if original is None:
        return f"{_KEPT[capture]}: {address} matches {where}."
    return f"{_KEPT[capture]}: {address} is on a reply to a thread with {original}, which matches {where}."


def limited_by_setting(logged_sentence: str, capture: CaptureLevel, whose: str) -> str:
    """A LOGGED recipient whose capture a setting limits (``whose``: "the account's" or
    "the sender's own"): the sentence of ``logged`` saying what is kept, and why."""
    rest = logged_sentence.removeprefix("Logged:").removesuffix(".")
    return f"{_KEPT[capture]}:{rest}; {whose} capture is {_LEVEL[capture]}."


def automated(reason: str) -> str:
    """A participant of an automated email."""
    return f"Not logged: the email is automated ({reason})."


def internal(address: str, domain: str) -> str:
    """A recipient at an internal domain of the account: a colleague, not a contact."""
    return f"Not logged: {address} is a colleague: {domain} is an internal domain of the account."


def logging_off(address: str) -> str:
    """A recipient of an email whose sender turned logging off."""
    return (
        f"Not logged: logging to the CRM is turned off for this email, so {address} is not logged."
    )


def excluded(address: str) -> str:
    """A recipient that the sender excluded from this email's logging."""
    return f"Not logged: the sender excluded {address} from logging for this email."


def reply_to_thread(address: str, original: str, pattern: str, scope: Scope) -> str:
    """A recipient of a reply to a thread with a never-logged recipient."""
    return (
        f"Not logged: {address} is on a reply to a thread with {original}, "
        f"which matches {pattern} on {list_name(scope)}."
    )


def no_contact(address: str, *, new_contacts_off: bool) -> str:
    """A recipient without a contact, where none may be created."""
    if new_contacts_off:
        why = "creating new contacts is turned off for this email"
    else:
        why = "a reply never creates a contact"
    return f"Not logged: {address} has no contact, and {why}."


def invalid(given: str) -> str:
    """A recipient that is not a valid email address."""
    if not given:
        return "Not logged: an empty recipient is not a valid email address."
    return f'Not logged: "{given}" is not a valid email address.'
