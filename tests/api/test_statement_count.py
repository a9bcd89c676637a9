"""How many SQL statements a request runs: constant, whatever the number of recipients,
entries, patterns or simulations on a page (DataLoaders batch per request).

Authentication runs statements of its own, and writes a token's lastUsedAt at most once a
minute: every measured request comes right after a warm-up request of the same token, so
that the write never falls into the measurement."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from tests.api.decision_helpers import (
    ADD,
    EVALUATE,
    add_patterns,
    email,
    statements_of,
)
from tests.helpers import Api, Member

COMPANIES = [
    "northwind-traders.com",
    "brightpath.io",
    "globex-partners.com",
    "initech.de",
    "umbrella-health.co.uk",
]


@pytest.fixture
async def api(make_api: Callable[..., Api]) -> AsyncIterator[Api]:
    """Lists not held in memory: these count the statements of the look-up, which a
    decision runs where its account's lists are not held (a decision on held lists runs
    none or one, tests/api/test_held_lists.py)."""
    client = make_api(held_lists_mb=0)
    yield client
    await client.close()


def _recipients(count: int, *, tag: str = "") -> list[str]:
    """Distinct, real-looking recipients: on a company's domain and on its subdomains."""
    return [
        f"contact{tag}{n}@{'eu.' if n % 2 else ''}{COMPANIES[n % len(COMPANIES)]}"
        for n in range(count)
    ]


async def _evaluate_statements(api: Api, member: Member, to: list[str]) -> int:
    statements = await statements_of(
        api, member, EVALUATE, {"email": email("SALES_EXTENSION", to=to)}
    )
    return len(statements)


async def test_an_evaluation_runs_as_many_statements_for_1_50_or_400_recipients(api: Api) -> None:
    # given: an account with a few entries that some recipients match
    admin = await api.new_account()
    await add_patterns(api, admin, ["*@initech.de", "contact3@brightpath.io"], scope="ACCOUNT")
    await add_patterns(api, admin, ["*@*.northwind-traders.com"])
    # when
    counts = [await _evaluate_statements(api, admin, _recipients(n)) for n in (1, 50, 400)]
    # then
    assert counts[0] == counts[1] == counts[2], counts
    assert counts[0] <= 8, counts


async def test_an_evaluation_runs_as_many_statements_with_empty_or_full_lists(api: Api) -> None:
    # given
    admin = await api.new_account()
    to = _recipients(100)
    with_empty_lists = await _evaluate_statements(api, admin, to)
    # when: both lists fill up to their limit, some entries matching the recipients
    await add_patterns(
        api,
        admin,
        [f"*@client{n}-holdings.com" for n in range(499)] + ["*@initech.de"],
        scope="ACCOUNT",
    )
    await add_patterns(
        api, admin, [f"partner{n}@globex-partners.com" for n in range(499)] + ["*@brightpath.io"]
    )
    with_full_lists = await _evaluate_statements(api, admin, to)
    # then
    assert with_full_lists == with_empty_lists
    decision = await api.data(
        EVALUATE, {"email": email("SALES_EXTENSION", to=to)}, token=admin.token
    )
    # initech.de without "eu." is every tenth recipient; so is brightpath.io
    assert decision["evaluateEmailLogging"]["neverLogCount"] == 20


RUN = """mutation($input: RunEmailLoggingSimulationInput!) {
    runEmailLoggingSimulation(input: $input) { simulation { id } userErrors { code message } } }"""

PAGE = """query($first: Int) { emailLoggingSimulations(first: $first) { totalCount edges { node {
    createdBy { id }
    email { sender { id } }
    recorded { neverLogCount }
    current { neverLogCount sender { id } recipients { outcome matchedScope } }
    changedSinceRun } } } }"""


async def _simulations(api: Api, admin: Member, user: Member, count: int) -> None:
    """``count`` simulations, every other one run as the user, each with 10 recipients of
    its own."""
    for n in range(count):
        sender = {"senderId": user.user_id} if n % 2 else {}
        given = email("SALES_EXTENSION", to=_recipients(10, tag=f"-{n}-"), **sender)
        data = await api.data(RUN, {"input": {"email": given}}, token=admin.token)
        assert data["runEmailLoggingSimulation"]["userErrors"] == []


async def test_a_page_of_100_simulations_runs_as_many_statements_as_a_page_of_1(api: Api) -> None:
    # given: 100 simulations by two senders, whose decisions have since changed
    admin = await api.new_account()
    user = await api.add_member(admin)
    await _simulations(api, admin, user, 100)
    await add_patterns(api, admin, ["*@initech.de"], scope="ACCOUNT")
    await add_patterns(api, user, ["*@*.brightpath.io"])
    # when
    page_of_1 = await statements_of(api, admin, PAGE, {"first": 1})
    page_of_100 = await statements_of(api, admin, PAGE, {"first": 100})
    # then
    assert len(page_of_100) <= len(page_of_1), (page_of_1, page_of_100)
    data = await api.data(PAGE, {"first": 100}, token=admin.token)
    nodes = [edge["node"] for edge in data["emailLoggingSimulations"]["edges"]]
    assert len(nodes) == 100
    assert all(node["changedSinceRun"] and node["recorded"]["neverLogCount"] == 0 for node in nodes)
    assert all(node["createdBy"] == {"id": admin.user_id} for node in nodes)
    # one recipient of ten is at initech.de, one at eu.brightpath.io; the user's personal
    # list decides only for the simulations run as the user
    by_sender = {
        (node["email"]["sender"]["id"], node["current"]["neverLogCount"]) for node in nodes
    }
    assert by_sender == {(admin.user_id, 1), (user.user_id, 2)}


async def _add_statements(api: Api, member: Member, patterns: list[str]) -> list[str]:
    statements = await statements_of(
        api, member, ADD, {"input": {"scope": "PERSONAL", "patterns": patterns}}
    )
    return statements


async def test_adding_1_or_500_patterns_runs_as_many_statements(api: Api) -> None:
    # given: two users with empty personal lists
    admin = await api.new_account()
    first, third = await api.add_member(admin), await api.add_member(admin)
    second, fourth = await api.add_member(admin), await api.add_member(admin)
    # when each is measured twice, for two users (the counter listens on the whole engine,
    # where a statement of the app's background workers may land in one measurement: the
    # fewer counted is the request's own)
    ones = [await _add_statements(api, m, ["maria.lopez@gmail.com"]) for m in (first, third)]
    partners = [f"partner{n}@globex-partners.com" for n in range(500)]
    manys = [await _add_statements(api, m, partners) for m in (second, fourth)]
    one, many = min(ones, key=len), min(manys, key=len)
    # then
    assert len(one) == len(many), (one, many)
    listed = await api.data("""{ neverLogList(scope: PERSONAL) { count } }""", token=second.token)
    assert listed["neverLogList"]["count"] == 500
