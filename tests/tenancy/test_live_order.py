"""tenancy/live.py on SQLite: changes are handed to the subscriptions in the order of their
commits, with the list's count after each, whatever order the commits' callbacks come back
in. The transactions below name no account, so the process does not queue them one after
the other (persistence/database.py ``_account_writes``): only the database's write lock
orders them, as it orders every writer of the file. Sixteen writers at once: without the
order kept by tenancy.live._Sequencer, most runs told a change out of order."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from persistence import entries
from persistence.database import Database
from persistence.tables import NeverLogEntry, new_id, utcnow
from policy import EntryAction, Scope, parse_pattern
from tenancy import live
from tenancy.users import create_account


class Told:
    def __init__(self) -> None:
        self.changes: list[live.ListChange] = []

    def offer(self, change: live.ListChange) -> None:
        self.changes.append(change)


async def test_changes_are_told_in_commit_order_with_the_count_after_each(db: Database) -> None:
    if db.is_postgresql:
        pytest.skip("on PostgreSQL the order is the notices' (tests/api/test_live.py)")
    new = await create_account(
        db,
        name="Acme",
        admin_email=f"admin-{uuid.uuid4().hex[:8]}@neverlog-staff.com",
        admin_name="Admin",
    )
    account_id = new.account.id
    hub = live.Hub(db)
    hub.start()
    told = Told()
    unsubscribe = hub.subscribe((account_id, account_id), told)

    async def add(text: str) -> uuid.UUID:
        pattern = parse_pattern(text)
        row = NeverLogEntry(
            account_id=account_id,
            id=new_id(),
            owner_id=account_id,
            scope=Scope.ACCOUNT.value,
            kind=pattern.kind.value,
            pattern=pattern.text,
            match_key=pattern.key,
            created_at=utcnow(),
            created_by_id=new.admin.id,
            action=EntryAction.NEVER_LOG.value,
        )
        async with db.transaction(None, write=True) as session:
            await entries.insert_entries(session=session, rows=[row.model_dump()])
            await live.record(
                session,
                account_id=account_id,
                event_type="NEVER_LOG_ENTRIES_ADDED",
                scope=Scope.ACCOUNT,
                owner_id=None,
                patterns=[pattern.text],
            )
        return row.id

    async def remove(text: str, entry_id: uuid.UUID) -> None:
        async with db.transaction(None, write=True) as session:
            await entries.delete_entries(
                session=session, account_id=account_id, entry_ids=[entry_id]
            )
            await live.record(
                session,
                account_id=account_id,
                event_type="NEVER_LOG_ENTRIES_REMOVED",
                scope=Scope.ACCOUNT,
                owner_id=None,
                patterns=[text],
            )

    async def writer(mine: list[str]) -> None:
        for text in mine:
            await remove(text, await add(text))

    names = [f"*@{uuid.uuid4().hex[:10]}.com" for _ in range(160)]
    try:
        await asyncio.gather(*(writer(names[i::16]) for i in range(16)))
    finally:
        unsubscribe()
        await hub.stop()
    sequence = [(c.kind.value, c.list_count, c.patterns[0]) for c in told.changes]
    assert len(sequence) == 2 * len(names)
    # replayed in the order told, the counts are those the changes left
    count = 0
    listed: set[str] = set()
    for kind, after, text in sequence:
        if kind == "ENTRIES_ADDED":
            listed.add(text)
            count += 1
        else:
            assert text in listed, f"{text} removed before it was added: {sequence}"
            listed.discard(text)
            count -= 1
        assert after == count, sequence
