"""Several ``neverlog serve`` processes on one PostgreSQL database: a list's limit, all-or-
nothing calls and the audit log hold across processes, and a revoked token, a changed role or
a deactivated user takes effect in every process on the next request."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.reliability.conftest import Server, run_cli

pytestmark = pytest.mark.reliability

LIMIT = 20


async def test_two_processes_keep_limit_audit_tokens_and_roles(
    migrated_pg: str, serve: Callable[..., Awaitable[list[Server]]]
) -> None:
    # given two processes on one database, and an account made by the operator's command
    (first, second), created_account = await asyncio.gather(
        serve(migrated_pg, n=2, PERSONAL_LIST_LIMIT=str(LIMIT)),
        run_cli(migrated_pg, "create-account", "Two Processes",
                "--admin-email", "owner@two-processes.example.com"),
    )  # fmt: skip
    token = json.loads(created_account)["token"]

    # when both are sent, at the same moment, calls that together would pass the limit
    sizes = [1, 2, 3, 4, 5, 3, 2, 4, 1, 5, 3, 2]  # 35 patterns in all, for a limit of 20
    calls = [
        [f"call{n}-{i}@concurrent.example.com" for i in range(size)] for n, size in enumerate(sizes)
    ]
    servers = [first, second]
    payloads = await asyncio.gather(
        *(servers[n % 2].client.add(token, patterns) for n, patterns in enumerate(calls))
    )

    # then the list never passes its limit, and each call added all its patterns or none
    count, entries = await first.client.entries(token)
    listed = {e["pattern"] for e in entries}
    assert count == len(entries) == len(listed) <= LIMIT
    succeeded = []
    for patterns, payload in zip(calls, payloads, strict=True):
        if payload["userErrors"]:
            assert [e["code"] for e in payload["userErrors"]] == ["LIMIT_EXCEEDED"], payload
            assert payload["added"] == []
            assert not listed & set(patterns), "a refused call saved some of its patterns"
            # refused only because the list was too full for it, never by mistake
            assert count + len(patterns) > LIMIT
        else:
            assert sorted(a["pattern"] for a in payload["added"]) == sorted(patterns)
            succeeded.append(patterns)
    assert succeeded and len(succeeded) < len(calls)
    assert listed == {p for patterns in succeeded for p in patterns}

    # and every success is in the audit log with its patterns, and nothing else is
    events = await second.client.audit_events(token)
    logged = [e["patterns"] for e in events if e["action"] == "NEVER_LOG_ENTRIES_ADDED"]
    assert Counter(tuple(sorted(p)) for p in logged) == Counter(tuple(sorted(p)) for p in succeeded)

    # when a token is revoked through one process
    created = await first.client.data(
        """mutation { createApiToken(input: {name: "laptop"}) {
            token apiToken { id } userErrors { code } } }""",
        token=token,
    )
    laptop = created["createApiToken"]
    assert await _viewer_email(second, laptop["token"]) == "owner@two-processes.example.com"
    revoked = await first.client.data(
        """mutation($id: ID!) { revokeApiToken(input: {id: $id}) { userErrors { code } } }""",
        {"id": laptop["apiToken"]["id"]},
        token=token,
    )
    assert revoked["revokeApiToken"]["userErrors"] == []

    # then the other refuses it as soon as the change's notice reaches it (tenancy/signin.py:
    # milliseconds; a loaded machine is given a second)
    assert await _refused_within(second, laptop["token"], seconds=1.0)

    # when a super admin is demoted to USER through one process
    added = await first.client.data(
        """mutation { addUser(input: {email: "deputy@two-processes.example.com", name: "Deputy",
            role: SUPER_ADMIN}) { user { id } invitationCode userErrors { code } } }""",
        token=token,
    )
    deputy_id = added["addUser"]["user"]["id"]
    deputy_token = (
        await first.client.data(
            """mutation($code: String!) { acceptInvitation(input: {code: $code,
                tokenName: "deputy"}) { token userErrors { code } } }""",
            {"code": added["addUser"]["invitationCode"]},
        )
    )["acceptInvitation"]["token"]
    allowed = await second.client.add(
        deputy_token, ["*@before-demotion.example.com"], scope="ACCOUNT"
    )
    assert allowed["userErrors"] == []
    demoted = await first.client.data(
        """mutation($id: ID!) { updateUserRole(input: {userId: $id, role: USER}) {
            user { role } userErrors { code } } }""",
        {"id": deputy_id},
        token=token,
    )
    assert demoted["updateUserRole"]["user"]["role"] == "USER"

    # then the other enforces it at once: the account-wide list is no longer theirs to change
    refused = await second.client.add(
        deputy_token, ["*@after-demotion.example.com"], scope="ACCOUNT"
    )
    assert [e["code"] for e in refused["userErrors"]] == ["FORBIDDEN"]
    _, account_list = await second.client.entries(token, scope="ACCOUNT")
    assert [e["pattern"] for e in account_list] == ["*@before-demotion.example.com"]

    # when that user is deactivated through one process
    deactivated = await first.client.data(
        """mutation($id: ID!) { deactivateUser(input: {userId: $id}) { userErrors { code } } }""",
        {"id": deputy_id},
        token=token,
    )
    assert deactivated["deactivateUser"]["userErrors"] == []

    # then the other refuses their token as soon as the notice reaches it
    assert await _refused_within(second, deputy_token, seconds=1.0)


async def _viewer_email(server: Server, token: str) -> str:
    data = await server.client.data("{ viewer { user { email } } }", token=token)
    email: str = data["viewer"]["user"]["email"]
    return email


async def _refused_within(server: Server, token: str, *, seconds: float) -> bool:
    """Whether ``server`` answers ``token`` UNAUTHENTICATED within ``seconds``, asked again
    every 20 ms until then."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        response = await server.client.post("{ viewer { user { email } } }", token=token)
        if _codes(response.json()) == ["UNAUTHENTICATED"]:
            return True
        if asyncio.get_running_loop().time() >= deadline:
            return False
        await asyncio.sleep(0.02)


def _codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
