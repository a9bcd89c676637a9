"""``make bench``: how fast a decision is, against a baseline without GraphQL, and whether
it stays flat as accounts and lists grow.

1. The decision module alone, in this process (bench_decide).
2. For PostgreSQL (throwaway databases on the server of NEVERLOG_BENCH_POSTGRES_URL) and
   SQLite: one database with one account, another with 1,000, every list full.
3. For each engine, four kinds of server, each in a process of its own with the same
   uvicorn settings: ``neverlog serve`` and the baseline (bench_baseline), on either
   database. The same load generator (wrk; bench_pyload where wrk is missing) loads them
   in turn, at a fixed concurrency, in rounds of short slices (each kind on 1 account and
   then on 1,000, the next round in the reverse order; a new server process for every
   slice), so that whatever else the machine runs weighs on all four alike. Every answer
   must be 200 with the expected decision. With 1,000 accounts the tokens of all of them are taken in turn.
4. The write path (bench_writes).
5. Webhooks (bench_webhooks): events delivered per second by two processes, against
   sending the same bodies straight to the receiver, and the p99 delay from commit to
   delivery.
6. Webhook fairness (bench_webhooks.measure_fairness): with every endpoint of one account
   hanging, the delay of another account's deliveries after its changes (target: 2 s).

The table is printed and written as JSON to bench-results/ with the machine and versions.

    python -m tests.bench.bench_main [--rounds 4] [--slice 4] [--connections 16] [--accounts 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import asyncpg

from tests.bench import bench_decide, bench_hostile, bench_live, bench_webhooks, bench_writes
from tests.bench.bench_data import PatternBook, SeedAccount, build_account
from tests.bench.bench_http import (
    BATCH_EMAILS,
    REPO,
    Load,
    generator,
    load,
    serving,
    verified_answer,
)
from tests.bench.bench_seed import (
    PostgresLoader,
    SqliteLoader,
    ThrowawayPostgres,
    chunks,
    migrate_sqlite,
    server_url,
)

RESULTS = REPO / "bench-results"
PACKAGES = (
    "strawberry-graphql",
    "graphql-core",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "sqlalchemy",
    "asyncpg",
    "aiosqlite",
    "orjson",
    "email-validator",
)
TARGETS = {
    "graphql_vs_lean": 0.5,
    "graphql_vs_lean_goal": 0.8,
    "graphql_vs_baseline": 0.6,
    "viewer_vs_graphql": 1.0,
    "many_vs_one": 0.95,
    "batch_vs_single": 10.0,
    "inbound_vs_graphql": 0.9,
    "capture_vs_graphql": 0.9,
    "decisions_per_s": 500_000,
    "cold_decisions_per_s": 100_000,
}
# The servers of each engine (tests/bench/bench_http.py KINDS), on the database of one account
# ("one") and on that of many, in the order that their slices take in a round: the slices
# whose ratio is a target side by side (GraphQL on many and on one account, then the batch
# and the lean baseline beside GraphQL on one; each baseline on one and many). "lean" is
# asyncpg itself: PostgreSQL only. { __typename } touches no database but runs on each
# engine's server (what the engine costs before any decision); the bare route is measured
# once, with the first engine.
SLICES = (
    ("graphql", "many"),
    ("graphql", "one"),
    ("inbound", "one"),
    ("capture", "one"),
    ("batch", "one"),
    ("lean", "one"),
    ("lean", "many"),
    ("baseline", "one"),
    ("baseline", "many"),
    ("fresh", "one"),
    ("viewer", "one"),
)
NO_DATABASE_KINDS = ("typename", "bare")
# The kinds that answer the benchmark's email: all must answer it alike.
SAME_ANSWER = ("graphql", "baseline", "lean")
TOUCHED_FOR = 60.0  # seconds: a token's lastUsedAt is written at most once a minute


class Store:
    """One database: what the service connects with, what seeds it, its accounts' tokens."""

    def __init__(self, engine: str, label: str, url: str, seed_target: str) -> None:
        self.engine = engine
        self.label = label
        self.url = url
        self.seed_target = seed_target
        self.seconds = 0.0
        self.tokens: list[str] = []
        self.touched = 0.0


def _machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        memory = f"{int(Path('/proc/meminfo').read_text().split()[1]) / 1024 / 1024:.0f} GiB"
    return {"cpu": model, "cores": os.cpu_count(), "memory": memory, "os": platform.platform()}


