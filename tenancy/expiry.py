"""Entries that expire: removed within a minute of their ``expiresAt`` by a background task
in every ``neverlog serve`` process, with the audit event NEVER_LOG_ENTRIES_EXPIRED (no
actor) and the webhook event never_log.entries_expired, once per entry however many
processes sweep.

Every read already leaves an expired entry out from its ``expiresAt`` on
(persistence.entries.live): the sweep only tidies up and tells. Each list is swept in a
transaction of its own that first locks the list's owner, as every change to a list does,
so a sweep and a change to the same list are served one after the other; the deletion
returns each row to the one transaction that removed it, which alone records the events.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from persistence import accounts, audit
from persistence import expiry as store
from persistence.database import Database
from persistence.tables import NeverLogEntry, utcnow
from policy import Scope
from tenancy.audit import AuditAction
from tenancy.webhooks import WebhookEventType, record_entries_event

log = logging.getLogger("neverlog.expiry")


async def expire_list(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    scope: Scope,
    owner_id: uuid.UUID,
    now: dt.datetime | None = None,
) -> list[NeverLogEntry]:
    """Remove the list's expired entries in the caller's transaction, which holds the lock
    of the list's owner, with their audit and webhook events."""
    removed = await store.delete_expired(
        session=session, account_id=account_id, owner_id=owner_id, now=now or utcnow()
    )
    if not removed:
        return removed
    count = len(removed)
    whose = "the account-wide list" if scope is Scope.ACCOUNT else "a personal list"
    await audit.record(
        session=session,
        account_id=account_id,
        action=AuditAction.NEVER_LOG_ENTRIES_EXPIRED.value,
        actor_id=None,
        scope=scope.value,
        patterns=[e.pattern for e in removed],
        # A personal list's owner, as the user the event is about (it has no actor).
        subject_user_id=owner_id if scope is Scope.PERSONAL else None,
        summary=f"{count} entr{'y' if count == 1 else 'ies'} of {whose} expired and "
        f"{'was' if count == 1 else 'were'} removed.",
    )
    await record_entries_event(
        session,
        account_id=account_id,
        event_type=WebhookEventType.NEVER_LOG_ENTRIES_EXPIRED,
        scope=scope,
        owner_id=owner_id,
        entries=removed,
    )
    return removed


async def sweep(db: Database) -> int:
    """Remove every expired entry of every account; how many were removed here."""
    now = utcnow()
    async with db.transaction(None) as session:
        lists = await store.expired_lists(session=session, now=now)
    removed = 0
    for found in lists:
        scope = Scope(found.scope)
        async with db.transaction(found.account_id, write=True) as session:
            if scope is Scope.ACCOUNT:
                await accounts.lock_account(session=session, account_id=found.account_id)
            else:
                # The account first, shared, then the user: the order of every change to
                # a personal list and of the user changes (see accounts.share_account).
                await accounts.share_account(session=session, account_id=found.account_id)
                await accounts.get_user(
                    session=session,
                    account_id=found.account_id,
                    user_id=found.owner_id,
                    lock=True,
                )
            gone = await expire_list(
                session,
                account_id=found.account_id,
                scope=scope,
                owner_id=found.owner_id,
                now=now,
            )
        removed += len(gone)
    return removed


async def run_sweeps(db: Database, *, every: float) -> None:
    """Sweep every ``every`` seconds until cancelled; a failed sweep is logged and the next
    one tries again (a database that is away for a while stops nothing)."""
    while True:
        try:
            removed = await sweep(db)
            if removed:
                log.info("removed %d expired never-log entries", removed)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("the expiry sweep failed; it runs again shortly", exc_info=True)
        await asyncio.sleep(every)
