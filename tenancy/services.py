"""What an app runs of tenancy: the database it opens, the migrations, and the background
services that its lifespan starts and stops (the expiry sweeps, webhook delivery, the
sign-in cache, the lists held in memory, the live hub, the tokens' last uses). The floors above reach persistence
only through here (schema/services.py hands these to the API): none opens it itself."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from persistence.database import Database
from persistence.migrate import grant_app_role, upgrade
from persistence.tasks import cancel_and_wait as cancel_and_wait  # for the API (schema/services.py)
from tenancy import expiry, held_lists, signin, touches
from tenancy.delivery import DeliveryWorker, Schedule
from tenancy.live import Hub
from tenancy.touches import Touches


def open_database(url: str, *, pool_size: int = 10, pgbouncer: bool = False) -> Database:
    """The database at ``url``: one engine and its pool, for one process."""
    return Database(url, pool_size=pool_size, pgbouncer=pgbouncer)


async def migrate(db: Database, *, app_role: str | None = None) -> None:
    """Bring the database's schema up to date; on PostgreSQL, let ``app_role`` (the role
    the API serves as, which owns nothing, so that row-level security binds it) read and
    write the tables."""
    await upgrade(db)
    if app_role:
        await grant_app_role(db, app_role)


@dataclass(frozen=True, slots=True)
class ServiceOptions:
    """How the background services run (api/settings.py's Settings says, from the
    environment)."""

    expiry_sweep_seconds: float = 60.0
    webhook_worker: bool = True
    webhook_schedule: Schedule = field(default_factory=Schedule)
    webhook_refuse_private: bool = False
    webhook_concurrency: int = 64
    signin_cache_seconds: float = 0.0
    listen_url: str | None = None
    live_recheck_seconds: float = 2.0
    held_lists_bytes: int = 0
    held_lists_after: int = 16


@dataclass(frozen=True, slots=True)
class Services:
    """The background services of one app, while it runs."""

    db: Database
    hub: Hub
    webhook_worker: DeliveryWorker
    signins: signin.SigninCaching | None
    holding: held_lists.Holding | None = None
    touches: Touches | None = None


@contextlib.asynccontextmanager
async def running(
    db: Database, options: ServiceOptions, *, owns_db: bool, migrate_first: bool
) -> AsyncIterator[Services]:
    """Start the services on ``db`` (its migrations first where ``migrate_first``); on the
    way out stop them in the reverse order, each even where one before it failed (or the
    start failed part way): the background tasks stopped and awaited, the gathered
    lastUsedAt written, and only then the engine closed where the app owns it."""
    async with contextlib.AsyncExitStack() as stopping:
        if owns_db:
            stopping.push_async_callback(db.dispose)
        # the tokens' last uses gathered and not yet written
        stopping.push_async_callback(touches.flush, db)
        if migrate_first:
            await upgrade(db)
        sweeps = asyncio.create_task(
            expiry.run_sweeps(db, every=options.expiry_sweep_seconds), name="expiry-sweeps"
        )
        stopping.push_async_callback(cancel_and_wait, sweeps)
        worker = DeliveryWorker(
            db,
            schedule=options.webhook_schedule,
            refuse_private=options.webhook_refuse_private,
            concurrency=options.webhook_concurrency,
        )
        stopping.push_async_callback(worker.stop)
        if options.webhook_worker:
            worker.start()
        signins = signin.start_caching(db, max_age=options.signin_cache_seconds)
        if signins is not None:
            stopping.push_async_callback(signins.stop)
        holding = held_lists.start_holding(
            db,
            max_bytes=options.held_lists_bytes,
            listen_url=options.listen_url,
            build_after=options.held_lists_after,
        )
        if holding is not None:
            stopping.push_async_callback(holding.stop)
        hub = Hub(db, listen_url=options.listen_url, recheck_seconds=options.live_recheck_seconds)
        stopping.push_async_callback(hub.stop)
        hub.start()
        yield Services(
            db=db,
            hub=hub,
            webhook_worker=worker,
            signins=signins,
            holding=holding,
            touches=touches.touches_of(db),
        )
