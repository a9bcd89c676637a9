"""uvicorn's httptools protocol, guarded against slow clients.

uvicorn (0.54) closes idle keep-alive connections, but a connection that sends half a
request line, or headers one byte a minute, or a body that stops, it holds for ever: a few
hundred of them exhaust the process's file descriptors. This protocol adds, per connection:

- a header timeout: the request's headers must be complete within ``header_timeout``
  seconds of the connection (or of the first byte of the next request on it);
- a body timeout: while a body is being received, ``body_timeout`` seconds without a byte
  end the connection (unless the server itself has paused reading);
- a cap on the connections of the process: past ``max_connections``, a new connection
  closes the oldest one that has not sent its headers yet (idle and half-sent ones go
  first); where every one is busy, requests other than /healthz and /readyz are answered
  503 until the count falls, and past ``max_connections`` + ``HEADROOM`` a new connection
  is closed at once. /healthz keeps answering under a flood of idle connections.

The settings travel through the environment (``NEVERLOG_HEADER_TIMEOUT``,
``NEVERLOG_BODY_TIMEOUT``, ``NEVERLOG_MAX_CONNECTIONS``), so that every worker process
reads the same.
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
from dataclasses import dataclass
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.errors import send_error
from api.middleware import security_headers
from policy.errors import ServerBusy

HEADROOM = 100
HEALTH_PATHS = ("/healthz", "/readyz")


@dataclass(frozen=True, slots=True)
class Guard:
    header_timeout: float = 5.0
    body_timeout: float = 10.0
    max_connections: int = 1_000
    # The answer of a busy process carries the headers of every answer (api/middleware.py).
    production: bool = False

    @classmethod
    def from_environment(cls) -> Guard:
        return cls(
            header_timeout=float(os.environ.get("NEVERLOG_HEADER_TIMEOUT", "5")),
            body_timeout=float(os.environ.get("NEVERLOG_BODY_TIMEOUT", "10")),
            max_connections=int(os.environ.get("NEVERLOG_MAX_CONNECTIONS", "1000")),
            production=os.environ.get("NEVERLOG_ENVIRONMENT", "").lower() == "production",
        )


_GUARD: Guard | None = None


def guard() -> Guard:
    global _GUARD
    if _GUARD is None:
        _GUARD = Guard.from_environment()
    return _GUARD


# The collector's thresholds once the app is built: a young generation of 20,000 objects
# (Python's default is 700) before a collection, then the defaults' proportions. A request
# makes a few thousand short-lived objects (parsed addresses, decisions, the answer's
# dicts), nearly all freed by reference counting: at 700 the collector ran several times
# a request and walked the older generations often. Measured with bench_decide: decisions
# of never-seen addresses from 67,000-115,000/s to 120,000-129,000/s on the same machine.
COLLECTOR_THRESHOLDS = (20_000, 50, 100)


def tune_collector() -> None:
    """Once the app is built and before it serves: what exists now (modules, the schema,
    caches) is moved out of the collector's sight for good (gc.freeze: it lives as long as
    the process), and collections of the young generation are spaced out."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


def raise_open_files_limit(wanted: int) -> int:
    """Raise the soft limit of open files towards ``wanted`` (never past the hard limit):
    each connection holds one. The limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return int(soft)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.guard = guard()
        self._timer: asyncio.TimerHandle | None = None
        # Waiting for a request's headers (a new connection, or between requests): such a
        # connection may be closed to make room.
        self.awaiting_headers = True
        self.in_body = False
        self.opened_at = 0.0

    # -- the cap ---------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.opened_at = self.loop.time()
        count = len(self.connections)
        over = count > self.guard.max_connections
        if over and not self._make_room() and count > self.guard.max_connections + HEADROOM:
            transport.close()
            return
        self._arm(self.guard.header_timeout)

    def _make_room(self) -> bool:
        """Close the oldest connection still waiting for its headers; whether there was one."""
        oldest: GuardedHttpToolsProtocol | None = None
        for other in self.connections:
            if (
                other is not self
                and isinstance(other, GuardedHttpToolsProtocol)
                and other.awaiting_headers
                and not other.transport.is_closing()
                and (oldest is None or other.opened_at < oldest.opened_at)
            ):
                oldest = other
        if oldest is None:
            return False
        oldest.transport.close()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    # -- the timers ------------------------------------------------------------------------

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if self.in_body and self.flow.read_paused:
            # The server has paused reading (the application has not taken the body yet):
            # the client is not stalling.
            self._arm(self.guard.body_timeout)
            return
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.in_body and self._timer is not None:
            self._arm(self.guard.body_timeout)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self.awaiting_headers or self._timer is None:
            # The first byte of a further request on a kept-alive connection.
            self.awaiting_headers = True
            self._arm(self.guard.header_timeout)

    def on_headers_complete(self) -> None:
        self.awaiting_headers = False
        self.in_body = True
        self._arm(self.guard.body_timeout)
        if len(self.connections) <= self.guard.max_connections:
            super().on_headers_complete()
            return
        # At the cap with every connection busy: 503 in place of the application, but for
        # the health checks.
        path = httptools.parse_url(self.url).path.decode("ascii", "replace")
        if path in HEALTH_PATHS:
            super().on_headers_complete()
            return
        app = self.app
        self.app = _busy
        try:
            super().on_headers_complete()
        finally:
            self.app = app

    def on_message_complete(self) -> None:
        self.in_body = False
        self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Idle until the next request: uvicorn's keep-alive timeout closes it; meanwhile it
        # is among the first to go to make room.
        self.awaiting_headers = True


async def _busy(scope: Any, receive: Any, send: Any) -> None:
    await send_error(send, ServerBusy(), headers=security_headers(production=guard().production))
