"""Live list changes (docs/live.md): two ``neverlog serve`` processes on one PostgreSQL
database; 200 subscribers (graphql-transport-ws, each its own connection) on the first,
100 changes a second made through the second, for ``--seconds``:

- the delay from commit to each subscriber: from the change's ``at`` (taken in its
  transaction, just before the commit) to the moment the subscriber's message arrives,
  over every message of every subscriber: p50, p99, max (target: p99 under 1 s);
- the first server's resident memory (VmRSS) with the 200 subscriptions open, before the
  changes begin and at the end;
- a subscriber that never reads, opened with the others: whether it was closed with 4408
  (its pong to the server's ping does not come back within NEVERLOG_LIVE_PING_SECONDS,
  10 s), how many changes it had been sent by then, and the server's memory at the end
  (bounded: what that subscriber was not sent is not kept).

    python -m tests.bench.bench_live [--subscribers 200] [--rate 100] [--seconds 20]

PostgreSQL: ``NEVERLOG_BENCH_POSTGRES_URL`` (a server the benchmark may create a database
on; tests/bench/bench_seed.py), a throwaway database served as a role that owns nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from persistence.database import Database
from tenancy.users import create_account
from tests.bench.bench_http import server_env
from tests.bench.bench_seed import ThrowawayPostgres, server_url
from tests.live_server import free_port, serving

PROTOCOL = "graphql-transport-ws"
SUBSCRIPTION = """subscription { neverLogListChanged(scope: ACCOUNT) {
    kind scope list { count remaining } patterns entryCount actor { email } at } }"""
ADD = """mutation($input: AddNeverLogEntriesInput!) { addNeverLogEntries(input: $input) {
    userErrors { code message } } }"""
TARGET_P99 = 1.0


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


async def _subscriber(url: str, token: str, **kwargs: Any) -> ClientConnection:
    ws = await connect(url, subprotocols=[PROTOCOL], open_timeout=30, **kwargs)  # type: ignore[list-item]
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    )
    ack = json.loads(await asyncio.wait_for(ws.recv(), 30))
    assert ack == {"type": "connection_ack"}, ack
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}))
    return ws


async def _collect(ws: ClientConnection, delays: list[float], counts: list[int]) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for raw in ws:
            arrived = time.time()
            message = json.loads(raw)
            if message.get("type") == "ping":  # answered, as graphql-ws does
                await ws.send('{"type":"pong"}')
                continue
            at = message["payload"]["data"]["neverLogListChanged"]["at"]
            delays.append(arrived - dt.datetime.fromisoformat(at).timestamp())
            counts[0] += 1


async def _changes(url: str, tokens: list[str], rate: float, seconds: float) -> int:
    """Changes at ``rate`` a second for ``seconds``, each due at its moment (several in
    flight where one is slow), to the accounts of ``tokens`` in turn: how many were
    made."""
    total = int(rate * seconds)
    start = time.monotonic() + 0.5
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=16)) as client:

        async def one(i: int) -> None:
            await asyncio.sleep(max(start + i / rate - time.monotonic(), 0))
            for attempt in (1, 2, 3):
                try:
                    answer = await client.post(
                        f"{url}/graphql",
                        json={
                            "query": ADD,
                            "variables": {
                                "input": {"scope": "ACCOUNT", "patterns": [f"*@live{i}.com"]}
                            },
                        },
                        headers={"Authorization": f"Bearer {tokens[i % len(tokens)]}"},
                    )
                    break
                except httpx.TransportError:  # a kept-alive connection closed under it
                    if attempt == 3:
                        raise
            answer.raise_for_status()
            assert answer.json()["data"]["addNeverLogEntries"]["userErrors"] == []

        await asyncio.gather(*(one(i) for i in range(total)))
    return total


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(
    database_url: str,
    *,
    subscribers: int = 200,
    rate: float = 100,
    seconds: float = 20,
    accounts: int = 1,
) -> dict[str, Any]:
    """With ``accounts`` above 1, the subscribers and the changes are shared out among
    that many accounts in turn: each subscriber is told of its own account's changes."""
    db = Database(database_url)
    try:
        tokens = [
            (
                await create_account(
                    db, name=f"Live {n}", admin_email=f"live{n}@bench.example", admin_name="Live"
                )
            ).token.token
            for n in range(accounts)
        ]
    finally:
        await db.dispose()
    # every entry added stays: the list must hold them
    limit = str(int(rate * seconds) + 100)
    with (
        tempfile.TemporaryDirectory(prefix="neverlog-bench-live-") as workdir,
        _servers(database_url, Path(workdir), limit) as servers,
    ):
        (first, first_pid), (second, _) = servers
        ws_url = first.replace("http://", "ws://") + "/graphql"
        rss_before = _rss_mib(first_pid)
        sockets = []
        for n in range(subscribers):
            sockets.append(await _subscriber(ws_url, tokens[n % accounts], compression=None))
        # a subscriber that never reads: its library stops reading its socket once it
        # holds one message
        # (nor pings the server itself: its library's keep-alive would end the connection
        # from its side, unread, and the close code would be its own)
        never = await _subscriber(
            ws_url, tokens[0], compression=None, max_queue=1, ping_interval=None
        )
        await asyncio.sleep(1)  # every subscribe taken (they are answered only by changes)
        rss_open = _rss_mib(first_pid)
        delays: list[float] = []
        counts = [0]
        collectors = [asyncio.create_task(_collect(ws, delays, counts)) for ws in sockets]
        began = time.monotonic()
        made = await _changes(second, tokens, rate, seconds)
        took = time.monotonic() - began
        # change i goes to account i % accounts, subscriber n listens to account n % accounts
        expected = sum(
            len(range(a, made, accounts)) * len(range(a, subscribers, accounts))
            for a in range(accounts)
        )
        deadline = time.monotonic() + 30
        while counts[0] < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        rss_end = _rss_mib(first_pid)
        for ws in sockets:
            await ws.close()
        for task in collectors:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # what the never-reading subscriber was sent before it was dropped
        sent_to_never = 0
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            while True:
                if json.loads(await asyncio.wait_for(never.recv(), 5)).get("type") == "next":
                    sent_to_never += 1
        never_code = never.close_code
    return {
        "accounts": accounts,
        "subscribers": subscribers,
        "changes": made,
        "changes_per_s": round(made / took, 1),
        "messages": counts[0],
        "messages_expected": expected,
        "p50_ms": round(_percentile(delays, 0.5) * 1000, 1) if delays else None,
        "p99_ms": round(_percentile(delays, 0.99) * 1000, 1) if delays else None,
        "max_ms": round(max(delays) * 1000, 1) if delays else None,
        "mean_ms": round(statistics.fmean(delays) * 1000, 1) if delays else None,
        "rss_mib_idle": rss_before,
        "rss_mib_open": rss_open,
        "rss_mib_end": rss_end,
        "never_reading_close_code": never_code,
        "never_reading_messages": sent_to_never,
        "target_p99_ms": TARGET_P99 * 1000,
    }


