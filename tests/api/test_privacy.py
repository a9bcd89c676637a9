"""Personal lists are private from every other user, super admins included: no answer shows
another user's personal patterns (the audit log, evaluate, simulations), while the owner,
and the sender deciding for themself, see them."""

from __future__ import annotations

from typing import Any

from tests.api.decision_helpers import (
    EVALUATE,
    SIMULATIONS,
    add_patterns,
    email,
    recipient,
    run_simulation,
)
from tests.helpers import IMPORT_LIST, REMOVE_ENTRIES, Api, Member, assert_no_user_errors

AUDIT = """{ auditEvents(first: 100) { edges { node {
    id action scope patterns summary actor { id } } } } }"""
EVENT_NODE = """query($id: ID!) { node(id: $id) { ... on AuditEvent { patterns summary } } }"""
SIMULATION_NODE = """query($id: ID!) { node(id: $id) { ... on EmailLoggingSimulation {
    recorded { recipients { matchedPattern matchedScope explanation } }
    current { recipients { matchedPattern matchedScope explanation } } } } }"""

SECRET = ["doctor@private-clinic.example", "*@family-mail.example"]


async def uma(api: Api, admin: Member) -> Member:
    """A user called Uma User, with a token of her own (from her invitation)."""
    return await api.add_member(admin, email="uma@acme-corp.com", name="Uma User")


async def events(api: Api, member: Member) -> list[dict[str, Any]]:
    data = await api.data(AUDIT, token=member.token)
    return [edge["node"] for edge in data["auditEvents"]["edges"]]


def list_events(found: list[dict[str, Any]], actor: Member) -> list[dict[str, Any]]:
    """The list changes of ``actor``, oldest first, without ids."""
    return [
        {k: e[k] for k in ("action", "scope", "patterns", "summary")}
        for e in reversed(found)
        if e["action"].startswith("NEVER_LOG") and e["actor"] == {"id": actor.user_id}
    ]


async def test_a_super_admin_reads_another_users_list_changes_without_their_patterns(
    api: Api,
) -> None:
    # given: Uma adds two entries, removes one, and imports a file over her list
    admin = await api.new_account()
    user = await uma(api, admin)
    await add_patterns(api, user, SECRET)
    removed = await api.data(
        REMOVE_ENTRIES,
        {"input": {"scope": "PERSONAL", "patterns": ["*@family-mail.example"]}},
        token=user.token,
    )
    assert_no_user_errors(removed["removeNeverLogEntries"])
    imported = await api.data(
        IMPORT_LIST,
        {"input": {"scope": "PERSONAL", "csv": "sister@home.example\n", "mode": "REPLACE"}},
        token=user.token,
    )
    assert_no_user_errors(imported["importNeverLogList"])
    # and the admin changes the account-wide list and their own personal list
    await add_patterns(api, admin, ["*@lawfirm.example"], scope="ACCOUNT")
    await add_patterns(api, admin, ["admins-own@x.example"])

    # when the admin reads the audit log
    response = await api.post(AUDIT, token=admin.token)
    seen = [edge["node"] for edge in response.json()["data"]["auditEvents"]["edges"]]

    # then Uma's changes are there, with their counts, and none of her patterns
    assert list_events(seen, user) == [
        {
            "action": "NEVER_LOG_ENTRIES_ADDED",
            "scope": "PERSONAL",
            "patterns": [],
            "summary": "Uma User added 2 entries to their personal never-log list.",
        },
        {
            "action": "NEVER_LOG_ENTRIES_REMOVED",
            "scope": "PERSONAL",
            "patterns": [],
            "summary": "Uma User removed 1 entry from their personal never-log list.",
        },
        {
            "action": "NEVER_LOG_LIST_IMPORTED",
            "scope": "PERSONAL",
            "patterns": [],
            "summary": "Uma User imported a file into their personal never-log list: "
            "added 1 entry and removed 1 entry.",
        },
    ]
    for pattern in [*SECRET, "sister@home.example"]:
        assert pattern not in response.text
    # and the admin's own changes keep their patterns, on either list
    assert [e["patterns"] for e in list_events(seen, admin)] == [
        ["*@lawfirm.example"],
        ["admins-own@x.example"],
    ]

    # when the admin asks for one of Uma's events by its ID
    first = next(e for e in seen if e["actor"] == {"id": user.user_id})
    node = (await api.data(EVENT_NODE, {"id": first["id"]}, token=admin.token))["node"]
    # then it is redacted the same way
    assert node == {"patterns": [], "summary": first["summary"]}

    # when Uma reads her own audit log
    own = list_events(await events(api, user), user)
    # then she sees her patterns
    assert [e["patterns"] for e in own] == [
        SECRET,
        ["*@family-mail.example"],
        ["sister@home.example", "doctor@private-clinic.example"],
    ]
    node = (await api.data(EVENT_NODE, {"id": first["id"]}, token=user.token))["node"]
    assert node["patterns"] != []


