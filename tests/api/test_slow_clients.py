"""Slow clients cannot hold a real ``neverlog serve``: headers that do not arrive within the
header timeout, or a body that stalls, end the connection; past its connection cap the
process closes idle connections to make room and keeps answering /healthz."""

from __future__ import annotations

import contextlib
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live_server import live_server

# The server ends a slow connection after 1 s; the tests wait up to 10 s for it to do so.
WAIT = 10.0


@contextlib.contextmanager
def guarded_server(tmp_path: Path, **settings: str) -> Iterator[tuple[str, int]]:
    timeouts = {"header_timeout": "1", "body_timeout": "1"}
    with live_server(tmp_path, **(timeouts | settings)) as server:
        yield server.url, server.port


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """One guarded server for the tests that need no settings of their own: a slow
    connection ends only itself."""
    with guarded_server(tmp_path_factory.mktemp("slow-clients")) as running:
        yield running


def closed_by_server(connection: socket.socket, within: float = WAIT) -> bool:
    """Whether the server closes ``connection`` (an end of file) within ``within`` s."""
    connection.settimeout(within)
    try:
        while data := connection.recv(4096):
            if not data:
                break
    except TimeoutError:
        return False
    except OSError:
        return True  # reset by the server
    return True


def test_a_half_sent_request_line_is_closed(guarded: tuple[str, int]) -> None:
    _, port = guarded
    # given a connection that sends half a request line and stops
    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall(b"GET /healthz HT")
    # then the server closes it
    assert closed_by_server(connection)
    connection.close()


def test_headers_sent_a_byte_at_a_time_are_closed(guarded: tuple[str, int]) -> None:
    _, port = guarded
    # given a connection whose headers trickle in, a byte every 0.2 s
    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    closed = False
    deadline = time.monotonic() + WAIT
    # then the server closes it though bytes keep coming: the headers must be complete
    # within the timeout, not merely keep moving
    while time.monotonic() < deadline and not closed:
        try:
            connection.sendall(b"a")
            readable, _, _ = select.select([connection], [], [], 0.2)
            closed = bool(readable) and connection.recv(1) == b""
        except OSError:
            closed = True
    connection.close()
    assert closed


def test_a_stalled_body_is_closed(guarded: tuple[str, int]) -> None:
    _, port = guarded
    # given a request that announces 1,000 bytes of body and sends 10
    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall(
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n" + b'{"query":"'
    )
    # then the server closes it
    assert closed_by_server(connection)
    connection.close()


def test_healthz_answers_while_idle_connections_fill_the_cap(tmp_path: Path) -> None:
    with guarded_server(tmp_path, header_timeout="60", max_connections="20") as (url, port):
        # given three times the cap in connections that send nothing
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(60)]
        for connection in idle:
            connection.sendall(b"GET /he")
        try:
            # when
            answers = [httpx.get(f"{url}/healthz", timeout=5) for _ in range(5)]
            graphql = httpx.post(f"{url}/graphql", json={"query": "{ __typename }"}, timeout=5)
            # then the health check answers, and so does the API: idle ones made room
            assert [a.status_code for a in answers] == [200] * 5
            assert graphql.json()["data"] == {"__typename": "Query"}
            # and the idle ones are closed (most at once; polled, not waited for on a clock)
            closed: set[int] = set()
            deadline = time.monotonic() + WAIT
            while len(closed) < 40 and time.monotonic() < deadline:
                closed |= {n for n, c in enumerate(idle) if closed_by_server(c, within=0.01)}
            assert len(closed) >= 40
        finally:
            for connection in idle:
                connection.close()


def test_a_request_sent_in_time_is_served(guarded: tuple[str, int]) -> None:
    # a client that sends its request at once, and keeps its connection alive, is served
    url, _ = guarded
    with httpx.Client(base_url=url) as client:
        for _ in range(3):
            assert client.post("/graphql", json={"query": "{ __typename }"}).json()["data"] == {
                "__typename": "Query"
            }
            time.sleep(0.5)
