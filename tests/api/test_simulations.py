"""Saved email logging simulations: runEmailLoggingSimulation, emailLoggingSimulations,
current and changedSinceRun, deleteEmailLoggingSimulation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.decision_helpers import (
    DELETE_SIMULATION,
    add_patterns,
    email,
    outcomes,
    remove_patterns,
    run_simulation,
    saved_simulation,
    simulation_ids,
    simulations_page,
)
from tests.helpers import Api, Member, assert_no_user_errors, assert_user_error

NEWSLETTER = email(
    "SALES_EXTENSION",
    to=["Anna Hartmann <Anna@Hartmann-Law.de>", "tom@northwind-traders.com"],
    cc=["lisa@brightpath.io"],
    existingContacts=["tom@northwind-traders.com"],
)

NODE = """query($id: ID!) { node(id: $id) { id ... on EmailLoggingSimulation { name } } }"""
NODES = """query($ids: [ID!]!) { nodes(ids: $ids) { id } }"""


async def _delete(api: Api, member: Member, simulation_id: str) -> dict[str, Any]:
    data = await api.data(DELETE_SIMULATION, {"input": {"id": simulation_id}}, token=member.token)
    payload: dict[str, Any] = data["deleteEmailLoggingSimulation"]
    return payload


async def _node(api: Api, member: Member, simulation_id: str) -> dict[str, Any] | None:
    data = await api.data(NODE, {"id": simulation_id}, token=member.token)
    node: dict[str, Any] | None = data["node"]
    return node


async def test_a_simulation_saves_the_email_as_given_and_the_decision(api: Api) -> None:
    # given
    admin = await api.new_account()
    await add_patterns(api, admin, ["*@hartmann-law.de"], scope="ACCOUNT")
    # when
    simulation = await saved_simulation(api, admin, NEWSLETTER, name="Q3 newsletter")
    # then
    assert simulation["name"] == "Q3 newsletter"
    assert simulation["createdBy"] == {"id": admin.user_id}
    assert simulation["email"] == {
        "channel": "SALES_EXTENSION",
        "sender": {"id": admin.user_id},
        "to": ["Anna Hartmann <Anna@Hartmann-Law.de>", "tom@northwind-traders.com"],
        "cc": ["lisa@brightpath.io"],
        "bcc": [],
        "logToCrm": True,
        "createNewContacts": True,
        "excludedRecipients": [],
        "existingContacts": ["tom@northwind-traders.com"],
        "inReplyTo": None,
    }
    recorded = simulation["recorded"]
    assert outcomes(recorded) == {
        "anna@hartmann-law.de": "NEVER_LOG",
        "tom@northwind-traders.com": "LOGGED",
        "lisa@brightpath.io": "LOGGED",
    }
    assert (recorded["loggedCount"], recorded["neverLogCount"]) == (2, 1)
    assert recorded["sender"] == {"id": admin.user_id}
    assert simulation["current"] == recorded
    assert simulation["changedSinceRun"] is False
    # and it is found again
    assert await _node(api, admin, simulation["id"]) == {
        "id": simulation["id"],
        "name": "Q3 newsletter",
    }


async def test_a_reply_is_saved_with_its_original_email(api: Api) -> None:
    # given
    admin = await api.new_account()
    reply = email(
        "FORWARDING",
        to=["tom@northwind-traders.com"],
        logToCrm=True,
        createNewContacts=False,
        excludedRecipients=["lisa@brightpath.io"],
        inReplyTo={"to": ["anna@hartmann-law.de"], "cc": ["lisa@brightpath.io"]},
    )
    # when
    simulation = await saved_simulation(api, admin, reply)
    # then
    assert simulation["name"] is None
    assert simulation["email"]["inReplyTo"] == {
        "to": ["anna@hartmann-law.de"],
        "cc": ["lisa@brightpath.io"],
        "bcc": [],
    }
    assert simulation["email"]["createNewContacts"] is False
    assert simulation["email"]["excludedRecipients"] == ["lisa@brightpath.io"]
    assert outcomes(simulation["recorded"]) == {"tom@northwind-traders.com": "NO_CONTACT"}


async def test_a_user_sees_their_own_simulations_and_a_super_admin_the_whole_accounts(
    api: Api,
) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    colleague = await api.add_member(admin)
    by_admin = await saved_simulation(api, admin, NEWSLETTER, name="admin's")
    by_user = await saved_simulation(api, user, NEWSLETTER, name="user's")
    by_colleague = await saved_simulation(api, colleague, NEWSLETTER, name="colleague's")
    # when
    seen_by_user = await simulations_page(api, user)
    seen_by_admin = await simulations_page(api, admin)
    # then
    assert [e["node"]["id"] for e in seen_by_user["edges"]] == [by_user["id"]]
    assert seen_by_user["totalCount"] == 1
    assert [e["node"]["id"] for e in seen_by_admin["edges"]] == [
        by_colleague["id"],
        by_user["id"],
        by_admin["id"],
    ]
    assert seen_by_admin["totalCount"] == 3
    assert await _node(api, user, by_colleague["id"]) is None


async def test_a_super_admin_simulates_as_another_user(api: Api) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    await add_patterns(api, user, ["lisa@brightpath.io"])
    # when
    simulation = await saved_simulation(api, admin, {**NEWSLETTER, "senderId": user.user_id})
    # then: the user's list decided; the admin ran it
    assert simulation["createdBy"] == {"id": admin.user_id}
    assert simulation["email"]["sender"] == {"id": user.user_id}
    assert simulation["recorded"]["sender"] == {"id": user.user_id}
    assert outcomes(simulation["recorded"])["lisa@brightpath.io"] == "NEVER_LOG"


@pytest.mark.parametrize(
    ("sender", "code"),
    [
        pytest.param("colleague", "FORBIDDEN", id="user-naming-a-colleague"),
        pytest.param("stranger", "NOT_FOUND", id="super-admin-naming-another-accounts-user"),
    ],
)
async def test_a_sender_that_may_not_be_named_saves_nothing(
    api: Api, sender: str, code: str
) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    colleague = await api.add_member(admin)
    stranger = await api.add_member(await api.new_account("Globex"))
    caller, named = (user, colleague) if sender == "colleague" else (admin, stranger)
    # when
    payload = await run_simulation(api, caller, {**NEWSLETTER, "senderId": named.user_id})
    # then
    error = assert_user_error(payload, code)
    if code == "NOT_FOUND":
        assert error["field"] == ["input", "email", "senderId"]
    assert payload["simulation"] is None
    assert (await simulations_page(api, admin))["totalCount"] == 0


async def test_a_list_change_that_alters_a_decision_shows_in_changed_since_run(api: Api) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    simulation = await saved_simulation(api, user, NEWSLETTER)
    assert outcomes(simulation["recorded"])["anna@hartmann-law.de"] == "LOGGED"
    # when
    await add_patterns(api, user, ["*@*.hartmann-law.de", "*@hartmann-law.de"])
    [after_add] = (await simulations_page(api, user))["edges"]
    await remove_patterns(api, user, ["*@*.hartmann-law.de", "*@hartmann-law.de"])
    [after_remove] = (await simulations_page(api, user))["edges"]
    # then
    changed = after_add["node"]
    assert changed["changedSinceRun"] is True
    assert changed["recorded"] == simulation["recorded"]
    assert outcomes(changed["current"])["anna@hartmann-law.de"] == "NEVER_LOG"
    assert changed["current"]["neverLogCount"] == 1
    assert after_remove["node"]["changedSinceRun"] is False
    assert after_remove["node"]["current"] == simulation["recorded"]


@pytest.mark.parametrize(
    ("whose", "pattern", "scope"),
    [
        pytest.param("admin", "*@globex-partners.com", "ACCOUNT", id="unrelated-account-entry"),
        pytest.param(
            "sender", "mary@hartmann-law.de", "PERSONAL", id="another-address-at-the-domain"
        ),
        pytest.param(
            "colleague", "*@hartmann-law.de", "PERSONAL", id="another-users-personal-list"
        ),
        pytest.param(
            "sender", "*@*.northwind-traders.com", "PERSONAL", id="subdomains-not-the-domain"
        ),
    ],
)
async def test_a_list_change_that_alters_no_decision_leaves_changed_since_run_false(
    api: Api, whose: str, pattern: str, scope: str
) -> None:
    # given
    admin = await api.new_account()
    sender = await api.add_member(admin)
    colleague = await api.add_member(admin)
    simulation = await saved_simulation(api, sender, NEWSLETTER)
    # when
    await add_patterns(
        api,
        {"admin": admin, "sender": sender, "colleague": colleague}[whose],
        [pattern],
        scope=scope,
    )
    # then
    [edge] = (await simulations_page(api, sender))["edges"]
    assert edge["node"]["changedSinceRun"] is False
    assert edge["node"]["current"] == simulation["recorded"]


async def test_a_simulation_run_as_another_user_follows_that_users_list(api: Api) -> None:
    # given: the admin simulates the user's email
    admin = await api.new_account()
    user = await api.add_member(admin)
    simulation = await saved_simulation(api, admin, {**NEWSLETTER, "senderId": user.user_id})
    # when: the admin's own list changes, then the user's
    await add_patterns(api, admin, ["tom@northwind-traders.com"])
    after_admins_change = await _changed(api, admin, simulation["id"])
    await add_patterns(api, user, ["tom@northwind-traders.com"])
    after_users_change = await _changed(api, admin, simulation["id"])
    # then
    assert after_admins_change is False
    assert after_users_change is True


async def _changed(api: Api, member: Member, simulation_id: str) -> bool:
    data = await api.data(
        """query($id: ID!) { node(id: $id) { ... on EmailLoggingSimulation { changedSinceRun } } }""",
        {"id": simulation_id},
        token=member.token,
    )
    changed: bool = data["node"]["changedSinceRun"]
    return changed


@pytest.mark.parametrize("deleter", ["creator", "super-admin"])
async def test_a_simulation_is_deleted_by_its_creator_or_a_super_admin(
    api: Api, deleter: str
) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    simulation = await saved_simulation(api, user, NEWSLETTER)
    kept = await saved_simulation(api, user, NEWSLETTER, name="kept")
    # when
    payload = await _delete(api, user if deleter == "creator" else admin, simulation["id"])
    # then
    assert_no_user_errors(payload)
    assert payload["deletedId"] == simulation["id"]
    assert await simulation_ids(api, user) == [kept["id"]]
    assert await _node(api, admin, simulation["id"]) is None
    assert_user_error(await _delete(api, user, simulation["id"]), "NOT_FOUND", ["input", "id"])


@pytest.mark.parametrize("deleter", ["colleague", "other-accounts-admin"])
async def test_a_simulation_that_is_not_yours_to_see_is_not_found(api: Api, deleter: str) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    simulation = await saved_simulation(api, user, NEWSLETTER)
    other = (
        await api.add_member(admin) if deleter == "colleague" else await api.new_account("Globex")
    )
    # when
    payload = await _delete(api, other, simulation["id"])
    # then
    assert_user_error(payload, "NOT_FOUND", ["input", "id"])
    assert payload["deletedId"] is None
    assert await simulation_ids(api, user) == [simulation["id"]]


async def test_another_accounts_simulations_are_invisible(api: Api) -> None:
    # given
    admin = await api.new_account()
    simulation = await saved_simulation(api, admin, NEWSLETTER)
    stranger = await api.new_account("Globex")
    # when
    page = await simulations_page(api, stranger)
    node = await _node(api, stranger, simulation["id"])
    nodes = await api.data(NODES, {"ids": [simulation["id"]]}, token=stranger.token)
    # then
    assert (page["edges"], page["totalCount"]) == ([], 0)
    assert node is None
    assert nodes == {"nodes": [None]}
    assert (await api.data(NODES, {"ids": [simulation["id"]]}, token=admin.token)) == {
        "nodes": [{"id": simulation["id"]}]
    }


@pytest.mark.parametrize(
    ("given", "field"),
    [
        pytest.param(
            email("CRM", to=[f"contact{n}@northwind-traders.com" for n in range(501)]),
            ["input", "email"],
            id="recipients",
        ),
        pytest.param(
            email(
                "CRM",
                to=["tom@brightpath.io"],
                excludedRecipients=[f"c{n}@brightpath.io" for n in range(501)],
            ),
            ["input", "email", "excludedRecipients"],
            id="excluded-recipients",
        ),
        pytest.param(
            email(
                "CRM",
                to=["tom@brightpath.io"],
                existingContacts=[f"c{n}@brightpath.io" for n in range(501)],
            ),
            ["input", "email", "existingContacts"],
            id="existing-contacts",
        ),
    ],
)
async def test_more_than_500_values_save_nothing(
    api: Api, given: dict[str, Any], field: list[str]
) -> None:
    # given
    admin = await api.new_account()
    # when
    payload = await run_simulation(api, admin, given)
    # then
    error = assert_user_error(payload, "TOO_MANY_VALUES", field)
    assert "500" in error["message"]
    assert payload["simulation"] is None
    assert (await simulations_page(api, admin))["totalCount"] == 0


async def test_simulations_page_newest_first(api: Api) -> None:
    # given
    admin = await api.new_account()
    saved = [
        (await saved_simulation(api, admin, NEWSLETTER, name=f"run {n}"))["id"] for n in range(7)
    ]
    # when
    pages = []
    after = None
    while True:
        page = await simulations_page(api, admin, first=3, after=after)
        pages.append(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    # then
    assert [len(p["edges"]) for p in pages] == [3, 3, 1]
    assert [e["node"]["id"] for p in pages for e in p["edges"]] == saved[::-1]
    assert {p["totalCount"] for p in pages} == {7}
    assert [p["pageInfo"]["hasPreviousPage"] for p in pages] == [False, True, True]
    assert all(p["pageInfo"]["endCursor"] == p["edges"][-1]["cursor"] for p in pages)


REGIONS = ["eu", "us", "uk", "de", "fr", "nl", "se", "jp", "au", "ca", "br"]
COMPANIES = [
    f"{first}{second}-{kind}.com"
    for first in [
        "north",
        "bright",
        "blue",
        "silver",
        "iron",
        "oak",
        "stone",
        "river",
        "sun",
        "west",
    ]
    for second in [
        "wind",
        "path",
        "peak",
        "field",
        "bridge",
        "gate",
        "wood",
        "lake",
        "hill",
        "port",
    ]
    for kind in [
        "traders",
        "partners",
        "labs",
        "health",
        "logistics",
        "media",
        "foods",
        "energy",
        "systems",
        "capital",
    ]
]

LARGE_PAGE = """query { emailLoggingSimulations(first: 100) { totalCount edges { node {
    changedSinceRun current { loggedCount neverLogCount } } } } }"""


async def test_a_page_of_100_large_simulations_is_answered(api: Api) -> None:
    # given: 100 mailings of 85 buyers each, every buyer at a company's regional mail
    # server: more than 32767 entry keys to look up for the page as a whole
    admin = await api.new_account()
    for n in range(100):
        at = [divmod(n * 85 + k, 1000) for k in range(85)]
        buyers = [f"buyer@mx.mail.{REGIONS[region]}.{COMPANIES[company]}" for region, company in at]
        data = await api.data(
            """mutation($input: RunEmailLoggingSimulationInput!) { runEmailLoggingSimulation(input: $input) {
                simulation { id } userErrors { code } } }""",
            {"input": {"email": email("BCC", to=buyers)}},
            token=admin.token,
        )
        assert data["runEmailLoggingSimulation"]["userErrors"] == []
    await add_patterns(api, admin, ["*@*.northwind-traders.com"], scope="ACCOUNT")
    # when
    data = await api.data(LARGE_PAGE, token=admin.token)
    # then
    nodes = [edge["node"] for edge in data["emailLoggingSimulations"]["edges"]]
    assert len(nodes) == 100
    # northwind-traders.com is the first company: buyers 0, 1000, ..., 8000 of 8500
    assert sum(node["current"]["neverLogCount"] for node in nodes) == 9
    assert sum(node["changedSinceRun"] for node in nodes) == 9
