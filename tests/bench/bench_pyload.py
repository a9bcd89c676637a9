"""A small load generator for where wrk cannot be had: the same work as bench_load.lua
(the same configuration file, the same checks, the same line of JSON), in a process of
its own, with keep-alive HTTP/1.1 connections on uvloop.

    python -m tests.bench.bench_pyload --url http://127.0.0.1:8000 --connections 16 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from urllib.parse import urlsplit

import uvloop


class Counts:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.ok = self.bad_status = self.bad_body = self.socket_errors = 0
        self.sample = ""


async def _connection(
    host: str,
    port: int,
    requests: list[bytes],
    start: int,
    expected: bytes,
    until: float,
    counts: Counts,
) -> None:
    index = start
    while time.monotonic() < until:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            counts.socket_errors += 1
            await asyncio.sleep(0.01)
            continue
        try:
            while time.monotonic() < until:
                index = (index + 1) % len(requests)
                sent = time.perf_counter()
                writer.write(requests[index])
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                counts.latencies.append(time.perf_counter() - sent)
                status = int(status_line.split()[1])
                if status == 200 and expected in body:
                    counts.ok += 1
                    continue
                if status != 200:
                    counts.bad_status += 1
                else:
                    counts.bad_body += 1
                counts.sample = counts.sample or f"{status} {body[:400].decode(errors='replace')}"
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            counts.socket_errors += 1
        finally:
            writer.close()


async def _run(url: str, connections: int, duration: float) -> None:
    with open(os.environ["NEVERLOG_BENCH_WRK"], encoding="utf-8") as file:
        path, expected, body, *tokens = file.read().splitlines()
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    # As bench_load.lua: a token "-" sends no Authorization header; a body holding
    # NEVERLOG_N gets a number of its own in each request (50,000 of them, in turn).
    tokens = [token for token in tokens if token]
    if "NEVERLOG_N" in body:
        run = int(time.time())
        bodies = [body.replace("NEVERLOG_N", f"r{run}n{n}") for n in range(50_000)]
        tokens = [tokens[n % len(tokens)] for n in range(len(bodies))]
    else:
        bodies = [body] * len(tokens)
    requests = [
        (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            + ("" if token == "-" else f"Authorization: Bearer {token}\r\n")
            + f"Content-Length: {len(payload.encode())}\r\n\r\n"
        ).encode()
        + payload.encode()
        for token, payload in zip(tokens, bodies, strict=True)
    ]
    counts = Counts()
    started = time.monotonic()
    until = started + duration
    await asyncio.gather(
        *(
            _connection(host, port, requests, n * 7, expected.encode(), until, counts)
            for n in range(connections)
        )
    )
    elapsed = time.monotonic() - started
    ordered = sorted(counts.latencies) or [0.0]

    def percentile(p: float) -> int:
        return int(ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] * 1e6)

    line = {
        "requests": len(counts.latencies),
        "duration_us": int(elapsed * 1e6),
        "p50_us": percentile(50),
        "p90_us": percentile(90),
        "p99_us": percentile(99),
        "max_us": int(ordered[-1] * 1e6),
        "ok": counts.ok,
        "bad_status": counts.bad_status,
        "bad_body": counts.bad_body,
        "socket_errors": counts.socket_errors,
    }
    print(f"NEVERLOG_BENCH {json.dumps(line)}")
    if counts.sample:
        print(f"NEVERLOG_BENCH_SAMPLE {counts.sample}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10)
    args = parser.parse_args()
    uvloop.run(_run(args.url, args.connections, args.duration))


if __name__ == "__main__":
    main()
