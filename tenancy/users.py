"""Accounts and their users: adding users, changing roles, deactivating, and the rule
that no change leaves an account without an active super admin."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from persistence import accounts, audit
from persistence.database import Database
from persistence.tables import Account, User, new_id
from policy.errors import ErrorCode, Refusal, not_found
from tenancy import internal_domains, signin
from tenancy.audit import AuditAction
from tenancy.invitations import NewInvitation, make_invitation
from tenancy.roles import Action, Role, Viewer, actor_now, has_role, keeps_the_account
from tenancy.text import checked_name
from tenancy.tokens import NewToken, issue_token


def normalize_email(raw: str, field: list[str]) -> str:
    """A user's address as typed, checked (syntax only, never DNS), domain in Unicode."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise Refusal.one(
            ErrorCode.INVALID_ADDRESS, f'"{raw.strip()}" is not a valid email address: {exc}', field
        ) from exc


def normalize_name(raw: str, field: list[str]) -> str:
    return checked_name(raw, field)


@dataclass(frozen=True, slots=True)
class NewAccount:
    account: Account
    admin: User
    token: NewToken


async def create_account(
    db: Database, *, name: str, admin_email: str, admin_name: str | None
) -> NewAccount:
    """The operator's command: an account, its first super admin and that admin's token."""
    account_name = normalize_name(name, ["name"])
    email = normalize_email(admin_email, ["adminEmail"])
    admin_name = normalize_name(admin_name or email.split("@")[0], ["adminName"])
    account_id = new_id()
    async with db.transaction(account_id, write=True) as session:
        account = await accounts.insert_account(
            session=session, account_id=account_id, name=account_name
        )
        admin = await _insert_user(
            session, account.id, email, admin_name, Role.SUPER_ADMIN, actor_id=None
        )
        token = await issue_token(
            session=session,
            account_id=account.id,
            user_id=admin.id,
            name="first token",
            actor_id=None,
        )
    return NewAccount(account=account, admin=admin, token=token)


async def _insert_user(
    session: AsyncSession,
    account_id: uuid.UUID,
    email: str,
    name: str,
    role: Role,
    *,
    actor_id: uuid.UUID | None,
) -> User:
    # The account row is locked first: two calls adding one address at once are served one
    # after the other, so the second sees the first's user and gets EMAIL_TAKEN rather than
    # failing on the unique key.
    await accounts.lock_account(session=session, account_id=account_id)
    if await accounts.email_taken(session=session, account_id=account_id, email=email):
        raise Refusal.one(
            ErrorCode.EMAIL_TAKEN,
            f"Another user of this account already has the address {email}.",
            ["input", "email"],
        )
    user = await accounts.insert_user(
        session=session, account_id=account_id, email=email, name=name, role=role.value
    )
    await internal_domains.users_changed(session, account_id)
    await audit.record(
        session=session,
        account_id=account_id,
        action=AuditAction.USER_ADDED.value,
        actor_id=actor_id,
        subject_user_id=user.id,
        summary=f"{email} was added as {_role_name(role)}.",
    )
    return user


_ROLE_NAMES = {Role.SUPER_ADMIN: "a super admin", Role.USER: "a user"}


def _role_name(role: Role) -> str:
    return _ROLE_NAMES[role]


@dataclass(frozen=True, slots=True)
class NewUser:
    """A user just added, and the one-time code that gives them their first token (shown
    to the super admin this once, who hands it to the user)."""

    user: User
    invitation: NewInvitation


async def add_user(db: Database, viewer: Viewer, *, email: str, name: str, role: Role) -> NewUser:
    """Super admins (the field declares it, schema/permissions.py; the role is checked
    again under the account's lock)."""
    email = normalize_email(email, ["input", "email"])
    name = normalize_name(name, ["input", "name"])
    async with db.transaction(viewer.account_id, write=True) as session:
        await accounts.lock_account(session=session, account_id=viewer.account_id)
        await actor_now(session, viewer, action=Action.ADD_USERS)
        user = await _insert_user(
            session, viewer.account_id, email, name, role, actor_id=viewer.user_id
        )
        invitation = await make_invitation(
            session, account_id=viewer.account_id, user=user, actor_id=viewer.user_id
        )
        return NewUser(user=user, invitation=invitation)


