"""Fair webhook delivery, on both databases: one account's endpoints never hold another
account's deliveries back. The worker runs as ``neverlog serve`` runs it (its settings),
with a short attempt timeout; the hanging endpoints are a local server that accepts every
connection and never answers (tests/webhook_receiver.py's Hanging)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from api.settings import Settings
from tenancy.delivery import DeliveryWorker, Schedule
from tests.helpers import Api, Member, add_entries, assert_no_user_errors
from tests.webhook_receiver import Answer, hanging, receiving

CREATE = """mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
    secret endpoint { id } userErrors { field message code } } }"""
ENDPOINTS = """{ webhookEndpoints { url deliveries(first: 100) { edges { node {
    status attempts nextAttemptAt lastResponseStatus } } } } }"""
# What a process runs with (Settings' defaults), but for a short attempt timeout.
TIMEOUT = 3.0


@contextlib.asynccontextmanager
async def serving_worker(api: Api, schedule: Schedule, settings: Settings) -> AsyncIterator[None]:
    worker = DeliveryWorker(api.db, schedule=schedule, concurrency=settings.webhook_concurrency)
    worker.start()
    try:
        yield
    finally:
        await worker.stop()


async def endpoint(api: Api, admin: Member, url: str) -> str:
    data = await api.data(CREATE, {"input": {"url": url}}, token=admin.token)
    payload: dict[str, Any] = data["createWebhookEndpoint"]
    assert_no_user_errors(payload)
    secret: str = payload["secret"]
    return secret


async def deliveries_when(
    api: Api, admin: Member, condition: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """The account's deliveries, once ``condition`` holds of them (within 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        data = await api.data(ENDPOINTS, token=admin.token)
        found = [
            edge["node"] for e in data["webhookEndpoints"] for edge in e["deliveries"]["edges"]
        ]
        if condition(found) or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.05)


async def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.02)


async def test_an_account_whose_endpoints_hang_does_not_hold_back_another_accounts_delivery(
    api: Api,
) -> None:
    # given an account whose ten endpoints all hang, with more deliveries due than a
    # process keeps in flight, and another account with an endpoint that answers
    settings = Settings(
        webhook_timeout_seconds=TIMEOUT, webhook_lease_seconds=10, webhook_poll_seconds=0.05
    )
    schedule = settings.webhook_schedule
    busy = await api.new_account("Hanging")
    other = await api.new_account("Other")
    with hanging() as stuck, receiving() as receiver:
        for n in range(10):
            await endpoint(api, busy, f"{stuck.url}/hook-{n}")
        receiver.secret = await endpoint(api, other, receiver.url)
        changes = -(-(settings.webhook_concurrency + 1) // 10)
        for n in range(changes):
            assert_no_user_errors(
                await add_entries(api, busy, [f"*@busy-{n}.example.com"], scope="ACCOUNT")
            )
        async with serving_worker(api, schedule, settings):
            # the hanging account's attempts are in flight
            await until(lambda: stuck.open_now() >= 2, 5, "the hanging endpoints were tried")
            # when the other account changes its list
            changed = time.monotonic()
            assert_no_user_errors(await add_entries(api, other, ["*@lawfirm.com"], scope="ACCOUNT"))
            # then its delivery arrives within 2 s of the change, signed
            [arrived] = await receiver.wait_for(lambda r: len(r) >= 1, timeout=TIMEOUT * 3)
            assert arrived.at - changed < 2.0, arrived.at - changed
            assert arrived.verified
            # and the hanging account holds no more than its share, two per endpoint
            assert stuck.most_open <= schedule.per_account
            assert max(stuck.most_open_per_path.values()) <= schedule.per_endpoint


async def test_an_endpoint_that_keeps_timing_out_is_paused_and_resumes_on_an_answer(
    api: Api,
) -> None:
    # given an endpoint that answers only after the attempt timeout, the first two times
    schedule = Schedule(
        intervals=(0.05, 0.05, 0.05), timeout=0.5, lease=5, poll_interval=0.02, pause=1.5
    )
    admin = await api.new_account()
    with receiving() as receiver:
        receiver.script = lambda n, _id: Answer(delay=1.0) if n < 2 else Answer()
        receiver.secret = await endpoint(api, admin, receiver.url)
        for n in range(5):
            assert_no_user_errors(
                await add_entries(api, admin, [f"*@p{n}.example.com"], scope="ACCOUNT")
            )
        worker = DeliveryWorker(api.db, schedule=schedule)
        worker.start()
        try:
            # when two attempts time out
            await receiver.wait_for(lambda r: len(r) >= 2, timeout=5)
            paused = await deliveries_when(api, admin, lambda d: sum(x["attempts"] for x in d) >= 2)
            # then the endpoint is paused: nothing more was tried, two at most at once, and
            # its pending deliveries wait for the pause's end
            tried_while_paused = len(receiver.received)
            # and once it answers again, everything is delivered
            await receiver.wait_for(lambda r: len(r) >= 7, timeout=10)
            await until(lambda: receiver.in_flight() == 0, 5, "the receiver answered")
        finally:
            await worker.stop()
    assert tried_while_paused == 2
    waiting = [d for d in paused if d["attempts"] == 0]
    assert len(waiting) == 3
    assert all(d["status"] == "PENDING" and d["nextAttemptAt"] for d in waiting)
    events = {r.webhook_id for r in receiver.received}
    assert len(events) == 5
