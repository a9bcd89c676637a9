"""Roles, the signed-in viewer, and who may do what (the permission table of PRODUCT.md)."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from tenancy.errors import Forbidden


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
