"""Live list changes (api/live.py, tenancy/live.py, docs/live.md), through a real WebSocket
client (the ``websockets`` package) against the app served by uvicorn on a free port, on
both databases: the close codes, personal privacy, commit order, revocation, the limits,
a slow reader dropped; on PostgreSQL, two ``neverlog serve`` processes on one database.

Every wait has a deadline: a message that does not come fails the test after it."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from api.app import create_app
from api.settings import Settings
from persistence.database import Database
from tests.helpers import Member, assert_no_user_errors
from tests.live_server import REPO, free_port, serving

PROTOCOL = "graphql-transport-ws"
CHANGES = """subscription($scope: NeverLogScope!) { neverLogListChanged(scope: $scope) {
    kind scope list { count remaining } patterns entryCount actor { email } at } }"""
ADD = """mutation($scope: NeverLogScope!, $patterns: [String!]!) {
    addNeverLogEntries(input: {scope: $scope, patterns: $patterns}) {
        list { count } userErrors { code message } } }"""
REMOVE = """mutation($scope: NeverLogScope!, $patterns: [String!]!) {
    removeNeverLogEntries(input: {scope: $scope, patterns: $patterns}) {
        list { count } userErrors { code message } } }"""
WAIT = 10.0  # seconds any one awaited message may take


class Served:
    """The app behind uvicorn on a free port, with an HTTP client for its mutations."""

    def __init__(self, app: Any, port: int, http: httpx.AsyncClient) -> None:
        self.app = app
        self.port = port
        self.http = http
        self.ws_url = f"ws://127.0.0.1:{port}/graphql"

    async def data(self, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    async def add(self, member: Member, patterns: list[str], scope: str = "ACCOUNT") -> int:
        data = await self.data(ADD, {"scope": scope, "patterns": patterns}, member.token)
        assert_no_user_errors(data["addNeverLogEntries"])
        count: int = data["addNeverLogEntries"]["list"]["count"]
        return count

    async def remove(self, member: Member, patterns: list[str], scope: str = "ACCOUNT") -> None:
        data = await self.data(REMOVE, {"scope": scope, "patterns": patterns}, member.token)
        assert_no_user_errors(data["removeNeverLogEntries"])

    async def member(self, admin: Member, role: str = "USER") -> Member:
        email = f"user-{uuid.uuid4().hex[:8]}@neverlog-staff.com"
        added = await self.data(
            """mutation($input: AddUserInput!) { addUser(input: $input) {
                user { id } invitationCode userErrors { code message } } }""",
            {"input": {"email": email, "name": "Member", "role": role}},
            admin.token,
        )
        code = added["addUser"]["invitationCode"]
        response = await self.http.post(
            "/graphql",
            json={
                "query": """mutation($input: AcceptInvitationInput!) {
                    acceptInvitation(input: $input) { token } }""",
                "variables": {"input": {"code": code, "tokenName": "live"}},
            },
        )
        token = response.json()["data"]["acceptInvitation"]["token"]
        return Member(token, added["addUser"]["user"]["id"], email, admin.account_id)

    @property
    def live(self) -> Any:
        return self.app.state.live


@pytest.fixture
def serve(db: Database) -> Callable[..., contextlib.AbstractAsyncContextManager[Served]]:
    """``async with serve(**settings) as served``: the app served until the block ends, on a
    port of its own (bound here, not probed and bound later, when another process may have
    taken it). With ``send_buffer``, each connection's socket sends from a buffer of that
    size rather than one that the kernel grows to megabytes."""

    @contextlib.asynccontextmanager
    async def serving_app(
        *, send_buffer: int | None = None, **overrides: Any
    ) -> AsyncIterator[Served]:
        settings = Settings(database_url=db.url.render_as_string(hide_password=False), **overrides)
        app = create_app(settings, database=db)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listening:
            if send_buffer is not None:
                # (an accepted connection's socket takes the listening socket's buffer size)
                listening.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
            listening.bind(("127.0.0.1", 0))
            port = listening.getsockname()[1]
            server = uvicorn.Server(
                uvicorn.Config(
                    app,
                    host="127.0.0.1",
                    port=port,
                    lifespan="on",
                    log_level="warning",
                    loop="none",
                )
            )
            task = asyncio.create_task(server.serve(sockets=[listening]))
            deadline = time.monotonic() + WAIT
            while not server.started:
                assert not task.done(), "the server did not start"
                assert time.monotonic() < deadline, "the server did not start in time"
                await asyncio.sleep(0.01)
            hub = app.state.live.hub
            assert await hub.wait_listening(WAIT), "the hub does not listen"
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=WAIT) as http:
                try:
                    yield Served(app, port, http)
                finally:
                    server.should_exit = True
                    await asyncio.wait_for(task, 30)

    return serving_app


async def new_admin(db: Database) -> Member:
    from tenancy.users import create_account

    email = f"admin-{uuid.uuid4().hex[:8]}@neverlog-staff.com"
    new = await create_account(db, name="Acme", admin_email=email, admin_name="Admin")
    from schema.ids import to_global_id

    return Member(
        new.token.token,
        to_global_id("User", new.admin.id),
        email,
        to_global_id("Account", new.account.id),
    )


async def open_socket(url: str, **kwargs: Any) -> ClientConnection:
    return await connect(url, subprotocols=[PROTOCOL], open_timeout=WAIT, **kwargs)  # type: ignore[list-item]


async def receive(ws: ClientConnection) -> dict[str, Any]:
    """The next message but the server's pings, which are answered (as graphql-ws does)."""
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        if message != {"type": "ping"}:
            return message
        await ws.send(json.dumps({"type": "pong"}))


