"""``make bench``, section "hostile requests": what requests shaped by a hostile client cost
the server, per point they are charged.

A fresh ``neverlog serve`` on SQLite (or on the PostgreSQL database named, already
migrated), its buckets raised so that nothing is throttled (every request is charged, none
refused for the rate). For each shape, signed in and anonymous:
the server process's CPU seconds (from /proc) per point charged (``extensions.cost
.requestedQueryCost`` of each answer; an answer without it was charged nothing), as a ratio
to an ordinary ``evaluateEmailLogging``'s, and the worst ``/healthz`` latency while the shape
runs (asked every 0.1 s by another thread). Also the server's RSS before and after 500
distinct 500 KB anonymous queries, and how many half-sent connections are still open after
40 s.

Among the shapes, internationalized addresses as long as the input allows: 100 emails of 30
recipients each like ``u1@`` + 150 random letters among ä, ö, ß + ``.de`` in one
``evaluateEmailLoggingBatch``, one email of 500 such recipients, and 30 aliases over one
huge address; new letters in every request (a process's caches never serve them).

    python -m tests.bench.bench_hostile [--bomb-levels 24] [--idle-wait 40] [--json FILE]
        [--database-url postgresql+asyncpg://...] [--only "batch,500"]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import select
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.bench.bench_data import EVALUATE, email_input
from tests.live_server import REPO, free_port, serving

SKIPPED = "(not run: --only)"
TARGETS = {"cpu_per_point_ratio": 5.0, "healthz_s": 0.5, "rss_growth_mb": 150.0, "idle_open": 0}
UNTHROTTLED = "1000000000"
DECISION = (
    "channel neverLogApplies emailSent loggedCount neverLogCount sender { id email name } "
    "recipients { address field outcome loggedToContact contactCreated timelineTracking "
    "associatedRecordsLogged activityFeedTracking matchedPattern matchedScope explanation }"
)
SIMULATIONS_PAGE = (
    "{ emailLoggingSimulations(first: 100) { totalCount pageInfo { hasNextPage endCursor } "
    "edges { cursor node { id name createdAt changedSinceRun createdBy { id email } "
    "email { channel to cc bcc logToCrm createNewContacts excludedRecipients existingContacts "
    "sender { id email } inReplyTo { to cc bcc } } recorded { ...d } current { ...d } } } } } "
    f"fragment d on EmailLoggingDecision {{ {DECISION} }}"
)
RUN_SIMULATION = """mutation($input: RunEmailLoggingSimulationInput!) {
    runEmailLoggingSimulation(input: $input) { simulation { id } userErrors { code } } }"""


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class HealthWatch:
    """Asks /healthz every 0.1 s on a fresh connection, from a process of its own (so that
    the bench's own client does not delay it); the worst latency seen (a timeout of 5 s
    counts as 5 s)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.worst = 0.0
        context = multiprocessing.get_context("fork")
        self._worst = context.Value("d", 0.0)
        self._stop = context.Event()
        self._process = context.Process(
            target=_watch, args=(url, self._worst, self._stop), daemon=True
        )

    def __enter__(self) -> HealthWatch:
        self._process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._process.join()
        self.worst = float(self._worst.value)


def _watch(url: str, worst: Any, stop: Any) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        try:
            ok = httpx.get(f"{url}/healthz", timeout=5).status_code == 200
        except httpx.HTTPError:
            ok = False
        took = time.perf_counter() - started
        worst.value = max(worst.value, took if ok else max(took, 5.0))
        stop.wait(0.1)


@dataclass
class Shape:
    name: str
    signed_in: bool
    requests: int = 0
    points: int = 0
    cpu_s: float = 0.0
    healthz_s: float = 0.0
    wall_s: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    notes: str = ""

    def per_point(self) -> float:
        return self.cpu_s / max(self.points, 1)

    def as_dict(self, baseline: float) -> dict[str, Any]:
        return {
            "shape": self.name,
            "who": "signed in" if self.signed_in else "anonymous",
            "requests": self.requests,
            "points": self.points,
            "cpu_s": round(self.cpu_s, 3),
            "cpu_ms_per_point": round(self.per_point() * 1000, 4),
            "ratio": round(self.per_point() / baseline, 2) if baseline else None,
            "healthz_worst_s": round(self.healthz_s, 3),
            "wall_s": round(self.wall_s, 2),
            "statuses": self.statuses,
            "notes": self.notes,
        }


