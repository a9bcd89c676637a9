"""One suite for every database: tests that take ``api`` (or ``db``) run on SQLite and,
where ``NEVERLOG_TEST_DATABASE_URL`` names a PostgreSQL database, on PostgreSQL too.
``NEVERLOG_TEST_BACKENDS`` (e.g. ``postgresql``) narrows the run to some backends.

Under pytest-xdist (``make test`` runs a worker per core) each worker has databases of its
own: its SQLite files are in its own temporary directory, and on PostgreSQL it makes
``<database>_<worker>`` (``neverlog_test_gw0``) on the server of the URL when it starts
and drops it, with its role, when it ends. Tests that share a server or a browser per
module or folder (``SHARED``) run on one worker, all of them."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import hypothesis
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from api.settings import Settings
from persistence.database import Database
from persistence.migrate import grant_app_role, upgrade
from tenancy import touches
from tests.hang_watch import (  # noqa: F401 (hooks and a fixture: a hung test fails)
    _hang_watch_loop,
    pytest_runtest_call,
    pytest_runtest_setup,
    pytest_runtest_teardown,
)
from tests.helpers import Api
from tests.profiles import PROFILE

# Before any test module is imported: their @settings inherit the profile's.
hypothesis.settings.load_profile(PROFILE)

PG_URL = os.environ.get("NEVERLOG_TEST_DATABASE_URL", "")
WANTED = {
    b.strip() for b in os.environ.get("NEVERLOG_TEST_BACKENDS", "sqlite,postgresql").split(",")
}
PG_SKIP = (
    "PostgreSQL tests skipped: set NEVERLOG_TEST_DATABASE_URL to a throwaway database to run them"
)


def _backends() -> list[str]:
    backends = ["sqlite"] if "sqlite" in WANTED else []
    if "postgresql" in WANTED and PG_URL:
        backends.append("postgresql")
    return backends


def _needs_postgresql(item: pytest.Item) -> bool:
    """Tests marked ``postgresql`` (and the PostgreSQL-only reliability tests) run only on
    PostgreSQL: elsewhere they are left out, not skipped one by one."""
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec is not None else {}
    backend = params.get("db") or (callspec.id if callspec is not None else "")
    if item.get_closest_marker("postgresql"):
        return True
    return item.get_closest_marker("reliability") is not None and "sqlite" not in str(backend)


# Modules (or folders) whose tests share a server, a browser or a process per module or
# session, and the group each is in: under pytest-xdist a group goes to one worker whole,
# so that what its tests share starts once.
SHARED = {
    "tests/browser/": "browser",
    "tests/test_client_example.py": "client-example",
    "tests/api/test_isolation.py": "isolation",
    "tests/api/test_slow_clients.py": "slow-clients",
    # not a shared server, but its order: the commit-order test failed in three of seven
    # runs where its module's tests were spread over the workers (never in twelve runs
    # alone, nor in the runs in one process)
    "tests/api/test_live.py": "live",
    "tests/test_contract.py": "export-schema",
    "tests/test_schema_file.py": "export-schema",
}


# Tests that fail when the machine is too busy to give their processes time (seen under
# load averages of 10 and more, in one process too): uvicorn kills a worker process that
# has not answered its health check within 5 s; a subscriber's queue must fill faster
# than the server drains it; four writers' changes must reach a subscriber in commit
# order; two processes' webhook attempts must end within their timeout. Under xdist they
# are handed out last, when the other workers are finishing.
LAST = (
    "tests/api/test_observability.py::test_metrics_add_up_across_worker_processes",
    "tests/api/test_live.py::test_a_subscriber_that_does_not_read_is_dropped_with_4408",
    "tests/api/test_live.py::test_changes_arrive_in_commit_order_under_concurrent_writers",
    "tests/reliability/test_webhook_delivery.py::test_two_processes_never_send_the_same_attempt",
)


# The longest tests that no group holds (real processes, the fuzzing): under xdist they are
# handed out right after the groups, so that none of them starts when the other workers
# are finishing (the killed-process webhook test, 16 s, did, and the others idled).
FIRST = (
    "tests/api/test_fuzz.py::test_no_input_makes_any_operation_fail_with_an_internal_error",
    "tests/api/test_redis_ratelimit.py::test_two_serve_processes_together_hold_the_documented_rate",
    "tests/reliability/test_webhook_delivery.py::test_a_killed_process_loses_no_committed_change",
    "tests/api/test_expiry.py::test_two_serve_processes_remove_an_expired_entry_within_a_minute",
    "tests/reliability/test_held_lists.py::test_a_list_change_reaches_the_other_process_at_once",
    "tests/api/test_production.py::test_x_forwarded_for_is_believed_only_from_the_proxies_named",
    "tests/api/test_http_audit.py::",
    "tests/test_cli_messages.py::",
)


def _order(item: pytest.Item) -> int:
    if item.nodeid.startswith(LAST):
        return 3
    if _shared_group(item.nodeid) is not None:
        return 0
    return 1 if item.nodeid.startswith(FIRST) else 2


def _shared_group(nodeid: str) -> str | None:
    return next((group for prefix, group in SHARED.items() if nodeid.startswith(prefix)), None)


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` (make test) with the groups of ``SHARED``, every other test on
    its own. pytest-xdist's own loadgroup marks a group in the test's node id, which
    pytest 9.2's node ids no longer take: this scheduler finds the group by the path."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedGroups(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return _shared_group(nodeid) or nodeid

    return SharedGroups(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # The groups first (each worker collects in the same order), then the longest
        # tests of no group: the longest units of work start while the others share the
        # rest, not last, alone on one worker.
        items.sort(key=_order)
    run_postgresql = bool(PG_URL) and "postgresql" in WANTED
    dropped = [
        item
        for item in items
        if _needs_postgresql(item)
        and (
            not run_postgresql
            or (
                getattr(item, "callspec", None) is not None
                and item.callspec.params.get("db") == "sqlite"
            )
        )
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in set(dropped)]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (make test): a worker per core and one more. About a third of the
    suite's time is spent waiting, not computing (for the servers and browsers it starts,
    for timeouts that are the behaviour under test): the third worker computes then."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) + 1


def _worker_database(url: str) -> str:
    """This xdist worker's PostgreSQL database: the URL's, with the worker's id after it."""
    parsed = make_url(url)
    name = f"{parsed.database}_{os.environ['PYTEST_XDIST_WORKER']}"[:63]
    return parsed.set(database=name).render_as_string(hide_password=False)


