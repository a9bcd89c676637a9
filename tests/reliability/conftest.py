"""Fixtures for the reliability tests: real ``neverlog serve`` processes on the PostgreSQL
database of ``NEVERLOG_TEST_DATABASE_URL``, and a private throwaway PostgreSQL cluster that a
test may stop and start (the machine's shared cluster is never stopped).

Every process and cluster started here is stopped at teardown, whether the test passed or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from api.settings import Settings
from persistence import accounts
from persistence.database import Database
from schema.ids import to_global_id
from tenancy.users import create_account
from tests.live_server import SERVE, Process, free_port, start_process

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("NEVERLOG_TEST_DATABASE_URL", "")
WANTED = {
    b.strip() for b in os.environ.get("NEVERLOG_TEST_BACKENDS", "sqlite,postgresql").split(",")
}


def skip_without_pg() -> None:
    """Skip, in one line, where PostgreSQL is not configured or not wanted."""
    if "postgresql" not in WANTED:
        pytest.skip("PostgreSQL tests not wanted: NEVERLOG_TEST_BACKENDS leaves it out")
    if not PG_URL:
        pytest.skip("reliability tests need PostgreSQL: set NEVERLOG_TEST_DATABASE_URL to run them")


ADD_ENTRIES = """mutation($input: AddNeverLogEntriesInput!) { addNeverLogEntries(input: $input) {
    added { id pattern }
    alreadyListed
    list { count limit }
    userErrors { field message code } } }"""

REMOVE_ENTRIES = """mutation($input: RemoveNeverLogEntriesInput!) {
    removeNeverLogEntries(input: $input) { removedIds list { count } userErrors { code message } } }"""

LIST_PAGE = """query($scope: NeverLogScope!, $after: String) { neverLogList(scope: $scope) {
    count limit
    entries(first: 100, after: $after) {
        edges { node { id pattern } } pageInfo { hasNextPage endCursor } } } }"""

AUDIT_PAGE = """query($after: String) { auditEvents(first: 100, after: $after) {
    edges { node { id action scope patterns } } pageInfo { hasNextPage endCursor } } }"""


# -- accounts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    token: str
    user_id: str  # GraphQL global id
    account_id: str
    raw_account_id: uuid.UUID
    raw_user_id: uuid.UUID


async def new_account(db: Database, name: str = "Reliability") -> Member:
    """A fresh account and its first super admin (in this process: quicker than the CLI)."""
    new = await create_account(
        db, name=name, admin_email=f"admin-{uuid.uuid4().hex[:10]}@acme-corp.com", admin_name=None
    )
    return Member(
        token=new.token.token,
        user_id=to_global_id("User", new.admin.id),
        account_id=to_global_id("Account", new.account.id),
        raw_account_id=new.account.id,
        raw_user_id=new.admin.id,
    )


class Holder:
    """A transaction of this test that holds list owners' rows locked."""

    def __init__(self, db: Database, pid: int) -> None:
        self.db = db
        self.pid = pid

    async def wait_for_waiters(
        self, requests: list[asyncio.Task[Any]], timeout: float = 20
    ) -> None:
        """Wait until the sessions of these requests (to servers) wait on a lock held here."""
        n = len(requests)
        deadline = time.monotonic() + timeout
        async with self.db.engine.connect() as connection:
            while time.monotonic() < deadline:
                done = [r for r in requests if r.done()]
                if done:
                    raise AssertionError(f"a request ended before it came to wait: {done[0]}")
                # Waiting on a lock held here, or in the queue behind one who does.
                waiting = await connection.scalar(
                    sa.text(
                        "with recursive blocked(pid) as ("
                        " select pid from pg_stat_activity"
                        " where cast(:pid as integer) = any(pg_blocking_pids(pid))"
                        " union select a.pid from pg_stat_activity a"
                        " join blocked b on b.pid = any(pg_blocking_pids(a.pid))"
                        ") select count(*) from blocked"
                    ),
                    {"pid": self.pid},
                )
                # pg_stat_activity is read once per transaction: end it to look again
                await connection.rollback()
                if waiting is not None and waiting >= n:
                    return
                await asyncio.sleep(0.02)
            sessions = (
                await connection.execute(
                    sa.text(
                        "select pid, state, wait_event, pg_blocking_pids(pid), left(query, 60) "
                        "from pg_stat_activity where datname = current_database()"
                    )
                )
            ).all()
        raise AssertionError(
            f"{n} requests did not come to wait within {timeout} s on the locks of session "
            f"{self.pid}; the database's sessions: {sessions}"
        )