def charged(response: httpx.Response) -> int:
    try:
        body = response.json()
    except ValueError:
        return 0
    cost = (body.get("extensions") or {}).get("cost") or {}
    return int(cost.get("actualQueryCost") or cost.get("requestedQueryCost") or 0) + int(
        cost.get("parsingCost") or 0
    )


class Bench:
    def __init__(self, url: str, pid: int, token: str, wanted: list[str] | None = None) -> None:
        self.url = url
        self.pid = pid
        self.token = token
        self.client = httpx.Client(base_url=url, timeout=120)
        # Only the shapes whose name holds one of these (all where none is given); the
        # ordinary request, every shape's measure, always.
        self.wanted = wanted or []

    def wants(self, name: str) -> bool:
        return not self.wanted or any(w in name for w in self.wanted)

    def post(self, body: bytes, *, signed_in: bool) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if signed_in:
            headers["Authorization"] = f"Bearer {self.token}"
        return self.client.post("/graphql", content=body, headers=headers)

    def shape(
        self, name: str, bodies: Callable[[int], bytes], count: int, *, signed_in: bool
    ) -> Shape:
        result = Shape(name, signed_in)
        if not name.startswith("ordinary evaluateEmailLogging") and not self.wants(name):
            result.notes = SKIPPED
            return result
        with HealthWatch(self.url) as watch:
            started, cpu = time.perf_counter(), cpu_seconds(self.pid)
            for n in range(count):
                try:
                    response = self.post(bodies(n), signed_in=signed_in)
                except httpx.HTTPError as error:
                    key = type(error).__name__
                    result.statuses[key] = result.statuses.get(key, 0) + 1
                    continue
                key = str(response.status_code)
                result.statuses[key] = result.statuses.get(key, 0) + 1
                result.points += charged(response)
                result.requests += 1
            result.cpu_s = cpu_seconds(self.pid) - cpu
            result.wall_s = time.perf_counter() - started
        result.healthz_s = watch.worst
        return result


def _json(query: str, variables: dict[str, Any] | None = None) -> bytes:
    """The request body: UTF-8 as clients send it (not \\u escapes, which would make a
    non-ASCII letter 6 bytes)."""
    body = {"query": query, "variables": variables or {}}
    return json.dumps(body, ensure_ascii=False).encode()


def fragment_bomb(levels: int) -> str:
    """Each fragment spreads the next twice: 2**levels fields once expanded."""
    fragments = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)] + [
        f"fragment F{levels} on Query {{ __typename }}"
    ]
    return "query { ...F0 } " + " ".join(fragments)


def aliased_evaluate(aliases: int) -> str:
    fields = " ".join(
        f"a{i}: evaluateEmailLogging(email: $e) {{ loggedCount recipients {{ address outcome }} }}"
        for i in range(aliases)
    )
    return f"query($e: EmailInput!) {{ {fields} }}"


# As a hostile client asks: the least that makes the server decide every recipient (an
# answer's objects are charged too, so it asks for none).
BATCH = (
    "query($emails: [EmailInput!]!) { evaluateEmailLoggingBatch(emails: $emails) { loggedCount } }"
)
ONE_EMAIL = "query($email: EmailInput!) { evaluateEmailLogging(email: $email) { loggedCount } }"


def umlaut_address(rng: random.Random) -> str:
    """``u1@`` + 150 random letters among ä, ö, ß + ``.de``: a label far past 63 octets in
    its ASCII form, 300 bytes of UTF-8."""
    return "u1@" + "".join(rng.choice("äöß") for _ in range(150)) + ".de"


def idn_address(rng: random.Random) -> str:
    """A valid internationalized address whose domain IDNA must encode in full: three
    labels of 19 random letters among ä, ö, ß (each fits 63 octets in Punycode)."""
    labels = ("".join(rng.choice("äöß") for _ in range(19)) for _ in range(3))
    return f"u{rng.randrange(10**6)}@{'.'.join(labels)}.de"


def umlaut_batch(n: int, address: Callable[[random.Random], str] = umlaut_address) -> bytes:
    rng = random.Random(n)
    emails = [
        {"channel": "SALES_EXTENSION", "to": [address(rng) for _ in range(30)]} for _ in range(100)
    ]
    return _json(BATCH, {"emails": emails})