async def invite_user(db: Database, viewer: Viewer, *, user_id: uuid.UUID | None) -> NewUser:
    """A new code for a user who has not signed in yet; their earlier codes stop working."""
    async with db.transaction(viewer.account_id, write=True) as session:
        user = await _locked_subject(session, viewer, user_id, Action.INVITE_USERS)
        if not user.active:
            raise Refusal.one(
                ErrorCode.INVALID_INPUT,
                f"{user.email} is deactivated: a deactivated user cannot be invited.",
                ["input", "userId"],
            )
        if user.signed_in_at is not None:
            raise Refusal.one(
                ErrorCode.INVALID_INPUT,
                f"{user.email} has signed in already: they hold a token of their own and "
                "make further ones themselves (createApiToken).",
                ["input", "userId"],
            )
        invitation = await make_invitation(
            session, account_id=viewer.account_id, user=user, actor_id=viewer.user_id
        )
        return NewUser(user=user, invitation=invitation)


async def _locked_subject(
    session: AsyncSession, viewer: Viewer, user_id: uuid.UUID | None, action: Action
) -> User:
    # The account row is locked first: two super admins demoting each other at once are
    # served one after the other, so the last-super-admin rule cannot be raced, and the
    # actor's role is read again under that lock (the second of the two is no longer one).
    await accounts.lock_account(session=session, account_id=viewer.account_id)
    await actor_now(session, viewer, action=action)
    user = (
        await accounts.get_user(
            session=session, account_id=viewer.account_id, user_id=user_id, lock=True
        )
        if user_id is not None
        else None
    )
    if user is None:
        raise not_found("user", ["input", "userId"])
    return user


async def _refuse_if_last_super_admin(session: AsyncSession, user: User, doing: str) -> None:
    if user.active and keeps_the_account(Role(user.role)):
        remaining = await accounts.count_active_super_admins(
            session=session, account_id=user.account_id
        )
        if remaining <= 1:
            raise Refusal.one(
                ErrorCode.LAST_SUPER_ADMIN,
                f"{user.email} is the account's last active super admin: {doing} would leave "
                "the account without one.",
                ["input", "userId"],
            )


async def update_role(
    db: Database, viewer: Viewer, *, user_id: uuid.UUID | None, role: Role
) -> User:
    async with db.transaction(viewer.account_id, write=True) as session:
        user = await _locked_subject(session, viewer, user_id, Action.CHANGE_ROLES)
        if has_role(user, role):
            return user
        if not user.active:
            raise Refusal.one(
                ErrorCode.INVALID_INPUT,
                f"{user.email} is deactivated; a deactivated user's role cannot change.",
                ["input", "userId"],
            )
        if not keeps_the_account(role):
            await _refuse_if_last_super_admin(session, user, "making them a user")
        user.role = role.value
        session.add(user)
        await signin.signins_changed(db, session, viewer.account_id)
        await audit.record(
            session=session,
            account_id=viewer.account_id,
            action=AuditAction.USER_ROLE_CHANGED.value,
            actor_id=viewer.user_id,
            subject_user_id=user.id,
            summary=f"{user.email} is now {_role_name(role)}.",
        )
        return user


async def deactivate_user(db: Database, viewer: Viewer, *, user_id: uuid.UUID | None) -> User:
    async with db.transaction(viewer.account_id, write=True) as session:
        user = await _locked_subject(session, viewer, user_id, Action.DEACTIVATE_USERS)
        if not user.active:
            return user
        await _refuse_if_last_super_admin(session, user, "deactivating them")
        user.active = False
        session.add(user)
        await signin.signins_changed(db, session, viewer.account_id)
        await session.flush()
        await internal_domains.users_changed(session, viewer.account_id)
        await audit.record(
            session=session,
            account_id=viewer.account_id,
            action=AuditAction.USER_DEACTIVATED.value,
            actor_id=viewer.user_id,
            subject_user_id=user.id,
            summary=f"{user.email} was deactivated; their API tokens no longer work.",
        )
        return user
