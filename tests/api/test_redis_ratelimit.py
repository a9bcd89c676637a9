"""Rate limits shared in Redis (``NEVERLOG_REDIS_URL``): two ``neverlog serve`` processes
together hold one bucket; when Redis does not answer, requests are served (fail open), a
warning is logged once a minute and a metric counts them. Against the machine's real Redis
(``NEVERLOG_TEST_REDIS_URL``, default redis://127.0.0.1:6379/0), under a key prefix of this
test run's own; skipped with one line where none answers."""

from __future__ import annotations

import logging
import os
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
import redis
import redis.asyncio

from api.metrics import Metrics
from api.ratelimit import (
    RETRY_REDIS_AFTER_SECONDS,
    CostBuckets,
    RedisCostBuckets,
)
from tests.helpers import Api
from tests.live_server import Served, free_port, serving_together

REDIS_URL = os.environ.get("NEVERLOG_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PREFIX = f"neverlog-test:{uuid.uuid4().hex}:"


def _store_errors(metrics: Metrics) -> float:
    """The metric of requests served without Redis, as /metrics reports it."""
    value = metrics.registry.get_sample_value("neverlog_rate_limit_store_errors_total")
    return value or 0.0


def _redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


needs_redis = pytest.mark.skipif(
    not _redis_answers(),
    reason=f"no Redis answers at {REDIS_URL}: the shared rate limit is untested",
)


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    mine = f"{PREFIX}{uuid.uuid4().hex[:8]}:"
    yield mine
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{mine}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@needs_redis
async def test_two_clients_of_one_redis_share_one_bucket(prefix: str) -> None:
    # given two processes' buckets of 10 points, refilled at 1 point in 1,000 seconds
    first = RedisCostBuckets(REDIS_URL, 10, 0.001, prefix=prefix)
    second = RedisCostBuckets(REDIS_URL, 10, 0.001, prefix=prefix)
    try:
        # when they take 4 points each, alternately, three times
        taken = []
        for _ in range(3):
            taken.append(await first.take("account:1", 4))
            taken.append(await second.take("account:1", 4))

        # then together they allow 10 points: two requests, and refuse the rest
        assert [t.allowed for t in taken] == [True, True, False, False, False, False]
        assert round(taken[1].remaining) == 2
        assert taken[2].retry_after == pytest.approx(2 / 0.001, rel=0.01)
        # and another account's bucket is its own
        assert (await second.take("account:2", 4)).allowed
    finally:
        await first.aclose()
        await second.aclose()


async def test_when_redis_does_not_answer_requests_are_served_and_it_is_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given buckets in a Redis where nothing listens
    metrics = Metrics()
    buckets = RedisCostBuckets(
        f"redis://127.0.0.1:{free_port()}/0",
        10,
        0.001,
        prefix="x:",
        on_store_error=metrics.rate_limit_store_errors.inc,
    )
    before = _store_errors(metrics)
    try:
        # when three requests come
        with caplog.at_level(logging.WARNING, logger="neverlog.ratelimit"):
            taken = [await buckets.take("account:1", 3) for _ in range(3)]
    finally:
        await buckets.aclose()

    # then they are served, from this process's bucket
    assert [t.allowed for t in taken] == [True, True, True]
    assert round(taken[-1].remaining) == 1
    # a warning is logged once (not three times), and the metric counts every one
    warnings = [r for r in caplog.records if r.name == "neverlog.ratelimit"]
    assert len(warnings) == 1
    assert "Redis does not answer" in warnings[0].getMessage()
    assert _store_errors(metrics) - before == 3


async def test_the_api_answers_when_its_redis_is_down(make_api: Callable[..., Api]) -> None:
    # given the API with a Redis URL where nothing listens
    api = make_api(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    try:
        # when
        response = await api.client.post("/graphql", json={"query": "{ __typename }"})

        # then
        assert response.status_code == 200
        assert response.json()["data"] == {"__typename": "Query"}
        metrics = await api.client.get("/metrics")
        assert "neverlog_rate_limit_store_errors_total" in metrics.text
    finally:
        await api.close()


@needs_redis
def test_two_serve_processes_together_hold_the_documented_rate(tmp_path: Path, prefix: str) -> None:
    backends = os.environ.get("NEVERLOG_TEST_BACKENDS", "sqlite,postgresql").split(",")
    if "sqlite" not in {b.strip() for b in backends}:
        pytest.skip("live-server tests run in the SQLite pass (NEVERLOG_TEST_BACKENDS)")
    # given two processes sharing Redis, with a bucket of 10 points that barely refills
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEVERLOG_")}
    env |= {
        "NEVERLOG_REDIS_URL": REDIS_URL,
        "NEVERLOG_RATE_LIMIT_KEY_PREFIX": prefix,
        "NEVERLOG_RATE_LIMIT_CAPACITY": "10",
        "NEVERLOG_RATE_LIMIT_RESTORE_RATE": "0.001",
        "NEVERLOG_LOG_LEVEL": "WARNING",
    }
    ports: set[int] = set()
    while len(ports) < 2:  # both chosen before either listens: two different ones
        ports.add(free_port())
    servers = []
    for name, port in zip(("one", "two"), sorted(ports), strict=True):
        command = [sys.executable, "-m", "api.cli", "serve", "--port", str(port)]
        server_env = env | {"NEVERLOG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / name}.db"}
        servers.append(
            Served(command, server_env, f"http://127.0.0.1:{port}", tmp_path / f"{name}.log")
        )
    urls = [served.url for served in servers]
    with serving_together(servers):
        # when 16 requests without a token (one bucket: the client address) go to them in turn
        statuses = [
            httpx.post(
                f"{urls[i % 2]}/graphql", json={"query": "{ __typename }"}, timeout=10
            ).status_code
            for i in range(16)
        ]

    # then 10 are served in all (not 10 by each), and the rest are told to wait
    assert statuses[:10] == [200] * 10
    assert statuses[10:] == [429] * 6


async def test_after_a_failure_redis_is_asked_again_only_a_moment_later() -> None:
    # given buckets whose script fails once, on a clock of the test's own
    now = [100.0]
    buckets = RedisCostBuckets(
        f"redis://127.0.0.1:{free_port()}/0", 10, 0.001, prefix="x:", clock=lambda: now[0]
    )
    calls: list[str] = []

    async def script(*, keys: list[str], args: list[object]) -> list[object]:
        calls.append(keys[0])
        if len(calls) == 1:
            raise ConnectionError("down")
        return [1, "7.0"]

    buckets._script = script
    try:
        # when requests come at once after the failure, and then later
        first = await buckets.take("account:1", 3)
        now[0] += 1
        meanwhile = await buckets.take("account:1", 3)
        now[0] += RETRY_REDIS_AFTER_SECONDS
        later = await buckets.take("account:1", 3)
    finally:
        await buckets.aclose()

    # then the one right after is not kept waiting for Redis, and the later one asks it again
    assert [first.allowed, meanwhile.allowed, later.allowed] == [True, True, True]
    assert calls == ["x:account:1", "x:account:1"]
    assert later.remaining == 7.0


@pytest.mark.parametrize("shared", [True, False], ids=["redis", "in-process"])
async def test_points_given_back_count_again_up_to_the_capacity(prefix: str, shared: bool) -> None:
    # given a bucket of 3 points that hardly refills, emptied
    if shared and not _redis_answers():
        pytest.skip(f"no Redis answers at {REDIS_URL}")
    buckets: RedisCostBuckets | CostBuckets = (
        RedisCostBuckets(REDIS_URL, 3, 0.001, prefix=prefix) if shared else CostBuckets(3, 0.001)
    )
    try:
        taken = [(await buckets.take("address:1", 1)).allowed for _ in range(4)]
        # when one point is given back (an invitation code that worked), and then five
        await buckets.give_back("address:1", 1)
        after_one = [(await buckets.take("address:1", 1)).allowed for _ in range(2)]
        await buckets.give_back("address:1", 5)
        after_five = [(await buckets.take("address:1", 1)).allowed for _ in range(4)]
    finally:
        await buckets.aclose()
    # then each point given back counts once more, never past the capacity
    assert taken == [True, True, True, False]
    assert after_one == [True, False]
    assert after_five == [True, True, True, False]
