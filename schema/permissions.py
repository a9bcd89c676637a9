"""Permission classes declared on fields; each refusal carries its code."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info


class IsAuthenticated(BasePermission):
    message = (
        "Sign in first: send 'Authorization: Bearer <token>'. Without a token only "
        "__typename and introspection answer."
    )
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.viewer is not None


class IsSuperAdmin(BasePermission):
    message = "Only super admins may do this."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        viewer = info.context.viewer
        return viewer is not None and viewer.is_super_admin


SIGNED_IN: list[type[BasePermission]] = [IsAuthenticated]
