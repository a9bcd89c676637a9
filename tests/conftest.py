"""One suite for every database: tests that take ``api`` (or ``db``) run on SQLite and,
where ``NEVERLOG_TEST_DATABASE_URL`` names a PostgreSQL database, on PostgreSQL too.
``NEVERLOG_TEST_BACKENDS`` (e.g. ``postgresql``) narrows the run to some backends."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from api.settings import Settings
from persistence.database import Database
from persistence.migrate import grant_app_role, upgrade
from tenancy import touches
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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
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
