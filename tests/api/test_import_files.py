"""The CSV rules through HTTP, on every database: formula cells neutralised in every column
of the export and restored by the import, the extended columns, files as Excel saves them,
and dry runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tenancy.csvfiles import neutralised, restored
from tests.helpers import Api, Member, assert_no_user_errors, assert_user_error

ADD = """mutation($input: AddNeverLogEntriesInput!) { addNeverLogEntries(input: $input) {
    added { pattern } userErrors { field message code } } }"""

IMPORT = """mutation($input: ImportNeverLogListInput!) { importNeverLogList(input: $input) {
    addedCount removedCount alreadyListed list { count } userErrors { field message code } } }"""

CSV = """query($scope: NeverLogScope!, $extended: Boolean) {
    neverLogList(scope: $scope) { csv(extended: $extended) } }"""

ENTRIES = """query($scope: NeverLogScope!) { neverLogList(scope: $scope) { count
    entries(first: 100) { edges { node { pattern kind note expiresAt } } } } }"""

AUDIT = """{ auditEvents(first: 10) { totalCount } }"""

FORMULA_LIKE = ["=1+2@x.com", "+cmd@x.com", "-x@y.com", "'=quoted@x.com"]


async def add(api: Api, member: Member, patterns: list[str], **extra: Any) -> None:
    data = await api.data(
        ADD, {"input": {"scope": "PERSONAL", "patterns": patterns, **extra}}, token=member.token
    )
    assert_no_user_errors(data["addNeverLogEntries"])


async def export(api: Api, member: Member, *, extended: bool | None = None) -> str:
    variables: dict[str, Any] = {"scope": "PERSONAL"}
    if extended is not None:
        variables["extended"] = extended
    text: str = (await api.data(CSV, variables, token=member.token))["neverLogList"]["csv"]
    return text


async def import_file(
    api: Api, member: Member, text: str, *, mode: str = "MERGE", dry_run: bool | None = None
) -> dict[str, Any]:
    given: dict[str, Any] = {"scope": "PERSONAL", "csv": text, "mode": mode}
    if dry_run is not None:
        given["dryRun"] = dry_run
    data = await api.data(IMPORT, {"input": given}, token=member.token)
    payload: dict[str, Any] = data["importNeverLogList"]
    return payload


async def entries(api: Api, member: Member) -> list[dict[str, Any]]:
    data = await api.data(ENTRIES, {"scope": "PERSONAL"}, token=member.token)
    return [edge["node"] for edge in data["neverLogList"]["entries"]["edges"]]


# -- formula cells --------------------------------------------------------------------------


async def test_formula_like_patterns_are_written_with_a_leading_apostrophe(api: Api) -> None:
    # given
    member = await api.new_account()
    await add(api, member, [*FORMULA_LIKE, "plain@x.com"])
    # when
    lines = (await export(api, member)).split("\r\n")
    # then every first cell that a spreadsheet would run is neutralised, the plain one not
    firsts = {line.split(",")[0] for line in lines[1:] if line}
    assert firsts == {"'=1+2@x.com", "'+cmd@x.com", "'-x@y.com", "''=quoted@x.com", "plain@x.com"}


async def test_a_creators_formula_like_address_is_neutralised_too(api: Api) -> None:
    # given an entry created by a user whose address begins with =
    admin = await api.new_account()
    odd = await api.add_member(admin, email="=cmd@neverlog-staff.com")
    await add(api, odd, ["jane@x.com"])
    # when
    [_, row, _] = (await export(api, odd)).split("\r\n")
    # then
    assert row.split(",")[3] == "'=cmd@neverlog-staff.com"


async def test_an_export_with_formula_cells_imports_back_unchanged(api: Api) -> None:
    # given a list of formula-like patterns, exported
    source = await api.new_account()
    await add(api, source, FORMULA_LIKE, note="@legal: -handle with care")
    for extended in (False, True):
        text = await export(api, source, extended=extended)
        target = await api.new_account("Target")
        # when
        payload = await import_file(api, target, text)
        # then
        assert_no_user_errors(payload)
        assert payload["addedCount"] == len(FORMULA_LIKE)
        assert sorted(e["pattern"] for e in await entries(api, target)) == sorted(FORMULA_LIKE)
        # and the note came along only with the extended columns
        notes = {e["note"] for e in await entries(api, target)}
        assert notes == ({"@legal: -handle with care"} if extended else {None})
        if extended:
            assert ",'@legal: -handle with care,,NEVER_LOG\r\n" in text


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=x", "''=x"),
        ("'plain", "'plain"),
        ("plain", "plain"),
        ("", ""),
    ],
)
def test_each_cell_is_neutralised_and_restored_exactly(cell: str, written: str) -> None:
    assert neutralised(cell) == written
    assert restored(written) == cell


# -- the extended columns -------------------------------------------------------------------


async def test_the_extended_export_has_note_and_expiry_and_imports_with_them(api: Api) -> None:
    # given
    source = await api.new_account()
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).replace(microsecond=0)
    await add(
        api,
        source,
        ["jane@hartmann-law.de"],
        note='Legal hold, case "42"',
        expiresAt=until.isoformat(),
    )
    await add(api, source, ["*@praxis-weber.de"])
    # when
    text = await export(api, source, extended=True)
    # then
    lines = text.split("\r\n")
    assert lines[0] == "pattern,kind,created_at,created_by,note,expires_at,action"
    assert lines[1].startswith("*@praxis-weber.de,DOMAIN,")
    assert lines[1].endswith(",,,NEVER_LOG")
    assert lines[2].startswith("jane@hartmann-law.de,ADDRESS,")
    assert lines[2].endswith(f',"Legal hold, case ""42""",{until.isoformat()},NEVER_LOG')
    # when imported into another account
    target = await api.new_account("Target")
    payload = await import_file(api, target, text)
    # then
    assert_no_user_errors(payload)
    assert {(e["pattern"], e["note"], e["expiresAt"]) for e in await entries(api, target)} == {
        ("*@praxis-weber.de", None, None),
        ("jane@hartmann-law.de", 'Legal hold, case "42"', until.isoformat()),
    }


