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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.bench.bench_data import (
    CAPTURE,
    DECISION_FIELDS,
    EVALUATE,
    INBOUND,
    RECIPIENT_FIELDS,
    RECIPIENTS,
    capture_input,
    check_capture,
    check_decision,
    check_inbound,
    email_input,
    inbound_input,
    recipient_orders,
)
from tests.live_server import free_port
from tests.live_server import serving as serving_process

REPO = Path(__file__).resolve().parents[2]
LUA = Path(__file__).with_name("bench_load.lua")
UNTHROTTLED = "1000000000"


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of server and the request it is loaded with.

    ``module`` is the server (``api.cli serve``, or a bench module of its own); ``expect``
    checks the first answer in full and returns the text that every answer must hold (by
    default the whole of the first answer's data); ``tokens``: whether the requests carry
    the accounts' tokens (else none at all); ``items``: what one request decides (emails),
    for the figures per email."""

    name: str
    module: str
    path: str
    body: bytes
    expect: Callable[[dict[str, Any]], str]
    tokens: bool = True
    items: int = 1
    # At most this many requests at once (a batch is a hundred emails: a few at once load
    # the server fully, and 16 would not answer within a slice on a small machine).
    connections: int | None = None


def _decision_answer(answer: dict[str, Any]) -> str:
    problems = check_decision(answer["data"]["evaluateEmailLogging"])
    if problems:
        raise RuntimeError(f"wrong decision: {problems}")
    return '{"data":' + orjson.dumps(answer["data"]).decode()


def _checked_by(check: Callable[[dict[str, Any]], list[str]]) -> Callable[[dict[str, Any]], str]:
    """An ``expect`` that checks the decision with ``check`` (bench_data)."""

    def expect(answer: dict[str, Any]) -> str:
        if answer.get("errors") or "data" not in answer:
            raise RuntimeError(f"errors {answer.get('errors')}")
        problems = check(answer["data"]["evaluateEmailLogging"])
        if problems:
            raise RuntimeError(f"wrong decision: {problems}")
        return '{"data":' + orjson.dumps(answer["data"]).decode()

    return expect


def _batch_answer(answer: dict[str, Any]) -> str:
    decisions = answer["data"]["evaluateEmailLoggingBatch"]
    if len(decisions) != BATCH_EMAILS:
        raise RuntimeError(f"batch: {len(decisions)} decisions for {BATCH_EMAILS} emails")
    for decision, order in zip(decisions, BATCH_ORDERS, strict=True):
        problems = check_decision(decision, order)
        if problems:
            raise RuntimeError(f"wrong decision in a batch: {problems}")
    return '{"data":' + orjson.dumps(answer["data"]).decode()


def _fresh_answer(answer: dict[str, Any]) -> str:
    decision = answer["data"]["evaluateEmailLogging"]
    outcomes = {r["address"]: r["outcome"] for r in decision["recipients"]}
    kept = {e.address: e.outcome for e in RECIPIENTS[:FRESH_KEPT]}
    fresh = {a: o for a, o in outcomes.items() if a not in kept}
    if {a: outcomes.get(a) for a in kept} != kept or set(fresh.values()) != {"LOGGED"}:
        raise RuntimeError(f"fresh: wrong decision {outcomes}")
    if len(fresh) != FRESH_NEW:
        raise RuntimeError(f"fresh: {len(fresh)} new recipients, not {FRESH_NEW}")
    return f'"loggedCount":{decision["loggedCount"]},"neverLogCount":{decision["neverLogCount"]}'


def _whole_data(answer: dict[str, Any]) -> str:
    if answer.get("errors") or "data" not in answer:
        raise RuntimeError(f"errors {answer.get('errors')}")
    return '{"data":' + orjson.dumps(answer["data"]).decode()


BATCH_EMAILS = 100
# A batch's emails: the single calls' email, its recipients in a different order in each
# (no two alike: a batch of copies of one email would measure less than a batch's work).
BATCH_ORDERS = recipient_orders(BATCH_EMAILS)
BATCH = (
    "query Batch($emails: [EmailInput!]!) { evaluateEmailLoggingBatch(emails: $emails) { "
    f"{DECISION_FIELDS} recipients {{ {RECIPIENT_FIELDS} }} }} }}"
)
# The never-seen variant: the first five recipients of the benchmark's email, and five that
# no request has named before (the load generator numbers them per request: FRESH_MARK).
FRESH_MARK = "NEVERLOG_N"
FRESH_KEPT = 5
FRESH_NEW = 5


def fresh_email() -> dict[str, Any]:
    kept = [r for r in RECIPIENTS[:FRESH_KEPT]]
    return {
        "channel": "SALES_EXTENSION",
        "to": [r.given for r in kept if r.field == "TO"]
        + [f"buyer{k}.{FRESH_MARK}@fresh-customer{k}.com" for k in range(FRESH_NEW)],
        "cc": [r.given for r in kept if r.field == "CC"],
        "existingContacts": ["jane.doe@northwind-traders.com"],
    }


def _graphql(query: str, variables: dict[str, Any] | None = None) -> bytes:
    return orjson.dumps({"query": query, "variables": variables or {}})


GRAPHQL = "api.cli"
KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "graphql",
            GRAPHQL,
            "/graphql",
            _graphql(EVALUATE, {"email": email_input()}),
            _decision_answer,
        ),
        Kind(
            "baseline",
            "tests.bench.bench_baseline",
            "/evaluate",
            orjson.dumps(email_input()),
            _decision_answer,
        ),
        Kind(
            "lean",
            "tests.bench.bench_lean",
            "/evaluate",
            orjson.dumps(email_input()),
            _decision_answer,
        ),
        Kind(
            "batch",
            GRAPHQL,
            "/graphql",
            _graphql(BATCH, {"emails": [email_input(order) for order in BATCH_ORDERS]}),
            _batch_answer,
            items=BATCH_EMAILS,
            connections=4,
        ),
        # An inbound newsletter with its headers: half its participants decided by the
        # automated rule; and an email that capture-limiting entries match (bench_data).
        Kind(
            "inbound",
            GRAPHQL,
            "/graphql",
            _graphql(INBOUND, {"email": inbound_input()}),
            _checked_by(check_inbound),
        ),
        Kind(
            "capture",
            GRAPHQL,
            "/graphql",
            _graphql(CAPTURE, {"email": capture_input()}),
            _checked_by(check_capture),
        ),
        Kind(
            "fresh",
            GRAPHQL,
            "/graphql",
            _graphql(EVALUATE, {"email": fresh_email()}),
            _fresh_answer,
        ),
        Kind("viewer", GRAPHQL, "/graphql", _graphql("{ viewer { user { id } } }"), _whole_data),
        Kind(
            "typename", GRAPHQL, "/graphql", _graphql("{ __typename }"), _whole_data, tokens=False
        ),
        Kind(
            "bare",
            "tests.bench.bench_lean",
            "/bare",
            _graphql("{ __typename }"),
            _whole_data,
            tokens=False,
        ),
    )
}


@dataclass(frozen=True, slots=True)
class Target:
    """A server under load: where it is, and how to ask it."""

    kind: Kind
    url: str
    pid: int

    @property
    def name(self) -> str:
        return self.kind.name

    @property
    def path(self) -> str:
        return self.kind.path

    @property
    def body(self) -> bytes:
        return self.kind.body


@dataclass(frozen=True, slots=True)
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    generator: str
    server_cpu_s: float
    server_rss_mb: float = 0.0

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
            "server_rss_mb": round(self.server_rss_mb, 1),
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
    """The server of ``kind`` (KINDS), until the block ends."""
    spec = KINDS[kind]
    port = free_port()
    args = ["--host", "127.0.0.1", "--port", str(port)]
    command = [
        sys.executable,
        "-m",
        spec.module,
        *(["serve"] if spec.module == GRAPHQL else []),
        *args,
    ]
    url = f"http://127.0.0.1:{port}"
    log_path = log_dir / f"{kind}-{port}.log"
    env = server_env(database_url)
    with serving_process(command, env=env, url=url, log_path=log_path, start_timeout=60) as server:
        yield Target(spec, url, server.pid)


def verified_answer(target: Target, tokens: Sequence[str]) -> str:
    """Ask once with every token, 16 at a time (which also warms up the server, its pool
    and each token's lastUsedAt), and check each answer in full; the expected text that the
    load generator then finds in every answer: the data of the first."""
    return asyncio.run(_verified_answer(target, tokens))


async def _verified_answer(target: Target, tokens: Sequence[str]) -> str:
    answers: list[str] = []
    headers = {"Content-Type": "application/json"}
    body = target.body.replace(FRESH_MARK.encode(), b"0")
    async with httpx.AsyncClient(base_url=target.url, timeout=60, headers=headers) as client:
        limit = asyncio.Semaphore(16)

        async def ask(token: str) -> str:
            signed = {"Authorization": f"Bearer {token}"} if target.kind.tokens else {}
            async with limit:
                response = await client.post(target.path, content=body, headers=signed)
            if response.status_code != 200:
                raise RuntimeError(
                    f"{target.name}: status {response.status_code}: {response.text[:500]}"
                )
            answer = response.json()
            if answer.get("errors"):
                raise RuntimeError(f"{target.name}: errors {answer['errors']}")
            try:
                return target.kind.expect(answer)
            except (KeyError, TypeError, RuntimeError) as error:
                raise RuntimeError(f"{target.name}: {error}") from error

        answers = await asyncio.gather(*(ask(token) for token in tokens))
    if len(set(answers)) != 1:
        raise RuntimeError(f"{target.name}: answers differ between accounts")
    return answers[0]


def generator() -> str:
    return "wrk" if shutil.which("wrk") else "bench_pyload"


def load(
    target: Target,
    tokens: Sequence[str],
    expected: str,
    *,
    seconds: float,
    connections: int,
    warmup: bool = False,
) -> Load:
    """Load the target at a fixed concurrency for a fixed time; every answer must be 200
    with the expected decision, or the run fails. A warm-up may end before any answer (a
    batch takes long)."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as config:
        sent = tokens if target.kind.tokens else ["-"]
        config.write("\n".join([target.path, expected, target.body.decode(), *sent]) + "\n")
    env = {**os.environ, "NEVERLOG_BENCH_WRK": config.name, "PYTHONPATH": str(REPO)}
    connections = min(connections, target.kind.connections or connections)
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
    rss = _rss_mb(target.pid)
    line = next((x for x in done.stdout.splitlines() if x.startswith("NEVERLOG_BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(
            f"{command[0]} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    result = json.loads(line.removeprefix("NEVERLOG_BENCH "))
    errors = result["bad_status"] + result["bad_body"] + result["socket_errors"]
    if errors or result["ok"] != result["requests"] or not (result["requests"] or warmup):
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
        server_rss_mb=rss,
    )


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    """The resident memory of a process now, in MiB (Linux; 0 elsewhere)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0
