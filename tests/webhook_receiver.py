"""A real HTTP receiver of webhooks on 127.0.0.1, in a thread of the test process. It checks
every request's signature with the ``standardwebhooks`` package (not with the service's own
code), records what arrived, answers as the test scripts it, and notes any two requests of
the same webhook-id that were in flight at once."""

from __future__ import annotations

import asyncio
import json
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    webhook_id: str
    timestamp: str
    body: str
    verified: bool
    at: float  # time.monotonic() on arrival
    client_port: int  # the sender's end of the connection
    wall: float  # time.time() on arrival

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


# Given the request's number (0 for the first) and its webhook-id, how to answer.
Script = Callable[[int, str], Answer]


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # many senders may connect at once
    daemon_threads = True
    connections = 0  # TCP connections accepted, whatever came over them

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.connections += 1
        return True


class Receiver:
    def __init__(self) -> None:
        self.secret: str | None = None
        self.script: Script = lambda n, webhook_id: Answer()
        self.received: list[Received] = []
        self.overlaps: list[str] = []
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the sender may reuse connections
            disable_nagle_algorithm = True  # an answer is not held back for an ACK

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                if len(body) < length:
                    # the sender went away mid-request (a killed process): nothing was
                    # delivered, as any HTTP server would see it
                    self.close_connection = True
                    return
                try:
                    receiver._serve(self, body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the sender left before its answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def _serve(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        webhook_id = headers.get("webhook-id", "")
        verified = False
        if self.secret is not None:
            try:
                Webhook(self.secret).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
        with self._lock:
            n = len(self.received)
            self.received.append(
                Received(
                    webhook_id=webhook_id,
                    timestamp=headers.get("webhook-timestamp", ""),
                    body=body.decode(),
                    verified=verified,
                    at=time.monotonic(),
                    client_port=handler.client_address[1],
                    wall=time.time(),
                )
            )
            if self._in_flight.get(webhook_id):
                self.overlaps.append(webhook_id)
            self._in_flight[webhook_id] = self._in_flight.get(webhook_id, 0) + 1
        try:
            answer = self.script(n, webhook_id)
            if answer.delay:
                time.sleep(answer.delay)
        finally:
            with self._lock:
                self._in_flight[webhook_id] -= 1
        handler.send_response(answer.status)
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        handler.send_header("content-length", "2")
        handler.end_headers()
        handler.wfile.write(b"ok")

    @property
    def connections(self) -> int:
        """How many TCP connections were made to the receiver (TLS or not)."""
        return self._server.connections

    def in_flight(self) -> int:
        """Requests that arrived and are not answered yet."""
        with self._lock:
            return sum(self._in_flight.values())

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.event for r in self.received]

    async def wait_for(
        self, condition: Callable[[list[Received]], bool], timeout: float = 20
    ) -> list[Received]:
        """Wait until ``condition`` holds of what arrived; fails with what did arrive."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                received = list(self.received)
            if condition(received):
                return received
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the receiver did not get what was awaited within {timeout} s; it got "
                    f"{[(r.webhook_id, r.body[:120]) for r in received]}"
                )
            await asyncio.sleep(0.02)

    def start(self) -> None:
        # shutdown() waits for the loop to look at its flag: every 0.5 s by default, which
        # made each test that stopped a receiver half a second longer.
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


class Hanging:
    """An endpoint that hangs: a server on 127.0.0.1 that accepts every connection, reads
    what is sent, and never answers (the sender's timeout ends each attempt). It counts the
    connections open at once, in all and per request path."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=512)
        self._listener.setblocking(False)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._paths: dict[socket.socket, str] = {}
        self._read: dict[socket.socket, bytes] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.accepted = 0
        self.most_open = 0
        self.most_open_per_path: dict[str, int] = {}
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def open_now(self) -> int:
        with self._lock:
            return len(self._read)

    def _serve(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.05):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self._listener:
                    try:
                        conn, _ = self._listener.accept()
                    except BlockingIOError:
                        continue
                    conn.setblocking(False)
                    self._selector.register(conn, selectors.EVENT_READ)
                    with self._lock:
                        self.accepted += 1
                        self._read[conn] = b""
                        self.most_open = max(self.most_open, len(self._read))
                    continue
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    continue
                except ConnectionError:
                    data = b""
                with self._lock:
                    if not data:  # the sender gave up: the attempt is over
                        self._selector.unregister(sock)
                        sock.close()
                        self._read.pop(sock, None)
                        self._paths.pop(sock, None)
                        continue
                    self._read[sock] += data
                    if sock not in self._paths and b" " in self._read[sock]:
                        line = self._read[sock].split(b"\r\n", 1)[0].decode("latin-1")
                        parts = line.split(" ")
                        if len(parts) >= 2:
                            self._paths[sock] = parts[1]
                            open_here = sum(1 for p in self._paths.values() if p == parts[1])
                            self.most_open_per_path[parts[1]] = max(
                                self.most_open_per_path.get(parts[1], 0), open_here
                            )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        for sock in list(self._read):
            sock.close()
        self._selector.close()
        self._listener.close()


@contextmanager
def hanging() -> Iterator[Hanging]:
    server = Hanging()
    server.start()
    try:
        yield server
    finally:
        server.stop()