async def signed_in(url: str, token: str, **kwargs: Any) -> ClientConnection:
    ws = await open_socket(url, **kwargs)
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    )
    assert await receive(ws) == {"type": "connection_ack"}
    return ws


async def subscribe(ws: ClientConnection, sub_id: str, scope: str, query: str = CHANGES) -> None:
    await ws.send(
        json.dumps(
            {
                "id": sub_id,
                "type": "subscribe",
                "payload": {"query": query, "variables": {"scope": scope}},
            }
        )
    )


async def subscribed(served: Served, count: int) -> None:
    """Wait until the process's hub holds ``count`` subscriptions (a subscribe message is
    answered only by changes)."""
    deadline = time.monotonic() + WAIT
    while served.live.hub.subscriptions != count:
        assert time.monotonic() < deadline, (
            f"{served.live.hub.subscriptions} subscriptions, not {count}"
        )
        await asyncio.sleep(0.01)


async def closed_with(ws: ClientConnection) -> tuple[int | None, list[dict[str, Any]]]:
    """Every message until the socket closes, and its close code."""
    received = []
    with contextlib.suppress(ConnectionClosed):
        while True:
            received.append(json.loads(await asyncio.wait_for(ws.recv(), WAIT)))
    assert ws.close_code is not None
    return ws.close_code, received


def change(message: dict[str, Any], sub_id: str) -> dict[str, Any]:
    assert message["id"] == sub_id and message["type"] == "next", message
    assert "errors" not in message["payload"], message
    found: dict[str, Any] = message["payload"]["data"]["neverLogListChanged"]
    return found


def domain() -> str:
    return f"{uuid.uuid4().hex[:10]}.com"


# -- signing in ---------------------------------------------------------------------------


async def test_a_socket_without_a_valid_token_is_closed_4401_with_nothing_sent(
    serve: Any, db: Database
) -> None:
    async with serve() as served:
        # no token at all
        ws = await open_socket(served.ws_url)
        await ws.send(json.dumps({"type": "connection_init"}))
        assert await closed_with(ws) == (4401, [])
        # a token that is not one
        ws = await open_socket(served.ws_url)
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer nl_nope"}})
        )
        assert await closed_with(ws) == (4401, [])
        # a subscribe before connection_init
        ws = await open_socket(served.ws_url)
        await subscribe(ws, "1", "ACCOUNT")
        assert await closed_with(ws) == (4401, [])
        # a wrong upgrade header
        ws = await open_socket(served.ws_url, additional_headers={"Authorization": "Bearer nl_x"})
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert await closed_with(ws) == (4401, [])
        # not the protocol: no subprotocol asked for, a message that is not JSON
        plain = await connect(served.ws_url, open_timeout=WAIT)
        assert await closed_with(plain) == (4406, [])
        ws = await open_socket(served.ws_url)
        await ws.send("connection_init")
        assert await closed_with(ws) == (4400, [])
        # no connection_init in time
        async with serve(live_init_seconds=0.3) as quick:
            ws = await open_socket(quick.ws_url)
            assert await closed_with(ws) == (4408, [])


