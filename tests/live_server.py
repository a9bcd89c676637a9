"""A real ``neverlog serve`` process on a free port, with a fresh SQLite file, for tests that
talk to the service as a browser or a GraphQL client would. They run in the SQLite pass
(``NEVERLOG_TEST_BACKENDS``): the database under them is not what they test."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Protocol
from unittest import mock

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class LiveServer:
    url: str
    port: int
    env: dict[str, str]

    def create_account(self, name: str, admin_email: str) -> dict[str, str]:
        """``neverlog create-account``: its one line of JSON (account_id, user_id, token).
        The command runs in this process (``api.cli.main``, on a thread of its own, with the
        server's settings), which costs no interpreter start; what it does and prints is the
        same."""
        printed = run_cli_here(self.env, "create-account", name, "--admin-email", admin_email)
        assert len(printed.splitlines()) == 1, printed
        created: dict[str, str] = json.loads(printed)
        return created


_ENVIRON = threading.Lock()


def run_cli_here(env: dict[str, str], *args: str) -> str:
    """``neverlog <args>`` run in this process with the NEVERLOG_ settings of ``env``: what
    it printed; fails the test where it exits with another status than 0. On a thread of its
    own, as the command runs its own event loop (the caller may be inside one)."""
    from api import cli

    settings = {k: v for k, v in env.items() if k.startswith("NEVERLOG_")}
    out, err = io.StringIO(), io.StringIO()

    def run() -> int:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                return cli.main(list(args))
            except SystemExit as exit_:
                return exit_.code if isinstance(exit_.code, int) else 1

    with _ENVIRON, mock.patch.dict(os.environ, settings), ThreadPoolExecutor(1) as thread:
        status = thread.submit(run).result(timeout=60)
    assert status == 0, f"neverlog {' '.join(args)} exited with {status}: {err.getvalue()}"
    return out.getvalue()


@functools.cache
def exported_schema() -> str:
    """The SDL exactly as ``neverlog export-schema`` prints it, run as its own process once
    a session (tests/test_schema_file.py and tests/test_contract.py read it)."""
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "export-schema"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout


def free_port() -> int:
    """A TCP port on the loopback that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def live_server(tmp_path: Path, *serve_args: str, **settings: str) -> Iterator[LiveServer]:
    """Serve until the block ends; fails with the server's log if it does not come up.
    ``settings`` are NEVERLOG_ settings by their names (``header_timeout="1"``); none of
    the caller's own NEVERLOG_ or proxy settings leaks in."""
    backends = os.environ.get("NEVERLOG_TEST_BACKENDS", "sqlite,postgresql").split(",")
    if "sqlite" not in {b.strip() for b in backends}:
        pytest.skip("live-server tests run in the SQLite pass (NEVERLOG_TEST_BACKENDS)")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEVERLOG_")}
    env.pop("FORWARDED_ALLOW_IPS", None)
    env |= {
        "NEVERLOG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'neverlog.db'}",
        "NEVERLOG_LOG_LEVEL": "WARNING",
        **{f"NEVERLOG_{name.upper()}": value for name, value in settings.items()},
    }
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "api.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *serve_args,
    ]
    with serving(command, env=env, url=url, log_path=tmp_path / "server.log"):
        yield LiveServer(url=url, port=port, env=env)


class Process(Protocol):
    """What the tests do with a server process: ``subprocess.Popen``'s, or a ``Forked``."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def send_signal(self, sig: int) -> None: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...


class Forked:
    """A ``neverlog serve`` forked from the fork server (``start_process``), with the methods
    of ``subprocess.Popen`` that the tests use; its status is Popen's too (0, 1, or minus the
    signal that ended it)."""

    def __init__(self, process: multiprocessing.process.BaseProcess) -> None:
        self._process = process

    @property
    def pid(self) -> int:
        pid = self._process.pid
        assert pid is not None
        return pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        status = self._process.exitcode
        if status is None:
            raise subprocess.TimeoutExpired(["neverlog", "serve"], timeout or 0)
        return status

    def send_signal(self, sig: int) -> None:
        if self._process.exitcode is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


@functools.cache
def _fork_server() -> BaseContext:
    """multiprocessing's fork server, started on the first use, with the app imported once
    (tests/forked_serve.py); each ``neverlog serve`` is a fork of it. ``__main__`` too: where
    the main module is a file (``pytest -n 0``, not an xdist worker), each child would
    otherwise run it again."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", "tests.forked_serve"])
    return context


