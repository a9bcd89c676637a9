"""Webhooks through the API, on both databases, delivered by the worker of tenancy/delivery.py
to a real HTTP receiver on 127.0.0.1 that verifies each signature with the standardwebhooks
package. The worker runs here with short intervals between attempts (its schedule is
injectable); what it sends is what a ``neverlog serve`` process sends."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from api.settings import Settings
from policy.errors import Refusal
from tenancy.delivery import DeliveryWorker, Schedule, is_private, retry_after_seconds
from tenancy.webhooks import checked_url
from tests.helpers import (
    IMPORT_LIST,
    REMOVE_ENTRIES,
    Api,
    Member,
    add_entries,
    assert_no_user_errors,
    assert_top_level_error,
    assert_user_error,
)
from tests.webhook_receiver import Answer, Received, Receiver, receiving

FAST = Schedule(intervals=(0.05, 0.05, 0.05), timeout=5, lease=10, poll_interval=0.02)

CREATE = """mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
    secret endpoint { id url description eventTypes enabled createdAt }
    userErrors { field message code } } }"""

UPDATE = """mutation($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) {
    endpoint { id url description eventTypes enabled } userErrors { field message code } } }"""

DELETE = """mutation($input: DeleteWebhookEndpointInput!) { deleteWebhookEndpoint(input: $input) {
    deletedId userErrors { field message code } } }"""

REDELIVER = """mutation($input: RedeliverWebhookInput!) { redeliverWebhook(input: $input) {
    delivery { id eventId status attempts } userErrors { field message code } } }"""

ENDPOINTS = """{ webhookEndpoints { id url enabled eventTypes
    deliveries(first: 100) { totalCount edges { node {
        id eventId eventType status attempts lastAttemptAt lastResponseStatus nextAttemptAt
        payload } } } } }"""

AUDIT = "{ auditEvents(first: 20) { edges { node { action summary } } } }"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


@contextlib.asynccontextmanager
async def delivering(api: Api, schedule: Schedule = FAST, **options: Any) -> AsyncIterator[None]:
    """A delivery worker on the test database, as every server process runs one."""
    worker = DeliveryWorker(api.db, schedule=schedule, **options)
    worker.start()
    try:
        yield
    finally:
        await worker.stop()


async def create_endpoint(
    api: Api, admin: Member, receiver: Receiver, **fields: Any
) -> dict[str, Any]:
    data = await api.data(CREATE, {"input": {"url": receiver.url, **fields}}, token=admin.token)
    payload: dict[str, Any] = data["createWebhookEndpoint"]
    assert_no_user_errors(payload)
    receiver.secret = payload["secret"]
    endpoint: dict[str, Any] = payload["endpoint"]
    return endpoint


async def deliveries(api: Api, admin: Member) -> list[dict[str, Any]]:
    data = await api.data(ENDPOINTS, token=admin.token)
    return [
        edge["node"]
        for endpoint in data["webhookEndpoints"]
        for edge in endpoint["deliveries"]["edges"]
    ]


async def wait_for_deliveries(
    api: Api, admin: Member, condition: Callable[[list[dict[str, Any]]], bool], timeout: float = 20
) -> list[dict[str, Any]]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await deliveries(api, admin)
        if condition(found):
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"deliveries did not come to the state awaited: {found}")
        await asyncio.sleep(0.05)


def one(received: list[Received]) -> bool:
    return len(received) >= 1


def settled(found: list[dict[str, Any]]) -> bool:
    """No delivery waits for an attempt (each was delivered or failed for good)."""
    return bool(found) and all(d["status"] != "PENDING" for d in found)


# -- endpoints -----------------------------------------------------------------------------


async def test_a_super_admin_creates_an_endpoint_and_sees_its_secret_once(
    api: Api, receiver: Receiver
) -> None:
    # given
    admin = await api.new_account()
    # when
    data = await api.data(
        CREATE,
        {"input": {"url": receiver.url, "description": "CRM purge", "eventTypes": None}},
        token=admin.token,
    )
    # then the secret is whsec_ and the base64 of 32 bytes, and every type is sent
    payload = data["createWebhookEndpoint"]
    assert_no_user_errors(payload)
    secret = payload["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert payload["endpoint"]["eventTypes"] == [
        "NEVER_LOG_ENTRIES_ADDED",
        "NEVER_LOG_ENTRIES_REMOVED",
        "NEVER_LOG_ENTRIES_EXPIRED",
        "INTERNAL_DOMAINS_CHANGED",
        "NEVER_LOG_ENTRIES_UPDATED",
        "ACCOUNT_SETTINGS_CHANGED",
        "USER_SETTINGS_CHANGED",
    ]
    assert payload["endpoint"]["enabled"] is True
    # and no later answer shows the secret again
    listed = await api.gql("{ webhookEndpoints { id url description } }", token=admin.token)
    assert listed["data"]["webhookEndpoints"] == [
        {"id": payload["endpoint"]["id"], "url": receiver.url, "description": "CRM purge"}
    ]
    assert secret not in str(listed)
    audit = await api.data(AUDIT, token=admin.token)
    assert audit["auditEvents"]["edges"][0]["node"] == {
        "action": "WEBHOOK_ENDPOINT_CREATED",
        "summary": f"Webhook endpoint {receiver.url} was created.",
    }


async def test_users_may_not_keep_or_see_endpoints(api: Api, receiver: Receiver) -> None:
    # given
    admin = await api.new_account()
    endpoint = await create_endpoint(api, admin, receiver)
    user = await api.add_member(admin)
    # when / then
    created = await api.data(CREATE, {"input": {"url": receiver.url}}, token=user.token)
    assert_user_error(created["createWebhookEndpoint"], "FORBIDDEN")
    updated = await api.data(
        UPDATE, {"input": {"id": endpoint["id"], "enabled": False}}, token=user.token
    )
    assert_user_error(updated["updateWebhookEndpoint"], "FORBIDDEN")
    deleted = await api.data(DELETE, {"input": {"id": endpoint["id"]}}, token=user.token)
    assert_user_error(deleted["deleteWebhookEndpoint"], "FORBIDDEN")
    assert_top_level_error(
        await api.gql("{ webhookEndpoints { id } }", token=user.token), "FORBIDDEN"
    )
    node = await api.data(
        "query($id: ID!) { node(id: $id) { id } }", {"id": endpoint["id"]}, token=user.token
    )
    assert node == {"node": None}


async def test_an_account_keeps_at_most_ten_endpoints(api: Api, receiver: Receiver) -> None:
    # given ten endpoints
    admin = await api.new_account()
    for _ in range(10):
        await create_endpoint(api, admin, receiver)
    # when an eleventh is created
    data = await api.data(CREATE, {"input": {"url": receiver.url}}, token=admin.token)
    # then
    error = assert_user_error(data["createWebhookEndpoint"], "LIMIT_EXCEEDED")
    assert "10" in error["message"]
    listed = await api.data("{ webhookEndpoints { id } }", token=admin.token)
    assert len(listed["webhookEndpoints"]) == 10


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://crm.example.com/hooks", "https://"),
        ("http://crm.example.com/hooks", "loopback"),
        ("http://10.0.0.5/hooks", "loopback"),
        ("https://user:pw@crm.example.com/hooks", "credentials"),
        ("https://crm.example.com/a b", "white space"),
        ("not a url", "white space"),
        ("https:///hooks", "https://"),
    ],
)
async def test_a_url_that_is_not_https_or_loopback_http_is_refused(
    api: Api, url: str, why: str
) -> None:
    admin = await api.new_account()
    data = await api.data(CREATE, {"input": {"url": url}}, token=admin.token)
    error = assert_user_error(data["createWebhookEndpoint"], "INVALID_INPUT", ["input", "url"])
    assert why in error["message"]
    assert (await api.data("{ webhookEndpoints { id } }", token=admin.token)) == {
        "webhookEndpoints": []
    }


def test_production_refuses_plain_http_and_private_addresses_unless_allowed() -> None:
    # given the settings of a production process (production needs PostgreSQL)
    url = "postgresql+asyncpg://neverlog@db/neverlog"
    production = Settings(database_url=url, environment="production")
    allowed = Settings(database_url=url, environment="production", webhook_allow_private=True)
    # then plain http is refused even to the loopback, and so are private addresses
    assert production.limits.webhook_plain_http is False
    with pytest.raises(Refusal, match="plain http"):
        checked_url("http://127.0.0.1:8080/hooks", plain_http=production.limits.webhook_plain_http)
    assert checked_url(" https://127.0.0.1/hooks ", plain_http=False) == "https://127.0.0.1/hooks"
    assert production.webhook_refuse_private is True
    assert allowed.webhook_refuse_private is False
    assert Settings().webhook_refuse_private is False


@pytest.mark.parametrize(
    ("attempt", "retry_after", "next_in"),
    [
        (1, None, 5),  # the first attempt is at once; the second 5 s after it
        (2, None, 300),
        (3, None, 1800),
        (4, None, 7200),
        (5, None, 18000),
        (6, None, 36000),
        (7, None, 36000),
        (8, None, None),  # the eighth attempt was the last: FAILED
        (1, 120, 120),  # Retry-After later than the schedule: honoured
        (2, 60, 300),  # sooner: the schedule stands
        (1, 10**9, 36000),  # never past the longest interval
        (8, 60, None),  # and it adds no attempt
    ],
)
def test_the_retry_schedule(attempt: int, retry_after: float | None, next_in: float | None) -> None:
    assert Schedule().after_failure(attempt, retry_after) == next_in


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds("Tue, 01 Dec 2026 12:01:30 GMT", now) == 90
    assert retry_after_seconds("Tue, 01 Dec 2026 11:00:00 GMT", now) == 0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


@pytest.mark.parametrize(
    ("address", "private"),
    [
        ("10.0.0.1", True),
        ("172.16.5.4", True),
        ("192.168.1.1", True),
        ("127.0.0.1", True),
        ("169.254.169.254", True),  # a cloud's metadata service
        ("100.64.0.1", True),  # carrier-grade NAT
        ("0.0.0.0", True),
        ("::1", True),
        ("fe80::1", True),
        ("fd00::1", True),
        ("::ffff:127.0.0.1", True),
        ("93.184.215.14", False),
        ("2606:4700:4700::1111", False),
    ],
)
def test_which_addresses_production_refuses(address: str, private: bool) -> None:
    assert is_private(address) is private


async def test_update_and_delete_are_audited_and_an_unknown_id_is_not_found(
    api: Api, receiver: Receiver
) -> None:
    # given
    admin = await api.new_account()
    other = await api.new_account("Globex")
    endpoint = await create_endpoint(api, admin, receiver)
    # when
    updated = await api.data(
        UPDATE,
        {
            "input": {
                "id": endpoint["id"],
                "description": "only additions",
                "eventTypes": ["NEVER_LOG_ENTRIES_ADDED"],
            }
        },
        token=admin.token,
    )
    # then
    assert_no_user_errors(updated["updateWebhookEndpoint"])
    assert updated["updateWebhookEndpoint"]["endpoint"] == {
        "id": endpoint["id"],
        "url": receiver.url,
        "description": "only additions",
        "eventTypes": ["NEVER_LOG_ENTRIES_ADDED"],
        "enabled": True,
    }
    # and another account's admin cannot touch it
    foreign = await api.data(DELETE, {"input": {"id": endpoint["id"]}}, token=other.token)
    assert_user_error(foreign["deleteWebhookEndpoint"], "NOT_FOUND", ["input", "id"])
    # when it is deleted
    deleted = await api.data(DELETE, {"input": {"id": endpoint["id"]}}, token=admin.token)
    assert deleted["deleteWebhookEndpoint"] == {"deletedId": endpoint["id"], "userErrors": []}
    again = await api.data(DELETE, {"input": {"id": endpoint["id"]}}, token=admin.token)
    assert_user_error(again["deleteWebhookEndpoint"], "NOT_FOUND", ["input", "id"])
    audit = await api.data(AUDIT, token=admin.token)
    actions = [e["node"]["action"] for e in audit["auditEvents"]["edges"]]
    assert actions[:3] == [
        "WEBHOOK_ENDPOINT_DELETED",
        "WEBHOOK_ENDPOINT_UPDATED",
        "WEBHOOK_ENDPOINT_CREATED",
    ]


# -- events and their bodies ------------------------------------------------------------------


async def test_additions_to_the_account_wide_list_are_delivered_signed(
    api: Api, receiver: Receiver
) -> None:
    # given
    admin = await api.new_account()
    await create_endpoint(api, admin, receiver)
    # when
    added = await add_entries(api, admin, ["*@lawfirm.com", "ceo@partner.com"], scope="ACCOUNT")
    async with delivering(api):
        received = await receiver.wait_for(one)
        [delivery] = await wait_for_deliveries(api, admin, lambda d: d[0]["status"] == "DELIVERED")
    # then the signature verifies with the standardwebhooks package
    [request] = received
    assert request.verified
    event = request.event
    assert event["type"] == "never_log.entries_added"
    assert dt.datetime.fromisoformat(event["timestamp"]).tzinfo is not None
    ids = {e["pattern"]: e["id"] for e in added["added"]}
    assert event["data"] == {
        "accountId": admin.account_id,
        "sequence": 1,
        "scope": "ACCOUNT",
        "ownerId": None,
        "entries": [
            {
                "id": ids["*@lawfirm.com"],
                "pattern": "*@lawfirm.com",
                "kind": "DOMAIN",
                "note": None,
                "expiresAt": None,
                "action": "NEVER_LOG",
            },
            {
                "id": ids["ceo@partner.com"],
                "pattern": "ceo@partner.com",
                "kind": "ADDRESS",
                "note": None,
                "expiresAt": None,
                "action": "NEVER_LOG",
            },
        ],
    }
    # and the delivery shows what was sent
    assert delivery["eventId"] == request.webhook_id
    assert delivery["eventType"] == "NEVER_LOG_ENTRIES_ADDED"
    assert delivery["attempts"] == 1
    assert delivery["lastResponseStatus"] == 200
    assert delivery["nextAttemptAt"] is None
    assert delivery["payload"] == request.body


async def test_personal_list_changes_are_delivered_with_their_owner(
    api: Api, receiver: Receiver
) -> None:
    # given a user's personal list: private from the super admin, not from the integration
    admin = await api.new_account()
    await create_endpoint(api, admin, receiver)
    user = await api.add_member(admin)
    # when the user adds, then removes an entry
    added = await add_entries(api, user, ["doctor@clinic.com"])
    entry_id = added["added"][0]["id"]
    removed = await api.data(
        REMOVE_ENTRIES,
        {"input": {"scope": "PERSONAL", "patterns": ["doctor@clinic.com"]}},
        token=user.token,
    )
    assert_no_user_errors(removed["removeNeverLogEntries"])
    async with delivering(api):
        received = await receiver.wait_for(lambda r: len(r) >= 2)
    # then
    events = sorted((r.event for r in received), key=lambda e: e["data"]["sequence"])
    assert [e["type"] for e in events] == ["never_log.entries_added", "never_log.entries_removed"]
    assert [e["data"]["sequence"] for e in events] == [1, 2]
    for event in events:
        assert event["data"]["scope"] == "PERSONAL"
        assert event["data"]["ownerId"] == user.user_id
        assert [e["id"] for e in event["data"]["entries"]] == [entry_id]
    assert all(r.verified for r in received)


DELIVERY_NODE = """query($id: ID!) { node(id: $id) { ... on WebhookDelivery { payload } } }"""
REDELIVER_PAYLOAD = """mutation($input: RedeliverWebhookInput!) { redeliverWebhook(input: $input) {
    delivery { id payload } userErrors { field message code } } }"""


async def test_the_delivery_log_keeps_another_users_personal_list_private(
    api: Api, receiver: Receiver
) -> None:
    # given a user's personal list change with a note, the admin's own personal list change
    # and an account-wide change, all delivered
    admin = await api.new_account()
    await create_endpoint(api, admin, receiver)
    user = await api.add_member(admin)
    data = await api.data(
        """mutation($input: AddNeverLogEntriesInput!) { addNeverLogEntries(input: $input) {
            userErrors { code } } }""",
        {
            "input": {
                "scope": "PERSONAL",
                "patterns": ["doctor@clinic.com", "*@family.com"],
                "note": "my therapist",
            }
        },
        token=user.token,
    )
    assert_no_user_errors(data["addNeverLogEntries"])
    assert_no_user_errors(await add_entries(api, admin, ["mine@admin-only.com"]))
    assert_no_user_errors(await add_entries(api, admin, ["*@lawfirm.com"], scope="ACCOUNT"))
    async with delivering(api):
        received = await receiver.wait_for(lambda r: len(r) >= 3)
        found = await wait_for_deliveries(
            api, admin, lambda d: len(d) == 3 and all(x["status"] == "DELIVERED" for x in d)
        )
        # when the super admin reads the log: the list, the node, and a redelivery
        sent = {r.webhook_id: r for r in received}
        private = next(d for d in found if user.user_id in d["payload"])
        node = await api.data(DELIVERY_NODE, {"id": private["id"]}, token=admin.token)
        redelivered = (
            await api.data(
                REDELIVER_PAYLOAD, {"input": {"deliveryId": private["id"]}}, token=admin.token
            )
        )["redeliverWebhook"]
        again = await receiver.wait_for(lambda r: len(r) >= 4)
    # then the endpoint received the user's patterns and note, signed
    body = sent[private["eventId"]]
    assert body.verified
    assert sorted((e["pattern"], e["note"]) for e in body.event["data"]["entries"]) == [
        ("*@family.com", "my therapist"),
        ("doctor@clinic.com", "my therapist"),
    ]
    # and the super admin reads the same body with each entry's pattern and note null
    shown = json.loads(private["payload"])
    original = body.event
    for entry in original["data"]["entries"]:
        entry["pattern"] = entry["note"] = None
    assert shown == original
    assert "doctor@clinic.com" not in private["payload"]
    assert "therapist" not in private["payload"]
    assert json.loads(node["node"]["payload"]) == original
    assert_no_user_errors(redelivered)
    assert json.loads(redelivered["delivery"]["payload"]) == original
    # while a redelivery sends the original body again, with the same id
    assert again[3].webhook_id == body.webhook_id
    assert again[3].body == body.body
    assert again[3].verified
    # and the admin's own personal list and the account-wide list read as they were sent
    for delivery in found:
        if delivery is not private:
            assert delivery["payload"] == sent[delivery["eventId"]].body


async def test_a_replace_import_sends_what_it_removed_and_what_it_added(
    api: Api, receiver: Receiver
) -> None:
    # given
    admin = await api.new_account()
    await add_entries(api, admin, ["*@old.com", "*@kept.com"], scope="ACCOUNT")
    await create_endpoint(api, admin, receiver)
    # when
    imported = await api.data(
        IMPORT_LIST,
        {"input": {"scope": "ACCOUNT", "csv": "*@kept.com\n*@new.com\n", "mode": "REPLACE"}},
        token=admin.token,
    )
    assert_no_user_errors(imported["importNeverLogList"])
    async with delivering(api):
        received = await receiver.wait_for(lambda r: len(r) >= 2)
    # then
    by_type = {r.event["type"]: r.event["data"] for r in received}
    assert [e["pattern"] for e in by_type["never_log.entries_removed"]["entries"]] == ["*@old.com"]
    assert [e["pattern"] for e in by_type["never_log.entries_added"]["entries"]] == ["*@new.com"]


async def test_a_refused_change_sends_nothing_and_types_not_wanted_are_not_sent(
    api: Api, receiver: Receiver
) -> None:
    # given an endpoint that wants only removals
    admin = await api.new_account()
    await create_endpoint(api, admin, receiver, eventTypes=["NEVER_LOG_ENTRIES_REMOVED"])
    # when a change is refused as a whole, and another adds
    refused = await add_entries(api, admin, ["*@ok.com", "na*me@x.com"], scope="ACCOUNT")
    assert refused["userErrors"]
    await add_entries(api, admin, ["*@ok.com"], scope="ACCOUNT")
    removed = await api.data(
        REMOVE_ENTRIES, {"input": {"scope": "ACCOUNT", "patterns": ["*@ok.com"]}}, token=admin.token
    )
    assert_no_user_errors(removed["removeNeverLogEntries"])
    async with delivering(api):
        received = await receiver.wait_for(one)
        # every delivery of the account made (with its change) and ended: nothing is left
        # to send once the worker stops
        await wait_for_deliveries(api, admin, settled)
    # then only the removal was sent, as the account's first event
    assert [(r.event["type"], r.event["data"]["sequence"]) for r in receiver.received] == [
        ("never_log.entries_removed", 1)
    ]
    assert received[0].verified


# -- attempts ---------------------------------------------------------------------------------


async def test_a_failed_attempt_is_retried_with_the_same_webhook_id(
    api: Api, receiver: Receiver
) -> None:
    # given an endpoint that fails once
    admin = await api.new_account()
    await create_endpoint(api, admin, receiver)
    receiver.script = lambda n, _id: Answer(500 if n == 0 else 200)
    # when
    await add_entries(api, admin, ["*@lawfirm.com"], scope="ACCOUNT")
    async with delivering(api):
        received = await receiver.wait_for(lambda r: len(r) >= 2)
        [delivery] = await wait_for_deliveries(api, admin, lambda d: d[0]["status"] == "DELIVERED")
    # then
    assert received[0].webhook_id == received[1].webhook_id == delivery["eventId"]
    assert received[0].body == received[1].body
    assert all(r.verified for r in received)
    assert delivery["attempts"] == 2
    assert delivery["lastResponseStatus"] == 200


async def test_every_attempt_failing_ends_failed_after_the_schedule(
    api: Api, receiver: Receiver
) -> None:
    # given an endpoint that always fails, and a schedule of four attempts
    admin = await api.new_account()
    await create_endpoint(api, admin, receiver)
    receiver.script = lambda n, _id: Answer(500)
    # when
    await add_entries(api, admin, ["*@lawfirm.com"], scope="ACCOUNT")
    async with delivering(api):
        # (FAILED is recorded after the last attempt's answer, and is never attempted again)
        [delivery] = await wait_for_deliveries(api, admin, lambda d: d[0]["status"] == "FAILED")
    # then
    assert delivery["attempts"] == 4
    assert len(receiver.received) == 4
    assert delivery["lastResponseStatus"] == 500
    assert delivery["nextAttemptAt"] is None


async def test_retry_after_on_503_delays_the_next_attempt(api: Api, receiver: Receiver) -> None:
    # given an endpoint that answers 503 with Retry-After: 1 once (the schedule says 0.05 s)
    admin = await api.new_account()
    await create_endpoint(api, admin, receiver)
    receiver.script = lambda n, _id: Answer(503, {"Retry-After": "1"}) if n == 0 else Answer()
    # when
    await add_entries(api, admin, ["*@lawfirm.com"], scope="ACCOUNT")
    schedule = Schedule(intervals=(0.05, 0.05, 3), timeout=5, lease=10, poll_interval=0.02)
    async with delivering(api, schedule):
        received = await receiver.wait_for(lambda r: len(r) >= 2, timeout=30)
    # then the second attempt came no sooner than the server asked
    assert received[1].at - received[0].at >= 1
    assert received[0].webhook_id == received[1].webhook_id


async def test_410_gone_disables_the_endpoint(api: Api, receiver: Receiver) -> None:
    # given
    admin = await api.new_account()
    endpoint = await create_endpoint(api, admin, receiver)
    receiver.script = lambda n, _id: Answer(410)
    # when
    await add_entries(api, admin, ["*@lawfirm.com"], scope="ACCOUNT")
    async with delivering(api):
        [delivery] = await wait_for_deliveries(api, admin, lambda d: d[0]["status"] == "FAILED")
        # and later changes are not sent to it: they make no delivery to it (a change's
        # deliveries are made in its transaction), so the worker has nothing to send
        await add_entries(api, admin, ["*@other.com"], scope="ACCOUNT")
    # then
    assert delivery["attempts"] == 1
    assert delivery["lastResponseStatus"] == 410
    data = await api.data("{ webhookEndpoints { id enabled } }", token=admin.token)
    assert data["webhookEndpoints"] == [{"id": endpoint["id"], "enabled": False}]
    assert len(receiver.received) == 1
    assert len(await deliveries(api, admin)) == 1
    # and redelivery is refused until it is enabled again
    refused = await api.data(
        REDELIVER, {"input": {"deliveryId": delivery["id"]}}, token=admin.token
    )
    assert_user_error(refused["redeliverWebhook"], "INVALID_INPUT", ["input", "deliveryId"])


async def test_redelivery_sends_the_event_again_with_the_same_id(
    api: Api, receiver: Receiver
) -> None:
    # given a delivered event
    admin = await api.new_account()
    await create_endpoint(api, admin, receiver)
    await add_entries(api, admin, ["*@lawfirm.com"], scope="ACCOUNT")
    async with delivering(api):
        [first] = await receiver.wait_for(one)
        [delivered] = await wait_for_deliveries(api, admin, lambda d: d[0]["status"] == "DELIVERED")
        # when
        data = await api.data(
            REDELIVER, {"input": {"deliveryId": delivered["id"]}}, token=admin.token
        )
        payload = data["redeliverWebhook"]
        assert_no_user_errors(payload)
        assert payload["delivery"]["status"] == "PENDING"
        assert payload["delivery"]["attempts"] == 0
        assert payload["delivery"]["eventId"] == delivered["eventId"]
        received = await receiver.wait_for(lambda r: len(r) >= 2)
        found = await wait_for_deliveries(
            api, admin, lambda d: len(d) == 2 and all(x["status"] == "DELIVERED" for x in d)
        )
    # then
    assert received[1].webhook_id == first.webhook_id
    assert received[1].body == first.body
    assert received[1].verified
    assert {d["eventId"] for d in found} == {delivered["eventId"]}
    assert found[0]["id"] == payload["delivery"]["id"]  # newest first


async def test_in_production_a_private_address_is_refused_as_a_failed_attempt(
    api: Api, receiver: Receiver
) -> None:
    # given an endpoint on the loopback, and a worker that refuses private addresses, as
    # a production process does unless NEVERLOG_WEBHOOK_ALLOW_PRIVATE=true
    admin = await api.new_account()
    await create_endpoint(api, admin, receiver)
    await add_entries(api, admin, ["*@lawfirm.com"], scope="ACCOUNT")
    # when
    async with delivering(api, refuse_private=True):
        [delivery] = await wait_for_deliveries(api, admin, lambda d: d[0]["status"] == "FAILED")
    # then nothing reached the receiver, not even a connection, and every attempt failed
    # without an answer
    assert receiver.received == []
    assert receiver.connections == 0
    assert delivery["attempts"] == 4
    assert delivery["lastResponseStatus"] is None
    assert delivery["lastAttemptAt"] is not None


async def test_an_endpoint_slower_than_the_timeout_fails_the_attempt(
    api: Api, receiver: Receiver
) -> None:
    # given an endpoint that answers the first attempt after the timeout
    admin = await api.new_account()
    await create_endpoint(api, admin, receiver)
    receiver.script = lambda n, _id: Answer(delay=2) if n == 0 else Answer()
    # (the endpoint's pause after an attempt without an answer, 5 s by default, is
    # tests/api/test_webhook_fairness.py's: here it is short)
    schedule = Schedule(intervals=(0.05, 0.05), timeout=0.5, lease=5, poll_interval=0.02, pause=0.2)
    # when
    await add_entries(api, admin, ["*@lawfirm.com"], scope="ACCOUNT")
    async with delivering(api, schedule):
        [delivery] = await wait_for_deliveries(api, admin, lambda d: d[0]["status"] == "DELIVERED")
    # then the first attempt counted as failed without an answer, the second delivered
    assert delivery["attempts"] == 2
    assert len(receiver.received) == 2


async def test_the_worker_reuses_its_connection_to_an_endpoint(
    api: Api, receiver: Receiver
) -> None:
    # given
    admin = await api.new_account()
    await create_endpoint(api, admin, receiver)
    # when three changes are delivered one after the other
    async with delivering(api):
        for n in range(3):
            await add_entries(api, admin, [f"*@reuse-{n}.com"], scope="ACCOUNT")
            await receiver.wait_for(lambda r, n=n: len(r) == n + 1)
            await wait_for_deliveries(
                api, admin, lambda d, n=n: sum(x["status"] == "DELIVERED" for x in d) == n + 1
            )
    # then they came over one connection
    assert len({r.client_port for r in receiver.received}) == 1
    assert [r.event["data"]["sequence"] for r in receiver.received] == [1, 2, 3]


async def test_deliveries_are_kept_30_days_and_read_by_node(api: Api, receiver: Receiver) -> None:
    # given a delivered event
    admin = await api.new_account()
    endpoint = await create_endpoint(api, admin, receiver)
    await add_entries(api, admin, ["*@lawfirm.com"], scope="ACCOUNT")
    async with delivering(api):
        [delivered] = await wait_for_deliveries(api, admin, lambda d: d[0]["status"] == "DELIVERED")
    node = await api.data(
        "query($id: ID!) { node(id: $id) { ... on WebhookDelivery { eventId status } } }",
        {"id": delivered["id"]},
        token=admin.token,
    )
    assert node == {"node": {"eventId": delivered["eventId"], "status": "DELIVERED"}}
    user = await api.add_member(admin)
    hidden = await api.data(
        "query($id: ID!) { node(id: $id) { id } }", {"id": delivered["id"]}, token=user.token
    )
    assert hidden == {"node": None}
    # when a worker prunes 29 days later, then 31 days later
    now = dt.datetime.now(dt.UTC)
    await DeliveryWorker(api.db, clock=lambda: now + dt.timedelta(days=29)).prune()
    assert await deliveries(api, admin) != []
    await DeliveryWorker(api.db, clock=lambda: now + dt.timedelta(days=31)).prune()
    # then the delivery is gone, and the endpoint stays
    assert await deliveries(api, admin) == []
    listed = await api.data("{ webhookEndpoints { id } }", token=admin.token)
    assert listed["webhookEndpoints"] == [{"id": endpoint["id"]}]