@contextlib.contextmanager
def _servers(database_url: str, log_dir: Path, limit: str) -> Iterator[Any]:
    env = server_env(database_url) | {
        "NEVERLOG_LOG_LEVEL": "WARNING",
        "NEVERLOG_ACCOUNT_LIST_LIMIT": limit,
    }
    with contextlib.ExitStack() as stack:
        found = []
        for n in range(2):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            command = [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1"]
            process = stack.enter_context(
                serving(
                    [*command, "--port", str(port)],
                    env=env,
                    url=url,
                    log_path=log_dir / f"live-{n}.log",
                    start_timeout=60,
                )
            )
            found.append((url, process.pid))
        yield found


def table(result: dict[str, Any]) -> str:
    ok = result["p99_ms"] is not None and result["p99_ms"] < result["target_p99_ms"]
    return "\n".join(
        [
            "| live: 2 processes on PostgreSQL | value | target |",
            "|---|---|---|",
            f"| subscribers on process 1 (one connection each) | {result['subscribers']} | 200 |",
            f"| changes through process 2, to {result['accounts']} account(s) in turn | {result['changes']:,} at {result['changes_per_s']}/s | 100/s |",
            f"| messages received / expected | {result['messages']:,} / {result['messages_expected']:,} | all |",
            f"| commit → subscriber p50 | {result['p50_ms']} ms | |",
            f"| commit → subscriber p99 | **{result['p99_ms']} ms** {'(met)' if ok else '(NOT met)'} | < 1,000 ms |",
            f"| commit → subscriber max | {result['max_ms']} ms | |",
            f"| process 1 RSS: idle / 200 subscriptions open / at the end | {result['rss_mib_idle']} / {result['rss_mib_open']} / {result['rss_mib_end']} MiB | bounded |",
            f"| a subscriber that never reads | closed {result['never_reading_close_code']} after {result['never_reading_messages']} messages | 4408 |",
        ]
    )


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    database = ThrowawayPostgres(server_url(), "live")
    await database.create()
    try:
        await database.serve_as_app_role()
        result = await measure(
            database.url,
            subscribers=args.subscribers,
            rate=args.rate,
            seconds=args.seconds,
            accounts=args.accounts,
        )
    finally:
        with contextlib.suppress(Exception):
            await database.drop()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument(
        "--accounts",
        type=int,
        default=1,
        help="share the subscribers and the changes out among this many accounts",
    )
    result = asyncio.run(_main(parser.parse_args()))
    print(json.dumps(result))
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