def umlaut_email(n: int, address: Callable[[random.Random], str] = umlaut_address) -> bytes:
    rng = random.Random(1_000_000 + n)
    email = {"channel": "SALES_EXTENSION", "to": [address(rng) for _ in range(500)]}
    return _json(ONE_EMAIL, {"email": email})


def aliased_import(aliases: int) -> str:
    fields = " ".join(
        f"a{i}: importNeverLogList(input: {{scope: PERSONAL, csv: $csv, mode: MERGE}}) "
        "{ addedCount userErrors { code } }"
        for i in range(aliases)
    )
    return f"mutation($csv: String!) {{ {fields} }}"


def half_sent(url: str, count: int, wait: float) -> tuple[int, float]:
    """Open ``count`` connections that send half a request line and stop; after ``wait``
    seconds, how many the server still holds open, and the worst /healthz meanwhile."""
    host, port = url.removeprefix("http://").split(":")
    sockets: list[socket.socket] = []
    with HealthWatch(url) as watch:
        for _ in range(count):
            try:
                s = socket.create_connection((host, int(port)), timeout=5)
                s.sendall(b"GET /healthz HT")
                sockets.append(s)
            except OSError:
                break
        time.sleep(wait)
    still_open = 0
    for s in sockets:
        readable, _, _ = select.select([s], [], [], 0)
        if not readable:
            still_open += 1
        else:
            try:
                if s.recv(1024):
                    still_open += 0  # the server answered (400 or 408) and closed
            except OSError:
                pass
        s.close()
    return still_open, watch.worst


