"""The tables. Every tenant table carries ``account_id``, which leads its primary key and
every unique key and index, so that a Citus deployment can distribute by account and every
request touches one shard."""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

metadata = SQLModel.metadata
metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def _ordered_text(length: int) -> Any:
    """A string that sorts by code point on both databases (SQLite's BINARY, PostgreSQL's "C")."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite stores it naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_id() -> uuid.UUID:
    """A version-7 UUID: a millisecond timestamp first, so that new rows sort last in indexes."""
    millis = time.time_ns() // 1_000_000
    raw = bytearray(millis.to_bytes(6, "big") + os.urandom(10))
    raw[6] = (raw[6] & 0x0F) | 0x70
    raw[8] = (raw[8] & 0x3F) | 0x80
    return uuid.UUID(bytes=bytes(raw))


def _created_at() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Account(SQLModel, table=True):
    __tablename__ = "accounts"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=200)
    created_at: dt.datetime = _created_at()
    # Whether the domains of active users' addresses count as internal (internal_domains).
    users_domains_internal: bool = Field(
        default=True, sa_column_kwargs={"server_default": sa.true()}
    )
    # How much of a logged email the CRM keeps unless an entry or the sender says less:
    # FULL, SUBJECT or METADATA (PRODUCT.md, "Capture levels").
    default_capture: str = Field(
        default="FULL", max_length=10, sa_column_kwargs={"server_default": "FULL"}
    )
    # Whether inbound automated email is kept out of the CRM ("Inbound and automated email").
    skip_automated_emails: bool = Field(
        default=True, sa_column_kwargs={"server_default": sa.true()}
    )
    # The local parts that mark an automated sender; null: the default names.
    automated_sender_names: list[str] | None = Field(default=None, sa_type=JSONType)


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "email_key"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
    )

    account_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    email: str = Field(max_length=320)
    # The address in lower case: unique within the account, compared without regard to case.
    email_key: str = Field(sa_type=_ordered_text(320))
    name: str = Field(max_length=200)
    role: str = Field(max_length=20)
    active: bool = True
    created_at: dt.datetime = _created_at()
    # When the user first held a token of their own (accepted from an invitation, made by
    # themself, or printed by create-account for the first super admin).
    signed_in_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The user's own capture level (FULL, SUBJECT or METADATA); null: the account's applies.
    default_capture: str | None = Field(default=None, max_length=10)


class Invitation(SQLModel, table=True):
    """A one-time code that gives a user their first token (acceptInvitation). Only the
    SHA-256 of the whole code is kept: a copy of the database yields no working code."""

    __tablename__ = "invitations"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "code_hash"),
        sa.Index(None, "account_id", "user_id"),
        sa.ForeignKeyConstraint(["account_id", "user_id"], ["users.account_id", "users.id"]),
    )

    account_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID
    code_hash: str = Field(max_length=64)
    created_at: dt.datetime = _created_at()
    created_by_id: uuid.UUID | None = None
    expires_at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_tokens"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "token_hash"),
        sa.Index(None, "account_id", "user_id"),
        sa.ForeignKeyConstraint(["account_id", "user_id"], ["users.account_id", "users.id"]),
    )

    account_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID
    name: str = Field(max_length=200)
    prefix: str = Field(max_length=20)
    # SHA-256 of the secret: a stolen database does not yield working tokens.
    token_hash: str = Field(max_length=64)
    created_at: dt.datetime = _created_at()
    last_used_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class NeverLogEntry(SQLModel, table=True):
    """One entry of a list. ``owner_id`` names the list: the account's id for the
    account-wide list, the user's id for a personal list."""

    __tablename__ = "never_log_entries"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "owner_id", "match_key"),
        sa.UniqueConstraint("account_id", "owner_id", "pattern"),
        # Only the entries that expire: what the expiry sweep of every process reads.
        sa.Index(
            "ix_never_log_entries_account_id_expires_at",
            "account_id",
            "expires_at",
            postgresql_where=sa.text("expires_at IS NOT NULL"),
            sqlite_where=sa.text("expires_at IS NOT NULL"),
        ),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
    )

    account_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    owner_id: uuid.UUID
    scope: str = Field(max_length=20)
    kind: str = Field(max_length=20)
    pattern: str = Field(sa_type=_ordered_text(400))
    match_key: str = Field(max_length=400)
    created_at: dt.datetime = _created_at()
    created_by_id: uuid.UUID | None = None
    note: str | None = Field(default=None, max_length=500)
    # From this instant the entry no longer applies (every read filters it out); the expiry
    # sweep removes it soon after.
    expires_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # What the entry does to the recipients it matches: NEVER_LOG, LOG_SUBJECT_ONLY or
    # LOG_METADATA_ONLY (PRODUCT.md, "What an entry does: its action").
    action: str = Field(
        default="NEVER_LOG", max_length=20, sa_column_kwargs={"server_default": "NEVER_LOG"}
    )


