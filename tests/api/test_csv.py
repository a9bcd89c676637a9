"""CSV export (RFC 4180) and import of the never-log lists."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.helpers import (
    IMPORT_LIST,
    Api,
    Member,
    add_entries,
    assert_no_user_errors,
    assert_user_error,
    listed_patterns,
)

HEADER = "pattern,kind,created_at,created_by"
EXPORT = """query($scope: NeverLogScope!) { neverLogList(scope: $scope) {
    csv entries(first: 100) { edges { node { pattern kind createdAt createdBy { email } } } } } }"""


@pytest.fixture
async def small_api(make_api: Callable[..., Api]) -> AsyncIterator[Api]:
    client = make_api(personal_list_limit=3)
    yield client
    await client.close()


async def export(
    api: Api, member: Member, scope: str = "PERSONAL"
) -> tuple[str, list[dict[str, Any]]]:
    """The list's CSV, and its entries as the API shows them."""
    data = await api.data(EXPORT, {"scope": scope}, token=member.token)
    entries = [e["node"] for e in data["neverLogList"]["entries"]["edges"]]
    return data["neverLogList"]["csv"], entries


async def import_csv(
    api: Api, member: Member, text: str, *, mode: str = "MERGE", scope: str = "PERSONAL"
) -> dict[str, Any]:
    data = await api.data(
        IMPORT_LIST, {"input": {"scope": scope, "csv": text, "mode": mode}}, token=member.token
    )
    payload: dict[str, Any] = data["importNeverLogList"]
    return payload


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def crlf(*lines: str) -> str:
    return "".join(f"{line}\r\n" for line in lines)


async def test_the_export_is_rfc_4180_with_a_header_in_pattern_order(api: Api) -> None:
    # given: entries of every kind, added by two super admins in no particular order
    admin = await api.new_account()
    second = await api.add_member(admin, role="SUPER_ADMIN")
    assert_no_user_errors(
        await add_entries(api, admin, ["Jane@Acme.com", "*@domän.se"], scope="ACCOUNT")
    )
    assert_no_user_errors(
        await add_entries(api, second, ["*@*.acme.com", "acme.com"], scope="ACCOUNT")
    )
    # when
    text, entries = await export(api, admin, "ACCOUNT")
    # then
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")
    assert '"' not in text  # nothing here needs quoting, so nothing is quoted
    lines = text.split("\r\n")[:-1]
    assert lines[0] == HEADER
    assert lines[1:] == [
        f"*@*.acme.com,SUBDOMAINS,{entries[0]['createdAt']},{second.email}",
        f"*@acme.com,DOMAIN,{entries[1]['createdAt']},{second.email}",
        f"*@domän.se,DOMAIN,{entries[2]['createdAt']},{admin.email}",
        f"jane@acme.com,ADDRESS,{entries[3]['createdAt']},{admin.email}",
    ]
    assert [e["pattern"] for e in entries] == sorted(e["pattern"] for e in entries)
    for row in rows(text)[1:]:
        assert dt.datetime.fromisoformat(row[2]).tzinfo is not None


async def test_an_empty_list_exports_its_header_only(api: Api) -> None:
    # given
    admin = await api.new_account()
    # when
    text, _ = await export(api, admin)
    # then
    assert text == crlf(HEADER)


async def test_an_exported_file_imported_into_another_list_reproduces_it(api: Api) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    assert_no_user_errors(
        await add_entries(
            api,
            admin,
            ["jane@acme.com", "*@domän.se", "*@*.acme.com", "*@lawyers.com"],
            scope="ACCOUNT",
        )
    )
    exported, _ = await export(api, admin, "ACCOUNT")
    assert_no_user_errors(await add_entries(api, user, ["jane@acme.com"]))
    # when
    payload = await import_csv(api, user, exported)
    # then
    assert_no_user_errors(payload)
    assert payload["addedCount"] == 3
    assert payload["removedCount"] == 0
    assert payload["alreadyListed"] == ["jane@acme.com"]
    assert payload["list"] == {"count": 4}
    reimported, _ = await export(api, user)
    assert [row[:2] for row in rows(reimported)] == [row[:2] for row in rows(exported)]
    assert {row[3] for row in rows(reimported)[1:]} == {user.email}