@contextlib.contextmanager
def server(
    tmp: Path, extra_env: dict[str, str], database_url: str | None = None
) -> Iterator[tuple[str, int, str]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEVERLOG_")}
    env |= {
        "NEVERLOG_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{tmp / 'hostile.db'}",
        "NEVERLOG_LOG_LEVEL": "WARNING",
        "NEVERLOG_RATE_LIMIT_CAPACITY": UNTHROTTLED,
        "NEVERLOG_RATE_LIMIT_RESTORE_RATE": UNTHROTTLED,
        **extra_env,
    }
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port"]
    with serving(
        [*command, str(port)], env=env, url=url, log_path=tmp / "hostile-server.log"
    ) as process:
        created = subprocess.run(
            [*command[:3], "create-account", "Hostile", "--admin-email", "admin@hostile.com"],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        yield url, process.pid, json.loads(created.stdout)["token"]


def run(args: argparse.Namespace, database_url: str | None = None) -> dict[str, Any]:
    shapes: list[Shape] = []
    report: dict[str, Any] = {"database": "postgresql" if database_url else "sqlite"}
    wanted = [w.strip() for w in (args.only or "").split(",") if w.strip()]
    with (
        tempfile.TemporaryDirectory(prefix="neverlog-hostile-") as tmp,
        server(Path(tmp), {}, database_url) as (url, pid, token),
    ):
        bench = Bench(url, pid, token, wanted)
        ordinary = _json(EVALUATE, {"email": email_input()})
        for _ in range(20):  # warm up
            bench.post(ordinary, signed_in=True)
        base = bench.shape("ordinary evaluateEmailLogging", lambda n: ordinary, 300, signed_in=True)
        baseline = base.per_point()
        shapes.append(base)

        bomb = fragment_bomb(args.bomb_levels)
        huge = "x" * 300_000 + "@example.com"
        evaluate = _json(aliased_evaluate(30), {"e": {"channel": "SALES_EXTENSION", "to": [huge]}})
        csv = "".join(f"u{n:05d}@x{n % 10}.com\n" for n in range(40_000))
        imports = _json(aliased_import(30), {"csv": csv})
        padding = "#" + "x" * 500_000 + "\n"
        under = "#" + "x" * 90_000 + "\n"

        def comment(n: int) -> bytes:
            return _json(f"{{ __typename }} # {n}\n{padding}")

        def shorter(n: int) -> bytes:
            return _json(f"{{ __typename }} # {n}\n{under}")

        for signed_in in (True, False):
            shapes.append(
                bench.shape(
                    f"fragment bomb ({args.bomb_levels} levels), a new text each time",
                    lambda n, s=signed_in: _json(f"{bomb} # {s} {n}"),
                    30,
                    signed_in=signed_in,
                )
            )
            shapes.append(
                bench.shape(
                    "30 aliased evaluate, one 300,000-character address",
                    lambda n: evaluate,
                    args.repeat,
                    signed_in=signed_in,
                )
            )
            shapes.append(
                bench.shape(
                    "batch of 100 emails × 30 recipients of 150 ä/ö/ß letters",
                    lambda n, s=signed_in: umlaut_batch(n + (0 if s else 10_000)),
                    args.repeat,
                    signed_in=signed_in,
                )
            )
            shapes.append(
                bench.shape(
                    "one email of 500 recipients of 150 ä/ö/ß letters",
                    lambda n, s=signed_in: umlaut_email(n + (10_000 if s else 0)),
                    args.repeat,
                    signed_in=signed_in,
                )
            )
            shapes.append(
                bench.shape(
                    "batch of 100 emails × 30 valid IDN recipients (3 labels of 19 ä/ö/ß)",
                    lambda n, s=signed_in: umlaut_batch(n + (20_000 if s else 30_000), idn_address),
                    args.repeat,
                    signed_in=signed_in,
                )
            )
            shapes.append(
                bench.shape(
                    "one email of 500 valid IDN recipients (3 labels of 19 ä/ö/ß)",
                    lambda n, s=signed_in: umlaut_email(n + (40_000 if s else 50_000), idn_address),
                    args.repeat,
                    signed_in=signed_in,
                )
            )
            shapes.append(
                bench.shape(
                    "30 aliased imports of a 40,000-line CSV",
                    lambda n: imports,
                    args.repeat,
                    signed_in=signed_in,
                )
            )
            shapes.append(
                bench.shape(
                    "ordinary evaluateEmailLogging, a new text each time",
                    lambda n, s=signed_in: _json(f"{EVALUATE} # {s} {n}", {"email": email_input()}),
                    200,
                    signed_in=signed_in,
                )
            )
        rss_before = rss_mb(pid)
        big = bench.shape("500 distinct 500 KB queries", comment, 500, signed_in=False)
        rss_after = rss_mb(pid)
        shapes.append(big)
        shapes.append(bench.shape("500 distinct 90 KB queries", shorter, 500, signed_in=False))
        rss_after_90 = rss_mb(pid)
        shapes.append(
            bench.shape(
                "500 distinct 500 KB queries",
                lambda n: comment(1000 + n),
                100,
                signed_in=True,
            )
        )
        report["rss_mb"] = {
            "before": round(rss_before, 1),
            "after": round(rss_after, 1),
            "after_90kb": round(rss_after_90, 1),
        }

        # Simulations, each as large as the input allows.
        simulations = args.simulations if bench.wants("simulation") else 0
        long_local = "r" * 60
        recipients = [f"{long_local}{n:03d}@{'d' * 40}.example.com" for n in range(480)]
        seed = _json(
            RUN_SIMULATION,
            {
                "input": {
                    "name": "big",
                    "email": {
                        "channel": "SALES_EXTENSION",
                        "to": recipients,
                        "excludedRecipients": recipients[:480],
                        "existingContacts": recipients[:480],
                    },
                }
            },
        )
        ids = []
        for _ in range(simulations):
            ran = bench.post(seed, signed_in=True).json()["data"]["runEmailLoggingSimulation"]
            ids.append(ran["simulation"]["id"])
        page = _json(SIMULATIONS_PAGE)
        nodes = _json(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on EmailLoggingSimulation { "
            "changedSinceRun email { to excludedRecipients existingContacts } "
            "recorded { ...d } current { ...d } } } } "
            f"fragment d on EmailLoggingDecision {{ {DECISION} }}",
            {"ids": ids[:100]},
        )
        rss_page = rss_mb(pid)
        for signed_in in (True, False):
            shapes.append(
                bench.shape(
                    f"simulation page (first: 100 of {args.simulations} large)",
                    lambda n: page,
                    args.repeat,
                    signed_in=signed_in,
                )
            )
            shapes.append(
                bench.shape(
                    "nodes of 100 large simulations", lambda n: nodes, 2, signed_in=signed_in
                )
            )
        report["rss_mb"]["simulation_page_growth"] = round(rss_mb(pid) - rss_page, 1)

        still_open, healthz = (
            half_sent(url, args.idle, args.idle_wait) if bench.wants("half-sent") else (0, 0.0)
        )
        idle = Shape(f"{args.idle} half-sent connections", False, healthz_s=healthz)
        idle.notes = (
            f"{still_open} still open after {args.idle_wait:g} s"
            if bench.wants("half-sent")
            else SKIPPED
        )
        shapes.append(idle)
        report["idle_still_open"] = still_open
    report["baseline_cpu_ms_per_point"] = round(baseline * 1000, 4)
    report["load_average_at_end"] = Path("/proc/loadavg").read_text().split()[:3]
    report["shapes"] = [s.as_dict(baseline) for s in shapes if s.notes != SKIPPED]
    report["targets"] = TARGETS
    if database_url is not None or wanted:
        return report  # the server choice is the HTTP layer's: measured once, on SQLite
    # The server choice: the same ordinary request through uvicorn's own httptools protocol
    # (no slow-client guard), CPU per request against the guarded one's.
    with (
        tempfile.TemporaryDirectory(prefix="neverlog-hostile-") as tmp,
        server(Path(tmp), {"NEVERLOG_SLOW_CLIENT_GUARD": "false"}) as (url, pid, token),
    ):
        plain = Bench(url, pid, token)
        ordinary = _json(EVALUATE, {"email": email_input()})
        for _ in range(20):
            plain.post(ordinary, signed_in=True)
        unguarded = plain.shape("ordinary, unguarded", lambda n: ordinary, 300, signed_in=True)
    report["server_choice"] = {
        "guarded_cpu_ms_per_request": round(base.cpu_s * 1000 / base.requests, 3),
        "uvicorn_httptools_cpu_ms_per_request": round(
            unguarded.cpu_s * 1000 / unguarded.requests, 3
        ),
    }
    return report


def table(report: dict[str, Any]) -> str:
    lines = [
        "| shape | who | requests | points charged | CPU ms / point | × ordinary | worst /healthz |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in report["shapes"]:
        ratio = "" if s["requests"] == 0 else f"{s['ratio']}"
        lines.append(
            f"| {s['shape']} | {s['who']} | {s['requests']} | {s['points']} | "
            f"{s['cpu_ms_per_point'] if s['requests'] else ''} | {ratio} | "
            f"{s['healthz_worst_s']} s{' — ' + s['notes'] if s['notes'] else ''} |"
        )
    rss = report.get("rss_mb", {})
    if "after" not in rss:
        return "\n".join(lines)
    lines.append("")
    choice = report.get("server_choice")
    lines.append(
        f"RSS {rss['before']} MB before the 500 × 500 KB queries, {rss['after']} MB after "
        f"(+{round(rss['after'] - rss['before'], 1)} MB), {rss['after_90kb']} MB after 500 "
        f"more of 90 KB (+{round(rss['after_90kb'] - rss['before'], 1)} MB in all); the "
        "simulation pages "
        f"+{rss['simulation_page_growth']} MB; half-sent connections still open: "
        f"{report['idle_still_open']};"
        + (
            f" an ordinary request took {choice['guarded_cpu_ms_per_request']} ms CPU with the "
            f"slow-client guard, {choice['uvicorn_httptools_cpu_ms_per_request']} ms with "
            "uvicorn's plain httptools protocol;"
            if choice
            else ""
        )
        + f" load average at the end {' '.join(report['load_average_at_end'])}."
    )
    return "\n".join(lines)


def measure(database_url: str | None = None) -> dict[str, Any]:
    """The section as ``make bench`` runs it, with its table: on SQLite, or on the
    PostgreSQL database named (migrated)."""
    report = run(_parser().parse_args([]), database_url)
    report["table"] = table(report)
    return report


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bomb-levels", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--simulations", type=int, default=100)
    parser.add_argument("--idle", type=int, default=300)
    parser.add_argument("--idle-wait", type=float, default=40)
    parser.add_argument("--json", help="also write the report here")
    parser.add_argument(
        "--database-url",
        help="a throwaway PostgreSQL database (postgresql+asyncpg://...) in place of SQLite: "
        "migrated here, then served",
    )
    parser.add_argument(
        "--only", help="only the shapes whose name holds one of these, comma separated"
    )
    return parser


async def _migrate(url: str) -> None:
    from persistence.database import Database
    from persistence.migrate import upgrade

    db = Database(url)
    try:
        await upgrade(db)
    finally:
        await db.dispose()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.database_url:
        asyncio.run(_migrate(args.database_url))
    report = run(args, args.database_url)
    print(table(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