async def test_the_plain_export_is_unchanged_by_default(api: Api) -> None:
    member = await api.new_account()
    await add(api, member, ["jane@x.com"], note="why")
    assert (await export(api, member)).startswith("pattern,kind,created_at,created_by\r\n")
    assert "why" not in await export(api, member, extended=False)


async def test_an_import_keeps_the_note_and_expiry_of_a_pattern_already_listed(api: Api) -> None:
    # given
    member = await api.new_account()
    await add(api, member, ["jane@x.com"], note="kept")
    # when
    payload = await import_file(
        api,
        member,
        "pattern,kind,created_at,created_by,note,expires_at\r\njane@x.com,ADDRESS,,,other,\r\n",
    )
    # then
    assert payload["alreadyListed"] == ["jane@x.com"]
    assert [e["note"] for e in await entries(api, member)] == ["kept"]


@pytest.mark.parametrize(
    ("row", "words"),
    [
        pytest.param("jane@x.com,ADDRESS,,,,2020-01-01T00:00:00+00:00", "future", id="past"),
        pytest.param("jane@x.com,ADDRESS,,,,next tuesday", "next tuesday", id="not-a-date"),
        pytest.param(f"jane@x.com,ADDRESS,,,{'n' * 501},", "500", id="long-note"),
        pytest.param(
            "jane@x.com,ADDRESS,,,,9999-12-31T23:59:59-14:00",
            "9999-12-31T23:59:59-14:00 cannot be represented",
            id="expiry-past-year-9999",
        ),
        pytest.param(
            "jane@x.com,ADDRESS,,,,0001-01-01T00:30:00+01:00",
            "0001-01-01T00:30:00+01:00 does not",
            id="expiry-before-year-1",
        ),
        pytest.param('jane@x.com,ADDRESS,,,"a\x00b",', "U+0000", id="nul-in-note"),
    ],
)
async def test_a_bad_extended_cell_refuses_the_import_naming_its_line(
    api: Api, row: str, words: str
) -> None:
    member = await api.new_account()
    payload = await import_file(
        api,
        member,
        f"pattern,kind,created_at,created_by,note,expires_at\r\nok@x.com,ADDRESS,,,,\r\n{row}\r\n",
    )
    error = assert_user_error(payload, "INVALID_INPUT", ["input", "csv", "3"])
    assert "Line 3" in error["message"] and words in error["message"]
    assert await entries(api, member) == []


# -- files as Excel saves them ----------------------------------------------------------------