def _versions(postgres: str | None) -> dict[str, Any]:
    versions: dict[str, Any] = {
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    for package in PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[package] = importlib.metadata.version(package)
    if postgres:
        versions["postgresql"] = postgres
    if shutil.which("wrk"):
        done = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
        versions["wrk"] = (done.stdout or done.stderr).splitlines()[0].split(" [")[0]
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout
        versions["commit"] = commit + ("+changes" if dirty.strip() else "")
    return versions


def _load_average() -> str:
    """Anything else the machine runs skews req/s (much less the CPU per request)."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


async def _postgres_version(url: str) -> str:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()


async def _seed(
    stores: list[Store], seeds: Iterable[SeedAccount], *, bulk: bool
) -> list[SeedAccount]:
    """Load every seed into every store, a chunk at a time; the seeds, their rows dropped."""
    kept: list[SeedAccount] = []
    loaders: dict[tuple[str, str], Any] = {}
    for store in stores:
        if store.engine == "postgresql":
            loaders[(store.engine, store.label)] = await PostgresLoader(
                store.seed_target, bulk=bulk
            ).__aenter__()
        else:
            loaders[(store.engine, store.label)] = SqliteLoader(store.seed_target).__enter__()
    try:
        for chunk in chunks(seeds):
            for store in stores:
                if store.engine == "postgresql":
                    await loaders[(store.engine, store.label)].add(chunk)
                else:
                    loaders[(store.engine, store.label)].add(chunk)
            for seed in chunk:
                seed.accounts, seed.users, seed.api_tokens, seed.never_log_entries = [], [], [], []
            kept.extend(chunk)
    finally:
        for store in stores:
            loader = loaders[(store.engine, store.label)]
            if store.engine == "postgresql":
                await loader.__aexit__(None, None, None)
            else:
                loader.__exit__(None, None, None)
            store.seconds += loader.seconds
    return kept


def _aggregate(slices: list[Load]) -> dict[str, Any]:
    requests = sum(s.requests for s in slices)
    seconds = sum(s.seconds for s in slices)
    cpu = sum(s.server_cpu_s for s in slices)
    return {
        "rps": round(requests / seconds, 1),
        "p50_ms": round(statistics.median(s.p50_ms for s in slices), 2),
        "p99_ms": round(statistics.median(s.p99_ms for s in slices), 2),
        "requests": requests,
        "seconds": round(seconds, 1),
        "errors": sum(s.errors for s in slices),
        "server_cpu_ms": round(cpu * 1000 / requests, 3) if requests else 0.0,
        "rss_mb": round(max(s.server_rss_mb for s in slices), 1),
        "slices_rps": [round(s.rps, 1) for s in slices],
    }


def _measure_engines(
    stores: dict[str, tuple[Store, Store | None]], args: argparse.Namespace
) -> dict[str, dict[str, Any]]:
    """The servers of every engine, loaded in rounds of slices; each engine's figures and
    ratios.

    Each slice has a server process of its own (started, warmed up, loaded, stopped): two
    processes of the same code differ by several per cent (memory layout, hash seeds, where
    the scheduler puts them), and new processes each round average that out."""
    logs = RESULTS / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    def wanted(engine: str, kind: str) -> bool:
        return (kind != "lean" or engine == "postgresql") and (not args.kinds or kind in args.kinds)

    # The slices whose ratio is a target run side by side (SLICES), each kind on every
    # engine in turn (SQLite's beside PostgreSQL's: their ratio is a target too), and every
    # other round runs in the reverse order: the machine's speed drifts over minutes (tens
    # of per cent here), and a ratio of neighbours, taken before and after in turn, cancels
    # the drift that a ratio of slices minutes apart would measure.
    first = next(iter(stores), None)
    plan: list[tuple[str, str, Store]] = []
    for kind, label in (*SLICES, *((kind, "one") for kind in NO_DATABASE_KINDS)):
        for engine, (one, many) in stores.items():
            store = one if label == "one" else many
            if (
                store is not None
                and wanted(engine, kind)
                and (kind != "bare" or engine == first)  # the bare route: measured once
            ):
                plan.append((engine, kind, store))
    slices: dict[str, dict[str, list[Load]]] = {engine: {} for engine in stores}
    for engine, kind, store in plan:
        slices[engine][f"{kind}_{store.label}"] = []
    answers: dict[str, dict[str, set[str]]] = {engine: {} for engine in stores}
    for round_ in range(args.rounds):
        for engine, kind, store in plan if round_ % 2 == 0 else plan[::-1]:
            age = time.monotonic() - store.touched
            # the verification pass (up to 10 s where SQLite writes), the warm-up, the slice
            busy = 10 + args.warmup + args.slice
            if store.touched and len(store.tokens) > 1 and age + busy > TOUCHED_FOR:
                # A token's lastUsedAt is written at most once a minute: 1,000 tokens all
                # written at once would fall into one slice. Past the minute, the pass below
                # writes them all, and the slices run before the next minute is up.
                time.sleep(max(0.0, 60.5 - age))
                store.touched = 0.0
            with serving(kind, store.url, logs) as target:
                started = time.monotonic()
                expected = verified_answer(target, store.tokens)  # every answer checked in full
                if not store.touched and target.kind.tokens:  # this pass wrote lastUsedAt
                    store.touched = started
                answers[engine].setdefault(kind if kind not in SAME_ANSWER else "email", set()).add(
                    expected
                )
                load(
                    target,
                    store.tokens,
                    expected,
                    seconds=args.warmup,
                    connections=args.connections,
                    warmup=True,
                )
                measured = load(
                    target, store.tokens, expected, seconds=args.slice, connections=args.connections
                )
            slices[engine][f"{kind}_{store.label}"].append(measured)
            print(
                f"  {engine:<10} round {round_ + 1} {kind:<8} {store.label:<4} {measured.rps:7.0f} req/s  "
                f"p50 {measured.p50_ms:6.2f} ms  p99 {measured.p99_ms:6.2f} ms  "
                f"server CPU {measured.as_dict()['server_cpu_ms']:.2f} ms/request  "
                f"RSS {measured.server_rss_mb:.0f} MiB  load {_load_average()}",
                flush=True,
            )
    return {
        engine: _engine_results(engine, slices[engine], answers[engine], many is not None)
        for engine, (_, many) in stores.items()
    }


def _engine_results(
    engine: str, slices: dict[str, list[Load]], answers: dict[str, set[str]], many: bool
) -> dict[str, Any]:
    """One engine's figures: each kind's slices aggregated, and the ratios between kinds."""
    results: dict[str, Any] = {}
    different = [name for name, seen in answers.items() if len(seen) != 1]
    if different:
        raise RuntimeError(f"{engine}: the servers do not all answer alike: {different}")
    for name, measured_slices in slices.items():
        results[name] = _aggregate(measured_slices)
    r = results

    def ratio(a: str, b: str) -> float:
        return _ratio(r[a]["rps"], r[b]["rps"]) if a in r and b in r else 0.0

    r["graphql_vs_baseline"] = ratio("graphql_one", "baseline_one")
    r["graphql_vs_lean"] = ratio("graphql_one", "lean_one")
    r["graphql_vs_lean_rounds"] = [
        _ratio(g.rps, b.rps)
        for g, b in zip(slices.get("graphql_one", []), slices.get("lean_one", []), strict=False)
    ]
    r["viewer_vs_graphql"] = ratio("viewer_one", "graphql_one")
    r["typename_vs_bare"] = ratio("typename_one", "bare_one")
    r["fresh_vs_cached"] = ratio("fresh_one", "graphql_one")
    r["inbound_vs_graphql"] = ratio("inbound_one", "graphql_one")
    r["capture_vs_graphql"] = ratio("capture_one", "graphql_one")
    if "batch_one" in r and "graphql_one" in r:
        r["batch_emails_per_s"] = round(r["batch_one"]["rps"] * BATCH_EMAILS, 1)
        r["batch_vs_single"] = _ratio(r["batch_emails_per_s"], r["graphql_one"]["rps"])
        r["batch_vs_single_rounds"] = [
            _ratio(b.rps * BATCH_EMAILS, g.rps)
            for b, g in zip(slices.get("batch_one", []), slices["graphql_one"], strict=False)
        ]
    if slices.get("graphql_one"):
        r["rss_mb_after"] = max(s.server_rss_mb for s in slices["graphql_one"])
    if many:
        r["graphql_vs_baseline_many"] = ratio("graphql_many", "baseline_many")
        r["graphql_vs_lean_many"] = ratio("graphql_many", "lean_many")
        r["many_vs_one"] = ratio("graphql_many", "graphql_one")
        r["many_vs_one_baseline"] = ratio("baseline_many", "baseline_one")
        r["many_vs_one_rounds"] = [
            _ratio(m.rps, o.rps)
            for m, o in zip(
                slices.get("graphql_many", []), slices.get("graphql_one", []), strict=False
            )
        ]
    return results


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else 0.0


def _table(report: dict[str, Any]) -> str:
    engines: dict[str, Any] = report["engines"]
    names = list(engines)
    many = f"{report['settings']['accounts']:,}"
    heading = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}

    def load_cell(result: dict[str, Any] | None, per: str = "req/s") -> str:
        if not result:
            return "–"
        return (
            f"{result['rps']:,.0f} {per} · p50 {result['p50_ms']:.1f} ms · p99 {result['p99_ms']:.1f} ms"
            f" · {result['server_cpu_ms']:.2f} ms CPU"
        )

    def each(fn: Any) -> list[str]:
        cells = []
        for name in names:
            try:
                cells.append(fn(engines[name]))
            except KeyError:
                cells.append("–")
        return cells

    def figure(key: str, bold: bool = False) -> Any:
        def cell(e: dict[str, Any]) -> str:
            if not e.get(key):
                return "–"
            text = f"{e[key]:.2f}"
            return f"**{text}**" if bold else text

        return cell

    def across(key: str) -> list[str]:
        """SQLite's figure against PostgreSQL's of the same run, in SQLite's column."""
        pg = engines.get("postgresql", {}).get(key)
        lite = engines.get("sqlite", {}).get(key)
        if not pg or not lite or not pg["rps"] or not pg["server_cpu_ms"]:
            return ["–" for _ in names]
        text = (
            f"**{lite['rps'] / pg['rps']:.2f}** ({lite['server_cpu_ms'] / pg['server_cpu_ms']:.2f})"
        )
        return [text if name == "sqlite" else "–" for name in names]

    rows: list[tuple[str, list[str], str]] = [
        (
            "GraphQL `evaluateEmailLogging`, 1 account",
            each(lambda e: load_cell(e["graphql_one"])),
            "",
        ),
        (
            "lean baseline (Starlette + asyncpg, no ORM), 1 account",
            each(lambda e: load_cell(e["lean_one"])),
            "",
        ),
        ("**GraphQL / lean baseline**", each(figure("graphql_vs_lean", True)), "≥ 0.5 (goal 0.8)"),
        (
            "baseline (bare route, the project's functions), 1 account",
            each(lambda e: load_cell(e["baseline_one"])),
            "",
        ),
        ("GraphQL / baseline", each(figure("graphql_vs_baseline")), "≥ 0.6"),
        ("`{ viewer { user { id } } }`", each(lambda e: load_cell(e["viewer_one"])), ""),
        ("viewer / evaluateEmailLogging", each(figure("viewer_vs_graphql")), "≥ 1"),
        ("`{ __typename }` (no token)", each(lambda e: load_cell(e["typename_one"])), ""),
        ("bare HTTP route", each(lambda e: load_cell(e["bare_one"])), ""),
        ("`{ __typename }` / bare HTTP route", each(figure("typename_vs_bare")), "reported"),
        (
            "**SQLite / PostgreSQL**: `evaluateEmailLogging` req/s (CPU ms per request)",
            across("graphql_one"),
            "≥ 1.0 (CPU ≤ 1.0)",
        ),
        (
            "**SQLite / PostgreSQL**: `{ __typename }` req/s (CPU ms)",
            across("typename_one"),
            "≥ 1.0",
        ),
        (
            "never-seen: 5 of 10 recipients new in every request",
            each(lambda e: load_cell(e["fresh_one"])),
            "",
        ),
        ("never-seen / cached", each(figure("fresh_vs_cached")), "reported"),
        (
            "inbound: a newsletter with 9 headers, 5 of 10 participants AUTOMATED",
            each(lambda e: load_cell(e["inbound_one"])),
            "",
        ),
        ("**inbound / evaluateEmailLogging**", each(figure("inbound_vs_graphql", True)), "≥ 0.9"),
        (
            "capture: 5 of 10 recipients kept SUBJECT or METADATA by entries",
            each(lambda e: load_cell(e["capture_one"])),
            "",
        ),
        ("**capture / evaluateEmailLogging**", each(figure("capture_vs_graphql", True)), "≥ 0.9"),
        (
            f"batch: {BATCH_EMAILS} emails of 10 recipients a request",
            each(lambda e: load_cell(e["batch_one"])),
            "",
        ),
        (
            "**batch emails/s / single calls' emails/s**",
            each(
                lambda e: (
                    f"**{e['batch_vs_single']:.1f}** ({e['batch_emails_per_s']:,.0f} emails/s)"
                )
            ),
            "≥ 10",
        ),
        (f"GraphQL, {many} accounts", each(lambda e: load_cell(e["graphql_many"])), ""),
        (f"lean baseline, {many} accounts", each(lambda e: load_cell(e["lean_many"])), ""),
        (f"baseline, {many} accounts", each(lambda e: load_cell(e["baseline_many"])), ""),
        (
            f"GraphQL / lean baseline, {many} accounts",
            each(figure("graphql_vs_lean_many")),
            "≥ 0.5",
        ),
        (
            f"**GraphQL, {many} accounts / 1 account**",
            each(figure("many_vs_one", True)),
            "≥ 0.95",
        ),
        (
            "server RSS after a run (GraphQL, 1 account)",
            each(lambda e: f"{e['rss_mb_after']:.0f} MiB"),
            "",
        ),
        (
            "`addNeverLogEntries`, 500 patterns in one call",
            each(lambda e: f"{e['writes']['add_500_ms']:.0f} ms"),
            "",
        ),
        (
            "SQL statements for 1 / 50 / 500 patterns",
            each(lambda e: " / ".join(str(v) for v in e["writes"]["statements"].values())),
            "constant",
        ),
        (
            f"seeding: 1 account, then {many} (COPY / executemany)",
            each(lambda e: f"{e['seed_seconds']:.0f} s"),
            "",
        ),
    ]
    decide = report["decision_module"]
    lines = [
        "| measure | " + " | ".join(heading.get(n, n) for n in names) + " | target |",
        "|---|" + "---|" * len(names) + "---|",
    ]
    lines += [
        f"| {label} | " + " | ".join(cells) + f" | {target} |" for label, cells, target in rows
    ]
    blanks = [""] * (len(names) - 1)
    lines.append(
        "| **decision module alone** (`policy.decide`), recipient decisions per CPU second | "
        + " | ".join([f"**{decide['warm_decisions_per_s']:,}**", *blanks])
        + " | ≥ 500,000 |"
    )
    lines.append(
        "| decision module alone, addresses never seen before | "
        + " | ".join([f"**{decide['cold_decisions_per_s']:,}**", *blanks])
        + " | ≥ 100,000 |"
    )
    return "\n".join(lines)


async def _prepare_stores(
    args: argparse.Namespace, workdir: Path, cleanup: list[ThrowawayPostgres]
) -> tuple[dict[str, tuple[Store, Store | None]], str | None, dict[str, str]]:
    stores: dict[str, tuple[Store, Store | None]] = {}
    notes: dict[str, str] = {}
    postgres_version = None
    labels = ["one", "many"] if args.accounts > 1 else ["one"]
    if "postgresql" in args.backends:
        made: list[Store] = []
        try:
            for label in labels:
                database = ThrowawayPostgres(server_url(), label)
                cleanup.append(database)
                await database.create()
                as_app = await database.serve_as_app_role()
                notes["postgresql"] = (
                    "served as a role that owns nothing (row-level security binds it)"
                    if as_app
                    else "served as the owner (row-level security does not bind it)"
                )
                owner = database.owner_url.render_as_string(hide_password=False)
                made.append(Store("postgresql", label, database.url, owner))
            postgres_version = await _postgres_version(made[0].seed_target)
            stores["postgresql"] = (made[0], made[1] if len(made) > 1 else None)
        except Exception as error:
            print(
                f"bench: PostgreSQL is not reachable ({type(error).__name__}): SQLite alone",
                flush=True,
            )
    if "sqlite" in args.backends:
        made = []
        for label in labels:
            path = str(workdir / f"bench-{label}.db")
            await migrate_sqlite(path)
            made.append(Store("sqlite", label, f"sqlite+aiosqlite:///{path}", path))
        stores["sqlite"] = (made[0], made[1] if len(made) > 1 else None)
    return stores, postgres_version, notes


async def _seed_all(
    stores: dict[str, tuple[Store, Store | None]], accounts: int
) -> tuple[SeedAccount, dict[str, float]]:
    book = PatternBook()
    every = [s for pair in stores.values() for s in pair if s is not None]
    print(f"bench: seeding one account into {len(every)} databases", flush=True)
    first = (await _seed(every, [build_account(book, 0)], bulk=False))[0]
    for store in every:
        store.tokens = [first.token]
    manys = [pair[1] for pair in stores.values() if pair[1] is not None]
    if manys:
        print(
            f"bench: seeding {accounts - 1:,} more accounts into {len(manys)} databases", flush=True
        )
        others = await _seed(manys, (build_account(book, n) for n in range(1, accounts)), bulk=True)
        for store in manys:
            store.tokens += [seed.token for seed in others]
    seconds = {
        engine: sum(s.seconds for s in pair if s is not None) for engine, pair in stores.items()
    }
    return first, seconds


async def _hostile(
    stores: dict[str, tuple[Store, Store | None]], cleanup: list[ThrowawayPostgres]
) -> dict[str, Any]:
    """bench_hostile on each engine: SQLite in a file of its own, PostgreSQL in a throwaway
    database of its own served as the application's role. Each engine's report has its
    table; ``table`` holds them all."""
    found: dict[str, Any] = {}
    for engine in stores:
        print(f"bench: hostile requests on {engine} (bench_hostile)", flush=True)
        try:
            url = None
            if engine == "postgresql":
                database = ThrowawayPostgres(server_url(), "hostile")
                cleanup.append(database)
                await database.create()
                await database.serve_as_app_role()
                url = database.url
            found[engine] = await asyncio.to_thread(bench_hostile.measure, url)
        except Exception as error:
            print(f"bench: hostile requests on {engine} failed: {error!r}", flush=True)
            found[engine] = {"table": f"(failed: {error!r})"}
    found["table"] = "\n\n".join(f"{engine}:\n{r['table']}" for engine, r in found.items())
    return found


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    print("bench: the decision module alone", flush=True)
    decision_module = bench_decide.measure()
    print(f"  {decision_module}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="neverlog-bench-"))
    cleanup: list[ThrowawayPostgres] = []
    engines: dict[str, Any] = {}
    try:
        stores, postgres_version, notes = await _prepare_stores(args, workdir, cleanup)
        first, seed_seconds = await _seed_all(stores, args.accounts)
        print(
            f"bench: {', '.join(stores)}: GraphQL and the baselines, 1 and {args.accounts:,} "
            "accounts, the engines taking turns",
            flush=True,
        )
        engines = await asyncio.to_thread(_measure_engines, stores, args)
        print("bench: the write path", flush=True)
        for engine, (one, _) in stores.items():
            engines[engine]["writes"] = await bench_writes.measure(one.url, first.account_id)
            engines[engine]["seed_seconds"] = round(seed_seconds[engine], 1)
            engines[engine]["note"] = notes.get(engine, "")
            print(f"  {engine:<10} {engines[engine]['writes']}", flush=True)
        # A section that fails is reported as failed: the figures of the others still print.
        if "webhooks" in args.sections:
            print("bench: webhooks, delivered by two processes", flush=True)
            for engine, (one, _) in stores.items():
                try:
                    engines[engine]["webhooks"] = await bench_webhooks.measure(
                        one.url,
                        owner_url=one.seed_target if one.engine == "postgresql" else None,
                    )
                except Exception as error:
                    print(f"bench: webhooks on {engine} failed: {error!r}", flush=True)
                    continue
                print(f"  {engine:<10} {engines[engine]['webhooks']}", flush=True)
        if "fairness" in args.sections:
            print("bench: webhook fairness, every endpoint of one account hanging", flush=True)
            for engine, (one, _) in stores.items():
                try:
                    engines[engine]["webhook_fairness"] = await bench_webhooks.measure_fairness(
                        one.url,
                        owner_url=one.seed_target if one.engine == "postgresql" else None,
                    )
                except Exception as error:
                    print(f"bench: webhook fairness on {engine} failed: {error!r}", flush=True)
                    engines[engine]["webhook_fairness"] = {"error": f"failed: {error!r}"}
                    continue
                print(f"  {engine:<10} {engines[engine]['webhook_fairness']}", flush=True)
        if "live" in args.sections and "postgresql" in stores:
            print("bench: live list changes, two processes on PostgreSQL (bench_live)", flush=True)
            try:
                database = ThrowawayPostgres(server_url(), "live")
                cleanup.append(database)
                await database.create()
                await database.serve_as_app_role()
                engines["postgresql"]["live"] = await bench_live.measure(database.url)
                print(bench_live.table(engines["postgresql"]["live"]), flush=True)
            except Exception as error:
                print(f"bench: live failed: {error!r}", flush=True)
                engines["postgresql"]["live"] = {"error": f"failed: {error!r}"}
        hostile: dict[str, Any] = {"table": "(not run: --sections)"}
        if "hostile" in args.sections:
            hostile = await _hostile(stores, cleanup)
    finally:
        for database in cleanup:
            with contextlib.suppress(Exception):
                await database.drop()
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "versions": _versions(postgres_version),
        "settings": {
            "rounds": args.rounds,
            "slice_seconds": args.slice,
            "seconds_per_measurement": args.rounds * args.slice,
            "warmup_seconds": args.warmup,
            "connections": args.connections,
            "accounts": args.accounts,
            "load_generator": generator(),
            "server": "one uvicorn process per server (uvloop, httptools), as neverlog serve runs",
        },
        "decision_module": decision_module,
        "engines": engines,
        "hostile": hostile,
        "targets": TARGETS,
        "load_average_at_end": _load_average(),
        "total_seconds": round(time.monotonic() - started),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rounds", type=int, default=4, help="rounds of slices, every other one reversed (4)"
    )
    parser.add_argument("--slice", type=float, default=4, help="seconds of one slice (default 4)")
    parser.add_argument(
        "--warmup", type=float, default=2, help="load before each slice (default 2 s)"
    )
    parser.add_argument(
        "--connections", type=int, default=16, help="concurrent connections (default 16)"
    )
    parser.add_argument(
        "--accounts", type=int, default=1000, help="accounts of the big database (1000)"
    )
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument(
        "--sections",
        default="webhooks,fairness,hostile,live",
        help="the sections after the decisions and the write path (default: "
        "webhooks,fairness,hostile,live; empty for none; live alone: python -m "
        "tests.bench.bench_live)",
    )
    parser.add_argument(
        "--kinds",
        default="",
        help="only these servers, e.g. graphql,lean (default: all; see bench_http.KINDS)",
    )
    parser.add_argument("--label", default="", help="added to the name of the JSON file")
    args = parser.parse_args()
    args.backends = {b.strip() for b in args.backends.split(",")}
    args.kinds = {k.strip() for k in args.kinds.split(",") if k.strip()}
    args.sections = {k.strip() for k in args.sections.split(",") if k.strip()}
    report = asyncio.run(_run(args))
    table = _table(report)
    machine = report["machine"]
    settings = report["settings"]
    print()
    print(
        f"Never Log benchmark: {machine['cpu']}, {machine['cores']} cores, {machine['memory']}; "
        f"{settings['rounds']} × {settings['slice_seconds']:g} s per measurement at "
        f"{settings['connections']} connections ({settings['load_generator']})"
    )
    for name, result in report["engines"].items():
        if result.get("note"):
            print(f"{name}: {result['note']}")
    print(table)
    fairness = {
        name: result["webhook_fairness"]
        for name, result in report["engines"].items()
        if "webhook_fairness" in result
    }
    if fairness:
        print("\nWebhook fairness (tests/bench/bench_webhooks.py, measure_fairness):")
        print(bench_webhooks.fairness_table(fairness))
    print("\nHostile requests (tests/bench/bench_hostile.py):")
    print(report["hostile"]["table"])
    report["table"] = table
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    name = f"bench-{stamp}{'-' + args.label if args.label else ''}.json"
    for path in (RESULTS / name, RESULTS / "latest.json"):
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(
        f"\nbench: written to bench-results/{name} (and bench-results/latest.json) in {report['total_seconds']} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