async def test_an_exported_file_imported_into_another_account_reproduces_it(api: Api) -> None:
    # given
    admin = await api.new_account()
    other = await api.new_account("Other")
    assert_no_user_errors(await add_entries(api, admin, ["jane@acme.com", "*@*.acme.com"]))
    exported, _ = await export(api, admin)
    # when
    payload = await import_csv(api, other, exported, scope="ACCOUNT")
    # then
    assert_no_user_errors(payload)
    assert await listed_patterns(api, other, scope="ACCOUNT") == ["*@*.acme.com", "jane@acme.com"]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("jane@acme.com\n*@lawyers.com\n*@*.acme.com\n", id="plain"),
        pytest.param(
            "pattern\njane@acme.com\n*@lawyers.com\n*@*.acme.com\n", id="plain-with-header"
        ),
        pytest.param(
            "Pattern\r\njane@acme.com\r\n*@lawyers.com\r\n*@*.acme.com",
            id="crlf-header-no-final-break",
        ),
        pytest.param(
            "jane@acme.com, Jane Doe\n*@lawyers.com, Lawyers\n*@*.acme.com", id="other-columns"
        ),
        pytest.param(
            "\n  Jane@ACME.com  \n\n lawyers.com\n *@*.Acme.com \n\n", id="blank-lines-and-spaces"
        ),
        pytest.param(
            crlf(
                HEADER,
                "jane@acme.com,ADDRESS,,",
                "*@lawyers.com,DOMAIN,,",
                "*@*.acme.com,SUBDOMAINS,,",
            ),
            id="exported-form",
        ),
        pytest.param(
            "\ufeffpattern\njane@acme.com\n*@lawyers.com\n*@*.acme.com\n", id="byte-order-mark"
        ),
    ],
)
async def test_a_plain_list_is_imported_with_or_without_header(api: Api, text: str) -> None:
    # given
    admin = await api.new_account()
    # when
    payload = await import_csv(api, admin, text)
    # then
    assert_no_user_errors(payload)
    assert payload["addedCount"] == 3
    assert await listed_patterns(api, admin) == ["*@*.acme.com", "*@lawyers.com", "jane@acme.com"]


async def test_replace_makes_the_list_hold_exactly_the_files_patterns(api: Api) -> None:
    # given
    admin = await api.new_account()
    assert_no_user_errors(await add_entries(api, admin, ["old@x.com", "kept@x.com", "*@kept.com"]))
    # when
    payload = await import_csv(
        api,
        admin,
        crlf("pattern", "KEPT@x.com", "kept.com", "new@x.com", "*@*.new.com"),
        mode="REPLACE",
    )
    # then
    assert_no_user_errors(payload)
    assert payload["removedCount"] == 1
    assert payload["addedCount"] == 2
    assert sorted(payload["alreadyListed"]) == ["*@kept.com", "kept@x.com"]
    assert payload["list"] == {"count": 4}
    assert await listed_patterns(api, admin) == [
        "*@*.new.com",
        "*@kept.com",
        "kept@x.com",
        "new@x.com",
    ]


async def test_replace_with_the_lists_own_export_changes_nothing(api: Api) -> None:
    # given
    admin = await api.new_account()
    assert_no_user_errors(await add_entries(api, admin, ["a@x.com", "*@y.com"]))
    before, _ = await export(api, admin)
    # when
    payload = await import_csv(api, admin, before, mode="REPLACE")
    # then
    assert_no_user_errors(payload)
    assert (payload["addedCount"], payload["removedCount"]) == (0, 0)
    assert sorted(payload["alreadyListed"]) == ["*@y.com", "a@x.com"]
    assert (await export(api, admin))[0] == before