class InternalDomain(SQLModel, table=True):
    """One internal domain of an account and why: ``ADDED`` by a super admin, or ``USERS``
    (an active user's address is there), kept as users are added and deactivated. A domain
    that both make internal has both rows."""

    __tablename__ = "internal_domains"
    __table_args__ = (sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),)

    account_id: uuid.UUID = Field(primary_key=True)
    # The ASCII (punycode) form: what a recipient's domains are looked up by.
    domain_key: str = Field(primary_key=True, sa_type=_ordered_text(255))
    source: str = Field(primary_key=True, max_length=10)
    # The Unicode form that people read.
    domain: str = Field(max_length=255)


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index(None, "account_id", "created_at", "id"),
        sa.Index(None, "account_id", "actor_id", "created_at", "id"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
    )

    account_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    action: str = Field(max_length=40)
    created_at: dt.datetime = _created_at()
    actor_id: uuid.UUID | None = None
    scope: str | None = Field(default=None, max_length=20)
    patterns: list[str] = Field(default_factory=list, sa_type=JSONType)
    subject_user_id: uuid.UUID | None = None
    summary: str


class EmailSimulation(SQLModel, table=True):
    __tablename__ = "email_simulations"
    __table_args__ = (
        sa.Index(None, "account_id", "created_at", "id"),
        sa.Index(None, "account_id", "created_by_id", "created_at", "id"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
    )

    account_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str | None = Field(default=None, max_length=200)
    created_at: dt.datetime = _created_at()
    created_by_id: uuid.UUID | None = None
    sender_id: uuid.UUID
    email: dict[str, Any] = Field(sa_type=JSONType)
    recorded: dict[str, Any] = Field(sa_type=JSONType)


class WebhookEndpoint(SQLModel, table=True):
    """An HTTPS endpoint of the account's that is told of list changes (Standard Webhooks)."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),)

    account_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    url: str = Field(max_length=2000)
    description: str | None = Field(default=None, max_length=500)
    event_types: list[str] = Field(default_factory=list, sa_type=JSONType)
    # In clear, unlike an API token's hash: every attempt signs with it (HMAC needs the key).
    secret: str = Field(max_length=100)
    enabled: bool = True
    created_at: dt.datetime = _created_at()
    created_by_id: uuid.UUID | None = None
    # Attempts in a row that got no answer in time, and until when the endpoint's
    # deliveries are held back for it (tenancy/delivery.py).
    timeouts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    paused_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookSequence(SQLModel, table=True):
    """The last ``sequence`` an account's events were given: one row per account, locked by
    each writer of an event until it commits, so that sequences rise in commit order."""

    __tablename__ = "webhook_sequences"
    __table_args__ = (sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),)

    account_id: uuid.UUID = Field(primary_key=True)
    last_sequence: int = Field(default=0, sa_type=sa.BigInteger)


class WebhookEvent(SQLModel, table=True):
    """The outbox: one row per change, written in the transaction of the change."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "sequence"),
        sa.Index(None, "account_id", "created_at"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
    )

    account_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    sequence: int = Field(sa_type=sa.BigInteger)
    type: str = Field(max_length=40)
    # The JSON body exactly as it is signed and sent, in every attempt.
    payload: str = Field(sa_type=sa.Text)
    created_at: dt.datetime = _created_at()


class WebhookDelivery(SQLModel, table=True):
    """One event to one endpoint, and the outcome of its attempts so far."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.Index(None, "account_id", "endpoint_id", "created_at", "id"),
        sa.Index(None, "account_id", "event_id"),
        # Only the pending deliveries: what the workers of every process poll.
        sa.Index(
            "ix_webhook_deliveries_account_id_next_attempt_at_pending",
            "account_id",
            "next_attempt_at",
            postgresql_where=sa.text("next_attempt_at IS NOT NULL"),
            sqlite_where=sa.text("next_attempt_at IS NOT NULL"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "endpoint_id"],
            ["webhook_endpoints.account_id", "webhook_endpoints.id"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "event_id"],
            ["webhook_events.account_id", "webhook_events.id"],
            ondelete="CASCADE",
        ),
    )

    account_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str = Field(max_length=40)
    status: str = Field(max_length=20)
    attempts: int = 0
    created_at: dt.datetime = _created_at()
    last_attempt_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_response_status: int | None = None
    # When the next attempt is due (null unless pending); while a worker holds the delivery,
    # the end of its lease, after which another process may take it up again.
    next_attempt_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    claim_token: uuid.UUID | None = None


class ListChange(SQLModel, table=True):
    """A change to a never-log list, kept a few minutes for the live subscriptions of other
    processes (PostgreSQL): its commit's notice carries the row's id, each process reads it
    (tenancy/live.py). Written in the transaction of the change."""

    __tablename__ = "list_changes"
    __table_args__ = (
        sa.Index(None, "account_id", "created_at"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
    )

    account_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    scope: str = Field(max_length=10)
    # The list: the account's id for the account-wide list, else its user's.
    owner_id: uuid.UUID
    kind: str = Field(max_length=20)
    # The canonical patterns the change concerns (the first 500), as a JSON array.
    patterns: str = Field(sa_type=sa.Text)
    entry_count: int
    list_count: int
    actor_id: uuid.UUID | None = None
    created_at: dt.datetime = _created_at()


class ListVersion(SQLModel, table=True):
    """A number that moves on with every change to what a decision of the account reads
    (its entries, internal domains, the account's and its users' settings), in the change's
    own transaction: kept by database triggers (migration 0011), so that no way of writing
    can miss it. tenancy/held_lists.py checks an account's lists held in memory against it."""

    __tablename__ = "list_versions"

    account_id: uuid.UUID = Field(primary_key=True)
    version: int = Field(sa_type=sa.BigInteger)