async def test_a_super_admin_deciding_for_another_sender_does_not_see_their_patterns(
    api: Api,
) -> None:
    # given: Uma's personal list, and the account-wide list
    admin = await api.new_account()
    user = await uma(api, admin)
    await add_patterns(api, user, SECRET)
    await add_patterns(api, admin, ["*@lawfirm.example"], scope="ACCOUNT")
    given = email(
        "CRM",
        senderId=user.user_id,
        to=["doctor@private-clinic.example", "jane@lawfirm.example", "bob@customer.example"],
        cc=["mum@family-mail.example"],
    )

    # when the super admin decides for Uma
    response = await api.post(EVALUATE, {"email": given}, token=admin.token)
    decision = response.json()["data"]["evaluateEmailLogging"]

    # then her matches keep their outcome and scope, without the pattern
    doctor = recipient(decision, "doctor@private-clinic.example")
    assert (doctor["outcome"], doctor["matchedScope"], doctor["matchedPattern"]) == (
        "NEVER_LOG",
        "PERSONAL",
        None,
    )
    assert doctor["explanation"] == (
        "Not logged: doctor@private-clinic.example matches an entry on Uma User's "
        "personal never-log list."
    )
    mum = recipient(decision, "mum@family-mail.example")
    assert (mum["matchedPattern"], mum["matchedScope"]) == (None, "PERSONAL")
    assert mum["explanation"] == (
        "Not logged: mum@family-mail.example matches an entry on Uma User's "
        "personal never-log list."
    )
    assert decision["neverLogCount"] == 3
    assert "*@family-mail.example" not in response.text
    # and the account-wide list's entry is named as ever
    assert recipient(decision, "jane@lawfirm.example")["matchedPattern"] == "*@lawfirm.example"

    # when Uma decides the same email for herself
    own = (await api.data(EVALUATE, {"email": given}, token=user.token))["evaluateEmailLogging"]
    # then she sees her entries
    assert recipient(own, "mum@family-mail.example")["matchedPattern"] == "*@family-mail.example"
    assert recipient(own, "doctor@private-clinic.example")["explanation"] == (
        "Not logged: doctor@private-clinic.example matches doctor@private-clinic.example on "
        "the sender's personal never-log list."
    )


async def test_a_reply_to_a_thread_on_another_senders_list_does_not_name_the_pattern(
    api: Api,
) -> None:
    # given
    admin = await api.new_account()
    user = await uma(api, admin)
    await add_patterns(api, user, ["*@family-mail.example"])
    given = email(
        "CRM",
        senderId=user.user_id,
        to=["bob@customer.example"],
        existingContacts=["bob@customer.example"],
        inReplyTo={"to": ["mum@family-mail.example"]},
    )
    # when
    response = await api.post(EVALUATE, {"email": given}, token=admin.token)
    # then
    bob = recipient(response.json()["data"]["evaluateEmailLogging"], "bob@customer.example")
    assert (bob["outcome"], bob["matchedScope"], bob["matchedPattern"]) == (
        "REPLY_TO_NEVER_LOG_THREAD",
        "PERSONAL",
        None,
    )
    assert bob["explanation"] == (
        "Not logged: bob@customer.example is on a reply to a thread with "
        "mum@family-mail.example, which matches an entry on Uma User's personal never-log list."
    )
    assert "*@family-mail.example" not in response.text


