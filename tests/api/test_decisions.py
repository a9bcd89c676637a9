"""evaluateEmailLogging end to end: PRODUCT.md, "Deciding what is logged"."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from schema.ids import to_global_id
from tests.api.decision_helpers import (
    add_patterns,
    deactivate,
    email,
    evaluate,
    evaluate_body,
    outcomes,
    recipient,
    totals,
)
from tests.helpers import Api, assert_top_level_error, error_codes

LISTS_APPLY = ["SALES_EXTENSION", "CRM", "BCC", "FORWARDING"]
LISTS_DO_NOT_APPLY = ["TEAM_INBOX", "INTEGRATION"]


@pytest.mark.parametrize("scope", ["ACCOUNT", "PERSONAL"])
async def test_a_listed_recipient_is_not_logged_while_the_others_are(api: Api, scope: str) -> None:
    # given: the account-wide list kept by the admin, or the user's own personal list
    admin = await api.new_account()
    user = await api.add_member(admin)
    await add_patterns(
        api, admin if scope == "ACCOUNT" else user, ["*@hartmann-law.de"], scope=scope
    )
    # when
    decision = await evaluate(
        api,
        user,
        email("SALES_EXTENSION", to=["anna@hartmann-law.de", "tom@northwind-traders.com"]),
    )
    # then
    assert outcomes(decision) == {
        "anna@hartmann-law.de": "NEVER_LOG",
        "tom@northwind-traders.com": "LOGGED",
    }
    listed = recipient(decision, "anna@hartmann-law.de")
    assert (listed["matchedPattern"], listed["matchedScope"]) == ("*@hartmann-law.de", scope)
    assert "anna@hartmann-law.de" in listed["explanation"]
    assert "*@hartmann-law.de" in listed["explanation"]
    assert recipient(decision, "tom@northwind-traders.com")["matchedPattern"] is None
    assert (decision["loggedCount"], decision["neverLogCount"]) == (1, 1)
    assert decision["sender"]["id"] == user.user_id


@pytest.mark.parametrize(
    ("channel", "applies"),
    [(c, True) for c in LISTS_APPLY] + [(c, False) for c in LISTS_DO_NOT_APPLY],
)
async def test_the_lists_apply_on_some_channels_only(api: Api, channel: str, applies: bool) -> None:
    # given: an entry on each list
    admin = await api.new_account()
    await add_patterns(api, admin, ["*@hartmann-law.de"], scope="ACCOUNT")
    await add_patterns(api, admin, ["dr.weber@praxis-weber.de"])
    # when
    decision = await evaluate(
        api, admin, email(channel, to=["anna@hartmann-law.de"], cc=["dr.weber@praxis-weber.de"])
    )
    # then
    assert decision["channel"] == channel
    assert decision["neverLogApplies"] is applies
    assert decision["emailSent"] is True
    expected = "NEVER_LOG" if applies else "LOGGED"
    assert set(outcomes(decision).values()) == {expected}
    assert (decision["loggedCount"], decision["neverLogCount"]) == ((0, 2) if applies else (2, 0))
    if not applies:
        assert all(
            r["matchedPattern"] is None and r["matchedScope"] is None
            for r in decision["recipients"]
        )
        assert "do not apply" in decision["recipients"][0]["explanation"]


async def test_an_email_sent_from_the_crm_to_never_logged_recipients_is_still_sent(
    api: Api,
) -> None:
    # given
    admin = await api.new_account()
    await add_patterns(api, admin, ["*@hartmann-law.de"], scope="ACCOUNT")
    # when
    decision = await evaluate(
        api, admin, email("CRM", to=["anna@hartmann-law.de"], bcc=["jonas@hartmann-law.de"])
    )
    # then: nothing is logged, yet the email goes out
    assert decision["emailSent"] is True
    assert decision["loggedCount"] == 0
    assert decision["neverLogCount"] == 2


async def test_a_personal_list_never_decides_for_another_users_emails(api: Api) -> None:
    # given: two users of one account; only the first lists the family address
    admin = await api.new_account()
    first = await api.add_member(admin)
    second = await api.add_member(admin)
    await add_patterns(api, first, ["maria.lopez@gmail.com"])
    same_email = email("SALES_EXTENSION", to=["maria.lopez@gmail.com"])
    # when
    by_first = await evaluate(api, first, same_email)
    by_second = await evaluate(api, second, same_email)
    # then
    assert outcomes(by_first) == {"maria.lopez@gmail.com": "NEVER_LOG"}
    assert outcomes(by_second) == {"maria.lopez@gmail.com": "LOGGED"}


async def test_a_super_admin_decides_as_another_user_with_that_users_personal_list(
    api: Api,
) -> None:
    # given: the user's list holds one address, the admin's own list another
    admin = await api.new_account()
    user = await api.add_member(admin)
    await add_patterns(api, user, ["maria.lopez@gmail.com"])
    await add_patterns(api, admin, ["tom@northwind-traders.com"])
    # when
    decision = await evaluate(
        api,
        admin,
        email(
            "CRM", senderId=user.user_id, to=["maria.lopez@gmail.com", "tom@northwind-traders.com"]
        ),
    )
    # then
    assert decision["sender"]["id"] == user.user_id
    assert outcomes(decision) == {
        "maria.lopez@gmail.com": "NEVER_LOG",
        "tom@northwind-traders.com": "LOGGED",
    }
    assert recipient(decision, "maria.lopez@gmail.com")["matchedScope"] == "PERSONAL"


async def test_a_user_may_not_decide_as_another_user(api: Api) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    colleague = await api.add_member(admin)
    # when
    body = await evaluate_body(
        api, user, email("CRM", senderId=colleague.user_id, to=["tom@northwind-traders.com"])
    )
    # then
    assert error_codes(body) == ["FORBIDDEN"], body
    assert body["data"] is None


async def test_a_user_may_name_themselves_as_sender(api: Api) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    await add_patterns(api, user, ["maria.lopez@gmail.com"])
    # when
    decision = await evaluate(
        api, user, email("CRM", senderId=user.user_id, to=["maria.lopez@gmail.com"])
    )
    # then
    assert decision["sender"]["id"] == user.user_id
    assert outcomes(decision) == {"maria.lopez@gmail.com": "NEVER_LOG"}


async def test_a_sender_of_another_account_is_not_found_exactly_like_one_that_never_existed(
    api: Api,
) -> None:
    # given
    admin = await api.new_account()
    stranger = await api.add_member(await api.new_account("Globex"))
    nobody = to_global_id("User", uuid.uuid4())
    # when
    other_account = await evaluate_body(
        api, admin, email("CRM", senderId=stranger.user_id, to=["a@brightpath.io"])
    )
    unknown = await evaluate_body(api, admin, email("CRM", senderId=nobody, to=["a@brightpath.io"]))
    # then: the same answer, with no hint that the user exists
    assert error_codes(other_account) == ["NOT_FOUND"], other_account
    assert other_account["data"] is None
    assert [e["message"] for e in other_account["errors"]] == [
        e["message"] for e in unknown["errors"]
    ]
    assert stranger.email not in str(other_account)


async def test_a_deactivated_sender_is_refused_with_a_clear_error(api: Api) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    await deactivate(api, admin, user)
    # when
    body = await evaluate_body(
        api, admin, email("CRM", senderId=user.user_id, to=["tom@northwind-traders.com"])
    )
    # then
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    assert "deactivated" in body["errors"][0]["message"]
    assert body["data"] is None


@pytest.mark.parametrize(
    ("given", "pattern", "address", "outcome", "matched"),
    [
        pytest.param(
            "Anna Hartmann <Anna@Hartmann-Law.de>",
            "anna@hartmann-law.de",
            "anna@hartmann-law.de",
            "NEVER_LOG",
            "anna@hartmann-law.de",
            id="display-name",
        ),
        pytest.param(
            '"Hartmann, Anna" <anna@hartmann-law.de>',
            "*@hartmann-law.de",
            "anna@hartmann-law.de",
            "NEVER_LOG",
            "*@hartmann-law.de",
            id="quoted-display-name",
        ),
        pytest.param(
            "  ANNA@HARTMANN-LAW.DE ",
            "anna@hartmann-law.de",
            "anna@hartmann-law.de",
            "NEVER_LOG",
            "anna@hartmann-law.de",
            id="case-and-spaces",
        ),
        pytest.param(
            "lars@DOMÄN.se",
            "*@xn--domn-noa.se",
            "lars@domän.se",
            "NEVER_LOG",
            "*@domän.se",
            id="unicode-address-punycode-entry",
        ),
        pytest.param(
            "Lars <lars@xn--domn-noa.se>",
            "*@domän.se",
            "lars@domän.se",
            "NEVER_LOG",
            "*@domän.se",
            id="punycode-address-unicode-entry",
        ),
        pytest.param(
            "lars@kontor.xn--domn-noa.se",
            "*@*.DOMÄN.se",
            "lars@kontor.domän.se",
            "NEVER_LOG",
            "*@*.domän.se",
            id="punycode-subdomain",
        ),
        pytest.param(
            "jane+news@acme-corp.com",
            "jane@acme-corp.com",
            "jane+news@acme-corp.com",
            "LOGGED",
            None,
            id="plus-address-is-another-address",
        ),
        pytest.param(
            "jane@acme-corp.com",
            "*@*.acme-corp.com",
            "jane@acme-corp.com",
            "LOGGED",
            None,
            id="subdomains-entry-skips-the-domain-itself",
        ),
    ],
)
async def test_addresses_match_in_canonical_form(
    api: Api, given: str, pattern: str, address: str, outcome: str, matched: str | None
) -> None:
    # given
    admin = await api.new_account()
    await add_patterns(api, admin, [pattern], scope="ACCOUNT")
    # when
    decision = await evaluate(api, admin, email("SALES_EXTENSION", to=[given]))
    # then
    [decided] = decision["recipients"]
    assert (decided["address"], decided["outcome"], decided["matchedPattern"]) == (
        address,
        outcome,
        matched,
    )


async def test_each_distinct_recipient_is_decided_once_in_the_first_field_it_is_in(
    api: Api,
) -> None:
    # given
    admin = await api.new_account()
    # when
    decision = await evaluate(
        api,
        admin,
        email(
            "CRM",
            to=["jane@brightpath.io", "Bob Meyer <bob@brightpath.io>", "not an address"],
            cc=["JANE@BrightPath.io", "carol@brightpath.io", "not an address"],
            bcc=["bob@brightpath.io", "Carol <carol@brightpath.io>", "dave@brightpath.io"],
        ),
    )
    # then
    assert [(r["address"], r["field"]) for r in decision["recipients"]] == [
        ("jane@brightpath.io", "TO"),
        ("bob@brightpath.io", "TO"),
        ("not an address", "TO"),
        ("carol@brightpath.io", "CC"),
        ("dave@brightpath.io", "BCC"),
    ]
    assert decision["loggedCount"] == 4


@pytest.mark.parametrize(
    ("original", "channel", "existing", "expected"),
    [
        pytest.param(
            {"to": ["anna@hartmann-law.de"]},
            "SALES_EXTENSION",
            ["tom@northwind-traders.com"],
            "REPLY_TO_NEVER_LOG_THREAD",
            id="original-to-listed",
        ),
        pytest.param(
            {"to": ["tom@northwind-traders.com"], "cc": ["Anna <anna@hartmann-law.de>"]},
            "FORWARDING",
            ["tom@northwind-traders.com"],
            "REPLY_TO_NEVER_LOG_THREAD",
            id="original-cc-listed",
        ),
        pytest.param(
            {"to": ["lisa@brightpath.io"]},
            "SALES_EXTENSION",
            ["tom@northwind-traders.com"],
            "LOGGED",
            id="clean-thread-existing-contact",
        ),
        pytest.param(
            {"to": ["lisa@brightpath.io"]},
            "SALES_EXTENSION",
            [],
            "NO_CONTACT",
            id="replies-never-create-contacts",
        ),
        pytest.param(
            {"to": ["anna@hartmann-law.de"]},
            "TEAM_INBOX",
            ["tom@northwind-traders.com"],
            "LOGGED",
            id="team-inbox-ignores-the-thread",
        ),
    ],
)
async def test_replies_to_a_never_logged_thread_are_not_logged(
    api: Api, original: dict[str, Any], channel: str, existing: list[str], expected: str
) -> None:
    # given
    admin = await api.new_account()
    await add_patterns(api, admin, ["*@hartmann-law.de"], scope="ACCOUNT")
    # when
    decision = await evaluate(
        api,
        admin,
        email(
            channel, to=["tom@northwind-traders.com"], existingContacts=existing, inReplyTo=original
        ),
    )
    # then
    decided = recipient(decision, "tom@northwind-traders.com")
    assert decided["outcome"] == expected
    if expected == "REPLY_TO_NEVER_LOG_THREAD":
        assert (decided["matchedPattern"], decided["matchedScope"]) == (
            "*@hartmann-law.de",
            "ACCOUNT",
        )
        assert "anna@hartmann-law.de" in decided["explanation"]


async def test_a_listed_recipient_of_a_reply_is_never_logged_rather_than_a_reply(api: Api) -> None:
    # given
    admin = await api.new_account()
    await add_patterns(api, admin, ["*@hartmann-law.de"], scope="ACCOUNT")
    # when
    decision = await evaluate(
        api,
        admin,
        email(
            "SALES_EXTENSION",
            to=["anna@hartmann-law.de", "tom@northwind-traders.com"],
            existingContacts=["tom@northwind-traders.com"],
            inReplyTo={"to": ["anna@hartmann-law.de"]},
        ),
    )
    # then
    assert outcomes(decision) == {
        "anna@hartmann-law.de": "NEVER_LOG",
        "tom@northwind-traders.com": "REPLY_TO_NEVER_LOG_THREAD",
    }


@pytest.mark.parametrize(
    ("existing", "outcome", "contact_created"),
    [
        pytest.param([], "NO_CONTACT", False, id="no-contact"),
        pytest.param(
            ["Tom Baker <TOM@northwind-traders.com>"], "LOGGED", False, id="existing-contact"
        ),
    ],
)
async def test_without_new_contacts_only_existing_contacts_are_logged(
    api: Api, existing: list[str], outcome: str, contact_created: bool
) -> None:
    # given
    admin = await api.new_account()
    # when
    decision = await evaluate(
        api,
        admin,
        email(
            "CRM",
            to=["tom@northwind-traders.com"],
            createNewContacts=False,
            existingContacts=existing,
        ),
    )
    # then
    [decided] = decision["recipients"]
    assert (decided["outcome"], decided["contactCreated"]) == (outcome, contact_created)
    assert decided["loggedToContact"] is (outcome == "LOGGED")


async def test_with_logging_off_nothing_is_logged_but_the_lists_still_say_why(api: Api) -> None:
    # given
    admin = await api.new_account()
    await add_patterns(api, admin, ["*@hartmann-law.de"], scope="ACCOUNT")
    # when
    decision = await evaluate(
        api,
        admin,
        email(
            "SALES_EXTENSION",
            to=["anna@hartmann-law.de", "tom@northwind-traders.com", "tom@"],
            logToCrm=False,
        ),
    )
    # then: rule 1 and rule 2 come before rule 3
    assert outcomes(decision) == {
        "anna@hartmann-law.de": "NEVER_LOG",
        "tom@northwind-traders.com": "LOGGING_OFF",
        "tom@": "INVALID_ADDRESS",
    }
    assert decision["loggedCount"] == 0


async def test_excluded_recipients_are_not_logged(api: Api) -> None:
    # given
    admin = await api.new_account()
    await add_patterns(api, admin, ["*@hartmann-law.de"], scope="ACCOUNT")
    # when
    decision = await evaluate(
        api,
        admin,
        email(
            "SALES_EXTENSION",
            to=["tom@northwind-traders.com", "lisa@brightpath.io", "anna@hartmann-law.de"],
            excludedRecipients=["Lisa <LISA@brightpath.io>", "anna@hartmann-law.de"],
        ),
    )
    # then
    assert outcomes(decision) == {
        "tom@northwind-traders.com": "LOGGED",
        "lisa@brightpath.io": "EXCLUDED",
        "anna@hartmann-law.de": "NEVER_LOG",
    }


# loggedToContact, contactCreated, timelineTracking, associatedRecordsLogged, activityFeedTracking
FLAGS = (
    "loggedToContact",
    "contactCreated",
    "timelineTracking",
    "associatedRecordsLogged",
    "activityFeedTracking",
)


@pytest.mark.parametrize(
    ("to", "extra", "outcome", "flags"),
    [
        pytest.param(
            "tom@northwind-traders.com",
            {},
            "LOGGED",
            (True, True, True, True, True),
            id="logged-new",
        ),
        pytest.param(
            "tom@northwind-traders.com",
            {"existingContacts": ["tom@northwind-traders.com"]},
            "LOGGED",
            (True, False, True, True, True),
            id="logged-existing",
        ),
        pytest.param(
            "anna@hartmann-law.de",
            {},
            "NEVER_LOG",
            (False, False, False, False, True),
            id="never-log",
        ),
        pytest.param("anna(at)hartmann-law.de", {}, "INVALID_ADDRESS", (False,) * 5, id="invalid"),
        pytest.param(
            "tom@northwind-traders.com",
            {"excludedRecipients": ["tom@northwind-traders.com"]},
            "EXCLUDED",
            (False, False, False, False, True),
            id="excluded",
        ),
        pytest.param(
            "tom@northwind-traders.com",
            {"logToCrm": False},
            "LOGGING_OFF",
            (False, False, False, False, True),
            id="logging-off",
        ),
    ],
)
async def test_each_outcome_sets_the_flags_of_the_outcome_table(
    api: Api, to: str, extra: dict[str, Any], outcome: str, flags: tuple[bool, ...]
) -> None:
    # given
    admin = await api.new_account()
    await add_patterns(api, admin, ["*@hartmann-law.de"], scope="ACCOUNT")
    # when
    decision = await evaluate(api, admin, email("BCC", to=[to], **extra))
    # then
    [decided] = decision["recipients"]
    assert decided["outcome"] == outcome
    assert tuple(decided[flag] for flag in FLAGS) == flags
    assert decided["explanation"]


@pytest.mark.parametrize(
    ("account", "personal", "to", "pattern", "scope"),
    [
        pytest.param(
            ["*@*.acme-corp.com"],
            ["jane@sales.acme-corp.com"],
            "jane@sales.acme-corp.com",
            "*@*.acme-corp.com",
            "ACCOUNT",
            id="account-before-personal",
        ),
        pytest.param(
            ["*@*.acme-corp.com", "*@sales.acme-corp.com", "jane@sales.acme-corp.com"],
            [],
            "jane@sales.acme-corp.com",
            "jane@sales.acme-corp.com",
            "ACCOUNT",
            id="address-first",
        ),
        pytest.param(
            ["*@*.acme-corp.com", "*@sales.acme-corp.com"],
            [],
            "jane@sales.acme-corp.com",
            "*@sales.acme-corp.com",
            "ACCOUNT",
            id="domain-before-subdomains",
        ),
        pytest.param(
            ["*@*.acme-corp.com", "*@*.sales.acme-corp.com"],
            [],
            "jane@eu.sales.acme-corp.com",
            "*@*.sales.acme-corp.com",
            "ACCOUNT",
            id="closest-subdomain-first",
        ),
        pytest.param(
            [],
            ["*@*.acme-corp.com", "*@sales.acme-corp.com", "jane@sales.acme-corp.com"],
            "jane@sales.acme-corp.com",
            "jane@sales.acme-corp.com",
            "PERSONAL",
            id="personal-address-first",
        ),
        pytest.param(
            [],
            ["*@*.acme-corp.com", "*@sales.acme-corp.com"],
            "jane@sales.acme-corp.com",
            "*@sales.acme-corp.com",
            "PERSONAL",
            id="personal-domain-before-subdomains",
        ),
    ],
)
async def test_the_entry_that_decides_is_named(
    api: Api, account: list[str], personal: list[str], to: str, pattern: str, scope: str
) -> None:
    # given
    admin = await api.new_account()
    if account:
        await add_patterns(api, admin, account, scope="ACCOUNT")
    if personal:
        await add_patterns(api, admin, personal)
    # when
    decision = await evaluate(api, admin, email("FORWARDING", to=[to]))
    # then
    [decided] = decision["recipients"]
    assert (decided["outcome"], decided["matchedPattern"], decided["matchedScope"]) == (
        "NEVER_LOG",
        pattern,
        scope,
    )
    assert f"{to} matches {pattern} on " in decided["explanation"]
    assert ("account-wide" if scope == "ACCOUNT" else "personal") in decided["explanation"]


async def test_the_counts_count_logged_and_never_logged_recipients(api: Api) -> None:
    # given
    admin = await api.new_account()
    await add_patterns(api, admin, ["*@hartmann-law.de"], scope="ACCOUNT")
    # when
    decision = await evaluate(
        api,
        admin,
        email(
            "SALES_EXTENSION",
            to=["anna@hartmann-law.de", "jonas@hartmann-law.de", "lukas@hartmann-law.de"],
            cc=["tom@northwind-traders.com", "lisa@brightpath.io"],
            bcc=["nobody", "carl@brightpath.io"],
            excludedRecipients=["carl@brightpath.io"],
        ),
    )
    # then
    assert (decision["loggedCount"], decision["neverLogCount"]) == (2, 3)
    assert len(decision["recipients"]) == 7


def _recipients(count: int) -> list[str]:
    return [f"contact{n}@northwind-traders.com" for n in range(count)]


async def test_an_email_may_have_500_distinct_recipients(api: Api) -> None:
    # given: 500 distinct recipients across the fields, and some of them given twice
    admin = await api.new_account()
    everyone = _recipients(500)
    # when
    decision = await evaluate(
        api,
        admin,
        email(
            "CRM",
            to=everyone[:300],
            cc=everyone[300:] + everyone[:50],
            bcc=[a.upper() for a in everyone[400:]],
        ),
    )
    # then
    assert decision["loggedCount"] == 500
    assert [r["address"] for r in decision["recipients"]] == everyone


@pytest.mark.parametrize(
    "given",
    [
        pytest.param(email("CRM", to=_recipients(501)), id="to"),
        pytest.param(
            email("TEAM_INBOX", to=_recipients(250), bcc=_recipients(501)[250:]), id="across-fields"
        ),
        pytest.param(
            email("CRM", to=["tom@brightpath.io"], inReplyTo={"to": _recipients(501)}),
            id="original-email",
        ),
        pytest.param(
            email("CRM", to=["tom@brightpath.io"], excludedRecipients=_recipients(501)),
            id="excluded-recipients",
        ),
    ],
)
async def test_more_than_500_distinct_recipients_are_refused(
    api: Api, given: dict[str, Any]
) -> None:
    # given
    admin = await api.new_account()
    # when
    body = await evaluate_body(api, admin, given)
    # then
    assert_top_level_error(body, "BAD_USER_INPUT")
    assert "500" in body["errors"][0]["message"]
    assert body["data"] is None


async def test_evaluating_saves_nothing(api: Api) -> None:
    # given
    admin = await api.new_account()
    await add_patterns(api, admin, ["*@hartmann-law.de"], scope="ACCOUNT")
    before = await totals(api, admin)
    # when
    await evaluate(
        api, admin, email("CRM", to=["anna@hartmann-law.de", "tom@northwind-traders.com"])
    )
    # then
    assert await totals(api, admin) == before


async def test_without_a_token_nothing_is_decided(api: Api) -> None:
    # when
    body = await evaluate_body(api, None, email("CRM", to=["tom@northwind-traders.com"]))
    # then
    assert error_codes(body) == ["UNAUTHENTICATED"], body
    assert body["data"] is None