async def test_a_client_that_does_not_answer_pings_is_closed_4408(serve: Any, db: Database) -> None:
    admin = await new_admin(db)
    # the client that answers must have its pong read before the next ping: a second
    # (not a fraction of one) leaves room for a loaded machine, where the server and both
    # clients share this one event loop
    async with serve(live_ping_seconds=1.0) as served:
        answering = await signed_in(served.ws_url, admin.token)
        silent = await signed_in(served.ws_url, admin.token)
        await subscribe(answering, "a", "ACCOUNT")
        await subscribe(silent, "a", "ACCOUNT")
        await subscribed(served, 2)
        told: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        async def answer() -> None:
            while True:
                await told.put(await receive(answering))

        answerer = asyncio.create_task(answer())
        # the silent client reads the pings but never answers them
        code, received = await closed_with(silent)
        assert code == 4408
        assert {"type": "ping"} in received
        # the one that answers stays (several pings later) and is told of changes
        pattern = f"*@{domain()}"
        await served.add(admin, [pattern])
        assert change(await asyncio.wait_for(told.get(), WAIT), "a")["patterns"] == [pattern]
        await subscribed(served, 1)
        answerer.cancel()
        await answering.close()


async def test_the_upgrade_header_signs_in_and_an_account_change_arrives_whole(
    serve: Any, db: Database
) -> None:
    admin = await new_admin(db)
    async with serve() as served:
        ws = await open_socket(
            served.ws_url, additional_headers={"Authorization": f"Bearer {admin.token}"}
        )
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert await receive(ws) == {"type": "connection_ack"}
        await subscribe(ws, "a", "ACCOUNT")
        await subscribed(served, 1)
        name = domain()
        await served.add(admin, [f"*@{name}", f"Bob@{name}"])
        got = change(await receive(ws), "a")
        assert got["kind"] == "ENTRIES_ADDED"
        assert got["scope"] == "ACCOUNT"
        assert got["list"] == {"count": 2, "remaining": 498}
        assert sorted(got["patterns"]) == sorted([f"*@{name}", f"bob@{name}"])
        assert got["entryCount"] == 2
        assert got["actor"] == {"email": admin.email}
        assert got["at"].endswith("+00:00")
        await served.remove(admin, [f"*@{name}"])
        got = change(await receive(ws), "a")
        assert (got["kind"], got["patterns"], got["list"]["count"]) == (
            "ENTRIES_REMOVED",
            [f"*@{name}"],
            1,
        )
        # ping, and complete: nothing more is sent to that subscription
        await ws.send(json.dumps({"type": "ping"}))
        assert await receive(ws) == {"type": "pong"}
        await ws.send(json.dumps({"id": "a", "type": "complete"}))
        await subscribed(served, 0)
        await ws.close()


# -- privacy and order ----------------------------------------------------------------------


async def test_personal_changes_reach_only_the_lists_owner(serve: Any, db: Database) -> None:
    admin = await new_admin(db)
    async with serve() as served:
        user = await served.member(admin)
        admin_ws = await signed_in(served.ws_url, admin.token)
        user_ws = await signed_in(served.ws_url, user.token)
        await subscribe(admin_ws, "mine", "PERSONAL")
        await subscribe(admin_ws, "account", "ACCOUNT")
        await subscribe(user_ws, "mine", "PERSONAL")
        await subscribed(served, 3)
        secret = f"lawyer@{domain()}"
        await served.add(user, [secret], scope="PERSONAL")
        got = change(await receive(user_ws), "mine")
        assert (got["patterns"], got["scope"], got["actor"]) == (
            [secret],
            "PERSONAL",
            {"email": user.email},
        )
        # the super admin's own personal change is the first thing the admin is told of: the
        # user's came before it, and was not sent to the admin
        own = f"own@{domain()}"
        await served.add(admin, [own], scope="PERSONAL")
        got = change(await receive(admin_ws), "mine")
        assert got["patterns"] == [own]
        # the user is not told of the admin's personal list either
        await served.add(admin, [f"x@{domain()}"], scope="ACCOUNT")
        after = await receive(admin_ws)
        assert change(after, "account")["scope"] == "ACCOUNT"
        account_for_user = f"y@{domain()}"
        await subscribe(user_ws, "account", "ACCOUNT")
        await subscribed(served, 4)
        await served.add(admin, [account_for_user], scope="ACCOUNT")
        assert change(await receive(user_ws), "account")["patterns"] == [account_for_user]
        assert change(await receive(admin_ws), "account")["patterns"] == [account_for_user]
        await admin_ws.close()
        await user_ws.close()