@contextlib.asynccontextmanager
async def hold_list(
    db: Database, member: Member, *, personal: bool = True, account: bool = False
) -> AsyncIterator[Holder]:
    """Lock rows that a change of the member's lists needs, until the block ends: the member's
    user row, which a change of the personal list locks first; the account row, which a
    change of the account-wide list locks first, and which every new entry's foreign key
    needs (so a change of the personal list then waits in the middle of writing its entries).
    A request made slow on purpose, and surely in flight."""
    async with db.transaction(member.raw_account_id, write=True) as session:
        if personal:
            await accounts.get_user(
                session=session,
                account_id=member.raw_account_id,
                user_id=member.raw_user_id,
                lock=True,
            )
        if account:
            await accounts.lock_account(session=session, account_id=member.raw_account_id)
        pid = await session.scalar(sa.text("select pg_backend_pid()"))
        assert isinstance(pid, int)
        yield Holder(db, pid)


# -- a GraphQL client for any server: a real process or the in-process app ------------------


class Client:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """The answer's data; fails the test on another status than 200 or on errors."""
        response = await self.post(query, variables, token=token)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def add(self, token: str, patterns: list[str], scope: str = "PERSONAL") -> dict[str, Any]:
        data = await self.data(
            ADD_ENTRIES, {"input": {"scope": scope, "patterns": patterns}}, token=token
        )
        payload: dict[str, Any] = data["addNeverLogEntries"]
        return payload

    async def remove(
        self, token: str, patterns: list[str], scope: str = "PERSONAL"
    ) -> dict[str, Any]:
        data = await self.data(
            REMOVE_ENTRIES, {"input": {"scope": scope, "patterns": patterns}}, token=token
        )
        payload: dict[str, Any] = data["removeNeverLogEntries"]
        return payload

    async def entries(
        self, token: str, scope: str = "PERSONAL"
    ) -> tuple[int, list[dict[str, str]]]:
        """The list's count and every entry (id, pattern), read page by page."""
        nodes: list[dict[str, str]] = []
        after: str | None = None
        while True:
            data = await self.data(LIST_PAGE, {"scope": scope, "after": after}, token=token)
            page = data["neverLogList"]["entries"]
            nodes += [edge["node"] for edge in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                return data["neverLogList"]["count"], nodes
            after = page["pageInfo"]["endCursor"]

    async def audit_events(self, token: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            data = await self.data(AUDIT_PAGE, {"after": after}, token=token)
            page = data["auditEvents"]
            events += [edge["node"] for edge in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                return events
            after = page["pageInfo"]["endCursor"]


# -- neverlog processes -------------------------------------------------------------------


def neverlog_env(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a ``neverlog`` command: this one's, without any NEVERLOG_ setting
    but the database URL and those given (e.g. ``PERSONAL_LIST_LIMIT="20"``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEVERLOG_")}
    env["NEVERLOG_DATABASE_URL"] = database_url
    env["NEVERLOG_LOG_LEVEL"] = "WARNING"
    env.update({f"NEVERLOG_{name}": value for name, value in settings.items()})
    return env


async def run_cli(database_url: str, *args: str) -> str:
    """Run ``neverlog ARGS`` to the end (other tasks go on meanwhile); its standard output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "api.cli", *args,
        cwd=ROOT,
        env=neverlog_env(database_url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, f"neverlog {' '.join(args)} failed:\n{err.decode()}"
    return out.decode()


@dataclass
class Server:
    """One ``neverlog serve`` process."""

    process: Process
    port: int
    log_path: Path
    http: httpx.AsyncClient = field(init=False)
    client: Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}", timeout=30)
        self.client = Client(self.http)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: the process dies at once, mid-request or not."""
        if self.running():
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self) -> None:
        """SIGTERM: uvicorn stops accepting, finishes requests in flight, then exits."""
        self.process.send_signal(signal.SIGTERM)

    async def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.running() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert not self.running(), f"the server did not exit within {timeout} s:\n{self.log()}"
        return self.process.returncode

    async def ready(self, timeout: float = 120) -> None:
        """Wait until /healthz answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.running(), (
                f"the server exited with {self.process.returncode}:\n{self.log()}"
            )
            with contextlib.suppress(httpx.TransportError):
                if (await self.http.get("/healthz", timeout=2)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
        raise AssertionError(f"the server did not answer within {timeout} s:\n{self.log()}")

    async def close(self) -> None:
        if self.running():
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        await self.http.aclose()


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[list[Server]]]]:
    """``await serve(database_url, n=1, **settings)``: start n ``neverlog serve`` processes at
    once and wait until each answers. Every one is killed at teardown."""
    servers: list[Server] = []

    def spawn(database_url: str, **settings: str) -> Server:
        port = free_port()
        log_path = tmp_path / f"serve-{port}.log"
        process = start_process(
            [*SERVE, "--host", "127.0.0.1", "--port", str(port)],
            env=neverlog_env(database_url, **settings),
            log_path=log_path,
        )
        server = Server(process=process, port=port, log_path=log_path)
        servers.append(server)
        return server

    async def start(database_url: str, n: int = 1, **settings: str) -> list[Server]:
        started = [spawn(database_url, **settings) for _ in range(n)]
        await asyncio.gather(*(s.ready() for s in started))
        return started

    yield start
    for server in servers:
        await server.close()


# -- the PostgreSQL database of NEVERLOG_TEST_DATABASE_URL ---------------------------------


@pytest.fixture(scope="session")
def pg_url() -> str:
    skip_without_pg()
    return Settings(database_url=PG_URL).database_url


@pytest.fixture(scope="session")
async def migrated_pg(pg_url: str) -> str:
    """The database, brought up to date by ``neverlog migrate`` (once per session)."""
    await run_cli(pg_url, "migrate")
    return pg_url


@pytest.fixture(scope="session")
async def pg_db(migrated_pg: str) -> AsyncIterator[Database]:
    """An engine on that database in this process, for in-process apps and quick set-up."""
    database = Database(migrated_pg)
    yield database
    await database.dispose()


# -- a private PostgreSQL cluster ----------------------------------------------------------


def _pg_bindir() -> Path | None:
    """Where initdb and pg_ctl are: pg_config's answer, else Debian's layout (newest first),
    else the PATH."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            candidates.append(Path(done.stdout.strip()))
    debian = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(
        debian,
        key=lambda p: [int(x) for x in p.parent.name.split(".") if x.isdigit()],
        reverse=True,
    )
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    return None


@dataclass
class PrivateCluster:
    """A throwaway PostgreSQL cluster of this test alone, in a temporary directory."""

    bindir: Path
    directory: Path
    port: int
    as_user: list[str]

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        done = subprocess.run(
            [*self.as_user, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {done.stdout}{done.stderr}")

    def init(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "--pgdata", str(self.data),
            "--username", "postgres",
            "--auth", "trust",
            "--encoding", "UTF8",
            "--locale", "C",
            "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c max_connections=50"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "--pgdata", str(self.data),
            "--log", str(self.directory / "postgresql.log"),
            "--options", options,
            "--wait", "--timeout", "30",
            "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(
            str(self.bindir / "pg_ctl"),
            "--pgdata",
            str(self.data),
            "--mode",
            mode,
            "--wait",
            "stop",
        )

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def create(self) -> None:
        """initdb, then start."""
        self.init()
        self.start()


@pytest.fixture
def private_pg() -> Iterator[PrivateCluster]:
    """A PostgreSQL cluster for this test on a free port, which the test creates (``create()``,
    perhaps in a thread while a server boots); stopped and deleted at teardown. Its commands
    run as the ``postgres`` OS user where the tests run as root."""
    skip_without_pg()
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    as_user: list[str] = []
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            owner = None
        if runuser is None or owner is None:
            pytest.skip("running as root without runuser or a postgres OS user to run initdb")
        as_user = [runuser, "-u", "postgres", "--"]
    directory = Path(tempfile.mkdtemp(prefix="neverlog-pg-"))
    if owner is not None:
        os.chown(directory, owner.pw_uid, owner.pw_gid)
    cluster = PrivateCluster(bindir=bindir, directory=directory, port=free_port(), as_user=as_user)
    try:
        yield cluster
    finally:
        if cluster.running():
            with contextlib.suppress(Exception):
                cluster.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)
