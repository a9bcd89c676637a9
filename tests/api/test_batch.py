"""evaluateEmailLoggingBatch end to end: PRODUCT.md, "Deciding what is logged" (its last
paragraph). Every email of a batch is decided exactly as evaluateEmailLogging decides it."""

from __future__ import annotations

import uuid
from typing import Any

from schema.ids import to_global_id
from tests.api.decision_helpers import (
    DECISION,
    EVALUATE,
    add_patterns,
    deactivate,
    email,
    evaluate,
    evaluate_body,
    statements_of,
)
from tests.api.test_internal_domains import set_domains
from tests.helpers import Api, Member, error_codes

BATCH = f"""query($emails: [EmailInput!]!) {{
    evaluateEmailLoggingBatch(emails: $emails) {{ {DECISION} }} }}"""


async def batch_body(api: Api, member: Member, emails: list[dict[str, Any]]) -> dict[str, Any]:
    """The whole answer to evaluateEmailLoggingBatch, errors and all."""
    return await api.gql(BATCH, {"emails": emails}, token=member.token)


async def batch(api: Api, member: Member, emails: list[dict[str, Any]]) -> list[dict[str, Any]]:
    data = await api.data(BATCH, {"emails": emails}, token=member.token)
    decided: list[dict[str, Any]] = data["evaluateEmailLoggingBatch"]
    return decided


async def _account_with_lists(api: Api) -> tuple[Member, Member]:
    """An admin and a user, each list with an address, a domain and a subdomain entry."""
    admin = await api.new_account()
    user = await api.add_member(admin)
    await add_patterns(
        api, admin, ["*@hartmann-law.de", "*@*.klinik-nord.de", "ceo@initech.de"], scope="ACCOUNT"
    )
    await add_patterns(api, admin, ["tom@northwind-traders.com"])
    await add_patterns(api, user, ["maria.lopez@gmail.com", "*@brightpath.io"])
    return admin, user


def _varied_emails(user: Member) -> list[dict[str, Any]]:
    """Emails that take every rule: lists on and off, both senders, replies, exclusions,
    existing contacts, invalid and repeated recipients, display names."""
    return [
        email(
            "SALES_EXTENSION",
            to=["Anna <anna@hartmann-law.de>", "tom@northwind-traders.com", "x@eu.klinik-nord.de"],
            cc=["maria.lopez@gmail.com", "ANNA@hartmann-law.de", "not an address"],
        ),
        email(
            "CRM",
            senderId=user.user_id,
            to=["maria.lopez@gmail.com", "tom@northwind-traders.com", "joe@brightpath.io"],
            bcc=["ceo@initech.de", "new@globex-partners.com"],
            existingContacts=["tom@northwind-traders.com"],
            createNewContacts=False,
        ),
        email("TEAM_INBOX", to=["anna@hartmann-law.de", "tom@northwind-traders.com"]),
        email("BCC", to=["a@umbrella-health.co.uk"], logToCrm=False),
        email(
            "FORWARDING",
            to=["a@umbrella-health.co.uk", "b@umbrella-health.co.uk"],
            excludedRecipients=["b@umbrella-health.co.uk"],
            inReplyTo={"to": ["dr.weber@ost.klinik-nord.de"]},
        ),
        email("INTEGRATION", to=[]),
    ]


