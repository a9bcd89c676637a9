"""Permission classes declared on fields; each refusal carries its code."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from policy.errors import NotSignedIn


class IsAuthenticated(BasePermission):
    message = NotSignedIn().message
    error_extensions = NotSignedIn().extensions  # declared so by Strawberry

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.viewer is not None


SIGNED_IN: list[type[BasePermission]] = [IsAuthenticated]