async def test_changes_arrive_in_commit_order_under_concurrent_writers(
    serve: Any, db: Database
) -> None:
    admin = await new_admin(db)
    async with serve() as served:
        ws = await signed_in(served.ws_url, admin.token)
        await subscribe(ws, "a", "ACCOUNT")
        await subscribed(served, 1)
        names = [f"*@{domain()}" for _ in range(24)]

        async def writer(mine: list[str]) -> None:
            for pattern in mine:
                await served.add(admin, [pattern])
                await served.remove(admin, [pattern])

        await asyncio.gather(*(writer(names[i::4]) for i in range(4)))
        counts = []
        for _ in range(len(names) * 2):
            got = change(await receive(ws), "a")
            counts.append((got["kind"], got["list"]["count"], got["patterns"][0]))
        # replayed in the order received, the counts are those the changes left: the order
        # of the commits (each change holds the list's lock until it commits)
        count = 0
        live: set[str] = set()
        for kind, after, pattern in counts:
            if kind == "ENTRIES_ADDED":
                live.add(pattern)
                count += 1
            else:
                assert pattern in live, f"{pattern} removed before it was added: {counts}"
                live.discard(pattern)
                count -= 1
            assert after == count, counts
        assert count == 0
        await ws.close()


async def test_an_import_and_an_expiry_are_told_as_their_parts(serve: Any, db: Database) -> None:
    from tenancy import expiry

    admin = await new_admin(db)
    async with serve() as served:
        ws = await signed_in(served.ws_url, admin.token)
        await subscribe(ws, "a", "ACCOUNT")
        await subscribed(served, 1)
        old, new = f"*@{domain()}", f"*@{domain()}"
        await served.add(admin, [old])
        assert change(await receive(ws), "a")["patterns"] == [old]
        # an import that replaces the list: its removals, then its adds, one event each
        imported = await served.data(
            """mutation($csv: String!) { importNeverLogList(input: {scope: ACCOUNT,
                csv: $csv, mode: REPLACE}) { addedCount removedCount userErrors { code } } }""",
            {"csv": f"pattern\n{new}\n"},
            admin.token,
        )
        assert imported["importNeverLogList"]["userErrors"] == []
        removed, added = change(await receive(ws), "a"), change(await receive(ws), "a")
        assert (removed["kind"], removed["patterns"]) == ("ENTRIES_REMOVED", [old])
        assert (added["kind"], added["patterns"], added["list"]["count"]) == (
            "ENTRIES_ADDED",
            [new],
            1,
        )
        # an entry that expires: the sweep's removal, without an actor
        until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
        soon = f"*@{domain()}"
        data = await served.data(
            """mutation($p: [String!]!, $at: DateTime!) { addNeverLogEntries(input: {
                scope: ACCOUNT, patterns: $p, expiresAt: $at}) { userErrors { code } } }""",
            {"p": [soon], "at": until.isoformat()},
            admin.token,
        )
        assert data["addNeverLogEntries"]["userErrors"] == []
        assert change(await receive(ws), "a")["patterns"] == [soon]
        while dt.datetime.now(dt.UTC) <= until:
            await asyncio.sleep(0.05)
        await expiry.sweep(db)  # or the served app's own sweep, whichever comes first
        expired = change(await receive(ws), "a")
        assert (expired["kind"], expired["patterns"], expired["actor"]) == (
            "ENTRIES_EXPIRED",
            [soon],
            None,
        )
        assert expired["list"]["count"] == 1
        await ws.close()


async def test_an_update_is_told_as_entries_updated(serve: Any, db: Database) -> None:
    admin = await new_admin(db)
    async with serve() as served:
        ws = await signed_in(served.ws_url, admin.token)
        await subscribe(ws, "a", "ACCOUNT")
        await subscribed(served, 1)
        pattern = f"*@{domain()}"
        added = await served.data(
            """mutation($p: [String!]!) { addNeverLogEntries(input: {scope: ACCOUNT,
                patterns: $p}) { added { id } userErrors { code } } }""",
            {"p": [pattern]},
            admin.token,
        )
        entry_id = added["addNeverLogEntries"]["added"][0]["id"]
        assert change(await receive(ws), "a")["kind"] == "ENTRIES_ADDED"
        updated = await served.data(
            """mutation($ids: [ID!]!) { updateNeverLogEntries(input: {scope: ACCOUNT,
                ids: $ids, note: "counsel"}) { userErrors { code message } } }""",
            {"ids": [entry_id]},
            admin.token,
        )
        assert updated["updateNeverLogEntries"]["userErrors"] == []
        got = change(await receive(ws), "a")
        assert (got["kind"], got["patterns"], got["entryCount"]) == (
            "ENTRIES_UPDATED",
            [pattern],
            1,
        )
        assert (got["actor"], got["list"]["count"]) == ({"email": admin.email}, 1)
        await ws.close()


