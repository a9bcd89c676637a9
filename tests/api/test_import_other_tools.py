"""Imports of files that other tools exported (a CRM's contact export, a spreadsheet), through
HTTP on every database: the column that the header names is read, every other ignored, and
an error names the file's line."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import Api, Member, assert_no_user_errors, assert_user_error

IMPORT = """mutation($input: ImportNeverLogListInput!) { importNeverLogList(input: $input) {
    addedCount alreadyListed list { count } userErrors { field message code } } }"""

ENTRIES = """{ neverLogList(scope: PERSONAL) {
    entries(first: 100) { edges { node { pattern note expiresAt action } } } } }"""


async def import_file(
    api: Api, member: Member, text: str, *, dry_run: bool = False
) -> dict[str, Any]:
    data = await api.data(
        IMPORT,
        {"input": {"scope": "PERSONAL", "csv": text, "dryRun": dry_run}},
        token=member.token,
    )
    payload: dict[str, Any] = data["importNeverLogList"]
    return payload


async def entries(api: Api, member: Member) -> dict[str, dict[str, Any]]:
    data = await api.data(ENTRIES, token=member.token)
    return {e["node"]["pattern"]: e["node"] for e in data["neverLogList"]["entries"]["edges"]}


async def test_a_contact_export_with_a_name_column_imports_its_addresses(api: Api) -> None:
    # given the file of the issue
    member = await api.new_account()
    # when
    payload = await import_file(api, member, "pattern,name\r\njane@x.com,Jane Doe\r\n")
    # then
    assert_no_user_errors(payload)
    assert payload["addedCount"] == 1
    assert list(await entries(api, member)) == ["jane@x.com"]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Name,Email,Company\r\nJane Doe,jane@x.com,X Inc\r\n", id="email"),
        pytest.param(
            "\ufeffFirst name;Last name; Email Address \r\nJane;Doe;jane@x.com\r\n",
            id="email-address-semicolons-bom",
        ),
        pytest.param("Name\tADDRESS\r\nJane Doe\tjane@x.com\r\n", id="address-tabs"),
        pytest.param('"Full Name","Domain"\n"Jane, Doe","jane@x.com"\n', id="domain-quoted"),
        pytest.param("Name,Email,Domain\r\nJane Doe,jane@x.com,x.com\r\n", id="first-wins"),
    ],
)
async def test_the_column_the_header_names_is_read_and_the_others_ignored(
    api: Api, text: str
) -> None:
    member = await api.new_account()
    payload = await import_file(api, member, text)
    assert_no_user_errors(payload)
    assert list(await entries(api, member)) == ["jane@x.com"]


async def test_a_500_row_export_with_a_name_column_counts_500_patterns(api: Api) -> None:
    # given a personal list of 500 and a contact export of 500 rows
    member = await api.new_account()
    rows = "".join(f"Contact {n},contact{n}@customer.com\r\n" for n in range(500))
    # when
    payload = await import_file(api, member, "Name,Email\r\n" + rows)
    # then
    assert_no_user_errors(payload)
    assert payload["addedCount"] == 500
    assert payload["list"] == {"count": 500}


async def test_note_expiry_and_action_are_read_from_their_named_columns(api: Api) -> None:
    member = await api.new_account()
    text = (
        "Company,action,Email,note,expires_at,Phone\r\n"
        "Hartmann,LOG_SUBJECT_ONLY,jane@hartmann-law.de,Legal hold,2999-01-01T00:00:00+00:00,1\r\n"
        "Weber,,bob@praxis-weber.de,,,2\r\n"
    )
    payload = await import_file(api, member, text)
    assert_no_user_errors(payload)
    found = await entries(api, member)
    assert {p: (e["action"], e["note"], e["expiresAt"]) for p, e in found.items()} == {
        "jane@hartmann-law.de": ("LOG_SUBJECT_ONLY", "Legal hold", "2999-01-01T00:00:00+00:00"),
        "bob@praxis-weber.de": ("NEVER_LOG", None, None),
    }


async def test_a_row_whose_pattern_cell_is_empty_is_skipped(api: Api) -> None:
    member = await api.new_account()
    text = "Name,Email\r\nJane Doe,jane@x.com\r\nNo Address,\r\n,\r\nBob,bob@x.com\r\n"
    payload = await import_file(api, member, text)
    assert_no_user_errors(payload)
    assert sorted(await entries(api, member)) == ["bob@x.com", "jane@x.com"]


async def test_without_a_header_the_first_column_holds_the_patterns(api: Api) -> None:
    member = await api.new_account()
    payload = await import_file(api, member, "jane@x.com,Jane Doe\r\nbob@x.com,Bob, Jr.\r\n")
    assert_no_user_errors(payload)
    assert sorted(await entries(api, member)) == ["bob@x.com", "jane@x.com"]


async def test_a_headerless_export_still_reads_its_extended_columns(api: Api) -> None:
    member = await api.new_account()
    payload = await import_file(
        api, member, "x.com,DOMAIN,,,why,,LOG_METADATA_ONLY\r\njane@y.com,ADDRESS,,,,,\r\n"
    )
    assert_no_user_errors(payload)
    found = await entries(api, member)
    assert {p: (e["note"], e["action"]) for p, e in found.items()} == {
        "*@x.com": ("why", "LOG_METADATA_ONLY"),
        "jane@y.com": (None, "NEVER_LOG"),
    }


@pytest.mark.parametrize(
    ("text", "line", "cell"),
    [
        pytest.param(
            "Name,Email\r\nJane,jane@x.com\r\nBob,Bob Smith\r\n", "3", "Bob Smith", id="header"
        ),
        pytest.param(
            "jane@x.com,Jane\r\n\r\nnot an address,Bob\r\n", "3", "not an address", id="plain"
        ),
    ],
)
async def test_an_invalid_cell_is_named_with_its_line_and_nothing_is_saved(
    api: Api, text: str, line: str, cell: str
) -> None:
    # given
    member = await api.new_account()
    # when
    payload = await import_file(api, member, text)
    # then
    error = assert_user_error(payload, "INVALID_PATTERN", ["input", "csv", line])
    assert error["message"].startswith(f"Line {line}: ")
    assert f'"{cell}"' in error["message"]
    assert await entries(api, member) == {}


async def test_a_bad_action_in_a_contact_export_names_its_line(api: Api) -> None:
    member = await api.new_account()
    payload = await import_file(
        api, member, "Email,Action\r\njane@x.com,NEVER_LOG\r\nbob@x.com,MAYBE\r\n"
    )
    error = assert_user_error(payload, "INVALID_INPUT", ["input", "csv", "3"])
    assert "Line 3 (bob@x.com)" in error["message"] and '"MAYBE"' in error["message"]
    assert await entries(api, member) == {}


async def test_a_dry_run_of_a_contact_export_saves_nothing(api: Api) -> None:
    member = await api.new_account()
    payload = await import_file(
        api, member, "Name,Email\r\nJane,jane@x.com\r\nBob,bob@x.com\r\n", dry_run=True
    )
    assert_no_user_errors(payload)
    assert payload["addedCount"] == 2
    assert await entries(api, member) == {}
