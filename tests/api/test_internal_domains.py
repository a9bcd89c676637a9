"""Internal domains through HTTP, on every database: setInternalDomains, Account's fields,
the users' domains, and the INTERNAL outcome (rule 3) of a decision."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from persistence.database import Database
from tests.api.decision_helpers import email, statements_of
from tests.helpers import (
    Api,
    Member,
    add_entries,
    assert_no_user_errors,
    assert_user_error,
)

DOMAINS = """{ viewer { account { internalDomains { domain source } usersDomainsAreInternal } } }"""

SET = """mutation($input: SetInternalDomainsInput!) { setInternalDomains(input: $input) {
    account { internalDomains { domain source } usersDomainsAreInternal }
    userErrors { field message code } } }"""

DECIDE = """query($email: EmailInput!) { evaluateEmailLogging(email: $email) {
    loggedCount neverLogCount internalCount
    recipients { address outcome matchedPattern matchedScope explanation
        loggedToContact activityFeedTracking } } }"""

ADD_USER = """mutation($input: AddUserInput!) { addUser(input: $input) {
    user { id } userErrors { code message } } }"""

DEACTIVATE = """mutation($input: DeactivateUserInput!) { deactivateUser(input: $input) {
    user { id } userErrors { code message } } }"""

AUDIT = """{ auditEvents(first: 5) { edges { node { action summary actor { id } } } } }"""


async def set_domains(
    api: Api, member: Member, domains: list[str], *, users: bool | None = None
) -> dict[str, Any]:
    given: dict[str, Any] = {"domains": domains}
    if users is not None:
        given["usersDomainsAreInternal"] = users
    data = await api.data(SET, {"input": given}, token=member.token)
    payload: dict[str, Any] = data["setInternalDomains"]
    return payload


async def internal(api: Api, member: Member) -> dict[str, Any]:
    account: dict[str, Any] = (await api.data(DOMAINS, token=member.token))["viewer"]["account"]
    return account


async def decide(api: Api, member: Member, **fields: Any) -> dict[str, Any]:
    data = await api.data(DECIDE, {"email": email(**fields)}, token=member.token)
    decision: dict[str, Any] = data["evaluateEmailLogging"]
    return decision


async def outcome(api: Api, member: Member, to: str, channel: str = "CRM") -> str:
    decision = await decide(api, member, channel=channel, to=[to])
    result: str = decision["recipients"][0]["outcome"]
    return result


async def add_user(api: Api, admin: Member, address: str) -> str:
    data = await api.data(
        ADD_USER, {"input": {"email": address, "name": "Colleague"}}, token=admin.token
    )
    assert data["addUser"]["userErrors"] == []
    user_id: str = data["addUser"]["user"]["id"]
    return user_id


async def test_the_admins_own_domain_is_internal_from_the_start(api: Api) -> None:
    # given an account whose first super admin is at neverlog-staff.com
    admin = await api.new_account()
    # when
    account = await internal(api, admin)
    # then
    assert account == {
        "internalDomains": [{"domain": "neverlog-staff.com", "source": "USERS"}],
        "usersDomainsAreInternal": True,
    }


async def test_added_domains_are_listed_sorted_in_canonical_form_with_their_source(
    api: Api,
) -> None:
    # given
    admin = await api.new_account()
    # when: three spellings of acme-corp.com, Unicode and punycode of one domain, and the
    # users' own domain added too
    payload = await set_domains(
        api,
        admin,
        [
            "ACME-corp.com",
            "@acme-corp.com",
            "*@acme-corp.com",
            "xn--domn-noa.se",
            " domän.SE ",
            "neverlog-staff.com",
            "beta.io",
        ],
    )
    # then
    assert_no_user_errors(payload)
    assert payload["account"]["internalDomains"] == [
        {"domain": "acme-corp.com", "source": "ADDED"},
        {"domain": "beta.io", "source": "ADDED"},
        {"domain": "domän.se", "source": "ADDED"},
        {"domain": "neverlog-staff.com", "source": "ADDED"},
    ]
    assert (await internal(api, admin))["internalDomains"] == payload["account"]["internalDomains"]


async def test_a_later_call_replaces_the_added_domains(api: Api) -> None:
    # given
    admin = await api.new_account()
    await set_domains(api, admin, ["acme-corp.com", "beta.io"])
    # when
    payload = await set_domains(api, admin, ["gamma.org"])
    # then
    assert [d["domain"] for d in payload["account"]["internalDomains"]] == [
        "gamma.org",
        "neverlog-staff.com",
    ]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        pytest.param("jane@acme.com", "without a part before the @-sign", id="local-part"),
        pytest.param("*@*.acme.com", "without a wildcard", id="wildcard"),
        pytest.param("*.acme.com", "without a wildcard", id="bare-wildcard"),
        pytest.param("com", "top-level domain alone", id="bare-tld"),
        pytest.param("acme .com", "white space", id="space"),
        pytest.param("", "empty", id="empty"),
        pytest.param("acme..com", "two periods", id="two-periods"),
    ],
)
async def test_what_is_not_a_domain_is_refused_quoting_the_value_and_nothing_changes(
    api: Api, value: str, why: str
) -> None:
    # given
    admin = await api.new_account()
    await set_domains(api, admin, ["acme-corp.com"])
    # when
    payload = await set_domains(api, admin, ["beta.io", value])
    # then
    error = assert_user_error(payload, "INVALID_INPUT", ["input", "domains", "1"])
    assert f'"{value.strip()}"' in error["message"]
    assert why in error["message"]
    assert [d["domain"] for d in (await internal(api, admin))["internalDomains"]] == [
        "acme-corp.com",
        "neverlog-staff.com",
    ]


async def test_more_than_100_domains_is_too_many_values(api: Api) -> None:
    # given
    admin = await api.new_account()
    # when
    exactly = await set_domains(api, admin, [f"d{n}.com" for n in range(100)])
    over = await set_domains(api, admin, [f"e{n}.com" for n in range(101)])
    # then
    assert_no_user_errors(exactly)
    error = assert_user_error(over, "TOO_MANY_VALUES", ["input", "domains"])
    assert "100" in error["message"] and "101" in error["message"]
    assert len((await internal(api, admin))["internalDomains"]) == 101  # 100 + the users' one


async def test_only_super_admins_change_internal_domains_and_everyone_reads_them(
    api: Api,
) -> None:
    # given
    admin = await api.new_account()
    await set_domains(api, admin, ["acme-corp.com"])
    user = await api.add_member(admin)
    # when
    refused = await set_domains(api, user, ["evil.com"])
    # then
    assert_user_error(refused, "FORBIDDEN")
    assert [d["domain"] for d in (await internal(api, user))["internalDomains"]] == [
        "acme-corp.com",
        "neverlog-staff.com",
    ]


async def test_a_change_is_audited_and_a_call_that_changes_nothing_is_not(api: Api) -> None:
    # given
    admin = await api.new_account()
    # when
    await set_domains(api, admin, ["acme-corp.com"])
    await set_domains(api, admin, ["ACME-CORP.com"])
    # then
    events = [e["node"] for e in (await api.data(AUDIT, token=admin.token))["auditEvents"]["edges"]]
    changed = [e for e in events if e["action"] == "INTERNAL_DOMAINS_CHANGED"]
    assert len(changed) == 1
    assert "acme-corp.com" in changed[0]["summary"]
    assert changed[0]["actor"] == {"id": admin.user_id}


async def test_users_domains_follow_the_active_users_but_never_free_providers(api: Api) -> None:
    # given
    admin = await api.new_account()
    # when: colleagues at a new domain and at free email providers
    partner = await add_user(api, admin, "ann@partner-firm.com")
    await add_user(api, admin, "bob@gmail.com")
    await add_user(api, admin, "cy@outlook.com")
    # then
    assert (await internal(api, admin))["internalDomains"] == [
        {"domain": "neverlog-staff.com", "source": "USERS"},
        {"domain": "partner-firm.com", "source": "USERS"},
    ]
    assert await outcome(api, admin, "jane@partner-firm.com") == "INTERNAL"
    assert await outcome(api, admin, "jane@gmail.com") == "LOGGED"
    # when the only user at partner-firm.com is deactivated
    data = await api.data(DEACTIVATE, {"input": {"userId": partner}}, token=admin.token)
    assert data["deactivateUser"]["userErrors"] == []
    # then
    assert [d["domain"] for d in (await internal(api, admin))["internalDomains"]] == [
        "neverlog-staff.com"
    ]
    assert await outcome(api, admin, "jane@partner-firm.com") == "LOGGED"


async def test_users_domains_can_be_turned_off_and_on_again(api: Api) -> None:
    # given
    admin = await api.new_account()
    await add_user(api, admin, "ann@partner-firm.com")
    # when
    off = await set_domains(api, admin, ["acme-corp.com"], users=False)
    # then
    assert off["account"] == {
        "internalDomains": [{"domain": "acme-corp.com", "source": "ADDED"}],
        "usersDomainsAreInternal": False,
    }
    assert await outcome(api, admin, "jane@partner-firm.com") == "LOGGED"
    # and a user added meanwhile adds nothing
    await add_user(api, admin, "dan@third-firm.com")
    assert [d["domain"] for d in (await internal(api, admin))["internalDomains"]] == [
        "acme-corp.com"
    ]
    # when
    on = await set_domains(api, admin, ["acme-corp.com"], users=True)
    # then: every active user's domain again
    assert [d["domain"] for d in on["account"]["internalDomains"]] == [
        "acme-corp.com",
        "neverlog-staff.com",
        "partner-firm.com",
        "third-firm.com",
    ]


async def test_a_domain_covers_its_subdomains_at_any_depth_but_not_its_parent(api: Api) -> None:
    # given
    admin = await api.new_account()
    await set_domains(api, admin, ["acme-corp.com", "eu.beta.io"])
    # when / then
    assert await outcome(api, admin, "jane@acme-corp.com") == "INTERNAL"
    assert await outcome(api, admin, "jane@eu.acme-corp.com") == "INTERNAL"
    assert await outcome(api, admin, "jane@a.b.eu.acme-corp.com") == "INTERNAL"
    assert await outcome(api, admin, "jane@ACME-CORP.com") == "INTERNAL"
    assert await outcome(api, admin, "jane@notacme-corp.com") == "LOGGED"
    assert await outcome(api, admin, "jane@beta.io") == "LOGGED"
    assert await outcome(api, admin, "jane@x.eu.beta.io") == "INTERNAL"


async def test_a_unicode_domain_and_its_punycode_are_one_internal_domain(api: Api) -> None:
    # given
    admin = await api.new_account()
    await set_domains(api, admin, ["xn--domn-noa.se"])
    # when
    decision = await decide(api, admin, to=["lars@domän.se", "eva@kontor.xn--domn-noa.se"])
    # then
    assert [r["outcome"] for r in decision["recipients"]] == ["INTERNAL", "INTERNAL"]


async def test_internal_is_rule_3_a_never_log_entry_is_named_first(api: Api) -> None:
    # given
    admin = await api.new_account()
    await set_domains(api, admin, ["acme-corp.com"])
    await add_entries(api, admin, ["legal@acme-corp.com"], scope="ACCOUNT")
    # when: logging off (rule 4) and an exclusion (rule 5) come after rule 3
    decision = await decide(
        api,
        admin,
        to=["legal@acme-corp.com", "jane@acme-corp.com", "bob@client.com"],
        logToCrm=False,
    )
    excluded = await decide(
        api, admin, to=["jane@acme-corp.com"], excludedRecipients=["jane@acme-corp.com"]
    )
    # then
    legal, jane, bob = decision["recipients"]
    assert (legal["outcome"], legal["matchedPattern"]) == ("NEVER_LOG", "legal@acme-corp.com")
    assert (jane["outcome"], jane["matchedPattern"], jane["matchedScope"]) == (
        "INTERNAL",
        None,
        None,
    )
    assert jane["explanation"] == (
        "Not logged: jane@acme-corp.com is a colleague: acme-corp.com is an internal domain "
        "of the account."
    )
    assert (jane["loggedToContact"], jane["activityFeedTracking"]) == (False, True)
    assert bob["outcome"] == "LOGGING_OFF"
    assert (decision["neverLogCount"], decision["internalCount"], decision["loggedCount"]) == (
        1,
        1,
        0,
    )
    assert excluded["recipients"][0]["outcome"] == "INTERNAL"


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("SALES_EXTENSION", "INTERNAL"),
        ("CRM", "INTERNAL"),
        ("BCC", "INTERNAL"),
        ("FORWARDING", "INTERNAL"),
        ("TEAM_INBOX", "LOGGED"),
        ("INTEGRATION", "LOGGED"),
    ],
)
async def test_internal_applies_only_where_the_lists_apply(
    api: Api, channel: str, expected: str
) -> None:
    # given
    admin = await api.new_account()
    await set_domains(api, admin, ["acme-corp.com"])
    # when
    decision = await decide(api, admin, channel=channel, to=["jane@acme-corp.com"])
    # then
    assert decision["recipients"][0]["outcome"] == expected
    assert decision["internalCount"] == (1 if expected == "INTERNAL" else 0)


async def test_an_email_to_colleagues_only_logs_nothing(api: Api) -> None:
    # given
    admin = await api.new_account()
    await set_domains(api, admin, ["acme-corp.com"])
    # when
    decision = await decide(
        api, admin, to=["a@acme-corp.com"], cc=["b@eu.acme-corp.com", admin.email]
    )
    # then
    assert decision["loggedCount"] == 0
    assert decision["internalCount"] == 3


async def test_internal_domains_are_the_accounts_own(api: Api) -> None:
    # given
    admin = await api.new_account()
    other = await api.new_account("Other")
    await set_domains(api, admin, ["acme-corp.com"])
    # when / then
    assert await outcome(api, other, "jane@acme-corp.com") == "LOGGED"
    assert [d["domain"] for d in (await internal(api, other))["internalDomains"]] == [
        "neverlog-staff.com"
    ]


async def test_a_saved_simulation_shows_internal_recipients_now_and_then(api: Api) -> None:
    # given a simulation run before acme-corp.com was internal
    admin = await api.new_account()
    run = await api.data(
        """mutation($input: RunEmailLoggingSimulationInput!) { runEmailLoggingSimulation(
            input: $input) { simulation { id recorded { internalCount } } userErrors { code } } }""",
        {"input": {"email": email(to=["jane@acme-corp.com"])}},
        token=admin.token,
    )
    assert run["runEmailLoggingSimulation"]["simulation"]["recorded"]["internalCount"] == 0
    # when
    await set_domains(api, admin, ["acme-corp.com"])
    data = await api.data(
        """{ emailLoggingSimulations { edges { node { changedSinceRun
            recorded { internalCount } current { internalCount recipients { outcome } } } } } }""",
        token=admin.token,
    )
    # then
    [edge] = data["emailLoggingSimulations"]["edges"]
    assert edge["node"]["changedSinceRun"] is True
    assert edge["node"]["recorded"]["internalCount"] == 0
    assert edge["node"]["current"]["recipients"] == [{"outcome": "INTERNAL"}]


CREATE_ENDPOINT = """mutation($input: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $input) { endpoint { id } userErrors { code message } } }"""


async def domains_events(db: Database, account_id: str) -> list[list[str]]:
    """The ``domains`` of the account's internal_domains.changed events, oldest first."""
    async with db.engine.connect() as connection:
        rows = await connection.execute(
            sa.text(
                "SELECT payload FROM webhook_events WHERE type = 'INTERNAL_DOMAINS_CHANGED' "
                "ORDER BY sequence"
            )
        )
        bodies = [json.loads(row[0]) for row in rows]
    return [
        b["data"]["domains"]
        for b in bodies
        if b["data"]["accountId"] == account_id and b["type"] == "internal_domains.changed"
    ]


