"""DataLoaders are built per request: a page of 100 entries with their creators costs no
more SQL statements than a page of 1, and no cache outlives its request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from tenancy import touches
from tests.helpers import Api, assert_no_user_errors

PAGE = """query($first: Int!) { neverLogList(scope: ACCOUNT) { entries(first: $first) {
    edges { node { pattern createdBy { email name } } } } } }"""


@contextmanager
def counted(api: Api) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(api.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(api.db.engine.sync_engine, "before_cursor_execute", count)


async def test_a_page_of_100_with_creators_costs_what_a_page_of_1_costs(api: Api) -> None:
    # given 100 entries added by three different users
    admin = await api.new_account()
    others = [await api.add_member(admin, role="SUPER_ADMIN") for _ in range(2)]
    for n, member in enumerate([admin, *others]):
        patterns = [f"person{i}@firm{n}.com" for i in range(34)]
        added = await api.data(
            "mutation($p: [String!]!) { addNeverLogEntries(input: {scope: ACCOUNT, patterns: $p}) "
            "{ userErrors { code } } }",
            {"p": patterns},
            token=member.token,
        )
        assert_no_user_errors(added["addNeverLogEntries"])
    await api.data(PAGE, {"first": 1}, token=admin.token)  # warm-up: token's lastUsedAt due
    await touches.flush(api.db)  # the tokens' lastUsedAt written, not while counting
    # when
    with counted(api) as one:
        small = await api.data(PAGE, {"first": 1}, token=admin.token)
    with counted(api) as hundred:
        large = await api.data(PAGE, {"first": 100}, token=admin.token)
    # then
    assert len(small["neverLogList"]["entries"]["edges"]) == 1
    edges = large["neverLogList"]["entries"]["edges"]
    assert len(edges) == 100
    assert {e["node"]["createdBy"]["email"] for e in edges} == {
        admin.email,
        *(o.email for o in others),
    }
    assert len(hundred) == len(one)


async def test_a_loader_does_not_remember_across_requests(api: Api) -> None:
    # given an entry whose creator's role then changes
    admin = await api.new_account()
    member = await api.add_member(admin, role="SUPER_ADMIN")
    await api.data(
        'mutation { addNeverLogEntries(input: {scope: ACCOUNT, patterns: ["x@firm.com"]}) { userErrors { code } } }',
        token=member.token,
    )
    query = "{ neverLogList(scope: ACCOUNT) { entries { edges { node { createdBy { role } } } } } }"
    before = await api.data(query, token=admin.token)
    # when
    changed = await api.data(
        "mutation($id: ID!) { updateUserRole(input: {userId: $id, role: USER}) { userErrors { code } } }",
        {"id": member.user_id},
        token=admin.token,
    )
    assert_no_user_errors(changed["updateUserRole"])
    after = await api.data(query, token=admin.token)
    # then
    assert (
        before["neverLogList"]["entries"]["edges"][0]["node"]["createdBy"]["role"] == "SUPER_ADMIN"
    )
    assert after["neverLogList"]["entries"]["edges"][0]["node"]["createdBy"]["role"] == "USER"
