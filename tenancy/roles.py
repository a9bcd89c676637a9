"""Roles, the signed-in viewer, and who may do what (the permission table of PRODUCT.md)."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from persistence import accounts
from persistence.tables import User
from policy.errors import Forbidden


class Role(enum.Enum):
    SUPER_ADMIN = "SUPER_ADMIN"
    USER = "USER"


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is calling: resolved once per request from the bearer token."""

    account_id: uuid.UUID
    user_id: uuid.UUID
    role: Role
    token_id: uuid.UUID

    @property
    def is_super_admin(self) -> bool:
        return self.role is Role.SUPER_ADMIN

    def sees_all_of_account(self) -> bool:
        """Saved simulations, audit events and API tokens: a super admin sees the whole
        account's, a user only their own."""
        return self.is_super_admin

    def may_see(self, owner_id: uuid.UUID | None) -> bool:
        return self.is_super_admin or owner_id == self.user_id


def require_super_admin(viewer: Viewer, doing: str) -> None:
    if not viewer.is_super_admin:
        raise Forbidden(f"Only super admins may {doing}.")


def may_act_as(viewer: Viewer, user_id: uuid.UUID | None, doing: str) -> uuid.UUID:
    """The user to act as: the viewer, or another user where a super admin names one."""
    if user_id is None or user_id == viewer.user_id:
        return viewer.user_id
    require_super_admin(viewer, doing)
    return user_id


async def actor_now(
    session: AsyncSession, viewer: Viewer, *, super_admin_to: str | None = None
) -> User:
    """The viewer as the database has them at this moment, read (and locked) inside the
    change's transaction, after the lock that the change takes first.

    The viewer's role was read when the request signed in; a concurrent request may have
    demoted or deactivated them since. Each change that needs a role calls this once it
    holds its lock, so the role it goes by is the one at the moment of the change: a change
    by a user deactivated, or (``super_admin_to``) demoted, meanwhile is refused, never
    applied. Locking the actor's row too makes a demotion or deactivation that comes later
    wait until this change is committed.
    """
    actor = await accounts.get_user(
        session=session, account_id=viewer.account_id, user_id=viewer.user_id, lock=True
    )
    if actor is None or not actor.active:
        raise Forbidden("Your user has been deactivated: the change was refused.")
    if super_admin_to is not None and actor.role != Role.SUPER_ADMIN.value:
        raise Forbidden(
            f"Only super admins may {super_admin_to}, and you are no longer one: "
            "the change was refused."
        )
    # Who makes the change, for what the transaction records of it (tenancy/live.py).
    session.info["neverlog.actor_id"] = actor.id
    return actor
