"""Stopping a background task, for the services that run one (the listening connection
here, tenancy's sweeps, polls and hubs): persistence is the lowest floor that runs any."""

from __future__ import annotations

import asyncio
from typing import Any

# How long a task is given to end once cancelled before it is cancelled again.
AGAIN_AFTER = 0.5


async def cancel_and_wait(task: asyncio.Task[Any], *, again_after: float = AGAIN_AFTER) -> None:
    """Cancel ``task`` and wait until it has ended; what it raised, other than its
    cancellation, is raised here.

    One cancellation can be lost. On Python 3.11, ``asyncio.wait_for`` returns its inner
    result, and drops the cancellation, when that result comes in the same turn of the
    event loop (CPython gh-86296, fixed in 3.12), and a library's own timeouts can do the
    same: the task then goes on as if it had never been cancelled, and an ``await task``
    waits for ever (a stopping app held until it is killed; the test suite's event loop
    held until CI's time limit). So the task is cancelled again every ``again_after``
    seconds until it has ended."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=again_after)
    if not task.cancelled():
        task.result()