async def test_a_super_admins_simulation_for_another_sender_hides_their_patterns(
    api: Api,
) -> None:
    # given: a simulation that the admin ran for Uma
    admin = await api.new_account()
    user = await uma(api, admin)
    await add_patterns(api, user, SECRET)
    given = email("CRM", senderId=user.user_id, to=["doctor@private-clinic.example"])
    payload = await run_simulation(api, admin, given)
    assert_no_user_errors(payload)
    simulation = payload["simulation"]
    expected = {
        "matchedPattern": None,
        "matchedScope": "PERSONAL",
        "explanation": "Not logged: doctor@private-clinic.example matches an entry on "
        "Uma User's personal never-log list.",
    }

    def seen(decision: dict[str, Any]) -> dict[str, Any]:
        (only,) = decision["recipients"]
        return {k: only[k] for k in expected}

    # then the payload's recorded and current decisions hide the pattern
    assert seen(simulation["recorded"]) == seen(simulation["current"]) == expected

    # when the admin reads their simulations, as a page and by ID
    page = await api.post(SIMULATIONS, {"first": 10}, token=admin.token)
    node = await api.post(SIMULATION_NODE, {"id": simulation["id"]}, token=admin.token)

    # then both hide it too
    (edge,) = page.json()["data"]["emailLoggingSimulations"]["edges"]
    assert seen(edge["node"]["recorded"]) == seen(edge["node"]["current"]) == expected
    found = node.json()["data"]["node"]
    assert seen(found["recorded"]) == seen(found["current"]) == expected
    for text in (page.text, node.text):
        assert "doctor@private-clinic.example on" not in text

    # and Uma's own simulation of the same email names her entry
    mine = await run_simulation(
        api, user, email("CRM", to=["doctor@private-clinic.example"]), name=None
    )
    (own,) = mine["simulation"]["recorded"]["recipients"]
    assert own["matchedPattern"] == "doctor@private-clinic.example"


BATCH = """query($emails: [EmailInput!]!) { evaluateEmailLoggingBatch(emails: $emails) {
    sender { id } recipients { address outcome matchedPattern matchedScope explanation } } }"""


async def test_a_super_admins_batch_hides_another_senders_patterns(api: Api) -> None:
    # given: Uma's personal list and the admin's own
    admin = await api.new_account()
    user = await uma(api, admin)
    await add_patterns(api, user, ["*@family-mail.example"])
    await add_patterns(api, admin, ["*@admins-family.example"])
    emails = [
        email("CRM", senderId=user.user_id, to=["mum@family-mail.example"]),
        email("CRM", to=["dad@admins-family.example"]),
        email("CRM", senderId=admin.user_id, to=["mum@family-mail.example"]),
    ]
    # when
    response = await api.post(BATCH, {"emails": emails}, token=admin.token)
    # then: Uma's match without its pattern; the admin's own, with theirs
    (umas,), (own,), (unlisted,) = (
        d["recipients"] for d in response.json()["data"]["evaluateEmailLoggingBatch"]
    )
    assert (umas["outcome"], umas["matchedScope"], umas["matchedPattern"]) == (
        "NEVER_LOG",
        "PERSONAL",
        None,
    )
    assert umas["explanation"] == (
        "Not logged: mum@family-mail.example matches an entry on Uma User's personal "
        "never-log list."
    )
    assert own["matchedPattern"] == "*@admins-family.example"
    assert unlisted["outcome"] == "LOGGED"
    assert "*@family-mail.example" not in response.text
