"""Rate limiting by query cost: a token bucket per account (per client address for
requests without a token), in this process.

Every request takes its calculated cost (at least 1) from its bucket; the bucket refills
at a steady rate up to its capacity. Over it, the request is refused with RATE_LIMITED and
the seconds to wait. The buckets live in each API process: with N processes behind a load
balancer an account may use up to N times the rate.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


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


class CostBuckets:
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

    def take(self, key: str, cost: int) -> Throttle:
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
        wait = 0.0 if allowed else (cost - level) / self.restore_rate
        if cost > self.capacity:
            wait = math.inf
        return Throttle(allowed, level, self.capacity, self.restore_rate, wait)