async def test_every_email_is_decided_exactly_as_evaluate_email_logging_decides_it(
    api: Api,
) -> None:
    # given: full-ish lists on both sides, and emails that take every rule
    admin, user = await _account_with_lists(api)
    emails = _varied_emails(user)
    # when
    decided = await batch(api, admin, emails)
    # then: in input order, each the answer of evaluateEmailLogging for the same email
    assert decided == [await evaluate(api, admin, given) for given in emails]
    assert [d["channel"] for d in decided] == [e["channel"] for e in emails]
    assert [d["sender"]["id"] for d in decided] == [
        admin.user_id,
        user.user_id,
        admin.user_id,
        admin.user_id,
        admin.user_id,
        admin.user_id,
    ]
    # the personal entries of one sender never decide for another sender's email
    first, second = decided[0], decided[1]
    outcome_of = {r["address"]: r["outcome"] for r in first["recipients"]}
    assert outcome_of["maria.lopez@gmail.com"] == "LOGGED"
    assert outcome_of["tom@northwind-traders.com"] == "NEVER_LOG"
    outcome_of = {r["address"]: r["outcome"] for r in second["recipients"]}
    assert outcome_of["maria.lopez@gmail.com"] == "NEVER_LOG"
    assert outcome_of["tom@northwind-traders.com"] == "LOGGED"
    assert outcome_of["new@globex-partners.com"] == "NO_CONTACT"
    assert outcome_of["joe@brightpath.io"] == "NEVER_LOG"


async def test_a_user_decides_a_batch_with_their_own_personal_list(api: Api) -> None:
    # given
    _, user = await _account_with_lists(api)
    emails = [email("CRM", to=["maria.lopez@gmail.com"]), email("CRM", to=["tom@initech.de"])]
    # when
    decided = await batch(api, user, emails)
    # then
    assert decided == [await evaluate(api, user, given) for given in emails]
    assert decided[0]["neverLogCount"] == 1
    assert decided[1]["loggedCount"] == 1


async def test_internal_domains_and_each_senders_lists_decide_only_the_emails_they_cover(
    api: Api,
) -> None:
    # given an internal domain and entries of both lists, and a batch in which only some
    # emails have recipients that they cover, from two senders, the second sender's
    # emails before and after the first's
    admin, user = await _account_with_lists(api)
    await set_domains(api, admin, ["globex-partners.com"])
    covered = email("CRM", to=["ops@eu.globex-partners.com", "maria.lopez@gmail.com"])
    elsewhere = email("CRM", to=["ana@ridgeway-family.org", "joe@brightpath.io"])
    emails = [
        {**covered, "senderId": user.user_id},
        elsewhere,
        covered,
        {**elsewhere, "senderId": user.user_id},
    ]
    # when they are decided in one batch
    decided = await batch(api, admin, emails)
    # then each is decided as evaluateEmailLogging decides it alone: the internal domain
    # and the user's entries decide only where they cover a recipient of that email
    assert decided == [await evaluate(api, admin, given) for given in emails]
    outcomes = [[r["outcome"] for r in d["recipients"]] for d in decided]
    assert outcomes == [
        ["INTERNAL", "NEVER_LOG"],
        ["LOGGED", "LOGGED"],
        ["INTERNAL", "LOGGED"],
        ["LOGGED", "NEVER_LOG"],
    ]


# The answer without the sender's field: every field then read as an attribute (the plan
# completes it without a resolver, an email's copies once).
PLAIN_DECISION = DECISION.replace("sender { id }", "")
PLAIN_BATCH = f"""query($emails: [EmailInput!]!) {{
    evaluateEmailLoggingBatch(emails: $emails) {{ {PLAIN_DECISION} }} }}"""
PLAIN_EVALUATE = EVALUATE.replace("sender { id }", "")


