"""Permission classes declared on fields; each refusal carries its code.

``IsAuthenticated`` on every field but ``__typename``, introspection and
``acceptInvitation``; ``Allowed(action)`` on the fields that the permission table
(tenancy/roles.py) refuses to some role, through Strawberry's ``PermissionExtension``
(``declared``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from policy import Scope
from policy.errors import Code, NotSignedIn
from tenancy.roles import TABLE, Action, refusal


class IsAuthenticated(BasePermission):
    message = NotSignedIn().message
    error_extensions = NotSignedIn().extensions  # declared so by Strawberry

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.viewer is not None


SIGNED_IN: list[type[BasePermission]] = [IsAuthenticated]

Arguments = Mapping[str, Any]


class Allowed(BasePermission):
    """The viewer's role may take ``action`` (the permission table, tenancy/roles.py).

    Declared on a field, it refuses with the role the request signed in with, before the
    resolver reads or checks anything: the answer that the field gave when the service
    checked the role first thing. A change checks the role again at the moment it is made,
    under the account's lock (tenancy.roles.actor_now). ``when`` says which calls are the
    action, where only some are (a change of the account-wide list, not of one's own).

    The refusal is the table's ``Forbidden``, the domain's error, rather than Strawberry's
    error class: a mutation answers it as its payload's ``userErrors`` (its
    ``RefusalsAsUserErrors`` wraps this permission), a query as a top-level error with
    code FORBIDDEN (schema/errors.py), as every refusal of the domain.
    """

    error_extensions = {"code": Code.FORBIDDEN.value}  # noqa: RUF012 (declared so by Strawberry)

    def __init__(self, action: Action, *, when: Callable[[Arguments], bool] | None = None):
        self.action = action
        self.when = when
        self.message = TABLE[action].refusal

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if self.when is not None and not self.when(kwargs):
            return True
        return bool(info.context.signed_in.may(self.action))

    def on_unauthorized(self) -> None:
        raise refusal(self.action)


def declared(*permissions: BasePermission) -> PermissionExtension:
    """Strawberry's extension that checks ``permissions`` on a field, in order. Without
    schema directives: the contract's SDL stays as it is."""
    return PermissionExtension(permissions=list(permissions), use_directives=False)


def account_wide(arguments: Arguments) -> bool:
    """A change of the account-wide list (its ``input.scope``), not of one's own."""
    return bool(arguments["input"].scope is Scope.ACCOUNT)
