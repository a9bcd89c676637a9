"""One suite for every database: tests that take ``api`` (or ``db``) run on SQLite and,
where ``NEVERLOG_TEST_DATABASE_URL`` names a PostgreSQL database, on PostgreSQL too.
``NEVERLOG_TEST_BACKENDS`` (e.g. ``postgresql``) narrows the run to some backends."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from api.settings import Settings
from persistence.database import Database
from persistence.migrate import upgrade
from tests.helpers import Api

PG_URL = os.environ.get("NEVERLOG_TEST_DATABASE_URL", "")
WANTED = {b.strip() for b in os.environ.get("NEVERLOG_TEST_BACKENDS", "sqlite,postgresql").split(",")}
PG_SKIP = "PostgreSQL tests skipped: set NEVERLOG_TEST_DATABASE_URL to a throwaway database to run them"


def _backends() -> list[str]:
    backends = ["sqlite"] if "sqlite" in WANTED else []
    if "postgresql" in WANTED and PG_URL:
        backends.append("postgresql")
    return backends


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if "postgresql" in WANTED and not PG_URL:
        terminalreporter.write_line(PG_SKIP)


@pytest.fixture(scope="session", params=_backends())
async def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "neverlog.db"
        url = f"sqlite+aiosqlite:///{path}"
    else:
        url = Settings(database_url=PG_URL).database_url
    database = Database(url)
    await upgrade(database)
    yield database
    await database.dispose()


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
