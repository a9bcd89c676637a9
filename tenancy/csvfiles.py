"""The CSV form of a list (RFC 4180: CRLF line ends, fields quoted only where needed), and
reading an import as people and spreadsheets write it.

A cell that a spreadsheet would read as a formula (one that begins with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return) is written with a leading ``'`` (OWASP's advice
against CSV injection); an import drops that ``'`` again, so an export imports as it was.
The rule looks past leading apostrophes (``'=x`` is written ``''=x``), so that every value
survives the round trip.

An import is a file as exported (with or without the extended columns ``note``,
``expires_at`` and ``action``), a file that another tool exported (a CRM's contact export,
a spreadsheet: the column that a header names ``pattern``, ``email``, ``email address``,
``address`` or ``domain``), or a list of patterns, one a line; comma, semicolon or tab
separated (as Excel saves CSV in different locales), with or without a UTF-8 byte order
mark, with any line ends.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from persistence import accounts, entries
from persistence.database import Database
from policy import EntryAction, EntryKind
from tenancy.entry_details import NONE, EntryDetails, checked_expiry, checked_note
from tenancy.errors import ErrorCode, Refusal
from tenancy.list_ref import ListRef
from tenancy.text import escaped

HEADER = ("pattern", "kind", "created_at", "created_by")
EXTENDED_HEADER = (*HEADER, "note", "expires_at", "action")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_DELIMITERS = ("\t", ";", ",")


@dataclass(frozen=True, slots=True)
class CsvRow:
    pattern: str
    kind: str
    created_at: str
    created_by: str
    note: str = ""
    expires_at: str = ""
    action: str = EntryAction.NEVER_LOG.value


def neutralised(cell: str) -> str:
    """The cell as written: with a leading ``'`` where a spreadsheet would read a formula."""
    return f"'{cell}" if cell.lstrip("'").startswith(_FORMULA_START) else cell


def restored(cell: str) -> str:
    """The cell as it was before ``neutralised``."""
    if cell.startswith("'") and cell.lstrip("'").startswith(_FORMULA_START):
        return cell[1:]
    return cell


def write_csv(rows: Iterable[CsvRow], *, extended: bool = False) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(EXTENDED_HEADER if extended else HEADER)
    for row in rows:
        cells = [row.pattern, row.kind, row.created_at, row.created_by]
        if extended:
            cells += [row.note, row.expires_at, row.action]
        writer.writerow([neutralised(cell) for cell in cells])
    return out.getvalue()


async def list_csv(
    session: AsyncSession, *, account_id: uuid.UUID, owner_id: uuid.UUID, extended: bool
) -> str:
    """The whole list as CSV: its live entries in pattern order."""
    rows = await entries.all_entries(session=session, account_id=account_id, owner_id=owner_id)
    creators = await accounts.get_users(
        session=session,
        account_id=account_id,
        user_ids=[r.created_by_id for r in rows if r.created_by_id is not None],
    )
    return write_csv(
        (
            CsvRow(
                pattern=r.pattern,
                kind=r.kind,
                created_at=r.created_at.isoformat(),
                created_by=creators[r.created_by_id].email if r.created_by_id in creators else "",
                note=r.note or "",
                expires_at=r.expires_at.isoformat() if r.expires_at else "",
                action=r.action,
            )
            for r in rows
        ),
        extended=extended,
    )


