"""What tenancy hands up to the floors above: the rows it reads (to be read, never
changed, up there), pages of them, the database handle that the app factory wires in, and
how to tell a database that cannot serve. The floors above import these from here, never
from ``persistence``: every read and write goes through tenancy."""

from __future__ import annotations

from persistence.database import Database, is_unavailable
from persistence.entries import SETTINGS_SCOPES, KeyedEntry
from persistence.pages import BadCursor, Page
from persistence.tables import Account, ApiToken, AuditEvent, EmailSimulation, NeverLogEntry, User

__all__ = [
    "SETTINGS_SCOPES",
    "Account",
    "ApiToken",
    "AuditEvent",
    "BadCursor",
    "Database",
    "EmailSimulation",
    "KeyedEntry",
    "NeverLogEntry",
    "Page",
    "User",
    "is_unavailable",
]
