"""The object types of the contract: accounts, users, entries, lists, tokens, audit events."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry
from strawberry.types import Info

from schema.connections import Connection, page_size
from schema.enums import AuditAction, CaptureLevel, EntryAction, EntryKind, Role, Scope
from schema.errors import bad_input
from schema.ids import to_global_id
from schema.internal_domain_types import InternalDomain, load_internal_domains
from tenancy import reads, records
from tenancy.audit import VisibleEvent
from tenancy.csvfiles import export_csv
from tenancy.list_ref import ListRef
from tenancy.settings import sender_names


@strawberry.interface(description="An object with a globally unique, opaque ID.")
class Node:
    id: strawberry.ID


@strawberry.type
class Account(Node):
    id: strawberry.ID
    name: str
    created_at: dt.datetime
    account_list_limit: int
    personal_list_limit: int
    default_capture: CaptureLevel = strawberry.field(
        description="How much of a logged email the CRM keeps unless an entry or the "
        "sender's own setting says less (FULL by default)."
    )
    skip_automated_emails: bool = strawberry.field(
        description="Whether inbound automated email (no-reply senders, mailing lists, "
        "auto-generated mail) is kept out of the CRM (true by default)."
    )
    automated_sender_names: list[str] = strawberry.field(
        description="Local parts that mark an automated sender of inbound email, compared "
        "ignoring case, dots, hyphens, underscores and a +tag (so do-not-reply, Do_Not.Reply "
        "and donotreply+x all match donotreply). A default list until super admins change it."
    )
    account_id: strawberry.Private[uuid.UUID]

    @strawberry.field(
        description="The account's own domains, with their subdomains: recipients there are "
        "colleagues, decided INTERNAL where never-log lists apply. Sorted by domain."
    )
    async def internal_domains(self, info: Info) -> list[InternalDomain]:
        found = await load_internal_domains(info, self.account_id)
        return [InternalDomain(domain=d.domain, source=d.source) for d in found.domains]

    @strawberry.field(
        description="Whether the domains of active users' addresses count as internal (free "
        "email providers never do)."
    )
    async def users_domains_are_internal(self, info: Info) -> bool:
        return (await load_internal_domains(info, self.account_id)).users_domains_are_internal

    @classmethod
    def from_row(cls, row: records.Account, info: Info) -> Account:
        limits = info.context.limits
        return cls(
            id=to_global_id("Account", row.id),
            name=row.name,
            created_at=row.created_at,
            account_list_limit=limits.account_list,
            personal_list_limit=limits.personal_list,
            default_capture=CaptureLevel(row.default_capture),
            skip_automated_emails=row.skip_automated_emails,
            automated_sender_names=sender_names(row),
            account_id=row.id,
        )


@strawberry.type
class User(Node):
    id: strawberry.ID
    email: str
    name: str
    role: Role
    active: bool
    created_at: dt.datetime
    has_signed_in: bool = strawberry.field(
        description="False until the user has a token of their own: one accepted from an "
        "invitation or created by themself."
    )
    default_capture: CaptureLevel | None = strawberry.field(
        description="The user's own capture level for their emails; null: the account's. "
        "The capture that applies is the least of this, the account's defaultCapture and "
        "any matching entry's."
    )

    @classmethod
    def from_row(cls, row: records.User) -> User:
        return cls(
            id=to_global_id("User", row.id),
            email=row.email,
            name=row.name,
            role=Role(row.role),
            active=row.active,
            created_at=row.created_at,
            has_signed_in=row.signed_in_at is not None,
            default_capture=CaptureLevel(row.default_capture) if row.default_capture else None,
        )


async def load_user(info: Info, user_id: uuid.UUID | None) -> User | None:
    if user_id is None:
        return None
    row = await info.context.users.load(user_id)
    return User.from_row(row) if row is not None else None


@strawberry.type
class Viewer:
    user: User
    account: Account


@strawberry.type
class NeverLogEntry(Node):
    id: strawberry.ID
    scope: Scope
    kind: EntryKind
    pattern: str
    created_at: dt.datetime
    note: str | None = strawberry.field(
        description="Why the entry is on the list, as given when it was added; null where "
        "none was given."
    )
    expires_at: dt.datetime | None = strawberry.field(
        description="When the entry stops applying; null for never. From that moment it no "
        "longer matches, is no longer listed or counted, and the service removes it (audit "
        "action NEVER_LOG_ENTRIES_EXPIRED)."
    )
    action: EntryAction = strawberry.field(
        description="What the entry does to the recipients it matches."
    )
    created_by_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="Null where that user no longer exists.")
    async def created_by(self, info: Info) -> User | None:
        return await load_user(info, self.created_by_id)

    @classmethod
    def from_row(cls, row: records.NeverLogEntry) -> NeverLogEntry:
        return cls(
            id=to_global_id("NeverLogEntry", row.id),
            scope=Scope(row.scope),
            kind=EntryKind(row.kind),
            pattern=row.pattern,
            created_at=row.created_at,
            note=row.note,
            expires_at=row.expires_at,
            action=EntryAction(row.action),
            created_by_id=row.created_by_id,
        )


@strawberry.type
class NeverLogList:
    scope: Scope
    count: int
    limit: int
    ref: strawberry.Private[ListRef]

    @strawberry.field
    def remaining(self) -> int:
        return max(self.ref.limit - self.count, 0)

    @strawberry.field(
        description="The user whose personal list this is; null for the account-wide list."
    )
    async def owner(self, info: Info) -> User | None:
        if self.ref.scope is Scope.ACCOUNT:
            return None
        return await load_user(info, self.ref.owner_id)

    @strawberry.field(
        description="Entries in pattern order. search keeps those whose pattern contains it."
    )
    async def entries(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        search: str | None = None,
    ) -> Connection[NeverLogEntry]:
        size = page_size(first)
        if search is not None and "\x00" in search:
            raise bad_input("search may not hold the NUL character (U+0000).", argument="search")
        page = await reads.page_entries(
            info.context.db, self.ref, first=size, after=after, search=search
        )
        return Connection.from_page(page, NeverLogEntry.from_row)

    @strawberry.field(
        description="The whole list as CSV with the header line "
        "'pattern,kind,created_at,created_by'; with extended: true, "
        "'pattern,kind,created_at,created_by,note,expires_at,action'. A cell that a spreadsheet "
        "would read as a formula is written with a leading apostrophe."
    )
    async def csv(self, info: Info, extended: bool | None = False) -> str:
        return await export_csv(info.context.db, self.ref, extended=bool(extended))

    @classmethod
    def of(cls, ref: ListRef, count: int) -> NeverLogList:
        return cls(scope=ref.scope, count=count, limit=ref.limit, ref=ref)

    @classmethod
    async def load(cls, info: Info, ref: ListRef) -> NeverLogList:
        return cls.of(ref, await reads.count_entries(info.context.db, ref))


@strawberry.type
class ApiToken(Node):
    id: strawberry.ID
    name: str
    prefix: str = strawberry.field(
        description="The first characters of the token, to tell tokens apart; never the whole secret."
    )
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    user_id: strawberry.Private[uuid.UUID]
    # The user where the answer has them already: accepting an invitation answers a caller
    # without a token, who has no viewer to load users as.
    owner: strawberry.Private[User | None] = None

    @strawberry.field
    async def user(self, info: Info) -> User:
        if self.owner is not None:
            return self.owner
        user = await load_user(info, self.user_id)
        assert user is not None, "a token's user is never deleted"
        return user

    @classmethod
    def from_row(cls, row: records.ApiToken, owner: records.User | None = None) -> ApiToken:
        return cls(
            id=to_global_id("ApiToken", row.id),
            name=row.name,
            prefix=row.prefix,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
            user_id=row.user_id,
            owner=User.from_row(owner) if owner is not None else None,
        )


@strawberry.type
class AuditEvent(Node):
    id: strawberry.ID
    action: AuditAction
    created_at: dt.datetime
    scope: Scope | None
    patterns: list[str]
    summary: str
    actor_id: strawberry.Private[uuid.UUID | None]
    subject_user_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="Null where that user no longer exists.")
    async def actor(self, info: Info) -> User | None:
        return await load_user(info, self.actor_id)

    @strawberry.field(description="The user that the change was about, if any.")
    async def subject_user(self, info: Info) -> User | None:
        return await load_user(info, self.subject_user_id)

    @classmethod
    def from_row(cls, event: VisibleEvent) -> AuditEvent:
        """From the event as tenancy lets the viewer see it (tenancy.audit.visible_event):
        another user's personal list changes come without their patterns."""
        return cls(
            id=to_global_id("AuditEvent", event.id),
            action=event.action,
            created_at=event.created_at,
            scope=event.scope,
            patterns=list(event.patterns),
            summary=event.summary,
            actor_id=event.actor_id,
            subject_user_id=event.subject_user_id,
        )
