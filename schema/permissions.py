"""Permission classes declared on fields; each refusal carries its code."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info


class IsAuthenticated(BasePermission):
    message = (
        "Sign in first: send 'Authorization: Bearer <token>'. Without a token only "
        "__typename, introspection and acceptInvitation answer."
    )
    error_extensions = {"code": "UNAUTHENTICATED"}  # noqa: RUF012 (declared so by Strawberry)

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.viewer is not None


SIGNED_IN: list[type[BasePermission]] = [IsAuthenticated]