async def test_each_change_of_the_domains_is_told_to_webhooks_with_every_domain(
    api: Api, admin_db: Database
) -> None:
    # given an endpoint
    admin = await api.new_account()
    created = await api.data(
        CREATE_ENDPOINT, {"input": {"url": "http://127.0.0.1:9/hook"}}, token=admin.token
    )
    assert created["createWebhookEndpoint"]["userErrors"] == []
    # when super admins set domains, a user at a new domain and one at gmail.com are added,
    # and the same domains are set again
    await set_domains(api, admin, ["acme-corp.com"])
    await add_user(api, admin, "ann@partner-firm.com")
    await add_user(api, admin, "bob@gmail.com")
    await set_domains(api, admin, ["acme-corp.com"])
    # then one event per change of the set, each with all the domains after it
    assert await domains_events(admin_db, admin.account_id) == [
        ["acme-corp.com", "neverlog-staff.com"],
        ["acme-corp.com", "neverlog-staff.com", "partner-firm.com"],
    ]


async def test_a_decision_with_internal_domains_runs_as_many_statements_as_without(
    api: Api,
) -> None:
    # given an email with colleagues and contacts
    admin = await api.new_account()
    given = email("CRM", to=["a@acme-corp.com", "b@eu.acme-corp.com", "c@client.com"])
    without = await statements_of(api, admin, DECIDE, {"email": given})
    # when a hundred domains are internal, two of them covering recipients
    await set_domains(
        api, admin, ["acme-corp.com", *[f"d{n}.com" for n in range(98)], "eu.acme-corp.com"]
    )
    with_domains = await statements_of(api, admin, DECIDE, {"email": given})
    decision = await decide(api, admin, channel="CRM", to=given["to"])
    # then: the internal domains come in the statement that reads the entries
    assert decision["internalCount"] == 2
    assert len(with_domains) == len(without), (with_domains, without)
    reading_domains = [s for s in with_domains if "internal_domains" in s]
    assert len(reading_domains) == 1, with_domains
    assert "never_log_entries" in reading_domains[0]