async def _remake_database(url: str, *, make: bool) -> None:
    """Drop the database of ``url`` and its app role where they exist; then, with
    ``make``, create the database anew (empty), through a connection to ``postgres``."""
    parsed = make_url(Settings(database_url=url).database_url)
    connection = await asyncpg.connect(
        host=parsed.host or "127.0.0.1", port=parsed.port or 5432, user=parsed.username,
        password=parsed.password, database="postgres",
    )  # fmt: skip
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        await connection.execute(f'DROP ROLE IF EXISTS "{app_role_name(url)}"')
        if make:
            await connection.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await connection.close()


def pytest_configure(config: pytest.Config) -> None:
    """An xdist worker that runs PostgreSQL tests makes its own database and points
    ``NEVERLOG_TEST_DATABASE_URL`` (this module's, tests/reliability's and the servers'
    the tests start) at it."""
    global PG_URL
    if PG_URL and "postgresql" in WANTED and os.environ.get("PYTEST_XDIST_WORKER"):
        PG_URL = _worker_database(PG_URL)
        asyncio.run(_remake_database(PG_URL, make=True))
        os.environ["NEVERLOG_TEST_DATABASE_URL"] = PG_URL
        config.stash[_WORKER_DATABASE] = PG_URL


_WORKER_DATABASE = pytest.StashKey[str]()


def pytest_unconfigure(config: pytest.Config) -> None:
    url = config.stash.get(_WORKER_DATABASE, None)
    if url is not None:
        asyncio.run(_remake_database(url, make=False))


def pytest_report_header() -> str:
    return f"test profile: {PROFILE} (NEVERLOG_TEST_PROFILE; make test-all runs long)"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if "postgresql" in WANTED and not PG_URL:
        terminalreporter.write_line(PG_SKIP)


@pytest.fixture(scope="session", params=_backends())
async def db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "neverlog.db"
        url = f"sqlite+aiosqlite:///{path}"
        database = Database(url)
        await upgrade(database)
    else:
        database = await _app_role_database(Settings(database_url=PG_URL).database_url)
    yield database
    # The tokens' last uses gathered by the last tests, written before the engine closes
    # (as the app's lifespan does): written after, they would open a connection that
    # nothing closes.
    await touches.flush(database)
    await database.dispose()


def app_role_name(url: str) -> str:
    return f"neverlog_app_{make_url(url).database}"[:63]


async def _app_role_database(admin_url: str) -> Database:
    """Migrate as the URL's (owner) role, then serve as a role that owns nothing, as in
    production: row-level security binds it."""
    admin = Database(admin_url)
    role = app_role_name(admin_url)
    try:
        await upgrade(admin)
        async with admin.engine.begin() as connection:
            exists = await connection.scalar(
                sa.text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}
            )
            if not exists:
                await connection.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
        await grant_app_role(admin, role)
    finally:
        await admin.dispose()
    return Database(
        make_url(admin_url).set(username=role, password=None).render_as_string(hide_password=False)
    )


@pytest.fixture(scope="session")
async def admin_db(db: Database) -> AsyncIterator[Database]:
    """The owner's connection to the test database (PostgreSQL), for tests that look
    under the application."""
    admin = Database(Settings(database_url=PG_URL).database_url) if db.is_postgresql else db
    yield admin
    if admin is not db:
        await admin.dispose()


@pytest.fixture
def make_api(db: Database) -> Callable[..., Api]:
    """An API client over the real app, with the settings given (list limits, query
    limits, ...)."""

    def make(**overrides: Any) -> Api:
        settings = Settings(database_url=db.url.render_as_string(hide_password=False), **overrides)
        return Api(settings, db)

    return make


@pytest.fixture
async def api(make_api: Callable[..., Api]) -> AsyncIterator[Api]:
    client = make_api()
    yield client
    await client.close()
