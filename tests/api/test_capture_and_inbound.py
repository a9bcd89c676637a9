"""Capture levels and inbound email through HTTP, on every database: what a logged
recipient keeps (entries' actions, the account's and the sender's capture, a reply's
original), its privacy, inbound email with its sender and headers, automated email,
refusals, batches deciding as single calls, and saved simulations."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.decision_helpers import (
    evaluate_body,
    run_simulation,
    saved_simulation,
    statements_of,
)
from tests.helpers import Api, Member, assert_no_user_errors, assert_top_level_error

RECIPIENT = """address field outcome activityFeedTracking timelineTracking matchedPattern
    matchedScope matchedAction capture explanation"""
DECISION = f"""direction automated automatedReason capture limitedCount loggedCount
    recipients {{ {RECIPIENT} }}"""
EVALUATE = (
    f"""query($email: EmailInput!) {{ evaluateEmailLogging(email: $email) {{ {DECISION} }} }}"""
)
BATCH = f"""query($emails: [EmailInput!]!) {{
    evaluateEmailLoggingBatch(emails: $emails) {{ {DECISION} }} }}"""
SIMULATION = f"""mutation($input: RunEmailLoggingSimulationInput!) {{
    runEmailLoggingSimulation(input: $input) {{
        simulation {{ id email {{ direction from headers {{ name value }} to }}
            recorded {{ {DECISION} }} current {{ {DECISION} }} changedSinceRun }}
        userErrors {{ field message code }} }} }}"""
SIMULATIONS = f"""{{ emailLoggingSimulations(first: 10) {{ edges {{ node {{
    recorded {{ capture }} current {{ {DECISION} }} changedSinceRun }} }} }} }}"""
ADD = """mutation($input: AddNeverLogEntriesInput!) { addNeverLogEntries(input: $input) {
    added { id pattern } userErrors { field message code } } }"""
UPDATE_ENTRIES = """mutation($input: UpdateNeverLogEntriesInput!) {
    updateNeverLogEntries(input: $input) { entries { id } userErrors { field message code } } }"""
UPDATE_ACCOUNT = """mutation($input: UpdateAccountSettingsInput!) {
    updateAccountSettings(input: $input) { userErrors { field message code } } }"""
UPDATE_MINE = """mutation($input: UpdateMySettingsInput!) { updateMySettings(input: $input) {
    userErrors { field message code } } }"""

ME = "me@acme-corp.com"
BULK = [{"name": "Precedence", "value": "bulk"}]


async def add(
    api: Api, member: Member, patterns: list[str], action: str, *, scope: str = "ACCOUNT"
) -> list[str]:
    """Add entries with ``action``; their IDs."""
    data = await api.data(
        ADD,
        {"input": {"scope": scope, "patterns": patterns, "action": action}},
        token=member.token,
    )
    assert_no_user_errors(data["addNeverLogEntries"])
    return [added["id"] for added in data["addNeverLogEntries"]["added"]]


async def account_settings(api: Api, admin: Member, **fields: Any) -> None:
    data = await api.data(UPDATE_ACCOUNT, {"input": fields}, token=admin.token)
    assert_no_user_errors(data["updateAccountSettings"])


async def my_capture(api: Api, member: Member, capture: str | None) -> None:
    data = await api.data(UPDATE_MINE, {"input": {"defaultCapture": capture}}, token=member.token)
    assert_no_user_errors(data["updateMySettings"])


async def decide(api: Api, member: Member, **email: Any) -> dict[str, Any]:
    data = await api.data(
        EVALUATE, {"email": {"channel": "CRM", "to": [], **email}}, token=member.token
    )
    decision: dict[str, Any] = data["evaluateEmailLogging"]
    return decision


def captures(decision: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(r["address"], r["outcome"], r["capture"]) for r in decision["recipients"]]


# -- capture levels -------------------------------------------------------------------------


async def test_a_limiting_entry_keeps_the_recipient_logged_with_less(api: Api) -> None:
    # given
    admin = await api.new_account()
    await add(api, admin, ["*@acme.com"], "LOG_METADATA_ONLY")
    await add(api, admin, ["bob@client.com"], "LOG_SUBJECT_ONLY", scope="PERSONAL")

    # when
    decision = await decide(api, admin, to=["jane@acme.com", "bob@client.com", "eve@partner.io"])

    # then
    jane, bob, eve = decision["recipients"]
    assert jane == {
        "address": "jane@acme.com",
        "field": "TO",
        "outcome": "LOGGED",
        "activityFeedTracking": True,
        "timelineTracking": True,
        "matchedPattern": "*@acme.com",
        "matchedScope": "ACCOUNT",
        "matchedAction": "LOG_METADATA_ONLY",
        "capture": "METADATA",
        "explanation": "Logged without body or subject: jane@acme.com matches *@acme.com "
        "(metadata only) on the account-wide never-log list.",
    }
    assert (bob["capture"], bob["matchedScope"], bob["matchedAction"]) == (
        "SUBJECT",
        "PERSONAL",
        "LOG_SUBJECT_ONLY",
    )
    assert bob["explanation"] == (
        "Logged without body: bob@client.com matches bob@client.com (subject only) "
        "on the sender's personal never-log list."
    )
    assert (eve["capture"], eve["matchedAction"]) == ("FULL", None)
    assert (decision["capture"], decision["limitedCount"], decision["loggedCount"]) == (
        "METADATA",
        2,
        3,
    )


async def test_a_never_log_entry_names_its_action_and_a_recipient_not_logged_has_no_capture(
    api: Api,
) -> None:
    admin = await api.new_account()
    await add(api, admin, ["*@lawfirm.com"], "NEVER_LOG")

    decision = await decide(api, admin, to=["counsel@lawfirm.com"])

    (r,) = decision["recipients"]
    assert (r["outcome"], r["matchedAction"], r["capture"]) == ("NEVER_LOG", "NEVER_LOG", None)
    assert (decision["capture"], decision["limitedCount"]) == (None, 0)


async def test_the_account_and_the_sender_limit_every_logged_recipient_at_once(
    api: Api,
) -> None:
    # given
    admin = await api.new_account()
    member = await api.add_member(admin)
    to = ["jane@acme.com"]

    # when the account keeps subjects, then the member keeps metadata only, then lets go
    await account_settings(api, admin, defaultCapture="SUBJECT")
    by_account = await decide(api, member, to=to)
    await my_capture(api, member, "METADATA")
    by_member = await decide(api, member, to=to)
    for_admin = await decide(api, admin, to=to)
    await my_capture(api, member, "FULL")
    widened = await decide(api, member, to=to)
    await my_capture(api, member, None)
    await account_settings(api, admin, defaultCapture="FULL")
    back = await decide(api, member, to=to)

    # then each decision sees the settings as they are at once, and a user only tightens
    assert captures(by_account) == [("jane@acme.com", "LOGGED", "SUBJECT")]
    assert by_account["recipients"][0]["explanation"] == (
        "Logged without body: jane@acme.com matches no never-log entry, so the email is logged "
        "to a new contact created for it; the account's capture is subject only."
    )
    assert captures(by_member) == [("jane@acme.com", "LOGGED", "METADATA")]
    assert by_member["recipients"][0]["explanation"].endswith(
        "; the sender's own capture is metadata only."
    )
    assert captures(for_admin) == [("jane@acme.com", "LOGGED", "SUBJECT")]
    assert captures(widened) == [("jane@acme.com", "LOGGED", "SUBJECT")]
    assert captures(back) == [("jane@acme.com", "LOGGED", "FULL")]
    assert (back["capture"], back["limitedCount"]) == ("FULL", 0)


async def test_a_reply_carries_the_limits_of_its_original(api: Api) -> None:
    admin = await api.new_account()
    await add(api, admin, ["*@lawfirm.com"], "LOG_SUBJECT_ONLY")

    decision = await decide(
        api,
        admin,
        to=["jane@acme.com"],
        existingContacts=["jane@acme.com"],
        inReplyTo={"to": ["counsel@lawfirm.com"]},
    )

    (r,) = decision["recipients"]
    assert (r["outcome"], r["capture"], r["matchedPattern"]) == (
        "LOGGED",
        "SUBJECT",
        "*@lawfirm.com",
    )
    assert r["explanation"] == (
        "Logged without body: jane@acme.com is on a reply to a thread with counsel@lawfirm.com, "
        "which matches *@lawfirm.com (subject only) on the account-wide never-log list."
    )


async def test_a_super_admin_deciding_for_another_sender_sees_a_limit_but_not_its_pattern(
    api: Api,
) -> None:
    # given a member whose personal list limits two recipients
    admin = await api.new_account()
    member = await api.add_member(admin, name="Uma User")
    await add(api, member, ["*@family.org"], "LOG_METADATA_ONLY", scope="PERSONAL")
    await add(api, member, ["*@lawfirm.com"], "LOG_SUBJECT_ONLY", scope="PERSONAL")
    email = {
        "senderId": member.user_id,
        "to": ["mom@family.org", "jane@acme.com"],
        "existingContacts": ["mom@family.org", "jane@acme.com"],
        "inReplyTo": {"to": ["counsel@lawfirm.com"]},
    }

    # when
    as_admin = await decide(api, admin, **email)
    as_member = await decide(api, member, **email)

    # then the admin sees scope, action and capture, never the patterns
    mom, jane = as_admin["recipients"]
    assert (mom["matchedPattern"], mom["matchedScope"], mom["matchedAction"], mom["capture"]) == (
        None,
        "PERSONAL",
        "LOG_METADATA_ONLY",
        "METADATA",
    )
    assert mom["explanation"] == (
        "Logged without body or subject: mom@family.org matches an entry (metadata only) "
        "on Uma User's personal never-log list."
    )
    assert (jane["matchedPattern"], jane["matchedAction"], jane["capture"]) == (
        None,
        "LOG_SUBJECT_ONLY",
        "SUBJECT",
    )
    assert jane["explanation"] == (
        "Logged without body: jane@acme.com is on a reply to a thread with counsel@lawfirm.com, "
        "which matches an entry (subject only) on Uma User's personal never-log list."
    )
    assert "family.org" not in str(as_admin).replace("mom@family.org", "")
    assert "*@lawfirm.com" not in str(as_admin)
    # and the member sees their own patterns
    assert [r["matchedPattern"] for r in as_member["recipients"]] == [
        "*@family.org",
        "*@lawfirm.com",
    ]


async def test_a_decision_still_reads_the_database_once(api: Api) -> None:
    admin = await api.new_account()
    await add(api, admin, ["*@acme.com"], "LOG_METADATA_ONLY")
    email = {"channel": "CRM", "to": ["jane@acme.com"], "direction": "INBOUND", "from": "a@b.com"}

    statements = await statements_of(api, admin, EVALUATE, {"email": email})

    # then the token's sign-in, and one look-up for entries, domains and settings together
    assert len(statements) == 2, statements
    assert "never_log_entries" in statements[1]
    assert "accounts" in statements[1]


# -- inbound and automated email ------------------------------------------------------------


async def test_an_inbound_email_decides_its_sender_first(api: Api) -> None:
    # given the user's own address is internal
    admin = await api.new_account()
    await api.data(
        """mutation { setInternalDomains(input: {domains: ["acme-corp.com"]}) {
            userErrors { message } } }""",
        token=admin.token,
    )
    await add(api, admin, ["*@lawfirm.com"], "NEVER_LOG")

    # when
    decision = await decide(
        api,
        admin,
        direction="INBOUND",
        **{"from": "Ann <ann@client.com>"},
        to=[ME],
        cc=["counsel@lawfirm.com", "ann@client.com"],
    )

    # then
    assert [(r["address"], r["field"], r["outcome"]) for r in decision["recipients"]] == [
        ("ann@client.com", "FROM", "LOGGED"),
        (ME, "TO", "INTERNAL"),
        ("counsel@lawfirm.com", "CC", "NEVER_LOG"),
    ]
    assert (decision["direction"], decision["automated"], decision["automatedReason"]) == (
        "INBOUND",
        False,
        None,
    )


@pytest.mark.parametrize(
    ("headers", "sender", "reason"),
    [
        (BULK, "news@shop.com", "Precedence: bulk"),
        (
            [{"name": "auto-submitted", "value": "auto-generated"}],
            "ann@shop.com",
            "Auto-Submitted: auto-generated",
        ),
        (
            [{"name": "List-Unsubscribe", "value": "<mailto:u@shop.com>"}],
            "ann@shop.com",
            "List-Unsubscribe: <mailto:u@shop.com>",
        ),
        ([], "No-Reply@shop.com", "no-reply@shop.com is an automated sender"),
    ],
    ids=["precedence", "auto-submitted", "list-unsubscribe", "sender name"],
)
async def test_an_automated_inbound_email_is_not_logged(
    api: Api, headers: list[dict[str, str]], sender: str, reason: str
) -> None:
    admin = await api.new_account()

    decision = await decide(
        api, admin, direction="INBOUND", headers=headers, to=["ann@partner.io"], **{"from": sender}
    )

    assert (decision["automated"], decision["automatedReason"]) == (True, reason)
    assert {r["outcome"] for r in decision["recipients"]} == {"AUTOMATED"}
    assert {r["activityFeedTracking"] for r in decision["recipients"]} == {True}
    assert {r["timelineTracking"] for r in decision["recipients"]} == {False}
    assert (
        decision["recipients"][0]["explanation"]
        == f"Not logged: the email is automated ({reason})."
    )
    assert (decision["capture"], decision["loggedCount"]) == (None, 0)


async def test_the_accounts_settings_decide_what_is_automated(api: Api) -> None:
    # given
    admin = await api.new_account()
    email = {
        "direction": "INBOUND",
        "from": "bot@shop.com",
        "to": ["ann@partner.io"],
        "headers": BULK,
    }

    # when names are the account's own, and then automated email is kept
    await account_settings(api, admin, automatedSenderNames=["bot"])
    by_name = await decide(api, admin, **{**email, "headers": []})
    default_name = await decide(api, admin, **{**email, "from": "noreply@shop.com", "headers": []})
    await account_settings(api, admin, skipAutomatedEmails=False)
    kept = await decide(api, admin, **email)

    # then
    assert by_name["automatedReason"] == "bot@shop.com is an automated sender"
    assert default_name["automated"] is False
    assert (kept["automated"], {r["outcome"] for r in kept["recipients"]}) == (False, {"LOGGED"})


async def test_an_outbound_email_is_never_automated(api: Api) -> None:
    admin = await api.new_account()

    decision = await decide(api, admin, to=["noreply@shop.com"], headers=BULK)

    assert (decision["direction"], decision["automated"]) == ("OUTBOUND", False)
    assert captures(decision) == [("noreply@shop.com", "LOGGED", "FULL")]


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ({"direction": "INBOUND"}, "An INBOUND email needs from"),
        ({"from": "ann@shop.com"}, "from is for an INBOUND email only"),
        (
            {"direction": "INBOUND", "from": "a@b.com", "headers": BULK * 51},
            "An email may carry at most 50 headers; this one carries 51.",
        ),
        (
            {
                "direction": "INBOUND",
                "from": "a@b.com",
                "headers": [{"name": "List-Id", "value": "x" * 1000}],
            },
            "A header may hold at most 1,000 characters",
        ),
    ],
    ids=["inbound without from", "outbound with from", "51 headers", "a long header"],
)
async def test_an_email_that_cannot_be_decided_is_bad_user_input_everywhere(
    api: Api, email: dict[str, Any], message: str
) -> None:
    # given
    admin = await api.new_account()
    given = {"channel": "CRM", "to": ["ann@partner.io"], **email}

    # when
    single = await evaluate_body(api, admin, given)
    batch = await api.gql(
        BATCH, {"emails": [{"channel": "CRM", "to": []}, given]}, token=admin.token
    )
    simulation = await api.gql(SIMULATION, {"input": {"email": given}}, token=admin.token)

    # then
    for body in (single, batch, simulation):
        assert_top_level_error(body, "BAD_USER_INPUT")
        assert message in body["errors"][0]["message"]
    assert batch["errors"][0]["path"] == ["evaluateEmailLoggingBatch", 1]
    listed = await api.data("{ emailLoggingSimulations { totalCount } }", token=admin.token)
    assert listed["emailLoggingSimulations"]["totalCount"] == 0


# -- batches and simulations ----------------------------------------------------------------


async def test_a_batch_decides_each_email_exactly_as_alone(api: Api) -> None:
    # given
    admin = await api.new_account()
    member = await api.add_member(admin)
    await add(api, admin, ["*@acme.com"], "LOG_METADATA_ONLY")
    await add(api, member, ["*@client.com"], "LOG_SUBJECT_ONLY", scope="PERSONAL")
    await my_capture(api, member, "SUBJECT")
    emails: list[dict[str, Any]] = [
        {"channel": "CRM", "to": ["jane@acme.com", "eve@partner.io"]},
        {"channel": "CRM", "to": ["bob@client.com"], "senderId": member.user_id},
        {
            "channel": "CRM",
            "direction": "INBOUND",
            "from": "news@shop.com",
            "to": [ME],
            "headers": BULK,
        },
        {"channel": "BCC", "direction": "INBOUND", "from": "ann@client.com", "to": [ME]},
        {"channel": "TEAM_INBOX", "to": ["jane@acme.com"], "senderId": member.user_id},
        {
            "channel": "CRM",
            "to": ["x@y.com"],
            "existingContacts": ["x@y.com"],
            "inReplyTo": {"to": ["jane@acme.com"]},
        },
    ]

    # when
    together = (await api.data(BATCH, {"emails": emails}, token=admin.token))[
        "evaluateEmailLoggingBatch"
    ]
    alone = [await decide(api, admin, **email) for email in emails]

    # then
    assert together == alone
    assert [d["capture"] for d in together] == [
        "METADATA",
        "SUBJECT",
        None,
        "FULL",
        "SUBJECT",
        "METADATA",
    ]


async def test_a_simulation_keeps_an_inbound_email_and_sees_a_change_of_capture(
    api: Api,
) -> None:
    # given a saved simulation of an inbound email
    admin = await api.new_account()
    [entry_id] = await add(api, admin, ["*@client.com"], "LOG_SUBJECT_ONLY")
    headers = [{"name": "X-Mailer", "value": "Mail"}]
    email = {
        "channel": "CRM",
        "direction": "INBOUND",
        "from": "ann@client.com",
        "to": [ME],
        "headers": headers,
    }
    data = await api.data(SIMULATION, {"input": {"email": email}}, token=admin.token)
    payload = data["runEmailLoggingSimulation"]
    assert_no_user_errors(payload)
    simulation = payload["simulation"]
    assert simulation["email"] == {
        "direction": "INBOUND",
        "from": "ann@client.com",
        "headers": headers,
        "to": [ME],
    }
    assert simulation["recorded"]["capture"] == "SUBJECT"
    assert simulation["changedSinceRun"] is False

    # when the entry keeps metadata only
    updated = await api.data(
        UPDATE_ENTRIES,
        {"input": {"scope": "ACCOUNT", "ids": [entry_id], "action": "LOG_METADATA_ONLY"}},
        token=admin.token,
    )
    assert_no_user_errors(updated["updateNeverLogEntries"])
    after_entry = (await api.data(SIMULATIONS, token=admin.token))["emailLoggingSimulations"]
    # and when the entry blocks nothing any more but the account keeps subjects
    await api.data(
        UPDATE_ENTRIES,
        {"input": {"scope": "ACCOUNT", "ids": [entry_id], "action": "NEVER_LOG"}},
        token=admin.token,
    )
    blocked = (await api.data(SIMULATIONS, token=admin.token))["emailLoggingSimulations"]

    # then
    (node,) = [edge["node"] for edge in after_entry["edges"]]
    assert (node["changedSinceRun"], node["current"]["capture"]) == (True, "METADATA")
    (node,) = [edge["node"] for edge in blocked["edges"]]
    assert node["changedSinceRun"] is True
    assert node["current"]["recipients"][0]["outcome"] == "NEVER_LOG"


async def test_a_simulation_sees_a_change_of_the_accounts_capture(api: Api) -> None:
    admin = await api.new_account()
    await saved_simulation(api, admin, {"channel": "TEAM_INBOX", "to": ["jane@acme.com"]})

    await account_settings(api, admin, defaultCapture="METADATA")
    page = (await api.data(SIMULATIONS, token=admin.token))["emailLoggingSimulations"]

    (node,) = [edge["node"] for edge in page["edges"]]
    assert (node["recorded"]["capture"], node["current"]["capture"]) == ("FULL", "METADATA")
    assert node["changedSinceRun"] is True


async def test_an_automated_simulation_is_saved_as_decided(api: Api) -> None:
    admin = await api.new_account()

    payload = await run_simulation(
        api,
        admin,
        {
            "channel": "CRM",
            "direction": "INBOUND",
            "from": "noreply@shop.com",
            "to": ["ann@partner.io"],
        },
    )

    assert_no_user_errors(payload)
    page = (await api.data(SIMULATIONS, token=admin.token))["emailLoggingSimulations"]
    (node,) = [edge["node"] for edge in page["edges"]]
    assert node["current"]["automatedReason"] == "noreply@shop.com is an automated sender"
    assert node["changedSinceRun"] is False


async def test_a_simulations_headers_count_toward_what_one_request_may_read(api: Api) -> None:
    # given 5 simulations of 2,000 addresses each, and 50 headers each
    admin = await api.new_account()
    addresses = [f"r{n}@acme-corp.com" for n in range(500)]
    big = {
        "channel": "CRM",
        "direction": "INBOUND",
        "from": "ann@client.com",
        "to": addresses[:499],
        "excludedRecipients": addresses,
        "existingContacts": addresses,
        "inReplyTo": {"to": addresses},
        "headers": [{"name": "X-Trace", "value": str(n)} for n in range(50)],
    }
    ids = []
    for _ in range(5):
        payload = await run_simulation(api, admin, big)
        assert_no_user_errors(payload)
        ids.append(payload["simulation"]["id"])
    nodes = """query($ids: [ID!]!) { nodes(ids: $ids) { ... on EmailLoggingSimulation { id } } }"""

    # when all 5 are asked for at once: 9,995 addresses, and 250 headers
    refused = await api.gql(nodes, {"ids": ids}, token=admin.token)

    # then the headers count as what a page may read
    assert_top_level_error(refused, "BAD_USER_INPUT")
    assert "10245 addresses" in refused["errors"][0]["message"]
