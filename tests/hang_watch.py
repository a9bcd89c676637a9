"""A test that hangs fails, and says where: no run waits for ever on one test.

The suite runs on one event loop per session (pytest-asyncio's session scope): a test, or
a fixture's set-up or teardown, that awaits something that never comes would hold the
whole run (CI's time limit, with nothing printed but the threads' stacks, all of them in
``select``). When one phase of a test (set-up, call, teardown) takes longer than
``NEVERLOG_TEST_HANG_SECONDS`` (300 by default, far above the slowest test of the long
profile), a watchdog thread prints the test's id, every thread's stack and, what says
where an asyncio test waits, the stack of every task of the loop; then it cancels those
tasks, so that the await under way raises and the test fails (as an error, the rest of
the run going on). Where cancelling does not end it within a further minute, the run
ends with exit status 3."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import sys
import threading
import traceback
from collections.abc import Generator, Iterator
from typing import Any

import pytest

HANG_SECONDS = float(os.environ.get("NEVERLOG_TEST_HANG_SECONDS", "300"))
GRACE_SECONDS = float(os.environ.get("NEVERLOG_TEST_HANG_GRACE", "60"))
_loops: set[asyncio.AbstractEventLoop] = set()


@pytest.fixture(scope="session", autouse=True)
async def _hang_watch_loop() -> None:
    """Learn the session's event loop, the one every async test and fixture runs on."""
    _loops.add(asyncio.get_running_loop())


def _threads() -> str:
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    return "".join(
        f"-- thread {names.get(ident, ident)}\n" + "".join(traceback.format_stack(frame))
        for ident, frame in sys._current_frames().items()
    )


def _tasks(loop: asyncio.AbstractEventLoop, into: list[str], done: threading.Event) -> None:
    """In the loop's own thread: every task's stack, then every task cancelled."""
    try:
        tasks = asyncio.all_tasks(loop)
        text = io.StringIO()
        for task in tasks:
            print(f"-- {task!r}", file=text)
            task.print_stack(file=text)
        into.append(f"{len(tasks)} asyncio tasks of the loop:\n{text.getvalue()}")
        for task in tasks:
            task.cancel()
    finally:
        done.set()


def _on_hang(item: pytest.Item, phase: str, finished: threading.Event) -> None:
    if finished.wait(HANG_SECONDS):
        return
    report = [
        f"== hang: {item.nodeid} ({phase}) still runs after {HANG_SECONDS:.0f} s "
        "(NEVERLOG_TEST_HANG_SECONDS); its tasks are cancelled",
        _threads(),
    ]
    for loop in list(_loops):
        if loop.is_running():
            dumped = threading.Event()
            loop.call_soon_threadsafe(_tasks, loop, report, dumped)
            dumped.wait(10)
    text = "\n".join(report)
    print(text, file=sys.stderr, flush=True)  # shown with the test's failure
    if finished.wait(GRACE_SECONDS):
        return
    # not ended by the cancellation: the run stops, and says why past pytest's capture
    capture = item.config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        capture.suspend_global_capture(in_=True)
    os.write(2, f"\n{text}\n== hang: {item.nodeid} did not end: the run stops\n".encode())
    os._exit(3)


@contextlib.contextmanager
def _watched(item: pytest.Item, phase: str) -> Iterator[None]:
    """A watchdog thread for one phase of ``item``, told when the phase has ended."""
    finished = threading.Event()
    threading.Thread(
        target=_on_hang, args=(item, phase, finished), name="hang-watch", daemon=True
    ).start()
    try:
        yield
    finally:
        finished.set()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, Any, Any]:
    with _watched(item, "set-up"):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    with _watched(item, "call"):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, Any, Any]:
    with _watched(item, "teardown"):
        return (yield)