# -- revocation ----------------------------------------------------------------------------


async def test_a_revoked_token_ends_its_subscriptions_with_4403_within_5_seconds(
    serve: Any, db: Database
) -> None:
    admin = await new_admin(db)
    async with serve() as served:
        created = await served.data(
            'mutation { createApiToken(input: {name: "live"}) { token apiToken { id } } }',
            {},
            admin.token,
        )
        second = created["createApiToken"]
        ws = await signed_in(served.ws_url, second["token"])
        other = await signed_in(served.ws_url, admin.token)
        await subscribe(ws, "a", "ACCOUNT")
        await subscribe(other, "a", "ACCOUNT")
        await subscribed(served, 2)
        await served.data(
            "mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { revokedAt } } }",
            {"id": second["apiToken"]["id"]},
            admin.token,
        )
        revoked = time.monotonic()
        code, _ = await closed_with(ws)
        assert code == 4403
        assert time.monotonic() - revoked < 5
        # the other token's subscription carries on
        pattern = f"*@{domain()}"
        await served.add(admin, [pattern])
        assert change(await receive(other), "a")["patterns"] == [pattern]
        await other.close()


async def test_a_deactivated_user_is_ended_with_4403(serve: Any, db: Database) -> None:
    admin = await new_admin(db)
    async with serve() as served:
        user = await served.member(admin)
        ws = await signed_in(served.ws_url, user.token)
        await subscribe(ws, "p", "PERSONAL")
        await subscribed(served, 1)
        await served.data(
            "mutation($id: ID!) { deactivateUser(input: {userId: $id}) { user { active } } }",
            {"id": user.user_id},
            admin.token,
        )
        deactivated = time.monotonic()
        assert (await closed_with(ws))[0] == 4403
        assert time.monotonic() - deactivated < 5


# -- limits --------------------------------------------------------------------------------


async def test_limits_a_connection_and_a_process(serve: Any, db: Database) -> None:
    admin = await new_admin(db)
    async with serve(live_max_connections=1) as served:
        ws = await signed_in(served.ws_url, admin.token)
        for n in range(20):
            await subscribe(ws, str(n), "ACCOUNT")
        await subscribed(served, 20)
        await subscribe(ws, "20", "ACCOUNT")
        refused = await receive(ws)
        assert refused["id"] == "20" and refused["type"] == "error"
        assert refused["payload"][0]["extensions"]["code"] == "MAX_SUBSCRIPTIONS_EXCEEDED"
        # an id in use closes the connection (the protocol's 4409)
        # a second connection: the process holds one
        second = await open_socket(served.ws_url)
        assert (await closed_with(second))[0] == 1013
        await subscribe(ws, "3", "ACCOUNT")
        assert (await closed_with(ws))[0] == 4409


