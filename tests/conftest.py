"""One suite for every database: tests that take ``api`` (or ``db``) run on SQLite and,
where ``NEVERLOG_TEST_DATABASE_URL`` names a PostgreSQL database, on PostgreSQL too.
``NEVERLOG_TEST_BACKENDS`` (e.g. ``postgresql``) narrows the run to some backends."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from api.settings import Settings
from persistence.database import Database
from persistence.migrate import upgrade
from tests.helpers import Api

PG_URL = os.environ.get("NEVERLOG_TEST_DATABASE_URL", "")
WANTED = {b.strip() for b in os.environ.get("NEVERLOG_TEST_BACKENDS", "sqlite,postgresql").split(",")}
PG_SKIP = "PostgreSQL tests skipped: set NEVERLOG_TEST_DATABASE_URL to a throwaway database to run them"


def _backends() -> list[object]:
    params: list[object] = []
    if "sqlite" in WANTED:
        params.append("sqlite")
    if "postgresql" in WANTED:
        marks = [] if PG_URL else [pytest.mark.skip(reason=PG_SKIP)]
        params.append(pytest.param("postgresql", marks=marks))
    return params


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
    """An API client over the real app, with the list limits given."""

    def make(*, account_list_limit: int = 500, personal_list_limit: int = 500) -> Api:
        settings = Settings(
            database_url=db.url.render_as_string(hide_password=False),
            account_list_limit=account_list_limit,
            personal_list_limit=personal_list_limit,
        )
        return Api(settings, db)

    return make


@pytest.fixture
async def api(make_api: Callable[..., Api]) -> AsyncIterator[Api]:
    client = make_api()
    yield client
    await client.close()
