"""A token's lastUsedAt is written off the request path (tenancy/touches.py): the request
that finds it due writes nothing itself, the touches of many tokens are written together,
and every read that shows lastUsedAt, and the app's stop, write what is gathered first."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tenancy import touches
from tests.api.decision_helpers import counting_statements
from tests.api.test_tokens import TOKENS, VIEWER, create_token
from tests.helpers import Api


def _touches(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith("UPDATE API_TOKENS")]


async def _last_used(token_id: str, api: Api, reader: str) -> Any:
    tokens = (await api.data(TOKENS, token=reader))["apiTokens"]
    return next(t for t in tokens if t["id"] == token_id)["lastUsedAt"]


async def test_the_request_that_finds_a_touch_due_writes_nothing_itself(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a token never used, and a gathering time that the request cannot outlast on a
    # busy machine
    monkeypatch.setattr(touches, "GATHER_SECONDS", 0.5)
    admin = await api.new_account()
    created = await create_token(api, admin, "integration")
    await touches.flush(api.db)
    # when it is used
    with counting_statements(api) as during:
        await api.data(VIEWER, token=created["token"])
    # then that request wrote nothing; its lastUsedAt follows within the gathering time
    assert _touches(during) == []
    with counting_statements(api) as after:
        # (polled: the write starts after the gathering time, however busy the machine)
        deadline = asyncio.get_running_loop().time() + 10
        while not _touches(after) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        await touches.flush(api.db)
    assert len(_touches(after)) == 1
    assert await _last_used(created["apiToken"]["id"], api, admin.token) is not None


async def test_many_tokens_used_together_are_touched_together(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given twelve tokens never used, and a gathering time that twelve requests on a busy
    # machine cannot outlast (at 50 ms, SQLite's one writer could spread them over two)
    monkeypatch.setattr(touches, "GATHER_SECONDS", 60)
    admin = await api.new_account()
    made = [await create_token(api, admin, f"pipeline {n}") for n in range(12)]
    await touches.flush(api.db)
    # when each is used at once
    with counting_statements(api) as statements:
        await asyncio.gather(*(api.data(VIEWER, token=m["token"]) for m in made))
        await touches.flush(api.db)
    # then all are touched, in one statement on SQLite, one each (for its account) on
    # PostgreSQL, and each reads as used
    expected = 12 if api.db.is_postgresql else 1
    assert len(_touches(statements)) == expected, _touches(statements)
    for m in made:
        assert await _last_used(m["apiToken"]["id"], api, admin.token) is not None


async def test_a_token_read_right_after_its_use_reads_as_used(api: Api) -> None:
    # given
    admin = await api.new_account()
    created = await create_token(api, admin, "fresh")
    # when it is used, and read at once (nothing waits for the gathering)
    await api.data(VIEWER, token=created["token"])
    # then the read shows the use: apiTokens writes what is gathered first
    assert await _last_used(created["apiToken"]["id"], api, admin.token) is not None


async def test_what_is_gathered_is_written_when_the_app_stops(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a running app, and a use whose touch is gathered and would wait a minute
    monkeypatch.setattr(touches, "GATHER_SECONDS", 60)
    admin = await api.new_account()
    created = await create_token(api, admin, "nightly")
    await touches.flush(api.db)
    lifespan = api.app.router.lifespan_context(api.app)
    await lifespan.__aenter__()
    await api.data(VIEWER, token=created["token"])
    # when the app stops
    with counting_statements(api) as stopping:
        await lifespan.__aexit__(None, None, None)
    # then the stop wrote it
    assert len(_touches(stopping)) == 1
    assert await _last_used(created["apiToken"]["id"], api, admin.token) is not None


async def test_a_touch_that_cannot_be_written_is_dropped_and_the_request_still_answers(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # given a database that refuses the write
    admin = await api.new_account()
    created = await create_token(api, admin, "flaky")
    await touches.flush(api.db)

    async def refused(**kwargs: Any) -> None:
        raise ConnectionError("the database is gone")

    monkeypatch.setattr(touches.tokens, "touch_tokens", refused)
    # when the token is used
    data = await api.data(VIEWER, token=created["token"])
    await touches.flush(api.db)
    # then the request answered, and the failure is logged
    assert data["viewer"]["user"]["id"]
    assert "lastUsedAt not written" in caplog.text
