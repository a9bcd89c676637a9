"""The bodies of the webhook events that internal domains and expiring entries send, on both
databases, to a real receiver that verifies each signature with the standardwebhooks
package (see tests/api/test_webhooks.py for the list events and the attempts)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator

import pytest

from tenancy import expiry
from tests.api.test_webhooks import create_endpoint, delivering
from tests.helpers import ADD_ENTRIES, Api, assert_no_user_errors
from tests.webhook_receiver import Receiver, receiving

SET_DOMAINS = """mutation($input: SetInternalDomainsInput!) { setInternalDomains(input: $input) {
    account { internalDomains { domain } } userErrors { field message code } } }"""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


async def test_a_change_of_internal_domains_sends_every_domain_after_it(
    api: Api, receiver: Receiver
) -> None:
    # given
    admin = await api.new_account()
    await create_endpoint(api, admin, receiver)
    # when
    data = await api.data(
        SET_DOMAINS,
        {"input": {"domains": ["Acme.com", "*@eu.acme.com"], "usersDomainsAreInternal": True}},
        token=admin.token,
    )
    payload = data["setInternalDomains"]
    assert_no_user_errors(payload)
    async with delivering(api):
        [received] = await receiver.wait_for(lambda r: len(r) >= 1)
    # then
    assert received.verified
    event = received.event
    assert event["type"] == "internal_domains.changed"
    domains = [d["domain"] for d in payload["account"]["internalDomains"]]
    assert "acme.com" in domains
    assert event["data"] == {"accountId": admin.account_id, "sequence": 1, "domains": domains}


async def test_expired_entries_are_sent_with_their_note_and_expiry(
    api: Api, receiver: Receiver
) -> None:
    # given an entry that expires in a second, with a note
    admin = await api.new_account()
    await create_endpoint(api, admin, receiver)
    expires_at = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=2)
    added = await api.data(
        ADD_ENTRIES,
        {
            "input": {
                "scope": "ACCOUNT",
                "patterns": ["*@partner.com"],
                "note": "legal hold",
                "expiresAt": expires_at.isoformat(),
            }
        },
        token=admin.token,
    )
    assert_no_user_errors(added["addNeverLogEntries"])
    entry_id = added["addNeverLogEntries"]["added"][0]["id"]
    # when it expires and a sweep removes it
    await asyncio.sleep(max(0.0, (expires_at - dt.datetime.now(dt.UTC)).total_seconds()) + 0.2)
    await expiry.sweep(api.db)
    async with delivering(api):
        received = await receiver.wait_for(lambda r: len(r) >= 2)
    # then the addition and the expiry carry the same entry, note and expiry
    events = {r.event["type"]: r.event["data"] for r in received}
    expected = [
        {
            "id": entry_id,
            "pattern": "*@partner.com",
            "kind": "DOMAIN",
            "note": "legal hold",
            "expiresAt": expires_at.isoformat().replace("+00:00", "Z"),
            "action": "NEVER_LOG",
        }
    ]
    assert events["never_log.entries_added"]["entries"] == expected
    expired = events["never_log.entries_expired"]
    assert expired["entries"] == expected
    assert (expired["scope"], expired["ownerId"], expired["sequence"]) == ("ACCOUNT", None, 2)
    assert all(r.verified for r in received)
