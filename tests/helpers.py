"""A small client for the HTTP API and the assertions the tests share."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

import httpx

from api.app import create_app
from api.settings import Settings
from persistence.database import Database
from schema.ids import to_global_id
from tenancy import held_lists
from tenancy.users import create_account


@dataclass
class Member:
    """A signed-in user of a test account."""

    token: str
    user_id: str
    email: str
    account_id: str


class Api:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.db = db
        self.app = create_app(settings, database=db)
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://neverlog.local"
        )
        # What the client sends with every request (post: host, accept, user agent, ...).
        self._headers = [
            (b"host", self.client.base_url.netloc),
            *((name.lower(), value) for name, value in self.client.headers.raw),
        ]
        self._request = self.client.build_request("POST", "/graphql")
        # Decisions read the lists held in memory, as the served app's lifespan has them
        # (tenancy/held_lists.py): each look-up's answer from an account's first decision
        # on, and the lists whole from its second look-up (served, from its 16th), so
        # that the suite runs both read paths that serve (None where another client of
        # this database holds them already, or they are off).
        self.holding = held_lists.start_holding(
            db,
            max_bytes=int(settings.held_lists_mb * 1024 * 1024),
            listen_url=settings.listen_database_url,
            build_after=2,
        )

    async def close(self) -> None:
        await self.client.aclose()
        if self.holding is not None:
            await self.holding.stop()

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> httpx.Response:
        """``self.client.post("/graphql", json=..., headers=...)``, as the app receives it
        and answers it, but for the client's own work: the app is called here as
        httpx.ASGITransport calls it, with the headers and the JSON body that the client
        would send (its default headers, httpx's encoding). The client took 0.6 ms of CPU a
        request here, this 0.1 ms: the suite makes about 60,000 of them."""
        body = json.dumps(
            {"query": query, "variables": variables or {}},
            ensure_ascii=False,
            separators=(",", ":"),
            allow_nan=False,
        ).encode()
        headers = [
            *self._headers,
            *([(b"authorization", f"Bearer {token}".encode())] if token else []),
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
        ]
        return await self._call(body, headers)

    async def _call(self, body: bytes, headers: list[tuple[bytes, bytes]]) -> httpx.Response:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "headers": headers,
            "scheme": "http",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "query_string": b"",
            "server": (self.client.base_url.host, self.client.base_url.port),
            "client": ("127.0.0.1", 123),
            "root_path": "",
        }
        answered = asyncio.Event()
        asked = False
        status: int | None = None
        answer_headers: list[tuple[bytes, bytes]] = []
        parts: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal asked
            if not asked:
                asked = True
                return {"type": "http.request", "body": body, "more_body": False}
            await answered.wait()
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal status, answer_headers
            if message["type"] == "http.response.start":
                assert status is None, "the response started twice"
                status, answer_headers = message["status"], message.get("headers", [])
            elif message["type"] == "http.response.body":
                assert not answered.is_set(), "a body after the last"
                parts.append(message.get("body", b""))
                if not message.get("more_body", False):
                    answered.set()

        await self.app(scope, receive, send)
        assert status is not None and answered.is_set(), "the app answered no response"
        return httpx.Response(
            status, headers=answer_headers, content=b"".join(parts), request=self._request
        )

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """The whole answer; fails the test on a status other than 200."""
        response = await self.post(query, variables, token=token)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """The answer's data; fails the test where the answer has errors."""
        body = await self.gql(query, variables, token=token)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def new_account(self, name: str = "Acme") -> Member:
        """A fresh account (unique per call, so tests never see each other's data)."""
        email = f"admin-{uuid.uuid4().hex[:8]}@neverlog-staff.com"
        new = await create_account(self.db, name=name, admin_email=email, admin_name="Admin")
        return Member(
            token=new.token.token,
            user_id=to_global_id("User", new.admin.id),
            email=email,
            account_id=to_global_id("Account", new.account.id),
        )

    async def add_member(
        self, admin: Member, *, role: str = "USER", email: str | None = None, name: str = "Member"
    ) -> Member:
        """A new user of the admin's account, with a token of their own: the admin adds
        them, and they accept the invitation code that adding answers (a super admin never
        holds another user's token)."""
        email = email or f"user-{uuid.uuid4().hex[:8]}@neverlog-staff.com"
        added = await self.data(
            """mutation($input: AddUserInput!) { addUser(input: $input) {
                user { id } invitationCode userErrors { code message } } }""",
            {"input": {"email": email, "name": name, "role": role}},
            token=admin.token,
        )
        assert_no_user_errors(added["addUser"])
        user_id = added["addUser"]["user"]["id"]
        token = await self.accept_invitation(added["addUser"]["invitationCode"])
        return Member(token=token, user_id=user_id, email=email, account_id=admin.account_id)

    async def accept_invitation(self, code: str, *, token_name: str = "test") -> str:
        """The token that accepting ``code`` gives (without a token, as a new user does)."""
        accepted = await self.data(
            """mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) {
                token userErrors { code message } } }""",
            {"input": {"code": code, "tokenName": token_name}},
        )
        assert_no_user_errors(accepted["acceptInvitation"])
        token: str = accepted["acceptInvitation"]["token"]
        return token


def assert_no_user_errors(payload: dict[str, Any]) -> None:
    assert payload["userErrors"] == [], payload["userErrors"]


def user_error_codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


def assert_top_level_error(body: dict[str, Any], code: str) -> None:
    assert code in error_codes(body), body


ADD_ENTRIES = """mutation($input: AddNeverLogEntriesInput!) { addNeverLogEntries(input: $input) {
    added { id pattern kind scope }
    alreadyListed
    list { scope count limit remaining }
    userErrors { field message code } } }"""

REMOVE_ENTRIES = """mutation($input: RemoveNeverLogEntriesInput!) { removeNeverLogEntries(input: $input) {
    removedIds
    list { count }
    userErrors { field message code } } }"""

IMPORT_LIST = """mutation($input: ImportNeverLogListInput!) { importNeverLogList(input: $input) {
    addedCount removedCount alreadyListed
    list { count }
    userErrors { field message code } } }"""

LIST_PAGE = """query($scope: NeverLogScope!, $first: Int, $after: String, $search: String) {
    neverLogList(scope: $scope) { count limit remaining
        entries(first: $first, after: $after, search: $search) {
            edges { cursor node { id pattern kind } }
            pageInfo { hasNextPage endCursor }
            totalCount } } }"""


async def add_entries(
    api: Api, member: Member, patterns: list[str], *, scope: str = "PERSONAL"
) -> dict[str, Any]:
    """The addNeverLogEntries payload."""
    data = await api.data(
        ADD_ENTRIES, {"input": {"scope": scope, "patterns": patterns}}, token=member.token
    )
    payload: dict[str, Any] = data["addNeverLogEntries"]
    return payload


async def listed_patterns(api: Api, member: Member, *, scope: str = "PERSONAL") -> list[str]:
    """Every pattern of the member's list, in list order, read page by page."""
    patterns: list[str] = []
    after: str | None = None
    while True:
        data = await api.data(
            LIST_PAGE, {"scope": scope, "first": 100, "after": after}, token=member.token
        )
        entries = data["neverLogList"]["entries"]
        patterns += [edge["node"]["pattern"] for edge in entries["edges"]]
        if not entries["pageInfo"]["hasNextPage"]:
            return patterns
        after = entries["pageInfo"]["endCursor"]


def assert_user_error(
    payload: dict[str, Any], code: str, field: list[str] | None = None
) -> dict[str, Any]:
    """The payload's one user error, which must have this code (and field, where given)."""
    errors = payload["userErrors"]
    assert [e["code"] for e in errors] == [code], errors
    if field is not None:
        assert errors[0]["field"] == field, errors
    error: dict[str, Any] = errors[0]
    return error