EXCEL_FILES = {
    "semicolons-bom-crlf": "\ufeffpattern;kind;created_at;created_by\r\n"
    "jane@x.com;ADDRESS;2026-12-01T10:00:00+00:00;admin@x.com\r\n"
    "*@y.com;DOMAIN;2026-12-01T10:00:00+00:00;admin@x.com\r\n",
    "tabs-bom-crlf": "\ufeffpattern\tkind\tcreated_at\tcreated_by\r\n"
    "jane@x.com\tADDRESS\t2026-12-01T10:00:00+00:00\tadmin@x.com\r\n"
    "*@y.com\tDOMAIN\t2026-12-01T10:00:00+00:00\tadmin@x.com\r\n",
    "commas-bom-crlf": "\ufeffpattern,kind,created_at,created_by\r\n"
    "jane@x.com,ADDRESS,2026-12-01T10:00:00+00:00,admin@x.com\r\n"
    "*@y.com,DOMAIN,2026-12-01T10:00:00+00:00,admin@x.com\r\n",
    "semicolons-without-header": "jane@x.com;ADDRESS;2026-12-01;admin@x.com\r\n*@y.com;DOMAIN;;\r\n",
    "tabs-without-header": "jane@x.com\tADDRESS\t\t\r\n*@y.com\tDOMAIN\t\t\r\n",
    "plain-list-bom-crlf": "\ufeffjane@x.com\r\n*@y.com\r\n",
    "plain-list-semicolons": "jane@x.com; Jane\r\n*@y.com;\r\n",
    "plain-list-mixed": "jane@x.com, Jane Doe\ny.com\n",
    "quoted-semicolons": '"pattern";"kind";"created_at";"created_by"\r\n"jane@x.com";"ADDRESS";"";""\r\n"*@y.com";"DOMAIN";"";""\r\n',
    "excel-formula-guard-semicolons": "pattern;kind\r\n'-jane@x.com;ADDRESS\r\n*@y.com;DOMAIN\r\n",
}


@pytest.mark.parametrize("name", list(EXCEL_FILES))
async def test_files_as_excel_saves_them_import(api: Api, name: str) -> None:
    # given
    member = await api.new_account()
    # when
    payload = await import_file(api, member, EXCEL_FILES[name])
    # then
    assert_no_user_errors(payload)
    expected = {"jane@x.com", "*@y.com"}
    if name == "excel-formula-guard-semicolons":
        expected = {"-jane@x.com", "*@y.com"}
    assert {e["pattern"] for e in await entries(api, member)} == expected


async def test_an_extended_file_saved_by_excel_with_semicolons_keeps_its_notes(api: Api) -> None:
    member = await api.new_account()
    text = (
        "\ufeffpattern;kind;created_at;created_by;note;expires_at\r\n"
        'jane@x.com;ADDRESS;2026-12-01T10:00:00+00:00;admin@x.com;"Partner, until the deal";\r\n'
    )
    assert_no_user_errors(await import_file(api, member, text))
    assert [e["note"] for e in await entries(api, member)] == ["Partner, until the deal"]


# -- dry runs -------------------------------------------------------------------------------


async def test_a_dry_run_answers_what_the_import_would_do_and_saves_nothing(api: Api) -> None:
    # given
    member = await api.new_account()
    await add(api, member, ["old@x.com", "kept@x.com"])
    before = (await api.data(AUDIT, token=member.token))["auditEvents"]["totalCount"]
    # when
    dry = await import_file(
        api, member, "kept@x.com\r\nnew@x.com\r\nother@x.com\r\n", mode="REPLACE", dry_run=True
    )
    # then
    assert_no_user_errors(dry)
    assert (dry["addedCount"], dry["removedCount"], dry["alreadyListed"]) == (2, 1, ["kept@x.com"])
    assert dry["list"]["count"] == 2
    assert sorted(e["pattern"] for e in await entries(api, member)) == ["kept@x.com", "old@x.com"]
    assert (await api.data(AUDIT, token=member.token))["auditEvents"]["totalCount"] == before
    # and the same import, for real, does what the dry run said
    real = await import_file(
        api, member, "kept@x.com\r\nnew@x.com\r\nother@x.com\r\n", mode="REPLACE", dry_run=False
    )
    assert (real["addedCount"], real["removedCount"], real["alreadyListed"]) == (
        2,
        1,
        ["kept@x.com"],
    )


async def test_a_dry_run_reports_the_user_errors_of_the_import(make_api: Any) -> None:
    api: Api = make_api(personal_list_limit=2)
    try:
        member = await api.new_account()
        invalid = await import_file(api, member, "jane@x.com\r\nna*me@x.com\r\n", dry_run=True)
        too_many = await import_file(api, member, "a@x.com\r\nb@x.com\r\nc@x.com\r\n", dry_run=True)
        assert_user_error(invalid, "INVALID_PATTERN")
        assert [e["code"] for e in too_many["userErrors"]] in (
            ["TOO_MANY_VALUES"],
            ["LIMIT_EXCEEDED"],
        )
        assert await entries(api, member) == []
    finally:
        await api.close()
