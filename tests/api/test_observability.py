"""Metrics at /metrics and one structured log line per request, without secrets."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from api.logs import JsonFormatter
from tests.helpers import Api
from tests.live_server import live_server


def _sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text format (0 when absent)."""
    for line in metrics.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_requests_decisions_and_refusals(make_api: Callable[..., Api]) -> None:
    # given
    api = make_api(max_query_depth=3)
    try:
        admin = await api.new_account()
        before = (await api.client.get("/metrics")).text
        # when: a named query, a decision of three recipients, and a refused query
        await api.data("query WhoAmI { viewer { user { id } } }", token=admin.token)
        await api.data(
            '{ evaluateEmailLogging(email: {channel: CRM, to: ["a@customer.com", "not an address", '
            '"b@customer.com"]}) '
            "{ loggedCount } }",
            token=admin.token,
        )
        await api.gql(
            "{ neverLogList(scope: PERSONAL) { entries { edges { node { pattern } } } } }",
            token=admin.token,
        )
        after = (await api.client.get("/metrics")).text
    finally:
        await api.close()

    # then
    def grew(name: str, **labels: str) -> float:
        return _sample(after, name, **labels) - _sample(before, name, **labels)

    assert grew("neverlog_requests_total", operation="WhoAmI", result="ok") == 1
    assert grew("neverlog_request_duration_seconds_count", operation="WhoAmI") == 1
    assert grew("neverlog_recipient_decisions_total", channel="CRM", outcome="LOGGED") == 2
    assert grew("neverlog_recipient_decisions_total", channel="CRM", outcome="INVALID_ADDRESS") == 1
    assert grew("neverlog_refusals_total", limit="MAX_DEPTH_EXCEEDED") == 1
    assert grew("neverlog_requests_total", operation="neverLogList", result="refused") == 1
    assert "neverlog_db_pool_connections_in_use" in after


async def test_a_batch_counts_the_recipients_of_every_copy_of_an_email(api: Api) -> None:
    # given: a batch of an email three times (two recipients, one of them invalid) and
    # another once (one recipient)
    admin = await api.new_account()
    copied = {"channel": "TEAM_INBOX", "to": ["a@customer.com", "not an address"]}
    other = {"channel": "TEAM_INBOX", "to": ["b@customer.com"]}
    before = (await api.client.get("/metrics")).text
    # when
    await api.data(
        "query($emails: [EmailInput!]!) { evaluateEmailLoggingBatch(emails: $emails) "
        "{ loggedCount } }",
        {"emails": [copied, copied, other, copied]},
        token=admin.token,
    )
    after = (await api.client.get("/metrics")).text

    # then: each copy's recipients are counted
    def grew(outcome: str) -> float:
        labels = {"channel": "TEAM_INBOX", "outcome": outcome}
        name = "neverlog_recipient_decisions_total"
        return _sample(after, name, **labels) - _sample(before, name, **labels)

    assert grew("LOGGED") == 3 + 1
    assert grew("INVALID_ADDRESS") == 3


async def test_one_log_line_per_request_without_secrets(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    # given
    admin = await api.new_account()
    # when
    with caplog.at_level(logging.INFO, logger="neverlog.request"):
        response = await api.post(
            'mutation Add { addNeverLogEntries(input: {scope: PERSONAL, patterns: ["secret-lawyer@firm.com"]}) '
            "{ userErrors { code } } }",
            token=admin.token,
        )
    # then
    lines = [r for r in caplog.records if r.name == "neverlog.request"]
    assert len(lines) == 1
    record = lines[0]
    formatted = json.loads(JsonFormatter().format(record))
    assert formatted["request_id"] == response.headers["x-request-id"]
    assert uuid.UUID(formatted["account_id"]).hex == admin.token.rsplit("_", 1)[1]
    assert formatted["operation"] == "Add"
    assert formatted["status"] == 200
    assert formatted["duration_ms"] > 0
    everything = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert admin.token not in everything
    assert admin.token.split("_")[1] not in everything
    assert "secret-lawyer" not in everything


def test_metrics_add_up_across_worker_processes(tmp_path: Path) -> None:
    with live_server(tmp_path, "--workers", "2") as server:
        token = server.create_account("Acme", "admin@acme-corp.com")["token"]
        # a new connection for every request, so that both workers serve some
        no_keepalive = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=server.url, timeout=10, limits=no_keepalive) as client:
            for _ in range(30):
                response = client.post(
                    "/graphql",
                    json={"query": "query Ping { viewer { user { id } } }"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert response.status_code == 200
            # whichever worker answers /metrics, it reports all 30
            for _ in range(4):
                metrics = client.get("/metrics").text
                assert (
                    _sample(metrics, "neverlog_requests_total", operation="Ping", result="ok") == 30
                )
