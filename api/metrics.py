"""Prometheus metrics at /metrics: requests and their latency by GraphQL operation and
result, decisions by channel and outcome, refusals by limit, database pool use.

With several worker processes, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory
before the processes start (``neverlog serve --workers N`` does it by itself): each process
writes its samples there and /metrics adds them up.
"""

from __future__ import annotations

import functools
import hmac
import os
import threading
from collections.abc import Sequence
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response

from policy import Decision
from tenancy.records import Database

REQUESTS = Counter(
    "neverlog_requests_total",
    "GraphQL requests by operation and result.",
    ["operation", "result"],
)
LATENCY = Histogram(
    "neverlog_request_duration_seconds",
    "GraphQL request latency by operation.",
    ["operation"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DECISIONS = Counter(
    "neverlog_recipient_decisions_total",
    "Recipient decisions by channel and outcome.",
    ["channel", "outcome"],
)
REFUSALS = Counter(
    "neverlog_refusals_total",
    "Requests refused before execution, by limit.",
    ["limit"],
)
EXECUTIONS = Counter(
    "neverlog_graphql_executions_total",
    "Operations executed, by how: on a compiled plan (plan), on stock execution (stock), "
    "or on stock execution after a plan met something it does not cover (abandoned).",
    ["path"],
)
POOL_IN_USE = Gauge(
    "neverlog_db_pool_connections_in_use",
    "Database connections checked out of the pool.",
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "neverlog_db_pool_size",
    "Database connections held by the pool (in use or idle).",
    multiprocess_mode="livesum",
)

# Operation names are chosen by clients: past this many distinct names, the rest are
# counted as "other", so that no client can grow the metrics without bound.
MAX_OPERATION_NAMES = 200
_names: set[str] = set()
_names_lock = threading.Lock()


def operation_label(name: str | None) -> str:
    if not name:
        return "anonymous"
    name = name[:64]
    with _names_lock:
        if name in _names:
            return name
        if len(_names) < MAX_OPERATION_NAMES:
            _names.add(name)
            return name
    return "other"


def observe_request(operation: str, result: str, seconds: float) -> None:
    REQUESTS.labels(operation, result).inc()
    LATENCY.labels(operation).observe(seconds)


def observe_decisions(decisions: Sequence[Decision]) -> None:
    """Count a request's recipients by channel and outcome: one increment per channel and
    outcome among them (each increment takes a lock: a batch's hundred decisions of ten
    recipients were a thousand, then two hundred, now a few)."""
    counts: dict[Any, dict[Any, int]] = {}
    for decision in decisions:
        outcomes = counts.get(decision.channel)
        if outcomes is None:
            outcomes = counts[decision.channel] = {}
        for recipient in decision.recipients:
            outcomes[recipient.outcome] = outcomes.get(recipient.outcome, 0) + 1
    for channel, outcomes in counts.items():
        for outcome, count in outcomes.items():
            _decisions_of(channel, outcome).inc(count)


@functools.cache
def _decisions_of(channel: Any, outcome: Any) -> Any:
    """The counter of one channel and outcome (few of each; prometheus_client keeps each
    labelled child for the life of the process)."""
    return DECISIONS.labels(channel.value, outcome.value)


def observe_pool(db: Database) -> None:
    pool = db.engine.pool
    checked_out = getattr(pool, "checkedout", None)
    size = getattr(pool, "size", None)
    if callable(checked_out):
        POOL_IN_USE.set(checked_out())
    if callable(size):
        POOL_SIZE.set(size())


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
    observe_pool(request.app.state.db)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        body = generate_latest()
    return Response(body, media_type=CONTENT_TYPE_LATEST)
