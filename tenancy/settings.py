"""The account's settings (how much of a logged email is kept, and inbound automated email),
kept by super admins, and a user's own capture level, kept by the user.

A change that changes something is audited (ACCOUNT_SETTINGS_CHANGED,
USER_SETTINGS_CHANGED) and sent to webhooks (account.settings_changed,
user.settings_changed) in its transaction; a call that sets what is already set is
answered as it is, with no audit event and no webhook event: a CRM re-masks what it keeps
on an event, and an unchanged setting gives it nothing to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from email_validator import EmailNotValidError, validate_email

from persistence import accounts, audit
from persistence.database import Database
from persistence.tables import Account, User
from policy import CaptureLevel
from policy.automated import DEFAULT_AUTOMATED_SENDER_NAMES, sender_name_key
from policy.errors import ErrorCode, Problem, Refusal
from tenancy.audit import AuditAction
from tenancy.roles import Action, Viewer, actor_now
from tenancy.text import escaped
from tenancy.webhooks import WebhookEventType, global_id, record_event

MAX_SENDER_NAMES = 100
MAX_SENDER_NAME = 64  # the longest local part (RFC 5321)


def sender_names(account: Account) -> list[str]:
    """The account's automatedSenderNames: the default names until super admins set others."""
    if account.automated_sender_names is None:
        return list(DEFAULT_AUTOMATED_SENDER_NAMES)
    return list(account.automated_sender_names)


def checked_sender_names(raw: Sequence[str]) -> list[str]:
    """The names trimmed, each once (by the form they are compared in, the first kept); at
    most MAX_SENDER_NAMES, each a valid local part of at most MAX_SENDER_NAME characters
    that names some sender (not only dots, hyphens, underscores or a +tag). Every bad name
    is named, in one refusal."""
    field = "automatedSenderNames"
    if len(raw) > MAX_SENDER_NAMES:
        raise Refusal.one(
            ErrorCode.INVALID_INPUT,
            f"automatedSenderNames may hold at most {MAX_SENDER_NAMES} names; "
            f"this one holds {len(raw)}.",
            ["input", field],
        )
    problems: list[Problem] = []
    names: dict[str, str] = {}
    for index, given in enumerate(raw):
        name = given.strip()
        wrong = _what_is_wrong(name)
        if wrong is not None:
            problems.append(
                Problem(
                    ErrorCode.INVALID_INPUT,
                    f'"{escaped(name):.100}" is not a sender name: {wrong}.',
                    ("input", field, str(index)),
                )
            )
            continue
        names.setdefault(sender_name_key(name), name)
    if problems:
        raise Refusal(problems)
    return list(names.values())


def _what_is_wrong(name: str) -> str | None:
    if not name:
        return "it is empty"
    if len(name) > MAX_SENDER_NAME:
        return f"a local part holds at most {MAX_SENDER_NAME} characters; this one {len(name)}"
    if "@" in name:
        return "give the part before the @ only (such as noreply)"
    try:
        validate_email(
            f"{name}@example.com",
            check_deliverability=False,
            allow_quoted_local=False,
            allow_smtputf8=True,
        )
    except EmailNotValidError as exc:
        return f"it is not a valid local part ({str(exc).rstrip('.')})"
    if not sender_name_key(name):
        return "it names no sender once dots, hyphens, underscores and a +tag are ignored"
    return None


async def update_account_settings(
    db: Database,
    viewer: Viewer,
    *,
    default_capture: CaptureLevel | None = None,
    skip_automated_emails: bool | None = None,
    automated_sender_names: Sequence[str] | None = None,
) -> Account:
    """Change what is given (None: left as it is); an empty list of names turns the name
    rule off. Super admins only (the field declares it; the role is checked again under
    the account's lock)."""
    names = (
        checked_sender_names(automated_sender_names) if automated_sender_names is not None else None
    )
    async with db.transaction(viewer.account_id, write=True) as session:
        account = await accounts.lock_account(session=session, account_id=viewer.account_id)
        assert account is not None, "a signed-in viewer's account exists"
        # The role at the moment of the change, under the account's lock.
        await actor_now(session, viewer, action=Action.CHANGE_ACCOUNT_SETTINGS)
        before = _account_data(account)
        if default_capture is not None:
            account.default_capture = default_capture.value
        if skip_automated_emails is not None:
            account.skip_automated_emails = skip_automated_emails
        if names is not None and names != sender_names(account):
            account.automated_sender_names = names
        after = _account_data(account)
        if after == before:
            return account
        session.add(account)
        await audit.record(
            session=session,
            account_id=viewer.account_id,
            action=AuditAction.ACCOUNT_SETTINGS_CHANGED.value,
            actor_id=viewer.user_id,
            summary=_account_summary(before, after),
        )
        await record_event(
            session,
            account_id=viewer.account_id,
            event_type=WebhookEventType.ACCOUNT_SETTINGS_CHANGED,
            data=after,
        )
        return account


def _account_data(account: Account) -> dict[str, Any]:
    """The settings as account.settings_changed sends them."""
    return {
        "defaultCapture": account.default_capture,
        "skipAutomatedEmails": account.skip_automated_emails,
        "automatedSenderNames": sender_names(account),
    }


def _account_summary(before: dict[str, Any], after: dict[str, Any]) -> str:
    parts = []
    if before["defaultCapture"] != after["defaultCapture"]:
        parts.append(
            f"the default capture is now {after['defaultCapture']} (was {before['defaultCapture']})"
        )
    if before["skipAutomatedEmails"] != after["skipAutomatedEmails"]:
        parts.append(
            "automated inbound email is now "
            + ("kept out of the CRM" if after["skipAutomatedEmails"] else "logged")
        )
    if before["automatedSenderNames"] != after["automatedSenderNames"]:
        count = len(after["automatedSenderNames"])
        parts.append(
            f"the automated sender names are now {count} name{'' if count == 1 else 's'}"
            if count
            else "no sender name marks an automated sender any more"
        )
    text = "; ".join(parts)
    return f"Account settings changed: {text}."


async def update_my_settings(
    db: Database, viewer: Viewer, *, default_capture: CaptureLevel | None
) -> User:
    """Set the viewer's own capture level; None: the account's applies."""
    value = default_capture.value if default_capture is not None else None
    async with db.transaction(viewer.account_id, write=True) as session:
        # The account first, shared, as other changes that lock a user row take it.
        await accounts.share_account(session=session, account_id=viewer.account_id)
        user = await actor_now(session, viewer)
        if user.default_capture == value:
            return user
        before = user.default_capture
        user.default_capture = value
        session.add(user)
        await audit.record(
            session=session,
            account_id=viewer.account_id,
            action=AuditAction.USER_SETTINGS_CHANGED.value,
            actor_id=viewer.user_id,
            subject_user_id=user.id,
            summary=f"{user.email}'s own capture is now {_capture(value)} "
            f"(was {_capture(before)}).",
        )
        await record_event(
            session,
            account_id=viewer.account_id,
            event_type=WebhookEventType.USER_SETTINGS_CHANGED,
            data={"userId": global_id("User", user.id), "defaultCapture": value},
        )
        return user


def _capture(value: str | None) -> str:
    return value if value is not None else "the account's"