async def test_copies_of_an_email_are_each_decided_as_evaluate_email_logging_decides_it(
    api: Api,
) -> None:
    # given: an email that the user's personal list matches (hidden from the admin where
    # decided for the user), another, and a batch of copies of both, next to each other
    # and apart, for either sender
    admin, user = await _account_with_lists(api)
    mine = email("CRM", to=["maria.lopez@gmail.com", "tom@northwind-traders.com"])
    other = email("CRM", to=["ana@ridgeway-family.org"], cc=["joe@brightpath.io"])
    for_user = {**mine, "senderId": user.user_id}
    emails = [for_user, for_user, mine, other, for_user, other, other, mine, for_user]
    for query, single in ((BATCH, EVALUATE), (PLAIN_BATCH, PLAIN_EVALUATE)):
        # when
        data = await api.data(query, {"emails": emails}, token=admin.token)
        decided = data["evaluateEmailLoggingBatch"]
        # then: each copy is the answer of evaluateEmailLogging for it, for its sender
        alone = [
            (await api.data(single, {"email": given}, token=admin.token))["evaluateEmailLogging"]
            for given in emails
        ]
        assert decided == alone
        outcome = {r["address"]: r["outcome"] for r in decided[0]["recipients"]}
        assert outcome["maria.lopez@gmail.com"] == "NEVER_LOG"
        assert decided[0]["recipients"][0]["matchedPattern"] is None  # hidden from the admin
        outcome = {r["address"]: r["outcome"] for r in decided[2]["recipients"]}
        assert outcome["maria.lopez@gmail.com"] == "LOGGED"
    # and another account's copies of the same email are decided by its own lists
    elsewhere = await api.new_account("Elsewhere")
    data = await api.data(PLAIN_BATCH, {"emails": [mine, mine]}, token=elsewhere.token)
    assert [d["loggedCount"] for d in data["evaluateEmailLoggingBatch"]] == [2, 2]


async def test_an_empty_batch_decides_nothing(api: Api) -> None:
    admin = await api.new_account()
    assert await batch(api, admin, []) == []


async def test_a_batch_of_100_emails_and_5000_recipients_is_decided(api: Api) -> None:
    # given: the largest batch allowed, an entry matching one recipient of each email (and
    # the default query limits: the largest batch fits them)
    admin = await api.new_account()
    await add_patterns(api, admin, ["*@hartmann-law.de"], scope="ACCOUNT")
    emails = [
        email("CRM", to=[f"r{n}-{e}@brightpath.io" for n in range(49)] + [f"e{e}@hartmann-law.de"])
        for e in range(100)
    ]
    # when
    decided = await batch(api, admin, emails)
    # then
    assert len(decided) == 100
    assert all((d["loggedCount"], d["neverLogCount"]) == (49, 1) for d in decided)
    assert decided[7]["recipients"][49]["address"] == "e7@hartmann-law.de"


async def test_more_than_100_emails_is_refused_stating_the_limits(api: Api) -> None:
    admin = await api.new_account()
    body = await batch_body(api, admin, [email("CRM", to=["a@brightpath.io"])] * 101)
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    assert body["data"] is None
    message = body["errors"][0]["message"]
    assert "100 emails" in message and "5,000 recipients" in message and "101" in message


async def test_more_than_5000_recipients_in_all_is_refused_stating_the_limits(api: Api) -> None:
    # given: 100 emails of 50 recipients and one more in cc each: 5,100 recipients
    admin = await api.new_account()
    emails = [
        email("CRM", to=[f"r{n}@brightpath.io" for n in range(50)], cc=[f"c{e}@initech.de"])
        for e in range(100)
    ]
    # when
    body = await batch_body(api, admin, emails)
    # then
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    assert body["data"] is None
    message = body["errors"][0]["message"]
    assert "5,000 recipients" in message and "5,100 recipients" in message, message


async def test_an_email_with_too_many_recipients_fails_the_batch_at_its_index(api: Api) -> None:
    # given
    admin = await api.new_account()
    too_many = email("CRM", to=[f"r{n}@brightpath.io" for n in range(501)])
    # when
    body = await batch_body(api, admin, [email("CRM", to=["a@initech.de"]), too_many])
    single = await evaluate_body(api, admin, too_many)
    # then: the error of evaluateEmailLogging, at the email's index
    assert body["data"] is None
    assert error_codes(body) == error_codes(single) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["message"] == single["errors"][0]["message"]
    assert body["errors"][0]["path"] == ["evaluateEmailLoggingBatch", 1]