@pytest.mark.parametrize("mode", ["MERGE", "REPLACE"])
@pytest.mark.parametrize(
    ("text", "line", "pattern"),
    [
        pytest.param(
            crlf("pattern", "ok@x.com", "na*me@x.com", "fine@x.com"),
            "3",
            "na*me@x.com",
            id="with-header",
        ),
        pytest.param("ok@x.com\n*@localhost\n", "2", "*@localhost", id="plain"),
        pytest.param(
            "ok@x.com\n\nname@hubspot. com, ignored\n",
            "3",
            "name@hubspot. com",
            id="after-a-blank-line",
        ),
        pytest.param(
            crlf(HEADER, "ok@x.com,ADDRESS,,", "*@x.*,DOMAIN,,"), "3", "*@x.*", id="exported-form"
        ),
    ],
)
async def test_an_invalid_line_refuses_the_whole_import(
    api: Api, mode: str, text: str, line: str, pattern: str
) -> None:
    # given
    admin = await api.new_account()
    assert_no_user_errors(await add_entries(api, admin, ["before@x.com"]))
    # when
    payload = await import_csv(api, admin, text, mode=mode)
    # then
    error = assert_user_error(payload, "INVALID_PATTERN", ["input", "csv", line])
    assert f'"{pattern}"' in error["message"]
    assert payload["list"] is None
    assert await listed_patterns(api, admin) == ["before@x.com"]


async def test_an_import_past_the_limit_is_refused(small_api: Api) -> None:
    # given: a personal list of 3 that holds 2
    admin = await small_api.new_account()
    assert_no_user_errors(await add_entries(small_api, admin, ["a@x.com", "b@x.com"]))
    # when
    payload = await import_csv(small_api, admin, "a@x.com\nc@x.com\nd@x.com\n")
    # then
    error = assert_user_error(payload, "LIMIT_EXCEEDED")
    assert "holds 2 of its 3 entries" in error["message"]
    assert "by 1" in error["message"]
    assert await listed_patterns(small_api, admin) == ["a@x.com", "b@x.com"]


async def test_a_replace_may_fill_the_list_to_its_limit_but_not_past_it(small_api: Api) -> None:
    # given
    admin = await small_api.new_account()
    assert_no_user_errors(await add_entries(small_api, admin, ["a@x.com", "b@x.com", "c@x.com"]))
    # when
    exactly = await import_csv(small_api, admin, "d@x.com\ne@x.com\nf@x.com\n", mode="REPLACE")
    past = await import_csv(
        small_api, admin, "g@x.com\nh@x.com\ni@x.com\nj@x.com\n", mode="REPLACE"
    )
    # then
    assert_no_user_errors(exactly)
    assert (exactly["addedCount"], exactly["removedCount"]) == (3, 3)
    assert_user_error(past, "TOO_MANY_VALUES")
    assert await listed_patterns(small_api, admin) == ["d@x.com", "e@x.com", "f@x.com"]


@pytest.mark.parametrize("mode", ["MERGE", "REPLACE"])
@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("\r\n\r\n  \n", id="blank-lines"),
        pytest.param(crlf(HEADER), id="header-only"),
        pytest.param("pattern\n", id="plain-header-only"),
    ],
)
async def test_an_empty_file_is_refused_and_removes_nothing(api: Api, mode: str, text: str) -> None:
    # given
    admin = await api.new_account()
    assert_no_user_errors(await add_entries(api, admin, ["kept@x.com"]))
    # when
    payload = await import_csv(api, admin, text, mode=mode)
    # then
    assert_user_error(payload, "INVALID_INPUT", ["input", "csv"])
    assert payload["list"] is None
    assert await listed_patterns(api, admin) == ["kept@x.com"]
