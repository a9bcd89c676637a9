"""Webhooks with two ``neverlog serve`` processes on one database, delivering to a receiver
in this process (tests/webhook_receiver.py, which verifies every signature):

- events delivered per second: a backlog of events, written while no process delivers, is
  drained by two processes that start together (from the first arrival to the last); against a baseline measured in the same
  run, the same bodies POSTed straight to the receiver by one httpx client, 2 at once (an
  endpoint has at most 2 attempts in flight: what the delivery path costs over sending);
- the delay from commit to delivery: changes at a steady pace while both deliver, each
  event's delay from its timestamp (written in the change's transaction, just before the
  commit) to its arrival at the receiver: p50 and p99.

Section "webhook fairness" (``measure_fairness``): one ``neverlog serve`` with its default
settings (each attempt cut at 15 s). An account whose ten endpoints all hang (a local
server that accepts every connection and never answers) makes 4 list changes; then another
account makes a change every 2 s, and each of its events' delay from its timestamp to its
arrival at a real receiver is measured (target: under 2 s), against the same account's
delays measured in the same run before the hanging account began.

    python -m tests.bench.bench_webhooks [--backends sqlite,postgresql] [--events 400]
        [--fairness-only]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from persistence.database import Database
from persistence.migrate import upgrade
from tenancy.users import create_account
from tests.bench.bench_http import server_env
from tests.live_server import free_port, serving
from tests.webhook_receiver import Receiver, hanging, receiving

CREATE = """mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
    secret userErrors { code message } } }"""
ADD = """mutation($input: AddNeverLogEntriesInput!) { addNeverLogEntries(input: $input) {
    userErrors { code message } } }"""
# Attempts in flight to one endpoint at once, over every process (tenancy.delivery.Schedule
# .per_endpoint): what the baseline sends at once too.
PER_ENDPOINT = 2


@contextlib.contextmanager
def _servers(database_url: str, log_dir: Path, n: int, **settings: str) -> Iterator[list[str]]:
    env = server_env(database_url) | {f"NEVERLOG_{k}": v for k, v in settings.items()}
    env["NEVERLOG_LOG_LEVEL"] = "WARNING"
    with contextlib.ExitStack() as stack:
        urls = []
        for _ in range(n):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            command = [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1"]
            stack.enter_context(
                serving(
                    [*command, "--port", str(port)],
                    env=env,
                    url=url,
                    log_path=log_dir / f"webhooks-{port}.log",
                    start_timeout=60,
                )
            )
            urls.append(url)
        yield urls


async def _post(client: httpx.AsyncClient, url: str, token: str, query: str, variables: Any) -> Any:
    answer = await client.post(
        f"{url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    answer.raise_for_status()
    body = answer.json()
    assert "errors" not in body, body
    return body["data"]


async def _changes(urls: list[str], token: str, n: int, *, start: int, pace: float = 0) -> None:
    """``n`` additions to the account-wide list, spread over the servers; ``pace``: seconds
    between two (else 8 at a time, as fast as they go)."""
    async with httpx.AsyncClient(timeout=60) as client:
        if pace:
            for i in range(n):
                variables = {"input": {"scope": "ACCOUNT", "patterns": [f"*@p{start + i}.com"]}}
                await _post(client, urls[i % len(urls)], token, ADD, variables)
                await asyncio.sleep(pace)
            return
        queue = list(range(n))

        async def writer() -> None:
            while queue:
                i = queue.pop()
                variables = {"input": {"scope": "ACCOUNT", "patterns": [f"*@p{start + i}.com"]}}
                await _post(client, urls[i % len(urls)], token, ADD, variables)

        await asyncio.gather(*(writer() for _ in range(8)))


async def _baseline(receiver: Receiver, bodies: list[str]) -> float:
    """Events per second that one httpx client POSTs to the receiver, PER_ENDPOINT at once
    (as many as the service keeps in flight to one endpoint)."""
    queue = list(bodies)
    async with httpx.AsyncClient(timeout=30) as client:
        started = time.monotonic()

        async def sender() -> None:
            while queue:
                body = queue.pop()
                await client.post(receiver.url, content=body.encode())

        await asyncio.gather(*(sender() for _ in range(PER_ENDPOINT)))
        return len(bodies) / (time.monotonic() - started)


async def measure(
    database_url: str, *, owner_url: str | None = None, events: int = 400, paced: int = 100
) -> dict[str, Any]:
    """``owner_url`` migrates where the service's own role may not (PostgreSQL served as a
    role that owns nothing); the account is made through it too."""
    db = Database(owner_url or database_url)
    try:
        await upgrade(db)
        new = await create_account(
            db, name="Webhook bench", admin_email="bench@webhooks.example.com", admin_name=None
        )
    finally:
        await db.dispose()
    token = new.token.token
    settings = {"WEBHOOK_POLL_SECONDS": "0.05"}
    log_dir = Path(tempfile.mkdtemp(prefix="neverlog-bench-webhooks-"))
    with receiving() as receiver:
        # a backlog, written while no process delivers
        with _servers(database_url, log_dir, 1, WEBHOOK_WORKER="false") as (url,):
            async with httpx.AsyncClient(timeout=60) as client:
                data = await _post(client, url, token, CREATE, {"input": {"url": receiver.url}})
            receiver.secret = data["createWebhookEndpoint"]["secret"]
            await _changes([url], token, events, start=0)
        # drained by two processes that start together
        with _servers(database_url, log_dir, 2, **settings) as urls:
            await receiver.wait_for(lambda r: len(r) >= events, timeout=600)
            backlog = list(receiver.received)
            # from the first arrival to the last: the processes' start-up left out
            drain = backlog[-1].at - backlog[0].at
            # then changes at a steady pace while both deliver
            await _changes(urls, token, paced, start=events, pace=0.05)
            await receiver.wait_for(lambda r: len(r) >= events + paced, timeout=120)
        paced_events = list(receiver.received)[len(backlog) :]
        assert all(r.verified for r in receiver.received)
        baseline = await _baseline(receiver, [r.body for r in backlog])
    delays = sorted(
        r.wall - dt.datetime.fromisoformat(r.event["timestamp"]).timestamp() for r in paced_events
    )
    rate = (events - 1) / drain
    return {
        "events": events,
        "drain_seconds": round(drain, 2),
        "events_per_second": round(rate, 1),
        "baseline_posts_per_second": round(baseline, 1),
        "ratio_to_baseline": round(rate / baseline, 3),
        "paced_events": paced,
        "delay_p50_ms": round(statistics.median(delays) * 1000, 1),
        "delay_p99_ms": round(delays[min(len(delays) - 1, int(len(delays) * 0.99))] * 1000, 1),
        "poll_seconds": float(settings["WEBHOOK_POLL_SECONDS"]),
    }


FAIRNESS_TARGET_SECONDS = 2.0


def _delays(received: list[Any]) -> list[float]:
    return sorted(
        r.wall - dt.datetime.fromisoformat(r.event["timestamp"]).timestamp() for r in received
    )


async def measure_fairness(
    database_url: str,
    *,
    owner_url: str | None = None,
    hanging_changes: int = 4,
    changes: int = 8,
    pace: float = 2.0,
) -> dict[str, Any]:
    """The delay of one account's deliveries while every endpoint of another hangs."""
    db = Database(owner_url or database_url)
    try:
        await upgrade(db)
        stuck_account = await create_account(
            db, name="Hanging endpoints", admin_email="stuck@fairness.example.com", admin_name=None
        )
        other_account = await create_account(
            db, name="Other account", admin_email="other@fairness.example.com", admin_name=None
        )
    finally:
        await db.dispose()
    stuck_token, other_token = stuck_account.token.token, other_account.token.token
    log_dir = Path(tempfile.mkdtemp(prefix="neverlog-bench-fairness-"))
    with hanging() as stuck, receiving() as receiver, _servers(database_url, log_dir, 1) as urls:
        async with httpx.AsyncClient(timeout=60) as client:
            data = await _post(
                client, urls[0], other_token, CREATE, {"input": {"url": receiver.url}}
            )
            receiver.secret = data["createWebhookEndpoint"]["secret"]
            # the other account alone: its delays without anyone hanging
            await _changes(urls, other_token, 5, start=0, pace=0.5)
            await receiver.wait_for(lambda r: len(r) >= 5, timeout=60)
            alone = _delays(list(receiver.received))
            # every endpoint of one account hangs, with its deliveries in flight and due
            for n in range(10):
                await _post(
                    client,
                    urls[0],
                    stuck_token,
                    CREATE,
                    {"input": {"url": f"{stuck.url}/hook-{n}"}},
                )
            await _changes(urls, stuck_token, hanging_changes, start=0, pace=0.05)
            deadline = time.monotonic() + 30
            while stuck.open_now() < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            # the other account's changes, one every ``pace`` seconds
            await _changes(urls, other_token, changes, start=100, pace=pace)
            await receiver.wait_for(lambda r: len(r) >= 5 + changes, timeout=120)
        beside = _delays(list(receiver.received)[5:])
        assert all(r.verified for r in receiver.received)
        open_at_most, per_endpoint = stuck.most_open, max(stuck.most_open_per_path.values())
        tried = stuck.accepted
    return {
        "hanging_endpoints": 10,
        "hanging_changes": hanging_changes,
        "hanging_attempts_in_flight_at_most": open_at_most,
        "hanging_attempts_per_endpoint_at_most": per_endpoint,
        "hanging_attempts_made": tried,
        "other_changes": changes,
        "alone_delay_p50_ms": round(statistics.median(alone) * 1000, 1),
        "alone_delay_max_ms": round(alone[-1] * 1000, 1),
        "delay_p50_ms": round(statistics.median(beside) * 1000, 1),
        "delay_max_ms": round(beside[-1] * 1000, 1),
        "target_ms": FAIRNESS_TARGET_SECONDS * 1000,
        "met": beside[-1] < FAIRNESS_TARGET_SECONDS,
    }