SERVE = [sys.executable, "-m", "api.cli", "serve"]


def start_process(command: list[str], *, env: dict[str, str], log_path: Path) -> Process:
    """Start ``command`` from the repository's root with ``env`` as its environment, its
    output in ``log_path`` (made anew). ``python -m api.cli serve ...`` is forked from a
    process that has imported the app (the fork server, once a worker): the same
    ``api.cli.main`` with the same arguments and environment, without the 1.3 s of CPU of a
    new interpreter's imports. Not where it would differ: ``--workers`` (uvicorn spawns each
    worker from the command's main module) or a ``PROMETHEUS_MULTIPROC_DIR`` (read when
    prometheus_client is imported), nor any other command."""
    log_path.write_bytes(b"")
    forkable = (
        command[: len(SERVE)] == SERVE
        and "--workers" not in command
        and env.get("PROMETHEUS_MULTIPROC_DIR") == os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    )
    if forkable:
        from tests import forked_serve

        process = _fork_server().Process(
            target=forked_serve.serve,
            args=(command[len(SERVE) - 1 :], env, str(REPO), str(log_path)),
            name="neverlog serve",
            # Stopped by the worker's exit where a test left it running (as the fixtures
            # never do), not waited for; it starts no process of its own (no --workers).
            daemon=True,
        )
        process.start()
        return Forked(process)
    with log_path.open("wb") as log:
        return subprocess.Popen(command, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)


@contextlib.contextmanager
def serving(
    command: list[str], *, env: dict[str, str], url: str, log_path: Path, start_timeout: float = 120
) -> Iterator[Process]:
    """Run a server process until the block ends: it has answered /healthz when the block
    starts (else the error carries its log), and it is stopped (SIGTERM, then SIGKILL) when
    the block ends, however it ends."""
    with serving_together([Served(command, env, url, log_path)], start_timeout) as (server,):
        yield server


@dataclass(frozen=True)
class Served:
    """A server process to run: its command, environment, URL and log file."""

    command: list[str]
    env: dict[str, str]
    url: str
    log_path: Path


@contextlib.contextmanager
def serving_together(servers: list[Served], start_timeout: float = 120) -> Iterator[list[Process]]:
    """``serving`` for several servers, started at once: each has answered /healthz when
    the block starts, and all are stopped when it ends. They start side by side, not one
    after the other."""
    with contextlib.ExitStack() as stack:
        started: list[Process] = []
        stack.callback(_stop, started)
        for served in servers:
            started.append(start_process(served.command, env=served.env, log_path=served.log_path))
        for server, served in zip(started, servers, strict=True):
            _wait_until_up(server, served.url, served.log_path, start_timeout)
        yield started


def _stop(servers: list[Process]) -> None:
    """SIGTERM to every server at once, then a wait for each (SIGKILL after 20 s)."""
    for server in servers:
        server.terminate()
    for server in servers:
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_up(server: Process, url: str, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    # One client for every poll: each new one loads the CA bundle, about 40 ms of CPU.
    with httpx.Client(timeout=1) as http:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise AssertionError(
                    f"the server exited with {server.returncode}:\n{log_path.read_text()}"
                )
            try:
                if http.get(f"{url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise AssertionError(
        f"the server did not answer /healthz in {timeout:g} s:\n{log_path.read_text()}"
    )
