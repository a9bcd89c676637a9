"""Rate limiting by query cost: a token bucket per account (per client address for
requests without a token).

Every request takes its calculated cost (at least 1) from its bucket; the bucket refills
at a steady rate up to its capacity. Over it, the request is refused with RATE_LIMITED and
the seconds to wait.

Where the buckets live:
- ``CostBuckets``: in this process (the default, which needs nothing): with N processes
  behind a load balancer an account may use up to N times the rate.
- ``RedisCostBuckets`` (``NEVERLOG_REDIS_URL``): in Redis, shared by every process, so that
  together they hold the documented rate. One Lua script per request reads, refills and
  takes atomically, on Redis's clock. When Redis does not answer (within 250 ms, no
  retries), the request is served (fail open) from this process's own bucket, a warning is
  logged at most once a minute, ``neverlog_rate_limit_store_errors_total`` counts each such
  request, and Redis is asked again only after RETRY_REDIS_AFTER_SECONDS.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger("neverlog.ratelimit")

WARN_EVERY_SECONDS = 60.0
# After a failure, requests do not wait for Redis again before this many seconds.
RETRY_REDIS_AFTER_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Throttle:
    allowed: bool
    remaining: float
    capacity: float
    restore_rate: float
    retry_after: float

    def as_extension(self) -> dict[str, float]:
        return {
            "maximumAvailable": self.capacity,
            "currentlyAvailable": math.floor(self.remaining),
            "restoreRate": self.restore_rate,
        }


def _throttle(level: float, cost: int, allowed: bool, capacity: float, rate: float) -> Throttle:
    wait = 0.0 if allowed else (cost - level) / rate
    if cost > capacity:
        wait = math.inf
    return Throttle(allowed, level, capacity, rate, wait)


class Buckets(Protocol):
    capacity: float
    restore_rate: float

    async def take(self, key: str, cost: int) -> Throttle: ...

    async def give_back(self, key: str, points: int) -> None: ...

    async def aclose(self) -> None: ...


class CostBuckets:
    """The buckets in this process."""

    def __init__(
        self,
        capacity: float,
        restore_rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_buckets: int = 100_000,
    ) -> None:
        self.capacity = capacity
        self.restore_rate = restore_rate
        self.clock = clock
        self.max_buckets = max_buckets
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take_now(self, key: str, cost: int) -> Throttle:
        """Take ``cost`` points from ``key``'s bucket, if it holds that many."""
        now = self.clock()
        level, since = self._buckets.pop(key, (self.capacity, now))
        level = min(self.capacity, level + (now - since) * self.restore_rate)
        cost = max(cost, 1)
        allowed = cost <= level
        if allowed:
            level -= cost
        self._buckets[key] = (level, now)
        if len(self._buckets) > self.max_buckets:
            self._buckets.popitem(last=False)  # the longest idle bucket: it is full again
        return _throttle(level, cost, allowed, self.capacity, self.restore_rate)

    async def take(self, key: str, cost: int) -> Throttle:
        return self.take_now(key, cost)

    def give_back_now(self, key: str, points: int) -> None:
        """Return ``points`` taken for something that turned out not to count (up to the
        capacity)."""
        now = self.clock()
        level, since = self._buckets.pop(key, (self.capacity, now))
        level = min(self.capacity, level + (now - since) * self.restore_rate + points)
        self._buckets[key] = (level, now)

    async def give_back(self, key: str, points: int) -> None:
        self.give_back_now(key, points)

    async def aclose(self) -> None:
        return None


# KEYS[1]: the bucket; ARGV: capacity, restore rate per second, cost. The level and the time
# it was measured at are kept in a hash that expires once the bucket would be full again.
# Numbers go back as strings: Redis would cut a Lua number to an integer.
TAKE_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'level', 'since')
local level = tonumber(state[1])
local since = tonumber(state[2])
if level == nil or since == nil then
  level = capacity
  since = now
end
level = math.min(capacity, level + math.max(0, now - since) * rate)
local allowed = 0
if cost <= level then
  level = level - cost
  allowed = 1
end
redis.call('HSET', KEYS[1], 'level', string.format('%.6f', level), 'since', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - level) / rate * 1000) + 1000)
return {allowed, string.format('%.6f', level)}
"""


# KEYS[1]: the bucket; ARGV: capacity, points given back. Where the bucket has expired it
# is full again: nothing to give back.
GIVE_BACK_SCRIPT = """
local capacity = tonumber(ARGV[1])
local level = tonumber(redis.call('HGET', KEYS[1], 'level'))
if level == nil then
  return 0
end
level = math.min(capacity, level + tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'level', string.format('%.6f', level))
return 1
"""


class RedisCostBuckets:
    """The buckets in Redis, shared by every process that names the same Redis and prefix."""

    def __init__(
        self,
        url: str,
        capacity: float,
        restore_rate: float,
        *,
        prefix: str = "neverlog:ratelimit:",
        timeout_seconds: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
        on_store_error: Callable[[], None] = lambda: None,
    ) -> None:
        import redis.asyncio
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self.capacity = capacity
        self.restore_rate = restore_rate
        self.prefix = prefix
        self.clock = clock
        # Told of every request served without Redis (the app's metrics count them).
        self.on_store_error = on_store_error
        self.redis: Any = redis.asyncio.Redis.from_url(
            url,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            retry=Retry(NoBackoff(), 0),  # no retries: a request waits at most one timeout
        )
        self._script = self.redis.register_script(TAKE_SCRIPT)
        self._give_back = self.redis.register_script(GIVE_BACK_SCRIPT)
        # Served when Redis does not answer: this process's own buckets, as without Redis.
        self.fallback = CostBuckets(capacity, restore_rate, clock=clock)
        self._warned_at: float | None = None
        self._down_until = -math.inf

    async def take(self, key: str, cost: int) -> Throttle:
        cost = max(cost, 1)
        if self.clock() < self._down_until:  # it failed a moment ago: do not wait for it
            self.on_store_error()
            return self.fallback.take_now(key, cost)
        try:
            allowed, level = await self._script(
                keys=[self.prefix + key], args=[self.capacity, self.restore_rate, cost]
            )
        except Exception as error:  # any failure of the store: serve the request
            self._unavailable(error)
            return self.fallback.take_now(key, cost)
        return _throttle(float(level), cost, bool(allowed), self.capacity, self.restore_rate)

    async def give_back(self, key: str, points: int) -> None:
        if self.clock() < self._down_until:
            self.fallback.give_back_now(key, points)
            return
        try:
            await self._give_back(keys=[self.prefix + key], args=[self.capacity, points])
        except Exception as error:  # any failure of the store: the points stay taken
            self._unavailable(error)

    def _unavailable(self, error: Exception) -> None:
        self.on_store_error()
        now = self.clock()
        self._down_until = now + RETRY_REDIS_AFTER_SECONDS
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning(
                "Redis does not answer (%s: %s): rate limits are kept in this process until "
                "it does (logged at most once a minute)",
                type(error).__name__,
                error,
            )

    async def aclose(self) -> None:
        await self.redis.aclose()


def cost_buckets(
    *,
    redis_url: str | None,
    capacity: float,
    restore_rate: float,
    prefix: str,
    on_store_error: Callable[[], None] = lambda: None,
) -> Buckets:
    """Redis-backed buckets where a Redis URL is given, else in-process ones."""
    if redis_url:
        return RedisCostBuckets(
            redis_url, capacity, restore_rate, prefix=prefix, on_store_error=on_store_error
        )
    return CostBuckets(capacity, restore_rate)