def fairness_table(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| database | the other account alone: delay p50 / max | beside 10 hanging endpoints: "
        "p50 / max | target | hanging attempts in flight at most (per endpoint) |",
        "|---|---|---|---|---|",
    ]
    for engine, r in results.items():
        if "delay_max_ms" not in r:
            lines.append(f"| {engine} | {r.get('error', 'not run')} | | | |")
            continue
        lines.append(
            f"| {engine} | {r['alone_delay_p50_ms']:.0f} / {r['alone_delay_max_ms']:.0f} ms | "
            f"{r['delay_p50_ms']:.0f} / {r['delay_max_ms']:.0f} ms | under "
            f"{r['target_ms']:.0f} ms: {'met' if r['met'] else 'NOT met'} | "
            f"{r['hanging_attempts_in_flight_at_most']} "
            f"({r['hanging_attempts_per_endpoint_at_most']}) |"
        )
    return "\n".join(lines)


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="neverlog-bench-webhooks-") as workdir:
        for backend in args.backends.split(","):
            if backend == "sqlite":
                url = f"sqlite+aiosqlite:///{Path(workdir) / 'webhooks.db'}"
            else:
                url = os.environ["NEVERLOG_BENCH_WEBHOOKS_POSTGRES_URL"]
            if not args.fairness_only:
                results[backend] = await measure(url, events=args.events)
                print(f"  {backend:<10} {json.dumps(results[backend])}", flush=True)
            fairness = await measure_fairness(url)
            results.setdefault(backend, {})["fairness"] = fairness
            print(f"  {backend:<10} fairness {json.dumps(fairness)}", flush=True)
    print(fairness_table({b: r["fairness"] for b, r in results.items()}))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--fairness-only", action="store_true", help="the fairness section only")
    asyncio.run(_main(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