async def test_a_subscription_is_charged_like_a_query_and_refused_what_a_query_would_be(
    serve: Any, db: Database
) -> None:
    admin = await new_admin(db)
    async with serve(live_max_subscription_cost=2) as served:
        ws = await signed_in(served.ws_url, admin.token)
        await subscribe(ws, "a", "ACCOUNT")
        refused = await receive(ws)
        assert refused["type"] == "error"
        assert refused["payload"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
        assert served.live.hub.subscriptions == 0
        await ws.close()
    async with serve() as served:
        ws = await signed_in(served.ws_url, admin.token)
        await subscribe(ws, "b", "NEITHER")
        refused = await receive(ws)
        assert refused["id"] == "b" and refused["type"] == "error"
        assert "NEITHER" in refused["payload"][0]["message"]
        await ws.send(
            json.dumps(
                {"id": "c", "type": "subscribe", "payload": {"query": "{ viewer { user { id } } }"}}
            )
        )
        refused = await receive(ws)
        assert refused["type"] == "error" and "over HTTP" in refused["payload"][0]["message"]
        await ws.close()
    async with serve(rate_limit_capacity=10, rate_limit_restore_rate=0.001) as served:
        ws = await signed_in(served.ws_url, admin.token)
        for n in range(5):
            await subscribe(ws, str(n), "ACCOUNT")
        # a subscription taken is not answered: a ping after the five is answered once the
        # server has dealt with each of them (it reads a connection's messages in order),
        # however long that takes
        await ws.send(json.dumps({"type": "ping"}))
        answers = []
        while (answer := await receive(ws)) != {"type": "pong"}:
            answers.append(answer)
        codes = [a["payload"][0]["extensions"]["code"] for a in answers if a["type"] == "error"]
        assert "RATE_LIMITED" in codes
        assert served.live.hub.subscriptions == 5 - len(codes)
        await ws.close()


async def test_a_subscriber_that_does_not_read_is_dropped_with_4408(
    serve: Any, db: Database
) -> None:
    admin = await new_admin(db)
    # the server's sockets and the slow client's hold little: left to itself, the kernel
    # grows a loopback connection's buffers to megabytes, where every change of the test's
    # minute could wait, none of them in the server's queue, until the pings end the
    # connection instead (its pong never comes), all of them sent
    async with serve(live_queue=2, account_list_limit=1_000, send_buffer=65_536) as served:
        reader = await signed_in(served.ws_url, admin.token)
        await subscribe(reader, "a", "ACCOUNT")
        # a client that reads nothing (its library stops reading the socket once it holds a
        # message; no compression, which would shrink these changes' repetitive patterns)
        held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        held.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16_384)
        held.setblocking(False)
        await asyncio.get_running_loop().sock_connect(held, ("127.0.0.1", served.port))
        slow = await signed_in(served.ws_url, admin.token, max_queue=1, compression=None, sock=held)
        await subscribe(slow, "a", "ACCOUNT")
        await subscribed(served, 2)
        before = served.live.dropped_slow
        deadline = time.monotonic() + 60
        sent = 0
        name = domain()
        while served.live.dropped_slow == before:
            assert time.monotonic() < deadline, "the slow subscriber was never dropped"
            labels = ".".join(c * 60 for c in "abc")
            batch = [f"x{n}@{labels}.{name}" for n in range(sent, sent + 500)]
            await served.add(admin, batch)
            await served.remove(admin, batch)
            sent += 500
            # the reader that reads keeps up
            for _ in range(2):
                await receive(reader)
        await subscribed(served, 1)
        code, received = await closed_with(slow)
        assert code == 4408
        assert len(received) < sent // 250
        await reader.close()


# -- two processes on one PostgreSQL ---------------------------------------------------------


async def test_two_serve_processes_on_one_postgresql(db: Database, tmp_path: Path) -> None:
    if not db.is_postgresql:
        pytest.skip("processes share changes through PostgreSQL")
    admin = await new_admin(db)
    url = db.url.render_as_string(hide_password=False)
    ports = [free_port(), free_port()]
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("NEVERLOG_")} | {
        "NEVERLOG_DATABASE_URL": url,
        "NEVERLOG_LOG_LEVEL": "WARNING",
    }
    with contextlib.ExitStack() as stack:
        for n, port in enumerate(ports):
            command = [
                sys.executable,
                "-m",
                "api.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ]
            stack.enter_context(
                serving(
                    command,
                    env=env,
                    url=f"http://127.0.0.1:{port}",
                    log_path=tmp_path / f"s{n}.log",
                )
            )
        assert REPO.exists()
        ws = await signed_in(f"ws://127.0.0.1:{ports[0]}/graphql", admin.token)
        await subscribe(ws, "a", "ACCOUNT")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports[1]}", timeout=WAIT) as http:
            other = Served(None, ports[1], http)
            # the subscription is in place once a change made after it arrives
            deadline = time.monotonic() + WAIT
            while True:
                await other.add(admin, [f"*@{domain()}"])
                with contextlib.suppress(TimeoutError):
                    change(await asyncio.wait_for(receive(ws), 0.5), "a")
                    break
                assert time.monotonic() < deadline
            # the changes of those tries still on their way come before this one's, however
            # late (commit order): none of them is taken for one of the patterns below
            fence = f"*@{domain()}"
            await other.add(admin, [fence])
            while change(await receive(ws), "a")["patterns"] != [fence]:
                pass
            patterns = [f"*@{domain()}" for _ in range(10)]
            for pattern in patterns:
                await other.add(admin, [pattern])
            got = [change(await receive(ws), "a")["patterns"][0] for _ in patterns]
            assert got == patterns
        await ws.close()
