"""What the API builds its app and its command line from, as the floor below offers it:
the database and its migrations, the background services (and how to stop a task), sign-in, the live hub, and the
records and settings they take. The API imports these from here, never from tenancy or
persistence: one floor at a time."""

from __future__ import annotations

from tenancy.account_limits import DEFAULT_LIST_LIMIT, AccountLimits
from tenancy.delivery import Schedule
from tenancy.invitations import invite_by_email
from tenancy.live import Hub, ListChange, ListKey
from tenancy.records import Database, is_unavailable
from tenancy.roles import Viewer
from tenancy.services import (
    ServiceOptions,
    Services,
    cancel_and_wait,
    migrate,
    open_database,
    running,
)
from tenancy.tokens import authenticate
from tenancy.users import create_account

__all__ = [
    "DEFAULT_LIST_LIMIT",
    "AccountLimits",
    "Database",
    "Hub",
    "ListChange",
    "ListKey",
    "Schedule",
    "ServiceOptions",
    "Services",
    "Viewer",
    "authenticate",
    "cancel_and_wait",
    "create_account",
    "invite_by_email",
    "is_unavailable",
    "migrate",
    "open_database",
    "running",
]
