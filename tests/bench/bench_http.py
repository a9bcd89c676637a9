"""Serving and loading: ``neverlog serve`` (or the baseline) in a process of its own, and
the load generator (wrk, or bench_pyload where wrk is missing) in another, at a fixed
concurrency for a fixed time."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.bench.bench_data import EVALUATE, check_decision, email_input
from tests.live_server import free_port
from tests.live_server import serving as serving_process

REPO = Path(__file__).resolve().parents[2]
LUA = Path(__file__).with_name("bench_load.lua")
UNTHROTTLED = "1000000000"


@dataclass(frozen=True, slots=True)
class Target:
    """A server under load: where it is, and how to ask it for the decision."""

    name: str
    url: str
    path: str
    body: bytes
    pid: int


@dataclass(frozen=True, slots=True)
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    generator: str
    server_cpu_s: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "requests": self.requests,
            "seconds": round(self.seconds, 2),
            "errors": self.errors,
            "generator": self.generator,
            # CPU time of the server process per request: what a request costs, much less
            # disturbed than req/s by whatever else the machine runs.
            "server_cpu_ms": round(self.server_cpu_s * 1000 / self.requests, 3)
            if self.requests
            else 0.0,
        }


def server_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEVERLOG_")}
    env |= {
        "NEVERLOG_DATABASE_URL": database_url,
        # Raised so that they never throttle: the benchmark measures decisions.
        "NEVERLOG_RATE_LIMIT_CAPACITY": UNTHROTTLED,
        "NEVERLOG_RATE_LIMIT_RESTORE_RATE": UNTHROTTLED,
        "PYTHONPATH": str(REPO),
    }
    return env


@contextlib.contextmanager
def serving(kind: str, database_url: str, log_dir: Path) -> Iterator[Target]:
    """``neverlog serve`` (kind "graphql") or the baseline, until the block ends."""
    port = free_port()
    args = ["--host", "127.0.0.1", "--port", str(port)]
    if kind == "graphql":
        command = [sys.executable, "-m", "api.cli", "serve", *args]
        path, body = (
            "/graphql",
            orjson.dumps({"query": EVALUATE, "variables": {"email": email_input()}}),
        )
    else:
        command = [sys.executable, "-m", "tests.bench.bench_baseline", *args]
        path, body = "/evaluate", orjson.dumps(email_input())
    url = f"http://127.0.0.1:{port}"
    log_path = log_dir / f"{kind}-{port}.log"
    env = server_env(database_url)
    with serving_process(command, env=env, url=url, log_path=log_path, start_timeout=60) as server:
        yield Target(kind, url, path, body, server.pid)


def verified_answer(target: Target, tokens: Sequence[str]) -> str:
    """Ask once with every token, 16 at a time (which also warms up the server, its pool
    and each token's lastUsedAt), and check each answer in full; the expected text that the
    load generator then finds in every answer: the data of the first."""
    return asyncio.run(_verified_answer(target, tokens))


async def _verified_answer(target: Target, tokens: Sequence[str]) -> str:
    answers: list[str] = []
    headers = {"Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=target.url, timeout=30, headers=headers) as client:
        limit = asyncio.Semaphore(16)

        async def ask(token: str) -> str:
            async with limit:
                response = await client.post(
                    target.path, content=target.body, headers={"Authorization": f"Bearer {token}"}
                )
            if response.status_code != 200:
                raise RuntimeError(
                    f"{target.name}: status {response.status_code}: {response.text[:500]}"
                )
            answer = response.json()
            if answer.get("errors"):
                raise RuntimeError(f"{target.name}: errors {answer['errors']}")
            problems = check_decision(answer["data"]["evaluateEmailLogging"])
            if problems:
                raise RuntimeError(f"{target.name}: wrong decision: {problems}")
            return '{"data":' + orjson.dumps(answer["data"]).decode()

        answers = await asyncio.gather(*(ask(token) for token in tokens))
    if len(set(answers)) != 1:
        raise RuntimeError(f"{target.name}: answers differ between accounts")
    return answers[0]


def generator() -> str:
    return "wrk" if shutil.which("wrk") else "bench_pyload"


def load(
    target: Target, tokens: Sequence[str], expected: str, *, seconds: float, connections: int
) -> Load:
    """Load the target at a fixed concurrency for a fixed time; every answer must be 200
    with the expected decision, or the run fails."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as config:
        config.write("\n".join([target.path, expected, target.body.decode(), *tokens]) + "\n")
    env = {**os.environ, "NEVERLOG_BENCH_WRK": config.name, "PYTHONPATH": str(REPO)}
    if generator() == "wrk":
        command = [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            target.url,
        ]
    else:
        command = [
            sys.executable,
            "-m",
            "tests.bench.bench_pyload",
            "--url",
            target.url,
            "--connections",
            str(connections),
            "--duration",
            str(seconds),
        ]
    cpu_before = _cpu_seconds(target.pid)
    try:
        done = subprocess.run(
            command,
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        )
    finally:
        os.unlink(config.name)
    cpu = _cpu_seconds(target.pid) - cpu_before
    line = next((x for x in done.stdout.splitlines() if x.startswith("NEVERLOG_BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(
            f"{command[0]} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    result = json.loads(line.removeprefix("NEVERLOG_BENCH "))
    errors = result["bad_status"] + result["bad_body"] + result["socket_errors"]
    if errors or result["ok"] != result["requests"] or not result["requests"]:
        sample = next(
            (x for x in done.stdout.splitlines() if x.startswith("NEVERLOG_BENCH_SAMPLE")), ""
        )
        raise RuntimeError(
            f"{target.name}: {errors} bad answers of {result['requests']}: {result}\n{sample}"
        )
    return Load(
        requests=result["requests"],
        seconds=result["duration_us"] / 1e6,
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        errors=errors,
        generator=generator(),
        server_cpu_s=cpu,
    )


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
