"""Prometheus metrics at /metrics: requests and their latency by GraphQL operation and
result, decisions by channel and outcome, refusals by limit, database pool use.

With several worker processes, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory
before the processes start (``neverlog serve --workers N`` does it by itself): each process
writes its samples there and /metrics adds them up.
"""

from __future__ import annotations

import collections
import hmac
import itertools
import os
import threading
from collections.abc import Sequence
from operator import attrgetter
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response

from policy import Decision
from schema.services import Database

_OUTCOME = attrgetter("outcome")

# Operation names are chosen by clients: past this many distinct names, the rest are
# counted as "other", so that no client can grow the metrics without bound.
MAX_OPERATION_NAMES = 200


class Metrics:
    """The app's metrics, in a registry of its own: built by the app factory and kept on
    ``app.state.metrics``; the middleware, the GraphQL view and the rate limit are handed
    it, and /metrics reads it. Two apps in one process (the tests make many) count apart."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        # What the default registry reports of the process besides ours, as before.
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self.requests = Counter(
            "neverlog_requests_total",
            "GraphQL requests by operation and result.",
            ["operation", "result"],
            registry=registry,
        )
        self.latency = Histogram(
            "neverlog_request_duration_seconds",
            "GraphQL request latency by operation.",
            ["operation"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )
        self.decisions = Counter(
            "neverlog_recipient_decisions_total",
            "Recipient decisions by channel and outcome.",
            ["channel", "outcome"],
            registry=registry,
        )
        self.refusals = Counter(
            "neverlog_refusals_total",
            "Requests refused before execution, by limit.",
            ["limit"],
            registry=registry,
        )
        self.executions = Counter(
            "neverlog_graphql_executions_total",
            "Operations executed, by how: on a compiled plan (plan), on stock execution "
            "(stock), or on stock execution after a plan met something it does not cover "
            "(abandoned).",
            ["path"],
            registry=registry,
        )
        self.pool_in_use = Gauge(
            "neverlog_db_pool_connections_in_use",
            "Database connections checked out of the pool.",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.pool_size = Gauge(
            "neverlog_db_pool_size",
            "Database connections held by the pool (in use or idle).",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.rate_limit_store_errors = Counter(
            "neverlog_rate_limit_store_errors_total",
            "Requests whose rate limit could not be read from Redis, and were served (fail open).",
            registry=registry,
        )
        self._names: set[str] = set()
        self._names_lock = threading.Lock()
        # The counter of each channel and outcome (few of each; prometheus_client keeps
        # each labelled child for the life of the registry).
        self._decisions_of: dict[tuple[Any, Any], Any] = {}

    def operation_label(self, name: str | None) -> str:
        if not name:
            return "anonymous"
        name = name[:64]
        with self._names_lock:
            if name in self._names:
                return name
            if len(self._names) < MAX_OPERATION_NAMES:
                self._names.add(name)
                return name
        return "other"

    def observe_request(self, operation: str, result: str, seconds: float) -> None:
        self.requests.labels(operation, result).inc()
        self.latency.labels(operation).observe(seconds)

    def observe_decisions(self, decisions: Sequence[Decision]) -> None:
        """Count a request's recipients by channel and outcome: one increment per channel
        and outcome among them (each increment takes a lock: a batch's hundred decisions of
        ten recipients were a thousand, then two hundred, now a few). Each channel's
        recipients are counted in one pass in C (a decision given several times, as a
        batch's copies of one email, counts each time)."""
        by_channel: dict[Any, list[Sequence[Any]]] = {}
        for decision in decisions:
            recipients = by_channel.get(decision.channel)
            if recipients is None:
                recipients = by_channel[decision.channel] = []
            recipients.append(decision.recipients)
        counts = {
            channel: collections.Counter(map(_OUTCOME, itertools.chain.from_iterable(groups)))
            for channel, groups in by_channel.items()
        }
        for channel, outcomes in counts.items():
            for outcome, count in outcomes.items():
                counter = self._decisions_of.get((channel, outcome))
                if counter is None:
                    counter = self.decisions.labels(channel.value, outcome.value)
                    self._decisions_of[(channel, outcome)] = counter
                counter.inc(count)

    def observe_pool(self, db: Database) -> None:
        pool = db.engine.pool
        checked_out = getattr(pool, "checkedout", None)
        size = getattr(pool, "size", None)
        if callable(checked_out):
            self.pool_in_use.set(checked_out())
        if callable(size):
            self.pool_size.set(size())


def _allowed(request: Request) -> bool:
    """Where a metrics token is set, and always in production, /metrics answers only to
    exactly one "Authorization: Bearer <token>" header with that token: the metrics carry
    every tenant's operation names and decision counts. Compared in constant time."""
    settings = request.app.state.settings
    if not settings.metrics_protected:
        return True
    if settings.metrics_token is None:
        return False
    sent = request.headers.getlist("authorization")
    if len(sent) != 1:
        return False
    scheme, _, token = sent[0].strip().partition(" ")
    expected = settings.metrics_token.get_secret_value().encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected)


async def metrics_endpoint(request: Request) -> Response:
    if not _allowed(request):
        return Response(
            "Send the metrics token (NEVERLOG_METRICS_TOKEN) as 'Authorization: Bearer <token>'.\n",
            status_code=401,
            media_type="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    metrics: Metrics = request.app.state.metrics
    metrics.observe_pool(request.app.state.db)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        body = generate_latest(metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