async def export_csv(db: Database, ref: ListRef, *, extended: bool) -> str:
    """The CSV of a list that the viewer may read (``tenancy.lists.list_for``)."""
    async with db.transaction(ref.account_id) as session:
        return await list_csv(
            session, account_id=ref.account_id, owner_id=ref.owner_id, extended=extended
        )


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One pattern of an import, the line it stands on, and (in an extended file) the
    note, expiry and action as written."""

    line: int
    pattern: str
    note: str | None = None
    expires_at: str | None = None
    action: str | None = None


# The header names of the column that holds the patterns, as other tools name it (a CRM's
# contact export, a spreadsheet), compared trimmed and without regard to case.
PATTERN_COLUMNS = frozenset({"pattern", "email", "email address", "address", "domain"})
# The further columns an import reads where a header names them.
DETAIL_COLUMNS = ("note", "expires_at", "action")


# Every name of PATTERN_COLUMNS holds one of these: a line that holds none (in lower case)
# is no header, and its cells need not be read one by one.
_IN_PATTERN_COLUMNS = ("pattern", "email", "address", "domain")


def _may_be_header(line: str) -> bool:
    lowered = line.lower()
    return any(name in lowered for name in _IN_PATTERN_COLUMNS)


def _names_pattern_column(line: str, delimiter: str) -> bool:
    cells = next(csv.reader([line], delimiter=delimiter, skipinitialspace=True), [])
    return any(cell.strip().lower() in PATTERN_COLUMNS for cell in cells)


def _delimiter(first: str) -> str:
    """The separator of the file: that of its header where its first line is one (the one
    that splits it into a cell naming the pattern column), else the one that its first line
    holds most of (a tab wins: patterns never hold one)."""
    header = _may_be_header(first)
    for delimiter in _DELIMITERS:
        if header and delimiter in first and _names_pattern_column(first, delimiter):
            return delimiter
    if "\t" in first:
        return "\t"
    return ";" if first.count(";") > first.count(",") else ","


def _is_kind(cell: str) -> bool:
    return cell.upper() in EntryKind.__members__


def _exported_row(cells: list[str]) -> bool:
    """Whether a row reads as an exported entry: a pattern (every pattern holds an @ or a
    dot, no header name does), then its kind. ``x.com,DOMAIN`` is no header."""
    return len(cells) >= 2 and _is_kind(cells[1]) and any(c in cells[0] for c in "@.")


def read_rows(text: str) -> list[ImportRow]:
    """The patterns of an import with the line each stands on (counting from 1, header
    included), one a row; a row whose pattern cell is empty is skipped.

    - Where the first line is a header that names a column ``pattern``, ``email``,
      ``email address``, ``address`` or ``domain`` (the first such wins), the patterns are
      that column's, the note, expiry and action those of the columns ``note``,
      ``expires_at`` and ``action`` where named; every other column is ignored. An export
      of this service is such a file, and so is a CRM's contact export.
    - Without such a header, the first column holds the patterns and the others are
      ignored, unless the file has the shape of an export (every row's second cell is a
      kind): then the note, expiry and action stand where the extended export puts them.

    Raises csv.Error where a field is longer than the csv module reads
    (csv.field_size_limit())."""
    text = text.lstrip("\ufeff")
    first = next((line for line in text.splitlines() if line.strip(' \t,;"')), "")
    # newline="": the csv module reads the line ends itself, so a file with old Mac line ends
    # (a lone CR) reads as lines rather than failing.
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=_delimiter(first), skipinitialspace=True
    )
    # Rows as read; a cell is trimmed and restored only where it is read (a row may hold
    # thousands of cells that no column names).
    rows: list[tuple[int, list[str]]] = []
    columns: dict[str, int] | None = None
    for row in reader:
        if columns is None and not rows:  # the first line that holds anything
            if not any(cell.strip() for cell in row):
                continue
            may_be_header = _may_be_header("\n".join(row))
            if may_be_header and not _exported_row([_clean(row, 0), _clean(row, 1)]):
                columns = _header([cell.strip().lower() for cell in row])
                if columns is not None:
                    continue
        rows.append((reader.line_num, row))
    if columns is None:
        columns = {"pattern": 0}
        given = [cells for _, cells in rows if _clean(cells, 0)]
        if given and all(_exported_row([_clean(c, 0), _clean(c, 1)]) for c in given):
            columns.update({name: EXTENDED_HEADER.index(name) for name in DETAIL_COLUMNS})
    return [found for line, row in rows if (found := _row(line, row, columns)) is not None]


def _clean(row: list[str], n: int) -> str:
    """The row's nth cell trimmed and restored (``restored``); empty where it has none."""
    return restored(row[n].strip()) if n < len(row) else ""


def _header(names: list[str]) -> dict[str, int] | None:
    """The columns a header line names (its cells trimmed, in lower case), or None where
    it names no pattern column."""
    at = next((n for n, name in enumerate(names) if name in PATTERN_COLUMNS), None)
    if at is None:
        return None
    columns = {"pattern": at}
    for name in DETAIL_COLUMNS:
        if name in names:
            columns[name] = names.index(name)
    return columns


def _row(line: int, row: list[str], columns: dict[str, int]) -> ImportRow | None:
    def cell(name: str) -> str | None:
        n = columns.get(name)
        return (_clean(row, n) or None) if n is not None else None

    pattern = cell("pattern")
    if pattern is None:
        return None
    return ImportRow(line, pattern, cell("note"), cell("expires_at"), cell("action"))


def details_of(row: ImportRow, *, now: dt.datetime) -> EntryDetails:
    """The note, expiry and action of an imported row, checked as those of an add; an
    error names the row's line (``field`` ends with it)."""
    if row.note is None and row.expires_at is None and row.action is None:
        return NONE
    at = ["input", "csv", str(row.line)]
    try:
        action = _action(row.action, at)
        note = checked_note(row.note, at)
        expires_at = None
        if row.expires_at is not None:
            try:
                parsed = dt.datetime.fromisoformat(row.expires_at)
            except ValueError:
                raise Refusal.one(
                    ErrorCode.INVALID_INPUT,
                    f'"{row.expires_at}" is not a date and time such as 2027-01-31T17:00:00+00:00.',
                    at,
                ) from None
            expires_at = checked_expiry(parsed, at, now=now, name="expires_at")
    except Refusal as refusal:
        problem = refusal.problems[0]
        raise Refusal.one(
            ErrorCode.INVALID_INPUT, f"Line {row.line} ({row.pattern}): {problem.message}", at
        ) from None
    return EntryDetails(note, expires_at, action)


def _action(cell: str | None, at: list[str]) -> EntryAction:
    """The action a cell names (without regard to case); NEVER_LOG where it is empty."""
    if cell is None or not cell.strip():
        return EntryAction.NEVER_LOG
    name = cell.strip().upper()
    if name not in EntryAction.__members__:
        raise Refusal.one(
            ErrorCode.INVALID_INPUT,
            f'"{escaped(cell.strip()):.100}" is not an action: use '
            f"{', '.join(EntryAction.__members__)}.",
            at,
        )
    return EntryAction[name]