async def test_a_sender_that_one_email_may_not_use_fails_the_whole_batch(api: Api) -> None:
    # given: a user naming a colleague as the sender of the third email
    admin = await api.new_account()
    user = await api.add_member(admin)
    colleague = await api.add_member(admin)
    forbidden = email("CRM", senderId=colleague.user_id, to=["tom@northwind-traders.com"])
    fine = email("CRM", to=["tom@northwind-traders.com"])
    # when
    body = await batch_body(api, user, [fine, fine, forbidden, fine])
    single = await evaluate_body(api, user, forbidden)
    # then
    assert body["data"] is None
    assert error_codes(body) == error_codes(single) == ["FORBIDDEN"]
    assert [e["message"] for e in body["errors"]] == [e["message"] for e in single["errors"]]
    assert body["errors"][0]["path"] == ["evaluateEmailLoggingBatch", 2]


async def test_an_unknown_or_deactivated_sender_fails_the_batch_at_the_first_such_email(
    api: Api,
) -> None:
    # given: a super admin naming a deactivated user, then a user of another account
    admin = await api.new_account()
    user = await api.add_member(admin)
    gone = await api.add_member(admin)
    await deactivate(api, admin, gone)
    stranger = await api.add_member(await api.new_account("Globex"))
    fine = email("CRM", senderId=user.user_id, to=["a@brightpath.io"])
    deactivated = email("CRM", senderId=gone.user_id, to=["a@brightpath.io"])
    unknown = email("CRM", senderId=stranger.user_id, to=["a@brightpath.io"])
    nobody = email("CRM", senderId=to_global_id("User", uuid.uuid4()), to=["a@brightpath.io"])
    # when
    first_deactivated = await batch_body(api, admin, [fine, deactivated, unknown])
    first_unknown = await batch_body(api, admin, [unknown, fine, deactivated])
    never_existed = await batch_body(api, admin, [fine, fine, fine, nobody])
    # then: each the error that evaluateEmailLogging gives for that email, at its index
    for body, given, index in (
        (first_deactivated, deactivated, 1),
        (first_unknown, unknown, 0),
        (never_existed, nobody, 3),
    ):
        single = await evaluate_body(api, admin, given)
        assert body["data"] is None
        assert len(body["errors"]) == 1, body
        assert error_codes(body) == error_codes(single), (body, single)
        assert body["errors"][0]["message"] == single["errors"][0]["message"]
        assert body["errors"][0]["path"] == ["evaluateEmailLoggingBatch", index]
    assert error_codes(first_deactivated) == ["BAD_USER_INPUT"]
    assert error_codes(first_unknown) == error_codes(never_existed) == ["NOT_FOUND"]
    assert stranger.email not in str(first_unknown)


async def test_a_batch_signed_out_is_refused_as_evaluate_email_logging_is(api: Api) -> None:
    # given
    given = email("CRM", to=["a@brightpath.io"])
    # when
    signed_out = await api.post(BATCH, {"emails": [given]})
    single = await api.post(EVALUATE, {"email": given})
    # then
    assert signed_out.status_code == single.status_code
    body = signed_out.json()
    assert body.get("data") is None
    assert error_codes(body) == error_codes(single.json()) != []


async def test_a_batch_of_50_emails_runs_as_many_statements_as_one_evaluation(api: Api) -> None:
    # given: entries matching some recipients, senders named by a super admin
    admin, user = await _account_with_lists(api)
    emails = [
        email(
            "SALES_EXTENSION",
            senderId=user.user_id if n % 2 else admin.user_id,
            to=[f"r{n}@hartmann-law.de", f"r{n}@brightpath.io", "maria.lopez@gmail.com"],
        )
        for n in range(50)
    ]
    # when
    one = await statements_of(api, admin, EVALUATE, {"email": emails[1]})
    fifty = await statements_of(api, admin, BATCH, {"emails": emails})
    # then: not a round trip per email
    assert len(fifty) <= len(one), (one, fifty)
    decided = await batch(api, admin, emails)
    assert [d["neverLogCount"] for d in decided] == [1 + 2 * (n % 2) for n in range(50)]
