"""The per-process sign-in cache (tenancy/signin.py): a token signed in a moment ago is
not read again, and a revocation, a deactivation or a role change committed through any
process is seen by every other as soon as its notice arrives (PostgreSQL LISTEN/NOTIFY).

Two Database objects on one PostgreSQL database stand for two processes, each with its
cache and its listening connection, started by the app's lifespan. Between processes a
change is promised "as soon as its notice arrives", not "before the change's answer": the
tests wait for the other process's cache to take a notice (``noticed``), then ask."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from api.settings import Settings
from persistence.database import Database
from persistence.tables import utcnow
from tenancy import signin, touches
from tenancy.roles import Role, Viewer
from tenancy.tokens import authenticate, hash_token
from tests.api.decision_helpers import add_patterns, counting_statements, email
from tests.helpers import Api, Member, assert_no_user_errors

VIEWER = "{ viewer { user { id } } }"
TOKENS = "{ apiTokens { id user { id } } }"
REVOKE_TOKEN = """mutation($id: ID!) { revokeApiToken(input: {id: $id}) {
    apiToken { revokedAt } userErrors { code message } } }"""
DEACTIVATE = """mutation($id: ID!) { deactivateUser(input: {userId: $id}) {
    user { active } userErrors { code message } } }"""
UPDATE_ROLE = """mutation($id: ID!, $role: Role!) { updateUserRole(input: {userId: $id,
    role: $role}) { user { role } userErrors { code message } } }"""


# -- the cache alone -----------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _viewer(account_id: uuid.UUID | None = None) -> Viewer:
    return Viewer(
        account_id=account_id or uuid.uuid4(),
        user_id=uuid.uuid4(),
        role=Role.USER,
        token_id=uuid.uuid4(),
    )


def _listening_cache(**kwargs: Any) -> signin.SigninCache:
    cache = signin.SigninCache(max_age=kwargs.pop("max_age", 30), **kwargs)
    cache.listening_started()
    return cache


def test_the_cache_keeps_at_most_its_bound_the_least_recently_used_going_first() -> None:
    # given a cache of three
    cache = _listening_cache(max_entries=3)
    for name in "abc":
        cache.store(cache.ticket(), name, _viewer(), None)
    # when "a" is used, then a fourth is kept
    assert cache.get("a") is not None
    cache.store(cache.ticket(), "d", _viewer(), None)
    # then "b", the least recently used, went
    assert len(cache) == 3
    assert cache.get("b") is None
    assert all(cache.get(name) is not None for name in "acd")


def test_the_cache_is_not_used_nor_filled_while_its_listener_is_down() -> None:
    # given a cache that holds a sign-in
    cache = _listening_cache()
    cache.store(cache.ticket(), "a", _viewer(), None)
    # when its listener goes down
    cache.listening_stopped()
    cache.store(cache.ticket(), "b", _viewer(), None)
    # then it holds nothing, and stores nothing
    assert len(cache) == 0
    assert cache.get("a") is None
    # and when it listens again, it starts empty
    cache.listening_started()
    assert cache.get("a") is None and cache.get("b") is None


def test_a_read_that_began_before_an_invalidation_stores_nothing() -> None:
    # given reads under way when a notice of their account, of another account, or the
    # listener's loss and return arrive
    account = uuid.uuid4()
    for invalidate in (
        lambda cache: cache.notice(str(account)),
        lambda cache: cache.forget_account(uuid.uuid4()),
        lambda cache: (cache.listening_stopped(), cache.listening_started()),
    ):
        cache = _listening_cache()
        ticket = cache.ticket()
        invalidate(cache)
        # when the read ends
        cache.store(ticket, "a", _viewer(account), None)
        # then what it read is not kept; a read begun after it is
        assert cache.get("a") is None
        cache.store(cache.ticket(), "a", _viewer(account), None)
        assert cache.get("a") is not None


def test_a_notice_drops_the_sign_ins_of_its_account_only() -> None:
    # given sign-ins of two accounts
    acme, globex = uuid.uuid4(), uuid.uuid4()
    cache = _listening_cache()
    for name, account in (("a1", acme), ("a2", acme), ("g1", globex)):
        cache.store(cache.ticket(), name, _viewer(account), None)
    # when a notice of one arrives
    cache.notice(str(acme))
    # then
    assert cache.get("a1") is None and cache.get("a2") is None
    assert cache.get("g1") is not None
    # and a notice that names no account drops everything
    cache.notice("not an account id")
    assert len(cache) == 0


def test_no_entry_is_used_once_it_is_max_age_old_counted_from_its_read() -> None:
    # given a sign-in whose read began at 1000 s
    clock = Clock()
    cache = _listening_cache(max_age=30, clock=clock)
    ticket = cache.ticket()
    clock.now += 5  # the read took 5 s
    cache.store(ticket, "a", _viewer(), None)
    # then it serves until 30 s after its read began, not after it was stored
    clock.now = 1029.9
    assert cache.get("a") is not None
    clock.now = 1030.0
    assert cache.get("a") is None
    assert len(cache) == 0


@pytest.mark.parametrize(
    ("value", "expected"), [("0", 0.0), ("2.5", 2.5), ("300", 300.0), ("-1", None), ("301", None)]
)
def test_the_setting_bounds_the_age(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: float | None
) -> None:
    monkeypatch.setenv("NEVERLOG_SIGNIN_CACHE_SECONDS", value)
    if expected is None:
        with pytest.raises(ValueError, match="signin_cache_seconds"):
            Settings()
    else:
        assert Settings().signin_cache_seconds == expected
    monkeypatch.delenv("NEVERLOG_SIGNIN_CACHE_SECONDS")
    assert Settings().signin_cache_seconds == 30


# -- helpers for the apps ------------------------------------------------------------------


def _url(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


def _settings(db: Database, **overrides: Any) -> Settings:
    return Settings(database_url=_url(db), webhook_worker=False, **overrides)


def _sign_ins(statements: list[str]) -> list[str]:
    """The statements that read a token (sign-in's one)."""
    return [s for s in statements if "token_hash" in s and "api_tokens" in s]


def _touches(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith("UPDATE api_tokens".upper())]


async def _sign_in_statements(api: Api, token: str, query: str = VIEWER) -> list[str]:
    with counting_statements(api.db) as statements:
        await api.data(query, token=token)
    return _sign_ins(statements)


async def until(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.01)


def cache_of(api: Api) -> signin.SigninCache:
    cache = signin.cache_of(api.db)
    assert cache is not None, "this app caches no sign-ins"
    return cache


async def noticed(api: Api, since: int) -> None:
    """Wait until the app's cache has taken an invalidation since generation ``since``; on
    SQLite nothing to wait for: the next look-up asks the file's version first."""
    if not api.db.is_postgresql:
        return
    cache = cache_of(api)
    await until(lambda: cache.generation > since, "the other process took the notice")


@contextlib.asynccontextmanager
async def process(db: Database, **overrides: Any) -> AsyncIterator[Api]:
    """An app on a Database of its own (a process of its own), its lifespan running, its
    cache listening."""
    settings = _settings(db, **overrides)
    own = Database(_url(db))
    api = Api(settings, own)
    try:
        async with api.app.router.lifespan_context(api.app):
            cache = signin.cache_of(own)
            if cache is not None:
                await until(lambda: cache.listening, "the cache listens")
            yield api
    finally:
        await api.close()
        await own.dispose()


@contextlib.asynccontextmanager
async def caching(
    db: Database, cache: signin.SigninCache, **kwargs: Any
) -> AsyncIterator[tuple[Api, signin.SigninCaching]]:
    """An app on a Database of its own whose cache and listener are set up here (a clock,
    a retry schedule of the test's), not by the lifespan."""
    own = Database(_url(db))
    api = Api(_settings(db), own)
    service = signin.SigninCaching(own, cache, **kwargs)
    service.start()
    try:
        await until(lambda: cache.listening, "the cache listens")
        yield api, service
    finally:
        await service.stop()
        await api.close()
        await own.dispose()


@pytest.fixture
async def two(db: Database) -> AsyncIterator[tuple[Api, Api]]:
    async with process(db) as a, process(db) as b:
        yield a, b


async def _token_id(api: Api, member: Member) -> str:
    data = await api.data(TOKENS, token=member.token)
    (token,) = [t for t in data["apiTokens"] if t["user"]["id"] == member.user_id]
    token_id: str = token["id"]
    return token_id


def _account_id(member: Member) -> uuid.UUID:
    return uuid.UUID(hex=member.token.rpartition("_")[2])


# -- off where it cannot be kept true -------------------------------------------------------


async def test_off_behind_pgbouncer_at_0_seconds_and_on_sqlite_in_memory(db: Database) -> None:
    # given apps whose lifespan runs: on this database; at 0 seconds; behind PgBouncer; on
    # an SQLite database in memory
    async with process(db) as plain, process(db, signin_cache_seconds=0) as zero:
        bouncer = Database(_url(db), pgbouncer=True)
        memory = Database("sqlite+aiosqlite://")
        try:
            # then the database itself, at more than 0 seconds, caches (an SQLite file too)
            assert signin.cache_of(plain.db) is not None
            assert signin.cache_of(zero.db) is None
            assert signin.start_caching(bouncer, max_age=30) is None
            assert signin.start_caching(memory, max_age=30) is None
            # and without a cache every request reads its token
            admin = await zero.new_account()
            await zero.data(VIEWER, token=admin.token)
            assert len(await _sign_in_statements(zero, admin.token)) == 1
        finally:
            await bouncer.dispose()
            await memory.dispose()


# -- two processes on one database ---------------------------------------------------------


async def test_a_change_written_to_the_file_by_any_connection_is_seen_on_the_next_request(
    two: tuple[Api, Api], db: Database
) -> None:
    if db.is_postgresql:
        pytest.skip("on PostgreSQL a change is told by its notice (the tests of notices)")
    # given a user's token signed in and cached on B
    _, b = two
    admin = await b.new_account()
    user = await b.add_member(admin)
    await b.data(VIEWER, token=user.token)
    assert await _sign_in_statements(b, user.token) == []
    # when the token is revoked by a connection that tells nobody (the sqlite3 shell's way)
    path = b.db.engine.url.database
    assert path is not None

    def revoke_by_hand() -> None:
        with contextlib.closing(sqlite3.connect(path, timeout=30, isolation_level=None)) as shell:
            shell.execute("begin immediate")  # waits its turn behind the app's writes
            shell.execute(
                "update api_tokens set revoked_at = ? where token_hash = ?",
                (utcnow().isoformat(sep=" "), hash_token(user.token)),
            )
            shell.execute("commit")

    # (in a thread: the event loop runs on, so that a write of the app's under way ends)
    await asyncio.to_thread(revoke_by_hand)
    # then B refuses it on its very next request, and the admin's token is read again
    response = await b.post(VIEWER, token=user.token)
    assert response.status_code == 401
    assert len(await _sign_in_statements(b, admin.token)) == 1
    assert await _sign_in_statements(b, admin.token) == []


async def test_a_rolled_back_change_keeps_the_sign_ins_of_an_sqlite_file(
    two: tuple[Api, Api], db: Database
) -> None:
    if db.is_postgresql:
        pytest.skip("on PostgreSQL: test_a_rolled_back_change_invalidates_nothing")
    # given a token signed in and cached on A and on B
    a, b = two
    admin = await a.new_account()
    for api in (a, b):
        await api.data(VIEWER, token=admin.token)
    await touches.flush(a.db)
    await touches.flush(b.db)
    for api in (a, b):
        await api.data(VIEWER, token=admin.token)
    # when a change of its account through A says so in its transaction, then rolls back
    with pytest.raises(RuntimeError, match="rolled back"):
        async with a.db.transaction(_account_id(admin), write=True) as session:
            await signin.signins_changed(a.db, session, _account_id(admin))
            await session.execute(sa.text("update accounts set name = 'x'"))
            raise RuntimeError("rolled back")
    # then both still use the sign-in: nothing was committed
    for api in (a, b):
        assert await _sign_in_statements(api, admin.token) == []


async def test_a_cached_sign_in_runs_no_statement_of_sign_in(two: tuple[Api, Api]) -> None:
    # given a token signed in once on B
    _, b = two
    admin = await b.new_account()
    first = await _sign_in_statements(b, admin.token)
    # when it signs in again
    again = await _sign_in_statements(b, admin.token)
    # then the first read the token, the second did not
    assert len(first) == 1
    assert again == []
    assert len(cache_of(b)) == 1


# A decision as a logging pipeline asks for it (no sender: naming it reads the user).
DECIDE = """query($email: EmailInput!) { evaluateEmailLogging(email: $email) {
    loggedCount neverLogCount recipients { address outcome matchedPattern explanation } } }"""


async def test_a_decision_of_a_token_signed_in_a_moment_ago_is_one_round_trip(
    db: Database,
) -> None:
    async with process(db, held_lists_mb=0) as b:
        await _a_decision_of_a_token_signed_in_a_moment_ago_is_one_round_trip(b)


async def _a_decision_of_a_token_signed_in_a_moment_ago_is_one_round_trip(b: Api) -> None:
    # given entries on both of a super admin's lists, and the token signed in once on B
    # (its lists not held in memory: with them, no statement at all, test_held_lists.py)
    admin = await b.new_account()
    await add_patterns(b, admin, ["*@initech.de"], scope="ACCOUNT")
    await add_patterns(b, admin, ["jane@brightpath.io"])
    to = ["bob@initech.de", "jane@brightpath.io", "anna@globex-partners.com"]
    variables = {"email": email("SALES_EXTENSION", to=to)}
    await b.data(DECIDE, variables, token=admin.token)
    # (that first use's lastUsedAt written now, not in the background during the next; on
    # SQLite that commit moved the file's version, so one more request reads the token)
    await touches.flush(b.db)
    await b.data(DECIDE, variables, token=admin.token)
    # when it decides again
    with counting_statements(b.db) as statements:
        decided = await b.data(DECIDE, variables, token=admin.token)
    # then one statement reached the database, the look-up of the entries, and the
    # decision is whole
    assert len(statements) == 1, statements
    assert "never_log_entries" in statements[0]
    outcomes = [r["outcome"] for r in decided["evaluateEmailLogging"]["recipients"]]
    assert outcomes == ["NEVER_LOG", "NEVER_LOG", "LOGGED"]


async def test_a_token_revoked_through_one_process_is_refused_by_another(
    two: tuple[Api, Api],
) -> None:
    # given a user's token signed in and cached on B
    a, b = two
    admin = await a.new_account()
    user = await a.add_member(admin)
    token_id = await _token_id(a, user)
    await b.data(VIEWER, token=user.token)
    assert await _sign_in_statements(b, user.token) == []
    # when it is revoked through A
    since = cache_of(b).generation
    revoked = await a.data(REVOKE_TOKEN, {"id": token_id}, token=admin.token)
    assert_no_user_errors(revoked["revokeApiToken"])
    await noticed(b, since)
    # then B refuses it on the next request
    response = await b.post(VIEWER, token=user.token)
    assert response.status_code == 401
    # and the admin's own token, of the same account, signs in again on B
    await b.data(VIEWER, token=admin.token)


async def test_a_user_deactivated_through_one_process_is_refused_by_another(
    two: tuple[Api, Api],
) -> None:
    # given a user signed in and cached on B
    a, b = two
    admin = await a.new_account()
    user = await a.add_member(admin)
    await b.data(VIEWER, token=user.token)
    assert await _sign_in_statements(b, user.token) == []
    # when the user is deactivated through A
    since = cache_of(b).generation
    done = await a.data(DEACTIVATE, {"id": user.user_id}, token=admin.token)
    assert_no_user_errors(done["deactivateUser"])
    await noticed(b, since)
    # then
    response = await b.post(VIEWER, token=user.token)
    assert response.status_code == 401


async def test_a_role_changed_through_one_process_is_the_role_of_the_next_request_on_another(
    two: tuple[Api, Api],
) -> None:
    # given a user signed in and cached on B, who sees their own token only
    a, b = two
    admin = await a.new_account()
    user = await a.add_member(admin)
    seen = await b.data(TOKENS, token=user.token)
    assert len(seen["apiTokens"]) == 1
    for role, tokens in (("SUPER_ADMIN", 2), ("USER", 1)):
        # when the user's role changes through A
        since = cache_of(b).generation
        changed = await a.data(UPDATE_ROLE, {"id": user.user_id, "role": role}, token=admin.token)
        assert_no_user_errors(changed["updateUserRole"])
        await noticed(b, since)
        # then B's next request goes by the new role: a super admin sees every token
        seen = await b.data(TOKENS, token=user.token)
        assert len(seen["apiTokens"]) == tokens, role


@pytest.mark.postgresql
async def test_a_rolled_back_change_invalidates_nothing(two: tuple[Api, Api], db: Database) -> None:
    # given a token signed in and cached on A and on B
    a, b = two
    admin = await a.new_account()
    for api in (a, b):
        await api.data(VIEWER, token=admin.token)
    token_hash = hash_token(admin.token)
    # when a change of its account through A says so in its transaction, then rolls back
    with pytest.raises(RuntimeError, match="rolled back"):
        async with a.db.transaction(_account_id(admin), write=True) as session:
            await signin.signins_changed(a.db, session, _account_id(admin))
            raise RuntimeError("rolled back")
    # and then a change of another account commits, through a third process (notices
    # arrive in the order of their commits: once both have this one, the other is not coming)
    since = [cache_of(api).generation for api in (a, b)]
    async with db.transaction(None, write=True) as session:
        await signin.signins_changed(db, session, uuid.uuid4())
    for api, generation in zip((a, b), since, strict=True):
        await noticed(api, generation)
    # then both still hold the sign-in, and use it
    for api in (a, b):
        assert cache_of(api).get(token_hash) is not None
        assert await _sign_in_statements(api, admin.token) == []


@pytest.mark.postgresql
async def test_the_process_that_made_the_change_drops_its_sign_ins_at_once(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a user's token cached on A, whose listener is made to ignore notices: only
    # A's own drop after its commit can refuse the token
    async with caching(db, signin.SigninCache(max_age=30)) as (a, service):
        admin = await a.new_account()
        user = await a.add_member(admin)
        token_id = await _token_id(a, user)
        assert await _sign_in_statements(a, user.token) == []
        monkeypatch.setattr(service.listener, "_on_message", lambda payload: None)
        # when it is revoked through A
        revoked = await a.data(REVOKE_TOKEN, {"id": token_id}, token=admin.token)
        assert_no_user_errors(revoked["revokeApiToken"])
        # then A refuses it on the very next request, without any notice
        response = await a.post(VIEWER, token=user.token)
        assert response.status_code == 401


@pytest.mark.postgresql
async def test_while_the_listener_is_down_every_request_reads_its_token(
    db: Database, admin_db: Database
) -> None:
    # given a process whose listener waits a minute before it connects again
    async with caching(db, signin.SigninCache(max_age=30), retry_after=(60,)) as (b, service):
        admin = await b.new_account()
        await b.data(VIEWER, token=admin.token)
        assert await _sign_in_statements(b, admin.token) == []
        # when its listening connection is ended by the server
        await _end_listening_session(service, admin_db)
        # then every request reads its token again, and none is kept
        assert not service.cache.listening and len(service.cache) == 0
        for _ in range(2):
            assert len(await _sign_in_statements(b, admin.token)) == 1
        assert len(service.cache) == 0


@pytest.mark.postgresql
async def test_a_revocation_missed_while_the_listener_was_down_is_seen_when_it_is_back(
    db: Database, admin_db: Database
) -> None:
    # given a user's token cached on B, whose listener comes back 3 s after it is lost
    async with (
        process(db) as a,
        caching(db, signin.SigninCache(max_age=30), retry_after=(3.0,)) as (b, service),
    ):
        admin = await a.new_account()
        user = await a.add_member(admin)
        token_id = await _token_id(a, user)
        await b.data(VIEWER, token=user.token)
        assert await _sign_in_statements(b, user.token) == []
        # when B's listening connection is lost, and the token is revoked meanwhile
        await _end_listening_session(service, admin_db)
        revoked = await a.data(REVOKE_TOKEN, {"id": token_id}, token=admin.token)
        assert_no_user_errors(revoked["revokeApiToken"])
        assert not service.cache.listening, "the revocation's notice could have reached B"
        # then, listening again (the notice never reached it), B refuses the token
        await until(lambda: service.cache.listening, "B listens again")
        response = await b.post(VIEWER, token=user.token)
        assert response.status_code == 401


async def _end_listening_session(service: signin.SigninCaching, admin_db: Database) -> None:
    pid = service.listener.server_pid
    assert pid is not None
    async with admin_db.engine.connect() as connection:
        ended = await connection.scalar(sa.text("select pg_terminate_backend(:pid)"), {"pid": pid})
    assert ended
    await until(lambda: not service.cache.listening, "the cache knows its listener is down")


@pytest.mark.postgresql
async def test_a_sign_in_read_while_a_notice_arrives_is_not_kept(db: Database) -> None:
    # given a process, and a notice of the account that arrives while sign-in reads the
    # token (the read saw the state before the change that the notice tells of)
    async with caching(db, signin.SigninCache(max_age=30)) as (b, service):
        admin = await b.new_account()

        def notice_meanwhile(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if _sign_ins([statement]):
                service.cache.notice(str(_account_id(admin)))

        event.listen(b.db.engine.sync_engine, "before_cursor_execute", notice_meanwhile)
        try:
            # when the token signs in
            viewer = await authenticate(b.db, admin.token)
        finally:
            event.remove(b.db.engine.sync_engine, "before_cursor_execute", notice_meanwhile)
        # then it signed in, but what it read is not kept: the next request reads again
        assert viewer is not None
        assert service.cache.get(hash_token(admin.token)) is None
        assert len(await _sign_in_statements(b, admin.token)) == 1
        assert await _sign_in_statements(b, admin.token) == []


async def test_a_sign_in_older_than_the_max_age_is_read_again(db: Database) -> None:
    # given a token signed in on a process whose cache keeps sign-ins 30 s
    clock = Clock()
    async with caching(db, signin.SigninCache(max_age=30, clock=clock)) as (b, _):
        admin = await b.new_account()
        await b.data(VIEWER, token=admin.token)
        # when 29 s have passed, then 30 s
        clock.now += 29
        before = await _sign_in_statements(b, admin.token)
        clock.now += 1
        after = await _sign_in_statements(b, admin.token)
        # then it was used, then read again
        assert before == []
        assert len(after) == 1


@pytest.mark.postgresql
async def test_a_cached_sign_in_due_for_last_used_at_touches_its_token(
    two: tuple[Api, Api], admin_db: Database
) -> None:
    # given a sign-in cached on B whose lastUsedAt, there and in the database, is two
    # minutes old
    _, b = two
    admin = await b.new_account()
    await b.data(VIEWER, token=admin.token)
    # (that first use's touch written now, not in the background during the steps below)
    await touches.flush(b.db)
    cache = cache_of(b)
    token_hash = hash_token(admin.token)
    cached = cache.get(token_hash)
    assert cached is not None
    old = utcnow() - dt.timedelta(minutes=2)
    async with admin_db.transaction(None, write=True) as session:
        await session.execute(
            sa.text("update api_tokens set last_used_at = :old where id = :id"),
            {"old": old, "id": cached.viewer.token_id},
        )
    cache.store(cache.ticket(), token_hash, cached.viewer, old)
    # when it signs in again (and the touches it gathers are written)
    with counting_statements(b.db) as statements:
        await b.data(VIEWER, token=admin.token)
        await touches.flush(b.db)
    # then the token is touched, and the cache holds the new lastUsedAt
    assert len(_touches(statements)) == 1
    again = cache.get(token_hash)
    assert again is not None and again.last_used_at is not None
    assert again.last_used_at > old + dt.timedelta(minutes=1)
    async with admin_db.engine.connect() as connection:
        stored = await connection.scalar(
            sa.text("select last_used_at from api_tokens where id = :id"),
            {"id": cached.viewer.token_id},
        )
    assert stored == again.last_used_at
    # and the next request runs no statement of sign-in
    with counting_statements(b.db) as statements:
        await b.data(VIEWER, token=admin.token)
    assert _sign_ins(statements) == [] and _touches(statements) == []
