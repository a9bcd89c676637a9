"""The input rules of PRODUCT.md ("The never-log lists"), through addNeverLogEntries."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.helpers import (
    REMOVE_ENTRIES,
    Api,
    add_entries,
    assert_no_user_errors,
    assert_user_error,
    listed_patterns,
)

LONG_LABEL = "a" * 64
LONG_DOMAIN = ".".join(["d" * 60] * 4) + ".com"  # 248 characters


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        pytest.param(["a@x.com,b@x.com"], ["a@x.com", "b@x.com"], id="commas"),
        pytest.param(["a@x.com;b@x.com"], ["a@x.com", "b@x.com"], id="semicolons"),
        pytest.param(
            ["a@x.com\nb@x.com\r\nc@x.com"], ["a@x.com", "b@x.com", "c@x.com"], id="line-breaks"
        ),
        pytest.param(["a@x.com, ;\n\n,b@x.com,"], ["a@x.com", "b@x.com"], id="empty-items-ignored"),
        pytest.param(
            ["a@x.com", "b@x.com; c@x.com"], ["a@x.com", "b@x.com", "c@x.com"], id="list-and-string"
        ),
        pytest.param(["  jane@acme.com \t"], ["jane@acme.com"], id="trimmed"),
        pytest.param(["Jane.Doe@ACME.Com"], ["jane.doe@acme.com"], id="lower-case"),
        pytest.param(["*@*.Sub.Example.COM"], ["*@*.sub.example.com"], id="subdomains-lower-case"),
        pytest.param(["example.com"], ["*@example.com"], id="bare-domain"),
        pytest.param(["@example.com"], ["*@example.com"], id="at-domain"),
    ],
)
async def test_patterns_are_split_trimmed_and_canonical(
    api: Api, patterns: list[str], expected: list[str]
) -> None:
    # given
    admin = await api.new_account()
    # when
    payload = await add_entries(api, admin, patterns)
    # then
    assert_no_user_errors(payload)
    assert sorted(e["pattern"] for e in payload["added"]) == expected
    assert await listed_patterns(api, admin) == expected


async def test_spaces_do_not_separate_patterns(api: Api) -> None:
    # given
    admin = await api.new_account()
    # when
    payload = await add_entries(api, admin, ["a@x.com b@x.com"])
    # then
    assert_user_error(payload, "INVALID_PATTERN", ["input", "patterns", "0"])
    assert await listed_patterns(api, admin) == []


@pytest.mark.parametrize(
    ("pattern", "kind"),
    [
        ("jane@acme.com", "ADDRESS"),
        ("*@acme.com", "DOMAIN"),
        ("*@*.acme.com", "SUBDOMAINS"),
    ],
)
async def test_each_pattern_has_its_kind(api: Api, pattern: str, kind: str) -> None:
    # given
    admin = await api.new_account()
    # when
    payload = await add_entries(api, admin, [pattern], scope="ACCOUNT")
    # then
    assert_no_user_errors(payload)
    assert [(e["pattern"], e["kind"], e["scope"]) for e in payload["added"]] == [
        (pattern, kind, "ACCOUNT")
    ]


@pytest.mark.parametrize("second", ["*@domän.se", "*@DOMÄN.se", "*@xn--domn-noa.se", "DOMÄN.SE"])
@pytest.mark.parametrize("first", ["*@domän.se", "*@DOMÄN.se", "*@xn--domn-noa.se"])
async def test_an_internationalized_domain_is_one_entry_in_every_spelling(
    api: Api, first: str, second: str
) -> None:
    # given
    admin = await api.new_account()
    added = await add_entries(api, admin, [first])
    assert_no_user_errors(added)
    assert [e["pattern"] for e in added["added"]] == ["*@domän.se"]
    # when
    again = await add_entries(api, admin, [second])
    # then
    assert_no_user_errors(again)
    assert again["added"] == []
    assert again["alreadyListed"] == ["*@domän.se"]
    assert await listed_patterns(api, admin) == ["*@domän.se"]


async def test_spellings_of_one_pattern_in_one_call_make_one_entry(api: Api) -> None:
    # given
    admin = await api.new_account()
    # when
    payload = await add_entries(
        api, admin, ["*@domän.se, *@xn--domn-noa.se", "Jane@Acme.com", "jane@acme.com"]
    )
    # then
    assert_no_user_errors(payload)
    assert sorted(e["pattern"] for e in payload["added"]) == ["*@domän.se", "jane@acme.com"]
    assert payload["list"]["count"] == 2


REFUSED = [
    pytest.param("name@hubspot. com", "space", id="space-inside"),
    pytest.param("na*me@x.com", "wildcard", id="wildcard-in-local-part"),
    pytest.param("*@x.*", "wildcard", id="wildcard-as-top-level-domain"),
    pytest.param("*@localhost", "period", id="no-period"),
    pytest.param("b" * 60 + "@" + LONG_DOMAIN, "too long", id="over-long-address"),
    pytest.param("a" * 65 + "@x.com", "64", id="over-long-local-part"),
    pytest.param(f"*@{LONG_LABEL}.com", "63", id="over-long-label"),
    pytest.param(f"jane@{LONG_LABEL}.com", "63", id="over-long-label-in-address"),
    pytest.param('"john doe"@x.com', "quoted", id="quoted-local-part"),
    pytest.param('"jd"@x.com', "quoted", id="quoted-local-part-without-space"),
]


@pytest.mark.parametrize(("pattern", "why"), REFUSED)
async def test_an_invalid_pattern_is_refused_and_named(api: Api, pattern: str, why: str) -> None:
    # given
    admin = await api.new_account()
    # when
    payload = await add_entries(api, admin, [pattern])
    # then
    error = assert_user_error(payload, "INVALID_PATTERN", ["input", "patterns", "0"])
    assert f'"{pattern}"' in error["message"]
    assert why in error["message"]
    assert payload["list"] is None
    assert await listed_patterns(api, admin) == []


@pytest.mark.parametrize(("pattern", "why"), REFUSED)
async def test_one_invalid_pattern_refuses_the_whole_call(api: Api, pattern: str, why: str) -> None:
    # given
    admin = await api.new_account()
    # when
    payload = await add_entries(
        api, admin, ["valid@x.com", "other@x.com", pattern], scope="ACCOUNT"
    )
    # then
    assert_user_error(payload, "INVALID_PATTERN", ["input", "patterns", "2"])
    assert payload["added"] == []
    assert await listed_patterns(api, admin, scope="ACCOUNT") == []


async def test_every_invalid_pattern_is_named_by_its_index(api: Api) -> None:
    # given
    admin = await api.new_account()
    # when
    payload = await add_entries(api, admin, ["*@localhost", "ok@x.com", "ok2@x.com; na*me@x.com"])
    # then
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_PATTERN", ["input", "patterns", "0"]),
        ("INVALID_PATTERN", ["input", "patterns", "2"]),
    ]
    assert '"*@localhost"' in payload["userErrors"][0]["message"]
    assert '"na*me@x.com"' in payload["userErrors"][1]["message"]
    assert await listed_patterns(api, admin) == []


async def test_a_pattern_already_listed_is_reported_not_refused(api: Api) -> None:
    # given
    admin = await api.new_account()
    assert_no_user_errors(await add_entries(api, admin, ["jane@acme.com"]))
    # when
    payload = await add_entries(api, admin, ["JANE@acme.com", "john@acme.com"])
    # then
    assert_no_user_errors(payload)
    assert payload["alreadyListed"] == ["jane@acme.com"]
    assert [e["pattern"] for e in payload["added"]] == ["john@acme.com"]
    assert payload["list"]["count"] == 2


@pytest.mark.parametrize(
    "patterns",
    [
        pytest.param([f"u{i}@x.com" for i in range(4)], id="list-items"),
        pytest.param(["u0@x.com,u1@x.com;u2@x.com\nu3@x.com"], id="one-string"),
    ],
)
async def test_more_patterns_than_the_limit_in_one_call_are_too_many(
    make_api: Callable[..., Api], patterns: list[str]
) -> None:
    # given
    api = make_api(personal_list_limit=3)
    try:
        admin = await api.new_account()
        # when
        payload = await add_entries(api, admin, patterns)
        # then
        error = assert_user_error(payload, "TOO_MANY_VALUES")
        assert "3" in error["message"] and "4" in error["message"]
        assert await listed_patterns(api, admin) == []
    finally:
        await api.close()


async def test_as_many_patterns_as_the_default_limit_in_one_call_are_accepted(api: Api) -> None:
    # given
    admin = await api.new_account()
    # when
    accepted = await add_entries(api, admin, [",".join(f"u{i}@x.com" for i in range(500))])
    refused = await add_entries(api, admin, [f"v{i}@x.com" for i in range(501)], scope="ACCOUNT")
    # then
    assert_no_user_errors(accepted)
    assert accepted["list"]["count"] == 500
    assert_user_error(refused, "TOO_MANY_VALUES")
    assert await listed_patterns(api, admin, scope="ACCOUNT") == []


@pytest.mark.parametrize(
    "patterns",
    [pytest.param([], id="empty-list"), pytest.param([""], id="empty-string"), [",;"], [" \n "]],
)
@pytest.mark.parametrize("mutation", ["add", "remove"])
async def test_a_call_that_names_no_pattern_is_invalid_input(
    api: Api, patterns: list[str], mutation: str
) -> None:
    # given a list with an entry
    member = await api.new_account()
    assert_no_user_errors(await add_entries(api, member, ["jane@acme.com"]))
    # when
    if mutation == "add":
        payload = await add_entries(api, member, patterns)
    else:
        data = await api.data(
            REMOVE_ENTRIES,
            {"input": {"scope": "PERSONAL", "patterns": patterns}},
            token=member.token,
        )
        payload = data["removeNeverLogEntries"]
    # then
    error = assert_user_error(payload, "INVALID_INPUT", ["input", "patterns"])
    assert "no patterns given" in error["message"].lower()
    assert await listed_patterns(api, member) == ["jane@acme.com"]
